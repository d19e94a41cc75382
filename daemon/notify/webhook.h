/* The delivery engine of one [webhook "NAME"] section.
 *
 * A sink pulls from the store outbox (sink name "webhook:NAME") one delivery
 * at a time -- at most one request in flight per webhook -- and POSTs it
 * through the shared http context with the Standard Webhooks headers
 * (webhook-id = event id, stable across retries; webhook-timestamp fresh per
 * attempt; webhook-signature when a key is set) plus the extra headers.
 *
 * Outcomes:
 *  - 2xx: delivered (store_delivery_done).
 *  - 429, 5xx, transport errors: retried forever on the Standard Webhooks
 *    schedule (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h,
 *    24 h, then every 24 h) with +-10 % jitter; a longer Retry-After wins.
 *  - 410 Gone: the webhook is disabled (logged at error once); nothing more
 *    is sent until the daemon restarts or the config is reloaded.  The
 *    events stay pending in the outbox and go out when it is re-enabled.
 *  - 3xx (redirects are never followed) and other 4xx: retried on the same
 *    schedule up to WEBHOOK_CLIENT_ERROR_ATTEMPTS attempts, then parked
 *    (kept in the outbox as failed; logged at warning with the status and
 *    the first 200 bytes of the response).
 *  - An alertmanager hook marks events it does not carry (discovered, plain
 *    progress) as done without sending.
 *  - max_pending: before each pull the oldest undelivered events beyond it
 *    are dropped (state "dropped"), counted and logged at error.
 *
 * Timers: the sink owns no libuv handle.  The engine calls
 * webhook_sink_run() when woken and whenever new events were added, then
 * arms its own timer for webhook_sink_next_wakeup_ms().  When a request
 * completes, the sink runs itself once more (to pull the next delivery) and
 * then calls the wakeup_changed callback so the engine can re-arm.
 * All times are wall-clock milliseconds (the outbox stores due times that
 * must survive a restart).
 */
#ifndef JW_NOTIFY_WEBHOOK_H
#define JW_NOTIFY_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "notify/backoff.h"
#include "notify/payload.h"
#include "notify/sign.h"

struct store;
struct http_ctx;
struct webhook_sink;

#define WEBHOOK_CLIENT_ERROR_ATTEMPTS 5
#define WEBHOOK_SINK_PREFIX	      "webhook:"

struct webhook_sink_params {
	const char *name; /* the section name; the outbox sink is "webhook:NAME" */
	const char *url;
	enum payload_format format;
	const struct sign_key *key;	  /* NULL = unsigned; copied */
	const char *const *extra_headers; /* NULL-terminated "Name: value"; copied, never logged */
	uint64_t timeout_ms;		  /* per request; 0 = 15 s */
	int64_t max_pending;		  /* 0 = unbounded */
	const char *ca_file;		  /* NULL = system store */
	/* Multiplies every retry delay; 0 = $JW_WEBHOOK_TIME_SCALE or 1.0.
	 * Only tests compress time with it. */
	double time_scale;
	/* Called after a completed request changed the next wakeup. */
	void (*wakeup_changed)(void *userdata);
	void *userdata;
};

struct webhook_stats {
	uint64_t delivered;
	uint64_t failed_attempts; /* every non-2xx or transport error */
	uint64_t parked;
	uint64_t dropped; /* by max_pending */
	uint64_t skipped; /* not relevant for the format */
	bool disabled;	  /* a 410 was received */
	long last_status; /* last HTTP status, 0 if none */
	char last_error[256];
};

/* store and http are borrowed and must outlive the sink. */
int webhook_sink_new(const struct webhook_sink_params *p, struct store *store, struct http_ctx *http,
		     struct webhook_sink **ret);
/* Cancels a request in flight (its delivery stays pending).  NULL-safe. */
struct webhook_sink *webhook_sink_free(struct webhook_sink *s);

/* Starts the next due delivery if none is in flight.  Never blocks. */
void webhook_sink_run(struct webhook_sink *s, int64_t now_ms);
/* When run should be called next: a wall-clock ms, or -1 when nothing is
 * due (idle, a request in flight -- completion re-runs -- or disabled). */
int64_t webhook_sink_next_wakeup_ms(const struct webhook_sink *s);
bool webhook_sink_busy(const struct webhook_sink *s);
const char *webhook_sink_name(const struct webhook_sink *s);
const struct webhook_stats *webhook_sink_stats(const struct webhook_sink *s);

#endif
