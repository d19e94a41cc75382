#!/bin/bash
# End to end: a job goes CREATE_IN_PROGRESS -> CREATE_FAILED; the daemon (journal enabled, one signed json
# webhook) writes a journal entry with every field to a real systemd-journald and delivers a verified
# signed webhook for the same EVENT_ID.  Everything (journald, fake service, receiver, daemon) runs in a
# private mount namespace (tests/journal/run-journald.sh); the work is in tests/journal/e2e_failure.py.
# Prints the measured delay from the status flip to the journal entry and the webhook.
# Skips (77) when not root or without unshare / systemd-journald / journalctl.
set -u
SRC=${JW_SOURCE_DIR:?} BUILD=${JW_BUILD_DIR:?}
skip() { echo "SKIP: $*"; exit 77; }

[ "$(id -u)" = 0 ] || skip "needs root (mount namespace with a private /run)"
command -v unshare >/dev/null || skip "unshare missing"
command -v journalctl >/dev/null || skip "journalctl missing"
[ -x /lib/systemd/systemd-journald ] || [ -x /usr/lib/systemd/systemd-journald ] || skip "systemd-journald missing"
[ -x "$BUILD/jobwatchd" ] || { echo "FAIL: $BUILD/jobwatchd not built"; exit 1; }
unshare --mount --fork true 2>/dev/null || skip "cannot create a mount namespace here"

exec unshare --mount --fork "$SRC/tests/journal/run-journald.sh" \
	env JW_SOURCE_DIR="$SRC" JW_BUILD_DIR="$BUILD" python3 "$SRC/tests/journal/e2e_failure.py"
