#!/bin/bash
# bash completion (scripts/jobwatchd-completion.bash): the subcommands, each
# subcommand's options, the values of --log-level/--log-target -- and every
# option it offers is one the binary accepts (none is "unrecognized").
set -u
SRC=${JW_SOURCE_DIR:?}
BIN=${JW_BUILD_DIR:?}/jobwatchd
fail=0
# shellcheck source=tests/lib/completion.sh
source "$SRC/tests/lib/completion.sh"
want() { # want WHAT GOT WORD...
	local what=$1 got=" $2 " w
	shift 2
	for w in "$@"; do
		case $got in *" $w "*) ;; *) echo "FAIL: $what: no \"$w\" in [$got]"; fail=1 ;; esac
	done
}

want "subcommands" "$(comp jobwatchd '')" run get list status watch unwatch forget retry test-alert --check-config --version --help
want "list options" "$(comp jobwatchd list --c)" --collaboration-id --config --configured-audience-model-arn
want "status options" "$(comp jobwatchd status --)" --socket --url --token-file --all --json --history
want "log levels" "$(comp jobwatchd run --log-level '')" debug info notice warning err
want "log targets" "$(comp jobwatchd --log-target '')" auto stderr journal
got=$(comp jobwatchd get --region '')
[ -z "$got" ] || { echo "FAIL: --region offers [$got], want nothing"; fail=1; }
cd "$(mktemp -d)" && touch my.conf && got=$(comp jobwatchd -c my)
want "files after -c" "$got" my.conf

# Every offered option is one the binary knows.
for sub in get list status watch unwatch forget retry test-alert --check-config; do
	for opt in $(comp jobwatchd "$sub" -); do
		case $opt in --ca-file | --hook | -c | --config | --region | --collaboration-id | --configured-audience-model-arn | --socket | --url | --token-file | --history)
			args=("$opt" /nonexistent) ;;
		*) args=("$opt") ;;
		esac
		out=$(timeout 10 "$BIN" "$sub" "${args[@]}" 2>&1 </dev/null)
		case $out in *"unrecognized option"* | *"invalid option"* | *"unknown or incomplete option"* | *"unknown option"*)
			echo "FAIL: completion offers $sub $opt, the binary refuses it: $out"; fail=1 ;;
		esac
	done
done
for opt in $(comp jobwatchd run -); do
	grep -q "{\"${opt#--}\"," "$SRC/daemon/cli/run.c" || [ "$opt" = -c ] ||
		{ echo "FAIL: completion offers run $opt, not in run's option table"; fail=1; }
done
[ "$fail" = 0 ] && echo "ok: completion offers the subcommands, options and values the binary takes"
exit $fail
