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

static void test_service_tokens(void **state) {
        char dir[] = "/tmp/sm-st-XXXXXX", path[300];
        TokenStore *s = NULL;
        const char *detail = NULL;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/tokens.db", dir);
        assert_int_equal(tokenstore_open(path, &s), 0);

        char *tok = NULL, *tok2 = NULL, *tok3 = NULL;
        assert_int_equal(tokenstore_service_create(s, "ci", "readonly,container:admin", 0, &tok), 0);
        assert_int_equal(strncmp(tok, "smst_ci_", 8), 0);
        assert_int_equal(strlen(tok), 8 + 43);
        assert_int_equal(tokenstore_service_create(s, "ci", "readonly", 0, &tok2), -EEXIST);
        assert_int_equal(tokenstore_service_create(s, "Bad_Id", "readonly", 0, &tok2), -EINVAL);
        assert_int_equal(tokenstore_service_create(s, "x", "nonsense:scope", 0, &tok2), -EINVAL);

        /* Many rotations: secrets with '_' in them must verify too. */
        for (int i = 0; i < 40; i++) {
                Identity *id = NULL;
                char *t = NULL;
                assert_int_equal(tokenstore_service_rotate(s, "ci", 0, 0, &t), 0);
                assert_int_equal(tokenstore_service_verify(s, t, strlen(t), &id, &detail), AUTH_OK);
                assert_string_equal(id->subject, "service:ci");
                assert_int_equal(id->method, AUTH_METHOD_SERVICE_TOKEN);
                assert_true(scopeset_has(id->scopes, SCOPE_CONTAINER_ADMIN));
                identity_unref(id);
                free(tok);
                tok = t;
        }

        /* Overlap: the old secret keeps working; without overlap it stops. */
        Identity *id = NULL;
        assert_int_equal(tokenstore_service_rotate(s, "ci", 300, 0, &tok2), 0);
        assert_int_equal(tokenstore_service_verify(s, tok, strlen(tok), &id, &detail), AUTH_OK);
        id = identity_unref(id);
        assert_int_equal(tokenstore_service_verify(s, tok2, strlen(tok2), &id, &detail), AUTH_OK);
        id = identity_unref(id);
        assert_int_equal(tokenstore_service_rotate(s, "ci", 0, 0, &tok3), 0);
        assert_int_equal(tokenstore_service_verify(s, tok, strlen(tok), &id, &detail), AUTH_ERR_INVALID_TOKEN);
        assert_int_equal(tokenstore_service_verify(s, tok2, strlen(tok2), &id, &detail), AUTH_ERR_INVALID_TOKEN);
        assert_int_equal(tokenstore_service_verify(s, tok3, strlen(tok3), &id, &detail), AUTH_OK);
        id = identity_unref(id);

        /* Tampered, truncated, foreign. */
        char bad[128];
        snprintf(bad, sizeof bad, "%s", tok3);
        bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == 'A' ? 'B' : 'A';
        assert_int_equal(tokenstore_service_verify(s, bad, strlen(bad), &id, &detail), AUTH_ERR_INVALID_TOKEN);
        assert_int_equal(tokenstore_service_verify(s, tok3, strlen(tok3) - 1, &id, &detail), AUTH_ERR_INVALID_TOKEN);
        assert_int_equal(tokenstore_service_verify(s, "smst_nope_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 51, &id,
                                                   &detail),
                         AUTH_ERR_INVALID_TOKEN);

        /* Revoked; expired. */
        assert_int_equal(tokenstore_service_revoke(s, "ci", "done"), 0);
        assert_int_equal(tokenstore_service_verify(s, tok3, strlen(tok3), &id, &detail), AUTH_ERR_TOKEN_REVOKED);
        assert_int_equal(tokenstore_service_revoke(s, "ci", "again"), -ENOENT);
        char *e = NULL;
        assert_int_equal(tokenstore_service_create(s, "short", "readonly", 1, &e), 0);
        sleep(2);
        assert_int_equal(tokenstore_service_verify(s, e, strlen(e), &id, &detail), AUTH_ERR_TOKEN_EXPIRED);

        _cleanup_json_ json_t *list = tokenstore_service_json(s, NULL);
        assert_int_equal(json_array_size(list), 2);
        _cleanup_free_ char *dump = json_dumps(list, 0);
        assert_null(strstr(dump, tok3 + 8)); /* the secret is never listed */

        free(tok);
        free(tok2);
        free(tok3);
        free(e);
        tokenstore_free(s);
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
                cmocka_unit_test(test_service_tokens),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
