/* api rendering and parsing: /metrics checked by a strict Prometheus text
 * format (0.0.4) parser, jobs as JSON (parsed back with cJSON), the POST
 * body rules, the bearer comparison and the health verdict. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "api/render.h"

#define ARN "arn:aws:cleanrooms-ml:us-east-1:111122223333:audience-generation-job/job-1"

/* ---- a strict text-format checker ---- */

struct family {
	char name[128];
	char type[16];
	bool help, typed;
};

struct prom {
	struct family fam[128];
	size_t n;
	size_t samples;
	char err[256];
	/* histogram state */
	double last_bucket;
	bool saw_inf;
	double inf_value;
};

static struct family *fam_get(struct prom *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->fam[i].name, name) == 0)
			return &p->fam[i];
	if (p->n == ELEMENTSOF(p->fam))
		return NULL;
	snprintf(p->fam[p->n].name, sizeof(p->fam[p->n].name), "%s", name);
	return &p->fam[p->n++];
}

static bool name_ok(const char *s, size_t n)
{
	if (n == 0 || !(s[0] == '_' || s[0] == ':' || ((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z')))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(s[i] == '_' || s[i] == ':' || ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

static bool ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && strcmp(s + a - b, suf) == 0;
}

/* Returns 0 or -1 with p->err set. */
static int prom_line(struct prom *p, const char *line)
{
	char name[128], base[128], le[256] = "";
	const char *q = line, *sp;
	struct family *f;
	char *end;
	double v;

	if (!*line)
		return 0;
	if (line[0] == '#') {
		char kind[8], fname[128];
		int off = 0;
		if (sscanf(line, "# %7s %127s %n", kind, fname, &off) < 2 || off == 0) {
			snprintf(p->err, sizeof(p->err), "bad comment: %s", line);
			return -1;
		}
		if (!name_ok(fname, strlen(fname)) || !(f = fam_get(p, fname))) {
			snprintf(p->err, sizeof(p->err), "bad family name: %s", line);
			return -1;
		}
		if (strcmp(kind, "HELP") == 0) {
			if (f->help) {
				snprintf(p->err, sizeof(p->err), "second HELP: %s", line);
				return -1;
			}
			f->help = true;
		} else if (strcmp(kind, "TYPE") == 0) {
			const char *t = line + off;
			if (f->typed ||
			    (strcmp(t, "counter") && strcmp(t, "gauge") && strcmp(t, "histogram") &&
			     strcmp(t, "summary") && strcmp(t, "untyped"))) {
				snprintf(p->err, sizeof(p->err), "bad TYPE: %s", line);
				return -1;
			}
			f->typed = true;
			snprintf(f->type, sizeof(f->type), "%s", t);
			p->last_bucket = -1;
			p->saw_inf = false;
		}
		return 0;
	}
	while (*q && *q != '{' && *q != ' ')
		q++;
	if ((size_t)(q - line) >= sizeof(name) || !name_ok(line, (size_t)(q - line))) {
		snprintf(p->err, sizeof(p->err), "bad sample name: %s", line);
		return -1;
	}
	memcpy(name, line, (size_t)(q - line));
	name[q - line] = '\0';
	if (*q == '{') {
		q++;
		while (*q != '}') {
			const char *k = q;
			char key[64];
			size_t vi = 0;
			char val[256];
			while (*q && *q != '=')
				q++;
			if (*q != '=' || q[1] != '"' || !name_ok(k, (size_t)(q - k)) ||
			    (size_t)(q - k) >= sizeof(key)) {
				snprintf(p->err, sizeof(p->err), "bad label: %s", line);
				return -1;
			}
			memcpy(key, k, (size_t)(q - k));
			key[q - k] = '\0';
			q += 2;
			while (*q && *q != '"') {
				if (*q == '\\') {
					q++;
					if (*q != '\\' && *q != '"' && *q != 'n') {
						snprintf(p->err, sizeof(p->err), "bad escape: %s", line);
						return -1;
					}
				}
				if (vi + 1 < sizeof(val))
					val[vi++] = *q;
				q++;
			}
			val[vi] = '\0';
			if (*q != '"') {
				snprintf(p->err, sizeof(p->err), "unterminated label value: %s", line);
				return -1;
			}
			q++;
			if (strcmp(key, "le") == 0)
				snprintf(le, sizeof(le), "%s", val);
			if (*q == ',')
				q++;
			else if (*q != '}') {
				snprintf(p->err, sizeof(p->err), "bad label list: %s", line);
				return -1;
			}
		}
		q++;
	}
	if (*q != ' ') {
		snprintf(p->err, sizeof(p->err), "no value: %s", line);
		return -1;
	}
	sp = q + 1;
	v = strtod(sp, &end);
	if (end == sp || (*end && *end != ' ')) {
		snprintf(p->err, sizeof(p->err), "bad value: %s", line);
		return -1;
	}
	snprintf(base, sizeof(base), "%s", name);
	f = NULL;
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->fam[i].name, name) == 0)
			f = &p->fam[i];
	if (!f) {
		static const char *const sufs[] = {"_bucket", "_sum", "_count"};
		for (size_t s = 0; s < 3 && !f; s++)
			if (ends_with(name, sufs[s])) {
				base[strlen(name) - strlen(sufs[s])] = '\0';
				for (size_t i = 0; i < p->n; i++)
					if (strcmp(p->fam[i].name, base) == 0 &&
					    strcmp(p->fam[i].type, "histogram") == 0)
						f = &p->fam[i];
			}
	}
	if (!f || !f->help || !f->typed) {
		snprintf(p->err, sizeof(p->err), "sample without HELP/TYPE: %s", line);
		return -1;
	}
	if (strcmp(f->type, "histogram") == 0) {
		if (ends_with(name, "_bucket")) {
			double b = strcmp(le, "+Inf") == 0 ? 1e300 : strtod(le, NULL);
			if (!le[0] || v < p->last_bucket) {
				snprintf(p->err, sizeof(p->err), "bucket not cumulative: %s", line);
				return -1;
			}
			p->last_bucket = v;
			if (b >= 1e300) {
				p->saw_inf = true;
				p->inf_value = v;
			}
		} else if (ends_with(name, "_count")) {
			if (!p->saw_inf || v != p->inf_value) {
				snprintf(p->err, sizeof(p->err), "_count without matching +Inf bucket: %s",
					 line);
				return -1;
			}
		}
	}
	if (strcmp(f->type, "counter") == 0 && v < 0) {
		snprintf(p->err, sizeof(p->err), "negative counter: %s", line);
		return -1;
	}
	p->samples++;
	return 0;
}

static void prom_check(const char *text, struct prom *p)
{
	char *copy = strdup(text), *save = NULL;
	size_t len = strlen(text);

	assert_non_null(copy);
	memset(p, 0, sizeof(*p));
	p->last_bucket = -1;
	assert_true(len > 0 && text[len - 1] == '\n');
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (prom_line(p, line) < 0)
			fail_msg("%s", p->err);
	free(copy);
}

/* ---- /metrics ---- */

static void test_metrics_strict(void **state)
{
	struct aws_client_stats aws = {0};
	struct webhook_stats ws = {.delivered = 7, .failed_attempts = 2, .disabled = true, .failing = true};
	struct api_metrics_hook hooks[] = {{.name = "ops \"team\"\\x",
					    .sink = "webhook:ops \"team\"\\x",
					    .stats = &ws,
					    .backlog = 3,
					    .oldest_pending_age_ms = 42500}};
	struct discovery_stats ds = {
	    .listings = 4, .pages = 9, .last_listing_jobs = 150, .last_success_ms = 1700000000123};
	struct api_metrics_section secs[] = {{.name = "fleet", .stats = &ds}};
	struct tracker_stats ts = {.observations = 11};
	struct api_metrics_input in = {
	    .jobs_known = 5,
	    .has_events = true,
	    .events = {3, 2, 1, 0},
	    .tracker = &ts,
	    .aws = &aws,
	    .has_creds = true,
	    .creds_valid = true,
	    .creds_refreshes = 2,
	    .creds_expiry_ms = 1700003600000,
	    .hooks = hooks,
	    .n_hooks = 1,
	    .journal_backlog = 0,
	    .has_engine = true,
	    .engine = {.started_ms = 1700000000000,
		       .last_success_ms = 1700000001500,
		       .polls_failed = 4,
		       .breaker_state = "open",
		       .unavailable_since_ms = 1700000002000,
		       .last_service_failure_ms = 1700000003250,
		       .outages = 2},
	    .sections = secs,
	    .n_sections = 1,
	};
	struct dynbuf b;
	struct prom p;

	in.jobs_by_status[JOB_STATUS_ACTIVE] = 3;
	in.jobs_by_status[_JOB_STATUS_MAX_WITH_GONE] = 1;
	aws.requests[AWS_OP_GET][AWS_OK] = 10;
	aws.requests[AWS_OP_GET][AWS_THROTTLED] = 2;
	aws.requests[AWS_OP_LIST][AWS_OK] = 3;
	aws.retries = 2;
	aws.latency_buckets[0] = 5;
	aws.latency_buckets[3] = 4;
	aws.latency_buckets[AWS_LATENCY_BUCKETS] = 1;
	aws.latency_count = 10;
	aws.latency_sum_ms = 12345;

	dynbuf_init(&b, API_METRICS_MAX);
	assert_int_equal(api_metrics_render(&in, &b), 0);
	prom_check(b.data, &p);
	assert_true(p.samples > 50);
	const char *const want[] = {
	    "jobwatchd_build_info{version=\"" JW_VERSION "\"} 1\n",
	    "jobwatchd_jobs{status=\"ACTIVE\"} 3\n",
	    "jobwatchd_jobs{status=\"UNKNOWN\"} 1\n",
	    "jobwatchd_jobs{status=\"GONE\"} 0\n",
	    "jobwatchd_events_total{type=\"job.discovered\"} 3\n",
	    "jobwatchd_api_requests_total{operation=\"GetAudienceGenerationJob\",outcome=\"ok\"} 10\n",
	    "jobwatchd_api_requests_total{operation=\"GetAudienceGenerationJob\",outcome=\"throttled\"} 2\n",
	    "jobwatchd_api_requests_total{operation=\"ListAudienceGenerationJobs\",outcome=\"ok\"} 3\n",
	    "jobwatchd_api_retries_total 2\n",
	    "jobwatchd_aws_breaker_state{state=\"closed\"} 0\n",
	    "jobwatchd_aws_breaker_state{state=\"open\"} 1\n",
	    "jobwatchd_aws_breaker_state{state=\"half_open\"} 0\n",
	    "jobwatchd_aws_last_service_failure_timestamp_seconds 1700000003.250\n",
	    "jobwatchd_aws_unavailable_since_timestamp_seconds 1700000002.000\n",
	    "jobwatchd_aws_outages_total 2\n",
	    "jobwatchd_api_request_duration_seconds_bucket{le=\"0.005\"} 5\n",
	    "jobwatchd_api_request_duration_seconds_bucket{le=\"0.05\"} 9\n",
	    "jobwatchd_api_request_duration_seconds_bucket{le=\"10\"} 9\n",
	    "jobwatchd_api_request_duration_seconds_bucket{le=\"+Inf\"} 10\n",
	    "jobwatchd_api_request_duration_seconds_sum 12.345\n",
	    "jobwatchd_api_request_duration_seconds_count 10\n",
	    "jobwatchd_credential_refreshes_total 2\n",
	    "jobwatchd_credential_expiry_timestamp_seconds 1700003600.000\n",
	    "jobwatchd_webhook_deliveries_total{hook=\"ops \\\"team\\\"\\\\x\",outcome=\"delivered\"} 7\n",
	    "jobwatchd_webhook_disabled{hook=\"ops \\\"team\\\"\\\\x\"} 1\n",
	    "jobwatchd_webhook_failing{hook=\"ops \\\"team\\\"\\\\x\"} 1\n",
	    "jobwatchd_webhook_oldest_pending_age_seconds{hook=\"ops \\\"team\\\"\\\\x\"} 42.500\n",
	    "jobwatchd_outbox_backlog{sink=\"journal\"} 0\n",
	    "jobwatchd_outbox_backlog{sink=\"webhook:ops \\\"team\\\"\\\\x\"} 3\n",
	    "jobwatchd_last_successful_poll_timestamp_seconds 1700000001.500\n",
	    "jobwatchd_poll_failures_total 4\n",
	    "jobwatchd_discovery_pages_total{section=\"fleet\"} 9\n",
	    "jobwatchd_discovery_jobs{section=\"fleet\"} 150\n",
	    "# TYPE jobwatchd_api_request_duration_seconds histogram\n",
	    "# TYPE jobwatchd_events_total counter\n",
	};
	for (size_t i = 0; i < ELEMENTSOF(want); i++)
		if (!strstr(b.data, want[i]))
			fail_msg("missing line: %s", want[i]);
	dynbuf_free(&b);
}

static void test_metrics_empty_input(void **state)
{
	struct api_metrics_input in = {.journal_backlog = -1};
	struct dynbuf b;
	struct prom p;

	/* Nothing known yet: still a valid exposition with stable families. */
	dynbuf_init(&b, API_METRICS_MAX);
	assert_int_equal(api_metrics_render(&in, &b), 0);
	prom_check(b.data, &p);
	assert_non_null(strstr(b.data, "# TYPE jobwatchd_api_requests_total counter\n"));
	assert_null(strstr(b.data, "\njobwatchd_last_successful_poll_timestamp_seconds "));
	dynbuf_free(&b);

	/* A buffer too small is an error, not a truncated exposition. */
	dynbuf_init(&b, 256);
	assert_int_equal(api_metrics_render(&in, &b), -E2BIG);
	dynbuf_free(&b);
}

static void test_prom_checker_rejects(void **state)
{
	struct prom p = {.last_bucket = -1};
	const char *bad[] = {
	    "nofamily 1",
	    "# HELP x h",
	};

	/* The checker itself must fail on what it is there to catch. */
	assert_int_equal(prom_line(&p, bad[0]), -1);
	memset(&p, 0, sizeof(p));
	p.last_bucket = -1;
	assert_int_equal(prom_line(&p, "# HELP h_seconds x"), 0);
	assert_int_equal(prom_line(&p, "# TYPE h_seconds histogram"), 0);
	assert_int_equal(prom_line(&p, "h_seconds_bucket{le=\"1\"} 5"), 0);
	assert_int_equal(prom_line(&p, "h_seconds_bucket{le=\"2\"} 4"), -1);
	assert_int_equal(prom_line(&p, bad[1]), 0);
	assert_int_equal(prom_line(&p, "x{a=\"b\\q\"} 1"), -1);
	assert_int_equal(prom_line(&p, "x 1 2 3"), -1);
}

/* ---- /healthz ---- */

static void test_health(void **state)
{
	struct api_health_state st = {0};
	struct api_health_input in = {
	    .now_ms = 1000000,
	    .has_creds = true,
	    .creds_valid = true,
	    .pollable_jobs = 3,
	    .has_engine = true,
	    .engine = {.started_ms = 900000, .last_success_ms = 990000, .poll_interval_ms = 30000},
	    .has_aws = true,
	    .aws_ok = 10,
	};
	char reason[256];

	assert_true(api_health_eval(&in, &st, reason, sizeof(reason)));
	/* Only rejections since the last check: unhealthy. */
	in.aws_auth_failed = 4;
	assert_false(api_health_eval(&in, &st, reason, sizeof(reason)));
	assert_non_null(strstr(reason, "rejects the credentials"));
	/* No request in between: the verdict stands. */
	assert_false(api_health_eval(&in, &st, reason, sizeof(reason)));
	/* A success clears it. */
	in.aws_ok = 11;
	in.aws_auth_failed = 5;
	assert_true(api_health_eval(&in, &st, reason, sizeof(reason)));

	/* Credentials that cannot be obtained. */
	in.creds_valid = false;
	in.creds_error = "imds: connection refused";
	assert_false(api_health_eval(&in, &st, reason, sizeof(reason)));
	assert_non_null(strstr(reason, "imds: connection refused"));
	/* Not fetched yet and no error: not needed yet, fine. */
	in.creds_error = NULL;
	assert_true(api_health_eval(&in, &st, reason, sizeof(reason)));

	/* No success within 3 x max(interval, 60 s). */
	assert_int_equal(api_health_window_ms(30000), 180000);
	assert_int_equal(api_health_window_ms(600000), 1800000);
	in.now_ms = 990000 + 180001;
	assert_false(api_health_eval(&in, &st, reason, sizeof(reason)));
	assert_non_null(strstr(reason, "no successful AWS API call"));
	/* ... unless there is nothing to poll. */
	in.pollable_jobs = 0;
	assert_true(api_health_eval(&in, &st, reason, sizeof(reason)));
	in.discover_sections = 1;
	assert_false(api_health_eval(&in, &st, reason, sizeof(reason)));

	/* The monotonic quiet time wins over the wall clock: a clock stepped
	 * an hour ahead fakes no outage, one stepped back hides none. */
	in.engine.has_quiet = true;
	in.engine.quiet_ms = 1000;
	in.now_ms = 990000 + 3600000;
	assert_true(api_health_eval(&in, &st, reason, sizeof(reason)));
	in.now_ms = 990000 - 3600000;
	in.engine.quiet_ms = 180001;
	assert_false(api_health_eval(&in, &st, reason, sizeof(reason)));
	assert_non_null(strstr(reason, "no successful AWS API call for 180 s"));

	/* An open breaker gives its own reason at once. */
	in.engine.quiet_ms = 0;
	in.engine.unavailable_since_ms = 1705320000000;
	in.engine.outage_error = "503 Service Unavailable";
	assert_false(api_health_eval(&in, &st, reason, sizeof(reason)));
	assert_string_equal(reason,
			    "AWS API unavailable since 2024-01-15T12:00:00Z: 503 Service Unavailable");
}

/* ---- JSON ---- */

static void test_job_json(void **state)
{
	struct tracked_job j = {
	    .arn = (char *)ARN,
	    .name = (char *)"we\"ird\\name\n\x01",
	    .status = JOB_STATUS_CREATE_FAILED,
	    .status_code = (char *)"INTERNAL",
	    .update_time_ms = 1705320000123,
	    .status_since_ms = 1705320000123,
	    .last_poll_ms = 1705320060000,
	    .consecutive_failures = 2,
	    .poll_failures = 5,
	    .watched = true,
	    .source = "discover:fleet",
	};
	struct dynbuf b;
	cJSON *o;

	dynbuf_init(&b, 65536);
	assert_int_equal(api_job_to_json(&j, &b), 0);
	o = cJSON_Parse(b.data);
	assert_non_null(o);
	assert_string_equal(cJSON_GetObjectItem(o, "arn")->valuestring, ARN);
	assert_string_equal(cJSON_GetObjectItem(o, "name")->valuestring, "we\"ird\\name\n\x01");
	assert_string_equal(cJSON_GetObjectItem(o, "status")->valuestring, "CREATE_FAILED");
	assert_string_equal(cJSON_GetObjectItem(o, "statusCode")->valuestring, "INTERNAL");
	assert_string_equal(cJSON_GetObjectItem(o, "updateTime")->valuestring, "2024-01-15T12:00:00.123Z");
	assert_string_equal(cJSON_GetObjectItem(o, "lastPoll")->valuestring, "2024-01-15T12:01:00Z");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "lastSuccess")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "statusMessage")));
	assert_int_equal(cJSON_GetObjectItem(o, "failures")->valueint, 2);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "watched")));
	assert_string_equal(cJSON_GetObjectItem(o, "source")->valuestring, "discover:fleet");
	cJSON_Delete(o);
	dynbuf_free(&b);

	/* Never seen: status null. */
	j.status = JOB_STATUS_INVALID;
	dynbuf_init(&b, 65536);
	assert_int_equal(api_job_to_json(&j, &b), 0);
	o = cJSON_Parse(b.data);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "status")));
	cJSON_Delete(o);
	dynbuf_free(&b);
}

/* GET /v1/jobs/{arn}: the job's members, then the detail and the history
 * (every member present, null when unknown). */
static void test_job_detail_json(void **state)
{
	struct tracked_job j = {
	    .arn = (char *)ARN,
	    .status = JOB_STATUS_CREATE_IN_PROGRESS,
	    .last_poll_ms = 1705320060000,
	    .consecutive_failures = 1,
	    .last_error = (char *)"ValidationException: no",
	    .stuck_emitted = true,
	    .watched = true,
	    .source = "config",
	};
	struct store_history_delivery dl[2] = {
	    {.sink = (char *)"journal", .state = (char *)"done", .updated_ms = 1705320001000},
	    {.sink = (char *)"webhook:ops",
	     .state = (char *)"pending",
	     .attempts = 2,
	     .next_at_ms = 1705320090000,
	     .last_error = (char *)"HTTP 503"},
	};
	struct store_history_event ev[2] = {
	    {.id = (char *)"b",
	     .type = (char *)"job.stuck",
	     .previous_status = (char *)"CREATE_IN_PROGRESS",
	     .status = (char *)"CREATE_IN_PROGRESS",
	     .detected_ms = 1705320050000},
	    {.id = (char *)"a",
	     .type = (char *)"job.discovered",
	     .status = (char *)"CREATE_IN_PROGRESS",
	     .status_code = (char *)"C",
	     .status_message = (char *)"m\"x",
	     .update_time_ms = 1705320000000,
	     .detected_ms = 1705320000500,
	     .deliveries = dl,
	     .n_deliveries = 2},
	};
	struct api_job_detail d = {
	    .times = {.not_found_since_ms = 0, .next_poll_ms = 1705320061000},
	    .stuck_since_ms = 1705320050000,
	    .history = ev,
	    .n_history = 2,
	    .history_total = 7,
	};
	const cJSON *h, *x;
	struct dynbuf b;
	size_t limit = 99;
	cJSON *o;

	dynbuf_init(&b, 65536);
	assert_int_equal(api_job_detail_to_json(&j, &d, &b), 0);
	o = cJSON_Parse(b.data);
	assert_non_null(o);
	assert_string_equal(cJSON_GetObjectItem(o, "arn")->valuestring, ARN);
	assert_string_equal(cJSON_GetObjectItem(o, "status")->valuestring, "CREATE_IN_PROGRESS");
	assert_string_equal(cJSON_GetObjectItem(o, "lastPollResult")->valuestring, "failed");
	assert_string_equal(cJSON_GetObjectItem(o, "nextPoll")->valuestring, "2024-01-15T12:01:01Z");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "notFoundSince")));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "stuck")));
	assert_string_equal(cJSON_GetObjectItem(o, "stuckSince")->valuestring, "2024-01-15T12:00:50Z");
	assert_int_equal(cJSON_GetObjectItem(o, "historyTotal")->valueint, 7);
	h = cJSON_GetObjectItem(o, "history");
	assert_int_equal(cJSON_GetArraySize(h), 2);
	x = cJSON_GetArrayItem(h, 0);
	assert_string_equal(cJSON_GetObjectItem(x, "type")->valuestring, "job.stuck");
	assert_string_equal(cJSON_GetObjectItem(x, "eventId")->valuestring, "b");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(x, "deliveries")), 0);
	x = cJSON_GetArrayItem(h, 1);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(x, "previousStatus")));
	assert_string_equal(cJSON_GetObjectItem(x, "statusMessage")->valuestring, "m\"x");
	assert_string_equal(cJSON_GetObjectItem(x, "detected")->valuestring, "2024-01-15T12:00:00.500Z");
	x = cJSON_GetObjectItem(x, "deliveries");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(x, 0), "state")->valuestring, "done");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(x, 0), "nextAttempt")));
	x = cJSON_GetArrayItem(x, 1);
	assert_string_equal(cJSON_GetObjectItem(x, "sink")->valuestring, "webhook:ops");
	assert_int_equal(cJSON_GetObjectItem(x, "attempts")->valueint, 2);
	assert_string_equal(cJSON_GetObjectItem(x, "nextAttempt")->valuestring, "2024-01-15T12:01:30Z");
	assert_string_equal(cJSON_GetObjectItem(x, "lastError")->valuestring, "HTTP 503");
	cJSON_Delete(o);
	dynbuf_free(&b);

	/* Settled, polled fine, no history asked for: stuckSince null even
	 * if one was found, an empty history, no total without a store. */
	j.stuck_emitted = false;
	j.consecutive_failures = 0;
	d.n_history = 0;
	d.history_total = -1;
	dynbuf_init(&b, 65536);
	assert_int_equal(api_job_detail_to_json(&j, &d, &b), 0);
	o = cJSON_Parse(b.data);
	assert_non_null(o);
	assert_string_equal(cJSON_GetObjectItem(o, "lastPollResult")->valuestring, "ok");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "stuckSince")));
	assert_null(cJSON_GetObjectItem(o, "historyTotal"));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "history")), 0);
	cJSON_Delete(o);
	dynbuf_free(&b);

	assert_int_equal(api_history_limit_parse("0", &limit), 0);
	assert_int_equal(limit, 0);
	assert_int_equal(api_history_limit_parse("1000", &limit), 0);
	assert_int_equal(limit, 1000);
	assert_int_equal(api_history_limit_parse("1001", &limit), -EINVAL);
	assert_int_equal(api_history_limit_parse("-1", &limit), -EINVAL);
	assert_int_equal(api_history_limit_parse("+5", &limit), -EINVAL);
	assert_int_equal(api_history_limit_parse("5x", &limit), -EINVAL);
	assert_int_equal(api_history_limit_parse("", &limit), -EINVAL);
	assert_int_equal(api_history_limit_parse("99999999999999999999", &limit), -EINVAL);
	assert_int_equal(limit, 1000);
}

static void test_jobs_list_filter(void **state)
{
	struct tracker *t = NULL;
	struct job_observation obs = {.arn = (char *)ARN, .status = JOB_STATUS_ACTIVE, .update_time_ms = 5};
	struct dynbuf b;
	cJSON *a;
	int f;

	assert_int_equal(tracker_new(NULL, "us-east-1", 0, NULL, NULL, &t), 0);
	assert_int_equal(tracker_add(t, ARN, "api", NULL), 1);
	assert_int_equal(tracker_add(t, ARN "x", "config", NULL), 1);
	assert_true(tracker_observe(t, &obs, 1000, NULL) >= 0);

	dynbuf_init(&b, 1 << 20);
	assert_int_equal(api_jobs_to_json(t, API_STATUS_ANY, &b), 0);
	a = cJSON_Parse(b.data);
	assert_int_equal(cJSON_GetArraySize(a), 2);
	cJSON_Delete(a);

	dynbuf_reset(&b);
	assert_int_equal(api_status_filter_parse("ACTIVE", &f), 0);
	assert_int_equal(api_jobs_to_json(t, f, &b), 0);
	a = cJSON_Parse(b.data);
	assert_int_equal(cJSON_GetArraySize(a), 1);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(a, 0), "arn")->valuestring, ARN);
	cJSON_Delete(a);

	dynbuf_reset(&b);
	assert_int_equal(api_status_filter_parse("UNKNOWN", &f), 0);
	assert_int_equal(api_jobs_to_json(t, f, &b), 0);
	a = cJSON_Parse(b.data);
	assert_int_equal(cJSON_GetArraySize(a), 1);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(a, 0), "arn")->valuestring, ARN "x");
	cJSON_Delete(a);

	dynbuf_reset(&b);
	assert_int_equal(api_status_filter_parse("GONE", &f), 0);
	assert_int_equal(api_jobs_to_json(t, f, &b), 0);
	assert_string_equal(b.data, "[]");
	assert_int_equal(api_status_filter_parse("active", &f), -EINVAL);
	assert_int_equal(api_status_filter_parse("", &f), -EINVAL);
	dynbuf_free(&b);
	tracker_free(t);
}

/* ---- POST body ---- */

static void test_watch_request(void **state)
{
	const struct {
		const char *body;
		int want;
		const char *msg;
	} rows[] = {
	    {"{\"arn\": \"" ARN "\"}", 0, NULL},
	    {"{\"arn\": \"" ARN "\", \"extra\": [1,2]}", 0, NULL},
	    {"", -EINVAL, "expected a JSON body"},
	    {"{", -EINVAL, "not valid JSON"},
	    {"[\"" ARN "\"]", -EINVAL, "expected a JSON object"},
	    {"{\"arn\": 5}", -EINVAL, "missing string member"},
	    {"{\"ARN\": \"" ARN "\"}", -EINVAL, "missing string member"},
	    {"{\"arn\": \"arn:aws:s3:::bucket\"}", -EINVAL, "not an audience generation job ARN"},
	    {"{\"arn\": \"" ARN " x\"}", -EINVAL, "not an audience generation job ARN"},
	    {"{\"arn\": \"\"}", -EINVAL, "not an audience generation job ARN"},
	    {"null", -EINVAL, "expected a JSON object"},
	};
	char err[256], *arn;
	char *big;

	for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
		arn = NULL;
		err[0] = '\0';
		int r = api_parse_watch_request(rows[i].body, strlen(rows[i].body), &arn, err, sizeof(err));
		if (r != rows[i].want)
			fail_msg("row %zu (%s): got %d (%s), want %d", i, rows[i].body, r, err,
				 rows[i].want);
		if (r == 0) {
			assert_string_equal(arn, ARN);
			free(arn);
		} else {
			assert_null(arn);
			if (!strstr(err, rows[i].msg))
				fail_msg("row %zu: message \"%s\" lacks \"%s\"", i, err, rows[i].msg);
		}
	}
	/* An embedded NUL must not cut the body short silently. */
	assert_int_equal(api_parse_watch_request("{\"arn\": \"" ARN "\"}\0junk",
						 sizeof("{\"arn\": \"" ARN "\"}"), &arn, err, sizeof(err)),
			 -EINVAL);
	/* Over the cap. */
	big = malloc(API_BODY_MAX + 2);
	assert_non_null(big);
	memset(big, ' ', API_BODY_MAX + 1);
	big[API_BODY_MAX + 1] = '\0';
	assert_int_equal(api_parse_watch_request(big, API_BODY_MAX + 1, &arn, err, sizeof(err)), -E2BIG);
	free(big);
}

static void test_bearer(void **state)
{
	assert_true(api_bearer_ok("Bearer s3cret", "s3cret"));
	assert_true(api_bearer_ok("bearer s3cret", "s3cret"));
	assert_false(api_bearer_ok("Bearer s3cre", "s3cret"));
	assert_false(api_bearer_ok("Bearer s3cretX", "s3cret"));
	assert_false(api_bearer_ok("Bearer S3cret", "s3cret"));
	assert_false(api_bearer_ok("Basic s3cret", "s3cret"));
	assert_false(api_bearer_ok("s3cret", "s3cret"));
	assert_false(api_bearer_ok(NULL, "s3cret"));
	assert_false(api_bearer_ok("Bearer ", ""));
}

static void test_json_string(void **state)
{
	struct dynbuf b;

	dynbuf_init(&b, 256);
	assert_int_equal(api_json_error(&b, "bad \"x\"\t"), 0);
	assert_string_equal(b.data, "{\"error\":\"bad \\\"x\\\"\\u0009\"}");
	dynbuf_free(&b);
}

static void test_retry_path(void **state)
{
	static const struct {
		const char *rest;
		int r;
		const char *name; /* NULL: every hook */
	} cases[] = {
	    {"/retry", 0, NULL},
	    {"/ops/retry", 0, "ops"},
	    {"/ops%2Fx/retry", 0, "ops%2Fx"}, /* microhttpd has decoded the path already */
	    {"", -ENOENT, NULL},
	    {"/", -ENOENT, NULL},
	    {"retry", -ENOENT, NULL},
	    {"//retry", -ENOENT, NULL},
	    {"/a/b/retry", -ENOENT, NULL},
	    {"/ops/retryx", -ENOENT, NULL},
	    {"x/retry", -ENOENT, NULL},
	    {"/ops", -ENOENT, NULL},
	};
	struct dynbuf b;

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		char *name = (char *)"unset";
		int r = api_parse_retry_path(cases[i].rest, &name);

		assert_int_equal(r, cases[i].r);
		if (cases[i].name)
			assert_string_equal(name, cases[i].name);
		else
			assert_null(name);
		free(name);
	}
	dynbuf_init(&b, 1024);
	assert_int_equal(api_retry_to_json(&b, "o\"ps", 7), 0);
	assert_string_equal(b.data, "{\"webhook\":\"o\\\"ps\",\"retried\":7}");
	dynbuf_reset(&b);
	assert_int_equal(api_retry_to_json(&b, NULL, 0), 0);
	assert_string_equal(b.data, "{\"webhook\":null,\"retried\":0}");
	dynbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_metrics_strict),
	    cmocka_unit_test(test_metrics_empty_input),
	    cmocka_unit_test(test_prom_checker_rejects),
	    cmocka_unit_test(test_health),
	    cmocka_unit_test(test_job_json),
	    cmocka_unit_test(test_job_detail_json),
	    cmocka_unit_test(test_jobs_list_filter),
	    cmocka_unit_test(test_watch_request),
	    cmocka_unit_test(test_bearer),
	    cmocka_unit_test(test_json_string),
	    cmocka_unit_test(test_retry_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
