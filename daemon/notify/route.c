/* Event routing (see route.h). */
#include "notify/route.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "notify/eventbridge.h"
#include "notify/webhook.h"

enum route_kind {
	ROUTE_FILTERED,	     /* the hook's `on` filter decides */
	ROUTE_WITH_RESOLVES, /* the filter, plus every resolution (alertmanager-webhook) */
	ROUTE_CONDITIONS,    /* alert conditions, no events (alertmanager) */
	_ROUTE_KIND_INVALID = -EINVAL,
};

struct route_hook {
	const struct config_webhook *cfg; /* borrowed */
	enum route_kind kind;
	char *sink; /* "webhook:NAME"; NULL for ROUTE_CONDITIONS */
};

struct route_bus {
	const struct config_eventbridge *cfg; /* borrowed */
	char *sink;			      /* "eventbridge:NAME" */
};

struct route {
	bool journal;
	struct route_hook *hooks;
	size_t n_hooks;
	struct route_bus *buses;
	size_t n_buses;
	const char **list; /* n_hooks + n_buses + 2 slots: the answer of route_event_sinks() */
};

static char *sink_name(const char *prefix, const char *name)
{
	size_t n = strlen(prefix) + strlen(name) + 1;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s%s", prefix, name);
	return s;
}

char *route_webhook_sink(const char *hook)
{
	return sink_name(WEBHOOK_SINK_PREFIX, hook);
}

char *route_eventbridge_sink(const char *name)
{
	return sink_name(EVENTBRIDGE_SINK_PREFIX, name);
}

static enum route_kind route_kind_of(const struct config_webhook *w)
{
	switch (w->format) {
	case PAYLOAD_FORMAT_ALERTMANAGER:
		return ROUTE_CONDITIONS;
	case PAYLOAD_FORMAT_ALERTMANAGER_WEBHOOK:
		return ROUTE_WITH_RESOLVES;
	default:
		return ROUTE_FILTERED;
	}
}

int route_new(const struct config *cfg, struct route **ret)
{
	struct route *r;

	if (!cfg || !ret)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->journal = cfg->journal_enabled;
	r->hooks = calloc(cfg->n_webhooks ? cfg->n_webhooks : 1, sizeof(*r->hooks));
	r->buses = calloc(cfg->n_eventbridges ? cfg->n_eventbridges : 1, sizeof(*r->buses));
	r->list = calloc(cfg->n_webhooks + cfg->n_eventbridges + 2, sizeof(*r->list));
	if (!r->hooks || !r->buses || !r->list) {
		route_free(r);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->n_webhooks; i++) {
		struct route_hook *h = &r->hooks[r->n_hooks++];

		h->cfg = &cfg->webhooks[i];
		h->kind = route_kind_of(h->cfg);
		if (h->kind == ROUTE_CONDITIONS)
			continue;
		h->sink = route_webhook_sink(h->cfg->name);
		if (!h->sink) {
			route_free(r);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < cfg->n_eventbridges; i++) {
		struct route_bus *b = &r->buses[r->n_buses++];

		b->cfg = &cfg->eventbridges[i];
		b->sink = route_eventbridge_sink(b->cfg->name);
		if (!b->sink) {
			route_free(r);
			return -ENOMEM;
		}
	}
	*ret = r;
	return 0;
}

struct route *route_free(struct route *r)
{
	if (!r)
		return NULL;
	for (size_t i = 0; i < r->n_hooks; i++)
		free(r->hooks[i].sink);
	for (size_t i = 0; i < r->n_buses; i++)
		free(r->buses[i].sink);
	free(r->hooks);
	free(r->buses);
	free(r->list);
	free(r);
	return NULL;
}

static bool route_hook_wants(const struct route_hook *h, const struct event *ev)
{
	switch (h->kind) {
	case ROUTE_WITH_RESOLVES:
		if (ev->type == EVENT_JOB_STATUS_CHANGED && ev->status == JOB_STATUS_ACTIVE)
			return true;
		return config_webhook_wants(h->cfg, ev->type, ev->status);
	case ROUTE_FILTERED:
		return config_webhook_wants(h->cfg, ev->type, ev->status);
	default:
		return false;
	}
}

const char *const *route_event_sinks(struct route *r, const struct event *ev)
{
	size_t n = 0;

	if (r->journal)
		r->list[n++] = JOURNAL_SINK_NAME;
	for (size_t i = 0; i < r->n_hooks; i++)
		if (route_hook_wants(&r->hooks[i], ev))
			r->list[n++] = r->hooks[i].sink;
	for (size_t i = 0; i < r->n_buses; i++)
		if (config_eventbridge_wants(r->buses[i].cfg, ev->type, ev->status))
			r->list[n++] = r->buses[i].sink;
	r->list[n] = NULL;
	return r->list;
}

const char *route_hook_sink(const struct route *r, size_t i)
{
	return r && i < r->n_hooks ? r->hooks[i].sink : NULL;
}
