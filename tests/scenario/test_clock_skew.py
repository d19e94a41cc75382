#!/usr/bin/python3
"""A wrong local clock: the fake service (SigV4 verified, 15-minute window) runs an hour ahead, as if this
machine's clock were an hour behind.  The first request is refused ("Signature expired"); its answer's Date
header sets the clock offset, the request is signed again with the service's time and succeeds, so no poll
fails and the job's status is recorded.  The offset shows on /metrics.  When the clocks agree again (the
service's Date is an hour behind the corrected clock) the offset follows back to zero, again without a failed
poll.  `jobwatchd get` (a one-shot process) recovers the same way.  Without the correction every request would
be refused forever."""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402
import fleetlib as fc  # noqa: E402

HOUR = 3600


def refused(fake):
    return [r for r in fake.requests("get") if "Signature expired" in (r.get("sigv4") or "")]


def offset(api):
    return fc.sample(api.metrics(), "jobwatchd_api_clock_offset_seconds")


def test(t):
    fake = t.start_fake({"clockOffsetS": HOUR, "jobs": [{"id": "a", "steps": [{"at": 0, "status": "ACTIVE"}]}]},
                        verify_sigv4=True)
    a = fake.arn("a")

    # One-shot CLI first: its single Get is refused, corrected and retried.
    cfg = t.write("cli.conf", jw.ini_text({"aws": {"region": jw.REGION, "endpoint": fake.url}}))
    p = t.run([jw.daemon_path(), "get", "-c", cfg, a], env=jw.aws_env(), timeout=60)
    jw.check(p.returncode == 0 and "ACTIVE" in p.stdout, "get with a skewed clock: rc %s\n%s\n%s" % (
        p.returncode, p.stdout, p.stderr))
    jw.check(re.search(r"the local clock is -(3599|3600|3601) s off the service's", p.stderr),
             "skew warning: %s" % p.stderr)
    jw.check_eq(len(refused(fake)), 1, "refused Gets from the CLI")

    db = t.path("state.db")
    sock = t.path("jobwatchd.sock")
    d = t.start_daemon(lc.daemon_config(fake, db, [a], extra={"http": {"listen": "unix:" + sock}}),
                       env=jw.aws_env())
    fc.wait_for_socket(d, sock)
    api = fc.Api(sock=sock)
    jw.wait_until(lambda: (api.job(a) or {}).get("status") == "ACTIVE", 20, "a recorded despite the skew")
    got = offset(api)
    jw.check(got is not None and abs(got - HOUR) < 5, "clock offset on /metrics: %s" % got)
    jw.check_eq(len(refused(fake)), 2, "refused Gets (one from the CLI, one from the daemon)")
    n = len(fake.requests("get"))
    jw.wait_until(lambda: len(fake.requests("get")) > n + 5, 10, "polling goes on")
    jw.check_eq(len(refused(fake)), 2, "refused Gets once corrected")

    # The clocks agree again: one more refusal, corrected back to zero.
    fake.control("POST", "/clock", {"offsetS": 0})
    jw.wait_until(lambda: abs(offset(api)) < 5, 20, "offset back to zero")
    n = len(fake.requests("get"))
    jw.wait_until(lambda: len(fake.requests("get")) > n + 5, 10, "polling goes on after the second correction")
    fams = api.metrics()
    jw.check_eq(fc.sample(fams, "jobwatchd_poll_failures_total"), 0.0, "failed polls")
    d.stop()
    err = d.stderr_text()
    jw.check("poll of" not in err, "a poll failed: %s" % err[-2000:])
    jw.check(err.count("the local clock is") == 2, "two corrections logged: %s" % err[-2000:])
    jw.check(not jw.sqlite_rows(db, "SELECT id FROM events WHERE type != 'job.discovered'"),
             "events other than the first sight")
    concurrent(t)
    eventbridge(t)


def concurrent(t):
    """Several Gets signed with the wrong clock are in flight when the first refusal corrects it (the fake holds
    each refused answer 0.5 s; the daemon sends all six first Gets within 0.1 s).  Each of them is signed again:
    the answers after the first did not move the offset themselves, yet their request predates the correction."""
    ids = ["c%d" % i for i in range(6)]
    fake = t.start_fake({"clockOffsetS": HOUR, "refusedDelayS": 0.5,
                         "jobs": [{"id": j, "steps": [{"at": 0, "status": "ACTIVE"}]} for j in ids]},
                        verify_sigv4=True)
    arns = [fake.arn(j) for j in ids]
    db = t.path("state-concurrent.db")
    d = t.start_daemon(lc.daemon_config(fake, db, arns, interval="1s", extra={"aws": {"max_rps": 60}}),
                       env=jw.aws_env())
    jw.wait_until(lambda: len(jw.sqlite_rows(db, "SELECT id FROM events WHERE type = 'job.discovered'")) == len(ids),
                  20, "every job recorded despite the skew")
    d.stop()
    err = d.stderr_text()
    jw.check(len(refused(fake)) >= 2, "at most one refusal in flight: the case is not exercised (%d refused)" %
             len(refused(fake)))
    jw.check("poll of" not in err, "a poll signed before the correction failed: %s" % err[-2000:])
    jw.check_eq(err.count("the local clock is"), 1, "corrections logged")


def eventbridge(t):
    """The EventBridge sinks sign with the same corrected clock: with the service an hour ahead, the first Get
    is refused and corrects the clock, and every PutEvents after it is accepted at once -- before, each one was
    signed with the local clock, refused as "Signature expired" five times and parked.  Then the service's
    clock comes back: the next Get and the bus's own answers follow it, and the next transition reaches the
    bus too."""
    fake = t.start_fake({"clockOffsetS": HOUR, "jobs": [{"id": "e", "steps": [{"at": 0, "status": "CREATE_IN_PROGRESS"}]}]},
                        verify_sigv4=True)
    a = fake.arn("e")
    db = t.path("state-eventbridge.db")
    cfg = lc.daemon_config(fake, db, [a], interval="500ms")
    cfg['eventbridge "bus"'] = {"event_bus": "jobs-bus"}
    env = jw.aws_env()
    env["AWS_ENDPOINT_URL_EVENTBRIDGE"] = fake.url
    d = t.start_daemon(cfg, env=env)
    jw.wait_until(lambda: len(fake.bus_events()) >= 1, 20, "job.discovered on the bus despite the skew")
    fake.control("POST", "/clock", {"offsetS": 0})
    fake.set_job(a, "ACTIVE")
    jw.wait_until(lambda: len(fake.bus_events()) >= 2, 20, "the next transition on the bus after the clock moved")
    d.stop()
    err = d.stderr_text()
    types = [e["DetailType"] for e in fake.bus_events()]
    jw.check_eq(types, ["Audience Generation Job Discovered", "Audience Generation Job Status Change"],
                "entries on the bus")
    jw.check("PutEvents refused:" not in err, "a PutEvents refused for good: %s" % err[-2000:])
    jw.check(not jw.sqlite_rows(db, "SELECT seq FROM deliveries WHERE state != 'done'"), "deliveries not done")


jw.main(test)
