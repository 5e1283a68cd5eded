/* SPDX-License-Identifier: MIT */

/* The child-process runner (see runner.h).
 *
 * Why fork()+execve() and not posix_spawn(): the child must set
 * PR_SET_PDEATHSIG, which posix_spawn cannot. Everything the child needs
 * (resolved path, environment, /dev/null, pipes) is prepared before fork();
 * after fork() the child only makes raw system calls that are
 * async-signal-safe, because another thread may have held the malloc lock at
 * the moment of fork(). Every descriptor the parent opens is O_CLOEXEC so
 * that children started concurrently by other threads never inherit ours. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "tools/runner.h"

#define RUNNER_DEFAULT_CAP (1024u * 1024u)
#define RUNNER_POLL_MS 100              /* cancellation is noticed within this */
#define RUNNER_GRACE_MS 500             /* SIGTERM → SIGKILL */
#define RUNNER_DRAIN_MS 200             /* after exit, how long grandchildren may hold the pipes */
#define RUNNER_LINE_MAX 4096u
#define RUNNER_ENV_MAX 64u

static uint64_t mono_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

int runner_find_program(const char *name, char *buf, size_t size) {
        const char *p = RUNNER_PATH;

        if (!name || !*name || size == 0)
                return -ENOENT;
        if (strchr(name, '/')) {
                /* Only absolute paths: a relative one depends on the daemon's cwd. */
                if (name[0] != '/' || strlen(name) >= size || access(name, X_OK) < 0)
                        return -ENOENT;
                snprintf(buf, size, "%s", name);
                return 0;
        }
        while (*p) {
                size_t n = strcspn(p, ":");
                int k = snprintf(buf, size, "%.*s/%s", (int) n, p, name);

                if (k > 0 && (size_t) k < size && access(buf, X_OK) == 0)
                        return 0;
                p += n;
                if (*p == ':')
                        p++;
        }
        return -ENOENT;
}

void runner_result_done(RunnerResult *r) {
        if (!r)
                return;
        free(r->out);
        free(r->err);
        *r = (RunnerResult) {};
}

/* Growing capture buffer with a shared budget. */
typedef struct Capture {
        char *buf;
        size_t len, cap;
} Capture;

static int capture_append(Capture *c, const char *data, size_t n) {
        if (c->len + n + 1 > c->cap) {
                size_t ncap = c->cap ? c->cap : 4096;
                char *nb;

                while (ncap < c->len + n + 1)
                        ncap *= 2;
                nb = realloc(c->buf, ncap);
                if (!nb)
                        return -ENOMEM;
                c->buf = nb;
                c->cap = ncap;
        }
        memcpy(c->buf + c->len, data, n);
        c->len += n;
        c->buf[c->len] = '\0';
        return 0;
}

typedef struct LineSplitter {
        char buf[RUNNER_LINE_MAX];
        size_t len;
} LineSplitter;

static void lines_feed(LineSplitter *ls, const char *data, size_t n, const RunnerOptions *o) {
        for (size_t i = 0; i < n; i++) {
                if (data[i] == '\n') {
                        o->on_stdout_line(o->userdata, ls->buf, ls->len);
                        ls->len = 0;
                        continue;
                }
                if (ls->len == sizeof ls->buf) {
                        o->on_stdout_line(o->userdata, ls->buf, ls->len);
                        ls->len = 0;
                }
                ls->buf[ls->len++] = data[i];
        }
}

/* The child side: only async-signal-safe calls from here to execve(). */
_Noreturn static void child_exec(const char *path, char *const argv[], char *const envp[], int devnull, int out_w,
                                 int err_w, int report_w, pid_t parent) {
        struct sigaction sa = { .sa_handler = SIG_DFL };
        sigset_t none;
        int e;

        /* Our own process group, so a timeout kills everything it started. */
        (void) setpgid(0, 0);
        /* Die with the thread that started us; if the parent is already gone,
         * the death signal was missed: leave now. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                goto fail;

        /* Signals ignored or blocked in the daemon (SIGPIPE, ...) stay so
         * across execve(); give the program the defaults it expects. */
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) sigaction(sig, &sa, NULL);

        if (dup2(devnull, STDIN_FILENO) < 0 || dup2(out_w, STDOUT_FILENO) < 0 || dup2(err_w, STDERR_FILENO) < 0)
                goto fail;

        /* Close everything else except the O_CLOEXEC exec-error pipe. */
        if (report_w > 3) {
                if (syscall(SYS_close_range, 3u, (unsigned) report_w - 1, 0u) < 0)
                        for (int fd = 3; fd < report_w; fd++)
                                (void) close(fd);
        }
        if (syscall(SYS_close_range, (unsigned) report_w + 1, ~0u, 0u) < 0)
                /* Kernels before 5.9: the slow way (sysconf is not async-signal-safe). */
                for (int fd = report_w + 1; fd < 65536; fd++)
                        (void) close(fd);

        execve(path, argv, envp);
fail:
        e = errno;
        (void) !write(report_w, &e, sizeof e);
        _exit(127);
}

static void kill_group(pid_t pid, int sig) {
        /* The group exists as long as its leader is unreaped (we reap only
         * after this), so -pid can never name someone else's group. */
        if (kill(-pid, sig) < 0)
                (void) kill(pid, sig);
}

/* Has the child exited? Does not reap it (WNOWAIT), so its process group id
 * stays reserved while we kill stragglers. */
static bool child_exited(pid_t pid) {
        siginfo_t si = {};

        if (waitid(P_PID, (id_t) pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
                return errno == ECHILD;
        return si.si_pid == pid;
}

static void child_reap(pid_t pid, RunnerResult *res) {
        int status = 0;

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return;
        if (WIFEXITED(status)) {
                res->exit_status = WEXITSTATUS(status);
                res->term_signal = 0;
        } else if (WIFSIGNALED(status)) {
                res->exit_status = -1;
                res->term_signal = WTERMSIG(status);
        }
}

int runner_run(char *const argv[], const RunnerOptions *opts, RunnerResult *ret) {
        _cleanup_close_ int devnull = -1, out_r = -1, out_w = -1, err_r = -1, err_w = -1, rep_r = -1, rep_w = -1;
        _cleanup_free_ char *out_buf = NULL, *err_buf = NULL;
        _cleanup_free_ LineSplitter *ls = NULL;
        char path[PATH_MAX];
        char *envp[RUNNER_ENV_MAX + 4];
        size_t n_env = 0, cap, kept = 0;
        Capture out = {}, err = {};
        RunnerResult res = { .exit_status = -1 };
        uint64_t start, deadline, kill_at = 0, exited_at = 0;
        bool killing = false, exited = false;
        int pipes[2], e = 0;
        ssize_t n;
        pid_t pid, self = getpid();
        int r;

        if (!argv || !argv[0] || !opts || !ret || opts->timeout_ms <= 0)
                return -EINVAL;
        r = runner_find_program(argv[0], path, sizeof path);
        if (r < 0)
                return r;

        envp[n_env++] = (char *) "PATH=" RUNNER_PATH;
        envp[n_env++] = (char *) "LANG=C";
        envp[n_env++] = (char *) "LC_ALL=C";
        for (char *const *i = opts->env_extra; i && *i; i++) {
                if (n_env >= RUNNER_ENV_MAX || !strchr(*i, '=') || **i == '=')
                        return -EINVAL;
                envp[n_env++] = *i;
        }
        envp[n_env] = NULL;

        cap = opts->max_output_bytes ? opts->max_output_bytes : RUNNER_DEFAULT_CAP;
        if (opts->on_stdout_line) {
                ls = calloc(1, sizeof *ls);
                if (!ls)
                        return -ENOMEM;
        }

        devnull = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (devnull < 0)
                return -errno;
        if (pipe2(pipes, O_CLOEXEC) < 0)
                return -errno;
        out_r = pipes[0];
        out_w = pipes[1];
        if (pipe2(pipes, O_CLOEXEC) < 0)
                return -errno;
        err_r = pipes[0];
        err_w = pipes[1];
        if (pipe2(pipes, O_CLOEXEC) < 0)
                return -errno;
        rep_r = pipes[0];
        rep_w = pipes[1];
        /* Keep the report pipe above 2 so dup2() onto 0..2 cannot clobber it. */
        if (rep_w <= STDERR_FILENO)
                return -EBADF;

        start = mono_ms();
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                child_exec(path, argv, envp, devnull, out_w, err_w, rep_w, self);

        /* Also from here, so that kill(-pid) works even before the child ran. */
        (void) setpgid(pid, pid);
        /* Our copies of the write ends must go, or we never see EOF. */
        close(TAKE_FD(out_w));
        close(TAKE_FD(err_w));
        close(TAKE_FD(rep_w));

        deadline = start + (uint64_t) opts->timeout_ms;

        /* Did execve() fail? The report pipe closes on a successful exec. */
        do
                n = read(rep_r, &e, sizeof e);
        while (n < 0 && errno == EINTR);
        if (n == (ssize_t) sizeof e) {
                child_reap(pid, &res);
                return e > 0 ? -e : -ENOEXEC;
        }

        for (;;) {
                struct pollfd p[2];
                nfds_t np = 0;
                uint64_t now = mono_ms();
                int wait_ms = RUNNER_POLL_MS;

                if (!killing) {
                        if (opts->cancelled && atomic_load(opts->cancelled)) {
                                res.cancelled = true;
                                killing = true;
                        } else if (now >= deadline) {
                                res.timed_out = true;
                                killing = true;
                        }
                        if (killing) {
                                kill_group(pid, SIGTERM);
                                kill_at = now + RUNNER_GRACE_MS;
                        }
                } else if (kill_at && now >= kill_at) {
                        kill_group(pid, SIGKILL);
                        kill_at = 0;
                }

                if (!exited && child_exited(pid)) {
                        exited = true;
                        exited_at = now;
                }
                if (out_r < 0 && err_r < 0 && exited)
                        break;
                if (exited && now >= exited_at + RUNNER_DRAIN_MS)
                        break;  /* a grandchild holds the pipes: it is killed below */
                if (exited && killing && kill_at == 0)
                        break;

                if (out_r >= 0)
                        p[np++] = (struct pollfd) { .fd = out_r, .events = POLLIN };
                if (err_r >= 0)
                        p[np++] = (struct pollfd) { .fd = err_r, .events = POLLIN };
                if (np == 0 || exited)
                        wait_ms = 10;
                if (!killing && deadline > now && deadline - now < (uint64_t) wait_ms)
                        wait_ms = (int) (deadline - now);

                r = poll(p, np, wait_ms);
                if (r < 0 && errno != EINTR)
                        break;
                for (nfds_t i = 0; r > 0 && i < np; i++) {
                        char buf[16384];
                        bool is_out = p[i].fd == out_r;
                        Capture *c = is_out ? &out : &err;

                        if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        n = read(p[i].fd, buf, sizeof buf);
                        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                                continue;
                        if (n <= 0) {
                                if (is_out) {
                                        close(out_r);
                                        out_r = -1;
                                } else {
                                        close(err_r);
                                        err_r = -1;
                                }
                                continue;
                        }
                        if (is_out && ls)
                                lines_feed(ls, buf, (size_t) n, opts);
                        if (kept < cap) {
                                size_t take = (size_t) n < cap - kept ? (size_t) n : cap - kept;

                                if (capture_append(c, buf, take) < 0) {
                                        /* Out of memory: stop the child, report what we have. */
                                        res.truncated = true;
                                        kill_group(pid, SIGKILL);
                                        killing = true;
                                        kill_at = 0;
                                        continue;
                                }
                                kept += take;
                                if (take < (size_t) n)
                                        res.truncated = true;
                        } else
                                res.truncated = true;   /* drain and discard: never block the child */
                }
        }

        if (ls && ls->len > 0)
                opts->on_stdout_line(opts->userdata, ls->buf, ls->len);

        /* Stragglers in the group (and a child that outlived us by ignoring
         * SIGTERM after exit of the drain window) die now; then reap. */
        kill_group(pid, SIGKILL);
        child_reap(pid, &res);

        out_buf = out.buf;
        err_buf = err.buf;
        if (!out_buf)
                out_buf = strdup("");
        if (!err_buf)
                err_buf = strdup("");
        if (!out_buf || !err_buf)
                return -ENOMEM;

        res.out = TAKE_PTR(out_buf);
        res.out_len = out.len;
        res.err = TAKE_PTR(err_buf);
        res.err_len = err.len;
        res.duration_ms = mono_ms() - start;
        *ret = res;
        return 0;
}
