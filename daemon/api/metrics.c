/* /metrics in the Prometheus text format 0.0.4, and the /healthz verdict. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api/render.h"
#include "notify/journal.h"

/* Label values: backslash, double quote and line feed are escaped. */
static int label_value(struct dynbuf *b, const char *v)
{
	int r = 0;

	for (const char *p = v ? v : ""; *p && r >= 0; p++) {
		if (*p == '\\')
			r = dynbuf_appends(b, "\\\\");
		else if (*p == '"')
			r = dynbuf_appends(b, "\\\"");
		else if (*p == '\n')
			r = dynbuf_appends(b, "\\n");
		else
			r = dynbuf_append(b, p, 1);
	}
	return r;
}

static int family(struct dynbuf *b, const char *name, const char *type, const char *help)
{
	return dynbuf_appendf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{k1="v1",k2="v2"} value -- labels as NULL-terminated k, v pairs. */
static int sample_labels(struct dynbuf *b, const char *name, const char *const *labels, const char *value)
{
	int r = dynbuf_appends(b, name);

	if (r >= 0 && labels && labels[0]) {
		r = dynbuf_appends(b, "{");
		for (size_t i = 0; r >= 0 && labels[i]; i += 2) {
			r = dynbuf_appendf(b, "%s%s=\"", i ? "," : "", labels[i]);
			if (r >= 0)
				r = label_value(b, labels[i + 1]);
			if (r >= 0)
				r = dynbuf_appends(b, "\"");
		}
		if (r >= 0)
			r = dynbuf_appends(b, "}");
	}
	if (r >= 0)
		r = dynbuf_appendf(b, " %s\n", value);
	return r;
}

static int sample_u64(struct dynbuf *b, const char *name, const char *const *labels, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return sample_labels(b, name, labels, buf);
}

static int sample_double(struct dynbuf *b, const char *name, const char *const *labels, double v)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%.17g", v);
	return sample_labels(b, name, labels, buf);
}

static int sample_seconds(struct dynbuf *b, const char *name, const char *const *labels, int64_t ms)
{
	char buf[48];

	snprintf(buf, sizeof(buf), "%" PRId64 ".%03d", ms / 1000, (int)(ms % 1000));
	return sample_labels(b, name, labels, buf);
}

static int render_jobs(const struct api_metrics_input *in, struct dynbuf *b)
{
	int r = family(b, "jobwatchd_jobs", "gauge",
		       "Watched jobs by status (UNKNOWN: not polled successfully yet).");

	for (int s = 0; r >= 0 && s <= _JOB_STATUS_MAX_WITH_GONE; s++) {
		const char *name =
		    s < _JOB_STATUS_MAX_WITH_GONE ? job_status_to_string((enum job_status)s) : "UNKNOWN";
		const char *l[] = {"status", name, NULL};
		r = sample_u64(b, "jobwatchd_jobs", l, in->jobs_by_status[s]);
	}
	if (r >= 0)
		r = family(b, "jobwatchd_jobs_by_kind", "gauge",
			   "Watched jobs by resource kind (audience-generation-job, trained-model, ...).");
	for (int k = 0; r >= 0 && k < _KIND_MAX; k++) {
		const char *l[] = {"kind", resource_kind_to_string((enum resource_kind)k), NULL};
		r = sample_u64(b, "jobwatchd_jobs_by_kind", l, in->jobs_by_kind[k]);
	}
	if (r >= 0)
		r = family(b, "jobwatchd_jobs_known", "gauge", "Jobs in the state table, watched or not.");
	if (r >= 0)
		r = sample_u64(b, "jobwatchd_jobs_known", NULL, in->jobs_known);
	if (r >= 0)
		r = family(b, "jobwatchd_events_total", "counter",
			   "Events recorded in the state database, by type.");
	for (int t = 0; r >= 0 && in->has_events && t < _EVENT_TYPE_MAX; t++) {
		const char *l[] = {"type", event_type_to_string((enum event_type)t), NULL};
		r = sample_u64(b, "jobwatchd_events_total", l,
			       in->events[t] > 0 ? (uint64_t)in->events[t] : 0);
	}
	if (r >= 0)
		r = family(b, "jobwatchd_observations_total", "counter",
			   "Job observations compared with the stored state.");
	if (r >= 0 && in->tracker)
		r = sample_u64(b, "jobwatchd_observations_total", NULL, in->tracker->observations);
	if (r >= 0)
		r = family(b, "jobwatchd_stale_observations_total", "counter",
			   "Observations older than the stored state (ignored).");
	if (r >= 0 && in->tracker)
		r = sample_u64(b, "jobwatchd_stale_observations_total", NULL,
			       in->tracker->stale_observations);
	return r;
}

static int render_aws(const struct api_metrics_input *in, struct dynbuf *b)
{
	const struct aws_client_stats *s = in->aws;
	uint64_t cum = 0;
	int r = family(b, "jobwatchd_api_requests_total", "counter",
		       "AWS API requests (HTTP attempts) by operation and outcome.");

	for (int op = 0; r >= 0 && s && op < _AWS_OP_MAX; op++)
		for (int o = 0; r >= 0 && o < _AWS_OUTCOME_MAX; o++) {
			const char *l[] = {"operation", aws_op_to_string((enum aws_op)op), "outcome",
					   aws_outcome_to_string((enum aws_outcome)o), NULL};
			r = sample_u64(b, "jobwatchd_api_requests_total", l, s->requests[op][o]);
		}
	if (r >= 0)
		r = family(b, "jobwatchd_api_retries_total", "counter", "AWS API requests retried.");
	if (r >= 0 && s)
		r = sample_u64(b, "jobwatchd_api_retries_total", NULL, s->retries);
	if (r >= 0)
		r = family(b, "jobwatchd_api_throttles_total", "counter",
			   "AWS API requests answered with throttling.");
	if (r >= 0 && s)
		r = sample_u64(b, "jobwatchd_api_throttles_total", NULL, s->throttles);
	if (r >= 0)
		r = family(
		    b, "jobwatchd_api_list_entries_skipped_total", "counter",
		    "List entries that did not fit the service model (skipped; the rest of the page is "
		    "used).");
	if (r >= 0 && s)
		r = sample_u64(b, "jobwatchd_api_list_entries_skipped_total", NULL, s->list_entries_skipped);
	if (r >= 0)
		r = family(
		    b, "jobwatchd_api_request_rate_limit", "gauge",
		    "The client's current request rate ceiling in requests per second (0: unlimited).");
	if (r >= 0 && s)
		r = sample_double(b, "jobwatchd_api_request_rate_limit", NULL,
				  s->current_rate > 0 ? s->current_rate : 0);
	if (r >= 0)
		r = family(
		    b, "jobwatchd_api_clock_offset_seconds", "gauge",
		    "The service's clock minus the local one, as used for signing (0 until they differ by "
		    "5 minutes).");
	if (r >= 0 && s)
		r = sample_double(b, "jobwatchd_api_clock_offset_seconds", NULL,
				  (double)s->clock_offset_ms / 1000.0);
	if (r >= 0)
		r = family(b, "jobwatchd_api_requests_in_flight", "gauge", "AWS API requests in flight.");
	if (r >= 0 && s)
		r = sample_u64(b, "jobwatchd_api_requests_in_flight", NULL, s->inflight);
	if (r >= 0)
		r = family(b, "jobwatchd_api_requests_queued", "gauge",
			   "AWS API calls waiting for the rate limit, a backoff or credentials.");
	if (r >= 0 && s)
		r = sample_u64(b, "jobwatchd_api_requests_queued", NULL, s->queued);

	if (r >= 0)
		r = family(b, "jobwatchd_api_request_duration_seconds", "histogram",
			   "AWS API request latency.");
	for (int i = 0; r >= 0 && s && i <= AWS_LATENCY_BUCKETS; i++) {
		char le[32];
		const char *l[] = {"le", le, NULL};

		if (i < AWS_LATENCY_BUCKETS)
			snprintf(le, sizeof(le), "%g", (double)aws_latency_bounds_ms[i] / 1000.0);
		else
			snprintf(le, sizeof(le), "+Inf");
		cum += s->latency_buckets[i];
		r = sample_u64(b, "jobwatchd_api_request_duration_seconds_bucket", l, cum);
	}
	if (r >= 0 && s)
		r = sample_seconds(b, "jobwatchd_api_request_duration_seconds_sum", NULL,
				   (int64_t)s->latency_sum_ms);
	if (r >= 0 && s)
		r = sample_u64(b, "jobwatchd_api_request_duration_seconds_count", NULL, cum);
	return r;
}

static int render_creds(const struct api_metrics_input *in, struct dynbuf *b)
{
	int r = family(b, "jobwatchd_credential_refreshes_total", "counter",
		       "AWS credential fetches completed.");

	if (r >= 0 && in->has_creds)
		r = sample_u64(b, "jobwatchd_credential_refreshes_total", NULL, in->creds_refreshes);
	if (r >= 0)
		r = family(b, "jobwatchd_credential_expiry_timestamp_seconds", "gauge",
			   "Expiry of the current AWS credentials (absent when they do not expire).");
	if (r >= 0 && in->has_creds && in->creds_expiry_ms > 0)
		r = sample_seconds(b, "jobwatchd_credential_expiry_timestamp_seconds", NULL,
				   in->creds_expiry_ms);
	if (r >= 0)
		r = family(b, "jobwatchd_credentials_valid", "gauge",
			   "1 when valid AWS credentials are at hand.");
	if (r >= 0 && in->has_creds)
		r = sample_u64(b, "jobwatchd_credentials_valid", NULL, in->creds_valid);
	return r;
}

static int render_hooks(const struct api_metrics_input *in, struct dynbuf *b)
{
	int r = family(b, "jobwatchd_webhook_deliveries_total", "counter",
		       "Webhook delivery attempts by hook and outcome.");

	for (size_t i = 0; r >= 0 && i < in->n_hooks; i++) {
		const struct webhook_stats *s = in->hooks[i].stats;
		const struct {
			const char *outcome;
			uint64_t v;
		} rows[] = {
		    {"delivered", s ? s->delivered : 0}, {"failed", s ? s->failed_attempts : 0},
		    {"parked", s ? s->parked : 0},	 {"dropped", s ? s->dropped : 0},
		    {"skipped", s ? s->skipped : 0},
		};
		for (size_t k = 0; r >= 0 && k < ELEMENTSOF(rows); k++) {
			const char *l[] = {"hook", in->hooks[i].name, "outcome", rows[k].outcome, NULL};
			r = sample_u64(b, "jobwatchd_webhook_deliveries_total", l, rows[k].v);
		}
	}
	if (r >= 0)
		r = family(b, "jobwatchd_webhook_disabled", "gauge",
			   "1 when the hook answered 410 Gone and is disabled.");
	for (size_t i = 0; r >= 0 && i < in->n_hooks; i++) {
		const char *l[] = {"hook", in->hooks[i].name, NULL};
		r = sample_u64(b, "jobwatchd_webhook_disabled", l,
			       in->hooks[i].stats && in->hooks[i].stats->disabled);
	}
	if (r >= 0)
		r = family(b, "jobwatchd_webhook_failing", "gauge",
			   "1 while the hook's deliveries fail (two or more in a row, no success since).");
	for (size_t i = 0; r >= 0 && i < in->n_hooks; i++) {
		const char *l[] = {"hook", in->hooks[i].name, NULL};
		r = sample_u64(b, "jobwatchd_webhook_failing", l,
			       in->hooks[i].stats && in->hooks[i].stats->failing);
	}
	if (r >= 0)
		r = family(b, "jobwatchd_webhook_oldest_pending_age_seconds", "gauge",
			   "Age of the hook's oldest undelivered event (0: nothing pending).");
	for (size_t i = 0; r >= 0 && i < in->n_hooks; i++) {
		const char *l[] = {"hook", in->hooks[i].name, NULL};
		if (in->hooks[i].oldest_pending_age_ms >= 0)
			r = sample_seconds(b, "jobwatchd_webhook_oldest_pending_age_seconds", l,
					   in->hooks[i].oldest_pending_age_ms);
	}
	if (r >= 0)
		r = family(b, "jobwatchd_outbox_backlog", "gauge",
			   "Undelivered events in the outbox, by sink.");
	if (r >= 0 && in->journal_backlog >= 0) {
		const char *l[] = {"sink", JOURNAL_SINK_NAME, NULL};
		r = sample_u64(b, "jobwatchd_outbox_backlog", l, (uint64_t)in->journal_backlog);
	}
	for (size_t i = 0; r >= 0 && i < in->n_hooks; i++) {
		const char *l[] = {"sink", in->hooks[i].sink, NULL};

		if (in->hooks[i].backlog >= 0 && in->hooks[i].sink)
			r = sample_u64(b, "jobwatchd_outbox_backlog", l, (uint64_t)in->hooks[i].backlog);
	}
	return r;
}

/* The service breaker: one sample per state, 1 for the current one, so an
 * alert reads jobwatchd_aws_breaker_state{state="closed"} == 0. */
static int render_breaker(const struct api_metrics_input *in, struct dynbuf *b)
{
	static const char *const states[] = {"closed", "open", "half_open"};
	const struct api_engine_stats *e = &in->engine;
	bool have = in->has_engine && e->breaker_state;
	int r = family(b, "jobwatchd_aws_breaker_state", "gauge",
		       "The AWS API breaker: 1 for its current state (open: the service fails as a whole, "
		       "only probes are sent; half_open: a probe is out).");

	for (size_t i = 0; r >= 0 && have && i < ELEMENTSOF(states); i++) {
		const char *l[] = {"state", states[i], NULL};
		r = sample_u64(b, "jobwatchd_aws_breaker_state", l,
			       strcmp(e->breaker_state, states[i]) == 0);
	}
	if (r >= 0)
		r = family(b, "jobwatchd_aws_last_service_failure_timestamp_seconds", "gauge",
			   "When a call last failed for the service's reasons (throttling, 5xx, network, "
			   "credentials; absent: never).");
	if (r >= 0 && have && e->last_service_failure_ms > 0)
		r = sample_seconds(b, "jobwatchd_aws_last_service_failure_timestamp_seconds", NULL,
				   e->last_service_failure_ms);
	if (r >= 0)
		r = family(b, "jobwatchd_aws_unavailable_since_timestamp_seconds", "gauge",
			   "When the current AWS API outage started (absent: the service answers).");
	if (r >= 0 && have && e->unavailable_since_ms > 0)
		r = sample_seconds(b, "jobwatchd_aws_unavailable_since_timestamp_seconds", NULL,
				   e->unavailable_since_ms);
	if (r >= 0)
		r = family(b, "jobwatchd_aws_outages_total", "counter",
			   "Times the breaker opened: the AWS API failed as a whole.");
	if (r >= 0 && have)
		r = sample_u64(b, "jobwatchd_aws_outages_total", NULL, e->outages);
	return r;
}

static int render_reload(const struct api_metrics_input *in, struct dynbuf *b)
{
	const struct api_engine_stats *e = &in->engine;
	int r;

	if (!in->has_engine || !e->has_reload)
		return 0;
	r = family(b, "jobwatchd_config_last_reload_successful", "gauge",
		   "0 when the latest reload failed: the previous configuration still runs.");
	if (r >= 0)
		r = sample_u64(b, "jobwatchd_config_last_reload_successful", NULL, !e->reload_failed);
	if (r >= 0)
		r = family(b, "jobwatchd_config_last_reload_success_timestamp_seconds", "gauge",
			   "When the configuration was last loaded successfully (the start counts).");
	if (r >= 0)
		r = sample_seconds(b, "jobwatchd_config_last_reload_success_timestamp_seconds", NULL,
				   e->reload_ok_ms);
	if (r >= 0)
		r = family(b, "jobwatchd_config_reload_failures_total", "counter",
			   "Reloads refused (an invalid configuration, or one that could not be applied).");
	if (r >= 0)
		r = sample_u64(b, "jobwatchd_config_reload_failures_total", NULL, e->reload_failures);
	return r;
}

static int render_alertmanager(const struct api_metrics_input *in, struct dynbuf *b)
{
	int r = 0;

	if (in->n_ams == 0)
		return 0;
	r = family(
	    b, "jobwatchd_alertmanager_alerts", "gauge",
	    "Alerts an Alertmanager hook holds: active, or resolved and not yet accepted everywhere.");
	for (size_t i = 0; r >= 0 && i < in->n_ams; i++) {
		const char *la[] = {"hook", in->ams[i].name, "state", "active", NULL};
		const char *lr[] = {"hook", in->ams[i].name, "state", "resolved_pending", NULL};
		r = sample_u64(b, "jobwatchd_alertmanager_alerts", la, in->ams[i].stats.active);
		if (r >= 0)
			r = sample_u64(b, "jobwatchd_alertmanager_alerts", lr,
				       in->ams[i].stats.resolved_pending);
	}
	if (r >= 0)
		r = family(
		    b, "jobwatchd_alertmanager_posts_total", "counter",
		    "POSTs to Alertmanager by outcome (failed: retried; rejected: a 4xx, not retried).");
	for (size_t i = 0; r >= 0 && i < in->n_ams; i++) {
		const struct am_client_stats *st = &in->ams[i].stats;
		const struct {
			const char *outcome;
			uint64_t v;
		} rows[] = {{"sent", st->sent}, {"failed", st->failed}, {"rejected", st->rejected}};
		for (size_t k = 0; r >= 0 && k < ELEMENTSOF(rows); k++) {
			const char *l[] = {"hook", in->ams[i].name, "outcome", rows[k].outcome, NULL};
			r = sample_u64(b, "jobwatchd_alertmanager_posts_total", l, rows[k].v);
		}
	}
	return r;
}

/* [eventbridge] sinks: entries by outcome, requests, the streak, the
 * backlog.  The families are always there (stable for dashboards). */
static int render_eventbridge(const struct api_metrics_input *in, struct dynbuf *b)
{
	int r = family(b, "jobwatchd_eventbridge_entries_total", "counter",
		       "PutEvents entries by sink and outcome (accepted by the bus; retried: refused with a "
		       "retryable code or in a failed request; parked: given up on).");

	for (size_t i = 0; r >= 0 && i < in->n_buses; i++) {
		const struct eb_stats *st = in->buses[i].stats;
		const struct {
			const char *outcome;
			uint64_t v;
		} rows[] = {{"accepted", st->accepted}, {"retried", st->retried}, {"parked", st->parked}};
		for (size_t k = 0; r >= 0 && k < ELEMENTSOF(rows); k++) {
			const char *l[] = {"sink", in->buses[i].name, "outcome", rows[k].outcome, NULL};
			r = sample_u64(b, "jobwatchd_eventbridge_entries_total", l, rows[k].v);
		}
	}
	if (r >= 0)
		r = family(
		    b, "jobwatchd_eventbridge_requests_total", "counter",
		    "PutEvents requests by sink and outcome (ok: answered 2xx, whatever each entry got).");
	for (size_t i = 0; r >= 0 && i < in->n_buses; i++) {
		const char *lo[] = {"sink", in->buses[i].name, "outcome", "ok", NULL};
		const char *lf[] = {"sink", in->buses[i].name, "outcome", "failed", NULL};
		r = sample_u64(b, "jobwatchd_eventbridge_requests_total", lo,
			       in->buses[i].stats->requests_ok);
		if (r >= 0)
			r = sample_u64(b, "jobwatchd_eventbridge_requests_total", lf,
				       in->buses[i].stats->requests_failed);
	}
	if (r >= 0)
		r = family(b, "jobwatchd_eventbridge_failing", "gauge",
			   "1 from two PutEvents requests in a row that failed or had every entry refused "
			   "(retryably) until one has all its entries accepted.");
	for (size_t i = 0; r >= 0 && i < in->n_buses; i++) {
		const char *l[] = {"sink", in->buses[i].name, NULL};
		r = sample_u64(b, "jobwatchd_eventbridge_failing", l, in->buses[i].stats->failing);
	}
	if (r >= 0)
		r = family(b, "jobwatchd_eventbridge_backlog", "gauge",
			   "Events in the outbox not yet on the bus (pending, not parked), by sink.");
	for (size_t i = 0; r >= 0 && i < in->n_buses; i++) {
		const char *l[] = {"sink", in->buses[i].name, NULL};
		if (in->buses[i].backlog >= 0)
			r = sample_u64(b, "jobwatchd_eventbridge_backlog", l,
				       (uint64_t)in->buses[i].backlog);
	}
	return r;
}

static int render_engine(const struct api_metrics_input *in, struct dynbuf *b)
{
	const struct api_engine_stats *e = &in->engine;
	int r = family(b, "jobwatchd_last_successful_poll_timestamp_seconds", "gauge",
		       "When an AWS API call last succeeded (absent: never).");

	if (r >= 0 && in->has_engine && e->last_success_ms > 0)
		r = sample_seconds(b, "jobwatchd_last_successful_poll_timestamp_seconds", NULL,
				   e->last_success_ms);
	if (r >= 0)
		r = family(b, "jobwatchd_polls_total", "counter",
			   "Job polls that got an answer (incl. 404).");
	if (r >= 0 && in->has_engine)
		r = sample_u64(b, "jobwatchd_polls_total", NULL, e->polls_ok);
	if (r >= 0)
		r = family(b, "jobwatchd_poll_failures_total", "counter", "Job polls that failed.");
	if (r >= 0 && in->has_engine)
		r = sample_u64(b, "jobwatchd_poll_failures_total", NULL, e->polls_failed);
	if (r >= 0)
		r = render_breaker(in, b);
	if (r >= 0)
		r = family(b, "jobwatchd_start_time_seconds", "gauge", "When the daemon started.");
	if (r >= 0 && in->has_engine && e->started_ms > 0)
		r = sample_seconds(b, "jobwatchd_start_time_seconds", NULL, e->started_ms);
	return r;
}

static int render_discovery(const struct api_metrics_input *in, struct dynbuf *b)
{
	static const char *const names[] = {
	    "jobwatchd_discovery_listings_total",
	    "jobwatchd_discovery_listing_failures_total",
	    "jobwatchd_discovery_pages_total",
	    "jobwatchd_discovery_jobs",
	    "jobwatchd_discovery_last_success_timestamp_seconds",
	};
	static const char *const types[] = {"counter", "counter", "counter", "gauge", "gauge"};
	static const char *const helps[] = {
	    "Listings started by a discover section.",
	    "Listings that ended with an error.",
	    "List pages received.",
	    "Jobs in the section's last complete listing.",
	    "When the section's last complete listing ended (absent: never).",
	};
	int r = 0;

	for (size_t f = 0; r >= 0 && f < ELEMENTSOF(names); f++) {
		r = family(b, names[f], types[f], helps[f]);
		for (size_t i = 0; r >= 0 && i < in->n_sections; i++) {
			const struct discovery_stats *s = in->sections[i].stats;
			const char *l[] = {"section", in->sections[i].name, NULL};

			if (!s)
				continue;
			switch (f) {
			case 0:
				r = sample_u64(b, names[f], l, s->listings);
				break;
			case 1:
				r = sample_u64(b, names[f], l, s->listings_failed);
				break;
			case 2:
				r = sample_u64(b, names[f], l, s->pages);
				break;
			case 3:
				r = sample_u64(b, names[f], l, s->last_listing_jobs);
				break;
			default:
				if (s->last_success_ms > 0)
					r = sample_seconds(b, names[f], l, s->last_success_ms);
				break;
			}
		}
	}
	return r;
}

int api_metrics_render(const struct api_metrics_input *in, struct dynbuf *out)
{
	int r;

	if (!in || !out)
		return -EINVAL;
	r = family(out, "jobwatchd_build_info", "gauge", "Build information.");
	if (r >= 0) {
		const char *l[] = {"version", JW_VERSION, NULL};
		r = sample_u64(out, "jobwatchd_build_info", l, 1);
	}
	if (r >= 0)
		r = render_jobs(in, out);
	if (r >= 0)
		r = render_aws(in, out);
	if (r >= 0)
		r = render_creds(in, out);
	if (r >= 0)
		r = render_hooks(in, out);
	if (r >= 0)
		r = render_alertmanager(in, out);
	if (r >= 0)
		r = render_eventbridge(in, out);
	if (r >= 0)
		r = render_reload(in, out);
	if (r >= 0)
		r = render_engine(in, out);
	if (r >= 0)
		r = render_discovery(in, out);
	return r < 0 ? r : 0;
}

int64_t api_health_window_ms(uint64_t poll_interval_ms)
{
	uint64_t base = poll_interval_ms > 60000 ? poll_interval_ms : 60000;

	return (int64_t)(base > INT64_MAX / 3 ? INT64_MAX : base * 3);
}

bool api_health_eval(const struct api_health_input *in, struct api_health_state *st, char *reason,
		     size_t size)
{
	if (in->has_aws) {
		uint64_t ok = in->aws_ok - st->prev_ok, bad = in->aws_auth_failed - st->prev_auth_failed;

		/* Judged on what happened since the previous check: rejected
		 * requests and no success at all means the credentials do not
		 * work; with no requests in between the verdict stands. */
		if (ok > 0)
			st->auth_failing = false;
		else if (bad > 0)
			st->auth_failing = true;
		st->prev_ok = in->aws_ok;
		st->prev_auth_failed = in->aws_auth_failed;
	}
	if (in->has_creds && !in->creds_valid && in->creds_error) {
		snprintf(reason, size, "no valid AWS credentials: %s", in->creds_error);
		return false;
	}
	if (st->auth_failing) {
		snprintf(reason, size,
			 "AWS rejects the credentials (no request succeeded since the last check)");
		return false;
	}
	if (in->has_engine && in->engine.unavailable_since_ms > 0) {
		char since[40];

		format_iso8601_ms(in->engine.unavailable_since_ms, since, sizeof(since));
		snprintf(reason, size, "AWS API unavailable since %s: %s", since,
			 in->engine.outage_error && in->engine.outage_error[0] ? in->engine.outage_error
									       : "no answer");
		return false;
	}
	if (in->has_engine && (in->pollable_jobs > 0 || in->discover_sections > 0)) {
		int64_t since = in->engine.last_success_ms > in->engine.started_ms
				    ? in->engine.last_success_ms
				    : in->engine.started_ms;
		int64_t window = api_health_window_ms(in->engine.poll_interval_ms);
		int64_t quiet = in->engine.has_quiet ? in->engine.quiet_ms
				: since > 0	     ? in->now_ms - since
						     : 0;

		if (quiet > window) {
			snprintf(reason, size,
				 "no successful AWS API call for %" PRId64 " s (window %" PRId64 " s)",
				 quiet / 1000, window / 1000);
			return false;
		}
	}
	return true;
}
