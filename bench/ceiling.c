/* SPDX-License-Identifier: MIT */
/* The benchmark's ceilings: a minimal libwebsockets 4.1.6 program answering
 * POST /mcp with a JSON-RPC result, single service thread, same write pattern
 * as the daemon (headers with lws_finalize_write_http_header, then the body
 * with LWS_WRITE_HTTP_FINAL, keep-alive via lws_http_transaction_completed).
 *
 *   ceiling --port N --mode fixed        transport ceiling: a fixed answer,
 *                                        the request body is read and ignored
 *   ceiling --port N --mode essentials   "essentials ceiling": parses the
 *        request with jansson, verifies the origin-format HMAC bearer token
 *        (base64url(JSON) "." hex(HMAC-SHA256(secret, that string)), secret
 *        from BENCH_SECRET, expiry checked), builds the tools/call result
 *        (text content + structuredContent, sysinfo()/loadavg figures) with
 *        jansson and dumps it.
 *
 * With BENCH_TOOLS_JSON=FILE (a saved tools/list response of the daemon),
 * tools/list answers with that same tool list, so both ceilings serialise as
 * many bytes as the daemon: essentials re-dumps it with jansson per request,
 * fixed sends it pre-serialised (fixed picks the answer by a strstr for
 * "tools/list" in the body). Without it, tools/list lists one small tool.
 *
 * GET /healthz answers 200 (readiness probe for bench/run.sh). */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libwebsockets.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#define BODY_MAX 65536

static bool essentials = false;
static volatile sig_atomic_t interrupted = 0;
static EVP_MAC_CTX *mac_ctx; /* pre-keyed; re-initialised per token (single service thread) */
static char hostname_buf[256];
static json_t *tools_list; /* BENCH_TOOLS_JSON: result.tools of the daemon */
static char *fixed_list_answer;
static size_t fixed_list_len;

static const char fixed_answer[] =
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":\"text\",\"text\":"
        "\"{\\\"hostname\\\":\\\"vm\\\",\\\"uptime_seconds\\\":1234.5,\\\"load_average\\\":{\\\"1m\\\":0.1,"
        "\\\"5m\\\":0.2,\\\"15m\\\":0.3},\\\"cpu\\\":{\\\"count\\\":2},\\\"memory\\\":{\\\"total_bytes\\\":"
        "25276502016,\\\"free_bytes\\\":24686936064}}\"}],\"structuredContent\":{\"hostname\":\"vm\","
        "\"uptime_seconds\":1234.5,\"load_average\":{\"1m\":0.1,\"5m\":0.2,\"15m\":0.3},\"cpu\":{\"count\":2},"
        "\"memory\":{\"total_bytes\":25276502016,\"free_bytes\":24686936064}},\"isError\":false}}";

struct pss {
        char *body;
        size_t body_len;
        bool overflow;
        bool is_post;
        int status;
        char auth[1024];
        size_t auth_len;
        unsigned char *resp; /* LWS_PRE + payload */
        size_t resp_len;
        bool resp_owned;
};

/* --- essentials --------------------------------------------------------- */

static int b64url_val(int c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '-')
                return 62;
        if (c == '_')
                return 63;
        return -1;
}

static ssize_t b64url_decode(const char *in, size_t len, unsigned char *out, size_t out_max) {
        uint32_t acc = 0;
        int bits = 0;
        size_t n = 0;

        for (size_t i = 0; i < len; i++) {
                int v = b64url_val((unsigned char) in[i]);
                if (v < 0)
                        return -1;
                acc = (acc << 6) | (uint32_t) v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        if (n >= out_max)
                                return -1;
                        out[n++] = (unsigned char) (acc >> bits);
                }
        }
        return (ssize_t) n;
}

static int hexval(int c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

/* 0 = valid, -1 = invalid */
static int verify_bearer(const char *hdr, size_t len) {
        unsigned char mac[32], want[32], claims_raw[4096];
        const char *tok, *dot;
        size_t tlen, blen, maclen = 0;
        ssize_t clen;

        if (len < 7 || strncasecmp(hdr, "Bearer ", 7) != 0)
                return -1;
        tok = hdr + 7;
        tlen = len - 7;
        dot = memchr(tok, '.', tlen);
        if (!dot)
                return -1;
        blen = (size_t) (dot - tok);
        if (tlen - blen - 1 != 64)
                return -1;
        for (size_t i = 0; i < 32; i++) {
                int hi = hexval((unsigned char) dot[1 + 2 * i]), lo = hexval((unsigned char) dot[2 + 2 * i]);
                if (hi < 0 || lo < 0)
                        return -1;
                want[i] = (unsigned char) (hi << 4 | lo);
        }
        if (!EVP_MAC_init(mac_ctx, NULL, 0, NULL) || !EVP_MAC_update(mac_ctx, (const unsigned char *) tok, blen) ||
            !EVP_MAC_final(mac_ctx, mac, &maclen, sizeof mac) || maclen != 32)
                return -1;
        if (CRYPTO_memcmp(mac, want, 32) != 0)
                return -1;
        clen = b64url_decode(tok, blen, claims_raw, sizeof claims_raw);
        if (clen < 0)
                return -1;
        json_error_t err;
        json_t *claims = json_loadb((const char *) claims_raw, (size_t) clen, JSON_REJECT_DUPLICATES, &err);
        if (!claims || !json_is_object(claims)) {
                json_decref(claims);
                return -1;
        }
        json_t *exp = json_object_get(claims, "exp");
        int r = (json_is_integer(exp) && json_integer_value(exp) + 30 >= (json_int_t) time(NULL)) ? 0 : -1;
        json_decref(claims);
        return r;
}

static json_t *system_status(void) {
        struct sysinfo si;
        double la[3] = {};

        sysinfo(&si);
        getloadavg(la, 3);
        return json_pack("{s:s, s:f, s:{s:f, s:f, s:f}, s:{s:I}, s:{s:I, s:I, s:I, s:f}}",
                         "hostname", hostname_buf,
                         "uptime_seconds", (double) si.uptime,
                         "load_average", "1m", la[0], "5m", la[1], "15m", la[2],
                         "cpu", "count", (json_int_t) get_nprocs(),
                         "memory", "total_bytes", (json_int_t) si.totalram * si.mem_unit,
                         "free_bytes", (json_int_t) si.freeram * si.mem_unit,
                         "used_bytes", (json_int_t) (si.totalram - si.freeram) * si.mem_unit,
                         "usage_percent", si.totalram ? 100.0 * (double) (si.totalram - si.freeram) / (double) si.totalram : 0.0);
}

static char *rpc_error(json_t *id, int code, const char *msg) {
        json_t *o = json_pack("{s:s, s:O?, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id, "error", "code", code,
                              "message", msg);
        char *s = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        return s;
}

/* Returns a malloc'd JSON answer; *status gets the HTTP status. */
static char *essentials_answer(struct pss *p, int *status) {
        json_error_t err;
        json_t *req, *id, *method, *params, *name;
        char *out;

        *status = 200;
        if (verify_bearer(p->auth, p->auth_len) < 0) {
                *status = 401;
                return strdup("{\"error\":\"auth.invalid_token\"}");
        }
        req = json_loadb(p->body, p->body_len, JSON_REJECT_DUPLICATES, &err);
        if (!req || !json_is_object(req)) {
                json_decref(req);
                *status = 400;
                return rpc_error(NULL, -32700, "Parse error");
        }
        id = json_object_get(req, "id");
        method = json_object_get(req, "method");
        params = json_object_get(req, "params");
        if (!json_is_string(method)) {
                out = rpc_error(id, -32600, "Invalid Request");
        } else if (strcmp(json_string_value(method), "tools/call") == 0) {
                name = json_object_get(params, "name");
                if (!json_is_string(name) || strcmp(json_string_value(name), "get_system_status") != 0) {
                        out = rpc_error(id, -32602, "Unknown tool");
                } else {
                        json_t *s = system_status();
                        char *text = json_dumps(s, JSON_COMPACT);
                        json_t *resp = json_pack("{s:s, s:O, s:{s:[{s:s, s:s}], s:o, s:b}}", "jsonrpc", "2.0",
                                                 "id", id, "result", "content", "type", "text", "text", text,
                                                 "structuredContent", s, "isError", 0);
                        free(text);
                        out = json_dumps(resp, JSON_COMPACT);
                        json_decref(resp);
                }
        } else if (strcmp(json_string_value(method), "tools/list") == 0 && tools_list) {
                json_t *resp = json_pack("{s:s, s:O, s:{s:O}}", "jsonrpc", "2.0", "id", id, "result", "tools",
                                         tools_list);
                out = json_dumps(resp, JSON_COMPACT);
                json_decref(resp);
        } else if (strcmp(json_string_value(method), "tools/list") == 0) {
                json_t *resp = json_pack(
                        "{s:s, s:O, s:{s:[{s:s, s:s, s:s, s:{s:s, s:b, s:{}}}]}}", "jsonrpc", "2.0", "id", id,
                        "result", "tools", "name", "get_system_status", "title", "System status", "description",
                        "Host overview", "inputSchema", "type", "object", "additionalProperties", 0, "properties");
                out = json_dumps(resp, JSON_COMPACT);
                json_decref(resp);
        } else {
                out = rpc_error(id, -32601, "Method not found");
        }
        json_decref(req);
        return out;
}

/* --- lws ---------------------------------------------------------------- */

static void pss_reset(struct pss *p) {
        if (p->resp_owned)
                free(p->resp);
        p->resp = NULL;
        p->resp_len = 0;
        p->resp_owned = false;
        p->body_len = 0;
        p->overflow = false;
        p->auth_len = 0;
}

static int set_response(struct pss *p, int status, const char *payload, size_t len) {
        p->resp = malloc(LWS_PRE + len);
        if (!p->resp)
                return -1;
        memcpy(p->resp + LWS_PRE, payload, len);
        p->resp_len = len;
        p->resp_owned = true;
        p->status = status;
        return 0;
}

static int callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
        struct pss *p = user;

        if (!p)
                return lws_callback_http_dummy(wsi, reason, user, in, len);
        switch (reason) {
        case LWS_CALLBACK_HTTP: {
                const char *uri = in;
                pss_reset(p);
                p->is_post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
                if (!p->is_post) {
                        if (uri && strcmp(uri, "/healthz") == 0) {
                                set_response(p, 200, "{\"status\":\"ok\"}", 15);
                        } else {
                                set_response(p, 405, "{}", 2);
                        }
                        lws_callback_on_writable(wsi);
                        return 0;
                }
                if (essentials) {
                        int n = lws_hdr_copy(wsi, p->auth, sizeof p->auth, WSI_TOKEN_HTTP_AUTHORIZATION);
                        p->auth_len = n > 0 ? (size_t) n : 0;
                }
                return 0; /* wait for the body */
        }
        case LWS_CALLBACK_HTTP_BODY:
                if (!p->body) {
                        p->body = malloc(BODY_MAX);
                        if (!p->body)
                                return -1;
                }
                if (p->body_len + len > BODY_MAX) {
                        p->overflow = true;
                        return 0;
                }
                memcpy(p->body + p->body_len, in, len);
                p->body_len += len;
                return 0;
        case LWS_CALLBACK_HTTP_BODY_COMPLETION:
                if (p->overflow) {
                        set_response(p, 413, "{}", 2);
                } else if (!essentials) {
                        if (fixed_list_answer && p->body_len > 0 &&
                            memmem(p->body, p->body_len, "\"tools/list\"", 12))
                                set_response(p, 200, fixed_list_answer, fixed_list_len);
                        else
                                set_response(p, 200, fixed_answer, sizeof fixed_answer - 1);
                } else {
                        int status;
                        char *a = essentials_answer(p, &status);
                        if (!a)
                                return -1;
                        if (set_response(p, status, a, strlen(a)) < 0) {
                                free(a);
                                return -1;
                        }
                        free(a);
                }
                lws_callback_on_writable(wsi);
                return 0;
        case LWS_CALLBACK_HTTP_WRITEABLE: {
                unsigned char hbuf[LWS_PRE + 512], *start = hbuf + LWS_PRE, *hp = start, *end = hbuf + sizeof hbuf - 1;
                if (!p->resp)
                        return 0;
                if (lws_add_http_common_headers(wsi, (unsigned) p->status, "application/json", p->resp_len, &hp,
                                                end))
                        return 1;
                if (lws_finalize_write_http_header(wsi, start, &hp, end))
                        return 1;
                if (lws_write(wsi, p->resp + LWS_PRE, p->resp_len, LWS_WRITE_HTTP_FINAL) != (int) p->resp_len)
                        return 1;
                pss_reset(p);
                if (lws_http_transaction_completed(wsi))
                        return -1;
                return 0;
        }
        case LWS_CALLBACK_CLOSED_HTTP:
        case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
                pss_reset(p);
                free(p->body);
                p->body = NULL;
                return 0;
        default:
                break;
        }
        return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
        { "http", callback_http, sizeof(struct pss), 0, 0, NULL, 0 },
        { NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void sigint_handler(int sig) {
        (void) sig;
        interrupted = 1;
}

int main(int argc, char **argv) {
        struct lws_context_creation_info info;
        struct lws_context *ctx;
        int port = 0, c;
        const char *mode = "fixed";

        static const struct option opts[] = {
                { "port", required_argument, NULL, 'p' },
                { "mode", required_argument, NULL, 'm' },
                {}
        };
        while ((c = getopt_long(argc, argv, "p:m:", opts, NULL)) >= 0) {
                if (c == 'p')
                        port = (int) strtol(optarg, NULL, 10);
                else if (c == 'm')
                        mode = optarg;
                else
                        return 2;
        }
        if (port <= 0) {
                fprintf(stderr, "ceiling: --port is required\n");
                return 2;
        }
        if (strcmp(mode, "essentials") == 0) {
                const char *secret = getenv("BENCH_SECRET");
                if (!secret || strlen(secret) < 32) {
                        fprintf(stderr, "ceiling: essentials mode needs BENCH_SECRET (>= 32 bytes)\n");
                        return 2;
                }
                EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
                OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                                        OSSL_PARAM_construct_end() };
                mac_ctx = m ? EVP_MAC_CTX_new(m) : NULL;
                if (!mac_ctx || !EVP_MAC_init(mac_ctx, (const unsigned char *) secret, strlen(secret), params)) {
                        fprintf(stderr, "ceiling: cannot key HMAC\n");
                        return 1;
                }
                EVP_MAC_free(m);
                essentials = true;
        } else if (strcmp(mode, "fixed") != 0) {
                fprintf(stderr, "ceiling: --mode fixed|essentials\n");
                return 2;
        }
        const char *tj = getenv("BENCH_TOOLS_JSON");
        if (tj && *tj) {
                json_error_t jerr;
                json_t *saved = json_load_file(tj, 0, &jerr);
                json_t *t = saved ? json_object_get(json_object_get(saved, "result"), "tools") : NULL;
                if (!json_is_array(t)) {
                        fprintf(stderr, "ceiling: %s holds no result.tools array\n", tj);
                        return 1;
                }
                tools_list = json_incref(t);
                json_t *resp = json_pack("{s:s, s:i, s:{s:O}}", "jsonrpc", "2.0", "id", 1, "result", "tools", t);
                fixed_list_answer = json_dumps(resp, JSON_COMPACT);
                fixed_list_len = strlen(fixed_list_answer);
                json_decref(resp);
                json_decref(saved);
        }
        if (gethostname(hostname_buf, sizeof hostname_buf - 1) < 0)
                snprintf(hostname_buf, sizeof hostname_buf, "localhost");

        signal(SIGINT, sigint_handler);
        signal(SIGTERM, sigint_handler);
        lws_set_log_level(LLL_ERR, NULL);

        memset(&info, 0, sizeof info);
        info.port = port;
        info.iface = "127.0.0.1";
        info.protocols = protocols;
        info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
        info.keepalive_timeout = 60;
        info.timeout_secs = 30;
        ctx = lws_create_context(&info);
        if (!ctx) {
                fprintf(stderr, "ceiling: lws_create_context failed\n");
                return 1;
        }
        fprintf(stderr, "ceiling (%s) listening on 127.0.0.1:%d\n", mode, port);
        while (!interrupted)
                if (lws_service(ctx, 0) < 0)
                        break;
        lws_context_destroy(ctx);
        EVP_MAC_CTX_free(mac_ctx);
        return 0;
}
