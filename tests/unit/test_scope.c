/* SPDX-License-Identifier: MIT */

/* scopes/scope.c and scopes/identity.c. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "scopes/identity.h"
#include "scopes/scope.h"

/* SPEC §6, in enum order. */
static const char *const expected_names[] = {
        "system:read", "network:read", "container:read", "docker:read", "file:read",
        "network:diag", "network:admin", "container:write", "container:admin", "docker:admin",
        "system:admin", "health:read", "metrics:read", "approvals:write", "admin:tokens:read",
        "admin:tokens:write",
};

#define READONLY (SCOPE_BIT(SCOPE_SYSTEM_READ) | SCOPE_BIT(SCOPE_NETWORK_READ) | \
                  SCOPE_BIT(SCOPE_CONTAINER_READ) | SCOPE_BIT(SCOPE_FILE_READ) |  \
                  SCOPE_BIT(SCOPE_HEALTH_READ) | SCOPE_BIT(SCOPE_METRICS_READ))

static void test_names(void **state) {
        assert_int_equal(ELEMENTSOF(expected_names), _SCOPE_MAX);
        assert_int_equal(SCOPESET_ALL, 0xffffu);

        for (Scope s = 0; s < _SCOPE_MAX; s++) {
                assert_string_equal(scope_to_string(s), expected_names[s]);
                assert_int_equal(scope_from_string(expected_names[s]), s);
        }

        assert_null(scope_to_string(_SCOPE_MAX));
        assert_null(scope_to_string(-1));
        assert_null(scope_to_string(_SCOPE_INVALID));
}

static const char *const unknown_names[] = {
        "", "*", "readonly", "admin", "System:read", "system:read ", " system:read",
        "system:READ", "system", "system:", ":read", "system:read,network:read", "admin:tokens",
        "tokens:write", "docker:write", "file:write", "root",
};

static void test_from_string_unknown(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(unknown_names); i++)
                if (scope_from_string(unknown_names[i]) != -EINVAL)
                        fail_msg("\"%s\" accepted as a concrete scope", unknown_names[i]);
        assert_int_equal(scope_from_string(NULL), -EINVAL);
}

static void test_expand_name(void **state) {
        ScopeSet set = 0x12345;

        assert_int_equal(scope_readonly_set(), READONLY);
        /* readonly must not contain anything that writes or diagnoses. */
        assert_false(scopeset_has(READONLY, SCOPE_DOCKER_READ));
        assert_false(scopeset_has(READONLY, SCOPE_NETWORK_DIAG));

        assert_int_equal(scope_expand_name("readonly", &set), 0);
        assert_int_equal(set, READONLY);
        assert_int_equal(scope_expand_name("admin", &set), 0);
        assert_int_equal(set, SCOPESET_ALL);
        for (Scope s = 0; s < _SCOPE_MAX; s++) {
                assert_int_equal(scope_expand_name(expected_names[s], &set), 0);
                assert_int_equal(set, SCOPE_BIT(s));
        }

        set = 7;
        assert_int_equal(scope_expand_name("Admin", &set), -EINVAL);
        assert_int_equal(scope_expand_name("*", &set), -EINVAL);
        assert_int_equal(scope_expand_name("", &set), -EINVAL);
        assert_int_equal(scope_expand_name("readonly ", &set), -EINVAL);
        assert_int_equal(scope_expand_name(NULL, &set), -EINVAL);
        assert_int_equal(set, 7); /* untouched on failure */
}

static const struct {
        const char *list;
        int r;
        ScopeSet set;
        const char *bad;
} list_cases[] = {
        { "readonly, container:write", 0, READONLY | SCOPE_BIT(SCOPE_CONTAINER_WRITE), NULL },
        { "system:read,network:read", 0, SCOPE_BIT(SCOPE_SYSTEM_READ) | SCOPE_BIT(SCOPE_NETWORK_READ), NULL },
        { "system:read network:read", 0, SCOPE_BIT(SCOPE_SYSTEM_READ) | SCOPE_BIT(SCOPE_NETWORK_READ), NULL },
        { "  system:read \t\n network:read,, ,", 0,
          SCOPE_BIT(SCOPE_SYSTEM_READ) | SCOPE_BIT(SCOPE_NETWORK_READ), NULL },
        { "admin", 0, SCOPESET_ALL, NULL },
        { "readonly,readonly", 0, READONLY, NULL },
        { "admin:tokens:write", 0, SCOPE_BIT(SCOPE_ADMIN_TOKENS_WRITE), NULL },
        { "", 0, 0, NULL },
        { ",,, ", 0, 0, NULL },
        { "system:read,bogus", -EINVAL, 0, "bogus" },
        { "bogus system:read", -EINVAL, 0, "bogus" },
        { "*", -EINVAL, 0, "*" },
        { "system:read;network:read", -EINVAL, 0, "system:read;network:read" },
        { "READONLY", -EINVAL, 0, "READONLY" },
        { "admin:tokens", -EINVAL, 0, "admin:tokens" },
        { "system:readxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", -EINVAL, 0,
          "system:readxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" },
};

static void test_parse_list(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(list_cases); i++) {
                _cleanup_free_ char *bad = NULL;
                ScopeSet set = 0xdead;
                int r;

                r = scope_parse_list(list_cases[i].list, &set, &bad);
                if (r != list_cases[i].r)
                        fail_msg("case %zu \"%s\": r=%d", i, list_cases[i].list, r);
                if (r == 0) {
                        assert_int_equal(set, list_cases[i].set);
                        assert_null(bad);
                } else {
                        assert_int_equal(set, 0xdead);
                        assert_non_null(bad);
                        assert_string_equal(bad, list_cases[i].bad);
                }
        }

        /* ret_bad is optional. */
        {
                ScopeSet set;
                assert_int_equal(scope_parse_list("nope", &set, NULL), -EINVAL);
                assert_int_equal(scope_parse_list(NULL, &set, NULL), -EINVAL);
        }
}

static const struct {
        const char *json;
        int r;
        ScopeSet set;
        const char *bad;
} json_cases[] = {
        { "[\"readonly\",\"container:write\"]", 0, READONLY | SCOPE_BIT(SCOPE_CONTAINER_WRITE), NULL },
        { "[]", 0, 0, NULL },
        { "[\"admin\"]", 0, SCOPESET_ALL, NULL },
        { "[\"system:read\",\"bogus\"]", -EINVAL, 0, "bogus" },
        { "[\"\"]", -EINVAL, 0, "" },
        { "[\"system:read\",1]", -EINVAL, 0, NULL },
        { "[null]", -EINVAL, 0, NULL },
        { "[[\"system:read\"]]", -EINVAL, 0, NULL },
        { "{\"a\":\"system:read\"}", -EINVAL, 0, NULL },
        { "\"system:read\"", -EINVAL, 0, NULL },
        { "[\"system:read\\u0000x\"]", -EINVAL, 0, "system:read" },
};

static void test_parse_json(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(json_cases); i++) {
                _cleanup_json_ json_t *j = NULL;
                _cleanup_free_ char *bad = NULL;
                json_error_t err;
                ScopeSet set = 0xbeef;
                int r;

                j = json_loads(json_cases[i].json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
                assert_non_null(j);

                r = scope_parse_json(j, &set, &bad);
                if (r != json_cases[i].r)
                        fail_msg("case %zu %s: r=%d", i, json_cases[i].json, r);
                if (r == 0)
                        assert_int_equal(set, json_cases[i].set);
                else
                        assert_int_equal(set, 0xbeef);
                if (json_cases[i].bad) {
                        assert_non_null(bad);
                        assert_string_equal(bad, json_cases[i].bad);
                } else
                        assert_null(bad);
        }

        {
                ScopeSet set;
                assert_int_equal(scope_parse_json(NULL, &set, NULL), -EINVAL);
        }
}

static void test_to_json(void **state) {
        _cleanup_json_ json_t *a = NULL, *all = NULL, *none = NULL;
        _cleanup_free_ char *s = NULL;

        a = scopeset_to_json(SCOPE_BIT(SCOPE_METRICS_READ) | SCOPE_BIT(SCOPE_SYSTEM_READ));
        assert_non_null(a);
        s = json_dumps(a, JSON_COMPACT);
        assert_string_equal(s, "[\"system:read\",\"metrics:read\"]");

        all = scopeset_to_json(SCOPESET_ALL);
        assert_int_equal(json_array_size(all), _SCOPE_MAX);
        for (size_t i = 0; i < _SCOPE_MAX; i++)
                assert_string_equal(json_string_value(json_array_get(all, i)), expected_names[i]);

        none = scopeset_to_json(0);
        assert_int_equal(json_array_size(none), 0);
}

static void test_format(void **state) {
        char buf[256], small[20], tiny[1], exact[sizeof("system:read, network:read")];

        assert_string_equal(scopeset_format(SCOPE_BIT(SCOPE_SYSTEM_READ) | SCOPE_BIT(SCOPE_NETWORK_READ),
                                            buf, sizeof(buf)),
                            "system:read, network:read");
        assert_string_equal(scopeset_format(0, buf, sizeof(buf)), "");
        assert_string_equal(scopeset_format(SCOPE_BIT(SCOPE_ADMIN_TOKENS_WRITE), buf, sizeof(buf)),
                            "admin:tokens:write");

        /* Exactly enough room. */
        assert_string_equal(scopeset_format(SCOPE_BIT(SCOPE_SYSTEM_READ) | SCOPE_BIT(SCOPE_NETWORK_READ),
                                            exact, sizeof(exact)),
                            "system:read, network:read");

        /* Truncation keeps whole names and always terminates. */
        assert_string_equal(scopeset_format(SCOPE_BIT(SCOPE_SYSTEM_READ) | SCOPE_BIT(SCOPE_NETWORK_READ),
                                            small, sizeof(small)),
                            "system:read");
        assert_string_equal(scopeset_format(SCOPESET_ALL, tiny, sizeof(tiny)), "");

        scopeset_format(SCOPESET_ALL, buf, sizeof(buf));
        assert_int_equal(strlen(buf),
                         strlen("system:read, network:read, container:read, docker:read, file:read, "
                                "network:diag, network:admin, container:write, container:admin, "
                                "docker:admin, system:admin, health:read, metrics:read, approvals:write, "
                                "admin:tokens:read, admin:tokens:write"));
}

static void test_has(void **state) {
        assert_true(scopeset_has(SCOPESET_ALL, SCOPE_ADMIN_TOKENS_WRITE));
        assert_false(scopeset_has(READONLY, SCOPE_SYSTEM_ADMIN));
        assert_false(scopeset_has(SCOPESET_ALL, _SCOPE_MAX));
        assert_false(scopeset_has(SCOPESET_ALL, _SCOPE_INVALID));
}

/* ---- identity ------------------------------------------------------- */

static void test_identity_refcount(void **state) {
        Identity *i, *j;

        i = identity_new();
        assert_non_null(i);
        assert_int_equal(atomic_load(&i->n_ref), 1);
        assert_int_equal(i->method, AUTH_METHOD_NONE);
        assert_null(i->subject);
        assert_string_equal(i->token_sha256, "");

        i->subject = strdup("alice");
        j = identity_ref(i);
        assert_ptr_equal(i, j);
        assert_int_equal(atomic_load(&i->n_ref), 2);
        assert_null(identity_unref(j));
        assert_int_equal(atomic_load(&i->n_ref), 1);
        assert_string_equal(i->subject, "alice");
        assert_null(identity_unref(i)); /* frees; ASan checks */

        assert_null(identity_ref(NULL));
        assert_null(identity_unref(NULL));

        {
                _cleanup_identity_ Identity *k = identity_new();
                assert_non_null(k);
        }
}

static void test_auth_method_names(void **state) {
        static const char *const names[] = { "none", "hmac", "jwt", "service_token", "bootstrap", "stdio",
                                             "api_key", "basic" };

        assert_int_equal(ELEMENTSOF(names), _AUTH_METHOD_MAX);
        for (AuthMethod m = 0; m < _AUTH_METHOD_MAX; m++)
                assert_string_equal(auth_method_to_string(m), names[m]);
        assert_null(auth_method_to_string(_AUTH_METHOD_MAX));
        assert_null(auth_method_to_string((AuthMethod) -1));
}

static void test_identity_json(void **state) {
        _cleanup_identity_ Identity *i = NULL, *e = NULL, *far = NULL;
        _cleanup_json_ json_t *j = NULL, *k = NULL, *f = NULL;
        _cleanup_free_ char *dump = NULL;

        i = identity_new();
        assert_non_null(i);
        i->subject = strdup("ci-bot");
        i->token_id = strdup("0123456789abcdef0123456789abcdef");
        memcpy(i->token_sha256, "0011223344556677", 17);
        i->method = AUTH_METHOD_HMAC;
        i->scopes = READONLY;
        i->issued_at = 1800000000;
        i->expires_at = 1800003600;
        i->audience = strdup("tool:install_package");
        i->reason = strdup("deploy");
        i->auto_approve = true;

        j = identity_to_json(i);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "subject")), "ci-bot");
        assert_string_equal(json_string_value(json_object_get(j, "auth_method")), "hmac");
        assert_int_equal(json_array_size(json_object_get(j, "scopes")), 6);
        assert_string_equal(json_string_value(json_array_get(json_object_get(j, "scopes"), 0)), "system:read");
        assert_string_equal(json_string_value(json_object_get(j, "token_id")), "0123456789abcdef0123456789abcdef");
        assert_string_equal(json_string_value(json_object_get(j, "token_sha256")), "0011223344556677");
        assert_int_equal(json_integer_value(json_object_get(j, "issued_at")), 1800000000);
        assert_int_equal(json_integer_value(json_object_get(j, "expires_at")), 1800003600);
        assert_string_equal(json_string_value(json_object_get(j, "expires_at_iso")), "2027-01-15T09:00:00.000Z");
        assert_string_equal(json_string_value(json_object_get(j, "audience")), "tool:install_package");
        assert_string_equal(json_string_value(json_object_get(j, "reason")), "deploy");
        assert_true(json_is_true(json_object_get(j, "auto_approve")));
        assert_true(json_is_false(json_object_get(j, "break_glass")));
        /* Never the token itself. */
        assert_null(json_object_get(j, "token"));
        dump = json_dumps(j, 0);
        assert_null(strstr(dump, "secret"));

        /* Absent values are omitted, not null. */
        e = identity_new();
        e->subject = strdup("anonymous");
        e->scopes = 0;
        k = identity_to_json(e);
        assert_non_null(k);
        assert_string_equal(json_string_value(json_object_get(k, "auth_method")), "none");
        assert_int_equal(json_array_size(json_object_get(k, "scopes")), 0);
        assert_null(json_object_get(k, "token_id"));
        assert_null(json_object_get(k, "token_sha256"));
        assert_null(json_object_get(k, "issued_at"));
        assert_null(json_object_get(k, "expires_at"));
        assert_null(json_object_get(k, "expires_at_iso"));
        assert_null(json_object_get(k, "audience"));
        assert_null(json_object_get(k, "reason"));

        /* A far-future expiry keeps the epoch but has no ISO form. */
        far = identity_new();
        far->subject = strdup("x");
        far->expires_at = INT64_MAX;
        f = identity_to_json(far);
        assert_non_null(f);
        assert_int_equal(json_integer_value(json_object_get(f, "expires_at")), INT64_MAX);
        assert_null(json_object_get(f, "expires_at_iso"));

        assert_null(identity_to_json(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_from_string_unknown),
                cmocka_unit_test(test_expand_name),
                cmocka_unit_test(test_parse_list),
                cmocka_unit_test(test_parse_json),
                cmocka_unit_test(test_to_json),
                cmocka_unit_test(test_format),
                cmocka_unit_test(test_has),
                cmocka_unit_test(test_identity_refcount),
                cmocka_unit_test(test_auth_method_names),
                cmocka_unit_test(test_identity_json),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
