/* The delivery engine of one [webhook "NAME"] section.
 *
 * A sink pulls from the store outbox (sink name "webhook:NAME") and POSTs
 * through the shared http context (webhook_request.c: Standard Webhooks
 * headers, webhook-id = event id, stable across retries).
 *
 * Ordering: per job, not per hook.  A run walks the pending deliveries in
 * seq order; the first pending delivery of each job is its head.  Due heads
 * are sent, up to max_in_flight requests at once and one per job (one at a
 * time until the first success, and while failing); a head waiting for
 * its retry holds only its own job's later events.  So a
 * failing event never holds another job's alert, and each job's events
 * still reach the receiver in order.  (A run looks at most 1024 pending
 * deliveries past the oldest.)
 *
 * Outcomes:
 *  - 2xx: delivered (store_delivery_done).  If the hook was failing it has
 *    recovered: logged once with how many events were delayed and by how
 *    long, and after two or more failures in a row every waiting delivery
 *    is due at once (the backlog drains, max_in_flight at a time).
 *  - 429, 5xx, transport errors: retried after 1, 2, 5, 10, 30 s, 1, 2,
 *    5 min, then every 5 min, +-10 % jitter; a longer Retry-After wins and
 *    holds the whole hook until then.  An event still failing when older
 *    than max_age is parked.  The first failure marks the hook failing
 *    (logged once, until a success).
 *  - 410 Gone: the webhook is disabled (logged at error once); nothing more
 *    is sent until a reload, a restart or webhook_sink_retry_now().  The
 *    events stay pending in the outbox.
 *  - 3xx (redirects are never followed) and other 4xx: retried on the same
 *    schedule up to WEBHOOK_CLIENT_ERROR_ATTEMPTS attempts, then parked
 *    (kept in the outbox; logged at warning with the status and the first
 *    200 bytes of the response).
 *  - An alertmanager hook marks events it does not carry (discovered, plain
 *    progress) as done without sending.
 *  - max_pending: before each pull the oldest undelivered events beyond it
 *    are dropped (state "dropped"), counted and logged at error.
 *
 * Timers: the sink owns no libuv handle.  The engine calls
 * webhook_sink_run() when woken and whenever new events were added, then
 * arms its own timer for webhook_sink_next_wakeup_ms().  When a request
 * completes, the sink runs itself once more (to fill the free slot) and
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
#define WEBHOOK_MAX_IN_FLIGHT	      64
#define WEBHOOK_MAX_IN_FLIGHT_DEFAULT 4

struct webhook_sink_params {
	const char *name; /* the section name; the outbox sink is "webhook:NAME" */
	const char *url;
	enum payload_format format;
	const struct sign_key *key;	  /* NULL = unsigned; copied */
	const char *const *extra_headers; /* NULL-terminated "Name: value"; copied, never logged */
	uint64_t timeout_ms;		  /* per request; 0 = 15 s */
	int64_t max_pending;		  /* 0 = unbounded */
	int64_t max_age_ms;		  /* 0 = WEBHOOK_MAX_AGE_DEFAULT_MS; scaled like the delays */
	unsigned max_in_flight;		  /* 0 = WEBHOOK_MAX_IN_FLIGHT_DEFAULT; at most 64 */
	const char *ca_file;		  /* NULL = system store */
	/* Multiplies every retry delay and max_age; 0 = $JW_WEBHOOK_TIME_SCALE or 1.0.
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
	uint64_t dropped;	  /* by max_pending */
	uint64_t skipped;	  /* not relevant for the format */
	bool disabled;		  /* a 410 was received */
	bool failing;		  /* a retryable failure, no success since */
	int64_t failing_since_ms; /* wall clock of the streak's first failure */
	uint64_t recoveries;	  /* failing -> delivering again */
	long last_status;	  /* last HTTP status, 0 if none */
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
 * due (idle, every slot in flight -- completion re-runs -- or disabled). */
int64_t webhook_sink_next_wakeup_ms(const struct webhook_sink *s);
/* Retry now (SIGHUP, jobwatchd retry): waiting deliveries -- and with
 * parked, parked ones -- are due at now_ms, a Retry-After hold is lifted, a
 * hook disabled by 410 is enabled again.  *ret_released (may be NULL) counts
 * the deliveries made due.  The caller then runs the sink. */
int webhook_sink_retry_now(struct webhook_sink *s, int64_t now_ms, bool parked, int64_t *ret_released);
/* A reload rebuilds the sinks: the new sink of a hook takes over the old
 * one's failing streak, so the recovery is still logged once (with the
 * outage's length) and a failure is not announced twice.  Both borrowed. */
void webhook_sink_carry_health(struct webhook_sink *to, const struct webhook_sink *from);
/* A request is in flight. */
bool webhook_sink_busy(const struct webhook_sink *s);
const char *webhook_sink_name(const struct webhook_sink *s);
/* The sink's name in the outbox, "webhook:NAME" (route_webhook_sink()). */
const char *webhook_sink_outbox(const struct webhook_sink *s);
const struct webhook_stats *webhook_sink_stats(const struct webhook_sink *s);

#endif
