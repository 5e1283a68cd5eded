/* SPDX-License-Identifier: MIT */

/* tools/packages.c and tools/apt.c: the apt output parsers on captured
 * output, then the four package tools against the REAL apt and dpkg with the
 * hermetic repository of tests/env/aptrepo.sh (no mocks): install 1.0,
 * publish 1.1, see the updates (one of them security), a held dpkg lock,
 * upgrade with a process mapping the replaced library, and the plan the
 * approval code will use.
 *
 * Before any upgrade runs, the test proves that apt sees only the test
 * repository (apt-config and apt-cache policy), so the machine's real
 * packages cannot be touched. The test packages are purged from the real
 * dpkg database at the end, also after failures. Runs need root; without it
 * (or without apt-get) only the parser tests run. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "tools/apt.h"
#include "tools/packagekit.h"
#include "tools/runner.h"
#include "tools/tool.h"

#define TEST_PKGS "sm-test-hello", "sm-test-lib", "sm-test-sec", "sm-test-conflict"
#define LIB_PATH "/usr/lib/sm-test/libsmtest.so.1"

static char repo_dir[PATH_MAX];
static char apt_conf[PATH_MAX + 16];
static char script[PATH_MAX];
static bool hermetic_ok;         /* apt sees only the test repository */
static bool pk_hermetic_ok;      /* PackageKit offers only the test packages */

static void purge_test_packages(void);
static bool reboot_file_existed;
static int n_progress;
static double last_progress;

static ToolEnv env = {
        .max_output_bytes = 1024 * 1024,
        .timeout_sec = 60,
        .long_timeout_sec = 120,
        .packages_backend = "apt",
};

/* Helpers -------------------------------------------------------------------------------- */

static void progress_cb(void *userdata, double progress, double total, const char *message) {
        /* MCP wants progress to increase; the tool promises it. */
        if (progress < last_progress)
                fail_msg("progress went back from %f to %f", last_progress, progress);
        last_progress = progress;
        assert_true(total == 100.0);
        assert_non_null(message);
        n_progress++;
}

/* Runs a program, returns its exit status; output into *ret_out if asked. */
static int run_prog(char *const argv[], int timeout_ms, char **ret_out) {
        RunnerResult rr = {};
        char *extra[] = { apt_conf, NULL };
        RunnerOptions o = { .timeout_ms = timeout_ms, .env_extra = apt_conf[0] ? extra : NULL };
        int status;

        if (runner_run(argv, &o, &rr) < 0)
                return -1;
        status = rr.exit_status;
        if (status != 0)
                fprintf(stderr, "# %s exited %d: %s%s\n", argv[0], status, rr.err, rr.out);
        if (ret_out)
                *ret_out = TAKE_PTR(rr.out);
        runner_result_done(&rr);
        return status;
}

/* Runs a tool like the server does (validated args, output checked against
 * the schema). Retries while someone else on the machine holds the dpkg lock
 * (other test suites install packages too), unless expect_busy. */
static int call_tool(const char *name, const char *args_json, ToolCall *call, bool expect_busy) {
        const Tool *t = tool_find(name);
        char err[512];
        int r = 0;

        assert_non_null(t);
        for (int attempt = 0; attempt < 120; attempt++) {
                _cleanup_json_ json_t *args = args_json ? json_loads(args_json, 0, NULL) : json_object();

                assert_non_null(args);
                if (tool_validate_args(t, args, err, sizeof err) < 0)
                        fail_msg("%s %s: %s", name, args_json ? args_json : "", err);
                *call = (ToolCall) { .tool = t, .args = args, .env = &env, .progress = progress_cb };
                last_progress = 0;
                r = tool_run(call);
                call->args = NULL;
                if (r != -EBUSY || expect_busy)
                        break;
                fprintf(stderr, "# %s: dpkg lock held by someone else, retrying\n", name);
                sleep(1);
        }
        return r;
}

static void call_done(ToolCall *call) {
        /* SM_TEST_VERBOSE=1 shows what an agent would read. */
        if (getenv("SM_TEST_VERBOSE") && call->text)
                fprintf(stderr, "# --- %s\n%s", call->tool ? call->tool->name : "?", call->text);
        json_decref(call->result);
        free(call->text);
        *call = (ToolCall) {};
}

static json_int_t int_of(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);

        if (!json_is_integer(v))
                fail_msg("%s is not an integer", key);
        return json_integer_value(v);
}

static json_t *find_by_name(json_t *array, const char *name) {
        size_t i;
        json_t *v;

        json_array_foreach(array, i, v)
                if (streq_ptr(json_string_value(json_object_get(v, "name")), name))
                        return v;
        return NULL;
}

static char *dpkg_version(const char *pkg) {
        char *argv[] = { (char *) "dpkg-query", (char *) "-W", (char *) "-f=${Status}|${Version}", (char *) pkg,
                         NULL };
        char *out = NULL;

        if (run_prog(argv, 10000, &out) != 0) {
                free(out);
                return NULL;
        }
        if (strncmp(out, "install ok installed|", 21) != 0) {
                free(out);
                return NULL;
        }
        memmove(out, out + 21, strlen(out + 21) + 1);
        return out;
}

/* Parser tests on captured output ------------------------------------------------------- */

static const char sim_upgrade[] =
        "NOTE: This is only a simulation!\n"
        "      apt-get needs root privileges for real execution.\n"
        "Reading package lists...\n"
        "Building dependency tree...\n"
        "Reading state information...\n"
        "Calculating upgrade...\n"
        "The following packages have been kept back:\n"
        "  linux-image-amd64 firmware-misc\n"
        "  other-kept\n"
        "The following packages will be upgraded:\n"
        "  bash libc6\n"
        "2 upgraded, 0 newly installed, 0 to remove and 3 not upgraded.\n"
        "Inst bash [5.2.15-2+b8] (5.2.15-2+b13 Debian:12.15/oldstable [amd64])\n"
        "Inst libc6 [2.36-9+deb12u9] (2.36-9+deb12u13 Debian:12.15/oldstable, "
        "Debian-Security:12/oldstable-security [amd64]) []\n"
        "Inst libfoo:i386 (1.0 Ubuntu:22.04/jammy-security [i386])\n"
        "Inst same [1.0] (1.0 localhost [all])\n"
        "Remv oldpkg [0.9]\n"
        "Purg gone [1:2.0-1]\n"
        "Conf bash (5.2.15-2+b13 Debian:12.15/oldstable [amd64])\n"
        "Inst broken\n"
        "Inst (1.0)\n"
        "Inst x [unterminated\n";

static void test_plan_parse(void **state) {
        _cleanup_(apt_plan_done) AptPlan p = {};
        _cleanup_json_ json_t *j = NULL;

        assert_int_equal(apt_plan_parse(sim_upgrade, strlen(sim_upgrade), &p), 0);
        assert_int_equal(p.n_items, 6);
        assert_false(p.truncated);

        assert_int_equal(p.items[0].action, APT_ACTION_UPGRADE);
        assert_string_equal(p.items[0].name, "bash");
        assert_string_equal(p.items[0].old_version, "5.2.15-2+b8");
        assert_string_equal(p.items[0].new_version, "5.2.15-2+b13");
        assert_string_equal(p.items[0].origin, "Debian:12.15/oldstable");
        assert_string_equal(p.items[0].arch, "amd64");
        assert_false(p.items[0].security);

        assert_string_equal(p.items[1].name, "libc6");
        assert_string_equal(p.items[1].origin, "Debian:12.15/oldstable, Debian-Security:12/oldstable-security");
        assert_true(p.items[1].security);

        assert_int_equal(p.items[2].action, APT_ACTION_INSTALL);
        assert_string_equal(p.items[2].name, "libfoo:i386");
        assert_string_equal(p.items[2].old_version, "");
        assert_string_equal(p.items[2].arch, "i386");
        assert_true(p.items[2].security);

        assert_int_equal(p.items[3].action, APT_ACTION_REINSTALL);
        assert_string_equal(p.items[3].origin, "localhost");

        assert_int_equal(p.items[4].action, APT_ACTION_REMOVE);
        assert_string_equal(p.items[4].name, "oldpkg");
        assert_string_equal(p.items[4].old_version, "0.9");
        assert_string_equal(p.items[4].new_version, "");
        assert_int_equal(p.items[5].action, APT_ACTION_PURGE);
        assert_string_equal(p.items[5].old_version, "1:2.0-1");

        assert_int_equal(p.n_kept_back, 3);
        assert_string_equal(p.kept_back[0], "linux-image-amd64");
        assert_string_equal(p.kept_back[2], "other-kept");

        j = apt_plan_to_json(&p);
        assert_non_null(j);
        assert_int_equal(int_of(j, "upgrades"), 3);
        assert_int_equal(int_of(j, "installs"), 1);
        assert_int_equal(int_of(j, "removals"), 2);
        assert_int_equal(int_of(j, "security_updates"), 2);
        assert_true(json_is_null(json_object_get(json_array_get(json_object_get(j, "actions"), 4), "candidate")));
}

static void test_plan_parse_lines(void **state) {
        static const char *const bad[] = {
                "Inst ", "Inst [1.0] (2.0)", "Inst a (", "Inst a [] (1 x)", "Inst a (1 x", "Remv ", "Inst a [1",
        };
        static const char *const other[] = { "", "Conf a (1 x [all])", "Install a", "inst a (1)", "Reading..." };
        AptPlanItem it;
        char control[] = "Inst a\x01" "b (1\x7f x [all])";

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (apt_plan_parse_line(bad[i], strlen(bad[i]), &it) != -EINVAL)
                        fail_msg("accepted: %s", bad[i]);
        for (size_t i = 0; i < ELEMENTSOF(other); i++)
                assert_int_equal(apt_plan_parse_line(other[i], strlen(other[i]), &it), 0);

        /* Control bytes never get through. */
        assert_int_equal(apt_plan_parse_line(control, strlen(control), &it), 1);
        assert_string_equal(it.name, "a?b");
        assert_string_equal(it.new_version, "1?");

        /* Not NUL-terminated: only len bytes are read. */
        assert_int_equal(apt_plan_parse_line("Inst abc (1.0 o [all])XXXX", 22, &it), 1);
        assert_string_equal(it.arch, "all");

        /* No origin at all. */
        assert_int_equal(apt_plan_parse_line("Inst a (1.0)", 12, &it), 1);
        assert_string_equal(it.new_version, "1.0");
        assert_string_equal(it.origin, "");

        assert_true(apt_origin_is_security("Debian-Security:12/stable-security"));
        assert_true(apt_origin_is_security("SMTest-Security:1.0/smtest-security"));
        assert_false(apt_origin_is_security("Debian:12.5/stable"));
        assert_false(apt_origin_is_security(NULL));
}

static void test_installed_parse(void **state) {
        static const char out[] =
                "bash\t5.2.15-2+b8\tamd64\t7163\tinstall ok installed\n"
                "zzz\t1.0\tall\t\tdeinstall ok config-files\n"
                "libc6\t2.36-9\ti386\t12345\tinstall ok installed\n"
                "libc6\t2.36-9\tamd64\tx12\thold ok installed\n"
                "half\t1\tall\t1\tinstall reinstreq half-configured\n"
                "badline without tabs\n"
                "\n"
                "\tnoname\tall\t1\tinstall ok installed\n";
        _cleanup_(apt_installed_done) AptInstalledList l = {};
        const AptInstalled *i;

        assert_int_equal(apt_installed_parse(out, strlen(out), &l), 0);
        assert_int_equal(l.n_items, 4);
        assert_string_equal(l.items[0].name, "bash");
        assert_string_equal(l.items[1].name, "half");
        assert_false(l.items[1].installed);
        assert_true(l.items[0].installed);
        assert_true(l.items[0].has_size);
        assert_int_equal(l.items[0].installed_size_kib, 7163);

        i = apt_installed_find(&l, "libc6:amd64");
        assert_non_null(i);
        assert_false(i->has_size);
        assert_string_equal(i->status, "hold ok installed");
        i = apt_installed_find(&l, "libc6:i386");
        assert_non_null(i);
        assert_int_equal(i->installed_size_kib, 12345);
        assert_non_null(apt_installed_find(&l, "libc6"));
        assert_null(apt_installed_find(&l, "zzz"));
        assert_null(apt_installed_find(&l, "libc6:arm64"));
}

static void test_status_lines(void **state) {
        char msg[64];
        double pct = -1;

        assert_int_equal(apt_status_parse_line("pmstatus:sm-test-hello:50.0000:Unpacking sm-test-hello (amd64)",
                                               62, &pct, msg, sizeof msg),
                         1);
        assert_true(pct == 60.0);
        assert_string_equal(msg, "Unpacking sm-test-hello (amd64)");
        assert_int_equal(apt_status_parse_line("dlstatus:1:50:Retrieving file 1 of 3", 36, &pct, msg, sizeof msg), 1);
        assert_true(pct == 10.0);
        assert_int_equal(apt_status_parse_line("pmstatus:x:1e999:m", 18, &pct, msg, sizeof msg), 0);
        assert_int_equal(apt_status_parse_line("pmstatus:x:-1:m", 15, &pct, msg, sizeof msg), 0);
        assert_int_equal(apt_status_parse_line("pmstatus:x::m", 13, &pct, msg, sizeof msg), 0);
        assert_int_equal(apt_status_parse_line("pmstatus:nocolon", 16, &pct, msg, sizeof msg), 0);
        assert_int_equal(apt_status_parse_line("Unpacking x (1.0) ...", 21, &pct, msg, sizeof msg), 0);
}

static void test_errors_and_lock(void **state) {
        char buf[64];

        assert_true(apt_lock_error("E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 1 "
                                   "(apt-get)\nE: Unable to acquire the dpkg frontend lock "
                                   "(/var/lib/dpkg/lock-frontend), is another process using it?\n"));
        assert_true(apt_lock_error("E: Unable to lock directory /var/lib/apt/lists/\n"));
        assert_false(apt_lock_error("E: Unable to locate package foo\n"));
        assert_false(apt_lock_error(NULL));

        apt_first_error("W: warn\nE: the error\nE: second\n", buf, sizeof buf);
        assert_string_equal(buf, "the error");
        apt_first_error("\nonly a warning\n", buf, sizeof buf);
        assert_string_equal(buf, "only a warning");
        apt_first_error("", buf, sizeof buf);
        assert_string_equal(buf, "");
        apt_first_error("E: 0123456789012345678901234567890123456789012345678901234567890123456789", buf, 8);
        assert_string_equal(buf, "0123456");
}

static void test_package_spec(void **state) {
        static const char *const good[] = { "sm-test-hello", "libstdc++6", "python3.11", "g++", "0ad",
                                            "bash=5.2.15-2+b8", "foo=1:2.0~rc1-1" };
        static const char *const bad[] = { "-oAPT::x=1", "a", "Bash", "foo-", "foo bar", "foo/stable",
                                           "foo_1", "foo=", "foo=abc", "foo=1 2", "foo=1;x", "?name(x)",
                                           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "" };
        char name[65], version[APT_VERSION_MAX];
        const char *reason;

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                if (apt_package_spec_parse(good[i], name, version, &reason) < 0)
                        fail_msg("refused %s: %s", good[i], reason);
        assert_int_equal(apt_package_spec_parse("foo=1:2.0~rc1-1", name, version, &reason), 0);
        assert_string_equal(name, "foo");
        assert_string_equal(version, "1:2.0~rc1-1");
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                reason = NULL;
                if (apt_package_spec_parse(bad[i], name, version, &reason) != -EINVAL)
                        fail_msg("accepted %s", bad[i]);
                assert_non_null(reason);
        }
}

static void test_maps_and_cgroup(void **state) {
        static const char *const deleted =
                "7f1c2a000000-7f1c2a022000 r--p 00000000 08:01 1234    /usr/lib/x86_64-linux-gnu/libc.so.6 (deleted)";
        char path[256], unit[64];
        static const char cg2[] = "0::/system.slice/nginx.service\n";
        static const char cg1[] = "12:cpu,cpuacct:/system.slice/a.service\n1:name=systemd:/system.slice/ssh.service\n";
        static const char scope[] = "0::/user.slice/user-0.slice/session-3.scope/x\n";
        static const char none[] = "0::/\n";

        assert_int_equal(apt_maps_line_deleted_lib(deleted, strlen(deleted), path, sizeof path), 1);
        assert_string_equal(path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
        assert_int_equal(apt_maps_line_deleted_lib("7f-80 r--p 0 08:01 1 /lib/x.so (deleted)", 40, path, sizeof path), 1);
        assert_string_equal(path, "/lib/x.so");
        assert_int_equal(apt_maps_line_deleted_lib("7f-80 r--p 0 08:01 1 /usr/lib/x.so", 34, path, sizeof path), 0);
        assert_int_equal(apt_maps_line_deleted_lib("7f-80 rw-s 0 00:01 1 /memfd:x (deleted)", 39, path, sizeof path),
                         0);
        assert_int_equal(apt_maps_line_deleted_lib("7f-80 r--p 0 08:01 1 /tmp/x (deleted)", 37, path, sizeof path), 0);
        assert_int_equal(apt_maps_line_deleted_lib("7f-80 r--p 0 00:00 0 ", 21, path, sizeof path), 0);
        assert_int_equal(apt_maps_line_deleted_lib(deleted, strlen(deleted), path, 8), 0);

        assert_int_equal(apt_cgroup_unit(cg2, strlen(cg2), unit, sizeof unit), 1);
        assert_string_equal(unit, "nginx.service");
        assert_int_equal(apt_cgroup_unit(cg1, strlen(cg1), unit, sizeof unit), 1);
        assert_string_equal(unit, "ssh.service");
        assert_int_equal(apt_cgroup_unit(scope, strlen(scope), unit, sizeof unit), 1);
        assert_string_equal(unit, "session-3.scope");
        assert_int_equal(apt_cgroup_unit(none, strlen(none), unit, sizeof unit), 0);
}

static void test_registry_rows(void **state) {
        _cleanup_free_ char *err = NULL;
        const Tool *t;

        if (tool_table_check(tools_packages, "packages", &err) < 0)
                fail_msg("%s", err);
        t = tool_find("install_package");
        assert_non_null(t);
        assert_int_equal(t->risk, RISK_CRITICAL);
        assert_int_equal(t->scope, SCOPE_SYSTEM_ADMIN);
        assert_true(t->flags & TOOL_LONG_RUNNING);
        t = tool_find("update_system_packages");
        assert_non_null(t);
        assert_int_equal(t->risk, RISK_CRITICAL);
        assert_int_equal(tool_find("check_system_updates")->scope, SCOPE_SYSTEM_READ);
        assert_int_equal(tool_find("list_installed_packages")->risk, RISK_LOW);
}

static void test_backend_packagekit_unreachable(void **state) {
        ToolEnv pk = env;
        ToolCall call = { .tool = tool_find("list_installed_packages"), .env = &pk };
        json_t *plan = NULL;
        char err[256];

        /* No PackageKit on this bus: a clear error, not a hang. */
        assert_int_equal(setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/sm-test-bus", 1), 0);
        pk.packages_backend = "packagekit";
        assert_int_equal(tool_run(&call), -EHOSTUNREACH);
        assert_non_null(strstr(call.error, "system bus"));
        assert_int_equal(packages_plan(&pk, "update_system_packages", NULL, &plan, err, sizeof err), -EHOSTUNREACH);
        assert_null(plan);
        pk.packages_backend = "yum";
        assert_int_equal(tool_run(&call), -EOPNOTSUPP);
        assert_non_null(strstr(call.error, "unknown backend"));
        assert_int_equal(unsetenv("DBUS_SYSTEM_BUS_ADDRESS"), 0);
}

static void test_pk_id_parse(void **state) {
        PkPackageId id;

        assert_int_equal(pk_package_id_parse("sm-test-hello;1.1;all;smtest-smtest-", &id), 0);
        assert_string_equal(id.name, "sm-test-hello");
        assert_string_equal(id.version, "1.1");
        assert_string_equal(id.arch, "all");
        assert_string_equal(id.data, "smtest-smtest-");
        assert_int_equal(pk_package_id_parse("a;;;", &id), 0);
        assert_int_equal(pk_package_id_parse("a;1;all", &id), -EINVAL);
        assert_int_equal(pk_package_id_parse("a;1;all;x;y", &id), -EINVAL);
        assert_int_equal(pk_package_id_parse(";1;all;x", &id), -EINVAL);
}

/* Against the real apt and dpkg ----------------------------------------------------------- */

/* Proves that apt, with the test's APT_CONFIG, reads no source but ours:
 * only then may anything be upgraded. */
static void test_sources_are_hermetic(void **state) {
        char *dump_argv[] = { (char *) "apt-config", (char *) "dump", NULL };
        char *policy_argv[] = { (char *) "apt-cache", (char *) "policy", NULL };
        _cleanup_free_ char *dump = NULL, *policy = NULL, *want = NULL;
        int n_urls = 0;

        assert_int_equal(run_prog(dump_argv, 10000, &dump), 0);
        assert_true(asprintf(&want, "Dir::Etc::sourcelist \"%s/sources.list\";", repo_dir) > 0);
        if (!strstr(dump, want))
                fail_msg("apt-config does not use our source list: %s", want);
        free(want);
        assert_true(asprintf(&want, "Dir::Etc::sourceparts \"%s/sources.list.d\";", repo_dir) > 0);
        assert_non_null(strstr(dump, want));

        assert_int_equal(run_prog(policy_argv, 10000, &policy), 0);
        for (const char *p = policy; (p = strstr(p, "://")); p += 3) {
                n_urls++;
                if (strncmp(p, "://127.0.0.1:", 13) != 0)
                        fail_msg("apt sees a source that is not the test repository: %.80s", p - 5);
        }
        assert_true(n_urls >= 1);
        hermetic_ok = true;
}

static void test_install(void **state) {
        _cleanup_free_ char *v = NULL;
        ToolCall call;
        json_t *plan, *inst;

        n_progress = 0;
        assert_int_equal(call_tool("install_package", "{\"package_name\":\"sm-test-hello\"}", &call, false), 0);
        assert_true(json_is_true(json_object_get(call.result, "changed")));
        plan = json_object_get(call.result, "plan");
        assert_int_equal(int_of(plan, "installs"), 1);
        assert_int_equal(int_of(plan, "removals"), 0);
        inst = find_by_name(json_object_get(call.result, "installed"), "sm-test-hello");
        assert_non_null(inst);
        assert_string_equal(json_string_value(json_object_get(inst, "version")), "1.0");
        assert_true(n_progress >= 3);
        assert_non_null(call.text);
        call_done(&call);

        v = dpkg_version("sm-test-hello");
        assert_non_null(v);
        assert_string_equal(v, "1.0");

        /* Again: nothing to do, and apt-get is not run. */
        assert_int_equal(call_tool("install_package", "{\"package_name\":\"sm-test-hello\"}", &call, false), 0);
        assert_false(json_is_true(json_object_get(call.result, "changed")));
        assert_int_equal(json_array_size(json_object_get(json_object_get(call.result, "plan"), "actions")), 0);
        call_done(&call);

        /* The two others, with a version pinned. */
        assert_int_equal(call_tool("install_package", "{\"package_name\":\"sm-test-lib=1.0\"}", &call, false), 0);
        call_done(&call);
        assert_int_equal(call_tool("install_package", "{\"package_name\":\"sm-test-sec\"}", &call, false), 0);
        call_done(&call);
        free(v);
        v = dpkg_version("sm-test-sec");
        assert_non_null(v);
}

static void test_install_refusals(void **state) {
        static const char *const cases[][2] = {
                { "{\"package_name\":\"-oDebug::x=1\"}", "starts with" },
                { "{\"package_name\":\"sm-test-hello-\"}", "must not end" },
                { "{\"package_name\":\"SM-Test\"}", "starts with" },
                /* A regular expression apt would expand to sm-test-hello. */
                { "{\"package_name\":\"sm-test-hell.\"}", "exact name" },
                { "{\"package_name\":\"sm-test-nonexistent\"}", "not found" },
                /* Conflicts with the installed sm-test-hello: the plan removes it. */
                { "{\"package_name\":\"sm-test-conflict\"}", "would remove 'sm-test-hello'" },
                /* "name+" is apt's install modifier when no package has that name. */
                { "{\"package_name\":\"sm-test-hello+\"}", "exact name" },
        };
        ToolCall call;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                int r = call_tool("install_package", cases[i][0], &call, false);

                if (r >= 0)
                        fail_msg("%s was accepted", cases[i][0]);
                if (!strstr(call.error, cases[i][1]))
                        fail_msg("%s: unexpected error: %s", cases[i][0], call.error);
                call_done(&call);
        }
}

static void test_cancelled(void **state) {
        atomic_bool cancelled = true;
        ToolCall call = { .tool = tool_find("check_system_updates"), .env = &env, .cancelled = &cancelled };

        assert_int_equal(tool_run(&call), -ECANCELED);
        assert_null(call.result);
}

static void test_list_installed(void **state) {
        ToolCall call;
        json_t *pkgs, *p;

        assert_int_equal(call_tool("list_installed_packages", "{\"filter\":\"sm-test-\"}", &call, false), 0);
        pkgs = json_object_get(call.result, "packages");
        assert_int_equal(json_array_size(pkgs), 3);
        assert_int_equal(int_of(call.result, "matched"), 3);
        assert_true(int_of(call.result, "total_installed") > 3);
        p = find_by_name(pkgs, "sm-test-lib");
        assert_non_null(p);
        assert_string_equal(json_string_value(json_object_get(p, "version")), "1.0");
        assert_string_equal(json_string_value(json_object_get(p, "architecture")), "all");
        assert_string_equal(json_string_value(json_object_get(p, "status")), "install ok installed");
        call_done(&call);

        assert_int_equal(call_tool("list_installed_packages", "{\"filter\":\"sm-test-h*\"}", &call, false), 0);
        assert_int_equal(int_of(call.result, "matched"), 1);
        call_done(&call);

        assert_int_equal(call_tool("list_installed_packages", "{\"filter\":\"sm-test\",\"limit\":1}", &call, false), 0);
        assert_int_equal(json_array_size(json_object_get(call.result, "packages")), 1);
        assert_true(json_is_true(json_object_get(call.result, "truncated")));
        call_done(&call);

        assert_int_equal(call_tool("list_installed_packages", NULL, &call, false), 0);
        assert_true(json_array_size(json_object_get(call.result, "packages")) <= 100);
        call_done(&call);
}

static void test_no_updates(void **state) {
        ToolCall call;

        assert_int_equal(call_tool("check_system_updates", NULL, &call, false), 0);
        assert_int_equal(int_of(call.result, "count"), 0);
        assert_int_equal(int_of(call.result, "security_count"), 0);
        assert_false(json_is_true(json_object_get(call.result, "refreshed")));
        call_done(&call);
}

static void test_updates_after_publish(void **state) {
        char *argv[] = { (char *) "bash", script, (char *) "publish", repo_dir, (char *) "1.1", NULL };
        ToolCall call;
        json_t *updates, *u;

        assert_int_equal(run_prog(argv, 60000, NULL), 0);

        /* Without refresh the lists are the old ones. */
        assert_int_equal(call_tool("check_system_updates", "{\"refresh\":false}", &call, false), 0);
        assert_int_equal(int_of(call.result, "count"), 0);
        call_done(&call);

        assert_int_equal(call_tool("check_system_updates", "{\"refresh\":true}", &call, false), 0);
        assert_true(json_is_true(json_object_get(call.result, "refreshed")));
        assert_int_equal(int_of(call.result, "count"), 3);
        assert_int_equal(int_of(call.result, "security_count"), 1);
        updates = json_object_get(call.result, "updates");
        u = find_by_name(updates, "sm-test-sec");
        assert_non_null(u);
        assert_true(json_is_true(json_object_get(u, "security")));
        assert_string_equal(json_string_value(json_object_get(u, "current")), "1.0");
        assert_string_equal(json_string_value(json_object_get(u, "candidate")), "1.1");
        assert_non_null(strstr(json_string_value(json_object_get(u, "origin")), "smtest-security"));
        u = find_by_name(updates, "sm-test-hello");
        assert_non_null(u);
        assert_false(json_is_true(json_object_get(u, "security")));
        assert_non_null(strstr(call.text, "[security]"));
        call_done(&call);
}

static void test_plan_for_approval(void **state) {
        _cleanup_json_ json_t *args = json_pack("{s:s}", "package_name", "sm-test-hello");
        _cleanup_json_ json_t *bad = json_pack("{s:s}", "package_name", "-x");
        json_t *plan = NULL, *a;
        char err[512];

        assert_int_equal(packages_plan(&env, "update_system_packages", NULL, &plan, err, sizeof err), 0);
        assert_int_equal(int_of(plan, "upgrades"), 3);
        assert_int_equal(int_of(plan, "security_updates"), 1);
        json_decref(plan);
        plan = NULL;

        assert_int_equal(packages_plan(&env, "install_package", args, &plan, err, sizeof err), 0);
        assert_int_equal(json_array_size(json_object_get(plan, "actions")), 1);
        a = json_array_get(json_object_get(plan, "actions"), 0);
        assert_string_equal(json_string_value(json_object_get(a, "action")), "upgrade");
        assert_string_equal(json_string_value(json_object_get(a, "candidate")), "1.1");
        json_decref(plan);
        plan = NULL;

        assert_int_equal(packages_plan(&env, "install_package", bad, &plan, err, sizeof err), -EINVAL);
        assert_int_equal(packages_plan(&env, "get_system_status", NULL, &plan, err, sizeof err), -EOPNOTSUPP);
        assert_null(plan);
}

/* Holds the dpkg frontend lock the way apt does (fcntl) in a child. */
static pid_t hold_lock(void) {
        int p[2];
        pid_t pid;
        char c;

        assert_int_equal(pipe(p), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
                int fd = open("/var/lib/dpkg/lock-frontend", O_RDWR | O_CREAT | O_CLOEXEC, 0640);

                /* Someone else may hold it for a moment: wait for our turn. */
                for (int i = 0; fd >= 0 && i < 600; i++) {
                        if (fcntl(fd, F_SETLK, &fl) == 0) {
                                (void) !write(p[1], "L", 1);
                                pause();
                        }
                        usleep(100000);
                }
                _exit(1);
        }
        close(p[1]);
        assert_int_equal(read(p[0], &c, 1), 1);
        close(p[0]);
        return pid;
}

static void test_lock_held(void **state) {
        ToolCall call;
        pid_t pid;
        int r;

        if (!hermetic_ok)
                fail_msg("refusing to try an upgrade: apt was not proven to see only the test repository");
        pid = hold_lock();

        r = call_tool("update_system_packages", NULL, &call, true);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        assert_int_equal(r, -EBUSY);
        assert_string_equal(call.error, "another package manager is running (dpkg lock held): retry later");
        call_done(&call);
}

/* A process that maps the test library, like a service using libc. */
static pid_t map_library(void) {
        int p[2];
        pid_t pid;
        char c;

        assert_int_equal(pipe(p), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int fd = open(LIB_PATH, O_RDONLY | O_CLOEXEC);
                void *m = fd >= 0 ? mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;

                if (m == MAP_FAILED)
                        _exit(1);
                (void) !write(p[1], "M", 1);
                for (;;)
                        pause();
        }
        close(p[1]);
        assert_int_equal(read(p[0], &c, 1), 1);
        close(p[0]);
        return pid;
}

static void test_upgrade(void **state) {
        _cleanup_free_ char *v = NULL;
        ToolCall call;
        json_t *services, *s, *pkgs, *inst;
        bool found = false, lib_found = false;
        pid_t pid;
        size_t i, k;
        json_t *e, *l;
        int r;

        if (!hermetic_ok)
                fail_msg("refusing to upgrade: apt was not proven to see only the test repository");

        pid = map_library();
        n_progress = 0;
        r = call_tool("update_system_packages", NULL, &call, false);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        if (r < 0)
                fail_msg("update_system_packages: %s", call.error);

        assert_true(json_is_true(json_object_get(call.result, "changed")));
        assert_int_equal(int_of(json_object_get(call.result, "plan"), "upgrades"), 3);
        assert_true(n_progress >= 3);
        inst = json_object_get(call.result, "installed");
        assert_int_equal(json_array_size(inst), 3);
        json_array_foreach(inst, i, e)
                assert_string_equal(json_string_value(json_object_get(e, "version")), "1.1");

        assert_true(json_is_true(json_object_get(call.result, "reboot_required")));
        pkgs = json_object_get(call.result, "reboot_required_packages");
        json_array_foreach(pkgs, i, e)
                if (streq(json_string_value(e), "sm-test-lib"))
                        found = true;
        assert_true(found);

        services = json_object_get(call.result, "services_using_replaced_libraries");
        json_array_foreach(services, i, s)
                if (int_of(s, "pid") == pid)
                        json_array_foreach(json_object_get(s, "libraries"), k, l)
                                if (streq(json_string_value(l), LIB_PATH))
                                        lib_found = true;
        if (!lib_found)
                fail_msg("pid %d mapping the replaced %s is not reported: %s", (int) pid, LIB_PATH, call.text);
        call_done(&call);

        v = dpkg_version("sm-test-hello");
        assert_non_null(v);
        assert_string_equal(v, "1.1");

        /* And now there is nothing left to do. */
        assert_int_equal(call_tool("check_system_updates", NULL, &call, false), 0);
        assert_int_equal(int_of(call.result, "count"), 0);
        call_done(&call);
        assert_int_equal(call_tool("update_system_packages", NULL, &call, false), 0);
        assert_false(json_is_true(json_object_get(call.result, "changed")));
        call_done(&call);
}

/* The same against PackageKit --------------------------------------------------------------- */

static void test_pk_install(void **state) {
        _cleanup_free_ char *v = NULL;
        ToolCall call;
        json_t *inst;

        assert_int_equal(call_tool("install_package", "{\"package_name\":\"sm-test-hello\"}", &call, false), 0);
        assert_string_equal(json_string_value(json_object_get(call.result, "backend")), "packagekit");
        assert_true(json_is_true(json_object_get(call.result, "changed")));
        assert_int_equal(int_of(json_object_get(call.result, "plan"), "installs"), 1);
        inst = find_by_name(json_object_get(call.result, "installed"), "sm-test-hello");
        assert_non_null(inst);
        assert_string_equal(json_string_value(json_object_get(inst, "version")), "1.1");
        call_done(&call);
        v = dpkg_version("sm-test-hello");
        assert_non_null(v);
        assert_string_equal(v, "1.1");

        assert_int_equal(call_tool("install_package", "{\"package_name\":\"sm-test-hello\"}", &call, false), 0);
        assert_false(json_is_true(json_object_get(call.result, "changed")));
        call_done(&call);
        assert_int_equal(call_tool("install_package", "{\"package_name\":\"sm-test-lib=1.1\"}", &call, false), 0);
        call_done(&call);
        assert_int_equal(call_tool("install_package", "{\"package_name\":\"sm-test-sec\"}", &call, false), 0);
        call_done(&call);

        assert_int_equal(call_tool("install_package", "{\"package_name\":\"sm-test-nonexistent\"}", &call, false),
                         -ENOENT);
        assert_non_null(strstr(call.error, "not found"));
        call_done(&call);
}

static void test_pk_list(void **state) {
        ToolCall call;

        assert_int_equal(call_tool("list_installed_packages", "{\"filter\":\"sm-test-*\"}", &call, false), 0);
        assert_string_equal(json_string_value(json_object_get(call.result, "backend")), "packagekit");
        assert_int_equal(int_of(call.result, "matched"), 3);
        assert_true(int_of(call.result, "total_installed") > 3);
        call_done(&call);
}

static void test_pk_updates(void **state) {
        char *argv[] = { (char *) "bash", script, (char *) "publish", repo_dir, (char *) "1.2", NULL };
        json_t *plan = NULL, *u;
        char err[512];
        ToolCall call;

        assert_int_equal(call_tool("check_system_updates", NULL, &call, false), 0);
        assert_int_equal(int_of(call.result, "count"), 0);
        call_done(&call);

        assert_int_equal(run_prog(argv, 60000, NULL), 0);
        assert_int_equal(call_tool("check_system_updates", "{\"refresh\":true}", &call, false), 0);
        assert_int_equal(int_of(call.result, "count"), 3);
        assert_int_equal(int_of(call.result, "security_count"), 1);
        u = find_by_name(json_object_get(call.result, "updates"), "sm-test-sec");
        assert_non_null(u);
        assert_true(json_is_true(json_object_get(u, "security")));
        assert_string_equal(json_string_value(json_object_get(u, "current")), "1.1");
        assert_string_equal(json_string_value(json_object_get(u, "candidate")), "1.2");
        /* Everything PackageKit would upgrade is ours: only then may the
         * upgrade tests run. */
        for (size_t i = 0; i < json_array_size(json_object_get(call.result, "updates")); i++) {
                json_t *e = json_array_get(json_object_get(call.result, "updates"), i);

                if (strncmp(json_string_value(json_object_get(e, "name")), "sm-test-", 8) != 0)
                        fail_msg("PackageKit offers a non-test update: %s",
                                 json_string_value(json_object_get(e, "name")));
        }
        pk_hermetic_ok = true;
        call_done(&call);

        assert_int_equal(packages_plan(&env, "update_system_packages", NULL, &plan, err, sizeof err), 0);
        assert_int_equal(int_of(plan, "upgrades"), 3);
        json_decref(plan);
}

static void test_pk_lock_held(void **state) {
        ToolCall call;
        pid_t pid;
        int r;

        if (!pk_hermetic_ok)
                fail_msg("refusing to try an upgrade: PackageKit was not proven to offer only test packages");
        pid = hold_lock();

        r = call_tool("update_system_packages", NULL, &call, true);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        if (r != -EBUSY)
                fail_msg("expected the lock error, got %d: %s", r, call.error);
        assert_string_equal(call.error, "another package manager is running (dpkg lock held): retry later");
        call_done(&call);
}

static void test_pk_upgrade(void **state) {
        _cleanup_free_ char *v = NULL;
        ToolCall call;
        size_t i;
        json_t *e;

        if (!hermetic_ok || !pk_hermetic_ok)
                fail_msg("refusing to upgrade: PackageKit was not proven to offer only test packages");
        n_progress = 0;
        assert_int_equal(call_tool("update_system_packages", NULL, &call, false), 0);
        assert_true(json_is_true(json_object_get(call.result, "changed")));
        assert_int_equal(json_array_size(json_object_get(call.result, "installed")), 3);
        json_array_foreach(json_object_get(call.result, "installed"), i, e)
                assert_string_equal(json_string_value(json_object_get(e, "version")), "1.2");
        assert_true(n_progress >= 2);
        call_done(&call);
        v = dpkg_version("sm-test-sec");
        assert_non_null(v);
        assert_string_equal(v, "1.2");

        assert_int_equal(call_tool("check_system_updates", NULL, &call, false), 0);
        assert_int_equal(int_of(call.result, "count"), 0);
        call_done(&call);
}

static int pk_setup(void **state) {
        char *start[] = { (char *) "bash", script, (char *) "pk-start", repo_dir, NULL };
        _cleanup_free_ char *out = NULL;
        char *nl;

        purge_test_packages();
        if (run_prog(start, 60000, &out) != 0)
                return -1;
        nl = strchr(out, '\n');
        if (nl)
                *nl = '\0';
        if (strncmp(out, "DBUS_SYSTEM_BUS_ADDRESS=", 24) != 0 ||
            setenv("DBUS_SYSTEM_BUS_ADDRESS", out + 24, 1) < 0)
                return -1;
        env.packages_backend = "packagekit";
        return 0;
}

/* Setup and cleanup ------------------------------------------------------------------------ */

static void purge_test_packages(void) {
        char *argv[] = { (char *) "dpkg", (char *) "--purge", TEST_PKGS, NULL };

        for (int i = 0; i < 60; i++) {
                _cleanup_free_ char *out = NULL;

                if (run_prog(argv, 60000, &out) == 0)
                        return;
                sleep(1);       /* the dpkg lock, most likely */
        }
        fprintf(stderr, "# could not purge the test packages: dpkg --purge %s\n",
                "sm-test-hello sm-test-lib sm-test-sec sm-test-conflict");
}

/* Undoes what sm-test-lib's postinst did to /var/run/reboot-required. */
static void reboot_file_cleanup(void) {
        _cleanup_free_ char *kept = NULL;
        size_t kept_len = 0;
        FILE *f, *m;
        char line[256];

        f = fopen("/var/run/reboot-required.pkgs", "re");
        m = open_memstream(&kept, &kept_len);
        if (!m) {
                if (f)
                        fclose(f);
                return;
        }
        while (f && fgets(line, sizeof line, f))
                if (strcmp(line, "sm-test-lib\n") != 0)
                        fputs(line, m);
        if (f)
                fclose(f);
        fclose(m);
        if (kept_len == 0) {
                (void) unlink("/var/run/reboot-required.pkgs");
                if (!reboot_file_existed)
                        (void) unlink("/var/run/reboot-required");
        } else {
                f = fopen("/var/run/reboot-required.pkgs", "we");
                if (f) {
                        fputs(kept, f);
                        fclose(f);
                }
        }
}

static int suite_setup(void **state) {
        char *start[] = { (char *) "bash", script, (char *) "start", repo_dir, NULL };
        char *update[] = { (char *) "apt-get", (char *) "-q", (char *) "update", NULL };
        _cleanup_free_ char *out = NULL;
        char *nl;

        if (run_prog(start, 300000, &out) != 0)
                return -1;
        nl = strchr(out, '\n');
        if (nl)
                *nl = '\0';
        if (strncmp(out, "APT_CONFIG=", 11) != 0)
                return -1;
        snprintf(apt_conf, sizeof apt_conf, "%s", out);
        if (setenv("APT_CONFIG", out + 11, 1) < 0)
                return -1;
        reboot_file_existed = access("/var/run/reboot-required", F_OK) == 0;
        purge_test_packages(); /* leftovers of an interrupted run */
        for (int i = 0; i < 60; i++) {
                if (run_prog(update, 60000, NULL) == 0)
                        return 0;
                sleep(1);
        }
        return -1;
}

static void cleanup_real(void) {
        char *stop[] = { (char *) "bash", script, (char *) "stop", repo_dir, NULL };
        char *rm[] = { (char *) "rm", (char *) "-rf", (char *) "--", repo_dir, NULL };

        purge_test_packages();
        reboot_file_cleanup();
        (void) run_prog(stop, 10000, NULL);
        if (repo_dir[0] && strncmp(repo_dir, "/tmp/sm-aptrepo.", 16) == 0)
                (void) run_prog(rm, 30000, NULL);
}

static int registry_setup(void **state) {
        _cleanup_free_ char *err = NULL;

        if (setenv("SYSTEMMANAGER_CHECK_OUTPUT", "1", 1) < 0)
                return -1;
        if (tool_registry_init(&err) < 0) {
                fprintf(stderr, "tool_registry_init: %s\n", err ? err : "?");
                return -1;
        }
        return 0;
}

int main(void) {
        const struct CMUnitTest parsers[] = {
                cmocka_unit_test(test_plan_parse),
                cmocka_unit_test(test_plan_parse_lines),
                cmocka_unit_test(test_installed_parse),
                cmocka_unit_test(test_status_lines),
                cmocka_unit_test(test_errors_and_lock),
                cmocka_unit_test(test_package_spec),
                cmocka_unit_test(test_maps_and_cgroup),
                cmocka_unit_test(test_registry_rows),
                cmocka_unit_test(test_backend_packagekit_unreachable),
                cmocka_unit_test(test_pk_id_parse),
        };
        /* In this order: each step builds on the one before. */
        const struct CMUnitTest real[] = {
                cmocka_unit_test(test_sources_are_hermetic),
                cmocka_unit_test(test_install),
                cmocka_unit_test(test_install_refusals),
                cmocka_unit_test(test_cancelled),
                cmocka_unit_test(test_list_installed),
                cmocka_unit_test(test_no_updates),
                cmocka_unit_test(test_updates_after_publish),
                cmocka_unit_test(test_plan_for_approval),
                cmocka_unit_test(test_lock_held),
                cmocka_unit_test(test_upgrade),
        };
        const struct CMUnitTest pk[] = {
                cmocka_unit_test(test_pk_install),
                cmocka_unit_test(test_pk_list),
                cmocka_unit_test(test_pk_updates),
                cmocka_unit_test(test_pk_lock_held),
                cmocka_unit_test(test_pk_upgrade),
        };
        const char *src = getenv("SM_SOURCE_DIR");
        _cleanup_close_ int lock_fd = -1;
        int failed;

        failed = cmocka_run_group_tests_name("packages_parsers", parsers, registry_setup, NULL);

        if (geteuid() != 0 || access("/usr/bin/apt-get", X_OK) < 0 || access("/usr/bin/dpkg", X_OK) < 0) {
                fprintf(stderr, "# not root or no apt/dpkg: the tests against the real apt are skipped\n");
                return failed;
        }
        if (src && src[0])
                snprintf(script, sizeof script, "%s/tests/env/aptrepo.sh", src);
        else {
                /* Built by CMake, __FILE__ is absolute: .../tests/unit/test_packages.c */
                const char *f = __FILE__, *cut = strstr(f, "/tests/unit/");

                snprintf(script, sizeof script, "%.*s/tests/env/aptrepo.sh", cut ? (int) (cut - f) : 1,
                         cut ? f : ".");
        }
        if (access(script, R_OK) < 0) {
                fprintf(stderr, "# %s not found (set SM_SOURCE_DIR)\n", script);
                return failed + 1;
        }

        /* One run at a time on this machine: runs share the dpkg database. */
        lock_fd = open("/run/lock/systemmanager-test-packages.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lock_fd < 0 || flock(lock_fd, LOCK_EX) < 0) {
                fprintf(stderr, "# cannot take the test lock: %m\n");
                return failed + 1;
        }
        snprintf(repo_dir, sizeof repo_dir, "/tmp/sm-aptrepo.XXXXXX");
        if (!mkdtemp(repo_dir)) {
                fprintf(stderr, "# mkdtemp: %m\n");
                return failed + 1;
        }
        failed += cmocka_run_group_tests_name("packages_real_apt", real, suite_setup, NULL);
        if (hermetic_ok && access("/usr/libexec/packagekitd", X_OK) == 0)
                failed += cmocka_run_group_tests_name("packages_packagekit", pk, pk_setup, NULL);
        else
                fprintf(stderr, "# packagekitd not installed (or apt not hermetic): PackageKit tests skipped\n");
        /* Here, not as the group teardown: also when the setup failed. */
        cleanup_real();
        return failed;
}
