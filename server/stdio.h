/* SPDX-License-Identifier: MIT */
#pragma once

#include "server/server.h"

/* Serves MCP over stdin/stdout (newline-delimited JSON-RPC, one message per
 * line) for the identity given, until stdin closes or srv->stopping is set
 * and in-flight calls have drained. Returns 0 or a negative errno. */
int stdio_run(Server *srv, Identity *identity, int in_fd, int out_fd);

/* Wakes stdio_run() from any thread (signal thread on SIGTERM). */
void stdio_wake(void);
