/* SPDX-License-Identifier: MIT */
/* The audit writer: whole lines, seq, the prev hash chain, recovery. */

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "audit/audit.h"
#include "common/cleanup.h"

static char dir[] = "/tmp/sm-audit-XXXXXX";
static char path[256];

static int setup(void **state) {
        if (!mkdtemp(dir))
                return -1;
        snprintf(path, sizeof path, "%s/audit.log", dir);
        return 0;
}

static int teardown(void **state) {
        unlink(path);
        rmdir(dir);
        return 0;
}

/* Reads the log and checks every line's seq and prev link; returns the count. */
static size_t check_chain(void) {
        FILE *f = fopen(path, "re");
        char line[8192], prev[65] = "0000000000000000000000000000000000000000000000000000000000000000";
        size_t n = 0;

        assert_non_null(f);
        while (fgets(line, sizeof line, f)) {
                size_t len = strlen(line);
                assert_true(len > 0 && line[len - 1] == '\n');
                line[--len] = 0;

                json_error_t e;
                _cleanup_json_ json_t *j = json_loads(line, JSON_REJECT_DUPLICATES, &e);
                assert_non_null(j);
                assert_int_equal(json_integer_value(json_object_get(j, "v")), 1);
                assert_int_equal(json_integer_value(json_object_get(j, "seq")), (json_int_t) n + 1);
                assert_string_equal(json_string_value(json_object_get(j, "prev")), prev);
                assert_non_null(json_string_value(json_object_get(j, "ts")));

                unsigned char md[SHA256_DIGEST_LENGTH];
                SHA256((unsigned char *) line, len, md);
                for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
                        snprintf(prev + 2 * i, 3, "%02x", md[i]);
                n++;
        }
        fclose(f);
        return n;
}

static void test_chain_and_recovery(void **state) {
        Audit *a = NULL;
        uint64_t seq = 0;

        unlink(path);
        assert_int_equal(audit_open(path, &a), 0);
        _cleanup_json_ json_t *f = json_pack("{s:s,s:s}", "subject", "agent-1", "tool", "get_system_status");
        assert_int_equal(audit_append(a, "tool.call", f, false, &seq), 0);
        assert_int_equal(seq, 1);
        assert_int_equal(audit_append(a, "tool.result", f, true, &seq), 0);
        assert_int_equal(seq, 2);
        audit_close(a);

        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);

        /* Reopening continues the chain. */
        assert_int_equal(audit_open(path, &a), 0);
        assert_int_equal(audit_append(a, "server.start", NULL, false, &seq), 0);
        assert_int_equal(seq, 3);
        audit_close(a);
        assert_int_equal(check_chain(), 3);

        /* A torn last line (crash mid-write) is terminated and recorded. */
        int fd = open(path, O_WRONLY | O_APPEND);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "{\"v\":1,\"seq\":4,\"ts", 18), 18);
        close(fd);
        assert_int_equal(audit_open(path, &a), 0);
        audit_close(a);

        FILE *fp = fopen(path, "re");
        char line[4096];
        int lines = 0;
        bool recovered = false;
        while (fgets(line, sizeof line, fp)) {
                lines++;
                if (strstr(line, "\"event\":\"audit.recovered\""))
                        recovered = true;
        }
        fclose(fp);
        assert_int_equal(lines, 5);
        assert_true(recovered);
}

static void test_reserved_fields_are_ours(void **state) {
        Audit *a = NULL;

        unlink(path);
        assert_int_equal(audit_open(path, &a), 0);
        _cleanup_json_ json_t *f = json_pack("{s:i,s:s,s:s}", "seq", 99, "prev", "forged", "event", "forged");
        assert_int_equal(audit_append(a, "tool.call", f, false, NULL), 0);
        audit_close(a);
        assert_int_equal(check_chain(), 1);
}

static void test_redact(void **state) {
        _cleanup_json_ json_t *in = json_pack("{s:s,s:s,s:{s:s,s:i},s:[{s:s}]}", "package_name", "nginx", "password",
                                              "hunter2", "nested", "api_key", "k", "n", 1, "list", "Token", "t");
        _cleanup_json_ json_t *out = audit_redact(in);
        _cleanup_free_ char *s = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);

        assert_string_equal(s, "{\"list\":[{\"Token\":\"[redacted]\"}],\"nested\":{\"api_key\":\"[redacted]\",\"n\":1},"
                               "\"package_name\":\"nginx\",\"password\":\"[redacted]\"}");
        assert_null(strstr(s, "hunter2"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_chain_and_recovery),
                cmocka_unit_test(test_reserved_fields_are_ours),
                cmocka_unit_test(test_redact),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
