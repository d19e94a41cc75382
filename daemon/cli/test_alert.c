/* `jobwatchd test-alert [-c FILE] [--hook NAME]`: sends one synthetic event
 * (a job that "failed", marked as a test everywhere a person reads it)
 * through the journal and every hook of the configuration, or only the named
 * hook, and prints what each answered.  Nothing is stored: the state database
 * is not opened, so it runs beside the daemon.  Exit 0 when every sink took
 * it, 1 when one did not, 2 on a usage error. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "config.h"
#include "event.h"
#include "http.h"
#include "log.h"
#include "notify/journal.h"
#include "notify/payload.h"
#include "notify/sign.h"
#include "notify/webhook_request.h"
#include "util.h"

#define TEST_ARN_ACCOUNT "000000000000"
#define TEST_JOB_ID	 "jobwatchd-test-alert"
#define TEST_CODE	 "JOBWATCHD_TEST_ALERT"
#define TEST_MESSAGE	 "a test alert sent by jobwatchd test-alert: no job changed"

struct probe {
	const char *what; /* "webhook ops", "alertmanager am (host)" */
	char label[300];
	bool done;
	bool ok;
	char result[300];
	int64_t started_ms;
};

static void on_done(void *userdata, const struct http_response *resp)
{
	struct probe *p = userdata;
	int64_t ms = (int64_t)now_monotonic_ms() - p->started_ms;

	p->done = true;
	if (resp->error != HTTP_OK) {
		snprintf(p->result, sizeof(p->result), "%s: %s", http_error_to_string(resp->error),
			 resp->error_text);
		return;
	}
	p->ok = resp->status >= 200 && resp->status < 300;
	snprintf(p->result, sizeof(p->result), "HTTP %ld in %lld ms", resp->status, (long long)ms);
}

static struct event *test_event(const char *region)
{
	struct event *e = calloc(1, sizeof(*e));
	struct job_observation *o = calloc(1, sizeof(*o));
	int64_t now = (int64_t)now_realtime_ms();

	if (!e || !o) {
		free(e);
		free(o);
		return NULL;
	}
	e->job = o;
	e->type = EVENT_JOB_STATUS_CHANGED;
	e->previous_status = JOB_STATUS_CREATE_IN_PROGRESS;
	e->status = o->status = JOB_STATUS_CREATE_FAILED;
	e->detected_ms = now;
	o->update_time_ms = o->create_time_ms = now;
	e->region = strdup(region);
	if (asprintf(&o->arn,
		     "arn:aws:cleanrooms-ml:%s:" TEST_ARN_ACCOUNT ":audience-generation-job/" TEST_JOB_ID,
		     region) < 0)
		o->arn = NULL;
	o->name = strdup("jobwatchd test alert (not a real job)");
	o->status_code = strdup(TEST_CODE);
	o->status_message = strdup(TEST_MESSAGE);
	if (!e->region || !o->arn || !o->name || !o->status_code || !o->status_message)
		return event_free(e);
	event_compute_id(o->arn, e->previous_status, e->status, now, e->type, e->id);
	return e;
}

/* One alert for Alertmanager's API: the same identity labels as a real one,
 * but its own alertname (JobwatchdTestAlert, severity info) so that no route
 * for real failures pages anyone; it ends by itself after 5 minutes. */
static char *test_alert_body(const struct event *e)
{
	struct payload_alert pa = {
	    .alertname = "JobwatchdTestAlert",
	    .arn = e->job->arn,
	    .name = e->job->name,
	    .region = e->region,
	    .status = job_status_to_string(e->status),
	    .previous_status = job_status_to_string(e->previous_status),
	    .status_code = e->job->status_code,
	    .status_message = e->job->status_message,
	    .summary = "jobwatchd test alert: the path to Alertmanager works",
	    .event_id = e->id,
	};
	cJSON *a = payload_alert_build(&pa, PAYLOAD_MAX_MESSAGE), *arr;
	char starts[40], ends[40];
	char *out;

	if (!a)
		return NULL;
	cJSON_ReplaceItemInObject(cJSON_GetObjectItemCaseSensitive(a, "labels"), "severity",
				  cJSON_CreateString("info"));
	format_iso8601_ms(e->detected_ms, starts, sizeof(starts));
	format_iso8601_ms(e->detected_ms + 5 * 60 * 1000, ends, sizeof(ends));
	cJSON_AddStringToObject(a, "startsAt", starts);
	cJSON_AddStringToObject(a, "endsAt", ends);
	arr = cJSON_CreateArray();
	if (!arr) {
		cJSON_Delete(a);
		return NULL;
	}
	cJSON_AddItemToArray(arr, a);
	out = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	return out;
}

static int usage_error(void)
{
	fprintf(stderr, "Usage: jobwatchd test-alert [-c FILE] [--hook NAME]\n");
	return 2;
}

/* Starts the POSTs of one hook: one for a webhook, one per URL for an
 * Alertmanager hook.  Returns how many probes it filled, or -1. */
static int start_hook(struct http_ctx *http, const struct config *cfg, const struct config_webhook *w,
		      const struct event *e, struct probe *probes, size_t room)
{
	struct sign_key key = {0};
	char **headers = NULL, err[256];
	_cleanup_free_ char *body = NULL;
	int n = 0, r;

	if (w->secret_file && sign_key_load_file(w->secret_file, &key, err, sizeof(err)) < 0) {
		printf("  webhook %s: FAILED: %s\n", w->name, err);
		return -1;
	}
	if (w->headers_file && sign_headers_load_file(w->headers_file, &headers, err, sizeof(err)) < 0) {
		sign_key_wipe(&key);
		printf("  webhook %s: FAILED: %s\n", w->name, err);
		return -1;
	}
	body = w->format == PAYLOAD_FORMAT_ALERTMANAGER ? test_alert_body(e) : payload_build(w->format, e);
	for (const char *u = w->url; body && *u && (size_t)n < room;) {
		_cleanup_free_ char *one = NULL, *url = NULL;
		size_t len;
		struct probe *p = &probes[n];

		u += strspn(u, " \t");
		len = strcspn(u, " \t");
		if (len == 0)
			break;
		one = strndup(u, len);
		u += len;
		if (!one)
			break;
		if (w->format == PAYLOAD_FORMAT_ALERTMANAGER) {
			while (strlen(one) > 0 && one[strlen(one) - 1] == '/')
				one[strlen(one) - 1] = 0;
			if (asprintf(&url, "%s/api/v2/alerts", one) < 0)
				break;
			/* The base URL may carry credentials: show the host only. */
			snprintf(p->label, sizeof(p->label), "alertmanager %s (%s)", w->name,
				 strchr(one, '@') ? strchr(one, '@') + 1 : one);
		} else {
			url = strdup(one);
			snprintf(p->label, sizeof(p->label), "webhook %s (%s)", w->name,
				 payload_format_to_string(w->format));
		}
		if (!url)
			break;
		struct webhook_target t = {
		    .url = url,
		    .ca_file = cfg->aws.ca_file,
		    .key = w->secret_file ? &key : NULL,
		    .extra = headers,
		    .timeout_ms = w->timeout_ms,
		};
		p->started_ms = (int64_t)now_monotonic_ms();
		r = webhook_request_submit(http, &t, e->id, body, on_done, p, NULL);
		if (r < 0) {
			p->done = true;
			snprintf(p->result, sizeof(p->result), "cannot start the request: %s", strerror(-r));
		}
		n++;
	}
	sign_key_wipe(&key);
	sign_headers_free(headers);
	if (!body) {
		printf("  webhook %s: FAILED: cannot build the body\n", w->name);
		return -1;
	}
	return n;
}

int cli_test_alert(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"hook", required_argument, NULL, 'H'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = CONFIG_DEFAULT_PATH, *only = NULL;
	struct config_diag diag = {0};
	struct config *cfg = NULL;
	struct probe probes[64] = {{0}};
	struct http_ctx *http = NULL;
	struct event *e = NULL;
	uv_loop_t loop;
	size_t n = 0;
	int c, r, failures = 0;
	bool found = false;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (c == 'c') {
			path = optarg;
		} else if (c == 'H') {
			only = optarg;
		} else if (c == 'h') {
			printf("Usage: jobwatchd test-alert [-c FILE] [--hook NAME]\n"
			       "  -c, --config FILE  the configuration (default %s)\n"
			       "  --hook NAME        only this [webhook \"NAME\"] (journal: the journal)\n"
			       "Sends one made-up event, marked as a test, through the journal and every "
			       "hook,\n"
			       "and prints what each answered.  Exit 0 when every sink took it.\n",
			       CONFIG_DEFAULT_PATH);
			return 0;
		} else {
			return usage_error();
		}
	}
	if (optind < argc)
		return usage_error();
	r = config_load(path, false, &cfg, &diag);
	for (size_t i = 0; i < diag.n_errors; i++)
		fprintf(stderr, "%s\n", diag.errors[i]);
	config_diag_done(&diag);
	if (r < 0) {
		fprintf(stderr, "jobwatchd: test-alert: %s is not valid\n", path);
		return 1;
	}
	e = test_event(cfg->aws.region ? cfg->aws.region : "us-east-1");
	if (!e || uv_loop_init(&loop) < 0) {
		event_free(e);
		config_free(cfg);
		fprintf(stderr, "jobwatchd: test-alert: out of memory\n");
		return 1;
	}
	struct http_ctx_options ho = {.max_connections = 16, .user_agent = "jobwatchd/" JW_VERSION};
	r = http_ctx_new(&loop, &ho, &http);

	printf("jobwatchd test-alert: event %s (a made-up CREATE_FAILED, status code %s)\n", e->id,
	       TEST_CODE);
	if (cfg->journal_enabled && (!only || strcmp(only, "journal") == 0)) {
		found = true;
		if (journal_send_event(e) < 0) {
			printf("  journal: FAILED\n");
			failures++;
		} else {
			printf("  journal: %s\n", log_journal_available()
						      ? "sent (journalctl MESSAGE_ID=... EVENT_ID=...)"
						      : "journald is not running: written to stderr");
		}
	}
	for (size_t i = 0; r >= 0 && i < cfg->n_webhooks; i++) {
		const struct config_webhook *w = &cfg->webhooks[i];
		int k;
		if (only && strcmp(only, w->name) != 0)
			continue;
		found = true;
		k = start_hook(http, cfg, w, e, probes + n, ELEMENTSOF(probes) - n);
		if (k < 0)
			failures++;
		else
			n += (size_t)k;
	}
	for (bool pending = true; pending;) {
		pending = false;
		for (size_t i = 0; i < n; i++)
			pending |= !probes[i].done;
		if (pending)
			uv_run(&loop, UV_RUN_ONCE);
	}
	for (size_t i = 0; i < n; i++) {
		printf("  %s: %s%s\n", probes[i].label, probes[i].ok ? "" : "FAILED: ", probes[i].result);
		failures += !probes[i].ok;
	}
	http_ctx_free(http);
	uv_run(&loop, UV_RUN_DEFAULT);
	(void)uv_loop_close(&loop);
	event_free(e);
	config_free(cfg);
	if (!found) {
		fprintf(stderr, "jobwatchd: test-alert: %s\n",
			only ? "no such hook (nor journal) in the configuration" : "nothing to send to");
		return 1;
	}
	return failures ? 1 : 0;
}
