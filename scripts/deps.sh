#!/usr/bin/env bash
# Installs the Debian packages a purpose needs, only those that are missing.
# Usage: scripts/deps.sh build|test
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config libwebsockets-dev libjansson-dev libssl-dev libyaml-dev
            libseccomp-dev libsystemd-dev libsqlite3-dev libcurl4-openssl-dev)
test_pkgs=(libcmocka-dev curl jq ca-certificates iputils-ping traceroute dpkg-dev apt-utils busybox-static
           packagekit polkitd dbus)

case "${1:-build}" in
build) want=("${build_pkgs[@]}") ;;
test) want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
*) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

# node and npm fetch the pinned Node 22 and MCP clients for the tests.
if [ "${1:-build}" = test ] && ! command -v npm >/dev/null 2>&1; then
        want+=(nodejs npm)
fi

missing=()
for p in "${want[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
                missing+=("$p")
        fi
done

if [ "${#missing[@]}" -gt 0 ]; then
        if [ "$(id -u)" -ne 0 ]; then
                echo "Missing packages: ${missing[*]} — run as root or: sudo apt-get install ${missing[*]}" >&2
                exit 1
        fi
        echo ">> apt-get install ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q >/dev/null
        apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
