/* SPDX-License-Identifier: MIT */
#pragma once

/* The daemon's shared state: config, auth chain, audit writer, worker pool.
 * Owned by main(); transports borrow it. */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "audit/audit.h"
#include "scopes/auth.h"
#include "scopes/approvals.h"
#include "scopes/ratelimit.h"
#include "scopes/tokenstore.h"
#include "server/config.h"
#include "server/metrics.h"
#include "server/worker.h"
#include "tools/netpolicy.h"
#include "tools/tool.h"

typedef struct Server {
        Config *config;                 /* borrowed */
        Auth *auth;                     /* owned */
        Audit *audit;                   /* owned */
        WorkerPool *pool;               /* owned */
        RateLimit *rl_ip;               /* failed authentications per client IP */
        RateLimit *rl_identity;         /* scope denials per verified subject */
        ApprovalStore *approvals;       /* pending and decided approvals */
        TokenStore *tokens;             /* revocations (SQLite) */
        pthread_mutex_t stepup_lock;    /* unused single-use step-up token ids */
        char **stepup_unused;
        size_t n_stepup_unused;
        NetPolicy *net_policy;          /* owned; tool_env.net borrows it */
        ToolEnv tool_env;

        atomic_bool stopping;           /* SIGTERM seen: refuse new calls, drain */
        atomic_long active_calls;       /* tool calls queued or running or awaiting write */
        atomic_uint approvals_waiting;  /* workers blocked on a webhook or an elicitation */
        unsigned max_approvals_waiting; /* half the workers: the rest keep serving calls */
        atomic_uint_fast64_t next_conn_id;
        atomic_uint_fast64_t next_request;
        char boot_id[17];               /* random, prefixes request ids */
        int64_t started_usec;

        /* counters for /health (and later /metrics) */
        atomic_uint_fast64_t n_requests;
        atomic_uint_fast64_t n_auth_failures;
        atomic_uint_fast64_t n_tool_calls;
        atomic_uint_fast64_t n_tool_errors;
        Metrics metrics;                /* labelled counters for /metrics */
} Server;

/* Builds auth, audit and the worker pool from the config. Logs and returns
 * a negative errno on failure. */
int server_init(Server *s, Config *c);
void server_done(Server *s);

static inline uint64_t server_new_conn_id(Server *s) {
        return atomic_fetch_add(&s->next_conn_id, 1) + 1;
}
