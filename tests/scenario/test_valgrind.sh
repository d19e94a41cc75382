#!/bin/bash
# The daemon under valgrind memcheck, twice: a short lifecycle scenario (jobs through every kind of
# transition, a signing webhook, a few API faults, a reload), then the fleet paths (discovery, the control
# API and /metrics on a unix socket, a reload), each with --leak-check=full; any memcheck error or definite leak
# makes valgrind exit 99 and the test fail.  Skipped (77) without valgrind or in sanitizer builds.
set -euo pipefail
: "${JW_SOURCE_DIR:?}" "${JW_BUILD_DIR:?}"
if [ "${JW_SANITIZE:-0}" != "0" ] && [ -n "${JW_SANITIZE:-}" ]; then
	echo "SKIP: sanitizer build"
	exit 77
fi
if ! command -v valgrind >/dev/null 2>&1 || ! valgrind --version >/dev/null 2>&1; then
	echo "SKIP: valgrind missing or not runnable (PATH=$PATH;" \
		"dpkg: $(dpkg-query -W -f='${Status}' valgrind 2>&1 || true))"
	if [ "${JW_REQUIRE_VALGRIND:-0}" = 1 ]; then
		echo "FAIL: JW_REQUIRE_VALGRIND=1 but valgrind cannot run"
		exit 1
	fi
	exit 77
fi
tmp=$(mktemp -d /tmp/jw-valgrind-XXXXXX)
wrapper="$tmp/vg-jobwatchd"
cat >"$wrapper" <<EOF
#!/bin/sh
exec valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
	--error-exitcode=99 --track-fds=no --log-file="$tmp/valgrind.%p.log" "$JW_BUILD_DIR/jobwatchd" "\$@"
EOF
chmod +x "$wrapper"

export VG_WRAPPER="$wrapper" VG_TMP="$tmp"
set +e
python3 - <<'PY'
import glob, os, signal, sys, time, urllib.parse
sys.path.insert(0, os.path.join(os.environ["JW_SOURCE_DIR"], "tests", "lib"))
import jwtest as jw
import lifecycles as lc
import fleetlib as fc

SECRET = "whsec_" + jw.b64("jw-valgrind-secret-0123456789abcdef")


def test(t):
    scenario, kinds = lc.build(10, step_seconds=3.0, prefix="vg")  # slower under valgrind: longer steps
    scenario["faults"] = [{"kind": k, "op": "get", "from": 0.5, "to": 4, "rate": 0.15}
                          for k in ("500", "reset", "malformed", "huge", "truncated", "invalid_status")]
    fake = t.start_fake(scenario)
    rcv = t.start_receiver(secret=SECRET, script=[{"status": 503}, {"status": 200}, {"status": 429}])
    t.write("wh.secret", SECRET, mode=0o600)
    db = t.path("state.db")
    cfg = lc.daemon_config(fake, db, [fake.arn(j) for j in kinds], interval="300ms",
                           extra={'webhook "vg"': {"url": rcv.url + "/hook", "secret_file": t.path("wh.secret")}})
    cfg["aws"]["timeout"] = "3s"
    d = t.start_daemon(cfg, env=dict(jw.aws_env(), JW_WEBHOOK_TIME_SCALE="0.001"), binary=os.environ["VG_WRAPPER"])
    jw.wait_until(lambda: d.notify_has("READY=1"), 60, "READY=1 under valgrind")
    time.sleep(2)
    d.reload()
    lc.wait_truth(db, fake, kinds, 90, scenario)

    def all_delivered():
        rows = jw.sqlite_rows(db, "SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state")
        return rows and all(r["state"] == "done" for r in rows)
    jw.wait_until(all_delivered, 60, "every delivery done")
    rc = d.stop(timeout=60, expect_rc=None)
    # Start-up under valgrind takes seconds: the first step may pass unseen (check_fleet allows for it).
    exact, partial = lc.check_fleet(db, fake, scenario, kinds)
    print("valgrind run 1: jobs exact %d, visible-only %d" % (exact, partial))
    rc2 = fleet_phase(t, fake, kinds)

    logs = ""
    files = glob.glob(os.path.join(os.environ["VG_TMP"], "valgrind.*.log"))
    jw.check(len(files) >= 2, "both daemons ran under valgrind (log files written): %s" % files)
    for f in files:
        with open(f, errors="replace") as fh:
            logs += fh.read()
    print("valgrind exits %s, %s; logs:\n%s" % (rc, rc2, logs[-6000:] or "(empty)"))
    jw.check(rc == 0 and rc2 == 0,
             "daemons under valgrind exited %s, %s (99 = memcheck errors or definite leaks)" % (rc, rc2))
    jw.check("definitely lost" not in logs and "Invalid " not in logs and "uninitialised" not in logs,
             "valgrind log clean")


def fleet_phase(t, fake, kinds):
    """The fleet paths under valgrind: discovery (new, changed and vanished jobs), the control API on a unix
    socket (POST and DELETE a job, /v1/jobs, /metrics, /healthz) and a reload.  Returns the exit status."""
    collab = "bbbbbbbb-1111-4111-8111-0000000000b2"
    found = [fake.set_job("vg-disc-%d" % i, "CREATE_IN_PROGRESS", collaborationId=collab) for i in range(3)]
    db = t.path("fleet.db")
    sock = t.path("jobwatchd.sock")
    cfg = lc.daemon_config(fake, db, [], interval="300ms",
                           extra={'discover "b"': {"collaboration_id": collab, "interval": "1s"},
                                  "http": {"listen": "unix:" + sock}})
    del cfg["jobs"]
    cfg["aws"]["timeout"] = "3s"
    d = t.start_daemon(cfg, env=jw.aws_env(), binary=os.environ["VG_WRAPPER"])
    fc.wait_for_socket(d, sock, timeout=60)
    api = fc.Api(sock=sock)
    jw.wait_until(lambda: all(api.job(a) for a in found), 60, "discovered jobs in the API")
    extra = fake.arn(next(iter(kinds)))
    st, _, body = api.request("POST", "/v1/jobs", {"arn": extra})
    jw.check_eq(st, 201, "POST a job under valgrind: %s" % body)
    fake.set_job(found[0], "ACTIVE")
    fake.delete_job(found[1])

    def settled():
        seq = lc.sequences(lc.stored_events(db))
        return seq.get(found[0], [("", "", "")])[-1][2] == "ACTIVE" and \
            seq.get(found[1], [("", "", "")])[-1][2] == "GONE" and (api.job(extra) or {}).get("status")
    jw.wait_until(settled, 60, "discovered job ACTIVE, vanished job GONE, posted job polled")
    fams = api.metrics()
    jw.check(fc.sample(fams, "jobwatchd_jobs", status="ACTIVE") is not None, "/metrics under valgrind")
    jw.check(len(api.jobs()) >= 4, "/v1/jobs lists the fleet")
    st, _, body = api.request("DELETE", "/v1/jobs/" + urllib.parse.quote(extra, safe=""))
    jw.check_eq(st, 204, "DELETE a job under valgrind: %s" % body)
    jw.check(api.request("GET", "/healthz")[0] == 200, "/healthz 200")
    d.reload()
    fc.wait_for_socket(d, sock, timeout=60)
    return d.stop(timeout=60, expect_rc=None)


jw.main(test, name="test_valgrind")
PY
rc=$?
set -e
rm -rf "$tmp"
exit $rc
