/* Service-wide failures: the engine's side of the breaker (breaker.h).
 *
 * A poll that fails for the service's reasons (throttling, 5xx, timeouts,
 * resets, DNS/TLS, credentials, auth) leaves its job's schedule alone; a run
 * of them opens the breaker, which stops regular polling and sends one probe
 * at a time instead.  The first answer closes it, and every job that came
 * due meanwhile is polled again, spread so max_rps holds.  Operators see
 * one warning when an outage starts and one when it ends, the state on
 * /metrics and /healthz, and "AWS API unavailable since ..." in STATUS=. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine.h"
#include "log.h"
#include "util.h"

#define WARN_WINDOW_MS	60000
#define WARN_PER_WINDOW 20

/* Poll failures are logged, but a dead endpoint with 100k jobs must not
 * flood the journal: at most WARN_PER_WINDOW a minute, then one summary. */
void engine_warn_poll_failure(struct engine *e, const char *arn, const char *what, int level)
{
	int64_t now = engine_now_mono_ms(e);

	if (now - e->warn_window_start_mono_ms >= WARN_WINDOW_MS) {
		if (e->warn_suppressed)
			log_warning("%llu more poll failures in the last minute were not logged",
				    (unsigned long long)e->warn_suppressed);
		e->warn_window_start_mono_ms = now;
		e->warn_in_window = 0;
		e->warn_suppressed = 0;
	}
	if (e->warn_in_window++ < WARN_PER_WINDOW)
		log_full_errno(level, 0, "poll of %s failed: %s", arn, what);
	else
		e->warn_suppressed++;
}

static int64_t class_interval_ms(const struct sched_poll_config *c, enum status_class cls)
{
	switch (cls) {
	case STATUS_CLASS_WORKING:
	case STATUS_CLASS_INVALID:
		return c->interval_ms;
	case STATUS_CLASS_SETTLED:
		return c->settled_interval_ms;
	case STATUS_CLASS_FAILED:
		return c->failed_interval_ms;
	default:
		return 0;
	}
}

/* Probes go once a poll interval -- so the service's return is seen within
 * one interval -- but never faster than the fleet is polled when all is
 * well: a few settled jobs polled hourly are not probed every 30 s.  With
 * one attempt per probe, the calls of an outage stay at or below the normal
 * polling rate. */
static int64_t probe_period_ms(struct engine *e)
{
	size_t n = tracker_size(e->tracker);
	double per_ms = 0;
	int64_t period = e->pollcfg.interval_ms;

	for (size_t i = 0; i < n; i++) {
		struct tracked_job *j = tracker_job_at(e->tracker, i);
		int64_t iv;

		if (!j->watched || j->gone || !sched_node_is_scheduled(&j->sched))
			continue;
		iv = class_interval_ms(&e->pollcfg, job_status_class((enum job_status)j->status));
		if (iv > 0)
			per_ms += 1.0 / (double)iv;
	}
	if (per_ms > 0 && 1.0 / per_ms > (double)period)
		period = (int64_t)(1.0 / per_ms);
	return period;
}

void engine_outage_failure(struct engine *e, struct tracked_job *j, const char *what, bool probe)
{
	int64_t now = engine_now_mono_ms(e);
	bool was_closed = breaker_allows_polls(&e->breaker);
	enum breaker_change ch;

	ch = breaker_on_failure(&e->breaker, now, engine_now_wall_ms(e), probe, what,
				probe ? 0 : probe_period_ms(e));
	if (ch == BREAKER_OPENED) {
		char period[32];

		format_duration((uint64_t)e->breaker.probe_period_ms, period, sizeof(period));
		log_warning(
		    "AWS API unavailable: %u polls in a row failed (last: %s); regular polling stops, "
		    "one probe every %s until the service answers",
		    e->breaker.failures_in_row, what, period);
		return;
	}
	/* Once the outage is known, a line per job would only bury the two
	 * that matter; the failures still count on /metrics. */
	if (was_closed)
		engine_warn_poll_failure(e, j->arn, what, LOG_INFO);
	else
		log_debug("%s of %s failed: %s", probe ? "probe" : "poll", j->arn, what);
}

/* Every job that came due while the breaker was open is polled again,
 * spread over min(interval, n / max_rps) in the order they were due
 * (tracker order is close enough: the heap says nothing about order among
 * overdue jobs). */
static size_t respread_due(struct engine *e, int64_t now)
{
	size_t n = tracker_size(e->tracker), due = 0, k = 0;

	for (size_t i = 0; i < n; i++) {
		struct tracked_job *j = tracker_job_at(e->tracker, i);
		int64_t d = sched_node_due(e->sched, &j->sched);
		if (d >= 0 && d <= now)
			due++;
	}
	for (size_t i = 0; i < n && k < due; i++) {
		struct tracked_job *j = tracker_job_at(e->tracker, i);
		int64_t d = sched_node_due(e->sched, &j->sched);
		if (d < 0 || d > now)
			continue;
		sched_set(e->sched, &j->sched,
			  sched_initial_poll_ms(now, k++, due, e->pollcfg.interval_ms, e->cfg->aws.max_rps,
						engine_random()));
	}
	return due;
}

void engine_outage_answer(struct engine *e)
{
	int64_t now = engine_now_mono_ms(e);
	char since[40], took[32];
	size_t due;

	if (breaker_on_answer(&e->breaker, now) != BREAKER_RECOVERED)
		return;
	due = respread_due(e, now);
	format_iso8601_ms(e->breaker.opened_wall_ms, since, sizeof(since));
	/* Whole seconds: "1m30s" reads better than "1m30s123ms". */
	format_duration((uint64_t)(e->breaker.last_outage_ms + 500) / 1000 * 1000, took, sizeof(took));
	log_warning("AWS API available again after %s (unavailable since %s, %" PRIu64
		    " probes); polling the %zu jobs that came due meanwhile",
		    took, since, e->breaker.probes, due);
}

void engine_outage_status(const struct engine *e, char *buf, size_t size)
{
	char since[40];

	if (breaker_allows_polls(&e->breaker)) {
		if (size)
			buf[0] = '\0';
		return;
	}
	format_iso8601_ms(e->breaker.opened_wall_ms, since, sizeof(since));
	snprintf(buf, size, "AWS API unavailable since %s (%s)", since,
		 e->breaker.last_error[0] ? e->breaker.last_error : "no answer");
}
