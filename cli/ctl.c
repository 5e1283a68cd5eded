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
               "  --format hmac         Token format (only hmac for now)\n"
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

static int cmd_token_mint(int argc, char *argv[], const char *config_path) {
        enum { ARG_AGENT = 0x100, ARG_SCOPES, ARG_TTL, ARG_AUD, ARG_REASON, ARG_AUTO, ARG_FORMAT, ARG_SECRET,
               ARG_JSON };
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
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *agent = NULL, *scopes = NULL, *ttl = "30d", *aud = NULL, *reason = NULL, *secret_file = NULL;
        bool auto_approve = false, json = false;
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
                case ARG_SECRET: secret_file = optarg; break;
                case ARG_JSON: json = true; break;
                case ARG_FORMAT:
                        if (!streq(optarg, "hmac")) {
                                fprintf(stderr, "systemmanagerctl: --format %s is not available yet; use hmac\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
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

        TokenMintParams p = {
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

        _cleanup_identity_ Identity *id = NULL;
        const char *detail = NULL;
        AuthError e = auth_authenticate_token(auth, token, strlen(token), now_epoch(), &id, &detail);
        auth_free(auth);

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
        }
        fprintf(stderr, "systemmanagerctl: unknown command '%s%s%s'. Try --help.\n", argv[i], i + 1 < argc ? " " : "",
                i + 1 < argc ? argv[i + 1] : "");
        return EXIT_USAGE;
}
