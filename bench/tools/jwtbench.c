/* SPDX-License-Identifier: MIT */
/* Verifications per second for each bearer-token method through the
 * project's own code, each next to the bare OpenSSL primitive it rests on:
 *
 *   jwt_HS256 / jwt_RS256 / jwt_ES256 / jwt_EdDSA   jwt_verify() (scopes/jose.c)
 *   prim_*                                          EVP_DigestVerify (or a
 *                                                   pre-keyed HMAC) over the
 *                                                   same signing input
 *   service_token                                   tokenstore_service_verify()
 *                                                   (SQLite lookup + SHA-256)
 *   prim_sha256                                     one SHA-256 of a 43-byte secret
 *
 * Keys come from `systemmanagerctl keygen` (bench/run.sh makes them), so the
 * JWKS is parsed by the same code the daemon uses:
 *
 *   jwtbench SECONDS STATE_DIR HMAC_FILE RSA_PEM RSA_JWKS EC_PEM EC_JWKS ED_PEM ED_JWKS
 *
 * The kid of each asymmetric key is its JWKS's first kid. Prints
 * "name ops_per_s ns_per_op" lines; exits non-zero if any token fails. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "common/encoding.h"
#include "scopes/jose.h"
#include "scopes/tokenstore.h"

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

#define RUN(name, secs, body)                                                                     \
        do {                                                                                      \
                unsigned long n_ = 0;                                                             \
                double t0_ = now_s(), t_;                                                         \
                do {                                                                              \
                        for (int i_ = 0; i_ < 64; i_++) { body; }                                  \
                        n_ += 64;                                                                 \
                        t_ = now_s() - t0_;                                                       \
                } while (t_ < (secs));                                                            \
                printf("%s %.0f %.1f\n", name, (double) n_ / t_, t_ * 1e9 / (double) n_);          \
        } while (0)

static void die(const char *what) {
        fprintf(stderr, "jwtbench: %s\n", what);
        exit(1);
}

static char *slurp(const char *path) {
        FILE *f = fopen(path, "r");
        static char buf[65536];
        size_t n;

        if (!f)
                die(path);
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
                buf[--n] = 0;
        return strdup(buf);
}

static EVP_PKEY *read_key(const char *path) {
        FILE *f = fopen(path, "r");
        EVP_PKEY *k;

        if (!f)
                die(path);
        k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
        if (!k)
                die("cannot read a private key");
        return k;
}

static char *first_kid(const char *jwks_path) {
        json_error_t err;
        json_t *j = json_load_file(jwks_path, 0, &err);
        const char *kid = j ? json_string_value(json_object_get(json_array_get(json_object_get(j, "keys"), 0), "kid"))
                            : NULL;
        char *r = kid ? strdup(kid) : NULL;

        json_decref(j);
        if (!r)
                die("JWKS without a kid");
        return r;
}

static char *b64(const void *p, size_t n) {
        char *s = NULL;
        if (base64url_encode_alloc(p, n, 65536, &s) < 0)
                die("base64url");
        return s;
}

/* header.payload for `alg`/`kid` with fixed claims. */
static char *signing_input(const char *alg, const char *kid) {
        char hdr[256], *h, *p, *r;
        const char *claims = "{\"sub\":\"bench-agent\",\"scopes\":[\"readonly\"],\"iat\":1800000000,"
                             "\"exp\":1800003600,\"jti\":\"0123456789abcdef0123456789abcdef\"}";

        snprintf(hdr, sizeof hdr, "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}", alg, kid);
        h = b64(hdr, strlen(hdr));
        p = b64(claims, strlen(claims));
        if (asprintf(&r, "%s.%s", h, p) < 0)
                die("oom");
        free(h);
        free(p);
        return r;
}

/* Signs with an asymmetric key; ES256 signatures become raw r||s (RFC 7518 §3.4). */
static char *sign_token(EVP_PKEY *k, const char *input, const EVP_MD *md) {
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        unsigned char sig[1024], raw[64];
        size_t sl = sizeof sig;
        char *s, *r;

        if (!c || EVP_DigestSignInit(c, NULL, md, NULL, k) != 1 ||
            EVP_DigestSign(c, sig, &sl, (const unsigned char *) input, strlen(input)) != 1)
                die("signing failed");
        EVP_MD_CTX_free(c);
        if (EVP_PKEY_is_a(k, "EC")) {
                const unsigned char *q = sig;
                ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long) sl);
                if (!es || BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32) != 32 ||
                    BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32) != 32)
                        die("ECDSA signature conversion");
                ECDSA_SIG_free(es);
                s = b64(raw, 64);
        } else
                s = b64(sig, sl);
        if (asprintf(&r, "%s.%s", input, s) < 0)
                die("oom");
        free(s);
        return r;
}

typedef struct Case {
        const char *alg;
        EVP_PKEY *key;          /* NULL for HS256 */
        const EVP_MD *md;
        char *token;
        char *input;
        unsigned char sig[1024]; /* DER / raw signature for the primitive */
        size_t sig_len;
} Case;

int main(int argc, char **argv) {
        if (argc != 10) {
                fprintf(stderr, "usage: jwtbench SECONDS STATE_DIR HMAC_FILE RSA_PEM RSA_JWKS EC_PEM EC_JWKS ED_PEM ED_JWKS\n");
                return 2;
        }
        double secs = atof(argv[1]);
        char *secret = slurp(argv[3]);
        JwtVerifier *v = NULL;
        JwtConfig jc = { .max_ttl_seconds = 7200 };
        const char *detail = NULL;
        int64_t now = 1800000100;

        if (jwt_verifier_new(&jc, &v, &detail) < 0 ||
            jwt_verifier_add_hmac_secret(v, secret, strlen(secret), "hs", &detail) < 0)
                die(detail ? detail : "HS256 key refused");
        for (int i = 5; i <= 9; i += 2)
                if (jwt_verifier_add_jwks_file(v, argv[i], NULL, &detail) < 0)
                        die(detail ? detail : "JWKS refused");

        Case cases[] = {
                { .alg = "HS256" },
                { .alg = "RS256", .key = read_key(argv[4]), .md = EVP_sha256() },
                { .alg = "ES256", .key = read_key(argv[6]), .md = EVP_sha256() },
                { .alg = "EdDSA", .key = read_key(argv[8]), .md = NULL },
        };
        const char *kids[] = { "hs", first_kid(argv[5]), first_kid(argv[7]), first_kid(argv[9]) };

        for (size_t i = 0; i < 4; i++) {
                Case *c = &cases[i];
                c->input = signing_input(c->alg, kids[i]);
                if (!c->key) {
                        unsigned char mac[32];
                        unsigned int ml = sizeof mac;
                        char *s;
                        HMAC(EVP_sha256(), secret, (int) strlen(secret), (const unsigned char *) c->input,
                             strlen(c->input), mac, &ml);
                        s = b64(mac, ml);
                        if (asprintf(&c->token, "%s.%s", c->input, s) < 0)
                                die("oom");
                        free(s);
                } else {
                        EVP_MD_CTX *m = EVP_MD_CTX_new();
                        c->token = sign_token(c->key, c->input, c->md);
                        c->sig_len = sizeof c->sig;
                        if (EVP_DigestSignInit(m, NULL, c->md, NULL, c->key) != 1 ||
                            EVP_DigestSign(m, c->sig, &c->sig_len, (const unsigned char *) c->input,
                                           strlen(c->input)) != 1)
                                die("signing failed");
                        EVP_MD_CTX_free(m);
                }
                Identity *id = NULL;
                if (jwt_verify(v, c->token, strlen(c->token), now, &id, &detail) != AUTH_OK) {
                        fprintf(stderr, "jwtbench: %s token does not verify: %s\n", c->alg, detail);
                        return 1;
                }
                identity_unref(id);
        }

        for (size_t i = 0; i < 4; i++) {
                Case *c = &cases[i];
                char name[32];
                size_t tl = strlen(c->token), il = strlen(c->input);

                snprintf(name, sizeof name, "jwt_%s", c->alg);
                RUN(name, secs, {
                        Identity *x = NULL;
                        if (jwt_verify(v, c->token, tl, now, &x, NULL) != AUTH_OK)
                                abort();
                        identity_unref(x);
                });
                snprintf(name, sizeof name, "prim_%s", c->alg);
                if (!c->key) {
                        EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
                        EVP_MAC_CTX *mc = EVP_MAC_CTX_new(m);
                        OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                                                OSSL_PARAM_construct_end() };
                        unsigned char out[32];
                        size_t ol;
                        EVP_MAC_init(mc, (const unsigned char *) secret, strlen(secret), params);
                        RUN(name, secs, {
                                EVP_MAC_init(mc, NULL, 0, NULL);
                                EVP_MAC_update(mc, (const unsigned char *) c->input, il);
                                EVP_MAC_final(mc, out, &ol, sizeof out);
                        });
                        EVP_MAC_CTX_free(mc);
                        EVP_MAC_free(m);
                } else {
                        EVP_MD_CTX *m = EVP_MD_CTX_new();
                        RUN(name, secs, {
                                if (EVP_DigestVerifyInit(m, NULL, c->md, NULL, c->key) != 1 ||
                                    EVP_DigestVerify(m, c->sig, c->sig_len, (const unsigned char *) c->input,
                                                     il) != 1)
                                        abort();
                        });
                        EVP_MD_CTX_free(m);
                }
        }

        /* Service tokens: a real SQLite store in STATE_DIR. */
        char path[4096], *tok = NULL;
        TokenStore *ts = NULL;
        snprintf(path, sizeof path, "%s/service_tokens.db", argv[2]);
        if (tokenstore_open(path, &ts) < 0 || tokenstore_service_create(ts, "bench", "readonly", 0, &tok) < 0)
                die("service token store");
        size_t tl = strlen(tok);
        RUN("service_token", secs, {
                Identity *x = NULL;
                if (tokenstore_service_verify(ts, tok, tl, &x, NULL) != AUTH_OK)
                        abort();
                identity_unref(x);
        });
        unsigned char md[32];
        RUN("prim_service_token", secs, { EVP_Digest(tok + tl - 43, 43, md, NULL, EVP_sha256(), NULL); });

        free(tok);
        tokenstore_free(ts);
        jwt_verifier_free(v);
        free(secret);
        return 0;
}
