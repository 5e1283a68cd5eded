/* SPDX-License-Identifier: MIT */
/* Approvals: binding, single use, four eyes, expiry, bounds. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "scopes/approvals.h"

static void test_binding(void **state) {
        _cleanup_json_ json_t *a = json_pack("{s:s,s:i}", "package_name", "nginx", "x", 1);
        _cleanup_json_ json_t *b = json_pack("{s:i,s:s}", "x", 1, "package_name", "nginx");
        _cleanup_json_ json_t *c = json_pack("{s:s,s:i}", "package_name", "nginx-full", "x", 1);
        char ha[65], hb[65], hc[65], hd[65], he[65];

        assert_int_equal(approval_binding("install_package", a, "agent", "jti1", ha), 0);
        assert_int_equal(approval_binding("install_package", b, "agent", "jti1", hb), 0);
        assert_string_equal(ha, hb); /* key order does not matter */
        assert_int_equal(approval_binding("install_package", c, "agent", "jti1", hc), 0);
        assert_string_not_equal(ha, hc);
        assert_int_equal(approval_binding("install_package", a, "agent", "jti2", hd), 0);
        assert_string_not_equal(ha, hd);
        assert_int_equal(approval_binding("install_package", a, "agentx", "jti1", he), 0);
        assert_string_not_equal(ha, he);
        /* The separators keep ("ab","c") and ("a","bc") apart. */
        char h1[65], h2[65];
        assert_int_equal(approval_binding("t", a, "ab", "c", h1), 0);
        assert_int_equal(approval_binding("t", a, "a", "bc", h2), 0);
        assert_string_not_equal(h1, h2);
}

static void test_flow(void **state) {
        ApprovalStore *s = NULL;
        _cleanup_json_ json_t *args = json_pack("{s:s}", "package_name", "nginx");
        char id[32], bind[65], other[65];
        char *approver = NULL;

        assert_int_equal(approval_store_new(900, 8, &s), 0);
        assert_int_equal(approval_request(s, "install_package", args, "agent", "j1", NULL, id), 0);
        assert_int_equal(strncmp(id, "apr_", 4), 0);
        assert_int_equal(strlen(id), 28);
        assert_int_equal(approval_binding("install_package", args, "agent", "j1", bind), 0);
        assert_int_equal(approval_binding("install_package", args, "agent", "j2", other), 0);

        assert_int_equal(approval_consume(s, id, bind, NULL), APPROVAL_IS_PENDING);
        assert_int_equal(approval_consume(s, "apr_nope", bind, NULL), APPROVAL_UNKNOWN);
        /* Four eyes. */
        assert_int_equal(approval_decide(s, id, true, "agent", NULL, NULL), -EPERM);
        assert_int_equal(approval_decide(s, "apr_nope", true, "bob", NULL, NULL), -ENOENT);
        _cleanup_json_ json_t *rec = NULL;
        assert_int_equal(approval_decide(s, id, true, "bob", "change 42", &rec), 0);
        assert_string_equal(json_string_value(json_object_get(rec, "state")), "approved");
        assert_string_equal(json_string_value(json_object_get(rec, "approver")), "bob");
        assert_int_equal(approval_decide(s, id, false, "carol", "late", NULL), -EALREADY);

        /* Bound to the call: another token's call cannot use it. */
        assert_int_equal(approval_consume(s, id, other, NULL), APPROVAL_MISMATCH);
        assert_int_equal(approval_consume(s, id, bind, &approver), APPROVAL_OK);
        assert_string_equal(approver, "bob");
        free(approver);
        /* Single use. */
        assert_int_equal(approval_consume(s, id, bind, NULL), APPROVAL_IS_USED);

        /* Denied stays denied. */
        char id2[32];
        assert_int_equal(approval_request(s, "install_package", args, "agent", "j1", NULL, id2), 0);
        assert_int_equal(approval_decide(s, id2, false, "bob", "no", NULL), 0);
        assert_int_equal(approval_consume(s, id2, bind, NULL), APPROVAL_IS_DENIED);

        _cleanup_json_ json_t *list = approval_list_json(s);
        assert_int_equal(json_array_size(list), 2);
        approval_store_free(s);
}

/* A restart (a new store on the same file) keeps every state, and above
 * all keeps a used approval used. */
static void test_persistence(void **state) {
        char dir[] = "/tmp/sm-approvals-XXXXXX", path[128], tmp[160];
        _cleanup_json_ json_t *args = json_pack("{s:s}", "package_name", "nginx");
        ApprovalStore *s = NULL;
        char pending[32], granted[32], used[32], denied[32], bind[65];
        unsigned loaded = 99;
        struct stat st;
        FILE *f;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/approvals.json", dir);
        assert_int_equal(approval_binding("install_package", args, "agent", "j1", bind), 0);

        assert_int_equal(approval_store_new(900, 8, &s), 0);
        assert_int_equal(approval_store_persist(s, path, &loaded), 0);
        assert_int_equal(loaded, 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(approval_request(s, "install_package", args, "agent", "j1", NULL, pending), 0);
        assert_int_equal(approval_request(s, "install_package", args, "agent", "j1", NULL, granted), 0);
        assert_int_equal(approval_request(s, "install_package", args, "agent", "j1", NULL, used), 0);
        assert_int_equal(approval_request(s, "install_package", args, "agent", "j1", NULL, denied), 0);
        approval_set_plan(s, pending, json_pack("{s:[s]}", "install", "nginx"));
        assert_int_equal(approval_decide(s, granted, true, "bob", "ok", NULL), 0);
        assert_int_equal(approval_decide(s, used, true, "bob", NULL, NULL), 0);
        assert_int_equal(approval_consume(s, used, bind, NULL), APPROVAL_OK);
        assert_int_equal(approval_decide(s, denied, false, "bob", "no", NULL), 0);
        approval_store_free(s);

        /* "Restart". */
        assert_int_equal(approval_store_new(900, 8, &s), 0);
        assert_int_equal(approval_store_persist(s, path, &loaded), 0);
        assert_int_equal(loaded, 4);
        _cleanup_json_ json_t *p = approval_get_json(s, pending);
        assert_string_equal(json_string_value(json_object_get(p, "state")), "pending");
        assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(p, "plan"), "install"), 0)),
                            "nginx");
        assert_int_equal(approval_consume(s, used, bind, NULL), APPROVAL_IS_USED);
        assert_int_equal(approval_consume(s, denied, bind, NULL), APPROVAL_IS_DENIED);
        assert_int_equal(approval_decide(s, pending, true, "agent", NULL, NULL), -EPERM);
        assert_int_equal(approval_decide(s, pending, true, "carol", NULL, NULL), 0);
        char *who = NULL;
        assert_int_equal(approval_consume(s, granted, bind, &who), APPROVAL_OK);
        assert_string_equal(who, "bob");
        free(who);
        approval_store_free(s);

        /* Once more: both are used now. */
        assert_int_equal(approval_store_new(900, 8, &s), 0);
        assert_int_equal(approval_store_persist(s, path, NULL), 0);
        assert_int_equal(approval_consume(s, granted, bind, NULL), APPROVAL_IS_USED);
        approval_store_free(s);

        /* Not a saved store: refused, file untouched. */
        f = fopen(path, "w");
        assert_non_null(f);
        fputs("{\"approvals\": 3}", f);
        fclose(f);
        assert_int_equal(approval_store_new(900, 8, &s), 0);
        assert_int_equal(approval_store_persist(s, path, NULL), -EBADMSG);
        approval_store_free(s);
        /* Malformed records are skipped, good ones kept. */
        f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "{\"version\":1,\"approvals\":[{\"id\":\"x\"},7,{\"id\":\"apr_1\",\"binding\":\"%s\","
                   "\"tool\":\"t\",\"subject\":\"a\",\"args\":{},\"created\":%lld,\"expires\":%lld,"
                   "\"decided\":0,\"state\":\"pending\"}]}",
                bind, (long long) time(NULL), (long long) time(NULL) + 600);
        fclose(f);
        assert_int_equal(approval_store_new(900, 8, &s), 0);
        assert_int_equal(approval_store_persist(s, path, &loaded), 0);
        assert_int_equal(loaded, 1);
        approval_store_free(s);

        unlink(path);
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        unlink(tmp);
        rmdir(dir);
}

static void test_expiry_and_bounds(void **state) {
        ApprovalStore *s = NULL;
        _cleanup_json_ json_t *args = json_object();
        char id[32], bind[65];

        assert_int_equal(approval_store_new(1, 2, &s), 0);
        assert_int_equal(approval_request(s, "t", args, "a", NULL, NULL, id), 0);
        assert_int_equal(approval_request(s, "t", args, "a", NULL, NULL, id), 0);
        assert_int_equal(approval_request(s, "t", args, "a", NULL, NULL, id), -EBUSY);
        assert_int_equal(approval_decide(s, id, true, "b", NULL, NULL), 0);
        sleep(2);
        assert_int_equal(approval_binding("t", args, "a", NULL, bind), 0);
        assert_int_equal(approval_consume(s, id, bind, NULL), APPROVAL_IS_EXPIRED);
        assert_int_equal(approval_request(s, "t", args, "a", NULL, NULL, id), 0); /* expired ones free room */
        approval_store_free(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_binding),
                cmocka_unit_test(test_flow),
                cmocka_unit_test(test_persistence),
                cmocka_unit_test(test_expiry_and_bounds),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
