/* SPDX-License-Identifier: MIT */

/* The "files" tool family: file_operations (list, info, read, tail, search)
 * confined beneath the configured roots (filesystem.allowed_paths).
 *
 * Confinement is the kernel's job, not string matching: each root is opened
 * with O_PATH and every path below it is opened with openat2() and
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS, so neither
 * ".." nor a symbolic link (planted before or during the call) leads out of
 * the root. Because no symlink is ever followed, resolving ".." lexically
 * gives the same file the kernel opens, which is what the denied-pattern
 * check (filesystem.denied_patterns, fnmatch) looks at before anything is
 * opened.
 *
 * Nothing but regular files (and directories, for list/search) is opened for
 * reading: a path is first opened with O_PATH (no side effects even for a
 * FIFO or a device), checked with fstat(), and only then reopened O_RDONLY |
 * O_NONBLOCK | O_NOCTTY and checked again to be the same inode. Every read is
 * bounded (lines, bytes of output, bytes scanned, directory entries, search
 * depth) and every result says "truncated" when something was left out.
 * File contents are made valid UTF-8 without control characters (tabs kept)
 * and are marked untrusted (TOOL_UNTRUSTED_OUTPUT). */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/utf8.h"
#include "common/cleanup.h"
#include "tools/tool.h"

#define LINES_DEFAULT 100
#define LINES_MAX 10000
#define PATTERN_MAX 256
#define BINARY_PROBE_BYTES 8192u
#define LINE_BYTES_MAX 65536u                   /* longer lines are clipped */
#define READ_CHUNK 65536u
#define SCAN_BYTES_MAX (256ull * 1024 * 1024)   /* bytes read to skip `offset` lines or to search */
#define LIST_SCAN_MAX 65536u                    /* directory entries looked at */
#define SEARCH_DEPTH_MAX 8u
#define SEARCH_VISIT_MAX 20000u
#define OUTPUT_DEFAULT (1024u * 1024u)
#define OUTPUT_MIN 1024u

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

typedef enum Action {
        ACTION_LIST,
        ACTION_INFO,
        ACTION_READ,
        ACTION_TAIL,
        ACTION_SEARCH,
        _ACTION_MAX,
} Action;

static const char *const action_names[_ACTION_MAX] = {
        [ACTION_LIST] = "list", [ACTION_INFO] = "info", [ACTION_READ] = "read",
        [ACTION_TAIL] = "tail", [ACTION_SEARCH] = "search",
};

/* Small helpers ------------------------------------------------------------ */

static int json_set(json_t *o, const char *key, json_t *v) {
        /* json_object_set_new() steals v, also on failure. */
        if (!v || json_object_set_new(o, key, v) < 0)
                return -ENOMEM;
        return 0;
}

static int json_append(json_t *a, json_t *v) {
        if (!v || json_array_append_new(a, v) < 0)
                return -ENOMEM;
        return 0;
}


/* Copies in[0..n) to out (n+1 bytes) as valid UTF-8: invalid bytes and
 * control characters other than tab become '?'. Returns the length. */
static size_t utf8_sanitize(const char *in, size_t n, char *out) {
        const unsigned char *u = (const unsigned char *) in;
        size_t i = 0, o = 0;

        while (i < n) {
                size_t l = utf8_seq_len(u + i, n - i);

                if (l == 0) {
                        out[o++] = '?';
                        i++;
                } else if (l == 1) {
                        out[o++] = ((u[i] < 0x20 && u[i] != '\t') || u[i] == 0x7f) ? '?' : (char) u[i];
                        i++;
                } else {
                        memcpy(out + o, in + i, l);
                        o += l;
                        i += l;
                }
        }
        out[o] = '\0';
        return o;
}

static json_t *json_string_clean(const char *s, size_t n) {
        _cleanup_free_ char *buf = malloc(n + 1);

        if (!buf)
                return NULL;
        utf8_sanitize(s, n, buf);
        return json_string(buf);
}

/* One bracket expression at p (just after '['): '!' or '^' negates, "a-z"
 * ranges, '\\' escapes, a ']' first is literal. Returns 1 match, 0 no
 * match, -1 when unterminated (then '[' is an ordinary character). */
static int glob_class(const char *p, unsigned char c, const char **ret_end) {
        bool neg = false, match = false, first = true;
        const char *q = p;

        if (*q == '!' || *q == '^') {
                neg = true;
                q++;
        }
        while (*q && (first || *q != ']')) {
                unsigned char lo, hi;

                first = false;
                if (*q == '\\' && q[1])
                        q++;
                lo = hi = (unsigned char) *q++;
                if (*q == '-' && q[1] && q[1] != ']') {
                        q++;
                        if (*q == '\\' && q[1])
                                q++;
                        hi = (unsigned char) *q++;
                }
                if (c >= lo && c <= hi)
                        match = true;
        }
        if (*q != ']')
                return -1;
        *ret_end = q + 1;
        return match != neg;
}

/* Matches a name against a glob from the client ('*', '?', '[...]', '\\').
 * Iterative with a single backtrack point (the last '*'), so the work is
 * bounded by len(pattern) * len(name) for every pattern; a recursive
 * fnmatch() can take exponential time on patterns such as "*a*a*a*a*b". */
static bool glob_match(const char *p, const char *s) {
        const char *star_p = NULL, *star_s = NULL;

        while (*s) {
                const char *next;

                if (*p == '*') {
                        while (*p == '*')
                                p++;
                        star_p = p;
                        star_s = s;
                        continue;
                }
                if (*p == '?') {
                        p++;
                        s++;
                        continue;
                }
                if (*p == '[') {
                        int m = glob_class(p + 1, (unsigned char) *s, &next);

                        if (m > 0 || (m < 0 && *s == '[')) {
                                p = m > 0 ? next : p + 1;
                                s++;
                                continue;
                        }
                } else if (*p == '\\' && p[1]) {
                        if (p[1] == *s) {
                                p += 2;
                                s++;
                                continue;
                        }
                } else if (*p && *p == *s) {
                        p++;
                        s++;
                        continue;
                }
                if (!star_p)
                        return false;
                p = star_p;
                s = ++star_s;
        }
        while (*p == '*')
                p++;
        return *p == '\0';
}

static void format_time(time_t t, char *buf, size_t size) {
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buf, size, "1970-01-01T00:00:00Z");
}

static const char *type_name(mode_t m) {
        if (S_ISREG(m))
                return "file";
        if (S_ISDIR(m))
                return "directory";
        if (S_ISLNK(m))
                return "symlink";
        if (S_ISFIFO(m))
                return "fifo";
        if (S_ISSOCK(m))
                return "socket";
        if (S_ISCHR(m))
                return "char_device";
        if (S_ISBLK(m))
                return "block_device";
        return "unknown";
}

static void format_permissions(mode_t m, char *buf) {
        static const char types[] = "?-dlpscb";
        size_t t = S_ISREG(m) ? 1 : S_ISDIR(m) ? 2 : S_ISLNK(m) ? 3 : S_ISFIFO(m) ? 4 : S_ISSOCK(m) ? 5
                 : S_ISCHR(m) ? 6 : S_ISBLK(m) ? 7 : 0;

        buf[0] = types[t];
        buf[1] = m & S_IRUSR ? 'r' : '-';
        buf[2] = m & S_IWUSR ? 'w' : '-';
        buf[3] = m & S_ISUID ? (m & S_IXUSR ? 's' : 'S') : (m & S_IXUSR ? 'x' : '-');
        buf[4] = m & S_IRGRP ? 'r' : '-';
        buf[5] = m & S_IWGRP ? 'w' : '-';
        buf[6] = m & S_ISGID ? (m & S_IXGRP ? 's' : 'S') : (m & S_IXGRP ? 'x' : '-');
        buf[7] = m & S_IROTH ? 'r' : '-';
        buf[8] = m & S_IWOTH ? 'w' : '-';
        buf[9] = m & S_ISVTX ? (m & S_IXOTH ? 't' : 'T') : (m & S_IXOTH ? 'x' : '-');
        buf[10] = '\0';
}

static size_t output_budget(const ToolCall *call) {
        size_t max = call->env && call->env->max_output_bytes ? call->env->max_output_bytes : OUTPUT_DEFAULT;

        /* The content appears twice (structured lines and the text block):
         * each copy gets half, so the whole result stays near the cap. */
        max /= 2;
        return max < OUTPUT_MIN ? OUTPUT_MIN : max;
}

/* Paths ------------------------------------------------------------------------ */

/* Collapses "//" and "/./" and drops a trailing "/" of an absolute path.
 * With resolve_dotdot, ".." removes the previous component (-EXDEV when
 * there is none); otherwise ".." is kept for the kernel to resolve. */
static int path_collapse(const char *in, bool resolve_dotdot, char *out, size_t size) {
        size_t o = 0;
        const char *p = in;

        if (in[0] != '/' || size < 2)
                return -EINVAL;
        out[o++] = '/';
        while (*p) {
                const char *start;
                size_t n;

                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                start = p;
                while (*p && *p != '/')
                        p++;
                n = (size_t) (p - start);
                if (n == 1 && start[0] == '.')
                        continue;
                if (resolve_dotdot && n == 2 && start[0] == '.' && start[1] == '.') {
                        if (o <= 1)
                                return -EXDEV;
                        o--;            /* the '/' after the previous component, if any */
                        while (o > 0 && out[o - 1] != '/')
                                o--;
                        if (o > 1)
                                o--;    /* drop the separator too, except the leading one */
                        else
                                o = 1;
                        continue;
                }
                if (o > 1) {
                        if (o + 1 >= size)
                                return -ENAMETOOLONG;
                        out[o++] = '/';
                }
                if (o + n >= size)
                        return -ENAMETOOLONG;
                memcpy(out + o, start, n);
                o += n;
        }
        out[o] = '\0';
        return 0;
}

static bool path_denied(const ToolEnv *env, const char *path) {
        const char *base = strrchr(path, '/');

        base = base ? base + 1 : path;
        if (!env || !env->denied_patterns)
                return false;
        for (char *const *p = env->denied_patterns; *p; p++) {
                if (fnmatch(*p, path, 0) == 0)
                        return true;
                /* "*.key" means a key file anywhere, whatever its directory. */
                if (!strchr(*p, '/') && fnmatch(*p, base, 0) == 0)
                        return true;
        }
        return false;
}

typedef struct Target {
        char path[PATH_MAX];            /* normalized absolute path, ".." resolved */
        char root[PATH_MAX];            /* the normalized root it lies beneath */
        char rel[PATH_MAX];             /* below the root as given ("." = the root itself) */
        int root_fd;                    /* O_PATH */
        bool root_is_file;
} Target;

static void target_done(Target *t) {
        if (t->root_fd >= 0)
                close(t->root_fd);
        t->root_fd = -1;
}

static void roots_describe(const ToolEnv *env, char *buf, size_t size) {
        size_t o = 0;

        buf[0] = '\0';
        for (char *const *p = env->allowed_paths; *p && o + 1 < size; p++) {
                int n = snprintf(buf + o, size - o, "%s%s", o ? ", " : "", *p);

                if (n < 0)
                        break;
                o += (size_t) n;
        }
        if (o >= size && size > 4)
                memcpy(buf + size - 4, "...", 4);
}

/* Picks the root `path` lies beneath (the longest one) and checks the path
 * against the denied patterns. Fills *t (t->root_fd opened) or sets the
 * call's error. */
static int target_resolve(ToolCall *call, const char *path, Target *t) {
        const ToolEnv *env = call->env;
        char collapsed[PATH_MAX], root[PATH_MAX], relnorm[PATH_MAX + 1], roots[256];
        size_t best = 0;
        bool found = false;
        struct stat st;
        int r;

        *t = (Target) { .root_fd = -1 };
        if (!env || !env->allowed_paths || !env->allowed_paths[0])
                return tool_error(call, -EACCES,
                                  "file access is disabled: no filesystem.allowed_paths are configured");
        if (path[0] != '/')
                return tool_error(call, -EINVAL, "argument 'path': must be an absolute path (got a relative one)");
        r = path_collapse(path, false, collapsed, sizeof collapsed);
        if (r < 0)
                return tool_error(call, r, "argument 'path': too long (at most %d bytes)", PATH_MAX - 1);

        for (char *const *p = env->allowed_paths; *p; p++) {
                size_t len;

                /* Roots come from the configuration; a malformed one is skipped. */
                if ((*p)[0] != '/' || path_collapse(*p, true, root, sizeof root) < 0)
                        continue;
                len = strlen(root);
                if (len == 1) {
                        /* "/" as a root: everything lies beneath it. */
                        if (!found || best < 1) {
                                snprintf(t->root, sizeof t->root, "/");
                                snprintf(t->rel, sizeof t->rel, "%s", collapsed[1] ? collapsed + 1 : ".");
                                best = 1;
                                found = true;
                        }
                        continue;
                }
                if (strncmp(collapsed, root, len) != 0 || (collapsed[len] != '/' && collapsed[len] != '\0'))
                        continue;
                if (found && len <= best)
                        continue;
                memcpy(t->root, root, len + 1);
                snprintf(t->rel, sizeof t->rel, "%s", collapsed[len] ? collapsed + len + 1 : ".");
                best = len;
                found = true;
        }
        if (!found) {
                roots_describe(env, roots, sizeof roots);
                return tool_error(call, -EACCES, "path %s is not beneath an allowed root (allowed: %s)", path,
                                  roots);
        }

        /* ".." must not climb above the root; the kernel refuses it too
         * (RESOLVE_BENEATH), this gives the clearer message first. */
        relnorm[0] = '/';
        snprintf(relnorm + 1, sizeof relnorm - 1, "%s", t->rel);
        r = path_collapse(relnorm, true, root, sizeof root);
        if (r == -EXDEV)
                return tool_error(call, -EXDEV, "path escapes the allowed root %s: '..' leads above it", t->root);
        if (r < 0)
                return tool_error(call, r, "argument 'path': too long");
        if (streq(t->root, "/"))
                snprintf(t->path, sizeof t->path, "%s", root);
        else if (streq(root, "/"))
                snprintf(t->path, sizeof t->path, "%s", t->root);
        else if ((size_t) snprintf(t->path, sizeof t->path, "%s%s", t->root, root) >= sizeof t->path)
                return tool_error(call, -ENAMETOOLONG, "argument 'path': too long");

        /* Before anything is opened: some files are never served, whatever
         * root they are under (shadow, private keys, our own config). */
        if (path_denied(env, t->path))
                return tool_error(call, -EACCES, "access to %s is denied by filesystem.denied_patterns",
                                  t->path);

        t->root_fd = open(t->root, O_PATH | O_CLOEXEC);
        if (t->root_fd < 0)
                return tool_error(call, -errno, "allowed root %s cannot be opened: %m", t->root);
        if (fstat(t->root_fd, &st) < 0)
                return tool_error(call, -errno, "allowed root %s cannot be examined: %m", t->root);
        if (!S_ISDIR(st.st_mode)) {
                /* A file root (e.g. /proc/loadavg) allows exactly that path. */
                t->root_is_file = true;
                if (!streq(t->rel, "."))
                        return tool_error(call, -ENOTDIR, "allowed root %s is a file: only that exact path "
                                                          "may be used", t->root);
        }
        return 0;
}

static int sys_openat2(int dirfd, const char *path, uint64_t flags, uint64_t resolve) {
        struct open_how how = {
                /* openat2() refuses O_PATH combined with anything but
                 * O_DIRECTORY, O_NOFOLLOW and O_CLOEXEC. */
                .flags = flags | O_CLOEXEC | ((flags & O_PATH) ? 0 : O_NOCTTY),
                .resolve = resolve,
        };
        long fd;

        /* -EAGAIN: a concurrent rename raced with ".." resolution; retry. */
        for (int i = 0; i < 8; i++) {
                fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
                if (fd >= 0 || errno != EAGAIN)
                        break;
        }
        return (int) fd;
}

static int open_error(ToolCall *call, const Target *t, int err) {
        switch (err) {
        case EXDEV:
                return tool_error(call, -EXDEV, "path escapes the allowed root %s", t->root);
        case ELOOP:
                return tool_error(call, -ELOOP, "symlinks are not followed: %s is or passes through a "
                                                "symbolic link", t->path);
        case ENOENT:
                return tool_error(call, -ENOENT, "%s does not exist", t->path);
        case ENOTDIR:
                return tool_error(call, -ENOTDIR, "%s: a component of the path is not a directory", t->path);
        case EACCES:
        case EPERM:
                return tool_error(call, -err, "permission denied: the server may not read %s", t->path);
        case ENOSYS:
                return tool_error(call, -ENOSYS, "this kernel lacks openat2() (Linux 5.6 or later is needed); "
                                                 "file access is disabled");
        default:
                errno = err;
                return tool_error(call, -err, "cannot open %s: %m", t->path);
        }
}

/* Opens the target without reading anything (O_PATH, no side effects even on
 * FIFOs and devices); a trailing symlink is opened as the link itself. */
static int target_open_path(ToolCall *call, const Target *t, int *ret_fd, struct stat *ret_st) {
        int fd;

        if (t->root_is_file)
                fd = open(t->root, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        else
                fd = sys_openat2(t->root_fd, t->rel, O_PATH | O_NOFOLLOW,
                                 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
        if (fd < 0)
                return open_error(call, t, errno);
        if (fstat(fd, ret_st) < 0) {
                int r = -errno;

                close(fd);
                return tool_error(call, r, "cannot examine %s: %m", t->path);
        }
        *ret_fd = fd;
        return 0;
}

/* Opens the target for reading: only a regular file (want_dir false) or a
 * directory (want_dir true), checked on an O_PATH descriptor first and then
 * again on the readable one (same inode), so a FIFO or device swapped in
 * between is never opened for reading... except for the instant of that
 * second open, where O_NONBLOCK keeps a FIFO from blocking and the inode
 * check refuses it right after. */
static int target_open_read(ToolCall *call, const Target *t, bool want_dir, int *ret_fd, struct stat *ret_st) {
        _cleanup_close_ int pfd = -1, fd = -1;
        struct stat st, st2;
        uint64_t flags = O_RDONLY | O_NONBLOCK | O_NOFOLLOW | (want_dir ? O_DIRECTORY : 0);
        int r;

        r = target_open_path(call, t, &pfd, &st);
        if (r < 0)
                return r;
        if (S_ISLNK(st.st_mode))
                return tool_error(call, -ELOOP, "symlinks are not followed: %s is a symbolic link", t->path);
        if (want_dir && !S_ISDIR(st.st_mode))
                return tool_error(call, -ENOTDIR, "%s is a %s, not a directory", t->path, type_name(st.st_mode));
        if (!want_dir && S_ISDIR(st.st_mode))
                return tool_error(call, -EISDIR, "%s is a directory: use action=list (or search) for it",
                                  t->path);
        if (!want_dir && !S_ISREG(st.st_mode))
                return tool_error(call, -EPERM, "%s is a %s, not a regular file: only regular files are read",
                                  t->path, type_name(st.st_mode));

        if (t->root_is_file)
                fd = open(t->root, (int) flags | O_CLOEXEC | O_NOCTTY);
        else
                fd = sys_openat2(t->root_fd, t->rel, flags,
                                 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
        if (fd < 0)
                return open_error(call, t, errno);
        if (fstat(fd, &st2) < 0)
                return tool_error(call, -errno, "cannot examine %s: %m", t->path);
        if (st2.st_dev != st.st_dev || st2.st_ino != st.st_ino || (st2.st_mode & S_IFMT) != (st.st_mode & S_IFMT))
                return tool_error(call, -EAGAIN, "%s changed while it was being opened; try again", t->path);
        *ret_fd = TAKE_FD(fd);
        *ret_st = st2;
        return 0;
}

/* Reading ----------------------------------------------------------------------- */

static ssize_t read_full_at(int fd, void *buf, size_t size, off_t off) {
        size_t done = 0;

        while (done < size) {
                ssize_t n = pread(fd, (char *) buf + done, size - done, off + (off_t) done);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                done += (size_t) n;
        }
        return (ssize_t) done;
}

/* True when the first bytes of the file look like binary data: a NUL, or a
 * byte sequence that is not UTF-8 (a sequence cut by the end of the probe
 * does not count). */
static int probe_binary(int fd, bool *ret) {
        unsigned char buf[BINARY_PROBE_BYTES];
        ssize_t n = read_full_at(fd, buf, sizeof buf, 0);
        size_t i = 0;

        if (n < 0)
                return (int) n;
        *ret = false;
        if (memchr(buf, '\0', (size_t) n)) {
                *ret = true;
                return 0;
        }
        while (i < (size_t) n) {
                size_t l = utf8_seq_len(buf + i, (size_t) n - i);

                if (l == 0) {
                        if ((size_t) n == sizeof buf && (size_t) n - i < 4)
                                break;
                        *ret = true;
                        return 0;
                }
                i += l;
        }
        return 0;
}

typedef struct LineReader {
        int fd;
        char *buf;                      /* LINE_BYTES_MAX + READ_CHUNK */
        size_t size, start, end;
        bool eof, skipping;
        uint64_t scanned;               /* bytes read so far */
} LineReader;

static void line_reader_done(LineReader *lr) {
        free(lr->buf);
        lr->buf = NULL;
}

static int line_reader_init(LineReader *lr, int fd) {
        *lr = (LineReader) { .fd = fd, .size = LINE_BYTES_MAX + READ_CHUNK };
        lr->buf = malloc(lr->size);
        return lr->buf ? 0 : -ENOMEM;
}

static int line_reader_fill(LineReader *lr) {
        ssize_t n;

        if (lr->start > 0) {
                memmove(lr->buf, lr->buf + lr->start, lr->end - lr->start);
                lr->end -= lr->start;
                lr->start = 0;
        }
        for (;;) {
                n = read(lr->fd, lr->buf + lr->end, lr->size - lr->end);
                if (n >= 0 || errno != EINTR)
                        break;
        }
        if (n < 0)
                return -errno;
        if (n == 0)
                lr->eof = true;
        lr->end += (size_t) n;
        lr->scanned += (uint64_t) n;
        return 0;
}

/* The next line (without its "\n" or "\r\n") in *ret and *ret_len, valid until
 * the next call; lines longer than LINE_BYTES_MAX come back clipped with
 * *ret_clipped set and the rest skipped. Returns 1, 0 at the end, or a
 * negative errno. */
static int line_next(LineReader *lr, const char **ret, size_t *ret_len, bool *ret_clipped) {
        int r;

        *ret_clipped = false;
        for (;;) {
                char *nl = memchr(lr->buf + lr->start, '\n', lr->end - lr->start);

                if (lr->skipping) {
                        if (nl) {
                                lr->start = (size_t) (nl - lr->buf) + 1;
                                lr->skipping = false;
                                continue;
                        }
                        lr->start = lr->end = 0;
                        if (lr->eof)
                                return 0;
                        r = line_reader_fill(lr);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (nl) {
                        size_t len = (size_t) (nl - (lr->buf + lr->start));

                        if (len > LINE_BYTES_MAX) {
                                *ret_clipped = true;
                                len = LINE_BYTES_MAX;
                        }
                        *ret = lr->buf + lr->start;
                        lr->start = (size_t) (nl - lr->buf) + 1;
                        if (len > 0 && (*ret)[len - 1] == '\r')
                                len--;
                        *ret_len = len;
                        return 1;
                }
                if (lr->end - lr->start >= LINE_BYTES_MAX) {
                        *ret = lr->buf + lr->start;
                        *ret_len = LINE_BYTES_MAX;
                        *ret_clipped = true;
                        lr->start = lr->end;
                        lr->skipping = true;
                        return 1;
                }
                if (lr->eof) {
                        size_t len = lr->end - lr->start;

                        if (len == 0)
                                return 0;
                        *ret = lr->buf + lr->start;
                        lr->start = lr->end;
                        if ((*ret)[len - 1] == '\r')
                                len--;
                        *ret_len = len;
                        return 1;
                }
                r = line_reader_fill(lr);
                if (r < 0)
                        return r;
        }
}

/* Output assembled for read, tail and search. */
typedef struct Out {
        json_t *result;                 /* owned */
        FILE *text;
        char *text_buf;
        size_t text_len;
        size_t budget, used;            /* bytes of file content emitted */
} Out;

static void out_done(Out *o) {
        json_decref(o->result);
        if (o->text)
                fclose(o->text);
        free(o->text_buf);
        *o = (Out) {};
}

static int out_init(ToolCall *call, Out *o, Action a, const char *path) {
        *o = (Out) { .budget = output_budget(call) };
        o->result = json_object();
        o->text = open_memstream(&o->text_buf, &o->text_len);
        if (!o->result || !o->text || json_set(o->result, "action", json_string(action_names[a])) < 0 ||
            json_set(o->result, "path", json_string_clean(path, strlen(path))) < 0)
                return -ENOMEM;
        return 0;
}

/* Hands the assembled output to the call. */
static int out_finish(ToolCall *call, Out *o, bool truncated) {
        if (json_set(o->result, "truncated", json_boolean(truncated)) < 0)
                return tool_error(call, -ENOMEM, "out of memory");
        if (fflush(o->text) != 0 || ferror(o->text))
                return tool_error(call, -ENOMEM, "out of memory");
        fclose(o->text);
        o->text = NULL;
        call->result = TAKE_PTR(o->result);
        call->text = TAKE_PTR(o->text_buf);
        return 0;
}

/* Appends a sanitized line to `array` (and the text) if it fits the
 * budget. Returns 1 added, 0 no room, -ENOMEM. */
static int out_line(Out *o, json_t *array, const char *s, size_t n) {
        _cleanup_free_ char *clean = malloc(n + 1);
        size_t len;

        if (!clean)
                return -ENOMEM;
        len = utf8_sanitize(s, n, clean);
        if (o->used + len + 1 > o->budget)
                return 0;
        if (json_append(array, json_string(clean)) < 0)
                return -ENOMEM;
        fprintf(o->text, "%s\n", clean);
        o->used += len + 1;
        return 1;
}

static int read_error(ToolCall *call, const Target *t, int r) {
        errno = -r;
        return tool_error(call, r, "cannot read %s: %m", t->path);
}

static int refuse_binary(ToolCall *call, int fd, const Target *t) {
        bool binary;
        int r;

        r = probe_binary(fd, &binary);
        if (r < 0)
                return read_error(call, t, r);
        if (binary)
                return tool_error(call, -EMEDIUMTYPE,
                                  "binary file: %s has NUL bytes or invalid UTF-8 in its first 8 KiB; "
                                  "file_operations returns text only (action=info shows its size and type)",
                                  t->path);
        return 0;
}

/* action=read: `lines` lines starting after `offset` lines. */
static int do_read(ToolCall *call, const Target *t, json_int_t lines, json_int_t offset) {
        _cleanup_(out_done) Out o = {};
        _cleanup_(line_reader_done) LineReader lr = {};
        _cleanup_json_ json_t *arr = NULL;
        _cleanup_close_ int fd = -1;
        bool truncated = false, stop = false, eof = false;
        json_int_t skipped = 0, n = 0;
        struct stat st;
        const char *s;
        size_t len;
        bool clipped;
        int r;

        r = target_open_read(call, t, false, &fd, &st);
        if (r < 0)
                return r;
        r = refuse_binary(call, fd, t);
        if (r < 0)
                return r;
        if (out_init(call, &o, ACTION_READ, t->path) < 0 || line_reader_init(&lr, fd) < 0 || !(arr = json_array()))
                return tool_error(call, -ENOMEM, "out of memory");

        while (skipped < offset) {
                if ((skipped & 4095) == 0 && tool_cancelled(call))
                        return tool_error(call, -ECANCELED, "cancelled");
                if (lr.scanned > SCAN_BYTES_MAX) {
                        truncated = stop = true;
                        break;
                }
                r = line_next(&lr, &s, &len, &clipped);
                if (r < 0)
                        return read_error(call, t, r);
                if (r == 0) {
                        eof = true;
                        break;
                }
                skipped++;
        }
        while (!eof && !stop && n < lines) {
                if ((n & 1023) == 0 && tool_cancelled(call))
                        return tool_error(call, -ECANCELED, "cancelled");
                r = line_next(&lr, &s, &len, &clipped);
                if (r < 0)
                        return read_error(call, t, r);
                if (r == 0) {
                        eof = true;
                        break;
                }
                r = out_line(&o, arr, s, len);
                if (r < 0)
                        return tool_error(call, -ENOMEM, "out of memory");
                if (r == 0) {
                        truncated = stop = true;        /* max_output_bytes */
                        break;
                }
                if (clipped)
                        truncated = true;
                n++;
        }
        if (!eof && !stop) {
                /* Is there more after what was asked for? */
                r = line_next(&lr, &s, &len, &clipped);
                if (r < 0)
                        return read_error(call, t, r);
                eof = r == 0;
        }

        if (json_set(o.result, "offset", json_integer(offset)) < 0 ||
            json_set(o.result, "start_line", json_integer(skipped + 1)) < 0 ||
            json_set(o.result, "line_count", json_integer(n)) < 0 ||
            json_set(o.result, "lines", TAKE_PTR(arr)) < 0 ||
            json_set(o.result, "end_of_file", json_boolean(eof)) < 0 ||
            json_set(o.result, "next_offset", eof ? json_null() : json_integer(skipped + n)) < 0 ||
            json_set(o.result, "size", json_integer((json_int_t) st.st_size)) < 0)
                return tool_error(call, -ENOMEM, "out of memory");
        return out_finish(call, &o, truncated || !eof);
}

/* Splits buf[0..len) into lines and emits them in order. */
static int emit_lines(Out *o, json_t *arr, const char *buf, size_t len, json_int_t *ret_n, bool *truncated) {
        size_t pos = 0;
        json_int_t n = 0;

        while (pos < len) {
                const char *nl = memchr(buf + pos, '\n', len - pos);
                size_t l = nl ? (size_t) (nl - (buf + pos)) : len - pos;
                size_t ll = l;
                int r;

                if (ll > 0 && buf[pos + ll - 1] == '\r')
                        ll--;
                if (ll > LINE_BYTES_MAX) {
                        ll = LINE_BYTES_MAX;
                        *truncated = true;
                }
                r = out_line(o, arr, buf + pos, ll);
                if (r < 0)
                        return r;
                if (r == 0) {
                        *truncated = true;
                        break;
                }
                n++;
                pos += l + 1;
        }
        *ret_n = n;
        return 0;
}

/* action=tail: the last `lines` lines, read backwards from the end in
 * chunks and never more than the output budget (plus one chunk). Files that
 * report size 0 (procfs, sysfs) are read forwards, up to the same bound. */
static int do_tail(ToolCall *call, const Target *t, json_int_t lines) {
        _cleanup_(out_done) Out o = {};
        _cleanup_json_ json_t *arr = NULL;
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -1;
        size_t cap, have = 0, start;
        bool truncated = false, from_start = false, lost_head = false;
        json_int_t n = 0, newlines = 0;
        struct stat st;
        int r;

        r = target_open_read(call, t, false, &fd, &st);
        if (r < 0)
                return r;
        r = refuse_binary(call, fd, t);
        if (r < 0)
                return r;
        if (out_init(call, &o, ACTION_TAIL, t->path) < 0 || !(arr = json_array()))
                return tool_error(call, -ENOMEM, "out of memory");
        cap = o.budget + READ_CHUNK;
        buf = malloc(cap);
        if (!buf)
                return tool_error(call, -ENOMEM, "out of memory");

        if (st.st_size <= 0) {
                uint64_t total = 0;

                /* Pseudo files: sizes are not known in advance. Whatever
                 * claims size 0 is still read only up to SCAN_BYTES_MAX. */
                for (;;) {
                        ssize_t k;

                        if (total > SCAN_BYTES_MAX) {
                                truncated = true;
                                break;
                        }

                        if (have == cap) {
                                /* Keep the newest half; the head is gone. */
                                memmove(buf, buf + cap / 2, cap - cap / 2);
                                have = cap - cap / 2;
                                lost_head = true;
                        }
                        k = read(fd, buf + have, cap - have);
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k < 0)
                                return tool_error(call, -errno, "cannot read %s: %m", t->path);
                        if (k == 0)
                                break;
                        have += (size_t) k;
                        total += (uint64_t) k;
                        if (tool_cancelled(call))
                                return tool_error(call, -ECANCELED, "cancelled");
                }
                from_start = !lost_head;
        } else {
                off_t pos = st.st_size;

                /* Read chunks backwards into the end of buf until enough
                 * newlines are seen (one more than lines: the one before the
                 * first line we show), the start of the file, or the cap. */
                while (pos > 0 && have < cap) {
                        size_t want = READ_CHUNK;
                        ssize_t k;

                        if (tool_cancelled(call))
                                return tool_error(call, -ECANCELED, "cancelled");
                        if ((off_t) want > pos)
                                want = (size_t) pos;
                        if (want > cap - have)
                                want = cap - have;
                        memmove(buf + want, buf, have);
                        k = read_full_at(fd, buf, want, pos - (off_t) want);
                        if (k < 0)
                                return read_error(call, t, (int) k);
                        if ((size_t) k != want) {
                                /* The file shrank under us: use what we had. */
                                memmove(buf, buf + want, have);
                                break;
                        }
                        have += want;
                        pos -= (off_t) want;
                        newlines = 0;
                        for (size_t i = 0; i < have; i++)
                                if (buf[i] == '\n' && i + 1 < have)
                                        newlines++;
                        if (newlines >= lines + 1)
                                break;
                }
                from_start = pos == 0;
        }

        /* Drop the trailing newline, then keep the last `lines` lines. */
        if (have > 0 && buf[have - 1] == '\n')
                have--;
        start = have;
        for (json_int_t seen = 0; start > 0; start--)
                if (buf[start - 1] == '\n' && ++seen == lines)
                        break;
        if (start == 0 && !from_start) {
                /* The first bytes are the middle of a line: skip them. */
                const char *nl = memchr(buf, '\n', have);

                start = nl ? (size_t) (nl - buf) + 1 : have;
                truncated = true;
        }
        if (have - start > o.budget) {
                /* Keep the newest lines that fit the output budget. */
                const char *nl = memchr(buf + have - o.budget, '\n', o.budget);

                start = nl ? (size_t) (nl - buf) + 1 : have;
                truncated = true;
        }
        r = emit_lines(&o, arr, buf + start, have - start, &n, &truncated);
        if (r < 0)
                return tool_error(call, -ENOMEM, "out of memory");

        if (json_set(o.result, "line_count", json_integer(n)) < 0 || json_set(o.result, "lines", TAKE_PTR(arr)) < 0 ||
            json_set(o.result, "size", json_integer((json_int_t) st.st_size)) < 0)
                return tool_error(call, -ENOMEM, "out of memory");
        return out_finish(call, &o, truncated);
}

/* action=search in a file: lines containing `pattern` (plain substring). */
static int do_search_file(ToolCall *call, const Target *t, const char *pattern, json_int_t lines,
                          json_int_t offset, int fd_in) {
        _cleanup_(out_done) Out o = {};
        _cleanup_(line_reader_done) LineReader lr = {};
        _cleanup_json_ json_t *arr = NULL;
        _cleanup_close_ int fd = fd_in;
        size_t plen = strlen(pattern);
        json_int_t lineno = 0, n = 0;
        bool truncated = false;
        const char *s;
        size_t len;
        bool clipped;
        int r;

        r = refuse_binary(call, fd, t);
        if (r < 0)
                return r;
        if (out_init(call, &o, ACTION_SEARCH, t->path) < 0 || line_reader_init(&lr, fd) < 0 || !(arr = json_array()))
                return tool_error(call, -ENOMEM, "out of memory");

        for (;;) {
                _cleanup_json_ json_t *m = NULL;
                _cleanup_free_ char *clean = NULL;
                size_t cl;

                if ((lineno & 4095) == 0 && tool_cancelled(call))
                        return tool_error(call, -ECANCELED, "cancelled");
                if (lr.scanned > SCAN_BYTES_MAX) {
                        truncated = true;
                        break;
                }
                r = line_next(&lr, &s, &len, &clipped);
                if (r < 0)
                        return read_error(call, t, r);
                if (r == 0)
                        break;
                lineno++;
                if (lineno <= offset || !memmem(s, len, pattern, plen))
                        continue;
                if (n >= lines) {
                        truncated = true;
                        break;
                }
                clean = malloc(len + 1);
                if (!clean)
                        return tool_error(call, -ENOMEM, "out of memory");
                cl = utf8_sanitize(s, len, clean);
                if (o.used + cl + 16 > o.budget) {
                        truncated = true;
                        break;
                }
                m = json_object();
                if (!m || json_set(m, "line_number", json_integer(lineno)) < 0 ||
                    json_set(m, "text", json_string(clean)) < 0 || json_append(arr, TAKE_PTR(m)) < 0)
                        return tool_error(call, -ENOMEM, "out of memory");
                fprintf(o.text, "%" JSON_INTEGER_FORMAT ":%s\n", lineno, clean);
                o.used += cl + 16;
                if (clipped)
                        truncated = true;
                n++;
        }
        if (n == 0)
                fprintf(o.text, "no line of %s contains the text\n", t->path);

        if (json_set(o.result, "search_mode", json_string("content")) < 0 ||
            json_set(o.result, "pattern", json_string_clean(pattern, plen)) < 0 ||
            json_set(o.result, "matches", TAKE_PTR(arr)) < 0 ||
            json_set(o.result, "match_count", json_integer(n)) < 0 ||
            json_set(o.result, "lines_scanned", json_integer(lineno)) < 0)
                return tool_error(call, -ENOMEM, "out of memory");
        return out_finish(call, &o, truncated);
}

/* Directories ----------------------------------------------------------------------- */

typedef struct Walk {
        ToolCall *call;
        const char *pattern;
        json_t *files;                  /* borrowed */
        json_int_t max;
        size_t visited, budget, used;
        bool truncated;                 /* something was left out */
        bool stop;                      /* a bound was reached: stop walking */
} Walk;

static int walk_dir(Walk *w, int dfd, char *path, size_t path_len, unsigned depth) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        d = fdopendir(dfd);
        if (!d) {
                close(dfd);
                return 0;
        }
        while (!w->stop && (de = readdir(d))) {
                struct stat st;
                size_t nl = strlen(de->d_name);
                bool denied;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (tool_cancelled(w->call))
                        return -ECANCELED;
                if (++w->visited > SEARCH_VISIT_MAX) {
                        w->truncated = w->stop = true;
                        break;
                }
                if (path_len + 1 + nl >= PATH_MAX) {
                        w->truncated = true;
                        continue;
                }
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;       /* gone meanwhile */
                snprintf(path + path_len, PATH_MAX - path_len, "%s%s", path_len > 1 ? "/" : "", de->d_name);
                denied = path_denied(w->call->env, path);

                if (glob_match(w->pattern, de->d_name)) {
                        _cleanup_json_ json_t *o = NULL;
                        size_t pl = strlen(path);

                        if ((json_int_t) json_array_size(w->files) >= w->max || w->used + pl + 64 > w->budget) {
                                w->truncated = w->stop = true;
                                break;
                        }
                        o = json_object();
                        if (!o || json_set(o, "path", json_string_clean(path, pl)) < 0 ||
                            json_set(o, "type", json_string(type_name(st.st_mode))) < 0 ||
                            json_set(o, "size", json_integer((json_int_t) st.st_size)) < 0 ||
                            json_set(o, "denied", json_boolean(denied)) < 0 ||
                            json_append(w->files, TAKE_PTR(o)) < 0)
                                return -ENOMEM;
                        w->used += pl + 64;
                }

                /* Never into symlinks (lstat above), never into denied trees. */
                if (S_ISDIR(st.st_mode) && !denied) {
                        if (depth + 1 > SEARCH_DEPTH_MAX)
                                w->truncated = true;
                        else {
                                int sub = openat(dirfd(d), de->d_name,
                                                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

                                if (sub >= 0) {
                                        r = walk_dir(w, sub, path, strlen(path), depth + 1);
                                        if (r < 0)
                                                return r;
                                }
                        }
                }
                path[path_len] = '\0';
        }
        path[path_len] = '\0';
        return 0;
}

static int path_cmp(const void *a, const void *b) {
        json_t *const *x = a, *const *y = b;

        return strcmp(json_string_value(json_object_get(*x, "path")), json_string_value(json_object_get(*y, "path")));
}

/* action=search in a directory: names matching the glob `pattern`, depth
 * and entry bounded, symlinks not followed. */
static int do_search_dir(ToolCall *call, const Target *t, const char *pattern, json_int_t lines, int fd) {
        _cleanup_(out_done) Out o = {};
        _cleanup_json_ json_t *files = NULL, *sorted = NULL;
        _cleanup_free_ json_t **v = NULL;
        char path[PATH_MAX];
        Walk w;
        size_t n;
        int r;

        if (out_init(call, &o, ACTION_SEARCH, t->path) < 0 || !(files = json_array())) {
                close(fd);
                return tool_error(call, -ENOMEM, "out of memory");
        }
        w = (Walk) { .call = call, .pattern = pattern, .files = files, .max = lines, .budget = o.budget };
        snprintf(path, sizeof path, "%s", t->path);
        r = walk_dir(&w, fd, path, strlen(path), 0);
        if (r == -ECANCELED)
                return tool_error(call, r, "cancelled");
        if (r < 0)
                return tool_error(call, r, "out of memory");

        n = json_array_size(files);
        v = calloc(n ? n : 1, sizeof *v);
        sorted = json_array();
        if (!v || !sorted)
                return tool_error(call, -ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++)
                v[i] = json_array_get(files, i);
        qsort(v, n, sizeof *v, path_cmp);
        for (size_t i = 0; i < n; i++) {
                if (json_array_append(sorted, v[i]) < 0)
                        return tool_error(call, -ENOMEM, "out of memory");
                fprintf(o.text, "%-12s %s%s\n", json_string_value(json_object_get(v[i], "type")),
                        json_string_value(json_object_get(v[i], "path")),
                        json_is_true(json_object_get(v[i], "denied")) ? "  (denied)" : "");
        }
        fprintf(o.text, "%zu match%s for %s (depth <= %u)%s\n", n, n == 1 ? "" : "es", pattern, SEARCH_DEPTH_MAX,
                w.truncated ? ", truncated" : "");

        if (json_set(o.result, "search_mode", json_string("name")) < 0 ||
            json_set(o.result, "pattern", json_string_clean(pattern, strlen(pattern))) < 0 ||
            json_set(o.result, "files", TAKE_PTR(sorted)) < 0 ||
            json_set(o.result, "match_count", json_integer((json_int_t) n)) < 0 ||
            json_set(o.result, "entries_visited", json_integer((json_int_t) w.visited)) < 0)
                return tool_error(call, -ENOMEM, "out of memory");
        return out_finish(call, &o, w.truncated);
}

static int do_search(ToolCall *call, const Target *t, const char *pattern, bool pattern_given, json_int_t lines,
                     json_int_t offset) {
        _cleanup_close_ int pfd = -1;
        struct stat st;
        int fd = -1, r;

        r = target_open_path(call, t, &pfd, &st);
        if (r < 0)
                return r;
        if (S_ISDIR(st.st_mode)) {
                r = target_open_read(call, t, true, &fd, &st);
                if (r < 0)
                        return r;
                return do_search_dir(call, t, pattern, lines, fd);
        }
        if (!pattern_given)
                return tool_error(call, -EINVAL, "argument 'pattern': action=search in a file needs the text to "
                                                 "find (a plain substring; no regular expressions)");
        r = target_open_read(call, t, false, &fd, &st);
        if (r < 0)
                return r;
        return do_search_file(call, t, pattern, lines, offset, fd);
}

typedef struct Name {
        char *name;
} Name;

static int name_cmp(const void *a, const void *b) {
        return strcmp(((const Name *) a)->name, ((const Name *) b)->name);
}

/* action=list: the entries of a directory matching the glob, sorted by name,
 * `lines` of them after skipping `offset`. */
static int do_list(ToolCall *call, const Target *t, const char *pattern, json_int_t lines, json_int_t offset) {
        _cleanup_(out_done) Out o = {};
        _cleanup_json_ json_t *arr = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_free_ Name *names = NULL;
        size_t n = 0, cap = 0, scanned = 0, shown = 0;
        bool truncated = false;
        struct dirent *de;
        struct stat st;
        int fd = -1, r;

        r = target_open_read(call, t, true, &fd, &st);
        if (r < 0)
                return r;
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return tool_error(call, -ENOMEM, "out of memory");
        }
        if (out_init(call, &o, ACTION_LIST, t->path) < 0 || !(arr = json_array()))
                return tool_error(call, -ENOMEM, "out of memory");

        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if ((scanned & 1023) == 0 && tool_cancelled(call)) {
                        r = -ECANCELED;
                        goto fail;
                }
                if (++scanned > LIST_SCAN_MAX) {
                        truncated = true;
                        break;
                }
                if (!glob_match(pattern, de->d_name))
                        continue;
                if (n == cap) {
                        size_t ncap = cap ? cap * 2 : 64;
                        Name *nn = reallocarray(names, ncap, sizeof *names);

                        if (!nn) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        names = nn;
                        cap = ncap;
                }
                names[n].name = strdup(de->d_name);
                if (!names[n].name) {
                        r = -ENOMEM;
                        goto fail;
                }
                n++;
        }
        if (n > 0)
                qsort(names, n, sizeof *names, name_cmp);

        fprintf(o.text, "%-10s %12s %-20s %s\n", "MODE", "SIZE", "MODIFIED", "NAME");
        for (size_t i = (size_t) offset; i < n && shown < (size_t) lines; i++) {
                _cleanup_json_ json_t *e = NULL;
                char child[PATH_MAX], perms[11], mode[8], mtime[32];
                size_t nl = strlen(names[i].name);
                bool denied = false;
                struct stat es;

                if (o.used + nl + 96 > o.budget) {
                        truncated = true;
                        break;
                }
                if (fstatat(dirfd(d), names[i].name, &es, AT_SYMLINK_NOFOLLOW) < 0)
                        es = (struct stat) {};
                if ((size_t) snprintf(child, sizeof child, "%s%s%s", t->path, streq(t->path, "/") ? "" : "/",
                                      names[i].name) < sizeof child)
                        denied = path_denied(call->env, child);
                format_permissions(es.st_mode, perms);
                snprintf(mode, sizeof mode, "%04o", (unsigned) (es.st_mode & 07777));
                format_time(es.st_mtim.tv_sec, mtime, sizeof mtime);

                e = json_object();
                if (!e || json_set(e, "name", json_string_clean(names[i].name, nl)) < 0 ||
                    json_set(e, "type", json_string(es.st_mode ? type_name(es.st_mode) : "unknown")) < 0 ||
                    json_set(e, "size", json_integer((json_int_t) es.st_size)) < 0 ||
                    json_set(e, "mode", json_string(mode)) < 0 || json_set(e, "mtime", json_string(mtime)) < 0 ||
                    json_set(e, "denied", json_boolean(denied)) < 0 || json_append(arr, TAKE_PTR(e)) < 0) {
                        r = -ENOMEM;
                        goto fail;
                }
                fprintf(o.text, "%-10s %12" PRIdMAX " %-20s %s%s\n", perms, (intmax_t) es.st_size, mtime,
                        json_string_value(json_object_get(json_array_get(arr, shown), "name")),
                        denied ? "  (denied)" : "");
                o.used += nl + 96;
                shown++;
        }
        if ((size_t) offset + shown < n)
                truncated = true;
        fprintf(o.text, "%zu of %zu entries%s\n", shown, n, truncated ? " (truncated)" : "");

        for (size_t i = 0; i < n; i++)
                free(names[i].name);
        if (json_set(o.result, "pattern", json_string_clean(pattern, strlen(pattern))) < 0 ||
            json_set(o.result, "entries", TAKE_PTR(arr)) < 0 ||
            json_set(o.result, "offset", json_integer(offset)) < 0 ||
            json_set(o.result, "total_entries", json_integer((json_int_t) n)) < 0)
                return tool_error(call, -ENOMEM, "out of memory");
        return out_finish(call, &o, truncated);

fail:
        for (size_t i = 0; i < n; i++)
                free(names[i].name);
        if (r == -ECANCELED)
                return tool_error(call, r, "cancelled");
        return tool_error(call, r, "out of memory");
}

/* action=info: what stat says, for any file type (nothing is read). */
static int do_info(ToolCall *call, const Target *t) {
        _cleanup_(out_done) Out o = {};
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *pwbuf = NULL;
        char mode[8], perms[11], mt[32], at[32], ct[32], owner[64], group[64], target[PATH_MAX];
        struct passwd pw, *pwr = NULL;
        struct group gr, *grr = NULL;
        const size_t pwsize = 16384;
        bool have_target = false;
        struct stat st;
        int r;

        r = target_open_path(call, t, &fd, &st);
        if (r < 0)
                return r;
        if (S_ISLNK(st.st_mode)) {
                ssize_t l = readlinkat(fd, "", target, sizeof target - 1);

                if (l >= 0) {
                        target[l] = '\0';
                        have_target = true;
                }
        }
        pwbuf = malloc(pwsize);
        if (!pwbuf)
                return tool_error(call, -ENOMEM, "out of memory");
        snprintf(owner, sizeof owner, "%u", (unsigned) st.st_uid);
        if (getpwuid_r(st.st_uid, &pw, pwbuf, pwsize, &pwr) == 0 && pwr && pwr->pw_name)
                snprintf(owner, sizeof owner, "%s", pwr->pw_name);
        snprintf(group, sizeof group, "%u", (unsigned) st.st_gid);
        if (getgrgid_r(st.st_gid, &gr, pwbuf, pwsize, &grr) == 0 && grr && grr->gr_name)
                snprintf(group, sizeof group, "%s", grr->gr_name);
        snprintf(mode, sizeof mode, "%04o", (unsigned) (st.st_mode & 07777));
        format_permissions(st.st_mode, perms);
        format_time(st.st_mtim.tv_sec, mt, sizeof mt);
        format_time(st.st_atim.tv_sec, at, sizeof at);
        format_time(st.st_ctim.tv_sec, ct, sizeof ct);

        if (out_init(call, &o, ACTION_INFO, t->path) < 0 ||
            json_set(o.result, "type", json_string(type_name(st.st_mode))) < 0 ||
            json_set(o.result, "size", json_integer((json_int_t) st.st_size)) < 0 ||
            json_set(o.result, "mode", json_string(mode)) < 0 ||
            json_set(o.result, "permissions", json_string(perms)) < 0 ||
            json_set(o.result, "uid", json_integer((json_int_t) st.st_uid)) < 0 ||
            json_set(o.result, "gid", json_integer((json_int_t) st.st_gid)) < 0 ||
            json_set(o.result, "owner", json_string_clean(owner, strlen(owner))) < 0 ||
            json_set(o.result, "group", json_string_clean(group, strlen(group))) < 0 ||
            json_set(o.result, "nlink", json_integer((json_int_t) st.st_nlink)) < 0 ||
            json_set(o.result, "mtime", json_string(mt)) < 0 || json_set(o.result, "atime", json_string(at)) < 0 ||
            json_set(o.result, "ctime", json_string(ct)) < 0 ||
            (have_target && json_set(o.result, "symlink_target", json_string_clean(target, strlen(target))) < 0))
                return tool_error(call, -ENOMEM, "out of memory");

        fprintf(o.text, "path:  %s\ntype:  %s%s%s\nsize:  %" PRIdMAX "\nmode:  %s (%s)\nowner: %s:%s (%u:%u)\n"
                        "mtime: %s\natime: %s\nctime: %s\n",
                t->path, type_name(st.st_mode), have_target ? " -> " : "",
                have_target ? json_string_value(json_object_get(o.result, "symlink_target")) : "",
                (intmax_t) st.st_size, mode, perms, owner, group, (unsigned) st.st_uid, (unsigned) st.st_gid, mt,
                at, ct);
        return out_finish(call, &o, false);
}

/* The handler -------------------------------------------------------------------- */

static int tool_file_operations(ToolCall *call) {
        _cleanup_(target_done) Target t = { .root_fd = -1 };
        const char *path, *pattern = "*";
        json_int_t lines = LINES_DEFAULT, offset = 0;
        bool pattern_given = false;
        Action action = _ACTION_MAX;
        json_t *v;
        int r;

        /* Arguments were validated against the schema; stay defensive anyway. */
        v = json_object_get(call->args, "action");
        for (size_t i = 0; json_is_string(v) && i < _ACTION_MAX; i++)
                if (streq(json_string_value(v), action_names[i]))
                        action = (Action) i;
        if (action == _ACTION_MAX)
                return tool_error(call, -EINVAL,
                                  "argument 'action': must be one of \"list\", \"info\", \"read\", \"tail\", "
                                  "\"search\"");
        v = json_object_get(call->args, "path");
        if (!json_is_string(v) || json_string_length(v) == 0)
                return tool_error(call, -EINVAL, "argument 'path': an absolute path is required");
        path = json_string_value(v);
        /* JSON strings may carry U+0000; a C path would silently end there. */
        if (strlen(path) != json_string_length(v))
                return tool_error(call, -EINVAL, "argument 'path': must not contain NUL characters");
        v = json_object_get(call->args, "lines");
        if (json_is_integer(v))
                lines = json_integer_value(v);
        if (lines < 1 || lines > LINES_MAX)
                return tool_error(call, -EINVAL, "argument 'lines': must be an integer between 1 and %d",
                                  LINES_MAX);
        v = json_object_get(call->args, "offset");
        if (json_is_integer(v))
                offset = json_integer_value(v);
        if (offset < 0)
                return tool_error(call, -EINVAL, "argument 'offset': must be an integer >= 0");
        v = json_object_get(call->args, "pattern");
        if (json_is_string(v)) {
                pattern = json_string_value(v);
                pattern_given = true;
                if (strlen(pattern) != json_string_length(v) || pattern[0] == '\0' ||
                    strlen(pattern) > PATTERN_MAX)
                        return tool_error(call, -EINVAL, "argument 'pattern': must be 1 to %d characters, "
                                                         "without NUL", PATTERN_MAX);
        }
        if (tool_cancelled(call))
                return tool_error(call, -ECANCELED, "cancelled");

        r = target_resolve(call, path, &t);
        if (r < 0)
                return r;

        switch (action) {
        case ACTION_LIST:
                return do_list(call, &t, pattern, lines, offset);
        case ACTION_INFO:
                return do_info(call, &t);
        case ACTION_READ:
                return do_read(call, &t, lines, offset);
        case ACTION_TAIL:
                return do_tail(call, &t, lines);
        case ACTION_SEARCH:
                return do_search(call, &t, pattern, pattern_given && !streq(pattern, "*"), lines, offset);
        case _ACTION_MAX:
                break;
        }
        return tool_error(call, -EINVAL, "argument 'action': unknown");
}

/* The table ------------------------------------------------------------------- */

#define COUNT "{\"type\":\"integer\",\"minimum\":0}"
#define ISO_TIME "{\"type\":\"string\",\"description\":\"UTC, ISO 8601\"}"
#define FILE_TYPE                                                                                            \
        "{\"type\":\"string\",\"enum\":[\"file\",\"directory\",\"symlink\",\"fifo\",\"socket\",\"char_device\"," \
        "\"block_device\",\"unknown\"]}"

const Tool tools_files[] = {
        {
                .name = "file_operations",
                .title = "File operations",
                .description =
                        "Read-only access to files beneath the configured roots (filesystem.allowed_paths). "
                        "action=list: directory entries matching the glob 'pattern' (default \"*\"), sorted, "
                        "'lines' per page from 'offset'. action=info: type, size, mode, owner and times of any "
                        "path. action=read: 'lines' lines after skipping 'offset' lines. action=tail: the last "
                        "'lines' lines. action=search: in a file, lines containing 'pattern' as plain text (no "
                        "regular expressions); in a directory, file names matching the glob 'pattern', at most "
                        "8 levels deep; up to 'lines' matches. Symbolic links are never followed, '..' cannot "
                        "leave a root, denied patterns (keys, shadow) are refused, only regular text files are "
                        "read (binary files are refused), and output is capped (truncated:true).",
                .scope = SCOPE_FILE_READ,
                .risk = RISK_MODERATE,
                /* File contents are whatever someone wrote into them. */
                .flags = TOOL_UNTRUSTED_OUTPUT,
                .input_schema =
                        "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"action\",\"path\"],"
                        "\"properties\":{"
                        "\"action\":{\"type\":\"string\",\"enum\":[\"list\",\"info\",\"read\",\"tail\","
                        "\"search\"],\"description\":\"What to do with the path.\"},"
                        "\"path\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":4095,"
                        "\"description\":\"Absolute path beneath an allowed root.\"},"
                        "\"lines\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10000,\"default\":100,"
                        "\"description\":\"Lines to read or tail; entries per page for list; most matches "
                        "for search.\"},"
                        "\"offset\":{\"type\":\"integer\",\"minimum\":0,\"default\":0,"
                        "\"description\":\"Lines (read, search in a file) or entries (list) to skip.\"},"
                        "\"pattern\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":256,\"default\":\"*\","
                        "\"description\":\"list and search in a directory: a glob on names; search in a "
                        "file: plain text to find.\"}}}",
                .output_schema =
                        "{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"action\",\"path\",\"truncated\"],\"properties\":{"
                        "\"action\":{\"type\":\"string\",\"enum\":[\"list\",\"info\",\"read\",\"tail\","
                        "\"search\"]},"
                        "\"path\":{\"type\":\"string\",\"description\":\"normalized absolute path\"},"
                        "\"truncated\":{\"type\":\"boolean\",\"description\":\"something was left out: more "
                        "lines, entries or matches exist, or a byte, line-length or scan cap was hit\"},"
                        "\"type\":" FILE_TYPE ",\"size\":" COUNT ","
                        "\"mode\":{\"type\":\"string\",\"minLength\":4,\"maxLength\":4,"
                        "\"description\":\"octal permission bits\"},"
                        "\"permissions\":{\"type\":\"string\",\"minLength\":10,\"maxLength\":10},"
                        "\"uid\":" COUNT ",\"gid\":" COUNT ",\"owner\":{\"type\":\"string\"},"
                        "\"group\":{\"type\":\"string\"},\"nlink\":" COUNT ","
                        "\"mtime\":" ISO_TIME ",\"atime\":" ISO_TIME ",\"ctime\":" ISO_TIME ","
                        "\"symlink_target\":{\"type\":\"string\"},"
                        "\"pattern\":{\"type\":\"string\"},"
                        "\"entries\":{\"type\":\"array\",\"maxItems\":10000,\"items\":{"
                        "\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"name\",\"type\",\"size\",\"mode\",\"mtime\",\"denied\"],\"properties\":{"
                        "\"name\":{\"type\":\"string\"},\"type\":" FILE_TYPE ",\"size\":" COUNT ","
                        "\"mode\":{\"type\":\"string\",\"minLength\":4,\"maxLength\":4},\"mtime\":" ISO_TIME ","
                        "\"denied\":{\"type\":\"boolean\",\"description\":\"matches a denied pattern: "
                        "cannot be opened\"}}}},"
                        "\"total_entries\":" COUNT ","
                        "\"offset\":" COUNT ",\"start_line\":{\"type\":\"integer\",\"minimum\":1},"
                        "\"line_count\":" COUNT ","
                        "\"lines\":{\"type\":\"array\",\"maxItems\":10000,\"items\":{\"type\":\"string\"}},"
                        "\"end_of_file\":{\"type\":\"boolean\"},"
                        "\"next_offset\":{\"type\":[\"integer\",\"null\"],\"minimum\":0,"
                        "\"description\":\"offset that continues a read; null at the end\"},"
                        "\"search_mode\":{\"type\":\"string\",\"enum\":[\"content\",\"name\"]},"
                        "\"matches\":{\"type\":\"array\",\"maxItems\":10000,\"items\":{"
                        "\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"line_number\",\"text\"],\"properties\":{"
                        "\"line_number\":{\"type\":\"integer\",\"minimum\":1},\"text\":{\"type\":\"string\"}}}},"
                        "\"files\":{\"type\":\"array\",\"maxItems\":10000,\"items\":{"
                        "\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"path\",\"type\",\"size\",\"denied\"],\"properties\":{"
                        "\"path\":{\"type\":\"string\"},\"type\":" FILE_TYPE ",\"size\":" COUNT ","
                        "\"denied\":{\"type\":\"boolean\"}}}},"
                        "\"match_count\":" COUNT ",\"lines_scanned\":" COUNT ",\"entries_visited\":" COUNT "}}",
                .handler = tool_file_operations,
        },
        {}
};
