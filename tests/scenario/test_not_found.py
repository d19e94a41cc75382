#!/usr/bin/python3
"""A mistyped ARN alerts (issue 23, item 4).  Three jobs with `[poll] not_found_grace = 2s`:
  - "typo": never exists (ResourceNotFoundException forever): exactly one job.not_found after the grace, with
    null statuses, delivered to a json hook and to a Slack hook whose `on` asks for job.not_found only;
  - "late": appears 1 s after start, inside the grace: job.discovered, never job.not_found;
  - "real": exists from the start: job.discovered only.
A restart (SIGTERM, then the same state file) lets the grace run out again for "typo": no second event, no
second POST.  Then "typo" appears: job.discovered, as for any job."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import notifylib as nl  # noqa: E402

GRACE_S = 2.0


def not_found_events(db):
    return [e for e in nl.events(db) if e["type"] == "job.not_found"]


def bodies(rx):
    return [json.loads(p["body"]) for p in rx.posts()]


def test(t):
    fake = t.start_fake({"jobs": [
        {"id": "real", "steps": [{"at": 0, "status": "CREATE_IN_PROGRESS"}]},
        {"id": "late", "appearAt": 1.0, "steps": [{"at": 1.0, "status": "CREATE_PENDING"}]},
    ]})
    typo, late, real = fake.arn("typo"), fake.arn("late"), fake.arn("real")
    ops = nl.Receiver(t, "ops")
    chat = nl.Receiver(t, "chat")
    db = t.path("state.db")
    cfg = nl.config(fake, db, [typo, late, real],
                    {"ops": nl.hook(ops.url + "/in"), "chat": nl.hook(chat.url + "/in", fmt="slack", on="job.not_found")},
                    interval="300ms", extra={"poll": {"not_found_grace": "2s"}})
    d = t.start_daemon(cfg, env=nl.daemon_env())
    t0 = time.time()
    jw.wait_until(lambda: not_found_events(db), 20, "job.not_found for the mistyped ARN")
    took = time.time() - t0
    jw.check(took >= GRACE_S - 0.2, "job.not_found %.2f s after start, before the %.1f s grace" % (took, GRACE_S))
    jw.wait_until(lambda: any(b.get("type") == "job.not_found" for b in bodies(ops)), 20, "the json POST")
    jw.wait_until(lambda: chat.posts(), 20, "the Slack POST")
    time.sleep(3 * GRACE_S)  # more polls past the grace: still one event
    d.stop()

    got = not_found_events(db)
    jw.check_eq([e["arn"] for e in got], [typo], "job.not_found events")
    jw.check(got[0]["status"] is None and got[0]["previous_status"] is None, "null statuses: %s" % got[0])
    types = {}
    for e in nl.events(db):
        types.setdefault(e["arn"], []).append(e["type"])
    jw.check_eq(types.get(late), ["job.discovered"], "events of the job that appeared inside the grace")
    jw.check_eq(types.get(real), ["job.discovered"], "events of the existing job")
    nf = [b for b in bodies(ops) if b.get("type") == "job.not_found"]
    jw.check_eq(len(nf), 1, "json POSTs of job.not_found")
    jw.check(nf[0]["data"]["jobArn"] == typo and nf[0]["data"]["status"] is None,
             "json payload: %s" % json.dumps(nf[0])[:600])
    slack = [json.loads(p["body"]) for p in chat.posts()]
    jw.check_eq(len(slack), 1, "Slack POSTs (on = job.not_found)")
    jw.check("not found" in json.dumps(slack[0]) and "typo" in json.dumps(slack[0]),
             "Slack text names the job and says not found: %s" % json.dumps(slack[0])[:600])
    jw.check("typo" in d.stderr_text() and "still answers ResourceNotFoundException" in d.stderr_text(),
             "the warning in the log")

    # Restart: the grace runs out again, nothing is raised twice.
    d = t.start_daemon(cfg, env=nl.daemon_env())
    time.sleep(3 * GRACE_S)
    jw.check_eq(len(not_found_events(db)), 1, "job.not_found events after a restart")
    # The job appears after all: an ordinary first sight.
    fake.set_job(typo, "CREATE_PENDING")
    jw.wait_until(lambda: any(e["arn"] == typo and e["type"] == "job.discovered" for e in nl.events(db)), 20,
                  "job.discovered once it exists")
    d.stop()
    jw.check_eq(len([b for b in bodies(ops) if b.get("type") == "job.not_found"]), 1,
                "json POSTs of job.not_found after the restart")
    jw.check_eq(len(chat.posts()), 1, "Slack POSTs after the restart")


jw.main(test)
