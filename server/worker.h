/* SPDX-License-Identifier: MIT */
#pragma once

/* A fixed pool of worker threads running tool calls off the event loop, and
 * the Outbox through which their results travel back to a transport's own
 * thread. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct WorkerPool WorkerPool;

/* Starts `n_threads` workers with a queue bounded to `max_queued` jobs.
 * Returns 0 or a negative errno. */
int worker_pool_new(unsigned n_threads, size_t max_queued, WorkerPool **ret);

/* Queues fn(data). Returns 0, or -EBUSY when the queue is full, -ESHUTDOWN
 * when the pool is stopping (fn is then not called; data stays the caller's). */
int worker_pool_submit(WorkerPool *p, void (*fn)(void *data), void *data);

/* Lets queued jobs finish, joins the threads, frees. Accepts NULL. */
WorkerPool *worker_pool_free(WorkerPool *p);

/* Connection references ----------------------------------------------------
 *
 * A ConnRef names a transport connection without owning it: jobs keep a
 * reference while they run; the transport clears `target` (on its own
 * thread) when the connection closes, so late replies find nothing and are
 * dropped. `deliver` is the transport's function that takes an OutboxItem
 * for a live target. */

#include <stdatomic.h>

typedef struct OutboxItem OutboxItem;

typedef struct ConnRef {
        atomic_uint n_ref;
        void *target;                                   /* transport thread only */
        void (*deliver)(void *target, OutboxItem *item);
} ConnRef;

ConnRef *conn_ref_new(void *target, void (*deliver)(void *target, OutboxItem *item));
ConnRef *conn_ref_ref(ConnRef *c);
ConnRef *conn_ref_unref(ConnRef *c);

/* Outbox ------------------------------------------------------------------ */

struct OutboxItem {
        struct OutboxItem *next;
        ConnRef *conn;          /* which connection it is for (a reference) */
        void *job;              /* the mcp Job it belongs to (a reference), or NULL */
        char *body;             /* JSON text (owned) */
        size_t body_len;
        int http_status;
        bool final;             /* the reply that ends the job; otherwise a notification */
};

typedef struct Outbox Outbox;

/* `wake` is called (from any thread) after an item is pushed, to wake the
 * owning loop (lws_cancel_service, an eventfd write, ...). */
int outbox_new(void (*wake)(void *userdata), void *userdata, Outbox **ret);
Outbox *outbox_free(Outbox *o);
void outbox_push(Outbox *o, OutboxItem *item);
/* Takes every queued item, oldest first (a list linked by ->next). */
OutboxItem *outbox_take_all(Outbox *o);
/* Frees the item and drops its ConnRef (not its job: see mcp_outbox_item_finish()). */
void outbox_item_free(OutboxItem *i);
