/* SPDX-License-Identifier: MIT */
/* A small WebSocket MCP client for the benchmark (raw sockets + epoll, one
 * thread, so the client costs little next to the server).
 *
 *   wsbench PORT TOKEN CONNS SECONDS
 *       CONNS connections (subprotocol mcp, bearer token at the handshake),
 *       each: initialize, notifications/initialized, then tools/call
 *       get_system_status round trips back to back (one in flight per
 *       connection) for SECONDS. Prints "ws_rtt CONNS rps p50_us p99_us n".
 *   wsbench PORT TOKEN CONNS HOLD --idle
 *       opens CONNS connections, initializes them, prints "ready CONNS",
 *       then holds them idle for HOLD seconds (for memory per connection).
 * 127.0.0.1 only. Exits non-zero if a handshake fails. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <arpa/inet.h>

#define RBUF 65536
#define MAX_SAMPLES 2000000

struct conn {
        int fd;
        char rbuf[RBUF];
        size_t rlen;
        double sent_at;
        unsigned long id;
};

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int send_all(int fd, const void *buf, size_t len) {
        const char *p = buf;
        while (len > 0) {
                ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -1;
                }
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

static int send_text(int fd, const char *msg) {
        size_t len = strlen(msg), h = 0;
        unsigned char frame[16 + 4096];
        if (len > 4096)
                return -1;
        frame[h++] = 0x81;
        if (len < 126) {
                frame[h++] = (unsigned char) (0x80 | len);
        } else {
                frame[h++] = 0x80 | 126;
                frame[h++] = (unsigned char) (len >> 8);
                frame[h++] = (unsigned char) len;
        }
        memset(frame + h, 0, 4); /* mask key 0: payload unchanged */
        h += 4;
        memcpy(frame + h, msg, len);
        return send_all(fd, frame, h + len);
}

/* Returns 1 and the frame's total size when rbuf holds a complete frame. */
static int frame_complete(const struct conn *c, size_t *total, int *opcode) {
        const unsigned char *b = (const unsigned char *) c->rbuf;
        size_t h = 2, plen;
        if (c->rlen < 2)
                return 0;
        plen = b[1] & 0x7f;
        if (plen == 126) {
                if (c->rlen < 4)
                        return 0;
                plen = (size_t) b[2] << 8 | b[3];
                h = 4;
        } else if (plen == 127) {
                if (c->rlen < 10)
                        return 0;
                plen = 0;
                for (int i = 0; i < 8; i++)
                        plen = plen << 8 | b[2 + i];
                h = 10;
        }
        if (c->rlen < h + plen)
                return 0;
        *total = h + plen;
        *opcode = b[0] & 0x0f;
        return 1;
}

static void consume(struct conn *c, size_t n) {
        memmove(c->rbuf, c->rbuf + n, c->rlen - n);
        c->rlen -= n;
}

/* Blocking read of one text frame (for the setup phase). */
static int read_frame_blocking(struct conn *c) {
        size_t total;
        int op;
        for (;;) {
                if (frame_complete(c, &total, &op)) {
                        consume(c, total);
                        if (op == 1)
                                return 0;
                        continue;
                }
                ssize_t n = recv(c->fd, c->rbuf + c->rlen, RBUF - c->rlen, 0);
                if (n <= 0)
                        return -1;
                c->rlen += (size_t) n;
        }
}

static int open_conn(struct conn *c, int port, const char *token) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
        char req[9000];
        int one = 1;

        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0 || connect(c->fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return -1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct timeval tv = { .tv_sec = 10 };
        setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        snprintf(req, sizeof req,
                 "GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                 "Sec-WebSocket-Protocol: mcp\r\nAuthorization: Bearer %s\r\n\r\n",
                 port, token);
        if (send_all(c->fd, req, strlen(req)) < 0)
                return -1;
        c->rlen = 0;
        for (;;) {
                ssize_t n = recv(c->fd, c->rbuf + c->rlen, RBUF - 1 - c->rlen, 0);
                if (n <= 0)
                        return -1;
                c->rlen += (size_t) n;
                c->rbuf[c->rlen] = 0;
                char *e = strstr(c->rbuf, "\r\n\r\n");
                if (e) {
                        if (strncmp(c->rbuf, "HTTP/1.1 101", 12) != 0) {
                                fprintf(stderr, "wsbench: handshake refused: %.60s\n", c->rbuf);
                                return -1;
                        }
                        consume(c, (size_t) (e + 4 - c->rbuf));
                        break;
                }
        }
        if (send_text(c->fd,
                      "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
                      "\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"wsbench\",\"version\":\"1\"}}}") < 0 ||
            read_frame_blocking(c) < 0 ||
            send_text(c->fd, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}") < 0)
                return -1;
        return 0;
}

static int cmp_d(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static int send_call(struct conn *c) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "{\"jsonrpc\":\"2.0\",\"id\":%lu,\"method\":\"tools/call\",\"params\":{\"name\":"
                 "\"get_system_status\",\"arguments\":{}}}",
                 ++c->id);
        c->sent_at = now_s();
        return send_text(c->fd, msg);
}

int main(int argc, char **argv) {
        if (argc < 5) {
                fprintf(stderr, "usage: wsbench PORT TOKEN CONNS SECONDS [--idle]\n");
                return 2;
        }
        int port = (int) strtol(argv[1], NULL, 10), nconn = (int) strtol(argv[3], NULL, 10);
        const char *token = argv[2];
        double secs = atof(argv[4]);
        int idle = argc > 5 && strcmp(argv[5], "--idle") == 0;
        struct conn *cs = calloc((size_t) nconn, sizeof *cs);

        for (int i = 0; i < nconn; i++)
                if (open_conn(&cs[i], port, token) < 0) {
                        fprintf(stderr, "wsbench: connection %d failed (%s)\n", i, strerror(errno));
                        return 1;
                }
        if (idle) {
                printf("ready %d\n", nconn);
                fflush(stdout);
                double end = now_s() + secs;
                while (now_s() < end)
                        usleep(50000);
                return 0;
        }

        int ep = epoll_create1(EPOLL_CLOEXEC);
        for (int i = 0; i < nconn; i++) {
                struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &cs[i] };
                fcntl(cs[i].fd, F_SETFL, O_NONBLOCK);
                epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
        }
        double *samples = malloc(sizeof(double) * MAX_SAMPLES);
        unsigned long n = 0, ns = 0;
        double t0 = now_s(), end = t0 + secs, t;
        for (int i = 0; i < nconn; i++)
                if (send_call(&cs[i]) < 0)
                        return 1;
        struct epoll_event evs[256];
        while ((t = now_s()) < end) {
                int k = epoll_wait(ep, evs, 256, 100);
                for (int j = 0; j < k; j++) {
                        struct conn *c = evs[j].data.ptr;
                        ssize_t r = recv(c->fd, c->rbuf + c->rlen, RBUF - c->rlen, 0);
                        if (r == 0 || (r < 0 && errno != EAGAIN)) {
                                fprintf(stderr, "wsbench: connection closed by the server\n");
                                return 1;
                        }
                        if (r < 0)
                                continue;
                        c->rlen += (size_t) r;
                        size_t total;
                        int op;
                        while (frame_complete(c, &total, &op)) {
                                consume(c, total);
                                if (op != 1)
                                        continue;
                                double now = now_s();
                                if (ns < MAX_SAMPLES)
                                        samples[ns++] = now - c->sent_at;
                                n++;
                                if (now < end && send_call(c) < 0)
                                        return 1;
                        }
                }
        }
        t = now_s() - t0;
        qsort(samples, ns, sizeof(double), cmp_d);
        printf("ws_rtt %d %.0f %.0f %.0f %lu\n", nconn, (double) n / t, ns ? samples[ns / 2] * 1e6 : 0,
               ns ? samples[(size_t) ((double) ns * 0.99)] * 1e6 : 0, n);
        return 0;
}
