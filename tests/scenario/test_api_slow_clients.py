#!/usr/bin/python3
"""Slow clients do not starve the listener (issue #20, item 2): 70 connections from one address (127.0.0.2)
that trickle a header line every second -- more than the whole connection limit -- while the token holder
connects from 127.0.0.1.  The holder is served throughout (one address gets at most its share of the
connections), and the tricklers are cut at the request-head deadline although they keep sending (an
inactivity timeout would keep them for ever)."""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import fleetlib as fc  # noqa: E402

TOKEN = "jwSlowClientsToken-90ab1e-DoNotLog"
SLOW_CLIENTS = 70  # more than API_MAX_CONNECTIONS (64)
HEAD_DEADLINE = 5  # API_HEADER_DEADLINE_MS / 1000


class Trickler:
    def __init__(self, port):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.bind(("127.0.0.2", 0))
        self.s.settimeout(2)
        self.s.connect(("127.0.0.1", port))
        self.s.setblocking(False)
        self.open = True
        self.opened = time.monotonic()
        self.closed_after = None
        self.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")

    def send(self, data):
        if not self.open:
            return
        try:
            self.s.send(data)
            if self.s.recv(1) == b"":
                self.close()
        except BlockingIOError:
            pass
        except OSError:
            self.close()

    def close(self):
        if self.open:
            self.open = False
            self.closed_after = time.monotonic() - self.opened
            self.s.close()


def test(t):
    d, fake, port, api = fc.start_tcp_daemon(t, TOKEN, api_timeout=3)

    slow = [Trickler(port) for _ in range(SLOW_CLIENTS)]
    served = 0
    # Two deadlines and some slack: a trickler the server only accepts once an earlier one was cut (the
    # accept queue is drained as slots free) has a deadline of its own.
    watch_s = 2 * HEAD_DEADLINE + 4
    end = time.monotonic() + watch_s
    i = 0
    while time.monotonic() < end:
        for c in slow:
            c.send(b"X-Slow-%d: a\r\n" % i)
        i += 1
        time.sleep(0.2)
        alive = sum(c.open for c in slow)
        jw.check(alive <= SLOW_CLIENTS, "bookkeeping")
        try:
            st, _, _ = api.request("GET", "/healthz")
        except OSError as e:
            jw.fail("the token holder was not served while %d slow connections were open: %s" % (alive, e))
        jw.check(st in (200, 503), "/healthz for the token holder: %s" % st)
        served += 1
        time.sleep(0.8)
    still_open = [c for c in slow if c.open]
    jw.check(not still_open, "%d slow connections still open %d s after connecting, although a request head "
             "is due within %d s" % (len(still_open), watch_s, HEAD_DEADLINE))
    jw.check(served >= 5, "served %d times" % served)
    for c in slow:
        c.close()
    jw.check(d.alive(), "daemon alive")
    d.stop()


jw.main(test)
