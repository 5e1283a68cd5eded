/* SPDX-License-Identifier: MIT */

/* libFuzzer harness for the YAML configuration loader (server/config.c).
 *
 * Build:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. \
 *         tests/fuzz/fuzz_config.c server/config.c \
 *         $(pkg-config --cflags --libs yaml-0.1 libcrypto jansson) -o fuzz_config
 * Run:
 *   ./fuzz_config -max_total_time=60 tests/fuzz/corpus/config
 *
 * Each input is written to a memfd and loaded by path, like a real file;
 * error messages go to a memory stream so their formatting is exercised.
 * On success the environment overrides and cross checks run as well. The
 * same input, split into lines, is then tried as an environment block. */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Lines of the input as environ entries ("NAME=value"). */
static void fuzz_env(const uint8_t *data, size_t size) {
        char *copy, *envp[65], *line;
        size_t n = 0;
        Config c;
        int r;

        if (size > 4096)
                return;
        copy = malloc(size + 1);
        if (!copy)
                abort();
        memcpy(copy, data, size);
        copy[size] = 0;
        for (line = copy; line && n < 64;) {
                char *nl = strchr(line, '\n');

                if (nl)
                        *nl = 0;
                envp[n++] = line;
                line = nl ? nl + 1 : NULL;
        }
        envp[n] = NULL;

        if (config_init_defaults(&c) < 0)
                abort();
        r = config_apply_env(&c, envp, NULL);
        if (r == 0)
                (void) config_finalize(&c, NULL);
        else if (r != -EINVAL)
                abort();
        config_done(&c);
        free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char path[64], *out = NULL;
        size_t out_size = 0;
        Config c;
        FILE *errors;
        int fd, r;

        fd = memfd_create("fuzz-config", MFD_CLOEXEC);
        if (fd < 0)
                abort();
        /* Mode 0600 so the "writable by others" check does not hide the rest. */
        if (fchmod(fd, 0600) < 0)
                abort();
        for (size_t n = 0; n < size;) {
                ssize_t k = write(fd, data + n, size - n);

                if (k <= 0)
                        abort();
                n += (size_t) k;
        }
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);

        errors = open_memstream(&out, &out_size);
        if (!errors)
                abort();

        if (config_init_defaults(&c) < 0)
                abort();
        r = config_load_file(&c, path, errors);
        if (r == 0) {
                char *envp[] = { (char *) "SYSTEMMANAGER_SERVER_PORT=8081", NULL };

                if (config_apply_env(&c, envp, errors) < 0)
                        abort();
                (void) config_finalize(&c, errors);
        } else if (r != -EINVAL && r != -ENOMEM)
                abort();
        config_done(&c);

        fclose(errors);
        /* Every message is one "PATH:LINE: ..." or "PATH: ..." line. */
        if (r == -EINVAL && (out_size == 0 || out[out_size - 1] != '\n'))
                abort();
        free(out);
        close(fd);

        fuzz_env(data, size);
        return 0;
}
