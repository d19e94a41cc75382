#!/usr/bin/python3
"""credential_process gets the environment the AWS SDKs give it -- the daemon's, so HOME, PATH, AWS_* and
proxies reach the script -- but not systemd's service-protocol variables (NOTIFY_SOCKET, WATCHDOG_*,
LISTEN_*): with them the script could speak for the daemon to the service manager (issue #20, item 6)."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402

KEYS = ("AKIDPROCENV00000001", "procEnvSecret/+=000000000000000")
SCRIPT = """#!/usr/bin/python3
import json, os, sys
json.dump(dict(os.environ), open(sys.argv[1], "w"))
print(json.dumps({"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s"}))
""" % KEYS


def test(t):
    fake = t.start_fake({"jobs": [{"id": "j1", "steps": [{"at": 0, "status": "ACTIVE"}]}]}, verify_sigv4=True,
                        credentials=[KEYS])
    script = t.write("proc.py", SCRIPT, mode=0o700)
    dump = t.path("env.json")
    t.write("aws-config", "[default]\ncredential_process = %s %s\n" % (script, dump), mode=0o600)
    env = {"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": t.path("aws-config"),
           "AWS_SHARED_CREDENTIALS_FILE": t.path("no-credentials"), "JW_PROC_ENV_MARK": "kept",
           "WATCHDOG_PID": "1", "LISTEN_FDS": "0", "LISTEN_PID": "1"}
    cfg = {
        "aws": {"region": jw.REGION, "endpoint": fake.url, "timeout": "5s"},
        "poll": {"interval": "1s"},
        "jobs": {"arn": [fake.arn("j1")]},
        "state": {"path": t.path("state.db")},
        "journal": {"enabled": False},
    }
    d = t.start_daemon(cfg, env=env, watchdog_usec=30000000)
    jw.wait_until(lambda: d.notify_has("READY=1"), 20, "READY=1")
    jw.wait_until(lambda: [r for r in fake.requests("get") if r.get("sigv4") == "ok"], 20,
                  "a request signed with the process's keys")
    got = json.load(open(dump))
    d.stop()
    for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID"):
        jw.check(name not in got, "credential_process got %s" % name)
    jw.check_eq(got.get("JW_PROC_ENV_MARK"), "kept", "the daemon's environment reaches the script")
    jw.check_eq(got.get("AWS_CONFIG_FILE"), t.path("aws-config"), "AWS_CONFIG_FILE")
    jw.check("PATH" in got, "PATH")


jw.main(test)
