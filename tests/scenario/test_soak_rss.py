#!/usr/bin/python3
"""Soak (JW_SOAK=1 only, else skipped): a 1-hour-equivalent run with time-compressed intervals -- 1000
jobs polled every 300 ms (the default 30 s / 100), statuses flipping on a random tenth of them every
second (events, webhook deliveries to a receiver that now and then answers 503), fleet-wide API faults
now and then -- until JW_SOAK_POLLS polls (default 1,000,000) or JW_SOAK_SECONDS (default 1500) have
passed.  The daemon's RSS is sampled from /proc every few seconds; after the warm-up (the first quarter)
it must stay flat: the last quarter's median no more than 10 % + 2 MiB above the second quarter's, and
the maximum after warm-up no more than 25 % + 4 MiB above the warm-up end.  The samples are printed."""

import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402

STATUSES = ["CREATE_PENDING", "CREATE_IN_PROGRESS", "ACTIVE", "DELETE_PENDING", "CREATE_IN_PROGRESS"]


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test(t):
    if os.environ.get("JW_SOAK", "0") in ("", "0"):
        jw.skip("soak only (JW_SOAK=1)")
    if jw.SANITIZE:
        jw.skip("RSS is meaningless under ASan")
    target = int(os.environ.get("JW_SOAK_POLLS", "1000000"))
    cap = float(os.environ.get("JW_SOAK_SECONDS", "1500"))
    n = int(os.environ.get("JW_SOAK_JOBS", "1000"))
    rnd = random.Random(5)
    jobs = [{"id": "soak-%04d" % i, "steps": [{"at": 0, "status": "CREATE_IN_PROGRESS"}]} for i in range(n)]
    fake = t.start_fake({"jobs": jobs})
    rcv = t.start_receiver()
    db = t.path("state.db")
    cfg = lc.daemon_config(fake, db, [fake.arn(j["id"]) for j in jobs], interval="300ms", extra={
        "aws": {"max_rps": 1000, "max_connections": 16},
        'webhook "soak"': {"url": rcv.url + "/hook", "on": "all", "max_pending": 100000}})
    d = t.start_daemon(cfg, env=dict(jw.aws_env(), JW_WEBHOOK_TIME_SCALE="0.01"))
    jw.wait_until(lambda: d.notify_has("READY=1"), 30, "READY=1")
    start = time.monotonic()
    samples = []  # (seconds, polls, rss KiB)
    last_flip = last_fault = last_sample = 0.0
    flips = 0
    while True:
        now = time.monotonic() - start
        jw.check(d.alive(), "daemon alive at %.0fs:\n%s" % (now, d.stderr_text()[-2000:]))
        if now - last_flip >= 1.0:
            for j in rnd.sample(jobs, n // 10):
                fake.set_job(j["id"], rnd.choice(STATUSES))
                flips += 1
            last_flip = now
        if now - last_fault >= 30:
            fake.add_fault(rnd.choice(["500", "503", "reset", "malformed", "throttle"]), op="get", duration=1.0,
                           rate=0.3)
            rcv.set_script([{"status": 503}] * 3)
            last_fault = now
        if now - last_sample >= 5:
            polls = fake.stats()["op"].get("get", 0)
            samples.append((round(now), polls, rss_kib(d.pid)))
            last_sample = now
            print("t=%5ds polls=%8d rss=%6d KiB" % samples[-1])
            sys.stdout.flush()
            if polls >= target or now >= cap:
                break
        time.sleep(0.2)
    d.stop(timeout=60)
    polls = samples[-1][1]
    q = max(1, len(samples) // 4)
    warm_end = samples[q - 1][2]
    second = statistics.median(s[2] for s in samples[q:2 * q])
    last = statistics.median(s[2] for s in samples[-q:])
    peak = max(s[2] for s in samples[q:])
    events = len(lc.stored_events(db))
    print("soak: %d polls in %ds (%.0f/s), %d status flips, %d events, %d webhook POSTs" %
          (polls, samples[-1][0], polls / max(1, samples[-1][0]), flips, events, len(rcv.posts())))
    print("RSS KiB: warm-up end %d, 2nd-quarter median %d, last-quarter median %d, peak after warm-up %d" %
          (warm_end, second, last, peak))
    jw.check(polls >= min(target, 100000), "enough polls (%d)" % polls)
    jw.check(last <= second * 1.10 + 2048, "RSS flat: last quarter %d vs second quarter %d KiB" % (last, second))
    jw.check(peak <= warm_end * 1.25 + 4096, "RSS peak %d vs warm-up end %d KiB" % (peak, warm_end))
    jw.check(jw.sqlite_integrity(db) == ["ok"], "integrity_check")


jw.main(test)
