"""Inside the booted container: install jobwatchd the way the README says and check the running service.

Run by jw-test.service (as root, under a real systemd 252 as PID 1) for tests/scenario/test_booted_systemd.py.
The host put under /jwtest/res: params.json (the fake service's and the webhook receiver's URLs, ARNs, test
keys) and readme.json (the README's Quick start and Operating it commands and its minimal configuration).
Each finding is a line of /jwtest/res/results.jsonl, {check, ok, detail}; the line {"check": "done"} comes last.
The host fails the test on any failed check, on a missing "done", and checks what only it can see (every
request the fake saw was signed, every webhook verifies with the secret the README's command made).
"""

import json
import os
import re
import subprocess
import time
import urllib.request

RES = "/jwtest/res"
P = json.load(open(os.path.join(RES, "params.json")))
README = json.load(open(os.path.join(RES, "readme.json")))
SRC = "/usr/src/jobwatchd"
_results = open(os.path.join(RES, "results.jsonl"), "a")


def record(name, ok, detail=""):
    _results.write(json.dumps({"check": name, "ok": bool(ok), "detail": str(detail)[-6000:]}) + "\n")
    _results.flush()
    print(("ok: " if ok else "FAIL: ") + name + ("" if ok else " -- " + str(detail)[-3000:]), flush=True)
    return ok


def sh(cmd, cwd=None, env=None, timeout=900):
    """Runs one shell command line as root; returns (exit code, stdout+stderr)."""
    e = dict(os.environ)
    e.update(env or {})
    try:
        p = subprocess.run(["bash", "-c", cmd], cwd=cwd, env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout)
    except subprocess.TimeoutExpired as ex:
        return 124, (ex.stdout or b"").decode("utf-8", "replace") + "\n(timed out)"
    return p.returncode, p.stdout.decode("utf-8", "replace")


def wait_until(pred, timeout, interval=0.25):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > end:
            return v
        time.sleep(interval)


def http(method, url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


def show(unit, *props):
    rc, out = sh("systemctl show %s %s" % (" ".join("-p " + p for p in props), unit))
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def journal(*matches):
    rc, out = sh("journalctl -o json --no-pager " + " ".join(matches))
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def events(unit="jobwatchd.service"):
    return [e for e in journal("_SYSTEMD_UNIT=" + unit) if e.get("EVENT_ID")]


def main_uid(unit):
    pid = show(unit, "MainPID").get("MainPID", "0")
    try:
        with open("/proc/%s/status" % pid) as f:
            return int(re.search(r"^Uid:\s+(\d+)", f.read(), re.M).group(1))
    except (OSError, AttributeError):
        return None


def run_readme_block(name, block):
    """Runs each line of a README code block as the operator would type it."""
    for line in block:
        rc, out = sh(line, cwd=SRC, env=AWS_ENV if line.startswith("jobwatchd ") else None)
        if not record("%s: %s" % (name, line), rc == 0, "exit %d\n%s" % (rc, out)):
            return False
    return True


MODE = P["mode"]  # "deb": make deb + apt install; "make": make && sudo make install
PKG_UNIT_DIR = "/lib/systemd/system"
AWS_ENV = {"AWS_ACCESS_KEY_ID": P["akid"], "AWS_SECRET_ACCESS_KEY": P["secret"], "AWS_REGION": P["region"],
           "AWS_ENDPOINT_URL": P["fake_url"]}


def install_and_start():
    sh("rm -rf %s && cp -a /jwtest/src %s" % (SRC, SRC))
    # 1. Build and install, exactly as the README says (from the source tree), as a package or with make.
    if not run_readme_block("quick start", README["install_" + MODE]):
        return False
    if MODE == "deb":
        check_package_installed()
    # The README's minimal configuration, with the webhook pointing at the host's receiver.
    conf = README["config"].replace(README["webhook_url"], P["hook_url"])
    with open("/etc/jobwatchd/jobwatchd.conf", "w") as f:
        f.write(conf)
    os.chmod("/etc/jobwatchd/jobwatchd.conf", 0o644)
    # Test tuning, in drop-ins so the README's files stay as written: poll every second, and a short
    # watchdog so a stall is caught in seconds rather than the shipped 30 s.
    os.makedirs("/etc/jobwatchd/jobwatchd.conf.d", exist_ok=True)
    with open("/etc/jobwatchd/jobwatchd.conf.d/10-test.conf", "w") as f:
        f.write("[poll]\ninterval = 1s\nsettled_interval = 1s\nfailed_interval = 2s\n")
    # The README's `systemctl edit jobwatchd` drop-in: the AWS keys in an environment file.
    with open("/etc/jobwatchd/aws.env", "w") as f:
        f.write("".join("%s=%s\n" % kv for kv in sorted(AWS_ENV.items())))
    os.chmod("/etc/jobwatchd/aws.env", 0o600)
    for unit in ("jobwatchd.service", "jobwatchd@.service"):
        d = "/etc/systemd/system/%s.d" % unit
        os.makedirs(d, exist_ok=True)
        with open(d + "/override.conf", "w") as f:
            f.write("[Service]\nEnvironmentFile=/etc/jobwatchd/aws.env\n")
        with open(d + "/10-test.conf", "w") as f:
            f.write("[Service]\nWatchdogSec=4s\nRestartSec=1s\n")
    sh("systemctl daemon-reload")
    # 2. The secret, the check and the start, exactly as the README says.
    ok = run_readme_block("quick start", README["start"])
    # For the host, which verifies every webhook's signature with it (a purge removes it later).
    sh("install -m 0600 /etc/jobwatchd/credentials/ops.secret %s/ops.secret" % RES)
    return ok


def check_package_installed():
    """Right after `apt install ./jobwatchd_*.deb`, before any configuration."""
    rc, out = sh("setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/tmp "
                 "lintian --fail-on error,warning --info %s/jobwatchd_*.deb" % SRC)
    record("package: lintian reports no error and no warning", rc == 0, out)
    files = {"/usr/bin/jobwatchd": 0o755, PKG_UNIT_DIR + "/jobwatchd.service": 0o644,
             PKG_UNIT_DIR + "/jobwatchd@.service": 0o644, "/usr/lib/systemd/catalog/jobwatchd.catalog": 0o644,
             "/usr/share/man/man8/jobwatchd.8.gz": 0o644, "/usr/share/man/man5/jobwatchd.conf.5.gz": 0o644,
             "/usr/share/bash-completion/completions/jobwatchd": 0o644,
             "/etc/jobwatchd/jobwatchd.conf": 0o644, "/etc/jobwatchd/credentials": 0o700}
    for path, mode in files.items():
        st = os.stat(path) if os.path.exists(path) else None
        record("package: %s mode %o" % (path, mode), st and (st.st_mode & 0o777) == mode and st.st_uid == 0,
               st and oct(st.st_mode))
    rc, out = sh("dpkg-query -W -f='${Conffiles}' jobwatchd")
    record("package: the configuration is a conffile", "/etc/jobwatchd/jobwatchd.conf" in out, out)
    rc, out = sh("dpkg -L jobwatchd | grep -E '/(build|work|tmp|usr/src)/' ; "
                 "grep -c /usr/src/jobwatchd /usr/bin/jobwatchd")
    record("package: no build-tree paths", out.strip() == "0", out)
    rc, out = sh("systemd-analyze verify %s/jobwatchd.service" % PKG_UNIT_DIR)
    record("package: systemd-analyze verify on the installed unit", rc == 0 and not out.strip(), out)
    rc, out = sh("journalctl --list-catalog 4b11c853f1bb40aba2200f3d9e476821")
    record("package: the trigger updated the journal catalog", "changed from" in out, out)
    rc, out = sh("jobwatchd --version")
    record("package: --version names the package version and the git commit",
           rc == 0 and "(Debian package 0.1.0+git" in out and P["commit"] and out.strip().endswith(
               "git " + P["commit"]), out)
    # Enabled and started on install; with the shipped configuration it runs and says it watches nothing.
    ok = wait_until(lambda: show("jobwatchd", "StatusText").get("StatusText", "").startswith("watching nothing"), 15)
    s = show("jobwatchd", "ActiveState", "UnitFileState", "StatusText", "NRestarts")
    record("package: the service is enabled, started and idle on the shipped configuration",
           ok and s["ActiveState"] == "active" and s["UnitFileState"] == "enabled" and s["NRestarts"] == "0", s)
    rc, out = sh("journalctl --no-pager -u jobwatchd | grep 'nothing to watch'")
    record("package: the journal says there is nothing to watch", rc == 0, out)


def check_remove_purge():
    rc, listing = sh("dpkg -L jobwatchd")
    owned = [f for f in listing.splitlines() if f.startswith("/") and os.path.isfile(f)]
    rc, out = sh("apt-get remove -y jobwatchd")
    record("package: apt-get remove", rc == 0, out)
    record("package: remove keeps the configuration and the secret",
           os.path.exists("/etc/jobwatchd/jobwatchd.conf") and os.path.exists("/etc/jobwatchd/credentials/ops.secret")
           and not os.path.exists("/usr/bin/jobwatchd"), sh("ls -lR /etc/jobwatchd")[1])
    # The test's own drop-ins are the operator's files (systemctl edit): the operator removes them.
    sh("rm -rf /etc/systemd/system/jobwatchd.service.d /etc/systemd/system/jobwatchd@.service.d")
    rc, out = sh("apt-get purge -y jobwatchd")
    record("package: apt-get purge", rc == 0, out)
    left = [f for f in owned if os.path.lexists(f)]
    left += [d for d in ("/etc/jobwatchd", "/var/lib/jobwatchd", "/var/lib/private/jobwatchd",
                         "/var/lib/private/jobwatchd-a", "/var/lib/jobwatchd-a",
                         "/etc/systemd/system/multi-user.target.wants/jobwatchd.service") if os.path.lexists(d)]
    rc, out = sh("dpkg-query -W -f='${Status}' jobwatchd")
    record("package: purge leaves nothing", not left and ("not-installed" in out or rc != 0), (left, out))


def check_running():
    s = show("jobwatchd", "ActiveState", "SubState", "StatusText", "Type", "User", "DynamicUser")
    record("jobwatchd.service is active (READY=1 reached)", s.get("ActiveState") == "active", s)
    ok = wait_until(lambda: show("jobwatchd", "StatusText").get("StatusText", "").startswith("watching 1 job"), 15)
    record("STATUS= says what it watches", ok, show("jobwatchd", "StatusText"))
    rc, out = sh("systemctl status --no-pager jobwatchd")
    record("systemctl status shows STATUS=", rc == 0 and 'Status: "watching' in out, out)
    uid = main_uid("jobwatchd")
    record("runs as a dynamic user", uid is not None and 61184 <= uid <= 65519, "uid %s" % uid)


def check_failed_job():
    ok = wait_until(lambda: journal("-u", "jobwatchd", "EVENT_TYPE=job.discovered", "JOB_ARN=" + P["arn1"]), 15)
    record("the job is discovered in CREATE_IN_PROGRESS",
           ok and ok[-1].get("JOB_STATUS") == "CREATE_IN_PROGRESS", ok)
    http("POST", P["fake_url"] + "/_fake/jobs",
         {"arn": P["arn1"], "status": "CREATE_FAILED",
          "statusDetails": {"statusCode": "SEED_TOO_SMALL", "message": "seed audience too small"}})

    def failed_posts():
        return [r for r in http("GET", P["recv_url"] + "/_recv/log")
                if '"CREATE_FAILED"' in r.get("body", "") and P["arn1"] in r.get("body", "")]
    posts = wait_until(failed_posts, 30)
    record("CREATE_FAILED reached the webhook", posts, http("GET", P["recv_url"] + "/_recv/log"))
    record("the webhook is signed (Standard Webhooks headers)",
           posts and all("webhook-signature" in {k.lower() for k in r["headers"]} for r in posts), posts)
    ents = wait_until(lambda: journal("-u", "jobwatchd", "JOB_STATUS=CREATE_FAILED"), 10)
    want = {"JOB_ARN": P["arn1"], "JOB_STATUS": "CREATE_FAILED", "JOB_PREVIOUS_STATUS": "CREATE_IN_PROGRESS",
            "JOB_STATUS_CODE": "SEED_TOO_SMALL", "JOB_COLLABORATION_ID": P["collab"],
            "EVENT_TYPE": "job.status_changed", "MESSAGE_ID": "4b11c853f1bb40aba2200f3d9e476821"}
    got = ents[-1] if ents else {}
    record("journal entry with JOB_* fields", ents and all(got.get(k) == v for k, v in want.items()),
           {k: got.get(k) for k in want})
    rc, out = sh("journalctl -x --no-pager MESSAGE_ID=4b11c853f1bb40aba2200f3d9e476821")
    record("journalctl -x shows the catalog text",
           "will not make" in out and "progress by itself" in out and P["arn1"] in out, out)


def check_operating():
    """The README's "Operating it" commands, each as written, with what each must show."""
    expect = {"systemctl status jobwatchd": 'Status: "watching',
              "journalctl -u jobwatchd JOB_STATUS=CREATE_FAILED": "CREATE_FAILED",
              "journalctl -x MESSAGE_ID=": "will not make",
              "jobwatchd get ": '"CREATE_FAILED"',
              "jobwatchd list ": P["arn1"]}
    for line in README["operate"]:
        rc, out = sh(line, env=AWS_ENV if line.startswith("jobwatchd ") else None)
        want = next((v for k, v in expect.items() if line.startswith(k)), None)
        record("operating it: " + line, rc == 0 and (want is None or want in out), "exit %d\n%s" % (rc, out))


def check_secrets():
    creds = "/etc/jobwatchd/credentials"
    st = os.stat(creds)
    record("credentials directory is root's alone (0700)", st.st_uid == 0 and (st.st_mode & 0o777) == 0o700,
           oct(st.st_mode))
    secret = os.path.join(creds, "ops.secret")
    st = os.stat(secret)
    record("the secret file is 0600 root", st.st_uid == 0 and (st.st_mode & 0o777) == 0o600, oct(st.st_mode))
    rc, out = sh("setpriv --reuid=nobody --regid=nogroup --clear-groups cat %s" % secret)
    record("another user cannot read the secret", rc != 0 and "whsec_" not in out, out)
    uid = main_uid("jobwatchd")
    rc, out = sh("setpriv --reuid=%d --regid=%d --clear-groups cat %s" % (uid, uid, secret))
    record("the service's own user cannot read the secret file directly", rc != 0 and "whsec_" not in out, out)
    conf = open("/etc/jobwatchd/jobwatchd.conf").read()
    record("the configuration holds no secret", "whsec_" not in conf and "secret_file = ops.secret" in conf, conf)
    pid = show("jobwatchd", "MainPID")["MainPID"]
    env = open("/proc/%s/environ" % pid, "rb").read().split(b"\0")
    record("the secret reaches the service as a credential",
           any(e.startswith(b"CREDENTIALS_DIRECTORY=") for e in env) and not any(b"whsec_" in e for e in env),
           [e.split(b"=")[0] for e in env])


def check_reload():
    http("POST", P["fake_url"] + "/_fake/jobs", {"arn": P["arn2"], "status": "CREATE_IN_PROGRESS",
                                                  "collaborationId": P["collab"]})
    with open("/etc/jobwatchd/jobwatchd.conf.d/20-more-jobs.conf", "w") as f:
        f.write("[jobs]\narn = %s\n" % P["arn2"])
    pid = show("jobwatchd", "MainPID")["MainPID"]
    rc, out = sh("systemctl reload jobwatchd")
    record("systemctl reload", rc == 0, out)
    ok = wait_until(lambda: journal("-u", "jobwatchd", "EVENT_TYPE=job.discovered", "JOB_ARN=" + P["arn2"]), 15)
    record("the job added by reload is discovered", ok, show("jobwatchd", "StatusText"))
    s = show("jobwatchd", "MainPID", "StatusText", "ActiveState")
    record("reload kept the process and now watches 2 jobs",
           s["MainPID"] == pid and s["StatusText"].startswith("watching 2 jobs") and s["ActiveState"] == "active", s)


def check_restart():
    before = [e["EVENT_ID"] for e in events()]
    posts_before = len(http("GET", P["recv_url"] + "/_recv/log"))
    rc, out = sh("systemctl restart jobwatchd")
    record("systemctl restart", rc == 0 and show("jobwatchd", "ActiveState")["ActiveState"] == "active", out)
    base = http("GET", P["fake_url"] + "/_fake/stats")["op"]["get"]
    ok = wait_until(lambda: http("GET", P["fake_url"] + "/_fake/stats")["op"]["get"] >= base + 6, 30)
    record("polling goes on after restart", ok, http("GET", P["fake_url"] + "/_fake/stats"))
    time.sleep(1)
    after = [e["EVENT_ID"] for e in events()]
    record("restart repeats no event (journal)", after == before, {"before": before, "after": after})
    posts = http("GET", P["recv_url"] + "/_recv/log")
    record("restart repeats no event (webhook)", len(posts) == posts_before, len(posts) - posts_before)
    uid = main_uid("jobwatchd")
    st = os.stat("/var/lib/private/jobwatchd/state.db")
    record("state kept in the StateDirectory, owned by the dynamic user",
           st.st_uid == uid and os.path.realpath("/var/lib/jobwatchd") == "/var/lib/private/jobwatchd",
           "state.db uid %d, service uid %s" % (st.st_uid, uid))


def check_watchdog():
    s = show("jobwatchd", "MainPID", "NRestarts")
    sh("kill -STOP %s" % s["MainPID"])

    def restarted():
        n = show("jobwatchd", "MainPID", "NRestarts", "ActiveState")
        return (n["ActiveState"] == "active" and n["MainPID"] not in ("0", s["MainPID"]) and
                int(n["NRestarts"]) == int(s["NRestarts"]) + 1)
    ok = wait_until(restarted, 60)
    record("a stalled daemon is killed by the watchdog and restarted", ok,
           (s, show("jobwatchd", "MainPID", "NRestarts", "ActiveState", "Result")))
    rc, out = sh("journalctl --no-pager -u jobwatchd | grep -i 'watchdog timeout'")
    record("the journal names the watchdog timeout", rc == 0, out)


def check_instances():
    for name, arn in (("a", P["arn_a"]), ("b", P["arn_b"])):
        http("POST", P["fake_url"] + "/_fake/jobs", {"arn": arn, "status": "ACTIVE", "collaborationId": P["collab"]})
        with open("/etc/jobwatchd/%s.conf" % name, "w") as f:
            f.write("[aws]\nregion = %s\n\n[poll]\ninterval = 1s\nsettled_interval = 1s\n\n[jobs]\narn = %s\n"
                    % (P["region"], arn))
        os.chmod("/etc/jobwatchd/%s.conf" % name, 0o644)
    for line in README["instances"]:
        rc, out = sh(line.replace("prod-eu", "a").replace("prod-us", "b"))
        record("instances: " + line, rc == 0, out)
    for name, arn in (("a", P["arn_a"]), ("b", P["arn_b"])):
        unit = "jobwatchd@%s.service" % name
        ok = wait_until(lambda: journal("_SYSTEMD_UNIT=" + unit, "EVENT_TYPE=job.discovered", "JOB_ARN=" + arn), 15)
        record("%s runs and reports its own job" % unit, ok, show(unit, "ActiveState", "Result", "StatusText"))
    # Each keeps its own state, under its own dynamic user; restarting one (or the main service, whose
    # StateDirectory is the parent) must not take another's files away.
    sh("systemctl restart jobwatchd jobwatchd@a")
    time.sleep(2)
    for name in ("a", "b"):
        unit = "jobwatchd@%s.service" % name
        uid = main_uid(unit)
        path = "/var/lib/private/jobwatchd-%s/state.db" % name
        st = os.stat(path) if os.path.exists(path) else None
        record("%s keeps its state in %s as its own user" % (unit, path),
               st is not None and st.st_uid == uid and show(unit, "ActiveState")["ActiveState"] == "active",
               "uid %s, file %s, %s" % (uid, st and st.st_uid, show(unit, "ActiveState", "Result")))
    ua, ub = main_uid("jobwatchd@a.service"), main_uid("jobwatchd@b.service")
    record("instances run side by side as different users", ua and ub and ua != ub, (ua, ub))
    sh("systemctl stop jobwatchd@a jobwatchd@b")


def check_stop():
    rc, out = sh("systemctl stop jobwatchd")
    s = show("jobwatchd", "ActiveState", "Result", "ExecMainCode", "ExecMainStatus")
    record("systemctl stop is clean", rc == 0 and s["ActiveState"] == "inactive" and s["Result"] == "success" and
           s["ExecMainStatus"] == "0", s)


def main():
    try:
        if install_and_start():
            check_running()
            check_failed_job()
            check_operating()
            check_secrets()
            check_reload()
            check_restart()
            check_watchdog()
            check_instances()
            check_stop()
            if MODE == "deb":
                check_remove_purge()
    except Exception as ex:  # a crash of the driver is a failed check, with its traceback
        import traceback
        record("driver", False, traceback.format_exc() + str(ex))
    finally:
        sh("journalctl --no-pager -o short-monotonic > %s/journal.txt" % RES)
        record("done", True)


main()
