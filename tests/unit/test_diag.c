/* SPDX-License-Identifier: MIT */

/* tools/diag.c against real things on loopback: ping and traceroute to
 * 127.0.0.1, TCP listeners, a DNS responder, a TLS server and an HTTP
 * server written here (threads on 127.0.0.1), all through tool_run() with
 * output-schema checking on. The policy denies 127.0.0.2 so that refusals
 * (a denied target, a redirect to a denied address) can be tested locally. */

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/cleanup.h"
#include "tools/diag.h"
#include "tools/netpolicy.h"
#include "tools/tool.h"

static NetPolicy *policy;
static ToolEnv env = { .max_output_bytes = 1024 * 1024, .timeout_sec = 30 };

static int setup(void **state) {
        char *allowed[] = { (char *) "0.0.0.0/0", (char *) "::/0", NULL };
        char *denied[] = { (char *) "169.254.0.0/16", (char *) "fe80::/10", (char *) "224.0.0.0/4",
                           (char *) "127.0.0.2/32", NULL };
        char *ports[] = { (char *) "1-65535", NULL };
        _cleanup_free_ char *err = NULL;
        char perr[256];

        if (setenv("SYSTEMMANAGER_CHECK_OUTPUT", "1", 1) < 0)
                return -1;
        if (tool_registry_init(&err) < 0) {
                fprintf(stderr, "tool_registry_init: %s\n", err ? err : "?");
                return -1;
        }
        if (netpolicy_new(allowed, denied, ports, &policy, perr, sizeof perr) < 0) {
                fprintf(stderr, "netpolicy_new: %s\n", perr);
                return -1;
        }
        env.net = policy;
        signal(SIGPIPE, SIG_IGN);
        return 0;
}

static int teardown(void **state) {
        policy = netpolicy_free(policy);
        return 0;
}

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

/* Runs a tool after validating its arguments, like the server does. Returns
 * the handler's result; on success result and text are set. */
static int run_env(const ToolEnv *e, const char *name, const char *args_json, ToolCall *call, atomic_bool *cancel,
                   ToolProgressFn progress, void *userdata) {
        _cleanup_json_ json_t *args = NULL;
        const Tool *t = tool_find(name);
        char err[512];
        int r;

        assert_non_null(t);
        args = json_loads(args_json, 0, NULL);
        assert_non_null(args);
        if (tool_validate_args(t, args, err, sizeof err) < 0)
                fail_msg("%s %s: %s", name, args_json, err);
        *call = (ToolCall) { .tool = t, .args = args, .env = e, .cancelled = cancel, .progress = progress,
                             .progress_userdata = userdata };
        r = tool_run(call);
        if (r >= 0) {
                assert_non_null(call->result);
                assert_non_null(call->text);
        } else
                assert_null(call->result);
        call->args = NULL;
        return r;
}

static int run(const char *name, const char *args_json, ToolCall *call) {
        return run_env(&env, name, args_json, call, NULL, NULL, NULL);
}

static void run_ok(const char *name, const char *args_json, ToolCall *call) {
        int r = run(name, args_json, call);

        if (r < 0)
                fail_msg("%s %s failed: %d %s", name, args_json, r, call->error);
}

static void call_done(ToolCall *call) {
        json_decref(call->result);
        free(call->text);
        *call = (ToolCall) {};
}

static json_int_t jint(json_t *o, const char *k) {
        json_t *v = json_object_get(o, k);

        assert_true(json_is_integer(v));
        return json_integer_value(v);
}

static const char *jstr(json_t *o, const char *k) {
        json_t *v = json_object_get(o, k);

        assert_true(json_is_string(v));
        return json_string_value(v);
}

static bool jbool(json_t *o, const char *k) {
        json_t *v = json_object_get(o, k);

        assert_true(json_is_boolean(v));
        return json_is_true(v);
}

/* A listening TCP socket on 127.0.0.1 with an ephemeral port. */
static int listen_local(unsigned *ret_port) {
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof sin;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

        assert_true(fd >= 0);
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sin, sizeof sin), 0);
        assert_int_equal(listen(fd, 16), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &sin, &len), 0);
        *ret_port = ntohs(sin.sin_port);
        return fd;
}

/* A port nobody listens on (bound then closed; nothing else grabs it in time). */
static unsigned closed_port(void) {
        unsigned port;
        int fd = listen_local(&port);

        close(fd);
        return port;
}

/* Parsers ----------------------------------------------------------------------- */

static void test_parse_ping(void **state) {
        static const char out[] = "PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.\n"
                                  "64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.027 ms\n"
                                  "64 bytes from ::1: icmp_seq=2 ttl=63 time=12.5 ms\n"
                                  "From 10.0.0.1 icmp_seq=3 Destination Host Unreachable\n"
                                  "\n--- 127.0.0.1 ping statistics ---\n"
                                  "3 packets transmitted, 2 received, +1 errors, 33.3333% packet loss, time 206ms\n"
                                  "rtt min/avg/max/mdev = 0.027/6.263/12.500/6.236 ms\n";
        const char *l2 = strstr(out, "64 bytes from ::1"), *l3 = strstr(out, "From 10.0.0.1");
        PingReply r;
        PingSummary s;

        assert_true(diag_ping_parse_reply(strstr(out, "64 bytes"), strcspn(strstr(out, "64 bytes"), "\n"), &r));
        assert_string_equal(r.from, "127.0.0.1");
        assert_int_equal(r.seq, 1);
        assert_int_equal(r.ttl, 64);
        assert_true(r.time_ms > 0.026 && r.time_ms < 0.028);
        assert_true(diag_ping_parse_reply(l2, strcspn(l2, "\n"), &r));
        assert_string_equal(r.from, "::1");
        assert_int_equal(r.ttl, 63);
        assert_false(diag_ping_parse_reply(l3, strcspn(l3, "\n"), &r));
        assert_false(diag_ping_parse_reply("64 bytes from evil<script>: icmp_seq=1 ttl=1 time=1 ms", 54, &r));
        assert_false(diag_ping_parse_reply("", 0, &r));

        assert_true(diag_ping_parse_summary(out, strlen(out), &s));
        assert_int_equal(s.transmitted, 3);
        assert_int_equal(s.received, 2);
        assert_true(s.loss_percent > 33.3 && s.loss_percent < 33.4);
        assert_true(s.have_rtt);
        assert_true(s.rtt_max > 12.4 && s.rtt_max < 12.6);
        assert_false(diag_ping_parse_summary("nothing here", 12, &s));
        /* More received than sent is nonsense. */
        assert_false(diag_ping_parse_summary("1 packets transmitted, 5 received", 33, &s));
}

static void test_parse_traceroute(void **state) {
        static const char out[] = "traceroute to 10.1.2.3 (10.1.2.3), 15 hops max, 60 byte packets\n"
                                  " 1  192.168.1.1  0.512 ms\n"
                                  " 2  *\n"
                                  " 3  10.1.2.3  5.001 ms !H\n"
                                  "garbage line\n"
                                  "99999 1.2.3.4 1 ms\n";
        _cleanup_json_ json_t *hops = NULL;
        json_t *h;

        assert_int_equal(diag_traceroute_parse(out, strlen(out), &hops), 0);
        assert_int_equal(json_array_size(hops), 3);
        h = json_array_get(hops, 0);
        assert_int_equal(jint(h, "hop"), 1);
        assert_string_equal(jstr(h, "address"), "192.168.1.1");
        assert_true(json_real_value(json_object_get(h, "rtt_ms")) > 0.5);
        h = json_array_get(hops, 1);
        assert_true(json_is_null(json_object_get(h, "address")));
        assert_true(json_is_null(json_object_get(h, "rtt_ms")));
        h = json_array_get(hops, 2);
        assert_string_equal(jstr(h, "note"), "!H");
}

/* ping and traceroute --------------------------------------------------------- */

typedef struct Progress {
        int n;
        double last, total;
        char msg[160];
} Progress;

static void on_progress(void *userdata, double progress, double total, const char *message) {
        Progress *p = userdata;

        p->n++;
        p->last = progress;
        p->total = total;
        snprintf(p->msg, sizeof p->msg, "%s", message ? message : "");
}

static bool unprivileged_or_missing(const char *error) {
        return strstr(error, "not permitted") || strstr(error, "Permission denied") ||
               strstr(error, "not installed");
}

static void test_ping_localhost(void **state) {
        Progress pr = {};
        ToolCall call;
        json_t *rep;
        int r;

        r = run_env(&env, "ping_host", "{\"host\":\"127.0.0.1\",\"count\":3}", &call, NULL, on_progress, &pr);
        if (r < 0 && unprivileged_or_missing(call.error)) {
                /* No CAP_NET_RAW and no ping_group_range here, or no iputils. */
                print_message("skipping: %s\n", call.error);
                call_done(&call);
                skip();
        }
        if (r < 0)
                fail_msg("ping_host: %s", call.error);
        assert_string_equal(jstr(call.result, "address"), "127.0.0.1");
        assert_int_equal(jint(call.result, "transmitted"), 3);
        assert_int_equal(jint(call.result, "received"), 3);
        assert_int_equal(json_array_size(json_object_get(call.result, "replies")), 3);
        rep = json_array_get(json_object_get(call.result, "replies"), 0);
        assert_int_equal(jint(rep, "seq"), 1);
        assert_true(jint(rep, "ttl") > 0);
        assert_true(json_is_object(json_object_get(call.result, "rtt")));
        assert_non_null(strstr(call.text, "3 received"));
        /* One progress notification per reply. */
        assert_int_equal(pr.n, 3);
        assert_true(pr.last == 3 && pr.total == 3);
        assert_non_null(strstr(pr.msg, "reply from 127.0.0.1"));
        call_done(&call);
}

static void test_ping_denied(void **state) {
        ToolCall call;

        assert_int_equal(run("ping_host", "{\"host\":\"169.254.169.254\"}", &call), -EPERM);
        assert_non_null(strstr(call.error, "169.254.169.254"));
        assert_non_null(strstr(call.error, "network.denied_cidrs"));
        assert_non_null(strstr(call.error, "link-local"));
        call_done(&call);

        /* IPv4-mapped IPv6 is the same address. */
        assert_int_equal(run("ping_host", "{\"host\":\"::ffff:169.254.169.254\"}", &call), -EPERM);
        call_done(&call);

        assert_int_equal(run("ping_host", "{\"host\":\"bad host;id\"}", &call), -EINVAL);
        call_done(&call);
}

static void *cancel_after(void *p) {
        struct timespec ts = { .tv_sec = 0, .tv_nsec = 400 * 1000000L };

        nanosleep(&ts, NULL);
        atomic_store((atomic_bool *) p, true);
        return NULL;
}

static void test_ping_cancel(void **state) {
        atomic_bool cancel = false;
        uint64_t t0 = now_ms();
        ToolCall call;
        pthread_t t;
        int r;

        assert_int_equal(pthread_create(&t, NULL, cancel_after, &cancel), 0);
        r = run_env(&env, "ping_host", "{\"host\":\"127.0.0.1\",\"count\":20}", &call, &cancel, NULL, NULL);
        pthread_join(t, NULL);
        if (r < 0 && r != -ECANCELED && unprivileged_or_missing(call.error)) {
                call_done(&call);
                skip();
        }
        assert_int_equal(r, -ECANCELED);
        assert_true(now_ms() - t0 < 2000);
        call_done(&call);
}

static void test_traceroute_localhost(void **state) {
        ToolCall call;
        json_t *hops;

        if (run("traceroute", "{\"host\":\"127.0.0.1\",\"max_hops\":5}", &call) < 0) {
                if (unprivileged_or_missing(call.error)) {
                        print_message("skipping: %s\n", call.error);
                        call_done(&call);
                        skip();
                }
                fail_msg("traceroute: %s", call.error);
        }
        hops = json_object_get(call.result, "hops");
        assert_true(json_array_size(hops) >= 1);
        assert_string_equal(jstr(json_array_get(hops, 0), "address"), "127.0.0.1");
        assert_true(jbool(call.result, "destination_reached"));
        assert_int_equal(jint(call.result, "max_hops"), 5);
        call_done(&call);

        assert_int_equal(run("traceroute", "{\"host\":\"127.0.0.2\"}", &call), -EPERM);
        call_done(&call);
}

/* test_port_connectivity -------------------------------------------------------- */

static void test_ports(void **state) {
        unsigned open_port, closed = closed_port();
        int lfd = listen_local(&open_port);
        char args[256];
        ToolCall call;
        json_t *res;

        snprintf(args, sizeof args, "{\"host\":\"127.0.0.1\",\"port\":%u,\"ports\":[%u,%u],\"timeout\":2}", open_port,
                 closed, open_port);
        run_ok("test_port_connectivity", args, &call);
        res = json_object_get(call.result, "results");
        assert_int_equal(json_array_size(res), 2);      /* duplicates merged */
        assert_int_equal(jint(json_array_get(res, 0), "port"), open_port);
        assert_string_equal(jstr(json_array_get(res, 0), "state"), "open");
        assert_true(json_is_number(json_object_get(json_array_get(res, 0), "latency_ms")));
        assert_int_equal(jint(json_array_get(res, 1), "port"), closed);
        assert_string_equal(jstr(json_array_get(res, 1), "state"), "closed");
        assert_non_null(strstr(call.text, "open"));
        call_done(&call);
        close(lfd);

        /* IPv6 loopback, where the host has it. */
        {
                struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
                socklen_t sl = sizeof s6;
                int fd6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);

                if (fd6 >= 0 && bind(fd6, (struct sockaddr *) &s6, sizeof s6) == 0 && listen(fd6, 4) == 0 &&
                    getsockname(fd6, (struct sockaddr *) &s6, &sl) == 0) {
                        snprintf(args, sizeof args, "{\"host\":\"[::1]\",\"port\":%u}", ntohs(s6.sin6_port));
                        run_ok("test_port_connectivity", args, &call);
                        assert_string_equal(jstr(call.result, "address"), "::1");
                        assert_string_equal(jstr(json_array_get(json_object_get(call.result, "results"), 0), "state"),
                                            "open");
                        call_done(&call);
                }
                if (fd6 >= 0)
                        close(fd6);
        }

        /* Neither port nor ports. */
        assert_int_equal(run("test_port_connectivity", "{\"host\":\"127.0.0.1\"}", &call), -EINVAL);
        call_done(&call);
        /* A denied address, and a name that resolves to one. */
        assert_int_equal(run("test_port_connectivity", "{\"host\":\"127.0.0.2\",\"port\":22}", &call), -EPERM);
        assert_non_null(strstr(call.error, "127.0.0.2/32"));
        call_done(&call);
}

/* A listener whose accept queue is full (backlog 0, never accepting): the
 * kernel drops further SYNs, which is exactly what a filtering firewall
 * looks like from here. */
static int listen_full(unsigned *ret_port, int clients[4]) {
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof sin;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct timespec ts = { .tv_sec = 0, .tv_nsec = 200 * 1000000L };

        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sin, sizeof sin), 0);
        assert_int_equal(listen(fd, 0), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &sin, &len), 0);
        for (int i = 0; i < 4; i++) {
                clients[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                assert_true(clients[i] >= 0);
                (void) connect(clients[i], (struct sockaddr *) &sin, sizeof sin);
        }
        nanosleep(&ts, NULL);
        *ret_port = ntohs(sin.sin_port);
        return fd;
}

static void test_ports_filtered_and_cancel(void **state) {
        atomic_bool cancel = false;
        int clients[4], lfd;
        unsigned port, open_port;
        int ofd = listen_local(&open_port);
        char args[160];
        uint64_t t0;
        ToolCall call;
        json_t *res;
        pthread_t t;

        lfd = listen_full(&port, clients);

        /* One filtered, one open: the open one does not wait for the other. */
        snprintf(args, sizeof args, "{\"host\":\"127.0.0.1\",\"ports\":[%u,%u],\"timeout\":1}", port, open_port);
        t0 = now_ms();
        run_ok("test_port_connectivity", args, &call);
        assert_true(now_ms() - t0 >= 900 && now_ms() - t0 < 2000);
        res = json_object_get(call.result, "results");
        assert_string_equal(jstr(json_array_get(res, 0), "state"), "filtered");
        assert_true(json_is_null(json_object_get(json_array_get(res, 0), "latency_ms")));
        assert_string_equal(jstr(json_array_get(res, 1), "state"), "open");
        call_done(&call);

        snprintf(args, sizeof args, "{\"host\":\"127.0.0.1\",\"port\":%u,\"timeout\":30}", port);
        t0 = now_ms();
        assert_int_equal(pthread_create(&t, NULL, cancel_after, &cancel), 0);
        assert_int_equal(run_env(&env, "test_port_connectivity", args, &call, &cancel, NULL, NULL), -ECANCELED);
        pthread_join(t, NULL);
        assert_true(now_ms() - t0 < 1500);
        call_done(&call);

        /* The TLS check on a port that never answers times out in time. */
        {
                ToolEnv quick = env;

                quick.timeout_sec = 1;
                snprintf(args, sizeof args, "{\"host\":\"127.0.0.1\",\"port\":%u}", port);
                t0 = now_ms();
                assert_int_equal(run_env(&quick, "check_ssl_certificate", args, &call, NULL, NULL, NULL), -ETIMEDOUT);
                assert_true(now_ms() - t0 < 2500);
                call_done(&call);
        }

        for (int i = 0; i < 4; i++)
                close(clients[i]);
        close(lfd);
        close(ofd);
}

static void test_ports_port_policy(void **state) {
        char *allowed[] = { (char *) "127.0.0.0/8", NULL };
        char *ports[] = { (char *) "22", (char *) "8000-8999", NULL };
        ToolEnv e = env;
        NetPolicy *p = NULL;
        ToolCall call;
        char err[256];

        assert_int_equal(netpolicy_new(allowed, NULL, ports, &p, err, sizeof err), 0);
        e.net = p;
        assert_int_equal(run_env(&e, "test_port_connectivity", "{\"host\":\"127.0.0.1\",\"port\":25}", &call, NULL,
                                 NULL, NULL),
                         -EPERM);
        assert_non_null(strstr(call.error, "network.allowed_ports"));
        call_done(&call);
        /* Not in allowed_cidrs. */
        assert_int_equal(run_env(&e, "test_port_connectivity", "{\"host\":\"10.0.0.1\",\"port\":22}", &call, NULL,
                                 NULL, NULL),
                         -EPERM);
        assert_non_null(strstr(call.error, "network.allowed_cidrs"));
        call_done(&call);
        /* No policy at all denies everything. */
        e.net = NULL;
        assert_int_equal(run_env(&e, "test_port_connectivity", "{\"host\":\"127.0.0.1\",\"port\":22}", &call, NULL,
                                 NULL, NULL),
                         -EPERM);
        call_done(&call);
        netpolicy_free(p);
}

/* DNS: a tiny authoritative responder for "example.test" ---------------------------- */

typedef struct Responder {
        int fd;
        int tcp_fd;
        atomic_bool stop;
        pthread_t thread;
} Responder;

static size_t put16(unsigned char *p, unsigned v) {
        p[0] = (unsigned char) (v >> 8);
        p[1] = (unsigned char) v;
        return 2;
}

static size_t put_rr(unsigned char *p, unsigned type, unsigned ttl, const unsigned char *rdata, size_t rdlen) {
        size_t o = 0;

        o += put16(p + o, 0xc00c); /* the question name */
        o += put16(p + o, type);
        o += put16(p + o, ns_c_in);
        o += put16(p + o, ttl >> 16);
        o += put16(p + o, ttl & 0xffff);
        o += put16(p + o, (unsigned) rdlen);
        memcpy(p + o, rdata, rdlen);
        return o + rdlen;
}

static size_t dns_answer(const unsigned char *q, size_t qlen, unsigned char *out, bool tcp) {
        char name[256];
        size_t pos = 12, n = 0, o;
        unsigned qtype, ancount = 0, rcode = 0;
        bool tc = false;

        if (qlen < 17)
                return 0;
        while (pos < qlen && q[pos] != 0) {
                size_t l = q[pos++];

                if (pos + l > qlen || n + l + 1 >= sizeof name)
                        return 0;
                if (n)
                        name[n++] = '.';
                for (size_t i = 0; i < l; i++)
                        name[n++] = (char) (q[pos + i] | 0x20);
                pos += l;
        }
        name[n] = '\0';
        pos++;
        if (pos + 4 > qlen)
                return 0;
        qtype = (unsigned) (q[pos] << 8 | q[pos + 1]);
        pos += 4;

        memcpy(out, q, pos);    /* header + question */
        o = pos;
        if (streq(name, "example.test")) {
                if (qtype == ns_t_a) {
                        static const unsigned char a[4] = { 192, 0, 2, 10 };

                        o += put_rr(out + o, ns_t_a, 300, a, 4);
                        ancount++;
                } else if (qtype == ns_t_aaaa) {
                        unsigned char a6[16];

                        inet_pton(AF_INET6, "2001:db8::10", a6);
                        o += put_rr(out + o, ns_t_aaaa, 300, a6, 16);
                        ancount++;
                } else if (qtype == ns_t_mx) {
                        static const unsigned char mx[] = { 0, 10, 4, 'm', 'a', 'i', 'l', 0xc0, 0x0c };

                        o += put_rr(out + o, ns_t_mx, 3600, mx, sizeof mx);
                        ancount++;
                } else if (qtype == ns_t_txt) {
                        static const unsigned char txt[] = { 6, 'v', '=', 's', 'p', 'f', '1', 5, ' ', '-', 'a', 'l', 0x1b };

                        o += put_rr(out + o, ns_t_txt, 60, txt, sizeof txt);
                        ancount++;
                }
        } else if (streq(name, "www.example.test")) {
                /* "example.test" as a name: 7 example 4 test 0 */
                static const unsigned char target[] = { 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0 };

                o += put_rr(out + o, ns_t_cname, 120, target, sizeof target);
                ancount++;
        } else if (streq(name, "big.example.test")) {
                /* Over UDP only the TC bit; over TCP 600 bytes of TXT. */
                if (tcp) {
                        unsigned char txt[603];

                        for (int k = 0; k < 3; k++) {
                                txt[k * 201] = 200;
                                memset(txt + k * 201 + 1, 'a' + k, 200);
                        }
                        o += put_rr(out + o, ns_t_txt, 60, txt, sizeof txt);
                        ancount++;
                } else
                        tc = true;
        } else if (streq(name, "refused.example.test"))
                rcode = 5;
        else
                rcode = 3; /* NXDOMAIN */

        out[2] = (unsigned char) (0x84 | (tc ? 0x02 : 0) | (q[2] & 0x01)); /* QR, AA, TC, RD copied */
        out[3] = (unsigned char) (0x80 | rcode);          /* RA */
        put16(out + 6, ancount);
        put16(out + 8, 0);
        put16(out + 10, 0);
        return o;
}

static void responder_tcp(int c) {
        unsigned char q[514], a[2048];
        size_t got = 0, need = 2, len;

        /* Length-prefixed query, then a length-prefixed answer. */
        while (got < need) {
                struct pollfd p = { .fd = c, .events = POLLIN };
                ssize_t n;

                if (poll(&p, 1, 2000) <= 0)
                        return;
                n = read(c, q + got, need - got);
                if (n <= 0)
                        return;
                got += (size_t) n;
                if (got == 2) {
                        need = 2 + ((size_t) q[0] << 8 | q[1]);
                        if (need > sizeof q)
                                return;
                }
        }
        len = dns_answer(q + 2, need - 2, a + 2, true);
        if (len == 0)
                return;
        a[0] = (unsigned char) (len >> 8);
        a[1] = (unsigned char) len;
        (void) !write(c, a, len + 2);
}

static void *responder_main(void *p) {
        Responder *r = p;

        while (!atomic_load(&r->stop)) {
                struct pollfd pfd[2] = { { .fd = r->fd, .events = POLLIN }, { .fd = r->tcp_fd, .events = POLLIN } };
                unsigned char q[512], a[1024];
                struct sockaddr_storage from;
                socklen_t fl = sizeof from;
                ssize_t n;
                size_t len;

                if (poll(pfd, 2, 50) <= 0)
                        continue;
                if (pfd[1].revents) {
                        int c = accept(r->tcp_fd, NULL, NULL);

                        if (c >= 0) {
                                responder_tcp(c);
                                close(c);
                        }
                }
                if (!pfd[0].revents)
                        continue;
                n = recvfrom(r->fd, q, sizeof q, 0, (struct sockaddr *) &from, &fl);
                if (n <= 0)
                        continue;
                len = dns_answer(q, (size_t) n, a, false);
                if (len > 0)
                        (void) sendto(r->fd, a, len, 0, (struct sockaddr *) &from, fl);
        }
        return NULL;
}

static unsigned responder_start(Responder *r) {
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof sin;
        int one = 1;

        /* A TCP listener first, then UDP on the same port number. */
        r->tcp_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(r->tcp_fd >= 0);
        assert_int_equal(setsockopt(r->tcp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
        assert_int_equal(bind(r->tcp_fd, (struct sockaddr *) &sin, sizeof sin), 0);
        assert_int_equal(listen(r->tcp_fd, 8), 0);
        assert_int_equal(getsockname(r->tcp_fd, (struct sockaddr *) &sin, &len), 0);
        r->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        assert_true(r->fd >= 0);
        assert_int_equal(bind(r->fd, (struct sockaddr *) &sin, sizeof sin), 0);
        atomic_store(&r->stop, false);
        assert_int_equal(pthread_create(&r->thread, NULL, responder_main, r), 0);
        return ntohs(sin.sin_port);
}

static void responder_stop(Responder *r) {
        atomic_store(&r->stop, true);
        pthread_join(r->thread, NULL);
        close(r->fd);
        close(r->tcp_fd);
}

static void dns_query(unsigned port, const char *domain, const char *type, ToolCall *call) {
        char args[256];

        snprintf(args, sizeof args, "{\"domain\":\"%s\",\"record_type\":\"%s\",\"server\":\"127.0.0.1:%u\"}", domain,
                 type, port);
        run_ok("dns_lookup", args, call);
        assert_string_equal(jstr(call->result, "record_type"), type);
}

static void test_dns(void **state) {
        Responder resp;
        unsigned port = responder_start(&resp);
        ToolCall call;
        json_t *a;

        dns_query(port, "example.test", "A", &call);
        assert_string_equal(jstr(call.result, "rcode"), "NOERROR");
        a = json_array_get(json_object_get(call.result, "answers"), 0);
        assert_string_equal(jstr(a, "value"), "192.0.2.10");
        assert_string_equal(jstr(a, "type"), "A");
        assert_int_equal(jint(a, "ttl"), 300);
        assert_string_equal(jstr(a, "name"), "example.test");
        assert_non_null(strstr(call.text, "192.0.2.10"));
        call_done(&call);

        dns_query(port, "example.test", "AAAA", &call);
        a = json_array_get(json_object_get(call.result, "answers"), 0);
        assert_string_equal(jstr(a, "value"), "2001:db8::10");
        call_done(&call);

        dns_query(port, "example.test", "MX", &call);
        a = json_array_get(json_object_get(call.result, "answers"), 0);
        assert_string_equal(jstr(a, "value"), "mail.example.test");
        assert_int_equal(jint(a, "preference"), 10);
        assert_int_equal(jint(a, "ttl"), 3600);
        call_done(&call);

        /* Two character-strings joined; the escape character is neutralised. */
        dns_query(port, "example.test", "TXT", &call);
        a = json_array_get(json_object_get(call.result, "answers"), 0);
        assert_string_equal(jstr(a, "value"), "v=spf1 -al?");
        call_done(&call);

        dns_query(port, "WWW.example.test.", "CNAME", &call);
        a = json_array_get(json_object_get(call.result, "answers"), 0);
        assert_string_equal(jstr(a, "value"), "example.test");
        call_done(&call);

        dns_query(port, "nope.example.test", "A", &call);
        assert_string_equal(jstr(call.result, "rcode"), "NXDOMAIN");
        assert_int_equal(json_array_size(json_object_get(call.result, "answers")), 0);
        call_done(&call);

        /* NODATA: the name exists, the type does not. */
        dns_query(port, "www.example.test", "MX", &call);
        assert_string_equal(jstr(call.result, "rcode"), "NOERROR");
        call_done(&call);

        dns_query(port, "refused.example.test", "A", &call);
        assert_string_equal(jstr(call.result, "rcode"), "REFUSED");
        call_done(&call);

        /* A truncated UDP answer is repeated over TCP. */
        dns_query(port, "big.example.test", "TXT", &call);
        assert_true(jbool(call.result, "tcp"));
        assert_true(jbool(call.result, "authoritative"));
        a = json_array_get(json_object_get(call.result, "answers"), 0);
        assert_int_equal(strlen(jstr(a, "value")), 600);
        call_done(&call);

        responder_stop(&resp);

        /* Bad input is refused before any packet is sent. */
        assert_int_equal(run("dns_lookup", "{\"domain\":\"exa mple.test\"}", &call), -EINVAL);
        call_done(&call);
        assert_int_equal(run("dns_lookup", "{\"domain\":\"a..b\"}", &call), -EINVAL);
        call_done(&call);
        assert_int_equal(run("dns_lookup", "{\"domain\":\"example.test\",\"server\":\"not-an-ip\"}", &call), -EINVAL);
        call_done(&call);
        /* The server must pass the allowlist too. */
        assert_int_equal(run("dns_lookup", "{\"domain\":\"example.test\",\"server\":\"169.254.169.254\"}", &call),
                         -EPERM);
        call_done(&call);
}

static void test_dns_timeout_and_cancel(void **state) {
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof sin;
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ToolEnv quick = env;
        atomic_bool cancel = false;
        char args[128];
        ToolCall call;
        pthread_t t;
        uint64_t t0;

        /* A server that never answers. */
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sin, sizeof sin), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &sin, &len), 0);
        snprintf(args, sizeof args, "{\"domain\":\"example.test\",\"server\":\"127.0.0.1:%u\"}", ntohs(sin.sin_port));

        quick.timeout_sec = 1;
        t0 = now_ms();
        assert_int_equal(run_env(&quick, "dns_lookup", args, &call, NULL, NULL, NULL), -ETIMEDOUT);
        assert_true(now_ms() - t0 < 2500);
        assert_non_null(strstr(call.error, "no answer"));
        call_done(&call);

        t0 = now_ms();
        assert_int_equal(pthread_create(&t, NULL, cancel_after, &cancel), 0);
        assert_int_equal(run_env(&env, "dns_lookup", args, &call, &cancel, NULL, NULL), -ECANCELED);
        pthread_join(t, NULL);
        assert_true(now_ms() - t0 < 1500);
        call_done(&call);
        close(fd);

        /* Nobody listening: ICMP port unreachable ends it at once. */
        snprintf(args, sizeof args, "{\"domain\":\"example.test\",\"server\":\"127.0.0.1:%u\"}", closed_port());
        assert_true(run("dns_lookup", args, &call) < 0);
        call_done(&call);
}

static void test_dns_parse_malformed(void **state) {
        static const unsigned char truncated[] = { 0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 1, 'a', 0 };
        _cleanup_json_ json_t *answers = NULL;

        assert_int_equal(diag_dns_parse(truncated, sizeof truncated, &answers), -EBADMSG);
        assert_int_equal(diag_dns_parse(truncated, 3, &answers), -EBADMSG);
        assert_null(answers);
}

/* TLS: a self-signed certificate for "localhost", served from a thread ------------ */

/* A certificate for `cn` with SAN `san` (NULL: none), valid from
 * `from_days` to `to_days` relative to now, signed by (ca, ca_key) or by
 * itself. */
static void make_cert(const char *cn, const char *san, long from_days, long to_days, bool is_ca, X509 *ca,
                      EVP_PKEY *ca_key, X509 **ret_cert, EVP_PKEY **ret_key) {
        static long serial = 4242;
        EVP_PKEY *key = EVP_EC_gen("P-256");
        X509 *c = X509_new();
        X509_NAME *name;
        X509V3_CTX v3;

        assert_non_null(key);
        assert_non_null(c);
        X509_set_version(c, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(c), serial++);
        X509_gmtime_adj(X509_getm_notBefore(c), from_days * 86400 - 3600);
        X509_gmtime_adj(X509_getm_notAfter(c), to_days * 86400 + 3600);
        X509_set_pubkey(c, key);
        name = X509_get_subject_name(c);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *) cn, -1, -1, 0);
        X509_set_issuer_name(c, ca ? X509_get_subject_name(ca) : name);
        X509V3_set_ctx(&v3, ca ? ca : c, c, NULL, NULL, 0);
        if (san) {
                X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);

                assert_non_null(ext);
                X509_add_ext(c, ext, -1);
                X509_EXTENSION_free(ext);
        }
        if (is_ca) {
                X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");

                assert_non_null(ext);
                X509_add_ext(c, ext, -1);
                X509_EXTENSION_free(ext);
        }
        assert_true(X509_sign(c, ca_key ? ca_key : key, EVP_sha256()) > 0);
        *ret_cert = c;
        *ret_key = key;
}

typedef struct TlsServer {
        int fd;
        SSL_CTX *ctx;
        atomic_bool stop;
        pthread_t thread;
} TlsServer;

static void *tls_main(void *p) {
        TlsServer *s = p;

        while (!atomic_load(&s->stop)) {
                struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
                SSL *ssl;
                int c;

                if (poll(&pfd, 1, 50) <= 0)
                        continue;
                c = accept(s->fd, NULL, NULL);
                if (c < 0)
                        continue;
                ssl = SSL_new(s->ctx);
                SSL_set_fd(ssl, c);
                if (SSL_accept(ssl) == 1)
                        SSL_shutdown(ssl);
                SSL_free(ssl);
                close(c);
        }
        return NULL;
}

static void tls_start(TlsServer *s, X509 *cert, EVP_PKEY *key, X509 *chain, unsigned *ret_port) {
        *s = (TlsServer) {};
        s->ctx = SSL_CTX_new(TLS_server_method());
        assert_non_null(s->ctx);
        assert_int_equal(SSL_CTX_use_certificate(s->ctx, cert), 1);
        assert_int_equal(SSL_CTX_use_PrivateKey(s->ctx, key), 1);
        if (chain)
                assert_int_equal(SSL_CTX_add1_chain_cert(s->ctx, chain), 1);
        s->fd = listen_local(ret_port);
        assert_int_equal(pthread_create(&s->thread, NULL, tls_main, s), 0);
}

static void tls_stop(TlsServer *s) {
        atomic_store(&s->stop, true);
        pthread_join(s->thread, NULL);
        close(s->fd);
        SSL_CTX_free(s->ctx);
}

static void test_tls(void **state) {
        X509 *cert;
        EVP_PKEY *key;
        TlsServer s;
        unsigned port;
        char args[128];
        ToolCall call;
        json_t *leaf;

        make_cert("localhost", "DNS:localhost", 0, 30, false, NULL, NULL, &cert, &key);
        tls_start(&s, cert, key, NULL, &port);

        snprintf(args, sizeof args, "{\"host\":\"localhost\",\"port\":%u}", port);
        run_ok("check_ssl_certificate", args, &call);
        assert_string_equal(jstr(call.result, "address"), "127.0.0.1");
        assert_false(jbool(call.result, "verified"));   /* self-signed */
        assert_non_null(strstr(jstr(call.result, "verify_result"), "self-signed"));
        assert_true(jbool(call.result, "hostname_match"));
        assert_false(jbool(call.result, "expired"));
        assert_true(jint(call.result, "days_left") >= 29 && jint(call.result, "days_left") <= 30);
        assert_non_null(strstr(jstr(call.result, "protocol"), "TLSv1"));
        assert_true(strlen(jstr(call.result, "cipher")) > 0);
        leaf = json_array_get(json_object_get(call.result, "chain"), 0);
        assert_string_equal(jstr(leaf, "subject"), "CN=localhost");
        assert_string_equal(jstr(leaf, "issuer"), "CN=localhost");
        assert_string_equal(json_string_value(json_array_get(json_object_get(leaf, "san"), 0)), "localhost");
        assert_string_equal(jstr(leaf, "key_type"), "EC");
        assert_int_equal(jint(leaf, "key_bits"), 256);
        assert_true(jbool(leaf, "self_signed"));
        assert_non_null(strstr(jstr(leaf, "signature_algorithm"), "ecdsa"));
        assert_true(strlen(jstr(leaf, "serial")) > 0);
        call_done(&call);

        /* Same certificate, asked as 127.0.0.1: no IP SAN, no match. */
        snprintf(args, sizeof args, "{\"host\":\"127.0.0.1\",\"port\":%u}", port);
        run_ok("check_ssl_certificate", args, &call);
        assert_false(jbool(call.result, "hostname_match"));
        call_done(&call);
        tls_stop(&s);
        X509_free(cert);
        EVP_PKEY_free(key);

        /* Expired. */
        make_cert("old.test", "DNS:localhost", -60, -2, false, NULL, NULL, &cert, &key);
        tls_start(&s, cert, key, NULL, &port);
        snprintf(args, sizeof args, "{\"host\":\"localhost\",\"port\":%u}", port);
        run_ok("check_ssl_certificate", args, &call);
        assert_true(jbool(call.result, "expired"));
        assert_true(jint(call.result, "days_left") < 0);
        assert_false(jbool(call.result, "verified"));
        call_done(&call);
        tls_stop(&s);
        X509_free(cert);
        EVP_PKEY_free(key);

        /* Not TLS at all: a closed port. */
        snprintf(args, sizeof args, "{\"host\":\"127.0.0.1\",\"port\":%u}", closed_port());
        assert_true(run("check_ssl_certificate", args, &call) < 0);
        call_done(&call);

        /* A TCP server that never speaks TLS: the handshake times out. */
        {
                ToolEnv quick = env;
                int lfd = listen_local(&port);
                uint64_t t0 = now_ms();

                quick.timeout_sec = 1;
                snprintf(args, sizeof args, "{\"host\":\"127.0.0.1\",\"port\":%u}", port);
                assert_int_equal(run_env(&quick, "check_ssl_certificate", args, &call, NULL, NULL, NULL), -ETIMEDOUT);
                assert_true(now_ms() - t0 < 2500);
                call_done(&call);
                close(lfd);
        }
}

/* A chain from our own CA, trusted through SSL_CERT_FILE: verifies. */
static void test_tls_trusted_chain(void **state) {
        char ca_path[] = "/tmp/test_diag_ca_XXXXXX";
        X509 *ca, *leaf;
        EVP_PKEY *ca_key, *leaf_key;
        TlsServer s;
        unsigned port;
        char args[128];
        ToolCall call;
        FILE *f;
        int fd;

        make_cert("Test Root CA", NULL, -1, 365, true, NULL, NULL, &ca, &ca_key);
        make_cert("localhost", "DNS:localhost,IP:127.0.0.1", 0, 90, false, ca, ca_key, &leaf, &leaf_key);
        fd = mkstemp(ca_path);
        assert_true(fd >= 0);
        f = fdopen(fd, "w");
        assert_non_null(f);
        assert_int_equal(PEM_write_X509(f, ca), 1);
        fclose(f);
        assert_int_equal(setenv("SSL_CERT_FILE", ca_path, 1), 0);

        tls_start(&s, leaf, leaf_key, ca, &port);
        snprintf(args, sizeof args, "{\"host\":\"127.0.0.1\",\"port\":%u}", port);
        run_ok("check_ssl_certificate", args, &call);
        assert_true(jbool(call.result, "verified"));
        assert_string_equal(jstr(call.result, "verify_result"), "ok");
        assert_true(jbool(call.result, "hostname_match"));
        assert_int_equal(json_array_size(json_object_get(call.result, "chain")), 2);
        assert_string_equal(jstr(json_array_get(json_object_get(call.result, "chain"), 1), "subject"),
                            "CN=Test Root CA");
        assert_false(jbool(json_array_get(json_object_get(call.result, "chain"), 0), "self_signed"));
        assert_non_null(strstr(call.text, "hostname matches"));
        call_done(&call);

        tls_stop(&s);
        unsetenv("SSL_CERT_FILE");
        unlink(ca_path);
        X509_free(leaf);
        X509_free(ca);
        EVP_PKEY_free(leaf_key);
        EVP_PKEY_free(ca_key);
}

/* HTTP: a tiny server --------------------------------------------------------------- */

typedef struct HttpServer {
        int fd;
        unsigned port;
        atomic_bool stop;
        pthread_t thread;
} HttpServer;

static void http_reply(int c, const char *path, unsigned port) {
        char buf[16384];
        int n;

        if (streq(path, "/ok"))
                n = snprintf(buf, sizeof buf,
                             "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Test: a\x01" "b\r\n"
                             "Content-Length: 16\r\nConnection: close\r\n\r\nhello from test\n");
        else if (streq(path, "/big")) {
                n = snprintf(buf, sizeof buf, "HTTP/1.1 200 OK\r\nContent-Length: 10000\r\nConnection: close\r\n\r\n");
                memset(buf + n, 'x', 10000);
                n += 10000;
        } else if (streq(path, "/redir"))
                n = snprintf(buf, sizeof buf, "HTTP/1.1 302 Found\r\nLocation: /ok\r\nContent-Length: 0\r\n"
                                              "Connection: close\r\n\r\n");
        else if (streq(path, "/evil"))
                n = snprintf(buf, sizeof buf, "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.2:%u/ok\r\n"
                                              "Content-Length: 0\r\nConnection: close\r\n\r\n", port);
        else if (streq(path, "/metadata"))
                n = snprintf(buf, sizeof buf, "HTTP/1.1 301 Moved\r\nLocation: http://169.254.169.254/latest/\r\n"
                                              "Content-Length: 0\r\nConnection: close\r\n\r\n");
        else if (streq(path, "/file"))
                n = snprintf(buf, sizeof buf, "HTTP/1.1 302 Found\r\nLocation: file:///etc/passwd\r\n"
                                              "Content-Length: 0\r\nConnection: close\r\n\r\n");
        else if (streq(path, "/loop"))
                n = snprintf(buf, sizeof buf, "HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n"
                                              "Connection: close\r\n\r\n");
        else
                n = snprintf(buf, sizeof buf, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        for (int off = 0; off < n;) {
                ssize_t w = write(c, buf + off, (size_t) (n - off));

                if (w <= 0)
                        break;
                off += (int) w;
        }
}

static void *http_main(void *p) {
        HttpServer *s = p;

        while (!atomic_load(&s->stop)) {
                struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
                char req[4096], path[256] = "";
                size_t len = 0;
                int c;

                if (poll(&pfd, 1, 50) <= 0)
                        continue;
                c = accept(s->fd, NULL, NULL);
                if (c < 0)
                        continue;
                while (len + 1 < sizeof req) {
                        struct pollfd cp = { .fd = c, .events = POLLIN };
                        ssize_t n;

                        if (poll(&cp, 1, 2000) <= 0)
                                break;
                        n = read(c, req + len, sizeof req - 1 - len);
                        if (n <= 0)
                                break;
                        len += (size_t) n;
                        req[len] = '\0';
                        if (strstr(req, "\r\n\r\n"))
                                break;
                }
                req[len] = '\0';
                if (sscanf(req, "%*s %255s", path) == 1)
                        http_reply(c, path, s->port);
                close(c);
        }
        return NULL;
}

static void http_start(HttpServer *s) {
        s->fd = listen_local(&s->port);
        atomic_store(&s->stop, false);
        assert_int_equal(pthread_create(&s->thread, NULL, http_main, s), 0);
}

static void http_stop(HttpServer *s) {
        atomic_store(&s->stop, true);
        pthread_join(s->thread, NULL);
        close(s->fd);
}

static void http_get(HttpServer *s, const ToolEnv *e, const char *path, const char *method, ToolCall *call,
                     int expect) {
        char args[256];
        int r;

        snprintf(args, sizeof args, "{\"url\":\"http://127.0.0.1:%u%s\",\"method\":\"%s\",\"timeout\":5}", s->port,
                 path, method);
        r = run_env(e, "http_request_test", args, call, NULL, NULL, NULL);
        if (r != expect)
                fail_msg("%s %s: got %d (%s), expected %d", method, path, r, call->error, expect);
}

static void test_http(void **state) {
        HttpServer s = {};
        ToolEnv small = env;
        ToolCall call;
        json_t *h;
        bool found = false;
        size_t i;

        http_start(&s);

        http_get(&s, &env, "/ok", "GET", &call, 0);
        assert_int_equal(jint(call.result, "status"), 200);
        assert_string_equal(jstr(call.result, "body_preview"), "hello from test\n");
        assert_false(jbool(call.result, "truncated"));
        assert_int_equal(jint(call.result, "redirects"), 0);
        assert_string_equal(jstr(call.result, "address"), "127.0.0.1");
        json_array_foreach(json_object_get(call.result, "headers"), i, h)
                if (streq(jstr(h, "name"), "X-Test")) {
                        assert_string_equal(jstr(h, "value"), "a?b");   /* control byte neutralised */
                        found = true;
                }
        assert_true(found);
        call_done(&call);

        http_get(&s, &env, "/ok", "HEAD", &call, 0);
        assert_int_equal(jint(call.result, "body_bytes"), 0);
        call_done(&call);

        http_get(&s, &env, "/redir", "GET", &call, 0);
        assert_int_equal(jint(call.result, "status"), 200);
        assert_int_equal(jint(call.result, "redirects"), 1);
        assert_non_null(strstr(jstr(call.result, "url"), "/ok"));
        call_done(&call);

        /* A redirect to a denied address is refused before connecting. */
        http_get(&s, &env, "/evil", "GET", &call, -EPERM);
        assert_non_null(strstr(call.error, "127.0.0.2"));
        assert_non_null(strstr(call.error, "network.denied_cidrs"));
        call_done(&call);
        http_get(&s, &env, "/metadata", "GET", &call, -EPERM);
        assert_non_null(strstr(call.error, "169.254.169.254"));
        call_done(&call);
        /* Only http and https. */
        http_get(&s, &env, "/file", "GET", &call, -EINVAL);
        call_done(&call);

        /* At most 5 redirects. */
        http_get(&s, &env, "/loop", "GET", &call, 0);
        assert_true(jbool(call.result, "redirect_limit_reached"));
        assert_int_equal(jint(call.result, "redirects"), 5);
        call_done(&call);

        /* The body preview is capped at max_output_bytes. */
        small.max_output_bytes = 1000;
        http_get(&s, &small, "/big", "GET", &call, 0);
        assert_true(jbool(call.result, "truncated"));
        assert_int_equal(jint(call.result, "body_bytes"), 1000);
        call_done(&call);

        /* A name that resolves to a denied address: refused at connect time,
         * by the address curl actually connects to. */
        {
                char *allowed[] = { (char *) "0.0.0.0/0", (char *) "::/0", NULL };
                char *denied[] = { (char *) "127.0.0.0/8", (char *) "::1", NULL };
                char *ports[] = { (char *) "1-65535", NULL };
                ToolEnv strict = env;
                NetPolicy *p = NULL;
                char err[256];

                assert_int_equal(netpolicy_new(allowed, denied, ports, &p, err, sizeof err), 0);
                strict.net = p;
                snprintf(err, sizeof err, "{\"url\":\"http://localhost:%u/ok\"}", s.port);
                assert_int_equal(run_env(&strict, "http_request_test", err, &call, NULL, NULL, NULL), -EPERM);
                assert_non_null(strstr(call.error, "host localhost"));
                assert_non_null(strstr(call.error, "network.denied_cidrs"));
                call_done(&call);

                snprintf(err, sizeof err, "{\"host\":\"localhost\",\"port\":%u}", s.port);
                assert_int_equal(run_env(&strict, "test_port_connectivity", err, &call, NULL, NULL, NULL), -EPERM);
                assert_non_null(strstr(call.error, "it resolves to"));
                call_done(&call);
                netpolicy_free(p);
        }

        /* A server that never answers: timeout, and cancellation. */
        {
                int clients[4], lfd;
                unsigned port;
                atomic_bool cancel = false;
                char args[128];
                pthread_t t;
                uint64_t t0;

                lfd = listen_full(&port, clients);
                snprintf(args, sizeof args, "{\"url\":\"http://127.0.0.1:%u/\",\"timeout\":1}", port);
                t0 = now_ms();
                assert_int_equal(run("http_request_test", args, &call), -ETIMEDOUT);
                assert_true(now_ms() - t0 < 2500);
                call_done(&call);

                snprintf(args, sizeof args, "{\"url\":\"http://127.0.0.1:%u/\",\"timeout\":30}", port);
                t0 = now_ms();
                assert_int_equal(pthread_create(&t, NULL, cancel_after, &cancel), 0);
                assert_int_equal(run_env(&env, "http_request_test", args, &call, &cancel, NULL, NULL), -ECANCELED);
                pthread_join(t, NULL);
                assert_true(now_ms() - t0 < 1500);
                call_done(&call);
                for (int k = 0; k < 4; k++)
                        close(clients[k]);
                close(lfd);
        }

        /* A direct request to a denied address. */
        assert_int_equal(run("http_request_test", "{\"url\":\"http://127.0.0.2/\"}", &call), -EPERM);
        call_done(&call);
        assert_int_equal(run("http_request_test", "{\"url\":\"ftp://127.0.0.1/\"}", &call), -EINVAL);
        call_done(&call);

        http_stop(&s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_ping),
                cmocka_unit_test(test_parse_traceroute),
                cmocka_unit_test(test_ping_localhost),
                cmocka_unit_test(test_ping_denied),
                cmocka_unit_test(test_ping_cancel),
                cmocka_unit_test(test_traceroute_localhost),
                cmocka_unit_test(test_ports),
                cmocka_unit_test(test_ports_filtered_and_cancel),
                cmocka_unit_test(test_ports_port_policy),
                cmocka_unit_test(test_dns),
                cmocka_unit_test(test_dns_timeout_and_cancel),
                cmocka_unit_test(test_dns_parse_malformed),
                cmocka_unit_test(test_tls),
                cmocka_unit_test(test_tls_trusted_chain),
                cmocka_unit_test(test_http),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
