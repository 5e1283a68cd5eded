/* SPDX-License-Identifier: MIT */
#pragma once

/* Scopes: what an identity may do. Pure data, no transport knowledge.
 *
 * A ScopeSet is a bit set over the Scope enum. Meta-scopes ("readonly",
 * "admin") exist only in names: scope_parse() expands them. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

typedef enum Scope {
        SCOPE_SYSTEM_READ,
        SCOPE_NETWORK_READ,
        SCOPE_CONTAINER_READ,
        SCOPE_DOCKER_READ,
        SCOPE_FILE_READ,
        SCOPE_NETWORK_DIAG,
        SCOPE_NETWORK_ADMIN,
        SCOPE_CONTAINER_WRITE,
        SCOPE_CONTAINER_ADMIN,
        SCOPE_DOCKER_ADMIN,
        SCOPE_SYSTEM_ADMIN,
        SCOPE_HEALTH_READ,
        SCOPE_METRICS_READ,
        SCOPE_APPROVALS_WRITE,
        SCOPE_ADMIN_TOKENS_READ,
        SCOPE_ADMIN_TOKENS_WRITE,
        _SCOPE_MAX,
        _SCOPE_INVALID = -EINVAL,
} Scope;

typedef uint32_t ScopeSet;

#define SCOPE_BIT(s) ((ScopeSet) 1u << (s))
#define SCOPESET_ALL ((ScopeSet) ((1u << _SCOPE_MAX) - 1u))

/* "system:read" etc. Returns NULL for out-of-range values. Static storage. */
const char *scope_to_string(Scope s);

/* Returns the Scope, or -EINVAL when the name is not a concrete scope
 * (meta-scopes are not concrete: use scope_expand_name()). */
Scope scope_from_string(const char *name);

/* Expands one name (concrete or meta) to a set. Returns 0 and sets *ret, or
 * -EINVAL for an unknown name (*ret untouched). */
int scope_expand_name(const char *name, ScopeSet *ret);

/* The set behind the meta-scope "readonly". */
ScopeSet scope_readonly_set(void);

/* Parses a list of scope names given as a comma and/or space separated string
 * ("readonly, container:write"). Unknown names fail with -EINVAL and, when
 * ret_bad is non-NULL, *ret_bad is a malloc'd copy of the first unknown name. */
int scope_parse_list(const char *list, ScopeSet *ret, char **ret_bad);

/* Same for a JSON array of strings. Non-string members are -EINVAL. */
int scope_parse_json(json_t *array /* borrowed */, ScopeSet *ret, char **ret_bad);

/* A new JSON array of the concrete scope names in the set, in enum order. */
json_t *scopeset_to_json(ScopeSet set);

/* Writes the names in `set`, joined by ", ", into buf (truncated safely).
 * Returns buf. */
char *scopeset_format(ScopeSet set, char *buf, size_t size);

static inline bool scopeset_has(ScopeSet set, Scope s) {
        return s >= 0 && s < _SCOPE_MAX && (set & SCOPE_BIT(s));
}
