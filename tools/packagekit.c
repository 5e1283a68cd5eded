/* SPDX-License-Identifier: MIT */

/* The PackageKit backend (see packagekit.h).
 *
 * One transaction per operation: CreateTransaction, subscribe to the
 * transaction's signals (before starting it, so nothing is missed),
 * SetHints(interactive=false) so polkit never waits for a human, call the
 * method, then pump the connection until Finished, the timeout, a
 * cancellation, or a lock wait. PackageKit queues behind a held dpkg lock
 * ("waiting for lock") indefinitely; a tool call must not, so after
 * PK_LOCK_WAIT_MS of that status the transaction is cancelled and the call
 * fails with the same "another package manager is running" error as apt.
 * Everything PackageKit sends is untrusted text: package ids are split into
 * bounded, printable fields. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-bus.h>

#include "common/cleanup.h"
#include "tools/packagekit.h"

#define PK_SERVICE "org.freedesktop.PackageKit"
#define PK_PATH "/org/freedesktop/PackageKit"
#define PK_IFACE "org.freedesktop.PackageKit"
#define PK_TX_IFACE "org.freedesktop.PackageKit.Transaction"
#define PK_LOCK_WAIT_MS 3000
#define PK_PACKAGES_MAX 200000u

/* PkFilterEnum bits, PkTransactionFlagEnum bits, PkExitEnum, PkErrorEnum, PkStatusEnum. */
#define PK_FILTER_NONE (UINT64_C(1) << 1)
#define PK_FILTER_INSTALLED (UINT64_C(1) << 2)
#define PK_FILTER_NEWEST (UINT64_C(1) << 16)
#define PK_FLAG_ONLY_TRUSTED (UINT64_C(1) << 1)
#define PK_FLAG_SIMULATE (UINT64_C(1) << 2)
#define PK_EXIT_SUCCESS 1u
#define PK_ERROR_PACKAGE_NOT_FOUND 8u
#define PK_ERROR_CANNOT_GET_LOCK 26u
#define PK_ERROR_LOCK_REQUIRED 67u
#define PK_STATUS_WAITING_FOR_LOCK 30u

static uint64_t mono_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

static int copy_field(const char *s, size_t n, char *out, size_t size) {
        if (n + 1 > size)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                out[i] = ((unsigned char) s[i] >= 0x20 && (unsigned char) s[i] < 0x7f) ? s[i] : '?';
        out[n] = '\0';
        return 0;
}

int pk_package_id_parse(const char *id, PkPackageId *ret) {
        const char *f[4], *p = id;
        size_t fl[4];
        PkPackageId r = {};

        if (!id || !ret)
                return -EINVAL;
        for (int i = 0; i < 4; i++) {
                const char *semi = strchr(p, ';');

                if (i < 3 && !semi)
                        return -EINVAL;
                if (i == 3 && semi)
                        return -EINVAL;
                f[i] = p;
                fl[i] = semi ? (size_t) (semi - p) : strlen(p);
                p = semi ? semi + 1 : p + fl[i];
        }
        if (fl[0] == 0 || copy_field(f[0], fl[0], r.name, sizeof r.name) < 0 ||
            copy_field(f[1], fl[1], r.version, sizeof r.version) < 0 ||
            copy_field(f[2], fl[2], r.arch, sizeof r.arch) < 0 ||
            copy_field(f[3], fl[3], r.data, sizeof r.data) < 0)
                return -EINVAL;
        *ret = r;
        return 0;
}

/* One transaction's collected state. */
typedef struct PkTx {
        PkPackageId *pkgs;
        uint32_t *infos;
        char **ids;             /* raw package ids, for passing them back */
        size_t n, cap;
        bool finished, oom, truncated;
        uint32_t exit, error_code, status;
        char error[256];
        PkProgressFn progress;
        void *userdata;
        double last_pct;
} PkTx;

static void pk_tx_done(PkTx *t) {
        for (size_t i = 0; i < t->n; i++)
                free(t->ids[i]);
        free(t->ids);
        free(t->pkgs);
        free(t->infos);
        *t = (PkTx) {};
}

static const char *status_text(uint32_t s) {
        switch (s) {
        case 2:
                return "setting up";
        case 8:
                return "downloading";
        case 9:
                return "installing";
        case 10:
                return "updating";
        case 11:
                return "cleaning up";
        case 13:
                return "resolving dependencies";
        case 16:
                return "committing";
        case 27:
                return "loading cache";
        case PK_STATUS_WAITING_FOR_LOCK:
                return "waiting for the package manager lock";
        default:
                return "working";
        }
}

static void tx_add_package(PkTx *t, uint32_t info, const char *id) {
        PkPackageId p;
        char *dup;

        if (pk_package_id_parse(id, &p) < 0)
                return;
        if (t->n >= PK_PACKAGES_MAX) {
                t->truncated = true;
                return;
        }
        if (t->n == t->cap) {
                size_t ncap = t->cap ? t->cap * 2 : 64;
                PkPackageId *np = reallocarray(t->pkgs, ncap, sizeof *np);
                uint32_t *ni;
                char **nids;

                if (!np) {
                        t->oom = true;
                        return;
                }
                t->pkgs = np;
                ni = reallocarray(t->infos, ncap, sizeof *ni);
                if (!ni) {
                        t->oom = true;
                        return;
                }
                t->infos = ni;
                nids = reallocarray(t->ids, ncap, sizeof *nids);
                if (!nids) {
                        t->oom = true;
                        return;
                }
                t->ids = nids;
                t->cap = ncap;
        }
        dup = strdup(id);
        if (!dup) {
                t->oom = true;
                return;
        }
        t->pkgs[t->n] = p;
        t->infos[t->n] = info;
        t->ids[t->n] = dup;
        t->n++;
}

static void tx_properties(PkTx *t, sd_bus_message *m) {
        const char *iface;

        if (sd_bus_message_read(m, "s", &iface) < 0 || sd_bus_message_enter_container(m, 'a', "{sv}") <= 0)
                return;
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                const char *key;
                uint32_t v;

                if (sd_bus_message_read(m, "s", &key) < 0)
                        return;
                if ((streq(key, "Percentage") || streq(key, "Status")) &&
                    sd_bus_message_enter_container(m, 'v', "u") > 0) {
                        if (sd_bus_message_read(m, "u", &v) < 0)
                                return;
                        (void) sd_bus_message_exit_container(m);
                        if (streq(key, "Status"))
                                t->status = v;
                        else if (v <= 100 && t->progress && (double) v > t->last_pct) {
                                t->last_pct = v;
                                t->progress(t->userdata, (double) v, status_text(t->status));
                        }
                } else if (sd_bus_message_skip(m, "v") < 0)
                        return;
                if (sd_bus_message_exit_container(m) < 0)
                        return;
        }
}

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        PkTx *t = userdata;
        const char *member = sd_bus_message_get_member(m);

        if (!member)
                return 0;
        if (streq(member, "Package")) {
                const char *id, *summary;
                uint32_t info;

                if (sd_bus_message_read(m, "uss", &info, &id, &summary) >= 0)
                        tx_add_package(t, info, id);
        } else if (streq(member, "Finished")) {
                uint32_t exit_code, runtime;

                if (sd_bus_message_read(m, "uu", &exit_code, &runtime) >= 0) {
                        t->exit = exit_code;
                        t->finished = true;
                }
        } else if (streq(member, "ErrorCode")) {
                const char *details;
                uint32_t code;

                if (sd_bus_message_read(m, "us", &code, &details) >= 0 && t->error_code == 0) {
                        t->error_code = code;
                        (void) copy_field(details, strnlen(details, sizeof t->error - 1), t->error,
                                          sizeof t->error);
                }
        } else if (streq(member, "PropertiesChanged"))
                tx_properties(t, m);
        return 0;
}

typedef enum TxArgs {
        TX_ARGS_T,      /* (t) */
        TX_ARGS_TAS,    /* (t, as) */
        TX_ARGS_B,      /* (b) */
} TxArgs;

static inline void bus_closep(sd_bus **b) {
        if (*b)
                sd_bus_flush_close_unref(*b);
}

static inline void msg_unrefp(sd_bus_message **m) {
        if (*m)
                sd_bus_message_unref(*m);
}

/* Runs one transaction. On 0, *t holds what PackageKit sent and the
 * transaction succeeded. */
static int pk_tx_run(PkTx *t, int timeout_ms, const atomic_bool *cancelled, const char *method, TxArgs args,
                     uint64_t arg_t, char **strv, int arg_b, char *errbuf, size_t errlen) {
        _cleanup_(bus_closep) sd_bus *bus = NULL;
        _cleanup_(msg_unrefp) sd_bus_message *reply = NULL, *call = NULL;
        _cleanup_free_ char *path = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *p;
        uint64_t deadline = mono_ms() + (uint64_t) timeout_ms, lock_since = 0;
        char *hints[] = { (char *) "interactive=false", (char *) "background=false", (char *) "locale=C", NULL };
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                snprintf(errbuf, errlen, "cannot connect to the system bus for PackageKit: %s", strerror(-r));
                return -EHOSTUNREACH;
        }
        r = sd_bus_call_method(bus, PK_SERVICE, PK_PATH, PK_IFACE, "CreateTransaction", &error, &reply, "");
        if (r < 0) {
                snprintf(errbuf, errlen, "PackageKit is not available: %s",
                         error.message ? error.message : strerror(-r));
                sd_bus_error_free(&error);
                return -EHOSTUNREACH;
        }
        r = sd_bus_message_read(reply, "o", &p);
        if (r < 0 || !(path = strdup(p))) {
                snprintf(errbuf, errlen, "PackageKit: bad CreateTransaction reply");
                return r < 0 ? -EPROTO : -ENOMEM;
        }

        /* Subscribe before starting: signals are not replayed. */
        r = sd_bus_match_signal(bus, NULL, PK_SERVICE, path, PK_TX_IFACE, NULL, on_signal, t);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, PK_SERVICE, path, "org.freedesktop.DBus.Properties",
                                        "PropertiesChanged", on_signal, t);
        if (r < 0) {
                snprintf(errbuf, errlen, "PackageKit: cannot subscribe to signals: %s", strerror(-r));
                return r;
        }

        r = sd_bus_message_new_method_call(bus, &call, PK_SERVICE, path, PK_TX_IFACE, "SetHints");
        if (r >= 0)
                r = sd_bus_message_append_strv(call, hints);
        if (r >= 0)
                r = sd_bus_call(bus, call, 0, &error, NULL);
        sd_bus_error_free(&error);
        call = sd_bus_message_unref(call);
        /* Older daemons may refuse some hints; the call itself matters. */

        r = sd_bus_message_new_method_call(bus, &call, PK_SERVICE, path, PK_TX_IFACE, method);
        if (r >= 0) {
                if (args == TX_ARGS_B)
                        r = sd_bus_message_append(call, "b", arg_b);
                else
                        r = sd_bus_message_append(call, "t", arg_t);
        }
        if (r >= 0 && args == TX_ARGS_TAS)
                r = sd_bus_message_append_strv(call, strv);
        if (r < 0) {
                snprintf(errbuf, errlen, "out of memory");
                return -ENOMEM;
        }
        r = sd_bus_call(bus, call, (uint64_t) timeout_ms * 1000u, &error, NULL);
        if (r < 0) {
                snprintf(errbuf, errlen, "PackageKit %s: %s", method,
                         error.message ? error.message : strerror(-r));
                sd_bus_error_free(&error);
                return -EIO;
        }

        while (!t->finished) {
                uint64_t now = mono_ms();
                const char *why = NULL;
                int ret_r = 0;

                r = sd_bus_process(bus, NULL);
                if (r < 0) {
                        snprintf(errbuf, errlen, "PackageKit: lost the bus: %s", strerror(-r));
                        return -EIO;
                }
                if (r > 0)
                        continue;

                if (t->status == PK_STATUS_WAITING_FOR_LOCK) {
                        if (!lock_since)
                                lock_since = now;
                } else
                        lock_since = 0;

                if (cancelled && atomic_load(cancelled)) {
                        why = "cancelled";
                        ret_r = -ECANCELED;
                } else if (now >= deadline) {
                        why = "timed out";
                        ret_r = -ETIMEDOUT;
                } else if (lock_since && now - lock_since >= PK_LOCK_WAIT_MS) {
                        why = "another package manager is running (dpkg lock held): retry later";
                        ret_r = -EBUSY;
                } else if (t->oom) {
                        why = "out of memory";
                        ret_r = -ENOMEM;
                }
                if (ret_r < 0) {
                        /* Best effort: PackageKit stops at a safe point. */
                        (void) sd_bus_call_method(bus, PK_SERVICE, path, PK_TX_IFACE, "Cancel", NULL, NULL, "");
                        if (ret_r == -ETIMEDOUT)
                                snprintf(errbuf, errlen, "PackageKit %s timed out after %d s", method,
                                         timeout_ms / 1000);
                        else
                                snprintf(errbuf, errlen, "%s", why);
                        return ret_r;
                }
                r = sd_bus_wait(bus, 100 * 1000);
                if (r < 0 && r != -EINTR) {
                        snprintf(errbuf, errlen, "PackageKit: lost the bus: %s", strerror(-r));
                        return -EIO;
                }
        }

        if (t->oom) {
                snprintf(errbuf, errlen, "out of memory");
                return -ENOMEM;
        }
        if (t->exit == PK_EXIT_SUCCESS)
                return 0;
        if (t->error_code == PK_ERROR_CANNOT_GET_LOCK || t->error_code == PK_ERROR_LOCK_REQUIRED) {
                snprintf(errbuf, errlen, "another package manager is running (dpkg lock held): retry later");
                return -EBUSY;
        }
        if (t->error_code == PK_ERROR_PACKAGE_NOT_FOUND) {
                snprintf(errbuf, errlen, "PackageKit: %s", t->error[0] ? t->error : "package not found");
                return -ENOENT;
        }
        snprintf(errbuf, errlen, "PackageKit %s failed (exit %u, error %u): %s", method, t->exit, t->error_code,
                 t->error[0] ? t->error : "no message");
        return -EIO;
}

static int plan_push(AptPlan *p, size_t *cap, const AptPlanItem *it) {
        if (p->n_items >= APT_PLAN_ITEMS_MAX) {
                p->truncated = true;
                return 0;
        }
        if (p->n_items == *cap) {
                size_t ncap = *cap ? *cap * 2 : 16;
                AptPlanItem *ni = reallocarray(p->items, ncap, sizeof *ni);

                if (!ni)
                        return -ENOMEM;
                p->items = ni;
                *cap = ncap;
        }
        p->items[p->n_items++] = *it;
        return 0;
}

/* Fills old_version of plan items from Resolve(installed). */
static int fill_current(AptPlan *p, int timeout_ms, const atomic_bool *cancelled, char *errbuf, size_t errlen) {
        _cleanup_(pk_tx_done) PkTx t = {};
        _cleanup_free_ char **names = NULL;
        size_t n = 0;
        int r;

        if (p->n_items == 0)
                return 0;
        names = calloc(p->n_items + 1, sizeof *names);
        if (!names)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_items; i++)
                if (p->items[i].action != APT_ACTION_INSTALL)
                        names[n++] = p->items[i].name;
        if (n == 0)
                return 0;
        r = pk_tx_run(&t, timeout_ms, cancelled, "Resolve", TX_ARGS_TAS, PK_FILTER_INSTALLED, names, 0, errbuf,
                      errlen);
        if (r < 0)
                return r;
        for (size_t i = 0; i < p->n_items; i++)
                for (size_t k = 0; k < t.n; k++)
                        if (streq(t.pkgs[k].name, p->items[i].name) && p->items[i].action != APT_ACTION_INSTALL) {
                                snprintf(p->items[i].old_version, sizeof p->items[i].old_version, "%s",
                                         t.pkgs[k].version);
                                if (p->items[i].action == APT_ACTION_UPGRADE &&
                                    streq(p->items[i].old_version, p->items[i].new_version))
                                        p->items[i].action = APT_ACTION_REINSTALL;
                                break;
                        }
        return 0;
}

int pk_get_updates(int timeout_ms, const atomic_bool *cancelled, bool refresh, AptPlan *ret, char *errbuf,
                   size_t errlen) {
        _cleanup_(pk_tx_done) PkTx t = {};
        AptPlan p = {};
        size_t cap = 0;
        int r;

        if (refresh) {
                PkTx rt = {};

                r = pk_tx_run(&rt, timeout_ms, cancelled, "RefreshCache", TX_ARGS_B, 0, NULL, 0, errbuf, errlen);
                pk_tx_done(&rt);
                if (r < 0)
                        return r;
        }
        r = pk_tx_run(&t, timeout_ms, cancelled, "GetUpdates", TX_ARGS_T, PK_FILTER_NONE, NULL, 0, errbuf, errlen);
        if (r < 0)
                return r;
        for (size_t i = 0; i < t.n; i++) {
                AptPlanItem it = { .action = APT_ACTION_UPGRADE };

                snprintf(it.name, sizeof it.name, "%s", t.pkgs[i].name);
                snprintf(it.new_version, sizeof it.new_version, "%s", t.pkgs[i].version);
                snprintf(it.arch, sizeof it.arch, "%s", t.pkgs[i].arch);
                snprintf(it.origin, sizeof it.origin, "%s", t.pkgs[i].data);
                it.security = t.infos[i] == PK_INFO_SECURITY || apt_origin_is_security(it.origin);
                if (plan_push(&p, &cap, &it) < 0) {
                        apt_plan_done(&p);
                        snprintf(errbuf, errlen, "out of memory");
                        return -ENOMEM;
                }
        }
        p.truncated = p.truncated || t.truncated;
        r = fill_current(&p, timeout_ms, cancelled, errbuf, errlen);
        if (r < 0) {
                apt_plan_done(&p);
                return r;
        }
        *ret = p;
        return 0;
}

static int installed_cmp(const void *a, const void *b) {
        const AptInstalled *x = a, *y = b;
        int c = strcmp(x->name, y->name);

        return c ? c : strcmp(x->arch, y->arch);
}

int pk_list_installed(int timeout_ms, const atomic_bool *cancelled, AptInstalledList *ret, char *errbuf,
                      size_t errlen) {
        _cleanup_(pk_tx_done) PkTx t = {};
        AptInstalledList l = {};
        int r;

        r = pk_tx_run(&t, timeout_ms, cancelled, "GetPackages", TX_ARGS_T, PK_FILTER_INSTALLED, NULL, 0, errbuf,
                      errlen);
        if (r < 0)
                return r;
        l.items = calloc(t.n ? t.n : 1, sizeof *l.items);
        if (!l.items) {
                snprintf(errbuf, errlen, "out of memory");
                return -ENOMEM;
        }
        for (size_t i = 0; i < t.n; i++) {
                AptInstalled *it = &l.items[l.n_items++];

                snprintf(it->name, sizeof it->name, "%s", t.pkgs[i].name);
                snprintf(it->version, sizeof it->version, "%s", t.pkgs[i].version);
                snprintf(it->arch, sizeof it->arch, "%s", t.pkgs[i].arch);
                snprintf(it->status, sizeof it->status, "installed");
                it->installed = true;
        }
        if (l.n_items > 1)
                qsort(l.items, l.n_items, sizeof *l.items, installed_cmp);
        l.truncated = t.truncated;
        *ret = l;
        return 0;
}

static AptAction info_to_action(uint32_t info, bool *ok) {
        *ok = true;
        switch (info) {
        case PK_INFO_INSTALLING:
                return APT_ACTION_INSTALL;
        case PK_INFO_UPDATING:
        case PK_INFO_DOWNGRADING:
                return APT_ACTION_UPGRADE;
        case PK_INFO_REINSTALLING:
                return APT_ACTION_REINSTALL;
        case PK_INFO_REMOVING:
        case PK_INFO_OBSOLETING:
                return APT_ACTION_REMOVE;
        default:
                *ok = false;
                return APT_ACTION_INSTALL;
        }
}

int pk_install(int timeout_ms, const atomic_bool *cancelled, const char *name, const char *version,
               bool simulate, PkProgressFn progress, void *userdata, AptPlan *ret, bool *ret_already, char *errbuf,
               size_t errlen) {
        _cleanup_(pk_tx_done) PkTx resolved = {}, run = {};
        _cleanup_free_ char **ids = NULL;
        AptPlan p = {};
        size_t n_ids = 0, cap = 0;
        bool already = false;
        int r;

        if (!ret)
                return -EINVAL;
        if (name) {
                char *names[] = { (char *) name, NULL };
                ssize_t pick = -1;
                bool have_installed = false;

                r = pk_tx_run(&resolved, timeout_ms, cancelled, "Resolve", TX_ARGS_TAS,
                              version && version[0] ? PK_FILTER_NONE : PK_FILTER_NEWEST, names, 0, errbuf, errlen);
                if (r == -ENOENT || (r == 0 && resolved.n == 0)) {
                        snprintf(errbuf, errlen, "package '%s' not found in the configured repositories", name);
                        return -ENOENT;
                }
                if (r < 0)
                        return r;
                for (size_t i = 0; i < resolved.n; i++) {
                        if (!streq(resolved.pkgs[i].name, name))
                                continue;
                        if (version && version[0]) {
                                if (streq(resolved.pkgs[i].version, version)) {
                                        if (resolved.infos[i] == PK_INFO_INSTALLED)
                                                have_installed = true;
                                        else if (pick < 0)
                                                pick = (ssize_t) i;
                                }
                        } else if (resolved.infos[i] == PK_INFO_INSTALLED)
                                have_installed = true;
                        else if (pick < 0)
                                pick = (ssize_t) i;
                }
                if (pick < 0 && have_installed)
                        already = true;
                else if (pick < 0) {
                        snprintf(errbuf, errlen, "package '%s'%s%s not found in the configured repositories", name,
                                 version && version[0] ? " version " : "", version && version[0] ? version : "");
                        return -ENOENT;
                } else {
                        ids = calloc(2, sizeof *ids);
                        if (!ids)
                                return -ENOMEM;
                        ids[n_ids++] = resolved.ids[pick];
                }
        } else {
                r = pk_tx_run(&resolved, timeout_ms, cancelled, "GetUpdates", TX_ARGS_T, PK_FILTER_NONE, NULL, 0,
                              errbuf, errlen);
                if (r < 0)
                        return r;
                ids = calloc(resolved.n + 1, sizeof *ids);
                if (!ids)
                        return -ENOMEM;
                for (size_t i = 0; i < resolved.n; i++)
                        ids[n_ids++] = resolved.ids[i];
        }

        if (n_ids > 0) {
                run.progress = simulate ? NULL : progress;
                run.userdata = userdata;
                r = pk_tx_run(&run, timeout_ms, simulate ? cancelled : NULL,
                              name ? "InstallPackages" : "UpdatePackages", TX_ARGS_TAS,
                              PK_FLAG_ONLY_TRUSTED | (simulate ? PK_FLAG_SIMULATE : 0), ids, 0, errbuf, errlen);
                if (r < 0)
                        return r;
                if (simulate)
                        for (size_t i = 0; i < run.n; i++) {
                                AptPlanItem it = {};
                                bool ok;

                                it.action = info_to_action(run.infos[i], &ok);
                                if (!ok)
                                        continue;
                                snprintf(it.name, sizeof it.name, "%s", run.pkgs[i].name);
                                if (it.action != APT_ACTION_REMOVE)
                                        snprintf(it.new_version, sizeof it.new_version, "%s", run.pkgs[i].version);
                                else
                                        snprintf(it.old_version, sizeof it.old_version, "%s", run.pkgs[i].version);
                                snprintf(it.arch, sizeof it.arch, "%s", run.pkgs[i].arch);
                                snprintf(it.origin, sizeof it.origin, "%s", run.pkgs[i].data);
                                it.security = apt_origin_is_security(it.origin);
                                if (plan_push(&p, &cap, &it) < 0) {
                                        apt_plan_done(&p);
                                        return -ENOMEM;
                                }
                        }
        }
        if (simulate) {
                r = fill_current(&p, timeout_ms, cancelled, errbuf, errlen);
                if (r < 0) {
                        apt_plan_done(&p);
                        return r;
                }
        }
        *ret = p;
        if (ret_already)
                *ret_already = already;
        return 0;
}
