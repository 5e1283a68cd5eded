/* SPDX-License-Identifier: MIT */

/* common/encoding.c (base64url, hex) and common/timeutil.c (timestamps,
 * ISO-8601, TTLs): table-driven. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "common/encoding.h"
#include "common/timeutil.h"

/* ---- base64url ------------------------------------------------------ */

static const struct {
        const char *plain;
        const char *encoded;
} b64_vectors[] = {
        /* RFC 4648 §10 in the URL alphabet without padding. */
        { "", "" },
        { "f", "Zg" },
        { "fo", "Zm8" },
        { "foo", "Zm9v" },
        { "foob", "Zm9vYg" },
        { "fooba", "Zm9vYmE" },
        { "foobar", "Zm9vYmFy" },
        /* URL alphabet: 62 -> '-', 63 -> '_' */
        { "\xfb\xef\xbe", "----" },
        { "\xff\xff\xff", "____" },
        { "\xfb\xff", "-_8" },
        { "{\"a\":1}", "eyJhIjoxfQ" },
};

static void test_b64_vectors(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(b64_vectors); i++) {
                const char *plain = b64_vectors[i].plain, *enc = b64_vectors[i].encoded;
                char out[64];
                uint8_t dec[64];
                ssize_t n;

                n = base64url_encode(plain, strlen(plain), out, sizeof(out));
                assert_int_equal(n, strlen(enc));
                assert_string_equal(out, enc);
                assert_int_equal(base64url_encoded_len(strlen(plain)), strlen(enc));

                n = base64url_decode(enc, strlen(enc), dec, sizeof(dec));
                assert_int_equal(n, strlen(plain));
                assert_memory_equal(dec, plain, strlen(plain));
                assert_int_equal(base64url_decoded_len(strlen(enc)), strlen(plain));
        }
}

static void test_b64_round_trip(void **state) {
        uint8_t data[300], back[300];
        char enc[512];

        srand(4242);
        for (size_t len = 0; len <= sizeof(data); len++) {
                ssize_t n, m;

                for (size_t i = 0; i < len; i++)
                        data[i] = (uint8_t) rand();

                n = base64url_encode(data, len, enc, sizeof(enc));
                assert_true(n >= 0);
                assert_int_equal((size_t) n, base64url_encoded_len(len));
                assert_int_equal(strlen(enc), (size_t) n);
                assert_null(strpbrk(enc, "+/="));

                m = base64url_decode(enc, (size_t) n, back, sizeof(back));
                assert_int_equal(m, len);
                assert_memory_equal(back, data, len);
        }
}

static const char *const b64_invalid[] = {
        "Zg==",         /* padding */
        "Zm8=",
        "Zg=",
        "=",
        "Zm9v+A",       /* standard alphabet */
        "Zm9v/A",
        "+/+/",
        " Zm9v",        /* whitespace anywhere */
        "Zm9v ",
        "Zm\n9v",
        "Zm9v\t",
        "Zm9\r",
        "Z",            /* length = 1 mod 4 */
        "Zm9vY",
        "Zm9vYmFyZ",
        "Zh",           /* non-canonical: unused low bits set */
        "Zm9",
        "Zm9vYh",
        "Zm9vYmF",
        "Zm9v\x80g",    /* non-ASCII */
        "Zm.v",
        "Zm9v*A",
};

static void test_b64_reject(void **state) {
        uint8_t out[64];

        for (size_t i = 0; i < ELEMENTSOF(b64_invalid); i++) {
                const char *s = b64_invalid[i];

                if (base64url_decode(s, strlen(s), out, sizeof(out)) != -EINVAL)
                        fail_msg("accepted invalid base64url #%zu \"%s\"", i, s);
        }

        /* A NUL inside the counted range is an invalid character too. */
        assert_int_equal(base64url_decode("Zm\0v", 4, out, sizeof(out)), -EINVAL);
}

static void test_b64_noncanonical_exhaustive(void **state) {
        static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        uint8_t out[8];

        /* For every possible final character exactly one in 16 (two-char
         * tail) or one in 4 (three-char tail) is canonical. */
        for (size_t i = 0; i < 64; i++) {
                char two[3] = { 'Q', alphabet[i], 0 }, three[4] = { 'Q', 'Q', alphabet[i], 0 };
                ssize_t r2 = base64url_decode(two, 2, out, sizeof(out));
                ssize_t r3 = base64url_decode(three, 3, out, sizeof(out));

                assert_int_equal(r2, (i % 16 == 0) ? 1 : -EINVAL);
                assert_int_equal(r3, (i % 4 == 0) ? 2 : -EINVAL);
        }
}

static void test_b64_limits(void **state) {
        char small[5];
        uint8_t dec[2];
        void *p = NULL;
        size_t n = 0;
        char *s = NULL;

        /* "foo" needs 4 characters + NUL. */
        assert_int_equal(base64url_encode("foo", 3, small, 4), -ENOBUFS);
        assert_string_equal(small, "");
        assert_int_equal(base64url_encode("foo", 3, small, 5), 4);
        assert_int_equal(base64url_encode("foo", 3, NULL, 0), -ENOBUFS);

        assert_int_equal(base64url_decode("Zm9v", 4, dec, sizeof(dec)), -ENOBUFS);
        assert_int_equal(base64url_decode("Zm8", 3, dec, sizeof(dec)), 2);

        assert_int_equal(base64url_decode_alloc("Zm9vYmFy", 8, 5, &p, &n), -E2BIG);
        assert_null(p);
        assert_int_equal(base64url_decode_alloc("Zm9vYmF", 7, 100, &p, &n), -EINVAL);
        assert_null(p);
        assert_int_equal(base64url_decode_alloc("Zm9vYmFy", 8, 6, &p, &n), 0);
        assert_int_equal(n, 6);
        assert_string_equal(p, "foobar"); /* NUL-terminated */
        free(p);

        assert_int_equal(base64url_encode_alloc("foobar", 6, 7, &s), -E2BIG);
        assert_null(s);
        assert_int_equal(base64url_encode_alloc("foobar", 6, 8, &s), 0);
        assert_string_equal(s, "Zm9vYmFy");
        free(s);
}

/* ---- hex ------------------------------------------------------------ */

static void test_hex(void **state) {
        static const uint8_t data[] = { 0x00, 0x01, 0xab, 0xcd, 0xef, 0xff, 0x7f };
        char out[15], small[14];
        uint8_t back[7];

        assert_int_equal(hex_encode(data, sizeof(data), out, sizeof(out)), 14);
        assert_string_equal(out, "0001abcdefff7f");
        assert_int_equal(hex_encode(data, sizeof(data), small, sizeof(small)), -ENOBUFS);
        assert_int_equal(hex_encode(data, 0, out, 1), 0);
        assert_string_equal(out, "");

        assert_int_equal(hex_decode("0001abcdefff7f", 14, back, sizeof(back)), 7);
        assert_memory_equal(back, data, sizeof(data));
        assert_int_equal(hex_decode("0001ABCDEFFF7F", 14, back, sizeof(back)), 7);
        assert_memory_equal(back, data, sizeof(data));
        assert_int_equal(hex_decode("abc", 3, back, sizeof(back)), -EINVAL);
        assert_int_equal(hex_decode("zz", 2, back, sizeof(back)), -EINVAL);
        assert_int_equal(hex_decode("0g", 2, back, sizeof(back)), -EINVAL);
        assert_int_equal(hex_decode(" 0", 2, back, sizeof(back)), -EINVAL);
        assert_int_equal(hex_decode("0001abcdefff7f00", 16, back, sizeof(back)), -ENOBUFS);

        assert_true(hex_is_lower("0123456789abcdef", 16));
        assert_true(hex_is_lower("", 0));
        assert_false(hex_is_lower("0123456789ABCDEF", 16));
        assert_false(hex_is_lower("abcg", 4));
        assert_false(hex_is_lower("ab\0c", 4));
}

/* ---- timestamps ----------------------------------------------------- */

static const struct {
        int64_t ms;
        const char *text;
} ts_vectors[] = {
        { 0, "1970-01-01T00:00:00.000Z" },
        { 1795418913123LL, "2026-11-23T07:28:33.123Z" },
        { 1800000000000LL, "2027-01-15T08:00:00.000Z" },
        { 951782400001LL, "2000-02-29T00:00:00.001Z" },
        { -1, "1969-12-31T23:59:59.999Z" },
        { 253402300799999LL, "9999-12-31T23:59:59.999Z" },
        { -62135596800000LL, "0001-01-01T00:00:00.000Z" },
};

static void test_timestamp_format(void **state) {
        char buf[TIMESTAMP_MS_MAX];

        assert_int_equal(TIMESTAMP_MS_MAX, 25);
        for (size_t i = 0; i < ELEMENTSOF(ts_vectors); i++) {
                assert_int_equal(timestamp_format_ms(ts_vectors[i].ms, buf, sizeof(buf)), 0);
                assert_string_equal(buf, ts_vectors[i].text);
        }

        assert_int_equal(timestamp_format(1800000000, buf, sizeof(buf)), 0);
        assert_string_equal(buf, "2027-01-15T08:00:00.000Z");

        assert_int_equal(timestamp_format_ms(253402300800000LL, buf, sizeof(buf)), -ERANGE);
        assert_int_equal(timestamp_format_ms(-62135596800001LL, buf, sizeof(buf)), -ERANGE);
        assert_int_equal(timestamp_format(INT64_MAX, buf, sizeof(buf)), -ERANGE);
        assert_int_equal(timestamp_format(INT64_MIN, buf, sizeof(buf)), -ERANGE);
        assert_int_equal(timestamp_format_ms(0, buf, sizeof(buf) - 1), -ENOBUFS);
}

static void test_clocks(void **state) {
        uint64_t a, b;
        int64_t e;

        e = now_epoch();
        assert_true(e > 1700000000);
        assert_true(now_epoch_ms() / 1000 >= e);

        a = now_usec();
        b = now_usec();
        assert_true(b >= a);
        assert_true(a > 0);
}

/* ---- ISO-8601 ------------------------------------------------------- */

static const struct {
        const char *text;
        int64_t epoch;
} iso_valid[] = {
        { "2027-01-15T10:00:00Z", 1800007200 },
        { "2027-01-15T10:00:00", 1800007200 },          /* naive = UTC */
        { "2027-01-15T10:00:00.999999+02:00", 1800000000 },
        { "2027-01-15T10:00:00-05:30", 1800027000 },
        { "2027-01-15T08:00:00+00:00", 1800000000 },
        { "2027-01-15T08:00:00-00:00", 1800000000 },
        { "2027-01-15T08:00:00.1Z", 1800000000 },
        { "2027-01-15T08:00:00.123456789Z", 1800000000 },
        { "2000-02-29T00:00:00Z", 951782400 },
        { "1970-01-01T00:00:00Z", 0 },
        { "1969-12-31T23:59:59Z", -1 },
        { "9999-12-31T23:59:59Z", 253402300799LL },
        { "0001-01-01T00:00:00Z", -62135596800LL },
        { "2024-12-31T23:59:59.5Z", 1735689599 },
};

static const char *const iso_invalid[] = {
        "",
        "tomorrow",
        "2027-01-15",                   /* date only */
        "2027-01-15 10:00:00Z",         /* space separator */
        "2027-01-15t10:00:00Z",         /* lower-case t */
        "2027-01-15T10:00:00z",
        "2027-01-15T10:00Z",            /* no seconds */
        "2027-1-15T10:00:00Z",
        "27-01-15T10:00:00Z",
        "+2027-01-15T10:00:00Z",
        "2027-13-01T00:00:00Z",
        "2027-00-01T00:00:00Z",
        "2027-01-00T00:00:00Z",
        "2027-01-32T00:00:00Z",
        "2027-02-29T00:00:00Z",         /* not a leap year */
        "1900-02-29T00:00:00Z",         /* century, not leap */
        "2027-04-31T00:00:00Z",
        "2027-01-15T24:00:00Z",
        "2027-01-15T23:60:00Z",
        "2027-01-15T23:59:60Z",         /* leap seconds: no */
        "0000-01-01T00:00:00Z",
        "2027-01-15T10:00:00.Z",        /* empty fraction */
        "2027-01-15T10:00:00.1234567890Z",
        "2027-01-15T10:00:00+0200",
        "2027-01-15T10:00:00+02",
        "2027-01-15T10:00:00+24:00",
        "2027-01-15T10:00:00+02:60",
        "2027-01-15T10:00:00Z ",
        " 2027-01-15T10:00:00Z",
        "2027-01-15T10:00:00ZZ",
        "2027-01-15T10:00:00+02:00Z",
        "2027-01-15T10:00:00,5Z",
        "2027-01-15T1a:00:00Z",
        "1800000000",
};

static void test_iso8601(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(iso_valid); i++) {
                int64_t t = 42;

                if (iso8601_parse(iso_valid[i].text, &t) != 0)
                        fail_msg("rejected valid \"%s\"", iso_valid[i].text);
                if (t != iso_valid[i].epoch)
                        fail_msg("\"%s\": got %lld, want %lld", iso_valid[i].text, (long long) t,
                                 (long long) iso_valid[i].epoch);
        }

        for (size_t i = 0; i < ELEMENTSOF(iso_invalid); i++) {
                int64_t t = 42;

                if (iso8601_parse(iso_invalid[i], &t) != -EINVAL)
                        fail_msg("accepted invalid \"%s\"", iso_invalid[i]);
                assert_int_equal(t, 42); /* untouched */
        }
}

/* ---- TTL ------------------------------------------------------------ */

static const struct {
        const char *text;
        int64_t seconds;
} ttl_valid[] = {
        { "30s", 30 },
        { "15m", 900 },
        { "2h", 7200 },
        { "7d", 604800 },
        { "1h30m", 5400 },
        { "1d2h3m4s", 93784 },
        { "1d30s", 86430 },
        { "1h0m", 3600 },
        { "0h1s", 1 },
        { "90m", 5400 },
        { "0030s", 30 },
};

static const struct {
        const char *text;
        int error;
} ttl_invalid[] = {
        { "", -EINVAL },
        { "0s", -EINVAL },
        { "0d0h0m0s", -EINVAL },
        { "-5m", -EINVAL },
        { "+5m", -EINVAL },
        { "5", -EINVAL },               /* bare number */
        { "m", -EINVAL },
        { "5x", -EINVAL },
        { "5M", -EINVAL },
        { "5 m", -EINVAL },
        { " 5m", -EINVAL },
        { "5m ", -EINVAL },
        { "30m1h", -EINVAL },           /* order */
        { "1h1h", -EINVAL },            /* repeat */
        { "1.5h", -EINVAL },
        { "1h30", -EINVAL },            /* trailing number */
        { "1hm", -EINVAL },
        { "99999999999999999999s", -ERANGE },
        { "106751991167301d", -ERANGE },
        { "9223372036854775807s1s", -EINVAL }, /* 's' twice */
        { "106751991167300d86400s", -ERANGE },
};

static void test_ttl(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(ttl_valid); i++) {
                int64_t t = 0;

                if (ttl_parse(ttl_valid[i].text, &t) != 0)
                        fail_msg("rejected valid \"%s\"", ttl_valid[i].text);
                assert_int_equal(t, ttl_valid[i].seconds);
        }

        for (size_t i = 0; i < ELEMENTSOF(ttl_invalid); i++) {
                int64_t t = 42;
                int r = ttl_parse(ttl_invalid[i].text, &t);

                if (r != ttl_invalid[i].error)
                        fail_msg("\"%s\": got %d, want %d", ttl_invalid[i].text, r, ttl_invalid[i].error);
                assert_int_equal(t, 42);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_b64_vectors),
                cmocka_unit_test(test_b64_round_trip),
                cmocka_unit_test(test_b64_reject),
                cmocka_unit_test(test_b64_noncanonical_exhaustive),
                cmocka_unit_test(test_b64_limits),
                cmocka_unit_test(test_hex),
                cmocka_unit_test(test_timestamp_format),
                cmocka_unit_test(test_clocks),
                cmocka_unit_test(test_iso8601),
                cmocka_unit_test(test_ttl),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
