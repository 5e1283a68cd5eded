/* SPDX-License-Identifier: MIT */
#pragma once

/* The PackageKit backend: a small client of org.freedesktop.PackageKit over
 * the system bus (sd-bus; DBUS_SYSTEM_BUS_ADDRESS is honoured). Each call
 * creates one transaction, collects its Package signals, turns its
 * Percentage into progress, and waits for Finished within a timeout. It
 * produces the same AptPlan / AptInstalledList structures as the apt
 * backend, so the tools render both alike. Not thread-safe per call object;
 * every call opens its own bus connection, so calls from several worker
 * threads do not interfere. */

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "tools/apt.h"

/* PackageKit's PkInfoEnum values we use. */
enum {
        PK_INFO_INSTALLED = 1,
        PK_INFO_AVAILABLE = 2,
        PK_INFO_SECURITY = 8,
        PK_INFO_UPDATING = 11,
        PK_INFO_INSTALLING = 12,
        PK_INFO_REMOVING = 13,
        PK_INFO_OBSOLETING = 15,
        PK_INFO_REINSTALLING = 19,
        PK_INFO_DOWNGRADING = 20,
};

typedef struct PkPackageId {
        char name[APT_NAME_MAX];
        char version[APT_VERSION_MAX];
        char arch[APT_ARCH_MAX];
        char data[APT_ORIGIN_MAX];      /* "installed:...", or the repository ("debian-bookworm-main") */
} PkPackageId;

/* Splits "name;version;arch;data". Returns 0, or -EINVAL when it does not
 * have exactly four fields or a field does not fit. Output is printable
 * ASCII. */
int pk_package_id_parse(const char *id, PkPackageId *ret);

typedef void (*PkProgressFn)(void *userdata, double percent, const char *message);

/* The four package operations on PackageKit. Each returns 0 or a negative
 * errno with a message in errbuf: -EBUSY when the package manager lock is
 * held (PackageKit would wait for it: the transaction is cancelled after a
 * few seconds instead), -ETIMEDOUT, -ECANCELED, -ENOENT for an unknown
 * package, -EHOSTUNREACH when PackageKit cannot be reached. */

/* Available updates as a plan of upgrades (current versions filled in).
 * refresh: RefreshCache first. */
int pk_get_updates(int timeout_ms, const atomic_bool *cancelled, bool refresh, AptPlan *ret, char *errbuf,
                   size_t errlen);

/* Installed packages (no sizes; status "installed"). */
int pk_list_installed(int timeout_ms, const atomic_bool *cancelled, AptInstalledList *ret, char *errbuf,
                      size_t errlen);

/* Install `name` (version may be "" for the newest) or, with name NULL,
 * upgrade everything upgradable. With simulate the plan is returned and
 * nothing changes; otherwise the transaction runs with progress. *ret_already
 * is set when the package is installed at the newest version already. */
int pk_install(int timeout_ms, const atomic_bool *cancelled, const char *name, const char *version,
               bool simulate, PkProgressFn progress, void *userdata, AptPlan *ret, bool *ret_already, char *errbuf,
               size_t errlen);
