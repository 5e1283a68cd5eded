/* SPDX-License-Identifier: MIT */

/* libFuzzer harness for the apt/dpkg output parsers (tools/apt.h).
 *
 * Build and run: tests/fuzz/run.sh 30 apt
 *
 * Also covers PackageKit package ids (tools/packagekit.h).
 *
 * The whole input goes through the plan and dpkg-query parsers (and the
 * plan through its JSON form); every line is copied into an exactly sized
 * buffer without a terminator and given to the line parsers, so reading
 * past a line is caught by ASan. The results are checked against the
 * parsers' promises: NUL-terminated, printable ASCII, caps respected. */

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tools/apt.h"
#include "tools/packagekit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_printable(const char *s, size_t size) {
        size_t n = strnlen(s, size);

        if (n >= size)
                abort();
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || (unsigned char) s[i] >= 0x7f)
                        abort();
}

static void check_item(const AptPlanItem *it) {
        if (!apt_action_to_string(it->action))
                abort();
        check_printable(it->name, sizeof it->name);
        check_printable(it->old_version, sizeof it->old_version);
        check_printable(it->new_version, sizeof it->new_version);
        check_printable(it->origin, sizeof it->origin);
        check_printable(it->arch, sizeof it->arch);
        if (!it->name[0])
                abort();
        if (it->security != apt_origin_is_security(it->origin))
                abort();
}

static void one_line(const char *line, size_t len) {
        char *copy = malloc(len ? len : 1), *z = malloc(len + 1);
        char msg[64], path[256], unit[64], buf[128], name[65], version[APT_VERSION_MAX];
        const char *reason = NULL;
        AptPlanItem it;
        AptInstalled in;
        double pct;

        if (!copy || !z)
                abort();
        memcpy(copy, line, len);
        memcpy(z, line, len);
        z[len] = '\0';

        if (apt_plan_parse_line(copy, len, &it) == 1)
                check_item(&it);
        if (apt_installed_parse_line(copy, len, &in) == 1) {
                check_printable(in.name, sizeof in.name);
                check_printable(in.version, sizeof in.version);
                check_printable(in.arch, sizeof in.arch);
                check_printable(in.status, sizeof in.status);
        }
        if (apt_status_parse_line(copy, len, &pct, msg, sizeof msg) == 1) {
                check_printable(msg, sizeof msg);
                if (!(pct >= 0 && pct <= 100))
                        abort();
        }
        if (apt_maps_line_deleted_lib(copy, len, path, sizeof path) == 1) {
                check_printable(path, sizeof path);
                if (strncmp(path, "/usr/lib", 8) != 0 && strncmp(path, "/lib", 4) != 0)
                        abort();
        }
        if (apt_cgroup_unit(copy, len, unit, sizeof unit) == 1)
                check_printable(unit, sizeof unit);

        {
                PkPackageId id;

                if (pk_package_id_parse(z, &id) == 0) {
                        check_printable(id.name, sizeof id.name);
                        check_printable(id.version, sizeof id.version);
                        check_printable(id.arch, sizeof id.arch);
                        check_printable(id.data, sizeof id.data);
                        if (!id.name[0])
                                abort();
                }
        }
        (void) apt_lock_error(z);
        apt_first_error(z, buf, sizeof buf);
        check_printable(buf, sizeof buf);
        if (apt_package_spec_parse(z, name, version, &reason) == 0) {
                /* Never something apt-get could read as an option. */
                if (name[0] == '-' || strlen(name) < 2 || strlen(name) > 64)
                        abort();
                check_printable(version, sizeof version);
        } else if (!reason)
                abort();

        free(copy);
        free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *text = (const char *) data;
        AptPlan plan = {};
        AptInstalledList list = {};
        json_t *j;

        if (apt_plan_parse(text, size, &plan) == 0) {
                if (plan.n_items > APT_PLAN_ITEMS_MAX || plan.n_kept_back > APT_KEPT_BACK_MAX)
                        abort();
                for (size_t i = 0; i < plan.n_items; i++)
                        check_item(&plan.items[i]);
                for (size_t i = 0; i < plan.n_kept_back; i++)
                        check_printable(plan.kept_back[i], APT_NAME_MAX);
                j = apt_plan_to_json(&plan);
                if (!j)
                        abort();
                if (json_array_size(json_object_get(j, "actions")) != plan.n_items)
                        abort();
                json_decref(j);
                apt_plan_done(&plan);
        }
        if (apt_installed_parse(text, size, &list) == 0) {
                for (size_t i = 0; i < list.n_items; i++) {
                        check_printable(list.items[i].name, APT_NAME_MAX);
                        if (i > 0 && strcmp(list.items[i - 1].name, list.items[i].name) > 0)
                                abort();
                }
                if (list.n_items > 0 && apt_installed_find(&list, list.items[0].name) == NULL)
                        abort();
                apt_installed_done(&list);
        }

        for (size_t off = 0; off < size;) {
                const char *nl = memchr(text + off, '\n', size - off);
                size_t n = nl ? (size_t) (nl - (text + off)) : size - off;

                one_line(text + off, n);
                off += n + (nl ? 1 : 0);
        }
        return 0;
}
