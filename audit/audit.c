/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <systemd/sd-journal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <limits.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "audit/audit.h"
#include "common/cleanup.h"
#include "common/encoding.h"
#include "common/timeutil.h"

#define AUDIT_LINE_MAX (1024 * 1024)
#define AUDIT_TAIL_READ (256 * 1024)

struct Audit {
        pthread_mutex_t lock;
        char *path;
        int fd;
        uint64_t seq;           /* seq of the last line written (0 = none yet) */
        char prev[65];          /* hex SHA-256 of the last line */
        uint64_t lines;
        uint64_t write_errors;          /* appends that failed */
        off_t end;              /* file size after our last write: another writer moved it if different */

        /* Sealing: a checkpoint line carries HMAC(K_i, "seq|prev"); then
         * K_{i+1} = SHA-256(label || K_i) and K_i is forgotten, so a thief of
         * today's key cannot re-seal yesterday's lines. */
        bool seal;
        char *key_path;         /* current key state: {"index":i,"key":hex} */
        unsigned char key[32];
        uint64_t key_index;
        unsigned every;         /* lines between checkpoints */
        unsigned since;         /* lines since the last checkpoint */

        /* Group commit: a background thread fdatasyncs written lines within
         * commit_ms and writes due checkpoints, so neither happens on the
         * thread that appends (the event loop, a worker). */
        pthread_t syncer;
        pthread_cond_t cond;
        bool syncer_running, stop, dirty;
        unsigned commit_ms;
        bool journald;
};

void audit_key_evolve(const unsigned char key[static 32], unsigned char ret[static 32]);

static const char zero_hash[65] = "0000000000000000000000000000000000000000000000000000000000000000";

static void sha256_hex(const void *data, size_t len, char out[static 65]) {
        unsigned char md[SHA256_DIGEST_LENGTH];

        SHA256(data, len, md);
        hex_encode(md, sizeof md, out, 65);
}

/* Reads the tail of the file and recovers seq and prev from the last complete
 * line. Sets *ret_torn when bytes follow the last newline. */
static int audit_recover(Audit *a, bool *ret_torn) {
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        off_t start;
        ssize_t n;

        *ret_torn = false;
        if (fstat(a->fd, &st) < 0)
                return -errno;
        if (st.st_size == 0)
                return 0;

        start = st.st_size > AUDIT_TAIL_READ ? st.st_size - AUDIT_TAIL_READ : 0;
        buf = malloc(AUDIT_TAIL_READ + 1);
        if (!buf)
                return -ENOMEM;
        n = pread(a->fd, buf, (size_t) (st.st_size - start), start);
        if (n < 0)
                return -errno;
        buf[n] = 0;

        if (n > 0 && buf[n - 1] != '\n')
                *ret_torn = true;

        /* Find the last complete line: it ends at the last '\n'. */
        char *end = memrchr(buf, '\n', (size_t) n);
        if (!end)
                return 0;
        *end = 0;
        char *line = memrchr(buf, '\n', (size_t) (end - buf));
        line = line ? line + 1 : buf;
        if (line == buf && start > 0)
                return -EBADMSG; /* last line longer than we read: not ours */

        json_error_t err;
        _cleanup_json_ json_t *j = json_loadb(line, (size_t) (end - line), 0, &err);
        json_t *seq = j ? json_object_get(j, "seq") : NULL;
        if (!json_is_integer(seq) || json_integer_value(seq) < 0)
                return -EBADMSG;

        a->seq = (uint64_t) json_integer_value(seq);
        sha256_hex(line, (size_t) (end - line), a->prev);
        /* Lines after the last checkpoint (at least this one) still want sealing. */
        json_t *ev = json_object_get(j, "event");
        a->since = json_is_string(ev) && streq(json_string_value(ev), "audit.checkpoint") ? 0 : 1;
        return 0;
}

static int audit_open_fd(const char *path) {
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        return fd;
}

int audit_open(const char *path, Audit **ret) {
        _cleanup_free_ Audit *a = NULL;
        _cleanup_close_ int rfd = -1;
        bool torn = false;
        int r;

        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        a->path = strdup(path);
        if (!a->path)
                return -ENOMEM;
        memcpy(a->prev, zero_hash, sizeof a->prev);

        a->fd = audit_open_fd(path);
        if (a->fd < 0) {
                r = a->fd;
                free(a->path);
                return r;
        }

        /* The write descriptor is O_WRONLY; read the tail through a second one. */
        rfd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (rfd >= 0) {
                int wfd = a->fd;
                a->fd = rfd;
                r = audit_recover(a, &torn);
                a->fd = wfd;
                if (r < 0) {
                        close(a->fd);
                        free(a->path);
                        return r;
                }
        }

        pthread_mutex_init(&a->lock, NULL);

        struct stat st;
        if (fstat(a->fd, &st) == 0)
                a->end = st.st_size + (torn ? 1 : 0);

        if (torn) {
                /* A crash cut the last line. Terminate it so the next record
                 * starts on its own line, and say so in the chain. */
                if (write(a->fd, "\n", 1) != 1) {
                        r = -errno;
                        audit_close(TAKE_PTR(a));
                        return r;
                }
                _cleanup_json_ json_t *f = json_pack("{s:s}", "error", "torn last line terminated at open");
                r = audit_append(a, "audit.recovered", f, true, NULL);
                if (r < 0) {
                        audit_close(TAKE_PTR(a));
                        return r;
                }
        }

        *ret = TAKE_PTR(a);
        return 0;
}

static int audit_checkpoint_locked_full(Audit *a, const char *ts, bool deferred);
static int audit_key_write(const char *path, const unsigned char key[static 32], uint64_t index);

static void *audit_syncer_main(void *userdata) {
        Audit *a = userdata;

        pthread_mutex_lock(&a->lock);
        while (!a->stop) {
                struct timespec until;

                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_nsec += (long) a->commit_ms * 1000000L;
                until.tv_sec += until.tv_nsec / 1000000000L;
                until.tv_nsec %= 1000000000L;
                (void) pthread_cond_timedwait(&a->cond, &a->lock, &until);

                unsigned char key[32];
                uint64_t index = 0;
                bool save_key = false;
                if (a->seal && a->since >= a->every) {
                        char ts[40];

                        /* Only the line is written under the lock; its fdatasync and
                         * the evolved key's fsync happen below, without it, so
                         * appenders (the event loop) never wait on the disk. */
                        (void) timestamp_format_ms(now_epoch_ms(), ts, sizeof ts);
                        if (audit_checkpoint_locked_full(a, ts, true) >= 0) {
                                memcpy(key, a->key, sizeof key);
                                index = a->key_index;
                                save_key = true;
                                a->dirty = true;
                        }
                }
                if (!a->dirty)
                        continue;
                /* fdatasync without the lock, on a duplicate: appends go on, and a
                 * SIGHUP reopen cannot pull the descriptor away meanwhile. */
                int fd = fcntl(a->fd, F_DUPFD_CLOEXEC, 3);
                a->dirty = false;
                pthread_mutex_unlock(&a->lock);
                if (fd >= 0) {
                        (void) fdatasync(fd);
                        close(fd);
                }
                if (save_key) {
                        (void) audit_key_write(a->key_path, key, index);
                        OPENSSL_cleanse(key, sizeof key);
                }
                pthread_mutex_lock(&a->lock);
        }
        pthread_mutex_unlock(&a->lock);
        return NULL;
}

int audit_start_syncer(Audit *a, unsigned commit_ms) {
        int r;

        if (commit_ms == 0 || a->syncer_running)
                return -EINVAL;
        pthread_cond_init(&a->cond, NULL);
        a->commit_ms = commit_ms;
        a->stop = false;
        r = pthread_create(&a->syncer, NULL, audit_syncer_main, a);
        if (r != 0)
                return -r;
        a->syncer_running = true;
        return 0;
}

static void audit_stop_syncer(Audit *a) {
        if (!a->syncer_running)
                return;
        pthread_mutex_lock(&a->lock);
        a->stop = true;
        pthread_cond_signal(&a->cond);
        pthread_mutex_unlock(&a->lock);
        pthread_join(a->syncer, NULL);
        pthread_cond_destroy(&a->cond);
        a->syncer_running = false;
}

Audit *audit_close(Audit *a) {
        if (!a)
                return NULL;
        audit_stop_syncer(a);
        OPENSSL_cleanse(a->key, sizeof a->key);
        free(a->key_path);
        if (a->fd >= 0) {
                (void) fdatasync(a->fd);
                close(a->fd);
        }
        pthread_mutex_destroy(&a->lock);
        free(a->path);
        free(a);
        return NULL;
}

int audit_reopen(Audit *a) {
        int fd = audit_open_fd(a->path);
        if (fd < 0)
                return fd;

        struct stat st;
        pthread_mutex_lock(&a->lock);
        (void) fdatasync(a->fd);
        close(a->fd);
        a->fd = fd;
        /* A fresh file continues the chain: its first prev is our last hash. */
        a->end = fstat(fd, &st) == 0 ? st.st_size : 0;
        pthread_mutex_unlock(&a->lock);

        /* Say so in the chain: after logrotate this is the new file's first
         * line, and its prev is the old file's last hash. */
        _cleanup_json_ json_t *f = json_pack("{s:s,s:s}", "path", a->path, "reason", "reopened (SIGHUP)");
        (void) audit_append(a, "audit.reopened", f, true, NULL);
        return 0;
}

/* Builds the next line (without newline) for the current chain state. */
static int audit_write_line(Audit *a, const char *ts, const char *event, json_t *fields, bool sync,
                            uint64_t *ret_seq, char **buf, char next_prev[static 65]);

static int audit_format(Audit *a, const char *ts, const char *event, json_t *fields, char **ret) {
        _cleanup_json_ json_t *j = json_object();

        if (!j ||
            json_object_set_new(j, "v", json_integer(1)) < 0 ||
            json_object_set_new(j, "seq", json_integer((json_int_t) (a->seq + 1))) < 0 ||
            json_object_set_new(j, "ts", json_string(ts)) < 0 ||
            json_object_set_new(j, "event", json_string(event)) < 0)
                return -ENOMEM;

        if (fields) {
                const char *k;
                json_t *v;

                json_object_foreach(fields, k, v) {
                        /* The chain fields are ours alone. */
                        if (streq(k, "v") || streq(k, "seq") || streq(k, "ts") || streq(k, "event") ||
                            streq(k, "prev"))
                                continue;
                        if (json_object_set(j, k, v) < 0)
                                return -ENOMEM;
                }
        }
        if (json_object_set_new(j, "prev", json_string(a->prev)) < 0)
                return -ENOMEM;

        /* One byte of room for the newline the caller appends. */
        char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(15));
        if (!s)
                return -ENOMEM;
        size_t len = strlen(s);
        if (len >= AUDIT_LINE_MAX) {
                free(s);
                return -E2BIG;
        }
        char *t = realloc(s, len + 2);
        if (!t) {
                free(s);
                return -ENOMEM;
        }
        *ret = t;
        return 0;
}

/* Another process (systemmanager-mcp --stdio, a second daemon) may append to
 * the same file: under an exclusive flock, pick up its last line first so the
 * chain stays one chain. */
static int audit_sync_tail(Audit *a) {
        _cleanup_close_ int rfd = -1;
        struct stat st;
        bool torn = false;

        if (fstat(a->fd, &st) < 0)
                return -errno;
        if (st.st_size == a->end)
                return 0;
        rfd = open(a->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (rfd < 0)
                return -errno;
        int wfd = a->fd;
        a->fd = rfd;
        int r = audit_recover(a, &torn);
        a->fd = wfd;
        if (r < 0)
                return r;
        a->end = st.st_size;
        return 0;
}

static int audit_append_locked(Audit *a, const char *ts, const char *event, json_t *fields, bool sync,
                               uint64_t *ret_seq) {
        _cleanup_free_ char *s = NULL;
        char next_prev[65];
        int r;

        if (flock(a->fd, LOCK_EX) < 0)
                return -errno;
        r = audit_sync_tail(a);
        if (r >= 0)
                r = audit_write_line(a, ts, event, fields, sync, ret_seq, &s, next_prev);
        (void) flock(a->fd, LOCK_UN);
        return r;
}

static int audit_write_line(Audit *a, const char *ts, const char *event, json_t *fields, bool sync,
                            uint64_t *ret_seq, char **buf, char next_prev[static 65]) {
        char *s;
        int r;

        r = audit_format(a, ts, event, fields, buf);
        if (r < 0)
                return r;
        s = *buf;

        /* Hash the line without its newline, then write line + '\n' at once. */
        size_t len = strlen(s);
        sha256_hex(s, len, next_prev);
        s[len] = '\n';
        s[len + 1] = 0;

        ssize_t n = write(a->fd, s, len + 1);
        if (n < 0)
                return -errno;
        if ((size_t) n != len + 1)
                /* A short write on a regular file: disk full. The reader will see a
                 * torn line; our chain state stays unchanged. */
                return -ENOSPC;
        if (sync && fdatasync(a->fd) < 0)
                return -errno;

        a->end += n;
        if (a->journald) {
                /* Structured fields for journalctl filters; the line is the record. */
                json_t *sub = fields ? json_object_get(fields, "subject") : NULL;
                json_t *tool = fields ? json_object_get(fields, "tool") : NULL;
                json_t *dec = fields ? json_object_get(fields, "decision") : NULL;
                (void) sd_journal_send("MESSAGE=audit %s%s%s", event, json_is_string(tool) ? " " : "",
                                       json_is_string(tool) ? json_string_value(tool) : "",
                                       "PRIORITY=%d", streq(event, "auth.failure") ? 4 : 6,
                                       "SYSLOG_IDENTIFIER=systemmanager-audit",
                                       "SYSTEMMANAGER_EVENT=%s", event,
                                       "SYSTEMMANAGER_SEQ=%llu", (unsigned long long) (a->seq + 1),
                                       "SYSTEMMANAGER_SUBJECT=%s", json_is_string(sub) ? json_string_value(sub) : "",
                                       "SYSTEMMANAGER_TOOL=%s", json_is_string(tool) ? json_string_value(tool) : "",
                                       "SYSTEMMANAGER_DECISION=%s", json_is_string(dec) ? json_string_value(dec) : "",
                                       "SYSTEMMANAGER_AUDIT=%.*s", (int) len, s,
                                       NULL);
        }
        a->seq++;
        a->lines++;
        a->since++;
        memcpy(a->prev, next_prev, sizeof a->prev);
        if (ret_seq)
                *ret_seq = a->seq;
        return 0;
}

static int audit_key_write(const char *path, const unsigned char key[static 32], uint64_t index) {
        char hex[65], tmp[PATH_MAX];
        _cleanup_free_ char *s = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        hex_encode(key, 32, hex, sizeof hex);
        r = asprintf(&s, "{\"index\":%llu,\"key\":\"%s\"}\n", (unsigned long long) index, hex);
        OPENSSL_cleanse(hex, sizeof hex);
        if (r < 0)
                return -ENOMEM;
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        size_t len = strlen(s);
        if (write(fd, s, len) != (ssize_t) len || fsync(fd) < 0) {
                r = -errno;
                OPENSSL_cleanse(s, len);
                unlink(tmp);
                return r ? r : -EIO;
        }
        OPENSSL_cleanse(s, len);
        if (rename(tmp, path) < 0)
                return -errno;
        return 0;
}

static int audit_key_save(Audit *a) {
        return audit_key_write(a->key_path, a->key, a->key_index);
}

/* Writes a checkpoint line sealing everything before it, then evolves the key. Locked. */
/* With `deferred`, the line is written but neither fdatasync'ed nor the
 * evolved key saved: the caller does both after dropping the lock. */
static int audit_checkpoint_locked_full(Audit *a, const char *ts, bool deferred) {
        unsigned char mac[32], next[32];
        unsigned int maclen = sizeof mac;
        char msg[128], machex[65];
        int r;

        snprintf(msg, sizeof msg, "%llu|%s", (unsigned long long) (a->seq + 1), a->prev);
        if (!HMAC(EVP_sha256(), a->key, sizeof a->key, (const unsigned char *) msg, strlen(msg), mac, &maclen))
                return -EIO;
        hex_encode(mac, sizeof mac, machex, sizeof machex);

        _cleanup_json_ json_t *f = json_pack("{s:I,s:s,s:I}", "checkpoint", (json_int_t) a->key_index, "mac", machex,
                                             "lines_sealed", (json_int_t) a->seq);
        if (!f)
                return -ENOMEM;
        r = audit_append_locked(a, ts, "audit.checkpoint", f, !deferred, NULL);
        if (r < 0)
                return r;
        a->since = 0;

        audit_key_evolve(a->key, next);
        memcpy(a->key, next, sizeof a->key);
        OPENSSL_cleanse(next, sizeof next);
        a->key_index++;
        return deferred ? 0 : audit_key_save(a);
}

static int audit_checkpoint_locked(Audit *a, const char *ts) {
        return audit_checkpoint_locked_full(a, ts, false);
}

int audit_append(Audit *a, const char *event, json_t *fields, bool sync, uint64_t *ret_seq) {
        char ts[40];
        int r;

        (void) timestamp_format_ms(now_epoch_ms(), ts, sizeof ts);

        pthread_mutex_lock(&a->lock);
        r = audit_append_locked(a, ts, event, fields, sync, ret_seq);
        if (r >= 0 && a->syncer_running) {
                /* Durable within commit_ms; checkpoints are the syncer's job. */
                if (!sync)
                        a->dirty = true;
                if (a->seal && a->since >= a->every)
                        pthread_cond_signal(&a->cond);
        } else if (r >= 0 && a->seal && a->since >= a->every) {
                int q = audit_checkpoint_locked(a, ts);
                if (q < 0)
                        r = q;
        }
        if (r < 0)
                a->write_errors++;
        pthread_mutex_unlock(&a->lock);
        return r;
}

uint64_t audit_write_errors(Audit *a) {
        uint64_t n;

        pthread_mutex_lock(&a->lock);
        n = a->write_errors;
        pthread_mutex_unlock(&a->lock);
        return n;
}

void audit_key_evolve(const unsigned char key[static 32], unsigned char ret[static 32]) {
        static const char label[] = "systemmanager audit key evolve v1";
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        unsigned int n = 32;

        if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
            EVP_DigestUpdate(c, label, sizeof label - 1) != 1 || EVP_DigestUpdate(c, key, 32) != 1 ||
            EVP_DigestFinal_ex(c, ret, &n) != 1)
                abort(); /* SHA-256 does not fail short of a broken library */
        EVP_MD_CTX_free(c);
}

int audit_enable_seal(Audit *a, const char *key_path, const char *initial_key_path, unsigned every) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        if (every == 0)
                return -EINVAL;
        a->key_path = strdup(key_path);
        if (!a->key_path)
                return -ENOMEM;
        a->every = every;

        fd = open(key_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 && errno != ENOENT)
                return -errno;
        if (fd < 0) {
                /* First start: K0 goes to initial_key_path for the operator to move off-box. */
                _cleanup_close_ int ifd = -1;
                char hex[66];

                if (RAND_bytes(a->key, sizeof a->key) != 1)
                        return -EIO;
                a->key_index = 0;
                ifd = open(initial_key_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (ifd < 0)
                        return -errno;
                hex_encode(a->key, sizeof a->key, hex, sizeof hex);
                hex[64] = '\n';
                if (write(ifd, hex, 65) != 65 || fsync(ifd) < 0) {
                        OPENSSL_cleanse(hex, sizeof hex);
                        return -EIO;
                }
                OPENSSL_cleanse(hex, sizeof hex);
                r = audit_key_save(a);
                if (r < 0)
                        return r;
        } else {
                char tmp[256];
                ssize_t n = read(fd, tmp, sizeof tmp - 1);
                if (n <= 0)
                        return -EBADMSG;
                tmp[n] = 0;
                json_error_t e;
                _cleanup_json_ json_t *j = json_loads(tmp, 0, &e);
                OPENSSL_cleanse(tmp, sizeof tmp);
                json_t *idx = j ? json_object_get(j, "index") : NULL;
                json_t *key = j ? json_object_get(j, "key") : NULL;
                if (!json_is_integer(idx) || json_integer_value(idx) < 0 || !json_is_string(key) ||
                    json_string_length(key) != 64 ||
                    hex_decode(json_string_value(key), 64, a->key, sizeof a->key) != 32)
                        return -EBADMSG;
                a->key_index = (uint64_t) json_integer_value(idx);
        }
        a->seal = true;
        return 0;
}

int audit_seal(Audit *a) {
        char ts[40];
        int r = 0;

        /* The final seal is written inline: the syncer must not race it for the key file. */
        audit_stop_syncer(a);

        (void) timestamp_format_ms(now_epoch_ms(), ts, sizeof ts);
        pthread_mutex_lock(&a->lock);
        if (a->seal && a->since > 0)
                r = audit_checkpoint_locked(a, ts);
        pthread_mutex_unlock(&a->lock);
        return r;
}

uint64_t audit_lines_written(Audit *a) {
        uint64_t n;

        pthread_mutex_lock(&a->lock);
        n = a->lines;
        pthread_mutex_unlock(&a->lock);
        return n;
}

static bool key_is_secret(const char *k) {
        static const char *const words[] = {
                "password", "passwd", "secret", "token", "apikey", "api_key", "authorization",
                "private_key", "credential", "cookie",
        };

        for (size_t i = 0; i < ELEMENTSOF(words); i++)
                if (strcasestr(k, words[i]))
                        return true;
        return false;
}

static json_t *redact_depth(json_t *v, int depth) {
        if (depth > 64)
                return json_string("[too deep]");

        if (json_is_object(v)) {
                json_t *o = json_object();
                const char *k;
                json_t *c;

                if (!o)
                        return NULL;
                json_object_foreach(v, k, c) {
                        json_t *n = key_is_secret(k) ? json_string("[redacted]") : redact_depth(c, depth + 1);
                        if (!n || json_object_set_new(o, k, n) < 0) {
                                json_decref(o);
                                return NULL;
                        }
                }
                return o;
        }
        if (json_is_array(v)) {
                json_t *a = json_array();
                size_t i;
                json_t *c;

                if (!a)
                        return NULL;
                json_array_foreach(v, i, c) {
                        json_t *n = redact_depth(c, depth + 1);
                        if (!n || json_array_append_new(a, n) < 0) {
                                json_decref(a);
                                return NULL;
                        }
                }
                return a;
        }
        return json_incref(v);
}

json_t *audit_redact(json_t *args) {
        if (!args)
                return json_null();
        return redact_depth(args, 0);
}

void audit_enable_journald(Audit *a) {
        pthread_mutex_lock(&a->lock);
        a->journald = true;
        pthread_mutex_unlock(&a->lock);
}
