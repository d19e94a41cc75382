/* The AWS "standard" retry mode (aws-api.md §3.1): at most 3 attempts,
 * full-jitter exponential backoff capped at 20 s, and a retry quota shared by
 * every call of one client, so a struggling service is not hammered by
 * retries.  Pure arithmetic; the client supplies time and randomness. */
#ifndef JW_AWS_RETRY_H
#define JW_AWS_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "aws/errors.h"

#define AWS_RETRY_MAX_ATTEMPTS	  3
#define AWS_RETRY_MAX_BACKOFF_MS  20000
#define AWS_RETRY_QUOTA_CAPACITY  500
#define AWS_RETRY_COST		  5
#define AWS_RETRY_TIMEOUT_COST	  10
#define AWS_RETRY_NO_RETRY_REFUND 1

struct aws_retry_quota {
	unsigned available;
	unsigned capacity;
};

void aws_retry_quota_init(struct aws_retry_quota *q);
/* Takes the cost of one retry (10 after a timeout, else 5).  Returns the
 * amount taken, or 0 when the quota cannot pay for it (then: do not retry). */
unsigned aws_retry_quota_acquire(struct aws_retry_quota *q, bool after_timeout);
/* After a successful attempt: returns the cost of the retry that succeeded
 * (last_retry_cost > 0), or AWS_RETRY_NO_RETRY_REFUND when the first attempt
 * succeeded (last_retry_cost == 0).  Capped at the capacity. */
void aws_retry_quota_release(struct aws_retry_quota *q, unsigned last_retry_cost);

/* Delay before the next attempt after attempt `attempt` (1-based) failed:
 * rnd * min(2^(attempt-1) s, 20 s), with rnd in [0, 1). */
uint64_t aws_retry_backoff_ms(unsigned attempt, double rnd);

/* The service's own hint, header x-amz-retry-after (milliseconds, aws-api.md
 * §3.2): the delay becomes max(backoff, min(hint, backoff + 5 s)), so a hint
 * can stretch the wait by at most 5 s and never shorten it.  A missing or
 * malformed hint (anything but decimal digits) leaves the backoff as it is. */
#define AWS_RETRY_AFTER_MAX_EXTRA_MS 5000
uint64_t aws_retry_after_ms(const char *hint, uint64_t backoff_ms);

/* Throttling and transient failures are retried; everything else is final
 * (an expired token has its own one-shot rule in the client). */
bool aws_outcome_is_retryable(enum aws_outcome o);

#endif
