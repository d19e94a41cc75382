/* The watch engine: one libuv loop that ties the modules together.
 *
 *   scheduler --> aws client --> tracker --> store (outbox) --> notifiers
 *
 * engine.c owns the life cycle (start, reload, shutdown, sd_notify),
 * engine_poll.c drives the scheduler and the API calls, engine_outage.c the
 * service breaker, engine_notify.c the journal and webhook sinks and
 * engine_fleet.c discovery and the HTTP listener.  Internal to the
 * engine*.c files (docs/internals/README.md maps them). */
#ifndef JW_ENGINE_H
#define JW_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <uv.h>

#include "api/api.h"
#include "aws/client.h"
#include "aws/endpoint.h"
#include "breaker.h"
#include "config.h"
#include "discover.h"
#include "scheduler.h"
#include "store.h"
#include "tracker.h"
#include "util.h"

struct webhook_sink;
struct am_client;
struct route;
struct eb_sink;

/* A [webhook] section: an outbox sink, or (format = alertmanager) an
 * Alertmanager client fed with alert conditions instead of events. */
struct engine_hook {
	const struct config_webhook *cfg; /* borrowed from engine.cfg */
	struct webhook_sink *sink;
	struct am_client *am;
};

/* An [eventbridge] section: an outbox sink (engine_eventbridge.c). */
struct engine_bus {
	const struct config_eventbridge *cfg; /* borrowed from engine.cfg */
	struct eb_sink *sink;		      /* its outbox sink: eb_sink_outbox() */
};

struct engine {
	uv_loop_t loop;
	char *config_path;
	bool strict;
	struct config *cfg;

	struct aws_endpoint endpoint;
	struct http_ctx *http;
	struct creds *creds;
	struct aws_client *aws;
	struct store *store;
	struct tracker *tracker;
	struct sched *sched;
	struct sched_poll_config pollcfg;

	uv_timer_t poll_timer;
	uv_timer_t notify_timer;
	uv_timer_t watchdog_timer;
	uv_timer_t status_timer;
	uv_timer_t stuck_timer;
	uv_timer_t stop_timer;
	uv_prepare_t turn_prepare;
	uv_check_t turn_check;
	uv_signal_t sig_term, sig_int, sig_hup;
	unsigned open_handles;

	struct discovery *discovery;
	struct api *api;
	struct api_context api_ctx;
	int64_t started_wall_ms;
	int64_t status_sent_ms; /* wall clock of the last STATUS= */
	/* Reloads: how many failed, when one last succeeded (the start counts,
	 * as in Prometheus), and whether the latest failed. */
	uint64_t reload_failures;
	int64_t reload_ok_wall_ms;
	bool reload_failed;
	unsigned status_ticks;

	struct engine_hook *hooks; /* one a [webhook] section, in its order */
	size_t n_hooks;
	struct route *route; /* which sinks an event goes to (notify/route.h) */
	struct engine_bus *buses;
	size_t n_buses;

	unsigned inflight;
	unsigned max_inflight;
	/* The job whose Get is the breaker's probe (at most one is out),
	 * NULL when none is. */
	const struct tracked_job *probe_job;
	bool stopping;
	bool events_added; /* the tracker stored events since the last notifier run */
	/* Alertmanager hooks: the job table changed since their conditions
	 * were last collected, and when to collect anyway (time resolves
	 * job.gone alerts). */
	bool alerts_dirty;
	int64_t alerts_next_sync_ms;
	bool flush_failed;
	int exit_code;

	/* Rate limit of poll-failure warnings. */
	int64_t warn_window_start_mono_ms;
	unsigned warn_in_window;
	uint64_t warn_suppressed;

	uint64_t polls_ok;
	uint64_t polls_failed;
	int64_t last_success_wall_ms; /* shown on /metrics */
	int64_t last_success_mono_ms; /* judges health: a clock step cannot fake an outage */
	int64_t started_mono_ms;
	char last_api_error[256];

	struct breaker breaker;
	/* The corrected clock everything signs with (aws/clock.h): the client's
	 * and the EventBridge sinks' answers correct it. */
	struct aws_clock clock;
	bool breaker_closed_shown; /* what STATUS= last said about the breaker */
};

/* Scheduling, timeouts and health run on the loop's monotonic clock; the
 * wall clock (now_realtime_ms()) is only for what is shown, signed or
 * stored. */
static inline int64_t engine_now_mono_ms(const struct engine *e)
{
	return (int64_t)uv_now(&e->loop);
}

/* The wall clock for what a poll stores and shows (last poll, detection
 * time, a stay's age): the local one corrected by the offset the AWS client
 * learned from the service's Date headers (0 until they differ by 5
 * minutes), the time requests are signed with.  A local clock stepped an
 * hour away then neither dates events an hour wrong nor makes a status
 * look an hour old. */
static inline int64_t engine_now_wall_ms(const struct engine *e)
{
	int64_t offset = e->aws ? aws_client_stats(e->aws)->clock_offset_ms : 0;

	return (int64_t)now_realtime_ms() + offset;
}

/* Uniform in [0, 1): the jitter of schedules. */
static inline double engine_random(void)
{
	return (double)random() / ((double)RAND_MAX + 1.0);
}

/* engine_poll.c */
void engine_poll_arm(struct engine *e);
/* Schedules every watched, not gone job for a first poll, spread out. */
void engine_schedule_initial(struct engine *e);
/* Schedules one job for a poll soon (newly watched). */
void engine_schedule_soon(struct engine *e, struct tracked_job *j);
void engine_stuck_timer_cb(uv_timer_t *t);

/* engine_outage.c: the breaker's glue. */
/* Poll of j failed service-wide (what: the error); probe: it was the probe. */
void engine_outage_failure(struct engine *e, struct tracked_job *j, const char *what, bool probe);
/* The service answered something about some job. */
void engine_outage_answer(struct engine *e);
/* "AWS API unavailable since ..." while the breaker is not closed, else "". */
void engine_outage_status(const struct engine *e, char *buf, size_t size);
/* Rate-limited "poll of ARN failed" line at level (LOG_WARNING, LOG_INFO). */
void engine_warn_poll_failure(struct engine *e, const char *arn, const char *what, int level);

/* engine_notify.c */
int engine_hooks_setup(struct engine *e);
/* Frees what one hook holds (its sink or Alertmanager client). */
void engine_hook_release(struct engine_hook *h);
void engine_hooks_teardown(struct engine *e);
/* The tracker's sinks callback: e's routing table (notify/route.h). */
const char *const *engine_event_sinks(const struct event *ev, void *userdata);
/* The tracker stored n new events (none when n <= 0): the turn's commit
 * wakes the notifiers and the alert conditions are collected again. */
void engine_events_stored(struct engine *e, int n);
void engine_run_notifiers(struct engine *e);
/* Retry now for the hook named name, or every hook (name NULL): waiting
 * deliveries and, with parked, parked ones (webhook_sink_retry_now); the
 * caller then runs the notifiers.  *ret_released (may be NULL) sums the deliveries
 * made due.  -ENOENT for an unknown name.  why goes in the log line. */
int engine_hooks_retry(struct engine *e, const char *name, bool parked, const char *why,
		       int64_t *ret_released);
/* Appends "; webhook NAME failing for N s (M pending)" for each failing
 * hook to the STATUS= line in buf (truncated to size). */
void engine_hooks_status(struct engine *e, char *buf, size_t size);
void engine_notify_timer_cb(uv_timer_t *t);
/* Re-arms the notifier timer (a sink's next wakeup changed). */
void engine_notify_rearm(struct engine *e);

/* engine_eventbridge.c: the [eventbridge] sinks. */
int engine_buses_setup(struct engine *e);
void engine_buses_teardown(struct engine *e);
/* After a reload swapped e->cfg: new sinks, the failing streaks kept. */
void engine_buses_reload(struct engine *e);
void engine_buses_run(struct engine *e, int64_t now_ms);
/* The earlier of next and every sink's wakeup (-1: none). */
int64_t engine_buses_next_wakeup(const struct engine *e, int64_t next);
/* engine_hooks_retry() for the sinks named name (NULL: all); sets *found
 * when one matched and adds the events made due to *total. */
int engine_buses_retry(struct engine *e, const char *name, bool parked, const char *why, bool *found,
		       int64_t *total);
/* Appends "; eventbridge NAME failing for N s (M pending)" per failing sink. */
void engine_buses_status(struct engine *e, char *buf, size_t size);
/* api_context.bus_at */
bool engine_bus_at(void *userdata, size_t i, struct api_bus_info *ret);

/* Discovery / control API callbacks (engine_poll.c). */
void engine_poll_soon_cb(void *userdata, struct tracked_job *j);
void engine_refreshed_cb(void *userdata, struct tracked_job *j, const struct job_observation *summary);
void engine_unwatched_cb(void *userdata, struct tracked_job *j);
void engine_list_observed_cb(void *userdata, struct tracked_job *j, const struct job_observation *summary);
void engine_list_vanished_cb(void *userdata, struct tracked_job *j);

/* engine_fleet.c: discovery and the HTTP listener. */
int engine_fleet_setup(struct engine *e);
/* Rebuilds discovery and, if [http] changed, the listener (after a reload). */
int engine_fleet_reload(struct engine *e, const struct config *old);
void engine_fleet_teardown(struct engine *e);

/* engine.c.  The other engine files never call it: engine.c acts on what
 * they changed at the end of each loop turn. */
void engine_maybe_finish(struct engine *e);
/* Starts the engine on config_path, runs it until it stops and returns the
 * exit code of the process (cli/run.c parses the command line). */
int engine_main(const char *config_path, bool strict);

#endif
