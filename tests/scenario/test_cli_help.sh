#!/bin/bash
# Every subcommand's --help prints its own usage on stdout and exits 0, and
# names every option that bash completion offers for it; `jobwatchd --help`
# names every subcommand.  (Before, any --help anywhere printed the program's
# usage, so `jobwatchd status --help` never showed --all or --json.)
set -u
SRC=${JW_SOURCE_DIR:?}
BIN=${JW_BUILD_DIR:?}/jobwatchd
fail=0
# shellcheck source=tests/lib/completion.sh
source "$SRC/tests/lib/completion.sh"

top=$("$BIN" --help)
for sub in run get list status watch unwatch forget retry test-alert --check-config; do
	case $top in *"$sub"*) ;; *) echo "FAIL: jobwatchd --help does not name $sub"; fail=1 ;; esac
	out=$("$BIN" "$sub" --help 2>/tmp/jw-help-err.$$)
	rc=$?
	err=$(cat /tmp/jw-help-err.$$)
	rm -f /tmp/jw-help-err.$$
	if [ "$rc" != 0 ] || [ -n "$err" ]; then
		echo "FAIL: $sub --help: exit $rc, stderr: $err"; fail=1; continue
	fi
	want="Usage: jobwatchd $sub"
	[ "$sub" = run ] && want="Usage: jobwatchd [run]"
	case $out in "$want"*) ;; *) echo "FAIL: $sub --help does not start with \"$want\": $out"; fail=1 ;; esac
	for opt in $(comp jobwatchd "$sub" --); do
		case $opt in --help | --config) continue ;; esac
		case $out in *"$opt"*) ;; *) echo "FAIL: $sub --help does not mention $opt"; fail=1 ;; esac
	done
done
[ "$fail" = 0 ] && echo "ok: every subcommand's --help is its own and names its options"
exit $fail
