/* SPDX-License-Identifier: MIT */

/* Compact JWS / JWT verification and JWK / JWKS parsing on OpenSSL 3 EVP.
 *
 * Order of checks in jwt_verify(), so that unauthenticated input meets as
 * little code as possible:
 *   size → shape (exactly two dots, no empty segment) → header (strict
 *   base64url, strict JSON object) → header policy (alg, crit, b64, typ,
 *   cty, enc, zip) → key selection (the key decides the algorithm) →
 *   signature length → signature → payload (strict base64url, strict JSON
 *   object) → claims → time.
 * Only the header is parsed before the signature is checked; it has to be,
 * to find the key. */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "common/cleanup.h"
#include "common/encoding.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "scopes/jose.h"

#define JWT_DEFAULT_MAX_TOKEN_BYTES 8192
#define JWT_DEFAULT_MAX_TTL_SECONDS (30 * 24 * 3600)

/* Largest signature of any key we hold: RSA-8192. */
#define JWS_SIG_MAX_BYTES (JWT_RSA_MAX_BITS / 8)

#define JWT_KID_MAX 256
#define JWT_SUB_MAX 256
#define JWT_JTI_MAX 128
#define JWT_AUD_MAX 256
#define JWT_AUD_ARRAY_MAX 32
#define JWT_SCOPES_MAX 64
#define JWT_SCOPE_NAME_MAX 64
#define JWT_SCOPE_STRING_MAX 4096

/* Latest instant we accept in exp / nbf / iat: 9999-12-31T23:59:59Z. Larger
 * values are nonsense and only invite overflow in arithmetic further on. */
#define JWT_TIME_MAX 253402300799LL

typedef struct JoseKey {
        JwsAlg alg;
        char *kid;              /* NULL = none */
        EVP_PKEY *pkey;         /* RS256 / ES256 / EdDSA */
        /* RS256 / ES256: a digest-verify context initialised once at load
         * (signature and digest fetched, key bound) and only ever copied:
         * EVP_DigestVerifyInit() per token costs more than the RSA verify. */
        EVP_MD_CTX *tmpl;
        HmacKey *hmac;          /* HS256 */
        size_t sig_len;         /* exact signature length for this key */
} JoseKey;

/* An immutable, reference-counted set of keys fetched from a JWKS URL. The
 * fetcher swaps in a new set; verifications in flight keep the old one. */
typedef struct KeySet {
        atomic_uint n_ref;
        size_t n;
        JoseKey *keys[JWT_MAX_KEYS];
} KeySet;

typedef struct JwksRemote {
        char *url;
        char *protocol;                 /* "https" or "http" (loopback only) */
        uint64_t ttl_usec;
        uint64_t min_refetch_usec;
        long timeout_sec;

        pthread_mutex_t lock;
        pthread_cond_t cond;            /* CLOCK_MONOTONIC */
        KeySet *set;                    /* last good set, NULL before the first; guarded by lock */
        uint64_t fetched_usec;          /* last success (monotonic); guarded by lock */
        uint64_t attempt_usec;          /* last attempt; guarded by lock */
        bool refetch_requested;         /* guarded by lock */
        atomic_bool stop;
        bool thread_started;
        pthread_t thread;
        atomic_uint n_ok, n_fail;
} JwksRemote;

struct JwtVerifier {
        bool allowed[_JWS_ALG_MAX];
        char *audience;
        char *issuer;
        int64_t max_ttl_seconds;
        size_t max_token_bytes;
        size_t n_keys;
        JoseKey *keys[JWT_MAX_KEYS];
        JwksRemote *remote;             /* NULL = no JWKS URL */
};

static const char *const jws_alg_names[_JWS_ALG_MAX] = {
        [JWS_ALG_HS256] = "HS256",
        [JWS_ALG_RS256] = "RS256",
        [JWS_ALG_ES256] = "ES256",
        [JWS_ALG_EDDSA] = "EdDSA",
};

/* The order n of the P-256 group, big-endian (SEC 2 §2.4.2). */
static const uint8_t p256_order[32] = {
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

const char *jws_alg_to_string(JwsAlg a) {
        if ((int) a < 0 || a >= _JWS_ALG_MAX)
                return NULL;
        return jws_alg_names[a];
}

JwsAlg jws_alg_from_string(const char *s) {
        if (!s)
                return _JWS_ALG_INVALID;
        for (int i = 0; i < _JWS_ALG_MAX; i++)
                if (streq(s, jws_alg_names[i]))
                        return (JwsAlg) i;
        return _JWS_ALG_INVALID;
}

static JoseKey *jose_key_free(JoseKey *k) {
        if (!k)
                return NULL;
        free(k->kid);
        EVP_MD_CTX_free(k->tmpl);
        EVP_PKEY_free(k->pkey);
        hmac_key_free(k->hmac);
        free(k);
        return NULL;
}

static void jose_key_freep(JoseKey **k) {
        jose_key_free(*k);
}

static void evp_pkey_freep(EVP_PKEY **p) {
        EVP_PKEY_free(*p);
}

static void evp_pkey_ctx_freep(EVP_PKEY_CTX **p) {
        EVP_PKEY_CTX_free(*p);
}

static void evp_md_ctx_freep(EVP_MD_CTX **p) {
        EVP_MD_CTX_free(*p);
}

static void bn_freep(BIGNUM **p) {
        BN_free(*p);
}

static void param_bld_freep(OSSL_PARAM_BLD **p) {
        OSSL_PARAM_BLD_free(*p);
}

static void params_freep(OSSL_PARAM **p) {
        OSSL_PARAM_free(*p);
}

/* Wipes a decoded secret before freeing it (length known, may hold NULs). */
typedef struct SecretBuf {
        void *p;
        size_t n;
} SecretBuf;

static void secret_buf_done(SecretBuf *b) {
        if (b->p) {
                OPENSSL_cleanse(b->p, b->n);
                free(b->p);
        }
        b->p = NULL;
        b->n = 0;
}

static int set_detail(const char **ret_detail, int r, const char *detail) {
        if (ret_detail)
                *ret_detail = detail;
        return r;
}

static AuthError fail(const char **ret_detail, AuthError e, const char *detail) {
        if (ret_detail)
                *ret_detail = detail;
        return e;
}

int jwt_verifier_new(const JwtConfig *cfg, JwtVerifier **ret, const char **ret_detail) {
        JwtVerifier *v;

        assert(cfg);
        assert(ret);

        if (cfg->max_ttl_seconds < 0)
                return set_detail(ret_detail, -EINVAL, "max_ttl must not be negative");
        if (cfg->audience && (cfg->audience[0] == 0 || strlen(cfg->audience) > JWT_AUD_MAX))
                return set_detail(ret_detail, -EINVAL, "jwt.audience must be 1..256 bytes");
        if (cfg->issuer && cfg->issuer[0] == 0)
                return set_detail(ret_detail, -EINVAL, "jwt.issuer must not be empty");

        v = calloc(1, sizeof(*v));
        if (!v)
                return -ENOMEM;

        if (!cfg->allowed_algorithms) {
                for (int i = 0; i < _JWS_ALG_MAX; i++)
                        v->allowed[i] = true;
        } else {
                for (const char *const *a = cfg->allowed_algorithms; *a; a++) {
                        JwsAlg alg = jws_alg_from_string(*a);

                        /* "none" (in any spelling) and anything we cannot
                         * verify are configuration errors, not no-ops. */
                        if (alg < 0) {
                                free(v);
                                return set_detail(ret_detail, -EINVAL,
                                                  "jwt.allowed_algorithms: only HS256, RS256, ES256 and EdDSA "
                                                  "are supported");
                        }
                        v->allowed[alg] = true;
                }
        }

        v->max_ttl_seconds = cfg->max_ttl_seconds > 0 ? cfg->max_ttl_seconds : JWT_DEFAULT_MAX_TTL_SECONDS;
        v->max_token_bytes = cfg->max_token_bytes > 0 ? cfg->max_token_bytes : JWT_DEFAULT_MAX_TOKEN_BYTES;
        if (cfg->audience) {
                v->audience = strdup(cfg->audience);
                if (!v->audience) {
                        jwt_verifier_free(v);
                        return -ENOMEM;
                }
        }
        if (cfg->issuer) {
                v->issuer = strdup(cfg->issuer);
                if (!v->issuer) {
                        jwt_verifier_free(v);
                        return -ENOMEM;
                }
        }

        *ret = v;
        return 0;
}

static void jwks_remote_free(JwksRemote *r);

JwtVerifier *jwt_verifier_free(JwtVerifier *v) {
        if (!v)
                return NULL;
        /* First: stops the fetcher thread, which reads v->allowed. */
        jwks_remote_free(v->remote);
        for (size_t i = 0; i < v->n_keys; i++)
                jose_key_free(v->keys[i]);
        free(v->audience);
        free(v->issuer);
        free(v);
        return NULL;
}

size_t jwt_verifier_n_keys(const JwtVerifier *v) {
        return v ? v->n_keys : 0;
}

static bool kid_taken(const JwtVerifier *v, JoseKey *const *pending, size_t n_pending, const char *kid) {
        if (!kid)
                return false;
        for (size_t i = 0; i < v->n_keys; i++)
                if (streq_ptr(v->keys[i]->kid, kid))
                        return true;
        for (size_t i = 0; i < n_pending; i++)
                if (streq_ptr(pending[i]->kid, kid))
                        return true;
        return false;
}

static int jose_key_new_hmac(const void *secret, size_t len, const char *kid, JoseKey **ret,
                             const char **ret_detail) {
        _cleanup_(jose_key_freep) JoseKey *k = NULL;
        int r;

        /* A short HS256 key can be brute-forced offline from any one token. */
        if (len < JWT_HMAC_KEY_MIN_BYTES)
                return set_detail(ret_detail, -EINVAL, "HS256 key is shorter than 32 bytes");

        k = calloc(1, sizeof(*k));
        if (!k)
                return -ENOMEM;
        k->alg = JWS_ALG_HS256;
        k->sig_len = 32;
        if (kid) {
                k->kid = strdup(kid);
                if (!k->kid)
                        return -ENOMEM;
        }
        r = hmac_key_new(secret, len, &k->hmac);
        if (r < 0)
                return set_detail(ret_detail, r, "failed to set up the HS256 key");

        *ret = TAKE_PTR(k);
        return 0;
}

int jwt_verifier_add_hmac_secret(JwtVerifier *v, const void *secret, size_t len, const char *kid,
                                 const char **ret_detail) {
        JoseKey *k = NULL;
        int r;

        assert(v);

        if (!secret)
                return set_detail(ret_detail, -EINVAL, "no HS256 secret");
        if (!v->allowed[JWS_ALG_HS256])
                return set_detail(ret_detail, -EINVAL, "an HS256 secret is configured but HS256 is not allowed");
        if (kid && (kid[0] == 0 || strlen(kid) > JWT_KID_MAX))
                return set_detail(ret_detail, -EINVAL, "kid must be 1..256 bytes");
        if (kid_taken(v, NULL, 0, kid))
                return set_detail(ret_detail, -EEXIST, "duplicate kid");
        if (v->n_keys >= JWT_MAX_KEYS)
                return set_detail(ret_detail, -E2BIG, "too many JWT keys");

        r = jose_key_new_hmac(secret, len, kid, &k, ret_detail);
        if (r < 0)
                return r;

        v->keys[v->n_keys++] = k;
        return 0;
}

/* JWK member that must be a base64url string when present; decoded into a
 * new buffer. -ENOENT when absent. */
static int jwk_get_b64(json_t *jwk, const char *name, size_t max, SecretBuf *ret) {
        json_t *m = json_object_get(jwk, name); /* borrowed */
        void *p = NULL;
        size_t n = 0;
        int r;

        if (!m)
                return -ENOENT;
        if (!json_is_string(m) || json_string_length(m) == 0)
                return -EINVAL;
        r = base64url_decode_alloc(json_string_value(m), json_string_length(m), max, &p, &n);
        if (r < 0)
                return r == -ENOMEM ? -ENOMEM : -EINVAL;
        ret->p = p;
        ret->n = n;
        return 0;
}

static int pkey_public_check(EVP_PKEY *pkey) {
        _cleanup_(evp_pkey_ctx_freep) EVP_PKEY_CTX *c = NULL;

        c = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        if (!c)
                return -ENOMEM;
        return EVP_PKEY_public_check(c) == 1 ? 0 : -EINVAL;
}

static int pkey_fromdata(const char *type, OSSL_PARAM *params, EVP_PKEY **ret) {
        _cleanup_(evp_pkey_ctx_freep) EVP_PKEY_CTX *c = NULL;
        EVP_PKEY *pkey = NULL;

        c = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
        if (!c)
                return -EIO;
        if (EVP_PKEY_fromdata_init(c) != 1 || EVP_PKEY_fromdata(c, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
                return -EINVAL;
        *ret = pkey;
        return 0;
}

static int jwk_rsa(json_t *jwk, JoseKey *k, const char **ret_detail) {
        _cleanup_(secret_buf_done) SecretBuf n = {}, e = {};
        _cleanup_(bn_freep) BIGNUM *bn_n = NULL, *bn_e = NULL;
        _cleanup_(param_bld_freep) OSSL_PARAM_BLD *bld = NULL;
        _cleanup_(params_freep) OSSL_PARAM *params = NULL;
        _cleanup_(evp_pkey_freep) EVP_PKEY *pkey = NULL;
        int bits, r;

        r = jwk_get_b64(jwk, "n", JWT_RSA_MAX_BITS / 8 + 1, &n);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return set_detail(ret_detail, -EINVAL, "RSA JWK: n missing, malformed or too large");
        r = jwk_get_b64(jwk, "e", 8, &e);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return set_detail(ret_detail, -EINVAL, "RSA JWK: e missing or malformed");

        bn_n = BN_bin2bn(n.p, (int) n.n, NULL);
        bn_e = BN_bin2bn(e.p, (int) e.n, NULL);
        if (!bn_n || !bn_e)
                return -ENOMEM;

        bits = BN_num_bits(bn_n);
        /* RSA below 2048 bits is factorable by well-funded attackers; above
         * 8192 only costs us CPU per verification. */
        if (bits < JWT_RSA_MIN_BITS)
                return set_detail(ret_detail, -EINVAL, "RSA JWK: modulus is smaller than 2048 bits");
        if (bits > JWT_RSA_MAX_BITS)
                return set_detail(ret_detail, -EINVAL, "RSA JWK: modulus is larger than 8192 bits");
        if (!BN_is_odd(bn_n) || !BN_is_odd(bn_e) || BN_num_bits(bn_e) < 2 || BN_num_bits(bn_e) > 33)
                return set_detail(ret_detail, -EINVAL, "RSA JWK: implausible modulus or exponent");

        bld = OSSL_PARAM_BLD_new();
        if (!bld)
                return -ENOMEM;
        if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) != 1 ||
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) != 1)
                return -ENOMEM;
        params = OSSL_PARAM_BLD_to_param(bld);
        if (!params)
                return -ENOMEM;
        r = pkey_fromdata("RSA", params, &pkey);
        if (r < 0)
                return set_detail(ret_detail, r, "RSA JWK: OpenSSL refused the key");

        k->alg = JWS_ALG_RS256;
        k->sig_len = (size_t) EVP_PKEY_get_size(pkey);
        if (k->sig_len != (size_t) (bits + 7) / 8)
                return set_detail(ret_detail, -EINVAL, "RSA JWK: unexpected key size");
        k->pkey = TAKE_PTR(pkey);
        return 0;
}

static int jwk_ec(json_t *jwk, JoseKey *k, const char **ret_detail) {
        _cleanup_(secret_buf_done) SecretBuf x = {}, y = {};
        _cleanup_(evp_pkey_freep) EVP_PKEY *pkey = NULL;
        uint8_t point[65];
        OSSL_PARAM params[3];
        int r;

        /* RFC 7518 §6.2.1.2: x and y are exactly the field size, 32 bytes. */
        if (jwk_get_b64(jwk, "x", 33, &x) < 0 || x.n != 32 || jwk_get_b64(jwk, "y", 33, &y) < 0 || y.n != 32)
                return set_detail(ret_detail, -EINVAL, "EC JWK: x and y must be 32 bytes each");

        point[0] = 0x04; /* uncompressed */
        memcpy(point + 1, x.p, 32);
        memcpy(point + 33, y.p, 32);

        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *) "prime256v1", 0);
        params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point));
        params[2] = OSSL_PARAM_construct_end();

        r = pkey_fromdata("EC", params, &pkey);
        if (r < 0)
                return set_detail(ret_detail, r, "EC JWK: not a point on P-256");
        /* Off-curve or infinity points enable invalid-curve attacks. */
        r = pkey_public_check(pkey);
        if (r < 0)
                return set_detail(ret_detail, r, "EC JWK: not a valid P-256 public key");

        k->alg = JWS_ALG_ES256;
        k->sig_len = 64;
        k->pkey = TAKE_PTR(pkey);
        return 0;
}

static int jwk_ed25519(json_t *jwk, JoseKey *k, const char **ret_detail) {
        _cleanup_(secret_buf_done) SecretBuf x = {};
        EVP_PKEY *pkey;

        if (jwk_get_b64(jwk, "x", 33, &x) < 0 || x.n != 32)
                return set_detail(ret_detail, -EINVAL, "OKP JWK: x must be 32 bytes");

        pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x.p, x.n);
        if (!pkey)
                return set_detail(ret_detail, -EINVAL, "OKP JWK: OpenSSL refused the Ed25519 key");

        k->alg = JWS_ALG_EDDSA;
        k->sig_len = 64;
        k->pkey = pkey;
        return 0;
}

static int jwk_oct(json_t *jwk, JoseKey **ret, const char *kid, const char **ret_detail) {
        _cleanup_(secret_buf_done) SecretBuf s = {};
        int r;

        r = jwk_get_b64(jwk, "k", 4096, &s);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return set_detail(ret_detail, -EINVAL, "oct JWK: k missing or malformed");
        return jose_key_new_hmac(s.p, s.n, kid, ret, ret_detail);
}

/* Fetched once (and kept for the process lifetime): EVP_sha256() makes
 * every init look the implementation up again. */
static EVP_MD *sha256_fetched;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void) {
        sha256_fetched = EVP_MD_fetch(NULL, "SHA2-256", NULL);
}

static const EVP_MD *sha256_md(void) {
        (void) pthread_once(&sha256_once, sha256_fetch);
        return sha256_fetched;
}

/* Builds the copy-only verification template of an RS256 / ES256 key. */
static int jose_key_prepare(JoseKey *k) {
        const EVP_MD *md;

        if (k->alg != JWS_ALG_RS256 && k->alg != JWS_ALG_ES256)
                return 0;
        md = sha256_md();
        if (!md)
                return -EIO;
        k->tmpl = EVP_MD_CTX_new();
        if (!k->tmpl)
                return -ENOMEM;
        /* PKCS#1 v1.5 is the default padding for RSA verification. */
        if (EVP_DigestVerifyInit(k->tmpl, NULL, md, NULL, k->pkey) != 1)
                return -EIO;
        return 0;
}

/* Optional string member; -EINVAL when present with another type. */
static int jwk_get_string(json_t *jwk, const char *name, const char **ret) {
        json_t *m = json_object_get(jwk, name); /* borrowed */

        *ret = NULL;
        if (!m)
                return 0;
        if (!json_is_string(m))
                return -EINVAL;
        *ret = json_string_value(m);
        return 0;
}

/* Parses one JWK. Returns 1 and *ret on success, 0 for a key to skip,
 * negative errno to refuse the whole set. */
static int jwk_parse(const bool allowed[static _JWS_ALG_MAX], json_t *jwk, JoseKey **ret,
                     const char **ret_detail) {
        static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi", "oth" };
        _cleanup_(jose_key_freep) JoseKey *k = NULL;
        const char *kty, *crv, *use, *alg, *kid;
        JwsAlg expected;
        int r;

        if (!json_is_object(jwk))
                return set_detail(ret_detail, -EINVAL, "JWKS: every key must be a JSON object");
        if (jwk_get_string(jwk, "kty", &kty) < 0 || !kty)
                return set_detail(ret_detail, -EINVAL, "JWK: kty missing or not a string");
        if (jwk_get_string(jwk, "crv", &crv) < 0 || jwk_get_string(jwk, "use", &use) < 0 ||
            jwk_get_string(jwk, "alg", &alg) < 0 || jwk_get_string(jwk, "kid", &kid) < 0)
                return set_detail(ret_detail, -EINVAL, "JWK: crv, use, alg and kid must be strings");
        if (kid && (kid[0] == 0 || strlen(kid) > JWT_KID_MAX))
                return set_detail(ret_detail, -EINVAL, "JWK: kid must be 1..256 bytes");

        if (streq(kty, "RSA"))
                expected = JWS_ALG_RS256;
        else if (streq(kty, "EC") && streq_ptr(crv, "P-256"))
                expected = JWS_ALG_ES256;
        else if (streq(kty, "OKP") && streq_ptr(crv, "Ed25519"))
                expected = JWS_ALG_EDDSA;
        else if (streq(kty, "oct"))
                expected = JWS_ALG_HS256;
        else
                return 0; /* unknown kty / crv: skipped, counted */

        /* Encryption keys are not for us (RFC 7517 §4.2). */
        if (use && !streq(use, "sig"))
                return 0;

        /* The JWK's own alg, when it has one, must name the one algorithm we
         * derive from its type: a mismatch means the operator (or the IdP)
         * expects something we would not do. */
        if (alg && jws_alg_from_string(alg) != expected)
                return set_detail(ret_detail, -EINVAL, "JWK: alg does not match the key type");

        /* A public key set holding private keys leaked them to whoever could
         * read it: refuse rather than quietly use the public part. */
        if (expected != JWS_ALG_HS256)
                for (size_t i = 0; i < ELEMENTSOF(private_members); i++)
                        if (json_object_get(jwk, private_members[i]))
                                return set_detail(ret_detail, -EINVAL,
                                                  "JWK: private key material in a JWKS; publish public keys only");

        if (!allowed[expected])
                return 0;

        if (expected == JWS_ALG_HS256) {
                r = jwk_oct(jwk, &k, kid, ret_detail);
                if (r < 0)
                        return r;
                *ret = TAKE_PTR(k);
                return 1;
        }

        k = calloc(1, sizeof(*k));
        if (!k)
                return -ENOMEM;
        if (kid) {
                k->kid = strdup(kid);
                if (!k->kid)
                        return -ENOMEM;
        }

        switch (expected) {
        case JWS_ALG_RS256:
                r = jwk_rsa(jwk, k, ret_detail);
                break;
        case JWS_ALG_ES256:
                r = jwk_ec(jwk, k, ret_detail);
                break;
        case JWS_ALG_EDDSA:
                r = jwk_ed25519(jwk, k, ret_detail);
                break;
        default:
                r = -EINVAL;
        }
        if (r < 0)
                return r;
        r = jose_key_prepare(k);
        if (r < 0)
                return set_detail(ret_detail, r, "JWK: OpenSSL could not set up verification with the key");

        *ret = TAKE_PTR(k);
        return 1;
}

int jwt_verifier_add_jwks(JwtVerifier *v, const char *json, size_t len, unsigned *ret_skipped,
                          const char **ret_detail) {
        JoseKey *pending[JWT_MAX_KEYS] = {};
        _cleanup_json_ json_t *root = NULL;
        size_t n_pending = 0, i;
        unsigned skipped = 0;
        json_t *keys, *jwk; /* borrowed */
        json_error_t jerr;
        int r = 0;

        assert(v);

        if (!json || len == 0)
                return set_detail(ret_detail, -EINVAL, "JWKS is empty");
        if (len > JWT_JWKS_MAX_BYTES)
                return set_detail(ret_detail, -E2BIG, "JWKS is larger than 1 MiB");

        root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root || !json_is_object(root))
                return set_detail(ret_detail, -EINVAL, "JWKS is not a JSON object (duplicate members are refused)");
        keys = json_object_get(root, "keys");
        if (!json_is_array(keys))
                return set_detail(ret_detail, -EINVAL, "JWKS has no \"keys\" array");

        json_array_foreach(keys, i, jwk) {
                JoseKey *k = NULL;

                r = jwk_parse(v->allowed, jwk, &k, ret_detail);
                if (r < 0)
                        goto fail;
                if (r == 0) {
                        skipped++;
                        continue;
                }
                if (kid_taken(v, pending, n_pending, k->kid)) {
                        jose_key_free(k);
                        r = set_detail(ret_detail, -EINVAL, "JWKS: duplicate kid");
                        goto fail;
                }
                if (v->n_keys + n_pending >= JWT_MAX_KEYS) {
                        jose_key_free(k);
                        r = set_detail(ret_detail, -E2BIG, "JWKS: more than 64 keys");
                        goto fail;
                }
                pending[n_pending++] = k;
        }

        for (i = 0; i < n_pending; i++)
                v->keys[v->n_keys++] = pending[i];
        if (ret_skipped)
                *ret_skipped = skipped;
        if (ret_detail)
                *ret_detail = NULL;
        return 0;

fail:
        for (i = 0; i < n_pending; i++)
                jose_key_free(pending[i]);
        return r;
}

int jwt_verifier_add_jwks_file(JwtVerifier *v, const char *path, unsigned *ret_skipped,
                               const char **ret_detail) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0;
        struct stat st;

        assert(v);
        assert(path);

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return set_detail(ret_detail, -errno, "cannot open the JWKS file");
        if (fstat(fd, &st) < 0)
                return set_detail(ret_detail, -errno, "cannot stat the JWKS file");
        if (!S_ISREG(st.st_mode))
                return set_detail(ret_detail, -EINVAL, "the JWKS file is not a regular file");
        /* Who can change the keys can mint tokens. */
        if (st.st_mode & 0022)
                return set_detail(ret_detail, -EPERM, "the JWKS file is writable by group or others");
        if (st.st_size > (off_t) JWT_JWKS_MAX_BYTES)
                return set_detail(ret_detail, -E2BIG, "the JWKS file is larger than 1 MiB");

        buf = malloc(JWT_JWKS_MAX_BYTES + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf + n, JWT_JWKS_MAX_BYTES + 1 - n);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return set_detail(ret_detail, -errno, "cannot read the JWKS file");
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > JWT_JWKS_MAX_BYTES)
                        return set_detail(ret_detail, -E2BIG, "the JWKS file is larger than 1 MiB");
        }

        return jwt_verifier_add_jwks(v, buf, n, ret_skipped, ret_detail);
}

/* --- JWKS URL ------------------------------------------------------------ */

static KeySet *keyset_unref(KeySet *s) {
        if (!s)
                return NULL;
        if (atomic_fetch_sub(&s->n_ref, 1) != 1)
                return NULL;
        for (size_t i = 0; i < s->n; i++)
                jose_key_free(s->keys[i]);
        free(s);
        return NULL;
}

static void keyset_unrefp(KeySet **s) {
        keyset_unref(*s);
}

/* A new reference to the current fetched set, or NULL. */
static KeySet *jwks_snapshot(JwksRemote *r) {
        KeySet *s;

        pthread_mutex_lock(&r->lock);
        s = r->set;
        if (s)
                atomic_fetch_add(&s->n_ref, 1);
        pthread_mutex_unlock(&r->lock);
        return s;
}

static void jwks_request_refetch(JwksRemote *r) {
        pthread_mutex_lock(&r->lock);
        if (!r->refetch_requested) {
                r->refetch_requested = true;
                pthread_cond_signal(&r->cond);
        }
        pthread_mutex_unlock(&r->lock);
}

/* https anywhere; plain http only to a loopback address (a local IdP or a
 * test). No user info ("http://127.0.0.1@evil/" tricks). */
static int jwks_url_check(const char *url, char **ret_protocol, const char **ret_detail) {
        CURLU *u;
        char *scheme = NULL, *host = NULL, *user = NULL;
        int r = 0;

        if (strnlen(url, 2049) > 2048)
                return set_detail(ret_detail, -EINVAL, "jwt.jwks_url is too long");
        for (const char *p = url; *p; p++)
                if ((unsigned char) *p <= 0x20 || *p == 0x7f)
                        return set_detail(ret_detail, -EINVAL, "jwt.jwks_url contains whitespace or control characters");

        u = curl_url();
        if (!u)
                return -ENOMEM;
        if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
                r = set_detail(ret_detail, -EINVAL, "jwt.jwks_url is not a valid URL");
                goto out;
        }
        if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
                r = set_detail(ret_detail, -EINVAL, "jwt.jwks_url must not contain user information");
                goto out;
        }
        if (strcasecmp(scheme, "https") == 0) {
                *ret_protocol = strdup("https");
        } else if (strcasecmp(scheme, "http") == 0 &&
                   (streq(host, "127.0.0.1") || streq(host, "[::1]") || strcasecmp(host, "localhost") == 0)) {
                *ret_protocol = strdup("http");
        } else {
                r = set_detail(ret_detail, -EINVAL, "jwt.jwks_url must be https (plain http only to loopback)");
                goto out;
        }
        if (!*ret_protocol)
                r = -ENOMEM;
out:
        curl_free(scheme);
        curl_free(host);
        curl_free(user);
        curl_url_cleanup(u);
        return r;
}

typedef struct FetchBuf {
        char *p;
        size_t n;
} FetchBuf;

static size_t jwks_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata) {
        FetchBuf *b = userdata;
        size_t k;

        /* size is always 1 for curl write callbacks; refuse anything else. */
        if (size != 1)
                return 0;
        k = nmemb;
        if (k > JWT_JWKS_MAX_BYTES - b->n)
                return 0; /* too large: curl aborts with CURLE_WRITE_ERROR */
        memcpy(b->p + b->n, ptr, k);
        b->n += k;
        return k;
}

static int jwks_progress_cb(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                            curl_off_t ulnow) {
        JwksRemote *r = clientp;

        /* Shutdown must not wait out a slow IdP. */
        return atomic_load(&r->stop) ? 1 : 0;
}

/* Fetches and parses the JWKS. Returns 0 and a new set (one reference), or
 * a negative errno with *ret_detail. Runs without the lock held. */
static int jwks_fetch(const JwtVerifier *v, KeySet **ret, const char **ret_detail) {
        JwksRemote *r = v->remote;
        _cleanup_free_ char *buf = NULL;
        _cleanup_json_ json_t *root = NULL;
        KeySet *set = NULL;
        FetchBuf fb;
        json_t *keys, *jwk; /* borrowed */
        json_error_t jerr;
        long status = 0;
        CURLcode cc;
        CURL *c;
        size_t i;
        int k = 0;

        buf = malloc(JWT_JWKS_MAX_BYTES);
        if (!buf)
                return -ENOMEM;
        fb = (FetchBuf) { .p = buf, .n = 0 };

        c = curl_easy_init();
        if (!c)
                return set_detail(ret_detail, -ENOMEM, "curl_easy_init failed");
        if (curl_easy_setopt(c, CURLOPT_URL, r->url) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, r->protocol) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_TIMEOUT, r->timeout_sec) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, r->timeout_sec) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) JWT_JWKS_MAX_BYTES) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, jwks_write_cb) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_WRITEDATA, &fb) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, jwks_progress_cb) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_XFERINFODATA, r) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_USERAGENT, "systemmanager-jwks/" SM_VERSION) != CURLE_OK) {
                curl_easy_cleanup(c);
                return set_detail(ret_detail, -EIO, "curl_easy_setopt failed");
        }
        cc = curl_easy_perform(c);
        if (cc == CURLE_OK)
                (void) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(c);
        if (cc != CURLE_OK)
                return set_detail(ret_detail, -EIO, curl_easy_strerror(cc));
        if (status != 200)
                return set_detail(ret_detail, -EIO, "the JWKS URL did not answer 200");

        root = json_loadb(buf, fb.n, JSON_REJECT_DUPLICATES, &jerr);
        if (!root || !json_is_object(root))
                return set_detail(ret_detail, -EINVAL, "the fetched JWKS is not a JSON object");
        keys = json_object_get(root, "keys");
        if (!json_is_array(keys))
                return set_detail(ret_detail, -EINVAL, "the fetched JWKS has no \"keys\" array");

        set = calloc(1, sizeof(*set));
        if (!set)
                return -ENOMEM;
        atomic_init(&set->n_ref, 1);

        json_array_foreach(keys, i, jwk) {
                JoseKey *key = NULL;

                k = jwk_parse(v->allowed, jwk, &key, ret_detail);
                if (k < 0)
                        break;
                if (k == 0)
                        continue;
                if (set->n >= JWT_MAX_KEYS) {
                        jose_key_free(key);
                        k = set_detail(ret_detail, -E2BIG, "the fetched JWKS has more than 64 keys");
                        break;
                }
                for (size_t j = 0; j < set->n && key->kid; j++)
                        if (streq_ptr(set->keys[j]->kid, key->kid)) {
                                k = set_detail(ret_detail, -EINVAL, "the fetched JWKS has duplicate kids");
                                break;
                        }
                if (k < 0) {
                        jose_key_free(key);
                        break;
                }
                set->keys[set->n++] = key;
        }
        if (k >= 0 && set->n == 0)
                k = set_detail(ret_detail, -ENOKEY, "the fetched JWKS has no usable key");
        if (k < 0) {
                keyset_unref(set);
                return k;
        }

        *ret = set;
        return 0;
}

/* One fetch; on success the new set replaces the old one, on failure the
 * last good set stays. Returns the fetch result. */
static int jwks_refresh(const JwtVerifier *v, const char **ret_detail) {
        JwksRemote *r = v->remote;
        KeySet *set = NULL, *old;
        int k;

        k = jwks_fetch(v, &set, ret_detail);
        if (k < 0) {
                atomic_fetch_add(&r->n_fail, 1);
                return k;
        }

        pthread_mutex_lock(&r->lock);
        old = r->set;
        r->set = set;
        r->fetched_usec = now_usec();
        pthread_mutex_unlock(&r->lock);
        keyset_unref(old);
        atomic_fetch_add(&r->n_ok, 1);
        return 0;
}

static void *jwks_thread(void *arg) {
        const JwtVerifier *v = arg;
        JwksRemote *r = v->remote;

        pthread_mutex_lock(&r->lock);
        while (!atomic_load(&r->stop)) {
                uint64_t now = now_usec(), earliest = r->attempt_usec + r->min_refetch_usec, due;

                /* Refresh when the TTL ran out; retry a failure no sooner
                 * than the refetch interval; an unknown kid pulls the next
                 * fetch forward to the interval, never closer. */
                due = r->set ? r->fetched_usec + r->ttl_usec : earliest;
                if (due < earliest || r->refetch_requested)
                        due = earliest;

                if (now >= due) {
                        const char *detail = NULL;
                        size_t had;
                        int k;

                        r->attempt_usec = now;
                        r->refetch_requested = false;
                        had = r->set ? r->set->n : 0;
                        pthread_mutex_unlock(&r->lock);

                        k = jwks_refresh(v, &detail);
                        if (k < 0)
                                log_warning("JWKS fetch from %s failed: %s; %s", r->url, detail ? detail : "error",
                                            had > 0 ? "keeping the last good key set" : "no keys yet");
                        else
                                log_debug("JWKS fetched from %s", r->url);

                        pthread_mutex_lock(&r->lock);
                        continue;
                }

                struct timespec ts = {
                        .tv_sec = (time_t) (due / 1000000),
                        .tv_nsec = (long) (due % 1000000) * 1000,
                };
                (void) pthread_cond_timedwait(&r->cond, &r->lock, &ts);
        }
        pthread_mutex_unlock(&r->lock);
        return NULL;
}

static void jwks_remote_free(JwksRemote *r) {
        if (!r)
                return;
        if (r->thread_started) {
                atomic_store(&r->stop, true);
                pthread_mutex_lock(&r->lock);
                pthread_cond_signal(&r->cond);
                pthread_mutex_unlock(&r->lock);
                pthread_join(r->thread, NULL);
        }
        keyset_unref(r->set);
        pthread_cond_destroy(&r->cond);
        pthread_mutex_destroy(&r->lock);
        free(r->url);
        free(r->protocol);
        free(r);
}

int jwt_verifier_set_jwks_url(JwtVerifier *v, const JwksUrlConfig *cfg, const char **ret_detail) {
        _cleanup_free_ char *protocol = NULL;
        pthread_condattr_t attr;
        JwksRemote *r;
        int64_t ttl, timeout, min_refetch;
        int k;

        assert(v);
        assert(cfg);

        if (v->remote)
                return set_detail(ret_detail, -EEXIST, "a JWKS URL is already configured");
        if (!cfg->url)
                return set_detail(ret_detail, -EINVAL, "no JWKS URL");
        ttl = cfg->cache_ttl_seconds > 0 ? cfg->cache_ttl_seconds : 3600;
        timeout = cfg->fetch_timeout_seconds > 0 ? cfg->fetch_timeout_seconds : 5;
        min_refetch = cfg->min_refetch_seconds > 0 ? cfg->min_refetch_seconds : (ttl < 30 ? ttl : 30);
        if (ttl > 7 * 24 * 3600 || timeout > 600 || min_refetch > ttl)
                return set_detail(ret_detail, -EINVAL, "JWKS cache TTL, fetch timeout or refetch interval out of range");

        k = jwks_url_check(cfg->url, &protocol, ret_detail);
        if (k < 0)
                return k;

        /* Idempotent and reference counted; called here, at configuration
         * time on the main thread, before any fetcher thread exists. */
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return set_detail(ret_detail, -EIO, "curl_global_init failed");

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        if (pthread_mutex_init(&r->lock, NULL) != 0) {
                free(r);
                return -ENOMEM;
        }
        if (pthread_condattr_init(&attr) != 0 || pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
            pthread_cond_init(&r->cond, &attr) != 0) {
                pthread_mutex_destroy(&r->lock);
                free(r);
                return -ENOMEM;
        }
        pthread_condattr_destroy(&attr);

        r->url = strdup(cfg->url);
        if (!r->url) {
                jwks_remote_free(r);
                return -ENOMEM;
        }
        r->protocol = TAKE_PTR(protocol);
        r->ttl_usec = (uint64_t) ttl * 1000000;
        r->min_refetch_usec = (uint64_t) min_refetch * 1000000;
        r->timeout_sec = (long) timeout;
        v->remote = r;
        return 0;
}

int jwt_verifier_start_jwks_fetcher(JwtVerifier *v, int *ret_initial, const char **ret_initial_detail) {
        JwksRemote *r;
        const char *detail = NULL;
        int k;

        assert(v);

        r = v->remote;
        if (!r)
                return -ENOENT;
        if (r->thread_started)
                return -EALREADY;

        /* One synchronous fetch first, so that a reachable IdP's keys work
         * from the first request on; an unreachable one does not stop the
         * start (the fetcher keeps trying). */
        r->attempt_usec = now_usec();
        k = jwks_refresh(v, &detail);
        if (ret_initial)
                *ret_initial = k;
        if (ret_initial_detail)
                *ret_initial_detail = k < 0 ? detail : NULL;

        if (pthread_create(&r->thread, NULL, jwks_thread, v) != 0)
                return -EAGAIN;
        r->thread_started = true;
        return 0;
}

size_t jwt_verifier_n_remote_keys(const JwtVerifier *v) {
        KeySet *s;
        size_t n;

        if (!v || !v->remote)
                return 0;
        s = jwks_snapshot(v->remote);
        n = s ? s->n : 0;
        keyset_unref(s);
        return n;
}

bool jwt_verifier_has_jwks_url(const JwtVerifier *v) {
        return v && v->remote;
}

/* Decodes one segment strictly and parses it as a JSON object: no duplicate
 * members, no "\u0000" (no JSON_ALLOW_NUL), valid UTF-8 (jansson), the
 * object starting at the first byte and ending at the last: no leading or
 * trailing bytes at all, whitespace included. */
static int segment_to_object(const char *seg, size_t len, size_t max, json_t **ret) {
        _cleanup_free_ void *decoded = NULL;
        size_t decoded_len = 0;
        json_t *j;
        json_error_t jerr;
        int r;

        r = base64url_decode_alloc(seg, len, max, &decoded, &decoded_len);
        if (r < 0)
                return r == -ENOMEM ? -ENOMEM : -EBADMSG;
        if (decoded_len == 0 || ((const char *) decoded)[0] != '{')
                return -EINVAL;

        j = json_loadb(decoded, decoded_len, JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK, &jerr);
        if (!j)
                return json_error_code(&jerr) == json_error_duplicate_key ? -ENOTUNIQ : -EINVAL;
        if (!json_is_object(j) || (size_t) jerr.position != decoded_len) {
                json_decref(j);
                return -EINVAL;
        }
        *ret = j;
        return 0;
}

static AuthError segment_error(const char **ret_detail, int r, bool header) {
        switch (r) {
        case -ENOMEM:
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "internal error: out of memory");
        case -EBADMSG:
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN,
                            header ? "header is not canonical unpadded base64url"
                                   : "payload is not canonical unpadded base64url");
        case -ENOTUNIQ:
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN,
                            header ? "duplicate member in header" : "duplicate claim in payload");
        default:
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN,
                            header ? "header is not exactly one JSON object"
                                   : "payload is not exactly one JSON object");
        }
}

static bool typ_ok(const char *typ) {
        static const char *const ok[] = { "JWT", "at+jwt", "application/jwt", "application/at+jwt" };

        for (size_t i = 0; i < ELEMENTSOF(ok); i++)
                if (strcasecmp(typ, ok[i]) == 0)
                        return true;
        return false;
}

/* Header policy. Only the members below mean anything to us; jwk, jku, x5c,
 * x5u, x5t are deliberately never looked at: a key named by the token is a
 * key chosen by the attacker. */
static AuthError check_header(const JwtVerifier *v, json_t *h, JwsAlg *ret_alg, const char **ret_kid,
                              const char **ret_detail) {
        json_t *m; /* borrowed */
        const char *s;
        JwsAlg alg;

        m = json_object_get(h, "alg");
        if (!m)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "header has no alg");
        if (!json_is_string(m))
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "alg is not a string");
        s = json_string_value(m);
        alg = jws_alg_from_string(s);
        if (alg < 0)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN,
                            strcasecmp(s, "none") == 0 ? "alg none is never accepted" : "unsupported alg");
        if (!v->allowed[alg])
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "alg is not in jwt.allowed_algorithms");

        /* RFC 7515 §4.1.11: a recipient must reject a token whose crit names
         * an extension it does not implement. We implement none, so any crit
         * (well-formed or not) is a rejection. */
        if (json_object_get(h, "crit"))
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "crit header parameters are not supported");

        /* RFC 7797 unencoded payloads change what is signed. */
        m = json_object_get(h, "b64");
        if (m && !json_is_true(m))
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "b64 other than true is not supported");

        /* JWE and compressed or nested tokens are not JWS-signed JWTs. */
        if (json_object_get(h, "enc") || json_object_get(h, "zip"))
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "encrypted (JWE) tokens are not supported");
        if (json_object_get(h, "cty"))
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "nested tokens (cty) are not supported");

        m = json_object_get(h, "typ");
        if (m && (!json_is_string(m) || !typ_ok(json_string_value(m))))
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "typ must be JWT or at+jwt");

        *ret_kid = NULL;
        m = json_object_get(h, "kid");
        if (m) {
                if (!json_is_string(m) || json_string_length(m) == 0 || json_string_length(m) > JWT_KID_MAX)
                        return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "kid must be a string of 1..256 bytes");
                *ret_kid = json_string_value(m);
        }

        *ret_alg = alg;
        return AUTH_OK;
}

/* The key decides: a kid must name a key, and that key's algorithm must be
 * the header's; without a kid there must be exactly one key of that
 * algorithm. Static keys are searched first, then the fetched set (may be
 * NULL). *ret_missing is set when no key was found at all (a reason to look
 * at the JWKS URL again). */
static AuthError select_key(const JwtVerifier *v, const KeySet *remote, JwsAlg alg, const char *kid,
                            const JoseKey **ret, bool *ret_missing, const char **ret_detail) {
        JoseKey *const *lists[2] = { v->keys, remote ? remote->keys : NULL };
        size_t sizes[2] = { v->n_keys, remote ? remote->n : 0 };
        const JoseKey *found = NULL;
        size_t n = 0;

        *ret_missing = false;

        if (kid) {
                for (size_t l = 0; l < 2 && !found; l++)
                        for (size_t i = 0; i < sizes[l]; i++)
                                if (streq_ptr(lists[l][i]->kid, kid)) {
                                        found = lists[l][i];
                                        break;
                                }
                if (!found) {
                        *ret_missing = true;
                        return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "unknown kid");
                }
                if (found->alg != alg)
                        return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "alg does not match the key");
                *ret = found;
                return AUTH_OK;
        }

        for (size_t l = 0; l < 2; l++)
                for (size_t i = 0; i < sizes[l]; i++)
                        if (lists[l][i]->alg == alg) {
                                found = lists[l][i];
                                n++;
                        }
        if (n == 0) {
                *ret_missing = true;
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "no key for this alg");
        }
        if (n > 1)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "kid required: several keys for this alg");
        *ret = found;
        return AUTH_OK;
}

/* 0 < x < n for a 32-byte big-endian x (public values: plain compare). */
static bool p256_scalar_ok(const uint8_t x[static 32]) {
        bool nonzero = false;

        for (size_t i = 0; i < 32; i++)
                if (x[i] != 0)
                        nonzero = true;
        if (!nonzero)
                return false;
        for (size_t i = 0; i < 32; i++) {
                if (x[i] < p256_order[i])
                        return true;
                if (x[i] > p256_order[i])
                        return false;
        }
        return false; /* x == n */
}

/* One DER INTEGER from a 32-byte big-endian non-zero value: minimal
 * length (leading zeros dropped), a 0x00 prefix when the top bit is set. */
static size_t der_integer(const uint8_t v[static 32], uint8_t *out) {
        size_t i = 0, n, o = 0;

        while (i < 31 && v[i] == 0)
                i++;
        n = 32 - i;
        out[o++] = 0x02;
        out[o++] = (uint8_t) (n + (v[i] & 0x80 ? 1 : 0));
        if (v[i] & 0x80)
                out[o++] = 0x00;
        memcpy(out + o, v + i, n);
        return o + n;
}

/* Raw r‖s (RFC 7518 §3.4) into a DER ECDSA-Sig-Value for EVP, without
 * allocating: at most 2 + 2 * (2 + 33) = 72 bytes, so short-form lengths. */
static size_t es256_to_der(const uint8_t sig[static 64], uint8_t out[static 72]) {
        size_t n;

        n = der_integer(sig, out + 2);
        n += der_integer(sig + 32, out + 2 + n);
        out[0] = 0x30;
        out[1] = (uint8_t) n;
        return n + 2;
}

static AuthError verify_signature(const JoseKey *k, const char *signing_input, size_t signing_len,
                                  const uint8_t *sig, size_t sig_len, const char **ret_detail) {
        _cleanup_(evp_md_ctx_freep) EVP_MD_CTX *md = NULL;
        uint8_t der[72];
        size_t der_len;
        int ok;

        /* Length first, for every algorithm: the compare and the crypto only
         * ever see signatures of the key's exact size. */
        if (sig_len != k->sig_len)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "signature has the wrong length for the key");

        if (k->alg == JWS_ALG_HS256) {
                char expected[65], given[65];
                int cmp;

                if (hmac_key_sign_hex(k->hmac, signing_input, signing_len, expected) < 0 ||
                    hex_encode(sig, 32, given, sizeof(given)) < 0)
                        return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "internal error: HMAC failed");
                /* Constant time: no early exit that leaks a matching prefix. */
                cmp = CRYPTO_memcmp(expected, given, 64);
                OPENSSL_cleanse(expected, sizeof(expected));
                OPENSSL_cleanse(given, sizeof(given));
                if (cmp != 0)
                        return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "signature mismatch");
                return AUTH_OK;
        }

        md = EVP_MD_CTX_new();
        if (!md)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "internal error: out of memory");

        switch (k->alg) {
        case JWS_ALG_RS256:
                /* The template only ever serves as a source to copy from,
                 * which reads it: safe from any number of threads. */
                if (EVP_MD_CTX_copy_ex(md, k->tmpl) != 1)
                        return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "internal error: verify init failed");
                ok = EVP_DigestVerify(md, sig, sig_len, (const uint8_t *) signing_input, signing_len);
                break;

        case JWS_ALG_ES256:
                /* r and s in [1, n-1] (a DER signature is 70-72 bytes and
                 * already failed the length check). */
                if (!p256_scalar_ok(sig) || !p256_scalar_ok(sig + 32))
                        return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "ES256 r or s out of range");
                der_len = es256_to_der(sig, der);
                if (EVP_MD_CTX_copy_ex(md, k->tmpl) != 1)
                        return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "internal error: verify init failed");
                ok = EVP_DigestVerify(md, der, der_len, (const uint8_t *) signing_input, signing_len);
                break;

        case JWS_ALG_EDDSA:
                /* Ed25519 is one-shot with no separate digest. */
                if (EVP_DigestVerifyInit(md, NULL, NULL, NULL, k->pkey) != 1)
                        return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "internal error: verify init failed");
                ok = EVP_DigestVerify(md, sig, sig_len, (const uint8_t *) signing_input, signing_len);
                break;

        default:
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "internal error: unknown key type");
        }

        if (ok != 1)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "signature mismatch");
        return AUTH_OK;
}

/* Optional NumericDate: a JSON integer in [0, 9999-12-31]. Reals, strings,
 * negatives and absurd values are refused (jansson fails the parse itself
 * for integers beyond 64 bits). */
static bool claim_time(json_t *claims, const char *key, bool *ret_present, int64_t *ret) {
        json_t *m = json_object_get(claims, key); /* borrowed */

        *ret_present = false;
        *ret = 0;
        if (!m)
                return true;
        if (!json_is_integer(m) || json_integer_value(m) < 0 || json_integer_value(m) > JWT_TIME_MAX)
                return false;
        *ret_present = true;
        *ret = (int64_t) json_integer_value(m);
        return true;
}

/* Optional string claim of 1..max bytes, printable (ends up in logs). */
static bool claim_string(json_t *claims, const char *key, size_t max, const char **ret) {
        json_t *m = json_object_get(claims, key); /* borrowed */
        const char *s;
        size_t n;

        *ret = NULL;
        if (!m)
                return true;
        if (!json_is_string(m))
                return false;
        s = json_string_value(m);
        n = json_string_length(m);
        if (n == 0 || n > max)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
                        return false;
        *ret = s;
        return true;
}

static bool is_scope_separator(char c) {
        return c == ' ' || c == ',';
}

/* Space and/or comma separated names; unknown names grant nothing. */
static bool scopes_from_string(json_t *m, ScopeSet *set) {
        const char *s = json_string_value(m);
        size_t n = json_string_length(m), i = 0;

        if (n > JWT_SCOPE_STRING_MAX)
                return false;
        while (i < n) {
                char name[JWT_SCOPE_NAME_MAX + 1];
                size_t start, len;
                ScopeSet one;

                while (i < n && is_scope_separator(s[i]))
                        i++;
                start = i;
                while (i < n && !is_scope_separator(s[i]))
                        i++;
                len = i - start;
                if (len == 0 || len > JWT_SCOPE_NAME_MAX)
                        continue; /* too long to be any scope we know */
                memcpy(name, s + start, len);
                name[len] = 0;
                if (scope_expand_name(name, &one) >= 0)
                        *set |= one;
        }
        return true;
}

static bool scopes_from_array(json_t *m, ScopeSet *set) {
        json_t *e; /* borrowed */
        size_t i;

        if (json_array_size(m) > JWT_SCOPES_MAX)
                return false;
        json_array_foreach(m, i, e) {
                ScopeSet one;

                if (!json_is_string(e))
                        return false;
                if (scope_expand_name(json_string_value(e), &one) >= 0)
                        *set |= one;
        }
        return true;
}

static bool scopes_from_claim(json_t *m, bool allow_string, bool allow_array, ScopeSet *set) {
        if (!m)
                return true;
        if (allow_string && json_is_string(m))
                return scopes_from_string(m, set);
        if (allow_array && json_is_array(m))
                return scopes_from_array(m, set);
        return false;
}

static AuthError check_audience(const JwtVerifier *v, json_t *claims, const char **ret_detail) {
        json_t *aud = json_object_get(claims, "aud"); /* borrowed */
        json_t *e;                                      /* borrowed */
        bool match = false;
        size_t i;

        /* A token minted for some other service must not work here; without
         * a configured audience we cannot tell, so any aud is refused. */
        if (!v->audience) {
                if (aud)
                        return fail(ret_detail, AUTH_ERR_INVALID_TOKEN,
                                    "token has aud but jwt.audience is not configured");
                return AUTH_OK;
        }
        if (!aud)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "token has no aud");
        if (json_is_string(aud)) {
                if (!streq(json_string_value(aud), v->audience))
                        return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "aud does not match");
                return AUTH_OK;
        }
        if (!json_is_array(aud) || json_array_size(aud) == 0 || json_array_size(aud) > JWT_AUD_ARRAY_MAX)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "aud must be a string or a non-empty array");
        json_array_foreach(aud, i, e) {
                if (!json_is_string(e))
                        return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "aud array members must be strings");
                if (streq(json_string_value(e), v->audience))
                        match = true;
        }
        if (!match)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "aud does not include this server");
        return AUTH_OK;
}

static AuthError check_claims(const JwtVerifier *v, json_t *claims, int64_t now, Identity **ret,
                              const char **ret_detail) {
        _cleanup_identity_ Identity *id = NULL;
        const char *sub, *jti;
        bool has_exp, has_iat, has_nbf;
        int64_t exp, iat, nbf, ttl;
        ScopeSet scopes = 0;
        json_t *m, *sm; /* borrowed */
        AuthError e;

        if (!claim_string(claims, "sub", JWT_SUB_MAX, &sub) || !sub)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "sub must be a non-empty string of at most 256 bytes");
        if (!claim_string(claims, "jti", JWT_JTI_MAX, &jti))
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "jti must be a non-empty string of at most 128 bytes");

        m = json_object_get(claims, "iss");
        if (m && !json_is_string(m))
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "iss must be a string");
        if (v->issuer) {
                /* Byte-exact, length included: no case folding, no trailing
                 * slash normalisation. */
                if (!m || json_string_length(m) != strlen(v->issuer) ||
                    memcmp(json_string_value(m), v->issuer, json_string_length(m)) != 0)
                        return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "iss does not match");
        }

        e = check_audience(v, claims, ret_detail);
        if (e != AUTH_OK)
                return e;

        /* Scopes: the union of every form IdPs use. A claim of the wrong type
         * is an error rather than "no scopes", so a minter bug is visible. */
        if (!scopes_from_claim(json_object_get(claims, "scope"), true, false, &scopes) ||
            !scopes_from_claim(json_object_get(claims, "scopes"), true, true, &scopes) ||
            !scopes_from_claim(json_object_get(claims, "scp"), true, true, &scopes))
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "scope, scopes or scp has the wrong type");
        sm = json_object_get(claims, "systemmanager");
        if (sm) {
                if (!json_is_object(sm) || !scopes_from_claim(json_object_get(sm, "scopes"), false, true, &scopes))
                        return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "systemmanager.scopes must be an array");
        }

        if (!claim_time(claims, "exp", &has_exp, &exp))
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "exp must be a non-negative integer");
        if (!claim_time(claims, "iat", &has_iat, &iat))
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "iat must be a non-negative integer");
        if (!claim_time(claims, "nbf", &has_nbf, &nbf))
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "nbf must be a non-negative integer");
        if (!has_exp)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "token has no exp");

        /* Time checks last, so "expired" is only said about a token that is
         * otherwise entirely acceptable. All values are ≤ JWT_TIME_MAX and
         * now is a sane clock, so none of the arithmetic below overflows. */
        if (now <= 0)
                now = now_epoch();
        if (now > JWT_TIME_MAX)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "internal error: clock out of range");

        if (has_iat && iat > now + AUTH_CLOCK_SKEW_SEC)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "token issued in the future");
        if (has_iat && exp < iat)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "token expires before it was issued");
        if (has_nbf && nbf > now + AUTH_CLOCK_SKEW_SEC)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "token not yet valid (nbf)");
        /* An over-long lifetime means the minter ignored policy (or the key
         * leaked to someone who does). Without iat, measure from now. */
        ttl = exp - (has_iat ? iat : now);
        if (ttl > v->max_ttl_seconds)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "token lifetime exceeds the configured maximum");
        if (exp < now - AUTH_CLOCK_SKEW_SEC)
                return fail(ret_detail, AUTH_ERR_TOKEN_EXPIRED, "token has expired");

        id = identity_new();
        if (!id)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "internal error: out of memory");
        id->method = AUTH_METHOD_JWT;
        id->scopes = scopes;
        id->issued_at = has_iat ? iat : 0;
        id->expires_at = exp;
        id->subject = strdup(sub);
        if (!id->subject)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "internal error: out of memory");
        if (jti) {
                id->token_id = strdup(jti);
                if (!id->token_id)
                        return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "internal error: out of memory");
        }
        if (v->audience) {
                id->audience = strdup(v->audience);
                if (!id->audience)
                        return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "internal error: out of memory");
        }
        {
                const char *why = NULL;
                if (identity_set_constraints(id, claims, &why) < 0)
                        return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, why ? why : "bad constraint claims");
        }

        *ret = TAKE_PTR(id);
        return AUTH_OK;
}

AuthError jwt_verify(const JwtVerifier *v, const char *token, size_t len, int64_t now, Identity **ret,
                     const char **ret_detail) {
        _cleanup_identity_ Identity *id = NULL;
        _cleanup_json_ json_t *header = NULL, *claims = NULL;
        _cleanup_(keyset_unrefp) KeySet *remote = NULL;
        const char *dot1, *dot2, *kid = NULL;
        bool missing = false;
        const JoseKey *key = NULL;
        uint8_t sig[JWS_SIG_MAX_BYTES];
        size_t header_len, payload_len, sig_b64_len;
        ssize_t sig_len;
        JwsAlg alg = _JWS_ALG_INVALID;
        AuthError e;
        int r;

        if (!v || !ret)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "internal error: no verifier");
        if (!token || len == 0)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "empty token");

        /* Size first: nothing below runs on an arbitrarily large input. */
        if (len > v->max_token_bytes)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "token exceeds the maximum size");
        if (memchr(token, 0, len))
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "malformed token: NUL byte");

        /* Exactly three segments, none empty: header.payload.signature. Four
         * or five segments would be JWE; one dot an HMAC token. */
        dot1 = memchr(token, '.', len);
        if (!dot1)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "malformed JWT: expected three segments");
        dot2 = memchr(dot1 + 1, '.', len - (size_t) (dot1 - token) - 1);
        if (!dot2)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "malformed JWT: expected three segments");
        if (memchr(dot2 + 1, '.', len - (size_t) (dot2 - token) - 1))
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "malformed JWT: more than three segments");
        header_len = (size_t) (dot1 - token);
        payload_len = (size_t) (dot2 - dot1 - 1);
        sig_b64_len = len - (size_t) (dot2 - token) - 1;
        if (header_len == 0 || payload_len == 0)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "malformed JWT: empty segment");
        if (sig_b64_len == 0)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "unsigned JWT (empty signature)");

        r = segment_to_object(token, header_len, v->max_token_bytes, &header);
        if (r < 0)
                return segment_error(ret_detail, r, true);

        e = check_header(v, header, &alg, &kid, ret_detail);
        if (e != AUTH_OK)
                return e;
        if (v->remote)
                remote = jwks_snapshot(v->remote);
        e = select_key(v, remote, alg, kid, &key, &missing, ret_detail);
        if (e != AUTH_OK) {
                /* Perhaps the IdP rotated keys: ask the fetcher to look again
                 * (it does so at most once per interval, never here: this
                 * may be the event loop). This token stays refused. */
                if (missing && v->remote)
                        jwks_request_refetch(v->remote);
                return e;
        }

        /* Decoded length from the encoded one, before decoding anything. */
        if (base64url_decoded_len(sig_b64_len) != key->sig_len)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "signature has the wrong length for the key");
        sig_len = base64url_decode(dot2 + 1, sig_b64_len, sig, sizeof(sig));
        if (sig_len < 0)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "signature is not canonical unpadded base64url");

        /* The signing input is the two encoded segments exactly as sent. */
        e = verify_signature(key, token, (size_t) (dot2 - token), sig, (size_t) sig_len, ret_detail);
        if (e != AUTH_OK)
                return e;

        /* Authenticated from here on, but still parsed strictly: a key
         * holder's bug must not turn into a privilege. */
        r = segment_to_object(dot1 + 1, payload_len, v->max_token_bytes, &claims);
        if (r < 0)
                return segment_error(ret_detail, r, false);

        e = check_claims(v, claims, now, &id, ret_detail);
        if (e != AUTH_OK)
                return e;

        if (token_sha256_prefix(token, len, id->token_sha256) < 0)
                return fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "internal error: SHA-256 failed");

        *ret = TAKE_PTR(id);
        if (ret_detail)
                *ret_detail = NULL;
        return AUTH_OK;
}
