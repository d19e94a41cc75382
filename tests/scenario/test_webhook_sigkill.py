#!/usr/bin/python3
"""SIGKILL during webhook delivery, then restart, several times (seeded): after the last restart every
stored event has been delivered; a re-sent event carries the same webhook-id and the same body (the
receiver de-duplicates by id), nothing is lost, nothing unknown arrives, and per job the events arrive in
order.  The receiver answers each POST after a delay so a request is in flight when the daemon dies; the
kill happens right after the receiver has recorded a request whose delivery is still pending in the DB."""

import json
import os
import random
import signal
import sys

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402
import notifylib as nl  # noqa: E402

SEED = int(os.environ.get("JW_TEST_SEED", "20261129"))
KILLS = 4
DELAY = 0.5
MAX_IN_FLIGHT = 4  # the default of [webhook] max_in_flight


def test(t):
    c = jw.Checks()
    rnd = random.Random(SEED)
    print("seed %d" % SEED)
    secret = nl.new_secret()
    recv = nl.Receiver(t, "recv", secret=secret, script=[{"status": 200, "delay": DELAY}] * 100000)
    # Receivers first: the fake's scenario clock starts with it, so the daemon follows right after.
    scenario, kinds = lc.build(10, step_seconds=2.0)
    fake = t.start_fake(scenario)
    db = t.path("state.db")
    arns = [fake.arn(j) for j in kinds]
    cfg = nl.config(fake, db, arns, {"slowhook": nl.hook(recv.url + "/in", secret_file=recv.secret_path)})
    env = nl.daemon_env(time_scale=0.001)

    inflight_kills = 0
    for k in range(KILLS):
        d = t.start_daemon(cfg, env=env, name="jobwatchd")
        jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1 (run %d)" % (k + 1))
        base = len(recv.posts())
        wait_for = base + rnd.randint(1, 4)

        def recorded_pending():
            posts = recv.posts()
            if len(posts) < wait_for:
                return None
            last = nl.hdr(posts[-1], "webhook-id")
            st = jw.sqlite_rows(db, "SELECT d.state FROM deliveries d JOIN events e ON e.seq = d.seq "
                                    "WHERE e.id = ? AND d.sink = 'webhook:slowhook'", (last,))
            return (last, st[0]["state"] if st else None)
        last, state = jw.wait_until(recorded_pending, 60, "request %d to reach the receiver" % wait_for,
                                    interval=0.01)
        d.stop(sig=signal.SIGKILL, expect_rc=None)
        if state == "pending":
            inflight_kills += 1
        print("kill %d after post %d: event %s was %s" % (k + 1, wait_for, last, state))

    d = t.start_daemon(cfg, env=env, name="jobwatchd")
    nl.wait_stored(db, fake, kinds)
    jw.wait_until(lambda: nl.all_done(db, "webhook:slowhook"), 90, "every delivery done after the last restart")
    d.stop()

    rows = nl.events(db)
    by_id = {r["id"]: r for r in rows}
    c.eq(len(by_id), len(rows), "event ids unique")
    posts = recv.posts()
    c.ok(inflight_kills >= 1, "at least one kill hit a request in flight (%d of %d)" % (inflight_kills, KILLS))
    bodies = {}
    for p in posts:
        wid = nl.hdr(p, "webhook-id")
        c.ok(p["verified"] is True, "post %d verified (%s)" % (p["index"], p.get("verify_error")))
        c.ok(wid in by_id, "post %d: webhook-id %s is a stored event" % (p["index"], wid))
        b = json.loads(p["body"])
        c.eq(b["data"].get("eventId"), wid, "post %d: webhook-id == data.eventId" % p["index"])
        bodies.setdefault(wid, set()).add(p["body"])
    c.eq(set(bodies), set(by_id), "every stored event arrived (nothing lost)")
    c.ok(all(len(v) == 1 for v in bodies.values()), "a re-sent event has the same body")
    dups = {w for w in bodies if sum(1 for p in posts if nl.hdr(p, "webhook-id") == w) > 1}
    print("%d events, %d posts, %d events sent more than once" % (len(rows), len(posts), len(dups)))
    c.ok(len(dups) >= inflight_kills, "each kill in flight led to a re-send with the same webhook-id "
                                       "(%d re-sent, %d kills in flight)" % (len(dups), inflight_kills))
    # At most the requests in flight (max_in_flight, 4 by default) plus as many delivered but not yet
    # committed as done, per kill.
    c.ok(len(posts) <= len(rows) + 2 * MAX_IN_FLIGHT * KILLS,
         "at most %d re-sends per kill: %d posts for %d events" % (2 * MAX_IN_FLIGHT, len(posts), len(rows)))
    nl.check_order_per_job(c, posts, db, "slowhook")
    c.done()


jw.main(test)
