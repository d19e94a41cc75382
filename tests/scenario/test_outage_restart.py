#!/usr/bin/python3
"""An outage across a restart, and jobs named before the service can see them (#12).

1. A 22 s fleet-wide 503 outage; the daemon is stopped in the middle of it (after its breaker opened) and
   started again 2 s later, still inside it.  Every job changes status during the outage -- some while the
   daemon is down.  All of it is stored within 2 intervals (+ n/max_rps) after the outage ends: nothing of
   the outage is carried across the restart as a per-job backoff (before #12 the failure count was stored
   and kept doubling).
2. A job named from the start that appears 30 s later (it answers ResourceNotFoundException, and 503 during
   the outage): it is polled at its interval, so its first sight and its next transition are stored within
   2 intervals of each.
3. With `[poll] not_found_grace = 1s`, a job that never appears backs off after the grace (a warning says
   so), up to 4 intervals: fewer Gets than at its interval, but some."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402
import outage  # noqa: E402

N = 8
INTERVAL = 1.5
MAX_RPS = 20
FROM, TO = 4.0, 26.0
STOP_AT, START_AT = 11.0, 13.0
APPEAR, LATE_ACTIVE = 32.0, 38.0
BOUND = 2 * INTERVAL + (N + 1) / MAX_RPS


def config(fake, db, arns, extra_poll=None):
    cfg = lc.daemon_config(fake, db, arns, interval="1500ms", extra={"aws": {"max_rps": MAX_RPS}})
    cfg["poll"].update(extra_poll or {})
    return cfg


def test(t):
    ids = ["r%02d" % i for i in range(N)]
    changes = outage.changes_in(7, ids, FROM, TO)
    # Two jobs change while the daemon is down.
    changes[ids[2]], changes[ids[3]] = STOP_AT + 0.8, START_AT - 0.5
    jobs = [{"id": j, "steps": [{"at": 0, "status": "CREATE_IN_PROGRESS"}, {"at": changes[j], "status": "ACTIVE"}]}
            for j in ids]
    jobs.append({"id": "late", "appearAt": APPEAR,
                 "steps": [{"at": APPEAR, "status": "CREATE_IN_PROGRESS"}, {"at": LATE_ACTIVE, "status": "ACTIVE"}]})
    fake = t.start_fake({"jobs": jobs, "faults": [{"kind": "503", "from": FROM, "to": TO, "op": "get"}]})
    start = outage.fake_start(fake)
    db = t.path("state.db")
    arns = [fake.arn(j) for j in ids + ["late"]]
    cfg = config(fake, db, arns)

    d1 = t.start_daemon(cfg, env=jw.aws_env(), config_name="d.conf")
    jw.wait_until(lambda: fake.now() > STOP_AT, 30, "the middle of the outage")
    jw.wait_until(lambda: "AWS API unavailable:" in d1.stderr_text(), 5, "the breaker opened before the restart")
    d1.stop()
    jw.check("AWS API available again" not in d1.stderr_text(), "no recovery seen by the first daemon")
    jw.wait_until(lambda: fake.now() > START_AT, 10, "restart time")
    d2 = t.start_daemon(cfg, env=jw.aws_env(), config_name="d.conf")
    jw.wait_until(lambda: fake.now() > LATE_ACTIVE + BOUND + outage.SCHEDULING_SLACK_S + 1, 60,
                  "the late job's transition")
    d2.stop()

    want = {(fake.arn(j), "ACTIVE"): (start + changes[j], start + TO) for j in ids}
    worst = outage.check_detected_within(db, fake, want, BOUND, "the end of the outage")
    print("outage across a restart: slowest report %.2f s after its end (bound %.2f s)" % (worst, BOUND))
    late = fake.arn("late")
    want = {(late, "CREATE_IN_PROGRESS"): (start + APPEAR, start + APPEAR),
            (late, "ACTIVE"): (start + LATE_ACTIVE, start + LATE_ACTIVE)}
    worst = outage.check_detected_within(db, fake, want, 2 * INTERVAL, "the change")
    print("late job: slowest report %.2f s after its change (bound %.2f s)" % (worst, 2 * INTERVAL))
    err = d2.stderr_text()
    jw.check("AWS API unavailable:" in err and "AWS API available again" in err, "the second daemon's outage lines")
    jw.check("is not visible to the service yet" in d1.stderr_text() + err, "the late job's notice")
    jw.check("still answers ResourceNotFoundException" not in err, "no backoff within the grace")
    got = lc.sequences(lc.stored_events(db))
    for j in ids:
        jw.check_eq(got.get(fake.arn(j)), [("job.discovered", None, "CREATE_IN_PROGRESS"),
                                           ("job.status_changed", "CREATE_IN_PROGRESS", "ACTIVE")], "events of " + j)
    jw.check_eq(got.get(late), [("job.discovered", None, "CREATE_IN_PROGRESS"),
                                ("job.status_changed", "CREATE_IN_PROGRESS", "ACTIVE")], "events of the late job")

    # 3. Past the grace, a job that never appears backs off -- but is still polled.
    never = fake.arn("never")
    cfg = config(fake, t.path("state2.db"), [never], extra_poll={"not_found_grace": "1s", "jitter": "0%"})
    d3 = t.start_daemon(cfg, env=jw.aws_env(), config_name="d3.conf")
    t0 = time.time()
    time.sleep(14)
    d3.stop()
    n = len([r for r in outage.gets_between(fake, t0, time.time()) if r.get("arn") == never])
    # At its interval: ~9 Gets in 14 s; backed off (1.5, 3, 6, 6 s ...): about 5.
    print("never-appearing job: %d Gets in 14 s" % n)
    jw.check(3 <= n <= 6, "Gets of a job past its grace: %d" % n)
    jw.check("still answers ResourceNotFoundException" in d3.stderr_text(), "the backoff warning")


jw.main(test)
