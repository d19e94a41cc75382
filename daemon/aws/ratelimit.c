/* Token bucket and CUBIC rate adjustment, after botocore retries/bucket.py,
 * throttling.py and adaptive.py (aws-api.md §3.3). */
#include <math.h>

#include "aws/ratelimit.h"

static void bucket_refill(struct aws_token_bucket *b, uint64_t now_ms)
{
	if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) * b->rate / 1000.0;
		if (b->tokens > b->capacity)
			b->tokens = b->capacity;
	}
	b->last_ms = now_ms > b->last_ms ? now_ms : b->last_ms;
}

void aws_token_bucket_init(struct aws_token_bucket *b, double rate, uint64_t now_ms)
{
	b->rate = rate;
	b->capacity = rate > 1.0 ? rate : 1.0;
	b->tokens = b->capacity;
	b->last_ms = now_ms;
}

void aws_token_bucket_set_rate(struct aws_token_bucket *b, double rate, uint64_t now_ms)
{
	/* Earn the tokens due at the old rate first, or the time since the
	 * last refill would be paid at the new rate. */
	if (b->rate > 0)
		bucket_refill(b, now_ms);
	else
		b->last_ms = now_ms;
	b->rate = rate;
	b->capacity = rate > 1.0 ? rate : 1.0;
	if (b->tokens > b->capacity)
		b->tokens = b->capacity;
}

uint64_t aws_token_bucket_acquire(struct aws_token_bucket *b, uint64_t now_ms)
{
	double missing, ms;

	if (b->rate <= 0)
		return 0;
	bucket_refill(b, now_ms);
	if (b->tokens >= 1.0 - 1e-9) {
		b->tokens -= 1.0;
		return 0;
	}
	missing = 1.0 - b->tokens;
	/* The epsilon keeps float noise from adding a millisecond. */
	ms = ceil(missing * 1000.0 / b->rate - 1e-6);
	return ms < 1.0 ? 1 : (uint64_t)ms;
}

uint64_t aws_token_bucket_wait(const struct aws_token_bucket *b, double n, uint64_t now_ms)
{
	double tokens, ms;

	if (b->rate <= 0)
		return 0;
	if (n > b->capacity)
		n = b->capacity;
	tokens = b->tokens;
	if (now_ms > b->last_ms)
		tokens += (double)(now_ms - b->last_ms) * b->rate / 1000.0;
	if (tokens > b->capacity)
		tokens = b->capacity;
	if (tokens >= n - 1e-9)
		return 0;
	ms = ceil((n - tokens) * 1000.0 / b->rate - 1e-6);
	return ms < 1.0 ? 1 : (uint64_t)ms;
}

double aws_cubic_k(double w_max)
{
	return cbrt(w_max * (1.0 - AWS_CUBIC_BETA) / AWS_CUBIC_C);
}

double aws_cubic_curve(double w_max, double t_s)
{
	double d = t_s - aws_cubic_k(w_max);
	return AWS_CUBIC_C * d * d * d + w_max;
}

void aws_cubic_init(struct aws_cubic *c, double max_rps, uint64_t now_ms)
{
	*c = (struct aws_cubic){
	    .max_rps = max_rps,
	    .w_max = max_rps > 0 ? max_rps : AWS_RATE_MIN,
	    .last_fail_ms = now_ms,
	    .rate = max_rps,
	    .last_bucket_ms = now_ms - now_ms % AWS_RATE_BUCKET_MS,
	};
	c->k = aws_cubic_k(c->w_max);
}

/* The measured send rate: responses counted in 0.5 s buckets, smoothed. */
static void measure(struct aws_cubic *c, uint64_t now_ms)
{
	uint64_t bucket = now_ms - now_ms % AWS_RATE_BUCKET_MS;

	c->count++;
	if (bucket > c->last_bucket_ms) {
		double r = (double)c->count * 1000.0 / (double)(bucket - c->last_bucket_ms);
		c->measured = r * AWS_RATE_SMOOTHING + c->measured * (1.0 - AWS_RATE_SMOOTHING);
		c->count = 0;
		c->last_bucket_ms = bucket;
	}
}

double aws_cubic_set_max(struct aws_cubic *c, double max_rps)
{
	c->max_rps = max_rps;
	if (!c->enabled || c->rate <= 0 || (max_rps > 0 && c->rate > max_rps))
		c->rate = max_rps;
	return c->rate;
}

double aws_cubic_on_response(struct aws_cubic *c, bool throttled, uint64_t now_ms)
{
	double new_rate;

	measure(c, now_ms);
	if (throttled) {
		/* The rate in use: what was measured, and once limiting, no more
		 * than the limit itself. */
		double in_use = c->measured;
		/* No full measuring bucket yet (a throttle in the first half
		 * second): take the configured ceiling rather than dropping to
		 * the minimum. */
		if (in_use <= 0)
			in_use = c->rate > 0 ? c->rate : AWS_RATE_MIN;
		if (c->enabled && c->rate > 0 && c->rate < in_use)
			in_use = c->rate;
		if (c->max_rps > 0 && in_use > c->max_rps)
			in_use = c->max_rps;
		if (in_use < AWS_RATE_MIN)
			in_use = AWS_RATE_MIN;
		c->w_max = in_use;
		c->k = aws_cubic_k(c->w_max);
		c->last_fail_ms = now_ms;
		c->enabled = true;
		new_rate = in_use * AWS_CUBIC_BETA;
	} else {
		if (!c->enabled)
			return c->max_rps;
		new_rate = aws_cubic_curve(c->w_max, (double)(now_ms - c->last_fail_ms) / 1000.0);
		/* botocore: never more than twice what was actually sent. */
		if (c->measured > 0 && new_rate > 2.0 * c->measured)
			new_rate = 2.0 * c->measured;
	}
	if (new_rate < AWS_RATE_MIN)
		new_rate = AWS_RATE_MIN;
	if (c->max_rps > 0 && new_rate > c->max_rps)
		new_rate = c->max_rps;
	c->rate = new_rate;
	return new_rate;
}
