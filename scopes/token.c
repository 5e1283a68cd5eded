/* SPDX-License-Identifier: MIT */

/* HMAC bearer tokens, origin-compatible:
 *
 *     base64url_nopad(claims JSON) "." hex(HMAC-SHA256(secret, <that base64url string>))
 *
 * The verifier is strict and ordered so that unauthenticated input meets as
 * little code as possible: shape and length checks, then the constant-time
 * signature check, and only then base64 decoding and JSON parsing. */

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "common/cleanup.h"
#include "common/encoding.h"
#include "common/timeutil.h"
#include "scopes/auth.h"

#define HMAC_KEY_MIN_BYTES 32
#define HMAC_SIG_HEX_LEN 64
/* Idle per-key contexts kept for reuse; more concurrent signers than this
 * just dup and free (still correct, slightly slower). */
#define HMAC_POOL_MAX 32

#define CLAIM_AGENT_MAX 256
#define CLAIM_JTI_MAX 128
#define CLAIM_AUD_MAX 256
#define CLAIM_REASON_MAX 1024
#define CLAIM_SCOPES_MAX 64

/* Mutable part of a key: idle EVP_MAC_CTX copies of the keyed template.
 * Kept behind a pointer so that signing through a `const HmacKey *` is
 * honest about what it changes. */
typedef struct HmacPool {
        pthread_mutex_t lock;
        size_t n;
        EVP_MAC_CTX *ctx[HMAC_POOL_MAX];
} HmacPool;

struct HmacKey {
        EVP_MAC *mac;
        EVP_MAC_CTX *tmpl;      /* keyed with the secret; only ever duplicated, never fed */
        HmacPool *pool;
};

HmacKey *hmac_key_free(HmacKey *k) {
        if (!k)
                return NULL;

        /* EVP_MAC_CTX_free() wipes the HMAC provider's copy of the key
         * (OPENSSL_secure_clear_free) and the ipad/opad digest states
         * derived from it; we keep no other copy of the secret. */
        if (k->pool) {
                for (size_t i = 0; i < k->pool->n; i++)
                        EVP_MAC_CTX_free(k->pool->ctx[i]);
                pthread_mutex_destroy(&k->pool->lock);
                free(k->pool);
        }
        EVP_MAC_CTX_free(k->tmpl);
        EVP_MAC_free(k->mac);
        OPENSSL_cleanse(k, sizeof(*k));
        free(k);
        return NULL;
}

static void hmac_key_freep(HmacKey **k) {
        hmac_key_free(*k);
}

int hmac_key_new(const void *secret, size_t len, HmacKey **ret) {
        _cleanup_(hmac_key_freep) HmacKey *k = NULL;
        OSSL_PARAM params[2];

        assert(ret);

        /* Short secrets make the HMAC brute-forceable offline from any one
         * token; SPEC §5.2 requires at least 32 bytes. */
        if (!secret || len < HMAC_KEY_MIN_BYTES || len > INT_MAX)
                return -EINVAL;

        k = calloc(1, sizeof(*k));
        if (!k)
                return -ENOMEM;

        k->pool = calloc(1, sizeof(*k->pool));
        if (!k->pool)
                return -ENOMEM;
        if (pthread_mutex_init(&k->pool->lock, NULL) != 0) {
                free(k->pool);
                k->pool = NULL;
                return -ENOMEM;
        }

        k->mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
        if (!k->mac)
                return -EIO;

        k->tmpl = EVP_MAC_CTX_new(k->mac);
        if (!k->tmpl)
                return -ENOMEM;

        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *) "SHA256", 0);
        params[1] = OSSL_PARAM_construct_end();

        /* The provider copies the key; the caller may wipe its buffer. */
        if (EVP_MAC_init(k->tmpl, secret, len, params) != 1)
                return -EIO;

        *ret = TAKE_PTR(k);
        return 0;
}

/* Takes a context that is keyed and ready for EVP_MAC_update(). */
static EVP_MAC_CTX *hmac_ctx_acquire(const HmacKey *k) {
        EVP_MAC_CTX *c = NULL;

        if (pthread_mutex_lock(&k->pool->lock) == 0) {
                if (k->pool->n > 0)
                        c = k->pool->ctx[--k->pool->n];
                pthread_mutex_unlock(&k->pool->lock);
        }
        if (c)
                return c;

        /* Duplicating the keyed template reads it only, which is safe from
         * any number of threads at once. */
        return EVP_MAC_CTX_dup(k->tmpl);
}

/* Gives a context back after EVP_MAC_final(): re-initialised with the same
 * key (NULL key = reuse) and pooled, or freed. */
static void hmac_ctx_release(const HmacKey *k, EVP_MAC_CTX *c) {
        if (!c)
                return;

        if (EVP_MAC_init(c, NULL, 0, NULL) == 1 && pthread_mutex_lock(&k->pool->lock) == 0) {
                if (k->pool->n < HMAC_POOL_MAX) {
                        k->pool->ctx[k->pool->n++] = c;
                        c = NULL;
                }
                pthread_mutex_unlock(&k->pool->lock);
        }

        EVP_MAC_CTX_free(c);
}

static int hmac_key_sign(const HmacKey *k, const void *data, size_t len, uint8_t out[static 32]) {
        EVP_MAC_CTX *c;
        size_t outl = 0;

        assert(k);
        assert(data || len == 0);

        c = hmac_ctx_acquire(k);
        if (!c)
                return -EIO;

        if (EVP_MAC_update(c, data, len) != 1 || EVP_MAC_final(c, out, &outl, 32) != 1 || outl != 32) {
                /* A context in an unknown state is never pooled. */
                EVP_MAC_CTX_free(c);
                return -EIO;
        }

        hmac_ctx_release(k, c);
        return 0;
}

int hmac_key_sign_hex(const HmacKey *k, const void *data, size_t len, char out[static 65]) {
        uint8_t mac[32];
        int r;

        if (!k || (!data && len > 0))
                return -EINVAL;

        r = hmac_key_sign(k, data, len, mac);
        if (r < 0)
                return r;

        if (hex_encode(mac, sizeof(mac), out, 65) < 0)
                return -EIO;
        return 0;
}

int token_sha256_prefix(const void *token, size_t len, char out[static 17]) {
        uint8_t md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;

        if (!token && len > 0)
                return -EINVAL;

        if (EVP_Digest(token, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 8)
                return -EIO;
        if (hex_encode(md, 8, out, 17) < 0)
                return -EIO;
        return 0;
}

/* Printable, no control characters: the subject ends up in logs. */
static bool string_is_clean(const char *s, size_t len) {
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];

                if (c < 0x20 || c == 0x7f)
                        return false;
        }
        return true;
}

static bool check_string_param(const char *s, size_t max, bool allow_empty) {
        size_t n;

        if (!s)
                return true;
        n = strnlen(s, max + 1);
        if (n > max || (!allow_empty && n == 0))
                return false;
        return true;
}

/* Sets key to a string value when value is non-NULL. */
static int set_string_claim(json_t *claims, const char *key, const char *value) {
        json_t *v;

        if (!value)
                return 0;
        v = json_string(value);
        if (!v)
                return -EINVAL; /* not valid UTF-8 */
        if (json_object_set_new(claims, key, v) < 0)
                return -ENOMEM;
        return 0;
}

int hmac_token_mint(const HmacKey *k, const TokenMintParams *p, char **ret_token, json_t **ret_claims) {
        _cleanup_json_ json_t *claims = NULL, *scopes = NULL;
        _cleanup_free_ char *payload = NULL, *b64 = NULL, *token = NULL;
        uint8_t jti_raw[16];
        char jti[33 + 8], sig[65];
        int64_t now, exp;
        size_t n_scopes = 0, b64_len, token_len;
        int r;

        if (!k || !p || !ret_token)
                return -EINVAL;

        /* The verifier would refuse what we refuse here; failing at mint time
         * gives the operator the error instead of the agent. */
        if (!p->agent || !check_string_param(p->agent, CLAIM_AGENT_MAX, false) ||
            !string_is_clean(p->agent, strlen(p->agent)))
                return -EINVAL;
        if (!check_string_param(p->audience, CLAIM_AUD_MAX, false) ||
            !check_string_param(p->reason, CLAIM_REASON_MAX, true))
                return -EINVAL;
        if (p->ttl_seconds <= 0 || p->now < 0)
                return -EINVAL;

        now = p->now != 0 ? p->now : now_epoch();
        if (__builtin_add_overflow(now, p->ttl_seconds, &exp))
                return -EINVAL;

        scopes = json_array();
        if (!scopes)
                return -ENOMEM;
        for (const char *const *s = p->scopes; s && *s; s++) {
                ScopeSet ignored;

                if (++n_scopes > CLAIM_SCOPES_MAX)
                        return -EINVAL;
                /* Meta-scopes are written as given ("readonly"), like the
                 * origin; the verifier expands them. Unknown names are a
                 * caller mistake here, not something to carry in a token. */
                if (scope_expand_name(*s, &ignored) < 0)
                        return -EINVAL;
                if (json_array_append_new(scopes, json_string(*s)) < 0)
                        return -ENOMEM;
        }

        if (RAND_bytes(jti_raw, sizeof(jti_raw)) != 1)
                return -EIO;
        size_t pfx = p->jti_prefix ? strlen(p->jti_prefix) : 0;
        if (pfx > 7)
                return -EINVAL;
        if (pfx)
                memcpy(jti, p->jti_prefix, pfx);
        if (hex_encode(jti_raw, sizeof(jti_raw), jti + pfx, sizeof(jti) - pfx) < 0)
                return -EIO;

        claims = json_object();
        if (!claims)
                return -ENOMEM;

        /* set_string_claim() fails for text that is not UTF-8: -EINVAL. */
        r = set_string_claim(claims, "agent", p->agent);
        if (r < 0)
                return r;
        if (json_object_set(claims, "scopes", scopes) < 0 ||
            json_object_set_new(claims, "iat", json_integer(now)) < 0 ||
            json_object_set_new(claims, "exp", json_integer(exp)) < 0 ||
            json_object_set_new(claims, "jti", json_string(jti)) < 0)
                return -ENOMEM;
        const struct { const char *name; const char *const *l; } cons[] = {
                { "containers", p->containers }, { "paths", p->paths }, { "hosts", p->hosts },
        };
        for (size_t c = 0; c < ELEMENTSOF(cons); c++) {
                if (!cons[c].l || !cons[c].l[0])
                        continue;
                json_t *a = json_array();
                for (const char *const *g = cons[c].l; a && *g; g++)
                        json_array_append_new(a, json_string(*g));
                if (!a || json_object_set_new(claims, cons[c].name, a) < 0)
                        return -ENOMEM;
        }
        r = set_string_claim(claims, "aud", p->audience);
        if (r < 0)
                return r;
        r = set_string_claim(claims, "reason", p->reason);
        if (r < 0)
                return r;
        if (p->auto_approve && json_object_set_new(claims, "auto_approve", json_true()) < 0)
                return -ENOMEM;
        if (p->break_glass && json_object_set_new(claims, "break_glass", json_true()) < 0)
                return -ENOMEM;

        payload = json_dumps(claims, JSON_COMPACT);
        if (!payload)
                return -ENOMEM;

        r = base64url_encode_alloc(payload, strlen(payload), HMAC_TOKEN_MAX_BYTES, &b64);
        if (r < 0)
                return r == -E2BIG ? -EINVAL : r;
        b64_len = strlen(b64);

        r = hmac_key_sign_hex(k, b64, b64_len, sig);
        if (r < 0)
                return r;

        token_len = b64_len + 1 + HMAC_SIG_HEX_LEN;
        if (token_len > HMAC_TOKEN_MAX_BYTES)
                return -EINVAL;
        token = malloc(token_len + 1);
        if (!token)
                return -ENOMEM;
        memcpy(token, b64, b64_len);
        token[b64_len] = '.';
        memcpy(token + b64_len + 1, sig, HMAC_SIG_HEX_LEN + 1);

        OPENSSL_cleanse(sig, sizeof(sig));

        if (ret_claims)
                *ret_claims = TAKE_PTR(claims);
        *ret_token = TAKE_PTR(token);
        return 0;
}

static AuthError fail(const char **ret_detail, AuthError e, const char *detail) {
        if (ret_detail)
                *ret_detail = detail;
        return e;
}

/* Optional string claim of at most `max` bytes; NULL in *ret when absent. */
static bool claim_string(json_t *claims, const char *key, size_t max, bool allow_empty, const char **ret) {
        json_t *v = json_object_get(claims, key); /* borrowed */
        size_t n;

        *ret = NULL;
        if (!v)
                return true;
        if (!json_is_string(v))
                return false;
        n = json_string_length(v);
        if (n > max || (!allow_empty && n == 0))
                return false;
        *ret = json_string_value(v);
        return true;
}

/* Optional non-negative integer claim. JSON reals (1.7e9) and strings are
 * refused: jansson keeps them apart, and so do we. */
static bool claim_time(json_t *claims, const char *key, bool *ret_present, int64_t *ret) {
        json_t *v = json_object_get(claims, key); /* borrowed */

        *ret_present = false;
        *ret = 0;
        if (!v)
                return true;
        if (!json_is_integer(v) || json_integer_value(v) < 0)
                return false;
        *ret_present = true;
        *ret = (int64_t) json_integer_value(v);
        return true;
}

static bool claim_bool(json_t *claims, const char *key, bool *ret) {
        json_t *v = json_object_get(claims, key); /* borrowed */

        *ret = false;
        if (!v)
                return true;
        if (!json_is_boolean(v))
                return false;
        *ret = json_is_true(v);
        return true;
}

static int strdup_or_null(const char *s, char **ret) {
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

AuthError hmac_token_verify(const HmacKey *k, const char *token, size_t len, int64_t now,
                            Identity **ret, const char **ret_detail) {
        _cleanup_identity_ Identity *id = NULL;
        _cleanup_json_ json_t *claims = NULL;
        _cleanup_free_ void *decoded = NULL;
        const char *dot, *sig, *agent, *jti, *aud, *reason, *expiry;
        bool has_exp, has_iat, has_nbf, auto_approve, break_glass;
        int64_t exp, iat, nbf;
        uint8_t mac[32];
        char expected[65];
        size_t payload_len, decoded_len, i;
        ScopeSet scopes = 0;
        json_t *v, *scopes_json; /* borrowed */
        json_error_t jerr;
        int cmp, r;

        if (!k || !ret)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "internal error: no key");
        if (!token || len == 0)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "empty token");

        /* Size first: nothing below runs on an arbitrarily large input. */
        if (len > HMAC_TOKEN_MAX_BYTES)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "token too long");
        if (memchr(token, 0, len))
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "malformed token: NUL byte");

        /* Exactly one '.'. A JWT (two dots) is never an HMAC token, so a
         * token of one kind cannot be replayed as the other. */
        dot = memchr(token, '.', len);
        if (!dot)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN,
                            "malformed token: expected <payload>.<signature>");
        if (memchr(dot + 1, '.', len - (size_t) (dot - token) - 1))
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN,
                            "malformed token: more than one '.' (a JWT is not an HMAC token)");

        payload_len = (size_t) (dot - token);
        sig = dot + 1;
        if (payload_len == 0)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "malformed token: empty payload");

        /* Length before content before compare: the signature is exactly 64
         * lower-case hex characters, one spelling only. */
        if (len - payload_len - 1 != HMAC_SIG_HEX_LEN || !hex_is_lower(sig, HMAC_SIG_HEX_LEN))
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN,
                            "malformed signature: expected 64 lower-case hex characters");

        /* The MAC covers the base64url text exactly as presented. */
        r = hmac_key_sign(k, token, payload_len, mac);
        if (r < 0)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "internal error: HMAC failed");
        if (hex_encode(mac, sizeof(mac), expected, sizeof(expected)) < 0)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "internal error: HMAC failed");

        /* Constant time: no early exit that would leak how many leading
         * characters of a forged signature were right. */
        cmp = CRYPTO_memcmp(expected, sig, HMAC_SIG_HEX_LEN);
        OPENSSL_cleanse(expected, sizeof(expected));
        OPENSSL_cleanse(mac, sizeof(mac));
        if (cmp != 0)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "signature mismatch");

        /* Authenticated from here on, but still parsed strictly: a key
         * holder's bug must not turn into a privilege. */
        r = base64url_decode_alloc(token, payload_len, HMAC_TOKEN_MAX_BYTES, &decoded, &decoded_len);
        if (r == -ENOMEM)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "internal error: out of memory");
        if (r < 0)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "payload is not canonical unpadded base64url");

        if (decoded_len == 0 || ((const char *) decoded)[0] != '{')
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "payload is not a JSON object");

        /* No JSON_ALLOW_NUL ("\u0000" inside strings is refused), no
         * duplicate keys (which one would win is parser-specific), nothing
         * after the object: position must reach the end exactly. */
        claims = json_loadb(decoded, decoded_len, JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK, &jerr);
        if (!claims) {
                if (json_error_code(&jerr) == json_error_duplicate_key)
                        return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "duplicate key in payload");
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "payload is not valid JSON");
        }
        if (!json_is_object(claims))
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "payload is not a JSON object");
        if ((size_t) jerr.position != decoded_len)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "trailing data after the JSON payload");

        /* agent: required, 1..256 bytes, no control characters. */
        if (!claim_string(claims, "agent", CLAIM_AGENT_MAX, false, &agent) || !agent ||
            !string_is_clean(agent, strlen(agent)))
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN,
                            "agent must be a non-empty string of at most 256 bytes");

        /* scopes: required array of strings. Unknown names grant nothing but
         * do not fail the token (newer minters may know more scopes). */
        scopes_json = json_object_get(claims, "scopes");
        if (!json_is_array(scopes_json) || json_array_size(scopes_json) > CLAIM_SCOPES_MAX)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "scopes must be an array of strings");
        json_array_foreach(scopes_json, i, v) {
                ScopeSet one;

                if (!json_is_string(v))
                        return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "scopes must be an array of strings");
                if (scope_expand_name(json_string_value(v), &one) >= 0)
                        scopes |= one;
        }

        if (!claim_time(claims, "exp", &has_exp, &exp))
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "exp must be a non-negative integer");
        if (!claim_time(claims, "iat", &has_iat, &iat))
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "iat must be a non-negative integer");
        if (!claim_time(claims, "nbf", &has_nbf, &nbf))
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "nbf must be a non-negative integer");

        /* Origin tokens carry "expiry" (ISO-8601) instead of "exp". When both
         * are present the earlier one wins: never extend a lifetime. */
        if (!claim_string(claims, "expiry", 64, false, &expiry))
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "expiry must be an ISO-8601 string");
        if (expiry) {
                int64_t t;

                if (iso8601_parse(expiry, &t) < 0)
                        return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "expiry must be an ISO-8601 string");
                if (!has_exp || t < exp)
                        exp = t;
                has_exp = true;
        }
        if (!has_exp)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "token has no expiry");

        if (!claim_string(claims, "jti", CLAIM_JTI_MAX, false, &jti))
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN,
                            "jti must be a non-empty string of at most 128 bytes");
        if (!claim_string(claims, "aud", CLAIM_AUD_MAX, false, &aud))
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN,
                            "aud must be a non-empty string of at most 256 bytes");
        if (!claim_string(claims, "reason", CLAIM_REASON_MAX, true, &reason))
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "reason must be a string of at most 1024 bytes");
        if (!claim_bool(claims, "auto_approve", &auto_approve))
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "auto_approve must be a boolean");
        if (!claim_bool(claims, "break_glass", &break_glass))
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "break_glass must be a boolean");

        /* Time checks last, so "expired" is only ever said about a token
         * that is otherwise well-formed. */
        if (now == 0)
                now = now_epoch();

        if (has_iat && iat == 0)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "iat must be a positive integer");
        if (has_iat && iat > now + AUTH_CLOCK_SKEW_SEC)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "token issued in the future");
        if (has_iat && exp < iat)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "token expires before it was issued");
        if (has_nbf && nbf > now + AUTH_CLOCK_SKEW_SEC)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "token not yet valid");
        /* Written as exp < now - skew so that a huge exp cannot overflow. */
        if (exp < now - AUTH_CLOCK_SKEW_SEC)
                return fail(ret_detail, AUTH_ERR_TOKEN_EXPIRED, "token has expired");

        id = identity_new();
        if (!id)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "internal error: out of memory");

        id->method = AUTH_METHOD_HMAC;
        id->scopes = scopes;
        id->issued_at = has_iat ? iat : 0;
        id->expires_at = exp;
        id->auto_approve = auto_approve;
        id->break_glass = break_glass;
        if (strdup_or_null(agent, &id->subject) < 0 ||
            strdup_or_null(jti, &id->token_id) < 0 ||
            strdup_or_null(aud, &id->audience) < 0 ||
            strdup_or_null(reason, &id->reason) < 0)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "internal error: out of memory");
        if (token_sha256_prefix(token, len, id->token_sha256) < 0)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "internal error: SHA-256 failed");
        {
                const char *why = NULL;
                if (identity_set_constraints(id, claims, &why) < 0)
                        return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, why ? why : "bad constraint claims");
        }

        *ret = TAKE_PTR(id);
        if (ret_detail)
                *ret_detail = NULL;
        return AUTH_OK;
}
