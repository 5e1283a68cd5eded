/* SPDX-License-Identifier: MIT */

/* tools/schema.c: schema_validate() and schema_check(). Table-driven: each
 * case is a schema, a value and the exact message a client would read. */

#include <errno.h>
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

typedef struct Case {
        const char *schema;
        const char *value;
        const char *error;      /* NULL: valid */
} Case;

#define TOP                                                                                                   \
        "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"                                \
        "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":200},"                                     \
        "\"sort_by\":{\"enum\":[\"cpu\",\"memory\"]}}}"

#define NAMED                                                                                                 \
        "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"name_or_id\"],\"properties\":{"  \
        "\"name_or_id\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":8}}}"

#define PORTS                                                                                                 \
        "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{\"ports\":{\"type\":\"array\","  \
        "\"minItems\":1,\"maxItems\":3,\"items\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":65535}}}}"

#define NESTED                                                                                                \
        "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{\"opts\":{\"type\":\"object\","   \
        "\"additionalProperties\":false,\"required\":[\"a\"],\"properties\":{\"a\":{\"type\":\"string\"}}}}}"

#define CONNECT                                                                                               \
        "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"host\"],\"properties\":{"        \
        "\"host\":{\"type\":\"string\"},\"port\":{\"type\":\"integer\"},"                                     \
        "\"ports\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}},"                                   \
        "\"oneOf\":[{\"required\":[\"port\"]},{\"required\":[\"ports\"]}]}"

#define PROP(s) "{\"type\":\"object\",\"properties\":{\"p\":" s "}}"

static const Case validate_cases[] = {
        /* object basics */
        { TOP, "{}", NULL },
        { TOP, "{\"limit\":10}", NULL },
        { TOP, "{\"limit\":1,\"sort_by\":\"memory\"}", NULL },
        { TOP, "{\"limit\":200,\"sort_by\":\"cpu\"}", NULL },
        { TOP, "[]", "arguments: must be an object (got an array)" },
        { TOP, "\"x\"", "arguments: must be an object (got string \"x\")" },
        { TOP, "null", "arguments: must be an object (got null)" },
        /* integer range and type */
        { TOP, "{\"limit\":500}", "argument 'limit': must be an integer between 1 and 200 (got 500)" },
        { TOP, "{\"limit\":0}", "argument 'limit': must be an integer between 1 and 200 (got 0)" },
        { TOP, "{\"limit\":-7}", "argument 'limit': must be an integer between 1 and 200 (got -7)" },
        { TOP, "{\"limit\":\"5\"}", "argument 'limit': must be an integer between 1 and 200 (got string \"5\")" },
        { TOP, "{\"limit\":5.0}", "argument 'limit': must be an integer between 1 and 200 (got number 5.0)" },
        { TOP, "{\"limit\":2.5}", "argument 'limit': must be an integer between 1 and 200 (got number 2.5)" },
        { TOP, "{\"limit\":true}", "argument 'limit': must be an integer between 1 and 200 (got boolean true)" },
        { TOP, "{\"limit\":null}", "argument 'limit': must be an integer between 1 and 200 (got null)" },
        { TOP, "{\"limit\":[1]}", "argument 'limit': must be an integer between 1 and 200 (got an array)" },
        { TOP, "{\"limit\":{}}", "argument 'limit': must be an integer between 1 and 200 (got an object)" },
        /* enum */
        { TOP, "{\"sort_by\":\"disk\"}", "argument 'sort_by': must be one of \"cpu\", \"memory\" (got \"disk\")" },
        { TOP, "{\"sort_by\":\"CPU\"}", "argument 'sort_by': must be one of \"cpu\", \"memory\" (got \"CPU\")" },
        { TOP, "{\"sort_by\":5}", "argument 'sort_by': must be one of \"cpu\", \"memory\" (got number 5)" },
        { TOP, "{\"sort_by\":\"a\\\"b\\n\"}",
          "argument 'sort_by': must be one of \"cpu\", \"memory\" (got \"a\\\"b\\n\")" },
        /* unknown arguments come first */
        { TOP, "{\"foo\":1}", "unknown argument 'foo' (allowed: limit, sort_by)" },
        { TOP, "{\"limit\":0,\"limt\":5}", "unknown argument 'limt' (allowed: limit, sort_by)" },
        { TOP, "{\"fo'o\":1}", "unknown argument 'fo\\'o' (allowed: limit, sort_by)" },
        { "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{}}", "{\"x\":1}",
          "unknown argument 'x' (this tool takes no arguments)" },
        { "{\"type\":\"object\",\"additionalProperties\":false}", "{\"x\":1}",
          "unknown argument 'x' (this tool takes no arguments)" },
        { "{\"type\":\"object\"}", "{\"x\":1}", NULL },
        { "{\"type\":\"object\",\"additionalProperties\":true}", "{\"x\":1}", NULL },
        { "{\"type\":\"object\",\"additionalProperties\":{\"type\":\"integer\"}}", "{\"x\":1}", NULL },
        { "{\"type\":\"object\",\"additionalProperties\":{\"type\":\"integer\"}}", "{\"x\":\"y\"}",
          "argument 'x': must be an integer (got string \"y\")" },
        /* required, strings */
        { NAMED, "{\"name_or_id\":\"web\"}", NULL },
        { NAMED, "{}", "missing required argument 'name_or_id'" },
        { NAMED, "{\"name_or_id\":\"\"}",
          "argument 'name_or_id': must be a string of 1 to 8 characters (got 0 characters)" },
        { NAMED, "{\"name_or_id\":\"123456789\"}",
          "argument 'name_or_id': must be a string of 1 to 8 characters (got 9 characters)" },
        { NAMED, "{\"name_or_id\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}", NULL },
        { NAMED, "{\"name_or_id\":\"\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\"}",
          "argument 'name_or_id': must be a string of 1 to 8 characters (got 9 characters)" },
        { NAMED, "{\"name_or_id\":1}", "argument 'name_or_id': must be a string of 1 to 8 characters (got number 1)" },
        { PROP("{\"type\":\"string\",\"maxLength\":2}"), "{\"p\":\"abc\"}",
          "argument 'p': must be a string of at most 2 characters (got 3 characters)" },
        { PROP("{\"type\":\"string\",\"minLength\":1}"), "{\"p\":\"\"}",
          "argument 'p': must be a string of at least 1 character (got 0 characters)" },
        { PROP("{\"type\":\"string\",\"minLength\":2,\"maxLength\":2}"), "{\"p\":\"a\"}",
          "argument 'p': must be a string of exactly 2 characters (got 1 character)" },
        /* numbers */
        { PROP("{\"type\":\"number\",\"minimum\":0.5}"), "{\"p\":1}", NULL },
        { PROP("{\"type\":\"number\",\"minimum\":0.5}"), "{\"p\":0.75}", NULL },
        { PROP("{\"type\":\"number\",\"minimum\":0.5}"), "{\"p\":0.4}", "argument 'p': must be a number >= 0.5 (got 0.4)" },
        { PROP("{\"type\":\"integer\",\"maximum\":10}"), "{\"p\":11}", "argument 'p': must be an integer <= 10 (got 11)" },
        { PROP("{\"type\":\"integer\",\"maximum\":10}"), "{\"p\":10}", NULL },
        { PROP("{\"type\":\"integer\",\"maximum\":9007199254740993}"), "{\"p\":9007199254740993}", NULL },
        { PROP("{\"type\":\"integer\",\"maximum\":9007199254740992}"), "{\"p\":9007199254740993}",
          "argument 'p': must be an integer <= 9007199254740992 (got 9007199254740993)" },
        { PROP("{\"type\":\"number\",\"maximum\":1}"), "{\"p\":1.5}", "argument 'p': must be a number <= 1 (got 1.5)" },
        /* type arrays, boolean, null, const */
        { PROP("{\"type\":[\"integer\",\"null\"],\"minimum\":1}"), "{\"p\":null}", NULL },
        { PROP("{\"type\":[\"integer\",\"null\"],\"minimum\":1}"), "{\"p\":3}", NULL },
        { PROP("{\"type\":[\"integer\",\"null\"],\"minimum\":1}"), "{\"p\":\"x\"}",
          "argument 'p': must be an integer >= 1 or null (got string \"x\")" },
        { PROP("{\"type\":[\"integer\",\"null\"],\"minimum\":1}"), "{\"p\":0}",
          "argument 'p': must be an integer >= 1 or null (got 0)" },
        { PROP("{\"type\":[\"string\",\"boolean\",\"null\"]}"), "{\"p\":1}",
          "argument 'p': must be a string, a boolean or null (got number 1)" },
        { PROP("{\"type\":\"boolean\"}"), "{\"p\":false}", NULL },
        { PROP("{\"type\":\"boolean\"}"), "{\"p\":1}", "argument 'p': must be a boolean (got number 1)" },
        { PROP("{\"type\":\"null\"}"), "{\"p\":null}", NULL },
        { PROP("{\"type\":\"null\"}"), "{\"p\":0}", "argument 'p': must be null (got number 0)" },
        { PROP("{\"const\":\"A\"}"), "{\"p\":\"A\"}", NULL },
        { PROP("{\"const\":\"A\"}"), "{\"p\":\"B\"}", "argument 'p': must be exactly \"A\" (got \"B\")" },
        { PROP("{\"enum\":[1,2,3]}"), "{\"p\":2}", NULL },
        { PROP("{\"enum\":[1,2,3]}"), "{\"p\":4}", "argument 'p': must be one of 1, 2, 3 (got 4)" },
        { PROP("{\"enum\":[1,2,3]}"), "{\"p\":\"1\"}", "argument 'p': must be one of 1, 2, 3 (got string \"1\")" },
        { PROP("{\"enum\":[\"a\",null]}"), "{\"p\":null}", NULL },
        { PROP("{\"type\":\"object\"}"), "{\"p\":[]}", "argument 'p': must be an object (got an array)" },
        /* arrays and nested paths */
        { PORTS, "{\"ports\":[80,443]}", NULL },
        { PORTS, "{\"ports\":[80,443,70000]}", "argument 'ports[2]': must be an integer between 1 and 65535 (got 70000)" },
        { PORTS, "{\"ports\":[\"80\"]}", "argument 'ports[0]': must be an integer between 1 and 65535 (got string \"80\")" },
        { PORTS, "{\"ports\":[]}", "argument 'ports': must be an array of 1 to 3 items (got 0 items)" },
        { PORTS, "{\"ports\":[1,2,3,4]}", "argument 'ports': must be an array of 1 to 3 items (got 4 items)" },
        { PORTS, "{\"ports\":80}", "argument 'ports': must be an array of 1 to 3 items (got number 80)" },
        { PROP("{\"type\":\"array\",\"maxItems\":1}"), "{\"p\":[1,2]}",
          "argument 'p': must be an array of at most 1 item (got 2 items)" },
        { PROP("{\"type\":\"array\",\"minItems\":2}"), "{\"p\":[1]}",
          "argument 'p': must be an array of at least 2 items (got 1 item)" },
        { NESTED, "{\"opts\":{\"a\":\"x\"}}", NULL },
        { NESTED, "{\"opts\":{}}", "missing required argument 'opts.a'" },
        { NESTED, "{\"opts\":{\"a\":\"x\",\"b\":1}}", "unknown argument 'opts.b' (allowed: a)" },
        { NESTED, "{\"opts\":{\"a\":1}}", "argument 'opts.a': must be a string (got number 1)" },
        { PROP("{\"type\":\"array\",\"items\":{\"type\":\"object\",\"additionalProperties\":false,"
               "\"properties\":{\"n\":{\"type\":\"integer\"}}}}"),
          "{\"p\":[{\"n\":1},{\"n\":\"x\"}]}", "argument 'p[1].n': must be an integer (got string \"x\")" },
        { PROP("{\"type\":\"array\",\"items\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}}"),
          "{\"p\":[[1],[2,true]]}", "argument 'p[1][1]': must be an integer (got boolean true)" },
        /* anyOf / oneOf */
        { PROP("{\"anyOf\":[{\"type\":\"integer\"},{\"type\":\"string\"}]}"), "{\"p\":1}", NULL },
        { PROP("{\"anyOf\":[{\"type\":\"integer\"},{\"type\":\"string\"}]}"), "{\"p\":\"x\"}", NULL },
        { PROP("{\"anyOf\":[{\"type\":\"integer\"},{\"type\":\"string\"}]}"), "{\"p\":true}",
          "argument 'p': must be an integer or a string (got boolean true)" },
        { PROP("{\"anyOf\":[{\"type\":\"integer\",\"minimum\":1},{\"type\":\"string\"}]}"), "{\"p\":0}",
          "argument 'p': must be an integer >= 1 (got 0)" },
        { PROP("{\"oneOf\":[{\"type\":\"integer\"},{\"type\":\"number\"}]}"), "{\"p\":5.5}", NULL },
        { PROP("{\"oneOf\":[{\"type\":\"integer\"},{\"type\":\"number\"}]}"), "{\"p\":5}",
          "argument 'p': must match exactly one of the allowed forms, but matches 2" },
        { CONNECT, "{\"host\":\"a\",\"port\":1}", NULL },
        { CONNECT, "{\"host\":\"a\",\"ports\":[1,2]}", NULL },
        { CONNECT, "{\"host\":\"a\"}",
          "arguments: does not match any of the allowed forms: (1) missing required argument 'port'; "
          "(2) missing required argument 'ports'" },
        { CONNECT, "{\"host\":\"a\",\"port\":1,\"ports\":[1]}",
          "arguments: must match exactly one of the allowed forms, but matches 2" },
        { CONNECT, "{\"port\":1}", "missing required argument 'host'" },
        /* annotations are ignored */
        { PROP("{\"type\":\"integer\",\"description\":\"d\",\"title\":\"t\",\"default\":3}"), "{\"p\":4}", NULL },
};

static void test_validate_cases(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(validate_cases); i++) {
                const Case *c = &validate_cases[i];
                _cleanup_json_ json_t *schema = NULL, *value = NULL;
                char err[512] = "sentinel";
                json_error_t jerr;
                int r;

                schema = json_loads(c->schema, JSON_REJECT_DUPLICATES, &jerr);
                if (!schema)
                        fail_msg("case %zu: bad schema literal: %s", i, jerr.text);
                value = json_loads(c->value, JSON_DECODE_ANY, &jerr);
                if (!value)
                        fail_msg("case %zu: bad value literal: %s", i, jerr.text);
                if (schema_check(schema, err, sizeof err) < 0)
                        fail_msg("case %zu: schema_check rejects the case schema: %s", i, err);

                r = schema_validate(schema, value, "arguments", err, sizeof err);
                if (!c->error) {
                        if (r != 0)
                                fail_msg("case %zu (%s): expected valid, got %d \"%s\"", i, c->value, r, err);
                        continue;
                }
                if (r != -EINVAL)
                        fail_msg("case %zu (%s): expected -EINVAL, got %d", i, c->value, r);
                if (strcmp(err, c->error) != 0)
                        fail_msg("case %zu (%s):\n  expected: %s\n  got:      %s", i, c->value, c->error, err);
        }
}

/* Boolean sub-schemas are refused by schema_check() (only
 * additionalProperties may be a boolean), but the validator copes. */
static void test_boolean_schemas(void **state) {
        _cleanup_json_ json_t *yes = json_loads(PROP("true"), 0, NULL), *no = json_loads(PROP("false"), 0, NULL);
        _cleanup_json_ json_t *value = json_loads("{\"p\":[1]}", 0, NULL);
        char err[256];

        assert_int_equal(schema_validate(yes, value, "arguments", err, sizeof err), 0);
        assert_int_equal(schema_validate(no, value, "arguments", err, sizeof err), -EINVAL);
        assert_string_equal(err, "argument 'p': is not allowed here");
        assert_int_equal(schema_check(yes, err, sizeof err), -EINVAL);
        assert_string_equal(err, "schema at 'properties.p': must be an object");
}

/* A value checked as something other than arguments ("result") talks about
 * fields and carries the root in the path. */
static const Case result_cases[] = {
        { "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"cpu\"],\"properties\":{\"cpu\":{"
          "\"type\":\"object\",\"properties\":{\"count\":{\"type\":\"integer\"}}}}}",
          "{\"cpu\":{\"count\":\"x\"}}", "field 'result.cpu.count': must be an integer (got string \"x\")" },
        { "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"cpu\"],\"properties\":{\"cpu\":{}}}",
          "{}", "missing required field 'result.cpu'" },
        { "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{\"cpu\":{}}}", "{\"x\":1}",
          "unknown field 'result.x' (allowed: cpu)" },
        { "{\"type\":\"object\"}", "[]", "result: must be an object (got an array)" },
        { "{\"type\":\"object\",\"properties\":{\"l\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}",
          "{\"l\":[\"a\",2]}", "field 'result.l[1]': must be a string (got number 2)" },
};

static void test_result_paths(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(result_cases); i++) {
                const Case *c = &result_cases[i];
                _cleanup_json_ json_t *schema = json_loads(c->schema, 0, NULL);
                _cleanup_json_ json_t *value = json_loads(c->value, JSON_DECODE_ANY, NULL);
                char err[512];

                assert_non_null(schema);
                assert_non_null(value);
                assert_int_equal(schema_validate(schema, value, "result", err, sizeof err), -EINVAL);
                if (strcmp(err, c->error) != 0)
                        fail_msg("case %zu:\n  expected: %s\n  got:      %s", i, c->error, err);
        }
}

static void test_long_values_truncated(void **state) {
        _cleanup_json_ json_t *schema = json_loads(TOP, 0, NULL), *value = NULL;
        char big[300], err[512];
        const char *p;

        memset(big, 'x', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        value = json_pack("{s:s}", "sort_by", big);
        assert_non_null(value);
        assert_int_equal(schema_validate(schema, value, "arguments", err, sizeof err), -EINVAL);
        /* The client's value is quoted back only in part. */
        p = strstr(err, "(got \"");
        assert_non_null(p);
        assert_non_null(strstr(p, "...\")"));
        assert_true(strlen(err) < 200);

        /* Same for an unknown name. */
        json_decref(value);
        value = json_object();
        assert_int_equal(json_object_set_new(value, big, json_true()), 0);
        assert_int_equal(schema_validate(schema, value, "arguments", err, sizeof err), -EINVAL);
        assert_true(strncmp(err, "unknown argument 'xxxx", 22) == 0);
        assert_non_null(strstr(err, "...' (allowed: limit, sort_by)"));
}

static void test_control_chars_escaped(void **state) {
        _cleanup_json_ json_t *schema = json_loads(TOP, 0, NULL);
        _cleanup_json_ json_t *value = json_loads("{\"a\\u0001\\u001b[31m\":1}", 0, NULL);
        char err[512];

        assert_non_null(value);
        assert_int_equal(schema_validate(schema, value, "arguments", err, sizeof err), -EINVAL);
        assert_string_equal(err, "unknown argument 'a\\u0001\\u001b[31m' (allowed: limit, sort_by)");
        for (const char *p = err; *p; p++)
                assert_true((unsigned char) *p >= 0x20);
}

static void test_small_and_null_errbuf(void **state) {
        _cleanup_json_ json_t *schema = json_loads(TOP, 0, NULL);
        _cleanup_json_ json_t *value = json_loads("{\"limit\":500}", 0, NULL);
        char small[12];

        assert_int_equal(schema_validate(schema, value, "arguments", NULL, 0), -EINVAL);
        memset(small, 'Z', sizeof small);
        assert_int_equal(schema_validate(schema, value, "arguments", small, sizeof small), -EINVAL);
        assert_int_equal(strlen(small), sizeof small - 1);
        assert_string_equal(small, "argument 'l");

        /* A NULL path means arguments. */
        assert_int_equal(schema_validate(schema, value, NULL, small, sizeof small), -EINVAL);
        assert_string_equal(small, "argument 'l");

        /* Missing pieces are an error, not a crash. */
        assert_int_equal(schema_validate(NULL, value, "arguments", NULL, 0), -EINVAL);
        assert_int_equal(schema_validate(schema, NULL, "arguments", NULL, 0), -EINVAL);
}

/* {"type":"object","properties":{"a": ... }} nested `levels` deep, and a
 * value of the same shape. */
static void make_deep(unsigned levels, json_t **ret_schema, json_t **ret_value) {
        json_t *schema = json_pack("{s:s}", "type", "integer");
        json_t *value = json_integer(1);

        for (unsigned i = 0; i < levels; i++) {
                schema = json_pack("{s:s, s:{s:o}}", "type", "object", "properties", "a", schema);
                value = json_pack("{s:o}", "a", value);
                assert_non_null(schema);
                assert_non_null(value);
        }
        *ret_schema = schema;
        *ret_value = value;
}

static void test_depth_cap(void **state) {
        _cleanup_json_ json_t *schema = NULL, *value = NULL, *deep_schema = NULL, *deep_value = NULL;
        char err[512];

        make_deep(60, &schema, &value);
        assert_int_equal(schema_check(schema, err, sizeof err), 0);
        assert_int_equal(schema_validate(schema, value, "arguments", err, sizeof err), 0);

        make_deep(70, &deep_schema, &deep_value);
        assert_int_equal(schema_check(deep_schema, err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, "nested too deeply (more than 64 levels)"));
        assert_int_equal(schema_validate(deep_schema, deep_value, "arguments", err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, "nested too deeply (more than 64 levels)"));
        assert_true(strncmp(err, "argument 'a.a.a.", 16) == 0);
}

static void test_deep_value_shallow_schema(void **state) {
        /* A deep value under a shallow schema is never walked. */
        _cleanup_json_ json_t *schema = json_loads("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"object\"}}}",
                                                   0, NULL);
        json_t *value = json_object();
        _cleanup_json_ json_t *root = NULL;
        char err[256];

        for (int i = 0; i < 1000; i++)
                value = json_pack("{s:o}", "a", value);
        root = value;
        assert_int_equal(schema_validate(schema, root, "arguments", err, sizeof err), 0);
}

typedef struct CheckCase {
        const char *schema;
        const char *error;      /* NULL: accepted */
} CheckCase;

static const CheckCase check_cases[] = {
        { "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{}}", NULL },
        { TOP, NULL },
        { NAMED, NULL },
        { PORTS, NULL },
        { NESTED, NULL },
        { CONNECT, NULL },
        { "{\"type\":\"string\",\"title\":\"t\",\"description\":\"d\",\"default\":\"x\",\"examples\":[\"y\"]}", NULL },
        { "{\"type\":\"object\",\"properties\":{\"a\":{\"const\":1}},\"additionalProperties\":{\"type\":\"string\"}}", NULL },
        { "{}", NULL },
        { "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{\"limit\":{\"type\":\"integer\","
          "\"minimun\":1}}}",
          "schema at 'properties.limit': unsupported keyword 'minimun'" },
        { "{\"type\":\"string\",\"pattern\":\"^a\"}", "schema: unsupported keyword 'pattern'" },
        { "{\"type\":\"string\",\"format\":\"uri\"}", "schema: unsupported keyword 'format'" },
        { "{\"$ref\":\"#/x\"}", "schema: unsupported keyword '$ref'" },
        { "{\"type\":\"strin\"}", "schema: unknown type 'strin'" },
        { "{\"type\":[]}", "schema: 'type' must be a type name or a non-empty array of them" },
        { "{\"type\":5}", "schema: 'type' must be a type name or a non-empty array of them" },
        { "{\"type\":[\"string\",1]}", "schema: 'type' array must hold type names" },
        { "{\"type\":[\"string\",\"string\"]}", "schema: 'type' lists 'string' twice" },
        { "{\"title\":5}", "schema: 'title' must be a string" },
        { "{\"description\":[]}", "schema: 'description' must be a string" },
        { "{\"enum\":[]}", "schema: 'enum' must be a non-empty array" },
        { "{\"enum\":\"a\"}", "schema: 'enum' must be a non-empty array" },
        { "{\"type\":\"string\",\"enum\":[\"a\",1]}", "schema: 'enum' member 1 does not match 'type'" },
        { "{\"type\":\"integer\",\"const\":\"x\"}", "schema: 'const' does not match 'type'" },
        { "{\"type\":\"integer\",\"minimum\":5,\"maximum\":1}", "schema: 'minimum' is greater than 'maximum'" },
        { "{\"type\":\"integer\",\"minimum\":\"1\"}", "schema: 'minimum' must be a number" },
        { "{\"type\":\"integer\",\"maximum\":null}", "schema: 'maximum' must be a number" },
        { "{\"type\":\"string\",\"minimum\":1}",
          "schema: 'minimum'/'maximum' apply only to types 'integer' and 'number'" },
        { "{\"type\":\"string\",\"maxLength\":-1}", "schema: 'maxLength' must be a non-negative integer" },
        { "{\"type\":\"string\",\"maxLength\":1.5}", "schema: 'maxLength' must be a non-negative integer" },
        { "{\"type\":\"string\",\"minLength\":3,\"maxLength\":2}", "schema: 'minLength' is greater than 'maxLength'" },
        { "{\"type\":\"integer\",\"maxLength\":3}", "schema: 'minLength'/'maxLength' apply only to type 'string'" },
        { "{\"type\":\"array\",\"minItems\":\"1\"}", "schema: 'minItems' must be a non-negative integer" },
        { "{\"type\":\"object\",\"maxItems\":1}", "schema: 'minItems'/'maxItems' apply only to type 'array'" },
        { "{\"type\":\"array\",\"items\":[{\"type\":\"string\"}]}",
          "schema: 'items' must be a schema object (tuple form is not supported)" },
        { "{\"type\":\"array\",\"items\":{\"type\":\"bogus\"}}", "schema at 'items': unknown type 'bogus'" },
        { "{\"type\":\"string\",\"items\":{}}", "schema: 'items' applies only to type 'array'" },
        { "{\"type\":\"object\",\"properties\":[]}", "schema: 'properties' must be an object of schemas" },
        { "{\"type\":\"object\",\"properties\":{\"a\":true}}", "schema at 'properties.a': must be an object" },
        { "{\"type\":\"string\",\"properties\":{}}", "schema: 'properties' applies only to type 'object'" },
        { "{\"type\":\"object\",\"additionalProperties\":\"no\"}",
          "schema: 'additionalProperties' must be a boolean or a schema" },
        { "{\"type\":\"object\",\"additionalProperties\":{\"typo\":1}}",
          "schema at 'additionalProperties': unsupported keyword 'typo'" },
        { "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"x\"],\"properties\":{}}",
          "schema: required property 'x' is not declared in 'properties'" },
        { "{\"type\":\"object\",\"required\":\"x\"}", "schema: 'required' must be an array of property names" },
        { "{\"type\":\"object\",\"required\":[1]}", "schema: 'required' must be an array of property names" },
        { "{\"type\":\"object\",\"required\":[\"a\",\"a\"]}", "schema: 'required' lists 'a' twice" },
        { "{\"anyOf\":[]}", "schema: 'anyOf' must be a non-empty array of schemas" },
        { "{\"oneOf\":{}}", "schema: 'oneOf' must be a non-empty array of schemas" },
        { "{\"oneOf\":[{\"type\":\"integer\"},{\"typo\":1}]}", "schema at 'oneOf[1]': unsupported keyword 'typo'" },
        { "{\"type\":\"integer\",\"minimum\":1,\"default\":0}",
          "schema: default value does not match: default: must be an integer >= 1 (got 0)" },
        { "{\"type\":\"object\",\"properties\":{\"s\":{\"enum\":[\"a\",\"b\"],\"default\":\"c\"}}}",
          "schema at 'properties.s': default value does not match: default: must be one of \"a\", \"b\" (got \"c\")" },
        { "{\"examples\":1}", "schema: 'examples' must be an array" },
        { "[]", "schema: must be an object" },
        { "true", "schema: must be an object" },
};

static void test_check_cases(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(check_cases); i++) {
                const CheckCase *c = &check_cases[i];
                _cleanup_json_ json_t *schema = NULL;
                char err[512] = "sentinel";
                json_error_t jerr;
                int r;

                schema = json_loads(c->schema, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
                if (!schema)
                        fail_msg("case %zu: bad literal: %s", i, jerr.text);
                r = schema_check(schema, err, sizeof err);
                if (!c->error) {
                        if (r != 0)
                                fail_msg("case %zu: expected accepted, got \"%s\"", i, err);
                        continue;
                }
                if (r != -EINVAL)
                        fail_msg("case %zu: expected -EINVAL, got %d", i, r);
                if (strcmp(err, c->error) != 0)
                        fail_msg("case %zu:\n  expected: %s\n  got:      %s", i, c->error, err);
        }
        assert_int_equal(schema_check(NULL, NULL, 0), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_validate_cases),
                cmocka_unit_test(test_boolean_schemas),
                cmocka_unit_test(test_result_paths),
                cmocka_unit_test(test_long_values_truncated),
                cmocka_unit_test(test_control_chars_escaped),
                cmocka_unit_test(test_small_and_null_errbuf),
                cmocka_unit_test(test_depth_cap),
                cmocka_unit_test(test_deep_value_shallow_schema),
                cmocka_unit_test(test_check_cases),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
