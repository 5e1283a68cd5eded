/* SPDX-License-Identifier: MIT */
#pragma once

/* Strict binary-to-text encodings: unpadded base64url (RFC 4648 §5, as used
 * by the HMAC tokens and JOSE) and lower-case hex.
 *
 * Every function takes an explicit output size and never writes past it.
 * The decoders accept exactly one spelling of a given byte string: no padding,
 * no '+' or '/', no whitespace, no length ≡ 1 (mod 4) and no non-zero unused
 * bits in the final character, so a token cannot be re-encoded into a second
 * valid form (important wherever encoded strings are hashed, cached or
 * compared). */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Characters base64url_encode() produces for `len` input bytes (no NUL).
 * Saturates at SIZE_MAX for absurd lengths. */
size_t base64url_encoded_len(size_t len);

/* Bytes base64url_decode() produces for a valid input of `len` characters. */
size_t base64url_decoded_len(size_t len);

/* Encodes `len` bytes of `data` as unpadded base64url into `out`, which has
 * room for `out_size` bytes including the terminating NUL.
 * Returns the number of characters written (excluding the NUL), or -ENOBUFS
 * when out_size is too small (out then holds "" if out_size > 0). */
ssize_t base64url_encode(const void *data, size_t len, char *out, size_t out_size);

/* As base64url_encode() into a new malloc'd NUL-terminated string.
 * Returns 0, -E2BIG when the encoding would exceed `max_len` characters,
 * -ENOMEM. *ret is untouched on failure. */
int base64url_encode_alloc(const void *data, size_t len, size_t max_len, char **ret);

/* Strictly decodes `len` characters of unpadded base64url (see above; NUL
 * bytes inside the range are invalid characters) into `out` (`out_size`
 * bytes). Returns the number of bytes written, -EINVAL for any non-canonical
 * or malformed input, -ENOBUFS when out_size is too small. */
ssize_t base64url_decode(const char *in, size_t len, void *out, size_t out_size);

/* As base64url_decode() into a new malloc'd buffer that carries one extra NUL
 * byte after the data (not counted in *ret_len), so text payloads can be used
 * as C strings. Returns 0, -EINVAL malformed, -E2BIG when the decoded data
 * would exceed `max_out` bytes (checked before allocating), -ENOMEM.
 * Out-parameters are untouched on failure. */
int base64url_decode_alloc(const char *in, size_t len, size_t max_out, void **ret, size_t *ret_len);

/* Lower-case hex of `len` bytes into `out` (`out_size` incl. NUL, i.e. at
 * least 2 * len + 1). Returns characters written or -ENOBUFS. */
ssize_t hex_encode(const void *data, size_t len, char *out, size_t out_size);

/* Decodes `len` hex characters (either case; use hex_is_lower() first where
 * one spelling is required) into `out`. Returns bytes written, -EINVAL for an
 * odd length or a non-hex character, -ENOBUFS when out_size < len / 2. */
ssize_t hex_decode(const char *in, size_t len, void *out, size_t out_size);

/* True when `s[0..len)` consists only of [0-9a-f]. */
bool hex_is_lower(const char *s, size_t len);
