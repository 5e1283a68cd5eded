#!/usr/bin/env bash
# Every error code the server emits is explained in docs/troubleshooting.md:
# the auth.* codes of scopes/auth.c, the JSON-RPC codes of server/rpc.h, and
# the HTTP statuses the HTTP front answers with.
set -euo pipefail
src=$1
doc=$src/docs/troubleshooting.md
missing=0
for code in $(grep -o '"auth\.[a-z_.]*"' "$src/scopes/auth.c" | tr -d '"' | grep -v '^auth\.ok$' | sort -u); do
        grep -q "\`$code\`" "$doc" || { echo "missing in docs/troubleshooting.md: $code"; missing=1; }
done
for code in $(grep -o -- '-320[0-9][0-9]' "$src/server/rpc.h" | sort -u); do
        grep -q -- "$code" "$doc" || { echo "missing in docs/troubleshooting.md: JSON-RPC $code"; missing=1; }
done
for status in $(grep -oE '(http_respond_error|http_reject|mcp_reply_error|rest_fail)\(c?[a-z&]*,? ?(4|5)[0-9][0-9]' "$src"/server/*.c | grep -oE '(4|5)[0-9][0-9]$' | sort -u); do
        grep -qE "^\| $status( |\b)" "$doc" || { echo "missing in docs/troubleshooting.md: HTTP $status"; missing=1; }
done
[ "$missing" -eq 0 ] && echo "docs/troubleshooting.md covers every code"
exit "$missing"
