/* SPDX-License-Identifier: MIT */
#pragma once

/* Persistent token state in SQLite: revocations (by jti, by agent "every
 * token issued before T"). Any process may write it (the daemon's HTTP API,
 * systemmanagerctl directly); readers notice other writers' commits through
 * PRAGMA data_version and reload, so a revocation takes effect on the running
 * daemon at its next request. Thread-safe. No transport knowledge. */

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "scopes/auth.h"
#include "scopes/identity.h"

typedef struct TokenStore TokenStore;

/* Opens (creating with mode 0600) the database at `path`. Returns 0 or a
 * negative errno. */
int tokenstore_open(const char *path, TokenStore **ret);
TokenStore *tokenstore_free(TokenStore *s);

/* True when the identity's token is revoked: its jti, or its subject for
 * tokens issued (iat) at or before the agent's revocation time. */
bool tokenstore_is_revoked(TokenStore *s, const Identity *id);

/* Revokes one token by jti. `expires_at` (0 = unknown) lets old entries be
 * pruned once the token could not be used anyway. Returns 0 or -errno. */
int tokenstore_revoke_jti(TokenStore *s, const char *jti, int64_t expires_at, const char *reason, const char *by);

/* Revokes every token of `agent` issued at or before `before` (epoch s). */
int tokenstore_revoke_agent(TokenStore *s, const char *agent, int64_t before, const char *reason, const char *by);

/* {"tokens":[{jti,reason,by,revoked_at}],"agents":[{agent,before,reason,by,revoked_at}]} */
json_t *tokenstore_revocations_json(TokenStore *s);

/* Service tokens ---------------------------------------------------------
 * "smst_<id>_<secret>": id [a-z0-9][a-z0-9-]{0,31}, secret 43 base64url
 * characters (256 bits). Only SHA-256(secret) is stored. */

#define SERVICE_TOKEN_PREFIX "smst_"

/* Creates a token with the given scope names (comma/space list, meta-scopes
 * allowed). `expires_in` 0 = no expiry. On success *ret_token is the whole
 * token (malloc'd; shown once, never stored). -EEXIST, -EINVAL, -errno. */
int tokenstore_service_create(TokenStore *s, const char *id, const char *scopes, int64_t expires_in,
                              char **ret_token);

/* New secret for `id`; the old one stays valid for `overlap` seconds.
 * `expires_in` 0 keeps the current expiry. -ENOENT, -errno. */
int tokenstore_service_rotate(TokenStore *s, const char *id, int64_t overlap, int64_t expires_in, char **ret_token);

/* Revokes a service token (it stops working at once). -ENOENT, -errno. */
int tokenstore_service_revoke(TokenStore *s, const char *id, const char *reason);

/* Verifies a presented "smst_..." token. On AUTH_OK *ret is a new identity
 * (method service_token, subject "service:<id>", token_id id). */
AuthError tokenstore_service_verify(TokenStore *s, const char *token, size_t len, Identity **ret,
                                    const char **ret_detail);

/* One token's record (NULL if unknown) or all, never the secret. */
json_t *tokenstore_service_json(TokenStore *s, const char *id);
