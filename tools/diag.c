/* SPDX-License-Identifier: MIT */

/* The "diag" tool family: ping, DNS, traceroute, TCP port tests, TLS
 * certificates and HTTP requests, all bound by the network allowlist
 * (tools/netpolicy.h, docs/network-policy.md).
 *
 * Every target is resolved once and every resolved address checked; tools
 * then use only the checked numeric addresses (programs get the address, not
 * the name), so a second DNS answer cannot redirect them (DNS rebinding).
 * http_request_test, which lets libcurl resolve, checks the address of every
 * socket curl is about to connect instead, and follows redirects itself.
 *
 * Everything here runs on a worker thread, honours the call's cancelled flag
 * (polled at least every 100 ms, or bounded by a short resolver timeout) and
 * never blocks longer than its timeout. Text that comes from the network
 * (certificate fields, DNS TXT, HTTP headers and bodies) is made valid UTF-8
 * before it enters JSON, and those tools carry TOOL_UNTRUSTED_OUTPUT. */

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/utf8.h"
#include "common/cleanup.h"
#include "tools/diag.h"
#include "tools/netpolicy.h"
#include "tools/runner.h"
#include "tools/tool.h"

#define DEFAULT_TIMEOUT_SEC 30
#define POLL_SLICE_MS 100
#define PING_COUNT_DEFAULT 4
#define PING_COUNT_MAX 20
#define TRACE_HOPS_DEFAULT 15
#define TRACE_HOPS_MAX 30
#define PORTS_MAX 32
#define PORT_TIMEOUT_DEFAULT 5
#define TLS_TIMEOUT_SEC 10
#define TLS_CHAIN_MAX 10
#define TLS_SANS_MAX 100
#define HTTP_TIMEOUT_DEFAULT 10
#define HTTP_REDIRECTS_MAX 5
#define HTTP_HEADERS_MAX 100
#define HTTP_HEADER_BYTES_MAX 8192
#define HTTP_URL_MAX 2048
#define DNS_ANSWERS_MAX 100
#define DNS_TIMEOUT_SEC 2               /* per UDP attempt */
#define DNS_TRIES 2

/* Small helpers ------------------------------------------------------------ */

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

static double now_ms_f(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1000.0 + (double) ts.tv_nsec / 1e6;
}

static double round3(double x) {
        if (!(x > 0) || x > 1e12)
                return x > 0 ? x : 0.0;
        return (double) (int64_t) (x * 1000.0 + 0.5) / 1000.0;
}

static int json_set(json_t *o, const char *key, json_t *v) {
        /* json_object_set_new() steals v, also on failure. */
        if (!v || json_object_set_new(o, key, v) < 0)
                return -ENOMEM;
        return 0;
}

static int json_append(json_t *a, json_t *v) {
        if (!v || json_array_append_new(a, v) < 0)
                return -ENOMEM;
        return 0;
}


/* A JSON string from untrusted bytes: invalid UTF-8 becomes '?', control
 * characters become `ctl` (tabs and newlines kept when keep_nl). NULL only
 * on allocation failure. */
static json_t *json_clean(const char *s, size_t n, char ctl, bool keep_nl) {
        _cleanup_free_ char *buf = malloc(n + 1);
        const unsigned char *u = (const unsigned char *) s;
        size_t i = 0, o = 0;

        if (!buf)
                return NULL;
        while (i < n) {
                size_t l = utf8_seq_len(u + i, n - i);

                if (l == 0) {
                        buf[o++] = '?';
                        i++;
                } else if (l == 1) {
                        bool ok = u[i] >= 0x20 && u[i] != 0x7f;

                        if (keep_nl && (u[i] == '\n' || u[i] == '\t'))
                                ok = true;
                        buf[o++] = ok ? (char) u[i] : ctl;
                        i++;
                } else {
                        memcpy(buf + o, s + i, l);
                        o += l;
                        i += l;
                }
        }
        buf[o] = '\0';
        return json_stringn(buf, o);
}

static json_t *json_clean_str(const char *s) {
        return json_clean(s, strlen(s), '?', false);
}

static int call_timeout_sec(const ToolCall *call) {
        return call->env && call->env->timeout_sec > 0 ? call->env->timeout_sec : DEFAULT_TIMEOUT_SEC;
}

static size_t call_max_output(const ToolCall *call) {
        return call->env && call->env->max_output_bytes > 0 ? call->env->max_output_bytes : 1024 * 1024;
}

static const NetPolicy *call_policy(const ToolCall *call) {
        return call->env ? call->env->net : NULL;
}

static json_int_t arg_int(const ToolCall *call, const char *name, json_int_t def) {
        json_t *v = json_object_get(call->args, name);

        return json_is_integer(v) ? json_integer_value(v) : def;
}

static const char *arg_str(const ToolCall *call, const char *name) {
        return json_string_value(json_object_get(call->args, name));
}

/* Resolves and policy-checks a target host (see netpolicy_resolve()). */
static int resolve_target(ToolCall *call, const char *host, unsigned port, NetAddrs *ret) {
        char err[384];
        int r;

        if (!host)
                return tool_error(call, -EINVAL, "argument 'host' is required");
        /* Name lookups get at most 10 s (or the call's timeout) and stop on cancel. */
        r = netpolicy_resolve_bounded(call_policy(call), host, port, call->cancelled,
                                      (call_timeout_sec(call) < 10 ? call_timeout_sec(call) : 10) * 1000, ret, err,
                                      sizeof err);
        if (r < 0)
                return tool_error(call, r, "%s", err);
        return 0;
}

static int check_port(ToolCall *call, unsigned port) {
        /* Port scans of services the operator did not open up are what the
         * port list exists to prevent. */
        if (!netpolicy_check_port(call_policy(call), port))
                return tool_error(call, -EPERM,
                                  "port %u is not in network.allowed_ports; ask the operator to add it", port);
        return 0;
}

/* Text output through a memstream. */
typedef struct Text {
        char *buf;
        size_t len;
        FILE *f;
} Text;

static int text_open(Text *t) {
        *t = (Text) {};
        t->f = open_memstream(&t->buf, &t->len);
        return t->f ? 0 : -ENOMEM;
}

static void text_done(Text *t) {
        if (t->f)
                fclose(t->f);
        free(t->buf);
        *t = (Text) {};
}

static int text_finish(Text *t, ToolCall *call) {
        if (fflush(t->f) != 0 || ferror(t->f))
                return -ENOMEM;
        fclose(t->f);
        t->f = NULL;
        call->text = TAKE_PTR(t->buf);
        return 0;
}

/* Copies s into buf, printable ASCII only, for the text block. */
static const char *printable(const char *s, char *buf, size_t size) {
        size_t o = 0;

        for (; s && *s && o + 1 < size; s++)
                buf[o++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
        buf[o] = '\0';
        return buf;
}

/* Parsers (diag.h) ------------------------------------------------------------ */

/* Finds "key" in s and parses the number after it. */
static bool find_number(const char *s, const char *key, double *ret) {
        const char *p = strstr(s, key);
        char *end;
        double v;

        if (!p)
                return false;
        p += strlen(key);
        if (!isdigit((unsigned char) *p))
                return false;
        errno = 0;
        v = strtod(p, &end);
        if (errno != 0 || end == p || !isfinite(v))
                return false;
        *ret = v;
        return true;
}

bool diag_ping_parse_reply(const char *line, size_t len, PingReply *ret) {
        char buf[512];
        const char *from, *end;
        PingReply r = {};
        double seq, ttl, t;
        size_t alen;

        if (!line || len == 0 || len >= sizeof buf)
                return false;
        memcpy(buf, line, len);
        buf[len] = '\0';
        if (memchr(buf, '\0', len))
                return false;

        from = strstr(buf, " bytes from ");
        if (!from)
                return false;
        from += strlen(" bytes from ");
        end = strstr(from, ": ");
        if (!end)
                return false;
        alen = (size_t) (end - from);
        if (alen == 0 || alen >= sizeof r.from)
                return false;
        for (size_t i = 0; i < alen; i++)
                if (!isxdigit((unsigned char) from[i]) && from[i] != '.' && from[i] != ':')
                        return false;
        memcpy(r.from, from, alen);
        r.from[alen] = '\0';

        if (!find_number(end, "icmp_seq=", &seq) || !find_number(end, "ttl=", &ttl) ||
            !find_number(end, "time=", &t))
                return false;
        if (seq < 0 || seq > 65535 || ttl < 0 || ttl > 255 || t < 0 || t > 1e7)
                return false;
        r.seq = (int) seq;
        r.ttl = (int) ttl;
        r.time_ms = t;
        *ret = r;
        return true;
}

bool diag_ping_parse_summary(const char *text, size_t len, PingSummary *ret) {
        _cleanup_free_ char *buf = NULL;
        PingSummary s = {};
        const char *p, *line;
        double tx, rx, loss;

        if (!text)
                return false;
        buf = strndup(text, len);
        if (!buf)
                return false;

        p = strstr(buf, " packets transmitted, ");
        if (!p)
                return false;
        line = p;
        while (line > buf && line[-1] != '\n')
                line--;
        if (!isdigit((unsigned char) *line))
                return false;
        errno = 0;
        tx = strtod(line, NULL);
        if (!find_number(p, "transmitted, ", &rx) || !isfinite(tx))
                return false;
        if (tx < 0 || tx > 1e6 || rx < 0 || rx > tx)
                return false;
        s.transmitted = (int) tx;
        s.received = (int) rx;
        p = strstr(p, "% packet loss");
        if (p) {
                const char *q = p;

                while (q > buf && (isdigit((unsigned char) q[-1]) || q[-1] == '.'))
                        q--;
                loss = strtod(q, NULL);
                s.loss_percent = isfinite(loss) && loss >= 0 && loss <= 100 ? loss : 0;
        } else if (s.transmitted > 0)
                s.loss_percent = 100.0 * (s.transmitted - s.received) / s.transmitted;

        p = strstr(buf, "rtt min/avg/max/mdev = ");
        if (p) {
                double v[4];
                char *end;
                int i;

                p += strlen("rtt min/avg/max/mdev = ");
                for (i = 0; i < 4; i++) {
                        if (!isdigit((unsigned char) *p))
                                break;
                        v[i] = strtod(p, &end);
                        if (end == p || !isfinite(v[i]) || v[i] < 0 || v[i] > 1e7)
                                break;
                        p = end;
                        if (i < 3) {
                                if (*p != '/')
                                        break;
                                p++;
                        }
                }
                if (i == 4) {
                        s.have_rtt = true;
                        s.rtt_min = v[0];
                        s.rtt_avg = v[1];
                        s.rtt_max = v[2];
                        s.rtt_mdev = v[3];
                }
        }
        *ret = s;
        return true;
}

int diag_traceroute_parse(const char *text, size_t len, json_t **ret_hops) {
        _cleanup_json_ json_t *hops = json_array();
        size_t pos = 0;

        if (!hops)
                return -ENOMEM;
        while (pos < len && json_array_size(hops) < 255) {
                const char *nl = memchr(text + pos, '\n', len - pos);
                size_t ll = nl ? (size_t) (nl - (text + pos)) : len - pos;
                char line[1024], *p, *end, *tok, *next;
                _cleanup_json_ json_t *hop = NULL;
                const char *addr = NULL, *note = NULL;
                double rtt = -1;
                long n;

                if (ll >= sizeof line)
                        ll = sizeof line - 1;
                memcpy(line, text + pos, ll);
                line[ll] = '\0';
                pos += (nl ? (size_t) (nl - (text + pos)) + 1 : len - pos);

                p = line;
                while (*p == ' ')
                        p++;
                if (!isdigit((unsigned char) *p))
                        continue;       /* the "traceroute to" header and noise */
                errno = 0;
                n = strtol(p, &end, 10);
                if (errno != 0 || n < 1 || n > 255 || (*end != ' ' && *end != '\0'))
                        continue;

                /* Split our own copy at blanks. */
                for (tok = end;;) {
                        unsigned char a[16];

                        while (*tok == ' ' || *tok == '\t')
                                tok++;
                        if (!*tok)
                                break;
                        next = tok + strcspn(tok, " \t");
                        if (*next)
                                *next++ = '\0';
                        if (streq(tok, "*")) {
                                tok = next;
                                continue;
                        }
                        if (!addr && (inet_pton(AF_INET, tok, a) == 1 || inet_pton(AF_INET6, tok, a) == 1))
                                addr = tok;
                        else if (rtt < 0 && isdigit((unsigned char) tok[0])) {
                                char *e;
                                double v = strtod(tok, &e);

                                if (*e == '\0' && isfinite(v) && v >= 0 && v < 1e7)
                                        rtt = v;
                        } else if (!note && tok[0] == '!' && strlen(tok) <= 8)
                                note = tok;
                        tok = next;
                }

                hop = json_object();
                if (!hop || json_set(hop, "hop", json_integer(n)) < 0 ||
                    json_set(hop, "address", addr ? json_string(addr) : json_null()) < 0 ||
                    json_set(hop, "rtt_ms", rtt >= 0 ? json_real(rtt) : json_null()) < 0 ||
                    json_set(hop, "note", note ? json_clean_str(note) : json_null()) < 0 ||
                    json_append(hops, TAKE_PTR(hop)) < 0)
                        return -ENOMEM;
        }
        *ret_hops = TAKE_PTR(hops);
        return 0;
}

static const char *dns_type_name(int type) {
        switch (type) {
        case ns_t_a:
                return "A";
        case ns_t_aaaa:
                return "AAAA";
        case ns_t_mx:
                return "MX";
        case ns_t_txt:
                return "TXT";
        case ns_t_cname:
                return "CNAME";
        default:
                return NULL;
        }
}

int diag_dns_parse(const unsigned char *msg, size_t len, json_t **ret_answers) {
        _cleanup_json_ json_t *answers = json_array();
        ns_msg handle;
        int count;

        if (!answers)
                return -ENOMEM;
        if (!msg || len > 65535 || ns_initparse(msg, (int) len, &handle) < 0)
                return -EBADMSG;
        count = ns_msg_count(handle, ns_s_an);
        for (int i = 0; i < count && json_array_size(answers) < DNS_ANSWERS_MAX; i++) {
                _cleanup_json_ json_t *o = NULL, *value = NULL;
                char name[NS_MAXDNAME], text[NS_MAXDNAME];
                const unsigned char *rd;
                const char *tname;
                int type, rdlen;
                ns_rr rr;

                if (ns_parserr(&handle, ns_s_an, i, &rr) < 0)
                        return -EBADMSG;
                type = ns_rr_type(rr);
                tname = dns_type_name(type);
                if (!tname || ns_rr_class(rr) != ns_c_in)
                        continue;
                rd = ns_rr_rdata(rr);
                rdlen = ns_rr_rdlen(rr);
                snprintf(name, sizeof name, "%s", ns_rr_name(rr));

                o = json_object();
                if (!o)
                        return -ENOMEM;

                switch (type) {
                case ns_t_a:
                case ns_t_aaaa:
                        if (rdlen != (type == ns_t_a ? 4 : 16))
                                return -EBADMSG;
                        if (!inet_ntop(type == ns_t_a ? AF_INET : AF_INET6, rd, text, sizeof text))
                                return -EBADMSG;
                        value = json_string(text);
                        break;
                case ns_t_cname:
                        if (ns_name_uncompress(ns_msg_base(handle), ns_msg_end(handle), rd, text, sizeof text) <
                            0)
                                return -EBADMSG;
                        value = json_clean_str(text);
                        break;
                case ns_t_mx:
                        if (rdlen < 3)
                                return -EBADMSG;
                        if (json_set(o, "preference", json_integer(ns_get16(rd))) < 0)
                                return -ENOMEM;
                        if (ns_name_uncompress(ns_msg_base(handle), ns_msg_end(handle), rd + 2, text,
                                               sizeof text) < 0)
                                return -EBADMSG;
                        value = json_clean_str(text);
                        break;
                case ns_t_txt: {
                        /* Character-strings: a length byte, then that many bytes; joined. */
                        _cleanup_free_ char *joined = malloc((size_t) rdlen + 1);
                        size_t o_len = 0;

                        if (!joined)
                                return -ENOMEM;
                        for (int p = 0; p < rdlen;) {
                                int l = rd[p++];

                                if (p + l > rdlen)
                                        return -EBADMSG;
                                memcpy(joined + o_len, rd + p, (size_t) l);
                                o_len += (size_t) l;
                                p += l;
                        }
                        value = json_clean(joined, o_len, '?', false);
                        break;
                }
                default:
                        continue;
                }

                if (!value)
                        return -ENOMEM;
                if (json_set(o, "name", json_clean_str(name)) < 0 || json_set(o, "type", json_string(tname)) < 0 ||
                    json_set(o, "ttl", json_integer((json_int_t) ns_rr_ttl(rr))) < 0 ||
                    json_set(o, "value", TAKE_PTR(value)) < 0 || json_append(answers, TAKE_PTR(o)) < 0)
                        return -ENOMEM;
        }
        *ret_answers = TAKE_PTR(answers);
        return 0;
}

/* ping_host --------------------------------------------------------------- */

typedef struct PingCtx {
        ToolCall *call;
        int count;
        int n_replies;
} PingCtx;

static void ping_on_line(void *userdata, const char *line, size_t len) {
        PingCtx *c = userdata;
        PingReply r;
        char msg[160];

        if (!diag_ping_parse_reply(line, len, &r))
                return;
        c->n_replies++;
        snprintf(msg, sizeof msg, "reply from %s: icmp_seq=%d ttl=%d time=%.3f ms", r.from, r.seq, r.ttl,
                 r.time_ms);
        tool_progress(c->call, c->n_replies < c->count ? c->n_replies : c->count, c->count, msg);
}

static int tool_ping_host(ToolCall *call) {
        _cleanup_json_ json_t *result = NULL, *replies = NULL;
        _cleanup_(text_done) Text text = {};
        RunnerResult rr = {};
        PingSummary sum = {};
        NetAddrs addrs;
        const char *host = arg_str(call, "host");
        json_int_t count = arg_int(call, "count", PING_COUNT_DEFAULT);
        char addr[INET6_ADDRSTRLEN], count_s[8], deadline_s[16], h[80];
        PingCtx ctx = { .call = call };
        size_t pos = 0;
        int deadline, r;

        if (count < 1 || count > PING_COUNT_MAX)
                return tool_error(call, -EINVAL, "argument 'count': must be between 1 and %d", PING_COUNT_MAX);
        r = resolve_target(call, host, 0, &addrs);
        if (r < 0)
                return r;
        netpolicy_addr_str((struct sockaddr *) &addrs.addr[0], addr, sizeof addr);

        /* One probe every 0.2 s (the smallest interval iputils allows without
         * privileges), 2 s for each reply, and a hard deadline. */
        deadline = (int) (count / 5) + 3;
        snprintf(count_s, sizeof count_s, "%d", (int) count);
        snprintf(deadline_s, sizeof deadline_s, "%d", deadline);
        char *argv[] = { (char *) "ping",  (char *) "-n",   (char *) "-c",       count_s, (char *) "-i",
                         (char *) "0.2",   (char *) "-W",   (char *) "2",        (char *) "-w", deadline_s,
                         (char *) (strchr(addr, ':') ? "-6" : "-4"), addr, NULL };

        ctx.count = (int) count;
        RunnerOptions ro = {
                .timeout_ms = (deadline + 2 < call_timeout_sec(call) ? deadline + 2 : call_timeout_sec(call)) * 1000,
                .max_output_bytes = call_max_output(call),
                .cancelled = call->cancelled,
                .on_stdout_line = ping_on_line,
                .userdata = &ctx,
        };
        r = runner_run(argv, &ro, &rr);
        if (r == -ENOENT)
                return tool_error(call, r, "ping is not installed (Debian package iputils-ping)");
        if (r < 0)
                return tool_error(call, r, "could not run ping: %s", strerror(-r));
        if (rr.cancelled) {
                runner_result_done(&rr);
                return tool_error(call, -ECANCELED, "cancelled");
        }

        replies = json_array();
        result = json_object();
        if (!replies || !result || text_open(&text) < 0)
                goto oom;

        while (pos < rr.out_len) {
                const char *nl = memchr(rr.out + pos, '\n', rr.out_len - pos);
                size_t ll = nl ? (size_t) (nl - (rr.out + pos)) : rr.out_len - pos;
                _cleanup_json_ json_t *o = NULL;
                PingReply rep;

                if (diag_ping_parse_reply(rr.out + pos, ll, &rep) && json_array_size(replies) < 1000) {
                        o = json_object();
                        if (!o || json_set(o, "seq", json_integer(rep.seq)) < 0 ||
                            json_set(o, "ttl", json_integer(rep.ttl)) < 0 ||
                            json_set(o, "time_ms", json_real(rep.time_ms)) < 0 ||
                            json_set(o, "from", json_string(rep.from)) < 0 ||
                            json_append(replies, TAKE_PTR(o)) < 0)
                                goto oom;
                        fprintf(text.f, "reply from %s: icmp_seq=%d ttl=%d time=%.3f ms\n", rep.from, rep.seq,
                                rep.ttl, rep.time_ms);
                }
                pos += ll + 1;
        }

        if (!diag_ping_parse_summary(rr.out, rr.out_len, &sum)) {
                /* No statistics: ping failed before sending (e.g. no permission). */
                if (json_array_size(replies) == 0 && !rr.timed_out) {
                        char err[200];
                        size_t n = rr.err_len < 150 ? rr.err_len : 150;

                        snprintf(err, sizeof err, "%.*s", (int) n, rr.err);
                        for (char *c = err; *c; c++)
                                if ((unsigned char) *c < 0x20)
                                        *c = ' ';
                        runner_result_done(&rr);
                        if (strstr(err, "not permitted") || strstr(err, "cap_net_raw"))
                                return tool_error(call, -EPERM,
                                                  "ping is not permitted here: the service needs CAP_NET_RAW "
                                                  "(AmbientCapabilities=CAP_NET_RAW) or a sysctl "
                                                  "net.ipv4.ping_group_range that covers its group (%s)", err);
                        return tool_error(call, -EIO, "ping failed: %s", err[0] ? err : "no output");
                }
                sum.transmitted = (int) count;
                sum.received = (int) json_array_size(replies);
                sum.loss_percent = 100.0 * (sum.transmitted - sum.received) / sum.transmitted;
        }

        if (json_set(result, "host", json_clean_str(host)) < 0 || json_set(result, "address", json_string(addr)) < 0 ||
            json_set(result, "count", json_integer(count)) < 0 ||
            json_set(result, "transmitted", json_integer(sum.transmitted)) < 0 ||
            json_set(result, "received", json_integer(sum.received)) < 0 ||
            json_set(result, "loss_percent", json_real(round3(sum.loss_percent))) < 0 ||
            json_set(result, "replies", TAKE_PTR(replies)) < 0 ||
            json_set(result, "timed_out", json_boolean(rr.timed_out)) < 0 ||
            json_set(result, "truncated", json_boolean(rr.truncated)) < 0)
                goto oom;
        if (sum.have_rtt) {
                _cleanup_json_ json_t *rtt = json_object();

                if (!rtt || json_set(rtt, "min_ms", json_real(sum.rtt_min)) < 0 ||
                    json_set(rtt, "avg_ms", json_real(sum.rtt_avg)) < 0 ||
                    json_set(rtt, "max_ms", json_real(sum.rtt_max)) < 0 ||
                    json_set(rtt, "mdev_ms", json_real(sum.rtt_mdev)) < 0 || json_set(result, "rtt", TAKE_PTR(rtt)) < 0)
                        goto oom;
        } else if (json_set(result, "rtt", json_null()) < 0)
                goto oom;

        fprintf(text.f, "--- %s (%s) ---\n%d transmitted, %d received, %.1f%% loss", printable(host, h, sizeof h),
                addr, sum.transmitted, sum.received, sum.loss_percent);
        if (sum.have_rtt)
                fprintf(text.f, ", rtt min/avg/max %.3f/%.3f/%.3f ms", sum.rtt_min, sum.rtt_avg, sum.rtt_max);
        fprintf(text.f, "\n");
        runner_result_done(&rr);
        if (text_finish(&text, call) < 0)
                return tool_error(call, -ENOMEM, "out of memory");
        call->result = TAKE_PTR(result);
        return 0;
oom:
        runner_result_done(&rr);
        return tool_error(call, -ENOMEM, "out of memory");
}

/* traceroute -------------------------------------------------------------- */

static int tool_traceroute(ToolCall *call) {
        _cleanup_json_ json_t *result = NULL, *hops = NULL;
        _cleanup_(text_done) Text text = {};
        RunnerResult rr = {};
        NetAddrs addrs;
        const char *host = arg_str(call, "host");
        json_int_t max_hops = arg_int(call, "max_hops", TRACE_HOPS_DEFAULT);
        char addr[INET6_ADDRSTRLEN], hops_s[8], h[80];
        bool reached = false;
        size_t i;
        json_t *hop;
        int limit, r;

        if (max_hops < 1 || max_hops > TRACE_HOPS_MAX)
                return tool_error(call, -EINVAL, "argument 'max_hops': must be between 1 and %d", TRACE_HOPS_MAX);
        r = resolve_target(call, host, 0, &addrs);
        if (r < 0)
                return r;
        netpolicy_addr_str((struct sockaddr *) &addrs.addr[0], addr, sizeof addr);
        snprintf(hops_s, sizeof hops_s, "%d", (int) max_hops);

        /* -w 1 -q 1: one probe per hop, one second each; probes go out in
         * parallel, so the worst case is far below max_hops seconds. */
        char *argv[] = { (char *) "traceroute", (char *) "-n", (char *) "-m", hops_s, (char *) "-q", (char *) "1",
                         (char *) "-w", (char *) "1", (char *) (strchr(addr, ':') ? "-6" : "-4"), addr, NULL };
        limit = (int) max_hops + 5;
        if (limit > call_timeout_sec(call))
                limit = call_timeout_sec(call);
        RunnerOptions ro = {
                .timeout_ms = limit * 1000,
                .max_output_bytes = call_max_output(call),
                .cancelled = call->cancelled,
        };
        r = runner_run(argv, &ro, &rr);
        if (r == -ENOENT)
                return tool_error(call, r, "traceroute is not installed (Debian package traceroute)");
        if (r < 0)
                return tool_error(call, r, "could not run traceroute: %s", strerror(-r));
        if (rr.cancelled) {
                runner_result_done(&rr);
                return tool_error(call, -ECANCELED, "cancelled");
        }
        r = diag_traceroute_parse(rr.out, rr.out_len, &hops);
        if (r < 0) {
                runner_result_done(&rr);
                return tool_error(call, r, "out of memory");
        }
        if (json_array_size(hops) == 0 && rr.exit_status != 0) {
                char err[200];
                size_t n = rr.err_len < 150 ? rr.err_len : 150;

                snprintf(err, sizeof err, "%.*s", (int) n, rr.err);
                for (char *c = err; *c; c++)
                        if ((unsigned char) *c < 0x20)
                                *c = ' ';
                runner_result_done(&rr);
                return tool_error(call, -EIO, "traceroute failed: %s", err[0] ? err : "no output");
        }

        result = json_object();
        if (!result || text_open(&text) < 0)
                goto oom;
        fprintf(text.f, "traceroute to %s (%s), %d hops max\n", printable(host, h, sizeof h), addr, (int) max_hops);
        json_array_foreach(hops, i, hop) {
                const char *a = json_string_value(json_object_get(hop, "address"));
                json_t *rtt = json_object_get(hop, "rtt_ms");
                const char *note = json_string_value(json_object_get(hop, "note"));

                if (a && streq(a, addr))
                        reached = true;
                if (a)
                        fprintf(text.f, "%2d  %s  %.3f ms%s%s\n", (int) json_integer_value(json_object_get(hop, "hop")),
                                a, json_is_real(rtt) ? json_real_value(rtt) : 0.0, note ? " " : "", note ? note : "");
                else
                        fprintf(text.f, "%2d  *\n", (int) json_integer_value(json_object_get(hop, "hop")));
        }
        fprintf(text.f, reached ? "destination reached\n" : "destination not reached\n");

        if (json_set(result, "host", json_clean_str(host)) < 0 || json_set(result, "address", json_string(addr)) < 0 ||
            json_set(result, "max_hops", json_integer(max_hops)) < 0 ||
            json_set(result, "hops", TAKE_PTR(hops)) < 0 ||
            json_set(result, "destination_reached", json_boolean(reached)) < 0 ||
            json_set(result, "timed_out", json_boolean(rr.timed_out)) < 0 ||
            json_set(result, "truncated", json_boolean(rr.truncated)) < 0)
                goto oom;
        runner_result_done(&rr);
        if (text_finish(&text, call) < 0)
                return tool_error(call, -ENOMEM, "out of memory");
        call->result = TAKE_PTR(result);
        return 0;
oom:
        runner_result_done(&rr);
        return tool_error(call, -ENOMEM, "out of memory");
}

/* dns_lookup -------------------------------------------------------------- */

static int dns_type_from_name(const char *s) {
        if (!s || streq(s, "A"))
                return ns_t_a;
        if (streq(s, "AAAA"))
                return ns_t_aaaa;
        if (streq(s, "MX"))
                return ns_t_mx;
        if (streq(s, "TXT"))
                return ns_t_txt;
        if (streq(s, "CNAME"))
                return ns_t_cname;
        return -1;
}

/* "192.0.2.53", "192.0.2.53:5353", "2001:db8::53" or "[2001:db8::53]:5353". */
static int dns_parse_server(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len) {
        char buf[INET6_ADDRSTRLEN + 8], *host = buf, *port_s = NULL;
        struct sockaddr_storage ss = {};
        unsigned long port = 53;

        if (strlen(s) >= sizeof buf)
                return -EINVAL;
        snprintf(buf, sizeof buf, "%s", s);
        if (buf[0] == '[') {
                char *close_br = strchr(buf, ']');

                if (!close_br)
                        return -EINVAL;
                *close_br = '\0';
                host = buf + 1;
                if (close_br[1] == ':')
                        port_s = close_br + 2;
                else if (close_br[1] != '\0')
                        return -EINVAL;
        } else if (strchr(buf, ':') == strrchr(buf, ':') && strchr(buf, ':')) {
                /* Exactly one colon: IPv4 with a port. */
                port_s = strchr(buf, ':');
                *port_s++ = '\0';
        }
        if (port_s) {
                char *end;

                if (!isdigit((unsigned char) port_s[0]) || strlen(port_s) > 5)
                        return -EINVAL;
                port = strtoul(port_s, &end, 10);
                if (*end != '\0' || port < 1 || port > 65535)
                        return -EINVAL;
        }
        if (inet_pton(AF_INET, host, &((struct sockaddr_in *) &ss)->sin_addr) == 1) {
                ss.ss_family = AF_INET;
                *ret_len = sizeof(struct sockaddr_in);
        } else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *) &ss)->sin6_addr) == 1) {
                ss.ss_family = AF_INET6;
                *ret_len = sizeof(struct sockaddr_in6);
        } else
                return -EINVAL;
        netpolicy_set_port((struct sockaddr *) &ss, (unsigned) port);
        *ret = ss;
        return 0;
}

/* Waits until fd is ready for `events`, the deadline passes (-ETIMEDOUT) or
 * the call is cancelled (-ECANCELED), looking at the flag every 100 ms. */
static int wait_fd(ToolCall *call, int fd, short events, uint64_t deadline) {
        for (;;) {
                struct pollfd p = { .fd = fd, .events = events };
                uint64_t now = now_ms();
                int r;

                if (tool_cancelled(call))
                        return -ECANCELED;
                if (now >= deadline)
                        return -ETIMEDOUT;
                r = poll(&p, 1, deadline - now < POLL_SLICE_MS ? (int) (deadline - now) : POLL_SLICE_MS);
                if (r < 0 && errno != EINTR)
                        return -errno;
                if (r > 0)
                        return 0;
        }
}

/* Is `a` (n bytes) the answer to query `q`: same id, QR set, same question? */
static bool dns_is_answer(const unsigned char *q, size_t qlen, const unsigned char *a, size_t n) {
        if (n < qlen || n < HFIXEDSZ || qlen < HFIXEDSZ)
                return false;
        if (a[0] != q[0] || a[1] != q[1] || !(a[2] & 0x80))
                return false;
        /* Our query has exactly the header and one question. */
        return memcmp(a + HFIXEDSZ, q + HFIXEDSZ, qlen - HFIXEDSZ) == 0;
}

/* One query over TCP (after a truncated UDP answer). Returns the answer
 * length or a negative errno. */
static int dns_tcp(ToolCall *call, const struct sockaddr *ns, socklen_t nslen, const unsigned char *q, size_t qlen,
                   unsigned char *ans, size_t anssize, uint64_t deadline) {
        _cleanup_close_ int fd = socket(ns->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        unsigned char msg[2 + NS_PACKETSZ];
        size_t got = 0, want = 0, sent = 0;
        int err = 0, r;
        socklen_t el = sizeof err;

        if (fd < 0)
                return -errno;
        if (qlen > NS_PACKETSZ)
                return -EINVAL;
        if (connect(fd, ns, nslen) < 0) {
                if (errno != EINPROGRESS)
                        return -errno;
                r = wait_fd(call, fd, POLLOUT, deadline);
                if (r < 0)
                        return r;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err != 0)
                        return -(err ? err : errno);
        }
        msg[0] = (unsigned char) (qlen >> 8);
        msg[1] = (unsigned char) qlen;
        memcpy(msg + 2, q, qlen);
        while (sent < qlen + 2) {
                ssize_t n = send(fd, msg + sent, qlen + 2 - sent, MSG_NOSIGNAL);

                if (n < 0 && errno != EAGAIN && errno != EINTR)
                        return -errno;
                if (n > 0)
                        sent += (size_t) n;
                else {
                        r = wait_fd(call, fd, POLLOUT, deadline);
                        if (r < 0)
                                return r;
                }
        }
        /* Two length bytes, then the message. */
        for (;;) {
                unsigned char *dst = got < 2 ? msg + got : ans + (got - 2);
                size_t room = got < 2 ? 2 - got : want - (got - 2);
                ssize_t n;

                if (got >= 2 && got - 2 == want)
                        return (int) want;
                r = wait_fd(call, fd, POLLIN, deadline);
                if (r < 0)
                        return r;
                n = recv(fd, dst, room, 0);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        continue;
                if (n <= 0)
                        return n == 0 ? -ECONNRESET : -errno;
                got += (size_t) n;
                if (got == 2) {
                        want = (size_t) msg[0] << 8 | msg[1];
                        if (want < HFIXEDSZ || want > anssize)
                                return -EBADMSG;
                }
        }
}

/* Sends the query to one server over UDP (twice, if the first gets no
 * answer), falling back to TCP on truncation. Returns the answer length, or
 * a negative errno (-ETIMEDOUT, -ECANCELED, ...), and says if TCP was used. */
static int dns_exchange(ToolCall *call, const struct sockaddr *ns, socklen_t nslen, const unsigned char *q,
                        size_t qlen, unsigned char *ans, size_t anssize, uint64_t deadline, bool *ret_tcp) {
        _cleanup_close_ int fd = socket(ns->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return -errno;
        /* A connected UDP socket: the kernel drops datagrams from anyone else. */
        if (connect(fd, ns, nslen) < 0)
                return -errno;
        for (int attempt = 0; attempt < DNS_TRIES; attempt++) {
                uint64_t until = now_ms() + (uint64_t) DNS_TIMEOUT_SEC * 1000u;

                if (until > deadline || attempt == DNS_TRIES - 1)
                        until = deadline;
                if (send(fd, q, qlen, MSG_NOSIGNAL) < 0)
                        return -errno;
                for (;;) {
                        ssize_t n;
                        int r = wait_fd(call, fd, POLLIN, until);

                        if (r == -ETIMEDOUT)
                                break;
                        if (r < 0)
                                return r;
                        n = recv(fd, ans, anssize, 0);
                        if (n < 0) {
                                if (errno == EAGAIN || errno == EINTR)
                                        continue;
                                return -errno;      /* e.g. ECONNREFUSED: nobody listens */
                        }
                        if (!dns_is_answer(q, qlen, ans, (size_t) n))
                                continue;           /* stray or spoofed: keep waiting */
                        if (ans[2] & 0x02) {        /* TC */
                                *ret_tcp = true;
                                return dns_tcp(call, ns, nslen, q, qlen, ans, anssize, deadline);
                        }
                        return (int) n;
                }
                if (now_ms() >= deadline)
                        break;
        }
        return -ETIMEDOUT;
}

static const char *dns_rcode_name(int rcode, char *buf, size_t size) {
        static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED" };

        if (rcode >= 0 && (size_t) rcode < ELEMENTSOF(names))
                return names[rcode];
        snprintf(buf, size, "RCODE%d", rcode);
        return buf;
}

static bool dns_domain_valid(const char *d) {
        size_t len = d ? strlen(d) : 0;

        /* A trailing dot (fully qualified) is fine; IP literals are not names. */
        if (len == 0 || len > 254 || (len == 254 && d[253] != '.'))
                return false;
        if (len > 1 && d[len - 1] == '.') {
                char tmp[256];

                memcpy(tmp, d, len - 1);
                tmp[len - 1] = '\0';
                return netpolicy_host_valid(tmp);
        }
        return netpolicy_host_valid(d);
}

static int tool_dns_lookup(ToolCall *call) {
        _cleanup_json_ json_t *result = NULL, *answers = NULL;
        _cleanup_(text_done) Text text = {};
        _cleanup_free_ unsigned char *answer = NULL;
        const char *domain = arg_str(call, "domain"), *type_s = arg_str(call, "record_type"),
                   *server = arg_str(call, "server");
        struct sockaddr_storage ns[MAXNS];
        socklen_t ns_len[MAXNS];
        size_t n_ns = 0;
        struct __res_state st;
        unsigned char query[NS_PACKETSZ];
        char used[INET6_ADDRSTRLEN + 8] = "", d[80], rbuf[16];
        const char *rcode;
        bool tcp = false, aa;
        double t0, elapsed;
        uint64_t deadline;
        int type, qlen, n = -ETIMEDOUT, limit;
        size_t i;
        json_t *a;
        int r;

        type = dns_type_from_name(type_s);
        if (type < 0)
                return tool_error(call, -EINVAL, "argument 'record_type': must be one of A, AAAA, MX, TXT, CNAME");
        if (!dns_domain_valid(domain))
                return tool_error(call, -EINVAL,
                                  "argument 'domain': not a valid domain name (labels of letters, digits and "
                                  "hyphens, at most 63 bytes each, 253 in all)");

        /* A private resolver state per call (thread-safe); used for the
         * system's servers and to build the query. */
        memset(&st, 0, sizeof st);
        if (res_ninit(&st) < 0)
                return tool_error(call, -EIO, "could not initialise the resolver (check /etc/resolv.conf)");
        qlen = res_nmkquery(&st, ns_o_query, domain, ns_c_in, type, NULL, 0, NULL, query, sizeof query);
        if (server) {
                char why[256];

                if (dns_parse_server(server, &ns[0], &ns_len[0]) < 0) {
                        res_nclose(&st);
                        return tool_error(call, -EINVAL,
                                          "argument 'server': expected an IP address, optionally with a port "
                                          "(192.0.2.53, 127.0.0.1:5353, [2001:db8::53]:53)");
                }
                /* The server is a destination we send packets to: same allowlist. */
                r = netpolicy_check_addr(call_policy(call), (struct sockaddr *) &ns[0], why, sizeof why);
                if (r < 0) {
                        res_nclose(&st);
                        return tool_error(call, r, "DNS server %s is refused: %s", server, why);
                }
                n_ns = 1;
        } else
                for (int k = 0; k < st.nscount && k < MAXNS; k++) {
                        /* The administrator's own resolvers (resolv.conf) are not policy-checked. */
                        if (st.nsaddr_list[k].sin_family == AF_INET) {
                                memcpy(&ns[n_ns], &st.nsaddr_list[k], sizeof(struct sockaddr_in));
                                ns_len[n_ns++] = sizeof(struct sockaddr_in);
                        } else if (st._u._ext.nsaddrs[k] && st._u._ext.nsaddrs[k]->sin6_family == AF_INET6) {
                                memcpy(&ns[n_ns], st._u._ext.nsaddrs[k], sizeof(struct sockaddr_in6));
                                ns_len[n_ns++] = sizeof(struct sockaddr_in6);
                        }
                }
        res_nclose(&st);
        if (qlen < 0)
                return tool_error(call, -EINVAL, "argument 'domain': cannot be encoded as a DNS name");
        if (n_ns == 0)
                return tool_error(call, -ENOENT, "no DNS server configured: give 'server' or fix /etc/resolv.conf");

        answer = malloc(NS_MAXMSG);
        if (!answer)
                return tool_error(call, -ENOMEM, "out of memory");

        limit = 10 < call_timeout_sec(call) ? 10 : call_timeout_sec(call);
        deadline = now_ms() + (uint64_t) limit * 1000u;
        t0 = now_ms_f();
        for (i = 0; i < n_ns; i++) {
                /* Each server gets an equal share of what is left. */
                uint64_t now = now_ms(), until = now + (deadline - now) / (n_ns - i);

                if (now >= deadline)
                        break;
                tcp = false;
                n = dns_exchange(call, (struct sockaddr *) &ns[i], ns_len[i], query, (size_t) qlen, answer, NS_MAXMSG,
                                 until, &tcp);
                if (n == -ECANCELED)
                        return tool_error(call, n, "cancelled");
                netpolicy_addr_str((struct sockaddr *) &ns[i], used, sizeof used);
                if (n >= 0)
                        break;
        }
        elapsed = now_ms_f() - t0;
        if (n < 0) {
                if (n == -ETIMEDOUT)
                        return tool_error(call, n, "no answer for %s from %s within %d s",
                                          printable(domain, d, sizeof d), server ? server : "the system resolvers",
                                          limit);
                return tool_error(call, n, "DNS query for %s to %s failed: %s", printable(domain, d, sizeof d),
                                  server ? server : used, strerror(-n));
        }

        rcode = dns_rcode_name(answer[3] & 0x0f, rbuf, sizeof rbuf);
        aa = answer[2] & 0x04;
        r = diag_dns_parse(answer, (size_t) n, &answers);
        if (r == -EBADMSG)
                return tool_error(call, r, "the DNS server %s sent a malformed answer", used);
        if (r < 0)
                return tool_error(call, r, "out of memory");

        result = json_object();
        if (!result || text_open(&text) < 0 || json_set(result, "domain", json_string(domain)) < 0 ||
            json_set(result, "record_type", json_string(dns_type_name(type))) < 0 ||
            json_set(result, "server", json_string(used)) < 0 ||
            json_set(result, "rcode", json_string(rcode)) < 0 ||
            json_set(result, "authoritative", json_boolean(aa)) < 0 ||
            json_set(result, "tcp", json_boolean(tcp)) < 0 ||
            json_set(result, "query_time_ms", json_real(round3(elapsed))) < 0)
                return tool_error(call, -ENOMEM, "out of memory");

        fprintf(text.f, "%s %s via %s%s: %s, %zu answer(s), %.1f ms\n", domain, dns_type_name(type), used,
                tcp ? " (tcp)" : "", rcode, json_array_size(answers), elapsed);
        json_array_foreach(answers, i, a) {
                json_t *pref = json_object_get(a, "preference");
                char nb[80], vb[200];

                fprintf(text.f, "%s\t%" JSON_INTEGER_FORMAT "\t%s\t",
                        printable(json_string_value(json_object_get(a, "name")), nb, sizeof nb),
                        json_integer_value(json_object_get(a, "ttl")), json_string_value(json_object_get(a, "type")));
                if (pref)
                        fprintf(text.f, "%" JSON_INTEGER_FORMAT " ", json_integer_value(pref));
                fprintf(text.f, "%s\n", printable(json_string_value(json_object_get(a, "value")), vb, sizeof vb));
        }
        if (json_set(result, "answers", TAKE_PTR(answers)) < 0 || text_finish(&text, call) < 0)
                return tool_error(call, -ENOMEM, "out of memory");
        call->result = TAKE_PTR(result);
        return 0;
}

/* test_port_connectivity --------------------------------------------------- */

typedef struct PortProbe {
        unsigned port;
        int fd;
        double started;
        const char *state;              /* open, closed, filtered, unreachable, error */
        double latency_ms;
        int error;
} PortProbe;

static int probe_start(PortProbe *p, const struct sockaddr *sa, socklen_t len) {
        struct sockaddr_storage ss;

        memcpy(&ss, sa, len);
        netpolicy_set_port((struct sockaddr *) &ss, p->port);
        p->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (p->fd < 0)
                return -errno;
        p->started = now_ms_f();
        if (connect(p->fd, (struct sockaddr *) &ss, len) == 0)
                return 1;
        if (errno == EINPROGRESS)
                return 0;
        return -errno;
}

static void probe_finish(PortProbe *p, int err) {
        p->latency_ms = round3(now_ms_f() - p->started);
        p->error = err;
        if (err == 0)
                p->state = "open";
        else if (err == ECONNREFUSED)
                p->state = "closed";
        else if (err == EHOSTUNREACH || err == ENETUNREACH)
                p->state = "unreachable";
        else if (err == ETIMEDOUT)
                p->state = "filtered";
        else
                p->state = "error";
        if (p->fd >= 0) {
                close(p->fd);
                p->fd = -1;
        }
}

static int tool_test_port_connectivity(ToolCall *call) {
        _cleanup_json_ json_t *result = NULL, *list = NULL;
        _cleanup_(text_done) Text text = {};
        PortProbe probes[PORTS_MAX + 1];
        size_t n = 0, pending = 0;
        NetAddrs addrs;
        const char *host = arg_str(call, "host");
        json_t *port = json_object_get(call->args, "port"), *ports = json_object_get(call->args, "ports"), *v;
        json_int_t timeout = arg_int(call, "timeout", PORT_TIMEOUT_DEFAULT);
        char addr[INET6_ADDRSTRLEN], h[80];
        uint64_t deadline;
        size_t i;
        int r;

        if (timeout < 1 || timeout > 30)
                return tool_error(call, -EINVAL, "argument 'timeout': must be between 1 and 30 seconds");
        if (!port && !ports)
                return tool_error(call, -EINVAL, "give 'port' (one port) or 'ports' (a list of up to %d)", PORTS_MAX);
        if (port) {
                if (!json_is_integer(port) || json_integer_value(port) < 1 || json_integer_value(port) > 65535)
                        return tool_error(call, -EINVAL, "argument 'port': must be between 1 and 65535");
                probes[n++] = (PortProbe) { .port = (unsigned) json_integer_value(port), .fd = -1 };
        }
        json_array_foreach(ports, i, v) {
                bool dup = false;

                if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 65535)
                        return tool_error(call, -EINVAL, "argument 'ports': each must be between 1 and 65535");
                for (size_t j = 0; j < n; j++)
                        if (probes[j].port == (unsigned) json_integer_value(v))
                                dup = true;
                if (dup)
                        continue;
                if (n >= PORTS_MAX)
                        return tool_error(call, -EINVAL, "at most %d ports per call", PORTS_MAX);
                probes[n++] = (PortProbe) { .port = (unsigned) json_integer_value(v), .fd = -1 };
        }
        for (i = 0; i < n; i++) {
                r = check_port(call, probes[i].port);
                if (r < 0)
                        return r;
        }
        r = resolve_target(call, host, 0, &addrs);
        if (r < 0)
                return r;
        netpolicy_addr_str((struct sockaddr *) &addrs.addr[0], addr, sizeof addr);

        /* All connects at once, so the call takes at most one timeout. */
        for (i = 0; i < n; i++) {
                r = probe_start(&probes[i], (struct sockaddr *) &addrs.addr[0], addrs.len[0]);
                if (r == 0)
                        pending++;
                else
                        probe_finish(&probes[i], r > 0 ? 0 : -r);
        }
        deadline = now_ms() + (uint64_t) timeout * 1000u;
        while (pending > 0) {
                struct pollfd pfd[PORTS_MAX];
                size_t map[PORTS_MAX], np = 0;
                uint64_t now = now_ms();
                int wait;

                if (tool_cancelled(call)) {
                        for (i = 0; i < n; i++)
                                if (probes[i].fd >= 0)
                                        close(probes[i].fd);
                        return tool_error(call, -ECANCELED, "cancelled");
                }
                if (now >= deadline)
                        break;
                wait = deadline - now < POLL_SLICE_MS ? (int) (deadline - now) : POLL_SLICE_MS;
                for (i = 0; i < n; i++)
                        if (probes[i].fd >= 0) {
                                pfd[np] = (struct pollfd) { .fd = probes[i].fd, .events = POLLOUT };
                                map[np++] = i;
                        }
                r = poll(pfd, np, wait);
                if (r < 0 && errno != EINTR)
                        break;
                for (size_t k = 0; r > 0 && k < np; k++) {
                        int err = 0;
                        socklen_t el = sizeof err;

                        if (!pfd[k].revents)
                                continue;
                        if (getsockopt(pfd[k].fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
                                err = errno;
                        probe_finish(&probes[map[k]], err);
                        pending--;
                }
        }
        for (i = 0; i < n; i++)
                if (probes[i].fd >= 0) {
                        probe_finish(&probes[i], ETIMEDOUT);
                        probes[i].latency_ms = 0;
                }

        list = json_array();
        result = json_object();
        if (!list || !result || text_open(&text) < 0)
                return tool_error(call, -ENOMEM, "out of memory");
        fprintf(text.f, "%s (%s), timeout %d s\n", printable(host, h, sizeof h), addr, (int) timeout);
        for (i = 0; i < n; i++) {
                _cleanup_json_ json_t *o = json_object();
                bool has_latency = streq(probes[i].state, "open") || streq(probes[i].state, "closed");

                if (!o || json_set(o, "port", json_integer(probes[i].port)) < 0 ||
                    json_set(o, "state", json_string(probes[i].state)) < 0 ||
                    json_set(o, "latency_ms", has_latency ? json_real(probes[i].latency_ms) : json_null()) < 0 ||
                    json_set(o, "error", streq(probes[i].state, "error") ? json_string(strerror(probes[i].error))
                                                                           : json_null()) < 0 ||
                    json_append(list, TAKE_PTR(o)) < 0)
                        return tool_error(call, -ENOMEM, "out of memory");
                if (has_latency)
                        fprintf(text.f, "%5u/tcp  %-11s %.1f ms\n", probes[i].port, probes[i].state,
                                probes[i].latency_ms);
                else
                        fprintf(text.f, "%5u/tcp  %s\n", probes[i].port, probes[i].state);
        }
        if (json_set(result, "host", json_clean_str(host)) < 0 || json_set(result, "address", json_string(addr)) < 0 ||
            json_set(result, "timeout", json_integer(timeout)) < 0 || json_set(result, "results", TAKE_PTR(list)) < 0 ||
            text_finish(&text, call) < 0)
                return tool_error(call, -ENOMEM, "out of memory");
        call->result = TAKE_PTR(result);
        return 0;
}

/* Connects to the first reachable address within the deadline, polling for
 * cancellation. Returns the connected (non-blocking) socket, or a negative
 * errno with call->error set. */
static int connect_any(ToolCall *call, const NetAddrs *addrs, uint64_t deadline, char *ret_addr, size_t addr_size) {
        int last = ETIMEDOUT;

        for (size_t i = 0; i < addrs->n; i++) {
                _cleanup_close_ int fd = -1;
                const struct sockaddr *sa = (const struct sockaddr *) &addrs->addr[i];
                int err = 0;

                fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        return tool_error(call, -errno, "socket: %s", strerror(errno));
                if (connect(fd, sa, addrs->len[i]) < 0) {
                        if (errno != EINPROGRESS) {
                                last = errno;
                                continue;
                        }
                        for (;;) {
                                struct pollfd p = { .fd = fd, .events = POLLOUT };
                                uint64_t now = now_ms();
                                socklen_t el = sizeof err;
                                int rp;

                                if (tool_cancelled(call))
                                        return tool_error(call, -ECANCELED, "cancelled");
                                if (now >= deadline)
                                        return tool_error(call, -ETIMEDOUT, "connection to port %u timed out",
                                                          (unsigned) ntohs(sa->sa_family == AF_INET
                                                                 ? ((const struct sockaddr_in *) sa)->sin_port
                                                                 : ((const struct sockaddr_in6 *) sa)->sin6_port));
                                rp = poll(&p, 1,
                                          deadline - now < POLL_SLICE_MS ? (int) (deadline - now) : POLL_SLICE_MS);
                                if (rp < 0 && errno != EINTR)
                                        return tool_error(call, -errno, "poll: %s", strerror(errno));
                                if (rp <= 0)
                                        continue;
                                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
                                        err = errno;
                                break;
                        }
                        if (err != 0) {
                                last = err;
                                continue;
                        }
                }
                netpolicy_addr_str(sa, ret_addr, addr_size);
                return TAKE_FD(fd);
        }
        return tool_error(call, -last, "could not connect: %s", strerror(last));
}

/* check_ssl_certificate ------------------------------------------------------ */

static inline void SSL_CTX_freep(SSL_CTX **p) {
        SSL_CTX_free(*p);
}
static inline void SSL_freep(SSL **p) {
        SSL_free(*p);
}
static inline void BIO_freep(BIO **p) {
        BIO_free(*p);
}
static inline void GENERAL_NAMES_freep(GENERAL_NAMES **p) {
        GENERAL_NAMES_free(*p);
}

static json_t *x509_name_json(const X509_NAME *name) {
        _cleanup_(BIO_freep) BIO *b = BIO_new(BIO_s_mem());
        char *data = NULL;
        long len;

        if (!b)
                return NULL;
        if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) < 0)
                return json_string("");
        len = BIO_get_mem_data(b, &data);
        if (len < 0 || !data)
                return json_string("");
        return json_clean(data, (size_t) len, '?', false);
}

static json_t *asn1_time_json(const ASN1_TIME *t) {
        struct tm tm = {};
        char buf[32];

        if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
                return json_null();
        if (strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return json_null();
        return json_string(buf);
}

static int cert_to_json(X509 *c, json_t **ret) {
        _cleanup_json_ json_t *o = json_object(), *sans = json_array();
        _cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *gens = NULL;
        const ASN1_INTEGER *serial = X509_get0_serialNumber(c);
        BIGNUM *bn = serial ? ASN1_INTEGER_to_BN(serial, NULL) : NULL;
        char *hex = bn ? BN_bn2hex(bn) : NULL;
        EVP_PKEY *pk = X509_get0_pubkey(c);
        const char *sig = OBJ_nid2ln(X509_get_signature_nid(c));
        const char *ktype = pk ? EVP_PKEY_get0_type_name(pk) : NULL;
        int days = 0, secs = 0, r = -ENOMEM;

        BN_free(bn);
        if (!o || !sans)
                goto out;
        gens = X509_get_ext_d2i(c, NID_subject_alt_name, NULL, NULL);
        for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens) && json_array_size(sans) < TLS_SANS_MAX; i++) {
                const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
                char ip[INET6_ADDRSTRLEN + 4];

                if (g->type == GEN_DNS) {
                        const ASN1_STRING *s = g->d.dNSName;

                        if (json_append(sans, json_clean((const char *) ASN1_STRING_get0_data(s),
                                                         (size_t) ASN1_STRING_length(s), '?', false)) < 0)
                                goto out;
                } else if (g->type == GEN_IPADD) {
                        const ASN1_STRING *s = g->d.iPAddress;
                        int l = ASN1_STRING_length(s);

                        if ((l == 4 || l == 16) &&
                            inet_ntop(l == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(s), ip, sizeof ip) &&
                            json_append(sans, json_string(ip)) < 0)
                                goto out;
                }
        }
        if (!ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(c)))
                days = 0;

        if (json_set(o, "subject", x509_name_json(X509_get_subject_name(c))) < 0 ||
            json_set(o, "issuer", x509_name_json(X509_get_issuer_name(c))) < 0 ||
            json_set(o, "serial", json_string(hex ? hex : "")) < 0 ||
            json_set(o, "not_before", asn1_time_json(X509_get0_notBefore(c))) < 0 ||
            json_set(o, "not_after", asn1_time_json(X509_get0_notAfter(c))) < 0 ||
            json_set(o, "days_left", json_integer(days)) < 0 ||
            json_set(o, "san", TAKE_PTR(sans)) < 0 ||
            json_set(o, "signature_algorithm", json_string(sig ? sig : "unknown")) < 0 ||
            json_set(o, "key_type", json_string(ktype ? ktype : "unknown")) < 0 ||
            json_set(o, "key_bits", json_integer(pk ? EVP_PKEY_get_bits(pk) : 0)) < 0 ||
            json_set(o, "self_signed", json_boolean(X509_check_issued(c, c) == X509_V_OK)) < 0)
                goto out;
        *ret = TAKE_PTR(o);
        r = 0;
out:
        OPENSSL_free(hex);
        return r;
}

static void ssl_error_text(char *buf, size_t size) {
        unsigned long e = ERR_peek_last_error();

        if (e)
                ERR_error_string_n(e, buf, size);
        else
                snprintf(buf, size, "connection closed during the handshake");
        ERR_clear_error();
}

static int tool_check_ssl_certificate(ToolCall *call) {
        _cleanup_json_ json_t *result = NULL, *chain = NULL;
        _cleanup_(text_done) Text text = {};
        _cleanup_(SSL_CTX_freep) SSL_CTX *ctx = NULL;
        _cleanup_(SSL_freep) SSL *ssl = NULL;
        _cleanup_close_ int fd = -1;
        const char *host = arg_str(call, "host");
        json_int_t port = arg_int(call, "port", 443);
        char addr[INET6_ADDRSTRLEN] = "", name[256], h[80];
        unsigned char lit[16];
        STACK_OF(X509) *peer_chain;
        X509 *leaf;
        NetAddrs addrs;
        bool is_ip, match;
        uint64_t deadline;
        long verify;
        int r, limit;

        if (port < 1 || port > 65535)
                return tool_error(call, -EINVAL, "argument 'port': must be between 1 and 65535");
        r = check_port(call, (unsigned) port);
        if (r < 0)
                return r;
        r = resolve_target(call, host, (unsigned) port, &addrs);
        if (r < 0)
                return r;
        /* The name for SNI and hostname checks, without IPv6 brackets. */
        snprintf(name, sizeof name, "%s", host[0] == '[' ? host + 1 : host);
        if (host[0] == '[' && strchr(name, ']'))
                *strchr(name, ']') = '\0';
        is_ip = inet_pton(AF_INET, name, lit) == 1 || inet_pton(AF_INET6, name, lit) == 1;

        limit = TLS_TIMEOUT_SEC < call_timeout_sec(call) ? TLS_TIMEOUT_SEC : call_timeout_sec(call);
        deadline = now_ms() + (uint64_t) limit * 1000u;
        fd = connect_any(call, &addrs, deadline, addr, sizeof addr);
        if (fd < 0)
                return fd;

        ctx = SSL_CTX_new(TLS_client_method());
        if (!ctx)
                return tool_error(call, -ENOMEM, "out of memory");
        /* Verify against the system CA store, but never abort: the point is
         * to report what is wrong with a certificate. */
        (void) SSL_CTX_set_default_verify_paths(ctx);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        ssl = SSL_new(ctx);
        if (!ssl || SSL_set_fd(ssl, fd) != 1)
                return tool_error(call, -ENOMEM, "out of memory");
        if (!is_ip)
                (void) SSL_set_tlsext_host_name(ssl, name);
        if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) != 1 : SSL_set1_host(ssl, name) != 1)
                return tool_error(call, -EINVAL, "cannot check the certificate against '%s'",
                                  printable(name, h, sizeof h));

        for (;;) {
                struct pollfd p = { .fd = fd };
                uint64_t now;
                int e;

                ERR_clear_error();
                r = SSL_connect(ssl);
                if (r == 1)
                        break;
                e = SSL_get_error(ssl, r);
                if (e == SSL_ERROR_WANT_READ)
                        p.events = POLLIN;
                else if (e == SSL_ERROR_WANT_WRITE)
                        p.events = POLLOUT;
                else {
                        char err[256];

                        ssl_error_text(err, sizeof err);
                        return tool_error(call, -EPROTO, "TLS handshake with %s port %d failed: %s", addr,
                                          (int) port, err);
                }
                for (;;) {
                        int rp;

                        if (tool_cancelled(call))
                                return tool_error(call, -ECANCELED, "cancelled");
                        now = now_ms();
                        if (now >= deadline)
                                return tool_error(call, -ETIMEDOUT,
                                                  "TLS handshake with %s port %d timed out after %d s", addr,
                                                  (int) port, limit);
                        rp = poll(&p, 1, deadline - now < POLL_SLICE_MS ? (int) (deadline - now) : POLL_SLICE_MS);
                        if (rp != 0)
                                break;
                }
        }

        leaf = SSL_get0_peer_certificate(ssl);
        if (!leaf)
                return tool_error(call, -EPROTO, "%s port %d sent no certificate", addr, (int) port);
        verify = SSL_get_verify_result(ssl);
        match = is_ip ? X509_check_ip_asc(leaf, name, 0) == 1 : X509_check_host(leaf, name, 0, 0, NULL) == 1;

        chain = json_array();
        result = json_object();
        if (!chain || !result || text_open(&text) < 0)
                return tool_error(call, -ENOMEM, "out of memory");
        peer_chain = SSL_get_peer_cert_chain(ssl);
        for (int i = 0; peer_chain && i < sk_X509_num(peer_chain) && i < TLS_CHAIN_MAX; i++) {
                json_t *c = NULL;

                if (cert_to_json(sk_X509_value(peer_chain, i), &c) < 0 || json_append(chain, c) < 0)
                        return tool_error(call, -ENOMEM, "out of memory");
        }
        if (json_array_size(chain) == 0) {
                json_t *c = NULL;

                if (cert_to_json(leaf, &c) < 0 || json_append(chain, c) < 0)
                        return tool_error(call, -ENOMEM, "out of memory");
        }

        {
                json_t *lj = json_array_get(chain, 0);      /* borrowed */
                json_int_t days = json_integer_value(json_object_get(lj, "days_left"));
                const char *subj = json_string_value(json_object_get(lj, "subject"));
                const char *iss = json_string_value(json_object_get(lj, "issuer"));
                const char *na = json_string_value(json_object_get(lj, "not_after"));
                char sb[200], ib[200];

                if (json_set(result, "host", json_clean_str(host)) < 0 ||
                    json_set(result, "port", json_integer(port)) < 0 ||
                    json_set(result, "address", json_string(addr)) < 0 ||
                    json_set(result, "protocol", json_string(SSL_get_version(ssl))) < 0 ||
                    json_set(result, "cipher", json_string(SSL_get_cipher_name(ssl))) < 0 ||
                    json_set(result, "verified", json_boolean(verify == X509_V_OK)) < 0 ||
                    json_set(result, "verify_result", json_string(X509_verify_cert_error_string(verify))) < 0 ||
                    json_set(result, "hostname_match", json_boolean(match)) < 0 ||
                    json_set(result, "days_left", json_integer(days)) < 0 ||
                    json_set(result, "expired",
                             json_boolean(X509_cmp_current_time(X509_get0_notAfter(leaf)) <= 0)) < 0 ||
                    json_set(result, "chain", TAKE_PTR(chain)) < 0)
                        return tool_error(call, -ENOMEM, "out of memory");

                fprintf(text.f, "%s:%d (%s) %s %s\n", printable(host, h, sizeof h), (int) port, addr,
                        SSL_get_version(ssl), SSL_get_cipher_name(ssl));
                fprintf(text.f, "subject: %s\nissuer:  %s\nexpires: %s (%" JSON_INTEGER_FORMAT " days left)\n",
                        printable(subj, sb, sizeof sb), printable(iss, ib, sizeof ib), na ? na : "?", days);
                fprintf(text.f, "verification: %s; hostname %s\n", X509_verify_cert_error_string(verify),
                        match ? "matches" : "does NOT match");
        }

        /* Polite close; we do not wait for the peer's close_notify. */
        (void) SSL_shutdown(ssl);
        if (text_finish(&text, call) < 0)
                return tool_error(call, -ENOMEM, "out of memory");
        call->result = TAKE_PTR(result);
        return 0;
}

/* http_request_test ------------------------------------------------------------ */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

static void curl_init_once(void) {
        curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static inline void curl_easy_cleanupp(CURL **p) {
        if (*p)
                curl_easy_cleanup(*p);
}
static inline void curl_multi_cleanupp(CURLM **p) {
        if (*p)
                curl_multi_cleanup(*p);
}
static inline void curl_url_cleanupp(CURLU **p) {
        if (*p)
                curl_url_cleanup(*p);
}
static inline void curl_freep(char **p) {
        if (*p)
                curl_free(*p);
}

typedef struct HttpCtx {
        const NetPolicy *policy;
        char refused[384];              /* why a socket was refused, if one was */
        char connected[INET6_ADDRSTRLEN];
        json_t *headers;                /* of the last response block */
        size_t header_bytes;
        bool headers_truncated;
        char *body;
        size_t body_len, body_cap;
        bool body_truncated;
} HttpCtx;

static void http_ctx_done(HttpCtx *c) {
        free(c->body);
        c->body = NULL;
}

/* The SSRF guard: curl asks us for every socket it is about to connect,
 * with the address it resolved. Checking here (not the name, not an earlier
 * resolution) is what makes DNS rebinding useless. */
static curl_socket_t http_open_socket(void *userdata, curlsocktype purpose, struct curl_sockaddr *a) {
        HttpCtx *c = userdata;
        const struct sockaddr *sa = &a->addr;
        char why[300];
        unsigned port;
        int fd;

        if (purpose != CURLSOCKTYPE_IPCXN || (a->family != AF_INET && a->family != AF_INET6)) {
                snprintf(c->refused, sizeof c->refused, "only TCP/IP connections are allowed");
                return CURL_SOCKET_BAD;
        }
        if (netpolicy_check_addr(c->policy, sa, why, sizeof why) < 0) {
                snprintf(c->refused, sizeof c->refused, "%s", why);
                return CURL_SOCKET_BAD;
        }
        port = ntohs(a->family == AF_INET ? ((const struct sockaddr_in *) sa)->sin_port
                                          : ((const struct sockaddr_in6 *) sa)->sin6_port);
        if (!netpolicy_check_port(c->policy, port)) {
                snprintf(c->refused, sizeof c->refused, "port %u is not in network.allowed_ports", port);
                return CURL_SOCKET_BAD;
        }
        fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
        if (fd >= 0)
                netpolicy_addr_str(sa, c->connected, sizeof c->connected);
        return fd < 0 ? CURL_SOCKET_BAD : fd;
}

static size_t http_on_header(char *data, size_t size, size_t nmemb, void *userdata) {
        HttpCtx *c = userdata;
        size_t n = size * nmemb, len = n, colon;
        _cleanup_json_ json_t *o = NULL;

        while (len > 0 && (data[len - 1] == '\r' || data[len - 1] == '\n'))
                len--;
        if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
                /* A new response block (after 1xx): start over. */
                json_array_clear(c->headers);
                c->header_bytes = 0;
                c->headers_truncated = false;
                return n;
        }
        if (len == 0)
                return n;
        if (json_array_size(c->headers) >= HTTP_HEADERS_MAX || c->header_bytes + len > HTTP_HEADER_BYTES_MAX) {
                c->headers_truncated = true;
                return n;
        }
        colon = 0;
        while (colon < len && data[colon] != ':')
                colon++;
        if (colon == len)
                return n;
        {
                size_t v = colon + 1;

                while (v < len && (data[v] == ' ' || data[v] == '\t'))
                        v++;
                o = json_object();
                if (!o || json_set(o, "name", json_clean(data, colon, '?', false)) < 0 ||
                    json_set(o, "value", json_clean(data + v, len - v, '?', false)) < 0 ||
                    json_append(c->headers, TAKE_PTR(o)) < 0)
                        return 0;
        }
        c->header_bytes += len;
        return n;
}

static size_t http_on_body(char *data, size_t size, size_t nmemb, void *userdata) {
        HttpCtx *c = userdata;
        size_t n = size * nmemb, take;

        take = c->body_len < c->body_cap ? c->body_cap - c->body_len : 0;
        if (take > n)
                take = n;
        if (take > 0) {
                char *nb = realloc(c->body, c->body_len + take + 1);

                if (!nb)
                        return 0;
                c->body = nb;
                memcpy(c->body + c->body_len, data, take);
                c->body_len += take;
                c->body[c->body_len] = '\0';
        }
        if (take < n) {
                /* Enough for a preview: stop the transfer (reported as truncated). */
                c->body_truncated = true;
                return 0;
        }
        return n;
}

/* Checks a URL before any request: http(s) only, a valid host, an allowed
 * port. Fills scheme/host/port. */
static int http_check_url(ToolCall *call, const char *url, char *host, size_t host_size, unsigned *ret_port) {
        _cleanup_(curl_url_cleanupp) CURLU *u = curl_url();
        _cleanup_(curl_freep) char *scheme = NULL, *h = NULL, *port = NULL;
        char ub[120];
        unsigned long p;

        if (!u)
                return tool_error(call, -ENOMEM, "out of memory");
        if (strlen(url) > HTTP_URL_MAX)
                return tool_error(call, -EINVAL, "URL longer than %d bytes", HTTP_URL_MAX);
        if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
                return tool_error(call, -EINVAL, "'%s' is not a valid absolute URL", printable(url, ub, sizeof ub));
        if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
            (!streq(scheme, "http") && !streq(scheme, "https")))
                return tool_error(call, -EINVAL, "only http:// and https:// URLs are allowed");
        if (curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK || strlen(h) >= host_size)
                return tool_error(call, -EINVAL, "URL has no usable host");
        if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
                return tool_error(call, -EINVAL, "URL has no usable port");
        p = strtoul(port, NULL, 10);
        snprintf(host, host_size, "%s", h);
        {
                /* Brackets off for the syntax check. */
                char bare[256];
                size_t l = strlen(h);

                if (l >= 2 && h[0] == '[' && h[l - 1] == ']' && l - 2 < sizeof bare) {
                        memcpy(bare, h + 1, l - 2);
                        bare[l - 2] = '\0';
                } else
                        snprintf(bare, sizeof bare, "%s", h);
                if (!netpolicy_host_valid(bare))
                        return tool_error(call, -EINVAL, "'%s' is not a valid host name",
                                          printable(h, ub, sizeof ub));
        }
        if (p < 1 || p > 65535)
                return tool_error(call, -EINVAL, "URL has no usable port");
        *ret_port = (unsigned) p;
        return check_port(call, (unsigned) p);
}

static double info_ms(CURL *e, CURLINFO what) {
        curl_off_t us = 0;

        if (curl_easy_getinfo(e, what, &us) != CURLE_OK || us < 0)
                return 0;
        return round3((double) us / 1000.0);
}

static int tool_http_request_test(ToolCall *call) {
        _cleanup_json_ json_t *result = NULL, *hops = NULL, *headers = NULL, *timings = NULL;
        _cleanup_(text_done) Text text = {};
        _cleanup_free_ char *url = NULL, *body = NULL;
        const char *method = arg_str(call, "method");
        json_int_t timeout = arg_int(call, "timeout", HTTP_TIMEOUT_DEFAULT);
        _cleanup_(http_ctx_done) HttpCtx ctx = { .policy = call_policy(call) };
        char host[256], ub[200], eb[CURL_ERROR_SIZE];
        long status = 0;
        bool head, limit_reached = false;
        uint64_t deadline;
        unsigned port = 0;
        int r;

        if (!method)
                method = "GET";
        if (!streq(method, "GET") && !streq(method, "HEAD"))
                return tool_error(call, -EINVAL, "argument 'method': must be GET or HEAD");
        head = streq(method, "HEAD");
        if (timeout < 1 || timeout > 60)
                return tool_error(call, -EINVAL, "argument 'timeout': must be between 1 and 60 seconds");
        if (timeout > call_timeout_sec(call))
                timeout = call_timeout_sec(call);
        if (!arg_str(call, "url"))
                return tool_error(call, -EINVAL, "argument 'url' is required");
        url = strdup(arg_str(call, "url"));
        hops = json_array();
        headers = json_array();
        if (!url || !hops || !headers)
                return tool_error(call, -ENOMEM, "out of memory");
        ctx.headers = headers;
        ctx.body_cap = call_max_output(call);

        pthread_once(&curl_once, curl_init_once);
        if (curl_init_result != CURLE_OK)
                return tool_error(call, -EIO, "libcurl could not be initialised");

        deadline = now_ms() + (uint64_t) timeout * 1000u;
        for (int hop = 0;; hop++) {
                _cleanup_(curl_easy_cleanupp) CURL *e = NULL;
                _cleanup_(curl_multi_cleanupp) CURLM *m = NULL;
                _cleanup_json_ json_t *hj = NULL;
                CURLcode res = CURLE_OK;
                char *redirect = NULL;  /* borrowed from e */
                uint64_t now = now_ms();
                int running = 1;

                r = http_check_url(call, url, host, sizeof host, &port);
                if (r < 0) {
                        char why[sizeof call->error];

                        if (hop == 0)
                                return r;
                        snprintf(why, sizeof why, "%s", call->error);
                        return tool_error(call, r, "redirect %d refused: %s", hop, why);
                }
                if (now >= deadline)
                        return tool_error(call, -ETIMEDOUT, "timed out after %d s", (int) timeout);

                e = curl_easy_init();
                m = curl_multi_init();
                if (!e || !m)
                        return tool_error(call, -ENOMEM, "out of memory");
                free(ctx.body);
                ctx.body = NULL;
                ctx.body_len = 0;
                ctx.body_truncated = false;
                ctx.refused[0] = '\0';
                ctx.connected[0] = '\0';
                json_array_clear(headers);
                ctx.header_bytes = 0;
                ctx.headers_truncated = false;
                eb[0] = '\0';

                if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_PROXY, "") != CURLE_OK ||       /* no proxy from the environment */
                    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_NETRC, (long) CURL_NETRC_IGNORED) != CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, http_open_socket) != CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, &ctx) != CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_on_header) != CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_HEADERDATA, &ctx) != CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_on_body) != CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_WRITEDATA, &ctx) != CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, eb) != CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long) (deadline - now)) != CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long) (deadline - now)) != CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_USERAGENT, "systemmanager/" SM_VERSION " http_request_test") !=
                            CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_NOBODY, head ? 1L : 0L) != CURLE_OK ||
                    curl_multi_add_handle(m, e) != CURLM_OK)
                        return tool_error(call, -ENOMEM, "could not set up the request");

                /* The multi interface lets us look at the cancel flag every 100 ms. */
                while (running) {
                        if (curl_multi_perform(m, &running) != CURLM_OK)
                                break;
                        if (!running)
                                break;
                        if (tool_cancelled(call))
                                return tool_error(call, -ECANCELED, "cancelled");
                        if (curl_multi_poll(m, NULL, 0, POLL_SLICE_MS, NULL) != CURLM_OK)
                                break;
                }
                for (;;) {
                        int left;
                        CURLMsg *msg = curl_multi_info_read(m, &left);

                        if (!msg)
                                break;
                        if (msg->msg == CURLMSG_DONE)
                                res = msg->data.result;
                }
                curl_multi_remove_handle(m, e);

                if (ctx.refused[0])
                        return tool_error(call, -EPERM, "%s %s refused: host %s: %s",
                                          hop > 0 ? "redirect to" : "request to", printable(url, ub, sizeof ub), host,
                                          ctx.refused);
                if (res == CURLE_WRITE_ERROR && ctx.body_truncated)
                        res = CURLE_OK;
                if (res != CURLE_OK)
                        return tool_error(call, res == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO,
                                          "request to %s failed: %s", printable(url, ub, sizeof ub),
                                          eb[0] ? eb : curl_easy_strerror(res));

                (void) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
                (void) curl_easy_getinfo(e, CURLINFO_REDIRECT_URL, &redirect);

                hj = json_object();
                if (!hj || json_set(hj, "url", json_clean_str(url)) < 0 ||
                    json_set(hj, "status", json_integer(status)) < 0 ||
                    json_set(hj, "address", json_string(ctx.connected)) < 0 ||
                    json_append(hops, TAKE_PTR(hj)) < 0)
                        return tool_error(call, -ENOMEM, "out of memory");

                if (status >= 300 && status < 400 && redirect) {
                        if (hop >= HTTP_REDIRECTS_MAX) {
                                limit_reached = true;
                        } else {
                                /* Followed by us, so the next hop passes every check again. */
                                char *next = strdup(redirect);

                                if (!next)
                                        return tool_error(call, -ENOMEM, "out of memory");
                                free(url);
                                url = next;
                                continue;
                        }
                }

                timings = json_object();
                if (!timings || json_set(timings, "dns_ms", json_real(info_ms(e, CURLINFO_NAMELOOKUP_TIME_T))) < 0 ||
                    json_set(timings, "connect_ms", json_real(info_ms(e, CURLINFO_CONNECT_TIME_T))) < 0 ||
                    json_set(timings, "tls_ms", json_real(info_ms(e, CURLINFO_APPCONNECT_TIME_T))) < 0 ||
                    json_set(timings, "first_byte_ms", json_real(info_ms(e, CURLINFO_STARTTRANSFER_TIME_T))) < 0 ||
                    json_set(timings, "total_ms", json_real(info_ms(e, CURLINFO_TOTAL_TIME_T))) < 0)
                        return tool_error(call, -ENOMEM, "out of memory");
                break;
        }

        body = TAKE_PTR(ctx.body);
        result = json_object();
        if (!result || text_open(&text) < 0 || json_set(result, "url", json_clean_str(url)) < 0 ||
            json_set(result, "method", json_string(method)) < 0 ||
            json_set(result, "status", json_integer(status)) < 0 ||
            json_set(result, "address", json_string(ctx.connected)) < 0 ||
            json_set(result, "redirects", json_integer((json_int_t) json_array_size(hops) - 1)) < 0 ||
            json_set(result, "redirect_limit_reached", json_boolean(limit_reached)) < 0 ||
            json_set(result, "hops", json_incref(hops)) < 0 ||
            json_set(result, "headers", json_incref(headers)) < 0 ||
            json_set(result, "headers_truncated", json_boolean(ctx.headers_truncated)) < 0 ||
            json_set(result, "body_preview", json_clean(body ? body : "", ctx.body_len, '?', true)) < 0 ||
            json_set(result, "body_bytes", json_integer((json_int_t) ctx.body_len)) < 0 ||
            json_set(result, "truncated", json_boolean(ctx.body_truncated)) < 0 ||
            json_set(result, "timings", TAKE_PTR(timings)) < 0)
                return tool_error(call, -ENOMEM, "out of memory");

        fprintf(text.f, "%s %s -> %ld (%s)", method, printable(url, ub, sizeof ub), status, ctx.connected);
        if (json_array_size(hops) > 1)
                fprintf(text.f, " after %zu redirect(s)", json_array_size(hops) - 1);
        fprintf(text.f, "\n%zu header(s), %zu body byte(s)%s\n", json_array_size(headers), ctx.body_len,
                ctx.body_truncated ? " (truncated)" : "");
        if (text_finish(&text, call) < 0)
                return tool_error(call, -ENOMEM, "out of memory");
        call->result = TAKE_PTR(result);
        return 0;
}

/* The table ------------------------------------------------------------------- */

#define HOST_ARG                                                                                 \
        "\"host\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":255,"                               \
        "\"description\":\"Host name or IP address; every address it resolves to must pass the "        \
        "network allowlist.\"}"
#define NUM_OR_NULL "{\"type\":[\"number\",\"null\"],\"minimum\":0}"
#define STR_OR_NULL "{\"type\":[\"string\",\"null\"]}"

const Tool tools_diag[] = {
        {
                .name = "ping_host",
                .title = "Ping a host",
                .description = "Sends ICMP echo requests (iputils ping, 0.2 s apart) to a host and reports each "
                               "reply (sequence, TTL, round-trip time), loss and min/avg/max round-trip times. "
                               "Sends a progress notification per reply when the caller asked for progress.",
                .scope = SCOPE_NETWORK_DIAG,
                .risk = RISK_MODERATE,
                .flags = TOOL_OPEN_WORLD,
                .input_schema = "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"host\"],"
                                "\"properties\":{" HOST_ARG ","
                                "\"count\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":20,\"default\":4,"
                                "\"description\":\"Echo requests to send.\"}}}",
                .output_schema =
                        "{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"host\",\"address\",\"count\",\"transmitted\",\"received\",\"loss_percent\","
                        "\"replies\",\"rtt\",\"timed_out\",\"truncated\"],\"properties\":{"
                        "\"host\":{\"type\":\"string\"},\"address\":{\"type\":\"string\"},"
                        "\"count\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":20},"
                        "\"transmitted\":{\"type\":\"integer\",\"minimum\":0},"
                        "\"received\":{\"type\":\"integer\",\"minimum\":0},"
                        "\"loss_percent\":{\"type\":\"number\",\"minimum\":0,\"maximum\":100},"
                        "\"replies\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"seq\",\"ttl\",\"time_ms\",\"from\"],\"properties\":{"
                        "\"seq\":{\"type\":\"integer\",\"minimum\":0},\"ttl\":{\"type\":\"integer\",\"minimum\":0},"
                        "\"time_ms\":{\"type\":\"number\",\"minimum\":0},\"from\":{\"type\":\"string\"}}}},"
                        "\"rtt\":{\"anyOf\":[{\"type\":\"null\"},{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"min_ms\",\"avg_ms\",\"max_ms\",\"mdev_ms\"],\"properties\":{"
                        "\"min_ms\":{\"type\":\"number\",\"minimum\":0},\"avg_ms\":{\"type\":\"number\",\"minimum\":0},"
                        "\"max_ms\":{\"type\":\"number\",\"minimum\":0},\"mdev_ms\":{\"type\":\"number\",\"minimum\":0}}}]},"
                        "\"timed_out\":{\"type\":\"boolean\"},\"truncated\":{\"type\":\"boolean\"}}}",
                .handler = tool_ping_host,
        },
        {
                .name = "dns_lookup",
                .title = "DNS lookup",
                .description = "Queries DNS for A, AAAA, MX, TXT or CNAME records of a domain, asking the "
                               "system's DNS servers or a given one, and returns the answers with their TTLs and "
                               "the response code (NXDOMAIN, SERVFAIL and REFUSED are results, not errors).",
                .scope = SCOPE_NETWORK_DIAG,
                .risk = RISK_MODERATE,
                /* TXT records and names are whatever the zone owner wrote. */
                .flags = TOOL_OPEN_WORLD | TOOL_UNTRUSTED_OUTPUT,
                .input_schema = "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"domain\"],"
                                "\"properties\":{"
                                "\"domain\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":254,"
                                "\"description\":\"Domain name to look up.\"},"
                                "\"record_type\":{\"type\":\"string\",\"enum\":[\"A\",\"AAAA\",\"MX\",\"TXT\",\"CNAME\"],"
                                "\"default\":\"A\"},"
                                "\"server\":{\"type\":\"string\",\"minLength\":2,\"maxLength\":54,"
                                "\"description\":\"DNS server to ask: an IP address, optionally with a port "
                                "(127.0.0.1:5353, [2001:db8::53]:53); default: the system resolvers.\"}}}",
                .output_schema =
                        "{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"domain\",\"record_type\",\"server\",\"rcode\",\"authoritative\",\"tcp\","
                        "\"query_time_ms\",\"answers\"],"
                        "\"properties\":{"
                        "\"domain\":{\"type\":\"string\"},"
                        "\"record_type\":{\"type\":\"string\",\"enum\":[\"A\",\"AAAA\",\"MX\",\"TXT\",\"CNAME\"]},"
                        "\"server\":{\"type\":\"string\",\"description\":\"the server that answered\"},"
                        "\"rcode\":{\"type\":\"string\",\"description\":\"NOERROR, NXDOMAIN, SERVFAIL, "
                        "REFUSED, ...\"},"
                        "\"authoritative\":{\"type\":\"boolean\"},\"tcp\":{\"type\":\"boolean\","
                        "\"description\":\"the UDP answer was truncated and TCP was used\"},"
                        "\"query_time_ms\":{\"type\":\"number\",\"minimum\":0},"
                        "\"answers\":{\"type\":\"array\",\"maxItems\":100,\"items\":{\"type\":\"object\","
                        "\"additionalProperties\":false,\"required\":[\"name\",\"type\",\"ttl\",\"value\"],"
                        "\"properties\":{\"name\":{\"type\":\"string\"},"
                        "\"type\":{\"type\":\"string\",\"enum\":[\"A\",\"AAAA\",\"MX\",\"TXT\",\"CNAME\"]},"
                        "\"ttl\":{\"type\":\"integer\",\"minimum\":0},\"value\":{\"type\":\"string\"},"
                        "\"preference\":{\"type\":\"integer\",\"minimum\":0}}}}}}",
                .handler = tool_dns_lookup,
        },
        {
                .name = "test_port_connectivity",
                .title = "Test TCP ports",
                .description = "Tries TCP connections to one port or up to 32 ports of a host, all at once, and "
                               "reports each as open, closed (refused), filtered (no answer within the timeout), "
                               "unreachable or error, with the connect latency.",
                .scope = SCOPE_NETWORK_DIAG,
                .risk = RISK_MODERATE,
                .flags = TOOL_OPEN_WORLD,
                .input_schema = "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"host\"],"
                                "\"properties\":{" HOST_ARG ","
                                "\"port\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":65535,"
                                "\"description\":\"One TCP port (or use ports).\"},"
                                "\"ports\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":32,"
                                "\"items\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":65535},"
                                "\"description\":\"Several TCP ports.\"},"
                                "\"timeout\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":30,\"default\":5,"
                                "\"description\":\"Seconds to wait for the connections.\"}}}",
                .output_schema =
                        "{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"host\",\"address\",\"timeout\",\"results\"],\"properties\":{"
                        "\"host\":{\"type\":\"string\"},\"address\":{\"type\":\"string\"},"
                        "\"timeout\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":30},"
                        "\"results\":{\"type\":\"array\",\"maxItems\":33,\"items\":{\"type\":\"object\","
                        "\"additionalProperties\":false,\"required\":[\"port\",\"state\",\"latency_ms\",\"error\"],"
                        "\"properties\":{\"port\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":65535},"
                        "\"state\":{\"type\":\"string\",\"enum\":[\"open\",\"closed\",\"filtered\",\"unreachable\","
                        "\"error\"]},"
                        "\"latency_ms\":" NUM_OR_NULL ",\"error\":" STR_OR_NULL "}}}}}",
                .handler = tool_test_port_connectivity,
        },
        {
                .name = "traceroute",
                .title = "Traceroute",
                .description = "Traces the route to a host (traceroute -n, one UDP probe per hop, 1 s wait) and "
                               "returns each hop's address and round-trip time.",
                .scope = SCOPE_NETWORK_DIAG,
                .risk = RISK_MODERATE,
                .flags = TOOL_OPEN_WORLD,
                .input_schema = "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"host\"],"
                                "\"properties\":{" HOST_ARG ","
                                "\"max_hops\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":30,\"default\":15,"
                                "\"description\":\"Largest TTL to probe.\"}}}",
                .output_schema =
                        "{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"host\",\"address\",\"max_hops\",\"hops\",\"destination_reached\","
                        "\"timed_out\",\"truncated\"],\"properties\":{"
                        "\"host\":{\"type\":\"string\"},\"address\":{\"type\":\"string\"},"
                        "\"max_hops\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":30},"
                        "\"hops\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"hop\",\"address\",\"rtt_ms\",\"note\"],\"properties\":{"
                        "\"hop\":{\"type\":\"integer\",\"minimum\":1},\"address\":" STR_OR_NULL ","
                        "\"rtt_ms\":" NUM_OR_NULL ",\"note\":" STR_OR_NULL "}}},"
                        "\"destination_reached\":{\"type\":\"boolean\"},"
                        "\"timed_out\":{\"type\":\"boolean\"},\"truncated\":{\"type\":\"boolean\"}}}",
                .handler = tool_traceroute,
        },
        {
                .name = "check_ssl_certificate",
                .title = "Check a TLS certificate",
                .description = "Connects with TLS (SNI = host), and reports the certificate chain (subject, "
                               "issuer, serial, validity, days left, SANs, signature algorithm, key), whether it "
                               "verifies against the system CA store, whether it matches the host name, and the "
                               "negotiated protocol and cipher. A certificate that fails verification is reported, "
                               "not refused.",
                .scope = SCOPE_NETWORK_DIAG,
                .risk = RISK_MODERATE,
                /* Certificate fields are chosen by whoever made the certificate. */
                .flags = TOOL_OPEN_WORLD | TOOL_UNTRUSTED_OUTPUT,
                .input_schema = "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"host\"],"
                                "\"properties\":{" HOST_ARG ","
                                "\"port\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":65535,\"default\":443}}}",
                .output_schema =
                        "{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"host\",\"port\",\"address\",\"protocol\",\"cipher\",\"verified\","
                        "\"verify_result\",\"hostname_match\",\"days_left\",\"expired\",\"chain\"],\"properties\":{"
                        "\"host\":{\"type\":\"string\"},\"port\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":65535},"
                        "\"address\":{\"type\":\"string\"},\"protocol\":{\"type\":\"string\"},"
                        "\"cipher\":{\"type\":\"string\"},\"verified\":{\"type\":\"boolean\"},"
                        "\"verify_result\":{\"type\":\"string\"},\"hostname_match\":{\"type\":\"boolean\"},"
                        "\"days_left\":{\"type\":\"integer\"},\"expired\":{\"type\":\"boolean\"},"
                        "\"chain\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":10,\"items\":{\"type\":\"object\","
                        "\"additionalProperties\":false,\"required\":[\"subject\",\"issuer\",\"serial\",\"not_before\","
                        "\"not_after\",\"days_left\",\"san\",\"signature_algorithm\",\"key_type\",\"key_bits\","
                        "\"self_signed\"],\"properties\":{"
                        "\"subject\":{\"type\":\"string\"},\"issuer\":{\"type\":\"string\"},"
                        "\"serial\":{\"type\":\"string\"},\"not_before\":" STR_OR_NULL ",\"not_after\":" STR_OR_NULL ","
                        "\"days_left\":{\"type\":\"integer\"},"
                        "\"san\":{\"type\":\"array\",\"maxItems\":100,\"items\":{\"type\":\"string\"}},"
                        "\"signature_algorithm\":{\"type\":\"string\"},\"key_type\":{\"type\":\"string\"},"
                        "\"key_bits\":{\"type\":\"integer\",\"minimum\":0},\"self_signed\":{\"type\":\"boolean\"}}}}}}",
                .handler = tool_check_ssl_certificate,
        },
        {
                .name = "http_request_test",
                .title = "HTTP request test",
                .description = "Makes an HTTP(S) GET or HEAD request and reports status, headers, a body preview "
                               "(capped), redirects and timings. SSRF-guarded: every address actually connected "
                               "to, on every redirect (at most 5, followed one by one), must pass the network "
                               "allowlist; only http and https.",
                .scope = SCOPE_NETWORK_ADMIN,
                .risk = RISK_HIGH,
                /* Headers and body are the remote server's words. */
                .flags = TOOL_OPEN_WORLD | TOOL_UNTRUSTED_OUTPUT | TOOL_IDEMPOTENT,
                .input_schema = "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"url\"],"
                                "\"properties\":{"
                                "\"url\":{\"type\":\"string\",\"minLength\":8,\"maxLength\":2048,"
                                "\"description\":\"http:// or https:// URL.\"},"
                                "\"method\":{\"type\":\"string\",\"enum\":[\"GET\",\"HEAD\"],\"default\":\"GET\"},"
                                "\"timeout\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":60,\"default\":10,"
                                "\"description\":\"Seconds for the whole exchange, redirects included.\"}}}",
                .output_schema =
                        "{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"url\",\"method\",\"status\",\"address\",\"redirects\",\"redirect_limit_reached\","
                        "\"hops\",\"headers\",\"headers_truncated\",\"body_preview\",\"body_bytes\",\"truncated\","
                        "\"timings\"],\"properties\":{"
                        "\"url\":{\"type\":\"string\",\"description\":\"final URL\"},"
                        "\"method\":{\"type\":\"string\",\"enum\":[\"GET\",\"HEAD\"]},"
                        "\"status\":{\"type\":\"integer\",\"minimum\":0},\"address\":{\"type\":\"string\"},"
                        "\"redirects\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":5},"
                        "\"redirect_limit_reached\":{\"type\":\"boolean\"},"
                        "\"hops\":{\"type\":\"array\",\"maxItems\":6,\"items\":{\"type\":\"object\","
                        "\"additionalProperties\":false,\"required\":[\"url\",\"status\",\"address\"],\"properties\":{"
                        "\"url\":{\"type\":\"string\"},\"status\":{\"type\":\"integer\"},\"address\":{\"type\":\"string\"}}}},"
                        "\"headers\":{\"type\":\"array\",\"maxItems\":100,\"items\":{\"type\":\"object\","
                        "\"additionalProperties\":false,\"required\":[\"name\",\"value\"],\"properties\":{"
                        "\"name\":{\"type\":\"string\"},\"value\":{\"type\":\"string\"}}}},"
                        "\"headers_truncated\":{\"type\":\"boolean\"},"
                        "\"body_preview\":{\"type\":\"string\"},\"body_bytes\":{\"type\":\"integer\",\"minimum\":0},"
                        "\"truncated\":{\"type\":\"boolean\"},"
                        "\"timings\":{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"dns_ms\",\"connect_ms\",\"tls_ms\",\"first_byte_ms\",\"total_ms\"],"
                        "\"properties\":{\"dns_ms\":{\"type\":\"number\"},\"connect_ms\":{\"type\":\"number\"},"
                        "\"tls_ms\":{\"type\":\"number\"},\"first_byte_ms\":{\"type\":\"number\"},"
                        "\"total_ms\":{\"type\":\"number\"}}}}}",
                .handler = tool_http_request_test,
        },
        {}
};
