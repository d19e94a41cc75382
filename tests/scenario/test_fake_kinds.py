#!/usr/bin/python3
"""The fake serves every Clean Rooms ML resource kind with a status (issue 15) as the service model says.

The only thing this test knows besides the model is which operations belong to which kind (the issue's table,
KINDS below).  Everything else comes from tests/data/cleanroomsml/service-2.json and paginators-1.json: the
HTTP method and path of each operation, its URI labels (sent percent-encoded as the SDKs do) and query
members, its required input members, the output shape every answer is checked against (required members,
no member outside the shape, types, enum values, lengths and ranges: test_fake_model's checker), the status
enum every kind's resources walk through, and the paginator (input/output token, limit key, result key) that
every List is followed with to its end.  Requests are SigV4-signed as the daemon signs them (the fake runs with
--verify-sigv4).  Also checked: a membership-scoped resource asked for under another membership is
ResourceNotFoundException (an error the operation declares, with the model's HTTP status), an unencoded or
malformed label is a ValidationException, List filters (labels and query members) select what they say, and the
checker itself fails on a broken answer."""

import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")),
                                "tests", "lib"))
sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")),
                                "tests", "scenario"))
import jwtest as jw  # noqa: E402
from test_fake_model import Model  # noqa: E402
from test_fake_protocol import enc, request, sign_headers  # noqa: E402

MODEL_DIR = os.path.join(jw.SOURCE_DIR, "tests", "data", "cleanroomsml")
# kind (as in its ARNs) -> (Get operation or None, List operations, member(s) identifying one answer)
KINDS = {
    "audience-generation-job": ("GetAudienceGenerationJob", ["ListAudienceGenerationJobs"],
                                ("audienceGenerationJobArn",)),
    "audience-model": ("GetAudienceModel", ["ListAudienceModels"], ("audienceModelArn",)),
    "trained-model": ("GetTrainedModel", ["ListTrainedModels", "ListTrainedModelVersions",
                                          "ListCollaborationTrainedModels"], ("trainedModelArn", "versionIdentifier")),
    "trained-model-inference-job": ("GetTrainedModelInferenceJob", ["ListTrainedModelInferenceJobs",
                                                                    "ListCollaborationTrainedModelInferenceJobs"],
                                    ("trainedModelInferenceJobArn",)),
    "ml-input-channel": ("GetMLInputChannel", ["ListMLInputChannels", "ListCollaborationMLInputChannels"],
                         ("mlInputChannelArn",)),
    "audience-export-job": (None, ["ListAudienceExportJobs"], ("audienceGenerationJobArn", "name")),
    "trained-model-export-job": (None, ["ListCollaborationTrainedModelExportJobs"], ("trainedModelArn", "name")),
}
COLLAB_1 = "c0000001-1111-4222-8333-444444444444"
COLLAB_2 = "c0000002-1111-4222-8333-444444444444"
# membership -> its collaboration (two members of collaboration 1, one of collaboration 2)
MEMBERSHIPS = {"a0000001-1111-4222-8333-444444444444": COLLAB_1, "a0000002-1111-4222-8333-444444444444": COLLAB_1,
               "a0000003-1111-4222-8333-444444444444": COLLAB_2}
M1, M2, M3 = sorted(MEMBERSHIPS)
VERSION_1 = "f0000001-1111-4222-8333-444444444444"
VERSION_2 = "f0000002-1111-4222-8333-444444444444"
PAGE = 2  # scenario defaultMaxResults: every List needs several pages


def mem_arn(m, rtype, rid):
    return "arn:aws:cleanrooms-ml:%s:%s:membership/%s/%s/%s" % (jw.REGION, jw.ACCOUNT, m, rtype, rid)


class Api:
    """The model's view of an operation: request building and the output shape."""

    def __init__(self, model, paginators, name):
        self.name = name
        self.op = model["operations"][name]
        self.shapes = model["shapes"]
        self.input = self.shapes[self.op["input"]["shape"]]
        self.output = self.op["output"]["shape"]
        self.paginator = paginators.get(name)
        self.errors = [e["shape"] for e in self.op.get("errors", [])]
        self.labels = {n: m for n, m in self.input["members"].items() if m.get("location") == "uri"}
        self.query = {n: m for n, m in self.input["members"].items() if m.get("location") == "querystring"}

    def status_enum(self):
        out = self.shapes[self.output]
        if self.paginator:  # List: the summary shape of the result list
            lst = self.shapes[out["members"][self.paginator["result_key"]]["shape"]]
            out = self.shapes[lst["member"]["shape"]]
        return self.shapes[out["members"]["status"]["shape"]]["enum"]

    def target(self, params, raw_labels=None):
        """(path, raw query) for input members `params`, as an SDK sends them; raw_labels: labels sent as given."""
        missing = [r for r in self.input.get("required", []) if r not in params]
        assert not missing, "%s: required input members missing: %s" % (self.name, missing)
        path = self.op["http"]["requestUri"]
        for n, m in self.labels.items():
            v = (raw_labels or {}).get(n)
            path = path.replace("{%s}" % m.get("locationName", n), v if v is not None else enc(params[n]))
        assert "{" not in path, path
        q = "&".join("%s=%s" % (m.get("locationName", n), urllib.parse.quote(str(params[n]), safe="-._~"))
                     for n, m in sorted(self.query.items()) if n in params)
        return path, q


def scenario(apis):
    """Resources of every kind, one per status value of the kind's model enum, spread over memberships."""
    res = []
    agjs = []
    tms = []
    for kind, (get, lists, _) in KINDS.items():
        statuses = apis[get or lists[0]].status_enum()
        for i, st in enumerate(statuses):
            m = sorted(MEMBERSHIPS)[i % 3]
            step = {"at": 0, "status": st}
            if st.endswith("FAILED"):
                step["statusDetails"] = {"statusCode": "FAKE_%d" % i, "message": "%s failed" % kind}
            e = {"kind": kind, "id": "%s-%02d" % (kind, i), "steps": [{"at": 0, "status": "CREATE_PENDING"}, step]}
            if kind in ("trained-model", "trained-model-inference-job"):
                step.update(metricsStatus="PUBLISH_FAILED", metricsStatusDetails="no metrics",
                            logsStatus="PUBLISH_SUCCEEDED")
            if kind in ("trained-model", "trained-model-inference-job", "ml-input-channel"):
                e.update(membershipIdentifier=m, collaborationIdentifier=MEMBERSHIPS[m])
            if kind == "audience-generation-job":
                agjs.append(jw.job_arn(e["id"]))
            if kind == "trained-model":
                tms.append(mem_arn(m, kind, e["id"]))
            if kind == "trained-model-inference-job":
                e.update(trainedModelArn=tms[i % len(tms)] if tms else mem_arn(m, "trained-model", "x"),
                         trainedModelVersionIdentifier=VERSION_1 if i % 2 else None)
            if kind == "audience-export-job":
                e.update(audienceGenerationJobArn=agjs[i % 2], name="export-%02d" % i)
            if kind == "trained-model-export-job":
                tm = tms[i % 2]
                e.update(trainedModelArn=tm, name="tm-export-%02d" % i, collaborationIdentifier=COLLAB_1,
                         trainedModelVersionIdentifier=VERSION_1 if i % 2 else None)
            res.append({k: v for k, v in e.items() if v is not None})
    # Two versions of one trained model (the later one is "the latest"), and one that is gone.
    for v, st in ((VERSION_1, "ACTIVE"), (VERSION_2, "CREATE_IN_PROGRESS")):
        res.append({"kind": "trained-model", "arn": mem_arn(M1, "trained-model", "versioned"), "versionIdentifier": v,
                    "collaborationIdentifier": COLLAB_1, "steps": [{"at": 0, "status": st}]})
    res.append({"kind": "ml-input-channel", "id": "deleted", "membershipIdentifier": M1,
                "collaborationIdentifier": COLLAB_1, "deleteAt": 0})
    return {"defaultMaxResults": PAGE, "resources": res}


def ident(kind, d):
    return tuple(d.get(k) for k in KINDS[kind][2])


def member(t, name, kind):
    """A truth record's value of a model member (the ARN member is the key before any '#version')."""
    if name == KINDS[kind][2][0] and name.endswith("Arn") and name not in t:
        return t["arn"].split("#")[0]
    return t.get(name)


def expected(truth, kind, api, params):
    """What a List with `params` must answer: resources of the kind whose members of the same name match,
    trained models once each (their latest version) except in ListTrainedModelVersions."""
    rs = [t for t in truth if t["kind"] == kind and t["exists"]]
    for n, v in params.items():
        if n not in ("maxResults", "nextToken"):
            rs = [t for t in rs if member(t, n, kind) == v]
    if kind == "trained-model" and api.name != "ListTrainedModelVersions":
        latest = {member(t, "trainedModelArn", kind): t for t in rs}
        rs = [t for t in rs if latest[member(t, "trainedModelArn", kind)] is t]
    recs = []
    for t in rs:
        d = {k: member(t, k, kind) for k in KINDS[kind][2]}
        if kind.endswith("export-job"):
            d["name"] = t["name"]
        recs.append(tuple(d.get(k) for k in KINDS[kind][2]))
    return sorted(recs, key=str)


def test(t):
    c = jw.Checks()
    with open(os.path.join(MODEL_DIR, "service-2.json"), encoding="utf-8") as f:
        model = json.load(f)
    with open(os.path.join(MODEL_DIR, "paginators-1.json"), encoding="utf-8") as f:
        paginators = json.load(f)["pagination"]
    m = Model(os.path.join(MODEL_DIR, "service-2.json"))
    apis = {}
    for kind, (get, lists, _) in KINDS.items():
        for name in ([get] if get else []) + lists:
            apis[name] = Api(model, paginators, name)
            a = apis[name]
            c.eq(a.op["http"]["method"], "GET", "%s is a GET" % name)
            c.ok(bool(a.paginator) == (name in lists), "%s: a paginator exactly for the Lists" % name)
    fake = t.start_fake(scenario(apis), verify_sigv4=True, name="fake-kinds")

    def call(api, params, raw_labels=None):
        path, q = api.target(params, raw_labels)
        return request(fake.url, "GET", path + ("?" + q if q else ""),
                       sign_headers(fake, "GET", path, q, jw.AKID, jw.SECRET))

    def check_error(r, api, etype, what):
        c.eq((r.status, r.header("x-amzn-errortype")), (m.error_status(etype), etype), what)
        c.ok(etype in api.errors, "%s: %s is an error %s declares" % (what, etype, api.name))
        if r.header("x-amzn-errortype") in m.shapes:
            probs = m.validate(r.header("x-amzn-errortype"), r.json())
            c.ok(not probs, "%s: body fits the error shape: %s" % (what, probs))

    def fits(r, api, what):
        c.eq(r.status, 200, "%s: status" % what)
        if r.status != 200:
            return None
        c.eq(r.header("content-type"), "application/json", "%s: content-type" % what)
        c.ok(r.header("x-amzn-requestid"), "%s: x-amzn-requestid" % what)
        d = r.json()
        probs = m.validate(api.output, d)
        c.ok(not probs, "%s fits %s: %s" % (what, api.output, probs))
        return d

    truth = fake.control("GET", "/jobs")["jobs"]
    c.eq(len(truth), len(scenario(apis)["resources"]), "every scenario resource is known to the fake")
    seen_status = {}

    # Every Get: each resource of the kind, under its own membership; the answer's status is the truth's.
    for kind, (get, lists, idm) in KINDS.items():
        if not get:
            continue
        api = apis[get]
        for tr in [x for x in truth if x["kind"] == kind and x["exists"]]:
            params = {idm[0]: member(tr, idm[0], kind)}
            if "membershipIdentifier" in api.labels:
                params["membershipIdentifier"] = tr["membershipIdentifier"]
            if "versionIdentifier" in api.query and tr.get("versionIdentifier"):
                params["versionIdentifier"] = tr["versionIdentifier"]
            d = fits(call(api, params), api, "%s %s" % (get, tr["arn"]))
            if d is None:
                continue
            c.eq((d[idm[0]], d["status"]), (params[idm[0]], tr["status"]), "%s answers its resource" % get)
            c.eq(d.get("statusDetails"), tr["statusDetails"], "%s: statusDetails of the step in force" % get)
            seen_status.setdefault(kind, set()).add(d["status"])
        # the membership in the path must be the one in the ARN
        if "membershipIdentifier" in api.labels:
            tr = next(x for x in truth if x["kind"] == kind and x["exists"] and x["membershipIdentifier"] == M1)
            r = call(api, {idm[0]: member(tr, idm[0], kind), "membershipIdentifier": M2})
            check_error(r, api, "ResourceNotFoundException", "%s under another membership" % get)
            r = call(api, {idm[0]: member(tr, idm[0], kind), "membershipIdentifier": "not-a-uuid"})
            check_error(r, api, "ValidationException", "%s with a malformed membership label" % get)
        # labels must be percent-encoded; a malformed ARN and an unknown one are refused
        tr = next(x for x in truth if x["kind"] == kind and x["exists"])
        params = {n: member(tr, n, kind) for n in api.labels}
        arn = params[idm[0]]
        r = call(api, params, raw_labels={idm[0]: arn})
        check_error(r, api, "ValidationException", "%s with an unencoded ARN label" % get)
        r = call(api, dict(params, **{idm[0]: arn.replace(kind + "/", "not-" + kind + "/")}))
        check_error(r, api, "ValidationException", "%s with another kind's ARN" % get)
        r = call(api, dict(params, **{idm[0]: arn + "-unknown"}))
        check_error(r, api, "ResourceNotFoundException", "%s of an unknown resource" % get)
    for kind, (get, lists, _) in KINDS.items():
        c.eq(seen_status.get(kind, set()) if get else set(apis[lists[0]].status_enum()),
             set(apis[get or lists[0]].status_enum()), "%s: every status of the model's enum answered" % kind)

    # A trained model's versions: without versionIdentifier the latest, with it that one.
    tm = apis["GetTrainedModel"]
    versioned = {"trainedModelArn": mem_arn(M1, "trained-model", "versioned"), "membershipIdentifier": M1}
    d = fits(call(tm, versioned), tm, "GetTrainedModel latest version")
    c.eq(d and (d.get("versionIdentifier"), d["status"]), (VERSION_2, "CREATE_IN_PROGRESS"), "latest version")
    d = fits(call(tm, dict(versioned, versionIdentifier=VERSION_1)), tm, "GetTrainedModel version 1")
    c.eq(d and (d.get("versionIdentifier"), d["status"]), (VERSION_1, "ACTIVE"), "version asked for")

    # Every List, for every value of its labels (and of its filters), followed page by page to its end.
    def list_all(api, params, limit):
        pg = api.paginator
        items, token, pages = [], None, 0
        while pages < 100:
            p = dict(params)
            if limit:
                p[pg["limit_key"]] = limit
            if token:
                p[pg["input_token"]] = token
            d = fits(call(api, p), api, "%s %s page %d" % (api.name, params, pages + 1))
            pages += 1
            if d is None:
                return None, pages
            got = d[pg["result_key"]]
            c.ok(len(got) <= (limit or PAGE), "%s: page within the limit" % api.name)
            items += got
            token = d.get(pg["output_token"])
            if not token:
                break
            c.ok(len(got) == (limit or PAGE), "%s: a full page before a token" % api.name)
        return items, pages

    def label_values(api, kind):
        """The List's label values the scenario's resources have (consistent ones: a trained model's versions
        under its own membership), each with its query filters unset and set to two values the resources have."""
        recs = [x for x in truth if x["kind"] == kind and x["exists"]]
        combos = []
        for x in recs:
            cb = {n: member(x, n, kind) for n in api.labels}
            if cb not in combos:
                combos.append(cb)
        for n in [q for q in api.query if q not in ("maxResults", "nextToken")]:
            vals = sorted({member(x, n, kind) for x in recs if member(x, n, kind) is not None})[:2]
            combos = [dict(cb, **({n: v} if v is not None else {})) for cb in combos for v in [None] + vals]
        return combos

    lists_walked = set()
    for kind, (get, lists, _) in KINDS.items():
        for name in lists:
            api = apis[name]
            for params in label_values(api, kind):
                want = expected(truth, kind, api, params)
                for limit in (None, 1, 3):
                    items, pages = list_all(api, params, limit)
                    if items is None:
                        continue
                    got = sorted((ident(kind, d) for d in items), key=str)
                    c.eq(got, want, "%s %s limit %s: every matching resource once" % (name, params, limit))
                    if limit == 1:
                        c.eq(pages, max(1, len(want)), "%s %s: one page per resource at maxResults=1" % (
                            name, params))
                lists_walked.add(name)
    c.eq(lists_walked, {n for _, ls, _ in KINDS.values() for n in ls}, "every List walked")

    # List errors: a label under the wrong membership (versions), malformed labels and filters, bad limits.
    v = apis["ListTrainedModelVersions"]
    check_error(call(v, {"membershipIdentifier": M2, "trainedModelArn": versioned["trainedModelArn"]}), v,
                "ResourceNotFoundException", "ListTrainedModelVersions under another membership")
    check_error(call(v, {"membershipIdentifier": M1, "trainedModelArn": mem_arn(M1, "trained-model", "nope")}), v,
                "ResourceNotFoundException", "ListTrainedModelVersions of an unknown trained model")
    check_error(call(v, dict(versioned, status="NOT_A_STATUS")), v, "ValidationException",
                "ListTrainedModelVersions with a status outside the enum")
    for name in sorted(n for _, ls, _ in KINDS.values() for n in ls):
        api = apis[name]
        base = label_values(api, next(k for k, (_, ls, _) in KINDS.items() if name in ls))[0]
        for bad, what in (({"maxResults": 0}, "maxResults 0"), ({"maxResults": 101}, "maxResults 101"),
                          ({"nextToken": "forged+/="}, "a forged nextToken")):
            check_error(call(api, dict(base, **bad)), api, "ValidationException", "%s with %s" % (name, what))
        for n in [x for x in list(api.labels) + list(api.query) if x not in ("maxResults", "nextToken")]:
            check_error(call(api, dict(base, **{n: "x" * 36})), api, "ValidationException",
                        "%s with a malformed %s" % (name, n))

    # Statuses set through the control API reach every kind's Get and List answers.
    for kind, (get, lists, idm) in KINDS.items():
        tr = next(x for x in truth if x["kind"] == kind and x["exists"])
        st = apis[get or lists[0]].status_enum()[-1]
        fake.control("POST", "/jobs", {"kind": kind, "key": tr["arn"], "status": st,
                                       "statusDetails": {"statusCode": "SET", "message": "via control"}})
        new = {x["arn"]: x for x in fake.control("GET", "/jobs")["jobs"]}[tr["arn"]]
        c.eq((new["status"], new["statusDetails"]["statusCode"]), (st, "SET"), "%s: control API sets status" % kind)
        c.ok(new["updateTime"] > tr["updateTime"], "%s: updateTime moves forward" % kind)
        api = apis[lists[0]]
        params = {n: member(tr, n, kind) for n in api.labels}
        items, _ = list_all(api, params, 100)
        mine = [d for d in items or [] if ident(kind, d) == ident(kind, {k: member(tr, k, kind) for k in idm})]
        c.eq([d["status"] for d in mine], [st], "%s: %s answers the new status" % (kind, lists[0]))

    # deleteAt and faults work for every kind as for audience generation jobs.
    mic = apis["GetMLInputChannel"]
    check_error(call(mic, {"mlInputChannelArn": mem_arn(M1, "ml-input-channel", "deleted"),
                           "membershipIdentifier": M1}), mic, "ResourceNotFoundException", "a deleted ML input channel")
    tr = next(x for x in truth if x["kind"] == "trained-model" and x["membershipIdentifier"] == M3)
    fake.add_fault("throttle", job=member(tr, "trainedModelArn", "trained-model"), count=1)
    params = {"trainedModelArn": member(tr, "trainedModelArn", "trained-model"), "membershipIdentifier": M3}
    check_error(call(tm, params), tm, "ThrottlingException", "a throttle fault on one trained model")
    fits(call(tm, params), tm, "that trained model once the fault's count is spent")
    ex = next(x for x in truth if x["kind"] == "audience-export-job")
    fake.add_fault("missing_fields", op="list", job=ex["arn"], fields=["audienceSize"], count=1)
    d = call(apis["ListAudienceExportJobs"], {"maxResults": 100}).json()["audienceExportJobs"]
    c.eq([x["name"] for x in d if "audienceSize" not in x], [ex["name"]], "a list fault alters one export job only")

    # A membership is in one collaboration: the fake refuses a resource that says otherwise.
    try:
        fake.control("POST", "/jobs", {"kind": "ml-input-channel", "id": "elsewhere", "membershipIdentifier": M1,
                                       "collaborationIdentifier": COLLAB_2})
        refused = None
    except jw.TestFailure as e:
        refused = str(e)
    c.ok(refused and "-> 400" in refused, "a membership in two collaborations is refused: %s" % refused)

    # The checker can fail: every kind's answer with a required member dropped, or a member outside the shape.
    for name, api in sorted(apis.items()):
        kind = next(k for k, (g, ls, _) in KINDS.items() if name == g or name in ls)
        params = label_values(api, kind)[0]
        if not api.paginator:
            tr = next(x for x in truth if x["kind"] == kind and x["exists"])
            params = {n: member(tr, n, kind) for n in api.labels}
        d = fits(call(api, params), api, "%s for the checker" % name)
        if not d:
            continue
        item = d[api.paginator["result_key"]][0] if api.paginator else d
        shape = m.shapes[api.output]
        if api.paginator:
            shape = m.shapes[m.shapes[shape["members"][api.paginator["result_key"]]["shape"]]["member"]["shape"]]
        for req in shape["required"][:3]:
            bad = json.loads(json.dumps(d))
            (bad[api.paginator["result_key"]][0] if api.paginator else bad).pop(req)
            c.ok(m.validate(api.output, bad), "the checker catches %s without %s" % (name, req))
        bad = json.loads(json.dumps(d))
        (bad[api.paginator["result_key"]][0] if api.paginator else bad)["unmodeled"] = 1
        c.ok(m.validate(api.output, bad), "the checker catches a member outside %s" % api.output)
        c.ok(item.get("status") in api.status_enum(), "%s: status from the enum" % name)
    c.done()


if __name__ == "__main__":
    jw.main(test)
