/* SPDX-License-Identifier: MIT */
#pragma once

/* Failed-authentication rate limiting: a fixed window per key (client IP, or
 * a verified subject). A bounded table; thread-safe. No transport knowledge:
 * callers pass the key string. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct RateLimit RateLimit;

/* `limit` failures per `window_sec`; `slots` bounds memory (power of two
 * not required). Returns 0 or -ENOMEM / -EINVAL. */
int ratelimit_new(unsigned limit, unsigned window_sec, size_t slots, RateLimit **ret);
RateLimit *ratelimit_free(RateLimit *r);

/* True when `key` is over its limit at `now_usec` (monotonic); then
 * *ret_retry_after (may be NULL) gets the seconds until the window ends (>= 1). */
bool ratelimit_blocked(RateLimit *r, const char *key, uint64_t now_usec, unsigned *ret_retry_after);

/* Counts one failure for `key`. Both functions accept r == NULL (no limit). */
void ratelimit_fail(RateLimit *r, const char *key, uint64_t now_usec);
