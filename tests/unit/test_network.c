/* SPDX-License-Identifier: MIT */

/* tools/network.c: get_network_status, get_network_io_counters and
 * get_active_connections run through tool_run() with output checking on,
 * compared with /proc and getifaddrs() read by the test itself; plus the
 * /proc/net line parsers of tools/procnet.h on fixed lines. */

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "tools/procnet.h"
#include "tools/tool.h"

static const ToolEnv env = { .max_output_bytes = 1024 * 1024 };

static int setup(void **state) {
        _cleanup_free_ char *err = NULL;

        /* Every result below is also checked against its outputSchema. */
        if (setenv("SYSTEMMANAGER_CHECK_OUTPUT", "1", 1) < 0)
                return -1;
        if (tool_registry_init(&err) < 0) {
                fprintf(stderr, "tool_registry_init: %s\n", err ? err : "?");
                return -1;
        }
        return 0;
}

/* Runs a tool after validating its arguments, like the server does. */
static void run(const char *name, const char *args_json, ToolCall *call) {
        _cleanup_json_ json_t *args = NULL;
        const Tool *t = tool_find(name);
        char err[512];
        int r;

        assert_non_null(t);
        if (args_json) {
                args = json_loads(args_json, 0, NULL);
                assert_non_null(args);
        }
        if (tool_validate_args(t, args, err, sizeof err) < 0)
                fail_msg("%s %s: %s", name, args_json ? args_json : "", err);

        *call = (ToolCall) { .tool = t, .args = args, .env = &env };
        r = tool_run(call);
        if (r < 0)
                fail_msg("%s failed: %d %s", name, r, call->error);
        assert_non_null(call->result);
        assert_non_null(call->text);
        call->args = NULL;
}

static void call_done(ToolCall *call) {
        json_decref(call->result);
        free(call->text);
        *call = (ToolCall) {};
}

static json_t *find_by(json_t *array, const char *key, const char *value) {
        size_t i;
        json_t *e;

        json_array_foreach(array, i, e)
                if (streq_ptr(json_string_value(json_object_get(e, key)), value))
                        return e;
        return NULL;
}

static json_int_t int_of(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);

        if (!json_is_integer(v))
                fail_msg("%s is not an integer", key);
        return json_integer_value(v);
}

/* get_network_status ---------------------------------------------------------- */

static void test_status_loopback(void **state) {
        ToolCall call;
        json_t *ifs, *lo, *addr;
        size_t i;
        bool have = false;

        run("get_network_status", NULL, &call);
        ifs = json_object_get(call.result, "interfaces");
        lo = find_by(ifs, "name", "lo");
        assert_non_null(lo);
        assert_string_equal(json_string_value(json_object_get(lo, "state")), "up");
        {
                FILE *f = fopen("/sys/class/net/lo/mtu", "re");
                int mtu = -1;

                if (f) {
                        assert_int_equal(fscanf(f, "%d", &mtu), 1);
                        fclose(f);
                        assert_int_equal(int_of(lo, "mtu"), mtu);
                }
        }
        json_array_foreach(json_object_get(lo, "addresses"), i, addr)
                if (streq_ptr(json_string_value(json_object_get(addr, "address")), "127.0.0.1")) {
                        assert_int_equal(int_of(addr, "prefix_length"), 8);
                        assert_string_equal(json_string_value(json_object_get(addr, "family")), "ipv4");
                        assert_string_equal(json_string_value(json_object_get(addr, "scope")), "host");
                        have = true;
                }
        assert_true(have);
        have = false;
        json_array_foreach(json_object_get(lo, "flags"), i, addr)
                if (streq_ptr(json_string_value(addr), "LOOPBACK"))
                        have = true;
        assert_true(have);
        assert_non_null(strstr(call.text, "lo "));
        assert_non_null(strstr(call.text, "127.0.0.1/8"));
        call_done(&call);
}

static void test_status_interfaces_match_getifaddrs(void **state) {
        struct ifaddrs *ifa = NULL;
        ToolCall call;
        json_t *ifs;

        assert_int_equal(getifaddrs(&ifa), 0);
        run("get_network_status", "{}", &call);
        ifs = json_object_get(call.result, "interfaces");
        for (struct ifaddrs *p = ifa; p; p = p->ifa_next) {
                json_t *e = find_by(ifs, "name", p->ifa_name);
                char want[INET6_ADDRSTRLEN];
                const void *a;
                size_t i;
                json_t *x;
                bool found = false;

                if (!e)
                        fail_msg("interface %s missing", p->ifa_name);
                if (!p->ifa_addr || (p->ifa_addr->sa_family != AF_INET && p->ifa_addr->sa_family != AF_INET6))
                        continue;
                if (p->ifa_addr->sa_family == AF_INET)
                        a = &((struct sockaddr_in *) (void *) p->ifa_addr)->sin_addr;
                else
                        a = &((struct sockaddr_in6 *) (void *) p->ifa_addr)->sin6_addr;
                assert_non_null(inet_ntop(p->ifa_addr->sa_family, a, want, sizeof want));
                json_array_foreach(json_object_get(e, "addresses"), i, x)
                        if (streq_ptr(json_string_value(json_object_get(x, "address")), want))
                                found = true;
                if (!found)
                        fail_msg("address %s of %s missing", want, p->ifa_name);
        }
        freeifaddrs(ifa);
        call_done(&call);
}

/* The default IPv4 gateway, read independently with sscanf. */
static void test_status_default_gateway(void **state) {
        FILE *f = fopen("/proc/net/route", "re");
        char line[512], want[INET_ADDRSTRLEN] = "", want_if[32] = "";
        ToolCall call;
        json_t *gws, *g;
        size_t i;
        bool found = false;

        assert_non_null(f);
        while (fgets(line, sizeof line, f)) {
                char ifn[32];
                unsigned dst, gw, flags, mask;

                if (sscanf(line, "%31s %x %x %x %*d %*d %*d %x", ifn, &dst, &gw, &flags, &mask) != 5)
                        continue;
                if (dst == 0 && mask == 0 && gw != 0 && (flags & 1) && !want[0]) {
                        struct in_addr in = { .s_addr = gw };

                        inet_ntop(AF_INET, &in, want, sizeof want);
                        snprintf(want_if, sizeof want_if, "%s", ifn);
                }
        }
        fclose(f);

        run("get_network_status", NULL, &call);
        gws = json_object_get(call.result, "default_gateways");
        json_array_foreach(gws, i, g)
                if (streq_ptr(json_string_value(json_object_get(g, "family")), "ipv4")) {
                        assert_string_equal(json_string_value(json_object_get(g, "gateway")), want);
                        assert_string_equal(json_string_value(json_object_get(g, "interface")), want_if);
                        found = true;
                        break;
                }
        assert_true(found == (want[0] != '\0'));
        if (found)
                assert_non_null(strstr(call.text, want));
        call_done(&call);
}

static void test_status_dns(void **state) {
        FILE *f = fopen("/etc/resolv.conf", "re");
        char line[512];
        json_t *servers;
        ToolCall call;
        size_t n = 0;

        run("get_network_status", NULL, &call);
        servers = json_object_get(json_object_get(call.result, "dns"), "nameservers");
        if (!f) {
                assert_int_equal(json_array_size(servers), 0);
                call_done(&call);
                return;
        }
        while (fgets(line, sizeof line, f)) {
                char addr[128];

                if (sscanf(line, "nameserver %127s", addr) != 1 || n >= 8)
                        continue;
                assert_string_equal(json_string_value(json_array_get(servers, n)), addr);
                n++;
        }
        fclose(f);
        assert_int_equal(json_array_size(servers), n);
        call_done(&call);
}

/* get_network_io_counters ----------------------------------------------------- */

static void test_io_counters(void **state) {
        ToolCall a, b;
        json_t *la, *lb, *e, *totals;
        json_int_t sum = 0;
        int s;
        size_t i;
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = htonl(0x7f000001) };

        run("get_network_io_counters", NULL, &a);
        /* Some loopback traffic between the calls. */
        s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        assert_true(s >= 0);
        for (int k = 0; k < 3; k++)
                (void) sendto(s, "x", 1, 0, (struct sockaddr *) &sin, sizeof sin);
        close(s);
        run("get_network_io_counters", "{}", &b);

        la = find_by(json_object_get(a.result, "interfaces"), "name", "lo");
        lb = find_by(json_object_get(b.result, "interfaces"), "name", "lo");
        assert_non_null(la);
        assert_non_null(lb);
        assert_true(int_of(lb, "rx_bytes") > int_of(la, "rx_bytes"));
        assert_true(int_of(lb, "tx_packets") >= int_of(la, "tx_packets") + 3);
        assert_true(int_of(lb, "rx_errors") >= int_of(la, "rx_errors"));

        totals = json_object_get(b.result, "totals");
        json_array_foreach(json_object_get(b.result, "interfaces"), i, e)
                sum += int_of(e, "tx_bytes");
        assert_int_equal(int_of(totals, "tx_bytes"), sum);
        assert_false(json_is_true(json_object_get(b.result, "truncated")));
        assert_non_null(strstr(b.text, "total"));
        call_done(&a);
        call_done(&b);
}

/* get_active_connections ------------------------------------------------------ */

static json_t *find_conn(json_t *list, const char *proto, const char *addr, int port) {
        size_t i;
        json_t *e;

        json_array_foreach(list, i, e)
                if (streq_ptr(json_string_value(json_object_get(e, "protocol")), proto) &&
                    streq_ptr(json_string_value(json_object_get(e, "local_address")), addr) &&
                    int_of(e, "local_port") == port)
                        return e;
        return NULL;
}

static int bound_socket(int family, int type, const char *addr, int *ret_port) {
        struct sockaddr_storage ss = {};
        socklen_t len;
        int fd;

        fd = socket(family, type | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -1;
        if (family == AF_INET) {
                struct sockaddr_in *sin = (struct sockaddr_in *) &ss;

                sin->sin_family = AF_INET;
                inet_pton(AF_INET, addr, &sin->sin_addr);
                len = sizeof *sin;
        } else {
                struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &ss;

                sin6->sin6_family = AF_INET6;
                inet_pton(AF_INET6, addr, &sin6->sin6_addr);
                len = sizeof *sin6;
        }
        if (bind(fd, (struct sockaddr *) &ss, len) < 0 || (type == SOCK_STREAM && listen(fd, 4) < 0)) {
                close(fd);
                return -1;
        }
        len = sizeof ss;
        assert_int_equal(getsockname(fd, (struct sockaddr *) &ss, &len), 0);
        *ret_port = ntohs(family == AF_INET ? ((struct sockaddr_in *) &ss)->sin_port
                                            : ((struct sockaddr_in6 *) &ss)->sin6_port);
        return fd;
}

static void test_connections_own_listener(void **state) {
        char comm[32] = "";
        int tcp, udp, tcp6, port, uport, port6 = 0;
        json_t *list, *e, *by_state, *v;
        json_int_t sum = 0;
        const char *key;
        ToolCall call;
        FILE *f;

        f = fopen("/proc/self/comm", "re");
        assert_non_null(f);
        assert_non_null(fgets(comm, sizeof comm, f));
        fclose(f);
        comm[strcspn(comm, "\n")] = '\0';

        tcp = bound_socket(AF_INET, SOCK_STREAM, "127.0.0.1", &port);
        assert_true(tcp >= 0);
        udp = bound_socket(AF_INET, SOCK_DGRAM, "127.0.0.1", &uport);
        assert_true(udp >= 0);
        tcp6 = bound_socket(AF_INET6, SOCK_STREAM, "::1", &port6);      /* may fail: no IPv6 */

        run("get_active_connections", "{\"limit\":1000}", &call);
        list = json_object_get(call.result, "connections");

        e = find_conn(list, "tcp", "127.0.0.1", port);
        if (!e && json_is_true(json_object_get(call.result, "truncated")))
                skip();         /* a host with over 1000 listeners */
        if (!json_is_true(json_object_get(json_object_get(call.result, "owner_scan"), "complete")))
                skip();         /* a host with more processes or descriptors than the scan bound */
        assert_non_null(e);
        assert_string_equal(json_string_value(json_object_get(e, "state")), "LISTEN");
        assert_string_equal(json_string_value(json_object_get(e, "family")), "ipv4");
        assert_string_equal(json_string_value(json_object_get(e, "remote_address")), "0.0.0.0");
        assert_int_equal(int_of(e, "remote_port"), 0);
        assert_int_equal(int_of(e, "uid"), getuid());
        assert_int_equal(int_of(e, "pid"), getpid());
        assert_string_equal(json_string_value(json_object_get(e, "process")), comm);

        e = find_conn(list, "udp", "127.0.0.1", uport);
        assert_non_null(e);
        assert_string_equal(json_string_value(json_object_get(e, "state")), "UNCONN");
        assert_int_equal(int_of(e, "pid"), getpid());

        if (tcp6 >= 0) {
                e = find_conn(list, "tcp", "::1", port6);
                assert_non_null(e);
                assert_string_equal(json_string_value(json_object_get(e, "family")), "ipv6");
                assert_string_equal(json_string_value(json_object_get(e, "state")), "LISTEN");
                assert_int_equal(int_of(e, "pid"), getpid());
                close(tcp6);
        }

        /* LISTEN entries come first. */
        assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "state")), "LISTEN");

        by_state = json_object_get(call.result, "by_state");
        assert_true(int_of(by_state, "LISTEN") >= 1);
        json_object_foreach(by_state, key, v)
                sum += json_integer_value(v);
        assert_int_equal(sum, int_of(call.result, "total"));
        v = json_object_get(call.result, "by_protocol");
        assert_int_equal(int_of(v, "tcp") + int_of(v, "tcp6") + int_of(v, "udp") + int_of(v, "udp6"),
                         int_of(call.result, "total"));

        {
                char want[64];

                snprintf(want, sizeof want, "127.0.0.1:%d", port);
                assert_non_null(strstr(call.text, want));
        }
        call_done(&call);
        close(tcp);
        close(udp);
}

static void test_connections_limit(void **state) {
        int a, b, pa, pb;
        ToolCall call;

        a = bound_socket(AF_INET, SOCK_STREAM, "127.0.0.1", &pa);
        b = bound_socket(AF_INET, SOCK_STREAM, "127.0.0.1", &pb);
        assert_true(a >= 0 && b >= 0);

        run("get_active_connections", "{\"limit\":1}", &call);
        assert_int_equal(json_array_size(json_object_get(call.result, "connections")), 1);
        assert_int_equal(int_of(call.result, "limit"), 1);
        assert_true(int_of(call.result, "total") >= 2);
        assert_true(json_is_true(json_object_get(call.result, "truncated")));
        call_done(&call);

        run("get_active_connections", NULL, &call);
        assert_int_equal(int_of(call.result, "limit"), 20);
        assert_true(json_array_size(json_object_get(call.result, "connections")) <= 20);
        call_done(&call);
        close(a);
        close(b);
}

static void test_connections_bad_limit(void **state) {
        static const char *const bad[] = { "{\"limit\":0}", "{\"limit\":1001}", "{\"limit\":\"5\"}",
                                           "{\"limt\":5}" };
        const Tool *t = tool_find("get_active_connections");
        char err[512];

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_json_ json_t *args = json_loads(bad[i], 0, NULL);

                assert_non_null(args);
                assert_int_equal(tool_validate_args(t, args, err, sizeof err), -EINVAL);
                assert_non_null(strstr(err, "limit") ? err : strstr(err, "limt"));
        }
}

static void test_cancelled(void **state) {
        static const char *const names[] = { "get_network_status", "get_network_io_counters",
                                             "get_active_connections" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                atomic_bool cancelled = true;
                ToolCall call = { .tool = tool_find(names[i]), .env = &env, .cancelled = &cancelled };

                assert_int_equal(tool_run(&call), -ECANCELED);
                assert_null(call.result);
                assert_null(call.text);
                assert_string_equal(call.error, "cancelled");
        }
}

/* Parsers --------------------------------------------------------------------- */

static void test_parse_socket_lines(void **state) {
        ProcNetSocket s;
        char buf[64];

        assert_int_equal(procnet_parse_socket_line(
                                 "   0: 0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000"
                                 "  1000        0 12345 1 0000000000000000 100 0 0 10 0\n",
                                 AF_INET, &s),
                         0);
        assert_int_equal(s.local_port, 631);
        assert_int_equal(s.state, 10);
        assert_int_equal(s.uid, 1000);
        assert_int_equal(s.inode, 12345);
        assert_string_equal(inet_ntop(AF_INET, s.local, buf, sizeof buf), "127.0.0.1");

        assert_int_equal(procnet_parse_socket_line(
                                 "   1: 00000000000000000000000001000000:1F90 "
                                 "0000000000000000FFFF00000100007F:C350 01 00000000:00000000 00:00000000 "
                                 "00000000     0        0 777 1",
                                 AF_INET6, &s),
                         0);
        assert_string_equal(inet_ntop(AF_INET6, s.local, buf, sizeof buf), "::1");
        assert_string_equal(inet_ntop(AF_INET6, s.remote, buf, sizeof buf), "::ffff:127.0.0.1");
        assert_int_equal(s.local_port, 8080);
        assert_int_equal(s.remote_port, 50000);
        assert_int_equal(s.state, 1);

        /* Header, wrong widths, bad state, signs and junk are refused. */
        static const char *const bad[] = {
                "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
                "   0: 100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1",
                "   0: 0100007F:0277 00000000:0000 0D 00000000:00000000 00:00000000 00000000 0 0 1",
                "   0: 0100007F:0277 00000000:0000 00 00000000:00000000 00:00000000 00000000 0 0 1",
                "   0: 0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000 -1 0 1",
                "   0: 0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 +1",
                "   0: 0100007G:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1",
                "   0: 0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000 4294967296 0 1",
                "   0 0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1",
                "",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(procnet_parse_socket_line(bad[i], AF_INET, &s), -EINVAL);
}

static void test_parse_dev_route_resolv(void **state) {
        ProcNetDev d;
        ProcNetRoute r;
        ResolvConf rc = {};
        char buf[64];

        assert_int_equal(procnet_parse_dev_line("    lo: 100 2 0 0 0 0 0 0 100 2 0 0 0 0 0 0\n", &d), 0);
        assert_string_equal(d.name, "lo");
        assert_int_equal(d.rx_bytes, 100);
        assert_int_equal(d.tx_packets, 2);
        assert_int_equal(procnet_parse_dev_line("verylonginterf:1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16", &d), 0);
        assert_int_equal(d.tx_bytes, 9);
        assert_int_equal(d.tx_dropped, 12);
        assert_int_equal(procnet_parse_dev_line("Inter-|   Receive", &d), -EINVAL);
        assert_int_equal(procnet_parse_dev_line(" face |bytes    packets errs drop", &d), -EINVAL);
        assert_int_equal(procnet_parse_dev_line("lo: 1 2 3", &d), -EINVAL);
        assert_int_equal(procnet_parse_dev_line("../x: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16", &d), -EINVAL);

        assert_int_equal(procnet_parse_route_line("eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0",
                                                  &r),
                         0);
        assert_string_equal(inet_ntop(AF_INET, r.gateway, buf, sizeof buf), "192.0.2.1");
        assert_int_equal(r.prefix_len, 0);
        assert_int_equal(r.metric, 100);
        assert_int_equal(procnet_parse_route_line("eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0", &r),
                         0);
        assert_string_equal(inet_ntop(AF_INET, r.dst, buf, sizeof buf), "192.0.2.0");
        assert_int_equal(r.prefix_len, 24);
        /* A mask with holes is not a prefix. */
        assert_int_equal(procnet_parse_route_line("eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FF00FF\t0\t0\t0", &r),
                         -EINVAL);
        assert_int_equal(procnet_parse_route_line("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask"
                                                  "\t\tMTU\tWindow\tIRTT",
                                                  &r),
                         -EINVAL);

        assert_int_equal(procnet_parse_ipv6_route_line(
                                 "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
                                 "fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0",
                                 &r),
                         0);
        assert_string_equal(inet_ntop(AF_INET6, r.gateway, buf, sizeof buf), "fd00::1");
        assert_int_equal(r.metric, 0x400);
        assert_int_equal(r.flags, 3);
        assert_string_equal(r.iface, "eth0");
        assert_int_equal(procnet_parse_ipv6_route_line(
                                 "fe800000000000000000000000000000 81 00000000000000000000000000000000 00 "
                                 "00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0",
                                 &r),
                         -EINVAL);

        assert_int_equal(resolv_conf_parse_line("# comment\n", &rc), 0);
        assert_int_equal(resolv_conf_parse_line("nameserver 10.0.0.53\n", &rc), 0);
        assert_int_equal(resolv_conf_parse_line("nameserver fe80::1%eth0", &rc), 0);
        assert_int_equal(resolv_conf_parse_line("nameserver not-an-address", &rc), -EINVAL);
        assert_int_equal(resolv_conf_parse_line("search example.org corp.example", &rc), 0);
        assert_int_equal(resolv_conf_parse_line("options ndots:2", &rc), 0);
        assert_int_equal(resolv_conf_parse_line("search bad/domain", &rc), -EINVAL);
        assert_int_equal(rc.n_nameservers, 2);
        assert_string_equal(rc.nameservers[0], "10.0.0.53");
        assert_string_equal(rc.nameservers[1], "fe80::1%eth0");
        assert_int_equal(rc.n_search, 2);
        assert_string_equal(rc.search[1], "corp.example");
        assert_int_equal(resolv_conf_parse_line("domain only.example", &rc), 0);
        assert_int_equal(rc.n_search, 1);
        for (int i = 0; i < 10; i++)
                assert_int_equal(resolv_conf_parse_line("nameserver 10.0.0.1", &rc), 0);
        assert_int_equal(rc.n_nameservers, RESOLV_NAMESERVERS_MAX);
        assert_true(rc.truncated);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_status_loopback),
                cmocka_unit_test(test_status_interfaces_match_getifaddrs),
                cmocka_unit_test(test_status_default_gateway),
                cmocka_unit_test(test_status_dns),
                cmocka_unit_test(test_io_counters),
                cmocka_unit_test(test_connections_own_listener),
                cmocka_unit_test(test_connections_limit),
                cmocka_unit_test(test_connections_bad_limit),
                cmocka_unit_test(test_cancelled),
                cmocka_unit_test(test_parse_socket_lines),
                cmocka_unit_test(test_parse_dev_route_resolv),
        };

        return cmocka_run_group_tests(tests, setup, NULL);
}
