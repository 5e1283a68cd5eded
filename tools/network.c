/* SPDX-License-Identifier: MIT */

/* The "network" tool family: interfaces, routes, DNS settings, traffic
 * counters and sockets, read from getifaddrs(3), /sys/class/net, /proc/net
 * and /etc/resolv.conf.
 *
 * Nothing here blocks or talks to the network. The /proc/net text is parsed
 * by strict line parsers (declared in tools/procnet.h and fuzzed) that accept
 * only fixed-width hex and plain decimal fields. Every list is capped and
 * says so; the owner lookup for sockets scans /proc/<pid>/fd with a hard
 * limit on processes and descriptors, and reports when it stopped early.
 * Names that come from the system (interface names, process names) are
 * made valid UTF-8 before they enter JSON. */

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/utf8.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "tools/procnet.h"
#include "tools/tool.h"

#define IFACES_MAX 512u
#define ADDRS_PER_IFACE_MAX 64u
#define ROUTES_MAX 512u
#define ROUTE_LINES_MAX 65536u
#define SOCKETS_MAX 131072u             /* sockets kept from /proc/net/{tcp,udp}{,6} */
#define SOCKET_LINES_MAX 1048576u       /* lines read from those files at most */
#define OWNER_PROCS_MAX 32768u          /* processes whose fds we look at */
#define OWNER_FDS_MAX 262144u           /* descriptors we readlink() at most */
#define CONN_LIMIT_MAX 1000
#define CONN_LIMIT_DEFAULT 20
#define RESOLV_CONF_PATH "/etc/resolv.conf"
#define RESOLV_LINES_MAX 4096u

#ifndef RTF_CACHE
#define RTF_CACHE 0x01000000u
#endif
#define RTF_LOCAL_V6 0x80000000u

static inline void freeifaddrsp(struct ifaddrs **p) {
        if (*p)
                freeifaddrs(*p);
}

/* Small helpers ------------------------------------------------------------ */

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

static void strip_newline(char *s) {
        s[strcspn(s, "\r\n")] = '\0';
}


/* Copies the C string `in` to out as valid UTF-8 without control characters
 * (both become '?'). Never grows the text. */
static void utf8_sanitize(const char *in, char *out, size_t outsize) {
        const unsigned char *u = (const unsigned char *) in;
        size_t n = strlen(in), i = 0, o = 0;

        if (outsize == 0)
                return;
        while (i < n && o + 1 < outsize) {
                size_t l = utf8_seq_len(u + i, n - i);

                if (l == 0) {
                        out[o++] = '?';
                        i++;
                } else if (l == 1) {
                        out[o++] = (u[i] < 0x20 || u[i] == 0x7f) ? '?' : (char) u[i];
                        i++;
                } else {
                        if (o + l + 1 > outsize)
                                break;
                        memcpy(out + o, in + i, l);
                        o += l;
                        i += l;
                }
        }
        out[o] = '\0';
}

static json_t *json_string_clean(const char *s) {
        char buf[256];

        utf8_sanitize(s, buf, sizeof buf);
        return json_string(buf);
}

static void format_addr(int family, const uint8_t *addr, char *buf, size_t size) {
        if (!inet_ntop(family, addr, buf, (socklen_t) size))
                snprintf(buf, size, "?");
}

/* "1.2.3.4:80" or "[::1]:80". */
static void format_endpoint(int family, const uint8_t *addr, uint16_t port, char *buf, size_t size) {
        char a[INET6_ADDRSTRLEN];

        format_addr(family, addr, a, sizeof a);
        if (family == AF_INET6)
                snprintf(buf, size, "[%s]:%u", a, port);
        else
                snprintf(buf, size, "%s:%u", a, port);
}

/* The line parsers (tools/procnet.h) -------------------------------------- */

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Exactly n (1..16) hex digits, nothing else. */
static int parse_hex_n(const char *s, size_t n, uint64_t *ret) {
        uint64_t v = 0;

        if (n == 0 || n > 16)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                int h = hexval(s[i]);

                if (h < 0)
                        return -EINVAL;
                v = (v << 4) | (uint64_t) h;
        }
        *ret = v;
        return 0;
}

/* A whole token of plain decimal digits (no sign, no spaces) that fits max. */
static int parse_dec(const char *s, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;

        if (!*s)
                return -EINVAL;
        for (; *s; s++) {
                if (!isdigit((unsigned char) *s))
                        return -EINVAL;
                if (v > (max - (uint64_t) (*s - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (*s - '0');
        }
        *ret = v;
        return 0;
}

/* Splits a copy of `line` on blanks. Returns the number of tokens or -EINVAL
 * when the line is too long or has more than `max` tokens. */
static int split_line(const char *line, char *copy, size_t copy_size, char **tok, size_t max) {
        size_t len = strlen(line), n = 0;
        char *p;

        if (len >= copy_size)
                return -EINVAL;
        memcpy(copy, line, len + 1);
        strip_newline(copy);
        p = copy;
        for (;;) {
                while (*p == ' ' || *p == '\t')
                        p++;
                if (!*p)
                        break;
                if (n >= max)
                        return -EINVAL;
                tok[n++] = p;
                while (*p && *p != ' ' && *p != '\t')
                        p++;
                if (*p)
                        *p++ = '\0';
        }
        return (int) n;
}

/* The kernel prints an IPv4 address as the %08X of its __be32 value, and an
 * IPv6 address (in tcp6/udp6) as four such words: reading each word back as
 * a native integer restores the bytes in network order. */
static int parse_addr_words(const char *s, size_t words, uint8_t *out) {
        for (size_t i = 0; i < words; i++) {
                uint64_t v;
                uint32_t w;

                if (parse_hex_n(s + 8 * i, 8, &v) < 0)
                        return -EINVAL;
                w = (uint32_t) v;
                memcpy(out + 4 * i, &w, 4);
        }
        return 0;
}

/* "0100007F:0277" or 32 hex digits ':' 4 hex digits. */
static int parse_endpoint(const char *s, int family, uint8_t *addr, uint16_t *port) {
        size_t words = family == AF_INET ? 1 : 4;
        uint64_t p;

        if (strlen(s) != 8 * words + 5 || s[8 * words] != ':')
                return -EINVAL;
        if (parse_addr_words(s, words, addr) < 0 || parse_hex_n(s + 8 * words + 1, 4, &p) < 0)
                return -EINVAL;
        *port = (uint16_t) p;
        return 0;
}

int procnet_parse_socket_line(const char *line, int family, ProcNetSocket *ret) {
        char copy[PROCNET_LINE_MAX], *tok[32];
        ProcNetSocket s = { .family = family };
        uint64_t v;
        size_t l;
        int n;

        if (!line || !ret || (family != AF_INET && family != AF_INET6))
                return -EINVAL;
        /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode ... */
        n = split_line(line, copy, sizeof copy, tok, ELEMENTSOF(tok));
        if (n < 10)
                return -EINVAL;
        l = strlen(tok[0]);
        if (l < 2 || tok[0][l - 1] != ':')
                return -EINVAL;
        if (parse_endpoint(tok[1], family, s.local, &s.local_port) < 0 ||
            parse_endpoint(tok[2], family, s.remote, &s.remote_port) < 0)
                return -EINVAL;
        if (strlen(tok[3]) != 2 || parse_hex_n(tok[3], 2, &v) < 0 || v == 0 || v > 12)
                return -EINVAL;
        s.state = (unsigned) v;
        if (parse_dec(tok[7], UINT32_MAX, &v) < 0)
                return -EINVAL;
        s.uid = (uint32_t) v;
        if (parse_dec(tok[9], UINT64_MAX, &s.inode) < 0)
                return -EINVAL;
        *ret = s;
        return 0;
}

static bool ifname_valid(const char *name) {
        size_t n = strlen(name);

        /* The kernel's dev_valid_name(): no '/', ':' or blanks, not . or .. */
        if (n == 0 || n >= PROCNET_IFNAME_MAX || streq(name, ".") || streq(name, ".."))
                return false;
        for (const char *p = name; *p; p++)
                if (*p == '/' || *p == ':' || isspace((unsigned char) *p))
                        return false;
        return true;
}

/* Copies a name that passed ifname_valid() (shorter than the buffer). */
static void ifname_copy(char dst[static PROCNET_IFNAME_MAX], const char *src) {
        size_t n = strnlen(src, PROCNET_IFNAME_MAX - 1);

        memcpy(dst, src, n);
        dst[n] = '\0';
}

int procnet_parse_dev_line(const char *line, ProcNetDev *ret) {
        char copy[PROCNET_LINE_MAX], fields[PROCNET_LINE_MAX], *tok[20], *colon, *p;
        ProcNetDev d = {};
        uint64_t v[16];
        size_t len;
        int n;

        if (!line || !ret)
                return -EINVAL;
        len = strlen(line);
        if (len >= sizeof copy)
                return -EINVAL;
        /* "  eth0: 123 ..." — the kernel pads the name but a long name may
         * touch the first number, so split at the colon first. */
        memcpy(copy, line, len + 1);
        colon = strchr(copy, ':');
        if (!colon)
                return -EINVAL;
        *colon = '\0';
        p = copy;
        while (*p == ' ' || *p == '\t')
                p++;
        if (!ifname_valid(p))
                return -EINVAL;
        ifname_copy(d.name, p);

        n = split_line(colon + 1, fields, sizeof fields, tok, ELEMENTSOF(tok));
        if (n != 16)
                return -EINVAL;
        for (size_t i = 0; i < 16; i++)
                if (parse_dec(tok[i], UINT64_MAX, &v[i]) < 0)
                        return -EINVAL;
        /* Receive: bytes packets errs drop fifo frame compressed multicast;
         * transmit: bytes packets errs drop fifo colls carrier compressed. */
        d.rx_bytes = v[0];
        d.rx_packets = v[1];
        d.rx_errors = v[2];
        d.rx_dropped = v[3];
        d.tx_bytes = v[8];
        d.tx_packets = v[9];
        d.tx_errors = v[10];
        d.tx_dropped = v[11];
        *ret = d;
        return 0;
}

static unsigned mask_prefix_len(uint32_t mask_be, bool *ret_valid) {
        uint32_t m = ntohl(mask_be);
        unsigned len = 0;

        while (len < 32 && (m & (0x80000000u >> len)))
                len++;
        /* Only contiguous masks are prefixes. */
        *ret_valid = len == 32 || (m & (0xffffffffu >> len)) == 0;
        return len;
}

int procnet_parse_route_line(const char *line, ProcNetRoute *ret) {
        char copy[PROCNET_LINE_MAX], *tok[16];
        ProcNetRoute r = { .family = AF_INET };
        uint64_t v;
        uint32_t w;
        bool valid;
        int n;

        if (!line || !ret)
                return -EINVAL;
        /* Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT */
        n = split_line(line, copy, sizeof copy, tok, ELEMENTSOF(tok));
        if (n != 11 || !ifname_valid(tok[0]))
                return -EINVAL;
        ifname_copy(r.iface, tok[0]);
        if (strlen(tok[1]) != 8 || parse_addr_words(tok[1], 1, r.dst) < 0)
                return -EINVAL;
        if (strlen(tok[2]) != 8 || parse_addr_words(tok[2], 1, r.gateway) < 0)
                return -EINVAL;
        if (parse_hex_n(tok[3], strlen(tok[3]), &v) < 0 || v > UINT32_MAX)
                return -EINVAL;
        r.flags = (uint32_t) v;
        if (parse_dec(tok[6], UINT32_MAX, &v) < 0)
                return -EINVAL;
        r.metric = (uint32_t) v;
        if (strlen(tok[7]) != 8 || parse_hex_n(tok[7], 8, &v) < 0)
                return -EINVAL;
        w = (uint32_t) v;
        r.prefix_len = mask_prefix_len(w, &valid);
        if (!valid)
                return -EINVAL;
        *ret = r;
        return 0;
}

/* 32 hex digits, in byte order (the kernel's %pi6). */
static int parse_in6_plain(const char *s, uint8_t *out) {
        if (strlen(s) != 32)
                return -EINVAL;
        for (size_t i = 0; i < 16; i++) {
                uint64_t v;

                if (parse_hex_n(s + 2 * i, 2, &v) < 0)
                        return -EINVAL;
                out[i] = (uint8_t) v;
        }
        return 0;
}

int procnet_parse_ipv6_route_line(const char *line, ProcNetRoute *ret) {
        char copy[PROCNET_LINE_MAX], *tok[16];
        ProcNetRoute r = { .family = AF_INET6 };
        uint8_t src[16];
        uint64_t v;
        int n;

        if (!line || !ret)
                return -EINVAL;
        /* dst dst_len src src_len gateway metric refcnt use flags iface */
        n = split_line(line, copy, sizeof copy, tok, ELEMENTSOF(tok));
        if (n != 10 || !ifname_valid(tok[9]))
                return -EINVAL;
        ifname_copy(r.iface, tok[9]);
        if (parse_in6_plain(tok[0], r.dst) < 0 || parse_in6_plain(tok[2], src) < 0 ||
            parse_in6_plain(tok[4], r.gateway) < 0)
                return -EINVAL;
        if (strlen(tok[1]) != 2 || parse_hex_n(tok[1], 2, &v) < 0 || v > 128)
                return -EINVAL;
        r.prefix_len = (unsigned) v;
        if (strlen(tok[3]) != 2 || parse_hex_n(tok[3], 2, &v) < 0 || v > 128)
                return -EINVAL;
        if (strlen(tok[5]) != 8 || parse_hex_n(tok[5], 8, &v) < 0)
                return -EINVAL;
        r.metric = (uint32_t) v;
        for (size_t i = 6; i <= 8; i++)
                if (strlen(tok[i]) != 8 || parse_hex_n(tok[i], 8, &v) < 0)
                        return -EINVAL;
        r.flags = (uint32_t) v;         /* the last of the three: flags */
        *ret = r;
        return 0;
}

static bool nameserver_valid(const char *s) {
        char addr[64];
        uint8_t buf[16];
        const char *pct = strchr(s, '%');
        size_t n = pct ? (size_t) (pct - s) : strlen(s);

        if (n == 0 || n >= sizeof addr || strlen(s) >= 64)
                return false;
        memcpy(addr, s, n);
        addr[n] = '\0';
        if (inet_pton(AF_INET, addr, buf) == 1)
                return !pct;
        if (inet_pton(AF_INET6, addr, buf) != 1)
                return false;
        if (pct && !ifname_valid(pct + 1) && strspn(pct + 1, "0123456789") != strlen(pct + 1))
                return false;
        return !pct || pct[1] != '\0';
}

static bool domain_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n >= RESOLV_DOMAIN_MAX)
                return false;
        for (const char *p = s; *p; p++)
                if (!(isalnum((unsigned char) *p) || *p == '-' || *p == '.' || *p == '_'))
                        return false;
        return true;
}

int resolv_conf_parse_line(const char *line, ResolvConf *rc) {
        char copy[PROCNET_LINE_MAX], *tok[RESOLV_SEARCH_MAX + 8];
        size_t keep;
        int n;

        if (!line || !rc)
                return -EINVAL;
        if (strlen(line) >= sizeof copy)
                return -EINVAL;
        if (line[0] == '#' || line[0] == ';')
                return 0;
        n = split_line(line, copy, sizeof copy, tok, ELEMENTSOF(tok));
        if (n < 0) {
                /* Too many search domains: keep what fits, say so. */
                char *p;

                memcpy(copy, line, strlen(line) + 1);
                strip_newline(copy);
                p = copy;
                n = 0;
                while (*p && (size_t) n < ELEMENTSOF(tok)) {
                        while (*p == ' ' || *p == '\t')
                                p++;
                        if (!*p)
                                break;
                        tok[n++] = p;
                        while (*p && *p != ' ' && *p != '\t')
                                p++;
                        if (*p)
                                *p++ = '\0';
                }
                rc->truncated = true;
        }
        if (n == 0)
                return 0;

        if (streq(tok[0], "nameserver")) {
                if (n < 2 || !nameserver_valid(tok[1]))
                        return -EINVAL;
                if (rc->n_nameservers >= RESOLV_NAMESERVERS_MAX) {
                        rc->truncated = true;
                        return 0;
                }
                snprintf(rc->nameservers[rc->n_nameservers++], sizeof rc->nameservers[0], "%s", tok[1]);
                return 0;
        }
        if (streq(tok[0], "search") || streq(tok[0], "domain")) {
                if (n < 2)
                        return -EINVAL;
                for (int i = 1; i < n; i++)
                        if (!domain_valid(tok[i]))
                                return -EINVAL;
                keep = (size_t) (n - 1);
                if (streq(tok[0], "domain"))
                        keep = 1;
                if (keep > RESOLV_SEARCH_MAX) {
                        keep = RESOLV_SEARCH_MAX;
                        rc->truncated = true;
                }
                for (size_t i = 0; i < keep; i++)
                        snprintf(rc->search[i], sizeof rc->search[0], "%s", tok[i + 1]);
                rc->n_search = keep;
        }
        return 0;
}

/* get_network_status ---------------------------------------------------------- */

typedef struct Iface {
        char name[PROCNET_IFNAME_MAX];
        unsigned flags;
        bool have_flags;
        json_t *addrs;                  /* owned */
} Iface;

static Iface *iface_find_or_add(Iface *ifs, size_t *n, const char *name, bool *ret_full) {
        for (size_t i = 0; i < *n; i++)
                if (streq(ifs[i].name, name))
                        return &ifs[i];
        if (*n >= IFACES_MAX) {
                *ret_full = true;
                return NULL;
        }
        ifs[*n] = (Iface) {};
        ifname_copy(ifs[*n].name, name);
        return &ifs[(*n)++];
}

static unsigned netmask_prefix(const struct sockaddr *sa) {
        const uint8_t *b;
        size_t n;
        unsigned len = 0;

        if (!sa)
                return 0;
        if (sa->sa_family == AF_INET) {
                b = (const uint8_t *) &((const struct sockaddr_in *) (const void *) sa)->sin_addr;
                n = 4;
        } else if (sa->sa_family == AF_INET6) {
                b = (const uint8_t *) &((const struct sockaddr_in6 *) (const void *) sa)->sin6_addr;
                n = 16;
        } else
                return 0;
        for (size_t i = 0; i < n; i++) {
                uint8_t x = b[i];

                while (x & 0x80) {
                        len++;
                        x = (uint8_t) (x << 1);
                }
                if (b[i] != 0xff)
                        break;
        }
        return len;
}

static const char *in6_scope(const uint8_t *a) {
        static const uint8_t loopback[16] = { [15] = 1 };

        if (memcmp(a, loopback, 16) == 0)
                return "host";
        if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
                return "link";
        if ((a[0] & 0xfe) == 0xfc)
                return "unique_local";
        return "global";
}

static int iface_add_address(Iface *ifc, const struct ifaddrs *ia) {
        _cleanup_json_ json_t *o = NULL;
        char buf[INET6_ADDRSTRLEN];
        int family = ia->ifa_addr->sa_family;
        const uint8_t *a;

        if (json_array_size(ifc->addrs) >= ADDRS_PER_IFACE_MAX)
                return 0;
        if (family == AF_INET)
                a = (const uint8_t *) &((const struct sockaddr_in *) (const void *) ia->ifa_addr)->sin_addr;
        else
                a = (const uint8_t *) &((const struct sockaddr_in6 *) (const void *) ia->ifa_addr)->sin6_addr;
        format_addr(family, a, buf, sizeof buf);

        o = json_object();
        if (!o || json_set(o, "family", json_string(family == AF_INET ? "ipv4" : "ipv6")) < 0 ||
            json_set(o, "address", json_string(buf)) < 0 ||
            json_set(o, "prefix_length", json_integer(netmask_prefix(ia->ifa_netmask))) < 0 ||
            json_set(o, "scope", json_string(family == AF_INET ? (a[0] == 127 ? "host" : "global")
                                                                : in6_scope(a))) < 0)
                return -ENOMEM;
        return json_append(ifc->addrs, TAKE_PTR(o));
}

static void ifaces_free(Iface *ifs, size_t n) {
        for (size_t i = 0; i < n; i++)
                json_decref(ifs[i].addrs);
        free(ifs);
}

/* Reads one short sysfs attribute of an interface; "" when unavailable
 * (e.g. speed of a link that is down reads as EINVAL). */
static void sysfs_attr(int net_fd, const char *ifname, const char *attr, char *buf, size_t size) {
        _cleanup_close_ int dfd = -1;

        buf[0] = '\0';
        if (net_fd < 0)
                return;
        /* ifname_valid() was checked: one path component, never "..". */
        dfd = openat(net_fd, ifname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return;
        if (read_file_at(dfd, O_NOFOLLOW, attr, buf, size) < 0)
                buf[0] = '\0';
        strip_newline(buf);
}

static json_t *json_int_or_null(const char *s, int64_t min, int64_t max) {
        uint64_t v;

        if (parse_dec(s, (uint64_t) max, &v) < 0 || (int64_t) v < min)
                return json_null();
        return json_integer((json_int_t) v);
}

static bool mac_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 64)
                return false;
        return strspn(s, "0123456789abcdefABCDEF:") == n;
}

static const char *iface_state(const char *operstate, const Iface *ifc) {
        if (streq(operstate, "up"))
                return "up";
        if (streq(operstate, "down") || streq(operstate, "lowerlayerdown") || streq(operstate, "notpresent") ||
            streq(operstate, "dormant"))
                return "down";
        /* "unknown" (loopback, many virtual links) or no operstate: the
         * administrative and carrier flags say more. */
        if (ifc->have_flags) {
                if (!(ifc->flags & IFF_UP))
                        return "down";
                if (ifc->flags & IFF_RUNNING)
                        return "up";
        }
        return "unknown";
}

static json_t *iface_flags_json(unsigned flags) {
        static const struct {
                unsigned bit;
                const char *name;
        } names[] = {
                { IFF_UP, "UP" },           { IFF_BROADCAST, "BROADCAST" },
                { IFF_LOOPBACK, "LOOPBACK" }, { IFF_POINTOPOINT, "POINTOPOINT" },
                { IFF_RUNNING, "RUNNING" }, { IFF_NOARP, "NOARP" },
                { IFF_PROMISC, "PROMISC" }, { IFF_MULTICAST, "MULTICAST" },
        };
        _cleanup_json_ json_t *a = json_array();

        if (!a)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if ((flags & names[i].bit) && json_append(a, json_string(names[i].name)) < 0)
                        return NULL;
        return TAKE_PTR(a);
}

static int collect_interfaces(ToolCall *call, json_t **ret, bool *ret_truncated, FILE *text) {
        _cleanup_(freeifaddrsp) struct ifaddrs *ifa = NULL;
        _cleanup_json_ json_t *list = NULL;
        _cleanup_close_ int net_fd = -1;
        Iface *ifs = NULL;
        size_t n = 0;
        bool full = false;
        int r = 0;

        if (getifaddrs(&ifa) < 0)
                return tool_error(call, -errno, "cannot list network interfaces: getifaddrs failed: %m");
        ifs = calloc(IFACES_MAX, sizeof *ifs);
        list = json_array();
        if (!ifs || !list) {
                free(ifs);
                return tool_error(call, -ENOMEM, "out of memory");
        }

        for (struct ifaddrs *p = ifa; p; p = p->ifa_next) {
                Iface *ifc;

                if (!p->ifa_name || !ifname_valid(p->ifa_name))
                        continue;
                ifc = iface_find_or_add(ifs, &n, p->ifa_name, &full);
                if (!ifc)
                        continue;
                if (!ifc->addrs) {
                        ifc->addrs = json_array();
                        if (!ifc->addrs) {
                                r = -ENOMEM;
                                goto finish;
                        }
                }
                ifc->flags = p->ifa_flags;
                ifc->have_flags = true;
                if (p->ifa_addr && (p->ifa_addr->sa_family == AF_INET || p->ifa_addr->sa_family == AF_INET6)) {
                        r = iface_add_address(ifc, p);
                        if (r < 0)
                                goto finish;
                }
        }

        net_fd = open("/sys/class/net", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        for (size_t i = 0; i < n; i++) {
                _cleanup_json_ json_t *o = NULL;
                char operstate[32], mtu[32], mac[96], speed[32];
                const char *state;
                size_t k;
                json_t *a;

                if (tool_cancelled(call)) {
                        ifaces_free(ifs, n);
                        return tool_error(call, -ECANCELED, "cancelled");
                }
                sysfs_attr(net_fd, ifs[i].name, "operstate", operstate, sizeof operstate);
                sysfs_attr(net_fd, ifs[i].name, "mtu", mtu, sizeof mtu);
                sysfs_attr(net_fd, ifs[i].name, "address", mac, sizeof mac);
                sysfs_attr(net_fd, ifs[i].name, "speed", speed, sizeof speed);
                state = iface_state(operstate, &ifs[i]);

                o = json_object();
                if (!o || json_set(o, "name", json_string_clean(ifs[i].name)) < 0 ||
                    json_set(o, "state", json_string(state)) < 0 ||
                    json_set(o, "operstate", operstate[0] ? json_string_clean(operstate) : json_null()) < 0 ||
                    json_set(o, "mac", mac_valid(mac) ? json_string(mac) : json_null()) < 0 ||
                    json_set(o, "mtu", json_int_or_null(mtu, 0, INT32_MAX)) < 0 ||
                    json_set(o, "speed_mbps", json_int_or_null(speed, 0, INT32_MAX)) < 0 ||
                    json_set(o, "flags", iface_flags_json(ifs[i].flags)) < 0 ||
                    json_set(o, "addresses", json_incref(ifs[i].addrs)) < 0 ||
                    json_array_append_new(list, TAKE_PTR(o)) < 0) {
                        r = -ENOMEM;
                        goto finish;
                }

                fprintf(text, "%-16s %-7s mtu %-6s %s\n", ifs[i].name, state, mtu[0] ? mtu : "-",
                        mac_valid(mac) ? mac : "");
                json_array_foreach(ifs[i].addrs, k, a)
                        fprintf(text, "    %s/%" JSON_INTEGER_FORMAT "\n",
                                json_string_value(json_object_get(a, "address")),
                                json_integer_value(json_object_get(a, "prefix_length")));
        }

finish:
        ifaces_free(ifs, n);
        if (r < 0)
                return tool_error(call, r, "out of memory");
        *ret = TAKE_PTR(list);
        *ret_truncated = full;
        return 0;
}

static int route_json(const ProcNetRoute *rt, json_t **ret) {
        static const uint8_t zero[16] = {};
        _cleanup_json_ json_t *o = NULL;
        char dst[INET6_ADDRSTRLEN], gw[INET6_ADDRSTRLEN];
        size_t alen = rt->family == AF_INET ? 4 : 16;
        bool has_gw = memcmp(rt->gateway, zero, alen) != 0;

        format_addr(rt->family, rt->dst, dst, sizeof dst);
        format_addr(rt->family, rt->gateway, gw, sizeof gw);
        o = json_object();
        if (!o || json_set(o, "family", json_string(rt->family == AF_INET ? "ipv4" : "ipv6")) < 0 ||
            json_set(o, "destination", json_string(dst)) < 0 ||
            json_set(o, "prefix_length", json_integer(rt->prefix_len)) < 0 ||
            json_set(o, "gateway", has_gw ? json_string(gw) : json_null()) < 0 ||
            json_set(o, "interface", json_string_clean(rt->iface)) < 0 ||
            json_set(o, "metric", json_integer(rt->metric)) < 0 ||
            json_set(o, "default", json_boolean(rt->prefix_len == 0)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

static int collect_routes(ToolCall *call, json_t *routes, json_t *gateways, bool *truncated, FILE *text) {
        static const struct {
                const char *path;
                int family;
        } files[] = {
                { "/proc/net/route", AF_INET },
                { "/proc/net/ipv6_route", AF_INET6 },
        };

        for (size_t f = 0; f < ELEMENTSOF(files); f++) {
                _cleanup_(fclosep) FILE *in = fopen(files[f].path, "re");
                char line[PROCNET_LINE_MAX];
                size_t lines = 0;

                if (!in)
                        continue;       /* IPv6 may be disabled */
                while (fgets(line, sizeof line, in) && lines++ < ROUTE_LINES_MAX) {
                        _cleanup_json_ json_t *o = NULL;
                        ProcNetRoute rt;
                        int r;

                        if (tool_cancelled(call))
                                return tool_error(call, -ECANCELED, "cancelled");
                        if (files[f].family == AF_INET)
                                r = procnet_parse_route_line(line, &rt);
                        else
                                r = procnet_parse_ipv6_route_line(line, &rt);
                        if (r < 0)
                                continue;
                        /* Unreachable markers, cached clones and the
                         * addresses of this host (local table) are not
                         * routes anyone configured. */
                        if (!(rt.flags & RTF_UP) || (rt.flags & (RTF_REJECT | RTF_CACHE)))
                                continue;
                        if (rt.family == AF_INET6 && (rt.flags & RTF_LOCAL_V6))
                                continue;
                        if (rt.family == AF_INET6 && rt.dst[0] == 0xff)
                                continue;       /* multicast */
                        if (json_array_size(routes) >= ROUTES_MAX) {
                                *truncated = true;
                                continue;
                        }
                        if (route_json(&rt, &o) < 0)
                                return tool_error(call, -ENOMEM, "out of memory");
                        if (rt.prefix_len == 0 && !json_is_null(json_object_get(o, "gateway"))) {
                                _cleanup_json_ json_t *g = json_object();

                                if (!g ||
                                    json_set(g, "family", json_incref(json_object_get(o, "family"))) < 0 ||
                                    json_set(g, "gateway", json_incref(json_object_get(o, "gateway"))) < 0 ||
                                    json_set(g, "interface", json_incref(json_object_get(o, "interface"))) < 0 ||
                                    json_set(g, "metric", json_integer(rt.metric)) < 0 ||
                                    json_append(gateways, TAKE_PTR(g)) < 0)
                                        return tool_error(call, -ENOMEM, "out of memory");
                                fprintf(text, "default via %s dev %s metric %" PRIu32 "\n",
                                        json_string_value(json_object_get(o, "gateway")), rt.iface, rt.metric);
                        }
                        if (json_append(routes, TAKE_PTR(o)) < 0)
                                return tool_error(call, -ENOMEM, "out of memory");
                }
        }
        return 0;
}

static int collect_dns(ToolCall *call, json_t **ret, FILE *text) {
        _cleanup_(fclosep) FILE *in = NULL;
        _cleanup_json_ json_t *o = NULL, *servers = NULL, *search = NULL;
        _cleanup_free_ ResolvConf *rc = calloc(1, sizeof *rc);
        char line[PROCNET_LINE_MAX];
        size_t lines = 0;
        bool readable;

        if (!rc)
                return tool_error(call, -ENOMEM, "out of memory");
        in = fopen(RESOLV_CONF_PATH, "re");
        readable = in != NULL;
        while (in && fgets(line, sizeof line, in) && lines++ < RESOLV_LINES_MAX) {
                if (!strchr(line, '\n') && !feof(in)) {
                        /* Over-long line: skip it whole. */
                        int c;

                        while ((c = fgetc(in)) != EOF && c != '\n')
                                ;
                        continue;
                }
                (void) resolv_conf_parse_line(line, rc);
        }

        o = json_object();
        servers = json_array();
        search = json_array();
        if (!o || !servers || !search)
                return tool_error(call, -ENOMEM, "out of memory");
        for (size_t i = 0; i < rc->n_nameservers; i++)
                if (json_append(servers, json_string(rc->nameservers[i])) < 0)
                        return tool_error(call, -ENOMEM, "out of memory");
        for (size_t i = 0; i < rc->n_search; i++)
                if (json_append(search, json_string(rc->search[i])) < 0)
                        return tool_error(call, -ENOMEM, "out of memory");
        if (json_set(o, "source", json_string(RESOLV_CONF_PATH)) < 0 ||
            json_set(o, "readable", json_boolean(readable)) < 0 ||
            json_set(o, "nameservers", TAKE_PTR(servers)) < 0 ||
            json_set(o, "search", TAKE_PTR(search)) < 0 ||
            json_set(o, "truncated", json_boolean(rc->truncated)) < 0)
                return tool_error(call, -ENOMEM, "out of memory");

        fprintf(text, "dns:");
        for (size_t i = 0; i < rc->n_nameservers; i++)
                fprintf(text, " %s", rc->nameservers[i]);
        if (rc->n_nameservers == 0)
                fprintf(text, " (none%s)", readable ? "" : ", " RESOLV_CONF_PATH " not readable");
        if (rc->n_search > 0) {
                fprintf(text, "  search:");
                for (size_t i = 0; i < rc->n_search; i++)
                        fprintf(text, " %s", rc->search[i]);
        }
        fprintf(text, "\n");
        *ret = TAKE_PTR(o);
        return 0;
}

static int tool_get_network_status(ToolCall *call) {
        _cleanup_json_ json_t *result = NULL, *ifaces = NULL, *routes = NULL, *gateways = NULL, *dns = NULL;
        _cleanup_free_ char *text_buf = NULL;  /* freed after text is closed */
        _cleanup_(fclosep) FILE *text = NULL;
        size_t text_len = 0;
        bool if_trunc = false, rt_trunc = false;
        int r;

        text = open_memstream(&text_buf, &text_len);
        routes = json_array();
        gateways = json_array();
        result = json_object();
        if (!text || !routes || !gateways || !result)
                return tool_error(call, -ENOMEM, "out of memory");

        r = collect_interfaces(call, &ifaces, &if_trunc, text);
        if (r < 0)
                return r;
        r = collect_routes(call, routes, gateways, &rt_trunc, text);
        if (r < 0)
                return r;
        fprintf(text, "%zu routes\n", json_array_size(routes));
        r = collect_dns(call, &dns, text);
        if (r < 0)
                return r;
        if (fflush(text) != 0 || ferror(text))
                return tool_error(call, -ENOMEM, "out of memory");
        fclose(TAKE_PTR(text));

        if (json_set(result, "interfaces", TAKE_PTR(ifaces)) < 0 ||
            json_set(result, "interfaces_truncated", json_boolean(if_trunc)) < 0 ||
            json_set(result, "routes", TAKE_PTR(routes)) < 0 ||
            json_set(result, "routes_truncated", json_boolean(rt_trunc)) < 0 ||
            json_set(result, "default_gateways", TAKE_PTR(gateways)) < 0 ||
            json_set(result, "dns", TAKE_PTR(dns)) < 0)
                return tool_error(call, -ENOMEM, "out of memory");

        call->result = TAKE_PTR(result);
        call->text = TAKE_PTR(text_buf);
        return 0;
}

/* get_network_io_counters ----------------------------------------------------- */

static int dev_json(const ProcNetDev *d, bool with_name, json_t **ret) {
        _cleanup_json_ json_t *o = json_object();

        if (!o || (with_name && json_set(o, "name", json_string_clean(d->name)) < 0) ||
            json_set(o, "rx_bytes", json_integer((json_int_t) (d->rx_bytes & INT64_MAX))) < 0 ||
            json_set(o, "rx_packets", json_integer((json_int_t) (d->rx_packets & INT64_MAX))) < 0 ||
            json_set(o, "rx_errors", json_integer((json_int_t) (d->rx_errors & INT64_MAX))) < 0 ||
            json_set(o, "rx_dropped", json_integer((json_int_t) (d->rx_dropped & INT64_MAX))) < 0 ||
            json_set(o, "tx_bytes", json_integer((json_int_t) (d->tx_bytes & INT64_MAX))) < 0 ||
            json_set(o, "tx_packets", json_integer((json_int_t) (d->tx_packets & INT64_MAX))) < 0 ||
            json_set(o, "tx_errors", json_integer((json_int_t) (d->tx_errors & INT64_MAX))) < 0 ||
            json_set(o, "tx_dropped", json_integer((json_int_t) (d->tx_dropped & INT64_MAX))) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

static uint64_t sat_add(uint64_t a, uint64_t b) {
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static int tool_get_network_io_counters(ToolCall *call) {
        _cleanup_json_ json_t *result = NULL, *list = NULL, *totals = NULL;
        _cleanup_free_ char *text_buf = NULL;  /* freed after text is closed */
        _cleanup_(fclosep) FILE *in = NULL, *text = NULL;
        char line[PROCNET_LINE_MAX];
        size_t text_len = 0, lines = 0;
        ProcNetDev sum = {};
        bool truncated = false;

        in = fopen("/proc/net/dev", "re");
        if (!in)
                return tool_error(call, -errno, "cannot read /proc/net/dev: %m");
        text = open_memstream(&text_buf, &text_len);
        list = json_array();
        result = json_object();
        if (!text || !list || !result)
                return tool_error(call, -ENOMEM, "out of memory");

        fprintf(text, "%-16s %16s %12s %8s %8s %16s %12s %8s %8s\n", "IFACE", "RX_BYTES", "RX_PACKETS",
                "RX_ERR", "RX_DROP", "TX_BYTES", "TX_PACKETS", "TX_ERR", "TX_DROP");
        while (fgets(line, sizeof line, in) && lines++ < ROUTE_LINES_MAX) {
                _cleanup_json_ json_t *o = NULL;
                ProcNetDev d;

                if (tool_cancelled(call))
                        return tool_error(call, -ECANCELED, "cancelled");
                if (procnet_parse_dev_line(line, &d) < 0)
                        continue;
                if (json_array_size(list) >= IFACES_MAX) {
                        truncated = true;
                        continue;
                }
                if (dev_json(&d, true, &o) < 0 || json_append(list, TAKE_PTR(o)) < 0)
                        return tool_error(call, -ENOMEM, "out of memory");
                sum.rx_bytes = sat_add(sum.rx_bytes, d.rx_bytes);
                sum.rx_packets = sat_add(sum.rx_packets, d.rx_packets);
                sum.rx_errors = sat_add(sum.rx_errors, d.rx_errors);
                sum.rx_dropped = sat_add(sum.rx_dropped, d.rx_dropped);
                sum.tx_bytes = sat_add(sum.tx_bytes, d.tx_bytes);
                sum.tx_packets = sat_add(sum.tx_packets, d.tx_packets);
                sum.tx_errors = sat_add(sum.tx_errors, d.tx_errors);
                sum.tx_dropped = sat_add(sum.tx_dropped, d.tx_dropped);
                fprintf(text, "%-16s %16" PRIu64 " %12" PRIu64 " %8" PRIu64 " %8" PRIu64 " %16" PRIu64
                              " %12" PRIu64 " %8" PRIu64 " %8" PRIu64 "\n",
                        d.name, d.rx_bytes, d.rx_packets, d.rx_errors, d.rx_dropped, d.tx_bytes, d.tx_packets,
                        d.tx_errors, d.tx_dropped);
        }
        fprintf(text, "%-16s %16" PRIu64 " %12" PRIu64 " %8" PRIu64 " %8" PRIu64 " %16" PRIu64 " %12" PRIu64
                      " %8" PRIu64 " %8" PRIu64 "\n",
                "total", sum.rx_bytes, sum.rx_packets, sum.rx_errors, sum.rx_dropped, sum.tx_bytes,
                sum.tx_packets, sum.tx_errors, sum.tx_dropped);
        if (fflush(text) != 0 || ferror(text))
                return tool_error(call, -ENOMEM, "out of memory");
        fclose(TAKE_PTR(text));

        if (dev_json(&sum, false, &totals) < 0 || json_set(result, "interfaces", TAKE_PTR(list)) < 0 ||
            json_set(result, "totals", TAKE_PTR(totals)) < 0 ||
            json_set(result, "truncated", json_boolean(truncated)) < 0)
                return tool_error(call, -ENOMEM, "out of memory");
        call->result = TAKE_PTR(result);
        call->text = TAKE_PTR(text_buf);
        return 0;
}

/* get_active_connections ------------------------------------------------------ */

typedef struct Conn {
        ProcNetSocket s;
        bool udp;
        int pid;                        /* 0: unknown */
        char process[16];
} Conn;

static const char *const tcp_state_names[] = {
        [1] = "ESTABLISHED", [2] = "SYN_SENT",   [3] = "SYN_RECV",   [4] = "FIN_WAIT1",
        [5] = "FIN_WAIT2",   [6] = "TIME_WAIT",  [7] = "CLOSE",      [8] = "CLOSE_WAIT",
        [9] = "LAST_ACK",    [10] = "LISTEN",    [11] = "CLOSING",   [12] = "NEW_SYN_RECV",
};

static const char *conn_state(const Conn *c) {
        /* UDP sockets borrow TCP_ESTABLISHED once connect()ed and otherwise
         * sit in TCP_CLOSE; ss(8) calls the latter UNCONN. */
        if (c->udp)
                return c->s.state == 1 ? "ESTABLISHED" : c->s.state == 10 ? "LISTEN" : "UNCONN";
        if (c->s.state < ELEMENTSOF(tcp_state_names) && tcp_state_names[c->s.state])
                return tcp_state_names[c->s.state];
        return "UNKNOWN";
}

/* Listening sockets first (TCP, then unconnected UDP), then established,
 * then everything else. */
static int conn_rank(const Conn *c) {
        if (!c->udp && c->s.state == 10)
                return 0;
        if (c->udp && c->s.state == 7)
                return 1;
        if (c->s.state == 1)
                return 2;
        return 3;
}

static int conn_cmp(const void *a, const void *b) {
        const Conn *x = a, *y = b;
        int rx = conn_rank(x), ry = conn_rank(y);

        if (rx != ry)
                return rx < ry ? -1 : 1;
        if (x->udp != y->udp)
                return x->udp ? 1 : -1;
        if (x->s.local_port != y->s.local_port)
                return x->s.local_port < y->s.local_port ? -1 : 1;
        if (x->s.family != y->s.family)
                return x->s.family == AF_INET ? -1 : 1;
        if (x->s.remote_port != y->s.remote_port)
                return x->s.remote_port < y->s.remote_port ? -1 : 1;
        return memcmp(x->s.remote, y->s.remote, 16);
}

typedef struct InodeRef {
        uint64_t inode;
        size_t index;                   /* into the shown connections */
} InodeRef;

static int inode_cmp(const void *a, const void *b) {
        const InodeRef *x = a, *y = b;

        return x->inode < y->inode ? -1 : x->inode > y->inode;
}

/* "socket:[12345]" → 12345. */
static bool socket_link_inode(const char *link, uint64_t *ret) {
        char num[32];
        size_t n;

        if (strncmp(link, "socket:[", 8) != 0)
                return false;
        n = strlen(link + 8);
        if (n < 2 || n >= sizeof num || link[8 + n - 1] != ']')
                return false;
        memcpy(num, link + 8, n - 1);
        num[n - 1] = '\0';
        return parse_dec(num, UINT64_MAX, ret) >= 0;
}

typedef struct OwnerScan {
        size_t procs, fds;
        bool complete;
} OwnerScan;

/* Finds the owning process of each shown socket by their inodes, looking at
 * /proc/<pid>/fd of every process we may see. Bounded by OWNER_PROCS_MAX
 * processes and OWNER_FDS_MAX descriptors; stops early once all are found. */
static int find_owners(ToolCall *call, Conn *shown, size_t n_shown, OwnerScan *scan) {
        _cleanup_free_ InodeRef *refs = NULL;
        _cleanup_(closedirp) DIR *proc = NULL;
        size_t n_refs = 0, found = 0;
        struct dirent *de;

        *scan = (OwnerScan) { .complete = true };
        if (n_shown == 0)
                return 0;
        refs = calloc(n_shown, sizeof *refs);
        if (!refs)
                return -ENOMEM;
        for (size_t i = 0; i < n_shown; i++)
                if (shown[i].s.inode != 0)
                        refs[n_refs++] = (InodeRef) { .inode = shown[i].s.inode, .index = i };
        if (n_refs == 0)
                return 0;
        qsort(refs, n_refs, sizeof *refs, inode_cmp);

        proc = opendir("/proc");
        if (!proc) {
                scan->complete = false;
                return 0;
        }
        while (found < n_refs) {
                _cleanup_(closedirp) DIR *fds = NULL;
                char path[64], comm[64] = "";
                uint64_t pid;
                int pid_fd;

                errno = 0;
                de = readdir(proc);
                if (!de)
                        break;
                if (tool_cancelled(call))
                        return -ECANCELED;
                if (parse_dec(de->d_name, INT32_MAX, &pid) < 0 || pid == 0)
                        continue;
                if (scan->procs >= OWNER_PROCS_MAX || scan->fds >= OWNER_FDS_MAX) {
                        scan->complete = false;
                        break;
                }
                scan->procs++;

                snprintf(path, sizeof path, "%" PRIu64 "/fd", pid);
                pid_fd = openat(dirfd(proc), path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (pid_fd < 0)
                        continue;       /* gone, or not ours to see */
                fds = fdopendir(pid_fd);
                if (!fds) {
                        close(pid_fd);
                        continue;
                }
                for (;;) {
                        struct dirent *fe;
                        char link[64];
                        InodeRef key, *hit;
                        ssize_t l;

                        fe = readdir(fds);
                        if (!fe)
                                break;
                        if (fe->d_name[0] == '.')
                                continue;
                        if (scan->fds >= OWNER_FDS_MAX) {
                                scan->complete = false;
                                break;
                        }
                        scan->fds++;
                        l = readlinkat(dirfd(fds), fe->d_name, link, sizeof link - 1);
                        if (l <= 0)
                                continue;
                        link[l] = '\0';
                        if (!socket_link_inode(link, &key.inode))
                                continue;
                        hit = bsearch(&key, refs, n_refs, sizeof *refs, inode_cmp);
                        if (!hit)
                                continue;
                        /* Several entries may share an inode (dup'd sockets are
                         * one socket): walk to the first and fill all. */
                        while (hit > refs && hit[-1].inode == key.inode)
                                hit--;
                        for (; hit < refs + n_refs && hit->inode == key.inode; hit++) {
                                Conn *c = &shown[hit->index];

                                if (c->pid != 0)
                                        continue;
                                if (!comm[0]) {
                                        snprintf(path, sizeof path, "%" PRIu64 "/comm", pid);
                                        if (read_file_at(dirfd(proc), O_NOFOLLOW, path, comm, sizeof comm) <= 0)
                                                snprintf(comm, sizeof comm, "?");
                                        strip_newline(comm);
                                }
                                c->pid = (int) pid;
                                utf8_sanitize(comm, c->process, sizeof c->process);
                                found++;
                        }
                }
        }
        return 0;
}

/* Reads one /proc/net file into the array; bounded. */
static int read_sockets(ToolCall *call, const char *path, int family, bool udp, Conn **conns, size_t *n,
                        size_t *cap, size_t *total, bool *truncated) {
        _cleanup_(fclosep) FILE *in = fopen(path, "re");
        char line[PROCNET_LINE_MAX];
        size_t lines = 0;

        if (!in)
                return 0;       /* protocol or family not available */
        while (fgets(line, sizeof line, in)) {
                ProcNetSocket s;

                if (++lines > SOCKET_LINES_MAX) {
                        *truncated = true;
                        break;
                }
                if ((lines & 1023) == 1 && tool_cancelled(call))
                        return -ECANCELED;
                if (procnet_parse_socket_line(line, family, &s) < 0)
                        continue;
                (*total)++;
                if (*n >= SOCKETS_MAX) {
                        *truncated = true;
                        continue;
                }
                if (*n == *cap) {
                        size_t ncap = *cap ? *cap * 2 : 256;
                        Conn *nc;

                        if (ncap > SOCKETS_MAX)
                                ncap = SOCKETS_MAX;
                        nc = reallocarray(*conns, ncap, sizeof **conns);
                        if (!nc)
                                return -ENOMEM;
                        *conns = nc;
                        *cap = ncap;
                }
                (*conns)[(*n)++] = (Conn) { .s = s, .udp = udp };
        }
        return 0;
}

static int conn_json(const Conn *c, json_t **ret) {
        _cleanup_json_ json_t *o = NULL;
        char la[INET6_ADDRSTRLEN], ra[INET6_ADDRSTRLEN];

        format_addr(c->s.family, c->s.local, la, sizeof la);
        format_addr(c->s.family, c->s.remote, ra, sizeof ra);
        o = json_object();
        if (!o || json_set(o, "protocol", json_string(c->udp ? "udp" : "tcp")) < 0 ||
            json_set(o, "family", json_string(c->s.family == AF_INET ? "ipv4" : "ipv6")) < 0 ||
            json_set(o, "state", json_string(conn_state(c))) < 0 ||
            json_set(o, "local_address", json_string(la)) < 0 ||
            json_set(o, "local_port", json_integer(c->s.local_port)) < 0 ||
            json_set(o, "remote_address", json_string(ra)) < 0 ||
            json_set(o, "remote_port", json_integer(c->s.remote_port)) < 0 ||
            json_set(o, "uid", json_integer(c->s.uid)) < 0 ||
            json_set(o, "inode", json_integer((json_int_t) (c->s.inode & INT64_MAX))) < 0 ||
            json_set(o, "pid", c->pid > 0 ? json_integer(c->pid) : json_null()) < 0 ||
            json_set(o, "process", c->pid > 0 ? json_string(c->process) : json_null()) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

static int tool_get_active_connections(ToolCall *call) {
        static const struct {
                const char *path;
                int family;
                bool udp;
                const char *key;
        } files[] = {
                { "/proc/net/tcp", AF_INET, false, "tcp" },
                { "/proc/net/tcp6", AF_INET6, false, "tcp6" },
                { "/proc/net/udp", AF_INET, true, "udp" },
                { "/proc/net/udp6", AF_INET6, true, "udp6" },
        };
        _cleanup_json_ json_t *result = NULL, *list = NULL, *by_state = NULL, *by_proto = NULL, *scan_o = NULL;
        _cleanup_free_ char *text_buf = NULL;  /* freed after text is closed */
        _cleanup_(fclosep) FILE *text = NULL;
        _cleanup_free_ Conn *conns = NULL;
        size_t n = 0, cap = 0, total = 0, text_len = 0, shown;
        json_int_t limit = CONN_LIMIT_DEFAULT;
        bool truncated = false;
        OwnerScan scan;
        json_t *v;
        int r;

        /* Arguments were validated against the schema; stay defensive anyway. */
        v = json_object_get(call->args, "limit");
        if (json_is_integer(v))
                limit = json_integer_value(v);
        if (limit < 1 || limit > CONN_LIMIT_MAX)
                return tool_error(call, -EINVAL, "argument 'limit': must be an integer between 1 and %d",
                                  CONN_LIMIT_MAX);

        by_proto = json_object();
        by_state = json_object();
        if (!by_proto || !by_state)
                return tool_error(call, -ENOMEM, "out of memory");
        for (size_t f = 0; f < ELEMENTSOF(files); f++) {
                size_t before = total;

                r = read_sockets(call, files[f].path, files[f].family, files[f].udp, &conns, &n, &cap, &total,
                                 &truncated);
                if (r == -ECANCELED)
                        return tool_error(call, r, "cancelled");
                if (r < 0)
                        return tool_error(call, r, "out of memory");
                if (json_set(by_proto, files[f].key, json_integer((json_int_t) (total - before))) < 0)
                        return tool_error(call, -ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < n; i++) {
                const char *st = conn_state(&conns[i]);
                json_int_t cur = json_integer_value(json_object_get(by_state, st));

                if (json_set(by_state, st, json_integer(cur + 1)) < 0)
                        return tool_error(call, -ENOMEM, "out of memory");
        }
        if (n > 0)
                qsort(conns, n, sizeof *conns, conn_cmp);
        shown = n < (size_t) limit ? n : (size_t) limit;

        r = find_owners(call, conns, shown, &scan);
        if (r == -ECANCELED)
                return tool_error(call, r, "cancelled");
        if (r < 0)
                return tool_error(call, r, "out of memory");

        text = open_memstream(&text_buf, &text_len);
        list = json_array();
        result = json_object();
        scan_o = json_object();
        if (!text || !list || !result || !scan_o)
                return tool_error(call, -ENOMEM, "out of memory");
        fprintf(text, "%-5s %-12s %-45s %-45s %8s %s\n", "PROTO", "STATE", "LOCAL", "REMOTE", "PID", "PROCESS");
        for (size_t i = 0; i < shown; i++) {
                _cleanup_json_ json_t *o = NULL;
                char la[INET6_ADDRSTRLEN + 8], ra[INET6_ADDRSTRLEN + 8];

                if (conn_json(&conns[i], &o) < 0 || json_append(list, TAKE_PTR(o)) < 0)
                        return tool_error(call, -ENOMEM, "out of memory");
                format_endpoint(conns[i].s.family, conns[i].s.local, conns[i].s.local_port, la, sizeof la);
                format_endpoint(conns[i].s.family, conns[i].s.remote, conns[i].s.remote_port, ra, sizeof ra);
                if (conns[i].pid > 0)
                        fprintf(text, "%-5s %-12s %-45s %-45s %8d %s\n", conns[i].udp ? "udp" : "tcp",
                                conn_state(&conns[i]), la, ra, conns[i].pid, conns[i].process);
                else
                        fprintf(text, "%-5s %-12s %-45s %-45s %8s %s\n", conns[i].udp ? "udp" : "tcp",
                                conn_state(&conns[i]), la, ra, "-", "-");
        }
        fprintf(text, "%zu of %zu sockets%s", shown, total, shown < total || truncated ? " (truncated)" : "");
        if (!scan.complete)
                fprintf(text, "; owner scan stopped after %zu processes / %zu descriptors", scan.procs, scan.fds);
        fprintf(text, "\n");
        if (fflush(text) != 0 || ferror(text))
                return tool_error(call, -ENOMEM, "out of memory");
        fclose(TAKE_PTR(text));

        if (json_set(scan_o, "complete", json_boolean(scan.complete)) < 0 ||
            json_set(scan_o, "processes_scanned", json_integer((json_int_t) scan.procs)) < 0 ||
            json_set(scan_o, "descriptors_scanned", json_integer((json_int_t) scan.fds)) < 0 ||
            json_set(result, "connections", TAKE_PTR(list)) < 0 ||
            json_set(result, "total", json_integer((json_int_t) total)) < 0 ||
            json_set(result, "by_state", TAKE_PTR(by_state)) < 0 ||
            json_set(result, "by_protocol", TAKE_PTR(by_proto)) < 0 ||
            json_set(result, "limit", json_integer(limit)) < 0 ||
            json_set(result, "truncated", json_boolean(shown < total || truncated)) < 0 ||
            json_set(result, "owner_scan", TAKE_PTR(scan_o)) < 0)
                return tool_error(call, -ENOMEM, "out of memory");

        call->result = TAKE_PTR(result);
        call->text = TAKE_PTR(text_buf);
        return 0;
}

/* The table ------------------------------------------------------------------- */

#define COUNT "{\"type\":\"integer\",\"minimum\":0}"
#define FAMILY "{\"type\":\"string\",\"enum\":[\"ipv4\",\"ipv6\"]}"
#define IFNAME "{\"type\":\"string\",\"minLength\":1,\"maxLength\":15}"
#define IO_FIELDS                                                                                            \
        "\"rx_bytes\":" COUNT ",\"rx_packets\":" COUNT ",\"rx_errors\":" COUNT ",\"rx_dropped\":" COUNT ","    \
        "\"tx_bytes\":" COUNT ",\"tx_packets\":" COUNT ",\"tx_errors\":" COUNT ",\"tx_dropped\":" COUNT
#define IO_REQUIRED                                                                                          \
        "\"rx_bytes\",\"rx_packets\",\"rx_errors\",\"rx_dropped\",\"tx_bytes\",\"tx_packets\",\"tx_errors\","  \
        "\"tx_dropped\""

const Tool tools_network[] = {
        {
                .name = "get_network_status",
                .title = "Network status",
                .description = "Network interfaces (link state, MTU, MAC, flags, IPv4/IPv6 addresses with "
                               "prefix length), the IPv4 and IPv6 routing table with the default gateways, "
                               "and the DNS servers and search domains from /etc/resolv.conf.",
                .scope = SCOPE_NETWORK_READ,
                .risk = RISK_LOW,
                .input_schema = "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{}}",
                .output_schema =
                        "{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"interfaces\",\"interfaces_truncated\",\"routes\",\"routes_truncated\","
                        "\"default_gateways\",\"dns\"],\"properties\":{"
                        "\"interfaces\":{\"type\":\"array\",\"maxItems\":512,\"items\":{"
                        "\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"name\",\"state\",\"operstate\",\"mac\",\"mtu\",\"speed_mbps\",\"flags\","
                        "\"addresses\"],\"properties\":{"
                        "\"name\":" IFNAME ","
                        "\"state\":{\"type\":\"string\",\"enum\":[\"up\",\"down\",\"unknown\"]},"
                        "\"operstate\":{\"type\":[\"string\",\"null\"],"
                        "\"description\":\"/sys/class/net/<if>/operstate as the kernel reports it\"},"
                        "\"mac\":{\"type\":[\"string\",\"null\"]},"
                        "\"mtu\":{\"type\":[\"integer\",\"null\"],\"minimum\":0},"
                        "\"speed_mbps\":{\"type\":[\"integer\",\"null\"],\"minimum\":0,"
                        "\"description\":\"null when the link does not report one\"},"
                        "\"flags\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"enum\":[\"UP\","
                        "\"BROADCAST\",\"LOOPBACK\",\"POINTOPOINT\",\"RUNNING\",\"NOARP\",\"PROMISC\","
                        "\"MULTICAST\"]}},"
                        "\"addresses\":{\"type\":\"array\",\"maxItems\":64,\"items\":{"
                        "\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"family\",\"address\",\"prefix_length\",\"scope\"],\"properties\":{"
                        "\"family\":" FAMILY ",\"address\":{\"type\":\"string\"},"
                        "\"prefix_length\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":128},"
                        "\"scope\":{\"type\":\"string\",\"enum\":[\"host\",\"link\",\"unique_local\","
                        "\"global\"]}}}}}}},"
                        "\"interfaces_truncated\":{\"type\":\"boolean\"},"
                        "\"routes\":{\"type\":\"array\",\"maxItems\":512,\"items\":{"
                        "\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"family\",\"destination\",\"prefix_length\",\"gateway\",\"interface\","
                        "\"metric\",\"default\"],\"properties\":{"
                        "\"family\":" FAMILY ",\"destination\":{\"type\":\"string\"},"
                        "\"prefix_length\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":128},"
                        "\"gateway\":{\"type\":[\"string\",\"null\"],\"description\":\"null: directly "
                        "connected\"},"
                        "\"interface\":" IFNAME ",\"metric\":" COUNT ",\"default\":{\"type\":\"boolean\"}}}},"
                        "\"routes_truncated\":{\"type\":\"boolean\"},"
                        "\"default_gateways\":{\"type\":\"array\",\"items\":{"
                        "\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"family\",\"gateway\",\"interface\",\"metric\"],\"properties\":{"
                        "\"family\":" FAMILY ",\"gateway\":{\"type\":\"string\"},\"interface\":" IFNAME ","
                        "\"metric\":" COUNT "}}},"
                        "\"dns\":{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"source\",\"readable\",\"nameservers\",\"search\",\"truncated\"],"
                        "\"properties\":{"
                        "\"source\":{\"type\":\"string\"},\"readable\":{\"type\":\"boolean\"},"
                        "\"nameservers\":{\"type\":\"array\",\"maxItems\":8,\"items\":{\"type\":\"string\"}},"
                        "\"search\":{\"type\":\"array\",\"maxItems\":16,\"items\":{\"type\":\"string\"}},"
                        "\"truncated\":{\"type\":\"boolean\"}}}}}",
                .handler = tool_get_network_status,
        },
        {
                .name = "get_network_io_counters",
                .title = "Network I/O counters",
                .description = "Per-interface received and transmitted bytes, packets, errors and drops since "
                               "boot (from /proc/net/dev), with totals over all interfaces.",
                .scope = SCOPE_NETWORK_READ,
                .risk = RISK_LOW,
                .input_schema = "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{}}",
                .output_schema =
                        "{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"interfaces\",\"totals\",\"truncated\"],\"properties\":{"
                        "\"interfaces\":{\"type\":\"array\",\"maxItems\":512,\"items\":{"
                        "\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"name\"," IO_REQUIRED "],\"properties\":{"
                        "\"name\":" IFNAME "," IO_FIELDS "}}},"
                        "\"totals\":{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[" IO_REQUIRED "],\"properties\":{" IO_FIELDS "}},"
                        "\"truncated\":{\"type\":\"boolean\"}}}",
                .handler = tool_get_network_io_counters,
        },
        {
                .name = "get_active_connections",
                .title = "Active connections",
                .description = "TCP and UDP sockets (IPv4 and IPv6) with state, local and remote endpoints, "
                               "owner uid and, where visible, the owning process. Listening sockets come "
                               "first, then established ones; counts by state and protocol cover all sockets.",
                .scope = SCOPE_NETWORK_READ,
                .risk = RISK_LOW,
                /* Process names are chosen by whoever started the process. */
                .flags = TOOL_UNTRUSTED_OUTPUT,
                .input_schema =
                        "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
                        "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000,\"default\":20,"
                        "\"description\":\"How many sockets to return.\"}}}",
                .output_schema =
                        "{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"connections\",\"total\",\"by_state\",\"by_protocol\",\"limit\","
                        "\"truncated\",\"owner_scan\"],\"properties\":{"
                        "\"connections\":{\"type\":\"array\",\"maxItems\":1000,\"items\":{"
                        "\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"protocol\",\"family\",\"state\",\"local_address\",\"local_port\","
                        "\"remote_address\",\"remote_port\",\"uid\",\"inode\",\"pid\",\"process\"],"
                        "\"properties\":{"
                        "\"protocol\":{\"type\":\"string\",\"enum\":[\"tcp\",\"udp\"]},"
                        "\"family\":" FAMILY ","
                        "\"state\":{\"type\":\"string\",\"enum\":[\"ESTABLISHED\",\"SYN_SENT\",\"SYN_RECV\","
                        "\"FIN_WAIT1\",\"FIN_WAIT2\",\"TIME_WAIT\",\"CLOSE\",\"CLOSE_WAIT\",\"LAST_ACK\","
                        "\"LISTEN\",\"CLOSING\",\"NEW_SYN_RECV\",\"UNCONN\",\"UNKNOWN\"]},"
                        "\"local_address\":{\"type\":\"string\"},"
                        "\"local_port\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":65535},"
                        "\"remote_address\":{\"type\":\"string\"},"
                        "\"remote_port\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":65535},"
                        "\"uid\":" COUNT ",\"inode\":" COUNT ","
                        "\"pid\":{\"type\":[\"integer\",\"null\"],\"minimum\":1,"
                        "\"description\":\"null when the owner is not visible to the server\"},"
                        "\"process\":{\"type\":[\"string\",\"null\"],\"maxLength\":15}}}},"
                        "\"total\":" COUNT ","
                        "\"by_state\":{\"type\":\"object\",\"additionalProperties\":" COUNT "},"
                        "\"by_protocol\":{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"tcp\",\"tcp6\",\"udp\",\"udp6\"],\"properties\":{"
                        "\"tcp\":" COUNT ",\"tcp6\":" COUNT ",\"udp\":" COUNT ",\"udp6\":" COUNT "}},"
                        "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000},"
                        "\"truncated\":{\"type\":\"boolean\",\"description\":\"more sockets exist than were "
                        "returned\"},"
                        "\"owner_scan\":{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"complete\",\"processes_scanned\",\"descriptors_scanned\"],"
                        "\"properties\":{"
                        "\"complete\":{\"type\":\"boolean\",\"description\":\"false: the scan of "
                        "/proc/<pid>/fd stopped at its bound, some owners may be missing\"},"
                        "\"processes_scanned\":" COUNT ",\"descriptors_scanned\":" COUNT "}}}}",
                .handler = tool_get_active_connections,
        },
        {}
};
