/* AWS "standard" retry mode numbers: botocore retries/standard.py and
 * quota.py, aws-sdk-go-v2 aws/retry (aws-api.md §3.1). */
#include <math.h>

#include "aws/retry.h"

void aws_retry_quota_init(struct aws_retry_quota *q)
{
	q->capacity = AWS_RETRY_QUOTA_CAPACITY;
	q->available = AWS_RETRY_QUOTA_CAPACITY;
}

unsigned aws_retry_quota_acquire(struct aws_retry_quota *q, bool after_timeout)
{
	unsigned cost = after_timeout ? AWS_RETRY_TIMEOUT_COST : AWS_RETRY_COST;

	if (q->available < cost)
		return 0;
	q->available -= cost;
	return cost;
}

void aws_retry_quota_release(struct aws_retry_quota *q, unsigned last_retry_cost)
{
	unsigned add = last_retry_cost > 0 ? last_retry_cost : AWS_RETRY_NO_RETRY_REFUND;

	q->available = q->available + add > q->capacity ? q->capacity : q->available + add;
}

uint64_t aws_retry_backoff_ms(unsigned attempt, double rnd)
{
	uint64_t base = AWS_RETRY_MAX_BACKOFF_MS;

	if (attempt < 1)
		attempt = 1;
	/* 2^(attempt-1) s, computed without overflow for large attempt numbers. */
	if (attempt - 1 < 15)
		base = 1000u << (attempt - 1);
	if (base > AWS_RETRY_MAX_BACKOFF_MS)
		base = AWS_RETRY_MAX_BACKOFF_MS;
	if (!(rnd >= 0.0)) /* also catches NaN */
		rnd = 0.0;
	if (rnd >= 1.0)
		rnd = nextafter(1.0, 0.0);
	return (uint64_t)floor(rnd * (double)base);
}

uint64_t aws_retry_after_ms(const char *hint, uint64_t backoff_ms)
{
	uint64_t v = 0;
	size_t digits = 0;
	uint64_t ceiling = backoff_ms + AWS_RETRY_AFTER_MAX_EXTRA_MS;

	if (!hint)
		return backoff_ms;
	while (*hint == ' ' || *hint == '\t')
		hint++;
	for (; *hint >= '0' && *hint <= '9'; hint++, digits++) {
		if (v <= ceiling) /* beyond the ceiling the exact value no longer matters */
			v = v * 10 + (uint64_t)(*hint - '0');
	}
	while (*hint == ' ' || *hint == '\t')
		hint++;
	if (digits == 0 || *hint)
		return backoff_ms;
	if (v > ceiling)
		v = ceiling;
	return v > backoff_ms ? v : backoff_ms;
}

bool aws_outcome_is_retryable(enum aws_outcome o)
{
	return o == AWS_THROTTLED || o == AWS_TRANSIENT;
}
