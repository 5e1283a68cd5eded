/* SPDX-License-Identifier: MIT */
/* Startup time to listening: spawns a server, polls GET /healthz on
 * 127.0.0.1:PORT every 0.5 ms until it answers 200 (at most 10 s), prints
 * "startup_ms MS idle_rss_kib KIB" (VmRSS when ready, then after 0.5 s idle),
 * then stops the server (SIGTERM, waits).
 *
 *   startup PORT COMMAND [ARGS...]      (environment is inherited) */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static long rss_kib(pid_t pid) {
        char path[64], line[256];
        long v = -1;
        snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
        FILE *f = fopen(path, "r");
        if (!f)
                return -1;
        while (fgets(line, sizeof line, f))
                if (sscanf(line, "VmRSS: %ld", &v) == 1)
                        break;
        fclose(f);
        return v;
}

static int probe(int port) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
        char buf[64];
        char req[128];
        int fd, ok = 0;
        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return 0;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) == 0) {
                snprintf(req, sizeof req, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n", port);
                if (send(fd, req, strlen(req), MSG_NOSIGNAL) > 0) {
                        ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
                        if (n >= 12 && strncmp(buf, "HTTP/1.1 200", 12) == 0)
                                ok = 1;
                }
        }
        close(fd);
        return ok;
}

int main(int argc, char **argv) {
        if (argc < 3) {
                fprintf(stderr, "usage: startup PORT COMMAND [ARGS...]\n");
                return 2;
        }
        int port = (int) strtol(argv[1], NULL, 10);
        double t0 = now_s(), t;
        pid_t pid = fork();
        if (pid == 0) {
                execvp(argv[2], argv + 2);
                _exit(127);
        }
        for (;;) {
                t = now_s() - t0;
                if (probe(port))
                        break;
                int st;
                if (waitpid(pid, &st, WNOHANG) == pid) {
                        fprintf(stderr, "startup: server exited before answering\n");
                        return 1;
                }
                if (t > 10) {
                        fprintf(stderr, "startup: no 200 from /healthz within 10 s\n");
                        kill(pid, SIGKILL);
                        waitpid(pid, NULL, 0);
                        return 1;
                }
                usleep(500);
        }
        long r0 = rss_kib(pid);
        usleep(500000);
        long r1 = rss_kib(pid);
        printf("startup_ms %.1f idle_rss_kib %ld %ld\n", t * 1e3, r0, r1);
        kill(pid, SIGTERM);
        for (int i = 0; i < 100; i++) {
                if (waitpid(pid, NULL, WNOHANG) == pid)
                        return 0;
                usleep(50000);
        }
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return 0;
}
