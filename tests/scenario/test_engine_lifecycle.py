#!/usr/bin/python3
"""50 jobs through full lifecycles against the fake service (with SigV4 verification on): the exact event
sequence per job -- no extra, none missing -- and the late job's 404s before it appears are poll failures,
not events."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402


def test(t):
    scenario, kinds = lc.build(50)
    fake = t.start_fake(scenario, verify_sigv4=True)
    db = t.path("state.db")
    arns = [fake.arn(j) for j in kinds]
    d = t.start_daemon(lc.daemon_config(fake, db, arns), env=jw.aws_env())
    jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1")
    jw.wait_until(lambda: lc.done(db, fake, kinds), 60, "every expected event stored")
    # Give the daemon time to invent something extra, then compare exactly.
    jw.wait_until(lambda: len(fake.requests("get")) > 50 * 12, 30, "a few more poll rounds")
    d.stop()
    rows = lc.compare(db, fake, kinds)

    # The failure carries its statusDetails; ACTIVE carries metrics.
    for r in rows:
        p = json.loads(r["payload"])
        if r["status"] == "CREATE_FAILED":
            jw.check_eq(p.get("statusDetails"), {"statusCode": "INSUFFICIENT_SEED",
                                                 "message": "seed audience too small"}, "statusDetails")
        if r["status"] == "ACTIVE" and r["type"] == "job.status_changed":
            jw.check(p.get("metrics", {}).get("recallMetric") == 0.33, "metrics in ACTIVE event: %s" % p)

    # Requests were signed and encoded correctly: the fake verified every one (no 403/400 answers).
    bad = [r for r in fake.requests() if r.get("status") in (400, 403)]
    jw.check(not bad, "requests rejected by the fake: %s" % bad[:3])
    jw.check(any("%2F" in r["raw_path"] for r in fake.requests("get")), "ARN '/' sent as %2F")

    # The late jobs answered 404 before they appeared: counted as poll failures, no event.
    late = [fake.arn(j) for j, k in kinds.items() if k == "late"]
    rows404 = [r for r in fake.requests("get") if r.get("status") == 404 and r.get("arn") in late]
    jw.check(rows404, "late jobs were polled before they appeared")
    failures = jw.sqlite_rows(db, "SELECT arn, poll_failures FROM jobs")
    jw.check(any(f["poll_failures"] > 0 for f in failures if f["arn"] in late), "404 before first sight counted")

    # STATUS= lines were sent.
    jw.check(any(a.startswith("STATUS=watching 50 jobs") for a in d.notify_assignments()),
             "STATUS line: %s" % d.notify_assignments()[:5])


jw.main(test)
