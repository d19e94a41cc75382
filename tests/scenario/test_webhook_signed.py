#!/usr/bin/python3
"""Signed json webhooks end to end: every stored event arrives once verified (Standard Webhooks v1
signature checked by the receiver and again here), webhook-id is the event id in the state DB and stays the
same across retries (the receiver answers 503 twice, then 200), webhook-timestamp is fresh per attempt,
Content-Type / User-Agent / headers_file headers are sent, header values never reach the daemon's stderr,
and every payload field matches the stored event and the fake service's truth."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402
import notifylib as nl  # noqa: E402

BEARER = "jwBearerToken-DoNotLogMe-7f3a9c"
CUSTOM = "jwCustomHeaderValue-DoNotLogMe-51e0"
DATA_KEYS = {"jobArn", "name", "previousStatus", "status", "createTime", "updateTime",
             "configuredAudienceModelArn", "collaborationId", "region", "eventId"}


def test(t):
    c = jw.Checks()
    secret = nl.new_secret()
    # The first delivery fails twice (503) before it is accepted; each 503 comes 1.1 s after the request, so
    # every attempt starts in a later second than the one before and a reused timestamp would show.
    recv = nl.Receiver(t, "recv", secret=secret,
                       script=[{"status": 503, "delay": 1.1}, {"status": 503, "delay": 1.1}])
    hf = t.write("hook.headers", "# extra headers\nAuthorization: Bearer %s\nX-Jw-Test: %s\n" % (BEARER, CUSTOM))
    os.chmod(hf, 0o600)
    # Receivers first: the fake's scenario clock starts with it, so the daemon follows right after.
    scenario, kinds = lc.build(10, step_seconds=2.0)
    fake = t.start_fake(scenario)
    db = t.path("state.db")
    arns = [fake.arn(j) for j in kinds]
    cfg = nl.config(fake, db, arns, {"signed": nl.hook(recv.url + "/hook", secret_file=recv.secret_path,
                                                        headers_file=hf)})
    d = t.start_daemon(cfg, env=nl.daemon_env(time_scale=0.001), args=["--log-level", "debug"])
    jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1")
    rows = nl.wait_stored(db, fake, kinds)
    jw.wait_until(lambda: nl.all_done(db, "webhook:signed"), 60, "every delivery of webhook:signed done")
    truth = fake.truth()
    d.stop()
    recv.stop()
    now = time.time()

    by_id = {r["id"]: r for r in rows}
    detected = {r["id"]: r["detected_ms"] for r in
                jw.sqlite_rows(db, "SELECT id, detected_ms FROM events")}
    posts = recv.posts()
    c.ok(all(p["path"] == "/hook" for p in posts), "every post to the configured path")

    # Every attempt is signed and verified (by the receiver and independently here).
    for p in posts:
        c.ok(p["verified"] is True, "post %d verified by the receiver (%s)" % (p["index"], p.get("verify_error")))
        sig = nl.hdr(p, "webhook-signature") or ""
        want = nl.sign(secret, nl.hdr(p, "webhook-id"), nl.hdr(p, "webhook-timestamp"), p["body"])
        c.ok(want in sig.split(" "), "post %d: v1 signature matches the secret" % p["index"])
        c.eq(nl.hdr(p, "Content-Type"), "application/json", "post %d Content-Type" % p["index"])
        c.eq(nl.hdr(p, "User-Agent"), "jobwatchd/" + nl.version(), "post %d User-Agent" % p["index"])
        c.eq(nl.hdr(p, "Authorization"), "Bearer " + BEARER, "post %d Authorization from headers_file" % p["index"])
        c.eq(nl.hdr(p, "X-Jw-Test"), CUSTOM, "post %d X-Jw-Test from headers_file" % p["index"])
        ts = int(nl.hdr(p, "webhook-timestamp"))
        c.ok(abs(ts - now) <= 300, "post %d webhook-timestamp %d within 5 min of now" % (p["index"], ts))

    # Retries: the two 503s answer the first attempts; every event that got one is then accepted with the
    # same webhook-id and body and a fresh timestamp per attempt.  (Another job's event may go out between
    # a failed attempt and its retry: only a job's own later events wait for it.)
    c.ok(len(posts) >= 3, "at least three posts")
    c.eq([p["status"] for p in posts[:2]], [503, 503], "scripted answers")
    c.eq(nl.hdr(posts[0], "webhook-id"), rows[0]["id"], "the first event is tried first")
    failed_ids = {nl.hdr(p, "webhook-id") for p in posts if p["status"] == 503}
    c.ok(1 <= len(failed_ids) <= 2, "the 503s went to one or two events: %d" % len(failed_ids))
    for fid in sorted(failed_ids):
        tries = [p for p in posts if nl.hdr(p, "webhook-id") == fid]
        c.eq([p["status"] for p in tries][-1:], [200], "%s: accepted after its 503" % fid)
        c.eq(len({p["body"] for p in tries}), 1, "%s: same body across the retries" % fid)
        tss = [int(nl.hdr(p, "webhook-timestamp")) for p in tries]
        c.ok(all(a < b for a, b in zip(tss, tss[1:])), "%s: webhook-timestamp fresh per attempt: %s" % (fid, tss))

    # Every event arrives exactly once with a 2xx, and nothing else arrives.
    ok_ids = [nl.hdr(p, "webhook-id") for p in posts if p["status"] == 200]
    c.eq(sorted(ok_ids), sorted(by_id), "accepted webhook-ids == events.id")
    c.eq(len(ok_ids), len(set(ok_ids)), "no event accepted twice")
    c.eq(len(posts), len(rows) + 2, "posts = events + 2 retries")
    nl.check_order_per_job(c, posts, db, "signed")

    # Payload fields against the stored event and the fake's truth.
    last_seq = {}
    for r in rows:
        last_seq[r["arn"]] = r["seq"]
    for p in posts:
        if p["status"] != 200:
            continue
        eid = nl.hdr(p, "webhook-id")
        ev = by_id.get(eid)
        if ev is None:
            continue
        b = json.loads(p["body"])
        dd = b.get("data", {})
        what = "event %s (%s %s)" % (eid, ev["type"], ev["status"])
        c.eq(b.get("type"), ev["type"], what + " type")
        try:
            stamp = nl.parse_rfc3339(b.get("timestamp"))
            c.eq(int(stamp.timestamp() * 1000), detected[eid], what + " timestamp == detection time")
        except ValueError as e:
            c.ok(False, "%s timestamp: %s" % (what, e))
        missing = DATA_KEYS - set(dd)
        c.ok(not missing, "%s data lacks %s" % (what, sorted(missing)))
        c.eq(dd.get("eventId"), eid, what + " data.eventId == webhook-id")
        c.eq(dd.get("jobArn"), ev["arn"], what + " jobArn")
        c.eq(dd.get("status"), ev["status"], what + " status")
        c.eq(dd.get("previousStatus"), ev["previous_status"], what + " previousStatus")
        c.eq(dd.get("region"), jw.REGION, what + " region")
        tj = truth[ev["arn"]]
        c.eq(dd.get("name"), tj["name"], what + " name")
        c.eq(dd.get("collaborationId"), tj["collaborationId"], what + " collaborationId")
        c.eq(dd.get("configuredAudienceModelArn"), tj["configuredAudienceModelArn"],
             what + " configuredAudienceModelArn")
        c.eq(dd.get("createTime"), tj["createTime"], what + " createTime")
        for k in ("createTime", "updateTime"):
            try:
                nl.parse_rfc3339(dd.get(k))
            except ValueError as e:
                c.ok(False, "%s %s: %s" % (what, k, e))
        if ev["seq"] == last_seq[ev["arn"]] and ev["type"] == "job.status_changed":
            c.eq(dd.get("updateTime"), tj["updateTime"], what + " updateTime == the fake's (last change)")
        if ev["status"] == "CREATE_FAILED":
            c.eq(dd.get("statusDetails"), {"statusCode": "INSUFFICIENT_SEED", "message": "seed audience too small"},
                 what + " statusDetails")
        if ev["status"] == "DELETE_FAILED":
            c.eq(dd.get("statusDetails"), {"statusCode": "E", "message": "m"}, what + " statusDetails")
        if ev["status"] == "ACTIVE" and ev["type"] == "job.status_changed":
            c.eq(dd.get("metrics"), {"relevanceMetrics": [{"audienceSize": {"type": "ABSOLUTE", "value": 5000},
                                                           "score": 0.61}], "recallMetric": 0.33},
                 what + " metrics as the API returned them")
        if ev["status"] in ("CREATE_IN_PROGRESS", "CREATE_PENDING"):
            c.ok("statusDetails" not in dd, what + " no statusDetails on progress")

    # Secrets: neither header value nor the webhook secret ever reach the daemon's output.
    out = d.stderr_text() + d.stdout_text()
    for s in (BEARER, CUSTOM, secret, secret[len("whsec_"):]):
        c.ok(s not in out, "a secret value appears in the daemon's output")
    c.ok("signed" in out or "webhook" in out, "the daemon logged something about the webhook (debug)")
    c.done()


jw.main(test)
