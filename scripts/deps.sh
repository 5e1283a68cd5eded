#!/usr/bin/env bash
# Installs the Debian packages a purpose needs, only those that are missing.
# Usage: scripts/deps.sh build|test
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config libwebsockets-dev libjansson-dev libssl-dev libyaml-dev
            libseccomp-dev libsystemd-dev libsqlite3-dev libcurl4-openssl-dev)
test_pkgs=(libcmocka-dev curl jq ca-certificates iputils-ping traceroute dpkg-dev apt-utils busybox-static
           packagekit polkitd dbus bash-completion prometheus)
# Podman as TESTENV measured it: with recommends (catatonit, fuse-overlayfs...);
# netavark named explicitly or apt may pick the CNI backend.
test_pkgs_with_recommends=(podman runc netavark docker-registry)

with_recommends=()
case "${1:-build}" in
build) want=("${build_pkgs[@]}") ;;
test) want=("${build_pkgs[@]}" "${test_pkgs[@]}"); with_recommends=("${test_pkgs_with_recommends[@]}") ;;
*) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

# node and npm fetch the pinned Node 22 and MCP clients for the tests.
if [ "${1:-build}" = test ] && ! command -v npm >/dev/null 2>&1; then
        want+=(nodejs npm)
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=()
for p in "${want[@]}"; do
        installed "$p" || missing+=("$p")
done
missing_rec=()
for p in "${with_recommends[@]}"; do
        installed "$p" || missing_rec+=("$p")
done
if [ "${#missing_rec[@]}" -gt 0 ]; then
        if [ "$(id -u)" -ne 0 ]; then
                echo "Missing packages: ${missing_rec[*]} — run as root or: sudo apt-get install ${missing_rec[*]}" >&2
                exit 1
        fi
fi

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
if [ "${#missing_rec[@]}" -gt 0 ]; then
        echo ">> apt-get install ${missing_rec[*]}"
        export DEBIAN_FRONTEND=noninteractive
        [ "${#missing[@]}" -gt 0 ] || apt-get update -q >/dev/null
        apt-get install -y -q "${missing_rec[@]}" >/dev/null
fi
