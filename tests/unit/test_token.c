/* SPDX-License-Identifier: MIT */

/* scopes/token.c: HMAC token mint and strict verify.
 *
 * Negative cases are built by hand here — base64 via OpenSSL's
 * EVP_EncodeBlock() and HMAC via OpenSSL's one-shot HMAC() — so that a bug in
 * the code under test cannot cancel itself out. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/cleanup.h"
#include "scopes/auth.h"

#define SECRET "0123456789abcdef0123456789abcdef"      /* exactly 32 bytes */
#define OTHER_SECRET "fedcba9876543210fedcba9876543210xx"
#define NOW 1800000000LL                                /* 2027-01-15T08:00:00Z */

static HmacKey *key;

static int setup(void **state) {
        return hmac_key_new(SECRET, strlen(SECRET), &key) < 0 ? -1 : 0;
}

static int teardown(void **state) {
        key = hmac_key_free(key);
        return 0;
}

/* ---- independent reference implementation --------------------------- */

/* Standard base64 (with padding) of data, via OpenSSL. */
static char *ref_base64_std(const void *data, size_t len) {
        char *out = malloc(4 * ((len + 2) / 3) + 1);

        assert_non_null(out);
        EVP_EncodeBlock((unsigned char *) out, data, (int) len);
        return out;
}

/* Unpadded base64url derived from the standard encoding. */
static char *ref_base64url(const void *data, size_t len) {
        char *s = ref_base64_std(data, len), *p;

        for (p = s; *p; p++) {
                if (*p == '+')
                        *p = '-';
                else if (*p == '/')
                        *p = '_';
                else if (*p == '=') {
                        *p = 0;
                        break;
                }
        }
        return s;
}

static void ref_hmac_hex(const char *secret, const char *data, size_t len, char out[65]) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int maclen = 0;

        assert_non_null(HMAC(EVP_sha256(), secret, (int) strlen(secret), (const unsigned char *) data, len,
                             mac, &maclen));
        assert_int_equal(maclen, 32);
        for (unsigned i = 0; i < maclen; i++)
                snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

/* "<encoded>.<hmac(secret, encoded)>" for an arbitrary (possibly broken)
 * encoded payload string. */
static char *ref_sign(const char *secret, const char *encoded) {
        char sig[65], *t;
        size_t n = strlen(encoded);

        ref_hmac_hex(secret, encoded, n, sig);
        t = malloc(n + 1 + 64 + 1);
        assert_non_null(t);
        memcpy(t, encoded, n);
        t[n] = '.';
        memcpy(t + n + 1, sig, 65);
        return t;
}

/* A correctly signed token around an arbitrary payload text. */
static char *ref_token(const char *secret, const char *json) {
        _cleanup_free_ char *b64 = ref_base64url(json, strlen(json));

        return ref_sign(secret, b64);
}

static AuthError verify(const char *token, Identity **ret, const char **detail) {
        return hmac_token_verify(key, token, strlen(token), NOW, ret, detail);
}

/* ---- keys ----------------------------------------------------------- */

static void test_key_length(void **state) {
        HmacKey *k = NULL;

        assert_int_equal(hmac_key_new(SECRET, 31, &k), -EINVAL);
        assert_null(k);
        assert_int_equal(hmac_key_new(SECRET, 0, &k), -EINVAL);
        assert_int_equal(hmac_key_new(NULL, 32, &k), -EINVAL);
        assert_null(k);
        assert_int_equal(hmac_key_new(SECRET, 32, &k), 0);
        assert_non_null(k);
        assert_null(hmac_key_free(k));
        assert_null(hmac_key_free(NULL));
}

static void test_sign_hex_matches_reference(void **state) {
        static const char *const inputs[] = {
                "", "a", "eyJhZ2VudCI6ImEifQ",
                "a much longer input that spans more than one SHA-256 block of sixty-four bytes ...........",
        };

        for (size_t i = 0; i < ELEMENTSOF(inputs); i++) {
                char got[65], want[65];

                assert_int_equal(hmac_key_sign_hex(key, inputs[i], strlen(inputs[i]), got), 0);
                ref_hmac_hex(SECRET, inputs[i], strlen(inputs[i]), want);
                assert_string_equal(got, want);
                /* Repeat: pooled contexts must be reset correctly. */
                assert_int_equal(hmac_key_sign_hex(key, inputs[i], strlen(inputs[i]), got), 0);
                assert_string_equal(got, want);
        }

        /* Long key (> block size) is hashed first, as HMAC requires. */
        {
                static const char long_secret[] =
                        "this-secret-is-longer-than-the-sha256-block-size-of-64-bytes-0123456789";
                HmacKey *k = NULL;
                char got[65], want[65];

                assert_int_equal(hmac_key_new(long_secret, strlen(long_secret), &k), 0);
                assert_int_equal(hmac_key_sign_hex(k, "x", 1, got), 0);
                ref_hmac_hex(long_secret, "x", 1, want);
                assert_string_equal(got, want);
                hmac_key_free(k);
        }
}

#define N_THREADS 4
#define N_ROUNDS 5000

static void *sign_thread(void *arg) {
        char want[65], got[65], msg[32];
        long id = (long) (intptr_t) arg;

        for (int i = 0; i < N_ROUNDS; i++) {
                int n = snprintf(msg, sizeof(msg), "t%ld-%d", id, i % 17);

                ref_hmac_hex(SECRET, msg, (size_t) n, want);
                if (hmac_key_sign_hex(key, msg, (size_t) n, got) < 0 || strcmp(got, want) != 0)
                        return (void *) 1;
        }
        return NULL;
}

static void test_sign_threads(void **state) {
        pthread_t t[N_THREADS];

        for (long i = 0; i < N_THREADS; i++)
                assert_int_equal(pthread_create(&t[i], NULL, sign_thread, (void *) (intptr_t) i), 0);
        for (int i = 0; i < N_THREADS; i++) {
                void *res = (void *) 2;

                assert_int_equal(pthread_join(t[i], &res), 0);
                assert_null(res);
        }
}

/* ---- mint ----------------------------------------------------------- */

static void test_mint_round_trip(void **state) {
        static const char *const scopes[] = { "readonly", "container:write", NULL };
        _cleanup_free_ char *token = NULL, *b64 = NULL, *dump = NULL;
        _cleanup_json_ json_t *claims = NULL, *decoded = NULL;
        _cleanup_identity_ Identity *id = NULL;
        const char *dot, *detail = "unset";
        char sig[65], sha[17];
        unsigned char raw[1024];
        int n;

        TokenMintParams p = {
                .agent = "ci-bot",
                .scopes = scopes,
                .ttl_seconds = 3600,
                .now = NOW,
                .audience = "tool:install_package",
                .reason = "deploy 42",
                .auto_approve = true,
                .break_glass = true,
        };

        assert_int_equal(hmac_token_mint(key, &p, &token, &claims), 0);
        assert_non_null(token);
        assert_non_null(claims);

        /* Claims as specified, meta-scopes as given. */
        assert_string_equal(json_string_value(json_object_get(claims, "agent")), "ci-bot");
        assert_int_equal(json_array_size(json_object_get(claims, "scopes")), 2);
        assert_string_equal(json_string_value(json_array_get(json_object_get(claims, "scopes"), 0)), "readonly");
        assert_int_equal(json_integer_value(json_object_get(claims, "iat")), NOW);
        assert_int_equal(json_integer_value(json_object_get(claims, "exp")), NOW + 3600);
        assert_int_equal(strlen(json_string_value(json_object_get(claims, "jti"))), 32);
        assert_string_equal(json_string_value(json_object_get(claims, "aud")), "tool:install_package");
        assert_string_equal(json_string_value(json_object_get(claims, "reason")), "deploy 42");
        assert_true(json_is_true(json_object_get(claims, "auto_approve")));
        assert_true(json_is_true(json_object_get(claims, "break_glass")));

        /* Shape, independently: payload is unpadded base64url of the claims,
         * signature is HMAC over the payload text. */
        dot = strchr(token, '.');
        assert_non_null(dot);
        assert_null(strchr(dot + 1, '.'));
        assert_int_equal(strlen(dot + 1), 64);
        assert_null(strpbrk(token, "=+/ "));
        b64 = strndup(token, (size_t) (dot - token));
        ref_hmac_hex(SECRET, b64, strlen(b64), sig);
        assert_string_equal(dot + 1, sig);
        {
                /* Re-pad and translate for EVP_DecodeBlock. */
                char std[1024];
                size_t l = strlen(b64);

                assert_true(l + 4 < sizeof(std));
                memcpy(std, b64, l + 1);
                for (size_t i = 0; i < l; i++)
                        std[i] = std[i] == '-' ? '+' : std[i] == '_' ? '/' : std[i];
                while (l % 4)
                        std[l++] = '=';
                std[l] = 0;
                n = EVP_DecodeBlock(raw, (unsigned char *) std, (int) l);
                assert_true(n > 0);
                while (n > 0 && raw[n - 1] == 0) /* EVP_DecodeBlock keeps pad zeros */
                        n--;
                decoded = json_loadb((const char *) raw, (size_t) n, 0, NULL);
                assert_non_null(decoded);
                assert_true(json_equal(decoded, claims));
        }

        assert_int_equal(verify(token, &id, &detail), AUTH_OK);
        assert_null(detail);
        assert_non_null(id);
        assert_int_equal(id->method, AUTH_METHOD_HMAC);
        assert_string_equal(id->subject, "ci-bot");
        assert_string_equal(id->token_id, json_string_value(json_object_get(claims, "jti")));
        assert_int_equal(id->scopes, scope_readonly_set() | SCOPE_BIT(SCOPE_CONTAINER_WRITE));
        assert_int_equal(id->issued_at, NOW);
        assert_int_equal(id->expires_at, NOW + 3600);
        assert_string_equal(id->audience, "tool:install_package");
        assert_string_equal(id->reason, "deploy 42");
        assert_true(id->auto_approve);
        assert_true(id->break_glass);

        /* token_sha256: first 16 hex of SHA-256 over the whole token. */
        {
                unsigned char md[32];
                unsigned int mdlen;

                assert_int_equal(EVP_Digest(token, strlen(token), md, &mdlen, EVP_sha256(), NULL), 1);
                for (int i = 0; i < 8; i++)
                        snprintf(sha + 2 * i, 3, "%02x", md[i]);
                assert_string_equal(id->token_sha256, sha);
        }

        /* The identity JSON never carries the token or its signature. */
        {
                _cleanup_json_ json_t *j = identity_to_json(id);
                dump = json_dumps(j, 0);
                assert_null(strstr(dump, token));
                assert_null(strstr(dump, sig));
        }
}

static void test_mint_optional_claims_absent(void **state) {
        static const char *const scopes[] = { "system:read", NULL };
        _cleanup_free_ char *t1 = NULL, *t2 = NULL;
        _cleanup_json_ json_t *c1 = NULL, *c2 = NULL;
        _cleanup_identity_ Identity *id = NULL;
        TokenMintParams p = { .agent = "a", .scopes = scopes, .ttl_seconds = 60, .now = NOW };

        assert_int_equal(hmac_token_mint(key, &p, &t1, &c1), 0);
        assert_int_equal(hmac_token_mint(key, &p, &t2, &c2), 0);
        assert_null(json_object_get(c1, "aud"));
        assert_null(json_object_get(c1, "reason"));
        assert_null(json_object_get(c1, "auto_approve"));
        assert_null(json_object_get(c1, "break_glass"));
        assert_int_equal(json_object_size(c1), 5);

        /* Fresh random jti every time. */
        assert_string_not_equal(json_string_value(json_object_get(c1, "jti")),
                                json_string_value(json_object_get(c2, "jti")));
        assert_string_not_equal(t1, t2);

        assert_int_equal(verify(t1, &id, NULL), AUTH_OK);
        assert_false(id->auto_approve);
        assert_false(id->break_glass);
        assert_null(id->audience);
        assert_null(id->reason);

        /* ret_claims is optional; now = 0 means the wall clock. */
        {
                _cleanup_free_ char *t3 = NULL;
                _cleanup_identity_ Identity *id3 = NULL;
                TokenMintParams q = { .agent = "a", .scopes = scopes, .ttl_seconds = 60 };

                assert_int_equal(hmac_token_mint(key, &q, &t3, NULL), 0);
                assert_int_equal(hmac_token_verify(key, t3, strlen(t3), 0, &id3, NULL), AUTH_OK);
        }
}

static void test_mint_rejects(void **state) {
        static const char *const good[] = { "readonly", NULL };
        static const char *const unknown[] = { "readonly", "system:reed", NULL };
        static const char *const star[] = { "*", NULL };
        static const char *const empty[] = { "", NULL };
        char long_agent[258], long_reason[1026];
        struct {
                TokenMintParams p;
        } cases[] = {
                { { .agent = NULL, .scopes = good, .ttl_seconds = 60, .now = NOW } },
                { { .agent = "", .scopes = good, .ttl_seconds = 60, .now = NOW } },
                { { .agent = long_agent, .scopes = good, .ttl_seconds = 60, .now = NOW } },
                { { .agent = "a\nb", .scopes = good, .ttl_seconds = 60, .now = NOW } },
                { { .agent = "a", .scopes = unknown, .ttl_seconds = 60, .now = NOW } },
                { { .agent = "a", .scopes = star, .ttl_seconds = 60, .now = NOW } },
                { { .agent = "a", .scopes = empty, .ttl_seconds = 60, .now = NOW } },
                { { .agent = "a", .scopes = good, .ttl_seconds = 0, .now = NOW } },
                { { .agent = "a", .scopes = good, .ttl_seconds = -1, .now = NOW } },
                { { .agent = "a", .scopes = good, .ttl_seconds = INT64_MAX, .now = NOW } },
                { { .agent = "a", .scopes = good, .ttl_seconds = 60, .now = -5 } },
                { { .agent = "a", .scopes = good, .ttl_seconds = 60, .now = NOW, .audience = "" } },
                { { .agent = "a", .scopes = good, .ttl_seconds = 60, .now = NOW, .reason = long_reason } },
                { { .agent = "\xff\xfe", .scopes = good, .ttl_seconds = 60, .now = NOW } },
        };

        memset(long_agent, 'a', 257);
        long_agent[257] = 0;
        memset(long_reason, 'r', 1025);
        long_reason[1025] = 0;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *t = NULL;
                json_t *c = NULL;
                int r = hmac_token_mint(key, &cases[i].p, &t, &c);

                if (r != -EINVAL)
                        fail_msg("mint case %zu: r=%d", i, r);
                assert_null(t);
                assert_null(c);
        }

        {
                char *t = NULL;
                TokenMintParams p = { .agent = "a", .scopes = good, .ttl_seconds = 60 };

                assert_int_equal(hmac_token_mint(NULL, &p, &t, NULL), -EINVAL);
                assert_int_equal(hmac_token_mint(key, NULL, &t, NULL), -EINVAL);
                assert_null(t);
        }

        /* Limits are inclusive. */
        {
                _cleanup_free_ char *t = NULL;
                TokenMintParams p = { .agent = long_agent, .scopes = good, .ttl_seconds = 60, .now = NOW };

                long_agent[256] = 0;
                assert_int_equal(hmac_token_mint(key, &p, &t, NULL), 0);
        }
}

/* ---- verify: payload cases (correct signature, bad claims) ---------- */

typedef struct PayloadCase {
        const char *json;
        AuthError expect;
        const char *detail; /* substring of the detail, NULL = don't care */
} PayloadCase;

#define A "\"agent\":\"a\""
#define S "\"scopes\":[\"readonly\"]"
#define EXP "\"exp\":1800003600"
#define IAT "\"iat\":1799999990"

static const PayloadCase payload_cases[] = {
        /* baseline */
        { "{" A "," S "," IAT "," EXP "}", AUTH_OK, NULL },
        { "{" A "," S "," EXP "}", AUTH_OK, NULL },
        /* Python's json.dumps default separators */
        { "{\"agent\": \"a\", \"scopes\": [\"readonly\"], \"exp\": 1800003600}", AUTH_OK, NULL },

        /* not an object / not JSON / trailing data */
        { "[1,2]", AUTH_ERR_INVALID_TOKEN, "not a JSON object" },
        { "\"x\"", AUTH_ERR_INVALID_TOKEN, "not a JSON object" },
        { "42", AUTH_ERR_INVALID_TOKEN, "not a JSON object" },
        { "null", AUTH_ERR_INVALID_TOKEN, "not a JSON object" },
        { " {" A "," S "," EXP "}", AUTH_ERR_INVALID_TOKEN, "not a JSON object" },
        { "{" A "," S "," EXP, AUTH_ERR_INVALID_TOKEN, "not valid JSON" },
        { "{" A "," S "," EXP "} ", AUTH_ERR_INVALID_TOKEN, "trailing" },
        { "{" A "," S "," EXP "}\n", AUTH_ERR_INVALID_TOKEN, "trailing" },
        { "{" A "," S "," EXP "}x", AUTH_ERR_INVALID_TOKEN, "trailing" },
        { "{" A "," S "," EXP "}{}", AUTH_ERR_INVALID_TOKEN, "trailing" },
        { "{" A "," S "," EXP ",}", AUTH_ERR_INVALID_TOKEN, "not valid JSON" },
        { "{'agent':'a'}", AUTH_ERR_INVALID_TOKEN, "not valid JSON" },
        { "{\"agent\":\"\xff\"," S "," EXP "}", AUTH_ERR_INVALID_TOKEN, "not valid JSON" },

        /* duplicate keys */
        { "{" A ",\"agent\":\"b\"," S "," EXP "}", AUTH_ERR_INVALID_TOKEN, "duplicate key" },
        { "{" A "," S "," EXP "," EXP "}", AUTH_ERR_INVALID_TOKEN, "duplicate key" },
        { "{" A "," S "," EXP ",\"exp\":1}", AUTH_ERR_INVALID_TOKEN, "duplicate key" },

        /* NUL inside strings */
        { "{\"agent\":\"a\\u0000b\"," S "," EXP "}", AUTH_ERR_INVALID_TOKEN, "not valid JSON" },

        /* agent */
        { "{" S "," EXP "}", AUTH_ERR_INVALID_TOKEN, "agent" },
        { "{\"agent\":\"\"," S "," EXP "}", AUTH_ERR_INVALID_TOKEN, "agent" },
        { "{\"agent\":1," S "," EXP "}", AUTH_ERR_INVALID_TOKEN, "agent" },
        { "{\"agent\":null," S "," EXP "}", AUTH_ERR_INVALID_TOKEN, "agent" },
        { "{\"agent\":[\"a\"]," S "," EXP "}", AUTH_ERR_INVALID_TOKEN, "agent" },
        { "{\"agent\":\"a\\nb\"," S "," EXP "}", AUTH_ERR_INVALID_TOKEN, "agent" },
        { "{\"sub\":\"a\"," S "," EXP "}", AUTH_ERR_INVALID_TOKEN, "agent" },

        /* scopes */
        { "{" A "," EXP "}", AUTH_ERR_INVALID_TOKEN, "scopes must be an array of strings" },
        { "{" A ",\"scopes\":\"readonly\"," EXP "}", AUTH_ERR_INVALID_TOKEN, "scopes must be an array of strings" },
        { "{" A ",\"scopes\":[1]," EXP "}", AUTH_ERR_INVALID_TOKEN, "scopes must be an array of strings" },
        { "{" A ",\"scopes\":[\"readonly\",null]," EXP "}", AUTH_ERR_INVALID_TOKEN,
          "scopes must be an array of strings" },
        { "{" A ",\"scopes\":{}," EXP "}", AUTH_ERR_INVALID_TOKEN, "scopes must be an array of strings" },
        { "{" A ",\"scopes\":[\"bogus\",\"system:read\"]," EXP "}", AUTH_OK, NULL },
        { "{" A ",\"scopes\":[]," EXP "}", AUTH_OK, NULL },

        /* exp */
        { "{" A "," S ",\"exp\":\"1800003600\"}", AUTH_ERR_INVALID_TOKEN, "exp" },
        { "{" A "," S ",\"exp\":1800003600.0}", AUTH_ERR_INVALID_TOKEN, "exp" },
        { "{" A "," S ",\"exp\":1.8e9}", AUTH_ERR_INVALID_TOKEN, "exp" },
        { "{" A "," S ",\"exp\":-1}", AUTH_ERR_INVALID_TOKEN, "exp" },
        { "{" A "," S ",\"exp\":null}", AUTH_ERR_INVALID_TOKEN, "exp" },
        { "{" A "," S ",\"exp\":true}", AUTH_ERR_INVALID_TOKEN, "exp" },
        { "{" A "," S "}", AUTH_ERR_INVALID_TOKEN, "token has no expiry" },
        { "{" A "," S "," IAT "}", AUTH_ERR_INVALID_TOKEN, "token has no expiry" },
        { "{" A "," S ",\"exp\":99999999999999999999}", AUTH_ERR_INVALID_TOKEN, "not valid JSON" },
        { "{" A "," S ",\"exp\":9223372036854775807}", AUTH_OK, NULL },

        /* expiry skew: now = 1800000000, skew 30 s */
        { "{" A "," S ",\"exp\":1799999969}", AUTH_ERR_TOKEN_EXPIRED, NULL },
        { "{" A "," S ",\"exp\":1799999970}", AUTH_OK, NULL },
        { "{" A "," S ",\"exp\":1799999990}", AUTH_OK, NULL },
        { "{" A "," S ",\"exp\":0}", AUTH_ERR_TOKEN_EXPIRED, NULL },
        { "{" A "," S ",\"exp\":1000000000}", AUTH_ERR_TOKEN_EXPIRED, NULL },

        /* origin "expiry" (ISO-8601) */
        { "{" A "," S ",\"expiry\":\"2027-01-15T09:00:00\"}", AUTH_OK, NULL },
        { "{" A "," S ",\"expiry\":\"2027-01-15T09:00:00.123456\"}", AUTH_OK, NULL },
        { "{" A "," S ",\"expiry\":\"2027-01-15T09:00:00+00:00\"}", AUTH_OK, NULL },
        { "{" A "," S ",\"expiry\":\"2027-01-15T09:00:00Z\"}", AUTH_OK, NULL },
        { "{" A "," S ",\"expiry\":\"2020-01-01T00:00:00\"}", AUTH_ERR_TOKEN_EXPIRED, NULL },
        { "{" A "," S ",\"expiry\":\"2027-01-15T07:59:29Z\"}", AUTH_ERR_TOKEN_EXPIRED, NULL },
        { "{" A "," S ",\"expiry\":\"2027-01-15T07:59:30Z\"}", AUTH_OK, NULL },
        /* the offset matters: 09:00+02:00 is 07:00Z, long gone */
        { "{" A "," S ",\"expiry\":\"2027-01-15T09:00:00+02:00\"}", AUTH_ERR_TOKEN_EXPIRED, NULL },
        { "{" A "," S ",\"expiry\":\"tomorrow\"}", AUTH_ERR_INVALID_TOKEN, "expiry" },
        { "{" A "," S ",\"expiry\":\"\"}", AUTH_ERR_INVALID_TOKEN, "expiry" },
        { "{" A "," S ",\"expiry\":1800003600}", AUTH_ERR_INVALID_TOKEN, "expiry" },
        { "{" A "," S ",\"expiry\":\"2027-01-15 09:00:00\"}", AUTH_ERR_INVALID_TOKEN, "expiry" },
        /* both: the earlier wins */
        { "{" A "," S "," EXP ",\"expiry\":\"2020-01-01T00:00:00Z\"}", AUTH_ERR_TOKEN_EXPIRED, NULL },
        { "{" A "," S ",\"exp\":1000,\"expiry\":\"2030-01-01T00:00:00Z\"}", AUTH_ERR_TOKEN_EXPIRED, NULL },

        /* iat */
        { "{" A "," S ",\"iat\":1800000031," EXP "}", AUTH_ERR_INVALID_TOKEN, "future" },
        { "{" A "," S ",\"iat\":1800000030," EXP "}", AUTH_OK, NULL },
        { "{" A "," S ",\"iat\":\"1799999990\"," EXP "}", AUTH_ERR_INVALID_TOKEN, "iat" },
        { "{" A "," S ",\"iat\":1799999990.5," EXP "}", AUTH_ERR_INVALID_TOKEN, "iat" },
        { "{" A "," S ",\"iat\":-5," EXP "}", AUTH_ERR_INVALID_TOKEN, "iat" },
        { "{" A "," S ",\"iat\":0," EXP "}", AUTH_ERR_INVALID_TOKEN, "iat" },
        { "{" A "," S ",\"iat\":1799999990,\"exp\":1799999980}", AUTH_ERR_INVALID_TOKEN, "before it was issued" },

        /* nbf */
        { "{" A "," S ",\"nbf\":1800000031," EXP "}", AUTH_ERR_INVALID_TOKEN, "not yet valid" },
        { "{" A "," S ",\"nbf\":1800000010," EXP "}", AUTH_OK, NULL },
        { "{" A "," S ",\"nbf\":\"0\"," EXP "}", AUTH_ERR_INVALID_TOKEN, "nbf" },

        /* jti */
        { "{" A "," S "," EXP ",\"jti\":\"abc\"}", AUTH_OK, NULL },
        { "{" A "," S "," EXP ",\"jti\":\"\"}", AUTH_ERR_INVALID_TOKEN, "jti" },
        { "{" A "," S "," EXP ",\"jti\":7}", AUTH_ERR_INVALID_TOKEN, "jti" },

        /* aud */
        { "{" A "," S "," EXP ",\"aud\":\"tool:x\"}", AUTH_OK, NULL },
        { "{" A "," S "," EXP ",\"aud\":[\"tool:x\"]}", AUTH_ERR_INVALID_TOKEN, "aud" },
        { "{" A "," S "," EXP ",\"aud\":\"\"}", AUTH_ERR_INVALID_TOKEN, "aud" },

        /* booleans */
        { "{" A "," S "," EXP ",\"auto_approve\":true,\"break_glass\":false}", AUTH_OK, NULL },
        { "{" A "," S "," EXP ",\"auto_approve\":\"true\"}", AUTH_ERR_INVALID_TOKEN, "auto_approve" },
        { "{" A "," S "," EXP ",\"auto_approve\":1}", AUTH_ERR_INVALID_TOKEN, "auto_approve" },
        { "{" A "," S "," EXP ",\"auto_approve\":null}", AUTH_ERR_INVALID_TOKEN, "auto_approve" },
        { "{" A "," S "," EXP ",\"break_glass\":\"yes\"}", AUTH_ERR_INVALID_TOKEN, "break_glass" },
        { "{" A "," S "," EXP ",\"break_glass\":0}", AUTH_ERR_INVALID_TOKEN, "break_glass" },

        /* reason */
        { "{" A "," S "," EXP ",\"reason\":\"\"}", AUTH_OK, NULL },
        { "{" A "," S "," EXP ",\"reason\":5}", AUTH_ERR_INVALID_TOKEN, "reason" },

        /* unknown claims are ignored */
        { "{" A "," S "," EXP ",\"containers\":[\"web-*\"],\"x\":{\"y\":[1,2]}}", AUTH_OK, NULL },
};

static void test_verify_payload_cases(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(payload_cases); i++) {
                const PayloadCase *c = &payload_cases[i];
                _cleanup_free_ char *token = ref_token(SECRET, c->json);
                _cleanup_identity_ Identity *id = NULL;
                const char *detail = NULL;
                AuthError e;

                e = verify(token, &id, &detail);
                if (e != c->expect)
                        fail_msg("case %zu %s: got %d (%s), want %d", i, c->json, e,
                                 detail ? detail : "-", c->expect);
                if (e == AUTH_OK) {
                        assert_non_null(id);
                        assert_null(detail);
                } else {
                        assert_null(id);
                        assert_non_null(detail);
                        if (c->detail && !strstr(detail, c->detail))
                                fail_msg("case %zu %s: detail \"%s\" lacks \"%s\"", i, c->json, detail,
                                         c->detail);
                }
        }
}

static char *repeat(char ch, size_t n) {
        char *s = malloc(n + 1);

        assert_non_null(s);
        memset(s, ch, n);
        s[n] = 0;
        return s;
}

static void test_verify_length_limits(void **state) {
        static const struct {
                const char *key;
                size_t len;
                bool ok;
        } cases[] = {
                { "agent", 256, true },
                { "agent", 257, false },
                { "jti", 128, true },
                { "jti", 129, false },
                { "aud", 256, true },
                { "aud", 257, false },
                { "reason", 1024, true },
                { "reason", 1025, false },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *v = repeat('x', cases[i].len), *json = NULL, *token = NULL;
                _cleanup_identity_ Identity *id = NULL;
                AuthError e;

                if (streq(cases[i].key, "agent"))
                        assert_true(asprintf(&json, "{\"agent\":\"%s\"," S "," EXP "}", v) > 0);
                else
                        assert_true(asprintf(&json, "{" A "," S "," EXP ",\"%s\":\"%s\"}", cases[i].key, v) > 0);
                token = ref_token(SECRET, json);
                e = verify(token, &id, NULL);
                if ((e == AUTH_OK) != cases[i].ok)
                        fail_msg("%s of %zu bytes: got %d", cases[i].key, cases[i].len, e);
        }
}

static void test_verify_identity_fields(void **state) {
        _cleanup_free_ char *token = NULL;
        _cleanup_identity_ Identity *id = NULL;

        token = ref_token(SECRET, "{\"agent\":\"bob\",\"scopes\":[\"admin\",\"bogus\"],\"iat\":1799999000,"
                                  "\"exp\":1800001000,\"jti\":\"j1\",\"aud\":\"tool:install_package\","
                                  "\"reason\":\"why\",\"auto_approve\":true,\"break_glass\":true}");
        assert_int_equal(verify(token, &id, NULL), AUTH_OK);
        assert_string_equal(id->subject, "bob");
        assert_int_equal(id->scopes, SCOPESET_ALL);
        assert_int_equal(id->issued_at, 1799999000);
        assert_int_equal(id->expires_at, 1800001000);
        assert_string_equal(id->token_id, "j1");
        assert_string_equal(id->audience, "tool:install_package");
        assert_string_equal(id->reason, "why");
        assert_true(id->auto_approve);
        assert_true(id->break_glass);
        assert_int_equal(strlen(id->token_sha256), 16);
        assert_int_equal(atomic_load(&id->n_ref), 1);

        /* Origin token: expiry ISO, no jti, no iat. */
        {
                _cleanup_free_ char *t = ref_token(SECRET, "{\"agent\": \"ci\", \"scopes\": [\"readonly\"], "
                                                           "\"expiry\": \"2027-01-15T09:00:00\"}");
                _cleanup_identity_ Identity *o = NULL;

                assert_int_equal(verify(t, &o, NULL), AUTH_OK);
                assert_string_equal(o->subject, "ci");
                assert_int_equal(o->expires_at, 1800003600);
                assert_int_equal(o->issued_at, 0);
                assert_null(o->token_id);
                assert_int_equal(o->scopes, scope_readonly_set());
        }
}

/* ---- verify: token shape cases -------------------------------------- */

static char *good_token(void) {
        return ref_token(SECRET, "{" A "," S "," IAT "," EXP "}");
}

static void expect_invalid(const char *token, size_t len, const char *what) {
        Identity *id = NULL;
        const char *detail = NULL;
        AuthError e;

        e = hmac_token_verify(key, token, len, NOW, &id, &detail);
        if (e != AUTH_ERR_INVALID_TOKEN)
                fail_msg("%s: got %d, want AUTH_ERR_INVALID_TOKEN", what, e);
        assert_null(id);
        assert_non_null(detail);
}

static void test_verify_tamper_every_payload_char(void **state) {
        _cleanup_free_ char *token = good_token();
        const char *dot = strchr(token, '.');
        size_t plen = (size_t) (dot - token);

        /* Baseline is valid. */
        {
                _cleanup_identity_ Identity *id = NULL;
                assert_int_equal(verify(token, &id, NULL), AUTH_OK);
        }

        for (size_t i = 0; i < plen; i++) {
                _cleanup_free_ char *t = strdup(token);
                const char *detail = NULL;
                Identity *id = NULL;

                /* Another valid base64url character: only the MAC can catch it. */
                t[i] = t[i] == 'A' ? 'B' : 'A';
                assert_int_equal(hmac_token_verify(key, t, strlen(t), NOW, &id, &detail), AUTH_ERR_INVALID_TOKEN);
                assert_null(id);
                assert_string_equal(detail, "signature mismatch");
        }
}

static void test_verify_tamper_signature(void **state) {
        _cleanup_free_ char *token = good_token();
        char *sig = strchr(token, '.') + 1;

        for (size_t i = 0; i < 64; i++) {
                _cleanup_free_ char *t = strdup(token);
                char *s = t + (sig - token);
                const char *detail = NULL;
                Identity *id = NULL;

                s[i] = s[i] == '0' ? '1' : '0';
                assert_int_equal(hmac_token_verify(key, t, strlen(t), NOW, &id, &detail), AUTH_ERR_INVALID_TOKEN);
                assert_string_equal(detail, "signature mismatch");
        }
}

static void test_verify_shape(void **state) {
        _cleanup_free_ char *token = good_token(), *upper = NULL, *short_sig = NULL, *long_sig = NULL,
                            *extra_dot = NULL, *jwt = NULL, *trail_dot = NULL, *no_dot = NULL,
                            *lead = NULL, *trail = NULL, *empty_payload = NULL, *with_nul = NULL;
        const char *dot = strchr(token, '.');
        size_t plen = (size_t) (dot - token);
        bool changed = false;

        /* Upper-case hex of the right signature: one spelling only. */
        upper = strdup(token);
        for (char *p = upper + plen + 1; *p; p++)
                if (*p >= 'a' && *p <= 'f') {
                        *p = (char) (*p - 'a' + 'A');
                        changed = true;
                }
        assert_true(changed);
        expect_invalid(upper, strlen(upper), "upper-case signature");

        /* 63 and 65 hex characters. */
        short_sig = strndup(token, strlen(token) - 1);
        expect_invalid(short_sig, strlen(short_sig), "63 hex");
        assert_true(asprintf(&long_sig, "%s0", token) > 0);
        expect_invalid(long_sig, strlen(long_sig), "65 hex");

        /* Extra '.' anywhere, JWT-shaped tokens. */
        assert_true(asprintf(&extra_dot, "%.*s.%s", (int) plen, token, dot) > 0);
        expect_invalid(extra_dot, strlen(extra_dot), "extra dot");
        assert_true(asprintf(&jwt, "eyJhbGciOiJIUzI1NiJ9.%s", token) > 0);
        expect_invalid(jwt, strlen(jwt), "JWT shape");
        assert_true(asprintf(&trail_dot, "%s.", token) > 0);
        expect_invalid(trail_dot, strlen(trail_dot), "trailing dot");
        no_dot = strdup(token);
        no_dot[plen] = 'x';
        expect_invalid(no_dot, strlen(no_dot), "no dot");

        /* Whitespace around. */
        assert_true(asprintf(&lead, " %s", token) > 0);
        expect_invalid(lead, strlen(lead), "leading space");
        assert_true(asprintf(&trail, "%s\n", token) > 0);
        expect_invalid(trail, strlen(trail), "trailing newline");

        /* Empty payload with a valid MAC of "". */
        empty_payload = ref_sign(SECRET, "");
        expect_invalid(empty_payload, strlen(empty_payload), "empty payload");

        /* NUL inside the counted length. */
        with_nul = strdup(token);
        with_nul[3] = 0;
        expect_invalid(with_nul, strlen(token), "embedded NUL");

        expect_invalid("", 0, "empty");
        expect_invalid(".", 1, "lone dot");
        expect_invalid("abc", 3, "garbage");

        /* Wrong key. */
        {
                _cleanup_free_ char *other = ref_token(OTHER_SECRET, "{" A "," S "," IAT "," EXP "}");
                const char *detail = NULL;
                Identity *id = NULL;

                assert_int_equal(hmac_token_verify(key, other, strlen(other), NOW, &id, &detail),
                                 AUTH_ERR_INVALID_TOKEN);
                assert_string_equal(detail, "signature mismatch");
        }

        /* NULL arguments. */
        {
                Identity *id = NULL;
                assert_int_equal(hmac_token_verify(NULL, token, strlen(token), NOW, &id, NULL),
                                 AUTH_ERR_INVALID_TOKEN);
                assert_int_equal(hmac_token_verify(key, NULL, 5, NOW, &id, NULL), AUTH_ERR_INVALID_TOKEN);
                assert_null(id);
        }

        /* Length only counts: a valid token followed by junk outside len. */
        {
                _cleanup_free_ char *t = NULL;
                _cleanup_identity_ Identity *id = NULL;

                assert_true(asprintf(&t, "%sJUNK", token) > 0);
                assert_int_equal(hmac_token_verify(key, t, strlen(token), NOW, &id, NULL), AUTH_OK);
        }
}

/* Correctly signed payload strings that are not canonical base64url: the MAC
 * matches, the encoding check must still refuse them. */
static void test_verify_noncanonical_base64(void **state) {
        static const char json[] = "{" A "," S "," EXP "}";
        _cleanup_free_ char *url = ref_base64url(json, strlen(json));
        size_t ulen = strlen(url);

        /* Padding. */
        {
                _cleanup_free_ char *std = ref_base64_std(json, strlen(json)), *t = NULL;
                assert_non_null(strchr(std, '=')); /* the fixture must need padding */
                t = ref_sign(SECRET, std);
                expect_invalid(t, strlen(t), "padded payload");
        }

        /* '+' and '/': find agents whose standard encoding contains them. */
        for (int want = 0; want < 2; want++) {
                const char *needle = want == 0 ? "+" : "/";
                bool found = false;

                for (int i = 0; i < 64 && !found; i++) {
                        _cleanup_free_ char *j = NULL, *std = NULL, *t = NULL;

                        assert_true(asprintf(&j, "{\"agent\":\"%.*s%s\"," S "," EXP "}", i % 3, "xx",
                                             want == 0 ? ">>>>" : "????") > 0);
                        std = ref_base64_std(j, strlen(j));
                        if (!strstr(std, needle))
                                continue;
                        /* Strip the padding so only the alphabet is wrong. */
                        *strchrnul(std, '=') = 0;
                        t = ref_sign(SECRET, std);
                        expect_invalid(t, strlen(t), needle);
                        found = true;
                }
                assert_true(found);
        }

        /* Whitespace inside the payload. */
        for (size_t pos = 1; pos < ulen; pos += 7) {
                static const char ws[] = { ' ', '\n', '\t', '\r' };

                for (size_t w = 0; w < ELEMENTSOF(ws); w++) {
                        _cleanup_free_ char *p = NULL, *t = NULL;

                        assert_true(asprintf(&p, "%.*s%c%s", (int) pos, url, ws[w], url + pos) > 0);
                        t = ref_sign(SECRET, p);
                        expect_invalid(t, strlen(t), "whitespace");
                }
        }

        /* Length = 1 mod 4 (a dangling character). */
        {
                _cleanup_free_ char *p = NULL, *t = NULL;
                size_t k = (1 + 4 - ulen % 4) % 4;

                if (k == 0)
                        k = 4;
                assert_true(asprintf(&p, "%s%.*s", url, (int) k, "AAAA") > 0);
                assert_int_equal(strlen(p) % 4, 1);
                t = ref_sign(SECRET, p);
                expect_invalid(t, strlen(t), "length 1 mod 4");
        }
        /* Non-zero unused low bits in the last character. */
        {
                /* {"agent":"ab","scopes":[],"exp":1800003600} -> tail of 2 or 3
                 * characters; bump the final character by one. */
                for (int pad = 0; pad < 3; pad++) {
                        _cleanup_free_ char *j = NULL, *p = NULL, *t = NULL;
                        size_t l;

                        assert_true(asprintf(&j, "{\"agent\":\"%.*s\"," S "," EXP "}", pad + 1, "abc") > 0);
                        p = ref_base64url(j, strlen(j));
                        l = strlen(p);
                        if (l % 4 == 0)
                                continue;
                        p[l - 1] = p[l - 1] == 'z' ? 'y' : (char) (p[l - 1] + 1);
                        t = ref_sign(SECRET, p);
                        expect_invalid(t, strlen(t), "non-canonical final character");
                }
        }
}

static void test_verify_oversize(void **state) {
        _cleanup_free_ char *big = repeat('A', HMAC_TOKEN_MAX_BYTES + 1);
        const char *detail = NULL;
        Identity *id = NULL;

        assert_int_equal(hmac_token_verify(key, big, strlen(big), NOW, &id, &detail), AUTH_ERR_INVALID_TOKEN);
        assert_string_equal(detail, "token too long");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_key_length),
                cmocka_unit_test(test_sign_hex_matches_reference),
                cmocka_unit_test(test_sign_threads),
                cmocka_unit_test(test_mint_round_trip),
                cmocka_unit_test(test_mint_optional_claims_absent),
                cmocka_unit_test(test_mint_rejects),
                cmocka_unit_test(test_verify_payload_cases),
                cmocka_unit_test(test_verify_length_limits),
                cmocka_unit_test(test_verify_identity_fields),
                cmocka_unit_test(test_verify_tamper_every_payload_char),
                cmocka_unit_test(test_verify_tamper_signature),
                cmocka_unit_test(test_verify_shape),
                cmocka_unit_test(test_verify_noncanonical_base64),
                cmocka_unit_test(test_verify_oversize),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
