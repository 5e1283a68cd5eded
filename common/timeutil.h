/* SPDX-License-Identifier: MIT */
#pragma once

/* Clocks, RFC 3339 timestamps and the two strict time parsers user input
 * goes through: ISO-8601 instants (the origin's "expiry" claim, bootstrap
 * token expiry) and TTLs ("15m", "1h30m") on the command line. */

#include <stddef.h>
#include <stdint.h>

/* Wall clock, CLOCK_REALTIME, in seconds / milliseconds since the epoch. */
int64_t now_epoch(void);
int64_t now_epoch_ms(void);

/* CLOCK_MONOTONIC in microseconds: for intervals, timeouts, rate limits. */
uint64_t now_usec(void);

/* Size of a buffer that holds any timestamp_format_ms() result incl. NUL. */
#define TIMESTAMP_MS_MAX sizeof("YYYY-MM-DDTHH:MM:SS.mmmZ")

/* Formats `epoch_ms` as RFC 3339 UTC with milliseconds,
 * "2026-11-23T07:28:33.123Z", into buf (`size` incl. NUL, at least
 * TIMESTAMP_MS_MAX). Returns 0, -ERANGE outside years 0001..9999, -ENOBUFS. */
int timestamp_format_ms(int64_t epoch_ms, char *buf, size_t size);

/* As timestamp_format_ms() for whole seconds ("...:33.000Z"). */
int timestamp_format(int64_t epoch_s, char *buf, size_t size);

/* Parses a strict ISO-8601 instant:
 *   YYYY-MM-DDTHH:MM:SS[.f{1,9}][Z|+HH:MM|-HH:MM]
 * A naive timestamp (no zone) is taken as UTC, as the origin did. Fractions
 * are truncated towards the past (so an expiry never gets later). Calendar
 * fields are range checked (Feb 29 only in leap years, no second 60).
 * Returns 0 and *ret = epoch seconds, or -EINVAL (*ret untouched). */
int iso8601_parse(const char *s, int64_t *ret);

/* Parses a TTL: one or more <digits><unit> groups, unit one of d h m s, in
 * descending order and each unit at most once ("30s", "15m", "2h", "7d",
 * "1h30m"). No signs, spaces or bare numbers. Returns 0 and *ret = seconds
 * (> 0), -EINVAL for bad syntax or a zero total, -ERANGE on overflow. */
int ttl_parse(const char *s, int64_t *ret);
