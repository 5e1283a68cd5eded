/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli/client.h"
#include "common/cleanup.h"

#define RESPONSE_MAX (16 * 1024 * 1024)

void cli_target_done(CliTarget *t) {
        free(t->url);
        erase_and_free(t->token);
        *t = (CliTarget) {};
}

static char *trim(char *s) {
        while (*s == ' ' || *s == '\t')
                s++;
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
                s[--n] = 0;
        if (n >= 2 && ((s[0] == '"' && s[n - 1] == '"') || (s[0] == '\'' && s[n - 1] == '\''))) {
                s[n - 1] = 0;
                s++;
        }
        return s;
}

/* Reads "key: value" (YAML) or "key = value" (TOML) lines; only api_url and token. */
static int profile_load(const char *path, CliTarget *t) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        struct stat st;
        char buf[8192];
        ssize_t n;

        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_mode & 0077) {
                fprintf(stderr, "systemmanagerctl: %s is readable by group or others (it holds a token); run: "
                                "chmod 600 %s\n",
                        path, path);
                return -EPERM;
        }
        n = read(fd, buf, sizeof buf - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        for (char *line = buf, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                char *sep = strpbrk(line, ":=");
                if (!sep || line[0] == '#')
                        continue;
                /* "http://..." contains ':' too: split at the first separator after the key. */
                *sep = 0;
                char *key = trim(line), *val = trim(sep + 1);
                if (streq(key, "api_url") && !t->url)
                        t->url = strdup(val);
                else if (streq(key, "token") && !t->token)
                        t->token = strdup(val);
        }
        OPENSSL_cleanse(buf, sizeof buf);
        return 0;
}

int cli_target_load(CliTarget *t) {
        const char *url = getenv("SYSTEMMANAGER_URL"), *tok = getenv("SYSTEMMANAGER_TOKEN");
        const char *home = getenv("HOME");
        int r;

        *t = (CliTarget) {};
        if (url && !(t->url = strdup(url)))
                return -ENOMEM;
        if (tok && !(t->token = strdup(tok)))
                return -ENOMEM;
        if ((!t->url || !t->token) && home) {
                char path[4096];
                const char *names[] = { "cli.yaml", "cli.toml" };

                for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                        snprintf(path, sizeof path, "%s/.config/systemmanager/%s", home, names[i]);
                        r = profile_load(path, t);
                        if (r < 0)
                                return r;
                }
        }
        if (!t->url && !(t->url = strdup("http://127.0.0.1:8080")))
                return -ENOMEM;
        size_t l = strlen(t->url);
        while (l > 0 && t->url[l - 1] == '/')
                t->url[--l] = 0;
        if (!t->token) {
                fprintf(stderr, "systemmanagerctl: no token: set SYSTEMMANAGER_TOKEN, or put 'token: ...' (and "
                                "'api_url: ...') in ~/.config/systemmanager/cli.yaml (mode 600)\n");
                return -ENOKEY;
        }
        return 0;
}

typedef struct Buf {
        char *data;
        size_t len;
        bool overflow;
} Buf;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata) {
        Buf *b = userdata;
        size_t n = size * nmemb;

        if (b->len + n > RESPONSE_MAX) {
                b->overflow = true;
                return 0;
        }
        char *d = realloc(b->data, b->len + n + 1);
        if (!d)
                return 0;
        memcpy(d + b->len, ptr, n);
        b->data = d;
        b->len += n;
        d[b->len] = 0;
        return n;
}

int cli_http(const CliTarget *t, const char *method, const char *path, const char *body, long *ret_status,
             char **ret_body) {
        _cleanup_free_ char *url = NULL, *auth = NULL;
        struct curl_slist *h = NULL;
        Buf b = {};
        CURL *c;
        int r = 0;

        if (asprintf(&url, "%s%s", t->url, path) < 0 || asprintf(&auth, "Authorization: Bearer %s", t->token) < 0)
                return -ENOMEM;
        c = curl_easy_init();
        if (!c)
                return -ENOMEM;
        h = curl_slist_append(h, auth);
        h = curl_slist_append(h, "Content-Type: application/json");
        h = curl_slist_append(h, "Accept: application/json, text/event-stream");
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        if (body) {
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long) strlen(body));
        }
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 660L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        if (strncmp(t->url, "unix:", 5) == 0) {
                /* unix:/run/systemmanager/mcp.sock → talk HTTP over that socket. */
                curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, t->url + 5);
                free(url);
                if (asprintf(&url, "http://localhost%s", path) < 0) {
                        r = -ENOMEM;
                        goto finish;
                }
                curl_easy_setopt(c, CURLOPT_URL, url);
        }

        CURLcode cr = curl_easy_perform(c);
        if (cr != CURLE_OK) {
                fprintf(stderr, "systemmanagerctl: cannot reach %s: %s%s\n", t->url, curl_easy_strerror(cr),
                        b.overflow ? " (response too large)" : "");
                r = -EHOSTUNREACH;
                goto finish;
        }
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, ret_status);
        *ret_body = b.data ? b.data : strdup("");
        b.data = NULL;
        if (!*ret_body)
                r = -ENOMEM;
finish:
        OPENSSL_cleanse(auth, strlen(auth));
        curl_slist_free_all(h);
        curl_easy_cleanup(c);
        free(b.data);
        return r;
}
