/* SPDX-License-Identifier: MIT */

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "scopes/auth.h"
#include "scopes/tokenstore.h"
#include "scopes/jose.h"

#define AUTH_DEFAULT_MAX_TOKEN_BYTES 8192
#define AUTH_DEFAULT_MAX_TTL_SECONDS (30 * 24 * 3600)

struct Auth {
        AuthConfig cfg;
        HmacKey *hmac;          /* owned; NULL = no HMAC source */
        JwtVerifier *jwt;       /* owned; NULL = no JWT source */
        TokenStore *store;      /* borrowed; revocations */
        char *bootstrap;        /* owned secret; NULL = none */
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

        *ret = a;
        return 0;
}

Auth *auth_free(Auth *a) {
        if (!a)
                return NULL;

        hmac_key_free(a->hmac);
        jwt_verifier_free(a->jwt);
        erase_and_free(a->bootstrap);
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
                return a->hmac != NULL || a->jwt != NULL || a->bootstrap != NULL;
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
