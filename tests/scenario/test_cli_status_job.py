#!/usr/bin/python3
"""`jobwatchd status ARN` and GET /v1/jobs/{arn}: one job in detail, with its history (issue 23, item 6).

A job is walked through CREATE_PENDING -> CREATE_IN_PROGRESS (stuck after 3 s) -> failing polls -> CREATE_FAILED
with status details, against the fake, with one webhook that takes every event and one that answers 503 (its
retries stretched so they wait).  At each step `status ARN` (text and --json) must show what the daemon knows:
status and since, stuck since, the failed polls and their error, the status details, and the history, newest
first, event for event as the state database holds it, with each delivery's state per sink.  A job the
service does not show yet says since when it answers ResourceNotFoundException; an unknown ARN exits 1 with
a clear message (and the API answers 404); `status` without ARN still prints the table."""

import datetime
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import fleetlib as fc  # noqa: E402
import jwtest as jw  # noqa: E402

DETAILS = {"statusCode": "INTERNAL_ERROR", "message": "seed audience too small"}


def enc(arn):
    return urllib.parse.quote(arn, safe="")


def status(t, sock, *args):
    return t.run([jw.daemon_path(), "status", "--socket", sock] + list(args), timeout=60)


def status_json(t, sock, arn, *args):
    r = status(t, sock, "--json", *args, arn)
    jw.check(r.returncode == 0, "status --json %s: rc %s, stderr %s" % (arn, r.returncode, r.stderr))
    return jw.json.loads(r.stdout)


def field(text, label):
    """The value of a 'Label:   value' line of the text, or None."""
    for line in text.splitlines():
        if line.startswith(label + ":"):
            return line[len(label) + 1:].strip()
    return None


def iso_ms(s):
    return int(datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000)


def stored_history(db, arn):
    """The job's events as the state database holds them, newest first."""
    return jw.sqlite_rows(db, "SELECT seq, id, type, previous_status, status FROM events WHERE arn = ? "
                              "ORDER BY seq DESC", (arn,))


def history_lines(text):
    """The event lines of the History block: (type, 'FROM -> TO' or 'STATUS')."""
    out, inside = [], False
    for line in text.splitlines():
        if line.startswith("History"):
            inside = True
            continue
        if inside and line.startswith("  ") and not line.startswith("      "):
            words = line.split()
            out.append((words[1], " ".join(words[2:])))
    return out


def test(t):
    ok = t.start_receiver(name="ops", script=[{"status": 500}])  # fails the first post only
    down = t.start_receiver(name="down", script=[{"status": 503}] * 10000)
    fake = t.start_fake({"jobs": [
        {"id": "hist", "name": "weekly", "steps": [{"at": 0, "status": "CREATE_PENDING"}]},
        {"id": "late", "appearAt": 100000, "steps": [{"at": 0, "status": "CREATE_PENDING"}]},
    ]})
    hist, late, nope = fake.arn("hist"), fake.arn("late"), fake.arn("nope")
    db = t.path("state.db")
    sock = t.path("jobwatchd.sock")
    cfg = {
        "aws": {"region": jw.REGION, "endpoint": fake.url, "max_rps": 100, "timeout": "2s"},
        "poll": {"interval": "200ms", "settled_interval": "200ms", "failed_interval": "0", "jitter": "10%",
                 "stuck_after": "3s", "not_found_grace": "1h"},
        "jobs": {"arn": [hist, late]},
        "state": {"path": db},
        "journal": {"enabled": False},
        "http": {"listen": "unix:" + sock},
        'webhook "ops"': {"url": ok.url + "/in", "format": "json"},
        'webhook "down"': {"url": down.url + "/in", "format": "json"},
    }
    # Webhook retries 100x slower: the first retry of "down" is well beyond the test.
    d = t.start_daemon(cfg, env=dict(jw.aws_env(), JW_WEBHOOK_TIME_SCALE="100"))
    fc.wait_for_socket(d, sock)
    api = fc.Api(sock=sock)

    # ---- first sight ----------------------------------------------------------------------------------
    jw.wait_until(lambda: (api.job(hist) or {}).get("status") == "CREATE_PENDING", 20, "hist discovered")
    j = status_json(t, sock, hist)
    jw.check_eq(j["arn"], hist, "arn")
    jw.check_eq([e["type"] for e in j["history"]], ["job.discovered"], "history after first sight")
    jw.check(j["history"][0]["previousStatus"] is None and j["history"][0]["status"] == "CREATE_PENDING",
             "job.discovered: %s" % j["history"][0])
    jw.check(j["lastPollResult"] == "ok" and not j["stuck"], "a polled job: %s" % j)
    # No next poll while one is in flight: ask until one is scheduled.
    jw.wait_until(lambda: status_json(t, sock, hist)["nextPoll"], 10, "a next poll of a working job")

    # ---- in progress, then stuck ------------------------------------------------------------------------
    fake.set_job(hist, "CREATE_IN_PROGRESS")
    jw.wait_until(lambda: (api.job(hist) or {}).get("status") == "CREATE_IN_PROGRESS", 20, "hist in progress")
    jw.wait_until(lambda: status_json(t, sock, hist)["stuck"], 20, "hist stuck after 3 s")
    j = status_json(t, sock, hist)
    stuck = stored_history(db, hist)[0]
    jw.check_eq(stuck["type"], "job.stuck", "the newest stored event of a stuck job")
    jw.check(j["stuckSince"] and j["history"][0]["type"] == "job.stuck"
             and j["stuckSince"] == j["history"][0]["detected"], "stuckSince is the job.stuck event: %s" % j)
    r = status(t, sock, hist)
    jw.check(r.returncode == 0, "status ARN: rc %s, %s" % (r.returncode, r.stderr))
    jw.check((field(r.stdout, "Stuck since") or "").startswith(j["stuckSince"]), "Stuck since line:\n" + r.stdout)
    jw.check((field(r.stdout, "Status") or "").startswith("CREATE_IN_PROGRESS since "), "Status line:\n" + r.stdout)

    # ---- failing polls: an answer about the job that is not a state ---------------------------------------
    fake.add_fault("validation", job=hist, op="get")
    jw.wait_until(lambda: status_json(t, sock, hist)["failures"] >= 2, 20, "two failed polls of hist")
    j = status_json(t, sock, hist)
    jw.check(j["lastPollResult"] == "failed" and "ValidationException" in (j["lastError"] or ""),
             "failed polls: %s %s" % (j["lastPollResult"], j["lastError"]))
    r = status(t, sock, hist)
    jw.check((field(r.stdout, "Last poll") or "").endswith(", failed"), "Last poll line:\n" + r.stdout)
    jw.check("ValidationException" in (field(r.stdout, "Last error") or ""), "Last error line:\n" + r.stdout)
    jw.check(int((field(r.stdout, "Failures") or "0").split()[0]) >= 2, "Failures line:\n" + r.stdout)
    fake.clear_faults()

    # ---- failed, with details ---------------------------------------------------------------------------
    fake.set_job(hist, "CREATE_FAILED", statusDetails=DETAILS)
    jw.wait_until(lambda: (api.job(hist) or {}).get("status") == "CREATE_FAILED", 20, "hist failed")
    # webhook:ops failed its first post; its retry is far away: send it now.
    jw.wait_until(lambda: jw.sqlite_rows(db, "SELECT 1 FROM deliveries WHERE sink = 'webhook:ops' "
                                             "AND attempts > 0"), 20, "webhook:ops failed once")
    r = t.run([jw.daemon_path(), "retry", "--socket", sock, "ops"], timeout=60)
    jw.check(r.returncode == 0, "retry ops: %s %s" % (r.stdout, r.stderr))
    jw.wait_until(lambda: all(r["state"] == "done" for r in jw.sqlite_rows(
        db, "SELECT state FROM deliveries WHERE sink = 'webhook:ops'")) and len(ok.posts()) >= 4, 20,
        "every event delivered to webhook:ops")
    jw.wait_until(lambda: jw.sqlite_rows(db, "SELECT 1 FROM deliveries WHERE sink = 'webhook:down' "
                                             "AND attempts > 0"), 20, "webhook:down failed once")
    stored = stored_history(db, hist)
    jw.check_eq([(e["type"], e["previous_status"], e["status"]) for e in stored], [
        ("job.status_changed", "CREATE_IN_PROGRESS", "CREATE_FAILED"),
        ("job.stuck", "CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS"),
        ("job.status_changed", "CREATE_PENDING", "CREATE_IN_PROGRESS"),
        ("job.discovered", None, "CREATE_PENDING"),
    ], "the stored history")

    j = status_json(t, sock, hist)
    jw.check_eq((j["status"], j["statusCode"], j["statusMessage"], j["failures"], j["lastPollResult"]),
                ("CREATE_FAILED", DETAILS["statusCode"], DETAILS["message"], 0, "ok"), "the failed job")
    jw.check(not j["stuck"] and j["stuckSince"] is None, "a settled job is not stuck: %s" % j)
    jw.check_eq(j["historyTotal"], 4, "historyTotal")
    jw.check_eq([e["eventId"] for e in j["history"]], [e["id"] for e in stored], "history = the stored events, "
                "newest first")
    jw.check_eq([(e["type"], e["previousStatus"], e["status"]) for e in j["history"]],
                [(e["type"], e["previous_status"], e["status"]) for e in stored], "history types and statuses")
    newest = j["history"][0]
    jw.check_eq((newest["statusCode"], newest["statusMessage"]), (DETAILS["statusCode"], DETAILS["message"]),
                "the failure's details in its event")
    times = [e["detected"] for e in j["history"]]
    jw.check(times == sorted(times, reverse=True), "detection times newest first: %s" % times)
    for e in j["history"]:
        sinks = {x["sink"]: x for x in e["deliveries"]}
        jw.check_eq(sorted(sinks), ["webhook:down", "webhook:ops"], "sinks of %s" % e["type"])
        jw.check_eq(sinks["webhook:ops"]["state"], "done", "webhook:ops delivered %s" % e["type"])
        jw.check_eq(sinks["webhook:down"]["state"], "pending", "webhook:down still owes %s" % e["type"])
    first = {x["sink"]: x for x in j["history"][-1]["deliveries"]}
    jw.check(first["webhook:down"]["attempts"] >= 1 and "503" in (first["webhook:down"]["lastError"] or "")
             and first["webhook:down"]["nextAttempt"], "the failing delivery says so: %s" % first)
    jw.check(first["webhook:ops"]["attempts"] == 1 and first["webhook:ops"]["nextAttempt"] is None,
             "the delivery that failed once, then went out: %s" % first)

    r = status(t, sock, hist)
    jw.check(r.returncode == 0, "status ARN: rc %s, %s" % (r.returncode, r.stderr))
    out = r.stdout
    jw.check_eq(field(out, "Job"), hist, "Job line")
    jw.check_eq(field(out, "Name"), "weekly", "Name line")
    jw.check((field(out, "Status") or "").startswith("CREATE_FAILED since "), "Status line:\n" + out)
    jw.check_eq(field(out, "Status details"), "INTERNAL_ERROR: seed audience too small", "Status details line")
    jw.check((field(out, "Last poll") or "").endswith(", ok"), "Last poll line:\n" + out)
    jw.check(field(out, "Last error") is None, "no Last error line once polls succeed:\n" + out)
    jw.check(field(out, "Stuck since") is None, "no Stuck line once settled:\n" + out)
    jw.check("History (newest first; 4 of 4 stored events):" in out, "History heading:\n" + out)
    jw.check_eq(history_lines(out), [
        ("job.status_changed", "CREATE_IN_PROGRESS -> CREATE_FAILED"),
        ("job.stuck", "CREATE_IN_PROGRESS"),
        ("job.status_changed", "CREATE_PENDING -> CREATE_IN_PROGRESS"),
        ("job.discovered", "CREATE_PENDING"),
    ], "history lines")
    jw.check("      details: INTERNAL_ERROR: seed audience too small" in out, "event details line:\n" + out)
    jw.check("webhook:ops: done" in out and "webhook:down: pending, 1 failed attempt, next " in out
             and "webhook:ops: done after 1 failed attempt" in out, "delivery lines:\n" + out)

    # --history N: the newest N, the total still told.
    j = status_json(t, sock, hist, "--history", "1")
    jw.check_eq(([e["type"] for e in j["history"]], j["historyTotal"]), (["job.status_changed"], 4), "--history 1")
    r = status(t, sock, "--history", "1", hist)
    jw.check("History (newest first; 1 of 4 stored events):" in r.stdout, "--history 1 text:\n" + r.stdout)
    r = status(t, sock, "--history", "0", hist)
    jw.check(r.returncode == 0 and "History: not asked for" in r.stdout and field(r.stdout, "Status"),
             "--history 0:\n" + r.stdout)
    for bad in (["--history", "x", hist], ["--history", "1001", hist], ["--history", "2"], ["--all", hist]):
        r = status(t, sock, *bad)
        jw.check_eq(r.returncode, 2, "status %s" % " ".join(bad))
    jw.check_eq(api.json("GET", "/v1/jobs/%s?history=abc" % enc(hist))[0], 400, "?history=abc")

    # ---- a job the service does not show yet ------------------------------------------------------------
    jw.wait_until(lambda: status_json(t, sock, late).get("notFoundSince"), 20, "late answered 404")
    j = status_json(t, sock, late)
    jw.check(j["status"] is None and j["history"] == [] and j["historyTotal"] == 0, "late: %s" % j)
    r = status(t, sock, late)
    jw.check((field(r.stdout, "Status") or "").startswith("UNKNOWN"), "late Status line:\n" + r.stdout)
    # Kept on the monotonic clock and shown on the wall clock: two answers may differ by a few ms.
    shown = (field(r.stdout, "Not found since") or "").split(" ")[0]
    jw.check(shown and abs(iso_ms(shown) - iso_ms(j["notFoundSince"])) < 1000,
             "Not found since line (JSON said %s):\n%s" % (j["notFoundSince"], r.stdout))
    jw.check("ResourceNotFoundException" in (field(r.stdout, "Last error") or ""), "late Last error:\n" + r.stdout)
    jw.check("History: no events stored" in r.stdout, "late History:\n" + r.stdout)

    # ---- unknown ARN, several ARNs, the table ----------------------------------------------------------------
    st, body = api.json("GET", "/v1/jobs/" + enc(nope))
    jw.check(st == 404 and "no such job" in body.get("error", ""), "GET of an unknown job: %s %s" % (st, body))
    for args in ([nope], ["--json", nope]):
        r = status(t, sock, *args)
        jw.check(r.returncode == 1 and "does not know this job" in r.stderr and nope in r.stderr
                 and r.stdout == "", "status %s: rc %s out %r err %r" % (args, r.returncode, r.stdout, r.stderr))
    r = status(t, sock, hist, nope, late)
    jw.check(r.returncode == 1 and r.stdout.count("\nJob:") + r.stdout.startswith("Job:") == 2,
             "two known jobs printed, the unknown one failed: rc %s\n%s" % (r.returncode, r.stdout))
    r = status(t, sock, "arn:aws:s3:::bucket")
    jw.check(r.returncode == 1 and "not an audience generation job ARN" in r.stderr, "bad ARN: %s" % r.stderr)
    r = status(t, sock)
    lines = r.stdout.splitlines()
    jw.check(r.returncode == 0 and lines[0].split()[:2] == ["NAME", "STATUS"], "table: %r" % r.stdout)
    jw.check(any(line.split()[:2] == ["weekly", "CREATE_FAILED"] for line in lines), "table row: %r" % r.stdout)

    # ---- unwatched: still known, state kept ------------------------------------------------------------------
    api.request("DELETE", "/v1/jobs/" + enc(hist))
    r = status(t, sock, hist)
    jw.check((field(r.stdout, "Watched") or "").startswith("no (state kept)"), "unwatched:\n" + r.stdout)
    jw.check(field(r.stdout, "Next poll") == "-", "an unwatched job has no next poll:\n" + r.stdout)
    d.stop()
    jw.check(jw.SECRET not in d.stderr_text(), "secret in the daemon's log")


jw.main(test)
