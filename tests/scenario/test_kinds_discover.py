#!/usr/bin/python3
"""Issue 15: [discover] by membership (membership_id: trained models, inference jobs, ML input channels over
several pages) and by kinds (audience models, account-wide), beside a collaboration section for audience
generation jobs, against the fake with SigV4 verified.  Checked: every resource of the membership is watched and
announced with its kind, none of another membership; `jobwatchd list --kind` lists a kind; a List round in which nothing changed costs no Get (bulk
refresh for every kind); a status change costs its Get and gives its event; a vanished resource turns gone; a
restart keeps every kind's state (no second job.discovered); a kind without its identifier is a config error."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import fleetlib as fl  # noqa: E402

M1 = "a1b2c3d4-0000-4000-8000-00000000e3b0"  # the fake's default membership
M2 = "a1b2c3d4-0000-4000-8000-0000000000e2"
COLLAB = "a1b2c3d4-0000-4000-8000-00000000c011"  # M1's collaboration in the fake
PAGE = 2


def arn(rtype, rid, m=None):
    where = "membership/%s/%s" % (m, rtype) if m else rtype
    return "arn:aws:cleanrooms-ml:%s:%s:%s/%s" % (jw.REGION, jw.ACCOUNT, where, rid)


TM = arn("trained-model", "tm-0", M1)
MINE = {arn("trained-model", "tm-%d" % i, M1): "trained-model" for i in range(3)}
MINE.update({arn("trained-model-inference-job", "ij-%d" % i, M1): "trained-model-inference-job" for i in range(3)})
MINE.update({arn("ml-input-channel", "ch-%d" % i, M1): "ml-input-channel" for i in range(3)})
MODELS = {arn("audience-model", "am-%d" % i): "audience-model" for i in range(3)}
AGJS = {jw.job_arn("agj-%d" % i): "audience-generation-job" for i in range(2)}
OTHER = arn("trained-model", "elsewhere", M2)


def scenario():
    res = []
    for a, kind in list(MINE.items()) + list(MODELS.items()):
        e = {"kind": kind, "arn": a, "steps": [{"at": 0, "status": "ACTIVE"}]}
        if kind != "audience-model":
            e["membershipIdentifier"] = M1
        if kind == "trained-model-inference-job":
            e["trainedModelArn"] = TM
        res.append(e)
    res.append({"kind": "trained-model", "arn": OTHER, "membershipIdentifier": M2,
                "steps": [{"at": 0, "status": "ACTIVE"}]})
    for a in AGJS:
        res.append({"arn": a, "collaborationId": COLLAB, "steps": [{"at": 0, "status": "ACTIVE"}]})
    return {"defaultMaxResults": PAGE, "resources": res}


def config(fake, db, sock, discover=True):
    cfg = {
        "aws": {"region": jw.REGION, "endpoint": fake.url, "max_rps": 500, "timeout": "5s"},
        "poll": {"interval": "1h", "settled_interval": "1h", "failed_interval": "0"},
        "state": {"path": db},
        "journal": {"enabled": False},
        "http": {"listen": "unix:" + sock},
    }
    if discover:
        cfg['discover "mine"'] = {"membership_id": M1, "interval": "500ms"}
        cfg['discover "models"'] = {"kinds": "audience-model", "interval": "500ms"}
        cfg['discover "collab"'] = {"collaboration_id": COLLAB, "interval": "500ms"}
    return cfg


def events(db):
    return jw.sqlite_rows(db, "SELECT type, arn, status, payload FROM events ORDER BY seq")


def test(t):
    c = jw.Checks()
    fake = t.start_fake(scenario(), verify_sigv4=True)
    db = t.path("state.db")
    sock = t.path("api.sock")
    want = dict(MINE, **MODELS, **AGJS)
    d = t.start_daemon(config(fake, db, sock), env=jw.aws_env())

    def discovered():
        return {e["arn"] for e in events(db) if e["type"] == "job.discovered"}
    jw.wait_until(lambda: set(want) <= discovered(), 30, "every resource discovered")
    ev = events(db)
    c.eq(sorted(discovered()), sorted(want), "exactly the resources of the sections (none of another membership)")
    c.ok(OTHER not in discovered(), "a trained model of another membership is not watched")

    fl.wait_for_socket(d, sock)
    api = fl.Api(sock=sock)
    jobs = {j["arn"]: j for j in api.jobs()}
    for a, kind in want.items():
        c.eq((jobs.get(a, {}).get("resourceType"), jobs.get(a, {}).get("status"), jobs.get(a, {}).get("source")),
             (kind, "ACTIVE", "discover:" + {"audience-model": "models",
                                             "audience-generation-job": "collab"}.get(kind, "mine")),
             "%s: kind, status and source" % a)

    # Bulk refresh: with every resource listed and unchanged, a few List rounds cost no Get.
    gets = len(fake.requests("get"))
    lists = len(fake.requests("list"))
    jw.wait_until(lambda: len(fake.requests("list")) >= lists + 3 * 9, 30, "three more List rounds")
    c.eq(len(fake.requests("get")), gets, "List rounds that change nothing cost no Get")

    # A change: its Get, its event.
    ch = arn("ml-input-channel", "ch-1", M1)
    fake.set_job(ch, "INACTIVE", kind="ml-input-channel", membershipIdentifier=M1)
    jw.wait_until(lambda: any(e["arn"] == ch and e["status"] == "INACTIVE" for e in events(db)), 30,
                  "the channel's INACTIVE found through its List")
    # A resource that vanishes from its List turns gone.
    ij = arn("trained-model-inference-job", "ij-2", M1)
    fake.delete_job(ij)
    jw.wait_until(lambda: any(e["arn"] == ij and e["type"] == "job.gone" for e in events(db)), 60,
                  "the deleted inference job is gone")
    d.stop()
    n_discovered = len([e for e in events(db) if e["type"] == "job.discovered"])

    # Restart with the same sections: every kind's state is kept, nothing is discovered again.
    d = t.start_daemon(config(fake, db, sock), env=jw.aws_env(), name="again")
    lists = len(fake.requests("list"))
    jw.wait_until(lambda: len(fake.requests("list")) >= lists + 2 * 9, 30, "two List rounds after the restart")
    d.stop()
    c.eq(len([e for e in events(db) if e["type"] == "job.discovered"]), n_discovered,
         "after a restart no resource is discovered again")

    # `jobwatchd list --kind`: the kind's List, every page.
    lcfg = t.write("list.conf", jw.ini_text({"aws": {"region": jw.REGION, "endpoint": fake.url}}))
    r = t.run_cli(["list", "-c", lcfg, "--kind", "ml-input-channel", "--membership-id", M1], env=jw.aws_env())
    got = sorted(json.loads(line)["mlInputChannelArn"] for line in r.stdout.splitlines())
    c.eq((r.returncode, got), (0, sorted(a for a, k in MINE.items() if k == "ml-input-channel")),
         "list --kind ml-input-channel --membership-id: every channel of the membership (%s)" % r.stderr[-300:])
    r = t.run_cli(["list", "-c", lcfg, "--kind", "trained-model"], env=jw.aws_env())
    c.ok(r.returncode == 2 and "--membership-id is needed with --kind trained-model" in r.stderr,
         "list --kind trained-model without --membership-id: %s" % r.stderr)

    # A kind without the identifier it needs.
    bad = t.write("bad.conf", jw.ini_text({"discover \"x\"": {"kinds": "trained-model"}}))
    r = t.run_cli(["--check-config", "-c", bad])
    c.ok(r.returncode == 1 and "bad.conf:1: [discover \"x\"] kinds: trained-model needs membership_id" in r.stderr,
         "kinds without membership_id: %s" % r.stderr)
    c.done()


jw.main(test)
