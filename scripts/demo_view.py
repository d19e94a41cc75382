#!/usr/bin/env python3
"""The `make demo` driver: the whole jobwatchd pipeline on 127.0.0.1, no AWS account.

    scripts/demo_view.py BUILD_DIR        (normally through scripts/demo.sh)

Starts, in a temporary directory that is removed afterwards,
  - tests/fake/fake_crml.py with tests/fake/demo_scenario.json, checking every request's SigV4 signature,
  - tests/fake/webhook_receiver.py with a fresh whsec_ secret, checking every Standard Webhooks signature,
  - BUILD_DIR/jobwatchd with config/demo.conf plus a drop-in holding the ports, paths and secret,
prints what happens as it happens (transitions from the state database's events table, webhooks from the
receiver's log, API retries from the daemon's debug log), then a summary, and exits 0 when everything the
scenario is built to show did happen (a failed job, a deleted job gone, a stuck job, jobs reaching ACTIVE, a
job that appears late, throttling and a 503 retried, every event delivered with a valid signature), 1 when
something did not, 130 when interrupted.  Python 3 standard library only.
"""

import argparse
import base64
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

DEADLINE_S = 45.0  # from the daemon's start; the scenario needs ~27 s
REGION = "us-east-1"
# Not a secret; the secret key is random per run and only in the daemon's environment and a 0600 file.
DEMO_AKID = "AKIAJWDEMO0000000000"
SANITIZER_PATTERNS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                      "SUMMARY: UndefinedBehaviorSanitizer")


class Interrupted(Exception):
    pass


class Style:
    """ANSI colours only when stdout is a terminal (and NO_COLOR is unset)."""

    def __init__(self):
        tty = sys.stdout.isatty() and os.environ.get("TERM", "dumb") != "dumb" and "NO_COLOR" not in os.environ
        codes = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "blue": "34",
                 "magenta": "35", "cyan": "36"}
        for name, code in codes.items():
            setattr(self, name, (lambda s, c=code: "\033[%sm%s\033[0m" % (c, s)) if tty else (lambda s: s))
        utf8 = "utf" in (getattr(sys.stdout, "encoding", "") or "").lower()
        self.arrow = "→" if utf8 else "->"
        self.ok = "✓" if utf8 else "ok"
        self.bad = "✗" if utf8 else "FAIL"
        self.retry = "↻" if utf8 else "~"
        self.dot = "·" if utf8 else ","
        self.rule = "─" if utf8 else "-"


S = None  # the Style, set in main()


def out(line=""):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def hms(epoch_s):
    return time.strftime("%H:%M:%S", time.localtime(epoch_s))


try:
    _LIBC = ctypes.CDLL(None, use_errno=True)  # loaded here: the child between fork and exec only calls it
except OSError:
    _LIBC = None


def _die_with_parent():
    # A demo killed with SIGKILL must not leave its children running.
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG


class Procs:
    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []  # (name, Popen), in start order

    def start(self, name, argv, env=None):
        o = open(os.path.join(self.tmp, name + ".stdout"), "wb")
        e = open(os.path.join(self.tmp, name + ".stderr"), "wb")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=o, stderr=e, env=env, cwd=self.tmp,
                             close_fds=True, preexec_fn=_die_with_parent)
        o.close()
        e.close()
        self.procs.append((name, p))
        return p

    def stop(self, p, timeout=20):
        """SIGTERM, wait, SIGKILL if needed; returns the exit code."""
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
                return p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
        return p.wait()

    def stop_all(self):
        for _, p in reversed(self.procs):
            self.stop(p, 10)

    def stderr(self, name):
        try:
            with open(os.path.join(self.tmp, name + ".stderr"), encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""


def wait_port(proc, name, path, procs, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("%s exited (%s) before listening:\n%s" % (name, proc.returncode,
                                                                         procs.stderr(name)[-2000:]))
        try:
            with open(path) as f:
                txt = f.read().strip()
            if txt:
                return int(txt)
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.05)
    raise RuntimeError("%s did not start listening within %ds" % (name, timeout))


class Tail:
    """New complete lines of a growing file."""

    def __init__(self, path):
        self.path = path
        self.pos = 0
        self.buf = b""

    def lines(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except FileNotFoundError:
            return []
        self.pos += len(data)
        self.buf += data
        *done, self.buf = self.buf.split(b"\n")
        return [d.decode("utf-8", "replace") for d in done if d.strip()]


class Notify:
    """A NOTIFY_SOCKET for the daemon, so the demo can show the STATUS= line systemctl status shows."""

    def __init__(self):
        self.addr = "jobwatchd-demo-%d" % os.getpid()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.sock.bind("\0" + self.addr)
        self.sock.settimeout(0.2)
        self.status = None
        self.ready = False
        self.stopped = False

    def start(self):
        # After the children are started: preexec_fn and threads do not mix.
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while not self.stopped:
            try:
                data = self.sock.recv(65536).decode("utf-8", "replace")
            except socket.timeout:
                continue
            except OSError:
                return
            for line in data.split("\n"):
                if line == "READY=1":
                    self.ready = True
                elif line.startswith("STATUS="):
                    self.status = line[len("STATUS="):]

    def close(self):
        self.stopped = True
        self.sock.close()


def http_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read().decode())


class Demo:
    def __init__(self, source_dir, build_dir, tmp):
        self.src = source_dir
        self.build = build_dir
        self.tmp = tmp
        self.procs = Procs(tmp)
        self.notify = None
        with open(os.path.join(source_dir, "tests", "fake", "demo_scenario.json"), encoding="utf-8") as f:
            self.scenario = json.load(f)
        account = self.scenario.get("account", "111122223333")
        self.names = {}
        # Audience generation jobs ("jobs") and resources of the other kinds ("resources", with their ARN):
        # the others show their kind after their name.
        self.entries = self.scenario["jobs"] + self.scenario.get("resources", [])
        for j in self.entries:
            arn = j.get("arn") or "arn:aws:cleanrooms-ml:%s:%s:audience-generation-job/%s" % (REGION, account,
                                                                                              j["id"])
            name = j.get("name") or arn.rsplit("/", 1)[-1]
            kind = j.get("kind", "audience-generation-job")
            self.names[arn] = name if kind == "audience-generation-job" else "%s [%s]" % (name, kind)
        self.late = {arn for arn, j in zip(self.names, self.entries) if j.get("appearAt", 0) > 0}
        # Where each job ends: its last step's status, or GONE when the scenario deletes it.  The demo ends
        # once every job got there (and everything was delivered), not after a fixed time.
        self.final = {arn: "GONE" if "deleteAt" in j else (j.get("steps") or [{"status": "CREATE_PENDING"}])[-1][
            "status"] for arn, j in zip(self.names, self.entries)}
        self.width = max(len(n) for n in self.names.values())
        # What happened (filled by the live view).
        self.events = []  # rows of the events table
        self.json_posts = []  # receiver records for the json hook
        self.slack_posts = []
        self.retries = 0
        self.poll_failures = 0
        self.log_errors = []

    # -- setup ------------------------------------------------------------------------------------------
    def path(self, *p):
        return os.path.join(self.tmp, *p)

    def write(self, name, text, mode=0o600):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        return p

    def start(self):
        py = sys.executable or "/usr/bin/python3"
        fake_dir = os.path.join(self.src, "tests", "fake")
        self.aws_secret = base64.b64encode(os.urandom(30)).decode()
        self.whsec = "whsec_" + base64.b64encode(os.urandom(24)).decode()
        creds = self.write("fake-credentials.json", json.dumps([{"accessKeyId": DEMO_AKID,
                                                                 "secretAccessKey": self.aws_secret}]))
        secret_file = self.write("webhook.secret", self.whsec + "\n")

        fake = self.procs.start("fake", [py, os.path.join(fake_dir, "fake_crml.py"), "--port", "0",
                                         "--port-file", self.path("fake.port"), "--scenario",
                                         os.path.join(self.src, "tests", "fake", "demo_scenario.json"),
                                         "--log", self.path("fake.requests.jsonl"), "--seed", "1",
                                         "--verify-sigv4", "--region", REGION, "--credentials-file", creds])
        recv = self.procs.start("receiver", [py, os.path.join(fake_dir, "webhook_receiver.py"), "--port", "0",
                                             "--port-file", self.path("receiver.port"), "--log",
                                             self.path("receiver.posts.jsonl"), "--secret-file", secret_file])
        self.fake_port = wait_port(fake, "fake", self.path("fake.port"), self.procs)
        self.recv_port = wait_port(recv, "receiver", self.path("receiver.port"), self.procs)
        self.fake_url = "http://127.0.0.1:%d" % self.fake_port

        # config/demo.conf as it is, plus a drop-in with what only exists now.
        shutil.copyfile(os.path.join(self.src, "config", "demo.conf"), self.path("demo.conf"))
        self.db = self.path("state.db")
        self.write("demo.conf.d/local.conf",
                   "# Written by scripts/demo_view.py: this run's ports, paths and secret.\n"
                   "[aws]\nendpoint = %s\n\n[state]\npath = %s\n\n"
                   "[webhook \"ops\"]\nurl = http://127.0.0.1:%d/hooks/jobwatchd\nsecret_file = %s\n\n"
                   "[webhook \"chat\"]\nurl = http://127.0.0.1:%d/slack\n"
                   % (self.fake_url, self.db, self.recv_port, secret_file, self.recv_port))
        self.conf = self.path("demo.conf")
        self.stuck_after = "20s"
        with open(self.conf, encoding="utf-8") as f:
            m = re.search(r"^stuck_after\s*=\s*(\S+)", f.read(), re.M)
            if m:
                self.stuck_after = m.group(1)

        binary = os.path.join(self.build, "jobwatchd")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and k not in ("NOTIFY_SOCKET", "JOURNAL_STREAM", "WATCHDOG_USEC",
                                                         "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID",
                                                         "CREDENTIALS_DIRECTORY", "STATE_DIRECTORY")}
        env["HOME"] = self.path("home")  # no ~/.aws of the user
        os.makedirs(env["HOME"], exist_ok=True)
        if os.environ.get("JW_SANITIZE", "0") not in ("", "0", "OFF", "off"):
            env["ASAN_OPTIONS"] = "halt_on_error=1:abort_on_error=0:detect_leaks=1:print_summary=1"
            env["UBSAN_OPTIONS"] = "halt_on_error=1:abort_on_error=0:print_stacktrace=1"
            env["LSAN_OPTIONS"] = "exitcode=23"
        r = subprocess.run([binary, "--check-config", "-c", self.conf], env=env, capture_output=True, text=True,
                           timeout=60)
        if r.returncode != 0:
            raise RuntimeError("jobwatchd --check-config rejected the demo configuration:\n%s" % r.stderr)
        check_line = (r.stdout.strip() or r.stderr.strip()).splitlines()[-1]

        self.notify = Notify()
        env["NOTIFY_SOCKET"] = "@" + self.notify.addr
        env["AWS_ACCESS_KEY_ID"] = DEMO_AKID
        env["AWS_SECRET_ACCESS_KEY"] = self.aws_secret
        self.header(binary, check_line)
        self.daemon = self.procs.start("jobwatchd", [binary, "run", "-c", self.conf, "--log-target", "stderr",
                                                     "--log-level", "debug"], env=env)
        self.notify.start()
        self.t0 = time.monotonic()

    def header(self, binary, check_line):
        n_jobs = len(self.scenario["jobs"])
        n_other = len(self.scenario.get("resources", []))
        faults = []
        for f in self.scenario.get("faults", []):
            what = {"throttle": "429 burst", "503": "a 503", "500": "a 500"}.get(f["kind"], f["kind"])
            faults.append("%s at ~%gs" % (what, f.get("from", 0)))
        faults = ", ".join(faults) or "no faults"
        out(S.bold("jobwatchd demo") + " " + S.dim("-- everything on 127.0.0.1, no AWS account, no root"))
        out("  fake Clean Rooms ML  %s  %s" % (self.fake_url, S.dim("(%d jobs, %d other resources; SigV4 checked; %s)" % (
            n_jobs, n_other, faults))))
        out("  webhook receiver     http://127.0.0.1:%d  %s" % (self.recv_port,
                                                                S.dim("(Standard Webhooks signatures checked)")))
        out("  jobwatchd            %s run -c %s" % (os.path.relpath(binary, self.src) if binary.startswith(
            self.src) else binary, self.conf))
        out("                       %s" % S.dim(check_line))
        out("  state database       %s" % self.db)
        out("")

    # -- live view --------------------------------------------------------------------------------------
    def name(self, arn):
        return self.names.get(arn) or arn.rsplit("/", 1)[-1]

    def show_event(self, ev):
        t = hms(ev["detected_ms"] / 1000.0)
        name = self.name(ev["arn"]).ljust(self.width)
        typ, prev, st = ev["type"], ev["previous_status"], ev["status"]
        details = ""
        try:
            sd = json.loads(ev["payload"] or "{}").get("statusDetails") or {}
            if sd:
                details = "  (%s)" % ": ".join(x for x in (sd.get("statusCode"), sd.get("message")) if x)
        except ValueError:
            pass

        def colour(s):
            if s and s.endswith("_FAILED"):
                return S.red(s)
            if s in ("ACTIVE", "INACTIVE"):
                return S.green(s)
            return s

        if typ == "job.discovered":
            text = "%s  %s" % (S.dim("discovered in"), colour(st))
        elif typ == "job.status_changed":
            text = "%s %s %s%s" % (prev, S.arrow, colour(st), S.red(details) if details else "")
        elif typ == "job.stuck":
            text = S.yellow("stuck in %s for more than %s" % (st, self.stuck_after))
        elif typ == "job.gone":
            text = S.magenta("%s %s gone (404 ResourceNotFoundException)" % (prev or "?", S.arrow))
        else:
            text = "%s %s" % (typ, st)
        out("%s  %s  %s" % (S.dim(t), S.bold(name), text))

    def show_post(self, rec):
        try:
            body = json.loads(rec.get("body") or "{}")
        except ValueError:
            body = {}
        pad = " " * 10
        if rec.get("path", "").startswith("/hooks/"):
            self.json_posts.append(rec)
            data = body.get("data") or {}
            sig = S.green("signature " + S.ok) if rec.get("verified") else S.red(
                "signature %s %s" % (S.bad, rec.get("verify_error", "")))
            out("%s%s  %s %s  %s" % (pad, S.cyan(S.arrow + " webhook"), body.get("type", "?").ljust(18),
                                    (data.get("name") or self.name(data.get("jobArn", ""))).ljust(self.width), sig))
        else:
            self.slack_posts.append(rec)
            out("%s%s  %s" % (pad, S.cyan(S.arrow + " slack  "), S.dim(json.dumps(body.get("text", ""),
                                                                             ensure_ascii=False))))

    def show_log(self, line):
        m = re.search(r"retrying in (\d+) ms", line)
        if m and "[debug]" in line:
            self.retries += 1
            msg = line.split("]: ", 1)[-1]
            out("%s  %s" % (" " * 8, S.yellow("%s API %s" % (S.retry, msg))))
            return
        if "[debug]" in line or "[info]" in line or "[notice]" in line:
            return
        msg = line.split("]: ", 1)[-1]
        m = re.match(r"poll of (\S+) failed: (.*)", msg)
        if m:
            self.poll_failures += 1
            why = re.sub(r"\s*\(request id [^)]*\)", "", m.group(2))
            if m.group(1) in self.late:
                why = why.split(":", 1)[0]
            hint = " -- not created yet, retried with backoff" if m.group(1) in self.late else ""
            out("%s  %s" % (" " * 8, S.yellow("! %s: poll failed: %s%s" % (self.name(m.group(1)), why[:90],
                                                                          hint))))
            return
        if "[err" in line or "[crit" in line or "[alert" in line or "[emerg" in line:
            self.log_errors.append(msg)
        out("%s  %s" % (" " * 8, S.red(line.strip()[:160])))

    def new_events(self, last_seq):
        if not os.path.exists(self.db):
            return []
        try:
            con = sqlite3.connect(self.db, timeout=2)
            try:
                con.row_factory = sqlite3.Row
                return [dict(r) for r in con.execute(
                    "SELECT seq, id, type, arn, previous_status, status, detected_ms, payload FROM events "
                    "WHERE seq > ? ORDER BY seq", (last_seq,)).fetchall()]
            finally:
                con.close()
        except sqlite3.Error:
            return []  # not created yet, or busy: next round

    def pending_deliveries(self):
        try:
            con = sqlite3.connect(self.db, timeout=2)
            try:
                return con.execute("SELECT count(*) FROM deliveries WHERE state = 'pending' AND sink LIKE "
                                   "'webhook:%'").fetchone()[0]
            finally:
                con.close()
        except sqlite3.Error:
            return -1

    def last_status(self):
        last = {}
        for e in self.events:
            if e["type"] != "job.stuck":
                last[e["arn"]] = e["status"]
        return last

    def facts(self):
        """What the scenario is built to show, from what was observed."""
        ev = self.events
        changed = [e for e in ev if e["type"] == "job.status_changed"]
        failed = {e["arn"] for e in changed if (e["status"] or "").endswith("_FAILED")}
        failed_details = {e["arn"] for e in changed if (e["status"] or "").endswith("_FAILED") and
                          (json.loads(e["payload"] or "{}").get("statusDetails") or {}).get("statusCode")}
        return {
            "failed": len(failed),
            "failed_with_details": len(failed_details),
            "gone": len({e["arn"] for e in ev if e["type"] == "job.gone"}),
            "stuck": len({e["arn"] for e in ev if e["type"] == "job.stuck"}),
            "active": sum(1 for st in self.last_status().values() if st == "ACTIVE"),
            "other_kinds": len({e["arn"] for e in ev if ":membership/" in e["arn"]}),
            "late": len({e["arn"] for e in ev if e["type"] == "job.discovered" and e["arn"] in self.late}),
            "verified": sum(1 for p in self.json_posts if p.get("verified") is True),
            "rejected": sum(1 for p in self.json_posts if p.get("verified") is not True),
            "event_ids_delivered": len({(p.get("headers") or {}).get("webhook-id") for p in self.json_posts
                                        if p.get("verified") is True}),
        }

    def complete(self):
        f = self.facts()
        return (self.last_status() == self.final and f["failed_with_details"] >= 1 and f["gone"] >= 1 and f["stuck"] >= 1 and f["active"] >= 1 and
                f["late"] >= len(self.late) and f["event_ids_delivered"] >= len(self.events) > 0 and
                self.slack_posts and self.pending_deliveries() == 0)

    def watch(self):
        ev_seq = 0
        posts = Tail(self.path("receiver.posts.jsonl"))
        log = Tail(self.path("jobwatchd.stderr"))
        while True:
            for line in log.lines():
                self.show_log(line)
            for e in self.new_events(ev_seq):
                ev_seq = e["seq"]
                self.events.append(e)
                self.show_event(e)
            for line in posts.lines():
                try:
                    self.show_post(json.loads(line))
                except ValueError:
                    pass
            if self.daemon.poll() is not None:
                return "jobwatchd exited early with status %s" % self.daemon.returncode
            if self.complete():
                return None
            if time.monotonic() - self.t0 > DEADLINE_S:
                return "not everything happened within %.0f s" % DEADLINE_S
            time.sleep(0.2)

    # -- summary ----------------------------------------------------------------------------------------
    def finish(self, watch_error):
        try:
            stats = http_json(self.fake_url + "/_fake/stats")
        except (OSError, ValueError) as e:
            stats = {}
            watch_error = watch_error or "cannot read the fake's stats: %s" % e
        rc = self.procs.stop(self.daemon, 30)
        stderr = self.procs.stderr("jobwatchd")
        sanitizer = [p for p in SANITIZER_PATTERNS if p in stderr]
        status_line = self.notify.status if self.notify else None

        f = self.facts()
        by_type = {}
        for e in self.events:
            by_type[e["type"]] = by_type.get(e["type"], 0) + 1
        st = stats.get("status", {})
        throttled = st.get("429", 0)
        fivexx = sum(n for k, n in st.items() if k.isdigit() and k.startswith("5"))
        notfound = st.get("404", 0)
        sig = stats.get("sigv4", {})
        sig_ok = sig.get("ok", 0)
        sig_bad = sum(n for k, n in sig.items() if k != "ok")
        ops = stats.get("op", {})
        delivered = {}
        try:
            con = sqlite3.connect(self.db, timeout=5)
            try:
                for sink, state, n in con.execute("SELECT sink, state, count(*) FROM deliveries GROUP BY 1, 2"):
                    delivered.setdefault(sink, {})[state] = n
            finally:
                con.close()
        except sqlite3.Error:
            pass

        checks = [
            ("a failed job with statusDetails", f["failed_with_details"] >= 1),
            ("a deleted job gone", f["gone"] >= 1),
            ("a stuck job", f["stuck"] >= 1),
            ("jobs reaching ACTIVE", f["active"] >= 1),
            ("a trained model and an inference job watched beside the jobs", f["other_kinds"] >= 2),
            ("every job in its final state", self.last_status() == self.final),
            ("the late job discovered", f["late"] >= len(self.late)),
            ("every event delivered, signature verified",
             f["verified"] > 0 and f["rejected"] == 0 and f["event_ids_delivered"] >= len(self.events)),
            ("alerts on the slack hook", len(self.slack_posts) > 0),
            ("every API request correctly signed", sig_ok > 0 and sig_bad == 0),
            ("throttling and 5xx retried", throttled > 0 and fivexx > 0 and self.retries > 0),
            ("jobwatchd stopped cleanly (exit 0)", rc == 0 and not sanitizer),
        ]
        d = S.dot
        out("")
        out(S.bold(S.rule * 3 + " summary " + S.rule * 60))
        out("events recorded     %d  %s" % (len(self.events), (" %s " % d).join(
            "%s %d" % (t.split(".", 1)[1], by_type[t]) for t in sorted(by_type))))
        out("jobs                %d watched %s ACTIVE %d %s failed %d %s gone %d %s stuck %d %s appeared late %d" % (
            len(self.names), d, f["active"], d, f["failed"], d, f["gone"], d, f["stuck"], d, f["late"]))
        out("webhooks            json %d received, %d verified, %d rejected %s slack %d received" % (
            len(self.json_posts), f["verified"], f["rejected"], d, len(self.slack_posts)))
        out("deliveries          %s" % ((" %s " % d).join(
            "%s: %s" % (sink, ", ".join("%d %s" % (n, s) for s, n in sorted(v.items())))
            for sink, v in sorted(delivered.items())) or "none"))
        out("API calls           %d (Get %d, List %d) %s SigV4 checked by the fake: %d ok, %d bad" % (
            sum(n for k, n in ops.items() if k != "control"), ops.get("get", 0), ops.get("list", 0), d, sig_ok,
            sig_bad))
        out("error answers       throttled (429) %d %s 5xx %d %s not found (404) %d" % (throttled, d, fivexx, d,
                                                                                    notfound))
        out("client retries      %d %s poll failures after retries %d" % (self.retries, d, self.poll_failures))
        out("daemon              exit %s%s" % (rc, (" %s sanitizer report: %s" % (d, ", ".join(sanitizer)))
                                               if sanitizer else ""))
        if status_line:
            out("last STATUS=        %s" % status_line)
        out("")
        for what, ok in checks:
            out("  %s %s" % (S.green(S.ok) if ok else S.red(S.bad), what))
        failed = [w for w, ok in checks if not ok]
        if watch_error and not failed:
            failed = [watch_error]
        out("")
        if failed:
            out(S.red(S.bold("demo FAILED")) + ": " + "; ".join(failed) + (" (%s)" % watch_error
                                                                         if watch_error else ""))
            tail = [line for line in stderr.strip().splitlines() if "[debug]" not in line][-25:]
            if tail:
                out(S.dim("--- last lines of the daemon's log (without debug) ---"))
                for line in tail:
                    out(S.dim(line))
            return 1
        out(S.green(S.bold("demo OK")) + ": every transition detected, stored and delivered with a valid "
            "signature. Try it on a real account: see README.md.")
        return 0


def main():
    global S
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build_dir")
    ap.add_argument("--source-dir", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (for debugging)")
    args = ap.parse_args()
    S = Style()
    build = os.path.abspath(args.build_dir)
    if not os.access(os.path.join(build, "jobwatchd"), os.X_OK):
        sys.stderr.write("demo: %s/jobwatchd is not built (run make first)\n" % build)
        return 2

    def on_signal(signum, frame):
        raise Interrupted(signal.Signals(signum).name)

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)

    tmp = tempfile.mkdtemp(prefix="jobwatchd-demo.")
    demo = Demo(os.path.abspath(args.source_dir), build, tmp)
    rc = 1
    try:
        demo.start()
        err = demo.watch()
        rc = demo.finish(err)
    except Interrupted as e:
        out("")
        out("demo: interrupted (%s), stopping everything" % e)
        rc = 130
    except RuntimeError as e:
        out("demo: %s" % e)
        rc = 1
    finally:
        # Ignore further Ctrl-C while cleaning up, so nothing is left behind.
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        demo.procs.stop_all()
        if demo.notify:
            demo.notify.close()
        if args.keep or (rc == 1 and os.environ.get("JW_DEMO_KEEP")):
            out("demo: kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
