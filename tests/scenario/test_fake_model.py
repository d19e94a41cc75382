#!/usr/bin/python3
"""The fake follows the official service model: every kind of Get and List answer the fake gives (default jobs,
S3- and SQL-seeded jobs with compute properties, every status, statusDetails, metrics, tags, unknown-status
answers, paginated and filtered lists) and every error answer it gives is checked against
tests/data/cleanroomsml/service-2.json -- required members, member types, enum values, string lengths,
integer and double ranges, map and list sizes, patterns; errors by the shape named in x-amzn-errortype, with
the HTTP status the model gives it.  A seed audience has exactly one of dataSource and sqlParameters, as
real jobs do.  So the fake cannot drift from the model without this test failing."""

import json
import os
import re
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")),
                                "tests", "lib"))
import jwtest as jw  # noqa: E402
from rawhttp import enc, request  # noqa: E402

MODEL = os.path.join(jw.SOURCE_DIR, "tests", "data", "cleanroomsml", "service-2.json")
# Front-door errors the real service sends that are not in the model (general AWS behaviour).
FRONT_DOOR = {"ExpiredTokenException": 403, "UnknownOperationException": 404}
STATUSES = ["CREATE_PENDING", "CREATE_IN_PROGRESS", "CREATE_FAILED", "ACTIVE", "DELETE_PENDING",
            "DELETE_IN_PROGRESS", "DELETE_FAILED"]
SQL_SEED = {"roleArn": "arn:aws:iam::111122223333:role/seed-sql",
            "sqlParameters": {"queryString": "SELECT user_id FROM seed WHERE score > :min",
                              "analysisTemplateArn": "arn:aws:cleanrooms:us-east-1:111122223333:membership/"
                                                     "m-1/analysistemplate/t-1",
                              "parameters": {"min": "0.5"}},
            "sqlComputeConfiguration": {"worker": {"type": "CR.4X", "number": 16, "properties": {
                "spark": {"spark.executor.memory": "8g"}}}}}
METRICS = {"relevanceMetrics": [{"audienceSize": {"type": "ABSOLUTE", "value": 20000}, "score": 7.5},
                                {"audienceSize": {"type": "PERCENTAGE", "value": 10}}], "recallMetric": 0.42}


class Model:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.shapes = json.load(f)["shapes"]

    def validate(self, shape_name, value, path="$"):
        """A list of problems (empty when value fits the shape)."""
        s = self.shapes[shape_name]
        t = s["type"]
        out = []
        if t == "structure":
            if not isinstance(value, dict):
                return ["%s: %s is not an object" % (path, shape_name)]
            for req in s.get("required", []):
                if value.get(req) is None:
                    out.append("%s: missing required %s.%s" % (path, shape_name, req))
            members = s.get("members", {})
            for k, v in value.items():
                if k not in members:
                    out.append("%s.%s: not a member of %s" % (path, k, shape_name))
                elif v is not None:
                    out += self.validate(members[k]["shape"], v, "%s.%s" % (path, k))
            if s.get("union") and sum(1 for v in value.values() if v is not None) != 1:
                out.append("%s: union %s needs exactly one member" % (path, shape_name))
        elif t == "list":
            if not isinstance(value, list):
                return ["%s: not a list" % path]
            out += self.size(s, len(value), path)
            for i, v in enumerate(value):
                out += self.validate(s["member"]["shape"], v, "%s[%d]" % (path, i))
        elif t == "map":
            if not isinstance(value, dict):
                return ["%s: not a map" % path]
            out += self.size(s, len(value), path)
            for k, v in value.items():
                out += self.validate(s["key"]["shape"], k, "%s{key %r}" % (path, k))
                out += self.validate(s["value"]["shape"], v, "%s[%r]" % (path, k))
        elif t == "string":
            if not isinstance(value, str):
                return ["%s: not a string" % path]
            if "enum" in s and value not in s["enum"]:
                out.append("%s: %r is not a value of %s" % (path, value, shape_name))
            out += self.size(s, len(value), path)
            if "pattern" in s:
                try:
                    rx = re.compile(s["pattern"])
                except re.error:
                    rx = None  # a Java-only construct: lengths and enums still apply
                if rx and not rx.fullmatch(value):
                    out.append("%s: %r does not match the pattern of %s" % (path, value, shape_name))
        elif t in ("integer", "long"):
            if not isinstance(value, int) or isinstance(value, bool):
                return ["%s: not an integer" % path]
            out += self.size(s, value, path)
        elif t in ("double", "float"):
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                return ["%s: not a number" % path]
            out += self.size(s, value, path)
        elif t == "boolean":
            if not isinstance(value, bool):
                out.append("%s: not a boolean" % path)
        elif t == "timestamp":
            if not isinstance(value, str) or not re.fullmatch(
                    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value):
                out.append("%s: %r is not an iso8601 timestamp" % (path, value))
        else:
            out.append("%s: shape type %s not handled by this checker" % (path, t))
        return out

    @staticmethod
    def size(s, n, path):
        if "min" in s and n < s["min"]:
            return ["%s: %r below the minimum %r" % (path, n, s["min"])]
        if "max" in s and n > s["max"]:
            return ["%s: %r above the maximum %r" % (path, n, s["max"])]
        return []

    def error_status(self, name):
        s = self.shapes.get(name)
        if s and s.get("exception"):
            return s.get("error", {}).get("httpStatusCode")
        return FRONT_DOOR.get(name)


def seed_problems(doc):
    seed = doc.get("seedAudience")
    if seed is not None and ("dataSource" in seed) == ("sqlParameters" in seed):
        return ["seedAudience has %s of dataSource and sqlParameters" %
                ("both" if "dataSource" in seed else "neither")]
    return []


def test(t):
    c = jw.Checks()
    m = Model(MODEL)
    jobs = [{"id": "default-job"},
            {"id": "sql-job", "name": "sql seeded", "seedAudience": SQL_SEED, "description": "",
             "tags": {"team": "ads"}, "includeSeedInOutput": True,
             "steps": [{"at": 0, "status": "ACTIVE", "metrics": METRICS}]},
            {"id": "failed-job", "steps": [{"at": 0, "status": "CREATE_FAILED", "statusDetails": {
                "statusCode": "INSUFFICIENT_SEED", "message": "seed too small"}}]}]
    jobs += [{"id": "st-%d" % i, "steps": [{"at": 0, "status": st}]} for i, st in enumerate(STATUSES)]
    fake = t.start_fake({"jobs": jobs, "defaultMaxResults": 4})

    def get(jid):
        return request(fake.url, "GET", "/audience-generation-job/" + enc(fake.arn(jid)))

    def check_get(r, what):
        c.eq(r.status, 200, "%s: status" % what)
        if r.status == 200:
            d = r.json()
            probs = m.validate("GetAudienceGenerationJobResponse", d) + seed_problems(d)
            c.ok(not probs, "%s fits GetAudienceGenerationJobResponse: %s" % (what, probs))
            return d
        return None

    for j in jobs:
        check_get(get(j["id"]), "get %s" % j["id"])
    d = check_get(get("sql-job"), "get sql-job")
    c.eq(d and d["seedAudience"], SQL_SEED, "a SQL seed is answered as given")
    c.ok(d and "dataSource" in check_get(get("default-job"), "default")["seedAudience"], "default seed is S3")

    # Every page of an unfiltered and a filtered List.
    def pages(query):
        out, token = [], None
        for _ in range(20):
            q = query + ("&nextToken=" + urllib.parse.quote(token, safe="") if token else "")
            r = request(fake.url, "GET", "/audience-generation-job" + ("?" + q.lstrip("&") if q else ""))
            c.eq(r.status, 200, "list %r" % q)
            if r.status != 200:
                break
            body = r.json()
            probs = m.validate("ListAudienceGenerationJobsResponse", body)
            c.ok(not probs, "list page fits ListAudienceGenerationJobsResponse: %s" % probs)
            out += body["audienceGenerationJobs"]
            token = body.get("nextToken")
            if not token:
                break
        return out
    c.eq(len(pages("")), len(jobs), "every job listed")
    c.eq(len(pages("maxResults=100&collaborationId=a1b2c3d4-0000-4000-8000-00000000c011")), len(jobs),
         "filtered list")

    # An unknown status (newer than the model) is the one sanctioned difference: everything else still fits.
    fake.add_fault("unknown_status", job=fake.arn("default-job"), count=1)
    r = get("default-job")
    d = r.json()
    c.eq(d["status"], "ACTIVATING", "unknown_status answers a value the model does not have")
    d["status"] = "ACTIVE"
    c.ok(not m.validate("GetAudienceGenerationJobResponse", d), "the rest of that answer fits the model")

    # Errors: the shape named in x-amzn-errortype exists (or is a known front-door error), the HTTP status is
    # the model's, and the body has the shape's required members.
    faults = ["500", "throttle", "expired_token", "access_denied", "validation", "not_found", "unknown_operation"]
    for kind in faults:
        fake.add_fault(kind, job=fake.arn("failed-job"), count=1)
        r = get("failed-job")
        et = r.header("x-amzn-errortype")
        c.ok(et is not None, "%s: an error type" % kind)
        if et is None:
            continue
        c.eq(r.status, m.error_status(et), "%s: HTTP status of %s" % (kind, et))
        if et in m.shapes:
            probs = m.validate(et, r.json())
            c.ok(not probs, "%s: body fits %s: %s" % (kind, et, probs))
    r = request(fake.url, "GET", "/audience-generation-job/" + enc(fake.arn("no-such-job")))
    c.eq((r.status, r.header("x-amzn-errortype")), (404, "ResourceNotFoundException"), "unknown job")
    c.ok(not m.validate("ResourceNotFoundException", r.json()), "404 body fits ResourceNotFoundException")
    r = request(fake.url, "GET", "/audience-generation-job?maxResults=0")
    c.eq((r.status, r.header("x-amzn-errortype")), (400, "ValidationException"), "bad maxResults")
    c.ok(not m.validate("ValidationException", r.json()), "400 body fits ValidationException")

    # The scenario cannot describe a job the service would not have.
    both = dict(SQL_SEED, dataSource={"s3Uri": "s3://b/k"})
    try:
        fake.http.call("POST", "/_fake/jobs", {"id": "both-seeds", "seedAudience": both})
        refused = None
    except jw.TestFailure as e:
        refused = str(e)
    c.ok(refused and "-> 400" in refused, "a seed with both dataSource and sqlParameters is refused: %s" % refused)

    # The checker itself can fail: a copy of a good answer with one thing wrong per model rule.
    good = check_get(get("sql-job"), "sql-job again")
    for what, mutate in [("missing required", lambda x: x.pop("name")),
                         ("enum", lambda x: x["seedAudience"]["sqlComputeConfiguration"]["worker"].update(type="CR.2X")),
                         ("length", lambda x: x.update(name="n" * 64)),
                         ("range", lambda x: x["seedAudience"]["sqlComputeConfiguration"]["worker"].update(number=1)),
                         ("type", lambda x: x.update(includeSeedInOutput="yes")),
                         ("pattern", lambda x: x.update(startedBy="12345678901x"))]:
        bad = json.loads(json.dumps(good))
        mutate(bad)
        c.ok(m.validate("GetAudienceGenerationJobResponse", bad), "the checker catches a bad %s" % what)
    c.ok(seed_problems({"seedAudience": both}), "the checker catches a seed with both sources")
    c.done()


if __name__ == "__main__":  # test_fake_kinds imports Model
    jw.main(test)
