/* SPDX-License-Identifier: MIT */
#pragma once

/* The audit writer: JSON lines, one per event, hash-chained.
 *
 * Each line is an object beginning with v, seq, ts, event, followed by the
 * event's fields and ending with prev = hex SHA-256 of the previous line's
 * bytes (without its newline; 64 zeros for the first line of a chain). A line
 * is written whole with one write(2) on an O_APPEND descriptor. Thread-safe. */

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

typedef struct Audit Audit;

/* Opens (creating with mode 0600) the log at `path` and recovers seq/prev
 * from its last complete line. A torn last line (no newline, from a crash)
 * is terminated and reported in an "audit.recovered" record.
 * Returns 0 or a negative errno. */
int audit_open(const char *path, Audit **ret);
Audit *audit_close(Audit *a);

/* Reopens the path (after logrotate moved the file). The chain continues:
 * the first line in the new file carries the previous file's last hash.
 * Returns 0 or a negative errno (the old descriptor stays in use). */
int audit_reopen(Audit *a);

/* Appends one event. `fields` (borrowed, may be NULL) is merged after v, seq,
 * ts and event. With `sync`, the line is on disk (fdatasync) before this
 * returns. On success *ret_seq (may be NULL) gets the line's seq. Returns 0
 * or a negative errno; a failed write leaves seq/prev unchanged. */
int audit_append(Audit *a, const char *event, json_t *fields, bool sync, uint64_t *ret_seq);

/* Returns a deep copy of `args` with the values of secret-looking keys
 * (password, secret, token, key, authorization, ...) replaced by
 * "[redacted]". NULL on OOM. */
json_t *audit_redact(json_t *args);

/* Turns on sealing: every `every` lines (and on audit_seal()) an
 * "audit.checkpoint" line carries mac = hex HMAC-SHA256(K_i, "<seq>|<prev>")
 * (seq and prev of the checkpoint line itself) with "checkpoint": i; then
 * K_{i+1} = SHA-256("systemmanager audit key evolve v1" || K_i) replaces K_i
 * in `key_path` (mode 0600). On first use K_0 is generated and also written to
 * `initial_key_path` for the operator to keep off-box: with it,
 * `systemmanagerctl audit verify --key` checks every checkpoint. */
int audit_enable_seal(Audit *a, const char *key_path, const char *initial_key_path, unsigned every);

/* Starts group commit: a background thread fdatasyncs appended lines within
 * `commit_ms` and writes due checkpoints, off the appending threads. Lines
 * appended with sync=true are still fdatasync'ed before audit_append()
 * returns. Without it, checkpoints are written inline. */
int audit_start_syncer(Audit *a, unsigned commit_ms);

/* Writes a checkpoint now if lines were written since the last one. */
int audit_seal(Audit *a);

/* The key evolution step (exposed for the verifier). */
void audit_key_evolve(const unsigned char key[static 32], unsigned char ret[static 32]);

/* Mirrors every line written from now on to journald (sd_journal_send) with
 * structured fields. Best effort: journald's absence never fails an append. */
void audit_enable_journald(Audit *a);

/* Lines written since open (for metrics). */
uint64_t audit_lines_written(Audit *a);
/* Appends that failed (not written, or not made durable) since start. */
uint64_t audit_write_errors(Audit *a);
