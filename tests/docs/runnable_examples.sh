#!/usr/bin/env bash
# Runs every shell example marked <!-- runnable --> in docs/quickstart.md and
# docs/tokens.md against a test daemon: each block must exit 0 (curl fails on
# HTTP errors here). The daemon's address replaces 127.0.0.1:8080, and the
# blocks find $TOKEN (readonly), $ADMIN, systemmanagerctl and var/ as in --dev.
set -uo pipefail
build=$1
src=$2
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

port=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768-)
mkdir -p "$work/var" "$work/bin"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/var/secret"
chmod 600 "$work/var/secret"
ln -s "$build/systemmanagerctl" "$work/bin/systemmanagerctl"
export SYSTEMMANAGER_SHARED_SECRET=$(cat "$work/var/secret") SYSTEMMANAGER_STATE_DIR=$work/var
export SYSTEMMANAGER_AUDIT_LOG=$work/var/audit.log SYSTEMMANAGER_SERVER_PORT=$port SYSTEMMANAGER_SERVER_HOST=127.0.0.1
"$build/systemmanager-mcp" 2>"$work/daemon.log" &
pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

failed=0
n=0
for doc in docs/quickstart.md docs/tokens.md; do
        # Each runnable block, NUL-separated.
        while IFS= read -r -d '' block; do
                n=$((n + 1))
                block=${block//127.0.0.1:8080/127.0.0.1:$port}
                block=${block//build\/systemmanagerctl/systemmanagerctl}
                out=$(cd "$work" && PATH="$work/bin:$PATH" \
                        TOKEN=$("$build/systemmanagerctl" token mint --agent docs-reader --scopes readonly --ttl 10m 2>/dev/null) \
                        ADMIN=$("$build/systemmanagerctl" token mint --agent docs-admin --scopes admin --ttl 10m 2>/dev/null) \
                        bash -c 'set -e -o pipefail; curl() { command curl --fail-with-body "$@"; }; '"$block" 2>&1)
                rc=$?
                if [ $rc -eq 0 ]; then
                        echo "ok   $doc example $n"
                else
                        echo "FAIL $doc example $n (exit $rc):"; printf '%s\n' "$block" | sed 's/^/    | /'
                        printf '%s\n' "$out" | tail -5 | sed 's/^/    > /'
                        failed=1
                fi
        done < <(awk '/^<!-- runnable -->$/ {r = 1; next}
                      r == 1 && /^```sh$/ {r = 2; b = ""; next}
                      r == 2 && /^```$/ {printf "%s%c", b, 0; r = 0; next}
                      r == 2 {b = b $0 "\n"; next}
                      {r = 0}' "$src/$doc")
done
[ "$n" -gt 0 ] || { echo "FAIL: no runnable examples found"; exit 1; }
[ "$failed" -eq 0 ] && echo "all $n runnable examples passed"
exit $failed
