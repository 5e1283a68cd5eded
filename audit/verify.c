/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "audit/audit.h"
#include "audit/verify.h"
#include "common/cleanup.h"
#include "common/encoding.h"

#define LINE_MAX_BYTES (1024 * 1024 + 2)

static const char zero_hash[] = "0000000000000000000000000000000000000000000000000000000000000000";

static void sha256_hex(const char *data, size_t len, char out[static 65]) {
        unsigned char md[32];
        unsigned int n = sizeof md;

        EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
        hex_encode(md, sizeof md, out, 65);
}

static void bad(AuditReport *r, uint64_t line, const char *reason) {
        if (r->verdict == AUDIT_TAMPERED)
                return;
        r->verdict = AUDIT_TAMPERED;
        r->first_bad_line = line;
        snprintf(r->reason, sizeof r->reason, "%s", reason);
}

typedef struct Keys {
        bool have;
        uint64_t index;
        unsigned char key[32];
} Keys;

/* Advances the evolving key to `index` (indexes never go backwards). */
static bool keys_seek(Keys *k, uint64_t index) {
        if (!k->have || index < k->index || index - k->index > 100000000)
                return false;
        while (k->index < index) {
                unsigned char next[32];
                audit_key_evolve(k->key, next);
                memcpy(k->key, next, sizeof next);
                OPENSSL_cleanse(next, sizeof next);
                k->index++;
        }
        return true;
}

int audit_verify_file(const char *path, const unsigned char *key0, AuditReport *ret) {
        _cleanup_free_ char *line = NULL;
        char prev_hash[65];
        AuditReport r = {};
        Keys keys = {};
        uint64_t expect_seq = 0, last_good_seq = 0, n = 0;
        bool torn_pending = false, seen_any = false;
        size_t cap = 0;
        ssize_t len;
        FILE *f;

        f = fopen(path, "re");
        if (!f)
                return -errno;
        if (key0) {
                keys.have = true;
                memcpy(keys.key, key0, 32);
        }
        memcpy(prev_hash, zero_hash, sizeof prev_hash);

        while ((len = getline(&line, &cap, f)) > 0) {
                n++;
                if (r.verdict == AUDIT_TAMPERED)
                        continue;
                if (line[len - 1] != '\n') {
                        bad(&r, n, "torn last line (no newline): the file was cut or is being written");
                        continue;
                }
                line[--len] = 0;
                if ((size_t) len >= LINE_MAX_BYTES) {
                        bad(&r, n, "line too long");
                        continue;
                }

                json_error_t e;
                _cleanup_json_ json_t *j = json_loadb(line, (size_t) len, JSON_REJECT_DUPLICATES, &e);
                if (!j || !json_is_object(j)) {
                        /* Maybe a line a crash cut, which the writer terminated and
                         * reported in the next record: decided there. */
                        if (torn_pending) {
                                bad(&r, n - 1, "unparsable line");
                                continue;
                        }
                        torn_pending = true;
                        continue;
                }

                json_t *v = json_object_get(j, "v"), *seq = json_object_get(j, "seq"),
                       *prev = json_object_get(j, "prev"), *event = json_object_get(j, "event");
                if (!json_is_integer(v) || json_integer_value(v) != 1 || !json_is_integer(seq) ||
                    json_integer_value(seq) < 1 || !json_is_string(prev) || json_string_length(prev) != 64 ||
                    !json_is_string(event)) {
                        bad(&r, n, "missing or malformed v/seq/prev/event");
                        continue;
                }
                uint64_t s = (uint64_t) json_integer_value(seq);
                const char *p = json_string_value(prev);
                const char *ev = json_string_value(event);

                if (torn_pending) {
                        /* Only the writer's own recovery record may follow a broken line,
                         * and it links past it to the last good line. */
                        if (!streq(ev, "audit.recovered")) {
                                bad(&r, n - 1, "unparsable line");
                                continue;
                        }
                        r.torn_recovered++;
                        torn_pending = false;
                }

                if (!seen_any) {
                        r.first_seq = s;
                        if (!streq(p, zero_hash)) {
                                /* Rotated: the link to the previous file is checked with that file. */
                                r.continues_previous = true;
                                memcpy(prev_hash, p, 65);
                        } else if (s != 1) {
                                bad(&r, n, "first line starts a new chain but its seq is not 1");
                                continue;
                        }
                        expect_seq = s;
                        seen_any = true;
                }
                if (s != expect_seq) {
                        char d[160];
                        snprintf(d, sizeof d, "seq %" PRIu64 ", expected %" PRIu64
                                 ": a line was removed, inserted or reordered", s, expect_seq);
                        bad(&r, n, d);
                        continue;
                }
                if (!streq(p, prev_hash)) {
                        bad(&r, n, "prev does not match the previous line's SHA-256: a line before this one "
                                   "was changed");
                        continue;
                }

                if (streq(ev, "audit.checkpoint")) {
                        json_t *idx = json_object_get(j, "checkpoint"), *mac = json_object_get(j, "mac");
                        r.checkpoints++;
                        if (!json_is_integer(idx) || json_integer_value(idx) < 0 || !json_is_string(mac) ||
                            json_string_length(mac) != 64) {
                                bad(&r, n, "malformed checkpoint");
                                continue;
                        }
                        if (keys.have) {
                                unsigned char m[32], want[32];
                                unsigned int ml = sizeof m;
                                char msg[128];

                                if (!keys_seek(&keys, (uint64_t) json_integer_value(idx))) {
                                        bad(&r, n, "checkpoint index goes backwards");
                                        continue;
                                }
                                snprintf(msg, sizeof msg, "%" PRIu64 "|%s", s, p);
                                HMAC(EVP_sha256(), keys.key, sizeof keys.key, (const unsigned char *) msg,
                                     strlen(msg), m, &ml);
                                if (hex_decode(json_string_value(mac), 64, want, sizeof want) != 32 ||
                                    CRYPTO_memcmp(m, want, sizeof m) != 0) {
                                        bad(&r, n, "checkpoint MAC does not verify: sealed lines were changed, or "
                                                   "the key is not this log's initial key");
                                        continue;
                                }
                                r.checkpoints_verified++;
                        }
                        r.unsealed_lines = 0;
                } else
                        r.unsealed_lines++;

                sha256_hex(line, (size_t) len, prev_hash);
                last_good_seq = s;
                expect_seq = s + 1;
        }

        if (r.verdict != AUDIT_TAMPERED && torn_pending)
                bad(&r, n, "unparsable last line (a crash the writer has not recovered from yet, or tampering)");
        if (ferror(f))
                bad(&r, n + 1, "read error");
        fclose(f);
        OPENSSL_cleanse(keys.key, sizeof keys.key);

        r.lines = n;
        r.last_seq = last_good_seq;
        if (r.verdict != AUDIT_TAMPERED)
                r.verdict = n > 0 && (r.unsealed_lines > 0 || r.checkpoints == 0) ? AUDIT_UNSEALED : AUDIT_INTACT;
        *ret = r;
        return 0;
}
