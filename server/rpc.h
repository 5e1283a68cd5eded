/* SPDX-License-Identifier: MIT */
#pragma once

/* JSON-RPC 2.0 framing: strict parsing of one message, error/result
 * construction. No MCP semantics and no transport knowledge here. */

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

enum {
        RPC_PARSE_ERROR = -32700,
        RPC_INVALID_REQUEST = -32600,
        RPC_METHOD_NOT_FOUND = -32601,
        RPC_INVALID_PARAMS = -32602,
        RPC_INTERNAL_ERROR = -32603,
        RPC_SERVER_BUSY = -32000,
        RPC_UNAUTHENTICATED = -32001,
        RPC_FORBIDDEN = -32003,
        RPC_APPROVAL_REQUIRED = -32004,
        RPC_RATE_LIMITED = -32029,
};

typedef enum RpcKind {
        RPC_REQUEST,            /* method + id */
        RPC_NOTIFICATION,       /* method, no id */
        RPC_RESPONSE,           /* result or error + id: a client answering us */
} RpcKind;

typedef struct RpcMessage {
        json_t *root;           /* owned */
        RpcKind kind;
        json_t *id;             /* borrowed from root; NULL for notifications */
        const char *method;     /* borrowed from root */
        json_t *params;         /* borrowed; NULL when absent */
} RpcMessage;

void rpc_message_done(RpcMessage *m);

/* Returns 0 when no array/object in buf nests deeper than max_depth, -E2BIG
 * otherwise. Runs before the JSON parser so deep input never reaches it. */
int rpc_check_depth(const char *buf, size_t len, int max_depth);

/* Parses and validates one JSON-RPC message. On failure returns a negative
 * code (RPC_PARSE_ERROR / RPC_INVALID_REQUEST) and *ret_error is a complete
 * JSON-RPC error response (owned) naming what is wrong; *ret untouched. */
int rpc_parse(const char *buf, size_t len, int max_depth, RpcMessage *ret, json_t **ret_error);

/* New error response; `id` borrowed (NULL → null), `data` stolen (may be NULL). */
json_t *rpc_error_new(json_t *id, int code, const char *message, json_t *data);
/* New result response; `id` borrowed, `result` stolen. */
json_t *rpc_result_new(json_t *id, json_t *result);
/* New notification; `params` stolen (may be NULL). */
json_t *rpc_notification_new(const char *method, json_t *params);

/* Compact serialization; malloc'd, *ret_len set. NULL on OOM. */
char *rpc_dump(json_t *msg, size_t *ret_len);
