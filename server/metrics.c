/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/timeutil.h"
#include "server/metrics.h"
#include "server/server.h"

static const double bucket_le[METRICS_N_BUCKETS] = {
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 120,
};

static const char *const outcome_names[_OUTCOME_MAX] = {
        [OUTCOME_SUCCESS] = "success",
        [OUTCOME_ERROR] = "error",
        [OUTCOME_DENIED] = "denied",
        [OUTCOME_APPROVAL_REQUIRED] = "approval_required",
        [OUTCOME_INVALID_ARGUMENTS] = "invalid_arguments",
        [OUTCOME_REFUSED] = "refused",
};

static size_t tool_slot(const Tool *t) {
        size_t n = tool_count();

        for (size_t i = 0; i < n && i < METRICS_MAX_TOOLS; i++)
                if (tool_at(i) == t)
                        return i;
        return METRICS_MAX_TOOLS;
}

void metrics_tool_call(Metrics *m, const Tool *t, CallOutcome o) {
        size_t i = t ? tool_slot(t) : METRICS_MAX_TOOLS;

        if (i < METRICS_MAX_TOOLS && o >= 0 && o < _OUTCOME_MAX)
                atomic_fetch_add_explicit(&m->tool_calls[i][o], 1, memory_order_relaxed);
}

void metrics_tool_duration(Metrics *m, uint64_t usec) {
        double sec = (double) usec / 1e6;

        for (size_t i = 0; i < METRICS_N_BUCKETS; i++)
                if (sec <= bucket_le[i]) {
                        atomic_fetch_add_explicit(&m->duration_bucket[i], 1, memory_order_relaxed);
                        break;
                }
        atomic_fetch_add_explicit(&m->duration_count, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&m->duration_sum_usec, usec, memory_order_relaxed);
}

void metrics_auth_failure(Metrics *m, AuthError e) {
        if (e > AUTH_OK && e < _AUTH_ERR_MAX)
                atomic_fetch_add_explicit(&m->auth_failures[e], 1, memory_order_relaxed);
}

#define LOAD(x) ((unsigned long long) atomic_load_explicit(&(x), memory_order_relaxed))

static void family(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* process_* as the Prometheus client libraries export them, from /proc. */
static void process_metrics(FILE *f) {
        _cleanup_(fclosep) FILE *st = fopen("/proc/self/stat", "re");
        unsigned long long utime = 0, stime = 0, starttime = 0, vsize = 0;
        long long rss = 0;
        long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
        char line[1024];

        if (st && fgets(line, sizeof line, st)) {
                /* Fields after the command (which may hold spaces) start at the last ')'. */
                const char *p = strrchr(line, ')');
                if (p && sscanf(p + 2,
                                "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d "
                                "%llu %llu %lld",
                                &utime, &stime, &starttime, &vsize, &rss) == 5 &&
                    tck > 0) {
                        _cleanup_(fclosep) FILE *up = fopen("/proc/stat", "re");
                        unsigned long long btime = 0;
                        while (up && fgets(line, sizeof line, up))
                                if (sscanf(line, "btime %llu", &btime) == 1)
                                        break;
                        family(f, "process_cpu_seconds_total", "counter", "User and system CPU time spent.");
                        fprintf(f, "process_cpu_seconds_total %.2f\n", (double) (utime + stime) / (double) tck);
                        family(f, "process_resident_memory_bytes", "gauge", "Resident memory size.");
                        fprintf(f, "process_resident_memory_bytes %lld\n", rss * page);
                        family(f, "process_virtual_memory_bytes", "gauge", "Virtual memory size.");
                        fprintf(f, "process_virtual_memory_bytes %llu\n", vsize);
                        if (btime > 0) {
                                family(f, "process_start_time_seconds", "gauge",
                                       "Start time of the process since the epoch.");
                                fprintf(f, "process_start_time_seconds %.2f\n",
                                        (double) btime + (double) starttime / (double) tck);
                        }
                }
        }

        _cleanup_(closedirp) DIR *d = opendir("/proc/self/fd");
        if (d) {
                long n = -1; /* the DIR's own fd */
                while (readdir(d))
                        n++;
                n -= 2; /* . and .. */
                family(f, "process_open_fds", "gauge", "Open file descriptors.");
                fprintf(f, "process_open_fds %ld\n", n < 0 ? 0 : n);
        }
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
                family(f, "process_max_fds", "gauge", "Limit on open file descriptors.");
                fprintf(f, "process_max_fds %llu\n", (unsigned long long) rl.rlim_cur);
        }
}

int metrics_render(Server *srv, int http_connections, char **ret, size_t *ret_len) {
        Metrics *m = &srv->metrics;
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        unsigned pending = 0;
        uint64_t approved = 0, denied = 0;
        int ws = atomic_load(&m->websocket_sessions);

        if (!f)
                return -ENOMEM;

        family(f, "systemmanager_build_info", "gauge", "Version of the running daemon.");
        fprintf(f, "systemmanager_build_info{version=\"%s\"} 1\n", SM_VERSION);
        family(f, "systemmanager_uptime_seconds", "gauge", "Seconds since the daemon started.");
        fprintf(f, "systemmanager_uptime_seconds %.3f\n", (double) (now_usec() - (uint64_t) srv->started_usec) / 1e6);

        family(f, "systemmanager_connections", "gauge", "Open client connections by transport.");
        fprintf(f, "systemmanager_connections{transport=\"http\"} %d\n",
                http_connections - ws > 0 ? http_connections - ws : 0);
        fprintf(f, "systemmanager_connections{transport=\"websocket\"} %d\n", ws);
        family(f, "systemmanager_active_calls", "gauge", "Tool calls queued, running or being answered.");
        fprintf(f, "systemmanager_active_calls %ld\n", atomic_load(&srv->active_calls));
        family(f, "systemmanager_requests_total", "counter", "MCP and REST messages handled.");
        fprintf(f, "systemmanager_requests_total %llu\n", LOAD(srv->n_requests));

        family(f, "systemmanager_tool_calls_total", "counter", "Tool calls by tool and outcome.");
        for (size_t i = 0; i < tool_count() && i < METRICS_MAX_TOOLS; i++)
                for (int o = 0; o < _OUTCOME_MAX; o++) {
                        unsigned long long v = LOAD(m->tool_calls[i][o]);
                        /* Every tool's success and error series exist from the start. */
                        if (v > 0 || o == OUTCOME_SUCCESS || o == OUTCOME_ERROR)
                                fprintf(f, "systemmanager_tool_calls_total{tool=\"%s\",outcome=\"%s\"} %llu\n",
                                        tool_at(i)->name, outcome_names[o], v);
                }

        family(f, "systemmanager_tool_call_duration_seconds", "histogram",
               "Time from accepting a call to its result, for calls that ran.");
        unsigned long long cum = 0;
        for (size_t i = 0; i < METRICS_N_BUCKETS; i++) {
                cum += LOAD(m->duration_bucket[i]);
                fprintf(f, "systemmanager_tool_call_duration_seconds_bucket{le=\"%g\"} %llu\n", bucket_le[i], cum);
        }
        fprintf(f, "systemmanager_tool_call_duration_seconds_bucket{le=\"+Inf\"} %llu\n", LOAD(m->duration_count));
        fprintf(f, "systemmanager_tool_call_duration_seconds_sum %.6f\n", (double) LOAD(m->duration_sum_usec) / 1e6);
        fprintf(f, "systemmanager_tool_call_duration_seconds_count %llu\n", LOAD(m->duration_count));

        family(f, "systemmanager_auth_failures_total", "counter", "Refused authentications by reason.");
        for (int e = AUTH_OK + 1; e < _AUTH_ERR_MAX; e++)
                fprintf(f, "systemmanager_auth_failures_total{reason=\"%s\"} %llu\n", auth_error_code((AuthError) e),
                        LOAD(m->auth_failures[e]));
        family(f, "systemmanager_rate_limited_total", "counter", "Requests refused by a rate limit (HTTP 429).");
        fprintf(f, "systemmanager_rate_limited_total{limit=\"ip\"} %llu\n",
                LOAD(m->auth_failures[AUTH_ERR_RATE_LIMITED_IP]));
        fprintf(f, "systemmanager_rate_limited_total{limit=\"identity\"} %llu\n",
                LOAD(m->auth_failures[AUTH_ERR_RATE_LIMITED_IDENTITY]));

        approval_stats(srv->approvals, &pending, &approved, &denied);
        family(f, "systemmanager_approvals_pending", "gauge", "Approval requests waiting for a decision.");
        fprintf(f, "systemmanager_approvals_pending %u\n", pending);
        family(f, "systemmanager_approval_decisions_total", "counter", "Approval decisions since start.");
        fprintf(f, "systemmanager_approval_decisions_total{decision=\"approved\"} %llu\n",
                (unsigned long long) approved);
        fprintf(f, "systemmanager_approval_decisions_total{decision=\"denied\"} %llu\n", (unsigned long long) denied);

        family(f, "systemmanager_audit_lines_total", "counter", "Audit lines written since start.");
        fprintf(f, "systemmanager_audit_lines_total %llu\n", (unsigned long long) audit_lines_written(srv->audit));
        family(f, "systemmanager_audit_write_errors_total", "counter", "Audit appends that failed.");
        fprintf(f, "systemmanager_audit_write_errors_total %llu\n",
                (unsigned long long) audit_write_errors(srv->audit));

        process_metrics(f);

        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        *ret_len = len;
        return 0;
}
