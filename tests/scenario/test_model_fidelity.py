#!/usr/bin/python3
"""Fidelity to the service as it evolves (issue 14), end to end with the daemon, a signed webhook and the
state database; under tests/journal/run-journald.sh (test_model_fidelity_journal.sh) also a real journald.

- A status the daemon does not know (PAUSED) is a status: job.status_changed with it is stored, sent and
  journaled at warning priority; the job keeps being polled at the working interval; the new value is logged
  once; leaving it is a transition again.
- A List entry that does not fit the model is skipped and counted; the rest of the page is discovered.
- A SQL-seeded job with a 500,000-character query (the model's limit) is polled fine.
- The sensitive members (seedAudience.sqlParameters: query and parameters) carry a marker that appears
  nowhere: not in the state database (file and WAL, raw bytes), the daemon's log (debug level), the journal,
  webhook bodies, nor `jobwatchd get` output -- except `jobwatchd get --show-sensitive`, which proves the
  fake really serves it."""

import glob
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import notifylib as nl  # noqa: E402

JOURNAL_DIR = "/run/log/journal"
MARKER = "JWSENSITIVE-5c1e-marker"
COLLAB_D = "d15c0000-1111-4222-8333-444444444444"
# The model's longest string, with the marker at both ends (a cut-off copy would still be found).
QUERY = MARKER + " " + "x" * (500000 - 2 * len(MARKER) - 2) + " " + MARKER
SQL_SEED = {"roleArn": "arn:aws:iam::111122223333:role/seed-sql",
            "sqlParameters": {"queryString": QUERY, "parameters": {"marker": MARKER}},
            "sqlComputeConfiguration": {"worker": {"type": "CR.1X", "number": 4}}}


def in_journald():
    return os.path.isdir(JOURNAL_DIR) and os.path.exists("/run/systemd/journal/socket") and \
        os.environ.get("JW_IN_JOURNALD") == "1"


def journal_export():
    r = subprocess.run(["journalctl", "-D", JOURNAL_DIR, "-o", "export", "--no-pager", "--all"],
                       capture_output=True, timeout=60)
    return r.stdout


def journal_entries(*matches):
    r = subprocess.run(["journalctl", "-D", JOURNAL_DIR, "-o", "json", "--no-pager", "--all"] + list(matches),
                       capture_output=True, text=True, timeout=30)
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def test(t):
    c = jw.Checks()
    jw.check_eq(len(QUERY), 500000, "length of the long query")
    jobs = [{"id": "moving", "steps": [{"at": 0, "status": "CREATE_IN_PROGRESS"}]},
            {"id": "sql-seeded", "seedAudience": SQL_SEED, "steps": [{"at": 0, "status": "ACTIVE"}]}]
    jobs += [{"id": "disc-%d" % i, "collaborationId": COLLAB_D, "steps": [{"at": 0, "status": "ACTIVE"}]}
             for i in range(3)]
    fake = t.start_fake({"jobs": jobs})
    moving, sql = fake.arn("moving"), fake.arn("sql-seeded")
    disc = [fake.arn("disc-%d" % i) for i in range(3)]
    # The middle entry of the discovery page has a status that is no enum value at all.
    fake.add_fault("invalid_status", op="list", job=disc[1])
    secret = nl.new_secret()
    recv = nl.Receiver(t, "recv", secret=secret)
    db = t.path("state.db")
    cfg = nl.config(fake, db, [moving, sql], {"ops": nl.hook(recv.url + "/hook", secret_file=recv.secret_path)},
                    interval="200ms", journal=True)
    cfg["poll"]["settled_interval"] = "1h"
    cfg['discover "d"'] = {"collaboration_id": COLLAB_D, "interval": "1s"}
    t.write("jobwatchd-cli.conf", jw.ini_text({"aws": dict(cfg["aws"])}))
    d = t.start_daemon(cfg, env=nl.daemon_env(), args=["--log-level", "debug"])
    jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1")

    def stored(arn, status):
        return [e for e in nl.events(db) if e["arn"] == arn and e["status"] == status]
    jw.wait_until(lambda: stored(moving, "CREATE_IN_PROGRESS") and stored(sql, "ACTIVE"), 30,
                  "both watched jobs discovered (the SQL-seeded one with its 500,000-character query)")

    # --- an unknown status -------------------------------------------------------------------------------
    fake.set_job("moving", "PAUSED")
    ev = jw.wait_until(lambda: stored(moving, "PAUSED"), 20, "job.status_changed to PAUSED")[0]
    c.eq((ev["type"], ev["previous_status"]), ("job.status_changed", "CREATE_IN_PROGRESS"), "the PAUSED event")
    # Polled at the working interval (settled would be 1 h): several more Gets while it is PAUSED.
    n = len([q for q in fake.requests("get") if q.get("arn") == moving])
    jw.wait_until(lambda: len([q for q in fake.requests("get") if q.get("arn") == moving]) >= n + 4, 20,
                  "more polls of the PAUSED job")
    fake.set_job("moving", "ACTIVE")
    back = jw.wait_until(lambda: stored(moving, "ACTIVE"), 20, "job.status_changed out of PAUSED")[0]
    c.eq(back["previous_status"], "PAUSED", "leaving the unknown status is a transition from it")
    c.eq(len(stored(moving, "PAUSED")), 1, "one event for PAUSED")

    # --- discovery past an odd List entry ----------------------------------------------------------------
    def discovered():
        return {e["arn"] for e in nl.events(db) if e["type"] == "job.discovered" and e["arn"] in disc}
    jw.wait_until(lambda: discovered() >= {disc[0], disc[2]}, 30, "the page's good entries discovered")

    def delivered():
        ids = {nl.hdr(p, "webhook-id") for p in recv.posts() if p["status"] == 200}
        return all(e["id"] in ids for e in nl.events(db))
    jw.wait_until(delivered, 30, "every event delivered to the webhook")

    # --- jobwatchd get, without and with --show-sensitive -------------------------------------------------
    cli_env = nl.daemon_env()
    plain = t.run([jw.daemon_path(), "get", "-c", t.path("jobwatchd-cli.conf"), sql], env=cli_env, timeout=60)
    shown = t.run([jw.daemon_path(), "get", "-c", t.path("jobwatchd-cli.conf"), "--show-sensitive", sql],
                  env=cli_env, timeout=60)
    c.eq(plain.returncode, 0, "get of the SQL-seeded job (stderr %s)" % plain.stderr[-300:])
    c.ok(MARKER not in plain.stdout + plain.stderr, "get without --show-sensitive prints no sensitive member")
    c.ok('"roleArn":"arn:aws:iam::111122223333:role/seed-sql"' in plain.stdout, "get prints the rest of the seed")
    c.eq(shown.returncode, 0, "get --show-sensitive")
    got = json.loads(shown.stdout.splitlines()[0]) if shown.stdout.strip() else {}
    c.eq(got.get("seedAudience", {}).get("sqlParameters"), SQL_SEED["sqlParameters"],
         "get --show-sensitive prints the whole query and parameters")
    d.stop()

    # --- the checks on what the daemon wrote -----------------------------------------------------------
    log = d.stderr_text()
    notes = [ln for ln in log.splitlines() if "PAUSED" in ln and "does not know" in ln]
    c.eq(len(notes), 1, "the new status value is logged once: %r" % notes)
    c.ok(any("skipped 1 of 3 entries" in ln for ln in log.splitlines()),
         "the skipped List entry is logged with its count")
    c.ok("disc-1" not in discovered() and discovered() == {disc[0], disc[2]}, "discovered: %s" % discovered())
    bodies = {nl.hdr(p, "webhook-id"): json.loads(p["body"]) for p in recv.posts()}
    paused = bodies.get(ev["id"], {}).get("data", {})
    c.eq((paused.get("status"), paused.get("previousStatus")), ("PAUSED", "CREATE_IN_PROGRESS"),
         "the webhook for PAUSED carries it")
    c.ok(all(p["verified"] for p in recv.posts()), "webhooks verified")

    # The marker, nowhere.
    raw = b""
    for f in glob.glob(db + "*"):
        with open(f, "rb") as fh:
            raw += fh.read()
    c.ok(raw and MARKER.encode() not in raw, "state database (and WAL) free of the sensitive members")
    c.ok(MARKER not in log, "daemon log (debug) free of the sensitive members")
    c.ok(all(MARKER not in p["body"] for p in recv.posts()), "webhook bodies free of the sensitive members")
    c.ok(not any(MARKER in (r.get("payload") or "")
                 for r in jw.sqlite_rows(db, "SELECT payload FROM events")), "stored payloads")

    if in_journald():
        c.ok(MARKER.encode() not in journal_export(), "journal free of the sensitive members")
        e = journal_entries("JOB_ARN=" + moving, "JOB_STATUS=PAUSED")
        c.eq([(x.get("PRIORITY"), x.get("JOB_PREVIOUS_STATUS"), x.get("EVENT_ID")) for x in e],
             [("4", "CREATE_IN_PROGRESS", ev["id"])], "one journal entry for PAUSED at warning priority")
        e = journal_entries("JOB_ARN=" + moving, "JOB_PREVIOUS_STATUS=PAUSED")
        c.eq([x.get("JOB_STATUS") for x in e], ["ACTIVE"], "the journal entry leaving PAUSED")
    else:
        print("not inside run-journald.sh: journal checks are test_model_fidelity_journal.sh's")
    c.done()


jw.main(test)
