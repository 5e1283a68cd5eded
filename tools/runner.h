/* SPDX-License-Identifier: MIT */
#pragma once

/* The child-process runner: runs a program as an argument vector, never
 * through a shell, with a minimal environment, stdin from /dev/null, stdout
 * and stderr captured through pipes up to a cap, a timeout and cancellation.
 *
 * The child gets its own process group (killed as a whole on timeout or
 * cancellation: SIGTERM, then SIGKILL after a short grace), every other file
 * descriptor closed, and PR_SET_PDEATHSIG(SIGKILL) so it does not outlive the
 * thread that started it. Thread-safe: several worker threads may run
 * children at once; between fork() and execve() the child makes only
 * async-signal-safe calls. */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The fixed search path for programs given without a slash; the caller's
 * (daemon's) PATH is never consulted. */
#define RUNNER_PATH "/usr/sbin:/usr/bin:/sbin:/bin"

/* Called for each complete stdout line (without the newline; lines longer
 * than 4 KiB are delivered in pieces), from the calling thread. */
typedef void (*RunnerLineFn)(void *userdata, const char *line, size_t len);

typedef struct RunnerOptions {
        char *const *env_extra;         /* NULL-terminated "KEY=value" added to PATH, LANG, LC_ALL; may be NULL */
        int timeout_ms;                 /* > 0; the group is killed when it is reached */
        size_t max_output_bytes;        /* stdout + stderr kept; 0 = 1 MiB */
        const atomic_bool *cancelled;   /* polled at least every 100 ms; may be NULL */
        RunnerLineFn on_stdout_line;    /* may be NULL */
        void *userdata;
} RunnerOptions;

typedef struct RunnerResult {
        char *out;                      /* stdout, NUL-terminated, owned */
        size_t out_len;
        char *err;                      /* stderr, NUL-terminated, owned */
        size_t err_len;
        bool truncated;                 /* output beyond max_output_bytes was discarded */
        int exit_status;                /* exit code, or -1 when killed by a signal */
        int term_signal;                /* the signal that killed it, or 0 */
        bool timed_out;
        bool cancelled;
        uint64_t duration_ms;
} RunnerResult;

/* Runs argv[0] (an absolute path, or a name looked up in RUNNER_PATH) with
 * argv. Blocks the calling thread until the child has exited and been reaped
 * (at most timeout plus about a second). Returns 0 and fills *ret (free it
 * with runner_result_done()) whenever the child was started, whatever its
 * exit status; -ENOENT when the program is not found or not executable,
 * -EINVAL on bad options, -ENOMEM, or another negative errno when it could
 * not be started. *ret is untouched on failure. */
int runner_run(char *const argv[], const RunnerOptions *opts, RunnerResult *ret);

/* Frees the captured output. Accepts a zeroed result. */
void runner_result_done(RunnerResult *r);

/* Resolves a program name in RUNNER_PATH into buf. Returns 0 or -ENOENT. */
int runner_find_program(const char *name, char *buf, size_t size);
