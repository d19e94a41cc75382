#!/usr/bin/python3
"""The fake Clean Rooms ML service speaks restJson1 as the real one does, and its faults, control API,
request log and SigV4 verifier behave as documented (tests/fake/README.md).

Drives the fake with http.client over real sockets; no daemon involved."""

import http.client
import json
import os
import socket
import ssl
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")),
                                "tests", "lib"))
import jwtest as jw  # noqa: E402
from rawhttp import enc, request  # noqa: E402

sys.path.insert(0, jw.FAKE_DIR)
import fake_crml  # noqa: E402  (its SigV4 functions are the independent implementation under test)

COLLAB_A = "0a0a0a0a-1111-4222-8333-444444444444"
COLLAB_B = "0b0b0b0b-1111-4222-8333-444444444444"
CAM_A = jw.cam_arn("cam-a")
CAM_B = jw.cam_arn("cam-b")
METRICS = {"relevanceMetrics": [{"audienceSize": {"type": "ABSOLUTE", "value": 1000}, "score": 5.25}],
           "recallMetric": 0.75}
ALL_FIELDS = {"createTime", "updateTime", "audienceGenerationJobArn", "name", "description", "status",
              "statusDetails", "configuredAudienceModelArn", "seedAudience", "includeSeedInOutput",
              "collaborationId", "metrics", "startedBy", "tags", "protectedQueryIdentifier"}


def scenario():
    jobs = []
    for i in range(23):
        jobs.append({"id": "list-a-%02d" % i, "name": "list-a-%02d" % i, "collaborationId": COLLAB_A,
                     "configuredAudienceModelArn": CAM_A if i % 2 == 0 else CAM_B,
                     "steps": [{"at": 0, "status": "CREATE_IN_PROGRESS"}]})
    for i in range(5):
        jobs.append({"id": "list-b-%02d" % i, "collaborationId": COLLAB_B, "configuredAudienceModelArn": CAM_B,
                     "steps": [{"at": 0, "status": "ACTIVE", "metrics": METRICS}]})
    jobs += [
        {"id": "full/with.dots_and-slash", "name": "weekly-lookalike", "collaborationId": COLLAB_B,
         "configuredAudienceModelArn": CAM_B,
         "steps": [{"at": 0, "status": "CREATE_FAILED",
                    "statusDetails": {"statusCode": "SEED_TOO_SMALL", "message": "seed audience too small"},
                    "metrics": METRICS}]},
        {"id": "progress", "collaborationId": COLLAB_B, "steps": [
            {"at": 0, "status": "CREATE_IN_PROGRESS"},
            {"at": 0.5, "status": "ACTIVE", "metrics": METRICS}]},
        {"id": "gone", "collaborationId": COLLAB_B, "deleteAt": 0.5},
        {"id": "late", "collaborationId": COLLAB_B, "appearAt": 0.5},
        {"id": "much-later", "collaborationId": COLLAB_B, "appearAt": 3600},
        {"id": "faulty", "collaborationId": COLLAB_B},
    ]
    return {"region": jw.REGION, "account": jw.ACCOUNT, "jobs": jobs,
            "faults": [{"kind": "500", "job": jw.job_arn("faulty"), "from": 0}]}


def get(fake, arn, **kw):
    return request(fake.url, "GET", "/audience-generation-job/" + enc(arn), **kw)


def list_page(fake, **params):
    q = "&".join("%s=%s" % (k, urllib.parse.quote(str(v), safe="-._~")) for k, v in params.items())
    return request(fake.url, "GET", "/audience-generation-job" + ("?" + q if q else ""))


def check_error(c, r, status, etype, what):
    c.eq(r.status, status, what + " status")
    c.eq(r.header("x-amzn-errortype"), etype, what + " x-amzn-errortype")
    c.ok(r.header("x-amzn-requestid"), what + " has x-amzn-requestid")
    if etype:
        c.eq(r.header("content-type"), "application/json", what + " content-type")
        c.ok(isinstance(r.json().get("message"), str) and r.json()["message"], what + " body has message")


def test_get_and_paths(fake, c):
    arn = fake.arn("full/with.dots_and-slash")
    r = get(fake, arn)
    c.eq(r.status, 200, "get full")
    c.eq(r.header("content-type"), "application/json", "get content-type")
    c.ok(len(r.header("x-amzn-requestid") or "") == 36, "x-amzn-requestid is a uuid")
    d = r.json()
    c.eq(set(d), ALL_FIELDS, "get returns every field of the seed")
    c.eq(d["audienceGenerationJobArn"], arn, "arn")
    c.eq(d["status"], "CREATE_FAILED", "status")
    c.eq(d["statusDetails"], {"statusCode": "SEED_TOO_SMALL", "message": "seed audience too small"},
         "statusDetails")
    c.eq(d["metrics"], METRICS, "metrics")
    c.eq(d["collaborationId"], COLLAB_B, "collaborationId")
    c.ok(set(d["seedAudience"]) == {"dataSource", "roleArn"} and "s3Uri" in d["seedAudience"]["dataSource"],
         "seedAudience shape: an S3 seed, no sqlParameters beside it")
    c.ok(isinstance(d["includeSeedInOutput"], bool), "includeSeedInOutput bool")
    for k in ("createTime", "updateTime"):
        c.ok(isinstance(d[k], str) and d[k].endswith("Z") and "T" in d[k] and fake_crml.parse_iso(d[k]) > 1e9,
             "%s is an ISO 8601 string: %r" % (k, d[k]))
    # raw path: unencoded or half-encoded labels are rejected, and noted in the log
    for bad in ("/audience-generation-job/" + arn,
                "/audience-generation-job/" + arn.replace(":", "%3A"),
                "/audience-generation-job/" + arn.replace("/", "%2F")):
        r = request(fake.url, "GET", bad)
        check_error(c, r, 400, "ValidationException", "unencoded label %s" % bad)
    c.ok(any("not percent-encoded" in n for n in fake.notes()), "bad encoding noted in the log")
    check_error(c, get(fake, "arn:aws:cleanrooms-ml:us-east-1:111122223333:audience-model/x"), 400,
                "ValidationException", "non-job ARN")
    check_error(c, get(fake, fake.arn("no-such-job")), 404, "ResourceNotFoundException", "unknown job")
    check_error(c, request(fake.url, "GET", "/nope"), 404, "UnknownOperationException", "unknown path")
    # time-driven steps, deleteAt, appearAt
    jw.wait_until(lambda: get(fake, fake.arn("progress")).json()["status"] == "ACTIVE", 20, "progress -> ACTIVE")
    d = get(fake, fake.arn("progress")).json()
    c.eq(d.get("metrics"), METRICS, "metrics after step")
    c.ok(d["updateTime"] > d["createTime"], "updateTime after createTime once a later step applies")
    jw.wait_until(lambda: get(fake, fake.arn("gone")).status == 404, 20, "deleteAt -> 404")
    check_error(c, get(fake, fake.arn("gone")), 404, "ResourceNotFoundException", "deleted job")
    jw.wait_until(lambda: get(fake, fake.arn("late")).status == 200, 20, "appearAt -> 200")
    check_error(c, get(fake, fake.arn("much-later")), 404, "ResourceNotFoundException", "not yet appeared")
    # scenario-file fault bound to one job
    check_error(c, get(fake, fake.arn("faulty")), 500, "InternalServiceException", "scenario fault 500 on its job")
    c.eq(get(fake, fake.arn("list-a-00")).status, 200, "scenario fault does not hit other jobs")


def test_list(fake, c):
    seen, tokens, pages = [], [], 0
    params = {"collaborationId": COLLAB_A, "maxResults": 5}
    while True:
        r = list_page(fake, **params)
        c.eq(r.status, 200, "list page %d" % pages)
        d = r.json()
        pages += 1
        c.ok(len(d["audienceGenerationJobs"]) <= 5, "page size <= maxResults")
        for s in d["audienceGenerationJobs"]:
            c.ok(set(s) <= set(fake_crml.SUMMARY_FIELDS) and "status" in s and "statusDetails" not in s,
                 "summary fields only: %s" % sorted(s))
            seen.append(s["audienceGenerationJobArn"])
        if "nextToken" not in d:
            break
        tokens.append(d["nextToken"])
        params["nextToken"] = d["nextToken"]
        if pages > 20:
            jw.fail("pagination does not end")
    c.eq(pages, 5, "23 jobs at 5 a page")
    c.eq(sorted(seen), sorted(jw.job_arn("list-a-%02d" % i) for i in range(23)), "all collab A jobs, once each")
    c.ok(tokens and all("+" in t and "/" in t and "=" in t for t in tokens), "tokens contain + / =: %r" % tokens)
    # raw (unencoded) token: '+' would decode as space, so the SDK-style encoding is required
    r = request(fake.url, "GET", "/audience-generation-job?collaborationId=%s&maxResults=5&nextToken=%s" %
                (COLLAB_A, tokens[0]))
    check_error(c, r, 400, "ValidationException", "unencoded nextToken")
    check_error(c, list_page(fake, nextToken="bm90LWEtdG9rZW4="), 400, "ValidationException", "forged token")
    for mr in (0, 101, "x", -1):
        check_error(c, list_page(fake, maxResults=mr), 400, "ValidationException", "maxResults=%s" % mr)
    for mr in (1, 100):
        c.eq(list_page(fake, maxResults=mr).status, 200, "maxResults=%d accepted" % mr)
    r = list_page(fake, collaborationId=COLLAB_A, configuredAudienceModelArn=CAM_A, maxResults=100)
    arns = [s["audienceGenerationJobArn"] for s in r.json()["audienceGenerationJobs"]]
    c.eq(sorted(arns), sorted(jw.job_arn("list-a-%02d" % i) for i in range(0, 23, 2)), "both filters")
    c.ok("nextToken" not in r.json(), "single page has no nextToken")
    check_error(c, list_page(fake, collaborationId="not-a-uuid"), 400, "ValidationException", "bad collab id")
    check_error(c, list_page(fake, configuredAudienceModelArn="arn:bad"), 400, "ValidationException", "bad cam")
    # deleted / not yet appeared jobs are not listed
    r = list_page(fake, collaborationId=COLLAB_B, maxResults=100)
    ids = {s["audienceGenerationJobArn"].rsplit("/", 1)[-1] for s in r.json()["audienceGenerationJobs"]}
    c.ok("much-later" not in ids and "gone" not in ids and "late" in ids, "list follows appear/delete: %s" % ids)


def test_faults(fake, c):
    arn = fake.arn("list-b-00")
    simple = {"500": (500, "InternalServiceException"), "503": (503, None), "throttle": (429, "ThrottlingException"),
              "expired_token": (403, "ExpiredTokenException"), "access_denied": (403, "AccessDeniedException"),
              "validation": (400, "ValidationException"), "not_found": (404, "ResourceNotFoundException")}
    for kind, (status, etype) in simple.items():
        fake.add_fault(kind, job=arn, count=1)
        check_error(c, get(fake, arn), status, etype, "fault %s" % kind)
        c.eq(get(fake, arn).status, 200, "fault %s used up after count=1" % kind)
    # body-level faults
    fake.add_fault("malformed", job=arn, count=1)
    r = get(fake, arn)
    c.eq(r.status, 200, "malformed status")
    try:
        json.loads(r.body)
        c.ok(False, "malformed body must not parse")
    except ValueError:
        c.ok(True, "malformed")
    fake.add_fault("huge", job=arn, count=1)
    r = get(fake, arn)
    c.ok(len(r.body) > 4 << 20 and r.json()["audienceGenerationJobArn"] == arn, "huge: >4 MiB valid JSON")
    fake.add_fault("unknown_status", job=arn, count=1)
    c.eq(get(fake, arn).json()["status"], "ACTIVATING", "unknown_status")
    fake.add_fault("invalid_status", job=arn, count=1)
    c.eq(get(fake, arn).json()["status"], "not a status!", "invalid_status")
    fake.add_fault("missing_fields", job=arn, count=1)
    d = get(fake, arn).json()
    c.ok("status" not in d and "updateTime" not in d and "name" in d, "missing_fields drops status, updateTime")
    fake.add_fault("slow", job=arn, count=1, chunk=64, delay=0.02)
    r = get(fake, arn)
    c.ok(r.status == 200 and r.json()["audienceGenerationJobArn"] == arn, "slow body arrives complete")
    # connection-level faults
    for kind, excs in (("truncated", (http.client.IncompleteRead,)),
                       ("reset", (ConnectionError, http.client.HTTPException, OSError))):
        fake.add_fault(kind, job=arn, count=1)
        try:
            get(fake, arn)
            c.ok(False, "%s: request must fail" % kind)
        except excs as e:
            c.ok(True, "%s: %r" % (kind, e))
    fake.add_fault("stall", job=arn, count=1)
    try:
        get(fake, arn, timeout=1.0)
        c.ok(False, "stall: request must time out")
    except (socket.timeout, TimeoutError):
        c.ok(True, "stall")
    c.eq(get(fake, arn).status, 200, "healthy after connection faults")
    # op filter, rate 0 and time windows
    fake.add_fault("throttle", op="list", count=2)
    check_error(c, list_page(fake, maxResults=1), 429, "ThrottlingException", "list throttle")
    c.eq(get(fake, arn).status, 200, "get unaffected by an op=list fault")
    fake.add_fault("500", job=arn, rate=0)
    fake.add_fault("500", job=arn, **{"from": 1e6})
    c.eq(get(fake, arn).status, 200, "rate 0 and future windows never fire")
    fake.add_fault("validation", job=arn, duration=3600)
    check_error(c, get(fake, arn), 400, "ValidationException", "duration window")
    fake.clear_faults()
    fake.add_fault("unknown_operation", job=arn, count=1)
    check_error(c, get(fake, arn), 404, "UnknownOperationException", "unknown_operation")
    fake.add_fault("bare_404", job=arn, count=1)
    r = get(fake, arn)
    c.ok(r.status == 404 and r.header("x-amzn-errortype") is None and b"<html>" in r.body,
         "bare_404: a 404 with no error type and an HTML body")
    c.eq(get(fake, arn).status, 200, "clear faults")
    st = fake.stats()
    for kind in ("500", "503", "throttle", "reset", "stall", "slow", "truncated", "malformed", "huge",
                 "unknown_status", "invalid_status", "missing_fields", "expired_token", "access_denied",
                 "validation"):
        c.ok(st["fault"].get(kind, 0) >= 1, "stats count fault %s" % kind)
    c.ok(st["op_status"].get("get:reset") == 1 and st["op_status"].get("get:stall") == 1,
         "connection faults counted as their kind: %s" % st["op_status"])


def test_control(fake, c):
    arn = fake.arn("list-a-03")
    before = get(fake, arn).json()
    fake.set_job(arn, "CREATE_FAILED", statusDetails={"statusCode": "X", "message": "m"})
    after = get(fake, arn).json()
    c.eq(after["status"], "CREATE_FAILED", "set_job status")
    c.eq(after["statusDetails"], {"statusCode": "X", "message": "m"}, "set_job statusDetails")
    c.ok(after["updateTime"] > before["updateTime"], "set_job bumps updateTime")
    fake.set_job(arn, "DELETE_PENDING")
    t = fake.truth()[arn]
    d = get(fake, arn).json()
    c.eq((t["status"], t["updateTime"]), (d["status"], d["updateTime"]), "truth matches Get")
    c.ok("statusDetails" not in d, "statusDetails not carried to the next status")
    new = fake.set_job("added-live", "CREATE_PENDING", collaborationId=COLLAB_B)
    c.eq(get(fake, new).json()["status"], "CREATE_PENDING", "job added live")
    fake.delete_job(new)
    check_error(c, get(fake, new), 404, "ResourceNotFoundException", "deleted live")
    t = fake.truth()[new]
    c.ok(t["deleted"] and not t["exists"], "truth shows deletion")
    c.ok(all(k in t for k in ("arn", "status", "updateTime")), "truth fields")
    fake.reset_stats()
    get(fake, arn)
    list_page(fake, maxResults=1)
    get(fake, fake.arn("nope"))
    st = fake.stats()
    c.eq((st["op"].get("get"), st["op"].get("list"), st["status"].get("200"), st["status"].get("404")),
         (2, 1, 2, 1), "stats by op and status (control calls not counted as API): %s" % st)


def test_log(fake, c):
    recs = fake.requests()
    gets = fake.requests("get")
    c.ok(gets and all(r["raw_path"].startswith("/audience-generation-job/") for r in gets), "get records")
    enc_ok = [r for r in gets if "%3A" in r["raw_path"] and r["status"] == 200]
    c.ok(enc_ok and ":" in enc_ok[0]["path_decoded"] and enc_ok[0]["arn"].startswith("arn:aws:"),
         "raw_path keeps %3A, path_decoded and arn are decoded")
    lists = [r for r in fake.requests("list") if "nextToken=" in r["query"]]
    c.ok(lists and "%2B" in lists[0]["query"] + "".join(x["query"] for x in lists), "raw query kept encoded")
    for r in recs:
        for k in ("time", "method", "raw_path", "path_decoded", "query", "op", "status", "headers"):
            if k not in r:
                c.ok(False, "log record lacks %s: %r" % (k, r))
                return
    c.ok(all(set(r["headers"]) >= {"host", "authorization", "x-amz-date", "user-agent"} for r in recs),
         "selected headers present")
    c.ok(any(r.get("fault") == "reset" and r["status"] == "reset" for r in recs), "fault noted in log")


def sign_headers(fake, method, path, query, akid, secret, region=jw.REGION, token=None, amz_date=None):
    host = "127.0.0.1:%d" % fake.port
    return [("Host", host)] + fake_crml.sigv4_authorization(method, path, query, [("host", host)], b"", akid,
                                                             secret, region, amz_date=amz_date,
                                                             session_token=token)


def test_sigv4(t, c):
    # 1. the verifier's signer reproduces published vectors: @smithy/signature-v4 output from
    #    shared/reference/testinfra.md §6 (ARN path, double encoding) and the aws-c-auth suite.
    hdrs = [("host", "cleanrooms-ml.us-east-1.amazonaws.com"),
            ("x-amz-content-sha256", fake_crml.EMPTY_SHA256), ("x-amz-date", "20240115T120000Z")]
    path = "/audience-generation-job/" + enc("arn:aws:cleanrooms-ml:us-east-1:111122223333:audience-generation-job/"
                                             "abcd-1234")
    _, sts, sig = fake_crml.sigv4_sign("GET", path, "", hdrs, b"", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                       "us-east-1", "cleanrooms-ml", "20240115T120000Z",
                                       ["host", "x-amz-content-sha256", "x-amz-date"])
    c.eq(sig, "07c1ca55c5a80bb966fbf07c87dc23165047d3af33462dce7f8a0c3e9eea0f9c", "smithy signature-v4 vector")
    c.ok(sts.endswith("ab0c2a242c4a7e7837896685a61fc3635443fee1c71f4d0615a55813d553ffc0"),
         "smithy canonical request hash")
    suite = os.path.join(os.path.dirname(jw.SOURCE_DIR), "shared", "testdata", "sigv4", "v4")
    suite = os.environ.get("JW_SIGV4_SUITE", suite)
    checked = 0
    if os.path.isdir(suite):
        for case in sorted(os.listdir(suite)):
            # path normalisation cases: the daemon only sends normalised paths, the verifier does not normalise
            if any(x in case for x in ("relative", "slash", "space", "utf8")) and not case.startswith("get-vanilla"):
                continue
            ctx = json.load(open(os.path.join(suite, case, "context.json")))
            if ctx.get("sign_body") or ctx["credentials"].get("token") and ctx.get("omit_session_token"):
                continue
            raw = open(os.path.join(suite, case, "header-signed-request.txt"), "rb").read().decode()
            head, _, body = raw.partition("\n\n")
            lines = head.split("\n")
            method, target, _ = lines[0].split(" ")
            headers = []
            for ln in lines[1:]:
                if ln[:1] in (" ", "\t") and headers:
                    headers[-1] = (headers[-1][0], headers[-1][1] + "\n" + ln)
                else:
                    k, _, v = ln.partition(":")
                    headers.append((k, v))
            p, _, q = target.partition("?")
            now = fake_crml.parse_iso(ctx["timestamp"])
            creds = [{"accessKeyId": ctx["credentials"]["access_key_id"],
                      "secretAccessKey": ctx["credentials"]["secret_access_key"],
                      "sessionToken": ctx["credentials"].get("token")}]
            err, _ = fake_crml.sigv4_verify(method, p, q, headers, body.encode(), creds, ctx["region"], now=now,
                                            service=ctx["service"])
            c.ok(err is None, "aws-c-auth case %s verifies: %s" % (case, err))
            checked += 1
    print("aws-c-auth SigV4 suite cases verified: %d" % checked)

    # 2. a live fake with --verify-sigv4 and two credentials (one temporary)
    fake = t.start_fake({"jobs": [{"id": "signed"}]}, verify_sigv4=True,
                        credentials=[(jw.AKID, jw.SECRET), ("ASIAJWTEMPORARY0001", "tempSecret/+=x", jw.TOKEN)],
                        name="fake-sig")
    p = "/audience-generation-job/" + enc(fake.arn("signed"))
    r = request(fake.url, "GET", p, sign_headers(fake, "GET", p, "", jw.AKID, jw.SECRET))
    c.eq(r.status, 200, "correctly signed Get accepted")
    q = "collaborationId=%s&maxResults=10" % fake_crml.DEFAULT_COLLAB
    r = request(fake.url, "GET", "/audience-generation-job?" + q,
                sign_headers(fake, "GET", "/audience-generation-job", q, jw.AKID, jw.SECRET))
    c.eq(r.status, 200, "correctly signed List accepted")
    r = request(fake.url, "GET", p, sign_headers(fake, "GET", p, "", "ASIAJWTEMPORARY0001", "tempSecret/+=x",
                                                 token=jw.TOKEN))
    c.eq(r.status, 200, "session-token credential accepted")
    bad = [
        ("tampered path", request(fake.url, "GET", p.replace("signed", "signee"),
                                  sign_headers(fake, "GET", p, "", jw.AKID, jw.SECRET)), "InvalidSignatureException"),
        ("path signed single-encoded", request(fake.url, "GET", p, [("Host", "127.0.0.1:%d" % fake.port)] +
                                               fake_crml.sigv4_authorization(
                                                   "GET", urllib.parse.unquote(p), "",
                                                   [("host", "127.0.0.1:%d" % fake.port)], b"", jw.AKID,
                                                   jw.SECRET, jw.REGION)), "InvalidSignatureException"),
        ("wrong secret", request(fake.url, "GET", p, sign_headers(fake, "GET", p, "", jw.AKID, "wrong")),
         "InvalidSignatureException"),
        ("wrong region", request(fake.url, "GET", p, sign_headers(fake, "GET", p, "", jw.AKID, jw.SECRET,
                                                                  region="eu-west-1")), "InvalidSignatureException"),
        ("stale date", request(fake.url, "GET", p, sign_headers(fake, "GET", p, "", jw.AKID, jw.SECRET,
                                                                amz_date=time.strftime(
                                                                    "%Y%m%dT%H%M%SZ", time.gmtime(time.time() - 3600)))),
         "InvalidSignatureException"),
        ("unknown key", request(fake.url, "GET", p, sign_headers(fake, "GET", p, "", "AKIDUNKNOWN", jw.SECRET)),
         "UnrecognizedClientException"),
        ("missing token", request(fake.url, "GET", p, sign_headers(fake, "GET", p, "", "ASIAJWTEMPORARY0001",
                                                                   "tempSecret/+=x")), "UnrecognizedClientException"),
        ("unsigned", request(fake.url, "GET", p), "IncompleteSignatureException"),
    ]
    for what, r, etype in bad:
        check_error(c, r, 403, etype, "sigv4 %s" % what)
    st = fake.stats()
    c.eq(st["sigv4"].get("ok"), 3, "sigv4 ok count")
    # live credential rotation
    fake.add_credentials("AKIDROTATED0000001", "rotatedSecret", replace=True)
    r = request(fake.url, "GET", p, sign_headers(fake, "GET", p, "", jw.AKID, jw.SECRET))
    check_error(c, r, 403, "UnrecognizedClientException", "old key after replace")
    c.eq(request(fake.url, "GET", p, sign_headers(fake, "GET", p, "", "AKIDROTATED0000001", "rotatedSecret")).status,
         200, "rotated key accepted")
    recs = fake.requests("get")
    c.ok(all(r["headers"]["authorization"] in ("yes", "no") for r in recs), "authorization logged as yes/no")
    c.ok(any((r["headers"]["credential_scope"] or "").endswith("/us-east-1/cleanrooms-ml/aws4_request")
             for r in recs), "credential scope logged")
    c.ok(any(r.get("credential") == 1 for r in recs), "matched credential index logged")
    log_text = open(fake.log_path).read()
    for s in (jw.SECRET, jw.TOKEN, "tempSecret", jw.AKID, "ASIAJWTEMPORARY0001", "Signature="):
        c.ok(s not in log_text, "request log does not contain %r" % s[:6])
    stderr = fake.proc.stderr_text()
    for s in (jw.SECRET, jw.TOKEN, "tempSecret"):
        c.ok(s not in stderr, "fake stderr does not contain a secret")
    fake.stop()


def test_tls(t, c):
    ca = t.make_ca()
    fake = t.start_fake({"jobs": [{"id": "tls"}]}, tls=True, name="fake-tls")
    c.ok(fake.url.startswith("https://"), "https url")
    p = "/audience-generation-job/" + enc(fake.arn("tls"))
    c.eq(request(fake.url, "GET", p, cafile=ca["ca"]).status, 200, "TLS with the test CA (IP SAN)")
    c.eq(request(fake.url, "GET", p, cafile=ca["ca"], server_hostname="localhost").status, 200, "TLS localhost")
    try:
        request(fake.url, "GET", p, cafile=ca["other_ca"])
        c.ok(False, "wrong CA must fail")
    except ssl.SSLError as e:
        c.ok("CERTIFICATE_VERIFY_FAILED" in str(e), "wrong CA: %s" % e)
    wrong = t.start_fake({"jobs": [{"id": "tls"}]}, tls=True, cert=ca["wronghost_cert"], key=ca["wronghost_key"],
                         name="fake-wronghost")
    try:
        request(wrong.url, "GET", p, cafile=ca["ca"], server_hostname="localhost")
        c.ok(False, "wrong host must fail")
    except ssl.SSLError as e:
        c.ok("CERTIFICATE_VERIFY_FAILED" in str(e) or "match" in str(e), "wrong host: %s" % e)
    jw.wait_until(lambda: fake.stats()["tls_errors"] >= 1, 10, "fake counts the failed handshake")


def test(t):
    c = jw.Checks()
    fake = t.start_fake(scenario(), seed=1)
    test_get_and_paths(fake, c)
    test_list(fake, c)
    test_faults(fake, c)
    test_control(fake, c)
    test_log(fake, c)
    test_sigv4(t, c)
    test_tls(t, c)
    rc = fake.stop()
    c.eq(rc, 0, "fake exits 0 on SIGTERM")
    c.done()


if __name__ == "__main__":
    jw.main(test)
