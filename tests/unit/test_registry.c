/* SPDX-License-Identifier: MIT */

/* tools/registry.c: the catalogue, its self-test, tools/list entries,
 * argument validation and tool_run(). */

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "tools/tool.h"

static int setup(void **state) {
        _cleanup_free_ char *err = NULL;

        if (tool_registry_init(&err) < 0) {
                fprintf(stderr, "tool_registry_init: %s\n", err ? err : "?");
                return -1;
        }
        return 0;
}

static void test_init_idempotent(void **state) {
        char *err = NULL;

        assert_int_equal(tool_registry_init(&err), 0);
        assert_null(err);
        assert_int_equal(tool_registry_init(NULL), 0);
}

static const char *const expected_tools[] = {
        "get_system_status",
        "get_top_processes",
        "get_network_status",
        "get_network_io_counters",
        "get_active_connections",
        "ping_host",
        "dns_lookup",
        "test_port_connectivity",
        "traceroute",
        "check_ssl_certificate",
        "http_request_test",
        "file_operations",
        "get_container_list",
        "list_docker_images",
        "get_docker_networks",
        "get_container_logs",
        "manage_container",
        "pull_docker_image",
        "update_docker_container",
        "check_system_updates",
        "list_installed_packages",
        "install_package",
        "update_system_packages",
};

static void test_catalogue(void **state) {
        assert_int_equal(tool_count(), ELEMENTSOF(expected_tools));
        for (size_t i = 0; i < ELEMENTSOF(expected_tools); i++) {
                const Tool *t = tool_at(i);

                assert_non_null(t);
                assert_string_equal(t->name, expected_tools[i]);
                assert_ptr_equal(tool_find(expected_tools[i]), t);
                assert_non_null(tool_input_schema(t));
                assert_non_null(tool_output_schema(t));
        }
        assert_null(tool_at(tool_count()));
        assert_null(tool_at(SIZE_MAX));
}

static void test_find_unknown(void **state) {
        static const char *const unknown[] = {
                "", "get_system_statu", "get_system_status ", "GET_SYSTEM_STATUS", "tools/list", "x",
        };

        for (size_t i = 0; i < ELEMENTSOF(unknown); i++)
                assert_null(tool_find(unknown[i]));
        assert_null(tool_find(NULL));
}

static void test_risk_names(void **state) {
        assert_string_equal(risk_to_string(RISK_LOW), "low");
        assert_string_equal(risk_to_string(RISK_MODERATE), "moderate");
        assert_string_equal(risk_to_string(RISK_HIGH), "high");
        assert_string_equal(risk_to_string(RISK_CRITICAL), "critical");
        assert_null(risk_to_string(_RISK_MAX));
        assert_null(risk_to_string((Risk) -1));
}

static void assert_bool_member(json_t *o, const char *key, bool expected) {
        json_t *v = json_object_get(o, key);

        if (!json_is_boolean(v))
                fail_msg("annotation %s missing or not a boolean", key);
        if (json_is_true(v) != expected)
                fail_msg("annotation %s is %s, expected %s", key, json_is_true(v) ? "true" : "false",
                         expected ? "true" : "false");
}

static void test_describe_every_row(void **state) {
        for (size_t i = 0; i < tool_count(); i++) {
                const Tool *t = tool_at(i);
                _cleanup_json_ json_t *d = tool_describe(t);
                json_t *in, *out, *ann;
                char err[512];

                assert_non_null(d);
                assert_string_equal(json_string_value(json_object_get(d, "name")), t->name);
                assert_true(json_is_string(json_object_get(d, "title")));
                assert_true(json_string_length(json_object_get(d, "title")) > 0);
                assert_string_equal(json_string_value(json_object_get(d, "description")), t->description);

                in = json_object_get(d, "inputSchema");
                out = json_object_get(d, "outputSchema");
                assert_true(json_is_object(in));
                assert_true(json_is_object(out));
                assert_string_equal(json_string_value(json_object_get(in, "type")), "object");
                assert_true(json_is_false(json_object_get(in, "additionalProperties")));
                assert_string_equal(json_string_value(json_object_get(out, "type")), "object");
                assert_int_equal(schema_check(in, err, sizeof err), 0);
                assert_int_equal(schema_check(out, err, sizeof err), 0);
                /* A copy, not the registry's own schema. */
                assert_ptr_not_equal(in, tool_input_schema(t));
                assert_true(json_equal(in, tool_input_schema(t)));

                ann = json_object_get(d, "annotations");
                assert_true(json_is_object(ann));
                assert_int_equal(json_object_size(ann), 5);
                assert_string_equal(json_string_value(json_object_get(ann, "title")),
                                    json_string_value(json_object_get(d, "title")));
                assert_true(json_is_boolean(json_object_get(ann, "readOnlyHint")));
                assert_true(json_is_boolean(json_object_get(ann, "destructiveHint")));
                assert_true(json_is_boolean(json_object_get(ann, "idempotentHint")));
                assert_true(json_is_boolean(json_object_get(ann, "openWorldHint")));
                assert_int_equal(json_object_size(d), 6);
        }
}

static void test_system_annotations(void **state) {
        static const char *const names[] = { "get_system_status", "get_top_processes" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                const Tool *t = tool_find(names[i]);
                _cleanup_json_ json_t *d = tool_describe(t);
                json_t *ann = json_object_get(d, "annotations");

                assert_non_null(t);
                assert_int_equal(t->scope, SCOPE_SYSTEM_READ);
                assert_int_equal(t->risk, RISK_LOW);
                assert_bool_member(ann, "readOnlyHint", true);
                assert_bool_member(ann, "destructiveHint", false);
                assert_bool_member(ann, "idempotentHint", true);
                assert_bool_member(ann, "openWorldHint", false);
        }
}

static void test_describe_unknown(void **state) {
        static const Tool stray = { .name = "stray" };

        assert_null(tool_describe(NULL));
        assert_null(tool_describe(&stray));
        assert_null(tool_input_schema(&stray));
        assert_null(tool_output_schema(NULL));
}

typedef struct ArgsCase {
        const char *tool;
        const char *args;       /* NULL: absent */
        const char *error;      /* NULL: valid */
} ArgsCase;

static const ArgsCase args_cases[] = {
        { "get_top_processes", NULL, NULL },
        { "get_top_processes", "{}", NULL },
        { "get_top_processes", "{\"limit\":3,\"sort_by\":\"memory\"}", NULL },
        { "get_top_processes", "{\"limit\":1}", NULL },
        { "get_top_processes", "{\"limit\":200,\"sort_by\":\"cpu\"}", NULL },
        { "get_top_processes", "{\"limit\":0}", "argument 'limit': must be an integer between 1 and 200 (got 0)" },
        { "get_top_processes", "{\"limit\":201}", "argument 'limit': must be an integer between 1 and 200 (got 201)" },
        { "get_top_processes", "{\"limit\":\"5\"}",
          "argument 'limit': must be an integer between 1 and 200 (got string \"5\")" },
        { "get_top_processes", "{\"limit\":5.0}",
          "argument 'limit': must be an integer between 1 and 200 (got number 5.0)" },
        { "get_top_processes", "{\"limit\":null}", "argument 'limit': must be an integer between 1 and 200 (got null)" },
        { "get_top_processes", "{\"sort_by\":\"disk\"}",
          "argument 'sort_by': must be one of \"cpu\", \"memory\" (got \"disk\")" },
        { "get_top_processes", "{\"sort_by\":1}",
          "argument 'sort_by': must be one of \"cpu\", \"memory\" (got number 1)" },
        { "get_top_processes", "{\"foo\":1}", "unknown argument 'foo' (allowed: limit, sort_by)" },
        { "get_top_processes", "{\"limit\":3,\"sortby\":\"cpu\"}", "unknown argument 'sortby' (allowed: limit, sort_by)" },
        { "get_top_processes", "[]", "arguments: must be an object (got an array)" },
        { "get_system_status", NULL, NULL },
        { "get_system_status", "{}", NULL },
        { "get_system_status", "{\"verbose\":true}", "unknown argument 'verbose' (this tool takes no arguments)" },
};

static void test_validate_args(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(args_cases); i++) {
                const ArgsCase *c = &args_cases[i];
                const Tool *t = tool_find(c->tool);
                _cleanup_json_ json_t *args = NULL;
                char err[512] = "";
                int r;

                assert_non_null(t);
                if (c->args) {
                        args = json_loads(c->args, JSON_DECODE_ANY, NULL);
                        assert_non_null(args);
                }
                r = tool_validate_args(t, args, err, sizeof err);
                if (!c->error) {
                        if (r != 0)
                                fail_msg("case %zu: expected valid, got \"%s\"", i, err);
                        continue;
                }
                if (r != -EINVAL || strcmp(err, c->error) != 0)
                        fail_msg("case %zu (%s):\n  expected: %s\n  got:      %d %s", i, c->args, c->error, r, err);
        }
}

static void test_validate_args_unknown_tool(void **state) {
        static const Tool stray = { .name = "stray" };
        char err[64];

        assert_int_equal(tool_validate_args(&stray, NULL, err, sizeof err), -EINVAL);
        assert_string_equal(err, "unknown tool");
        assert_int_equal(tool_validate_args(NULL, NULL, NULL, 0), -EINVAL);
}

/* Row rules, through tool_table_check(). */

static int handler_ok(ToolCall *call) {
        call->result = json_pack("{s:i}", "n", 1);
        return call->result ? 0 : -ENOMEM;
}

#define IN_EMPTY "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{}}"
#define OUT_N "{\"type\":\"object\",\"required\":[\"n\"],\"properties\":{\"n\":{\"type\":\"integer\"}}}"
#define ROW(...)                                                                                              \
        {                                                                                                     \
                .name = "good_tool", .description = "d", .scope = SCOPE_SYSTEM_READ, .risk = RISK_LOW,        \
                .input_schema = IN_EMPTY, .output_schema = OUT_N, .handler = handler_ok, __VA_ARGS__          \
        }

/* Each case overrides one field of a good row: overriding is the point. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"

typedef struct RowCase {
        Tool rows[3];
        const char *error;      /* NULL: accepted; a trailing '*' compares a prefix (jansson's wording) */
} RowCase;

static const RowCase row_cases[] = {
        { { ROW(), {} }, NULL },
        { { ROW(.name = "a"), ROW(.name = "b_2"), {} }, NULL },
        { { ROW(.name = "a234567890123456789012345678901234567890123456789012345678901234"), {} }, NULL },
        { { ROW(.flags = TOOL_OPEN_WORLD | TOOL_IDEMPOTENT | TOOL_LONG_RUNNING | TOOL_UNTRUSTED_OUTPUT), {} }, NULL },
        { { ROW(.name = "Bad"), {} }, "tool at row 0 of the test family: name must match ^[a-z][a-z0-9_]{0,63}$" },
        { { ROW(.name = "1abc"), {} }, "tool at row 0 of the test family: name must match ^[a-z][a-z0-9_]{0,63}$" },
        { { ROW(.name = "has-dash"), {} },
          "tool at row 0 of the test family: name must match ^[a-z][a-z0-9_]{0,63}$" },
        { { ROW(.name = "a2345678901234567890123456789012345678901234567890123456789012345"), {} },
          "tool at row 0 of the test family: name must match ^[a-z][a-z0-9_]{0,63}$" },
        { { ROW(.name = NULL), {} }, "tool at row 0 of the test family: name must match ^[a-z][a-z0-9_]{0,63}$" },
        { { ROW(), ROW(), {} }, "tool 'good_tool' (test family, row 1): name is used by another tool" },
        { { ROW(.description = ""), {} }, "tool 'good_tool' (test family, row 0): description is missing" },
        { { ROW(.description = NULL), {} }, "tool 'good_tool' (test family, row 0): description is missing" },
        { { ROW(.title = ""), {} },
          "tool 'good_tool' (test family, row 0): title is empty (leave it unset to derive one from the name)" },
        { { ROW(.scope = _SCOPE_MAX), {} }, "tool 'good_tool' (test family, row 0): scope 16 is not a valid scope" },
        { { ROW(.scope = _SCOPE_INVALID), {} },
          "tool 'good_tool' (test family, row 0): scope -22 is not a valid scope" },
        { { ROW(.risk = _RISK_MAX), {} }, "tool 'good_tool' (test family, row 0): risk 4 is not a valid risk" },
        { { ROW(.flags = 1u << 7), {} }, "tool 'good_tool' (test family, row 0): unknown flags 0x80" },
        { { ROW(.handler = NULL), {} }, "tool 'good_tool' (test family, row 0): handler is missing" },
        { { ROW(.input_schema = NULL), {} }, "tool 'good_tool' (test family, row 0): input schema is missing" },
        { { ROW(.output_schema = NULL), {} }, "tool 'good_tool' (test family, row 0): output schema is missing" },
        { { ROW(.input_schema = "{\"type\":\"object\","), {} },
          "tool 'good_tool' (test family, row 0): input schema is not valid JSON: *" },
        { { ROW(.input_schema = "{\"type\":\"object\",\"type\":\"object\"}"), {} },
          "tool 'good_tool' (test family, row 0): input schema is not valid JSON: duplicate object key*" },
        { { ROW(.input_schema = "{\"type\":\"object\",\"properties\":{}}"), {} },
          "tool 'good_tool' (test family, row 0): input schema must have \"additionalProperties\":false" },
        { { ROW(.input_schema = "{\"type\":\"object\",\"additionalProperties\":true}"), {} },
          "tool 'good_tool' (test family, row 0): input schema must have \"additionalProperties\":false" },
        { { ROW(.input_schema = "{\"type\":\"array\"}"), {} },
          "tool 'good_tool' (test family, row 0): input schema must have \"type\":\"object\"" },
        { { ROW(.input_schema = "{\"additionalProperties\":false}"), {} },
          "tool 'good_tool' (test family, row 0): input schema must have \"type\":\"object\"" },
        { { ROW(.input_schema = "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
                                "\"limit\":{\"type\":\"integer\",\"minimun\":1}}}"),
            {} },
          "tool 'good_tool' (test family, row 0): input schema at 'properties.limit': unsupported keyword 'minimun'" },
        { { ROW(.output_schema = "{\"type\":\"string\"}"), {} },
          "tool 'good_tool' (test family, row 0): output schema must have \"type\":\"object\"" },
        { { ROW(.output_schema = "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"int\"}}}"), {} },
          "tool 'good_tool' (test family, row 0): output schema at 'properties.n': unknown type 'int'" },
        /* The first bad row is the one reported. */
        { { ROW(.name = "first"), ROW(.name = "second", .handler = NULL), {} },
          "tool 'second' (test family, row 1): handler is missing" },
};

#pragma GCC diagnostic pop

static void test_row_rules(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(row_cases); i++) {
                const RowCase *c = &row_cases[i];
                _cleanup_free_ char *err = NULL;
                int r;

                r = tool_table_check(c->rows, "test", &err);
                if (!c->error) {
                        if (r != 0)
                                fail_msg("case %zu: expected accepted, got %d %s", i, r, err ? err : "");
                        assert_null(err);
                        continue;
                }
                size_t len = strlen(c->error);
                bool prefix = len > 0 && c->error[len - 1] == '*';

                if (r != -EINVAL || !err ||
                    (prefix ? strncmp(err, c->error, len - 1) != 0 : strcmp(err, c->error) != 0))
                        fail_msg("case %zu:\n  expected: %s\n  got:      %d %s", i, c->error, r, err ? err : "(null)");
        }

        /* The real family passes the same check. */
        assert_int_equal(tool_table_check(tools_system, "system", NULL), 0);
        assert_int_equal(tool_table_check(NULL, "x", NULL), -EINVAL);
}

/* tool_error, tool_progress, tool_run */

static void test_tool_error(void **state) {
        ToolCall call = {};

        assert_int_equal(tool_error(&call, -ENOENT, "no such container '%s'", "web"), -ENOENT);
        assert_string_equal(call.error, "no such container 'web'");
        /* Never success by mistake. */
        assert_int_equal(tool_error(&call, 0, "oops"), -EIO);

        char longer[1024];
        memset(longer, 'y', sizeof longer - 1);
        longer[sizeof longer - 1] = '\0';
        assert_int_equal(tool_error(&call, -E2BIG, "%s", longer), -E2BIG);
        assert_int_equal(strlen(call.error), sizeof call.error - 1);
}

typedef struct ProgressLog {
        int calls;
        double progress, total;
        char message[64];
} ProgressLog;

static void progress_cb(void *userdata, double progress, double total, const char *message) {
        ProgressLog *log = userdata;

        log->calls++;
        log->progress = progress;
        log->total = total;
        snprintf(log->message, sizeof log->message, "%s", message ? message : "");
}

static void test_tool_progress(void **state) {
        ProgressLog log = {};
        ToolCall call = {};

        tool_progress(&call, 1, 2, "ignored");  /* no sink: nothing happens */
        tool_progress(NULL, 1, 2, "ignored");

        call.progress = progress_cb;
        call.progress_userdata = &log;
        tool_progress(&call, 3, 10, "pulling");
        assert_int_equal(log.calls, 1);
        assert_true(log.progress == 3);
        assert_true(log.total == 10);
        assert_string_equal(log.message, "pulling");
}

static int handler_fail_silent(ToolCall *call) {
        call->result = json_object();           /* must be dropped */
        call->text = strdup("partial");
        return -ENOENT;
}

static int handler_fail_message(ToolCall *call) {
        return tool_error(call, -EHOSTUNREACH, "host '%s' is unreachable", "db1");
}

static int handler_no_result(ToolCall *call) {
        return 0;
}

static int handler_text(ToolCall *call) {
        call->result = json_pack("{s:i}", "n", 7);
        call->text = strdup("n is 7");
        return call->result && call->text ? 0 : -ENOMEM;
}

static int handler_wrong_output(ToolCall *call) {
        call->result = json_pack("{s:s}", "n", "seven");
        call->text = strdup("n is seven");
        return call->result && call->text ? 0 : -ENOMEM;
}

static void test_tool_run(void **state) {
        static const Tool fail_silent = { .name = "fail_silent", .handler = handler_fail_silent };
        static const Tool fail_message = { .name = "fail_message", .handler = handler_fail_message };
        static const Tool no_result = { .name = "no_result", .handler = handler_no_result };
        static const Tool text = { .name = "text", .output_schema = OUT_N, .handler = handler_text };
        static const Tool wrong = { .name = "wrong", .output_schema = OUT_N, .handler = handler_wrong_output };
        static const Tool no_handler = { .name = "no_handler" };
        ToolCall call = {};

        assert_int_equal(setenv("SYSTEMMANAGER_CHECK_OUTPUT", "1", 1), 0);

        call = (ToolCall) { .tool = &fail_silent };
        assert_int_equal(tool_run(&call), -ENOENT);
        assert_null(call.result);
        assert_null(call.text);
        assert_string_equal(call.error, "tool 'fail_silent' failed: No such file or directory");

        call = (ToolCall) { .tool = &fail_message };
        assert_int_equal(tool_run(&call), -EHOSTUNREACH);
        assert_string_equal(call.error, "host 'db1' is unreachable");

        call = (ToolCall) { .tool = &no_result };
        assert_int_equal(tool_run(&call), 0);
        assert_true(json_is_object(call.result));
        assert_int_equal(json_object_size(call.result), 0);
        assert_null(call.text);         /* the caller dumps the JSON */
        json_decref(call.result);

        call = (ToolCall) { .tool = &text };
        assert_int_equal(tool_run(&call), 0);
        assert_int_equal(json_integer_value(json_object_get(call.result, "n")), 7);
        assert_string_equal(call.text, "n is 7");
        /* Running again replaces, never leaks, the previous output. */
        assert_int_equal(tool_run(&call), 0);
        json_decref(call.result);
        free(call.text);

        call = (ToolCall) { .tool = &wrong };
        assert_int_equal(tool_run(&call), -EPROTO);
        assert_null(call.result);
        assert_null(call.text);
        assert_string_equal(call.error, "tool 'wrong' returned a result that does not match its output schema: "
                                        "field 'result.n': must be an integer (got string \"seven\")");

        /* Without the check the same result passes through. */
        assert_int_equal(setenv("SYSTEMMANAGER_CHECK_OUTPUT", "0", 1), 0);
        call = (ToolCall) { .tool = &wrong };
        assert_int_equal(tool_run(&call), 0);
        json_decref(call.result);
        free(call.text);
        assert_int_equal(setenv("SYSTEMMANAGER_CHECK_OUTPUT", "1", 1), 0);

        call = (ToolCall) { .tool = &no_handler };
        assert_int_equal(tool_run(&call), -EOPNOTSUPP);
        assert_string_equal(call.error, "tool 'no_handler' has no implementation");
}

/* After init the registry is shared read-only by worker threads. */
static void *reader(void *arg) {
        const Tool *t = tool_find("get_top_processes");
        _cleanup_json_ json_t *good = json_pack("{s:i,s:s}", "limit", 5, "sort_by", "memory");
        _cleanup_json_ json_t *bad = json_pack("{s:i}", "limit", 500);
        char err[256];

        for (int i = 0; i < 300; i++) {
                json_t *d = tool_describe(tool_at((size_t) i % tool_count()));

                if (!d || tool_validate_args(t, good, err, sizeof err) != 0 ||
                    tool_validate_args(t, bad, err, sizeof err) != -EINVAL ||
                    strcmp(err, "argument 'limit': must be an integer between 1 and 200 (got 500)") != 0) {
                        json_decref(d);
                        return (void *) 1;
                }
                json_decref(d);
        }
        return NULL;
}

static void test_concurrent_readers(void **state) {
        pthread_t th[4];

        for (size_t i = 0; i < ELEMENTSOF(th); i++)
                assert_int_equal(pthread_create(&th[i], NULL, reader, NULL), 0);
        for (size_t i = 0; i < ELEMENTSOF(th); i++) {
                void *ret = (void *) 1;

                assert_int_equal(pthread_join(th[i], &ret), 0);
                assert_null(ret);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_init_idempotent),
                cmocka_unit_test(test_catalogue),
                cmocka_unit_test(test_find_unknown),
                cmocka_unit_test(test_risk_names),
                cmocka_unit_test(test_describe_every_row),
                cmocka_unit_test(test_system_annotations),
                cmocka_unit_test(test_describe_unknown),
                cmocka_unit_test(test_validate_args),
                cmocka_unit_test(test_validate_args_unknown_tool),
                cmocka_unit_test(test_row_rules),
                cmocka_unit_test(test_tool_error),
                cmocka_unit_test(test_tool_progress),
                cmocka_unit_test(test_tool_run),
                cmocka_unit_test(test_concurrent_readers),
        };

        return cmocka_run_group_tests(tests, setup, NULL);
}
