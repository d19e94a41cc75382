#!/usr/bin/python3
"""The webhook receiver records POSTs, verifies Standard Webhooks signatures (spec test vector included),
rejects bad ones, and answers scripted statuses, delays and headers in order."""

import http.client
import os
import ssl
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")),
                                "tests", "lib"))
import jwtest as jw  # noqa: E402

sys.path.insert(0, jw.FAKE_DIR)
import webhook_receiver as wr  # noqa: E402

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def post(url, path, body, headers, cafile=None):
    u = urllib.parse.urlsplit(url)
    if u.scheme == "https":
        conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=20,
                                           context=ssl.create_default_context(cafile=cafile))
    else:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
    try:
        conn.request("POST", path, body=body, headers=dict(headers, **{"Content-Type": "application/json"}))
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def signed(msg_id, body, ts=None, secret=SECRET):
    ts = str(int(time.time()) if ts is None else ts)
    return {"webhook-id": msg_id, "webhook-timestamp": ts, "webhook-signature": wr.sign(secret, msg_id, ts, body)}


def test(t):
    c = jw.Checks()
    # the verifier against the spec's test vector, as a program
    r = subprocess.run([jw.PYTHON, os.path.join(jw.FAKE_DIR, "webhook_receiver.py"), "--self-test"],
                       capture_output=True, text=True)
    c.eq(r.returncode, 0, "--self-test passes: %s" % r.stdout.strip())
    v = wr.VECTOR
    c.eq(wr.sign(v["secret"], v["id"], v["timestamp"], v["body"]), v["signature"], "test vector signature")

    rec = t.start_receiver(secret=SECRET, script=[{"status": 503, "headers": {"Retry-After": "1"}},
                                                  {"status": 410, "body": "gone"}])
    body = b'{"type":"job.status_changed","data":{"n":1}}'
    s1 = post(rec.url, "/hook", body, signed("evt_1", body))
    s2 = post(rec.url, "/hook", body, signed("evt_1", body))
    s3 = post(rec.url, "/hook", body, signed("evt_1", body))
    c.eq(s1[0], 503, "script 1: 503")
    c.eq(s1[1].get("retry-after"), "1", "script 1: Retry-After header")
    c.eq((s2[0], s2[2]), (410, b"gone"), "script 2: 410 body")
    c.eq(s3[0], 200, "script exhausted: 200")
    # the spec vector, sent live with its own timestamp, is verified only if fresh: the receiver rejects stale
    s = post(rec.url, "/vector", v["body"], {"webhook-id": v["id"], "webhook-timestamp": v["timestamp"],
                                             "webhook-signature": v["signature"]})
    c.eq(s[0], 200, "stale vector still answered 200 (recording only)")
    bad_sig = post(rec.url, "/hook", body, dict(signed("evt_2", body), **{"webhook-signature": "v1,AAAA"}))
    tampered = post(rec.url, "/hook", body + b" ", signed("evt_3", body))
    rotated = post(rec.url, "/hook", body, dict(signed("evt_4", body), **{
        "webhook-signature": "v1,b2xkLWtleQ== " + signed("evt_4", body)["webhook-signature"]}))
    other_key = post(rec.url, "/hook", body, signed("evt_5", body, secret="whsec_" + jw.b64(b"x" * 32)))
    unsigned = post(rec.url, "/hook", body, {})
    c.ok(all(x[0] == 200 for x in (bad_sig, tampered, rotated, other_key, unsigned)), "default 200 after script")
    posts = rec.posts()
    c.eq(len(posts), 9, "every POST recorded")
    c.eq([p["verified"] for p in posts], [True, True, True, False, False, False, True, False, False],
         "verified per post")
    c.eq([p["status"] for p in posts[:3]], [503, 410, 200], "recorded statuses")
    c.eq(posts[0]["body"], body.decode(), "body recorded as text")
    c.eq(posts[0]["path"], "/hook", "path recorded")
    c.eq(posts[0]["headers"].get("webhook-id"), "evt_1", "headers recorded")
    c.ok("outside" in posts[3].get("verify_error", ""), "stale timestamp reason: %s" % posts[3].get("verify_error"))
    c.eq(rec.http.call("GET", "/_recv/log"), posts, "GET /_recv/log matches the log file")

    # live script with delay
    rec.set_script([{"status": 429, "headers": {"Retry-After": "2"}}, {"status": 200, "delay": 0.3}])
    c.eq(post(rec.url, "/x", b"{}", {})[0], 429, "live script 429")
    c.eq(post(rec.url, "/x", b"{}", {})[0], 200, "delayed 200")
    c.eq(rec.posts()[-1]["verified"], False, "unsigned post not verified")

    # no secret: verified is null; TLS works with the test CA
    plain = t.start_receiver(tls=True, name="tlsrecv")
    st = post(plain.url, "/p", b"{}", {}, cafile=plain.ca)
    c.eq(st[0], 200, "TLS receiver")
    c.eq(plain.posts()[0]["verified"], None, "no secret -> verified null")
    c.eq(rec.stop(), 0, "receiver exits 0 on SIGTERM")
    c.done()


if __name__ == "__main__":
    jw.main(test)
