#!/usr/bin/python3
"""/metrics and /healthz of a running daemon: the exposition passes a strict Prometheus text-format parser and
carries every family operators rely on with plausible values; /healthz is 200 while polls succeed, turns 503
with a JSON reason when AWS starts rejecting the credentials (the fake's accepted credentials are swapped
live), and 200 again once they work."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("JW_SOURCE_DIR", "."), "tests", "lib"))
import jwtest as jw  # noqa: E402
import fleetlib as fc  # noqa: E402

FAMILIES = {
    "jobwatchd_build_info": "gauge",
    "jobwatchd_jobs": "gauge",
    "jobwatchd_events_total": "counter",
    "jobwatchd_api_requests_total": "counter",
    "jobwatchd_api_retries_total": "counter",
    "jobwatchd_api_request_duration_seconds": "histogram",
    "jobwatchd_credential_refreshes_total": "counter",
    "jobwatchd_credential_expiry_timestamp_seconds": "gauge",
    "jobwatchd_webhook_deliveries_total": "counter",
    "jobwatchd_outbox_backlog": "gauge",
    "jobwatchd_webhook_disabled": "gauge",
    "jobwatchd_last_successful_poll_timestamp_seconds": "gauge",
    "jobwatchd_poll_failures_total": "counter",
}


def health(api):
    st, obj = api.json("GET", "/healthz")
    return st, obj


def test(t):
    fake = t.start_fake({"jobs": [{"id": "h1", "steps": [{"at": 0, "status": "CREATE_IN_PROGRESS"}]},
                                  {"id": "h2", "steps": [{"at": 0, "status": "ACTIVE"}]}]},
                        verify_sigv4=True)
    receiver = t.start_receiver()
    sock = t.path("jobwatchd.sock")
    cfg = {
        "aws": {"region": jw.REGION, "endpoint": fake.url, "max_rps": 100, "timeout": "3s"},
        "poll": {"interval": "500ms", "settled_interval": "500ms", "failed_interval": "500ms", "jitter": "10%"},
        "jobs": {"arn": [fake.arn("h1"), fake.arn("h2")]},
        "state": {"path": t.path("state.db")},
        "journal": {"enabled": False},
        'webhook "ops"': {"url": receiver.url + "/hook"},
        "http": {"listen": "unix:" + sock},
    }
    d = t.start_daemon(cfg, env=jw.aws_env())
    fc.wait_for_socket(d, sock)
    api = fc.Api(sock=sock)

    # ---- /metrics -----------------------------------------------------------------------------------
    def polled():
        f = api.metrics()
        return fc.sample(f, "jobwatchd_jobs", status="CREATE_IN_PROGRESS") == 1 and \
            fc.sample(f, "jobwatchd_jobs", status="ACTIVE") == 1 and f
    jw.wait_until(lambda: len(receiver.posts()) >= 2, 20, "both job.discovered delivered")
    fams = jw.wait_until(polled, 20, "jobs by status in /metrics")
    for name, typ in FAMILIES.items():
        jw.check(name in fams, "family %s missing" % name)
        jw.check_eq(fams[name]["type"], typ, "TYPE of %s" % name)
    jw.check_eq(fc.sample(fams, "jobwatchd_build_info"), 1.0, "build_info")
    jw.check(fams["jobwatchd_build_info"]["samples"][0][1].get("version"), "build_info version label")
    ok = fc.sample(fams, "jobwatchd_api_requests_total", operation="GetAudienceGenerationJob", outcome="ok")
    jw.check(ok and ok >= 2, "Get ok requests: %s" % ok)
    for outcome in ("ok", "throttled", "transient", "auth", "client", "protocol"):
        jw.check(fc.sample(fams, "jobwatchd_api_requests_total", operation="GetAudienceGenerationJob",
                           outcome=outcome) is not None, "outcome %s present" % outcome)
    count = fc.sample(fams, "jobwatchd_api_request_duration_seconds", "jobwatchd_api_request_duration_seconds_count")
    jw.check(count and count >= ok, "latency histogram counts requests: %s" % count)
    jw.check(fc.sample(fams, "jobwatchd_events_total", type="job.discovered") == 2, "events by type")
    jw.wait_until(lambda: fc.sample(api.metrics(), "jobwatchd_webhook_deliveries_total", hook="ops",
                                    outcome="delivered") == 2, 20, "deliveries by hook")
    fams = api.metrics()
    jw.check_eq(fc.sample(fams, "jobwatchd_outbox_backlog", sink="webhook:ops"), 0.0, "outbox backlog")
    jw.check_eq(fc.sample(fams, "jobwatchd_webhook_disabled", hook="ops"), 0.0, "hook not disabled")
    last = fc.sample(fams, "jobwatchd_last_successful_poll_timestamp_seconds")
    jw.check(last and abs(last - time.time()) < 60, "last successful poll: %s" % last)

    # ---- /healthz ------------------------------------------------------------------------------------
    st, obj = health(api)
    jw.check_eq((st, obj), (200, {"status": "ok"}), "healthy")

    # AWS stops accepting our key: every request is refused.
    fake.control("POST", "/credentials", {"credentials": [{"accessKeyId": "AKIDSOMEONEELSE0001",
                                                          "secretAccessKey": "other-secret"}], "replace": True})

    def unhealthy():
        s, o = health(api)
        return s == 503 and o
    obj = jw.wait_until(unhealthy, 30, "/healthz 503 after the credentials stopped working")
    jw.check_eq(obj.get("status"), "unhealthy", "status")
    jw.check(isinstance(obj.get("reason"), str) and obj["reason"], "a reason: %s" % obj)
    fams = api.metrics()
    refused = sum(fc.sample(fams, "jobwatchd_api_requests_total", operation="GetAudienceGenerationJob",
                            outcome=o) or 0 for o in ("auth", "auth_expired"))
    jw.check(refused > 0, "refused requests counted by outcome")
    # /healthz looks at refused requests; a poll counts as failed only when
    # its last attempt (after the credential refresh and retry) is refused,
    # which can come a moment later.
    jw.wait_until(lambda: (fc.sample(api.metrics(), "jobwatchd_poll_failures_total") or 0) > 0, 30,
                  "poll failures counted")

    # The key works again.
    fake.add_credentials(jw.AKID, jw.SECRET, replace=True)
    jw.wait_until(lambda: health(api) == (200, {"status": "ok"}), 30, "/healthz 200 again")

    # Only GET on these.
    st, obj = api.json("POST", "/healthz", "{}")
    jw.check(st == 405 and "error" in obj, "POST /healthz: %s %s" % (st, obj))
    d.stop()
    jw.check(jw.SECRET not in d.stderr_text() and "other-secret" not in d.stderr_text(), "secret in the log")


jw.main(test)
