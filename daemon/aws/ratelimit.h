/* Client-side request rate limiting: a token bucket that every API request
 * (first attempts, retries, every List page) passes before it is sent, at
 * [aws] max_rps, plus the SDKs' "adaptive" slowdown on throttling (CUBIC,
 * aws-api.md §3.3): after a throttle the rate drops to beta * the rate in
 * use and grows back along a cubic curve; it never exceeds max_rps.
 * Pure arithmetic on injected time (ms); the client drives it from a timer. */
#ifndef JW_AWS_RATELIMIT_H
#define JW_AWS_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define AWS_CUBIC_C	   0.4
#define AWS_CUBIC_BETA	   0.7
#define AWS_RATE_MIN	   0.5 /* req/s: the adaptive rate never goes lower */
#define AWS_RATE_SMOOTHING 0.8 /* EWMA weight of the newest measured-rate bucket */
#define AWS_RATE_BUCKET_MS 500 /* measured-rate time bucket */

struct aws_token_bucket {
	double rate;	 /* tokens per second; <= 0 = unlimited */
	double capacity; /* max(rate, 1) */
	double tokens;
	uint64_t last_ms;
};

/* Starts full. */
void aws_token_bucket_init(struct aws_token_bucket *b, double rate, uint64_t now_ms);
/* Changes the fill rate, keeping tokens earned so far (capped at the new capacity). */
void aws_token_bucket_set_rate(struct aws_token_bucket *b, double rate, uint64_t now_ms);
/* Takes one token and returns 0, or returns the ms until one is available
 * (>= 1) without taking anything. */
uint64_t aws_token_bucket_acquire(struct aws_token_bucket *b, uint64_t now_ms);
/* The ms until n tokens (at most the capacity) are there; 0 if they are.
 * Takes nothing. */
uint64_t aws_token_bucket_wait(const struct aws_token_bucket *b, double n, uint64_t now_ms);

struct aws_cubic {
	double max_rps; /* ceiling; <= 0 = none */
	bool enabled;	/* after the first throttle */
	double w_max;	/* rate at the last throttle */
	double k;	/* seconds from the last throttle back to w_max */
	uint64_t last_fail_ms;
	double rate; /* current adaptive rate (req/s) */
	/* measured send rate */
	double measured;
	uint64_t last_bucket_ms;
	unsigned count;
};

void aws_cubic_init(struct aws_cubic *c, double max_rps, uint64_t now_ms);
/* Feeds one response (throttled or not) and returns the rate the bucket
 * should use from now on (<= max_rps when max_rps > 0; <= 0 = unlimited). */
double aws_cubic_on_response(struct aws_cubic *c, bool throttled, uint64_t now_ms);
/* A new ceiling (a reload of [aws] max_rps): returns the rate the bucket
 * should use from now on -- the new ceiling, or the adaptive rate when a
 * throttle is being recovered from and that is lower. */
double aws_cubic_set_max(struct aws_cubic *c, double max_rps);
/* The curve alone: C * (t - K)^3 + w_max, t seconds since the last throttle. */
double aws_cubic_curve(double w_max, double t_s);
double aws_cubic_k(double w_max);

#endif
