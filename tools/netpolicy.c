/* SPDX-License-Identifier: MIT */

/* CIDR + port allowlist for the network diagnostics (see netpolicy.h and
 * docs/network-policy.md for the default and why). */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "tools/netpolicy.h"

#define CIDR_TEXT_MAX 64

typedef struct Cidr {
        int family;                     /* AF_INET or AF_INET6 */
        unsigned char addr[16];         /* network address, host bits cleared */
        unsigned prefix;
        char text[CIDR_TEXT_MAX];       /* as configured, for messages */
} Cidr;

struct NetPolicy {
        Cidr *allowed;
        size_t n_allowed;
        Cidr *denied;
        size_t n_denied;
        unsigned char ports[65536 / 8]; /* bit set = allowed */
};

NetPolicy *netpolicy_free(NetPolicy *p) {
        if (!p)
                return NULL;
        free(p->allowed);
        free(p->denied);
        free(p);
        return NULL;
}

static void netpolicy_freep(NetPolicy **p) {
        netpolicy_free(*p);
}

static void mask_bits(unsigned char *a, size_t len, unsigned prefix) {
        for (size_t i = 0; i < len; i++) {
                unsigned bits = prefix > i * 8 ? prefix - (unsigned) i * 8 : 0;

                if (bits >= 8)
                        continue;
                a[i] &= (unsigned char) (0xff00u >> bits);
        }
}

static bool bits_match(const unsigned char *a, const unsigned char *net, unsigned prefix) {
        size_t full = prefix / 8;
        unsigned rest = prefix % 8;

        if (memcmp(a, net, full) != 0)
                return false;
        if (rest == 0)
                return true;
        return ((a[full] ^ net[full]) & (unsigned char) (0xff00u >> rest)) == 0;
}

/* Parses "addr[/prefix]". Returns 0 or -EINVAL. */
static int cidr_parse(const char *s, Cidr *ret) {
        char addr[INET6_ADDRSTRLEN + 1];
        const char *slash = strchr(s, '/');
        size_t alen = slash ? (size_t) (slash - s) : strlen(s);
        Cidr c = {};
        unsigned long prefix;

        if (alen == 0 || alen >= sizeof addr || strlen(s) >= sizeof c.text)
                return -EINVAL;
        memcpy(addr, s, alen);
        addr[alen] = '\0';

        if (inet_pton(AF_INET, addr, c.addr) == 1)
                c.family = AF_INET;
        else if (inet_pton(AF_INET6, addr, c.addr) == 1)
                c.family = AF_INET6;
        else
                return -EINVAL;

        c.prefix = c.family == AF_INET ? 32 : 128;
        if (slash) {
                char *end;

                if (!isdigit((unsigned char) slash[1]) || strlen(slash + 1) > 3)
                        return -EINVAL;
                errno = 0;
                prefix = strtoul(slash + 1, &end, 10);
                if (errno != 0 || *end != '\0' || prefix > c.prefix)
                        return -EINVAL;
                c.prefix = (unsigned) prefix;
        }
        mask_bits(c.addr, c.family == AF_INET ? 4 : 16, c.prefix);
        snprintf(c.text, sizeof c.text, "%s", s);
        *ret = c;
        return 0;
}

static int cidr_list_parse(char *const *list, const char *key, Cidr **ret, size_t *ret_n, char *errbuf,
                           size_t errlen) {
        _cleanup_free_ Cidr *v = NULL;
        size_t n = 0, cap = 0;

        for (char *const *i = list; i && *i; i++) {
                if (n == cap) {
                        Cidr *nv = reallocarray(v, cap ? cap * 2 : 8, sizeof *v);

                        if (!nv)
                                return -ENOMEM;
                        v = nv;
                        cap = cap ? cap * 2 : 8;
                }
                if (cidr_parse(*i, &v[n]) < 0) {
                        snprintf(errbuf, errlen,
                                 "%s: invalid entry '%.64s': expected an IPv4 or IPv6 address or CIDR "
                                 "(e.g. 10.0.0.0/8, fd00::/8)",
                                 key, *i);
                        return -EINVAL;
                }
                n++;
        }
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

static int port_range_parse(const char *s, size_t len, unsigned *lo, unsigned *hi) {
        char buf[16], *end;
        const char *dash;
        unsigned long a, b;

        if (len == 0 || len >= sizeof buf)
                return -EINVAL;
        memcpy(buf, s, len);
        buf[len] = '\0';
        for (size_t i = 0; i < len; i++)
                if (!isdigit((unsigned char) buf[i]) && buf[i] != '-')
                        return -EINVAL;
        dash = strchr(buf, '-');
        if (!isdigit((unsigned char) buf[0]))
                return -EINVAL;
        errno = 0;
        a = strtoul(buf, &end, 10);
        if (errno != 0)
                return -EINVAL;
        if (dash) {
                if (end != dash || !isdigit((unsigned char) dash[1]))
                        return -EINVAL;
                b = strtoul(dash + 1, &end, 10);
                if (errno != 0 || *end != '\0')
                        return -EINVAL;
        } else {
                if (*end != '\0')
                        return -EINVAL;
                b = a;
        }
        if (a < 1 || b > 65535 || a > b)
                return -EINVAL;
        *lo = (unsigned) a;
        *hi = (unsigned) b;
        return 0;
}

int netpolicy_new(char *const *allowed_cidrs, char *const *denied_cidrs, char *const *allowed_ports,
                  NetPolicy **ret, char *errbuf, size_t errlen) {
        _cleanup_(netpolicy_freep) NetPolicy *p = NULL;
        int r;

        if (!ret)
                return -EINVAL;
        if (errlen > 0)
                errbuf[0] = '\0';
        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;

        r = cidr_list_parse(allowed_cidrs, "network.allowed_cidrs", &p->allowed, &p->n_allowed, errbuf, errlen);
        if (r < 0)
                return r;
        r = cidr_list_parse(denied_cidrs, "network.denied_cidrs", &p->denied, &p->n_denied, errbuf, errlen);
        if (r < 0)
                return r;

        for (char *const *i = allowed_ports; i && *i; i++) {
                const char *s = *i;

                for (;;) {
                        size_t len = strcspn(s, ",");
                        unsigned lo, hi;

                        /* Tolerate spaces around list items. */
                        while (len > 0 && *s == ' ') {
                                s++;
                                len--;
                        }
                        while (len > 0 && s[len - 1] == ' ')
                                len--;
                        if (port_range_parse(s, len, &lo, &hi) < 0) {
                                snprintf(errbuf, errlen,
                                         "network.allowed_ports: invalid entry '%.64s': expected a port "
                                         "1-65535 or a range like 8000-8999",
                                         *i);
                                return -EINVAL;
                        }
                        for (unsigned port = lo; port <= hi; port++)
                                p->ports[port / 8] |= (unsigned char) (1u << (port % 8));
                        s += strcspn(s, ",");
                        if (*s != ',')
                                break;
                        s++;
                }
        }

        *ret = TAKE_PTR(p);
        return 0;
}

bool netpolicy_check_port(const NetPolicy *p, unsigned port) {
        if (!p || port == 0 || port > 65535)
                return false;
        return p->ports[port / 8] & (1u << (port % 8));
}

/* Normalizes an address: IPv4-mapped IPv6 and NAT64 (64:ff9b::/96) become
 * the IPv4 address they carry. Returns the family
 * (AF_INET with 4 bytes, AF_INET6 with 16) or -EAFNOSUPPORT. */
static int addr_normalize(const struct sockaddr *sa, bool with_nat64, unsigned char out[16]) {
        static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
        /* NAT64 well-known prefix (RFC 6052): a gateway turns it into IPv4. */
        static const unsigned char nat64[12] = { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 };

        if (!sa)
                return -EAFNOSUPPORT;
        if (sa->sa_family == AF_INET) {
                const struct sockaddr_in *in = (const struct sockaddr_in *) sa;

                memcpy(out, &in->sin_addr, 4);
                return AF_INET;
        }
        if (sa->sa_family == AF_INET6) {
                const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;

                if (memcmp(in6->sin6_addr.s6_addr, mapped, sizeof mapped) == 0 ||
                    (with_nat64 && memcmp(in6->sin6_addr.s6_addr, nat64, sizeof nat64) == 0)) {
                        memcpy(out, in6->sin6_addr.s6_addr + 12, 4);
                        return AF_INET;
                }
                memcpy(out, in6->sin6_addr.s6_addr, 16);
                return AF_INET6;
        }
        return -EAFNOSUPPORT;
}

const char *netpolicy_addr_str(const struct sockaddr *sa, char *buf, size_t size) {
        unsigned char a[16];
        /* Mapped addresses are shown as IPv4 (the same destination); NAT64
         * ones stay IPv6, since they are reached through the gateway. */
        int family = addr_normalize(sa, false, a);

        if (family < 0 || !inet_ntop(family, a, buf, (socklen_t) size))
                snprintf(buf, size, "?");
        return buf;
}

void netpolicy_set_port(struct sockaddr *sa, unsigned port) {
        if (sa->sa_family == AF_INET)
                ((struct sockaddr_in *) sa)->sin_port = htons((uint16_t) port);
        else if (sa->sa_family == AF_INET6)
                ((struct sockaddr_in6 *) sa)->sin6_port = htons((uint16_t) port);
}

/* A word for messages: what kind of address this is. */
static const char *addr_kind(int family, const unsigned char *a) {
        if (family == AF_INET) {
                if (a[0] == 0)
                        return "unspecified/\"this network\"";
                if (a[0] == 127)
                        return "loopback";
                if (a[0] == 169 && a[1] == 254)
                        return "link-local, where cloud metadata services live";
                if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168))
                        return "private, RFC 1918";
                if (a[0] == 100 && (a[1] & 0xc0) == 64)
                        return "shared address space, RFC 6598";
                if ((a[0] & 0xf0) == 224)
                        return "multicast";
                if ((a[0] & 0xf0) == 240)
                        return "reserved";
                return "public";
        }
        if (memcmp(a, in6addr_any.s6_addr, 16) == 0)
                return "unspecified";
        if (memcmp(a, in6addr_loopback.s6_addr, 16) == 0)
                return "loopback";
        if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
                return "link-local";
        if (a[0] == 0xff)
                return "multicast";
        if ((a[0] & 0xfe) == 0xfc)
                return "unique local";
        return "public";
}

static bool addr_unspecified(int family, const unsigned char *a) {
        static const unsigned char zero[16];

        return memcmp(a, zero, family == AF_INET ? 4 : 16) == 0;
}

int netpolicy_check_addr(const NetPolicy *p, const struct sockaddr *sa, char *errbuf, size_t errlen) {
        char text[INET6_ADDRSTRLEN];
        unsigned char a[16];
        int family;

        family = addr_normalize(sa, true, a);
        if (family < 0) {
                snprintf(errbuf, errlen, "only IPv4 and IPv6 addresses can be checked");
                return -EAFNOSUPPORT;
        }
        if (!inet_ntop(family, a, text, sizeof text))
                snprintf(text, sizeof text, "?");

        if (!p) {
                snprintf(errbuf, errlen, "address %s is denied: no network policy is configured", text);
                return -EPERM;
        }
        /* Connecting to the unspecified address reaches this host itself. */
        if (addr_unspecified(family, a)) {
                snprintf(errbuf, errlen, "address %s (unspecified) is never allowed", text);
                return -EPERM;
        }
        for (size_t i = 0; i < p->n_denied; i++)
                if (p->denied[i].family == family && bits_match(a, p->denied[i].addr, p->denied[i].prefix)) {
                        snprintf(errbuf, errlen, "address %s (%s) is denied by network.denied_cidrs entry %s",
                                 text, addr_kind(family, a), p->denied[i].text);
                        return -EPERM;
                }
        for (size_t i = 0; i < p->n_allowed; i++)
                if (p->allowed[i].family == family && bits_match(a, p->allowed[i].addr, p->allowed[i].prefix))
                        return 0;
        snprintf(errbuf, errlen, "address %s (%s) is not in network.allowed_cidrs", text, addr_kind(family, a));
        return -EPERM;
}

bool netpolicy_host_valid(const char *host) {
        unsigned char buf[16];
        size_t len, label = 0;

        if (!host)
                return false;
        len = strlen(host);
        if (len == 0 || len > 253)
                return false;
        if (inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1)
                return true;
        if (host[0] == '.' || host[0] == '-')
                return false;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) host[i];

                if (c == '.') {
                        if (label == 0 || host[i - 1] == '-')
                                return false;
                        label = 0;
                        continue;
                }
                if (!isalnum(c) && c != '-' && c != '_')
                        return false;
                if (c == '-' && label == 0)
                        return false;
                if (++label > 63)
                        return false;
        }
        return label == 0 || host[len - 1] != '-';
}

/* A name lookup on a helper thread, shared by the waiter and the helper;
 * whoever drops the last reference frees it. */
typedef struct Lookup {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        unsigned refs;
        bool done;
        int rc;
        struct addrinfo *res;
        char name[256];
} Lookup;

static const struct addrinfo lookup_hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };

static void lookup_unref(Lookup *l) {
        bool last;

        pthread_mutex_lock(&l->lock);
        last = --l->refs == 0;
        pthread_mutex_unlock(&l->lock);
        if (!last)
                return;
        if (l->res)
                freeaddrinfo(l->res);
        pthread_cond_destroy(&l->cond);
        pthread_mutex_destroy(&l->lock);
        free(l);
}

static void *lookup_thread(void *userdata) {
        Lookup *l = userdata;
        struct addrinfo *res = NULL;
        int rc;

        rc = getaddrinfo(l->name, NULL, &lookup_hints, &res);
        pthread_mutex_lock(&l->lock);
        l->rc = rc;
        l->res = rc == 0 ? res : NULL;
        l->done = true;
        pthread_cond_signal(&l->cond);
        pthread_mutex_unlock(&l->lock);
        lookup_unref(l);
        return NULL;
}

static uint64_t mono_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

/* getaddrinfo() bounded by a deadline and a cancel flag. Returns an EAI_*
 * code, or EAI_SYSTEM with errno ETIMEDOUT/ECANCELED. */
static int getaddrinfo_bounded(const char *name, const atomic_bool *cancelled, int timeout_ms,
                               struct addrinfo **ret) {
        struct addrinfo numeric = lookup_hints;
        pthread_condattr_t ca;
        pthread_attr_t attr;
        pthread_t t;
        uint64_t deadline;
        int rc, gave_up;
        Lookup *l;

        /* Literals and unbounded calls: no thread needed. */
        numeric.ai_flags = AI_NUMERICHOST;
        rc = getaddrinfo(name, NULL, &numeric, ret);
        if (rc != EAI_NONAME)
                return rc;
        if (timeout_ms <= 0 && !cancelled)
                return getaddrinfo(name, NULL, &lookup_hints, ret);

        l = calloc(1, sizeof *l);
        if (!l)
                return EAI_MEMORY;
        snprintf(l->name, sizeof l->name, "%s", name);
        l->refs = 2;
        pthread_mutex_init(&l->lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&l->cond, &ca);
        pthread_condattr_destroy(&ca);

        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        rc = pthread_create(&t, &attr, lookup_thread, l);
        pthread_attr_destroy(&attr);
        if (rc != 0) {
                /* No thread to be had: resolve here, unbounded. */
                l->refs = 1;
                lookup_unref(l);
                return getaddrinfo(name, NULL, &lookup_hints, ret);
        }

        deadline = timeout_ms > 0 ? mono_ms() + (uint64_t) timeout_ms : UINT64_MAX;
        gave_up = 0;
        pthread_mutex_lock(&l->lock);
        while (!l->done) {
                struct timespec ts;
                uint64_t now = mono_ms();

                if (cancelled && atomic_load(cancelled)) {
                        gave_up = ECANCELED;
                        break;
                }
                if (now >= deadline) {
                        gave_up = ETIMEDOUT;
                        break;
                }
                clock_gettime(CLOCK_MONOTONIC, &ts);
                ts.tv_nsec += 100 * 1000000L;
                if (ts.tv_nsec >= 1000000000L) {
                        ts.tv_sec++;
                        ts.tv_nsec -= 1000000000L;
                }
                (void) pthread_cond_timedwait(&l->cond, &l->lock, &ts);
        }
        if (!gave_up) {
                rc = l->rc;
                *ret = l->res;
                l->res = NULL;
        }
        pthread_mutex_unlock(&l->lock);
        lookup_unref(l);        /* the helper frees it when we gave up */
        if (gave_up) {
                errno = gave_up;
                return EAI_SYSTEM;
        }
        return rc;
}

int netpolicy_resolve(const NetPolicy *p, const char *host, unsigned port, NetAddrs *ret, char *errbuf,
                      size_t errlen) {
        return netpolicy_resolve_bounded(p, host, port, NULL, 0, ret, errbuf, errlen);
}

int netpolicy_resolve_bounded(const NetPolicy *p, const char *host, unsigned port, const atomic_bool *cancelled,
                              int timeout_ms, NetAddrs *ret, char *errbuf, size_t errlen) {
        struct addrinfo *res = NULL;
        char name[256], why[256];
        unsigned char lit[16];
        NetAddrs out = {};
        bool literal;
        size_t len;
        int r;

        if (!host || !ret)
                return -EINVAL;
        len = strlen(host);
        /* Accept "[v6]" as people write it in URLs. */
        if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
                if (len - 2 >= sizeof name)
                        return -EINVAL;
                memcpy(name, host + 1, len - 2);
                name[len - 2] = '\0';
        } else if (len < sizeof name)
                memcpy(name, host, len + 1);
        else
                name[0] = '\0';
        if (!netpolicy_host_valid(name)) {
                snprintf(errbuf, errlen, "'%.64s' is not a valid host name or IP address", host);
                return -EINVAL;
        }

        literal = inet_pton(AF_INET, name, lit) == 1 || inet_pton(AF_INET6, name, lit) == 1;
        r = getaddrinfo_bounded(name, cancelled, timeout_ms, &res);
        if (r == EAI_SYSTEM && (errno == ETIMEDOUT || errno == ECANCELED)) {
                if (errno == ETIMEDOUT) {
                        snprintf(errbuf, errlen, "could not resolve %s within %d ms", name, timeout_ms);
                        return -ETIMEDOUT;
                }
                snprintf(errbuf, errlen, "cancelled");
                return -ECANCELED;
        }
        if (r != 0) {
                if (r == EAI_AGAIN) {
                        snprintf(errbuf, errlen, "could not resolve %s: temporary DNS failure, try again", name);
                        return -EAGAIN;
                }
                if (r == EAI_MEMORY)
                        return -ENOMEM;
                snprintf(errbuf, errlen, "could not resolve %s: %s", name, gai_strerror(r));
                return -ENOENT;
        }

        for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
                bool dup = false;

                if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
                        continue;
                if (ai->ai_addrlen > sizeof(struct sockaddr_storage))
                        continue;
                /* Every address is checked, also those beyond the ones we keep. */
                r = netpolicy_check_addr(p, ai->ai_addr, why, sizeof why);
                if (r < 0) {
                        freeaddrinfo(res);
                        if (literal)
                                snprintf(errbuf, errlen, "host %s is refused: %s", name, why);
                        else
                                snprintf(errbuf, errlen, "host %s is refused: it resolves to %s", name, why);
                        return -EPERM;
                }
                for (size_t i = 0; i < out.n; i++)
                        if (out.len[i] == ai->ai_addrlen && memcmp(&out.addr[i], ai->ai_addr, ai->ai_addrlen) == 0)
                                dup = true;
                if (dup || out.n >= NETPOLICY_MAX_ADDRS)
                        continue;
                memcpy(&out.addr[out.n], ai->ai_addr, ai->ai_addrlen);
                out.len[out.n] = ai->ai_addrlen;
                netpolicy_set_port((struct sockaddr *) &out.addr[out.n], port);
                out.n++;
        }
        freeaddrinfo(res);

        if (out.n == 0) {
                snprintf(errbuf, errlen, "could not resolve %s: no IPv4 or IPv6 address", name);
                return -ENOENT;
        }
        *ret = out;
        return 0;
}
