#!/usr/bin/python3
"""Crash-restart: 200 jobs moving through real lifecycles, a signing webhook receiver, and the daemon killed
with SIGKILL at random (seeded) moments and restarted, again and again: 15 times in the short form, 120 with
JW_SOAK=1 (`make soak`).  After every kill the state database passes integrity_check; at the end
  - every job's sequence is exact where every step was visible, and otherwise consistent with the statuses
    clean polls saw (lifecycles.check_fleet): no false event, no missed one;
  - every event was delivered to the receiver at least once with a 2xx and a valid signature;
  - a repeated delivery always carries the same webhook-id and the same data (the kill fell between the
    POST and recording it as sent) -- they are counted and reported;
  - nothing was delivered that is not a stored event.
JW_CRASH_SEED picks the kill schedule (default 1)."""

import json
import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402

SOAK = os.environ.get("JW_SOAK", "0") not in ("", "0")
SECRET = "whsec_" + jw.b64("jw-crash-restart-secret-000000000")


def test(t):
    kills = 120 if SOAK else 15
    seed = int(os.environ.get("JW_CRASH_SEED", "1"))
    rnd = random.Random(seed)
    # Each cycle lasts ~0.1-1.2 s plus start-up; the scenario spans the kill loop.
    step = 40.0 if SOAK else 5.0
    scenario, kinds = lc.build(200, step_seconds=step, prefix="crash")
    fake = t.start_fake(scenario)
    rcv = t.start_receiver(secret=SECRET)
    t.write("wh.secret", SECRET, mode=0o600)
    db = t.path("state.db")
    cfg = lc.daemon_config(fake, db, [fake.arn(j) for j in kinds],
                           extra={'webhook "crash"': {"url": rcv.url + "/hook", "secret_file": t.path("wh.secret"),
                                                      "timeout": "2s"}})
    env = dict(jw.aws_env(), JW_WEBHOOK_TIME_SCALE="0.001")
    c = jw.Checks()
    deadline = time.monotonic() + (900 if SOAK else 50)
    survived = 0
    for i in range(kills):
        if time.monotonic() > deadline:
            break
        d = t.start_daemon(cfg, env=env, name="run%03d" % i)
        time.sleep(rnd.uniform(0.05, 1.2))
        if not d.alive():
            jw.fail("run %d exited on its own (rc %s):\n%s" % (i, d.proc.popen.returncode, d.stderr_text()[-2000:]))
        d.kill(signal.SIGKILL)
        rc = d.wait(10)
        c.ok(rc == -signal.SIGKILL, "run %d killed (rc %s)" % (i, rc))
        survived += 1
        if os.path.exists(db):
            c.eq(jw.sqlite_integrity(db), ["ok"], "integrity_check after kill %d" % i)
    print("SIGKILL restarts: %d (seed %d)" % (survived, seed))
    c.ok(survived >= (100 if SOAK else 10), "enough kills within the time bound (%d)" % survived)

    final = t.start_daemon(cfg, env=env, name="final")
    jw.wait_until(lambda: final.notify_has("READY=1"), 15, "READY=1 (final)")
    lc.wait_truth(db, fake, kinds, 120 if SOAK else 45, scenario)

    def all_delivered():
        rows = jw.sqlite_rows(db, "SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state")
        return rows and all(r["state"] == "done" for r in rows)
    jw.wait_until(all_delivered, 60, "every delivery done")
    time.sleep(0.5)
    final.stop()
    c.eq(jw.sqlite_integrity(db), ["ok"], "integrity_check at the end")
    exact, partial = lc.check_fleet(db, fake, scenario, kinds, c=c)
    rows = lc.stored_events(db)
    ids = {r["id"] for r in rows}

    by_event = {}
    for p in rcv.posts():
        h = {k.lower(): v for k, v in p["headers"].items()}
        body = json.loads(p["body"])
        eid = body.get("data", {}).get("eventId")
        c.ok(p.get("verified") is True, "signature verifies (%s)" % p.get("verify_error"))
        c.ok(h.get("webhook-id") == eid, "webhook-id %s equals the eventId %s" % (h.get("webhook-id"), eid))
        by_event.setdefault(eid, []).append((p, body))
    c.ok(set(by_event) <= ids, "nothing delivered that is not an event: %s" % sorted(set(by_event) - ids)[:3])
    delivered = {e for e, ps in by_event.items() if any(p.get("status") == 200 for p, _ in ps)}
    c.eq(sorted(ids - delivered), [], "every event delivered at least once")
    repeats = 0
    for eid, ps in by_event.items():
        repeats += len(ps) - 1
        first = ps[0][1]
        for _, body in ps[1:]:
            c.ok(body["data"] == first["data"] and body["type"] == first["type"],
                 "a repeated delivery of %s carries the same event" % eid)
    print("events %d, jobs compared exactly %d / against visible statuses %d, POSTs %d, repeated deliveries %d"
          % (len(ids), exact, partial, sum(len(v) for v in by_event.values()), repeats))
    c.done()


jw.main(test)
