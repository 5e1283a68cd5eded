/* SPDX-License-Identifier: MIT */

/* tools/runner.c: real children — output, exit codes, caps, timeouts,
 * cancellation, no shell, minimal environment, closed descriptors, and
 * several runs at once from different threads. */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "tools/runner.h"

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

static RunnerResult run_ok(char *const argv[], const RunnerOptions *o) {
        RunnerResult r = {};

        assert_int_equal(runner_run(argv, o, &r), 0);
        assert_non_null(r.out);
        assert_non_null(r.err);
        return r;
}

static void test_echo(void **state) {
        char *argv[] = { (char *) "echo", (char *) "hello", (char *) "world", NULL };
        RunnerOptions o = { .timeout_ms = 5000 };
        RunnerResult r = run_ok(argv, &o);

        assert_string_equal(r.out, "hello world\n");
        assert_int_equal(r.out_len, 12);
        assert_int_equal(r.exit_status, 0);
        assert_int_equal(r.term_signal, 0);
        assert_false(r.truncated);
        assert_false(r.timed_out);
        assert_false(r.cancelled);
        runner_result_done(&r);
}

static void test_exit_codes_and_stderr(void **state) {
        char *f[] = { (char *) "/bin/false", NULL };
        char *ls[] = { (char *) "ls", (char *) "/nonexistent-runner-test", NULL };
        RunnerOptions o = { .timeout_ms = 5000 };
        RunnerResult r = run_ok(f, &o);

        assert_int_equal(r.exit_status, 1);
        runner_result_done(&r);

        r = run_ok(ls, &o);
        assert_int_equal(r.exit_status, 2);
        assert_int_equal(r.out_len, 0);
        assert_non_null(strstr(r.err, "nonexistent-runner-test"));
        runner_result_done(&r);
}

static void test_not_found(void **state) {
        char *a[] = { (char *) "no-such-program-xyz", NULL };
        char *rel[] = { (char *) "bin/true", NULL };
        char *dir[] = { (char *) "/etc", NULL };
        RunnerOptions o = { .timeout_ms = 1000 };
        RunnerResult r = {};

        assert_int_equal(runner_run(a, &o, &r), -ENOENT);
        assert_int_equal(runner_run(rel, &o, &r), -ENOENT);
        assert_true(runner_run(dir, &o, &r) < 0);
        assert_null(r.out);
        o.timeout_ms = 0;
        assert_int_equal(runner_run(a, &o, &r), -EINVAL);
}

static void test_cap_truncated(void **state) {
        /* 1 MiB of zeros with a 1000-byte cap: the rest is drained, not kept. */
        char *argv[] = { (char *) "head", (char *) "-c", (char *) "1048576", (char *) "/dev/zero", NULL };
        RunnerOptions o = { .timeout_ms = 10000, .max_output_bytes = 1000 };
        RunnerResult r = run_ok(argv, &o);

        assert_int_equal(r.out_len, 1000);
        assert_true(r.truncated);
        assert_int_equal(r.exit_status, 0);
        runner_result_done(&r);
}

static void test_timeout_kills(void **state) {
        char *argv[] = { (char *) "/bin/sleep", (char *) "10", NULL };
        RunnerOptions o = { .timeout_ms = 1000 };
        uint64_t t0 = now_ms(), dt;
        RunnerResult r = run_ok(argv, &o);

        dt = now_ms() - t0;
        assert_true(r.timed_out);
        assert_int_equal(r.term_signal, SIGTERM);
        assert_int_equal(r.exit_status, -1);
        assert_true(dt >= 900 && dt < 3000);
        runner_result_done(&r);
}

static void test_timeout_sigkill_and_group(void **state) {
        /* A program that ignores SIGTERM and leaves a grandchild holding the
         * pipe: both die, and we return within timeout + grace. */
        char *argv[] = { (char *) "/bin/sh", (char *) "-c", (char *) "trap '' TERM; sleep 30 & sleep 30", NULL };
        RunnerOptions o = { .timeout_ms = 500 };
        uint64_t t0 = now_ms(), dt;
        RunnerResult r = run_ok(argv, &o);

        dt = now_ms() - t0;
        assert_true(r.timed_out);
        assert_int_equal(r.term_signal, SIGKILL);
        assert_true(dt < 3000);
        runner_result_done(&r);
}

typedef struct CancelArg {
        atomic_bool *flag;
        int delay_ms;
} CancelArg;

static void *cancel_later(void *p) {
        CancelArg *a = p;
        struct timespec ts = { .tv_sec = 0, .tv_nsec = (long) a->delay_ms * 1000000L };

        nanosleep(&ts, NULL);
        atomic_store(a->flag, true);
        return NULL;
}

static void test_cancel(void **state) {
        char *argv[] = { (char *) "/bin/sleep", (char *) "10", NULL };
        atomic_bool flag = false;
        CancelArg a = { .flag = &flag, .delay_ms = 300 };
        RunnerOptions o = { .timeout_ms = 10000, .cancelled = &flag };
        pthread_t t;
        uint64_t t0 = now_ms(), dt;
        RunnerResult r;

        assert_int_equal(pthread_create(&t, NULL, cancel_later, &a), 0);
        r = run_ok(argv, &o);
        dt = now_ms() - t0;
        pthread_join(t, NULL);
        assert_true(r.cancelled);
        assert_false(r.timed_out);
        assert_true(dt < 1500);
        runner_result_done(&r);
}

static void test_no_shell(void **state) {
        char *argv[] = { (char *) "printf", (char *) "%s|", (char *) "$(id)", (char *) "`id`", (char *) "a;b",
                         (char *) "*", NULL };
        RunnerOptions o = { .timeout_ms = 5000 };
        RunnerResult r = run_ok(argv, &o);

        assert_string_equal(r.out, "$(id)|`id`|a;b|*|");
        runner_result_done(&r);
}

static void test_env_minimal(void **state) {
        char *argv[] = { (char *) "env", NULL };
        char *extra[] = { (char *) "FOO=bar", NULL };
        RunnerOptions o = { .timeout_ms = 5000, .env_extra = extra };
        RunnerResult r;

        assert_int_equal(setenv("RUNNER_SECRET_TEST", "leak", 1), 0);
        r = run_ok(argv, &o);
        assert_string_equal(r.out, "PATH=" RUNNER_PATH "\nLANG=C\nLC_ALL=C\nFOO=bar\n");
        runner_result_done(&r);
        unsetenv("RUNNER_SECRET_TEST");
}

static void test_stdin_and_fds(void **state) {
        /* stdin is /dev/null (cat returns at once), and the child sees only 0, 1, 2
         * (and the fd ls itself opens for the directory). */
        char *cat[] = { (char *) "cat", NULL };
        char *ls[] = { (char *) "ls", (char *) "/proc/self/fd", NULL };
        RunnerOptions o = { .timeout_ms = 5000 };
        _cleanup_close_ int leak = open("/dev/null", O_RDONLY);    /* deliberately not O_CLOEXEC */
        RunnerResult r;

        assert_true(leak >= 0);
        r = run_ok(cat, &o);
        assert_int_equal(r.out_len, 0);
        assert_int_equal(r.exit_status, 0);
        runner_result_done(&r);

        r = run_ok(ls, &o);
        assert_string_equal(r.out, "0\n1\n2\n3\n");
        runner_result_done(&r);
}

typedef struct Lines {
        int n;
        char last[64];
} Lines;

static void on_line(void *userdata, const char *line, size_t len) {
        Lines *l = userdata;

        l->n++;
        snprintf(l->last, sizeof l->last, "%.*s", (int) len, line);
}

static void test_line_callback(void **state) {
        char *argv[] = { (char *) "printf", (char *) "one\ntwo\nthree", NULL };
        Lines l = {};
        RunnerOptions o = { .timeout_ms = 5000, .on_stdout_line = on_line, .userdata = &l };
        RunnerResult r = run_ok(argv, &o);

        assert_int_equal(l.n, 3);
        assert_string_equal(l.last, "three");
        runner_result_done(&r);
}

static void *run_thread(void *p) {
        char *argv[] = { (char *) "echo", (char *) p, NULL };
        RunnerOptions o = { .timeout_ms = 5000 };
        RunnerResult r = {};
        intptr_t ok;

        if (runner_run(argv, &o, &r) < 0)
                return (void *) 0;
        ok = r.exit_status == 0 && strncmp(r.out, p, strlen(p)) == 0 && r.out[strlen(p)] == '\n';
        runner_result_done(&r);
        return (void *) ok;
}

static void test_concurrent(void **state) {
        static const char *words[] = { "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta" };
        pthread_t t[ELEMENTSOF(words)];

        for (int round = 0; round < 5; round++) {
                for (size_t i = 0; i < ELEMENTSOF(words); i++)
                        assert_int_equal(pthread_create(&t[i], NULL, run_thread, (void *) words[i]), 0);
                for (size_t i = 0; i < ELEMENTSOF(words); i++) {
                        void *ok = NULL;

                        pthread_join(t[i], &ok);
                        assert_true(ok == (void *) 1);
                }
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_echo),
                cmocka_unit_test(test_exit_codes_and_stderr),
                cmocka_unit_test(test_not_found),
                cmocka_unit_test(test_cap_truncated),
                cmocka_unit_test(test_timeout_kills),
                cmocka_unit_test(test_timeout_sigkill_and_group),
                cmocka_unit_test(test_cancel),
                cmocka_unit_test(test_no_shell),
                cmocka_unit_test(test_env_minimal),
                cmocka_unit_test(test_stdin_and_fds),
                cmocka_unit_test(test_line_callback),
                cmocka_unit_test(test_concurrent),
        };

        /* The daemon ignores SIGPIPE; so do we, to prove children get it back. */
        signal(SIGPIPE, SIG_IGN);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
