/* SPDX-License-Identifier: MIT */

/* libFuzzer harness for the Docker API client's parsers (tools/docker.h):
 * the HTTP response head, chunked transfer coding, the 8-byte multiplexed
 * log stream and the JSON-lines pull stream, plus the name checks.
 *
 * Build and run: tests/fuzz/run.sh 30 docker
 *
 * The first byte picks how the rest is cut into pieces (1..256 bytes), so
 * the incremental state machines see every split of the same input; the
 * results must not depend on the split. Each parser's promises are checked:
 * a parsed head has a status in range and a head length within the input;
 * chunked output is never longer than its input; demultiplexed payload adds
 * up to at most the input; every JSON value handed out is an object. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tools/docker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct Count {
        size_t bytes;
        size_t objects;
        unsigned char hash;
} Count;

static int count_data(void *userdata, const char *d, size_t len) {
        Count *c = userdata;

        c->bytes += len;
        for (size_t i = 0; i < len; i++)
                c->hash = (unsigned char) (c->hash * 31u + (unsigned char) d[i]);
        return 0;
}

static void count_frame(void *userdata, int stream, const char *d, size_t len) {
        if (stream < 0 || stream > 2)
                abort();
        (void) count_data(userdata, d, len);
}

static int count_object(void *userdata, json_t *obj) {
        Count *c = userdata;

        if (!json_is_object(obj))
                abort();
        c->objects++;
        return 0;
}

static int chunked_run(const char *in, size_t len, size_t piece, Count *c) {
        DockerChunked d = {};
        size_t off = 0;
        int r = 0;

        while (off < len) {
                size_t n = len - off < piece ? len - off : piece, used = 0;

                r = docker_chunked_feed(&d, in + off, n, count_data, c, &used);
                if (used > n)
                        abort();
                if (r != 0)
                        break;
                off += n;
        }
        return r;
}

static int demux_run(const char *in, size_t len, size_t piece, Count *c) {
        DockerDemux d = {};
        int r = 0;

        for (size_t off = 0; off < len; off += piece) {
                size_t n = len - off < piece ? len - off : piece;

                r = docker_demux_feed(&d, in + off, n, count_frame, c);
                if (r < 0)
                        break;
        }
        return r;
}

static int json_run(const char *in, size_t len, size_t piece, Count *c) {
        DockerJsonLines j = {};
        int r = 0;

        for (size_t off = 0; off < len; off += piece) {
                size_t n = len - off < piece ? len - off : piece;

                r = docker_json_lines_feed(&j, in + off, n, count_object, c);
                if (r != 0)
                        break;
        }
        if (r == 0)
                r = docker_json_lines_finish(&j, count_object, c);
        docker_json_lines_done(&j);
        return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *in;
        size_t len, piece;
        DockerHead h;
        Count a = {}, b = {};
        char *copy, *nul;
        int ra, rb;

        if (size < 1)
                return 0;
        piece = (size_t) data[0] + 1;
        in = (const char *) data + 1;
        len = size - 1;

        /* A heap copy of exactly len bytes: reading past it is caught. */
        copy = malloc(len ? len : 1);
        if (!copy)
                return 0;
        memcpy(copy, in, len);

        if (docker_parse_head(copy, len, &h) == 1) {
                if (h.status < 100 || h.status > 599 || h.head_len > len || h.head_len < 16)
                        abort();
                if (h.chunked && h.content_length != -1)
                        abort();
                if (strspn(h.api_version, "0123456789.") != strlen(h.api_version) ||
                    strlen(h.api_version) >= sizeof h.api_version)
                        abort();
                /* The body after the head, as chunked, whole and in pieces. */
                ra = chunked_run(copy + h.head_len, len - h.head_len, len, &a);
                rb = chunked_run(copy + h.head_len, len - h.head_len, piece, &b);
                if (ra >= 0 && rb >= 0 && (ra != rb || a.bytes != b.bytes || a.hash != b.hash))
                        abort();
        }

        a = (Count) {};
        b = (Count) {};
        ra = chunked_run(copy, len, len ? len : 1, &a);
        rb = chunked_run(copy, len, piece, &b);
        if (ra != rb || a.bytes != b.bytes || a.hash != b.hash || a.bytes > len)
                abort();

        a = (Count) {};
        b = (Count) {};
        ra = demux_run(copy, len, len ? len : 1, &a);
        rb = demux_run(copy, len, piece, &b);
        if (ra != rb || (ra == 0 && (a.bytes != b.bytes || a.hash != b.hash)) || a.bytes > len)
                abort();

        a = (Count) {};
        b = (Count) {};
        ra = json_run(copy, len, len ? len : 1, &a);
        rb = json_run(copy, len, piece, &b);
        if (ra != rb || a.objects != b.objects)
                abort();

        /* Name checks on the input as a C string. */
        nul = malloc(len + 1);
        if (nul) {
                memcpy(nul, in, len);
                nul[len] = '\0';
                if (docker_container_name_is_valid(nul) && (strchr(nul, '/') || strchr(nul, '%') || strlen(nul) > 128))
                        abort();
                if (docker_image_name_is_valid(nul) && (strstr(nul, "..") || strchr(nul, '?') || strchr(nul, '&') ||
                                                        strchr(nul, '@') || strlen(nul) > 255))
                        abort();
                (void) docker_tag_is_valid(nul);
                free(nul);
        }
        free(copy);
        return 0;
}
