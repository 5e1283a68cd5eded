/* SPDX-License-Identifier: MIT */
#pragma once

/* The MCP core every transport reaches: lifecycle, methods and the single
 * tools/call gate path (tool exists → session ready → scope → arguments →
 * approval → audit(decision) → run on a worker → audit(result) → reply).
 * Transports hand in message bytes and get reply bytes back; they never know
 * individual tools. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scopes/auth.h"
#include "server/server.h"
#include "server/worker.h"

#define MCP_PROTOCOL_LATEST "2025-11-25"

typedef enum Transport {
        TRANSPORT_HTTP,
        TRANSPORT_WEBSOCKET,
        TRANSPORT_STDIO,
        TRANSPORT_REST,
        _TRANSPORT_MAX,
} Transport;

const char *transport_to_string(Transport t);

typedef struct Peer {
        char ip[64];
        int port;
        Transport transport;
} Peer;

/* True when `version` is a protocol revision we speak. */
bool mcp_protocol_version_supported(const char *version);
/* "2025-11-25, 2025-06-18, ..." for messages. Static storage. */
const char *mcp_protocol_versions_list(void);

typedef struct McpReply {
        int http_status;        /* 200, or 202 with no body, or 4xx */
        char *body;             /* JSON text, owned; NULL = nothing to send */
        size_t body_len;
        AuthError auth_error;   /* AUTH_OK, or why (for WWW-Authenticate) */
        char *missing_scopes;   /* "a b" for WWW-Authenticate scope=, owned, may be NULL */
        unsigned retry_after;   /* seconds, for Retry-After on 429; 0 = none */
        int outcome;            /* 1 + CallOutcome when a tool call was refused, else 0 (metrics) */
} McpReply;

void mcp_reply_done(McpReply *r);

/* Builds a JSON-RPC error reply (id borrowed, data stolen). Returns 0 or -ENOMEM. */
int mcp_reply_error(McpReply *r, int http_status, json_t *id, int code, const char *message, json_t *data);

enum {
        MCP_REPLY_NONE,         /* nothing to send (notification / response); HTTP answers 202 */
        MCP_REPLY_NOW,          /* *ret holds the reply */
        MCP_REPLY_LATER,        /* a tool job runs; its reply arrives through the session's outbox */
};

typedef struct McpSession McpSession;

/* Creates a session. `stateful` sessions (WebSocket, stdio) follow the
 * lifecycle (initialize first) and track in-flight calls; stateless ones
 * (HTTP POST) accept each message on its own. Replies of asynchronous calls
 * are pushed to `outbox` tagged with `conn` (a reference is taken). */
int mcp_session_new(Server *srv, Transport t, bool stateful, ConnRef *conn, Outbox *outbox,
                    McpSession **ret);
/* Cancels the session's in-flight calls (their replies are dropped) and frees. */
McpSession *mcp_session_free(McpSession *s);

/* The client can no longer answer (stdin closed): pending elicitations are
 * cancelled so their workers stop waiting. Loop thread only. */
void mcp_session_abort_elicitations(McpSession *s);

/* Replaces the caller identity (a new reference is taken; NULL clears). */
void mcp_session_set_identity(McpSession *s, Identity *id);
Identity *mcp_session_get_identity(McpSession *s);
void mcp_session_set_peer(McpSession *s, const Peer *p);
size_t mcp_session_inflight(McpSession *s);

/* Handles one message. Returns MCP_REPLY_* (>= 0) or a negative errno on
 * OOM. Must be called on the transport's own thread. */
int mcp_session_handle(McpSession *s, const char *buf, size_t len, McpReply *ret);

/* POST /tool/{name}: the body is the tool's arguments object (an
 * "auto_approve" member is taken out, see SPEC §7). Same gates, scopes,
 * approvals and audit as tools/call; the reply (now or through the outbox)
 * is {"ok":bool,"result":...,"error":...} with a meaningful HTTP status:
 * 200, 400 bad body, 403 scope, 404 unknown tool, 409 approval required,
 * 422 invalid arguments, 429/503 busy, 500 tool failure. */
int mcp_session_rest_call(McpSession *s, const char *tool_name, const char *buf, size_t len, McpReply *ret);

/* GET /approvals (approval_id NULL), GET /approvals/{id} (action NULL), POST
 * /approvals/{id}/approve|deny with an optional {"reason":...} body (required
 * for deny). Needs approvals:write; the requester can never decide. Decisions
 * are audited (approval.approved / approval.denied, fdatasync'ed). */
int mcp_approvals_request(Server *srv, Identity *id, const Peer *peer, const char *approval_id, const char *action,
                          const char *body, size_t len, McpReply *ret);

/* POST /tokens/revoke {"jti"|"agent"|"token", "reason"}: needs
 * admin:tokens:write; persisted, effective at once, audited (token.revoked). */
int mcp_tokens_revoke(Server *srv, Identity *id, const Peer *peer, const char *body, size_t len, McpReply *ret);

/* GET /audience-tokens/audiences (mint false) and POST
 * /audience-tokens/tokens {audience, ttl_seconds, single_use}: an HMAC token
 * for the caller's subject, good only for one tool ("tool:<name>") for
 * 30–600 s, optionally single-use. Audited as token.issued. */
int mcp_audience_tokens(Server *srv, Identity *id, const Peer *peer, bool mint, const char *body, size_t len,
                        McpReply *ret);

/* GET /tokens (admin:tokens:read; token_id, action and body NULL), POST
 * /tokens {"id","scopes","expires_in"}, POST /tokens/{id}/rotate
 * {"overlap","expires_in"}, POST /tokens/{id}/revoke {"reason"}
 * (admin:tokens:write). Service-token secrets appear only in create/rotate
 * answers. Audited (token.created / token.rotated / token.revoked). */
int mcp_service_tokens(Server *srv, Identity *id, const Peer *peer, const char *token_id, const char *action,
                       const char *body, size_t len, McpReply *ret);

/* POST /audience-tokens/revoke {"token": ...} (the caller's own step-up
 * token) or {"token_id": ...} (admin:tokens:write, or the caller's own
 * unused single-use token). */
int mcp_audience_revoke(Server *srv, Identity *id, const Peer *peer, const char *body, size_t len, McpReply *ret);

/* Accounts for an outbox item taken by a transport once it has been sent or
 * dropped: frees the item, and for final items ends the job (s may be NULL
 * when the session is gone). Call on the transport's thread. */
void mcp_outbox_item_finish(Server *srv, McpSession *s, OutboxItem *item);

/* Drains an outbox on its transport's thread: live targets get their items
 * through ConnRef.deliver; items of closed connections are finished. */
void mcp_outbox_dispatch(Server *srv, Outbox *o);

/* Records an authentication failure in the audit log. `token` (may be NULL)
 * is only fingerprinted, never written. */
void mcp_audit_auth_failure(Server *srv, const Peer *peer, AuthError e, const char *detail,
                            const char *token, size_t token_len);

/* Builds the JSON-RPC error (-32001 / -32003 / -32029) and HTTP status for an
 * authentication failure. */
int mcp_reply_auth_error(McpReply *r, json_t *id, AuthError e, const char *detail, unsigned retry_after);

/* Overrides the tools/list page size (tests). */
void mcp_set_page_size(size_t n);
