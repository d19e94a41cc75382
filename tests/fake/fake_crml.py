#!/usr/bin/python3
"""Fake AWS Clean Rooms ML service (restJson1) for jobwatchd tests.

Speaks GetAudienceGenerationJob and ListAudienceGenerationJobs exactly as the
real service does on the wire, driven by a JSON scenario (timed job status
sequences and faults), with an unsigned control API under /_fake/ for tests.
See tests/fake/README.md for the scenario format and the control API.

Python 3 standard library only.
"""

import argparse
import base64
import datetime
import email.utils
import hashlib
import hmac
import http.server
import json
import os
import random
import re
import select
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse
import uuid

SERVICE = "cleanrooms-ml"
JOB_ARN_RE = re.compile(
    r"^arn:aws[-a-z]*:cleanrooms-ml:[-a-z0-9]+:[0-9]{12}:audience-generation-job/[-a-zA-Z0-9_/.]+$")
CAM_ARN_RE = re.compile(
    r"^arn:aws[-a-z]*:cleanrooms-ml:[-a-z0-9]+:[0-9]{12}:configured-audience-model/[-a-zA-Z0-9_/.]+$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# A URI label or query value as an SDK sends it: unreserved characters and %XX only.
ENCODED_RE = re.compile(r"^(?:[A-Za-z0-9\-._~]|%[0-9A-Fa-f]{2})*$")
STATUSES = ("CREATE_PENDING", "CREATE_IN_PROGRESS", "CREATE_FAILED", "ACTIVE", "DELETE_PENDING",
            "DELETE_IN_PROGRESS", "DELETE_FAILED")
SUMMARY_FIELDS = ("createTime", "updateTime", "audienceGenerationJobArn", "name", "description", "status",
                  "configuredAudienceModelArn", "collaborationId", "startedBy")
FAULT_KINDS = ("500", "503", "throttle", "reset", "stall", "slow", "truncated", "malformed", "huge",
               "unknown_status", "invalid_status", "missing_fields", "expired_token", "access_denied", "validation",
               "not_found", "bare_404", "unknown_operation")
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# EventBridge PutEvents (awsJson1_1): signing name, limits, the entry codes that mean "try again".
EVENTS_SERVICE = "events"
PUTEVENTS_MAX_ENTRIES = 10
PUTEVENTS_MAX_BYTES = 256 * 1024
EVENT_BUS_RE = re.compile(r"^(arn:aws[\w-]*:events:[a-z]{2}-[a-z]+-[\w-]+:[0-9]{12}:event-bus/)?[/.\-_A-Za-z0-9]+$")
DEFAULT_COLLAB = "a1b2c3d4-0000-4000-8000-00000000c011"


def iso(ts):
    """Unix seconds -> '2024-01-15T12:00:00.123Z' (millisecond precision)."""
    d = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (d.microsecond // 1000)


def parse_iso(s):
    s = s.strip()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    return datetime.datetime.fromisoformat(s).timestamp()


# ---------------------------------------------------------------------------
# SigV4 verification: an implementation independent of the daemon's C signer.
# ---------------------------------------------------------------------------

def _q(s, safe):
    return urllib.parse.quote(s, safe=safe)


def sigv4_canonical_uri(raw_path):
    """Non-S3 rule: the wire path URI-encoded once more ('%' -> '%25'), '/' kept."""
    if not raw_path:
        return "/"
    return _q(raw_path, "/-_.~")


def sigv4_canonical_query(raw_query):
    pairs = []
    if raw_query:
        for part in raw_query.split("&"):
            if part == "":
                continue
            k, _, v = part.partition("=")
            k = urllib.parse.unquote(k)
            v = urllib.parse.unquote(v)
            pairs.append((_q(k, "-_.~"), _q(v, "-_.~")))
    pairs.sort()
    return "&".join("%s=%s" % kv for kv in pairs)


def sigv4_canonical_header_value(values):
    return ",".join(" ".join(v.strip().split()) for v in values)


def sigv4_signing_key(secret, date, region, service):
    k = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


def sigv4_sign(method, raw_path, raw_query, headers, body, secret, region, service, amz_date, signed):
    """headers: list of (name, value); signed: list of lower-case header names.
    Returns (canonical_request, string_to_sign, signature_hex)."""
    by_name = {}
    for n, v in headers:
        by_name.setdefault(n.lower(), []).append(v)
    canon_headers = "".join("%s:%s\n" % (h, sigv4_canonical_header_value(by_name.get(h, [])))
                            for h in signed)
    payload = None
    for n, v in headers:
        if n.lower() == "x-amz-content-sha256":
            payload = v.strip()
    if payload is None:
        payload = hashlib.sha256(body or b"").hexdigest()
    creq = "\n".join([method, sigv4_canonical_uri(raw_path), sigv4_canonical_query(raw_query), canon_headers,
                      ";".join(signed), payload])
    scope = "%s/%s/%s/aws4_request" % (amz_date[:8], region, service)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])
    key = sigv4_signing_key(secret, amz_date[:8], region, service)
    return creq, sts, hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()


def sigv4_authorization(method, raw_path, raw_query, headers, body, akid, secret, region,
                        service=SERVICE, amz_date=None, session_token=None):
    """Client-side helper for tests: returns the headers to add (x-amz-date, [token], authorization).
    `headers` must contain host."""
    if amz_date is None:
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    hdrs = list(headers) + [("x-amz-date", amz_date)]
    if session_token:
        hdrs.append(("x-amz-security-token", session_token))
    signed = sorted({n.lower() for n, _ in hdrs})
    _, _, sig = sigv4_sign(method, raw_path, raw_query, hdrs, body, secret, region, service, amz_date, signed)
    auth = "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s" % (
        akid, amz_date[:8], region, service, ";".join(signed), sig)
    out = [("x-amz-date", amz_date)]
    if session_token:
        out.append(("x-amz-security-token", session_token))
    out.append(("Authorization", auth))
    return out


AUTH_RE = re.compile(r"^AWS4-HMAC-SHA256\s+(.*)$")


def parse_authorization(value):
    m = AUTH_RE.match(value.strip())
    if not m:
        return None
    parts = {}
    for item in m.group(1).split(","):
        k, eq, v = item.strip().partition("=")
        if not eq:
            return None
        parts[k.strip()] = v.strip()
    if not {"Credential", "SignedHeaders", "Signature"} <= parts.keys():
        return None
    return parts


def sigv4_verify(method, raw_path, raw_query, headers, body, credentials, region, now=None,
                 service=SERVICE, skew=900):
    """Verify a request.  credentials: list of dicts {accessKeyId, secretAccessKey, sessionToken?}.
    Returns (None, index_of_credential) on success or ((error_type, message), None)."""
    now = time.time() if now is None else now
    hv = {}
    for n, v in headers:
        hv.setdefault(n.lower(), []).append(v)
    auth = hv.get("authorization")
    if not auth:
        return ("IncompleteSignatureException", "Missing Authorization header"), None
    parts = parse_authorization(auth[0])
    if parts is None:
        return ("IncompleteSignatureException", "Authorization header is not AWS4-HMAC-SHA256 "
                "with Credential, SignedHeaders and Signature"), None
    cred = parts["Credential"].split("/")
    if len(cred) != 5 or cred[4] != "aws4_request":
        return ("IncompleteSignatureException", "Malformed credential scope"), None
    akid, date, c_region, c_service = cred[0], cred[1], cred[2], cred[3]
    signed = parts["SignedHeaders"].split(";")
    if signed != sorted(signed) or any(s != s.lower() or not s for s in signed):
        return ("InvalidSignatureException", "SignedHeaders must be lower-case and sorted"), None
    if "host" not in signed:
        return ("InvalidSignatureException", "'Host' must be a signed header"), None
    for h in signed:
        if h not in hv:
            return ("InvalidSignatureException", "Signed header %s is missing from the request" % h), None
    amz = hv.get("x-amz-date")
    if not amz:
        return ("IncompleteSignatureException", "Missing X-Amz-Date header"), None
    amz_date = amz[0].strip()
    try:
        t = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except ValueError:
        return ("IncompleteSignatureException", "Malformed X-Amz-Date"), None
    if "x-amz-date" not in signed:
        return ("InvalidSignatureException", "'X-Amz-Date' must be a signed header"), None
    if abs(t - now) > skew:
        return ("InvalidSignatureException", "Signature expired: %s is outside the 15 minute window" % amz_date), None
    if date != amz_date[:8]:
        return ("InvalidSignatureException", "Credential scope date does not match X-Amz-Date"), None
    if c_region != region:
        return ("InvalidSignatureException", "Credential should be scoped to a valid region, not '%s'" % c_region), None
    if c_service != service:
        return ("InvalidSignatureException", "Credential should be scoped to correct service: '%s'" % service), None
    idx = None
    for i, c in enumerate(credentials):
        if hmac.compare_digest(c["accessKeyId"], akid):
            idx = i
            break
    if idx is None:
        return ("UnrecognizedClientException", "The security token included in the request is invalid."), None
    c = credentials[idx]
    tok = hv.get("x-amz-security-token")
    if c.get("sessionToken"):
        if not tok or not hmac.compare_digest(tok[0].strip(), c["sessionToken"]):
            return ("UnrecognizedClientException", "The security token included in the request is invalid."), None
        if "x-amz-security-token" not in signed:
            return ("InvalidSignatureException", "X-Amz-Security-Token must be signed"), None
    elif tok:
        return ("UnrecognizedClientException", "The security token included in the request is invalid."), None
    body_hash = hashlib.sha256(body or b"").hexdigest()
    ch = hv.get("x-amz-content-sha256")
    if ch and ch[0].strip() not in (body_hash, "UNSIGNED-PAYLOAD"):
        return ("InvalidSignatureException", "x-amz-content-sha256 does not match the body"), None
    _, _, expect = sigv4_sign(method, raw_path, raw_query, headers, body, c["secretAccessKey"], c_region,
                              c_service, amz_date, signed)
    if not hmac.compare_digest(expect, parts["Signature"]):
        return ("InvalidSignatureException", "The request signature we calculated does not match the "
                "signature you provided."), None
    return None, idx


# ---------------------------------------------------------------------------
# Scenario state
# ---------------------------------------------------------------------------

class ScenarioError(Exception):
    pass


class Job:
    def __init__(self, spec, fake, appear_default=0.0):
        self.region = fake.region
        self.account = fake.account
        arn = spec.get("arn")
        if not arn:
            jid = spec.get("id")
            if not jid:
                raise ScenarioError("job needs 'arn' or 'id': %r" % (spec,))
            arn = "arn:aws:cleanrooms-ml:%s:%s:audience-generation-job/%s" % (fake.region, fake.account, jid)
        if not JOB_ARN_RE.match(arn):
            raise ScenarioError("invalid job ARN %r" % arn)
        self.arn = arn
        self.seq = fake.next_seq()
        self.name = spec.get("name") or arn.rsplit("/", 1)[-1][:63]
        self.collaboration_id = spec.get("collaborationId", DEFAULT_COLLAB)
        self.cam_arn = spec.get("configuredAudienceModelArn",
                                "arn:aws:cleanrooms-ml:%s:%s:configured-audience-model/cam-default" %
                                (fake.region, fake.account))
        self.appear_at = float(spec.get("appearAt", appear_default))
        self.delete_at = float(spec["deleteAt"]) if spec.get("deleteAt") is not None else None
        self.extra = {k: spec[k] for k in ("description", "seedAudience", "includeSeedInOutput", "startedBy",
                                           "tags", "protectedQueryIdentifier", "createTime") if k in spec}
        seed = self.extra.get("seedAudience")
        if seed is not None and (not isinstance(seed, dict) or
                                 ("dataSource" in seed) == ("sqlParameters" in seed)):
            # What the service requires at StartAudienceGenerationJob, so what a real job has.
            raise ScenarioError("seedAudience needs exactly one of dataSource and sqlParameters: %r" % (seed,))
        self.steps = []
        steps = spec.get("steps") or [{"at": self.appear_at, "status": spec.get("status", "CREATE_PENDING")}]
        for s in steps:
            self.add_step(s, fake)

    def add_step(self, s, fake, at=None, update_time=None):
        if "status" not in s:
            raise ScenarioError("step needs 'status': %r" % (s,))
        at = float(s.get("at", self.appear_at)) if at is None else at
        step = {"at": at, "status": s["status"]}
        for k in ("statusDetails", "metrics"):
            if k in s:
                step[k] = s[k]
        if update_time is not None:
            step["updateTime"] = update_time
        elif "updateTime" in s:
            step["updateTime"] = parse_iso(s["updateTime"]) if isinstance(s["updateTime"], str) else float(
                s["updateTime"])
        self.steps.append(step)
        self.steps.sort(key=lambda x: x["at"])

    def create_time(self, fake):
        if "createTime" in self.extra:
            return parse_iso(self.extra["createTime"])
        return fake.wall_of(self.appear_at)

    def exists(self, now):
        return now >= self.appear_at and (self.delete_at is None or now < self.delete_at)

    def state(self, now, fake):
        """(status, statusDetails|None, metrics|None, updateTime unix) at scenario time `now`."""
        cur = self.steps[0]
        metrics = None
        for s in self.steps:
            if s["at"] <= now:
                cur = s
                if "metrics" in s:
                    metrics = s["metrics"]
        if metrics is None and cur is self.steps[0]:
            metrics = cur.get("metrics")
        ut = cur.get("updateTime")
        if ut is None:
            ut = max(fake.wall_of(cur["at"]), self.create_time(fake))
        return cur["status"], cur.get("statusDetails"), metrics, ut

    def document(self, now, fake):
        status, details, metrics, ut = self.state(now, fake)
        d = {
            "createTime": iso(self.create_time(fake)),
            "updateTime": iso(ut),
            "audienceGenerationJobArn": self.arn,
            "name": self.name,
            "description": self.extra.get("description", "fake audience generation job %s" % self.name),
            "status": status,
        }
        if details is not None:
            d["statusDetails"] = details
        d["configuredAudienceModelArn"] = self.cam_arn
        # A seed is either an S3 data source or SQL (with its compute), never both.
        d["seedAudience"] = self.extra.get("seedAudience", {
            "dataSource": {"s3Uri": "s3://fake-seed-bucket/seed/%s.jsonl" % self.name},
            "roleArn": "arn:aws:iam::%s:role/fake-seed-reader" % self.account,
        })
        d["includeSeedInOutput"] = self.extra.get("includeSeedInOutput", False)
        d["collaborationId"] = self.collaboration_id
        if metrics is not None:
            d["metrics"] = metrics
        d["startedBy"] = self.extra.get("startedBy", self.account)
        d["tags"] = self.extra.get("tags", {"team": "ads", "fake": "yes"})
        d["protectedQueryIdentifier"] = self.extra.get("protectedQueryIdentifier",
                                                       str(uuid.uuid5(uuid.NAMESPACE_URL, self.arn)))
        return d


class Fault:
    _ids = 0

    def __init__(self, spec, now):
        kind = str(spec.get("kind", ""))
        if kind not in FAULT_KINDS:
            raise ScenarioError("unknown fault kind %r (known: %s)" % (kind, ", ".join(FAULT_KINDS)))
        Fault._ids += 1
        self.id = Fault._ids
        self.kind = kind
        self.spec = dict(spec)
        if "duration" in spec:
            self.start = now
            self.end = now + float(spec["duration"])
        else:
            self.start = float(spec.get("from", 0))
            self.end = float(spec["to"]) if spec.get("to") is not None else None
        self.rate = float(spec.get("rate", 1))
        self.job = spec.get("job")
        self.op = spec.get("op")
        self.count = int(spec["count"]) if spec.get("count") is not None else None
        self.hits = 0

    def matches(self, op, arn, now):
        if self.count is not None and self.hits >= self.count:
            return False
        if now < self.start or (self.end is not None and now >= self.end):
            return False
        if self.op is not None and self.op != op:
            return False
        if self.job is not None:
            if op == "get" and self.job != arn:
                return False
            if op == "list" and self.op != "list":
                return False
        return random.random() < self.rate

    def describe(self):
        d = dict(self.spec)
        d.update({"id": self.id, "hits": self.hits})
        return d


class Fake:
    def __init__(self, scenario, verify=None):
        self.lock = threading.Lock()
        self.region = scenario.get("region", "us-east-1")
        self.account = str(scenario.get("account", "111122223333"))
        self.time_scale = float(scenario.get("timeScale", 1))
        if self.time_scale <= 0:
            raise ScenarioError("timeScale must be > 0")
        self.default_max_results = int(scenario.get("defaultMaxResults", 25))
        # The service's clock minus the real one: what a client with a wrong clock sees (Date headers,
        # signature time window).
        self.clock_offset_s = float(scenario.get("clockOffsetS", 0))
        # Seconds a request refused by the SigV4 check waits for its answer: keeps several such requests in
        # flight at once, as on a network with latency.
        self.refused_delay_s = float(scenario.get("refusedDelayS", 0))
        self.start_mono = time.monotonic()
        self.start_wall = time.time()
        self._seq = 0
        self.jobs = {}
        self.faults = []
        self.verify = verify  # None or {"credentials": [...], "region": R}
        self.token_key = os.urandom(16)
        self.stats = {}
        self.reset_stats()
        # PutEvents: what the bus accepted, and the switch that refuses every Nth entry.
        self.bus_events = []
        self.bus_refuse = {"every": 0, "code": "ThrottlingException", "message": "Rate exceeded", "start": 0}
        self.bus_entry_count = 0
        for spec in scenario.get("jobs", []):
            j = Job(spec, self)
            self.jobs[j.arn] = j
        for spec in scenario.get("faults", []):
            self.faults.append(Fault(spec, 0.0))

    def next_seq(self):
        self._seq += 1
        return self._seq

    def service_time(self):
        """Wall-clock time as the service sees it (epoch seconds)."""
        return time.time() + self.clock_offset_s

    def now(self):
        """Scenario seconds since start (real seconds / timeScale)."""
        return (time.monotonic() - self.start_mono) / self.time_scale

    def wall_of(self, at):
        return self.start_wall + at * self.time_scale

    def reset_stats(self):
        self.stats = {"total": 0, "op": {}, "status": {}, "op_status": {}, "fault": {}, "sigv4": {},
                      "tls_errors": 0}

    def count(self, op, status, fault=None, sig=None):
        with self.lock:
            st = self.stats
            st["op"][op] = st["op"].get(op, 0) + 1
            if op == "control":
                return  # only API requests count below
            st["total"] += 1
            s = str(status)
            st["status"][s] = st["status"].get(s, 0) + 1
            k = "%s:%s" % (op, s)
            st["op_status"][k] = st["op_status"].get(k, 0) + 1
            if fault:
                st["fault"][fault] = st["fault"].get(fault, 0) + 1
            if sig:
                st["sigv4"][sig] = st["sigv4"].get(sig, 0) + 1

    def pick_fault(self, op, arn):
        now = self.now()
        with self.lock:
            for f in self.faults:
                if f.matches(op, arn, now):
                    f.hits += 1
                    return f
        return None

    # pagination tokens: opaque, always containing '+', '/' and '=' so clients must encode them
    def make_token(self, seq):
        raw = struct.pack(">I", seq)
        mac = hmac.new(self.token_key, raw, hashlib.sha256).digest()[:7]
        return base64.b64encode(b"\xfb\xff" + raw + mac).decode()

    def parse_token(self, tok):
        try:
            b = base64.b64decode(tok.encode(), validate=True)
        except (ValueError, UnicodeError):
            return None
        if len(b) != 13 or b[:2] != b"\xfb\xff":
            return None
        raw, mac = b[2:6], b[6:]
        if not hmac.compare_digest(mac, hmac.new(self.token_key, raw, hashlib.sha256).digest()[:7]):
            return None
        return struct.unpack(">I", raw)[0]

    def upsert_job(self, spec):
        now = self.now()
        with self.lock:
            arn = spec.get("arn")
            if not arn and spec.get("id"):
                arn = "arn:aws:cleanrooms-ml:%s:%s:audience-generation-job/%s" % (self.region, self.account,
                                                                                  spec["id"])
            j = self.jobs.get(arn) if arn else None
            if j is None:
                s = dict(spec)
                if "steps" not in s:
                    s["steps"] = [{"at": now, "status": s.get("status", "CREATE_PENDING"),
                                   **{k: s[k] for k in ("statusDetails", "metrics") if k in s}}]
                s.setdefault("appearAt", now)
                j = Job(s, self, appear_default=now)
                self.jobs[j.arn] = j
                return j
            for k in ("name", "collaborationId", "configuredAudienceModelArn"):
                if k in spec:
                    setattr(j, {"name": "name", "collaborationId": "collaboration_id",
                                "configuredAudienceModelArn": "cam_arn"}[k], spec[k])
            for k in ("description", "seedAudience", "includeSeedInOutput", "startedBy", "tags",
                      "protectedQueryIdentifier"):
                if k in spec:
                    j.extra[k] = spec[k]
            if "deleteAt" in spec:
                j.delete_at = float(spec["deleteAt"]) if spec["deleteAt"] is not None else None
            elif j.delete_at is not None and j.delete_at <= now:
                j.delete_at = None  # re-created
            if now < j.appear_at:
                j.appear_at = now
            for s in spec.get("steps", []):
                j.add_step(s, self)
            if "status" in spec:
                _, _, _, prev_ut = j.state(now, self)
                ut = time.time()
                if "updateTime" in spec:
                    ut = parse_iso(spec["updateTime"])
                elif ut <= prev_ut + 0.001:
                    ut = prev_ut + 0.001  # updateTime always moves forward
                # at `now`, after any scripted step at the same instant
                j.steps = [s for s in j.steps if s["at"] <= now]
                j.add_step({k: spec[k] for k in ("status", "statusDetails", "metrics") if k in spec}, self,
                           at=now, update_time=ut)
            return j

    def truth(self):
        now = self.now()
        out = []
        with self.lock:
            for j in sorted(self.jobs.values(), key=lambda x: x.seq):
                status, details, metrics, ut = j.state(now, self)
                out.append({"arn": j.arn, "name": j.name, "exists": j.exists(now),
                            "deleted": j.delete_at is not None and now >= j.delete_at,
                            "appeared": now >= j.appear_at, "status": status, "statusDetails": details,
                            "updateTime": iso(ut), "createTime": iso(j.create_time(self)),
                            "collaborationId": j.collaboration_id,
                            "configuredAudienceModelArn": j.cam_arn})
        return {"now": now, "jobs": out}


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------

class Response:
    def __init__(self, status, body=b"", headers=None, error_type=None):
        self.status = status
        self.body = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.headers = headers or {}
        self.error_type = error_type


def error(status, etype, message):
    h = {"x-amzn-errortype": etype} if etype else {}
    return Response(status, {"message": message}, h, etype)


def json_error(status, etype, message):
    """An awsJson1_1 error: the type in the body's __type (and the header, as the services send both)."""
    h = {"x-amzn-errortype": etype, "Content-Type": "application/x-amz-json-1.1"}
    return Response(status, {"__type": etype, "message": message}, h, etype)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeCleanRoomsML/1.0"
    sys_version = ""
    timeout = 300  # idle keep-alive connections are closed after this

    def date_time_string(self, timestamp=None):  # the Date header, on the service's clock
        return email.utils.formatdate(self.server.fake.service_time() if timestamp is None else timestamp,
                                      usegmt=True)

    def log_message(self, fmt, *args):  # quiet; the JSON log is the record
        pass

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def read_body(self):
        n = self.headers.get("Content-Length")
        if n:
            try:
                n = int(n)
            except ValueError:
                n = 0
            if 0 < n <= 16 << 20:
                return self.rfile.read(n)
        return b""

    def dispatch(self, method):
        fake = self.server.fake
        raw_path, _, raw_query = self.path.partition("?")
        body = self.read_body()
        rec = {"time": iso(time.time()), "method": method, "raw_path": raw_path,
               "path_decoded": urllib.parse.unquote(raw_path), "query": raw_query, "op": None, "arn": None,
               "status": None, "client_port": self.client_address[1] if self.client_address else None,
               "headers": self.selected_headers()}
        if raw_path.startswith("/_fake/"):
            rec["op"] = "control"
            try:
                resp = self.control(method, raw_path, raw_query, body)
            except (ScenarioError, ValueError, KeyError, TypeError) as e:
                resp = Response(400, {"message": "control: %s" % e})
            # Record before answering, so a client that has its answer always finds it in the stats and the log.
            rec["status"] = resp.status
            self.server.log(rec)
            fake.count("control", resp.status)
            self.send(resp)
            return
        op, arn, resp = self.route(method, raw_path, raw_query)
        rec["op"], rec["arn"] = op, arn
        sig = None
        if resp is None and fake.verify is not None:
            hdrs = list(self.headers.items())
            err, idx = sigv4_verify(method, raw_path, raw_query, hdrs, body, fake.verify["credentials"],
                                    fake.verify["region"], now=fake.service_time(),
                                    service=EVENTS_SERVICE if op == "putevents" else SERVICE)
            if err:
                sig = err[0]
                rec["sigv4"] = "%s: %s" % err
                resp = error(403, err[0], err[1])
                if fake.refused_delay_s > 0:
                    time.sleep(fake.refused_delay_s)
            else:
                sig = "ok"
                rec["sigv4"] = "ok"
                rec["credential"] = idx
        fault = None
        if resp is None:
            fault = fake.pick_fault(op, arn)
            if fault:
                rec["fault"] = fault.kind
            resp = self.put_events(body, fault) if op == "putevents" else self.api(op, arn, raw_query, fault)
            if fault and isinstance(resp, Response) and fault.spec.get("retryAfterMs") is not None:
                resp.headers["x-amz-retry-after"] = str(fault.spec["retryAfterMs"])
        if getattr(self, "put_entries", None) is not None:
            rec["entries"] = self.put_entries
            self.put_entries = None
        if isinstance(resp, Response):
            rec["status"] = resp.status
            if resp.error_type:
                rec["error_type"] = resp.error_type
        else:
            rec["status"] = resp  # a connection-level fault name, acted on below
        # Record before answering (see the control branch above).
        self.server.log(rec)
        fake.count(op or "unknown", rec["status"], fault.kind if fault else None, sig)
        if isinstance(resp, Response):
            self.send(resp, slow=fault if fault and fault.kind == "slow" else None)
        elif resp == "reset":
            self.fault_reset()
        elif resp == "stall":
            self.fault_stall(fault)

    def selected_headers(self):
        h = self.headers
        auth = h.get("Authorization")
        scope = None
        signed = None
        if auth:
            p = parse_authorization(auth)
            if p:
                c = p["Credential"].split("/", 1)
                scope = c[1] if len(c) == 2 else None
                signed = p["SignedHeaders"]
        return {"host": h.get("Host"), "authorization": "yes" if auth else "no", "credential_scope": scope,
                "signed_headers": signed, "x-amz-date": h.get("X-Amz-Date"),
                "x-amz-security-token": "yes" if h.get("X-Amz-Security-Token") else "no",
                "user-agent": h.get("User-Agent"), "x-amz-content-sha256": h.get("X-Amz-Content-Sha256"),
                "connection": h.get("Connection"), "accept-encoding": h.get("Accept-Encoding")}

    def route(self, method, raw_path, raw_query):
        """(op, arn, early_response_or_None)"""
        prefix = "/audience-generation-job"
        target = self.headers.get("X-Amz-Target")
        if raw_path == "/" and method == "POST" and target is not None:
            # awsJson1_1: the operation is in X-Amz-Target, the body is JSON of that content type.
            if target != "AWSEvents.PutEvents":
                return "unknown", None, json_error(400, "UnknownOperationException", "Unknown operation %s" % target)
            if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/x-amz-json-1.1":
                return "putevents", None, json_error(400, "SerializationException",
                                                     "Content-Type must be application/x-amz-json-1.1")
            return "putevents", None, None
        if raw_path == prefix:
            if method != "GET":
                return "list", None, error(404, "UnknownOperationException", "Unknown operation")
            return "list", None, None
        if raw_path.startswith(prefix + "/"):
            label = raw_path[len(prefix) + 1:]
            if method != "GET":
                return "get", None, error(404, "UnknownOperationException", "Unknown operation")
            if not label:
                return "get", None, error(400, "ValidationException", "audienceGenerationJobArn is required")
            if ":" in label or "/" in label or not ENCODED_RE.match(label):
                self.server.note("raw path label not percent-encoded: %r" % raw_path)
                return "get", None, error(400, "ValidationException",
                                          "1 validation error detected: the audienceGenerationJobArn URI "
                                          "label must be percent-encoded (':' as %3A, '/' as %2F)")
            arn = urllib.parse.unquote(label)
            if not JOB_ARN_RE.match(arn) or not 20 <= len(arn) <= 2048:
                return "get", arn, error(400, "ValidationException",
                                         "1 validation error detected: Value at 'audienceGenerationJobArn' "
                                         "failed to satisfy constraint: Member must satisfy regular "
                                         "expression pattern")
            return "get", arn, None
        return None, None, error(404, "UnknownOperationException", "Unknown operation %s %s" % (method, raw_path))

    def api(self, op, arn, raw_query, fault):
        fake = self.server.fake
        kind = fault.kind if fault else None
        if kind == "500":
            # The model's one 5xx error shape (InternalServiceException, fault "server").
            return error(500, "InternalServiceException", "Internal server error")
        if kind == "503":
            return Response(503, b"<html><body><h1>503 Service Unavailable</h1></body></html>\n",
                            {"Content-Type": "text/html"})
        if kind == "throttle":
            return error(429, "ThrottlingException", "Rate exceeded")
        if kind == "expired_token":
            return error(403, "ExpiredTokenException", "The security token included in the request is expired")
        if kind == "access_denied":
            return error(403, "AccessDeniedException", "User is not authorized to perform this action")
        if kind == "validation":
            return error(400, "ValidationException", "1 validation error detected (injected)")
        if kind == "not_found":
            return error(404, "ResourceNotFoundException", "Audience generation job not found (injected)")
        if kind == "bare_404":
            # Not the service: a proxy or load balancer in the way, no error type.
            return Response(404, b"<html><body><h1>404 Not Found</h1></body></html>", {"Content-Type": "text/html"})
        if kind == "unknown_operation":
            # The service's front door for a path it does not route (a wrong endpoint path).
            return error(404, "UnknownOperationException", "Unknown operation (injected)")
        if kind in ("reset", "stall"):
            return kind  # acted on by dispatch() once the request is recorded
        now = fake.now()
        if op == "get":
            with fake.lock:
                j = fake.jobs.get(arn)
                doc = j.document(now, fake) if j is not None and j.exists(now) else None
            if doc is None:
                return error(404, "ResourceNotFoundException", "Resource not found: audience generation job")
            docs = [doc]
            result = doc
        else:
            q = {}
            for part in raw_query.split("&") if raw_query else []:
                k, _, v = part.partition("=")
                if not ENCODED_RE.match(k) or not ENCODED_RE.match(v):
                    return error(400, "ValidationException",
                                 "query parameter %r is not percent-encoded" % urllib.parse.unquote(k))
                q[urllib.parse.unquote(k)] = urllib.parse.unquote(v)
            mr = fake.default_max_results
            if "maxResults" in q:
                try:
                    mr = int(q["maxResults"])
                except ValueError:
                    mr = 0
                if not 1 <= mr <= 100:
                    return error(400, "ValidationException", "1 validation error detected: Value at "
                                 "'maxResults' failed to satisfy constraint: Member must have value "
                                 "between 1 and 100")
            cid = q.get("collaborationId")
            if cid is not None and not UUID_RE.match(cid):
                return error(400, "ValidationException", "1 validation error detected: Value at "
                             "'collaborationId' failed to satisfy constraint")
            cam = q.get("configuredAudienceModelArn")
            if cam is not None and (not CAM_ARN_RE.match(cam) or not 20 <= len(cam) <= 2048):
                return error(400, "ValidationException", "1 validation error detected: Value at "
                             "'configuredAudienceModelArn' failed to satisfy constraint")
            after = 0
            if "nextToken" in q:
                tok = q["nextToken"]
                after = fake.parse_token(tok) if 1 <= len(tok) <= 10240 else None
                if after is None:
                    return error(400, "ValidationException", "Invalid pagination token")
            with fake.lock:
                sel = [j for j in sorted(fake.jobs.values(), key=lambda x: x.seq)
                       if j.seq > after and j.exists(now) and (cid is None or j.collaboration_id == cid)
                       and (cam is None or j.cam_arn == cam)]
                page = sel[:mr]
                docs = []
                for j in page:
                    d = j.document(now, fake)
                    docs.append({k: d[k] for k in SUMMARY_FIELDS if k in d})
            result = {"audienceGenerationJobs": docs}
            if len(sel) > mr:
                result["nextToken"] = fake.make_token(page[-1].seq)
        if kind in ("unknown_status", "invalid_status", "missing_fields"):
            for d in docs:
                if fault.job is not None and d["audienceGenerationJobArn"] != fault.job:
                    continue
                if kind == "unknown_status":
                    # A value newer than the model: clients must pass it on.
                    d["status"] = fault.spec.get("status", "ACTIVATING")
                elif kind == "invalid_status":
                    # Not an enum value at all: a broken answer.
                    d["status"] = fault.spec.get("status", "not a status!")
                else:
                    for f in fault.spec.get("fields", ["status", "updateTime"]):
                        d.pop(f, None)
        body = json.dumps(result).encode()
        if kind == "malformed":
            body = body[: max(1, len(body) // 2)] + b"\x00}]{,"
        elif kind == "huge":
            pad = "x" * int(fault.spec.get("bytes", (4 << 20) + 4096))
            # an unmodeled member: clients must skip unknown fields
            body = json.dumps(dict(result, unmodeledPadding=pad)).encode()
        resp = Response(200, body)
        if kind == "truncated":
            resp.headers["X-Fake-Truncate"] = "1"
        return resp

    def put_events(self, body, fault):
        """PutEvents: validates the request as the service does, refuses every Nth entry when told to
        (/_fake/eventbridge), records what it accepted."""
        fake = self.server.fake
        kind = fault.kind if fault else None
        if kind == "500":
            return json_error(500, "InternalException", "Internal service error (injected)")
        if kind == "throttle":
            return json_error(400, "ThrottlingException", "Rate exceeded (injected)")
        if kind is not None and kind not in ("503", "reset", "stall", "access_denied", "validation",
                                             "expired_token"):
            return json_error(500, "InternalException", "fault %s has no PutEvents form" % kind)
        if kind in ("503", "access_denied", "validation", "expired_token", "reset", "stall"):
            return self.api("putevents", None, "", fault)
        if len(body) > PUTEVENTS_MAX_BYTES:
            return json_error(400, "ValidationException", "Total size of the entries in the request is over "
                              "the limit.")
        try:
            doc = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return json_error(400, "SerializationException", "Body is not JSON")
        entries = doc.get("Entries") if isinstance(doc, dict) else None
        if not isinstance(entries, list) or not 1 <= len(entries) <= PUTEVENTS_MAX_ENTRIES:
            return json_error(400, "ValidationException", "1 validation error detected: Value at 'entries' "
                              "failed to satisfy constraint: Member must have length between 1 and 10")
        out, failed = [], 0
        self.put_entries = len(entries)
        for e in entries:
            code, msg = self.check_entry(e)
            with fake.lock:
                fake.bus_entry_count += 1
                n = fake.bus_entry_count
                rf = dict(fake.bus_refuse)
            if code is None and rf["every"] > 0 and n > rf["start"] and (n - rf["start"]) % rf["every"] == 0:
                code, msg = rf["code"], rf["message"]
            if code is not None:
                failed += 1
                out.append({"ErrorCode": code, "ErrorMessage": msg})
                continue
            eid = str(uuid.uuid4())
            rec = {"EventId": eid, "Source": e["Source"], "DetailType": e["DetailType"],
                   "Detail": json.loads(e["Detail"]), "Resources": e.get("Resources", []),
                   "Time": e.get("Time"), "EventBusName": e.get("EventBusName", "default"),
                   "received": iso(time.time())}
            with fake.lock:
                fake.bus_events.append(rec)
            out.append({"EventId": eid})
        return Response(200, {"FailedEntryCount": failed, "Entries": out},
                        {"Content-Type": "application/x-amz-json-1.1"})

    @staticmethod
    def check_entry(e):
        """(ErrorCode, ErrorMessage) of an entry the service would refuse, else (None, None)."""
        if not isinstance(e, dict):
            return "InvalidArgument", "Entry is not an object"
        for k in ("Source", "DetailType", "Detail"):
            if not isinstance(e.get(k), str) or not e[k]:
                return "InvalidArgument", "Parameter %s is not valid. Reason: %s is a required argument." % (k, k)
        if e["Source"].startswith("aws."):
            return "NotAuthorizedForSourceException", "Not authorized for the source."
        try:
            d = json.loads(e["Detail"])
        except ValueError:
            return "MalformedDetail", "Detail is malformed."
        if not isinstance(d, dict):
            return "MalformedDetail", "Detail is malformed."
        res = e.get("Resources", [])
        if not isinstance(res, list) or not all(isinstance(r, str) for r in res):
            return "InvalidArgument", "Parameter Resources is not valid."
        if "Time" in e and not isinstance(e["Time"], (int, float)):
            return "InvalidArgument", "Parameter Time is not valid (epoch seconds)."
        bus = e.get("EventBusName", "default")
        if not isinstance(bus, str) or not 1 <= len(bus) <= 1600 or not EVENT_BUS_RE.match(bus):
            return "InvalidArgument", "Parameter EventBusName is not valid."
        return None, None

    # -- connection-level faults ---------------------------------------------------------------------------
    def fault_reset(self):
        """Send the status line and part of the headers, then abort with RST."""
        try:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Len")
            self.wfile.flush()
            time.sleep(0.05)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.abort()
        return "reset"

    def fault_stall(self, fault):
        """Never answer; return when the client closes the connection (or after `maxStall` s)."""
        limit = time.monotonic() + float(fault.spec.get("maxStall", 600))
        sock = self.connection
        while time.monotonic() < limit and not self.server.stopping:
            try:
                r, _, _ = select.select([sock], [], [], 0.2)
                if r:
                    data = sock.recv(4096)
                    if not data:
                        break
            except (OSError, ValueError, ssl.SSLError):
                break
        self.abort()
        return "stall"

    def abort(self):
        self.close_connection = True
        try:
            self.connection.close()
        except OSError:
            pass

    def send(self, resp, slow=None):
        body = resp.body
        truncate = resp.headers.pop("X-Fake-Truncate", None)
        try:
            self.send_response(resp.status)
            self.send_header("Content-Type", resp.headers.pop("Content-Type", "application/json"))
            self.send_header("x-amzn-requestid", str(uuid.uuid4()))
            for k, v in resp.headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body) + (1024 if truncate else 0)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if slow is not None:
                self.wfile.flush()
                chunk = int(slow.spec.get("chunk", 64))
                delay = float(slow.spec.get("delay", 0.25))
                for i in range(0, len(body), chunk):
                    self.wfile.write(body[i:i + chunk])
                    self.wfile.flush()
                    time.sleep(delay)
            elif self.command != "HEAD":
                self.wfile.write(body)
            self.wfile.flush()
            if truncate:
                self.abort()
        except (OSError, ssl.SSLError):
            self.close_connection = True

    # -- control API ------------------------------------------------------------------------------------
    def control(self, method, raw_path, raw_query, body):
        fake = self.server.fake
        doc = json.loads(body.decode() or "null") if body else None
        p = raw_path[len("/_fake"):]
        if p == "/jobs" and method == "GET":
            return Response(200, fake.truth())
        if p == "/jobs" and method == "POST":
            specs = doc.get("jobs") if isinstance(doc, dict) and "jobs" in doc else [doc]
            arns = [fake.upsert_job(s).arn for s in specs]
            return Response(200, {"arns": arns})
        if p.startswith("/jobs/") and method == "DELETE":
            arn = urllib.parse.unquote(p[len("/jobs/"):])
            now = fake.now()
            with fake.lock:
                j = fake.jobs.get(arn)
                if j is None:
                    return Response(404, {"message": "no such job"})
                j.delete_at = now
            return Response(200, {"arn": arn, "deletedAt": now})
        if p == "/faults" and method == "GET":
            with fake.lock:
                return Response(200, {"faults": [f.describe() for f in fake.faults]})
        if p == "/faults" and method == "POST":
            specs = doc.get("faults") if isinstance(doc, dict) and "faults" in doc else [doc]
            now = fake.now()
            new = [Fault(s, now) for s in specs]
            with fake.lock:
                fake.faults.extend(new)
            return Response(200, {"ids": [f.id for f in new]})
        if p == "/faults" and method == "DELETE":
            with fake.lock:
                fake.faults = []
            return Response(200, {})
        if p.startswith("/faults/") and method == "DELETE":
            fid = int(p[len("/faults/"):])
            with fake.lock:
                fake.faults = [f for f in fake.faults if f.id != fid]
            return Response(200, {})
        if p == "/eventbridge" and method == "POST":
            # {"refuseEvery": N, "errorCode": C, "errorMessage": M}: from now on every Nth entry is refused
            # (0 stops it); counted from this call.
            with fake.lock:
                fake.bus_refuse = {"every": int(doc.get("refuseEvery", 0)),
                                   "code": doc.get("errorCode", "ThrottlingException"),
                                   "message": doc.get("errorMessage", "Rate exceeded"),
                                   "start": fake.bus_entry_count}
            return Response(200, fake.bus_refuse)
        if p == "/eventbridge/events" and method == "GET":
            with fake.lock:
                return Response(200, {"events": list(fake.bus_events), "entries": fake.bus_entry_count})
        if p == "/eventbridge/events" and method == "DELETE":
            with fake.lock:
                fake.bus_events = []
            return Response(200, {})
        if p == "/stats" and method == "GET":
            with fake.lock:
                return Response(200, json.loads(json.dumps(fake.stats)))
        if p == "/stats" and method == "DELETE":
            with fake.lock:
                fake.reset_stats()
            return Response(200, {})
        if p == "/clock" and method == "POST":
            with fake.lock:
                fake.clock_offset_s = float(doc.get("offsetS", 0))
            return Response(200, {"offsetS": fake.clock_offset_s})
        if p == "/time" and method == "GET":
            return Response(200, {"now": fake.now(), "timeScale": fake.time_scale, "start": iso(fake.start_wall)})
        if p == "/credentials" and method == "POST":
            if fake.verify is None:
                return Response(400, {"message": "started without --verify-sigv4"})
            creds = doc.get("credentials", [])
            for c in creds:
                if not c.get("accessKeyId") or not c.get("secretAccessKey"):
                    raise ValueError("credential needs accessKeyId and secretAccessKey")
            with fake.lock:
                if doc.get("replace"):
                    fake.verify["credentials"] = list(creds)
                else:
                    fake.verify["credentials"] = fake.verify["credentials"] + list(creds)
                n = len(fake.verify["credentials"])
            return Response(200, {"count": n})
        return Response(404, {"message": "unknown control endpoint %s %s" % (method, raw_path)})


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, addr, fake, log_path, ssl_ctx):
        self.fake = fake
        self.ssl_ctx = ssl_ctx
        self.stopping = False
        self.log_lock = threading.Lock()
        self.log_file = open(log_path, "a", buffering=1, encoding="utf-8") if log_path else None
        super().__init__(addr, Handler)

    def finish_request(self, request, client_address):
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_ctx is not None:
            # handshake in the connection's own thread so a silent client cannot block accept()
            request.settimeout(30)
            try:
                request = self.ssl_ctx.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError) as e:
                with self.fake.lock:
                    self.fake.stats["tls_errors"] += 1
                self.note("TLS handshake failed from %s: %s" % (client_address, e))
                return
            request.settimeout(None)
        try:
            self.RequestHandlerClass(request, client_address, self)
        finally:
            try:
                request.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        pass  # client resets are expected in fault tests

    def log(self, rec):
        if self.log_file is None:
            return
        line = json.dumps(rec, sort_keys=True)
        with self.log_lock:
            self.log_file.write(line + "\n")

    def note(self, text):
        self.log({"time": iso(time.time()), "note": text})
        sys.stderr.write("fake_crml: %s\n" % text)


Handler.disable_nagle_algorithm = True


def make_ssl_ctx(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def write_port_file(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Fake AWS Clean Rooms ML service")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--scenario")
    ap.add_argument("--log")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--verify-sigv4", action="store_true")
    ap.add_argument("--access-key-id", action="append", default=[])
    ap.add_argument("--secret-access-key", action="append", default=[])
    ap.add_argument("--session-token", action="append", default=[])
    ap.add_argument("--credentials-file", help="JSON list of {accessKeyId, secretAccessKey, sessionToken?}")
    ap.add_argument("--region")
    ap.add_argument("--seed", type=int, help="random seed for fault rates")
    a = ap.parse_args(argv)

    if a.seed is not None:
        random.seed(a.seed)
    scenario = {}
    if a.scenario:
        with open(a.scenario, encoding="utf-8") as f:
            scenario = json.load(f)
    verify = None
    if a.verify_sigv4:
        if len(a.access_key_id) != len(a.secret_access_key):
            ap.error("--access-key-id and --secret-access-key must come in pairs")
        creds = []
        for i, (ak, sk) in enumerate(zip(a.access_key_id, a.secret_access_key)):
            c = {"accessKeyId": ak, "secretAccessKey": sk}
            if i < len(a.session_token) and a.session_token[i]:
                c["sessionToken"] = a.session_token[i]
            creds.append(c)
        if a.credentials_file:
            with open(a.credentials_file, encoding="utf-8") as f:
                creds.extend(json.load(f))
        verify = {"credentials": creds, "region": a.region or scenario.get("region", "us-east-1")}
    try:
        fake = Fake(scenario, verify)
    except (ScenarioError, ValueError, KeyError, TypeError) as e:
        sys.stderr.write("fake_crml: bad scenario: %s\n" % e)
        return 2
    ctx = make_ssl_ctx(a.tls_cert, a.tls_key) if a.tls_cert else None
    srv = Server((a.bind, a.port), fake, a.log, ctx)

    def on_term(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    if a.port_file:
        write_port_file(a.port_file, srv.server_address[1])
    try:
        srv.serve_forever(poll_interval=0.2)
    except SystemExit:
        pass
    finally:
        srv.stopping = True
        srv.server_close()
        if srv.log_file:
            srv.log_file.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
