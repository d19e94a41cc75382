"""format = alertmanager against Debian's real Alertmanager (prometheus-alertmanager), two of them (an HA pair).

- a failed job's alert (AudienceGenerationJobFailed, its job_arn label) is active in both Alertmanagers;
- it is still active after Alertmanager's resolve_timeout (3 s here): the daemon re-sends it with endsAt ahead;
- a stuck job's alert resolves when the job moves (it leaves GET /api/v2/alerts);
- a restart of the daemon neither drops nor duplicates the active alert (same fingerprint, same startsAt);
- an Alertmanager down for a while gets the alert once it is back.
Skipped where prometheus-alertmanager is not installed (scripts/deps.sh --test installs it).
"""

import datetime
import json
import os
import re
import shutil
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.environ["JW_SOURCE_DIR"], "tests", "lib"))
import jwtest as jw  # noqa: E402
import notifylib as nl  # noqa: E402

AM = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


class Alertmanager:
    def __init__(self, t, name, port=None):
        self.t, self.name = t, name
        self.port = port or jw.free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.cfg = t.write(name + ".yml", "global:\n  resolve_timeout: 3s\nroute:\n  receiver: blackhole\n"
                           "  group_wait: 1s\nreceivers:\n  - name: blackhole\n")
        self.start()

    def start(self):
        store = self.t.path(self.name + "-data")
        os.makedirs(store, exist_ok=True)
        self.proc = jw.Proc(self.t, self.name, [
            AM, "--config.file=" + self.cfg, "--storage.path=" + store,
            "--web.listen-address=127.0.0.1:%d" % self.port, "--cluster.listen-address=", "--log.level=warn"])
        jw.wait_until(self.ready, 20, "%s ready" % self.name)

    def ready(self):
        try:
            with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def alerts(self, alertname=None):
        with urllib.request.urlopen(self.url + "/api/v2/alerts", timeout=5) as r:
            got = json.loads(r.read())
        return [a for a in got if alertname is None or a["labels"].get("alertname") == alertname]

    def stop(self):
        self.proc.stop()


def test(t):
    if not AM:
        jw.skip("prometheus-alertmanager is not installed (scripts/deps.sh --test installs it)")
    c = jw.Checks()
    am1, am2 = Alertmanager(t, "am1"), Alertmanager(t, "am2")
    fake = t.start_fake({"jobs": []})
    db = t.path("state.db")
    fails, slow = fake.arn("fails"), fake.arn("slow")
    # A third "Alertmanager" records what is sent: the path, the headers_file's Authorization, the body.
    # Its first answer is a 400, as Alertmanager gives for an alert it will never take: logged, counted on
    # /metrics, not retried for that batch.
    recv = t.start_receiver(script=[{"status": 400, "body": "bad alert: test"}])
    headers = t.write("am.headers", "Authorization: Bearer jwAmTestToken42\n", mode=0o600)
    hook = {"url": "%s %s/ %s/relay" % (am1.url, am2.url, recv.url), "format": "alertmanager",
            "resend_interval": "1s", "timeout": "2s", "headers_file": headers}
    port = jw.free_port()
    token = t.write("http.token", "jwAmMetricsToken\n", mode=0o600)
    cfg = nl.config(fake, db, [fails, slow], {"am": hook}, interval="300ms",
                    extra={"poll": {"stuck_after": "2s", "failed_interval": "300ms"},
                           "http": {"listen": "127.0.0.1:%d" % port, "token_file": token}})

    def metrics():
        req = urllib.request.Request("http://127.0.0.1:%d/metrics" % port,
                                     headers={"Authorization": "Bearer jwAmMetricsToken"})
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.read().decode()
    d = t.start_daemon(cfg, env=nl.daemon_env())
    jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1")
    fake.set_job("fails", "CREATE_IN_PROGRESS", name="weekly-lookalike")
    fake.set_job("slow", "CREATE_IN_PROGRESS", name="slow-one")
    jw.wait_until(lambda: any(e["arn"] == fails for e in nl.events(db)), 20, "fails discovered")
    fake.set_job("fails", "CREATE_FAILED", statusDetails={"statusCode": "INSUFFICIENT_SEED", "message": "too few"})

    # 1. The failed job's alert is active in both, with the identity labels and the details as annotations.
    for am in (am1, am2):
        got = jw.wait_until(lambda: am.alerts("AudienceGenerationJobFailed"), 20, "%s has the alert" % am.name)
        a = got[0]
        c.eq(len(got), 1, "%s: one failed alert" % am.name)
        c.eq(a["labels"].get("job_arn"), fails, "%s: job_arn label" % am.name)
        c.eq(sorted(a["labels"]), ["alertname", "collaboration_id", "job_arn", "job_name", "region", "severity"],
             "%s: identity labels" % am.name)
        c.eq(a["labels"].get("job_name"), "weekly-lookalike", "%s: job_name" % am.name)
        c.eq(a["annotations"].get("status"), "CREATE_FAILED", "%s: status annotation" % am.name)
        c.eq(a["annotations"].get("previous_status"), "CREATE_IN_PROGRESS", "%s: previous_status" % am.name)
        c.eq(a["annotations"].get("status_code"), "INSUFFICIENT_SEED", "%s: status_code" % am.name)
        c.eq(a["status"]["state"], "active", "%s: active" % am.name)
        c.ok(a["generatorURL"].startswith("https://us-east-1.console.aws.amazon.com/cleanrooms/"),
             "%s: generatorURL %s" % (am.name, a["generatorURL"]))
    first = am1.alerts("AudienceGenerationJobFailed")[0]
    m = metrics()
    c.ok('jobwatchd_alertmanager_alerts{hook="am",state="active"} 1' in m or
         'jobwatchd_alertmanager_alerts{hook="am",state="active"} 2' in m, "/metrics: active alerts")
    c.ok(re.search(r'jobwatchd_alertmanager_posts_total\{hook="am",outcome="rejected"\} [1-9]', m),
         "/metrics: the 400 counted as rejected")
    c.ok(re.search(r'jobwatchd_alertmanager_posts_total\{hook="am",outcome="sent"\} [1-9]', m), "/metrics: sent")
    c.ok("refused" in d.stderr_text() and "HTTP 400" in d.stderr_text(), "the 400 is logged")
    posts = recv.posts()
    c.ok(posts and all(p["path"] == "/relay/api/v2/alerts" for p in posts), "POST {url}/api/v2/alerts")
    c.ok(posts and all({k.lower(): v for k, v in p["headers"].items()}.get("authorization") == "Bearer jwAmTestToken42"
                       for p in posts), "the headers_file's Authorization on every POST")
    body = json.loads(posts[-1]["body"]) if posts else None
    c.ok(isinstance(body, list) and body and all({"labels", "annotations", "startsAt", "endsAt", "generatorURL"}
                                                 <= set(a) for a in body), "a JSON array of alerts: %s" % body)
    if body:
        ahead = (nl.parse_rfc3339(body[0]["endsAt"]) -
                 datetime.datetime.fromisoformat(posts[-1]["time"])).total_seconds()
        c.ok(3 < ahead <= 5,
             "an active alert's endsAt is resend_interval x 4 ahead: %s at %s" % (body[0]["endsAt"], posts[-1]["time"]))

    # 2. Still active well past resolve_timeout (3 s): the daemon re-sends it.
    jw.wait_until(lambda: am1.alerts("AudienceGenerationJobStuck"), 20, "the stuck alert fires")
    import time
    time.sleep(6)
    got = am1.alerts("AudienceGenerationJobFailed")
    c.ok(got and got[0]["status"]["state"] == "active", "still active after resolve_timeout: %s" % got)

    # 3. Stuck -> moving resolves (the alert leaves the list of alerts).
    fake.set_job("slow", "ACTIVE")
    for am in (am1, am2):
        jw.wait_until(lambda: not am.alerts("AudienceGenerationJobStuck"), 20,
                      "%s: the stuck alert resolved" % am.name)
    c.ok(am1.alerts("AudienceGenerationJobFailed"), "the failed alert stays while the job is failed")

    # 4. Restart: the same alert, neither dropped nor doubled.
    d.stop()
    am2.stop()  # ... and one Alertmanager is away meanwhile (it loses nothing it had: storage kept)
    d = t.start_daemon(cfg, env=nl.daemon_env(), name="jobwatchd-2")
    jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1 after restart")
    time.sleep(4)
    got = am1.alerts("AudienceGenerationJobFailed")
    c.eq(len(got), 1, "after the restart: still one failed alert")
    if got:
        c.eq(got[0]["fingerprint"], first["fingerprint"], "same alert (fingerprint)")
        c.eq(got[0]["startsAt"], first["startsAt"], "same startsAt")
        c.eq(got[0]["status"]["state"], "active", "active")
    c.ok(not am1.alerts("AudienceGenerationJobStuck"), "the resolved stuck alert did not come back")
    am2.start()
    got = jw.wait_until(lambda: am2.alerts("AudienceGenerationJobFailed"), 20, "am2 has the alert once back")
    c.eq(len(got), 1, "am2: one failed alert once back")

    # 5. The job leaves the failed state (a new job with the same ARN is not a thing, but a status is):
    fake.set_job("fails", "DELETE_PENDING")
    jw.wait_until(lambda: not am1.alerts("AudienceGenerationJobFailed"), 20, "the failed alert resolved")
    rows = jw.sqlite_rows(db, "SELECT alertname, resolved_ms FROM am_alerts")
    jw.wait_until(lambda: not jw.sqlite_rows(db, "SELECT * FROM am_alerts WHERE resolved_ms = 0"), 10,
                  "no active alert left in the state database: %s" % rows)
    d.stop()
    c.done()


jw.main(test)
