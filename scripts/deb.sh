#!/bin/sh
# `make deb`: builds jobwatchd_VERSION_ARCH.deb with Debian's own tools
# (dpkg-buildpackage, debhelper's dh with its cmake support) from the same
# CMake install rules as `make install`, and puts it in the source tree's top
# directory (or in $1).
#
# The package is built in a copy of the tree under build-deb/ (what a clone
# holds: tracked and new files), so the build leaves nothing in the source
# tree and dpkg-buildpackage's by-products (.changes, .buildinfo) stay in
# build-deb/.  The version is debian/changelog's, plus +gitDATE.COMMIT for a
# commit that is not a tagged release: every build says where it came from.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
out=${1:-$src}
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac

base=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
version=$base
commit=""
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
	commit=$(git -C "$src" rev-parse --short=12 HEAD)
	if ! git -C "$src" describe --exact-match --tags HEAD >/dev/null 2>&1; then
		stamp=$(git -C "$src" log -1 --format=%cd --date=format-local:%Y%m%d%H%M%S)
		version="$base+git$stamp.$commit"
	fi
fi

work="$src/build-deb"
tree="$work/jobwatchd-$version"
rm -rf "$work"
mkdir -p "$tree"
if [ -n "$commit" ]; then
	(cd "$src" && git ls-files -z -co --exclude-standard) | (cd "$src" && xargs -0 cp --parents -a -t "$tree")
else
	(cd "$src" && tar --exclude='./build*' -cf - .) | (cd "$tree" && tar -xf -)
fi

if [ "$version" != "$base" ]; then
	# A snapshot entry on top of the release's, as dch --snapshot would write.
	{
		printf 'jobwatchd (%s) unstable; urgency=medium\n\n' "$version"
		printf '  * Snapshot of git commit %s.\n\n' "$commit"
		printf ' -- %s  %s\n\n' "$(dpkg-parsechangelog -l "$src/debian/changelog" -S Maintainer)" \
			"$(git -C "$src" log -1 --format=%cD)"
		cat "$src/debian/changelog"
	} >"$tree/debian/changelog"
fi

echo "deb: building jobwatchd $version in $tree"
(cd "$tree" && JW_GIT_COMMIT="$commit" dpkg-buildpackage -b -us -uc >"$work/build.log" 2>&1) || {
	tail -n 40 "$work/build.log" >&2
	echo "deb: dpkg-buildpackage failed (log: $work/build.log)" >&2
	exit 1
}
deb=$(ls "$work"/jobwatchd_"$version"_*.deb)
mkdir -p "$out"
cp "$deb" "$out/"
echo "deb: $out/$(basename "$deb")"
