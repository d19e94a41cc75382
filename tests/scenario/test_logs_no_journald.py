"""Outside systemd, transitions still show: with no journald (its socket hidden by a tmpfs in a private mount
namespace), `[journal] enabled = yes` writes each event to stderr and only then marks it delivered; the daemon says
once that journald is not running; every stderr line has a timestamp; `--log-format json` makes every line one JSON
object, events carrying the journal fields. (libsystemd alone drops entries without journald and reports success:
before this, the events were marked done and were nowhere.)"""

import json
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.join(os.environ["JW_SOURCE_DIR"], "tests", "lib"))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402
import notifylib as nl  # noqa: E402

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z jobwatchd\[[a-z]+\]: ")


def run_one(t, c, fmt):
    fake = t.start_fake({"jobs": [{"id": "j-" + fmt, "steps": [{"at": 0, "status": "CREATE_IN_PROGRESS"}]}]},
                        name="fake-" + fmt)
    arn = fake.arn("j-" + fmt)
    db = t.path("state-%s.db" % fmt)
    cfg = lc.daemon_config(fake, db, [arn])
    cfg["journal"] = {"enabled": True}
    conf = t.write("%s.conf" % fmt, jw.ini_text(cfg))
    # A private mount namespace where /run/systemd/journal is an empty tmpfs: no journald socket there.
    wrapper = ("mkdir -p /run/systemd/journal 2>/dev/null; mount -t tmpfs tmpfs /run/systemd/journal && "
               "exec \"$@\"")
    argv = ["unshare", "--mount"] + ([] if os.geteuid() == 0 else ["--user", "--map-root-user"]) + \
        ["sh", "-c", wrapper, "sh", jw.daemon_path(), "run", "-c", conf, "--log-target", "journal",
         "--log-format", fmt]
    env = dict(os.environ)
    env.update(jw.aws_env())
    env.pop("NOTIFY_SOCKET", None)
    p = jw.Proc(t, "jobwatchd-" + fmt, argv, env=env)
    jw.wait_until(lambda: any(e["type"] == "job.discovered" for e in nl.events(db)), 20, "discovered (%s)" % fmt)
    fake.set_job(arn, "CREATE_FAILED", statusDetails={"statusCode": "X_CODE", "message": "gone wrong"})
    jw.wait_until(lambda: nl.sink_states(db, "journal").get("done", 0) >= 2, 20,
                  "both events delivered to the journal sink (%s)" % fmt)
    p.stop()
    lines = [ln for ln in p.stderr_text().splitlines() if ln.strip()]
    c.ok(sum("journald is not running" in ln for ln in lines) == 2,
         "%s: said once for the log and once for events: %s" % (fmt, [ln for ln in lines if "journald" in ln]))
    if fmt == "text":
        bad = [ln for ln in lines if not TS.match(ln)]
        c.ok(not bad, "text: every line starts with a timestamp: %s" % bad[:3])
        ev = [ln for ln in lines if "EVENT_TYPE=job.status_changed" in ln]
        c.ok(ev and "CREATE_FAILED" in ev[0] and ("JOB_ARN=" + arn) in ev[0], "text: the failure on stderr: %s" % ev)
    else:
        objs = []
        for ln in lines:
            try:
                objs.append(json.loads(ln))
            except ValueError:
                c.ok(False, "json: not a JSON line: %r" % ln)
        c.ok(all({"time", "level", "message"} <= set(o) for o in objs), "json: time, level, message on every line")
        ev = [o for o in objs if o.get("EVENT_TYPE") == "job.status_changed"]
        c.ok(ev and ev[0].get("JOB_STATUS") == "CREATE_FAILED" and ev[0].get("JOB_ARN") == arn and
             ev[0].get("JOB_STATUS_CODE") == "X_CODE" and ev[0].get("EVENT_ID") and ev[0]["level"] == "err",
             "json: the failure with its journal fields: %s" % ev)
    stored = [e["id"] for e in nl.events(db)]
    printed = " ".join(lines)
    c.ok(all(i in printed for i in stored), "%s: every stored event was printed" % fmt)


def test(t):
    if not shutil.which("unshare"):
        jw.skip("unshare (util-linux) is missing")
    c = jw.Checks()
    run_one(t, c, "text")
    run_one(t, c, "json")
    c.done()


jw.main(test)
