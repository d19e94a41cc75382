#!/usr/bin/python3
"""Retrying webhook deliveries now, and a restart in the middle of an outage (issue #22).

Run 1 (schedule compressed 1000x): hook "down" answers 503 to everything, hook "reject" answers 400 (its
deliveries are parked after 5 attempts).  The daemon stops while both receivers still fail.
Run 2 (schedule stretched 100x: the first retry is 100 s away, later ones hours):
  - the restart resumes the waiting deliveries at once, with the same webhook-ids as before the restart,
    and leaves the parked ones parked;
  - once they failed again they wait (nothing is sent for a while although the receiver is back);
  - `jobwatchd retry down` sends them now: every event arrives once, same id and body as before;
  - `jobwatchd retry nope` fails with a clear message;
  - SIGHUP sends the parked deliveries of "reject" now (its receiver accepts by then)."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import lifecycles as lc  # noqa: E402
import notifylib as nl  # noqa: E402

CLIENT_ERROR_ATTEMPTS = 5


def retry(t, sock, *hook):
    return t.run([jw.daemon_path(), "retry", "--socket", sock] + list(hook), timeout=60)


def not_due_soon(db, sink, within_ms):
    """Every pending delivery of sink was tried and waits longer than within_ms, or waits for an earlier
    event of its job (never tried)."""
    now = int(time.time() * 1000)
    rows = jw.sqlite_rows(db, "SELECT attempts, next_at_ms FROM deliveries WHERE sink = ? AND state = 'pending'",
                          (sink,))
    return rows and all(r["attempts"] == 0 or r["next_at_ms"] > now + within_ms for r in rows)


def test(t):
    c = jw.Checks()
    down = nl.Receiver(t, "down", script=[{"status": 503}] * 100000)
    reject = nl.Receiver(t, "reject", script=[{"status": 400, "body": "no thanks"}] * 100000)
    scenario, kinds = lc.build(5, step_seconds=1.0)
    fake = t.start_fake(scenario)
    db = t.path("state.db")
    sock = t.path("jw.sock")
    arns = [fake.arn(j) for j in kinds]
    cfg = nl.config(fake, db, arns, {"down": nl.hook(down.url + "/in"), "reject": nl.hook(reject.url + "/in")},
                    extra={"http": {"listen": "unix:" + sock}})

    # Run 1.
    d = t.start_daemon(cfg, env=nl.daemon_env(time_scale=0.001))
    jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1")
    rows = nl.wait_stored(db, fake, kinds)
    n = len(rows)
    jw.wait_until(lambda: nl.sink_states(db, "webhook:reject") == {"parked": n}, 60,
                  "every delivery of webhook:reject parked")
    jw.wait_until(lambda: len(set(nl.post_ids(down.posts()))) >= len(arns), 60,
                  "an event of every job tried on webhook:down")
    d.stop()
    tried_before = set(nl.post_ids(down.posts()))
    reject_before = len(reject.posts())

    # Run 2: the restart resumes the waiting deliveries with the same ids.
    n_down = len(down.posts())
    d = t.start_daemon(cfg, env=nl.daemon_env(time_scale=100), name="jobwatchd2")
    jw.wait_until(lambda: d.notify_has("READY=1"), 15, "READY=1 (run 2)")
    jw.wait_until(lambda: len(down.posts()) > n_down, 10, "webhook:down tried again right after the restart")
    resumed = set(nl.post_ids(down.posts()[n_down:]))
    c.ok(resumed <= tried_before, "the restart resumed with the same webhook-ids: new %s" % (resumed - tried_before))
    jw.wait_until(lambda: not_due_soon(db, "webhook:down", 60000), 30, "webhook:down waiting for its retries")

    # The receivers are back; the waiting deliveries still wait (the schedule is long), the parked stay.
    down.set_script([])
    reject.set_script([])
    n_down = len(down.posts())
    time.sleep(2.0)
    c.eq(len(down.posts()), n_down, "webhook:down: nothing sent while the deliveries wait for their retry")
    c.eq(len(reject.posts()), reject_before, "webhook:reject: parked deliveries stay parked across a restart")

    # jobwatchd retry.
    r = retry(t, sock, "nope")
    c.eq(r.returncode, 1, "retry of an unknown hook fails: %s" % r.stderr)
    c.ok('no webhook "nope"' in r.stderr, "and says so: %r" % r.stderr)
    r = retry(t, sock, "down")
    c.eq(r.returncode, 0, "jobwatchd retry down: rc (stderr %r)" % r.stderr)
    c.ok(r.stdout.startswith("down: ") and "sent now" in r.stdout, "jobwatchd retry down says what it did: %r"
         % r.stdout)
    jw.wait_until(lambda: nl.all_done(db, "webhook:down"), 20, "webhook:down delivered after jobwatchd retry")
    c.eq(len(reject.posts()), reject_before, "retry of one hook leaves the other alone")

    # SIGHUP: the parked deliveries of webhook:reject go out now.
    d.reload()
    jw.wait_until(lambda: nl.all_done(db, "webhook:reject"), 20, "webhook:reject delivered after SIGHUP")
    r = retry(t, sock)
    c.eq(r.returncode, 0, "jobwatchd retry (every hook): rc (stderr %r)" % r.stderr)
    d.stop()

    by_id = {r["id"]: r for r in rows}
    for name, recv in (("down", down), ("reject", reject)):
        posts = recv.posts()
        ok = nl.post_ids([p for p in posts if p["status"] == 200])
        c.eq(sorted(ok), sorted(by_id), "%s: every event accepted" % name)
        c.eq(len(ok), len(set(ok)), "%s: each once" % name)
        bodies = {}
        for p in posts:
            bodies.setdefault(nl.hdr(p, "webhook-id"), set()).add(p["body"])
        c.ok(all(len(b) == 1 for b in bodies.values()), "%s: the same body on every attempt of an event" % name)
    nl.check_attempt_order_per_job(c, down.posts(), db, "down")
    c.ok("SIGHUP: %d waiting or parked deliveries retried now" % n in d.stderr_text(),
         "SIGHUP logged with the count")
    c.ok(CLIENT_ERROR_ATTEMPTS * n <= reject_before, "reject: %d attempts before parking" % reject_before)
    c.done()


jw.main(test)
