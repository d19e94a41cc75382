#!/bin/bash
# The man pages render without warnings, and jobwatchd.conf(5) documents every
# key the config parser accepts (and no key it does not), so the two cannot drift.
set -eu
SRC=${JW_SOURCE_DIR:?}
BUILD=${JW_BUILD_DIR:?}
command -v man >/dev/null || { echo "SKIP: man is not installed"; exit 77; }
fail=0
for p in jobwatchd.8 jobwatchd.conf.5; do
	warn=$(MANWIDTH=100 man --warnings -l "$BUILD/man/$p" 2>&1 >/dev/null || true)
	if [ -n "$warn" ]; then
		echo "FAIL: $p renders with warnings:"; printf '%s\n' "$warn"; fail=1
	else
		echo "ok: $p renders cleanly"
	fi
done

# roff eats double quotes in headings unless escaped (scripts/man.sh).
for sec in '[webhook "NAME"]' '[discover "NAME"]' '[eventbridge "NAME"]'; do
	MANWIDTH=100 man -l "$BUILD/man/jobwatchd.conf.5" 2>/dev/null | grep -qxF "$sec" ||
		{ echo "FAIL: jobwatchd.conf(5) does not show the heading $sec"; fail=1; }
done

keys=$("$BUILD/helpers/print_config_keys")
[ -n "$keys" ] || { echo "FAIL: no keys from the parser"; exit 1; }
page=$(MANWIDTH=200 man -l "$BUILD/man/jobwatchd.conf.5" 2>/dev/null)
# Sections in the page: lines like "[aws]" or '[discover "NAME"]'; keys: indented words.
documented=$(printf '%s\n' "$page" | awk '
	/^\[/ { s = $1; gsub(/[\[\]]/, "", s); next }
	/^   +[a-z_]+$/ && s != "" { k = $1; print s "." k }' | sort -u)
parser=$(printf '%s\n' "$keys" | sort -u)
missing=$(comm -23 <(printf '%s\n' "$parser") <(printf '%s\n' "$documented"))
extra=$(comm -13 <(printf '%s\n' "$parser") <(printf '%s\n' "$documented"))
if [ -n "$missing" ]; then echo "FAIL: keys the parser accepts but jobwatchd.conf(5) lacks:"; echo "$missing"; fail=1; fi
if [ -n "$extra" ]; then echo "FAIL: keys in jobwatchd.conf(5) the parser rejects:"; echo "$extra"; fail=1; fi
[ "$fail" = 0 ] && echo "ok: $(printf '%s\n' "$parser" | wc -l) keys documented"
exit $fail
