#!/usr/bin/python3
"""A webhook receiver that is down for a long (time-compressed) stretch while 10 jobs go through their
lifecycles, then comes back: nothing is lost -- every stored event is delivered exactly once with a 2xx,
with the stored event's id and content -- and each job's events are in order: no event of a job is even
tried before the job's earlier events were accepted, while the other jobs' events are tried meanwhile.
Two hooks, two ways of being down:
  "busy": the receiver answers 503 to everything (then 200),
  "gone": the receiver is not running at all (connection refused), then restarted on the same port.
JW_WEBHOOK_TIME_SCALE=0.01 runs the schedule (1, 2, 5, 10, 30 s, 1, 2, 5 min, then every 5 min) 100 times
faster; the outage lasts until some delivery of each hook has failed at least 10 times (about 14 simulated
minutes, past the point where the schedule settles at 5 min; max_age, 24 h, is far off)."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402
import notifylib as nl  # noqa: E402

SCALE = 0.01
MIN_HEAD_ATTEMPTS = 10


def head_attempts(db, sink):
    rows = jw.sqlite_rows(db, "SELECT MAX(attempts) AS n FROM deliveries WHERE sink = ? AND state = 'pending'",
                          (sink,))
    return rows[0]["n"] or 0


def test(t):
    c = jw.Checks()
    busy = nl.Receiver(t, "busy", script=[{"status": 503, "body": "maintenance"}] * 100000)
    gone = nl.Receiver(t, "gone")
    gone.stop()  # same port later; now nothing listens there
    # Receivers first: the fake's scenario clock starts with it, so the daemon follows right after.
    scenario, kinds = lc.build(10, step_seconds=2.0)
    fake = t.start_fake(scenario)
    db = t.path("state.db")
    arns = [fake.arn(j) for j in kinds]
    cfg = nl.config(fake, db, arns, {"busy": nl.hook(busy.url + "/in"), "gone": nl.hook(gone.url + "/in")})
    d = t.start_daemon(cfg, env=nl.daemon_env(time_scale=SCALE))
    jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1")
    rows = nl.wait_stored(db, fake, kinds)
    jw.wait_until(lambda: head_attempts(db, "webhook:busy") >= MIN_HEAD_ATTEMPTS and
                  head_attempts(db, "webhook:gone") >= MIN_HEAD_ATTEMPTS, 120,
                  "both hooks' head deliveries to fail %d times" % MIN_HEAD_ATTEMPTS)
    n = len(rows)
    # Nothing was delivered or given up during the outage: everything is still pending.
    for sink in ("webhook:busy", "webhook:gone"):
        c.eq(nl.sink_states(db, sink), {"pending": n}, "%s during the outage" % sink)
    c.ok(all(p["status"] == 503 for p in busy.posts()), "busy answered only 503 so far")
    # A failing event holds only its own job: the other jobs' events were tried too.
    tried_jobs = {r["arn"] for r in rows if r["id"] in set(nl.post_ids(busy.posts()))}
    c.ok(len(tried_jobs) >= 5, "busy: events of %d jobs tried during the outage" % len(tried_jobs))

    # Up again.
    busy.set_script([])
    gone.start()
    jw.wait_until(lambda: nl.all_done(db, "webhook:busy") and nl.all_done(db, "webhook:gone"), 120,
                  "every delivery done after the receivers came back")
    d.stop()

    by_id = {r["id"]: r for r in rows}
    for name, recv in (("busy", busy), ("gone", gone)):
        routed = {r["id"] for r in nl.deliveries(db, "webhook:" + name)}
        c.eq(routed, set(by_id), "%s: every event routed to the hook" % name)
        ok = [p for p in recv.posts() if p["status"] == 200]
        ids = nl.post_ids(ok)
        c.eq(set(ids), routed, "%s: delivered webhook-ids == stored event ids" % name)
        c.eq(len(ids), len(set(ids)), "%s: no event delivered twice" % name)
        nl.check_order_per_job(c, ok, db, name)
        nl.check_attempt_order_per_job(c, recv.posts(), db, name)
        for p in ok:
            ev = by_id.get(nl.hdr(p, "webhook-id"))
            if not ev:
                continue
            b = json.loads(p["body"])
            got = (b.get("type"), b["data"].get("jobArn"), b["data"].get("previousStatus"),
                   b["data"].get("status"), b["data"].get("eventId"))
            c.eq(got, (ev["type"], ev["arn"], ev["previous_status"], ev["status"], ev["id"]),
                 "%s: body of %s as stored" % (name, ev["id"]))
    c.ok(any(p["status"] == 503 for p in busy.posts()), "busy: 503s were answered")
    c.done()


jw.main(test)
