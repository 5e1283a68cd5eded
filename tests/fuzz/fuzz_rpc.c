/* SPDX-License-Identifier: MIT */
/* libFuzzer: JSON-RPC framing (depth scan + strict parse + error building). */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "server/rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        json_t *err = NULL;
        RpcMessage m = {};

        if (rpc_parse((const char *) data, size, 64, &m, &err) == 0) {
                size_t len;
                char *s = rpc_dump(m.root, &len);
                free(s);
                rpc_message_done(&m);
        }
        json_decref(err);
        return 0;
}
