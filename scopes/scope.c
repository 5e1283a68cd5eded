/* SPDX-License-Identifier: MIT */

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "scopes/scope.h"

static const char *const scope_names[_SCOPE_MAX] = {
        [SCOPE_SYSTEM_READ]        = "system:read",
        [SCOPE_NETWORK_READ]       = "network:read",
        [SCOPE_CONTAINER_READ]     = "container:read",
        [SCOPE_DOCKER_READ]        = "docker:read",
        [SCOPE_FILE_READ]          = "file:read",
        [SCOPE_NETWORK_DIAG]       = "network:diag",
        [SCOPE_NETWORK_ADMIN]      = "network:admin",
        [SCOPE_CONTAINER_WRITE]    = "container:write",
        [SCOPE_CONTAINER_ADMIN]    = "container:admin",
        [SCOPE_DOCKER_ADMIN]       = "docker:admin",
        [SCOPE_SYSTEM_ADMIN]       = "system:admin",
        [SCOPE_HEALTH_READ]        = "health:read",
        [SCOPE_METRICS_READ]       = "metrics:read",
        [SCOPE_APPROVALS_WRITE]    = "approvals:write",
        [SCOPE_ADMIN_TOKENS_READ]  = "admin:tokens:read",
        [SCOPE_ADMIN_TOKENS_WRITE] = "admin:tokens:write",
};

/* A ScopeSet is a uint32_t bit set: the enum must fit. */
_Static_assert(_SCOPE_MAX <= 32, "ScopeSet too small for the Scope enum");

/* Longest concrete or meta name; anything longer is unknown without looking. */
#define SCOPE_NAME_MAX 32

const char *scope_to_string(Scope s) {
        if (s < 0 || s >= _SCOPE_MAX)
                return NULL;
        return scope_names[s];
}

Scope scope_from_string(const char *name) {
        if (!name)
                return _SCOPE_INVALID;

        for (Scope s = 0; s < _SCOPE_MAX; s++)
                if (streq(scope_names[s], name))
                        return s;

        return _SCOPE_INVALID;
}

ScopeSet scope_readonly_set(void) {
        /* SPEC §6: readonly deliberately excludes docker:read and every
         * diag/write/admin scope. */
        return SCOPE_BIT(SCOPE_SYSTEM_READ) |
               SCOPE_BIT(SCOPE_NETWORK_READ) |
               SCOPE_BIT(SCOPE_CONTAINER_READ) |
               SCOPE_BIT(SCOPE_FILE_READ) |
               SCOPE_BIT(SCOPE_HEALTH_READ) |
               SCOPE_BIT(SCOPE_METRICS_READ);
}

int scope_expand_name(const char *name, ScopeSet *ret) {
        Scope s;

        assert(ret);

        if (!name)
                return -EINVAL;

        /* Exact, case-sensitive names only: "Admin" or "admin " are unknown. */
        if (streq(name, "readonly")) {
                *ret = scope_readonly_set();
                return 0;
        }
        if (streq(name, "admin")) {
                *ret = SCOPESET_ALL;
                return 0;
        }

        s = scope_from_string(name);
        if (s < 0)
                return -EINVAL;

        *ret = SCOPE_BIT(s);
        return 0;
}

/* Expands name[0..len) (not NUL-terminated). */
static int scope_expand_span(const char *name, size_t len, ScopeSet *ret) {
        char buf[SCOPE_NAME_MAX + 1];

        if (len > SCOPE_NAME_MAX)
                return -EINVAL;

        memcpy(buf, name, len);
        buf[len] = 0;
        return scope_expand_name(buf, ret);
}

static bool is_list_separator(char c) {
        return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int scope_parse_list(const char *list, ScopeSet *ret, char **ret_bad) {
        ScopeSet set = 0;
        const char *p;

        assert(ret);

        if (!list)
                return -EINVAL;

        p = list;
        for (;;) {
                size_t n;
                ScopeSet one;
                int r;

                while (*p != 0 && is_list_separator(*p))
                        p++;
                if (*p == 0)
                        break;

                n = 0;
                while (p[n] != 0 && !is_list_separator(p[n]))
                        n++;

                r = scope_expand_span(p, n, &one);
                if (r < 0) {
                        if (ret_bad) {
                                char *bad = strndup(p, n);

                                if (!bad)
                                        return -ENOMEM;
                                *ret_bad = bad;
                        }
                        return -EINVAL;
                }

                set |= one;
                p += n;
        }

        *ret = set;
        return 0;
}

int scope_parse_json(json_t *array, ScopeSet *ret, char **ret_bad) {
        ScopeSet set = 0;
        size_t i;
        json_t *v; /* borrowed */

        assert(ret);

        if (!json_is_array(array))
                return -EINVAL;

        json_array_foreach(array, i, v) {
                ScopeSet one;
                const char *name;

                if (!json_is_string(v))
                        return -EINVAL;

                name = json_string_value(v);
                /* A string with an embedded NUL can never be a scope name. */
                if (strlen(name) != json_string_length(v) || scope_expand_name(name, &one) < 0) {
                        if (ret_bad) {
                                char *bad = strdup(name);

                                if (!bad)
                                        return -ENOMEM;
                                *ret_bad = bad;
                        }
                        return -EINVAL;
                }

                set |= one;
        }

        *ret = set;
        return 0;
}

json_t *scopeset_to_json(ScopeSet set) {
        _cleanup_json_ json_t *a = NULL;

        a = json_array();
        if (!a)
                return NULL;

        for (Scope s = 0; s < _SCOPE_MAX; s++) {
                if (!(set & SCOPE_BIT(s)))
                        continue;
                if (json_array_append_new(a, json_string(scope_names[s])) < 0)
                        return NULL;
        }

        return TAKE_PTR(a);
}

char *scopeset_format(ScopeSet set, char *buf, size_t size) {
        size_t used = 0;
        bool first = true;

        assert(buf);

        if (size == 0)
                return buf;
        buf[0] = 0;

        for (Scope s = 0; s < _SCOPE_MAX; s++) {
                const char *sep = first ? "" : ", ";
                size_t need;

                if (!(set & SCOPE_BIT(s)))
                        continue;

                /* Whole names only: a cut-off "system:adm" in an error
                 * message would be misleading. */
                need = strlen(sep) + strlen(scope_names[s]);
                if (need >= size - used)
                        break;

                memcpy(buf + used, sep, strlen(sep));
                used += strlen(sep);
                memcpy(buf + used, scope_names[s], strlen(scope_names[s]));
                used += strlen(scope_names[s]);
                buf[used] = 0;
                first = false;
        }

        return buf;
}
