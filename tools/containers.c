/* SPDX-License-Identifier: MIT */

/* The "containers" tool family: containers, images and networks through the
 * Docker Engine API (tools/docker.h), which Podman's compatible service
 * also speaks.
 *
 * Names and image references are checked against a strict grammar before
 * they go into a URL; everything that comes back is untrusted JSON, read
 * with typed getters that treat a wrong type as absent. Lists are capped;
 * log output is capped at tools.max_output_bytes (the newest lines kept).
 *
 * update_docker_container never uses POST /containers/{id}/update (Podman
 * 4.3 lacks it): it pulls, then recreates the container from its inspected
 * configuration, and puts the old container back if the new one fails. */

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "tools/docker.h"
#include "tools/tool.h"

#define LIST_MAX 1000u
#define LOG_LINES_MAX 10000
#define LOG_LINES_DEFAULT 100
#define STOP_TIMEOUT_SEC 10
#define START_CHECK_MS 1000     /* a new container must still run after this long */
#define PATH_MAX_LEN 1024

/* Small helpers ------------------------------------------------------------ */

/* Steals v; fails on NULL (allocation failure) so callers can chain. */
static int json_set(json_t *o, const char *key, json_t *v) {
        if (!v)
                return -ENOMEM;
        return json_object_set_new(o, key, v) < 0 ? -ENOMEM : 0;
}

static const char *jstr(json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

static json_t *jobj(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);

        return json_is_object(v) ? v : NULL;
}

static json_t *jarr(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);

        return json_is_array(v) ? v : NULL;
}

/* A string value or "" (never NULL), as a new JSON string. */
static json_t *jstr_or_empty(json_t *o, const char *key) {
        const char *s = jstr(o, key);

        return json_string(s ? s : "");
}

/* "sha256:0123..." → the first 12 hex digits. */
static json_t *short_id(const char *id) {
        if (!id)
                return json_string("");
        if (strncmp(id, "sha256:", 7) == 0)
                id += 7;
        return json_stringn(id, strnlen(id, 12));
}

static void monotonic_sleep_ms(long ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* Copies n bytes as valid UTF-8 (invalid bytes become U+FFFD); keeps \n and
 * \t, drops other control characters except ESC-free text. Returns a new
 * JSON string. */
static json_t *json_string_clean(const char *s, size_t n) {
        _cleanup_free_ char *out = malloc(n * 3 + 1);
        const unsigned char *u = (const unsigned char *) s;
        size_t i = 0, o = 0;

        if (!out)
                return NULL;
        while (i < n) {
                size_t len = 0;
                uint32_t cp = 0;

                if (u[i] < 0x80) {
                        if (u[i] >= 0x20 || u[i] == '\n' || u[i] == '\t')
                                out[o++] = (char) u[i];
                        else if (u[i] != '\r')
                                out[o++] = '?';
                        i++;
                        continue;
                }
                if (u[i] >= 0xc2 && u[i] <= 0xdf)
                        len = 2, cp = u[i] & 0x1f;
                else if (u[i] >= 0xe0 && u[i] <= 0xef)
                        len = 3, cp = u[i] & 0x0f;
                else if (u[i] >= 0xf0 && u[i] <= 0xf4)
                        len = 4, cp = u[i] & 0x07;
                if (len > 0 && i + len <= n) {
                        size_t k;

                        for (k = 1; k < len && (u[i + k] & 0xc0) == 0x80; k++)
                                cp = (cp << 6) | (u[i + k] & 0x3f);
                        if (k == len && !((len == 3 && cp < 0x800) ||
                                          (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
                                          (cp >= 0xd800 && cp <= 0xdfff))) {
                                memcpy(out + o, s + i, len);
                                o += len;
                                i += len;
                                continue;
                        }
                }
                memcpy(out + o, "\xef\xbf\xbd", 3);
                o += 3;
                i++;
        }
        return json_stringn(out, o);
}

static int tool_timeout_ms(ToolCall *call, bool long_running) {
        int sec = long_running ? call->env->long_timeout_sec : call->env->timeout_sec;

        if (sec <= 0)
                sec = long_running ? 600 : 30;
        return sec * 1000;
}

/* Opens a client for this call; on failure the message is the call's error. */
static int ctr_open(ToolCall *call, bool long_running, DockerClient *dc) {
        int r;

        r = docker_client_open(dc, call->env->docker_socket, tool_timeout_ms(call, long_running), call->cancelled);
        if (r < 0)
                return tool_error(call, r, "%s", dc->error);
        return 0;
}

static int status_to_errno(int status) {
        switch (status) {
        case 400:
                return -EINVAL;
        case 401:
        case 403:
                return -EACCES;
        case 404:
                return -ENOENT;
        case 409:
                return -EBUSY;
        default:
                return -EIO;
        }
}

/* Turns a non-2xx response into a tool error that quotes the engine. */
static int api_fail(ToolCall *call, const DockerResponse *resp, const char *what) {
        char msg[384];

        docker_response_message(resp, msg, sizeof msg);
        return tool_error(call, status_to_errno(resp->status), "%s: %s (HTTP %d)", what, msg, resp->status);
}

/* Sends a request; 2xx/304 → 0, anything else → tool error. *ret_json gets
 * the parsed body when asked for. Returns the HTTP status on success. */
static int api_call(ToolCall *call, DockerClient *dc, const char *method, const char *path, json_t *body,
                    const char *what, json_t **ret_json) {
        DockerResponse resp = {};
        int r, status;

        r = docker_request(dc, method, path, body, 0, &resp);
        if (r < 0)
                return tool_error(call, r, "%s: %s", what, dc->error);
        status = resp.status;
        if (status != 304 && (status < 200 || status > 299)) {
                r = api_fail(call, &resp, what);
                docker_response_done(&resp);
                return r;
        }
        if (ret_json) {
                *ret_json = docker_response_json(&resp);
                if (!*ret_json) {
                        docker_response_done(&resp);
                        return tool_error(call, -EBADMSG, "%s: the engine's answer is not JSON", what);
                }
        }
        docker_response_done(&resp);
        return status;
}

/* GET of a list endpoint: the answer must be a JSON array. */
static int api_get_array(ToolCall *call, DockerClient *dc, const char *path, const char *what, json_t **ret) {
        int r = api_call(call, dc, "GET", path, NULL, what, ret);

        if (r < 0)
                return r;
        if (!json_is_array(*ret)) {
                json_decref(TAKE_PTR(*ret));
                return tool_error(call, -EBADMSG, "%s: unexpected answer", what);
        }
        return 0;
}

static int check_container_name(ToolCall *call, const char *name) {
        /* Names end up in URL paths: only the engine's own name grammar gets
         * through, so "../", "?" or "%" can never reach the request line. */
        if (!docker_container_name_is_valid(name))
                return tool_error(call, -EINVAL,
                                  "argument 'name_or_id': not a container name or id "
                                  "([a-zA-Z0-9][a-zA-Z0-9_.-]{0,127})");
        return 0;
}

static int inspect_container(ToolCall *call, DockerClient *dc, const char *name, json_t **ret) {
        char path[PATH_MAX_LEN];
        int r;

        snprintf(path, sizeof path, "/containers/%s/json", name);
        r = api_call(call, dc, "GET", path, NULL, "inspecting the container", ret);
        if (r == -ENOENT)
                return tool_error(call, -ENOENT, "no such container: %s", name);
        if (r >= 0 && !json_is_object(*ret)) {
                json_decref(TAKE_PTR(*ret));
                return tool_error(call, -EBADMSG, "inspecting the container: unexpected answer");
        }
        return r < 0 ? r : 0;
}

static const char *container_name(json_t *inspect) {
        const char *n = jstr(inspect, "Name");

        if (!n)
                return "";
        return n[0] == '/' ? n + 1 : n;
}

static const char *container_state(json_t *inspect) {
        const char *s = jstr(jobj(inspect, "State"), "Status");

        return s ? s : "unknown";
}

/* Finishes a handler: hands result and text over. */
static int finish(ToolCall *call, json_t **result, FILE **text, char **text_buf) {
        if (!*text || fflush(*text) != 0 || ferror(*text))
                return tool_error(call, -ENOMEM, "out of memory");
        fclose(TAKE_PTR(*text));
        call->result = TAKE_PTR(*result);
        call->text = TAKE_PTR(*text_buf);
        return 0;
}

/* get_container_list ----------------------------------------------------------- */

static int tool_get_container_list(ToolCall *call) {
        _cleanup_json_ json_t *list = NULL, *result = NULL, *out = NULL, *filters = NULL;
        _cleanup_free_ char *text_buf = NULL, *filters_text = NULL;
        _cleanup_(fclosep) FILE *text = NULL;
        const char *status = jstr(call->args, "status"), *name = jstr(call->args, "name"),
                   *label = jstr(call->args, "label");
        char path[PATH_MAX_LEN];
        size_t text_len = 0, pos, idx, shown = 0;
        DockerClient dc;
        json_t *c;
        int r;

        filters = json_object();
        out = json_array();
        result = json_object();
        if (!filters || !out || !result)
                return tool_error(call, -ENOMEM, "out of memory");
        if ((status && json_set(filters, "status", json_pack("[s]", status)) < 0) ||
            (name && json_set(filters, "name", json_pack("[s]", name)) < 0) ||
            (label && json_set(filters, "label", json_pack("[s]", label)) < 0))
                return tool_error(call, -ENOMEM, "out of memory");

        pos = (size_t) snprintf(path, sizeof path, "/containers/json?all=1");
        if (json_object_size(filters) > 0) {
                filters_text = json_dumps(filters, JSON_COMPACT);
                if (!filters_text)
                        return tool_error(call, -ENOMEM, "out of memory");
                pos += (size_t) snprintf(path + pos, sizeof path - pos, "&filters=");
                if (docker_url_escape(filters_text, path, sizeof path, &pos) < 0)
                        return tool_error(call, -EINVAL, "filters too long");
        }

        r = ctr_open(call, false, &dc);
        if (r < 0)
                return r;
        r = api_get_array(call, &dc, path, "listing containers", &list);
        if (r < 0)
                return r;

        text = open_memstream(&text_buf, &text_len);
        if (!text)
                return tool_error(call, -ENOMEM, "out of memory");
        fprintf(text, "%zu container(s)%s\n", json_array_size(list),
                json_array_size(list) > LIST_MAX ? " (list truncated)" : "");

        json_array_foreach(list, idx, c) {
                _cleanup_json_ json_t *e = NULL, *names = NULL, *ports = NULL, *labels = NULL;
                const char *first;
                json_t *v, *p;
                size_t j;

                if (idx >= LIST_MAX)
                        break;
                if (!json_is_object(c))
                        continue;
                e = json_object();
                names = json_array();
                ports = json_array();
                labels = json_object();
                if (!e || !names || !ports || !labels)
                        return tool_error(call, -ENOMEM, "out of memory");
                json_array_foreach(jarr(c, "Names"), j, v) {
                        const char *s = json_string_value(v);

                        if (s && json_array_append_new(names, json_string(s[0] == '/' ? s + 1 : s)) < 0)
                                return tool_error(call, -ENOMEM, "out of memory");
                }
                json_array_foreach(jarr(c, "Ports"), j, p) {
                        json_t *pe;

                        if (!json_is_object(p))
                                continue;
                        pe = json_pack("{s:I,s:I,s:o,s:o}",
                                       "private_port", json_integer_value(json_object_get(p, "PrivatePort")),
                                       "public_port", json_integer_value(json_object_get(p, "PublicPort")),
                                       "type", jstr_or_empty(p, "Type"),
                                       "ip", jstr_or_empty(p, "IP"));
                        if (!pe || json_array_append_new(ports, pe) < 0)
                                return tool_error(call, -ENOMEM, "out of memory");
                }
                {
                        const char *k;

                        json_object_foreach(jobj(c, "Labels"), k, v)
                                if (json_is_string(v) && json_object_set(labels, k, v) < 0)
                                        return tool_error(call, -ENOMEM, "out of memory");
                }
                first = json_string_value(json_array_get(names, 0));
                if (json_set(e, "id", short_id(jstr(c, "Id"))) < 0 ||
                    json_set(e, "name", json_string(first ? first : "")) < 0 ||
                    json_set(e, "names", json_incref(names)) < 0 ||
                    json_set(e, "image", jstr_or_empty(c, "Image")) < 0 ||
                    json_set(e, "image_id", short_id(jstr(c, "ImageID"))) < 0 ||
                    json_set(e, "state", jstr_or_empty(c, "State")) < 0 ||
                    json_set(e, "status", jstr_or_empty(c, "Status")) < 0 ||
                    json_set(e, "created", json_integer(json_integer_value(json_object_get(c, "Created")))) < 0 ||
                    json_set(e, "ports", json_incref(ports)) < 0 || json_set(e, "labels", json_incref(labels)) < 0)
                        return tool_error(call, -ENOMEM, "out of memory");
                if (shown++ < 100) {
                        fprintf(text, "%s  %-24s %-10s %s  (%s)\n", json_string_value(json_object_get(e, "id")),
                                json_string_value(json_object_get(e, "name")), jstr(e, "state"), jstr(e, "image"),
                                jstr(e, "status"));
                }
                if (json_array_append(out, e) < 0)
                        return tool_error(call, -ENOMEM, "out of memory");
        }
        if (json_set(result, "containers", json_incref(out)) < 0 ||
            json_set(result, "count", json_integer((json_int_t) json_array_size(out))) < 0 ||
            json_set(result, "truncated", json_boolean(json_array_size(list) > LIST_MAX)) < 0)
                return tool_error(call, -ENOMEM, "out of memory");
        return finish(call, &result, &text, &text_buf);
}

/* list_docker_images ----------------------------------------------------------- */

static int strings_of(json_t *arr, json_t **ret) {
        _cleanup_json_ json_t *out = json_array();
        size_t i;
        json_t *v;

        if (!out)
                return -ENOMEM;
        json_array_foreach(arr, i, v)
                if (json_is_string(v) && json_array_append(out, v) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(out);
        return 0;
}

static int tool_list_docker_images(ToolCall *call) {
        _cleanup_json_ json_t *list = NULL, *result = NULL, *out = NULL;
        _cleanup_free_ char *text_buf = NULL;
        _cleanup_(fclosep) FILE *text = NULL;
        size_t text_len = 0, idx;
        DockerClient dc;
        json_t *im;
        int r;

        r = ctr_open(call, false, &dc);
        if (r < 0)
                return r;
        r = api_get_array(call, &dc, "/images/json", "listing images", &list);
        if (r < 0)
                return r;
        out = json_array();
        result = json_object();
        text = open_memstream(&text_buf, &text_len);
        if (!out || !result || !text)
                return tool_error(call, -ENOMEM, "out of memory");
        fprintf(text, "%zu image(s)\n", json_array_size(list));
        json_array_foreach(list, idx, im) {
                _cleanup_json_ json_t *e = NULL, *tags = NULL, *digests = NULL;
                json_int_t size;

                if (idx >= LIST_MAX)
                        break;
                if (!json_is_object(im))
                        continue;
                if (strings_of(jarr(im, "RepoTags"), &tags) < 0 ||
                    strings_of(jarr(im, "RepoDigests"), &digests) < 0)
                        return tool_error(call, -ENOMEM, "out of memory");
                size = json_integer_value(json_object_get(im, "Size"));
                e = json_pack("{s:o,s:O,s:O,s:I,s:I}", "id", short_id(jstr(im, "Id")), "repo_tags", tags,
                              "repo_digests", digests, "size_bytes", size < 0 ? 0 : size, "created",
                              json_integer_value(json_object_get(im, "Created")));
                if (!e || json_set(e, "full_id", jstr_or_empty(im, "Id")) < 0 || json_array_append(out, e) < 0)
                        return tool_error(call, -ENOMEM, "out of memory");
                if (idx < 100)
                        fprintf(text, "%s  %s  %" JSON_INTEGER_FORMAT " bytes\n", jstr(e, "id"),
                                json_array_size(tags) > 0 ? json_string_value(json_array_get(tags, 0)) : "<none>",
                                size);
        }
        if (json_set(result, "images", json_incref(out)) < 0 ||
            json_set(result, "count", json_integer((json_int_t) json_array_size(out))) < 0 ||
            json_set(result, "truncated", json_boolean(json_array_size(list) > LIST_MAX)) < 0)
                return tool_error(call, -ENOMEM, "out of memory");
        return finish(call, &result, &text, &text_buf);
}

/* get_docker_networks ------------------------------------------------------------ */

static int tool_get_docker_networks(ToolCall *call) {
        _cleanup_json_ json_t *list = NULL, *result = NULL, *out = NULL, *containers = NULL;
        _cleanup_free_ char *text_buf = NULL;
        _cleanup_(fclosep) FILE *text = NULL;
        size_t text_len = 0, idx;
        DockerClient dc;
        json_t *n;
        int r;

        r = ctr_open(call, false, &dc);
        if (r < 0)
                return r;
        r = api_get_array(call, &dc, "/networks", "listing networks", &list);
        if (r < 0)
                return r;
        /* The network list leaves "Containers" empty (Docker fills it only on
         * inspect, Podman 4.3 never): the container list says who is where. */
        r = api_get_array(call, &dc, "/containers/json?all=1", "listing containers", &containers);
        if (r < 0)
                return r;
        out = json_array();
        result = json_object();
        text = open_memstream(&text_buf, &text_len);
        if (!out || !result || !text)
                return tool_error(call, -ENOMEM, "out of memory");
        fprintf(text, "%zu network(s)\n", json_array_size(list));
        json_array_foreach(list, idx, n) {
                _cleanup_json_ json_t *e = NULL, *subnets = NULL, *members = NULL;
                json_t *cfg, *v;
                const char *k;
                size_t j;

                if (idx >= LIST_MAX)
                        break;
                if (!json_is_object(n))
                        continue;
                subnets = json_array();
                members = json_array();
                if (!subnets || !members)
                        return tool_error(call, -ENOMEM, "out of memory");
                json_array_foreach(jarr(jobj(n, "IPAM"), "Config"), j, cfg) {
                        json_t *s;

                        if (!json_is_object(cfg))
                                continue;
                        s = json_pack("{s:o,s:o}", "subnet", jstr_or_empty(cfg, "Subnet"), "gateway",
                                      jstr_or_empty(cfg, "Gateway"));
                        if (!s || json_array_append_new(subnets, s) < 0)
                                return tool_error(call, -ENOMEM, "out of memory");
                }
                json_object_foreach(jobj(n, "Containers"), k, v) {
                        json_t *m = json_pack("{s:o,s:o}", "id", short_id(k), "name", jstr_or_empty(v, "Name"));

                        if (!m || json_array_append_new(members, m) < 0)
                                return tool_error(call, -ENOMEM, "out of memory");
                }
                if (json_array_size(members) == 0 && jstr(n, "Name")) {
                        json_t *c;
                        size_t ci;

                        json_array_foreach(containers, ci, c) {
                                const char *cname = json_string_value(json_array_get(jarr(c, "Names"), 0));
                                json_t *m;

                                if (ci >= LIST_MAX)
                                        break;
                                json_t *cn = jobj(jobj(c, "NetworkSettings"), "Networks");

                                if (!json_object_get(cn, jstr(n, "Name")))
                                        continue;
                                m = json_pack("{s:o,s:s}", "id", short_id(jstr(c, "Id")), "name",
                                              cname ? (cname[0] == '/' ? cname + 1 : cname) : "");
                                if (!m || json_array_append_new(members, m) < 0)
                                        return tool_error(call, -ENOMEM, "out of memory");
                        }
                }
                e = json_pack("{s:o,s:o,s:o,s:o,s:b,s:O,s:O}", "name", jstr_or_empty(n, "Name"), "id",
                              short_id(jstr(n, "Id")), "driver", jstr_or_empty(n, "Driver"), "scope",
                              jstr_or_empty(n, "Scope"), "internal", json_is_true(json_object_get(n, "Internal")),
                              "subnets", subnets, "containers", members);
                if (!e || json_array_append(out, e) < 0)
                        return tool_error(call, -ENOMEM, "out of memory");
                fprintf(text, "%-20s %-8s %-6s%s %zu container(s)\n", jstr(e, "name"), jstr(e, "driver"),
                        jstr(e, "scope"), json_is_true(json_object_get(e, "internal")) ? " internal" : "",
                        json_array_size(members));
        }
        if (json_set(result, "networks", json_incref(out)) < 0 ||
            json_set(result, "count", json_integer((json_int_t) json_array_size(out))) < 0)
                return tool_error(call, -ENOMEM, "out of memory");
        return finish(call, &result, &text, &text_buf);
}

/* get_container_logs ------------------------------------------------------------- */

typedef struct LogBuf {
        char *data;
        size_t len, size;
} LogBuf;

typedef struct LogSink {
        LogBuf out, err;
        DockerDemux demux;
        bool tty;
        bool truncated;
        int error;
} LogSink;

static int logbuf_append(LogBuf *b, const char *data, size_t len) {
        if (b->len + len + 1 > b->size) {
                size_t size = b->size ? b->size : 4096;
                char *p;

                while (size < b->len + len + 1)
                        size *= 2;
                p = realloc(b->data, size);
                if (!p)
                        return -ENOMEM;
                b->data = p;
                b->size = size;
        }
        memcpy(b->data + b->len, data, len);
        b->len += len;
        b->data[b->len] = '\0';
        return 0;
}

static void log_frame(void *userdata, int stream, const char *data, size_t len) {
        LogSink *s = userdata;
        int r;

        if (s->error < 0)
                return;
        if (stream == DOCKER_STREAM_STDIN)
                return;
        r = logbuf_append(stream == DOCKER_STREAM_STDERR ? &s->err : &s->out, data, len);
        if (r < 0)
                s->error = r;
}

static int log_data(void *userdata, const char *data, size_t len) {
        LogSink *s = userdata;
        int r;

        /* Past the overall cap we stop reading; the newest lines are lost,
         * but only with logs far larger than anything we could return. */
        if (s->out.len + s->err.len + len > DOCKER_BODY_MAX) {
                s->truncated = true;
                return 1;
        }
        if (s->tty)
                r = logbuf_append(&s->out, data, len);
        else
                r = docker_demux_feed(&s->demux, data, len, log_frame, s);
        if (r < 0)
                return r;
        return s->error;
}

/* Keeps at most `keep` bytes of the end of b, starting at a line. */
static bool logbuf_keep_tail(LogBuf *b, size_t keep) {
        size_t cut;
        char *nl;

        if (b->len <= keep)
                return false;
        cut = b->len - keep;
        nl = memchr(b->data + cut, '\n', b->len - cut);
        if (nl && (size_t) (nl - b->data) + 1 < b->len)
                cut = (size_t) (nl - b->data) + 1;
        memmove(b->data, b->data + cut, b->len - cut);
        b->len -= cut;
        b->data[b->len] = '\0';
        return true;
}

static size_t count_lines(const LogBuf *b) {
        size_t n = 0;

        for (size_t i = 0; i < b->len; i++)
                if (b->data[i] == '\n')
                        n++;
        if (b->len > 0 && b->data[b->len - 1] != '\n')
                n++;
        return n;
}

static int tool_get_container_logs(ToolCall *call) {
        _cleanup_json_ json_t *inspect = NULL, *result = NULL;
        _cleanup_free_ char *text_buf = NULL;
        _cleanup_(fclosep) FILE *text = NULL;
        const char *name = jstr(call->args, "name_or_id"), *id;
        json_t *lines_arg = json_object_get(call->args, "lines");
        json_int_t lines = json_is_integer(lines_arg) ? json_integer_value(lines_arg) : LOG_LINES_DEFAULT;
        bool timestamps = json_is_true(json_object_get(call->args, "timestamps"));
        LogSink sink = {};
        DockerResponse resp = {};
        DockerClient dc;
        char path[PATH_MAX_LEN];
        size_t text_len = 0, cap;
        int r;

        r = check_container_name(call, name);
        if (r < 0)
                return r;
        if (lines < 1 || lines > LOG_LINES_MAX)
                return tool_error(call, -EINVAL, "argument 'lines': must be between 1 and %d", LOG_LINES_MAX);
        r = ctr_open(call, false, &dc);
        if (r < 0)
                return r;
        r = inspect_container(call, &dc, name, &inspect);
        if (r < 0)
                return r;
        id = jstr(inspect, "Id");
        if (!id || !docker_container_name_is_valid(id))
                return tool_error(call, -EBADMSG, "inspecting the container: no usable Id");
        /* A TTY container's output is one raw stream; otherwise it is framed. */
        sink.tty = json_is_true(json_object_get(jobj(inspect, "Config"), "Tty"));

        snprintf(path, sizeof path, "/containers/%s/logs?stdout=1&stderr=1&follow=0&tail=%" JSON_INTEGER_FORMAT
                 "&timestamps=%d", id, lines, timestamps ? 1 : 0);
        r = docker_request_stream(&dc, "GET", path, NULL, log_data, &sink, &resp);
        if (r < 0) {
                free(sink.out.data);
                free(sink.err.data);
                if (r == -EBADMSG && !dc.error[0])
                        return tool_error(call, r, "reading the logs: malformed log stream");
                return tool_error(call, r, "reading the logs: %s", dc.error[0] ? dc.error : strerror(-r));
        }
        if (resp.status != 200) {
                r = api_fail(call, &resp, "reading the logs");
                docker_response_done(&resp);
                free(sink.out.data);
                free(sink.err.data);
                return r;
        }
        docker_response_done(&resp);

        /* The newest lines matter most: share the output cap between the two
         * streams in proportion and cut each from the front. */
        cap = call->env->max_output_bytes ? call->env->max_output_bytes : 1024 * 1024;
        cap = cap > 1024 ? cap - 512 : cap / 2;
        if (sink.out.len + sink.err.len > cap) {
                size_t total = sink.out.len + sink.err.len;
                size_t keep_out = (size_t) ((double) cap * (double) sink.out.len / (double) total);

                logbuf_keep_tail(&sink.out, keep_out);
                logbuf_keep_tail(&sink.err, cap - keep_out);
                sink.truncated = true;
        }

        result = json_object();
        if (!result ||
            json_set(result, "container", json_string(container_name(inspect))) < 0 ||
            json_set(result, "id", short_id(id)) < 0 || json_set(result, "tty", json_boolean(sink.tty)) < 0 ||
            json_set(result, "lines_requested", json_integer(lines)) < 0 ||
            json_set(result, "stdout", json_string_clean(sink.out.data ? sink.out.data : "", sink.out.len)) < 0 ||
            json_set(result, "stderr", json_string_clean(sink.err.data ? sink.err.data : "", sink.err.len)) < 0 ||
            json_set(result, "stdout_lines", json_integer((json_int_t) count_lines(&sink.out))) < 0 ||
            json_set(result, "stderr_lines", json_integer((json_int_t) count_lines(&sink.err))) < 0 ||
            json_set(result, "truncated", json_boolean(sink.truncated)) < 0) {
                free(sink.out.data);
                free(sink.err.data);
                return tool_error(call, -ENOMEM, "out of memory");
        }
        free(sink.out.data);
        free(sink.err.data);

        text = open_memstream(&text_buf, &text_len);
        if (!text)
                return tool_error(call, -ENOMEM, "out of memory");
        fprintf(text, "logs of %s (last %" JSON_INTEGER_FORMAT " lines%s%s)\n", jstr(result, "container"), lines,
                sink.tty ? ", tty" : "", sink.truncated ? ", truncated" : "");
        fprintf(text, "--- stdout\n%s", jstr(result, "stdout"));
        if (!sink.tty)
                fprintf(text, "--- stderr\n%s", jstr(result, "stderr"));
        return finish(call, &result, &text, &text_buf);
}

/* manage_container -------------------------------------------------------------- */

static int tool_manage_container(ToolCall *call) {
        _cleanup_json_ json_t *before = NULL, *after = NULL, *result = NULL;
        _cleanup_free_ char *text_buf = NULL;
        _cleanup_(fclosep) FILE *text = NULL;
        const char *name = jstr(call->args, "name_or_id"), *action = jstr(call->args, "action"), *id;
        char path[PATH_MAX_LEN], what[64];
        size_t text_len = 0;
        DockerClient dc;
        bool changed;
        int r;

        r = check_container_name(call, name);
        if (r < 0)
                return r;
        if (!action || (!streq(action, "start") && !streq(action, "stop") && !streq(action, "restart")))
                return tool_error(call, -EINVAL, "argument 'action': must be start, stop or restart");
        r = ctr_open(call, false, &dc);
        if (r < 0)
                return r;
        r = inspect_container(call, &dc, name, &before);
        if (r < 0)
                return r;
        id = jstr(before, "Id");
        if (!id || !docker_container_name_is_valid(id))
                return tool_error(call, -EBADMSG, "inspecting the container: no usable Id");

        if (streq(action, "start"))
                snprintf(path, sizeof path, "/containers/%s/start", id);
        else
                snprintf(path, sizeof path, "/containers/%s/%s?t=%d", id, action, STOP_TIMEOUT_SEC);
        snprintf(what, sizeof what, "%s of the container", action);
        r = api_call(call, &dc, "POST", path, NULL, what, NULL);
        if (r < 0)
                return r;
        /* 304: already in the asked-for state. */
        changed = r != 304;

        r = inspect_container(call, &dc, id, &after);
        if (r < 0)
                return r;
        result = json_pack("{s:s,s:o,s:s,s:b,s:s,s:s,s:b}",
                           "container", container_name(after),
                           "id", short_id(id),
                           "action", action,
                           "changed", changed,
                           "previous_state", container_state(before),
                           "state", container_state(after),
                           "running", json_is_true(json_object_get(jobj(after, "State"), "Running")));
        text = open_memstream(&text_buf, &text_len);
        if (!result || !text)
                return tool_error(call, -ENOMEM, "out of memory");
        fprintf(text, "%s %s: %s (was %s, now %s)\n", action, container_name(after),
                changed ? "done" : "nothing to do", container_state(before), container_state(after));
        return finish(call, &result, &text, &text_buf);
}

/* Pulling ------------------------------------------------------------------------ */

typedef struct PullState {
        ToolCall *call;
        DockerJsonLines lines;
        char error[384];
        char last[256];
        char digest[128];
        unsigned events;
        unsigned layers;
} PullState;

/* After a cut at a byte limit: drops a trailing incomplete UTF-8 sequence. */
static void utf8_trim_partial(char *s) {
        size_t n = strlen(s), k = 0;

        while (k < 4 && k < n && ((unsigned char) s[n - 1 - k] & 0xc0) == 0x80)
                k++;
        if (k < n && (unsigned char) s[n - 1 - k] >= 0xc0) {
                unsigned char lead = (unsigned char) s[n - 1 - k];
                size_t want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;

                if (k + 1 < want)
                        s[n - 1 - k] = '\0';
        }
}

static int pull_object(void *userdata, json_t *obj) {
        PullState *p = userdata;
        const char *status = jstr(obj, "status"), *id = jstr(obj, "id"), *err = jstr(obj, "error");
        char msg[256];

        /* A failed pull is a 200 whose stream ends with {"error": ...}. */
        if (!err)
                err = jstr(jobj(obj, "errorDetail"), "message");
        if (err) {
                size_t o = 0;

                for (const char *s = err; *s && o + 1 < sizeof p->error; s++)
                        p->error[o++] = (*s == '\n' || *s == '\r') ? ' ' : *s;
                p->error[o] = '\0';
                return -EIO;
        }
        p->events++;
        if (!status)
                return 0;
        if (strncmp(status, "Digest: ", 8) == 0)
                snprintf(p->digest, sizeof p->digest, "%s", status + 8);
        if (strcmp(status, "Pull complete") == 0 || strcmp(status, "Already exists") == 0)
                p->layers++;
        snprintf(msg, sizeof msg, "%s%s%s", id ? id : "", id ? ": " : "", status);
        utf8_trim_partial(msg);
        /* Only changes are worth a notification, not every progress tick. */
        if (strcmp(msg, p->last) != 0) {
                snprintf(p->last, sizeof p->last, "%s", msg);
                tool_progress(p->call, (double) p->events, 0, msg);
        }
        return 0;
}

static int pull_data(void *userdata, const char *data, size_t len) {
        PullState *p = userdata;

        return docker_json_lines_feed(&p->lines, data, len, pull_object, p);
}

/* Finds the digest for `name` in an image's RepoDigests ("name@sha256:..."). */
static const char *repo_digest(json_t *image, const char *name) {
        size_t i, n = strlen(name);
        json_t *v;

        json_array_foreach(jarr(image, "RepoDigests"), i, v) {
                const char *s = json_string_value(v);

                if (s && strncmp(s, name, n) == 0 && s[n] == '@')
                        return s + n + 1;
        }
        json_array_foreach(jarr(image, "RepoDigests"), i, v) {
                const char *s = json_string_value(v), *at = s ? strchr(s, '@') : NULL;

                if (at)
                        return at + 1;
        }
        return NULL;
}

/* GET /images/{ref}/json; -ENOENT (silently) when the engine has no such image. */
static int inspect_image(ToolCall *call, DockerClient *dc, const char *ref, json_t **ret) {
        char path[PATH_MAX_LEN];
        size_t pos;
        DockerResponse resp = {};
        int r;

        pos = (size_t) snprintf(path, sizeof path, "/images/");
        if (docker_url_escape(ref, path, sizeof path, &pos) < 0 ||
            snprintf(path + pos, sizeof path - pos, "/json") >= (int) (sizeof path - pos))
                return tool_error(call, -EINVAL, "image reference too long");
        r = docker_request(dc, "GET", path, NULL, 0, &resp);
        if (r < 0)
                return tool_error(call, r, "inspecting the image: %s", dc->error);
        if (resp.status == 404) {
                docker_response_done(&resp);
                return -ENOENT;
        }
        if (resp.status != 200) {
                r = api_fail(call, &resp, "inspecting the image");
                docker_response_done(&resp);
                return r;
        }
        *ret = docker_response_json(&resp);
        docker_response_done(&resp);
        if (!json_is_object(*ret)) {
                json_decref(TAKE_PTR(*ret));
                return tool_error(call, -EBADMSG, "inspecting the image: unexpected answer");
        }
        return 0;
}

typedef struct PullResult {
        char id[160];           /* full image id after the pull */
        char previous_id[160];  /* before, "" when absent */
        char digest[160];
        unsigned layers;
        unsigned events;        /* progress notifications' last value */
} PullResult;

static int pull_image(ToolCall *call, DockerClient *dc, const char *name, const char *tag, PullResult *ret) {
        _cleanup_json_ json_t *before = NULL, *after = NULL;
        PullState st = { .call = call };
        DockerResponse resp = {};
        char path[PATH_MAX_LEN], ref[400];
        const char *d;
        size_t pos;
        int r;

        *ret = (PullResult) {};
        snprintf(ref, sizeof ref, "%s:%s", name, tag);
        r = inspect_image(call, dc, ref, &before);
        if (r < 0 && r != -ENOENT)
                return r;
        if (r >= 0)
                snprintf(ret->previous_id, sizeof ret->previous_id, "%s",
                         jstr(before, "Id") ? jstr(before, "Id") : "");

        pos = (size_t) snprintf(path, sizeof path, "/images/create?fromImage=");
        if (docker_url_escape(name, path, sizeof path, &pos) < 0)
                return tool_error(call, -EINVAL, "image name too long");
        pos += (size_t) snprintf(path + pos, sizeof path - pos, "&tag=");
        if (docker_url_escape(tag, path, sizeof path, &pos) < 0)
                return tool_error(call, -EINVAL, "tag too long");

        tool_progress(call, 0, 0, "pulling");
        r = docker_request_stream(dc, "POST", path, NULL, pull_data, &st, &resp);
        if (r >= 0 && resp.status == 200)
                r = docker_json_lines_finish(&st.lines, pull_object, &st);
        docker_json_lines_done(&st.lines);
        if (r < 0) {
                docker_response_done(&resp);
                if (st.error[0])
                        return tool_error(call, -EIO, "pulling %s failed: %s", ref, st.error);
                if (r == -EBADMSG && !dc->error[0])
                        return tool_error(call, r, "pulling %s: malformed progress stream", ref);
                return tool_error(call, r, "pulling %s: %s", ref, dc->error[0] ? dc->error : strerror(-r));
        }
        if (resp.status != 200) {
                char what[480];

                snprintf(what, sizeof what, "pulling %s failed", ref);
                r = api_fail(call, &resp, what);
                docker_response_done(&resp);
                return r;
        }
        docker_response_done(&resp);

        r = inspect_image(call, dc, ref, &after);
        if (r == -ENOENT)
                return tool_error(call, -EIO, "pulling %s: the engine reported success but has no such image",
                                  ref);
        if (r < 0)
                return r;
        snprintf(ret->id, sizeof ret->id, "%s", jstr(after, "Id") ? jstr(after, "Id") : "");
        d = repo_digest(after, name);
        snprintf(ret->digest, sizeof ret->digest, "%s", d ? d : st.digest);
        ret->layers = st.layers;
        ret->events = st.events + 1;
        tool_progress(call, (double) ret->events, 0, "pulled");
        return 0;
}

/* Splits "name[:tag]" where the tag follows the last '/' (a registry port is
 * not a tag). Fails on digests and invalid names. */
static int split_reference(ToolCall *call, const char *image, const char *tag_arg, char *name, size_t name_size,
                           char *tag, size_t tag_size) {
        const char *slash = strrchr(image, '/'), *colon;

        if (strchr(image, '@'))
                return tool_error(call, -EINVAL, "image '%s' is pinned by digest; nothing to pull", image);
        colon = strrchr(slash ? slash : image, ':');
        if (colon) {
                if ((size_t) (colon - image) >= name_size)
                        return tool_error(call, -EINVAL, "argument 'image_name': too long");
                memcpy(name, image, (size_t) (colon - image));
                name[colon - image] = '\0';
                if (tag_arg && !streq(tag_arg, colon + 1))
                        return tool_error(call, -EINVAL, "argument 'image_name' has tag '%s' but 'tag' is '%s'",
                                          colon + 1, tag_arg);
                snprintf(tag, tag_size, "%s", colon + 1);
        } else {
                if (strlen(image) >= name_size)
                        return tool_error(call, -EINVAL, "argument 'image_name': too long");
                snprintf(name, name_size, "%s", image);
                snprintf(tag, tag_size, "%s", tag_arg ? tag_arg : "latest");
        }
        /* The reference ends up in a query string: only the grammar passes. */
        if (!docker_image_name_is_valid(name))
                return tool_error(call, -EINVAL,
                                  "argument 'image_name': '%s' is not an image name ([registry[:port]/]path, "
                                  "lowercase)", name);
        if (!docker_tag_is_valid(tag))
                return tool_error(call, -EINVAL, "argument 'tag': '%s' is not a valid tag", tag);
        return 0;
}

static int tool_pull_docker_image(ToolCall *call) {
        _cleanup_json_ json_t *result = NULL;
        _cleanup_free_ char *text_buf = NULL;
        _cleanup_(fclosep) FILE *text = NULL;
        const char *image = jstr(call->args, "image_name"), *tag_arg = jstr(call->args, "tag");
        char name[300], tag[160];
        size_t text_len = 0;
        PullResult pr;
        DockerClient dc;
        bool updated;
        int r;

        if (!image)
                return tool_error(call, -EINVAL, "argument 'image_name' is required");
        r = split_reference(call, image, tag_arg, name, sizeof name, tag, sizeof tag);
        if (r < 0)
                return r;
        r = ctr_open(call, true, &dc);
        if (r < 0)
                return r;
        r = pull_image(call, &dc, name, tag, &pr);
        if (r < 0)
                return r;
        updated = !streq(pr.id, pr.previous_id);
        result = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s?,s:b}", "image", name, "tag", tag, "id", pr.id, "short_id",
                           pr.id + (strncmp(pr.id, "sha256:", 7) == 0 ? 7 : 0), "digest", pr.digest, "previous_id",
                           pr.previous_id[0] ? pr.previous_id : NULL, "updated", updated);
        text = open_memstream(&text_buf, &text_len);
        if (!result || !text)
                return tool_error(call, -ENOMEM, "out of memory");
        if (json_object_get(result, "previous_id") && json_is_null(json_object_get(result, "previous_id")))
                json_object_del(result, "previous_id");
        json_string_setn(json_object_get(result, "short_id"), jstr(result, "short_id"),
                         strnlen(jstr(result, "short_id"), 12));
        fprintf(text, "pulled %s:%s: %s (%s)%s\n", name, tag, jstr(result, "short_id"),
                pr.digest[0] ? pr.digest : "no digest", updated ? (pr.previous_id[0] ? ", updated" : ", new")
                                                                : ", already up to date");
        return finish(call, &result, &text, &text_buf);
}

/* update_docker_container -------------------------------------------------------- */

/* Copies key from src to dst unless absent/null or equal to the image's
 * own value (which the new image then provides). */
static int copy_unless_image(json_t *dst, json_t *src, json_t *image_cfg, const char *key) {
        json_t *v = json_object_get(src, key);

        if (!v || json_is_null(v))
                return 0;
        if (image_cfg && json_equal(v, json_object_get(image_cfg, key)))
                return 0;
        return json_object_set(dst, key, v) < 0 ? -ENOMEM : 0;
}

/* Builds the POST /containers/create body that recreates `inspect` from
 * image `ref`. Values the old image supplied (env, cmd, labels, ...) are
 * left to the new image; what the user set is kept. */
static int build_create_body(json_t *inspect, json_t *old_image, const char *ref, json_t **ret_body,
                             json_t **ret_extra_networks) {
        static const char *const host_keys[] = {
                "Binds", "Mounts", "PortBindings", "RestartPolicy", "NetworkMode", "CapAdd", "CapDrop", "Dns",
                "DnsOptions", "DnsSearch", "ExtraHosts", "Privileged", "ReadonlyRootfs", "SecurityOpt", "Tmpfs",
                "Memory", "MemorySwap", "NanoCpus", "CpuShares", "CpusetCpus", "PidsLimit", "Devices", "Init",
                "IpcMode", "PidMode", "UTSMode", "Sysctls", "ShmSize", "GroupAdd", "VolumesFrom", "Links",
                "PublishAllPorts", "OomScoreAdj",
        };
        static const char *const cfg_keys[] = {
                "Cmd", "Entrypoint", "WorkingDir", "User", "StopSignal", "Tty", "OpenStdin", "StdinOnce",
                "AttachStdin", "AttachStdout", "AttachStderr", "Domainname",
        };
        _cleanup_json_ json_t *body = json_object(), *host = json_object(), *env = json_array(),
                              *labels = json_object(), *ports = json_object(), *volumes = json_object(),
                              *extra = json_array();
        json_t *cfg = jobj(inspect, "Config"), *hc = jobj(inspect, "HostConfig"),
               *icfg = jobj(old_image, "Config"), *v, *nets;
        const char *k, *id = jstr(inspect, "Id"), *mode, *hostname;
        size_t i;

        if (!body || !host || !env || !labels || !ports || !volumes || !extra)
                return -ENOMEM;
        if (json_set(body, "Image", json_string(ref)) < 0)
                return -ENOMEM;
        for (i = 0; i < ELEMENTSOF(cfg_keys); i++)
                if (copy_unless_image(body, cfg, icfg, cfg_keys[i]) < 0)
                        return -ENOMEM;
        /* The default hostname is the old id's prefix: let the new one get its own. */
        hostname = jstr(cfg, "Hostname");
        if (hostname && *hostname && !(id && strncmp(id, hostname, strlen(hostname)) == 0) &&
            json_set(body, "Hostname", json_string(hostname)) < 0)
                return -ENOMEM;

        json_array_foreach(jarr(cfg, "Env"), i, v) {
                size_t j;
                json_t *w;
                bool from_image = false;

                json_array_foreach(jarr(icfg, "Env"), j, w)
                        if (json_equal(v, w))
                                from_image = true;
                /* Podman records HOSTNAME=<old id>; the new container gets its own. */
                if (json_is_string(v) && strncmp(json_string_value(v), "HOSTNAME=", 9) == 0)
                        from_image = true;
                if (!from_image && json_is_string(v) && json_array_append(env, v) < 0)
                        return -ENOMEM;
        }
        json_object_foreach(jobj(cfg, "Labels"), k, v)
                if (!json_equal(v, json_object_get(jobj(icfg, "Labels"), k)) && json_object_set(labels, k, v) < 0)
                        return -ENOMEM;
        json_object_foreach(jobj(cfg, "ExposedPorts"), k, v)
                if (!json_object_get(jobj(icfg, "ExposedPorts"), k) && json_object_set(ports, k, v) < 0)
                        return -ENOMEM;
        json_object_foreach(jobj(cfg, "Volumes"), k, v)
                if (!json_object_get(jobj(icfg, "Volumes"), k) && json_object_set(volumes, k, v) < 0)
                        return -ENOMEM;
        if ((json_array_size(env) > 0 && json_set(body, "Env", json_incref(env)) < 0) ||
            (json_object_size(labels) > 0 && json_set(body, "Labels", json_incref(labels)) < 0) ||
            (json_object_size(ports) > 0 && json_set(body, "ExposedPorts", json_incref(ports)) < 0) ||
            (json_object_size(volumes) > 0 && json_set(body, "Volumes", json_incref(volumes)) < 0))
                return -ENOMEM;

        for (i = 0; i < ELEMENTSOF(host_keys); i++)
                if (copy_unless_image(host, hc, NULL, host_keys[i]) < 0)
                        return -ENOMEM;
        /* The log driver and its options; nothing engine-internal (Podman
         * adds Path and Size here). */
        v = jobj(hc, "LogConfig");
        if (jstr(v, "Type") && *jstr(v, "Type")) {
                json_t *lc = json_pack("{s:s}", "Type", jstr(v, "Type"));

                if (!lc)
                        return -ENOMEM;
                if (jobj(v, "Config") && json_object_set(lc, "Config", jobj(v, "Config")) < 0) {
                        json_decref(lc);
                        return -ENOMEM;
                }
                if (json_set(host, "LogConfig", lc) < 0) /* stolen either way */
                        return -ENOMEM;
        }
        if (json_set(body, "HostConfig", json_incref(host)) < 0)
                return -ENOMEM;

        /* Networks: the one named by NetworkMode goes into create; the others
         * are connected afterwards (API < 1.44 takes one at create). */
        mode = jstr(hc, "NetworkMode");
        nets = jobj(jobj(inspect, "NetworkSettings"), "Networks");
        if (mode && !streq(mode, "none") && !streq(mode, "host") && strncmp(mode, "container:", 10) != 0 && nets) {
                _cleanup_json_ json_t *endpoints = json_object();

                if (!endpoints)
                        return -ENOMEM;
                json_object_foreach(nets, k, v) {
                        _cleanup_json_ json_t *ep = json_object(), *aliases = json_array();
                        json_t *a;
                        size_t j;

                        if (!ep || !aliases)
                                return -ENOMEM;
                        json_array_foreach(jarr(v, "Aliases"), j, a) {
                                const char *s = json_string_value(a);

                                /* The old id's prefix is an automatic alias. */
                                if (!s || (id && strncmp(id, s, strlen(s)) == 0))
                                        continue;
                                if (json_array_append(aliases, a) < 0)
                                        return -ENOMEM;
                        }
                        if (json_array_size(aliases) > 0 && json_set(ep, "Aliases", json_incref(aliases)) < 0)
                                return -ENOMEM;
                        if (jobj(v, "IPAMConfig") && json_object_set(ep, "IPAMConfig", jobj(v, "IPAMConfig")) < 0)
                                return -ENOMEM;
                        if (streq(k, mode) || (json_object_size(endpoints) == 0 && json_object_size(nets) == 1)) {
                                if (json_object_set(endpoints, k, ep) < 0)
                                        return -ENOMEM;
                        } else {
                                json_t *x = json_pack("{s:s,s:O}", "Container", "", "EndpointConfig", ep);

                                if (!x || json_set(x, "Network", json_string(k)) < 0 ||
                                    json_array_append_new(extra, x) < 0)
                                        return -ENOMEM;
                        }
                }
                if (json_object_size(endpoints) > 0 &&
                    json_set(body, "NetworkingConfig", json_pack("{s:O}", "EndpointsConfig", endpoints)) < 0)
                        return -ENOMEM;
        }
        *ret_body = TAKE_PTR(body);
        *ret_extra_networks = TAKE_PTR(extra);
        return 0;
}

/* Best effort for rollback: no cancellation, errors collected as text. */
static void rollback_step(DockerClient *dc, const char *method, const char *path, const char *what, FILE *log) {
        DockerResponse resp = {};
        char msg[256];

        if (docker_request(dc, method, path, NULL, 0, &resp) < 0) {
                fprintf(log, "%s failed: %s; ", what, dc->error);
                return;
        }
        if (resp.status != 304 && (resp.status < 200 || resp.status > 299))
                fprintf(log, "%s failed: %s; ", what, docker_response_message(&resp, msg, sizeof msg));
        docker_response_done(&resp);
}

/* After start: the container must still be running (or have exited 0)
 * START_CHECK_MS later, else the update failed. */
static int check_started(ToolCall *call, DockerClient *dc, const char *id) {
        uint64_t waited = 0;

        while (waited < START_CHECK_MS) {
                _cleanup_json_ json_t *in = NULL;
                json_t *st;
                int r;

                monotonic_sleep_ms(200);
                waited += 200;
                r = inspect_container(call, dc, id, &in);
                if (r < 0)
                        return r;
                st = jobj(in, "State");
                if (json_is_true(json_object_get(st, "Restarting")) ||
                    (!json_is_true(json_object_get(st, "Running")) &&
                     json_integer_value(json_object_get(st, "ExitCode")) != 0)) {
                        return tool_error(call, -EIO,
                                          "the new container stopped (%s, exit code %" JSON_INTEGER_FORMAT "%s%s)",
                                          container_state(in), json_integer_value(json_object_get(st, "ExitCode")),
                                          jstr(st, "Error") && *jstr(st, "Error") ? ": " : "",
                                          jstr(st, "Error") ? jstr(st, "Error") : "");
                }
        }
        return 0;
}

static int tool_update_docker_container(ToolCall *call) {
        _cleanup_json_ json_t *inspect = NULL, *old_image = NULL, *new_image = NULL, *body = NULL,
                              *extra = NULL, *created = NULL, *result = NULL, *final = NULL;
        _cleanup_free_ char *text_buf = NULL, *fail_buf = NULL;
        _cleanup_(fclosep) FILE *text = NULL;
        _cleanup_(fclosep) FILE *fail_log = NULL;
        const char *arg = jstr(call->args, "name_or_id"), *old_id, *new_id = NULL, *old_image_id, *image_ref;
        json_t *pull_arg = json_object_get(call->args, "pull_latest");
        bool pull_latest = !json_is_false(pull_arg), was_running;
        char name[160], old_name[200], ref_name[300], tag[160], ref[480], path[PATH_MAX_LEN],
                rename_path[PATH_MAX_LEN], why[512] = "";
        char old_digest[160] = "", new_digest[160] = "";
        size_t text_len = 0, fail_len = 0, pos, i;
        PullResult pr = {};
        DockerClient dc, nocancel;
        json_t *x;
        int r;

        r = check_container_name(call, arg);
        if (r < 0)
                return r;
        r = ctr_open(call, true, &dc);
        if (r < 0)
                return r;
        r = inspect_container(call, &dc, arg, &inspect);
        if (r < 0)
                return r;
        old_id = jstr(inspect, "Id");
        old_image_id = jstr(inspect, "Image");
        image_ref = jstr(jobj(inspect, "Config"), "Image");
        snprintf(name, sizeof name, "%s", container_name(inspect));
        if (!old_id || !docker_container_name_is_valid(old_id) || !old_image_id ||
            !docker_container_name_is_valid(name))
                return tool_error(call, -EBADMSG, "inspecting the container: no usable Id, Name or Image");
        if (!image_ref || !*image_ref)
                return tool_error(call, -EINVAL, "container %s has no image reference to update from", name);
        was_running = json_is_true(json_object_get(jobj(inspect, "State"), "Running"));

        r = split_reference(call, image_ref, NULL, ref_name, sizeof ref_name, tag, sizeof tag);
        if (r < 0) {
                char err[sizeof call->error];

                /* call->error is both the source and the target: copy first. */
                snprintf(err, sizeof err, "%s", call->error);
                return tool_error(call, r, "container %s: cannot update from image '%s': %s", name, image_ref,
                                  err);
        }
        snprintf(ref, sizeof ref, "%s:%s", ref_name, tag);

        /* The old image's config tells which settings came from the image. */
        r = inspect_image(call, &dc, old_image_id, &old_image);
        if (r == -ENOENT)
                old_image = NULL;
        else if (r < 0)
                return r;
        if (old_image) {
                const char *d = repo_digest(old_image, ref_name);

                snprintf(old_digest, sizeof old_digest, "%s", d ? d : "");
        }

        if (pull_latest) {
                r = pull_image(call, &dc, ref_name, tag, &pr);
                if (r < 0)
                        return r;
        }
        r = inspect_image(call, &dc, ref, &new_image);
        if (r == -ENOENT)
                return tool_error(call, -ENOENT, "image %s is not present; pull it or use pull_latest=true", ref);
        if (r < 0)
                return r;
        new_id = jstr(new_image, "Id");
        if (!new_id)
                return tool_error(call, -EBADMSG, "inspecting the image: no Id");
        {
                const char *d = repo_digest(new_image, ref_name);

                snprintf(new_digest, sizeof new_digest, "%s", d ? d : pr.digest);
        }

        text = open_memstream(&text_buf, &text_len);
        if (!text)
                return tool_error(call, -ENOMEM, "out of memory");

        if (streq(new_id, old_image_id)) {
                result = json_pack("{s:s,s:o,s:s,s:b,s:s,s:s,s:s,s:s,s:b}",
                                   "container", name,
                                   "id", short_id(old_id),
                                   "image", ref,
                                   "updated", false,
                                   "old_image_id", old_image_id,
                                   "new_image_id", new_id,
                                   "old_digest", old_digest,
                                   "new_digest", new_digest,
                                   "rolled_back", false);
                if (!result)
                        return tool_error(call, -ENOMEM, "out of memory");
                fprintf(text, "%s is already up to date (%s)\n", name, ref);
                return finish(call, &result, &text, &text_buf);
        }

        r = build_create_body(inspect, old_image, ref, &body, &extra);
        if (r < 0)
                return tool_error(call, r, "out of memory");

        /* From here on the old container is being changed: we finish or roll
         * back even if the caller cancels, so nothing is left half-done. */
        nocancel = dc;
        nocancel.cancelled = NULL;
        fail_log = open_memstream(&fail_buf, &fail_len);
        if (!fail_log)
                return tool_error(call, -ENOMEM, "out of memory");

        snprintf(old_name, sizeof old_name, "%.100s-old-%lld", name, (long long) time(NULL));
        pos = (size_t) snprintf(rename_path, sizeof rename_path, "/containers/%s/rename?name=", old_id);
        if (docker_url_escape(old_name, rename_path, sizeof rename_path, &pos) < 0)
                return tool_error(call, -EINVAL, "container name too long");

        tool_progress(call, pr.events + 1, pr.events + 4, "stopping the old container");
        snprintf(path, sizeof path, "/containers/%s/stop?t=%d", old_id, STOP_TIMEOUT_SEC);
        r = api_call(call, &nocancel, "POST", path, NULL, "stopping the old container", NULL);
        if (r < 0) {
                char err[512];

                /* A stop that failed half-way (a timeout, say) may still have
                 * stopped it: make sure it runs as before. */
                snprintf(err, sizeof err, "%s", call->error);
                if (was_running) {
                        snprintf(path, sizeof path, "/containers/%s/start", old_id);
                        rollback_step(&nocancel, "POST", path, "restarting the old container", fail_log);
                }
                return tool_error(call, r, "%s (old container left in place)", err);
        }

        r = api_call(call, &nocancel, "POST", rename_path, NULL, "renaming the old container", NULL);
        if (r < 0) {
                char err[512];

                snprintf(err, sizeof err, "%s", call->error);
                if (was_running) {
                        snprintf(path, sizeof path, "/containers/%s/start", old_id);
                        rollback_step(&nocancel, "POST", path, "restarting the old container", fail_log);
                }
                return tool_error(call, r, "%s (old container left in place)", err);
        }

        tool_progress(call, pr.events + 2, pr.events + 4, "creating the new container");
        pos = (size_t) snprintf(path, sizeof path, "/containers/create?name=");
        if (docker_url_escape(name, path, sizeof path, &pos) < 0)
                r = tool_error(call, -EINVAL, "container name too long");
        else
                r = api_call(call, &nocancel, "POST", path, body, "creating the new container", &created);
        if (r >= 0 && !(jstr(created, "Id") && docker_container_name_is_valid(jstr(created, "Id"))))
                r = tool_error(call, -EBADMSG, "creating the new container: no Id in the answer");
        if (r >= 0) {
                json_array_foreach(extra, i, x) {
                        const char *net = jstr(x, "Network");
                        size_t p2;

                        if (json_set(x, "Container", json_string(jstr(created, "Id"))) < 0) {
                                r = tool_error(call, -ENOMEM, "out of memory");
                                break;
                        }
                        p2 = (size_t) snprintf(path, sizeof path, "/networks/");
                        if (docker_url_escape(net, path, sizeof path, &p2) < 0 ||
                            snprintf(path + p2, sizeof path - p2, "/connect") >= (int) (sizeof path - p2)) {
                                r = tool_error(call, -EINVAL, "network name too long");
                                break;
                        }
                        json_object_del(x, "Network");
                        r = api_call(call, &nocancel, "POST", path, x, "connecting the new container", NULL);
                        if (r < 0)
                                break;
                }
        }
        if (r >= 0 && was_running) {
                tool_progress(call, pr.events + 3, pr.events + 4, "starting the new container");
                snprintf(path, sizeof path, "/containers/%s/start", jstr(created, "Id"));
                r = api_call(call, &nocancel, "POST", path, NULL, "starting the new container", NULL);
                if (r >= 0)
                        r = check_started(call, &nocancel, jstr(created, "Id"));
        }

        if (r < 0) {
                /* Rollback: remove the new one, give the old its name back, start it. */
                snprintf(why, sizeof why, "%s", call->error);
                if (jstr(created, "Id") && docker_container_name_is_valid(jstr(created, "Id"))) {
                        snprintf(path, sizeof path, "/containers/%s?force=1", jstr(created, "Id"));
                        rollback_step(&nocancel, "DELETE", path, "removing the new container", fail_log);
                }
                pos = (size_t) snprintf(path, sizeof path, "/containers/%s/rename?name=", old_id);
                if (docker_url_escape(name, path, sizeof path, &pos) >= 0)
                        rollback_step(&nocancel, "POST", path, "renaming the old container back", fail_log);
                if (was_running) {
                        snprintf(path, sizeof path, "/containers/%s/start", old_id);
                        rollback_step(&nocancel, "POST", path, "restarting the old container", fail_log);
                }
                fflush(fail_log);
                if (fail_len > 0)
                        return tool_error(call, r, "update of %s failed: %s; rollback incomplete: %s", name, why,
                                          fail_buf);
                return tool_error(call, r, "update of %s failed and was rolled back (%s): %s", name,
                                  was_running ? "old container running again" : "old container back in place", why);
        }

        /* Success: the old container goes. Failing that is worth saying, not fatal. */
        tool_progress(call, pr.events + 4, pr.events + 4, "removing the old container");
        snprintf(path, sizeof path, "/containers/%s?force=1", old_id);
        rollback_step(&nocancel, "DELETE", path, "removing the old container", fail_log);
        fflush(fail_log);

        r = inspect_container(call, &nocancel, jstr(created, "Id"), &final);
        if (r < 0)
                return r;
        result = json_pack("{s:s,s:o,s:o,s:s,s:b,s:s,s:s,s:s,s:s,s:b,s:s,s:b}",
                           "container", name,
                           "id", short_id(jstr(created, "Id")),
                           "old_id", short_id(old_id),
                           "image", ref,
                           "updated", true,
                           "old_image_id", old_image_id,
                           "new_image_id", jstr(new_image, "Id"),
                           "old_digest", old_digest,
                           "new_digest", new_digest,
                           "rolled_back", false,
                           "state", container_state(final),
                           "running", json_is_true(json_object_get(jobj(final, "State"), "Running")));
        if (!result)
                return tool_error(call, -ENOMEM, "out of memory");
        if (fail_len > 0 && json_set(result, "warnings", json_string_clean(fail_buf, fail_len)) < 0)
                return tool_error(call, -ENOMEM, "out of memory");
        fprintf(text, "updated %s to %s: image %.19s -> %.19s, container %s (%s)\n", name, ref, old_image_id,
                jstr(new_image, "Id"), jstr(result, "id"), container_state(final));
        if (fail_len > 0)
                fprintf(text, "warning: %s\n", fail_buf);
        return finish(call, &result, &text, &text_buf);
}

/* Dry runs shown to approvers (tools/tool.h: Tool.plan) ------------------------------
 * Podman's Docker API has no /distribution endpoint, so the registry's current
 * digest is not known before the pull: the plan shows what is there now and
 * what the call will do with it. Nothing is changed. */

/* The local image `ref` as {id, digest, created} or JSON null. */
static int plan_local_image(ToolCall *call, DockerClient *dc, const char *ref, const char *name, json_t **ret) {
        _cleanup_json_ json_t *im = NULL;
        int r = inspect_image(call, dc, ref, &im);

        if (r == -ENOENT) {
                *ret = json_null();
                return 0;
        }
        if (r < 0)
                return r;
        const char *d = repo_digest(im, name);
        *ret = json_pack("{s:s?,s:s?,s:s?}", "id", jstr(im, "Id"), "digest", d, "created", jstr(im, "Created"));
        return *ret ? 0 : tool_error(call, -ENOMEM, "out of memory");
}

static int plan_pull_docker_image(ToolCall *call) {
        const char *image = jstr(call->args, "image_name"), *tag_arg = jstr(call->args, "tag");
        char name[300], tag[160], ref[480];
        json_t *local = NULL;
        DockerClient dc;
        int r;

        if (!image)
                return tool_error(call, -EINVAL, "argument 'image_name' is required");
        r = split_reference(call, image, tag_arg, name, sizeof name, tag, sizeof tag);
        if (r < 0)
                return r;
        snprintf(ref, sizeof ref, "%s:%s", name, tag);
        r = ctr_open(call, false, &dc);
        if (r < 0)
                return r;
        r = plan_local_image(call, &dc, ref, name, &local);
        if (r < 0)
                return r;
        call->result = json_pack("{s:s,s:s,s:o,s:s}", "action", "pull", "image", ref, "local_image", local, "effect",
                                 json_is_null(local) ? "downloads the image; nothing else changes"
                                                     : "downloads the image if the registry has a newer one; "
                                                       "running containers keep their current image");
        return call->result ? 0 : tool_error(call, -ENOMEM, "out of memory");
}

static int plan_update_docker_container(ToolCall *call) {
        _cleanup_json_ json_t *inspect = NULL;
        const char *arg = jstr(call->args, "name_or_id"), *image_ref;
        bool pull_latest = !json_is_false(json_object_get(call->args, "pull_latest"));
        char ref_name[300], tag[160];
        json_t *current = NULL;
        DockerClient dc;
        int r;

        r = check_container_name(call, arg);
        if (r < 0)
                return r;
        r = ctr_open(call, false, &dc);
        if (r < 0)
                return r;
        r = inspect_container(call, &dc, arg, &inspect);
        if (r < 0)
                return r;
        image_ref = jstr(jobj(inspect, "Config"), "Image");
        if (!image_ref || split_reference(call, image_ref, NULL, ref_name, sizeof ref_name, tag, sizeof tag) < 0)
                return tool_error(call, -EINVAL, "container %s has no image reference to update from",
                                  container_name(inspect));
        r = jstr(inspect, "Image") ? plan_local_image(call, &dc, jstr(inspect, "Image"), ref_name, &current) : -EBADMSG;
        if (r < 0)
                return r == -EBADMSG ? tool_error(call, r, "inspecting the container: no Image") : r;
        call->result = json_pack(
                "{s:s,s:s,s:s?,s:s,s:s,s:o,s:b,s:s}", "action", "update", "container", container_name(inspect), "id",
                jstr(inspect, "Id"), "state", container_state(inspect), "image", image_ref, "current_image", current,
                "pull_latest", pull_latest, "effect",
                pull_latest ? "pulls the image; if its id changed, stops this container, creates a new one with the "
                              "same name and settings from the new image and starts it; if that fails, the old "
                              "container is put back"
                            : "recreates the container from the local image if its id differs from the running one");
        return call->result ? 0 : tool_error(call, -ENOMEM, "out of memory");
}

/* The table ----------------------------------------------------------------------- */

#define NAME_OR_ID                                                                                                 \
        "\"name_or_id\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":128,"                                  \
        "\"description\":\"Container name or (short) id: [a-zA-Z0-9][a-zA-Z0-9_.-]*\"}"
#define STR "{\"type\":\"string\"}"
#define STRS "{\"type\":\"array\",\"items\":{\"type\":\"string\"}}"
#define INT "{\"type\":\"integer\"}"
#define BOOL "{\"type\":\"boolean\"}"

const Tool tools_containers[] = {
        {
                .name = "get_container_list",
                .title = "Containers",
                .description = "All containers (running or not) with id, names, image, state, status, creation "
                               "time, published ports and labels. Optional filters by state, name or label.",
                .scope = SCOPE_CONTAINER_READ,
                .risk = RISK_LOW,
                /* Names, labels and status texts are chosen by whoever created the containers. */
                .flags = TOOL_UNTRUSTED_OUTPUT,
                .input_schema =
                        "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
                        "\"status\":{\"type\":\"string\",\"enum\":[\"created\",\"restarting\",\"running\","
                        "\"removing\",\"paused\",\"exited\",\"dead\"],\"description\":\"Only containers in this state.\"},"
                        "\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":128,"
                        "\"description\":\"Only containers whose name contains this.\"},"
                        "\"label\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":256,"
                        "\"description\":\"Only containers with this label: key or key=value.\"}}}",
                .output_schema =
                        "{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"containers\",\"count\",\"truncated\"],\"properties\":{"
                        "\"containers\":{\"type\":\"array\",\"maxItems\":1000,\"items\":{"
                        "\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"id\",\"name\",\"names\",\"image\",\"image_id\",\"state\",\"status\","
                        "\"created\",\"ports\",\"labels\"],\"properties\":{"
                        "\"id\":{\"type\":\"string\",\"maxLength\":12},\"name\":" STR ",\"names\":" STRS ","
                        "\"image\":" STR ",\"image_id\":{\"type\":\"string\",\"maxLength\":12},"
                        "\"state\":" STR ",\"status\":" STR ","
                        "\"created\":{\"type\":\"integer\",\"description\":\"Unix time\"},"
                        "\"ports\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"private_port\",\"public_port\",\"type\",\"ip\"],\"properties\":{"
                        "\"private_port\":" INT ",\"public_port\":" INT ",\"type\":" STR ",\"ip\":" STR "}}},"
                        "\"labels\":{\"type\":\"object\"}}}},"
                        "\"count\":{\"type\":\"integer\",\"minimum\":0},\"truncated\":" BOOL "}}",
                .handler = tool_get_container_list,
        },
        {
                .name = "list_docker_images",
                .title = "Container images",
                .description = "Local images with id, repository tags, digests, size and creation time.",
                .scope = SCOPE_CONTAINER_READ,
                .risk = RISK_LOW,
                .flags = TOOL_UNTRUSTED_OUTPUT,
                .input_schema = "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{}}",
                .output_schema =
                        "{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"images\",\"count\",\"truncated\"],\"properties\":{"
                        "\"images\":{\"type\":\"array\",\"maxItems\":1000,\"items\":{"
                        "\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"id\",\"full_id\",\"repo_tags\",\"repo_digests\",\"size_bytes\",\"created\"],"
                        "\"properties\":{\"id\":{\"type\":\"string\",\"maxLength\":12},\"full_id\":" STR ","
                        "\"repo_tags\":" STRS ",\"repo_digests\":" STRS ","
                        "\"size_bytes\":{\"type\":\"integer\",\"minimum\":0},"
                        "\"created\":{\"type\":\"integer\",\"description\":\"Unix time\"}}}},"
                        "\"count\":{\"type\":\"integer\",\"minimum\":0},\"truncated\":" BOOL "}}",
                .handler = tool_list_docker_images,
        },
        {
                .name = "get_docker_networks",
                .title = "Container networks",
                .description = "Networks of the container engine: name, id, driver, scope, whether internal, "
                               "subnets and gateways, attached containers.",
                .scope = SCOPE_DOCKER_READ,
                .risk = RISK_LOW,
                .flags = TOOL_UNTRUSTED_OUTPUT,
                .input_schema = "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{}}",
                .output_schema =
                        "{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"networks\",\"count\"],\"properties\":{"
                        "\"networks\":{\"type\":\"array\",\"maxItems\":1000,\"items\":{"
                        "\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"name\",\"id\",\"driver\",\"scope\",\"internal\",\"subnets\",\"containers\"],"
                        "\"properties\":{\"name\":" STR ",\"id\":" STR ",\"driver\":" STR ",\"scope\":" STR ","
                        "\"internal\":" BOOL ","
                        "\"subnets\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"subnet\",\"gateway\"],\"properties\":{\"subnet\":" STR ",\"gateway\":" STR
                        "}}},"
                        "\"containers\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
                        "\"additionalProperties\":false,\"required\":[\"id\",\"name\"],"
                        "\"properties\":{\"id\":" STR ",\"name\":" STR "}}}}}},"
                        "\"count\":{\"type\":\"integer\",\"minimum\":0}}}",
                .handler = tool_get_docker_networks,
        },
        {
                .name = "get_container_logs",
                .title = "Container logs",
                .description = "The last lines of a container's output, stdout and stderr separated (one stream "
                               "for TTY containers). Output beyond tools.max_output_bytes is cut, oldest first.",
                .scope = SCOPE_CONTAINER_READ,
                .risk = RISK_LOW,
                /* Whatever the container prints, an attacker may have written. */
                .flags = TOOL_UNTRUSTED_OUTPUT,
                .input_schema =
                        "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"name_or_id\"],"
                        "\"properties\":{" NAME_OR_ID ","
                        "\"lines\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10000,\"default\":100,"
                        "\"description\":\"How many of the last lines to return.\"},"
                        "\"timestamps\":{\"type\":\"boolean\",\"default\":false,"
                        "\"description\":\"Prefix each line with its RFC 3339 timestamp.\"}}}",
                .output_schema =
                        "{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"container\",\"id\",\"tty\",\"lines_requested\",\"stdout\",\"stderr\","
                        "\"stdout_lines\",\"stderr_lines\",\"truncated\"],\"properties\":{"
                        "\"container\":" STR ",\"id\":" STR ",\"tty\":" BOOL ",\"lines_requested\":" INT ","
                        "\"stdout\":" STR ",\"stderr\":" STR ",\"stdout_lines\":" INT ",\"stderr_lines\":" INT ","
                        "\"truncated\":" BOOL "}}",
                .handler = tool_get_container_logs,
        },
        {
                .name = "manage_container",
                .title = "Start, stop or restart a container",
                .description = "Starts, stops (SIGTERM, then SIGKILL after 10 s) or restarts a container. "
                               "Reports whether anything changed and the final state.",
                .scope = SCOPE_CONTAINER_WRITE,
                .risk = RISK_HIGH,
                /* Not idempotent: every restart restarts. */
                .input_schema =
                        "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"action\",\"name_or_id\"],"
                        "\"properties\":{\"action\":{\"type\":\"string\",\"enum\":[\"start\",\"stop\",\"restart\"]},"
                        NAME_OR_ID "}}",
                .output_schema =
                        "{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"container\",\"id\",\"action\",\"changed\",\"previous_state\",\"state\","
                        "\"running\"],\"properties\":{\"container\":" STR ",\"id\":" STR ","
                        "\"action\":{\"type\":\"string\",\"enum\":[\"start\",\"stop\",\"restart\"]},"
                        "\"changed\":" BOOL ",\"previous_state\":" STR ",\"state\":" STR ",\"running\":" BOOL "}}",
                .handler = tool_manage_container,
        },
        {
                .name = "pull_docker_image",
                .title = "Pull an image",
                .description = "Pulls an image from its registry, with progress notifications per layer. "
                               "Reports the image id and digest and whether it changed.",
                .scope = SCOPE_DOCKER_ADMIN,
                .risk = RISK_CRITICAL,
                .flags = TOOL_OPEN_WORLD | TOOL_LONG_RUNNING | TOOL_IDEMPOTENT,
                .input_schema =
                        "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"image_name\"],"
                        "\"properties\":{\"image_name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":255,"
                        "\"description\":\"[registry[:port]/]repository, e.g. nginx or 127.0.0.1:5000/app\"},"
                        "\"tag\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":128,\"default\":\"latest\"}}}",
                .output_schema =
                        "{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"image\",\"tag\",\"id\",\"short_id\",\"digest\",\"updated\"],"
                        "\"properties\":{\"image\":" STR ",\"tag\":" STR ",\"id\":" STR ",\"short_id\":" STR ","
                        "\"digest\":" STR ",\"previous_id\":" STR ",\"updated\":" BOOL "}}",
                .handler = tool_pull_docker_image,
                .plan = plan_pull_docker_image,
        },
        {
                .name = "update_docker_container",
                .title = "Update a container to its image's latest version",
                .description = "Pulls the container's image (unless pull_latest is false) and, if it changed, "
                               "recreates the container with the same name, environment, command, labels, mounts, "
                               "ports, restart policy and networks, then starts it. If the new container fails to "
                               "start, the old one is put back and started again.",
                .scope = SCOPE_CONTAINER_ADMIN,
                .risk = RISK_CRITICAL,
                .flags = TOOL_OPEN_WORLD | TOOL_LONG_RUNNING,
                .input_schema =
                        "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"name_or_id\"],"
                        "\"properties\":{" NAME_OR_ID ","
                        "\"pull_latest\":{\"type\":\"boolean\",\"default\":true,"
                        "\"description\":\"Pull the image first; false uses the local image as it is.\"}}}",
                .output_schema =
                        "{\"type\":\"object\",\"additionalProperties\":false,"
                        "\"required\":[\"container\",\"id\",\"image\",\"updated\",\"old_image_id\",\"new_image_id\","
                        "\"old_digest\",\"new_digest\",\"rolled_back\"],\"properties\":{"
                        "\"container\":" STR ",\"id\":" STR ",\"old_id\":" STR ",\"image\":" STR ",\"updated\":" BOOL
                        ",\"old_image_id\":" STR ",\"new_image_id\":" STR ",\"old_digest\":" STR ",\"new_digest\":" STR
                        ",\"rolled_back\":" BOOL ",\"state\":" STR ",\"running\":" BOOL ",\"warnings\":" STR "}}",
                .handler = tool_update_docker_container,
                .plan = plan_update_docker_container,
        },
        {}
};
