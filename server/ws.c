/* SPDX-License-Identifier: MIT */
/* MCP over WebSocket (subprotocol "mcp", SEP-1288 convention): one JSON-RPC
 * message per text frame, stdio-like lifecycle. The handshake was already
 * authenticated in http.c (HTTP_CONFIRM_UPGRADE); the identity is fixed for
 * the connection. */

#include <errno.h>
#include <string.h>

#include <libwebsockets.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "server/httpd.h"
#include "server/mcp.h"

#define WS_MAX_QUEUED_FRAMES 64

typedef struct WsFrame {
        struct WsFrame *next;
        size_t len;
        unsigned char data[]; /* LWS_PRE + len */
} WsFrame;

typedef struct WsConn {
        struct lws *wsi;
        Httpd *httpd;
        ConnRef *conn;
        McpSession *session;
        char *msg;              /* message being reassembled from fragments */
        size_t msg_len, msg_cap;
        WsFrame *head, *tail;
        size_t n_queued;
        bool rx_paused;
} WsConn;

static int ws_queue(WsConn *c, const char *body, size_t len) {
        WsFrame *f = malloc(sizeof *f + LWS_PRE + len);

        if (!f)
                return -ENOMEM;
        f->next = NULL;
        f->len = len;
        memcpy(f->data + LWS_PRE, body, len);
        if (c->tail)
                c->tail->next = f;
        else
                c->head = f;
        c->tail = f;
        c->n_queued++;

        /* A client that does not read its replies stops being read from. */
        if (c->n_queued >= WS_MAX_QUEUED_FRAMES && !c->rx_paused) {
                lws_rx_flow_control(c->wsi, 0);
                c->rx_paused = true;
        }
        lws_callback_on_writable(c->wsi);
        return 0;
}

static void ws_deliver(void *target, OutboxItem *item) {
        WsConn *c = target;

        if (item->body)
                (void) ws_queue(c, item->body, item->body_len);
        mcp_outbox_item_finish(c->httpd->srv, c->session, item);
}

static void ws_conn_done(WsConn *c) {
        c->session = mcp_session_free(c->session);
        if (c->conn) {
                c->conn->target = NULL;
                c->conn = conn_ref_unref(c->conn);
        }
        for (WsFrame *f = c->head, *n; f; f = n) {
                n = f->next;
                free(f);
        }
        c->head = c->tail = NULL;
        free(c->msg);
        c->msg = NULL;
}

/* An idle connection (nothing received or sent, no call running) is closed
 * after server.idle_timeout; a running call keeps it open. */
static void ws_arm_idle(WsConn *c) {
        if (c->session && mcp_session_inflight(c->session) > 0)
                lws_set_timeout(c->wsi, NO_PENDING_TIMEOUT, 0);
        else
                lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, c->httpd->srv->config->server_idle_timeout);
}

static int ws_established(struct lws *wsi, WsConn *c, Httpd *h) {
        _cleanup_identity_ Identity *id = NULL;
        const char *detail = NULL;
        unsigned retry = 0;
        Peer peer;
        int r;

        c->wsi = wsi;
        c->httpd = h;
        httpd_peer(wsi, TRANSPORT_WEBSOCKET, &peer);

        /* The upgrade gate verified this already; verifying again here binds the
         * identity to this connection (headers are still attached). */
        AuthError e = httpd_authenticate(wsi, h, &peer, h->srv->config->auth_allow_query_token, &id, &detail, &retry);
        if (e != AUTH_OK)
                return -1;

        c->conn = conn_ref_new(c, ws_deliver);
        if (!c->conn)
                return -1;
        r = mcp_session_new(h->srv, TRANSPORT_WEBSOCKET, true, c->conn, h->outbox, &c->session);
        if (r < 0)
                return -1;
        mcp_session_set_identity(c->session, id);
        mcp_session_set_peer(c->session, &peer);
        ws_arm_idle(c);
        return 0;
}

static int ws_message(WsConn *c) {
        McpReply r = {};
        int q;

        /* While stopping, messages are still answered (new tool calls get
         * "shutting down"), so replies of calls in flight are never cut off;
         * the 1001 close follows once nothing is left to send. */
        q = mcp_session_handle(c->session, c->msg, c->msg_len, &r);
        c->msg_len = 0;
        if (q < 0)
                return -1;
        ws_arm_idle(c);
        if (q == MCP_REPLY_NOW && r.body)
                q = ws_queue(c, r.body, r.body_len);
        mcp_reply_done(&r);
        return q < 0 ? -1 : 0;
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
        WsConn *c = user;
        Httpd *h = httpd_from_wsi(wsi);

        switch (reason) {
        case LWS_CALLBACK_ESTABLISHED:
                if (!c || !h)
                        return -1;
                return ws_established(wsi, c, h);

        case LWS_CALLBACK_RECEIVE: {
                size_t max = h->srv->config->server_max_ws_message_bytes;

                if (!c->session)
                        return -1;
                if (lws_frame_is_binary(wsi)) {
                        lws_close_reason(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE,
                                         (unsigned char *) "send JSON-RPC as text frames", 28);
                        return -1;
                }
                if (lws_is_first_fragment(wsi))
                        c->msg_len = 0;
                if (c->msg_len + len > max) {
                        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                                         (unsigned char *) "message exceeds server.max_ws_message_bytes", 43);
                        return -1;
                }
                if (c->msg_len + len + 1 > c->msg_cap) {
                        size_t cap = c->msg_cap ? c->msg_cap : 4096;
                        while (cap < c->msg_len + len + 1)
                                cap *= 2;
                        char *m = realloc(c->msg, cap);
                        if (!m)
                                return -1;
                        c->msg = m;
                        c->msg_cap = cap;
                }
                memcpy(c->msg + c->msg_len, in, len);
                c->msg_len += len;
                c->msg[c->msg_len] = 0;
                ws_arm_idle(c);

                if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0)
                        return 0;
                return ws_message(c);
        }

        case LWS_CALLBACK_SERVER_WRITEABLE: {
                WsFrame *f = c ? c->head : NULL;

                if (!f) {
                        /* Stopping: once every reply is out, say goodbye properly. */
                        if (c && c->session && atomic_load(&h->srv->stopping) &&
                            mcp_session_inflight(c->session) == 0) {
                                lws_close_reason(wsi, LWS_CLOSE_STATUS_GOINGAWAY,
                                                 (unsigned char *) "server stopping", 15);
                                return -1;
                        }
                        return 0;
                }
                if (lws_write(wsi, f->data + LWS_PRE, f->len, LWS_WRITE_TEXT) < (int) f->len)
                        return -1;
                c->head = f->next;
                if (!c->head)
                        c->tail = NULL;
                c->n_queued--;
                free(f);
                if (c->head || atomic_load(&h->srv->stopping))
                        lws_callback_on_writable(wsi);
                if (c->rx_paused && c->n_queued < WS_MAX_QUEUED_FRAMES / 2) {
                        lws_rx_flow_control(wsi, 1);
                        c->rx_paused = false;
                }
                ws_arm_idle(c);
                return 0;
        }

        case LWS_CALLBACK_TIMER:
                return 0;

        case LWS_CALLBACK_CLOSED:
                if (c)
                        ws_conn_done(c);
                return 0;

        case LWS_CALLBACK_WSI_DESTROY:
                httpd_connection_destroyed(wsi);
                return 0;

        default:
                return 0;
        }
}

const struct lws_protocols httpd_protocol_mcp = {
        .name = "mcp",
        .callback = ws_callback,
        .per_session_data_size = sizeof(WsConn),
        .rx_buffer_size = 65536,
};
