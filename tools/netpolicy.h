/* SPDX-License-Identifier: MIT */
#pragma once

/* The network allowlist of the diagnostics: which addresses (CIDR lists,
 * IPv4 and IPv6) and which TCP ports tools may reach.
 *
 * An address is allowed when it matches no entry of the denied list and at
 * least one entry of the allowed list. IPv4-mapped IPv6 addresses
 * (::ffff:a.b.c.d) are checked as the IPv4 address they stand for, so a
 * mapped address cannot slip past an IPv4 deny entry; likewise addresses in
 * the NAT64 well-known prefix 64:ff9b::/96. The unspecified
 * addresses (0.0.0.0, ::) are always denied: connecting to them reaches this
 * host.
 *
 * Host names are resolved once with netpolicy_resolve(), every resolved
 * address is checked, and tools connect only to the addresses returned: a
 * second resolution could answer differently (DNS rebinding).
 *
 * A NetPolicy is immutable after netpolicy_new() and may be shared by any
 * number of threads. */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct NetPolicy NetPolicy;

#define NETPOLICY_MAX_ADDRS 16

/* Builds a policy from the config lists (NULL-terminated; NULL = empty).
 * CIDR entries: "10.0.0.0/8", "fe80::/10", or a bare address (a /32 or
 * /128). Port entries: "22", "8000-8999" (a list of them may also be
 * comma-separated within one entry). Returns 0, -ENOMEM, or -EINVAL with a
 * message naming the bad entry and the config key in errbuf. */
int netpolicy_new(char *const *allowed_cidrs, char *const *denied_cidrs, char *const *allowed_ports,
                  NetPolicy **ret, char *errbuf, size_t errlen);

/* Frees the policy; accepts NULL; returns NULL. */
NetPolicy *netpolicy_free(NetPolicy *p);

/* Checks one address (AF_INET or AF_INET6). Returns 0 when it may be reached,
 * -EPERM when it may not (with a message saying why and which setting to
 * change in errbuf), -EAFNOSUPPORT for other families. A NULL policy denies
 * everything. */
int netpolicy_check_addr(const NetPolicy *p, const struct sockaddr *sa, char *errbuf, size_t errlen);

/* Whether TCP port `port` may be connected to. A NULL policy allows none. */
bool netpolicy_check_port(const NetPolicy *p, unsigned port);

typedef struct NetAddrs {
        struct sockaddr_storage addr[NETPOLICY_MAX_ADDRS];
        socklen_t len[NETPOLICY_MAX_ADDRS];
        size_t n;
} NetAddrs;

/* Resolves `host` (a name or a numeric address, IPv6 optionally in
 * brackets) with getaddrinfo() and checks EVERY resolved address; if any is
 * denied the whole host is refused (-EPERM), since we cannot know which one a
 * later resolution would pick. `port` is stored into each address. Returns 0
 * with at least one address, -EPERM, -ENOENT (does not resolve), -EINVAL
 * (not a valid host name), -EAGAIN (temporary resolver failure); errbuf says
 * which. Blocks for as long as the system resolver does. */
int netpolicy_resolve(const NetPolicy *p, const char *host, unsigned port, NetAddrs *ret, char *errbuf,
                      size_t errlen);

/* Like netpolicy_resolve(), but gives up after timeout_ms (-ETIMEDOUT) or
 * when *cancelled becomes true (-ECANCELED, noticed within 100 ms). The
 * system resolver cannot be interrupted, so a name lookup runs on a detached
 * helper thread that is abandoned (and cleans up after itself) in those
 * cases. Numeric addresses never block. timeout_ms <= 0: no limit;
 * cancelled may be NULL. */
int netpolicy_resolve_bounded(const NetPolicy *p, const char *host, unsigned port, const atomic_bool *cancelled,
                              int timeout_ms, NetAddrs *ret, char *errbuf, size_t errlen);

/* Formats an address (without port) into buf; IPv4-mapped shown as IPv4. */
const char *netpolicy_addr_str(const struct sockaddr *sa, char *buf, size_t size);

/* Sets the port of an AF_INET/AF_INET6 address. */
void netpolicy_set_port(struct sockaddr *sa, unsigned port);

/* Whether `host` is syntactically a plausible DNS name or address literal
 * (length, label rules, characters). Used before any resolution. */
bool netpolicy_host_valid(const char *host);
