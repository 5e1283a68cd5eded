/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/cleanup.h"
#include "common/encoding.h"
#include "common/timeutil.h"
#include "scopes/approvals.h"

#define KEEP_DECIDED_SEC 3600   /* decided/expired records stay listable this long */

typedef struct Approval {
        struct Approval *next;
        char id[32];
        char binding[65];
        char *tool, *subject, *jti, *approver, *reason;
        json_t *args, *plan;
        int64_t created, expires, decided;
        ApprovalState state;
} Approval;

struct ApprovalStore {
        pthread_mutex_t lock;
        Approval *head;
        int64_t ttl;
        unsigned max_pending;
        char *path;             /* persisted here when set */
        uint64_t n_approved, n_denied;
};

static const char *const state_names[_APPROVAL_STATE_MAX] = {
        [APPROVAL_PENDING] = "pending",     [APPROVAL_APPROVED] = "approved", [APPROVAL_DENIED] = "denied",
        [APPROVAL_EXPIRED] = "expired",     [APPROVAL_CONSUMED] = "consumed",
};

const char *approval_state_to_string(ApprovalState s) {
        return s >= 0 && s < _APPROVAL_STATE_MAX ? state_names[s] : NULL;
}

int approval_store_new(int64_t ttl_sec, unsigned max_pending, ApprovalStore **ret) {
        ApprovalStore *s;

        if (ttl_sec <= 0 || max_pending == 0)
                return -EINVAL;
        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        pthread_mutex_init(&s->lock, NULL);
        s->ttl = ttl_sec;
        s->max_pending = max_pending;
        *ret = s;
        return 0;
}

static void approval_free(Approval *a) {
        free(a->tool);
        free(a->subject);
        free(a->jti);
        free(a->approver);
        free(a->reason);
        json_decref(a->args);
        json_decref(a->plan);
        free(a);
}

ApprovalStore *approval_store_free(ApprovalStore *s) {
        if (!s)
                return NULL;
        for (Approval *a = s->head, *n; a; a = n) {
                n = a->next;
                approval_free(a);
        }
        pthread_mutex_destroy(&s->lock);
        free(s->path);
        free(s);
        return NULL;
}

int approval_binding(const char *tool, json_t *args, const char *subject, const char *jti, char ret[static 65]) {
        /* Canonical arguments: sorted keys, no whitespace. */
        _cleanup_free_ char *canon = args ? json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)
                                          : strdup("{}");
        unsigned char md[32];
        unsigned int n = sizeof md;
        EVP_MD_CTX *c;

        if (!canon)
                return -ENOMEM;
        c = EVP_MD_CTX_new();
        if (!c)
                return -ENOMEM;
        const char *parts[] = { tool, canon, subject ? subject : "", jti ? jti : "" };
        int ok = EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;
        for (size_t i = 0; ok && i < ELEMENTSOF(parts); i++)
                ok = EVP_DigestUpdate(c, parts[i], strlen(parts[i]) + 1) == 1; /* with the NUL separator */
        ok = ok && EVP_DigestFinal_ex(c, md, &n) == 1;
        EVP_MD_CTX_free(c);
        if (!ok)
                return -EIO;
        hex_encode(md, sizeof md, ret, 65);
        return 0;
}

/* Expires and forgets records. Locked. */
static void sweep(ApprovalStore *s, int64_t now) {
        for (Approval **p = &s->head; *p;) {
                Approval *a = *p;

                if ((a->state == APPROVAL_PENDING || a->state == APPROVAL_APPROVED) && now >= a->expires) {
                        a->state = APPROVAL_EXPIRED;
                        a->decided = now;
                }
                if (a->state != APPROVAL_PENDING && a->state != APPROVAL_APPROVED &&
                    now - a->decided > KEEP_DECIDED_SEC) {
                        *p = a->next;
                        approval_free(a);
                        continue;
                }
                p = &a->next;
        }
}

static Approval *find(ApprovalStore *s, const char *id);

/* Persistence --------------------------------------------------------------
 * The store (at most max_pending pending plus an hour of decided records) is
 * one JSON document, replaced atomically (write, fsync, rename) on every
 * change that matters after a restart: a request, a plan, a decision, a use.
 * Expiry needs no write: it is recomputed from the timestamps. */

static json_t *record_json(const Approval *a) {
        return json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s?,s:s?,s:O,s:O?,s:I,s:I,s:I,s:s}", "id", a->id, "binding",
                         a->binding, "tool", a->tool, "subject", a->subject, "jti", a->jti, "approver", a->approver,
                         "reason", a->reason, "args", a->args, "plan", a->plan, "created", (json_int_t) a->created,
                         "expires", (json_int_t) a->expires, "decided", (json_int_t) a->decided, "state",
                         state_names[a->state]);
}

/* Locked. */
static int persist(ApprovalStore *s) {
        _cleanup_json_ json_t *arr = NULL, *doc = NULL;
        char tmp[4096];
        int fd, r = 0;

        if (!s->path)
                return 0;
        arr = json_array();
        if (!arr)
                return -ENOMEM;
        for (Approval *a = s->head; a; a = a->next)
                if (json_array_append_new(arr, record_json(a)) < 0)
                        return -ENOMEM;
        doc = json_pack("{s:i,s:O}", "version", 1, "approvals", arr);
        if (!doc)
                return -ENOMEM;
        if ((size_t) snprintf(tmp, sizeof tmp, "%s.tmp", s->path) >= sizeof tmp)
                return -ENAMETOOLONG;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        if (json_dumpfd(doc, fd, JSON_COMPACT) < 0 || write(fd, "\n", 1) != 1)
                r = -EIO;
        else if (fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, s->path) < 0)
                r = -errno;
        if (r < 0)
                (void) unlink(tmp);
        return r;
}

static bool hex64(const char *h) {
        if (!h || strlen(h) != 64)
                return false;
        for (size_t i = 0; i < 64; i++)
                if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
                        return false;
        return true;
}

static char *opt_strdup(json_t *o, const char *k, bool *bad) {
        json_t *v = json_object_get(o, k);
        if (!v || json_is_null(v))
                return NULL;
        if (!json_is_string(v)) {
                *bad = true;
                return NULL;
        }
        char *r = strdup(json_string_value(v));
        if (!r)
                *bad = true;
        return r;
}

/* One saved record, or NULL when it is not well formed. */
static Approval *record_from_json(json_t *o) {
        const char *id = json_string_value(json_object_get(o, "id"));
        const char *binding = json_string_value(json_object_get(o, "binding"));
        const char *state = json_string_value(json_object_get(o, "state"));
        json_t *args = json_object_get(o, "args"), *plan = json_object_get(o, "plan");
        bool bad = false;
        Approval *a;

        if (!id || strncmp(id, "apr_", 4) != 0 || strlen(id) >= sizeof a->id || !hex64(binding) || !state ||
            !json_is_object(args) || !json_is_integer(json_object_get(o, "created")) ||
            !json_is_integer(json_object_get(o, "expires")) || !json_is_integer(json_object_get(o, "decided")))
                return NULL;
        a = calloc(1, sizeof *a);
        if (!a)
                return NULL;
        a->state = _APPROVAL_STATE_MAX;
        for (int i = 0; i < _APPROVAL_STATE_MAX; i++)
                if (streq(state, state_names[i]))
                        a->state = (ApprovalState) i;
        snprintf(a->id, sizeof a->id, "%s", id);
        memcpy(a->binding, binding, 65);
        a->tool = opt_strdup(o, "tool", &bad);
        a->subject = opt_strdup(o, "subject", &bad);
        a->jti = opt_strdup(o, "jti", &bad);
        a->approver = opt_strdup(o, "approver", &bad);
        a->reason = opt_strdup(o, "reason", &bad);
        a->args = json_incref(args);
        a->plan = plan && !json_is_null(plan) ? json_incref(plan) : NULL;
        a->created = json_integer_value(json_object_get(o, "created"));
        a->expires = json_integer_value(json_object_get(o, "expires"));
        a->decided = json_integer_value(json_object_get(o, "decided"));
        if (bad || a->state == _APPROVAL_STATE_MAX || !a->tool || !a->subject) {
                approval_free(a);
                return NULL;
        }
        return a;
}

int approval_store_persist(ApprovalStore *s, const char *path, unsigned *ret_loaded) {
        _cleanup_json_ json_t *doc = NULL;
        json_error_t e;
        unsigned n = 0;
        size_t i;
        json_t *o;

        if (ret_loaded)
                *ret_loaded = 0;
        pthread_mutex_lock(&s->lock);
        free(s->path);
        s->path = strdup(path);
        if (!s->path) {
                pthread_mutex_unlock(&s->lock);
                return -ENOMEM;
        }
        if (access(path, F_OK) < 0) {
                int r = errno == ENOENT ? persist(s) : -errno;
                pthread_mutex_unlock(&s->lock);
                return r;
        }
        doc = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
        if (!json_is_array(json_object_get(doc, "approvals"))) {
                pthread_mutex_unlock(&s->lock);
                return -EBADMSG;
        }
        json_array_foreach(json_object_get(doc, "approvals"), i, o) {
                Approval *a = record_from_json(o);
                if (!a || find(s, a->id)) {
                        if (a)
                                approval_free(a);
                        continue;
                }
                a->next = s->head;
                s->head = a;
                n++;
        }
        sweep(s, now_epoch());
        int r = persist(s);
        pthread_mutex_unlock(&s->lock);
        if (ret_loaded)
                *ret_loaded = n;
        return r;
}

static Approval *find(ApprovalStore *s, const char *id) {
        for (Approval *a = s->head; a; a = a->next)
                if (streq(a->id, id))
                        return a;
        return NULL;
}

int approval_request(ApprovalStore *s, const char *tool, json_t *args, const char *subject, const char *jti,
                     json_t *plan, char ret_id[static 32]) {
        _cleanup_json_ json_t *p = plan;
        unsigned char rnd[12];
        int64_t now = now_epoch();
        Approval *a;
        unsigned pending = 0;
        int r;

        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        if (RAND_bytes(rnd, sizeof rnd) != 1) {
                free(a);
                return -EIO;
        }
        memcpy(a->id, "apr_", 4);
        hex_encode(rnd, sizeof rnd, a->id + 4, sizeof a->id - 4);
        r = approval_binding(tool, args, subject, jti, a->binding);
        a->tool = strdup(tool);
        a->subject = strdup(subject ? subject : "");
        a->jti = jti ? strdup(jti) : NULL;
        a->args = args ? json_deep_copy(args) : json_object();
        a->plan = TAKE_PTR(p);
        a->created = now;
        a->expires = now + s->ttl;
        a->state = APPROVAL_PENDING;
        if (r < 0 || !a->tool || !a->subject || (jti && !a->jti) || !a->args) {
                approval_free(a);
                return r < 0 ? r : -ENOMEM;
        }

        pthread_mutex_lock(&s->lock);
        sweep(s, now);
        for (Approval *i = s->head; i; i = i->next)
                if (i->state == APPROVAL_PENDING)
                        pending++;
        if (pending >= s->max_pending) {
                pthread_mutex_unlock(&s->lock);
                approval_free(a);
                return -EBUSY;
        }
        a->next = s->head;
        s->head = a;
        memcpy(ret_id, a->id, sizeof a->id);
        (void) persist(s);     /* best effort: the request itself works without it */
        pthread_mutex_unlock(&s->lock);
        return 0;
}

void approval_set_plan(ApprovalStore *s, const char *id, json_t *plan) {
        pthread_mutex_lock(&s->lock);
        Approval *a = find(s, id);
        if (a) {
                json_decref(a->plan);
                a->plan = plan;
                plan = NULL;
                (void) persist(s);
        }
        pthread_mutex_unlock(&s->lock);
        json_decref(plan);
}

ApprovalCheck approval_consume(ApprovalStore *s, const char *id, const char *binding, char **ret_approver) {
        ApprovalCheck c;

        pthread_mutex_lock(&s->lock);
        sweep(s, now_epoch());
        Approval *a = find(s, id);
        if (!a)
                c = APPROVAL_UNKNOWN;
        else if (CRYPTO_memcmp(a->binding, binding, 64) != 0)
                c = APPROVAL_MISMATCH;
        else if (a->state == APPROVAL_PENDING)
                c = APPROVAL_IS_PENDING;
        else if (a->state == APPROVAL_DENIED)
                c = APPROVAL_IS_DENIED;
        else if (a->state == APPROVAL_EXPIRED)
                c = APPROVAL_IS_EXPIRED;
        else if (a->state == APPROVAL_CONSUMED)
                c = APPROVAL_IS_USED;
        else {
                /* Single use: this call takes it, on disk before it runs (a
                 * restart must not make it usable again). */
                a->state = APPROVAL_CONSUMED;
                a->decided = now_epoch();
                if (persist(s) < 0) {
                        a->state = APPROVAL_APPROVED;
                        c = APPROVAL_STORE_FAILED;
                } else {
                        c = APPROVAL_OK;
                        if (ret_approver)
                                *ret_approver = a->approver ? strdup(a->approver) : NULL;
                }
        }
        pthread_mutex_unlock(&s->lock);
        return c;
}

static json_t *to_json(const Approval *a) {
        char created[40], expires[40];

        (void) timestamp_format(a->created, created, sizeof created);
        (void) timestamp_format(a->expires, expires, sizeof expires);
        json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:O,s:s,s:s}", "id", a->id, "state", state_names[a->state], "tool",
                              a->tool, "requester", a->subject, "args", a->args, "created_at", created, "expires_at",
                              expires);
        if (!j)
                return NULL;
        if (a->jti)
                json_object_set_new(j, "token_id", json_string(a->jti));
        if (a->plan)
                json_object_set(j, "plan", a->plan);
        if (a->approver)
                json_object_set_new(j, "approver", json_string(a->approver));
        if (a->reason)
                json_object_set_new(j, "reason", json_string(a->reason));
        return j;
}

int approval_decide(ApprovalStore *s, const char *id, bool approve, const char *approver, const char *reason,
                    json_t **ret) {
        int r = 0;

        pthread_mutex_lock(&s->lock);
        sweep(s, now_epoch());
        Approval *a = find(s, id);
        if (!a)
                r = -ENOENT;
        else if (a->state != APPROVAL_PENDING)
                r = -EALREADY;
        else if (streq(a->subject, approver ? approver : ""))
                r = -EPERM; /* four eyes: never granted by the requester */
        else {
                a->approver = strdup(approver);
                a->reason = reason ? strdup(reason) : NULL;
                if (!a->approver || (reason && !a->reason))
                        r = -ENOMEM;
                else {
                        a->state = approve ? APPROVAL_APPROVED : APPROVAL_DENIED;
                        a->decided = now_epoch();
                        r = persist(s);
                        if (r < 0) {
                                /* Not on disk, not decided. */
                                a->state = APPROVAL_PENDING;
                                a->decided = 0;
                                free(a->approver);
                                free(a->reason);
                                a->approver = a->reason = NULL;
                        } else {
                                if (approve)
                                        s->n_approved++;
                                else
                                        s->n_denied++;
                                if (ret)
                                        *ret = to_json(a);
                        }
                }
        }
        pthread_mutex_unlock(&s->lock);
        return r;
}

json_t *approval_get_json(ApprovalStore *s, const char *id) {
        json_t *j = NULL;

        pthread_mutex_lock(&s->lock);
        sweep(s, now_epoch());
        Approval *a = find(s, id);
        if (a)
                j = to_json(a);
        pthread_mutex_unlock(&s->lock);
        return j;
}

json_t *approval_list_json(ApprovalStore *s) {
        json_t *arr = json_array();

        if (!arr)
                return NULL;
        pthread_mutex_lock(&s->lock);
        sweep(s, now_epoch());
        for (Approval *a = s->head; a; a = a->next)
                json_array_append_new(arr, to_json(a));
        pthread_mutex_unlock(&s->lock);
        return arr;
}

void approval_stats(ApprovalStore *s, unsigned *ret_pending, uint64_t *ret_approved, uint64_t *ret_denied) {
        unsigned n = 0;

        pthread_mutex_lock(&s->lock);
        sweep(s, now_epoch());
        for (Approval *a = s->head; a; a = a->next)
                if (a->state == APPROVAL_PENDING)
                        n++;
        *ret_pending = n;
        *ret_approved = s->n_approved;
        *ret_denied = s->n_denied;
        pthread_mutex_unlock(&s->lock);
}
