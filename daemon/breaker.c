/* The service breaker's state machine (see breaker.h). */
#include <stdio.h>
#include <string.h>

#include "breaker.h"

static const char *const state_names[_BREAKER_STATE_MAX] = {
    [BREAKER_CLOSED] = "closed",
    [BREAKER_OPEN] = "open",
    [BREAKER_HALF_OPEN] = "half_open",
};

const char *breaker_state_to_string(enum breaker_state s)
{
	if (s < 0 || s >= _BREAKER_STATE_MAX)
		return NULL;
	return state_names[s];
}

void breaker_init(struct breaker *b)
{
	*b = (struct breaker){.state = BREAKER_CLOSED};
}

/* The issue that introduced the breaker (#12): a per-job doubling on 503s
 * left every job 64 s away when the service came back.  Everything below
 * says nothing about the job that was asked for. */
bool breaker_outcome_is_service_wide(enum aws_outcome o)
{
	switch (o) {
	case AWS_THROTTLED:
	case AWS_TRANSIENT:
	case AWS_AUTH_EXPIRED:
	case AWS_AUTH:
	case AWS_TRANSPORT:
	case AWS_CREDENTIALS:
		return true;
	default:
		return false;
	}
}

enum breaker_change breaker_on_answer(struct breaker *b, int64_t now_mono_ms)
{
	bool was_out = b->state != BREAKER_CLOSED;

	b->failures_in_row = 0;
	b->state = BREAKER_CLOSED;
	if (!was_out)
		return BREAKER_UNCHANGED;
	b->last_outage_ms = now_mono_ms - b->opened_mono_ms;
	return BREAKER_RECOVERED;
}

enum breaker_change breaker_on_failure(struct breaker *b, int64_t now_mono_ms, int64_t now_wall_ms,
				       bool probe, const char *error, int64_t probe_period_ms)
{
	b->last_failure_wall_ms = now_wall_ms;
	if (error)
		snprintf(b->last_error, sizeof(b->last_error), "%s", error);
	if (b->failures_in_row < UINT32_MAX)
		b->failures_in_row++;
	switch (b->state) {
	case BREAKER_CLOSED:
		if (b->failures_in_row < BREAKER_TRIP_FAILURES)
			return BREAKER_UNCHANGED;
		b->state = BREAKER_OPEN;
		b->probe_period_ms =
		    probe_period_ms > BREAKER_PROBE_MIN_MS ? probe_period_ms : BREAKER_PROBE_MIN_MS;
		b->next_probe_mono_ms = now_mono_ms + b->probe_period_ms;
		b->opened_mono_ms = now_mono_ms;
		b->opened_wall_ms = now_wall_ms;
		b->outages++;
		return BREAKER_OPENED;
	case BREAKER_HALF_OPEN:
		/* Calls sent before the breaker opened may still fail now; only
		 * the probe's failure says the service is still down. */
		if (probe)
			b->state = BREAKER_OPEN;
		return BREAKER_UNCHANGED;
	default:
		return BREAKER_UNCHANGED;
	}
}

bool breaker_allows_polls(const struct breaker *b)
{
	return b->state == BREAKER_CLOSED;
}

int64_t breaker_probe_wait_ms(const struct breaker *b, int64_t now_mono_ms)
{
	if (b->state != BREAKER_OPEN)
		return -1;
	return b->next_probe_mono_ms > now_mono_ms ? b->next_probe_mono_ms - now_mono_ms : 0;
}

void breaker_probe_sent(struct breaker *b, int64_t now_mono_ms)
{
	if (b->state != BREAKER_OPEN)
		return;
	b->state = BREAKER_HALF_OPEN;
	b->next_probe_mono_ms = now_mono_ms + b->probe_period_ms;
	b->probes++;
}

void breaker_probe_abandoned(struct breaker *b)
{
	if (b->state == BREAKER_HALF_OPEN)
		b->state = BREAKER_OPEN;
}
