/* The HTTP listener ([http] listen): GET /metrics (Prometheus text format
 * 0.0.4), GET /healthz, and the control API GET/POST /v1/jobs,
 * GET/DELETE /v1/jobs/{arn} (GET with the job's history), POST /v1/webhooks[/{name}]/retry,
 * GET /v1/sinks.
 *
 * libmicrohttpd runs without a thread of its own: its epoll fd is one
 * uv_poll_t on the daemon's loop and its timeout one uv_timer_t, so every
 * request is answered on the loop, between polls, with no locking.
 *
 * A unix socket (recommended) is created with mode 0660, a stale socket
 * file is replaced; a TCP listener requires `Authorization: Bearer TOKEN`
 * (token_file; metrics_token_file may read /metrics and /healthz only) on
 * every request, and TLS off loopback.
 *
 * The api reads the daemon's state through struct api_context, filled by
 * the engine; it never includes engine.h. */
#ifndef JW_API_API_H
#define JW_API_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uv_loop_s;
struct tracker;
struct tracked_job;
struct aws_client;
struct creds;
struct store;
struct discovery;
struct webhook_sink;

#define API_BODY_MAX (64u * 1024)

/* What the engine knows that no module does. */
struct api_engine_stats {
	int64_t started_ms;	 /* wall clock at start */
	int64_t last_success_ms; /* last successful API call (poll or listing); 0 = none yet */
	uint64_t polls_ok;
	uint64_t polls_failed;
	uint64_t poll_interval_ms; /* [poll] interval: sizes the health window */
	/* Monotonic ms since the last successful call (or the start): judges
	 * health where a wall-clock step could fake or hide an outage.  Used
	 * when has_quiet; else now - last_success_ms on the wall clock. */
	bool has_quiet;
	int64_t quiet_ms;
	/* The service breaker (the engine's breaker.h): "closed", "open" or
	 * "half_open"; NULL leaves it out. */
	const char *breaker_state;
	int64_t unavailable_since_ms;	 /* wall clock; 0 while the service answers */
	int64_t last_service_failure_ms; /* wall clock; 0 = none */
	uint64_t outages;
	const char *outage_error; /* the last service-wide failure; borrowed, may be NULL */
	/* Reloads (SIGHUP): the latest failed (the previous configuration
	 * runs), failures so far, when one last succeeded (the start counts). */
	bool has_reload;
	bool reload_failed;
	uint64_t reload_failures;
	int64_t reload_ok_ms;
};

/* What the engine knows of one job that the tracker does not keep, on the
 * wall clock (ms; 0 = none): GET /v1/jobs/{arn} shows it. */
struct api_job_times {
	/* The first ResourceNotFoundException of the current run of them. */
	int64_t not_found_since_ms;
	int64_t next_poll_ms; /* 0 while unscheduled (unwatched, gone, a poll in flight) */
};

/* Everything is borrowed; any pointer may be NULL (that part is then left
 * out of /metrics and /healthz).  The pointers are read on every request,
 * so the engine may swap them (reload) by updating the struct it passed. */
struct am_client_stats;
struct eb_stats;

/* An [eventbridge] sink as /metrics shows it; borrowed. */
struct api_bus_info {
	const char *name;
	const char *event_bus;
	const struct eb_stats *stats;
	int64_t backlog; /* -1 = unknown */
};

struct api_context {
	struct tracker *tracker;
	struct aws_client *aws;
	struct creds *creds;
	struct store *store;
	struct discovery *discovery;
	/* The i-th webhook sink, NULL past the last one. */
	const struct webhook_sink *(*hook_at)(void *userdata, size_t i);
	/* The i-th Alertmanager hook: its name (borrowed) and counters; false
	 * past the last. */
	bool (*am_at)(void *userdata, size_t i, const char **ret_name, struct am_client_stats *ret_stats);
	/* The i-th EventBridge sink; false past the last. */
	bool (*bus_at)(void *userdata, size_t i, struct api_bus_info *ret);
	void (*engine_stats)(void *userdata, struct api_engine_stats *ret);
	void (*job_times)(void *userdata, const struct tracked_job *j, struct api_job_times *ret);
	/* A job was added or re-watched through POST /v1/jobs: poll it now. */
	void (*poll_soon)(void *userdata, struct tracked_job *j);
	/* A job was unwatched through DELETE (state kept): stop polling it.
	 * Also called before a job is forgotten (DELETE ?forget=1). */
	void (*unwatched)(void *userdata, struct tracked_job *j);
	/* POST /v1/webhooks/retry, /v1/webhooks/{name}/retry: waiting and
	 * parked deliveries of every hook (name NULL) or one go out now.
	 * -ENOENT for an unknown hook. */
	int (*retry_hooks)(void *userdata, const char *name, int64_t *ret_released);
	void *userdata;
	/* [http] max_jobs: POST /v1/jobs refuses a new job once this many
	 * jobs added through the API are in the table. */
	uint64_t max_jobs;
};

struct api;

/* The [http] settings the listener uses; strings are borrowed for the
 * duration of api_new() only. */
struct api_options {
	const char *listen;	/* "[http] listen", not "off" */
	const char *token_file; /* the control token: required for TCP */
	/* TCP: a read-only token for GET /metrics and /healthz; NULL = none. */
	const char *metrics_token_file;
	/* TCP: TLS (PEM files); required off loopback. */
	const char *cert_file;
	const char *key_file;
};

/* ctx is borrowed and must outlive the api (it is read, not copied, on
 * every request).  Binds and starts serving on loop. */
int api_new(struct uv_loop_s *loop, const struct api_options *opt, const struct api_context *ctx,
	    struct api **ret);
/* Stops listening (removes the unix socket file), closes connections; the
 * memory goes once the loop has run the handle close callbacks.
 * NULL-safe.  Returns NULL. */
struct api *api_free(struct api *a);
/* The bound TCP port (useful with port 0), 0 for a unix socket. */
unsigned api_port(const struct api *a);

#endif
