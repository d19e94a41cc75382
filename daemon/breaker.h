/* The service breaker: tells a failing AWS API (or a failing path to it)
 * from a failing job, and bounds what the daemon sends while it fails.
 *
 *   CLOSED ──(BREAKER_TRIP_FAILURES service-wide failures in a row)──► OPEN
 *   OPEN ──(probe period elapsed: one probe goes out)──► HALF_OPEN
 *   HALF_OPEN ──(the probe fails service-wide)──► OPEN
 *   any state ──(any answer from the service)──► CLOSED (the engine re-polls
 *                                                        what came due)
 *
 * An answer is anything the service said about a job: 200, 404, a 4xx
 * about the request, even a malformed body.  A service-wide failure is
 * throttling, 5xx, a timeout, a reset, DNS/TLS, credentials, auth.  While
 * not CLOSED the engine sends no regular poll, only probes, one at a time,
 * at most one per probe period -- on top of the AWS client's retry quota,
 * which bounds the retries inside each call.
 *
 * Pure state on injected time: the monotonic clock for every decision, the
 * wall clock only for the times shown to operators.  No libuv here. */
#ifndef JW_BREAKER_H
#define JW_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

#include "aws/errors.h"

/* One failing poll is noise (the client already retried it); a handful in a
 * row with no answer in between is an outage. */
#define BREAKER_TRIP_FAILURES 5
/* Probes never go faster than this, whatever the poll interval. */
#define BREAKER_PROBE_MIN_MS 250
#define BREAKER_ERROR_MAX    256

enum breaker_state {
	BREAKER_CLOSED,
	BREAKER_OPEN,
	BREAKER_HALF_OPEN,
	_BREAKER_STATE_MAX,
	BREAKER_STATE_INVALID = -1,
};
const char *breaker_state_to_string(enum breaker_state s);

enum breaker_change {
	BREAKER_UNCHANGED,
	BREAKER_OPENED,	   /* an outage starts: warn once */
	BREAKER_RECOVERED, /* the service answers again: re-poll what came due, say so once */
};

struct breaker {
	enum breaker_state state;
	unsigned failures_in_row; /* service-wide, fleet-wide, since the last answer */
	int64_t probe_period_ms;
	int64_t next_probe_mono_ms;   /* OPEN: when the next probe may go */
	int64_t opened_mono_ms;	      /* start of the current (or last) outage */
	int64_t opened_wall_ms;	      /* the same, for display; 0 = never */
	int64_t last_failure_wall_ms; /* last service-wide failure, for display; 0 = none */
	int64_t last_outage_ms;	      /* duration of the last outage that ended */
	uint64_t outages;
	uint64_t probes;
	char last_error[BREAKER_ERROR_MAX]; /* of the last service-wide failure */
};

void breaker_init(struct breaker *b);

/* Whether o is the service's (or the network's) failure rather than an
 * answer about the one job asked for. */
bool breaker_outcome_is_service_wide(enum aws_outcome o);

/* An answer about some job arrived (at now_mono_ms).  BREAKER_RECOVERED
 * when it ends an outage. */
enum breaker_change breaker_on_answer(struct breaker *b, int64_t now_mono_ms);

/* A call failed service-wide.  probe: it was the breaker's probe.  error
 * (borrowed, may be NULL) is kept for display.  probe_period_ms is the
 * period the probes go at if this opens the breaker (clamped to
 * BREAKER_PROBE_MIN_MS).  BREAKER_OPENED when this starts an outage. */
enum breaker_change breaker_on_failure(struct breaker *b, int64_t now_mono_ms, int64_t now_wall_ms,
				       bool probe, const char *error, int64_t probe_period_ms);

/* Whether regular polls may go (CLOSED). */
bool breaker_allows_polls(const struct breaker *b);

/* OPEN: 0 when a probe may go now, else the ms until it may (> 0).
 * HALF_OPEN (a probe is out) and CLOSED: -1. */
int64_t breaker_probe_wait_ms(const struct breaker *b, int64_t now_mono_ms);

/* A probe went out: OPEN -> HALF_OPEN; the next one may go a probe period
 * after this one *started*, so a probe that hangs until its timeout does
 * not delay the next past the period. */
void breaker_probe_sent(struct breaker *b, int64_t now_mono_ms);

/* A probe came back with neither an answer nor a service-wide failure
 * (cancelled, or it could not be sent): HALF_OPEN -> OPEN. */
void breaker_probe_abandoned(struct breaker *b);

#endif
