#!/usr/bin/python3
"""Fidelity: the official AWS SDK for JavaScript v2 (npm aws-sdk@2.1693.0, AWS.CleanRoomsML) parses the fake's
Get and List responses (with pagination) and surfaces its errors with the right code and statusCode, while
the fake verifies every request's SigV4 signature — so the fake's verifier agrees with the official signer.

aws-sdk comes from tests/node/package-lock.json (npm ci --ignore-scripts, integrity hashes, see
tests/lib/jwnode.py); exits 77 when node/npm or the registry is unavailable."""

import json
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")),
                                "tests", "lib"))
import jwtest as jw  # noqa: E402
import jwnode  # noqa: E402

COLLAB = "5e1f0c3a-7b2d-4c8e-9f10-0123456789ab"
OTHER = "6f2a1d4b-8c3e-4d9f-a021-123456789abc"
METRICS = {"relevanceMetrics": [{"audienceSize": {"type": "ABSOLUTE", "value": 20000}, "score": 7.5},
                                {"audienceSize": {"type": "PERCENTAGE", "value": 10}, "score": 3.25}],
           "recallMetric": 0.42}
TEMP = ("ASIAJWFIDELITY00001", "fidelityTempSecret/+=0000", "fidelitySessionToken//+==")


def install_sdk():
    return shutil.which("node"), jwnode.node_modules(jw.skip)


def test(t):
    node, node_modules = install_sdk()
    jobs = [{"id": "fidelity/main.job-1", "name": "weekly-lookalike", "collaborationId": COLLAB,
             "steps": [{"at": 0, "status": "CREATE_FAILED", "metrics": METRICS,
                        "statusDetails": {"statusCode": "INSUFFICIENT_SEED", "message": "seed too small"}}]},
            {"id": "fault-target", "collaborationId": OTHER}]
    jobs += [{"id": "page-%03d" % i, "collaborationId": COLLAB, "steps": [{"at": 0, "status": "ACTIVE"}]}
             for i in range(30)]
    fake = t.start_fake({"jobs": jobs}, verify_sigv4=True, credentials=[(jw.AKID, jw.SECRET), TEMP])
    arn = fake.arn("fidelity/main.job-1")
    truth = fake.truth()[arn]
    cfg = {"endpoint": fake.url, "region": jw.REGION, "accessKeyId": jw.AKID, "secretAccessKey": jw.SECRET,
           "temp": {"accessKeyId": TEMP[0], "secretAccessKey": TEMP[1], "sessionToken": TEMP[2]},
           "getArn": arn, "faultArn": fake.arn("fault-target"), "missingArn": fake.arn("does-not-exist"),
           "expect": {"name": "weekly-lookalike", "status": "CREATE_FAILED",
                      "statusDetails": {"statusCode": "INSUFFICIENT_SEED", "message": "seed too small"},
                      "metrics": METRICS, "collaborationId": COLLAB, "updateTime": truth["updateTime"],
                      "createTime": truth["createTime"]},
           "listCollaborationId": COLLAB, "listCount": 31, "pageSize": 7}
    cfgp = t.write("sdk_check.json", json.dumps(cfg))
    script = os.path.join(jw.SOURCE_DIR, "tests", "node", "sdk_check.js")
    env = {"NODE_PATH": node_modules, "AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE": "1"}
    r = t.run([node, script, cfgp], env=env, timeout=180)
    print(r.stdout)
    if r.stderr.strip():
        print(r.stderr[-3000:], file=sys.stderr)
    jw.check(r.returncode == 0, "sdk_check.js failed (rc %d)" % r.returncode)

    c = jw.Checks()
    st = fake.stats()
    c.ok(st["sigv4"].get("ok", 0) >= 20, "fake verified the SDK's signatures: %s" % st["sigv4"])
    c.eq(st["sigv4"].get("InvalidSignatureException"), 1, "only the wrong-secret request was rejected")
    c.eq(set(st["sigv4"]) - {"ok", "InvalidSignatureException"}, set(), "no other signature errors")
    gets = [x for x in fake.requests("get") if x.get("sigv4") == "ok"]
    c.ok(gets and all("%3A" in x["raw_path"] and "%2F" in x["raw_path"] for x in gets),
         "the SDK percent-encodes ':' and '/' in the ARN label")
    c.ok(any(x["headers"]["x-amz-security-token"] == "yes" and x.get("credential") == 1 for x in gets),
         "session-token request verified against the temporary credential")
    tok = [x["query"] for x in fake.requests("list") if "nextToken=" in x["query"]]
    c.ok(tok and all("%2B" in q and "%2F" in q and "%3D" in q for q in tok),
         "SDK sends nextToken with + / = percent-encoded: %s" % tok[:1])
    c.ok(not any("not percent-encoded" in n for n in fake.notes()), "no encoding complaints")
    c.done()


if __name__ == "__main__":
    jw.main(test)
