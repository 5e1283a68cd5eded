/* SPDX-License-Identifier: MIT */
#pragma once

#include <sys/types.h>

/* Reads at most size-1 bytes of a small file (proc, sysfs, os-release)
 * relative to dirfd (AT_FDCWD for absolute paths) and NUL-terminates it.
 * `extra_flags` is OR'ed into O_RDONLY|O_CLOEXEC|O_NOCTTY (e.g. O_NOFOLLOW).
 * Returns the length read or a negative errno. */
ssize_t read_file_at(int dirfd, int extra_flags, const char *path, char *buf, size_t size);
