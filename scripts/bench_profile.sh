#!/bin/bash
# scripts/bench_profile.sh [BUILD_DIR] — where the CPU of one poll goes.
#
# Runs jobwatchd at 10k jobs against the bench nginx (bench/bench.py --profile: plain HTTP, then TLS/HTTP/2),
# records its steady state with `perf record --call-graph dwarf`, and prints the share of samples per
# category (signing, JSON parse, libcurl, SQLite, allocation, ...) with bench/perf_categories.py.
# Needs linux-perf (scripts/deps.sh --bench) and an optimized build with symbols (RelWithDebInfo); the
# numbers go into docs/internals/performance.md by hand.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
case $build in /*) ;; *) build=$src/$build ;; esac
bt=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
if [ "$bt" != RelWithDebInfo ]; then
	cmake -S "$src" -B "$build-bench" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$build-bench" -j"$(nproc)" --target jobwatchd >/dev/null
	build=$build-bench
fi
out=$(mktemp -d /tmp/jwprofile-XXXXXX)
nm=${JW_BENCH_NODE_MODULES:-${XDG_CACHE_HOME:-$HOME/.cache}/jobwatchd-bench}/node_modules
python3 "$src/bench/bench.py" --binary "$build/jobwatchd" --node-modules "$nm" --out "$out" --window 5 \
	--warmup 1 --profile "$out/perf.data"
for k in http tls; do
	echo "## $k"
	perf script -i "$out/perf.data.$k" 2>/dev/null | python3 "$src/bench/perf_categories.py"
	echo
done
echo "perf data kept in $out (perf report -i $out/perf.data.http --children)"
