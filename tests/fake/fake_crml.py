#!/usr/bin/python3
"""Fake AWS Clean Rooms ML service (restJson1) for jobwatchd tests.

Speaks the Get and List operations of every resource kind with a status
(audience generation jobs, audience models, trained models, inference jobs, ML
input channels, export jobs: KINDS and OPS below) exactly as the real service
does on the wire, driven by a JSON scenario (timed status sequences and
faults), with an unsigned control API under /_fake/ for tests.
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
import types
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
DEFAULT_MEMBERSHIP = "a1b2c3d4-0000-4000-8000-00000000e3b0"
TM_STATUSES = STATUSES + ("INACTIVE", "CANCEL_PENDING", "CANCEL_IN_PROGRESS", "CANCEL_FAILED")
TMIJ_STATUSES = ("CREATE_PENDING", "CREATE_IN_PROGRESS", "CREATE_FAILED", "ACTIVE", "CANCEL_PENDING",
                 "CANCEL_IN_PROGRESS", "CANCEL_FAILED", "INACTIVE")
MIC_STATUSES = STATUSES + ("INACTIVE",)
EXPORT_STATUSES = ("CREATE_PENDING", "CREATE_IN_PROGRESS", "CREATE_FAILED", "ACTIVE")
UUID_PAT = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
MEMBERSHIP_IN_ARN_RE = re.compile(r":[0-9]{12}:membership/(%s)/" % UUID_PAT)


def arn_regex(rtype, scoped):
    """The model's pattern for an ARN of `rtype` (membership-scoped: ...:membership/<uuid>/<rtype>/...)."""
    return re.compile(r"^arn:aws[-a-z]*:cleanrooms-ml:[-a-z0-9]+:[0-9]{12}:%s%s/[-a-zA-Z0-9_/.]+$" % (
        "membership/%s/" % UUID_PAT if scoped else "", rtype))


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


def _uuid_of(res, salt):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, salt + res.key))


def _in_membership(rtype, rid):
    """Default ARN of a membership-scoped resource in the same membership as `res`."""
    return lambda res, fake: "arn:aws:cleanrooms-ml:%s:%s:membership/%s/%s/%s" % (
        fake.region, fake.account, res.ids.get("membershipIdentifier") or DEFAULT_MEMBERSHIP, rtype, rid)


def _agj_check(spec):
    seed = spec.get("seedAudience")
    if seed is not None and (not isinstance(seed, dict) or ("dataSource" in seed) == ("sqlParameters" in seed)):
        # What the service requires at StartAudienceGenerationJob, so what a real job has.
        raise ScenarioError("seedAudience needs exactly one of dataSource and sqlParameters: %r" % (seed,))


class Kind:
    """One row of the resource table: how a kind of Clean Rooms ML resource is named, identified, and answered.

    members: the Get output shape's members in model order (the List summary's for kinds without a Get);
    summary / collab: the member and collaboration List summaries' members; ids: identity members (set at
    creation, used by List filters and path labels) with their defaults; carry: step members that carry forward
    to later steps (like metrics); defaults: the other members' defaults (value or f(res, fake)), each one a
    scenario key too.  parent: for kinds without an ARN (export jobs), the member naming what they belong to."""

    def __init__(self, name, arn_member, scoped, statuses, members, summary, collab=(), ids=None, carry=(),
                 defaults=None, parent=None, versioned=False, check=None):
        self.name, self.arn_member, self.scoped, self.statuses = name, arn_member, scoped, statuses
        self.members, self.summary, self.collab = members, summary, collab
        self.ids = dict(ids or {})
        if scoped:
            self.ids.setdefault("membershipIdentifier", None)  # from the ARN (or the parent's ARN)
            self.ids.setdefault("collaborationIdentifier", DEFAULT_COLLAB)
        self.carry, self.defaults, self.parent, self.versioned = carry, dict(defaults or {}), parent, versioned
        self.check = check
        self.arn_re = arn_regex(name, scoped) if arn_member else None
        self.fields = set(self.defaults) | {"createTime", "creatorAccountId"}

    def arn_for(self, rid, fake, membership=None):
        if self.scoped:
            return "arn:aws:cleanrooms-ml:%s:%s:membership/%s/%s/%s" % (fake.region, fake.account,
                                                                         membership or DEFAULT_MEMBERSHIP,
                                                                         self.name, rid)
        return "arn:aws:cleanrooms-ml:%s:%s:%s/%s" % (fake.region, fake.account, self.name, rid)

    def with_parent(self, spec, fake):
        """The spec with the default parent (export jobs: the default job or trained model) filled in."""
        if self.parent and not spec.get(self.parent):
            stub = types.SimpleNamespace(ids={"membershipIdentifier": spec.get("membershipIdentifier")})
            spec = dict(spec, **{self.parent: ID_DEFAULTS[self.parent](stub, fake)})
        return spec

    def identity(self, spec, fake):
        """(arn or None, key, ids) of the resource a scenario entry or control request describes."""
        ids = {k: spec.get(k, v) for k, v in self.ids.items()}
        if self.arn_member:
            arn = spec.get("arn") or spec.get(self.arn_member)
            if not arn:
                rid = spec.get("id")
                if not rid:
                    raise ScenarioError("%s needs 'arn' or 'id': %r" % (self.name, spec))
                arn = self.arn_for(rid, fake, ids.get("membershipIdentifier"))
            if not self.arn_re.match(arn):
                raise ScenarioError("invalid %s ARN %r" % (self.name, arn))
            key = arn
            if self.versioned and spec.get("versionIdentifier"):
                key = "%s#%s" % (arn, spec["versionIdentifier"])
        else:
            arn = None
            name = spec.get("name") or spec.get("id")
            if not name:
                raise ScenarioError("%s needs 'name' (or 'id'): %r" % (self.name, spec))
            parent = ids[self.parent]
            key = "%s#%s" % (parent, name)
        if self.scoped:
            m = membership_of(arn or ids[self.parent])
            if ids.get("membershipIdentifier") not in (None, m) and arn:
                raise ScenarioError("%s: membershipIdentifier %s is not the one in its ARN %s" % (
                    self.name, ids["membershipIdentifier"], arn))
            ids["membershipIdentifier"] = ids.get("membershipIdentifier") or m
        return arn, spec.get("key", key), ids


def membership_of(arn):
    m = MEMBERSHIP_IN_ARN_RE.search(arn or "")
    return m.group(1) if m else None


AGJ_MEMBERS = ("createTime", "updateTime", "audienceGenerationJobArn", "name", "description", "status",
               "statusDetails", "configuredAudienceModelArn", "seedAudience", "includeSeedInOutput",
               "collaborationId", "metrics", "startedBy", "tags", "protectedQueryIdentifier")
TM_COMMON = ("trainedModelArn", "versionIdentifier", "incrementalTrainingDataChannels", "name", "description",
             "membershipIdentifier", "collaborationIdentifier", "status", "configuredModelAlgorithmAssociationArn")
TMIJ_SUMMARY = ("trainedModelInferenceJobArn", "configuredModelAlgorithmAssociationArn", "membershipIdentifier",
                "trainedModelArn", "trainedModelVersionIdentifier", "collaborationIdentifier", "status",
                "outputConfiguration", "name", "description", "metricsStatus", "metricsStatusDetails", "logsStatus",
                "logsStatusDetails", "createTime", "updateTime")
MIC_SUMMARY = ("createTime", "updateTime", "membershipIdentifier", "collaborationIdentifier", "name",
               "configuredModelAlgorithmAssociations", "protectedQueryIdentifier", "mlInputChannelArn", "status",
               "description", "payerConfiguration")
PUBLISH = ("metricsStatus", "metricsStatusDetails", "logsStatus", "logsStatusDetails")
TAGS = {"team": "ads", "fake": "yes"}
CMAA = _in_membership("configured-model-algorithm-association", "cmaa-default")
RECEIVERS = lambda res, fake: {"members": [{"accountId": fake.account}]}  # noqa: E731

# The resource table: one row per kind (names as in the ARNs).  Paths and List operations are in OPS below.
KINDS = {k.name: k for k in [
    Kind("audience-generation-job", "audienceGenerationJobArn", False, STATUSES, AGJ_MEMBERS, SUMMARY_FIELDS,
         ids={"collaborationId": DEFAULT_COLLAB,
              "configuredAudienceModelArn": None},  # default: the fake's region/account, set by Job
         carry=("metrics",), check=_agj_check, defaults={
             "description": lambda res, fake: "fake audience generation job %s" % res.name,
             # A seed is either an S3 data source or SQL (with its compute), never both.
             "seedAudience": lambda res, fake: {
                 "dataSource": {"s3Uri": "s3://fake-seed-bucket/seed/%s.jsonl" % res.name},
                 "roleArn": "arn:aws:iam::%s:role/fake-seed-reader" % fake.account},
             "includeSeedInOutput": False,
             "startedBy": lambda res, fake: fake.account,
             "tags": TAGS,
             "protectedQueryIdentifier": lambda res, fake: str(uuid.uuid5(uuid.NAMESPACE_URL, res.arn))}),
    Kind("audience-model", "audienceModelArn", False, STATUSES,
         ("createTime", "updateTime", "trainingDataStartTime", "trainingDataEndTime", "audienceModelArn", "name",
          "trainingDatasetArn", "status", "statusDetails", "kmsKeyArn", "tags", "description"),
         ("createTime", "updateTime", "audienceModelArn", "name", "trainingDatasetArn", "status", "description"),
         ids={"trainingDatasetArn": None}, defaults={
             "trainingDataStartTime": lambda res, fake: iso(res.create_time(fake) - 30 * 86400),
             "trainingDataEndTime": lambda res, fake: iso(res.create_time(fake) - 86400),
             "kmsKeyArn": None, "tags": TAGS,
             "description": lambda res, fake: "fake audience model %s" % res.name}),
    Kind("trained-model", "trainedModelArn", True, TM_STATUSES,
         ("membershipIdentifier", "collaborationIdentifier", "trainedModelArn", "versionIdentifier",
          "incrementalTrainingDataChannels", "name", "description", "status", "statusDetails",
          "configuredModelAlgorithmAssociationArn", "resourceConfig", "trainingInputMode", "stoppingCondition",
          "metricsStatus", "metricsStatusDetails", "logsStatus", "logsStatusDetails", "trainingContainerImageDigest",
          "mlModelTrainingPayerAccountId", "createTime", "updateTime", "hyperparameters", "environment", "kmsKeyArn",
          "tags", "dataChannels"),
         ("createTime", "updateTime") + TM_COMMON + ("mlModelTrainingPayerAccountId",),
         ("createTime", "updateTime") + TM_COMMON + ("creatorAccountId", "mlModelTrainingPayerAccountId"),
         ids={"versionIdentifier": None, "configuredModelAlgorithmAssociationArn": None}, carry=PUBLISH,
         versioned=True, defaults={
             "incrementalTrainingDataChannels": None,
             "description": lambda res, fake: "fake trained model %s" % res.name,
             "resourceConfig": {"instanceCount": 1, "instanceType": "ml.m5.xlarge", "volumeSizeInGB": 10},
             "trainingInputMode": "File", "stoppingCondition": {"maxRuntimeInSeconds": 86400},
             "trainingContainerImageDigest": lambda res, fake: "sha256:" + hashlib.sha256(
                 res.key.encode()).hexdigest(),
             "mlModelTrainingPayerAccountId": None, "hyperparameters": {"epochs": "3"}, "environment": {},
             "kmsKeyArn": None, "tags": TAGS,
             "dataChannels": lambda res, fake: [{"mlInputChannelArn": _in_membership(
                 "ml-input-channel", "mic-default")(res, fake), "channelName": "train"}]}),
    Kind("trained-model-inference-job", "trainedModelInferenceJobArn", True, TMIJ_STATUSES,
         ("createTime", "updateTime", "trainedModelInferenceJobArn", "configuredModelAlgorithmAssociationArn", "name",
          "status", "trainedModelArn", "trainedModelVersionIdentifier", "resourceConfig", "outputConfiguration",
          "membershipIdentifier", "dataSource", "containerExecutionParameters", "statusDetails", "description",
          "inferenceContainerImageDigest", "environment", "kmsKeyArn", "metricsStatus", "metricsStatusDetails",
          "logsStatus", "logsStatusDetails", "tags", "mlModelInferencePayerAccountId"),
         TMIJ_SUMMARY, TMIJ_SUMMARY + ("creatorAccountId",),
         ids={"trainedModelArn": None, "trainedModelVersionIdentifier": None,
              "configuredModelAlgorithmAssociationArn": None}, carry=PUBLISH, defaults={
             "resourceConfig": {"instanceType": "ml.m5.xlarge", "instanceCount": 1},
             "outputConfiguration": lambda res, fake: dict(RECEIVERS(res, fake), accept="text/csv"),
             "dataSource": lambda res, fake: {"mlInputChannelArn": _in_membership(
                 "ml-input-channel", "mic-default")(res, fake)},
             "containerExecutionParameters": {"maxPayloadInMB": 6},
             "description": lambda res, fake: "fake inference job %s" % res.name,
             "inferenceContainerImageDigest": lambda res, fake: "sha256:" + hashlib.sha256(
                 res.key.encode()).hexdigest(),
             "environment": {}, "kmsKeyArn": None, "tags": TAGS, "mlModelInferencePayerAccountId": None}),
    Kind("ml-input-channel", "mlInputChannelArn", True, MIC_STATUSES,
         ("membershipIdentifier", "collaborationIdentifier", "mlInputChannelArn", "name",
          "configuredModelAlgorithmAssociations", "status", "statusDetails", "retentionInDays", "numberOfRecords",
          "privacyBudgets", "description", "syntheticDataConfiguration", "payerConfiguration", "createTime",
          "updateTime", "inputChannel", "protectedQueryIdentifier", "numberOfFiles", "sizeInGb", "kmsKeyArn", "tags"),
         MIC_SUMMARY, tuple(m for m in MIC_SUMMARY if m != "protectedQueryIdentifier") + ("creatorAccountId",),
         defaults={
             "configuredModelAlgorithmAssociations": lambda res, fake: [CMAA(res, fake)],
             "retentionInDays": 30, "numberOfRecords": 100000, "privacyBudgets": None,
             "description": lambda res, fake: "fake ML input channel %s" % res.name,
             "syntheticDataConfiguration": None, "payerConfiguration": None,
             "inputChannel": lambda res, fake: {
                 "dataSource": {"protectedQueryInputParameters": {"sqlParameters": {
                     "queryString": "SELECT user_id, item_id, ts FROM interactions"}}},
                 "roleArn": "arn:aws:iam::%s:role/fake-ml-input-channel" % fake.account},
             "protectedQueryIdentifier": lambda res, fake: _uuid_of(res, "pq:"),
             "numberOfFiles": 4.0, "sizeInGb": 0.25, "kmsKeyArn": None, "tags": TAGS}),
    Kind("audience-export-job", None, False, EXPORT_STATUSES,
         ("createTime", "updateTime", "name", "audienceGenerationJobArn", "audienceSize", "description", "status",
          "statusDetails", "outputLocation"), (), parent="audienceGenerationJobArn",
         ids={"audienceGenerationJobArn": None}, defaults={
             "audienceSize": {"type": "ABSOLUTE", "value": 10000},
             "description": lambda res, fake: "fake audience export job %s" % res.name,
             "outputLocation": lambda res, fake: "s3://fake-export-bucket/%s/" % res.name}),
    Kind("trained-model-export-job", None, True, EXPORT_STATUSES,
         ("createTime", "updateTime", "name", "outputConfiguration", "status", "statusDetails", "description",
          "creatorAccountId", "trainedModelArn", "trainedModelVersionIdentifier", "membershipIdentifier",
          "collaborationIdentifier"), (), parent="trainedModelArn",
         ids={"trainedModelArn": None, "trainedModelVersionIdentifier": None}, defaults={
             "outputConfiguration": RECEIVERS,
             "description": lambda res, fake: "fake trained model export job %s" % res.name}),
]}
AGJ = "audience-generation-job"
# Defaults of identity members that depend on the fake's region and account (None above).
ID_DEFAULTS = {
    "configuredAudienceModelArn": lambda res, fake: "arn:aws:cleanrooms-ml:%s:%s:configured-audience-model/"
                                                    "cam-default" % (fake.region, fake.account),
    "trainingDatasetArn": lambda res, fake: "arn:aws:cleanrooms-ml:%s:%s:training-dataset/td-default" % (
        fake.region, fake.account),
    "configuredModelAlgorithmAssociationArn": CMAA,
    "audienceGenerationJobArn": lambda res, fake: KINDS[AGJ].arn_for("agj-default", fake),
    "trainedModelArn": _in_membership("trained-model", "tm-default"),
}


class Job:
    """A resource of any kind (an audience generation job unless the scenario entry says otherwise)."""

    def __init__(self, spec, fake, appear_default=0.0):
        self.region = fake.region
        self.account = fake.account
        kind = spec.get("kind", AGJ)
        if kind not in KINDS:
            raise ScenarioError("unknown kind %r (known: %s)" % (kind, ", ".join(KINDS)))
        self.kind = k = KINDS[kind]
        if k.check:
            k.check(spec)
        spec = k.with_parent(spec, fake)
        self.arn, self.key, self.ids = k.identity(spec, fake)
        for n, v in self.ids.items():
            if v is None and n in ID_DEFAULTS:
                self.ids[n] = ID_DEFAULTS[n](self, fake)
        self.seq = fake.next_seq()
        self.name = spec.get("name") or (self.arn.rsplit("/", 1)[-1][:63] if self.arn else spec["id"])
        self.appear_at = float(spec.get("appearAt", appear_default))
        self.delete_at = float(spec["deleteAt"]) if spec.get("deleteAt") is not None else None
        self.extra = {f: spec[f] for f in k.fields if f in spec}
        self.steps = []
        steps = spec.get("steps") or [{"at": self.appear_at, "status": spec.get("status", "CREATE_PENDING")}]
        for s in steps:
            self.add_step(s, fake)

    # the audience generation job's identity members, as the control API and truth() name them
    collaboration_id = property(lambda self: self.ids.get("collaborationId"),
                                lambda self, v: self.ids.__setitem__("collaborationId", v))
    cam_arn = property(lambda self: self.ids.get("configuredAudienceModelArn"),
                       lambda self, v: self.ids.__setitem__("configuredAudienceModelArn", v))

    def add_step(self, s, fake, at=None, update_time=None):
        if "status" not in s:
            raise ScenarioError("step needs 'status': %r" % (s,))
        at = float(s.get("at", self.appear_at)) if at is None else at
        step = {"at": at, "status": s["status"]}
        for k in ("statusDetails",) + self.kind.carry:
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

    def state_full(self, now, fake):
        """(status, statusDetails|None, {carried member: value}, updateTime unix) at scenario time `now`."""
        cur = self.steps[0]
        carried = {}
        for s in self.steps:
            if s["at"] <= now:
                cur = s
                carried.update({k: s[k] for k in self.kind.carry if k in s})
        if cur is self.steps[0]:
            for k in self.kind.carry:
                if carried.get(k) is None and k in cur:
                    carried[k] = cur[k]
        ut = cur.get("updateTime")
        if ut is None:
            ut = max(fake.wall_of(cur["at"]), self.create_time(fake))
        return cur["status"], cur.get("statusDetails"), carried, ut

    def state(self, now, fake):
        """(status, statusDetails|None, metrics|None, updateTime unix) at scenario time `now`."""
        status, details, carried, ut = self.state_full(now, fake)
        return status, details, carried.get("metrics"), ut

    def document(self, now, fake, members=None):
        """The resource as the service describes it: the Get answer (or, with `members`, a List summary)."""
        k = self.kind
        status, details, carried, ut = self.state_full(now, fake)
        live = dict(self.ids, createTime=iso(self.create_time(fake)), updateTime=iso(ut), name=self.name,
                    status=status, statusDetails=details, creatorAccountId=self.extra.get("creatorAccountId",
                                                                                          fake.account))
        live.update(carried)
        if k.arn_member:
            live[k.arn_member] = self.arn
        d = {}
        for m in k.members if members is None else members:
            if m in live:
                v = live[m]
            elif m in self.extra:
                v = self.extra[m]
            else:
                v = k.defaults.get(m)
                v = v(self, fake) if callable(v) else v
            if v is not None:
                d[m] = v
        return d

    def value(self, member, now, fake):
        """A member List filters and path labels compare with."""
        if member == "status":
            return self.state_full(now, fake)[0]
        if member == self.kind.arn_member:
            return self.arn
        return self.ids.get(member)


class Op:
    """One API operation: its model name, HTTP path (labels in braces), kind, and for a List the member holding
    the results, the query members that filter them and whether it is the collaboration view."""

    def __init__(self, name, path, kind, result=None, query=(), collab=False):
        self.name, self.kind, self.result, self.query, self.collab = name, KINDS[kind], result, query, collab
        self.labels = re.findall(r"\{(\w+)\}", path)
        strict = re.sub(r"\\\{\w+\\\}", "([^/]*)", re.escape(path))
        # Second chance: an ARN label sent without encoding its '/' still finds its operation (then a 400).
        loose = re.sub(r"\\\{\w+Arn\\\}", "(.*)", re.escape(path))
        self.strict, self.loose = re.compile("^%s$" % strict), re.compile("^%s$" % re.sub(
            r"\\\{\w+\\\}", "([^/]*)", loose))


M = "/memberships/{membershipIdentifier}"
C = "/collaborations/{collaborationIdentifier}"
TM_FILTERS = ("trainedModelArn", "trainedModelVersionIdentifier")
# Every Get and List operation of the kinds above, as the model's "http" traits give them (GET only).
OPS = [
    Op("ListAudienceGenerationJobs", "/audience-generation-job", AGJ, "audienceGenerationJobs",
       ("collaborationId", "configuredAudienceModelArn")),
    Op("GetAudienceGenerationJob", "/audience-generation-job/{audienceGenerationJobArn}", AGJ),
    Op("ListAudienceModels", "/audience-model", "audience-model", "audienceModels"),
    Op("GetAudienceModel", "/audience-model/{audienceModelArn}", "audience-model"),
    Op("ListTrainedModels", M + "/trained-models", "trained-model", "trainedModels"),
    Op("ListTrainedModelVersions", M + "/trained-models/{trainedModelArn}/versions", "trained-model",
       "trainedModels", ("status",)),
    Op("GetTrainedModel", M + "/trained-models/{trainedModelArn}", "trained-model", query=("versionIdentifier",)),
    Op("ListCollaborationTrainedModels", C + "/trained-models", "trained-model", "collaborationTrainedModels",
       collab=True),
    Op("ListCollaborationTrainedModelExportJobs", C + "/trained-models/{trainedModelArn}/export-jobs",
       "trained-model-export-job", "collaborationTrainedModelExportJobs", ("trainedModelVersionIdentifier",)),
    Op("ListTrainedModelInferenceJobs", M + "/trained-model-inference-jobs", "trained-model-inference-job",
       "trainedModelInferenceJobs", TM_FILTERS),
    Op("GetTrainedModelInferenceJob", M + "/trained-model-inference-jobs/{trainedModelInferenceJobArn}",
       "trained-model-inference-job"),
    Op("ListCollaborationTrainedModelInferenceJobs", C + "/trained-model-inference-jobs",
       "trained-model-inference-job", "collaborationTrainedModelInferenceJobs", TM_FILTERS, collab=True),
    Op("ListMLInputChannels", M + "/ml-input-channels", "ml-input-channel", "mlInputChannelsList"),
    Op("GetMLInputChannel", M + "/ml-input-channels/{mlInputChannelArn}", "ml-input-channel"),
    Op("ListCollaborationMLInputChannels", C + "/ml-input-channels", "ml-input-channel",
       "collaborationMLInputChannelsList", collab=True),
    Op("ListAudienceExportJobs", "/audience-export-job", "audience-export-job", "audienceExportJobs",
       ("audienceGenerationJobArn",)),
]
_UUID_RULE = (UUID_RE, 36, 36)
# Constraints of the path labels and query members above (pattern, min and max length); `status` is the kind's enum.
MEMBER_RULES = {
    "membershipIdentifier": _UUID_RULE, "collaborationIdentifier": _UUID_RULE, "collaborationId": _UUID_RULE,
    "versionIdentifier": _UUID_RULE, "trainedModelVersionIdentifier": _UUID_RULE,
    "configuredAudienceModelArn": (CAM_ARN_RE, 20, 2048),
    "audienceGenerationJobArn": (KINDS[AGJ].arn_re, 20, 2048),
    "audienceModelArn": (KINDS["audience-model"].arn_re, 20, 2048),
    "trainedModelArn": (KINDS["trained-model"].arn_re, 20, 2048),
    "trainedModelInferenceJobArn": (KINDS["trained-model-inference-job"].arn_re, 20, 2048),
    "mlInputChannelArn": (KINDS["ml-input-channel"].arn_re, 20, 2048),
}


def match_operation(raw_path):
    """(Op, {label: raw value}) for a path, or (None, None)."""
    for attr in ("strict", "loose"):
        for o in OPS:
            m = getattr(o, attr).match(raw_path)
            if m:
                return o, dict(zip(o.labels, m.groups()))
    return None, None


def member_problem(name, value, kind):
    """A ValidationException message when a label or query value breaks the model's constraint, else None."""
    if name == "status":
        if value not in kind.statuses:
            return "1 validation error detected: Value at 'status' failed to satisfy constraint: Member must " \
                   "satisfy enum value set: [%s]" % ", ".join(kind.statuses)
        return None
    rx, lo, hi = MEMBER_RULES[name]
    if not rx.match(value) or not lo <= len(value) <= hi:
        return "1 validation error detected: Value at '%s' failed to satisfy constraint: Member must satisfy " \
               "regular expression pattern" % name
    return None


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
        self.path = spec.get("path")  # a substring of the request's raw path (e.g. one List operation)
        self.count = int(spec["count"]) if spec.get("count") is not None else None
        self.hits = 0

    def matches(self, op, arn, now, raw_path=""):
        if self.count is not None and self.hits >= self.count:
            return False
        if self.path is not None and self.path not in raw_path:
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
        self.collab_of = {}  # membershipIdentifier -> collaborationIdentifier
        self.faults = []
        self.verify = verify  # None or {"credentials": [...], "region": R}
        self.token_key = os.urandom(16)
        self.stats = {}
        self.reset_stats()
        # PutEvents: what the bus accepted, and the switch that refuses every Nth entry.
        self.bus_events = []
        self.bus_refuse = {"every": 0, "code": "ThrottlingException", "message": "Rate exceeded", "start": 0}
        self.bus_entry_count = 0
        # "jobs" (audience generation jobs unless an entry has "kind") and "resources" are one list.
        for spec in list(scenario.get("jobs", [])) + list(scenario.get("resources", [])):
            j = Job(spec, self)
            self.jobs[self.check_membership(j)] = j
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

    def pick_fault(self, op, arn, raw_path=""):
        now = self.now()
        with self.lock:
            for f in self.faults:
                if f.matches(op, arn, now, raw_path):
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

    def check_membership(self, j):
        """A membership belongs to one collaboration: refuse a resource that says otherwise.  Returns its key."""
        m, c = j.ids.get("membershipIdentifier"), j.ids.get("collaborationIdentifier")
        if m and c and self.collab_of.setdefault(m, c) != c:
            raise ScenarioError("membership %s is in collaboration %s, not %s" % (m, self.collab_of[m], c))
        return j.key

    def key_of(self, spec):
        """The key (ARN, "ARN#version" for a trained model version, "parent#name" for an export job) of the
        resource a control request names."""
        if spec.get("key"):
            return spec["key"]
        kind = KINDS.get(spec.get("kind", AGJ))
        if kind is None:
            raise ScenarioError("unknown kind %r (known: %s)" % (spec.get("kind"), ", ".join(KINDS)))
        return kind.identity(kind.with_parent(spec, self), self)[1]

    def upsert_job(self, spec):
        now = self.now()
        with self.lock:
            j = self.jobs.get(self.key_of(spec))
            if j is None:
                s = dict(spec)
                kind = KINDS[s.get("kind", AGJ)]
                if "steps" not in s:
                    s["steps"] = [{"at": now, "status": s.get("status", "CREATE_PENDING"),
                                   **{k: s[k] for k in ("statusDetails",) + kind.carry if k in s}}]
                s.setdefault("appearAt", now)
                j = Job(s, self, appear_default=now)
                self.jobs[self.check_membership(j)] = j
                return j
            kind = j.kind
            if "name" in spec and kind.arn_member:
                j.name = spec["name"]
            for k in j.ids:
                # not the members that make up the key
                if k in spec and k not in ("membershipIdentifier", "versionIdentifier", kind.parent):
                    j.ids[k] = spec[k]
            for k in kind.fields - {"createTime"}:
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
                _, _, _, prev_ut = j.state_full(now, self)
                ut = time.time()
                if "updateTime" in spec:
                    ut = parse_iso(spec["updateTime"])
                elif ut <= prev_ut + 0.001:
                    ut = prev_ut + 0.001  # updateTime always moves forward
                # at `now`, after any scripted step at the same instant
                j.steps = [s for s in j.steps if s["at"] <= now]
                j.add_step({k: spec[k] for k in ("status", "statusDetails") + kind.carry if k in spec}, self,
                           at=now, update_time=ut)
            return j

    def find(self, kind, arn, version, now):
        """The existing resource of `kind` with that ARN (a trained model: that version, else the latest)."""
        if not kind.versioned:
            r = self.jobs.get(arn)
            return r if r is not None and r.kind is kind and r.exists(now) else None
        found = [r for r in self.jobs.values() if r.kind is kind and r.arn == arn and r.exists(now)
                 and version in (None, r.ids.get("versionIdentifier"))]
        return max(found, key=lambda r: r.seq) if found else None

    def truth(self):
        now = self.now()
        out = []
        with self.lock:
            for j in sorted(self.jobs.values(), key=lambda x: x.seq):
                status, details, _, ut = j.state_full(now, self)
                out.append(dict(j.ids, arn=j.key, kind=j.kind.name, name=j.name, exists=j.exists(now),
                                deleted=j.delete_at is not None and now >= j.delete_at,
                                appeared=now >= j.appear_at, status=status, statusDetails=details,
                                updateTime=iso(ut), createTime=iso(j.create_time(self))))
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
            fault = fake.pick_fault(op, arn, raw_path)
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
        """(op, arn, early_response_or_None); the operation (OPS) in self.operation, its labels in self.labels"""
        self.operation, self.labels = None, {}
        target = self.headers.get("X-Amz-Target")
        if raw_path == "/" and method == "POST" and target is not None:
            # awsJson1_1: the operation is in X-Amz-Target, the body is JSON of that content type.
            if target != "AWSEvents.PutEvents":
                return "unknown", None, json_error(400, "UnknownOperationException", "Unknown operation %s" % target)
            if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/x-amz-json-1.1":
                return "putevents", None, json_error(400, "SerializationException",
                                                     "Content-Type must be application/x-amz-json-1.1")
            return "putevents", None, None
        o, raw = match_operation(raw_path)
        self.operation, self.labels = o, {}
        if o is None:
            return None, None, error(404, "UnknownOperationException", "Unknown operation %s %s" % (method, raw_path))
        op = "list" if o.result else "get"
        if method != "GET":
            return op, None, error(404, "UnknownOperationException", "Unknown operation")
        for name in o.labels:
            if not raw[name]:
                return op, None, error(400, "ValidationException", "%s is required" % name)
            if ":" in raw[name] or "/" in raw[name] or not ENCODED_RE.match(raw[name]):
                self.server.note("raw path label not percent-encoded: %r" % raw_path)
                return op, None, error(400, "ValidationException", "1 validation error detected: the %s URI "
                                       "label must be percent-encoded (':' as %%3A, '/' as %%2F)" % name)
        labels = {n: urllib.parse.unquote(v) for n, v in raw.items()}
        arn = labels.get(o.kind.arn_member) if op == "get" else None
        for name in o.labels:
            problem = member_problem(name, labels[name], o.kind)
            if problem:
                return op, arn, error(400, "ValidationException", problem)
        self.labels = labels
        return op, arn, None

    def parse_query(self, raw_query, o):
        """({member: value}, None) or (None, a 400 answer): values percent-encoded, the operation's query members
        within the model's constraints (maxResults and nextToken are checked by the List code)."""
        q = {}
        for part in raw_query.split("&") if raw_query else []:
            k, _, v = part.partition("=")
            if not ENCODED_RE.match(k) or not ENCODED_RE.match(v):
                return None, error(400, "ValidationException",
                                   "query parameter %r is not percent-encoded" % urllib.parse.unquote(k))
            q[urllib.parse.unquote(k)] = urllib.parse.unquote(v)
        for name in o.query:
            problem = member_problem(name, q[name], o.kind) if name in q else None
            if problem:
                return None, error(400, "ValidationException", problem)
        return q, None

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
        o, labels = self.operation, self.labels
        k = o.kind
        q, bad = self.parse_query(raw_query, o) if op == "list" or o.query else ({}, None)
        if bad:
            return bad
        not_found = error(404, "ResourceNotFoundException", "Resource not found: %s" % k.name.replace("-", " "))
        if op == "get":
            # The resource is looked up in the path's membership: another membership's ARN is not found there.
            if k.scoped and membership_of(arn) != labels["membershipIdentifier"]:
                return not_found
            with fake.lock:
                j = fake.find(k, arn, q.get("versionIdentifier"), now)
                pairs = [(j, j.document(now, fake))] if j is not None else []
            if not pairs:
                return not_found
            result = pairs[0][1]
        else:
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
            after = 0
            if "nextToken" in q:
                tok = q["nextToken"]
                after = fake.parse_token(tok) if 1 <= len(tok) <= 10240 else None
                if after is None:
                    return error(400, "ValidationException", "Invalid pagination token")
            # Path labels and query members filter by the resource's member of the same name.
            filters = dict(labels, **{n: q[n] for n in o.query if n in q})
            versions = o.name == "ListTrainedModelVersions"
            with fake.lock:
                if versions and (membership_of(labels["trainedModelArn"]) != labels["membershipIdentifier"] or
                                 fake.find(k, labels["trainedModelArn"], None, now) is None):
                    return not_found  # the one List with a ResourceNotFoundException: no such trained model
                sel = [j for j in sorted(fake.jobs.values(), key=lambda x: x.seq)
                       if j.kind is k and j.exists(now) and all(j.value(n, now, fake) == v for n, v in filters.items())]
                if k.versioned and not versions:
                    latest = {j.arn: j for j in sel}  # one answer per trained model: its latest version
                    sel = [j for j in sel if latest[j.arn] is j]
                sel = [j for j in sel if j.seq > after]
                page = sel[:mr]
                members = k.collab if o.collab else (k.summary or k.members)
                pairs = [(j, j.document(now, fake, members)) for j in page]
            result = {o.result: [d for _, d in pairs]}
            if len(sel) > mr:
                result["nextToken"] = fake.make_token(page[-1].seq)
        if kind in ("unknown_status", "invalid_status", "missing_fields"):
            for j, d in pairs:
                if fault.job is not None and fault.job not in (j.key, j.arn):
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
