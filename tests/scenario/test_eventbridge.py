#!/usr/bin/python3
"""[eventbridge "NAME"] sinks against the fake's PutEvents (which verifies every request's SigV4 with signing
name "events" and the body's hash): a lifecycle of 10 jobs while the bus refuses every 3rd entry
(ThrottlingException), then every entry (InternalFailure) while the daemon is SIGKILLed, then every 4th entry
again after the restart, with whole requests throttled or failing with a 500 and a 503.  At the end every stored transition is on the bus exactly once, with its job ARN in
Resources, the detail type of its event type, the json webhook's data (plus type) as Detail, the event's
time as Time, the configured bus and source; a second sink with `on = CREATE_FAILED` gets exactly the failed
jobs.  A validation code (InvalidArgument) parks the event and says why; SIGHUP sends it again.  /metrics
counts it all, `jobwatchd status` lists the sinks, and a reload adds one."""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402
import notifylib as nl  # noqa: E402

DETAIL_TYPES = {"job.discovered": "Audience Generation Job Discovered",
                "job.status_changed": "Audience Generation Job Status Change",
                "job.stuck": "Audience Generation Job Stuck",
                "job.gone": "Audience Generation Job Gone", "job.not_found": "Audience Generation Job Not Found"}
BUS_ARN = "arn:aws:events:%s:%s:event-bus/ops-bus" % (jw.REGION, jw.ACCOUNT)


def bus_config(fake, db, arns, sock):
    cfg = nl.config(fake, db, arns, {}, extra={"http": {"listen": "unix:" + sock}})
    cfg['eventbridge "all"'] = {"event_bus": "jobs-bus", "source": "com.example.jobwatchd"}
    cfg['eventbridge "failed"'] = {"event_bus": BUS_ARN, "on": "CREATE_FAILED"}
    return cfg


def on_bus(fake, bus):
    return [e for e in fake.bus_events() if e["EventBusName"] == bus]


def test(t):
    c = jw.Checks()
    scenario, kinds = lc.build(10, step_seconds=2.0)
    fake = t.start_fake(scenario, verify_sigv4=True)
    fake.refuse_entries(3, "ThrottlingException")
    db = t.path("state.db")
    sock = t.path("jw.sock")
    arns = [fake.arn(j) for j in kinds]
    cfg = bus_config(fake, db, arns, sock)
    env = nl.daemon_env(time_scale=0.01, extra={"AWS_ENDPOINT_URL_EVENTBRIDGE": fake.url})

    d = t.start_daemon(cfg, env=env)
    jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1")
    jw.wait_until(lambda: len(on_bus(fake, "jobs-bus")) >= 8, 60, "some events on the bus")
    # From now on the bus refuses everything: what it accepted so far is committed as done within a loop
    # turn, what it refuses stays pending -- the SIGKILL must lose nothing and resend nothing.
    fake.refuse_entries(1, "InternalFailure", "An internal error occurred")

    def failing():
        code, text = nl.unix_get(sock, "/metrics")
        return code == 200 and nl.metric_samples(text, "jobwatchd_eventbridge_failing").get(
            frozenset({("sink", "all")})) == 1.0
    jw.wait_until(failing, 30, "/metrics: the sink failing while the bus refuses everything")
    c.ok("InternalFailure" in d.stderr_text(), "the refusal is logged")
    time.sleep(1.0)
    before = len(fake.bus_events())
    d.stop(sig=signal.SIGKILL, expect_rc=None)
    print("killed with %d events on the bus" % before)

    fake.refuse_entries(4, "ThrottlingException")
    # Whole requests failing too, as the API client sees them: throttled, a 500, a 503.
    fake.add_fault("throttle", op="putevents", count=2)
    fake.add_fault("500", op="putevents", count=1)
    fake.add_fault("503", op="putevents", count=1)
    d = t.start_daemon(cfg, env=env, name="jobwatchd")
    rows = nl.wait_stored(db, fake, kinds)
    jw.wait_until(lambda: nl.all_done(db, "eventbridge:all"), 90, "every event on the bus after the restart")
    jw.wait_until(lambda: nl.all_done(db, "eventbridge:failed"), 30, "every failed job on the ops bus")
    rows = nl.events(db)

    # Every transition exactly once, as the stored event says.
    got = on_bus(fake, "jobs-bus")
    by_id = {}
    for e in got:
        by_id.setdefault(e["Detail"].get("eventId"), []).append(e)
    c.eq(sorted(by_id), sorted(r["id"] for r in rows), "the bus got exactly the stored events")
    c.eq([k for k, v in by_id.items() if len(v) > 1], [], "no event twice on the bus (SIGKILL resent nothing)")
    for r in rows:
        e = (by_id.get(r["id"]) or [None])[0]
        if e is None:
            continue
        det = e["Detail"]
        c.eq(e["Resources"], [r["arn"]], "%s: Resources is the job ARN" % r["id"])
        c.eq(e["DetailType"], DETAIL_TYPES[r["type"]], "%s: detail type" % r["id"])
        c.eq(e["Source"], "com.example.jobwatchd", "%s: source" % r["id"])
        c.eq(det.get("type"), r["type"], "%s: detail.type" % r["id"])
        c.eq(det.get("jobArn"), r["arn"], "%s: detail.jobArn" % r["id"])
        c.eq(det.get("status"), r["status"], "%s: detail.status" % r["id"])
        c.eq(det.get("previousStatus"), r["previous_status"] or None, "%s: detail.previousStatus" % r["id"])
        c.ok(isinstance(e["Time"], (int, float)) and abs(e["Time"] - time.time()) < 600,
             "%s: Time is epoch seconds near now (%r)" % (r["id"], e["Time"]))
        if r["status"] == "CREATE_FAILED":
            c.eq(det.get("statusDetails", {}).get("statusCode"), "INSUFFICIENT_SEED",
                 "%s: detail.statusDetails" % r["id"])
    failed = [r["id"] for r in rows if r["status"] == "CREATE_FAILED"]
    ops = on_bus(fake, BUS_ARN)
    c.eq(sorted(e["Detail"]["eventId"] for e in ops), sorted(failed), "on = CREATE_FAILED: the failed jobs only")
    c.ok(all(e["Source"] == "jobwatchd" for e in ops), "the default source is jobwatchd")

    st = fake.stats()
    c.eq(set(st["sigv4"]), {"ok"}, "every PutEvents signature verified (signing name events, body hash)")
    puts = fake.requests("putevents")
    c.ok(puts and all(p["headers"]["credential_scope"].endswith("/%s/events/aws4_request" % jw.REGION)
                      for p in puts), "scope DATE/%s/events/aws4_request" % jw.REGION)
    c.eq(sum(f["hits"] for f in fake.faults() if f.get("op") == "putevents"), 4,
         "the throttled, 500 and 503 requests were answered (and their entries sent again)")
    entries = fake.control("GET", "/eventbridge/events")["entries"]
    c.ok(entries > len(got) + len(ops), "entries were refused and sent again (%d entries for %d events)"
         % (entries, len(got) + len(ops)))
    sizes = [p["entries"] for p in puts if p.get("entries")]
    c.ok(sizes and max(sizes) <= 10, "at most 10 entries a request: %s" % sorted(set(sizes)))
    c.ok(sizes and max(sizes) > 1, "entries are batched: %s" % sorted(set(sizes)))

    # A validation error parks the event and says why; SIGHUP sends it again.
    fake.refuse_entries(1, "InvalidArgument", "Parameter Detail is not valid (injected)")
    fake.set_job(list(kinds)[0], "DELETE_PENDING")
    jw.wait_until(lambda: nl.sink_states(db, "eventbridge:all").get("parked", 0) >= 1, 30, "the event parked")
    jw.wait_until(lambda: "InvalidArgument" in d.stderr_text(), 10, "the reason logged")
    c.ok("parked" in d.stderr_text(), "the log says it is parked")
    code, text = nl.unix_get(sock, "/metrics")
    c.eq(code, 200, "/metrics answers")
    ent = nl.metric_samples(text, "jobwatchd_eventbridge_entries_total")
    c.ok(ent.get(frozenset({("sink", "all"), ("outcome", "accepted")}), 0) > 0, "accepted entries counted")
    c.ok(ent.get(frozenset({("sink", "all"), ("outcome", "retried")}), 0) > 0, "refused entries counted")
    c.eq(ent.get(frozenset({("sink", "all"), ("outcome", "parked")})), 1.0, "the parked entry counted")
    backlog = nl.metric_samples(text, "jobwatchd_eventbridge_backlog")
    c.eq(backlog.get(frozenset({("sink", "all")})), 0.0, "nothing pending (the parked one is not backlog)")
    fake.refuse_entries(0)
    d.kill(signal.SIGHUP)
    jw.wait_until(lambda: nl.all_done(db, "eventbridge:all"), 30, "the parked event on the bus after SIGHUP")
    c.eq(len(on_bus(fake, "jobs-bus")), len(nl.events(db)), "every event on the bus once")
    # jobwatchd status lists the sinks under the jobs.
    r = t.run([jw.daemon_path(), "status", "--socket", sock])
    c.eq(r.returncode, 0, "jobwatchd status exits 0 (%s)" % r.stderr.strip())
    lines = {ln.split()[0]: ln for ln in r.stdout.splitlines() if ln.strip()}
    c.ok("SINK" in lines and "all" in lines and "failed" in lines, "status shows both sinks:\n%s" % r.stdout)
    c.ok("eventbridge" in lines.get("all", "") and "(bus jobs-bus)" in lines.get("all", "")
         and " ok " in lines.get("all", ""), "status: kind, bus and state of a sink: %r" % lines.get("all"))
    c.ok(("(bus %s)" % BUS_ARN) in lines.get("failed", ""), "status: the bus ARN: %r" % lines.get("failed"))
    # A reload adds a sink: the transitions from then on reach its bus too.
    cfg2 = dict(cfg)
    cfg2['eventbridge "late"'] = {"event_bus": "late-bus", "on": "job.status_changed"}
    d.reload(cfg2)
    jw.wait_until(lambda: d.stderr_text().count("reloaded:") >= 2, 15, "the reload")
    # An ACTIVE job (failed ones are not polled again: failed_interval = 0).
    late_arn = fake.set_job([j for j, k in kinds.items() if k == "create_ok"][1], "DELETE_PENDING")
    jw.wait_until(lambda: on_bus(fake, "late-bus"), 30, "the new sink's first event")
    late = on_bus(fake, "late-bus")
    c.eq([(e["Resources"], e["Detail"]["status"]) for e in late], [([late_arn], "DELETE_PENDING")],
         "after the reload the new sink gets the new transition only")
    jw.wait_until(lambda: nl.all_done(db, "eventbridge:all"), 30, "the old sink still delivers")
    c.eq(len(on_bus(fake, "jobs-bus")), len(nl.events(db)), "every event on the first bus once, after the reload")
    if os.environ.get("JW_SHOW_LOG"):
        print(d.stderr_text())
    d.stop()
    c.done()


jw.main(test)
