#!/usr/bin/python3
"""The control API cannot grow the job table without bound (issue #20, item 4): [http] max_jobs caps the
jobs added through POST /v1/jobs (403 beyond it), POST /v1/jobs is rate-limited (429 with Retry-After), and
DELETE /v1/jobs/ARN?forget=1 (jobwatchd forget) removes a job for good -- from the table, the state file and
across a restart -- which frees its place under max_jobs.  Jobs from the configuration cannot be forgotten
through the API."""

import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import fleetlib as fc  # noqa: E402

MAX_JOBS = 3


def enc(arn):
    return urllib.parse.quote(arn, safe="")


def rows(db):
    return sorted(r["arn"] for r in jw.sqlite_rows(db, "SELECT arn FROM jobs"))


def forget(api, arn):
    """DELETE ?forget=1, again while the daemon says a poll is in flight (409 with Retry-After)."""
    for _ in range(20):
        st, hdrs, body = api.request("DELETE", "/v1/jobs/%s?forget=1" % enc(arn))
        if st != 409 or "retry-after" not in hdrs:
            return st, body
        time.sleep(0.2)
    return st, body


def test(t):
    fake = t.start_fake({"jobs": [{"id": "j%d" % i, "steps": [{"at": 0, "status": "ACTIVE"}]}
                                  for i in range(8)]})
    db = t.path("state.db")
    sock = t.path("run", "jobwatchd.sock")
    os.makedirs(os.path.dirname(sock))
    cfg = {
        "aws": {"region": jw.REGION, "endpoint": fake.url, "timeout": "5s"},
        "poll": {"interval": "1s"},
        "jobs": {"arn": [fake.arn("j0")]},
        "state": {"path": db},
        "journal": {"enabled": False},
        "http": {"listen": "unix:" + sock, "max_jobs": MAX_JOBS},
    }
    d = t.start_daemon(cfg, env=jw.aws_env())
    fc.wait_for_socket(d, sock)
    api = fc.Api(sock=sock)

    # ---- max_jobs ------------------------------------------------------------------------------------
    added = [fake.arn("j%d" % i) for i in range(1, MAX_JOBS + 1)]
    for arn in added:
        api.json("POST", "/v1/jobs", {"arn": arn}, want=201)
    st, obj = api.json("POST", "/v1/jobs", {"arn": fake.arn("j7")})
    jw.check(st == 403 and "max_jobs" in obj["error"], "job beyond max_jobs: %s %s" % (st, obj))
    jw.check(api.job(fake.arn("j7")) is None, "the refused job is not in the table")
    api.json("POST", "/v1/jobs", {"arn": added[0]}, want=200)  # known jobs are no new ones
    # Unwatching keeps the job, and its place.
    api.request("DELETE", "/v1/jobs/" + enc(added[0]))
    st, _ = api.json("POST", "/v1/jobs", {"arn": fake.arn("j7")})
    jw.check_eq(st, 403, "an unwatched job still counts")

    # ---- forget --------------------------------------------------------------------------------------
    jw.wait_until(lambda: added[1] in rows(db), 10, "rows written")
    st, body = forget(api, added[1])
    jw.check_eq((st, body), (204, b""), "forget")
    jw.check(api.job(added[1]) is None, "a forgotten job is gone from the API")
    jw.wait_until(lambda: added[1] not in rows(db), 10, "the forgotten job's row is deleted")
    st, obj = api.json("DELETE", "/v1/jobs/%s?forget=1" % enc(fake.arn("j0")))
    jw.check(st == 409 and "configuration" in obj["error"], "forgetting a config job: %s %s" % (st, obj))
    jw.check(api.job(fake.arn("j0"))["watched"], "the config job is still watched")
    time.sleep(1)  # the POST bucket refills
    api.json("POST", "/v1/jobs", {"arn": fake.arn("j7")}, want=201)
    r = t.run([jw.daemon_path(), "forget", "--socket", sock, added[2]], timeout=30)
    jw.check(r.returncode == 0 and "forgot" in r.stdout, "jobwatchd forget: %s %s" % (r.stdout, r.stderr))
    jw.check(api.job(added[2]) is None, "forgotten through the CLI")

    # ---- rate limit ----------------------------------------------------------------------------------
    statuses = []
    for _ in range(60):
        st, hdrs, _ = api.request("POST", "/v1/jobs", {"arn": fake.arn("j7")})
        statuses.append(st)
        if st == 429:
            jw.check(hdrs.get("retry-after", "").isdigit(), "Retry-After on 429: %s" % hdrs)
            break
    jw.check(429 in statuses, "60 POSTs in a row were never limited: %s" % statuses)
    jw.check(set(statuses) <= {200, 429}, "statuses: %s" % statuses)

    # ---- restart: forgotten jobs stay forgotten ------------------------------------------------------
    d.stop()
    d = t.start_daemon(cfg, env=jw.aws_env(), name="restarted")
    fc.wait_for_socket(d, sock)
    arns = {j["arn"] for j in api.jobs()}
    jw.check(added[1] not in arns and added[2] not in arns, "forgotten jobs came back: %s" % arns)
    jw.check(fake.arn("j7") in arns and added[0] in arns, "kept jobs: %s" % arns)
    d.stop()


jw.main(test)
