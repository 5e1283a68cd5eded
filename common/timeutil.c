/* SPDX-License-Identifier: MIT */

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/timeutil.h"

/* Days between 1970-01-01 and y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil; exact for every year we accept). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
        int64_t era;
        unsigned yoe, doy, doe;

        y -= m <= 2;
        era = (y >= 0 ? y : y - 399) / 400;
        yoe = (unsigned) (y - era * 400);
        doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + (int64_t) doe - 719468;
}

/* Inverse of days_from_civil(). */
static void civil_from_days(int64_t z, int64_t *ret_y, unsigned *ret_m, unsigned *ret_d) {
        int64_t era, y;
        unsigned doe, yoe, doy, mp, d, m;

        z += 719468;
        era = (z >= 0 ? z : z - 146096) / 146097;
        doe = (unsigned) (z - era * 146097);
        yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        y = (int64_t) yoe + era * 400;
        doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        mp = (5 * doy + 2) / 153;
        d = doy - (153 * mp + 2) / 5 + 1;
        m = mp < 10 ? mp + 3 : mp - 9;

        *ret_y = y + (m <= 2);
        *ret_m = m;
        *ret_d = d;
}

static bool is_leap(int64_t y) {
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m) {
        static const unsigned mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

        assert(m >= 1 && m <= 12);
        if (m == 2 && is_leap(y))
                return 29;
        return mdays[m - 1];
}

/* Range of instants we format or parse: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z. */
#define EPOCH_MIN_S (-62135596800LL)
#define EPOCH_MAX_S (253402300799LL)

static int64_t clock_ns(clockid_t id) {
        struct timespec ts;

        /* Cannot fail for these clock ids on Linux. */
        if (clock_gettime(id, &ts) < 0)
                return 0;
        return (int64_t) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t now_epoch(void) {
        return clock_ns(CLOCK_REALTIME) / 1000000000LL;
}

int64_t now_epoch_ms(void) {
        return clock_ns(CLOCK_REALTIME) / 1000000LL;
}

uint64_t now_usec(void) {
        return (uint64_t) clock_ns(CLOCK_MONOTONIC) / 1000u;
}

int timestamp_format_ms(int64_t epoch_ms, char *buf, size_t size) {
        int64_t secs, ms, days, sod, y;
        unsigned mo, d;
        int n;

        assert(buf || size == 0);

        /* Floor division so that instants before 1970 still print the
         * millisecond field in 0..999. */
        secs = epoch_ms / 1000;
        ms = epoch_ms % 1000;
        if (ms < 0) {
                ms += 1000;
                secs -= 1;
        }
        if (secs < EPOCH_MIN_S || secs > EPOCH_MAX_S)
                return -ERANGE;
        if (size < TIMESTAMP_MS_MAX)
                return -ENOBUFS;

        days = secs / 86400;
        sod = secs % 86400;
        if (sod < 0) {
                sod += 86400;
                days -= 1;
        }
        civil_from_days(days, &y, &mo, &d);

        n = snprintf(buf, size, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ",
                     (long long) y, mo, d,
                     (unsigned) (sod / 3600), (unsigned) (sod / 60 % 60), (unsigned) (sod % 60),
                     (unsigned) ms);
        if (n < 0 || (size_t) n >= size)
                return -ENOBUFS;
        return 0;
}

int timestamp_format(int64_t epoch_s, char *buf, size_t size) {
        if (epoch_s < EPOCH_MIN_S || epoch_s > EPOCH_MAX_S)
                return -ERANGE;
        return timestamp_format_ms(epoch_s * 1000, buf, size);
}

/* Reads exactly `n` ASCII digits at *p into *ret and advances *p. */
static bool parse_digits(const char **p, unsigned n, unsigned *ret) {
        unsigned v = 0;

        for (unsigned i = 0; i < n; i++) {
                char c = (*p)[i];

                if (c < '0' || c > '9')
                        return false;
                v = v * 10 + (unsigned) (c - '0');
        }

        *p += n;
        *ret = v;
        return true;
}

static bool expect_char(const char **p, char c) {
        if (**p != c)
                return false;
        (*p)++;
        return true;
}

int iso8601_parse(const char *s, int64_t *ret) {
        unsigned year, mon, day, hour, min, sec, oh = 0, om = 0;
        int64_t t, offset = 0;
        const char *p = s;

        assert(s);
        assert(ret);

        /* Fixed-width fields only: no signs, no spaces, no week dates, no
         * ordinal dates, no lower-case 't'/'z'. Each helper stops at a NUL,
         * which is never a digit or separator. */
        if (!parse_digits(&p, 4, &year) || !expect_char(&p, '-') ||
            !parse_digits(&p, 2, &mon) || !expect_char(&p, '-') ||
            !parse_digits(&p, 2, &day) || !expect_char(&p, 'T') ||
            !parse_digits(&p, 2, &hour) || !expect_char(&p, ':') ||
            !parse_digits(&p, 2, &min) || !expect_char(&p, ':') ||
            !parse_digits(&p, 2, &sec))
                return -EINVAL;

        if (year < 1 || mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon) ||
            hour > 23 || min > 59 || sec > 59)
                return -EINVAL;

        if (*p == '.') {
                unsigned n = 0;

                p++;
                /* The fraction only ever truncates (an expiry must not get
                 * later by rounding), but its syntax is still checked. */
                while (*p >= '0' && *p <= '9') {
                        if (++n > 9)
                                return -EINVAL;
                        p++;
                }
                if (n == 0)
                        return -EINVAL;
        }

        if (*p == 'Z') {
                p++;
        } else if (*p == '+' || *p == '-') {
                int sign = *p == '-' ? -1 : 1;

                p++;
                if (!parse_digits(&p, 2, &oh) || !expect_char(&p, ':') || !parse_digits(&p, 2, &om))
                        return -EINVAL;
                if (oh > 23 || om > 59)
                        return -EINVAL;
                offset = sign * (int64_t) (oh * 3600 + om * 60);
        } else if (*p != 0)
                return -EINVAL;

        if (*p != 0)
                return -EINVAL;

        t = days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec;
        /* Local time = UTC + offset, hence UTC = local - offset. */
        *ret = t - offset;
        return 0;
}

int ttl_parse(const char *s, int64_t *ret) {
        static const struct {
                char unit;
                int64_t seconds;
        } units[] = {
                { 'd', 86400 },
                { 'h', 3600 },
                { 'm', 60 },
                { 's', 1 },
        };
        const char *p = s;
        size_t next_unit = 0;
        int64_t total = 0;

        assert(s);
        assert(ret);

        if (*p == 0)
                return -EINVAL;

        while (*p != 0) {
                int64_t v = 0, part;
                size_t ndigits = 0, u;

                while (*p >= '0' && *p <= '9') {
                        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *p - '0', &v))
                                return -ERANGE;
                        ndigits++;
                        p++;
                }
                if (ndigits == 0)
                        return -EINVAL;

                /* Units must come largest first, each at most once: "1h30m",
                 * not "30m1h" or "1h1h". */
                for (u = next_unit; u < ELEMENTSOF(units); u++)
                        if (units[u].unit == *p)
                                break;
                if (u >= ELEMENTSOF(units))
                        return -EINVAL;
                next_unit = u + 1;
                p++;

                if (__builtin_mul_overflow(v, units[u].seconds, &part) ||
                    __builtin_add_overflow(total, part, &total))
                        return -ERANGE;
        }

        if (total <= 0)
                return -EINVAL;

        *ret = total;
        return 0;
}
