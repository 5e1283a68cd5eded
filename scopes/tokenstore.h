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
