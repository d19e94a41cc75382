#!/bin/bash
# Makes (once) a Debian 12 root for the booted-systemd test with debootstrap,
# and prints its path.  The root is cached outside the repository, keyed by
# the package list below, so a second run costs nothing:
#   ${JW_NSPAWN_CACHE:-/var/cache/jobwatchd-test}/bookworm-KEY
# It carries systemd as init, sudo and curl (the README's commands use them),
# and the build dependencies of scripts/deps.sh, so that `make && sudo make
# install` runs inside the root exactly as the README says, without a network.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
cache=${JW_NSPAWN_CACHE:-/var/cache/jobwatchd-test}
mirror=${JW_DEBIAN_MIRROR:-http://deb.debian.org/debian}

# The build dependencies come from deps.sh itself, so the two never drift.
build_pkgs=$(sed -n '/^build_pkgs="/,/"$/p' "$src/scripts/deps.sh" | tr -d '"' | sed 's/^build_pkgs=//' | tr -s ' \n' ' ')
base_pkgs="systemd systemd-sysv dbus sudo curl ca-certificates python3 procps"
pkgs=$(echo "$base_pkgs $build_pkgs" | tr ' ' '\n' | sed '/^$/d' | sort -u | tr '\n' ',' | sed 's/,$//')
recipe=2 # bump when the steps below change
key=$(echo "$recipe $pkgs" | sha256sum | cut -c1-12)
root="$cache/bookworm-$key"

if [ -e "$root/.complete" ]; then
	echo "$root"
	exit 0
fi
mkdir -p "$cache"
rm -rf "$root" "$root.tmp"
echo "mkroot: debootstrap bookworm into $root (once; about 3 minutes)" >&2
debootstrap --variant=minbase --include="$pkgs" bookworm "$root.tmp" "$mirror" >"$cache/debootstrap-$key.log" 2>&1 || {
	tail -n 30 "$cache/debootstrap-$key.log" >&2
	echo "mkroot: debootstrap failed (log: $cache/debootstrap-$key.log)" >&2
	exit 1
}
# A booted container wants a machine id and no getty on a console nobody reads.
: >"$root.tmp/etc/machine-id"
echo jwtest >"$root.tmp/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 jwtest\n::1 localhost\n' >"$root.tmp/etc/hosts"
rm -f "$root.tmp/etc/systemd/system/getty.target.wants/"* 2>/dev/null || true
# Without network access inside, apt-get update would only wait.
rm -rf "$root.tmp/var/lib/apt/lists/"* 2>/dev/null || true
touch "$root.tmp/.complete"
mv "$root.tmp" "$root"
echo "$root"
