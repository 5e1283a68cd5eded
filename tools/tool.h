/* SPDX-License-Identifier: MIT */
#pragma once

/* The tool catalogue. A Tool row is the single source of truth: tools/list
 * entries, annotations, scope checks, approval policy and audit fields all
 * come from it. Tools never see transports: arguments + a ToolCall in, a
 * structured json_t result (plus readable text) out. */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/timeutil.h"
#include "scopes/scope.h"

typedef enum Risk {
        RISK_LOW,
        RISK_MODERATE,
        RISK_HIGH,
        RISK_CRITICAL,
        _RISK_MAX,
} Risk;

const char *risk_to_string(Risk r);

/* Tool flags. */
enum {
        TOOL_UNTRUSTED_OUTPUT = 1u << 0, /* result carries text from outside our control */
        TOOL_OPEN_WORLD       = 1u << 1, /* talks to things beyond this host */
        TOOL_LONG_RUNNING     = 1u << 2, /* package/image work: long timeout */
        TOOL_IDEMPOTENT       = 1u << 3, /* for non-read-only tools: repeating is harmless */
};

/* Limits and settings tools may consult. Filled from the config by the server. */
struct NetPolicy; /* tools/netpolicy.h */

/* Settings tools consult, filled from the config by server_init(). All
 * pointers are borrowed and live as long as the server. */
typedef struct ToolEnv {
        size_t max_output_bytes;                /* tools.max_output_bytes */
        int timeout_sec;                        /* tools.timeout */
        int long_timeout_sec;                   /* tools.long_timeout (TOOL_LONG_RUNNING) */
        const struct NetPolicy *net;            /* network.* allowlist; NULL = deny every address */
        char *const *allowed_paths;             /* filesystem.allowed_paths */
        char *const *denied_patterns;           /* filesystem.denied_patterns */
        const char *docker_socket;              /* docker.socket */
        const char *packages_backend;           /* packages.backend */
} ToolEnv;

typedef struct ToolCall ToolCall;
typedef int (*ToolHandler)(ToolCall *call);

typedef struct Tool {
        const char *name;
        const char *title;
        const char *description;
        Scope scope;
        Risk risk;
        unsigned flags;
        const char *input_schema;       /* JSON Schema subset, additionalProperties:false */
        const char *output_schema;
        ToolHandler handler;
        /* Optional dry run for approval requests: like a handler, but only
         * describes what the call would do (call->result = the plan). */
        ToolHandler plan;
        /* Optional non-blocking answer (a cache hit) that may run on the event
         * loop: returns -EAGAIN when it cannot answer at once, and the call
         * then goes to a worker as usual. */
        ToolHandler fast;
} Tool;

/* Progress sink: called from the tool's thread; may be NULL. */
typedef void (*ToolProgressFn)(void *userdata, double progress, double total, const char *message);

struct ToolCall {
        const Tool *tool;               /* borrowed */
        json_t *args;                   /* borrowed, already validated against input_schema */
        const ToolEnv *env;             /* borrowed */
        atomic_bool *cancelled;         /* may be NULL; tools poll it in loops */
        uint64_t deadline_usec;         /* CLOCK_MONOTONIC µs; 0 = none. tool_cancelled() is true past it */
        ToolProgressFn progress;
        void *progress_userdata;

        /* Out: on success the handler sets result (owned) and optionally text
         * (owned, malloc'd); on failure it returns a negative errno and fills
         * error with a message that says what to fix. */
        json_t *result;
        char *text;
        char error[512];
};

/* Formats a tool error message into call->error and returns `r` (negative
 * errno), so handlers can `return tool_error(call, -ENOENT, "...", ...)`. */
int tool_error(ToolCall *call, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Emits a progress notification if the caller asked for it. */
void tool_progress(ToolCall *call, double progress, double total, const char *message);

/* True when the caller cancelled the call or its time (tools.timeout, or
 * tools.long_timeout for TOOL_LONG_RUNNING) is up: every loop polls it. */
static inline bool tool_cancelled(const ToolCall *call) {
        return (call->cancelled && atomic_load(call->cancelled)) ||
               (call->deadline_usec && now_usec() >= call->deadline_usec);
}

/* Registry ---------------------------------------------------------------- */

/* Parses every row's schemas and checks that each row is well-formed (name,
 * description, scope, risk, handler, input schema an object schema with
 * additionalProperties:false, output schema an object schema). Must be called
 * once before any other registry function. Returns 0, or -EINVAL with a
 * message naming the row in *ret_error (malloc'd). Not thread-safe; call
 * at startup. */
int tool_registry_init(char **ret_error);

/* Checks a {}-terminated family table against the same row rules without
 * registering it (the registry self-test, usable from tests and tooling).
 * Returns 0, -ENOMEM, or -EINVAL with a message naming the first bad row in
 * *ret_error (malloc'd). Thread-safe; does not need tool_registry_init(). */
int tool_table_check(const Tool *table, const char *family, char **ret_error);

/* Looks up a tool by exact name. NULL when unknown. */
const Tool *tool_find(const char *name);

/* Number of tools, and the i-th in catalogue order (stable). */
size_t tool_count(void);
const Tool *tool_at(size_t i);

/* The parsed input/output schema of a registered tool (borrowed). */
json_t *tool_input_schema(const Tool *t);
json_t *tool_output_schema(const Tool *t);

/* The tools/list entry: name, title, description, inputSchema, outputSchema,
 * annotations (readOnlyHint, destructiveHint, idempotentHint, openWorldHint
 * derived from risk and flags). New reference. */
json_t *tool_describe(const Tool *t);

/* Validates `args` against the tool's input schema. Returns 0, or -EINVAL with
 * a message naming the argument and what is wrong in errbuf. */
int tool_validate_args(const Tool *t, json_t *args, char *errbuf, size_t errlen);

/* Runs the handler. Fills call->result/text or call->error. Returns the
 * handler's result. Validates the structured result against the output schema
 * in debug builds (SYSTEMMANAGER_CHECK_OUTPUT=1 in tests) and turns a
 * non-conforming result into -EPROTO. */
int tool_run(ToolCall *call);

/* Schema validator (the subset our schemas use: type, properties, required,
 * enum, const, minimum, maximum, minLength, maxLength, pattern-free, items,
 * minItems, maxItems, additionalProperties:false, anyOf/oneOf). `path` names
 * the value in messages (e.g. "arguments"). Returns 0 or -EINVAL with a
 * message like "argument 'limit': must be <= 200" in errbuf. */
int schema_validate(json_t *schema, json_t *value, const char *path, char *errbuf, size_t errlen);

/* Checks that a schema itself only uses the supported keywords. */
int schema_check(json_t *schema, char *errbuf, size_t errlen);

/* Tool families: each defines a {}-terminated table. */
extern const Tool tools_system[];
extern const Tool tools_network[];      /* tools/network.c */
extern const Tool tools_diag[];         /* tools/diag.c */
extern const Tool tools_files[];        /* tools/files.c */
extern const Tool tools_containers[];   /* tools/containers.c */
extern const Tool tools_packages[];     /* tools/packages.c */
