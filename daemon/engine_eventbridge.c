/* [eventbridge "NAME"] sections in the engine: one outbox sink each, fed by
 * engine_event_sinks(), run with the other notifiers, rebuilt on reload. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/setup.h"
#include "engine.h"
#include "log.h"
#include "notify/eventbridge.h"

static void bus_wakeup_changed(void *userdata)
{
	engine_notify_rearm(userdata);
}

static int bus_new(struct engine *e, const struct config_eventbridge *b, const struct aws_endpoint *ep,
		   struct engine_bus *ret)
{
	int r;

	ret->cfg = b;
	r = eb_sink_new(
	    &(struct eb_sink_params){
		.name = b->name,
		.event_bus = b->event_bus,
		.source = b->source,
		.endpoint = ep,
		.ca_file = e->cfg->aws.ca_file,
		.timeout_ms = e->cfg->aws.timeout_ms,
		.clock = &e->clock,
		.wakeup_changed = bus_wakeup_changed,
		.userdata = e,
	    },
	    e->store, e->http, e->creds, &ret->sink);
	if (r < 0)
		return log_error_errno(r, "eventbridge \"%s\": cannot set up delivery: %m", b->name);
	return 0;
}

int engine_buses_setup(struct engine *e)
{
	const struct config *c = e->cfg;
	struct aws_endpoint ep = {0};
	struct aws_settings as;
	char err[512];
	int r = 0;

	e->buses = NULL;
	e->n_buses = 0;
	if (c->n_eventbridges == 0)
		return 0;
	for (size_t i = 0; i < c->n_eventbridges; i++) {
		r = config_eventbridge_check_region(&c->eventbridges[i], e->endpoint.region, err,
						    sizeof(err));
		if (r < 0)
			return log_error_errno(r, "%s", err);
	}
	aws_settings_from_config(c, &as);
	r = aws_settings_service_endpoint(&aws_service_eventbridge, &as, e->endpoint.region, &ep, err,
					  sizeof(err));
	if (r < 0)
		return log_error_errno(r, "eventbridge: %s", err);
	e->buses = calloc(c->n_eventbridges, sizeof(*e->buses));
	if (!e->buses) {
		aws_endpoint_done(&ep);
		return log_error_errno(-ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < c->n_eventbridges && r >= 0; i++) {
		r = bus_new(e, &c->eventbridges[i], &ep, &e->buses[e->n_buses]);
		if (r >= 0)
			e->n_buses++;
	}
	if (r >= 0)
		log_debug("eventbridge: %zu sinks, endpoint %s", e->n_buses, ep.base_url);
	aws_endpoint_done(&ep);
	return r;
}

static void buses_free(struct engine_bus *buses, size_t n)
{
	for (size_t i = 0; i < n; i++)
		eb_sink_free(buses[i].sink);
	free(buses);
}

void engine_buses_teardown(struct engine *e)
{
	buses_free(e->buses, e->n_buses);
	e->buses = NULL;
	e->n_buses = 0;
}

void engine_buses_reload(struct engine *e)
{
	struct engine_bus *old = e->buses;
	size_t n_old = e->n_buses;
	int r = engine_buses_setup(e);

	if (r < 0) {
		/* The old sinks point into the old configuration, which goes:
		 * events wait in the outbox for a good reload or a restart. */
		engine_buses_teardown(e);
		log_error("eventbridge: the sinks could not be rebuilt; events stay in the outbox");
	}
	for (size_t i = 0; i < n_old; i++)
		for (size_t k = 0; k < e->n_buses; k++)
			if (strcmp(e->buses[k].cfg->name, old[i].cfg->name) == 0)
				eb_sink_carry_health(e->buses[k].sink, old[i].sink);
	buses_free(old, n_old);
}

void engine_buses_run(struct engine *e, int64_t now_ms)
{
	for (size_t i = 0; i < e->n_buses; i++)
		eb_sink_run(e->buses[i].sink, now_ms);
}

int64_t engine_buses_next_wakeup(const struct engine *e, int64_t next)
{
	for (size_t i = 0; i < e->n_buses; i++) {
		int64_t w = eb_sink_next_wakeup_ms(e->buses[i].sink);
		if (w >= 0 && (next < 0 || w < next))
			next = w;
	}
	return next;
}

int engine_buses_retry(struct engine *e, const char *name, bool parked, const char *why, bool *found,
		       int64_t *total)
{
	int64_t now = (int64_t)now_realtime_ms();

	for (size_t i = 0; i < e->n_buses; i++) {
		int64_t n = 0;
		int r;

		if (name && strcmp(name, e->buses[i].cfg->name) != 0)
			continue;
		*found = true;
		r = eb_sink_retry_now(e->buses[i].sink, now, parked, &n);
		if (r < 0)
			return log_error_errno(r, "eventbridge %s: cannot retry its events (%s): %m",
					       e->buses[i].cfg->name, why);
		if (n > 0)
			log_info("eventbridge %s: %s: %lld events retried now", e->buses[i].cfg->name, why,
				 (long long)n);
		*total += n;
	}
	return 0;
}

void engine_buses_status(struct engine *e, char *buf, size_t size)
{
	int64_t now = (int64_t)now_realtime_ms();

	for (size_t i = 0; i < e->n_buses; i++) {
		const struct eb_stats *st = eb_sink_stats(e->buses[i].sink);
		int64_t pending = 0;
		size_t len = strlen(buf);

		if (!st->failing)
			continue;
		if (store_delivery_backlog(e->store, eb_sink_outbox(e->buses[i].sink), &pending) < 0)
			pending = -1;
		snprintf(buf + len, size - len, "; eventbridge %s failing for %lld s (%lld pending)",
			 e->buses[i].cfg->name, (long long)((now - st->failing_since_ms) / 1000),
			 (long long)pending);
	}
}

bool engine_bus_at(void *userdata, size_t i, struct api_bus_info *ret)
{
	struct engine *e = userdata;
	const struct engine_bus *b;

	if (i >= e->n_buses)
		return false;
	b = &e->buses[i];
	*ret = (struct api_bus_info){
	    .name = b->cfg->name,
	    .event_bus = b->cfg->event_bus,
	    .stats = eb_sink_stats(b->sink),
	    .backlog = -1,
	};
	if (store_delivery_backlog(e->store, eb_sink_outbox(b->sink), &ret->backlog) < 0)
		ret->backlog = -1;
	return true;
}
