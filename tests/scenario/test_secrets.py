#!/usr/bin/python3
"""Secret hygiene: scenarios run with distinctive secret values -- AWS access key id, secret key and session
token (jwtest's AKID/SECRET/TOKEN), a webhook signing secret, an Authorization header from headers_file,
a container-credentials authorization token, and the keys a credential_process hands out -- and everything
the daemon produced is searched for them: stderr of every run (including API faults, webhook failures,
a failed reload, SIGABRT crash output), the state database file and its WAL (raw bytes), webhook bodies and
headers (the Authorization header must be sent -- to the receiver only), `--check-config` output and
`jobwatchd get` output and errors.  None may contain a secret."""

import base64
import glob
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "fake"))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402
from creds_server import FakeCredsServer  # noqa: E402

WH_KEY = b"jw-distinctive-webhook-key-DoNotLog-000"
WH_SECRET = "whsec_" + base64.b64encode(WH_KEY).decode()
AUTH_VALUE = "Bearer jwAuthHeaderValue-DoNotLog-1234567890"
CONTAINER_TOKEN = "jwContainerToken-DoNotLog-abcdef987654"
PROC_SECRET = "jwProcessSecret/DoNotLog+0000000000000000"
PROC_TOKEN = "jwProcessToken//DoNotLog+AAAAAAAAAAAA=="


def secrets_in(data, extra=()):
    """Which secret values (or recognisable parts) appear in data (bytes or str)."""
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    needles = {"AWS secret key": jw.SECRET, "session token": jw.TOKEN, "webhook secret": WH_SECRET,
               "webhook key (base64 part)": WH_SECRET[len("whsec_"):], "webhook key (raw)": WH_KEY.decode(),
               "Authorization header": AUTH_VALUE, "Authorization token part": AUTH_VALUE.split()[1],
               "container token": CONTAINER_TOKEN, "process secret": PROC_SECRET, "process token": PROC_TOKEN}
    needles.update(dict(extra))
    return sorted(name for name, v in needles.items() if v and v.encode() in data)


def test(t):
    c = jw.Checks()

    def clean(what, data, extra=()):
        found = secrets_in(data, extra)
        c.ok(not found, "%s contains %s" % (what, found))

    # --- 1. Static session credentials, signing webhook with an Authorization header, API and webhook faults.
    scenario, kinds = lc.build(10, step_seconds=1.5, prefix="sec")
    scenario["faults"] = [{"kind": k, "op": "get", "from": 0.5, "to": 3, "rate": 0.1}
                          for k in ("500", "access_denied", "expired_token", "malformed", "validation")]
    fake = t.start_fake(scenario, verify_sigv4=True, credentials=[(jw.AKID, jw.SECRET, jw.TOKEN)])
    rcv = t.start_receiver(secret=WH_SECRET, script=[{"status": 503}, {"status": 401, "body": "who are you"},
                                                     {"status": 200}, {"status": 500, "body": "oops"}])
    t.write("wh.secret", WH_SECRET + "\n", mode=0o600)
    t.write("wh.headers", "Authorization: %s\nX-Team: ops\n" % AUTH_VALUE, mode=0o600)
    db = t.path("state.db")
    cfg = lc.daemon_config(fake, db, [fake.arn(j) for j in kinds], extra={
        'webhook "ops"': {"url": rcv.url + "/hook", "secret_file": t.path("wh.secret"),
                          "headers_file": t.path("wh.headers")}})
    env = dict(jw.aws_env(token=jw.TOKEN), JW_WEBHOOK_TIME_SCALE="0.001")
    d = t.start_daemon(cfg, env=env, args=["--log-level", "debug"])
    jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1")
    lc.wait_truth(db, fake, kinds, 40, scenario)  # sequences are test_faults_*'s business

    def all_delivered():
        rows = jw.sqlite_rows(db, "SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state")
        return rows and all(r["state"] in ("done", "parked") for r in rows)
    jw.wait_until(all_delivered, 40, "every delivery settled")
    # A reload that fails (broken headers file) must not echo the file.
    t.write("wh.headers", "Authorization %s\n" % AUTH_VALUE, mode=0o600)
    d.reload()
    time.sleep(0.5)
    t.write("wh.headers", "Authorization: %s\nX-Team: ops\n" % AUTH_VALUE, mode=0o600)
    # Crash output: SIGABRT (no core pattern involved; whatever the daemon or libc prints goes to stderr).
    d.kill(signal.SIGABRT)
    rc = d.wait(15)
    c.ok(rc != 0, "SIGABRT ended the daemon (rc %s)" % rc)
    clean("daemon stderr (debug level, faults, failed reload, SIGABRT)", d.stderr_text())
    clean("daemon stdout", d.stdout_text())
    for f in glob.glob(db + "*"):
        with open(f, "rb") as fh:
            clean("state file %s" % os.path.basename(f), fh.read())
    posts = rcv.posts()
    c.ok(posts, "webhooks were sent")
    for p in posts:
        h = {k.lower(): v for k, v in p["headers"].items()}
        c.eq(h.get("authorization"), AUTH_VALUE, "Authorization header sent to the receiver")
        c.ok(p.get("verified") is True, "signed with the webhook secret")
        rest = dict(p)
        rest["headers"] = {k: v for k, v in p["headers"].items() if k.lower() != "authorization"}
        clean("webhook POST (body and other headers)", json.dumps(rest))
    # The API requests carried the token (the fake verified them) -- and only there.
    c.ok(any(r.get("sigv4") == "ok" for r in fake.requests()), "requests were signed with the session token")

    # --- 2. --check-config and `get` (success and failure) with the same secrets around.
    r = t.run([jw.daemon_path(), "--check-config", "-c", d.config_path], env=env)
    clean("--check-config output", r.stdout + r.stderr)
    t.write("bad.headers", "Authorization=%s\n" % AUTH_VALUE, mode=0o644)
    bad = dict(cfg)
    bad['webhook "ops"'] = dict(cfg['webhook "ops"'], headers_file=t.path("bad.headers"))
    bad['webhook "two"'] = {"url": "http://example.invalid/x", "secret_file": t.path("wh.secret")}
    t.write("bad.conf", jw.ini_text(bad), mode=0o644)
    os.chmod(t.path("wh.secret"), 0o644)  # readable by others: a warning, never the content
    for strict in ([], ["--strict"]):
        r = t.run([jw.daemon_path(), "--check-config", "-c", t.path("bad.conf")] + strict, env=env)
        c.ok(r.returncode != 0 or strict == [], "bad config rejected (%s)" % strict)
        clean("--check-config %s output on a broken config" % strict, r.stdout + r.stderr)
    os.chmod(t.path("wh.secret"), 0o600)
    arn = fake.arn(list(kinds)[0])
    r = t.run([jw.daemon_path(), "get", "-c", d.config_path, arn], env=env)
    c.eq(r.returncode, 0, "get works (%s)" % r.stderr[-300:])
    clean("get output", r.stdout + r.stderr)
    wrong = dict(env, AWS_SECRET_ACCESS_KEY=jw.SECRET[::-1])
    r = t.run([jw.daemon_path(), "get", "-c", d.config_path, arn], env=wrong)
    c.ok(r.returncode != 0, "get with a wrong key fails")
    clean("get error output (wrong key)", r.stdout + r.stderr, extra=[("reversed secret", jw.SECRET[::-1])])
    fake.add_fault("expired_token", op="get", duration=30)
    r = t.run([jw.daemon_path(), "get", "-c", d.config_path, arn], env=env)
    clean("get error output (expired token)", r.stdout + r.stderr)
    fake.clear_faults()

    # --- 3. Container credentials with an authorization token, and a credential_process.
    with FakeCredsServer() as cs:
        cs.config(container_token=CONTAINER_TOKEN, expiry_seconds=3600)
        fake2 = t.start_fake({"jobs": [{"id": "c1", "steps": [{"at": 0, "status": "CREATE_IN_PROGRESS"}]}]},
                             name="fake2")
        db2 = t.path("state2.db")
        env2 = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": cs.url + "/container/creds",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": CONTAINER_TOKEN, "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_CONFIG_FILE": t.path("none"), "AWS_SHARED_CREDENTIALS_FILE": t.path("none")}
        d2 = t.start_daemon(lc.daemon_config(fake2, db2, [fake2.arn("c1")]), env=env2, name="d-container",
                            args=["--log-level", "debug"])
        jw.wait_until(lambda: len(lc.stored_events(db2)) >= 1, 15, "container creds work")
        cs.config(container_token="something-else")  # the daemon's token is now refused
        cs.fail("container", 2, 500, body="error mentioning nothing")
        d2.stop()
        clean("container daemon stderr", d2.stderr_text())
        with open(db2, "rb") as fh:
            clean("container state file", fh.read())

    script = t.write("proc.sh", "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKIDJWPROCESS0001\", "
                     "\"SecretAccessKey\": \"%s\", \"SessionToken\": \"%s\"}'\necho \"diagnostic %s\" >&2\n"
                     % (PROC_SECRET, PROC_TOKEN, "noise"), mode=0o700)
    t.write("aws-config", "[default]\ncredential_process = %s\n" % script, mode=0o600)
    db3 = t.path("state3.db")
    fake3 = t.start_fake({"jobs": [{"id": "p1", "steps": [{"at": 0, "status": "ACTIVE"}]}]}, verify_sigv4=True,
                         credentials=[("AKIDJWPROCESS0001", PROC_SECRET, PROC_TOKEN)], name="fake3")
    env3 = {"AWS_CONFIG_FILE": t.path("aws-config"), "AWS_SHARED_CREDENTIALS_FILE": t.path("none"),
            "AWS_EC2_METADATA_DISABLED": "true"}
    d3 = t.start_daemon(lc.daemon_config(fake3, db3, [fake3.arn("p1")]), env=env3, name="d-process",
                        args=["--log-level", "debug"])
    jw.wait_until(lambda: len(lc.stored_events(db3)) >= 1, 15, "credential_process creds work")
    d3.kill(signal.SIGABRT)
    d3.wait(15)
    clean("credential_process daemon stderr (with SIGABRT)", d3.stderr_text())
    for f in glob.glob(db3 + "*"):
        with open(f, "rb") as fh:
            clean("credential_process state file", fh.read())
    c.done()


jw.main(test)
