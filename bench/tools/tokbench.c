/* SPDX-License-Identifier: MIT */
/* Token verification per second through the project's own code
 * (scopes/token.c, scopes/auth.c: hmac_token_verify and
 * auth_authenticate_header), next to the bare primitive: one pre-keyed
 * HMAC-SHA256 (EVP_MAC, re-initialised) over the same signing input, and a
 * one-shot HMAC() call. Single thread.
 *
 *   SYSTEMMANAGER_SHARED_SECRET=... tokbench TOKEN SECONDS
 * Prints "name ops_per_s ns_per_op" lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "scopes/auth.h"

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
                        for (int i_ = 0; i_ < 256; i_++) { body; }                                 \
                        n_ += 256;                                                                \
                        t_ = now_s() - t0_;                                                       \
                } while (t_ < (secs));                                                            \
                printf("%s %.0f %.1f\n", name, (double) n_ / t_, t_ * 1e9 / (double) n_);          \
        } while (0)

int main(int argc, char **argv) {
        const char *secret = getenv("SYSTEMMANAGER_SHARED_SECRET");
        if (argc < 3 || !secret) {
                fprintf(stderr, "usage: SYSTEMMANAGER_SHARED_SECRET=... tokbench TOKEN SECONDS\n");
                return 2;
        }
        const char *tok = argv[1];
        size_t len = strlen(tok);
        double secs = atof(argv[2]);
        HmacKey *k = NULL, *k2 = NULL;
        Auth *auth = NULL;
        char hdr[8300];
        const char *dot = strchr(tok, '.');
        size_t blen = dot ? (size_t) (dot - tok) : len;

        if (hmac_key_new(secret, strlen(secret), &k) < 0 || hmac_key_new(secret, strlen(secret), &k2) < 0) {
                fprintf(stderr, "tokbench: hmac_key_new failed\n");
                return 1;
        }
        AuthConfig cfg = { .mode = AUTH_MODE_REQUIRED };
        if (auth_new(&cfg, k2, &auth) < 0) {
                fprintf(stderr, "tokbench: auth_new failed\n");
                return 1;
        }
        snprintf(hdr, sizeof hdr, "Bearer %s", tok);

        Identity *id = NULL;
        const char *detail = NULL;
        if (hmac_token_verify(k, tok, len, 0, &id, &detail) != AUTH_OK) {
                fprintf(stderr, "tokbench: token does not verify: %s\n", detail ? detail : "?");
                return 1;
        }
        identity_unref(id);

        RUN("hmac_token_verify", secs, {
                Identity *x = NULL;
                if (hmac_token_verify(k, tok, len, 0, &x, NULL) != AUTH_OK) abort();
                identity_unref(x);
        });
        RUN("auth_authenticate_header", secs, {
                Identity *x = NULL;
                if (auth_authenticate_header(auth, hdr, 0, &x, NULL) != AUTH_OK) abort();
                identity_unref(x);
        });

        EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
        EVP_MAC_CTX *c = EVP_MAC_CTX_new(m);
        OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                                OSSL_PARAM_construct_end() };
        EVP_MAC_init(c, (const unsigned char *) secret, strlen(secret), params);
        unsigned char out[32];
        size_t ol;
        RUN("hmac_sha256_prekeyed_evp_mac", secs, {
                EVP_MAC_init(c, NULL, 0, NULL);
                EVP_MAC_update(c, (const unsigned char *) tok, blen);
                EVP_MAC_final(c, out, &ol, sizeof out);
        });
        unsigned int ol2;
        RUN("hmac_sha256_oneshot_HMAC", secs, {
                HMAC(EVP_sha256(), secret, (int) strlen(secret), (const unsigned char *) tok, blen, out, &ol2);
        });
        printf("signing_input_bytes %zu 0\n", blen);
        EVP_MAC_CTX_free(c);
        EVP_MAC_free(m);
        auth_free(auth);
        hmac_key_free(k);
        return 0;
}
