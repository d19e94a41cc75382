"""Helpers of the outage and clock tests (test_outage*.py, test_faults_random.py, test_clock_step.py): when a
transition happened (the fake's scenario), when the daemon stored it (events.detected_ms), and what the
daemon sent meanwhile (the fake's request log)."""

import datetime
import random

import jwtest as jw


def parse_iso(s):
    fmt = "%Y-%m-%dT%H:%M:%S.%f%z" if "." in s else "%Y-%m-%dT%H:%M:%S%z"
    return datetime.datetime.strptime(s.replace("Z", "+0000"), fmt).timestamp()


def fake_start(fake):
    """The fake's scenario time 0 as a wall-clock time (epoch seconds)."""
    return parse_iso(fake.control("GET", "/time")["start"])


def gets_between(fake, t0, t1):
    """Get requests the fake received in [t0, t1) (epoch seconds)."""
    return [r for r in fake.requests("get") if t0 <= parse_iso(r["time"]) < t1]


def events(db, type_=None):
    sql = "SELECT seq, type, arn, previous_status, status, update_time_ms, detected_ms FROM events"
    rows = jw.sqlite_rows(db, sql + " ORDER BY seq")
    return [r for r in rows if type_ is None or r["type"] == type_]


def detected(db, arn, status):
    """Epoch seconds at which the daemon stored arn's transition into status, or None."""
    for r in events(db):
        if r["arn"] == arn and r["status"] == status and r["type"] in ("job.discovered", "job.status_changed"):
            return r["detected_ms"] / 1000.0
    return None


def changes_in(seed, ids, start, end, margin=1.0):
    """{id: scenario second} spread over (start + margin, end - margin), the last ones close to the end: the
    worst case for a daemon that waits out an outage."""
    rng = random.Random(seed)
    out = {}
    for k, j in enumerate(ids):
        if k < 2:
            out[j] = end - margin * (0.3 + 0.2 * k)
        else:
            out[j] = round(rng.uniform(start + margin, end - margin), 2)
    return out


# What a loaded 2-core box (CI runs two builds' suites and the fakes side by side) may add to any bound: the
# daemon's and the fake's processes waiting for a core.  The behaviour these bounds guard is off by tens of
# seconds (a doubled backoff, a stalled schedule), not by one.
SCHEDULING_SLACK_S = 1.0


def check_detected_within(db, fake, arn_status_at, bound, what):
    """Every (arn, status) -> change time (epoch s) was stored no later than the time given by at(...) + bound.
    arn_status_at: {(arn, status): (changed_at, deadline_base)}.  Returns the worst delay after the base."""
    worst = 0.0
    late = []
    for (arn, status), (changed, base) in sorted(arn_status_at.items()):
        got = detected(db, arn, status)
        if got is None:
            late.append("%s -> %s: never stored" % (arn[-8:], status))
            continue
        if got < changed - 0.05:
            late.append("%s -> %s: stored %.2f s before it happened" % (arn[-8:], status, changed - got))
        delay = got - base
        worst = max(worst, delay)
        if delay > bound + SCHEDULING_SLACK_S:
            late.append("%s -> %s: stored %.2f s after %s (bound %.2f s + %.1f s slack)" % (
                arn[-8:], status, delay, what, bound, SCHEDULING_SLACK_S))
    jw.check(not late, "transitions reported late:\n  " + "\n  ".join(late))
    return worst
