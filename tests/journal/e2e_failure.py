#!/usr/bin/python3
"""Runs inside tests/journal/run-journald.sh (a private journald in a private mount namespace), started by
tests/scenario/test_notify_e2e_journal.sh.

The fake service, a webhook receiver and the daemon (journal enabled, one signed json webhook) run here; a
job goes CREATE_IN_PROGRESS -> CREATE_FAILED.  Asserts the journal entry for the failure with every field
(read back with journalctl -D /run/log/journal -o json) and a verified signed webhook with the same event id.
Records (prints, does not assert) the delay from the fake's status flip to the journal entry and to the
webhook's arrival, and the daemon's detection time."""

import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import notifylib as nl  # noqa: E402

JOURNAL_DIR = "/run/log/journal"
POLL_INTERVAL = "1s"
CODE = "INSUFFICIENT_SEED"
MESSAGE = "seed audience too small: 12 rows\nneed at least 500"
FIELDS = ("MESSAGE", "MESSAGE_ID", "PRIORITY", "JOB_ARN", "JOB_NAME", "JOB_STATUS", "JOB_PREVIOUS_STATUS",
          "JOB_STATUS_CODE", "JOB_STATUS_MESSAGE", "JOB_UPDATE_TIME", "JOB_COLLABORATION_ID",
          "JOB_CONFIGURED_AUDIENCE_MODEL_ARN", "EVENT_ID", "EVENT_TYPE")


def message_id(name):
    with open(os.path.join(jw.SOURCE_DIR, "daemon", "notify", "journal.h"), encoding="utf-8") as f:
        m = re.search(r'#define\s+%s\s+"([0-9a-f]{32})"' % name, f.read())
    if not m:
        jw.fail("%s not found in daemon/notify/journal.h" % name)
    return m.group(1)


def journal_entries(*matches):
    r = subprocess.run(["journalctl", "-D", JOURNAL_DIR, "-o", "json", "--no-pager", "--all"] + list(matches),
                       capture_output=True, text=True, timeout=30)
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def test(t):
    if not os.path.isdir(JOURNAL_DIR) or not os.path.exists("/run/systemd/journal/socket"):
        jw.skip("not inside run-journald.sh")
    c = jw.Checks()
    # The job appears and fails through the fake's control API: the flip time is exact (updateTime = now)
    # and a slow daemon start cannot skip the CREATE_IN_PROGRESS status.
    fake = t.start_fake({"jobs": []})
    secret = nl.new_secret()
    recv = nl.Receiver(t, "recv", secret=secret)
    db = t.path("state.db")
    arn = fake.arn("weekly-1")
    cfg = nl.config(fake, db, [arn], {"ops": nl.hook(recv.url + "/alerts", secret_file=recv.secret_path)},
                    interval=POLL_INTERVAL, journal=True)
    cfg["poll"]["jitter"] = "0%"
    d = t.start_daemon(cfg, env=nl.daemon_env())
    jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1")

    fake.set_job("weekly-1", "CREATE_IN_PROGRESS", name="weekly-lookalike")
    jw.wait_until(lambda: journal_entries("JOB_ARN=" + arn, "EVENT_TYPE=job.discovered"), 30,
                  "a journal entry for the discovery")
    # Flip right after a poll so the measured delay includes a (nearly) full poll interval: the worst case.
    polls = len(fake.requests("get"))
    jw.wait_until(lambda: len(fake.requests("get")) > polls, 10, "the next poll", interval=0.01)
    fake.set_job("weekly-1", "CREATE_FAILED", statusDetails={"statusCode": CODE, "message": MESSAGE})

    def failed_entry():
        e = journal_entries("JOB_ARN=" + arn, "JOB_STATUS=CREATE_FAILED")
        return e[0] if e else None
    entry = jw.wait_until(failed_entry, 30, "a journal entry for the failure")
    jw.wait_until(lambda: any(p["status"] == 200 for p in recv.posts()
                              if nl.hdr(p, "webhook-id") == entry.get("EVENT_ID")), 30,
                  "the webhook for the same event")
    truth = fake.truth()[arn]
    d.stop()

    rows = [r for r in nl.events(db) if r["status"] == "CREATE_FAILED"]
    c.eq(len(rows), 1, "one CREATE_FAILED event stored")
    ev = rows[0] if rows else {"id": None}
    c.eq(len(journal_entries("JOB_ARN=" + arn, "JOB_STATUS=CREATE_FAILED")), 1, "exactly one journal entry")

    missing = [f for f in FIELDS if f not in entry]
    c.ok(not missing, "journal entry lacks %s" % missing)
    want = {
        "MESSAGE": 'audience generation job "weekly-lookalike" CREATE_IN_PROGRESS \u2192 CREATE_FAILED: %s: %s'
                   % (CODE, MESSAGE.replace("\n", " ")),
        "MESSAGE_ID": message_id("JOURNAL_MESSAGE_ID_JOB_STATUS_CHANGED"),
        "PRIORITY": "3",
        "JOB_ARN": arn,
        "JOB_NAME": "weekly-lookalike",
        "JOB_STATUS": "CREATE_FAILED",
        "JOB_PREVIOUS_STATUS": "CREATE_IN_PROGRESS",
        "JOB_STATUS_CODE": CODE,
        "JOB_STATUS_MESSAGE": MESSAGE,
        "JOB_UPDATE_TIME": truth["updateTime"],
        "JOB_COLLABORATION_ID": truth["collaborationId"],
        "JOB_CONFIGURED_AUDIENCE_MODEL_ARN": truth["configuredAudienceModelArn"],
        "EVENT_ID": ev["id"],
        "EVENT_TYPE": "job.status_changed",
    }
    for k, v in want.items():
        c.eq(entry.get(k), v, "journal field %s" % k)
    c.eq(entry.get("_TRANSPORT"), "journal", "sent with the native protocol")

    # The other events of this job reached the journal too (discovered, priority 6).
    disc = journal_entries("JOB_ARN=" + arn, "EVENT_TYPE=job.discovered")
    c.eq([e.get("PRIORITY") for e in disc], ["6"], "one job.discovered entry with PRIORITY=6")

    # The signed webhook for the same event.
    hits = [p for p in recv.posts() if nl.hdr(p, "webhook-id") == entry.get("EVENT_ID")]
    c.ok(hits and all(p["verified"] is True for p in hits), "webhook for EVENT_ID verified by the receiver")
    post = hits[0] if hits else None
    if post:
        b = json.loads(post["body"])
        c.eq((b["type"], b["data"]["status"], b["data"]["previousStatus"], b["data"]["eventId"]),
             ("job.status_changed", "CREATE_FAILED", "CREATE_IN_PROGRESS", entry.get("EVENT_ID")), "webhook body")
        c.eq(b["data"].get("statusDetails"), {"statusCode": CODE, "message": MESSAGE}, "webhook statusDetails")
        c.ok(nl.sign(secret, nl.hdr(post, "webhook-id"), nl.hdr(post, "webhook-timestamp"), post["body"])
             in (nl.hdr(post, "webhook-signature") or "").split(" "), "webhook signature (checked here too)")

    # Measurements (printed for the record; speed is not asserted here).
    flip = nl.parse_rfc3339(truth["updateTime"]).timestamp()
    detected = jw.sqlite_rows(db, "SELECT detected_ms FROM events WHERE id = ?", (ev["id"],))
    j_at = int(entry["__REALTIME_TIMESTAMP"]) / 1e6
    w_at = nl.parse_rfc3339(post["time"]).timestamp() if post else float("nan")
    print("MEASURED poll interval %s: fake flip %s; detected +%.0f ms; journal entry +%.0f ms; "
          "webhook arrival +%.0f ms" % (POLL_INTERVAL, truth["updateTime"],
                                        (detected[0]["detected_ms"] / 1000.0 - flip) * 1000 if detected else -1,
                                        (j_at - flip) * 1000, (w_at - flip) * 1000))
    c.done()


jw.main(test)
