#!/bin/sh
# Checks the Debian packages jobwatchd needs to build (and, with --test,
# --bench or --fuzz, to run its tests).  As root it installs what is missing
# (apt-get update once, then apt-get install -y); otherwise it prints the exact
# command to run and fails.
set -eu

build_pkgs="cmake make gcc pkg-config libuv1-dev libcurl4-openssl-dev libcjson-dev libssl-dev
libsystemd-dev libsqlite3-dev libxml2-dev libcmocka-dev libmicrohttpd-dev scdoc"
test_pkgs="python3 openssl systemd jq util-linux nodejs npm sqlite3 man-db groff-base scdoc valgrind curl faketime
systemd-container debootstrap prometheus-alertmanager prometheus"
bench_pkgs="nginx-light wrk gnuplot-nox linux-perf valgrind"
fuzz_pkgs="clang libclang-rt-14-dev"
demo_pkgs="python3 openssl"
deb_pkgs="build-essential debhelper dpkg-dev fakeroot lintian git"

want="$build_pkgs"
for arg in "$@"; do
	case "$arg" in
	--test) want="$want $test_pkgs" ;;
	--demo) want="$want $demo_pkgs" ;;
	--bench) want="$want $test_pkgs $bench_pkgs" ;;
	--fuzz) want="$want $fuzz_pkgs" ;;
	--deb) want="$want $deb_pkgs" ;;
	*) echo "deps.sh: unknown option $arg" >&2; exit 2 ;;
	esac
done

missing=""
for p in $want; do
	# node and npm may come from outside Debian (e.g. nodesource); accept any.
	case "$p" in
	nodejs) command -v node >/dev/null 2>&1 && continue ;;
	npm) command -v npm >/dev/null 2>&1 && continue ;;
	esac
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	echo "deps.sh: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	# shellcheck disable=SC2086
	apt-get install -y --no-install-recommends $missing
else
	echo "jobwatchd needs these Debian packages:$missing" >&2
	echo "Run as root:" >&2
	echo "  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
