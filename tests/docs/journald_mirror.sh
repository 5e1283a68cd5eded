#!/usr/bin/env bash
# audit.journald: every audit line also reaches journald with structured fields.
# The daemon runs next to a private journald (tests/env/journald.sh).
set -euo pipefail
build=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')

# A random port may be taken by another test's daemon: up to three tries.
for attempt in 1 2 3; do
port=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768-)
rm -rf "$work/state" "$work/journal"
cat >"$work/run.sh" <<EOS
set -euo pipefail
export SYSTEMMANAGER_SHARED_SECRET=$secret SYSTEMMANAGER_STATE_DIR=$work/state SYSTEMMANAGER_SERVER_PORT=$port
export SYSTEMMANAGER_AUDIT_JOURNALD=true
mkdir -p $work/state
"$build/systemmanager-mcp" 2>$work/daemon.log &
pid=\$!
up=0
for _ in \$(seq 100); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && { up=1; break; }; sleep 0.1; done
if [ \$up = 0 ]; then kill \$pid 2>/dev/null || true; exit 75; fi
tok=\$("$build/systemmanagerctl" token mint --agent journal-tester --scopes readonly --ttl 10m 2>/dev/null)
curl -sS http://127.0.0.1:$port/mcp -H "Authorization: Bearer \$tok" -H 'Content-Type: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_system_status","arguments":{}}}' >/dev/null
kill \$pid; wait \$pid || true
EOS
rc=0
bash "$src/tests/env/journald.sh" "$work/journal" bash "$work/run.sh" || rc=$?
[ "$rc" = 0 ] && break
if [ "$rc" != 75 ] || [ "$attempt" = 3 ]; then
        echo "FAIL: the daemon run next to journald failed (exit $rc); daemon log:"; cat "$work/daemon.log" 2>/dev/null
        exit 1
fi
echo "port $port: daemon did not come up (taken?); retrying"
done

out=$(journalctl -D "$work/journal" -o json SYSLOG_IDENTIFIER=systemmanager-audit 2>/dev/null)
echo "$out" | jq -e -s 'map(select(.SYSTEMMANAGER_EVENT == "tool.call" and .SYSTEMMANAGER_SUBJECT == "journal-tester"
        and .SYSTEMMANAGER_TOOL == "get_system_status" and .SYSTEMMANAGER_DECISION == "allowed")) | length == 1' >/dev/null ||
        { echo "FAIL: no structured tool.call record in the journal:"; echo "$out" | head -c 2000; exit 1; }
echo "$out" | jq -e -s 'map(select(.SYSTEMMANAGER_EVENT == "tool.result")) | length == 1' >/dev/null ||
        { echo "FAIL: no tool.result record in the journal"; exit 1; }
# The journal carries the very line the file has.
line=$(grep '"event":"tool.call"' "$work/state/audit.log")
echo "$out" | jq -e -s --arg l "$line" 'map(select(.SYSTEMMANAGER_AUDIT == $l)) | length == 1' >/dev/null ||
        { echo "FAIL: the journal's SYSTEMMANAGER_AUDIT differs from the file's line"; exit 1; }
echo "journald mirror: structured records match the audit file"
