/* SPDX-License-Identifier: MIT */

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/encoding.h"

static const char b64url_alphabet[64] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Value of one base64url character, or -1 for every byte outside the
 * alphabet, including '=', '+', '/', whitespace and NUL. */
static int8_t b64url_value(uint8_t c) {
        if (c >= 'A' && c <= 'Z')
                return (int8_t) (c - 'A');
        if (c >= 'a' && c <= 'z')
                return (int8_t) (c - 'a' + 26);
        if (c >= '0' && c <= '9')
                return (int8_t) (c - '0' + 52);
        if (c == '-')
                return 62;
        if (c == '_')
                return 63;
        return -1;
}

size_t base64url_encoded_len(size_t len) {
        size_t full = len / 3, rest = len % 3;

        if (full > (SIZE_MAX - 3) / 4)
                return SIZE_MAX;
        return full * 4 + (rest == 0 ? 0 : rest + 1);
}

size_t base64url_decoded_len(size_t len) {
        /* Each full quantum of 4 characters is 3 bytes; a tail of 2 or 3
         * characters carries 1 or 2 bytes (a tail of 1 is invalid). */
        return (len / 4) * 3 + (len % 4 == 0 ? 0 : (len % 4) - 1);
}

ssize_t base64url_encode(const void *data, size_t len, char *out, size_t out_size) {
        const uint8_t *p = data;
        size_t n, i, o = 0;

        assert(data || len == 0);
        assert(out || out_size == 0);

        n = base64url_encoded_len(len);
        if (n == SIZE_MAX || n >= out_size || n > SSIZE_MAX) {
                if (out_size > 0)
                        out[0] = 0;
                return -ENOBUFS;
        }

        for (i = 0; i + 3 <= len; i += 3) {
                uint32_t v = (uint32_t) p[i] << 16 | (uint32_t) p[i + 1] << 8 | p[i + 2];

                out[o++] = b64url_alphabet[(v >> 18) & 0x3f];
                out[o++] = b64url_alphabet[(v >> 12) & 0x3f];
                out[o++] = b64url_alphabet[(v >> 6) & 0x3f];
                out[o++] = b64url_alphabet[v & 0x3f];
        }

        if (len - i == 1) {
                uint32_t v = (uint32_t) p[i] << 16;

                out[o++] = b64url_alphabet[(v >> 18) & 0x3f];
                out[o++] = b64url_alphabet[(v >> 12) & 0x3f];
        } else if (len - i == 2) {
                uint32_t v = (uint32_t) p[i] << 16 | (uint32_t) p[i + 1] << 8;

                out[o++] = b64url_alphabet[(v >> 18) & 0x3f];
                out[o++] = b64url_alphabet[(v >> 12) & 0x3f];
                out[o++] = b64url_alphabet[(v >> 6) & 0x3f];
        }

        assert(o == n);
        out[o] = 0;
        return (ssize_t) o;
}

int base64url_encode_alloc(const void *data, size_t len, size_t max_len, char **ret) {
        char *s;
        size_t n;
        ssize_t k;

        assert(ret);

        n = base64url_encoded_len(len);
        if (n == SIZE_MAX || n > max_len)
                return -E2BIG;

        s = malloc(n + 1);
        if (!s)
                return -ENOMEM;

        k = base64url_encode(data, len, s, n + 1);
        if (k < 0) {
                free(s);
                return (int) k;
        }

        *ret = s;
        return 0;
}

ssize_t base64url_decode(const char *in, size_t len, void *out, size_t out_size) {
        uint8_t *o = out;
        size_t n, i, j = 0;
        int8_t a, b, c, d;

        assert(in || len == 0);
        assert(out || out_size == 0);

        /* One dangling character cannot carry a whole byte: never a valid
         * encoding. */
        if (len % 4 == 1)
                return -EINVAL;

        n = base64url_decoded_len(len);
        if (n > out_size)
                return -ENOBUFS;
        if (n > SSIZE_MAX)
                return -EINVAL;

        for (i = 0; i + 4 <= len; i += 4) {
                a = b64url_value((uint8_t) in[i]);
                b = b64url_value((uint8_t) in[i + 1]);
                c = b64url_value((uint8_t) in[i + 2]);
                d = b64url_value((uint8_t) in[i + 3]);
                if ((a | b | c | d) < 0)
                        return -EINVAL;

                o[j++] = (uint8_t) (a << 2 | b >> 4);
                o[j++] = (uint8_t) ((b & 0x0f) << 4 | c >> 2);
                o[j++] = (uint8_t) ((c & 0x03) << 6 | d);
        }

        switch (len - i) {
        case 0:
                break;

        case 2:
                a = b64url_value((uint8_t) in[i]);
                b = b64url_value((uint8_t) in[i + 1]);
                if ((a | b) < 0)
                        return -EINVAL;
                /* Canonical form only: the 4 bits of the last character that
                 * carry no data must be zero, otherwise several spellings
                 * would decode to the same bytes. */
                if (b & 0x0f)
                        return -EINVAL;
                o[j++] = (uint8_t) (a << 2 | b >> 4);
                break;

        case 3:
                a = b64url_value((uint8_t) in[i]);
                b = b64url_value((uint8_t) in[i + 1]);
                c = b64url_value((uint8_t) in[i + 2]);
                if ((a | b | c) < 0)
                        return -EINVAL;
                if (c & 0x03) /* same: 2 unused bits */
                        return -EINVAL;
                o[j++] = (uint8_t) (a << 2 | b >> 4);
                o[j++] = (uint8_t) ((b & 0x0f) << 4 | c >> 2);
                break;

        default:
                assert(false); /* len % 4 == 1 was refused above */
                return -EINVAL;
        }

        assert(j == n);
        return (ssize_t) j;
}

int base64url_decode_alloc(const char *in, size_t len, size_t max_out, void **ret, size_t *ret_len) {
        uint8_t *buf;
        size_t n;
        ssize_t k;

        assert(in || len == 0);
        assert(ret);
        assert(ret_len);

        if (len % 4 == 1)
                return -EINVAL;

        n = base64url_decoded_len(len);
        if (n > max_out || n == SIZE_MAX)
                return -E2BIG;

        buf = malloc(n + 1);
        if (!buf)
                return -ENOMEM;

        k = base64url_decode(in, len, buf, n);
        if (k < 0) {
                free(buf);
                return (int) k;
        }
        buf[k] = 0;

        *ret = buf;
        *ret_len = (size_t) k;
        return 0;
}

ssize_t hex_encode(const void *data, size_t len, char *out, size_t out_size) {
        static const char digits[16] = "0123456789abcdef";
        const uint8_t *p = data;

        assert(data || len == 0);
        assert(out || out_size == 0);

        if (len > (SIZE_MAX - 1) / 2 || len > SSIZE_MAX / 2 || len * 2 + 1 > out_size) {
                if (out_size > 0)
                        out[0] = 0;
                return -ENOBUFS;
        }

        for (size_t i = 0; i < len; i++) {
                out[2 * i] = digits[p[i] >> 4];
                out[2 * i + 1] = digits[p[i] & 0x0f];
        }
        out[len * 2] = 0;
        return (ssize_t) (len * 2);
}

static int unhexchar(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -EINVAL;
}

ssize_t hex_decode(const char *in, size_t len, void *out, size_t out_size) {
        uint8_t *o = out;

        assert(in || len == 0);
        assert(out || out_size == 0);

        if (len % 2 != 0)
                return -EINVAL;
        if (len / 2 > out_size)
                return -ENOBUFS;
        if (len / 2 > SSIZE_MAX)
                return -EINVAL;

        for (size_t i = 0; i < len; i += 2) {
                int hi = unhexchar(in[i]), lo = unhexchar(in[i + 1]);

                if (hi < 0 || lo < 0)
                        return -EINVAL;
                o[i / 2] = (uint8_t) (hi << 4 | lo);
        }

        return (ssize_t) (len / 2);
}

bool hex_is_lower(const char *s, size_t len) {
        assert(s || len == 0);

        for (size_t i = 0; i < len; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}
