/* Event routing: which outbox sinks an event goes to, and the names of
 * those sinks.
 *
 * A sink is the journal ("journal"), a [webhook] section ("webhook:NAME") or
 * an [eventbridge] section ("eventbridge:NAME").  Every "webhook:NAME" of the
 * process is built by route_webhook_sink(), every "eventbridge:NAME" by
 * route_eventbridge_sink(); the journal's is JOURNAL_SINK_NAME.  An
 * [eventbridge] section takes what its `on` filter wants.  What each [webhook] section takes is
 * decided once, when the table is built from the configuration:
 *  - format = alertmanager takes alert conditions (alerts.h), never events:
 *    it has no outbox sink;
 *  - format = alertmanager-webhook takes what its `on` filter wants plus
 *    every resolution (a job reaching ACTIVE), so that what the filter let
 *    fire can resolve (a resolve without a matching alert is ignored by
 *    Alertmanager);
 *  - every other format takes what its `on` filter wants.
 * Routing has no side effect: what an event changes elsewhere (the
 * notifiers' wake-up, the alert conditions) is the caller's, from what the
 * tracker returns. */
#ifndef JW_NOTIFY_ROUTE_H
#define JW_NOTIFY_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "event.h"
#include "notify/journal.h"

struct config;
struct route;

/* "webhook:NAME" for the [webhook] section hook (malloc'd; NULL on
 * ENOMEM). */
char *route_webhook_sink(const char *hook);
/* "eventbridge:NAME" for the [eventbridge] section name (malloc'd; NULL on
 * ENOMEM). */
char *route_eventbridge_sink(const char *name);

/* Builds the table for cfg's journal, [webhook] and [eventbridge] sections.  cfg is
 * borrowed and must outlive the table. */
int route_new(const struct config *cfg, struct route **ret);
struct route *route_free(struct route *r);

/* The sinks ev goes to: a NULL-terminated array borrowed until the next
 * call (or route_free()). */
const char *const *route_event_sinks(struct route *r, const struct event *ev);

/* The outbox sink of the i-th [webhook] section, in configuration order,
 * or NULL for one that takes alert conditions (format = alertmanager) and
 * for i out of range.  Borrowed from the table. */
const char *route_hook_sink(const struct route *r, size_t i);

#endif
