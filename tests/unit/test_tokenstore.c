/* SPDX-License-Identifier: MIT */
/* Revocations: by jti, by agent-before-time, seen across connections. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "scopes/tokenstore.h"

static Identity *ident(const char *subject, const char *jti, int64_t iat) {
        Identity *i = identity_new();

        assert_non_null(i);
        i->subject = strdup(subject);
        i->token_id = jti ? strdup(jti) : NULL;
        i->issued_at = iat;
        return i;
}

static void test_revocations(void **state) {
        char dir[] = "/tmp/sm-ts-XXXXXX", path[300];
        TokenStore *daemon = NULL, *cli = NULL;
        struct stat st;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/tokens.db", dir);
        assert_int_equal(tokenstore_open(path, &daemon), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(tokenstore_open(path, &cli), 0);

        _cleanup_identity_ Identity *a = ident("agent-a", "jti-1", 1000);
        _cleanup_identity_ Identity *b = ident("agent-b", "jti-2", 1000);
        _cleanup_identity_ Identity *b_new = ident("agent-b", "jti-3", 3000);
        assert_false(tokenstore_is_revoked(daemon, a));

        /* Another connection (the CLI) writes; the daemon's connection sees it at once. */
        assert_int_equal(tokenstore_revoke_jti(cli, "jti-1", 0, "leaked", "tester"), 0);
        assert_true(tokenstore_is_revoked(daemon, a));
        assert_false(tokenstore_is_revoked(daemon, b));

        /* By agent: tokens issued at or before the time; newer ones live. */
        assert_int_equal(tokenstore_revoke_agent(daemon, "agent-b", 2000, NULL, "tester"), 0);
        assert_true(tokenstore_is_revoked(daemon, b));
        assert_false(tokenstore_is_revoked(daemon, b_new));
        assert_true(tokenstore_is_revoked(cli, b));

        _cleanup_json_ json_t *j = tokenstore_revocations_json(daemon);
        assert_int_equal(json_array_size(json_object_get(j, "tokens")), 1);
        assert_int_equal(json_array_size(json_object_get(j, "agents")), 1);
        assert_int_equal(tokenstore_revoke_jti(daemon, "", 0, NULL, NULL), -EINVAL);

        tokenstore_free(cli);
        tokenstore_free(daemon);
        /* Persisted. */
        assert_int_equal(tokenstore_open(path, &daemon), 0);
        assert_true(tokenstore_is_revoked(daemon, a));
        tokenstore_free(daemon);

        char p2[320];
        const char *suffix[] = { "", "-wal", "-shm" };
        for (size_t i = 0; i < 3; i++) {
                snprintf(p2, sizeof p2, "%s%s", path, suffix[i]);
                unlink(p2);
        }
        rmdir(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_revocations),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
