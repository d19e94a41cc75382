#!/usr/bin/python3
"""job.gone ends a job's watch, so one ResourceNotFoundException is not enough for a job that was seen in a
status where deletion is not under way:

- a: ACTIVE, one stray 404 (an injected not_found): no job.gone, a is still polled and its next transition
  is still reported;
- b: ACTIVE, then really deleted: job.gone after the second 404 in a row, and no Get after that;
- c: DELETE_IN_PROGRESS, then deleted: job.gone on the first 404 (expected at the end of a deletion)."""

import datetime
import os
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402


def answers(fake, arn):
    return [r for r in fake.requests("get") if r.get("arn") == arn]


def wall(iso):
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def events(db, arn):
    return [r["type"] + ":" + (r["status"] or "") for r in jw.sqlite_rows(
        db, "SELECT type, status FROM events WHERE arn = ? ORDER BY rowid", (arn,))]


def test(t):
    fake = t.start_fake({"jobs": [
        {"id": "a", "steps": [{"at": 0, "status": "ACTIVE"}]},
        {"id": "b", "steps": [{"at": 0, "status": "ACTIVE"}]},
        {"id": "c", "steps": [{"at": 0, "status": "DELETE_IN_PROGRESS"}]},
    ]})
    a, b, c = fake.arn("a"), fake.arn("b"), fake.arn("c")
    db = t.path("state.db")
    d = t.start_daemon(lc.daemon_config(fake, db, [a, b, c]), env=jw.aws_env())
    jw.wait_until(lambda: all(events(db, x) for x in (a, b, c)), 20, "all three seen")

    # a: one stray 404.
    fake.add_fault("not_found", job=a, count=1)
    jw.wait_until(lambda: any(r.get("fault") == "not_found" for r in answers(fake, a)), 10, "the stray 404 served")
    jw.wait_until(lambda: "answered again after a ResourceNotFoundException" in d.stderr_text(), 10,
                  "a answered again")
    fake.set_job("a", "DELETE_PENDING")
    jw.wait_until(lambda: "job.status_changed:DELETE_PENDING" in events(db, a), 10, "a's next transition")
    jw.check_eq(events(db, a), ["job.discovered:ACTIVE", "job.status_changed:DELETE_PENDING"], "a's events")

    # b and c: deleted for real.
    fake.delete_job(b)
    fake.delete_job(c)
    jw.wait_until(lambda: "job.gone:GONE" in events(db, b) and "job.gone:GONE" in events(db, c), 15, "b and c gone")
    time.sleep(1.0)
    for arn, want_404s in ((b, 2), (c, 1)):
        n404 = [r for r in answers(fake, arn) if r.get("status") == 404]
        jw.check_eq(len(n404), want_404s, "404s answered for %s before it was gone, and none after" % arn[-1])
    b404 = [r for r in answers(fake, b) if r.get("status") == 404]
    gap = wall(b404[1]["time"]) - wall(b404[0]["time"])
    jw.check(gap >= 0.09, "the confirming Get came %.3f s after the first 404" % gap)
    jw.check_eq(events(db, b), ["job.discovered:ACTIVE", "job.gone:GONE"], "b's events")
    jw.check_eq(events(db, c), ["job.discovered:DELETE_IN_PROGRESS", "job.gone:GONE"], "c's events")
    d.stop()
    jw.check("poll of" not in d.stderr_text(), "a 404 was logged as a failed poll: %s" % d.stderr_text()[-1500:])


jw.main(test)
