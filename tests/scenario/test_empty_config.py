"""The shipped configuration names nothing to watch (a fresh package install): the daemon runs, is READY,
says in STATUS= and its log that it watches nothing and what to add — and needs no AWS region for that. Without
the idle mode the daemon exits 1 ("no AWS region") and systemd's Restart= loops. With jobs but no region anywhere,
the region the ARNs name is used."""

import os
import sys

sys.path.insert(0, os.path.join(os.environ["JW_SOURCE_DIR"], "tests", "lib"))
import jwtest as jw  # noqa: E402


def test(t):
    shipped = open(os.path.join(jw.SOURCE_DIR, "config", "jobwatchd.conf"), encoding="utf-8").read()
    jw.check("\nregion" not in shipped and "\narn" not in shipped, "the shipped config is not empty any more")
    state = "[state]\npath = %s\n" % t.path("state.db")
    d = t.start_daemon(shipped + "\n" + state)  # no AWS_* at all: no region, no credentials
    jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1 with the shipped configuration")
    status = [a for a in d.notify_assignments() if a.startswith("STATUS=")]
    jw.check(status and status[-1].startswith("STATUS=watching nothing: %s names no job" % d.config_path),
             "STATUS= does not say it watches nothing: %s" % status)
    err = d.stderr_text()
    jw.check("nothing to watch: add [jobs] arn = ... or a [discover] section to %s" % d.config_path in err,
             "no log line saying what to add:\n" + err)
    jw.check("no AWS region set" in err, "no notice about the missing region:\n" + err)
    jw.check(d.alive(), "the daemon exited")
    d.stop()

    # Jobs but no region anywhere ([aws], AWS_REGION, profile): the region the ARNs name is used.
    fake = t.start_fake({"jobs": [{"id": "j1", "steps": [{"at": 0, "status": "CREATE_IN_PROGRESS"}]}]},
                        verify_sigv4=True)
    env = jw.aws_env()
    env.pop("AWS_REGION", None)
    env["AWS_DEFAULT_REGION"] = ""
    d = t.start_daemon({"aws": {"endpoint": fake.url}, "jobs": {"arn": [fake.arn("j1")]},
                        "poll": {"interval": "300ms"}, "state": {"path": t.path("state2.db")}},
                       env=env, name="jobwatchd-arn-region")
    jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1 with the region from the ARNs")
    jw.wait_until(lambda: any(r.get("sigv4") == "ok" for r in fake.requests("get")), 15,
                  "a Get signed for the ARNs' region")
    jw.check("using us-east-1, the region of the configured jobs" in d.stderr_text(), "says where the region came from")
    d.stop()


jw.main(test)
