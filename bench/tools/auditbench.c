/* SPDX-License-Identifier: MIT */
/* Audit appends per second through the project's audit writer
 * (audit/audit.c: JSON build, hash chain, one write(2) per line under a
 * mutex), with the shipped durability policy (sync=false for low-risk
 * tool.call/tool.result lines, sync=true = fdatasync per line for high-risk
 * ones), next to plain write(2) and write(2)+fdatasync per line of the same
 * length on the same disk (files in DIR). Each mode is bounded by SECONDS and
 * by a line count.
 *
 *   auditbench DIR SECONDS
 * Prints "name lines_per_s us_per_line" lines. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "audit/audit.h"

#define MAX_LINES 2000000UL

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static json_t *fields(void) {
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:{s:s, s:i, s:s}, s:s, s:[s], s:s, s:{}, s:i, s:s}",
                         "request_id", "426922b2942f11c5-1", "subject", "bench", "token_id",
                         "fcbd0ce0377e6d127837365e6dc9afbd", "token_sha256", "941f7c9de94948bd", "auth_method",
                         "hmac", "break_glass", 0, "peer", "ip", "127.0.0.1", "port", 41808, "transport", "http",
                         "tool", "get_system_status", "scopes_required", "system:read", "risk_level", "low", "args",
                         "rpc_id", 1, "decision", "allowed");
}

static void run_audit(const char *dir, const char *name, bool sync, double secs, size_t *line_len) {
        char path[4096];
        Audit *a = NULL;
        json_t *f = fields();
        unsigned long n = 0;
        double t0, t;

        snprintf(path, sizeof path, "%s/%s.log", dir, name);
        unlink(path);
        if (audit_open(path, &a) < 0) {
                fprintf(stderr, "auditbench: audit_open %s failed\n", path);
                exit(1);
        }
        t0 = now_s();
        do {
                for (int i = 0; i < 16; i++)
                        if (audit_append(a, "tool.call", f, sync, NULL) < 0) {
                                fprintf(stderr, "auditbench: audit_append failed\n");
                                exit(1);
                        }
                n += 16;
                t = now_s() - t0;
        } while (t < secs && n < MAX_LINES);
        audit_close(a);
        json_decref(f);
        printf("%s %.0f %.2f\n", name, (double) n / t, t * 1e6 / (double) n);
        if (line_len) {
                FILE *fp = fopen(path, "r");
                char buf[8192];
                if (fp && fgets(buf, sizeof buf, fp) && fgets(buf, sizeof buf, fp))
                        *line_len = strlen(buf);
                if (fp)
                        fclose(fp);
        }
        unlink(path);
}

static void run_plain(const char *dir, const char *name, bool sync, size_t len, double secs) {
        char path[4096], *line = malloc(len);
        unsigned long n = 0;
        double t0, t;
        int fd;

        memset(line, 'x', len - 1);
        line[len - 1] = '\n';
        snprintf(path, sizeof path, "%s/%s.log", dir, name);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0) {
                perror("open");
                exit(1);
        }
        t0 = now_s();
        do {
                for (int i = 0; i < 16; i++) {
                        if (write(fd, line, len) != (ssize_t) len) {
                                perror("write");
                                exit(1);
                        }
                        if (sync && fdatasync(fd) < 0) {
                                perror("fdatasync");
                                exit(1);
                        }
                }
                n += 16;
                t = now_s() - t0;
        } while (t < secs && n < MAX_LINES);
        close(fd);
        unlink(path);
        free(line);
        printf("%s %.0f %.2f\n", name, (double) n / t, t * 1e6 / (double) n);
}

int main(int argc, char **argv) {
        size_t len = 400;
        if (argc < 3) {
                fprintf(stderr, "usage: auditbench DIR SECONDS\n");
                return 2;
        }
        double secs = atof(argv[2]);
        run_audit(argv[1], "audit_append_nosync", false, secs, &len);
        run_audit(argv[1], "audit_append_fdatasync", true, secs, NULL);
        run_plain(argv[1], "plain_write", false, len, secs);
        run_plain(argv[1], "plain_write_fdatasync", true, len, secs);
        printf("line_bytes %zu 0\n", len);
        return 0;
}
