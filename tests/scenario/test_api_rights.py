#!/usr/bin/python3
"""Separate rights on the TCP listener (issue #20, item 5): the read-only token (metrics_token_file) reads
/metrics and /healthz and nothing else -- it cannot list, add or drop jobs (403, before any body is read) --
while the control token does everything.  A TCP listener off loopback needs TLS: without cert_file and
key_file the configuration is refused (FILE:LINE) and the daemon does not start; with them it serves HTTPS
only.  `jobwatchd status --url http://...` refuses to send a token in clear to a host that is not loopback."""

import os
import ssl
import sys
import http.client

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import fleetlib as fc  # noqa: E402

CONTROL = "jwRightsControlToken-44e1-DoNotLog"
READER = "jwRightsReadToken-8c02-DoNotLog"


def config(t, fake, listen, **http):
    cfg = {
        "aws": {"region": jw.REGION, "endpoint": fake.url, "timeout": "5s"},
        "poll": {"interval": "1s"},
        "jobs": {"arn": [fake.arn("j1")]},
        "state": {"path": t.path("state-%s.db" % listen.replace(":", "_").replace("*", "any"))},
        "journal": {"enabled": False},
        "http": dict({"listen": listen, "token_file": t.write("control.token", CONTROL + "\n", mode=0o600)},
                     **http),
    }
    return cfg


def https_get(port, path, token, ca):
    ctx = ssl.create_default_context(cafile=ca)
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=5)
    try:
        conn.request("GET", path, headers={"Authorization": "Bearer " + token})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def test(t):
    fake = t.start_fake({"jobs": [{"id": "j1", "steps": [{"at": 0, "status": "ACTIVE"}]},
                                  {"id": "j2", "steps": [{"at": 0, "status": "ACTIVE"}]}]})
    reader_file = t.write("metrics.token", READER + "\n", mode=0o600)

    # ---- read-only token vs control token on loopback ----------------------------------------------------
    port = jw.free_port()
    d = t.start_daemon(config(t, fake, "127.0.0.1:%d" % port, metrics_token_file=reader_file), env=jw.aws_env())
    ctl = fc.Api(port=port, token=CONTROL)
    jw.wait_until(lambda: ctl.request("GET", "/healthz")[0] in (200, 503), 20, "TCP listener")
    reader = fc.Api(port=port, token=READER)
    jw.check(reader.metrics(), "the read-only token reads /metrics")
    jw.check(reader.request("GET", "/healthz")[0] in (200, 503), "the read-only token reads /healthz")
    for method, path, body in (("GET", "/v1/jobs", None), ("POST", "/v1/jobs", {"arn": fake.arn("j2")}),
                               ("DELETE", "/v1/jobs/" + fake.arn("j1"), None),
                               ("GET", "/v1/jobs/" + fake.arn("j1"), None), ("POST", "/metrics", "{}")):
        st, _, data = reader.request(method, path, body)
        jw.check(st == 403, "%s %s with the read-only token: %s %s" % (method, path, st, data[:200]))
    jw.check_eq([j["arn"] for j in ctl.jobs()], [fake.arn("j1")], "the read-only token changed nothing")
    ctl.json("POST", "/v1/jobs", {"arn": fake.arn("j2")}, want=201)
    st, _, _ = fc.Api(port=port, token="wrong").request("GET", "/metrics")
    jw.check_eq(st, 401, "a wrong token")
    d.stop()
    jw.check(READER not in d.stderr_text() and CONTROL not in d.stderr_text(), "a token in the log")

    # ---- off loopback: TLS or refused --------------------------------------------------------------------
    port = jw.free_port()
    cfg = config(t, fake, "0.0.0.0:%d" % port)
    conf = t.write("plain.conf", jw.ini_text(cfg))
    r = t.run([jw.daemon_path(), "--check-config", "-c", conf])
    jw.check(r.returncode == 1 and "plain.conf:" in r.stderr and "cert_file" in r.stderr,
             "--check-config of a plain non-loopback listener: %s %s" % (r.returncode, r.stderr))
    r = t.run([jw.daemon_path(), "run", "-c", conf, "--log-target", "stderr"], env=jw.aws_env(), timeout=20)
    jw.check(r.returncode != 0, "the daemon refused a plain non-loopback listener: rc %s" % r.returncode)

    ca = t.make_ca()
    cfg = config(t, fake, "0.0.0.0:%d" % port, cert_file=ca["server_cert"], key_file=ca["server_key"])
    d = t.start_daemon(cfg, env=jw.aws_env(), name="tls")
    jw.wait_until(lambda: https_get(port, "/healthz", CONTROL, ca["ca"])[0] in (200, 503), 20, "HTTPS listener")
    st, body = https_get(port, "/v1/jobs", CONTROL, ca["ca"])
    jw.check(st == 200 and fake.arn("j1").encode() in body, "GET /v1/jobs over TLS: %s" % st)
    try:
        st, _, _ = fc.Api(port=port, token=CONTROL, timeout=3).request("GET", "/healthz")
        jw.fail("plain HTTP answered %s on a TLS listener" % st)
    except (OSError, http.client.HTTPException):
        pass
    r = t.run([jw.daemon_path(), "status", "--url", "https://127.0.0.1:%d" % port, "--token-file",
               cfg["http"]["token_file"], "--ca-file", ca["ca"]])
    jw.check(r.returncode == 0 and "j1" in r.stdout, "status over https: %s %s" % (r.stdout, r.stderr))
    d.stop()

    # ---- the CLI keeps the token off plain http to other hosts -------------------------------------------
    r = t.run([jw.daemon_path(), "status", "--url", "http://192.0.2.1:9187",
               "--token-file", cfg["http"]["token_file"]], timeout=20)
    jw.check(r.returncode != 0 and "https" in r.stderr, "token in clear to another host: %s %s" % (
        r.returncode, r.stderr))


jw.main(test)
