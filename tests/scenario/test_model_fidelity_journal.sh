#!/bin/bash
# test_model_fidelity.py inside a private systemd-journald (tests/journal/run-journald.sh): an unknown status
# is journaled at warning priority with its raw value, and the sensitive members of a SQL-seeded job appear
# nowhere in the journal either.  Skips (77) when not root or without unshare / systemd-journald / journalctl.
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
	env JW_SOURCE_DIR="$SRC" JW_BUILD_DIR="$BUILD" JW_IN_JOURNALD=1 python3 "$SRC/tests/scenario/test_model_fidelity.py"
