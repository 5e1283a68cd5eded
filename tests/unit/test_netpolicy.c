/* SPDX-License-Identifier: MIT */

/* tools/netpolicy.c: CIDR and port parsing, the default policy from the
 * config (allow LAN + internet, deny link-local/metadata, multicast,
 * reserved, unspecified), IPv4-mapped IPv6, resolution of names. Table-driven. */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "tools/netpolicy.h"

/* The defaults of server/config.c (network.*). */
static char *def_allowed[] = { (char *) "0.0.0.0/0", (char *) "::/0", NULL };
static char *def_denied[] = { (char *) "169.254.0.0/16", (char *) "fe80::/10",         (char *) "0.0.0.0/8",
                              (char *) "224.0.0.0/4",    (char *) "240.0.0.0/4",       (char *) "ff00::/8",
                              (char *) "100.100.100.200/32", (char *) "fd00:ec2::254/128", NULL };
static char *def_ports[] = { (char *) "1-65535", NULL };

static int addr_of(const char *text, struct sockaddr_storage *ss) {
        memset(ss, 0, sizeof *ss);
        if (inet_pton(AF_INET, text, &((struct sockaddr_in *) ss)->sin_addr) == 1) {
                ss->ss_family = AF_INET;
                return 0;
        }
        if (inet_pton(AF_INET6, text, &((struct sockaddr_in6 *) ss)->sin6_addr) == 1) {
                ss->ss_family = AF_INET6;
                return 0;
        }
        return -EINVAL;
}

static int check(const NetPolicy *p, const char *text, char *err, size_t errlen) {
        struct sockaddr_storage ss;

        assert_int_equal(addr_of(text, &ss), 0);
        return netpolicy_check_addr(p, (struct sockaddr *) &ss, err, errlen);
}

static void test_default_policy(void **state) {
        static const struct {
                const char *addr;
                bool allowed;
        } cases[] = {
                /* The LAN and the internet: the reason diagnostics exist. */
                { "192.168.1.1", true },
                { "10.0.0.5", true },
                { "172.16.3.4", true },
                { "8.8.8.8", true },
                { "127.0.0.1", true },
                { "100.64.0.1", true },
                { "2001:4860:4860::8888", true },
                { "fd12:3456::1", true },
                { "::1", true },
                /* Cloud metadata and link-local. */
                { "169.254.169.254", false },
                { "169.254.0.1", false },
                { "100.100.100.200", false },
                { "fd00:ec2::254", false },
                { "fe80::1", false },
                /* IPv4-mapped IPv6 is the IPv4 address. */
                { "::ffff:169.254.169.254", false },
                { "::ffff:192.168.1.1", true },
                /* So is NAT64's well-known prefix. */
                { "64:ff9b::169.254.169.254", false },
                { "64:ff9b::8.8.8.8", true },
                /* Multicast, reserved, broadcast, unspecified. */
                { "224.0.0.1", false },
                { "239.255.255.250", false },
                { "ff02::1", false },
                { "240.0.0.1", false },
                { "255.255.255.255", false },
                { "0.0.0.0", false },
                { "0.1.2.3", false },
                { "::", false },
        };
        NetPolicy *p = NULL;
        char err[256];

        assert_int_equal(netpolicy_new(def_allowed, def_denied, def_ports, &p, err, sizeof err), 0);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                int r = check(p, cases[i].addr, err, sizeof err);

                if ((r == 0) != cases[i].allowed)
                        fail_msg("%s: expected %s, got %d (%s)", cases[i].addr, cases[i].allowed ? "allowed" : "denied",
                                 r, err);
                if (r < 0)
                        assert_int_equal(r, -EPERM);
        }
        assert_int_equal(check(p, "169.254.169.254", err, sizeof err), -EPERM);
        assert_non_null(strstr(err, "network.denied_cidrs entry 169.254.0.0/16"));
        assert_non_null(strstr(err, "link-local"));

        assert_true(netpolicy_check_port(p, 1));
        assert_true(netpolicy_check_port(p, 65535));
        assert_false(netpolicy_check_port(p, 0));
        assert_false(netpolicy_check_port(p, 65536));
        netpolicy_free(p);
}

static void test_narrow_policy(void **state) {
        char *allowed[] = { (char *) "10.1.0.0/16", (char *) "2001:db8::/32", (char *) "192.0.2.7", NULL };
        char *denied[] = { (char *) "10.1.99.0/24", NULL };
        char *ports[] = { (char *) "22", (char *) "80, 443", (char *) "8000-8999", NULL };
        NetPolicy *p = NULL;
        char err[256];

        assert_int_equal(netpolicy_new(allowed, denied, ports, &p, err, sizeof err), 0);
        assert_int_equal(check(p, "10.1.2.3", err, sizeof err), 0);
        assert_int_equal(check(p, "10.1.99.3", err, sizeof err), -EPERM);
        assert_int_equal(check(p, "10.2.0.1", err, sizeof err), -EPERM);
        assert_non_null(strstr(err, "not in network.allowed_cidrs"));
        assert_int_equal(check(p, "192.0.2.7", err, sizeof err), 0);
        assert_int_equal(check(p, "192.0.2.8", err, sizeof err), -EPERM);
        assert_int_equal(check(p, "2001:db8:1::1", err, sizeof err), 0);
        assert_int_equal(check(p, "2001:db9::1", err, sizeof err), -EPERM);
        /* An IPv6 entry does not cover mapped IPv4 (and vice versa). */
        assert_int_equal(check(p, "::ffff:10.1.2.3", err, sizeof err), 0);

        assert_true(netpolicy_check_port(p, 22));
        assert_true(netpolicy_check_port(p, 80));
        assert_true(netpolicy_check_port(p, 443));
        assert_true(netpolicy_check_port(p, 8000));
        assert_true(netpolicy_check_port(p, 8999));
        assert_false(netpolicy_check_port(p, 9000));
        assert_false(netpolicy_check_port(p, 23));
        netpolicy_free(p);

        /* Nothing allowed: everything denied. NULL policy likewise. */
        assert_int_equal(netpolicy_new(NULL, NULL, NULL, &p, err, sizeof err), 0);
        assert_int_equal(check(p, "8.8.8.8", err, sizeof err), -EPERM);
        assert_false(netpolicy_check_port(p, 80));
        netpolicy_free(p);
        assert_int_equal(check(NULL, "8.8.8.8", err, sizeof err), -EPERM);
        assert_false(netpolicy_check_port(NULL, 80));
}

static void test_odd_prefixes(void **state) {
        char *allowed[] = { (char *) "10.0.0.0/9", (char *) "2001:db8:8000::/33", NULL };
        NetPolicy *p = NULL;
        char err[256];

        assert_int_equal(netpolicy_new(allowed, NULL, NULL, &p, err, sizeof err), 0);
        assert_int_equal(check(p, "10.127.255.255", err, sizeof err), 0);
        assert_int_equal(check(p, "10.128.0.0", err, sizeof err), -EPERM);
        assert_int_equal(check(p, "2001:db8:ffff::1", err, sizeof err), 0);
        assert_int_equal(check(p, "2001:db8:7fff::1", err, sizeof err), -EPERM);
        netpolicy_free(p);

        /* Host bits in the entry are cleared, as routers do. */
        char *sloppy[] = { (char *) "192.168.1.77/24", NULL };
        assert_int_equal(netpolicy_new(sloppy, NULL, NULL, &p, err, sizeof err), 0);
        assert_int_equal(check(p, "192.168.1.1", err, sizeof err), 0);
        netpolicy_free(p);
}

static void test_bad_entries(void **state) {
        static const char *const bad_cidrs[] = {
                "", "10.0.0.0/33", "::/129", "10.0.0/8", "example.com", "10.0.0.0/", "10.0.0.0/-1",
                "10.0.0.0/8/8", "10.0.0.0/ 8", "1.2.3.4/0008",
        };
        static const char *const bad_ports[] = { "", "0", "65536", "80-", "-80", "90-80", "http", "80 443", "1-2-3",
                                                 "22,,80" };
        NetPolicy *p = NULL;
        char err[256];

        for (size_t i = 0; i < ELEMENTSOF(bad_cidrs); i++) {
                char *l[] = { (char *) bad_cidrs[i], NULL };

                assert_int_equal(netpolicy_new(l, NULL, NULL, &p, err, sizeof err), -EINVAL);
                assert_null(p);
                assert_non_null(strstr(err, "network.allowed_cidrs"));
                assert_int_equal(netpolicy_new(NULL, l, NULL, &p, err, sizeof err), -EINVAL);
                assert_non_null(strstr(err, "network.denied_cidrs"));
        }
        for (size_t i = 0; i < ELEMENTSOF(bad_ports); i++) {
                char *l[] = { (char *) bad_ports[i], NULL };

                if (netpolicy_new(NULL, NULL, l, &p, err, sizeof err) != -EINVAL)
                        fail_msg("port entry '%s' accepted", bad_ports[i]);
                assert_non_null(strstr(err, "network.allowed_ports"));
                assert_non_null(strstr(err, bad_ports[i]));
        }
}

static void test_host_valid(void **state) {
        static const char *const good[] = { "example.com", "a", "x-y.example", "127.0.0.1", "::1", "fe80::1",
                                            "_srv.example", "localhost" };
        static const char *const bad[] = { "", "-a.com", "a-.com", "a..b", ".a", "a b", "a;b", "$(id)", "a/b",
                                           "a\nb", "[::1]" };

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                if (!netpolicy_host_valid(good[i]))
                        fail_msg("'%s' refused", good[i]);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (netpolicy_host_valid(bad[i]))
                        fail_msg("'%s' accepted", bad[i]);
        {
                char label[80];

                memset(label, 'a', 64);
                label[64] = '\0';
                assert_false(netpolicy_host_valid(label));
                label[63] = '\0';
                assert_true(netpolicy_host_valid(label));
        }
}

static void test_resolve(void **state) {
        char *allowed[] = { (char *) "0.0.0.0/0", (char *) "::/0", NULL };
        char *denied[] = { (char *) "127.0.0.2/32", NULL };
        NetPolicy *p = NULL;
        NetAddrs a;
        char err[256], text[64];

        assert_int_equal(netpolicy_new(allowed, denied, def_ports, &p, err, sizeof err), 0);
        assert_int_equal(netpolicy_resolve(p, "127.0.0.1", 80, &a, err, sizeof err), 0);
        assert_int_equal(a.n, 1);
        assert_string_equal(netpolicy_addr_str((struct sockaddr *) &a.addr[0], text, sizeof text), "127.0.0.1");
        assert_int_equal(ntohs(((struct sockaddr_in *) &a.addr[0])->sin_port), 80);

        assert_int_equal(netpolicy_resolve(p, "[::1]", 443, &a, err, sizeof err), 0);
        assert_string_equal(netpolicy_addr_str((struct sockaddr *) &a.addr[0], text, sizeof text), "::1");

        /* "localhost" resolves via /etc/hosts on any sane system. */
        assert_int_equal(netpolicy_resolve(p, "localhost", 0, &a, err, sizeof err), 0);
        assert_true(a.n >= 1);

        assert_int_equal(netpolicy_resolve(p, "127.0.0.2", 80, &a, err, sizeof err), -EPERM);
        assert_non_null(strstr(err, "host 127.0.0.2 is refused"));
        assert_int_equal(netpolicy_resolve(p, "no such host", 80, &a, err, sizeof err), -EINVAL);
        assert_int_equal(netpolicy_resolve(p, "nonexistent.invalid", 80, &a, err, sizeof err) < 0, 1);

        /* Bounded: literals never need the helper thread; a cancelled name
         * lookup returns at once (or with the answer, if it was quicker). */
        {
                atomic_bool cancel = true;
                int r;

                assert_int_equal(netpolicy_resolve_bounded(p, "127.0.0.1", 80, &cancel, 1, &a, err, sizeof err), 0);
                r = netpolicy_resolve_bounded(p, "nonexistent.invalid", 80, &cancel, 5000, &a, err, sizeof err);
                assert_true(r == -ECANCELED || r == -ENOENT || r == -EAGAIN);
                cancel = false;
                assert_int_equal(netpolicy_resolve_bounded(p, "localhost", 80, &cancel, 5000, &a, err, sizeof err), 0);
        }
        netpolicy_free(p);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_default_policy),
                cmocka_unit_test(test_narrow_policy),
                cmocka_unit_test(test_odd_prefixes),
                cmocka_unit_test(test_bad_entries),
                cmocka_unit_test(test_host_valid),
                cmocka_unit_test(test_resolve),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
