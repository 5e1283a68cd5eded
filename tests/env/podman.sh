#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Test environment for the container tools: Podman's Docker-compatible API
# service with a private configuration, a local registry on 127.0.0.1 and a
# busybox test image built without internet access.
#
# Usage:
#   tests/env/podman.sh [start] STATE_DIR   bring up (idempotent), print `export` lines
#   tests/env/podman.sh stop STATE_DIR      stop what `start` started (by PID)
#
# `start` prints, on stdout, only:
#   export DOCKER_SOCKET=STATE_DIR/podman.sock
#   export DOCKER_HOST=unix://STATE_DIR/podman.sock
#   export SM_TEST_REGISTRY=127.0.0.1:PORT
#   export SM_TEST_IMAGE=127.0.0.1:PORT/testbox
# Progress and errors go to stderr. Exit status is non-zero when anything
# could not be brought up.
#
# What it sets up (see docs/containers.md and ../shared/TESTENV.md):
#   - Debian packages podman runc netavark docker-registry busybox-static curl, installed
#     with apt-get when missing (needs root);
#   - STATE_DIR/containers.conf (runc, cgroupfs, file events, ulimits, no
#     network by default), storage.conf (private graphroot, vfs driver),
#     registries.conf (the local registry is insecure=true);
#   - the registry (`docker-registry serve`) on 127.0.0.1:<free port>;
#   - images pushed to it: testbox:v1 (= latest), testbox:v2 (a different
#     image whose CMD prints "v2"), testbox:bad (CMD is a missing binary, so
#     containers from it fail to start);
#   - an internal network "smtest-net" without DNS (unique bridge name and
#     subnet, since bridges live in the host's network namespace);
#   - `podman system service --time=0` on STATE_DIR/podman.sock.
# Podman runs in a private mount namespace with its own /dev/shm (libpod's
# SHM locks are host-global otherwise, and two test runs would share them),
# its own /run/containers (netavark's state) and its own tmpfs for run
# state, so every start is a clean "boot".
set -euo pipefail

die() {
        echo "podman.sh: $*" >&2
        exit 1
}

log() {
        echo "podman.sh: $*" >&2
}

mode=start
if [ "${1:-}" = start ] || [ "${1:-}" = stop ]; then
        mode=$1
        shift
fi
[ $# -eq 1 ] || die "usage: $0 [start|stop] STATE_DIR"
mkdir -p "$1"
state=$(cd "$1" && pwd)
sock="$state/podman.sock"

pid_alive() {
        [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

# Kills the process recorded in a pid file (TERM, then KILL after 3 s).
kill_pidfile() {
        local f=$1 pid
        [ -f "$f" ] || return 0
        pid=$(cat "$f")
        if kill -0 "$pid" 2>/dev/null; then
                kill -TERM "$pid" 2>/dev/null || true
                for _ in $(seq 30); do
                        kill -0 "$pid" 2>/dev/null || break
                        sleep 0.1
                done
                kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$f"
}

podman_env() {
        export CONTAINERS_CONF="$state/containers.conf"
        export CONTAINERS_STORAGE_CONF="$state/storage.conf"
        export CONTAINERS_REGISTRIES_CONF="$state/registries.conf"
}

# Runs a shell snippet inside a private mount namespace with a fresh
# /dev/shm and a fresh $state/run tmpfs (podman's runroot and tmp_dir).
in_podman_ns() {
        podman_env
        # shellcheck disable=SC2016 # expanded by the inner sh
        unshare --mount --propagation private -- sh -c \
                'mount -t tmpfs -o mode=1777 tmpfs /dev/shm &&
                 mount -t tmpfs -o mode=0700 tmpfs "$0/run" &&
                 mkdir -p /run/containers && mount -t tmpfs -o mode=0700 tmpfs /run/containers &&
                 mkdir -p "$0/run/root" "$0/run/tmp" && eval "$1"' "$state" "$1"
}

if [ "$mode" = stop ]; then
        if pid_alive "$state/podman.pid"; then
                # Containers die with the service's namespace only if we stop them;
                # conmon would otherwise keep them running.
                nsenter -t "$(cat "$state/podman.pid")" -m -- env \
                        CONTAINERS_CONF="$state/containers.conf" \
                        CONTAINERS_STORAGE_CONF="$state/storage.conf" \
                        CONTAINERS_REGISTRIES_CONF="$state/registries.conf" \
                        podman rm -af -t 0 >/dev/null 2>&1 || true
        fi
        kill_pidfile "$state/podman.pid"
        kill_pidfile "$state/registry.pid"
        rm -f "$sock"
        exit 0
fi

# 1. Packages ------------------------------------------------------------------
missing=()
# netavark explicitly: without it containers-common may pull in CNI instead,
# and smtest-net below is a netavark definition.
for p in podman runc netavark docker-registry busybox-static curl; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
        [ "$(id -u)" = 0 ] || die "missing packages ${missing[*]} and not root"
        log "installing ${missing[*]}"
        # As measured in TESTENV.md: with recommends (catatonit, fuse-overlayfs...).
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 \
                "${missing[@]}" >&2; then
                # A fresh machine may have no package lists yet.
                DEBIAN_FRONTEND=noninteractive apt-get update -q -o DPkg::Lock::Timeout=300 >&2 || true
                DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 \
                        "${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
        fi
fi
[ "$(id -u)" = 0 ] || die "must run as root (podman's root mode, mount namespaces)"

# 2. Registry ----------------------------------------------------------------
port_free() {
        ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

if ! pid_alive "$state/registry.pid"; then
        port=""
        for _ in $(seq 50); do
                p=$((20000 + (RANDOM % 20000)))
                if port_free "$p"; then
                        port=$p
                        break
                fi
        done
        [ -n "$port" ] || die "no free port for the registry"
        mkdir -p "$state/registry"
        cat >"$state/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $state/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
EOF
        echo "$port" >"$state/registry.port"
        setsid docker-registry serve "$state/registry.yml" >"$state/registry.log" 2>&1 &
        echo $! >"$state/registry.pid"
        for _ in $(seq 100); do
                port_free "$port" || break
                pid_alive "$state/registry.pid" || die "registry exited: $(tail -3 "$state/registry.log")"
                sleep 0.05
        done
        port_free "$port" && die "registry did not listen on 127.0.0.1:$port"
fi
port=$(cat "$state/registry.port")
registry="127.0.0.1:$port"

# 3. Configuration -------------------------------------------------------------
mkdir -p "$state/run" "$state/storage" "$state/networks" "$state/volumes"
cat >"$state/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
netns = "none"
log_driver = "k8s-file"

[network]
network_backend = "netavark"
network_config_dir = "$state/networks"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$state/events.log"
tmp_dir = "$state/run/tmp"
volume_path = "$state/volumes"
EOF
cat >"$state/storage.conf" <<EOF
[storage]
driver = "vfs"
runroot = "$state/run/root"
graphroot = "$state/storage"
EOF
cat >"$state/registries.conf" <<EOF
unqualified-search-registries = []

[[registry]]
location = "$registry"
insecure = true
EOF

# 4. Images ------------------------------------------------------------------
if [ ! -f "$state/images.done" ] || [ "$(cat "$state/images.done")" != "$registry" ]; then
        bb=/bin/busybox
        [ -x "$bb" ] || die "$bb not found (busybox-static)"
        rootfs="$state/rootfs"
        rm -rf "$rootfs"
        mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev"
        cp "$bb" "$rootfs/bin/busybox"
        for t in sh sleep echo cat ls true false env date; do
                ln -sf busybox "$rootfs/bin/$t"
        done
        echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
        echo 'root:x:0:' >"$rootfs/etc/group"
        echo 1 >"$rootfs/etc/testbox-version"
        tar -C "$rootfs" -cf "$state/rootfs-v1.tar" .
        echo 2 >"$rootfs/etc/testbox-version"
        tar -C "$rootfs" -cf "$state/rootfs-v2.tar" .
        # Prints one line per second on stdout ("out N") and stderr ("err N");
        # exits 0 on SIGTERM right away (sleep & wait lets the trap run).
        # shellcheck disable=SC2016 # expanded in the container
        loop='trap "echo stopping; exit 0" TERM; i=0; while true; do echo "$0 out $i"; echo "$0 err $i" >&2; i=$((i+1)); sleep 1 & wait $!; done'
        cmd_v1="CMD [\"/bin/sh\", \"-c\", \"${loop//\"/\\\"}\", \"v1\"]"
        cmd_v2="CMD [\"/bin/sh\", \"-c\", \"${loop//\"/\\\"}\", \"v2\"]"
        log "building and pushing testbox images to $registry"
        export STATE="$state" REG="$registry" CMD_V1="$cmd_v1" CMD_V2="$cmd_v2"
        # shellcheck disable=SC2016
        in_podman_ns '
                set -e
                podman import --quiet --change "$CMD_V1" "$STATE/rootfs-v1.tar" localhost/testbox:v1 >/dev/null
                podman import --quiet --change "$CMD_V2" "$STATE/rootfs-v2.tar" localhost/testbox:v2 >/dev/null
                podman import --quiet --change "CMD [\"/no/such/binary\"]" "$STATE/rootfs-v1.tar" localhost/testbox:bad >/dev/null
                for t in v1 v2 bad; do
                        podman push --quiet --tls-verify=false localhost/testbox:$t "$REG/testbox:$t"
                done
                podman push --quiet --tls-verify=false localhost/testbox:v1 "$REG/testbox:latest"
                podman tag localhost/testbox:v1 localhost/testbox:latest
        ' >&2 2>"$state/images.log" || die "building the test images failed: $(tail -5 "$state/images.log")"
        # An internal network without DNS for network tests: no NAT rules, no
        # aardvark-dns. Its bridge lives in the host's network namespace, so
        # the interface name and subnet are unique per environment; podman
        # 4.3 has no flag for the interface name, so the netavark
        # definition is written directly.
        n=$(( $(cksum <<<"$state" | cut -d' ' -f1) % 60000 ))
        net="10.$((200 + n / 256 % 50)).$((n % 256))"
        cat >"$state/networks/smtest-net.json" <<EOF
{
  "name": "smtest-net",
  "id": "$(sha256sum <<<"$state" | cut -d' ' -f1)",
  "driver": "bridge",
  "network_interface": "smbr$n",
  "created": "2026-01-01T00:00:00Z",
  "subnets": [{"subnet": "$net.0/24", "gateway": "$net.1"}],
  "ipv6_enabled": false,
  "internal": true,
  "dns_enabled": false,
  "ipam_options": {"driver": "host-local"}
}
EOF
        echo "$registry" >"$state/images.done"
        rm -rf "$rootfs"
fi

# 5. API service ---------------------------------------------------------------
ping_ok() {
        curl -sf --max-time 1 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1
}

if ! pid_alive "$state/podman.pid" || ! ping_ok; then
        kill_pidfile "$state/podman.pid"
        rm -f "$sock"
        podman_env
        # --propagation private: the container mounts stay in the namespace.
        # shellcheck disable=SC2016 # expanded by the inner sh
        setsid unshare --mount --propagation private -- sh -c \
                'mount -t tmpfs -o mode=1777 tmpfs /dev/shm &&
                 mount -t tmpfs -o mode=0700 tmpfs "$0/run" &&
                 mkdir -p /run/containers && mount -t tmpfs -o mode=0700 tmpfs /run/containers &&
                 mkdir -p "$0/run/root" "$0/run/tmp" &&
                 exec podman system service --time=0 "unix://$0/podman.sock"' "$state" \
                >"$state/podman.log" 2>&1 &
        echo $! >"$state/podman.pid"
        for _ in $(seq 200); do
                ping_ok && break
                pid_alive "$state/podman.pid" || die "podman service exited: $(tail -5 "$state/podman.log")"
                sleep 0.05
        done
        ping_ok || die "podman service did not answer on $sock"
fi

echo "export DOCKER_SOCKET=$sock"
echo "export DOCKER_HOST=unix://$sock"
echo "export SM_TEST_REGISTRY=$registry"
echo "export SM_TEST_IMAGE=$registry/testbox"
