/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "common/cleanup.h"
#include "common/encoding.h"
#include "common/timeutil.h"
#include "scopes/tokenstore.h"

typedef struct RevokedAgent {
        char *agent;
        int64_t before;
} RevokedAgent;

struct TokenStore {
        pthread_mutex_t lock;
        sqlite3 *db;
        sqlite3_stmt *data_version;
        int64_t loaded_version;
        char **jtis;
        size_t n_jtis;
        RevokedAgent *agents;
        size_t n_agents;
};

static const char schema[] =
        "PRAGMA journal_mode=WAL;"
        "CREATE TABLE IF NOT EXISTS revoked_tokens ("
        "  jti TEXT PRIMARY KEY, expires_at INTEGER, reason TEXT, revoked_by TEXT, revoked_at INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS revoked_agents ("
        "  agent TEXT PRIMARY KEY, before INTEGER NOT NULL, reason TEXT, revoked_by TEXT, revoked_at INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS service_tokens ("
        "  id TEXT PRIMARY KEY, hash TEXT NOT NULL, scopes TEXT NOT NULL, created_at INTEGER NOT NULL,"
        "  expires_at INTEGER NOT NULL DEFAULT 0, prev_hash TEXT, prev_valid_until INTEGER NOT NULL DEFAULT 0,"
        "  rotated_at INTEGER, revoked_at INTEGER, revoke_reason TEXT, last_used_at INTEGER);";

static void cache_clear(TokenStore *s) {
        for (size_t i = 0; i < s->n_jtis; i++)
                free(s->jtis[i]);
        free(s->jtis);
        for (size_t i = 0; i < s->n_agents; i++)
                free(s->agents[i].agent);
        free(s->agents);
        s->jtis = NULL;
        s->agents = NULL;
        s->n_jtis = s->n_agents = 0;
}

static int64_t db_version(TokenStore *s) {
        int64_t v = -1;

        if (sqlite3_step(s->data_version) == SQLITE_ROW)
                v = sqlite3_column_int64(s->data_version, 0);
        sqlite3_reset(s->data_version);
        return v;
}

/* Reloads the sets when another connection (or this one) committed. Locked. */
static int cache_refresh(TokenStore *s) {
        int64_t v = db_version(s);
        sqlite3_stmt *st = NULL;

        if (v == s->loaded_version && v >= 0)
                return 0;
        cache_clear(s);

        /* Tokens that expired long ago cannot be used anyway: prune them. */
        (void) sqlite3_exec(s->db, "DELETE FROM revoked_tokens WHERE expires_at > 0 AND expires_at < strftime('%s','now') - 86400;",
                            NULL, NULL, NULL);

        if (sqlite3_prepare_v2(s->db, "SELECT jti FROM revoked_tokens", -1, &st, NULL) != SQLITE_OK)
                return -EIO;
        while (sqlite3_step(st) == SQLITE_ROW) {
                char **n = realloc(s->jtis, (s->n_jtis + 1) * sizeof(char *));
                const char *j = (const char *) sqlite3_column_text(st, 0);
                if (!n || !j || !(n[s->n_jtis] = strdup(j))) {
                        if (n)
                                s->jtis = n;
                        sqlite3_finalize(st);
                        return -ENOMEM;
                }
                s->jtis = n;
                s->n_jtis++;
        }
        sqlite3_finalize(st);

        if (sqlite3_prepare_v2(s->db, "SELECT agent, before FROM revoked_agents", -1, &st, NULL) != SQLITE_OK)
                return -EIO;
        while (sqlite3_step(st) == SQLITE_ROW) {
                RevokedAgent *n = realloc(s->agents, (s->n_agents + 1) * sizeof(RevokedAgent));
                const char *a = (const char *) sqlite3_column_text(st, 0);
                if (!n || !a || !(n[s->n_agents].agent = strdup(a))) {
                        if (n)
                                s->agents = n;
                        sqlite3_finalize(st);
                        return -ENOMEM;
                }
                n[s->n_agents].before = sqlite3_column_int64(st, 1);
                s->agents = n;
                s->n_agents++;
        }
        sqlite3_finalize(st);
        s->loaded_version = db_version(s);
        return 0;
}

int tokenstore_open(const char *path, TokenStore **ret) {
        TokenStore *s;
        int fd;

        /* Create it 0600 ourselves: sqlite would use the umask. */
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        close(fd);

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        pthread_mutex_init(&s->lock, NULL);
        s->loaded_version = -1;
        if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK ||
            sqlite3_busy_timeout(s->db, 2000) != SQLITE_OK ||
            sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_prepare_v2(s->db, "PRAGMA data_version", -1, &s->data_version, NULL) != SQLITE_OK) {
                tokenstore_free(s);
                return -EIO;
        }
        pthread_mutex_lock(&s->lock);
        int r = cache_refresh(s);
        pthread_mutex_unlock(&s->lock);
        if (r < 0) {
                tokenstore_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

TokenStore *tokenstore_free(TokenStore *s) {
        if (!s)
                return NULL;
        cache_clear(s);
        sqlite3_finalize(s->data_version);
        sqlite3_close(s->db);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
}

bool tokenstore_is_revoked(TokenStore *s, const Identity *id) {
        bool revoked = false;

        if (!s || !id)
                return false;
        pthread_mutex_lock(&s->lock);
        if (cache_refresh(s) < 0) {
                /* Cannot tell: fail closed. */
                pthread_mutex_unlock(&s->lock);
                return true;
        }
        if (id->token_id)
                for (size_t i = 0; i < s->n_jtis && !revoked; i++)
                        revoked = streq(s->jtis[i], id->token_id);
        if (id->subject)
                for (size_t i = 0; i < s->n_agents && !revoked; i++)
                        /* Tokens without iat predate any revocation. */
                        revoked = streq(s->agents[i].agent, id->subject) && id->issued_at <= s->agents[i].before;
        pthread_mutex_unlock(&s->lock);
        return revoked;
}

static int exec_bound(TokenStore *s, const char *sql, const char *a, int64_t n, const char *reason, const char *by) {
        sqlite3_stmt *st = NULL;
        int r = 0;

        pthread_mutex_lock(&s->lock);
        if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
                r = -EIO;
        else {
                sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
                sqlite3_bind_int64(st, 2, n);
                sqlite3_bind_text(st, 3, reason, -1, SQLITE_TRANSIENT);
                sqlite3_bind_text(st, 4, by, -1, SQLITE_TRANSIENT);
                sqlite3_bind_int64(st, 5, now_epoch());
                if (sqlite3_step(st) != SQLITE_DONE)
                        r = -EIO;
        }
        sqlite3_finalize(st);
        /* data_version does not move for our own commits: force the reload. */
        s->loaded_version = -2;
        if (r >= 0)
                r = cache_refresh(s);
        pthread_mutex_unlock(&s->lock);
        return r;
}

int tokenstore_revoke_jti(TokenStore *s, const char *jti, int64_t expires_at, const char *reason, const char *by) {
        if (!jti || !*jti)
                return -EINVAL;
        return exec_bound(s,
                          "INSERT OR REPLACE INTO revoked_tokens (jti, expires_at, reason, revoked_by, revoked_at) "
                          "VALUES (?1, ?2, ?3, ?4, ?5)",
                          jti, expires_at, reason, by);
}

int tokenstore_revoke_agent(TokenStore *s, const char *agent, int64_t before, const char *reason, const char *by) {
        if (!agent || !*agent)
                return -EINVAL;
        return exec_bound(s,
                          "INSERT OR REPLACE INTO revoked_agents (agent, before, reason, revoked_by, revoked_at) "
                          "VALUES (?1, ?2, ?3, ?4, ?5)",
                          agent, before, reason, by);
}

json_t *tokenstore_revocations_json(TokenStore *s) {
        _cleanup_json_ json_t *tokens = json_array(), *agents = json_array();
        sqlite3_stmt *st = NULL;

        if (!tokens || !agents)
                return NULL;
        pthread_mutex_lock(&s->lock);
        if (sqlite3_prepare_v2(s->db, "SELECT jti, reason, revoked_by, revoked_at FROM revoked_tokens ORDER BY revoked_at",
                               -1, &st, NULL) == SQLITE_OK)
                while (sqlite3_step(st) == SQLITE_ROW)
                        json_array_append_new(tokens, json_pack("{s:s?,s:s?,s:s?,s:I}", "jti", sqlite3_column_text(st, 0),
                                                                "reason", sqlite3_column_text(st, 1), "by",
                                                                sqlite3_column_text(st, 2), "revoked_at",
                                                                (json_int_t) sqlite3_column_int64(st, 3)));
        sqlite3_finalize(st);
        if (sqlite3_prepare_v2(s->db, "SELECT agent, before, reason, revoked_by, revoked_at FROM revoked_agents", -1, &st,
                               NULL) == SQLITE_OK)
                while (sqlite3_step(st) == SQLITE_ROW)
                        json_array_append_new(agents, json_pack("{s:s?,s:I,s:s?,s:s?,s:I}", "agent",
                                                                sqlite3_column_text(st, 0), "before",
                                                                (json_int_t) sqlite3_column_int64(st, 1), "reason",
                                                                sqlite3_column_text(st, 2), "by",
                                                                sqlite3_column_text(st, 3), "revoked_at",
                                                                (json_int_t) sqlite3_column_int64(st, 4)));
        sqlite3_finalize(st);
        pthread_mutex_unlock(&s->lock);
        return json_pack("{s:O,s:O}", "tokens", tokens, "agents", agents);
}

/* Service tokens --------------------------------------------------------- */

static bool service_id_valid(const char *id) {
        size_t n = id ? strlen(id) : 0;

        if (n == 0 || n > 32 || !strchr("abcdefghijklmnopqrstuvwxyz0123456789", id[0]))
                return false;
        return strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

static int secret_hash(const char *secret, size_t len, char ret[static 65]) {
        unsigned char md[32];
        unsigned int n = sizeof md;

        if (EVP_Digest(secret, len, md, &n, EVP_sha256(), NULL) != 1)
                return -EIO;
        hex_encode(md, sizeof md, ret, 65);
        return 0;
}

/* A fresh "smst_<id>_<secret>" and the secret's hash. */
static int new_secret(const char *id, char **ret_token, char ret_hash[static 65]) {
        unsigned char raw[32];
        char sec[48];

        if (RAND_bytes(raw, sizeof raw) != 1)
                return -EIO;
        if (base64url_encode(raw, sizeof raw, sec, sizeof sec) != 43)
                return -EIO;
        OPENSSL_cleanse(raw, sizeof raw);
        if (secret_hash(sec, 43, ret_hash) < 0 || asprintf(ret_token, SERVICE_TOKEN_PREFIX "%s_%s", id, sec) < 0) {
                OPENSSL_cleanse(sec, sizeof sec);
                return -ENOMEM;
        }
        OPENSSL_cleanse(sec, sizeof sec);
        return 0;
}

int tokenstore_service_create(TokenStore *s, const char *id, const char *scopes, int64_t expires_in,
                              char **ret_token) {
        _cleanup_erase_ char *token = NULL;
        char hash[65];
        ScopeSet set;
        sqlite3_stmt *st = NULL;
        int r;

        if (!service_id_valid(id) || !scopes || scope_parse_list(scopes, &set, NULL) < 0 || set == 0 ||
            expires_in < 0)
                return -EINVAL;
        r = new_secret(id, &token, hash);
        if (r < 0)
                return r;

        int64_t now = now_epoch();
        pthread_mutex_lock(&s->lock);
        if (sqlite3_prepare_v2(s->db,
                               "INSERT INTO service_tokens (id, hash, scopes, created_at, expires_at) "
                               "VALUES (?1, ?2, ?3, ?4, ?5)",
                               -1, &st, NULL) != SQLITE_OK)
                r = -EIO;
        else {
                sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
                sqlite3_bind_text(st, 2, hash, -1, SQLITE_TRANSIENT);
                sqlite3_bind_text(st, 3, scopes, -1, SQLITE_TRANSIENT);
                sqlite3_bind_int64(st, 4, now);
                sqlite3_bind_int64(st, 5, expires_in > 0 ? now + expires_in : 0);
                int rc = sqlite3_step(st);
                r = rc == SQLITE_DONE ? 0 : rc == SQLITE_CONSTRAINT ? -EEXIST : -EIO;
        }
        sqlite3_finalize(st);
        pthread_mutex_unlock(&s->lock);
        if (r < 0)
                return r;
        *ret_token = TAKE_PTR(token);
        return 0;
}

int tokenstore_service_rotate(TokenStore *s, const char *id, int64_t overlap, int64_t expires_in, char **ret_token) {
        _cleanup_erase_ char *token = NULL;
        char hash[65];
        sqlite3_stmt *st = NULL;
        int r;

        if (!service_id_valid(id) || overlap < 0 || expires_in < 0)
                return -EINVAL;
        r = new_secret(id, &token, hash);
        if (r < 0)
                return r;
        int64_t now = now_epoch();
        pthread_mutex_lock(&s->lock);
        if (sqlite3_prepare_v2(s->db,
                               "UPDATE service_tokens SET prev_hash = hash, prev_valid_until = ?2, hash = ?3, "
                               "rotated_at = ?4, expires_at = CASE WHEN ?5 > 0 THEN ?4 + ?5 ELSE expires_at END "
                               "WHERE id = ?1 AND revoked_at IS NULL",
                               -1, &st, NULL) != SQLITE_OK)
                r = -EIO;
        else {
                sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
                sqlite3_bind_int64(st, 2, overlap > 0 ? now + overlap : 0);
                sqlite3_bind_text(st, 3, hash, -1, SQLITE_TRANSIENT);
                sqlite3_bind_int64(st, 4, now);
                sqlite3_bind_int64(st, 5, expires_in);
                r = sqlite3_step(st) == SQLITE_DONE ? (sqlite3_changes(s->db) == 1 ? 0 : -ENOENT) : -EIO;
        }
        sqlite3_finalize(st);
        pthread_mutex_unlock(&s->lock);
        if (r < 0)
                return r;
        *ret_token = TAKE_PTR(token);
        return 0;
}

int tokenstore_service_revoke(TokenStore *s, const char *id, const char *reason) {
        sqlite3_stmt *st = NULL;
        int r;

        if (!service_id_valid(id))
                return -EINVAL;
        pthread_mutex_lock(&s->lock);
        if (sqlite3_prepare_v2(s->db,
                               "UPDATE service_tokens SET revoked_at = ?2, revoke_reason = ?3 "
                               "WHERE id = ?1 AND revoked_at IS NULL",
                               -1, &st, NULL) != SQLITE_OK)
                r = -EIO;
        else {
                sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
                sqlite3_bind_int64(st, 2, now_epoch());
                sqlite3_bind_text(st, 3, reason, -1, SQLITE_TRANSIENT);
                r = sqlite3_step(st) == SQLITE_DONE ? (sqlite3_changes(s->db) == 1 ? 0 : -ENOENT) : -EIO;
        }
        sqlite3_finalize(st);
        pthread_mutex_unlock(&s->lock);
        return r;
}

AuthError tokenstore_service_verify(TokenStore *s, const char *token, size_t len, Identity **ret,
                                    const char **ret_detail) {
        const size_t plen = strlen(SERVICE_TOKEN_PREFIX);
        char id[33], hash[65];
        sqlite3_stmt *st = NULL;
        AuthError e = AUTH_ERR_INVALID_TOKEN;

#define FAIL(code, text)                          \
        do {                                      \
                if (ret_detail)                   \
                        *ret_detail = (text);     \
                return (code);                    \
        } while (0)

        if (len <= plen || len > plen + 32 + 1 + 43 || strncmp(token, SERVICE_TOKEN_PREFIX, plen) != 0)
                FAIL(AUTH_ERR_INVALID_TOKEN, "malformed service token");
        /* The secret is the last 43 characters (base64url may contain '_'). */
        const char *rest = token + plen, *sep = len >= plen + 45 ? token + len - 44 : NULL;
        if (!sep || *sep != '_' || sep <= rest || (size_t) (sep - rest) > 32)
                FAIL(AUTH_ERR_INVALID_TOKEN, "malformed service token: expected smst_<id>_<43-char secret>");
        memcpy(id, rest, (size_t) (sep - rest));
        id[sep - rest] = 0;
        if (!service_id_valid(id))
                FAIL(AUTH_ERR_INVALID_TOKEN, "malformed service token id");
        if (secret_hash(sep + 1, 43, hash) < 0)
                FAIL(AUTH_ERR_INVALID_TOKEN, "cannot hash the secret");

        int64_t now = now_epoch();
        _cleanup_free_ char *scopes = NULL;
        int64_t expires = 0, created = 0;
        bool known = false, match = false, revoked = false;

        pthread_mutex_lock(&s->lock);
        if (sqlite3_prepare_v2(s->db,
                               "SELECT hash, prev_hash, prev_valid_until, scopes, expires_at, revoked_at, created_at "
                               "FROM service_tokens WHERE id = ?1",
                               -1, &st, NULL) == SQLITE_OK) {
                sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
                if (sqlite3_step(st) == SQLITE_ROW) {
                        const char *h = (const char *) sqlite3_column_text(st, 0);
                        const char *ph = (const char *) sqlite3_column_text(st, 1);
                        int64_t pvu = sqlite3_column_int64(st, 2);
                        known = true;
                        /* Both compared in constant time; the old secret only within its overlap. */
                        bool cur = h && strlen(h) == 64 && CRYPTO_memcmp(h, hash, 64) == 0;
                        bool old = ph && strlen(ph) == 64 && now < pvu && CRYPTO_memcmp(ph, hash, 64) == 0;
                        match = cur || old;
                        const char *sc = (const char *) sqlite3_column_text(st, 3);
                        scopes = sc ? strdup(sc) : NULL;
                        expires = sqlite3_column_int64(st, 4);
                        revoked = sqlite3_column_type(st, 5) != SQLITE_NULL;
                        created = sqlite3_column_int64(st, 6);
                }
        }
        sqlite3_finalize(st);
        if (known && match && !revoked) {
                /* last_used_at, at most once a minute: no write per request. */
                sqlite3_stmt *u = NULL;
                if (sqlite3_prepare_v2(s->db,
                                       "UPDATE service_tokens SET last_used_at = ?2 WHERE id = ?1 AND "
                                       "(last_used_at IS NULL OR last_used_at < ?2 - 60)",
                                       -1, &u, NULL) == SQLITE_OK) {
                        sqlite3_bind_text(u, 1, id, -1, SQLITE_TRANSIENT);
                        sqlite3_bind_int64(u, 2, now);
                        (void) sqlite3_step(u);
                }
                sqlite3_finalize(u);
        }
        pthread_mutex_unlock(&s->lock);

        if (!known || !match)
                FAIL(AUTH_ERR_INVALID_TOKEN, "unknown service token or wrong secret");
        if (revoked)
                FAIL(AUTH_ERR_TOKEN_REVOKED, "service token revoked");
        if (expires > 0 && now >= expires)
                FAIL(AUTH_ERR_TOKEN_EXPIRED, "service token expired");
#undef FAIL

        _cleanup_identity_ Identity *i = identity_new();
        ScopeSet set = 0;
        if (!i || !scopes || scope_parse_list(scopes, &set, NULL) < 0)
                return e;
        if (asprintf(&i->subject, "service:%s", id) < 0) {
                i->subject = NULL;
                return e;
        }
        i->token_id = strdup(id);
        i->method = AUTH_METHOD_SERVICE_TOKEN;
        i->scopes = set;
        i->issued_at = created;
        i->expires_at = expires;
        unsigned char md[32];
        unsigned int mdl = sizeof md;
        char hex[65];
        if (!i->token_id || EVP_Digest(token, len, md, &mdl, EVP_sha256(), NULL) != 1)
                return e;
        hex_encode(md, sizeof md, hex, sizeof hex);
        memcpy(i->token_sha256, hex, 16);
        i->token_sha256[16] = 0;
        *ret = TAKE_PTR(i);
        if (ret_detail)
                *ret_detail = NULL;
        return AUTH_OK;
}

json_t *tokenstore_service_json(TokenStore *s, const char *id) {
        sqlite3_stmt *st = NULL;
        json_t *arr = json_array();

        if (!arr)
                return NULL;
        pthread_mutex_lock(&s->lock);
        if (sqlite3_prepare_v2(s->db,
                               "SELECT id, scopes, created_at, expires_at, rotated_at, prev_valid_until, revoked_at, "
                               "revoke_reason, last_used_at FROM service_tokens WHERE ?1 IS NULL OR id = ?1 ORDER BY id",
                               -1, &st, NULL) == SQLITE_OK) {
                if (id)
                        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
                while (sqlite3_step(st) == SQLITE_ROW) {
                        json_t *o = json_pack("{s:s?,s:s?,s:I}", "id", sqlite3_column_text(st, 0), "scopes",
                                              sqlite3_column_text(st, 1), "created_at",
                                              (json_int_t) sqlite3_column_int64(st, 2));
                        if (!o)
                                continue;
                        if (sqlite3_column_int64(st, 3) > 0)
                                json_object_set_new(o, "expires_at", json_integer(sqlite3_column_int64(st, 3)));
                        if (sqlite3_column_type(st, 4) != SQLITE_NULL)
                                json_object_set_new(o, "rotated_at", json_integer(sqlite3_column_int64(st, 4)));
                        if (sqlite3_column_int64(st, 5) > now_epoch())
                                json_object_set_new(o, "previous_secret_valid_until",
                                                    json_integer(sqlite3_column_int64(st, 5)));
                        json_object_set_new(o, "state",
                                            json_string(sqlite3_column_type(st, 6) != SQLITE_NULL ? "revoked"
                                                        : sqlite3_column_int64(st, 3) > 0 &&
                                                                          sqlite3_column_int64(st, 3) <= now_epoch()
                                                                  ? "expired"
                                                                  : "active"));
                        if (sqlite3_column_type(st, 7) != SQLITE_NULL)
                                json_object_set_new(o, "revoke_reason",
                                                    json_string((const char *) sqlite3_column_text(st, 7)));
                        if (sqlite3_column_type(st, 8) != SQLITE_NULL)
                                json_object_set_new(o, "last_used_at", json_integer(sqlite3_column_int64(st, 8)));
                        json_array_append_new(arr, o);
                }
        }
        sqlite3_finalize(st);
        pthread_mutex_unlock(&s->lock);
        if (id) {
                json_t *one = json_incref(json_array_get(arr, 0));
                json_decref(arr);
                return one;
        }
        return arr;
}
