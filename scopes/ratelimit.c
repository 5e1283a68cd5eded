/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "scopes/ratelimit.h"

#define KEY_MAX 128
#define PROBE 8

typedef struct Slot {
        char key[KEY_MAX];
        uint64_t window_start;  /* usec, 0 = empty */
        unsigned count;
} Slot;

struct RateLimit {
        pthread_mutex_t lock;
        unsigned limit;
        uint64_t window_usec;
        size_t n_slots;
        Slot *slots;
        unsigned char salt[16]; /* keeps attackers from aiming keys at one bucket */
};

int ratelimit_new(unsigned limit, unsigned window_sec, size_t slots, RateLimit **ret) {
        RateLimit *r;

        if (limit == 0 || window_sec == 0 || slots < PROBE)
                return -EINVAL;
        r = calloc(1, sizeof *r);
        if (!r)
                return -ENOMEM;
        r->slots = calloc(slots, sizeof(Slot));
        if (!r->slots) {
                free(r);
                return -ENOMEM;
        }
        pthread_mutex_init(&r->lock, NULL);
        r->limit = limit;
        r->window_usec = (uint64_t) window_sec * 1000000;
        r->n_slots = slots;
        if (RAND_bytes(r->salt, sizeof r->salt) != 1) {
                free(r->slots);
                free(r);
                return -EIO;
        }
        *ret = r;
        return 0;
}

RateLimit *ratelimit_free(RateLimit *r) {
        if (!r)
                return NULL;
        pthread_mutex_destroy(&r->lock);
        free(r->slots);
        free(r);
        return NULL;
}

/* Salted FNV-1a: cheap, and the random salt keeps clients from choosing
 * keys that pile into one probe range. */
static size_t slot_hash(RateLimit *r, const char *key) {
        uint64_t h = UINT64_C(14695981039346656037);

        for (size_t i = 0; i < sizeof r->salt; i++)
                h = (h ^ r->salt[i]) * UINT64_C(1099511628211);
        for (const char *p = key; *p; p++)
                h = (h ^ (unsigned char) *p) * UINT64_C(1099511628211);
        return (size_t) (h % r->n_slots);
}

/* Finds the key's slot; with `create`, takes an empty, expired or the oldest
 * slot of the probe range. Called locked. */
static Slot *slot_find(RateLimit *r, const char *key, uint64_t now, bool create) {
        size_t h = slot_hash(r, key);
        Slot *victim = NULL;

        for (size_t i = 0; i < PROBE; i++) {
                Slot *s = &r->slots[(h + i) % r->n_slots];

                if (s->window_start != 0 && strncmp(s->key, key, KEY_MAX) == 0)
                        return s;
                if (!victim || s->window_start == 0 || s->window_start < victim->window_start)
                        victim = s;
        }
        if (!create)
                return NULL;
        (void) now;
        size_t l = strnlen(key, KEY_MAX - 1);
        memset(victim, 0, sizeof *victim);
        memcpy(victim->key, key, l);
        return victim;
}

bool ratelimit_blocked(RateLimit *r, const char *key, uint64_t now_usec, unsigned *ret_retry_after) {
        bool blocked = false;

        if (!r || !key)
                return false;
        pthread_mutex_lock(&r->lock);
        Slot *s = slot_find(r, key, now_usec, false);
        if (s && now_usec - s->window_start < r->window_usec && s->count >= r->limit) {
                uint64_t left = r->window_usec - (now_usec - s->window_start);
                blocked = true;
                if (ret_retry_after)
                        *ret_retry_after = (unsigned) ((left + 999999) / 1000000);
        }
        pthread_mutex_unlock(&r->lock);
        return blocked;
}

void ratelimit_fail(RateLimit *r, const char *key, uint64_t now_usec) {
        if (!r || !key)
                return;
        pthread_mutex_lock(&r->lock);
        Slot *s = slot_find(r, key, now_usec, true);
        if (s->window_start == 0 || now_usec - s->window_start >= r->window_usec) {
                s->window_start = now_usec ? now_usec : 1;
                s->count = 0;
        }
        if (s->count < UINT32_MAX)
                s->count++;
        pthread_mutex_unlock(&r->lock);
}
