/* SPDX-License-Identifier: MIT */

/* Docker Engine API client over a unix socket. See tools/docker.h. */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "tools/docker.h"

#define POLL_TICK_MS 100
#define READ_CHUNK 65536u

static uint64_t now_ms(void) {
        struct timespec ts;

        if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
                return 0;
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

static int client_fail(DockerClient *c, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int client_fail(DockerClient *c, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(c->error, sizeof c->error, fmt, ap);
        va_end(ap);
        return r < 0 ? r : -EIO;
}

/* Names -------------------------------------------------------------------- */

bool docker_container_name_is_valid(const char *s) {
        size_t n;

        if (!s || !isalnum((unsigned char) s[0]))
                return false;
        n = strlen(s);
        if (n > 128)
                return false;
        for (size_t i = 1; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && !strchr("_.-", s[i]))
                        return false;
        return true;
}

bool docker_tag_is_valid(const char *s) {
        size_t n;

        if (!s || !(isalnum((unsigned char) s[0]) || s[0] == '_'))
                return false;
        n = strlen(s);
        if (n > 128)
                return false;
        for (size_t i = 1; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && !strchr("_.-", s[i]))
                        return false;
        return true;
}

/* One path component: [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)* */
static bool path_component_is_valid(const char *s, size_t n) {
        size_t i = 0;

        if (n == 0)
                return false;
        for (;;) {
                size_t start = i;

                while (i < n && (islower((unsigned char) s[i]) || isdigit((unsigned char) s[i])))
                        i++;
                if (i == start)
                        return false;
                if (i == n)
                        return true;
                if (s[i] == '.')
                        i++;
                else if (s[i] == '_')
                        i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
                else if (s[i] == '-')
                        while (i < n && s[i] == '-')
                                i++;
                else
                        return false;
        }
}

/* A registry host: labels of [A-Za-z0-9-] (not starting or ending with '-')
 * separated by single dots, with an optional :port of 1..5 digits. */
static bool domain_is_valid(const char *s, size_t n) {
        size_t i = 0;

        for (;;) {
                size_t start = i;

                while (i < n && (isalnum((unsigned char) s[i]) || s[i] == '-'))
                        i++;
                if (i == start || s[start] == '-' || s[i - 1] == '-')
                        return false;
                if (i == n)
                        return true;
                if (s[i] != '.')
                        break;
                i++;
        }
        if (s[i] != ':' || i + 1 == n || n - i - 1 > 5)
                return false;
        for (i++; i < n; i++)
                if (!isdigit((unsigned char) s[i]))
                        return false;
        return true;
}

bool docker_image_name_is_valid(const char *s) {
        const char *p, *slash;
        size_t n;
        bool first = true;

        if (!s)
                return false;
        n = strlen(s);
        if (n == 0 || n > 255)
                return false;
        p = s;
        for (;;) {
                size_t len;

                slash = strchr(p, '/');
                len = slash ? (size_t) (slash - p) : strlen(p);
                /* The first component is a registry host when more follow and
                 * it looks like one (has '.', ':' or is "localhost"). */
                if (first && slash &&
                    (memchr(p, '.', len) || memchr(p, ':', len) ||
                     (len == 9 && strncmp(p, "localhost", 9) == 0))) {
                        if (!domain_is_valid(p, len))
                                return false;
                } else if (!path_component_is_valid(p, len))
                        return false;
                first = false;
                if (!slash)
                        return true;
                p = slash + 1;
        }
}

int docker_url_escape(const char *s, char *buf, size_t size, size_t *pos) {
        static const char hex[] = "0123456789ABCDEF";
        size_t o = *pos;

        for (const unsigned char *u = (const unsigned char *) s; *u; u++) {
                if (isalnum(*u) || strchr("-._~", *u)) {
                        if (o + 1 >= size)
                                return -ENAMETOOLONG;
                        buf[o++] = (char) *u;
                } else {
                        if (o + 3 >= size)
                                return -ENAMETOOLONG;
                        buf[o++] = '%';
                        buf[o++] = hex[*u >> 4];
                        buf[o++] = hex[*u & 15];
                }
        }
        if (o >= size)
                return -ENAMETOOLONG;
        buf[o] = '\0';
        *pos = o;
        return 0;
}

/* Response head ------------------------------------------------------------ */

static bool header_is(const char *line, size_t n, const char *name, const char **ret_value, size_t *ret_len) {
        size_t k = strlen(name);
        const char *v, *end = line + n;

        if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
                return false;
        v = line + k + 1;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
                end--;
        *ret_value = v;
        *ret_len = (size_t) (end - v);
        return true;
}

int docker_parse_head(const char *buf, size_t len, DockerHead *ret) {
        DockerHead h = { .content_length = -1 };
        const char *end = NULL, *p, *line_end;
        size_t scan = len < DOCKER_HEAD_MAX ? len : DOCKER_HEAD_MAX;

        /* Find the blank line that ends the head. */
        for (size_t i = 0; i + 3 < scan; i++)
                if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
                        end = buf + i + 2;
                        h.head_len = i + 4;
                        break;
                }
        if (!end)
                return len >= DOCKER_HEAD_MAX ? -EBADMSG : 0;

        /* Status line: HTTP/1.x SP 3DIGIT [SP reason] */
        if (h.head_len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || !isdigit((unsigned char) buf[7]) ||
            buf[8] != ' ' || !isdigit((unsigned char) buf[9]) || !isdigit((unsigned char) buf[10]) ||
            !isdigit((unsigned char) buf[11]))
                return -EBADMSG;
        if (h.head_len > 12 + 4 && buf[12] != ' ' && buf[12] != '\r')
                return -EBADMSG;
        h.status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
        if (h.status < 100 || h.status > 599)
                return -EBADMSG;

        p = memchr(buf, '\n', (size_t) (end - buf));
        if (!p)
                return -EBADMSG;
        for (p = p + 1; p < end; p = line_end + 1) {
                const char *v;
                size_t vlen, n;

                line_end = memchr(p, '\n', (size_t) (end - p));
                if (!line_end || line_end == p || line_end[-1] != '\r')
                        return -EBADMSG;
                n = (size_t) (line_end - 1 - p);
                if (n == 0)
                        break;
                if (memchr(p, '\0', n))
                        return -EBADMSG;
                if (header_is(p, n, "Content-Length", &v, &vlen)) {
                        uint64_t cl = 0;

                        if (vlen == 0 || vlen > 15)
                                return -EBADMSG;
                        for (size_t i = 0; i < vlen; i++) {
                                if (!isdigit((unsigned char) v[i]))
                                        return -EBADMSG;
                                cl = cl * 10 + (uint64_t) (v[i] - '0');
                        }
                        /* Two different lengths: refuse, as any careful client must. */
                        if (h.content_length >= 0 && (uint64_t) h.content_length != cl)
                                return -EBADMSG;
                        h.content_length = (int64_t) cl;
                } else if (header_is(p, n, "Api-Version", &v, &vlen)) {
                        bool ok = vlen > 0 && vlen < sizeof h.api_version;

                        for (size_t i = 0; ok && i < vlen; i++)
                                ok = isdigit((unsigned char) v[i]) || v[i] == '.';
                        if (ok) {
                                memcpy(h.api_version, v, vlen);
                                h.api_version[vlen] = '\0';
                        }
                } else if (header_is(p, n, "Transfer-Encoding", &v, &vlen)) {
                        if (vlen >= 7 && strncasecmp(v + vlen - 7, "chunked", 7) == 0)
                                h.chunked = true;
                        else if (!(vlen == 8 && strncasecmp(v, "identity", 8) == 0))
                                return -EBADMSG;
                }
        }
        /* Chunked wins over Content-Length (RFC 9112 6.3). */
        if (h.chunked)
                h.content_length = -1;
        *ret = h;
        return 1;
}

/* Chunked framing ------------------------------------------------------------ */

enum {
        CH_SIZE,
        CH_EXT,
        CH_SIZE_LF,
        CH_DATA,
        CH_DATA_CR,
        CH_DATA_LF,
        CH_TRAILER_START,
        CH_TRAILER_LINE,
        CH_FINAL_LF,
        CH_DONE,
};

static int hexval(char ch) {
        if (ch >= '0' && ch <= '9')
                return ch - '0';
        if (ch >= 'a' && ch <= 'f')
                return ch - 'a' + 10;
        if (ch >= 'A' && ch <= 'F')
                return ch - 'A' + 10;
        return -1;
}

int docker_chunked_feed(DockerChunked *d, const char *in, size_t len, DockerDataFn fn, void *userdata,
                        size_t *consumed) {
        size_t i = 0;
        int r;

        while (i < len) {
                char ch = in[i];

                switch (d->state) {
                case CH_SIZE:
                        if (hexval(ch) >= 0) {
                                if (++d->digits > 15)
                                        return -EBADMSG;
                                d->remaining = d->remaining * 16 + (uint64_t) hexval(ch);
                        } else if (d->digits == 0)
                                return -EBADMSG;
                        else if (ch == ';' || ch == ' ' || ch == '\t')
                                d->state = CH_EXT;
                        else if (ch == '\r')
                                d->state = CH_SIZE_LF;
                        else
                                return -EBADMSG;
                        i++;
                        break;
                case CH_EXT:
                        if (ch == '\r')
                                d->state = CH_SIZE_LF;
                        else if (++d->ext_len > 4096 || ch == '\n')
                                return -EBADMSG;
                        i++;
                        break;
                case CH_SIZE_LF:
                        if (ch != '\n')
                                return -EBADMSG;
                        i++;
                        d->digits = 0;
                        d->ext_len = 0;
                        d->state = d->remaining == 0 ? CH_TRAILER_START : CH_DATA;
                        break;
                case CH_DATA: {
                        size_t n = len - i;

                        if (n > d->remaining)
                                n = (size_t) d->remaining;
                        d->remaining -= n;
                        if (d->remaining == 0)
                                d->state = CH_DATA_CR;
                        r = fn(userdata, in + i, n);
                        i += n;
                        if (r != 0) {
                                if (consumed)
                                        *consumed = i;
                                return r;
                        }
                        break;
                }
                case CH_DATA_CR:
                        if (ch != '\r')
                                return -EBADMSG;
                        d->state = CH_DATA_LF;
                        i++;
                        break;
                case CH_DATA_LF:
                        if (ch != '\n')
                                return -EBADMSG;
                        d->state = CH_SIZE;
                        d->remaining = 0;
                        i++;
                        break;
                case CH_TRAILER_START:
                        d->state = ch == '\r' ? CH_FINAL_LF : CH_TRAILER_LINE;
                        d->ext_len = 0;
                        i++;
                        break;
                case CH_TRAILER_LINE:
                        if (ch == '\n')
                                d->state = CH_TRAILER_START;
                        else if (++d->ext_len > 8192)
                                return -EBADMSG;
                        i++;
                        break;
                case CH_FINAL_LF:
                        if (ch != '\n')
                                return -EBADMSG;
                        i++;
                        d->state = CH_DONE;
                        if (consumed)
                                *consumed = i;
                        return 1;
                case CH_DONE:
                default:
                        if (consumed)
                                *consumed = 0;
                        return 1;
                }
        }
        if (consumed)
                *consumed = i;
        return 0;
}

/* Multiplexed log stream ---------------------------------------------------- */

int docker_demux_feed(DockerDemux *d, const char *in, size_t len, DockerFrameFn fn, void *userdata) {
        size_t i = 0;

        while (i < len) {
                if (d->remaining == 0) {
                        size_t n = 8 - d->hdr_len;

                        if (n > len - i)
                                n = len - i;
                        memcpy(d->hdr + d->hdr_len, in + i, n);
                        d->hdr_len += n;
                        i += n;
                        if (d->hdr_len < 8)
                                break;
                        d->hdr_len = 0;
                        /* 0 stdin, 1 stdout, 2 stderr, 3 the engine's own errors. */
                        if (d->hdr[0] > 3 || d->hdr[1] || d->hdr[2] || d->hdr[3])
                                return -EBADMSG;
                        d->stream = d->hdr[0] == 3 ? DOCKER_STREAM_STDERR : d->hdr[0];
                        d->remaining = (uint32_t) d->hdr[4] << 24 | (uint32_t) d->hdr[5] << 16 |
                                       (uint32_t) d->hdr[6] << 8 | (uint32_t) d->hdr[7];
                } else {
                        size_t n = len - i;

                        if (n > d->remaining)
                                n = d->remaining;
                        fn(userdata, d->stream, in + i, n);
                        d->remaining -= (uint32_t) n;
                        i += n;
                }
        }
        return 0;
}

/* JSON streams ----------------------------------------------------------- */

static int json_values_in_line(const char *line, size_t n, DockerObjectFn fn, void *userdata) {
        size_t i = 0;

        while (i < n) {
                _cleanup_json_ json_t *v = NULL;
                json_error_t err;
                int r;

                while (i < n && isspace((unsigned char) line[i]))
                        i++;
                if (i == n)
                        break;
                v = json_loadb(line + i, n - i, JSON_DISABLE_EOF_CHECK, &err);
                if (!v || !json_is_object(v) || err.position <= 0)
                        return -EBADMSG;
                i += (size_t) err.position;
                r = fn(userdata, v);
                if (r != 0)
                        return r;
        }
        return 0;
}

int docker_json_lines_feed(DockerJsonLines *j, const char *in, size_t len, DockerObjectFn fn, void *userdata) {
        size_t start = 0;
        int r;

        if (len > 0 && j->len + len > j->size) {
                size_t need = j->len + len, size = j->size ? j->size : 4096;
                char *p;

                if (need > DOCKER_JSON_LINE_MAX + READ_CHUNK)
                        return -EBADMSG;
                while (size < need)
                        size *= 2;
                p = realloc(j->buf, size);
                if (!p)
                        return -ENOMEM;
                j->buf = p;
                j->size = size;
        }
        if (len > 0)
                memcpy(j->buf + j->len, in, len);
        j->len += len;

        for (size_t i = 0; i < j->len; i++) {
                if (j->buf[i] != '\n')
                        continue;
                r = json_values_in_line(j->buf + start, i - start, fn, userdata);
                if (r != 0) {
                        j->len = 0;
                        return r;
                }
                start = i + 1;
        }
        memmove(j->buf, j->buf + start, j->len - start);
        j->len -= start;
        if (j->len > DOCKER_JSON_LINE_MAX)
                return -EBADMSG;
        return 0;
}

int docker_json_lines_finish(DockerJsonLines *j, DockerObjectFn fn, void *userdata) {
        int r;

        if (j->len == 0)
                return 0;
        r = json_values_in_line(j->buf, j->len, fn, userdata);
        j->len = 0;
        return r;
}

void docker_json_lines_done(DockerJsonLines *j) {
        free(j->buf);
        *j = (DockerJsonLines) {};
}

/* Responses ---------------------------------------------------------------- */

void docker_response_done(DockerResponse *r) {
        if (!r)
                return;
        free(r->body);
        *r = (DockerResponse) {};
}

json_t *docker_response_json(const DockerResponse *r) {
        if (!r->body || r->body_len == 0 || r->truncated)
                return NULL;
        return json_loadb(r->body, r->body_len, 0, NULL);
}

/* Copies a message for humans: first line only, control characters and
 * non-ASCII bytes replaced, so a hostile engine cannot forge log lines. */
static void copy_message(char *buf, size_t size, const char *s, size_t n) {
        size_t o = 0;

        for (size_t i = 0; i < n && o + 1 < size; i++) {
                unsigned char ch = (unsigned char) s[i];

                if (ch == '\n' || ch == '\r')
                        break;
                buf[o++] = (ch < 0x20 || ch >= 0x7f) ? '?' : (char) ch;
        }
        buf[o] = '\0';
}

const char *docker_response_message(const DockerResponse *r, char *buf, size_t size) {
        _cleanup_json_ json_t *j = NULL;
        const char *m;

        if (size == 0)
                return buf;
        j = docker_response_json(r);
        m = json_string_value(json_object_get(j, "message"));
        if (!m)
                m = json_string_value(json_object_get(j, "cause"));
        if (m && *m)
                copy_message(buf, size, m, strlen(m));
        else if (r->body && r->body_len > 0)
                copy_message(buf, size, r->body, r->body_len);
        else
                snprintf(buf, size, "HTTP status %d", r->status);
        if (buf[0] == '\0')
                snprintf(buf, size, "HTTP status %d", r->status);
        return buf;
}

/* Transport ---------------------------------------------------------------- */

/* Waits until fd is ready for `events`, in ticks of at most 100 ms so that
 * cancellation is noticed quickly. */
static int wait_fd(DockerClient *c, int fd, short events, uint64_t deadline) {
        for (;;) {
                struct pollfd p = { .fd = fd, .events = events };
                uint64_t now = now_ms();
                int timeout, n;

                if (c->cancelled && atomic_load(c->cancelled))
                        return client_fail(c, -ECANCELED, "cancelled");
                if (now >= deadline)
                        return client_fail(c, -ETIMEDOUT, "the Docker API at %s did not answer within %d s",
                                           c->socket_path, (c->timeout_ms + 999) / 1000);
                timeout = deadline - now > POLL_TICK_MS ? POLL_TICK_MS : (int) (deadline - now);
                n = poll(&p, 1, timeout);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return client_fail(c, -errno, "poll: %s", strerror(errno));
                }
                if (n > 0)
                        return 0;
        }
}

static int unreachable(DockerClient *c, int r) {
        return client_fail(c, r,
                           "cannot reach the Docker API at %s: %s — is dockerd or `podman system service` "
                           "running? (docker.socket)",
                           c->socket_path, strerror(-r));
}

static int docker_connect(DockerClient *c, uint64_t deadline, int *ret_fd) {
        _cleanup_close_ int fd = -1;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t n = strlen(c->socket_path);
        uint64_t now = now_ms();
        struct timeval tv = { .tv_sec = 1 };
        int r, flags;

        if (deadline > now && deadline - now < 1000)
                tv = (struct timeval) { .tv_usec = (suseconds_t) ((deadline - now) * 1000) };
        if (n == 0 || n >= sizeof sa.sun_path)
                return client_fail(c, -EINVAL, "docker.socket path '%s' is empty or too long", c->socket_path);
        memcpy(sa.sun_path, c->socket_path, n + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return client_fail(c, -errno, "socket: %s", strerror(errno));
        /* A local connect() only blocks while the listener's backlog is full;
         * a send timeout bounds that wait. */
        r = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (r < 0)
                return client_fail(c, -errno, "setsockopt: %s", strerror(errno));
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return unreachable(c, errno == EINPROGRESS || errno == EAGAIN ? -ETIMEDOUT : -errno);
        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return client_fail(c, -errno, "fcntl: %s", strerror(errno));
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int send_all(DockerClient *c, int fd, const char *data, size_t len, uint64_t deadline) {
        while (len > 0) {
                ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
                int r;

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                return client_fail(c, -errno, "sending to the Docker API at %s: %s",
                                                   c->socket_path, strerror(errno));
                        r = wait_fd(c, fd, POLLOUT, deadline);
                        if (r < 0)
                                return r;
                        continue;
                }
                data += n;
                len -= (size_t) n;
        }
        return 0;
}

typedef struct Sink {
        DockerResponse *resp;
        size_t max_body;
        DockerDataFn fn;
        void *userdata;
        bool stream;            /* 2xx and fn given: hand data to fn */
        bool stop;              /* enough read */
        int fn_error;
} Sink;

static int sink_data(void *userdata, const char *data, size_t len) {
        Sink *s = userdata;
        DockerResponse *resp = s->resp;
        size_t room;
        char *p;

        if (len == 0)
                return 0;
        if (s->stream) {
                int r = s->fn(s->userdata, data, len);

                if (r < 0) {
                        s->fn_error = r;
                        return r;
                }
                if (r > 0) {
                        s->stop = true;
                        return 1;
                }
                return 0;
        }
        room = s->max_body - resp->body_len;
        if (len > room) {
                resp->truncated = true;
                len = room;
                s->stop = true;
        }
        p = realloc(resp->body, resp->body_len + len + 1);
        if (!p)
                return -ENOMEM;
        resp->body = p;
        memcpy(resp->body + resp->body_len, data, len);
        resp->body_len += len;
        resp->body[resp->body_len] = '\0';
        return s->stop ? 1 : 0;
}

static int do_request(DockerClient *c, const char *method, const char *path, bool prefixed, json_t *body,
                      size_t max_body, DockerDataFn fn, void *userdata, DockerResponse *ret) {
        _cleanup_free_ char *req = NULL, *body_text = NULL, *buf = NULL;
        _cleanup_close_ int fd = -1;
        DockerResponse resp = {};
        DockerChunked ch = {};
        DockerHead head = {};
        Sink sink = { .resp = &resp, .max_body = max_body ? max_body : DOCKER_BODY_MAX, .fn = fn,
                      .userdata = userdata };
        uint64_t deadline = now_ms() + (uint64_t) (c->timeout_ms > 0 ? c->timeout_ms : 30000);
        size_t body_len = 0, have = 0, req_len, cap;
        uint64_t body_read = 0;
        bool have_head = false, done = false;
        int r, n;

        c->error[0] = '\0';
        if (strlen(path) > 8192 || path[0] != '/')
                return client_fail(c, -EINVAL, "request path too long or not absolute");
        if (body) {
                body_text = json_dumps(body, JSON_COMPACT);
                if (!body_text)
                        return client_fail(c, -ENOMEM, "out of memory");
                body_len = strlen(body_text);
        }
        cap = strlen(path) + 512;
        req = malloc(cap);
        if (!req)
                return client_fail(c, -ENOMEM, "out of memory");
        if (body)
                n = snprintf(req, cap,
                             "%s %s%s HTTP/1.1\r\nHost: docker\r\nUser-Agent: systemmanager/" SM_VERSION
                             "\r\nConnection: close\r\nAccept: application/json\r\n"
                             "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                             method, prefixed ? c->prefix : "", path, body_len);
        else
                n = snprintf(req, cap,
                             "%s %s%s HTTP/1.1\r\nHost: docker\r\nUser-Agent: systemmanager/" SM_VERSION
                             "\r\nConnection: close\r\nAccept: application/json\r\n\r\n",
                             method, prefixed ? c->prefix : "", path);
        if (n < 0 || (size_t) n >= cap)
                return client_fail(c, -EINVAL, "request too long");
        req_len = (size_t) n;

        r = docker_connect(c, deadline, &fd);
        if (r < 0)
                return r;
        r = send_all(c, fd, req, req_len, deadline);
        if (r >= 0 && body)
                r = send_all(c, fd, body_text, body_len, deadline);
        if (r < 0)
                return r;

        buf = malloc(DOCKER_HEAD_MAX + READ_CHUNK);
        if (!buf)
                return client_fail(c, -ENOMEM, "out of memory");

        while (!done) {
                ssize_t got;
                const char *data;
                size_t dlen;

                r = wait_fd(c, fd, POLLIN, deadline);
                if (r < 0)
                        goto fail;
                if (!have_head) {
                        got = recv(fd, buf + have, DOCKER_HEAD_MAX + READ_CHUNK - have, 0);
                } else
                        got = recv(fd, buf, READ_CHUNK, 0);
                if (got < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        r = client_fail(c, -errno, "reading from the Docker API at %s: %s", c->socket_path,
                                        strerror(errno));
                        goto fail;
                }
                if (got == 0) {
                        /* EOF ends a body without length; anywhere else it is a cut. */
                        if (have_head && !head.chunked && head.content_length < 0)
                                break;
                        r = client_fail(c, -EBADMSG, "the Docker API at %s closed the connection mid-response",
                                        c->socket_path);
                        goto fail;
                }

                if (!have_head) {
                        have += (size_t) got;
                        r = docker_parse_head(buf, have, &head);
                        if (r < 0) {
                                r = client_fail(c, -EBADMSG, "malformed HTTP response from the Docker API at %s",
                                                c->socket_path);
                                goto fail;
                        }
                        if (r == 0)
                                continue;
                        have_head = true;
                        resp.status = head.status;
                        memcpy(resp.api_version, head.api_version, sizeof resp.api_version);
                        sink.stream = fn && head.status >= 200 && head.status < 300;
                        if (head.status == 204 || head.status == 304 || head.status < 200 ||
                            strcmp(method, "HEAD") == 0 || head.content_length == 0)
                                break;
                        data = buf + head.head_len;
                        dlen = have - head.head_len;
                } else {
                        data = buf;
                        dlen = (size_t) got;
                }
                if (dlen == 0)
                        continue;

                if (head.chunked) {
                        r = docker_chunked_feed(&ch, data, dlen, sink_data, &sink, NULL);
                        if (r < 0) {
                                if (sink.fn_error < 0)
                                        r = sink.fn_error;
                                else if (r == -EBADMSG)
                                        client_fail(c, r, "malformed chunked body from the Docker API at %s",
                                                    c->socket_path);
                                else
                                        client_fail(c, r, "%s", strerror(-r));
                                goto fail;
                        }
                        if (r > 0)
                                done = true;
                } else {
                        if (head.content_length >= 0 && body_read + dlen > (uint64_t) head.content_length)
                                dlen = (size_t) ((uint64_t) head.content_length - body_read);
                        body_read += dlen;
                        r = sink_data(&sink, data, dlen);
                        if (r < 0) {
                                if (sink.fn_error >= 0)
                                        client_fail(c, r, "%s", strerror(-r));
                                goto fail;
                        }
                        if (r > 0 || (head.content_length >= 0 && body_read >= (uint64_t) head.content_length))
                                done = true;
                }
                if (sink.stop)
                        done = true;
        }
        if (!resp.body) {
                resp.body = strdup("");
                if (!resp.body) {
                        r = client_fail(c, -ENOMEM, "out of memory");
                        goto fail;
                }
        }
        *ret = resp;
        return 0;

fail:
        docker_response_done(&resp);
        return r;
}

int docker_request(DockerClient *c, const char *method, const char *path, json_t *body, size_t max_body,
                   DockerResponse *ret) {
        return do_request(c, method, path, true, body, max_body, NULL, NULL, ret);
}

int docker_request_stream(DockerClient *c, const char *method, const char *path, json_t *body, DockerDataFn fn,
                          void *userdata, DockerResponse *ret) {
        return do_request(c, method, path, true, body, 0, fn, userdata, ret);
}

/* "1.41" → 1, 41 */
static int parse_api_version(const char *s, unsigned *ret_major, unsigned *ret_minor) {
        unsigned long major, minor;
        char *e;

        if (!s || !isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        major = strtoul(s, &e, 10);
        if (errno != 0 || *e != '.' || !isdigit((unsigned char) e[1]))
                return -EINVAL;
        minor = strtoul(e + 1, &e, 10);
        if (errno != 0 || *e != '\0' || major > 99 || minor > 999)
                return -EINVAL;
        *ret_major = (unsigned) major;
        *ret_minor = (unsigned) minor;
        return 0;
}

int docker_client_open(DockerClient *c, const char *socket_path, int timeout_ms, const atomic_bool *cancelled) {
        _cleanup_json_ json_t *v = NULL;
        DockerResponse resp = {};
        unsigned major = DOCKER_API_MAX_MAJOR, minor = 41;
        char msg[256];
        int r;

        *c = (DockerClient) {
                .socket_path = socket_path && *socket_path ? socket_path : DOCKER_DEFAULT_SOCKET,
                .timeout_ms = timeout_ms > 0 ? timeout_ms : 30000,
                .cancelled = cancelled,
        };
        r = do_request(c, "GET", "/_ping", false, NULL, 4096, NULL, NULL, &resp);
        if (r < 0)
                return r;
        if (resp.status == 200 && parse_api_version(resp.api_version, &major, &minor) >= 0) {
                docker_response_done(&resp);
                goto done;
        }
        docker_response_done(&resp);

        r = do_request(c, "GET", "/version", false, NULL, 1024 * 1024, NULL, NULL, &resp);
        if (r < 0)
                return r;
        if (resp.status != 200) {
                docker_response_message(&resp, msg, sizeof msg);
                docker_response_done(&resp);
                return client_fail(c, -EPROTO, "the Docker API at %s answered GET /version with %d: %s",
                                   c->socket_path, resp.status, msg);
        }
        v = docker_response_json(&resp);
        docker_response_done(&resp);
        if (parse_api_version(json_string_value(json_object_get(v, "ApiVersion")), &major, &minor) < 0) {
                /* No usable version: assume the oldest one we need (1.41, Podman 4). */
                major = 1;
                minor = 41;
        }
done:
        if (major > DOCKER_API_MAX_MAJOR || (major == DOCKER_API_MAX_MAJOR && minor > DOCKER_API_MAX_MINOR)) {
                major = DOCKER_API_MAX_MAJOR;
                minor = DOCKER_API_MAX_MINOR;
        }
        snprintf(c->prefix, sizeof c->prefix, "/v%u.%u", major, minor);
        return 0;
}
