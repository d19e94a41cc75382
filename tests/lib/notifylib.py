"""notifylib — shared helpers for the notifier scenario tests (webhooks and journald).

Builds on jwtest: a receiver that can be stopped and restarted on the same port, daemon configs with
[webhook "NAME"] sections, the outbox as stored in the state database, and checks of delivered posts
against it.  Python 3 standard library only.
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import re
import subprocess

import jwtest as jw
import lifecycles as lc

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def version():
    """The project version from `jobwatchd --version` (User-Agent: jobwatchd/VERSION)."""
    r = subprocess.run([jw.daemon_path(), "--version"], capture_output=True, text=True, timeout=10)
    m = re.search(r"jobwatchd\s+(\S+)", r.stdout + r.stderr)
    if not m:
        raise jw.TestFailure("cannot read the version from jobwatchd --version: %r" % (r.stdout + r.stderr))
    return m.group(1)


def new_secret(seed=b""):
    """A fresh Standard Webhooks secret 'whsec_<base64 of 24 bytes>'."""
    raw = os.urandom(24) if not seed else hashlib.sha256(seed).digest()[:24]
    return "whsec_" + base64.b64encode(raw).decode()


def sign(secret, msg_id, timestamp, body):
    """Independent of the receiver: 'v1,<b64 HMAC-SHA256("{id}.{ts}.{body}")>'."""
    key = base64.b64decode(secret[len("whsec_"):])
    mac = hmac.new(key, ("%s.%s." % (msg_id, timestamp)).encode() + body.encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def parse_rfc3339(s):
    if not isinstance(s, str) or not RFC3339.match(s):
        raise ValueError("not RFC 3339: %r" % (s,))
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def hdr(post, name):
    """A header of a recorded post, case-insensitively (None when absent)."""
    for k, v in post["headers"].items():
        if k.lower() == name.lower():
            return v
    return None


class Receiver(jw.Receiver):
    """jw.Receiver that can be stopped and restarted on the same port (same log file), so a daemon
    configured with its URL sees it go down and come back."""

    def __init__(self, t, name, secret=None, script=None, port=0):
        self.t = t
        self.name = name
        self.secret = secret
        self.log_path = t.path("%s.posts.jsonl" % name)
        self.secret_path = None
        if secret:
            self.secret_path = t.write("%s.secret" % name, secret)
            os.chmod(self.secret_path, 0o600)
        self.ca = None
        self.port = port
        self.proc = None
        self.generation = 0
        self.start(script)

    def start(self, script=None):
        self.generation += 1
        port_file = self.t.path("%s.%d.port" % (self.name, self.generation))
        argv = [jw.PYTHON, os.path.join(jw.FAKE_DIR, "webhook_receiver.py"), "--port", str(self.port),
                "--port-file", port_file, "--log", self.log_path]
        if self.secret_path:
            argv += ["--secret-file", self.secret_path]
        if script:
            argv += ["--script", self.t.write("%s.%d.script.json" % (self.name, self.generation),
                                              json.dumps(script))]
        self.proc = jw.Proc(self.t, "%s-%d" % (self.name, self.generation), argv)
        self.port = jw._wait_port_file(self.proc, port_file)
        self.url = "http://127.0.0.1:%d" % self.port
        self.http = jw._Http(self.url, None)

    def restart(self, script=None):
        self.stop()
        self.start(script)

    def alive(self):
        return self.proc is not None and self.proc.alive()

    def posts(self, path=None):
        recs = jw.read_jsonl(self.log_path)
        return [p for p in recs if path is None or p.get("path") == path]


def hook(url, fmt="json", secret_file=None, headers_file=None, on=None, timeout="5s", max_pending=None):
    """One [webhook "NAME"] section as a dict for jwtest.ini_text."""
    h = {"url": url, "format": fmt, "timeout": timeout}
    if secret_file:
        h["secret_file"] = secret_file
    if headers_file:
        h["headers_file"] = headers_file
    if on:
        h["on"] = on
    if max_pending is not None:
        h["max_pending"] = max_pending
    return h


def config(fake, db, arns, hooks, interval="200ms", journal=False, extra=None):
    """lifecycles.daemon_config plus [webhook "NAME"] sections (hooks: {name: hook(...)})."""
    cfg = lc.daemon_config(fake, db, arns, interval=interval, extra=extra)
    cfg["journal"] = {"enabled": journal}
    for name, h in hooks.items():
        cfg['webhook "%s"' % name] = h
    return cfg


def daemon_env(time_scale=None, extra=None):
    e = jw.aws_env()
    if time_scale is not None:
        e["JW_WEBHOOK_TIME_SCALE"] = str(time_scale)
    e.update(extra or {})
    return e


# ---------------------------------------------------------------------------------------------------------
# the outbox in the state database
# ---------------------------------------------------------------------------------------------------------

def events(db):
    """Every stored event in seq order: {seq, id, type, arn, previous_status, status, payload}."""
    return lc.stored_events(db)


def deliveries(db, sink):
    """Delivery rows of one sink ("webhook:NAME" or "journal") joined with their event, in seq order."""
    return jw.sqlite_rows(db, "SELECT d.seq, d.state, d.attempts, d.last_error, e.id, e.type, e.arn, e.status, "
                              "e.previous_status FROM deliveries d JOIN events e ON e.seq = d.seq "
                              "WHERE d.sink = ? ORDER BY d.seq", (sink,))


def sink_states(db, sink):
    """{state: count} for one sink."""
    out = {}
    for r in jw.sqlite_rows(db, "SELECT state, COUNT(*) AS n FROM deliveries WHERE sink = ? GROUP BY state",
                            (sink,)):
        out[r["state"]] = r["n"]
    return out


def all_done(db, sink):
    """True when the sink has at least one delivery and every one is done."""
    try:
        st = sink_states(db, sink)
    except Exception:  # noqa: BLE001 — database being created
        return False
    return st.get("done", 0) > 0 and set(st) == {"done"}


def post_ids(posts):
    return [hdr(p, "webhook-id") for p in posts]


def check_order_per_job(c, posts, db, what):
    """Per jobArn, the first deliveries (by arrival) follow events.seq.  Uses the webhook-id header."""
    seq_of = {r["id"]: (r["seq"], r["arn"]) for r in events(db)}
    first = []
    seen = set()
    for p in posts:
        i = hdr(p, "webhook-id")
        if i in seen or i not in seq_of:
            continue
        seen.add(i)
        first.append(i)
    per_job = {}
    for i in first:
        seq, arn = seq_of[i]
        per_job.setdefault(arn, []).append(seq)
    bad = {arn: s for arn, s in per_job.items() if s != sorted(s)}
    c.ok(not bad, "%s: deliveries out of event order for %d jobs: %s" % (what, len(bad), list(bad.items())[:3]))
    return per_job


def check_attempt_order_per_job(c, posts, db, what):
    """Stricter than check_order_per_job: every attempt (whatever its answer) of a job's event comes after
    every earlier event of that job that the receiver ever saw was accepted with a 2xx -- a job's event is
    never even tried while an earlier one of the same job is still undelivered.  Posts in arrival order."""
    seq_of = {r["id"]: (r["seq"], r["arn"]) for r in events(db)}
    seen = {}
    for p in posts:
        i = hdr(p, "webhook-id")
        if i in seq_of:
            seq, arn = seq_of[i]
            seen.setdefault(arn, set()).add(seq)
    accepted = set()
    bad = []
    for p in posts:
        i = hdr(p, "webhook-id")
        if i not in seq_of:
            continue
        seq, arn = seq_of[i]
        waiting = [s for s in seen[arn] if s < seq and s not in accepted]
        if waiting:
            bad.append((arn, seq, sorted(waiting)))
        if isinstance(p.get("status"), int) and 200 <= p["status"] < 300:
            accepted.add(seq)
    c.ok(not bad, "%s: %d attempts of an event before an earlier event of its job was accepted: %s"
         % (what, len(bad), bad[:3]))


def final_reached(db, fake, kinds):
    """Every job's last stored event has its lifecycle's final status.  (A daemon started late on a loaded
    machine may miss an early status; these tests are about delivering what was stored, so they do not
    insist on the exact sequence -- test_engine_lifecycle does.)"""
    try:
        got = lc.sequences(lc.stored_events(db))
    except Exception:  # noqa: BLE001 — database being created
        return False
    want = lc.expected(fake, kinds)
    return all(got.get(arn) and got[arn][-1][2] == ev[-1][2] for arn, ev in want.items())


def wait_stored(db, fake, kinds, timeout=90):
    """Waits until every job reached its final event, then returns the stored events (ids unique)."""
    jw.wait_until(lambda: final_reached(db, fake, kinds), timeout, "every job's final event stored")
    rows = events(db)
    ids = [r["id"] for r in rows]
    if len(ids) != len(set(ids)):
        raise jw.TestFailure("duplicate event ids in the state database")
    return rows


def fake_flip_time(fake, arn):
    """updateTime of the job in the fake's truth (the moment it changed status), as a datetime."""
    j = fake.truth()[arn]
    return parse_rfc3339(j["updateTime"])


# ---------------------------------------------------------------------------------------------------------
# the daemon's HTTP listener ([http] listen = unix:PATH)
# ---------------------------------------------------------------------------------------------------------

def unix_get(sock_path, path, timeout=10):
    """GET over the daemon's unix-socket listener -> (status, body text)."""
    import http.client
    import socket

    class Conn(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(sock_path)

    c = Conn("localhost", timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode("utf-8", errors="replace")
    finally:
        c.close()


def metric_samples(text, name):
    """{frozenset of (label, value): float} for every sample of one metric in Prometheus text format."""
    out = {}
    for line in text.splitlines():
        m = re.match(r'^%s(?:\{(.*)\})?\s+(\S+)' % re.escape(name), line)
        if not m:
            continue
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(1) or ""))
        out[labels] = float(m.group(2))
    return out
