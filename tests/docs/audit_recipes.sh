#!/usr/bin/env bash
# Runs every jq recipe of docs/audit.md against a log made by the real daemon
# and checks each recipe's output. Usage: audit_recipes.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
port=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768-)
export SYSTEMMANAGER_SHARED_SECRET=$secret SYSTEMMANAGER_STATE_DIR=$work SYSTEMMANAGER_AUDIT_LOG=$work/audit.log
export SYSTEMMANAGER_SERVER_PORT=$port SYSTEMMANAGER_SERVER_HOST=127.0.0.1
"$build/systemmanager-mcp" 2>"$work/daemon.log" &
pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

mint() { "$build/systemmanagerctl" token mint "$@" 2>/dev/null; }
ro=$(mint --agent grafana-datasource --scopes readonly --ttl 1h)
net=$(mint --agent netmon --scopes network:read --ttl 1h)
bg=$(mint --agent ops-emergency-alice --scopes admin --ttl 1h --reason "INC-1: disk full")
call() { # token tool args
        curl -s "http://127.0.0.1:$port/mcp" -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
                -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"$2\",\"arguments\":$3}}" >/dev/null
}
call "$ro" get_system_status '{}'
call "$ro" get_top_processes '{"limit":3}'
call "$ro" get_top_processes '{"limit":0}'
call "$net" get_system_status '{}'
call "$bg" get_system_status '{}'
call "$bg" http_request_test "{\"url\":\"http://127.0.0.1:$port/healthz\"}"
call "${ro%??}zz" get_system_status '{}'
call "not-a-token" get_system_status '{}'
curl -s "http://127.0.0.1:$port/mcp" -H 'Content-Type: application/json' -d '{}' >/dev/null

# docs/metrics.md lists exactly the metrics /metrics serves.
served=$(curl -s "http://127.0.0.1:$port/metrics" -H "Authorization: Bearer $ro" | awk '/^systemmanager_/ {sub(/[{ ].*/, ""); print}' | sort -u)
documented=$(grep -o '^| `systemmanager_[a-z_]*' "$src/docs/metrics.md" | sed 's/^| `//' | sort -u)
if [ -z "$served" ] || [ "$served" != "$documented" ]; then
        echo "FAIL metrics: served and documented differ:"; diff <(echo "$served") <(echo "$documented") || true
        metrics_failed=1
fi
# Every metric the Grafana dashboard queries is served.
for m in $(grep -o 'systemmanager_[a-z_]*' "$src/docs/grafana-dashboard.json" | sort -u); do
        if ! grep -qx "$m" <<<"$served"; then
                echo "FAIL grafana-dashboard.json queries $m, which /metrics does not serve"
                metrics_failed=1
        fi
done
# The calls above show up with their labels.
all=$(curl -s "http://127.0.0.1:$port/metrics" -H "Authorization: Bearer $ro")
for want in 'systemmanager_auth_failures_total{reason="auth.invalid_token"} [1-9]' \
            'systemmanager_tool_calls_total{tool="get_system_status",outcome="success"} [1-9]' \
            'systemmanager_tool_calls_total{tool="get_top_processes",outcome="invalid_arguments"} [1-9]' \
            'systemmanager_tool_calls_total{tool="get_system_status",outcome="denied"} [1-9]' \
            'systemmanager_tool_call_duration_seconds_count [1-9]' 'process_resident_memory_bytes [1-9]'; do
        if ! grep -Eq "^$(sed 's/[{}]/\\&/g' <<<"$want")" <<<"$all"; then
                echo "FAIL /metrics has no line matching: $want"
                metrics_failed=1
        fi
done

# The exposition format is valid for Prometheus' own linter.
if command -v promtool >/dev/null; then
        curl -s "http://127.0.0.1:$port/metrics" -H "Authorization: Bearer $ro" >"$work/metrics.txt"
        if ! promtool check metrics <"$work/metrics.txt" >"$work/promtool.out" 2>&1; then
                echo "FAIL promtool check metrics:"; cat "$work/promtool.out"
                metrics_failed=1
        else
                echo "ok promtool check metrics ($(grep -c '^systemmanager_' "$work/metrics.txt") samples)"
        fi
else
        echo "FAIL promtool not installed (scripts/deps.sh test installs the prometheus package)"
        metrics_failed=1
fi
kill "$pid"
wait "$pid" || true
pid=

cd "$work"
recipe() { # name → the command of that recipe in docs/audit.md
        awk -v n="<!-- recipe: $1 -->" '$0 == n {f = 1; next} f && /^```sh$/ {g = 1; next} g && /^```$/ {exit} g {print}' \
                "$src/docs/audit.md"
}
failed=0
check() { # name, grep -E pattern the output must match
        local cmd out
        cmd=$(recipe "$1")
        if [ -z "$cmd" ]; then echo "FAIL $1: recipe not found in docs/audit.md"; failed=1; return; fi
        out=$(bash -c "$cmd")
        if printf '%s\n' "$out" | grep -Eq "$2"; then
                echo "ok   $1"
        else
                echo "FAIL $1: output does not match /$2/:"; printf '%s\n' "$out"; failed=1
        fi
}
check failed-auth-by-ip '^ +3 127\.0\.0\.1$'
check failed-auth-reasons '^ +2 auth\.invalid_token$'
check denials '"subject":"netmon","tool":"get_system_status","error":"auth.insufficient_scope"'
check denials "\"subject\":\"grafana-datasource\",\"tool\":\"get_top_processes\",\"error\":\"argument 'limit'"
check risky-by-subject '^ +1 ops-emergency-alice http_request_test allowed$'
check break-glass '"subject":"ops-emergency-alice","tool":"get_system_status","decision":"allowed"'
check results-by-tool '^ +2 get_system_status success$'
check slowest '^\[\{"tool":"get_'
check join '"decision":"allowed","result":"success"'
"$build/systemmanagerctl" audit verify audit.log --key audit-initial.key >/dev/null || { echo "FAIL audit verify"; failed=1; }
[ -n "${metrics_failed:-}" ] && failed=1
[ "$failed" -eq 0 ] && echo "all audit recipes passed; docs/metrics.md matches /metrics"
exit "$failed"
