#!/usr/bin/env python3
"""Expiry and refresh of temporary credentials through the daemon's chain:
refresh ahead of expiry with a new access key, a provider failing during the
refresh and recovering (old credentials kept meanwhile), credentials going
unavailable after the mandatory window and coming back, and
creds_invalidate().  JW_CREDS_REFRESH_SCALE=0.01 shrinks the 15 min / 5 min
windows to 9 s / 3 s so a test takes seconds."""
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time

SRC = os.environ.get("JW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("JW_BUILD_DIR")
sys.path.insert(0, os.path.join(SRC, "tests", "fake"))
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))
from creds_server import FakeCredsServer  # noqa: E402
import jwtest as jw  # noqa: E402

FETCH = os.path.join(BUILD or "", "helpers", "creds_fetch")


class Fetch:
    """creds_fetch running in the background; lines arrive on a queue."""

    def __init__(self, tmp, env, args):
        e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        e.update({"HOME": tmp, "AWS_SHARED_CREDENTIALS_FILE": os.path.join(tmp, "credentials"),
                  "AWS_CONFIG_FILE": os.path.join(tmp, "config"), "AWS_EC2_METADATA_DISABLED": "true",
                  "JW_CREDS_REFRESH_SCALE": "0.01"})
        e.update(env)
        self.p = subprocess.Popen([FETCH] + args, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.q = queue.Queue()
        self.lines = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.p.stdout:
            self.q.put(line.rstrip("\n"))
        self.q.put(None)

    def wait_for(self, pred, timeout=60):
        """Returns the first new line satisfying pred."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                jw.fail("timed out; lines so far: %r" % self.lines)
            try:
                line = self.q.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                jw.fail("creds_fetch exited; lines: %r" % self.lines)
            self.lines.append(line)
            if pred(line):
                return line

    def finish(self):
        out, err = self.p.communicate(timeout=120)
        while True:
            try:
                line = self.q.get(timeout=5)
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
        for bad in ("Sanitizer", "runtime error:"):
            if bad in err:
                jw.fail("creds_fetch stderr has %r:\n%s" % (bad, err))
        return self.p.returncode, err


def fields(line):
    return dict(kv.split("=", 1) for kv in line.split()[1:])


def container_env(fake):
    return {"AWS_CONTAINER_CREDENTIALS_FULL_URI": fake.url + "/container/creds"}


def case_refresh_ahead_of_expiry(tmp, fake):
    # Lifetime 12 s: advisory refresh at expiry - 9 s, i.e. ~3 s after each fetch.
    fake.config(expiry_seconds=12)
    f = Fetch(tmp, container_env(fake), ["--run-seconds", "9"])
    first = fields(f.wait_for(lambda l: l.startswith("ok ")))
    second = fields(f.wait_for(lambda l: l.startswith("refresh ")))
    rc, _ = f.finish()
    jw.check(rc == 0, "rc %d" % rc)
    jw.check(first["source"] == "container" and second["source"] == "container", (first, second))
    jw.check(second["akid"] != first["akid"] and second["secret_sha256"] != first["secret_sha256"], (first, second))
    jw.check(second["expiration"] > first["expiration"] and int(second["refreshes"]) >= 1, second)
    # Still valid while refreshing: the polls never saw a gap.
    jw.check("unavailable" not in f.lines and not any(l.startswith("error") for l in f.lines), f.lines)


def case_refresh_fails_then_recovers(tmp, fake):
    fake.config(expiry_seconds=12)
    f = Fetch(tmp, container_env(fake), ["--run-seconds", "9"])
    first = fields(f.wait_for(lambda l: l.startswith("ok ")))
    fake.fail("container", 3, 500)
    err = f.wait_for(lambda l: l.startswith("error"))
    second = fields(f.wait_for(lambda l: l.startswith("refresh ")))
    f.finish()
    jw.check(err == "error: container: HTTP 500 from credentials endpoint", err)
    jw.check(second["akid"] != first["akid"], (first, second))
    # The old credentials stayed usable while the endpoint failed.
    jw.check("unavailable" not in f.lines, f.lines)
    injected = [e for e in fake.log("container") if e["verdict"].startswith("injected")]
    jw.check(len(injected) == 3, injected)


def case_expired_then_back(tmp, fake):
    fake.config(expiry_seconds=12)
    f = Fetch(tmp, container_env(fake), ["--run-seconds", "30"])
    first = fields(f.wait_for(lambda l: l.startswith("ok ")))
    fake.fail("container", 100000, 503)
    # Past expiry - 3 s, creds_current() gives nothing and requests wait.
    f.wait_for(lambda l: l == "unavailable", timeout=30)
    fake.fail("container", 0, 503)
    back = fields(f.wait_for(lambda l: l.startswith("refresh "), timeout=30))
    f.p.terminate()
    f.finish()
    jw.check(back["akid"] != first["akid"], (first, back))
    jw.check(any(l == "error: container: HTTP 503 from credentials endpoint" for l in f.lines), f.lines)


def case_invalidate(tmp, fake):
    fake.config(expiry_seconds=3600)
    f = Fetch(tmp, container_env(fake), ["--run-seconds", "4", "--invalidate-after", "1"])
    first = fields(f.wait_for(lambda l: l.startswith("ok ")))
    f.wait_for(lambda l: l == "invalidate")
    second = fields(f.wait_for(lambda l: l.startswith("refresh ")))
    rc, _ = f.finish()
    jw.check(second["akid"] != first["akid"] and second["refreshes"] == "1", (first, second))


def case_imds_refresh(tmp, fake):
    fake.config(expiry_seconds=12)
    env = {"AWS_EC2_METADATA_DISABLED": "false", "AWS_EC2_METADATA_SERVICE_ENDPOINT": fake.url}
    before = len(fake.log("imds"))
    f = Fetch(tmp, env, ["--run-seconds", "8"])
    first = fields(f.wait_for(lambda l: l.startswith("ok ")))
    second = fields(f.wait_for(lambda l: l.startswith("refresh ")))
    f.finish()
    jw.check(first["source"] == "imds" and second["akid"] != first["akid"], (first, second))
    tokens = [e for e in fake.log("imds")[before:] if e["verdict"] == "token"]
    jw.check(len(tokens) >= 2, "each refresh runs the IMDSv2 token dance")


def case_process_refresh(tmp, fake):
    script = os.path.join(tmp, "proc.py")
    with open(script, "w") as fh:
        fh.write("""#!/usr/bin/env python3
import datetime, json, os
p = os.path.join(os.path.dirname(os.path.abspath(__file__)), "n")
n = int(open(p).read()) + 1 if os.path.exists(p) else 1
open(p, "w").write(str(n))
exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=12)
print(json.dumps({"Version": 1, "AccessKeyId": "AKIDP%d" % n, "SecretAccessKey": "s%d" % n,
                  "SessionToken": "t", "Expiration": exp.strftime("%Y-%m-%dT%H:%M:%SZ")}))
""")
    os.chmod(script, 0o755)
    with open(os.path.join(tmp, "config"), "w") as fh:
        fh.write("[default]\ncredential_process = %s\n" % script)
    f = Fetch(tmp, {}, ["--run-seconds", "8"])
    first = fields(f.wait_for(lambda l: l.startswith("ok ")))
    second = fields(f.wait_for(lambda l: l.startswith("refresh ")))
    f.finish()
    jw.check(first["akid"] == "AKIDP1" and second["akid"] == "AKIDP2", (first, second))
    jw.check(second["source"] == "credential_process:default", second)


CASES = [case_refresh_ahead_of_expiry, case_refresh_fails_then_recovers, case_expired_then_back, case_invalidate,
         case_imds_refresh, case_process_refresh]


def test(t):
    if not BUILD or not os.access(FETCH, os.X_OK):
        jw.skip("creds_fetch helper not built")
    c = jw.Checks()
    for case in CASES:
        with FakeCredsServer() as fake, tempfile.TemporaryDirectory(prefix="jw-creds-") as tmp:
            c.case(case, tmp, fake)
    c.done()


if __name__ == "__main__":
    jw.main(test)
