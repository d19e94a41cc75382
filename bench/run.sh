#!/bin/bash
# `make bench`: bench/run.sh BUILD_DIR
#
# Benchmarks jobwatchd against the loopback ceiling (wrk on nginx), a bare libcurl multi loop (bench/bare_curl.c)
# and the official AWS SDK for JavaScript v2, and writes bench/results/latest.{md,png,json}.  Needs the Debian
# packages of `scripts/deps.sh --bench` and node + npm.  Everything shares this machine's cores; only ratios measured in the
# same run mean anything.
#
# Environment: JW_BENCH_NODE_MODULES (default ~/.cache/jobwatchd-bench: where aws-sdk is installed, never
# committed), JW_BENCH_WINDOW (measured seconds per run, default 5).
set -euo pipefail

build=${1:?usage: bench/run.sh BUILD_DIR}
src=$(cd "$(dirname "$0")/.." && pwd)
case $build in /*) ;; *) build=$src/$build ;; esac
out=$src/bench/results
nm_dir=${JW_BENCH_NODE_MODULES:-${XDG_CACHE_HOME:-$HOME/.cache}/jobwatchd-bench}
window=${JW_BENCH_WINDOW:-5}
t0=$(date +%s)

for c in nginx wrk gnuplot node npm openssl python3; do
	command -v "$c" >/dev/null || { echo "bench: $c is missing (scripts/deps.sh --bench)" >&2; exit 1; }
done

# Benchmark an optimized build.  BUILD_DIR is used when it is Release or RelWithDebInfo; otherwise (the
# default `make` tree can be an unoptimized -O0 one) a RelWithDebInfo tree BUILD_DIR-bench is built.
bt=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
case $bt in
Release | RelWithDebInfo) tree=$build ;;
*)
	echo "bench: $build is not an optimized build (CMAKE_BUILD_TYPE='$bt'); building $build-bench" >&2
	cmake -S "$src" -B "$build-bench" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$build-bench" -j"$(nproc)" --target jobwatchd >/dev/null
	tree=$build-bench
	;;
esac
bin=$tree/jobwatchd
# The bare libcurl multi loop (bench/bare_curl.c), the third reference next to wrk and the SDK.  The configure
# step picks up the target in a tree configured before it existed.
cmake -S "$src" -B "$tree" >/dev/null
cmake --build "$tree" --target bench_bare_curl >/dev/null

if [ ! -f "$nm_dir/node_modules/aws-sdk/package.json" ]; then
	mkdir -p "$nm_dir"
	cp "$src/bench/package.json" "$nm_dir/"
	(cd "$nm_dir" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi

python3 "$src/bench/bench.py" --binary "$bin" --bare "$tree/bench_bare_curl" --node-modules "$nm_dir/node_modules" \
	--out "$out" --window "$window"
python3 "$src/bench/report.py" "$out/latest.json" "$out/latest.md" "$out/latest.png" --total-s $(($(date +%s) - t0))
echo "bench: wrote $out/latest.md and $out/latest.png in $(($(date +%s) - t0)) s"
