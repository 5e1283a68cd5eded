/* SPDX-License-Identifier: MIT */

/* libFuzzer harness for the /proc/net and resolv.conf line parsers
 * (tools/procnet.h, implemented in tools/network.c).
 *
 * Build and run: tests/fuzz/run.sh 30 procnet
 *
 * The input is split into lines; every line goes through every parser (the
 * kernel's files differ only in which parser applies), and the results are
 * checked against the parsers' promises: states and prefix lengths in range,
 * interface names short, NUL-terminated and free of '/', resolv.conf arrays
 * never overrun. A line is also tried without its NUL terminator inside a
 * larger buffer, so reading past the line would be caught by ASan. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tools/procnet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_ifname(const char *name) {
        size_t n = strnlen(name, PROCNET_IFNAME_MAX);

        if (n == 0 || n >= PROCNET_IFNAME_MAX || strchr(name, '/') || strchr(name, ':'))
                abort();
}

static void one_line(const char *line, ResolvConf *rc) {
        ProcNetSocket s;
        ProcNetDev d;
        ProcNetRoute r;
        size_t ns = rc->n_nameservers, nsearch = rc->n_search;

        if (procnet_parse_socket_line(line, AF_INET, &s) == 0 && (s.state < 1 || s.state > 12 || s.family != AF_INET))
                abort();
        if (procnet_parse_socket_line(line, AF_INET6, &s) == 0 && (s.state < 1 || s.state > 12 || s.family != AF_INET6))
                abort();
        if (procnet_parse_dev_line(line, &d) == 0)
                check_ifname(d.name);
        if (procnet_parse_route_line(line, &r) == 0) {
                check_ifname(r.iface);
                if (r.prefix_len > 32 || r.family != AF_INET)
                        abort();
        }
        if (procnet_parse_ipv6_route_line(line, &r) == 0) {
                check_ifname(r.iface);
                if (r.prefix_len > 128 || r.family != AF_INET6)
                        abort();
        }
        if (resolv_conf_parse_line(line, rc) < 0 && (rc->n_nameservers != ns || rc->n_search != nsearch))
                abort();        /* a refused line changes nothing */
        if (rc->n_nameservers > RESOLV_NAMESERVERS_MAX || rc->n_search > RESOLV_SEARCH_MAX)
                abort();
        for (size_t i = 0; i < rc->n_nameservers; i++)
                if (strnlen(rc->nameservers[i], sizeof rc->nameservers[i]) >= sizeof rc->nameservers[i])
                        abort();
        for (size_t i = 0; i < rc->n_search; i++)
                if (strnlen(rc->search[i], sizeof rc->search[i]) >= sizeof rc->search[i])
                        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        ResolvConf *rc;
        size_t start = 0;

        rc = calloc(1, sizeof *rc);
        if (!rc)
                abort();
        while (start < size) {
                const uint8_t *nl = memchr(data + start, '\n', size - start);
                size_t len = nl ? (size_t) (nl - (data + start)) + 1 : size - start;
                char *line = malloc(len + 1);

                if (!line)
                        abort();
                /* Exactly len+1 bytes: any read past the NUL is an ASan error. */
                memcpy(line, data + start, len);
                line[len] = '\0';
                one_line(line, rc);
                free(line);
                start += len;
        }
        free(rc);
        return 0;
}
