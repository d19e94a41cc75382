#!/bin/sh
# `make demo`: scripts/demo.sh BUILD_DIR -- runs the whole jobwatchd pipeline
# against the bundled fake Clean Rooms ML service and a local webhook receiver
# (see scripts/demo_view.py), then prints a summary.  Exit 0 when everything
# the demo scenario shows did happen, 1 when not, 130 when interrupted.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
build=${1:-build}
case "$build" in
/*) ;;
*) build="$PWD/$build" ;;
esac

if [ ! -x "$build/jobwatchd" ]; then
	echo "demo: building $build/jobwatchd"
	[ -f "$build/CMakeCache.txt" ] || cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" --target jobwatchd
fi

# Debian's python3 (the fakes use only its standard library).
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3) || { echo "demo: python3 is missing (make deps)" >&2; exit 1; }

# exec: Ctrl-C and SIGTERM reach the driver directly, which stops every
# process it started and removes its temporary directory.
exec "$py" "$here/demo_view.py" --source-dir "$src" "$build"
