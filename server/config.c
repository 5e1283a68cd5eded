/* SPDX-License-Identifier: MIT */

/* Daemon configuration.
 *
 * One static table (config_keys[]) is the single source of truth: the YAML
 * loader, the environment overrides, the defaults, config_done() and the
 * generated reference (docs/configuration.md) all walk it. Adding a setting
 * means adding a field to Config and one row here.
 *
 * The YAML file is read with libyaml's event API so that anchors, aliases
 * and tags can be refused before they mean anything, every error carries
 * the line it was found on, and parsing goes on after an error so the
 * operator sees every mistake at once. Nothing is applied unless the whole
 * input is valid: each entry point works on a copy and swaps it in at the
 * end. */

#include "server/config.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <yaml.h>

#include "common/cleanup.h"

#define CONFIG_FILE_MAX (1024 * 1024)   /* bigger files are refused unread */
#define CONFIG_STRING_MAX 4096          /* longest string value */
#define CONFIG_STRV_MAX 64              /* most items in a list value */
#define CONFIG_ERRORS_MAX 50            /* stop reporting (and parsing) after this many */
#define CONFIG_DEPTH_MAX 32             /* deepest nesting skipped over in unknown values */
#define CONFIG_NAME_MAX 64              /* longest key / variable name compared or echoed */
#define ECHO_MAX 64                     /* longest user value echoed back in a message */
#define ENV_PREFIX "SYSTEMMANAGER_"

#define SZ_KIB INT64_C(1024)
#define SZ_MIB (SZ_KIB * 1024)
#define SZ_GIB (SZ_MIB * 1024)
#define T_MIN INT64_C(60)
#define T_HOUR (T_MIN * 60)
#define T_DAY (T_HOUR * 24)

typedef enum ConfigType {
        CONFIG_STRING,
        CONFIG_PATH,            /* string holding an absolute path */
        CONFIG_INT,
        CONFIG_SIZE,            /* bytes: 4096, 8K, 8KiB, 1M, 1MiB, 1G, 1GiB */
        CONFIG_DURATION,        /* seconds: 30, 30s, 15m, 2h, 7d */
        CONFIG_BOOL,
        CONFIG_ENUM,
        CONFIG_STRV,            /* YAML sequence, or comma-separated in the environment */
        CONFIG_SECRET,          /* string that is never printed */
} ConfigType;

typedef enum ConfigStorage {
        STORE_STR,
        STORE_STRV,
        STORE_INT,
        STORE_INT64,
        STORE_UINT64,
        STORE_BOOL,
} ConfigStorage;

enum {
        KEY_NOT_EMPTY = 1 << 0,         /* null / empty value refused */
        KEY_ORIGINS = 1 << 1,           /* list items are browser origins */
        KEY_NO_EXAMPLE = 1 << 2,        /* left out of the generated example YAML */
};

typedef struct ConfigKey {
        const char *section;            /* "" = top level */
        const char *key;
        ConfigType type;
        unsigned flags;
        size_t offset;                  /* into Config */
        ConfigStorage storage;          /* derived from the field's C type by FIELD() */
        int64_t min, max;               /* numbers: inclusive range; strings: length limits (0 = none) */
        const char *const *choices;     /* CONFIG_ENUM: allowed values, NULL-terminated */
        const char *def;                /* default as text, parsed like user input; NULL = unset */
        const char *doc_default;        /* shown in the reference instead of def */
        const char *example;            /* value for the example YAML when there is no default */
        const char *const *env_aliases; /* the origin's variable names; the canonical name wins */
        const char *env_bool_alias;     /* boolean variable mapped onto this enum... */
        const char *env_bool_true;      /* ...value when it is true */
        const char *env_bool_false;     /* ...value when it is false */
        const char *description;
} ConfigKey;

typedef struct ConfigSection {
        const char *name;               /* "" = top level */
        const char *description;
} ConfigSection;

/* The storage kind comes from the field's declared type, so a row can never
 * write an int into a uint64_t. */
#define FIELD(f)                                                \
        .offset = offsetof(Config, f),                          \
        .storage = _Generic(((Config *) NULL)->f,               \
                            char *: STORE_STR,                  \
                            char **: STORE_STRV,                \
                            int: STORE_INT,                     \
                            int64_t: STORE_INT64,               \
                            uint64_t: STORE_UINT64,             \
                            bool: STORE_BOOL)

#define STRV(...) ((const char *const[]) { __VA_ARGS__, NULL })

static const ConfigSection config_sections[] = {
        { "", "Settings outside any section." },
        { "server", "Listeners, and the limits every connection and request is held to." },
        { "auth", "How callers prove who they are." },
        { "audit", "The hash-chained audit log." },
        { "tools", "Limits for the child processes that run tools." },
        { "jwt", "JSON Web Tokens (HS256, RS256, ES256, EdDSA) as bearer tokens." },
        { "network", "What the network diagnostics and http_request_test may reach." },
        { "filesystem", "Where file_operations may read." },
        { "docker", "The Docker Engine API (Docker or Podman's compatible service)." },
        { "packages", "The package backend." },
        { "rate_limit", "Throttling of failed authentication." },
        { "approval", "Approvals for critical actions." },
        { "service_tokens", "Persistent token state: revocations." },
};

static const ConfigKey config_keys[] = {
        {
                .section = "", .key = "state_dir", .type = CONFIG_PATH, .flags = KEY_NOT_EMPTY,
                FIELD(state_dir),
                .def = "/var/lib/systemmanager",
                .description = "Directory for persistent state: audit log, revocation list, service-token "
                               "database. Absolute path.",
        },

        /* server */
        {
                .section = "server", .key = "host", .type = CONFIG_STRING, .flags = KEY_NOT_EMPTY,
                FIELD(server_host), .max = 253,
                .def = "127.0.0.1",
                .description = "Address the TCP listener binds to (IPv4 or IPv6 address, or host name). "
                               "Anything but a loopback address exposes the server to the network: "
                               "configure TLS and `auth.mode: required` before doing that.",
        },
        {
                .section = "server", .key = "port", .type = CONFIG_INT,
                FIELD(server_port), .min = 0, .max = 65535,
                .def = "8080",
                .description = "TCP port. `0` disables the TCP listener; `server.unix_socket` must then "
                               "be set.",
        },
        {
                .section = "server", .key = "unix_socket", .type = CONFIG_PATH,
                FIELD(server_unix_socket), .max = 107,
                .example = "/run/systemmanager/mcp.sock",
                .description = "Path of an additional unix-domain socket listener (at most 107 bytes). "
                               "Unset: none.",
        },
        {
                .section = "server", .key = "allowed_origins", .type = CONFIG_STRV, .flags = KEY_ORIGINS,
                FIELD(server_allowed_origins),
                .def = "", .doc_default = "`[]` (loopback origins only)",
                .example = "[\"https://grafana.example.com\"]",
                .description = "Browser origins (`scheme://host[:port]`, no path) allowed in the `Origin` "
                               "header; a request carrying any other origin is refused with 403. Empty "
                               "list: only loopback origins are accepted, i.e. `http://` or `https://` "
                               "with host `localhost`, `127.0.0.1` or `[::1]` and any port. In the "
                               "environment: a comma-separated list.",
        },
        {
                .section = "server", .key = "tls_cert", .type = CONFIG_PATH,
                FIELD(server_tls_cert),
                .example = "/etc/systemmanager/tls/cert.pem",
                .description = "PEM certificate chain; enables TLS on the TCP listener. Set together "
                               "with `server.tls_key`. Unset: plain HTTP.",
        },
        {
                .section = "server", .key = "tls_key", .type = CONFIG_PATH,
                FIELD(server_tls_key),
                .example = "/etc/systemmanager/tls/key.pem",
                .description = "PEM private key for `server.tls_cert`.",
        },
        {
                .section = "server", .key = "max_body_bytes", .type = CONFIG_SIZE,
                FIELD(server_max_body_bytes), .min = SZ_KIB, .max = 64 * SZ_MIB,
                .def = "1MiB",
                .description = "Largest request body accepted; larger requests get 413.",
        },
        {
                .section = "server", .key = "max_header_bytes", .type = CONFIG_SIZE,
                FIELD(server_max_header_bytes), .min = SZ_KIB, .max = 64 * SZ_KIB,
                .def = "8KiB",
                .description = "Largest HTTP header block accepted.",
        },
        {
                .section = "server", .key = "max_ws_message_bytes", .type = CONFIG_SIZE,
                FIELD(server_max_ws_message_bytes), .min = SZ_KIB, .max = 64 * SZ_MIB,
                .def = "1MiB",
                .description = "Largest WebSocket message accepted (after reassembling fragments).",
        },
        {
                .section = "server", .key = "max_json_depth", .type = CONFIG_INT,
                FIELD(server_max_json_depth), .min = 2, .max = 512,
                .def = "64",
                .description = "Deepest JSON nesting accepted in a request.",
        },
        {
                .section = "server", .key = "max_connections", .type = CONFIG_INT,
                FIELD(server_max_connections), .min = 1, .max = 65535,
                .def = "1024",
                .description = "Most concurrent client connections; further connections are closed at once.",
        },
        {
                .section = "server", .key = "idle_timeout", .type = CONFIG_DURATION,
                FIELD(server_idle_timeout), .min = 1, .max = T_DAY,
                .def = "60s",
                .description = "A connection with no traffic for this long is closed.",
        },
        {
                .section = "server", .key = "header_timeout", .type = CONFIG_DURATION,
                FIELD(server_header_timeout), .min = 1, .max = 10 * T_MIN,
                .def = "10s",
                .description = "A connection that has not sent a complete request header within this "
                               "time is closed (slowloris defence).",
        },
        {
                .section = "server", .key = "max_inflight_per_connection", .type = CONFIG_INT,
                FIELD(server_max_inflight_per_connection), .min = 1, .max = 1024,
                .def = "16",
                .description = "Most concurrent in-flight calls on one connection.",
        },
        {
                .section = "server", .key = "worker_threads", .type = CONFIG_INT,
                FIELD(server_worker_threads), .min = 0, .max = 64,
                .def = "0",
                .description = "Threads running tool calls. `0`: the number of CPUs, at most 16.",
        },
        {
                .section = "server", .key = "shutdown_timeout", .type = CONFIG_DURATION,
                FIELD(server_shutdown_timeout), .min = 0, .max = T_HOUR,
                .def = "30s",
                .description = "On SIGTERM, how long in-flight calls may run on before they are cancelled.",
        },

        /* auth */
        {
                .section = "auth", .key = "mode", .type = CONFIG_ENUM,
                FIELD(auth_mode),
                .choices = STRV("disabled", "optional", "required"),
                .def = "optional",
                .env_bool_alias = "SYSTEMMANAGER_REQUIRE_AUTH",
                .env_bool_true = "required",
                .env_bool_false = "optional",
                .description = "`required`: every request needs a valid credential. `optional`: a "
                               "credential is required as soon as a credential source (such as a shared "
                               "secret) is configured, otherwise callers are anonymous with every scope. "
                               "`disabled`: no authentication; refused on a non-loopback listener unless "
                               "`auth.allow_disabled_on_network` is set.",
        },
        {
                .section = "auth", .key = "shared_secret", .type = CONFIG_SECRET, .flags = KEY_NO_EXAMPLE,
                FIELD(auth_shared_secret), .min = 32, .max = CONFIG_STRING_MAX,
                .env_aliases = STRV("SYSTEMMANAGER_SHARED_SECRET"),
                .description = "HMAC secret for bearer tokens, at least 32 bytes. Never printed. Prefer "
                               "`auth.shared_secret_file` or the environment; a YAML file holding it must "
                               "not be readable by other users.",
        },
        {
                .section = "auth", .key = "shared_secret_file", .type = CONFIG_PATH,
                FIELD(auth_shared_secret_file),
                .example = "/etc/systemmanager/shared_secret",
                .description = "File holding the HMAC secret (create it with `systemmanagerctl keygen "
                               "--hmac`). Mutually exclusive with `auth.shared_secret`.",
        },
        {
                .section = "auth", .key = "max_token_bytes", .type = CONFIG_SIZE,
                FIELD(auth_max_token_bytes), .min = 256, .max = 64 * SZ_KIB,
                .def = "8KiB",
                .description = "Longest bearer token accepted; longer tokens are rejected as invalid "
                               "before any parsing.",
        },
        {
                .section = "auth", .key = "max_ttl", .type = CONFIG_DURATION,
                FIELD(auth_max_ttl), .min = T_MIN, .max = 365 * T_DAY,
                .def = "30d",
                .description = "Longest token lifetime (`exp` - `iat`) accepted and mintable.",
        },
        {
                .section = "auth", .key = "allow_query_token", .type = CONFIG_BOOL,
                FIELD(auth_allow_query_token),
                .def = "false",
                .description = "Accept `?token=` / `?access_token=` on the WebSocket handshake. Tokens "
                               "in URLs end up in logs and browser history; keep this off unless a "
                               "client cannot send an `Authorization` header.",
        },
        {
                .section = "auth", .key = "api_keys", .type = CONFIG_STRV, .flags = KEY_NO_EXAMPLE,
                FIELD(auth_api_keys),
                .def = "",
                .description = "API keys for the `X-API-Key` header, each `NAME:SHA256HEX:SCOPES` — the "
                               "lower-case hex SHA-256 of the key (`printf %s KEY | sha256sum`), never the key "
                               "itself; SCOPES space-separated. The subject is `apikey:NAME`.",
        },
        {
                .section = "auth", .key = "basic_users", .type = CONFIG_STRV, .flags = KEY_NO_EXAMPLE,
                FIELD(auth_basic_users),
                .def = "",
                .description = "HTTP Basic users, each `USER:CRYPT-HASH:SCOPES` with a crypt(3) hash, bcrypt "
                               "recommended (`mkpasswd -m bcrypt`); SCOPES space-separated. The subject is "
                               "`basic:USER`. A verified password is cached for 5 minutes.",
        },
        {
                .section = "auth", .key = "bootstrap_token", .type = CONFIG_SECRET, .flags = KEY_NO_EXAMPLE,
                FIELD(auth_bootstrap_token),
                .env_aliases = STRV("SYSTEMMANAGER_BOOTSTRAP_TOKEN"),
                .description = "A fixed first-setup token (at least 32 characters), not stored anywhere; its "
                               "use is audited with auth_method `bootstrap`. Remove it once real tokens exist.",
        },
        {
                .section = "auth", .key = "bootstrap_scopes", .type = CONFIG_STRING,
                FIELD(auth_bootstrap_scopes),
                .def = "admin",
                .env_aliases = STRV("SYSTEMMANAGER_BOOTSTRAP_TOKEN_SCOPES"),
                .description = "Scopes of the bootstrap token.",
        },
        {
                .section = "auth", .key = "bootstrap_expires_at", .type = CONFIG_STRING,
                FIELD(auth_bootstrap_expires_at),
                .example = "2026-12-01T00:00:00Z",
                .env_aliases = STRV("SYSTEMMANAGER_BOOTSTRAP_TOKEN_EXPIRES_AT"),
                .description = "When the bootstrap token stops working: ISO-8601 or epoch seconds. Unset: "
                               "no expiry.",
        },
        {
                .section = "auth", .key = "allow_disabled_on_network", .type = CONFIG_BOOL,
                FIELD(auth_allow_disabled_on_network),
                .def = "false",
                .description = "Allow `auth.mode: disabled` on a TCP listener bound to a non-loopback "
                               "address, which gives everyone who can reach it full control of the host.",
        },

        /* audit */
        {
                .section = "audit", .key = "file", .type = CONFIG_PATH,
                FIELD(audit_file),
                .env_aliases = STRV("SYSTEMMANAGER_AUDIT_LOG"),
                .doc_default = "`<state_dir>/audit.log`",
                .example = "/var/log/systemmanager/audit.log",
                .description = "The audit log: one JSON object per line, hash-chained.",
        },
        {
                .section = "audit", .key = "journald", .type = CONFIG_BOOL,
                FIELD(audit_journald),
                .def = "false",
                .description = "Also send every audit line to journald, with structured fields "
                               "(SYSTEMMANAGER_EVENT, _SUBJECT, _TOOL, _DECISION, _SEQ, and the line itself in "
                               "SYSTEMMANAGER_AUDIT). The file stays the record of truth.",
        },
        {
                .section = "audit", .key = "checkpoint_every", .type = CONFIG_INT,
                FIELD(audit_checkpoint_every), .min = 1, .max = 1000000,
                .def = "1000",
                .description = "Lines between sealed checkpoints (an HMAC under a forward-evolving key; "
                               "the initial key is written once to `<state_dir>/audit-initial.key`). A "
                               "checkpoint is also written at every clean stop.",
        },

        /* tools */
        {
                .section = "tools", .key = "timeout", .type = CONFIG_DURATION,
                FIELD(tools_timeout), .min = 1, .max = T_DAY,
                .def = "30s",
                .description = "Time limit for a tool call; the child process is killed when it is reached.",
        },
        {
                .section = "tools", .key = "long_timeout", .type = CONFIG_DURATION,
                FIELD(tools_long_timeout), .min = 1, .max = 7 * T_DAY,
                .def = "600s",
                .description = "Time limit for long operations (package installs, image pulls). At least "
                               "`tools.timeout`.",
        },
        {
                .section = "tools", .key = "max_output_bytes", .type = CONFIG_SIZE,
                FIELD(tools_max_output_bytes), .min = SZ_KIB, .max = 256 * SZ_MIB,
                .def = "1MiB",
                .env_aliases = STRV("SYSTEMMANAGER_MAX_OUTPUT_BYTES"),
                .description = "Most output kept from one tool call.",
        },

        /* jwt */
        {
                .section = "jwt", .key = "secret", .type = CONFIG_SECRET, .flags = KEY_NO_EXAMPLE,
                FIELD(jwt_secret),
                .env_aliases = STRV("SYSTEMMANAGER_JWT_SECRET"),
                .description = "HS256 key (at least 32 bytes). Prefer `jwt.secret_file`; in the "
                               "environment `SYSTEMMANAGER_JWT_SECRET`. Unset: no HS256.",
        },
        {
                .section = "jwt", .key = "secret_file", .type = CONFIG_PATH,
                FIELD(jwt_secret_file),
                .example = "/etc/systemmanager/jwt.secret",
                .description = "File holding the HS256 key (mode 0600).",
        },
        {
                .section = "jwt", .key = "jwks_file", .type = CONFIG_PATH,
                FIELD(jwt_jwks_file),
                .example = "/etc/systemmanager/jwks.json",
                .description = "Static JWKS file with the public keys (RSA >= 2048 bits, EC P-256, Ed25519); "
                               "several `kid`s allow rotation.",
        },
        {
                .section = "jwt", .key = "jwks", .type = CONFIG_STRING, .flags = KEY_NO_EXAMPLE,
                FIELD(jwt_jwks),
                .description = "Inline JWKS JSON, as an alternative to `jwt.jwks_file`.",
        },
        {
                .section = "jwt", .key = "jwks_url", .type = CONFIG_STRING,
                FIELD(jwt_jwks_url),
                .example = "https://idp.example.com/.well-known/jwks.json",
                .description = "JWKS URL of an identity provider, fetched and cached.",
        },
        {
                .section = "jwt", .key = "jwks_cache_ttl", .type = CONFIG_DURATION,
                FIELD(jwt_jwks_cache_ttl), .min = 10, .max = 7 * T_DAY,
                .def = "1h",
                .description = "How long a fetched JWKS is used before it is fetched again.",
        },
        {
                .section = "jwt", .key = "jwks_fetch_timeout", .type = CONFIG_DURATION,
                FIELD(jwt_jwks_fetch_timeout), .min = 1, .max = 60,
                .def = "5s",
                .description = "Timeout of one JWKS fetch.",
        },
        {
                .section = "jwt", .key = "allowed_algorithms", .type = CONFIG_STRV,
                FIELD(jwt_allowed_algorithms),
                .def = "HS256,RS256,ES256,EdDSA",
                .description = "Algorithms accepted at all; the key still decides which one a token must use.",
        },
        {
                .section = "jwt", .key = "audience", .type = CONFIG_STRING,
                FIELD(jwt_audience),
                .example = "systemmanager",
                .description = "Required `aud` (exact match). Unset: tokens with an `aud` are refused.",
        },
        {
                .section = "jwt", .key = "issuer", .type = CONFIG_STRING,
                FIELD(jwt_issuer),
                .example = "https://idp.example.com/",
                .description = "Required `iss` (exact match). Unset: `iss` is not checked.",
        },

        /* network */
        {
                .section = "network", .key = "allowed_cidrs", .type = CONFIG_STRV,
                FIELD(network_allowed_cidrs),
                .def = "0.0.0.0/0,::/0",
                .env_aliases = STRV("SYSTEMMANAGER_ALLOWED_HOSTS"),
                .description = "Addresses the diagnostics may reach (CIDR list), after `network.denied_cidrs` "
                               "is applied. The default allows the LAN and the internet.",
        },
        {
                .section = "network", .key = "denied_cidrs", .type = CONFIG_STRV,
                FIELD(network_denied_cidrs),
                .def = "169.254.0.0/16,fe80::/10,0.0.0.0/8,224.0.0.0/4,240.0.0.0/4,ff00::/8,100.100.100.200/32,"
                       "fd00:ec2::254/128",
                .description = "Addresses never reached, whatever `network.allowed_cidrs` says: link-local "
                               "(cloud metadata services live there), unspecified, multicast and reserved.",
        },
        {
                .section = "network", .key = "allowed_ports", .type = CONFIG_STRV,
                FIELD(network_allowed_ports),
                .def = "1-65535",
                .env_aliases = STRV("SYSTEMMANAGER_ALLOWED_PORTS"),
                .description = "TCP ports `test_port_connectivity`, `check_ssl_certificate` and "
                               "`http_request_test` may connect to: numbers and ranges (`22,80,443,8000-8999`).",
        },

        /* filesystem */
        {
                .section = "filesystem", .key = "allowed_paths", .type = CONFIG_STRV,
                FIELD(filesystem_allowed_paths),
                .def = "/var/log,/etc,/proc/loadavg",
                .env_aliases = STRV("SYSTEMMANAGER_ALLOWED_PATHS"),
                .description = "Roots `file_operations` may read beneath (absolute paths). Symlinks and "
                               "`..` never lead out of a root.",
        },
        {
                .section = "filesystem", .key = "denied_patterns", .type = CONFIG_STRV,
                FIELD(filesystem_denied_patterns),
                .def = "/etc/shadow,/etc/gshadow,/etc/shadow-,/etc/gshadow-,/etc/sudoers,/etc/sudoers.d/*,"
                       "/etc/ssh/ssh_host_*_key,*.key,*.pem,*id_rsa*,*id_ed25519*,*id_ecdsa*,/etc/systemmanager/*",
                .description = "Glob patterns (fnmatch on the full path) that are never opened, even beneath "
                               "an allowed root.",
        },

        /* docker */
        {
                .section = "docker", .key = "socket", .type = CONFIG_PATH,
                FIELD(docker_socket),
                .def = "/var/run/docker.sock",
                .description = "Unix socket of the Docker Engine API (Podman's `podman system service` works "
                               "the same).",
        },

        /* packages */
        {
                .section = "packages", .key = "backend", .type = CONFIG_ENUM,
                FIELD(packages_backend), .choices = STRV("auto", "apt", "packagekit"),
                .def = "auto",
                .description = "Package backend: `apt` (apt-get/dpkg), `packagekit` (D-Bus), or `auto`.",
        },

        /* service_tokens */
        {
                .section = "service_tokens", .key = "db", .type = CONFIG_PATH,
                FIELD(service_tokens_db),
                .example = "/var/lib/systemmanager/tokens.db",
                .env_aliases = STRV("SYSTEMMANAGER_SERVICE_TOKEN_DB"),
                .doc_default = "`<state_dir>/tokens.db`",
                .description = "SQLite database of revocations (by jti and by agent), shared by the daemon and "
                               "`systemmanagerctl token revoke`; a revocation takes effect at the daemon's next "
                               "request.",
        },

        /* approval */
        {
                .section = "approval", .key = "timeout", .type = CONFIG_DURATION,
                FIELD(approval_timeout), .min = 10, .max = T_DAY,
                .def = "15m",
                .description = "How long an approval request (and a granted approval) stays usable.",
        },
        {
                .section = "approval", .key = "required_for", .type = CONFIG_STRV,
                FIELD(approval_required_for),
                .def = "critical",
                .description = "What needs an approval: risk levels (`critical`, `high`) and/or tool names.",
        },

        {
                .section = "approval", .key = "mode", .type = CONFIG_ENUM,
                FIELD(approval_mode), .choices = STRV("queue", "webhook", "elicitation"),
                .def = "queue",
                .description = "How approvals are granted: `queue` (an approver uses `systemmanagerctl approvals`), "
                               "`webhook` (POST to `approval.webhook_url`) or `elicitation` (the MCP client's user "
                               "confirms through `elicitation/create`; only on stdio and WebSocket sessions whose "
                               "client declared the capability, other calls use the queue).",
        },
        {
                .section = "approval", .key = "webhook_url", .type = CONFIG_STRING,
                FIELD(approval_webhook_url),
                .example = "https://approvals.example.com/systemmanager",
                .env_aliases = STRV("SYSTEMMANAGER_APPROVAL_WEBHOOK"),
                .description = "Receives each approval request as JSON (approval_id, tool, arguments, subject, "
                               "token_id, risk, plan, expires_at); an answer `{\"approved\": true}` (HTTP 2xx) within "
                               "`approval.webhook_timeout` grants it. http(s) only.",
        },
        {
                .section = "approval", .key = "webhook_timeout", .type = CONFIG_DURATION,
                FIELD(approval_webhook_timeout), .min = 1, .max = 300,
                .def = "10s",
                .description = "How long the webhook may take to answer.",
        },
        {
                .section = "approval", .key = "elicitation_timeout", .type = CONFIG_DURATION,
                FIELD(approval_elicitation_timeout), .min = 1, .max = 3600,
                .def = "120s",
                .description = "How long the client's user has to answer an elicitation before "
                               "`approval.default_action` applies.",
        },
        {
                .section = "approval", .key = "default_action", .type = CONFIG_ENUM,
                FIELD(approval_default_action), .choices = STRV("deny", "queue"),
                .def = "deny",
                .description = "When the webhook does not approve (no answer, error, `approved` not true) or an "
                               "elicitation gets no answer in time: `deny`, "
                               "or `queue` (leave the request pending for a human approver).",
        },

        /* rate_limit */
        {
                .section = "rate_limit", .key = "auth_failures_per_ip", .type = CONFIG_INT,
                FIELD(rate_limit_auth_failures_per_ip), .min = 1, .max = 1000000,
                .def = "10",
                .description = "Failed authentications one client IP may make per window; further attempts get "
                               "429 `auth.rate_limited.ip` before any token is parsed.",
        },
        {
                .section = "rate_limit", .key = "auth_failures_per_identity", .type = CONFIG_INT,
                FIELD(rate_limit_auth_failures_per_identity), .min = 1, .max = 1000000,
                .def = "5",
                .description = "Denials (missing scope) one verified subject may collect per window; further "
                               "calls get 429 `auth.rate_limited.identity`.",
        },
        {
                .section = "rate_limit", .key = "window", .type = CONFIG_DURATION,
                FIELD(rate_limit_window), .min = 1, .max = T_DAY,
                .def = "60s",
                .description = "Length of the rate-limit window.",
        },
};

/* A parsed value on its way into a Config field. Owns s / l. */
typedef struct Value {
        char *s;
        char **l;
        int64_t i;              /* CONFIG_INT, CONFIG_SIZE, CONFIG_DURATION */
        bool b;
} Value;

static void value_done(Value *v) {
        erase_and_free(TAKE_PTR(v->s));
        strv_free(TAKE_PTR(v->l));
}

/* Collects messages for one call. After CONFIG_ERRORS_MAX it says so once and
 * sets `stop`; the caller then gives up. */
typedef struct Reporter {
        FILE *f;
        const char *path;       /* prefix "PATH:LINE: " when set */
        unsigned n;
        bool stop;
} Reporter;

_printf_(3, 0) static void reportv(Reporter *r, unsigned long line, const char *fmt, va_list ap) {
        if (r->stop)
                return;
        r->n++;
        if (r->n > CONFIG_ERRORS_MAX) {
                r->stop = true;
                if (r->f)
                        fprintf(r->f, "%s%stoo many errors, giving up\n",
                                r->path ?: "", r->path ? ": " : "");
                return;
        }
        if (!r->f)
                return;
        if (r->path && line > 0)
                fprintf(r->f, "%s:%lu: ", r->path, line);
        else if (r->path)
                fprintf(r->f, "%s: ", r->path);
        vfprintf(r->f, fmt, ap);
        fputc('\n', r->f);
}

_printf_(3, 4) static void report_at(Reporter *r, unsigned long line, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        reportv(r, line, fmt, ap);
        va_end(ap);
}

_printf_(2, 3) static void report(Reporter *r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        reportv(r, 0, fmt, ap);
        va_end(ap);
}

/* Copies a user-supplied string for a message: at most ECHO_MAX bytes,
 * control characters replaced, so a value cannot forge log lines. */
static const char *echo(const char *s, char *buf, size_t size) {
        size_t i, j = 0;

        assert(size > 4);
        for (i = 0; s[i] && i < ECHO_MAX && j + 4 < size; i++) {
                unsigned char ch = (unsigned char) s[i];

                buf[j++] = ch < 0x20 || ch == 0x7f ? '?' : (char) ch;
        }
        if (s[i]) {
                memcpy(buf + j, "...", 3);
                j += 3;
        }
        buf[j] = 0;
        return buf;
}

/* True for names we are willing to echo: short, [A-Za-z0-9_.-]. Anything
 * else may be a mis-indented value (a secret, even) and is not repeated. */
static bool looks_like_name(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > CONFIG_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                char ch = s[i];

                if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                      ch == '_' || ch == '.' || ch == '-'))
                        return false;
        }
        return true;
}

static bool startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static const char *key_name(const ConfigKey *k, char *buf, size_t size) {
        if (k->section[0] == 0)
                snprintf(buf, size, "%s", k->key);
        else
                snprintf(buf, size, "%s.%s", k->section, k->key);
        return buf;
}

/* SYSTEMMANAGER_<SECTION>_<KEY>, upper case. */
static const char *key_env_name(const ConfigKey *k, char *buf, size_t size) {
        size_t i;

        if (k->section[0] == 0)
                snprintf(buf, size, ENV_PREFIX "%s", k->key);
        else
                snprintf(buf, size, ENV_PREFIX "%s_%s", k->section, k->key);
        for (i = 0; buf[i]; i++)
                if (buf[i] >= 'a' && buf[i] <= 'z')
                        buf[i] = (char) (buf[i] - 'a' + 'A');
        return buf;
}

static void *key_field(Config *c, const ConfigKey *k) {
        return (uint8_t *) c + k->offset;
}

static const void *key_field_const(const Config *c, const ConfigKey *k) {
        return (const uint8_t *) c + k->offset;
}

static int section_find(const char *name) {
        for (size_t i = 1; i < ELEMENTSOF(config_sections); i++)
                if (streq(config_sections[i].name, name))
                        return (int) i;
        return -1;
}

static int key_find(const char *section, const char *key) {
        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++)
                if (streq(config_keys[i].section, section) && streq(config_keys[i].key, key))
                        return (int) i;
        return -1;
}

/* Optimal string alignment distance (Levenshtein plus transpositions). */
static size_t edit_distance(const char *a, const char *b) {
        unsigned d[CONFIG_NAME_MAX + 1][CONFIG_NAME_MAX + 1];
        size_t la = strlen(a), lb = strlen(b);

        if (la > CONFIG_NAME_MAX || lb > CONFIG_NAME_MAX)
                return SIZE_MAX;
        for (size_t i = 0; i <= la; i++)
                d[i][0] = (unsigned) i;
        for (size_t j = 0; j <= lb; j++)
                d[0][j] = (unsigned) j;
        for (size_t i = 1; i <= la; i++)
                for (size_t j = 1; j <= lb; j++) {
                        unsigned cost = a[i - 1] == b[j - 1] ? 0 : 1;
                        unsigned v = d[i - 1][j] + 1;

                        if (d[i][j - 1] + 1 < v)
                                v = d[i][j - 1] + 1;
                        if (d[i - 1][j - 1] + cost < v)
                                v = d[i - 1][j - 1] + cost;
                        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                            d[i - 2][j - 2] + 1 < v)
                                v = d[i - 2][j - 2] + 1;
                        d[i][j] = v;
                }
        return d[la][lb];
}

/* How far a typo may be from the name it was meant to be. */
static size_t typo_threshold(size_t len) {
        return len <= 4 ? 1 : len <= 10 ? 2 : 3;
}

typedef struct Suggestion {
        char best[CONFIG_NAME_MAX * 2];
        size_t distance;
        size_t threshold;
} Suggestion;

static void suggestion_consider(Suggestion *s, const char *typed, const char *candidate) {
        size_t d = edit_distance(typed, candidate);

        if (d <= s->threshold && d < s->distance) {
                s->distance = d;
                snprintf(s->best, sizeof s->best, "%s", candidate);
        }
}

/* Suggests a known key for an unknown YAML key `key` in `section` ("" = top
 * level): the closest full name within typo distance, or the same key in
 * another section. Returns false when nothing is close. */
static bool suggest_key(const char *section, const char *key, char *ret, size_t size) {
        Suggestion s = { .distance = SIZE_MAX, .threshold = typo_threshold(strlen(key)) };
        char typed[CONFIG_NAME_MAX * 2 + 2], name[CONFIG_NAME_MAX * 2];

        if (section[0] == 0)
                snprintf(typed, sizeof typed, "%s", key);
        else
                snprintf(typed, sizeof typed, "%s.%s", section, key);

        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++)
                suggestion_consider(&s, typed, key_name(&config_keys[i], name, sizeof name));
        if (section[0] == 0)
                for (size_t i = 1; i < ELEMENTSOF(config_sections); i++)
                        suggestion_consider(&s, typed, config_sections[i].name);

        if (s.distance == SIZE_MAX)
                /* "port:" at the top level, "mode:" under server: the right key in the wrong place. */
                for (size_t i = 0; i < ELEMENTSOF(config_keys); i++)
                        if (streq(config_keys[i].key, key) && !streq(config_keys[i].section, section)) {
                                key_name(&config_keys[i], s.best, sizeof s.best);
                                s.distance = 0;
                                break;
                        }

        if (s.distance == SIZE_MAX)
                return false;
        snprintf(ret, size, "%s", s.best);
        return true;
}

static bool is_space(char ch) {
        return ch == ' ' || ch == '\t';
}

/* Strict decimal: optional '-', digits, nothing else. */
static int parse_int64(const char *s, const char **ret_end, int64_t *ret) {
        bool neg = false;
        uint64_t v = 0;
        const char *p = s;

        if (*p == '-') {
                neg = true;
                p++;
        }
        if (*p < '0' || *p > '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                if (v > (UINT64_MAX - 9) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (*p - '0');
        }
        if (neg ? v > (uint64_t) INT64_MAX + 1 : v > (uint64_t) INT64_MAX)
                return -ERANGE;
        *ret = neg ? (int64_t) (0 - v) : (int64_t) v;
        *ret_end = p;
        return 0;
}

typedef struct Unit {
        const char *suffix;
        int64_t factor;
} Unit;

static const Unit size_units[] = {
        { "", 1 },        { "B", 1 },           { "K", SZ_KIB }, { "KiB", SZ_KIB },
        { "M", SZ_MIB },  { "MiB", SZ_MIB },    { "G", SZ_GIB }, { "GiB", SZ_GIB },
};

static const Unit duration_units[] = {
        { "", 1 }, { "s", 1 }, { "m", T_MIN }, { "h", T_HOUR }, { "d", T_DAY },
};

/* A non-negative number with an optional unit (one space allowed between). */
static int parse_with_unit(const char *s, const Unit *units, size_t n_units, int64_t *ret) {
        const char *end;
        int64_t v;
        int r;

        if (*s == '-')
                return -EINVAL;
        r = parse_int64(s, &end, &v);
        if (r < 0)
                return r;
        if (*end == ' ' && end[1] != 0)
                end++;
        for (size_t i = 0; i < n_units; i++)
                if (strcasecmp(end, units[i].suffix) == 0) {
                        if (v > INT64_MAX / units[i].factor)
                                return -ERANGE;
                        *ret = v * units[i].factor;
                        return 0;
                }
        return -EINVAL;
}

static const char *format_size(int64_t v, char *buf, size_t size) {
        if (v != 0 && v % SZ_GIB == 0)
                snprintf(buf, size, "%" PRId64 "GiB", v / SZ_GIB);
        else if (v != 0 && v % SZ_MIB == 0)
                snprintf(buf, size, "%" PRId64 "MiB", v / SZ_MIB);
        else if (v != 0 && v % SZ_KIB == 0)
                snprintf(buf, size, "%" PRId64 "KiB", v / SZ_KIB);
        else
                snprintf(buf, size, "%" PRId64, v);
        return buf;
}

static const char *format_duration(int64_t v, char *buf, size_t size) {
        if (v != 0 && v % T_DAY == 0)
                snprintf(buf, size, "%" PRId64 "d", v / T_DAY);
        else if (v != 0 && v % T_HOUR == 0)
                snprintf(buf, size, "%" PRId64 "h", v / T_HOUR);
        else if (v != 0 && v % T_MIN == 0)
                snprintf(buf, size, "%" PRId64 "m", v / T_MIN);
        else
                snprintf(buf, size, "%" PRId64 "s", v);
        return buf;
}

static int parse_bool(const char *s, bool *ret) {
        static const char *const yes[] = { "true", "yes", "on", "1" };
        static const char *const no[] = { "false", "no", "off", "0" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcasecmp(s, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

/* What a key accepts, for "expected ..., got ..." messages. */
static const char *key_expectation(const ConfigKey *k, char *buf, size_t size) {
        char a[32], b[32];
        size_t n;

        switch (k->type) {
        case CONFIG_STRING:
        case CONFIG_SECRET:
                snprintf(buf, size, "expected a string");
                break;
        case CONFIG_PATH:
                snprintf(buf, size, "expected an absolute path");
                break;
        case CONFIG_INT:
                snprintf(buf, size, "expected an integer between %" PRId64 " and %" PRId64, k->min, k->max);
                break;
        case CONFIG_SIZE:
                snprintf(buf, size,
                         "expected a size between %s and %s "
                         "(bytes, or a number with a K/KiB/M/MiB/G/GiB suffix)",
                         format_size(k->min, a, sizeof a), format_size(k->max, b, sizeof b));
                break;
        case CONFIG_DURATION:
                snprintf(buf, size,
                         "expected a duration between %s and %s (seconds, or a number with an s/m/h/d suffix)",
                         format_duration(k->min, a, sizeof a), format_duration(k->max, b, sizeof b));
                break;
        case CONFIG_BOOL:
                snprintf(buf, size, "expected true or false (yes/no, on/off and 1/0 work too)");
                break;
        case CONFIG_ENUM:
                snprintf(buf, size, "expected one of:");
                for (const char *const *c = k->choices; *c; c++) {
                        n = strlen(buf);
                        snprintf(buf + n, size - n, "%s %s", c == k->choices ? "" : ",", *c);
                }
                break;
        case CONFIG_STRV:
                snprintf(buf, size, "expected a list of strings");
                break;
        }
        return buf;
}

/* Checks an origin: http(s)://host[:port], nothing after. */
static bool origin_is_valid(const char *s) {
        const char *host;

        if (startswith(s, "http://"))
                host = s + strlen("http://");
        else if (startswith(s, "https://"))
                host = s + strlen("https://");
        else
                return false;
        if (*host == 0 || *host == ':')
                return false;
        for (const char *p = host; *p; p++) {
                char ch = *p;

                if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                      ch == '.' || ch == '-' || ch == ':' || ch == '[' || ch == ']'))
                        return false;
        }
        return host[strlen(host) - 1] != ':';
}

/* Checks a non-empty string value (or one list item). Writes the problem to
 * msg. A secret's value is never quoted. */
static int string_check(const ConfigKey *k, const char *s, char *msg, size_t size) {
        size_t len = strlen(s), maxlen = k->max > 0 ? (size_t) k->max : CONFIG_STRING_MAX;
        char got[ECHO_MAX + 8];

        if (k->type == CONFIG_SECRET) {
                /* Only the length is checked and reported, never the content. */
                if (len > maxlen) {
                        snprintf(msg, size, "must be at most %zu bytes long", maxlen);
                        return -EINVAL;
                }
                if (len < (size_t) k->min) {
                        snprintf(msg, size,
                                 "must be at least %" PRId64 " bytes long "
                                 "(generate one with 'systemmanagerctl keygen --hmac')", k->min);
                        return -EINVAL;
                }
                return 0;
        }

        if (k->type == CONFIG_STRV)
                maxlen = 512;
        if (len > maxlen) {
                snprintf(msg, size, "must be at most %zu bytes long, got %zu bytes", maxlen, len);
                return -EINVAL;
        }
        for (size_t i = 0; i < len; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f) {
                        snprintf(msg, size, "must not contain control characters, got '%s'",
                                 echo(s, got, sizeof got));
                        return -EINVAL;
                }
        if (k->type == CONFIG_PATH && s[0] != '/') {
                snprintf(msg, size, "expected an absolute path (starting with '/'), got '%s'",
                         echo(s, got, sizeof got));
                return -EINVAL;
        }
        if ((k->flags & KEY_ORIGINS) && !origin_is_valid(s)) {
                snprintf(msg, size,
                         "expected an origin such as 'https://app.example.com' or 'http://localhost:3000' "
                         "(scheme://host[:port], no path or trailing slash), got '%s'",
                         echo(s, got, sizeof got));
                return -EINVAL;
        }
        return 0;
}

static int strv_push(char ***l, size_t *n, char *s) {
        char **nl;

        nl = reallocarray(*l, *n + 2, sizeof(char *));
        if (!nl)
                return -ENOMEM;
        nl[(*n)++] = s;
        nl[*n] = NULL;
        *l = nl;
        return 0;
}

static char **strv_new_empty(void) {
        return calloc(1, sizeof(char *));
}

static int strv_copy(char *const *l, char ***ret) {
        _cleanup_strv_free_ char **n = strv_new_empty();
        size_t k = 0;

        if (!n)
                return -ENOMEM;
        for (char *const *i = l; i && *i; i++) {
                char *s = strdup(*i);

                if (!s || strv_push(&n, &k, s) < 0) {
                        free(s);
                        return -ENOMEM;
                }
        }
        *ret = TAKE_PTR(n);
        return 0;
}

/* Comma-separated list (environment form): items trimmed, empty items dropped. */
static int parse_strv_text(const ConfigKey *k, const char *s, char ***ret, char *msg, size_t size) {
        _cleanup_strv_free_ char **l = strv_new_empty();
        size_t n = 0;
        int r;

        if (!l)
                return -ENOMEM;
        while (*s) {
                const char *end = strchrnul(s, ',');
                const char *b = s, *e = end;
                _cleanup_free_ char *item = NULL;

                while (b < e && is_space(*b))
                        b++;
                while (e > b && is_space(e[-1]))
                        e--;
                if (e > b) {
                        if (n >= CONFIG_STRV_MAX) {
                                snprintf(msg, size, "at most %d items are allowed", CONFIG_STRV_MAX);
                                return -EINVAL;
                        }
                        item = strndup(b, (size_t) (e - b));
                        if (!item)
                                return -ENOMEM;
                        r = string_check(k, item, msg, size);
                        if (r < 0)
                                return r;
                        r = strv_push(&l, &n, item);
                        if (r < 0)
                                return r;
                        item = NULL;
                }
                s = *end ? end + 1 : end;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* Parses `s` (NULL or "" = empty: YAML null, empty environment variable) for
 * key `k`. On success *ret owns the result. On -EINVAL, msg says what is
 * wrong and what is expected; it never contains a secret. */
static int value_parse(const ConfigKey *k, const char *s, Value *ret, char *msg, size_t size) {
        char exp[256], got[ECHO_MAX + 8];
        bool empty = !s || s[0] == 0;
        Value v = {};
        int r;

        switch (k->type) {
        case CONFIG_STRING:
        case CONFIG_PATH:
        case CONFIG_SECRET:
                if (empty) {
                        if (k->flags & KEY_NOT_EMPTY) {
                                snprintf(msg, size, "must not be empty (%s)",
                                         key_expectation(k, exp, sizeof exp));
                                return -EINVAL;
                        }
                        break;          /* resets to unset */
                }
                r = string_check(k, s, msg, size);
                if (r < 0)
                        return r;
                v.s = strdup(s);
                if (!v.s)
                        return -ENOMEM;
                break;

        case CONFIG_STRV:
                r = parse_strv_text(k, empty ? "" : s, &v.l, msg, size);
                if (r < 0)
                        return r;
                break;

        case CONFIG_INT:
        case CONFIG_SIZE:
        case CONFIG_DURATION: {
                const char *end = NULL;

                if (empty)
                        r = -EINVAL;
                else if (k->type == CONFIG_INT) {
                        r = parse_int64(s, &end, &v.i);
                        if (r >= 0 && *end != 0)
                                r = -EINVAL;
                } else if (k->type == CONFIG_SIZE)
                        r = parse_with_unit(s, size_units, ELEMENTSOF(size_units), &v.i);
                else
                        r = parse_with_unit(s, duration_units, ELEMENTSOF(duration_units), &v.i);
                if (r >= 0 && (v.i < k->min || v.i > k->max))
                        r = -ERANGE;
                if (r < 0)
                        goto bad;
                break;
        }

        case CONFIG_BOOL:
                if (empty || parse_bool(s, &v.b) < 0)
                        goto bad;
                break;

        case CONFIG_ENUM: {
                const char *const *c;

                if (empty)
                        goto bad;
                for (c = k->choices; *c; c++)
                        if (strcasecmp(*c, s) == 0)
                                break;
                if (!*c)
                        goto bad;
                v.s = strdup(*c);       /* canonical spelling */
                if (!v.s)
                        return -ENOMEM;
                break;
        }
        }

        *ret = v;
        return 0;

bad:
        if (empty)
                snprintf(msg, size, "%s, got an empty value", key_expectation(k, exp, sizeof exp));
        else
                snprintf(msg, size, "%s, got '%s'", key_expectation(k, exp, sizeof exp),
                         echo(s, got, sizeof got));
        return -EINVAL;
}

/* Moves v into the field; frees (and wipes) what was there. */
static void value_store(Config *c, const ConfigKey *k, Value *v) {
        void *p = key_field(c, k);

        switch (k->storage) {
        case STORE_STR:
                erase_and_free(*(char **) p);
                *(char **) p = TAKE_PTR(v->s);
                break;
        case STORE_STRV:
                strv_free(*(char ***) p);
                *(char ***) p = TAKE_PTR(v->l);
                break;
        case STORE_INT:
                assert(v->i >= INT_MIN && v->i <= INT_MAX);
                *(int *) p = (int) v->i;
                break;
        case STORE_INT64:
                *(int64_t *) p = v->i;
                break;
        case STORE_UINT64:
                assert(v->i >= 0);
                *(uint64_t *) p = (uint64_t) v->i;
                break;
        case STORE_BOOL:
                *(bool *) p = v->b;
                break;
        }
        value_done(v);
}

/* Programmer checks on the table: types match storage, ranges fit. */
_unused_ static bool key_is_sane(const ConfigKey *k) {
        switch (k->type) {
        case CONFIG_STRING:
        case CONFIG_PATH:
        case CONFIG_SECRET:
                return k->storage == STORE_STR;
        case CONFIG_ENUM:
                return k->storage == STORE_STR && k->choices && k->def;
        case CONFIG_STRV:
                return k->storage == STORE_STRV;
        case CONFIG_BOOL:
                return k->storage == STORE_BOOL;
        case CONFIG_SIZE:
                return k->storage == STORE_UINT64 && k->min >= 0 && k->min <= k->max;
        case CONFIG_INT:
        case CONFIG_DURATION:
                if (k->storage == STORE_INT)
                        return k->min >= INT_MIN && k->max <= INT_MAX && k->min <= k->max;
                return k->storage == STORE_INT64 && k->min <= k->max;
        }
        return false;
}

static void config_free_fields(Config *c) {
        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++) {
                const ConfigKey *k = &config_keys[i];
                void *p = key_field(c, k);

                if (k->storage == STORE_STR)
                        erase_and_free(TAKE_PTR(*(char **) p));
                else if (k->storage == STORE_STRV)
                        strv_free(TAKE_PTR(*(char ***) p));
        }
}

void config_done(Config *c) {
        if (!c)
                return;
        config_free_fields(c);
        OPENSSL_cleanse(c, sizeof *c);
}

static void config_donep(Config *c) {
        config_done(c);
}
#define _cleanup_config_ _cleanup_(config_donep)

/* Deep copy; *dst is overwritten (not freed). */
static int config_copy(Config *dst, const Config *src) {
        *dst = *src;
        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++) {
                const ConfigKey *k = &config_keys[i];

                if (k->storage == STORE_STR)
                        *(char **) key_field(dst, k) = NULL;
                else if (k->storage == STORE_STRV)
                        *(char ***) key_field(dst, k) = NULL;
        }
        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++) {
                const ConfigKey *k = &config_keys[i];
                const void *from = key_field_const(src, k);
                void *to = key_field(dst, k);

                if (k->storage == STORE_STR && *(char *const *) from) {
                        *(char **) to = strdup(*(char *const *) from);
                        if (!*(char **) to)
                                goto fail;
                } else if (k->storage == STORE_STRV && *(char **const *) from) {
                        if (strv_copy(*(char **const *) from, (char ***) to) < 0)
                                goto fail;
                }
        }
        return 0;

fail:
        config_done(dst);
        return -ENOMEM;
}

/* Replaces *c by *n (taken). */
static void config_replace(Config *c, Config *n) {
        config_done(c);
        *c = *n;
        memset(n, 0, sizeof *n);
}

int config_init_defaults(Config *c) {
        Config n = {};
        char msg[512];
        int r;

        assert(c);

        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++) {
                const ConfigKey *k = &config_keys[i];
                Value v = {};

                assert(key_is_sane(k));
                if (!k->def)
                        continue;
                r = value_parse(k, k->def, &v, msg, sizeof msg);
                assert(r != -EINVAL);   /* a default that does not parse is a bug in the table */
                if (r < 0) {
                        config_done(&n);
                        return r;
                }
                value_store(&n, k, &v);
        }
        *c = n;
        return 0;
}

/* ---- YAML ---- */

typedef struct Loader {
        yaml_parser_t parser;
        yaml_event_t event;
        bool have_event;
        bool oom;
        Reporter rep;
        const char *buf;
        size_t size;
        Config *c;
        unsigned long key_line[ELEMENTSOF(config_keys)];        /* where each key was set, 0 = not */
        unsigned long section_line[ELEMENTSOF(config_sections)];
} Loader;

static unsigned long event_line(const yaml_event_t *e) {
        return (unsigned long) e->start_mark.line + 1;
}

static const char *event_kind(const yaml_event_t *e) {
        switch (e->type) {
        case YAML_SCALAR_EVENT:
                return "a single value";
        case YAML_SEQUENCE_START_EVENT:
                return "a list";
        case YAML_MAPPING_START_EVENT:
                return "a mapping";
        case YAML_ALIAS_EVENT:
                return "an alias";
        default:
                return "something else";
        }
}

static bool event_is_null(const yaml_event_t *e) {
        const char *v = (const char *) e->data.scalar.value;

        if (e->type != YAML_SCALAR_EVENT || e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
                return false;
        return e->data.scalar.length == 0 || streq(v, "~") || streq(v, "null") || streq(v, "Null") ||
               streq(v, "NULL");
}

static void loader_syntax_error(Loader *l) {
        const yaml_parser_t *p = &l->parser;
        const char *problem = p->problem ?: "unknown error";
        unsigned long line;

        if (p->error == YAML_MEMORY_ERROR) {
                l->oom = true;
                return;
        }
        if (p->error == YAML_READER_ERROR) {
                /* Reader errors carry a byte offset, not a mark. */
                size_t end = p->problem_offset < l->size ? p->problem_offset : l->size;

                line = 1;
                for (size_t i = 0; i < end; i++)
                        if (l->buf[i] == '\n')
                                line++;
                report_at(&l->rep, line, "invalid text: %s (the file must be UTF-8 without control characters)",
                          problem);
                return;
        }
        line = (unsigned long) p->problem_mark.line + 1;
        if (p->context)
                report_at(&l->rep, line, "YAML syntax error: %s (%s that starts on line %lu)", problem,
                          p->context, (unsigned long) p->context_mark.line + 1);
        else
                report_at(&l->rep, line, "YAML syntax error: %s", problem);
}

/* Anchors and aliases are refused outright (alias expansion is how
 * "billion laughs" works, and no setting needs them); so are tags, which
 * would let a value claim another type than the one the key has. */
static void loader_check_event(Loader *l) {
        const yaml_event_t *e = &l->event;
        const yaml_char_t *anchor = NULL, *tag = NULL;
        char buf[ECHO_MAX + 8];

        switch (e->type) {
        case YAML_ALIAS_EVENT:
                report_at(&l->rep, event_line(e),
                          "aliases ('*%s') are not supported; write the value out in full",
                          echo((const char *) e->data.alias.anchor, buf, sizeof buf));
                return;
        case YAML_SCALAR_EVENT:
                anchor = e->data.scalar.anchor;
                tag = e->data.scalar.tag;
                break;
        case YAML_SEQUENCE_START_EVENT:
                anchor = e->data.sequence_start.anchor;
                tag = e->data.sequence_start.tag;
                break;
        case YAML_MAPPING_START_EVENT:
                anchor = e->data.mapping_start.anchor;
                tag = e->data.mapping_start.tag;
                break;
        default:
                return;
        }
        if (anchor)
                report_at(&l->rep, event_line(e),
                          "anchors ('&%s') are not supported; write the value out in full",
                          echo((const char *) anchor, buf, sizeof buf));
        if (tag)
                report_at(&l->rep, event_line(e), "tags ('%s') are not supported; remove the tag",
                          echo((const char *) tag, buf, sizeof buf));
}

/* Advances to the next event. Negative when parsing cannot go on (syntax
 * error, out of memory, too many errors); the reason is already reported. */
static int loader_next(Loader *l) {
        if (l->have_event) {
                yaml_event_delete(&l->event);
                l->have_event = false;
        }
        if (l->rep.stop)
                return -ECANCELED;
        if (!yaml_parser_parse(&l->parser, &l->event)) {
                loader_syntax_error(l);
                l->rep.stop = true;
                return l->oom ? -ENOMEM : -EINVAL;
        }
        l->have_event = true;
        loader_check_event(l);
        return 0;
}

/* Skips the node whose first event is current. */
static int loader_skip(Loader *l) {
        unsigned depth;
        int r;

        if (l->event.type != YAML_SEQUENCE_START_EVENT && l->event.type != YAML_MAPPING_START_EVENT)
                return 0;
        depth = 1;
        while (depth > 0) {
                r = loader_next(l);
                if (r < 0)
                        return r;
                switch (l->event.type) {
                case YAML_SEQUENCE_START_EVENT:
                case YAML_MAPPING_START_EVENT:
                        if (++depth > CONFIG_DEPTH_MAX) {
                                report_at(&l->rep, event_line(&l->event), "nesting is too deep");
                                l->rep.stop = true;
                                return -EINVAL;
                        }
                        break;
                case YAML_SEQUENCE_END_EVENT:
                case YAML_MAPPING_END_EVENT:
                        depth--;
                        break;
                default:
                        break;
                }
        }
        return 0;
}

/* Current event is a scalar: returns a NUL-terminated copy in *ret, or NULL
 * when it contains a NUL byte (reported). */
static int loader_scalar(Loader *l, const char *what, char **ret) {
        const yaml_event_t *e = &l->event;
        char *s;

        if (strlen((const char *) e->data.scalar.value) != e->data.scalar.length) {
                report_at(&l->rep, event_line(e), "%s must not contain NUL bytes", what);
                *ret = NULL;
                return 0;
        }
        s = strndup((const char *) e->data.scalar.value, e->data.scalar.length);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* Current event starts a YAML sequence for list key k. */
static int loader_list(Loader *l, const ConfigKey *k, const char *name) {
        _cleanup_strv_free_ char **list = strv_new_empty();
        size_t n = 0;
        bool bad = false;
        char msg[512];
        int r;

        if (!list)
                return -ENOMEM;
        for (;;) {
                _cleanup_free_ char *item = NULL;
                unsigned long line;

                r = loader_next(l);
                if (r < 0)
                        return r;
                line = event_line(&l->event);
                if (l->event.type == YAML_SEQUENCE_END_EVENT)
                        break;
                if (l->event.type == YAML_ALIAS_EVENT) {
                        bad = true;     /* already reported */
                        continue;
                }
                if (l->event.type != YAML_SCALAR_EVENT) {
                        report_at(&l->rep, line, "%s: list items must be strings, got %s", name,
                                  event_kind(&l->event));
                        bad = true;
                        r = loader_skip(l);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (event_is_null(&l->event)) {
                        report_at(&l->rep, line, "%s: list items must not be empty", name);
                        bad = true;
                        continue;
                }
                r = loader_scalar(l, name, &item);
                if (r < 0)
                        return r;
                if (!item) {
                        bad = true;
                        continue;
                }
                if (n >= CONFIG_STRV_MAX) {
                        if (n == CONFIG_STRV_MAX)
                                report_at(&l->rep, line, "%s: at most %d items are allowed", name,
                                          CONFIG_STRV_MAX);
                        n++;
                        bad = true;
                        continue;
                }
                r = string_check(k, item, msg, sizeof msg);
                if (r < 0) {
                        report_at(&l->rep, line, "%s: %s", name, msg);
                        bad = true;
                        continue;
                }
                if (bad)
                        continue;
                r = strv_push(&list, &n, item);
                if (r < 0)
                        return r;
                item = NULL;
        }
        if (!bad) {
                Value v = { .l = TAKE_PTR(list) };

                value_store(l->c, k, &v);
        }
        return 0;
}

/* The key event for config_keys[idx] was on key_line; the current event is
 * its value. */
static int loader_value(Loader *l, size_t idx, unsigned long key_line) {
        const ConfigKey *k = &config_keys[idx];
        const yaml_event_t *e = &l->event;
        unsigned long line = event_line(e);
        char name[CONFIG_NAME_MAX * 2], msg[512], exp[256];
        _cleanup_erase_ char *text = NULL;
        Value v = {};
        int r;

        key_name(k, name, sizeof name);

        if (l->key_line[idx] > 0) {
                report_at(&l->rep, key_line, "duplicate key '%s' (first set on line %lu); keep only one",
                          name, l->key_line[idx]);
                return loader_skip(l);
        }
        l->key_line[idx] = key_line;

        switch (e->type) {
        case YAML_ALIAS_EVENT:
                return 0;       /* already reported */

        case YAML_SEQUENCE_START_EVENT:
                if (k->type == CONFIG_STRV)
                        return loader_list(l, k, name);
                __attribute__((fallthrough));
        case YAML_MAPPING_START_EVENT:
                report_at(&l->rep, line, "%s: %s, got %s", name, key_expectation(k, exp, sizeof exp),
                          event_kind(e));
                return loader_skip(l);

        case YAML_SCALAR_EVENT:
                if (k->type == CONFIG_STRV && !event_is_null(e)) {
                        report_at(&l->rep, line,
                                  "%s: expected a list of strings, written as [\"a\", \"b\"] or as "
                                  "lines starting with '- '", name);
                        return 0;
                }
                if (!event_is_null(e)) {
                        r = loader_scalar(l, name, &text);
                        if (r < 0)
                                return r;
                        if (!text)
                                return 0;
                }
                r = value_parse(k, text, &v, msg, sizeof msg);
                if (r == -EINVAL) {
                        report_at(&l->rep, line, "%s: %s", name, msg);
                        return 0;
                }
                if (r < 0)
                        return r;
                value_store(l->c, k, &v);
                return 0;

        default:
                assert(false);
                return -EINVAL;
        }
}

/* Reports an unknown key; the value (current event) is skipped unread. */
static int loader_unknown_key(Loader *l, const char *section, const char *key, unsigned long line) {
        char hint[CONFIG_NAME_MAX * 2], buf[1024];
        size_t n;

        if (!looks_like_name(key)) {
                report_at(&l->rep, line, "unknown key %s%s%s(setting names use only letters, digits and '_')",
                          section[0] ? "in '" : "", section, section[0] ? "' " : "");
                return loader_skip(l);
        }

        if (suggest_key(section, key, hint, sizeof hint))
                report_at(&l->rep, line, "unknown key '%s%s%s' (did you mean '%s'?)", section,
                          section[0] ? "." : "", key, hint);
        else {
                /* No close match: list what is valid here. */
                buf[0] = 0;
                for (size_t i = 0; i < ELEMENTSOF(config_keys); i++) {
                        if (!streq(config_keys[i].section, section))
                                continue;
                        n = strlen(buf);
                        snprintf(buf + n, sizeof buf - n, "%s%s", n > 0 ? ", " : "", config_keys[i].key);
                }
                if (section[0] == 0)
                        for (size_t i = 1; i < ELEMENTSOF(config_sections); i++) {
                                n = strlen(buf);
                                snprintf(buf + n, sizeof buf - n, ", %s", config_sections[i].name);
                        }
                report_at(&l->rep, line, "unknown key '%s%s%s'; valid keys %s%s%s are: %s", section,
                          section[0] ? "." : "", key, section[0] ? "in '" : "at the top level", section,
                          section[0] ? "'" : "", buf);
        }
        return loader_skip(l);
}

/* Reads a mapping key. On return the current event is the value; *ret_key is
 * NULL when the key was unusable (reported) and the value must be skipped. */
static int loader_key(Loader *l, char **ret_key, unsigned long *ret_line) {
        _cleanup_free_ char *key = NULL;
        int r;

        *ret_line = event_line(&l->event);
        if (l->event.type == YAML_SCALAR_EVENT) {
                r = loader_scalar(l, "keys", &key);
                if (r < 0)
                        return r;
        } else {
                if (l->event.type != YAML_ALIAS_EVENT)
                        report_at(&l->rep, *ret_line, "keys must be plain names, got %s",
                                  event_kind(&l->event));
                r = loader_skip(l);
                if (r < 0)
                        return r;
        }
        r = loader_next(l);
        if (r < 0)
                return r;
        *ret_key = TAKE_PTR(key);
        return 0;
}

/* Current event: MAPPING_START of section sec. */
static int loader_section(Loader *l, int sec) {
        const char *section = config_sections[sec].name;
        int r;

        for (;;) {
                _cleanup_free_ char *key = NULL;
                unsigned long line;
                int idx;

                r = loader_next(l);
                if (r < 0)
                        return r;
                if (l->event.type == YAML_MAPPING_END_EVENT)
                        return 0;
                r = loader_key(l, &key, &line);
                if (r < 0)
                        return r;
                if (!key)
                        r = loader_skip(l);
                else {
                        idx = key_find(section, key);
                        if (idx >= 0)
                                r = loader_value(l, (size_t) idx, line);
                        else
                                r = loader_unknown_key(l, section, key, line);
                }
                if (r < 0)
                        return r;
        }
}

/* Current event: MAPPING_START of the document. */
static int loader_root(Loader *l) {
        int r;

        for (;;) {
                _cleanup_free_ char *key = NULL;
                unsigned long line;
                int idx, sec;

                r = loader_next(l);
                if (r < 0)
                        return r;
                if (l->event.type == YAML_MAPPING_END_EVENT)
                        return 0;
                r = loader_key(l, &key, &line);
                if (r < 0)
                        return r;
                if (!key) {
                        r = loader_skip(l);
                        if (r < 0)
                                return r;
                        continue;
                }

                sec = section_find(key);
                if (sec >= 0) {
                        if (l->section_line[sec] > 0) {
                                report_at(&l->rep, line,
                                          "duplicate section '%s' (first on line %lu); merge them into one",
                                          key, l->section_line[sec]);
                                r = loader_skip(l);
                        } else {
                                l->section_line[sec] = line;
                                if (l->event.type == YAML_MAPPING_START_EVENT)
                                        r = loader_section(l, sec);
                                else if (event_is_null(&l->event) || l->event.type == YAML_ALIAS_EVENT)
                                        r = 0;  /* "server:" with nothing below; alias already reported */
                                else {
                                        report_at(&l->rep, event_line(&l->event),
                                                  "'%s' must be a mapping of settings (indented "
                                                  "'key: value' lines below '%s:'), got %s",
                                                  key, key, event_kind(&l->event));
                                        r = loader_skip(l);
                                }
                        }
                } else {
                        idx = key_find("", key);
                        if (idx >= 0)
                                r = loader_value(l, (size_t) idx, line);
                        else
                                r = loader_unknown_key(l, "", key, line);
                }
                if (r < 0)
                        return r;
        }
}

static int loader_stream(Loader *l) {
        int r;

        r = loader_next(l);             /* STREAM-START */
        if (r < 0)
                return r;
        r = loader_next(l);
        if (r < 0)
                return r;
        if (l->event.type == YAML_STREAM_END_EVENT)
                return 0;               /* empty file, or comments only */
        assert(l->event.type == YAML_DOCUMENT_START_EVENT);

        r = loader_next(l);
        if (r < 0)
                return r;
        if (l->event.type == YAML_MAPPING_START_EVENT)
                r = loader_root(l);
        else if (event_is_null(&l->event) || l->event.type == YAML_ALIAS_EVENT)
                r = 0;
        else {
                report_at(&l->rep, event_line(&l->event),
                          "the top level must be a mapping of settings such as 'server:', got %s",
                          event_kind(&l->event));
                r = loader_skip(l);
        }
        if (r < 0)
                return r;

        r = loader_next(l);             /* DOCUMENT-END */
        if (r < 0)
                return r;
        r = loader_next(l);
        if (r < 0)
                return r;
        if (l->event.type == YAML_DOCUMENT_START_EVENT)
                report_at(&l->rep, event_line(&l->event),
                          "only one YAML document is allowed; remove the second '---' and what follows");
        return 0;
}

/* Reads at most CONFIG_FILE_MAX bytes; -EFBIG when there is more. */
static int read_config_file(const char *path, char **ret, size_t *ret_size, struct stat *ret_st) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, cap;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, ret_st) < 0)
                return -errno;
        if (S_ISDIR(ret_st->st_mode))
                return -EISDIR;
        if (S_ISREG(ret_st->st_mode) && ret_st->st_size > CONFIG_FILE_MAX)
                return -EFBIG;

        /* Sized from fstat() for regular files; grown to the cap if the file grows meanwhile. */
        cap = S_ISREG(ret_st->st_mode) ? (size_t) ret_st->st_size + 1 : CONFIG_FILE_MAX + 1;
        buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k;

                if (n == cap) {
                        char *b;

                        if (cap > CONFIG_FILE_MAX)
                                return -EFBIG;
                        b = realloc(buf, CONFIG_FILE_MAX + 1);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                        cap = CONFIG_FILE_MAX + 1;
                }
                k = read(fd, buf + n, cap - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > CONFIG_FILE_MAX)
                        return -EFBIG;
        }
        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return 0;
}

static void loader_done(Loader *l) {
        if (l->have_event)
                yaml_event_delete(&l->event);
        yaml_parser_delete(&l->parser);
}

int config_load_file(Config *c, const char *path, FILE *errors) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_config_ Config n = {};
        Loader l = {};
        struct stat st;
        size_t size = 0;
        int idx, r;

        assert(c);
        assert(path);

        l.rep = (Reporter) { .f = errors, .path = path };

        r = read_config_file(path, &buf, &size, &st);
        if (r == -EFBIG) {
                report(&l.rep, "file is larger than %d bytes; refusing to parse it", CONFIG_FILE_MAX);
                return -EINVAL;
        }
        if (r < 0)
                return r;

        /* A config file anyone may write to is anyone's daemon. */
        if (S_ISREG(st.st_mode) && (st.st_mode & S_IWOTH))
                report(&l.rep, "file is writable by other users; run 'chmod o-w %s'", path);

        r = config_copy(&n, c);
        if (r < 0)
                return r;

        if (!yaml_parser_initialize(&l.parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&l.parser, (const unsigned char *) buf, size);
        yaml_parser_set_encoding(&l.parser, YAML_UTF8_ENCODING);
        l.buf = buf;
        l.size = size;
        l.c = &n;

        r = loader_stream(&l);
        loader_done(&l);
        if (r == -ENOMEM || l.oom)
                return -ENOMEM;

        /* A secret in a file others can read is not a secret. */
        idx = key_find("auth", "shared_secret");
        assert(idx >= 0);
        if (l.key_line[idx] > 0 && n.auth_shared_secret && S_ISREG(st.st_mode) && (st.st_mode & S_IROTH))
                report_at(&l.rep, l.key_line[idx],
                          "auth.shared_secret: this file is readable by other users; run 'chmod o-rwx %s' "
                          "or move the secret to auth.shared_secret_file", path);

        if (l.rep.n > 0)
                return -EINVAL;

        config_replace(c, &n);
        return 0;
}

/* ---- environment ---- */

static const char *env_lookup(char **envp, const char *name) {
        size_t len = strlen(name);

        for (char **e = envp; e && *e; e++)
                if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
                        return *e + len + 1;
        return NULL;
}

static bool env_name_is_known(const char *name) {
        char buf[CONFIG_NAME_MAX * 2];

        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++) {
                const ConfigKey *k = &config_keys[i];

                if (streq(name, key_env_name(k, buf, sizeof buf)))
                        return true;
                for (const char *const *a = k->env_aliases; a && *a; a++)
                        if (streq(name, *a))
                                return true;
                if (k->env_bool_alias && streq(name, k->env_bool_alias))
                        return true;
        }
        return false;
}

/* SYSTEMMANAGER_<SECTION>_* for a section we own but no setting: a typo,
 * which would otherwise silently leave the default in place. Other
 * SYSTEMMANAGER_* variables belong to clients and tests and are ignored. */
static void env_check_unknown(Reporter *rep, char **envp) {
        char prefix[CONFIG_NAME_MAX], name[CONFIG_NAME_MAX * 2], buf[CONFIG_NAME_MAX * 2], shown[ECHO_MAX + 8];

        for (char **e = envp; e && *e; e++) {
                const char *eq;
                size_t len;
                int sec = -1;

                if (!startswith(*e, ENV_PREFIX))
                        continue;
                eq = strchr(*e, '=');
                if (!eq)
                        continue;
                len = (size_t) (eq - *e);
                if (len >= sizeof name)
                        len = sizeof name - 1;
                memcpy(name, *e, len);
                name[len] = 0;
                if (env_name_is_known(name))
                        continue;

                for (size_t i = 1; i < ELEMENTSOF(config_sections) && sec < 0; i++) {
                        size_t j;

                        snprintf(prefix, sizeof prefix, ENV_PREFIX "%s_", config_sections[i].name);
                        for (j = 0; prefix[j]; j++)
                                if (prefix[j] >= 'a' && prefix[j] <= 'z')
                                        prefix[j] = (char) (prefix[j] - 'a' + 'A');
                        if (startswith(name, prefix))
                                sec = (int) i;
                }
                if (sec < 0)
                        continue;

                Suggestion s = { .distance = SIZE_MAX,
                                 .threshold = typo_threshold(strlen(name) - strlen(prefix)) };
                for (size_t i = 0; i < ELEMENTSOF(config_keys); i++) {
                        const ConfigKey *k = &config_keys[i];

                        suggestion_consider(&s, name, key_env_name(k, buf, sizeof buf));
                        for (const char *const *a = k->env_aliases; a && *a; a++)
                                suggestion_consider(&s, name, *a);
                        if (k->env_bool_alias)
                                suggestion_consider(&s, name, k->env_bool_alias);
                }
                echo(name, shown, sizeof shown);
                if (s.distance != SIZE_MAX)
                        report(rep, "env %s: unknown setting (did you mean %s?)", shown, s.best);
                else
                        report(rep, "env %s: unknown setting; see 'systemmanager-mcp --dump-config-reference' "
                               "for the valid names", shown);
        }
}

static int env_apply_one(Reporter *rep, Config *n, const ConfigKey *k, const char *var, const char *value) {
        char msg[512];
        Value v = {};
        int r;

        r = value_parse(k, value, &v, msg, sizeof msg);
        if (r == -EINVAL) {
                report(rep, "env %s: %s", var, msg);
                return 0;
        }
        if (r < 0)
                return r;
        value_store(n, k, &v);
        return 0;
}

int config_apply_env(Config *c, char **envp, FILE *errors) {
        _cleanup_config_ Config n = {};
        Reporter rep = { .f = errors };
        char var[CONFIG_NAME_MAX * 2], msg[512];
        int r;

        assert(c);

        r = config_copy(&n, c);
        if (r < 0)
                return r;

        env_check_unknown(&rep, envp);

        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++) {
                const ConfigKey *k = &config_keys[i];
                const char *value;

                /* Weakest first, so SYSTEMMANAGER_<SECTION>_<KEY> wins over the origin's names. */
                if (k->env_bool_alias) {
                        value = env_lookup(envp, k->env_bool_alias);
                        if (value) {
                                bool b;

                                if (parse_bool(value, &b) < 0) {
                                        char got[ECHO_MAX + 8];

                                        snprintf(msg, sizeof msg, "expected true or false, got '%s'",
                                                 echo(value, got, sizeof got));
                                        report(&rep, "env %s: %s", k->env_bool_alias, msg);
                                } else {
                                        r = env_apply_one(&rep, &n, k, k->env_bool_alias,
                                                          b ? k->env_bool_true : k->env_bool_false);
                                        if (r < 0)
                                                return r;
                                }
                        }
                }
                for (const char *const *a = k->env_aliases; a && *a; a++) {
                        value = env_lookup(envp, *a);
                        if (!value)
                                continue;
                        r = env_apply_one(&rep, &n, k, *a, value);
                        if (r < 0)
                                return r;
                }
                key_env_name(k, var, sizeof var);
                value = env_lookup(envp, var);
                if (value) {
                        r = env_apply_one(&rep, &n, k, var, value);
                        if (r < 0)
                                return r;
                }
        }

        if (rep.n > 0)
                return -EINVAL;
        config_replace(c, &n);
        return 0;
}

/* ---- cross checks ---- */

static bool host_is_loopback(const char *host) {
        struct in_addr a4;
        struct in6_addr a6;

        if (strcasecmp(host, "localhost") == 0)
                return true;
        if (inet_pton(AF_INET, host, &a4) == 1)
                return (ntohl(a4.s_addr) >> 24) == 127;
        if (inet_pton(AF_INET6, host, &a6) == 1)
                return IN6_IS_ADDR_LOOPBACK(&a6);
        return false;
}

int config_finalize(Config *c, FILE *errors) {
        Reporter rep = { .f = errors };
        _cleanup_free_ char *audit = NULL;

        assert(c);

        if (!c->state_dir)
                report(&rep, "state_dir must be set");
        if (!!c->server_tls_cert != !!c->server_tls_key)
                report(&rep, "server.tls_cert and server.tls_key must be set together (only %s is set)",
                       c->server_tls_cert ? "server.tls_cert" : "server.tls_key");
        /* No listener at all is fine for --stdio; the HTTP front refuses it at start. */
        if (c->server_port != 0 && !c->server_host)
                report(&rep, "server.host must be set when server.port is not 0");
        if (c->auth_shared_secret && c->auth_shared_secret_file)
                report(&rep, "auth.shared_secret and auth.shared_secret_file are both set; keep only one");
        if (c->tools_long_timeout < c->tools_timeout)
                report(&rep, "tools.long_timeout (%ds) must not be shorter than tools.timeout (%ds)",
                       c->tools_long_timeout, c->tools_timeout);
        if (!c->auth_mode)
                report(&rep, "auth.mode must be set");
        else if (streq(c->auth_mode, "disabled") && c->server_port != 0 && c->server_host &&
                 !host_is_loopback(c->server_host) && !c->auth_allow_disabled_on_network) {
                char shown[ECHO_MAX + 8];

                /* Without auth every tool is open to whoever reaches the port. */
                report(&rep,
                       "auth.mode: 'disabled' is refused on the non-loopback listener %s:%d; use 'required', "
                       "bind server.host to 127.0.0.1, or set auth.allow_disabled_on_network: true",
                       echo(c->server_host, shown, sizeof shown), c->server_port);
        }
        if (rep.n > 0)
                return -EINVAL;

        if (!c->server_allowed_origins) {
                c->server_allowed_origins = strv_new_empty();
                if (!c->server_allowed_origins)
                        return -ENOMEM;
        }

        if (!c->audit_file) {
                size_t len = strlen(c->state_dir);

                while (len > 1 && c->state_dir[len - 1] == '/')
                        len--;
                if (asprintf(&audit, "%.*s/audit.log", (int) len, c->state_dir) < 0)
                        return -ENOMEM;
                if (len == 1)   /* state_dir "/" */
                        memmove(audit, audit + 1, strlen(audit));
                c->audit_file = TAKE_PTR(audit);
        }
        if (!c->service_tokens_db) {
                size_t len = strlen(c->state_dir);

                while (len > 1 && c->state_dir[len - 1] == '/')
                        len--;
                if (asprintf(&c->service_tokens_db, "%.*s/tokens.db", (int) len, len == 1 ? "" : c->state_dir) < 0) {
                        c->service_tokens_db = NULL;
                        return -ENOMEM;
                }
        }
        return 0;
}

/* ---- reference ---- */

static void dump_env(FILE *f, const ConfigKey *k) {
        char buf[CONFIG_NAME_MAX * 2];

        fprintf(f, "`%s`", key_env_name(k, buf, sizeof buf));
        for (const char *const *a = k->env_aliases; a && *a; a++)
                fprintf(f, ", `%s`", *a);
        if (k->env_bool_alias)
                fprintf(f, ", `%s` (`true` → `%s`, `false` → `%s`)", k->env_bool_alias, k->env_bool_true,
                        k->env_bool_false);
}

static void dump_type(FILE *f, const ConfigKey *k) {
        char a[32], b[32];

        switch (k->type) {
        case CONFIG_STRING:
                fputs("string", f);
                break;
        case CONFIG_PATH:
                fputs("absolute path", f);
                break;
        case CONFIG_SECRET:
                fputs("secret string", f);
                break;
        case CONFIG_INT:
                fprintf(f, "integer, %" PRId64 "–%" PRId64, k->min, k->max);
                break;
        case CONFIG_SIZE:
                fprintf(f, "size, %s–%s", format_size(k->min, a, sizeof a), format_size(k->max, b, sizeof b));
                break;
        case CONFIG_DURATION:
                fprintf(f, "duration, %s–%s", format_duration(k->min, a, sizeof a),
                        format_duration(k->max, b, sizeof b));
                break;
        case CONFIG_BOOL:
                fputs("boolean", f);
                break;
        case CONFIG_ENUM:
                for (const char *const *c = k->choices; *c; c++)
                        fprintf(f, "%s`%s`", c == k->choices ? "" : " \\| ", *c);
                break;
        case CONFIG_STRV:
                fputs("list of strings", f);
                break;
        }
}

static void dump_default(FILE *f, const ConfigKey *k) {
        if (k->doc_default)
                fputs(k->doc_default, f);
        else if (!k->def || k->type == CONFIG_SECRET)
                fputs("*(unset)*", f);
        else
                fprintf(f, "`%s`", k->def);
}

static void dump_example(FILE *f) {
        const char *section = NULL;

        fputs("```yaml\n"
              "# Every setting at its default; commented lines show settings that are unset by default.\n",
              f);
        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++) {
                const ConfigKey *k = &config_keys[i];
                const char *indent = k->section[0] ? "  " : "";

                if (k->flags & KEY_NO_EXAMPLE)
                        continue;
                if (!section || !streq(section, k->section)) {
                        section = k->section;
                        if (section[0])
                                fprintf(f, "\n%s:\n", section);
                }
                if (k->def && k->type == CONFIG_STRV) {
                        /* A flow sequence of quoted items: "*.key" or "::/0" must not be read as YAML syntax. */
                        const char *p = k->def;

                        fprintf(f, "%s%s: [", indent, k->key);
                        while (*p) {
                                size_t l = strcspn(p, ",");
                                fprintf(f, "%s\"%.*s\"", p == k->def ? "" : ", ", (int) l, p);
                                p += l;
                                if (*p == ',')
                                        p++;
                        }
                        fputs("]\n", f);
                } else if (k->def)
                        fprintf(f, "%s%s: %s\n", indent, k->key, k->def);
                else
                        fprintf(f, "%s# %s: %s\n", indent, k->key, k->example);
        }
        fputs("```\n", f);
}

void config_dump_reference(FILE *f) {
        char name[CONFIG_NAME_MAX * 2];

        assert(f);

        fputs("<!-- Generated by `systemmanager-mcp --dump-config-reference` from the key table in\n"
              "     server/config.c. Do not edit by hand. -->\n"
              "\n"
              "# Configuration reference\n"
              "\n"
              "`systemmanager-mcp` reads one YAML file, `/etc/systemmanager/config.yaml` unless\n"
              "`--config FILE` says otherwise, then applies environment variables. Later sources win:\n"
              "built-in default < YAML file < environment. `systemmanager-mcp --check-config` validates\n"
              "both and exits.\n"
              "\n"
              "## Rules\n"
              "\n"
              "- The top level is a mapping; settings live in the sections below (`server:`, `auth:`,\n"
              "  ...), except `state_dir`.\n"
              "- Unknown keys, duplicate keys, wrong types and out-of-range values are errors, never\n"
              "  ignored. Every error is reported as `FILE:LINE: message`, all of them at once, and\n"
              "  nothing is applied until the whole file is valid.\n"
              "- Anchors (`&a`), aliases (`*a`), tags (`!!str`) and multiple documents are refused. The\n"
              "  file may be at most 1 MiB and must not be writable by other users.\n"
              "- An empty value (`key:` or `key: null`) resets a string setting to unset.\n"
              "- **Sizes** are bytes: a plain number or a number with a `K`/`KiB`, `M`/`MiB` or\n"
              "  `G`/`GiB` suffix (all powers of 1024): `8192`, `8KiB`, `1MiB`.\n"
              "- **Durations** are seconds: a plain number or a number with an `s`, `m`, `h` or `d`\n"
              "  suffix: `30`, `30s`, `15m`, `2h`, `7d`.\n"
              "- **Booleans**: `true`/`false`, `yes`/`no`, `on`/`off`, `1`/`0`, any case.\n"
              "- **Lists** are YAML sequences (`[\"a\", \"b\"]` or lines starting with `- `); in the\n"
              "  environment they are comma-separated.\n"
              "- **Secrets** are never printed, not even in error messages. Keep them out of the YAML\n"
              "  file: use `auth.shared_secret_file` or the environment. A YAML file that does hold\n"
              "  `auth.shared_secret` must not be readable by other users.\n"
              "\n"
              "## Environment\n"
              "\n"
              "Every setting can be overridden by `SYSTEMMANAGER_<SECTION>_<KEY>` in upper case\n"
              "(`SYSTEMMANAGER_STATE_DIR` for `state_dir`). The names used by the original SystemManager\n"
              "MCP server keep working where listed; when both are set, the `SYSTEMMANAGER_<SECTION>_<KEY>`\n"
              "form wins. An empty variable resets a string setting to unset. An unknown variable that\n"
              "starts with the prefix of one of the sections below (for example\n"
              "`SYSTEMMANAGER_SERVER_PROT`) is an error; other `SYSTEMMANAGER_*` variables (client\n"
              "settings such as `SYSTEMMANAGER_TOKEN` and `SYSTEMMANAGER_URL`) are ignored.\n",
              f);

        for (size_t s = 0; s < ELEMENTSOF(config_sections); s++) {
                const ConfigSection *sec = &config_sections[s];

                if (sec->name[0])
                        fprintf(f, "\n## `%s`\n\n%s\n\n", sec->name, sec->description);
                else
                        fprintf(f, "\n## Top level\n\n%s\n\n", sec->description);
                fputs("| Key | Environment | Type | Default | Description |\n"
                      "|-----|-------------|------|---------|-------------|\n",
                      f);
                for (size_t i = 0; i < ELEMENTSOF(config_keys); i++) {
                        const ConfigKey *k = &config_keys[i];

                        if (!streq(k->section, sec->name))
                                continue;
                        fprintf(f, "| `%s` | ", key_name(k, name, sizeof name));
                        dump_env(f, k);
                        fputs(" | ", f);
                        dump_type(f, k);
                        fputs(" | ", f);
                        dump_default(f, k);
                        fprintf(f, " | %s |\n", k->description);
                }
        }

        fputs("\n## Example\n\n", f);
        dump_example(f);
}
