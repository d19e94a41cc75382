#!/usr/bin/python3
"""One jobwatchd watches one region: a job is polled at its region's endpoint and signed for it.

- The region from the environment (no [aws] region) and a config ARN in another region: the daemon refuses to
  start, naming FILE:LINE of the ARN and both regions; it sends nothing.
- Running: a reload that adds an ARN of another region is refused; the running config keeps polling.
- A restart in another region with a state database that still watches a job (added by the control API) in the
  old one: the job is no longer watched, with a warning naming it; it is never polled there and never looks
  deleted (no job.gone); its state is kept."""

import os
import sys

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402
import fleetlib as fc  # noqa: E402


def gets_for(fake, arn):
    return [r for r in fake.requests("get") if r.get("arn") == arn]


def config(fake, db, arns, sock=None, region=None):
    cfg = lc.daemon_config(fake, db, arns)
    del cfg["aws"]["region"]
    if region:
        cfg["aws"]["region"] = region
    if sock:
        cfg["http"] = {"listen": "unix:" + sock}
    return cfg


def test(t):
    fake = t.start_fake({"jobs": [{"id": i, "steps": [{"at": 0, "status": "ACTIVE"}]} for i in ("a", "b")]})
    a, b = fake.arn("a"), fake.arn("b")
    other = jw.job_arn("x", region="eu-west-1")
    db = t.path("state.db")
    sock = t.path("jobwatchd.sock")

    # ---- start: the region comes from AWS_REGION, a config ARN is elsewhere ------------------------------
    d = t.start_daemon(config(fake, db, [other]), env=jw.aws_env(region="us-east-1"), notify=False)
    rc = d.wait(20)
    err = d.stderr_text()
    jw.check(rc != 0, "the daemon started with an ARN of another region (rc %s)" % rc)
    jw.check("%s:" % d.config_path in err and "[jobs] arn: the ARN is in region eu-west-1, but this daemon runs "
             "in region us-east-1" in err and "AWS_REGION" in err, "the error names the file, line and regions: "
             "%s" % err[-1500:])
    jw.check_eq(len(fake.requests("get")), 0, "Gets sent by a daemon that refused to start")

    # ---- running: a reload that brings in another region is refused ---------------------------------------
    d = t.start_daemon(config(fake, db, [a], sock=sock), env=jw.aws_env(region="us-east-1"))
    fc.wait_for_socket(d, sock)
    api = fc.Api(sock=sock)
    api.json("POST", "/v1/jobs", {"arn": b}, want=201)
    jw.wait_until(lambda: (api.job(b) or {}).get("status") == "ACTIVE", 20, "b polled after POST")
    # (ARNs of two regions in one config fail at load, test_check_config; this one is consistent in itself.)
    d.reload(config(fake, db, [other], sock=sock))
    jw.wait_until(lambda: "reload failed" in d.stderr_text(), 10, "the reload refused")
    jw.check("[jobs] arn: the ARN is in region eu-west-1, but this daemon runs in region us-east-1"
             in d.stderr_text(), "reload error: %s" % d.stderr_text()[-1500:])
    n_a = len(gets_for(fake, a))
    jw.wait_until(lambda: len(gets_for(fake, a)) > n_a + 2, 10, "a (dropped by the refused config) still polled")
    jw.check(not gets_for(fake, other), "the other region's job was polled")
    jw.check(api.job(other) is None, "the other region's job is in the table: %s" % api.job(other))
    d.stop()

    # ---- restart in eu-west-1: b (watched through the API, in us-east-1) is set aside, not "gone" -------
    n_b = len(gets_for(fake, b))
    d = t.start_daemon(config(fake, db, [], sock=sock, region="eu-west-1"), env=jw.aws_env(region="eu-west-1"))
    fc.wait_for_socket(d, sock)
    api = fc.Api(sock=sock)
    jw.wait_until(lambda: "are not in region eu-west-1" in d.stderr_text(), 10, "the set-aside warning")
    err = d.stderr_text()
    jw.check("1 watched jobs in %s are not in region eu-west-1" % db in err and b in err,
             "the warning names the count, the database and a job: %s" % err[-1500:])
    jb = api.job(b)
    jw.check(jb is not None and jb["watched"] is False and jb["status"] == "ACTIVE",
             "b kept, not watched: %s" % jb)
    jw.time.sleep(1.5)
    jw.check_eq(len(gets_for(fake, b)), n_b, "Gets for b from the eu-west-1 daemon")
    d.stop()
    rows = jw.sqlite_rows(db, "SELECT arn, watched, status FROM jobs WHERE arn = ?", (b,))
    jw.check(rows and rows[0]["watched"] == 0 and rows[0]["status"] == "ACTIVE", "b's row: %s" % rows)
    jw.check(not jw.sqlite_rows(db, "SELECT id FROM events WHERE type = 'job.gone'"), "a job.gone was stored")


jw.main(test)
