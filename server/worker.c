/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "common/cleanup.h"
#include "server/worker.h"

typedef struct WorkItem {
        struct WorkItem *next;
        void (*fn)(void *data);
        void *data;
} WorkItem;

struct WorkerPool {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        WorkItem *head, *tail;
        size_t n_queued, max_queued;
        bool stopping;
        unsigned n_threads;
        pthread_t *threads;
};

static void *worker_main(void *userdata) {
        WorkerPool *p = userdata;

        for (;;) {
                pthread_mutex_lock(&p->lock);
                while (!p->head && !p->stopping)
                        pthread_cond_wait(&p->cond, &p->lock);
                WorkItem *w = p->head;
                if (!w) {
                        /* stopping and drained */
                        pthread_mutex_unlock(&p->lock);
                        return NULL;
                }
                p->head = w->next;
                if (!p->head)
                        p->tail = NULL;
                p->n_queued--;
                pthread_mutex_unlock(&p->lock);

                w->fn(w->data);
                free(w);
        }
}

int worker_pool_new(unsigned n_threads, size_t max_queued, WorkerPool **ret) {
        WorkerPool *p;

        if (n_threads == 0 || max_queued == 0)
                return -EINVAL;
        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->threads = calloc(n_threads, sizeof(pthread_t));
        if (!p->threads) {
                free(p);
                return -ENOMEM;
        }
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->cond, NULL);
        p->max_queued = max_queued;

        for (unsigned i = 0; i < n_threads; i++) {
                int r = pthread_create(&p->threads[i], NULL, worker_main, p);
                if (r != 0) {
                        worker_pool_free(p);
                        return -r;
                }
                p->n_threads++;
        }
        *ret = p;
        return 0;
}

int worker_pool_submit(WorkerPool *p, void (*fn)(void *data), void *data) {
        WorkItem *w = malloc(sizeof *w);

        if (!w)
                return -ENOMEM;
        *w = (WorkItem) { .fn = fn, .data = data };

        pthread_mutex_lock(&p->lock);
        if (p->stopping) {
                pthread_mutex_unlock(&p->lock);
                free(w);
                return -ESHUTDOWN;
        }
        if (p->n_queued >= p->max_queued) {
                pthread_mutex_unlock(&p->lock);
                free(w);
                return -EBUSY;
        }
        if (p->tail)
                p->tail->next = w;
        else
                p->head = w;
        p->tail = w;
        p->n_queued++;
        pthread_cond_signal(&p->cond);
        pthread_mutex_unlock(&p->lock);
        return 0;
}

WorkerPool *worker_pool_free(WorkerPool *p) {
        if (!p)
                return NULL;
        pthread_mutex_lock(&p->lock);
        p->stopping = true;
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
        for (unsigned i = 0; i < p->n_threads; i++)
                pthread_join(p->threads[i], NULL);
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->cond);
        free(p->threads);
        free(p);
        return NULL;
}

struct Outbox {
        pthread_mutex_t lock;
        OutboxItem *head, *tail;
        void (*wake)(void *userdata);
        void *userdata;
};

int outbox_new(void (*wake)(void *userdata), void *userdata, Outbox **ret) {
        Outbox *o = calloc(1, sizeof *o);

        if (!o)
                return -ENOMEM;
        pthread_mutex_init(&o->lock, NULL);
        o->wake = wake;
        o->userdata = userdata;
        *ret = o;
        return 0;
}

ConnRef *conn_ref_new(void *target, void (*deliver)(void *target, OutboxItem *item)) {
        ConnRef *c = calloc(1, sizeof *c);

        if (!c)
                return NULL;
        atomic_init(&c->n_ref, 1);
        c->target = target;
        c->deliver = deliver;
        return c;
}

ConnRef *conn_ref_ref(ConnRef *c) {
        atomic_fetch_add(&c->n_ref, 1);
        return c;
}

ConnRef *conn_ref_unref(ConnRef *c) {
        if (c && atomic_fetch_sub(&c->n_ref, 1) == 1)
                free(c);
        return NULL;
}

void outbox_item_free(OutboxItem *i) {
        if (!i)
                return;
        conn_ref_unref(i->conn);
        free(i->body);
        free(i);
}

Outbox *outbox_free(Outbox *o) {
        if (!o)
                return NULL;
        for (OutboxItem *i = outbox_take_all(o), *n; i; i = n) {
                n = i->next;
                outbox_item_free(i);
        }
        pthread_mutex_destroy(&o->lock);
        free(o);
        return NULL;
}

void outbox_push(Outbox *o, OutboxItem *item) {
        item->next = NULL;
        pthread_mutex_lock(&o->lock);
        if (o->tail)
                o->tail->next = item;
        else
                o->head = item;
        o->tail = item;
        pthread_mutex_unlock(&o->lock);
        if (o->wake)
                o->wake(o->userdata);
}

OutboxItem *outbox_take_all(Outbox *o) {
        OutboxItem *h;

        pthread_mutex_lock(&o->lock);
        h = o->head;
        o->head = o->tail = NULL;
        pthread_mutex_unlock(&o->lock);
        return h;
}
