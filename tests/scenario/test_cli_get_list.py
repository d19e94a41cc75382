"""`jobwatchd get` / `jobwatchd list` against the fake service with SigV4 verification on: output shape,
wire encoding, pagination with filters, error reporting, standard-mode retries, protocol errors, session
tokens, region from a profile file, and no secret in any output."""
import datetime
import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.environ["JW_SOURCE_DIR"], "tests", "lib"))
import jwtest as jw  # noqa: E402

COLLAB_A = "a1b2c3d4-0000-4000-8000-00000000c011"
COLLAB_B = "bbbbbbbb-1111-4111-8111-000000000002"
AKID2 = "AKIDJWTESTSESSION02"
SECRET2 = "jwTestSecretTwo/Yy8+DoNotLogMe111111111"


def test(t):
    c = jw.Checks()
    cam_x = jw.cam_arn("cam-x")
    jobs = [{"id": "j1", "name": "first", "steps": [{"at": 0, "status": "CREATE_IN_PROGRESS"}]},
            {"id": "nested/id.v2", "name": "nested",
             "steps": [{"at": 0, "status": "CREATE_FAILED", "statusDetails": {"statusCode": "E1", "message": "m"}}]},
            {"id": "j3", "name": "third", "tags": {"k": "v"}, "steps": [{"at": 0, "status": "ACTIVE"}]}]
    # 230 jobs in collaboration B (3 pages of <= 100), 20 of them with configured audience model X.
    for i in range(230):
        j = {"id": "bulk-%03d" % i, "collaborationId": COLLAB_B}
        if i % 10 == 0 and i < 200:
            j["configuredAudienceModelArn"] = cam_x
        jobs.append(j)
    fake = t.start_fake({"jobs": jobs}, verify_sigv4=True,
                        credentials=[(jw.AKID, jw.SECRET), (AKID2, SECRET2, jw.TOKEN)])
    base_env = jw.isolated_aws_env(t, AWS_ENDPOINT_URL=fake.url)
    env = dict(base_env, **jw.aws_env())
    outputs = []

    def run(args, e=None, timeout=120):
        return t.run_cli(args, env=e or env, timeout=timeout, outputs=outputs)

    def lines(r):
        return [json.loads(x) for x in r.stdout.splitlines() if x.strip()]

    def reqs_for(arn):
        return [q for q in fake.requests("get") if q.get("arn") == arn]

    def quiet():
        """Waits until the request log stops growing, so counts taken next are not behind."""
        last = -1
        for _ in range(100):
            size = os.path.getsize(fake.log_path) if os.path.exists(fake.log_path) else 0
            if size == last:
                return
            last = size
            time.sleep(0.3)

    def settled(fetch, n):
        """The fake logs a request after answering it, so the last line may lag behind the command's exit:
        wait for at least n records, then a moment more so that extra (unwanted) requests show up too."""
        try:
            jw.wait_until(lambda: len(fetch()) >= n, 10, "%d request log records" % n)
        except jw.TestFailure:
            pass  # the count check that follows reports it
        time.sleep(0.3)
        return fetch()

    truth = fake.truth()

    # --- get: several ARNs, argument order, the API's field names, wire encoding -------------------------
    arns = [fake.arn("j3"), fake.arn("nested/id.v2"), fake.arn("j1")]
    r = run(["get"] + arns)
    c.eq(r.returncode, 0, "get exit code (stderr %s)" % r.stderr[-500:])
    got = lines(r)
    c.eq([g.get("audienceGenerationJobArn") for g in got], arns, "get prints one line per ARN in order")
    if len(got) == 3:
        c.eq(got[0]["status"], "ACTIVE", "j3 status")
        c.eq(got[0].get("tags"), {"k": "v"}, "j3 tags")
        c.eq(got[1]["status"], "CREATE_FAILED", "nested status")
        c.eq(got[1].get("statusDetails"), {"statusCode": "E1", "message": "m"}, "nested statusDetails")
        c.eq(got[2]["name"], "first", "j1 name")
        c.eq(got[2]["updateTime"][:19], truth[arns[2]]["updateTime"][:19], "j1 updateTime")
        for k in ("createTime", "configuredAudienceModelArn", "collaborationId", "seedAudience", "startedBy"):
            c.ok(k in got[2], "get output has %s" % k)
    nested = settled(lambda: reqs_for(fake.arn("nested/id.v2")), 1)
    c.ok(nested and nested[0]["raw_path"] == "/audience-generation-job/" +
         urllib.parse.quote(fake.arn("nested/id.v2"), safe="-._~"), "raw path percent-encoded: %s" %
         (nested[0]["raw_path"] if nested else None))
    c.ok(nested and "%3A" in nested[0]["raw_path"] and "%2F" in nested[0]["raw_path"], "raw path has %3A and %2F")
    c.ok(all(q.get("sigv4") == "ok" for q in fake.requests("get")), "every get passed SigV4 verification")
    c.ok(all(q["headers"].get("user-agent", "").startswith("jobwatchd/") for q in fake.requests("get")),
         "User-Agent jobwatchd/VERSION")

    # --- 404 ------------------------------------------------------------------------------------------
    missing = fake.arn("does-not-exist")
    r = run(["get", fake.arn("j1"), missing])
    c.eq(r.returncode, 1, "get of a missing job exits 1")
    c.eq(len(lines(r)), 1, "the existing job is still printed")
    c.ok(("jobwatchd: get %s: ResourceNotFoundException: " % missing) in r.stderr and "(request id " in r.stderr,
         "404 message names type and request id: %r" % r.stderr[-400:])
    c.eq(len(settled(lambda: reqs_for(missing), 1)), 1, "404 is not retried")

    # --- an ARN of another region: refused before any request, the way out named --------------------------
    elsewhere = jw.job_arn("j1", region="eu-west-1")
    r = run(["get", elsewhere, fake.arn("j1")])
    c.eq(r.returncode, 1, "get of another region's job exits 1")
    c.eq(len(lines(r)), 1, "the job of this region is still printed")
    c.ok(("jobwatchd: get %s: the job is in region eu-west-1, but the region in use is us-east-1 "
          "(use --region eu-west-1)" % elsewhere) in r.stderr, "region message: %r" % r.stderr[-400:])
    c.eq(settled(lambda: reqs_for(elsewhere), 0), [], "no request for another region's job")

    # --- list: all pages, filters, nextToken with + / = percent-encoded -------------------------------------
    fake.reset_stats()
    quiet()
    n_list_before = len(fake.requests("list"))
    r = run(["list", "--collaboration-id", COLLAB_B])
    c.eq(r.returncode, 0, "list exit code (stderr %s)" % r.stderr[-500:])
    got = lines(r)
    want = sorted(a for a, j in truth.items() if j.get("collaborationId") == COLLAB_B)
    c.eq(sorted(g["audienceGenerationJobArn"] for g in got), want, "list --collaboration-id returns every job once")
    c.ok(all(set(g) >= {"status", "name", "createTime", "updateTime", "configuredAudienceModelArn"} for g in got),
         "summaries carry status and required fields")
    c.ok(all("seedAudience" not in g and "tags" not in g for g in got), "summaries have only summary members")
    lreqs = settled(lambda: fake.requests("list")[n_list_before:], 3)
    c.eq(len(lreqs), 3, "230 jobs = 3 pages")
    c.ok(all("maxResults=100" in q["query"] and ("collaborationId=" + COLLAB_B) in q["query"] for q in lreqs),
         "every page asks maxResults=100 with the filter")
    tokq = [q["query"] for q in lreqs[1:]]
    c.ok(len(tokq) == 2 and all("nextToken=" in q for q in tokq), "pages 2 and 3 send nextToken")
    c.ok(all(not any(ch in q.split("nextToken=")[1] for ch in "+/=") and "%2B" in q + "%2B" for q in tokq),
         "nextToken percent-encoded (no raw + / =): %s" % tokq)
    c.ok(any(("%2F" in q or "%2B" in q or "%3D" in q) for q in tokq), "tokens carry encoded + / =")
    c.ok(all(q.get("sigv4") == "ok" and q.get("status") == 200 for q in lreqs), "list pages signed and OK")

    r = run(["list", "--configured-audience-model-arn", cam_x, "--collaboration-id", COLLAB_B])
    got = lines(r)
    c.eq(r.returncode, 0, "list with two filters exit code")
    c.eq(sorted(g["audienceGenerationJobArn"] for g in got),
         sorted(a for a, j in truth.items() if j.get("configuredAudienceModelArn") == cam_x),
         "list --configured-audience-model-arn")
    r = run(["list"])
    c.eq(len(lines(r)), len(truth), "list without filters returns every job")
    r = run(["list", "--collaboration-id", "not-a-uuid"])
    c.eq(r.returncode, 2, "bad --collaboration-id is a usage error")

    # --- throttling and 5xx: retried per standard mode, at most 3 attempts ----------------------------------
    a = fake.arn("j1")
    quiet()
    before = len(reqs_for(a))
    fake.add_fault("throttle", op="get", job=a, count=2)
    r = run(["get", a])
    c.eq(r.returncode, 0, "get succeeds after 2 throttles (stderr %s)" % r.stderr[-300:])
    st = [q["status"] for q in settled(lambda: reqs_for(a)[before:], 3)]
    c.eq(st, [429, 429, 200], "two 429 then success")

    fake.clear_faults()
    quiet()
    before = len(reqs_for(a))
    fake.add_fault("throttle", op="get", job=a, count=10)
    r = run(["get", a])
    c.eq(r.returncode, 1, "persistent throttling fails")
    c.ok("ThrottlingException" in r.stderr and "(request id " in r.stderr, "throttle message: %r" % r.stderr[-300:])
    c.eq([q["status"] for q in settled(lambda: reqs_for(a)[before:], 3)], [429, 429, 429],
         "exactly 3 attempts under throttling")

    fake.clear_faults()
    quiet()
    before = len(reqs_for(a))
    fake.add_fault("503", op="get", job=a, count=1)
    r = run(["get", a])
    c.eq(r.returncode, 0, "get succeeds after one 503")
    c.eq([q["status"] for q in settled(lambda: reqs_for(a)[before:], 2)], [503, 200], "503 then success")

    # x-amz-retry-after: the service's hint lengthens the backoff (here < 1 s) to the hint, but by 5 s at most.
    def gap_s(q0, q1):
        t0, t1 = (datetime.datetime.fromisoformat(q["time"]).timestamp() for q in (q0, q1))
        return t1 - t0

    # Lower bounds are exact (the retry cannot come sooner); the upper bound only tells the 5-s cap from the
    # hint itself (a 60-s wait), so a loaded machine cannot fail it.
    for hint, lo, hi in ((2500, 2.45, 30), (60000, 4.95, 30)):
        fake.clear_faults()
        quiet()
        before = len(reqs_for(a))
        fake.add_fault("throttle", op="get", job=a, count=1, retryAfterMs=hint)
        r = run(["get", a])
        c.eq(r.returncode, 0, "get succeeds after a 429 with x-amz-retry-after: %d" % hint)
        q = settled(lambda: reqs_for(a)[before:], 2)
        c.eq([x["status"] for x in q], [429, 200], "429 with retry-after %d then success" % hint)
        if len(q) == 2:
            g = gap_s(q[0], q[1])
            c.ok(lo <= g <= hi, "x-amz-retry-after %d ms: retried after %.3f s, want [%.2f, %.2f]" % (hint, g, lo, hi))

    fake.clear_faults()
    quiet()
    before = len(reqs_for(a))
    fake.add_fault("500", op="get", job=a, count=10)
    r = run(["get", a])
    c.eq(r.returncode, 1, "persistent 500 fails")
    c.eq([q["status"] for q in settled(lambda: reqs_for(a)[before:], 3)], [500, 500, 500],
         "exactly 3 attempts under 500")

    # A throttle in the middle of pagination is retried; the listing is still complete.
    fake.clear_faults()
    quiet()
    n_list_before = len(fake.requests("list"))
    fake.add_fault("throttle", op="list", count=1)
    r = run(["list", "--collaboration-id", COLLAB_B])
    c.eq(r.returncode, 0, "list succeeds after a throttled page")
    c.eq(len(lines(r)), 230, "throttled list still complete")
    c.eq([q["status"] for q in settled(lambda: fake.requests("list")[n_list_before:], 4)], [429, 200, 200, 200],
         "list retry")

    # An expired token: credentials refreshed and ONE retry; a second one is final.
    fake.clear_faults()
    quiet()
    before = len(reqs_for(a))
    fake.add_fault("expired_token", op="get", job=a, count=1)
    r = run(["get", a])
    c.eq(r.returncode, 0, "get succeeds after one ExpiredTokenException (stderr %s)" % r.stderr[-300:])
    c.eq([q["status"] for q in settled(lambda: reqs_for(a)[before:], 2)], [403, 200], "expired token: one retry")
    fake.clear_faults()
    quiet()
    before = len(reqs_for(a))
    fake.add_fault("expired_token", op="get", job=a, count=10)
    r = run(["get", a])
    c.eq(r.returncode, 1, "persistent ExpiredTokenException fails")
    c.ok("ExpiredTokenException" in r.stderr, "expired token message: %r" % r.stderr[-300:])
    c.eq([q["status"] for q in settled(lambda: reqs_for(a)[before:], 2)], [403, 403], "expired token: only one retry")

    # Connection reset mid-response: transient, retried.
    fake.clear_faults()
    quiet()
    before = len(reqs_for(a))
    fake.add_fault("reset", op="get", job=a, count=1)
    r = run(["get", a])
    c.eq(r.returncode, 0, "get succeeds after a connection reset (stderr %s)" % r.stderr[-300:])
    c.eq(len(settled(lambda: reqs_for(a)[before:], 2)), 2, "reset: one retry")

    # --- protocol errors: not retried, exit 1 with a clear message -------------------------------------
    for kind in ("malformed", "invalid_status", "missing_fields", "huge"):
        fake.clear_faults()
        quiet()
        before = len(reqs_for(a))
        fake.add_fault(kind, op="get", job=a, count=5)
        r = run(["get", a])
        c.eq(r.returncode, 1, "%s body exits 1" % kind)
        c.eq(r.stdout, "", "%s body prints no job" % kind)
        c.ok("protocol" in r.stderr and ("malformed GetAudienceGenerationJob response" in r.stderr or
                                         (kind == "huge" and "byte cap" in r.stderr)),
             "%s message: %r" % (kind, r.stderr[-400:]))
        c.eq(len(settled(lambda: reqs_for(a)[before:], 1)), 1, "%s is not retried" % kind)
        want_text = {"invalid_status": "\"status\" has an invalid value \"not a status!\"",
                     "missing_fields": "missing required field \"", "malformed": "not JSON"}.get(kind, "cap")
        c.ok(want_text in r.stderr, "%s message names the problem: %r" % (kind, r.stderr[-300:]))

    fake.clear_faults()

    # --- session token: X-Amz-Security-Token sent and signed ------------------------------------------
    quiet()
    before = len(reqs_for(a))
    r = run(["get", a], dict(base_env, **jw.aws_env(akid=AKID2, secret=SECRET2, token=jw.TOKEN)))
    c.eq(r.returncode, 0, "get with a session token (stderr %s)" % r.stderr[-300:])
    q = settled(lambda: reqs_for(a)[before:], 1)
    c.ok(q and q[0]["headers"]["x-amz-security-token"] == "yes" and
         "x-amz-security-token" in q[0]["headers"]["signed_headers"] and q[0]["sigv4"] == "ok",
         "security token sent and signed: %s" % (q[0]["headers"] if q else None))

    # --- wrong secret: signature error, not retried, no secret in the message ----------------------------
    quiet()
    before = len(reqs_for(a))
    r = run(["get", a], dict(base_env, **jw.aws_env(secret="wrong" + jw.SECRET)))
    c.eq(r.returncode, 1, "bad secret fails")
    c.ok("InvalidSignatureException" in r.stderr, "signature error reported: %r" % r.stderr[-300:])
    c.eq(len(settled(lambda: reqs_for(a)[before:], 1)), 1, "signature errors are not retried")

    # --- region from the profile in the AWS config file; --region overrides ------------------------------
    cfg = t.write("aws-config", "[default]\nregion = eu-west-3\n[profile prod]\nregion = us-east-1\n")
    e = dict(env, AWS_REGION="", AWS_DEFAULT_REGION="", AWS_CONFIG_FILE=cfg, AWS_PROFILE="prod")
    quiet()
    before = len(reqs_for(a))
    r = run(["get", a], e)
    c.eq(r.returncode, 0, "region from [profile prod] (stderr %s)" % r.stderr[-300:])
    q = settled(lambda: reqs_for(a)[before:], 1)
    c.ok(q and "/us-east-1/cleanrooms-ml/" in q[0]["headers"]["credential_scope"], "signed for us-east-1")
    e2 = dict(e, AWS_PROFILE="")
    quiet()
    before = len(reqs_for(a))
    r = run(["get", a], e2)
    c.eq(r.returncode, 1, "default profile region eu-west-3 does not match the job's region")
    c.ok("the region in use is eu-west-3 (use --region us-east-1)" in r.stderr,
         "region eu-west-3 from [default]: %r" % r.stderr[-300:])
    r = run(["get", "--region", "us-east-1", a], e2)
    c.eq(r.returncode, 0, "--region overrides the profile")
    # With no region anywhere, get takes the one its ARNs name; list has no ARN and needs one.
    r = run(["get", a], dict(env, AWS_REGION="", AWS_DEFAULT_REGION=""))
    c.eq(r.returncode, 0, "get takes the ARN's region when none is set (stderr %s)" % r.stderr[-300:])
    c.eq([j.get("audienceGenerationJobArn") for j in lines(r)], [a], "the job printed")
    r = run(["list"], dict(env, AWS_REGION="", AWS_DEFAULT_REGION=""))
    c.eq(r.returncode, 1, "list without a region is an error")
    c.ok("no AWS region: set [aws] region or AWS_REGION" in r.stderr, "no-region message: %r" % r.stderr[-300:])

    # --- a config file supplies [aws] ------------------------------------------------------------------
    conf = t.write("jobwatchd.conf", jw.ini_text({"aws": {"region": "us-east-1", "endpoint": fake.url}}))
    r = run(["get", "-c", conf, a], dict(env, AWS_REGION="", AWS_ENDPOINT_URL="http://127.0.0.1:1"))
    c.eq(r.returncode, 0, "get -c FILE uses [aws] region and endpoint (stderr %s)" % r.stderr[-400:])
    r = run(["get", "-c", t.path("missing.conf"), a])
    c.eq(r.returncode, 1, "an explicit missing config file is an error")
    # get and list never use the webhook's secret (only root may read it on the installed layout): a secret
    # they cannot find does not stop them; --check-config still insists on it.
    conf2 = t.write("hooks.conf", jw.ini_text({"aws": {"region": "us-east-1", "endpoint": fake.url},
                                                'webhook "ops"': {"url": "https://hooks.example.com/x",
                                                                  "secret_file": "not-here.secret"},
                                                "http": {"listen": "127.0.0.1:9464", "token_file": "nope.token"}}))
    r = run(["get", "-c", conf2, a], dict(env, AWS_REGION=""))
    c.eq(r.returncode, 0, "get with a webhook whose secret it cannot read (stderr %s)" % r.stderr[-400:])
    r = run(["--check-config", "-c", conf2])
    c.ok(r.returncode == 1 and "not-here.secret" in r.stderr, "--check-config still checks the secret")

    # --- no secret anywhere ---------------------------------------------------------------------------
    for out in outputs:
        for s in (jw.SECRET, SECRET2, jw.TOKEN):
            if s in out:
                c.ok(False, "a secret appeared in command output")
                break
    c.done()


jw.main(test)
