"""The installed service under a real systemd: a Debian 12 root booted with systemd-nspawn.

What a new user does, from the README: `make && sudo make install` in the source tree, the README's minimal
configuration (its webhook URL pointed at a receiver on the host), the AWS keys through a `systemctl edit`
drop-in, the README's secret, `--check-config` and `systemctl enable --now`; then the README's "Operating it"
commands, a reload that adds a job, a restart, a watchdog stall, two template instances and a stop. The
container shares the host's network, so the fake service and the receiver listen on 127.0.0.1 here; a oneshot
unit inside (tests/systemd/jw-test.service running tests/systemd/drive.py) drives the checks and powers off.

The Debian root comes from tests/systemd/mkroot.sh (debootstrap, cached outside the repository); each run boots
it with --volatile=overlay, so nothing a run writes reaches the cache. Skipped with a message where the machine
cannot run it (not root, no systemd-nspawn or debootstrap) and in the sanitizer build (it builds the project
inside the container itself, so a second run would test the same thing).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["JW_SOURCE_DIR"], "tests", "lib"))
sys.path.insert(0, os.path.join(os.environ["JW_SOURCE_DIR"], "tests", "fake"))
import jwtest as jw  # noqa: E402
import webhook_receiver  # noqa: E402

REGION = "eu-west-1"
ACCOUNT = "123456789012"
HERE = os.path.join(jw.SOURCE_DIR, "tests", "systemd")


def readme_parts():
    """The README's commands and minimal configuration, as the test runs them."""
    text = open(os.path.join(jw.SOURCE_DIR, "README.md"), encoding="utf-8").read()

    def section(title):
        m = re.search(r"^## %s\n(.*?)(?=^## )" % re.escape(title), text, re.S | re.M)
        jw.check(m, "README has no section %r" % title)
        return m.group(1)

    def blocks(sec, lang):
        return [b for b in re.findall(r"^```%s\n(.*?)^```" % lang, sec, re.S | re.M)]

    def lines(block):
        return [ln for ln in block.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]

    quick = section("Quick start on a real account")
    sh = blocks(quick, "sh")
    jw.check(len(sh) == 3, "Quick start: want 3 sh blocks (package; make install; secret, check, start), got %d"
             % len(sh))
    config = next((b for b in blocks(quick, "ini") if b.startswith("[aws]")), None)
    jw.check(config, "Quick start: no minimal configuration ([aws] ini block)")
    url = re.search(r"^url = (\S+)", config, re.M)
    jw.check(url, "the minimal configuration has no webhook url")
    arn = re.search(r"^arn = (\S+)", config, re.M).group(1)
    return {"install_deb": lines(sh[0]), "install_make": lines(sh[1]), "start": lines(sh[2]), "config": config, "webhook_url": url.group(1),
            "arn": arn, "operate": lines(blocks(section("Operating it"), "sh")[0]),
            "instances": lines(blocks(section("Several accounts or regions"), "sh")[0])}


def source_copy(t):
    """The tree a fresh clone would have (tracked and new files, with their current content), with the
    repository of a clone beside them (no checkout), so that `make deb` sees the commit."""
    dst = t.path("src")
    subprocess.run(["git", "clone", "--quiet", "--no-checkout", jw.SOURCE_DIR, dst], check=True)
    files = subprocess.run(["git", "-C", jw.SOURCE_DIR, "ls-files", "-z", "-co", "--exclude-standard"],
                           stdout=subprocess.PIPE, check=True).stdout.split(b"\0")
    for f in files:
        if not f:
            continue
        s = os.path.join(jw.SOURCE_DIR.encode(), f)
        if not os.path.isfile(s):
            continue
        d = os.path.join(dst.encode(), f)
        os.makedirs(os.path.dirname(d), exist_ok=True)
        shutil.copy2(s, d)
    return dst


def test(t):
    if jw.SANITIZE:
        jw.skip("runs in the normal build only: it builds and installs the project inside the container itself")
    if os.geteuid() != 0:
        jw.skip("systemd-nspawn needs root (CI runs as root)")
    for tool in ("systemd-nspawn", "debootstrap"):
        if not shutil.which(tool):
            jw.skip("%s is missing (scripts/deps.sh --test installs it as root)" % tool)
    if not os.path.isdir(os.path.join(jw.SOURCE_DIR, ".git")) and not os.path.isfile(
            os.path.join(jw.SOURCE_DIR, ".git")):
        jw.skip("not a git checkout: cannot tell which files a clone would have")

    readme = readme_parts()
    m = re.search(r"audience-generation-job/(\S+)$", readme["arn"])
    job_id = m.group(1)
    collab = re.search(r"--collaboration-id (\S+)", " ".join(readme["operate"])).group(1)

    mk = subprocess.run([os.path.join(HERE, "mkroot.sh")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        timeout=1200)
    jw.check(mk.returncode == 0, "mkroot.sh failed:\n" + mk.stderr.decode()[-3000:])
    root = mk.stdout.decode().strip().splitlines()[-1]

    fake = t.start_fake({"region": REGION, "account": ACCOUNT,
                         "jobs": [{"id": job_id, "collaborationId": collab,
                                   "steps": [{"at": 0, "status": "CREATE_IN_PROGRESS"}]}]},
                        verify_sigv4=True, region=REGION)
    recv = t.start_receiver()
    arn = lambda n: "arn:aws:cleanrooms-ml:%s:%s:audience-generation-job/%s" % (  # noqa: E731
        REGION, ACCOUNT, "7c5d1c56-0000-4f5e-9d7e-00000000000%d" % n)
    jw.check(fake.arn(job_id) == readme["arn"], "the fake's ARN %s is not the README's" % fake.arn(job_id))

    src = source_copy(t)
    commit = subprocess.run(["git", "-C", jw.SOURCE_DIR, "rev-parse", "--short=12", "HEAD"],
                            stdout=subprocess.PIPE, text=True, check=True).stdout.strip()
    n_checks = 0
    for mode in ("deb", "make"):
        recv.http.call("DELETE", "/_recv/log")
        fake.set_job(readme["arn"], "CREATE_IN_PROGRESS")
        res = boot(t, root, src, mode, {
            "mode": mode, "commit": commit, "fake_url": fake.url, "recv_url": recv.url,
            "hook_url": recv.url + "/jobwatchd", "region": REGION, "akid": jw.AKID, "secret": jw.SECRET,
            "arn1": readme["arn"], "arn2": arn(2), "arn_a": arn(3), "arn_b": arn(4), "collab": collab}, readme)
        n_checks += res["checks"]
        check_host_side(fake, recv, res["dir"])
        for a in (arn(2), arn(3), arn(4)):
            fake.delete_job(a)
    print("%d checks inside the two containers" % n_checks)


def boot(t, root, src, mode, params, readme):
    """Boots the root once with the driver; returns {checks, dir} or fails with what went wrong."""
    res = t.path("res-" + mode)
    os.makedirs(res)
    os.chmod(res, 0o700)
    with open(os.path.join(res, "params.json"), "w") as f:
        json.dump(params, f)
    with open(os.path.join(res, "readme.json"), "w") as f:
        json.dump(readme, f)
    console = os.path.join(res, "console.log")
    argv = ["systemd-nspawn", "--quiet", "--boot", "--directory", root, "--volatile=overlay",
            "--register=no", "--keep-unit", "--machine", "jwtest", "--hostname", "jwtest",
            "--bind=%s:/jwtest/res" % res, "--bind-ro=%s:/jwtest/src" % src, "--bind-ro=%s:/jwtest/bin" % HERE,
            "--bind-ro=%s:/etc/systemd/system/jw-test.service" % os.path.join(HERE, "jw-test.service"),
            # PID 1's arguments: pull the driver in, and no login prompt on a console nobody reads.
            "systemd.wants=jw-test.service", "systemd.mask=console-getty.service",
            "systemd.mask=apt-daily.timer", "systemd.mask=apt-daily-upgrade.timer"]
    start = time.monotonic()
    with open(console, "wb") as out:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        try:
            rc = p.wait(timeout=1200)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            rc = "timeout"
    print("[%s] container ran %.0f s, exit %s" % (mode, time.monotonic() - start, rc))

    path = os.path.join(res, "results.jsonl")
    results = jw.read_jsonl(path) if os.path.exists(path) else []
    failed = [r for r in results if not r["ok"]]
    for r in results:
        print("[%s] %s%s" % (mode, "ok: " if r["ok"] else "FAIL: ", r["check"]))
    if failed or not any(r["check"] == "done" for r in results) or rc != 0:
        with open(console, "rb") as f:
            print("--- container console (tail)\n" + f.read().decode("utf-8", "replace")[-6000:])
        if os.path.exists(os.path.join(res, "journal.txt")):
            with open(os.path.join(res, "journal.txt"), encoding="utf-8", errors="replace") as f:
                print("--- journal (jobwatchd lines)\n" + "".join(
                    ln for ln in f if "jobwatchd" in ln)[-8000:])
    for r in failed:
        print("--- %s\n%s" % (r["check"], r["detail"]))
    jw.check(not failed, "[%s] %d of %d checks inside the container failed" % (mode, len(failed), len(results)))
    jw.check(any(r["check"] == "done" for r in results), "[%s] the driver did not finish (no 'done')" % mode)
    jw.check(rc == 0, "[%s] systemd-nspawn exit %s (the container did not power off cleanly)" % (mode, rc))
    jw.check(len(results) >= 40, "[%s] only %d checks ran" % (mode, len(results)))
    return {"checks": len(results), "dir": res}


def check_host_side(fake, recv, res):
    # What only the host sees: every request reached the fake signed with the drop-in's keys, and every
    # webhook verifies with the secret the README's command generated.
    reqs = [r for r in fake.requests() if r.get("op") in ("get", "list")]
    jw.check(len(reqs) >= 20, "only %d API requests reached the fake" % len(reqs))
    bad = [r for r in reqs if r.get("sigv4") != "ok"]
    jw.check(not bad, "%d of %d requests not signed correctly: %s" % (len(bad), len(reqs), bad[:2]))
    with open(os.path.join(res, "ops.secret")) as f:
        secret = f.read().strip()
    posts = recv.http.call("GET", "/_recv/log")  # this boot's (the log is cleared before each)
    jw.check(posts, "no webhook reached the receiver")
    for post in posts:
        headers = {k.lower(): v for k, v in post["headers"].items()}
        ok, why = webhook_receiver.verify(secret, headers, post["body"].encode())
        jw.check(ok, "webhook %s does not verify: %s" % (post["headers"].get("webhook-id"), why))
    ids = [{k.lower(): v for k, v in p["headers"].items()}.get("webhook-id") for p in posts if p["status"] == 200]
    jw.check(len(ids) == len(set(ids)), "a webhook was delivered twice: %s" % ids)
    print("%d signed requests so far, %d verified webhooks" % (len(reqs), len(posts)))


jw.main(test)
