#!/usr/bin/python3
"""Fault matrix, network: DNS failure (unresolvable endpoint), TLS with a wrong CA, TLS with a certificate
for the wrong host name.  A fleet of jobs moves through real lifecycles in the fake; the daemon is blind
for a few seconds in each fault (restarted between them on the same state database, since [aws] endpoint
and ca_file changes need a restart), then the last fault clears without a restart.  Each time: the daemon
keeps running, logs the fault, records no event while blind (so no false event), and at the end every
job is at its true state with no missed event (check_fleet: exact where every step was seen).

TLS goes through an in-test TLS terminator in front of the plain-HTTP fake, so the certificate can be
swapped (wrong host -> right host) while the jobs keep moving."""

import os
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402


class TlsProxy:
    """TLS on 127.0.0.1:port -> plain TCP to the fake.  set_cert() changes the certificate for new
    handshakes.  Counts failed handshakes."""

    def __init__(self, backend_port, cert, key):
        self.backend = backend_port
        self.ctx = None
        self.handshake_failures = 0
        self.set_cert(cert, key)
        self.sock, self.port = jw.serve_tcp(self._serve)

    def set_cert(self, cert, key):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.ctx = ctx

    def _serve(self, c):
        try:
            c.settimeout(10)
            tc = self.ctx.wrap_socket(c, server_side=True)
        except (ssl.SSLError, OSError):
            self.handshake_failures += 1
            c.close()
            return
        try:
            b = socket.create_connection(("127.0.0.1", self.backend))
        except OSError:
            tc.close()
            return
        tc.settimeout(None)
        jw.splice(tc, b)

    def stop(self):
        self.sock.close()


def events(db):
    try:
        return lc.stored_events(db)
    except Exception:
        return []


def blind_phase(t, c, what, cfg, db, seconds, log_words):
    """Runs a daemon that cannot reach the API for `seconds`: no new event, the fault is logged."""
    n_before = len(events(db))
    d = t.start_daemon(cfg, env=jw.aws_env(), name="d-" + what)
    jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1 (%s)" % what)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not d.alive():
            jw.fail("daemon died during %s:\n%s" % (what, d.stderr_text()[-2000:]))
        time.sleep(0.25)
    d.stop()
    err = d.stderr_text()
    c.ok("poll of" in err, "%s: poll failures logged" % what)
    low = err.lower()
    c.ok(any(w.lower() in low for w in log_words), "%s: log names the cause (%s): %s" %
         (what, log_words, [l for l in err.splitlines() if "poll of" in l][:1]))
    c.eq(len(events(db)), n_before, "%s: no event while blind" % what)
    return d


def test(t):
    step = 6.0
    scenario, kinds = lc.build(15, step_seconds=step, prefix="net")
    fake = t.start_fake(scenario)
    ca = t.make_ca()
    proxy = TlsProxy(fake.port, ca["server_cert"], ca["server_key"])
    try:
        db = t.path("state.db")
        arns = [fake.arn(j) for j in kinds]
        good = "https://127.0.0.1:%d" % proxy.port
        c = jw.Checks()

        # 1. The first polls succeed (the daemon knows the jobs), then DNS fails.
        cfg = lc.daemon_config(fake, db, arns)
        cfg["aws"].update({"endpoint": good, "ca_file": ca["ca"], "timeout": "1s"})
        d0 = t.start_daemon(cfg, env=jw.aws_env(), name="d-first")
        jw.wait_until(lambda: len(events(db)) >= 12, 15, "first sight of the jobs (not the late ones)")
        d0.stop()
        cfg_dns = lc.daemon_config(fake, db, arns)
        cfg_dns["aws"].update({"endpoint": "https://nonexistent.invalid:%d" % proxy.port, "ca_file": ca["ca"],
                               "timeout": "1s"})
        blind_phase(t, c, "dns", cfg_dns, db, 3.0, ["resolve", "dns", "name", "nonexistent.invalid"])

        # 2. TLS against a CA that did not sign the server certificate.
        cfg_ca = lc.daemon_config(fake, db, arns)
        cfg_ca["aws"].update({"endpoint": good, "ca_file": ca["other_ca"], "timeout": "1s"})
        hf = proxy.handshake_failures
        blind_phase(t, c, "wrong-ca", cfg_ca, db, 3.0, ["certificate", "tls", "ssl", "verify"])
        c.ok(proxy.handshake_failures > hf, "wrong-ca: TLS handshakes refused by the daemon")

        # 2b. The same wrong CA, fixed by a reload instead of a restart: [aws] ca_file applies to the next
        #     requests.
        d = t.start_daemon(cfg_ca, env=jw.aws_env(), name="d-ca-reload")
        jw.wait_until(lambda: d.stderr_text().count("poll of") >= 2, 15, "polls refused with the wrong CA")
        n_gets = len(fake.requests("get"))
        d.reload(cfg)
        jw.wait_until(lambda: ("[aws] ca_file %s" % ca["ca"]) in d.stderr_text(), 10, "ca_file applied")
        jw.wait_until(lambda: len(fake.requests("get")) > n_gets + 5, 15, "Gets through with the right CA")
        c.ok("on restart" not in d.stderr_text(), "ca-reload: no restart needed")
        d.stop()

        # 3. The right CA, but the server presents a certificate for wrong-host.invalid; then the server is
        #    fixed while the daemon keeps running.
        proxy.set_cert(ca["wronghost_cert"], ca["wronghost_key"])
        d = t.start_daemon(cfg, env=jw.aws_env(), name="d-wronghost")
        jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1 (wronghost)")
        n_before = len(events(db))
        # (the server side sees a completed handshake: the client checks the name afterwards)
        # Five refused in a row open the breaker: one warning instead of a line per poll from then on.
        jw.wait_until(lambda: "AWS API unavailable: 5 polls in a row failed" in d.stderr_text(), 15,
                      "polls refused for the wrong host")
        time.sleep(1.5)
        c.eq(len(events(db)), n_before, "wronghost: no event while blind")
        err = d.stderr_text().lower()
        c.ok(any(w in err for w in ("certificate", "host", "tls", "ssl")), "wronghost: log names the cause")
        proxy.set_cert(ca["server_cert"], ca["server_key"])
        lc.wait_truth(db, fake, kinds, 60, scenario)
        time.sleep(0.8)
        c.ok(d.alive(), "daemon alive after the TLS fault cleared")
        d.stop()
        exact, partial = lc.check_fleet(db, fake, scenario, kinds, c=c)
        print("network faults: exact %d, visible-only %d" % (exact, partial))
        c.ok(jw.sqlite_integrity(db) == ["ok"], "integrity_check")
        c.done()
    finally:
        proxy.stop()


if __name__ == "__main__":
    jw.main(test)
