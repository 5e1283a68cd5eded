/* SPDX-License-Identifier: MIT */

/* The apt/dpkg backend (see apt.h).
 *
 * apt-get and dpkg-query run as argument vectors through the runner, with
 * LANG=C so their output has one fixed shape to parse. Everything read back
 * (package names, versions, release labels, process names) is untrusted
 * text: tokens are bounded and reduced to printable ASCII before they reach
 * JSON. */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "tools/apt.h"
#include "tools/packagekit.h"

#define APT_OUTPUT_MAX (8u * 1024u * 1024u)
#define APT_SHORT_TIMEOUT_DEFAULT_MS (120 * 1000)
#define APT_LONG_TIMEOUT_DEFAULT_MS (3600 * 1000)
#define MAPS_LINES_MAX 65536u
#define LIBS_PER_PROC_MAX 16u
#define PROCS_SCAN_MAX 65536u
#define REBOOT_PKGS_MAX 256u

#define APT_GET "/usr/bin/apt-get"

static const char *const action_names[_APT_ACTION_MAX] = {
        [APT_ACTION_INSTALL] = "install",
        [APT_ACTION_UPGRADE] = "upgrade",
        [APT_ACTION_REINSTALL] = "reinstall",
        [APT_ACTION_REMOVE] = "remove",
        [APT_ACTION_PURGE] = "purge",
};

const char *apt_action_to_string(AptAction a) {
        if (a < 0 || a >= _APT_ACTION_MAX)
                return NULL;
        return action_names[a];
}

/* Copies s[0..n) into out (size > 0) as printable ASCII; other bytes become
 * '?'. Returns -E2BIG when it does not fit. */
static int copy_token(const char *s, size_t n, char *out, size_t size) {
        if (n + 1 > size)
                return -E2BIG;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];

                out[i] = (c >= 0x20 && c < 0x7f) ? (char) c : '?';
        }
        out[n] = '\0';
        return 0;
}

/* Like copy_token() but cuts instead of failing. */
static void copy_clipped(const char *s, size_t n, char *out, size_t size) {
        if (size == 0)
                return;
        if (n + 1 > size)
                n = size - 1;
        (void) copy_token(s, n, out, size);
}

static bool has_prefix(const char *s, size_t len, const char *prefix) {
        size_t pl = strlen(prefix);

        return len >= pl && memcmp(s, prefix, pl) == 0;
}

static const char *memstr(const char *s, size_t len, const char *needle) {
        size_t nl = strlen(needle);

        if (nl == 0)
                return s;
        for (size_t i = 0; i + nl <= len; i++)
                if (memcmp(s + i, needle, nl) == 0)
                        return s + i;
        return NULL;
}

bool apt_origin_is_security(const char *origin) {
        /* Debian: "Debian-Security:12/stable-security"; Ubuntu:
         * "Ubuntu:22.04/jammy-security". Case-insensitive covers both. */
        return origin && strcasestr(origin, "-security") != NULL;
}

/* Plan lines --------------------------------------------------------------------- */

int apt_plan_parse_line(const char *line, size_t len, AptPlanItem *ret) {
        AptPlanItem it = {};
        const char *p, *end = line + len, *tok;

        if (!line || !ret)
                return -EINVAL;
        if (has_prefix(line, len, "Inst "))
                it.action = APT_ACTION_INSTALL;
        else if (has_prefix(line, len, "Remv "))
                it.action = APT_ACTION_REMOVE;
        else if (has_prefix(line, len, "Purg "))
                it.action = APT_ACTION_PURGE;
        else
                return 0;

        p = line + 5;
        if (p >= end || !isalnum((unsigned char) *p))
                return -EINVAL;
        tok = p;
        while (p < end && *p != ' ')
                p++;
        if (p == tok || copy_token(tok, (size_t) (p - tok), it.name, sizeof it.name) < 0)
                return -EINVAL;
        while (p < end && *p == ' ')
                p++;

        /* "[old-version]" */
        if (p < end && *p == '[') {
                const char *close = memchr(p, ']', (size_t) (end - p));

                if (!close || close == p + 1 ||
                    copy_token(p + 1, (size_t) (close - p - 1), it.old_version, sizeof it.old_version) < 0)
                        return -EINVAL;
                p = close + 1;
                while (p < end && *p == ' ')
                        p++;
        }

        if (it.action == APT_ACTION_INSTALL) {
                const char *close, *sp, *arch_open;

                /* "(new-version origin[, origin...] [arch])" */
                if (p >= end || *p != '(')
                        return -EINVAL;
                p++;
                close = memchr(p, ')', (size_t) (end - p));
                if (!close)
                        return -EINVAL;
                sp = memchr(p, ' ', (size_t) (close - p));
                if (!sp)
                        sp = close;
                if (sp == p || copy_token(p, (size_t) (sp - p), it.new_version, sizeof it.new_version) < 0)
                        return -EINVAL;
                if (sp < close) {
                        const char *o = sp + 1, *oe = close;

                        /* The last " [arch]" is the architecture. */
                        arch_open = NULL;
                        for (const char *q = close; q > o; q--)
                                if (q[-1] == '[' && (q - 1 == o || q[-2] == ' ')) {
                                        arch_open = q - 1;
                                        break;
                                }
                        if (arch_open && close[-1] == ']' && close - 1 > arch_open + 1) {
                                if (copy_token(arch_open + 1, (size_t) (close - 1 - arch_open - 1), it.arch,
                                               sizeof it.arch) < 0)
                                        return -EINVAL;
                                oe = arch_open;
                        }
                        while (oe > o && oe[-1] == ' ')
                                oe--;
                        copy_clipped(o, (size_t) (oe - o), it.origin, sizeof it.origin);
                }
                if (it.old_version[0])
                        it.action = streq(it.old_version, it.new_version) ? APT_ACTION_REINSTALL
                                                                          : APT_ACTION_UPGRADE;
                it.security = apt_origin_is_security(it.origin);
        }

        *ret = it;
        return 1;
}

void apt_plan_done(AptPlan *p) {
        if (!p)
                return;
        free(p->items);
        free(p->kept_back);
        *p = (AptPlan) {};
}

static int plan_add_kept_back(AptPlan *p, size_t *cap, const char *s, size_t n) {
        /* A line of names separated by spaces. */
        for (size_t i = 0; i < n;) {
                size_t j;

                while (i < n && s[i] == ' ')
                        i++;
                j = i;
                while (j < n && s[j] != ' ')
                        j++;
                if (j > i) {
                        if (p->n_kept_back >= APT_KEPT_BACK_MAX) {
                                p->truncated = true;
                                return 0;
                        }
                        if (p->n_kept_back == *cap) {
                                size_t ncap = *cap ? *cap * 2 : 16;
                                char(*nk)[APT_NAME_MAX] = reallocarray(p->kept_back, ncap, APT_NAME_MAX);

                                if (!nk)
                                        return -ENOMEM;
                                p->kept_back = nk;
                                *cap = ncap;
                        }
                        if (copy_token(s + i, j - i, p->kept_back[p->n_kept_back], APT_NAME_MAX) == 0)
                                p->n_kept_back++;
                }
                i = j;
        }
        return 0;
}

int apt_plan_parse(const char *text, size_t len, AptPlan *ret) {
        AptPlan p = {};
        size_t cap = 0, kcap = 0;
        bool in_kept = false;
        int r;

        if (!ret || (!text && len > 0))
                return -EINVAL;

        for (size_t off = 0; off < len;) {
                const char *line = text + off, *nl = memchr(line, '\n', len - off);
                size_t n = nl ? (size_t) (nl - line) : len - off;
                AptPlanItem it;

                off += n + (nl ? 1 : 0);

                if (in_kept) {
                        if (n > 0 && line[0] == ' ') {
                                r = plan_add_kept_back(&p, &kcap, line, n);
                                if (r < 0)
                                        goto fail;
                                continue;
                        }
                        in_kept = false;
                }
                if (has_prefix(line, n, "The following packages have been kept back:")) {
                        in_kept = true;
                        continue;
                }

                r = apt_plan_parse_line(line, n, &it);
                if (r <= 0)
                        continue;       /* other lines, or a plan line we cannot read */
                if (p.n_items >= APT_PLAN_ITEMS_MAX) {
                        p.truncated = true;
                        continue;
                }
                if (p.n_items == cap) {
                        size_t ncap = cap ? cap * 2 : 16;
                        AptPlanItem *ni = reallocarray(p.items, ncap, sizeof *ni);

                        if (!ni) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        p.items = ni;
                        cap = ncap;
                }
                p.items[p.n_items++] = it;
        }

        *ret = p;
        return 0;
fail:
        apt_plan_done(&p);
        return r;
}

static int json_set(json_t *o, const char *key, json_t *v) {
        /* json_object_set_new() steals v, also on failure. */
        if (!v || json_object_set_new(o, key, v) < 0)
                return -ENOMEM;
        return 0;
}

static json_t *string_or_null(const char *s) {
        return s && s[0] ? json_string(s) : json_null();
}

json_t *apt_plan_to_json(const AptPlan *p) {
        _cleanup_json_ json_t *o = json_object(), *actions = json_array(), *kept = json_array();
        size_t installs = 0, upgrades = 0, removals = 0, security = 0;

        if (!p || !o || !actions || !kept)
                return NULL;

        for (size_t i = 0; i < p->n_items; i++) {
                const AptPlanItem *it = &p->items[i];
                _cleanup_json_ json_t *a = json_object();

                switch (it->action) {
                case APT_ACTION_INSTALL:
                        installs++;
                        break;
                case APT_ACTION_UPGRADE:
                case APT_ACTION_REINSTALL:
                        upgrades++;
                        break;
                default:
                        removals++;
                        break;
                }
                if (it->security)
                        security++;
                if (!a || json_set(a, "action", json_string(apt_action_to_string(it->action))) < 0 ||
                    json_set(a, "name", json_string(it->name)) < 0 ||
                    json_set(a, "current", string_or_null(it->old_version)) < 0 ||
                    json_set(a, "candidate", string_or_null(it->new_version)) < 0 ||
                    json_set(a, "origin", string_or_null(it->origin)) < 0 ||
                    json_set(a, "architecture", string_or_null(it->arch)) < 0 ||
                    json_set(a, "security", json_boolean(it->security)) < 0 ||
                    json_array_append_new(actions, TAKE_PTR(a)) < 0)
                        return NULL;
        }
        for (size_t i = 0; i < p->n_kept_back; i++)
                if (json_array_append_new(kept, json_string(p->kept_back[i])) < 0)
                        return NULL;

        if (json_set(o, "actions", TAKE_PTR(actions)) < 0 ||
            json_set(o, "installs", json_integer((json_int_t) installs)) < 0 ||
            json_set(o, "upgrades", json_integer((json_int_t) upgrades)) < 0 ||
            json_set(o, "removals", json_integer((json_int_t) removals)) < 0 ||
            json_set(o, "security_updates", json_integer((json_int_t) security)) < 0 ||
            json_set(o, "kept_back", TAKE_PTR(kept)) < 0 ||
            json_set(o, "truncated", json_boolean(p->truncated)) < 0)
                return NULL;
        return TAKE_PTR(o);
}

/* dpkg-query ------------------------------------------------------------------------ */

int apt_installed_parse_line(const char *line, size_t len, AptInstalled *ret) {
        const char *f[5], *end = line + len;
        size_t fl[5], nf = 0;
        AptInstalled it = {};
        const char *state;

        if (!line || !ret)
                return -EINVAL;
        if (len == 0)
                return 0;

        for (const char *p = line; nf < 5;) {
                const char *tab = memchr(p, '\t', (size_t) (end - p));
                const char *fe = tab && nf < 4 ? tab : end;

                f[nf] = p;
                fl[nf] = (size_t) (fe - p);
                nf++;
                if (fe == end)
                        break;
                p = fe + 1;
        }
        /* ${Package} never carries ":arch" or blanks; apt_installed_find()
         * relies on that. */
        if (nf != 5 || fl[0] == 0 || memchr(f[0], ':', fl[0]) || memchr(f[0], ' ', fl[0]))
                return -EINVAL;
        if (copy_token(f[0], fl[0], it.name, sizeof it.name) < 0 ||
            copy_token(f[1], fl[1], it.version, sizeof it.version) < 0 ||
            copy_token(f[2], fl[2], it.arch, sizeof it.arch) < 0 ||
            copy_token(f[4], fl[4], it.status, sizeof it.status) < 0)
                return -EINVAL;
        if (fl[3] > 0 && fl[3] < 20) {
                uint64_t v = 0;
                size_t i;

                for (i = 0; i < fl[3] && isdigit((unsigned char) f[3][i]); i++)
                        v = v * 10 + (uint64_t) (f[3][i] - '0');
                if (i == fl[3]) {
                        it.installed_size_kib = v;
                        it.has_size = true;
                }
        }
        /* "want flag state": the state is the last word. */
        state = strrchr(it.status, ' ');
        state = state ? state + 1 : it.status;
        it.installed = streq(state, "installed");
        if (streq(state, "not-installed") || streq(state, "config-files") || !state[0])
                it.status[0] = '\0';    /* marks "leave out" for apt_installed_parse() */

        *ret = it;
        return 1;
}

static int installed_cmp(const void *a, const void *b) {
        const AptInstalled *x = a, *y = b;
        int c = strcmp(x->name, y->name);

        return c ? c : strcmp(x->arch, y->arch);
}

int apt_installed_parse(const char *text, size_t len, AptInstalledList *ret) {
        AptInstalledList l = {};
        size_t cap = 0;

        if (!ret || (!text && len > 0))
                return -EINVAL;

        for (size_t off = 0; off < len;) {
                const char *line = text + off, *nl = memchr(line, '\n', len - off);
                size_t n = nl ? (size_t) (nl - line) : len - off;
                AptInstalled it;

                off += n + (nl ? 1 : 0);
                if (apt_installed_parse_line(line, n, &it) <= 0 || !it.status[0])
                        continue;
                if (l.n_items >= APT_INSTALLED_MAX) {
                        l.truncated = true;
                        break;
                }
                if (l.n_items == cap) {
                        size_t ncap = cap ? cap * 2 : 256;
                        AptInstalled *ni = reallocarray(l.items, ncap, sizeof *ni);

                        if (!ni) {
                                apt_installed_done(&l);
                                return -ENOMEM;
                        }
                        l.items = ni;
                        cap = ncap;
                }
                l.items[l.n_items++] = it;
        }
        if (l.n_items > 1)
                qsort(l.items, l.n_items, sizeof *l.items, installed_cmp);
        *ret = l;
        return 0;
}

void apt_installed_done(AptInstalledList *l) {
        if (!l)
                return;
        free(l->items);
        *l = (AptInstalledList) {};
}

const AptInstalled *apt_installed_find(const AptInstalledList *l, const char *name) {
        const char *colon;
        size_t n;

        if (!l || !name)
                return NULL;
        colon = strchr(name, ':');
        n = colon ? (size_t) (colon - name) : strlen(name);
        for (size_t i = 0; i < l->n_items; i++) {
                const AptInstalled *it = &l->items[i];

                if (strlen(it->name) != n || memcmp(it->name, name, n) != 0)
                        continue;
                if (colon && !streq(it->arch, colon + 1))
                        continue;
                return it;
        }
        return NULL;
}

/* Status-Fd, errors, names ----------------------------------------------------------- */

int apt_status_parse_line(const char *line, size_t len, double *ret_percent, char *msg, size_t msgsize) {
        const char *p, *end = line + len, *c;
        bool dl;
        double pct = 0;
        char num[32];
        char *e;

        if (!line || !ret_percent || !msg || msgsize == 0)
                return 0;
        if (has_prefix(line, len, "dlstatus:"))
                dl = true;
        else if (has_prefix(line, len, "pmstatus:"))
                dl = false;
        else
                return 0;

        /* kind:ID:PERCENT:MESSAGE — the ID is a package name or a file number. */
        p = line + 9;
        c = memchr(p, ':', (size_t) (end - p));
        if (!c)
                return 0;
        p = c + 1;
        c = memchr(p, ':', (size_t) (end - p));
        if (!c || c == p || (size_t) (c - p) >= sizeof num)
                return 0;
        memcpy(num, p, (size_t) (c - p));
        num[c - p] = '\0';
        errno = 0;
        pct = strtod(num, &e);
        if (errno != 0 || *e != '\0' || !(pct >= 0 && pct <= 100))
                return 0;
        p = c + 1;

        *ret_percent = dl ? pct * 0.2 : 20.0 + pct * 0.8;
        copy_clipped(p, (size_t) (end - p), msg, msgsize);
        return 1;
}

bool apt_lock_error(const char *err) {
        if (!err)
                return false;
        return strstr(err, "Could not get lock") || strstr(err, "dpkg frontend lock") ||
               strstr(err, "Unable to lock the administration directory") ||
               strstr(err, "Unable to lock directory");
}

void apt_first_error(const char *err, char *buf, size_t size) {
        const char *fallback = NULL;
        size_t fallback_len = 0;

        if (size == 0)
                return;
        buf[0] = '\0';
        if (!err)
                return;
        for (const char *line = err; *line;) {
                const char *nl = strchr(line, '\n');
                size_t n = nl ? (size_t) (nl - line) : strlen(line);

                if (has_prefix(line, n, "E: ")) {
                        copy_clipped(line + 3, n - 3, buf, size);
                        return;
                }
                if (!fallback && n > 0) {
                        fallback = line;
                        fallback_len = n;
                }
                line += n + (nl ? 1 : 0);
        }
        if (fallback)
                copy_clipped(fallback, fallback_len, buf, size);
}

static bool name_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '.' || c == '-';
}

static bool version_char(char c) {
        return isalnum((unsigned char) c) || c == '.' || c == '+' || c == '~' || c == ':' || c == '-';
}

int apt_package_spec_parse(const char *spec, char name[static 65], char version[static APT_VERSION_MAX],
                           const char **ret_reason) {
        const char *eq, *reason = NULL;
        size_t nl, vl = 0;

        if (!spec || !ret_reason)
                return -EINVAL;
        eq = strchr(spec, '=');
        nl = eq ? (size_t) (eq - spec) : strlen(spec);

        /* Debian policy 5.6.1. The first character matters most: a leading
         * '-' would be read by apt-get as an option. */
        if (nl < 2 || nl > 64)
                reason = "a package name has 2 to 64 characters";
        else if (!((spec[0] >= 'a' && spec[0] <= 'z') || (spec[0] >= '0' && spec[0] <= '9')))
                reason = "a package name starts with a lower-case letter or digit";
        else {
                for (size_t i = 1; i < nl && !reason; i++)
                        if (!name_char(spec[i]))
                                reason = "a package name has only a-z, 0-9, '+', '-' and '.'";
        }
        /* apt-get reads "name-" as "remove name" when no package has the
         * exact name. No real package ends in '-'; many end in '+' (g++),
         * so that one is left to the literal-name check of apt_simulate(). */
        if (!reason && spec[nl - 1] == '-')
                reason = "a package name must not end in '-'";
        if (!reason && eq) {
                const char *v = eq + 1;

                vl = strlen(v);
                if (vl == 0 || vl >= APT_VERSION_MAX)
                        reason = "a version has 1 to 127 characters";
                else if (!isdigit((unsigned char) v[0]))
                        reason = "a version starts with a digit";
                else
                        for (size_t i = 0; i < vl && !reason; i++)
                                if (!version_char(v[i]))
                                        reason = "a version has only A-Z, a-z, 0-9, '.', '+', '~', ':' and '-'";
        }
        if (reason) {
                *ret_reason = reason;
                return -EINVAL;
        }
        memcpy(name, spec, nl);
        name[nl] = '\0';
        if (eq)
                memcpy(version, eq + 1, vl + 1);
        else
                version[0] = '\0';
        return 0;
}

/* Replaced libraries ------------------------------------------------------------------ */

int apt_maps_line_deleted_lib(const char *line, size_t len, char *path, size_t size) {
        static const char suffix[] = " (deleted)";
        const char *p = line, *end = line + len, *path_start;
        size_t sl = sizeof suffix - 1, pl;

        if (!line || !path || size == 0)
                return 0;
        /* "address perms offset dev inode   pathname" */
        for (int field = 0; field < 5; field++) {
                while (p < end && *p != ' ')
                        p++;
                while (p < end && *p == ' ')
                        p++;
        }
        if (p >= end || *p != '/')
                return 0;
        path_start = p;
        pl = (size_t) (end - path_start);
        if (pl <= sl || memcmp(end - sl, suffix, sl) != 0)
                return 0;
        pl -= sl;
        if (!(has_prefix(path_start, pl, "/usr/lib") || has_prefix(path_start, pl, "/lib")))
                return 0;
        if (copy_token(path_start, pl, path, size) < 0)
                return 0;
        return 1;
}

static bool unit_suffix(const char *s, size_t n) {
        return (n > 8 && memcmp(s + n - 8, ".service", 8) == 0) || (n > 6 && memcmp(s + n - 6, ".scope", 6) == 0);
}

int apt_cgroup_unit(const char *text, size_t len, char *unit, size_t size) {
        if (!text || !unit || size == 0)
                return 0;
        for (size_t off = 0; off < len;) {
                const char *line = text + off, *nl = memchr(line, '\n', len - off), *c1, *c2, *path, *end;
                size_t n = nl ? (size_t) (nl - line) : len - off;

                off += n + (nl ? 1 : 0);
                /* "ID:controllers:path": cgroup v2 is "0::/...", v1 has
                 * "N:name=systemd:/..." */
                c1 = memchr(line, ':', n);
                if (!c1)
                        continue;
                c2 = memchr(c1 + 1, ':', (size_t) (line + n - c1 - 1));
                if (!c2)
                        continue;
                if (!(c2 == c1 + 1 || ((size_t) (c2 - c1 - 1) == 12 && memcmp(c1 + 1, "name=systemd", 12) == 0)))
                        continue;
                path = c2 + 1;
                end = line + n;
                /* The innermost unit in the path. */
                while (end > path) {
                        const char *slash = end;

                        while (slash > path && slash[-1] != '/')
                                slash--;
                        if (unit_suffix(slash, (size_t) (end - slash))) {
                                if (copy_token(slash, (size_t) (end - slash), unit, size) < 0)
                                        return 0;
                                return 1;
                        }
                        end = slash > path ? slash - 1 : path;
                }
        }
        return 0;
}

/* Scans one process; appends an entry to `list` when it maps deleted
 * libraries. Errors reading it mean it is gone: not an error. */
static int scan_proc(int proc_fd, const char *pid_name, json_t *list) {
        _cleanup_close_ int dfd = -1, mfd = -1;
        _cleanup_(fclosep) FILE *maps = NULL;
        _cleanup_json_ json_t *libs = NULL, *entry = NULL;
        char line[4096 + 64], comm[64], cg[4096], unit[256];
        size_t lines = 0;
        ssize_t n;
        bool skipping = false;

        dfd = openat(proc_fd, pid_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return 0;
        mfd = openat(dfd, "maps", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (mfd < 0)
                return 0;
        maps = fdopen(mfd, "re");
        if (!maps)
                return 0;
        TAKE_FD(mfd);

        while (fgets(line, sizeof line, maps) && lines++ < MAPS_LINES_MAX) {
                size_t len = strlen(line);
                bool complete = len > 0 && line[len - 1] == '\n';
                char path[4096];
                bool dup = false;
                size_t i;
                json_t *v;

                if (skipping) {
                        /* the rest of an over-long line */
                        skipping = !complete;
                        continue;
                }
                if (!complete) {
                        skipping = true;
                        continue;
                }
                len--;
                if (!apt_maps_line_deleted_lib(line, len, path, sizeof path))
                        continue;
                if (!libs) {
                        libs = json_array();
                        if (!libs)
                                return -ENOMEM;
                }
                json_array_foreach(libs, i, v)
                        if (streq(json_string_value(v), path))
                                dup = true;
                if (dup || json_array_size(libs) >= LIBS_PER_PROC_MAX)
                        continue;
                if (json_array_append_new(libs, json_string(path)) < 0)
                        return -ENOMEM;
        }
        if (!libs)
                return 0;

        n = read_file_at(dfd, 0, "comm", comm, sizeof comm);
        if (n < 0)
                return 0;
        while (n > 0 && comm[n - 1] == '\n')
                comm[--n] = '\0';
        (void) copy_token(comm, (size_t) n, comm, sizeof comm);
        n = read_file_at(dfd, 0, "cgroup", cg, sizeof cg);
        if (n < 0 || !apt_cgroup_unit(cg, (size_t) n, unit, sizeof unit))
                unit[0] = '\0';

        entry = json_object();
        if (!entry || json_set(entry, "pid", json_integer(strtol(pid_name, NULL, 10))) < 0 ||
            json_set(entry, "name", json_string(comm)) < 0 || json_set(entry, "unit", string_or_null(unit)) < 0 ||
            json_set(entry, "libraries", TAKE_PTR(libs)) < 0 || json_array_append_new(list, TAKE_PTR(entry)) < 0)
                return -ENOMEM;
        return 0;
}

int apt_scan_replaced_libraries(const atomic_bool *cancelled, size_t max_procs, json_t **ret,
                                bool *ret_truncated) {
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_json_ json_t *list = json_array();
        size_t seen = 0;
        bool truncated = false;
        struct dirent *de;
        int r;

        if (!ret || !ret_truncated)
                return -EINVAL;
        if (!list)
                return -ENOMEM;
        d = opendir("/proc");
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                bool numeric = de->d_name[0] != '\0';

                for (const char *c = de->d_name; *c; c++)
                        if (!isdigit((unsigned char) *c))
                                numeric = false;
                if (!numeric)
                        continue;
                if (cancelled && atomic_load(cancelled))
                        return -ECANCELED;
                if (++seen > PROCS_SCAN_MAX || json_array_size(list) >= max_procs) {
                        truncated = true;
                        break;
                }
                r = scan_proc(dirfd(d), de->d_name, list);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(list);
        *ret_truncated = truncated;
        return 0;
}

int apt_reboot_required(bool *ret_required, json_t **ret_pkgs) {
        _cleanup_json_ json_t *pkgs = json_array();
        _cleanup_(fclosep) FILE *f = NULL;
        char line[256];

        if (!ret_required || !ret_pkgs)
                return -EINVAL;
        if (!pkgs)
                return -ENOMEM;
        *ret_required = access("/var/run/reboot-required", F_OK) == 0;
        f = *ret_required ? fopen("/var/run/reboot-required.pkgs", "re") : NULL;
        while (f && fgets(line, sizeof line, f) && json_array_size(pkgs) < REBOOT_PKGS_MAX) {
                char name[APT_NAME_MAX];
                size_t n = strcspn(line, "\r\n");
                bool dup = false;
                size_t i;
                json_t *v;

                if (n == 0 || copy_token(line, n, name, sizeof name) < 0)
                        continue;
                json_array_foreach(pkgs, i, v)
                        if (streq(json_string_value(v), name))
                                dup = true;
                if (!dup && json_array_append_new(pkgs, json_string(name)) < 0)
                        return -ENOMEM;
        }
        *ret_pkgs = TAKE_PTR(pkgs);
        return 0;
}

/* Running apt ------------------------------------------------------------------------- */

int apt_timeout_ms(const ToolEnv *env, bool long_running) {
        int s = env ? (long_running ? env->long_timeout_sec : env->timeout_sec) : 0;

        if (s <= 0)
                return long_running ? APT_LONG_TIMEOUT_DEFAULT_MS : APT_SHORT_TIMEOUT_DEFAULT_MS;
        if (s > 7 * 24 * 3600)
                s = 7 * 24 * 3600;
        return s * 1000;
}

int apt_backend_check(const ToolEnv *env, char *errbuf, size_t errlen) {
        const char *b = env ? env->packages_backend : NULL;

        if (b && streq(b, "packagekit"))
                return PACKAGES_BACKEND_PACKAGEKIT;
        if (b && !streq(b, "apt") && !streq(b, "auto")) {
                snprintf(errbuf, errlen, "packages.backend: unknown backend '%.64s'; use auto, apt or packagekit",
                         b);
                return -EOPNOTSUPP;
        }
        if (access(APT_GET, X_OK) == 0)
                return PACKAGES_BACKEND_APT;
        if (b && streq(b, "apt")) {
                snprintf(errbuf, errlen, "packages.backend is apt, but %s is not available on this host", APT_GET);
                return -EOPNOTSUPP;
        }
        /* auto without apt-get: PackageKit serves other distributions. */
        return PACKAGES_BACKEND_PACKAGEKIT;
}

int apt_exec(char *const argv[], int timeout_ms, const atomic_bool *cancelled, RunnerLineFn on_line,
             void *userdata, RunnerResult *ret) {
        _cleanup_free_ char *apt_config = NULL;
        char *env_extra[8];
        size_t n = 0;
        const char *c;
        RunnerOptions o = {
                .env_extra = env_extra,
                .timeout_ms = timeout_ms,
                .max_output_bytes = APT_OUTPUT_MAX,
                .cancelled = cancelled,
                .on_stdout_line = on_line,
                .userdata = userdata,
        };

        env_extra[n++] = (char *) "DEBIAN_FRONTEND=noninteractive";
        /* Keep maintainer scripts from asking or restarting anything on
         * their own: ucf keeps old config files, needrestart only lists
         * (we report services using replaced libraries ourselves),
         * apt-listchanges stays quiet. */
        env_extra[n++] = (char *) "UCF_FORCE_CONFFOLD=1";
        env_extra[n++] = (char *) "NEEDRESTART_MODE=l";
        env_extra[n++] = (char *) "APT_LISTCHANGES_FRONTEND=none";
        /* The operator (or a test) may point apt at another configuration. */
        c = getenv("APT_CONFIG");
        if (c && c[0] == '/' && strlen(c) < 4096) {
                if (asprintf(&apt_config, "APT_CONFIG=%s", c) < 0) {
                        apt_config = NULL;
                        return -ENOMEM;
                }
                env_extra[n++] = apt_config;
        }
        env_extra[n] = NULL;
        return runner_run(argv, &o, ret);
}

/* Does the plan contain `name` (as "name" or "name:arch")? */
static bool plan_has(const AptPlan *p, const char *name) {
        size_t nl = strlen(name);

        for (size_t i = 0; i < p->n_items; i++) {
                const char *n = p->items[i].name;

                if (strncmp(n, name, nl) == 0 && (n[nl] == '\0' || n[nl] == ':'))
                        return true;
        }
        return false;
}

int apt_simulate(const ToolEnv *env, const atomic_bool *cancelled, const char *name, const char *spec,
                 AptPlan *ret, bool *ret_already, char *errbuf, size_t errlen) {
        char *argv[16];
        size_t n = 0;
        RunnerResult rr = {};
        AptPlan plan = {};
        bool already = false;
        int r;

        if (!ret || (spec && !name))
                return -EINVAL;

        argv[n++] = (char *) APT_GET;
        argv[n++] = (char *) "-s";
        argv[n++] = (char *) "-o";
        argv[n++] = (char *) "Debug::NoLocking=true";
        argv[n++] = (char *) "--no-install-recommends";
        if (spec) {
                argv[n++] = (char *) "install";
                argv[n++] = (char *) "--";
                argv[n++] = (char *) spec;
        } else
                argv[n++] = (char *) "upgrade";
        argv[n] = NULL;

        r = apt_exec(argv, apt_timeout_ms(env, false), cancelled, NULL, NULL, &rr);
        if (r < 0) {
                snprintf(errbuf, errlen, "cannot run apt-get: %s", strerror(-r));
                return r;
        }
        if (rr.cancelled) {
                runner_result_done(&rr);
                snprintf(errbuf, errlen, "cancelled");
                return -ECANCELED;
        }
        if (rr.timed_out) {
                runner_result_done(&rr);
                snprintf(errbuf, errlen, "apt-get -s timed out after %d s", apt_timeout_ms(env, false) / 1000);
                return -ETIMEDOUT;
        }
        if (rr.exit_status != 0) {
                char e[300];

                apt_first_error(rr.err, e, sizeof e);
                r = apt_lock_error(rr.err) ? -EBUSY : -EIO;
                if (r == -EBUSY)
                        snprintf(errbuf, errlen,
                                 "another package manager is running (dpkg lock held): retry later");
                else if (spec && strstr(rr.err, "Unable to locate package"))
                        snprintf(errbuf, errlen, "package '%s' not found in the configured repositories", name);
                else
                        snprintf(errbuf, errlen, "apt-get -s %s failed (exit %d): %s",
                                 spec ? "install" : "upgrade", rr.exit_status, e[0] ? e : "no message");
                runner_result_done(&rr);
                return r == -EIO && spec && strstr(errbuf, "not found") ? -ENOENT : r;
        }

        r = apt_plan_parse(rr.out, rr.out_len, &plan);
        if (r < 0) {
                runner_result_done(&rr);
                snprintf(errbuf, errlen, "out of memory");
                return r;
        }

        if (spec && !plan_has(&plan, name)) {
                /* apt-get also reads names as regular expressions, globs and
                 * virtual packages. Only a literal, real package is accepted:
                 * either the plan installs it or it is installed already. */
                if (memstr(rr.out, rr.out_len, "is already the newest version")) {
                        _cleanup_free_ char *needle = NULL;

                        if (asprintf(&needle, "\n%s is already the newest version", name) < 0) {
                                needle = NULL;
                                r = -ENOMEM;
                        } else if (memstr(rr.out, rr.out_len, needle))
                                already = true;
                }
                if (r >= 0 && !already) {
                        snprintf(errbuf, errlen,
                                 "'%s' is not a package apt can install by that exact name (it matched a pattern "
                                 "or a virtual package): name the real package",
                                 name);
                        r = -EINVAL;
                }
                if (r < 0) {
                        if (r == -ENOMEM)
                                snprintf(errbuf, errlen, "out of memory");
                        apt_plan_done(&plan);
                        runner_result_done(&rr);
                        return r;
                }
        }

        runner_result_done(&rr);
        *ret = plan;
        if (ret_already)
                *ret_already = already;
        return 0;
}

int apt_list_installed(const ToolEnv *env, const atomic_bool *cancelled, AptInstalledList *ret, char *errbuf,
                       size_t errlen) {
        char *argv[] = { (char *) "dpkg-query", (char *) "-W", (char *) "-f=" APT_DPKG_QUERY_FORMAT, NULL };
        RunnerResult rr = {};
        int r;

        r = apt_exec(argv, apt_timeout_ms(env, false), cancelled, NULL, NULL, &rr);
        if (r < 0) {
                snprintf(errbuf, errlen, "cannot run dpkg-query: %s", strerror(-r));
                return r;
        }
        if (rr.cancelled || rr.timed_out || rr.exit_status != 0 || rr.truncated) {
                char e[300];

                apt_first_error(rr.err, e, sizeof e);
                r = rr.cancelled ? -ECANCELED : rr.timed_out ? -ETIMEDOUT : -EIO;
                snprintf(errbuf, errlen, "dpkg-query failed%s%s", e[0] ? ": " : "", e[0] ? e : "");
                if (rr.cancelled)
                        snprintf(errbuf, errlen, "cancelled");
                runner_result_done(&rr);
                return r;
        }
        r = apt_installed_parse(rr.out, rr.out_len, ret);
        runner_result_done(&rr);
        if (r < 0)
                snprintf(errbuf, errlen, "out of memory");
        return r;
}

int packages_plan(const ToolEnv *env, const char *tool, json_t *args, json_t **ret_plan, char *errbuf,
                  size_t errlen) {
        char name[65], version[APT_VERSION_MAX];
        const char *spec = NULL, *reason = NULL;
        AptPlan plan = {};
        bool already = false;
        json_t *plan_json;
        int backend, r;

        if (!tool || !ret_plan || !errbuf || errlen == 0)
                return -EINVAL;
        errbuf[0] = '\0';
        backend = apt_backend_check(env, errbuf, errlen);
        if (backend < 0)
                return backend;

        if (streq(tool, "install_package")) {
                spec = json_string_value(json_object_get(args, "package_name"));
                if (!spec) {
                        snprintf(errbuf, errlen, "argument 'package_name': required string");
                        return -EINVAL;
                }
                if (apt_package_spec_parse(spec, name, version, &reason) < 0) {
                        snprintf(errbuf, errlen, "argument 'package_name': %s", reason);
                        return -EINVAL;
                }
        } else if (!streq(tool, "update_system_packages")) {
                snprintf(errbuf, errlen, "tool '%.64s' has no package plan", tool);
                return -EOPNOTSUPP;
        }

        if (backend == PACKAGES_BACKEND_PACKAGEKIT)
                r = pk_install(apt_timeout_ms(env, false), NULL, spec ? name : NULL, spec ? version : NULL, true,
                               NULL, NULL, &plan, &already, errbuf, errlen);
        else
                r = apt_simulate(env, NULL, spec ? name : NULL, spec, &plan, &already, errbuf, errlen);
        if (r < 0)
                return r;
        plan_json = apt_plan_to_json(&plan);
        apt_plan_done(&plan);
        if (!plan_json) {
                snprintf(errbuf, errlen, "out of memory");
                return -ENOMEM;
        }
        *ret_plan = plan_json;
        return 0;
}
