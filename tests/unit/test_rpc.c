/* SPDX-License-Identifier: MIT */
/* JSON-RPC framing: every malformed message gets its exact error code. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "server/rpc.h"

typedef struct Case {
        const char *input;
        int expect;             /* 0 = ok, else the error code */
        RpcKind kind;           /* when ok */
        const char *message;    /* substring of the error message */
} Case;

static const Case cases[] = {
        { "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", 0, RPC_REQUEST, NULL },
        { "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"ping\",\"params\":{}}", 0, RPC_REQUEST, NULL },
        { "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", 0, RPC_NOTIFICATION, NULL },
        { "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}", 0, RPC_RESPONSE, NULL },
        { "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":1,\"message\":\"x\"}}", 0, RPC_RESPONSE, NULL },
        { "", RPC_PARSE_ERROR, 0, "Parse error" },
        { "{", RPC_PARSE_ERROR, 0, "Parse error" },
        { "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"} trailing", RPC_PARSE_ERROR, 0, "Parse error" },
        { "{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"method\":\"ping\"}", RPC_PARSE_ERROR, 0, "duplicate" },
        { "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]", RPC_INVALID_REQUEST, 0, "batches" },
        { "[]", RPC_INVALID_REQUEST, 0, "batches" },
        { "42", RPC_INVALID_REQUEST, 0, "JSON object" },
        { "\"x\"", RPC_INVALID_REQUEST, 0, "JSON object" },
        { "{\"id\":1,\"method\":\"ping\"}", RPC_INVALID_REQUEST, 0, "\"jsonrpc\" must be \"2.0\"" },
        { "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}", RPC_INVALID_REQUEST, 0, "\"jsonrpc\" must be" },
        { "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}", RPC_INVALID_REQUEST, 0, "\"id\" must be" },
        { "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}", RPC_INVALID_REQUEST, 0, "\"id\" must be" },
        { "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}", RPC_INVALID_REQUEST, 0, "\"id\" must be" },
        { "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}", RPC_INVALID_REQUEST, 0, "\"method\" must be" },
        { "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\"}", RPC_INVALID_REQUEST, 0, "\"method\" must be" },
        { "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":[1]}", RPC_INVALID_REQUEST, 0, "\"params\"" },
        { "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":3}", RPC_INVALID_REQUEST, 0, "\"params\"" },
        { "{\"jsonrpc\":\"2.0\",\"id\":1}", RPC_INVALID_REQUEST, 0, "missing \"method\"" },
        { "{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"result\":1,\"id\":1}", RPC_INVALID_REQUEST, 0, "cannot carry" },
};

static void test_cases(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const Case *c = &cases[i];
                _cleanup_json_ json_t *err = NULL;
                RpcMessage m = {};
                int r;

                r = rpc_parse(c->input, strlen(c->input), 64, &m, &err);
                if (c->expect == 0) {
                        if (r != 0)
                                fail_msg("case %zu (%s): expected ok, got %d", i, c->input, r);
                        assert_int_equal(m.kind, c->kind);
                        assert_null(err);
                        rpc_message_done(&m);
                        continue;
                }
                if (r != c->expect)
                        fail_msg("case %zu (%s): expected %d, got %d", i, c->input, c->expect, r);
                assert_non_null(err);
                json_t *e = json_object_get(err, "error");
                assert_int_equal(json_integer_value(json_object_get(e, "code")), c->expect);
                const char *msg = json_string_value(json_object_get(e, "message"));
                assert_non_null(msg);
                if (!strstr(msg, c->message))
                        fail_msg("case %zu: message '%s' lacks '%s'", i, msg, c->message);
                assert_string_equal(json_string_value(json_object_get(err, "jsonrpc")), "2.0");
                assert_true(json_object_get(err, "id") != NULL);
        }
}

static void test_error_keeps_valid_id(void **state) {
        const char *in = "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"\"}";
        _cleanup_json_ json_t *err = NULL;
        RpcMessage m = {};

        assert_int_equal(rpc_parse(in, strlen(in), 64, &m, &err), RPC_INVALID_REQUEST);
        assert_int_equal(json_integer_value(json_object_get(err, "id")), 9);
}

static void test_depth(void **state) {
        char buf[512];
        size_t n = 0;

        for (int i = 0; i < 65; i++)
                buf[n++] = '[';
        for (int i = 0; i < 65; i++)
                buf[n++] = ']';
        assert_int_equal(rpc_check_depth(buf, n, 64), -E2BIG);
        assert_int_equal(rpc_check_depth(buf + 1, n - 2, 64), 0);

        /* Brackets inside strings do not count, escaped quotes do not end strings. */
        const char *s = "{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[\"}";
        assert_int_equal(rpc_check_depth(s, strlen(s), 4), 0);

        _cleanup_json_ json_t *err = NULL;
        RpcMessage m = {};
        assert_int_equal(rpc_parse(buf, n, 64, &m, &err), RPC_PARSE_ERROR);
        assert_non_null(strstr(json_string_value(json_object_get(json_object_get(err, "error"), "message")),
                               "deeper than 64"));
}

static void test_builders(void **state) {
        _cleanup_json_ json_t *id = json_integer(3);
        _cleanup_json_ json_t *e = rpc_error_new(id, RPC_FORBIDDEN, "no", json_pack("{s:s}", "code", "x"));
        size_t len = 0;
        _cleanup_free_ char *s = rpc_dump(e, &len);

        assert_string_equal(s, "{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-32003,\"message\":\"no\",\"data\":{\"code\":\"x\"}}}");
        assert_int_equal(len, strlen(s));

        _cleanup_json_ json_t *r = rpc_result_new(id, json_object());
        _cleanup_free_ char *t = rpc_dump(r, NULL);
        assert_string_equal(t, "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cases),
                cmocka_unit_test(test_error_keeps_valid_id),
                cmocka_unit_test(test_depth),
                cmocka_unit_test(test_builders),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
