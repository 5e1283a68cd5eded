/* SPDX-License-Identifier: MIT */
#pragma once

/* Approvals for critical actions. An approval is bound to a hash of (tool,
 * canonical arguments, requester subject, token jti), single-use, expiring,
 * and never granted by the requester. In-memory and bounded; thread-safe.
 * No transport knowledge. */

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

typedef enum ApprovalState {
        APPROVAL_PENDING,
        APPROVAL_APPROVED,
        APPROVAL_DENIED,
        APPROVAL_EXPIRED,
        APPROVAL_CONSUMED,
        _APPROVAL_STATE_MAX,
} ApprovalState;

const char *approval_state_to_string(ApprovalState s);

typedef struct ApprovalStore ApprovalStore;

/* `ttl_sec`: how long a request (and a granted approval) stays usable.
 * `max_pending`: bound on pending requests (per store). */
int approval_store_new(int64_t ttl_sec, unsigned max_pending, ApprovalStore **ret);
ApprovalStore *approval_store_free(ApprovalStore *s);

/* Keeps the store in `path` (mode 600, replaced atomically on each request,
 * plan, decision and use) and loads what a previous run saved there.
 * Returns 0 (*ret_loaded = records loaded, may be NULL), -EBADMSG when the
 * file is not a saved store, -errno. */
int approval_store_persist(ApprovalStore *s, const char *path, unsigned *ret_loaded);

/* The binding: hex SHA-256 of tool NUL canonical-args NUL subject NUL jti. */
int approval_binding(const char *tool, json_t *args, const char *subject, const char *jti, char ret[static 65]);

/* Creates a pending request. `plan` (stolen, may be NULL) is the dry run
 * shown to approvers. Returns 0 and the new id ("apr_" + 24 hex) in ret_id,
 * -EBUSY when too many are pending, -ENOMEM. */
int approval_request(ApprovalStore *s, const char *tool, json_t *args, const char *subject, const char *jti,
                     json_t *plan, char ret_id[static 32]);

/* Attaches a dry-run plan to a request computed later (stolen). */
void approval_set_plan(ApprovalStore *s, const char *id, json_t *plan);

typedef enum ApprovalCheck {
        APPROVAL_OK,            /* approved for this exact call: now consumed */
        APPROVAL_UNKNOWN,       /* no such id (or expired and forgotten) */
        APPROVAL_MISMATCH,      /* bound to another call, caller or token */
        APPROVAL_IS_PENDING,
        APPROVAL_IS_DENIED,
        APPROVAL_IS_EXPIRED,
        APPROVAL_IS_USED,
        APPROVAL_STORE_FAILED,  /* approved, but its use could not be recorded on disk: not run */
} ApprovalCheck;

/* Checks `id` against this call and, when approved, consumes it (single
 * use). *ret_approver (may be NULL) gets a malloc'd copy of who granted it. */
ApprovalCheck approval_consume(ApprovalStore *s, const char *id, const char *binding, char **ret_approver);

/* Grants or denies a pending request. Returns 0, -ENOENT unknown, -EPERM
 * when `approver` is the requester, -EALREADY when not pending (expired,
 * decided). On success *ret (may be NULL) is the record as JSON. */
int approval_decide(ApprovalStore *s, const char *id, bool approve, const char *approver, const char *reason,
                    json_t **ret);

/* Records as JSON: one (NULL if unknown), or all not yet forgotten. */
json_t *approval_get_json(ApprovalStore *s, const char *id);
json_t *approval_list_json(ApprovalStore *s);

/* For /metrics: requests pending now; decisions since start. */
void approval_stats(ApprovalStore *s, unsigned *ret_pending, uint64_t *ret_approved, uint64_t *ret_denied);
