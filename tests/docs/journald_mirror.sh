#!/usr/bin/env bash
# audit.journald: every audit line also reaches journald with structured fields.
# The daemon runs next to a private journald (tests/env/journald.sh).
set -euo pipefail
build=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 20000))
secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')

cat >"$work/run.sh" <<EOS
set -euo pipefail
export SYSTEMMANAGER_SHARED_SECRET=$secret SYSTEMMANAGER_STATE_DIR=$work/state SYSTEMMANAGER_SERVER_PORT=$port
export SYSTEMMANAGER_AUDIT_JOURNALD=true
mkdir -p $work/state
"$build/systemmanager-mcp" 2>$work/daemon.log &
pid=\$!
for _ in \$(seq 50); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done
tok=\$("$build/systemmanagerctl" token mint --agent journal-tester --scopes readonly --ttl 10m 2>/dev/null)
curl -s http://127.0.0.1:$port/mcp -H "Authorization: Bearer \$tok" -H 'Content-Type: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_system_status","arguments":{}}}' >/dev/null
kill \$pid; wait \$pid || true
EOS
bash "$src/tests/env/journald.sh" "$work/journal" bash "$work/run.sh"

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
