# bash completion for jobwatchd(8): subcommands, their options, log levels
# and targets, and files for -c/--config, --token-file and --socket.
# Installed as share/bash-completion/completions/jobwatchd.

_jobwatchd() {
	local cur prev words cword
	if declare -F _init_completion >/dev/null 2>&1; then
		_init_completion || return
	else
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	fi

	local sub="" i
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		run | get | list | status | watch | unwatch | forget | retry | test-alert) sub=${words[i]}; break ;;
		--check-config | -t) sub=check-config; break ;;
		esac
	done

	case $prev in
	-c | --config | --token-file | --ca-file)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	--socket)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	--log-level)
		COMPREPLY=($(compgen -W "emerg alert crit err warning notice info debug" -- "$cur"))
		return
		;;
	--log-target)
		COMPREPLY=($(compgen -W "auto stderr journal" -- "$cur"))
		return
		;;
	--log-format)
		COMPREPLY=($(compgen -W "text json" -- "$cur"))
		return
		;;
	--kind)
		COMPREPLY=($(compgen -W "audience-generation-job audience-model trained-model trained-model-inference-job ml-input-channel audience-export-job" -- "$cur"))
		return
		;;
	--region | --collaboration-id | --configured-audience-model-arn | --membership-id | --url | --hook | --history)
		return
		;;
	esac

	local opts
	case $sub in
	"") opts="run get list status watch unwatch forget retry test-alert --check-config --version --help -c --config --log-level --log-target --log-format --strict" ;;
	run) opts="-c --config --log-level --log-target --log-format --strict" ;;
	check-config) opts="-c --config --strict" ;;
	get) opts="-c --config --region --help" ;;
	list) opts="-c --config --region --collaboration-id --configured-audience-model-arn --kind --membership-id --help" ;;
	status) opts="--socket --url --token-file --ca-file --all --json --history --help" ;;
	watch) opts="--socket --url --token-file --ca-file --no-check --help" ;;
	unwatch | forget | retry) opts="--socket --url --token-file --ca-file --help" ;;
	test-alert) opts="-c --config --hook" ;;
	esac
	COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -F _jobwatchd jobwatchd
