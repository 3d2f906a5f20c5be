# bash completion for iops-limitctl(1)                                  -*- shell-script -*-
# Installed as /usr/share/bash-completion/completions/iops-limitctl (loaded on demand by
# bash-completion); can also be sourced on its own.

# NAMESPACE/POD of the pods iops-limitd knows (running containers and overrides); prints
# nothing when the daemon is not running.
_iops_limitctl_pods()
{
    {
        iops-limitctl --no-legend list 2>/dev/null
        iops-limitctl --no-legend overrides 2>/dev/null
    } | awk 'NF >= 2 { print $1 "/" $2 }' | sort -u
}

_iops_limitctl()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local commands='status list explain set clear overrides top resync reload'
    local global='-h --help --version --no-legend'
    local cmd='' pod='' i w

    # the command is the first word that is not an option; for pod commands the pod follows it
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in
            -*) ;;
            *) if [ -z "$cmd" ]; then cmd=$w; elif [ -z "$pod" ]; then pod=$w; fi ;;
        esac
    done

    COMPREPLY=()
    if [ -z "$cmd" ]; then
        if [[ $cur == -* ]]; then
            mapfile -t COMPREPLY < <(compgen -W "$global" -- "$cur")
        else
            mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
        fi
        return 0
    fi

    case $cmd in
        list)
            mapfile -t COMPREPLY < <(compgen -W '--json --full -l --no-legend' -- "$cur") ;;
        overrides)
            mapfile -t COMPREPLY < <(compgen -W '--json --no-legend' -- "$cur") ;;
        top)
            case $prev in
                --order) mapfile -t COMPREPLY < <(compgen -W 'iops bps limit pressure' -- "$cur") ;;
                -d|--delay|-n|--iterations) ;;   # a number
                *) mapfile -t COMPREPLY < <(compgen -W '-d --delay -n --iterations -b --batch --order --no-legend' -- "$cur") ;;
            esac ;;
        explain|clear)
            [ -z "$pod" ] && mapfile -t COMPREPLY < <(compgen -W "$(_iops_limitctl_pods)" -- "$cur") ;;
        set)
            case $prev in
                --iops|--read-iops|--write-iops|--bps|--read-bps|--write-bps)
                    # a value: IOPS number or quantity; offer the unlimited keyword only
                    mapfile -t COMPREPLY < <(compgen -W 'max' -- "$cur") ;;
                *)
                    if [ -z "$pod" ]; then
                        mapfile -t COMPREPLY < <(compgen -W "$(_iops_limitctl_pods)" -- "$cur")
                    else
                        mapfile -t COMPREPLY < <(compgen -W '--iops --read-iops --write-iops --bps --read-bps --write-bps' -- "$cur")
                    fi ;;
            esac ;;
        *) ;;   # status, resync, reload: no arguments
    esac
    return 0
}
complete -F _iops_limitctl iops-limitctl

# ex: filetype=sh
