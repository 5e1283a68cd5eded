/* SPDX-License-Identifier: MIT */

#include <assert.h>
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

        return TAKE_PTR(o);
}
