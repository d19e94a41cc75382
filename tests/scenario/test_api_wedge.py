#!/usr/bin/python3
"""The listener never stops accepting because of what clients did (issue #20, item 1): fill the connection
limit with idle connections, let the server drop them, close ours, and the listener must answer again within
a couple of seconds -- it used to wedge for good because nothing ran libmicrohttpd once the last connection
was gone."""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import jwtest as jw  # noqa: E402
import test_fleet_common as fc  # noqa: E402

CONNECTION_LIMIT = 64  # API_MAX_CONNECTIONS in daemon/api/server.c


def test(t):
    fake = t.start_fake({"jobs": [{"id": "j1", "steps": [{"at": 0, "status": "ACTIVE"}]}]})
    sock = t.path("run", "jobwatchd.sock")
    os.makedirs(os.path.dirname(sock))
    cfg = {
        "aws": {"region": jw.REGION, "endpoint": fake.url, "timeout": "5s"},
        "poll": {"interval": "1s"},
        "jobs": {"arn": [fake.arn("j1")]},
        "state": {"path": t.path("state.db")},
        "journal": {"enabled": False},
        "http": {"listen": "unix:" + sock},
    }
    d = t.start_daemon(cfg, env=jw.aws_env())
    fc.wait_for_socket(d, sock)

    idle = []
    for _ in range(CONNECTION_LIMIT):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sock)
        idle.append(s)
    # The server drops idle connections on its own (the old idle timeout was 30 s, the header deadline is
    # shorter); wait until it has dropped every one.
    deadline = time.monotonic() + 50
    for s in idle:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            jw.check_eq(s.recv(1), b"", "the server closes an idle connection")
        except socket.timeout:
            jw.fail("an idle connection was still open after 50 s")
        except ConnectionResetError:
            pass
    for s in idle:
        s.close()

    # Behavioural bound: answered within a few seconds after the last connection is gone, not "eventually".
    st, _, body = fc.Api(sock=sock, timeout=3).request("GET", "/healthz")
    jw.check(st in (200, 503), "/healthz after the connection limit was reached: %s %s" % (st, body))
    jw.check(d.alive(), "daemon alive")
    r = t.run([jw.daemon_path(), "status", "--socket", sock], timeout=10)
    jw.check_eq(r.returncode, 0, "jobwatchd status after the flood: %s" % r.stderr)
    d.stop()


jw.main(test)
