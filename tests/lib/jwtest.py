"""jwtest — harness for jobwatchd scenario tests (Python 3 standard library only).

A scenario test looks like:

    import os, sys
    sys.path.insert(0, os.path.join(os.environ["JW_SOURCE_DIR"], "tests", "lib"))
    import jwtest as jw

    def test(t):
        fake = t.start_fake({"jobs": [{"id": "j1", "steps": [{"at": 0, "status": "CREATE_IN_PROGRESS"}]}]})
        d = t.start_daemon({"aws": {"region": "us-east-1", "endpoint": fake.url}, "jobs": {"arn": [fake.arn("j1")]}},
                           env=jw.aws_env())
        jw.wait_until(lambda: d.notify_has("READY=1"), 10, "daemon READY")
        ...
    jw.main(test)

jw.main() creates a temp dir (removed on success, kept and printed on failure), stops every process started
through `t`, prints the tails of their stderr on failure, and exits 0 (pass), 1 (fail) or 77 (skip).
"""

import base64
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

SKIP = 77
SOURCE_DIR = os.environ.get("JW_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD_DIR = os.environ.get("JW_BUILD_DIR") or os.path.join(SOURCE_DIR, "build")
SANITIZE = os.environ.get("JW_SANITIZE", "0") not in ("", "0", "OFF", "off", "FALSE", "false")
FAKE_DIR = os.path.join(SOURCE_DIR, "tests", "fake")
PYTHON = sys.executable or "/usr/bin/python3"

# Distinctive test credentials (tests search outputs for them: they must never appear in logs).
AKID = "AKIDJWTESTEXAMPLE01"
SECRET = "jwTestSecretKey/Zz9+DoNotLogMe0000000000"
TOKEN = "jwTestSessionToken//DoNotLogMe+AAAAAAAA=="
REGION = "us-east-1"
ACCOUNT = "111122223333"

SANITIZER_PATTERNS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                      "SUMMARY: UndefinedBehaviorSanitizer", "ERROR: ThreadSanitizer")


class TestFailure(AssertionError):
    pass


class Skip(Exception):
    pass


def skip(msg):
    """Skip the test (exit 77).  Inside jw.main() this raises so cleanup still runs."""
    raise Skip(msg)


def fail(msg):
    raise TestFailure(msg)


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def check_eq(got, want, what):
    if got != want:
        raise TestFailure("%s: got %r, want %r" % (what, got, want))


def wait_until(predicate, timeout=10.0, what="condition", interval=0.05):
    """Poll predicate() until it returns a truthy value (returned) or raise TestFailure after timeout.
    Exceptions from predicate are treated as 'not yet' and the last one is reported."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = predicate()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 — report the last one
            last_exc = e
        if time.monotonic() >= deadline:
            extra = " (last error: %r)" % (last_exc,) if last_exc else ""
            raise TestFailure("timed out after %.1fs waiting for %s%s" % (timeout, what, extra))
        time.sleep(interval)


def free_port():
    """A currently free TCP port on 127.0.0.1 (prefer --port 0 + port files where a program supports it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_tcp(handler):
    """Listens on 127.0.0.1 (a free port) and runs handler(conn) in a thread per connection, until the
    returned socket is closed.  -> (listening socket, port)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)

    def accept():
        while True:
            try:
                c, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=handler, args=(c,), daemon=True).start()
    threading.Thread(target=accept, daemon=True).start()
    return sock, sock.getsockname()[1]


def splice(a, b):
    """Copies bytes both ways between two connected sockets (a relay: TLS terminator, CONNECT tunnel) until
    either direction ends, then shuts both down.  Blocks until a -> b ends."""
    def pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
    threading.Thread(target=pump, args=(b, a), daemon=True).start()
    pump(a, b)


def job_arn(job_id, region=REGION, account=ACCOUNT):
    return "arn:aws:cleanrooms-ml:%s:%s:audience-generation-job/%s" % (region, account, job_id)


def cam_arn(name, region=REGION, account=ACCOUNT):
    return "arn:aws:cleanrooms-ml:%s:%s:configured-audience-model/%s" % (region, account, name)


def aws_env(akid=AKID, secret=SECRET, token=None, region=REGION):
    """Environment variables for static AWS credentials."""
    e = {"AWS_ACCESS_KEY_ID": akid, "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": region}
    if token:
        e["AWS_SESSION_TOKEN"] = token
    return e


def isolated_aws_env(t, **extra):
    """Environment in which only what the test sets reaches the AWS credential chain and endpoint resolution:
    no shared config or credentials file, no IMDS, every AWS_* variable of the caller blanked; extra on top."""
    e = {"HOME": t.dir, "AWS_CONFIG_FILE": t.path("no-aws-config"),
         "AWS_SHARED_CREDENTIALS_FILE": t.path("no-aws-credentials"), "AWS_EC2_METADATA_DISABLED": "true"}
    for k in list(os.environ):
        if k.startswith("AWS_"):
            e.setdefault(k, "")
    e.update(extra)
    return e


def daemon_path():
    return os.path.join(BUILD_DIR, "jobwatchd")


def read_jsonl(path):
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        pass  # a line being written right now
    except FileNotFoundError:
        pass
    return out


def ini_text(cfg):
    """dict -> INI text.  {"aws": {"region": "x"}, 'webhook "a"': {...}, "jobs": {"arn": [a, b]}}.
    List values become repeated keys; bool -> yes/no; a str is returned unchanged."""
    if isinstance(cfg, str):
        return cfg
    lines = []
    for section, keys in cfg.items():
        lines.append("[%s]" % section)
        for k, v in keys.items():
            for item in (v if isinstance(v, (list, tuple)) else [v]):
                if isinstance(item, bool):
                    item = "yes" if item else "no"
                lines.append("%s = %s" % (k, item))
        lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------
# sqlite helpers (state database)
# ---------------------------------------------------------------------------------------------------------

def sqlite_rows(db_path, sql, args=()):
    """Run a query on a (possibly live, WAL) database; returns a list of dicts."""
    con = sqlite3.connect(db_path, timeout=10)
    try:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute(sql, args).fetchall()]
    finally:
        con.close()


def sqlite_tables(db_path):
    return [r["name"] for r in sqlite_rows(db_path, "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]


def sqlite_integrity(db_path):
    rows = sqlite_rows(db_path, "PRAGMA integrity_check")
    return [list(r.values())[0] for r in rows]


def sqlite_user_version(db_path):
    return sqlite_rows(db_path, "PRAGMA user_version")[0]["user_version"]


# ---------------------------------------------------------------------------------------------------------
# processes
# ---------------------------------------------------------------------------------------------------------

class Proc:
    """A started program with stdout/stderr in files under the test dir."""

    def __init__(self, t, name, argv, env=None, cwd=None):
        self.t = t
        self.name = name
        self.argv = argv
        self.stdout_path = t.path("%s.stdout" % name)
        self.stderr_path = t.path("%s.stderr" % name)
        self._out = open(self.stdout_path, "ab")
        self._err = open(self.stderr_path, "ab")
        self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._err,
                                      env=env, cwd=cwd or t.dir, close_fds=True)
        self.pid = self.popen.pid
        self.returncode = None
        t._procs.append(self)

    def alive(self):
        return self.popen.poll() is None

    def kill(self, sig=signal.SIGTERM):
        if self.popen.poll() is None:
            try:
                os.kill(self.popen.pid, sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout=30):
        """Wait for exit; returns the exit code (negative = signal).  Raises TestFailure on timeout."""
        try:
            self.returncode = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TestFailure("%s (pid %d) did not exit within %ss" % (self.name, self.pid, timeout))
        self._close()
        return self.returncode

    def _close(self):
        for f in (self._out, self._err):
            try:
                f.close()
            except OSError:
                pass

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Signal, wait, SIGKILL if needed; returns the exit code."""
        if self.popen.poll() is None:
            self.kill(sig)
            try:
                self.returncode = self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill(signal.SIGKILL)
                self.returncode = self.popen.wait(10)
        else:
            self.returncode = self.popen.returncode
        self._close()
        return self.returncode

    def stderr_text(self):
        try:
            with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stdout_text(self):
        try:
            with open(self.stdout_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""


def _wait_port_file(proc, path, timeout=15):
    def ready():
        if not proc.alive():
            raise TestFailure("%s exited with %s before listening:\n%s" %
                              (proc.name, proc.popen.returncode, proc.stderr_text()[-3000:]))
        try:
            with open(path) as f:
                txt = f.read().strip()
            return int(txt) if txt else None
        except (FileNotFoundError, ValueError):
            return None
    return wait_until(ready, timeout, "%s to listen (port file %s)" % (proc.name, path))


class _Http:
    """Tiny JSON-over-HTTP(S) client for control APIs."""

    def __init__(self, base, cafile=None):
        self.base = base
        self.ctx = ssl.create_default_context(cafile=cafile) if base.startswith("https") else None

    def call(self, method, path, body=None, timeout=30):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self.ctx) as r:
                txt = r.read().decode()
        except urllib.error.HTTPError as e:
            raise TestFailure("%s %s -> %d: %s" % (method, path, e.code, e.read().decode(errors="replace")))
        return json.loads(txt) if txt else None


class Fake:
    """A running tests/fake/fake_crml.py."""

    def __init__(self, t, name, scenario, tls, verify_sigv4, credentials, region, cert, key, extra_args, seed):
        self.t = t
        self.name = name
        self.scenario = dict(scenario or {})
        self.region = region or self.scenario.get("region", REGION)
        self.account = str(self.scenario.get("account", ACCOUNT))
        self.scenario_path = t.write("%s.scenario.json" % name, json.dumps(self.scenario, indent=1))
        self.log_path = t.path("%s.requests.jsonl" % name)
        port_file = t.path("%s.port" % name)
        argv = [PYTHON, os.path.join(FAKE_DIR, "fake_crml.py"), "--port", "0", "--port-file", port_file,
                "--scenario", self.scenario_path, "--log", self.log_path]
        self.ca = None
        if tls:
            ca = t.make_ca()
            self.ca = ca["ca"]
            argv += ["--tls-cert", cert or ca["server_cert"], "--tls-key", key or ca["server_key"]]
        if verify_sigv4:
            creds = credentials if credentials is not None else [(AKID, SECRET, None)]
            cred_list = [{"accessKeyId": c[0], "secretAccessKey": c[1], **({"sessionToken": c[2]} if len(c) > 2
                                                                             and c[2] else {})} for c in creds]
            # secrets go through a file, never the command line (visible in ps)
            cf = t.write("%s.credentials.json" % name, json.dumps(cred_list))
            os.chmod(cf, 0o600)
            argv += ["--verify-sigv4", "--credentials-file", cf, "--region", self.region]
        if seed is not None:
            argv += ["--seed", str(seed)]
        argv += list(extra_args or [])
        self.proc = Proc(t, name, argv)
        self.port = _wait_port_file(self.proc, port_file)
        self.host = "127.0.0.1"
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.port)
        self.http = _Http(self.url, self.ca)

    def arn(self, job_id):
        return job_arn(job_id, self.region, self.account)

    def control(self, method, path, body=None):
        return self.http.call(method, "/_fake" + path, body)

    def requests(self, op=None):
        """Parsed request log (list of dicts); op filters "get", "list" or "control"."""
        recs = [r for r in read_jsonl(self.log_path) if "note" not in r]
        return [r for r in recs if op is None or r.get("op") == op]

    def notes(self):
        return [r["note"] for r in read_jsonl(self.log_path) if "note" in r]

    def truth(self):
        """{arn: {status, updateTime, exists, deleted, statusDetails, name, ...}} for every job."""
        return {j["arn"]: j for j in self.control("GET", "/jobs")["jobs"]}

    def set_job(self, arn_or_id, status=None, **fields):
        """Add or update a job now (status change bumps updateTime).  Returns the ARN."""
        spec = dict(fields)
        spec["arn" if arn_or_id.startswith("arn:") else "id"] = arn_or_id
        if status is not None:
            spec["status"] = status
        return self.control("POST", "/jobs", spec)["arns"][0]

    def delete_job(self, arn_or_id):
        arn = arn_or_id if arn_or_id.startswith("arn:") else self.arn(arn_or_id)
        return self.control("DELETE", "/jobs/" + urllib.parse.quote(arn, safe=""))

    def add_fault(self, kind, **spec):
        """e.g. add_fault("throttle", duration=5) or add_fault("reset", job=arn, count=2).  Returns the fault id."""
        spec["kind"] = kind
        return self.control("POST", "/faults", spec)["ids"][0]

    def clear_faults(self):
        self.control("DELETE", "/faults")

    def faults(self):
        return self.control("GET", "/faults")["faults"]

    def stats(self):
        return self.control("GET", "/stats")

    def reset_stats(self):
        self.control("DELETE", "/stats")

    def now(self):
        """Scenario time (seconds since the fake started, divided by timeScale)."""
        return self.control("GET", "/time")["now"]

    def bus_events(self):
        """Every PutEvents entry the fake's EventBridge accepted, in order (Detail parsed)."""
        return self.control("GET", "/eventbridge/events")["events"]

    def refuse_entries(self, every, code="ThrottlingException", message="Rate exceeded"):
        """From now on PutEvents refuses every `every`-th entry with `code` (0: none)."""
        return self.control("POST", "/eventbridge", {"refuseEvery": every, "errorCode": code,
                                                      "errorMessage": message})

    def add_credentials(self, akid, secret, token=None, replace=False):
        c = {"accessKeyId": akid, "secretAccessKey": secret}
        if token:
            c["sessionToken"] = token
        return self.control("POST", "/credentials", {"credentials": [c], "replace": replace})

    def stop(self):
        rc = self.proc.stop()
        if rc not in (0, -signal.SIGTERM):
            raise TestFailure("fake %s exited with %s:\n%s" % (self.name, rc, self.proc.stderr_text()[-3000:]))
        return rc


class Receiver:
    """A running tests/fake/webhook_receiver.py."""

    def __init__(self, t, name, secret, script, tls, cert, key):
        self.t = t
        self.name = name
        self.secret = secret
        self.log_path = t.path("%s.posts.jsonl" % name)
        port_file = t.path("%s.port" % name)
        argv = [PYTHON, os.path.join(FAKE_DIR, "webhook_receiver.py"), "--port", "0", "--port-file", port_file,
                "--log", self.log_path]
        if secret:
            sf = t.write("%s.secret" % name, secret)
            os.chmod(sf, 0o600)
            argv += ["--secret-file", sf]
        if script:
            argv += ["--script", t.write("%s.script.json" % name, json.dumps(script))]
        self.ca = None
        if tls:
            ca = t.make_ca()
            self.ca = ca["ca"]
            argv += ["--tls-cert", cert or ca["server_cert"], "--tls-key", key or ca["server_key"]]
        self.proc = Proc(t, name, argv)
        self.port = _wait_port_file(self.proc, port_file)
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.port)
        self.http = _Http(self.url, self.ca)

    def posts(self):
        """Every recorded POST: {time, index, path, headers, body, verified, status, ...}."""
        return read_jsonl(self.log_path)

    def bodies(self):
        return [json.loads(p["body"]) for p in self.posts()]

    def set_script(self, script):
        self.http.call("POST", "/_recv/script", script)

    def stop(self):
        return self.proc.stop()


class Daemon:
    """A running `jobwatchd run -c FILE`."""

    def __init__(self, t, name, config, env, notify, args, binary, watchdog_usec, config_name):
        self.t = t
        self.name = name
        self.binary = binary or daemon_path()
        if not os.access(self.binary, os.X_OK):
            raise TestFailure("daemon binary %s is missing (build first)" % self.binary)
        self.config_path = t.path(config_name or "%s.conf" % name)
        self.write_config(config)
        e = {k: v for k, v in os.environ.items()
             if not k.startswith("AWS_") and k not in ("NOTIFY_SOCKET", "JOURNAL_STREAM", "WATCHDOG_USEC",
                                                       "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID",
                                                       "CREDENTIALS_DIRECTORY", "STATE_DIRECTORY")}
        e["HOME"] = t.path("home")
        os.makedirs(e["HOME"], exist_ok=True)
        if SANITIZE:
            e["ASAN_OPTIONS"] = "halt_on_error=1:abort_on_error=0:detect_leaks=1:print_summary=1"
            e["UBSAN_OPTIONS"] = "halt_on_error=1:abort_on_error=0:print_stacktrace=1"
            e["LSAN_OPTIONS"] = "exitcode=23"
        self.checked = False  # stop() looked for sanitizer reports
        self._notify_sock = None
        self._notify_msgs = []
        self._notify_lock = threading.Lock()
        if notify:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            addr = "jwtest-notify-%d-%d-%s" % (os.getpid(), id(self), name)
            s.bind("\0" + addr)
            s.settimeout(0.2)
            self._notify_sock = s
            e["NOTIFY_SOCKET"] = "@" + addr
            if watchdog_usec:
                e["WATCHDOG_USEC"] = str(int(watchdog_usec))
            threading.Thread(target=self._notify_reader, daemon=True).start()
        e.update(env or {})
        self.env = e
        argv = [self.binary, "run", "-c", self.config_path] + list(args or [])
        self.proc = Proc(t, name, argv, env=e)
        self.pid = self.proc.pid

    def write_config(self, config):
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(ini_text(config))
        os.chmod(self.config_path, 0o600)

    def reload(self, config=None):
        """Rewrite the config (if given) and send SIGHUP."""
        if config is not None:
            self.write_config(config)
        self.kill(signal.SIGHUP)

    def _notify_reader(self):
        s = self._notify_sock
        while s.fileno() >= 0:
            try:
                data = s.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            with self._notify_lock:
                self._notify_msgs.append((time.monotonic(), data.decode(errors="replace")))

    def notify_messages(self, with_times=False):
        """Every datagram received on NOTIFY_SOCKET (strings like "READY=1\\nSTATUS=...")."""
        with self._notify_lock:
            msgs = list(self._notify_msgs)
        return msgs if with_times else [m for _, m in msgs]

    def notify_assignments(self):
        """Flattened list of "KEY=VALUE" lines across all messages, in order."""
        return [line for m in self.notify_messages() for line in m.split("\n") if line]

    def notify_has(self, line):
        return line in self.notify_assignments()

    def alive(self):
        return self.proc.alive()

    def kill(self, sig=signal.SIGTERM):
        self.proc.kill(sig)

    def wait(self, timeout=30):
        return self.proc.wait(timeout)

    def stderr_text(self):
        return self.proc.stderr_text()

    def stdout_text(self):
        return self.proc.stdout_text()

    def sanitizer_reports(self):
        txt = self.stderr_text()
        return [p for p in SANITIZER_PATTERNS if p in txt]

    def stop(self, sig=signal.SIGTERM, timeout=30, expect_rc=0):
        """Signal, wait, then check the exit code (expect_rc=None: any) and sanitizer reports."""
        rc = self.proc.stop(sig, timeout)
        if self._notify_sock is not None:
            # The process is gone: whatever it sent is queued.  Let the reader
            # thread take it, then close.
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:
                with self._notify_lock:
                    n = len(self._notify_msgs)
                time.sleep(0.25)
                with self._notify_lock:
                    if len(self._notify_msgs) == n:
                        break
            self._notify_sock.close()
        rep = self.sanitizer_reports()
        self.checked = True
        if rep:
            raise TestFailure("sanitizer report in %s stderr (%s):\n%s" % (self.name, ", ".join(rep),
                                                                         self.stderr_text()[-6000:]))
        if expect_rc is not None and rc != expect_rc:
            raise TestFailure("%s exited with %s, want %s; stderr:\n%s" % (self.name, rc, expect_rc,
                                                                          self.stderr_text()[-4000:]))
        return rc


class T:
    """Per-test context: temp dir and every process started by the test."""

    def __init__(self, name):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="jw-%s-" % name)
        self._procs = []
        self._daemons = []
        self._ca = None
        self._n = {}

    def _unique(self, base):
        self._n[base] = self._n.get(base, 0) + 1
        return base if self._n[base] == 1 else "%s%d" % (base, self._n[base])

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def write(self, name, text, mode=None):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w" if isinstance(text, str) else "wb") as f:
            f.write(text)
        if mode is not None:
            os.chmod(p, mode)
        return p

    def make_ca(self):
        """Run tests/fake/make_ca.sh once per test; returns paths: ca, ca_key, server_cert, server_key,
        other_ca, wronghost_cert, wronghost_key."""
        if self._ca is None:
            d = self.path("tls")
            r = subprocess.run(["bash", os.path.join(FAKE_DIR, "make_ca.sh"), d], capture_output=True, text=True)
            if r.returncode != 0:
                raise TestFailure("make_ca.sh failed: %s" % r.stderr)
            self._ca = {"dir": d, "ca": os.path.join(d, "ca.pem"), "ca_key": os.path.join(d, "ca.key"),
                        "server_cert": os.path.join(d, "server.pem"), "server_key": os.path.join(d, "server.key"),
                        "other_ca": os.path.join(d, "other-ca.pem"),
                        "wronghost_cert": os.path.join(d, "wronghost.pem"),
                        "wronghost_key": os.path.join(d, "wronghost.key")}
        return self._ca

    def start_fake(self, scenario=None, tls=False, verify_sigv4=False, credentials=None, region=None,
                   cert=None, key=None, extra_args=None, seed=None, name=None):
        """Start the fake.  credentials: list of (akid, secret[, token]) accepted by --verify-sigv4
        (default [(AKID, SECRET)]).  cert/key override the TLS server certificate (e.g. wronghost)."""
        return Fake(self, self._unique(name or "fake"), scenario, tls, verify_sigv4, credentials, region, cert,
                    key, extra_args, seed)

    def start_receiver(self, secret=None, script=None, tls=False, cert=None, key=None, name=None):
        return Receiver(self, self._unique(name or "receiver"), secret, script, tls, cert, key)

    def start_daemon(self, config, env=None, notify=True, args=None, binary=None, watchdog_usec=None,
                     name=None, config_name=None):
        """config: INI text or dict (see ini_text).  env: extra environment (AWS_* etc.; the test's own AWS_*,
        NOTIFY_SOCKET and JOURNAL_STREAM are removed first)."""
        d = Daemon(self, self._unique(name or "jobwatchd"), config, env, notify, args, binary, watchdog_usec,
                   config_name)
        self._daemons.append(d)
        return d

    def run(self, argv, env=None, timeout=60, input=None):
        """Run a short command to completion; returns CompletedProcess (text)."""
        e = dict(os.environ)
        e.update(env or {})
        return subprocess.run(argv, env=e, cwd=self.dir, capture_output=True, text=True, timeout=timeout,
                              input=input)

    def run_cli(self, args, env=None, timeout=60, outputs=None):
        """`jobwatchd ARGS` to completion (CompletedProcess); a sanitizer report fails the test; stdout and
        stderr are appended to outputs (a list) when given, for checks over every run."""
        r = self.run([daemon_path()] + list(args), env=env, timeout=timeout)
        if outputs is not None:
            outputs.append(r.stdout + r.stderr)
        for pat in SANITIZER_PATTERNS:
            if pat in r.stderr:
                fail("sanitizer report for %s:\n%s" % (args, r.stderr[-4000:]))
        return r

    def cleanup(self, failed):
        errors = []
        for d in reversed(self._daemons):
            if d.proc.alive():
                try:
                    d.stop(expect_rc=None)
                except TestFailure as e:
                    errors.append(str(e))
            elif not d.checked:
                rep = d.sanitizer_reports()
                if rep:
                    errors.append("sanitizer report in %s stderr:\n%s" % (d.name, d.stderr_text()[-6000:]))
        for p in reversed(self._procs):
            p.stop()
        if failed or errors:
            for p in self._procs:
                txt = p.stderr_text()
                if txt.strip():
                    sys.stderr.write("---- %s stderr (last 3000 chars) ----\n%s\n" % (p.name, txt[-3000:]))
        return errors


def main(fn, name=None):
    """Run fn(t) with a fresh T; exit 0 / 1 / 77."""
    name = name or re.sub(r"\.py$", "", os.path.basename(sys.argv[0]))
    t = T(name)
    rc = 0
    try:
        fn(t)
    except Skip as e:
        print("SKIP: %s" % e)
        rc = SKIP
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        rc = 1
    errors = t.cleanup(rc == 1)
    if errors and rc != 1:
        for e in errors:
            sys.stderr.write("FAIL at cleanup: %s\n" % e)
        rc = 1
    if rc == 1:
        print("FAIL: %s (test dir kept: %s)" % (name, t.dir))
    else:
        shutil.rmtree(t.dir, ignore_errors=True)
        if rc == 0:
            print("PASS: %s" % name)
    sys.stdout.flush()
    sys.exit(rc)


class Checks:
    """Collects named sub-checks so one run reports all failures: c = Checks(); c.ok(cond, msg); c.done()."""

    def __init__(self):
        self.passed = 0
        self.failed = []

    def ok(self, cond, msg):
        if cond:
            self.passed += 1
        else:
            self.failed.append(msg)
            sys.stderr.write("  not ok: %s\n" % msg)
        return cond

    def eq(self, got, want, msg):
        return self.ok(got == want, "%s: got %r, want %r" % (msg, got, want))

    def case(self, fn, *args):
        """Runs fn(*args) as one check named after fn: a failure (or crash) is reported with its traceback
        and the next case still runs."""
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001 -- a crash of one case is that case's failure
            traceback.print_exc()
            return self.ok(False, "%s: %s" % (fn.__name__, e))
        print("ok   %s" % fn.__name__)
        return self.ok(True, fn.__name__)

    def done(self):
        print("%d checks passed, %d failed" % (self.passed, len(self.failed)))
        if self.failed:
            raise TestFailure("%d check(s) failed:\n  %s" % (len(self.failed), "\n  ".join(self.failed)))


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()
