/* SPDX-License-Identifier: MIT */

/* scopes/jose.c: JWS/JWT verification and JWK/JWKS loading.
 *
 * Every token here is minted in the test with OpenSSL directly (HMAC(),
 * EVP_DigestSign() with freshly generated RSA-2048, P-256 and Ed25519 keys),
 * never with the code under test; the JWKS is built from the keys' public
 * parts. The hostile cases are one table: header JSON, payload JSON, signer,
 * one mutation, verifier, expected AuthError and the expected detail (so a
 * case cannot pass by failing for some other reason). */

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "common/cleanup.h"
#include "common/encoding.h"
#include "scopes/auth.h"
#include "scopes/jose.h"

#define NOW 1800000000LL
#define SECRET "0123456789abcdef0123456789abcdef-jwt-test"
#define AUD "sm-test"
#define ISS "https://idp.example"
#define MAX_TTL 86400

/* Claims pieces; payloads are written out literally so that every byte the
 * verifier sees is visible in the table. */
#define C_SUB "\"sub\":\"agent-7\""
#define C_ISS "\"iss\":\"" ISS "\""
#define C_AUD "\"aud\":\"" AUD "\""
#define C_IAT "\"iat\":1800000000"
#define C_EXP "\"exp\":1800003600"
#define C_SCOPE "\"scope\":\"system:read\""
#define P_STD "{" C_SUB "," C_ISS "," C_AUD "," C_IAT "," C_EXP "," C_SCOPE "}"
#define P_NO_EXP(x) "{" C_SUB "," C_ISS "," C_AUD "," C_IAT "," x "}"
#define P_NO_IAT(x) "{" C_SUB "," C_ISS "," C_AUD "," C_EXP "," x "}"
#define P_NO_AUD(x) "{" C_SUB "," C_ISS "," C_IAT "," C_EXP "," x "}"
#define P_NO_ISS(x) "{" C_SUB "," C_AUD "," C_IAT "," C_EXP "," x "}"
#define P_NO_SUB(x) "{" C_ISS "," C_AUD "," C_IAT "," C_EXP "," x "}"
#define P_PLUS(x) "{" C_SUB "," C_ISS "," C_AUD "," C_IAT "," C_EXP "," x "}"

#define H_HS "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define H_RS "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}"
#define H_ES "{\"alg\":\"ES256\",\"kid\":\"ec1\"}"
#define H_ED "{\"alg\":\"EdDSA\",\"kid\":\"ed1\"}"

typedef enum Signer {
        S_HS,           /* the configured secret */
        S_HS_PEM,       /* HMAC keyed with the RSA public key's PEM bytes */
        S_RS,
        S_ES,
        S_ED,
        S_ED_ATTACKER,  /* a key the server does not know */
        S_NONE,         /* empty signature */
} Signer;

typedef enum Mutation {
        M_NONE,
        M_DROP_SIG,             /* h.p */
        M_EXTRA_SEG,            /* h.p.s.s */
        M_TRAILING_DOT,         /* h.p.s. */
        M_LEADING_DOT,          /* .h.p.s */
        M_EMPTY_PAYLOAD,        /* h..s */
        M_HEADER_PAD,           /* padded header, signed as sent */
        M_PAYLOAD_PAD,
        M_SIG_PAD,
        M_PAYLOAD_PLUS,
        M_PAYLOAD_SLASH,
        M_PAYLOAD_SPACE,
        M_PAYLOAD_NEWLINE,
        M_HEADER_NONCANON,      /* non-zero unused bits in the last character */
        M_PAYLOAD_NONCANON,
        M_SIG_NONCANON,
        M_SIG_TRUNC,            /* one byte short */
        M_SIG_EXTEND,           /* one byte long */
        M_SIG_FLIP,
        M_TAMPER,               /* signature made over another payload */
        M_ES_DER,               /* ES256 signature in DER, as OpenSSL returns it */
        M_ES_R0,
        M_ES_S0,
        M_ES_RN,                /* r = n */
        M_ES_SN,                /* s = n */
        M_ES_RMAX,              /* r = 2^256 - 1 */
        M_OVERSIZE,             /* payload padded past 8 KiB, signed */
} Mutation;

typedef enum VerifierKind {
        V_DEFAULT,      /* HS secret + rsa1, ec1, ed1; audience + issuer */
        V_RSA_ONLY,     /* rsa1 only */
        V_NO_AUD,       /* like default but no audience / issuer configured */
        V_RS_ALLOWED,   /* only RS256 allowed */
        V_TWO_ED,       /* ed1 and ed2 */
        _V_MAX,
} VerifierKind;

static EVP_PKEY *rsa_key, *ec_key, *ed_key, *ed2_key, *attacker_key, *rsa1024_key;
static JwtVerifier *verifiers[_V_MAX];

/* --- helpers: encoding, keys, JWKS --------------------------------------- */

static char *b64(const void *data, size_t len) {
        char *s = NULL;

        assert_int_equal(base64url_encode_alloc(data, len, 1U << 20, &s), 0);
        return s;
}

static char *b64_bn(const BIGNUM *bn, int pad) {
        uint8_t buf[1024];
        int n = pad > 0 ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);

        assert_true(n > 0);
        return b64(buf, (size_t) n);
}

static char *strjoin3(const char *a, const char *sep, const char *b) {
        size_t la = strlen(a), ls = strlen(sep), lb = strlen(b);
        char *s = malloc(la + ls + lb + 1);

        assert_non_null(s);
        memcpy(s, a, la);
        memcpy(s + la, sep, ls);
        memcpy(s + la + ls, b, lb + 1);
        return s;
}

/* Public JWK of a generated key, as an IdP would publish it. */
static json_t *jwk_of(EVP_PKEY *pk, const char *kid) {
        json_t *j = json_object();
        char *a = NULL, *b = NULL;

        assert_non_null(j);
        if (EVP_PKEY_is_a(pk, "RSA")) {
                BIGNUM *n = NULL, *e = NULL;

                assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n), 1);
                assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e), 1);
                a = b64_bn(n, 0);
                b = b64_bn(e, 0);
                json_object_set_new(j, "kty", json_string("RSA"));
                json_object_set_new(j, "n", json_string(a));
                json_object_set_new(j, "e", json_string(b));
                BN_free(n);
                BN_free(e);
        } else if (EVP_PKEY_is_a(pk, "EC")) {
                BIGNUM *x = NULL, *y = NULL;

                assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &x), 1);
                assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &y), 1);
                a = b64_bn(x, 32);
                b = b64_bn(y, 32);
                json_object_set_new(j, "kty", json_string("EC"));
                json_object_set_new(j, "crv", json_string("P-256"));
                json_object_set_new(j, "x", json_string(a));
                json_object_set_new(j, "y", json_string(b));
                BN_free(x);
                BN_free(y);
        } else {
                uint8_t raw[32];
                size_t n = sizeof(raw);

                assert_int_equal(EVP_PKEY_get_raw_public_key(pk, raw, &n), 1);
                a = b64(raw, n);
                json_object_set_new(j, "kty", json_string("OKP"));
                json_object_set_new(j, "crv", json_string("Ed25519"));
                json_object_set_new(j, "x", json_string(a));
        }
        if (kid)
                json_object_set_new(j, "kid", json_string(kid));
        free(a);
        free(b);
        return j;
}

/* {"keys":[...]} text from up to four JWKs (NULL-terminated, stolen). */
static char *jwks_text(json_t *k1, json_t *k2, json_t *k3, json_t *k4) {
        json_t *keys = json_array(), *root;
        json_t *in[] = { k1, k2, k3, k4 };
        char *s;

        for (size_t i = 0; i < ELEMENTSOF(in) && in[i]; i++)
                json_array_append_new(keys, in[i]);
        root = json_pack("{s:o}", "keys", keys);
        assert_non_null(root);
        s = json_dumps(root, JSON_COMPACT);
        assert_non_null(s);
        json_decref(root);
        return s;
}

static char *rsa_public_pem(void) {
        BIO *bio = BIO_new(BIO_s_mem());
        char *data = NULL, *s;
        long n;

        assert_non_null(bio);
        assert_int_equal(PEM_write_bio_PUBKEY(bio, rsa_key), 1);
        n = BIO_get_mem_data(bio, &data);
        assert_true(n > 0);
        s = strndup(data, (size_t) n);
        BIO_free(bio);
        return s;
}

static JwtVerifier *new_verifier(const char *const *algs, const char *aud, const char *iss, bool hs,
                                 const char *jwks) {
        JwtConfig cfg = {
                .allowed_algorithms = algs,
                .audience = aud,
                .issuer = iss,
                .max_ttl_seconds = MAX_TTL,
        };
        JwtVerifier *v = NULL;
        const char *detail = NULL;
        unsigned skipped = 99;

        assert_int_equal(jwt_verifier_new(&cfg, &v, &detail), 0);
        if (hs)
                assert_int_equal(jwt_verifier_add_hmac_secret(v, SECRET, strlen(SECRET), NULL, &detail), 0);
        if (jwks) {
                int r = jwt_verifier_add_jwks(v, jwks, strlen(jwks), &skipped, &detail);
                if (r < 0)
                        fail_msg("add_jwks: %d %s", r, detail);
                assert_int_equal(skipped, 0);
        }
        return v;
}

static int group_setup(void **state) {
        static const char *const rs_only[] = { "RS256", NULL };
        char *jwks;

        rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);
        rsa1024_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 1024);
        ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        ed_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        ed2_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        attacker_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        if (!rsa_key || !rsa1024_key || !ec_key || !ed_key || !ed2_key || !attacker_key)
                return -1;

        jwks = jwks_text(jwk_of(rsa_key, "rsa1"), jwk_of(ec_key, "ec1"), jwk_of(ed_key, "ed1"), NULL);
        verifiers[V_DEFAULT] = new_verifier(NULL, AUD, ISS, true, jwks);
        verifiers[V_NO_AUD] = new_verifier(NULL, NULL, NULL, true, jwks);
        free(jwks);
        jwks = jwks_text(jwk_of(rsa_key, "rsa1"), NULL, NULL, NULL);
        verifiers[V_RS_ALLOWED] = new_verifier(rs_only, AUD, ISS, false, jwks);
        verifiers[V_RSA_ONLY] = new_verifier(NULL, AUD, ISS, false, jwks);
        free(jwks);
        jwks = jwks_text(jwk_of(ed_key, "ed1"), jwk_of(ed2_key, "ed2"), NULL, NULL);
        verifiers[V_TWO_ED] = new_verifier(NULL, AUD, ISS, false, jwks);
        free(jwks);
        return 0;
}

static int group_teardown(void **state) {
        for (size_t i = 0; i < _V_MAX; i++)
                verifiers[i] = jwt_verifier_free(verifiers[i]);
        EVP_PKEY_free(rsa_key);
        EVP_PKEY_free(rsa1024_key);
        EVP_PKEY_free(ec_key);
        EVP_PKEY_free(ed_key);
        EVP_PKEY_free(ed2_key);
        EVP_PKEY_free(attacker_key);
        return 0;
}

/* --- helpers: minting ------------------------------------------------------ */

static const uint8_t p256_n[32] = {
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

static size_t pkey_sign(EVP_PKEY *pk, const EVP_MD *md, const char *in, uint8_t *out, size_t out_size) {
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        size_t n = out_size;

        assert_non_null(c);
        assert_int_equal(EVP_DigestSignInit(c, NULL, md, NULL, pk), 1);
        assert_int_equal(EVP_DigestSign(c, out, &n, (const uint8_t *) in, strlen(in)), 1);
        EVP_MD_CTX_free(c);
        return n;
}

/* Signature bytes over `input` (the encoded "h.p"). For ES256, raw r‖s unless
 * der is set. */
static size_t sign_input(Signer s, const char *input, bool der, uint8_t *out, size_t out_size) {
        unsigned mdlen = 0;

        switch (s) {
        case S_HS:
                assert_non_null(HMAC(EVP_sha256(), SECRET, (int) strlen(SECRET), (const uint8_t *) input,
                                     strlen(input), out, &mdlen));
                return mdlen;
        case S_HS_PEM: {
                char *pem = rsa_public_pem();

                assert_non_null(HMAC(EVP_sha256(), pem, (int) strlen(pem), (const uint8_t *) input, strlen(input),
                                     out, &mdlen));
                free(pem);
                return mdlen;
        }
        case S_RS:
                return pkey_sign(rsa_key, EVP_sha256(), input, out, out_size);
        case S_ES: {
                uint8_t d[128];
                const uint8_t *p = d;
                size_t n = pkey_sign(ec_key, EVP_sha256(), input, d, sizeof(d));
                ECDSA_SIG *sig;

                if (der) {
                        memcpy(out, d, n);
                        return n;
                }
                sig = d2i_ECDSA_SIG(NULL, &p, (long) n);
                assert_non_null(sig);
                assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, 32), 32);
                assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + 32, 32), 32);
                ECDSA_SIG_free(sig);
                return 64;
        }
        case S_ED:
                return pkey_sign(ed_key, NULL, input, out, out_size);
        case S_ED_ATTACKER:
                return pkey_sign(attacker_key, NULL, input, out, out_size);
        case S_NONE:
        default:
                return 0;
        }
}

/* Makes the last character of an unpadded encoding non-canonical (a set bit
 * among the unused ones). The encoding must not be a multiple of 4. */
static void make_noncanonical(char *enc) {
        static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        size_t n = strlen(enc);
        const char *p;

        assert_true(n % 4 != 0);
        p = strchr(alphabet, enc[n - 1]);
        assert_non_null(p);
        enc[n - 1] = p[1];
}

/* JSON text whose length is not a multiple of 3 (so its encoding has unused
 * bits and would need padding): a space after '{' if needed. */
static char *json_unaligned(const char *json) {
        size_t n = strlen(json);
        char *s = malloc(n + 2);

        assert_non_null(s);
        if (n % 3 != 0) {
                memcpy(s, json, n + 1);
                return s;
        }
        s[0] = json[0];
        s[1] = ' ';
        memcpy(s + 2, json + 1, n);
        return s;
}

static char *pad_of(const char *enc) {
        size_t n = strlen(enc);

        return strjoin3(enc, "", n % 4 == 2 ? "==" : n % 4 == 3 ? "=" : "");
}

static char *insert_at(const char *s, size_t pos, const char *what) {
        size_t n = strlen(s), w = strlen(what);
        char *r = malloc(n + w + 1);

        assert_non_null(r);
        assert_true(pos <= n);
        memcpy(r, s, pos);
        memcpy(r + pos, what, w);
        memcpy(r + pos + w, s + pos, n - pos + 1);
        return r;
}

/* The whole minting pipeline: encode, mutate encodings, sign "h.p" as it
 * will be sent, mutate the signature, assemble, mutate the token. */
static char *mint_token(Signer signer, const char *header, const char *payload, Mutation m) {
        _cleanup_free_ char *h_json = NULL, *p_json = NULL, *h = NULL, *p = NULL, *input = NULL, *s = NULL,
                            *hp = NULL, *big = NULL;
        uint8_t sig[1024];
        size_t sig_len;
        char *t, *tmp;

        h_json = (m == M_HEADER_PAD || m == M_HEADER_NONCANON) ? json_unaligned(header) : strdup(header);
        if (m == M_OVERSIZE) {
                /* A valid token apart from its size: a 9000-byte claim. */
                char *filler = malloc(9001);

                assert_non_null(filler);
                memset(filler, 'x', 9000);
                filler[9000] = 0;
                tmp = strjoin3("{\"filler\":\"", filler, "\",");
                big = strjoin3(tmp, "", payload + 1);
                free(tmp);
                free(filler);
                payload = big;
        }
        p_json = (m == M_PAYLOAD_PAD || m == M_PAYLOAD_NONCANON) ? json_unaligned(payload) : strdup(payload);
        assert_non_null(h_json);
        assert_non_null(p_json);

        h = b64(h_json, strlen(h_json));
        p = b64(p_json, strlen(p_json));

        switch (m) {
        case M_HEADER_PAD:
                tmp = pad_of(h);
                free(h);
                h = tmp;
                break;
        case M_PAYLOAD_PAD:
                tmp = pad_of(p);
                free(p);
                p = tmp;
                break;
        case M_PAYLOAD_PLUS:
                p[1] = '+';
                break;
        case M_PAYLOAD_SLASH:
                p[1] = '/';
                break;
        case M_PAYLOAD_SPACE:
                tmp = insert_at(p, 4, " ");
                free(p);
                p = tmp;
                break;
        case M_PAYLOAD_NEWLINE:
                tmp = insert_at(p, 4, "\n");
                free(p);
                p = tmp;
                break;
        case M_HEADER_NONCANON:
                make_noncanonical(h);
                break;
        case M_PAYLOAD_NONCANON:
                make_noncanonical(p);
                break;
        default:
                break;
        }

        hp = strjoin3(h, ".", p);
        if (m == M_TAMPER) {
                _cleanup_free_ char *other = b64("{\"sub\":\"root\"}", 14);
                input = strjoin3(h, ".", other);
        } else
                input = strdup(hp);
        assert_non_null(input);

        sig_len = sign_input(signer, input, m == M_ES_DER, sig, sizeof(sig));
        switch (m) {
        case M_SIG_TRUNC:
                sig_len--;
                break;
        case M_SIG_EXTEND:
                sig[sig_len++] = 0;
                break;
        case M_SIG_FLIP:
                sig[10] ^= 0x01;
                break;
        case M_ES_R0:
                memset(sig, 0, 32);
                break;
        case M_ES_S0:
                memset(sig + 32, 0, 32);
                break;
        case M_ES_RN:
                memcpy(sig, p256_n, 32);
                break;
        case M_ES_SN:
                memcpy(sig + 32, p256_n, 32);
                break;
        case M_ES_RMAX:
                memset(sig, 0xff, 32);
                break;
        default:
                break;
        }
        s = sig_len > 0 ? b64(sig, sig_len) : strdup("");
        assert_non_null(s);
        if (m == M_SIG_PAD) {
                tmp = pad_of(s);
                free(s);
                s = tmp;
        }
        if (m == M_SIG_NONCANON)
                make_noncanonical(s);

        switch (m) {
        case M_DROP_SIG:
                return strdup(hp);
        case M_EXTRA_SEG:
                tmp = strjoin3(hp, ".", s);
                t = strjoin3(tmp, ".", s);
                free(tmp);
                return t;
        case M_TRAILING_DOT:
                tmp = strjoin3(hp, ".", s);
                t = strjoin3(tmp, ".", "");
                free(tmp);
                return t;
        case M_LEADING_DOT:
                tmp = strjoin3(hp, ".", s);
                t = strjoin3("", ".", tmp);
                free(tmp);
                return t;
        case M_EMPTY_PAYLOAD:
                tmp = strjoin3(h, "..", "");
                t = strjoin3(tmp, "", s);
                free(tmp);
                return t;
        default:
                return strjoin3(hp, ".", s);
        }
}

/* --- the hostile table ----------------------------------------------------- */

typedef struct Case {
        const char *name;
        Signer signer;
        const char *header;
        const char *payload;
        Mutation mutation;
        VerifierKind verifier;
        int64_t now;            /* 0 = NOW */
        AuthError expect;
        const char *detail;     /* substring of the detail; NULL for AUTH_OK */
} Case;

#define INVALID AUTH_ERR_INVALID_TOKEN
#define EXPIRED AUTH_ERR_TOKEN_EXPIRED

static const Case cases[] = {
        /* Shape. */
        { "two segments", S_HS, H_HS, P_STD, M_DROP_SIG, V_DEFAULT, 0, INVALID, "three segments" },
        { "four segments", S_HS, H_HS, P_STD, M_EXTRA_SEG, V_DEFAULT, 0, INVALID, "more than three" },
        { "trailing dot", S_HS, H_HS, P_STD, M_TRAILING_DOT, V_DEFAULT, 0, INVALID, "more than three" },
        { "leading dot", S_HS, H_HS, P_STD, M_LEADING_DOT, V_DEFAULT, 0, INVALID, "more than three" },
        { "empty payload segment", S_HS, H_HS, P_STD, M_EMPTY_PAYLOAD, V_DEFAULT, 0, INVALID, "empty segment" },
        { "empty signature (alg none style)", S_NONE, H_HS, P_STD, M_NONE, V_DEFAULT, 0, INVALID, "empty signature" },

        /* base64url strictness (each signed as sent, so only the encoding is wrong). */
        { "padded header", S_HS, H_HS, P_STD, M_HEADER_PAD, V_DEFAULT, 0, INVALID, "header is not canonical" },
        { "padded payload", S_HS, H_HS, P_STD, M_PAYLOAD_PAD, V_DEFAULT, 0, INVALID, "payload is not canonical" },
        { "padded signature", S_HS, H_HS, P_STD, M_SIG_PAD, V_DEFAULT, 0, INVALID, "wrong length" },
        { "'+' in payload", S_HS, H_HS, P_STD, M_PAYLOAD_PLUS, V_DEFAULT, 0, INVALID, "payload is not canonical" },
        { "'/' in payload", S_HS, H_HS, P_STD, M_PAYLOAD_SLASH, V_DEFAULT, 0, INVALID, "payload is not canonical" },
        { "space in payload", S_HS, H_HS, P_STD, M_PAYLOAD_SPACE, V_DEFAULT, 0, INVALID, "payload is not canonical" },
        { "newline in payload", S_HS, H_HS, P_STD, M_PAYLOAD_NEWLINE, V_DEFAULT, 0, INVALID,
          "payload is not canonical" },
        { "non-canonical header char", S_HS, H_HS, P_STD, M_HEADER_NONCANON, V_DEFAULT, 0, INVALID,
          "header is not canonical" },
        { "non-canonical payload char", S_HS, H_HS, P_STD, M_PAYLOAD_NONCANON, V_DEFAULT, 0, INVALID,
          "payload is not canonical" },
        { "non-canonical signature char", S_HS, H_HS, P_STD, M_SIG_NONCANON, V_DEFAULT, 0, INVALID,
          "signature is not canonical" },

        /* JSON strictness. */
        { "header is an array", S_HS, "[\"HS256\"]", P_STD, M_NONE, V_DEFAULT, 0, INVALID, "header is not" },
        { "header is a string", S_HS, "\"HS256\"", P_STD, M_NONE, V_DEFAULT, 0, INVALID, "header is not" },
        { "header trailing bytes", S_HS, H_HS "x", P_STD, M_NONE, V_DEFAULT, 0, INVALID, "header is not" },
        { "header trailing space", S_HS, H_HS " ", P_STD, M_NONE, V_DEFAULT, 0, INVALID, "header is not" },
        { "header two objects", S_HS, H_HS "{}", P_STD, M_NONE, V_DEFAULT, 0, INVALID, "header is not" },
        { "header duplicate alg", S_HS, "{\"alg\":\"HS256\",\"alg\":\"HS256\"}", P_STD, M_NONE, V_DEFAULT, 0,
          INVALID, "duplicate member in header" },
        { "payload is an array", S_HS, H_HS, "[" P_STD "]", M_NONE, V_DEFAULT, 0, INVALID, "payload is not" },
        { "payload is a number", S_HS, H_HS, "1800000000", M_NONE, V_DEFAULT, 0, INVALID, "payload is not" },
        { "payload trailing bytes", S_HS, H_HS, P_STD "garbage", M_NONE, V_DEFAULT, 0, INVALID, "payload is not" },
        { "payload trailing newline", S_HS, H_HS, P_STD "\n", M_NONE, V_DEFAULT, 0, INVALID, "payload is not" },
        { "payload invalid UTF-8", S_HS, H_HS, P_PLUS("\"name\":\"\xc3\x28\""), M_NONE, V_DEFAULT, 0, INVALID,
          "payload is not" },
        { "payload overlong UTF-8", S_HS, H_HS, P_PLUS("\"name\":\"\xc0\xaf\""), M_NONE, V_DEFAULT, 0, INVALID,
          "payload is not" },
        { "payload \\u0000 in a string", S_HS, H_HS, P_PLUS("\"name\":\"a\\u0000b\""), M_NONE, V_DEFAULT, 0,
          INVALID, "payload is not" },
        { "payload duplicate sub", S_HS, H_HS, P_PLUS("\"sub\":\"admin\""), M_NONE, V_DEFAULT, 0, INVALID,
          "duplicate claim" },
        { "payload duplicate exp", S_HS, H_HS, P_PLUS("\"exp\":1900000000"), M_NONE, V_DEFAULT, 0, INVALID,
          "duplicate claim" },

        /* alg. */
        { "alg none", S_NONE, "{\"alg\":\"none\"}", P_STD, M_DROP_SIG, V_DEFAULT, 0, INVALID, "three segments" },
        { "alg none with empty signature", S_NONE, "{\"alg\":\"none\"}", P_STD, M_NONE, V_DEFAULT, 0, INVALID,
          "empty signature" },
        { "alg none with an HMAC signature", S_HS, "{\"alg\":\"none\"}", P_STD, M_NONE, V_DEFAULT, 0, INVALID,
          "alg none" },
        { "alg None", S_HS, "{\"alg\":\"None\"}", P_STD, M_NONE, V_DEFAULT, 0, INVALID, "alg none" },
        { "alg absent", S_HS, "{\"typ\":\"JWT\"}", P_STD, M_NONE, V_DEFAULT, 0, INVALID, "no alg" },
        { "alg not a string", S_HS, "{\"alg\":256}", P_STD, M_NONE, V_DEFAULT, 0, INVALID, "not a string" },
        { "alg null", S_HS, "{\"alg\":null}", P_STD, M_NONE, V_DEFAULT, 0, INVALID, "not a string" },
        { "alg lower case", S_HS, "{\"alg\":\"hs256\"}", P_STD, M_NONE, V_DEFAULT, 0, INVALID, "unsupported alg" },
        { "alg HS512", S_HS, "{\"alg\":\"HS512\"}", P_STD, M_NONE, V_DEFAULT, 0, INVALID, "unsupported alg" },
        { "alg PS256", S_RS, "{\"alg\":\"PS256\",\"kid\":\"rsa1\"}", P_STD, M_NONE, V_DEFAULT, 0, INVALID,
          "unsupported alg" },
        { "alg not allowed", S_HS, H_HS, P_STD, M_NONE, V_RS_ALLOWED, 0, INVALID, "not in jwt.allowed" },
        { "alg RS256 with the Ed25519 kid", S_ED, "{\"alg\":\"RS256\",\"kid\":\"ed1\"}", P_STD, M_NONE, V_DEFAULT,
          0, INVALID, "alg does not match the key" },
        { "alg EdDSA with the EC kid", S_ES, "{\"alg\":\"EdDSA\",\"kid\":\"ec1\"}", P_STD, M_NONE, V_DEFAULT, 0,
          INVALID, "alg does not match the key" },
        { "HS256 keyed with the RSA PEM, RSA-only server", S_HS_PEM, H_HS, P_STD, M_NONE, V_RSA_ONLY, 0, INVALID,
          "no key for this alg" },
        { "HS256 keyed with the RSA PEM, kid of the RSA key", S_HS_PEM, "{\"alg\":\"HS256\",\"kid\":\"rsa1\"}",
          P_STD, M_NONE, V_DEFAULT, 0, INVALID, "alg does not match the key" },
        { "HS256 keyed with the RSA PEM, no kid", S_HS_PEM, H_HS, P_STD, M_NONE, V_DEFAULT, 0, INVALID,
          "signature mismatch" },

        /* kid and keys named by the token. */
        { "unknown kid", S_RS, "{\"alg\":\"RS256\",\"kid\":\"rsa2\"}", P_STD, M_NONE, V_DEFAULT, 0, INVALID,
          "unknown kid" },
        { "kid not a string", S_RS, "{\"alg\":\"RS256\",\"kid\":1}", P_STD, M_NONE, V_DEFAULT, 0, INVALID,
          "kid must be" },
        { "empty kid", S_RS, "{\"alg\":\"RS256\",\"kid\":\"\"}", P_STD, M_NONE, V_DEFAULT, 0, INVALID,
          "kid must be" },
        { "no kid, two keys of that type", S_ED, "{\"alg\":\"EdDSA\"}", P_STD, M_NONE, V_TWO_ED, 0, INVALID,
          "kid required" },
        { "no kid, one key of that type", S_ED, "{\"alg\":\"EdDSA\"}", P_STD, M_NONE, V_DEFAULT, 0, AUTH_OK, NULL },
        { "attacker key in jwk (no kid)", S_ED_ATTACKER, "{\"alg\":\"EdDSA\",\"jwk\":@ATTACKER@}", P_STD, M_NONE,
          V_DEFAULT, 0, INVALID, "signature mismatch" },
        { "attacker key in jwk (its own kid)", S_ED_ATTACKER,
          "{\"alg\":\"EdDSA\",\"kid\":\"evil\",\"jwk\":@ATTACKER@}", P_STD, M_NONE, V_DEFAULT, 0, INVALID,
          "unknown kid" },
        { "attacker key via jku", S_ED_ATTACKER,
          "{\"alg\":\"EdDSA\",\"kid\":\"ed1\",\"jku\":\"https://evil.example/jwks\"}", P_STD, M_NONE, V_DEFAULT, 0,
          INVALID, "signature mismatch" },
        { "attacker key via x5c", S_ED_ATTACKER, "{\"alg\":\"EdDSA\",\"kid\":\"ed1\",\"x5c\":[\"MIIB\"]}", P_STD,
          M_NONE, V_DEFAULT, 0, INVALID, "signature mismatch" },
        { "jku/x5c/x5u on a good token are ignored", S_ED,
          "{\"alg\":\"EdDSA\",\"kid\":\"ed1\",\"jku\":\"https://evil.example/\",\"x5u\":\"https://evil.example/c\","
          "\"x5c\":[\"MIIB\"],\"jwk\":@ATTACKER@}",
          P_STD, M_NONE, V_DEFAULT, 0, AUTH_OK, NULL },

        /* Header extensions. */
        { "crit [exp]", S_HS, "{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"exp\":1}", P_STD, M_NONE, V_DEFAULT, 0,
          INVALID, "crit" },
        { "crit [b64]", S_HS, "{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":true}", P_STD, M_NONE, V_DEFAULT, 0,
          INVALID, "crit" },
        { "crit empty array", S_HS, "{\"alg\":\"HS256\",\"crit\":[]}", P_STD, M_NONE, V_DEFAULT, 0, INVALID, "crit" },
        { "crit a string", S_HS, "{\"alg\":\"HS256\",\"crit\":\"exp\"}", P_STD, M_NONE, V_DEFAULT, 0, INVALID,
          "crit" },
        { "b64 false", S_HS, "{\"alg\":\"HS256\",\"b64\":false}", P_STD, M_NONE, V_DEFAULT, 0, INVALID, "b64" },
        { "b64 \"false\"", S_HS, "{\"alg\":\"HS256\",\"b64\":\"false\"}", P_STD, M_NONE, V_DEFAULT, 0, INVALID,
          "b64" },
        { "enc (JWE header)", S_HS, "{\"alg\":\"HS256\",\"enc\":\"A256GCM\"}", P_STD, M_NONE, V_DEFAULT, 0,
          INVALID, "JWE" },
        { "zip", S_HS, "{\"alg\":\"HS256\",\"zip\":\"DEF\"}", P_STD, M_NONE, V_DEFAULT, 0, INVALID, "JWE" },
        { "cty JWT (nested)", S_HS, "{\"alg\":\"HS256\",\"cty\":\"JWT\"}", P_STD, M_NONE, V_DEFAULT, 0, INVALID,
          "nested" },
        { "typ JOSE", S_HS, "{\"alg\":\"HS256\",\"typ\":\"JOSE\"}", P_STD, M_NONE, V_DEFAULT, 0, INVALID, "typ" },
        { "typ number", S_HS, "{\"alg\":\"HS256\",\"typ\":1}", P_STD, M_NONE, V_DEFAULT, 0, INVALID, "typ" },
        { "typ jwt (case-insensitive)", S_HS, "{\"alg\":\"HS256\",\"typ\":\"jwt\"}", P_STD, M_NONE, V_DEFAULT, 0,
          AUTH_OK, NULL },
        { "typ at+jwt", S_HS, "{\"alg\":\"HS256\",\"typ\":\"at+JWT\"}", P_STD, M_NONE, V_DEFAULT, 0, AUTH_OK, NULL },

        /* Signatures. */
        { "HS256 tampered payload", S_HS, H_HS, P_STD, M_TAMPER, V_DEFAULT, 0, INVALID, "signature mismatch" },
        { "HS256 bit flip", S_HS, H_HS, P_STD, M_SIG_FLIP, V_DEFAULT, 0, INVALID, "signature mismatch" },
        { "HS256 31-byte signature", S_HS, H_HS, P_STD, M_SIG_TRUNC, V_DEFAULT, 0, INVALID, "wrong length" },
        { "HS256 33-byte signature", S_HS, H_HS, P_STD, M_SIG_EXTEND, V_DEFAULT, 0, INVALID, "wrong length" },
        { "RS256 bit flip", S_RS, H_RS, P_STD, M_SIG_FLIP, V_DEFAULT, 0, INVALID, "signature mismatch" },
        { "RS256 tampered payload", S_RS, H_RS, P_STD, M_TAMPER, V_DEFAULT, 0, INVALID, "signature mismatch" },
        { "RS256 short signature", S_RS, H_RS, P_STD, M_SIG_TRUNC, V_DEFAULT, 0, INVALID, "wrong length" },
        { "RS256 long signature", S_RS, H_RS, P_STD, M_SIG_EXTEND, V_DEFAULT, 0, INVALID, "wrong length" },
        { "ES256 DER signature", S_ES, H_ES, P_STD, M_ES_DER, V_DEFAULT, 0, INVALID, "wrong length" },
        { "ES256 r = 0", S_ES, H_ES, P_STD, M_ES_R0, V_DEFAULT, 0, INVALID, "out of range" },
        { "ES256 s = 0", S_ES, H_ES, P_STD, M_ES_S0, V_DEFAULT, 0, INVALID, "out of range" },
        { "ES256 r = n", S_ES, H_ES, P_STD, M_ES_RN, V_DEFAULT, 0, INVALID, "out of range" },
        { "ES256 s = n", S_ES, H_ES, P_STD, M_ES_SN, V_DEFAULT, 0, INVALID, "out of range" },
        { "ES256 r > n", S_ES, H_ES, P_STD, M_ES_RMAX, V_DEFAULT, 0, INVALID, "out of range" },
        { "ES256 bit flip", S_ES, H_ES, P_STD, M_SIG_FLIP, V_DEFAULT, 0, INVALID, "signature mismatch" },
        { "ES256 63 bytes", S_ES, H_ES, P_STD, M_SIG_TRUNC, V_DEFAULT, 0, INVALID, "wrong length" },
        { "EdDSA bit flip", S_ED, H_ED, P_STD, M_SIG_FLIP, V_DEFAULT, 0, INVALID, "signature mismatch" },
        { "EdDSA tampered payload", S_ED, H_ED, P_STD, M_TAMPER, V_DEFAULT, 0, INVALID, "signature mismatch" },
        { "EdDSA 63 bytes", S_ED, H_ED, P_STD, M_SIG_TRUNC, V_DEFAULT, 0, INVALID, "wrong length" },
        { "EdDSA 65 bytes", S_ED, H_ED, P_STD, M_SIG_EXTEND, V_DEFAULT, 0, INVALID, "wrong length" },
        { "RS256 header, HS256 signature", S_HS, H_RS, P_STD, M_NONE, V_DEFAULT, 0, INVALID, "wrong length" },

        /* Time claims. */
        { "exp missing", S_HS, H_HS, P_NO_EXP(C_SCOPE), M_NONE, V_DEFAULT, 0, INVALID, "no exp" },
        { "exp a string", S_HS, H_HS, P_NO_EXP("\"exp\":\"1800003600\""), M_NONE, V_DEFAULT, 0, INVALID, "exp must" },
        { "exp a real", S_HS, H_HS, P_NO_EXP("\"exp\":1800003600.0"), M_NONE, V_DEFAULT, 0, INVALID, "exp must" },
        { "exp in exponent form", S_HS, H_HS, P_NO_EXP("\"exp\":1.8000036e9"), M_NONE, V_DEFAULT, 0, INVALID,
          "exp must" },
        { "exp negative", S_HS, H_HS, P_NO_EXP("\"exp\":-1"), M_NONE, V_DEFAULT, 0, INVALID, "exp must" },
        { "exp null", S_HS, H_HS, P_NO_EXP("\"exp\":null"), M_NONE, V_DEFAULT, 0, INVALID, "exp must" },
        { "exp beyond year 9999", S_HS, H_HS, P_NO_EXP("\"exp\":253402300800"), M_NONE, V_DEFAULT, 0, INVALID,
          "exp must" },
        { "exp int64 max", S_HS, H_HS, P_NO_EXP("\"exp\":9223372036854775807"), M_NONE, V_DEFAULT, 0, INVALID,
          "exp must" },
        { "exp overflowing int64", S_HS, H_HS, P_NO_EXP("\"exp\":9223372036854775808"), M_NONE, V_DEFAULT, 0,
          INVALID, "payload is not" },
        { "exp overflowing double", S_HS, H_HS, P_NO_EXP("\"exp\":1e400"), M_NONE, V_DEFAULT, 0, INVALID,
          "payload is not" },
        { "iat a real", S_HS, H_HS, P_NO_IAT("\"iat\":1800000000.5"), M_NONE, V_DEFAULT, 0, INVALID, "iat must" },
        { "iat negative", S_HS, H_HS, P_NO_IAT("\"iat\":-5"), M_NONE, V_DEFAULT, 0, INVALID, "iat must" },
        { "iat a string", S_HS, H_HS, P_NO_IAT("\"iat\":\"now\""), M_NONE, V_DEFAULT, 0, INVALID, "iat must" },
        { "nbf a string", S_HS, H_HS, P_PLUS("\"nbf\":\"1800000000\""), M_NONE, V_DEFAULT, 0, INVALID, "nbf must" },
        { "nbf negative", S_HS, H_HS, P_PLUS("\"nbf\":-1"), M_NONE, V_DEFAULT, 0, INVALID, "nbf must" },
        { "nbf huge", S_HS, H_HS, P_PLUS("\"nbf\":99999999999999"), M_NONE, V_DEFAULT, 0, INVALID, "nbf must" },
        { "expired 31 s beyond skew", S_HS, H_HS, P_STD, M_NONE, V_DEFAULT, 1800003600 + 31, EXPIRED, "expired" },
        { "expired an hour ago", S_HS, H_HS, P_STD, M_NONE, V_DEFAULT, 1800007200, EXPIRED, "expired" },
        { "expired within skew", S_HS, H_HS, P_STD, M_NONE, V_DEFAULT, 1800003600 + 30, AUTH_OK, NULL },
        { "expired and tampered is invalid", S_HS, H_HS, P_STD, M_TAMPER, V_DEFAULT, 1800007200, INVALID,
          "signature mismatch" },
        { "nbf 31 s in the future", S_HS, H_HS, P_PLUS("\"nbf\":1800000031"), M_NONE, V_DEFAULT, 0, INVALID,
          "not yet valid" },
        { "nbf 30 s in the future", S_HS, H_HS, P_PLUS("\"nbf\":1800000030"), M_NONE, V_DEFAULT, 0, AUTH_OK, NULL },
        { "iat 31 s in the future", S_HS, H_HS, P_NO_IAT("\"iat\":1800000031"), M_NONE, V_DEFAULT, 0, INVALID,
          "issued in the future" },
        { "iat 30 s in the future", S_HS, H_HS, P_NO_IAT("\"iat\":1800000030"), M_NONE, V_DEFAULT, 0, AUTH_OK,
          NULL },
        { "exp before iat", S_HS, H_HS, P_NO_IAT("\"iat\":1800003601"), M_NONE, V_DEFAULT, 1800003601, INVALID,
          "expires before" },
        { "TTL above max (exp - iat)", S_HS, H_HS,
          "{" C_SUB "," C_ISS "," C_AUD "," C_IAT ",\"exp\":1800086401}", M_NONE, V_DEFAULT, 0, INVALID,
          "lifetime" },
        { "TTL at max", S_HS, H_HS, "{" C_SUB "," C_ISS "," C_AUD "," C_IAT ",\"exp\":1800086400}", M_NONE,
          V_DEFAULT, 0, AUTH_OK, NULL },
        { "TTL above max (no iat: exp - now)", S_HS, H_HS, "{" C_SUB "," C_ISS "," C_AUD ",\"exp\":1800086401}",
          M_NONE, V_DEFAULT, 0, INVALID, "lifetime" },
        { "old iat makes a long TTL", S_HS, H_HS,
          "{" C_SUB "," C_ISS "," C_AUD ",\"iat\":1000000000," C_EXP "}", M_NONE, V_DEFAULT, 0, INVALID,
          "lifetime" },

        /* aud / iss. */
        { "aud missing", S_HS, H_HS, P_NO_AUD(C_SCOPE), M_NONE, V_DEFAULT, 0, INVALID, "no aud" },
        { "aud other", S_HS, H_HS, P_NO_AUD("\"aud\":\"other\""), M_NONE, V_DEFAULT, 0, INVALID, "aud does not" },
        { "aud with a trailing space", S_HS, H_HS, P_NO_AUD("\"aud\":\"sm-test \""), M_NONE, V_DEFAULT, 0, INVALID,
          "aud does not" },
        { "aud prefix", S_HS, H_HS, P_NO_AUD("\"aud\":\"sm-tes\""), M_NONE, V_DEFAULT, 0, INVALID, "aud does not" },
        { "aud empty array", S_HS, H_HS, P_NO_AUD("\"aud\":[]"), M_NONE, V_DEFAULT, 0, INVALID, "non-empty array" },
        { "aud array without us", S_HS, H_HS, P_NO_AUD("\"aud\":[\"a\",\"b\"]"), M_NONE, V_DEFAULT, 0, INVALID,
          "does not include" },
        { "aud array with a number", S_HS, H_HS, P_NO_AUD("\"aud\":[1,\"sm-test\"]"), M_NONE, V_DEFAULT, 0,
          INVALID, "must be strings" },
        { "aud a number", S_HS, H_HS, P_NO_AUD("\"aud\":7"), M_NONE, V_DEFAULT, 0, INVALID, "non-empty array" },
        { "aud an object", S_HS, H_HS, P_NO_AUD("\"aud\":{\"sm-test\":1}"), M_NONE, V_DEFAULT, 0, INVALID,
          "non-empty array" },
        { "aud array with us", S_HS, H_HS, P_NO_AUD("\"aud\":[\"other\",\"sm-test\"]"), M_NONE, V_DEFAULT, 0,
          AUTH_OK, NULL },
        { "aud present, none configured", S_HS, H_HS, P_STD, M_NONE, V_NO_AUD, 0, INVALID,
          "jwt.audience is not configured" },
        { "no aud, none configured", S_HS, H_HS, P_NO_AUD(C_SCOPE), M_NONE, V_NO_AUD, 0, AUTH_OK, NULL },
        { "iss missing", S_HS, H_HS, P_NO_ISS(C_SCOPE), M_NONE, V_DEFAULT, 0, INVALID, "iss does not" },
        { "iss with a trailing slash", S_HS, H_HS, P_NO_ISS("\"iss\":\"https://idp.example/\""), M_NONE, V_DEFAULT,
          0, INVALID, "iss does not" },
        { "iss one byte short", S_HS, H_HS, P_NO_ISS("\"iss\":\"https://idp.exampl\""), M_NONE, V_DEFAULT, 0,
          INVALID, "iss does not" },
        { "iss one byte different", S_HS, H_HS, P_NO_ISS("\"iss\":\"https://idp.examplf\""), M_NONE, V_DEFAULT, 0,
          INVALID, "iss does not" },
        { "iss case differs", S_HS, H_HS, P_NO_ISS("\"iss\":\"https://IDP.example\""), M_NONE, V_DEFAULT, 0,
          INVALID, "iss does not" },
        { "iss a number", S_HS, H_HS, P_NO_ISS("\"iss\":1"), M_NONE, V_DEFAULT, 0, INVALID, "iss must" },

        /* sub, jti, scope claim types. */
        { "sub missing", S_HS, H_HS, P_NO_SUB(C_SCOPE), M_NONE, V_DEFAULT, 0, INVALID, "sub must" },
        { "sub empty", S_HS, H_HS, P_NO_SUB("\"sub\":\"\""), M_NONE, V_DEFAULT, 0, INVALID, "sub must" },
        { "sub a number", S_HS, H_HS, P_NO_SUB("\"sub\":42"), M_NONE, V_DEFAULT, 0, INVALID, "sub must" },
        { "sub with a newline", S_HS, H_HS, P_NO_SUB("\"sub\":\"a\\nb\""), M_NONE, V_DEFAULT, 0, INVALID,
          "sub must" },
        { "jti a number", S_HS, H_HS, P_PLUS("\"jti\":1"), M_NONE, V_DEFAULT, 0, INVALID, "jti must" },
        { "jti empty", S_HS, H_HS, P_PLUS("\"jti\":\"\""), M_NONE, V_DEFAULT, 0, INVALID, "jti must" },
        { "scope an array", S_HS, H_HS, P_PLUS("\"scope\":[\"system:read\"]"), M_NONE, V_DEFAULT, 0, INVALID,
          "wrong type" },
        { "scopes an object", S_HS, H_HS, P_PLUS("\"scopes\":{}"), M_NONE, V_DEFAULT, 0, INVALID, "wrong type" },
        { "scp with a number", S_HS, H_HS, P_PLUS("\"scp\":[\"system:read\",1]"), M_NONE, V_DEFAULT, 0, INVALID,
          "wrong type" },
        { "systemmanager a string", S_HS, H_HS, P_PLUS("\"systemmanager\":\"admin\""), M_NONE, V_DEFAULT, 0,
          INVALID, "systemmanager.scopes" },
        { "systemmanager.scopes a string", S_HS, H_HS, P_PLUS("\"systemmanager\":{\"scopes\":\"admin\"}"), M_NONE,
          V_DEFAULT, 0, INVALID, "systemmanager.scopes" },

        /* Size. */
        { "token above 8 KiB", S_HS, H_HS, P_STD, M_OVERSIZE, V_DEFAULT, 0, INVALID, "maximum size" },

        /* Good tokens of each algorithm (the round-trip test covers claims). */
        { "HS256 ok", S_HS, H_HS, P_STD, M_NONE, V_DEFAULT, 0, AUTH_OK, NULL },
        { "RS256 ok", S_RS, H_RS, P_STD, M_NONE, V_DEFAULT, 0, AUTH_OK, NULL },
        { "ES256 ok", S_ES, H_ES, P_STD, M_NONE, V_DEFAULT, 0, AUTH_OK, NULL },
        { "EdDSA ok", S_ED, H_ED, P_STD, M_NONE, V_DEFAULT, 0, AUTH_OK, NULL },
        { "RS256 ok, no kid, one RSA key", S_RS, "{\"alg\":\"RS256\"}", P_STD, M_NONE, V_DEFAULT, 0, AUTH_OK, NULL },
        { "EdDSA ok with ed2 kid", S_ED, H_ED, P_STD, M_NONE, V_TWO_ED, 0, AUTH_OK, NULL },
};

/* Substitutes the attacker's public JWK for "@ATTACKER@". */
static char *expand_header(const char *h) {
        const char *at = strstr(h, "@ATTACKER@");
        _cleanup_free_ char *head = NULL, *jwk_text = NULL;
        json_t *jwk;
        char *r;

        if (!at)
                return strdup(h);
        jwk = jwk_of(attacker_key, NULL);
        jwk_text = json_dumps(jwk, JSON_COMPACT);
        json_decref(jwk);
        head = strndup(h, (size_t) (at - h));
        r = strjoin3(head, jwk_text, at + strlen("@ATTACKER@"));
        return r;
}

static void test_hostile_table(void **state) {
        size_t failures = 0;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const Case *c = &cases[i];
                _cleanup_free_ char *header = expand_header(c->header);
                _cleanup_free_ char *token = mint_token(c->signer, header, c->payload, c->mutation);
                Identity *id = NULL;
                const char *detail = NULL;
                AuthError e;

                e = jwt_verify(verifiers[c->verifier], token, strlen(token), c->now ? c->now : NOW, &id, &detail);
                if (e != c->expect) {
                        print_error("case %zu \"%s\": got %s (%s), expected %s\n", i, c->name, auth_error_code(e),
                                    detail ? detail : "-", auth_error_code(c->expect));
                        failures++;
                } else if (c->expect != AUTH_OK && (!detail || !strstr(detail, c->detail))) {
                        print_error("case %zu \"%s\": detail \"%s\", expected it to mention \"%s\"\n", i, c->name,
                                    detail ? detail : "(null)", c->detail);
                        failures++;
                } else if (c->expect == AUTH_OK && (!id || detail)) {
                        print_error("case %zu \"%s\": OK without identity or with a detail\n", i, c->name);
                        failures++;
                } else if (c->expect != AUTH_OK && id) {
                        print_error("case %zu \"%s\": failure but an identity was returned\n", i, c->name);
                        failures++;
                }
                identity_unref(id);
        }
        if (failures > 0)
                fail_msg("%zu of %zu hostile-table cases failed", failures, ELEMENTSOF(cases));
}

/* --- round trips: every algorithm × every scope claim form ----------------- */

static void test_round_trips(void **state) {
        static const struct {
                Signer signer;
                const char *header;
                JwsAlg alg;
        } algs[] = {
                { S_HS, H_HS, JWS_ALG_HS256 },
                { S_RS, H_RS, JWS_ALG_RS256 },
                { S_ES, H_ES, JWS_ALG_ES256 },
                { S_ED, H_ED, JWS_ALG_EDDSA },
        };
        static const struct {
                const char *claims;
                ScopeSet expect;
        } forms[] = {
                { "\"scope\":\"system:read network:read\"", SCOPE_BIT(SCOPE_SYSTEM_READ) | SCOPE_BIT(SCOPE_NETWORK_READ) },
                { "\"scope\":\"system:read,network:read\"", SCOPE_BIT(SCOPE_SYSTEM_READ) | SCOPE_BIT(SCOPE_NETWORK_READ) },
                { "\"scope\":\" system:read , network:read ,\"",
                  SCOPE_BIT(SCOPE_SYSTEM_READ) | SCOPE_BIT(SCOPE_NETWORK_READ) },
                { "\"scopes\":[\"system:read\",\"file:read\"]", SCOPE_BIT(SCOPE_SYSTEM_READ) | SCOPE_BIT(SCOPE_FILE_READ) },
                { "\"scopes\":\"system:read file:read\"", SCOPE_BIT(SCOPE_SYSTEM_READ) | SCOPE_BIT(SCOPE_FILE_READ) },
                { "\"scp\":[\"health:read\"]", SCOPE_BIT(SCOPE_HEALTH_READ) },
                { "\"scp\":\"health:read,metrics:read\"", SCOPE_BIT(SCOPE_HEALTH_READ) | SCOPE_BIT(SCOPE_METRICS_READ) },
                { "\"systemmanager\":{\"scopes\":[\"container:write\"]}", SCOPE_BIT(SCOPE_CONTAINER_WRITE) },
                { "\"scope\":\"readonly\"", 0 /* = scope_readonly_set() */ },
                { "\"scp\":[\"admin\"]", SCOPESET_ALL },
                { "\"scope\":\"openid profile system:read unknown:thing\"", SCOPE_BIT(SCOPE_SYSTEM_READ) },
                { "\"scope\":\"system:read\",\"scopes\":[\"file:read\"],\"scp\":\"health:read\","
                  "\"systemmanager\":{\"scopes\":[\"metrics:read\"]}",
                  SCOPE_BIT(SCOPE_SYSTEM_READ) | SCOPE_BIT(SCOPE_FILE_READ) | SCOPE_BIT(SCOPE_HEALTH_READ) |
                          SCOPE_BIT(SCOPE_METRICS_READ) },
                { "\"scope\":\"\"", 0 },
                { "\"scope\":\"System:Read\"", 0 },
        };

        for (size_t a = 0; a < ELEMENTSOF(algs); a++)
                for (size_t f = 0; f < ELEMENTSOF(forms); f++) {
                        _cleanup_free_ char *payload = NULL, *token = NULL;
                        ScopeSet expect = forms[f].expect;
                        Identity *id = NULL;
                        const char *detail = "unset";
                        AuthError e;

                        if (strstr(forms[f].claims, "\"readonly\""))
                                expect = scope_readonly_set();
                        payload = strjoin3("{" C_SUB "," C_ISS "," C_AUD "," C_IAT "," C_EXP
                                           ",\"jti\":\"tok-1\",",
                                           forms[f].claims, "}");
                        token = mint_token(algs[a].signer, algs[a].header, payload, M_NONE);
                        e = jwt_verify(verifiers[V_DEFAULT], token, strlen(token), NOW, &id, &detail);
                        if (e != AUTH_OK)
                                fail_msg("%s form %zu: %s (%s)", jws_alg_to_string(algs[a].alg), f,
                                         auth_error_code(e), detail);
                        assert_null(detail);
                        assert_non_null(id);
                        assert_int_equal(id->method, AUTH_METHOD_JWT);
                        assert_string_equal(id->subject, "agent-7");
                        assert_string_equal(id->token_id, "tok-1");
                        assert_string_equal(id->audience, AUD);
                        assert_int_equal(id->issued_at, 1800000000);
                        assert_int_equal(id->expires_at, 1800003600);
                        assert_int_equal(strlen(id->token_sha256), 16);
                        if (id->scopes != expect)
                                fail_msg("%s form %zu: scopes %#x, expected %#x", jws_alg_to_string(algs[a].alg), f,
                                         id->scopes, expect);
                        identity_unref(id);
                }
}

/* One verifier, many threads: the copy-only templates and the HMAC pool must
 * hold up (run under ASan in the sanitizer build). */
typedef struct ThreadArg {
        char *tokens[4];
        unsigned failures;
} ThreadArg;

static void *verify_thread(void *p) {
        ThreadArg *a = p;

        for (int i = 0; i < 100; i++)
                for (size_t t = 0; t < ELEMENTSOF(a->tokens); t++) {
                        Identity *id = NULL;
                        const char *detail = NULL;

                        if (jwt_verify(verifiers[V_DEFAULT], a->tokens[t], strlen(a->tokens[t]), NOW, &id, &detail) !=
                                    AUTH_OK ||
                            !id || id->method != AUTH_METHOD_JWT)
                                a->failures++;
                        identity_unref(id);
                }
        return NULL;
}

static void test_concurrent(void **state) {
        ThreadArg args[4] = {};
        pthread_t th[4];

        for (size_t i = 0; i < ELEMENTSOF(args); i++) {
                args[i].tokens[0] = mint_token(S_HS, H_HS, P_STD, M_NONE);
                args[i].tokens[1] = mint_token(S_RS, H_RS, P_STD, M_NONE);
                args[i].tokens[2] = mint_token(S_ES, H_ES, P_STD, M_NONE);
                args[i].tokens[3] = mint_token(S_ED, H_ED, P_STD, M_NONE);
        }
        for (size_t i = 0; i < ELEMENTSOF(th); i++)
                assert_int_equal(pthread_create(&th[i], NULL, verify_thread, &args[i]), 0);
        for (size_t i = 0; i < ELEMENTSOF(th); i++) {
                assert_int_equal(pthread_join(th[i], NULL), 0);
                assert_int_equal(args[i].failures, 0);
                for (size_t t = 0; t < ELEMENTSOF(args[i].tokens); t++)
                        free(args[i].tokens[t]);
        }
}

/* --- configuration-time checks -------------------------------------------- */

static int add_jwks_json(JwtVerifier *v, json_t *keys_array, unsigned *skipped, const char **detail) {
        json_t *root = json_pack("{s:o}", "keys", keys_array);
        char *s = json_dumps(root, JSON_COMPACT);
        int r = jwt_verifier_add_jwks(v, s, strlen(s), skipped, detail);

        free(s);
        json_decref(root);
        return r;
}

static JwtVerifier *empty_verifier(void) {
        JwtConfig cfg = {};
        JwtVerifier *v = NULL;

        assert_int_equal(jwt_verifier_new(&cfg, &v, NULL), 0);
        return v;
}

static void test_load_hmac(void **state) {
        JwtVerifier *v = empty_verifier();
        const char *detail = NULL;
        static const char *const no_hs[] = { "RS256", "EdDSA", NULL };
        JwtConfig cfg = { .allowed_algorithms = no_hs };
        JwtVerifier *w = NULL;

        assert_int_equal(jwt_verifier_add_hmac_secret(v, "", 0, NULL, &detail), -EINVAL);
        assert_int_equal(jwt_verifier_add_hmac_secret(v, SECRET, 31, NULL, &detail), -EINVAL);
        assert_non_null(strstr(detail, "32 bytes"));
        assert_int_equal(jwt_verifier_n_keys(v), 0);
        assert_int_equal(jwt_verifier_add_hmac_secret(v, SECRET, 32, "k1", &detail), 0);
        assert_int_equal(jwt_verifier_add_hmac_secret(v, SECRET, 32, "k1", &detail), -EEXIST);
        assert_int_equal(jwt_verifier_n_keys(v), 1);
        jwt_verifier_free(v);

        /* A secret for an algorithm the operator disallowed is a mistake. */
        assert_int_equal(jwt_verifier_new(&cfg, &w, NULL), 0);
        assert_int_equal(jwt_verifier_add_hmac_secret(w, SECRET, strlen(SECRET), NULL, &detail), -EINVAL);
        jwt_verifier_free(w);
}

static void test_load_config(void **state) {
        static const char *const with_none[] = { "HS256", "none", NULL };
        static const char *const lower[] = { "rs256", NULL };
        JwtConfig bad1 = { .allowed_algorithms = with_none }, bad2 = { .allowed_algorithms = lower },
                  bad3 = { .max_ttl_seconds = -1 }, bad4 = { .audience = "" };
        JwtVerifier *v = NULL;

        assert_int_equal(jwt_verifier_new(&bad1, &v, NULL), -EINVAL);
        assert_int_equal(jwt_verifier_new(&bad2, &v, NULL), -EINVAL);
        assert_int_equal(jwt_verifier_new(&bad3, &v, NULL), -EINVAL);
        assert_int_equal(jwt_verifier_new(&bad4, &v, NULL), -EINVAL);
        assert_null(v);
        assert_int_equal(jws_alg_from_string("none"), _JWS_ALG_INVALID);
        assert_int_equal(jws_alg_from_string("EdDSA"), JWS_ALG_EDDSA);
        assert_string_equal(jws_alg_to_string(JWS_ALG_ES256), "ES256");
        assert_null(jws_alg_to_string(_JWS_ALG_MAX));
}

typedef struct JwksCase {
        const char *name;
        const char *jwk_json;   /* one JWK object; "@RSA1024@" etc. replaced */
        int expect;             /* 0 added, 1 skipped, negative = refused */
        const char *detail;
} JwksCase;

static char *jwk_text_of(EVP_PKEY *pk, const char *extra_member, const char *extra_value) {
        json_t *j = jwk_of(pk, NULL);
        char *s;

        if (extra_member)
                json_object_set_new(j, extra_member, json_string(extra_value));
        s = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        return s;
}

static void test_load_jwks(void **state) {
        _cleanup_free_ char *rsa1024 = jwk_text_of(rsa1024_key, NULL, NULL);
        _cleanup_free_ char *ec_alg_rs = jwk_text_of(ec_key, "alg", "RS256");
        _cleanup_free_ char *ed_alg_ok = jwk_text_of(ed_key, "alg", "EdDSA");
        _cleanup_free_ char *rsa_alg_ps = jwk_text_of(rsa_key, "alg", "PS256");
        _cleanup_free_ char *rsa_with_d = jwk_text_of(rsa_key, "d", "AQAB");
        _cleanup_free_ char *ec_with_d = jwk_text_of(ec_key, "d", "AQAB");
        _cleanup_free_ char *rsa_use_enc = jwk_text_of(rsa_key, "use", "enc");
        _cleanup_free_ char *rsa_use_sig = jwk_text_of(rsa_key, "use", "sig");
        const struct {
                const char *name;
                const char *jwk;
                int expect;
        } table[] = {
                { "RSA-1024 refused", rsa1024, -EINVAL },
                { "EC key with alg RS256 refused", ec_alg_rs, -EINVAL },
                { "RSA key with alg PS256 refused", rsa_alg_ps, -EINVAL },
                { "Ed25519 key with alg EdDSA ok", ed_alg_ok, 0 },
                { "RSA with private d refused", rsa_with_d, -EINVAL },
                { "EC with private d refused", ec_with_d, -EINVAL },
                { "use enc skipped", rsa_use_enc, 1 },
                { "use sig ok", rsa_use_sig, 0 },
                { "EC x too short refused",
                  "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":\"AAAA\"}", -EINVAL },
                /* (1, 1) is not on P-256. */
                { "EC point off the curve refused",
                  "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\","
                  "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\"}", -EINVAL },
                { "EC P-384 skipped", "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AA\",\"y\":\"AA\"}", 1 },
                { "OKP Ed448 skipped", "{\"kty\":\"OKP\",\"crv\":\"Ed448\",\"x\":\"AA\"}", 1 },
                { "OKP X25519 skipped", "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"AA\"}", 1 },
                { "unknown kty skipped", "{\"kty\":\"XYZ\"}", 1 },
                { "kty missing refused", "{\"n\":\"AQAB\"}", -EINVAL },
                { "kty a number refused", "{\"kty\":1}", -EINVAL },
                { "kid a number refused", "{\"kty\":\"oct\",\"kid\":1,\"k\":\"AAAA\"}", -EINVAL },
                { "oct 16 bytes refused", "{\"kty\":\"oct\",\"k\":\"AAAAAAAAAAAAAAAAAAAAAA\"}", -EINVAL },
                { "oct 32 bytes ok", "{\"kty\":\"oct\",\"k\":\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY\"}", 0 },
                { "oct padded k refused",
                  "{\"kty\":\"oct\",\"k\":\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\"}", -EINVAL },
                { "Ed25519 x 31 bytes refused",
                  "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}", -EINVAL },
                { "RSA even exponent refused",
                  "{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"Ag\"}", -EINVAL },
                { "not an object refused", "\"key\"", -EINVAL },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                JwtVerifier *v = empty_verifier();
                json_error_t jerr;
                json_t *jwk = json_loads(table[i].jwk, JSON_DECODE_ANY, &jerr);
                const char *detail = NULL;
                unsigned skipped = 0;
                int r;

                if (!jwk)
                        fail_msg("%s: bad test JSON", table[i].name);
                r = add_jwks_json(v, json_pack("[o]", jwk), &skipped, &detail);
                if (table[i].expect < 0) {
                        if (r != table[i].expect || !detail || jwt_verifier_n_keys(v) != 0)
                                fail_msg("%s: r=%d detail=%s keys=%zu", table[i].name, r, detail ? detail : "-",
                                         jwt_verifier_n_keys(v));
                } else {
                        if (r != 0 || skipped != (unsigned) table[i].expect ||
                            jwt_verifier_n_keys(v) != (size_t) (1 - table[i].expect))
                                fail_msg("%s: r=%d (%s) skipped=%u keys=%zu", table[i].name, r,
                                         detail ? detail : "-", skipped, jwt_verifier_n_keys(v));
                }
                jwt_verifier_free(v);
        }
}

static void test_load_jwks_document(void **state) {
        static const char *const docs[] = {
                "",
                "[]",
                "{}",
                "{\"keys\":{}}",
                "{\"keys\":[],\"keys\":[]}",
                "{\"keys\":[]} x",
        };
        JwtVerifier *v = empty_verifier();
        const char *detail = NULL;
        unsigned skipped = 0;
        json_t *keys;

        for (size_t i = 0; i < ELEMENTSOF(docs); i++)
                if (jwt_verifier_add_jwks(v, docs[i], strlen(docs[i]), &skipped, &detail) >= 0)
                        fail_msg("JWKS document %zu accepted", i);

        /* Duplicate kids are refused, and all-or-nothing: nothing added. */
        keys = json_array();
        json_array_append_new(keys, jwk_of(ed_key, "same"));
        json_array_append_new(keys, jwk_of(ed2_key, "same"));
        assert_int_equal(add_jwks_json(v, keys, &skipped, &detail), -EINVAL);
        assert_int_equal(jwt_verifier_n_keys(v), 0);

        /* A kid already used by an earlier source is a duplicate too. */
        assert_int_equal(jwt_verifier_add_hmac_secret(v, SECRET, strlen(SECRET), "dup", &detail), 0);
        keys = json_array();
        json_array_append_new(keys, jwk_of(ed_key, "dup"));
        assert_int_equal(add_jwks_json(v, keys, &skipped, &detail), -EINVAL);
        assert_int_equal(jwt_verifier_n_keys(v), 1);

        /* More than JWT_MAX_KEYS keys. */
        keys = json_array();
        for (int i = 0; i < JWT_MAX_KEYS + 1; i++) {
                char kid[16];

                snprintf(kid, sizeof(kid), "k%d", i);
                json_array_append_new(keys, jwk_of(ed_key, kid));
        }
        assert_int_equal(add_jwks_json(v, keys, &skipped, &detail), -E2BIG);
        assert_int_equal(jwt_verifier_n_keys(v), 1);
        jwt_verifier_free(v);
}

static void test_jwks_file(void **state) {
        char path[] = "/tmp/test_jose_jwks_XXXXXX";
        _cleanup_free_ char *text = jwks_text(jwk_of(ed_key, "ed1"), NULL, NULL, NULL);
        JwtVerifier *v = empty_verifier();
        const char *detail = NULL;
        unsigned skipped = 0;
        int fd;

        fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);

        assert_int_equal(chmod(path, 0644), 0);
        assert_int_equal(jwt_verifier_add_jwks_file(v, path, &skipped, &detail), 0);
        assert_int_equal(jwt_verifier_n_keys(v), 1);

        /* Whoever can write the key set can mint tokens. */
        assert_int_equal(chmod(path, 0666), 0);
        assert_int_equal(jwt_verifier_add_jwks_file(v, path, &skipped, &detail), -EPERM);
        unlink(path);
        assert_int_equal(jwt_verifier_add_jwks_file(v, path, &skipped, &detail), -ENOENT);
        assert_int_equal(jwt_verifier_add_jwks_file(v, "/tmp", &skipped, &detail), -EINVAL);
        jwt_verifier_free(v);
}

/* RFC 7515 Appendix A.1 (HS256) with an injected clock: the signature
 * verifies; the token is then refused only because it has no "sub" (our
 * policy), which proves the verifier got past the signature. */
static void test_rfc7515_a1(void **state) {
        static const char token[] =
                "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
                ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
                ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        static const char k_b64[] =
                "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
        uint8_t key[64];
        JwtVerifier *v = empty_verifier();
        const char *detail = NULL;
        Identity *id = NULL;
        _cleanup_free_ char *flipped = strdup(token);

        assert_int_equal(base64url_decode(k_b64, strlen(k_b64), key, sizeof(key)), 64);
        assert_int_equal(jwt_verifier_add_hmac_secret(v, key, sizeof(key), NULL, &detail), 0);

        assert_int_equal(jwt_verify(v, token, strlen(token), 1300819000, &id, &detail), AUTH_ERR_INVALID_TOKEN);
        assert_null(id);
        assert_non_null(strstr(detail, "sub must"));

        flipped[strlen(flipped) - 2] = flipped[strlen(flipped) - 2] == 'X' ? 'Y' : 'X';
        assert_int_equal(jwt_verify(v, flipped, strlen(flipped), 1300819000, &id, &detail), AUTH_ERR_INVALID_TOKEN);
        assert_non_null(strstr(detail, "signature mismatch"));
        jwt_verifier_free(v);
}

/* RFC 7515 Appendix A.2 (RS256) and A.3 (ES256), the keys as the appendix
 * prints them (public parts only), with an injected clock: each signature
 * verifies (the token then fails only on our "sub is required" policy),
 * and a flipped bit does not. */
static void test_rfc7515_a2_a3(void **state) {
        static const char payload[] =
                "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
        static const char jwks[] =
                "{\"keys\":["
                "{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx"
                "HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0"
                "LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_"
                "I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ\"},"
                "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
                "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}";
        static const struct {
                const char *header, *sig;
        } vectors[] = {
                { "eyJhbGciOiJSUzI1NiJ9",
                  "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJ"
                  "dbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN"
                  "9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXL"
                  "IhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw" },
                { "eyJhbGciOiJFUzI1NiJ9",
                  "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q" },
        };
        JwtVerifier *v = empty_verifier();
        const char *detail = NULL;
        unsigned skipped = 9;

        assert_int_equal(jwt_verifier_add_jwks(v, jwks, strlen(jwks), &skipped, &detail), 0);
        assert_int_equal(skipped, 0);
        assert_int_equal(jwt_verifier_n_keys(v), 2);

        for (size_t i = 0; i < ELEMENTSOF(vectors); i++) {
                _cleanup_free_ char *hp = strjoin3(vectors[i].header, ".", payload);
                _cleanup_free_ char *token = strjoin3(hp, ".", vectors[i].sig);
                Identity *id = NULL;
                size_t n = strlen(token);

                assert_int_equal(jwt_verify(v, token, n, 1300819000, &id, &detail), AUTH_ERR_INVALID_TOKEN);
                assert_null(id);
                if (!strstr(detail, "sub must"))
                        fail_msg("vector %zu: %s", i, detail);

                token[n - 10] = token[n - 10] == 'A' ? 'B' : 'A';
                assert_int_equal(jwt_verify(v, token, n, 1300819000, &id, &detail), AUTH_ERR_INVALID_TOKEN);
                if (!strstr(detail, "signature mismatch") && !strstr(detail, "out of range"))
                        fail_msg("vector %zu tampered: %s", i, detail);
        }
        jwt_verifier_free(v);
}

static void test_jwks_url_policy(void **state) {
        static const struct {
                const char *url;
                int expect;
        } table[] = {
                { "https://idp.example/.well-known/jwks.json", 0 },
                { "http://127.0.0.1:8443/jwks", 0 },
                { "http://localhost/jwks", 0 },
                { "http://[::1]:9/jwks", 0 },
                { "http://idp.example/jwks", -EINVAL },          /* plain http off loopback */
                { "http://127.0.0.1.evil.example/jwks", -EINVAL },
                { "http://127.0.0.1:80@evil.example/jwks", -EINVAL }, /* user info */
                { "https://user:pw@idp.example/jwks", -EINVAL },
                { "ftp://idp.example/jwks", -EINVAL },
                { "file:///etc/passwd", -EINVAL },
                { "https://idp.example/jw ks", -EINVAL },
                { "not a url", -EINVAL },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                JwtVerifier *v = empty_verifier();
                JwksUrlConfig uc = { .url = table[i].url };
                const char *detail = NULL;
                int r = jwt_verifier_set_jwks_url(v, &uc, &detail);

                if (r != table[i].expect)
                        fail_msg("%s: %d (%s), expected %d", table[i].url, r, detail ? detail : "-", table[i].expect);
                jwt_verifier_free(v);
        }
}

/* An IdP that is down: the start does not fail, tokens for unknown keys are
 * refused (and only ask for a refetch), and freeing stops the thread. */
static void test_jwks_url_down(void **state) {
        JwtVerifier *v = new_verifier(NULL, AUD, ISS, true, NULL);
        JwksUrlConfig uc = { .url = "http://127.0.0.1:1/jwks", .cache_ttl_seconds = 10, .fetch_timeout_seconds = 1 };
        _cleanup_free_ char *ed = mint_token(S_ED, H_ED, P_STD, M_NONE), *hs = mint_token(S_HS, H_HS, P_STD, M_NONE);
        const char *detail = NULL;
        Identity *id = NULL;
        int initial = 1;

        assert_int_equal(jwt_verifier_set_jwks_url(v, &uc, &detail), 0);
        assert_int_equal(jwt_verifier_set_jwks_url(v, &uc, &detail), -EEXIST);
        assert_int_equal(jwt_verifier_start_jwks_fetcher(v, &initial, &detail), 0);
        assert_true(initial < 0);
        assert_non_null(detail);
        assert_int_equal(jwt_verifier_n_remote_keys(v), 0);
        assert_int_equal(jwt_verify(v, ed, strlen(ed), NOW, &id, &detail), AUTH_ERR_INVALID_TOKEN);
        assert_non_null(strstr(detail, "unknown kid"));
        /* Static keys keep working. */
        assert_int_equal(jwt_verify(v, hs, strlen(hs), NOW, &id, &detail), AUTH_OK);
        identity_unref(id);
        jwt_verifier_free(v);
}

/* --- the auth chain: shape picks the verifier, no cross-replay ------------ */

static void test_auth_chain(void **state) {
        AuthConfig cfg = { .mode = AUTH_MODE_OPTIONAL };
        _cleanup_free_ char *jwt = mint_token(S_HS, H_HS, P_STD, M_NONE);
        _cleanup_free_ char *hmac_tok = NULL, *jwt_as_hmac = NULL;
        static const char *const scopes[] = { "readonly", NULL };
        TokenMintParams p = { .agent = "agent-1", .scopes = scopes, .ttl_seconds = 600, .now = NOW };
        HmacKey *hk = NULL, *hk2 = NULL;
        Auth *a = NULL;
        Identity *id = NULL;
        const char *detail = NULL;
        JwtVerifier *v;
        char *dot;

        /* JWT only: required (a source exists), JWT accepted, HMAC refused. */
        v = new_verifier(NULL, AUD, ISS, true, NULL);
        assert_int_equal(auth_new(&cfg, NULL, &a), 0);
        assert_false(auth_required(a));
        auth_set_jwt(a, v);
        assert_true(auth_required(a));
        assert_int_equal(auth_authenticate_token(a, jwt, strlen(jwt), NOW, &id, &detail), AUTH_OK);
        assert_int_equal(id->method, AUTH_METHOD_JWT);
        id = identity_unref(id);

        /* An HMAC token minted with the very same secret is not a JWT. */
        assert_int_equal(hmac_key_new(SECRET, strlen(SECRET), &hk), 0);
        assert_int_equal(hmac_token_mint(hk, &p, &hmac_tok, NULL), 0);
        assert_int_equal(auth_authenticate_token(a, hmac_tok, strlen(hmac_tok), NOW, &id, &detail),
                         AUTH_ERR_INVALID_TOKEN);
        assert_null(id);
        assert_int_equal(jwt_verify(v, hmac_tok, strlen(hmac_tok), NOW, &id, &detail), AUTH_ERR_INVALID_TOKEN);
        auth_free(a);

        /* HMAC + JWT with the same secret: each token only as its own kind. */
        assert_int_equal(hmac_key_new(SECRET, strlen(SECRET), &hk2), 0);
        assert_int_equal(auth_new(&cfg, hk2, &a), 0);
        auth_set_jwt(a, new_verifier(NULL, AUD, ISS, true, NULL));
        assert_int_equal(auth_authenticate_token(a, hmac_tok, strlen(hmac_tok), NOW, &id, &detail), AUTH_OK);
        assert_int_equal(id->method, AUTH_METHOD_HMAC);
        id = identity_unref(id);
        assert_int_equal(auth_authenticate_token(a, jwt, strlen(jwt), NOW, &id, &detail), AUTH_OK);
        assert_int_equal(id->method, AUTH_METHOD_JWT);
        id = identity_unref(id);

        /* A JWT with its header dropped ("payload.sig", one dot) goes to the
         * HMAC verifier, which refuses it. */
        dot = strchr(jwt, '.');
        jwt_as_hmac = strdup(dot + 1);
        assert_int_equal(auth_authenticate_token(a, jwt_as_hmac, strlen(jwt_as_hmac), NOW, &id, &detail),
                         AUTH_ERR_INVALID_TOKEN);
        assert_null(id);

        /* And a JWT through the header path, Bearer prefix and all. */
        {
                _cleanup_free_ char *h = strjoin3("Bearer", " ", jwt);

                assert_int_equal(auth_authenticate_header(a, h, NOW, &id, &detail), AUTH_OK);
                id = identity_unref(id);
        }
        auth_free(a);
        hmac_key_free(hk);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_hostile_table),
                cmocka_unit_test(test_round_trips),
                cmocka_unit_test(test_concurrent),
                cmocka_unit_test(test_load_hmac),
                cmocka_unit_test(test_load_config),
                cmocka_unit_test(test_load_jwks),
                cmocka_unit_test(test_load_jwks_document),
                cmocka_unit_test(test_jwks_file),
                cmocka_unit_test(test_rfc7515_a1),
                cmocka_unit_test(test_rfc7515_a2_a3),
                cmocka_unit_test(test_jwks_url_policy),
                cmocka_unit_test(test_jwks_url_down),
                cmocka_unit_test(test_auth_chain),
        };

        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
