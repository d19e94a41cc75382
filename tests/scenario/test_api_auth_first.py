#!/usr/bin/python3
"""The bearer token is checked before any body is read (issue #20, item 3): a chunked POST without
credentials gets its 401 while its body is still being sent, and the connection is closed instead of the
server reading on.  With the token, the same request is read and answered as before."""

import os
import socket
import sys

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import fleetlib as fc  # noqa: E402

TOKEN = "jwAuthFirstToken-51c0d3-DoNotLog"
CHUNK = b"x" * 65536


def chunked_post(port, token):
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    head = "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
    if token:
        head += "Authorization: Bearer %s\r\n" % token
    s.sendall((head + "\r\n").encode())
    return s


def read_head(s):
    data = b""
    while b"\r\n\r\n" not in data:
        b = s.recv(4096)
        if not b:
            break
        data += b
    return data


def test(t):
    d, fake, port, api = fc.start_tcp_daemon(t, TOKEN)

    # Without a token: the answer comes before a byte of the body was sent.
    for tok in (None, "wrong"):
        s = chunked_post(port, tok)
        try:
            head = read_head(s)
        except socket.timeout:
            jw.fail("no answer to a chunked POST with token %r before its body: the server waits for it" % tok)
        jw.check(head.startswith(b"HTTP/1.1 401"), "401 first: %r" % head[:200])
        jw.check(b"connection: close" in head.lower(), "the 401 closes the connection: %r" % head[:400])
        # The server reads no further: sending on ends in EOF / a reset within a bounded amount, not 10 GB.
        sent, closed = 0, False
        try:
            s.settimeout(3)
            while sent < 64 * 1024 * 1024:
                s.sendall(b"10000\r\n" + CHUNK + b"\r\n")
                sent += len(CHUNK)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            closed = True
        s.close()
        jw.check(closed, "the server kept reading an unauthenticated body (%d bytes accepted)" % sent)

    # With the token the body is read and answered.
    s = chunked_post(port, TOKEN)
    body = b'{"arn": "%s"}' % fake.arn("j2").encode()
    s.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    head = read_head(s)
    s.close()
    jw.check(head.startswith(b"HTTP/1.1 201"), "authorised chunked POST: %r" % head[:200])
    jw.check(d.alive(), "daemon alive")
    d.stop()
    jw.check(TOKEN not in d.stderr_text(), "token in the log")


jw.main(test)
