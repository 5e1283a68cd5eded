/* SPDX-License-Identifier: MIT */
#pragma once

/* The auth chain: turns a presented credential into an Identity, or into an
 * AuthError with a stable code and message. No transport knowledge: callers
 * hand in the raw header value / token bytes and map AuthError to their own
 * status codes with auth_error_http_status(). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scopes/identity.h"

typedef enum AuthError {
        AUTH_OK = 0,
        AUTH_ERR_MISSING_TOKEN,         /* 401 auth.missing_token "Missing bearer token" */
        AUTH_ERR_INVALID_TOKEN,         /* 401 auth.invalid_token "Invalid bearer token" */
        AUTH_ERR_TOKEN_EXPIRED,         /* 401 auth.token_expired "Bearer token has expired" */
        AUTH_ERR_TOKEN_REVOKED,         /* 401 auth.token_revoked "Bearer token has been revoked" */
        AUTH_ERR_INSUFFICIENT_SCOPE,    /* 403 auth.insufficient_scope "Missing required scopes: a, b" */
        AUTH_ERR_AUDIENCE_MISMATCH,     /* 403 auth.audience_mismatch */
        AUTH_ERR_RATE_LIMITED_IP,       /* 429 auth.rate_limited.ip */
        AUTH_ERR_RATE_LIMITED_IDENTITY, /* 429 auth.rate_limited.identity */
        _AUTH_ERR_MAX,
} AuthError;

/* Stable machine code, e.g. "auth.invalid_token". Static storage. */
const char *auth_error_code(AuthError e);
/* Human message, e.g. "Invalid bearer token". Static storage. */
const char *auth_error_message(AuthError e);
/* 401, 403 or 429 (200 for AUTH_OK). */
int auth_error_http_status(AuthError e);

typedef enum AuthMode {
        AUTH_MODE_DISABLED,
        AUTH_MODE_OPTIONAL,
        AUTH_MODE_REQUIRED,
} AuthMode;

typedef struct HmacKey HmacKey;

/* Hard upper bound on an HMAC token hmac_token_verify() looks at, whatever
 * AuthConfig.max_token_bytes says (which is normally much lower). */
#define HMAC_TOKEN_MAX_BYTES (64U * 1024U)

/* Allowed clock skew for exp / iat / nbf, in seconds. */
#define AUTH_CLOCK_SKEW_SEC 30

/* Lower-case hex of the first 8 bytes of SHA-256(token): the only form in
 * which a token (or a rejected credential) may appear in logs and audit
 * records. Returns 0 or -EIO. */
int token_sha256_prefix(const void *token, size_t len, char out[static 17]);

/* Pre-keys HMAC-SHA256 with `secret` (copied; the caller may wipe its copy).
 * Returns 0, -EINVAL when the secret is shorter than 32 bytes, -ENOMEM. */
int hmac_key_new(const void *secret, size_t len, HmacKey **ret);
HmacKey *hmac_key_free(HmacKey *k);

/* Lower-case hex HMAC-SHA256 of data into out (65 bytes incl. NUL).
 * Thread-safe. Returns 0 or -EIO. */
int hmac_key_sign_hex(const HmacKey *k, const void *data, size_t len, char out[static 65]);

typedef struct TokenMintParams {
        const char *agent;              /* required */
        const char *const *scopes;      /* NULL-terminated names as given (meta-scopes allowed) */
        int64_t ttl_seconds;            /* > 0 */
        int64_t now;                    /* epoch s; 0 = time(NULL) */
        const char *audience;           /* optional */
        const char *reason;             /* optional */
        bool auto_approve;
        bool break_glass;
        const char *jti_prefix;         /* optional, e.g. "su-" for single-use step-up tokens */
        const char *const *containers;  /* optional NULL-terminated glob lists (resource constraints) */
        const char *const *paths;
        const char *const *hosts;
} TokenMintParams;

/* Mints an origin-format HMAC token:
 *   base64url_nopad(claims JSON) "." hex(HMAC-SHA256(secret, that base64url string))
 * claims: agent, scopes[], iat, exp, jti (random 128-bit hex), and aud, reason,
 * auto_approve, break_glass when set. Returns 0 and a malloc'd token, -EINVAL
 * on bad params (unknown scope, empty agent, ttl <= 0), -ENOMEM. */
int hmac_token_mint(const HmacKey *k, const TokenMintParams *p, char **ret_token, json_t **ret_claims);

/* Verifies an HMAC token strictly (exact shape, canonical unpadded base64url,
 * JSON object without duplicate keys, constant-time signature compare, expiry
 * with 30 s skew, origin "expiry" ISO-8601 accepted when "exp" is absent,
 * tokens with neither rejected). `now` is epoch s (0 = time(NULL)).
 * On AUTH_OK *ret is a new Identity with method AUTH_METHOD_HMAC.
 * On failure, *ret_detail (if non-NULL) gets a static string saying why. */
AuthError hmac_token_verify(const HmacKey *k, const char *token, size_t len, int64_t now,
                            Identity **ret, const char **ret_detail);

typedef struct AuthConfig {
        AuthMode mode;
        size_t max_token_bytes;         /* default 8192 */
        int64_t max_ttl_seconds;        /* default 30d; HMAC tokens with a longer exp-iat are refused */
} AuthConfig;

typedef struct Auth Auth;
struct TokenStore;
typedef struct JwtVerifier JwtVerifier;

/* Creates the auth chain. `hmac` may be NULL (no HMAC source); ownership of
 * hmac passes to the Auth. Returns 0 or -ENOMEM.
 * On failure hmac is NOT consumed: it still belongs to the caller.
 * Zero max_token_bytes / max_ttl_seconds select the defaults; -EINVAL for
 * an unknown mode. */
int auth_new(const AuthConfig *cfg, HmacKey *hmac, Auth **ret);
Auth *auth_free(Auth *a);

/* Adds the JWT verifier (scopes/jose.h) to the chain; ownership passes to
 * the Auth (a previous one is freed). Call before the first authentication.
 * A token with exactly two dots goes to the JWT verifier and never to HMAC;
 * anything else goes to HMAC and never to the JWT verifier. */
void auth_set_jwt(Auth *a, JwtVerifier *jwt);

/* True when a credential must be presented (mode required, or optional with a
 * credential source, HMAC or JWT, configured). */
bool auth_required(const Auth *a);

/* Authenticates an "Authorization" header value (may be NULL when absent).
 * Accepts "Bearer <token>" (scheme case-insensitive, one space). With auth
 * not required and no header, returns an anonymous identity holding every
 * scope (AUTH_METHOD_NONE). Oversized tokens → AUTH_ERR_INVALID_TOKEN.
 * On AUTH_OK, *ret is a new reference. ret_detail as hmac_token_verify(). */
AuthError auth_authenticate_header(Auth *a, const char *authorization, int64_t now,
                                   Identity **ret, const char **ret_detail);

/* Same with a bare token string (stdio's SYSTEMMANAGER_TOKEN, ?token=). */
AuthError auth_authenticate_token(Auth *a, const char *token, size_t len, int64_t now,
                                  Identity **ret, const char **ret_detail);

/* Makes the chain refuse revoked tokens (AUTH_ERR_TOKEN_REVOKED) per
 * `store` (borrowed; must outlive the Auth). NULL turns the check off. */
void auth_set_store(Auth *a, struct TokenStore *store);

/* A fixed bootstrap token (SPEC §5.4), compared in constant time, never
 * stored. `scopes` is a scope list; `expires_at` 0 = none. Returns 0,
 * -EINVAL for a token shorter than 32 bytes or bad scopes, -ENOMEM. */
int auth_set_bootstrap(Auth *a, const char *token, const char *scopes, int64_t expires_at);

/* The HMAC key of the chain (borrowed), or NULL: for tokens the daemon
 * itself mints (audience-scoped step-up tokens). */
HmacKey *auth_hmac_key(Auth *a);

/* Adds an API key (X-API-Key header): `entry` is "NAME:SHA256HEX:SCOPES"
 * (scopes space-separated; only the key's SHA-256 is configured). Returns
 * 0 or -EINVAL naming nothing secret. */
int auth_add_api_key(Auth *a, const char *entry);

/* Adds an HTTP Basic user: "USER:CRYPT-HASH:SCOPES" where the hash is a
 * crypt(3) string, bcrypt ("$2b$...") recommended. */
int auth_add_basic_user(Auth *a, const char *entry);

/* X-API-Key value → identity (constant-time over every configured key). */
AuthError auth_authenticate_api_key(Auth *a, const char *key, size_t len, Identity **ret, const char **ret_detail);
