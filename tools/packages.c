/* SPDX-License-Identifier: MIT */
/* The packages tool family. Rows are added as each tool lands. */

#include "tools/tool.h"

const Tool tools_packages[] = {
        {}
};
