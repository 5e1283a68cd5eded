/* SPDX-License-Identifier: MIT */
#pragma once

/* JOSE: compact JWS / JWT verification (RFC 7515, 7519) with HS256, RS256,
 * ES256 and EdDSA (Ed25519), and JWK / JWKS parsing (RFC 7517, 7518, 8037).
 *
 * The verifier holds a fixed set of keys built at configuration time (every
 * EVP_PKEY / HMAC key is constructed once, at load). Each key has exactly one
 * algorithm, derived from its type: an octet secret only verifies HS256, an
 * RSA key only RS256, an EC P-256 key only ES256, an Ed25519 key only EdDSA.
 * The token header's "alg" must name that algorithm; it never chooses one.
 *
 * A verifier is immutable once the first jwt_verify() call has been made and
 * may then be shared by any number of threads; the only moving part is the
 * key set fetched from a JWKS URL, swapped atomically by its own thread. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scopes/auth.h"
#include "scopes/identity.h"

typedef struct JwtVerifier JwtVerifier;

typedef enum JwsAlg {
        JWS_ALG_HS256,
        JWS_ALG_RS256,
        JWS_ALG_ES256,
        JWS_ALG_EDDSA,
        _JWS_ALG_MAX,
        _JWS_ALG_INVALID = -1,
} JwsAlg;

/* Smallest HS256 secret accepted, in bytes (SPEC §5.2). */
#define JWT_HMAC_KEY_MIN_BYTES 32
/* Smallest / largest RSA modulus accepted, in bits. */
#define JWT_RSA_MIN_BITS 2048
#define JWT_RSA_MAX_BITS 8192
/* Most keys one verifier holds (all sources together). */
#define JWT_MAX_KEYS 64
/* Largest JWKS document accepted (file or inline). */
#define JWT_JWKS_MAX_BYTES (1024U * 1024U)

/* "HS256", "RS256", "ES256", "EdDSA"; NULL when out of range. Static storage. */
const char *jws_alg_to_string(JwsAlg a);
/* Exact, case-sensitive; _JWS_ALG_INVALID for anything else, "none" included. */
JwsAlg jws_alg_from_string(const char *s);

typedef struct JwtConfig {
        /* NULL-terminated algorithm names; NULL = all four. "none" or an
         * unknown name makes jwt_verifier_new() fail with -EINVAL. */
        const char *const *allowed_algorithms;
        /* When set, the token's aud must be this string or an array holding
         * it; when NULL, a token carrying aud at all is refused. */
        const char *audience;
        /* When set, iss must be byte-equal to it. */
        const char *issuer;
        int64_t max_ttl_seconds;        /* 0 = 30 days */
        size_t max_token_bytes;         /* 0 = 8192 */
} JwtConfig;

/* Creates an empty verifier (copies everything in cfg). Returns 0, -EINVAL
 * for a bad algorithm name or negative limits (*ret_detail says which, if
 * non-NULL), -ENOMEM. */
int jwt_verifier_new(const JwtConfig *cfg, JwtVerifier **ret, const char **ret_detail);
JwtVerifier *jwt_verifier_free(JwtVerifier *v);

/* Adds an HS256 secret (copied) with an optional key id. Returns 0, -EINVAL
 * when shorter than 32 bytes or HS256 is not allowed, -E2BIG when the key
 * table is full, -EEXIST for a duplicate kid, -ENOMEM, -EIO. */
int jwt_verifier_add_hmac_secret(JwtVerifier *v, const void *secret, size_t len, const char *kid,
                                 const char **ret_detail);

/* Adds every signing key of a JWKS document ({"keys":[...]}, strict JSON,
 * duplicate members refused). All or nothing: on failure no key is added.
 *
 * Refused (-EINVAL, *ret_detail says why): malformed JSON or members of the
 * wrong type; RSA below 2048 or above 8192 bits, even or tiny exponents; EC
 * points not on P-256; HS ("oct") keys under 32 bytes; a JWK "alg" that does
 * not match the key's type; private key members (d, p, q, ...) on an
 * asymmetric key; duplicate kids; more than JWT_MAX_KEYS keys.
 * Skipped (counted in *ret_skipped, if non-NULL): keys whose kty or crv we do
 * not implement (e.g. Ed448, P-384), "use" other than "sig", and keys whose
 * algorithm is not in allowed_algorithms. Returns 0 (number of keys added can
 * be read with jwt_verifier_n_keys()), -EINVAL, -E2BIG, -ENOMEM, -EIO. */
int jwt_verifier_add_jwks(JwtVerifier *v, const char *json, size_t len, unsigned *ret_skipped,
                          const char **ret_detail);

/* Reads a JWKS file (regular file, at most JWT_JWKS_MAX_BYTES) and adds it as
 * jwt_verifier_add_jwks(). Also -errno from open/read. */
int jwt_verifier_add_jwks_file(JwtVerifier *v, const char *path, unsigned *ret_skipped,
                               const char **ret_detail);

size_t jwt_verifier_n_keys(const JwtVerifier *v);

typedef struct JwksUrlConfig {
        /* https://...; plain http only to 127.0.0.1, [::1] or localhost; no
         * user information. Redirects are not followed. */
        const char *url;
        int64_t cache_ttl_seconds;      /* refresh period; 0 = 1 h */
        int64_t fetch_timeout_seconds;  /* per fetch (connect + transfer); 0 = 5 s */
        int64_t min_refetch_seconds;    /* minimum gap between fetches; 0 = min(TTL, 30 s) */
} JwksUrlConfig;

/* Configures a JWKS URL (validated and copied; no network access yet).
 * Fetched keys follow the same rules as jwt_verifier_add_jwks(), but a bad
 * fetched set is never installed: the last good set stays in use. Returns 0,
 * -EINVAL (bad URL or limits; *ret_detail says why), -EEXIST, -ENOMEM, -EIO.
 * Call before jwt_verifier_start_jwks_fetcher() and before sharing v. */
int jwt_verifier_set_jwks_url(JwtVerifier *v, const JwksUrlConfig *cfg, const char **ret_detail);

/* Fetches the JWKS once, synchronously (result in *ret_initial: 0 or a
 * negative errno with *ret_initial_detail), then starts the background
 * fetcher thread: it refreshes every cache TTL, retries failures every
 * refetch interval, and refetches when a token names an unknown kid (at most
 * once per refetch interval; that token itself is refused, the fetch never
 * blocks a verification). jwt_verifier_free() stops the thread.
 * Returns 0, -ENOENT (no URL configured), -EALREADY, -EAGAIN. */
int jwt_verifier_start_jwks_fetcher(JwtVerifier *v, int *ret_initial, const char **ret_initial_detail);

/* Keys in the currently installed fetched set (0 before the first success). */
size_t jwt_verifier_n_remote_keys(const JwtVerifier *v);
bool jwt_verifier_has_jwks_url(const JwtVerifier *v);

/* Verifies a compact JWS carrying a JWT claims set. `now` is epoch seconds
 * (0 = time(NULL)). On AUTH_OK, *ret is a new Identity (method
 * AUTH_METHOD_JWT; subject = sub, token_id = jti, scopes from scope / scopes
 * / scp / systemmanager.scopes) and *ret_detail is NULL. Otherwise
 * AUTH_ERR_INVALID_TOKEN, or AUTH_ERR_TOKEN_EXPIRED for a token that is valid
 * in every respect except that exp is more than 30 s in the past; *ret_detail
 * (if non-NULL) gets a static string saying why. Thread-safe. */
AuthError jwt_verify(const JwtVerifier *v, const char *token, size_t len, int64_t now, Identity **ret,
                     const char **ret_detail);
