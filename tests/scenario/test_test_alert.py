"""`jobwatchd test-alert`: one made-up event through every sink, and what each answered.

- json (signed: the receiver verifies the Standard Webhooks signature with the hook's secret), slack,
  alertmanager-webhook and alertmanager (a real Alertmanager from Debian, when installed) each get one request,
  marked as a test (status code JOBWATCHD_TEST_ALERT; the Alertmanager alert is JobwatchdTestAlert, severity info);
- the journal, with no journald here, gets the event on stderr;
- the output names every hook with its HTTP status; exit 0;
- --hook NAME sends to that hook only; a hook answering 503 makes the exit 1 and says "HTTP 503";
- the state database is not touched (it may belong to a running daemon).
"""

import json
import os
import shutil
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.environ["JW_SOURCE_DIR"], "tests", "lib"))
import jwtest as jw  # noqa: E402

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
AM = shutil.which("prometheus-alertmanager")


def test(t):
    c = jw.Checks()
    recv = t.start_receiver(secret=SECRET)
    secret_file = t.write("ops.secret", SECRET + "\n", mode=0o600)
    hooks = {
        'webhook "ops"': {"url": recv.url + "/json", "secret_file": secret_file},
        'webhook "chat"': {"url": recv.url + "/slack", "format": "slack"},
        'webhook "bridge"': {"url": recv.url + "/v4", "format": "alertmanager-webhook"},
    }
    am_url = None
    if AM:
        port = jw.free_port()
        cfg_am = t.write("am.yml", "route:\n  receiver: x\nreceivers:\n  - name: x\n")
        jw.Proc(t, "alertmanager", [AM, "--config.file=" + cfg_am, "--storage.path=" + t.path("am"),
                                     "--web.listen-address=127.0.0.1:%d" % port, "--cluster.listen-address="])
        am_url = "http://127.0.0.1:%d" % port

        def ready():
            try:
                return urllib.request.urlopen(am_url + "/-/ready", timeout=2).status == 200
            except OSError:
                return False
        jw.wait_until(ready, 20, "Alertmanager ready")
        hooks['webhook "am"'] = {"url": am_url, "format": "alertmanager"}
    db = t.path("state.db")
    cfg = {"aws": {"region": "eu-west-1"}, "state": {"path": db}, "journal": {"enabled": True}}
    cfg.update(hooks)
    conf = t.write("jobwatchd.conf", jw.ini_text(cfg))

    r = t.run([jw.daemon_path(), "test-alert", "-c", conf], timeout=60)
    out = r.stdout
    c.eq(r.returncode, 0, "exit 0 when every sink took it:\n%s%s" % (out, r.stderr))
    for name in ("ops", "chat", "bridge") + (("am",) if AM else ()):
        c.ok(any(("webhook %s" % name in ln or "alertmanager %s" % name in ln) and "HTTP 20" in ln
                 for ln in out.splitlines()), "the output names %s with its answer:\n%s" % (name, out))
    c.ok("journal: journald is not running: written to stderr" in out, "journal line:\n" + out)
    c.ok("JOBWATCHD_TEST_ALERT" in r.stderr or "jobwatchd test alert" in r.stderr, "the event on stderr")
    posts = {p["path"]: p for p in recv.posts()}
    c.eq(sorted(posts), ["/json", "/slack", "/v4"], "one request per webhook")
    if "/json" in posts:
        c.ok(posts["/json"]["verified"] is True, "the json hook's request is signed with its secret")
        body = json.loads(posts["/json"]["body"])
        c.eq(body["data"]["statusDetails"]["statusCode"], "JOBWATCHD_TEST_ALERT", "marked as a test")
        c.ok(":000000000000:" in body["data"]["jobArn"], "a made-up ARN: %s" % body["data"]["jobArn"])
    if AM:
        alerts = json.loads(urllib.request.urlopen(am_url + "/api/v2/alerts", timeout=5).read())
        test_alerts = [a for a in alerts if a["labels"].get("alertname") == "JobwatchdTestAlert"]
        c.ok(test_alerts and test_alerts[0]["labels"].get("severity") == "info",
             "Alertmanager holds the test alert (severity info): %s" % alerts)
    c.ok(not os.path.exists(db), "the state database was not created")

    # One hook only; a failing receiver makes it fail.
    recv.http.call("DELETE", "/_recv/log")
    recv.set_script([{"status": 503}])
    r = t.run([jw.daemon_path(), "test-alert", "-c", conf, "--hook", "chat"], timeout=60)
    c.eq(r.returncode, 1, "exit 1 when a hook fails")
    c.ok("webhook chat (slack): FAILED: HTTP 503" in r.stdout, "says HTTP 503:\n" + r.stdout)
    c.ok("ops" not in r.stdout and "journal" not in r.stdout, "only the named hook:\n" + r.stdout)
    r = t.run([jw.daemon_path(), "test-alert", "-c", conf, "--hook", "nope"], timeout=30)
    c.eq(r.returncode, 1, "an unknown hook is an error")
    c.ok("no such hook" in r.stderr, "and says so: " + r.stderr)
    c.done()


jw.main(test)
