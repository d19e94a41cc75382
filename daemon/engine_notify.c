/* Notifiers: after each committed batch the journal sink and every webhook
 * sink pull their due deliveries from the outbox.  Nothing is sent before
 * the event is durable (store_flush() succeeded). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "engine.h"
#include "log.h"
#include "notify/alertmanager.h"
#include "notify/journal.h"
#include "notify/route.h"
#include "notify/webhook.h"
#include "util.h"

/* Alert conditions are collected again at least this often: a gone job's
 * alert ends by time, not by an event. */
#define ALERTS_SYNC_PERIOD_MS 10000

static void notify_arm(struct engine *e)
{
	int64_t next = -1, now = (int64_t)now_realtime_ms();

	if (e->stopping)
		return;
	for (size_t i = 0; i < e->n_hooks; i++) {
		const struct engine_hook *h = &e->hooks[i];
		int64_t w = h->am ? am_client_next_wakeup_ms(h->am) : webhook_sink_next_wakeup_ms(h->sink);
		if (h->am && (w < 0 || e->alerts_next_sync_ms < w))
			w = e->alerts_next_sync_ms;
		if (w >= 0 && (next < 0 || w < next))
			next = w;
	}
	next = engine_buses_next_wakeup(e, next);
	/* The journal sink retries a failed send after 5 s; look again then. */
	if (e->cfg->journal_enabled) {
		int64_t backlog = 0;
		if (store_delivery_backlog(e->store, JOURNAL_SINK_NAME, &backlog) >= 0 && backlog > 0 &&
		    (next < 0 || next > now + 5000))
			next = now + 5000;
	}
	if (next < 0)
		uv_timer_stop(&e->notify_timer);
	else
		uv_timer_start(&e->notify_timer, engine_notify_timer_cb,
			       next > now ? (uint64_t)(next - now) : 0, 0);
}

static void hook_wakeup_changed(void *userdata)
{
	notify_arm(userdata);
}

void engine_notify_rearm(struct engine *e)
{
	notify_arm(e);
}

/* Hands every Alertmanager hook the conditions that hold now. */
static void alerts_sync(struct engine *e, int64_t now)
{
	struct alerts_ctx x = {
	    .tracker = e->tracker,
	    .store = e->store,
	    .region = e->endpoint.region,
	    .stuck_after_ms = (int64_t)e->cfg->poll.stuck_after_ms,
	};

	for (size_t i = 0; i < e->n_hooks; i++) {
		const struct engine_hook *h = &e->hooks[i];
		struct am_condition *conds = NULL;
		int n, r;
		if (!h->am)
			continue;
		n = alerts_collect(&x, h->cfg, (int64_t)h->cfg->gone_alert_for_ms, now, &conds);
		r = n < 0 ? n : am_client_update(h->am, conds, (size_t)n, alerts_describe, &x, now);
		free(conds);
		if (r < 0)
			log_warning_errno(r, "alertmanager %s: cannot update the alerts: %m", h->cfg->name);
	}
	e->alerts_dirty = false;
	e->alerts_next_sync_ms = now + ALERTS_SYNC_PERIOD_MS;
}

void engine_run_notifiers(struct engine *e)
{
	int64_t now = (int64_t)now_realtime_ms();
	bool any_am = false;

	if (e->stopping)
		return;
	if (e->cfg->journal_enabled) {
		/* Bounded per call so a backlog cannot starve the loop; the
		 * timer brings us back. */
		for (int i = 0; i < 8; i++)
			if (journal_sink_run(e->store, now) < 256)
				break;
	}
	for (size_t i = 0; i < e->n_hooks; i++)
		any_am |= e->hooks[i].am != NULL;
	if (any_am && (e->alerts_dirty || now >= e->alerts_next_sync_ms))
		alerts_sync(e, now);
	for (size_t i = 0; i < e->n_hooks; i++) {
		if (e->hooks[i].am)
			am_client_run(e->hooks[i].am, now);
		else
			webhook_sink_run(e->hooks[i].sink, now);
	}
	engine_buses_run(e, now);
	/* Marking deliveries done is part of the next batch. */
	notify_arm(e);
}

int engine_hooks_retry(struct engine *e, const char *name, bool parked, const char *why,
		       int64_t *ret_released)
{
	int64_t now = (int64_t)now_realtime_ms(), total = 0;
	bool found = false;

	for (size_t i = 0; i < e->n_hooks; i++) {
		int64_t n = 0;
		int r;

		if (name && strcmp(name, e->hooks[i].cfg->name) != 0)
			continue;
		found = true;
		/* A hook that is not an outbox sink has no deliveries to retry. */
		if (!e->hooks[i].sink)
			continue;
		r = webhook_sink_retry_now(e->hooks[i].sink, now, parked, &n);
		if (r < 0)
			return log_error_errno(r, "webhook %s: cannot retry its deliveries (%s): %m",
					       e->hooks[i].cfg->name, why);
		if (n > 0)
			log_info("webhook %s: %s: %lld %s deliveries retried now", e->hooks[i].cfg->name,
				 why, (long long)n, parked ? "waiting or parked" : "waiting");
		total += n;
	}
	if (engine_buses_retry(e, name, parked, why, &found, &total) < 0)
		return -EIO;
	if (name && !found)
		return -ENOENT;
	if (ret_released)
		*ret_released = total;
	return 0;
}

void engine_hooks_status(struct engine *e, char *buf, size_t size)
{
	int64_t now = (int64_t)now_realtime_ms();

	for (size_t i = 0; i < e->n_hooks; i++) {
		const struct webhook_stats *st =
		    e->hooks[i].sink ? webhook_sink_stats(e->hooks[i].sink) : NULL;
		int64_t pending = 0;
		size_t len = strlen(buf);

		if (!st || (!st->failing && !st->disabled))
			continue;
		if (store_delivery_backlog(e->store, route_hook_sink(e->route, i), &pending) < 0)
			pending = -1;
		if (st->disabled)
			snprintf(buf + len, size - len, "; webhook %s disabled by 410 (%lld pending)",
				 e->hooks[i].cfg->name, (long long)pending);
		else
			snprintf(buf + len, size - len, "; webhook %s failing for %lld s (%lld pending)",
				 e->hooks[i].cfg->name, (long long)((now - st->failing_since_ms) / 1000),
				 (long long)pending);
	}
	engine_buses_status(e, buf, size);
}

void engine_notify_timer_cb(uv_timer_t *t)
{
	engine_run_notifiers(t->data);
}

const char *const *engine_event_sinks(const struct event *ev, void *userdata)
{
	struct engine *e = userdata;

	return route_event_sinks(e->route, ev);
}

void engine_events_stored(struct engine *e, int n)
{
	if (n <= 0)
		return;
	e->events_added = true;
	/* Alertmanager hooks take conditions, not events: any event may
	 * start or end one. */
	e->alerts_dirty = true;
}

/* format = alertmanager: headers_file carries the Authorization header
 * (bearer or basic), as Prometheus's alertmanager_config does. */
static int am_hook_new(struct engine *e, const struct config_webhook *w, struct engine_hook *h)
{
	char **headers = NULL;
	char err[256];
	int r;

	if (w->headers_file) {
		r = sign_headers_load_file(w->headers_file, &headers, err, sizeof(err));
		if (r < 0)
			return log_error_errno(r, "webhook \"%s\": %s", w->name, err);
	}
	struct am_client_params p = {
	    .name = w->name,
	    .urls = w->url,
	    .extra_headers = (const char *const *)headers,
	    .ca_file = e->cfg->aws.ca_file,
	    .timeout_ms = w->timeout_ms,
	    .resend_ms = (int64_t)w->resend_interval_ms,
	    .wakeup_changed = hook_wakeup_changed,
	    .userdata = e,
	};
	r = am_client_new(&p, e->store, e->http, &h->am);
	sign_headers_free(headers);
	if (r < 0)
		return log_error_errno(r, "webhook \"%s\": cannot set up the Alertmanager client: %m",
				       w->name);
	return 0;
}

static int hook_new(struct engine *e, const struct config_webhook *w, struct engine_hook *h)
{
	struct sign_key key = {0};
	char **headers = NULL;
	char err[256];
	int r;

	h->cfg = w;
	if (w->format == PAYLOAD_FORMAT_ALERTMANAGER)
		return am_hook_new(e, w, h);
	if (w->secret_file) {
		r = sign_key_load_file(w->secret_file, &key, err, sizeof(err));
		if (r < 0)
			return log_error_errno(r, "webhook \"%s\": %s", w->name, err);
	}
	if (w->headers_file) {
		r = sign_headers_load_file(w->headers_file, &headers, err, sizeof(err));
		if (r < 0) {
			sign_key_wipe(&key);
			return log_error_errno(r, "webhook \"%s\": %s", w->name, err);
		}
	}
	struct webhook_sink_params p = {
	    .name = w->name,
	    .url = w->url,
	    .format = w->format,
	    .key = w->secret_file ? &key : NULL,
	    .extra_headers = (const char *const *)headers,
	    .timeout_ms = w->timeout_ms,
	    .max_pending = (int64_t)w->max_pending,
	    .max_age_ms = (int64_t)w->max_age_ms,
	    .max_in_flight = w->max_in_flight,
	    .ca_file = e->cfg->aws.ca_file,
	    .wakeup_changed = hook_wakeup_changed,
	    .userdata = e,
	};
	r = webhook_sink_new(&p, e->store, e->http, &h->sink);
	sign_key_wipe(&key);
	sign_headers_free(headers);
	if (r < 0)
		return log_error_errno(r, "webhook \"%s\": cannot set up delivery: %m", w->name);
	return 0;
}

int engine_hooks_setup(struct engine *e)
{
	const struct config *c = e->cfg;
	int r;

	r = route_new(c, &e->route);
	if (r < 0)
		return log_error_errno(r, "cannot set up event routing: %m");
	e->hooks = calloc(c->n_webhooks ? c->n_webhooks : 1, sizeof(*e->hooks));
	if (!e->hooks)
		return log_error_errno(-ENOMEM, "out of memory");
	e->alerts_dirty = true;
	e->alerts_next_sync_ms = 0;
	for (size_t i = 0; i < c->n_webhooks; i++) {
		r = hook_new(e, &c->webhooks[i], &e->hooks[e->n_hooks]);
		if (r < 0)
			return r;
		e->n_hooks++;
	}
	return 0;
}

void engine_hook_release(struct engine_hook *h)
{
	webhook_sink_free(h->sink);
	h->am = am_client_free(h->am);
	h->sink = NULL;
}

void engine_hooks_teardown(struct engine *e)
{
	for (size_t i = 0; i < e->n_hooks; i++)
		engine_hook_release(&e->hooks[i]);
	free(e->hooks);
	e->route = route_free(e->route);
	e->hooks = NULL;
	e->n_hooks = 0;
}
