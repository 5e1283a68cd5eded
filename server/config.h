/* SPDX-License-Identifier: MIT */
#pragma once

/* Daemon configuration: one table of keys (section, key, type, default, env
 * override, description) drives the YAML parser, the env overrides,
 * --check-config and the generated docs/configuration.md. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct Config {
        /* top level */
        char *state_dir;                /* state_dir / SYSTEMMANAGER_STATE_DIR, default /var/lib/systemmanager */

        /* server */
        char *server_host;              /* default "127.0.0.1" */
        int server_port;                /* default 8080; 0 disables the TCP listener */
        char *server_unix_socket;       /* optional path; NULL = none */
        char **server_allowed_origins;  /* NULL-terminated, not NULL after init; empty = loopback origins only */
        char *server_tls_cert;          /* optional */
        char *server_tls_key;           /* optional */
        uint64_t server_max_body_bytes;        /* 1 MiB */
        uint64_t server_max_header_bytes;      /* 8 KiB */
        uint64_t server_max_ws_message_bytes;  /* 1 MiB */
        int server_max_json_depth;             /* 64 */
        int server_max_connections;            /* 1024 */
        int server_idle_timeout;               /* seconds, 60 */
        int server_header_timeout;             /* seconds, 10 (slowloris) */
        int server_max_inflight_per_connection;/* 16 */
        int server_worker_threads;             /* 0 = number of CPUs, capped at 16 */
        int server_shutdown_timeout;           /* seconds to drain in-flight calls, 30 */

        /* auth */
        char *auth_mode;                /* "disabled" | "optional" | "required"; default "optional" */
        char *auth_shared_secret;       /* SYSTEMMANAGER_SHARED_SECRET or YAML; >= 32 bytes; never printed */
        char *auth_shared_secret_file;  /* file holding the secret */
        uint64_t auth_max_token_bytes;  /* 8192 */
        int64_t auth_max_ttl;           /* seconds, default 30 days */
        bool auth_allow_query_token;    /* false */
        bool auth_allow_disabled_on_network; /* false: auth.mode disabled refused on a non-loopback listener */
        char **auth_api_keys;           /* "NAME:SHA256HEX:SCOPES" */
        char **auth_basic_users;        /* "USER:CRYPT-HASH:SCOPES" */
        char *auth_bootstrap_token;     /* secret; SYSTEMMANAGER_BOOTSTRAP_TOKEN */
        char *auth_bootstrap_scopes;    /* default "admin" */
        char *auth_bootstrap_expires_at;/* ISO-8601 or epoch; unset = no expiry */

        /* audit */
        char *audit_file;               /* default <state_dir>/audit.log unless set; SYSTEMMANAGER_AUDIT_LOG */
        int audit_checkpoint_every;     /* lines between sealed checkpoints, 1000 */
        bool audit_journald;            /* mirror each line to journald, false */

        /* tools */
        int tools_timeout;              /* seconds, 30 */
        int tools_long_timeout;         /* seconds, 600 */
        uint64_t tools_max_output_bytes;/* 1 MiB; SYSTEMMANAGER_MAX_OUTPUT_BYTES */

        /* jwt */
        char *jwt_secret;               /* secret; SYSTEMMANAGER_JWT_SECRET */
        char *jwt_secret_file;
        char *jwt_jwks_file;
        char *jwt_jwks;                 /* inline JWKS JSON */
        char *jwt_jwks_url;
        int64_t jwt_jwks_cache_ttl;     /* seconds, 1h */
        int64_t jwt_jwks_fetch_timeout; /* seconds, 5 */
        char **jwt_allowed_algorithms;  /* default HS256,RS256,ES256,EdDSA */
        char *jwt_audience;
        char *jwt_issuer;

        /* network (diagnostics allowlist) */
        char **network_allowed_cidrs;
        char **network_denied_cidrs;
        char **network_allowed_ports;   /* "22", "8000-8999" */

        /* filesystem */
        char **filesystem_allowed_paths;
        char **filesystem_denied_patterns;

        /* docker */
        char *docker_socket;

        /* packages */
        char *packages_backend;         /* auto | apt | packagekit */

        /* service_tokens */
        char *service_tokens_db;        /* SQLite file; default <state_dir>/tokens.db; SYSTEMMANAGER_SERVICE_TOKEN_DB */

        /* approval */
        int64_t approval_timeout;       /* seconds, 15 min */
        char **approval_required_for;   /* "critical", "high", or tool names */
        char *approval_mode;            /* queue | webhook */
        char *approval_webhook_url;     /* SYSTEMMANAGER_APPROVAL_WEBHOOK */
        int64_t approval_webhook_timeout;/* seconds, 10 */
        int64_t approval_elicitation_timeout;/* seconds, 120 */
        char *approval_default_action;  /* deny | queue: when the webhook does not approve in time */

        /* rate_limit (failed authentication) */
        int rate_limit_auth_failures_per_ip;       /* 10 */
        int rate_limit_auth_failures_per_identity; /* 5 */
        int64_t rate_limit_window;                 /* seconds, 60 */
} Config;

/* Fills *c with built-in defaults. Returns 0 or -ENOMEM. */
int config_init_defaults(Config *c);

/* Loads YAML from `path` over the current values. Unknown keys, wrong types
 * and out-of-range values are errors: each is reported as one line
 * "FILE:LINE: message" to `errors` (may be NULL). Returns 0, -EINVAL when any
 * error was found (all of them are reported, not just the first), -ENOENT /
 * -EACCES / -EISDIR etc. when the file cannot be read (nothing is written to
 * `errors` then: log it with %m). Also refused with -EINVAL: files over 1 MiB,
 * files writable by others, auth.shared_secret in a file readable by others,
 * anchors/aliases/tags, several documents. On failure *c is unchanged. */
int config_load_file(Config *c, const char *path, FILE *errors);

/* Applies SYSTEMMANAGER_* environment overrides (every key has
 * SYSTEMMANAGER_<SECTION>_<KEY>, plus the origin's names such as
 * SYSTEMMANAGER_SHARED_SECRET, SYSTEMMANAGER_AUDIT_LOG,
 * SYSTEMMANAGER_MAX_OUTPUT_BYTES, SYSTEMMANAGER_REQUIRE_AUTH; the canonical
 * name wins when both are set). `envp` is an environ-style array (pass
 * `environ`; may be NULL). Bad values, and unknown SYSTEMMANAGER_<SECTION>_*
 * names for a known section, are reported as "env VAR: message"; other
 * SYSTEMMANAGER_* variables (client settings) are ignored. Returns 0,
 * -EINVAL (then *c is unchanged) or -ENOMEM. */
int config_apply_env(Config *c, char **envp, FILE *errors);

/* Cross-field checks and derived defaults (audit_file under state_dir, ...).
 * Call once, after the file and the environment. Returns 0, -EINVAL with
 * messages to `errors` (nothing derived then) or -ENOMEM. */
int config_finalize(Config *c, FILE *errors);

/* Frees every owned member (wiping secrets) and zeroes the struct. */
void config_done(Config *c);

/* Writes the Markdown configuration reference (one row per key: YAML key,
 * env override, type, default, description, then an example YAML file)
 * generated from the key table. docs/configuration.md is its output
 * (`systemmanager-mcp --dump-config-reference`); test_config checks that. */
void config_dump_reference(FILE *f);
