#!/usr/bin/python3
"""tests/lib/jwtest.py itself: daemon start with config + NOTIFY_SOCKET capture, signals, stderr and sanitizer
report detection, wait_until messages, sqlite helpers, and jw.main's keep-on-failure / skip behaviour.
A small stand-in program plays the daemon so the harness is checked independently of jobwatchd."""

import os
import signal
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")),
                                "tests", "lib"))
import jwtest as jw  # noqa: E402

STANDIN = r'''#!/usr/bin/python3
import os, signal, socket, sys, time
print("argv", " ".join(sys.argv[1:]), flush=True)
print("config", open(sys.argv[3]).read().replace("\n", "|"), flush=True)
print("env", os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("JW_EXTRA"), flush=True)
addr = os.environ["NOTIFY_SOCKET"]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect("\0" + addr[1:] if addr.startswith("@") else addr)
s.send(b"READY=1\nSTATUS=polling 2 jobs")
def term(*a):
    s.send(b"STOPPING=1")
    if os.environ.get("JW_FAKE_REPORT"):
        sys.stderr.write("==1==ERROR: AddressSanitizer: heap-use-after-free\n")
    sys.exit(0)
def hup(*a):
    s.send(b"RELOADING=1")
    s.send(b"READY=1")
signal.signal(signal.SIGTERM, term)
signal.signal(signal.SIGHUP, hup)
sys.stderr.write("standin: started\n")
while True:
    s.send(b"WATCHDOG=1")
    time.sleep(0.1)
'''


def test(t):
    c = jw.Checks()
    standin = t.write("standin.py", STANDIN, mode=0o755)
    cfg = {"aws": {"region": "us-east-1", "dualstack": False}, "jobs": {"arn": [jw.job_arn("a"), jw.job_arn("b")]},
           'webhook "ops"': {"url": "http://127.0.0.1:1/x"}}
    text = jw.ini_text(cfg)
    c.ok("[jobs]\narn = %s\narn = %s" % (jw.job_arn("a"), jw.job_arn("b")) in text, "list -> repeated keys")
    c.ok("dualstack = no" in text and '[webhook "ops"]' in text, "bools and quoted sections")
    os.environ["AWS_ACCESS_KEY_ID"] = "LEAKED-FROM-TEST-ENV"
    d = t.start_daemon(cfg, env={"JW_EXTRA": "x1"}, binary=standin, watchdog_usec=200000)
    jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1")
    c.ok("STATUS=polling 2 jobs" in d.notify_assignments(), "STATUS captured")
    jw.wait_until(lambda: d.notify_assignments().count("WATCHDOG=1") >= 3, 15, "WATCHDOG=1 x3")
    d.reload()
    jw.wait_until(lambda: "RELOADING=1" in d.notify_assignments(), 15, "RELOADING after SIGHUP")
    c.eq(d.env.get("WATCHDOG_USEC"), "200000", "WATCHDOG_USEC passed")
    jw.wait_until(lambda: "standin: started" in d.stderr_text(), 15, "stderr captured")
    c.eq(d.stop(), 0, "stop -> rc 0")
    c.ok("STOPPING=1" in d.notify_assignments(), "STOPPING captured")
    out = d.stdout_text()
    c.ok("argv run -c %s" % d.config_path in out, "run -c CONFIG argv: %s" % out.splitlines()[:1])
    c.ok("env None x1" in out, "test env AWS_* removed, extra env applied")
    c.ok("region = us-east-1" in out, "config written")

    d2 = t.start_daemon("[aws]\nregion = x\n", env={"JW_FAKE_REPORT": "1"}, binary=standin, name="reporting")
    jw.wait_until(lambda: d2.notify_has("READY=1"), 15, "second daemon READY")
    try:
        d2.stop()
        c.ok(False, "sanitizer report must fail stop()")
    except jw.TestFailure as e:
        c.ok("AddressSanitizer" in str(e), "sanitizer report detected")
    d3 = t.start_daemon("", binary=standin, name="killed")
    jw.wait_until(lambda: d3.notify_has("READY=1"), 15, "third daemon READY")
    d3.kill(signal.SIGKILL)
    c.eq(d3.wait(), -signal.SIGKILL, "SIGKILL exit status")

    try:
        jw.wait_until(lambda: False, 0.2, "the impossible")
        c.ok(False, "wait_until must raise")
    except jw.TestFailure as e:
        c.ok("the impossible" in str(e) and "timed out" in str(e), "wait_until message: %s" % e)

    db = t.path("s.db")
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE jobs(arn TEXT PRIMARY KEY, status TEXT)")
    con.execute("INSERT INTO jobs VALUES (?, ?)", (jw.job_arn("a"), "ACTIVE"))
    con.execute("PRAGMA user_version=3")
    con.commit()
    c.eq(jw.sqlite_rows(db, "SELECT * FROM jobs"), [{"arn": jw.job_arn("a"), "status": "ACTIVE"}], "sqlite_rows")
    c.eq(jw.sqlite_tables(db), ["jobs"], "sqlite_tables")
    c.eq(jw.sqlite_integrity(db), ["ok"], "integrity_check")
    c.eq(jw.sqlite_user_version(db), 3, "user_version")
    con.close()

    # jw.main: a failing test keeps its dir and says where; a skipping one exits 77
    for body, want_rc in (("jw.check(False, 'planted failure')", 1), ("jw.skip('no thing')", 77),
                          ("pass", 0)):
        prog = t.write("child_%d.py" % want_rc, "import sys; sys.path.insert(0, %r)\nimport jwtest as jw\n"
                       "def f(t):\n    open(t.path('marker'), 'w').write('x')\n    %s\njw.main(f)\n"
                       % (os.path.dirname(jw.__file__), body))
        r = subprocess.run([jw.PYTHON, prog], capture_output=True, text=True, timeout=60)
        c.eq(r.returncode, want_rc, "child rc for %s" % body)
        kept = [ln.split("test dir kept: ")[1].rstrip(")") for ln in r.stdout.splitlines() if "test dir kept" in ln]
        if want_rc == 1:
            c.ok(kept and os.path.exists(os.path.join(kept[0], "marker")) and "planted failure" in r.stderr,
                 "failure keeps the dir and prints it")
            if kept:
                subprocess.run(["rm", "-rf", kept[0]])
        else:
            c.ok(not kept, "no kept dir when rc %d" % want_rc)
    c.done()


if __name__ == "__main__":
    jw.main(test)
