/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/cleanup.h"
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
        "  agent TEXT PRIMARY KEY, before INTEGER NOT NULL, reason TEXT, revoked_by TEXT, revoked_at INTEGER NOT NULL);";

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
