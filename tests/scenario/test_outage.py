#!/usr/bin/python3
"""Service-wide outages (#12): twelve jobs polled every 1.5 s, and three 20 s outages in a row in which the
fake fails every Get -- HTTP 503, a connection reset, and a stall past `[aws] timeout`.  Every job changes
status inside each outage, two of them just before it ends.

Before #12 each failed poll doubled the job's own delay (2, 4, 8 ... s), so when the service came back the
next polls were due tens of seconds later.  Now:
  - every transition of an outage is stored within 2 intervals (+ the time max_rps needs to go round the
    fleet) after the outage ends, and no later than that: the breaker's probe sees the service come back
    and every job that came due is polled again, spread;
  - the Gets sent during an outage stay at or below the normal polling rate (12 jobs / 1.5 s);
  - operators see it: one warning when each outage starts and one when it ends (not a line per job),
    STATUS= "AWS API unavailable since ...", /metrics jobwatchd_aws_breaker_state{state="open"} 1 and the
    time of the last service-wide failure, /healthz 503 with the reason; all back to normal afterwards;
  - the event sequences are exactly the true ones (no false or missed event)."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402
import outage  # noqa: E402
import fleetlib as fc  # noqa: E402

N = 12
INTERVAL = 1.5
MAX_RPS = 20
OUTAGE = 20.0
GAP = 7.0
FIRST = 5.0
KINDS = ["503", "reset", "stall"]
STATUSES = ["CREATE_IN_PROGRESS", "ACTIVE", "DELETE_PENDING"]
# 2 intervals after the outage, plus the time max_rps needs to go round the fleet.
BOUND = 2 * INTERVAL + N / MAX_RPS


def test(t):
    ids = ["o%02d" % i for i in range(N)]
    windows = [(FIRST + k * (OUTAGE + GAP), FIRST + k * (OUTAGE + GAP) + OUTAGE) for k in range(len(KINDS))]
    changes = [outage.changes_in(100 + k, ids, a, b) for k, (a, b) in enumerate(windows)]
    jobs = []
    for j in ids:
        steps = [{"at": 0, "status": "CREATE_PENDING"}]
        steps += [{"at": changes[k][j], "status": STATUSES[k]} for k in range(len(KINDS))]
        jobs.append({"id": j, "steps": steps})
    faults = [{"kind": kind, "from": a, "to": b, "op": "get", "maxStall": 30}
              for kind, (a, b) in zip(KINDS, windows)]
    scenario = {"jobs": jobs, "faults": faults}
    fake = t.start_fake(scenario)
    start = outage.fake_start(fake)
    db = t.path("state.db")
    sock = t.path("jobwatchd.sock")
    cfg = lc.daemon_config(fake, db, [fake.arn(j) for j in ids], interval="1500ms",
                           extra={"aws": {"max_rps": MAX_RPS, "timeout": "700ms"},
                                  "http": {"listen": "unix:" + sock}})
    d = t.start_daemon(cfg, env=jw.aws_env())
    fc.wait_for_socket(d, sock)
    api = fc.Api(sock=sock)

    # Inside the first outage: the breaker is open and says so everywhere.
    a0, b0 = windows[0]
    jw.wait_until(lambda: fake.now() > a0, 30, "the first outage")
    jw.wait_until(lambda: fc.sample(api.metrics(), "jobwatchd_aws_breaker_state", state="open") == 1.0,
                  b0 - a0 - 2, "breaker open during the 503 outage")
    fams = api.metrics()
    last_fail = fc.sample(fams, "jobwatchd_aws_last_service_failure_timestamp_seconds")
    jw.check(last_fail is not None and start + a0 - 1 <= last_fail <= time.time() + 1,
             "last service-wide failure time on /metrics: %s" % last_fail)
    since = fc.sample(fams, "jobwatchd_aws_unavailable_since_timestamp_seconds")
    jw.check(since is not None and start + a0 - 1 <= since, "outage start on /metrics: %s" % since)
    st, _, body = api.request("GET", "/healthz")
    jw.check(st == 503 and b"AWS API unavailable since" in body, "/healthz during the outage: %d %s" % (st, body))
    jw.check(any("STATUS=AWS API unavailable since" in a for a in d.notify_assignments()),
             "STATUS= during the outage: %s" % d.notify_assignments()[-3:])

    jw.wait_until(lambda: fake.now() > windows[-1][1] + BOUND + outage.SCHEDULING_SLACK_S + 1, 200,
                  "the last outage and its recovery")
    fams = api.metrics()
    jw.check_eq(fc.sample(fams, "jobwatchd_aws_breaker_state", state="closed"), 1.0, "breaker closed at the end")
    jw.check_eq(fc.sample(fams, "jobwatchd_aws_outages_total"), float(len(KINDS)), "outages counted")
    st, _, body = api.request("GET", "/healthz")
    jw.check_eq(st, 200, "/healthz after the outages (%s)" % body)
    d.stop()

    # Every transition stored within the bound after the end of its outage.
    for k, (kind, (a, b)) in enumerate(zip(KINDS, windows)):
        want = {(fake.arn(j), STATUSES[k]): (start + changes[k][j], start + b) for j in ids}
        worst = outage.check_detected_within(db, fake, want, BOUND, "the end of the %s outage" % kind)
        calls = len(outage.gets_between(fake, start + a, start + b))
        normal = N * (b - a) / INTERVAL
        print("%s outage: %d Gets in %.0f s (normal rate: %.0f); slowest report %.2f s after its end "
              "(bound %.2f s)" % (kind, calls, b - a, normal, worst, BOUND))
        jw.check(calls <= normal, "%s outage: %d Gets, more than the normal rate allows (%.0f)" % (kind, calls, normal))
        served = [r for r in outage.gets_between(fake, start + a, start + b) if r.get("fault") == kind]
        jw.check(served, "the %s fault was served" % kind)

    want = {fake.arn(j): [("job.discovered", None, "CREATE_PENDING")] +
            [("job.status_changed", ([ "CREATE_PENDING"] + STATUSES)[k], STATUSES[k]) for k in range(len(KINDS))]
            for j in ids}
    got = lc.sequences(lc.stored_events(db))
    for arn, ev in want.items():
        jw.check_eq(got.get(arn), ev, "events of %s" % arn)

    err = d.stderr_text()
    jw.check_eq(err.count("AWS API unavailable:"), len(KINDS), "outage-start warnings")
    jw.check_eq(err.count("AWS API available again"), len(KINDS), "outage-end lines")
    # Not a line per job: per-poll lines stop once the breaker is open.
    lines = err.count("poll of")
    print("per-poll failure lines: %d for %d outages of %d jobs" % (lines, len(KINDS), N))
    jw.check(lines < len(KINDS) * N, "a line per job and outage: %d 'poll of' lines" % lines)


jw.main(test)
