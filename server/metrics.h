/* SPDX-License-Identifier: MIT */
#pragma once

/* Counters behind GET /metrics (Prometheus text format 0.0.4). Lock-free:
 * every counter is an atomic the hot paths bump; rendering reads them. */

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "scopes/auth.h"
#include "tools/tool.h"

#define METRICS_MAX_TOOLS 64

typedef enum CallOutcome {
        OUTCOME_SUCCESS,                /* ran and succeeded */
        OUTCOME_ERROR,                  /* ran and failed (incl. timeout, cancellation) */
        OUTCOME_DENIED,                 /* scope, constraint or a denied/unusable approval */
        OUTCOME_APPROVAL_REQUIRED,      /* answered -32004 / 409 pending */
        OUTCOME_INVALID_ARGUMENTS,
        OUTCOME_REFUSED,                /* busy, shutting down, internal error */
        _OUTCOME_MAX,
} CallOutcome;

/* Upper bounds of the call-duration histogram, in seconds. */
#define METRICS_N_BUCKETS 14

typedef struct Metrics {
        atomic_uint_fast64_t tool_calls[METRICS_MAX_TOOLS][_OUTCOME_MAX];
        atomic_uint_fast64_t duration_bucket[METRICS_N_BUCKETS]; /* non-cumulative; +Inf = count */
        atomic_uint_fast64_t duration_count;
        atomic_uint_fast64_t duration_sum_usec;
        atomic_uint_fast64_t auth_failures[_AUTH_ERR_MAX];
        atomic_int websocket_sessions;
} Metrics;

void metrics_tool_call(Metrics *m, const Tool *t, CallOutcome o);
void metrics_tool_duration(Metrics *m, uint64_t usec);
void metrics_auth_failure(Metrics *m, AuthError e);

typedef struct Server Server;

/* The whole exposition, malloc'd. `http_connections`: open HTTP connections
 * (WebSocket ones included). Returns 0 or -ENOMEM. */
int metrics_render(Server *srv, int http_connections, char **ret, size_t *ret_len);
