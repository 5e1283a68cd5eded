/* SPDX-License-Identifier: MIT */
#pragma once

/* Daemon logging to stderr (journald picks it up under systemd). Library-like
 * code stays silent; edges log and return. Never pass secrets or tokens. */

#include <errno.h>
#include <stdbool.h>

typedef enum LogLevel {
        LOG_LEVEL_ERR,
        LOG_LEVEL_WARNING,
        LOG_LEVEL_NOTICE,
        LOG_LEVEL_INFO,
        LOG_LEVEL_DEBUG,
} LogLevel;

void log_set_max_level(LogLevel l);
LogLevel log_get_max_level(void);
/* Prefix lines with "<N>" syslog priorities (for journald) instead of a timestamp. */
void log_set_syslog_prefix(bool b);

/* Logs and returns -abs(error) (or 0 if error is 0), so edges can write
 * `return log_error_errno(r, "Failed to bind %s: %m", addr);`. %m expands to
 * strerror(error). */
int log_internal(LogLevel level, int error, const char *file, int line, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

#define log_full_errno(level, error, ...) log_internal((level), (error), __FILE__, __LINE__, __VA_ARGS__)
#define log_error_errno(error, ...) log_full_errno(LOG_LEVEL_ERR, (error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_LEVEL_WARNING, (error), __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_LEVEL_ERR, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_LEVEL_WARNING, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_LEVEL_NOTICE, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_debug(...) log_full_errno(LOG_LEVEL_DEBUG, 0, __VA_ARGS__)
