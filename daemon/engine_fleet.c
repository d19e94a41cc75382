/* Fleet features wired into the engine: [discover] sections (List-based
 * discovery and bulk refresh) and the [http] listener (/metrics, /healthz,
 * the control API). */
#include <errno.h>
#include <string.h>

#include "engine.h"
#include "log.h"
#include "notify/alertmanager.h"
#include "notify/webhook.h"
#include "util.h"

/* The i-th webhook sink (Alertmanager hooks have none and are skipped). */
static const struct webhook_sink *hook_at(void *userdata, size_t i)
{
	struct engine *e = userdata;

	for (size_t k = 0; k < e->n_hooks; k++)
		if (e->hooks[k].sink && i-- == 0)
			return e->hooks[k].sink;
	return NULL;
}

/* The i-th Alertmanager hook. */
static bool am_at(void *userdata, size_t i, const char **ret_name, struct am_client_stats *ret_stats)
{
	struct engine *e = userdata;

	for (size_t k = 0; k < e->n_hooks; k++)
		if (e->hooks[k].am && i-- == 0) {
			*ret_name = am_client_name(e->hooks[k].am);
			am_client_get_stats(e->hooks[k].am, ret_stats);
			return true;
		}
	return false;
}

static void engine_stats(void *userdata, struct api_engine_stats *ret)
{
	struct engine *e = userdata;
	int64_t since =
	    e->last_success_mono_ms > e->started_mono_ms ? e->last_success_mono_ms : e->started_mono_ms;
	bool out = !breaker_allows_polls(&e->breaker);

	*ret = (struct api_engine_stats){
	    .started_ms = e->started_wall_ms,
	    .last_success_ms = e->last_success_wall_ms,
	    .polls_ok = e->polls_ok,
	    .polls_failed = e->polls_failed,
	    .poll_interval_ms = e->cfg->poll.interval_ms,
	    .has_quiet = true,
	    .quiet_ms = engine_now_mono_ms(e) - since,
	    .breaker_state = breaker_state_to_string(e->breaker.state),
	    .unavailable_since_ms = out ? e->breaker.opened_wall_ms : 0,
	    .last_service_failure_ms = e->breaker.last_failure_wall_ms,
	    .outages = e->breaker.outages,
	    .outage_error = e->breaker.last_error,
	    .has_reload = true,
	    .reload_failed = e->reload_failed,
	    .reload_failures = e->reload_failures,
	    .reload_ok_ms = e->reload_ok_wall_ms,
	};
}

/* GET /v1/jobs/{arn}: the job's monotonic times as wall-clock times. */
static void job_times(void *userdata, const struct tracked_job *j, struct api_job_times *ret)
{
	struct engine *e = userdata;
	int64_t mono = engine_now_mono_ms(e), wall = engine_now_wall_ms(e);
	int64_t due = sched_node_due(e->sched, &j->sched);

	*ret = (struct api_job_times){0};
	if (j->poll.not_found_mono_ms > 0)
		ret->not_found_since_ms = wall - (mono - j->poll.not_found_mono_ms);
	if (due >= 0)
		ret->next_poll_ms = wall + (due > mono ? due - mono : 0);
}

static int discovery_setup(struct engine *e)
{
	struct discovery_callbacks cb = {
	    .poll_soon = engine_poll_soon_cb,
	    .refreshed = engine_refreshed_cb,
	    .list_observed = engine_list_observed_cb,
	    .list_vanished = engine_list_vanished_cb,
	    .userdata = e,
	};
	int r;

	if (e->cfg->n_discover == 0)
		return 0;
	r = discovery_new(&e->loop, e->aws, e->tracker, e->cfg->discover, e->cfg->n_discover, &cb,
			  &e->discovery);
	if (r < 0)
		return log_error_errno(r, "cannot set up discovery: %m");
	r = discovery_start(e->discovery);
	if (r < 0)
		return log_error_errno(r, "cannot start discovery: %m");
	return 0;
}

static int listener_setup(struct engine *e)
{
	struct api_options opt = {
	    .listen = e->cfg->http.listen,
	    .token_file = e->cfg->http.token_file,
	    .metrics_token_file = e->cfg->http.metrics_token_file,
	    .cert_file = e->cfg->http.cert_file,
	    .key_file = e->cfg->http.key_file,
	};
	int r;

	if (str_empty(e->cfg->http.listen))
		return 0;
	r = api_new(&e->loop, &opt, &e->api_ctx, &e->api);
	if (r < 0)
		return log_error_errno(r, "cannot listen on %s: %m", e->cfg->http.listen);
	log_info("serving /metrics, /healthz and the control API on %s", e->cfg->http.listen);
	return 0;
}

/* POST /v1/webhooks[/NAME]/retry (jobwatchd retry [HOOK]). */
static int retry_hooks(void *userdata, const char *name, int64_t *ret_released)
{
	struct engine *e = userdata;
	int r = engine_hooks_retry(e, name, true, "retry requested (control API)", ret_released);

	if (r >= 0)
		engine_run_notifiers(e);
	return r;
}

int engine_fleet_setup(struct engine *e)
{
	int r;

	e->api_ctx = (struct api_context){
	    .tracker = e->tracker,
	    .aws = e->aws,
	    .creds = e->creds,
	    .store = e->store,
	    .hook_at = hook_at,
	    .am_at = am_at,
	    .bus_at = engine_bus_at,
	    .engine_stats = engine_stats,
	    .job_times = job_times,
	    .poll_soon = engine_poll_soon_cb,
	    .unwatched = engine_unwatched_cb,
	    .retry_hooks = retry_hooks,
	    .userdata = e,
	    .max_jobs = e->cfg->http.max_jobs,
	};
	r = discovery_setup(e);
	if (r < 0)
		return r;
	e->api_ctx.discovery = e->discovery;
	return listener_setup(e);
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int engine_fleet_reload(struct engine *e, const struct config *old)
{
	int r;

	/* Listings in flight are cancelled; the jobs they found are in the
	 * tracker already, so nothing is lost by starting over. */
	e->discovery = discovery_free(e->discovery);
	e->api_ctx.discovery = NULL;
	r = discovery_setup(e);
	e->api_ctx.discovery = e->discovery;
	e->api_ctx.max_jobs = e->cfg->http.max_jobs;
	if (r < 0)
		return r;
	if (!str_eq(old->http.listen, e->cfg->http.listen) ||
	    !str_eq(old->http.token_file, e->cfg->http.token_file) ||
	    !str_eq(old->http.metrics_token_file, e->cfg->http.metrics_token_file) ||
	    !str_eq(old->http.cert_file, e->cfg->http.cert_file) ||
	    !str_eq(old->http.key_file, e->cfg->http.key_file)) {
		e->api = api_free(e->api);
		return listener_setup(e);
	}
	return 0;
}

void engine_fleet_teardown(struct engine *e)
{
	e->api = api_free(e->api);
	e->discovery = discovery_free(e->discovery);
	e->api_ctx.discovery = NULL;
}
