#!/usr/bin/python3
"""The systemd notification protocol on a captured NOTIFY_SOCKET: READY=1 with a STATUS line after start,
STATUS updates, WATCHDOG=1 keep-alives at about half of WATCHDOG_USEC (sent from the loop), and STOPPING=1 on
SIGTERM with exit code 0."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402


def test(t):
    fake = t.start_fake({"jobs": [{"id": "x", "steps": [{"at": 0, "status": "CREATE_IN_PROGRESS"}]}]})
    d = t.start_daemon(lc.daemon_config(fake, t.path("s.db"), [fake.arn("x")]), env=jw.aws_env(),
                       watchdog_usec=400000)
    jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1")
    ready = [m for m in d.notify_messages() if "READY=1" in m][0]
    jw.check("STATUS=watching 1 job:" in ready, "READY carries a STATUS line: %r" % ready)
    jw.wait_until(lambda: sum(1 for m in d.notify_messages() if m == "WATCHDOG=1") >= 8, 10,
                  "at least 8 WATCHDOG=1 pings")
    # Cadence: pings are sent every WATCHDOG_USEC/2 (200 ms); count them over a window and compare with the
    # number the interval allows, loosely (a loaded machine may delay a few, never send many more).
    msgs = d.notify_messages(with_times=True)
    pings = [ts for ts, m in msgs if m == "WATCHDOG=1"]
    span = pings[-1] - pings[0]
    jw.check(len(pings) - 1 <= span / 0.2 + 2, "not more pings than the interval allows: %d in %.2fs"
             % (len(pings), span))
    jw.wait_until(lambda: sum(1 for m in d.notify_messages() if m.startswith("STATUS=watching")) >= 2, 15,
                  "periodic STATUS updates")
    d.stop()
    jw.check(d.notify_messages()[-1] == "STOPPING=1" or "STOPPING=1" in d.notify_assignments(), "STOPPING=1")


jw.main(test)
