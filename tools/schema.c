/* SPDX-License-Identifier: MIT */

/* A validator for the JSON Schema subset our tool rows use.
 *
 * Supported keywords: type (a name or an array of names), properties,
 * required, enum, const, minimum, maximum, minLength, maxLength (counted in
 * UTF-8 code points), items (one schema), minItems, maxItems,
 * additionalProperties (a boolean or a schema), anyOf, oneOf. The annotations
 * description, title, default and examples are accepted and ignored by
 * validation. Anything else is refused by schema_check(), so a typo in a tool
 * row ("minimun") fails the registry self-test instead of silently allowing
 * everything.
 *
 * Messages are written for the client that sent the value: they name the
 * argument, say what is wrong and what would be accepted, e.g.
 *     argument 'limit': must be an integer between 1 and 200 (got 500)
 *     unknown argument 'foo' (allowed: limit, sort_by)
 * Values quoted back are escaped and truncated, because they come from the
 * client and may end up in logs.
 *
 * Recursion follows the schema, never the value alone, and is capped at
 * SCHEMA_MAX_DEPTH levels. Validation only reads the schema and the value, so
 * the same parsed schema may be used from several threads at once. */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/utf8.h"
#include "common/cleanup.h"
#include "tools/tool.h"

#define SCHEMA_MAX_DEPTH 64u
#define SCHEMA_PATH_MAX 256u
#define SHOW_STRING_MAX 48u     /* bytes of a client string quoted back in a message */
#define SHOW_NAME_MAX 64u       /* bytes of a property name quoted back */
#define SHOW_ENUM_MAX 16u       /* enum members listed in a message */

/* A bounded text buffer: appends never overflow, they truncate. */
typedef struct Buf {
        char *p;
        size_t size;
        size_t len;
} Buf;

static void buf_init(Buf *b, char *p, size_t size) {
        b->p = p;
        b->size = size;
        b->len = 0;
        if (size > 0)
                p[0] = '\0';
}

static _printf_(2, 3) void buf_printf(Buf *b, const char *fmt, ...) {
        va_list ap;
        int n;

        if (b->size == 0 || b->len + 1 >= b->size)
                return;

        va_start(ap, fmt);
        n = vsnprintf(b->p + b->len, b->size - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
                b->p[b->len] = '\0';
                return;
        }
        if ((size_t) n >= b->size - b->len)
                b->len = b->size - 1;
        else
                b->len += (size_t) n;
}

static void buf_puts(Buf *b, const char *s) {
        buf_printf(b, "%s", s);
}

/* Length in bytes of the UTF-8 sequence starting at s[0], or 0 if it is not
 * a valid, complete sequence within n bytes. */

/* Appends s[0..n) escaped: printable ASCII and valid UTF-8 as is, quotes,
 * backslashes and control characters as JSON escapes, invalid bytes as \xNN.
 * Stops after `max` input bytes and appends "...". */
static void buf_escaped(Buf *b, const char *s, size_t n, size_t max) {
        const unsigned char *u = (const unsigned char *) s;
        size_t i = 0;

        while (i < n) {
                size_t l;

                if (i >= max) {
                        buf_puts(b, "...");
                        return;
                }
                if (u[i] == '"' || u[i] == '\\' || u[i] == '\'') {
                        buf_printf(b, "\\%c", u[i]);
                        i++;
                        continue;
                }
                if (u[i] == '\n') {
                        buf_puts(b, "\\n");
                        i++;
                        continue;
                }
                if (u[i] == '\t') {
                        buf_puts(b, "\\t");
                        i++;
                        continue;
                }
                if (u[i] < 0x20 || u[i] == 0x7f) {
                        buf_printf(b, "\\u%04x", u[i]);
                        i++;
                        continue;
                }
                l = utf8_seq_len(u + i, n - i);
                if (l == 0) {
                        buf_printf(b, "\\x%02x", u[i]);
                        i++;
                        continue;
                }
                buf_printf(b, "%.*s", (int) l, s + i);
                i += l;
        }
}

static void buf_number(Buf *b, json_t *n, bool mark_real) {
        if (json_is_integer(n)) {
                buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(n));
                return;
        }

        char tmp[64];
        snprintf(tmp, sizeof tmp, "%.15g", json_real_value(n));
        buf_puts(b, tmp);
        /* "5" for a real would hide why 5.0 is not an integer. */
        if (mark_real && !strpbrk(tmp, ".eEni"))
                buf_puts(b, ".0");
}

/* Shows a value the way a client would recognise it: strings quoted, numbers
 * bare, containers by kind. With `with_type` the JSON type is named first,
 * for messages about a type mismatch ("got string \"5\""). */
static void buf_value(Buf *b, json_t *v, bool with_type) {
        switch (json_typeof(v)) {
        case JSON_STRING:
                if (with_type)
                        buf_puts(b, "string ");
                buf_puts(b, "\"");
                buf_escaped(b, json_string_value(v), json_string_length(v), SHOW_STRING_MAX);
                buf_puts(b, "\"");
                break;
        case JSON_INTEGER:
        case JSON_REAL:
                if (with_type)
                        buf_puts(b, "number ");
                buf_number(b, v, true);
                break;
        case JSON_TRUE:
        case JSON_FALSE:
                if (with_type)
                        buf_puts(b, "boolean ");
                buf_puts(b, json_is_true(v) ? "true" : "false");
                break;
        case JSON_NULL:
                buf_puts(b, "null");
                break;
        case JSON_OBJECT:
                buf_puts(b, "an object");
                break;
        case JSON_ARRAY:
                buf_puts(b, "an array");
                break;
        }
}

static bool type_name_valid(const char *t) {
        static const char *const names[] = {
                "object", "array", "string", "integer", "number", "boolean", "null",
        };

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(t, names[i]))
                        return true;
        return false;
}

static bool type_matches(const char *t, json_t *v) {
        if (streq(t, "object"))
                return json_is_object(v);
        if (streq(t, "array"))
                return json_is_array(v);
        if (streq(t, "string"))
                return json_is_string(v);
        /* A real with an integral value (5.0) is not an integer: handlers read
         * integers with json_integer_value() and would get 0. */
        if (streq(t, "integer"))
                return json_is_integer(v);
        if (streq(t, "number"))
                return json_is_number(v);
        if (streq(t, "boolean"))
                return json_is_boolean(v);
        if (streq(t, "null"))
                return json_is_null(v);
        return false;
}

static bool schema_type_matches(json_t *schema, json_t *v) {
        json_t *type = json_object_get(schema, "type");
        size_t i;
        json_t *t;

        if (!type)
                return true;
        if (json_is_string(type))
                return type_matches(json_string_value(type), v);
        json_array_foreach(type, i, t)
                if (json_is_string(t) && type_matches(json_string_value(t), v))
                        return true;
        return false;
}

static int number_cmp(json_t *a, json_t *b) {
        if (json_is_integer(a) && json_is_integer(b)) {
                json_int_t x = json_integer_value(a), y = json_integer_value(b);
                return (x > y) - (x < y);
        }

        double x = json_number_value(a), y = json_number_value(b);
        return (x > y) - (x < y);
}

static size_t utf8_length(const char *s, size_t n) {
        size_t count = 0;

        for (size_t i = 0; i < n; i++)
                if (((unsigned char) s[i] & 0xc0) != 0x80)
                        count++;
        return count;
}

static void describe_range(Buf *b, json_t *lo, json_t *hi, const char *unit, const char *units) {
        if (json_is_integer(lo) && json_is_integer(hi)) {
                json_int_t l = json_integer_value(lo), h = json_integer_value(hi);

                if (l == h)
                        buf_printf(b, " of exactly %" JSON_INTEGER_FORMAT " %s", l, l == 1 ? unit : units);
                else
                        buf_printf(b, " of %" JSON_INTEGER_FORMAT " to %" JSON_INTEGER_FORMAT " %s", l, h,
                                   units);
        } else if (json_is_integer(lo))
                buf_printf(b, " of at least %" JSON_INTEGER_FORMAT " %s", json_integer_value(lo),
                           json_integer_value(lo) == 1 ? unit : units);
        else if (json_is_integer(hi))
                buf_printf(b, " of at most %" JSON_INTEGER_FORMAT " %s", json_integer_value(hi),
                           json_integer_value(hi) == 1 ? unit : units);
}

static void describe_type(Buf *b, json_t *schema, const char *t) {
        if (streq(t, "integer") || streq(t, "number")) {
                json_t *lo = json_object_get(schema, "minimum"), *hi = json_object_get(schema, "maximum");

                buf_puts(b, streq(t, "integer") ? "an integer" : "a number");
                if (json_is_number(lo) && json_is_number(hi)) {
                        buf_puts(b, " between ");
                        buf_number(b, lo, false);
                        buf_puts(b, " and ");
                        buf_number(b, hi, false);
                } else if (json_is_number(lo)) {
                        buf_puts(b, " >= ");
                        buf_number(b, lo, false);
                } else if (json_is_number(hi)) {
                        buf_puts(b, " <= ");
                        buf_number(b, hi, false);
                }
        } else if (streq(t, "string")) {
                buf_puts(b, "a string");
                describe_range(b, json_object_get(schema, "minLength"), json_object_get(schema, "maxLength"),
                               "character", "characters");
        } else if (streq(t, "array")) {
                buf_puts(b, "an array");
                describe_range(b, json_object_get(schema, "minItems"), json_object_get(schema, "maxItems"),
                               "item", "items");
        } else if (streq(t, "object"))
                buf_puts(b, "an object");
        else if (streq(t, "boolean"))
                buf_puts(b, "a boolean");
        else if (streq(t, "null"))
                buf_puts(b, "null");
        else
                buf_puts(b, "a valid value");
}

static void describe_alternatives(Buf *b, json_t *alts, unsigned depth);

/* What the schema accepts, as a phrase: "an integer between 1 and 200",
 * "one of \"cpu\", \"memory\"", "an integer or a string". */
static void describe(Buf *b, json_t *schema, unsigned depth) {
        json_t *e = json_object_get(schema, "enum");
        json_t *type = json_object_get(schema, "type");
        json_t *alts = json_object_get(schema, "anyOf");
        json_t *c = json_object_get(schema, "const");

        if (!alts)
                alts = json_object_get(schema, "oneOf");

        if (json_is_array(e)) {
                size_t i, n = json_array_size(e);
                json_t *m;

                buf_puts(b, "one of ");
                json_array_foreach(e, i, m) {
                        if (i >= SHOW_ENUM_MAX) {
                                buf_printf(b, ", ... (%zu more)", n - i);
                                break;
                        }
                        if (i > 0)
                                buf_puts(b, ", ");
                        buf_value(b, m, false);
                }
                return;
        }
        if (c) {
                buf_puts(b, "exactly ");
                buf_value(b, c, false);
                return;
        }
        if (json_is_string(type)) {
                describe_type(b, schema, json_string_value(type));
                return;
        }
        if (json_is_array(type) && json_array_size(type) > 0) {
                size_t i, n = json_array_size(type);
                json_t *t;

                json_array_foreach(type, i, t) {
                        if (i > 0)
                                buf_puts(b, i + 1 == n ? " or " : ", ");
                        describe_type(b, schema, json_is_string(t) ? json_string_value(t) : "");
                }
                return;
        }
        if (json_is_array(alts) && json_array_size(alts) > 0) {
                describe_alternatives(b, alts, depth);
                return;
        }
        buf_puts(b, "a valid value");
}

static void describe_alternatives(Buf *b, json_t *alts, unsigned depth) {
        size_t i, n = json_array_size(alts);
        json_t *a;

        if (depth >= SCHEMA_MAX_DEPTH) {
                buf_puts(b, "a valid value");
                return;
        }
        json_array_foreach(alts, i, a) {
                if (i > 0)
                        buf_puts(b, i + 1 == n ? " or " : ", ");
                describe(b, a, depth + 1);
        }
}

/* Validation ---------------------------------------------------------------- */

typedef struct Validator {
        char path[SCHEMA_PATH_MAX];     /* where we are, e.g. "ports[2]" or "result.cpu.count" */
        size_t path_len;
        size_t root_len;                /* length of the root prefix in path */
        const char *root;               /* "arguments", "result", ... */
        bool arguments;                 /* talking about tool arguments: "argument 'x'" */
        char *errbuf;
        size_t errlen;
} Validator;

static size_t path_push(Validator *v, bool index, size_t i, const char *name, size_t name_len) {
        size_t saved = v->path_len;
        Buf b = { .p = v->path, .size = sizeof v->path, .len = v->path_len };

        if (index)
                buf_printf(&b, "[%zu]", i);
        else {
                if (b.len > 0)
                        buf_puts(&b, ".");
                buf_escaped(&b, name, name_len, SHOW_NAME_MAX);
        }
        /* A path that no longer fits ends in "..." rather than lying. */
        if (b.len + 1 >= b.size && b.size > 4)
                memcpy(v->path + b.size - 4, "...", 4);
        v->path_len = b.len;
        return saved;
}

static void path_pop(Validator *v, size_t saved) {
        v->path_len = saved;
        v->path[saved] = '\0';
}

static bool at_root(const Validator *v) {
        return v->path_len <= v->root_len;
}

static const char *noun(const Validator *v) {
        return v->arguments ? "argument" : "field";
}

static _printf_(2, 3) int fail(Validator *v, const char *fmt, ...) {
        char msg[512];
        va_list ap;
        Buf b;

        if (!v->errbuf || v->errlen == 0)
                return -EINVAL;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);

        buf_init(&b, v->errbuf, v->errlen);
        if (at_root(v))
                buf_printf(&b, "%s: %s", v->root, msg);
        else
                buf_printf(&b, "%s '%s': %s", noun(v), v->path, msg);
        return -EINVAL;
}

/* "must be <what the schema accepts> (got <value>)" */
static int fail_expect(Validator *v, json_t *schema, json_t *value, bool with_type, unsigned depth) {
        char want[256], got[128];
        Buf w, g;

        buf_init(&w, want, sizeof want);
        describe(&w, schema, depth);
        buf_init(&g, got, sizeof got);
        buf_value(&g, value, with_type);
        return fail(v, "must be %s (got %s)", want, got);
}

static int validate(Validator *v, json_t *schema, json_t *value, unsigned depth);

static int validate_object(Validator *v, json_t *schema, json_t *value, unsigned depth) {
        json_t *props = json_object_get(schema, "properties");
        json_t *addl = json_object_get(schema, "additionalProperties");
        json_t *required = json_object_get(schema, "required");
        const char *key;
        json_t *elem, *sub;
        size_t i;
        int r;

        /* Unknown names first: a misspelt argument is the likeliest mistake,
         * and saying so beats "missing required argument". */
        json_object_foreach(value, key, elem) {
                bool top = at_root(v);
                size_t saved;

                if (props && json_object_get(props, key))
                        continue;
                if (!addl || json_is_true(addl))
                        continue;

                saved = path_push(v, false, 0, key, strlen(key));
                if (json_is_false(addl)) {
                        char allowed[256];
                        Buf b;
                        const char *pk;
                        json_t *pv;

                        buf_init(&b, allowed, sizeof allowed);
                        json_object_foreach(props, pk, pv) {
                                if (b.len > 0)
                                        buf_puts(&b, ", ");
                                buf_puts(&b, pk);
                        }
                        if (v->errbuf && v->errlen > 0) {
                                Buf e;

                                buf_init(&e, v->errbuf, v->errlen);
                                if (b.len > 0)
                                        buf_printf(&e, "unknown %s '%s' (allowed: %s)", noun(v), v->path,
                                                   allowed);
                                else if (v->arguments && top)
                                        buf_printf(&e, "unknown %s '%s' (this tool takes no arguments)",
                                                   noun(v), v->path);
                                else
                                        buf_printf(&e, "unknown %s '%s' (no %ss are allowed here)",
                                                   noun(v), v->path, noun(v));
                        }
                        path_pop(v, saved);
                        return -EINVAL;
                }
                r = validate(v, addl, elem, depth + 1);
                path_pop(v, saved);
                if (r < 0)
                        return r;
        }

        json_array_foreach(required, i, elem) {
                const char *name = json_string_value(elem);

                if (!name || json_object_get(value, name))
                        continue;
                if (v->errbuf && v->errlen > 0) {
                        size_t saved = path_push(v, false, 0, name, strlen(name));
                        Buf e;

                        buf_init(&e, v->errbuf, v->errlen);
                        buf_printf(&e, "missing required %s '%s'", noun(v), v->path);
                        path_pop(v, saved);
                }
                return -EINVAL;
        }

        /* Schema order, so the first error reported is deterministic. */
        json_object_foreach(props, key, sub) {
                size_t saved;

                elem = json_object_get(value, key);
                if (!elem)
                        continue;
                saved = path_push(v, false, 0, key, strlen(key));
                r = validate(v, sub, elem, depth + 1);
                path_pop(v, saved);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int validate_array(Validator *v, json_t *schema, json_t *value, unsigned depth) {
        json_t *lo = json_object_get(schema, "minItems"), *hi = json_object_get(schema, "maxItems");
        json_t *items = json_object_get(schema, "items");
        size_t n = json_array_size(value), i;
        json_t *elem;
        int r;

        if ((json_is_integer(lo) && (json_int_t) n < json_integer_value(lo)) ||
            (json_is_integer(hi) && (json_int_t) n > json_integer_value(hi))) {
                char want[256];
                Buf w;

                buf_init(&w, want, sizeof want);
                describe(&w, schema, depth);
                return fail(v, "must be %s (got %zu %s)", want, n, n == 1 ? "item" : "items");
        }

        if (!items)
                return 0;
        json_array_foreach(value, i, elem) {
                size_t saved = path_push(v, true, i, NULL, 0);

                r = validate(v, items, elem, depth + 1);
                path_pop(v, saved);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int validate_alternatives(Validator *v, json_t *alts, json_t *value, bool one, unsigned depth) {
        char errors[512], first[512] = "";
        size_t matched = 0, type_matching = 0, i;
        json_t *alt;
        Buf eb;

        buf_init(&eb, errors, sizeof errors);
        json_array_foreach(alts, i, alt) {
                char tmp[512] = "";
                Validator sub = *v;
                int r;

                sub.errbuf = tmp;
                sub.errlen = sizeof tmp;
                r = validate(&sub, alt, value, depth + 1);
                if (r >= 0) {
                        matched++;
                        continue;
                }
                if (!json_is_object(alt) || !schema_type_matches(alt, value))
                        continue;
                type_matching++;
                buf_printf(&eb, "%s(%zu) %s", eb.len > 0 ? "; " : "", i + 1, tmp);
                if (type_matching == 1)
                        memcpy(first, tmp, sizeof first);
        }

        if (one && matched > 1)
                return fail(v, "must match exactly one of the allowed forms, but matches %zu", matched);
        if (matched > 0)
                return 0;

        /* Exactly one alternative has the right type: its message is the
         * useful one, verbatim. */
        if (type_matching == 1) {
                if (v->errbuf && v->errlen > 0)
                        snprintf(v->errbuf, v->errlen, "%s", first);
                return -EINVAL;
        }
        if (type_matching == 0) {
                char want[256], got[128];
                Buf w, g;

                buf_init(&w, want, sizeof want);
                describe_alternatives(&w, alts, depth);
                buf_init(&g, got, sizeof got);
                buf_value(&g, value, true);
                return fail(v, "must be %s (got %s)", want, got);
        }
        return fail(v, "does not match any of the allowed forms: %s", errors);
}

static int validate(Validator *v, json_t *schema, json_t *value, unsigned depth) {
        json_t *e, *c, *lo, *hi, *alts;
        int r;

        if (depth > SCHEMA_MAX_DEPTH)
                return fail(v, "nested too deeply (more than %u levels)", SCHEMA_MAX_DEPTH);
        if (json_is_true(schema))
                return 0;
        if (json_is_false(schema))
                return fail(v, "is not allowed here");
        if (!json_is_object(schema))
                return fail(v, "cannot be checked: the schema is malformed");

        if (!schema_type_matches(schema, value))
                return fail_expect(v, schema, value, true, depth);

        e = json_object_get(schema, "enum");
        if (json_is_array(e)) {
                bool found = false;
                size_t i;
                json_t *m;

                        bool same_type = false;

                json_array_foreach(e, i, m) {
                        if (json_equal(m, value)) {
                                found = true;
                                break;
                        }
                        if (json_typeof(m) == json_typeof(value) ||
                            (json_is_number(m) && json_is_number(value)))
                                same_type = true;
                }
                /* Name the type only when it is what is wrong: sort_by 5
                 * says "got number 5", sort_by "disk" says "got \"disk\"". */
                if (!found)
                        return fail_expect(v, schema, value, !same_type, depth);
        }

        c = json_object_get(schema, "const");
        if (c && !json_equal(c, value))
                return fail_expect(v, schema, value, false, depth);

        if (json_is_number(value)) {
                lo = json_object_get(schema, "minimum");
                hi = json_object_get(schema, "maximum");
                if ((json_is_number(lo) && number_cmp(value, lo) < 0) ||
                    (json_is_number(hi) && number_cmp(value, hi) > 0))
                        return fail_expect(v, schema, value, false, depth);
        }

        if (json_is_string(value)) {
                size_t n = utf8_length(json_string_value(value), json_string_length(value));

                lo = json_object_get(schema, "minLength");
                hi = json_object_get(schema, "maxLength");
                if ((json_is_integer(lo) && (json_int_t) n < json_integer_value(lo)) ||
                    (json_is_integer(hi) && (json_int_t) n > json_integer_value(hi))) {
                        char want[256];
                        Buf w;

                        buf_init(&w, want, sizeof want);
                        describe(&w, schema, depth);
                        return fail(v, "must be %s (got %zu %s)", want, n, n == 1 ? "character" : "characters");
                }
        }

        if (json_is_array(value)) {
                r = validate_array(v, schema, value, depth);
                if (r < 0)
                        return r;
        }

        if (json_is_object(value)) {
                r = validate_object(v, schema, value, depth);
                if (r < 0)
                        return r;
        }

        alts = json_object_get(schema, "anyOf");
        if (json_is_array(alts)) {
                r = validate_alternatives(v, alts, value, false, depth);
                if (r < 0)
                        return r;
        }
        alts = json_object_get(schema, "oneOf");
        if (json_is_array(alts)) {
                r = validate_alternatives(v, alts, value, true, depth);
                if (r < 0)
                        return r;
        }
        return 0;
}

int schema_validate(json_t *schema, json_t *value, const char *path, char *errbuf, size_t errlen) {
        Validator v = {
                .errbuf = errbuf,
                .errlen = errlen,
        };
        Buf b;

        if (errbuf && errlen > 0)
                errbuf[0] = '\0';
        if (!path || !*path)
                path = "arguments";
        v.root = path;
        v.arguments = streq(path, "arguments");

        /* For arguments the root is implicit ("argument 'limit'"); for other
         * values the path starts with the root ("field 'result.cpu.count'"). */
        buf_init(&b, v.path, sizeof v.path);
        if (!v.arguments)
                buf_escaped(&b, path, strlen(path), SHOW_NAME_MAX);
        v.path_len = v.root_len = b.len;

        if (!schema || !value)
                return fail(&v, "cannot be checked: %s is missing", schema ? "the value" : "the schema");
        return validate(&v, schema, value, 0);
}

/* Schema self-check ------------------------------------------------------- */

static const char *const supported_keywords[] = {
        "type",      "properties", "required",  "enum",     "const",                "minimum",
        "maximum",   "minLength",  "maxLength", "items",    "minItems",             "maxItems",
        "anyOf",     "oneOf",      "title",     "default",  "additionalProperties", "description",
        "examples",
};

typedef struct Checker {
        char path[SCHEMA_PATH_MAX];     /* location inside the schema, e.g. "properties.limit" */
        size_t path_len;
        char *errbuf;
        size_t errlen;
} Checker;

static _printf_(2, 3) int check_fail(Checker *c, const char *fmt, ...) {
        char msg[384];
        va_list ap;

        if (!c->errbuf || c->errlen == 0)
                return -EINVAL;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);

        if (c->path_len == 0)
                snprintf(c->errbuf, c->errlen, "schema: %s", msg);
        else
                snprintf(c->errbuf, c->errlen, "schema at '%s': %s", c->path, msg);
        return -EINVAL;
}

static size_t check_push(Checker *c, const char *a, const char *name) {
        size_t saved = c->path_len;
        Buf b = { .p = c->path, .size = sizeof c->path, .len = c->path_len };

        if (b.len > 0)
                buf_puts(&b, ".");
        buf_puts(&b, a);
        if (name) {
                buf_puts(&b, ".");
                buf_escaped(&b, name, strlen(name), SHOW_NAME_MAX);
        }
        c->path_len = b.len;
        return saved;
}

static size_t check_push_index(Checker *c, const char *a, size_t i) {
        size_t saved = c->path_len;
        Buf b = { .p = c->path, .size = sizeof c->path, .len = c->path_len };

        buf_printf(&b, "%s%s[%zu]", b.len > 0 ? "." : "", a, i);
        c->path_len = b.len;
        return saved;
}

static void check_pop(Checker *c, size_t saved) {
        c->path_len = saved;
        c->path[saved] = '\0';
}

static bool schema_allows_type(json_t *schema, const char *t) {
        json_t *type = json_object_get(schema, "type");
        size_t i;
        json_t *m;

        if (!type)
                return true;
        if (json_is_string(type))
                return streq(json_string_value(type), t) ||
                       (streq(t, "number") && streq(json_string_value(type), "integer"));
        json_array_foreach(type, i, m)
                if (json_is_string(m) && (streq(json_string_value(m), t) ||
                                          (streq(t, "number") && streq(json_string_value(m), "integer"))))
                        return true;
        return false;
}

static int check_count(Checker *c, json_t *schema, const char *lo_name, const char *hi_name, const char *t) {
        json_t *lo = json_object_get(schema, lo_name), *hi = json_object_get(schema, hi_name);

        if (lo && (!json_is_integer(lo) || json_integer_value(lo) < 0))
                return check_fail(c, "'%s' must be a non-negative integer", lo_name);
        if (hi && (!json_is_integer(hi) || json_integer_value(hi) < 0))
                return check_fail(c, "'%s' must be a non-negative integer", hi_name);
        if (lo && hi && json_integer_value(lo) > json_integer_value(hi))
                return check_fail(c, "'%s' is greater than '%s'", lo_name, hi_name);
        if ((lo || hi) && !schema_allows_type(schema, t))
                return check_fail(c, "'%s'/'%s' apply only to type '%s'", lo_name, hi_name, t);
        return 0;
}

static int check(Checker *c, json_t *schema, unsigned depth);

static int check_sub(Checker *c, json_t *sub, unsigned depth, const char *a, const char *name) {
        size_t saved = check_push(c, a, name);
        int r = check(c, sub, depth + 1);

        check_pop(c, saved);
        return r;
}

static int check_alternatives(Checker *c, json_t *schema, const char *kw, unsigned depth) {
        json_t *alts = json_object_get(schema, kw), *alt;
        size_t i;
        int r;

        if (!alts)
                return 0;
        if (!json_is_array(alts) || json_array_size(alts) == 0)
                return check_fail(c, "'%s' must be a non-empty array of schemas", kw);
        json_array_foreach(alts, i, alt) {
                size_t saved = check_push_index(c, kw, i);

                r = check(c, alt, depth + 1);
                check_pop(c, saved);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int check(Checker *c, json_t *schema, unsigned depth) {
        json_t *type, *props, *req, *e, *lo, *hi, *items, *addl, *m, *d;
        const char *key;
        size_t i;
        int r;

        if (depth > SCHEMA_MAX_DEPTH)
                return check_fail(c, "nested too deeply (more than %u levels)", SCHEMA_MAX_DEPTH);
        if (!json_is_object(schema))
                return check_fail(c, "must be an object");

        json_object_foreach(schema, key, m) {
                bool known = false;

                for (i = 0; i < ELEMENTSOF(supported_keywords); i++)
                        if (streq(key, supported_keywords[i])) {
                                known = true;
                                break;
                        }
                if (!known) {
                        char name[SHOW_NAME_MAX * 4 + 8];
                        Buf b;

                        buf_init(&b, name, sizeof name);
                        buf_escaped(&b, key, strlen(key), SHOW_NAME_MAX);
                        return check_fail(c, "unsupported keyword '%s'", name);
                }
        }

        type = json_object_get(schema, "type");
        if (type) {
                if (json_is_string(type)) {
                        if (!type_name_valid(json_string_value(type)))
                                return check_fail(c, "unknown type '%s'", json_string_value(type));
                } else if (json_is_array(type) && json_array_size(type) > 0) {
                        json_array_foreach(type, i, m) {
                                if (!json_is_string(m) || !type_name_valid(json_string_value(m)))
                                        return check_fail(c, "'type' array must hold type names");
                                for (size_t j = 0; j < i; j++)
                                        if (json_equal(json_array_get(type, j), m))
                                                return check_fail(c, "'type' lists '%s' twice",
                                                                  json_string_value(m));
                        }
                } else
                        return check_fail(c, "'type' must be a type name or a non-empty array of them");
        }

        m = json_object_get(schema, "title");
        if (m && !json_is_string(m))
                return check_fail(c, "'title' must be a string");
        m = json_object_get(schema, "description");
        if (m && !json_is_string(m))
                return check_fail(c, "'description' must be a string");

        e = json_object_get(schema, "enum");
        if (e) {
                if (!json_is_array(e) || json_array_size(e) == 0)
                        return check_fail(c, "'enum' must be a non-empty array");
                json_array_foreach(e, i, m)
                        if (!schema_type_matches(schema, m))
                                return check_fail(c, "'enum' member %zu does not match 'type'", i);
        }
        m = json_object_get(schema, "const");
        if (m && !schema_type_matches(schema, m))
                return check_fail(c, "'const' does not match 'type'");

        m = json_object_get(schema, "examples");
        if (m && !json_is_array(m))
                return check_fail(c, "'examples' must be an array");

        lo = json_object_get(schema, "minimum");
        hi = json_object_get(schema, "maximum");
        if (lo && !json_is_number(lo))
                return check_fail(c, "'minimum' must be a number");
        if (hi && !json_is_number(hi))
                return check_fail(c, "'maximum' must be a number");
        if (lo && hi && number_cmp(lo, hi) > 0)
                return check_fail(c, "'minimum' is greater than 'maximum'");
        if ((lo || hi) && !schema_allows_type(schema, "number"))
                return check_fail(c, "'minimum'/'maximum' apply only to types 'integer' and 'number'");

        r = check_count(c, schema, "minLength", "maxLength", "string");
        if (r < 0)
                return r;
        r = check_count(c, schema, "minItems", "maxItems", "array");
        if (r < 0)
                return r;

        items = json_object_get(schema, "items");
        if (items) {
                if (!json_is_object(items))
                        return check_fail(c, "'items' must be a schema object (tuple form is not supported)");
                if (!schema_allows_type(schema, "array"))
                        return check_fail(c, "'items' applies only to type 'array'");
                r = check_sub(c, items, depth, "items", NULL);
                if (r < 0)
                        return r;
        }

        props = json_object_get(schema, "properties");
        if (props) {
                if (!json_is_object(props))
                        return check_fail(c, "'properties' must be an object of schemas");
                if (!schema_allows_type(schema, "object"))
                        return check_fail(c, "'properties' applies only to type 'object'");
                json_object_foreach(props, key, m) {
                        r = check_sub(c, m, depth, "properties", key);
                        if (r < 0)
                                return r;
                }
        }

        addl = json_object_get(schema, "additionalProperties");
        if (addl) {
                if (!schema_allows_type(schema, "object"))
                        return check_fail(c, "'additionalProperties' applies only to type 'object'");
                if (json_is_object(addl)) {
                        r = check_sub(c, addl, depth, "additionalProperties", NULL);
                        if (r < 0)
                                return r;
                } else if (!json_is_boolean(addl))
                        return check_fail(c, "'additionalProperties' must be a boolean or a schema");
        }

        req = json_object_get(schema, "required");
        if (req) {
                if (!json_is_array(req))
                        return check_fail(c, "'required' must be an array of property names");
                if (!schema_allows_type(schema, "object"))
                        return check_fail(c, "'required' applies only to type 'object'");
                json_array_foreach(req, i, m) {
                        if (!json_is_string(m))
                                return check_fail(c, "'required' must be an array of property names");
                        /* A required name that is not declared can never be
                         * satisfied when additionalProperties is false: a typo. */
                        if (json_is_false(addl) && !json_object_get(props, json_string_value(m)))
                                return check_fail(c, "required property '%s' is not declared in 'properties'",
                                                  json_string_value(m));
                        for (size_t j = 0; j < i; j++)
                                if (json_equal(json_array_get(req, j), m))
                                        return check_fail(c, "'required' lists '%s' twice",
                                                          json_string_value(m));
                }
        }

        r = check_alternatives(c, schema, "anyOf", depth);
        if (r < 0)
                return r;
        r = check_alternatives(c, schema, "oneOf", depth);
        if (r < 0)
                return r;

        /* A default the schema itself rejects would be a lie in tools/list. */
        d = json_object_get(schema, "default");
        if (d) {
                char err[384];

                if (schema_validate(schema, d, "default", err, sizeof err) < 0)
                        return check_fail(c, "default value does not match: %s", err);
        }
        return 0;
}

int schema_check(json_t *schema, char *errbuf, size_t errlen) {
        Checker c = {
                .errbuf = errbuf,
                .errlen = errlen,
        };

        if (errbuf && errlen > 0)
                errbuf[0] = '\0';
        if (!schema)
                return check_fail(&c, "missing");
        return check(&c, schema, 0);
}
