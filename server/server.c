/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "common/cleanup.h"
#include "common/encoding.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "scopes/jose.h"
#include "server/server.h"

#define SECRET_FILE_MAX 4096

/* Reads a secret file, refusing one that others can read (as ssh refuses
 * loose keys). Trailing newlines are stripped. */
static int read_secret_file(const char *path, char **ret) {
        _cleanup_close_ int fd = -1;
        _cleanup_erase_ char *buf = NULL;
        struct stat st;
        ssize_t n;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return log_error_errno(errno, "Failed to open secret file %s: %m", path);
        if (fstat(fd, &st) < 0)
                return log_error_errno(errno, "Failed to stat %s: %m", path);
        if (!S_ISREG(st.st_mode))
                return log_error_errno(EINVAL, "Secret file %s is not a regular file", path);
        if (st.st_mode & 0077)
                return log_error_errno(EPERM, "Secret file %s is readable by group or others; run: chmod 600 %s",
                                       path, path);
        buf = calloc(1, SECRET_FILE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        n = read(fd, buf, SECRET_FILE_MAX);
        if (n < 0)
                return log_error_errno(errno, "Failed to read %s: %m", path);
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
                buf[--n] = 0;
        *ret = TAKE_PTR(buf);
        return 0;
}

static AuthMode auth_mode_from_string(const char *s) {
        if (streq_ptr(s, "disabled"))
                return AUTH_MODE_DISABLED;
        if (streq_ptr(s, "required"))
                return AUTH_MODE_REQUIRED;
        return AUTH_MODE_OPTIONAL;
}

static bool host_is_loopback_name(const char *h) {
        return h && (streq(h, "127.0.0.1") || streq(h, "::1") || streq(h, "localhost") || strncmp(h, "127.", 4) == 0);
}

static void jwt_verifier_freep(JwtVerifier **v) {
        jwt_verifier_free(*v);
}

/* Builds the JWT verifier from the jwt.* settings. *ret stays NULL when no
 * JWT key source is configured. Weak or malformed keys refuse the start:
 * an operator who configured a key expects it to be the one in use. */
static int jwt_setup(const Config *c, JwtVerifier **ret) {
        _cleanup_(jwt_verifier_freep) JwtVerifier *v = NULL;
        _cleanup_erase_ char *secret = NULL;
        const char *detail = NULL;
        unsigned skipped = 0;
        int r;

        *ret = NULL;
        if (!c->jwt_secret && !c->jwt_secret_file && !c->jwt_jwks_file && !c->jwt_jwks && !c->jwt_jwks_url)
                return 0;

        JwtConfig jc = {
                .allowed_algorithms = (const char *const *) c->jwt_allowed_algorithms,
                .audience = c->jwt_audience,
                .issuer = c->jwt_issuer,
                .max_ttl_seconds = c->auth_max_ttl,
                .max_token_bytes = c->auth_max_token_bytes,
        };
        r = jwt_verifier_new(&jc, &v, &detail);
        if (r < 0)
                return log_error_errno(r, "Invalid JWT settings: %s", detail ? detail : "out of memory");

        if (c->jwt_secret) {
                secret = strdup(c->jwt_secret);
                if (!secret)
                        return log_error_errno(ENOMEM, "Out of memory");
        } else if (c->jwt_secret_file) {
                r = read_secret_file(c->jwt_secret_file, &secret);
                if (r < 0)
                        return r;
        }
        if (secret) {
                r = jwt_verifier_add_hmac_secret(v, secret, strlen(secret), NULL, &detail);
                if (r < 0)
                        return log_error_errno(r, "Refusing the JWT HS256 secret: %s (generate one with "
                                                  "'openssl rand -hex 32')", detail ? detail : "out of memory");
        }
        if (c->jwt_jwks_file) {
                r = jwt_verifier_add_jwks_file(v, c->jwt_jwks_file, &skipped, &detail);
                if (r < 0)
                        return log_error_errno(r, "Refusing the JWKS file %s: %s", c->jwt_jwks_file,
                                               detail ? detail : "out of memory");
                if (skipped > 0)
                        log_warning("JWKS file %s: skipped %u key(s) of an unsupported type, use or algorithm",
                                    c->jwt_jwks_file, skipped);
        }
        if (c->jwt_jwks) {
                r = jwt_verifier_add_jwks(v, c->jwt_jwks, strlen(c->jwt_jwks), &skipped, &detail);
                if (r < 0)
                        return log_error_errno(r, "Refusing jwt.jwks: %s", detail ? detail : "out of memory");
                if (skipped > 0)
                        log_warning("jwt.jwks: skipped %u key(s) of an unsupported type, use or algorithm",
                                    skipped);
        }
        if (c->jwt_jwks_url) {
                JwksUrlConfig uc = {
                        .url = c->jwt_jwks_url,
                        .cache_ttl_seconds = c->jwt_jwks_cache_ttl,
                        .fetch_timeout_seconds = c->jwt_jwks_fetch_timeout,
                };
                int initial = 0;

                r = jwt_verifier_set_jwks_url(v, &uc, &detail);
                if (r < 0)
                        return log_error_errno(r, "Refusing jwt.jwks_url: %s", detail ? detail : "out of memory");
                /* An IdP that is down at boot does not stop the daemon: the
                 * fetcher keeps trying, and static keys work meanwhile. */
                r = jwt_verifier_start_jwks_fetcher(v, &initial, &detail);
                if (r < 0)
                        return log_error_errno(r, "Failed to start the JWKS fetcher: %m");
                if (initial < 0)
                        log_warning("JWKS fetch from %s failed: %s; retrying in the background", c->jwt_jwks_url,
                                    detail ? detail : "error");
                else
                        log_info("JWKS: %zu key(s) fetched from %s", jwt_verifier_n_remote_keys(v),
                                 c->jwt_jwks_url);
        }
        if (jwt_verifier_n_keys(v) == 0 && !jwt_verifier_has_jwks_url(v))
                return log_error_errno(EINVAL, "JWT is configured but no usable key was found");

        log_info("JWT: %zu static key(s) loaded", jwt_verifier_n_keys(v));
        *ret = TAKE_PTR(v);
        return 0;
}

int server_init(Server *s, Config *c) {
        _cleanup_(jwt_verifier_freep) JwtVerifier *jwt = NULL;
        _cleanup_erase_ char *secret = NULL;
        HmacKey *hmac = NULL;
        unsigned char rnd[8];
        int r;

        *s = (Server) { .config = c };
        pthread_mutex_init(&s->stepup_lock, NULL);
        s->started_usec = (int64_t) now_usec();
        if (RAND_bytes(rnd, sizeof rnd) != 1)
                return log_error_errno(EIO, "Failed to get random bytes");
        hex_encode(rnd, sizeof rnd, s->boot_id, sizeof s->boot_id);

        if (c->state_dir && mkdir(c->state_dir, 0700) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create state directory %s: %m", c->state_dir);

        /* Credentials. */
        AuthMode mode = auth_mode_from_string(c->auth_mode);
        if (c->auth_shared_secret) {
                secret = strdup(c->auth_shared_secret);
                if (!secret)
                        return -ENOMEM;
        } else if (c->auth_shared_secret_file) {
                r = read_secret_file(c->auth_shared_secret_file, &secret);
                if (r < 0)
                        return r;
        }
        if (secret) {
                r = hmac_key_new(secret, strlen(secret), &hmac);
                if (r == -EINVAL)
                        return log_error_errno(r, "The shared secret is shorter than 32 bytes; generate one with "
                                                  "'systemmanagerctl keygen --hmac' or 'openssl rand -hex 32'");
                if (r < 0)
                        return log_error_errno(r, "Failed to set up the HMAC key: %m");
        }

        r = jwt_setup(c, &jwt);
        if (r < 0) {
                hmac_key_free(hmac);
                return r;
        }

        /* Deny by default: no credential source and auth not explicitly off means
         * nobody could ever authenticate, and "optional" must not mean "open". */
        if (!hmac && !jwt && !c->auth_bootstrap_token && !(c->auth_api_keys && c->auth_api_keys[0]) &&
            !(c->auth_basic_users && c->auth_basic_users[0]) && mode != AUTH_MODE_DISABLED)
                return log_error_errno(EINVAL,
                                       "No credential source configured: set SYSTEMMANAGER_SHARED_SECRET or "
                                       "auth.shared_secret_file, or a JWT key (jwt.secret, jwt.jwks_file), "
                                       "(or run with --dev), or set auth.mode: disabled "
                                       "on a loopback-only listener");
        if (mode == AUTH_MODE_DISABLED && c->server_port > 0 && !host_is_loopback_name(c->server_host))
                return log_error_errno(EPERM, "auth.mode: disabled is refused on the non-loopback listener %s",
                                       c->server_host);
        if (mode == AUTH_MODE_DISABLED)
                log_warning("Authentication is DISABLED: every local caller has every scope");

        AuthConfig ac = {
                .mode = mode,
                .max_token_bytes = c->auth_max_token_bytes,
                .max_ttl_seconds = c->auth_max_ttl,
        };
        r = auth_new(&ac, hmac, &s->auth);
        if (r < 0) {
                hmac_key_free(hmac);
                return log_error_errno(r, "Failed to set up authentication: %m");
        }
        auth_set_jwt(s->auth, TAKE_PTR(jwt));

        r = audit_open(c->audit_file, &s->audit);
        if (r < 0)
                return log_error_errno(r, "Failed to open the audit log %s: %m (set audit.file or "
                                          "SYSTEMMANAGER_AUDIT_LOG to a writable path)",
                                       c->audit_file);
        {
                _cleanup_free_ char *key = NULL, *initial = NULL;

                if (asprintf(&key, "%s/audit.key", c->state_dir) < 0 ||
                    asprintf(&initial, "%s/audit-initial.key", c->state_dir) < 0)
                        return -ENOMEM;
                r = audit_enable_seal(s->audit, key, initial, (unsigned) c->audit_checkpoint_every);
                if (r < 0)
                        return log_error_errno(r, "Failed to set up audit sealing with %s: %m", key);
                if (c->audit_journald)
                        audit_enable_journald(s->audit);
                r = audit_start_syncer(s->audit, 5);
                if (r < 0)
                        return log_error_errno(r, "Failed to start the audit syncer: %m");
        }

        /* A bad allowlist entry must stop the start: silently dropping it
         * could widen what the diagnostics may reach. */
        char net_err[256];
        r = netpolicy_new(c->network_allowed_cidrs, c->network_denied_cidrs, c->network_allowed_ports,
                          &s->net_policy, net_err, sizeof net_err);
        if (r == -EINVAL)
                return log_error_errno(r, "Invalid network allowlist: %s", net_err);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the network allowlist: %m");

        s->tool_env = (ToolEnv) {
                .net = s->net_policy,
                .max_output_bytes = c->tools_max_output_bytes,
                .timeout_sec = c->tools_timeout,
                .long_timeout_sec = c->tools_long_timeout,
                .allowed_paths = c->filesystem_allowed_paths,
                .denied_patterns = c->filesystem_denied_patterns,
                .docker_socket = c->docker_socket,
                .packages_backend = c->packages_backend,
        };

        r = ratelimit_new((unsigned) c->rate_limit_auth_failures_per_ip, (unsigned) c->rate_limit_window, 16384,
                          &s->rl_ip);
        if (r >= 0)
                r = ratelimit_new((unsigned) c->rate_limit_auth_failures_per_identity, (unsigned) c->rate_limit_window,
                                  4096, &s->rl_identity);
        if (r < 0)
                return log_error_errno(r, "Failed to set up rate limiting: %m");

        for (char **k = c->auth_api_keys; k && *k; k++)
                if (auth_add_api_key(s->auth, *k) < 0)
                        return log_error_errno(EINVAL, "auth.api_keys: an entry is not NAME:SHA256HEX:SCOPES (64 "
                                                       "lower-case hex digits, known scopes)");
        for (char **u = c->auth_basic_users; u && *u; u++)
                if (auth_add_basic_user(s->auth, *u) < 0)
                        return log_error_errno(EINVAL, "auth.basic_users: an entry is not USER:CRYPT-HASH:SCOPES");

        if (c->auth_bootstrap_token) {
                int64_t until = 0;
                if (c->auth_bootstrap_expires_at) {
                        char *end = NULL;
                        errno = 0;
                        long long v = strtoll(c->auth_bootstrap_expires_at, &end, 10);
                        if (errno == 0 && end != c->auth_bootstrap_expires_at && *end == 0 && v > 0)
                                until = v;
                        else if (iso8601_parse(c->auth_bootstrap_expires_at, &until) < 0)
                                return log_error_errno(EINVAL, "auth.bootstrap_expires_at: '%s' is neither ISO-8601 "
                                                               "nor epoch seconds",
                                                       c->auth_bootstrap_expires_at);
                }
                r = auth_set_bootstrap(s->auth, c->auth_bootstrap_token, c->auth_bootstrap_scopes, until);
                if (r < 0)
                        return log_error_errno(r, "The bootstrap token must be at least 32 characters and its "
                                                  "scopes (auth.bootstrap_scopes) valid");
                log_warning("A bootstrap token is configured (scopes %s); remove it once real tokens exist",
                            c->auth_bootstrap_scopes ? c->auth_bootstrap_scopes : "admin");
        }

        r = tokenstore_open(c->service_tokens_db, &s->tokens);
        if (r < 0)
                return log_error_errno(r, "Failed to open the token database %s: %m (set service_tokens.db or "
                                          "SYSTEMMANAGER_SERVICE_TOKEN_DB)",
                                       c->service_tokens_db);
        auth_set_store(s->auth, s->tokens);

        r = approval_store_new(c->approval_timeout, 1024, &s->approvals);
        if (r < 0)
                return log_error_errno(r, "Failed to set up approvals: %m");

        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        unsigned threads = c->server_worker_threads > 0 ? (unsigned) c->server_worker_threads
                                                        : (unsigned) (ncpu < 2 ? 2 : ncpu > 16 ? 16 : ncpu);
        s->max_approvals_waiting = threads / 2 > 0 ? threads / 2 : 1;
        r = worker_pool_new(threads, 4096, &s->pool);
        if (r < 0)
                return log_error_errno(r, "Failed to start worker threads: %m");
        return 0;
}

void server_done(Server *s) {
        s->pool = worker_pool_free(s->pool);
        s->net_policy = netpolicy_free(s->net_policy);
        s->audit = audit_close(s->audit);
        s->auth = auth_free(s->auth);
        s->rl_ip = ratelimit_free(s->rl_ip);
        s->approvals = approval_store_free(s->approvals);
        s->tokens = tokenstore_free(s->tokens); /* after auth, which borrows it */
        s->rl_identity = ratelimit_free(s->rl_identity);
        for (size_t i = 0; i < s->n_stepup_unused; i++)
                free(s->stepup_unused[i]);
        free(s->stepup_unused);
        s->stepup_unused = NULL;
        s->n_stepup_unused = 0;
}
