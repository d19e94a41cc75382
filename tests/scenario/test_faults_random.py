#!/usr/bin/python3
"""30 % random faults with late-appearing jobs (#12): for the whole run, 30 % of all Gets fail (503, 500 or a
connection reset, chosen at random), and a third of the jobs appear only 5-20 s after they were named (until
then: ResourceNotFoundException).  Each job goes through three statuses.

Asserts that every job's final status is stored within 3 intervals of its change (before #12 a job could
sit out its own doubling backoff, and a late job's 404s counted as failures), that the event sequences are
exactly the true ones, and that the faults were really served at about the rate asked for."""

import os
import random
import sys

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402
import outage  # noqa: E402

N = 15
INTERVAL = 2.0
KINDS = ["503", "500", "reset"]
RATE = 1 - 0.7 ** (1.0 / len(KINDS))  # three chained faults: 30 % of the Gets in all


def test(t):
    rng = random.Random(int(os.environ.get("JW_FAULTS_SEED", "12")))
    jobs, final = [], {}
    for i in range(N):
        jid = "x%02d" % i
        appear = round(rng.uniform(5, 20), 1) if i % 3 == 0 else 0.0
        mid = round(appear + rng.uniform(4, 12), 1)
        end = round(mid + rng.uniform(8, 14), 1)
        last = "ACTIVE" if i % 2 == 0 else "CREATE_FAILED"
        steps = [{"at": appear, "status": "CREATE_PENDING"}, {"at": mid, "status": "CREATE_IN_PROGRESS"},
                 {"at": end, "status": last}]
        if last == "CREATE_FAILED":
            steps[-1]["statusDetails"] = {"statusCode": "E", "message": "failed"}
        jobs.append({"id": jid, "appearAt": appear, "steps": steps})
        final[jid] = (end, last)
    faults = [{"kind": k, "op": "get", "rate": RATE} for k in KINDS]
    fake = t.start_fake({"jobs": jobs, "faults": faults}, seed=rng.randrange(1 << 30))
    start = outage.fake_start(fake)
    db = t.path("state.db")
    cfg = lc.daemon_config(fake, db, [fake.arn(j["id"]) for j in jobs], interval="2s",
                           extra={"aws": {"max_rps": 20}})
    d = t.start_daemon(cfg, env=jw.aws_env())
    last_change = max(e for e, _ in final.values())
    jw.wait_until(lambda: fake.now() > last_change + 3 * INTERVAL + outage.SCHEDULING_SLACK_S + 1, 90,
                  "the last change and its bound")
    d.stop()

    want = {(fake.arn(j), st): (start + at, start + at) for j, (at, st) in final.items()}
    worst = outage.check_detected_within(db, fake, want, 3 * INTERVAL, "its change")
    gets = fake.requests("get")
    faulted = [r for r in gets if r.get("fault") in KINDS]
    share = len(faulted) / max(1, len(gets))
    print("%d Gets, %.0f %% faulted; slowest final status stored %.2f s after its change (bound %.1f s)" %
          (len(gets), 100 * share, worst, 3 * INTERVAL))
    jw.check(0.2 < share < 0.4, "share of faulted Gets: %.2f" % share)
    jw.check(all(any(r.get("fault") == k for r in faulted) for k in KINDS), "every kind served")

    got = lc.sequences(lc.stored_events(db))
    for j in jobs:
        arn = fake.arn(j["id"])
        sts = [s["status"] for s in j["steps"]]
        want_ev = [("job.discovered", None, sts[0])] + [("job.status_changed", a, b) for a, b in zip(sts, sts[1:])]
        jw.check_eq(got.get(arn), want_ev, "events of %s" % j["id"])


jw.main(test)
