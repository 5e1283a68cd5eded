/* SPDX-License-Identifier: MIT */
#pragma once

/* Who the caller is, as established by the auth chain. Immutable once built,
 * reference counted so a running tool job can keep it after the connection
 * that created it is gone. */

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "scopes/scope.h"

typedef enum AuthMethod {
        AUTH_METHOD_NONE,       /* auth disabled: anonymous */
        AUTH_METHOD_HMAC,
        AUTH_METHOD_JWT,
        AUTH_METHOD_SERVICE_TOKEN,
        AUTH_METHOD_BOOTSTRAP,
        AUTH_METHOD_STDIO,      /* --stdio with no token: the local user */
        AUTH_METHOD_API_KEY,    /* X-API-Key header */
        AUTH_METHOD_BASIC,      /* HTTP Basic */
        _AUTH_METHOD_MAX,
} AuthMethod;

typedef struct Identity {
        atomic_uint n_ref;
        char *subject;          /* "agent" claim / sub */
        char *token_id;         /* jti, may be NULL */
        char token_sha256[17];  /* first 16 hex chars of SHA-256(token), "" if none */
        AuthMethod method;
        ScopeSet scopes;        /* expanded */
        int64_t issued_at;      /* epoch s, 0 if unknown */
        int64_t expires_at;     /* epoch s, 0 if none */
        char *audience;         /* may be NULL */
        char *reason;           /* may be NULL */
        bool auto_approve;
        bool break_glass;
        /* Resource constraints (token claims "containers", "paths", "hosts"):
         * NULL-terminated glob lists that narrow what the scopes reach; NULL =
         * not constrained. */
        char **containers;
        char **paths;
        char **hosts;
} Identity;

/* Allocates an empty identity with one reference. NULL on OOM. */
Identity *identity_new(void);
Identity *identity_ref(Identity *i);
/* Drops one reference; frees on the last. Accepts NULL, returns NULL. */
Identity *identity_unref(Identity *i);
static inline void identity_unrefp(Identity **i) {
        identity_unref(*i);
}
#define _cleanup_identity_ __attribute__((cleanup(identity_unrefp)))

const char *auth_method_to_string(AuthMethod m);

/* Reads the optional constraint claims "containers", "paths", "hosts"
 * (arrays of 1..32 non-empty glob strings of at most 256 bytes) from a claims
 * object into `id`. Returns 0, or -EINVAL with a reason in *ret_detail. */
int identity_set_constraints(Identity *id, json_t *claims, const char **ret_detail);

/* True when `value` matches one of the globs of a constraint list (fnmatch,
 * '*' also crosses '/'), or the list is NULL (unconstrained). */
bool identity_constraint_allows(char *const *globs, const char *value);

/* Claims, expanded scopes, expiry as a JSON object (never the token). */
json_t *identity_to_json(const Identity *i);
