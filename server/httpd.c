/* SPDX-License-Identifier: MIT */
/* The libwebsockets context, listeners, the loop, and helpers shared by the
 * HTTP and WebSocket protocols. */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <libwebsockets.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "server/httpd.h"

static const struct lws_protocols *const protocols_list[] = {
        &httpd_protocol_http,
        &httpd_protocol_mcp,
        NULL,
};

static struct lws_protocols protocols[3];

Httpd *httpd_from_wsi(struct lws *wsi) {
        struct lws_context *ctx = lws_get_context(wsi);

        return ctx ? lws_context_user(ctx) : NULL;
}

void httpd_connection_destroyed(struct lws *wsi) {
        Httpd *h = lws_get_opaque_user_data(wsi);

        /* Only accepted connections carry the mark (set at instantiation). */
        if (h && h == httpd_from_wsi(wsi)) {
                h->n_connections--;
                lws_set_opaque_user_data(wsi, NULL);
        }
}

void httpd_peer(struct lws *wsi, Transport t, Peer *ret) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd;

        *ret = (Peer) { .transport = t };
        fd = lws_get_socket_fd(wsi);
        if (fd < 0 || getpeername(fd, (struct sockaddr *) &ss, &sl) < 0) {
                snprintf(ret->ip, sizeof ret->ip, "unknown");
                return;
        }
        if (ss.ss_family == AF_INET) {
                struct sockaddr_in *sin = (struct sockaddr_in *) &ss;
                inet_ntop(AF_INET, &sin->sin_addr, ret->ip, sizeof ret->ip);
                ret->port = ntohs(sin->sin_port);
        } else if (ss.ss_family == AF_INET6) {
                struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &ss;
                if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
                        inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], ret->ip, sizeof ret->ip);
                else
                        inet_ntop(AF_INET6, &sin6->sin6_addr, ret->ip, sizeof ret->ip);
                ret->port = ntohs(sin6->sin6_port);
        } else
                snprintf(ret->ip, sizeof ret->ip, "unix");
}

int httpd_header(struct lws *wsi, int idx, char *buf, size_t size) {
        int n = lws_hdr_total_length(wsi, (enum lws_token_indexes) idx);

        if (n <= 0 || (size_t) n >= size)
                return n == 0 ? -1 : (n < 0 ? -1 : -1);
        if (lws_hdr_copy(wsi, buf, (int) size, (enum lws_token_indexes) idx) < 0)
                return -1;
        return n;
}

int httpd_header_custom(struct lws *wsi, const char *name, char *buf, size_t size) {
        int nlen = (int) strlen(name);
        int n = lws_hdr_custom_length(wsi, name, nlen);

        if (n < 0 || (size_t) n >= size)
                return -1;
        if (lws_hdr_custom_copy(wsi, buf, (int) size, name, nlen) < 0)
                return -1;
        return n;
}

static bool host_is_loopback(const char *host, size_t len) {
        /* host without port; IPv6 in brackets */
        if (len == 9 && strncasecmp(host, "localhost", 9) == 0)
                return true;
        if (len == 5 && strncmp(host, "[::1]", 5) == 0)
                return true;
        if (len >= 4 && strncmp(host, "127.", 4) == 0) {
                char tmp[32];
                struct in_addr a;

                if (len >= sizeof tmp)
                        return false;
                memcpy(tmp, host, len);
                tmp[len] = 0;
                return inet_pton(AF_INET, tmp, &a) == 1;
        }
        return false;
}

/* Splits "host[:port]" (IPv6 in brackets) and returns the host length. */
static size_t host_part(const char *hp) {
        if (hp[0] == '[') {
                const char *e = strchr(hp, ']');
                return e ? (size_t) (e - hp + 1) : strlen(hp);
        }
        const char *c = strchr(hp, ':');
        return c ? (size_t) (c - hp) : strlen(hp);
}

int httpd_check_origin(struct lws *wsi, Httpd *h, char *msg, size_t msgsize) {
        char origin[512], host[300];
        int n;

        /* DNS rebinding: a loopback-only server answers only to loopback names. */
        if (h->loopback_only && httpd_header(wsi, WSI_TOKEN_HOST, host, sizeof host) > 0 &&
            !host_is_loopback(host, host_part(host))) {
                snprintf(msg, msgsize,
                         "Forbidden: Host '%.100s' is not allowed on a loopback listener (DNS rebinding protection)",
                         host);
                return -EPERM;
        }

        n = httpd_header(wsi, WSI_TOKEN_ORIGIN, origin, sizeof origin);
        if (n < 0) {
                if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0) {
                        snprintf(msg, msgsize, "Forbidden: Origin header too long");
                        return -EPERM;
                }
                return 0; /* not a browser: nothing to check */
        }

        for (char **a = h->srv->config->server_allowed_origins; a && *a; a++)
                if (streq(*a, "*") || strcasecmp(*a, origin) == 0)
                        return 0;

        /* Loopback origins are always fine: the page already runs on this host. */
        const char *rest = NULL;
        if (strncasecmp(origin, "http://", 7) == 0)
                rest = origin + 7;
        else if (strncasecmp(origin, "https://", 8) == 0)
                rest = origin + 8;
        if (rest && !strchr(rest, '/') && host_is_loopback(rest, host_part(rest)))
                return 0;

        snprintf(msg, msgsize,
                 "Forbidden: Origin '%.200s' is not allowed (add it to server.allowed_origins to permit it)", origin);
        return -EPERM;
}

const char *httpd_www_authenticate(struct lws *wsi, Httpd *h, AuthError e, const char *scopes, char *buf,
                                   size_t size) {
        char host[256] = "", meta[400] = "";

        /* RFC 9728 §5.1: point clients at the resource metadata. The Host
         * header is echoed only when it is a plain host[:port]. */
        if (httpd_header(wsi, WSI_TOKEN_HOST, host, sizeof host) > 0 &&
            strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") == strlen(host))
                snprintf(meta, sizeof meta, ", resource_metadata=\"%s://%s/.well-known/oauth-protected-resource\"",
                         h->srv->config->server_tls_cert ? "https" : "http", host);

        switch (e) {
        case AUTH_ERR_MISSING_TOKEN:
                snprintf(buf, size, "Bearer realm=\"systemmanager\"%s", meta);
                return buf;
        case AUTH_ERR_INSUFFICIENT_SCOPE:
        case AUTH_ERR_AUDIENCE_MISMATCH:
                snprintf(buf, size,
                         "Bearer realm=\"systemmanager\", error=\"insufficient_scope\", "
                         "error_description=\"%s\"%s%s%s%s",
                         auth_error_message(e), scopes ? ", scope=\"" : "", scopes ? scopes : "",
                         scopes ? "\"" : "", meta);
                return buf;
        default:
                snprintf(buf, size,
                         "Bearer realm=\"systemmanager\", error=\"invalid_token\", error_description=\"%s\"%s",
                         auth_error_message(e), meta);
                return buf;
        }
}

AuthError httpd_authenticate(struct lws *wsi, Httpd *h, const Peer *peer, bool allow_query, Identity **ret,
                             const char **ret_detail, unsigned *ret_retry_after) {
        Server *srv = h->srv;
        size_t max = srv->config->auth_max_token_bytes + 64;
        _cleanup_erase_ char *hdr = NULL;
        int n;

        *ret_detail = NULL;
        *ret_retry_after = 0;

        /* Checked before any parsing or crypto: a client that keeps failing costs nothing. */
        if (ratelimit_blocked(srv->rl_ip, peer->ip, now_usec(), ret_retry_after)) {
                *ret_detail = "too many failed authentications from this address";
                mcp_audit_auth_failure(srv, peer, AUTH_ERR_RATE_LIMITED_IP, *ret_detail, NULL, 0);
                return AUTH_ERR_RATE_LIMITED_IP;
        }
        n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
        if (n > 0) {
                if ((size_t) n > max) {
                        *ret_detail = "token exceeds auth.max_token_bytes";
                        ratelimit_fail(srv->rl_ip, peer->ip, now_usec());
                        mcp_audit_auth_failure(srv, peer, AUTH_ERR_INVALID_TOKEN, *ret_detail, NULL, 0);
                        return AUTH_ERR_INVALID_TOKEN;
                }
                hdr = malloc((size_t) n + 1);
                if (!hdr || lws_hdr_copy(wsi, hdr, n + 1, WSI_TOKEN_HTTP_AUTHORIZATION) < 0)
                        return AUTH_ERR_INVALID_TOKEN;
        } else if (allow_query) {
                const char *names[] = { "access_token=", "token=" };

                /* Query tokens end up in proxies' logs: only when configured. */
                for (size_t i = 0; i < ELEMENTSOF(names) && !hdr; i++) {
                        _cleanup_erase_ char *v = malloc(max + 1);
                        if (!v)
                                return AUTH_ERR_INVALID_TOKEN;
                        const char *p = lws_get_urlarg_by_name(wsi, names[i], v, (int) max);
                        if (p && *p) {
                                size_t l = strlen(p);
                                hdr = malloc(l + 8);
                                if (!hdr)
                                        return AUTH_ERR_INVALID_TOKEN;
                                memcpy(hdr, "Bearer ", 7);
                                memcpy(hdr + 7, p, l + 1);
                        }
                }
        }

        AuthError e;
        char apikey[1100];
        if (!hdr && httpd_header_custom(wsi, "x-api-key:", apikey, sizeof apikey) > 0) {
                /* X-API-Key, when no Authorization header came. */
                e = auth_authenticate_api_key(srv->auth, apikey, strlen(apikey), ret, ret_detail);
                if (e == AUTH_OK && (*ret)->subject &&
                    ratelimit_blocked(srv->rl_identity, (*ret)->subject, now_usec(), ret_retry_after)) {
                        *ret = identity_unref(*ret);
                        e = AUTH_ERR_RATE_LIMITED_IDENTITY;
                }
                if (e != AUTH_OK) {
                        ratelimit_fail(srv->rl_ip, peer->ip, now_usec());
                        mcp_audit_auth_failure(srv, peer, e, *ret_detail, apikey, strlen(apikey));
                }
                OPENSSL_cleanse(apikey, sizeof apikey);
                return e;
        }
        e = auth_authenticate_header(srv->auth, hdr, now_epoch(), ret, ret_detail);
        if (e != AUTH_OK) {
                const char *tok = hdr && strlen(hdr) > 7 ? hdr + 7 : NULL;
                ratelimit_fail(srv->rl_ip, peer->ip, now_usec());
                mcp_audit_auth_failure(srv, peer, e, *ret_detail, tok, tok ? strlen(tok) : 0);
                return e;
        }
        if ((*ret)->subject && ratelimit_blocked(srv->rl_identity, (*ret)->subject, now_usec(), ret_retry_after)) {
                *ret = identity_unref(*ret);
                *ret_detail = "too many denied calls for this identity";
                mcp_audit_auth_failure(srv, peer, AUTH_ERR_RATE_LIMITED_IDENTITY, *ret_detail, NULL, 0);
                return AUTH_ERR_RATE_LIMITED_IDENTITY;
        }
        return e;
}

int httpd_write_simple(struct lws *wsi, int status, const char *content_type, const char *body, size_t len,
                       const char *www_authenticate) {
        unsigned char buf[LWS_PRE + 2048], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;

        if (len > 1024)
                len = 1024;
        if (lws_add_http_common_headers(wsi, (unsigned) status, content_type, len, &p, end))
                return -1;
        if (www_authenticate &&
            lws_add_http_header_by_name(wsi, (const unsigned char *) "www-authenticate:",
                                        (const unsigned char *) www_authenticate, (int) strlen(www_authenticate),
                                        &p, end))
                return -1;
        if (lws_add_http_header_by_name(wsi, (const unsigned char *) "connection:", (const unsigned char *) "close",
                                        5, &p, end))
                return -1;
        if (lws_finalize_http_header(wsi, &p, end))
                return -1;
        /* A rejected handshake: headers and body go out together, then lws closes. */
        memcpy(p, body, len);
        p += len;
        if (lws_write(wsi, start, (size_t) (p - start), LWS_WRITE_HTTP_HEADERS) < 0)
                return -1;
        return 0;
}

static void httpd_wake_cb(void *userdata) {
        Httpd *h = userdata;

        if (h->ctx)
                lws_cancel_service(h->ctx);
}

void httpd_wake(Httpd *h) {
        httpd_wake_cb(h);
}

static void lws_log_bridge(int level, const char *line) {
        size_t n = strlen(line);

        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                n--;
        if (level & LLL_ERR)
                log_error("lws: %.*s", (int) n, line);
        else if (level & LLL_WARN)
                log_warning("lws: %.*s", (int) n, line);
        else
                log_debug("lws: %.*s", (int) n, line);
}

static bool address_is_loopback(const char *host) {
        if (!host)
                return false;
        return host_is_loopback(host, strlen(host)) || streq(host, "::1");
}

int httpd_new(Server *srv, Httpd **ret) {
        Config *cfg = srv->config;
        struct lws_context_creation_info info = {};
        _cleanup_free_ Httpd *h = NULL;
        char desc[300];
        int r;

        if (cfg->server_port == 0 && !cfg->server_unix_socket)
                return log_error_errno(EINVAL, "No listener configured: set server.port (1-65535) or "
                                               "server.unix_socket (or use --stdio)");

        h = calloc(1, sizeof *h);
        if (!h)
                return log_error_errno(ENOMEM, "Out of memory");
        h->srv = srv;

        for (size_t i = 0; protocols_list[i]; i++)
                protocols[i] = *protocols_list[i];
        protocols[2] = (struct lws_protocols) {};

        r = outbox_new(httpd_wake_cb, h, &h->outbox);
        if (r < 0)
                return log_error_errno(r, "Failed to create outbox: %m");

        if (getenv("SM_LWS_DEBUG"))
                log_set_max_level(LOG_LEVEL_DEBUG);
        lws_set_log_level(getenv("SM_LWS_DEBUG") ? 0xfff : (LLL_ERR | LLL_WARN), lws_log_bridge);

        info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_VALIDATE_UTF8;
        info.user = h;
        info.max_http_header_data = (unsigned short) (cfg->server_max_header_bytes > 65535
                                                              ? 65535
                                                              : cfg->server_max_header_bytes);
        info.max_http_header_pool = (unsigned short) (cfg->server_max_connections > 1024 ? 1024
                                                                                      : cfg->server_max_connections);
        info.timeout_secs = (unsigned) cfg->server_header_timeout;
        info.timeout_secs_ah_idle = (unsigned) cfg->server_header_timeout; /* slowloris: headers must complete */
        info.keepalive_timeout = cfg->server_idle_timeout;
        info.fd_limit_per_thread = (unsigned) cfg->server_max_connections + 64;
        info.pt_serv_buf_size = 16384;
        info.count_threads = 1;

        h->ctx = lws_create_context(&info);
        if (!h->ctx) {
                outbox_free(h->outbox);
                return log_error_errno(EIO, "Failed to create the libwebsockets context");
        }

        h->loopback_only = true;
        desc[0] = 0;

        if (cfg->server_port > 0) {
                struct lws_context_creation_info v = info;

                v.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
                /* An IPv4 address gets an IPv4 socket, not a dual-stack one. */
                {
                        struct in_addr a4;
                        if (inet_pton(AF_INET, cfg->server_host, &a4) == 1)
                                v.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
                }
                v.port = cfg->server_port;
                v.iface = cfg->server_host;
                v.protocols = protocols;
                v.vhost_name = "tcp";
                if (cfg->server_tls_cert && cfg->server_tls_key) {
                        v.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
                        v.ssl_cert_filepath = cfg->server_tls_cert;
                        v.ssl_private_key_filepath = cfg->server_tls_key;
                }
                if (!address_is_loopback(cfg->server_host))
                        h->loopback_only = false;
                if (!lws_create_vhost(h->ctx, &v)) {
                        lws_context_destroy(h->ctx);
                        outbox_free(h->outbox);
                        return log_error_errno(EADDRINUSE,
                                               "Failed to listen on %s:%d (is another instance running? set "
                                               "server.port or SYSTEMMANAGER_SERVER_PORT)",
                                               cfg->server_host, cfg->server_port);
                }
                snprintf(desc, sizeof desc, "%s:%d", cfg->server_host, cfg->server_port);
        }

        if (cfg->server_unix_socket) {
                struct lws_context_creation_info v = info;

                v.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_UNIX_SOCK;
                v.port = 0;
                v.iface = cfg->server_unix_socket;
                v.protocols = protocols;
                v.vhost_name = "unix";
                (void) unlink(cfg->server_unix_socket);
                if (!lws_create_vhost(h->ctx, &v)) {
                        lws_context_destroy(h->ctx);
                        outbox_free(h->outbox);
                        return log_error_errno(EADDRINUSE, "Failed to listen on unix socket %s",
                                               cfg->server_unix_socket);
                }
                size_t l = strlen(desc);
                snprintf(desc + l, sizeof desc - l, "%sunix:%s", l ? " and " : "", cfg->server_unix_socket);
        }

        h->listen_desc = strdup(desc);
        *ret = TAKE_PTR(h);
        return 0;
}

Httpd *httpd_free(Httpd *h) {
        if (!h)
                return NULL;
        if (h->ctx)
                lws_context_destroy(h->ctx);
        /* Items for connections that are gone: finish them for the accounting. */
        mcp_outbox_dispatch(h->srv, h->outbox);
        outbox_free(h->outbox);
        free(h->listen_desc);
        free(h);
        return NULL;
}

int httpd_run(Httpd *h) {
        Server *srv = h->srv;
        int64_t deadline = 0, flush_until = 0;

        for (;;) {
                if (lws_service(h->ctx, 0) < 0)
                        break;

                if (!atomic_load(&srv->stopping))
                        continue;

                int64_t now = now_usec();
                if (deadline == 0) {
                        deadline = now + (int64_t) srv->config->server_shutdown_timeout * 1000000;
                        log_info("Stopping: draining %ld in-flight call(s)", atomic_load(&srv->active_calls));
                }
                /* WebSocket peers get a 1001 close once their replies are out (ws.c). */
                lws_callback_on_writable_all_protocol(h->ctx, &protocols[1]);
                if (atomic_load(&srv->active_calls) == 0) {
                        /* Give the last replies a moment to leave the socket buffers. */
                        if (flush_until == 0)
                                flush_until = now + 200000;
                        if (now >= flush_until)
                                break;
                } else if (now >= deadline) {
                        log_warning("Shutdown timeout: %ld call(s) still running, exiting anyway",
                                    atomic_load(&srv->active_calls));
                        break;
                }
        }
        return 0;
}
