#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The whole test environment in one idempotent command (root, no internet):
#   - Podman's Docker-compatible API service (private config), a local registry
#     on 127.0.0.1 and the busybox test image        → tests/env/podman.sh
#   - a hermetic apt repository with tiny packages in two versions, and
#     PackageKit + D-Bus in a private mount namespace → tests/env/aptrepo.sh
#   - journald in a private mount namespace is per command: tests/env/journald.sh
#
# Usage:
#   tests/env/up.sh start DIR   bring everything up; prints the `export` lines to eval
#   tests/env/up.sh stop  DIR   stop everything it started (by recorded PIDs)
#
# Example:
#   eval "$(tests/env/up.sh start /tmp/sm-env)"
#   DOCKER_HOST=$DOCKER_HOST docker ps; APT_CONFIG=$APT_CONFIG apt-cache policy sm-test-hello
#   tests/env/up.sh stop /tmp/sm-env
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
mkdir -p "$dir/podman" "$dir/apt"
dir=$(cd "$dir" && pwd)

case "$cmd" in
start)
        bash "$here/podman.sh" start "$dir/podman"
        bash "$here/aptrepo.sh" start "$dir/apt" >&2
        bash "$here/aptrepo.sh" env "$dir/apt" | sed 's/^/export /'
        if [ -x /usr/libexec/packagekitd ]; then
                bash "$here/aptrepo.sh" pk-start "$dir/apt" | sed 's/^/export /'
        fi
        ;;
stop)
        bash "$here/aptrepo.sh" pk-stop "$dir/apt" >&2 2>/dev/null || true
        bash "$here/aptrepo.sh" stop "$dir/apt" >&2 || true
        bash "$here/podman.sh" stop "$dir/podman" >&2 || true
        ;;
*)
        echo "usage: $0 start|stop DIR" >&2
        exit 2
        ;;
esac
