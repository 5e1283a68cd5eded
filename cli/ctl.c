/* SPDX-License-Identifier: MIT */
/* systemmanagerctl: the operator CLI. Exit codes: 0 success, 1 failure, 2 usage. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/timeutil.h"
#include "scopes/auth.h"
#include "scopes/scope.h"
#include "audit/verify.h"
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "audit/audit.h"
#include "cli/client.h"
#include "scopes/tokenstore.h"
#include "common/encoding.h"
#include "server/config.h"

extern char **environ;

#define EXIT_USAGE 2
#define DEFAULT_CONFIG "/etc/systemmanager/config.yaml"
#define TOKEN_MAX 8192

static void help_main(void) {
        printf("Usage: systemmanagerctl [--config FILE] COMMAND ...\n"
               "\n"
               "Operator CLI for systemmanager.\n"
               "\n"
               "Commands:\n"
               "  token mint     Mint a short-lived HMAC bearer token\n"
               "  token verify   Check a token and print its claims\n"
               "  token revoke   Revoke a token (--jti, --token) or every token of an agent (--agent)\n"
               "  token create|list|show|rotate   Long-lived service tokens (smst_...) for CI\n"
               "  audit verify   Check the audit log's hash chain and sealed checkpoints\n"
               "  audit tail     Print (and follow) audit records, filtered\n"
               "  approvals      list | show ID | approve ID [--reason R] | deny ID --reason R\n"
               "  keygen         --hmac | --rsa | --ec | --ed25519: write a secret or key pair (mode 600)\n"
               "  call TOOL      Call a tool: --arg k=v ... or --json '{...}'\n"
               "\n"
               "Options:\n"
               "  -c, --config FILE   Daemon configuration to take the secret from (default " DEFAULT_CONFIG ")\n"
               "  -h, --help          Show this help\n"
               "      --version       Print the version\n"
               "\n"
               "The HMAC secret comes from --secret-file, SYSTEMMANAGER_SHARED_SECRET, or the daemon\n"
               "configuration's auth.shared_secret_file. Run 'systemmanagerctl token mint --help'.\n");
}

static void help_mint(void) {
        printf("Usage: systemmanagerctl token mint --agent NAME --scopes a,b --ttl DURATION [OPTIONS]\n"
               "\n"
               "Mint an HMAC bearer token. The token alone goes to stdout (so TOKEN=$(...) works);\n"
               "its details go to stderr, or everything to stdout as JSON with --json.\n"
               "\n"
               "  --agent NAME          Who the token is for (the audit log's subject)\n"
               "  --scopes LIST         Comma-separated scopes; meta-scopes readonly and admin expand\n"
               "  --ttl DURATION        Lifetime: 30s, 15m, 2h, 7d (min 1m, max auth.max_ttl, default 30d)\n"
               "  --audience A          Restrict the token to one audience\n"
               "  --reason TEXT         Why (required for break-glass: admin tokens with a reason, ttl <= 1h)\n"
               "  --auto-approve        Pre-approve critical actions for this token\n"
               "  --containers GLOBS    Only these containers (name_or_id), e.g. 'web-*,api'\n"
               "  --paths GLOBS         Only these paths for file_operations, e.g. '/var/log/nginx/*'\n"
               "  --hosts GLOBS         Only these hosts for diagnostics, e.g. '*.example.com,10.0.0.*'\n"
               "  --format hmac|jwt     hmac (default, the origin format) or an HS256 JWT signed with\n"
               "                        SYSTEMMANAGER_JWT_SECRET / jwt.secret_file\n"
               "  --secret-file FILE    File holding the shared secret\n"
               "  --json                Print token, expiry and expanded scopes as JSON\n"
               "\n"
               "Example:\n"
               "  systemmanagerctl token mint --agent grafana-datasource --scopes readonly --ttl 30d\n");
}

static void help_verify(void) {
        printf("Usage: systemmanagerctl token verify [--token T] [--secret-file FILE] [--json]\n"
               "\n"
               "Verify a token (from --token or standard input) and print its claims, expanded scopes and\n"
               "expiry. Exit 0 when valid, 1 when not (with the reason).\n");
}

static int read_file_secret(const char *path, char **ret) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        char buf[4097];
        struct stat st;
        ssize_t n;

        if (fd < 0) {
                fprintf(stderr, "systemmanagerctl: cannot open secret file %s: %s\n", path, strerror(errno));
                return -errno;
        }
        if (fstat(fd, &st) == 0 && (st.st_mode & 0077)) {
                fprintf(stderr, "systemmanagerctl: secret file %s is readable by group or others; run: chmod 600 %s\n",
                        path, path);
                return -EPERM;
        }
        n = read(fd, buf, sizeof buf - 1);
        if (n < 0)
                return -errno;
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
                n--;
        buf[n] = 0;
        *ret = strdup(buf);
        OPENSSL_cleanse(buf, sizeof buf);
        return *ret ? 0 : -ENOMEM;
}

/* The secret, from the first source that has one. */
static int load_secret(const char *config_path, const char *secret_file, char **ret, Config *cfg) {
        int r;

        r = config_init_defaults(cfg);
        if (r < 0)
                return r;
        const char *path = config_path;
        if (!path && access(DEFAULT_CONFIG, R_OK) == 0)
                path = DEFAULT_CONFIG;
        if (path) {
                r = config_load_file(cfg, path, stderr);
                if (r < 0) {
                        fprintf(stderr, "systemmanagerctl: cannot use configuration %s\n", path);
                        return r;
                }
        }
        r = config_apply_env(cfg, environ, stderr);
        if (r < 0)
                return r;

        if (secret_file)
                return read_file_secret(secret_file, ret);
        if (cfg->auth_shared_secret) {
                *ret = strdup(cfg->auth_shared_secret);
                return *ret ? 0 : -ENOMEM;
        }
        if (cfg->auth_shared_secret_file)
                return read_file_secret(cfg->auth_shared_secret_file, ret);

        fprintf(stderr, "systemmanagerctl: no secret: pass --secret-file FILE, set SYSTEMMANAGER_SHARED_SECRET, "
                        "or configure auth.shared_secret_file\n");
        return -ENOKEY;
}

static int make_key(const char *config_path, const char *secret_file, HmacKey **ret, Config *cfg) {
        _cleanup_erase_ char *secret = NULL;
        int r;

        r = load_secret(config_path, secret_file, &secret, cfg);
        if (r < 0)
                return r;
        r = hmac_key_new(secret, strlen(secret), ret);
        if (r == -EINVAL)
                fprintf(stderr, "systemmanagerctl: the secret is shorter than 32 bytes\n");
        return r;
}

static char **split_scopes(const char *list) {
        size_t n = 0, cap = 8;
        char **v = calloc(cap + 1, sizeof(char *));
        const char *p = list;

        if (!v)
                return NULL;
        while (*p) {
                size_t l = strcspn(p, ", ");
                if (l > 0) {
                        if (n == cap) {
                                char **nv = realloc(v, (cap * 2 + 1) * sizeof(char *));
                                if (!nv) {
                                        strv_free(v);
                                        return NULL;
                                }
                                v = nv;
                                cap *= 2;
                        }
                        v[n] = strndup(p, l);
                        if (!v[n]) {
                                strv_free(v);
                                return NULL;
                        }
                        v[++n] = NULL;
                }
                p += l;
                p += strspn(p, ", ");
        }
        return v;
}

static int mint_jwt(const Config *cfg, const char *agent, char **scope_list, int64_t ttl, const char *aud,
                    char **ret);

static int cmd_token_mint(int argc, char *argv[], const char *config_path) {
        enum { ARG_AGENT = 0x100, ARG_SCOPES, ARG_TTL, ARG_AUD, ARG_REASON, ARG_AUTO, ARG_FORMAT, ARG_SECRET,
               ARG_JSON, ARG_CONTAINERS, ARG_PATHS, ARG_HOSTS };
        static const struct option options[] = {
                { "agent", required_argument, NULL, ARG_AGENT },
                { "scopes", required_argument, NULL, ARG_SCOPES },
                { "ttl", required_argument, NULL, ARG_TTL },
                { "audience", required_argument, NULL, ARG_AUD },
                { "reason", required_argument, NULL, ARG_REASON },
                { "auto-approve", no_argument, NULL, ARG_AUTO },
                { "format", required_argument, NULL, ARG_FORMAT },
                { "secret-file", required_argument, NULL, ARG_SECRET },
                { "json", no_argument, NULL, ARG_JSON },
                { "containers", required_argument, NULL, ARG_CONTAINERS },
                { "paths", required_argument, NULL, ARG_PATHS },
                { "hosts", required_argument, NULL, ARG_HOSTS },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *containers = NULL, *paths = NULL, *hosts = NULL;
        const char *agent = NULL, *scopes = NULL, *ttl = "30d", *aud = NULL, *reason = NULL, *secret_file = NULL;
        bool auto_approve = false, json = false, jwt = false;
        _cleanup_(config_done) Config cfg = {};
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_AGENT: agent = optarg; break;
                case ARG_SCOPES: scopes = optarg; break;
                case ARG_TTL: ttl = optarg; break;
                case ARG_AUD: aud = optarg; break;
                case ARG_REASON: reason = optarg; break;
                case ARG_AUTO: auto_approve = true; break;
                case ARG_CONTAINERS: containers = optarg; break;
                case ARG_PATHS: paths = optarg; break;
                case ARG_HOSTS: hosts = optarg; break;
                case ARG_SECRET: secret_file = optarg; break;
                case ARG_JSON: json = true; break;
                case ARG_FORMAT:
                        if (!streq(optarg, "hmac") && !streq(optarg, "jwt")) {
                                fprintf(stderr, "systemmanagerctl: --format takes hmac or jwt\n");
                                return EXIT_USAGE;
                        }
                        jwt = streq(optarg, "jwt");
                        break;
                case 'h': help_mint(); return 0;
                default: return EXIT_USAGE;
                }
        if (optind < argc) {
                fprintf(stderr, "systemmanagerctl: unexpected argument '%s'\n", argv[optind]);
                return EXIT_USAGE;
        }
        if (!agent || !*agent || !scopes) {
                fprintf(stderr, "systemmanagerctl: --agent and --scopes are required (see --help)\n");
                return EXIT_USAGE;
        }

        int64_t ttl_s = 0;
        if (ttl_parse(ttl, &ttl_s) < 0) {
                fprintf(stderr, "systemmanagerctl: --ttl '%s' is not a duration; use e.g. 30s, 15m, 2h, 7d\n", ttl);
                return EXIT_USAGE;
        }

        _cleanup_strv_free_ char **scope_list = split_scopes(scopes);
        if (!scope_list || !scope_list[0]) {
                fprintf(stderr, "systemmanagerctl: --scopes needs at least one scope\n");
                return EXIT_USAGE;
        }
        ScopeSet set = 0;
        for (char **s = scope_list; *s; s++) {
                ScopeSet one;
                if (scope_expand_name(*s, &one) < 0) {
                        fprintf(stderr, "systemmanagerctl: unknown scope '%s' (known: readonly, admin, system:read, "
                                        "network:read, container:read, docker:read, file:read, network:diag, "
                                        "network:admin, container:write, container:admin, docker:admin, "
                                        "system:admin, health:read, metrics:read, approvals:write, "
                                        "admin:tokens:read, admin:tokens:write)\n",
                                *s);
                        return EXIT_USAGE;
                }
                set |= one;
        }

        if (jwt) {
                r = config_init_defaults(&cfg);
                const char *path = config_path;
                if (!path && access(DEFAULT_CONFIG, R_OK) == 0)
                        path = DEFAULT_CONFIG;
                if (r < 0 || (path && config_load_file(&cfg, path, stderr) < 0) ||
                    config_apply_env(&cfg, environ, stderr) < 0)
                        return 1;
                if (ttl_s < 60 || ttl_s > cfg.auth_max_ttl) {
                        fprintf(stderr, "systemmanagerctl: --ttl %s is out of range: between 1m and %llds (auth.max_ttl)\n",
                                ttl, (long long) cfg.auth_max_ttl);
                        return EXIT_USAGE;
                }
                if (auto_approve || reason) {
                        fprintf(stderr, "systemmanagerctl: --auto-approve and --reason need --format hmac\n");
                        return EXIT_USAGE;
                }
                _cleanup_erase_ char *t = NULL;
                if (mint_jwt(&cfg, agent, scope_list, ttl_s, aud, &t) < 0)
                        return 1;
                printf("%s\n", t);
                char scopes_s[512];
                scopeset_format(set, scopes_s, sizeof scopes_s);
                fprintf(stderr, "agent:   %s (sub)\nscopes:  %s\nformat:  JWT HS256, expires in %llds\n", agent, scopes_s,
                        (long long) ttl_s);
                return 0;
        }

        HmacKey *key = NULL;
        r = make_key(config_path, secret_file, &key, &cfg);
        if (r < 0)
                return 1;

        if (ttl_s < 60 || ttl_s > cfg.auth_max_ttl) {
                fprintf(stderr, "systemmanagerctl: --ttl %s is out of range: between 1m and %llds (auth.max_ttl)\n",
                        ttl, (long long) cfg.auth_max_ttl);
                hmac_key_free(key);
                return EXIT_USAGE;
        }

        bool break_glass = set == SCOPESET_ALL && reason;
        if (break_glass && ttl_s > 3600) {
                fprintf(stderr, "systemmanagerctl: a break-glass token (admin with --reason) lives at most 1h\n");
                hmac_key_free(key);
                return EXIT_USAGE;
        }

        _cleanup_strv_free_ char **cl = containers ? split_scopes(containers) : NULL;
        _cleanup_strv_free_ char **pl = paths ? split_scopes(paths) : NULL;
        _cleanup_strv_free_ char **hl = hosts ? split_scopes(hosts) : NULL;
        TokenMintParams p = {
                .containers = (const char *const *) cl,
                .paths = (const char *const *) pl,
                .hosts = (const char *const *) hl,
                .agent = agent,
                .scopes = (const char *const *) scope_list,
                .ttl_seconds = ttl_s,
                .audience = aud,
                .reason = reason,
                .auto_approve = auto_approve,
                .break_glass = break_glass,
        };
        _cleanup_erase_ char *token = NULL;
        _cleanup_json_ json_t *claims = NULL;
        r = hmac_token_mint(key, &p, &token, &claims);
        hmac_key_free(key);
        if (r < 0) {
                fprintf(stderr, "systemmanagerctl: failed to mint: %s\n", strerror(-r));
                return 1;
        }

        int64_t exp = json_integer_value(json_object_get(claims, "exp"));
        char exp_s[TIMESTAMP_MS_MAX], scopes_s[512];
        (void) timestamp_format_ms(exp * 1000, exp_s, sizeof exp_s);
        scopeset_format(set, scopes_s, sizeof scopes_s);

        if (json) {
                _cleanup_json_ json_t *o = json_pack("{s:s,s:s,s:I,s:s,s:o,s:O}", "token", token, "agent", agent,
                                                     "expires_at", (json_int_t) exp, "expires_at_iso", exp_s,
                                                     "scopes", scopeset_to_json(set), "claims", claims);
                _cleanup_free_ char *s = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
                if (!s)
                        return 1;
                printf("%s\n", s);
                return 0;
        }
        printf("%s\n", token);
        fprintf(stderr, "agent:   %s\nscopes:  %s\nexpires: %s\njti:     %s\n%s", agent, scopes_s, exp_s,
                json_string_value(json_object_get(claims, "jti")), break_glass ? "break-glass: yes\n" : "");
        return 0;
}

static int cmd_token_verify(int argc, char *argv[], const char *config_path) {
        enum { ARG_TOKEN = 0x100, ARG_SECRET, ARG_JSON };
        static const struct option options[] = {
                { "token", required_argument, NULL, ARG_TOKEN },
                { "secret-file", required_argument, NULL, ARG_SECRET },
                { "json", no_argument, NULL, ARG_JSON },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *secret_file = NULL;
        _cleanup_erase_ char *token = NULL;
        _cleanup_(config_done) Config cfg = {};
        bool json = false;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_TOKEN:
                        free(token);
                        token = strdup(optarg);
                        if (!token)
                                return 1;
                        break;
                case ARG_SECRET: secret_file = optarg; break;
                case ARG_JSON: json = true; break;
                case 'h': help_verify(); return 0;
                default: return EXIT_USAGE;
                }
        if (optind < argc) {
                fprintf(stderr, "systemmanagerctl: unexpected argument '%s'\n", argv[optind]);
                return EXIT_USAGE;
        }
        if (!token) {
                char buf[TOKEN_MAX + 2];
                size_t n = fread(buf, 1, sizeof buf - 1, stdin);
                buf[n] = 0;
                while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
                        buf[--n] = 0;
                if (n == 0) {
                        fprintf(stderr, "systemmanagerctl: no token: pass --token T or pipe it on stdin\n");
                        return EXIT_USAGE;
                }
                token = strdup(buf);
                OPENSSL_cleanse(buf, sizeof buf);
                if (!token)
                        return 1;
        }

        HmacKey *key = NULL;
        r = make_key(config_path, secret_file, &key, &cfg);
        if (r < 0)
                return 1;
        AuthConfig ac = { .mode = AUTH_MODE_REQUIRED, .max_token_bytes = cfg.auth_max_token_bytes,
                          .max_ttl_seconds = cfg.auth_max_ttl };
        Auth *auth = NULL;
        r = auth_new(&ac, key, &auth);
        if (r < 0) {
                hmac_key_free(key);
                return 1;
        }
        /* Revocations, when the token database can be read here. */
        TokenStore *store = NULL;
        if (config_finalize(&cfg, NULL) >= 0 && access(cfg.service_tokens_db, R_OK) == 0 &&
            tokenstore_open(cfg.service_tokens_db, &store) >= 0)
                auth_set_store(auth, store);

        _cleanup_identity_ Identity *id = NULL;
        const char *detail = NULL;
        AuthError e = auth_authenticate_token(auth, token, strlen(token), now_epoch(), &id, &detail);
        auth_free(auth);
        tokenstore_free(store);

        if (e != AUTH_OK) {
                if (json) {
                        _cleanup_json_ json_t *o = json_pack("{s:b,s:s,s:s,s:s}", "valid", 0, "code",
                                                             auth_error_code(e), "message", auth_error_message(e),
                                                             "detail", detail ? detail : "");
                        _cleanup_free_ char *s = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
                        if (s)
                                printf("%s\n", s);
                } else
                        fprintf(stderr, "invalid: %s (%s)%s%s\n", auth_error_message(e), auth_error_code(e),
                                detail ? ": " : "", detail ? detail : "");
                return 1;
        }

        _cleanup_json_ json_t *o = identity_to_json(id);
        if (!o)
                return 1;
        json_object_set_new(o, "valid", json_true());
        json_object_set_new(o, "revoked", json_false());
        if (json) {
                _cleanup_free_ char *s = json_dumps(o, JSON_INDENT(2));
                if (!s)
                        return 1;
                printf("%s\n", s);
                return 0;
        }
        char scopes_s[512], exp_s[TIMESTAMP_MS_MAX];
        scopeset_format(id->scopes, scopes_s, sizeof scopes_s);
        (void) timestamp_format_ms(id->expires_at * 1000, exp_s, sizeof exp_s);
        printf("valid:   yes\nagent:   %s\nscopes:  %s\nexpires: %s (in %llds)\njti:     %s\nrevoked: no\n",
               id->subject, scopes_s, exp_s, (long long) (id->expires_at - now_epoch()),
               id->token_id ? id->token_id : "-");
        return 0;
}

/* The audit log path: FILE argument, else the daemon configuration's. */
static int audit_path(const char *config_path, const char *arg, char **ret) {
        _cleanup_(config_done) Config cfg = {};
        int r;

        if (arg) {
                *ret = strdup(arg);
                return *ret ? 0 : -ENOMEM;
        }
        r = config_init_defaults(&cfg);
        if (r < 0)
                return r;
        const char *path = config_path;
        if (!path && access(DEFAULT_CONFIG, R_OK) == 0)
                path = DEFAULT_CONFIG;
        if (path && config_load_file(&cfg, path, stderr) < 0)
                return -EINVAL;
        if (config_apply_env(&cfg, environ, stderr) < 0 || config_finalize(&cfg, stderr) < 0)
                return -EINVAL;
        *ret = strdup(cfg.audit_file);
        return *ret ? 0 : -ENOMEM;
}

static int cmd_audit_verify(int argc, char *argv[], const char *config_path) {
        enum { ARG_KEY = 0x100, ARG_JSON };
        static const struct option options[] = {
                { "key", required_argument, NULL, ARG_KEY },
                { "json", no_argument, NULL, ARG_JSON },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *key_file = NULL;
        bool json = false;
        unsigned char key[32];
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_KEY: key_file = optarg; break;
                case ARG_JSON: json = true; break;
                case 'h':
                        printf("Usage: systemmanagerctl audit verify [FILE] [--key FILE] [--json]\n\n"
                               "Check the audit log's seq/prev hash chain and, with the initial sealing key\n"
                               "(<state_dir>/audit-initial.key, kept off-box), every checkpoint MAC.\n"
                               "Exit 0 intact and sealed, 1 tampered (names the first bad line), 2 intact but\n"
                               "with lines after the last checkpoint (unsealed tail).\n");
                        return 0;
                default: return EXIT_USAGE;
                }
        if (argc - optind > 1) {
                fprintf(stderr, "systemmanagerctl: audit verify takes one FILE\n");
                return EXIT_USAGE;
        }
        _cleanup_free_ char *path = NULL;
        if (audit_path(config_path, optind < argc ? argv[optind] : NULL, &path) < 0)
                return 1;

        if (key_file) {
                _cleanup_erase_ char *hex = NULL;
                r = read_file_secret(key_file, &hex);
                if (r < 0)
                        return 1;
                if (strlen(hex) != 64 || hex_decode(hex, 64, key, sizeof key) != 32) {
                        fprintf(stderr, "systemmanagerctl: %s does not hold a 64-hex-digit audit key\n", key_file);
                        return 1;
                }
        }

        AuditReport rep = {};
        r = audit_verify_file(path, key_file ? key : NULL, &rep);
        OPENSSL_cleanse(key, sizeof key);
        if (r < 0) {
                fprintf(stderr, "systemmanagerctl: cannot read %s: %s\n", path, strerror(-r));
                return 1;
        }
        static const char *const verdicts[] = { "intact", "tampered", "unsealed" };
        if (json) {
                _cleanup_json_ json_t *o = json_pack(
                        "{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:b}", "file", path, "verdict", verdicts[rep.verdict], "lines",
                        (json_int_t) rep.lines, "checkpoints", (json_int_t) rep.checkpoints, "checkpoints_verified",
                        (json_int_t) rep.checkpoints_verified, "unsealed_lines", (json_int_t) rep.unsealed_lines,
                        "torn_recovered", (json_int_t) rep.torn_recovered, "continues_previous",
                        rep.continues_previous);
                if (o && rep.verdict == AUDIT_TAMPERED) {
                        json_object_set_new(o, "first_bad_line", json_integer((json_int_t) rep.first_bad_line));
                        json_object_set_new(o, "reason", json_string(rep.reason));
                }
                _cleanup_free_ char *out = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
                if (out)
                        printf("%s\n", out);
        } else if (rep.verdict == AUDIT_TAMPERED)
                printf("%s: TAMPERED at line %llu: %s\n", path, (unsigned long long) rep.first_bad_line, rep.reason);
        else
                printf("%s: chain intact: %llu lines, %llu checkpoints (%llu verified with the key%s), "
                       "%llu unsealed line(s) at the end%s%s\n",
                       path, (unsigned long long) rep.lines, (unsigned long long) rep.checkpoints,
                       (unsigned long long) rep.checkpoints_verified, key_file ? "" : "; pass --key to verify",
                       (unsigned long long) rep.unsealed_lines,
                       rep.continues_previous ? "; continues a rotated file" : "",
                       rep.torn_recovered ? "; a crash-torn line was recovered" : "");
        return (int) rep.verdict;
}

static bool match_filter(json_t *j, const char *subject, const char *tool, const char *decision, const char *since) {
        const char *v;

        if (subject && (!(v = json_string_value(json_object_get(j, "subject"))) || !streq(v, subject)))
                return false;
        if (tool && (!(v = json_string_value(json_object_get(j, "tool"))) || !streq(v, tool)))
                return false;
        if (decision && (!(v = json_string_value(json_object_get(j, "decision"))) || !streq(v, decision)))
                return false;
        /* RFC 3339 UTC timestamps compare as strings. */
        if (since && (!(v = json_string_value(json_object_get(j, "ts"))) || strcmp(v, since) < 0))
                return false;
        return true;
}

static void print_record(json_t *j, bool json) {
        if (json) {
                _cleanup_free_ char *s = json_dumps(j, JSON_COMPACT);
                if (s)
                        printf("%s\n", s);
                return;
        }
        const char *f[] = { "ts", "event", "subject", "tool", "decision", "result_status", "error" };
        for (size_t i = 0; i < ELEMENTSOF(f); i++) {
                const char *v = json_string_value(json_object_get(j, f[i]));
                printf("%s%s", i ? "  " : "", v ? v : "-");
        }
        printf("\n");
}

static int cmd_audit_tail(int argc, char *argv[], const char *config_path) {
        enum { ARG_SUBJECT = 0x100, ARG_TOOL, ARG_DECISION, ARG_SINCE, ARG_JSON };
        static const struct option options[] = {
                { "lines", required_argument, NULL, 'n' },
                { "follow", no_argument, NULL, 'f' },
                { "subject", required_argument, NULL, ARG_SUBJECT },
                { "tool", required_argument, NULL, ARG_TOOL },
                { "decision", required_argument, NULL, ARG_DECISION },
                { "since", required_argument, NULL, ARG_SINCE },
                { "json", no_argument, NULL, ARG_JSON },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *subject = NULL, *tool = NULL, *decision = NULL, *since = NULL;
        bool follow = false, json = false;
        long lines = 10;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "n:fh", options, NULL)) >= 0)
                switch (c) {
                case 'n': {
                        char *end = NULL;
                        errno = 0;
                        lines = strtol(optarg, &end, 10);
                        if (errno || *end || lines < 0 || lines > 1000000) {
                                fprintf(stderr, "systemmanagerctl: -n takes a number from 0 to 1000000\n");
                                return EXIT_USAGE;
                        }
                        break;
                }
                case 'f': follow = true; break;
                case ARG_SUBJECT: subject = optarg; break;
                case ARG_TOOL: tool = optarg; break;
                case ARG_DECISION: decision = optarg; break;
                case ARG_SINCE: since = optarg; break;
                case ARG_JSON: json = true; break;
                case 'h':
                        printf("Usage: systemmanagerctl audit tail [FILE] [-n N] [-f] [--subject S] [--tool T]\n"
                               "                                   [--decision D] [--since RFC3339] [--json]\n\n"
                               "Print the last N matching audit records (default 10), and with -f keep\n"
                               "printing new ones.\n");
                        return 0;
                default: return EXIT_USAGE;
                }
        if (argc - optind > 1)
                return EXIT_USAGE;
        _cleanup_free_ char *path = NULL;
        if (audit_path(config_path, optind < argc ? argv[optind] : NULL, &path) < 0)
                return 1;
        FILE *f = fopen(path, "re");
        if (!f) {
                fprintf(stderr, "systemmanagerctl: cannot open %s: %s\n", path, strerror(errno));
                return 1;
        }

        /* A ring of the last N matches. */
        json_t **ring = calloc((size_t) lines + 1, sizeof(json_t *));
        size_t head = 0, count = 0;
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        if (!ring) {
                fclose(f);
                return 1;
        }
        while ((len = getline(&line, &cap, f)) > 0) {
                json_error_t e;
                json_t *j = json_loadb(line, (size_t) len, 0, &e);
                if (!j || !match_filter(j, subject, tool, decision, since) || lines == 0) {
                        json_decref(j);
                        continue;
                }
                json_decref(ring[head]);
                ring[head] = j;
                head = (head + 1) % (size_t) lines;
                if (count < (size_t) lines)
                        count++;
        }
        for (size_t i = 0; i < count; i++) {
                size_t k = (head + (size_t) lines - count + i) % (size_t) lines;
                print_record(ring[k], json);
        }
        for (long i = 0; i <= lines; i++)
                json_decref(ring[i]);
        free(ring);
        fflush(stdout);

        while (follow) {
                clearerr(f);
                len = getline(&line, &cap, f);
                if (len <= 0) {
                        usleep(200000);
                        continue;
                }
                json_error_t e;
                _cleanup_json_ json_t *j = json_loadb(line, (size_t) len, 0, &e);
                if (j && match_filter(j, subject, tool, decision, since)) {
                        print_record(j, json);
                        fflush(stdout);
                }
        }
        fclose(f);
        return 0;
}

/* Prints a REST/JSON-RPC answer and maps it to an exit code. */
static int print_answer(long status, const char *body, bool json) {
        json_error_t e;
        _cleanup_json_ json_t *j = json_loads(body, 0, &e);

        if (json || !j) {
                printf("%s\n", body);
                return status >= 200 && status < 300 ? 0 : 1;
        }
        json_t *err = json_object_get(j, "error");
        if (status < 200 || status >= 300 || (err && !json_is_null(err))) {
                const char *m = json_string_value(json_object_get(err, "message"));
                if (!m)
                        m = json_string_value(json_object_get(j, "message"));
                fprintf(stderr, "error (HTTP %ld): %s\n", status, m ? m : body);
                return 1;
        }
        _cleanup_free_ char *s = json_dumps(j, JSON_INDENT(2));
        printf("%s\n", s ? s : body);
        return 0;
}

static int cmd_approvals(int argc, char *argv[]) {
        enum { ARG_REASON = 0x100, ARG_JSON };
        static const struct option options[] = {
                { "reason", required_argument, NULL, ARG_REASON },
                { "json", no_argument, NULL, ARG_JSON },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *reason = NULL;
        bool json = false;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_REASON: reason = optarg; break;
                case ARG_JSON: json = true; break;
                case 'h':
                        printf("Usage: systemmanagerctl approvals list|show ID|approve ID [--reason R]|deny ID --reason R\n\n"
                               "Talks to the daemon (SYSTEMMANAGER_URL, SYSTEMMANAGER_TOKEN or the cli.yaml profile);\n"
                               "the token needs approvals:write and must not be the requester's.\n");
                        return 0;
                default: return EXIT_USAGE;
                }
        if (optind >= argc) {
                fprintf(stderr, "systemmanagerctl: approvals needs list, show, approve or deny\n");
                return EXIT_USAGE;
        }
        const char *verb = argv[optind], *id = optind + 1 < argc ? argv[optind + 1] : NULL;
        bool needs_id = !streq(verb, "list");
        if ((!streq(verb, "list") && !streq(verb, "show") && !streq(verb, "approve") && !streq(verb, "deny")) ||
            (needs_id && (!id || strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(id)))) {
                fprintf(stderr, "systemmanagerctl: usage: approvals list | show ID | approve ID | deny ID --reason R\n");
                return EXIT_USAGE;
        }
        if (streq(verb, "deny") && (!reason || !*reason)) {
                fprintf(stderr, "systemmanagerctl: deny needs --reason TEXT\n");
                return EXIT_USAGE;
        }

        CliTarget t;
        if (cli_target_load(&t) < 0)
                return 1;
        char path[128];
        _cleanup_free_ char *body = NULL;
        const char *method = "GET";
        if (streq(verb, "list"))
                snprintf(path, sizeof path, "/approvals");
        else if (streq(verb, "show"))
                snprintf(path, sizeof path, "/approvals/%s", id);
        else {
                snprintf(path, sizeof path, "/approvals/%s/%s", id, verb);
                method = "POST";
                _cleanup_json_ json_t *b = reason ? json_pack("{s:s}", "reason", reason) : json_object();
                body = b ? json_dumps(b, JSON_COMPACT) : NULL;
                if (!body) {
                        cli_target_done(&t);
                        return 1;
                }
        }
        long status = 0;
        _cleanup_free_ char *resp = NULL;
        r = cli_http(&t, method, path, body, &status, &resp);
        cli_target_done(&t);
        if (r < 0)
                return 1;

        if (!json && streq(verb, "list") && status == 200) {
                json_error_t e;
                _cleanup_json_ json_t *j = json_loads(resp, 0, &e);
                json_t *arr = json_object_get(j, "approvals");
                size_t i;
                json_t *a;

                printf("%-28s %-9s %-24s %-20s %s\n", "ID", "STATE", "TOOL", "REQUESTER", "EXPIRES");
                json_array_foreach(arr, i, a)
                        printf("%-28s %-9s %-24s %-20s %s\n", json_string_value(json_object_get(a, "id")),
                               json_string_value(json_object_get(a, "state")),
                               json_string_value(json_object_get(a, "tool")),
                               json_string_value(json_object_get(a, "requester")),
                               json_string_value(json_object_get(a, "expires_at")));
                return 0;
        }
        return print_answer(status, resp, json);
}

/* --arg k=v: v is JSON when it parses as JSON (numbers, true, [..]), else a string. */
static int add_arg(json_t *args, const char *kv) {
        const char *eq = strchr(kv, '=');
        json_error_t e;

        if (!eq || eq == kv)
                return -EINVAL;
        _cleanup_free_ char *key = strndup(kv, (size_t) (eq - kv));
        if (!key)
                return -ENOMEM;
        json_t *v = json_loads(eq + 1, JSON_DECODE_ANY, &e);
        if (!v)
                v = json_string(eq + 1);
        return json_object_set_new(args, key, v) < 0 ? -ENOMEM : 0;
}

static int cmd_call(int argc, char *argv[]) {
        enum { ARG_ARG = 0x100, ARG_JSONARGS, ARG_OUTJSON, ARG_APPROVAL };
        static const struct option options[] = {
                { "arg", required_argument, NULL, ARG_ARG },
                { "json", required_argument, NULL, ARG_JSONARGS },
                { "output-json", no_argument, NULL, ARG_OUTJSON },
                { "approval-id", required_argument, NULL, ARG_APPROVAL },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        _cleanup_json_ json_t *args = json_object();
        const char *approval = NULL;
        bool out_json = false;
        int c, r;

        if (!args)
                return 1;
        optind = 1;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_ARG:
                        if (add_arg(args, optarg) < 0) {
                                fprintf(stderr, "systemmanagerctl: --arg takes KEY=VALUE\n");
                                return EXIT_USAGE;
                        }
                        break;
                case ARG_JSONARGS: {
                        json_error_t e;
                        json_t *j = json_loads(optarg, JSON_REJECT_DUPLICATES, &e);
                        if (!json_is_object(j)) {
                                json_decref(j);
                                fprintf(stderr, "systemmanagerctl: --json needs a JSON object: %s\n", e.text);
                                return EXIT_USAGE;
                        }
                        json_object_update(args, j);
                        json_decref(j);
                        break;
                }
                case ARG_OUTJSON: out_json = true; break;
                case ARG_APPROVAL: approval = optarg; break;
                case 'h':
                        printf("Usage: systemmanagerctl call TOOL [--arg KEY=VALUE ...] [--json '{...}']\n"
                               "                              [--approval-id ID] [--output-json]\n\n"
                               "Call a tool over MCP and print its text (or, with --output-json, its structured\n"
                               "result). VALUE is JSON when it parses as JSON (5, true, [1,2]), else a string.\n"
                               "Exit 0 success, 1 tool or server error, 2 usage.\n");
                        return 0;
                default: return EXIT_USAGE;
                }
        if (optind + 1 != argc) {
                fprintf(stderr, "systemmanagerctl: call needs exactly one TOOL name (see --help)\n");
                return EXIT_USAGE;
        }

        _cleanup_json_ json_t *req = json_pack("{s:s,s:i,s:s,s:{s:s,s:O}}", "jsonrpc", "2.0", "id", 1, "method",
                                               "tools/call", "params", "name", argv[optind], "arguments", args);
        if (req && approval)
                json_object_set_new(json_object_get(req, "params"), "_meta", json_pack("{s:s}", "approval_id", approval));
        _cleanup_free_ char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
        if (!body)
                return 1;

        CliTarget t;
        if (cli_target_load(&t) < 0)
                return 1;
        long status = 0;
        _cleanup_free_ char *resp = NULL;
        r = cli_http(&t, "POST", "/mcp", body, &status, &resp);
        cli_target_done(&t);
        if (r < 0)
                return 1;

        json_error_t e;
        _cleanup_json_ json_t *j = json_loads(resp, 0, &e);
        json_t *err = json_object_get(j, "error");
        if (!j || err) {
                const char *m = json_string_value(json_object_get(err, "message"));
                fprintf(stderr, "error (HTTP %ld): %s\n", status, m ? m : resp);
                json_t *aid = json_object_get(json_object_get(err, "data"), "approval_id");
                if (json_is_string(aid))
                        fprintf(stderr, "approval: %s (after approval: systemmanagerctl call %s ... --approval-id %s)\n",
                                json_string_value(aid), argv[optind], json_string_value(aid));
                return 1;
        }
        json_t *res = json_object_get(j, "result");
        bool is_error = json_is_true(json_object_get(res, "isError"));
        if (out_json) {
                json_t *sc = json_object_get(res, "structuredContent");
                _cleanup_free_ char *s = json_dumps(sc ? sc : res, JSON_INDENT(2));
                printf("%s\n", s ? s : "null");
        } else {
                size_t i;
                json_t *item;
                json_array_foreach(json_object_get(res, "content"), i, item) {
                        const char *text = json_string_value(json_object_get(item, "text"));
                        if (text)
                                fprintf(is_error ? stderr : stdout, "%s%s", text,
                                        text[0] && text[strlen(text) - 1] == '\n' ? "" : "\n");
                }
        }
        return is_error ? 1 : 0;
}

static int open_store(const char *config_path, Config *cfg, TokenStore **ret) {
        int r = config_init_defaults(cfg);
        const char *path = config_path;

        if (!path && access(DEFAULT_CONFIG, R_OK) == 0)
                path = DEFAULT_CONFIG;
        if (r < 0 || (path && config_load_file(cfg, path, stderr) < 0) || config_apply_env(cfg, environ, stderr) < 0 ||
            config_finalize(cfg, stderr) < 0)
                return -EINVAL;
        r = tokenstore_open(cfg->service_tokens_db, ret);
        if (r < 0)
                fprintf(stderr, "systemmanagerctl: cannot open the token database %s: %s\n", cfg->service_tokens_db,
                        strerror(-r));
        return r;
}

static int parse_seconds(const char *s, int64_t *ret) {
        char *end = NULL;
        long long v;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno == 0 && end != s && *end == 0 && v >= 0 && v <= 10LL * 365 * 86400) {
                *ret = v;
                return 0;
        }
        return ttl_parse(s, ret);
}

/* token create|list|show|rotate for service tokens. */
static int cmd_service_token(const char *verb, int argc, char *argv[], const char *config_path) {
        enum { ARG_ID = 0x100, ARG_SCOPE, ARG_EXPIRES, ARG_OVERLAP, ARG_JSON };
        static const struct option options[] = {
                { "id", required_argument, NULL, ARG_ID },
                { "scope", required_argument, NULL, ARG_SCOPE },
                { "scopes", required_argument, NULL, ARG_SCOPE },
                { "expires-in", required_argument, NULL, ARG_EXPIRES },
                { "overlap", required_argument, NULL, ARG_OVERLAP },
                { "json", no_argument, NULL, ARG_JSON },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        _cleanup_free_ char *scopes = NULL;
        const char *id = NULL;
        int64_t expires = 0, overlap = 0;
        bool json = false;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_ID: id = optarg; break;
                case ARG_SCOPE: {
                        /* --scope may repeat; --scopes a,b works too. */
                        char *n = NULL;
                        if (asprintf(&n, "%s%s%s", scopes ? scopes : "", scopes ? "," : "", optarg) < 0)
                                return 1;
                        free(scopes);
                        scopes = n;
                        break;
                }
                case ARG_EXPIRES:
                        if (parse_seconds(optarg, &expires) < 0) {
                                fprintf(stderr, "systemmanagerctl: --expires-in takes seconds or 30m/2h/7d\n");
                                return EXIT_USAGE;
                        }
                        break;
                case ARG_OVERLAP:
                        if (parse_seconds(optarg, &overlap) < 0) {
                                fprintf(stderr, "systemmanagerctl: --overlap takes seconds or 30m/2h/7d\n");
                                return EXIT_USAGE;
                        }
                        break;
                case ARG_JSON: json = true; break;
                case 'h':
                        printf("Usage: systemmanagerctl token create --id ID --scope S [--scope S...] [--expires-in SECONDS]\n"
                               "       systemmanagerctl token list [--json]\n"
                               "       systemmanagerctl token show ID [--json]\n"
                               "       systemmanagerctl token rotate ID [--overlap SECONDS] [--expires-in SECONDS]\n"
                               "       systemmanagerctl token revoke ID --reason TEXT\n\n"
                               "Long-lived service tokens (smst_<id>_<secret>) for CI and services, stored hashed\n"
                               "in service_tokens.db. The secret is printed once, at create and rotate.\n");
                        return 0;
                default: return EXIT_USAGE;
                }
        if (!id && optind < argc)
                id = argv[optind++];
        if (optind < argc || (!streq(verb, "list") && !id) || (streq(verb, "create") && !scopes)) {
                fprintf(stderr, "systemmanagerctl: usage: token %s%s (see --help)\n", verb,
                        streq(verb, "create") ? " --id ID --scope S" : streq(verb, "list") ? "" : " ID");
                return EXIT_USAGE;
        }

        _cleanup_(config_done) Config cfg = {};
        TokenStore *store = NULL;
        if (open_store(config_path, &cfg, &store) < 0)
                return 1;

        int ret = 0;
        if (streq(verb, "create") || streq(verb, "rotate")) {
                _cleanup_erase_ char *tok = NULL;
                r = streq(verb, "create") ? tokenstore_service_create(store, id, scopes, expires, &tok)
                                          : tokenstore_service_rotate(store, id, overlap, expires, &tok);
                if (r < 0) {
                        fprintf(stderr, "systemmanagerctl: %s failed: %s\n", verb,
                                r == -EEXIST   ? "a token with that id exists (rotate or revoke it)"
                                : r == -ENOENT ? "no active service token with that id"
                                : r == -EINVAL ? "bad id ([a-z0-9][a-z0-9-]{0,31}) or unknown scope"
                                               : strerror(-r));
                        ret = 1;
                } else {
                        printf("%s\n", tok);
                        fprintf(stderr, "service token %s %s; the secret above is shown only now%s\n", id,
                                streq(verb, "create") ? "created" : "rotated",
                                overlap > 0 ? " (the previous secret stays valid for the overlap)" : "");
                }
        } else {
                _cleanup_json_ json_t *j = tokenstore_service_json(store, streq(verb, "list") ? NULL : id);
                if (!j) {
                        fprintf(stderr, "systemmanagerctl: no service token %s\n", id);
                        ret = 1;
                } else if (json || streq(verb, "show")) {
                        _cleanup_free_ char *out = json_dumps(j, JSON_INDENT(2));
                        printf("%s\n", out ? out : "null");
                } else {
                        size_t i;
                        json_t *o;
                        printf("%-24s %-8s %-12s %-12s %s\n", "ID", "STATE", "EXPIRES", "LAST USED", "SCOPES");
                        json_array_foreach(j, i, o) {
                                char e[32] = "-", u[32] = "-";
                                json_t *ea = json_object_get(o, "expires_at"), *lu = json_object_get(o, "last_used_at");
                                if (ea)
                                        snprintf(e, sizeof e, "%lld", (long long) json_integer_value(ea));
                                if (lu)
                                        snprintf(u, sizeof u, "%lld", (long long) json_integer_value(lu));
                                printf("%-24s %-8s %-12s %-12s %s\n", json_string_value(json_object_get(o, "id")),
                                       json_string_value(json_object_get(o, "state")), e, u,
                                       json_string_value(json_object_get(o, "scopes")));
                        }
                }
        }
        tokenstore_free(store);
        return ret;
}

static int cmd_token_revoke(int argc, char *argv[], const char *config_path) {
        enum { ARG_JTI = 0x100, ARG_AGENT, ARG_TOKEN, ARG_REASON, ARG_SECRET };
        static const struct option options[] = {
                { "jti", required_argument, NULL, ARG_JTI },
                { "agent", required_argument, NULL, ARG_AGENT },
                { "token", required_argument, NULL, ARG_TOKEN },
                { "reason", required_argument, NULL, ARG_REASON },
                { "secret-file", required_argument, NULL, ARG_SECRET },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *jti = NULL, *agent = NULL, *token = NULL, *reason = NULL, *secret_file = NULL;
        _cleanup_(config_done) Config cfg = {};
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_JTI: jti = optarg; break;
                case ARG_AGENT: agent = optarg; break;
                case ARG_TOKEN: token = optarg; break;
                case ARG_REASON: reason = optarg; break;
                case ARG_SECRET: secret_file = optarg; break;
                case 'h':
                        printf("Usage: systemmanagerctl token revoke --jti ID | --agent NAME | --token T [--reason TEXT]\n"
                               "       systemmanagerctl token revoke SERVICE-TOKEN-ID --reason TEXT\n\n"
                               "Revoke one token (by jti, or by giving the token itself), or every token of an agent\n"
                               "issued until now. Written to the token database (service_tokens.db) that the\n"
                               "running daemon reads: effective at its next request, without rotating the secret.\n"
                               "Recorded in the audit log as token.revoked.\n");
                        return 0;
                default: return EXIT_USAGE;
                }
        const char *service_id = optind < argc ? argv[optind] : NULL;
        if (!!jti + !!agent + !!token + !!service_id != 1 || optind + (service_id ? 1 : 0) < argc) {
                fprintf(stderr, "systemmanagerctl: give exactly one of --jti, --agent, --token or a service-token ID "
                                "(see --help)\n");
                return EXIT_USAGE;
        }
        if (service_id && (!reason || !*reason)) {
                fprintf(stderr, "systemmanagerctl: revoking a service token needs --reason TEXT\n");
                return EXIT_USAGE;
        }

        int64_t expires = 0;
        if (token) {
                HmacKey *key = NULL;
                if (make_key(config_path, secret_file, &key, &cfg) < 0)
                        return 1;
                _cleanup_identity_ Identity *id = NULL;
                const char *detail = NULL;
                AuthError e = hmac_token_verify(key, token, strlen(token), now_epoch(), &id, &detail);
                hmac_key_free(key);
                if (e != AUTH_OK || !id->token_id) {
                        fprintf(stderr, "systemmanagerctl: not a valid token with a jti (%s%s%s); use --jti or --agent\n",
                                auth_error_message(e), detail ? ": " : "", detail ? detail : "");
                        return 1;
                }
                jti = strdupa(id->token_id);
                expires = id->expires_at;
        } else {
                r = config_init_defaults(&cfg);
                const char *path = config_path;
                if (!path && access(DEFAULT_CONFIG, R_OK) == 0)
                        path = DEFAULT_CONFIG;
                if (r < 0 || (path && config_load_file(&cfg, path, stderr) < 0) ||
                    config_apply_env(&cfg, environ, stderr) < 0)
                        return 1;
        }
        if (config_finalize(&cfg, stderr) < 0)
                return 1;

        TokenStore *store = NULL;
        r = tokenstore_open(cfg.service_tokens_db, &store);
        if (r < 0) {
                fprintf(stderr, "systemmanagerctl: cannot open the token database %s: %s\n", cfg.service_tokens_db,
                        strerror(-r));
                return 1;
        }
        char by[64];
        snprintf(by, sizeof by, "systemmanagerctl (uid %u)", (unsigned) getuid());
        r = service_id ? tokenstore_service_revoke(store, service_id, reason)
            : agent    ? tokenstore_revoke_agent(store, agent, now_epoch(), reason, by)
                       : tokenstore_revoke_jti(store, jti, expires, reason, by);
        if (r == -ENOENT) {
                fprintf(stderr, "systemmanagerctl: no active service token %s\n", service_id);
                tokenstore_free(store);
                return 1;
        }
        tokenstore_free(store);
        if (r < 0) {
                fprintf(stderr, "systemmanagerctl: failed to record the revocation: %s\n", strerror(-r));
                return 1;
        }

        /* Into the same chain the daemon writes (appends are flock'ed). */
        Audit *audit = NULL;
        if (audit_open(cfg.audit_file, &audit) >= 0) {
                _cleanup_json_ json_t *f = json_pack("{s:s,s:s}", "subject", by, "approver", by);
                if (f && service_id)
                        json_object_set_new(f, "token_id", json_string(service_id));
                else if (f && agent)
                        json_object_set_new(f, "agent", json_string(agent));
                else if (f)
                        json_object_set_new(f, "token_id", json_string(jti));
                if (f && reason)
                        json_object_set_new(f, "reason", json_string(reason));
                if (audit_append(audit, "token.revoked", f, true, NULL) < 0)
                        fprintf(stderr, "systemmanagerctl: warning: revoked, but the audit record failed\n");
                audit_close(audit);
        } else
                fprintf(stderr, "systemmanagerctl: warning: revoked, but the audit log %s is not writable here\n",
                        cfg.audit_file);

        if (service_id)
                printf("revoked service token %s\n", service_id);
        else if (agent)
                printf("revoked every token of agent %s issued until now\n", agent);
        else
                printf("revoked token %s\n", jti);
        return 0;
}

/* base64url of a BIGNUM-ish byte string for JWKs. */
static char *b64u(const unsigned char *d, size_t n) {
        char *out = NULL;
        return base64url_encode_alloc(d, n, 4096, &out) < 0 ? NULL : out;
}

static json_t *public_jwk(EVP_PKEY *k, const char *kid) {
        json_t *j = NULL;
        unsigned char buf[1024];
        size_t n;

        if (EVP_PKEY_is_a(k, "RSA")) {
                BIGNUM *nb = NULL, *eb = NULL;
                if (!EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &nb) ||
                    !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &eb))
                        return NULL;
                unsigned char nbuf[1024], ebuf[16];
                int nl = BN_bn2bin(nb, nbuf), el = BN_bn2bin(eb, ebuf);
                _cleanup_free_ char *ns = b64u(nbuf, (size_t) nl), *es = b64u(ebuf, (size_t) el);
                BN_free(nb);
                BN_free(eb);
                j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "kty", "RSA", "kid", kid, "use", "sig", "alg", "RS256", "n",
                              ns ? ns : "", "e", es ? es : "");
        } else if (EVP_PKEY_is_a(k, "EC")) {
                /* Uncompressed point 04 || x || y. */
                if (!EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof buf, &n) || n != 65)
                        return NULL;
                _cleanup_free_ char *x = b64u(buf + 1, 32), *y = b64u(buf + 33, 32);
                j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-256", "kid", kid, "use", "sig", "alg",
                              "ES256", "x", x ? x : "", "y", y ? y : "");
        } else {
                n = sizeof buf;
                if (EVP_PKEY_get_raw_public_key(k, buf, &n) != 1)
                        return NULL;
                _cleanup_free_ char *x = b64u(buf, n);
                j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "kty", "OKP", "crv", "Ed25519", "kid", kid, "use", "sig", "alg",
                              "EdDSA", "x", x ? x : "");
        }
        return j;
}

static int cmd_keygen(int argc, char *argv[]) {
        enum { ARG_HMAC = 0x100, ARG_RSA, ARG_EC, ARG_ED, ARG_OUT, ARG_KID };
        static const struct option options[] = {
                { "hmac", no_argument, NULL, ARG_HMAC },
                { "rsa", no_argument, NULL, ARG_RSA },
                { "ec", no_argument, NULL, ARG_EC },
                { "ed25519", no_argument, NULL, ARG_ED },
                { "out", required_argument, NULL, ARG_OUT },
                { "kid", required_argument, NULL, ARG_KID },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int kind = 0, c;
        const char *out = NULL, *kid = NULL;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_HMAC: case ARG_RSA: case ARG_EC: case ARG_ED:
                        if (kind) {
                                fprintf(stderr, "systemmanagerctl: choose one of --hmac, --rsa, --ec, --ed25519\n");
                                return EXIT_USAGE;
                        }
                        kind = c;
                        break;
                case ARG_OUT: out = optarg; break;
                case ARG_KID: kid = optarg; break;
                case 'h':
                        printf("Usage: systemmanagerctl keygen --hmac|--rsa|--ec|--ed25519 [--out FILE] [--kid ID]\n\n"
                               "--hmac writes a 256-bit secret (64 hex characters) for auth.shared_secret_file or\n"
                               "jwt.secret_file. --rsa (3072 bits), --ec (P-256) and --ed25519 write a private key\n"
                               "(PEM) and print the public JWKS for jwt.jwks_file. Files are created mode 600 and\n"
                               "never overwritten. Default FILE: ./systemmanager-<kind>.key\n");
                        return 0;
                default: return EXIT_USAGE;
                }
        if (!kind || optind < argc) {
                fprintf(stderr, "systemmanagerctl: keygen needs one of --hmac, --rsa, --ec, --ed25519 (see --help)\n");
                return EXIT_USAGE;
        }
        const char *name = kind == ARG_HMAC ? "hmac" : kind == ARG_RSA ? "rsa" : kind == ARG_EC ? "ec" : "ed25519";
        char def[64];
        snprintf(def, sizeof def, "systemmanager-%s.key", name);
        if (!out)
                out = def;

        _cleanup_close_ int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
                fprintf(stderr, "systemmanagerctl: cannot create %s: %s%s\n", out, strerror(errno),
                        errno == EEXIST ? " (refusing to overwrite a key)" : "");
                return 1;
        }

        if (kind == ARG_HMAC) {
                unsigned char raw[32];
                char hex[66];
                if (RAND_bytes(raw, sizeof raw) != 1)
                        return 1;
                hex_encode(raw, sizeof raw, hex, sizeof hex);
                hex[64] = '\n';
                bool ok = write(fd, hex, 65) == 65;
                OPENSSL_cleanse(raw, sizeof raw);
                OPENSSL_cleanse(hex, sizeof hex);
                if (!ok) {
                        unlink(out);
                        return 1;
                }
                fprintf(stderr, "wrote a 256-bit secret to %s (mode 600)\n", out);
                return 0;
        }

        EVP_PKEY *k = kind == ARG_RSA ? EVP_RSA_gen(3072)
                      : kind == ARG_EC ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
                                       : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        FILE *f = k ? fdopen(TAKE_FD(fd), "w") : NULL;
        if (!k || !f || PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) != 1) {
                if (f)
                        fclose(f);
                EVP_PKEY_free(k);
                unlink(out);
                fprintf(stderr, "systemmanagerctl: key generation failed\n");
                return 1;
        }
        fclose(f);
        _cleanup_json_ json_t *jwk = public_jwk(k, kid ? kid : name);
        EVP_PKEY_free(k);
        _cleanup_json_ json_t *jwks = jwk ? json_pack("{s:[O]}", "keys", jwk) : NULL;
        _cleanup_free_ char *s2 = jwks ? json_dumps(jwks, JSON_INDENT(2)) : NULL;
        if (!s2)
                return 1;
        printf("%s\n", s2);
        fprintf(stderr, "wrote the private key to %s (mode 600); the public JWKS is above (for jwt.jwks_file)\n", out);
        return 0;
}

/* HS256 JWT with SYSTEMMANAGER_JWT_SECRET / jwt.secret(_file). */
static int mint_jwt(const Config *cfg, const char *agent, char **scope_list, int64_t ttl, const char *aud,
                    char **ret) {
        _cleanup_erase_ char *secret = NULL;
        if (cfg->jwt_secret)
                secret = strdup(cfg->jwt_secret);
        else if (cfg->jwt_secret_file) {
                if (read_file_secret(cfg->jwt_secret_file, &secret) < 0)
                        return -EACCES;
        }
        if (!secret || strlen(secret) < 32) {
                fprintf(stderr, "systemmanagerctl: --format jwt needs an HS256 key of at least 32 bytes: set "
                                "SYSTEMMANAGER_JWT_SECRET or jwt.secret_file\n");
                return -ENOKEY;
        }
        int64_t now = now_epoch();
        unsigned char rnd[16];
        char jti[33];
        if (RAND_bytes(rnd, sizeof rnd) != 1)
                return -EIO;
        hex_encode(rnd, sizeof rnd, jti, sizeof jti);
        _cleanup_json_ json_t *scopes = json_array();
        for (char **sc = scope_list; sc && *sc; sc++)
                json_array_append_new(scopes, json_string(*sc));
        _cleanup_json_ json_t *claims = json_pack("{s:s,s:O,s:I,s:I,s:s}", "sub", agent, "scopes", scopes, "iat",
                                                  (json_int_t) now, "exp", (json_int_t) (now + ttl), "jti", jti);
        if (claims && (aud || cfg->jwt_audience))
                json_object_set_new(claims, "aud", json_string(aud ? aud : cfg->jwt_audience));
        if (claims && cfg->jwt_issuer)
                json_object_set_new(claims, "iss", json_string(cfg->jwt_issuer));
        _cleanup_free_ char *hdr = NULL, *pay = NULL, *cs = claims ? json_dumps(claims, JSON_COMPACT) : NULL;
        const char *h = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
        if (!cs || base64url_encode_alloc(h, strlen(h), 1024, &hdr) < 0 ||
            base64url_encode_alloc(cs, strlen(cs), 16384, &pay) < 0)
                return -ENOMEM;
        _cleanup_free_ char *input = NULL;
        if (asprintf(&input, "%s.%s", hdr, pay) < 0)
                return -ENOMEM;
        unsigned char mac[32];
        unsigned int ml = sizeof mac;
        if (!HMAC(EVP_sha256(), secret, (int) strlen(secret), (const unsigned char *) input, strlen(input), mac, &ml))
                return -EIO;
        _cleanup_free_ char *sig = b64u(mac, sizeof mac);
        if (!sig || asprintf(ret, "%s.%s", input, sig) < 0)
                return -ENOMEM;
        return 0;
}

int main(int argc, char *argv[]) {
        const char *config_path = NULL;
        int i = 1;

        /* Global options come before the command. */
        while (i < argc && argv[i][0] == '-') {
                if (streq(argv[i], "-h") || streq(argv[i], "--help")) {
                        help_main();
                        return 0;
                }
                if (streq(argv[i], "--version")) {
                        printf("systemmanagerctl %s\n", SM_VERSION);
                        return 0;
                }
                if ((streq(argv[i], "-c") || streq(argv[i], "--config")) && i + 1 < argc) {
                        config_path = argv[i + 1];
                        i += 2;
                        continue;
                }
                fprintf(stderr, "systemmanagerctl: unknown option '%s'. Try --help.\n", argv[i]);
                return EXIT_USAGE;
        }
        if (i >= argc) {
                help_main();
                return EXIT_USAGE;
        }

        if (streq(argv[i], "token") && (i + 1 >= argc || streq(argv[i + 1], "--help") || streq(argv[i + 1], "-h"))) {
                printf("Usage: systemmanagerctl token mint|verify [OPTIONS]\n\n"
                       "  mint     Mint a short-lived HMAC bearer token (see 'token mint --help')\n"
                       "  verify   Check a token and print its claims (see 'token verify --help')\n");
                return i + 1 >= argc ? EXIT_USAGE : 0;
        }
        if (streq(argv[i], "token") && i + 1 < argc) {
                if (streq(argv[i + 1], "mint"))
                        return cmd_token_mint(argc - i - 1, argv + i + 1, config_path);
                if (streq(argv[i + 1], "verify"))
                        return cmd_token_verify(argc - i - 1, argv + i + 1, config_path);
                if (streq(argv[i + 1], "revoke"))
                        return cmd_token_revoke(argc - i - 1, argv + i + 1, config_path);
                if (streq(argv[i + 1], "create") || streq(argv[i + 1], "list") || streq(argv[i + 1], "show") ||
                    streq(argv[i + 1], "rotate"))
                        return cmd_service_token(argv[i + 1], argc - i - 1, argv + i + 1, config_path);
        }
        if (streq(argv[i], "keygen"))
                return cmd_keygen(argc - i, argv + i);
        if (streq(argv[i], "approvals"))
                return cmd_approvals(argc - i, argv + i);
        if (streq(argv[i], "call"))
                return cmd_call(argc - i, argv + i);
        if (streq(argv[i], "audit") && i + 1 < argc) {
                if (streq(argv[i + 1], "verify"))
                        return cmd_audit_verify(argc - i - 1, argv + i + 1, config_path);
                if (streq(argv[i + 1], "tail"))
                        return cmd_audit_tail(argc - i - 1, argv + i + 1, config_path);
        }
        fprintf(stderr, "systemmanagerctl: unknown command '%s%s%s'. Try --help.\n", argv[i], i + 1 < argc ? " " : "",
                i + 1 < argc ? argv[i + 1] : "");
        return EXIT_USAGE;
}
