/* The delivery engine of one [eventbridge "NAME"] section: events from the
 * store outbox (sink "eventbridge:NAME") go onto an EventBridge bus with
 * PutEvents (notify/eventbridge_entry.h has the wire format), signed with
 * SigV4 (signing name "events", the body's hash) with the daemon's
 * credentials, to the events endpoint of the daemon's region.
 *
 * Batching and order: a run picks the first pending delivery of each job
 * (its head), due ones only, up to 10 per request and 256 KB, and sends one
 * request at a time.  A job's next event waits until its head is settled, so
 * each job's events reach the bus in order, and a refused entry holds only
 * its own job.
 *
 * Outcomes:
 *  - Accepted entries (an EventId) are done.  A restart never resends them.
 *  - Refused entries (FailedEntryCount > 0): a retryable ErrorCode
 *    (ThrottlingException, InternalFailure) is retried alone, after the AWS
 *    standard backoff (full jitter, at most 20 s) scaled like the webhooks';
 *    any other code (InvalidArgument, MalformedDetail, AccessDenied...) parks
 *    the event and says why (jobwatchd retry NAME sends it again).
 *  - The whole request failing: throttling, 5xx and transport errors are
 *    retried with that backoff (x-amz-retry-after honoured), holding the
 *    sink meanwhile, for as long as max age (24 h); an expired token makes
 *    the credentials refresh; other 4xx are retried a few times
 *    (WEBHOOK_CLIENT_ERROR_ATTEMPTS), then the events are parked.
 *
 * Timers, wakeups and the time scale work as for webhook sinks
 * (notify/webhook.h): the engine calls run and arms its timer for
 * next_wakeup_ms; a completed request runs the sink again and calls
 * wakeup_changed. */
#ifndef JW_NOTIFY_EVENTBRIDGE_H
#define JW_NOTIFY_EVENTBRIDGE_H

#include <stdbool.h>
#include <stdint.h>

struct store;
struct http_ctx;
struct creds;
struct aws_endpoint;
struct eb_sink;

#define EVENTBRIDGE_SINK_PREFIX "eventbridge:"

struct eb_sink_params {
	const char *name;      /* the section name; the outbox sink is "eventbridge:NAME" */
	const char *event_bus; /* name or ARN */
	const char *source;
	const struct aws_endpoint *endpoint; /* the events endpoint and signing region; copied */
	const char *ca_file;		     /* NULL = system store */
	uint64_t timeout_ms;		     /* per request; 0 = 15 s */
	double time_scale;		     /* 0 = $JW_WEBHOOK_TIME_SCALE or 1.0 */
	/* The daemon's corrected clock (aws_client_clock()), borrowed: signs
	 * the requests, and the bus's answers correct it too.  NULL = the
	 * local clock, uncorrected. */
	struct aws_clock *clock;
	void (*wakeup_changed)(void *userdata);
	void *userdata;
};

struct eb_stats {
	uint64_t accepted; /* entries the bus took */
	uint64_t retried;  /* entries refused with a retryable code, or in a failed request */
	uint64_t parked;   /* entries given up on */
	uint64_t requests_ok;
	uint64_t requests_failed;
	/* From the second request in a row that failed, or had every entry
	 * refused for a retryable reason, until one has all its entries
	 * accepted. */
	bool failing;
	int64_t failing_since_ms;
	char last_error[256];
};

/* store, http and creds are borrowed and must outlive the sink. */
int eb_sink_new(const struct eb_sink_params *p, struct store *store, struct http_ctx *http,
		struct creds *creds, struct eb_sink **ret);
/* Cancels a request in flight (its entries stay pending).  NULL-safe. */
struct eb_sink *eb_sink_free(struct eb_sink *s);

void eb_sink_run(struct eb_sink *s, int64_t now_ms);
/* Wall-clock ms of the next run, or -1 (idle, or a request in flight). */
int64_t eb_sink_next_wakeup_ms(const struct eb_sink *s);
/* As webhook_sink_retry_now(). */
int eb_sink_retry_now(struct eb_sink *s, int64_t now_ms, bool parked, int64_t *ret_released);
/* A reload rebuilds the sinks; the new one keeps the failing streak. */
void eb_sink_carry_health(struct eb_sink *to, const struct eb_sink *from);
const char *eb_sink_name(const struct eb_sink *s);
/* Its outbox sink, "eventbridge:NAME" (route_eventbridge_sink()). */
const char *eb_sink_outbox(const struct eb_sink *s);
const struct eb_stats *eb_sink_stats(const struct eb_sink *s);

#endif
