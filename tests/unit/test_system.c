/* SPDX-License-Identifier: MIT */

/* tools/system.c: get_system_status and get_top_processes, run through
 * tool_run() with output checking on, compared with /proc read by the test
 * itself at the same moment. */

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "tools/tool.h"

static const ToolEnv env = { .max_output_bytes = 1024 * 1024 };

static int setup(void **state) {
        _cleanup_free_ char *err = NULL;

        /* Every result below is also checked against its outputSchema. */
        if (setenv("SYSTEMMANAGER_CHECK_OUTPUT", "1", 1) < 0)
                return -1;
        if (tool_registry_init(&err) < 0) {
                fprintf(stderr, "tool_registry_init: %s\n", err ? err : "?");
                return -1;
        }
        return 0;
}

static void sleep_ms(long ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* Runs a tool after validating its arguments, like the server does. */
static int run(const char *name, const char *args_json, ToolCall *call) {
        _cleanup_json_ json_t *args = NULL;
        const Tool *t = tool_find(name);
        char err[512];
        int r;

        assert_non_null(t);
        if (args_json) {
                args = json_loads(args_json, 0, NULL);
                assert_non_null(args);
        }
        if (tool_validate_args(t, args, err, sizeof err) < 0)
                fail_msg("%s %s: %s", name, args_json ? args_json : "", err);

        *call = (ToolCall) { .tool = t, .args = args, .env = &env };
        r = tool_run(call);
        if (r < 0)
                fail_msg("%s failed: %d %s", name, r, call->error);
        assert_non_null(call->result);
        assert_non_null(call->text);
        call->args = NULL;
        return r;
}

static void call_done(ToolCall *call) {
        json_decref(call->result);
        free(call->text);
        *call = (ToolCall) {};
}

static uint64_t meminfo_kb(const char *key) {
        FILE *f = fopen("/proc/meminfo", "re");
        char line[256];
        size_t kl = strlen(key);

        assert_non_null(f);
        while (fgets(line, sizeof line, f))
                if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
                        fclose(f);
                        return strtoull(line + kl + 1, NULL, 10);
                }
        fclose(f);
        fail_msg("%s not in /proc/meminfo", key);
        return 0;
}

static double proc_uptime(void) {
        FILE *f = fopen("/proc/uptime", "re");
        double up = -1;

        assert_non_null(f);
        assert_int_equal(fscanf(f, "%lf", &up), 1);
        fclose(f);
        return up;
}

static json_int_t int_at(json_t *o, const char *a, const char *b) {
        json_t *v = json_object_get(o, a);

        if (b)
                v = json_object_get(v, b);
        if (!json_is_integer(v))
                fail_msg("%s%s%s is not an integer", a, b ? "." : "", b ? b : "");
        return json_integer_value(v);
}

static const char *str_at(json_t *o, const char *a, const char *b) {
        json_t *v = json_object_get(o, a);

        if (b)
                v = json_object_get(v, b);
        if (!json_is_string(v))
                fail_msg("%s%s%s is not a string", a, b ? "." : "", b ? b : "");
        return json_string_value(v);
}

/* Must run first in this process: nothing has sampled /proc/stat yet. */
static void test_status_first_call_since_boot(void **state) {
        ToolCall call;

        run("get_system_status", NULL, &call);
        assert_string_equal(str_at(call.result, "cpu", "usage_basis"), "since_boot");
        call_done(&call);
}

static void test_status_matches_proc(void **state) {
        char host[HOST_NAME_MAX + 1] = "";
        struct utsname u;
        ToolCall call;
        double up_before, up_after, up;
        uint64_t total_kb;
        json_t *r, *fs, *e;
        size_t i;

        assert_int_equal(gethostname(host, sizeof host - 1), 0);
        assert_int_equal(uname(&u), 0);

        up_before = proc_uptime();
        total_kb = meminfo_kb("MemTotal");
        run("get_system_status", "{}", &call);
        up_after = proc_uptime();
        r = call.result;

        assert_string_equal(str_at(r, "hostname", NULL), host);
        assert_string_equal(str_at(r, "kernel", "release"), u.release);
        assert_string_equal(str_at(r, "kernel", "machine"), u.machine);
        assert_true(strlen(str_at(r, "os", NULL)) > 0);

        up = json_number_value(json_object_get(r, "uptime_seconds"));
        assert_true(up >= up_before - 2.0 && up <= up_after + 2.0);
        assert_true(int_at(r, "boot_time", NULL) > 0);

        /* Exactly MemTotal, in bytes. */
        assert_true((uint64_t) int_at(r, "memory", "total_bytes") == total_kb * 1024);
        assert_true(int_at(r, "memory", "available_bytes") <= int_at(r, "memory", "total_bytes"));
        assert_true(int_at(r, "memory", "used_bytes") + int_at(r, "memory", "available_bytes") ==
                    int_at(r, "memory", "total_bytes"));
        assert_true((uint64_t) int_at(r, "swap", "total_bytes") == meminfo_kb("SwapTotal") * 1024);

        assert_int_equal(int_at(r, "cpu", "count"), sysconf(_SC_NPROCESSORS_ONLN));
        assert_true(json_number_value(json_object_get(json_object_get(r, "cpu"), "usage_percent")) >= 0);

        /* Filesystems: real ones only, each mount point once. */
        fs = json_object_get(r, "filesystems");
        assert_true(json_is_array(fs));
        assert_true(json_array_size(fs) <= 256);
        json_array_foreach(fs, i, e) {
                static const char *const pseudo[] = { "proc", "sysfs", "cgroup", "cgroup2", "tmpfs", "devtmpfs",
                                                      "devpts", "mqueue", "debugfs", "tracefs" };
                const char *type = str_at(e, "fstype", NULL), *mnt = str_at(e, "mountpoint", NULL);

                for (size_t k = 0; k < ELEMENTSOF(pseudo); k++)
                        if (strcmp(type, pseudo[k]) == 0)
                                fail_msg("pseudo filesystem %s listed at %s", type, mnt);
                for (size_t k = 0; k < i; k++)
                        if (strcmp(mnt, str_at(json_array_get(fs, k), "mountpoint", NULL)) == 0)
                                fail_msg("mount point %s listed twice", mnt);

                if (strcmp(mnt, "/") == 0 && json_is_integer(json_object_get(e, "total_bytes"))) {
                        struct statvfs sv;

                        assert_int_equal(statvfs("/", &sv), 0);
                        assert_true((uint64_t) int_at(e, "total_bytes", NULL) ==
                                    (uint64_t) sv.f_blocks * (sv.f_frsize ? sv.f_frsize : sv.f_bsize));
                }
        }

        assert_non_null(strstr(call.text, "host "));
        assert_non_null(strstr(call.text, host));
        call_done(&call);
}

static void test_status_interval(void **state) {
        ToolCall a, b, c;
        double pb, pc;

        run("get_system_status", NULL, &a);
        sleep_ms(250);
        run("get_system_status", NULL, &b);
        assert_string_equal(str_at(b.result, "cpu", "usage_basis"), "interval");

        /* Within 200 ms the last computed value is reused, not re-measured. */
        run("get_system_status", NULL, &c);
        pb = json_number_value(json_object_get(json_object_get(b.result, "cpu"), "usage_percent"));
        pc = json_number_value(json_object_get(json_object_get(c.result, "cpu"), "usage_percent"));
        assert_string_equal(str_at(c.result, "cpu", "usage_basis"), "interval");
        assert_true(pb == pc);

        call_done(&a);
        call_done(&b);
        call_done(&c);
}

static json_t *find_pid(json_t *procs, json_int_t pid) {
        size_t i;
        json_t *p;

        json_array_foreach(procs, i, p)
                if (json_integer_value(json_object_get(p, "pid")) == pid)
                        return p;
        return NULL;
}

static void test_top_memory_sorted(void **state) {
        ToolCall call;
        json_t *procs, *p;
        json_int_t prev = INT64_MAX;
        size_t i;

        run("get_top_processes", "{\"limit\":3,\"sort_by\":\"memory\"}", &call);
        procs = json_object_get(call.result, "processes");
        assert_true(json_is_array(procs));
        assert_true(json_array_size(procs) >= 1);       /* at least this test */
        assert_true(json_array_size(procs) <= 3);
        assert_string_equal(str_at(call.result, "sort_by", NULL), "memory");
        assert_int_equal(int_at(call.result, "limit", NULL), 3);
        assert_true(int_at(call.result, "total_processes", NULL) >= (json_int_t) json_array_size(procs));

        json_array_foreach(procs, i, p) {
                json_int_t rss = int_at(p, "memory_rss_bytes", NULL);

                assert_true(rss <= prev);
                prev = rss;
        }
        assert_non_null(strstr(call.text, "PID"));
        call_done(&call);
}

static void test_top_includes_self(void **state) {
        char comm[64] = "";
        ToolCall call;
        json_t *procs, *me;
        FILE *f;

        f = fopen("/proc/self/comm", "re");
        assert_non_null(f);
        assert_non_null(fgets(comm, sizeof comm, f));
        fclose(f);
        comm[strcspn(comm, "\n")] = '\0';

        run("get_top_processes", "{\"limit\":200,\"sort_by\":\"memory\"}", &call);
        procs = json_object_get(call.result, "processes");
        assert_true(json_array_size(procs) <= 200);

        me = find_pid(procs, getpid());
        if (!me) {
                /* Only a host with more than 200 processes may leave us out. */
                assert_int_equal(json_array_size(procs), 200);
                call_done(&call);
                skip();
        }
        assert_string_equal(str_at(me, "name", NULL), comm);
        assert_int_equal(int_at(me, "ppid", NULL), getppid());
        assert_int_equal(int_at(me, "uid", NULL), getuid());
        assert_true(int_at(me, "threads", NULL) >= 1);
        assert_true(int_at(me, "memory_rss_bytes", NULL) > 0);
        assert_string_equal(str_at(me, "state", NULL), "R");
        assert_non_null(strstr(str_at(me, "cmdline", NULL), "test_system"));
        assert_true(strlen(str_at(me, "user", NULL)) > 0);
        call_done(&call);
}

/* The name in /proc/<pid>/stat is chosen by the process: parentheses,
 * spaces and bytes that are not UTF-8 must neither confuse the parser nor
 * reach the JSON unsanitized. */
static void test_top_hostile_name(void **state) {
        static const struct {
                const char *set;
                const char *expected;
        } names[] = {
                { "a) b (c", "a) b (c" },
                { "x) R 1 2 3", "x) R 1 2 3" },
                { "bad\xffname)", "bad?name)" },
                { "tab\there", "tab?here" },
        };
        char saved[17] = "";

        assert_int_equal(prctl(PR_GET_NAME, saved, 0, 0, 0), 0);
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                ToolCall call;
                json_t *me;

                assert_int_equal(prctl(PR_SET_NAME, names[i].set, 0, 0, 0), 0);
                run("get_top_processes", "{\"limit\":200,\"sort_by\":\"memory\"}", &call);
                me = find_pid(json_object_get(call.result, "processes"), getpid());
                if (me) {
                        assert_string_equal(str_at(me, "name", NULL), names[i].expected);
                        assert_int_equal(int_at(me, "ppid", NULL), getppid());
                        assert_true(int_at(me, "threads", NULL) >= 1);
                } else
                        assert_int_equal(json_array_size(json_object_get(call.result, "processes")), 200);
                call_done(&call);
        }
        assert_int_equal(prctl(PR_SET_NAME, saved, 0, 0, 0), 0);
}

static void test_top_cpu_sorted_and_interval(void **state) {
        ToolCall a, b;
        json_t *procs, *p, *me;
        double prev = 1e18;
        volatile uint64_t spin = 0;
        struct timespec t0, t1;
        size_t i;

        run("get_top_processes", "{\"limit\":200}", &a);
        assert_string_equal(str_at(a.result, "sort_by", NULL), "cpu");

        /* Burn a little CPU so this process has something to show. */
        clock_gettime(CLOCK_MONOTONIC, &t0);
        do {
                for (int k = 0; k < 100000; k++)
                        spin++;
                clock_gettime(CLOCK_MONOTONIC, &t1);
        } while ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 300);

        run("get_top_processes", "{\"limit\":200}", &b);
        assert_string_equal(str_at(b.result, "cpu_basis", NULL), "interval");
        procs = json_object_get(b.result, "processes");
        json_array_foreach(procs, i, p) {
                double c = json_number_value(json_object_get(p, "cpu_percent"));

                assert_true(c <= prev);
                prev = c;
        }
        me = find_pid(procs, getpid());
        if (me)
                assert_true(json_number_value(json_object_get(me, "cpu_percent")) > 0);

        call_done(&a);
        call_done(&b);
}

static void test_top_defaults(void **state) {
        ToolCall call;

        run("get_top_processes", NULL, &call);
        assert_int_equal(int_at(call.result, "limit", NULL), 10);
        assert_string_equal(str_at(call.result, "sort_by", NULL), "cpu");
        assert_true(json_array_size(json_object_get(call.result, "processes")) <= 10);
        call_done(&call);
}

static void test_top_cancelled(void **state) {
        atomic_bool cancelled = true;
        const Tool *t = tool_find("get_top_processes");
        ToolCall call = { .tool = t, .env = &env, .cancelled = &cancelled };

        assert_int_equal(tool_run(&call), -ECANCELED);
        assert_null(call.result);
        assert_null(call.text);
        assert_string_equal(call.error, "cancelled");
}

/* Both tools from several threads at once: shared samples stay consistent. */
static void *worker(void *arg) {
        for (int i = 0; i < 5; i++) {
                ToolCall call = { .tool = tool_find(i % 2 ? "get_top_processes" : "get_system_status"), .env = &env };

                if (tool_run(&call) < 0)
                        return (void *) 1;
                json_decref(call.result);
                free(call.text);
        }
        return NULL;
}

static void test_concurrent_calls(void **state) {
        pthread_t th[4];

        for (size_t i = 0; i < ELEMENTSOF(th); i++)
                assert_int_equal(pthread_create(&th[i], NULL, worker, NULL), 0);
        for (size_t i = 0; i < ELEMENTSOF(th); i++) {
                void *ret = (void *) 1;

                assert_int_equal(pthread_join(th[i], &ret), 0);
                assert_null(ret);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_status_first_call_since_boot),
                cmocka_unit_test(test_status_matches_proc),
                cmocka_unit_test(test_status_interval),
                cmocka_unit_test(test_top_memory_sorted),
                cmocka_unit_test(test_top_includes_self),
                cmocka_unit_test(test_top_hostile_name),
                cmocka_unit_test(test_top_cpu_sorted_and_interval),
                cmocka_unit_test(test_top_defaults),
                cmocka_unit_test(test_top_cancelled),
                cmocka_unit_test(test_concurrent_calls),
        };

        return cmocka_run_group_tests(tests, setup, NULL);
}
