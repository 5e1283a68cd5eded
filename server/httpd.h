/* SPDX-License-Identifier: MIT */
#pragma once

/* The libwebsockets front: one context, a TCP vhost (and optionally a unix
 * socket vhost) serving HTTP (server/http.c) and WebSocket (server/ws.c). */

#include <stdbool.h>

#include "server/mcp.h"
#include "server/server.h"
#include "server/worker.h"

struct lws;
struct lws_context;

typedef struct Httpd {
        Server *srv;
        struct lws_context *ctx;
        Outbox *outbox;
        int n_connections;              /* accepted, not yet destroyed */
        char *listen_desc;              /* "127.0.0.1:8080" for messages */
        bool loopback_only;             /* every listener is loopback/unix: enforce loopback Host */
} Httpd;

/* Creates the context and listeners. Logs and returns a negative errno. */
int httpd_new(Server *srv, Httpd **ret);
Httpd *httpd_free(Httpd *h);

/* Runs the loop until *stop (set from the signal thread) and the drain of
 * in-flight calls ends or times out. Returns 0. */
int httpd_run(Httpd *h);

/* Wakes the loop from any thread. */
void httpd_wake(Httpd *h);

/* Shared by http.c and ws.c -------------------------------------------- */

extern const struct lws_protocols httpd_protocol_http;
extern const struct lws_protocols httpd_protocol_mcp;

Httpd *httpd_from_wsi(struct lws *wsi);
void httpd_peer(struct lws *wsi, Transport t, Peer *ret);
/* Marks an accepted connection counted; returns its mark for WSI_DESTROY. */
void httpd_connection_destroyed(struct lws *wsi);

/* Copies header `idx` (an lws_token_indexes) into buf; returns the length or
 * -1 when absent or too long. */
int httpd_header(struct lws *wsi, int idx, char *buf, size_t size);
/* Same for a custom header name, lower-case with trailing colon ("mcp-protocol-version:"). */
int httpd_header_custom(struct lws *wsi, const char *name, char *buf, size_t size);

/* Checks Origin and Host (DNS-rebinding protection). Returns 0 when allowed,
 * else -EPERM with a message in buf. */
int httpd_check_origin(struct lws *wsi, Httpd *h, char *msg, size_t msgsize);

/* Authenticates the request's Authorization header (or the ?token= /
 * ?access_token= argument when allowed and `allow_query`), auditing
 * failures. Returns the AuthError; on AUTH_OK *ret is a new reference. */
AuthError httpd_authenticate(struct lws *wsi, Httpd *h, const Peer *peer, bool allow_query, Identity **ret,
                             const char **ret_detail, unsigned *ret_retry_after);

/* Writes a complete small response (headers + body) immediately; used on
 * handshake rejection where lws expects us to answer in the callback. */
int httpd_write_simple(struct lws *wsi, int status, const char *content_type, const char *body, size_t len,
                       const char *www_authenticate);

/* The WWW-Authenticate value for an auth error. Static or into buf. */
const char *httpd_www_authenticate(struct lws *wsi, Httpd *h, AuthError e, const char *scopes, char *buf,
                                   size_t size);
