/* SPDX-License-Identifier: MIT */

#include <assert.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <crypt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/encoding.h"
#include "scopes/auth.h"
#include "scopes/tokenstore.h"
#include "scopes/jose.h"

#define AUTH_DEFAULT_MAX_TOKEN_BYTES 8192
#define AUTH_DEFAULT_MAX_TTL_SECONDS (30 * 24 * 3600)

typedef struct Credential {
        struct Credential *next;
        char *name;
        char *hash;
        ScopeSet scopes;
} Credential;

struct Auth {
        AuthConfig cfg;
        HmacKey *hmac;          /* owned; NULL = no HMAC source */
        JwtVerifier *jwt;       /* owned; NULL = no JWT source */
        TokenStore *store;      /* borrowed; revocations */
        char *bootstrap;        /* owned secret; NULL = none */
        struct Credential *api_keys;    /* X-API-Key: name, SHA-256 hex, scopes */
        struct Credential *basic_users; /* Basic: user, crypt hash, scopes */
        pthread_mutex_t basic_lock;
        struct BasicCache { char user[64]; unsigned char pw_hash[32]; int64_t until; } basic_cache[16];
        ScopeSet bootstrap_scopes;
        int64_t bootstrap_expires;
};

static const struct {
        const char *code;
        const char *message;
        int http_status;
} auth_errors[_AUTH_ERR_MAX] = {
        [AUTH_OK]                        = { "auth.ok", "OK", 200 },
        [AUTH_ERR_MISSING_TOKEN]         = { "auth.missing_token", "Missing bearer token", 401 },
        [AUTH_ERR_INVALID_TOKEN]         = { "auth.invalid_token", "Invalid bearer token", 401 },
        [AUTH_ERR_TOKEN_EXPIRED]         = { "auth.token_expired", "Bearer token has expired", 401 },
        [AUTH_ERR_TOKEN_REVOKED]         = { "auth.token_revoked", "Bearer token has been revoked", 401 },
        [AUTH_ERR_INSUFFICIENT_SCOPE]    = { "auth.insufficient_scope", "Missing required scopes", 403 },
        [AUTH_ERR_AUDIENCE_MISMATCH]     = { "auth.audience_mismatch", "Token audience does not match", 403 },
        [AUTH_ERR_RATE_LIMITED_IP]       = { "auth.rate_limited.ip",
                                             "Too many failed authentication attempts from this address", 429 },
        [AUTH_ERR_RATE_LIMITED_IDENTITY] = { "auth.rate_limited.identity",
                                             "Too many failed attempts for this identity", 429 },
};

static bool auth_error_valid(AuthError e) {
        return (int) e >= 0 && e < _AUTH_ERR_MAX;
}

const char *auth_error_code(AuthError e) {
        /* An out-of-range value is a bug; still answer with the most
         * restrictive meaning rather than NULL. */
        if (!auth_error_valid(e))
                return auth_errors[AUTH_ERR_INVALID_TOKEN].code;
        return auth_errors[e].code;
}

const char *auth_error_message(AuthError e) {
        if (!auth_error_valid(e))
                return auth_errors[AUTH_ERR_INVALID_TOKEN].message;
        return auth_errors[e].message;
}

int auth_error_http_status(AuthError e) {
        if (!auth_error_valid(e))
                return 401;
        return auth_errors[e].http_status;
}

int auth_new(const AuthConfig *cfg, HmacKey *hmac, Auth **ret) {
        Auth *a;

        assert(cfg);
        assert(ret);

        if ((int) cfg->mode < AUTH_MODE_DISABLED || cfg->mode > AUTH_MODE_REQUIRED)
                return -EINVAL;
        if (cfg->max_ttl_seconds < 0)
                return -EINVAL;

        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;

        a->cfg = *cfg;
        if (a->cfg.max_token_bytes == 0)
                a->cfg.max_token_bytes = AUTH_DEFAULT_MAX_TOKEN_BYTES;
        if (a->cfg.max_ttl_seconds == 0)
                a->cfg.max_ttl_seconds = AUTH_DEFAULT_MAX_TTL_SECONDS;
        a->hmac = hmac;
        pthread_mutex_init(&a->basic_lock, NULL);

        *ret = a;
        return 0;
}

Auth *auth_free(Auth *a) {
        if (!a)
                return NULL;

        hmac_key_free(a->hmac);
        jwt_verifier_free(a->jwt);
        erase_and_free(a->bootstrap);
        Credential *lists[] = { a->api_keys, a->basic_users };
        for (size_t l = 0; l < 2; l++)
                for (Credential *c = lists[l], *n; c; c = n) {
                        n = c->next;
                        free(c->name);
                        erase_and_free(c->hash);
                        free(c);
                }
        OPENSSL_cleanse(a->basic_cache, sizeof a->basic_cache);
        pthread_mutex_destroy(&a->basic_lock);
        free(a);
        return NULL;
}

void auth_set_jwt(Auth *a, JwtVerifier *jwt) {
        assert(a);

        jwt_verifier_free(a->jwt);
        a->jwt = jwt;
}

bool auth_required(const Auth *a) {
        assert(a);

        /* SPEC §5.1: optional turns into required as soon as any credential
         * source exists, so configuring a secret can never leave the server
         * open by accident. */
        switch (a->cfg.mode) {
        case AUTH_MODE_REQUIRED:
                return true;
        case AUTH_MODE_OPTIONAL:
                return a->hmac != NULL || a->jwt != NULL || a->bootstrap != NULL || a->api_keys != NULL ||
                       a->basic_users != NULL;
        case AUTH_MODE_DISABLED:
        default:
                return false;
        }
}

static AuthError auth_fail(const char **ret_detail, AuthError e, const char *detail) {
        if (ret_detail)
                *ret_detail = detail;
        return e;
}

static AuthError auth_anonymous(Identity **ret, const char **ret_detail) {
        _cleanup_identity_ Identity *id = NULL;

        id = identity_new();
        if (!id)
                return auth_fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "internal error: out of memory");

        id->subject = strdup("anonymous");
        if (!id->subject)
                return auth_fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "internal error: out of memory");
        id->method = AUTH_METHOD_NONE;
        id->scopes = SCOPESET_ALL;

        *ret = TAKE_PTR(id);
        if (ret_detail)
                *ret_detail = NULL;
        return AUTH_OK;
}

static size_t count_dots(const char *token, size_t len) {
        size_t n = 0;

        for (size_t i = 0; i < len; i++)
                if (token[i] == '.')
                        n++;
        return n;
}

AuthError auth_authenticate_token(Auth *a, const char *token, size_t len, int64_t now,
                                  Identity **ret, const char **ret_detail) {
        _cleanup_identity_ Identity *id = NULL;
        AuthError e;

        assert(a);
        assert(ret);

        if (a->cfg.mode == AUTH_MODE_DISABLED)
                return auth_anonymous(ret, ret_detail);

        if (!token || len == 0) {
                if (!auth_required(a))
                        return auth_anonymous(ret, ret_detail);
                return auth_fail(ret_detail, AUTH_ERR_MISSING_TOKEN, "no bearer token presented");
        }

        /* Size before anything else: no parsing or crypto on oversize input. */
        if (len > a->cfg.max_token_bytes)
                return auth_fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "token exceeds the maximum size");

        /* The bootstrap token: a fixed string, compared in constant time. */
        if (a->bootstrap && len == strlen(a->bootstrap) && CRYPTO_memcmp(token, a->bootstrap, len) == 0) {
                if (a->bootstrap_expires > 0 && now >= a->bootstrap_expires)
                        return auth_fail(ret_detail, AUTH_ERR_TOKEN_EXPIRED, "the bootstrap token has expired");
                _cleanup_identity_ Identity *b = identity_new();
                if (!b || !(b->subject = strdup("bootstrap")))
                        return auth_fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "out of memory");
                b->method = AUTH_METHOD_BOOTSTRAP;
                b->scopes = a->bootstrap_scopes;
                b->expires_at = a->bootstrap_expires;
                *ret = TAKE_PTR(b);
                if (ret_detail)
                        *ret_detail = NULL;
                return AUTH_OK;
        }

        /* Service tokens are recognisable by their prefix and never reach the
         * other verifiers. */
        if (len > strlen(SERVICE_TOKEN_PREFIX) && strncmp(token, SERVICE_TOKEN_PREFIX, strlen(SERVICE_TOKEN_PREFIX)) == 0) {
                if (!a->store)
                        return auth_fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "service tokens are not configured");
                return tokenstore_service_verify(a->store, token, len, ret, ret_detail);
        }

        /* A JWT has exactly two dots, an HMAC token exactly one: the shape
         * alone picks the verifier, and the other one never sees the token,
         * so a token of one kind cannot be replayed as the other (each
         * verifier also refuses the other's shape on its own). */
        if (count_dots(token, len) == 2) {
                if (!a->jwt)
                        return auth_fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "JWT presented but no JWT keys configured");
                e = jwt_verify(a->jwt, token, len, now, &id, ret_detail);
                if (e != AUTH_OK)
                        return e;
                if (a->store && tokenstore_is_revoked(a->store, id))
                        return auth_fail(ret_detail, AUTH_ERR_TOKEN_REVOKED, "token revoked (by jti or by agent)");
                *ret = TAKE_PTR(id);
                if (ret_detail)
                        *ret_detail = NULL;
                return AUTH_OK;
        }

        /* A presented token is always checked, even where auth is not
         * required: silently downgrading to anonymous would hide mistakes. */
        if (!a->hmac)
                return auth_fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "no verifier configured for bearer tokens");

        e = hmac_token_verify(a->hmac, token, len, now, &id, ret_detail);
        if (e != AUTH_OK)
                return e;

        /* An over-long lifetime means the minter ignored policy (or the
         * secret leaked to someone who does): refuse rather than trust it. */
        if (id->issued_at > 0 && id->expires_at - id->issued_at > a->cfg.max_ttl_seconds)
                return auth_fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "token lifetime exceeds the configured maximum");

        /* Checked last: only a token that would otherwise be valid is "revoked". */
        if (a->store && tokenstore_is_revoked(a->store, id))
                return auth_fail(ret_detail, AUTH_ERR_TOKEN_REVOKED, "token revoked (by jti or by agent)");

        *ret = TAKE_PTR(id);
        if (ret_detail)
                *ret_detail = NULL;
        return AUTH_OK;
}

static AuthError auth_basic(Auth *a, const char *b64, int64_t now, Identity **ret, const char **ret_detail);

AuthError auth_authenticate_header(Auth *a, const char *authorization, int64_t now,
                                   Identity **ret, const char **ret_detail) {
        static const char scheme[] = "Bearer";
        const size_t prefix_len = sizeof(scheme); /* "Bearer" + one space */
        const char *token;
        size_t n, token_len;

        assert(a);
        assert(ret);

        if (a->cfg.mode == AUTH_MODE_DISABLED)
                return auth_anonymous(ret, ret_detail);

        if (!authorization || authorization[0] == 0)
                return auth_authenticate_token(a, NULL, 0, now, ret, ret_detail);

        /* Bounded length: never scan more than one byte past the largest
         * acceptable header value. */
        n = strnlen(authorization, prefix_len + a->cfg.max_token_bytes + 1);
        if (n > prefix_len + a->cfg.max_token_bytes)
                return auth_fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "token exceeds the maximum size");

        /* HTTP Basic, when configured (RFC 7617). */
        if (a->basic_users && n > 6 && strncasecmp(authorization, "Basic ", 6) == 0)
                return auth_basic(a, authorization + 6, now, ret, ret_detail);

        /* RFC 6750 §2.1 / RFC 7235: the scheme is case-insensitive; exactly
         * one space, then the token68 with no further whitespace. */
        if (n <= prefix_len ||
            strncasecmp(authorization, scheme, prefix_len - 1) != 0 ||
            authorization[prefix_len - 1] != ' ')
                return auth_fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "expected 'Authorization: Bearer <token>'");

        token = authorization + prefix_len;
        token_len = n - prefix_len;
        for (size_t i = 0; i < token_len; i++) {
                unsigned char c = (unsigned char) token[i];

                if (c <= 0x20 || c >= 0x7f)
                        return auth_fail(ret_detail, AUTH_ERR_INVALID_TOKEN,
                                         "expected 'Authorization: Bearer <token>'");
        }

        return auth_authenticate_token(a, token, token_len, now, ret, ret_detail);
}

void auth_set_store(Auth *a, TokenStore *store) {
        a->store = store;
}

int auth_set_bootstrap(Auth *a, const char *token, const char *scopes, int64_t expires_at) {
        ScopeSet set;

        if (!token || strlen(token) < 32 || scope_parse_list(scopes ? scopes : "admin", &set, NULL) < 0)
                return -EINVAL;
        erase_and_free(a->bootstrap);
        a->bootstrap = strdup(token);
        if (!a->bootstrap)
                return -ENOMEM;
        a->bootstrap_scopes = set;
        a->bootstrap_expires = expires_at;
        return 0;
}

HmacKey *auth_hmac_key(Auth *a) {
        return a ? a->hmac : NULL;
}

static int credential_add(Credential **list, const char *entry, bool hex_hash) {
        const char *c1 = entry ? strchr(entry, ':') : NULL, *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        ScopeSet set;

        if (!c1 || !c2 || c1 == entry || c2 == c1 + 1 || (size_t) (c1 - entry) > 63)
                return -EINVAL;
        if (scope_parse_list(c2 + 1, &set, NULL) < 0 || set == 0)
                return -EINVAL;
        if (hex_hash && ((size_t) (c2 - c1 - 1) != 64 || !hex_is_lower(c1 + 1, 64)))
                return -EINVAL;
        Credential *c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->name = strndup(entry, (size_t) (c1 - entry));
        c->hash = strndup(c1 + 1, (size_t) (c2 - c1 - 1));
        c->scopes = set;
        if (!c->name || !c->hash) {
                free(c->name);
                free(c->hash);
                free(c);
                return -ENOMEM;
        }
        c->next = *list;
        *list = c;
        return 0;
}

int auth_add_api_key(Auth *a, const char *entry) {
        return credential_add(&a->api_keys, entry, true);
}

int auth_add_basic_user(Auth *a, const char *entry) {
        return credential_add(&a->basic_users, entry, false);
}

static Identity *credential_identity(const Credential *c, const char *prefix, AuthMethod m) {
        Identity *i = identity_new();

        if (!i)
                return NULL;
        if (asprintf(&i->subject, "%s%s", prefix, c->name) < 0) {
                i->subject = NULL;
                return identity_unref(i);
        }
        i->method = m;
        i->scopes = c->scopes;
        return i;
}

AuthError auth_authenticate_api_key(Auth *a, const char *key, size_t len, Identity **ret, const char **ret_detail) {
        unsigned char md[32];
        unsigned int n = sizeof md;
        char hex[65];
        const Credential *hit = NULL;

        if (!a->api_keys || len == 0 || len > 1024)
                return auth_fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "unknown API key");
        if (EVP_Digest(key, len, md, &n, EVP_sha256(), NULL) != 1)
                return auth_fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "cannot hash the API key");
        hex_encode(md, sizeof md, hex, sizeof hex);
        /* Compare against every key, so the time does not say which one matched. */
        for (const Credential *c = a->api_keys; c; c = c->next)
                if (CRYPTO_memcmp(c->hash, hex, 64) == 0)
                        hit = c;
        if (!hit)
                return auth_fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "unknown API key");
        *ret = credential_identity(hit, "apikey:", AUTH_METHOD_API_KEY);
        if (!*ret)
                return auth_fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "out of memory");
        memcpy((*ret)->token_sha256, hex, 16);
        (*ret)->token_sha256[16] = 0;
        if (ret_detail)
                *ret_detail = NULL;
        return AUTH_OK;
}

/* "Basic base64(user:password)". bcrypt is slow on purpose (tens of ms): a
 * verified credential is cached for 5 minutes by SHA-256 of the password,
 * so a client does not pay for it (nor stall the event loop) per request. */
static AuthError auth_basic(Auth *a, const char *b64, int64_t now, Identity **ret, const char **ret_detail) {
        unsigned char dec[512];
        int n;

        if (!a->basic_users)
                return auth_fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "HTTP Basic is not configured");
        size_t l = strlen(b64);
        if (l == 0 || l > 680 || l % 4 != 0)
                return auth_fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "malformed Basic credentials");
        n = EVP_DecodeBlock(dec, (const unsigned char *) b64, (int) l);
        if (n < 0)
                return auth_fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "malformed Basic credentials");
        while (n > 0 && b64[--l] == '=')
                n--; /* EVP_DecodeBlock counts padding as zero bytes */
        dec[n] = 0;
        char *colon = memchr(dec, ':', (size_t) n);
        if (!colon || colon == (char *) dec || memchr(dec, 0, (size_t) n)) {
                OPENSSL_cleanse(dec, sizeof dec);
                return auth_fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "malformed Basic credentials");
        }
        *colon = 0;
        const char *user = (const char *) dec, *pass = colon + 1;
        const Credential *c = NULL;
        for (const Credential *i = a->basic_users; i; i = i->next)
                if (streq(i->name, user))
                        c = i;

        unsigned char ph[32];
        unsigned int pl = sizeof ph;
        EVP_Digest(pass, strlen(pass), ph, &pl, EVP_sha256(), NULL);
        bool ok = false;
        pthread_mutex_lock(&a->basic_lock);
        for (size_t k = 0; c && k < ELEMENTSOF(a->basic_cache); k++)
                if (a->basic_cache[k].until > now && streq(a->basic_cache[k].user, user) &&
                    CRYPTO_memcmp(a->basic_cache[k].pw_hash, ph, 32) == 0)
                        ok = true;
        pthread_mutex_unlock(&a->basic_lock);
        if (c && !ok) {
                struct crypt_data cd = {};
                const char *h = crypt_r(pass, c->hash, &cd);
                ok = h && strlen(h) == strlen(c->hash) && CRYPTO_memcmp(h, c->hash, strlen(h)) == 0;
                OPENSSL_cleanse(&cd, sizeof cd);
                size_t ul = strlen(user);
                if (ok && ul < sizeof a->basic_cache[0].user) {
                        pthread_mutex_lock(&a->basic_lock);
                        size_t slot = (size_t) (ph[0]) % ELEMENTSOF(a->basic_cache);
                        memcpy(a->basic_cache[slot].user, user, ul + 1);
                        memcpy(a->basic_cache[slot].pw_hash, ph, 32);
                        a->basic_cache[slot].until = now + 300;
                        pthread_mutex_unlock(&a->basic_lock);
                }
        }
        OPENSSL_cleanse(ph, sizeof ph);
        OPENSSL_cleanse(dec, sizeof dec);
        if (!c || !ok)
                return auth_fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "unknown user or wrong password");
        *ret = credential_identity(c, "basic:", AUTH_METHOD_BASIC);
        if (!*ret)
                return auth_fail(ret_detail, AUTH_ERR_INVALID_TOKEN, "out of memory");
        if (ret_detail)
                *ret_detail = NULL;
        return AUTH_OK;
}
