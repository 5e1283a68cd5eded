/* SPDX-License-Identifier: MIT */

/* scopes/auth.c: error table, modes, Authorization header parsing, limits. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "scopes/auth.h"

#define SECRET "0123456789abcdef0123456789abcdef0123456789"
#define NOW 1800000000LL

static void auth_freep(Auth **a) {
        auth_free(*a);
}
#define _cleanup_auth_ _cleanup_(auth_freep)

static Auth *make_auth(AuthMode mode, bool with_key, size_t max_token_bytes, int64_t max_ttl) {
        AuthConfig cfg = { .mode = mode, .max_token_bytes = max_token_bytes, .max_ttl_seconds = max_ttl };
        HmacKey *k = NULL;
        Auth *a = NULL;

        if (with_key)
                assert_int_equal(hmac_key_new(SECRET, strlen(SECRET), &k), 0);
        assert_int_equal(auth_new(&cfg, k, &a), 0);
        assert_non_null(a);
        return a;
}

/* A token minted with the same secret through its own key. */
static char *mint(const char *const *scopes, int64_t ttl, int64_t now) {
        HmacKey *k = NULL;
        char *t = NULL;
        TokenMintParams p = { .agent = "agent-1", .scopes = scopes, .ttl_seconds = ttl, .now = now };

        assert_int_equal(hmac_key_new(SECRET, strlen(SECRET), &k), 0);
        assert_int_equal(hmac_token_mint(k, &p, &t, NULL), 0);
        hmac_key_free(k);
        return t;
}

static char *mint_default(void) {
        static const char *const scopes[] = { "readonly", NULL };
        return mint(scopes, 3600, NOW);
}

static void test_error_table(void **state) {
        static const struct {
                AuthError e;
                const char *code, *message;
                int status;
        } table[] = {
                { AUTH_ERR_MISSING_TOKEN, "auth.missing_token", "Missing bearer token", 401 },
                { AUTH_ERR_INVALID_TOKEN, "auth.invalid_token", "Invalid bearer token", 401 },
                { AUTH_ERR_TOKEN_EXPIRED, "auth.token_expired", "Bearer token has expired", 401 },
                { AUTH_ERR_TOKEN_REVOKED, "auth.token_revoked", "Bearer token has been revoked", 401 },
                { AUTH_ERR_INSUFFICIENT_SCOPE, "auth.insufficient_scope", "Missing required scopes", 403 },
                { AUTH_ERR_AUDIENCE_MISMATCH, "auth.audience_mismatch", "Token audience does not match", 403 },
                { AUTH_ERR_RATE_LIMITED_IP, "auth.rate_limited.ip",
                  "Too many failed authentication attempts from this address", 429 },
                { AUTH_ERR_RATE_LIMITED_IDENTITY, "auth.rate_limited.identity",
                  "Too many failed attempts for this identity", 429 },
        };

        assert_int_equal(ELEMENTSOF(table), _AUTH_ERR_MAX - 1);
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                assert_string_equal(auth_error_code(table[i].e), table[i].code);
                assert_string_equal(auth_error_message(table[i].e), table[i].message);
                assert_int_equal(auth_error_http_status(table[i].e), table[i].status);
        }
        assert_int_equal(auth_error_http_status(AUTH_OK), 200);

        /* Out of range: never NULL, never a success status. */
        assert_string_equal(auth_error_code(_AUTH_ERR_MAX), "auth.invalid_token");
        assert_string_equal(auth_error_message((AuthError) -1), "Invalid bearer token");
        assert_int_equal(auth_error_http_status(_AUTH_ERR_MAX), 401);
}

static void test_required_matrix(void **state) {
        static const struct {
                AuthMode mode;
                bool key, required;
        } table[] = {
                { AUTH_MODE_DISABLED, false, false },
                { AUTH_MODE_DISABLED, true, false },
                { AUTH_MODE_OPTIONAL, false, false },
                { AUTH_MODE_OPTIONAL, true, true },     /* seed behaviour: a source makes it required */
                { AUTH_MODE_REQUIRED, false, true },
                { AUTH_MODE_REQUIRED, true, true },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_auth_ Auth *a = make_auth(table[i].mode, table[i].key, 0, 0);

                if (auth_required(a) != table[i].required)
                        fail_msg("case %zu: auth_required() = %d", i, auth_required(a));
        }
}

static void test_new_rejects(void **state) {
        AuthConfig bad_mode = { .mode = (AuthMode) 7 }, bad_ttl = { .mode = AUTH_MODE_REQUIRED, .max_ttl_seconds = -1 };
        HmacKey *k = NULL;
        Auth *a = NULL;

        assert_int_equal(hmac_key_new(SECRET, strlen(SECRET), &k), 0);
        assert_int_equal(auth_new(&bad_mode, k, &a), -EINVAL);
        assert_null(a);
        assert_int_equal(auth_new(&bad_ttl, k, &a), -EINVAL);
        assert_null(a);
        /* Not consumed on failure: still ours to free (ASan would flag a double free). */
        hmac_key_free(k);
        assert_null(auth_free(NULL));
}

typedef struct HeaderCase {
        const char *fmt;        /* %s = a valid token */
        AuthError expect;
        const char *detail;
} HeaderCase;

static const HeaderCase header_cases[] = {
        { "Bearer %s", AUTH_OK, NULL },
        { "bearer %s", AUTH_OK, NULL },
        { "BEARER %s", AUTH_OK, NULL },
        { "bEaReR %s", AUTH_OK, NULL },
        { "Bearer  %s", AUTH_ERR_INVALID_TOKEN, "expected 'Authorization: Bearer <token>'" },
        { "Bearer\t%s", AUTH_ERR_INVALID_TOKEN, "expected 'Authorization: Bearer <token>'" },
        { "Bearer %s ", AUTH_ERR_INVALID_TOKEN, "expected 'Authorization: Bearer <token>'" },
        { "Bearer %s x", AUTH_ERR_INVALID_TOKEN, "expected 'Authorization: Bearer <token>'" },
        { " Bearer %s", AUTH_ERR_INVALID_TOKEN, "expected 'Authorization: Bearer <token>'" },
        { "Bearer%s", AUTH_ERR_INVALID_TOKEN, "expected 'Authorization: Bearer <token>'" },
        { "Bearer:%s", AUTH_ERR_INVALID_TOKEN, "expected 'Authorization: Bearer <token>'" },
        { "Bearers %s", AUTH_ERR_INVALID_TOKEN, "expected 'Authorization: Bearer <token>'" },
        { "Token %s", AUTH_ERR_INVALID_TOKEN, "expected 'Authorization: Bearer <token>'" },
        { "Basic dXNlcjpwYXNz", AUTH_ERR_INVALID_TOKEN, "expected 'Authorization: Bearer <token>'" },
        { "Basic x", AUTH_ERR_INVALID_TOKEN, "expected 'Authorization: Bearer <token>'" },
        { "Bearer", AUTH_ERR_INVALID_TOKEN, "expected 'Authorization: Bearer <token>'" },
        { "Bearer ", AUTH_ERR_INVALID_TOKEN, "expected 'Authorization: Bearer <token>'" },
        { "Bearer  ", AUTH_ERR_INVALID_TOKEN, "expected 'Authorization: Bearer <token>'" },
        { "%s", AUTH_ERR_INVALID_TOKEN, "expected 'Authorization: Bearer <token>'" },
        { "Bearer \x01%s", AUTH_ERR_INVALID_TOKEN, "expected 'Authorization: Bearer <token>'" },
        { "Bearer garbage", AUTH_ERR_INVALID_TOKEN, NULL },
        { "Bearer a.b.c", AUTH_ERR_INVALID_TOKEN, NULL },
        { "", AUTH_ERR_MISSING_TOKEN, NULL },
};

static void test_header_parsing(void **state) {
        _cleanup_auth_ Auth *a = make_auth(AUTH_MODE_REQUIRED, true, 0, 0);
        _cleanup_free_ char *token = mint_default();

        for (size_t i = 0; i < ELEMENTSOF(header_cases); i++) {
                const HeaderCase *c = &header_cases[i];
                _cleanup_free_ char *h = NULL;
                _cleanup_identity_ Identity *id = NULL;
                const char *detail = NULL;
                AuthError e;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
                assert_true(asprintf(&h, c->fmt, token) >= 0);
#pragma GCC diagnostic pop

                e = auth_authenticate_header(a, h, NOW, &id, &detail);
                if (e != c->expect)
                        fail_msg("case %zu \"%s\": got %d (%s)", i, c->fmt, e, detail ? detail : "-");
                if (e == AUTH_OK) {
                        assert_non_null(id);
                        assert_string_equal(id->subject, "agent-1");
                        assert_int_equal(id->method, AUTH_METHOD_HMAC);
                        assert_int_equal(id->scopes, scope_readonly_set());
                        assert_null(detail);
                } else {
                        assert_null(id);
                        assert_non_null(detail);
                        if (c->detail)
                                assert_string_equal(detail, c->detail);
                }
        }

        /* Absent header when required. */
        {
                Identity *id = NULL;
                const char *detail = NULL;

                assert_int_equal(auth_authenticate_header(a, NULL, NOW, &id, &detail), AUTH_ERR_MISSING_TOKEN);
                assert_null(id);
                assert_non_null(detail);
                assert_int_equal(auth_authenticate_token(a, NULL, 0, NOW, &id, NULL), AUTH_ERR_MISSING_TOKEN);
                assert_int_equal(auth_authenticate_token(a, "", 0, NOW, &id, NULL), AUTH_ERR_MISSING_TOKEN);
                assert_null(id);
        }
}

static void test_oversize(void **state) {
        _cleanup_free_ char *token = mint_default(), *h = NULL, *huge = NULL;
        size_t len = strlen(token);

        /* max == length: accepted; one byte less: refused before parsing. */
        {
                _cleanup_auth_ Auth *a = make_auth(AUTH_MODE_REQUIRED, true, len, 0);
                _cleanup_identity_ Identity *id = NULL;

                assert_true(asprintf(&h, "Bearer %s", token) > 0);
                assert_int_equal(auth_authenticate_header(a, h, NOW, &id, NULL), AUTH_OK);
        }
        {
                _cleanup_auth_ Auth *a = make_auth(AUTH_MODE_REQUIRED, true, len - 1, 0);
                Identity *id = NULL;
                const char *detail = NULL;

                assert_int_equal(auth_authenticate_header(a, h, NOW, &id, &detail), AUTH_ERR_INVALID_TOKEN);
                assert_string_equal(detail, "token exceeds the maximum size");
                assert_int_equal(auth_authenticate_token(a, token, len, NOW, &id, &detail), AUTH_ERR_INVALID_TOKEN);
                assert_string_equal(detail, "token exceeds the maximum size");
                assert_null(id);
        }

        /* Default limit (8192) applies with max_token_bytes = 0; a huge
         * header of garbage is refused on its size alone. */
        {
                _cleanup_auth_ Auth *a = make_auth(AUTH_MODE_REQUIRED, true, 0, 0);
                Identity *id = NULL;
                const char *detail = NULL;

                huge = malloc(7 + 8193 + 1);
                assert_non_null(huge);
                memcpy(huge, "Bearer ", 7);
                memset(huge + 7, 'A', 8193);
                huge[7 + 8193] = 0;
                assert_int_equal(auth_authenticate_header(a, huge, NOW, &id, &detail), AUTH_ERR_INVALID_TOKEN);
                assert_string_equal(detail, "token exceeds the maximum size");

                huge[7 + 8192] = 0; /* at the limit: size passes, content fails */
                assert_int_equal(auth_authenticate_header(a, huge, NOW, &id, &detail), AUTH_ERR_INVALID_TOKEN);
                assert_string_not_equal(detail, "token exceeds the maximum size");
                assert_null(id);
        }
}

static void expect_anonymous(Auth *a, const char *header) {
        _cleanup_identity_ Identity *id = NULL;
        _cleanup_json_ json_t *j = NULL;
        const char *detail = "unset";

        assert_int_equal(auth_authenticate_header(a, header, NOW, &id, &detail), AUTH_OK);
        assert_non_null(id);
        assert_null(detail);
        assert_string_equal(id->subject, "anonymous");
        assert_int_equal(id->method, AUTH_METHOD_NONE);
        assert_int_equal(id->scopes, SCOPESET_ALL);
        assert_null(id->token_id);
        j = identity_to_json(id);
        assert_string_equal(json_string_value(json_object_get(j, "auth_method")), "none");
}

static void test_anonymous(void **state) {
        /* Optional without any credential source: anonymous for no header. */
        {
                _cleanup_auth_ Auth *a = make_auth(AUTH_MODE_OPTIONAL, false, 0, 0);
                Identity *id = NULL;
                const char *detail = NULL;

                expect_anonymous(a, NULL);
                expect_anonymous(a, "");
                /* ... but a presented token is checked, not ignored. */
                assert_int_equal(auth_authenticate_header(a, "Bearer abc.def", NOW, &id, &detail),
                                 AUTH_ERR_INVALID_TOKEN);
                assert_null(id);
        }

        /* Disabled: always anonymous, whatever is presented. */
        {
                _cleanup_auth_ Auth *a = make_auth(AUTH_MODE_DISABLED, true, 0, 0);
                _cleanup_identity_ Identity *id = NULL;

                expect_anonymous(a, NULL);
                expect_anonymous(a, "Basic x");
                expect_anonymous(a, "Bearer garbage");
                assert_int_equal(auth_authenticate_token(a, "x", 1, NOW, &id, NULL), AUTH_OK);
                assert_int_equal(id->method, AUTH_METHOD_NONE);
        }

        /* Optional with a key: required, so no anonymous. */
        {
                _cleanup_auth_ Auth *a = make_auth(AUTH_MODE_OPTIONAL, true, 0, 0);
                Identity *id = NULL;

                assert_int_equal(auth_authenticate_header(a, NULL, NOW, &id, NULL), AUTH_ERR_MISSING_TOKEN);
                assert_null(id);
        }

        /* Required without a key: nothing can succeed. */
        {
                _cleanup_auth_ Auth *a = make_auth(AUTH_MODE_REQUIRED, false, 0, 0);
                _cleanup_free_ char *token = mint_default(), *h = NULL;
                Identity *id = NULL;

                assert_true(asprintf(&h, "Bearer %s", token) > 0);
                assert_int_equal(auth_authenticate_header(a, NULL, NOW, &id, NULL), AUTH_ERR_MISSING_TOKEN);
                assert_int_equal(auth_authenticate_header(a, h, NOW, &id, NULL), AUTH_ERR_INVALID_TOKEN);
                assert_null(id);
        }
}

static void test_token_verdicts(void **state) {
        static const char *const scopes[] = { "container:write", NULL };
        _cleanup_auth_ Auth *a = make_auth(AUTH_MODE_REQUIRED, true, 0, 3600);

        /* Lifetime limit: exactly max is fine, one second more is not. */
        {
                _cleanup_free_ char *t = mint(scopes, 3600, NOW);
                _cleanup_identity_ Identity *id = NULL;

                assert_int_equal(auth_authenticate_token(a, t, strlen(t), NOW, &id, NULL), AUTH_OK);
                assert_int_equal(id->scopes, SCOPE_BIT(SCOPE_CONTAINER_WRITE));
        }
        {
                _cleanup_free_ char *t = mint(scopes, 3601, NOW);
                Identity *id = NULL;
                const char *detail = NULL;

                assert_int_equal(auth_authenticate_token(a, t, strlen(t), NOW, &id, &detail), AUTH_ERR_INVALID_TOKEN);
                assert_string_equal(detail, "token lifetime exceeds the configured maximum");
                assert_null(id);
        }

        /* Expired (beyond skew) and expired within skew. */
        {
                _cleanup_free_ char *t = mint(scopes, 60, NOW - 3600);
                Identity *id = NULL;
                const char *detail = NULL;
                AuthError e = auth_authenticate_token(a, t, strlen(t), NOW, &id, &detail);

                assert_int_equal(e, AUTH_ERR_TOKEN_EXPIRED);
                assert_int_equal(auth_error_http_status(e), 401);
                assert_string_equal(auth_error_code(e), "auth.token_expired");
                assert_null(id);
        }
        {
                _cleanup_free_ char *t = mint(scopes, 60, NOW - 80); /* expired 20 s ago */
                _cleanup_identity_ Identity *id = NULL;

                assert_int_equal(auth_authenticate_token(a, t, strlen(t), NOW, &id, NULL), AUTH_OK);
        }

        /* Default max TTL is 30 days. */
        {
                _cleanup_auth_ Auth *d = make_auth(AUTH_MODE_REQUIRED, true, 0, 0);
                _cleanup_free_ char *ok = mint(scopes, 30 * 86400, NOW), *bad = mint(scopes, 30 * 86400 + 1, NOW);
                _cleanup_identity_ Identity *id = NULL;
                Identity *none = NULL;

                assert_int_equal(auth_authenticate_token(d, ok, strlen(ok), NOW, &id, NULL), AUTH_OK);
                assert_int_equal(auth_authenticate_token(d, bad, strlen(bad), NOW, &none, NULL),
                                 AUTH_ERR_INVALID_TOKEN);
                assert_null(none);
        }

        /* A token from another secret. */
        {
                static const char other[] = "ffffffffffffffffffffffffffffffffffffffff";
                HmacKey *k = NULL;
                _cleanup_free_ char *t = NULL;
                Identity *id = NULL;
                const char *detail = NULL;
                TokenMintParams p = { .agent = "x", .scopes = scopes, .ttl_seconds = 60, .now = NOW };

                assert_int_equal(hmac_key_new(other, strlen(other), &k), 0);
                assert_int_equal(hmac_token_mint(k, &p, &t, NULL), 0);
                hmac_key_free(k);
                assert_int_equal(auth_authenticate_token(a, t, strlen(t), NOW, &id, &detail), AUTH_ERR_INVALID_TOKEN);
                assert_string_equal(detail, "signature mismatch");
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_error_table),
                cmocka_unit_test(test_required_matrix),
                cmocka_unit_test(test_new_rejects),
                cmocka_unit_test(test_header_parsing),
                cmocka_unit_test(test_oversize),
                cmocka_unit_test(test_anonymous),
                cmocka_unit_test(test_token_verdicts),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
