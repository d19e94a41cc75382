#!/usr/bin/python3
"""Fault matrix, webhooks: while a fleet of jobs moves through real lifecycles, the webhook receiver is
down (nothing listening), then answers 503s, answers too slowly (past the webhook timeout), answers 429
with a Retry-After longer than the schedule, and 410 Gone (the hook is disabled until a reload).  The
daemon keeps running, logs each fault, the event sequences are exact (the API is healthy), and in the end
every event was delivered at least once with a valid signature, duplicates only under the same webhook-id,
nothing delivered that is not an event, and every outbox row is done.
JW_WEBHOOK_TIME_SCALE=0.001 compresses the retry schedule (5 s -> 5 ms, 5 min -> 0.3 s, Retry-After 1000 ->
1 s).  Successes are interleaved with the faults so no event climbs far up the schedule."""

import datetime
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402

SECRET = "whsec_" + jw.b64("jw-webhook-fault-secret-0123456789")


def iso_ts(s):
    return datetime.datetime.strptime(s.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() \
        if "." in s else datetime.datetime.strptime(s.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z").timestamp()


def post_time(p):
    t = p.get("time")
    return float(t) if isinstance(t, (int, float)) else iso_ts(t)


def test(t):
    c = jw.Checks()
    scenario, kinds = lc.build(15, step_seconds=3.0, prefix="wh")  # 3 s: a late job's 404 backoff still lands in its first step
    fake = t.start_fake(scenario)
    rcv = t.start_receiver(secret=SECRET)
    dead = jw.free_port()  # nothing listens there
    t.write("wh.secret", SECRET, mode=0o600)
    db = t.path("state.db")

    def cfg(url):
        return lc.daemon_config(fake, db, [fake.arn(j) for j in kinds], extra={
            # One request at a time: the scripted answers then meet the attempts in order, and "the
            # next attempt after the 429" is one the daemon started after reading it.
            'webhook "ops"': {"url": url, "secret_file": t.path("wh.secret"), "timeout": "1s",
                              "max_in_flight": 1}})
    good = rcv.url + "/hook"
    d = t.start_daemon(cfg("http://127.0.0.1:%d/hook" % dead), env=dict(jw.aws_env(), JW_WEBHOOK_TIME_SCALE="0.001"))
    jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1")

    # 1. Receiver down for 1.2 s: events pile up in the outbox.
    jw.wait_until(lambda: len(lc.stored_events(db)) >= 15, 15, "first events")
    time.sleep(1.2)
    pending = jw.sqlite_rows(db, "SELECT COUNT(*) AS n FROM deliveries WHERE state='pending'")[0]["n"]
    c.ok(pending > 0, "events pending while the receiver is down (%d)" % pending)
    err = d.stderr_text()
    c.ok("webhook ops" in err, "receiver down is logged: %s" %
         [l for l in err.splitlines() if "webhook" in l][:3])

    # 2. The receiver comes up (reload to its URL) and answers 503, 503, too slowly, 429 + Retry-After, 410.
    rcv.set_script([{"status": 503}, {"status": 200}, {"status": 503}, {"status": 200},
                    {"status": 200, "delay": 2.5}, {"status": 200},
                    {"status": 429, "headers": {"Retry-After": "1000"}}, {"status": 200}, {"status": 410}])
    n_log = len(d.stderr_text())
    d.reload(cfg(good))
    # "410 Gone", not "410": other lines carry numbers ("visible now, 4410 ms after ...").
    jw.wait_until(lambda: "answered 410 Gone" in d.stderr_text()[n_log:], 30, "the 410 answer")
    c.ok(d.alive(), "daemon alive after 410")
    # The receiver writes its record after answering: wait for the 410's before counting.
    jw.wait_until(lambda: any(p.get("status") == 410 for p in rcv.posts()), 10, "the 410 recorded")
    posts_at_410 = len(rcv.posts())
    time.sleep(1.5)
    c.eq(len(rcv.posts()), posts_at_410, "nothing sent while disabled by 410")
    err = d.stderr_text()[n_log:]
    for what, word in (("503", "503"), ("timeout", "timed out"), ("429", "429")):
        c.ok(word in err.lower() or word in err, "%s logged: %s" % (what, [l for l in err.splitlines()
                                                                      if "webhook" in l][:4]))
    # 3. A reload re-enables the hook; everything goes out.
    d.reload(cfg(good))
    jw.wait_until(lambda: lc.done(db, fake, kinds), 40, "every expected event stored")

    def all_delivered():
        rows = jw.sqlite_rows(db, "SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state")
        return rows and all(r["state"] == "done" for r in rows)
    jw.wait_until(all_delivered, 40, "every delivery done")
    time.sleep(0.5)
    d.stop()
    lc.compare(db, fake, kinds)

    posts = rcv.posts()
    ok_posts = [p for p in posts if p.get("status") == 200]
    ids = {r["id"] for r in lc.stored_events(db)}
    by_id = {}
    for p in posts:
        h = {k.lower(): v for k, v in p["headers"].items()}
        wid = h.get("webhook-id")
        body = json.loads(p["body"])
        c.ok(p.get("verified") is True, "signature verifies: %s" % p.get("verify_error"))
        c.ok(body.get("data", {}).get("eventId") == wid, "webhook-id equals the eventId")
        by_id.setdefault(wid, []).append(p)
    c.ok(set(by_id) <= ids, "nothing delivered that is not an event: %s" % (set(by_id) - ids))
    delivered = {json.loads(p["body"])["data"]["eventId"] for p in ok_posts}
    c.eq(sorted(ids - delivered), [], "every event delivered with a 2xx")
    dups = sum(len(v) - 1 for v in by_id.values())
    print("events %d, POSTs %d, repeated deliveries %d" % (len(ids), len(posts), dups))
    # Retry-After 1000 s scaled by 0.001 = 1 s; the schedule alone would give 5 ms.
    for i, p in enumerate(posts[:-1]):
        if p.get("status") == 429:
            gap = post_time(posts[i + 1]) - post_time(p)
            c.ok(gap >= 0.8, "Retry-After honoured: next attempt %.2fs after the 429" % gap)
    c.done()


jw.main(test)
