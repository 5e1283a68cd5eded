/* SPDX-License-Identifier: MIT */

/* tools/files.c: file_operations on a temporary tree with a text file, a
 * subdirectory, symlinks pointing out of the root, "..", a FIFO, a denied
 * *.key file, binary files, a 1 GiB sparse file and a large log, run through
 * tool_run() with output checking on and a ToolEnv whose only roots are the
 * tree and /proc/loadavg. Every refusal's message is checked. */

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
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
#include "tools/tool.h"

#define BIG_LINES 200000

static char root[64];
static char outside[64];        /* symlinks point here, never at real system files */
static char *roots[3];
static char *denied[] = { (char *) "*.key", (char *) "/etc/shadow", NULL, NULL };
static ToolEnv env = { .max_output_bytes = 64 * 1024 };

static void write_file(const char *name, const void *data, size_t len) {
        char path[256];
        FILE *f;

        snprintf(path, sizeof path, "%s/%s", root, name);
        f = fopen(path, "we");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(chmod(path, 0644), 0);
}

static int setup(void **state) {
        _cleanup_free_ char *err = NULL;
        static char denied_sub[128];
        char path[256], target[256];
        FILE *f;
        int fd;

        if (setenv("SYSTEMMANAGER_CHECK_OUTPUT", "1", 1) < 0)
                return -1;
        if (tool_registry_init(&err) < 0) {
                fprintf(stderr, "tool_registry_init: %s\n", err ? err : "?");
                return -1;
        }
        snprintf(root, sizeof root, "/tmp/sm-files-XXXXXX");
        if (!mkdtemp(root))
                return -1;
        snprintf(outside, sizeof outside, "/tmp/sm-files-outside-XXXXXX");
        if (!mkdtemp(outside))
                return -1;
        snprintf(path, sizeof path, "%s/passwd", outside);
        f = fopen(path, "we");
        if (!f)
                return -1;
        fprintf(f, "OUTSIDE\n");
        fclose(f);
        roots[0] = root;
        roots[1] = (char *) "/proc/loadavg";
        env.allowed_paths = roots;
        snprintf(denied_sub, sizeof denied_sub, "%s/private/*", root);
        denied[2] = denied_sub;
        env.denied_patterns = denied;

        snprintf(path, sizeof path, "%s/sub", root);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/sub/inner", root);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/private", root);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/escape", root);
        if (symlink(outside, path) < 0)
                return -1;
        snprintf(path, sizeof path, "%s/passwd_link", root);
        snprintf(target, sizeof target, "%s/passwd", outside);
        if (symlink(target, path) < 0)
                return -1;
        snprintf(path, sizeof path, "%s/fifo", root);
        if (mkfifo(path, 0644) < 0)
                return -1;

        write_file("hello.txt", "line1\nline2\nline3\n", 18);
        write_file("sub/deep.log", "deep\n", 5);
        write_file("sub/inner/x.log", "x\n", 2);
        write_file("private/notes.txt", "secret\n", 7);
        write_file("secret.key", "-----BEGIN PRIVATE KEY-----\n", 28);
        write_file("bin.dat", "ab\0cd\n", 6);
        write_file("latin1.txt", "caf\xe9\n", 5);
        write_file("ctrl.txt", "a\x1b[31mred\r\nnext\n", 16);
        write_file("noeol.txt", "one\ntwo", 7);
        write_file("empty.txt", "", 0);

        snprintf(path, sizeof path, "%s/big.log", root);
        f = fopen(path, "we");
        if (!f)
                return -1;
        for (int i = 0; i < BIG_LINES; i++)
                fprintf(f, "line %d\n", i);
        fclose(f);

        /* A 100 KiB line between two short ones. */
        snprintf(path, sizeof path, "%s/longline.txt", root);
        f = fopen(path, "we");
        if (!f)
                return -1;
        fprintf(f, "short\n");
        for (int i = 0; i < 100 * 1024; i++)
                fputc('x', f);
        fprintf(f, "\nafter\n");
        fclose(f);

        snprintf(path, sizeof path, "%s/sparse.img", root);
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0 || ftruncate(fd, 1024L * 1024 * 1024) < 0)
                return -1;
        close(fd);
        return 0;
}

static int teardown(void **state) {
        static const char *const files[] = {
                "sub/inner/x.log", "sub/deep.log", "private/notes.txt", "hello.txt", "secret.key", "bin.dat",
                "latin1.txt", "ctrl.txt", "noeol.txt", "empty.txt", "big.log", "longline.txt", "sparse.img",
                "escape", "passwd_link", "fifo", "sub/inner", "sub", "private",
        };
        char path[256];

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                snprintf(path, sizeof path, "%s/%s", root, files[i]);
                if (unlink(path) < 0)
                        rmdir(path);
        }
        rmdir(root);
        snprintf(path, sizeof path, "%s/passwd", outside);
        unlink(path);
        rmdir(outside);
        return 0;
}

/* Runs file_operations with printf-style JSON arguments. Returns the
 * handler's result; on success the result is checked for basics. */
static int run(ToolCall *call, const char *fmt, ...) _printf_(2, 3);
static int run(ToolCall *call, const char *fmt, ...) {
        _cleanup_json_ json_t *args = NULL;
        const Tool *t = tool_find("file_operations");
        char buf[1024], err[512];
        json_error_t jerr;
        va_list ap;
        int r;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        assert_non_null(t);
        args = json_loads(buf, 0, &jerr);
        if (!args)
                fail_msg("bad test JSON %s: %s", buf, jerr.text);
        if (tool_validate_args(t, args, err, sizeof err) < 0)
                fail_msg("%s: %s", buf, err);
        *call = (ToolCall) { .tool = t, .args = args, .env = &env };
        r = tool_run(call);
        call->args = NULL;
        if (r >= 0) {
                assert_non_null(call->result);
                assert_non_null(call->text);
                assert_true(json_is_boolean(json_object_get(call->result, "truncated")));
        } else {
                assert_null(call->result);
                assert_true(call->error[0] != '\0');
        }
        return r;
}

static void call_done(ToolCall *call) {
        json_decref(call->result);
        free(call->text);
        *call = (ToolCall) {};
}

/* Expects a refusal whose message contains `needle`. */
static void expect_error(const char *needle, const char *fmt, ...) _printf_(2, 3);
static void expect_error(const char *needle, const char *fmt, ...) {
        char args[1024];
        ToolCall call;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(args, sizeof args, fmt, ap);
        va_end(ap);
        if (run(&call, "%s", args) >= 0)
                fail_msg("%s: expected an error containing '%s', got success", args, needle);
        if (!strstr(call.error, needle))
                fail_msg("%s: error '%s' lacks '%s'", args, call.error, needle);
        call_done(&call);
}

static const char *str_of(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);

        if (!json_is_string(v))
                fail_msg("%s is not a string", key);
        return json_string_value(v);
}

static json_int_t int_of(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);

        if (!json_is_integer(v))
                fail_msg("%s is not an integer", key);
        return json_integer_value(v);
}

static json_t *entry_named(json_t *entries, const char *name) {
        size_t i;
        json_t *e;

        json_array_foreach(entries, i, e)
                if (streq(str_of(e, "name"), name))
                        return e;
        return NULL;
}

/* info ------------------------------------------------------------------------ */

static void test_info(void **state) {
        struct passwd *pw = getpwuid(getuid());
        ToolCall call;
        char want[128];

        assert_int_equal(run(&call, "{\"action\":\"info\",\"path\":\"%s/hello.txt\"}", root), 0);
        assert_string_equal(str_of(call.result, "type"), "file");
        assert_int_equal(int_of(call.result, "size"), 18);
        assert_string_equal(str_of(call.result, "mode"), "0644");
        assert_string_equal(str_of(call.result, "permissions"), "-rw-r--r--");
        assert_int_equal(int_of(call.result, "uid"), getuid());
        if (pw)
                assert_string_equal(str_of(call.result, "owner"), pw->pw_name);
        assert_int_equal(strlen(str_of(call.result, "mtime")), 20);
        assert_int_equal(str_of(call.result, "mtime")[19], 'Z');
        snprintf(want, sizeof want, "%s/hello.txt", root);
        assert_string_equal(str_of(call.result, "path"), want);
        assert_false(json_is_true(json_object_get(call.result, "truncated")));
        assert_non_null(strstr(call.text, "0644"));
        call_done(&call);

        /* Nothing is read: a FIFO, a symlink and a directory can be described. */
        assert_int_equal(run(&call, "{\"action\":\"info\",\"path\":\"%s/fifo\"}", root), 0);
        assert_string_equal(str_of(call.result, "type"), "fifo");
        call_done(&call);
        assert_int_equal(run(&call, "{\"action\":\"info\",\"path\":\"%s/escape\"}", root), 0);
        assert_string_equal(str_of(call.result, "type"), "symlink");
        assert_string_equal(str_of(call.result, "symlink_target"), outside);
        call_done(&call);
        assert_int_equal(run(&call, "{\"action\":\"info\",\"path\":\"%s\"}", root), 0);
        assert_string_equal(str_of(call.result, "type"), "directory");
        call_done(&call);
}

/* read ------------------------------------------------------------------------ */

static void test_read(void **state) {
        ToolCall call;
        json_t *lines;

        assert_int_equal(run(&call, "{\"action\":\"read\",\"path\":\"%s/hello.txt\"}", root), 0);
        lines = json_object_get(call.result, "lines");
        assert_int_equal(json_array_size(lines), 3);
        assert_string_equal(json_string_value(json_array_get(lines, 0)), "line1");
        assert_string_equal(json_string_value(json_array_get(lines, 2)), "line3");
        assert_true(json_is_true(json_object_get(call.result, "end_of_file")));
        assert_true(json_is_null(json_object_get(call.result, "next_offset")));
        assert_false(json_is_true(json_object_get(call.result, "truncated")));
        assert_int_equal(int_of(call.result, "start_line"), 1);
        assert_string_equal(call.text, "line1\nline2\nline3\n");
        call_done(&call);

        assert_int_equal(run(&call, "{\"action\":\"read\",\"path\":\"%s/hello.txt\",\"offset\":1,\"lines\":1}", root),
                         0);
        lines = json_object_get(call.result, "lines");
        assert_int_equal(json_array_size(lines), 1);
        assert_string_equal(json_string_value(json_array_get(lines, 0)), "line2");
        assert_int_equal(int_of(call.result, "start_line"), 2);
        assert_int_equal(int_of(call.result, "next_offset"), 2);
        assert_false(json_is_true(json_object_get(call.result, "end_of_file")));
        assert_true(json_is_true(json_object_get(call.result, "truncated")));
        call_done(&call);

        /* Past the end: nothing, end of file. */
        assert_int_equal(run(&call, "{\"action\":\"read\",\"path\":\"%s/hello.txt\",\"offset\":50}", root), 0);
        assert_int_equal(json_array_size(json_object_get(call.result, "lines")), 0);
        assert_true(json_is_true(json_object_get(call.result, "end_of_file")));
        call_done(&call);

        /* No final newline; an empty file. */
        assert_int_equal(run(&call, "{\"action\":\"read\",\"path\":\"%s/noeol.txt\"}", root), 0);
        assert_string_equal(json_string_value(json_array_get(json_object_get(call.result, "lines"), 1)), "two");
        call_done(&call);
        assert_int_equal(run(&call, "{\"action\":\"read\",\"path\":\"%s/empty.txt\"}", root), 0);
        assert_int_equal(int_of(call.result, "line_count"), 0);
        assert_true(json_is_true(json_object_get(call.result, "end_of_file")));
        call_done(&call);

        /* ".." that stays beneath the root is fine and normalized. */
        assert_int_equal(run(&call, "{\"action\":\"read\",\"path\":\"%s/sub/../hello.txt\"}", root), 0);
        assert_int_equal(int_of(call.result, "line_count"), 3);
        assert_non_null(strstr(str_of(call.result, "path"), "/hello.txt"));
        assert_null(strstr(str_of(call.result, "path"), ".."));
        call_done(&call);
        assert_int_equal(run(&call, "{\"action\":\"read\",\"path\":\"%s//./hello.txt\"}", root), 0);
        call_done(&call);
}

static void test_read_sanitized(void **state) {
        ToolCall call;
        json_t *lines;

        assert_int_equal(run(&call, "{\"action\":\"read\",\"path\":\"%s/ctrl.txt\"}", root), 0);
        lines = json_object_get(call.result, "lines");
        /* ESC becomes '?', the CR of CRLF is dropped. */
        assert_string_equal(json_string_value(json_array_get(lines, 0)), "a?[31mred");
        assert_string_equal(json_string_value(json_array_get(lines, 1)), "next");
        assert_null(strchr(call.text, '\x1b'));
        call_done(&call);
}

static size_t lines_bytes(json_t *lines) {
        size_t i, total = 0;
        json_t *l;

        json_array_foreach(lines, i, l)
                total += json_string_length(l) + 1;
        return total;
}

static void test_read_caps(void **state) {
        ToolCall call;
        json_t *lines;

        /* 10000 lines of a 2 MB file do not fit in 64 KiB of output. */
        assert_int_equal(run(&call, "{\"action\":\"read\",\"path\":\"%s/big.log\",\"lines\":10000}", root), 0);
        lines = json_object_get(call.result, "lines");
        assert_true(json_array_size(lines) > 100);
        assert_true(json_array_size(lines) < 10000);
        assert_true(lines_bytes(lines) <= env.max_output_bytes);
        assert_true(strlen(call.text) <= env.max_output_bytes);
        assert_true(json_is_true(json_object_get(call.result, "truncated")));
        assert_int_equal(int_of(call.result, "next_offset"), (json_int_t) json_array_size(lines));
        call_done(&call);

        /* Deep offsets are honoured. */
        assert_int_equal(run(&call, "{\"action\":\"read\",\"path\":\"%s/big.log\",\"offset\":150000,\"lines\":2}", root),
                         0);
        lines = json_object_get(call.result, "lines");
        assert_string_equal(json_string_value(json_array_get(lines, 0)), "line 150000");
        assert_string_equal(json_string_value(json_array_get(lines, 1)), "line 150001");
        call_done(&call);

        /* A 100 KiB line is clipped, and the next line is found again. */
        env.max_output_bytes = 1024 * 1024;
        assert_int_equal(run(&call, "{\"action\":\"read\",\"path\":\"%s/longline.txt\"}", root), 0);
        lines = json_object_get(call.result, "lines");
        assert_int_equal(json_array_size(lines), 3);
        assert_int_equal(json_string_length(json_array_get(lines, 1)), 65536);
        assert_string_equal(json_string_value(json_array_get(lines, 2)), "after");
        assert_true(json_is_true(json_object_get(call.result, "truncated")));
        call_done(&call);
        env.max_output_bytes = 64 * 1024;
}

/* tail ------------------------------------------------------------------------ */

static void test_tail(void **state) {
        ToolCall call;
        json_t *lines;
        char want[32];

        assert_int_equal(run(&call, "{\"action\":\"tail\",\"path\":\"%s/big.log\",\"lines\":5}", root), 0);
        lines = json_object_get(call.result, "lines");
        assert_int_equal(json_array_size(lines), 5);
        for (int i = 0; i < 5; i++) {
                snprintf(want, sizeof want, "line %d", BIG_LINES - 5 + i);
                assert_string_equal(json_string_value(json_array_get(lines, (size_t) i)), want);
        }
        assert_false(json_is_true(json_object_get(call.result, "truncated")));
        call_done(&call);

        /* More than fits: the newest lines, capped, flagged. */
        assert_int_equal(run(&call, "{\"action\":\"tail\",\"path\":\"%s/big.log\",\"lines\":10000}", root), 0);
        lines = json_object_get(call.result, "lines");
        assert_true(json_array_size(lines) > 100 && json_array_size(lines) < 10000);
        assert_true(lines_bytes(lines) <= env.max_output_bytes);
        snprintf(want, sizeof want, "line %d", BIG_LINES - 1);
        assert_string_equal(json_string_value(json_array_get(lines, json_array_size(lines) - 1)), want);
        assert_true(json_is_true(json_object_get(call.result, "truncated")));
        call_done(&call);

        /* A short file, without a final newline; all of it. */
        assert_int_equal(run(&call, "{\"action\":\"tail\",\"path\":\"%s/noeol.txt\",\"lines\":10}", root), 0);
        lines = json_object_get(call.result, "lines");
        assert_int_equal(json_array_size(lines), 2);
        assert_string_equal(json_string_value(json_array_get(lines, 0)), "one");
        assert_string_equal(json_string_value(json_array_get(lines, 1)), "two");
        assert_false(json_is_true(json_object_get(call.result, "truncated")));
        call_done(&call);
        assert_int_equal(run(&call, "{\"action\":\"tail\",\"path\":\"%s/hello.txt\",\"lines\":2}", root), 0);
        lines = json_object_get(call.result, "lines");
        assert_int_equal(json_array_size(lines), 2);
        assert_string_equal(json_string_value(json_array_get(lines, 0)), "line2");
        call_done(&call);
        assert_int_equal(run(&call, "{\"action\":\"tail\",\"path\":\"%s/empty.txt\"}", root), 0);
        assert_int_equal(int_of(call.result, "line_count"), 0);
        call_done(&call);
}

/* A root that is a file allows exactly that file; /proc reports size 0. */
static void test_file_root_proc(void **state) {
        ToolCall call;
        const char *l;

        assert_int_equal(run(&call, "{\"action\":\"read\",\"path\":\"/proc/loadavg\"}"), 0);
        assert_int_equal(int_of(call.result, "line_count"), 1);
        l = json_string_value(json_array_get(json_object_get(call.result, "lines"), 0));
        assert_non_null(strchr(l, '/'));        /* "0.00 0.01 0.05 1/123 456" */
        call_done(&call);
        assert_int_equal(run(&call, "{\"action\":\"tail\",\"path\":\"/proc/loadavg\",\"lines\":1}"), 0);
        assert_int_equal(int_of(call.result, "line_count"), 1);
        call_done(&call);
        assert_int_equal(run(&call, "{\"action\":\"info\",\"path\":\"/proc/loadavg\"}"), 0);
        call_done(&call);

        expect_error("is a file", "{\"action\":\"read\",\"path\":\"/proc/loadavg/x\"}");
        expect_error("not beneath an allowed root", "{\"action\":\"read\",\"path\":\"/proc/uptime\"}");
        expect_error("not beneath an allowed root", "{\"action\":\"list\",\"path\":\"/proc\"}");
}

/* list ------------------------------------------------------------------------ */

static void test_list(void **state) {
        ToolCall call;
        json_t *entries, *e;
        const char *prev = "";
        size_t i;

        assert_int_equal(run(&call, "{\"action\":\"list\",\"path\":\"%s\",\"lines\":1000}", root), 0);
        entries = json_object_get(call.result, "entries");
        json_array_foreach(entries, i, e) {
                assert_true(strcmp(prev, str_of(e, "name")) < 0);
                prev = str_of(e, "name");
        }
        assert_string_equal(str_of(entry_named(entries, "hello.txt"), "type"), "file");
        assert_int_equal(int_of(entry_named(entries, "hello.txt"), "size"), 18);
        assert_string_equal(str_of(entry_named(entries, "hello.txt"), "mode"), "0644");
        assert_string_equal(str_of(entry_named(entries, "sub"), "type"), "directory");
        assert_string_equal(str_of(entry_named(entries, "escape"), "type"), "symlink");
        assert_string_equal(str_of(entry_named(entries, "fifo"), "type"), "fifo");
        assert_true(json_is_true(json_object_get(entry_named(entries, "secret.key"), "denied")));
        assert_false(json_is_true(json_object_get(entry_named(entries, "hello.txt"), "denied")));
        assert_int_equal(int_of(call.result, "total_entries"), json_array_size(entries));
        assert_false(json_is_true(json_object_get(call.result, "truncated")));
        assert_non_null(strstr(call.text, "hello.txt"));
        call_done(&call);

        /* Glob filter. */
        assert_int_equal(run(&call, "{\"action\":\"list\",\"path\":\"%s\",\"pattern\":\"*.txt\"}", root), 0);
        entries = json_object_get(call.result, "entries");
        json_array_foreach(entries, i, e)
                assert_non_null(strstr(str_of(e, "name"), ".txt"));
        assert_non_null(entry_named(entries, "hello.txt"));
        assert_null(entry_named(entries, "big.log"));
        call_done(&call);

        /* Paging: 2 entries from the second; the rest is flagged. */
        assert_int_equal(run(&call, "{\"action\":\"list\",\"path\":\"%s\",\"lines\":2,\"offset\":1}", root), 0);
        assert_int_equal(json_array_size(json_object_get(call.result, "entries")), 2);
        assert_true(json_is_true(json_object_get(call.result, "truncated")));
        assert_true(int_of(call.result, "total_entries") > 3);
        call_done(&call);
}

static size_t list_count(const char *pattern) {
        ToolCall call;
        size_t n;

        assert_int_equal(run(&call, "{\"action\":\"list\",\"path\":\"%s\",\"pattern\":\"%s\",\"lines\":1000}",
                             root, pattern),
                         0);
        n = json_array_size(json_object_get(call.result, "entries"));
        call_done(&call);
        return n;
}

/* Globs from the client: fnmatch-like syntax, linear-time matching. */
static void test_list_globs(void **state) {
        char name[256];
        struct timespec a, b;

        memset(name, 'a', 200);
        memcpy(name + 200, ".txt", 5);
        write_file(name, "", 0);

        assert_int_equal(list_count("hello.???"), 1);
        assert_int_equal(list_count("[hb]ello.txt"), 1);
        assert_int_equal(list_count("[a-c]*"), 4);      /* aaa...txt, big.log, bin.dat, ctrl.txt */
        assert_int_equal(list_count("[!a-z]*"), 0);
        assert_int_equal(list_count("*.t[x]t"), 7);
        assert_int_equal(list_count("\\\\*"), 0);               /* a literal '*' */
        assert_int_equal(list_count("[unterminated"), 0);

        /* Exponential for a naive recursive matcher; instant here. */
        clock_gettime(CLOCK_MONOTONIC, &a);
        assert_int_equal(list_count("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b"), 0);
        clock_gettime(CLOCK_MONOTONIC, &b);
        assert_true(b.tv_sec - a.tv_sec < 2);

        {
                char path[512];

                snprintf(path, sizeof path, "%s/%s", root, name);
                assert_int_equal(unlink(path), 0);
        }
}

/* search ---------------------------------------------------------------------- */

static void test_search(void **state) {
        ToolCall call;
        json_t *m, *files, *f;
        char want[256];
        size_t i;
        bool deep = false, inner = false;

        assert_int_equal(run(&call, "{\"action\":\"search\",\"path\":\"%s/hello.txt\",\"pattern\":\"ne2\"}", root), 0);
        assert_string_equal(str_of(call.result, "search_mode"), "content");
        m = json_object_get(call.result, "matches");
        assert_int_equal(json_array_size(m), 1);
        assert_int_equal(int_of(json_array_get(m, 0), "line_number"), 2);
        assert_string_equal(str_of(json_array_get(m, 0), "text"), "line2");
        assert_non_null(strstr(call.text, "2:line2"));
        call_done(&call);

        /* Regex and glob characters are plain text here. */
        assert_int_equal(run(&call, "{\"action\":\"search\",\"path\":\"%s/hello.txt\",\"pattern\":\"l.ne\"}", root),
                         0);
        assert_int_equal(int_of(call.result, "match_count"), 0);
        call_done(&call);

        /* At most `lines` matches. */
        assert_int_equal(
                run(&call, "{\"action\":\"search\",\"path\":\"%s/big.log\",\"pattern\":\"line 1999\",\"lines\":3}", root),
                0);
        assert_int_equal(int_of(call.result, "match_count"), 3);
        assert_true(json_is_true(json_object_get(call.result, "truncated")));
        call_done(&call);

        expect_error("needs the text to find", "{\"action\":\"search\",\"path\":\"%s/hello.txt\"}", root);

        /* Directories: names by glob, recursively, no symlinks followed. */
        assert_int_equal(run(&call, "{\"action\":\"search\",\"path\":\"%s\",\"pattern\":\"*.log\"}", root), 0);
        assert_string_equal(str_of(call.result, "search_mode"), "name");
        files = json_object_get(call.result, "files");
        json_array_foreach(files, i, f) {
                snprintf(want, sizeof want, "%s/sub/deep.log", root);
                if (streq(str_of(f, "path"), want))
                        deep = true;
                snprintf(want, sizeof want, "%s/sub/inner/x.log", root);
                if (streq(str_of(f, "path"), want))
                        inner = true;
                assert_null(strstr(str_of(f, "path"), "/escape/"));
        }
        assert_true(deep && inner);
        assert_int_equal(json_array_size(files), 3);
        call_done(&call);

        assert_int_equal(run(&call, "{\"action\":\"search\",\"path\":\"%s\",\"pattern\":\"passwd\"}", root), 0);
        assert_int_equal(int_of(call.result, "match_count"), 0);        /* not through escape -> outside */
        call_done(&call);

        /* Denied trees are not entered; denied names are flagged. */
        assert_int_equal(run(&call, "{\"action\":\"search\",\"path\":\"%s\",\"pattern\":\"*\",\"lines\":1000}", root),
                         0);
        json_array_foreach(json_object_get(call.result, "files"), i, f)
                if (strstr(str_of(f, "path"), "secret.key") || strstr(str_of(f, "path"), "notes.txt"))
                        assert_true(json_is_true(json_object_get(f, "denied")));
        call_done(&call);
}

/* Refusals -------------------------------------------------------------------- */

static void test_refusals(void **state) {
        expect_error("absolute", "{\"action\":\"read\",\"path\":\"hello.txt\"}");
        expect_error("not beneath an allowed root", "{\"action\":\"read\",\"path\":\"/etc/passwd\"}");
        expect_error("not beneath an allowed root", "{\"action\":\"read\",\"path\":\"%sx/hello.txt\"}", root);
        expect_error("path escapes the allowed root", "{\"action\":\"read\",\"path\":\"%s/../etc/passwd\"}", root);
        expect_error("path escapes the allowed root", "{\"action\":\"list\",\"path\":\"%s/sub/../..\"}", root);
        expect_error("symlinks are not followed", "{\"action\":\"read\",\"path\":\"%s/escape/passwd\"}", root);
        expect_error("symlinks are not followed", "{\"action\":\"list\",\"path\":\"%s/escape\"}", root);
        expect_error("symlinks are not followed", "{\"action\":\"read\",\"path\":\"%s/passwd_link\"}", root);
        expect_error("symlinks are not followed", "{\"action\":\"tail\",\"path\":\"%s/passwd_link\"}", root);
        expect_error("symlinks are not followed", "{\"action\":\"info\",\"path\":\"%s/escape/passwd\"}", root);
        expect_error("denied", "{\"action\":\"read\",\"path\":\"%s/secret.key\"}", root);
        expect_error("denied", "{\"action\":\"info\",\"path\":\"%s/sub/../secret.key\"}", root);
        expect_error("denied", "{\"action\":\"read\",\"path\":\"%s/private/notes.txt\"}", root);
        expect_error("denied", "{\"action\":\"read\",\"path\":\"%s/private/../private/notes.txt\"}", root);
        expect_error("binary file", "{\"action\":\"read\",\"path\":\"%s/bin.dat\"}", root);
        expect_error("binary file", "{\"action\":\"tail\",\"path\":\"%s/bin.dat\"}", root);
        expect_error("binary file", "{\"action\":\"read\",\"path\":\"%s/latin1.txt\"}", root);
        expect_error("binary file", "{\"action\":\"search\",\"path\":\"%s/bin.dat\",\"pattern\":\"a\"}", root);
        expect_error("is a directory", "{\"action\":\"read\",\"path\":\"%s/sub\"}", root);
        expect_error("not a directory", "{\"action\":\"list\",\"path\":\"%s/hello.txt\"}", root);
        expect_error("does not exist", "{\"action\":\"read\",\"path\":\"%s/nope.txt\"}", root);
        expect_error("not a directory", "{\"action\":\"read\",\"path\":\"%s/hello.txt/x\"}", root);

        /* U+0000 inside the path (the JSON layer may allow it). */
        {
                char p[128];
                size_t n = (size_t) snprintf(p, sizeof p, "%s/hello.txt", root);
                _cleanup_json_ json_t *args = json_object();
                ToolCall call;

                memcpy(p + n, "\0.key", 6);
                assert_int_equal(json_object_set_new(args, "action", json_string("read")), 0);
                assert_int_equal(json_object_set_new(args, "path", json_stringn(p, n + 5)), 0);
                call = (ToolCall) { .tool = tool_find("file_operations"), .args = args, .env = &env };
                assert_int_equal(tool_run(&call), -EINVAL);
                assert_non_null(strstr(call.error, "NUL"));
        }
}

/* A FIFO is never opened for reading, so nothing blocks. */
static void test_fifo_does_not_hang(void **state) {
        static const char *const actions[] = { "read", "tail", "search" };

        alarm(20);
        for (size_t i = 0; i < ELEMENTSOF(actions); i++)
                expect_error("not a regular file", "{\"action\":\"%s\",\"path\":\"%s/fifo\",\"pattern\":\"x\"}",
                             actions[i], root);
        expect_error("not a directory", "{\"action\":\"list\",\"path\":\"%s/fifo\"}", root);
        {
                char *dev[] = { (char *) "/dev", NULL };
                char *const *saved = env.allowed_paths;

                env.allowed_paths = dev;
                expect_error("not a regular file", "{\"action\":\"read\",\"path\":\"/dev/null\"}");
                expect_error("not a regular file", "{\"action\":\"tail\",\"path\":\"/dev/zero\"}");
                env.allowed_paths = saved;
        }
        alarm(0);
}

/* 1 GiB of holes: refused as binary after one 8 KiB probe, not read. */
static void test_sparse_file(void **state) {
        struct timespec a, b;

        clock_gettime(CLOCK_MONOTONIC, &a);
        expect_error("binary file", "{\"action\":\"read\",\"path\":\"%s/sparse.img\"}", root);
        expect_error("binary file", "{\"action\":\"tail\",\"path\":\"%s/sparse.img\"}", root);
        expect_error("binary file", "{\"action\":\"search\",\"path\":\"%s/sparse.img\",\"pattern\":\"x\"}", root);
        clock_gettime(CLOCK_MONOTONIC, &b);
        assert_true(b.tv_sec - a.tv_sec < 5);
}

/* A directory in the path is swapped with a symlink to a directory outside
 * the root while reads run: the kernel refuses the link every time, so the
 * outside file is never served, whichever way each race goes. The cleanup
 * only ever unlinks through a directory that lstat() shows is real. */
static atomic_bool racing;

static void *swapper(void *arg) {
        char a[256], b[256];

        snprintf(a, sizeof a, "%s/race", root);
        snprintf(b, sizeof b, "%s/race_link", root);
        while (atomic_load(&racing))
                (void) renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
        return NULL;
}

static void race_cleanup(void) {
        static const char *const names[] = { "race", "race_link" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                char path[256];
                struct stat st;
                int dfd;

                snprintf(path, sizeof path, "%s/%s", root, names[i]);
                if (lstat(path, &st) < 0)
                        continue;
                if (S_ISLNK(st.st_mode)) {
                        assert_int_equal(unlink(path), 0);      /* the link itself */
                        continue;
                }
                /* A real directory: remove its file relative to an fd that
                 * O_NOFOLLOW guarantees is that directory. */
                dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                assert_true(dfd >= 0);
                (void) unlinkat(dfd, "passwd", 0);
                close(dfd);
                assert_int_equal(rmdir(path), 0);
        }
}

static void test_symlink_swap_race(void **state) {
        char path[256];
        pthread_t th;
        int ok = 0, refused = 0;

        snprintf(path, sizeof path, "%s/race", root);
        assert_int_equal(mkdir(path, 0755), 0);
        write_file("race/passwd", "fake\n", 5);
        snprintf(path, sizeof path, "%s/race_link", root);
        assert_int_equal(symlink(outside, path), 0);

        atomic_store(&racing, true);
        assert_int_equal(pthread_create(&th, NULL, swapper, NULL), 0);
        for (int i = 0; i < 2000; i++) {
                ToolCall call;

                if (run(&call, "{\"action\":\"read\",\"path\":\"%s/race/passwd\"}", root) >= 0) {
                        assert_string_equal(json_string_value(json_array_get(json_object_get(call.result, "lines"), 0)),
                                            "fake");
                        ok++;
                } else {
                        if (!strstr(call.error, "symlinks are not followed") && !strstr(call.error, "does not exist") &&
                            !strstr(call.error, "changed while"))
                                fail_msg("unexpected error: %s", call.error);
                        refused++;
                }
                call_done(&call);
        }
        atomic_store(&racing, false);
        assert_int_equal(pthread_join(th, NULL), 0);
        race_cleanup();
        assert_true(ok + refused == 2000);
}

static void test_no_roots(void **state) {
        char *none[] = { NULL };
        char *const *saved = env.allowed_paths;

        env.allowed_paths = none;
        expect_error("no filesystem.allowed_paths", "{\"action\":\"read\",\"path\":\"%s/hello.txt\"}", root);
        env.allowed_paths = NULL;
        expect_error("no filesystem.allowed_paths", "{\"action\":\"list\",\"path\":\"/\"}");
        env.allowed_paths = saved;
}

/* A root given with a trailing slash or "." still works; "/" as a root
 * allows everything not denied. */
static void test_root_spelling(void **state) {
        char spelled[128];
        char *alt[] = { spelled, NULL };
        char *slash[] = { (char *) "/", NULL };
        char *const *saved = env.allowed_paths;
        ToolCall call;

        snprintf(spelled, sizeof spelled, "%s/./", root);
        env.allowed_paths = alt;
        assert_int_equal(run(&call, "{\"action\":\"read\",\"path\":\"%s/hello.txt\"}", root), 0);
        call_done(&call);
        env.allowed_paths = slash;
        assert_int_equal(run(&call, "{\"action\":\"info\",\"path\":\"/etc/../etc/passwd\"}"), 0);
        assert_string_equal(str_of(call.result, "path"), "/etc/passwd");
        call_done(&call);
        expect_error("denied", "{\"action\":\"info\",\"path\":\"/etc/shadow\"}");
        expect_error("denied", "{\"action\":\"info\",\"path\":\"/etc/./shadow\"}");
        expect_error("path escapes", "{\"action\":\"info\",\"path\":\"/..\"}");
        env.allowed_paths = saved;
}

static void test_bad_arguments(void **state) {
        static const char *const bad[] = {
                "{\"action\":\"write\",\"path\":\"/tmp/x\"}",
                "{\"action\":\"read\"}",
                "{\"path\":\"/tmp/x\"}",
                "{\"action\":\"read\",\"path\":\"/tmp/x\",\"lines\":0}",
                "{\"action\":\"read\",\"path\":\"/tmp/x\",\"lines\":10001}",
                "{\"action\":\"read\",\"path\":\"/tmp/x\",\"offset\":-1}",
                "{\"action\":\"read\",\"path\":\"\"}",
                "{\"action\":\"read\",\"path\":\"/tmp/x\",\"pattern\":\"\"}",
                "{\"action\":\"read\",\"path\":\"/tmp/x\",\"mode\":\"w\"}",
        };
        const Tool *t = tool_find("file_operations");
        char err[512];

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_json_ json_t *args = json_loads(bad[i], 0, NULL);

                assert_non_null(args);
                if (tool_validate_args(t, args, err, sizeof err) != -EINVAL)
                        fail_msg("accepted %s", bad[i]);
        }
}

static void test_cancelled(void **state) {
        _cleanup_json_ json_t *args = json_pack("{s:s, s:s}", "action", "read", "path", "/proc/loadavg");
        atomic_bool cancelled = true;
        ToolCall call = { .tool = tool_find("file_operations"), .args = args, .env = &env, .cancelled = &cancelled };

        assert_int_equal(tool_run(&call), -ECANCELED);
        assert_null(call.result);
        assert_string_equal(call.error, "cancelled");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_info),
                cmocka_unit_test(test_read),
                cmocka_unit_test(test_read_sanitized),
                cmocka_unit_test(test_read_caps),
                cmocka_unit_test(test_tail),
                cmocka_unit_test(test_file_root_proc),
                cmocka_unit_test(test_list),
                cmocka_unit_test(test_list_globs),
                cmocka_unit_test(test_search),
                cmocka_unit_test(test_refusals),
                cmocka_unit_test(test_fifo_does_not_hang),
                cmocka_unit_test(test_sparse_file),
                cmocka_unit_test(test_symlink_swap_race),
                cmocka_unit_test(test_no_roots),
                cmocka_unit_test(test_root_spelling),
                cmocka_unit_test(test_bad_arguments),
                cmocka_unit_test(test_cancelled),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
