/* SPDX-License-Identifier: MIT */
#pragma once

/* A small Docker Engine API client: HTTP/1.1 over the engine's unix socket
 * (docker.socket; Podman's compatible service works the same).
 *
 * One request per connection ("Connection: close"), so a response ends with
 * its Content-Length, its last chunk, or EOF. Every wait is a poll() of at
 * most 100 ms that checks the cancellation flag and the request deadline;
 * every buffer is capped. The API version is negotiated per client with
 * GET /version: requests go to /v<min(server ApiVersion, 1.43)>/...
 *
 * The parsers (response head, chunked framing, the multiplexed log stream
 * and the JSON-lines progress stream) are plain state machines over bytes
 * so they can be fuzzed without a socket (tests/fuzz/fuzz_docker.c).
 *
 * Nothing here logs: failures return a negative errno and leave a message
 * that says what to fix in DockerClient.error. */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define DOCKER_DEFAULT_SOCKET "/var/run/docker.sock"
#define DOCKER_API_MAX_MAJOR 1
#define DOCKER_API_MAX_MINOR 43
#define DOCKER_BODY_MAX (16u * 1024u * 1024u)   /* any response body we keep */
#define DOCKER_HEAD_MAX (64u * 1024u)           /* status line + headers */
#define DOCKER_JSON_LINE_MAX (1024u * 1024u)    /* one object of a JSON stream */

typedef struct DockerClient {
        const char *socket_path;        /* borrowed */
        int timeout_ms;                 /* per request, > 0 */
        const atomic_bool *cancelled;   /* borrowed, may be NULL */
        char prefix[16];                /* "/v1.41", set by docker_client_open() */
        char error[512];                /* last failure, readable */
} DockerClient;

typedef struct DockerResponse {
        int status;                     /* HTTP status */
        char *body;                     /* NUL-terminated, owned; for streams only error bodies */
        size_t body_len;
        bool truncated;                 /* the body passed the cap and was cut */
        char api_version[16];           /* the Api-Version header, "" when absent */
} DockerResponse;

/* Receives decoded body bytes of a 2xx streaming response. Return 0 to go
 * on, 1 to stop reading (the connection is closed; not an error), or a
 * negative errno to fail the request with it. */
typedef int (*DockerDataFn)(void *userdata, const char *data, size_t len);

/* Sets up a client and negotiates the API version: the Api-Version header
 * of GET /_ping (cheap; Podman's GET /version runs helper programs and can
 * take a second), else ApiVersion from GET /version. socket_path
 * NULL or "" means DOCKER_DEFAULT_SOCKET. Returns 0, or a negative errno
 * with c->error set (e.g. "cannot reach the Docker API at ...").
 * Thread-safe: clients share nothing. */
int docker_client_open(DockerClient *c, const char *socket_path, int timeout_ms, const atomic_bool *cancelled);

/* Sends one request: method, path (without the /vX.Y prefix; any query
 * already URL-encoded, see docker_url_escape()) and an optional JSON body
 * (borrowed). Fills *ret (free with docker_response_done()) with the status
 * and up to max_body bytes of body (0 = DOCKER_BODY_MAX) whatever the
 * status. Returns 0 when a response arrived, or a negative errno with
 * c->error set (-ETIMEDOUT, -ECANCELED, -ECONNREFUSED, -EBADMSG, ...). */
int docker_request(DockerClient *c, const char *method, const char *path, json_t *body, size_t max_body,
                   DockerResponse *ret);

/* Like docker_request(), but a 2xx body is handed to fn as it arrives
 * (decoded from chunked framing) instead of being kept; a non-2xx body is
 * kept in *ret as usual. Returns fn's negative errno if it failed. */
int docker_request_stream(DockerClient *c, const char *method, const char *path, json_t *body, DockerDataFn fn,
                          void *userdata, DockerResponse *ret);

void docker_response_done(DockerResponse *r);

/* Parses the body as JSON (new reference) or returns NULL. */
json_t *docker_response_json(const DockerResponse *r);

/* A readable message for a failed response: Docker's {"message":"..."}, or
 * the body's first line, or the status. Writes into buf and returns it. */
const char *docker_response_message(const DockerResponse *r, char *buf, size_t size);

/* Appends the URL-encoding (RFC 3986 unreserved kept) of s to buf at *pos,
 * NUL-terminated. Returns 0 or -ENAMETOOLONG when buf is too small. */
int docker_url_escape(const char *s, char *buf, size_t size, size_t *pos);

/* Name checks, applied before anything goes into a URL. */
bool docker_container_name_is_valid(const char *s);     /* [a-zA-Z0-9][a-zA-Z0-9_.-]{0,127} */
bool docker_image_name_is_valid(const char *s);         /* [host[:port]/]path, no tag or digest */
bool docker_tag_is_valid(const char *s);                /* [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} */

/* Parsers -------------------------------------------------------------------- */

typedef struct DockerHead {
        int status;                     /* 100..599 */
        int64_t content_length;         /* -1 when absent */
        bool chunked;
        size_t head_len;                /* bytes of status line + headers + blank line */
        char api_version[16];           /* Api-Version header if it is digits and dots, else "" */
} DockerHead;

/* Parses an HTTP/1.x response head from buf[0..len). Returns 1 and fills
 * *ret when complete, 0 when more bytes are needed, -EBADMSG when malformed
 * (or longer than DOCKER_HEAD_MAX). */
int docker_parse_head(const char *buf, size_t len, DockerHead *ret);

typedef struct DockerChunked {
        int state;
        uint64_t remaining;
        unsigned digits;
        size_t ext_len;
} DockerChunked;

/* Decodes chunked transfer coding incrementally: feeds in[0..len), passes
 * payload bytes to fn. Returns 0 for "need more", 1 when the last chunk and
 * trailers were seen (*consumed then says how much of `in` was used), fn's
 * value when it returned non-zero, or -EBADMSG. */
int docker_chunked_feed(DockerChunked *d, const char *in, size_t len, DockerDataFn fn, void *userdata,
                        size_t *consumed);

/* Log streams: non-TTY containers frame every write as
 * [stream(1) 0 0 0 size(4, big endian)] payload. */
enum {
        DOCKER_STREAM_STDIN = 0,
        DOCKER_STREAM_STDOUT = 1,
        DOCKER_STREAM_STDERR = 2,
};

typedef void (*DockerFrameFn)(void *userdata, int stream, const char *data, size_t len);

typedef struct DockerDemux {
        unsigned char hdr[8];
        size_t hdr_len;
        uint32_t remaining;             /* payload bytes left in the current frame */
        int stream;
} DockerDemux;

/* Demultiplexes in[0..len): calls fn for each piece of payload with its
 * stream (a frame may arrive in several pieces). Returns 0, or -EBADMSG
 * when a header names an unknown stream. */
int docker_demux_feed(DockerDemux *d, const char *in, size_t len, DockerFrameFn fn, void *userdata);

/* JSON streams (pull progress): objects separated by newlines (or simply
 * concatenated). */
typedef int (*DockerObjectFn)(void *userdata, json_t *obj /* borrowed */);

typedef struct DockerJsonLines {
        char *buf;
        size_t len, size;
} DockerJsonLines;

/* Feeds bytes; calls fn for each complete top-level JSON value. Returns 0,
 * fn's non-zero value, -EBADMSG for malformed JSON or a value longer than
 * DOCKER_JSON_LINE_MAX, or -ENOMEM. */
int docker_json_lines_feed(DockerJsonLines *j, const char *in, size_t len, DockerObjectFn fn, void *userdata);

/* Flushes a last value without a trailing newline. */
int docker_json_lines_finish(DockerJsonLines *j, DockerObjectFn fn, void *userdata);

void docker_json_lines_done(DockerJsonLines *j);
