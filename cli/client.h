/* SPDX-License-Identifier: MIT */
#pragma once

/* How systemmanagerctl reaches a running daemon: URL and token from
 * SYSTEMMANAGER_URL / SYSTEMMANAGER_TOKEN, else the profile
 * ~/.config/systemmanager/cli.yaml (or cli.toml) with api_url and token,
 * refused when group or others can read it. */

#include <stddef.h>

typedef struct CliTarget {
        char *url;      /* base URL, no trailing slash */
        char *token;    /* secret: wiped on free */
} CliTarget;

/* Fills *t; prints what to fix and returns a negative errno when no URL or
 * token can be found. */
int cli_target_load(CliTarget *t);
void cli_target_done(CliTarget *t);

/* One HTTP request with the bearer token. `body` may be NULL. Returns 0 and
 * the status and body (malloc'd, NUL-terminated), or a negative errno with a
 * message on stderr when the daemon cannot be reached. */
int cli_http(const CliTarget *t, const char *method, const char *path, const char *body, long *ret_status,
             char **ret_body);
