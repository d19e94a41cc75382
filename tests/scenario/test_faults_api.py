#!/usr/bin/python3
"""Fault matrix, API side: a fleet of jobs moving through real lifecycles (lifecycles.build) while the fake
serves every API fault kind -- alone on its own jobs, several mixed on the same jobs, and fleet-wide 429 and
503 bursts.  The daemon keeps running, logs the faults, records no false event, and once the faults clear
reaches the true state of every job with no missed event.

test_engine_faults.py covers each kind on a two-state job; this file adds the real multi-step transitions
and the mixing.  The fleet checker (lifecycles.check_fleet, shared with the other test_faults_*.py files)
derives from the fake's request log which statuses the daemon could see through clean answers, and asserts
  - no false event: every stored status is one the job really had, in its order, each previous_status
    is the status recorded before it;
  - no missed event: every status a clean poll saw is recorded, the last one is the truth;
  - exact sequences (the lifecycles expectation) for every job whose every step was seen."""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402

API_KINDS = ["500", "503", "throttle", "reset", "stall", "slow", "truncated", "malformed", "huge",
             "invalid_status", "missing_fields"]
def metrics(sock_path):
    """GET /metrics over the daemon's unix socket ([http] listen = unix:PATH) -> {name{labels}: value}, or
    None when the daemon has no such listener."""
    if not os.path.exists(sock_path):
        return None
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock_path)
    s.sendall(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    out = {}
    for line in data.decode(errors="replace").split("\r\n\r\n", 1)[-1].splitlines():
        if line and not line.startswith("#"):
            k, _, v = line.rpartition(" ")
            try:
                out[k] = float(v)
            except ValueError:
                pass
    return out


def metric_sum(m, name):
    return sum(v for k, v in m.items() if k == name or k.startswith(name + "{"))


def test(t):
    step = 4.0
    scenario, kinds = lc.build(33, step_seconds=step)
    ids = list(kinds)
    end = 2.6 * step  # faults end before the last steps, so the final transitions are seen clean
    faults = [
        # Fleet-wide bursts: 503 for 1 s, 429 for 1 s.  After the 429 burst the client's adaptive rate
        # limiter (SDK "adaptive" mode, CUBIC) slows the whole fleet for seconds, by design: a step may then
        # pass unseen, which check_fleet accounts for (compared against the statuses actually visible).
        {"kind": "503", "op": "get", "from": 2.5, "to": 3.5},
        {"kind": "throttle", "op": "get", "from": 6.5, "to": 7.5},
    ]
    # Alone: kind i on jobs 0..19 (two jobs per kind), at 40 % of their polls.
    alone = [k for k in API_KINDS if k != "throttle"]
    for i, jid in enumerate(ids[:20]):
        faults.append({"kind": alone[i % len(alone)], "job": jw.job_arn(jid), "op": "get",
                       "from": 0.5, "to": end, "rate": 0.4})
    # Mixed: every kind on each of the last 13 jobs, each at 5 % (~40 % of polls fail some way); throttle
    # only at 1 % (each 429 slows the whole client down).
    for jid in ids[20:]:
        for k in API_KINDS:
            faults.append({"kind": k, "job": jw.job_arn(jid), "op": "get", "from": 0.5, "to": end,
                           "rate": 0.01 if k == "throttle" else 0.05})
    scenario["faults"] = faults
    fake = t.start_fake(scenario, seed=int(os.environ.get("JW_FAULT_SEED", "9")))
    db = t.path("state.db")
    cfg = lc.daemon_config(fake, db, [fake.arn(j) for j in ids], interval="150ms")
    cfg["aws"]["timeout"] = "700ms"
    sock = t.path("api.sock")
    cfg["http"] = {"listen": "unix:" + sock}
    d = t.start_daemon(cfg, env=jw.aws_env())
    jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1")
    while fake.now() < end:
        jw.check(d.alive(), "daemon died during the faults:\n%s" % d.stderr_text()[-3000:])
        time.sleep(0.5)
    lc.wait_truth(db, fake, kinds, 40, scenario)
    time.sleep(1.0)  # room for a late false event
    jw.check(d.alive(), "daemon alive after the faults")
    c = jw.Checks()
    # Faults the client's retries absorbed leave no log line; /metrics reports them.
    m = metrics(sock)
    c.ok(m is not None, "/metrics served on %s" % sock)
    if m:
        for name in ("jobwatchd_api_retries_total", "jobwatchd_api_throttles_total", "jobwatchd_poll_failures_total"):
            print("%s = %s" % (name, metric_sum(m, name)))
            c.ok(metric_sum(m, name) > 0, "%s > 0" % name)
    d.stop()

    exact, partial = lc.check_fleet(db, fake, scenario, kinds, c=c)
    print("jobs compared exactly: %d, against visible statuses: %d" % (exact, partial))
    c.ok(exact > 0, "some jobs saw every step (%d of %d)" % (exact, len(ids)))
    served = fake.stats()["fault"]
    print("faults served: %s" % served)
    for k in API_KINDS:
        c.ok(served.get(k, 0) > 0, "fault kind %s served" % k)
    err = d.stderr_text()
    c.ok("poll of" in err and "failed" in err, "poll failures logged")
    c.ok(jw.sqlite_integrity(db) == ["ok"], "integrity_check")
    c.done()


if __name__ == "__main__":
    jw.main(test)
