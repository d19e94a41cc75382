"""Bench row of issue 22: delay after a 10 s receiver outage (bench.py calls run_webhook_outage).

tests/fake/fake_crml.py serves N jobs in CREATE_IN_PROGRESS, polled every 500 ms; jobwatchd has one json
webhook to tests/fake/webhook_receiver.py.  Once the first events are delivered, the receiver answers 503 for
OUTAGE_S seconds (a deploy), then 200 again.  Two outages: "busy", FLIPS_PER_S jobs a second flip to ACTIVE
in its first half (by the return every event has failed a few times; with this many events some retry is
always near, and the first success drains the rest), and "sparse", a single job flips at its start (by the
return its fourth try has failed and the fifth is 10 s away: the worst case of the schedule).  Per flipped job:
delay = first accepted POST of its ACTIVE event - max(receiver back, first Get that served the flip), i.e. how
long after the receiver's return (or after detection, for an event detected later) the alert arrived.  The
issue asks for every event within 15 s."""

import json
import os
import time

OUTAGE_S = 10.0
N_JOBS = 50
FLIPS_PER_S = 8


def one_round(B, fake_url, recv_url, fake_log, recv_log, batches):
    """One outage: 503 for OUTAGE_S seconds, batches of jobs flipped to ACTIVE one second apart from its
    start.  Returns (delays in ms, missing)."""
    flipped, delays, missing = [], [], 0
    B.http_json("POST", recv_url + "/_recv/script", [{"status": 503, "body": "deploying"}] * 100000)
    down = time.monotonic()
    for batch in batches:
        B.http_json("POST", fake_url + "/_fake/jobs", {"jobs": [{"arn": a, "status": "ACTIVE"} for a in batch]})
        flipped.extend(batch)
        time.sleep(1.0)
    time.sleep(max(0.0, down + OUTAGE_S - time.monotonic()))
    B.http_json("POST", recv_url + "/_recv/script", [])
    back = time.time()
    end = time.monotonic() + 120
    while time.monotonic() < end:
        ok = {a for p in B.read_jsonl(recv_log) if p.get("status") == 200 and "ACTIVE" in p.get("body", "")
              for a in flipped if a in p["body"]}
        if len(ok) == len(flipped):
            break
        time.sleep(0.2)
    truth = {j["arn"]: B.parse_iso(j["updateTime"]) for j in B.http_json("GET", fake_url + "/_fake/jobs")["jobs"]}
    gets = {}
    for rec in B.read_jsonl(fake_log):
        if rec.get("op") == "get" and rec.get("status") == 200 and rec.get("arn"):
            gets.setdefault(rec["arn"], []).append(B.parse_iso(rec["time"]))
    accepted = {}
    for p in B.read_jsonl(recv_log):
        body = p.get("body", "")
        if p.get("status") != 200 or "ACTIVE" not in body:
            continue
        for a in flipped:
            if a in body and a not in accepted:
                accepted[a] = B.parse_iso(p["time"])
    for a in flipped:
        flip = truth.get(a)
        seen = [t for t in gets.get(a, []) if flip is not None and t >= flip]
        if not seen or a not in accepted:
            missing += 1
            continue
        delays.append((accepted[a] - max(back, min(seen))) * 1000.0)
    return delays, missing


def run_webhook_outage(B, binary, tmp):
    """B is the bench module (its Daemon, start_py, read_jsonl, http_json, pct, parse_iso, job_arn)."""
    ids = ["%08x-0000-4000-8000-%012x" % (i, i) for i in range(N_JOBS)]
    scen = {"region": B.REGION, "account": B.ACCOUNT,
            "jobs": [{"id": j, "steps": [{"at": 0, "status": "CREATE_IN_PROGRESS"}]} for j in ids]}
    scen_path = os.path.join(tmp, "scenario-outage.json")
    with open(scen_path, "w") as f:
        json.dump(scen, f)
    fake_log, recv_log = os.path.join(tmp, "fake-outage.jsonl"), os.path.join(tmp, "recv-outage.jsonl")
    fake, fport = B.start_py([os.path.join(B.FAKE_DIR, "fake_crml.py"), "--scenario", scen_path, "--log", fake_log],
                             tmp, "fake-webhook-outage")
    recv, rport = B.start_py([os.path.join(B.FAKE_DIR, "webhook_receiver.py"), "--log", recv_log], tmp,
                             "receiver-outage")
    arn_file = os.path.join(tmp, "arns-outage.txt")
    with open(arn_file, "w") as f:
        f.write("".join(B.job_arn(i) + "\n" for i in range(N_JOBS)))
    fake_url, recv_url = "http://127.0.0.1:%d" % fport, "http://127.0.0.1:%d" % rport
    cfg = {"aws": {"region": B.REGION, "endpoint": fake_url, "max_rps": 1000, "max_connections": 16},
           "poll": {"interval": "500ms", "settled_interval": "1h", "jitter": "0%", "stuck_after": "0"},
           "jobs": {"arn_file": arn_file}, "state": {"path": os.path.join(tmp, "state-outage.db")},
           "journal": {"enabled": "no"},
           'webhook "bench"': {"url": recv_url + "/hook", "format": "json"}}
    d = B.Daemon(binary, tmp, "jobwatchd-outage", cfg)
    rounds = []
    try:
        d.wait_ready()
        end = time.monotonic() + 30
        while time.monotonic() < end and len(B.read_jsonl(recv_log)) < N_JOBS:
            time.sleep(0.2)  # every job's first event delivered
        # Busy: 40 alerts in the first half of the outage.  Sparse: one alert at its start (the case:
        # by the return it has failed four times and its next try is 10 s away).
        busy = [B.job_arn(i) for i in range(40)]
        rounds.append(one_round(B, fake_url, recv_url, fake_log, recv_log,
                                [busy[i:i + FLIPS_PER_S] for i in range(0, len(busy), FLIPS_PER_S)]))
        rounds.append(one_round(B, fake_url, recv_url, fake_log, recv_log, [[B.job_arn(40)]]))
    finally:
        d.stop()
        for p in (fake, recv):
            p.terminate()
            p.wait(10)
    delays = rounds[0][0] + rounds[1][0]
    missing = rounds[0][1] + rounds[1][1]
    sparse = rounds[1][0][0] if rounds[1][0] else None
    res = {"n": N_JOBS, "outage_s": OUTAGE_S, "rounds": 2, "samples": len(delays), "missing": missing,
           "p50_ms": B.pct(delays, 50), "p99_ms": B.pct(delays, 99), "max_ms": max(delays) if delays else None,
           "busy_p99_ms": B.pct(rounds[0][0], 99), "sparse_ms": sparse}
    B.log("webhook outage: %s" % json.dumps(res))
    return res
