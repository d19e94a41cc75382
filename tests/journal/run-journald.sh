#!/bin/bash
# Runs CMD while a private systemd-journald is up, inside the caller's fresh
# mount namespace (never touches the host: everything lives on a tmpfs /run).
#   root:     unshare --mount --fork tests/journal/run-journald.sh CMD...
#   non-root: unshare --user --map-root-user --mount --fork tests/journal/run-journald.sh CMD...
# Also provides an empty private catalog (tmpfs over /var/lib/systemd/catalog
# and /usr/lib/systemd/catalog) so CMD may install catalogs and run
# `journalctl --update-catalog` without writing host paths.
set -eu
D=$(cd "$(dirname "$0")" && pwd)
mount --make-rprivate /
mount -n -t tmpfs tmpfs /run # -n: no /run/mount/utab on the host
mkdir -p /run/systemd/journal /run/log/journal
mount -n --bind "$D/journald.conf" /etc/systemd/journald.conf
for c in /var/lib/systemd/catalog /usr/lib/systemd/catalog; do
	[ -d "$c" ] && mount -n -t tmpfs tmpfs "$c"
done
JOURNALD=/lib/systemd/systemd-journald
[ -x "$JOURNALD" ] || JOURNALD=/usr/lib/systemd/systemd-journald
SYSTEMD_LOG_TARGET=console "$JOURNALD" >"${JOURNALD_LOG:-/dev/null}" 2>&1 &
JPID=$!
for _ in $(seq 100); do [ -S /run/systemd/journal/socket ] && break; sleep 0.05; done
[ -S /run/systemd/journal/socket ] || { echo "journald did not start"; kill $JPID; exit 1; }
set +e
"$@"
rc=$?
kill $JPID
wait $JPID 2>/dev/null
exit $rc
