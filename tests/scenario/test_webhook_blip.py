#!/usr/bin/python3
"""Issue #22 as a new user met it: while 10 jobs go through their lifecycles, the webhook receiver answers
503 for 10 seconds (a deploy), then 200 again.  Real time, the real retry schedule (no time scale).

  - every event is delivered within 15 s after the receiver is back (an event stored later: within 15 s
    of being stored) -- with Standard Webhooks' schedule the failing event's next try was 5 min away and
    every later event waited behind it;
  - during the outage every job with a new event (CREATE_FAILED alerts among them) is tried, not held
    behind another job's failing event, and each job's events are still tried in order;
  - the log (the journal in production) says once that the hook is failing and once that it delivers
    again, with how many events were delayed and by how long;
  - /metrics shows the hook failing with its oldest pending event's age, and STATUS= names the hook."""

import datetime
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402
import notifylib as nl  # noqa: E402

OUTAGE = 10.0
BACK_WITHIN = 15.0  # the bound, generous against the schedule (the 4th retry waits 10 s)


def post_time(p):
    return datetime.datetime.fromisoformat(p["time"].replace("Z", "+00:00")).timestamp()


def hook_metric(sock, name):
    status, text = nl.unix_get(sock, "/metrics")
    if status != 200:
        return None
    return nl.metric_samples(text, name).get(frozenset({("hook", "blip")}))


def test(t):
    c = jw.Checks()
    rcv = nl.Receiver(t, "blip")
    # Transitions every 3 s from the start (0, 3, 6 s; the late jobs at 4.5 and 7.5 s; the deleted ones go
    # at 9 s): most of them happen while the receiver is down.
    scenario, kinds = lc.build(10, step_seconds=3.0)
    fake = t.start_fake(scenario)
    db = t.path("state.db")
    sock = t.path("jw.sock")
    arns = [fake.arn(j) for j in kinds]
    cfg = nl.config(fake, db, arns, {"blip": nl.hook(rcv.url + "/in")}, extra={"http": {"listen": "unix:" + sock}})
    d = t.start_daemon(cfg, env=nl.daemon_env())
    jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1")
    jw.wait_until(lambda: any(p["status"] == 200 for p in rcv.posts()), 15, "a first delivery")

    # The deploy: 503 for OUTAGE seconds.
    rcv.set_script([{"status": 503, "body": "deploying"}] * 100000)
    down_at = time.time()
    n_before = len(rcv.posts())
    jw.wait_until(lambda: hook_metric(sock, "jobwatchd_webhook_failing") == 1.0, OUTAGE - 1,
                  "/metrics: the hook failing during the outage")
    jw.wait_until(lambda: (hook_metric(sock, "jobwatchd_webhook_oldest_pending_age_seconds") or 0) > 0,
                  OUTAGE - 1, "/metrics: an oldest pending age during the outage")
    status_re = re.compile(r"^STATUS=.*webhook blip failing for \d+ s \(\d+ pending\)")
    jw.wait_until(lambda: any(status_re.match(a) for a in d.notify_assignments()), OUTAGE,
                  "STATUS= naming the failing hook")
    time.sleep(max(0.0, down_at + OUTAGE - time.time()))
    rcv.set_script([])
    back_at = time.time()
    during = rcv.posts()[n_before:]

    rows = nl.wait_stored(db, fake, kinds)
    jw.wait_until(lambda: nl.all_done(db, "webhook:blip"), 60, "every delivery done")
    d.stop()

    # Every event delivered within BACK_WITHIN of the receiver's return (or of being stored, if later).
    detected = {r["id"]: r["detected_ms"] / 1000.0 for r in
                jw.sqlite_rows(db, "SELECT id, detected_ms FROM events")}
    posts = rcv.posts()
    first_ok = {}
    for p in posts:
        if p["status"] == 200:
            first_ok.setdefault(nl.hdr(p, "webhook-id"), post_time(p))
    c.eq(sorted(first_ok), sorted(r["id"] for r in rows), "every event delivered")
    late = {}
    for i, at in first_ok.items():
        since = max(back_at, detected.get(i, back_at))
        if at - since > BACK_WITHIN:
            late[i] = round(at - since, 1)
    worst = max((at - max(back_at, detected.get(i, back_at)) for i, at in first_ok.items()), default=0)
    print("outage %.1f s; %d events; slowest delivery %.1f s after the receiver was back" %
          (OUTAGE, len(rows), worst))
    c.ok(not late, "delivered within %d s after the receiver was back: late %s" % (BACK_WITHIN, late))

    # During the outage a failing event held only its own job: every job with a new event in the outage
    # had one of its events tried then (the head of its queue), the CREATE_FAILED jobs among them.  Each
    # job's own events stay in order: a job's CREATE_FAILED alert waits for its CREATE_IN_PROGRESS event.
    arn_of = {r["id"]: r["arn"] for r in rows}
    tried_jobs = {arn_of.get(nl.hdr(p, "webhook-id")) for p in during}
    new_jobs = {arn_of[i] for i, at in detected.items() if down_at <= at < back_at - 2}
    failed_jobs = {r["arn"] for r in rows if r["status"] == "CREATE_FAILED"}
    c.ok(len(new_jobs) >= 3, "events of several jobs detected during the outage: %d" % len(new_jobs))
    c.ok(new_jobs <= tried_jobs, "every job with an event during the outage was tried then: missing %s"
         % sorted(new_jobs - tried_jobs))
    c.ok(failed_jobs & new_jobs <= tried_jobs, "the CREATE_FAILED jobs were tried during the outage")
    nl.check_attempt_order_per_job(c, posts, db, "blip")

    # The log says it once each way.
    err = d.stderr_text()
    failing = [line for line in err.splitlines() if "webhook blip: delivery failing" in line]
    again = [line for line in err.splitlines() if "webhook blip: delivering again" in line]
    c.eq(len(failing), 1, "one 'delivery failing' line: %s" % failing)
    c.ok(failing and "503" in failing[0], "it names the answer: %s" % failing[:1])
    c.eq(len(again), 1, "one 'delivering again' line: %s" % again)
    m = re.search(r"after (\d+) s of failures; (\d+) events were delayed, the oldest by (\d+) s", "".join(again))
    c.ok(m is not None, "the recovery line tells how many events were delayed and by how long: %s" % again)
    if m:
        c.ok(int(m.group(2)) >= 3, "delayed events counted: %s" % m.group(2))
        # From the first failed attempt (after the outage began) to the first success.
        c.ok(1 <= int(m.group(1)) <= OUTAGE + BACK_WITHIN, "failing for %s s" % m.group(1))
    c.done()


jw.main(test)
