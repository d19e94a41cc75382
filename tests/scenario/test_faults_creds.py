#!/usr/bin/python3
"""Fault matrix, credentials: on a fleet of jobs moving through real lifecycles,
  1. 403 ExpiredTokenException: the daemon drops its credentials and fetches new ones (credential_process
     script rotating through key sets the fake accepts), and the requests after it are signed with the new
     key; no false event, no missed one.
  2. the credential endpoint (container provider, with an authorization token) goes down for longer than
     the credentials live, then comes back: the daemon reports it, polls nothing unsigned, records no false
     event, and after the endpoint is back reaches every job's true state (a refresh happened).
JW_CREDS_REFRESH_SCALE=0.01 shrinks the refresh windows (15 min / 5 min -> 9 s / 3 s)."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "fake"))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402
from creds_server import FakeCredsServer  # noqa: E402

PROC_KEYS = [("AKIDJWPROC%08d" % i, "jwProcSecret/%d+DoNotLogMe0000000000000" % i, "jwProcToken%d//DoNotLog==" % i)
             for i in range(1, 6)]

SCRIPT = r'''#!/usr/bin/python3
import datetime, json, os
here = os.path.dirname(os.path.abspath(__file__))
keys = json.load(open(os.path.join(here, "proc-keys.json")))
p = os.path.join(here, "proc-count")
n = int(open(p).read()) + 1 if os.path.exists(p) else 1
open(p, "w").write(str(n))
k = keys[min(n, len(keys)) - 1]
exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
print(json.dumps({"Version": 1, "AccessKeyId": k[0], "SecretAccessKey": k[1], "SessionToken": k[2],
                  "Expiration": exp.strftime("%Y-%m-%dT%H:%M:%SZ")}))
'''


def base_env(t, tag):
    """No ambient credentials: the AWS files are per case (absent unless the case writes them)."""
    return {"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": t.path("aws-config-" + tag),
            "AWS_SHARED_CREDENTIALS_FILE": t.path("aws-credentials-" + tag), "JW_CREDS_REFRESH_SCALE": "0.01"}


def case_expired_token(t, c):
    import json
    step = 3.0
    scenario, kinds = lc.build(15, step_seconds=step, prefix="exp")
    # Three ExpiredTokenException answers at scenario 2.5 s (between steps).
    scenario["faults"] = [{"kind": "expired_token", "op": "get", "from": 2.5, "count": 3}]
    fake = t.start_fake(scenario, verify_sigv4=True, credentials=PROC_KEYS, name="fake-exp")
    t.write("proc-keys.json", json.dumps(PROC_KEYS), mode=0o600)
    script = t.write("proc.py", SCRIPT, mode=0o700)
    t.write("aws-config-exp", "[default]\ncredential_process = %s\n" % script, mode=0o600)
    db = t.path("exp.db")
    d = t.start_daemon(lc.daemon_config(fake, db, [fake.arn(j) for j in kinds]), env=base_env(t, "exp"), name="d-exp")
    jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1")
    jw.wait_until(lambda: fake.stats()["fault"].get("expired_token", 0) >= 3, 20, "expired-token answers served")
    lc.wait_truth(db, fake, kinds, 40, scenario)
    time.sleep(0.8)
    c.ok(d.alive(), "daemon alive after ExpiredTokenException")
    d.stop()
    exact, partial = lc.check_fleet(db, fake, scenario, kinds, c=c)
    print("expired token: exact %d, visible-only %d" % (exact, partial))
    runs = int(open(t.path("proc-count")).read())
    c.ok(runs >= 2, "credential_process run again after ExpiredTokenException (runs: %d)" % runs)
    creds_used = [r.get("credential") for r in fake.requests("get") if r.get("sigv4") == "ok"]
    c.ok(creds_used and creds_used[0] == 0 and creds_used[-1] is not None and creds_used[-1] >= 1,
         "requests after the refresh signed with a new key (first %s, last %s)" % (creds_used[:1], creds_used[-1:]))
    bad = [r for r in fake.requests("get") if r.get("sigv4") not in (None, "ok")]
    c.ok(not bad, "no request rejected by the SigV4 verifier: %s" % bad[:2])


def case_endpoint_down(t, c):
    token = "jwContainerAuthToken-DoNotLogMe-7777"
    with FakeCredsServer() as cs:
        cs.config(expiry_seconds=12, container_token=token)
        step = 4.0
        scenario, kinds = lc.build(15, step_seconds=step, prefix="cdown")
        fake = t.start_fake(scenario, name="fake-cdown")
        env = base_env(t, "cdown")
        env.update({"AWS_CONTAINER_CREDENTIALS_FULL_URI": cs.url + "/container/creds",
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN": token})
        db = t.path("cdown.db")
        d = t.start_daemon(lc.daemon_config(fake, db, [fake.arn(j) for j in kinds]), env=env, name="d-cdown")
        jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1")
        jw.wait_until(lambda: len(fake.requests("get")) > 15, 15, "first polls")
        # Down for 14 s: longer than the 12 s credentials live.
        cs.fail("container", 1000000, 503)
        down_at = time.monotonic()
        jw.wait_until(lambda: any(e["verdict"].startswith("injected") for e in cs.log("container")), 15,
                      "a refresh attempt against the dead endpoint")
        while time.monotonic() - down_at < 14:
            c.ok(d.alive(), "daemon alive while the credential endpoint is down") or jw.fail("died")
            time.sleep(0.5)
        cs.fail("container", 0, 503)
        issued_before = cs.issued()
        lc.wait_truth(db, fake, kinds, 40, scenario)
        time.sleep(0.8)
        c.ok(d.alive(), "daemon alive after the endpoint came back")
        d.stop()
        c.ok(cs.issued() > issued_before or cs.issued() >= 2, "credentials fetched again (issued %d)" % cs.issued())
        exact, partial = lc.check_fleet(db, fake, scenario, kinds, c=c)
        print("credential endpoint down: exact %d, visible-only %d" % (exact, partial))
        err = d.stderr_text()
        c.ok("503" in err and "container" in err.lower(), "the credential failure is logged")
        c.ok(token not in err, "container token never logged")
        unsigned = [r for r in fake.requests("get") if r["headers"].get("authorization") != "yes"]
        c.ok(not unsigned, "no unsigned request while credentials were unavailable (%d)" % len(unsigned))


def test(t):
    c = jw.Checks()
    case_expired_token(t, c)
    case_endpoint_down(t, c)
    c.done()


if __name__ == "__main__":
    jw.main(test)
