/* SPDX-License-Identifier: MIT */
/* The containers tool family. Rows are added as each tool lands. */

#include "tools/tool.h"

const Tool tools_containers[] = {
        {}
};
