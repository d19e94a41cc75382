#!/usr/bin/python3
"""Issue 15: the kinds watched through their Lists.  One [discover] section with collaboration_id, membership_id
and kinds naming audience generation jobs, audience export jobs, trained models, trained model export jobs and
trained model versions, against the fake with SigV4 verified.

Checked: each export-job kind walks CREATE_IN_PROGRESS -> ACTIVE (an audience export job CREATE_FAILED with its
statusDetails) and, deleted, turns gone -- all from ListAudienceExportJobs and
ListCollaborationTrainedModelExportJobs, never a Get; an export job of an audience generation job that is not
watched is not watched; another member's trained model, found by ListCollaborationTrainedModels, is followed
(and another member's inference job and ML input channel found by their collaboration Lists)
through that List with zero Gets sent for it, and turns gone when it leaves the List; a trained model version
walks its statuses, found by ListTrainedModelVersions and read by GetTrainedModel with ?versionIdentifier=; a
restart keeps the state of all of these (no event repeated); a listing that fails part way makes nothing gone;
JSON webhook payloads carry resourceType and the
documented identifier as resourceArn; `jobwatchd list --kind audience-export-job` lists them and `jobwatchd get`
refuses them; a [jobs] arn of a kind without a Get is a configuration error."""

import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import notifylib as nl  # noqa: E402

M1 = "a1b2c3d4-0000-4000-8000-00000000e3b0"  # ours (the fake's default membership)
M2 = "a1b2c3d4-0000-4000-8000-0000000000e2"  # another member of the collaboration
COLLAB = "a1b2c3d4-0000-4000-8000-00000000c011"
OTHER_COLLAB = "a1b2c3d4-0000-4000-8000-0000000c0002"
V1 = "a1b2c3d4-0000-4000-8000-0000000000a1"
V2 = "a1b2c3d4-0000-4000-8000-0000000000a2"


def arn(rtype, rid, m=None):
    where = "membership/%s/%s" % (m, rtype) if m else rtype
    return "arn:aws:cleanrooms-ml:%s:%s:%s/%s" % (jw.REGION, jw.ACCOUNT, where, rid)


AGJ = jw.job_arn("agj-1")
AGJ_ELSEWHERE = jw.job_arn("agj-elsewhere")  # another collaboration: not watched, nor its export jobs
TM = arn("trained-model", "tm-1", M1)
OTHER_TM = arn("trained-model", "tm-theirs", M2)
# The identifiers (kinds.h): "<parent ARN>/<type>/<key>".
EXP_OK = AGJ + "/audience-export-job/exp-ok"
EXP_BAD = AGJ + "/audience-export-job/exp-bad"
EXP_ELSEWHERE = AGJ_ELSEWHERE + "/audience-export-job/exp-x"
TMEXP = TM + "/trained-model-export-job/tm-exp"
TMV1 = TM + "/trained-model-version/" + V1
THEIR_IJ = arn("trained-model-inference-job", "ij-theirs", M2)
THEIR_CH = arn("ml-input-channel", "ch-theirs", M2)


def scenario():
    working = [{"at": 0, "status": "CREATE_IN_PROGRESS"}]
    active = [{"at": 0, "status": "ACTIVE"}]
    return {"defaultMaxResults": 2, "resources": [
        {"arn": AGJ, "collaborationId": COLLAB, "steps": active},
        {"arn": AGJ_ELSEWHERE, "collaborationId": OTHER_COLLAB, "steps": active},
        {"kind": "audience-export-job", "name": "exp-ok", "audienceGenerationJobArn": AGJ, "steps": working},
        {"kind": "audience-export-job", "name": "exp-bad", "audienceGenerationJobArn": AGJ, "steps": working},
        {"kind": "audience-export-job", "name": "exp-x", "audienceGenerationJobArn": AGJ_ELSEWHERE,
         "steps": working},
        # Two versions of our trained model (V2, the latest, is what GetTrainedModel answers without one).
        {"kind": "trained-model", "arn": TM, "membershipIdentifier": M1, "versionIdentifier": V1,
         "steps": working},
        {"kind": "trained-model", "arn": TM, "membershipIdentifier": M1, "versionIdentifier": V2, "steps": active},
        {"kind": "trained-model", "arn": OTHER_TM, "membershipIdentifier": M2, "steps": working},
        {"kind": "trained-model-inference-job", "arn": THEIR_IJ, "membershipIdentifier": M2,
         "trainedModelArn": OTHER_TM, "steps": active},
        {"kind": "ml-input-channel", "arn": THEIR_CH, "membershipIdentifier": M2, "steps": active},
        {"kind": "trained-model-export-job", "name": "tm-exp", "trainedModelArn": TM, "membershipIdentifier": M1,
         "steps": working},
    ]}


def config(fake, db, recv):
    return {
        "aws": {"region": jw.REGION, "endpoint": fake.url, "max_rps": 500, "timeout": "5s"},
        "poll": {"interval": "1h", "settled_interval": "1h", "failed_interval": "0"},
        "state": {"path": db},
        "journal": {"enabled": False},
        'discover "collab"': {
            "collaboration_id": COLLAB, "membership_id": M1, "interval": "300ms",
            "kinds": "audience-generation-job audience-export-job trained-model trained-model-export-job "
                     "trained-model-version trained-model-inference-job ml-input-channel"},
        'webhook "json"': nl.hook(recv.url + "/json"),
    }


def walk(db, ident):
    return [(e["type"], e["previous_status"] or None, e["status"]) for e in nl.events(db) if e["arn"] == ident]


def gets_about(fake, needle):
    return [r for r in fake.requests("get") if needle in r["path_decoded"]]


def test(t):
    c = jw.Checks()
    fake = t.start_fake(scenario(), verify_sigv4=True)
    recv = nl.Receiver(t, "recv")
    db = t.path("state.db")
    cfg = config(fake, db, recv)
    d = t.start_daemon(cfg, env=jw.aws_env())

    watched = [EXP_OK, EXP_BAD, TMEXP, OTHER_TM, TMV1]
    jw.wait_until(lambda: all(walk(db, a) for a in watched), 30, "every list-watched resource discovered")
    for a in watched:
        c.eq(walk(db, a), [("job.discovered", None, "CREATE_IN_PROGRESS")], "%s discovered once" % a)
    jw.wait_until(lambda: walk(db, THEIR_IJ) and walk(db, THEIR_CH), 30, "their inference job and channel")

    # The walks, set through the fake once the previous status is stored.
    fake.control("POST", "/jobs", {"kind": "audience-export-job", "name": "exp-ok", "audienceGenerationJobArn": AGJ,
                                   "status": "ACTIVE"})
    fake.control("POST", "/jobs", {"kind": "audience-export-job", "name": "exp-bad", "audienceGenerationJobArn": AGJ,
                                   "status": "CREATE_FAILED",
                                   "statusDetails": {"statusCode": "EXPORT_DENIED", "message": "bucket refused"}})
    fake.control("POST", "/jobs", {"kind": "trained-model-export-job", "name": "tm-exp", "trainedModelArn": TM,
                                   "membershipIdentifier": M1, "status": "ACTIVE"})
    fake.control("POST", "/jobs", {"kind": "trained-model", "arn": OTHER_TM, "membershipIdentifier": M2,
                                   "status": "ACTIVE"})
    fake.control("POST", "/jobs", {"kind": "trained-model", "arn": TM, "membershipIdentifier": M1,
                                   "versionIdentifier": V1, "status": "ACTIVE"})
    final = {EXP_OK: "ACTIVE", EXP_BAD: "CREATE_FAILED", TMEXP: "ACTIVE", OTHER_TM: "ACTIVE", TMV1: "ACTIVE"}
    jw.wait_until(lambda: all(walk(db, a)[-1][2] == st for a, st in final.items()), 30, "every walk's end stored")
    d.stop()
    before = len(nl.events(db))

    # A restart: the state of every list-watched resource is kept, nothing is announced again.
    d = t.start_daemon(cfg, env=jw.aws_env(), name="again")
    lists = len(fake.requests("list"))
    jw.wait_until(lambda: len(fake.requests("list")) >= lists + 3 * 6, 30, "three List rounds after the restart")
    c.eq(len(nl.events(db)), before, "after a restart no event is repeated")
    d.stop()

    # Without the section (reload or restart), the stored list-only flag keeps the other member's trained
    # model and the export jobs from being sent a Get; ours (job, model, its versions) are polled at start.
    nosec = {k: v for k, v in cfg.items() if not k.startswith("discover")}
    gets = len(fake.requests("get"))
    d = t.start_daemon(nosec, env=jw.aws_env(), name="no-section")
    jw.wait_until(lambda: len(fake.requests("get")) >= gets + 4, 30, "the first Gets of the four Get-able ones")
    d.stop()
    d = t.start_daemon(cfg, env=jw.aws_env(), name="section-again")

    # A listing whose last List (ListTrainedModelVersions) is refused is not complete: the export job its
    # ListAudienceExportJobs no longer shows is not gone.
    fake.add_fault("access_denied", op="list", path="/versions")
    fake.control("DELETE", "/jobs/" + urllib.parse.quote(AGJ + "#exp-ok", safe=""))

    def export_lists():
        return len([r for r in fake.requests("list") if r["raw_path"] == "/audience-export-job"])
    n = export_lists()
    jw.wait_until(lambda: export_lists() >= n + 4, 30, "ListAudienceExportJobs without exp-ok, twice")
    c.eq(walk(db, EXP_OK)[-1][0], "job.status_changed", "a partial listing makes nothing gone")
    fake.clear_faults()

    # Gone: export jobs and the other member's model leave their Lists; the version answers 404 to its Get.
    for key in (AGJ + "#exp-bad", TM + "#tm-exp", OTHER_TM, TM + "#" + V1):
        fake.control("DELETE", "/jobs/" + urllib.parse.quote(key, safe=""))
    jw.wait_until(lambda: all(walk(db, a)[-1][0] == "job.gone" for a in watched), 60, "every one gone")
    jw.wait_until(lambda: nl.all_done(db, "webhook:json"), 30, "the webhook drained")
    d.stop()

    for a, st in final.items():
        prev = "CREATE_IN_PROGRESS"
        c.eq(walk(db, a), [("job.discovered", None, "CREATE_IN_PROGRESS"), ("job.status_changed", prev, st),
                           ("job.gone", st, "GONE")], "%s: its walk, once, across the restart" % a)
    c.eq(walk(db, EXP_ELSEWHERE), [], "the export job of an unwatched audience generation job is not watched")
    c.eq(walk(db, TM + "/trained-model-version/" + V2)[:1], [("job.discovered", None, "ACTIVE")],
         "the other version of the trained model is a resource of its own")

    # Zero Gets for what has none or cannot be read with ours.
    c.eq(gets_about(fake, "membership/" + M2), [], "no Get of the other member's trained model")
    c.eq(gets_about(fake, "export"), [], "no Get of an export job")
    c.eq([r["raw_path"] for r in fake.requests("get") if "/audience-export-job" in r["raw_path"]], [],
         "no request of an export job but its List")
    vgets = [r for r in gets_about(fake, TM) if "versionIdentifier=" + V1 in (r.get("query") or "")]
    c.ok(len(vgets) >= 2, "the version's Gets carry versionIdentifier (%d)" % len(vgets))
    c.ok(all(r["status"] in (200, 404) for r in vgets), "the version's Gets answer 200 (404 when deleted)")
    lists = {r["raw_path"].split("?")[0] for r in fake.requests("list")}
    c.ok("/audience-export-job" in lists, "ListAudienceExportJobs was used")
    c.ok("/collaborations/%s/trained-models" % COLLAB in lists, "ListCollaborationTrainedModels was used")
    c.ok(any(p.endswith("/export-jobs") for p in lists), "ListCollaborationTrainedModelExportJobs was used")
    c.ok(any(p.endswith("/versions") for p in lists), "ListTrainedModelVersions was used")
    for a, path in ((THEIR_IJ, "trained-model-inference-jobs"), (THEIR_CH, "ml-input-channels")):
        c.eq(walk(db, a), [("job.discovered", None, "ACTIVE")], "%s: found by the collaboration's List" % a)
        c.ok("/collaborations/%s/%s" % (COLLAB, path) in lists, "the collaboration's List of %s" % path)

    bodies = [json.loads(p["body"])["data"] for p in recv.posts() if p["path"] == "/json"]
    for a, kind in ((EXP_OK, "audience-export-job"), (TMEXP, "trained-model-export-job"),
                    (OTHER_TM, "trained-model"), (TMV1, "trained-model-version")):
        mine = [b for b in bodies if b.get("resourceArn") == a]
        c.ok(len(mine) == 3 and all(b.get("resourceType") == kind for b in mine),
             "%s: three JSON posts with resourceType %s: %s" % (a, kind, mine[:1]))
    bad = [b for b in bodies if b.get("resourceArn") == EXP_BAD and b.get("status") == "CREATE_FAILED"]
    c.ok(bad and bad[0].get("statusDetails", {}).get("statusCode") == "EXPORT_DENIED",
         "CREATE_FAILED of an export job carries its statusDetails: %s" % bad)

    # The CLI: list --kind audience-export-job (every page, the identifiers), get refuses an export job.
    lcfg = t.write("cli.conf", jw.ini_text({"aws": {"region": jw.REGION, "endpoint": fake.url}}))
    r = t.run_cli(["list", "-c", lcfg, "--kind", "audience-export-job"], env=jw.aws_env())
    got = sorted(json.loads(line).get("resourceArn") for line in r.stdout.splitlines())
    c.eq((r.returncode, got), (0, [EXP_ELSEWHERE]), "list --kind audience-export-job: %s" % r.stderr[-300:])
    r = t.run_cli(["get", "-c", lcfg, EXP_BAD], env=jw.aws_env())
    c.ok(r.returncode == 2 and "has no Get" in r.stderr, "get of an export job: %s" % r.stderr)

    # A kind without a Get cannot be watched by ARN.
    badcfg = t.write("bad.conf", jw.ini_text({"jobs": {"arn": EXP_OK}}))
    r = t.run_cli(["--check-config", "-c", badcfg])
    c.ok(r.returncode == 1 and "bad.conf:2: [jobs] arn:" in r.stderr and "kind has no Get" in r.stderr,
         "[jobs] arn of an export job: %s" % r.stderr)
    c.done()


jw.main(test)
