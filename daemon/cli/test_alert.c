/* `jobwatchd test-alert [-c FILE] [--hook NAME]`: sends one synthetic event
 * (a job that "failed", marked as a test everywhere a person reads it)
 * through the journal, every hook and every [eventbridge] bus of the
 * configuration, or only the named one, and prints what each answered.  A
 * bus gets one PutEvents request made and signed as the sink makes it
 * (notify/eventbridge_request.h), with the daemon's region, endpoint and
 * credential chain.  Nothing is stored: the state database
 * is not opened, so it runs beside the daemon.  Exit 0 when every sink took
 * it, 1 when one did not, 2 on a usage error. */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <uv.h>

#include <cjson/cJSON.h>

#include "aws/client.h"
#include "aws/endpoint.h"
#include "aws/errors.h"
#include "aws/setup.h"
#include "aws/sigv4.h"
#include "cli/cli.h"
#include "config.h"
#include "creds.h"
#include "event.h"
#include "http.h"
#include "log.h"
#include "notify/eventbridge_entry.h"
#include "notify/eventbridge_request.h"
#include "notify/journal.h"
#include "notify/payload.h"
#include "notify/sign.h"
#include "notify/webhook_request.h"
#include "util.h"

#define TEST_ARN_ACCOUNT "000000000000"
#define TEST_JOB_ID	 "jobwatchd-test-alert"
#define TEST_CODE	 "JOBWATCHD_TEST_ALERT"
#define TEST_MESSAGE	 "a test alert sent by jobwatchd test-alert: no job changed"

/* What the [eventbridge] buses share: the daemon's AWS stack, or why there
 * is none. */
struct buses {
	struct http_ctx *http;
	struct aws_endpoint api; /* the daemon's region */
	struct aws_endpoint endpoint;
	struct sigv4_signer *signer;
	struct creds *creds;
	struct aws_client *client;
	struct eventbridge_target target;
	bool set_up;
	char error[512]; /* set: no bus can be tried */
};

struct probe {
	char label[600]; /* "webhook ops (json)", "alertmanager am (host)", "eventbridge NAME (BUS)" */
	bool done;
	bool ok;
	char result[1024];
	int64_t started_ms;
	/* A bus: its request body, sent once the credentials are there. */
	struct buses *buses;
	char *body;
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

static void probe_end(struct probe *p, bool ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void probe_end(struct probe *p, bool ok, const char *fmt, ...)
{
	va_list ap;

	p->done = true;
	p->ok = ok;
	va_start(ap, fmt);
	vsnprintf(p->result, sizeof(p->result), fmt, ap);
	va_end(ap);
}

/* The bus's answer: the entry accepted (its EventId) or refused (the
 * ErrorCode), or the request failed (the status and AWS error type, or the
 * transport error). */
static void on_bus_done(void *userdata, const struct http_response *resp)
{
	struct probe *p = userdata;
	long long ms = (long long)((int64_t)now_monotonic_ms() - p->started_ms);
	struct eventbridge_outcome o = {0};
	struct aws_error err;
	char why[700];

	if (resp->error != HTTP_OK || resp->status < 200 || resp->status >= 300) {
		eventbridge_request_failure(resp, &err, why, sizeof(why));
		probe_end(p, false, "request failed: %s", why);
	} else if (eventbridge_response_parse(resp->body, resp->body_len, 1, &o) < 0) {
		probe_end(p, false, "HTTP %ld in %lld ms, but not a PutEvents answer", resp->status, ms);
	} else if (o.error_code[0]) {
		probe_end(p, false, "entry refused: %s: %s", o.error_code,
			  o.error_message[0] ? o.error_message : "(no message)");
	} else {
		probe_end(p, true, "accepted, EventId %s (HTTP %ld in %lld ms)", o.event_id, resp->status,
			  ms);
	}
}

static void on_bus_creds(void *userdata, int error, const struct aws_credentials *cr)
{
	struct probe *p = userdata;
	const char *why;
	int r;

	if (error < 0) {
		/* The chain's message names sources and files, never secrets. */
		why = creds_last_error(p->buses->creds);
		probe_end(p, false, "no AWS credentials: %s", why ? why : strerror(-error));
		return;
	}
	p->started_ms = (int64_t)now_monotonic_ms();
	r = eventbridge_request_submit(p->buses->http, &p->buses->target, cr, p->body, strlen(p->body),
				       on_bus_done, p, NULL);
	if (r < 0)
		probe_end(p, false, "cannot start the request: %s", strerror(-r));
}

/* The daemon's AWS stack, as the engine builds it: its region, the events
 * endpoint ($AWS_ENDPOINT_URL_EVENTBRIDGE, $AWS_ENDPOINT_URL...), its
 * credential chain.  A failure is said on every bus. */
static void buses_setup(struct buses *b, uv_loop_t *loop, const struct config *cfg, struct http_ctx *http)
{
	struct aws_settings as;
	char region[64], err[512];
	int r;

	b->set_up = true;
	b->http = http;
	/* It holds credentials as the daemon does: no core dump or same-user
	 * ptrace may copy them. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	aws_settings_from_config(cfg, &as);
	as.fallback_region = aws_region_of_jobs(cfg, region, sizeof(region));
	r = aws_settings_resolve_endpoint(&as, &b->api, err, sizeof(err));
	if (r >= 0)
		r = aws_settings_service_endpoint(&aws_service_eventbridge, &as, b->api.region, &b->endpoint,
						  err, sizeof(err));
	if (r >= 0) {
		r = sigv4_signer_new(b->endpoint.region, EVENTBRIDGE_SIGNING_NAME, &b->signer);
		if (r < 0)
			snprintf(err, sizeof(err), "cannot set up signing: %s", strerror(-r));
	}
	if (r >= 0)
		r = aws_stack_parts_new(loop, &as, &b->api, &b->http, &b->creds, &b->client, err,
					sizeof(err));
	if (r < 0) {
		snprintf(b->error, sizeof(b->error), "%s", err);
		return;
	}
	b->target = (struct eventbridge_target){
	    .endpoint = &b->endpoint,
	    .signer = b->signer,
	    .ca_file = cfg->aws.ca_file,
	    .timeout_ms = cfg->aws.timeout_ms,
	    .clock = aws_client_clock(b->client),
	};
}

static void buses_done(struct buses *b)
{
	b->client = aws_client_free(b->client);
	b->creds = creds_free(b->creds);
	b->signer = sigv4_signer_free(b->signer);
	aws_endpoint_done(&b->endpoint);
	aws_endpoint_done(&b->api);
}

/* Starts one bus's PutEvents: the test event as the sink's entry, after
 * the credentials. */
static void start_bus(struct buses *b, const struct config_eventbridge *eb, const struct event *e,
		      struct probe *p)
{
	_cleanup_free_ char *entry = NULL;
	char err[512];
	int r;

	snprintf(p->label, sizeof(p->label), "eventbridge %s (%s)", eb->name, eb->event_bus);
	p->buses = b;
	p->started_ms = (int64_t)now_monotonic_ms();
	if (b->error[0]) {
		probe_end(p, false, "%s", b->error);
		return;
	}
	if (config_eventbridge_check_region(eb, b->endpoint.region, err, sizeof(err)) < 0) {
		probe_end(p, false, "%s", err);
		return;
	}
	errno = 0;
	entry = eventbridge_entry_build(e, eb->event_bus, eb->source);
	if (!entry) {
		probe_end(p, false, "cannot build the entry: %s", strerror(errno ? errno : ENOMEM));
		return;
	}
	if (asprintf(&p->body, "{\"Entries\":[%s]}", entry) < 0) {
		p->body = NULL;
		probe_end(p, false, "out of memory");
		return;
	}
	r = creds_request(b->creds, on_bus_creds, p);
	if (r < 0)
		probe_end(p, false, "no AWS credentials: %s", strerror(-r));
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
	struct probe probes[64] = {};
	struct http_ctx *http = NULL;
	struct event *e = NULL;
	struct buses buses = {0};
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
			printf(
			    "Usage: jobwatchd test-alert [-c FILE] [--hook NAME]\n"
			    "  -c, --config FILE  the configuration (default %s)\n"
			    "  --hook NAME        only this [webhook \"NAME\"] or [eventbridge \"NAME\"]\n"
			    "                     (journal: the journal)\n"
			    "Sends one made-up event, marked as a test, through the journal, every hook\n"
			    "and every EventBridge bus, and prints what each answered.  Exit 0 when\n"
			    "every sink took it.\n",
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
	for (size_t i = 0; r >= 0 && i < cfg->n_eventbridges && n < ELEMENTSOF(probes); i++) {
		const struct config_eventbridge *eb = &cfg->eventbridges[i];
		if (only && strcmp(only, eb->name) != 0)
			continue;
		found = true;
		if (!buses.set_up)
			buses_setup(&buses, &loop, cfg, http);
		start_bus(&buses, eb, e, &probes[n++]);
	}
	/* Not UV_RUN_DEFAULT: the credential chain may keep a refresh timer. */
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
	for (size_t i = 0; i < n; i++)
		free(probes[i].body);
	buses_done(&buses);
	http_ctx_free(http);
	uv_run(&loop, UV_RUN_DEFAULT);
	(void)uv_loop_close(&loop);
	event_free(e);
	config_free(cfg);
	if (!found) {
		fprintf(stderr, "jobwatchd: test-alert: %s\n",
			only ? "no such hook or eventbridge section (nor journal) in the configuration"
			     : "nothing to send to");
		return 1;
	}
	return failures ? 1 : 0;
}
