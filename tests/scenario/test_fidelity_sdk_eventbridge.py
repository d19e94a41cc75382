#!/usr/bin/python3
"""Fidelity: the official AWS SDK for JavaScript v2 (npm aws-sdk@2.1693.0, AWS.EventBridge.putEvents) against
the fake's PutEvents, which verifies every request's SigV4 signature (signing name events, the body's hash):
the SDK's requests pass the fake's checks, and the SDK reads the fake's answers -- EventIds, FailedEntryCount,
per-entry ErrorCode/ErrorMessage, request errors with their code and status -- as it reads the service's.
So the fake the daemon's EventBridge tests run against speaks the real wire protocol.

aws-sdk comes from tests/node/package-lock.json as in test_fidelity_sdk; exits 77 when node/npm or the
registry is unavailable."""

import os
import sys

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")),
                                "tests", "lib"))
import jwtest as jw  # noqa: E402
import jwnode  # noqa: E402

TEMP = ("ASIAJWEVENTBRIDGE0001", "eventsTempSecret/+=0000", "eventsSessionToken//+==")


def test(t):
    jwnode.node_modules(jw.skip)
    fake = t.start_fake({"jobs": []}, verify_sigv4=True, credentials=[(jw.AKID, jw.SECRET), TEMP])
    cfg = {"endpoint": fake.url, "region": jw.REGION, "accessKeyId": jw.AKID, "secretAccessKey": jw.SECRET,
           "temp": {"accessKeyId": TEMP[0], "secretAccessKey": TEMP[1], "sessionToken": TEMP[2]},
           "jobArn": fake.arn("fidelity/bus-1")}
    rc = jwnode.run_fidelity_script(t, jw.skip, "sdk_eventbridge.js", cfg)
    jw.check(rc == 0, "sdk_eventbridge.js failed (rc %d)" % rc)

    c = jw.Checks()
    st = fake.stats()
    c.eq(st["sigv4"].get("ok", 0), 6, "fake verified the SDK's six good requests")
    c.eq(st["sigv4"].get("InvalidSignatureException"), 1, "only the wrong-secret request was rejected")
    puts = [x for x in fake.requests("putevents") if x.get("sigv4") == "ok"]
    c.ok(puts and all(x["headers"]["credential_scope"].endswith("/events/aws4_request") for x in puts),
         "the SDK signs for the service events")
    c.ok(any(x["headers"]["x-amz-security-token"] == "yes" and x.get("credential") == 1 for x in puts),
         "session-token request verified against the temporary credential")
    c.ok(all(x["raw_path"] == "/" and x["method"] == "POST" for x in puts), "POST /")
    c.done()


if __name__ == "__main__":
    jw.main(test)
