/* SPDX-License-Identifier: MIT */

#include <assert.h>
#include <fnmatch.h>
#include <stdlib.h>

#include "common/cleanup.h"
#include "common/timeutil.h"
#include "scopes/identity.h"

Identity *identity_new(void) {
        Identity *i;

        i = calloc(1, sizeof(*i));
        if (!i)
                return NULL;

        atomic_init(&i->n_ref, 1);
        i->method = AUTH_METHOD_NONE;
        return i;
}

Identity *identity_ref(Identity *i) {
        if (!i)
                return NULL;

        assert(atomic_load(&i->n_ref) > 0);
        atomic_fetch_add_explicit(&i->n_ref, 1, memory_order_relaxed);
        return i;
}

Identity *identity_unref(Identity *i) {
        unsigned prev;

        if (!i)
                return NULL;

        /* acq_rel: every write made through other references happens-before
         * the free below. */
        prev = atomic_fetch_sub_explicit(&i->n_ref, 1, memory_order_acq_rel);
        assert(prev > 0);
        if (prev != 1)
                return NULL;

        free(i->subject);
        free(i->token_id);
        free(i->audience);
        free(i->reason);
        strv_free(i->containers);
        strv_free(i->paths);
        strv_free(i->hosts);
        free(i);
        return NULL;
}

const char *auth_method_to_string(AuthMethod m) {
        static const char *const table[_AUTH_METHOD_MAX] = {
                [AUTH_METHOD_NONE] = "none",
                [AUTH_METHOD_HMAC] = "hmac",
                [AUTH_METHOD_JWT] = "jwt",
                [AUTH_METHOD_SERVICE_TOKEN] = "service_token",
                [AUTH_METHOD_BOOTSTRAP] = "bootstrap",
                [AUTH_METHOD_STDIO] = "stdio",
                [AUTH_METHOD_API_KEY] = "api_key",
                [AUTH_METHOD_BASIC] = "basic",
        };

        if ((int) m < 0 || m >= _AUTH_METHOD_MAX)
                return NULL;
        return table[m];
}

static int set_string(json_t *o, const char *key, const char *value) {
        if (!value)
                return 0;
        return json_object_set_new(o, key, json_string(value));
}

json_t *identity_to_json(const Identity *i) {
        _cleanup_json_ json_t *o = NULL;
        char iso[TIMESTAMP_MS_MAX];

        if (!i)
                return NULL;

        o = json_object();
        if (!o)
                return NULL;

        /* Only claims and digests: the token itself (and any secret) never
         * enters this object, which is logged and audited. */
        if (set_string(o, "subject", i->subject) < 0 ||
            set_string(o, "auth_method", auth_method_to_string(i->method)) < 0 ||
            json_object_set_new(o, "scopes", scopeset_to_json(i->scopes)) < 0 ||
            set_string(o, "token_id", i->token_id) < 0 ||
            (i->token_sha256[0] != 0 && set_string(o, "token_sha256", i->token_sha256) < 0))
                return NULL;

        if (i->issued_at != 0 && json_object_set_new(o, "issued_at", json_integer(i->issued_at)) < 0)
                return NULL;

        if (i->expires_at != 0) {
                if (json_object_set_new(o, "expires_at", json_integer(i->expires_at)) < 0)
                        return NULL;
                /* Far-future expiries (year > 9999) just have no ISO form. */
                if (timestamp_format(i->expires_at, iso, sizeof(iso)) >= 0 &&
                    set_string(o, "expires_at_iso", iso) < 0)
                        return NULL;
        }

        if (set_string(o, "audience", i->audience) < 0 ||
            json_object_set_new(o, "auto_approve", json_boolean(i->auto_approve)) < 0 ||
            json_object_set_new(o, "break_glass", json_boolean(i->break_glass)) < 0 ||
            set_string(o, "reason", i->reason) < 0)
                return NULL;

        const struct { const char *name; char **l; } cons[] = {
                { "containers", i->containers }, { "paths", i->paths }, { "hosts", i->hosts },
        };
        for (size_t k = 0; k < ELEMENTSOF(cons); k++) {
                if (!cons[k].l)
                        continue;
                json_t *a = json_array();
                for (char **g = cons[k].l; a && *g; g++)
                        json_array_append_new(a, json_string(*g));
                if (!a || json_object_set_new(o, cons[k].name, a) < 0)
                        return NULL;
        }

        return TAKE_PTR(o);
}

static int parse_globs(json_t *claims, const char *key, char ***ret, const char **ret_detail) {
        json_t *a = json_object_get(claims, key);
        size_t i, n;
        json_t *v;

        if (!a)
                return 0;
        n = json_is_array(a) ? json_array_size(a) : 0;
        if (n == 0 || n > 32) {
                if (ret_detail)
                        *ret_detail = "constraint claims (containers, paths, hosts) must be arrays of 1 to 32 globs";
                return -EINVAL;
        }
        char **l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        json_array_foreach(a, i, v) {
                if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 256 ||
                    !(l[i] = strdup(json_string_value(v)))) {
                        strv_free(l);
                        if (ret_detail)
                                *ret_detail = "constraint globs must be non-empty strings of at most 256 bytes";
                        return -EINVAL;
                }
        }
        *ret = l;
        return 0;
}

int identity_set_constraints(Identity *id, json_t *claims, const char **ret_detail) {
        int r;

        if (!json_is_object(claims))
                return 0;
        r = parse_globs(claims, "containers", &id->containers, ret_detail);
        if (r >= 0)
                r = parse_globs(claims, "paths", &id->paths, ret_detail);
        if (r >= 0)
                r = parse_globs(claims, "hosts", &id->hosts, ret_detail);
        return r;
}

bool identity_constraint_allows(char *const *globs, const char *value) {
        if (!globs)
                return true;
        if (!value)
                return false;
        for (char *const *g = globs; *g; g++)
                if (fnmatch(*g, value, 0) == 0)
                        return true;
        return false;
}
