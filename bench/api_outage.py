#!/usr/bin/env python3
"""Detection delay after a service-wide outage (issue 12), for `make bench` (bench.py calls run_outage) or on
its own:

    python3 bench/api_outage.py --binary build/jobwatchd [--jobs 1000] [--outage 600] [--interval-ms 5000]

tests/fake/fake_crml.py serves N jobs in CREATE_IN_PROGRESS and answers every Get with 503 for the outage; every
job moves to ACTIVE at a random moment inside it.  jobwatchd polls each every interval.  Delay = the event's
detected_ms (the state database) - the end of the outage; p50/p99/max over the N jobs, against the bound
2 x interval + N / max_rps.  Also counted: the Gets the fake received during the outage, against what normal
polling would have sent (N x outage / interval)."""

import argparse
import json
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench as B  # noqa: E402


def run_outage(binary, tmp, n=1000, outage_s=600.0, interval_ms=5000, max_rps=500, lead_s=None, seed=12):
    lead = lead_s if lead_s is not None else max(5.0, 3 * interval_ms / 1000.0)
    rng = random.Random(seed)
    ids = ["%08x-0000-4000-8000-%012x" % (i, i) for i in range(n)]
    start_at, end_at = lead, lead + outage_s
    scen = {"region": B.REGION, "account": B.ACCOUNT,
            "jobs": [{"id": j, "steps": [{"at": 0, "status": "CREATE_IN_PROGRESS"},
                                         {"at": round(rng.uniform(start_at + 0.5, end_at - 0.5), 3),
                                          "status": "ACTIVE"}]} for j in ids],
            "faults": [{"kind": "503", "from": start_at, "to": end_at, "op": "get"}]}
    scen_path = os.path.join(tmp, "scenario-outage.json")
    with open(scen_path, "w") as f:
        json.dump(scen, f)
    fake_log = os.path.join(tmp, "fake-outage.jsonl")
    fake, fport = B.start_py([os.path.join(B.FAKE_DIR, "fake_crml.py"), "--scenario", scen_path, "--log", fake_log],
                             tmp, "fake-outage")
    fake_url = "http://127.0.0.1:%d" % fport
    fake_start = B.parse_iso(B.http_json("GET", fake_url + "/_fake/time")["start"])
    arn_file = os.path.join(tmp, "arns-outage.txt")
    with open(arn_file, "w") as f:
        f.write("".join(B.job_arn(i) + "\n" for i in range(n)))
    db = os.path.join(tmp, "state-outage.db")
    cfg = {"aws": {"region": B.REGION, "endpoint": fake_url, "max_rps": max_rps, "max_connections": 16},
           "poll": {"interval": "%dms" % interval_ms, "settled_interval": "1h", "stuck_after": "0"},
           "jobs": {"arn_file": arn_file}, "state": {"path": db}, "journal": {"enabled": "no"}}
    d = B.Daemon(binary, tmp, "jobwatchd-outage", cfg)
    bound = 2 * interval_ms / 1000.0 + n / float(max_rps)
    try:
        d.wait_ready()
        B.log("outage: %d jobs every %d ms, 503 for %.0f s" % (n, interval_ms, outage_s))
        while time.time() < fake_start + end_at + bound + 5:
            time.sleep(1)
    finally:
        d.stop()
        fake.terminate()
        fake.wait(10)
    con = sqlite3.connect(db)
    det = dict(con.execute("SELECT arn, detected_ms FROM events WHERE type = 'job.status_changed' "
                           "AND status = 'ACTIVE'").fetchall())
    con.close()
    end_wall = fake_start + end_at
    delays = [det[a] / 1000.0 - end_wall for a in (B.job_arn(i) for i in range(n)) if a in det]
    calls = sum(1 for r in B.read_jsonl(fake_log) if r.get("op") == "get" and
                fake_start + start_at <= B.parse_iso(r["time"]) < end_wall)
    with open(d.stderr_path) as f:
        err = f.read()
    res = {"n": n, "outage_s": outage_s, "interval_ms": interval_ms, "max_rps": max_rps, "samples": len(delays),
           "missing": n - len(delays), "p50_s": B.pct(delays, 50), "p99_s": B.pct(delays, 99),
           "max_s": max(delays) if delays else None, "bound_s": bound, "gets_during": calls,
           "gets_normal": n * outage_s / (interval_ms / 1000.0),
           "outage_warnings": err.count("AWS API unavailable:"), "recovery_warnings": err.count("AWS API available again")}
    B.log("outage: %s" % json.dumps(res))
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--outage", type=float, default=600.0, help="seconds")
    ap.add_argument("--interval-ms", type=int, default=5000)
    ap.add_argument("--max-rps", type=float, default=500)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="jwbench-outage-")
    os.makedirs(os.path.join(tmp, "home"), exist_ok=True)
    try:
        print(json.dumps(run_outage(os.path.abspath(a.binary), tmp, a.jobs, a.outage, a.interval_ms, a.max_rps),
                         indent=1))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
