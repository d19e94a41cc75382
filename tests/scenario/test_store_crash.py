#!/usr/bin/env python3
"""SIGKILL the store writer at random points and check that nothing it
reported as committed is lost, that no event id is stored twice, and that
the database passes PRAGMA integrity_check.

The writer (tests/helpers/store_crash.c) prints "C SEQ ID" for every event
only after store_flush() returned success.  Seeded (JW_CRASH_SEED), bounded
in time; JW_CRASH_ROUNDS sets the number of kills (default 30)."""
import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time


sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402


def run_until_killed(helper, db, rng, committed):
    """Starts the writer, lets it run for a random while, SIGKILLs it and
    records every committed line it printed."""
    proc = subprocess.Popen([helper, db], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + rng.uniform(0.02, 0.6)
    buf = b""
    # Read while it runs so the pipe never fills and blocks the writer.
    while time.monotonic() < deadline and proc.poll() is None:
        r, _, _ = select.select([proc.stdout], [], [], 0.01)
        if r:
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    buf += out
    if proc.returncode not in (-signal.SIGKILL,):
        jw.fail("writer exited with %r before the kill: %s" % (proc.returncode, err.decode(errors="replace")))
    # A line cut by the kill was not complete; only whole lines count.
    lines = buf.split(b"\n")
    for line in lines[:-1]:
        parts = line.decode().split()
        if len(parts) != 3 or parts[0] != "C":
            jw.fail("unexpected output line %r" % line)
        seq, eid = int(parts[1]), parts[2]
        if eid in committed and committed[eid] != seq:
            jw.fail("event %s reported with seq %d and %d" % (eid, committed[eid], seq))
        committed[eid] = seq
    return len(lines) - 1


def check_db(db, committed):
    con = sqlite3.connect(db)
    try:
        ok = con.execute("PRAGMA integrity_check").fetchone()[0]
        if ok != "ok":
            jw.fail("integrity_check: %s" % ok)
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "events" not in tables:
            # Killed before the schema was created (slow start under a
            # sanitizer): legal only while nothing was reported committed.
            if committed:
                jw.fail("no events table, but %d events were reported committed" % len(committed))
            return 0
        rows = dict(con.execute("SELECT id, seq FROM events").fetchall())
        total, distinct = con.execute("SELECT COUNT(*), COUNT(DISTINCT id) FROM events").fetchone()
        if total != distinct:
            jw.fail("duplicate event ids: %d rows, %d ids" % (total, distinct))
        for eid, seq in committed.items():
            if eid not in rows:
                jw.fail("committed event %s (seq %d) is missing" % (eid, seq))
            if rows[eid] != seq:
                jw.fail("event %s has seq %d, the writer was told %d" % (eid, rows[eid], seq))
        # Every event has its deliveries (same transaction).
        orphans = con.execute(
            "SELECT COUNT(*) FROM events e WHERE (SELECT COUNT(*) FROM deliveries d WHERE d.seq = e.seq) != 2"
        ).fetchone()[0]
        if orphans:
            jw.fail("%d events without both deliveries" % orphans)
        fk = con.execute("PRAGMA foreign_key_check").fetchall()
        if fk:
            jw.fail("foreign key violations: %r" % fk[:5])
        return total
    finally:
        con.close()


def test(t):
    build = os.environ.get("JW_BUILD_DIR")
    if not build:
        jw.skip("JW_BUILD_DIR not set")
    helper = os.path.join(build, "helpers", "store_crash")
    if not os.access(helper, os.X_OK):
        jw.skip("helper %s not built" % helper)
    seed = int(os.environ.get("JW_CRASH_SEED", "20261129"))
    rounds = int(os.environ.get("JW_CRASH_ROUNDS", "30"))
    rng = random.Random(seed)
    committed = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="jw-crash-") as tmp:
        db = os.path.join(tmp, "state.db")
        for i in range(rounds):
            run_until_killed(helper, db, rng, committed)
            check_db(db, committed)
            if time.monotonic() - started > 300:
                print("time bound reached after %d rounds" % (i + 1))
                break
        total = check_db(db, committed)
        jw.check(committed, "the writer never committed anything")
        # A last clean run proves the file is still usable by the store.
        out = subprocess.run([helper, db, "2"], capture_output=True, timeout=60)
        jw.check(out.returncode == 0,
                 "clean run after the crashes failed: %s" % out.stderr.decode(errors="replace"))
    print("seed %d: %d kills, %d committed events checked, %d stored" % (seed, rounds, len(committed), total))


if __name__ == "__main__":
    jw.main(test)
