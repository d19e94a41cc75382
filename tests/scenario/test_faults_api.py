#!/usr/bin/python3
"""Fault matrix, API side: a fleet of jobs moving through real lifecycles (lifecycles.build) while the fake
serves every API fault kind -- alone on its own jobs, several mixed on the same jobs, and fleet-wide 429 and
503 bursts.  The daemon keeps running, logs the faults, records no false event, and once the faults clear
reaches the true state of every job with no missed event.

test_engine_faults.py covers each kind on a two-state job; this file adds the real multi-step transitions
and the mixing.  The fleet checker (check_fleet) is shared by the other test_faults_*.py files: it derives
from the fake's request log which statuses the daemon could see through clean answers, and asserts
  - no false event: every stored status is one the job really had, in its order, each previous_status
    is the status recorded before it;
  - no missed event: every status a clean poll saw is recorded, the last one is the truth;
  - exact sequences (the lifecycles expectation) for every job whose every step was seen."""

import datetime
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402

API_KINDS = ["500", "503", "throttle", "reset", "stall", "slow", "truncated", "malformed", "huge",
             "invalid_status", "missing_fields"]
GUARD = 0.35  # seconds around a step boundary in which a clean answer is not counted as "seen"


def parse_iso(s):
    return datetime.datetime.strptime(s.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() \
        if "." in s else datetime.datetime.strptime(s.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z").timestamp()


def timeline(job):
    """[(from, to, status)] in scenario seconds for a scenario job spec; "GONE" after deleteAt."""
    appear = float(job.get("appearAt", 0))
    steps = job.get("steps") or [{"at": 0, "status": "CREATE_PENDING"}]
    out = []
    for i, s in enumerate(steps):
        start = appear if i == 0 else max(float(s["at"]), appear)
        end = float(steps[i + 1]["at"]) if i + 1 < len(steps) else float("inf")
        if end > start:
            out.append([start, end, s["status"]])
    if job.get("deleteAt") is not None:
        d = float(job["deleteAt"])
        out = [[a, min(b, d), s] for a, b, s in out if a < d]
        out.append([d, float("inf"), "GONE"])
    return out


def visible_statuses(fake, scenario, since=None):
    """{arn: set of statuses answered by a clean (200, no fault) Get, away from step boundaries}, and the
    "GONE" status for a clean 404 after deleteAt.  since: ignore requests before this wall time."""
    start = parse_iso(fake.control("GET", "/time")["start"])
    scale = float(scenario.get("timeScale", 1))
    lines = {fake.arn(j["id"]): timeline(j) for j in scenario["jobs"]}
    seen = {arn: set() for arn in lines}
    for r in fake.requests("get"):
        arn = r.get("arn")
        if arn not in lines or r.get("fault") or r.get("status") not in (200, 404):
            continue
        t_wall = parse_iso(r["time"])
        if since is not None and t_wall < since:
            continue
        t = (t_wall - start) / scale
        for a, b, st in lines[arn]:
            # The last status needs no guard: a poll that got the one before it was not the last poll
            # (failed and gone jobs are polled once more only when the status changes).
            lo = a if b == float("inf") else a + GUARD
            if lo <= t < b - GUARD:
                if (st == "GONE") == (r["status"] == 404):
                    seen[arn].add(st)
                break
    return seen


def check_fleet(db, fake, scenario, kinds, visible=None, c=None):
    """The fleet assertions described in the module docstring.  Returns (exact, partial) job counts."""
    own = c is None
    c = c or jw.Checks()
    visible = visible if visible is not None else visible_statuses(fake, scenario)
    got = lc.sequences(lc.stored_events(db))
    want = lc.expected(fake, kinds)
    truth = fake.truth()
    c.ok(not (set(got) - set(want)), "events for unknown jobs: %s" % sorted(set(got) - set(want)))
    exact = partial = 0
    for arn, ev in want.items():
        chain = [e[2] for e in ev]
        seq = got.get(arn, [])
        t = truth[arn]
        true_final = "GONE" if t.get("deleted") else t["status"]
        if set(chain) <= visible.get(arn, set()):
            exact += 1
            c.ok(seq == ev, "%s: exact sequence\n    got  %s\n    want %s" % (arn, seq, ev))
            continue
        partial += 1
        statuses = [e[2] for e in seq]
        # In order, a subsequence of the true chain (no false event, no repeat).
        pos, ok = -1, True
        for s in statuses:
            if s not in chain or chain.index(s) <= pos:
                ok = False
                break
            pos = chain.index(s)
        c.ok(ok, "%s: stored statuses %s are not a subsequence of %s" % (arn, statuses, chain))
        c.ok(bool(seq) and seq[0][0] == "job.discovered" and seq[0][1] is None, "%s: first event %s" % (arn, seq[:1]))
        for prev, cur in zip(seq, seq[1:]):
            c.ok(cur[1] == prev[2], "%s: previous_status chain broken at %s" % (arn, cur))
        missed = visible.get(arn, set()) - set(statuses)
        c.ok(not missed, "%s: statuses seen by clean polls but not recorded: %s" % (arn, missed))
        c.ok(bool(seq) and seq[-1][2] == true_final, "%s: last recorded %s, truth %s" % (arn, seq[-1:], true_final))
    rows = lc.stored_events(db)
    c.ok(len({r["id"] for r in rows}) == len(rows), "duplicate event ids")
    if own:
        c.done()
    return exact, partial


def scenario_end(scenario):
    """Scenario second of the last change (step, appearance or deletion)."""
    end = 0.0
    for j in scenario["jobs"]:
        for s in j.get("steps", []):
            end = max(end, float(s["at"]))
        end = max(end, float(j.get("appearAt", 0)), float(j.get("deleteAt") or 0))
    return end


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


def wait_truth(db, fake, kinds, timeout, scenario=None):
    """Until the scenario is over (when given) and the last stored status of every job equals the truth."""
    if scenario is not None:
        jw.wait_until(lambda: fake.now() > scenario_end(scenario) + 0.2, timeout, "the end of the scenario")

    def ok():
        got = lc.sequences(lc.stored_events(db))
        truth = fake.truth()
        for jid in kinds:
            arn = fake.arn(jid)
            t = truth[arn]
            final = "GONE" if t.get("deleted") else t["status"]
            if not got.get(arn) or got[arn][-1][2] != final:
                return False
        return True
    jw.wait_until(ok, timeout, "every job at its true state", interval=0.25)


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
    wait_truth(db, fake, kinds, 40, scenario)
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

    exact, partial = check_fleet(db, fake, scenario, kinds, c=c)
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
