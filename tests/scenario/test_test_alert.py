"""`jobwatchd test-alert`: one made-up event through every sink, and what each answered.

- json (signed: the receiver verifies the Standard Webhooks signature with the hook's secret), slack,
  alertmanager-webhook and alertmanager (a real Alertmanager from Debian, when installed) each get one request,
  marked as a test (status code JOBWATCHD_TEST_ALERT; the Alertmanager alert is JobwatchdTestAlert, severity info);
- the journal, with no journald here, gets the event on stderr;
- the output names every hook with its HTTP status; exit 0;
- --hook NAME sends to that hook only; a hook answering 503 makes the exit 1 and says "HTTP 503";
- an [eventbridge "NAME"] section gets one PutEvents request on the fake (which verifies its SigV4, signing name
  events), reached through AWS_ENDPOINT_URL_EVENTBRIDGE with the credentials of the environment: the bus records
  exactly one entry, the sink's entry for the made-up event (the configured bus and source, its detail type,
  the test's status code in the Detail), and the output says accepted with the bus's EventId; --hook NAME sends
  to that bus only; an entry the bus refuses makes the exit 1 and prints its ErrorCode; a wrong secret and no
  credentials at all make the exit 1 and say why, without printing a secret;
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
    fake = t.start_fake({}, verify_sigv4=True, region="eu-west-1")
    hooks['eventbridge "bus"'] = {"event_bus": "jobs-bus", "source": "com.example.test"}
    db = t.path("state.db")
    cfg = {"aws": {"region": "eu-west-1"}, "state": {"path": db}, "journal": {"enabled": True}}
    cfg.update(hooks)
    conf = t.write("jobwatchd.conf", jw.ini_text(cfg))
    # Credentials from the environment alone (no profile, no IMDS); EventBridge is the fake.
    env = jw.isolated_aws_env(t, AWS_ENDPOINT_URL_EVENTBRIDGE=fake.url, **jw.aws_env(region="eu-west-1"))
    outputs = []

    def run(args, e=None, timeout=60):
        return t.run_cli(["test-alert", "-c", conf] + args, env=e or env, timeout=timeout, outputs=outputs)

    def bus_line(out):
        return [ln for ln in out.splitlines() if "eventbridge bus (jobs-bus): " in ln]

    r = run([])
    out = r.stdout
    c.eq(r.returncode, 0, "exit 0 when every sink took it:\n%s%s" % (out, r.stderr))
    for name in ("ops", "chat", "bridge") + (("am",) if AM else ()):
        c.ok(any(("webhook %s" % name in ln or "alertmanager %s" % name in ln) and "HTTP 20" in ln
                 for ln in out.splitlines()), "the output names %s with its answer:\n%s" % (name, out))
    got = fake.bus_events()
    c.eq(len(got), 1, "the bus recorded exactly one entry: %s" % got)
    if got:
        ev = got[0]
        c.eq(bus_line(out), ["  eventbridge bus (jobs-bus): accepted, EventId %s" % ev["EventId"]
                             + bus_line(out)[0].split(ev["EventId"], 1)[-1]] if bus_line(out) else ["(none)"],
             "the output says the bus accepted it, with its EventId:\n" + out)
        c.ok(bus_line(out) and " (HTTP 200 in " in bus_line(out)[0], "and the HTTP status:\n" + out)
        c.eq(ev["EventBusName"], "jobs-bus", "EventBusName is the configured bus")
        c.eq(ev["Source"], "com.example.test", "Source is the configured source")
        c.eq(ev["DetailType"], "Audience Generation Job Status Change", "the detail type of a status change")
        c.eq(ev["Detail"].get("statusDetails", {}).get("statusCode"), "JOBWATCHD_TEST_ALERT",
             "the Detail is marked as a test as the webhook body is: %s" % ev["Detail"])
        c.eq(ev["Detail"].get("type"), "job.status_changed", "detail.type as for a real event")
        c.eq(ev["Detail"].get("status"), "CREATE_FAILED", "detail.status")
        c.ok(len(ev["Resources"]) == 1 and ":000000000000:" in ev["Resources"][0],
             "Resources is the made-up ARN: %s" % ev["Resources"])
    st = fake.stats()
    c.eq(set(st.get("sigv4", {})), {"ok"}, "the PutEvents signature verified (signing name events, body hash)")
    puts = fake.requests("putevents")
    c.eq(len(puts), 1, "one PutEvents request")
    c.ok(puts and puts[0]["headers"]["credential_scope"].endswith("/eu-west-1/events/aws4_request"),
         "scope DATE/eu-west-1/events/aws4_request: %s" % (puts[0]["headers"] if puts else None))
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
    r = run(["--hook", "chat"])
    c.eq(r.returncode, 1, "exit 1 when a hook fails")
    c.ok("webhook chat (slack): FAILED: HTTP 503" in r.stdout, "says HTTP 503:\n" + r.stdout)
    c.ok("ops" not in r.stdout and "journal" not in r.stdout and "eventbridge" not in r.stdout,
         "only the named hook:\n" + r.stdout)
    c.eq(len(fake.bus_events()), 1, "--hook chat put nothing on the bus")
    r = run(["--hook", "nope"], timeout=30)
    c.eq(r.returncode, 1, "an unknown hook is an error")
    c.ok("no such hook" in r.stderr, "and says so: " + r.stderr)

    # The bus only.
    n_posts = len(recv.posts())
    r = run(["--hook", "bus"])
    c.eq(r.returncode, 0, "--hook bus: exit 0 when the bus took it:\n%s%s" % (r.stdout, r.stderr))
    c.ok(len(bus_line(r.stdout)) == 1 and "accepted, EventId " in bus_line(r.stdout)[0],
         "--hook bus: accepted:\n" + r.stdout)
    c.ok("webhook" not in r.stdout and "journal" not in r.stdout, "--hook bus: only the bus:\n" + r.stdout)
    c.eq(len(recv.posts()), n_posts, "--hook bus: no webhook request")
    c.eq(len(fake.bus_events()), 2, "--hook bus: one more entry on the bus")

    # The bus refusing the entry.
    fake.refuse_entries(1, "InvalidArgument", "Parameter Detail is not valid (injected)")
    r = run(["--hook", "bus"])
    c.eq(r.returncode, 1, "exit 1 when the bus refuses the entry:\n" + r.stdout)
    c.eq(bus_line(r.stdout), ["  eventbridge bus (jobs-bus): FAILED: entry refused: InvalidArgument: "
                              "Parameter Detail is not valid (injected)"], "prints the ErrorCode:\n" + r.stdout)
    fake.refuse_entries(0)
    c.eq(len(fake.bus_events()), 2, "a refused entry is not on the bus")

    # A wrong secret: the bus refuses the request's signature.
    bad = "jwWrongSecret/DoNotPrintMe+0000000000000"
    r = run([], e=dict(env, AWS_SECRET_ACCESS_KEY=bad))
    c.eq(r.returncode, 1, "exit 1 with a wrong secret:\n" + r.stdout)
    c.ok(len(bus_line(r.stdout)) == 1 and "FAILED: request failed: HTTP 403 " in bus_line(r.stdout)[0]
         and "Exception" in bus_line(r.stdout)[0], "says the request failed, HTTP 403 and the error type:\n"
         + r.stdout)
    c.ok(any("webhook ops" in ln and "HTTP 20" in ln for ln in r.stdout.splitlines()),
         "the webhooks still get it:\n" + r.stdout)
    c.eq(len(fake.bus_events()), 2, "a request with a bad signature puts nothing on the bus")

    # No credentials at all.
    r = run(["--hook", "bus"], e=dict(env, AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY=""))
    c.eq(r.returncode, 1, "exit 1 without credentials:\n" + r.stdout)
    c.ok(len(bus_line(r.stdout)) == 1 and "FAILED: no AWS credentials: no credentials found" in
         bus_line(r.stdout)[0], "says there are no credentials, and why:\n" + r.stdout + r.stderr)
    c.eq(len(fake.requests("putevents")), 4, "no request without credentials (2 accepted, 1 refused, 1 bad)")

    for o in outputs:
        for secret in (jw.SECRET, bad):
            c.ok(secret not in o, "no secret in the output:\n" + o)
    c.done()


jw.main(test)
