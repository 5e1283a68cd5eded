/* SPDX-License-Identifier: MIT */
#pragma once

/* Offline verification of an audit log: the seq/prev hash chain, torn lines
 * recovered by the writer, and (with the initial key) every checkpoint MAC. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum AuditVerdict {
        AUDIT_INTACT = 0,       /* chain intact, sealed up to the last line */
        AUDIT_TAMPERED = 1,     /* first_bad_line says where */
        AUDIT_UNSEALED = 2,     /* chain intact, lines after the last checkpoint */
} AuditVerdict;

typedef struct AuditReport {
        AuditVerdict verdict;
        uint64_t lines;                 /* lines read */
        uint64_t first_bad_line;        /* 1-based, when tampered */
        char reason[256];               /* why, when tampered */
        uint64_t checkpoints;           /* checkpoint lines seen */
        uint64_t checkpoints_verified;  /* MACs checked with the key */
        uint64_t unsealed_lines;        /* lines after the last checkpoint */
        uint64_t torn_recovered;        /* torn lines the writer recovered from */
        bool continues_previous;        /* first line links to a rotated-away file */
        uint64_t first_seq, last_seq;
} AuditReport;

/* Verifies the file at `path`. `key0` (32 bytes, may be NULL) is the initial
 * sealing key. Returns 0 with *ret filled (whatever the verdict), or a
 * negative errno when the file cannot be read. */
int audit_verify_file(const char *path, const unsigned char *key0, AuditReport *ret);
