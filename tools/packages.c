/* SPDX-License-Identifier: MIT */

/* The "packages" tool family: updates, installed packages, install and
 * upgrade, through the apt backend (tools/apt.c) or PackageKit
 * (tools/packagekit.c), chosen by packages.backend. Both produce the same
 * plan and package-list structures, so results look alike.
 *
 * Reading tools never change the system: check_system_updates simulates an
 * upgrade against the package lists as they are (refresh=true runs
 * `apt-get update` first, which only downloads index files). The critical
 * tools compute the dry-run plan first and put it into their result, then
 * run apt-get with -y, keeping existing configuration files, and report the
 * installed versions, whether a reboot is required, and which processes
 * still map libraries that were replaced. Once apt-get install/upgrade has
 * started it is not cancelled: killing dpkg half-way leaves packages
 * half-configured; the (long) timeout still applies. */

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "tools/apt.h"
#include "tools/packagekit.h"
#include "tools/tool.h"

#define LIST_LIMIT_DEFAULT 100
#define LIST_LIMIT_MAX 5000
#define FILTER_MAX 128
#define SERVICES_MAX 200u
#define TEXT_ROWS_MAX 50u

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

static int json_set(json_t *o, const char *key, json_t *v) {
        /* json_object_set_new() steals v, also on failure. */
        if (!v || json_object_set_new(o, key, v) < 0)
                return -ENOMEM;
        return 0;
}

static int finish_text(ToolCall *call, FILE **text, char **text_buf) {
        if (fflush(*text) != 0 || ferror(*text))
                return -ENOMEM;
        fclose(*text);
        *text = NULL;
        call->text = TAKE_PTR(*text_buf);
        return 0;
}

static const char *backend_name(int backend) {
        return backend == PACKAGES_BACKEND_PACKAGEKIT ? "packagekit" : "apt";
}

static int list_installed(const ToolEnv *env, int backend, const atomic_bool *cancelled, AptInstalledList *ret,
                          char *err, size_t errlen) {
        if (backend == PACKAGES_BACKEND_PACKAGEKIT)
                return pk_list_installed(apt_timeout_ms(env, false), cancelled, ret, err, errlen);
        return apt_list_installed(env, cancelled, ret, err, errlen);
}

/* check_system_updates ---------------------------------------------------------------- */

static int run_apt_update(ToolCall *call) {
        char *argv[] = { (char *) "/usr/bin/apt-get", (char *) "-q", (char *) "update", NULL };
        RunnerResult rr = {};
        char e[300];
        int r;

        r = apt_exec(argv, apt_timeout_ms(call->env, false), call->cancelled, NULL, NULL, &rr);
        if (r < 0)
                return tool_error(call, r, "cannot run apt-get update: %s", strerror(-r));
        if (rr.cancelled) {
                runner_result_done(&rr);
                return tool_error(call, -ECANCELED, "cancelled");
        }
        if (rr.timed_out) {
                runner_result_done(&rr);
                return tool_error(call, -ETIMEDOUT, "apt-get update timed out after %d s",
                                  apt_timeout_ms(call->env, false) / 1000);
        }
        if (rr.exit_status != 0) {
                bool lock = apt_lock_error(rr.err);

                apt_first_error(rr.err, e, sizeof e);
                runner_result_done(&rr);
                if (lock)
                        return tool_error(call, -EBUSY,
                                          "another package manager is running (apt lists lock held): retry later");
                return tool_error(call, -EIO, "apt-get update failed (exit %d): %s", rr.exit_status,
                                  e[0] ? e : "no message");
        }
        runner_result_done(&rr);
        return 0;
}

static int tool_check_system_updates(ToolCall *call) {
        _cleanup_json_ json_t *result = NULL, *updates = NULL, *plan_json = NULL;
        _cleanup_free_ char *text_buf = NULL;
        _cleanup_(fclosep) FILE *text = NULL;
        _cleanup_(apt_plan_done) AptPlan plan = {};
        size_t text_len = 0, n_security = 0, n_updates = 0;
        bool refresh = false;
        char err[512];
        json_t *v;
        int backend, r;

        backend = apt_backend_check(call->env, err, sizeof err);
        if (backend < 0)
                return tool_error(call, backend, "%s", err);
        v = json_object_get(call->args, "refresh");
        if (v && !json_is_boolean(v))
                return tool_error(call, -EINVAL, "argument 'refresh': must be a boolean");
        refresh = json_is_true(v);

        if (backend == PACKAGES_BACKEND_PACKAGEKIT)
                r = pk_get_updates(apt_timeout_ms(call->env, false), call->cancelled, refresh, &plan, err,
                                   sizeof err);
        else {
                if (refresh) {
                        r = run_apt_update(call);
                        if (r < 0)
                                return r;
                }
                if (tool_cancelled(call))
                        return tool_error(call, -ECANCELED, "cancelled");
                r = apt_simulate(call->env, call->cancelled, NULL, NULL, &plan, NULL, err, sizeof err);
        }
        if (r < 0)
                return tool_error(call, r, "%s", err);

        result = json_object();
        updates = json_array();
        text = open_memstream(&text_buf, &text_len);
        if (!result || !updates || !text)
                return tool_error(call, -ENOMEM, "out of memory");

        for (size_t i = 0; i < plan.n_items; i++) {
                const AptPlanItem *it = &plan.items[i];
                _cleanup_json_ json_t *o = NULL;

                /* An upgrade never removes; it may install a new dependency,
                 * which is not an update of something installed. */
                if (it->action != APT_ACTION_UPGRADE && it->action != APT_ACTION_REINSTALL)
                        continue;
                o = json_object();
                if (!o || json_set(o, "name", json_string(it->name)) < 0 ||
                    json_set(o, "current", json_string(it->old_version)) < 0 ||
                    json_set(o, "candidate", json_string(it->new_version)) < 0 ||
                    json_set(o, "origin", it->origin[0] ? json_string(it->origin) : json_null()) < 0 ||
                    json_set(o, "security", json_boolean(it->security)) < 0 ||
                    json_array_append_new(updates, TAKE_PTR(o)) < 0)
                        return tool_error(call, -ENOMEM, "out of memory");
                n_updates++;
                if (it->security)
                        n_security++;
                if (n_updates <= TEXT_ROWS_MAX)
                        fprintf(text, "%-32s %-24s -> %-24s %s%s\n", it->name, it->old_version, it->new_version,
                                it->origin[0] ? it->origin : "-", it->security ? " [security]" : "");
        }
        if (n_updates > TEXT_ROWS_MAX)
                fprintf(text, "... and %zu more\n", n_updates - TEXT_ROWS_MAX);
        fprintf(text, "%zu update%s available, %zu security", n_updates, n_updates == 1 ? "" : "s", n_security);
        if (plan.n_kept_back > 0)
                fprintf(text, ", %zu kept back", plan.n_kept_back);
        fprintf(text, "%s\n", refresh ? " (package lists refreshed)" : " (package lists not refreshed)");

        plan_json = apt_plan_to_json(&plan);
        if (!plan_json)
                return tool_error(call, -ENOMEM, "out of memory");
        if (json_set(result, "backend", json_string(backend_name(backend))) < 0 ||
            json_set(result, "count", json_integer((json_int_t) n_updates)) < 0 ||
            json_set(result, "security_count", json_integer((json_int_t) n_security)) < 0 ||
            json_set(result, "updates", TAKE_PTR(updates)) < 0 ||
            json_set(result, "kept_back", json_incref(json_object_get(plan_json, "kept_back"))) < 0 ||
            json_set(result, "refreshed", json_boolean(refresh)) < 0 ||
            json_set(result, "truncated", json_boolean(plan.truncated)) < 0)
                return tool_error(call, -ENOMEM, "out of memory");
        if (finish_text(call, &text, &text_buf) < 0)
                return tool_error(call, -ENOMEM, "out of memory");
        call->result = TAKE_PTR(result);
        return 0;
}

/* list_installed_packages -------------------------------------------------------------- */

static bool filter_is_glob(const char *f) {
        return strpbrk(f, "*?[") != NULL;
}

static int tool_list_installed_packages(ToolCall *call) {
        _cleanup_json_ json_t *result = NULL, *list = NULL;
        _cleanup_free_ char *text_buf = NULL;
        _cleanup_(fclosep) FILE *text = NULL;
        _cleanup_(apt_installed_done) AptInstalledList l = {};
        json_int_t limit = LIST_LIMIT_DEFAULT;
        const char *filter = NULL;
        size_t text_len = 0, matched = 0, shown = 0;
        bool glob = false;
        char err[512];
        json_t *v;
        int backend, r;

        backend = apt_backend_check(call->env, err, sizeof err);
        if (backend < 0)
                return tool_error(call, backend, "%s", err);
        v = json_object_get(call->args, "limit");
        if (json_is_integer(v))
                limit = json_integer_value(v);
        if (limit < 1 || limit > LIST_LIMIT_MAX)
                return tool_error(call, -EINVAL, "argument 'limit': must be an integer between 1 and %d",
                                  LIST_LIMIT_MAX);
        v = json_object_get(call->args, "filter");
        if (v) {
                if (!json_is_string(v) || json_string_length(v) > FILTER_MAX)
                        return tool_error(call, -EINVAL, "argument 'filter': must be a string of at most %d bytes",
                                          FILTER_MAX);
                filter = json_string_value(v);
                if (!filter[0])
                        filter = NULL;
                else
                        glob = filter_is_glob(filter);
        }

        r = list_installed(call->env, backend, call->cancelled, &l, err, sizeof err);
        if (r < 0)
                return tool_error(call, r, "%s", err);

        result = json_object();
        list = json_array();
        text = open_memstream(&text_buf, &text_len);
        if (!result || !list || !text)
                return tool_error(call, -ENOMEM, "out of memory");

        fprintf(text, "%-40s %-32s %-8s %s\n", "NAME", "VERSION", "ARCH", "STATUS");
        for (size_t i = 0; i < l.n_items; i++) {
                const AptInstalled *it = &l.items[i];
                _cleanup_json_ json_t *o = NULL;

                if (filter && (glob ? fnmatch(filter, it->name, 0) != 0 : !strstr(it->name, filter)))
                        continue;
                matched++;
                if (shown >= (size_t) limit)
                        continue;
                o = json_object();
                if (!o || json_set(o, "name", json_string(it->name)) < 0 ||
                    json_set(o, "version", json_string(it->version)) < 0 ||
                    json_set(o, "architecture", json_string(it->arch)) < 0 ||
                    json_set(o, "installed_size_bytes",
                             it->has_size && it->installed_size_kib < (1ull << 40)
                                     ? json_integer((json_int_t) (it->installed_size_kib * 1024))
                                     : json_null()) < 0 ||
                    json_set(o, "status", json_string(it->status)) < 0 ||
                    json_array_append_new(list, TAKE_PTR(o)) < 0)
                        return tool_error(call, -ENOMEM, "out of memory");
                fprintf(text, "%-40s %-32s %-8s %s\n", it->name, it->version, it->arch, it->status);
                shown++;
        }
        fprintf(text, "%zu of %zu matching packages (%zu installed)\n", shown, matched, l.n_items);

        if (json_set(result, "backend", json_string(backend_name(backend))) < 0 ||
            json_set(result, "packages", TAKE_PTR(list)) < 0 ||
            json_set(result, "total_installed", json_integer((json_int_t) l.n_items)) < 0 ||
            json_set(result, "matched", json_integer((json_int_t) matched)) < 0 ||
            json_set(result, "truncated", json_boolean(matched > shown || l.truncated)) < 0 ||
            json_set(result, "filter", filter ? json_string(filter) : json_null()) < 0)
                return tool_error(call, -ENOMEM, "out of memory");
        if (finish_text(call, &text, &text_buf) < 0)
                return tool_error(call, -ENOMEM, "out of memory");
        call->result = TAKE_PTR(result);
        return 0;
}

/* install_package / update_system_packages -------------------------------------------- */

typedef struct ProgressState {
        ToolCall *call;
        double last;
} ProgressState;

static void on_apt_line(void *userdata, const char *line, size_t len) {
        ProgressState *ps = userdata;
        char msg[160];
        double pct;

        if (apt_status_parse_line(line, len, &pct, msg, sizeof msg) <= 0)
                return;
        /* MCP progress must only increase; apt's estimates may step back. */
        if (pct < ps->last)
                pct = ps->last;
        if (pct == ps->last && ps->last > 0 && strncmp(line, "pmstatus:", 9) != 0)
                return;         /* repeated download ticks */
        ps->last = pct;
        tool_progress(ps->call, pct, 100.0, msg);
}

/* Runs the real apt-get install/upgrade (spec NULL) with progress. */
static int apt_apply_run(ToolCall *call, const char *spec, ProgressState *ps, uint64_t *ret_duration_ms) {
        RunnerResult rr = {};
        char *argv[24], err[400];
        size_t n = 0;
        int r;

        argv[n++] = (char *) "/usr/bin/apt-get";
        argv[n++] = (char *) "-y";
        argv[n++] = (char *) "-q";
        argv[n++] = (char *) "--no-install-recommends";
        argv[n++] = (char *) "-o";
        argv[n++] = (char *) "Dpkg::Options::=--force-confold";
        argv[n++] = (char *) "-o";
        argv[n++] = (char *) "Dpkg::Options::=--force-confdef";
        argv[n++] = (char *) "-o";
        argv[n++] = (char *) "Dpkg::Use-Pty=0";
        argv[n++] = (char *) "-o";
        argv[n++] = (char *) "APT::Status-Fd=1";
        if (spec) {
                argv[n++] = (char *) "install";
                argv[n++] = (char *) "--";
                argv[n++] = (char *) spec;
        } else
                argv[n++] = (char *) "upgrade";
        argv[n] = NULL;

        /* No cancellation from here on (see the top of the file). */
        r = apt_exec(argv, apt_timeout_ms(call->env, true), NULL, on_apt_line, ps, &rr);
        if (r < 0)
                return tool_error(call, r, "cannot run apt-get: %s", strerror(-r));
        *ret_duration_ms = rr.duration_ms;
        if (rr.timed_out) {
                runner_result_done(&rr);
                return tool_error(call, -ETIMEDOUT,
                                  "apt-get timed out after %d s and was stopped; run 'dpkg --configure -a' to "
                                  "finish interrupted packages",
                                  apt_timeout_ms(call->env, true) / 1000);
        }
        if (rr.exit_status != 0) {
                bool lock = apt_lock_error(rr.err);
                int status = rr.exit_status;

                apt_first_error(rr.err, err, sizeof err);
                runner_result_done(&rr);
                if (lock)
                        return tool_error(call, -EBUSY,
                                          "another package manager is running (dpkg lock held): retry later");
                return tool_error(call, -EIO, "apt-get %s failed (exit %d): %s", spec ? "install" : "upgrade",
                                  status, err[0] ? err : "no message");
        }
        runner_result_done(&rr);
        return 0;
}

/* Runs the real install or upgrade (plan already computed) and reports.
 * name/spec NULL means upgrade. */
static void on_pk_progress(void *userdata, double percent, const char *message) {
        ProgressState *ps = userdata;

        if (percent <= ps->last)
                return;
        ps->last = percent;
        tool_progress(ps->call, percent, 100.0, message);
}

static int apply(ToolCall *call, int backend, const char *name, const char *version, const char *spec,
                 AptPlan *plan) {
        _cleanup_json_ json_t *result = NULL, *plan_json = NULL, *installed = NULL, *services = NULL,
                              *reboot_pkgs = NULL;
        _cleanup_free_ char *text_buf = NULL;
        _cleanup_(fclosep) FILE *text = NULL;
        _cleanup_(apt_installed_done) AptInstalledList after = {};
        size_t text_len = 0;
        ProgressState ps = { .call = call };
        bool changed, reboot = false, services_truncated = false;
        uint64_t duration_ms = 0;
        char err[512];
        int r;

        /* An install that removes other packages is not what was asked for;
         * make the caller remove them explicitly. (upgrade never removes.) */
        for (size_t i = 0; i < plan->n_items; i++)
                if (plan->items[i].action == APT_ACTION_REMOVE || plan->items[i].action == APT_ACTION_PURGE)
                        return tool_error(call, -EPERM,
                                          "installing '%s' would remove '%s': refusing (remove it explicitly "
                                          "first)",
                                          name ? name : "updates", plan->items[i].name);
        if (plan->truncated)
                return tool_error(call, -E2BIG, "the plan is too large to show in full: refusing to run it");

        plan_json = apt_plan_to_json(plan);
        if (!plan_json)
                return tool_error(call, -ENOMEM, "out of memory");

        changed = plan->n_items > 0;
        if (changed) {
                if (tool_cancelled(call))
                        return tool_error(call, -ECANCELED, "cancelled");
                tool_progress(call, 0, 100.0, spec ? "installing" : "upgrading");

                if (backend == PACKAGES_BACKEND_PACKAGEKIT) {
                        _cleanup_(apt_plan_done) AptPlan done = {};
                        uint64_t t0 = now_ms();

                        /* No cancellation once it runs (see the top of the file). */
                        r = pk_install(apt_timeout_ms(call->env, true), NULL, name, version, false, on_pk_progress,
                                       &ps, &done, NULL, err, sizeof err);
                        if (r < 0)
                                return tool_error(call, r, "%s", err);
                        duration_ms = now_ms() - t0;
                } else {
                        r = apt_apply_run(call, spec, &ps, &duration_ms);
                        if (r < 0)
                                return r;
                }
                tool_progress(call, 100.0, 100.0, "done");
        }

        /* What is installed now, for every package of the plan. */
        r = list_installed(call->env, backend, NULL, &after, err, sizeof err);
        if (r < 0)
                return tool_error(call, r, "installed, but cannot read the result: %s", err);
        installed = json_array();
        result = json_object();
        text = open_memstream(&text_buf, &text_len);
        if (!installed || !result || !text)
                return tool_error(call, -ENOMEM, "out of memory");
        for (size_t i = 0; i < plan->n_items; i++) {
                const AptInstalled *it = apt_installed_find(&after, plan->items[i].name);
                _cleanup_json_ json_t *o = json_object();

                if (!o || json_set(o, "name", json_string(plan->items[i].name)) < 0 ||
                    json_set(o, "version", it && it->installed ? json_string(it->version) : json_null()) < 0 ||
                    json_set(o, "expected", json_string(plan->items[i].new_version)) < 0 ||
                    json_array_append_new(installed, TAKE_PTR(o)) < 0)
                        return tool_error(call, -ENOMEM, "out of memory");
                if (i < TEXT_ROWS_MAX)
                        fprintf(text, "%-10s %-32s %s -> %s\n", apt_action_to_string(plan->items[i].action),
                                plan->items[i].name,
                                plan->items[i].old_version[0] ? plan->items[i].old_version : "(new)",
                                it && it->installed ? it->version : "(not installed)");
        }
        if (!changed) {
                const AptInstalled *it = name ? apt_installed_find(&after, name) : NULL;

                if (name)
                        fprintf(text, "%s %s is already installed and the newest version: nothing to do\n", name,
                                it ? it->version : "");
                else
                        fprintf(text, "all packages are up to date: nothing to do\n");
        }

        r = apt_reboot_required(&reboot, &reboot_pkgs);
        if (r < 0)
                return tool_error(call, r, "out of memory");
        r = apt_scan_replaced_libraries(NULL, SERVICES_MAX, &services, &services_truncated);
        if (r < 0)
                return tool_error(call, r, "cannot scan for processes using replaced libraries: %s", strerror(-r));

        if (reboot)
                fprintf(text, "reboot required (requested by %zu package%s)\n", json_array_size(reboot_pkgs),
                        json_array_size(reboot_pkgs) == 1 ? "" : "s");
        if (json_array_size(services) > 0)
                fprintf(text, "%zu process%s still use%s replaced libraries: restart them\n",
                        json_array_size(services), json_array_size(services) == 1 ? "" : "es",
                        json_array_size(services) == 1 ? "s" : "");

        if (json_set(result, "backend", json_string(backend_name(backend))) < 0 ||
            json_set(result, "package", name ? json_string(name) : json_null()) < 0 ||
            json_set(result, "changed", json_boolean(changed)) < 0 ||
            json_set(result, "plan", TAKE_PTR(plan_json)) < 0 ||
            json_set(result, "installed", TAKE_PTR(installed)) < 0 ||
            json_set(result, "reboot_required", json_boolean(reboot)) < 0 ||
            json_set(result, "reboot_required_packages", TAKE_PTR(reboot_pkgs)) < 0 ||
            json_set(result, "services_using_replaced_libraries", TAKE_PTR(services)) < 0 ||
            json_set(result, "services_truncated", json_boolean(services_truncated)) < 0 ||
            json_set(result, "duration_ms", json_integer((json_int_t) duration_ms)) < 0)
                return tool_error(call, -ENOMEM, "out of memory");
        if (finish_text(call, &text, &text_buf) < 0)
                return tool_error(call, -ENOMEM, "out of memory");
        call->result = TAKE_PTR(result);
        return 0;
}

static int tool_install_package(ToolCall *call) {
        _cleanup_(apt_plan_done) AptPlan plan = {};
        char name[65], version[APT_VERSION_MAX], err[512];
        const char *spec, *reason = NULL;
        bool already = false;
        int backend, r;

        backend = apt_backend_check(call->env, err, sizeof err);
        if (backend < 0)
                return tool_error(call, backend, "%s", err);
        spec = json_string_value(json_object_get(call->args, "package_name"));
        if (!spec)
                return tool_error(call, -EINVAL, "argument 'package_name': required string");
        /* Validated here, not only by the schema: the name goes into apt-get's
         * argument vector, and apt reads some names as patterns or options. */
        if (apt_package_spec_parse(spec, name, version, &reason) < 0)
                return tool_error(call, -EINVAL, "argument 'package_name': %s", reason);

        tool_progress(call, 0, 100.0, "computing the plan");
        if (backend == PACKAGES_BACKEND_PACKAGEKIT)
                r = pk_install(apt_timeout_ms(call->env, false), call->cancelled, name, version, true, NULL, NULL,
                               &plan, &already, err, sizeof err);
        else
                r = apt_simulate(call->env, call->cancelled, name, spec, &plan, &already, err, sizeof err);
        if (r < 0)
                return tool_error(call, r, "%s", err);
        return apply(call, backend, name, version, spec, &plan);
}

static int tool_update_system_packages(ToolCall *call) {
        _cleanup_(apt_plan_done) AptPlan plan = {};
        char err[512];
        int backend, r;

        backend = apt_backend_check(call->env, err, sizeof err);
        if (backend < 0)
                return tool_error(call, backend, "%s", err);
        tool_progress(call, 0, 100.0, "computing the plan");
        if (backend == PACKAGES_BACKEND_PACKAGEKIT)
                r = pk_install(apt_timeout_ms(call->env, false), call->cancelled, NULL, NULL, true, NULL, NULL,
                               &plan, NULL, err, sizeof err);
        else
                r = apt_simulate(call->env, call->cancelled, NULL, NULL, &plan, NULL, err, sizeof err);
        if (r < 0)
                return tool_error(call, r, "%s", err);
        return apply(call, backend, NULL, NULL, NULL, &plan);
}

/* The table --------------------------------------------------------------------------- */

#define STR "{\"type\":\"string\"}"
#define STR_OR_NULL "{\"type\":[\"string\",\"null\"]}"

#define PLAN_SCHEMA                                                                                              \
        "{\"type\":\"object\",\"additionalProperties\":false,"                                                   \
        "\"required\":[\"actions\",\"installs\",\"upgrades\",\"removals\",\"security_updates\",\"kept_back\","   \
        "\"truncated\"],\"properties\":{"                                                                        \
        "\"actions\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"additionalProperties\":false,"         \
        "\"required\":[\"action\",\"name\",\"current\",\"candidate\",\"origin\",\"architecture\",\"security\"]," \
        "\"properties\":{"                                                                                       \
        "\"action\":{\"type\":\"string\",\"enum\":[\"install\",\"upgrade\",\"reinstall\",\"remove\",\"purge\"]}," \
        "\"name\":" STR ",\"current\":" STR_OR_NULL ",\"candidate\":" STR_OR_NULL ","                            \
        "\"origin\":" STR_OR_NULL ",\"architecture\":" STR_OR_NULL ",\"security\":{\"type\":\"boolean\"}}}},"    \
        "\"installs\":{\"type\":\"integer\",\"minimum\":0},\"upgrades\":{\"type\":\"integer\",\"minimum\":0},"   \
        "\"removals\":{\"type\":\"integer\",\"minimum\":0},"                                                     \
        "\"security_updates\":{\"type\":\"integer\",\"minimum\":0},"                                             \
        "\"kept_back\":{\"type\":\"array\",\"items\":" STR "},"                                                  \
        "\"truncated\":{\"type\":\"boolean\"}}}"

#define APPLY_OUTPUT_SCHEMA                                                                                     \
        "{\"type\":\"object\",\"additionalProperties\":false,"                                                  \
        "\"required\":[\"backend\",\"package\",\"changed\",\"plan\",\"installed\",\"reboot_required\","         \
        "\"reboot_required_packages\",\"services_using_replaced_libraries\",\"services_truncated\","            \
        "\"duration_ms\"],\"properties\":{"                                                                     \
        "\"backend\":{\"type\":\"string\",\"enum\":[\"apt\",\"packagekit\"]},"                                \
        "\"package\":" STR_OR_NULL ","                                                                          \
        "\"changed\":{\"type\":\"boolean\",\"description\":\"false when there was nothing to do\"},"            \
        "\"plan\":" PLAN_SCHEMA ","                                                                             \
        "\"installed\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"additionalProperties\":false,"      \
        "\"required\":[\"name\",\"version\",\"expected\"],\"properties\":{"                                     \
        "\"name\":" STR ",\"version\":" STR_OR_NULL ",\"expected\":" STR "}}},"                                 \
        "\"reboot_required\":{\"type\":\"boolean\"},"                                                           \
        "\"reboot_required_packages\":{\"type\":\"array\",\"items\":" STR "},"                                  \
        "\"services_using_replaced_libraries\":{\"type\":\"array\",\"maxItems\":200,\"items\":{"                \
        "\"type\":\"object\",\"additionalProperties\":false,"                                                   \
        "\"required\":[\"pid\",\"name\",\"unit\",\"libraries\"],\"properties\":{"                               \
        "\"pid\":{\"type\":\"integer\",\"minimum\":1},\"name\":" STR ",\"unit\":" STR_OR_NULL ","               \
        "\"libraries\":{\"type\":\"array\",\"maxItems\":16,\"items\":" STR "}}}},"                              \
        "\"services_truncated\":{\"type\":\"boolean\"},"                                                        \
        "\"duration_ms\":{\"type\":\"integer\",\"minimum\":0}}}"

/* The dry run shown to approvers (tools/tool.h: Tool.plan). */
static int plan_package_call(ToolCall *call) {
        return packages_plan(call->env, call->tool->name, call->args, &call->result, call->error, sizeof call->error);
}

const Tool tools_packages[] = {
        {
                .name = "check_system_updates",
                .title = "Check for system updates",
                .description = "Lists the package updates available from the configured repositories, with "
                               "current and candidate versions, origin, and which are security updates. Uses "
                               "the package lists as they are; refresh=true downloads fresh lists first "
                               "(apt-get update, or PackageKit's RefreshCache).",
                .scope = SCOPE_SYSTEM_READ,
                .risk = RISK_LOW,
                .flags = TOOL_UNTRUSTED_OUTPUT,
                .input_schema = "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
                                "\"refresh\":{\"type\":\"boolean\",\"default\":false,"
                                "\"description\":\"Run apt-get update first (downloads index files only).\"}}}",
                .output_schema =
                        "{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"backend\",\"count\",\"security_count\",\"updates\",\"kept_back\","
                        "\"refreshed\",\"truncated\"],\"properties\":{"
                        "\"backend\":{\"type\":\"string\",\"enum\":[\"apt\",\"packagekit\"]},"
                        "\"count\":{\"type\":\"integer\",\"minimum\":0},"
                        "\"security_count\":{\"type\":\"integer\",\"minimum\":0},"
                        "\"updates\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
                        "\"additionalProperties\":false,"
                        "\"required\":[\"name\",\"current\",\"candidate\",\"origin\",\"security\"],"
                        "\"properties\":{\"name\":" STR ",\"current\":" STR ",\"candidate\":" STR ","
                        "\"origin\":" STR_OR_NULL ",\"security\":{\"type\":\"boolean\"}}}},"
                        "\"kept_back\":{\"type\":\"array\",\"items\":" STR "},"
                        "\"refreshed\":{\"type\":\"boolean\"},"
                        "\"truncated\":{\"type\":\"boolean\"}}}",
                .handler = tool_check_system_updates,
        },
        {
                .name = "list_installed_packages",
                .title = "Installed packages",
                .description = "Packages in the dpkg database with version, architecture, installed size and "
                               "status. filter is a substring of the name, or a glob when it contains *, ? or [.",
                .scope = SCOPE_SYSTEM_READ,
                .risk = RISK_LOW,
                .input_schema = "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
                                "\"filter\":{\"type\":\"string\",\"maxLength\":128,"
                                "\"description\":\"Substring of the package name, or a glob (*, ?, [...]).\"},"
                                "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":5000,\"default\":100,"
                                "\"description\":\"How many packages to return.\"}}}",
                .output_schema =
                        "{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"backend\",\"packages\",\"total_installed\",\"matched\",\"truncated\","
                        "\"filter\"],\"properties\":{"
                        "\"backend\":{\"type\":\"string\",\"enum\":[\"apt\",\"packagekit\"]},"
                        "\"packages\":{\"type\":\"array\",\"maxItems\":5000,\"items\":{\"type\":\"object\","
                        "\"additionalProperties\":false,"
                        "\"required\":[\"name\",\"version\",\"architecture\",\"installed_size_bytes\",\"status\"],"
                        "\"properties\":{\"name\":" STR ",\"version\":" STR ",\"architecture\":" STR ","
                        "\"installed_size_bytes\":{\"type\":[\"integer\",\"null\"],\"minimum\":0},"
                        "\"status\":" STR "}}},"
                        "\"total_installed\":{\"type\":\"integer\",\"minimum\":0},"
                        "\"matched\":{\"type\":\"integer\",\"minimum\":0},"
                        "\"truncated\":{\"type\":\"boolean\"},"
                        "\"filter\":" STR_OR_NULL "}}",
                .handler = tool_list_installed_packages,
        },
        {
                .name = "install_package",
                .title = "Install a package",
                .description = "Installs one package (name or name=version) and its dependencies with apt, "
                               "keeping existing configuration files. Computes the dry-run plan first and refuses "
                               "plans that would remove packages. Reports installed versions, whether a reboot "
                               "is required, and processes still using replaced libraries.",
                .scope = SCOPE_SYSTEM_ADMIN,
                .risk = RISK_CRITICAL,
                /* Process names in the replaced-library report are chosen by
                 * whoever started the process; origins come from repositories. */
                .flags = TOOL_LONG_RUNNING | TOOL_OPEN_WORLD | TOOL_IDEMPOTENT | TOOL_UNTRUSTED_OUTPUT,
                .input_schema = "{\"type\":\"object\",\"additionalProperties\":false,"
                                "\"required\":[\"package_name\"],\"properties\":{"
                                "\"package_name\":{\"type\":\"string\",\"minLength\":2,\"maxLength\":192,"
                                "\"description\":\"A Debian package name, optionally with =version.\"}}}",
                .output_schema = APPLY_OUTPUT_SCHEMA,
                .handler = tool_install_package,
                .plan = plan_package_call,
        },
        {
                .name = "update_system_packages",
                .title = "Upgrade system packages",
                .description = "Upgrades all installed packages that can be upgraded without removing or newly "
                               "installing others (apt-get upgrade), keeping existing configuration files. "
                               "Computes the dry-run plan first. Reports installed versions, whether a reboot "
                               "is required, and processes still using replaced libraries.",
                .scope = SCOPE_SYSTEM_ADMIN,
                .risk = RISK_CRITICAL,
                /* Process names in the replaced-library report are chosen by
                 * whoever started the process; origins come from repositories. */
                .flags = TOOL_LONG_RUNNING | TOOL_OPEN_WORLD | TOOL_IDEMPOTENT | TOOL_UNTRUSTED_OUTPUT,
                .input_schema = "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{}}",
                .output_schema = APPLY_OUTPUT_SCHEMA,
                .handler = tool_update_system_packages,
                .plan = plan_package_call,
        },
        {}
};
