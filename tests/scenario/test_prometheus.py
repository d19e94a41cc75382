"""The shipped Prometheus files (config/prometheus/) against Debian's real Prometheus and promtool:

- `promtool check rules` passes on jobwatchd-rules.yml, and `promtool check config` on prometheus.yml (with its
  token path pointed at a file of this test: promtool checks that the file exists);
- a real Prometheus, with that configuration (the target and the scrape interval changed for the test), scrapes the
  daemon's /metrics over TCP with the bearer token: the target is up, and a series of the daemon is queryable;
- it loaded the shipped rules (all of them, none failing to evaluate);
- `promtool check metrics` finds nothing to complain about in /metrics.
Skipped where prometheus is not installed (scripts/deps.sh --test installs it).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.environ["JW_SOURCE_DIR"], "tests", "lib"))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402

PROM = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
SHIPPED = os.path.join(jw.SOURCE_DIR, "config", "prometheus")
TOKEN = "jwPromTestToken0123456789abcdef"


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def test(t):
    if not PROM or not PROMTOOL:
        jw.skip("prometheus/promtool are not installed (scripts/deps.sh --test installs them)")
    c = jw.Checks()
    rules = os.path.join(SHIPPED, "jobwatchd-rules.yml")
    r = t.run([PROMTOOL, "check", "rules", rules])
    c.ok(r.returncode == 0 and "SUCCESS" in r.stdout, "promtool check rules: %s%s" % (r.stdout, r.stderr))
    n_rules = len(re.findall(r"^\s*- alert:", open(rules).read(), re.M))
    c.ok(n_rules >= 6, "the shipped rules: %d alerts" % n_rules)

    token_file = t.write("prom.token", TOKEN + "\n", mode=0o600)
    shutil.copy(rules, t.path("jobwatchd-rules.yml"))
    shipped_cfg = open(os.path.join(SHIPPED, "prometheus.yml")).read()
    c.ok("credentials_file: /etc/prometheus/jobwatchd.token" in shipped_cfg, "the example names the token file")
    cfg = shipped_cfg.replace("/etc/prometheus/jobwatchd.token", token_file)
    checked = t.write("prometheus-check.yml", cfg)
    r = t.run([PROMTOOL, "check", "config", checked])
    c.ok(r.returncode == 0, "promtool check config: %s%s" % (r.stdout, r.stderr))

    fake = t.start_fake({"jobs": [{"id": "j1", "steps": [{"at": 0, "status": "CREATE_IN_PROGRESS"}]}]})
    port = jw.free_port()
    daemon_token = t.write("http.token", TOKEN + "\n", mode=0o600)
    dcfg = lc.daemon_config(fake, t.path("state.db"), [fake.arn("j1")], interval="500ms")
    dcfg["http"] = {"listen": "127.0.0.1:%d" % port, "token_file": daemon_token}
    d = t.start_daemon(dcfg, env=jw.aws_env())
    jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1")

    r = subprocess.run("curl -sf -H 'Authorization: Bearer %s' http://127.0.0.1:%d/metrics | %s check metrics"
                       % (TOKEN, port, PROMTOOL), shell=True, capture_output=True, text=True, timeout=30)
    c.ok(r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(),
         "promtool check metrics on /metrics: %s%s" % (r.stdout, r.stderr))
    # Every family the daemon serves is documented in jobwatchd(8) METRICS.
    r = subprocess.run(["curl", "-sf", "-H", "Authorization: Bearer " + TOKEN, "http://127.0.0.1:%d/metrics" % port],
                       capture_output=True, text=True, timeout=30)
    served = set(re.findall(r"^# TYPE (\S+) ", r.stdout, re.M))
    page = open(os.path.join(jw.SOURCE_DIR, "docs", "man", "jobwatchd.8.scd")).read()
    section = page.split("# METRICS", 1)[-1].split("\n# ", 1)[0]
    documented = set(re.findall(r"^\*(jobwatchd_[a-z_]+)\*$", section, re.M))
    c.ok(len(served) > 10, "families served: %d" % len(served))
    c.ok(served <= documented, "families served but not in jobwatchd(8) METRICS: %s" % sorted(served - documented))

    # The shipped configuration, scraping this daemon every second.
    run_cfg = cfg.replace("127.0.0.1:9464", "127.0.0.1:%d" % port).replace("scrape_interval: 30s",
                                                                           "scrape_interval: 1s\n  evaluation_interval: 1s")
    c.ok(run_cfg != cfg, "the example's target was replaced")
    cfg_path = t.write("prometheus.yml", run_cfg)
    pport = jw.free_port()
    jw.Proc(t, "prometheus", [PROM, "--config.file=" + cfg_path, "--storage.tsdb.path=" + t.path("tsdb"),
                              "--web.listen-address=127.0.0.1:%d" % pport, "--log.level=warn"])
    base = "http://127.0.0.1:%d" % pport

    def target_up():
        try:
            ts = get_json(base + "/api/v1/targets")["data"]["activeTargets"]
        except OSError:
            return None
        return [x for x in ts if x["labels"].get("job") == "jobwatchd" and x["health"] == "up"]
    jw.wait_until(target_up, 60, "Prometheus scrapes jobwatchd (target up)")
    q = urllib.parse.urlencode({"query": "jobwatchd_polls_total"})
    res = jw.wait_until(lambda: get_json(base + "/api/v1/query?" + q)["data"]["result"], 20,
                        "jobwatchd_polls_total queryable")
    c.ok(float(res[0]["value"][1]) > 0, "polls counted: %s" % res)

    def rules_loaded():
        groups = get_json(base + "/api/v1/rules")["data"]["groups"]
        rs = [x for g in groups if g["name"] == "jobwatchd" for x in g["rules"]]
        return rs if len(rs) == n_rules and all(x.get("lastEvaluation", "").startswith("20") for x in rs) else None
    rs = jw.wait_until(rules_loaded, 30, "the shipped rules loaded and evaluated")
    bad = [x["name"] for x in rs if x.get("health") != "ok"]
    c.ok(not bad, "every rule evaluates: %s" % bad)
    firing = [x["name"] for x in rs if x.get("state") == "firing"]
    c.ok("JobwatchdDown" not in firing, "JobwatchdDown does not fire for a running daemon")
    d.stop()
    c.done()


jw.main(test)
