/* Internal to daemon/api/ (and its unit tests): the pure parts of the
 * listener -- Prometheus and JSON rendering, health evaluation, request
 * parsing and token comparison -- kept apart from the socket glue so they
 * can be tested without a server. */
#ifndef JW_API_RENDER_H
#define JW_API_RENDER_H

#include "notify/alertmanager.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "aws/client.h"
#include "discover.h"
#include "event.h"
#include "model.h"
#include "notify/eventbridge.h"
#include "notify/webhook.h"
#include "tracker.h"
#include "util.h"

#define API_METRICS_MAX	  (16u * 1024 * 1024)
#define API_JOBS_JSON_MAX (512u * 1024 * 1024)
#define API_TOKEN_MAX	  4096

/* ---- /metrics ---- */

struct api_metrics_hook {
	const char *name; /* section name, without "webhook:" */
	const char *sink; /* its outbox sink, "webhook:NAME" */
	const struct webhook_stats *stats;
	int64_t backlog; /* -1 = unknown */
	/* Now minus the detection time of the oldest pending event; 0 when
	 * nothing is pending, -1 = unknown. */
	int64_t oldest_pending_age_ms;
};

struct api_metrics_section {
	const char *name;
	const struct discovery_stats *stats;
};

/* A snapshot of everything /metrics shows; NULL / false parts are left
 * out (their HELP and TYPE lines stay, so the families are stable). */
/* An Alertmanager hook (format = alertmanager). */
struct api_metrics_am {
	const char *name;
	struct am_client_stats stats;
};

struct api_metrics_input {
	/* Watched jobs by status; [_JOB_STATUS_MAX_WITH_GONE] = never seen. */
	uint64_t jobs_by_status[_JOB_STATUS_MAX_WITH_GONE + 1];
	uint64_t jobs_by_kind[_KIND_MAX];
	uint64_t jobs_known; /* in the table, watched or not */
	bool has_events;
	int64_t events[_EVENT_TYPE_MAX];
	const struct tracker_stats *tracker;
	const struct aws_client_stats *aws;
	bool has_creds;
	bool creds_valid;
	uint64_t creds_refreshes;
	int64_t creds_expiry_ms; /* 0 = none */
	const struct api_metrics_hook *hooks;
	size_t n_hooks;
	int64_t journal_backlog; /* -1 = unknown */
	bool has_engine;
	struct api_engine_stats engine;
	const struct api_metrics_section *sections;
	size_t n_sections;
	const struct api_metrics_am *ams;
	size_t n_ams;
	const struct api_bus_info *buses; /* [eventbridge] sinks */
	size_t n_buses;
};

int api_metrics_render(const struct api_metrics_input *in, struct dynbuf *out);

/* ---- /healthz ---- */

struct api_health_input {
	int64_t now_ms;
	bool has_creds;
	bool creds_valid;	 /* creds_current() != NULL */
	const char *creds_error; /* creds_last_error(), may be NULL */
	uint64_t pollable_jobs;	 /* watched, not gone */
	size_t discover_sections;
	bool has_engine;
	struct api_engine_stats engine;
	bool has_aws;
	uint64_t aws_ok;	  /* successful API requests so far */
	uint64_t aws_auth_failed; /* auth, auth_expired, credentials outcomes so far */
};

/* Remembers what the previous evaluation saw, so a run of rejected
 * requests with no success in between reads as "credentials rejected". */
struct api_health_state {
	uint64_t prev_ok;
	uint64_t prev_auth_failed;
	bool auth_failing;
};

/* Returns true when healthy; else writes a one-line reason. */
bool api_health_eval(const struct api_health_input *in, struct api_health_state *st, char *reason,
		     size_t size);
/* The window in which some API call must have succeeded. */
int64_t api_health_window_ms(uint64_t poll_interval_ms);

/* ---- JSON ---- */

int api_json_string(struct dynbuf *out, const char *s); /* "..." or null */
int api_json_error(struct dynbuf *out, const char *message);
int api_job_to_json(const struct tracked_job *j, struct dynbuf *out);

/* GET /v1/jobs/{arn}: the job as api_job_to_json() shows it, and more.
 * Everything is borrowed. */
struct api_job_detail {
	struct api_job_times times;
	/* The job.stuck event of the current stay (wall clock ms), 0 = none. */
	int64_t stuck_since_ms;
	const struct store_history_event *history; /* newest first */
	size_t n_history;
	int64_t history_total; /* events stored for the job; -1 = unknown */
};
#define API_HISTORY_DEFAULT 20
int api_job_detail_to_json(const struct tracked_job *j, const struct api_job_detail *d, struct dynbuf *out);
/* ?history=N: 0..STORE_HISTORY_MAX; -EINVAL otherwise. */
int api_history_limit_parse(const char *s, size_t *ret);
/* status_filter: a job status (incl. JOB_STATUS_GONE), API_STATUS_UNKNOWN
 * for never-seen jobs, or API_STATUS_ANY. */
#define API_STATUS_ANY	   (-2)
#define API_STATUS_UNKNOWN (-1)
int api_jobs_to_json(struct tracker *t, int status_filter, struct dynbuf *out);
/* "ACTIVE", "GONE", "UNKNOWN" ... -> filter; -EINVAL otherwise. */
int api_status_filter_parse(const char *s, int *ret);

/* POST /v1/jobs body: {"arn": "..."}.  Returns 0 with *ret_arn (malloc'd),
 * or -EINVAL / -E2BIG with a client-facing message in err. */
int api_parse_watch_request(const char *body, size_t len, char **ret_arn, char *err, size_t errsz);

/* ---- /v1/webhooks ---- */

/* rest is what follows "/v1/webhooks": "/retry" (every hook: *ret_name
 * NULL) or "/NAME/retry" (*ret_name malloc'd).  -ENOENT for any other
 * path, -ENOMEM. */
int api_parse_retry_path(const char *rest, char **ret_name);
/* {"webhook": NAME or null, "retried": N} */
int api_retry_to_json(struct dynbuf *out, const char *name, int64_t retried);

/* ---- auth ---- */

/* Compares "Bearer TOKEN" in constant time (in the token's length). */
bool api_bearer_ok(const char *authorization_header, const char *token);

#endif
