/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

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
                /* Single use: this call takes it. */
                a->state = APPROVAL_CONSUMED;
                a->decided = now_epoch();
                c = APPROVAL_OK;
                if (ret_approver)
                        *ret_approver = a->approver ? strdup(a->approver) : NULL;
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
                        if (ret)
                                *ret = to_json(a);
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
