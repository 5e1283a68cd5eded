/* SPDX-License-Identifier: MIT */
#pragma once

/* Parsers of the diag family over untrusted text (ping and traceroute
 * output, DNS answers), exposed for the unit tests and the fuzz harness.
 * All are pure: no I/O, bounded by the given length, thread-safe. */

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

typedef struct PingReply {
        char from[64];
        int seq;
        int ttl;
        double time_ms;
} PingReply;

typedef struct PingSummary {
        int transmitted;
        int received;
        double loss_percent;
        bool have_rtt;
        double rtt_min, rtt_avg, rtt_max, rtt_mdev;
} PingSummary;

/* One line of iputils ping output ("64 bytes from 127.0.0.1: icmp_seq=1
 * ttl=64 time=0.045 ms"). Returns true and fills *ret for a reply line. */
bool diag_ping_parse_reply(const char *line, size_t len, PingReply *ret);

/* The statistics at the end of ping's output. Returns true when the
 * "packets transmitted" line was found. */
bool diag_ping_parse_summary(const char *text, size_t len, PingSummary *ret);

/* traceroute -n -q 1 output: a JSON array of {hop, address, rtt_ms, note}.
 * Returns 0 or -ENOMEM. */
int diag_traceroute_parse(const char *text, size_t len, json_t **ret_hops);

/* A DNS response message: a JSON array of answer records {name, type, ttl,
 * value[, preference]} (A, AAAA, MX, TXT, CNAME; other types skipped).
 * Returns 0, -EBADMSG for a malformed message, or -ENOMEM. */
int diag_dns_parse(const unsigned char *msg, size_t len, json_t **ret_answers);
