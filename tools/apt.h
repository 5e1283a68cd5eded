/* SPDX-License-Identifier: MIT */
#pragma once

/* The apt/dpkg package backend: parsers for apt-get and dpkg-query output,
 * the scan for processes that still map replaced libraries, and the entry
 * point the approval code uses to get the dry-run plan of a critical call.
 *
 * The parsers are pure functions over untrusted text (they are fuzzed:
 * tests/fuzz/fuzz_apt.c): every token is bounded, every list capped, and
 * everything they keep is printable ASCII. They never log. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tools/tool.h"

#define APT_NAME_MAX 128u               /* package name, maybe with ":arch" */
#define APT_VERSION_MAX 128u
#define APT_ORIGIN_MAX 256u
#define APT_ARCH_MAX 32u
#define APT_STATUS_MAX 64u
#define APT_PLAN_ITEMS_MAX 20000u
#define APT_KEPT_BACK_MAX 5000u
#define APT_INSTALLED_MAX 200000u

typedef enum AptAction {
        APT_ACTION_INSTALL,     /* new package */
        APT_ACTION_UPGRADE,     /* installed, another version comes */
        APT_ACTION_REINSTALL,   /* same version again */
        APT_ACTION_REMOVE,
        APT_ACTION_PURGE,
        _APT_ACTION_MAX,
} AptAction;

/* "install", "upgrade", ...; NULL for an invalid value. */
const char *apt_action_to_string(AptAction a);

typedef struct AptPlanItem {
        AptAction action;
        char name[APT_NAME_MAX];
        char old_version[APT_VERSION_MAX];      /* "" for new installs */
        char new_version[APT_VERSION_MAX];      /* "" for removals */
        char origin[APT_ORIGIN_MAX];            /* "Label:Version/Archive[, ...]", "" when unknown */
        char arch[APT_ARCH_MAX];                /* "" when unknown */
        bool security;
} AptPlanItem;

typedef struct AptPlan {
        AptPlanItem *items;
        size_t n_items;
        char (*kept_back)[APT_NAME_MAX];        /* "The following packages have been kept back:" */
        size_t n_kept_back;
        bool truncated;                         /* a cap was reached: the plan is incomplete */
} AptPlan;

/* Parses one line of `apt-get -s install|upgrade|dist-upgrade` output
 * ("Inst", "Remv" or "Purg"; "Conf" and everything else are not plan lines).
 * `line` need not be NUL-terminated. Returns 1 and fills *ret for a plan
 * line, 0 for any other line, -EINVAL for a plan line it cannot read. */
int apt_plan_parse_line(const char *line, size_t len, AptPlanItem *ret);

/* Parses a whole simulation output into *ret (free with apt_plan_done()).
 * Malformed plan lines are skipped. Returns 0 or -ENOMEM (then *ret is
 * untouched). */
int apt_plan_parse(const char *text, size_t len, AptPlan *ret);

/* Frees a plan's arrays. Accepts a zeroed plan. */
void apt_plan_done(AptPlan *p);

/* True when a release string names a security archive ("Debian-Security:",
 * "jammy-security", ...). */
bool apt_origin_is_security(const char *origin);

/* The plan as JSON: {"actions":[{action,name,current,candidate,origin,
 * architecture,security}], "installs", "upgrades", "removals",
 * "security_updates", "kept_back":[...], "truncated"}. New reference, NULL
 * on allocation failure. */
json_t *apt_plan_to_json(const AptPlan *p);

/* One package as dpkg-query lists it with APT_DPKG_QUERY_FORMAT. */
typedef struct AptInstalled {
        char name[APT_NAME_MAX];
        char version[APT_VERSION_MAX];
        char arch[APT_ARCH_MAX];
        uint64_t installed_size_kib;
        bool has_size;
        char status[APT_STATUS_MAX];            /* "install ok installed" */
        bool installed;                         /* the state word is "installed" */
} AptInstalled;

typedef struct AptInstalledList {
        AptInstalled *items;
        size_t n_items;
        bool truncated;
} AptInstalledList;

#define APT_DPKG_QUERY_FORMAT "${Package}\\t${Version}\\t${Architecture}\\t${Installed-Size}\\t${Status}\\n"

/* Parses one dpkg-query line (without the newline). Returns 1 and fills
 * *ret, 0 for an empty line, -EINVAL for a malformed one. */
int apt_installed_parse_line(const char *line, size_t len, AptInstalled *ret);

/* Parses dpkg-query output; packages that are neither installed nor
 * half-way there ("not-installed", "config-files") are left out. Sorted by
 * name. Returns 0 or -ENOMEM (*ret untouched). */
int apt_installed_parse(const char *text, size_t len, AptInstalledList *ret);
void apt_installed_done(AptInstalledList *l);

/* Looks a package up by name ("name" or "name:arch"). Borrowed pointer or
 * NULL. */
const AptInstalled *apt_installed_find(const AptInstalledList *l, const char *name);

/* Parses an APT::Status-Fd line ("dlstatus:..." or "pmstatus:PKG:PCT:MSG").
 * Returns 1 with the overall percentage (downloads count as the first 20 %,
 * dpkg as the rest) and a printable message, 0 for other lines. */
int apt_status_parse_line(const char *line, size_t len, double *ret_percent, char *msg, size_t msgsize);

/* True when apt's stderr says the dpkg or apt lock is held by someone else. */
bool apt_lock_error(const char *err);

/* Copies the first "E: " line of apt's stderr (printable ASCII, at most
 * size-1 bytes) into buf; falls back to the first non-empty line. */
void apt_first_error(const char *err, char *buf, size_t size);

/* Splits and validates "name[=version]": a Debian package name
 * ([a-z0-9][a-z0-9+.-]{1,63}, not ending in '-', which apt-get would read
 * as "remove") and an optional version
 * ([epoch:]upstream[-revision], starting with a digit, at most 127 bytes).
 * Returns 0, or -EINVAL with a reason in *ret_reason (static string). */
int apt_package_spec_parse(const char *spec, char name[static 65], char version[static APT_VERSION_MAX],
                           const char **ret_reason);

/* Replaced-library scan ---------------------------------------------------- */

/* Parses one /proc/PID/maps line. Returns 1 and copies the path (without
 * " (deleted)") when the line maps a deleted file below /usr/lib* or
 * /lib*, else 0. */
int apt_maps_line_deleted_lib(const char *line, size_t len, char *path, size_t size);

/* Finds the systemd unit ("foo.service", "foo.scope") in /proc/PID/cgroup
 * text. Returns 1 and copies it, or 0. */
int apt_cgroup_unit(const char *text, size_t len, char *unit, size_t size);

/* Walks /proc for processes that map deleted libraries. Bounded: at most
 * `max_procs` processes reported, 16 libraries each, 64 Ki maps lines per
 * process. Returns a JSON array (new reference) of {pid, name, unit|null,
 * libraries} in *ret and sets *ret_truncated; -ECANCELED when `cancelled`
 * becomes true, -ENOMEM. */
int apt_scan_replaced_libraries(const atomic_bool *cancelled, size_t max_procs, json_t **ret,
                                bool *ret_truncated);

/* Reboot-required state (/var/run/reboot-required and its .pkgs). Returns
 * whether a reboot is required and, in *ret_pkgs (new reference), the
 * packages that asked for it (at most 256). */
int apt_reboot_required(bool *ret_required, json_t **ret_pkgs);

/* For the approval code ------------------------------------------------------ */

/* Computes the dry-run plan of a critical package call before it is
 * approved: `tool` is "install_package" (args {"package_name"}) or
 * "update_system_packages". Runs `apt-get -s`, or a simulated PackageKit
 * transaction (never changes the system; may be called from any worker
 * thread; blocks up to env->timeout_sec, a few times over for PackageKit).
 * Returns 0 and a new reference in *ret_plan (the same object the tool
 * reports as "plan"), or a negative errno with a message in errbuf:
 * -EINVAL bad arguments, -EOPNOTSUPP unknown tool or backend, -ENOENT
 * unknown package, -EHOSTUNREACH PackageKit unreachable, -EBUSY package
 * manager lock held, -ETIMEDOUT, -EIO apt/PackageKit failed. */
int packages_plan(const ToolEnv *env, const char *tool, json_t *args, json_t **ret_plan, char *errbuf,
                  size_t errlen);

/* Shared by the tools (tools/packages.c) ------------------------------------ */

#include "tools/runner.h"

enum {
        PACKAGES_BACKEND_APT = 0,
        PACKAGES_BACKEND_PACKAGEKIT = 1,
};

/* Picks the backend from packages.backend: "apt"; "packagekit"; "auto" or
 * unset: apt when apt-get exists, else PackageKit. Returns
 * PACKAGES_BACKEND_*, or -EOPNOTSUPP with a message in errbuf. */
int apt_backend_check(const ToolEnv *env, char *errbuf, size_t errlen);

/* Runs an apt tool (argv[0] "apt-get" or "dpkg-query") through the runner
 * with DEBIAN_FRONTEND=noninteractive, LANG=C, and the daemon's APT_CONFIG
 * when it has one. Output is kept up to an internal cap (8 MiB), not the
 * tool's max_output_bytes: it is parsed, not returned. Same returns as
 * runner_run(). */
int apt_exec(char *const argv[], int timeout_ms, const atomic_bool *cancelled, RunnerLineFn on_line,
             void *userdata, RunnerResult *ret);

/* Simulates `apt-get install SPEC` (spec validated by the caller) or, with
 * spec NULL, `apt-get upgrade`, and parses the plan. For an install it also
 * checks that apt took the name literally (no pattern, no virtual package):
 * the plan must contain the package, or it must already be installed (then
 * *ret_already is set). Returns 0 or a negative errno with a message in
 * errbuf (see packages_plan()). */
int apt_simulate(const ToolEnv *env, const atomic_bool *cancelled, const char *name, const char *spec,
                 AptPlan *ret, bool *ret_already, char *errbuf, size_t errlen);

/* Lists the dpkg database (dpkg-query -W). Returns 0 or a negative errno
 * with a message in errbuf. */
int apt_list_installed(const ToolEnv *env, const atomic_bool *cancelled, AptInstalledList *ret, char *errbuf,
                       size_t errlen);

/* Timeouts in milliseconds for short (simulate, query, update) and long
 * (install, upgrade) apt work, from the ToolEnv with defaults. */
int apt_timeout_ms(const ToolEnv *env, bool long_running);
