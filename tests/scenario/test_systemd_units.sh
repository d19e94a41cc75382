#!/bin/bash
# The shipped units pass `systemd-analyze verify` and score at most 1.5 ("OK") in
# `systemd-analyze security --offline=true`, both run inside a private mount
# namespace with a tmpfs /run so nothing is left on the host.  ExecStart points
# at the build tree's binary and MANPATH at the built man pages, so the
# Documentation= links are checked too.
set -eu
SRC=${JW_SOURCE_DIR:?}
BUILD=${JW_BUILD_DIR:?}
command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
command -v unshare >/dev/null || { echo "SKIP: no unshare"; exit 77; }
unshare --mount true 2>/dev/null || { echo "SKIP: cannot create a mount namespace"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/man/man8" "$tmp/man/man5" "$tmp/units"
cp "$BUILD/man/jobwatchd.8" "$tmp/man/man8/"
cp "$BUILD/man/jobwatchd.conf.5" "$tmp/man/man5/"
for u in jobwatchd.service jobwatchd@.service; do
	sed "s|/usr/bin/jobwatchd|$BUILD/jobwatchd|g" "$SRC/systemd/$u" > "$tmp/units/$u"
done
# A template is verified through an instance name.
cp "$tmp/units/jobwatchd@.service" "$tmp/units/jobwatchd@prod.service"

fail=0
for u in jobwatchd.service jobwatchd@prod.service; do
	out=$(unshare --mount --fork sh -c "mount -n -t tmpfs tmpfs /run && MANPATH='$tmp/man' systemd-analyze verify '$tmp/units/$u' 2>&1; echo rc=\$?")
	rc=${out##*rc=}
	body=${out%rc=*}
	if [ "$rc" != 0 ] || [ -n "$(printf '%s' "$body" | tr -d '[:space:]')" ]; then
		echo "FAIL: systemd-analyze verify $u (rc $rc):"
		printf '%s\n' "$body"
		fail=1
	else
		echo "ok: verify $u"
	fi
	sec=$(unshare --mount --fork sh -c "mount -n -t tmpfs tmpfs /run && systemd-analyze security --offline=true '$tmp/units/$u' 2>&1" | tail -1)
	score=$(printf '%s' "$sec" | sed -n 's/.*: \([0-9.]*\) .*/\1/p')
	if [ -z "$score" ] || awk -v s="$score" 'BEGIN { exit !(s > 1.5) }'; then
		echo "FAIL: exposure of $u is '${score:-?}' (want <= 1.5): $sec"
		fail=1
	else
		echo "ok: security $u = $score"
	fi
	# --threshold is on the 0..100 scale: 15 = 1.5.
	if ! unshare --mount --fork sh -c "mount -n -t tmpfs tmpfs /run && systemd-analyze security --offline=true --threshold=15 '$tmp/units/$u' >/dev/null 2>&1"; then
		echo "FAIL: --threshold=15 rejected $u"
		fail=1
	fi
done

# Hardening directives that must stay.
for d in Type=notify WatchdogSec= DynamicUser=yes StateDirectory= ConfigurationDirectory= LoadCredential= \
	ProtectSystem=strict NoNewPrivileges=yes 'ExecReload=/bin/kill -HUP $MAINPID' Restart=on-failure; do
	grep -qF "$d" "$SRC/systemd/jobwatchd.service" || { echo "FAIL: jobwatchd.service lacks $d"; fail=1; }
done
grep -qF '/etc/jobwatchd/%i.conf' "$SRC/systemd/jobwatchd@.service" || { echo "FAIL: template does not use %i.conf"; fail=1; }
exit $fail
