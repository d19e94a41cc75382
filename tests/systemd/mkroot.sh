#!/bin/bash
# Makes (once) a Debian 12 root for the booted-systemd test with debootstrap,
# and prints its path.  The root is cached outside the repository, keyed by
# the package list below, so a second run costs nothing:
#   ${JW_NSPAWN_CACHE:-/var/cache/jobwatchd-test}/bookworm-KEY
# It carries systemd as init, sudo and curl (the README's commands use them),
# and the build and packaging dependencies of scripts/deps.sh, so that `make &&
# sudo make install`, `make deb` and `apt install ./jobwatchd_*.deb` run
# inside the root exactly as the README says, with nothing to download.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
cache=${JW_NSPAWN_CACHE:-/var/cache/jobwatchd-test}
mirror=${JW_DEBIAN_MIRROR:-http://deb.debian.org/debian}

# The build and packaging dependencies come from deps.sh itself, so the two
# never drift.
deps_list() {
	awk -v v="$1" 'index($0, v "=\"") == 1 { on = 1 } on { print } on && /"$/ { exit }' "$src/scripts/deps.sh" |
		tr -d '"' | sed "s/^$1=//" | tr -s ' \n' ' '
}
base_pkgs="systemd systemd-sysv dbus sudo curl ca-certificates python3 procps"
more_pkgs="$(deps_list build_pkgs) $(deps_list deb_pkgs)"
recipe=3 # bump when the steps below change
key=$(echo "$recipe $base_pkgs $more_pkgs" | sha256sum | cut -c1-12)
root="$cache/bookworm-$key"

if [ -e "$root/.complete" ]; then
	echo "$root"
	exit 0
fi
mkdir -p "$cache"
rm -rf "$root" "$root.tmp"
echo "mkroot: debootstrap bookworm into $root (once; about 3 minutes)" >&2
log="$cache/debootstrap-$key.log"
fail() {
	tail -n 30 "$log" >&2
	echo "mkroot: $1 (log: $log)" >&2
	exit 1
}
# debootstrap's own resolver knows no virtual packages (perl-openssl-abi-3
# for lintian's Perl modules), so it lays the base only and apt, inside the
# root, installs the rest.
base=$(echo "$base_pkgs" | tr ' ' ',')
debootstrap --variant=minbase --include="$base" bookworm "$root.tmp" "$mirror" >"$log" 2>&1 ||
	fail "debootstrap failed"
# shellcheck disable=SC2086
systemd-nspawn -q -D "$root.tmp" --register=no --keep-unit --pipe \
	env DEBIAN_FRONTEND=noninteractive sh -c "apt-get update && apt-get install -y --no-install-recommends $more_pkgs && apt-get clean" \
	>>"$log" 2>&1 </dev/null || fail "apt-get install inside the root failed"
: >"$root.tmp/etc/machine-id"
echo jwtest >"$root.tmp/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 jwtest\n::1 localhost\n' >"$root.tmp/etc/hosts"
rm -f "$root.tmp/etc/systemd/system/getty.target.wants/"* 2>/dev/null || true
touch "$root.tmp/.complete"
mv "$root.tmp" "$root"
# Roots made for an older package list are not used again.
for old in "$cache"/bookworm-*; do
	case "$old" in "$root" | *.log) ;; *) rm -rf "$old" ;; esac
done
echo "$root"
