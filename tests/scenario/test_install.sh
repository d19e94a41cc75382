#!/bin/bash
# `cmake --install` (what `make install` runs) honours DESTDIR and the prefix:
# binary, both units (pointing at the installed binary), the journal catalog,
# both man pages, and the example config under /etc/jobwatchd -- which a
# second install never overwrites.
set -eu
BUILD=${JW_BUILD_DIR:?}
dest=$(mktemp -d)
trap 'rm -rf "$dest" "$dest.log"' EXIT
fail=0
inst() { DESTDIR="$dest" cmake --install "$BUILD" --prefix /usr >"$dest.log" 2>&1 || { cat "$dest.log"; exit 1; }; }
inst
for f in usr/bin/jobwatchd usr/lib/systemd/system/jobwatchd.service usr/lib/systemd/system/jobwatchd@.service \
	usr/lib/systemd/catalog/jobwatchd.catalog usr/share/man/man8/jobwatchd.8 usr/share/man/man5/jobwatchd.conf.5 \
	usr/share/bash-completion/completions/jobwatchd \
	etc/jobwatchd/jobwatchd.conf; do
	if [ -e "$dest/$f" ]; then echo "ok: $f"; else echo "FAIL: $f not installed"; fail=1; fi
done
[ -x "$dest/usr/bin/jobwatchd" ] || { echo "FAIL: binary not executable"; fail=1; }
grep -q '^ExecStart=/usr/bin/jobwatchd ' "$dest/usr/lib/systemd/system/jobwatchd.service" ||
	{ echo "FAIL: ExecStart does not name the installed binary"; fail=1; }
"$dest/usr/bin/jobwatchd" --check-config -c "$dest/etc/jobwatchd/jobwatchd.conf" >/dev/null ||
	{ echo "FAIL: the installed example config does not pass --check-config"; fail=1; }

# The service runs as a dynamic user: it must read the config (which holds no
# secret); the credentials directory is root's alone.
[ "$(stat -c %a "$dest/etc/jobwatchd/jobwatchd.conf")" = 644 ] ||
	{ echo "FAIL: config is mode $(stat -c %a "$dest/etc/jobwatchd/jobwatchd.conf"), want 644"; fail=1; }
[ "$(stat -c %a "$dest/etc/jobwatchd/credentials")" = 700 ] ||
	{ echo "FAIL: credentials directory is mode $(stat -c %a "$dest/etc/jobwatchd/credentials"), want 700"; fail=1; }

# An operator's config survives a reinstall; one an older install left
# unreadable to the service gets a warning that says what to do.
chmod 640 "$dest/etc/jobwatchd/jobwatchd.conf"
inst
tr -s " \n" "  " <"$dest.log" | grep -q "jobwatchd.conf is mode 640: the service (a dynamic user) cannot read it; chmod 644" ||
	{ echo "FAIL: no warning about an unreadable config"; cat "$dest.log"; fail=1; }
chmod 644 "$dest/etc/jobwatchd/jobwatchd.conf"
echo "# edited by the operator" >> "$dest/etc/jobwatchd/jobwatchd.conf"
inst
grep -q "edited by the operator" "$dest/etc/jobwatchd/jobwatchd.conf" || { echo "FAIL: reinstall overwrote the config"; fail=1; }

# Another prefix moves the units' ExecStart along.
rm -rf "${dest:?}"/*
DESTDIR="$dest" cmake --install "$BUILD" --prefix /opt/jw >/dev/null
grep -q '^ExecStart=/opt/jw/bin/jobwatchd ' "$dest/opt/jw/lib/systemd/system/jobwatchd.service" ||
	{ echo "FAIL: ExecStart ignores the prefix"; fail=1; }
[ "$fail" = 0 ] && echo "ok: reinstall keeps the config; prefixes honoured"
exit $fail
