/* SPDX-License-Identifier: MIT */
/* The HTTP protocol of the lws front: POST /mcp (Streamable HTTP, JSON
 * responses), GET /healthz, /health, /whoami, and the WebSocket upgrade gate.
 * Writes happen only from the WRITEABLE callback. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <libwebsockets.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "server/httpd.h"
#include "server/mcp.h"
#include "server/rpc.h"

typedef enum HttpWrite {
        HTTP_WRITE_IDLE,
        HTTP_WRITE_DEFERRED,    /* a rejection waits until the request body has been read */
        HTTP_WRITE_WAITING,     /* a tool job runs; its reply comes through the outbox */
        HTTP_WRITE_HEADERS,
        HTTP_WRITE_BODY,
} HttpWrite;

typedef struct HttpConn {
        struct lws *wsi;
        Httpd *httpd;
        ConnRef *conn;
        McpSession *session;            /* created on the first /mcp request */
        Peer peer;

        /* request */
        bool want_body;                 /* POST /mcp accepted: collect the body */
        bool rejecting;                 /* a response is queued; ignore any body */
        bool body_pending;              /* a request body is still arriving */
        uint64_t discarded;             /* body bytes read and dropped after a rejection */
        char *body;
        size_t body_len, body_cap;

        /* response */
        HttpWrite wstate;
        int status;
        unsigned char *resp;            /* LWS_PRE + body */
        size_t resp_len;
        char *www_authenticate;
        const char *allow;
        unsigned retry_after;           /* Retry-After on 429 */
        bool close_after;
        bool pipelined;
        const char *content_type;       /* of the response; NULL = application/json */
        char rest_tool[65];             /* POST /tool/{name}: the tool name, else "" */
        bool rest;                      /* a REST endpoint: {"ok":...} bodies, not JSON-RPC */
        char approval_id[40];           /* POST /approvals/{id}/{action} */
        const char *approval_action;    /* "approve" | "deny" */
        bool tokens_revoke;             /* POST /tokens/revoke */
        bool stepup_mint;               /* POST /audience-tokens/tokens */
        bool stepup_revoke;             /* POST /audience-tokens/revoke */
        bool svc;                       /* POST /tokens or /tokens/{id}/{action} */
        char svc_id[40];
        const char *svc_action;
        bool rx_paused;                 /* rx held from body completion until the answer is out */
        bool body_done;                 /* BODY_COMPLETION seen for this request */                 /* a second request arrived early: ignore it, close after answering */
} HttpConn;

static void http_reset_request(HttpConn *c) {
        free(c->body);
        c->body = NULL;
        c->body_len = c->body_cap = 0;
        c->want_body = c->rejecting = c->body_pending = c->body_done = false;
        c->discarded = 0;
        free(c->resp);
        c->resp = NULL;
        c->resp_len = 0;
        free(c->www_authenticate);
        c->www_authenticate = NULL;
        c->allow = NULL;
        c->content_type = NULL;
        c->rest_tool[0] = 0;
        c->rest = false;
        c->approval_id[0] = 0;
        c->approval_action = NULL;
        c->tokens_revoke = false;
        c->stepup_mint = false;
        c->stepup_revoke = false;
        c->svc = false;
        c->svc_id[0] = 0;
        c->svc_action = NULL;
        c->retry_after = 0;
        c->status = 0;
        c->wstate = HTTP_WRITE_IDLE;
}

static void http_conn_done(HttpConn *c) {
        http_reset_request(c);
        c->session = mcp_session_free(c->session);
        if (c->conn) {
                c->conn->target = NULL;
                c->conn = conn_ref_unref(c->conn);
        }
}

/* Queues a response; it is written from WRITEABLE. `body` is copied. */
static int http_respond(HttpConn *c, int status, const char *body, size_t len) {
        free(c->resp);
        c->resp = malloc(LWS_PRE + len + 1);
        if (!c->resp)
                return -ENOMEM;
        if (len > 0)
                memcpy(c->resp + LWS_PRE, body, len);
        c->resp_len = len;
        c->status = status;
        if (c->body_pending) {
                /* Answering while the client still sends makes its kernel see a
                 * reset instead of our answer: read (and drop) the body first. */
                c->wstate = HTTP_WRITE_DEFERRED;
                return 0;
        }
        c->wstate = HTTP_WRITE_HEADERS;
        lws_callback_on_writable(c->wsi);
        return 0;
}

/* How much of a rejected body we read and drop before simply closing. */
static uint64_t http_discard_cap(const HttpConn *c) {
        return c->httpd->srv->config->server_max_body_bytes * 4 + 65536;
}

/* {"message":..., "code":...} for the non-MCP endpoints. */
static int http_respond_error(HttpConn *c, int status, const char *code, const char *message) {
        _cleanup_json_ json_t *j = json_pack("{s:s,s:s}", "message", message, "code", code);
        _cleanup_free_ char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

        if (!s)
                return -ENOMEM;
        return http_respond(c, status, s, strlen(s));
}

static int http_respond_json(HttpConn *c, int status, json_t *j /* borrowed */) {
        _cleanup_free_ char *s = json_dumps(j, JSON_COMPACT);

        if (!s)
                return -ENOMEM;
        return http_respond(c, status, s, strlen(s));
}

/* Replies carrying our own bytes (McpReply) are taken over without copying. */
static int http_respond_reply(HttpConn *c, McpReply *r) {
        char buf[512];
        int q;

        if (r->retry_after > 0)
                c->retry_after = r->retry_after;
        if (r->auth_error != AUTH_OK) {
                free(c->www_authenticate);
                c->www_authenticate = strdup(httpd_www_authenticate(c->wsi, c->httpd, r->auth_error, r->missing_scopes, buf,
                                                                    sizeof buf));
        }
        q = http_respond(c, r->http_status ? r->http_status : 200, r->body ? r->body : "",
                         r->body ? r->body_len : 0);
        mcp_reply_done(r);
        return q;
}

static int http_send_now(HttpConn *c);

static void http_deliver(void *target, OutboxItem *item) {
        HttpConn *c = target;
        Server *srv = c->httpd->srv;

        /* Plain JSON responses cannot carry notifications (progress): drop them. */
        bool send = false;
        if (item->final && c->wstate == HTTP_WRITE_WAITING) {
                if (item->body)
                        (void) http_respond(c, item->http_status ? item->http_status : 200, item->body,
                                            item->body_len);
                else
                        (void) http_respond(c, 202, "", 0);
                send = true;
        }
        mcp_outbox_item_finish(srv, c->session, item);
        if (!send)
                return;
        if (c->pipelined) {
                /* lws is held off this connection (see BODY_COMPLETION): write now, then close. */
                if (http_send_now(c) < 0)
                        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
                return;
        }
        lws_callback_on_writable(c->wsi);
}

static bool media_type_is(const char *value, const char *type) {
        size_t n = strlen(type);

        while (*value == ' ')
                value++;
        return strncasecmp(value, type, n) == 0 && (value[n] == 0 || value[n] == ';' || value[n] == ' ');
}

/* True when an Accept header admits application/json. */
static bool accept_allows_json(const char *accept) {
        const char *p = accept;

        while (p && *p) {
                const char *comma = strchr(p, ',');
                size_t n = comma ? (size_t) (comma - p) : strlen(p);
                char item[128];

                if (n < sizeof item) {
                        memcpy(item, p, n);
                        item[n] = 0;
                        if (media_type_is(item, "application/json") || media_type_is(item, "application/*") ||
                            media_type_is(item, "*/*"))
                                return true;
                }
                p = comma ? comma + 1 : NULL;
        }
        return false;
}

static int http_auth_failed(HttpConn *c, AuthError e, const char *detail, bool jsonrpc, unsigned retry_after) {
        char buf[512];

        free(c->www_authenticate);
        c->www_authenticate = e == AUTH_ERR_RATE_LIMITED_IP || e == AUTH_ERR_RATE_LIMITED_IDENTITY
                                      ? NULL
                                      : strdup(httpd_www_authenticate(c->wsi, c->httpd, e, NULL, buf, sizeof buf));
        c->rejecting = true;
        c->retry_after = retry_after;
        if (jsonrpc) {
                McpReply r = {};
                int q = mcp_reply_auth_error(&r, NULL, e, detail, retry_after);
                if (q < 0)
                        return q;
                r.auth_error = AUTH_OK; /* header already set */
                return http_respond_reply(c, &r);
        }
        if (retry_after > 0) {
                _cleanup_json_ json_t *j = json_pack("{s:s,s:s,s:i}", "message", auth_error_message(e), "code",
                                                     auth_error_code(e), "retry_after", (int) retry_after);
                if (!j)
                        return -ENOMEM;
                return http_respond_json(c, auth_error_http_status(e), j);
        }
        return http_respond_error(c, auth_error_http_status(e), auth_error_code(e), auth_error_message(e));
}

/* A refusal before the body is parsed, phrased for the endpoint: a JSON-RPC
 * error for /mcp, {"ok":false,"error":{...}} for /tool/{name}. */
static int http_reject(HttpConn *c, int status, const char *code, const char *message) {
        c->rejecting = true;
        if (c->rest) {
                _cleanup_json_ json_t *j = json_pack("{s:b,s:n,s:{s:s,s:s}}", "ok", 0, "result", "error", "code",
                                                     code, "message", message);
                if (!j)
                        return -ENOMEM;
                return http_respond_json(c, status, j);
        }
        McpReply r = {};
        if (mcp_reply_error(&r, status, NULL, RPC_INVALID_REQUEST, message, NULL) < 0)
                return -ENOMEM;
        return http_respond_reply(c, &r);
}

static int http_method_not_allowed(HttpConn *c, const char *allow, const char *message) {
        c->allow = allow;
        c->rejecting = c->close_after = true;
        return http_respond_error(c, 405, "http.method_not_allowed", message);
}

/* Authenticates a REST request without a body. Returns 0 with *ret set, 1
 * when the refusal is already queued, or a negative errno. */
static int http_authenticate_rest(HttpConn *c, Identity **ret) {
        const char *detail = NULL;
        unsigned retry = 0;
        AuthError e = httpd_authenticate(c->wsi, c->httpd, &c->peer, false, ret, &detail, &retry);

        if (e == AUTH_OK)
                return 0;
        int r = http_auth_failed(c, e, detail, false, retry);
        return r < 0 ? r : 1;
}

static int http_ensure_session(HttpConn *c) {
        if (c->session)
                return 0;
        return mcp_session_new(c->httpd->srv, TRANSPORT_HTTP, false, c->conn, c->httpd->outbox, &c->session);
}

static int http_body_complete(HttpConn *c);

static int http_begin_mcp_post(HttpConn *c) {
        Httpd *h = c->httpd;
        Config *cfg = h->srv->config;
        char buf[256], msg[320];
        int n;

        n = httpd_header(c->wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, buf, sizeof buf);
        /* REST callers (curl) may leave the type out; a wrong type is refused everywhere. */
        if ((n < 0 && !c->rest) || (n >= 0 && !media_type_is(buf, "application/json"))) {
                c->rejecting = c->close_after = true;
                return http_reject(c, 415, "http.unsupported_media_type",
                                   "Unsupported Media Type: send the body with 'Content-Type: application/json'");
        }

        n = httpd_header(c->wsi, WSI_TOKEN_HTTP_ACCEPT, buf, sizeof buf);
        if (n >= 0 && !accept_allows_json(buf)) {
                c->rejecting = c->close_after = true;
                return http_reject(c, 406, "http.not_acceptable",
                                   "Not Acceptable: this endpoint answers with application/json; send "
                                    "'Accept: application/json, text/event-stream'");
        }

        n = httpd_header_custom(c->wsi, "mcp-protocol-version:", buf, sizeof buf);
        if (n >= 0 && !mcp_protocol_version_supported(buf)) {
                c->rejecting = c->close_after = true;
                McpReply r = {};
                snprintf(msg, sizeof msg, "Bad Request: unsupported MCP-Protocol-Version '%.32s' (supported: %s)",
                         buf, mcp_protocol_versions_list());
                if (mcp_reply_error(&r, 400, NULL, RPC_INVALID_REQUEST, msg, NULL) < 0)
                        return -ENOMEM;
                return http_respond_reply(c, &r);
        }

        /* libwebsockets 4.1 cannot take chunked request bodies reliably: ask for a length. */
        if (lws_hdr_total_length(c->wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
                c->rejecting = c->close_after = true;
                c->body_pending = false;
                return http_reject(c, 411, "http.length_required",
                                   "Length Required: send the body with Content-Length; chunked request bodies "
                                    "are not accepted");
        }

        /* Authentication happens before the body is read or parsed. */
        _cleanup_identity_ Identity *id = NULL;
        const char *detail = NULL;
        unsigned retry = 0;
        AuthError e = httpd_authenticate(c->wsi, h, &c->peer, false, &id, &detail, &retry);
        if (e != AUTH_OK) {
                c->close_after = true;
                return http_auth_failed(c, e, detail, !c->rest, retry);
        }

        n = httpd_header(c->wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, buf, sizeof buf);
        if (n > 0) {
                char *end = NULL;
                unsigned long long v;

                /* Digits only: a repeated header arrives joined ("5, 10"), and two
                 * lengths are a request-smuggling shape (RFC 9112 §6.3). */
                if (strspn(buf, "0123456789") != (size_t) n) {
                        c->rejecting = c->close_after = true;
                        c->body_pending = false;
                        return http_reject(c, 400, "http.bad_request",
                                           "Bad Request: invalid or repeated Content-Length header");
                }
                errno = 0;
                v = strtoull(buf, &end, 10);
                if (errno != 0 || *end != 0 || v > cfg->server_max_body_bytes) {
                        c->rejecting = c->close_after = true;
                        if (errno != 0 || *end != 0 || v > http_discard_cap(c))
                                c->body_pending = false; /* too much to drain: answer and close */
                        snprintf(msg, sizeof msg,
                                 "Payload Too Large: the request body exceeds %llu bytes (server.max_body_bytes)",
                                 (unsigned long long) cfg->server_max_body_bytes);
                        return http_reject(c, 413, "http.payload_too_large", msg);
                }
        }

        int r = http_ensure_session(c);
        if (r < 0)
                return r;
        mcp_session_set_identity(c->session, id);
        mcp_session_set_peer(c->session, &c->peer);
        c->want_body = true;

        if (!c->body_pending) {
                /* No body at all (no Content-Length, or 0): lws sends no BODY_COMPLETION. */
                c->want_body = false;
                c->body_done = true;
                return http_body_complete(c);
        }

        /* Slow bodies get the same deadline as slow headers. */
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_HTTP_CONTENT, cfg->server_header_timeout);
        return 0;
}

static int http_body_complete(HttpConn *c) {
        McpReply r = {};
        int q;

        lws_set_timeout(c->wsi, NO_PENDING_TIMEOUT, 0);
        if (atomic_load(&c->httpd->srv->stopping)) {
                c->close_after = true;
                if (mcp_reply_error(&r, 503, NULL, RPC_SERVER_BUSY, "Service Unavailable: server is shutting down",
                                    json_pack("{s:s}", "code", "server.stopping")) < 0)
                        return -ENOMEM;
                return http_respond_reply(c, &r);
        }

        if (c->svc)
                q = mcp_service_tokens(c->httpd->srv, mcp_session_get_identity(c->session), &c->peer,
                                       c->svc_id[0] ? c->svc_id : NULL, c->svc_action, c->body ? c->body : "",
                                       c->body_len, &r) < 0
                            ? -ENOMEM
                            : MCP_REPLY_NOW;
        else if (c->stepup_revoke)
                q = mcp_audience_revoke(c->httpd->srv, mcp_session_get_identity(c->session), &c->peer,
                                        c->body ? c->body : "", c->body_len, &r) < 0
                            ? -ENOMEM
                            : MCP_REPLY_NOW;
        else if (c->stepup_mint)
                q = mcp_audience_tokens(c->httpd->srv, mcp_session_get_identity(c->session), &c->peer, true,
                                        c->body ? c->body : "", c->body_len, &r) < 0
                            ? -ENOMEM
                            : MCP_REPLY_NOW;
        else if (c->tokens_revoke)
                q = mcp_tokens_revoke(c->httpd->srv, mcp_session_get_identity(c->session), &c->peer,
                                      c->body ? c->body : "", c->body_len, &r) < 0
                            ? -ENOMEM
                            : MCP_REPLY_NOW;
        else if (c->approval_action)
                q = mcp_approvals_request(c->httpd->srv, mcp_session_get_identity(c->session), &c->peer,
                                          c->approval_id, c->approval_action, c->body ? c->body : "", c->body_len,
                                          &r) < 0
                            ? -ENOMEM
                            : MCP_REPLY_NOW;
        else if (c->rest_tool[0])
                q = mcp_session_rest_call(c->session, c->rest_tool, c->body ? c->body : "", c->body_len, &r);
        else
                q = mcp_session_handle(c->session, c->body ? c->body : "", c->body_len, &r);
        if (q < 0)
                return q;
        switch (q) {
        case MCP_REPLY_NONE:
                return http_respond(c, 202, "", 0);
        case MCP_REPLY_LATER:
                c->wstate = HTTP_WRITE_WAITING;
                return 0;
        default:
                return http_respond_reply(c, &r);
        }
}

static int http_health(HttpConn *c, bool detailed) {
        Server *srv = c->httpd->srv;

        if (!detailed)
                return http_respond(c, 200, "{\"status\":\"ok\"}", 15);

        _cleanup_json_ json_t *j = json_pack(
                "{s:s,s:s,s:I,s:i,s:I,s:I,s:I,s:I,s:I}", "status", atomic_load(&srv->stopping) ? "stopping" : "ok",
                "version", SM_VERSION, "uptime_seconds", (json_int_t) ((now_usec() - srv->started_usec) / 1000000),
                "connections", c->httpd->n_connections, "active_calls", (json_int_t) atomic_load(&srv->active_calls),
                "requests_total", (json_int_t) atomic_load(&srv->n_requests), "tool_calls_total",
                (json_int_t) atomic_load(&srv->n_tool_calls), "tool_errors_total",
                (json_int_t) atomic_load(&srv->n_tool_errors), "auth_failures_total",
                (json_int_t) atomic_load(&srv->n_auth_failures));
        if (!j)
                return -ENOMEM;
        return http_respond_json(c, 200, j);
}

/* Prometheus text exposition (server/metrics.c). */
static int http_metrics(HttpConn *c) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r = metrics_render(c->httpd->srv, c->httpd->n_connections, &buf, &len);

        if (r < 0)
                return r;
        c->content_type = "text/plain; version=0.0.4; charset=utf-8";
        return http_respond(c, 200, buf, len);
}

/* RFC 9728 protected-resource metadata: where MCP lives and which scopes exist. */
static int http_resource_metadata(HttpConn *c) {
        char host[256], resource[320];

        if (httpd_header(c->wsi, WSI_TOKEN_HOST, host, sizeof host) < 0)
                snprintf(host, sizeof host, "%s:%d", c->httpd->srv->config->server_host,
                         c->httpd->srv->config->server_port);
        snprintf(resource, sizeof resource, "%s://%s/mcp", c->httpd->srv->config->server_tls_cert ? "https" : "http",
                 host);

        _cleanup_json_ json_t *scopes = scopeset_to_json(SCOPESET_ALL);
        if (!scopes || json_array_insert_new(scopes, 0, json_string("admin")) < 0 ||
            json_array_insert_new(scopes, 0, json_string("readonly")) < 0)
                return -ENOMEM;
        _cleanup_json_ json_t *j = json_pack("{s:s,s:s,s:O,s:[s]}", "resource", resource, "resource_name",
                                             "systemmanager", "scopes_supported", scopes,
                                             "bearer_methods_supported", "header");
        if (!j)
                return -ENOMEM;
        return http_respond_json(c, 200, j);
}

static int http_route(HttpConn *c, const char *path) {
        Httpd *h = c->httpd;
        char *uri = NULL, msg[256];
        int ulen = 0, method;

        method = lws_http_get_uri_and_method(c->wsi, &uri, &ulen);

        if (streq(path, "/healthz")) {
                if (method != LWSHUMETH_GET) {
                        c->allow = "GET";
                        c->close_after = true;
                        return http_respond_error(c, 405, "http.method_not_allowed", "Method Not Allowed: use GET");
                }
                return http_health(c, false);
        }

        if (streq(path, "/.well-known/oauth-protected-resource") ||
            streq(path, "/.well-known/oauth-protected-resource/mcp")) {
                if (method != LWSHUMETH_GET) {
                        return http_method_not_allowed(c, "GET", "Method Not Allowed: use GET");
                }
                return http_resource_metadata(c);
        }

        if (httpd_check_origin(c->wsi, h, msg, sizeof msg) < 0) {
                c->rejecting = c->close_after = true;
                if (streq(path, "/mcp")) {
                        McpReply r = {};
                        if (mcp_reply_error(&r, 403, NULL, RPC_INVALID_REQUEST, msg, NULL) < 0)
                                return -ENOMEM;
                        return http_respond_reply(c, &r);
                }
                return http_respond_error(c, 403, "http.origin_not_allowed", msg);
        }

        if (atomic_load(&h->srv->stopping)) {
                c->rejecting = c->close_after = true;
                return http_respond_error(c, 503, "server.stopping", "Service Unavailable: server is shutting down");
        }

        if (streq(path, "/mcp")) {
                if (method == LWSHUMETH_POST)
                        return http_begin_mcp_post(c);
                c->allow = "POST";
                c->rejecting = c->close_after = method != LWSHUMETH_GET;
                McpReply r = {};
                if (mcp_reply_error(&r, 405, NULL, RPC_INVALID_REQUEST,
                                    "Method Not Allowed: this server sends no SSE stream; POST JSON-RPC "
                                    "messages to /mcp (or upgrade to WebSocket with subprotocol 'mcp')",
                                    NULL) < 0)
                        return -ENOMEM;
                return http_respond_reply(c, &r);
        }

        if (strncmp(path, "/tool/", 6) == 0) {
                const char *name = path + 6;
                size_t l = strlen(name);

                if (method != LWSHUMETH_POST) {
                        return http_method_not_allowed(c, "POST", "Method Not Allowed: POST the tool's arguments as a JSON object");
                }
                if (l == 0 || l >= sizeof c->rest_tool || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != l) {
                        snprintf(msg, sizeof msg, "Unknown tool: %.64s (tools/list shows the tools you may call)",
                                 name);
                        c->rejecting = true;
                        _cleanup_json_ json_t *j = json_pack("{s:b,s:n,s:{s:s,s:s}}", "ok", 0, "result", "error",
                                                             "code", "tool.unknown", "message", msg);
                        return j ? http_respond_json(c, 404, j) : -ENOMEM;
                }
                memcpy(c->rest_tool, name, l + 1);
                c->rest = true;
                return http_begin_mcp_post(c);
        }

        if (streq(path, "/audience-tokens/revoke")) {
                c->rest = true;
                if (method != LWSHUMETH_POST) {
                        return http_method_not_allowed(c, "POST", "Method Not Allowed: use POST");
                }
                c->stepup_revoke = true;
                return http_begin_mcp_post(c);
        }

        if (streq(path, "/tokens") || (strncmp(path, "/tokens/", 8) == 0 && !streq(path, "/tokens/revoke"))) {
                c->rest = true;
                if (streq(path, "/tokens") && method == LWSHUMETH_GET) {
                        _cleanup_identity_ Identity *who = NULL;
                        int a = http_authenticate_rest(c, &who);
                        if (a != 0)
                                return a < 0 ? a : 0;
                        McpReply rep = {};
                        int q = mcp_service_tokens(h->srv, who, &c->peer, NULL, NULL, NULL, 0, &rep);
                        if (q < 0)
                                return q;
                        return http_respond_reply(c, &rep);
                }
                if (method != LWSHUMETH_POST) {
                        return http_method_not_allowed(c, streq(path, "/tokens") ? "GET, POST" : "POST", "Method Not Allowed");
                }
                if (!streq(path, "/tokens")) {
                        const char *rest = path + 8;
                        size_t idl = strcspn(rest, "/");
                        const char *action = rest[idl] == '/' ? rest + idl + 1 : "";
                        if (idl == 0 || idl >= sizeof c->svc_id ||
                            strspn(rest, "abcdefghijklmnopqrstuvwxyz0123456789-") < idl ||
                            (!streq(action, "rotate") && !streq(action, "revoke"))) {
                                c->rejecting = true;
                                return http_respond_error(c, 404, "http.not_found",
                                                          "Not Found: use /tokens/{id}/rotate or /tokens/{id}/revoke");
                        }
                        memcpy(c->svc_id, rest, idl);
                        c->svc_id[idl] = 0;
                        c->svc_action = streq(action, "rotate") ? "rotate" : "revoke";
                }
                c->svc = true;
                return http_begin_mcp_post(c);
        }

        if (streq(path, "/audience-tokens/tokens") || streq(path, "/audience-tokens/audiences")) {
                bool mint = streq(path, "/audience-tokens/tokens");
                c->rest = true;
                if (method != (mint ? LWSHUMETH_POST : LWSHUMETH_GET)) {
                        return http_method_not_allowed(c, mint ? "POST" : "GET", mint ? "Method Not Allowed: use POST" : "Method Not Allowed: use GET");
                }
                if (mint) {
                        c->stepup_mint = true;
                        return http_begin_mcp_post(c);
                }
                _cleanup_identity_ Identity *who = NULL;
                int a = http_authenticate_rest(c, &who);
                if (a != 0)
                        return a < 0 ? a : 0;
                McpReply rep = {};
                int q = mcp_audience_tokens(h->srv, who, &c->peer, false, NULL, 0, &rep);
                if (q < 0)
                        return q;
                return http_respond_reply(c, &rep);
        }

        if (streq(path, "/tokens/revoke")) {
                c->rest = true;
                if (method != LWSHUMETH_POST) {
                        return http_method_not_allowed(c, "POST", "Method Not Allowed: use POST");
                }
                c->tokens_revoke = true;
                return http_begin_mcp_post(c);
        }

        if (streq(path, "/approvals") || strncmp(path, "/approvals/", 11) == 0) {
                char id[40] = "";
                const char *action = NULL;
                const char *rest = path[10] == '/' ? path + 11 : "";
                size_t idl = strcspn(rest, "/");

                c->rest = true;
                if (idl >= sizeof id || strspn(rest, "abcdefghijklmnopqrstuvwxyz0123456789_") < idl) {
                        c->rejecting = true;
                        return http_respond_error(c, 404, "approval.unknown", "No such approval");
                }
                memcpy(id, rest, idl);
                id[idl] = 0;
                if (rest[idl] == '/') {
                        action = rest + idl + 1;
                        if (!streq(action, "approve") && !streq(action, "deny")) {
                                c->rejecting = true;
                                return http_respond_error(c, 404, "http.not_found",
                                                          "Not Found: use /approvals/{id}/approve or /deny");
                        }
                }
                if (action) {
                        if (method != LWSHUMETH_POST || !id[0]) {
                                return http_method_not_allowed(c, "POST", "Method Not Allowed: POST /approvals/{id}/approve|deny");
                        }
                        memcpy(c->approval_id, id, idl + 1);
                        c->approval_action = streq(action, "approve") ? "approve" : "deny";
                        return http_begin_mcp_post(c);
                }
                if (method != LWSHUMETH_GET) {
                        return http_method_not_allowed(c, "GET", "Method Not Allowed: use GET");
                }
                _cleanup_identity_ Identity *who = NULL;
                int a = http_authenticate_rest(c, &who);
                if (a != 0)
                        return a < 0 ? a : 0;
                McpReply rep = {};
                int q = mcp_approvals_request(h->srv, who, &c->peer, id[0] ? id : NULL, NULL, NULL, 0, &rep);
                if (q < 0)
                        return q;
                return http_respond_reply(c, &rep);
        }

        if (streq(path, "/whoami") || streq(path, "/health") || streq(path, "/metrics")) {
                if (method != LWSHUMETH_GET) {
                        return http_method_not_allowed(c, "GET", "Method Not Allowed: use GET");
                }

                _cleanup_identity_ Identity *id = NULL;
                int a = http_authenticate_rest(c, &id);
                if (a != 0)
                        return a < 0 ? a : 0;

                if (streq(path, "/whoami")) {
                        _cleanup_json_ json_t *j = identity_to_json(id);
                        if (!j)
                                return -ENOMEM;
                        return http_respond_json(c, 200, j);
                }
                /* /health needs health:read; /metrics health:read and metrics:read. */
                bool metrics = streq(path, "/metrics");
                ScopeSet need = SCOPE_BIT(SCOPE_HEALTH_READ) | (metrics ? SCOPE_BIT(SCOPE_METRICS_READ) : 0);
                if ((id->scopes & need) != need) {
                        char buf[512], missing[64], text[128];

                        scopeset_format(need & ~id->scopes, missing, sizeof missing);
                        snprintf(text, sizeof text, "Missing required scopes: %s", missing);
                        free(c->www_authenticate);
                        c->www_authenticate = strdup(httpd_www_authenticate(c->wsi, c->httpd, AUTH_ERR_INSUFFICIENT_SCOPE, missing,
                                                                            buf, sizeof buf));
                        return http_respond_error(c, 403, auth_error_code(AUTH_ERR_INSUFFICIENT_SCOPE), text);
                }
                return metrics ? http_metrics(c) : http_health(c, true);
        }

        c->rejecting = true;
        c->close_after = method == LWSHUMETH_POST;
        snprintf(msg, sizeof msg, "Not Found: no endpoint %.100s (MCP is served at /mcp)", path);
        return http_respond_error(c, 404, "http.not_found", msg);
}

static int http_write(HttpConn *c) {
        if (c->wstate == HTTP_WRITE_HEADERS) {
                unsigned char buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;

                if (lws_add_http_common_headers(c->wsi, (unsigned) c->status,
                                                c->resp_len > 0 ? (c->content_type ? c->content_type
                                                                                   : "application/json")
                                                                : NULL,
                                                c->resp_len, &p, end))
                        return -1;
                if (c->www_authenticate &&
                    lws_add_http_header_by_name(c->wsi, (const unsigned char *) "www-authenticate:",
                                                (const unsigned char *) c->www_authenticate,
                                                (int) strlen(c->www_authenticate), &p, end))
                        return -1;
                if (c->allow && lws_add_http_header_by_name(c->wsi, (const unsigned char *) "allow:",
                                                            (const unsigned char *) c->allow,
                                                            (int) strlen(c->allow), &p, end))
                        return -1;
                if (lws_add_http_header_by_name(c->wsi, (const unsigned char *) "cache-control:",
                                                (const unsigned char *) "no-store", 8, &p, end) ||
                    lws_add_http_header_by_name(c->wsi, (const unsigned char *) "x-content-type-options:",
                                                (const unsigned char *) "nosniff", 7, &p, end))
                        return -1;
                if (c->retry_after > 0) {
                        char ra[16];
                        int n = snprintf(ra, sizeof ra, "%u", c->retry_after);
                        if (lws_add_http_header_by_name(c->wsi, (const unsigned char *) "retry-after:",
                                                        (const unsigned char *) ra, n, &p, end))
                                return -1;
                }
                if (c->close_after && lws_add_http_header_by_name(c->wsi, (const unsigned char *) "connection:",
                                                                  (const unsigned char *) "close", 5, &p, end))
                        return -1;
                if (lws_finalize_write_http_header(c->wsi, start, &p, end))
                        return -1;
                /* The body follows at once: lws keeps whatever the socket does not
                 * take and finishes it before the next WRITEABLE. One round trip
                 * through poll() per response instead of two. */
                if (c->resp_len > 0 &&
                    lws_write(c->wsi, c->resp + LWS_PRE, c->resp_len, LWS_WRITE_HTTP_FINAL) != (int) c->resp_len)
                        return -1;
        } else if (c->wstate == HTTP_WRITE_BODY) {
                if (lws_write(c->wsi, c->resp + LWS_PRE, c->resp_len, LWS_WRITE_HTTP_FINAL) != (int) c->resp_len)
                        return -1;
        } else
                return 0;

        /* The response is out. */
        bool close_after = c->close_after;
        http_reset_request(c);
        if (close_after)
                return -1;
        if (lws_http_transaction_completed(c->wsi))
                return -1;
        return 0;
}

/* Writes a queued response right away (headers, then body) and completes
 * the transaction, so lws moves on to any pipelined request in a sane state.
 * lws buffers what the socket does not take. Returns -1 when the connection
 * is to be closed. */
static int http_send_now(HttpConn *c) {
        int r = 0;

        if (c->wstate == HTTP_WRITE_HEADERS)
                r = http_write(c);
        if (r == 0 && c->wstate == HTTP_WRITE_BODY)
                r = http_write(c);
        return r;
}

static int http_confirm_upgrade(struct lws *wsi, Httpd *h, const char *what) {
        char buf[256], msg[256], www[512];
        Peer peer;

        httpd_peer(wsi, TRANSPORT_WEBSOCKET, &peer);

        if (!what || strcasecmp(what, "websocket") != 0)
                return -1;

        char *uri = NULL;
        int ulen = 0;
        if (lws_http_get_uri_and_method(wsi, &uri, &ulen) < 0 || ulen != 4 || strncmp(uri, "/mcp", 4) != 0) {
                const char *b = "{\"message\":\"WebSocket is served at /mcp\",\"code\":\"http.not_found\"}";
                httpd_write_simple(wsi, 404, "application/json", b, strlen(b), NULL);
                return 1;
        }

        if (httpd_check_origin(wsi, h, msg, sizeof msg) < 0) {
                _cleanup_json_ json_t *j = json_pack("{s:s,s:s}", "message", msg, "code", "http.origin_not_allowed");
                _cleanup_free_ char *b = j ? json_dumps(j, JSON_COMPACT) : NULL;
                httpd_write_simple(wsi, 403, "application/json", b ? b : "{}", b ? strlen(b) : 2, NULL);
                return 1;
        }

        /* SEP-1288: the subprotocol is "mcp"; a client that does not ask for it
         * is not speaking MCP over WebSocket. */
        bool has_mcp = false;
        if (httpd_header(wsi, WSI_TOKEN_PROTOCOL, buf, sizeof buf) > 0) {
                char *save = NULL;
                for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
                        if (streq(t, "mcp"))
                                has_mcp = true;
        }
        if (!has_mcp) {
                const char *b = "{\"message\":\"Bad Request: request the WebSocket subprotocol 'mcp' "
                                "(Sec-WebSocket-Protocol: mcp)\",\"code\":\"ws.subprotocol_required\"}";
                httpd_write_simple(wsi, 400, "application/json", b, strlen(b), NULL);
                return 1;
        }

        _cleanup_identity_ Identity *id = NULL;
        const char *detail = NULL;
        unsigned retry = 0;
        AuthError e = httpd_authenticate(wsi, h, &peer, h->srv->config->auth_allow_query_token, &id, &detail, &retry);
        if (e != AUTH_OK) {
                _cleanup_json_ json_t *j = json_pack("{s:s,s:s}", "message", auth_error_message(e), "code",
                                                     auth_error_code(e));
                if (j && retry > 0)
                        json_object_set_new(j, "retry_after", json_integer(retry));
                _cleanup_free_ char *b = j ? json_dumps(j, JSON_COMPACT) : NULL;
                httpd_write_simple(wsi, auth_error_http_status(e), "application/json", b ? b : "{}",
                                   b ? strlen(b) : 2, httpd_www_authenticate(wsi, h, e, NULL, www, sizeof www));
                return 1;
        }
        return 0;
}

static int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
        HttpConn *c = user;
        Httpd *h = httpd_from_wsi(wsi);
        int r;

        switch (reason) {
        case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
                if (h)
                        mcp_outbox_dispatch(h->srv, h->outbox);
                return 0;

        case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
                /* Too many connections, or draining: refuse before any parsing. */
                if (!h || h->n_connections >= h->srv->config->server_max_connections ||
                    atomic_load(&h->srv->stopping))
                        return 1;
                return 0;

        case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
                if (h) {
                        h->n_connections++;
                        lws_set_opaque_user_data(wsi, h);
                }
                return 0;

        case LWS_CALLBACK_WSI_DESTROY:
                httpd_connection_destroyed(wsi);
                return 0;

        case LWS_CALLBACK_HTTP_BIND_PROTOCOL:
                /* Slowloris: a new connection has server.header_timeout to deliver
                 * its request headers, however it dribbles them. */
                if (h)
                        lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, h->srv->config->server_header_timeout);
                return 0;

        case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
                return http_confirm_upgrade(wsi, h, in);

        case LWS_CALLBACK_HTTP:
                if (!c || !h)
                        return -1;
                if (!c->wsi) {
                        c->wsi = wsi;
                        c->httpd = h;
                        httpd_peer(wsi, TRANSPORT_HTTP, &c->peer);
                        c->conn = conn_ref_new(c, http_deliver);
                        if (!c->conn)
                                return -1;
                }
                if (c->wstate != HTTP_WRITE_IDLE || c->want_body) {
                        /* A pipelined request arrived before the previous one was
                         * answered. Answer the first, then close: the client retries
                         * the rest on a new connection (RFC 9112 §9.3.2). */
                        c->close_after = true;
                        c->pipelined = true;
                        return 0;
                }
                log_debug("http: request %s", in ? (const char *) in : "?");
                http_reset_request(c);
                c->close_after = false;
                lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
                {
                        char *uri = NULL;
                        int ulen = 0;
                        char cl[32];

                        c->body_pending = lws_http_get_uri_and_method(wsi, &uri, &ulen) == LWSHUMETH_POST &&
                                          ((httpd_header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, cl, sizeof cl) > 0 &&
                                            !streq(cl, "0")) ||
                                           lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0);
                }
                r = http_route(c, in ? (const char *) in : "/");
                return r < 0 ? -1 : 0;

        case LWS_CALLBACK_HTTP_BODY:
                log_debug("http: body %zu bytes (want %d, rejecting %d, pipelined %d)", len, c ? c->want_body : -1,
                          c ? c->rejecting : -1, c ? c->pipelined : -1);
                if (!c || c->pipelined)
                        return 0;
                if (c->rejecting) {
                        c->discarded += len;
                        return c->discarded > http_discard_cap(c) ? -1 : 0;
                }
                if (!c->want_body)
                        return 0;
                if (c->body_len + len > c->httpd->srv->config->server_max_body_bytes) {
                        char msg[160];

                        c->rejecting = c->close_after = true;
                        c->want_body = false;
                        snprintf(msg, sizeof msg,
                                 "Payload Too Large: the request body exceeds %llu bytes (server.max_body_bytes)",
                                 (unsigned long long) c->httpd->srv->config->server_max_body_bytes);
                        return http_reject(c, 413, "http.payload_too_large", msg) < 0 ? -1 : 0;
                }
                if (c->body_len + len + 1 > c->body_cap) {
                        size_t cap = c->body_cap ? c->body_cap : 4096;
                        while (cap < c->body_len + len + 1)
                                cap *= 2;
                        char *b = realloc(c->body, cap);
                        if (!b)
                                return -1;
                        c->body = b;
                        c->body_cap = cap;
                }
                memcpy(c->body + c->body_len, in, len);
                c->body_len += len;
                c->body[c->body_len] = 0;
                return 0;

        case LWS_CALLBACK_HTTP_BODY_COMPLETION:
                if (!c)
                        return 0;
                if (c->body_done) {
                        /* lws 4.1 calls BODY_COMPLETION again only while bytes of a
                         * pipelined next request wait in its buffer, and it would keep
                         * doing so without ever servicing writes. Answer this request
                         * as soon as we can, then close: the client retries the rest on
                         * a new connection (RFC 9112 §9.3.2). */
                        c->pipelined = c->close_after = true;
                        if (c->wstate == HTTP_WRITE_HEADERS || c->wstate == HTTP_WRITE_BODY)
                                return http_send_now(c) < 0 ? -1 : 0;
                        if (c->wstate == HTTP_WRITE_WAITING && !c->rx_paused) {
                                /* A flow-controlled wsi is skipped by lws's pending scan. */
                                lws_rx_flow_control(wsi, 0);
                                c->rx_paused = true;
                                return 0;
                        }
                        return c->wstate == HTTP_WRITE_WAITING ? 0 : -1;
                }
                c->body_done = true;
                c->body_pending = false;
                if (c->wstate == HTTP_WRITE_DEFERRED) {
                        c->wstate = HTTP_WRITE_HEADERS;
                        lws_callback_on_writable(wsi);
                        return 0;
                }
                if (!c->want_body || c->rejecting)
                        return 0;
                c->want_body = false;
                return http_body_complete(c) < 0 ? -1 : 0;

        case LWS_CALLBACK_HTTP_WRITEABLE:
                if (!c)
                        return 0;
                return http_write(c);

        case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        case LWS_CALLBACK_CLOSED_HTTP:
                if (c)
                        http_conn_done(c);
                return 0;

        default:
                return 0;
        }
}

const struct lws_protocols httpd_protocol_http = {
        .name = "http",
        .callback = http_callback,
        .per_session_data_size = sizeof(HttpConn),
        .rx_buffer_size = 0,
};
