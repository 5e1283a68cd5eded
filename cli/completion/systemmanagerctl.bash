# bash completion for systemmanagerctl                                -*- shell-script -*-
_systemmanagerctl() {
        local cur prev words cword
        _init_completion || return

        local commands="token approvals audit call keygen"
        local i cmd="" sub=""
        for ((i = 1; i < cword; i++)); do
                case "${words[i]}" in
                -c|--config) ((i++)) ;;
                -*) ;;
                *) if [[ -z $cmd ]]; then cmd=${words[i]}; elif [[ -z $sub ]]; then sub=${words[i]}; fi ;;
                esac
        done

        case "$prev" in
        -c|--config|--secret-file|--key|--out) _filedir; return ;;
        --scopes|--scope)
                local scopes="readonly admin system:read network:read container:read docker:read file:read
                        network:diag network:admin container:write container:admin docker:admin system:admin
                        health:read metrics:read approvals:write admin:tokens:read admin:tokens:write"
                COMPREPLY=($(compgen -W "$scopes" -- "$cur")); return ;;
        --ttl|--expires-in|--overlap) COMPREPLY=($(compgen -W "15m 1h 2h 4h 1d 7d 30d" -- "$cur")); return ;;
        --format) COMPREPLY=($(compgen -W "hmac jwt" -- "$cur")); return ;;
        --decision) COMPREPLY=($(compgen -W "allowed denied approved approval_required" -- "$cur")); return ;;
        esac

        if [[ -z $cmd ]]; then
                COMPREPLY=($(compgen -W "$commands --config --help --version" -- "$cur"))
                return
        fi
        case "$cmd" in
        token)
                if [[ -z $sub ]]; then
                        COMPREPLY=($(compgen -W "mint verify revoke create list show rotate" -- "$cur"))
                        return
                fi
                case "$sub" in
                mint) COMPREPLY=($(compgen -W "--agent --scopes --ttl --audience --auto-approve --reason --format
                        --secret-file --json --containers --paths --hosts --help" -- "$cur")) ;;
                verify) COMPREPLY=($(compgen -W "--token --secret-file --json --help" -- "$cur")) ;;
                revoke) COMPREPLY=($(compgen -W "--jti --agent --token --reason --secret-file --help" -- "$cur")) ;;
                create) COMPREPLY=($(compgen -W "--id --scope --expires-in --help" -- "$cur")) ;;
                rotate) COMPREPLY=($(compgen -W "--overlap --expires-in --help" -- "$cur")) ;;
                list|show) COMPREPLY=($(compgen -W "--json --help" -- "$cur")) ;;
                esac ;;
        approvals)
                if [[ -z $sub ]]; then
                        COMPREPLY=($(compgen -W "list show approve deny" -- "$cur"))
                else
                        COMPREPLY=($(compgen -W "--reason --json --help" -- "$cur"))
                fi ;;
        audit)
                if [[ -z $sub ]]; then
                        COMPREPLY=($(compgen -W "verify tail" -- "$cur"))
                elif [[ $sub == verify ]]; then
                        COMPREPLY=($(compgen -W "--key --json --help" -- "$cur")); [[ $cur != -* ]] && _filedir
                else
                        COMPREPLY=($(compgen -W "-n -f --subject --tool --decision --since --json --help" -- "$cur"))
                fi ;;
        call) COMPREPLY=($(compgen -W "--arg --json --approval-id --output-json --help" -- "$cur")) ;;
        keygen) COMPREPLY=($(compgen -W "--hmac --rsa --ec --ed25519 --out --kid --help" -- "$cur")) ;;
        esac
} && complete -F _systemmanagerctl systemmanagerctl
