/* SPDX-License-Identifier: MIT */

/* server/config.c: defaults, the YAML loader (every type, every refusal, with
 * exact "file:line: message" output), environment overrides and the origin's
 * variable names, cross checks, secrets never printed, and the generated
 * reference. The tests run in a private temporary directory so that messages
 * name "config.yaml" exactly. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "server/config.h"

#define FILE_NAME "config.yaml"

static char tmpdir[] = "/tmp/test_config.XXXXXX";
static char *old_cwd;

static int group_setup(void **state) {
        old_cwd = getcwd(NULL, 0);
        if (!old_cwd || !mkdtemp(tmpdir) || chdir(tmpdir) < 0)
                return -1;
        return 0;
}

static int group_teardown(void **state) {
        (void) unlink(FILE_NAME);
        if (old_cwd && chdir(old_cwd) < 0)
                return -1;
        free(old_cwd);
        (void) rmdir(tmpdir);
        return 0;
}

static void write_file(const char *name, const char *content, size_t len, mode_t mode) {
        FILE *f;

        (void) unlink(name);
        f = fopen(name, "we");
        assert_non_null(f);
        assert_int_equal(fwrite(content, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(chmod(name, mode), 0);
}

/* Loads `yaml` (written to config.yaml, mode 0600) over *c. Everything
 * written to the error stream ends up in *ret_errors ("" when nothing). */
static int load_yaml_len(Config *c, const char *yaml, size_t len, char **ret_errors) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;
        int r;

        write_file(FILE_NAME, yaml, len, 0600);
        f = open_memstream(&buf, &size);
        assert_non_null(f);
        r = config_load_file(c, FILE_NAME, f);
        assert_int_equal(fclose(f), 0);
        *ret_errors = buf;
        return r;
}

static int load_yaml(Config *c, const char *yaml, char **ret_errors) {
        return load_yaml_len(c, yaml, strlen(yaml), ret_errors);
}

static int apply_env(Config *c, char **envp, char **ret_errors) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;
        int r;

        f = open_memstream(&buf, &size);
        assert_non_null(f);
        r = config_apply_env(c, envp, f);
        assert_int_equal(fclose(f), 0);
        *ret_errors = buf;
        return r;
}

static int finalize(Config *c, char **ret_errors) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;
        int r;

        f = open_memstream(&buf, &size);
        assert_non_null(f);
        r = config_finalize(c, f);
        assert_int_equal(fclose(f), 0);
        *ret_errors = buf;
        return r;
}

static size_t strv_length(char **l) {
        size_t n = 0;

        while (l && l[n])
                n++;
        return n;
}

static size_t count_lines(const char *s) {
        size_t n = 0;

        for (; *s; s++)
                if (*s == '\n')
                        n++;
        return n;
}

/* Field-by-field comparison: every member of Config, so a new field that
 * is not compared here shows up as a size mismatch below. */
static void assert_config_equal(const Config *a, const Config *b) {
        /* Fails when a field is appended to Config: compare it below, then move this check. */
        assert_int_equal(sizeof(Config), offsetof(Config, rate_limit_window) + sizeof(int64_t));
        assert_true(streq_ptr(a->state_dir, b->state_dir));
        assert_true(streq_ptr(a->server_host, b->server_host));
        assert_int_equal(a->server_port, b->server_port);
        assert_true(streq_ptr(a->server_unix_socket, b->server_unix_socket));
        assert_int_equal(strv_length(a->server_allowed_origins), strv_length(b->server_allowed_origins));
        for (size_t i = 0; i < strv_length(a->server_allowed_origins); i++)
                assert_string_equal(a->server_allowed_origins[i], b->server_allowed_origins[i]);
        assert_true(streq_ptr(a->server_tls_cert, b->server_tls_cert));
        assert_true(streq_ptr(a->server_tls_key, b->server_tls_key));
        assert_int_equal(a->server_max_body_bytes, b->server_max_body_bytes);
        assert_int_equal(a->server_max_header_bytes, b->server_max_header_bytes);
        assert_int_equal(a->server_max_ws_message_bytes, b->server_max_ws_message_bytes);
        assert_int_equal(a->server_max_json_depth, b->server_max_json_depth);
        assert_int_equal(a->server_max_connections, b->server_max_connections);
        assert_int_equal(a->server_idle_timeout, b->server_idle_timeout);
        assert_int_equal(a->server_header_timeout, b->server_header_timeout);
        assert_int_equal(a->server_max_inflight_per_connection, b->server_max_inflight_per_connection);
        assert_int_equal(a->server_worker_threads, b->server_worker_threads);
        assert_int_equal(a->server_shutdown_timeout, b->server_shutdown_timeout);
        assert_true(streq_ptr(a->auth_mode, b->auth_mode));
        assert_true(streq_ptr(a->auth_shared_secret, b->auth_shared_secret));
        assert_true(streq_ptr(a->auth_shared_secret_file, b->auth_shared_secret_file));
        assert_int_equal(a->auth_max_token_bytes, b->auth_max_token_bytes);
        assert_int_equal(a->auth_max_ttl, b->auth_max_ttl);
        assert_int_equal(a->auth_allow_query_token, b->auth_allow_query_token);
        assert_int_equal(a->auth_allow_disabled_on_network, b->auth_allow_disabled_on_network);
        assert_int_equal(strv_length(a->auth_api_keys), strv_length(b->auth_api_keys));
        assert_int_equal(strv_length(a->auth_basic_users), strv_length(b->auth_basic_users));
        assert_true(streq_ptr(a->auth_bootstrap_token, b->auth_bootstrap_token));
        assert_true(streq_ptr(a->auth_bootstrap_scopes, b->auth_bootstrap_scopes));
        assert_true(streq_ptr(a->auth_bootstrap_expires_at, b->auth_bootstrap_expires_at));
        assert_true(streq_ptr(a->audit_file, b->audit_file));
        assert_int_equal(a->audit_checkpoint_every, b->audit_checkpoint_every);
        assert_int_equal(a->audit_journald, b->audit_journald);
        assert_int_equal(a->tools_timeout, b->tools_timeout);
        assert_int_equal(a->tools_long_timeout, b->tools_long_timeout);
        assert_int_equal(a->tools_max_output_bytes, b->tools_max_output_bytes);
        assert_true(streq_ptr(a->jwt_secret, b->jwt_secret));
        assert_true(streq_ptr(a->jwt_secret_file, b->jwt_secret_file));
        assert_true(streq_ptr(a->jwt_jwks_file, b->jwt_jwks_file));
        assert_true(streq_ptr(a->jwt_jwks, b->jwt_jwks));
        assert_true(streq_ptr(a->jwt_jwks_url, b->jwt_jwks_url));
        assert_int_equal(a->jwt_jwks_cache_ttl, b->jwt_jwks_cache_ttl);
        assert_int_equal(a->jwt_jwks_fetch_timeout, b->jwt_jwks_fetch_timeout);
        assert_true(streq_ptr(a->jwt_audience, b->jwt_audience));
        assert_true(streq_ptr(a->jwt_issuer, b->jwt_issuer));
        char **const lists[][2] = {
                { a->jwt_allowed_algorithms, b->jwt_allowed_algorithms },
                { a->network_allowed_cidrs, b->network_allowed_cidrs },
                { a->network_denied_cidrs, b->network_denied_cidrs },
                { a->network_allowed_ports, b->network_allowed_ports },
                { a->filesystem_allowed_paths, b->filesystem_allowed_paths },
                { a->filesystem_denied_patterns, b->filesystem_denied_patterns },
        };
        for (size_t l = 0; l < ELEMENTSOF(lists); l++) {
                assert_int_equal(strv_length(lists[l][0]), strv_length(lists[l][1]));
                for (size_t i = 0; i < strv_length(lists[l][0]); i++)
                        assert_string_equal(lists[l][0][i], lists[l][1][i]);
        }
        assert_true(streq_ptr(a->docker_socket, b->docker_socket));
        assert_true(streq_ptr(a->packages_backend, b->packages_backend));
        assert_true(streq_ptr(a->service_tokens_db, b->service_tokens_db));
        assert_int_equal(a->approval_timeout, b->approval_timeout);
        assert_true(streq_ptr(a->approval_mode, b->approval_mode));
        assert_true(streq_ptr(a->approval_webhook_url, b->approval_webhook_url));
        assert_int_equal(a->approval_webhook_timeout, b->approval_webhook_timeout);
        assert_true(streq_ptr(a->approval_default_action, b->approval_default_action));
        assert_int_equal(strv_length(a->approval_required_for), strv_length(b->approval_required_for));
        assert_int_equal(a->rate_limit_auth_failures_per_ip, b->rate_limit_auth_failures_per_ip);
        assert_int_equal(a->rate_limit_auth_failures_per_identity, b->rate_limit_auth_failures_per_identity);
        assert_int_equal(a->rate_limit_window, b->rate_limit_window);
}

static void test_defaults(void **state) {
        Config c;
        char *err = NULL;

        assert_int_equal(config_init_defaults(&c), 0);
        assert_string_equal(c.state_dir, "/var/lib/systemmanager");
        assert_string_equal(c.server_host, "127.0.0.1");
        assert_int_equal(c.server_port, 8080);
        assert_null(c.server_unix_socket);
        assert_non_null(c.server_allowed_origins);
        assert_null(c.server_allowed_origins[0]);
        assert_null(c.server_tls_cert);
        assert_null(c.server_tls_key);
        assert_int_equal(c.server_max_body_bytes, 1024 * 1024);
        assert_int_equal(c.server_max_header_bytes, 8192);
        assert_int_equal(c.server_max_ws_message_bytes, 1024 * 1024);
        assert_int_equal(c.server_max_json_depth, 64);
        assert_int_equal(c.server_max_connections, 1024);
        assert_int_equal(c.server_idle_timeout, 60);
        assert_int_equal(c.server_header_timeout, 10);
        assert_int_equal(c.server_max_inflight_per_connection, 16);
        assert_int_equal(c.server_worker_threads, 0);
        assert_int_equal(c.server_shutdown_timeout, 30);
        assert_string_equal(c.auth_mode, "optional");
        assert_null(c.auth_shared_secret);
        assert_null(c.auth_shared_secret_file);
        assert_int_equal(c.auth_max_token_bytes, 8192);
        assert_int_equal(c.auth_max_ttl, 30 * 86400);
        assert_false(c.auth_allow_query_token);
        assert_false(c.auth_allow_disabled_on_network);
        assert_null(c.audit_file);
        assert_int_equal(c.tools_timeout, 30);
        assert_int_equal(c.tools_long_timeout, 600);
        assert_int_equal(c.tools_max_output_bytes, 1024 * 1024);

        /* The defaults pass the cross checks and get the derived audit file. */
        assert_int_equal(finalize(&c, &err), 0);
        assert_string_equal(err, "");
        assert_string_equal(c.audit_file, "/var/lib/systemmanager/audit.log");
        free(err);

        config_done(&c);
        assert_null(c.state_dir);
        assert_null(c.server_allowed_origins);
        assert_int_equal(c.server_port, 0);
        config_done(&c);        /* idempotent */
}

static const char full_yaml[] =
        "# every key\n"
        "state_dir: /srv/sm\n"
        "server:\n"
        "  host: \"::1\"\n"
        "  port: 9443\n"
        "  unix_socket: /run/sm/mcp.sock\n"
        "  allowed_origins:\n"
        "    - https://grafana.example.com\n"
        "    - 'http://localhost:3000'\n"
        "  tls_cert: /etc/sm/cert.pem\n"
        "  tls_key: /etc/sm/key.pem\n"
        "  max_body_bytes: 2MiB\n"
        "  max_header_bytes: 16K\n"
        "  max_ws_message_bytes: 4194304\n"
        "  max_json_depth: 32\n"
        "  max_connections: 100\n"
        "  idle_timeout: 2m\n"
        "  header_timeout: 5s\n"
        "  max_inflight_per_connection: 4\n"
        "  worker_threads: 8\n"
        "  shutdown_timeout: 0\n"
        "auth:\n"
        "  mode: required\n"
        "  shared_secret_file: /etc/sm/secret\n"
        "  max_token_bytes: 4KiB\n"
        "  max_ttl: 7d\n"
        "  allow_query_token: yes\n"
        "  allow_disabled_on_network: off\n"
        "audit:\n"
        "  file: /var/log/sm/audit.log\n"
        "tools:\n"
        "  timeout: 45\n"
        "  long_timeout: 1h\n"
        "  max_output_bytes: 512K\n";

static void test_full_file(void **state) {
        Config c;
        char *err = NULL;

        assert_int_equal(config_init_defaults(&c), 0);
        assert_int_equal(load_yaml(&c, full_yaml, &err), 0);
        assert_string_equal(err, "");
        free(err);

        assert_string_equal(c.state_dir, "/srv/sm");
        assert_string_equal(c.server_host, "::1");
        assert_int_equal(c.server_port, 9443);
        assert_string_equal(c.server_unix_socket, "/run/sm/mcp.sock");
        assert_int_equal(strv_length(c.server_allowed_origins), 2);
        assert_string_equal(c.server_allowed_origins[0], "https://grafana.example.com");
        assert_string_equal(c.server_allowed_origins[1], "http://localhost:3000");
        assert_string_equal(c.server_tls_cert, "/etc/sm/cert.pem");
        assert_string_equal(c.server_tls_key, "/etc/sm/key.pem");
        assert_int_equal(c.server_max_body_bytes, 2 * 1024 * 1024);
        assert_int_equal(c.server_max_header_bytes, 16 * 1024);
        assert_int_equal(c.server_max_ws_message_bytes, 4194304);
        assert_int_equal(c.server_max_json_depth, 32);
        assert_int_equal(c.server_max_connections, 100);
        assert_int_equal(c.server_idle_timeout, 120);
        assert_int_equal(c.server_header_timeout, 5);
        assert_int_equal(c.server_max_inflight_per_connection, 4);
        assert_int_equal(c.server_worker_threads, 8);
        assert_int_equal(c.server_shutdown_timeout, 0);
        assert_string_equal(c.auth_mode, "required");
        assert_null(c.auth_shared_secret);
        assert_string_equal(c.auth_shared_secret_file, "/etc/sm/secret");
        assert_int_equal(c.auth_max_token_bytes, 4096);
        assert_int_equal(c.auth_max_ttl, 7 * 86400);
        assert_true(c.auth_allow_query_token);
        assert_false(c.auth_allow_disabled_on_network);
        assert_string_equal(c.audit_file, "/var/log/sm/audit.log");
        assert_int_equal(c.tools_timeout, 45);
        assert_int_equal(c.tools_long_timeout, 3600);
        assert_int_equal(c.tools_max_output_bytes, 512 * 1024);

        assert_int_equal(finalize(&c, &err), 0);
        assert_string_equal(err, "");
        assert_string_equal(c.audit_file, "/var/log/sm/audit.log");     /* explicit value kept */
        free(err);
        config_done(&c);
}

static void test_empty_files(void **state) {
        static const char *const inputs[] = {
                "", "\n", "# only a comment\n", "---\n", "---\n...\n", "~\n", "server:\n", "server: ~\n",
                "auth:\n  # nothing yet\n", "{}\n", "server: {}\n",
        };

        for (size_t i = 0; i < ELEMENTSOF(inputs); i++) {
                Config c, d;
                char *err = NULL;

                assert_int_equal(config_init_defaults(&c), 0);
                assert_int_equal(config_init_defaults(&d), 0);
                if (load_yaml(&c, inputs[i], &err) != 0 || err[0] != 0)
                        fail_msg("input %zu '%s': %s", i, inputs[i], err);
                assert_config_equal(&c, &d);
                free(err);
                config_done(&c);
                config_done(&d);
        }
}

typedef enum FieldKind {
        F_INT,
        F_INT64,
        F_U64,
        F_BOOL,
        F_STR,
} FieldKind;

typedef struct GoodCase {
        const char *yaml;
        size_t offset;
        FieldKind kind;
        int64_t num;
        const char *str;        /* F_STR; NULL = unset */
} GoodCase;

#define GOOD_INT(y, f, v) { y, offsetof(Config, f), F_INT, v, NULL }
#define GOOD_I64(y, f, v) { y, offsetof(Config, f), F_INT64, v, NULL }
#define GOOD_U64(y, f, v) { y, offsetof(Config, f), F_U64, v, NULL }
#define GOOD_BOOL(y, f, v) { y, offsetof(Config, f), F_BOOL, v, NULL }
#define GOOD_STR(y, f, v) { y, offsetof(Config, f), F_STR, 0, v }

static const GoodCase good_cases[] = {
        /* int */
        GOOD_INT("server:\n  port: 0\n", server_port, 0),
        GOOD_INT("server:\n  port: 65535\n", server_port, 65535),
        GOOD_INT("server:\n  port: '443'\n", server_port, 443),
        GOOD_INT("server:\n  port: 0080\n", server_port, 80),
        GOOD_INT("server:\n  max_json_depth: 2\n", server_max_json_depth, 2),
        GOOD_INT("server:\n  max_json_depth: 512\n", server_max_json_depth, 512),
        GOOD_INT("server:\n  worker_threads: 64\n", server_worker_threads, 64),
        /* size */
        GOOD_U64("server:\n  max_body_bytes: 1024\n", server_max_body_bytes, 1024),
        GOOD_U64("server:\n  max_body_bytes: 4096B\n", server_max_body_bytes, 4096),
        GOOD_U64("server:\n  max_body_bytes: 8K\n", server_max_body_bytes, 8192),
        GOOD_U64("server:\n  max_body_bytes: 8KiB\n", server_max_body_bytes, 8192),
        GOOD_U64("server:\n  max_body_bytes: 8kib\n", server_max_body_bytes, 8192),
        GOOD_U64("server:\n  max_body_bytes: 3M\n", server_max_body_bytes, 3 << 20),
        GOOD_U64("server:\n  max_body_bytes: 1 MiB\n", server_max_body_bytes, 1 << 20),
        GOOD_U64("server:\n  max_body_bytes: 64MiB\n", server_max_body_bytes, 64 << 20),
        GOOD_U64("server:\n  max_header_bytes: 64KiB\n", server_max_header_bytes, 64 << 10),
        GOOD_U64("tools:\n  max_output_bytes: 256M\n", tools_max_output_bytes, 256 << 20),
        GOOD_U64("auth:\n  max_token_bytes: 256\n", auth_max_token_bytes, 256),
        /* duration */
        GOOD_INT("server:\n  idle_timeout: 30\n", server_idle_timeout, 30),
        GOOD_INT("server:\n  idle_timeout: 30s\n", server_idle_timeout, 30),
        GOOD_INT("server:\n  idle_timeout: 15m\n", server_idle_timeout, 900),
        GOOD_INT("server:\n  idle_timeout: 2h\n", server_idle_timeout, 7200),
        GOOD_INT("server:\n  idle_timeout: 1d\n", server_idle_timeout, 86400),
        GOOD_INT("server:\n  header_timeout: 10m\n", server_header_timeout, 600),
        GOOD_INT("server:\n  shutdown_timeout: 0s\n", server_shutdown_timeout, 0),
        GOOD_INT("tools:\n  long_timeout: 7d\n", tools_long_timeout, 7 * 86400),
        GOOD_I64("auth:\n  max_ttl: 1m\n", auth_max_ttl, 60),
        GOOD_I64("auth:\n  max_ttl: 365d\n", auth_max_ttl, 365 * 86400),
        GOOD_I64("auth:\n  max_ttl: 2H\n", auth_max_ttl, 7200),
        /* bool */
        GOOD_BOOL("auth:\n  allow_query_token: true\n", auth_allow_query_token, 1),
        GOOD_BOOL("auth:\n  allow_query_token: TRUE\n", auth_allow_query_token, 1),
        GOOD_BOOL("auth:\n  allow_query_token: yes\n", auth_allow_query_token, 1),
        GOOD_BOOL("auth:\n  allow_query_token: On\n", auth_allow_query_token, 1),
        GOOD_BOOL("auth:\n  allow_query_token: 1\n", auth_allow_query_token, 1),
        GOOD_BOOL("auth:\n  allow_query_token: \"true\"\n", auth_allow_query_token, 1),
        GOOD_BOOL("auth:\n  allow_query_token: false\n", auth_allow_query_token, 0),
        GOOD_BOOL("auth:\n  allow_query_token: No\n", auth_allow_query_token, 0),
        GOOD_BOOL("auth:\n  allow_query_token: off\n", auth_allow_query_token, 0),
        GOOD_BOOL("auth:\n  allow_query_token: 0\n", auth_allow_query_token, 0),
        /* enum: stored in canonical spelling */
        GOOD_STR("auth:\n  mode: disabled\n", auth_mode, "disabled"),
        GOOD_STR("auth:\n  mode: Required\n", auth_mode, "required"),
        GOOD_STR("auth:\n  mode: 'optional'\n", auth_mode, "optional"),
        /* strings and paths */
        GOOD_STR("state_dir: /srv/state\n", state_dir, "/srv/state"),
        GOOD_STR("state_dir: '/srv/with space'\n", state_dir, "/srv/with space"),
        GOOD_STR("server:\n  host: 0.0.0.0\n", server_host, "0.0.0.0"),
        GOOD_STR("server:\n  host: \"::\"\n", server_host, "::"),
        GOOD_STR("server:\n  host: 'null'\n", server_host, "null"),     /* quoted: a string, not null */
        GOOD_STR("server:\n  unix_socket: /run/a.sock\n", server_unix_socket, "/run/a.sock"),
        GOOD_STR("server:\n  unix_socket: ~\n", server_unix_socket, NULL),
        GOOD_STR("audit:\n  file: /var/log/a.log\n", audit_file, "/var/log/a.log"),
        GOOD_STR("auth:\n  shared_secret: 0123456789abcdef0123456789abcdef\n", auth_shared_secret,
                 "0123456789abcdef0123456789abcdef"),
        /* a mapping in flow style is a mapping too */
        GOOD_INT("server: {port: 81}\n", server_port, 81),
        GOOD_INT("{server: {port: 82}}\n", server_port, 82),
};

static void check_good_case(const GoodCase *g, size_t i) {
        Config c;
        char *err = NULL;
        const uint8_t *p;
        int r;

        assert_int_equal(config_init_defaults(&c), 0);
        r = load_yaml(&c, g->yaml, &err);
        if (r != 0 || err[0] != 0)
                fail_msg("good case %zu '%s': r=%d %s", i, g->yaml, r, err);
        free(err);

        p = (const uint8_t *) &c + g->offset;
        switch (g->kind) {
        case F_INT:
                assert_int_equal(*(const int *) p, g->num);
                break;
        case F_INT64:
                assert_int_equal(*(const int64_t *) p, g->num);
                break;
        case F_U64:
                assert_int_equal(*(const uint64_t *) p, (uint64_t) g->num);
                break;
        case F_BOOL:
                assert_int_equal(*(const bool *) p, g->num != 0);
                break;
        case F_STR:
                if (!streq_ptr(*(char *const *) p, g->str))
                        fail_msg("good case %zu '%s': got '%s'", i, g->yaml, *(char *const *) p);
                break;
        }
        config_done(&c);
}

static void test_good_values(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(good_cases); i++)
                check_good_case(&good_cases[i], i);
}

typedef struct ErrorCase {
        const char *yaml;
        const char *errors;     /* exact output */
} ErrorCase;

#define F FILE_NAME

static const ErrorCase error_cases[] = {
        /* int */
        { "server:\n  port: http\n",
          F ":2: server.port: expected an integer between 0 and 65535, got 'http'\n" },
        { "server:\n  port: 65536\n",
          F ":2: server.port: expected an integer between 0 and 65535, got '65536'\n" },
        { "server:\n  port: -1\n",
          F ":2: server.port: expected an integer between 0 and 65535, got '-1'\n" },
        { "server:\n  port: +80\n",
          F ":2: server.port: expected an integer between 0 and 65535, got '+80'\n" },
        { "server:\n  port: 80.5\n",
          F ":2: server.port: expected an integer between 0 and 65535, got '80.5'\n" },
        { "server:\n  port: 0x50\n",
          F ":2: server.port: expected an integer between 0 and 65535, got '0x50'\n" },
        { "server:\n  port: ' 80'\n",
          F ":2: server.port: expected an integer between 0 and 65535, got ' 80'\n" },
        { "server:\n  port: 99999999999999999999999\n",
          F ":2: server.port: expected an integer between 0 and 65535, got '99999999999999999999999'\n" },
        { "server:\n  port:\n",
          F ":2: server.port: expected an integer between 0 and 65535, got an empty value\n" },
        { "server:\n  max_json_depth: 1\n",
          F ":2: server.max_json_depth: expected an integer between 2 and 512, got '1'\n" },
        { "server:\n  max_connections: 0\n",
          F ":2: server.max_connections: expected an integer between 1 and 65535, got '0'\n" },
        { "server:\n  worker_threads: 65\n",
          F ":2: server.worker_threads: expected an integer between 0 and 64, got '65'\n" },
        { "server:\n  max_inflight_per_connection: 1025\n",
          F ":2: server.max_inflight_per_connection: expected an integer between 1 and 1024, got '1025'\n" },
        { "server:\n  port: [80]\n",
          F ":2: server.port: expected an integer between 0 and 65535, got a list\n" },
        { "server:\n  port:\n    number: 80\n",
          F ":3: server.port: expected an integer between 0 and 65535, got a mapping\n" },
        /* size */
        { "server:\n  max_body_bytes: 512\n",
          F ":2: server.max_body_bytes: expected a size between 1KiB and 64MiB (bytes, or a number with a "
            "K/KiB/M/MiB/G/GiB suffix), got '512'\n" },
        { "server:\n  max_body_bytes: 65M\n",
          F ":2: server.max_body_bytes: expected a size between 1KiB and 64MiB (bytes, or a number with a "
            "K/KiB/M/MiB/G/GiB suffix), got '65M'\n" },
        { "server:\n  max_body_bytes: 512KB\n",
          F ":2: server.max_body_bytes: expected a size between 1KiB and 64MiB (bytes, or a number with a "
            "K/KiB/M/MiB/G/GiB suffix), got '512KB'\n" },
        { "server:\n  max_body_bytes: 1.5MiB\n",
          F ":2: server.max_body_bytes: expected a size between 1KiB and 64MiB (bytes, or a number with a "
            "K/KiB/M/MiB/G/GiB suffix), got '1.5MiB'\n" },
        { "server:\n  max_body_bytes: -1K\n",
          F ":2: server.max_body_bytes: expected a size between 1KiB and 64MiB (bytes, or a number with a "
            "K/KiB/M/MiB/G/GiB suffix), got '-1K'\n" },
        { "server:\n  max_body_bytes: 9999999999999G\n",
          F ":2: server.max_body_bytes: expected a size between 1KiB and 64MiB (bytes, or a number with a "
            "K/KiB/M/MiB/G/GiB suffix), got '9999999999999G'\n" },
        { "server:\n  max_body_bytes: MiB\n",
          F ":2: server.max_body_bytes: expected a size between 1KiB and 64MiB (bytes, or a number with a "
            "K/KiB/M/MiB/G/GiB suffix), got 'MiB'\n" },
        { "server:\n  max_header_bytes: 1M\n",
          F ":2: server.max_header_bytes: expected a size between 1KiB and 64KiB (bytes, or a number with a "
            "K/KiB/M/MiB/G/GiB suffix), got '1M'\n" },
        /* duration */
        { "server:\n  idle_timeout: 0\n",
          F ":2: server.idle_timeout: expected a duration between 1s and 1d (seconds, or a number with an "
            "s/m/h/d suffix), got '0'\n" },
        { "server:\n  idle_timeout: 5x\n",
          F ":2: server.idle_timeout: expected a duration between 1s and 1d (seconds, or a number with an "
            "s/m/h/d suffix), got '5x'\n" },
        { "server:\n  idle_timeout: 1w\n",
          F ":2: server.idle_timeout: expected a duration between 1s and 1d (seconds, or a number with an "
            "s/m/h/d suffix), got '1w'\n" },
        { "server:\n  idle_timeout: 1h30m\n",
          F ":2: server.idle_timeout: expected a duration between 1s and 1d (seconds, or a number with an "
            "s/m/h/d suffix), got '1h30m'\n" },
        { "server:\n  header_timeout: 11m\n",
          F ":2: server.header_timeout: expected a duration between 1s and 10m (seconds, or a number with an "
            "s/m/h/d suffix), got '11m'\n" },
        { "auth:\n  max_ttl: 59s\n",
          F ":2: auth.max_ttl: expected a duration between 1m and 365d (seconds, or a number with an "
            "s/m/h/d suffix), got '59s'\n" },
        { "auth:\n  max_ttl: 366d\n",
          F ":2: auth.max_ttl: expected a duration between 1m and 365d (seconds, or a number with an "
            "s/m/h/d suffix), got '366d'\n" },
        /* bool */
        { "auth:\n  allow_query_token: maybe\n",
          F ":2: auth.allow_query_token: expected true or false (yes/no, on/off and 1/0 work too), got 'maybe'\n" },
        { "auth:\n  allow_query_token: ~\n",
          F ":2: auth.allow_query_token: expected true or false (yes/no, on/off and 1/0 work too), got an "
            "empty value\n" },
        /* enum */
        { "auth:\n  mode: on\n",
          F ":2: auth.mode: expected one of: disabled, optional, required, got 'on'\n" },
        { "auth:\n  mode:\n",
          F ":2: auth.mode: expected one of: disabled, optional, required, got an empty value\n" },
        /* strings and paths */
        { "state_dir: var/lib\n",
          F ":1: state_dir: expected an absolute path (starting with '/'), got 'var/lib'\n" },
        { "state_dir:\n",
          F ":1: state_dir: must not be empty (expected an absolute path)\n" },
        { "server:\n  host: ''\n",
          F ":2: server.host: must not be empty (expected a string)\n" },
        { "server:\n  host: \"a\\nb\"\n",
          F ":2: server.host: must not contain control characters, got 'a?b'\n" },
        { "server:\n  host: \"a\\0b\"\n",
          F ":2: server.host must not contain NUL bytes\n" },
        { "server:\n  unix_socket: /run/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
          F ":2: server.unix_socket: must be at most 107 bytes long, got 108 bytes\n" },
        { "audit:\n  file: audit.log\n",
          F ":2: audit.file: expected an absolute path (starting with '/'), got 'audit.log'\n" },
        { "audit:\n  file: [a]\n",
          F ":2: audit.file: expected an absolute path, got a list\n" },
        /* lists */
        { "server:\n  allowed_origins: https://a.example.com\n",
          F ":2: server.allowed_origins: expected a list of strings, written as [\"a\", \"b\"] or as lines "
            "starting with '- '\n" },
        { "server:\n  allowed_origins: [\"ftp://a.example.com\"]\n",
          F ":2: server.allowed_origins: expected an origin such as 'https://app.example.com' or "
            "'http://localhost:3000' (scheme://host[:port], no path or trailing slash), got "
            "'ftp://a.example.com'\n" },
        { "server:\n  allowed_origins:\n    - https://ok.example.com\n    - https://a.example.com/\n",
          F ":4: server.allowed_origins: expected an origin such as 'https://app.example.com' or "
            "'http://localhost:3000' (scheme://host[:port], no path or trailing slash), got "
            "'https://a.example.com/'\n" },
        { "server:\n  allowed_origins:\n    - \n",
          F ":3: server.allowed_origins: list items must not be empty\n" },
        { "server:\n  allowed_origins:\n    - [https://a.example.com]\n",
          F ":3: server.allowed_origins: list items must be strings, got a list\n" },
        { "server:\n  allowed_origins: {a: b}\n",
          F ":2: server.allowed_origins: expected a list of strings, got a mapping\n" },
        /* unknown keys */
        { "server:\n  prot: 8080\n",
          F ":2: unknown key 'server.prot' (did you mean 'server.port'?)\n" },
        { "server:\n  max_body_byte: 1M\n",
          F ":2: unknown key 'server.max_body_byte' (did you mean 'server.max_body_bytes'?)\n" },
        { "sever:\n  port: 80\n",
          F ":1: unknown key 'sever' (did you mean 'server'?)\n" },
        { "port: 80\n",
          F ":1: unknown key 'port' (did you mean 'server.port'?)\n" },
        { "server:\n  mode: required\n",
          F ":2: unknown key 'server.mode' (did you mean 'auth.mode'?)\n" },
        { "state-dir: /x\n",
          F ":1: unknown key 'state-dir' (did you mean 'state_dir'?)\n" },
        { "audit:\n  fiel: /x\n",
          F ":2: unknown key 'audit.fiel' (did you mean 'audit.file'?)\n" },
        { "audit:\n  path: /x\n",
          F ":2: unknown key 'audit.path'; valid keys in 'audit' are: file, journald, checkpoint_every\n" },
        { "jwtx:\n  secret: x\n",
          F ":1: unknown key 'jwtx' (did you mean 'jwt'?)\n" },
        { "server:\n  \"port 80\": 1\n",
          F ":2: unknown key in 'server' (setting names use only letters, digits and '_')\n" },
        { "server:\n  ? [a, b]\n  : 1\n",
          F ":2: keys must be plain names, got a list\n" },
        /* structure */
        { "server:\n  port: 1\n  port: 2\n",
          F ":3: duplicate key 'server.port' (first set on line 2); keep only one\n" },
        { "server:\n  port: 1\nserver:\n  host: ::1\n",
          F ":3: duplicate section 'server' (first on line 1); merge them into one\n" },
        { "state_dir: /a\nstate_dir: /b\n",
          F ":2: duplicate key 'state_dir' (first set on line 1); keep only one\n" },
        { "server: 8080\n",
          F ":1: 'server' must be a mapping of settings (indented 'key: value' lines below 'server:'), got a "
            "single value\n" },
        { "auth:\n  - mode\n",
          F ":2: 'auth' must be a mapping of settings (indented 'key: value' lines below 'auth:'), got a list\n" },
        { "- server\n- auth\n",
          F ":1: the top level must be a mapping of settings such as 'server:', got a list\n" },
        { "hello\n",
          F ":1: the top level must be a mapping of settings such as 'server:', got a single value\n" },
        { "server:\n  port: 1\n---\nserver:\n  port: 2\n",
          F ":3: only one YAML document is allowed; remove the second '---' and what follows\n" },
        /* anchors, aliases, tags */
        { "server:\n  host: &h 127.0.0.1\n",
          F ":2: anchors ('&h') are not supported; write the value out in full\n" },
        { "a: &a [x, x]\nb: &b [*a, *a]\n",
          F ":1: anchors ('&a') are not supported; write the value out in full\n"
          F ":1: unknown key 'a'; valid keys at the top level are: state_dir, server, auth, audit, tools, jwt, network, filesystem, docker, packages, rate_limit, approval, service_tokens\n"
          F ":2: anchors ('&b') are not supported; write the value out in full\n"
          F ":2: unknown key 'b'; valid keys at the top level are: state_dir, server, auth, audit, tools, jwt, network, filesystem, docker, packages, rate_limit, approval, service_tokens\n"
          F ":2: aliases ('*a') are not supported; write the value out in full\n"
          F ":2: aliases ('*a') are not supported; write the value out in full\n" },
        { "server: &s\n  port: 1\nauth: *s\n",
          F ":1: anchors ('&s') are not supported; write the value out in full\n"
          F ":3: aliases ('*s') are not supported; write the value out in full\n" },
        { "server:\n  port: !!int 80\n",
          F ":2: tags ('tag:yaml.org,2002:int') are not supported; remove the tag\n" },
        { "server: !custom\n  port: 80\n",
          F ":1: tags ('!custom') are not supported; remove the tag\n" },
        /* syntax */
        { "server:\n  port: 1\n bad\n",
          F ":3: YAML syntax error: did not find expected key (while parsing a block mapping that starts on "
            "line 1)\n" },
        { "server:\n  host: \"open\n",
          F ":3: YAML syntax error: found unexpected end of stream (while scanning a quoted scalar that starts "
            "on line 2)\n" },
        { "server: [\n",
          F ":1: 'server' must be a mapping of settings (indented 'key: value' lines below 'server:'), got a "
            "list\n"
          F ":2: YAML syntax error: did not find expected node content (while parsing a flow node that starts "
            "on line 2)\n" },
        { "server:\n\tport: 1\n",
          F ":2: YAML syntax error: found character that cannot start any token (while scanning for the next "
            "token that starts on line 2)\n" },
        { "a: 1\nserver:\n  host: \"\xff\"\n",
          F ":3: invalid text: invalid leading UTF-8 octet (the file must be UTF-8 without control "
            "characters)\n" },
};

#undef F

static void test_errors(void **state) {
        Config c, d;

        assert_int_equal(config_init_defaults(&d), 0);
        for (size_t i = 0; i < ELEMENTSOF(error_cases); i++) {
                char *err = NULL;
                int r;

                assert_int_equal(config_init_defaults(&c), 0);
                r = load_yaml(&c, error_cases[i].yaml, &err);
                if (r != -EINVAL || !streq(err, error_cases[i].errors)) {
                        /* cmocka truncates long failure messages */
                        fprintf(stderr, "error case %zu:\n%s\nexpected -EINVAL and:\n%sgot %d and:\n%s", i,
                                error_cases[i].yaml, error_cases[i].errors, r, err);
                        fail();
                }
                /* Nothing of a rejected file is applied. */
                assert_config_equal(&c, &d);
                free(err);
                config_done(&c);
        }
        config_done(&d);
}

static void test_all_errors_reported(void **state) {
        Config c;
        char *err = NULL;

        assert_int_equal(config_init_defaults(&c), 0);
        assert_int_equal(load_yaml(&c,
                                   "server:\n"
                                   "  port: http\n"
                                   "  host: 127.0.0.1\n"
                                   "  idle_timeout: soon\n"
                                   "auth:\n"
                                   "  mode: strict\n"
                                   "tools:\n"
                                   "  timout: 5\n",
                                   &err),
                         -EINVAL);
        assert_string_equal(err,
                            "config.yaml:2: server.port: expected an integer between 0 and 65535, got 'http'\n"
                            "config.yaml:4: server.idle_timeout: expected a duration between 1s and 1d "
                            "(seconds, or a number with an s/m/h/d suffix), got 'soon'\n"
                            "config.yaml:6: auth.mode: expected one of: disabled, optional, required, got "
                            "'strict'\n"
                            "config.yaml:8: unknown key 'tools.timout' (did you mean 'tools.timeout'?)\n");
        free(err);
        config_done(&c);
}

static void test_too_many_errors(void **state) {
        Config c;
        char *err = NULL, *yaml = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&yaml, &size);
        assert_non_null(f);
        for (int i = 0; i < 200; i++)
                fprintf(f, "unknown_%d: 1\n", i);
        assert_int_equal(fclose(f), 0);

        assert_int_equal(config_init_defaults(&c), 0);
        assert_int_equal(load_yaml(&c, yaml, &err), -EINVAL);
        assert_int_equal(count_lines(err), 51);
        assert_non_null(strstr(err, "config.yaml:50: unknown key 'unknown_49'"));
        assert_null(strstr(err, "unknown_50"));
        assert_non_null(strstr(err, "\nconfig.yaml: too many errors, giving up\n"));
        free(err);
        free(yaml);
        config_done(&c);
}

static void test_failed_load_keeps_config(void **state) {
        Config c;
        char *err = NULL;

        assert_int_equal(config_init_defaults(&c), 0);
        assert_int_equal(load_yaml(&c, "server:\n  port: 9000\n  unix_socket: /run/x.sock\n", &err), 0);
        free(err);
        assert_int_equal(load_yaml(&c, "server:\n  port: 9001\n  unix_socket: ~\n  host: [x]\n", &err), -EINVAL);
        assert_string_equal(err, "config.yaml:4: server.host: expected a string, got a list\n");
        free(err);
        assert_int_equal(c.server_port, 9000);
        assert_string_equal(c.server_unix_socket, "/run/x.sock");

        /* A later valid file applies over the earlier one; null resets a string. */
        assert_int_equal(load_yaml(&c, "server:\n  unix_socket:\n  allowed_origins: []\n", &err), 0);
        free(err);
        assert_int_equal(c.server_port, 9000);
        assert_null(c.server_unix_socket);
        assert_non_null(c.server_allowed_origins);
        assert_null(c.server_allowed_origins[0]);
        config_done(&c);
}

static void test_file_errors(void **state) {
        Config c;
        char *err = NULL, *big;
        FILE *f;
        int r;

        assert_int_equal(config_init_defaults(&c), 0);

        /* Unreadable files: -errno, nothing written (the caller logs with %m). */
        f = open_memstream(&err, &(size_t) { 0 });
        assert_non_null(f);
        assert_int_equal(config_load_file(&c, "does-not-exist.yaml", f), -ENOENT);
        assert_int_equal(config_load_file(&c, ".", f), -EISDIR);
        assert_int_equal(fclose(f), 0);
        assert_string_equal(err, "");
        free(err);

        /* 1 MiB is fine, one byte more is refused unread. */
        big = malloc(1024 * 1024 + 1);
        assert_non_null(big);
        memset(big, '#', 1024 * 1024);
        big[1024 * 1024 - 1] = '\n';
        assert_int_equal(load_yaml_len(&c, big, 1024 * 1024, &err), 0);
        assert_string_equal(err, "");
        free(err);
        big[1024 * 1024] = '\n';
        assert_int_equal(load_yaml_len(&c, big, 1024 * 1024 + 1, &err), -EINVAL);
        assert_string_equal(err, "config.yaml: file is larger than 1048576 bytes; refusing to parse it\n");
        free(err);
        free(big);

        /* Writable by others: anyone could reconfigure the daemon. */
        write_file(FILE_NAME, "server:\n  port: 1\n", strlen("server:\n  port: 1\n"), 0666);
        f = open_memstream(&err, &(size_t) { 0 });
        assert_non_null(f);
        r = config_load_file(&c, FILE_NAME, f);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(r, -EINVAL);
        assert_string_equal(err, "config.yaml: file is writable by other users; run 'chmod o-w config.yaml'\n");
        assert_int_equal(c.server_port, 8080);
        free(err);

        /* Deep nesting inside an unknown key is cut short. */
        {
                char deep[200];

                memset(deep, 0, sizeof deep);
                memcpy(deep, "x: ", 3);
                memset(deep + 3, '[', 100);
                assert_int_equal(load_yaml(&c, deep, &err), -EINVAL);
                assert_string_equal(err,
                                    "config.yaml:1: unknown key 'x'; valid keys at the top level are: state_dir, "
                                    "server, auth, audit, tools, jwt, network, filesystem, docker, packages, rate_limit, approval, service_tokens\n"
                                    "config.yaml:1: nesting is too deep\n");
                free(err);
        }
        config_done(&c);
}

static void test_secret_file_permissions(void **state) {
        static const char yaml[] = "auth:\n  mode: required\n  shared_secret: 0123456789abcdef0123456789abcdef\n";
        Config c;
        char *err = NULL;
        FILE *f;
        int r;

        assert_int_equal(config_init_defaults(&c), 0);

        /* Group-readable (root:systemmanager 0640) is fine. */
        write_file(FILE_NAME, yaml, strlen(yaml), 0640);
        f = open_memstream(&err, &(size_t) { 0 });
        assert_non_null(f);
        assert_int_equal(config_load_file(&c, FILE_NAME, f), 0);
        assert_int_equal(fclose(f), 0);
        assert_string_equal(err, "");
        free(err);
        config_done(&c);

        /* World-readable with a secret in it is not. */
        assert_int_equal(config_init_defaults(&c), 0);
        write_file(FILE_NAME, yaml, strlen(yaml), 0644);
        f = open_memstream(&err, &(size_t) { 0 });
        assert_non_null(f);
        r = config_load_file(&c, FILE_NAME, f);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(r, -EINVAL);
        assert_string_equal(err,
                            "config.yaml:3: auth.shared_secret: this file is readable by other users; run "
                            "'chmod o-rwx config.yaml' or move the secret to auth.shared_secret_file\n");
        assert_null(strstr(err, "0123456789abcdef"));
        assert_null(c.auth_shared_secret);
        free(err);
        config_done(&c);
}

/* ---- environment ---- */

static void test_env_overrides_file(void **state) {
        Config c;
        char *err = NULL;
        char *envp[] = {
                (char *) "PATH=/usr/bin",
                (char *) "SYSTEMMANAGER_SERVER_PORT=9100",
                (char *) "SYSTEMMANAGER_SERVER_ALLOWED_ORIGINS= https://a.example.com ,,http://localhost:3000,",
                (char *) "SYSTEMMANAGER_SERVER_TLS_CERT=",
                (char *) "SYSTEMMANAGER_AUTH_ALLOW_QUERY_TOKEN=off",
                (char *) "SYSTEMMANAGER_AUTH_MAX_TTL=12h",
                (char *) "SYSTEMMANAGER_STATE_DIR=/srv/env",
                NULL,
        };

        assert_int_equal(config_init_defaults(&c), 0);
        assert_int_equal(load_yaml(&c,
                                   "state_dir: /srv/file\n"
                                   "server:\n"
                                   "  port: 9000\n"
                                   "  host: ::1\n"
                                   "  tls_cert: /c.pem\n"
                                   "  allowed_origins: [\"https://file.example.com\"]\n"
                                   "auth:\n"
                                   "  allow_query_token: true\n",
                                   &err),
                         0);
        free(err);
        assert_int_equal(apply_env(&c, envp, &err), 0);
        assert_string_equal(err, "");
        free(err);

        assert_int_equal(c.server_port, 9100);
        assert_string_equal(c.server_host, "::1");              /* not overridden: file value stays */
        assert_null(c.server_tls_cert);                         /* empty variable resets */
        assert_int_equal(strv_length(c.server_allowed_origins), 2);
        assert_string_equal(c.server_allowed_origins[0], "https://a.example.com");
        assert_string_equal(c.server_allowed_origins[1], "http://localhost:3000");
        assert_false(c.auth_allow_query_token);
        assert_int_equal(c.auth_max_ttl, 12 * 3600);
        assert_string_equal(c.state_dir, "/srv/env");
        config_done(&c);
}

typedef struct EnvCase {
        const char *vars[3];
        size_t offset;
        FieldKind kind;
        int64_t num;
        const char *str;
} EnvCase;

static const EnvCase env_cases[] = {
        /* the origin's names */
        { { "SYSTEMMANAGER_AUDIT_LOG=/var/log/origin.log" }, offsetof(Config, audit_file), F_STR, 0,
          "/var/log/origin.log" },
        { { "SYSTEMMANAGER_SHARED_SECRET=abcdefghijklmnopqrstuvwxyz0123456789" },
          offsetof(Config, auth_shared_secret), F_STR, 0, "abcdefghijklmnopqrstuvwxyz0123456789" },
        { { "SYSTEMMANAGER_REQUIRE_AUTH=true" }, offsetof(Config, auth_mode), F_STR, 0, "required" },
        { { "SYSTEMMANAGER_REQUIRE_AUTH=1" }, offsetof(Config, auth_mode), F_STR, 0, "required" },
        { { "SYSTEMMANAGER_REQUIRE_AUTH=false" }, offsetof(Config, auth_mode), F_STR, 0, "optional" },
        { { "SYSTEMMANAGER_MAX_OUTPUT_BYTES=2097152" }, offsetof(Config, tools_max_output_bytes), F_U64,
          2097152, NULL },
        { { "SYSTEMMANAGER_MAX_OUTPUT_BYTES=64K" }, offsetof(Config, tools_max_output_bytes), F_U64, 65536,
          NULL },
        /* canonical names */
        { { "SYSTEMMANAGER_AUDIT_FILE=/a.log" }, offsetof(Config, audit_file), F_STR, 0, "/a.log" },
        { { "SYSTEMMANAGER_AUTH_SHARED_SECRET=abcdefghijklmnopqrstuvwxyz0123456789" },
          offsetof(Config, auth_shared_secret), F_STR, 0, "abcdefghijklmnopqrstuvwxyz0123456789" },
        { { "SYSTEMMANAGER_AUTH_MODE=disabled" }, offsetof(Config, auth_mode), F_STR, 0, "disabled" },
        { { "SYSTEMMANAGER_TOOLS_MAX_OUTPUT_BYTES=3M" }, offsetof(Config, tools_max_output_bytes), F_U64,
          3 << 20, NULL },
        { { "SYSTEMMANAGER_SERVER_HEADER_TIMEOUT=2m" }, offsetof(Config, server_header_timeout), F_INT, 120,
          NULL },
        { { "SYSTEMMANAGER_AUTH_ALLOW_DISABLED_ON_NETWORK=yes" },
          offsetof(Config, auth_allow_disabled_on_network), F_BOOL, 1, NULL },
        /* when both are set, SYSTEMMANAGER_<SECTION>_<KEY> wins, in either order */
        { { "SYSTEMMANAGER_AUDIT_LOG=/origin.log", "SYSTEMMANAGER_AUDIT_FILE=/canonical.log" },
          offsetof(Config, audit_file), F_STR, 0, "/canonical.log" },
        { { "SYSTEMMANAGER_AUDIT_FILE=/canonical.log", "SYSTEMMANAGER_AUDIT_LOG=/origin.log" },
          offsetof(Config, audit_file), F_STR, 0, "/canonical.log" },
        { { "SYSTEMMANAGER_REQUIRE_AUTH=true", "SYSTEMMANAGER_AUTH_MODE=disabled" }, offsetof(Config, auth_mode),
          F_STR, 0, "disabled" },
        { { "SYSTEMMANAGER_MAX_OUTPUT_BYTES=8K", "SYSTEMMANAGER_TOOLS_MAX_OUTPUT_BYTES=16K" },
          offsetof(Config, tools_max_output_bytes), F_U64, 16384, NULL },
        /* the first of two identical names counts, as with getenv() */
        { { "SYSTEMMANAGER_SERVER_PORT=1", "SYSTEMMANAGER_SERVER_PORT=2" }, offsetof(Config, server_port), F_INT,
          1, NULL },
        /* variables that are not ours are ignored */
        { { "SYSTEMMANAGER_TOKEN=x", "SYSTEMMANAGER_URL=http://h", }, offsetof(Config, server_port), F_INT,
          8080, NULL },
        { { "SYSTEMMANAGER_CHECK_OUTPUT=1", "SYSTEMMANAGER_JWT_SECRET=x" }, offsetof(Config, server_port), F_INT,
          8080, NULL },
        { { "SYSTEMMANAGER_SERVER_PORT", "systemmanager_server_port=1" }, offsetof(Config, server_port), F_INT,
          8080, NULL },
};

static void test_env_cases(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(env_cases); i++) {
                const EnvCase *e = &env_cases[i];
                char *envp[4] = { (char *) e->vars[0], (char *) e->vars[1], (char *) e->vars[2], NULL };
                const uint8_t *p;
                char *err = NULL;
                Config c;
                int r;

                assert_int_equal(config_init_defaults(&c), 0);
                r = apply_env(&c, envp, &err);
                if (r != 0 || err[0] != 0)
                        fail_msg("env case %zu: r=%d %s", i, r, err);
                free(err);

                p = (const uint8_t *) &c + e->offset;
                switch (e->kind) {
                case F_INT:
                        assert_int_equal(*(const int *) p, e->num);
                        break;
                case F_INT64:
                        assert_int_equal(*(const int64_t *) p, e->num);
                        break;
                case F_U64:
                        assert_int_equal(*(const uint64_t *) p, (uint64_t) e->num);
                        break;
                case F_BOOL:
                        assert_int_equal(*(const bool *) p, e->num != 0);
                        break;
                case F_STR:
                        if (!streq_ptr(*(char *const *) p, e->str))
                                fail_msg("env case %zu: got '%s'", i, *(char *const *) p);
                        break;
                }
                config_done(&c);
        }
}

typedef struct EnvErrorCase {
        const char *vars[3];
        const char *errors;
} EnvErrorCase;

static const EnvErrorCase env_error_cases[] = {
        { { "SYSTEMMANAGER_SERVER_PORT=http" },
          "env SYSTEMMANAGER_SERVER_PORT: expected an integer between 0 and 65535, got 'http'\n" },
        { { "SYSTEMMANAGER_SERVER_PORT=" },
          "env SYSTEMMANAGER_SERVER_PORT: expected an integer between 0 and 65535, got an empty value\n" },
        { { "SYSTEMMANAGER_SERVER_MAX_BODY_BYTES=1G" },
          "env SYSTEMMANAGER_SERVER_MAX_BODY_BYTES: expected a size between 1KiB and 64MiB (bytes, or a number "
          "with a K/KiB/M/MiB/G/GiB suffix), got '1G'\n" },
        { { "SYSTEMMANAGER_MAX_OUTPUT_BYTES=lots" },
          "env SYSTEMMANAGER_MAX_OUTPUT_BYTES: expected a size between 1KiB and 256MiB (bytes, or a number with "
          "a K/KiB/M/MiB/G/GiB suffix), got 'lots'\n" },
        { { "SYSTEMMANAGER_TOOLS_TIMEOUT=forever" },
          "env SYSTEMMANAGER_TOOLS_TIMEOUT: expected a duration between 1s and 1d (seconds, or a number with an "
          "s/m/h/d suffix), got 'forever'\n" },
        { { "SYSTEMMANAGER_REQUIRE_AUTH=maybe" },
          "env SYSTEMMANAGER_REQUIRE_AUTH: expected true or false, got 'maybe'\n" },
        { { "SYSTEMMANAGER_AUTH_MODE=strict" },
          "env SYSTEMMANAGER_AUTH_MODE: expected one of: disabled, optional, required, got 'strict'\n" },
        { { "SYSTEMMANAGER_AUDIT_LOG=audit.log" },
          "env SYSTEMMANAGER_AUDIT_LOG: expected an absolute path (starting with '/'), got 'audit.log'\n" },
        { { "SYSTEMMANAGER_STATE_DIR=" },
          "env SYSTEMMANAGER_STATE_DIR: must not be empty (expected an absolute path)\n" },
        { { "SYSTEMMANAGER_SERVER_HOST=a\x1b[31mb" },
          "env SYSTEMMANAGER_SERVER_HOST: must not contain control characters, got 'a?[31mb'\n" },
        { { "SYSTEMMANAGER_SERVER_ALLOWED_ORIGINS=https://a.example.com,*" },
          "env SYSTEMMANAGER_SERVER_ALLOWED_ORIGINS: expected an origin such as 'https://app.example.com' or "
          "'http://localhost:3000' (scheme://host[:port], no path or trailing slash), got '*'\n" },
        { { "SYSTEMMANAGER_SERVER_PROT=8080" },
          "env SYSTEMMANAGER_SERVER_PROT: unknown setting (did you mean SYSTEMMANAGER_SERVER_PORT?)\n" },
        { { "SYSTEMMANAGER_AUTH_MODES=required" },
          "env SYSTEMMANAGER_AUTH_MODES: unknown setting (did you mean SYSTEMMANAGER_AUTH_MODE?)\n" },
        { { "SYSTEMMANAGER_AUDIT_LOGS=/x" },
          "env SYSTEMMANAGER_AUDIT_LOGS: unknown setting (did you mean SYSTEMMANAGER_AUDIT_LOG?)\n" },
        { { "SYSTEMMANAGER_TOOLS_WHATEVER=1" },
          "env SYSTEMMANAGER_TOOLS_WHATEVER: unknown setting; see 'systemmanager-mcp --dump-config-reference' "
          "for the valid names\n" },
        /* all errors, not just the first; nothing applied */
        { { "SYSTEMMANAGER_SERVER_PORT=1", "SYSTEMMANAGER_SERVER_IDLE_TIMEOUT=0", "SYSTEMMANAGER_AUTH_MODE=x" },
          "env SYSTEMMANAGER_SERVER_IDLE_TIMEOUT: expected a duration between 1s and 1d (seconds, or a number "
          "with an s/m/h/d suffix), got '0'\n"
          "env SYSTEMMANAGER_AUTH_MODE: expected one of: disabled, optional, required, got 'x'\n" },
};

static void test_env_errors(void **state) {
        Config c, d;

        assert_int_equal(config_init_defaults(&d), 0);
        for (size_t i = 0; i < ELEMENTSOF(env_error_cases); i++) {
                const EnvErrorCase *e = &env_error_cases[i];
                char *envp[4] = { (char *) e->vars[0], (char *) e->vars[1], (char *) e->vars[2], NULL };
                char *err = NULL;
                int r;

                assert_int_equal(config_init_defaults(&c), 0);
                r = apply_env(&c, envp, &err);
                if (r != -EINVAL || !streq(err, e->errors))
                        fail_msg("env error case %zu: expected -EINVAL and:\n%sgot %d and:\n%s", i, e->errors, r,
                                 err);
                assert_config_equal(&c, &d);
                free(err);
                config_done(&c);
        }
        config_done(&d);
}

static void test_env_empty(void **state) {
        Config c;
        char *envp[] = { NULL };

        assert_int_equal(config_init_defaults(&c), 0);
        assert_int_equal(config_apply_env(&c, NULL, NULL), 0);
        assert_int_equal(config_apply_env(&c, envp, NULL), 0);
        /* NULL error stream: still fails, silently */
        {
                char *bad[] = { (char *) "SYSTEMMANAGER_SERVER_PORT=x", NULL };

                assert_int_equal(config_apply_env(&c, bad, NULL), -EINVAL);
        }
        assert_int_equal(c.server_port, 8080);
        config_done(&c);
}

/* ---- secrets ---- */

#define CANARY "Zq7-canary-secret-never-print"      /* 29 bytes: too short, so it fails validation */
#define CANARY_LONG "Zq7-canary-secret-never-print-0123456789abcdef"

static void assert_no_canary(const char *what, const char *out) {
        if (out[0] == 0)
                fail_msg("%s: expected an error message, got none", what);
        if (strstr(out, "canary") || strstr(out, "Zq7"))
                fail_msg("%s: secret printed:\n%s", what, out);
}

static void test_secret_never_printed(void **state) {
        static const char *const yamls[] = {
                "auth:\n  shared_secret: " CANARY "\n",
                "auth:\n  shared_secret: \"" CANARY "\\0\"\n",
                "auth:\n  shared_secret: [" CANARY_LONG "]\n",
                "auth:\n  shared_secret: {" CANARY_LONG ": 1}\n",
                "auth:\n  shared_secert: " CANARY_LONG "\n",
                "auth:\n  shared_secret " CANARY_LONG ": x\n",
                "auth:\n  " CANARY_LONG "\n",
                "auth: " CANARY_LONG "\n",
                "auth:\n  shared_secret: " CANARY_LONG "\n  shared_secret: " CANARY_LONG "x\n",
                "auth:\n  shared_secret: " CANARY_LONG "\n  port: 1\n",
                "auth:\n  shared_secret: &a " CANARY_LONG "\n",
                "auth:\n  shared_secret: !!str " CANARY_LONG "\n",
                "auth:\n  shared_secret: \"" CANARY_LONG "\n",
                "auth:\n  shared_secret: |\n    " CANARY_LONG "\n    x\n  bad\n",
        };
        static const char *const envs[][2] = {
                { "SYSTEMMANAGER_SHARED_SECRET=" CANARY, NULL },
                { "SYSTEMMANAGER_AUTH_SHARED_SECRET=" CANARY, NULL },
                { "SYSTEMMANAGER_AUTH_SHARED_SECRT=" CANARY_LONG, NULL },
                { "SYSTEMMANAGER_AUTH_SHARED_SECRET=" CANARY_LONG, "SYSTEMMANAGER_AUTH_MODE=strict" },
        };
        char what[64];

        for (size_t i = 0; i < ELEMENTSOF(yamls); i++) {
                Config c;
                char *err = NULL;

                assert_int_equal(config_init_defaults(&c), 0);
                assert_int_equal(load_yaml(&c, yamls[i], &err), -EINVAL);
                snprintf(what, sizeof what, "yaml %zu", i);
                assert_no_canary(what, err);
                free(err);
                config_done(&c);
        }

        for (size_t i = 0; i < ELEMENTSOF(envs); i++) {
                char *envp[] = { (char *) envs[i][0], (char *) envs[i][1], NULL };
                Config c;
                char *err = NULL;

                assert_int_equal(config_init_defaults(&c), 0);
                assert_int_equal(apply_env(&c, envp, &err), -EINVAL);
                snprintf(what, sizeof what, "env %zu", i);
                assert_no_canary(what, err);
                free(err);
                config_done(&c);
        }

        /* Cross checks with a valid secret set. */
        {
                char *envp[] = { (char *) "SYSTEMMANAGER_SHARED_SECRET=" CANARY_LONG,
                                 (char *) "SYSTEMMANAGER_AUTH_SHARED_SECRET_FILE=/etc/secret", NULL };
                Config c;
                char *err = NULL;

                assert_int_equal(config_init_defaults(&c), 0);
                assert_int_equal(apply_env(&c, envp, &err), 0);
                free(err);
                assert_string_equal(c.auth_shared_secret, CANARY_LONG);
                assert_int_equal(finalize(&c, &err), -EINVAL);
                assert_string_equal(err, "auth.shared_secret and auth.shared_secret_file are both set; keep only one\n");
                assert_no_canary("finalize", err);
                free(err);
                config_done(&c);
                assert_null(c.auth_shared_secret);
        }
}

/* ---- cross checks ---- */

typedef struct FinalizeCase {
        const char *yaml;
        const char *errors;
} FinalizeCase;

static const FinalizeCase finalize_cases[] = {
        { "server:\n  tls_cert: /c.pem\n",
          "server.tls_cert and server.tls_key must be set together (only server.tls_cert is set)\n" },
        { "server:\n  tls_key: /k.pem\n",
          "server.tls_cert and server.tls_key must be set together (only server.tls_key is set)\n" },
        { "server:\n  port: 0\n", "" },
        { "tools:\n  timeout: 10m\n  long_timeout: 5m\n",
          "tools.long_timeout (300s) must not be shorter than tools.timeout (600s)\n" },
        { "auth:\n  shared_secret: 0123456789abcdef0123456789abcdef\n  shared_secret_file: /s\n",
          "auth.shared_secret and auth.shared_secret_file are both set; keep only one\n" },
        { "server:\n  host: 0.0.0.0\nauth:\n  mode: disabled\n",
          "auth.mode: 'disabled' is refused on the non-loopback listener 0.0.0.0:8080; use 'required', bind "
          "server.host to 127.0.0.1, or set auth.allow_disabled_on_network: true\n" },
        { "server:\n  host: example.com\n  port: 80\nauth:\n  mode: disabled\n",
          "auth.mode: 'disabled' is refused on the non-loopback listener example.com:80; use 'required', bind "
          "server.host to 127.0.0.1, or set auth.allow_disabled_on_network: true\n" },
        { "server:\n  port: 0\n  tls_key: /k\n",
          "server.tls_cert and server.tls_key must be set together (only server.tls_key is set)\n" },
        /* accepted */
        { "server:\n  port: 0\n  unix_socket: /run/sm.sock\n", "" },
        { "server:\n  tls_cert: /c\n  tls_key: /k\n", "" },
        { "tools:\n  timeout: 10m\n  long_timeout: 10m\n", "" },
        { "server:\n  host: 127.0.0.2\nauth:\n  mode: disabled\n", "" },
        { "server:\n  host: ::1\nauth:\n  mode: disabled\n", "" },
        { "server:\n  host: LocalHost\nauth:\n  mode: disabled\n", "" },
        { "server:\n  host: 0.0.0.0\n  port: 0\n  unix_socket: /s\nauth:\n  mode: disabled\n", "" },
        { "server:\n  host: 0.0.0.0\nauth:\n  mode: disabled\n  allow_disabled_on_network: true\n", "" },
        { "server:\n  host: 0.0.0.0\nauth:\n  mode: required\n", "" },
};

static void test_finalize(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(finalize_cases); i++) {
                const FinalizeCase *fc = &finalize_cases[i];
                Config c;
                char *err = NULL;
                int r;

                assert_int_equal(config_init_defaults(&c), 0);
                if (load_yaml(&c, fc->yaml, &err) != 0)
                        fail_msg("finalize case %zu does not load: %s", i, err);
                free(err);
                r = finalize(&c, &err);
                if (r != (fc->errors[0] ? -EINVAL : 0) || !streq(err, fc->errors))
                        fail_msg("finalize case %zu:\n%s\nexpected:\n%sgot %d and:\n%s", i, fc->yaml, fc->errors, r,
                                 err);
                if (r < 0)
                        assert_null(c.audit_file);      /* not derived on failure */
                free(err);
                config_done(&c);
        }
}

static void test_finalize_audit_file(void **state) {
        static const struct {
                const char *state_dir;
                const char *audit_file;
        } cases[] = {
                { "/srv/sm", "/srv/sm/audit.log" },
                { "/srv/sm/", "/srv/sm/audit.log" },
                { "/srv/sm//", "/srv/sm/audit.log" },
                { "/", "/audit.log" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                Config c;
                char *err = NULL, yaml[128];

                assert_int_equal(config_init_defaults(&c), 0);
                snprintf(yaml, sizeof yaml, "state_dir: %s\n", cases[i].state_dir);
                assert_int_equal(load_yaml(&c, yaml, &err), 0);
                free(err);
                assert_int_equal(finalize(&c, &err), 0);
                free(err);
                assert_string_equal(c.audit_file, cases[i].audit_file);
                config_done(&c);
        }

        /* state_dir set directly to NULL by a caller */
        {
                Config c;
                char *err = NULL;

                assert_int_equal(config_init_defaults(&c), 0);
                free(c.state_dir);
                c.state_dir = NULL;
                assert_int_equal(finalize(&c, &err), -EINVAL);
                assert_string_equal(err, "state_dir must be set\n");
                free(err);
                config_done(&c);
        }
}

/* ---- reference ---- */

static char *dump_reference(void) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        assert_non_null(f);
        config_dump_reference(f);
        assert_int_equal(fclose(f), 0);
        return buf;
}

/* The YAML example of the reference, with commented settings enabled when
 * `uncomment` is set. */
static char *reference_example(const char *ref, bool uncomment) {
        const char *b, *e;
        char *out, *o;

        b = strstr(ref, "```yaml\n");
        assert_non_null(b);
        b += strlen("```yaml\n");
        e = strstr(b, "```\n");
        assert_non_null(e);
        out = calloc(1, (size_t) (e - b) + 1);
        assert_non_null(out);
        for (o = out; b < e; b++) {
                if (uncomment && (b == out || b[-1] == '\n') && strncmp(b, "  # ", 4) == 0) {
                        memcpy(o, "  ", 2);
                        o += 2;
                        b += 3;
                        continue;
                }
                *o++ = *b;
        }
        return out;
}

static void test_reference(void **state) {
        static const char *const expected[] = {
                "| `state_dir` | `SYSTEMMANAGER_STATE_DIR` | absolute path | `/var/lib/systemmanager` |",
                "| `server.port` | `SYSTEMMANAGER_SERVER_PORT` | integer, 0–65535 | `8080` |",
                "| `server.max_body_bytes` | `SYSTEMMANAGER_SERVER_MAX_BODY_BYTES` | size, 1KiB–64MiB | `1MiB` |",
                "| `server.idle_timeout` | `SYSTEMMANAGER_SERVER_IDLE_TIMEOUT` | duration, 1s–1d | `60s` |",
                "| `server.allowed_origins` | `SYSTEMMANAGER_SERVER_ALLOWED_ORIGINS` | list of strings | `[]` "
                "(loopback origins only) |",
                "| `auth.mode` | `SYSTEMMANAGER_AUTH_MODE`, `SYSTEMMANAGER_REQUIRE_AUTH` (`true` → `required`, "
                "`false` → `optional`) | `disabled` \\| `optional` \\| `required` | `optional` |",
                "| `auth.shared_secret` | `SYSTEMMANAGER_AUTH_SHARED_SECRET`, `SYSTEMMANAGER_SHARED_SECRET` | "
                "secret string | *(unset)* |",
                "| `auth.allow_query_token` | `SYSTEMMANAGER_AUTH_ALLOW_QUERY_TOKEN` | boolean | `false` |",
                "| `audit.file` | `SYSTEMMANAGER_AUDIT_FILE`, `SYSTEMMANAGER_AUDIT_LOG` | absolute path | "
                "`<state_dir>/audit.log` |",
                "| `tools.max_output_bytes` | `SYSTEMMANAGER_TOOLS_MAX_OUTPUT_BYTES`, "
                "`SYSTEMMANAGER_MAX_OUTPUT_BYTES` | size, 1KiB–256MiB | `1MiB` |",
                "| `tools.long_timeout` | `SYSTEMMANAGER_TOOLS_LONG_TIMEOUT` | duration, 1s–7d | `600s` |",
                "localhost`, `127.0.0.1` or `[::1]` and any port",
                "\n## `server`\n", "\n## `auth`\n", "\n## `audit`\n", "\n## `tools`\n", "\n## Example\n",
        };
        char *ref = dump_reference(), *example, *err = NULL;
        Config c, d;

        for (size_t i = 0; i < ELEMENTSOF(expected); i++)
                if (!strstr(ref, expected[i]))
                        fail_msg("reference lacks: %s", expected[i]);
        assert_null(strstr(ref, "(null)"));
        assert_int_equal(ref[strlen(ref) - 1], '\n');

        /* The example is valid and says exactly what the defaults are. */
        assert_int_equal(config_init_defaults(&d), 0);
        example = reference_example(ref, false);
        assert_int_equal(config_init_defaults(&c), 0);
        if (load_yaml(&c, example, &err) != 0)
                fail_msg("example does not load:\n%s\n%s", example, err);
        assert_config_equal(&c, &d);
        free(err);
        free(example);
        config_done(&c);

        /* With the commented settings enabled it is valid too. */
        example = reference_example(ref, true);
        assert_non_null(strstr(example, "\n  unix_socket: /run/systemmanager/mcp.sock\n"));
        assert_int_equal(config_init_defaults(&c), 0);
        if (load_yaml(&c, example, &err) != 0)
                fail_msg("uncommented example does not load:\n%s\n%s", example, err);
        assert_string_equal(c.server_unix_socket, "/run/systemmanager/mcp.sock");
        assert_int_equal(strv_length(c.server_allowed_origins), 0);
        assert_non_null(c.audit_file);
        free(err);
        free(example);
        config_done(&c);
        config_done(&d);
        free(ref);
}

/* docs/configuration.md is the generated reference, byte for byte. */
static void test_reference_matches_docs(void **state) {
        const char *src = getenv("SM_SOURCE_DIR");
        char path[4096], *ref, *doc = NULL;
        size_t size = 0;
        FILE *f;

        if (!src)
                skip();
        snprintf(path, sizeof path, "%s/docs/configuration.md", src);
        f = fopen(path, "re");
        if (!f)
                fail_msg("%s: %m (regenerate it with systemmanager-mcp --dump-config-reference)", path);
        doc = malloc(1024 * 1024);
        assert_non_null(doc);
        size = fread(doc, 1, 1024 * 1024 - 1, f);
        doc[size] = 0;
        fclose(f);

        ref = dump_reference();
        if (!streq(ref, doc))
                fail_msg("%s is out of date: regenerate it with 'systemmanager-mcp --dump-config-reference > "
                         "docs/configuration.md'", path);
        free(ref);
        free(doc);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_full_file),
                cmocka_unit_test(test_empty_files),
                cmocka_unit_test(test_good_values),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_all_errors_reported),
                cmocka_unit_test(test_too_many_errors),
                cmocka_unit_test(test_failed_load_keeps_config),
                cmocka_unit_test(test_file_errors),
                cmocka_unit_test(test_secret_file_permissions),
                cmocka_unit_test(test_env_overrides_file),
                cmocka_unit_test(test_env_cases),
                cmocka_unit_test(test_env_errors),
                cmocka_unit_test(test_env_empty),
                cmocka_unit_test(test_secret_never_printed),
                cmocka_unit_test(test_finalize),
                cmocka_unit_test(test_finalize_audit_file),
                cmocka_unit_test(test_reference),
                cmocka_unit_test(test_reference_matches_docs),
        };

        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
