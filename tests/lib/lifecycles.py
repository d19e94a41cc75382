"""Job lifecycles for scenario tests: a fake-service scenario and, for every job, the exact event sequence
the daemon must record ((type, previous status, status) tuples), plus helpers that compare what the daemon
stored with that expectation."""

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
