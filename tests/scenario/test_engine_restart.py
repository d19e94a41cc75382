#!/usr/bin/python3
"""Restart mid-scenario, once with SIGKILL and once with SIGTERM: afterwards every job's event sequence is
exactly the expected one (none duplicated, none missed), the database passes integrity_check, and a second
daemon on the same state file refuses to start with a clear message."""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402


def count_events(db):
    try:
        return len(lc.stored_events(db))
    except Exception:
        return 0


def test(t):
    scenario, kinds = lc.build(25, step_seconds=2.5)
    fake = t.start_fake(scenario)
    db = t.path("state.db")
    cfg = lc.daemon_config(fake, db, [fake.arn(j) for j in kinds])

    d = t.start_daemon(cfg, env=jw.aws_env(), name="first")
    jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1")

    # A second instance on the same database must refuse.
    other = t.start_daemon(cfg, env=jw.aws_env(), name="second")
    rc = other.wait(20)
    jw.check(rc not in (0, None), "second instance exited %s" % rc)
    jw.check("another jobwatchd" in other.stderr_text(), "clear lock message: %s" % other.stderr_text())

    jw.wait_until(lambda: count_events(db) >= 25, 20, "first sight of every job")
    d.kill(signal.SIGKILL)
    d.wait(10)

    d2 = t.start_daemon(cfg, env=jw.aws_env(), name="after-kill")
    jw.wait_until(lambda: d2.notify_has("READY=1"), 15, "READY=1 after SIGKILL")
    n = count_events(db)
    jw.wait_until(lambda: count_events(db) > n + 10, 20, "progress after restart")
    d2.stop(signal.SIGTERM)
    jw.check(d2.notify_has("STOPPING=1"), "STOPPING=1 sent")

    d3 = t.start_daemon(cfg, env=jw.aws_env(), name="after-term")
    jw.wait_until(lambda: d3.notify_has("READY=1"), 15, "READY=1 after SIGTERM")
    jw.wait_until(lambda: lc.done(db, fake, kinds), 60, "every expected event stored")
    time.sleep(1.0)
    d3.stop()
    lc.compare(db, fake, kinds)
    jw.check(jw.sqlite_integrity(db) == ["ok"], "integrity_check")


jw.main(test)
