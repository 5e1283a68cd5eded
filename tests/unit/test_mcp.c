/* SPDX-License-Identifier: MIT */
/* The MCP core without a transport: lifecycle, tools/list filtering and
 * pagination, the tools/call gates, and replies travelling through the outbox. */

#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "server/mcp.h"

static Config config;
static Server server;
static Outbox *outbox;
static int wake_fd = -1;
static char dir[] = "/tmp/sm-mcp-XXXXXX";
static char audit_path[256];

static void wake(void *userdata) {
        uint64_t one = 1;
        (void) !write(wake_fd, &one, sizeof one);
}

/* Collected by deliver(): the last final reply body. */
static char *delivered;
static int delivered_final;

static void deliver(void *target, OutboxItem *item) {
        McpSession *s = target;

        if (item->final) {
                free(delivered);
                delivered = item->body ? strdup(item->body) : NULL;
                delivered_final++;
        }
        mcp_outbox_item_finish(&server, s, item);
}

static int setup(void **state) {
        char *err = NULL;

        if (tool_registry_init(&err) < 0) {
                fprintf(stderr, "registry: %s\n", err);
                return -1;
        }
        if (!mkdtemp(dir))
                return -1;
        snprintf(audit_path, sizeof audit_path, "%s/audit.log", dir);
        if (config_init_defaults(&config) < 0)
                return -1;
        server.config = &config;
        if (audit_open(audit_path, &server.audit) < 0)
                return -1;
        if (worker_pool_new(2, 64, &server.pool) < 0)
                return -1;
        wake_fd = eventfd(0, EFD_CLOEXEC);
        return outbox_new(wake, NULL, &outbox);
}

static int teardown(void **state) {
        server.pool = worker_pool_free(server.pool);
        mcp_outbox_dispatch(&server, outbox);
        outbox = outbox_free(outbox);
        server.audit = audit_close(server.audit);
        config_done(&config);
        close(wake_fd);
        unlink(audit_path);
        rmdir(dir);
        free(delivered);
        return 0;
}

static Identity *make_identity(ScopeSet scopes) {
        Identity *id = identity_new();

        assert_non_null(id);
        id->subject = strdup("unit-test");
        id->method = AUTH_METHOD_HMAC;
        id->scopes = scopes;
        return id;
}

typedef struct Harness {
        ConnRef *conn;
        McpSession *session;
} Harness;

static void harness_new(Harness *h, bool stateful, ScopeSet scopes) {
        _cleanup_identity_ Identity *id = make_identity(scopes);

        h->conn = conn_ref_new(NULL, deliver);
        assert_non_null(h->conn);
        assert_int_equal(mcp_session_new(&server, stateful ? TRANSPORT_WEBSOCKET : TRANSPORT_HTTP, stateful, h->conn,
                                         outbox, &h->session),
                         0);
        h->conn->target = h->session;
        mcp_session_set_identity(h->session, id);
}

static void harness_free(Harness *h) {
        h->conn->target = NULL;
        h->session = mcp_session_free(h->session);
        h->conn = conn_ref_unref(h->conn);
}

/* Sends one message; returns the reply JSON (waiting for async replies). */
static json_t *call(Harness *h, const char *msg, int *ret_kind, int *ret_status) {
        McpReply r = {};
        int q = mcp_session_handle(h->session, msg, strlen(msg), &r);

        assert_true(q >= 0);
        if (ret_kind)
                *ret_kind = q;
        if (ret_status)
                *ret_status = r.http_status;
        if (q == MCP_REPLY_NONE) {
                mcp_reply_done(&r);
                return NULL;
        }
        if (q == MCP_REPLY_LATER) {
                int before = delivered_final;
                for (int i = 0; i < 500 && delivered_final == before; i++) {
                        struct pollfd p = { .fd = wake_fd, .events = POLLIN };
                        uint64_t v;
                        if (poll(&p, 1, 20) > 0)
                                (void) !read(wake_fd, &v, sizeof v);
                        mcp_outbox_dispatch(&server, outbox);
                }
                assert_int_equal(delivered_final, before + 1);
                assert_int_equal(mcp_session_inflight(h->session), 0);
                json_error_t e;
                return json_loads(delivered, 0, &e);
        }
        json_error_t e;
        json_t *j = json_loadb(r.body, r.body_len, 0, &e);
        mcp_reply_done(&r);
        assert_non_null(j);
        return j;
}

static json_int_t error_code(json_t *reply) {
        return json_integer_value(json_object_get(json_object_get(reply, "error"), "code"));
}

#define INIT "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"%s\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}"

static void test_lifecycle(void **state) {
        Harness h;
        char msg[512];
        int status;

        harness_new(&h, true, SCOPESET_ALL);

        /* Initialize must come first on a stateful session (ping is allowed). */
        _cleanup_json_ json_t *early = call(&h, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}", NULL, NULL);
        assert_int_equal(error_code(early), -32600);
        _cleanup_json_ json_t *ping = call(&h, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}", NULL, NULL);
        assert_true(json_is_object(json_object_get(ping, "result")));

        snprintf(msg, sizeof msg, INIT, "2025-11-25");
        _cleanup_json_ json_t *init = call(&h, msg, NULL, &status);
        json_t *res = json_object_get(init, "result");
        assert_string_equal(json_string_value(json_object_get(res, "protocolVersion")), "2025-11-25");
        assert_string_equal(json_string_value(json_object_get(json_object_get(res, "serverInfo"), "name")),
                            "systemmanager");
        assert_true(json_is_true(json_object_get(json_object_get(json_object_get(res, "capabilities"), "tools"),
                                                 "listChanged")));

        _cleanup_json_ json_t *again = call(&h, msg, NULL, NULL);
        assert_int_equal(error_code(again), -32600);

        int kind;
        _cleanup_json_ json_t *n = call(&h, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", &kind,
                                        NULL);
        assert_null(n);
        assert_int_equal(kind, MCP_REPLY_NONE);

        _cleanup_json_ json_t *unknown = call(&h, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/list\"}",
                                              NULL, NULL);
        assert_int_equal(error_code(unknown), -32601);
        harness_free(&h);
}

static void test_version_negotiation(void **state) {
        Harness h;
        char msg[512];

        harness_new(&h, false, SCOPESET_ALL);
        snprintf(msg, sizeof msg, INIT, "2025-06-18");
        _cleanup_json_ json_t *old = call(&h, msg, NULL, NULL);
        assert_string_equal(json_string_value(json_object_get(json_object_get(old, "result"), "protocolVersion")),
                            "2025-06-18");
        snprintf(msg, sizeof msg, INIT, "1999-01-01");
        _cleanup_json_ json_t *future = call(&h, msg, NULL, NULL);
        assert_string_equal(json_string_value(json_object_get(json_object_get(future, "result"), "protocolVersion")),
                            MCP_PROTOCOL_LATEST);
        _cleanup_json_ json_t *bad = call(&h, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}",
                                          NULL, NULL);
        assert_int_equal(error_code(bad), -32602);
        harness_free(&h);
}

static size_t count_listed(Harness *h, size_t page, char **ret_names) {
        char msg[256], names[2048] = "";
        const char *cursor = NULL;
        _cleanup_json_ json_t *last = NULL;
        size_t total = 0;

        mcp_set_page_size(page);
        for (int guard = 0; guard < 100; guard++) {
                if (cursor)
                        snprintf(msg, sizeof msg,
                                 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{\"cursor\":\"%s\"}}",
                                 cursor);
                else
                        snprintf(msg, sizeof msg, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
                json_t *r = call(h, msg, NULL, NULL);
                json_t *tools = json_object_get(json_object_get(r, "result"), "tools");
                assert_true(json_is_array(tools));
                assert_true(json_array_size(tools) <= page);
                size_t i;
                json_t *t;
                json_array_foreach(tools, i, t) {
                        strncat(names, json_string_value(json_object_get(t, "name")), sizeof names - strlen(names) - 2);
                        strncat(names, " ", sizeof names - strlen(names) - 1);
                        assert_false(json_is_true(json_object_get(json_object_get(t, "inputSchema"),
                                                                  "additionalProperties")));
                        total++;
                }
                json_decref(last);
                last = r;
                json_t *next = json_object_get(json_object_get(r, "result"), "nextCursor");
                if (!next)
                        break;
                cursor = json_string_value(next);
        }
        mcp_set_page_size(50);
        if (ret_names)
                *ret_names = strdup(names);
        return total;
}

static void test_tools_list_filters_and_paginates(void **state) {
        Harness all, none;
        _cleanup_free_ char *names = NULL;

        harness_new(&all, false, SCOPESET_ALL);
        size_t n = count_listed(&all, 50, &names);
        assert_int_equal(n, tool_count());
        assert_non_null(strstr(names, "get_system_status"));
        /* One tool per page still lists every tool once. */
        assert_int_equal(count_listed(&all, 1, NULL), n);

        harness_new(&none, false, SCOPE_BIT(SCOPE_NETWORK_READ));
        _cleanup_free_ char *none_names = NULL;
        count_listed(&none, 50, &none_names);
        assert_null(strstr(none_names, "get_system_status"));

        _cleanup_json_ json_t *bad = call(&all, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{\"cursor\":\"zzz\"}}",
                                          NULL, NULL);
        assert_int_equal(error_code(bad), -32602);
        harness_free(&all);
        harness_free(&none);
}

static void test_tools_call_gates(void **state) {
        Harness h, weak;
        int status, kind;

        harness_new(&h, false, SCOPE_BIT(SCOPE_SYSTEM_READ));
        harness_new(&weak, false, SCOPE_BIT(SCOPE_NETWORK_READ));

        _cleanup_json_ json_t *unknown = call(&h, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"nope\"}}",
                                              NULL, NULL);
        assert_int_equal(error_code(unknown), -32602);

        _cleanup_json_ json_t *noname = call(&h, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{}}",
                                             NULL, NULL);
        assert_int_equal(error_code(noname), -32602);

        _cleanup_json_ json_t *forbidden = call(&weak, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"get_system_status\"}}",
                                                NULL, &status);
        assert_int_equal(error_code(forbidden), -32003);
        assert_int_equal(status, 403);
        json_t *data = json_object_get(json_object_get(forbidden, "error"), "data");
        assert_string_equal(json_string_value(json_object_get(data, "code")), "auth.insufficient_scope");
        assert_string_equal(json_string_value(json_array_get(json_object_get(data, "required_scopes"), 0)),
                            "system:read");

        _cleanup_json_ json_t *badargs = call(&h, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"get_top_processes\",\"arguments\":{\"limit\":0}}}",
                                              NULL, NULL);
        json_t *res = json_object_get(badargs, "result");
        assert_true(json_is_true(json_object_get(res, "isError")));
        const char *text = json_string_value(json_object_get(json_array_get(json_object_get(res, "content"), 0), "text"));
        assert_non_null(strstr(text, "limit"));

        _cleanup_json_ json_t *ok = call(&h, "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"tools/call\",\"params\":{\"name\":\"get_top_processes\",\"arguments\":{\"limit\":3,\"sort_by\":\"memory\"}}}",
                                         &kind, NULL);
        assert_int_equal(kind, MCP_REPLY_LATER);
        assert_string_equal(json_string_value(json_object_get(ok, "id")), "x");
        res = json_object_get(ok, "result");
        assert_false(json_is_true(json_object_get(res, "isError")));
        assert_true(json_array_size(json_object_get(json_object_get(res, "structuredContent"), "processes")) <= 3);

        harness_free(&h);
        harness_free(&weak);
}

static void test_audit_records_decisions(void **state) {
        FILE *f = fopen(audit_path, "re");
        char line[16384];
        int calls = 0, results = 0, denied = 0;

        assert_non_null(f);
        while (fgets(line, sizeof line, f)) {
                if (strstr(line, "\"event\":\"tool.call\""))
                        calls++;
                if (strstr(line, "\"event\":\"tool.result\""))
                        results++;
                if (strstr(line, "\"decision\":\"denied\""))
                        denied++;
        }
        fclose(f);
        assert_true(calls >= 3);
        assert_true(results >= 1);
        assert_true(denied >= 2);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lifecycle),
                cmocka_unit_test(test_version_negotiation),
                cmocka_unit_test(test_tools_list_filters_and_paginates),
                cmocka_unit_test(test_tools_call_gates),
                cmocka_unit_test(test_audit_records_decisions),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
