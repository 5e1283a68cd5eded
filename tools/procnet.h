/* SPDX-License-Identifier: MIT */
#pragma once

/* Parsers for the text the kernel and the resolver publish about networking:
 * /proc/net/{tcp,tcp6,udp,udp6}, /proc/net/dev, /proc/net/route,
 * /proc/net/ipv6_route and resolv.conf(5). Implemented in tools/network.c.
 *
 * Each parser takes one NUL-terminated line (without or with its trailing
 * newline), never reads beyond it, allocates nothing and fills its
 * out-parameter only on success. Header lines and malformed lines return
 * -EINVAL, so callers simply skip them. Lines longer than PROCNET_LINE_MAX
 * bytes are malformed. Safe to call from any thread. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROCNET_LINE_MAX 1024u
#define PROCNET_IFNAME_MAX 16u          /* IFNAMSIZ, including the NUL */

typedef struct ProcNetSocket {
        int family;                     /* AF_INET or AF_INET6 */
        uint8_t local[16], remote[16];  /* network byte order; IPv4 uses the first 4 bytes */
        uint16_t local_port, remote_port;
        unsigned state;                 /* kernel TCP state number (1..12), also used by UDP */
        uint32_t uid;
        uint64_t inode;
} ProcNetSocket;

/* One line of /proc/net/tcp or udp (family AF_INET) or tcp6/udp6 (AF_INET6). */
int procnet_parse_socket_line(const char *line, int family, ProcNetSocket *ret);

typedef struct ProcNetDev {
        char name[PROCNET_IFNAME_MAX];
        uint64_t rx_bytes, rx_packets, rx_errors, rx_dropped;
        uint64_t tx_bytes, tx_packets, tx_errors, tx_dropped;
} ProcNetDev;

/* One line of /proc/net/dev. */
int procnet_parse_dev_line(const char *line, ProcNetDev *ret);

typedef struct ProcNetRoute {
        int family;                     /* AF_INET or AF_INET6 */
        char iface[PROCNET_IFNAME_MAX];
        uint8_t dst[16], gateway[16];   /* network byte order */
        unsigned prefix_len;            /* 0..32 or 0..128 */
        uint32_t flags;                 /* RTF_* */
        uint32_t metric;
} ProcNetRoute;

/* One line of /proc/net/route (IPv4; a netmask that is not a prefix is
 * malformed) or of /proc/net/ipv6_route. */
int procnet_parse_route_line(const char *line, ProcNetRoute *ret);
int procnet_parse_ipv6_route_line(const char *line, ProcNetRoute *ret);

#define RESOLV_NAMESERVERS_MAX 8u
#define RESOLV_SEARCH_MAX 16u
#define RESOLV_DOMAIN_MAX 254u          /* a domain name plus its NUL */

typedef struct ResolvConf {
        char nameservers[RESOLV_NAMESERVERS_MAX][64];   /* numeric, as written (IPv6 may carry %scope) */
        size_t n_nameservers;
        char search[RESOLV_SEARCH_MAX][RESOLV_DOMAIN_MAX];
        size_t n_search;
        bool truncated;                 /* more entries than the arrays hold */
} ResolvConf;

/* Applies one line of resolv.conf(5) to *rc: "nameserver ADDR" appends a
 * valid numeric address, "search D..." and "domain D" replace the search
 * list (the last one wins, as in the resolver). Comments, blank lines and
 * other keywords are ignored (return 0); a nameserver or search line with
 * an invalid value returns -EINVAL and leaves *rc as it was. */
int resolv_conf_parse_line(const char *line, ResolvConf *rc);
