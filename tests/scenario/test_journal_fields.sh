#!/bin/bash
# Every journald field of a jobwatchd event, read back from a real
# systemd-journald running in a private mount namespace, plus the catalog
# explanation shown by journalctl -x.  Skips (77) without unshare, journald,
# jq or the privilege to create a mount namespace.
set -u
SRC=${JW_SOURCE_DIR:?} BUILD=${JW_BUILD_DIR:?}
SEND="$BUILD/helpers/journal_send"
skip() { echo "SKIP: $*"; exit 77; }

command -v unshare >/dev/null || skip "unshare missing"
command -v jq >/dev/null || skip "jq missing"
command -v journalctl >/dev/null || skip "journalctl missing"
[ -x /lib/systemd/systemd-journald ] || [ -x /usr/lib/systemd/systemd-journald ] || skip "systemd-journald missing"
[ -x "$SEND" ] || { echo "FAIL: $SEND not built"; exit 1; }

if unshare --mount --fork true 2>/dev/null; then
	NS=(unshare --mount --fork)
elif unshare --user --map-root-user --mount --fork true 2>/dev/null; then
	NS=(unshare --user --map-root-user --mount --fork)
else
	skip "cannot create a mount namespace here"
fi

exec "${NS[@]}" "$SRC/tests/journal/run-journald.sh" \
	"$SRC/tests/journal/check-fields.sh" "$SEND" "$SRC/systemd/jobwatchd.catalog" "$SRC/daemon/notify/journal.h"
