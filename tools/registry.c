/* SPDX-License-Identifier: MIT */

/* The tool registry: one catalogue built from the family tables.
 *
 * tool_registry_init() runs once at startup, single-threaded: it parses every
 * row's schemas, checks the row (the registry self-test) and keeps the parsed
 * schemas. After that everything here is read-only and safe to use from any
 * number of worker threads: lookups walk an immutable array, schemas are only
 * read, and tool_describe() hands out deep copies so callers never share
 * mutable JSON with each other. */

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "tools/tool.h"

#define TOOL_NAME_MAX 64
#define TOOL_FLAGS_KNOWN (TOOL_UNTRUSTED_OUTPUT | TOOL_OPEN_WORLD | TOOL_LONG_RUNNING | TOOL_IDEMPOTENT)

typedef struct Family {
        const char *name;
        const Tool *table;              /* {}-terminated */
} Family;

/* Adding a family is one line here (and its table in its own file). */
static const Family families[] = {
        { "system", tools_system },
        { "network", tools_network },
        { "diag", tools_diag },
        { "files", tools_files },
        { "containers", tools_containers },
        { "packages", tools_packages },
};

typedef struct Entry {
        const Tool *tool;               /* borrowed from a family table (static storage) */
        json_t *input;                  /* owned, parsed input_schema */
        json_t *output;                 /* owned, parsed output_schema */
} Entry;

static Entry *registry;
static size_t registry_size;
static bool registry_ready;

static const char *const risk_names[_RISK_MAX] = {
        [RISK_LOW] = "low",
        [RISK_MODERATE] = "moderate",
        [RISK_HIGH] = "high",
        [RISK_CRITICAL] = "critical",
};

const char *risk_to_string(Risk r) {
        if (r < 0 || r >= _RISK_MAX)
                return NULL;
        return risk_names[r];
}

int tool_error(ToolCall *call, int r, const char *fmt, ...) {
        va_list ap;

        assert(call);
        assert(fmt);

        va_start(ap, fmt);
        vsnprintf(call->error, sizeof call->error, fmt, ap);
        va_end(ap);

        /* A handler that reports an error must fail; never let a stray
         * non-negative value turn an error into success. */
        return r < 0 ? r : -EIO;
}

void tool_progress(ToolCall *call, double progress, double total, const char *message) {
        if (!call || !call->progress)
                return;
        call->progress(call->progress_userdata, progress, total, message);
}

/* Scopes that only look: their tools may be advertised as read-only.
 * network:diag probes other hosts but changes nothing here. Every value is
 * listed (no default) so that adding a scope forces a decision here. */
static bool scope_is_observing(Scope s) {
        switch (s) {
        case SCOPE_SYSTEM_READ:
        case SCOPE_NETWORK_READ:
        case SCOPE_CONTAINER_READ:
        case SCOPE_DOCKER_READ:
        case SCOPE_FILE_READ:
        case SCOPE_NETWORK_DIAG:
        case SCOPE_HEALTH_READ:
        case SCOPE_METRICS_READ:
        case SCOPE_ADMIN_TOKENS_READ:
                return true;
        case SCOPE_NETWORK_ADMIN:
        case SCOPE_CONTAINER_WRITE:
        case SCOPE_CONTAINER_ADMIN:
        case SCOPE_DOCKER_ADMIN:
        case SCOPE_SYSTEM_ADMIN:
        case SCOPE_APPROVALS_WRITE:
        case SCOPE_ADMIN_TOKENS_WRITE:
        case _SCOPE_MAX:
        case _SCOPE_INVALID:
                return false;
        }
        return false;
}

static bool tool_read_only(const Tool *t) {
        return (t->risk == RISK_LOW || t->risk == RISK_MODERATE) && scope_is_observing(t->scope);
}

static bool tool_name_valid(const char *name) {
        size_t n;

        if (!name || !(name[0] >= 'a' && name[0] <= 'z'))
                return false;
        for (n = 1; name[n]; n++) {
                char c = name[n];

                if (n >= TOOL_NAME_MAX)
                        return false;
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
                        return false;
        }
        return true;
}

static void registry_free(Entry *e, size_t n) {
        for (size_t i = 0; i < n; i++) {
                json_decref(e[i].input);
                json_decref(e[i].output);
        }
        free(e);
}

static int parse_schema(const char *text, const char *which, json_t **ret, char *err, size_t errlen) {
        _cleanup_json_ json_t *schema = NULL;
        json_error_t jerr;
        char cerr[384];
        json_t *type;

        if (!text) {
                snprintf(err, errlen, "%s schema is missing", which);
                return -EINVAL;
        }
        /* Duplicate keys in a schema literal are always a mistake. */
        schema = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
        if (!schema) {
                snprintf(err, errlen, "%s schema is not valid JSON: %s (line %d, column %d)", which, jerr.text,
                         jerr.line, jerr.column);
                return -EINVAL;
        }
        if (schema_check(schema, cerr, sizeof cerr) < 0) {
                snprintf(err, errlen, "%s %s", which, cerr);
                return -EINVAL;
        }
        type = json_object_get(schema, "type");
        if (!json_is_string(type) || !streq(json_string_value(type), "object")) {
                snprintf(err, errlen, "%s schema must have \"type\":\"object\"", which);
                return -EINVAL;
        }
        *ret = TAKE_PTR(schema);
        return 0;
}

static int check_row(const Tool *t, const Entry *done, size_t n_done, Entry *ret, char *err, size_t errlen) {
        _cleanup_json_ json_t *input = NULL, *output = NULL;
        int r;

        if (!tool_name_valid(t->name)) {
                snprintf(err, errlen, "name must match ^[a-z][a-z0-9_]{0,63}$");
                return -EINVAL;
        }
        for (size_t i = 0; i < n_done; i++)
                if (streq(done[i].tool->name, t->name)) {
                        snprintf(err, errlen, "name is used by another tool");
                        return -EINVAL;
                }
        if (!t->description || !t->description[0]) {
                snprintf(err, errlen, "description is missing");
                return -EINVAL;
        }
        if (t->title && !t->title[0]) {
                snprintf(err, errlen, "title is empty (leave it unset to derive one from the name)");
                return -EINVAL;
        }
        if (t->scope < 0 || t->scope >= _SCOPE_MAX) {
                snprintf(err, errlen, "scope %d is not a valid scope", (int) t->scope);
                return -EINVAL;
        }
        if (t->risk < 0 || t->risk >= _RISK_MAX) {
                snprintf(err, errlen, "risk %d is not a valid risk", (int) t->risk);
                return -EINVAL;
        }
        if (t->flags & ~(unsigned) TOOL_FLAGS_KNOWN) {
                snprintf(err, errlen, "unknown flags 0x%x", t->flags & ~(unsigned) TOOL_FLAGS_KNOWN);
                return -EINVAL;
        }
        if (!t->handler) {
                snprintf(err, errlen, "handler is missing");
                return -EINVAL;
        }

        r = parse_schema(t->input_schema, "input", &input, err, errlen);
        if (r < 0)
                return r;
        /* Unknown arguments must be refused, not ignored: a misspelt "limt"
         * silently falling back to a default is how agents get surprised. */
        if (!json_is_false(json_object_get(input, "additionalProperties"))) {
                snprintf(err, errlen, "input schema must have \"additionalProperties\":false");
                return -EINVAL;
        }
        r = parse_schema(t->output_schema, "output", &output, err, errlen);
        if (r < 0)
                return r;

        *ret = (Entry) {
                .tool = t,
                .input = TAKE_PTR(input),
                .output = TAKE_PTR(output),
        };
        return 0;
}

static size_t table_rows(const Tool *table) {
        size_t n = 0;

        /* The terminator is the all-empty row; a row with only some fields
         * missing is a bad row, reported by check_row(). */
        for (const Tool *t = table; t->name || t->handler || t->description; t++)
                n++;
        return n;
}

/* Checks the rows of one table and appends them to entries[*n...]. */
static int check_table(const Tool *table, const char *family, Entry *entries, size_t *n, char **ret_error) {
        char err[512], msg[768];
        size_t row = 0;
        int r;

        for (const Tool *t = table; t->name || t->handler || t->description; t++, row++) {
                r = check_row(t, entries, *n, &entries[*n], err, sizeof err);
                if (r < 0) {
                        if (tool_name_valid(t->name))
                                snprintf(msg, sizeof msg, "tool '%s' (%s family, row %zu): %s", t->name, family,
                                         row, err);
                        else
                                snprintf(msg, sizeof msg, "tool at row %zu of the %s family: %s", row, family,
                                         err);
                        if (ret_error)
                                *ret_error = strdup(msg);
                        return r;
                }
                (*n)++;
        }
        return 0;
}

int tool_table_check(const Tool *table, const char *family, char **ret_error) {
        Entry *entries;
        size_t n = 0, total;
        int r;

        if (!table)
                return -EINVAL;
        total = table_rows(table);
        entries = calloc(total ? total : 1, sizeof *entries);
        if (!entries)
                return -ENOMEM;
        r = check_table(table, family ? family : "unnamed", entries, &n, ret_error);
        registry_free(entries, n);
        return r;
}

int tool_registry_init(char **ret_error) {
        Entry *entries;
        size_t n = 0, total = 0;
        int r;

        if (registry_ready)
                return 0;

        for (size_t f = 0; f < ELEMENTSOF(families); f++)
                total += table_rows(families[f].table);

        entries = calloc(total ? total : 1, sizeof *entries);
        if (!entries)
                return -ENOMEM;

        /* Names must be unique across families too: check_row() looks at
         * every entry accepted so far. */
        for (size_t f = 0; f < ELEMENTSOF(families); f++) {
                r = check_table(families[f].table, families[f].name, entries, &n, ret_error);
                if (r < 0) {
                        registry_free(entries, n);
                        return r;
                }
        }

        registry = entries;
        registry_size = n;
        registry_ready = true;
        return 0;
}

static const Entry *entry_of(const Tool *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < registry_size; i++)
                if (registry[i].tool == t)
                        return &registry[i];
        return NULL;
}

const Tool *tool_find(const char *name) {
        if (!name)
                return NULL;
        for (size_t i = 0; i < registry_size; i++)
                if (streq(registry[i].tool->name, name))
                        return registry[i].tool;
        return NULL;
}

size_t tool_count(void) {
        return registry_size;
}

const Tool *tool_at(size_t i) {
        if (i >= registry_size)
                return NULL;
        return registry[i].tool;
}

json_t *tool_input_schema(const Tool *t) {
        const Entry *e = entry_of(t);

        return e ? e->input : NULL;
}

json_t *tool_output_schema(const Tool *t) {
        const Entry *e = entry_of(t);

        return e ? e->output : NULL;
}

/* "get_system_status" → "Get system status", for rows without a title. */
static void title_from_name(const char *name, char *buf, size_t size) {
        size_t i;

        for (i = 0; name[i] && i + 1 < size; i++) {
                char c = name[i] == '_' ? ' ' : name[i];

                if (i == 0 && c >= 'a' && c <= 'z')
                        c = (char) (c - 'a' + 'A');
                buf[i] = c;
        }
        buf[i] = '\0';
}

static int set_new(json_t *o, const char *key, json_t *v) {
        /* json_object_set_new() steals v even when it fails. */
        return v && json_object_set_new(o, key, v) >= 0 ? 0 : -ENOMEM;
}

json_t *tool_describe(const Tool *t) {
        _cleanup_json_ json_t *entry = NULL, *annotations = NULL;
        const Entry *e = entry_of(t);
        char title_buf[TOOL_NAME_MAX + 1];
        const char *title;
        bool ro;

        if (!e)
                return NULL;

        if (t->title)
                title = t->title;
        else {
                title_from_name(t->name, title_buf, sizeof title_buf);
                title = title_buf;
        }
        ro = tool_read_only(t);

        annotations = json_object();
        if (!annotations || set_new(annotations, "title", json_string(title)) < 0 ||
            set_new(annotations, "readOnlyHint", json_boolean(ro)) < 0 ||
            set_new(annotations, "destructiveHint",
                    json_boolean(t->risk == RISK_HIGH || t->risk == RISK_CRITICAL)) < 0 ||
            set_new(annotations, "idempotentHint", json_boolean(ro || (t->flags & TOOL_IDEMPOTENT))) < 0 ||
            set_new(annotations, "openWorldHint", json_boolean(t->flags & TOOL_OPEN_WORLD)) < 0)
                return NULL;

        /* Deep copies: the parsed schemas are shared by all threads and must
         * never be reachable from a value someone else may modify. */
        entry = json_object();
        if (!entry || set_new(entry, "name", json_string(t->name)) < 0 ||
            set_new(entry, "title", json_string(title)) < 0 ||
            set_new(entry, "description", json_string(t->description)) < 0 ||
            set_new(entry, "inputSchema", json_deep_copy(e->input)) < 0 ||
            set_new(entry, "outputSchema", json_deep_copy(e->output)) < 0 ||
            set_new(entry, "annotations", TAKE_PTR(annotations)) < 0)
                return NULL;

        return TAKE_PTR(entry);
}

int tool_validate_args(const Tool *t, json_t *args, char *errbuf, size_t errlen) {
        _cleanup_json_ json_t *empty = NULL;
        json_t *schema = tool_input_schema(t);

        if (!schema) {
                if (errbuf && errlen > 0)
                        snprintf(errbuf, errlen, "unknown tool");
                return -EINVAL;
        }
        /* An absent "arguments" member means no arguments. */
        if (!args) {
                empty = json_object();
                if (!empty)
                        return -ENOMEM;
                args = empty;
        }
        return schema_validate(schema, args, "arguments", errbuf, errlen);
}

static bool check_output_enabled(void) {
        const char *v = getenv("SYSTEMMANAGER_CHECK_OUTPUT");

        return v && streq(v, "1");
}

static void call_reset_output(ToolCall *call) {
        json_decref(call->result);
        call->result = NULL;
        free(call->text);
        call->text = NULL;
}

int tool_run(ToolCall *call) {
        const Tool *t;
        int r;

        assert(call);
        assert(call->tool);

        t = call->tool;
        call_reset_output(call);
        call->error[0] = '\0';

        if (!t->handler)
                return tool_error(call, -EOPNOTSUPP, "tool '%s' has no implementation", t->name);

        r = t->handler(call);
        if (r < 0) {
                /* A failed call returns nothing but its message. */
                call_reset_output(call);
                if (!call->error[0]) {
                        errno = -r;
                        snprintf(call->error, sizeof call->error, "tool '%s' failed: %m", t->name);
                }
                return r;
        }

        if (!call->result) {
                call->result = json_object();
                if (!call->result) {
                        call_reset_output(call);
                        return tool_error(call, -ENOMEM, "out of memory");
                }
        }

        if (check_output_enabled()) {
                _cleanup_json_ json_t *parsed = NULL;
                json_t *schema = tool_output_schema(t);
                char err[384];

                /* A row outside the registry (tests) is checked against its
                 * own schema text. */
                if (!schema && t->output_schema) {
                        parsed = json_loads(t->output_schema, JSON_REJECT_DUPLICATES, NULL);
                        schema = parsed;
                }
                /* A tool that breaks its own outputSchema breaks every client
                 * that trusted tools/list: fail loudly in tests. */
                if (schema && schema_validate(schema, call->result, "result", err, sizeof err) < 0) {
                        call_reset_output(call);
                        return tool_error(call, -EPROTO,
                                          "tool '%s' returned a result that does not match its output schema: %s",
                                          t->name, err);
                }
        }
        return r;
}
