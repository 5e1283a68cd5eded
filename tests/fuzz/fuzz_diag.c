/* SPDX-License-Identifier: MIT */
/* libFuzzer: the diag parsers over untrusted output. The first byte picks
 * the parser: 'p' ping output (line by line + summary), 't' traceroute
 * output, 'h' a host name, 'c' a CIDR entry, 'P' a port entry, anything else a DNS
 * response message. */

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <netinet/in.h>

#include "tools/diag.h"
#include "tools/netpolicy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *text = (const char *) data + 1;
        json_t *out = NULL;
        size_t len;

        if (size < 1)
                return 0;
        len = size - 1;
        switch (data[0]) {
        case 'p': {
                PingSummary s;
                size_t pos = 0;

                while (pos < len) {
                        const char *nl = memchr(text + pos, '\n', len - pos);
                        size_t ll = nl ? (size_t) (nl - (text + pos)) : len - pos;
                        PingReply r;

                        (void) diag_ping_parse_reply(text + pos, ll, &r);
                        pos += ll + 1;
                }
                (void) diag_ping_parse_summary(text, len, &s);
                break;
        }
        case 't':
                if (diag_traceroute_parse(text, len, &out) == 0)
                        json_decref(out);
                break;
        case 'h': {
                /* Host-name syntax check (NUL-terminated copy). */
                char buf[512];

                if (len < sizeof buf) {
                        memcpy(buf, text, len);
                        buf[len] = '\0';
                        (void) netpolicy_host_valid(buf);
                }
                break;
        }
        case 'c':
        case 'P': {
                /* Config entries: a CIDR or a port list, then a check with them. */
                char buf[256], err[256];
                char *list[] = { buf, NULL };
                NetPolicy *p = NULL;

                if (len >= sizeof buf)
                        break;
                memcpy(buf, text, len);
                buf[len] = '\0';
                if (netpolicy_new(data[0] == 'c' ? list : NULL, NULL, data[0] == 'P' ? list : NULL, &p, err,
                                  sizeof err) == 0) {
                        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = 0x0100007f };

                        (void) netpolicy_check_addr(p, (struct sockaddr *) &sin, err, sizeof err);
                        (void) netpolicy_check_port(p, 443);
                        netpolicy_free(p);
                }
                break;
        }
        default:
                if (diag_dns_parse(data + 1, len, &out) == 0)
                        json_decref(out);
                break;
        }
        return 0;
}
