#!/usr/bin/python3
"""Helpers of the scenario tests that talk to the daemon's listener (test_fleet_*, test_api_*, ...): an HTTP
client for it (unix socket or TCP), a strict Prometheus text-format (0.0.4) parser, and fake-log helpers.

parser_selftest() checks that the strict parser accepts a valid exposition and rejects each kind of mistake
it exists to catch (a checker that cannot fail proves nothing); test_fleet_api runs it, and so does running
this file."""

import http.client
import math
import os
import re
import socket
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class Api:
    """The daemon's listener.  Api(sock=PATH) or Api(port=N, token=T)."""

    def __init__(self, sock=None, port=None, token=None, timeout=30):
        self.sock = sock
        self.port = port
        self.token = token
        self.timeout = timeout

    def request(self, method, path, body=None, token=None, headers=None):
        """-> (status, headers {lowercase: value}, body bytes).  body: bytes, str or a JSON-able object."""
        if self.sock:
            conn = _UnixConnection(self.sock, self.timeout)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        h = dict(headers or {})
        tok = token if token is not None else self.token
        if tok:
            h["Authorization"] = "Bearer " + tok
        if body is not None and not isinstance(body, (bytes, str)):
            body = jw.json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        if body is not None:
            h.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            conn.close()

    def json(self, method, path, body=None, want=None, token=None):
        """-> (status, parsed JSON or None).  want: the status required (TestFailure otherwise)."""
        st, hdrs, data = self.request(method, path, body, token)
        if want is not None and st != want:
            raise jw.TestFailure("%s %s -> %d, want %d: %s" % (method, path, st, want, data[:500]))
        if not data:
            return st, None
        if not hdrs.get("content-type", "").startswith("application/json"):
            raise jw.TestFailure("%s %s: content type %r" % (method, path, hdrs.get("content-type")))
        return st, jw.json.loads(data)

    def jobs(self, status=None):
        q = "?status=" + status if status else ""
        return self.json("GET", "/v1/jobs" + q, want=200)[1]

    def job(self, arn):
        st, j = self.json("GET", "/v1/jobs/" + urllib.parse.quote(arn, safe=""))
        return j if st == 200 else None

    def metrics(self):
        st, hdrs, data = self.request("GET", "/metrics")
        if st != 200:
            raise jw.TestFailure("/metrics -> %d: %s" % (st, data[:300]))
        ct = hdrs.get("content-type", "")
        jw.check(ct.startswith("text/plain") and "version=0.0.4" in ct, "/metrics content type %r" % ct)
        return parse_prometheus(data.decode("utf-8"))


def start_tcp_daemon(t, token, api_timeout=30):
    """A daemon watching one ACTIVE job of a fresh fake, with a TCP listener on a free loopback port that wants
    token.  Returns (daemon, fake, port, Api) once the listener answers."""
    fake = t.start_fake({"jobs": [{"id": "j1", "steps": [{"at": 0, "status": "ACTIVE"}]}]})
    port = jw.free_port()
    token_file = t.write("http.token", token + "\n", mode=0o600)
    cfg = {
        "aws": {"region": jw.REGION, "endpoint": fake.url, "timeout": "5s"},
        "poll": {"interval": "1s"},
        "jobs": {"arn": [fake.arn("j1")]},
        "state": {"path": t.path("state.db")},
        "journal": {"enabled": False},
        "http": {"listen": "127.0.0.1:%d" % port, "token_file": token_file},
    }
    d = t.start_daemon(cfg, env=jw.aws_env())
    api = Api(port=port, token=token, timeout=api_timeout)
    jw.wait_until(lambda: api.request("GET", "/healthz")[0] in (200, 503), 20, "TCP listener")
    return d, fake, port, api


def wait_for_socket(d, path, timeout=20):
    def ready():
        if not d.alive():
            raise jw.TestFailure("daemon exited (%s):\n%s" % (d.proc.popen.returncode, d.stderr_text()[-3000:]))
        return os.path.exists(path) and Api(sock=path).request("GET", "/healthz")[0] in (200, 503)
    jw.wait_until(ready, timeout, "the control socket %s" % path)


# ---------------------------------------------------------------------------------------------------------
# Prometheus text format 0.0.4, strictly
# ---------------------------------------------------------------------------------------------------------

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(r"^(%s)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$" % _NAME)
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
_TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def _value(s):
    if s in ("+Inf", "Inf"):
        return math.inf
    if s == "-Inf":
        return -math.inf
    if s == "NaN":
        return math.nan
    if not re.match(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$", s):
        raise ValueError("bad value %r" % s)
    return float(s)


def _labels(s, line):
    out = {}
    if s is None or s == "":
        return out
    pos = 0
    while pos < len(s):
        m = _LABEL.match(s, pos)
        if not m:
            raise jw.TestFailure("bad label syntax in %r" % line)
        k = m.group(1)
        if k in out:
            raise jw.TestFailure("duplicate label %s in %r" % (k, line))
        out[k] = m.group(2).replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
        pos = m.end()
        if pos < len(s):
            if s[pos] != ",":
                raise jw.TestFailure("bad label separator in %r" % line)
            pos += 1
    return out


def parse_prometheus(text):
    """-> {family: {"type", "help", "samples": [(name, labels, value)]}}.  Raises TestFailure on any
    deviation: every line a comment, blank or `name{labels} value`; HELP and TYPE once per family, before its
    samples, for every sample; a family's samples in one group; no duplicate series; counters >= 0;
    histogram buckets sorted, cumulative, with +Inf equal to _count."""
    if text and not text.endswith("\n"):
        raise jw.TestFailure("exposition does not end with a newline")
    fams = {}
    closed = set()
    current = None
    seen = set()
    for line in text.split("\n")[:-1] if text else []:
        if line == "":
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not re.match("^%s$" % _NAME, name):
                    raise jw.TestFailure("bad metric name in %r" % line)
                if name in closed:
                    raise jw.TestFailure("%s for family %s after its group ended: %r" % (parts[1], name, line))
                f = fams.setdefault(name, {"type": None, "help": None, "samples": []})
                if f["samples"]:
                    raise jw.TestFailure("%s after samples of %s" % (parts[1], name))
                if parts[1] == "HELP":
                    if f["help"] is not None:
                        raise jw.TestFailure("second HELP for %s" % name)
                    f["help"] = parts[3] if len(parts) > 3 else ""
                else:
                    if f["type"] is not None:
                        raise jw.TestFailure("second TYPE for %s" % name)
                    if len(parts) != 4 or parts[3] not in _TYPES:
                        raise jw.TestFailure("bad TYPE line %r" % line)
                    f["type"] = parts[3]
                if current and current != name:
                    closed.add(current)
                current = name
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise jw.TestFailure("not a sample line: %r" % line)
        name, lab, val = m.group(1), m.group(2), m.group(3)
        try:
            v = _value(val)
        except ValueError:
            raise jw.TestFailure("bad value in %r" % line)
        labels = _labels(lab, line)
        fam = None
        if name in fams:
            fam = name
        else:
            for suf in ("_bucket", "_sum", "_count"):
                base = name[: -len(suf)]
                if name.endswith(suf) and base in fams and fams[base]["type"] in ("histogram", "summary"):
                    if suf == "_bucket" and fams[base]["type"] != "histogram":
                        continue
                    fam = base
        if fam is None:
            raise jw.TestFailure("sample without HELP/TYPE: %r" % line)
        f = fams[fam]
        if f["help"] is None or f["type"] is None:
            raise jw.TestFailure("family %s lacks HELP or TYPE" % fam)
        if fam in closed or (current and current != fam):
            raise jw.TestFailure("samples of %s are not in one group (at %r)" % (fam, line))
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            raise jw.TestFailure("duplicate series %r" % line)
        seen.add(key)
        if f["type"] == "counter" and not v >= 0:
            raise jw.TestFailure("counter below zero: %r" % line)
        if f["type"] == "histogram" and name.endswith("_bucket") and "le" not in labels:
            raise jw.TestFailure("bucket without le: %r" % line)
        f["samples"].append((name, labels, v))
    for fam, f in fams.items():
        if f["type"] == "histogram":
            _check_histogram(fam, f)
    return fams


def _check_histogram(fam, f):
    series = {}
    for name, labels, v in f["samples"]:
        rest = tuple(sorted((k, x) for k, x in labels.items() if k != "le"))
        s = series.setdefault(rest, {"buckets": [], "count": None, "sum": None})
        if name == fam + "_bucket":
            s["buckets"].append((_value(labels["le"]), v))
        elif name == fam + "_count":
            s["count"] = v
        elif name == fam + "_sum":
            s["sum"] = v
        else:
            raise jw.TestFailure("unexpected sample %s in histogram %s" % (name, fam))
    for rest, s in series.items():
        b = s["buckets"]
        if not b or b[-1][0] != math.inf:
            raise jw.TestFailure("histogram %s%s has no +Inf bucket last" % (fam, rest))
        for (le1, v1), (le2, v2) in zip(b, b[1:]):
            if not le2 > le1:
                raise jw.TestFailure("histogram %s buckets not sorted by le" % fam)
            if v2 < v1:
                raise jw.TestFailure("histogram %s buckets not cumulative" % fam)
        if s["count"] is None or s["sum"] is None:
            raise jw.TestFailure("histogram %s lacks _count or _sum" % fam)
        if s["count"] != b[-1][1]:
            raise jw.TestFailure("histogram %s: _count %s != +Inf bucket %s" % (fam, s["count"], b[-1][1]))


def sample(fams, family, name=None, **labels):
    """The value of one series (None if absent)."""
    f = fams.get(family)
    if not f:
        return None
    for n, lab, v in f["samples"]:
        if n == (name or family) and all(lab.get(k) == x for k, x in labels.items()):
            return v
    return None


# ---------------------------------------------------------------------------------------------------------
# the fake's request log
# ---------------------------------------------------------------------------------------------------------

def is_listing_start(r, collaboration_id=None, model_arn=None):
    """A ListAudienceGenerationJobs request for the first page (no nextToken), optionally of one filter."""
    if r.get("op") != "list":
        return False
    q = urllib.parse.parse_qs(r.get("query") or "")
    if "nextToken" in q:
        return False
    if collaboration_id and q.get("collaborationId") != [collaboration_id]:
        return False
    if model_arn and q.get("configuredAudienceModelArn") != [model_arn]:
        return False
    return True


def wait_listings(fake, n, after=0, timeout=60, **filt):
    """Waits until n more first-page List requests (of the filter) follow log index `after`; returns the log
    index of the n-th."""
    def ready():
        recs = fake.requests()
        starts = [i for i, r in enumerate(recs) if i >= after and is_listing_start(r, **filt)]
        return starts[n - 1] + 1 if len(starts) >= n else None
    return jw.wait_until(ready, timeout, "%d more listings %r" % (n, filt))


# ---------------------------------------------------------------------------------------------------------
# self-test of the parser
# ---------------------------------------------------------------------------------------------------------

GOOD = """# HELP a_total A counter.
# TYPE a_total counter
a_total{x="1",y="q\\"uote\\\\"} 3
a_total{x="2"} 0
# HELP h_seconds Latency.
# TYPE h_seconds histogram
h_seconds_bucket{le="0.1"} 1
h_seconds_bucket{le="1"} 4
h_seconds_bucket{le="+Inf"} 5
h_seconds_sum 2.5
h_seconds_count 5
# HELP g A gauge with no samples.
# TYPE g gauge
"""

BAD = {
    "no HELP": "# TYPE a gauge\na 1\n",
    "no TYPE": "# HELP a x\na 1\n",
    "unknown family": "# HELP a x\n# TYPE a gauge\nb 1\n",
    "garbage line": "# HELP a x\n# TYPE a gauge\na{x=\"1\"}\n",
    "bad escape": "# HELP a x\n# TYPE a gauge\na{x=\"\\q\"} 1\n",
    "duplicate": "# HELP a x\n# TYPE a gauge\na 1\na 2\n",
    "not grouped": "# HELP a x\n# TYPE a gauge\na{k=\"1\"} 1\n# HELP b x\n# TYPE b gauge\nb 1\na{k=\"2\"} 1\n",
    "negative counter": "# HELP a_total x\n# TYPE a_total counter\na_total -1\n",
    "not cumulative": "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\n"
                      "h_sum 1\nh_count 2\n",
    "no +Inf": "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_sum 1\nh_count 3\n",
    "count mismatch": "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 3\nh_sum 1\nh_count 4\n",
    "no final newline": "# HELP a x\n# TYPE a gauge\na 1",
    "bad value": "# HELP a x\n# TYPE a gauge\na one\n",
    "second TYPE": "# HELP a x\n# TYPE a gauge\n# TYPE a counter\na 1\n",
}


def parser_selftest(t=None):
    fams = parse_prometheus(GOOD)
    jw.check_eq(sample(fams, "a_total", x="1"), 3.0, "a_total{x=1}")
    jw.check_eq(fams["a_total"]["samples"][0][1]["y"], 'q"uote\\', "unescaped label")
    jw.check_eq(sample(fams, "h_seconds", "h_seconds_count"), 5.0, "histogram count")
    jw.check_eq(fams["g"]["samples"], [], "empty gauge family")
    for what, text in BAD.items():
        try:
            parse_prometheus(text)
        except jw.TestFailure:
            continue
        jw.fail("the parser accepted an exposition with: %s" % what)


if __name__ == "__main__":
    jw.main(parser_selftest)
