#!/usr/bin/env bash
# Runs COMMAND... inside a private mount namespace with its own systemd-journald
# (private /run/systemd, /run/log, /var/log/journal), so sd_journal_send() from
# COMMAND reaches it. Afterwards the journal is readable with
#   journalctl -D "$JOURNAL_DIR" -o json
# Usage: tests/env/journald.sh JOURNAL_DIR COMMAND [ARGS...]   (root; PID 1 need not be systemd)
set -euo pipefail
[ "$#" -ge 2 ] || { echo "usage: $0 JOURNAL_DIR COMMAND..." >&2; exit 2; }
dir=$(realpath "$1")
shift
mkdir -p "$dir"
[ -x /lib/systemd/systemd-journald ] || { echo "$0: /lib/systemd/systemd-journald missing (package systemd)" >&2; exit 1; }
[ -s /etc/machine-id ] || systemd-machine-id-setup >/dev/null 2>&1 || true

exec unshare --mount --propagation private -- bash -c '
set -euo pipefail
dir=$1; shift
for d in /run/systemd /run/log; do mkdir -p "$d"; mount -t tmpfs tmpfs "$d"; done
mkdir -p /var/log/journal /run/systemd/journal
mount --bind "$dir" /var/log/journal
/lib/systemd/systemd-journald </dev/null >/dev/null 2>&1 &
jpid=$!
for _ in $(seq 100); do [ -S /run/systemd/journal/socket ] && break; sleep 0.05; done
[ -S /run/systemd/journal/socket ] || { echo "journald did not start" >&2; kill $jpid; exit 1; }
set +e
"$@"
rc=$?
set -e
journalctl --flush >/dev/null 2>&1 || true
kill $jpid 2>/dev/null; wait $jpid 2>/dev/null || true
exit $rc
' bash "$dir" "$@"
