/* SPDX-License-Identifier: MIT */

/* The "system" tool family: host status and top processes, read from /proc.
 *
 * Nothing here sleeps: CPU percentages come from the difference to a sample
 * kept from an earlier call (process-global, mutex-protected), or from
 * since-boot / lifetime averages when no usable sample exists. Every read is
 * bounded, every list is capped, and processes that vanish while we look at
 * them are skipped silently. Strings that come from the system (host names,
 * mount points, process names, command lines) are made valid UTF-8 before
 * they enter JSON, since the kernel promises nothing about their bytes. */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "common/utf8.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "tools/tool.h"

#define SAMPLE_MIN_AGE_USEC (200ull * 1000ull)          /* younger samples give noise, not rates */
#define PROC_SAMPLE_MAX_AGE_USEC (60ull * 1000000ull)   /* older ones say little about "now" */
#define FS_MAX 256u
#define MOUNT_LINES_MAX 65536u
#define MOUNT_LINE_MAX 16384u
#define PROC_MAX 65536u
#define CMDLINE_MAX 512u
#define NAME_MAX_BYTES 64u
#define TOP_LIMIT_MAX 200
#define TOP_LIMIT_DEFAULT 10

/* Small helpers ------------------------------------------------------------ */

/* Rounds a non-negative value to two decimals so JSON carries 12.34, not
 * 12.3399999. Avoids libm. */
static double round2(double x) {
        if (!(x > 0))
                return 0.0;
        if (x > 1e15)
                return x;
        return (double) (int64_t) (x * 100.0 + 0.5) / 100.0;
}

static double clamp_percent(double x) {
        if (!(x > 0))
                return 0.0;
        return x > 100.0 ? 100.0 : round2(x);
}

static ssize_t read_file(const char *path, char *buf, size_t size) {
        return read_file_at(AT_FDCWD, 0, path, buf, size);
}

static int parse_u64(const char *s, char **end, uint64_t *ret) {
        unsigned long long v;
        char *e;

        while (*s == ' ' || *s == '\t')
                s++;
        if (!isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &e, 10);
        if (errno != 0 || e == s)
                return -EINVAL;
        if (end)
                *end = e;
        *ret = v;
        return 0;
}

static int parse_i64(const char *s, char **end, int64_t *ret) {
        long long v;
        char *e;

        errno = 0;
        v = strtoll(s, &e, 10);
        if (errno != 0 || e == s)
                return -EINVAL;
        if (end)
                *end = e;
        *ret = v;
        return 0;
}


/* Copies in[0..n) to out as valid UTF-8 without control characters: invalid
 * bytes become '?', control characters become `ctl`. Never grows the text,
 * so the output fits in n+1 bytes. Returns the output length. */
static size_t utf8_sanitize(const char *in, size_t n, char ctl, char *out, size_t outsize) {
        const unsigned char *u = (const unsigned char *) in;
        size_t i = 0, o = 0;

        if (outsize == 0)
                return 0;
        while (i < n && o + 1 < outsize) {
                size_t l = utf8_seq_len(u + i, n - i);

                if (l == 0) {
                        out[o++] = '?';
                        i++;
                } else if (l == 1) {
                        out[o++] = (u[i] < 0x20 || u[i] == 0x7f) ? ctl : (char) u[i];
                        i++;
                } else {
                        if (o + l + 1 > outsize)
                                break;
                        memcpy(out + o, in + i, l);
                        o += l;
                        i += l;
                }
        }
        out[o] = '\0';
        return o;
}

/* A JSON string from untrusted bytes. NULL only on allocation failure. */
static json_t *json_string_sanitized(const char *s, size_t n, char ctl) {
        _cleanup_free_ char *buf = malloc(n + 1);

        if (!buf)
                return NULL;
        utf8_sanitize(s, n, ctl, buf, n + 1);
        return json_string(buf);
}

/* Cuts s to at most max bytes at a UTF-8 boundary, for text columns. */
static void text_clip(const char *s, size_t max, char *out, size_t outsize) {
        size_t len = strlen(s), n = len;

        if (n > max)
                n = max;
        if (n + 1 > outsize)
                n = outsize - 1;
        while (n > 0 && n < len && ((unsigned char) s[n] & 0xc0) == 0x80)
                n--;
        memcpy(out, s, n);
        out[n] = '\0';
}

static void format_bytes(uint64_t v, char *buf, size_t size) {
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
        double d = (double) v;
        size_t u = 0;

        while (d >= 1024.0 && u + 1 < ELEMENTSOF(units)) {
                d /= 1024.0;
                u++;
        }
        if (u == 0)
                snprintf(buf, size, "%" PRIu64 " B", v);
        else
                snprintf(buf, size, "%.1f %s", d, units[u]);
}

static void format_duration(double seconds, char *buf, size_t size) {
        uint64_t s = seconds > 0 ? (uint64_t) seconds : 0;
        uint64_t d = s / 86400, h = (s % 86400) / 3600, m = (s % 3600) / 60;

        if (d > 0)
                snprintf(buf, size, "%" PRIu64 "d %" PRIu64 "h %" PRIu64 "m", d, h, m);
        else if (h > 0)
                snprintf(buf, size, "%" PRIu64 "h %" PRIu64 "m", h, m);
        else
                snprintf(buf, size, "%" PRIu64 "m %" PRIu64 "s", m, s % 60);
}

static int json_set(json_t *o, const char *key, json_t *v) {
        /* json_object_set_new() steals v, also on failure. */
        if (!v || json_object_set_new(o, key, v) < 0)
                return -ENOMEM;
        return 0;
}

static double read_uptime(void) {
        char buf[128];
        double up;
        char *e;

        if (read_file("/proc/uptime", buf, sizeof buf) <= 0)
                return 0.0;
        errno = 0;
        up = strtod(buf, &e);
        if (errno != 0 || e == buf || !(up >= 0))
                return 0.0;
        return up;
}

/* /proc/meminfo -------------------------------------------------------------- */

typedef struct MemInfo {
        uint64_t total, free, available, buffers, cached, swap_total, swap_free;
        bool have_available;
} MemInfo;

static int read_meminfo(MemInfo *ret) {
        static const struct {
                const char *key;
                size_t offset;
        } fields[] = {
                { "MemTotal:", offsetof(MemInfo, total) },
                { "MemFree:", offsetof(MemInfo, free) },
                { "MemAvailable:", offsetof(MemInfo, available) },
                { "Buffers:", offsetof(MemInfo, buffers) },
                { "Cached:", offsetof(MemInfo, cached) },
                { "SwapTotal:", offsetof(MemInfo, swap_total) },
                { "SwapFree:", offsetof(MemInfo, swap_free) },
        };
        char buf[16384];
        MemInfo m = {};
        bool have_total = false;
        ssize_t n;

        n = read_file("/proc/meminfo", buf, sizeof buf);
        if (n < 0)
                return (int) n;

        for (char *line = buf; line && *line;) {
                char *nl = strchr(line, '\n');

                if (nl)
                        *nl = '\0';
                for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                        size_t kl = strlen(fields[i].key);
                        uint64_t kb;

                        if (strncmp(line, fields[i].key, kl) != 0)
                                continue;
                        if (parse_u64(line + kl, NULL, &kb) < 0 || kb > UINT64_MAX / 1024)
                                break;
                        *(uint64_t *) ((char *) &m + fields[i].offset) = kb * 1024;
                        if (i == 0)
                                have_total = true;
                        if (i == 2)
                                m.have_available = true;
                        break;
                }
                line = nl ? nl + 1 : NULL;
        }

        if (!have_total)
                return -EIO;
        /* Kernels before 3.14 lack MemAvailable: estimate it like procps. */
        if (!m.have_available) {
                m.available = m.free + m.buffers + m.cached;
                if (m.available > m.total)
                        m.available = m.total;
        }
        *ret = m;
        return 0;
}

/* /proc/stat and CPU usage --------------------------------------------------- */

typedef struct CpuTimes {
        uint64_t busy, total;
        uint64_t btime;
        bool have_btime;
} CpuTimes;

static int read_proc_stat(CpuTimes *ret) {
        _cleanup_(fclosep) FILE *f = NULL;
        char line[512];
        bool at_start = true, have_cpu = false;
        CpuTimes t = {};

        f = fopen("/proc/stat", "re");
        if (!f)
                return -errno;

        /* Lines such as "intr" can be far longer than the buffer: only look at
         * the beginnings of lines and skip the rest. */
        while (fgets(line, sizeof line, f)) {
                bool complete = strchr(line, '\n') != NULL;

                if (at_start && strncmp(line, "cpu ", 4) == 0) {
                        uint64_t v[10] = {};
                        char *p = line + 4;
                        size_t k;

                        for (k = 0; k < ELEMENTSOF(v); k++)
                                if (parse_u64(p, &p, &v[k]) < 0)
                                        break;
                        if (k >= 4) {
                                /* user nice system idle iowait irq softirq steal;
                                 * guest time is already part of user. */
                                uint64_t idle = v[3] + v[4];

                                t.total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
                                t.busy = t.total - idle;
                                have_cpu = true;
                        }
                } else if (at_start && strncmp(line, "btime ", 6) == 0) {
                        if (parse_u64(line + 6, NULL, &t.btime) >= 0)
                                t.have_btime = true;
                }
                at_start = complete;
        }

        if (!have_cpu)
                return -EIO;
        *ret = t;
        return 0;
}

static pthread_mutex_t cpu_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
        bool have;
        uint64_t busy, total;
        uint64_t at;            /* CLOCK_MONOTONIC, µs */
        double last_percent;
        bool last_interval;
} cpu_state;

/* Usage over the time since the previous sample when that sample is at
 * least SAMPLE_MIN_AGE_USEC old; otherwise the last computed value. The first
 * call has only the since-boot average. */
static void cpu_usage(const CpuTimes *t, double *ret_percent, bool *ret_interval) {
        uint64_t now = now_usec();

        pthread_mutex_lock(&cpu_lock);
        if (!cpu_state.have) {
                cpu_state.last_percent = t->total > 0 ? (double) t->busy * 100.0 / (double) t->total : 0.0;
                cpu_state.last_interval = false;
                cpu_state.busy = t->busy;
                cpu_state.total = t->total;
                cpu_state.at = now;
                cpu_state.have = true;
        } else if (now - cpu_state.at >= SAMPLE_MIN_AGE_USEC) {
                if (t->total > cpu_state.total && t->busy >= cpu_state.busy) {
                        cpu_state.last_percent = (double) (t->busy - cpu_state.busy) * 100.0 /
                                                 (double) (t->total - cpu_state.total);
                        cpu_state.last_interval = true;
                } else if (t->total < cpu_state.total || t->busy < cpu_state.busy) {
                        /* Counters went backwards (should not happen): start over. */
                        cpu_state.last_percent = t->total > 0 ? (double) t->busy * 100.0 / (double) t->total
                                                              : 0.0;
                        cpu_state.last_interval = false;
                }
                cpu_state.busy = t->busy;
                cpu_state.total = t->total;
                cpu_state.at = now;
        }
        *ret_percent = cpu_state.last_percent;
        *ret_interval = cpu_state.last_interval;
        pthread_mutex_unlock(&cpu_lock);
}

/* os-release ---------------------------------------------------------------- */

/* PRETTY_NAME from os-release(5), unquoted. */
static void read_os_pretty_name(char *out, size_t size) {
        static const char *const paths[] = { "/etc/os-release", "/usr/lib/os-release" };
        char buf[16384];

        snprintf(out, size, "Linux");
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                if (read_file(paths[i], buf, sizeof buf) < 0)
                        continue;
                for (char *line = buf; line && *line;) {
                        char *nl = strchr(line, '\n');
                        char val[256];
                        size_t o = 0;
                        char *p;

                        if (nl)
                                *nl = '\0';
                        if (strncmp(line, "PRETTY_NAME=", 12) != 0) {
                                line = nl ? nl + 1 : NULL;
                                continue;
                        }
                        p = line + 12;
                        if (*p == '"' || *p == '\'') {
                                char q = *p++;

                                while (*p && *p != q && o + 1 < sizeof val) {
                                        if (q == '"' && *p == '\\' && p[1])
                                                p++;
                                        val[o++] = *p++;
                                }
                        } else
                                while (*p && o + 1 < sizeof val)
                                        val[o++] = *p++;
                        val[o] = '\0';
                        if (o > 0)
                                utf8_sanitize(val, o, ' ', out, size);
                        return;
                }
        }
}

/* Filesystems --------------------------------------------------------------- */

typedef struct FsEntry {
        char *mountpoint;
        char *device;
        char *fstype;
        bool remote;
        bool have_size;
        uint64_t total, used, avail;
} FsEntry;

static bool fstype_in(const char *t, const char *const *list, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (streq(t, list[i]))
                        return true;
        return false;
}

/* Kernel-internal and memory-backed filesystems: not storage an operator
 * asks about. */
static bool fstype_is_pseudo(const char *t) {
        static const char *const pseudo[] = {
                "proc",       "sysfs",      "cgroup",      "cgroup2",     "tmpfs",    "devtmpfs",
                "devpts",     "mqueue",     "debugfs",     "tracefs",     "securityfs", "pstore",
                "bpf",        "configfs",   "fusectl",     "hugetlbfs",   "autofs",   "binfmt_misc",
                "efivarfs",   "selinuxfs",  "rpc_pipefs",  "nsfs",        "ramfs",    "rootfs",
                "squashfs",   "devfs",      "sockfs",      "pipefs",      "nfsd",     "cpuset",
                "xenfs",      "fuse.lxcfs", "fuse.gvfsd-fuse", "fuse.portal", "fuse.snapfuse", "zonefs",
                "none",
        };

        return fstype_in(t, pseudo, ELEMENTSOF(pseudo));
}

/* Filesystems whose statvfs() may block indefinitely on a network peer or a
 * userspace daemon: listed, never queried. */
static bool fstype_is_remote(const char *t) {
        static const char *const remote[] = {
                "nfs",   "nfs4",    "cifs",  "smb3",      "smbfs", "9p",     "ceph",     "glusterfs",
                "afs",   "ncpfs",   "lustre", "gfs2",     "ocfs2", "davfs",  "coda",     "orangefs",
                "beegfs", "gpfs",   "fuse",  "virtiofs",
        };

        return strncmp(t, "fuse.", 5) == 0 || fstype_in(t, remote, ELEMENTSOF(remote));
}

/* Undoes the octal escapes (\040 etc.) of /proc/self/mounts in place. */
static void mount_unescape(char *s) {
        char *o = s;

        for (char *p = s; *p;) {
                if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
                    p[3] <= '7') {
                        *o++ = (char) (((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
                        p += 4;
                } else
                        *o++ = *p++;
        }
        *o = '\0';
}

/* Splits off the next space-separated field. */
static char *next_field(char **p) {
        char *s = *p, *e;

        while (*s == ' ')
                s++;
        if (!*s)
                return NULL;
        e = strchr(s, ' ');
        if (e) {
                *e = '\0';
                *p = e + 1;
        } else
                *p = s + strlen(s);
        return s;
}

static void fs_entries_free(FsEntry *fs, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(fs[i].mountpoint);
                free(fs[i].device);
                free(fs[i].fstype);
        }
        free(fs);
}

static void fs_entry_remove(FsEntry *fs, size_t *n, size_t i) {
        free(fs[i].mountpoint);
        free(fs[i].device);
        free(fs[i].fstype);
        memmove(fs + i, fs + i + 1, (*n - i - 1) * sizeof *fs);
        (*n)--;
}

static bool path_beneath(const char *path, const char *dir) {
        size_t l = strlen(dir);

        if (streq(dir, "/"))
                return true;
        return strncmp(path, dir, l) == 0 && path[l] == '/';
}

static bool beneath_remote(const FsEntry *fs, size_t n, const char *mnt) {
        for (size_t i = 0; i < n; i++)
                if (fs[i].remote && path_beneath(mnt, fs[i].mountpoint))
                        return true;
        return false;
}

static void fs_query(FsEntry *e) {
        struct statvfs sv;
        uint64_t frsize, used;

        /* Never for remote filesystems: statvfs() can hang on a dead server. */
        if (e->remote)
                return;
        if (statvfs(e->mountpoint, &sv) < 0)
                return;
        frsize = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
        e->total = (uint64_t) sv.f_blocks * frsize;
        used = sv.f_blocks >= sv.f_bfree ? (uint64_t) (sv.f_blocks - sv.f_bfree) * frsize : 0;
        e->used = used;
        e->avail = (uint64_t) sv.f_bavail * frsize;
        e->have_size = true;
}

/* Collects the visible filesystems. On success *ret is an owned array. */
static int collect_filesystems(ToolCall *call, FsEntry **ret, size_t *ret_n, bool *ret_truncated) {
        _cleanup_(fclosep) FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        FsEntry *fs = NULL;
        size_t n = 0, lines = 0;
        bool truncated = false, at_start = true;

        f = fopen("/proc/self/mounts", "re");
        if (!f)
                return -errno;
        line = malloc(MOUNT_LINE_MAX);
        fs = calloc(FS_MAX, sizeof *fs);
        if (!line || !fs) {
                free(fs);
                return -ENOMEM;
        }

        while (fgets(line, MOUNT_LINE_MAX, f)) {
                bool complete = strchr(line, '\n') != NULL, was_start = at_start;
                char *p = line, *dev, *mnt, *type, *nl;
                size_t i;

                at_start = complete;
                if (!was_start || !complete)
                        continue;       /* part of an over-long line: skip it */
                if (++lines > MOUNT_LINES_MAX) {
                        truncated = true;
                        break;
                }
                if (tool_cancelled(call)) {
                        fs_entries_free(fs, n);
                        return -ECANCELED;
                }
                nl = strchr(line, '\n');
                if (nl)
                        *nl = '\0';
                dev = next_field(&p);
                mnt = next_field(&p);
                type = next_field(&p);
                if (!dev || !mnt || !type)
                        continue;
                mount_unescape(dev);
                mount_unescape(mnt);

                /* A later mount on the same point hides the earlier one, even
                 * when the later one is a pseudo filesystem (tmpfs on /tmp). */
                for (i = 0; i < n; i++)
                        if (streq(fs[i].mountpoint, mnt))
                                break;
                if (fstype_is_pseudo(type)) {
                        if (i < n)
                                fs_entry_remove(fs, &n, i);
                        continue;
                }
                if (i == n) {
                        if (n >= FS_MAX) {
                                truncated = true;
                                continue;
                        }
                        n++;
                } else {
                        free(fs[i].mountpoint);
                        free(fs[i].device);
                        free(fs[i].fstype);
                }
                fs[i] = (FsEntry) {
                        .mountpoint = strdup(mnt),
                        .device = strdup(dev),
                        .fstype = strdup(type),
                        .remote = fstype_is_remote(type),
                };
                if (!fs[i].mountpoint || !fs[i].device || !fs[i].fstype) {
                        fs_entries_free(fs, n);
                        return -ENOMEM;
                }
        }

        /* Only now touch the survivors; bind-mounted files (a container's
         * /etc/hosts) are not filesystems worth listing. A path beneath a
         * remote mount is not touched at all: resolving it would ask the
         * remote server. */
        for (size_t i = 0; i < n;) {
                struct stat st;

                if (fs[i].remote || beneath_remote(fs, n, fs[i].mountpoint)) {
                        i++;
                        continue;
                }
                if (stat(fs[i].mountpoint, &st) < 0 || !S_ISDIR(st.st_mode)) {
                        fs_entry_remove(fs, &n, i);
                        continue;
                }
                fs_query(&fs[i]);
                i++;
        }

        *ret = fs;
        *ret_n = n;
        *ret_truncated = truncated;
        return 0;
}

static json_t *fs_to_json(const FsEntry *e) {
        _cleanup_json_ json_t *o = json_object();
        double pct = 0.0;

        if (!o)
                return NULL;
        if (e->have_size && e->used + e->avail > 0)
                pct = (double) e->used * 100.0 / (double) (e->used + e->avail);
        if (json_set(o, "mountpoint", json_string_sanitized(e->mountpoint, strlen(e->mountpoint), '?')) < 0 ||
            json_set(o, "device", json_string_sanitized(e->device, strlen(e->device), '?')) < 0 ||
            json_set(o, "fstype", json_string_sanitized(e->fstype, strlen(e->fstype), '?')) < 0 ||
            json_set(o, "remote", json_boolean(e->remote)) < 0 ||
            json_set(o, "total_bytes", e->have_size ? json_integer((json_int_t) e->total) : json_null()) < 0 ||
            json_set(o, "used_bytes", e->have_size ? json_integer((json_int_t) e->used) : json_null()) < 0 ||
            json_set(o, "available_bytes", e->have_size ? json_integer((json_int_t) e->avail) : json_null()) < 0 ||
            json_set(o, "usage_percent", e->have_size ? json_real(clamp_percent(pct)) : json_null()) < 0)
                return NULL;
        return TAKE_PTR(o);
}

/* get_system_status ----------------------------------------------------------- */

static int system_status_collect(ToolCall *call);

/* Many pollers (dashboards, agents) ask at once: one snapshot serves every
 * call within SNAPSHOT_USEC. The kernel formats the whole mount table and
 * every IRQ counter per read of /proc/self/mounts and /proc/stat, so this is
 * most of the tool's cost. The JSON is immutable once built; jansson's
 * reference counts are atomic, so callers share it. */
#define SNAPSHOT_USEC 250000

static pthread_mutex_t snapshot_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *snapshot_result;
static char *snapshot_text;
static uint64_t snapshot_at;

/* The event-loop path: a fresh snapshot, or -EAGAIN (never waits for the lock). */
static int fast_get_system_status(ToolCall *call) {
        int r = -EAGAIN;

        if (pthread_mutex_trylock(&snapshot_lock) != 0)
                return -EAGAIN;
        if (snapshot_result && now_usec() - snapshot_at < SNAPSHOT_USEC) {
                call->result = json_incref(snapshot_result);
                call->text = snapshot_text ? strdup(snapshot_text) : NULL;
                r = 0;
        }
        pthread_mutex_unlock(&snapshot_lock);
        return r;
}

static int tool_get_system_status(ToolCall *call) {
        uint64_t now = now_usec();
        int r;

        pthread_mutex_lock(&snapshot_lock);
        if (snapshot_result && now - snapshot_at < SNAPSHOT_USEC) {
                call->result = json_incref(snapshot_result);
                call->text = snapshot_text ? strdup(snapshot_text) : NULL;
                pthread_mutex_unlock(&snapshot_lock);
                return 0;
        }
        /* Collected under the lock: concurrent callers wait for this one
         * instead of all reading /proc at once. */
        r = system_status_collect(call);
        if (r >= 0 && call->result) {
                json_decref(snapshot_result);
                free(snapshot_text);
                snapshot_result = json_incref(call->result);
                snapshot_text = call->text ? strdup(call->text) : NULL;
                snapshot_at = now_usec();
        }
        pthread_mutex_unlock(&snapshot_lock);
        return r;
}

static int system_status_collect(ToolCall *call) {
        _cleanup_json_ json_t *result = NULL, *kernel = NULL, *load = NULL, *cpu = NULL, *mem = NULL,
                              *swap = NULL, *fsa = NULL;
        /* text_buf before text: the stream must be closed before its buffer
         * is freed (cleanups run in reverse order of declaration). */
        _cleanup_free_ char *text_buf = NULL;
        _cleanup_(fclosep) FILE *text = NULL;
        size_t text_len = 0, n_fs = 0;
        char host[HOST_NAME_MAX + 1] = "", os[256], up_s[64], b1[32], b2[32], b3[32];
        double uptime, loadavg[3] = {}, cpu_pct;
        bool cpu_interval, fs_truncated = false;
        FsEntry *fs = NULL;
        struct utsname u;
        CpuTimes ct = {};
        MemInfo mi = {};
        long ncpu;
        int r;

        if (gethostname(host, sizeof host - 1) < 0)
                snprintf(host, sizeof host, "localhost");
        host[sizeof host - 1] = '\0';
        if (uname(&u) < 0)
                return tool_error(call, -errno, "cannot read the kernel version (uname failed)");
        read_os_pretty_name(os, sizeof os);

        uptime = read_uptime();

        {
                char buf[256];
                char *p = buf;

                if (read_file("/proc/loadavg", buf, sizeof buf) > 0)
                        for (size_t i = 0; i < 3; i++) {
                                char *e;

                                errno = 0;
                                loadavg[i] = strtod(p, &e);
                                if (errno != 0 || e == p || !(loadavg[i] >= 0)) {
                                        loadavg[i] = 0.0;
                                        break;
                                }
                                p = e;
                        }
        }

        r = read_proc_stat(&ct);
        if (r < 0)
                return tool_error(call, r, "cannot read CPU statistics from /proc/stat");
        cpu_usage(&ct, &cpu_pct, &cpu_interval);
        if (!ct.have_btime) {
                time_t now = time(NULL);

                ct.btime = (uint64_t) now > (uint64_t) uptime ? (uint64_t) now - (uint64_t) uptime : 0;
        }

        r = read_meminfo(&mi);
        if (r < 0)
                return tool_error(call, r, "cannot read memory statistics from /proc/meminfo");

        ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        if (ncpu < 1)
                ncpu = 1;

        r = collect_filesystems(call, &fs, &n_fs, &fs_truncated);
        if (r == -ECANCELED)
                return tool_error(call, r, "cancelled");
        if (r == -ENOMEM)
                return tool_error(call, r, "out of memory");
        if (r < 0) {
                fs = NULL;
                n_fs = 0;
        }

        kernel = json_object();
        load = json_object();
        cpu = json_object();
        mem = json_object();
        swap = json_object();
        fsa = json_array();
        result = json_object();
        if (!kernel || !load || !cpu || !mem || !swap || !fsa || !result)
                goto oom;

        if (json_set(kernel, "release", json_string_sanitized(u.release, strlen(u.release), '?')) < 0 ||
            json_set(kernel, "version", json_string_sanitized(u.version, strlen(u.version), '?')) < 0 ||
            json_set(kernel, "machine", json_string_sanitized(u.machine, strlen(u.machine), '?')) < 0)
                goto oom;

        if (json_set(load, "1m", json_real(round2(loadavg[0]))) < 0 ||
            json_set(load, "5m", json_real(round2(loadavg[1]))) < 0 ||
            json_set(load, "15m", json_real(round2(loadavg[2]))) < 0)
                goto oom;

        if (json_set(cpu, "count", json_integer(ncpu)) < 0 ||
            json_set(cpu, "usage_percent", json_real(clamp_percent(cpu_pct))) < 0 ||
            json_set(cpu, "usage_basis", json_string(cpu_interval ? "interval" : "since_boot")) < 0)
                goto oom;

        {
                uint64_t used = mi.total > mi.available ? mi.total - mi.available : 0;
                uint64_t sused = mi.swap_total > mi.swap_free ? mi.swap_total - mi.swap_free : 0;

                if (json_set(mem, "total_bytes", json_integer((json_int_t) mi.total)) < 0 ||
                    json_set(mem, "available_bytes", json_integer((json_int_t) mi.available)) < 0 ||
                    json_set(mem, "used_bytes", json_integer((json_int_t) used)) < 0 ||
                    json_set(mem, "free_bytes", json_integer((json_int_t) mi.free)) < 0 ||
                    json_set(mem, "usage_percent",
                             json_real(mi.total ? clamp_percent((double) used * 100.0 / (double) mi.total) : 0.0)) < 0 ||
                    json_set(mem, "buffers", json_integer((json_int_t) mi.buffers)) < 0 ||
                    json_set(mem, "cached", json_integer((json_int_t) mi.cached)) < 0)
                        goto oom;

                if (json_set(swap, "total_bytes", json_integer((json_int_t) mi.swap_total)) < 0 ||
                    json_set(swap, "free_bytes", json_integer((json_int_t) mi.swap_free)) < 0 ||
                    json_set(swap, "used_bytes", json_integer((json_int_t) sused)) < 0 ||
                    json_set(swap, "usage_percent",
                             json_real(mi.swap_total ? clamp_percent((double) sused * 100.0 / (double) mi.swap_total)
                                                     : 0.0)) < 0)
                        goto oom;
        }

        for (size_t i = 0; i < n_fs; i++) {
                json_t *e = fs_to_json(&fs[i]);

                if (!e || json_array_append_new(fsa, e) < 0)
                        goto oom;
        }

        if (json_set(result, "hostname", json_string_sanitized(host, strlen(host), '?')) < 0 ||
            json_set(result, "kernel", json_incref(kernel)) < 0 || json_set(result, "os", json_string(os)) < 0 ||
            json_set(result, "uptime_seconds", json_real(uptime)) < 0 ||
            json_set(result, "boot_time", json_integer((json_int_t) ct.btime)) < 0 ||
            json_set(result, "load_average", json_incref(load)) < 0 ||
            json_set(result, "cpu", json_incref(cpu)) < 0 || json_set(result, "memory", json_incref(mem)) < 0 ||
            json_set(result, "swap", json_incref(swap)) < 0 ||
            json_set(result, "filesystems", json_incref(fsa)) < 0 ||
            json_set(result, "filesystems_truncated", json_boolean(fs_truncated)) < 0)
                goto oom;

        /* The readable summary. */
        text = open_memstream(&text_buf, &text_len);
        if (!text)
                goto oom;
        {
                char host_clean[HOST_NAME_MAX + 1];
                uint64_t used = mi.total > mi.available ? mi.total - mi.available : 0;
                uint64_t sused = mi.swap_total > mi.swap_free ? mi.swap_total - mi.swap_free : 0;
                size_t shown = 0;

                utf8_sanitize(host, strlen(host), '?', host_clean, sizeof host_clean);
                format_duration(uptime, up_s, sizeof up_s);
                fprintf(text, "host %s (%s, kernel %s %s), up %s\n", host_clean, os, u.release, u.machine, up_s);
                fprintf(text, "load %.2f %.2f %.2f, cpu %.1f%% of %ld (%s)\n", loadavg[0], loadavg[1],
                        loadavg[2], clamp_percent(cpu_pct), ncpu, cpu_interval ? "interval" : "since boot");
                format_bytes(used, b1, sizeof b1);
                format_bytes(mi.total, b2, sizeof b2);
                format_bytes(mi.available, b3, sizeof b3);
                fprintf(text, "mem %.1f%% used (%s of %s, %s available)",
                        mi.total ? clamp_percent((double) used * 100.0 / (double) mi.total) : 0.0, b1, b2, b3);
                if (mi.swap_total > 0) {
                        format_bytes(sused, b1, sizeof b1);
                        format_bytes(mi.swap_total, b2, sizeof b2);
                        fprintf(text, ", swap %.1f%% used (%s of %s)\n",
                                clamp_percent((double) sused * 100.0 / (double) mi.swap_total), b1, b2);
                } else
                        fprintf(text, ", no swap\n");

                for (size_t i = 0; i < n_fs; i++) {
                        char mnt[72];

                        if (shown >= 20) {
                                fprintf(text, "... and %zu more filesystems\n", n_fs - shown);
                                break;
                        }
                        utf8_sanitize(fs[i].mountpoint, strlen(fs[i].mountpoint), '?', mnt, sizeof mnt);
                        if (fs[i].have_size && fs[i].used + fs[i].avail > 0) {
                                format_bytes(fs[i].used, b1, sizeof b1);
                                format_bytes(fs[i].total, b2, sizeof b2);
                                fprintf(text, "%s %s %.1f%% used (%s of %s)\n", mnt, fs[i].fstype,
                                        clamp_percent((double) fs[i].used * 100.0 /
                                                      (double) (fs[i].used + fs[i].avail)),
                                        b1, b2);
                        } else
                                fprintf(text, "%s %s%s\n", mnt, fs[i].fstype,
                                        fs[i].remote ? " (remote, not queried)" : " (size unknown)");
                        shown++;
                }
        }
        if (fflush(text) != 0 || ferror(text))
                goto oom;
        fclose(TAKE_PTR(text));

        fs_entries_free(fs, n_fs);
        call->result = TAKE_PTR(result);
        call->text = TAKE_PTR(text_buf);
        return 0;

oom:
        fs_entries_free(fs, n_fs);
        return tool_error(call, -ENOMEM, "out of memory");
}

/* get_top_processes ----------------------------------------------------------- */

typedef struct ProcSample {
        int pid;
        int ppid;
        char state;
        char name[NAME_MAX_BYTES];
        uint64_t ticks;                 /* utime + stime */
        uint64_t starttime;             /* clock ticks after boot */
        uint64_t rss_bytes;
        int64_t threads;
        double cpu_percent;
} ProcSample;

typedef struct ProcTicks {
        int pid;
        uint64_t starttime;
        uint64_t ticks;
} ProcTicks;

static pthread_mutex_t proc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
        ProcTicks *items;               /* sorted by pid */
        size_t n;
        uint64_t at;                    /* CLOCK_MONOTONIC, µs */
} proc_snap;

static bool parse_pid(const char *s, int *ret) {
        uint64_t v = 0;
        size_t i;

        for (i = 0; s[i]; i++) {
                if (s[i] < '0' || s[i] > '9' || i >= 10)
                        return false;
                v = v * 10 + (uint64_t) (s[i] - '0');
        }
        if (i == 0 || v == 0 || v > INT_MAX)
                return false;
        *ret = (int) v;
        return true;
}

/* Parses /proc/<pid>/stat. The command name is in parentheses and may itself
 * contain spaces and ')' (it is chosen by the process), so the fixed fields
 * are found after the LAST ')'. */
static int parse_stat(const char *buf, ProcSample *p, long page_size) {
        const char *open = strchr(buf, '('), *close = strrchr(buf, ')');
        uint64_t utime = 0, stime = 0, starttime = 0, rss_pages = 0;
        int64_t ppid = 0, threads = 0;
        const char *s;
        size_t field = 3;

        if (!open || !close || close < open || close[1] != ' ' || !close[2])
                return -EINVAL;

        utf8_sanitize(open + 1, (size_t) (close - open - 1), '?', p->name, sizeof p->name);
        p->state = close[2];
        s = close + 3;

        /* Fields 4.. are numbers separated by single spaces. */
        while (*s && field < 24) {
                char *end;

                field++;
                while (*s == ' ')
                        s++;
                switch (field) {
                case 4:
                        if (parse_i64(s, &end, &ppid) < 0)
                                return -EINVAL;
                        break;
                case 14:
                        if (parse_u64(s, &end, &utime) < 0)
                                return -EINVAL;
                        break;
                case 15:
                        if (parse_u64(s, &end, &stime) < 0)
                                return -EINVAL;
                        break;
                case 20:
                        if (parse_i64(s, &end, &threads) < 0)
                                return -EINVAL;
                        break;
                case 22:
                        if (parse_u64(s, &end, &starttime) < 0)
                                return -EINVAL;
                        break;
                case 24:
                        if (parse_u64(s, &end, &rss_pages) < 0)
                                rss_pages = 0;  /* a negative rss is not worth failing for */
                        break;
                default:
                        end = strchr(s, ' ');
                        if (!end)
                                end = (char *) s + strlen(s);
                        break;
                }
                s = end;
        }
        if (field < 24)
                return -EINVAL;

        p->ppid = ppid >= 0 && ppid <= INT_MAX ? (int) ppid : 0;
        p->ticks = utime + stime;
        p->starttime = starttime;
        p->threads = threads >= 0 ? threads : 0;
        p->rss_bytes = rss_pages <= UINT64_MAX / (uint64_t) page_size ? rss_pages * (uint64_t) page_size : 0;
        return 0;
}

static int proc_ticks_cmp(const void *a, const void *b) {
        const ProcTicks *x = a, *y = b;

        return (x->pid > y->pid) - (x->pid < y->pid);
}

typedef enum SortBy {
        SORT_CPU,
        SORT_MEMORY,
} SortBy;

static int cmp_cpu(const void *a, const void *b) {
        const ProcSample *x = a, *y = b;

        if (x->cpu_percent != y->cpu_percent)
                return x->cpu_percent < y->cpu_percent ? 1 : -1;
        if (x->rss_bytes != y->rss_bytes)
                return x->rss_bytes < y->rss_bytes ? 1 : -1;
        return (x->pid > y->pid) - (x->pid < y->pid);
}

static int cmp_memory(const void *a, const void *b) {
        const ProcSample *x = a, *y = b;

        if (x->rss_bytes != y->rss_bytes)
                return x->rss_bytes < y->rss_bytes ? 1 : -1;
        if (x->cpu_percent != y->cpu_percent)
                return x->cpu_percent < y->cpu_percent ? 1 : -1;
        return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Fills cpu_percent for every sample, from the process-global snapshot when
 * it is between SAMPLE_MIN_AGE_USEC and PROC_SAMPLE_MAX_AGE_USEC old, else
 * as the lifetime average. Replaces the snapshot when it is old enough (or
 * absent). Returns true for the interval basis. */
static bool compute_cpu(ProcSample *s, size_t n, ProcTicks *fresh, double uptime, long clk) {
        ProcTicks *old_items = NULL;
        uint64_t now = now_usec(), age;
        bool interval;

        pthread_mutex_lock(&proc_lock);
        age = now - proc_snap.at;
        interval = proc_snap.items && age >= SAMPLE_MIN_AGE_USEC && age <= PROC_SAMPLE_MAX_AGE_USEC;

        for (size_t i = 0; i < n; i++) {
                if (interval) {
                        ProcTicks key = { .pid = s[i].pid }, *prev;
                        uint64_t before = 0;

                        prev = bsearch(&key, proc_snap.items, proc_snap.n, sizeof key, proc_ticks_cmp);
                        /* Same pid and start time is the same process; anything
                         * else started within the interval, so all its ticks
                         * fall inside it. */
                        if (prev && prev->starttime == s[i].starttime && prev->ticks <= s[i].ticks)
                                before = prev->ticks;
                        s[i].cpu_percent = (double) (s[i].ticks - before) * 100.0 /
                                           ((double) age / 1e6 * (double) clk);
                } else {
                        double alive = uptime - (double) s[i].starttime / (double) clk;

                        s[i].cpu_percent = alive > 0 ? (double) s[i].ticks / (double) clk / alive * 100.0 : 0.0;
                }
                s[i].cpu_percent = round2(s[i].cpu_percent);
        }

        if (fresh && (!proc_snap.items || age >= SAMPLE_MIN_AGE_USEC)) {
                old_items = proc_snap.items;
                proc_snap.items = fresh;
                proc_snap.n = n;
                proc_snap.at = now;
                fresh = NULL;
        }
        pthread_mutex_unlock(&proc_lock);

        free(old_items);
        free(fresh);
        return interval;
}

typedef struct UidName {
        uid_t uid;
        char name[64];
} UidName;

static void resolve_user(uid_t uid, UidName *cache, size_t *n_cache, size_t cap, char *out, size_t size) {
        _cleanup_free_ char *buf = NULL;
        struct passwd pw, *res = NULL;
        size_t bufsize = 16384;

        for (size_t i = 0; i < *n_cache; i++)
                if (cache[i].uid == uid) {
                        snprintf(out, size, "%s", cache[i].name);
                        return;
                }

        snprintf(out, size, "%u", (unsigned) uid);
        buf = malloc(bufsize);
        if (buf && getpwuid_r(uid, &pw, buf, bufsize, &res) == 0 && res && res->pw_name)
                utf8_sanitize(res->pw_name, strlen(res->pw_name), '?', out, size);

        if (*n_cache < cap) {
                cache[*n_cache].uid = uid;
                snprintf(cache[*n_cache].name, sizeof cache[*n_cache].name, "%s", out);
                (*n_cache)++;
        }
}

/* Reads uid and command line of a selected process through a directory fd,
 * after checking it is still the process we sampled (pid reuse). Returns
 * -ESRCH when it is gone. */
static int proc_details(int proc_fd, const ProcSample *p, long page_size, uid_t *ret_uid, char *cmdline,
                        size_t cmdline_size) {
        _cleanup_close_ int dfd = -1;
        char name[16], buf[4096], raw[CMDLINE_MAX + 1];
        ProcSample again = {};
        const char *uid_line;
        uint64_t uid;
        ssize_t n;

        snprintf(name, sizeof name, "%d", p->pid);
        dfd = openat(proc_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -ESRCH;

        n = read_file_at(dfd, 0, "stat", buf, sizeof buf);
        if (n <= 0 || parse_stat(buf, &again, page_size) < 0 || again.starttime != p->starttime)
                return -ESRCH;

        n = read_file_at(dfd, 0, "status", buf, sizeof buf);
        if (n <= 0)
                return -ESRCH;
        uid_line = strstr(buf, "\nUid:");
        if (!uid_line || parse_u64(uid_line + 5, NULL, &uid) < 0 || uid > UINT32_MAX)
                return -ESRCH;
        *ret_uid = (uid_t) uid;

        /* Arguments are NUL-separated; kernel threads have none. */
        n = read_file_at(dfd, 0, "cmdline", raw, sizeof raw);
        if (n < 0)
                n = 0;
        for (ssize_t i = 0; i < n; i++)
                if (raw[i] == '\0')
                        raw[i] = ' ';
        while (n > 0 && raw[n - 1] == ' ')
                n--;
        utf8_sanitize(raw, (size_t) n, ' ', cmdline, cmdline_size);
        return 0;
}

static int tool_get_top_processes(ToolCall *call) {
        _cleanup_json_ json_t *result = NULL, *list = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_free_ ProcSample *s = NULL;
        _cleanup_free_ ProcTicks *ticks = NULL;
        _cleanup_free_ UidName *users = NULL;
        _cleanup_free_ char *text_buf = NULL;         /* before text, see above */
        _cleanup_(fclosep) FILE *text = NULL;
        size_t n = 0, cap = 0, total = 0, shown = 0, n_users = 0, text_len = 0;
        long clk = sysconf(_SC_CLK_TCK), page_size = sysconf(_SC_PAGESIZE);
        json_int_t limit = TOP_LIMIT_DEFAULT;
        SortBy sort = SORT_CPU;
        double uptime;
        MemInfo mi = {};
        struct dirent *de;
        bool interval;
        json_t *v;

        /* Arguments were validated against the schema; stay defensive anyway. */
        v = json_object_get(call->args, "limit");
        if (json_is_integer(v))
                limit = json_integer_value(v);
        if (limit < 1 || limit > TOP_LIMIT_MAX)
                return tool_error(call, -EINVAL, "argument 'limit': must be an integer between 1 and %d",
                                  TOP_LIMIT_MAX);
        v = json_object_get(call->args, "sort_by");
        if (json_is_string(v)) {
                if (streq(json_string_value(v), "memory"))
                        sort = SORT_MEMORY;
                else if (!streq(json_string_value(v), "cpu"))
                        return tool_error(call, -EINVAL,
                                          "argument 'sort_by': must be one of \"cpu\", \"memory\"");
        }
        if (clk <= 0)
                clk = 100;
        if (page_size <= 0)
                page_size = 4096;

        (void) read_meminfo(&mi);       /* without it memory_percent is 0 */
        uptime = read_uptime();

        d = opendir("/proc");
        if (!d)
                return tool_error(call, -errno, "cannot list processes: /proc is not readable");

        for (;;) {
                char path[32], buf[1024];
                ProcSample p = {};
                ssize_t len;
                int pid;

                errno = 0;
                de = readdir(d);
                if (!de)
                        break;
                if (tool_cancelled(call))
                        return tool_error(call, -ECANCELED, "cancelled");
                if (!parse_pid(de->d_name, &pid))
                        continue;
                if (n >= PROC_MAX) {
                        total++;
                        continue;
                }

                /* Processes exit while we walk: any failure here means "gone"
                 * (or hidden from us), never an error. */
                snprintf(path, sizeof path, "%d/stat", pid);
                len = read_file_at(dirfd(d), 0, path, buf, sizeof buf);
                if (len <= 0)
                        continue;
                p.pid = pid;
                if (parse_stat(buf, &p, page_size) < 0)
                        continue;

                if (n == cap) {
                        size_t ncap = cap ? cap * 2 : 512;
                        ProcSample *ns;

                        if (ncap > PROC_MAX)
                                ncap = PROC_MAX;
                        ns = reallocarray(s, ncap, sizeof *s);
                        if (!ns)
                                return tool_error(call, -ENOMEM, "out of memory");
                        s = ns;
                        cap = ncap;
                }
                s[n++] = p;
                total++;
        }

        ticks = calloc(n ? n : 1, sizeof *ticks);
        if (!ticks)
                return tool_error(call, -ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++)
                ticks[i] = (ProcTicks) { .pid = s[i].pid, .starttime = s[i].starttime, .ticks = s[i].ticks };
        qsort(ticks, n, sizeof *ticks, proc_ticks_cmp);
        interval = compute_cpu(s, n, TAKE_PTR(ticks), uptime, clk);

        if (n > 0)
                qsort(s, n, sizeof *s, sort == SORT_CPU ? cmp_cpu : cmp_memory);

        list = json_array();
        result = json_object();
        users = calloc(TOP_LIMIT_MAX, sizeof *users);
        text = open_memstream(&text_buf, &text_len);
        if (!list || !result || !users || !text)
                return tool_error(call, -ENOMEM, "out of memory");

        fprintf(text, "%6s %6s %-12s %6s %5s %10s %s %-16s %s\n", "PID", "PPID", "USER", "CPU%", "MEM%", "RSS",
                "S", "NAME", "COMMAND");

        for (size_t i = 0; i < n && shown < (size_t) limit; i++) {
                _cleanup_json_ json_t *o = NULL;
                char cmdline[CMDLINE_MAX + 1], user[64], state[2] = { s[i].state, '\0' };
                char user_col[16], cmd_col[64], rss_col[16];
                double mem_pct = mi.total ? (double) s[i].rss_bytes * 100.0 / (double) mi.total : 0.0;
                uid_t uid = 0;

                if (tool_cancelled(call))
                        return tool_error(call, -ECANCELED, "cancelled");
                if (proc_details(dirfd(d), &s[i], page_size, &uid, cmdline, sizeof cmdline) < 0)
                        continue;       /* exited since the walk */
                resolve_user(uid, users, &n_users, TOP_LIMIT_MAX, user, sizeof user);
                if (!isprint((unsigned char) state[0]))
                        state[0] = '?';

                o = json_object();
                if (!o || json_set(o, "pid", json_integer(s[i].pid)) < 0 ||
                    json_set(o, "ppid", json_integer(s[i].ppid)) < 0 ||
                    json_set(o, "name", json_string(s[i].name)) < 0 || json_set(o, "state", json_string(state)) < 0 ||
                    json_set(o, "user", json_string(user)) < 0 || json_set(o, "uid", json_integer(uid)) < 0 ||
                    json_set(o, "cpu_percent", json_real(s[i].cpu_percent)) < 0 ||
                    json_set(o, "memory_rss_bytes", json_integer((json_int_t) s[i].rss_bytes)) < 0 ||
                    json_set(o, "memory_percent", json_real(clamp_percent(mem_pct))) < 0 ||
                    json_set(o, "threads", json_integer(s[i].threads)) < 0 ||
                    json_set(o, "cmdline", json_string(cmdline)) < 0 ||
                    json_array_append_new(list, TAKE_PTR(o)) < 0)
                        return tool_error(call, -ENOMEM, "out of memory");

                text_clip(user, 12, user_col, sizeof user_col);
                text_clip(cmdline[0] ? cmdline : "-", 60, cmd_col, sizeof cmd_col);
                format_bytes(s[i].rss_bytes, rss_col, sizeof rss_col);
                fprintf(text, "%6d %6d %-12s %6.1f %5.1f %10s %s %-16s %s\n", s[i].pid, s[i].ppid, user_col,
                        s[i].cpu_percent, clamp_percent(mem_pct), rss_col, state, s[i].name, cmd_col);
                shown++;
        }
        fprintf(text, "%zu of %zu processes by %s (cpu basis: %s)\n", shown, total,
                sort == SORT_CPU ? "cpu" : "memory", interval ? "interval" : "lifetime");
        if (fflush(text) != 0 || ferror(text))
                return tool_error(call, -ENOMEM, "out of memory");
        fclose(TAKE_PTR(text));

        if (json_set(result, "processes", TAKE_PTR(list)) < 0 ||
            json_set(result, "total_processes", json_integer((json_int_t) total)) < 0 ||
            json_set(result, "sort_by", json_string(sort == SORT_CPU ? "cpu" : "memory")) < 0 ||
            json_set(result, "limit", json_integer(limit)) < 0 ||
            json_set(result, "cpu_basis", json_string(interval ? "interval" : "lifetime")) < 0)
                return tool_error(call, -ENOMEM, "out of memory");

        call->result = TAKE_PTR(result);
        call->text = TAKE_PTR(text_buf);
        return 0;
}

/* The table ------------------------------------------------------------------- */

#define PERCENT "{\"type\":\"number\",\"minimum\":0,\"maximum\":100}"
#define BYTES "{\"type\":\"integer\",\"minimum\":0}"
#define BYTES_OR_NULL "{\"type\":[\"integer\",\"null\"],\"minimum\":0}"

const Tool tools_system[] = {
        {
                .name = "get_system_status",
                .title = "System status",
                .description = "Host overview: hostname, kernel, OS, uptime, load average, CPU usage, memory, "
                               "swap and disk usage of local filesystems. Network filesystems are listed but "
                               "not queried.",
                .scope = SCOPE_SYSTEM_READ,
                .risk = RISK_LOW,
                .input_schema = "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{}}",
                .output_schema =
                        "{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"hostname\",\"kernel\",\"os\",\"uptime_seconds\",\"boot_time\","
                        "\"load_average\",\"cpu\",\"memory\",\"swap\",\"filesystems\",\"filesystems_truncated\"],"
                        "\"properties\":{"
                        "\"hostname\":{\"type\":\"string\"},"
                        "\"kernel\":{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"release\",\"version\",\"machine\"],\"properties\":{"
                        "\"release\":{\"type\":\"string\"},\"version\":{\"type\":\"string\"},"
                        "\"machine\":{\"type\":\"string\"}}},"
                        "\"os\":{\"type\":\"string\",\"description\":\"PRETTY_NAME from os-release\"},"
                        "\"uptime_seconds\":{\"type\":\"number\",\"minimum\":0},"
                        "\"boot_time\":{\"type\":\"integer\",\"minimum\":0,\"description\":\"Unix time\"},"
                        "\"load_average\":{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"1m\",\"5m\",\"15m\"],\"properties\":{"
                        "\"1m\":{\"type\":\"number\",\"minimum\":0},\"5m\":{\"type\":\"number\",\"minimum\":0},"
                        "\"15m\":{\"type\":\"number\",\"minimum\":0}}},"
                        "\"cpu\":{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"count\",\"usage_percent\",\"usage_basis\"],\"properties\":{"
                        "\"count\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"online CPUs\"},"
                        "\"usage_percent\":" PERCENT ","
                        "\"usage_basis\":{\"type\":\"string\",\"enum\":[\"interval\",\"since_boot\"]}}},"
                        "\"memory\":{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"total_bytes\",\"available_bytes\",\"used_bytes\",\"free_bytes\","
                        "\"usage_percent\",\"buffers\",\"cached\"],\"properties\":{"
                        "\"total_bytes\":" BYTES ",\"available_bytes\":" BYTES ",\"used_bytes\":" BYTES ","
                        "\"free_bytes\":" BYTES ",\"usage_percent\":" PERCENT ","
                        "\"buffers\":" BYTES ",\"cached\":" BYTES "}},"
                        "\"swap\":{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"total_bytes\",\"free_bytes\",\"used_bytes\",\"usage_percent\"],"
                        "\"properties\":{"
                        "\"total_bytes\":" BYTES ",\"free_bytes\":" BYTES ",\"used_bytes\":" BYTES ","
                        "\"usage_percent\":" PERCENT "}},"
                        "\"filesystems\":{\"type\":\"array\",\"maxItems\":256,\"items\":{"
                        "\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"mountpoint\",\"device\",\"fstype\",\"remote\",\"total_bytes\","
                        "\"used_bytes\",\"available_bytes\",\"usage_percent\"],\"properties\":{"
                        "\"mountpoint\":{\"type\":\"string\"},\"device\":{\"type\":\"string\"},"
                        "\"fstype\":{\"type\":\"string\"},"
                        "\"remote\":{\"type\":\"boolean\",\"description\":\"network or userspace "
                        "filesystem: sizes not queried\"},"
                        "\"total_bytes\":" BYTES_OR_NULL ",\"used_bytes\":" BYTES_OR_NULL ","
                        "\"available_bytes\":" BYTES_OR_NULL ","
                        "\"usage_percent\":{\"type\":[\"number\",\"null\"],\"minimum\":0,\"maximum\":100}}}},"
                        "\"filesystems_truncated\":{\"type\":\"boolean\"}}}",
                .handler = tool_get_system_status,
                .fast = fast_get_system_status,
        },
        {
                .name = "get_top_processes",
                .title = "Top processes",
                .description = "The processes using the most CPU or memory, with owner, state, threads and "
                               "command line. CPU percentages are measured since the previous call (at least "
                               "200 ms ago) or else averaged over each process's lifetime.",
                .scope = SCOPE_SYSTEM_READ,
                .risk = RISK_LOW,
                /* Command lines are chosen by whoever started the process. */
                .flags = TOOL_UNTRUSTED_OUTPUT,
                .input_schema =
                        "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
                        "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":200,\"default\":10,"
                        "\"description\":\"How many processes to return.\"},"
                        "\"sort_by\":{\"type\":\"string\",\"enum\":[\"cpu\",\"memory\"],\"default\":\"cpu\","
                        "\"description\":\"Order by CPU usage or resident memory.\"}}}",
                .output_schema =
                        "{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"processes\",\"total_processes\",\"sort_by\",\"limit\",\"cpu_basis\"],"
                        "\"properties\":{"
                        "\"processes\":{\"type\":\"array\",\"maxItems\":200,\"items\":{"
                        "\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"pid\",\"ppid\",\"name\",\"state\",\"user\",\"uid\",\"cpu_percent\","
                        "\"memory_rss_bytes\",\"memory_percent\",\"threads\",\"cmdline\"],\"properties\":{"
                        "\"pid\":{\"type\":\"integer\",\"minimum\":1},"
                        "\"ppid\":{\"type\":\"integer\",\"minimum\":0},"
                        "\"name\":{\"type\":\"string\",\"maxLength\":64},"
                        "\"state\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":1},"
                        "\"user\":{\"type\":\"string\"},"
                        "\"uid\":{\"type\":\"integer\",\"minimum\":0},"
                        "\"cpu_percent\":{\"type\":\"number\",\"minimum\":0,"
                        "\"description\":\"can exceed 100 for multi-threaded processes\"},"
                        "\"memory_rss_bytes\":" BYTES ","
                        "\"memory_percent\":" PERCENT ","
                        "\"threads\":{\"type\":\"integer\",\"minimum\":0},"
                        "\"cmdline\":{\"type\":\"string\",\"maxLength\":512}}}},"
                        "\"total_processes\":{\"type\":\"integer\",\"minimum\":0},"
                        "\"sort_by\":{\"type\":\"string\",\"enum\":[\"cpu\",\"memory\"]},"
                        "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":200},"
                        "\"cpu_basis\":{\"type\":\"string\",\"enum\":[\"interval\",\"lifetime\"]}}}",
                .handler = tool_get_top_processes,
        },
        {}
};
