#!/bin/bash
# Builds the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang, ASan and
# UBSan in build-fuzz/ and runs each one from a copy of its seed corpus.
#
#   scripts/fuzz.sh [TARGET...]      every target (or the named ones: api config ...)
#   FUZZ_SECONDS=30                  time per target (default 30)
#   FUZZ_LONG=1                      long run: FUZZ_RUNS executions per target
#   FUZZ_RUNS=10000000               executions per target in long mode
#   FUZZ_JOBS=1                      long mode: parallel targets (default 1)
#   FUZZ_BUILD_DIR=build-fuzz        build directory
#   FUZZ_KEEP_CORPUS=DIR             copy each grown corpus to DIR/<target>/
#
# Exits 1 if any target crashed, leaked, timed out or broke an invariant; the
# input is kept under $FUZZ_BUILD_DIR/fuzz-artifacts/<target>/ and its path
# printed.  Save it as tests/fuzz/regress/<target>/NAME so that the unit test
# test_fuzz_regress replays it from then on.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$src/build-fuzz}
seconds=${FUZZ_SECONDS:-30}
long=${FUZZ_LONG:-0}
runs=${FUZZ_RUNS:-10000000}
jobs=${FUZZ_JOBS:-1}

"$src/scripts/deps.sh" --fuzz

if [ $# -gt 0 ]; then
	targets=("$@")
else
	targets=()
	for f in "$src"/tests/fuzz/fuzz_*.c; do
		n=$(basename "$f" .c)
		targets+=("${n#fuzz_}")
	done
fi

cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER=clang -DJW_FUZZ=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]/#/fuzz_}"

work=$(mktemp -d "${TMPDIR:-/tmp}/jw-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
artifacts=$build/fuzz-artifacts

# Per-target options: bodies over the payload caps need room to grow.
extra_args() {
	case "$1" in
	payload) echo "-max_len=8192" ;;
	api | creds) echo "-max_len=8192" ;;
	*) echo "" ;;
	esac
}

# Runs one target; prints one summary line; returns 1 on a finding.
run_one() {
	local t=$1 bin=$build/fuzz/fuzz_$1 dir=$work/$1 rc=0 execs rate dict=()
	mkdir -p "$dir/corpus" "$dir/artifacts" "$dir/tmp"
	if [ -d "$src/tests/fuzz/corpus/$t" ]; then
		cp -r "$src/tests/fuzz/corpus/$t/." "$dir/corpus/"
	fi
	if [ -f "$src/tests/fuzz/$t.dict" ]; then
		dict=(-dict="$src/tests/fuzz/$t.dict")
	fi
	local mode=(-max_total_time="$seconds")
	if [ "$long" = 1 ]; then
		mode=(-runs="$runs")
	fi
	# shellcheck disable=SC2046
	(cd "$dir" && TMPDIR=$dir/tmp \
		ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
		UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		"$bin" "${mode[@]}" -print_final_stats=1 -timeout=10 -rss_limit_mb=2560 \
		-artifact_prefix="$dir/artifacts/" "${dict[@]}" $(extra_args "$t") \
		"$dir/corpus" >"$dir/log" 2>&1) || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -1)
	if [ -n "${FUZZ_KEEP_CORPUS:-}" ]; then
		mkdir -p "$FUZZ_KEEP_CORPUS/$t"
		cp -r "$dir/corpus/." "$FUZZ_KEEP_CORPUS/$t/"
	fi
	if [ "$rc" -ne 0 ] || [ -n "$(ls -A "$dir/artifacts")" ]; then
		mkdir -p "$artifacts/$t"
		cp "$dir/log" "$artifacts/$t/log"
		local found=""
		for a in "$dir"/artifacts/*; do
			[ -e "$a" ] || continue
			cp "$a" "$artifacts/$t/"
			found="$found $artifacts/$t/$(basename "$a")"
		done
		printf '%-9s FAILED (rc %d) executions %s; input:%s; log: %s\n' "$t" "$rc" "${execs:-?}" \
			"${found:- none}" "$artifacts/$t/log"
		grep -m1 -E 'ERROR: |runtime error|invariant failed' "$dir/log" | sed 's/^/          /' || true
		return 1
	fi
	printf '%-9s ok  executions %s (%s/s)\n' "$t" "${execs:-?}" "${rate:-?}"
}

failed=0
if [ "$long" = 1 ] && [ "$jobs" -gt 1 ]; then
	declare -A pids
	for t in "${targets[@]}"; do
		while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 1; done
		run_one "$t" >"$work/$t.result" 2>&1 &
		pids[$t]=$!
	done
	for t in "${targets[@]}"; do
		wait "${pids[$t]}" || failed=1
		cat "$work/$t.result"
	done
else
	for t in "${targets[@]}"; do
		run_one "$t" || failed=1
	done
fi
exit $failed
