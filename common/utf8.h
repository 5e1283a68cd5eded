/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/* Length (1–4) of the valid UTF-8 sequence at s, or 0 when it is not one:
 * overlong forms, surrogates and code points above U+10FFFF are invalid. */
size_t utf8_seq_len(const unsigned char *s, size_t n);
