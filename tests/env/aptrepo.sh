#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A hermetic apt repository for the package tool tests: a few tiny .deb
# packages built with dpkg-deb, indexed with dpkg-scanpackages and
# apt-ftparchive, served by busybox httpd on 127.0.0.1, and an APT_CONFIG file
# that points apt at that repository ONLY (sources, lists, caches, config
# parts and preferences all live in the state directory). No internet.
#
# Usage:
#   tests/env/aptrepo.sh start   DIR [PORT]  build version 1.0, serve it, write DIR/apt.conf
#   tests/env/aptrepo.sh publish DIR VERSION publish VERSION (e.g. 1.1) of every test package
#   tests/env/aptrepo.sh stop    DIR         stop the web server (by its recorded PID)
#   tests/env/aptrepo.sh env     DIR         print APT_CONFIG=... for eval
#   tests/env/aptrepo.sh pk-start DIR        PackageKit on the repository (after start); prints
#                                            DBUS_SYSTEM_BUS_ADDRESS=... for clients
#   tests/env/aptrepo.sh pk-stop  DIR        stop it (by the recorded PID of its session)
#
# PackageKit runs in a private mount namespace (unshare --mount) where
# /etc/apt (a copy whose only source is the test repository), the apt lists
# and caches, PackageKit's state and /run/dbus are private: its own
# dbus-daemon, polkitd and packagekitd serve there, and clients outside use
# the bus socket DIR/pk/run-dbus/system_bus_socket.
#
# Packages (Architecture: all):
#   sm-test-hello  /usr/bin/sm-test-hello (a shell script)          suite smtest
#   sm-test-lib    /usr/lib/sm-test/libsmtest.so.1 (a fake library); its
#                  postinst asks for a reboot like libc6 does         suite smtest
#   sm-test-sec    /usr/share/sm-test/sec.txt                        suite smtest-security
#   sm-test-conflict  (1.0 only) Conflicts: sm-test-hello, so installing it
#                  would remove sm-test-hello                        suite smtest
#
# Idempotent: "start" on a running repository only (re)writes the config.
# Installs dpkg-dev, apt-utils and busybox-static with apt-get when missing
# (needs root then). Nothing here touches /etc/apt; the packages, once
# installed by a test, are in the real dpkg database: remove them with
#   dpkg --purge sm-test-hello sm-test-lib sm-test-sec sm-test-conflict
set -euo pipefail

PKGS=(sm-test-hello sm-test-lib sm-test-sec)

die() {
        echo "aptrepo: $*" >&2
        exit 1
}

need_tools() {
        local missing=()
        command -v dpkg-deb >/dev/null || missing+=(dpkg)
        command -v dpkg-scanpackages >/dev/null || missing+=(dpkg-dev)
        command -v apt-ftparchive >/dev/null || missing+=(apt-utils)
        command -v busybox >/dev/null || missing+=(busybox-static)
        if [ "${#missing[@]}" -gt 0 ]; then
                [ "$(id -u)" -eq 0 ] || die "missing packages: ${missing[*]} (run as root or install them)"
                echo "aptrepo: apt-get install ${missing[*]}" >&2
                DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
                        "${missing[@]}" >/dev/null
        fi
}

# build_deb DIR NAME VERSION SUITE
build_deb() {
        local dir=$1 name=$2 ver=$3 suite=$4 root
        root=$(mktemp -d "$dir/build.XXXXXX")
        mkdir -p "$root/DEBIAN"
        case "$name" in
        sm-test-hello)
                mkdir -p "$root/usr/bin"
                printf '#!/bin/sh\necho "sm-test-hello %s"\n' "$ver" >"$root/usr/bin/sm-test-hello"
                chmod 0755 "$root/usr/bin/sm-test-hello"
                ;;
        sm-test-lib)
                mkdir -p "$root/usr/lib/sm-test"
                # A fake shared library: any file a process maps will do.
                head -c 8192 /dev/zero >"$root/usr/lib/sm-test/libsmtest.so.1"
                printf 'sm-test-lib %s\n' "$ver" >>"$root/usr/lib/sm-test/libsmtest.so.1"
                cat >"$root/DEBIAN/postinst" <<'EOF'
#!/bin/sh
# Like libc6: an upgraded library asks for a reboot.
set -e
if [ "$1" = configure ] && [ -n "$2" ]; then
        touch /var/run/reboot-required
        grep -qx sm-test-lib /var/run/reboot-required.pkgs 2>/dev/null ||
                echo sm-test-lib >>/var/run/reboot-required.pkgs
fi
exit 0
EOF
                chmod 0755 "$root/DEBIAN/postinst"
                ;;
        sm-test-sec)
                mkdir -p "$root/usr/share/sm-test"
                printf 'sm-test-sec %s\n' "$ver" >"$root/usr/share/sm-test/sec.txt"
                ;;
        sm-test-conflict)
                mkdir -p "$root/usr/share/sm-test"
                printf 'sm-test-conflict %s\n' "$ver" >"$root/usr/share/sm-test/conflict.txt"
                ;;
        esac
        cat >"$root/DEBIAN/control" <<EOF
Package: $name
Version: $ver
Architecture: all
Maintainer: systemmanager tests <root@localhost>
Section: misc
Priority: optional
Description: systemmanager test package ($suite)
 A tiny package from the hermetic test repository. Safe to purge.
EOF
        if [ "$name" = sm-test-conflict ]; then
                echo "Conflicts: sm-test-hello" >>"$root/DEBIAN/control"
        fi
        mkdir -p "$dir/www/$suite"
        dpkg-deb --root-owner-group -Zgzip --build "$root" "$dir/www/$suite/${name}_${ver}_all.deb" >/dev/null
        rm -rf "$root"
}

# index DIR SUITE LABEL: a flat repository with Packages and a Release.
index() {
        local dir=$1 suite=$2 label=$3
        (
                cd "$dir/www/$suite"
                dpkg-scanpackages --multiversion . /dev/null 2>/dev/null >Packages
                gzip -9nc Packages >Packages.gz
                apt-ftparchive \
                        -o APT::FTPArchive::Release::Origin=SMTest \
                        -o APT::FTPArchive::Release::Label="$label" \
                        -o APT::FTPArchive::Release::Suite="$suite" \
                        -o APT::FTPArchive::Release::Codename="$suite" \
                        -o APT::FTPArchive::Release::Version=1.0 \
                        -o APT::FTPArchive::Release::Architectures=all \
                        release . >Release.new
                mv Release.new Release
        )
}

publish() {
        local dir=$1 ver=$2
        for p in "${PKGS[@]}"; do
                if [ "$p" = sm-test-sec ]; then
                        # 1.0 comes from the normal suite, later versions are security fixes.
                        if [ "$ver" = 1.0 ]; then
                                build_deb "$dir" "$p" "$ver" smtest
                        else
                                build_deb "$dir" "$p" "$ver" smtest-security
                        fi
                else
                        build_deb "$dir" "$p" "$ver" smtest
                fi
        done
        if [ "$ver" = 1.0 ]; then
                build_deb "$dir" sm-test-conflict 1.0 smtest
        fi
        mkdir -p "$dir/www/smtest" "$dir/www/smtest-security"
        index "$dir" smtest SMTest
        index "$dir" smtest-security SMTest-Security
}

write_config() {
        local dir=$1 port=$2
        mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/sources.list.d" \
                "$dir/apt.conf.d" "$dir/preferences.d"
        cat >"$dir/sources.list" <<EOF
deb [trusted=yes] http://127.0.0.1:$port/smtest ./
deb [trusted=yes] http://127.0.0.1:$port/smtest-security ./
EOF
        : >"$dir/preferences"
        : >"$dir/apt.conf.main"
        # Everything apt reads or writes besides the dpkg database is ours;
        # in particular no system source list can be read (the tests check
        # that with apt-config dump and the simulated upgrade).
        cat >"$dir/apt.conf.new" <<EOF
Dir::Etc::sourcelist "$dir/sources.list";
Dir::Etc::sourceparts "$dir/sources.list.d";
Dir::Etc::parts "$dir/apt.conf.d";
Dir::Etc::main "$dir/apt.conf.main";
Dir::Etc::preferences "$dir/preferences";
Dir::Etc::preferencesparts "$dir/preferences.d";
Dir::State::lists "$dir/lists";
Dir::Cache "$dir/cache";
Dir::Cache::archives "$dir/cache/archives";
Dir::Cache::pkgcache "$dir/cache/pkgcache.bin";
Dir::Cache::srcpkgcache "$dir/cache/srcpkgcache.bin";
Acquire::Languages "none";
Acquire::http::Proxy "DIRECT";
Acquire::http::Timeout "5";
Acquire::Retries "0";
APT::Install-Recommends "false";
APT::Get::List-Cleanup "true";
APT::Sandbox::User "root";
EOF
        mv "$dir/apt.conf.new" "$dir/apt.conf"
}

server_running() {
        local dir=$1 pid
        [ -f "$dir/httpd.pid" ] || return 1
        pid=$(cat "$dir/httpd.pid")
        [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
                tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "busybox httpd"
}

start() {
        local dir=$1 port=${2:-} pid
        need_tools
        mkdir -p "$dir"
        dir=$(cd "$dir" && pwd)
        if server_running "$dir"; then
                port=$(cat "$dir/port")
        else
                [ -f "$dir/www/smtest/Release" ] || publish "$dir" 1.0
                if [ -z "$port" ]; then
                        port=$(( 20000 + (RANDOM % 20000) ))
                fi
                for _ in 1 2 3 4 5 6 7 8 9 10; do
                        # -f: foreground, so we keep its PID and stop exactly that
                        # process; setsid and /dev/null so that it outlives a
                        # caller that kills its process group or waits for EOF.
                        setsid busybox httpd -f -p "127.0.0.1:$port" -h "$dir/www" \
                                </dev/null >/dev/null 2>&1 &
                        pid=$!
                        sleep 0.1
                        if kill -0 "$pid" 2>/dev/null; then
                                break
                        fi
                        pid=
                        port=$(( 20000 + (RANDOM % 20000) ))
                done
                [ -n "$pid" ] || die "cannot start busybox httpd"
                echo "$pid" >"$dir/httpd.pid"
                echo "$port" >"$dir/port"
        fi
        write_config "$dir" "$port"
        echo "APT_CONFIG=$dir/apt.conf"
}

stop() {
        local dir=$1 pid
        if server_running "$dir"; then
                pid=$(cat "$dir/httpd.pid")
                kill "$pid" 2>/dev/null || true
                for _ in 1 2 3 4 5 6 7 8 9 10; do
                        kill -0 "$pid" 2>/dev/null || break
                        sleep 0.05
                done
        fi
        rm -f "$dir/httpd.pid"
}

pk_running() {
        local dir=$1 pid
        [ -f "$dir/pk/session.pid" ] || return 1
        pid=$(cat "$dir/pk/session.pid")
        [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

pk_start() {
        local dir=$1 pk sock
        dir=$(cd "$dir" && pwd)
        pk=$dir/pk
        sock=$pk/run-dbus/system_bus_socket
        [ -f "$dir/apt.conf" ] || die "run '$0 start $dir' first"
        for b in /usr/libexec/packagekitd /usr/lib/polkit-1/polkitd /usr/bin/dbus-daemon; do
                [ -x "$b" ] || die "missing $b (apt-get install packagekit polkitd dbus)"
        done
        if ! pk_running "$dir"; then
                rm -rf "$pk"
                mkdir -p "$pk/run-dbus" "$pk/cache-apt/archives/partial" "$pk/state" "$pk/cache-pk"
                cp -a /etc/apt "$pk/etc-apt"
                rm -rf "$pk/etc-apt/sources.list.d" "$pk/etc-apt/sources.list"
                mkdir -p "$pk/etc-apt/sources.list.d"
                cp "$dir/sources.list" "$pk/etc-apt/sources.list"
                printf 'APT::Sandbox::User "root";\nAcquire::Languages "none";\n' \
                        >"$pk/etc-apt/apt.conf.d/99sm-test"
                # The system bus configuration without user switch, fork,
                # pid file and activation helper; include dirs made absolute.
                sed -e '/<user>/d' -e '/<fork\/>/d' -e '/<pidfile>/d' -e '/<servicehelper>/d' \
                        -e 's|<includedir>system.d</includedir>|<includedir>/usr/share/dbus-1/system.d</includedir>|' \
                        /usr/share/dbus-1/system.conf >"$pk/system.conf"
                cat >"$pk/inside.sh" <<EOF
set -e
mount --bind "$pk/etc-apt" /etc/apt
mount --bind "$dir/lists" /var/lib/apt/lists
mount --bind "$pk/cache-apt" /var/cache/apt
mkdir -p /var/lib/PackageKit /var/cache/PackageKit
mount --bind "$pk/state" /var/lib/PackageKit
mount --bind "$pk/cache-pk" /var/cache/PackageKit
mount --bind "$pk/run-dbus" /run/dbus
dbus-daemon --config-file="$pk/system.conf" --nofork --nopidfile --nosyslog &
for i in \$(seq 50); do [ -S /run/dbus/system_bus_socket ] && break; sleep 0.05; done
/usr/lib/polkit-1/polkitd --no-debug &
/usr/libexec/packagekitd &
wait
EOF
                setsid unshare --mount --propagation private bash "$pk/inside.sh" \
                        </dev/null >"$pk/log" 2>&1 &
                echo $! >"$pk/session.pid"
        fi
        for _ in $(seq 100); do
                if [ -S "$sock" ] && DBUS_SYSTEM_BUS_ADDRESS="unix:path=$sock" busctl --system status \
                        org.freedesktop.PackageKit >/dev/null 2>&1; then
                        echo "DBUS_SYSTEM_BUS_ADDRESS=unix:path=$sock"
                        return 0
                fi
                sleep 0.1
        done
        cat "$pk/log" >&2 || true
        die "PackageKit did not come up"
}

pk_stop() {
        local dir=$1 pid
        if pk_running "$dir"; then
                pid=$(cat "$dir/pk/session.pid")
                # The session's process group: unshare's bash, dbus-daemon,
                # polkitd, packagekitd.
                kill -TERM -- "-$pid" 2>/dev/null || true
                for _ in $(seq 20); do
                        kill -0 "$pid" 2>/dev/null || break
                        sleep 0.1
                done
                kill -KILL -- "-$pid" 2>/dev/null || true
        fi
        rm -f "$dir/pk/session.pid"
}

cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
        die "usage: $0 start|publish|stop|env|pk-start|pk-stop DIR [PORT|VERSION]"
fi

case "$cmd" in
start) start "$dir" "${3:-}" ;;
publish)
        [ -n "${3:-}" ] || die "usage: $0 publish DIR VERSION"
        [[ "$3" =~ ^[0-9][0-9a-z.+~]*$ ]] || die "bad version: $3"
        need_tools
        dir=$(cd "$dir" && pwd)
        publish "$dir" "$3"
        ;;
stop) pk_stop "$dir"; stop "$dir" ;;
env) echo "APT_CONFIG=$(cd "$dir" && pwd)/apt.conf" ;;
pk-start) pk_start "$dir" ;;
pk-stop) pk_stop "$dir" ;;
*) die "unknown command: $cmd" ;;
esac
