#!/usr/bin/env bash
# The bash completion for systemmanagerctl completes commands, subcommands,
# options and scope names.
set -uo pipefail
src=$1
source /usr/share/bash-completion/bash_completion
source "$src/cli/completion/systemmanagerctl.bash"
failed=0
expect() { # "line being typed" "word that must be offered"
        local line=$1 want=$2
        read -ra COMP_WORDS <<<"$line"
        [[ $line == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMP_LINE=$line
        COMP_POINT=${#line}
        COMPREPLY=()
        _systemmanagerctl
        if printf '%s\n' "${COMPREPLY[@]}" | grep -qx -- "$want"; then
                echo "ok   '$line' → $want"
        else
                echo "FAIL '$line' → wanted $want, got: ${COMPREPLY[*]}"
                failed=1
        fi
}
expect "systemmanagerctl to" token
expect "systemmanagerctl token " mint
expect "systemmanagerctl token mint --sc" --scopes
expect "systemmanagerctl token mint --scopes sys" system:admin
expect "systemmanagerctl approvals " approve
expect "systemmanagerctl audit verify --k" --key
expect "systemmanagerctl keygen --ed" --ed25519
exit $failed
