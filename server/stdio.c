/* SPDX-License-Identifier: MIT */
/* MCP over stdio: newline-delimited JSON-RPC on stdin/stdout, logs on
 * stderr. One thread runs the loop (poll on stdin and an eventfd that worker
 * completions ring), so the session is only touched here. */

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "server/mcp.h"
#include "server/stdio.h"

typedef struct StdioConn {
        Server *srv;
        McpSession *session;
        int out_fd;
        bool out_broken;
} StdioConn;

static int wake_fd = -1;

void stdio_wake(void) {
        uint64_t one = 1;

        if (wake_fd >= 0)
                (void) !write(wake_fd, &one, sizeof one);
}

static void stdio_wake_cb(void *userdata) {
        stdio_wake();
}

static void stdio_write_line(StdioConn *c, const char *body, size_t len) {
        if (c->out_broken)
                return;
        /* Messages never contain a raw newline (compact JSON escapes them). */
        while (len > 0) {
                ssize_t n = write(c->out_fd, body, len);
                if (n < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        c->out_broken = true;
                        return;
                }
                body += n;
                len -= (size_t) n;
        }
        while (write(c->out_fd, "\n", 1) < 0 && errno == EINTR)
                ;
}

static void stdio_deliver(void *target, OutboxItem *item) {
        StdioConn *c = target;

        if (item->body)
                stdio_write_line(c, item->body, item->body_len);
        mcp_outbox_item_finish(c->srv, c->session, item);
}

int stdio_run(Server *srv, Identity *identity, int in_fd, int out_fd) {
        StdioConn c = { .srv = srv, .out_fd = out_fd };
        _cleanup_free_ char *buf = NULL;
        size_t max = srv->config->server_max_body_bytes;
        size_t len = 0;
        bool eof = false, discarding = false;
        Outbox *outbox = NULL;
        ConnRef *conn = NULL;
        int r;

        wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (wake_fd < 0)
                return log_error_errno(errno, "Failed to create eventfd: %m");

        buf = malloc(max + 1);
        if (!buf)
                return -ENOMEM;
        r = outbox_new(stdio_wake_cb, NULL, &outbox);
        if (r < 0)
                return r;
        conn = conn_ref_new(&c, stdio_deliver);
        if (!conn) {
                outbox_free(outbox);
                return -ENOMEM;
        }
        r = mcp_session_new(srv, TRANSPORT_STDIO, true, conn, outbox, &c.session);
        if (r < 0) {
                conn_ref_unref(conn);
                outbox_free(outbox);
                return r;
        }
        mcp_session_set_identity(c.session, identity);
        Peer peer = { .ip = "local", .port = 0, .transport = TRANSPORT_STDIO };
        mcp_session_set_peer(c.session, &peer);

        for (;;) {
                mcp_outbox_dispatch(srv, outbox);

                if ((eof || atomic_load(&srv->stopping)) && mcp_session_inflight(c.session) == 0)
                        break;

                struct pollfd p[2] = {
                        { .fd = wake_fd, .events = POLLIN },
                        { .fd = in_fd, .events = POLLIN },
                };
                int n = poll(p, eof || atomic_load(&srv->stopping) ? 1 : 2, -1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                if (p[0].revents & POLLIN) {
                        uint64_t v;
                        (void) !read(wake_fd, &v, sizeof v);
                }
                if (eof || atomic_load(&srv->stopping) || !(p[1].revents & (POLLIN | POLLHUP | POLLERR)))
                        continue;

                ssize_t k = read(in_fd, buf + len, max - len);
                if (k < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        eof = true;
                        mcp_session_abort_elicitations(c.session);
                        continue;
                }
                if (k == 0) {
                        eof = true;
                        mcp_session_abort_elicitations(c.session);
                        continue;
                }
                len += (size_t) k;

                /* Handle every complete line in the buffer. */
                size_t start = 0;
                for (;;) {
                        char *nl = memchr(buf + start, '\n', len - start);
                        if (!nl)
                                break;
                        size_t l = (size_t) (nl - (buf + start));
                        if (discarding) {
                                discarding = false;
                        } else if (l > 0 && !(l == 1 && buf[start] == '\r')) {
                                McpReply rep = {};
                                int q = mcp_session_handle(c.session, buf + start, l, &rep);
                                if (q == MCP_REPLY_NOW && rep.body)
                                        stdio_write_line(&c, rep.body, rep.body_len);
                                mcp_reply_done(&rep);
                        }
                        start += l + 1;
                }
                memmove(buf, buf + start, len - start);
                len -= start;

                if (len == max) {
                        /* A line longer than the limit: answer once, drop the rest of it. */
                        McpReply rep = {};
                        if (mcp_reply_error(&rep, 413, NULL, -32600,
                                            "Invalid Request: message exceeds server.max_body_bytes", NULL) >= 0 &&
                            rep.body)
                                stdio_write_line(&c, rep.body, rep.body_len);
                        mcp_reply_done(&rep);
                        len = 0;
                        discarding = true;
                }
        }

        c.session = mcp_session_free(c.session);
        conn->target = NULL;
        conn_ref_unref(conn);
        /* Workers may still push for cancelled jobs: let the pool drain first (main). */
        mcp_outbox_dispatch(srv, outbox);
        outbox_free(outbox);
        close(wake_fd);
        wake_fd = -1;
        return r < 0 ? r : 0;
}
