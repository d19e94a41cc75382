"""Job lifecycles for scenario tests: a fake-service scenario and, for every job, the exact event sequence
the daemon must record ((type, previous status, status) tuples), plus helpers that compare what the daemon
stored with that expectation, and the fleet checker of the fault tests (check_fleet, wait_truth): what the
daemon could see of the truth through clean answers, and whether it recorded exactly that."""

import datetime

import jwtest as jw

# Each kind: steps as (scenario second, status[, statusDetails]), optional appearAt / deleteAt, and the
# events it must produce.
KINDS = {
    "create_ok": {
        "steps": [(0, "CREATE_PENDING"), (1, "CREATE_IN_PROGRESS"), (2, "ACTIVE")],
        "events": [("job.discovered", None, "CREATE_PENDING"),
                   ("job.status_changed", "CREATE_PENDING", "CREATE_IN_PROGRESS"),
                   ("job.status_changed", "CREATE_IN_PROGRESS", "ACTIVE")],
    },
    "create_failed": {
        "steps": [(0, "CREATE_PENDING"), (1, "CREATE_IN_PROGRESS"),
                  (2, "CREATE_FAILED", {"statusCode": "INSUFFICIENT_SEED", "message": "seed audience too small"})],
        "events": [("job.discovered", None, "CREATE_PENDING"),
                   ("job.status_changed", "CREATE_PENDING", "CREATE_IN_PROGRESS"),
                   ("job.status_changed", "CREATE_IN_PROGRESS", "CREATE_FAILED")],
    },
    "deleted": {
        "steps": [(0, "ACTIVE"), (1, "DELETE_PENDING"), (2, "DELETE_IN_PROGRESS")],
        "deleteAt": 3,
        "events": [("job.discovered", None, "ACTIVE"),
                   ("job.status_changed", "ACTIVE", "DELETE_PENDING"),
                   ("job.status_changed", "DELETE_PENDING", "DELETE_IN_PROGRESS"),
                   ("job.gone", "DELETE_IN_PROGRESS", "GONE")],
    },
    "delete_failed": {
        "steps": [(0, "ACTIVE"), (1, "DELETE_PENDING"), (2, "DELETE_FAILED", {"statusCode": "E", "message": "m"})],
        "events": [("job.discovered", None, "ACTIVE"),
                   ("job.status_changed", "ACTIVE", "DELETE_PENDING"),
                   ("job.status_changed", "DELETE_PENDING", "DELETE_FAILED")],
    },
    "late": {
        "appearAt": 1.5,
        "steps": [(1.5, "CREATE_IN_PROGRESS"), (2.5, "ACTIVE")],
        "events": [("job.discovered", None, "CREATE_IN_PROGRESS"),
                   ("job.status_changed", "CREATE_IN_PROGRESS", "ACTIVE")],
    },
}

ORDER = ["create_ok", "create_failed", "deleted", "delete_failed", "late"]


def build(n_jobs, step_seconds=1.5, prefix="job"):
    """A scenario with n_jobs jobs cycling through KINDS; step_seconds stretches every kind's timeline.
    Returns (scenario dict, {job id: kind})."""
    jobs, kinds = [], {}
    for i in range(n_jobs):
        kind = ORDER[i % len(ORDER)]
        spec = KINDS[kind]
        jid = "%s-%03d/%s" % (prefix, i, kind)  # '/' inside the id: the ARN path must encode it
        steps = []
        for st in spec["steps"]:
            s = {"at": st[0] * step_seconds, "status": st[1]}
            if len(st) > 2:
                s["statusDetails"] = st[2]
            if st[1] == "ACTIVE":
                s["metrics"] = {"relevanceMetrics": [{"audienceSize": {"type": "ABSOLUTE", "value": 5000},
                                                      "score": 0.61}], "recallMetric": 0.33}
            steps.append(s)
        job = {"id": jid, "name": "lifecycle-%03d" % i, "steps": steps}
        if "appearAt" in spec:
            job["appearAt"] = spec["appearAt"] * step_seconds
        if "deleteAt" in spec:
            job["deleteAt"] = spec["deleteAt"] * step_seconds
        jobs.append(job)
        kinds[jid] = kind
    return {"region": jw.REGION, "account": jw.ACCOUNT, "jobs": jobs}, kinds


def stored_events(db):
    return jw.sqlite_rows(db, "SELECT seq, id, type, arn, previous_status, status, payload FROM events ORDER BY seq")


def sequences(rows):
    out = {}
    for r in rows:
        out.setdefault(r["arn"], []).append((r["type"], r["previous_status"] or None, r["status"]))
    return out


def expected(fake, kinds):
    return {fake.arn(jid): KINDS[k]["events"] for jid, k in kinds.items()}


def done(db, fake, kinds):
    """True when every job has at least its full expected sequence stored."""
    try:
        got = sequences(stored_events(db))
    except Exception:
        return False
    return all(len(got.get(arn, [])) >= len(ev) for arn, ev in expected(fake, kinds).items())


def compare(db, fake, kinds):
    """Asserts every job's stored sequence equals its expectation exactly, and no event id repeats."""
    rows = stored_events(db)
    got = sequences(rows)
    want = expected(fake, kinds)
    problems = []
    for arn, ev in want.items():
        if got.get(arn, []) != ev:
            problems.append("%s:\n    got  %s\n    want %s" % (arn, got.get(arn, []), ev))
    extra = set(got) - set(want)
    if extra:
        problems.append("events for unknown jobs: %s" % sorted(extra))
    ids = [r["id"] for r in rows]
    if len(ids) != len(set(ids)):
        problems.append("duplicate event ids")
    if problems:
        raise jw.TestFailure("event sequences differ from the scenario:\n  " + "\n  ".join(problems[:10]))
    return rows


def daemon_config(fake, db, arns, interval="200ms", extra=None):
    cfg = {
        "aws": {"region": jw.REGION, "endpoint": fake.url, "max_rps": 500, "timeout": "2s"},
        "poll": {"interval": interval, "settled_interval": interval, "failed_interval": "0", "jitter": "10%"},
        "jobs": {"arn": arns},
        "state": {"path": db},
        "journal": {"enabled": False},
    }
    for k, v in (extra or {}).items():
        cfg.setdefault(k, {}).update(v)
    return cfg


GUARD = 0.35  # seconds around a step boundary in which a clean answer is not counted as "seen"


def parse_iso(s):
    return datetime.datetime.strptime(s.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() \
        if "." in s else datetime.datetime.strptime(s.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z").timestamp()


def timeline(job):
    """[(from, to, status)] in scenario seconds for a scenario job spec; "GONE" after deleteAt."""
    appear = float(job.get("appearAt", 0))
    steps = job.get("steps") or [{"at": 0, "status": "CREATE_PENDING"}]
    out = []
    for i, s in enumerate(steps):
        start = appear if i == 0 else max(float(s["at"]), appear)
        end = float(steps[i + 1]["at"]) if i + 1 < len(steps) else float("inf")
        if end > start:
            out.append([start, end, s["status"]])
    if job.get("deleteAt") is not None:
        d = float(job["deleteAt"])
        out = [[a, min(b, d), s] for a, b, s in out if a < d]
        out.append([d, float("inf"), "GONE"])
    return out


def visible_statuses(fake, scenario, since=None):
    """{arn: set of statuses answered by a clean (200, no fault) Get, away from step boundaries}, and the
    "GONE" status for a clean 404 after deleteAt.  since: ignore requests before this wall time."""
    start = parse_iso(fake.control("GET", "/time")["start"])
    scale = float(scenario.get("timeScale", 1))
    lines = {fake.arn(j["id"]): timeline(j) for j in scenario["jobs"]}
    seen = {arn: set() for arn in lines}
    for r in fake.requests("get"):
        arn = r.get("arn")
        if arn not in lines or r.get("fault") or r.get("status") not in (200, 404):
            continue
        t_wall = parse_iso(r["time"])
        if since is not None and t_wall < since:
            continue
        t = (t_wall - start) / scale
        for a, b, st in lines[arn]:
            # The last status needs no guard: a poll that got the one before it was not the last poll
            # (failed and gone jobs are polled once more only when the status changes).
            lo = a if b == float("inf") else a + GUARD
            if lo <= t < b - GUARD:
                if (st == "GONE") == (r["status"] == 404):
                    seen[arn].add(st)
                break
    return seen


def check_fleet(db, fake, scenario, kinds, visible=None, c=None):
    """The fleet assertions described in the module docstring.  Returns (exact, partial) job counts."""
    own = c is None
    c = c or jw.Checks()
    visible = visible if visible is not None else visible_statuses(fake, scenario)
    got = sequences(stored_events(db))
    want = expected(fake, kinds)
    truth = fake.truth()
    c.ok(not (set(got) - set(want)), "events for unknown jobs: %s" % sorted(set(got) - set(want)))
    exact = partial = 0
    for arn, ev in want.items():
        chain = [e[2] for e in ev]
        seq = got.get(arn, [])
        t = truth[arn]
        true_final = "GONE" if t.get("deleted") else t["status"]
        if set(chain) <= visible.get(arn, set()):
            exact += 1
            c.ok(seq == ev, "%s: exact sequence\n    got  %s\n    want %s" % (arn, seq, ev))
            continue
        partial += 1
        statuses = [e[2] for e in seq]
        # In order, a subsequence of the true chain (no false event, no repeat).
        pos, ok = -1, True
        for s in statuses:
            if s not in chain or chain.index(s) <= pos:
                ok = False
                break
            pos = chain.index(s)
        c.ok(ok, "%s: stored statuses %s are not a subsequence of %s" % (arn, statuses, chain))
        c.ok(bool(seq) and seq[0][0] == "job.discovered" and seq[0][1] is None, "%s: first event %s" % (arn, seq[:1]))
        for prev, cur in zip(seq, seq[1:]):
            c.ok(cur[1] == prev[2], "%s: previous_status chain broken at %s" % (arn, cur))
        missed = visible.get(arn, set()) - set(statuses)
        c.ok(not missed, "%s: statuses seen by clean polls but not recorded: %s" % (arn, missed))
        c.ok(bool(seq) and seq[-1][2] == true_final, "%s: last recorded %s, truth %s" % (arn, seq[-1:], true_final))
    rows = stored_events(db)
    c.ok(len({r["id"] for r in rows}) == len(rows), "duplicate event ids")
    if own:
        c.done()
    return exact, partial


def scenario_end(scenario):
    """Scenario second of the last change (step, appearance or deletion)."""
    end = 0.0
    for j in scenario["jobs"]:
        for s in j.get("steps", []):
            end = max(end, float(s["at"]))
        end = max(end, float(j.get("appearAt", 0)), float(j.get("deleteAt") or 0))
    return end


def wait_truth(db, fake, kinds, timeout, scenario=None):
    """Until the scenario is over (when given) and the last stored status of every job equals the truth."""
    if scenario is not None:
        jw.wait_until(lambda: fake.now() > scenario_end(scenario) + 0.2, timeout, "the end of the scenario")

    def ok():
        got = sequences(stored_events(db))
        truth = fake.truth()
        for jid in kinds:
            arn = fake.arn(jid)
            t = truth[arn]
            final = "GONE" if t.get("deleted") else t["status"]
            if not got.get(arn) or got[arn][-1][2] != final:
                return False
        return True
    jw.wait_until(ok, timeout, "every job at its true state", interval=0.25)
