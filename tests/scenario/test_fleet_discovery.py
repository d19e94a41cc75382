#!/usr/bin/python3
"""Discovery and bulk refresh against the fake (SigV4 verified): [discover] sections list their jobs over
several pages and by filter (collaboration, model); new jobs are watched and announced; a List round in
which nothing changed costs no Get; a changed job costs exactly its Get; a job that vanishes turns gone; a
job that appears is picked up; discovered jobs persist across a restart without the sections."""

import os
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import fleetlib as fc  # noqa: E402

COLLAB_A = "a1b2c3d4-0000-4000-8000-0000000000aa"
COLLAB_B = "a1b2c3d4-0000-4000-8000-0000000000bb"
MODEL_M = jw.cam_arn("cam-m")
N_A = 150  # > 100: every listing of A takes two pages
N_B = 5
N_BM = 3  # B jobs trained on model M
POLL_INTERVAL = "5s"
LIST_INTERVAL = "1s"


def scenario():
    jobs = []
    for i in range(N_A):
        jobs.append({"id": "a-%03d" % i, "collaborationId": COLLAB_A,
                     "steps": [{"at": 0, "status": "CREATE_IN_PROGRESS"}]})
    for i in range(N_B):
        j = {"id": "b-%d" % i, "collaborationId": COLLAB_B, "steps": [{"at": 0, "status": "CREATE_IN_PROGRESS"}]}
        if i < N_BM:
            j["configuredAudienceModelArn"] = MODEL_M
        jobs.append(j)
    return {"jobs": jobs}


def config(fake, db, sock, discover=True):
    cfg = {
        "aws": {"region": jw.REGION, "endpoint": fake.url, "max_rps": 500, "timeout": "5s"},
        "poll": {"interval": POLL_INTERVAL, "settled_interval": POLL_INTERVAL, "failed_interval": "0",
                 "jitter": "10%"},
        "state": {"path": db},
        "journal": {"enabled": False},
        "http": {"listen": "unix:" + sock},
    }
    if discover:
        cfg['discover "a"'] = {"collaboration_id": COLLAB_A, "interval": LIST_INTERVAL}
        cfg['discover "m"'] = {"configured_audience_model_arn": MODEL_M, "interval": LIST_INTERVAL}
    return cfg


def events(db, type_=None):
    rows = jw.sqlite_rows(db, "SELECT type, arn FROM events ORDER BY seq")
    return [r for r in rows if type_ is None or r["type"] == type_]


def test(t):
    fake = t.start_fake(scenario(), verify_sigv4=True)
    db = t.path("state.db")
    sock = t.path("jobwatchd.sock")
    d = t.start_daemon(config(fake, db, sock), env=jw.aws_env())
    fc.wait_for_socket(d, sock)
    api = fc.Api(sock=sock)
    a_arns = [fake.arn("a-%03d" % i) for i in range(N_A)]
    bm_arns = [fake.arn("b-%d" % i) for i in range(N_BM)]

    # ---- discovery: every A job and the B jobs on model M, each announced once -------------------------
    def all_discovered():
        js = api.jobs()
        return len(js) == N_A + N_BM and all(j["status"] == "CREATE_IN_PROGRESS" for j in js) and js
    js = jw.wait_until(all_discovered, 90, "%d discovered jobs with their status" % (N_A + N_BM))
    by_arn = {j["arn"]: j for j in js}
    jw.check(all(by_arn[a]["source"] == "discover:a" and by_arn[a]["watched"] for a in a_arns),
             "A jobs come from discover:a")
    jw.check(all(by_arn[a]["source"] == "discover:m" for a in bm_arns), "B/M jobs come from discover:m")
    jw.check(fake.arn("b-3") not in by_arn and fake.arn("b-4") not in by_arn, "B jobs off model M are not watched")
    jw.wait_until(lambda: len(events(db, "job.discovered")) == N_A + N_BM, 15, "one job.discovered per job")
    disc = events(db, "job.discovered")
    jw.check_eq(len({r["arn"] for r in disc}), N_A + N_BM, "distinct discovered ARNs")

    # Pagination: the A listing asks for 100 a page and follows nextToken (encoded; the fake would say 400).
    lists = fake.requests("list")
    a_lists = [r for r in lists if "collaborationId=" + COLLAB_A in (r.get("query") or "")]
    jw.check(any("nextToken=" in r["query"] for r in a_lists), "A listing followed a nextToken")
    jw.check(all("maxResults=100" in r["query"] for r in lists), "every List asks for 100 a page")
    jw.check(any("configuredAudienceModelArn=" + urllib.parse.quote(MODEL_M, safe="") in (r.get("query") or "")
                 for r in lists), "the model filter is sent")
    jw.check(not [r for r in lists if r.get("status") != 200], "every List page answered 200")

    # ---- bulk refresh: List rounds with no change cost no Get --------------------------------------------
    # Seven rounds take longer than the poll interval: without bulk refresh every job would be polled.
    mark = fc.wait_listings(fake, 2, after=len(fake.requests()), collaboration_id=COLLAB_A)
    end = fc.wait_listings(fake, 7, after=mark, collaboration_id=COLLAB_A)
    gets = [r for r in fake.requests()[mark:end] if r.get("op") == "get"]
    jw.check(not gets, "%d Gets during List rounds without changes (e.g. %s)"
             % (len(gets), [r.get("arn") for r in gets[:3]]))

    # ---- a changed job: exactly its Get --------------------------------------------------------------
    changed = a_arns[7]
    mark = len(fake.requests())
    fake.set_job(changed, status="ACTIVE")
    jw.wait_until(lambda: (api.job(changed) or {}).get("status") == "ACTIVE", 30, "the change seen")
    end = fc.wait_listings(fake, 3, after=mark, collaboration_id=COLLAB_A)
    gets = [r for r in fake.requests()[mark:end] if r.get("op") == "get"]
    jw.check(gets and all(r.get("arn") == changed for r in gets),
             "Gets after one change: %s" % [r.get("arn") for r in gets])
    jw.check([r for r in events(db, "job.status_changed") if r["arn"] == changed], "job.status_changed stored")

    # ---- a vanished job turns gone (Get answers 404), and is not polled again ----------------------------
    vanished = a_arns[42]
    fake.delete_job(vanished)
    jw.wait_until(lambda: (api.job(vanished) or {}).get("status") == "GONE", 30, "the vanished job gone")
    jw.wait_until(lambda: [r for r in events(db, "job.gone") if r["arn"] == vanished], 10, "job.gone stored")
    mark = len(fake.requests())
    end = fc.wait_listings(fake, 3, after=mark, collaboration_id=COLLAB_A)
    jw.check(not [r for r in fake.requests()[mark:end] if r.get("arn") == vanished], "gone job polled again")

    # ---- a job appears --------------------------------------------------------------------------------
    new = fake.set_job("a-new", status="CREATE_PENDING", collaborationId=COLLAB_A)
    j = jw.wait_until(lambda: (api.job(new) or {}).get("status") == "CREATE_PENDING" and api.job(new), 30,
                      "the new job watched")
    jw.check_eq(j["source"], "discover:a", "source of the new job")

    # ---- /metrics shows the sections --------------------------------------------------------------------
    fams = api.metrics()
    jw.check(fc.sample(fams, "jobwatchd_discovery_pages_total", section="a") >= 2, "pages counted")
    jw.check_eq(fc.sample(fams, "jobwatchd_discovery_jobs", section="m"), float(N_BM), "jobs in m's listing")

    # ---- restart without the sections: the discovered jobs stay, nothing is listed -----------------------
    d.stop()
    mark = len(fake.requests())
    d2 = t.start_daemon(config(fake, db, sock, discover=False), env=jw.aws_env(), name="restarted")
    fc.wait_for_socket(d2, sock)
    js = {j["arn"]: j for j in api.jobs()}
    jw.check(all(js[a]["source"] == "discover:a" and js[a]["watched"] for a in a_arns if a != vanished),
             "discovered jobs persisted")
    jw.check_eq(js[vanished]["status"], "GONE", "gone persisted")
    jw.check(new in js, "the late job persisted")
    jw.wait_until(lambda: len([r for r in fake.requests()[mark:] if r.get("op") == "get"]) >= N_A, 60,
                  "the persisted jobs polled after the restart")
    jw.check(not [r for r in fake.requests()[mark:] if r.get("op") == "list"], "no List without [discover]")
    d2.stop()
    jw.check(jw.SECRET not in d.stderr_text() + d2.stderr_text(), "secret in the log")


jw.main(test)
