#!/usr/bin/python3
"""Per-webhook delivery rules, one daemon with five hooks (each its own receiver) while 10 jobs go through
their lifecycles:
  all     — plain json hook: every event delivered (the others must not disturb it);
  gone410 — answers 410 to the first request: the hook is disabled (error logged), never asked again, its
            events stay pending in the outbox;
  small   — max_pending = 3, receiver not running until every event is stored: the overflow is dropped
            (state 'dropped', oldest first), the count logged at error, and the 3 newest events are delivered
            when the receiver comes back;
  filtered — on = CREATE_FAILED job.gone: exactly those events are routed and delivered, nothing else;
  bad400  — on = CREATE_FAILED, answers 400 forever: each event is tried WEBHOOK_CLIENT_ERROR_ATTEMPTS (5)
            times with the same webhook-id, then parked; the rejection is logged with the status and body.
/metrics shows the disabled hook and the dropped / parked / delivered counts."""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402
import notifylib as nl  # noqa: E402

CLIENT_ERROR_ATTEMPTS = 5  # WEBHOOK_CLIENT_ERROR_ATTEMPTS in daemon/notify/webhook.h
MAX_PENDING = 3


def log_lines(text, level_re, *needles):
    out = []
    for line in text.splitlines():
        if re.search(r"\[(%s)\]" % level_re, line) and all(n in line for n in needles):
            out.append(line)
    return out


def test(t):
    c = jw.Checks()
    r_all = nl.Receiver(t, "all")
    r_410 = nl.Receiver(t, "gone410", script=[{"status": 410, "body": "this hook is gone"}])
    r_small = nl.Receiver(t, "small")
    r_small.stop()
    r_filt = nl.Receiver(t, "filtered")
    r_400 = nl.Receiver(t, "bad400", script=[{"status": 400, "body": "nope-body: bad request"}] * 1000)
    # Receivers first: the fake's scenario clock starts with it, so the daemon follows right after.
    scenario, kinds = lc.build(10, step_seconds=2.0)
    fake = t.start_fake(scenario)
    db = t.path("state.db")
    sock = t.path("api.sock")
    arns = [fake.arn(j) for j in kinds]
    cfg = nl.config(fake, db, arns, {
        "all": nl.hook(r_all.url + "/x"),
        "gone410": nl.hook(r_410.url + "/x"),
        "small": nl.hook(r_small.url + "/x", max_pending=MAX_PENDING),
        "filtered": nl.hook(r_filt.url + "/x", on="CREATE_FAILED job.gone"),
        "bad400": nl.hook(r_400.url + "/x", on="CREATE_FAILED"),
    }, extra={"http": {"listen": "unix:" + sock}})
    d = t.start_daemon(cfg, env=nl.daemon_env(time_scale=0.0001))
    jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1")
    rows = nl.wait_stored(db, fake, kinds)
    n = len(rows)

    # small: wait until the backlog is cut to max_pending, then bring the receiver up.
    jw.wait_until(lambda: nl.sink_states(db, "webhook:small").get("dropped", 0) == n - MAX_PENDING, 60,
                  "webhook:small backlog cut to %d" % MAX_PENDING)
    r_small.start()
    jw.wait_until(lambda: nl.sink_states(db, "webhook:small").get("done", 0) == MAX_PENDING, 60,
                  "webhook:small delivering the newest events")
    jw.wait_until(lambda: nl.all_done(db, "webhook:all") and nl.all_done(db, "webhook:filtered"), 60,
                  "webhook:all and webhook:filtered drained")
    jw.wait_until(lambda: set(nl.sink_states(db, "webhook:bad400")) == {"parked"}, 60,
                  "webhook:bad400 deliveries parked")
    # One more full lifecycle of polls for the disabled hook to (wrongly) try again.
    jw.wait_until(lambda: len(fake.requests("get")) > 10 * 20, 30, "more poll rounds")
    metrics_status, metrics = nl.unix_get(sock, "/metrics")
    d.stop()
    err = d.stderr_text()
    by_id = {r["id"]: r for r in rows}

    # all
    c.eq(sorted(nl.post_ids(r_all.posts())), sorted(by_id), "all: every event delivered once")

    # gone410
    p410 = r_410.posts()
    c.eq(len(p410), 1, "gone410: exactly one request (then disabled)")
    c.eq(nl.sink_states(db, "webhook:gone410"), {"pending": n}, "gone410: every event still pending in the outbox")
    c.ok(log_lines(err, "error|err|crit|alert", "gone410", "410"),
         "gone410: an error-level log line names the hook and the 410")

    # small
    st = nl.sink_states(db, "webhook:small")
    c.eq(st, {"dropped": n - MAX_PENDING, "done": MAX_PENDING}, "small: outbox states")
    dl = nl.deliveries(db, "webhook:small")
    newest = [r["id"] for r in dl][-MAX_PENDING:]
    c.eq([r["id"] for r in dl if r["state"] == "done"], newest, "small: the newest %d were kept" % MAX_PENDING)
    ok_small = [nl.hdr(p, "webhook-id") for p in r_small.posts() if p["status"] == 200]
    # Order is per job (other jobs' events may pass each other), so: the same set, once each, and each
    # job's events in order.
    c.eq(sorted(ok_small), sorted(newest), "small: the newest events delivered")
    c.eq(len(ok_small), len(set(ok_small)), "small: each once")
    nl.check_attempt_order_per_job(c, r_small.posts(), db, "small")
    drop_lines = log_lines(err, "error|err|crit|alert", "small", "dropped")
    c.ok(drop_lines, "small: overflow logged at error level")
    logged = 0
    for line in drop_lines:
        m = re.search(r"dropped\D*?(\d+)", line)
        if m:
            logged += int(m.group(1))
    c.eq(logged, n - MAX_PENDING, "small: dropped counts in the log add up to the dropped rows")

    # filtered
    want = [r["id"] for r in rows if r["status"] == "CREATE_FAILED" or r["type"] == "job.gone"]
    c.ok(len(want) == 4, "the scenario has 2 CREATE_FAILED and 2 job.gone events (%d)" % len(want))
    c.eq([r["id"] for r in nl.deliveries(db, "webhook:filtered")], want, "filtered: routed events")
    c.eq(sorted(nl.post_ids(r_filt.posts())), sorted(want), "filtered: delivered events, once each")
    nl.check_attempt_order_per_job(c, r_filt.posts(), db, "filtered")

    # bad400
    want400 = [r["id"] for r in rows if r["status"] == "CREATE_FAILED"]
    d400 = nl.deliveries(db, "webhook:bad400")
    c.eq([r["id"] for r in d400], want400, "bad400: routed events")
    c.eq([(r["state"], r["attempts"]) for r in d400], [("parked", CLIENT_ERROR_ATTEMPTS)] * len(want400),
         "bad400: parked after %d attempts" % CLIENT_ERROR_ATTEMPTS)
    ids400 = nl.post_ids(r_400.posts())
    c.eq(sorted(ids400), sorted(i for i in want400 for _ in range(CLIENT_ERROR_ATTEMPTS)),
         "bad400: %d attempts per event with the same webhook-id" % CLIENT_ERROR_ATTEMPTS)
    c.ok(log_lines(err, "warning|warn|error|err", "bad400", "400", "nope-body"),
         "bad400: the rejection is logged with the status and the response")
    c.ok(all("400" in (r["last_error"] or "") for r in d400), "bad400: last_error records the status")

    # The same outcomes are visible in /metrics.
    c.eq(metrics_status, 200, "/metrics answered")
    dis = nl.metric_samples(metrics, "jobwatchd_webhook_disabled")
    c.eq(dis.get(frozenset({("hook", "gone410")})), 1.0, "/metrics: gone410 disabled")
    c.eq(dis.get(frozenset({("hook", "all")})), 0.0, "/metrics: all not disabled")
    tot = nl.metric_samples(metrics, "jobwatchd_webhook_deliveries_total")

    def total(hook, outcome):
        return tot.get(frozenset({("hook", hook), ("outcome", outcome)}))
    c.eq(total("small", "dropped"), float(n - MAX_PENDING), "/metrics: small dropped")
    c.eq(total("bad400", "parked"), float(len(want400)), "/metrics: bad400 parked")
    c.eq(total("all", "delivered"), float(n), "/metrics: all delivered")
    c.done()


jw.main(test)
