#!/usr/bin/python3
"""Issue 15: one resource of every kind with a Get, watched through `[jobs] arn`, walks its statuses (CANCEL_*,
CANCEL_FAILED and INACTIVE included) while the daemon restarts in the middle.

Statuses are set through the fake's control API once the daemon has seen the previous one, so a slow machine
cannot skip a step.  Checked: every kind's stored event sequence is exactly its walk (no event lost or repeated
across the restart); JSON webhook payloads of the new kinds carry resourceType and resourceArn (and
metricsStatus/logsStatus), an audience generation job's payload has neither; Alertmanager labels carry
resource_type; /metrics counts jobs by kind; `jobwatchd get` answers for every kind."""

import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import fleetlib as fl  # noqa: E402
import notifylib as nl  # noqa: E402

M = "a1b2c3d4-0000-4000-8000-00000000e3b0"



def arn(rtype, rid, membership=None):
    where = "membership/%s/%s" % (membership, rtype) if membership else rtype
    return "arn:aws:cleanrooms-ml:%s:%s:%s/%s" % (jw.REGION, jw.ACCOUNT, where, rid)


TM = arn("trained-model", "tm1", M)
# kind -> (ARN, fake identity keys, [(status, extra fields)] walked in order)
KINDS = {
    "audience-generation-job": (jw.job_arn("agj1"), {}, [
        ("CREATE_IN_PROGRESS", {}), ("ACTIVE", {})]),
    "audience-model": (arn("audience-model", "am1"), {}, [
        ("CREATE_PENDING", {}), ("CREATE_IN_PROGRESS", {}), ("ACTIVE", {}), ("DELETE_PENDING", {}),
        ("DELETE_FAILED", {"statusDetails": {"statusCode": "AM_DEL", "message": "model in use"}})]),
    "trained-model": (TM, {"membershipIdentifier": M}, [
        ("CREATE_PENDING", {}), ("CREATE_IN_PROGRESS", {}), ("CANCEL_PENDING", {}), ("CANCEL_IN_PROGRESS", {}),
        ("CANCEL_FAILED", {"statusDetails": {"statusCode": "TM_CANCEL", "message": "too late to cancel"},
                           "metricsStatus": "PUBLISH_FAILED", "metricsStatusDetails": "no metrics",
                           "logsStatus": "PUBLISH_SUCCEEDED"})]),
    "trained-model-inference-job": (arn("trained-model-inference-job", "ij1", M),
                                    {"membershipIdentifier": M, "trainedModelArn": TM}, [
        ("CREATE_PENDING", {}), ("CREATE_IN_PROGRESS", {}), ("ACTIVE", {}),
        ("INACTIVE", {"logsStatus": "PUBLISH_FAILED", "logsStatusDetails": "log group gone"})]),
    "ml-input-channel": (arn("ml-input-channel", "ch1", M),
                         {"membershipIdentifier": M}, [
        ("CREATE_PENDING", {}), ("CREATE_IN_PROGRESS", {}), ("ACTIVE", {}), ("INACTIVE", {})]),
}
RESTART_AFTER = 2  # steps of every kind before the daemon restarts


def expected(walk):
    out = [("job.discovered", None, walk[0][0])]
    for (prev, _), (st, _) in zip(walk, walk[1:]):
        out.append(("job.status_changed", prev, st))
    return out


def test(t):
    c = jw.Checks()
    fake = t.start_fake({"jobs": []})
    recv = nl.Receiver(t, "recv")
    db = t.path("state.db")
    sock = t.path("api.sock")
    arns = [a for a, _, _ in KINDS.values()]
    cfg = nl.config(fake, db, arns, {
        "json": nl.hook(recv.url + "/json"),
        "am": nl.hook(recv.url + "/am", fmt="alertmanager-webhook"),
    }, extra={"http": {"listen": "unix:" + sock}})

    def stored(a, status):
        return any(e["arn"] == a and e["status"] == status for e in nl.events(db))

    def step(i):
        for kind, (a, ident, walk) in KINDS.items():
            if i >= len(walk):
                continue
            st, extra = walk[i]
            spec = dict(ident, **extra)
            if kind != "audience-generation-job":
                spec["kind"] = kind
            fake.set_job(a, st, name="%s-1" % kind.replace("-", "")[:20], **spec)
        for kind, (a, _, walk) in KINDS.items():
            if i < len(walk):
                jw.wait_until(lambda: stored(a, walk[i][0]), 30, "%s reaches %s" % (kind, walk[i][0]))

    d = t.start_daemon(cfg, env=nl.daemon_env())
    jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1")
    for i in range(RESTART_AFTER):
        step(i)
    d.stop()
    d = t.start_daemon(cfg, env=nl.daemon_env(), name="after-restart")
    jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1 after restart")
    for i in range(RESTART_AFTER, max(len(w) for _, _, w in KINDS.values())):
        step(i)
    jw.wait_until(lambda: nl.all_done(db, "webhook:json") and nl.all_done(db, "webhook:am"), 60, "hooks drained")

    fl.wait_for_socket(d, sock)
    fams = fl.Api(sock=sock).metrics()
    for kind in KINDS:
        c.eq(fl.sample(fams, "jobwatchd_jobs_by_kind", kind=kind), 1, "/metrics counts one %s" % kind)
    st, j = fl.Api(sock=sock).json("GET", "/v1/jobs/" + urllib.parse.quote(TM, safe=""))
    c.eq((st, j.get("resourceType"), j.get("status")), (200, "trained-model", "CANCEL_FAILED"),
         "control API: the trained model, its kind and status")
    d.stop()

    rows = nl.events(db)
    for kind, (a, _, walk) in KINDS.items():
        got = [(e["type"], e["previous_status"] or None, e["status"]) for e in rows if e["arn"] == a]
        c.eq(got, expected(walk), "%s: every status once, in order, across the restart" % kind)
    c.eq(len({e["id"] for e in rows}), len(rows), "no event id repeats")

    bodies = [json.loads(p["body"]) for p in recv.posts() if p["path"] == "/json"]
    for kind, (a, _, walk) in KINDS.items():
        mine = [b["data"] for b in bodies if b["data"].get("jobArn") == a]
        c.eq(len(mine), len(walk), "%s: one JSON post per event" % kind)
        if kind == "audience-generation-job":
            c.ok(all("resourceType" not in m and "resourceArn" not in m for m in mine),
                 "audience generation job payloads unchanged (no resourceType/resourceArn)")
        else:
            c.ok(all(m.get("resourceType") == kind and m.get("resourceArn") == a for m in mine),
                 "%s: resourceType and resourceArn in every payload" % kind)
    tm = [b["data"] for b in bodies if b["data"].get("resourceArn") == TM and b["data"]["status"] == "CANCEL_FAILED"]
    c.ok(tm and tm[0].get("metricsStatus") == "PUBLISH_FAILED" and tm[0].get("metricsStatusDetails") == "no metrics"
         and tm[0].get("statusDetails", {}).get("statusCode") == "TM_CANCEL",
         "trained model CANCEL_FAILED: statusDetails and metricsStatus PUBLISH_FAILED in the payload: %s" % tm)
    ij = KINDS["trained-model-inference-job"][0]
    inactive = [b["data"] for b in bodies if b["data"].get("resourceArn") == ij and b["data"]["status"] == "INACTIVE"]
    c.ok(inactive and inactive[0].get("logsStatus") == "PUBLISH_FAILED", "inference job INACTIVE: logsStatus")

    am = [json.loads(p["body"]) for p in recv.posts() if p["path"] == "/am"]
    firing = {(a["labels"]["job_arn"], a["labels"].get("resource_type")) for b in am for a in b["alerts"]
              if b["status"] == "firing"}
    c.ok((TM, "trained-model") in firing, "Alertmanager: CANCEL_FAILED fires, labelled resource_type: %s" % firing)
    c.ok((KINDS["audience-model"][0], "audience-model") in firing, "Alertmanager: DELETE_FAILED of an audience model")

    # `jobwatchd get` for every kind (one call, several kinds).
    gcfg = t.write("get.conf", jw.ini_text({"aws": {"region": jw.REGION, "endpoint": fake.url}}))
    r = t.run_cli(["get", "-c", gcfg] + arns, env=nl.daemon_env())
    c.eq(r.returncode, 0, "get: exit code (stderr %s)" % r.stderr[-500:])
    out = r.stdout
    for kind, (a, _, walk) in KINDS.items():
        c.ok(a in out and walk[-1][0] in out, "get shows the %s and its status" % kind)
    c.done()


jw.main(test)
