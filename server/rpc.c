/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "server/rpc.h"

void rpc_message_done(RpcMessage *m) {
        if (!m)
                return;
        json_decref(m->root);
        *m = (RpcMessage) {};
}

int rpc_check_depth(const char *buf, size_t len, int max_depth) {
        bool in_string = false, escaped = false;
        int depth = 0;

        /* A tiny scanner: brackets inside strings do not count. Malformed input
         * is left for the parser to reject; we only bound the nesting. */
        for (size_t i = 0; i < len; i++) {
                char c = buf[i];

                if (in_string) {
                        if (escaped)
                                escaped = false;
                        else if (c == '\\')
                                escaped = true;
                        else if (c == '"')
                                in_string = false;
                        continue;
                }
                if (c == '"')
                        in_string = true;
                else if (c == '[' || c == '{') {
                        if (++depth > max_depth)
                                return -E2BIG;
                } else if (c == ']' || c == '}')
                        depth--;
        }
        return 0;
}

json_t *rpc_error_new(json_t *id, int code, const char *message, json_t *data) {
        json_t *err = json_pack("{s:i,s:s}", "code", code, "message", message);

        if (!err) {
                json_decref(data);
                return NULL;
        }
        if (data && json_object_set_new(err, "data", data) < 0) {
                json_decref(err);
                return NULL;
        }
        return json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(), "error", err);
}

json_t *rpc_result_new(json_t *id, json_t *result) {
        if (!result)
                return NULL;
        return json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id", id, "result", result);
}

json_t *rpc_notification_new(const char *method, json_t *params) {
        if (params)
                return json_pack("{s:s,s:s,s:o}", "jsonrpc", "2.0", "method", method, "params", params);
        return json_pack("{s:s,s:s}", "jsonrpc", "2.0", "method", method);
}

char *rpc_dump(json_t *msg, size_t *ret_len) {
        char *s = json_dumps(msg, JSON_COMPACT | JSON_REAL_PRECISION(15));

        if (s && ret_len)
                *ret_len = strlen(s);
        return s;
}

static bool id_valid(json_t *id) {
        /* MCP: ids are strings or integers, never null. */
        return json_is_string(id) || json_is_integer(id);
}

int rpc_parse(const char *buf, size_t len, int max_depth, RpcMessage *ret, json_t **ret_error) {
        _cleanup_json_ json_t *root = NULL;
        json_error_t jerr;
        char msg[256];

        if (rpc_check_depth(buf, len, max_depth) < 0) {
                snprintf(msg, sizeof msg, "Parse error: JSON nests deeper than %d levels", max_depth);
                *ret_error = rpc_error_new(NULL, RPC_PARSE_ERROR, msg, NULL);
                return RPC_PARSE_ERROR;
        }

        root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
        if (!root) {
                snprintf(msg, sizeof msg, "Parse error: %s (at byte %d)", jerr.text, jerr.position);
                *ret_error = rpc_error_new(NULL, RPC_PARSE_ERROR, msg, NULL);
                return RPC_PARSE_ERROR;
        }

        if (json_is_array(root)) {
                *ret_error = rpc_error_new(NULL, RPC_INVALID_REQUEST,
                                           "Invalid Request: JSON-RPC batches are not supported; "
                                           "send one message per request",
                                           NULL);
                return RPC_INVALID_REQUEST;
        }
        if (!json_is_object(root)) {
                *ret_error = rpc_error_new(NULL, RPC_INVALID_REQUEST,
                                           "Invalid Request: a JSON-RPC message must be a JSON object", NULL);
                return RPC_INVALID_REQUEST;
        }

        json_t *id = json_object_get(root, "id");
        json_t *reply_id = id_valid(id) ? id : NULL;
        json_t *version = json_object_get(root, "jsonrpc");
        if (!json_is_string(version) || !streq(json_string_value(version), "2.0")) {
                *ret_error = rpc_error_new(reply_id, RPC_INVALID_REQUEST,
                                           "Invalid Request: \"jsonrpc\" must be \"2.0\"", NULL);
                return RPC_INVALID_REQUEST;
        }
        if (id && !id_valid(id)) {
                *ret_error = rpc_error_new(NULL, RPC_INVALID_REQUEST,
                                           "Invalid Request: \"id\" must be a string or an integer", NULL);
                return RPC_INVALID_REQUEST;
        }

        json_t *method = json_object_get(root, "method");
        json_t *params = json_object_get(root, "params");
        RpcMessage m = { .id = id };

        if (method) {
                if (!json_is_string(method) || json_string_length(method) == 0) {
                        *ret_error = rpc_error_new(reply_id, RPC_INVALID_REQUEST,
                                                   "Invalid Request: \"method\" must be a non-empty string",
                                                   NULL);
                        return RPC_INVALID_REQUEST;
                }
                if (params && !json_is_object(params)) {
                        *ret_error = rpc_error_new(reply_id, RPC_INVALID_REQUEST,
                                                   "Invalid Request: \"params\" must be an object", NULL);
                        return RPC_INVALID_REQUEST;
                }
                if (json_object_get(root, "result") || json_object_get(root, "error")) {
                        *ret_error = rpc_error_new(reply_id, RPC_INVALID_REQUEST,
                                                   "Invalid Request: a request cannot carry \"result\" or \"error\"",
                                                   NULL);
                        return RPC_INVALID_REQUEST;
                }
                m.kind = id ? RPC_REQUEST : RPC_NOTIFICATION;
                m.method = json_string_value(method);
                m.params = params;
        } else if (id && (json_object_get(root, "result") || json_object_get(root, "error"))) {
                m.kind = RPC_RESPONSE;
        } else {
                *ret_error = rpc_error_new(reply_id, RPC_INVALID_REQUEST,
                                           "Invalid Request: missing \"method\"", NULL);
                return RPC_INVALID_REQUEST;
        }

        m.root = TAKE_PTR(root);
        *ret = m;
        return 0;
}
