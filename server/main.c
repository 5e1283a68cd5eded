/* SPDX-License-Identifier: MIT */
/* systemmanager-mcp: the daemon. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <systemd/sd-daemon.h>

#include "common/cleanup.h"
#include "common/encoding.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "server/config.h"
#include "server/httpd.h"
#include "server/mcp.h"
#include "server/server.h"
#include "scopes/approvals.h"
#include "server/stdio.h"
#include "tools/tool.h"

extern char **environ;

#define DEFAULT_CONFIG "/etc/systemmanager/config.yaml"

static enum { MODE_SERVE, MODE_STDIO, MODE_CHECK, MODE_DUMP_REFERENCE } arg_mode = MODE_SERVE;
static const char *arg_config = NULL;
static bool arg_dev = false;

static Server *sig_server = NULL;
static Httpd *sig_httpd = NULL;
static atomic_bool exited = false;

static void help(void) {
        printf("Usage: systemmanager-mcp [OPTIONS]\n"
               "\n"
               "MCP server that lets agents inspect and manage this host through scoped tools.\n"
               "\n"
               "Options:\n"
               "  -c, --config FILE        Configuration file (default " DEFAULT_CONFIG ", used if present)\n"
               "      --dev                Development mode: state under ./var/, 127.0.0.1:8080, generated\n"
               "                           secret; prints a readonly token and client commands\n"
               "      --stdio              Serve MCP over stdin/stdout; identity from SYSTEMMANAGER_TOKEN\n"
               "      --check-config       Validate the configuration (file and environment) and exit\n"
               "      --dump-config-reference  Print the configuration reference (Markdown) and exit\n"
               "      --version            Print the version and exit\n"
               "  -h, --help               Show this help\n"
               "\n"
               "Every setting has an environment override, e.g. SYSTEMMANAGER_SERVER_PORT=9090,\n"
               "SYSTEMMANAGER_SHARED_SECRET, SYSTEMMANAGER_AUDIT_LOG, SYSTEMMANAGER_STATE_DIR.\n"
               "See docs/configuration.md. Mint tokens with: systemmanagerctl token mint --help\n");
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_DEV = 0x100, ARG_STDIO, ARG_CHECK, ARG_VERSION, ARG_DUMP };
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "dev", no_argument, NULL, ARG_DEV },
                { "stdio", no_argument, NULL, ARG_STDIO },
                { "check-config", no_argument, NULL, ARG_CHECK },
                { "dump-config-reference", no_argument, NULL, ARG_DUMP },
                { "version", no_argument, NULL, ARG_VERSION },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "c:h", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        arg_config = optarg;
                        break;
                case ARG_DEV:
                        arg_dev = true;
                        break;
                case ARG_STDIO:
                        arg_mode = MODE_STDIO;
                        break;
                case ARG_CHECK:
                        arg_mode = MODE_CHECK;
                        break;
                case ARG_DUMP:
                        arg_mode = MODE_DUMP_REFERENCE;
                        break;
                case ARG_VERSION:
                        printf("systemmanager-mcp %s\n", SM_VERSION);
                        return 0;
                case 'h':
                        help();
                        return 0;
                default:
                        fprintf(stderr, "Try 'systemmanager-mcp --help'.\n");
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "systemmanager-mcp: unexpected argument '%s'. Try --help.\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

static int set_string(char **field, const char *value) {
        char *v = value ? strdup(value) : NULL;

        if (value && !v)
                return -ENOMEM;
        free(*field);
        *field = v;
        return 0;
}

/* --dev: everything under ./var, a generated secret (mode 0600). */
static int dev_defaults(Config *c) {
        char cwd[PATH_MAX], path[PATH_MAX + 32];
        int r;

        if (!getcwd(cwd, sizeof cwd))
                return log_error_errno(errno, "Failed to get the working directory: %m");
        snprintf(path, sizeof path, "%s/var", cwd);
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create %s: %m", path);
        r = set_string(&c->state_dir, path);
        if (r < 0)
                return r;

        snprintf(path, sizeof path, "%s/var/audit.log", cwd);
        r = set_string(&c->audit_file, path);
        if (r < 0)
                return r;

        snprintf(path, sizeof path, "%s/var/secret", cwd);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd >= 0) {
                unsigned char raw[32];
                char hex[65];

                if (RAND_bytes(raw, sizeof raw) != 1)
                        return log_error_errno(EIO, "Failed to generate a secret");
                hex_encode(raw, sizeof raw, hex, sizeof hex);
                hex[64] = '\n';
                if (write(fd, hex, 65) != 65)
                        return log_error_errno(errno, "Failed to write %s: %m", path);
                OPENSSL_cleanse(raw, sizeof raw);
                OPENSSL_cleanse(hex, sizeof hex);
                log_info("Generated a new secret in %s", path);
        } else if (errno != EEXIST)
                return log_error_errno(errno, "Failed to create %s: %m", path);
        r = set_string(&c->auth_shared_secret_file, path);
        if (r < 0)
                return r;
        return set_string(&c->server_host, "127.0.0.1");
}

static int load_config(Config *c) {
        int r;

        r = config_init_defaults(c);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the configuration: %m");
        if (arg_dev) {
                r = dev_defaults(c);
                if (r < 0)
                        return r;
        }

        const char *path = arg_config;
        if (!path && !arg_dev && access(DEFAULT_CONFIG, F_OK) == 0)
                path = DEFAULT_CONFIG;
        if (path) {
                r = config_load_file(c, path, stderr);
                if (r == -EINVAL)
                        return log_error_errno(r, "Configuration %s has errors (listed above)", path);
                if (r < 0)
                        return log_error_errno(r, "Failed to read configuration %s: %m", path);
        }
        r = config_apply_env(c, environ, stderr);
        if (r < 0)
                return log_error_errno(r, "Invalid environment settings (listed above)");
        r = config_finalize(c, stderr);
        if (r < 0)
                return log_error_errno(r, "Invalid configuration (listed above)");
        return 0;
}

static void *signal_thread(void *userdata) {
        sigset_t *set = userdata;

        for (;;) {
                int sig = 0;

                if (sigwait(set, &sig) != 0)
                        continue;
                if (sig == SIGHUP) {
                        if (sig_server && sig_server->audit) {
                                int r = audit_reopen(sig_server->audit);
                                if (r < 0)
                                        log_error_errno(r, "Failed to reopen the audit log: %m");
                                else
                                        log_info("Reopened the audit log");
                        }
                        continue;
                }
                /* SIGTERM/SIGINT: stop taking work, let the loop drain. A second one exits at once. */
                if (sig_server && atomic_exchange(&sig_server->stopping, true)) {
                        log_warning("Second stop signal: exiting without draining");
                        _exit(1);
                }
                log_info("Received %s, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
                while (!atomic_load(&exited)) {
                        if (sig_httpd)
                                httpd_wake(sig_httpd);
                        stdio_wake();
                        usleep(50000);
                }
                return NULL;
        }
}

static int mint_dev_token(const Config *c, char **ret_token, int64_t *ret_exp) {
        _cleanup_erase_ char *secret = NULL;
        _cleanup_close_ int fd = -1;
        HmacKey *k = NULL;
        char buf[4097];
        ssize_t n;
        int r;

        fd = open(c->auth_shared_secret_file, O_RDONLY | O_CLOEXEC);
        if (c->auth_shared_secret)
                secret = strdup(c->auth_shared_secret);
        else {
                if (fd < 0)
                        return -errno;
                n = read(fd, buf, sizeof buf - 1);
                if (n < 0)
                        return -errno;
                while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
                        n--;
                buf[n] = 0;
                secret = strdup(buf);
                OPENSSL_cleanse(buf, sizeof buf);
        }
        if (!secret)
                return -ENOMEM;
        r = hmac_key_new(secret, strlen(secret), &k);
        if (r < 0)
                return r;

        static const char *const scopes[] = { "readonly", NULL };
        TokenMintParams p = {
                .agent = "dev-readonly",
                .scopes = scopes,
                .ttl_seconds = 24 * 3600,
        };
        _cleanup_json_ json_t *claims = NULL;
        r = hmac_token_mint(k, &p, ret_token, &claims);
        hmac_key_free(k);
        if (r < 0)
                return r;
        *ret_exp = json_integer_value(json_object_get(claims, "exp"));
        return 0;
}

static void print_dev_banner(const Config *c, const char *listen_desc) {
        _cleanup_erase_ char *token = NULL;
        char exp[TIMESTAMP_MS_MAX];
        int64_t e = 0;
        int r;

        r = mint_dev_token(c, &token, &e);
        if (r < 0) {
                log_error_errno(r, "Failed to mint the dev token: %m");
                return;
        }
        (void) timestamp_format_ms(e * 1000, exp, sizeof exp);

        /* systemmanagerctl sits next to us in a build tree; by name when installed. */
        char self[PATH_MAX], ctlpath[PATH_MAX + 32];
        const char *ctl = "systemmanagerctl";
        ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
        if (sl > 0) {
                self[sl] = 0;
                char *slash = strrchr(self, '/');
                if (slash) {
                        *slash = 0;
                        snprintf(ctlpath, sizeof ctlpath, "%s/systemmanagerctl", self);
                        if (access(ctlpath, X_OK) == 0 && strncmp(self, "/usr/", 5) != 0)
                                ctl = ctlpath;
                }
        }

        /* scripts/dev.sh keeps a Node 22 under var/node for the Inspector. */
        char nodebin[PATH_MAX + 16], prefix[PATH_MAX + 64];
        const char *node22 = NULL;
        snprintf(nodebin, sizeof nodebin, "%s/node/bin/node", c->state_dir);
        if (access(nodebin, X_OK) == 0) {
                snprintf(prefix, sizeof prefix, "PATH=%s/node/bin:$PATH ", c->state_dir);
                node22 = prefix;
        }

        printf("\n"
               "systemmanager-mcp %s (dev mode) listening on http://%s/mcp\n"
               "  state: %s   audit log: %s\n"
               "\n"
               "Readonly token (agent dev-readonly, expires %s):\n"
               "\n"
               "  export TOKEN='%s'\n"
               "\n"
               "Try it (in another terminal, after the export above):\n"
               "\n"
               "  curl -s http://%s:%d/mcp -H \"Authorization: Bearer $TOKEN\" \\\n"
               "    -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \\\n"
               "    -d '{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"get_system_status\",\"arguments\":{}}}'\n"
               "\n"
               "  %snpx -y @modelcontextprotocol/inspector@2.12.0 --cli http://%s:%d/mcp --transport http \\\n"
               "    --method tools/list --header \"Authorization: Bearer $TOKEN\"%s\n"
               "\n"
               "Mint other tokens: %s token mint --agent NAME --scopes readonly --ttl 1h "
               "--secret-file %s\n"
               "Stop with Ctrl-C.\n\n",
               SM_VERSION, listen_desc, c->state_dir, c->audit_file, exp, token, c->server_host, c->server_port,
               node22 ? node22 : "", c->server_host, c->server_port,
               node22 ? "" : "\n  (the Inspector needs Node >= 22)", ctl,
               c->auth_shared_secret_file ? c->auth_shared_secret_file : "FILE");
        fflush(stdout);
}

static int audit_server_event(Server *s, const char *event, const char *listen) {
        _cleanup_json_ json_t *f = json_pack("{s:s,s:i}", "version", SM_VERSION, "pid", (int) getpid());

        if (f && listen)
                json_object_set_new(f, "listen", json_string(listen));
        return audit_append(s->audit, event, f, true, NULL);
}

static int run_stdio(Server *s) {
        const char *token = getenv("SYSTEMMANAGER_TOKEN");
        _cleanup_identity_ Identity *id = NULL;
        const char *detail = NULL;
        AuthError e;

        e = auth_authenticate_token(s->auth, token, token ? strlen(token) : 0, now_epoch(), &id, &detail);
        if (e != AUTH_OK) {
                Peer peer = { .ip = "local", .transport = TRANSPORT_STDIO };
                mcp_audit_auth_failure(s, &peer, e, detail, token, token ? strlen(token) : 0);
                return log_error_errno(EACCES, "--stdio: %s%s%s. Set SYSTEMMANAGER_TOKEN to a token minted with "
                                               "'systemmanagerctl token mint'",
                                       auth_error_message(e), detail ? ": " : "", detail ? detail : "");
        }
        log_info("Serving MCP on stdio for %s", id->subject);
        (void) audit_server_event(s, "server.start", "stdio");
        int r = stdio_run(s, id, STDIN_FILENO, STDOUT_FILENO);
        (void) audit_server_event(s, "server.stop", "stdio");
        (void) audit_seal(s->audit);
        return r;
}

static int run(int argc, char *argv[]) {
        _cleanup_(config_done) Config config = {};
        Server server = {};
        Httpd *httpd = NULL;
        pthread_t sigthread;
        sigset_t set;
        char *err = NULL;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r;

        if (arg_mode == MODE_DUMP_REFERENCE) {
                config_dump_reference(stdout);
                return 0;
        }

        r = load_config(&config);
        if (r < 0)
                return r;
        if (arg_mode == MODE_CHECK) {
                printf("Configuration OK\n");
                return 0;
        }

        r = tool_registry_init(&err);
        if (r < 0) {
                log_error("Tool registry self-test failed: %s", err ? err : "unknown");
                free(err);
                return r;
        }

        /* Signals go to one thread; every other thread (lws, workers) blocks them. */
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        signal(SIGPIPE, SIG_IGN);

        r = server_init(&server, &config);
        if (r < 0) {
                server_done(&server);
                return r;
        }
        sig_server = &server;
        if (pthread_create(&sigthread, NULL, signal_thread, &set) != 0) {
                server_done(&server);
                return log_error_errno(EAGAIN, "Failed to start the signal thread");
        }
        pthread_detach(sigthread);

        if (arg_mode == MODE_STDIO) {
                r = run_stdio(&server);
                atomic_store(&exited, true);
                server_done(&server);
                return r;
        }

        /* Pending approvals survive a restart (the network daemon only: a
         * --stdio process sharing the state directory must not overwrite it). */
        {
                _cleanup_free_ char *apath = NULL;
                unsigned loaded = 0;

                if (asprintf(&apath, "%s/approvals.json", config.state_dir) < 0) {
                        server_done(&server);
                        return log_error_errno(ENOMEM, "Out of memory");
                }
                r = approval_store_persist(server.approvals, apath, &loaded);
                if (r == -EBADMSG) {
                        _cleanup_free_ char *bad = NULL;
                        if (asprintf(&bad, "%s.corrupt", apath) >= 0 && rename(apath, bad) >= 0)
                                log_warning("%s is not a saved approval store; moved it to %s and started empty",
                                            apath, bad);
                        r = approval_store_persist(server.approvals, apath, &loaded);
                }
                if (r < 0) {
                        atomic_store(&exited, true);
                        server_done(&server);
                        return log_error_errno(r, "Failed to keep approvals in %s: %m (check the state directory)",
                                               apath);
                }
                if (loaded > 0)
                        log_info("Loaded %u approval record(s) from %s", loaded, apath);
        }

        r = httpd_new(&server, &httpd);
        if (r < 0) {
                atomic_store(&exited, true);
                server_done(&server);
                return r;
        }
        sig_httpd = httpd;

        (void) audit_server_event(&server, "server.start", httpd->listen_desc);
        log_info("systemmanager-mcp %s listening on %s", SM_VERSION, httpd->listen_desc);
        if (arg_dev)
                print_dev_banner(&config, httpd->listen_desc);

        (void) sd_notifyf(0, "READY=1\nSTATUS=Listening on %s", httpd->listen_desc);
        r = httpd_run(httpd);
        (void) sd_notify(0, "STOPPING=1\nSTATUS=Draining in-flight calls");

        /* Workers first (their last replies still target the outbox), then the front. */
        server.pool = worker_pool_free(server.pool);
        atomic_store(&exited, true);
        sig_httpd = NULL;
        httpd = httpd_free(httpd);
        (void) audit_server_event(&server, "server.stop", NULL);
        (void) audit_seal(server.audit);
        server_done(&server);
        log_info("Stopped");
        return r;
}

int main(int argc, char *argv[]) {
        int r = run(argc, argv);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
