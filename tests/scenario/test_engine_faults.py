#!/usr/bin/python3
"""Faults from the fake (5xx, 429 bursts, resets, stalls, slow and truncated bodies, malformed and huge bodies,
invalid status values, missing fields, expired tokens) produce warnings and retries, never events: each job's
event sequence is exactly the true one, and the transitions after the faults are still detected."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402

KINDS = ["500", "503", "throttle", "reset", "stall", "slow", "truncated", "malformed", "huge",
         "invalid_status", "missing_fields", "expired_token", "bare_404", "unknown_operation"]
WINDOW = 5.0


def test(t):
    n = 24
    ids = ["f%02d" % i for i in range(n)]
    storm_end = 1.0 + WINDOW
    flip_at = storm_end + 1.0
    jobs = []
    for i, j in enumerate(ids):
        final = "ACTIVE" if i % 2 == 0 else "CREATE_FAILED"
        steps = [{"at": 0, "status": "CREATE_IN_PROGRESS"}, {"at": flip_at, "status": final}]
        if final == "CREATE_FAILED":
            steps[1]["statusDetails"] = {"statusCode": "E1", "message": "failed after the storm"}
        jobs.append({"id": j, "name": "storm-" + j, "steps": steps})
    # Every kind hits two jobs for the whole storm, at random half of their polls.
    faults = [{"kind": KINDS[i % len(KINDS)], "job": jw.job_arn("f%02d" % i), "from": 1.0, "to": storm_end, "rate": 0.5,
               "op": "get"} for i in range(n)]
    fake = t.start_fake({"jobs": jobs, "faults": faults})
    db = t.path("state.db")
    cfg = lc.daemon_config(fake, db, [fake.arn(j) for j in ids], interval="150ms")
    cfg["aws"]["timeout"] = "700ms"
    d = t.start_daemon(cfg, env=jw.aws_env())
    jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1")

    def settled():
        rows = jw.sqlite_rows(db, "SELECT arn, type FROM events") if os.path.exists(db) else []
        return sum(1 for r in rows if r["type"] == "job.status_changed") >= n
    jw.wait_until(settled, 60, "every job's final transition after the faults")
    time.sleep(0.5)
    d.stop()

    want = {}
    for i, j in enumerate(ids):
        final = "ACTIVE" if i % 2 == 0 else "CREATE_FAILED"
        want[fake.arn(j)] = [("job.discovered", None, "CREATE_IN_PROGRESS"),
                             ("job.status_changed", "CREATE_IN_PROGRESS", final)]
    got = lc.sequences(lc.stored_events(db))
    for arn, ev in want.items():
        jw.check_eq(got.get(arn), ev, "events of %s" % arn)
    jw.check_eq(sorted(got), sorted(want), "jobs with events")

    # Every fault kind was actually served, and the daemon reported poll failures.
    served = {r.get("fault") for r in fake.requests("get") if r.get("fault")}
    missing = [k for k in KINDS if k not in served]
    jw.check(not missing, "fault kinds never served: %s" % missing)
    err = d.stderr_text()
    jw.check("poll of" in err and "failed" in err, "poll failures logged as warnings")
    fails = jw.sqlite_rows(db, "SELECT SUM(poll_failures) AS n FROM jobs")[0]["n"]
    jw.check(fails and fails > 0, "poll failures counted per job: %s" % fails)


jw.main(test)
