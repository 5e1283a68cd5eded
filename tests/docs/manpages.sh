#!/usr/bin/env bash
# Every long option a binary's --help shows is in its man page.
set -uo pipefail
build=$1
src=$2
failed=0
check() { # binary manpage help-args...
        local bin=$1 man=$2
        shift 2
        for opt in $("$build/$bin" "$@" --help 2>/dev/null | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
                esc=$(printf '%s' "$opt" | sed 's/-/\\\\-/g')
                grep -q -- "$esc" "$src/docs/man/$man" || { echo "FAIL $man lacks $opt ($bin $*)"; failed=1; }
        done
}
check systemmanager-mcp systemmanager-mcp.8
check systemmanagerctl systemmanagerctl.1
check systemmanagerctl systemmanagerctl.1 token mint
check systemmanagerctl systemmanagerctl.1 token revoke
check systemmanagerctl systemmanagerctl.1 audit tail
check systemmanagerctl systemmanagerctl.1 keygen
check systemmanagerctl systemmanagerctl.1 call
[ "$failed" -eq 0 ] && echo "man pages cover every --help option"
exit $failed
