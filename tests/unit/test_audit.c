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
#include "audit/verify.h"
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
        char p[300];

        snprintf(p, sizeof p, "%s/audit.key", dir);
        unlink(p);
        snprintf(p, sizeof p, "%s/audit-initial.key", dir);
        unlink(p);
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

static void rewrite_line(int which, const char *from, const char *to, bool drop) {
        FILE *f = fopen(path, "re");
        char *lines[64];
        char buf[8192];
        int n = 0;

        assert_non_null(f);
        while (n < 64 && fgets(buf, sizeof buf, f))
                lines[n++] = strdup(buf);
        fclose(f);
        f = fopen(path, "we");
        for (int i = 0; i < n; i++) {
                if (i + 1 == which && drop) {
                        free(lines[i]);
                        continue;
                }
                if (i + 1 == which && from) {
                        char *p = strstr(lines[i], from);
                        assert_non_null(p);
                        fprintf(f, "%.*s%s%s", (int) (p - lines[i]), lines[i], to, p + strlen(from));
                } else
                        fputs(lines[i], f);
                free(lines[i]);
        }
        fclose(f);
}

static void test_seal_and_verify(void **state) {
        char keypath[300], initpath[300], hex[80];
        unsigned char key0[32], wrong[32] = { 1 };
        AuditReport rep;
        Audit *a = NULL;

        unlink(path);
        snprintf(keypath, sizeof keypath, "%s/audit.key", dir);
        snprintf(initpath, sizeof initpath, "%s/audit-initial.key", dir);
        unlink(keypath);
        unlink(initpath);

        assert_int_equal(audit_open(path, &a), 0);
        assert_int_equal(audit_enable_seal(a, keypath, initpath, 3), 0);
        for (int i = 0; i < 7; i++) {
                _cleanup_json_ json_t *f = json_pack("{s:s,s:i}", "subject", "s", "i", i);
                assert_int_equal(audit_append(a, "tool.call", f, false, NULL), 0);
        }
        audit_close(a);

        FILE *kf = fopen(initpath, "re");
        assert_non_null(kf);
        assert_non_null(fgets(hex, sizeof hex, kf));
        fclose(kf);
        for (int i = 0; i < 32; i++) {
                unsigned v;
                assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
                key0[i] = (unsigned char) v;
        }

        /* 7 records + 2 checkpoints (after 3 and 6 records) = 9 lines; 1 unsealed. */
        assert_int_equal(audit_verify_file(path, key0, &rep), 0);
        assert_int_equal(rep.verdict, AUDIT_UNSEALED);
        assert_int_equal(rep.lines, 9);
        assert_int_equal(rep.checkpoints, 2);
        assert_int_equal(rep.checkpoints_verified, 2);
        assert_int_equal(rep.unsealed_lines, 1);

        /* Reopen, seal: intact. The key evolved on disk, not back to K0. */
        assert_int_equal(audit_open(path, &a), 0);
        assert_int_equal(audit_enable_seal(a, keypath, initpath, 3), 0);
        assert_int_equal(audit_seal(a), 0);
        audit_close(a);
        assert_int_equal(audit_verify_file(path, key0, &rep), 0);
        assert_int_equal(rep.verdict, AUDIT_INTACT);
        assert_int_equal(rep.checkpoints_verified, 3);

        /* The wrong key: the first checkpoint fails. */
        assert_int_equal(audit_verify_file(path, wrong, &rep), 0);
        assert_int_equal(rep.verdict, AUDIT_TAMPERED);
        assert_int_equal(rep.first_bad_line, 4);

        /* An edited record breaks the next line's prev. */
        rewrite_line(2, "\"i\":1", "\"i\":9", false);
        assert_int_equal(audit_verify_file(path, NULL, &rep), 0);
        assert_int_equal(rep.verdict, AUDIT_TAMPERED);
        assert_int_equal(rep.first_bad_line, 3);
}

static void test_syncer_checkpoints(void **state) {
        char keypath[300], initpath[300];
        AuditReport rep;
        Audit *a = NULL;

        unlink(path);
        snprintf(keypath, sizeof keypath, "%s/audit.key", dir);
        snprintf(initpath, sizeof initpath, "%s/audit-initial.key", dir);
        unlink(keypath);
        unlink(initpath);
        assert_int_equal(audit_open(path, &a), 0);
        assert_int_equal(audit_enable_seal(a, keypath, initpath, 3), 0);
        assert_int_equal(audit_start_syncer(a, 2), 0);
        for (int i = 0; i < 3; i++)
                assert_int_equal(audit_append(a, "tool.call", NULL, false, NULL), 0);
        /* The syncer, not the appender, writes the checkpoint. */
        for (int i = 0; i < 200; i++) {
                assert_int_equal(audit_verify_file(path, NULL, &rep), 0);
                if (rep.checkpoints == 1)
                        break;
                usleep(5000);
        }
        assert_int_equal(rep.checkpoints, 1);
        assert_int_equal(rep.verdict, AUDIT_INTACT);
        audit_close(a);
}

static void test_verify_removed_line(void **state) {
        AuditReport rep;
        Audit *a = NULL;

        unlink(path);
        assert_int_equal(audit_open(path, &a), 0);
        for (int i = 0; i < 5; i++)
                assert_int_equal(audit_append(a, "tool.call", NULL, false, NULL), 0);
        audit_close(a);
        assert_int_equal(audit_verify_file(path, NULL, &rep), 0);
        assert_int_equal(rep.verdict, AUDIT_UNSEALED);
        rewrite_line(3, NULL, NULL, true);
        assert_int_equal(audit_verify_file(path, NULL, &rep), 0);
        assert_int_equal(rep.verdict, AUDIT_TAMPERED);
        assert_int_equal(rep.first_bad_line, 3);
        assert_non_null(strstr(rep.reason, "seq 4, expected 3"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_chain_and_recovery),
                cmocka_unit_test(test_reserved_fields_are_ours),
                cmocka_unit_test(test_redact),
                cmocka_unit_test(test_seal_and_verify),
                cmocka_unit_test(test_verify_removed_line),
                cmocka_unit_test(test_syncer_checkpoints),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
