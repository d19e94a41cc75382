#!/usr/bin/env python3
"""jobwatchd at the rates AWS allows (issue 18), for `make bench` (bench.py calls both) or on its own:

    python3 bench/aws_rate.py --binary build/jobwatchd [--part aws_rate|bulk|gets|all]

run_aws_rate: 10k settled (ACTIVE) jobs polled over TLS (HTTP/2) from the bench's nginx with the shipped
defaults ([aws] max_rps = 5, [poll] interval 30s / settled_interval 1h, max_connections 8).  A first daemon
polls every job once as fast as it can and stops (its state database then knows every job, as a daemon that
has run before does); a second one starts on that database with the defaults.  It polls every job once after
start (engine_schedule_initial), which at 10k jobs and 5 calls/s lasts 2,000 s: the token bucket holds it at
max_rps, and each answer is unchanged (nothing to write or notify).  Measured over a window after warm-up:
CPU (% of one core, from /proc/PID/task/*/schedstat), loop wake-ups (voluntary + involuntary context switches
of every thread), requests (nginx stub_status), RSS.  Then the bare libcurl loop (bench/bare_curl.c --rate 5)
the same way, as the reference at that rate.

run_detection: 10k ACTIVE jobs in one collaboration on tests/fake/fake_crml.py, max_rps = 5, 1 % of the jobs
changing status per minute (ACTIVE -> DELETE_PENDING, one every 0.6 s, through the fake's control API, whose
updateTime is the moment of the flip).  Delay = the event's detected_ms (state database) - that updateTime.
  * mode "bulk": [discover] with a 60-s listing interval (the freshness), settled_interval 1h (default);
  * mode "gets": the same jobs from an arn_file and Gets alone, settled_interval short enough that the Gets
    spend the whole budget: every job once per N / max_rps = 2,000 s.
Both start with max_rps = 1000 until every job has been seen once (10k first Gets at 5/s would take 33
minutes), then SIGHUP to max_rps = 5 and measure.
"""

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench as B  # noqa: E402

AWS_MAX_RPS = 5
COLLAB = "a1b2c3d4-0000-4000-8000-00000000c018"


def run_bare_paced(bare, ng, ca, warmup=3.0, window=20.0):
    """The reference at the same rate: bench/bare_curl.c starting AWS_MAX_RPS transfers a second over TLS/HTTP/2
    (one connection is enough), measured the same way."""
    path = "/audience-generation-job/" + B.urllib.request.quote(B.job_arn(7), safe="")
    p = B.subprocess.Popen([bare, "--url", ng.tls_url + path, "--http2", "--ca", ca, "--handles", "8",
                            "--max-host-connections", "8", "--rate", str(AWS_MAX_RPS)],
                           stdout=B.subprocess.PIPE, stderr=B.subprocess.PIPE, text=True)
    res = {"rate": AWS_MAX_RPS, "window_s": window}
    try:
        time.sleep(warmup)
        r0, w0, c0, t0 = ng.requests(), B.proc_wakeups(p.pid), B.proc_cpu_ns(p.pid), time.monotonic()
        time.sleep(window)
        r1, w1, c1, t1 = ng.requests(), B.proc_wakeups(p.pid), B.proc_cpu_ns(p.pid), time.monotonic()
        reqs, secs = r1 - r0 - 1, t1 - t0
        wk = (w1[0] - w0[0]) + (w1[1] - w0[1])
        res.update({"seconds": secs, "requests": reqs, "rps": reqs / secs, "cpu_s": (c1 - c0) / 1e9,
                    "cpu_pct": 100.0 * (c1 - c0) / 1e9 / secs, "wakeups_per_s": wk / secs,
                    "wakeups_per_request": wk / reqs if reqs > 0 else None, "threads": w1[2],
                    "rss_kib": B.proc_status_kib(p.pid, "VmRSS")})
    finally:
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=30)
    return res


def run_aws_rate(binary, tmp, ng, ca, n=10000, warmup=10.0, window=60.0, bare=None):
    arn_file = os.path.join(tmp, "arns-%d.txt" % n)
    if not os.path.exists(arn_file):
        B.write_arns(arn_file, n)
    state = os.path.join(tmp, "state-aws-rate.db")
    base = {"jobs": {"arn_file": arn_file}, "state": {"path": state}, "journal": {"enabled": "no"}}
    res = {"n": n, "max_rps": AWS_MAX_RPS, "warmup_s": warmup, "window_s": window, "transport": "TLS, HTTP/2"}

    # 1. A daemon that has run before: every job polled once, as fast as the configuration allows.
    fill = dict(base, aws={"region": B.REGION, "endpoint": ng.tls_url, "ca_file": ca, "max_rps": B.FAST_RPS,
                           "max_connections": B.CONCURRENCY})
    d = B.Daemon(binary, tmp, "jobwatchd-aws-fill", fill)
    try:
        d.wait_ready()
        r0 = ng.requests()
        end = time.monotonic() + 60
        while ng.requests() - r0 < n and time.monotonic() < end:
            time.sleep(0.2)
    finally:
        d.stop()

    # 2. The shipped defaults on that database: [aws] max_rps = 5 (the default), over TLS.
    cfg = dict(base, aws={"region": B.REGION, "endpoint": ng.tls_url, "ca_file": ca})
    d = B.Daemon(binary, tmp, "jobwatchd-aws-rate", cfg)
    try:
        d.wait_ready()
        time.sleep(warmup)
        r0, w0, c0, t0 = ng.requests(), B.proc_wakeups(d.pid), B.proc_cpu_ns(d.pid), time.monotonic()
        tick0 = B.proc_cpu_s(d.pid)
        time.sleep(window)
        r1, w1, c1, t1 = ng.requests(), B.proc_wakeups(d.pid), B.proc_cpu_ns(d.pid), time.monotonic()
        tick1 = B.proc_cpu_s(d.pid)
        reqs = r1 - r0 - 1  # minus our own status request
        secs = t1 - t0
        vol, invol = w1[0] - w0[0], w1[1] - w0[1]
        res.update({"seconds": secs, "requests": reqs, "rps": reqs / secs, "cpu_s": (c1 - c0) / 1e9,
                    "cpu_pct": 100.0 * (c1 - c0) / 1e9 / secs, "cpu_tick_s": tick1 - tick0,
                    "voluntary": vol, "involuntary": invol, "wakeups_per_s": (vol + invol) / secs,
                    "wakeups_per_request": (vol + invol) / reqs if reqs > 0 else None,
                    "threads": w1[2], "rss_kib": B.proc_status_kib(d.pid, "VmRSS"),
                    "hwm_kib": B.proc_status_kib(d.pid, "VmHWM"), "connections": B.tcp_conns(d.pid, ng.tls_port),
                    "non2xx": ng.bad_count()})
        res["poll_warnings"], _ = d.poll_warnings()
    finally:
        res["exit"] = d.stop()
    if bare:
        res["bare"] = run_bare_paced(bare, ng, ca)
    B.log("aws rate: %s" % json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in res.items()}))
    return res


def _reload(d, cfg):
    with open(d.conf, "w") as f:
        f.write(B.ini(cfg))
    d.proc.send_signal(signal.SIGHUP)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        with open(d.stderr_path, errors="replace") as f:
            if "reloaded:" in f.read():
                return
        time.sleep(0.1)
    raise RuntimeError("jobwatchd did not reload; see %s" % d.stderr_path)


def _detected(db, arns):
    try:
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
        try:
            rows = con.execute("SELECT arn, MIN(detected_ms) FROM events WHERE type = 'job.status_changed' "
                               "AND status = 'DELETE_PENDING' GROUP BY arn").fetchall()
        finally:
            con.close()
    except sqlite3.Error:
        return {}
    return {a: ms for a, ms in rows if a in arns}


def run_detection(binary, tmp, mode, n=10000, list_interval_s=60, flip_s=60.0, per_min=0.01, seed=18):
    """Detection delay on a fixed API budget (max_rps = 5), mode "bulk" ([discover]) or "gets" (Gets alone)."""
    ids = ["%08x-0000-4000-8000-%012x" % (i, i) for i in range(n)]
    scen = {"region": B.REGION, "account": B.ACCOUNT, "defaultMaxResults": 100,
            "jobs": [{"id": j, "collaborationId": COLLAB, "steps": [{"at": 0, "status": "ACTIVE"}]} for j in ids]}
    scen_path = os.path.join(tmp, "scenario-detect-%s.json" % mode)
    with open(scen_path, "w") as f:
        json.dump(scen, f)
    fake, fport = B.start_py([os.path.join(B.FAKE_DIR, "fake_crml.py"), "--scenario", scen_path], tmp,
                             "fake-detect-" + mode)
    fake_url = "http://127.0.0.1:%d" % fport
    db = os.path.join(tmp, "state-detect-%s.db" % mode)
    cfg = {"aws": {"region": B.REGION, "endpoint": fake_url, "max_rps": 1000, "max_connections": 16},
           "state": {"path": db}, "journal": {"enabled": "no"}}
    if mode == "bulk":
        cfg['discover "bench"'] = {"collaboration_id": COLLAB, "interval": "%ds" % list_interval_s}
    else:
        arn_file = os.path.join(tmp, "arns-detect.txt")
        with open(arn_file, "w") as f:
            f.write("".join(B.job_arn(i) + "\n" for i in range(n)))
        cfg["jobs"] = {"arn_file": arn_file}
        # Gets spend the whole budget: a job is due again 1 s after its answer, so the token bucket is the
        # brake and the jobs take turns (the earliest due first): each once per n / max_rps seconds.
        cfg["poll"] = {"settled_interval": "1s"}
    res = {"mode": mode, "n": n, "max_rps": AWS_MAX_RPS, "flip_s": flip_s, "changes_per_min": per_min * n}
    if mode == "bulk":
        res["list_interval_s"] = list_interval_s
    d = B.Daemon(binary, tmp, "jobwatchd-detect-" + mode, cfg)
    try:
        d.wait_ready()
        # Every job seen once (its first Get) at max_rps = 1000, then the budget of the issue.
        end = time.monotonic() + 120
        while time.monotonic() < end:
            if B.http_json("GET", fake_url + "/_fake/stats").get("op", {}).get("get", 0) >= n:
                break
            time.sleep(0.5)
        res["setup_s"] = time.monotonic() - d.t_spawn
        cfg["aws"]["max_rps"] = AWS_MAX_RPS
        _reload(d, cfg)
        time.sleep(3)  # what was admitted at 1000/s drains
        B.http_json("DELETE", fake_url + "/_fake/stats")
        t_stats = time.monotonic()
        # 1 % of the jobs a minute, one at a time, evenly spaced; which ones is random (seeded).
        k = int(round(per_min * n * flip_s / 60.0))
        chosen = random.Random(seed).sample(range(n), k)
        step = flip_s / k
        t0 = time.monotonic()
        for i, j in enumerate(chosen):
            while time.monotonic() < t0 + i * step:
                time.sleep(0.01)
            B.http_json("POST", fake_url + "/_fake/jobs", {"jobs": [{"arn": B.job_arn(j), "status": "DELETE_PENDING"}]})
        flipped = {B.job_arn(j) for j in chosen}
        # Bulk refresh: wait until all are detected or 2 listing intervals + one listing's pages have passed
        # since the last flip.  Gets alone: most will not be detected for half an hour; a short tail only.
        tail = 2 * list_interval_s + n / 100.0 / AWS_MAX_RPS + 10 if mode == "bulk" else 20.0
        end = time.monotonic() + tail
        while time.monotonic() < end and len(_detected(db, flipped)) < len(flipped):
            time.sleep(2)
        st = B.http_json("GET", fake_url + "/_fake/stats")
        secs = time.monotonic() - t_stats
        res.update({"measured_s": secs, "gets": st.get("op", {}).get("get", 0),
                    "lists": st.get("op", {}).get("list", 0)})
        res["api_calls_per_s"] = (res["gets"] + res["lists"]) / secs
        t_end = time.time()
        truth = {j["arn"]: B.parse_iso(j["updateTime"]) for j in B.http_json("GET", fake_url + "/_fake/jobs")["jobs"]
                 if j["arn"] in flipped}
    finally:
        res["exit"] = d.stop()
        fake.terminate()
        fake.wait(10)
    det = _detected(db, flipped)
    delays = sorted(det[a] / 1000.0 - truth[a] for a in det if a in truth)
    res.update({"changes": len(flipped), "detected": len(delays), "undetected": len(flipped) - len(delays),
                "p50_s": B.pct(delays, 50), "p99_s": B.pct(delays, 99), "max_s": delays[-1] if delays else None})
    waited = [t_end - truth[a] for a in flipped if a in truth and a not in det]
    if waited:
        res.update({"censored_min_s": min(waited), "censored_max_s": max(waited)})
    if mode == "gets":
        # Each job is polled once per n / max_rps seconds: a change waits half of that on average.
        res["cycle_s"] = n / float(AWS_MAX_RPS)
        res["expected_mean_s"] = n / float(AWS_MAX_RPS) / 2
    B.log("detection %s: %s" % (mode, json.dumps({k: (round(v, 3) if isinstance(v, float) else v)
                                                  for k, v in res.items()})))
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--bare", help="bench_bare_curl: also measure it at the same rate")
    ap.add_argument("--part", default="all", choices=("aws_rate", "bulk", "gets", "all"))
    ap.add_argument("--window", type=float, default=60.0, help="aws_rate: measured seconds")
    ap.add_argument("--flip-s", type=float, default=60.0, help="detection: seconds of status changes")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="jwbench-awsrate-")
    os.makedirs(os.path.join(tmp, "home"), exist_ok=True)
    out = {}
    ng = None
    try:
        if a.part in ("aws_rate", "all"):
            tls_dir = os.path.join(tmp, "tls")
            B.subprocess.run(["bash", os.path.join(B.FAKE_DIR, "make_ca.sh"), tls_dir], check=True,
                             capture_output=True)
            ng = B.Nginx(tmp, tls_dir)
            out["aws_rate"] = run_aws_rate(os.path.abspath(a.binary), tmp, ng, os.path.join(tls_dir, "ca.pem"),
                                           window=a.window, bare=a.bare and os.path.abspath(a.bare))
            ng.stop()
            ng = None
        for mode in ("bulk", "gets"):
            if a.part in (mode, "all"):
                out["detection_" + mode] = run_detection(os.path.abspath(a.binary), tmp, mode, flip_s=a.flip_s)
        print(json.dumps(out, indent=1))
    finally:
        if ng:
            ng.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
