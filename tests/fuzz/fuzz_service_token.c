/* SPDX-License-Identifier: MIT */

/* libFuzzer harness for the service-token verifier (tokenstore_service_verify).
 *
 * The store is a real SQLite file in a private temporary directory holding
 * one live token ("fuzz") and one revoked token ("gone"). The first input
 * byte selects a mode:
 *
 *   0  the rest is a presented token, verified as is;
 *   1  the rest is appended to "smst_" (reaches the id/secret split);
 *   2  the rest replaces the live token's secret, keeping its id (reaches
 *      the database lookup and the constant-time hash compare);
 *   3  the rest is overlaid byte-wise on the live token (near misses).
 *
 * Invariants: only the live token itself verifies; every refusal carries a
 * detail and no identity; an accepted identity is the live token's.
 *
 * Run: tests/fuzz/run.sh 60 service_token
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scopes/identity.h"
#include "scopes/tokenstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static TokenStore *store;
static char *live_token;

static void setup(void) {
        char dir[] = "/tmp/fuzz-service-token-XXXXXX", path[64];
        char *gone = NULL;

        if (!mkdtemp(dir))
                abort();
        snprintf(path, sizeof(path), "%s/service_tokens.db", dir);
        if (tokenstore_open(path, &store) < 0)
                abort();
        if (tokenstore_service_create(store, "fuzz", "readonly", 0, &live_token) < 0 ||
            tokenstore_service_create(store, "gone", "readonly", 0, &gone) < 0 ||
            tokenstore_service_revoke(store, "gone", "fuzz") < 0)
                abort();
        free(gone);
}

/* The harness is only worth running if the live token really verifies. */
static void self_check(void) {
        Identity *id = NULL;

        if (tokenstore_service_verify(store, live_token, strlen(live_token), &id, NULL) != AUTH_OK || !id)
                abort();
        identity_unref(id);
}

static void verify(const char *token, size_t len) {
        Identity *id = NULL;
        const char *detail = NULL;
        AuthError e;

        e = tokenstore_service_verify(store, token, len, &id, &detail);
        if (e == AUTH_OK) {
                /* Only the exact live token may pass. */
                if (len != strlen(live_token) || memcmp(token, live_token, len) != 0)
                        abort();
                if (!id || !id->subject || strcmp(id->subject, "service:fuzz") != 0 || id->scopes == 0)
                        abort();
                identity_unref(id);
        } else if (id || !detail) {
                abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char buf[256];
        size_t n, live_len, prefix;

        if (!store) {
                setup();
                self_check();
        }
        if (size < 1)
                return 0;
        live_len = strlen(live_token);

        switch (data[0] & 3) {
        case 0:
                verify((const char *) data + 1, size - 1);
                break;

        case 1:
                n = size - 1 < sizeof(buf) - 5 ? size - 1 : sizeof(buf) - 5;
                memcpy(buf, SERVICE_TOKEN_PREFIX, 5);
                memcpy(buf + 5, data + 1, n);
                verify(buf, 5 + n);
                break;

        case 2:
                prefix = strlen("smst_fuzz_");
                n = size - 1 < sizeof(buf) - prefix ? size - 1 : sizeof(buf) - prefix;
                memcpy(buf, live_token, prefix);
                memcpy(buf + prefix, data + 1, n);
                verify(buf, prefix + n);
                break;

        case 3:
                memcpy(buf, live_token, live_len);
                for (size_t i = 1; i < size && i - 1 < live_len; i++)
                        buf[i - 1] ^= (char) data[i];
                verify(buf, live_len);
                break;
        }

        return 0;
}
