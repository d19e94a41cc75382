#!/usr/bin/env python3
"""The `make bench` driver (Python 3 standard library only; bench/run.sh calls it).

Runs, side by side on this machine and in one go:
  * nginx (nginx-light) from a temp prefix on 127.0.0.1, plain HTTP/1.1 and TLS+HTTP/2 (test CA), answering every
    /audience-generation-job/ARN with a ~700-byte Get body that names that ARN (bench/nginx.conf.in);
  * the ceiling: wrk -t1 -c64 -d5s against one job path of that server (HTTP and TLS; wrk speaks HTTP/1.1);
  * jobwatchd polling N jobs (arn_file) as fast as it can ([aws] max_rps = 100000, the configuration's maximum,
    max_connections = 64), at N = 1k, 10k, 100k (HTTP) and 10k (TLS/HTTP/2); and at 10k jobs paced by
    max_rps = 1000 (HTTP, TLS), to compare CPU per poll with the SDK at the same rate;
  * the peer: bench/sdk_poller.js (aws-sdk v2) with the same concurrency against the same server, as fast as it
    can and paced at 1000 calls/s;
  * transition latency with tests/fake/fake_crml.py flipping K of N jobs and tests/fake/webhook_receiver.py;
  * the delay of webhook events after a 10 s receiver outage (bench/webhook_outage.py).
  * the detection delay after a 10-minute service-wide outage, 1,000 jobs (bench/api_outage.py; JW_BENCH_OUTAGE_S
    shortens it, 0 skips it).

How polls are counted: nginx's stub_status "requests" counter, read at the start and the end of a steady window
(costs nothing per request, unlike an access log); non-2xx answers are logged to a file (there must be none),
and the daemon's stderr is checked for "poll of ... failed" warnings, so a counted request is a successful poll
(the daemon treats a 200 naming another job as a failure, and the body always names the requested job).
The daemon's own counter (jobwatchd_api_requests_total of GetAudienceGenerationJob on /metrics, over a unix
socket listener) is read at the same moments and reported next to the server's count.
CPU = utime+stime of the process from /proc/PID/stat over the same window; peak RSS = VmHWM.
start->READY = from spawn to the READY=1 datagram on an abstract AF_UNIX NOTIFY_SOCKET.

Writes RESULTS_DIR/latest.json; bench/report.py turns it into latest.md and latest.png.
"""

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import webhook_outage

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
FAKE_DIR = os.path.join(SRC, "tests", "fake")
CLK_TCK = os.sysconf("SC_CLK_TCK")
REGION = "us-east-1"
ACCOUNT = "111122223333"
# Throwaway credentials of the bench (nothing checks them except the fake).
AKID = "AKIDJWBENCHEXAMPLE01"
SECRET = "jwBenchSecretKey/Zz9+NotARealKey0000000000"
CONCURRENCY = 64  # wrk -c64, the daemon's max_connections, the SDK's sockets and calls in flight
# "As fast as it can": the largest [aws] max_rps the configuration accepts.  The engine then admits
# min(2*max_rps+1, max_connections, 4096) = 64 requests, one per HTTP/1.1 connection or as HTTP/2 streams (before
# issue 18 it admitted 16 per connection, 1024, and over HTTP/1.1 the rest waited in libcurl's queue).
FAST_RPS = 100000
# The common rate of the "equal work" CPU comparison: low enough that both programs keep it on this box.
PACED_RPS = 1000


def log(msg):
    print("bench: %s" % msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on port %d" % port)


def job_arn(i):
    return "arn:aws:cleanrooms-ml:%s:%s:audience-generation-job/%08x-0000-4000-8000-%012x" % (REGION, ACCOUNT, i, i)


def write_arns(path, n):
    with open(path, "w") as f:
        for i in range(n):
            f.write(job_arn(i) + "\n")


def proc_cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15)


def proc_status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def proc_wakeups(pid):
    """Context switches of every thread of the process, summed (/proc/PID/task/*/status): a thread blocked in
    epoll_wait (or any wait) that is woken counts one voluntary switch, a preemption one involuntary.  Threads
    that exited between two readings take their counts with them (see docs/internals/performance.md)."""
    vol = invol = threads = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        vol += int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches:"):
                        invol += int(line.split()[1])
            threads += 1
        except FileNotFoundError:
            pass
    return vol, invol, threads


def proc_cpu_ns(pid):
    """CPU time of every thread in nanoseconds (/proc/PID/task/*/schedstat, first field): finer than the 10-ms
    ticks of utime + stime, which matters at a fraction of a per cent of a core."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, IndexError, ValueError):
            pass
    return total


def tcp_conns(pid, port):
    """Established TCP connections of process pid to 127.0.0.1:port (ss -p)."""
    out = subprocess.run(["ss", "-Htnp", "state", "established", "dst", "127.0.0.1:%d" % port],
                         capture_output=True, text=True).stdout
    return sum(1 for line in out.splitlines() if "pid=%d," % pid in line)


def aws_env(home):
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("AWS_") and k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM",
                                                   "LISTEN_FDS", "LISTEN_PID", "CREDENTIALS_DIRECTORY",
                                                   "STATE_DIRECTORY")}
    e.update({"AWS_ACCESS_KEY_ID": AKID, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_REGION": REGION, "HOME": home,
              "AWS_CONFIG_FILE": os.path.join(home, "nonexistent-config"),
              "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "nonexistent-credentials"),
              "AWS_EC2_METADATA_DISABLED": "true"})
    return e


def ini(cfg):
    out = []
    for sec, keys in cfg.items():
        out.append("[%s]" % sec)
        for k, v in keys.items():
            out.append("%s = %s" % (k, v))
        out.append("")
    return "\n".join(out)


class Nginx:
    def __init__(self, tmp, tls_dir):
        self.prefix = os.path.join(tmp, "ngx")
        for d in ("tmp", "logs"):
            os.makedirs(os.path.join(self.prefix, d), exist_ok=True)
        self.port, self.tls_port = free_port(), free_port()
        with open(os.path.join(HERE, "nginx.conf.in")) as f:
            conf = f.read()
        for k, v in (("@PREFIX@", self.prefix), ("@PORT@", str(self.port)), ("@TLSPORT@", str(self.tls_port)),
                     ("@CERT@", os.path.join(tls_dir, "server.pem")),
                     ("@KEY@", os.path.join(tls_dir, "server.key"))):
            conf = conf.replace(k, v)
        path = os.path.join(self.prefix, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf)
        # The worker runs as nobody when we are root: it reads the key and the prefix.
        os.chmod(os.path.join(tls_dir, "server.key"), 0o644)
        for d in (tmp, self.prefix, tls_dir):
            os.chmod(d, 0o755)
        self.err = open(os.path.join(tmp, "nginx.stderr"), "w")
        self.proc = subprocess.Popen(["nginx", "-p", self.prefix, "-c", path, "-e", "stderr"],
                                     stdout=self.err, stderr=self.err)
        wait_port(self.port)
        wait_port(self.tls_port)
        self.http_url = "http://127.0.0.1:%d" % self.port
        self.tls_url = "https://localhost:%d" % self.tls_port

    def requests(self):
        with urllib.request.urlopen(self.http_url + "/_nginx/status", timeout=5) as r:
            text = r.read().decode()
        return int(text.splitlines()[2].split()[2])

    def bad_count(self):
        try:
            with open(os.path.join(self.prefix, "logs", "bad.log")) as f:
                return sum(1 for _ in f)
        except FileNotFoundError:
            return 0

    def worker_pids(self):
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()


def check_body(ng):
    arn = job_arn(7)
    path = "/audience-generation-job/" + urllib.request.quote(arn, safe="")
    with urllib.request.urlopen(ng.http_url + path, timeout=5) as r:
        body = r.read()
    doc = json.loads(body)
    if doc["audienceGenerationJobArn"] != arn:
        raise RuntimeError("nginx answers for %s instead of %s" % (doc["audienceGenerationJobArn"], arn))
    return len(body), path


def wrk(url, seconds, conns=CONCURRENCY):
    out = subprocess.run(["wrk", "-t1", "-c%d" % conns, "-d%ds" % seconds, url], capture_output=True, text=True,
                         timeout=seconds + 30).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if not m:
        raise RuntimeError("wrk printed no rate:\n" + out)
    return {"rps": float(m.group(1)), "non2xx": int(non2xx.group(1)) if non2xx else 0}


class Notify:
    """An abstract AF_UNIX datagram socket for NOTIFY_SOCKET, drained by a thread: the kernel queues only
    net.unix.max_dgram_qlen (often 10) datagrams, and sd_notify() blocks the daemon when the queue is full."""

    def __init__(self, tag):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.addr = "jwbench-%d-%s" % (os.getpid(), tag)
        self.sock.bind("\0" + self.addr)
        self.sock.settimeout(0.2)
        self.ready_at = None
        self.cond = threading.Condition()
        self.closed = False
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        while not self.closed:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            t = time.monotonic()
            if "READY=1" in data.decode(errors="replace").split("\n"):
                with self.cond:
                    if self.ready_at is None:
                        self.ready_at = t
                    self.cond.notify_all()

    def wait_ready(self, timeout):
        with self.cond:
            self.cond.wait_for(lambda: self.ready_at is not None, timeout)
            return self.ready_at

    def close(self):
        self.closed = True
        self.sock.close()


class Daemon:
    def __init__(self, binary, tmp, name, cfg):
        self.metrics_sock = None
        if "http" in cfg:
            self.metrics_sock = cfg["http"]["listen"][len("unix:"):]
        self.conf = os.path.join(tmp, name + ".conf")
        with open(self.conf, "w") as f:
            f.write(ini(cfg))
        os.chmod(self.conf, 0o600)
        home = os.path.join(tmp, "home")
        os.makedirs(home, exist_ok=True)
        env = aws_env(home)
        self.notify = Notify(name)
        env["NOTIFY_SOCKET"] = "@" + self.notify.addr
        self.stderr_path = os.path.join(tmp, name + ".stderr")
        self.err = open(self.stderr_path, "a")
        self.t_spawn = time.monotonic()
        self.proc = subprocess.Popen([binary, "run", "-c", self.conf], env=env, stdout=self.err, stderr=self.err)
        self.pid = self.proc.pid

    def wait_ready(self, timeout=120):
        t = self.notify.wait_ready(timeout)
        if t is None:
            self.stop()
            raise RuntimeError("jobwatchd did not get READY; see %s" % self.stderr_path)
        return t - self.t_spawn

    def get_polls(self):
        """GetAudienceGenerationJob requests the daemon counted (its /metrics), or None without a listener."""
        if not self.metrics_sock:
            return None
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC) as s:
                s.settimeout(5)
                s.connect(self.metrics_sock)
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                chunks = []
                while True:
                    c = s.recv(65536)
                    if not c:
                        break
                    chunks.append(c)
        except OSError:
            return None
        total = 0
        for line in b"".join(chunks).decode(errors="replace").splitlines():
            if line.startswith("jobwatchd_api_requests_total{") and "GetAudienceGenerationJob" in line:
                total += int(float(line.rsplit(None, 1)[1]))
        return total

    def poll_warnings(self):
        with open(self.stderr_path, errors="replace") as f:
            text = f.read()
        return len(re.findall(r"poll of \S+ failed|more poll failures", text)), text[-2000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()
        self.notify.close()
        return self.proc.returncode


def daemon_poll_cfg(url, arn_file, state, ca=None, max_rps=FAST_RPS, metrics_sock=None):
    aws = {"region": REGION, "endpoint": url, "max_rps": max_rps, "max_connections": CONCURRENCY, "timeout": "15s"}
    if ca:
        aws["ca_file"] = ca
    # Every job is ACTIVE (settled): settled_interval drives the rate; 1ms makes every job due again as soon as
    # its answer arrives, so [aws] max_rps and max_connections are the only brakes.
    cfg = {"aws": aws,
           "poll": {"interval": "1ms", "settled_interval": "1ms", "failed_interval": "1s", "jitter": "0%",
                    "stuck_after": "0"},
           "jobs": {"arn_file": arn_file}, "state": {"path": state}, "journal": {"enabled": "no"}}
    if metrics_sock:
        cfg["http"] = {"listen": "unix:" + metrics_sock}
    return cfg


def run_daemon(binary, tmp, ng, n, tls, warmup, window, tag, ca=None, restart=False, perf=None, max_rps=FAST_RPS):
    arn_file = os.path.join(tmp, "arns-%d.txt" % n)
    if not os.path.exists(arn_file):
        write_arns(arn_file, n)
    state = os.path.join(tmp, "state-%s.db" % tag)
    url = ng.tls_url if tls else ng.http_url
    name = "jobwatchd-%s" % tag
    d = Daemon(binary, tmp, name, daemon_poll_cfg(url, arn_file, state, ca if tls else None, max_rps,
                                                  os.path.join(tmp, name + ".sock")))
    res = {"n": n, "tls": tls, "tag": tag, "max_rps": max_rps, "max_connections": CONCURRENCY}

    def window_stats(prefix, secs):
        m0, bad0, r0, c0, t0 = d.get_polls(), ng.bad_count(), ng.requests(), proc_cpu_s(d.pid), time.monotonic()
        if perf and prefix == "":
            subprocess.run(["perf", "record", "-q", "-F", "999", "--call-graph", "dwarf,16384", "-p", str(d.pid),
                            "-o", perf, "--", "sleep", str(secs)], check=True, stdout=subprocess.DEVNULL)
        else:
            time.sleep(secs)
        m1, bad1, r1, c1, t1 = d.get_polls(), ng.bad_count(), ng.requests(), proc_cpu_s(d.pid), time.monotonic()
        polls = r1 - r0 - 1  # minus our own status request
        if m0 is not None and m1 is not None:
            res[prefix + "daemon_polls_per_s"] = (m1 - m0) / (t1 - t0)
        res.update({prefix + "polls": polls, prefix + "seconds": t1 - t0, prefix + "polls_per_s": polls / (t1 - t0),
                    prefix + "cpu_s": c1 - c0,
                    prefix + "cpu_s_per_10k": (c1 - c0) / polls * 1e4 if polls > 0 else None,
                    prefix + "non2xx": bad1 - bad0})

    try:
        res["ready_s"] = d.wait_ready()
        r_ready = ng.requests()
        time.sleep(warmup)
        # The first poll of each job differs from the later ones (it records the job's first status and a
        # job.status_changed event); measure that sweep when it lasts long enough, then wait until every job has
        # been polled once and measure the steady state (same status, nothing to notify).
        if n / min(max_rps, 5000) > warmup + window + 1:
            window_stats("sweep_", window)
        end = time.monotonic() + n / min(max_rps, 5000) * 1.5 + 20
        while ng.requests() - r_ready < n + 64 and time.monotonic() < end:
            time.sleep(0.2)
        res["sweep_complete"] = ng.requests() - r_ready >= n + 64
        res["sweep_s"] = time.monotonic() - d.t_spawn - res["ready_s"]
        time.sleep(0.5)
        window_stats("", window)
        res.update({"hwm_kib": proc_status_kib(d.pid, "VmHWM"), "rss_kib": proc_status_kib(d.pid, "VmRSS"),
                    "connections": tcp_conns(d.pid, ng.tls_port if tls else ng.port)})
        res["poll_warnings"], tail = d.poll_warnings()
        if res["poll_warnings"] or res["non2xx"] or res.get("sweep_non2xx"):
            log("%s: %d poll warnings, %d non-2xx answers:\n%s" % (tag, res["poll_warnings"], res["non2xx"], tail))
    finally:
        res["exit"] = d.stop()
    if restart:
        # start->READY again on the database the first run wrote (the usual case: a service restart).
        d = Daemon(binary, tmp, name + "-restart", daemon_poll_cfg(url, arn_file, state, ca if tls else None,
                                                                   max_rps))
        try:
            res["ready_restart_s"] = d.wait_ready()
        finally:
            d.stop()
    log("%s: %s" % (tag, json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in res.items()})))
    return res


# The bare loop's arrangement is jobwatchd's: 64 transfers in flight (the engine admits max_connections), on 64
# HTTP/1.1 connections, or over TLS as HTTP/2 streams with the same CURLMOPT_MAX_HOST_CONNECTIONS and
# CURLOPT_PIPEWAIT, so libcurl makes the same connections for both.
BARE_TLS_HANDLES = CONCURRENCY


def run_bare(bare_bin, ng, tls, ca, warmup, window, tag):
    """bench/bare_curl.c against the same nginx and path: requests/s counted by nginx, CPU from /proc."""
    path = "/audience-generation-job/" + urllib.request.quote(job_arn(7), safe="")
    argv = [bare_bin, "--url", (ng.tls_url if tls else ng.http_url) + path, "--max-host-connections",
            str(CONCURRENCY), "--handles", str(BARE_TLS_HANDLES if tls else CONCURRENCY)]
    if tls:
        argv += ["--http2", "--ca", ca]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    res = {"tls": tls, "tag": tag, "handles": BARE_TLS_HANDLES if tls else CONCURRENCY,
           "max_host_connections": CONCURRENCY}
    try:
        time.sleep(warmup)
        bad0, r0, c0, t0 = ng.bad_count(), ng.requests(), proc_cpu_s(p.pid), time.monotonic()
        time.sleep(window)
        bad1, r1, c1, t1 = ng.bad_count(), ng.requests(), proc_cpu_s(p.pid), time.monotonic()
        res["connections"] = tcp_conns(p.pid, ng.tls_port if tls else ng.port)
        polls = r1 - r0 - 1  # minus our own status request
        res.update({"requests": polls, "seconds": t1 - t0, "rps": polls / (t1 - t0), "cpu_s": c1 - c0,
                    "cpu_s_per_10k": (c1 - c0) / polls * 1e4 if polls > 0 else None, "non2xx": bad1 - bad0})
    finally:
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
    try:
        res["self"] = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RuntimeError("bench_bare_curl printed no summary: %s" % err[-2000:])
    if res["self"]["failed"] or res["non2xx"]:
        log("%s: %d failed transfers, %d non-2xx: %s" % (tag, res["self"]["failed"], res["non2xx"], err[-1000:]))
    log("%s: %s" % (tag, json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in res.items()})))
    return res


def run_sdk(node_modules, tmp, ng, n, tls, ca, warmup, window, rate=0):
    arn_file = os.path.join(tmp, "arns-%d.txt" % n)
    if not os.path.exists(arn_file):
        write_arns(arn_file, n)
    env = aws_env(os.path.join(tmp, "home"))
    env["NODE_PATH"] = node_modules
    argv = ["node", os.path.join(HERE, "sdk_poller.js"), "--endpoint", ng.tls_url if tls else ng.http_url,
            "--arns", arn_file, "--concurrency", str(CONCURRENCY), "--warmup", str(warmup), "--duration", str(window)]
    if tls:
        argv += ["--ca", ca]
    if rate:
        argv += ["--rate", str(rate)]
    bad0, r0 = ng.bad_count(), ng.requests()
    p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=warmup + window + 60)
    if p.returncode != 0 or not p.stdout.strip():
        raise RuntimeError("sdk_poller failed (%d): %s" % (p.returncode, p.stderr[-2000:]))
    res = json.loads(p.stdout.strip().splitlines()[-1])
    res.update({"n": n, "tls": tls, "paced": bool(rate), "polls_per_s": res["polls"] / res["seconds"],
                "cpu_s_per_10k": res["cpu_seconds"] / res["polls"] * 1e4 if res["polls"] else None,
                "non2xx": ng.bad_count() - bad0, "server_requests": ng.requests() - r0})
    log("sdk %s%s: %s" % ("tls" if tls else "http", " paced" if rate else "", json.dumps(res)))
    return res


def parse_iso(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def read_jsonl(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    except FileNotFoundError:
        pass
    return out


def start_py(argv, tmp, name):
    port_file = os.path.join(tmp, name + ".port")
    # A port file left by an earlier process of the same name would be read before the new one listens.
    if os.path.exists(port_file):
        os.unlink(port_file)
    err = open(os.path.join(tmp, name + ".stderr"), "w")
    p = subprocess.Popen([sys.executable] + argv + ["--port", "0", "--port-file", port_file], stdout=err, stderr=err)
    end = time.monotonic() + 15
    while not os.path.exists(port_file):
        if time.monotonic() > end or p.poll() is not None:
            raise RuntimeError("%s did not start" % name)
        time.sleep(0.05)
    with open(port_file) as f:
        return p, int(f.read().strip())


def http_json(method, url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return None
    k = max(0, min(len(xs) - 1, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


def run_transitions(binary, tmp, n, k, rounds, interval_ms):
    """K of N jobs flip to ACTIVE per round; latency = webhook arrival - the first Get that served the flip."""
    ids = ["%08x-0000-4000-8000-%012x" % (i, i) for i in range(n)]
    scen = {"region": REGION, "account": ACCOUNT,
            "jobs": [{"id": j, "steps": [{"at": 0, "status": "CREATE_IN_PROGRESS"}]} for j in ids]}
    scen_path = os.path.join(tmp, "scenario.json")
    with open(scen_path, "w") as f:
        json.dump(scen, f)
    fake_log, recv_log = os.path.join(tmp, "fake.jsonl"), os.path.join(tmp, "recv.jsonl")
    fake, fport = start_py([os.path.join(FAKE_DIR, "fake_crml.py"), "--scenario", scen_path, "--log", fake_log],
                           tmp, "fake")
    recv, rport = start_py([os.path.join(FAKE_DIR, "webhook_receiver.py"), "--log", recv_log], tmp, "receiver")
    arn_file = os.path.join(tmp, "arns-transitions.txt")
    with open(arn_file, "w") as f:
        f.write("".join(job_arn(i) + "\n" for i in range(n)))
    fake_url = "http://127.0.0.1:%d" % fport
    cfg = {"aws": {"region": REGION, "endpoint": fake_url, "max_rps": 1000, "max_connections": 16},
           "poll": {"interval": "%dms" % interval_ms, "settled_interval": "1h", "jitter": "0%", "stuck_after": "0"},
           "jobs": {"arn_file": arn_file}, "state": {"path": os.path.join(tmp, "state-transitions.db")},
           "journal": {"enabled": "no"},
           'webhook "bench"': {"url": "http://127.0.0.1:%d/hook" % rport, "format": "json",
                               "on": "job.status_changed"}}
    d = Daemon(binary, tmp, "jobwatchd-transitions", cfg)
    lat = []
    missing = 0
    try:
        d.wait_ready()
        time.sleep(max(2.0, 3 * interval_ms / 1000.0))  # first round of polls (and their events) done
        flipped = []
        for r in range(rounds):
            batch = [job_arn(i) for i in range(r * k, (r + 1) * k)]
            http_json("POST", fake_url + "/_fake/jobs", {"jobs": [{"arn": a, "status": "ACTIVE"} for a in batch]})
            flip_wall = time.time()
            flipped.append((flip_wall, batch))
            end = time.monotonic() + 10
            while time.monotonic() < end:
                got = {a for p in read_jsonl(recv_log) for a in batch if a in p.get("body", "") and "ACTIVE" in
                       p.get("body", "")}
                if len(got) == len(batch):
                    break
                time.sleep(0.1)
            time.sleep(interval_ms / 1000.0)
        truth = {j["arn"]: parse_iso(j["updateTime"]) for j in http_json("GET", fake_url + "/_fake/jobs")["jobs"]}
        gets = {}
        for rec in read_jsonl(fake_log):
            if rec.get("op") == "get" and rec.get("status") == 200 and rec.get("arn"):
                gets.setdefault(rec["arn"], []).append(parse_iso(rec["time"]))
        posts = {}
        for p in read_jsonl(recv_log):
            body = p.get("body", "")
            if "ACTIVE" not in body:
                continue
            for _, batch in flipped:
                for a in batch:
                    if a in body and a not in posts:
                        posts[a] = parse_iso(p["time"])
        for _, batch in flipped:
            for a in batch:
                flip = truth.get(a)
                seen = [t for t in gets.get(a, []) if flip is not None and t >= flip]
                if not seen or a not in posts:
                    missing += 1
                    continue
                lat.append((posts[a] - min(seen)) * 1000.0)
    finally:
        d.stop()
        for p in (fake, recv):
            p.terminate()
            p.wait(10)
    res = {"n": n, "k": k, "rounds": rounds, "interval_ms": interval_ms, "samples": len(lat), "missing": missing,
           "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99), "max_ms": max(lat) if lat else None}
    log("transitions: %s" % json.dumps(res))
    return res


def run_bulk_refresh(binary, tmp, n=1000, list_interval_s=2, measure_s=20):
    """Issue 7's bulk refresh: N settled (ACTIVE) jobs found by [discover], freshness = the listing interval.
    Per-job Get polling at that freshness costs 3600 / interval calls per job-hour; bulk refresh costs the
    List pages plus the Gets it still makes, counted by the fake over a window after the first listing."""
    collab = "a1b2c3d4-0000-4000-8000-00000000c011"
    scen = {"region": REGION, "account": ACCOUNT, "jobs": [
        {"id": "%08x-0000-4000-8000-%012x" % (i, i), "collaborationId": collab,
         "steps": [{"at": 0, "status": "ACTIVE"}]} for i in range(n)]}
    scen_path = os.path.join(tmp, "scenario-bulk.json")
    with open(scen_path, "w") as f:
        json.dump(scen, f)
    fake, fport = start_py([os.path.join(FAKE_DIR, "fake_crml.py"), "--scenario", scen_path], tmp, "fake-bulk")
    fake_url = "http://127.0.0.1:%d" % fport
    cfg = {"aws": {"region": REGION, "endpoint": fake_url, "max_rps": 1000, "max_connections": 16},
           "poll": {"interval": "30s", "settled_interval": "1h", "jitter": "10%", "stuck_after": "0"},
           'discover "bench"': {"collaboration_id": collab, "interval": "%ds" % list_interval_s},
           "state": {"path": os.path.join(tmp, "state-bulk.db")}, "journal": {"enabled": "no"}}
    d = Daemon(binary, tmp, "jobwatchd-bulk", cfg)
    res = {"n": n, "list_interval_s": list_interval_s}
    try:
        d.wait_ready(60)
        # The first listing discovers every job (one Get each, for job.discovered): wait until it is done.
        end = time.monotonic() + 60
        while time.monotonic() < end:
            st = http_json("GET", fake_url + "/_fake/stats")
            if st.get("op", {}).get("get", 0) >= n:
                break
            time.sleep(0.5)
        res["first_gets"] = http_json("GET", fake_url + "/_fake/stats").get("op", {}).get("get", 0)
        time.sleep(list_interval_s)
        http_json("DELETE", fake_url + "/_fake/stats")
        t0 = time.monotonic()
        # "Mostly settled": 1% of the jobs move on mid-window; only they should cost Gets.
        time.sleep(measure_s / 2)
        moved = ["arn:aws:cleanrooms-ml:%s:%s:audience-generation-job/%08x-0000-4000-8000-%012x" % (
            REGION, ACCOUNT, i, i) for i in range(0, n, 100)]
        http_json("POST", fake_url + "/_fake/jobs", {"jobs": [{"arn": a, "status": "DELETE_PENDING"} for a in moved]})
        res["moved"] = len(moved)
        time.sleep(measure_s / 2)
        st = http_json("GET", fake_url + "/_fake/stats")
        secs = time.monotonic() - t0
        gets, lists = st.get("op", {}).get("get", 0), st.get("op", {}).get("list", 0)
        per_job_hour = (gets + lists) / n / (secs / 3600.0)
        baseline = 3600.0 / list_interval_s
        res.update({"seconds": secs, "gets": gets, "lists": lists, "calls_per_job_hour": per_job_hour,
                    "get_polling_calls_per_job_hour": baseline,
                    "saving": baseline / per_job_hour if per_job_hour else None,
                    "alive": d.proc.poll() is None})
    finally:
        d.stop()
        fake.terminate()
        fake.wait(10)
    log("bulk refresh: %s" % json.dumps(res))
    return res


PARTS = ("ceiling", "jobwatchd", "sdk", "aws_rate", "transitions", "webhook_outage", "bulk_refresh", "detection",
         "outage")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--bare", help="bench_bare_curl (bench/bare_curl.c), the bare libcurl reference")
    ap.add_argument("--node-modules", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--window", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--only", default=",".join(PARTS),
                    help="comma-separated parts to run (default all): %s; 'jobwatchd' with --sizes 10000 is the "
                         "quick way to the rows the ratios need" % ", ".join(PARTS))
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("--profile", metavar="PERF_DATA",
                    help="only: perf record jobwatchd at 10k jobs as fast as it can (PERF_DATA.http, .tls), paced "
                         "(.http-paced), and at 1k jobs (.http-1000)")
    a = ap.parse_args()
    only = set(a.only.split(","))
    if only - set(PARTS):
        ap.error("unknown part(s): %s" % ", ".join(sorted(only - set(PARTS))))

    tmp = tempfile.mkdtemp(prefix="jwbench-")
    os.makedirs(os.path.join(tmp, "home"), exist_ok=True)
    sizes = [int(s) for s in a.sizes.split(",")]
    t_start = time.monotonic()
    results = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               "host": {"nproc": os.cpu_count(), "uname": " ".join(os.uname()[2:5]),
                        "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                                     if l.startswith("model name")), "?")},
               "loadavg_start": open("/proc/loadavg").read().split()[:3],
               "window_s": a.window, "warmup_s": a.warmup, "concurrency": CONCURRENCY, "parts": sorted(only)}
    ng = None
    try:
        tls_dir = os.path.join(tmp, "tls")
        subprocess.run(["bash", os.path.join(FAKE_DIR, "make_ca.sh"), tls_dir], check=True, capture_output=True)
        ca = os.path.join(tls_dir, "ca.pem")
        ng = Nginx(tmp, tls_dir)
        body_len, path = check_body(ng)
        results["body_bytes"] = body_len
        results["nginx"] = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
        log("nginx up (HTTP %d, TLS %d), body %d bytes" % (ng.port, ng.tls_port, body_len))

        if a.profile:
            results["profile"] = [
                run_daemon(a.binary, tmp, ng, 10000, False, a.warmup, a.window, "http-10000", perf=a.profile + ".http"),
                run_daemon(a.binary, tmp, ng, 10000, True, a.warmup, a.window, "tls-10000", ca=ca,
                           perf=a.profile + ".tls"),
                run_daemon(a.binary, tmp, ng, 10000, False, a.warmup, a.window, "http-10000-paced",
                           perf=a.profile + ".http-paced", max_rps=PACED_RPS),
                run_daemon(a.binary, tmp, ng, 1000, False, a.warmup, a.window, "http-1000",
                           perf=a.profile + ".http-1000")]
            return

        def ceiling(suffix):
            # wrk and the bare libcurl loop, at the start and again at the end of the run: the box is shared,
            # the ceiling moves; the report uses the mean of both.
            if suffix == "":
                wrk(ng.http_url + path, 1)  # warm-up
            results["wrk_http" + suffix] = wrk(ng.http_url + path, 5)
            results["wrk_tls" + suffix] = wrk(ng.tls_url + path, 5)
            log("wrk%s: http %.0f req/s, tls %.0f req/s" % (suffix, results["wrk_http" + suffix]["rps"],
                                                          results["wrk_tls" + suffix]["rps"]))
            if a.bare:
                for tls in (False, True):
                    key = "bare_%s%s" % ("tls" if tls else "http", suffix)
                    try:
                        results[key] = run_bare(a.bare, ng, tls, ca, a.warmup, a.window, key)
                    except Exception as e:  # never lose the other results to it
                        results[key] = {"error": str(e)[:300]}
                        log("%s not measured: %s" % (key, e))

        if "ceiling" in only:
            ceiling("")
        if "jobwatchd" in only:
            runs = []
            for n in sizes:
                runs.append(run_daemon(a.binary, tmp, ng, n, False, a.warmup, a.window, "http-%d" % n,
                                       restart=(n == max(sizes))))
            runs.append(run_daemon(a.binary, tmp, ng, 10000, True, a.warmup, a.window, "tls-10000", ca=ca))
            # Paced: the same 10k jobs held to PACED_RPS by [aws] max_rps, for the equal-rate CPU comparison.
            runs.append(run_daemon(a.binary, tmp, ng, 10000, False, a.warmup, a.window, "http-10000-paced",
                                   max_rps=PACED_RPS))
            runs.append(run_daemon(a.binary, tmp, ng, 10000, True, a.warmup, a.window, "tls-10000-paced", ca=ca,
                                   max_rps=PACED_RPS))
            results["jobwatchd"] = runs
            results["paced_rps"] = PACED_RPS
        if "sdk" in only:
            # The SDK as fast as it can with the same 64 sockets / calls in flight (the target of issue 8: both
            # programs polling as fast as they can at the same concurrency), and paced at PACED_RPS (equal work
            # rate; per-poll cost falls as the rate rises, for both programs).
            results["sdk"] = [run_sdk(a.node_modules, tmp, ng, 10000, False, ca, a.warmup, a.window),
                              run_sdk(a.node_modules, tmp, ng, 10000, True, ca, a.warmup, a.window),
                              run_sdk(a.node_modules, tmp, ng, 10000, False, ca, a.warmup, a.window,
                                      rate=PACED_RPS),
                              run_sdk(a.node_modules, tmp, ng, 10000, True, ca, a.warmup, a.window, rate=PACED_RPS)]
        if "ceiling" in only:
            ceiling("_end")
        if "aws_rate" in only:
            import aws_rate  # bench/aws_rate.py: imports this module's helpers
            try:
                results["aws_rate"] = aws_rate.run_aws_rate(a.binary, tmp, ng, ca, bare=a.bare)
            except Exception as e:
                results["aws_rate"] = {"error": str(e)[:300]}
                log("AWS-rate run not measured: %s" % e)
        ng.stop()
        ng = None
        if "transitions" in only:
            results["transitions"] = run_transitions(a.binary, tmp, 500, 20, 5, 1000)
        if "webhook_outage" in only:
            try:
                results["webhook_outage"] = webhook_outage.run_webhook_outage(sys.modules[__name__], a.binary, tmp)
            except Exception as e:  # never lose the other results to it
                results["webhook_outage"] = {"error": str(e)[:300]}
                log("webhook outage not measured: %s" % e)
        if "bulk_refresh" in only:
            try:
                results["bulk_refresh"] = run_bulk_refresh(a.binary, tmp)
            except Exception as e:  # discovery is newer than the rest; never lose the other results to it
                results["bulk_refresh"] = {"error": str(e)[:300]}
                log("bulk refresh not measured: %s" % e)
        if "detection" in only:
            import aws_rate
            for mode in ("bulk", "gets"):
                try:
                    results["detection_" + mode] = aws_rate.run_detection(a.binary, tmp, mode)
                except Exception as e:
                    results["detection_" + mode] = {"error": str(e)[:300]}
                    log("detection (%s) not measured: %s" % (mode, e))
        outage_s = float(os.environ.get("JW_BENCH_OUTAGE_S", "600"))
        if outage_s > 0 and "outage" in only:
            import api_outage as outage_bench  # bench/api_outage.py: imports this module's helpers
            try:
                results["outage"] = outage_bench.run_outage(a.binary, tmp, 1000, outage_s)
            except Exception as e:
                results["outage"] = {"error": str(e)[:300]}
                log("outage recovery not measured: %s" % e)
    finally:
        if ng:
            ng.stop()
        results["elapsed_s"] = time.monotonic() - t_start
        results["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
        os.makedirs(a.out, exist_ok=True)
        with open(os.path.join(a.out, "latest.json"), "w") as f:
            json.dump(results, f, indent=1)
        if a.keep:
            log("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
