/* The daemon's life cycle: start-up, SIGHUP reload, SIGTERM shutdown, the
 * per-loop-turn commit and the systemd notifications. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aws/setup.h"
#include "creds.h"
#include "engine.h"
#include "http.h"
#include "log.h"
#include "notify/route.h"
#include "notify/webhook.h"
#include "service.h"
#include "util.h"

#define STOP_DEADLINE_MS     10000
#define STATUS_PERIOD_MS     5000
#define COUNTERS_FLUSH_TICKS 60	   /* 5 minutes of STATUS_PERIOD_MS */
#define PRUNE_TICKS	     17280 /* a day of STATUS_PERIOD_MS */
#define OUTBOX_RETENTION_MS  (30LL * 24 * 3600 * 1000)

static void close_cb(uv_handle_t *h)
{
	struct engine *e = h->data;
	e->open_handles--;
}

static int64_t tracker_mono_clock(void *userdata)
{
	return engine_now_mono_ms(userdata);
}

static void apply_poll_config(struct engine *e)
{
	const struct config *c = e->cfg;
	unsigned cap;

	e->pollcfg = (struct sched_poll_config){
	    .interval_ms = (int64_t)c->poll.interval_ms,
	    .settled_interval_ms = (int64_t)c->poll.settled_interval_ms,
	    .failed_interval_ms = (int64_t)c->poll.failed_interval_ms,
	    .jitter = c->poll.jitter,
	};
	/* Admit about two seconds' worth of requests at max_rps, and no more
	 * than max_connections: over HTTP/1.1 each connection carries one
	 * request, and the rest would wait inside libcurl (whose pending list
	 * costs a linear walk per completion); over HTTP/2 the requests are
	 * streams on one connection, and libcurl's work per socket event grows
	 * with the streams on it (1024 streams cost 1.8x the CPU per poll of
	 * 64, docs/internals/performance.md).  Enough to keep the pipe full,
	 * few enough that a request's timeout measures the request rather than
	 * a queue, and that memory (~20-30 KiB a request in flight) stays
	 * small; the jobs not admitted wait in the scheduler, at no cost. */
	cap = c->aws.max_rps * 2 + 1 > 4096 ? 4096 : (unsigned)(c->aws.max_rps * 2 + 1);
	if (cap > c->aws.max_connections)
		cap = c->aws.max_connections;
	if (cap < 4)
		cap = 4;
	e->max_inflight = cap;
	tracker_set_stuck_after(e->tracker, (int64_t)c->poll.stuck_after_ms);
	if (c->poll.stuck_after_ms) {
		uint64_t period = c->poll.stuck_after_ms / 4;
		if (period > 60000)
			period = 60000;
		if (period < 250)
			period = 250;
		uv_timer_start(&e->stuck_timer, engine_stuck_timer_cb, period, period);
	} else {
		uv_timer_stop(&e->stuck_timer);
	}
}

/* Watches every ARN of the config, and stops watching config jobs that are
 * no longer listed (their state is kept).  Jobs from discovery or the
 * control API are left alone. */
static void apply_job_list(struct engine *e, bool started)
{
	const struct config *c = e->cfg;
	size_t n = tracker_size(e->tracker);

	/* Mark what the config lists (hash lookups: 100k jobs stay linear). */
	for (size_t i = 0; i < n; i++)
		tracker_job_at(e->tracker, i)->poll.listed = false;
	for (size_t i = 0; i < c->n_arns; i++) {
		struct tracked_job *j = tracker_find(e->tracker, c->arns[i]);
		bool was_watched = j && j->watched;
		int r;

		r = tracker_add(e->tracker, c->arns[i], "config", &j);
		if (r < 0) {
			log_warning_errno(r, "cannot watch %s: %m", c->arns[i]);
			continue;
		}
		j->poll.listed = true;
		if (started && !was_watched) {
			log_info("now watching %s", c->arns[i]);
			engine_schedule_soon(e, j);
		}
	}
	n = tracker_size(e->tracker);
	for (size_t i = 0; i < n; i++) {
		struct tracked_job *j = tracker_job_at(e->tracker, i);

		if (j->poll.listed || !j->watched || !j->source || strcmp(j->source, "config") != 0)
			continue;
		tracker_unwatch(e->tracker, j->arn);
		engine_unwatched_cb(e, j);
		if (started)
			log_info("no longer watching %s (state kept)", j->arn);
	}
}

/* Jobs the state database watches in another region (the daemon's region
 * was changed): polled here they would fail, or answer 404 and look
 * deleted.  They stop being watched; their state is kept. */
static void unwatch_other_regions(struct engine *e)
{
	size_t n = tracker_size(e->tracker), count = 0;
	const char *example = NULL;

	for (size_t i = 0; i < n; i++) {
		struct tracked_job *j = tracker_job_at(e->tracker, i);

		if (!j->watched || arn_in_region(j->arn, e->endpoint.region))
			continue;
		if (!example)
			example = j->arn;
		tracker_unwatch(e->tracker, j->arn);
		count++;
	}
	if (count > 0)
		log_warning(
		    "%zu watched jobs in %s are not in region %s, which this daemon watches (first: %s); "
		    "they are no longer watched (their state is kept); watch them from a jobwatchd for "
		    "their region",
		    count, e->cfg->state_path, e->endpoint.region, example);
}

/* The shipped configuration (a fresh package install) names nothing to
 * watch; the daemon then runs idle and says so instead of failing. */
static bool engine_config_is_empty(const struct config *c)
{
	return c->n_arns == 0 && c->n_discover == 0;
}

static void status_line(struct engine *e, char *buf, size_t size)
{
	size_t n = tracker_size(e->tracker), watched = 0, working = 0, failed = 0;

	for (size_t i = 0; i < n; i++) {
		struct tracked_job *j = tracker_job_at(e->tracker, i);
		if (!j->watched || j->gone)
			continue;
		watched++;
		if (job_status_class((enum job_status)j->status) == STATUS_CLASS_WORKING)
			working++;
		else if (job_status_class((enum job_status)j->status) == STATUS_CLASS_FAILED)
			failed++;
	}
	if (!breaker_allows_polls(&e->breaker)) {
		char outage[BREAKER_ERROR_MAX + 64];

		engine_outage_status(e, outage, sizeof(outage));
		snprintf(buf, size, "%s; watching %zu job%s: %zu in progress, %zu failed", outage, watched,
			 watched == 1 ? "" : "s", working, failed);
	} else if (watched == 0 && engine_config_is_empty(e->cfg)) {
		snprintf(buf, size,
			 "watching nothing: %s names no job ([jobs] arn) and no [discover] source",
			 e->config_path);
	} else {
		snprintf(buf, size, "watching %zu job%s: %zu in progress, %zu failed; last API error: %s",
			 watched, watched == 1 ? "" : "s", working, failed,
			 e->last_api_error[0] ? e->last_api_error : "none");
	}
	/* A failing webhook is part of what the service is doing. */
	engine_hooks_status(e, buf, size);
}

/* Sends STATUS= now (a breaker change), not only at the next status tick. */
static void engine_update_status(struct engine *e)
{
	char buf[512];

	status_line(e, buf, sizeof(buf));
	service_notify_status(buf);
}

/* Delivered events older than the retention go (once a day, and soon after
 * start); undelivered ones stay whatever their age. */
static void prune_outbox(struct engine *e)
{
	int64_t cutoff = (int64_t)now_realtime_ms() - OUTBOX_RETENTION_MS;
	int r = store_prune(e->store, cutoff);

	if (r < 0)
		log_warning_errno(r, "pruning delivered events from the state database failed: %m");
}

/* STATUS= right after a transition (at most once a second), and a final
 * one before STOPPING=1, so that what systemctl status shows last is never
 * a count from before the last events. */
static void status_refresh(struct engine *e, bool force)
{
	int64_t now = (int64_t)now_realtime_ms();
	char buf[512];

	if (!force && now - e->status_sent_ms < 1000 && now >= e->status_sent_ms)
		return;
	e->status_sent_ms = now;
	status_line(e, buf, sizeof(buf));
	service_notify_status(buf);
}

static void status_timer_cb(uv_timer_t *t)
{
	struct engine *e = t->data;

	engine_update_status(e);
	/* Poll counters of unchanged jobs live in memory; write them out now
	 * and then (and at shutdown) rather than a row per poll. */
	if (++e->status_ticks % COUNTERS_FLUSH_TICKS == 0)
		tracker_flush_dirty(e->tracker);
	if (e->status_ticks % PRUNE_TICKS == 1)
		prune_outbox(e);
}

static void watchdog_timer_cb(uv_timer_t *t)
{
	service_notify_watchdog();
}

/* Once per loop turn: commit what this turn wrote, then let the notifiers
 * see the committed events.  It runs twice per iteration: in the prepare
 * phase, right before the loop blocks in poll -- HTTP completions arrive in
 * the idle phase just before, so an event detected now is committed and
 * notified now instead of when some unrelated timer next wakes the loop --
 * and in the check phase, for what the poll phase itself wrote (control API
 * requests). */
static void turn_commit(struct engine *e)
{
	int r;

	if (!e->store)
		return;
	r = store_flush(e->store);
	if (r < 0) {
		if (!e->flush_failed)
			log_error_errno(
			    r, "cannot write the state database: %m (will keep retrying; nothing is "
			       "notified until it is written)");
		e->flush_failed = true;
		if (!uv_is_active((uv_handle_t *)&e->notify_timer))
			uv_timer_start(&e->notify_timer, engine_notify_timer_cb, 1000, 0);
		return;
	}
	if (e->flush_failed)
		log_notice("the state database is writable again");
	e->flush_failed = false;
	if (e->events_added) {
		e->events_added = false;
		engine_run_notifiers(e);
		status_refresh(e, false);
	}
}

/* The end of a loop turn: after the commit, what engine.c does about what
 * the other engine files only changed -- the breaker opened or closed
 * (STATUS= says so at once), the last Get of a shutdown returned (finish).
 * So they never call back up into the life cycle. */
static void turn_end(struct engine *e)
{
	bool closed;

	turn_commit(e);
	closed = breaker_allows_polls(&e->breaker);
	if (closed != e->breaker_closed_shown) {
		e->breaker_closed_shown = closed;
		engine_update_status(e);
	}
	engine_maybe_finish(e);
}

static void turn_check_cb(uv_check_t *c)
{
	turn_end(c->data);
}

static void turn_prepare_cb(uv_prepare_t *p)
{
	turn_end(p->data);
}

/* libcurl's total connection limit: the API's, each webhook's
 * max_in_flight and two spare (credential requests share the same multi
 * handle), so a webhook request never queues inside libcurl, where its
 * timeout would measure the queue. */
static unsigned http_total_connections(const struct config *c)
{
	unsigned n = c->aws.max_connections + 2;

	for (size_t i = 0; i < c->n_webhooks; i++)
		n += c->webhooks[i].max_in_flight;
	return n + (unsigned)c->n_eventbridges;
}

/* The [aws] settings a reload applies (max_rps, timeout, ca_file,
 * max_connections: requests in flight keep theirs) and those that need a
 * restart because the client, its signer and its credentials are built on
 * them.  e->cfg is the new configuration. */
static void apply_aws_reload(struct engine *e, const struct config *old)
{
	const struct config *nc = e->cfg;
	int r;

	if (strcmp(nc->state_path, old->state_path) != 0)
		log_notice("[state] path changed: takes effect on restart");
	{
		/* Name what changed: "region, profile, ... changed" sent
		 * operators hunting for the key they did not touch. */
		const struct {
			const char *key;
			bool changed;
		} restart_keys[] = {
		    {"region", !str_same(nc->aws.region, old->aws.region)},
		    {"profile", !str_same(nc->aws.profile, old->aws.profile)},
		    {"endpoint", !str_same(nc->aws.endpoint, old->aws.endpoint)},
		    {"dualstack", nc->aws.dualstack != old->aws.dualstack},
		    {"fips", nc->aws.fips != old->aws.fips},
		};
		char keys[80] = "";
		size_t n = 0;

		for (size_t i = 0; i < ELEMENTSOF(restart_keys); i++)
			if (restart_keys[i].changed)
				n += (size_t)snprintf(keys + n, sizeof(keys) - n, "%s%s", n ? ", " : "",
						      restart_keys[i].key);
		if (n > 0)
			log_notice("[aws] %s changed: %s on restart", keys,
				   strchr(keys, ',') ? "they take effect" : "it takes effect");
	}
	if (nc->aws.max_rps != old->aws.max_rps) {
		/* The way to ease off a throttling service without dropping the job table. */
		log_info("[aws] max_rps %g -> %g", old->aws.max_rps, nc->aws.max_rps);
		aws_client_set_max_rps(e->aws, nc->aws.max_rps);
	}
	if (!str_same(nc->aws.ca_file, old->aws.ca_file) || nc->aws.timeout_ms != old->aws.timeout_ms) {
		log_info("[aws] ca_file %s, timeout %" PRIu64 " ms",
			 nc->aws.ca_file ? nc->aws.ca_file : "(system)", nc->aws.timeout_ms);
		r = aws_client_set_transport(e->aws, nc->aws.ca_file, nc->aws.timeout_ms);
		if (r >= 0)
			r = creds_set_ca_file(e->creds, nc->aws.ca_file);
		if (r < 0)
			log_error_errno(r, "[aws] ca_file or timeout could not be applied: %m");
	}
	if (http_total_connections(nc) != http_total_connections(old)) {
		if (nc->aws.max_connections != old->aws.max_connections)
			log_info("[aws] max_connections %u -> %u", old->aws.max_connections,
				 nc->aws.max_connections);
		http_ctx_set_limits(e->http, http_total_connections(nc), nc->aws.max_connections);
	}
}

static int engine_reload_apply(struct engine *e);

/* Records how a reload ended for /metrics and /healthz: the daemon keeps
 * running the previous configuration when one fails, which nobody sees
 * unless it is said somewhere lasting. */
static int engine_reload(struct engine *e)
{
	int r = engine_reload_apply(e);

	e->reload_failed = r < 0;
	if (r < 0)
		e->reload_failures++;
	else
		e->reload_ok_wall_ms = (int64_t)now_realtime_ms();
	return r;
}

static int engine_reload_apply(struct engine *e)
{
	struct config *nc = NULL, *old;
	struct config_diag diag = {0};
	struct engine_hook *old_hooks;
	struct route *old_route;
	size_t old_n;
	char err[512];
	int r;

	service_notify_reloading();
	log_info("reloading %s", e->config_path);
	r = config_load(e->config_path, e->strict, &nc, &diag);
	for (size_t i = 0; i < diag.n_warnings; i++)
		log_warning("%s", diag.warnings[i]);
	if (r < 0) {
		for (size_t i = 0; i < diag.n_errors; i++)
			log_error("%s", diag.errors[i]);
		log_error("reload failed: %zu errors in the new configuration; keeping the running one",
			  diag.n_errors);
		config_diag_done(&diag);
		service_notify_ready("reload failed, running the previous configuration");
		return r;
	}
	config_diag_done(&diag);
	/* The region stays the running one until a restart. */
	r = config_check_region(nc, e->endpoint.region, err, sizeof(err));
	if (r < 0) {
		log_error("%s (a new [aws] region takes effect on restart)", err);
		log_error("reload failed; keeping the running configuration");
		config_free(nc);
		service_notify_ready("reload failed, running the previous configuration");
		return r;
	}

	/* Webhooks are rebuilt from scratch; a delivery in flight is cancelled
	 * and stays pending in the outbox, so nothing is lost. */
	old = e->cfg;
	old_hooks = e->hooks;
	old_route = e->route;
	old_n = e->n_hooks;
	e->cfg = nc;
	e->hooks = NULL;
	e->route = NULL;
	e->n_hooks = 0;
	r = engine_hooks_setup(e);
	if (r < 0) {
		engine_hooks_teardown(e);
		e->cfg = old;
		e->hooks = old_hooks;
		e->route = old_route;
		e->n_hooks = old_n;
		config_free(nc);
		log_error("reload failed; keeping the running configuration");
		service_notify_ready("reload failed, running the previous configuration");
		return r;
	}
	for (size_t i = 0; i < old_n; i++) {
		for (size_t k = 0; k < e->n_hooks; k++)
			if (old_hooks[i].sink && e->hooks[k].sink &&
			    strcmp(e->hooks[k].cfg->name, old_hooks[i].cfg->name) == 0)
				webhook_sink_carry_health(e->hooks[k].sink, old_hooks[i].sink);
		engine_hook_release(&old_hooks[i]);
	}
	free(old_hooks);
	route_free(old_route);
	engine_buses_reload(e);
	/* SIGHUP is also how an operator says "the receiver is fixed": what
	 * waits for a retry, and what was parked, goes out now. */
	(void)engine_hooks_retry(e, NULL, true, "SIGHUP", NULL);
	apply_aws_reload(e, old);

	apply_poll_config(e);
	apply_job_list(e, true);
	r = engine_fleet_reload(e, old);
	if (r < 0)
		log_error("discovery or the HTTP listener could not be set up after the reload; see above");
	config_free(old);
	engine_poll_arm(e);
	engine_run_notifiers(e);

	{
		char buf[512];
		status_line(e, buf, sizeof(buf));
		service_notify_ready(buf);
	}
	log_info("reloaded: %zu configured jobs, %zu webhooks", e->cfg->n_arns, e->cfg->n_webhooks);
	return 0;
}

static void close_all(struct engine *e)
{
	uv_handle_t *handles[] = {
	    (uv_handle_t *)&e->poll_timer,     (uv_handle_t *)&e->notify_timer,
	    (uv_handle_t *)&e->watchdog_timer, (uv_handle_t *)&e->status_timer,
	    (uv_handle_t *)&e->stuck_timer,    (uv_handle_t *)&e->stop_timer,
	    (uv_handle_t *)&e->turn_check,     (uv_handle_t *)&e->turn_prepare,
	    (uv_handle_t *)&e->sig_term,       (uv_handle_t *)&e->sig_int,
	    (uv_handle_t *)&e->sig_hup,
	};
	for (size_t i = 0; i < ELEMENTSOF(handles); i++)
		if (!uv_is_closing(handles[i]))
			uv_close(handles[i], close_cb);
}

void engine_maybe_finish(struct engine *e)
{
	if (!e->stopping || e->inflight > 0 || uv_is_closing((uv_handle_t *)&e->turn_check))
		return;
	turn_commit(e);
	engine_fleet_teardown(e);
	engine_hooks_teardown(e);
	engine_buses_teardown(e);
	e->aws = aws_client_free(e->aws);
	e->creds = creds_free(e->creds);
	http_ctx_free(e->http);
	e->http = NULL;
	close_all(e);
}

static void stop_timer_cb(uv_timer_t *t)
{
	struct engine *e = t->data;

	log_warning("%u requests still in flight after %d s; cancelling them", e->inflight,
		    STOP_DEADLINE_MS / 1000);
	engine_fleet_teardown(e);
	/* Cancelled calls run their callbacks (inflight drops to 0) before
	 * aws_client_free() returns. */
	e->aws = aws_client_free(e->aws);
	engine_maybe_finish(e);
}

static void begin_shutdown(struct engine *e, const char *why)
{
	if (e->stopping)
		return;
	log_info("%s: stopping (%u requests in flight)", why, e->inflight);
	if (e->tracker)
		status_refresh(e, true);
	service_notify_stopping();
	e->stopping = true;
	uv_timer_stop(&e->poll_timer);
	uv_timer_stop(&e->notify_timer);
	uv_timer_stop(&e->status_timer);
	uv_timer_stop(&e->stuck_timer);
	/* No new listings; the listener stops taking requests. */
	engine_fleet_teardown(e);
	uv_timer_start(&e->stop_timer, stop_timer_cb, STOP_DEADLINE_MS, 0);
	engine_maybe_finish(e);
}

static void signal_cb(uv_signal_t *s, int signum)
{
	struct engine *e = s->data;

	if (signum == SIGHUP) {
		if (!e->stopping)
			engine_reload(e);
		return;
	}
	begin_shutdown(e, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static int init_handles(struct engine *e)
{
	uv_timer_t *timers[] = {&e->poll_timer,	  &e->notify_timer, &e->watchdog_timer,
				&e->status_timer, &e->stuck_timer,  &e->stop_timer};
	uv_signal_t *sigs[] = {&e->sig_term, &e->sig_int, &e->sig_hup};
	int signums[] = {SIGTERM, SIGINT, SIGHUP};

	for (size_t i = 0; i < ELEMENTSOF(timers); i++) {
		uv_timer_init(&e->loop, timers[i]);
		timers[i]->data = e;
		e->open_handles++;
	}
	uv_check_init(&e->loop, &e->turn_check);
	e->turn_check.data = e;
	e->open_handles++;
	uv_check_start(&e->turn_check, turn_check_cb);
	uv_prepare_init(&e->loop, &e->turn_prepare);
	e->turn_prepare.data = e;
	e->open_handles++;
	uv_prepare_start(&e->turn_prepare, turn_prepare_cb);
	for (size_t i = 0; i < ELEMENTSOF(sigs); i++) {
		int r;
		uv_signal_init(&e->loop, sigs[i]);
		sigs[i]->data = e;
		e->open_handles++;
		r = uv_signal_start(sigs[i], signal_cb, signums[i]);
		if (r < 0)
			return log_error_errno(r, "cannot handle signal %d: %m", signums[i]);
	}
	return 0;
}

static int engine_start(struct engine *e)
{
	struct config_diag diag = {0};
	char err[512], region_buf[64];
	int r;

	r = config_load(e->config_path, e->strict, &e->cfg, &diag);
	for (size_t i = 0; i < diag.n_warnings; i++)
		log_warning("%s", diag.warnings[i]);
	for (size_t i = 0; i < diag.n_errors; i++)
		log_error("%s", diag.errors[i]);
	config_diag_done(&diag);
	if (r < 0)
		return log_error_errno(r, "cannot load %s", e->config_path);

	r = http_global_check();
	if (r < 0)
		return r;

	struct aws_settings as;
	bool empty = engine_config_is_empty(e->cfg);

	aws_settings_from_config(e->cfg, &as);
	as.max_total_connections = http_total_connections(e->cfg);
	if (empty) {
		/* Nothing to poll, so no region is needed yet: a fresh install
		 * must not fail-loop under Restart=on-failure.  Any region
		 * makes a valid endpoint; jobs need a restart with one set. */
		as.fallback_region = "us-east-1";
	} else {
		/* The configured ARNs name a region. */
		as.fallback_region = aws_region_of_jobs(e->cfg, region_buf, sizeof(region_buf));
	}
	r = aws_settings_resolve_endpoint(&as, &e->endpoint, err, sizeof(err));
	if (r < 0)
		return log_error_errno(r, "%s", err);
	if (r > 0 && empty)
		log_notice("%s: no AWS region set; the region is needed once jobs are configured",
			   e->config_path);
	else if (r > 0)
		log_notice("no AWS region set: using %s, the region of the configured jobs", region_buf);
	r = config_check_region(e->cfg, e->endpoint.region, err, sizeof(err));
	if (r < 0)
		return log_error_errno(
		    r,
		    "%s (the region comes from AWS_REGION, AWS_DEFAULT_REGION or the profile; "
		    "set [aws] region)",
		    err);

	r = store_open(e->cfg->state_path, &e->store);
	if (r == -EBUSY)
		return log_error_errno(r, "another jobwatchd is using the state database %s",
				       e->cfg->state_path);
	if (r < 0)
		return log_error_errno(r, "cannot open the state database %s: %m", e->cfg->state_path);

	e->sched = sched_new();
	if (!e->sched)
		return log_error_errno(-ENOMEM, "out of memory");
	r = tracker_new(e->store, e->endpoint.region, (int64_t)e->cfg->poll.stuck_after_ms,
			engine_event_sinks, e, &e->tracker);
	if (r < 0)
		return log_error_errno(r, "cannot set up the job table: %m");
	r = tracker_load(e->tracker);
	if (r < 0)
		return log_error_errno(r, "cannot load the job table from %s: %m", e->cfg->state_path);

	r = uv_loop_init(&e->loop);
	if (r < 0)
		return log_error_errno(r, "cannot create the event loop: %m");
	tracker_set_mono_clock(e->tracker, tracker_mono_clock, e);
	r = init_handles(e);
	if (r < 0)
		return r;

	r = aws_stack_parts_new(&e->loop, &as, &e->endpoint, &e->http, &e->creds, &e->aws, err, sizeof(err));
	if (r >= 0)
		aws_client_set_clock(e->aws, &e->clock);
	if (r < 0)
		return log_error_errno(r, "%s", err);

	r = engine_hooks_setup(e);
	if (r >= 0)
		r = engine_buses_setup(e);
	if (r < 0)
		return r;
	/* A restart does not wait out the backoff of the previous run: what
	 * waited for a retry is tried now (parked deliveries stay parked). */
	r = engine_hooks_retry(e, NULL, false, "start", NULL);
	if (r < 0)
		return r;

	apply_poll_config(e);
	apply_job_list(e, false);
	unwatch_other_regions(e);
	breaker_init(&e->breaker);
	e->breaker_closed_shown = true;
	engine_schedule_initial(e);
	e->started_wall_ms = (int64_t)now_realtime_ms();
	e->reload_ok_wall_ms = e->started_wall_ms;
	e->started_mono_ms = engine_now_mono_ms(e);
	return engine_fleet_setup(e);
}

static void engine_release(struct engine *e)
{
	if (e->tracker)
		tracker_flush_dirty(e->tracker);
	if (e->store) {
		int r = store_flush(e->store);
		if (r < 0)
			log_error_errno(r, "final write of the state database failed: %m");
	}
	/* The heap's nodes live inside the tracker's jobs: free it first. */
	e->sched = sched_free(e->sched);
	e->tracker = tracker_free(e->tracker);
	e->store = store_close(e->store);
	aws_endpoint_done(&e->endpoint);
	e->cfg = config_free(e->cfg);
}

/* Starts the engine on config_path and runs it until it stops: the exit
 * code of the process. */
int engine_main(const char *config_path, bool strict)
{
	struct engine e = {.config_path = (char *)config_path, .strict = strict};
	bool loop_ok;
	int r;

	r = engine_start(&e);
	loop_ok = e.open_handles > 0;
	if (r < 0) {
		e.exit_code = 1;
		if (loop_ok) {
			e.stopping = true;
			engine_maybe_finish(&e);
			if (!uv_is_closing((uv_handle_t *)&e.turn_check)) {
				engine_fleet_teardown(&e);
				engine_hooks_teardown(&e);
				engine_buses_teardown(&e);
				e.aws = aws_client_free(e.aws);
				e.creds = creds_free(e.creds);
				http_ctx_free(e.http);
				close_all(&e);
			}
			uv_run(&e.loop, UV_RUN_DEFAULT);
			uv_loop_close(&e.loop);
		}
		engine_release(&e);
		return 1;
	}

	{
		char buf[512];
		uint64_t wd = service_watchdog_usec();

		status_line(&e, buf, sizeof(buf));
		log_info("started: %s (state %s, endpoint %s, region %s)", buf, e.cfg->state_path,
			 e.endpoint.base_url, e.endpoint.region);
		if (engine_config_is_empty(e.cfg))
			log_notice(
			    "nothing to watch: add [jobs] arn = ... or a [discover] section to %s, "
			    "then reload (restart when [aws] region was not set; see jobwatchd.conf(5))",
			    e.config_path);
		service_notify_ready(buf);
		uv_timer_start(&e.status_timer, status_timer_cb, STATUS_PERIOD_MS, STATUS_PERIOD_MS);
		if (wd) {
			uint64_t half = wd / 2000;
			if (half == 0)
				half = 1;
			/* Sent from the loop: a stuck loop stops the pings and
			 * systemd restarts us. */
			uv_timer_start(&e.watchdog_timer, watchdog_timer_cb, 0, half);
		}
	}
	engine_poll_arm(&e);
	/* Deliveries left pending by the previous run (a crash, a dead
	 * receiver) resume now, not only when the next event arrives. */
	engine_run_notifiers(&e);

	uv_run(&e.loop, UV_RUN_DEFAULT);
	r = uv_loop_close(&e.loop);
	if (r < 0)
		log_debug_errno(r, "event loop closed with handles left: %m");
	engine_release(&e);
	log_info("stopped");
	return e.exit_code;
}
