#!/usr/bin/python3
"""The control API and the CLI against a running daemon: list/get/watch/unwatch over the unix socket
(mode 0660), bad requests answered 400 with a JSON error and never a crash, runtime-added jobs and unwatches
persisting across a restart, `jobwatchd status/watch/unwatch`, and a TCP listener that requires the bearer
token."""

import os
import re
import stat
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import fleetlib as fc  # noqa: E402

TOKEN = "jwFleetApiToken-7d1e0b9c2a-DoNotLog"


def enc(arn):
    return urllib.parse.quote(arn, safe="")


def config(fake, db, listen, arns, token_file=None):
    cfg = {
        "aws": {"region": jw.REGION, "endpoint": fake.url, "max_rps": 100, "timeout": "5s"},
        "poll": {"interval": "1s", "settled_interval": "1s", "failed_interval": "1s", "jitter": "10%"},
        "jobs": {"arn": arns},
        "state": {"path": db},
        "journal": {"enabled": False},
        "http": {"listen": listen},
    }
    if token_file:
        cfg["http"]["token_file"] = token_file
    return cfg


def gets_for(fake, arn, after):
    return [r for r in fake.requests()[after:] if r.get("op") == "get" and r.get("arn") == arn]


def cli(t, *args):
    return t.run([jw.daemon_path()] + list(args), timeout=60)


def test(t):
    fc.parser_selftest()
    fake = t.start_fake({"jobs": [
        {"id": "j1", "steps": [{"at": 0, "status": "CREATE_IN_PROGRESS"}]},
        {"id": "j2", "steps": [{"at": 0, "status": "ACTIVE"}]},
        {"id": "j3", "steps": [{"at": 0, "status": "CREATE_FAILED",
                                "statusDetails": {"statusCode": "X", "message": "m"}}]},
    ]}, verify_sigv4=True)
    j1, j2, j3 = fake.arn("j1"), fake.arn("j2"), fake.arn("j3")
    db = t.path("state.db")
    sock = t.path("run", "jobwatchd.sock")
    os.makedirs(os.path.dirname(sock))
    cfg = config(fake, db, "unix:" + sock, [j1])
    d = t.start_daemon(cfg, env=jw.aws_env())
    fc.wait_for_socket(d, sock)
    jw.check_eq(stat.S_IMODE(os.stat(sock).st_mode), 0o660, "socket mode")
    api = fc.Api(sock=sock)

    # ---- list / get --------------------------------------------------------------------------------
    js = jw.wait_until(lambda: [j for j in api.jobs() if j["status"] == "CREATE_IN_PROGRESS"], 20, "j1 polled")
    jw.check_eq([j["arn"] for j in js], [j1], "jobs")
    jw.check_eq(js[0]["source"], "config", "source")
    jw.check(js[0]["lastPoll"] and js[0]["since"] and js[0]["name"] == "j1", "job fields: %s" % js[0])
    jw.check_eq(api.json("GET", "/v1/jobs/" + enc(j1), want=200)[1]["arn"], j1, "GET by encoded ARN")
    jw.check_eq(api.json("GET", "/v1/jobs/" + j1, want=200)[1]["arn"], j1, "GET by raw ARN")

    # ---- watch ------------------------------------------------------------------------------------
    st, hdrs, body = api.request("POST", "/v1/jobs", {"arn": j2})
    jw.check_eq(st, 201, "POST new job: %s" % body)
    jw.check_eq(hdrs.get("location"), "/v1/jobs/" + enc(j2), "Location")
    jw.check_eq(jw.json.loads(body)["source"], "api", "source of a watched job")
    jw.wait_until(lambda: (api.job(j2) or {}).get("status") == "ACTIVE", 20, "j2 polled soon after POST")
    api.json("POST", "/v1/jobs", {"arn": j2}, want=200)
    jw.wait_until(lambda: [r for r in jw.sqlite_rows(db, "SELECT type, arn FROM events")
                           if r["arn"] == j2 and r["type"] == "job.discovered"], 10, "j2 announced")
    jw.check_eq([j["arn"] for j in api.jobs("ACTIVE")], [j2], "?status=ACTIVE")

    # ---- bad input: 400/404/405 with JSON errors, the daemon stays up -------------------------------------
    bad_posts = [
        ("{", "truncated JSON"),
        ("[]", "array"),
        ('{"arn": 5}', "number"),
        ('{"arn": "arn:aws:s3:::bucket"}', "other ARN"),
        ('{"arn": "%s"}' % j1.replace("us-east-1", "eu-west-1"), "other region"),
        (b'{"arn": "\xff\xfe"}', "not UTF-8"),
        ("x" * (70 * 1024), "oversize"),
        ("", "empty"),
    ]
    for body, what in bad_posts:
        st, obj = api.json("POST", "/v1/jobs", body)
        jw.check(st == 400 and isinstance(obj, dict) and isinstance(obj.get("error"), str),
                 "%s: got %s %s" % (what, st, obj))
    for method, path, want in [("GET", "/v1/jobs?status=RUNNING", 400), ("GET", "/v1/jobs/not-an-arn", 400),
                               ("GET", "/v1/jobs/" + enc(fake.arn("nope")), 404),
                               ("DELETE", "/v1/jobs/" + enc(fake.arn("nope")), 404),
                               ("PUT", "/v1/jobs", 405), ("PATCH", "/v1/jobs/" + enc(j1), 405),
                               ("GET", "/v2/jobs", 404), ("GET", "/", 404)]:
        st, obj = api.json(method, path, "{}" if method in ("PUT", "PATCH") else None)
        jw.check(st == want and isinstance(obj.get("error"), str), "%s %s: %s %s" % (method, path, st, obj))
    jw.check(d.alive(), "daemon alive after bad requests")
    jw.check_eq(sorted(j["arn"] for j in api.jobs()), sorted([j1, j2]), "bad requests added nothing")

    # ---- unwatch: state kept, no more polls -----------------------------------------------------------
    st, _, body = api.request("DELETE", "/v1/jobs/" + enc(j2))
    jw.check_eq((st, body), (204, b""), "DELETE")
    jw.check_eq(api.job(j2)["watched"], False, "unwatched job still listed")
    time.sleep(1.5)  # a poll already in flight may still land
    mark = len(fake.requests())
    jw.wait_until(lambda: len(gets_for(fake, j1, mark)) >= 3, 20, "three more polls of j1")
    jw.check(not gets_for(fake, j2, mark), "an unwatched job is not polled")

    # ---- persistence: watch j3, restart, j3 still watched and polled; j2 still unwatched ---------------
    api.json("POST", "/v1/jobs", {"arn": j3}, want=201)
    jw.wait_until(lambda: (api.job(j3) or {}).get("status") == "CREATE_FAILED", 20, "j3 polled")
    d.stop()
    mark = len(fake.requests())
    d = t.start_daemon(cfg, env=jw.aws_env(), name="restarted")
    fc.wait_for_socket(d, sock)
    js = {j["arn"]: j for j in api.jobs()}
    jw.check(js[j3]["watched"] and js[j3]["source"] == "api", "runtime-added job persisted: %s" % js.get(j3))
    jw.check_eq(js[j3]["statusCode"], "X", "statusCode persisted")
    jw.check(not js[j2]["watched"], "unwatch persisted")
    jw.wait_until(lambda: gets_for(fake, j3, mark), 20, "j3 polled after the restart")

    # ---- CLI ----------------------------------------------------------------------------------------
    r = cli(t, "status", "--socket", sock)
    jw.check(r.returncode == 0, "status: rc %s, stderr %s" % (r.returncode, r.stderr))
    lines = r.stdout.splitlines()
    jw.check(lines and lines[0].split()[:2] == ["NAME", "STATUS"], "status header: %r" % r.stdout)
    jw.check(any(l.split()[:2] == ["j1", "CREATE_IN_PROGRESS"] for l in lines), "j1 row: %r" % r.stdout)
    jw.check(any(l.split()[:2] == ["j3", "CREATE_FAILED"] for l in lines), "j3 row: %r" % r.stdout)
    jw.check(not any(l.startswith("j2 ") for l in lines), "unwatched j2 not shown: %r" % r.stdout)
    r = cli(t, "watch", "--socket", sock, j2)
    jw.check(r.returncode == 0 and "watching" in r.stdout, "watch: %s %s" % (r.stdout, r.stderr))
    jw.check(api.job(j2)["watched"], "watched through the CLI")
    # watch checks the job with the daemon's first poll (issue 23): its status, or exit 1 for a job the
    # service does not know; --no-check returns at once.
    r = cli(t, "unwatch", "--socket", sock, j2)
    r = cli(t, "watch", "--socket", sock, j2)
    jw.check(r.returncode == 0 and re.search(r"watching \S+/j2: [A-Z_]+ \(j2\)", r.stdout),
             "watch prints what the first poll found: %s %s" % (r.stdout, r.stderr))
    typo = fake.arn("j2-typo")
    r = cli(t, "watch", "--socket", sock, typo)
    jw.check(r.returncode == 1 and "does not know this job (ResourceNotFoundException)" in r.stderr,
             "watch of a job the service does not know: rc %s %s %s" % (r.returncode, r.stdout, r.stderr))
    jw.check(api.job(typo)["watched"], "the unknown job stays watched")
    r = cli(t, "forget", "--socket", sock, typo)
    jw.check(r.returncode == 0, "forget the unknown job: %s" % r.stderr)
    typo2 = fake.arn("j2-typo2")
    r = cli(t, "watch", "--no-check", "--socket", sock, typo2)
    jw.check(r.returncode == 0 and r.stdout.strip() == "watching " + typo2,
             "watch --no-check: rc %s %s %s" % (r.returncode, r.stdout, r.stderr))
    r = cli(t, "forget", "--socket", sock, typo2)
    jw.check(r.returncode == 0, "forget: %s" % r.stderr)
    r = cli(t, "unwatch", "--socket", sock, j2)
    jw.check(r.returncode == 0, "unwatch: %s" % r.stderr)
    jw.check(not api.job(j2)["watched"], "unwatched through the CLI")
    r = cli(t, "watch", "--socket", sock, "arn:aws:s3:::bucket")
    jw.check_eq(r.returncode, 1, "watch of a bad ARN")
    r = cli(t, "status", "--socket", t.path("nothing-here.sock"))
    jw.check(r.returncode == 1 and "cannot reach the daemon" in r.stderr, "unreachable: %s" % r.stderr)
    # j1 is in the configuration: unwatched now, but it comes back at the next reload, and the API's answer
    # (200 with a note, where an API-added job gets 204) makes the CLI say so.
    r = cli(t, "unwatch", "--socket", sock, j1)
    jw.check(r.returncode == 0 and "watched again at the next reload" in r.stdout,
             "unwatch of a configured job says it returns: %s %s" % (r.stdout, r.stderr))
    d.stop()
    jw.check(not os.path.exists(sock), "socket removed at exit")

    # ---- TCP needs the bearer token -------------------------------------------------------------------
    token_file = t.write("http.token", TOKEN + "\n", mode=0o600)
    port = jw.free_port()
    d = t.start_daemon(config(fake, t.path("tcp.db"), "127.0.0.1:%d" % port, [j1], token_file),
                       env=jw.aws_env(), name="tcp")
    jw.wait_until(lambda: fc.Api(port=port, token=TOKEN).request("GET", "/healthz")[0] in (200, 503), 20,
                  "TCP listener")
    for tok in (None, "wrong", TOKEN + "x", TOKEN[:-1]):
        for method, path in (("GET", "/v1/jobs"), ("GET", "/metrics"), ("GET", "/healthz")):
            st, _, body = fc.Api(port=port).request(method, path, token=tok)
            jw.check_eq(st, 401, "%s %s with token %r" % (method, path, tok and tok[:3]))
    st, _, _ = fc.Api(port=port).request("POST", "/v1/jobs", {"arn": j2}, token="wrong")
    jw.check_eq(st, 401, "POST without the token")
    tapi = fc.Api(port=port, token=TOKEN)
    jw.check_eq([j["arn"] for j in tapi.jobs()], [j1], "no job added without the token")
    tapi.json("POST", "/v1/jobs", {"arn": j2}, want=201)
    r = cli(t, "status", "--url", "http://127.0.0.1:%d" % port, "--token-file", token_file)
    jw.check(r.returncode == 0 and "j2" in r.stdout, "status over TCP: %s %s" % (r.stdout, r.stderr))
    r = cli(t, "status", "--url", "http://127.0.0.1:%d" % port)
    jw.check(r.returncode == 1, "status over TCP without the token: rc %s" % r.returncode)
    d.stop()
    for p in t._daemons:
        jw.check(TOKEN not in p.stderr_text() and jw.SECRET not in p.stderr_text(), "secret in %s log" % p.name)


jw.main(test)
