/* The webhook delivery engine end to end: the real store outbox (SQLite in a
 * temp dir), the real http layer (libcurl on libuv) and a real HTTP receiver
 * (the test server of jwtest.h) that answers from a script. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <uv.h>

#include "event.h"
#include "http.h"
#include "jwtest.h"
#include "log.h"
#include "model.h"
#include "notify/sign.h"
#include "notify/webhook.h"
#include "store.h"
#include "util.h"

#define SECRET	"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define MAX_REQ 64

/* ---- The receiver ---- */

struct reply {
	int status;
	const char *extra; /* extra header lines, "\r\n"-terminated, or NULL */
	const char *body;
};

struct request {
	char webhook_id[64], timestamp[32], signature[128], content_type[64], user_agent[64], auth[64];
	char *body;
	int64_t received_ms;
};

struct receiver {
	struct jwt_server *srv; /* its lock guards what follows */
	unsigned port;
	struct reply script[MAX_REQ]; /* reply i answers request i; past the end: the last one */
	size_t n_script;
	struct request req[MAX_REQ];
	size_t n_req;
};

/* One request a connection: records it, answers from the script. */
static bool receive(struct jwt_conn *c, const struct jwt_request *in, void *userdata)
{
	struct receiver *rc = userdata;
	struct request *rq;
	struct reply rp;
	char extra[512];

	jwt_server_lock(rc->srv);
	if (rc->n_req < MAX_REQ) {
		rq = &rc->req[rc->n_req];
		jwt_header_value(in->head, "webhook-id", rq->webhook_id, sizeof(rq->webhook_id));
		jwt_header_value(in->head, "webhook-timestamp", rq->timestamp, sizeof(rq->timestamp));
		jwt_header_value(in->head, "webhook-signature", rq->signature, sizeof(rq->signature));
		jwt_header_value(in->head, "content-type", rq->content_type, sizeof(rq->content_type));
		jwt_header_value(in->head, "user-agent", rq->user_agent, sizeof(rq->user_agent));
		jwt_header_value(in->head, "authorization", rq->auth, sizeof(rq->auth));
		rq->body = strndup(in->body, in->body_len);
		rq->received_ms = (int64_t)now_realtime_ms();
		rp = rc->script[rc->n_req < rc->n_script ? rc->n_req : rc->n_script - 1];
		rc->n_req++;
	} else {
		rp = (struct reply){500, NULL, NULL};
	}
	jwt_server_unlock(rc->srv);
	snprintf(extra, sizeof(extra), "Connection: close\r\n%s", rp.extra ? rp.extra : "");
	jwt_send_response(c, rp.status, extra, rp.body ? rp.body : "", rp.body ? strlen(rp.body) : 0);
	return false;
}

static struct receiver *receiver_start(const struct reply *script, size_t n)
{
	struct receiver *rc = calloc(1, sizeof(*rc));

	assert_non_null(rc);
	memcpy(rc->script, script, n * sizeof(*script));
	rc->n_script = n;
	rc->srv = jwt_server_start(receive, rc);
	rc->port = jwt_server_port(rc->srv);
	return rc;
}

static void receiver_stop(struct receiver *rc)
{
	jwt_server_stop(rc->srv);
	for (size_t i = 0; i < rc->n_req; i++)
		free(rc->req[i].body);
	free(rc);
}

/* From now on every request is answered with status. */
static void receiver_answer_all(struct receiver *rc, int status)
{
	jwt_server_lock(rc->srv);
	for (size_t i = 0; i < MAX_REQ; i++)
		rc->script[i] = (struct reply){status, NULL, NULL};
	rc->n_script = MAX_REQ;
	jwt_server_unlock(rc->srv);
}

static size_t receiver_count(struct receiver *rc)
{
	size_t n;

	jwt_server_lock(rc->srv);
	n = rc->n_req;
	jwt_server_unlock(rc->srv);
	return n;
}

/* ---- The engine's part: a timer driven by next_wakeup ---- */

struct fixture {
	uv_loop_t loop;
	uv_timer_t timer;
	struct http_ctx *http;
	struct store *store;
	struct webhook_sink *sink;
	char dir[64];
	unsigned max_in_flight;	      /* 0 = the default */
	int64_t max_age_ms;	      /* 0 = the default */
	int64_t last_wakeup_after_cb; /* next_wakeup seen by the last wakeup_changed */
};

static void rearm(struct fixture *f);

static void on_timer(uv_timer_t *t)
{
	struct fixture *f = t->data;
	webhook_sink_run(f->sink, (int64_t)now_realtime_ms());
	rearm(f);
}

static void rearm(struct fixture *f)
{
	int64_t at = webhook_sink_next_wakeup_ms(f->sink), now = (int64_t)now_realtime_ms();

	uv_timer_stop(&f->timer);
	if (at >= 0)
		uv_timer_start(&f->timer, on_timer, at > now ? (uint64_t)(at - now) : 0, 0);
}

static void on_wakeup_changed(void *userdata)
{
	struct fixture *f = userdata;
	f->last_wakeup_after_cb = webhook_sink_next_wakeup_ms(f->sink);
	rearm(f);
}

static struct fixture *fixture_new(void)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct http_ctx_options o = {.max_connections = 4, .user_agent = "jobwatchd-test"};
	char path[128];

	assert_non_null(f);
	jwt_tmpdir("webhook", f->dir, sizeof(f->dir));
	snprintf(path, sizeof(path), "%s/state.db", f->dir);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(uv_timer_init(&f->loop, &f->timer), 0);
	f->timer.data = f;
	assert_int_equal(http_ctx_new(&f->loop, &o, &f->http), 0);
	assert_int_equal(store_open(path, &f->store), 0);
	return f;
}

static void fixture_free(struct fixture *f)
{
	webhook_sink_free(f->sink);
	http_ctx_free(f->http);
	uv_close((uv_handle_t *)&f->timer, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	store_close(f->store);
	jwt_rmtree(f->dir);
	free(f);
}

static void make_sink(struct fixture *f, struct receiver *rc, enum payload_format fmt, int64_t max_pending,
		      double scale, bool signed_)
{
	char url[64], err[128];
	struct sign_key key;
	const char *extra[] = {"Authorization: Bearer hook-token", NULL};
	struct webhook_sink_params p = {
	    .name = "hook",
	    .url = url,
	    .format = fmt,
	    .extra_headers = extra,
	    .timeout_ms = 10000,
	    .max_pending = max_pending,
	    .max_age_ms = f->max_age_ms,
	    .max_in_flight = f->max_in_flight,
	    .time_scale = scale,
	    .wakeup_changed = on_wakeup_changed,
	    .userdata = f,
	};

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", rc->port);
	if (signed_) {
		assert_int_equal(sign_key_from_secret(SECRET, &key, err, sizeof(err)), 0);
		p.key = &key;
	}
	assert_int_equal(webhook_sink_new(&p, f->store, f->http, &f->sink), 0);
	sign_key_wipe(&key);
}

/* Adds one event for job n (distinct ARN per n) and commits it; returns
 * its seq. */
static int64_t add_event(struct fixture *f, int n, enum event_type type, enum job_status prev,
			 enum job_status st, char id_out[EVENT_ID_LEN + 1])
{
	static const char *const sinks[] = {"webhook:hook", NULL};
	struct event *e = calloc(1, sizeof(*e));
	struct job_observation *o = job_observation_new();
	char arn[160];
	int64_t seq;

	snprintf(arn, sizeof(arn),
		 "arn:aws:cleanrooms-ml:us-east-1:111122223333:audience-generation-job/job-%d", n);
	o->arn = strdup(arn);
	o->name = strdup("weekly-lookalike");
	o->status = st;
	o->update_time_ms = 1705323600000 + n * 1000 + (int64_t)st;
	o->create_time_ms = 1705320000000;
	e->job = o;
	e->type = type;
	e->previous_status = prev;
	e->status = st;
	e->detected_ms = (int64_t)now_realtime_ms();
	e->region = strdup("us-east-1");
	event_compute_id(arn, prev, st, o->update_time_ms, type, e->id);
	if (id_out)
		memcpy(id_out, e->id, EVENT_ID_LEN + 1);
	assert_true(store_add_event(f->store, e, sinks) >= 0);
	assert_int_equal(store_flush(f->store), 0);
	seq = e->seq;
	event_free(e);
	return seq;
}

static int64_t add_failed(struct fixture *f, int n, char id_out[EVENT_ID_LEN + 1])
{
	return add_event(f, n, EVENT_JOB_STATUS_CHANGED, JOB_STATUS_CREATE_IN_PROGRESS,
			 JOB_STATUS_CREATE_FAILED, id_out);
}

/* An earlier event of job n than add_failed()'s. */
static int64_t add_progress(struct fixture *f, int n, char id_out[EVENT_ID_LEN + 1])
{
	return add_event(f, n, EVENT_JOB_STATUS_CHANGED, JOB_STATUS_CREATE_PENDING,
			 JOB_STATUS_CREATE_IN_PROGRESS, id_out);
}

/* Runs the loop until cond holds; the deadline only guards against hangs. */
static void run_until(struct fixture *f, bool (*cond)(struct fixture *, void *), void *arg)
{
	uint64_t deadline = now_monotonic_ms() + (getenv("JW_TEST_DEBUG") ? 3000 : 60000);

	webhook_sink_run(f->sink, (int64_t)now_realtime_ms());
	rearm(f);
	while (!cond(f, arg)) {
		assert_true(now_monotonic_ms() < deadline);
		uv_run(&f->loop, UV_RUN_ONCE);
	}
	store_flush(f->store);
}

static bool delivered_n(struct fixture *f, void *arg)
{
	return webhook_sink_stats(f->sink)->delivered >= (uint64_t)(uintptr_t)arg;
}

static bool idle_with_requests(struct fixture *f, void *arg)
{
	struct receiver *rc = arg;
	(void)rc;
	return !webhook_sink_busy(f->sink) &&
	       (webhook_sink_stats(f->sink)->disabled || webhook_sink_stats(f->sink)->parked > 0);
}

static int64_t backlog(struct fixture *f)
{
	int64_t n = -1;
	assert_int_equal(store_delivery_backlog(f->store, "webhook:hook", &n), 0);
	return n;
}

static void verify_signature(const struct request *rq)
{
	struct sign_key key;
	char sig[SIGN_SIGNATURE_MAX];
	int64_t ts;

	assert_int_equal(sign_key_from_secret(SECRET, &key, NULL, 0), 0);
	assert_int_equal(parse_int64(rq->timestamp, 0, INT64_MAX, &ts), 0);
	assert_int_equal(
	    sign_signature(&key, rq->webhook_id, ts, rq->body, strlen(rq->body), sig, sizeof(sig)), 0);
	assert_string_equal(rq->signature, sig);
	/* Fresh: within the reference verifier's 5 min tolerance. */
	assert_true(llabs(ts - (int64_t)(now_realtime_ms() / 1000)) < 300);
}

/* ---- Tests ---- */

static void test_delivers_signed_in_order(void **state)
{
	static const struct reply ok[] = {{200, NULL, "ok"}};
	struct receiver *rc = receiver_start(ok, 1);
	struct fixture *f = fixture_new();
	char id1[EVENT_ID_LEN + 1], id2[EVENT_ID_LEN + 1];
	cJSON *j;

	add_failed(f, 1, id1);
	add_failed(f, 2, id2);
	make_sink(f, rc, PAYLOAD_FORMAT_JSON, 0, 0.001, true);
	run_until(f, delivered_n, (void *)(uintptr_t)2);
	assert_int_equal(receiver_count(rc), 2);
	assert_string_equal(rc->req[0].webhook_id, id1);
	assert_string_equal(rc->req[1].webhook_id, id2);
	for (int i = 0; i < 2; i++) {
		assert_string_equal(rc->req[i].content_type, "application/json");
		assert_string_equal(rc->req[i].user_agent, "jobwatchd/" JW_VERSION);
		assert_string_equal(rc->req[i].auth, "Bearer hook-token");
		verify_signature(&rc->req[i]);
		j = cJSON_Parse(rc->req[i].body);
		assert_non_null(j);
		assert_string_equal(cJSON_GetObjectItem(j, "type")->valuestring, "job.status_changed");
		assert_string_equal(
		    cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "eventId")->valuestring,
		    i == 0 ? id1 : id2);
		cJSON_Delete(j);
	}
	assert_int_equal(backlog(f), 0);
	assert_int_equal(webhook_sink_stats(f->sink)->failed_attempts, 0);
	assert_int_equal(webhook_sink_next_wakeup_ms(f->sink), -1);
	fixture_free(f);
	receiver_stop(rc);
}

static void test_retries_with_same_id(void **state)
{
	static const struct reply script[] = {{503, NULL, "busy"}, {502, NULL, NULL}, {200, NULL, "ok"}};
	struct receiver *rc = receiver_start(script, 3);
	struct fixture *f = fixture_new();
	char id1[EVENT_ID_LEN + 1], id2[EVENT_ID_LEN + 1];

	/* Two events of one job, with the default max_in_flight (4). */
	add_progress(f, 1, id1);
	add_failed(f, 1, id2);
	make_sink(f, rc, PAYLOAD_FORMAT_JSON, 0, 0.001, true);
	run_until(f, delivered_n, (void *)(uintptr_t)2);
	/* Two failures of event 1, then event 1, then event 2: nothing of the
	 * same job overtakes the event being retried. */
	assert_int_equal(receiver_count(rc), 4);
	assert_string_equal(rc->req[0].webhook_id, id1);
	assert_string_equal(rc->req[1].webhook_id, id1);
	assert_string_equal(rc->req[2].webhook_id, id1);
	assert_string_equal(rc->req[3].webhook_id, id2);
	for (int i = 0; i < 4; i++)
		verify_signature(&rc->req[i]);
	assert_string_equal(rc->req[0].body, rc->req[2].body);
	assert_int_equal(webhook_sink_stats(f->sink)->failed_attempts, 2);
	assert_int_equal(webhook_sink_stats(f->sink)->parked, 0);
	assert_int_equal(backlog(f), 0);
	fixture_free(f);
	receiver_stop(rc);
}

static void test_retry_after_is_honoured(void **state)
{
	static const struct reply script[] = {{429, "Retry-After: 60\r\n", NULL}, {200, NULL, NULL}};
	struct receiver *rc = receiver_start(script, 2);
	struct fixture *f = fixture_new();

	add_failed(f, 1, NULL);
	/* Scale 0.001: the schedule's 5 s becomes 5 ms, Retry-After 60 s 60 ms. */
	make_sink(f, rc, PAYLOAD_FORMAT_JSON, 0, 0.001, false);
	f->last_wakeup_after_cb = -2;
	run_until(f, delivered_n, (void *)(uintptr_t)1);
	assert_int_equal(receiver_count(rc), 2);
	assert_string_equal(rc->req[0].webhook_id, rc->req[1].webhook_id);
	assert_string_equal(rc->req[0].signature, ""); /* no key: unsigned */
	/* The second attempt came no earlier than Retry-After allowed. */
	assert_true(rc->req[1].received_ms - rc->req[0].received_ms >= 60);
	fixture_free(f);
	receiver_stop(rc);
}

static void test_410_disables(void **state)
{
	static const struct reply gone[] = {{410, NULL, "gone"}};
	struct receiver *rc = receiver_start(gone, 1);
	struct fixture *f = fixture_new();

	/* One job: its second event waits for the first, which gets the 410. */
	add_progress(f, 1, NULL);
	add_failed(f, 1, NULL);
	make_sink(f, rc, PAYLOAD_FORMAT_JSON, 0, 0.001, true);
	run_until(f, idle_with_requests, rc);
	assert_true(webhook_sink_stats(f->sink)->disabled);
	assert_int_equal(webhook_sink_stats(f->sink)->last_status, 410);
	assert_int_equal(webhook_sink_next_wakeup_ms(f->sink), -1);
	/* New events and explicit runs send nothing more; events stay pending. */
	add_failed(f, 3, NULL);
	webhook_sink_run(f->sink, (int64_t)now_realtime_ms() + 86400000LL);
	assert_false(webhook_sink_busy(f->sink));
	uv_run(&f->loop, UV_RUN_NOWAIT);
	assert_int_equal(receiver_count(rc), 1);
	assert_int_equal(backlog(f), 3);
	/* jobwatchd retry: enabled again, everything goes out. */
	receiver_answer_all(rc, 200);
	{
		int64_t released = -1;
		assert_int_equal(
		    webhook_sink_retry_now(f->sink, (int64_t)now_realtime_ms(), true, &released), 0);
		/* A 410 does not reschedule: nothing was waiting, the hook was. */
		assert_int_equal(released, 0);
	}
	assert_false(webhook_sink_stats(f->sink)->disabled);
	run_until(f, delivered_n, (void *)(uintptr_t)3);
	assert_int_equal(backlog(f), 0);
	fixture_free(f);
	receiver_stop(rc);
}

/* One job's failing event does not hold another job's: with one request at
 * a time, job 2's event goes out while job 1's waits for its retry, and job
 * 1's second event still waits for its first (per-job order). */
static void test_failing_event_does_not_hold_other_jobs(void **state)
{
	static const struct reply script[] = {{503, NULL, "busy"}, {200, NULL, NULL}};
	struct receiver *rc = receiver_start(script, 2);
	struct fixture *f = fixture_new();
	char a1[EVENT_ID_LEN + 1], b[EVENT_ID_LEN + 1], a2[EVENT_ID_LEN + 1];

	add_progress(f, 1, a1);
	add_failed(f, 2, b);
	add_failed(f, 1, a2);
	f->max_in_flight = 1;
	/* Scale 0.1: job 1's retry comes after 100 ms, long after job 2's
	 * event had its turn. */
	make_sink(f, rc, PAYLOAD_FORMAT_JSON, 0, 0.1, false);
	run_until(f, delivered_n, (void *)(uintptr_t)3);
	assert_int_equal(receiver_count(rc), 4);
	assert_string_equal(rc->req[0].webhook_id, a1); /* 503 */
	assert_string_equal(rc->req[1].webhook_id, b);	/* not behind a1 */
	assert_string_equal(rc->req[2].webhook_id, a1);
	assert_string_equal(rc->req[3].webhook_id, a2); /* behind a1 */
	fixture_free(f);
	receiver_stop(rc);
}

static bool requests_n(struct fixture *f, void *arg)
{
	(void)f;
	return receiver_count(((void **)arg)[0]) >= (size_t)(uintptr_t)((void **)arg)[1];
}

/* Several jobs, several events each, four requests at a time: every job's
 * events arrive in order. */
static void test_per_job_order_with_concurrency(void **state)
{
	static const struct reply ok[] = {{200, NULL, NULL}};
	struct receiver *rc = receiver_start(ok, 1);
	struct fixture *f = fixture_new();
	char ids[12][EVENT_ID_LEN + 1];
	static const enum job_status steps[][2] = {
	    {JOB_STATUS_INVALID, JOB_STATUS_CREATE_PENDING},
	    {JOB_STATUS_CREATE_PENDING, JOB_STATUS_CREATE_IN_PROGRESS},
	    {JOB_STATUS_CREATE_IN_PROGRESS, JOB_STATUS_ACTIVE},
	};

	for (int k = 0; k < 3; k++)
		for (int job = 0; job < 4; job++)
			add_event(f, job, k == 0 ? EVENT_JOB_DISCOVERED : EVENT_JOB_STATUS_CHANGED,
				  steps[k][0], steps[k][1], ids[k * 4 + job]);
	make_sink(f, rc, PAYLOAD_FORMAT_JSON, 0, 0.001, false);
	run_until(f, delivered_n, (void *)(uintptr_t)12);
	assert_int_equal(receiver_count(rc), 12);
	for (int job = 0; job < 4; job++) {
		int last = -1;
		for (int k = 0; k < 3; k++) {
			int at = -1;
			for (int i = 0; i < 12; i++)
				if (strcmp(rc->req[i].webhook_id, ids[k * 4 + job]) == 0)
					at = i;
			assert_true(at > last);
			last = at;
		}
	}
	fixture_free(f);
	receiver_stop(rc);
}

/* A hook that was failing drains its backlog as soon as one delivery
 * succeeds: deliveries waiting for a retry an hour away go out at once. */
static void test_recovery_drains_backlog(void **state)
{
	static const struct reply script[] = {{503, NULL, NULL}, {503, NULL, NULL}, {200, NULL, NULL}};
	struct receiver *rc = receiver_start(script, 3);
	struct fixture *f = fixture_new();
	int64_t later = (int64_t)now_realtime_ms() + 3600 * 1000LL;

	add_failed(f, 1, NULL);
	for (int job = 2; job <= 6; job++) {
		int64_t seq = add_failed(f, job, NULL);
		assert_int_equal(store_delivery_retry(f->store, "webhook:hook", seq, 6, later, "HTTP 503"),
				 0);
	}
	assert_int_equal(store_flush(f->store), 0);
	make_sink(f, rc, PAYLOAD_FORMAT_JSON, 0, 0.01, false);
	/* Job 1 fails twice (the hook is failing), then gets through. */
	run_until(f, delivered_n, (void *)(uintptr_t)6);
	assert_int_equal(receiver_count(rc), 8);
	assert_int_equal(webhook_sink_stats(f->sink)->recoveries, 1);
	assert_false(webhook_sink_stats(f->sink)->failing);
	assert_int_equal(backlog(f), 0);
	fixture_free(f);
	receiver_stop(rc);
}

/* An event that keeps failing past max_age is parked, and a retry sends it
 * again. */
static void test_max_age_parks_then_retry(void **state)
{
	static const struct reply busy[] = {{503, NULL, NULL}};
	struct receiver *rc = receiver_start(busy, 1);
	struct fixture *f = fixture_new();
	void *until[2] = {rc, (void *)(uintptr_t)1};
	int64_t released = -1, parked = -1;

	add_failed(f, 1, NULL);
	/* Scale 0.001: max_age 1 min is 60 ms, reached after ~8 attempts. */
	f->max_age_ms = 60000;
	make_sink(f, rc, PAYLOAD_FORMAT_JSON, 0, 0.001, false);
	run_until(f, idle_with_requests, rc);
	assert_int_equal(webhook_sink_stats(f->sink)->parked, 1);
	assert_true(receiver_count(rc) >= 3);
	assert_int_equal(backlog(f), 0);
	assert_int_equal(store_count_deliveries(f->store, "webhook:hook", "parked", &parked), 0);
	assert_int_equal(parked, 1);
	receiver_answer_all(rc, 200);
	assert_int_equal(webhook_sink_retry_now(f->sink, (int64_t)now_realtime_ms(), true, &released), 0);
	assert_int_equal(released, 1);
	until[1] = (void *)(uintptr_t)(receiver_count(rc) + 1);
	run_until(f, requests_n, until);
	run_until(f, delivered_n, (void *)(uintptr_t)1);
	assert_int_equal(backlog(f), 0);
	fixture_free(f);
	receiver_stop(rc);
}

static void test_client_error_parks_after_5(void **state)
{
	static const struct reply script[] = {{400, NULL, "bad\nrequest"},
					      {400, NULL, "bad"},
					      {302, "Location: http://127.0.0.1:1/elsewhere\r\n", NULL},
					      {404, NULL, "no"},
					      {422, NULL, "nope"},
					      {200, NULL, "ok"}};
	struct receiver *rc = receiver_start(script, ELEMENTSOF(script));
	struct fixture *f = fixture_new();
	char id1[EVENT_ID_LEN + 1], id2[EVENT_ID_LEN + 1];

	/* One job: its second event waits until the first is parked. */
	add_progress(f, 1, id1);
	add_failed(f, 1, id2);
	/* Scale 1e-5: five attempts over 18 s of schedule take well under 1 ms. */
	make_sink(f, rc, PAYLOAD_FORMAT_JSON, 0, 0.00001, true);
	run_until(f, delivered_n, (void *)(uintptr_t)1);
	/* Five rejections of event 1 (the 302 was not followed), then event 2. */
	assert_int_equal(receiver_count(rc), 6);
	for (int i = 0; i < 5; i++)
		assert_string_equal(rc->req[i].webhook_id, id1);
	assert_string_equal(rc->req[5].webhook_id, id2);
	assert_int_equal(webhook_sink_stats(f->sink)->parked, 1);
	assert_int_equal(webhook_sink_stats(f->sink)->failed_attempts, 5);
	assert_int_equal(backlog(f), 0);
	fixture_free(f);
	receiver_stop(rc);
}

static void test_max_pending_drops_oldest(void **state)
{
	static const struct reply ok[] = {{204, NULL, NULL}};
	struct receiver *rc = receiver_start(ok, 1);
	struct fixture *f = fixture_new();
	char ids[5][EVENT_ID_LEN + 1];

	for (int i = 0; i < 5; i++)
		add_failed(f, i + 1, ids[i]);
	make_sink(f, rc, PAYLOAD_FORMAT_SLACK, 2, 0.001, false);
	run_until(f, delivered_n, (void *)(uintptr_t)2);
	assert_int_equal(webhook_sink_stats(f->sink)->dropped, 3);
	assert_int_equal(receiver_count(rc), 2);
	assert_string_equal(rc->req[0].webhook_id, ids[3]);
	assert_string_equal(rc->req[1].webhook_id, ids[4]);
	assert_non_null(strstr(rc->req[0].body, "\"text\""));
	fixture_free(f);
	receiver_stop(rc);
}

static void test_alertmanager_skips_irrelevant(void **state)
{
	static const struct reply ok[] = {{200, NULL, NULL}};
	struct receiver *rc = receiver_start(ok, 1);
	struct fixture *f = fixture_new();
	char id[EVENT_ID_LEN + 1];
	cJSON *j;

	add_event(f, 1, EVENT_JOB_DISCOVERED, JOB_STATUS_INVALID, JOB_STATUS_CREATE_PENDING, NULL);
	add_event(f, 1, EVENT_JOB_STATUS_CHANGED, JOB_STATUS_CREATE_PENDING, JOB_STATUS_CREATE_IN_PROGRESS,
		  NULL);
	add_failed(f, 1, id);
	make_sink(f, rc, PAYLOAD_FORMAT_ALERTMANAGER_WEBHOOK, 0, 0.001, false);
	run_until(f, delivered_n, (void *)(uintptr_t)1);
	assert_int_equal(receiver_count(rc), 1);
	assert_int_equal(webhook_sink_stats(f->sink)->skipped, 2);
	assert_string_equal(rc->req[0].webhook_id, id);
	j = cJSON_Parse(rc->req[0].body);
	assert_string_equal(cJSON_GetObjectItem(j, "status")->valuestring, "firing");
	assert_string_equal(cJSON_GetObjectItem(j, "version")->valuestring, "4");
	cJSON_Delete(j);
	assert_int_equal(backlog(f), 0);
	fixture_free(f);
	receiver_stop(rc);
}

static bool failed_once(struct fixture *f, void *arg)
{
	(void)arg;
	return webhook_sink_stats(f->sink)->failed_attempts >= 1 && !webhook_sink_busy(f->sink);
}

/* A reload rebuilds the sink: the new one carries the failing streak, so
 * the recovery is noted once. */
static void test_reload_carries_failing(void **state)
{
	static const struct reply script[] = {{503, NULL, NULL}, {200, NULL, NULL}};
	struct receiver *rc = receiver_start(script, 2);
	struct fixture *f = fixture_new();
	struct webhook_sink *old;

	add_failed(f, 1, NULL);
	/* Scale 1: the retry is a second away, so the old sink cannot get to
	 * it (and recover) before it is replaced. */
	make_sink(f, rc, PAYLOAD_FORMAT_JSON, 0, 1.0, false);
	run_until(f, failed_once, NULL);
	assert_true(webhook_sink_stats(f->sink)->failing);
	old = f->sink;
	f->sink = NULL;
	make_sink(f, rc, PAYLOAD_FORMAT_JSON, 0, 0.001, false);
	webhook_sink_carry_health(f->sink, old);
	webhook_sink_free(old);
	assert_true(webhook_sink_stats(f->sink)->failing);
	run_until(f, delivered_n, (void *)(uintptr_t)1);
	assert_false(webhook_sink_stats(f->sink)->failing);
	assert_int_equal(webhook_sink_stats(f->sink)->recoveries, 1);
	fixture_free(f);
	receiver_stop(rc);
}

int main(void)
{
	if (getenv("JW_TEST_DEBUG"))
		log_setup(LOG_TARGET_STDERR, LOG_DEBUG);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_delivers_signed_in_order),
	    cmocka_unit_test(test_retries_with_same_id),
	    cmocka_unit_test(test_retry_after_is_honoured),
	    cmocka_unit_test(test_410_disables),
	    cmocka_unit_test(test_failing_event_does_not_hold_other_jobs),
	    cmocka_unit_test(test_per_job_order_with_concurrency),
	    cmocka_unit_test(test_recovery_drains_backlog),
	    cmocka_unit_test(test_max_age_parks_then_retry),
	    cmocka_unit_test(test_reload_carries_failing),
	    cmocka_unit_test(test_client_error_parks_after_5),
	    cmocka_unit_test(test_max_pending_drops_oldest),
	    cmocka_unit_test(test_alertmanager_skips_irrelevant),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
