/* SPDX-License-Identifier: MIT */

/* libFuzzer harness for the JWT verifier and the JWKS parser (scopes/jose.c).
 *
 * Random bytes almost never carry a valid signature, so the first input byte
 * selects a mode:
 *
 *   0  the rest is a token, verified as presented against a verifier holding
 *      an HS256 secret, an Ed25519 key (kid ed1) and a P-256 key (kid ec1):
 *      the attack surface, including the ES256 r/s range check and the DER
 *      conversion for any 64-byte signature;
 *   1  the rest is "<header JSON>\n<payload JSON>": both are base64url-encoded
 *      and HS256-signed here, then verified (reaches header policy, key
 *      selection, payload parsing and every claim check);
 *   2  the rest is a payload JSON signed under {"alg":"HS256"} (claims only);
 *   3  the rest is a JWKS document, loaded into a fresh verifier.
 *
 * Invariants checked on every result: OK ⇔ identity and no detail; every
 * accepted identity is well-formed and unexpired.
 *
 *   tests/fuzz/run.sh 60 jwt
 */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/encoding.h"
#include "scopes/jose.h"

#define FUZZ_SECRET "fuzz-jwt-secret-0123456789abcdef0123456789"
#define FUZZ_NOW 1800000000LL
#define FUZZ_MAX 8192

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *jwk_text(EVP_PKEY *pk, const char *kid) {
        uint8_t raw[32];
        size_t n = sizeof(raw);
        char x[64], *s = NULL;

        if (EVP_PKEY_get_raw_public_key(pk, raw, &n) != 1 || base64url_encode(raw, n, x, sizeof(x)) < 0)
                abort();
        if (asprintf(&s, "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"%s\",\"x\":\"%s\"}", kid, x) < 0)
                abort();
        return s;
}

static char *ec_jwk_text(EVP_PKEY *pk, const char *kid) {
        BIGNUM *bx = NULL, *by = NULL;
        uint8_t raw[32];
        char x[64], y[64], *s = NULL;

        if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &bx) != 1 ||
            EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &by) != 1 || BN_bn2binpad(bx, raw, 32) != 32 ||
            base64url_encode(raw, 32, x, sizeof(x)) < 0 || BN_bn2binpad(by, raw, 32) != 32 ||
            base64url_encode(raw, 32, y, sizeof(y)) < 0)
                abort();
        if (asprintf(&s, "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"}", kid,
                     x, y) < 0)
                abort();
        BN_free(bx);
        BN_free(by);
        return s;
}

static JwtVerifier *fuzz_verifier(void) {
        static JwtVerifier *v;
        JwtConfig cfg = { .audience = "fuzz", .issuer = "https://idp.fuzz", .max_ttl_seconds = 86400 };
        EVP_PKEY *ed, *ec;
        char *jwk, *ecjwk, *jwks = NULL;

        if (v)
                return v;
        if (jwt_verifier_new(&cfg, &v, NULL) < 0 ||
            jwt_verifier_add_hmac_secret(v, FUZZ_SECRET, strlen(FUZZ_SECRET), NULL, NULL) < 0)
                abort();
        ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        if (!ed || !ec)
                abort();
        jwk = jwk_text(ed, "ed1");
        ecjwk = ec_jwk_text(ec, "ec1");
        if (asprintf(&jwks, "{\"keys\":[%s,%s]}", jwk, ecjwk) < 0 ||
            jwt_verifier_add_jwks(v, jwks, strlen(jwks), NULL, NULL) < 0)
                abort();
        free(jwk);
        free(ecjwk);
        free(jwks);
        EVP_PKEY_free(ed);
        EVP_PKEY_free(ec);
        return v;
}

static void verify(const char *token, size_t len) {
        Identity *id = NULL;
        const char *detail = NULL;
        AuthError e;

        e = jwt_verify(fuzz_verifier(), token, len, FUZZ_NOW, &id, &detail);
        if (e == AUTH_OK) {
                if (detail || !id || id->method != AUTH_METHOD_JWT || !id->subject || id->subject[0] == 0 ||
                    strlen(id->token_sha256) != 16 || (id->scopes & ~SCOPESET_ALL) != 0 ||
                    id->expires_at < FUZZ_NOW - AUTH_CLOCK_SKEW_SEC)
                        abort();
                json_decref(identity_to_json(id));
                identity_unref(id);
        } else if (id || !detail || (e != AUTH_ERR_INVALID_TOKEN && e != AUTH_ERR_TOKEN_EXPIRED)) {
                abort();
        }
}

/* Encodes header and payload, signs "h.p" with the HS256 secret, verifies. */
static void sign_and_verify(const uint8_t *h, size_t hlen, const uint8_t *p, size_t plen) {
        char *he = NULL, *pe = NULL, *token;
        uint8_t mac[32];
        unsigned maclen = 0;
        char sig[64];
        size_t n, tl;

        if (base64url_encode_alloc(h, hlen, FUZZ_MAX, &he) < 0)
                goto out;
        if (base64url_encode_alloc(p, plen, FUZZ_MAX, &pe) < 0)
                goto out;
        n = strlen(he) + 1 + strlen(pe);
        token = malloc(n + 1 + sizeof(sig));
        if (!token)
                goto out;
        memcpy(token, he, strlen(he));
        token[strlen(he)] = '.';
        memcpy(token + strlen(he) + 1, pe, strlen(pe) + 1);
        if (!HMAC(EVP_sha256(), FUZZ_SECRET, (int) strlen(FUZZ_SECRET), (const uint8_t *) token, n, mac, &maclen) ||
            base64url_encode(mac, maclen, sig, sizeof(sig)) < 0)
                abort();
        token[n] = '.';
        memcpy(token + n + 1, sig, strlen(sig));
        tl = n + 1 + strlen(sig);
        verify(token, tl);
        free(token);
out:
        free(he);
        free(pe);
}

static void load_jwks(const uint8_t *data, size_t size) {
        JwtConfig cfg = {};
        JwtVerifier *v = NULL;
        const char *detail = NULL;
        unsigned skipped = 0;
        size_t before;
        int r;

        if (jwt_verifier_new(&cfg, &v, NULL) < 0)
                abort();
        before = jwt_verifier_n_keys(v);
        r = jwt_verifier_add_jwks(v, (const char *) data, size, &skipped, &detail);
        /* All or nothing, and every refusal explains itself. */
        if (r < 0 && (jwt_verifier_n_keys(v) != before || (r == -EINVAL && !detail)))
                abort();
        if (jwt_verifier_n_keys(v) > JWT_MAX_KEYS)
                abort();
        jwt_verifier_free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char hs_header[] = "{\"alg\":\"HS256\"}";
        const uint8_t *nl;

        if (size < 1)
                return 0;

        switch (data[0] & 3) {
        case 0:
                verify((const char *) data + 1, size - 1);
                break;

        case 1:
                nl = memchr(data + 1, '\n', size - 1);
                if (!nl)
                        return 0;
                sign_and_verify(data + 1, (size_t) (nl - data - 1), nl + 1, size - (size_t) (nl - data) - 1);
                break;

        case 2:
                sign_and_verify((const uint8_t *) hs_header, strlen(hs_header), data + 1, size - 1);
                break;

        case 3:
                load_jwks(data + 1, size - 1);
                break;
        }

        return 0;
}
