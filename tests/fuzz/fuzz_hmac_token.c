/* SPDX-License-Identifier: MIT */

/* libFuzzer harness for the HMAC token verifier and the parsers behind it.
 *
 * A random input almost never carries a valid HMAC, so feeding raw bytes to
 * hmac_token_verify() alone would only ever reach the pre-signature checks.
 * The first input byte therefore selects a mode:
 *
 *   0  the rest is a token, verified as presented (the real attack surface);
 *   1  the rest is a claims payload: base64url-encoded and correctly signed
 *      here, then verified (reaches JSON parsing and claim validation);
 *   2  the rest is an encoded payload string, signed as is (reaches the
 *      strict base64url decoder behind a valid MAC);
 *   3  the rest goes through base64url decode (and must re-encode to the
 *      identical string: one spelling per byte string), iso8601_parse(),
 *      ttl_parse() and scope_parse_list().
 *
 * Build (not part of the CMake glob):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. \
 *       $(pkg-config --cflags jansson) tests/fuzz/fuzz_hmac_token.c \
 *       scopes/scope.c scopes/identity.c scopes/token.c scopes/auth.c \
 *       common/encoding.c common/timeutil.c \
 *       -o fuzz_hmac_token $(pkg-config --libs jansson libcrypto) -lpthread
 *   ./fuzz_hmac_token -max_total_time=60 tests/fuzz/corpus/hmac_token/
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encoding.h"
#include "common/timeutil.h"
#include "scopes/auth.h"

#define FUZZ_SECRET "fuzz-secret-0123456789abcdef0123456789"
#define FUZZ_NOW 1800000000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static HmacKey *fuzz_key(void) {
        static HmacKey *key;

        if (!key && hmac_key_new(FUZZ_SECRET, strlen(FUZZ_SECRET), &key) < 0)
                abort();
        return key;
}

static void check_identity(Identity *id) {
        json_t *j;

        /* Invariants of any accepted token. */
        if (!id || id->method != AUTH_METHOD_HMAC || !id->subject || id->subject[0] == 0 ||
            strlen(id->subject) > 256 || strlen(id->token_sha256) != 16 || (id->scopes & ~SCOPESET_ALL) != 0 ||
            id->expires_at < FUZZ_NOW - AUTH_CLOCK_SKEW_SEC)
                abort();

        j = identity_to_json(id);
        if (!j)
                abort();
        json_decref(j);
        identity_unref(id);
}

static void verify(const char *token, size_t len) {
        Identity *id = NULL;
        const char *detail = NULL;
        AuthError e;

        e = hmac_token_verify(fuzz_key(), token, len, FUZZ_NOW, &id, &detail);
        if (e == AUTH_OK) {
                if (detail)
                        abort();
                check_identity(id);
        } else {
                if (id || !detail)
                        abort();
        }
}

/* Signs `payload` (used verbatim as the encoded part) and verifies. */
static void sign_and_verify(const char *payload, size_t len) {
        char sig[65], *token;

        if (len > HMAC_TOKEN_MAX_BYTES)
                return;
        if (hmac_key_sign_hex(fuzz_key(), payload, len, sig) < 0)
                abort();

        token = malloc(len + 1 + 64);
        if (!token)
                return;
        memcpy(token, payload, len);
        token[len] = '.';
        memcpy(token + len + 1, sig, 64);
        verify(token, len + 1 + 64);
        free(token);
}

static void fuzz_parsers(const uint8_t *data, size_t size) {
        char *s, *enc;
        void *dec = NULL;
        size_t dec_len = 0;
        int64_t t;
        ScopeSet set;
        char *bad = NULL;
        char ts[TIMESTAMP_MS_MAX];

        if (base64url_decode_alloc((const char *) data, size, size, &dec, &dec_len) >= 0) {
                /* Canonical: re-encoding gives back exactly the input. */
                if (base64url_encode_alloc(dec, dec_len, size, &enc) < 0)
                        abort();
                if (strlen(enc) != size || memcmp(enc, data, size) != 0)
                        abort();
                free(enc);
                free(dec);
        }

        s = malloc(size + 1);
        if (!s)
                return;
        memcpy(s, data, size);
        s[size] = 0;

        if (iso8601_parse(s, &t) >= 0) {
                /* Everything accepted is within years 1..9999 (± offset). */
                if (t < -62135596800LL - 86400 || t > 253402300799LL + 86400)
                        abort();
                (void) timestamp_format(t, ts, sizeof(ts));
        }
        if (ttl_parse(s, &t) >= 0 && t <= 0)
                abort();
        if (scope_parse_list(s, &set, &bad) >= 0 && (set & ~SCOPESET_ALL) != 0)
                abort();
        free(bad);
        free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *enc = NULL;

        if (size < 1)
                return 0;

        switch (data[0] & 3) {
        case 0:
                verify((const char *) data + 1, size - 1);
                break;

        case 1:
                if (base64url_encode_alloc(data + 1, size - 1, HMAC_TOKEN_MAX_BYTES, &enc) < 0)
                        return 0;
                sign_and_verify(enc, strlen(enc));
                free(enc);
                break;

        case 2:
                sign_and_verify((const char *) data + 1, size - 1);
                break;

        case 3:
                fuzz_parsers(data + 1, size - 1);
                break;
        }

        return 0;
}
