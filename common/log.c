/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

static _Atomic LogLevel max_level = LOG_LEVEL_INFO;
static atomic_bool syslog_prefix = false;

void log_set_max_level(LogLevel l) {
        atomic_store(&max_level, l);
}

LogLevel log_get_max_level(void) {
        return atomic_load(&max_level);
}

void log_set_syslog_prefix(bool b) {
        atomic_store(&syslog_prefix, b);
}

static const char *const level_names[] = {
        [LOG_LEVEL_ERR] = "error",
        [LOG_LEVEL_WARNING] = "warning",
        [LOG_LEVEL_NOTICE] = "notice",
        [LOG_LEVEL_INFO] = "info",
        [LOG_LEVEL_DEBUG] = "debug",
};

static const int syslog_prio[] = {
        [LOG_LEVEL_ERR] = 3,
        [LOG_LEVEL_WARNING] = 4,
        [LOG_LEVEL_NOTICE] = 5,
        [LOG_LEVEL_INFO] = 6,
        [LOG_LEVEL_DEBUG] = 7,
};

int log_internal(LogLevel level, int error, const char *file, int line, const char *fmt, ...) {
        char msg[2048], prefix[64];
        int saved = errno;
        va_list ap;

        if (error < 0)
                error = -error;
        if (level > atomic_load(&max_level))
                return -error;

        /* %m must see the error we were given, not whatever errno holds. */
        errno = error;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);

        if (atomic_load(&syslog_prefix))
                snprintf(prefix, sizeof prefix, "<%d>", syslog_prio[level]);
        else {
                struct timespec ts;
                struct tm tm;

                clock_gettime(CLOCK_REALTIME, &ts);
                gmtime_r(&ts.tv_sec, &tm);
                snprintf(prefix, sizeof prefix, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s: ",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                         ts.tv_nsec / 1000000, level_names[level]);
        }

        /* One fprintf per line, so concurrent threads do not interleave. */
        if (level == LOG_LEVEL_DEBUG)
                fprintf(stderr, "%s%s (%s:%d)\n", prefix, msg, file, line);
        else
                fprintf(stderr, "%s%s\n", prefix, msg);

        errno = saved;
        return -error;
}
