#!/usr/bin/python3
"""An HTTPS proxy between the daemon and the API, as in a locked-down network: with HTTPS_PROXY set, every
API request goes through a CONNECT tunnel (a real forwarding proxy on a socket, TLS end to end with the
test CA, SigV4 verified by the fake), and the job is polled and recorded as without it.  NO_PROXY naming the
endpoint's host bypasses the proxy.  Credentials from the container endpoint (plain HTTP, link-local or
loopback in production) never go through the proxy, even with HTTP_PROXY/http_proxy set."""

import os
import socket
import sys
import threading

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "fake"))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402
from creds_server import FakeCredsServer  # noqa: E402


class ConnectProxy:
    """A forwarding proxy that only speaks CONNECT (what libcurl uses for https:// URLs).  Records every
    request line; anything other than CONNECT gets 405 and is recorded too."""

    def __init__(self):
        self.lines = []
        self.lock = threading.Lock()
        self.sock, self.port = jw.serve_tcp(self._serve)

    def seen(self):
        with self.lock:
            return list(self.lines)

    def _serve(self, c):
        c.settimeout(10)
        head = b""
        try:
            while b"\r\n\r\n" not in head and len(head) < 16384:
                chunk = c.recv(4096)
                if not chunk:
                    c.close()
                    return
                head += chunk
        except OSError:
            c.close()
            return
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        with self.lock:
            self.lines.append(line)
        parts = line.split()
        if len(parts) != 3 or parts[0] != "CONNECT":
            c.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            c.close()
            return
        host, _, port = parts[1].rpartition(":")
        try:
            b = socket.create_connection((host, int(port)), timeout=10)
        except (OSError, ValueError):
            c.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            c.close()
            return
        c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        rest = head.split(b"\r\n\r\n", 1)[1]
        if rest:
            b.sendall(rest)
        c.settimeout(None)
        b.settimeout(None)
        jw.splice(b, c)

    def stop(self):
        self.sock.close()


def polled(fake, arn):
    return [r for r in fake.requests("get") if r.get("arn") == arn and r.get("sigv4") == "ok"]


def test(t):
    fake = t.start_fake({"jobs": [{"id": "a", "steps": [{"at": 0, "status": "ACTIVE"}]}]}, tls=True,
                        verify_sigv4=True)
    a = fake.arn("a")
    proxy = ConnectProxy()
    try:
        # Through the proxy.
        db = t.path("state.db")
        cfg = lc.daemon_config(fake, db, [a], extra={"aws": {"ca_file": fake.ca}})
        env = dict(jw.aws_env(), HTTPS_PROXY="http://127.0.0.1:%d" % proxy.port, NO_PROXY="", no_proxy="")
        d = t.start_daemon(cfg, env=env)
        jw.wait_until(lambda: jw.sqlite_rows(db, "SELECT status FROM jobs WHERE status = 'ACTIVE'"), 20,
                      "a recorded through the proxy")
        n = len(polled(fake, a))
        jw.wait_until(lambda: len(polled(fake, a)) > n + 3, 10, "polling through the proxy")
        d.stop()
        tunnels = proxy.seen()
        jw.check(tunnels and all(line == "CONNECT 127.0.0.1:%d HTTP/1.1" % fake.port for line in tunnels),
                 "the proxy saw CONNECT to the endpoint only: %s" % tunnels[:5])
        jw.check(len(tunnels) <= 16, "one tunnel per connection, reused: %d tunnels" % len(tunnels))

        # NO_PROXY names the host: straight to the endpoint.
        before = len(proxy.seen())
        db2 = t.path("state2.db")
        d = t.start_daemon(lc.daemon_config(fake, db2, [a], extra={"aws": {"ca_file": fake.ca}}),
                           env=dict(env, NO_PROXY="127.0.0.1"))
        jw.wait_until(lambda: jw.sqlite_rows(db2, "SELECT status FROM jobs WHERE status = 'ACTIVE'"), 20,
                      "a recorded without the proxy")
        d.stop()
        jw.check_eq(proxy.seen()[before:], [], "requests through the proxy despite NO_PROXY")

        # Container credentials bypass any proxy: the proxy would answer their plain-HTTP GET with 405.
        with FakeCredsServer() as creds:
            creds.config(fixed={"AccessKeyId": "ASIACONTAINER0001", "SecretAccessKey": jw.SECRET, "Token": "tok-c"})
            fake.add_credentials("ASIACONTAINER0001", jw.SECRET, token="tok-c")
            before = len(proxy.seen())
            db3 = t.path("state3.db")
            penv = {"AWS_REGION": jw.REGION, "AWS_CONTAINER_CREDENTIALS_FULL_URI": creds.url + "/container/x",
                    "HTTPS_PROXY": "http://127.0.0.1:%d" % proxy.port,
                    "HTTP_PROXY": "http://127.0.0.1:%d" % proxy.port,
                    "http_proxy": "http://127.0.0.1:%d" % proxy.port, "NO_PROXY": "", "no_proxy": ""}
            d = t.start_daemon(lc.daemon_config(fake, db3, [a], extra={"aws": {"ca_file": fake.ca}}), env=penv)
            jw.wait_until(lambda: jw.sqlite_rows(db3, "SELECT status FROM jobs WHERE status = 'ACTIVE'"), 20,
                          "a recorded with container credentials behind the proxy")
            d.stop()
            jw.check("credentials: using container" in d.stderr_text(), "credentials source: %s" %
                     d.stderr_text()[-1000:])
            jw.check(not [line for line in proxy.seen()[before:] if not line.startswith("CONNECT ")],
                     "a plain-HTTP request went to the proxy: %s" % proxy.seen()[before:])
    finally:
        proxy.stop()


jw.main(test)
