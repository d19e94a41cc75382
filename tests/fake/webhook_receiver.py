#!/usr/bin/python3
"""Webhook receiver for jobwatchd tests.

Records every POST as a JSON line {time, path, headers, body, verified, ...}, verifies Standard Webhooks
signatures when given a secret, and answers from a script of per-request responses (then 200).
Control API (never recorded): POST /_recv/script (JSON list, replaces the remaining script),
GET /_recv/log (JSON list of every record so far), DELETE /_recv/log (forget records).

Python 3 standard library only.
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import http.server
import json
import os
import signal
import socket
import ssl
import struct
import sys
import threading
import time

TOLERANCE = 5 * 60

# Standard Webhooks test vector (standard-webhooks libraries/python/tests/test_webhooks.py test_sign_function)
VECTOR = {
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "timestamp": "1614265330",
    "body": b'{"test": 2432232314}',
    "signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
}


def secret_key(secret):
    """'whsec_<base64>' -> HMAC key bytes (the base64-decoded part after the prefix)."""
    s = secret.strip()
    if s.startswith("whsec_"):
        s = s[len("whsec_"):]
    return base64.b64decode(s)


def sign(secret, msg_id, timestamp, body):
    """-> 'v1,<base64 HMAC-SHA256 over "{id}.{timestamp}.{body}">'"""
    mac = hmac.new(secret_key(secret), msg_id.encode() + b"." + str(timestamp).encode() + b"." + body,
                   hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def verify(secret, headers, body, now=None):
    """headers: mapping with lower-case keys.  Returns (ok, reason)."""
    now = time.time() if now is None else now
    msg_id = headers.get("webhook-id")
    ts = headers.get("webhook-timestamp")
    sigs = headers.get("webhook-signature")
    if not msg_id or not ts or not sigs:
        return False, "missing webhook-id, webhook-timestamp or webhook-signature"
    try:
        t = int(ts)
    except ValueError:
        return False, "webhook-timestamp is not an integer"
    if abs(now - t) > TOLERANCE:
        return False, "webhook-timestamp outside the 5 minute tolerance"
    expected = sign(secret, msg_id, ts, body).split(",", 1)[1]
    for item in sigs.split(" "):
        ver, _, sig = item.partition(",")
        if ver == "v1" and hmac.compare_digest(sig.encode(), expected.encode()):
            return True, None
    return False, "no matching v1 signature"


def self_test():
    v = VECTOR
    got = sign(v["secret"], v["id"], v["timestamp"], v["body"])
    ok1 = got == v["signature"]
    h = {"webhook-id": v["id"], "webhook-timestamp": v["timestamp"],
         "webhook-signature": "v1,bm90LWl0 " + v["signature"]}
    ok2 = verify(v["secret"], h, v["body"], now=int(v["timestamp"]) + 10)[0]
    ok3 = not verify(v["secret"], h, v["body"] + b" ", now=int(v["timestamp"]))[0]
    ok4 = not verify(v["secret"], h, v["body"], now=int(v["timestamp"]) + 301)[0]
    print("sign vector: %s (%s)" % ("ok" if ok1 else "FAIL", got))
    print("verify vector in a list: %s; tampered body rejected: %s; stale timestamp rejected: %s" %
          (ok2, ok3, ok4))
    return 0 if ok1 and ok2 and ok3 and ok4 else 1


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeWebhookReceiver/1.0"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 300

    def log_message(self, fmt, *args):
        pass

    def body(self):
        n = self.headers.get("Content-Length")
        try:
            n = int(n) if n else 0
        except ValueError:
            n = 0
        return self.rfile.read(n) if 0 < n <= 64 << 20 else b""

    def reply(self, status, obj=None, headers=None, raw=None):
        body = raw if raw is not None else (json.dumps(obj).encode() if obj is not None else b"")
        self.send_response(status)
        ctype = "application/json" if raw is None else "text/plain"
        for k, v in (headers or {}).items():
            if k.lower() == "content-type":
                ctype = v
        self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            if k.lower() != "content-type":
                self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        srv = self.server
        if self.path.split("?")[0] == "/_recv/log":
            with srv.lock:
                recs = list(srv.records)
            return self.reply(200, recs)
        if self.path.split("?")[0] == "/_recv/script":
            with srv.lock:
                return self.reply(200, list(srv.script))
        self.reply(404, {"message": "not found"})

    def do_DELETE(self):
        srv = self.server
        self.body()
        if self.path == "/_recv/log":
            with srv.lock:
                srv.records = []
            return self.reply(200, {})
        self.reply(404, {"message": "not found"})

    def do_POST(self):
        srv = self.server
        body = self.body()
        if self.path.startswith("/_recv/"):
            if self.path == "/_recv/script":
                try:
                    script = json.loads(body.decode() or "[]")
                    if not isinstance(script, list):
                        raise ValueError("script must be a JSON list")
                except ValueError as e:
                    return self.reply(400, {"message": str(e)})
                with srv.lock:
                    srv.script = script
                return self.reply(200, {"count": len(script)})
            return self.reply(404, {"message": "not found"})
        lower = {k.lower(): v for k, v in self.headers.items()}
        verified, reason = None, None
        if srv.secret:
            verified, reason = verify(srv.secret, lower, body)
        with srv.lock:
            step = srv.script.pop(0) if srv.script else {}
            index = srv.count
            srv.count += 1
        status = int(step.get("status", 200))
        rec = {"time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds"),
               "index": index, "method": "POST", "path": self.path, "headers": dict(self.headers.items()),
               "body": body.decode("utf-8", errors="replace"), "verified": verified, "status": status}
        if reason:
            rec["verify_error"] = reason
        if step.get("reset"):
            rec["status"] = "reset"
        srv.record(rec)
        if step.get("delay"):
            time.sleep(float(step["delay"]))
        if step.get("reset"):
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            except OSError:
                pass
            self.close_connection = True
            return
        raw = step.get("body", "ok" if 200 <= status < 300 else "error %d" % status)
        try:
            self.reply(status, headers=step.get("headers"), raw=raw.encode())
        except OSError:
            self.close_connection = True

    do_PUT = do_POST


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, addr, log_path, secret, script, ssl_ctx):
        self.lock = threading.Lock()
        self.records = []
        self.count = 0
        self.secret = secret
        self.script = script
        self.ssl_ctx = ssl_ctx
        self.log_file = open(log_path, "a", buffering=1, encoding="utf-8") if log_path else None
        super().__init__(addr, Handler)

    def record(self, rec):
        with self.lock:
            self.records.append(rec)
            if self.log_file:
                self.log_file.write(json.dumps(rec, sort_keys=True) + "\n")

    def finish_request(self, request, client_address):
        if self.ssl_ctx is not None:
            request.settimeout(30)
            try:
                request = self.ssl_ctx.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError) as e:
                sys.stderr.write("webhook_receiver: TLS handshake failed: %s\n" % e)
                return
            request.settimeout(None)
        try:
            self.RequestHandlerClass(request, client_address, self)
        finally:
            try:
                request.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        pass


def main(argv=None):
    ap = argparse.ArgumentParser(description="Webhook receiver for tests")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--log")
    ap.add_argument("--secret")
    ap.add_argument("--secret-file")
    ap.add_argument("--script")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--self-test", action="store_true", help="check the verifier against the spec test vector")
    a = ap.parse_args(argv)
    if a.self_test:
        return self_test()
    secret = a.secret
    if a.secret_file:
        with open(a.secret_file, encoding="utf-8") as f:
            secret = f.read().strip()
    script = []
    if a.script:
        with open(a.script, encoding="utf-8") as f:
            script = json.load(f)
    ctx = None
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        ctx.set_alpn_protocols(["http/1.1"])
    srv = Server((a.bind, a.port), a.log, secret, script, ctx)

    def on_term(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % srv.server_address[1])
        os.replace(tmp, a.port_file)
    try:
        srv.serve_forever(poll_interval=0.2)
    except SystemExit:
        pass
    finally:
        srv.server_close()
        if srv.log_file:
            srv.log_file.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
