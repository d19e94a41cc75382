#!/usr/bin/python3
"""Wall-clock steps (#12): the daemon runs under libfaketime (Debian `faketime`: LD_PRELOAD of
libfaketime.so.1, FAKETIME_TIMESTAMP_FILE re-read on every call with FAKETIME_NO_CACHE=1, the monotonic
clock left alone with FAKETIME_DONT_FAKE_MONOTONIC=1).  Its wall clock is stepped back one hour, then
forward one hour (right again), then forward one more hour, while the fake service (SigV4 verified, 15-minute
window) keeps the real time.

Before #12 the poll schedule was keyed on the wall clock and the daemon sent nothing after the step back.
Now, in every phase:
  - polling goes on at its interval (Gets per job counted in each phase, no gap longer than 3 intervals);
  - a transition made in the phase is stored within 2 intervals;
  - requests are signed with the corrected time: the first request after a step is refused ("Signature
    expired"), the answer's Date header corrects the clock, the request is signed again and succeeds, so no
    poll fails, and every Get answered 200 carries an x-amz-date within the service's 15 minutes;
  - `stuck_after = 30m` fires nothing: stays are measured on the monotonic clock (a wall clock an hour ahead
    would make every job look stuck)."""

import calendar
import glob
import os
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402
import outage  # noqa: E402

N = 6
INTERVAL = 1.0
PHASE = 8.0
STEPS = [("real", 0), ("back 1 h", -3600), ("forward 1 h", 0), ("forward 1 h more", 3600)]
NEXT = {"CREATE_PENDING": "CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS": "ACTIVE", "ACTIVE": "DELETE_PENDING",
        "DELETE_PENDING": "DELETE_IN_PROGRESS"}


def libfaketime():
    for pat in ("/usr/lib/*/faketime/libfaketime.so.1", "/usr/lib/faketime/libfaketime.so.1",
                "/usr/local/lib/faketime/libfaketime.so.1"):
        found = glob.glob(pat)
        if found:
            return found[0]
    return None


def amz_date(s):
    return calendar.timegm(time.strptime(s, "%Y%m%dT%H%M%SZ"))


def test(t):
    lib = libfaketime()
    if not lib:
        jw.skip("libfaketime is not installed (Debian package faketime)")
    ids = ["c%02d" % i for i in range(N)]
    fake = t.start_fake({"jobs": [{"id": j, "steps": [{"at": 0, "status": "CREATE_PENDING"}]} for j in ids]},
                        verify_sigv4=True)
    arns = [fake.arn(j) for j in ids]
    db = t.path("state.db")
    stamp = t.write("faketime", "+0\n")
    env = jw.aws_env()
    env.update({"LD_PRELOAD": lib, "FAKETIME_TIMESTAMP_FILE": stamp, "FAKETIME_NO_CACHE": "1",
                "FAKETIME_DONT_FAKE_MONOTONIC": "1"})
    if jw.SANITIZE:
        # libfaketime is preloaded ahead of the ASan runtime.
        env["ASAN_OPTIONS"] = "halt_on_error=1:abort_on_error=0:detect_leaks=1:print_summary=1:" \
                              "verify_asan_link_order=0"
    cfg = lc.daemon_config(fake, db, arns, interval="1s", extra={"poll": {"stuck_after": "30m"}})
    d = t.start_daemon(cfg, env=env)
    jw.wait_until(lambda: all(outage.detected(db, a, "CREATE_PENDING") for a in arns), 20, "first sight of every job")

    status = {a: "CREATE_PENDING" for a in arns}
    for k, (name, offset) in enumerate(STEPS):
        with open(stamp + ".new", "w") as f:
            f.write("%+d\n" % offset)
        os.replace(stamp + ".new", stamp)
        t0 = time.time()
        time.sleep(PHASE / 2)
        # A transition in this phase, on half of the jobs.
        moved = arns[k % 2::2]
        changed = {}
        for a in moved:
            status[a] = NEXT[status[a]]
            fake.set_job(a, status[a])
            changed[(a, status[a])] = time.time()
        jw.wait_until(lambda: all(outage.detected(db, a, s) is not None for a, s in changed), 10,
                      "the transitions after the step %s" % name)
        took = max(time.time() - c for c in changed.values())
        # The daemon's detection time is on its own (stepped, then corrected) clock: the test's clock says
        # when it was stored, as a user would see it.
        jw.check(took <= 2 * INTERVAL + 0.5, "%s: transitions stored %.2f s after the change" % (name, took))
        time.sleep(max(0, t0 + PHASE - time.time()))
        t1 = time.time()
        gets = outage.gets_between(fake, t0, t1)
        per_job = {a: sorted(outage.parse_iso(r["time"]) for r in gets if r.get("arn") == a) for a in arns}
        want = (t1 - t0) / INTERVAL
        few = {a[-3:]: len(v) for a, v in per_job.items() if len(v) < 0.6 * want}
        gaps = {a[-3:]: round(max(b - a_ for a_, b in zip([t0] + v, v + [t1])), 2) for a, v in per_job.items()}
        print("%s: %d Gets in %.1f s (%.0f per job at the interval); longest gap per job %s; stored %.2f s after "
              "the change" % (name, len(gets), t1 - t0, want, gaps, took))
        jw.check(not few, "%s: polling slowed down: Gets per job %s, want about %.0f" % (name, few, want))
        jw.check(max(gaps.values()) <= 3 * INTERVAL + 0.5, "%s: a job went unpolled: %s" % (name, gaps))

    d.stop()
    err = d.stderr_text()
    jw.check("poll of" not in err, "a poll failed: %s" % err[-3000:])
    refused = [r for r in fake.requests("get") if "Signature expired" in (r.get("sigv4") or "")]
    jw.check(refused, "no request was refused: the steps did not reach the daemon")
    bad = [r for r in fake.requests("get") if r.get("status") == 200 and
           abs(amz_date(r["headers"]["x-amz-date"]) - outage.parse_iso(r["time"])) > 900]
    jw.check(not bad, "Gets answered 200 signed with a wrong time: %s" % bad[:2])
    jw.check(err.count("the local clock is") >= 3, "one clock correction per step: %s" % err[-2000:])
    jw.check(not outage.events(db, "job.stuck"), "job.stuck after a clock step")
    got = lc.sequences(lc.stored_events(db))
    for a in arns:
        jw.check_eq(got[a][-1][2], status[a], "last stored status of %s" % a)


jw.main(test)
