/* The handlers of /metrics, /healthz and the control API (/v1/jobs): they
 * read the daemon's state through struct api_context and fill a reply;
 * server.c routes to them and sends the reply. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "creds.h"
#include "log.h"
#include "notify/journal.h"
#include "store.h"
#include "util.h"

#define API_MAX_HOOKS 1024

/* ---- /metrics and /healthz ---- */

static void count_jobs(struct tracker *t, struct api_metrics_input *in, uint64_t *pollable)
{
	size_t n = tracker_size(t);

	in->jobs_known = n;
	for (size_t i = 0; i < n; i++) {
		const struct tracked_job *j = tracker_job_at(t, i);
		int s = j->status;

		if (!j->watched)
			continue;
		if (s < 0 || s >= _JOB_STATUS_MAX_WITH_GONE)
			s = _JOB_STATUS_MAX_WITH_GONE;
		in->jobs_by_status[s]++;
		if (resource_kind_from_arn(j->arn, NULL) != KIND_INVALID)
			in->jobs_by_kind[resource_kind_from_arn(j->arn, NULL)]++;
		if (!j->gone)
			(*pollable)++;
	}
}

void api_handle_metrics(struct api_state *a, struct api_reply *rp)
{
	const struct api_context *c = a->ctx;
	struct api_metrics_input in = {.journal_backlog = -1};
	struct api_metrics_hook *hooks = NULL;
	struct api_metrics_section *secs = NULL;
	struct tracker_stats ts;
	uint64_t pollable = 0;
	size_t n_hooks = 0;
	int r;

	if (c->tracker) {
		count_jobs(c->tracker, &in, &pollable);
		tracker_get_stats(c->tracker, &ts);
		in.tracker = &ts;
	}
	if (c->store) {
		in.has_events = true;
		for (int t = 0; t < _EVENT_TYPE_MAX; t++)
			if (store_count_events(c->store, (enum event_type)t, &in.events[t]) < 0)
				in.has_events = false;
		if (store_delivery_backlog(c->store, JOURNAL_SINK_NAME, &in.journal_backlog) < 0)
			in.journal_backlog = -1;
	}
	if (c->aws)
		in.aws = aws_client_stats(c->aws);
	if (c->creds) {
		in.has_creds = true;
		in.creds_valid = creds_current(c->creds) != NULL;
		in.creds_refreshes = creds_refresh_count(c->creds);
		in.creds_expiry_ms = creds_expiration_ms(c->creds);
	}
	if (c->hook_at) {
		while (n_hooks < API_MAX_HOOKS && c->hook_at(c->userdata, n_hooks))
			n_hooks++;
		hooks = calloc(n_hooks ? n_hooks : 1, sizeof(*hooks));
		if (!hooks) {
			reply_error(rp, 500, "out of memory");
			return;
		}
		for (size_t i = 0; i < n_hooks; i++) {
			const struct webhook_sink *s = c->hook_at(c->userdata, i);
			const char *sink = webhook_sink_outbox(s);
			int64_t oldest = -1;

			hooks[i].name = webhook_sink_name(s);
			hooks[i].sink = sink;
			hooks[i].stats = webhook_sink_stats(s);
			hooks[i].backlog = -1;
			hooks[i].oldest_pending_age_ms = -1;
			if (c->store && store_delivery_backlog(c->store, sink, &hooks[i].backlog) < 0)
				hooks[i].backlog = -1;
			if (c->store && store_delivery_oldest_pending(c->store, sink, &oldest) >= 0) {
				int64_t now = (int64_t)now_realtime_ms();
				hooks[i].oldest_pending_age_ms = oldest < 0	? 0
								 : now > oldest ? now - oldest
										: 0;
			}
		}
		in.hooks = hooks;
		in.n_hooks = n_hooks;
	}
	if (c->engine_stats) {
		in.has_engine = true;
		c->engine_stats(c->userdata, &in.engine);
	}
	if (c->discovery) {
		size_t n = discovery_count(c->discovery);

		secs = calloc(n ? n : 1, sizeof(*secs));
		if (!secs) {
			free(hooks);
			reply_error(rp, 500, "out of memory");
			return;
		}
		for (size_t i = 0; i < n; i++)
			secs[i].stats = discovery_stats_at(c->discovery, i, &secs[i].name);
		in.sections = secs;
		in.n_sections = n;
	}
	struct api_metrics_am ams[API_MAX_HOOKS];
	for (size_t i = 0;
	     c->am_at && i < API_MAX_HOOKS && c->am_at(c->userdata, i, &ams[i].name, &ams[i].stats); i++)
		in.n_ams = i + 1;
	in.ams = ams;
	struct api_bus_info buses[API_MAX_HOOKS];
	for (size_t i = 0; c->bus_at && i < API_MAX_HOOKS && c->bus_at(c->userdata, i, &buses[i]); i++)
		in.n_buses = i + 1;
	in.buses = buses;
	dynbuf_init(&rp->body, API_METRICS_MAX);
	r = api_metrics_render(&in, &rp->body);
	free(hooks);
	free(secs);
	if (r < 0) {
		log_warning_errno(r, "http: rendering /metrics failed: %m");
		reply_error(rp, 500, "cannot render the metrics");
		return;
	}
	rp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

void api_handle_healthz(struct api_state *a, struct api_reply *rp)
{
	const struct api_context *c = a->ctx;
	struct api_health_input in = {.now_ms = (int64_t)now_realtime_ms()};
	struct api_metrics_input scratch = {0};
	char reason[512];

	if (c->tracker)
		count_jobs(c->tracker, &scratch, &in.pollable_jobs);
	if (c->creds) {
		in.has_creds = true;
		in.creds_valid = creds_current(c->creds) != NULL;
		in.creds_error = creds_last_error(c->creds);
	}
	if (c->engine_stats) {
		in.has_engine = true;
		c->engine_stats(c->userdata, &in.engine);
	}
	in.discover_sections = discovery_count(c->discovery);
	if (c->aws) {
		const struct aws_client_stats *s = aws_client_stats(c->aws);

		in.has_aws = true;
		for (int op = 0; op < _AWS_OP_MAX; op++) {
			in.aws_ok += s->requests[op][AWS_OK] + s->requests[op][AWS_NOT_FOUND];
			in.aws_auth_failed += s->requests[op][AWS_AUTH] + s->requests[op][AWS_AUTH_EXPIRED] +
					      s->requests[op][AWS_CREDENTIALS];
		}
	}
	if (api_health_eval(&in, &a->health, reason, sizeof(reason))) {
		/* Still healthy (the previous configuration runs), but say why
		 * the operator's change did not take. */
		if (in.has_engine && in.engine.reload_failed) {
			if (dynbuf_appends(&rp->body, "{\"status\":\"ok\",\"reason\":") < 0 ||
			    api_json_string(
				&rp->body,
				"the latest reload failed: the previous configuration runs (see the "
				"journal)") < 0 ||
			    dynbuf_appends(&rp->body, "}") < 0)
				dynbuf_reset(&rp->body);
			return;
		}
		dynbuf_appends(&rp->body, "{\"status\":\"ok\"}");
		return;
	}
	rp->status = 503;
	if (dynbuf_appends(&rp->body, "{\"status\":\"unhealthy\",\"reason\":") < 0 ||
	    api_json_string(&rp->body, reason) < 0 || dynbuf_appends(&rp->body, "}") < 0)
		dynbuf_reset(&rp->body);
}

/* ---- /v1/jobs ---- */

void api_handle_jobs_list(struct api_state *a, struct MHD_Connection *conn, struct api_reply *rp)
{
	const char *st = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "status");
	int filter = API_STATUS_ANY;
	int r;

	if (st && api_status_filter_parse(st, &filter) < 0) {
		reply_error(rp, 400, "unknown status (use an API status, GONE or UNKNOWN)");
		return;
	}
	if (!a->ctx->tracker) {
		reply_error(rp, 503, "no job table");
		return;
	}
	r = api_jobs_to_json(a->ctx->tracker, filter, &rp->body);
	if (r < 0)
		reply_error(rp, 500,
			    r == -E2BIG ? "too many jobs for one answer; filter by status"
					: "out of memory");
}

/* GET /v1/jobs/{arn}[?history=N]: the job, what the engine knows of its
 * schedule, and its newest N events (default API_HISTORY_DEFAULT) with
 * their deliveries. */
void api_handle_job_get(struct api_state *a, struct MHD_Connection *conn, const char *arn,
			struct api_reply *rp)
{
	const struct api_context *c = a->ctx;
	const char *history = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "history");
	struct tracked_job *j = c->tracker ? tracker_find(c->tracker, arn) : NULL;
	struct api_job_detail d = {.history_total = -1};
	struct store_history_event *events = NULL;
	size_t limit = API_HISTORY_DEFAULT, n = 0;
	char err[128];
	int r;

	if (history && api_history_limit_parse(history, &limit) < 0) {
		snprintf(err, sizeof(err), "history must be a number of events from 0 to %d",
			 STORE_HISTORY_MAX);
		reply_error(rp, 400, err);
		return;
	}
	if (!j) {
		reply_error(rp, 404, "no such job: the daemon does not watch it and keeps no state of it");
		return;
	}
	if (c->job_times)
		c->job_times(c->userdata, j, &d.times);
	if (c->store) {
		/* One event at least: job.stuck is emitted once a stay and any
		 * other event ends the stay, so the newest event of a stuck
		 * job tells since when it is stuck. */
		r = store_job_history(c->store, arn, limit ? limit : 1, &events, &n, &d.history_total);
		if (r < 0) {
			log_warning_errno(r, "http: reading the history of %s failed: %m", arn);
			reply_error(rp, 500, "cannot read the job's history from the state database");
			return;
		}
		if (n > 0 && j->stuck_emitted &&
		    strcmp(events[0].type, event_type_to_string(EVENT_JOB_STUCK)) == 0)
			d.stuck_since_ms = events[0].detected_ms;
		d.history = events;
		d.n_history = limit ? n : 0;
	}
	r = api_job_detail_to_json(j, &d, &rp->body);
	store_history_free(events, n);
	if (r < 0)
		reply_error(rp, 500, "out of memory");
}

/* The jobs added through the API, watched or not: what [http] max_jobs
 * caps.  Jobs from the configuration and from discovery have caps of
 * their own. */
static uint64_t count_api_jobs(struct tracker *t)
{
	size_t n = tracker_size(t);
	uint64_t count = 0;

	for (size_t i = 0; i < n; i++)
		count += strcmp(tracker_job_at(t, i)->source, "api") == 0;
	return count;
}

void api_handle_job_post(struct api_state *a, const struct api_request *req, struct api_reply *rp)
{
	const struct api_context *c = a->ctx;
	char err[256];
	_cleanup_free_ char *arn = NULL;
	struct tracked_job *j;
	struct dynbuf loc;
	int r;

	if (!api_rate_take(&a->post_rate, now_monotonic_ms(), &rp->retry_after)) {
		reply_error(rp, 429, "too many POST /v1/jobs; slow down");
		return;
	}
	if (req->too_large) {
		snprintf(err, sizeof(err), "request body larger than %u bytes", API_BODY_MAX);
		reply_error(rp, 400, err);
		return;
	}
	r = api_parse_watch_request(req->body.data, req->body.len, &arn, err, sizeof(err));
	if (r < 0) {
		reply_error(rp, r == -ENOMEM ? 500 : 400, err);
		return;
	}
	if (c->aws && aws_client_region(c->aws)) {
		/* arn:aws:cleanrooms-ml:REGION:... -- a job in another region
		 * would fail on every poll. */
		const char *region = aws_client_region(c->aws);

		if (!arn_in_region(arn, region)) {
			snprintf(err, sizeof(err), "the job is not in region %s, which this daemon watches",
				 region);
			reply_error(rp, 400, err);
			return;
		}
	}
	if (!c->tracker) {
		reply_error(rp, 503, "no job table");
		return;
	}
	j = tracker_find(c->tracker, arn);
	if (!j && count_api_jobs(c->tracker) >= c->max_jobs) {
		snprintf(err, sizeof(err),
			 "the control API may add at most %llu jobs ([http] max_jobs); forget some first "
			 "(DELETE /v1/jobs/ARN?forget=1)",
			 (unsigned long long)c->max_jobs);
		reply_error(rp, 403, err);
		return;
	}
	if (j && j->watched) {
		rp->status = 200;
	} else {
		r = tracker_add(c->tracker, arn, "api", &j);
		if (r < 0) {
			log_warning_errno(r, "http: cannot watch %s: %m", arn);
			reply_error(rp, 500, "cannot watch the job");
			return;
		}
		log_info("now watching %s (control API)", arn);
		if (c->poll_soon)
			c->poll_soon(c->userdata, j);
		rp->status = 201;
		dynbuf_init(&loc, 8192);
		if (dynbuf_appends(&loc, "/v1/jobs/") >= 0 && uri_encode(arn, strlen(arn), &loc) >= 0)
			rp->location = dynbuf_take(&loc);
		dynbuf_free(&loc);
	}
	if (api_job_to_json(j, &rp->body) < 0)
		reply_error(rp, 500, "out of memory");
}

/* DELETE ?forget=1: the job leaves the table and the state file (its
 * events stay until pruned).  Only a job the API added: one from the
 * configuration or a [discover] section would come back (and a listing in
 * progress may hold it). */
static void handle_job_forget(struct api_state *a, struct tracked_job *j, struct api_reply *rp)
{
	const struct api_context *c = a->ctx;
	_cleanup_free_ char *arn = NULL;
	char err[256];
	int r;

	if (strcmp(j->source, "api") != 0) {
		snprintf(err, sizeof(err),
			 "the job comes from %s, not the control API; remove it there (DELETE without "
			 "forget only unwatches)",
			 strcmp(j->source, "config") == 0 ? "the configuration" : j->source);
		reply_error(rp, 409, err);
		return;
	}
	if (job_poll_in_flight(&j->poll)) {
		/* The poll's callback holds the job: forgetting it now would
		 * leave that callback a freed job. */
		reply_error(rp, 409, "a poll of the job is in flight; try again in a moment");
		rp->retry_after = 1;
		return;
	}
	arn = strdup(j->arn);
	if (!arn) {
		reply_error(rp, 500, "out of memory");
		return;
	}
	if (c->unwatched)
		c->unwatched(c->userdata, j);
	r = tracker_forget(c->tracker, arn);
	if (r < 0) {
		log_warning_errno(r, "http: cannot forget %s: %m", arn);
		reply_error(rp, 500, "cannot forget the job");
		return;
	}
	log_info("forgot %s (control API; its row is deleted)", arn);
	rp->status = 204;
	rp->content_type = NULL;
}

void api_handle_job_delete(struct api_state *a, struct MHD_Connection *conn, const char *arn,
			   struct api_reply *rp)
{
	const struct api_context *c = a->ctx;
	struct tracked_job *j = c->tracker ? tracker_find(c->tracker, arn) : NULL;
	const char *forget = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "forget");
	bool was_watched = j && j->watched;

	if (j && forget && (strcmp(forget, "1") == 0 || strcmp(forget, "true") == 0)) {
		handle_job_forget(a, j, rp);
		return;
	}
	if (!j || tracker_unwatch(c->tracker, arn) < 0) {
		reply_error(rp, 404, "no such job");
		return;
	}
	if (was_watched) {
		log_info("no longer watching %s (control API; state kept)", arn);
		if (c->unwatched)
			c->unwatched(c->userdata, j);
	}
	/* A job the configuration or a discovery names comes back with the
	 * next reload or listing: say so rather than let it surprise. */
	if (j->source && strcmp(j->source, "api") != 0) {
		const char *note =
		    strcmp(j->source, "config") == 0
			? "the job is in the configuration ([jobs]): it is watched again at the "
			  "next reload or restart; remove it there to stop for good"
			: "a [discover] section lists the job: it is watched again at its next "
			  "listing";
		if (dynbuf_appends(&rp->body, "{\"note\":") < 0 || api_json_string(&rp->body, note) < 0 ||
		    dynbuf_appends(&rp->body, "}") < 0) {
			reply_error(rp, 500, "out of memory");
			return;
		}
		rp->status = 200;
		return;
	}
	rp->status = 204;
	rp->content_type = NULL;
}

/* rest is what follows "/v1/webhooks". */
void api_handle_hooks_retry(struct api_state *a, const char *rest, const char *method, struct api_reply *rp)
{
	const struct api_context *c = a->ctx;
	_cleanup_free_ char *name = NULL;
	int64_t released = 0;
	int r = api_parse_retry_path(rest, &name);

	if (r < 0) {
		reply_error(rp, r == -ENOMEM ? 500 : 404, r == -ENOMEM ? "out of memory" : "not found");
		return;
	}
	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
		reply_error(rp, 405, "method not allowed");
		rp->allow = "POST";
		return;
	}
	r = c->retry_hooks ? c->retry_hooks(c->userdata, name, &released) : -ENOENT;
	if (r < 0) {
		reply_error(rp, r == -ENOENT ? 404 : 500,
			    r == -ENOENT ? "no such webhook" : "cannot retry the deliveries");
		return;
	}
	if (api_retry_to_json(&rp->body, name, released) < 0)
		reply_error(rp, 500, "out of memory");
}
