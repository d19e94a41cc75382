#!/usr/bin/python3
"""SIGHUP: a reload adds and removes jobs (removed jobs keep their state, marked unwatched, and are no longer
polled); an invalid config on reload is refused with its errors logged and the old one keeps running; the
systemd protocol sees RELOADING=1 (with MONOTONIC_USEC) then READY=1; [aws] max_rps changes apply at
once and [aws] timeout to the next requests (test_faults_net reloads ca_file); region, profile, endpoint,
dualstack and fips log that they need a restart."""

import datetime
import os
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402
import fleetlib as fc  # noqa: E402


# A long request timeout until the reload that shortens it (nothing stalls before then).
SLOW = {"aws": {"timeout": "10s"}}


def wall(iso):
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def gets_for(fake, arn):
    return [r for r in fake.requests("get") if r.get("arn") == arn]


def test(t):
    ids = ["a", "b", "c"]
    fake = t.start_fake({"jobs": [{"id": i, "name": "job-" + i, "steps": [{"at": 0, "status": "CREATE_IN_PROGRESS"}]}
                                  for i in ids]})
    db = t.path("state.db")
    a, b, c = (fake.arn(i) for i in ids)
    sock = t.path("api.sock")
    SLOW["http"] = {"listen": "unix:" + sock}
    api = fc.Api(sock=sock)

    def metric(name):
        body = api.request("GET", "/metrics")[2].decode()
        return [ln for ln in body.splitlines() if ln.startswith(name + " ")]
    d = t.start_daemon(lc.daemon_config(fake, db, [a, b], extra=SLOW), env=jw.aws_env())
    jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1")
    jw.wait_until(lambda: gets_for(fake, a) and gets_for(fake, b), 10, "a and b polled")
    jw.check(not gets_for(fake, c), "c not polled before it is configured")

    # Reload: drop a, add c.
    d.reload(lc.daemon_config(fake, db, [b, c], extra=SLOW))
    jw.wait_until(lambda: gets_for(fake, c), 10, "c polled after reload")
    # The datagrams were sent before c's poll, but the harness reads them on its own thread: wait for them.
    def reload_seen():
        m = d.notify_assignments()
        return "RELOADING=1" in m and "READY=1" in m[m.index("RELOADING=1"):]
    jw.wait_until(reload_seen, 10, "RELOADING=1 then READY=1")
    msgs = d.notify_assignments()
    jw.check(any(m.startswith("MONOTONIC_USEC=") for m in msgs), "MONOTONIC_USEC sent with RELOADING")
    time.sleep(0.5)
    n_a = len(gets_for(fake, a))
    time.sleep(1.5)
    jw.check(len(gets_for(fake, a)) <= n_a + 1, "a is no longer polled after it was removed")
    rows = {r["arn"]: r for r in jw.sqlite_rows(db, "SELECT arn, watched, status FROM jobs")}
    jw.check(rows[a]["watched"] == 0 and rows[a]["status"] == "CREATE_IN_PROGRESS", "a kept, unwatched: %s" % rows[a])
    jw.check(rows[c]["watched"] == 1, "c watched")

    # An invalid config is refused; the running one (b, c) stays.
    n_reloads = msgs.count("RELOADING=1")
    with open(d.config_path, "a") as f:
        f.write("\n[poll]\ninterval = fast\n[bogus]\nx = 1\n")
    d.kill(__import__("signal").SIGHUP)
    jw.wait_until(lambda: d.notify_assignments().count("RELOADING=1") > n_reloads, 10, "second RELOADING=1")
    jw.wait_until(lambda: "reload failed" in d.stderr_text(), 10, "reload failure logged")
    err = d.stderr_text()
    jw.check("interval" in err and "bogus" in err, "every error of the bad config logged: %s" % err[-2000:])
    n_c = len(gets_for(fake, c))
    jw.wait_until(lambda: len(gets_for(fake, c)) > n_c + 2, 10, "c still polled with the old config")
    jw.check(d.alive(), "daemon still running")
    # ... and says so where it lasts: /metrics and /healthz (still 200: the old configuration works).
    jw.check(metric("jobwatchd_config_last_reload_successful") == ["jobwatchd_config_last_reload_successful 0"],
             "/metrics: last reload failed: %s" % metric("jobwatchd_config_last_reload_successful"))
    jw.check(metric("jobwatchd_config_reload_failures_total") == ["jobwatchd_config_reload_failures_total 1"],
             "/metrics: one reload failure")
    st, _, body = api.request("GET", "/healthz")
    jw.check(st == 200 and b"latest reload failed" in body, "/healthz says why: %s %s" % (st, body))

    # The job still moves: a transition after the failed reload is detected.
    fake.set_job("c", "ACTIVE")
    jw.wait_until(lambda: any(r["status"] == "ACTIVE" for r in jw.sqlite_rows(
        db, "SELECT status FROM events WHERE arn = ?", (c,))), 10, "c's transition after a failed reload")

    # [aws] max_rps is the one [aws] setting a reload applies: b and c at 200 ms ask for ~10 Gets/s; at
    # max_rps = 2 they get 2/s, and back at 500 the pace returns.  Other [aws] changes log a restart notice.
    def get_rate(seconds):
        n0 = len(fake.requests("get"))
        time.sleep(seconds)
        return (len(fake.requests("get")) - n0) / seconds

    d.reload(lc.daemon_config(fake, db, [b, c], extra={"aws": {"max_rps": 2, "timeout": "10s"}}))
    jw.wait_until(lambda: "max_rps 500 -> 2" in d.stderr_text(), 10, "max_rps change logged")
    jw.check("on restart" not in d.stderr_text(), "no restart notice for max_rps alone")
    time.sleep(1.5)  # the bucket holds up to 2 tokens from before
    slow = get_rate(4)
    jw.check(slow <= 3.0, "at most ~2 Gets/s after max_rps = 2, got %.2f/s" % slow)
    jw.check(slow >= 0.5, "still polling after max_rps = 2, got %.2f/s" % slow)
    d.reload(lc.daemon_config(fake, db, [b, c], extra={"aws": {"max_rps": 500, "timeout": "700ms"}}))
    jw.wait_until(lambda: "max_rps 2 -> 500" in d.stderr_text(), 10, "max_rps raised")
    jw.wait_until(lambda: "[aws] ca_file (system), timeout 700 ms" in d.stderr_text(), 10, "timeout applied")
    jw.check("on restart" not in d.stderr_text(), "restart notice for keys a reload applies")
    fast = get_rate(3)
    # More than max_rps = 2 could give (<= 2.5/s over 3 s with the bucket's burst): the new ceiling applies.
    jw.check(fast >= 4.0, "above the old ceiling after max_rps = 500 (~10 Gets/s asked), got %.2f/s" % fast)

    # The new timeout governs new requests: a stalled Get is given up after 0.7 s and retried after a backoff
    # of under 1 s; with the 10 s of before the reload the retry could not come within 10 s.
    fake.add_fault("stall", job=b, count=2)
    stalls = jw.wait_until(lambda: (lambda s: s if len(s) >= 2 else None)(
        [r for r in gets_for(fake, b) if r.get("status") == "stall"]), 15, "two stalled Gets of b")
    gap = wall(stalls[1]["time"]) - wall(stalls[0]["time"])
    jw.check(0.6 <= gap < 6.0, "retry of a stalled Get %.3f s after it (timeout 700 ms + backoff < 1 s)" % gap)

    # Keys the client is built on still need a restart, and the reload says so.
    d.reload(lc.daemon_config(fake, db, [b, c], extra={"aws": {"max_rps": 500, "timeout": "700ms",
                                                               "profile": "elsewhere"}}))
    jw.wait_until(lambda: "[aws] profile changed: it takes effect on restart" in d.stderr_text(), 10,
                  "restart notice naming [aws] profile")
    d.stop()


jw.main(test)
