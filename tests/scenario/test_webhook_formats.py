#!/usr/bin/python3
"""Slack and Alertmanager webhooks field by field (statuses driven through the fake's control API).

Two jobs: "fails" goes CREATE_IN_PROGRESS -> CREATE_FAILED (with a status message holding Slack control
characters), "slow" stays CREATE_IN_PROGRESS past poll.stuck_after (job.stuck) and later becomes ACTIVE.
- slack (path /slack): one post per event, {"text": readable line with the job name and statuses}, Slack
  escaping of & < >, blocks repeating the line plus a context row with the ARN and event id.
- alertmanager-webhook (path /am): the v4 payload; exactly three posts: firing AudienceGenerationJobFailed for
  "fails", firing AudienceGenerationJobStuck for "slow", then resolved for "slow" with the same fingerprint;
  discovered and progress events are not sent (their deliveries are marked done)."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import notifylib as nl  # noqa: E402

ZERO_TIME = "0001-01-01T00:00:00Z"
MSG = "seed <!channel> too small & sad"
AM_TOP = {"version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels", "commonLabels",
          "commonAnnotations", "externalURL", "alerts"}
AM_ALERT = {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}


def slack_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test(t):
    c = jw.Checks()
    # The jobs appear and change status through the fake's control API once the daemon watches them, so a
    # slow start cannot skip a status.  Until they appear the daemon's polls get 404 (no events).
    fake = t.start_fake({"jobs": []})
    recv = nl.Receiver(t, "recv")
    db = t.path("state.db")
    fails, slow = fake.arn("fails"), fake.arn("slow")
    cfg = nl.config(fake, db, [fails, slow], {
        "chat": nl.hook(recv.url + "/slack", fmt="slack"),
        "am": nl.hook(recv.url + "/am", fmt="alertmanager-webhook"),
    }, extra={"poll": {"stuck_after": "3s"}})
    d = t.start_daemon(cfg, env=nl.daemon_env())
    jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1")

    def stored(arn, typ, status):
        return any(e["arn"] == arn and e["type"] == typ and e["status"] == status for e in nl.events(db))
    fake.set_job("fails", "CREATE_IN_PROGRESS", name="weekly-lookalike")
    fake.set_job("slow", "CREATE_IN_PROGRESS", name="slow-but-fine")
    jw.wait_until(lambda: stored(fails, "job.discovered", "CREATE_IN_PROGRESS"), 30, "fails discovered")
    fake.set_job("fails", "CREATE_FAILED", statusDetails={"statusCode": "INSUFFICIENT_SEED", "message": MSG})
    jw.wait_until(lambda: stored(slow, "job.stuck", "CREATE_IN_PROGRESS"), 30, "slow reported stuck")
    fake.set_job("slow", "ACTIVE", metrics={"recallMetric": 0.5})

    def settled():
        return (stored(slow, "job.status_changed", "ACTIVE") and stored(fails, "job.status_changed", "CREATE_FAILED")
                and nl.all_done(db, "webhook:chat") and nl.all_done(db, "webhook:am"))
    jw.wait_until(settled, 60, "slow job ACTIVE and both hooks drained")
    d.stop()
    rows = nl.events(db)
    by_id = {r["id"]: r for r in rows}
    seqs = [(r["arn"], r["type"], r["previous_status"], r["status"]) for r in rows]
    for want in [(fails, "job.discovered", None, "CREATE_IN_PROGRESS"),
                 (fails, "job.status_changed", "CREATE_IN_PROGRESS", "CREATE_FAILED"),
                 (slow, "job.discovered", None, "CREATE_IN_PROGRESS"),
                 (slow, "job.stuck", "CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS"),
                 (slow, "job.status_changed", "CREATE_IN_PROGRESS", "ACTIVE")]:
        c.ok(want in seqs, "stored event %s (stored: %s)" % (want, seqs))
    c.eq(len(rows), 5, "number of stored events")

    # ---- slack ----
    sposts = recv.posts("/slack")
    c.eq(sorted(nl.post_ids(sposts)), sorted(by_id), "slack: one post per event (webhook-id == events.id)")
    names = {fails: "weekly-lookalike", slow: "slow-but-fine"}
    for p in sposts:
        ev = by_id.get(nl.hdr(p, "webhook-id"))
        if not ev:
            continue
        what = "slack %s %s" % (ev["type"], ev["status"])
        c.eq(nl.hdr(p, "Content-Type"), "application/json", what + " Content-Type")
        b = json.loads(p["body"])
        text = b.get("text")
        c.ok(isinstance(text, str) and "\n" not in text, what + ": text is one line: %r" % (text,))
        text = text or ""
        c.ok('"%s"' % names[ev["arn"]] in text, what + ": job name in %r" % text)
        c.ok(ev["status"] in text, what + ": status in %r" % text)
        if ev["type"] == "job.status_changed":
            line = 'audience generation job "%s" %s \u2192 %s' % (names[ev["arn"]], ev["previous_status"],
                                                                  ev["status"])
            if ev["status"] == "CREATE_FAILED":
                line += ": INSUFFICIENT_SEED: " + slack_escape(MSG)
            c.eq(text, line, what + " text")
        if ev["type"] == "job.stuck":
            c.ok("stuck" in text, what + ": says stuck: %r" % text)
        c.ok("<!channel>" not in p["body"], what + ": no raw <!channel> in the body")
        blocks = b.get("blocks")
        if blocks is not None:
            c.ok(isinstance(blocks, list) and len(blocks) >= 1, what + " blocks is a list")
            flat = json.dumps(blocks)
            c.ok(text and json.dumps(text)[1:-1] in flat, what + " blocks repeat the line")
            c.ok(ev["arn"] in flat and ev["id"] in flat, what + " blocks name the ARN and the event id")
            for blk in blocks:
                c.ok(blk.get("type") in ("section", "context", "header", "divider"),
                     what + " block type %r" % blk.get("type"))

    # ---- alertmanager ----
    aposts = recv.posts("/am")
    c.eq(len(aposts), 3, "alertmanager: three posts (failed, stuck, resolved)")
    sent_ids = set(nl.post_ids(aposts))
    for r in rows:
        if r["type"] == "job.discovered" or (r["type"] == "job.status_changed" and
                                            r["status"] not in ("CREATE_FAILED", "ACTIVE")):
            c.ok(r["id"] not in sent_ids, "alertmanager: %s %s not sent" % (r["type"], r["status"]))
    c.eq(nl.sink_states(db, "webhook:am"), {"done": 5}, "alertmanager: every delivery done (skipped ones too)")
    am = {}
    for p in aposts:
        ev = by_id.get(nl.hdr(p, "webhook-id"))
        c.ok(ev is not None, "alertmanager post with a stored event id")
        if not ev:
            continue
        b = json.loads(p["body"])
        key = (ev["arn"], ev["type"], ev["status"])
        am[key] = b
        what = "alertmanager %s %s %s" % (names[ev["arn"]], ev["type"], ev["status"])
        c.ok(AM_TOP <= set(b), what + " top-level keys: missing %s" % sorted(AM_TOP - set(b)))
        c.eq(b.get("version"), "4", what + " version")
        c.ok(isinstance(b.get("truncatedAlerts"), int), what + " truncatedAlerts is a number")
        alerts = b.get("alerts") or []
        c.eq(len(alerts), 1, what + " one alert")
        if not alerts:
            continue
        a = alerts[0]
        c.ok(AM_ALERT <= set(a), what + " alert keys: missing %s" % sorted(AM_ALERT - set(a)))
        c.eq(a.get("status"), b.get("status"), what + " alert status == group status")
        lab = a.get("labels", {})
        c.eq(lab.get("job_arn"), ev["arn"], what + " labels.job_arn")
        c.eq(lab.get("job_name"), names[ev["arn"]], what + " labels.job_name")
        c.eq(sorted(lab), ["alertname", "collaboration_id", "job_arn", "job_name", "region", "severity"],
             what + " identity labels only")
        c.eq(a.get("annotations", {}).get("status"), ev["status"], what + " annotations.status")
        c.ok(isinstance(lab.get("alertname"), str) and lab.get("alertname"), what + " labels.alertname")
        c.ok(all(isinstance(v, str) for v in lab.values()), what + " label values are strings")
        c.ok(isinstance(a.get("annotations"), dict) and all(isinstance(v, str) for v in a["annotations"].values()),
             what + " annotations are strings")
        c.eq(b.get("commonLabels"), lab, what + " commonLabels == the alert's labels")
        try:
            nl.parse_rfc3339(a.get("startsAt"))
        except ValueError as e:
            c.ok(False, "%s startsAt: %s" % (what, e))
        c.ok(isinstance(a.get("fingerprint"), str) and len(a["fingerprint"]) >= 8, what + " fingerprint")
        c.ok(isinstance(b.get("groupKey"), str) and b["groupKey"], what + " groupKey")

    failed = am.get((fails, "job.status_changed", "CREATE_FAILED"))
    stuck = am.get((slow, "job.stuck", "CREATE_IN_PROGRESS"))
    resolved = am.get((slow, "job.status_changed", "ACTIVE"))
    c.ok(failed and stuck and resolved, "alertmanager: failed, stuck and resolved posts present: %s" % list(am))
    if failed:
        a = failed["alerts"][0]
        c.eq(failed["status"], "firing", "CREATE_FAILED fires")
        c.eq(a["endsAt"], ZERO_TIME, "firing endsAt is the zero time")
        c.eq(a["labels"].get("alertname"), "AudienceGenerationJobFailed", "failed alertname")
        c.ok(MSG in json.dumps(a["annotations"], ensure_ascii=False) or MSG in a["annotations"].get("description", ""),
             "failed alert annotations carry the status message: %s" % a["annotations"])
    if stuck and resolved:
        s, r = stuck["alerts"][0], resolved["alerts"][0]
        c.eq(stuck["status"], "firing", "job.stuck fires")
        c.eq(s["labels"].get("alertname"), "AudienceGenerationJobStuck", "stuck alertname")
        c.eq(resolved["status"], "resolved", "ACTIVE after stuck resolves")
        c.eq(r["labels"].get("alertname"), s["labels"].get("alertname"), "resolved alertname == stuck alertname")
        c.eq(r["labels"], s["labels"], "the resolution carries exactly the firing alert's labels")
        c.eq(r["fingerprint"], s["fingerprint"], "resolved fingerprint == firing fingerprint")
        c.eq(resolved["groupKey"], stuck["groupKey"], "resolved groupKey == firing groupKey")
        c.ok(r["endsAt"] != ZERO_TIME, "resolved endsAt is set: %s" % r["endsAt"])
        try:
            c.ok(nl.parse_rfc3339(r["endsAt"]) >= nl.parse_rfc3339(s["startsAt"]),
                 "resolved endsAt not before the stuck alert started")
        except ValueError as e:
            c.ok(False, "resolved endsAt: %s" % e)
    if failed and stuck:
        c.ok(failed["alerts"][0]["fingerprint"] != stuck["alerts"][0]["fingerprint"],
             "different alerts have different fingerprints")
    c.done()


jw.main(test)
