/* aws/retry.c and aws/ratelimit.c: the standard-mode numbers (backoff bounds,
 * retry quota accounting) and the rate limiter (token bucket refill, CUBIC
 * curve, adaptive rate never above max_rps), all with injected time and
 * randomness. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "aws/ratelimit.h"
#include "aws/retry.h"
#include "util.h"

static void test_backoff(void **state)
{
	static const struct {
		unsigned attempt;
		double rnd;
		uint64_t want;
	} cases[] = {
	    {1, 0.0, 0},       {1, 0.5, 500},	   {1, 0.9999, 999},  {2, 0.5, 1000},
	    {2, 0.9999, 1999}, {3, 0.5, 2000},	   {5, 0.5, 8000},    {5, 0.99, 15840},
	    {6, 0.5, 10000},   {6, 0.9999, 19998}, {100, 0.5, 10000}, {4000000000u, 0.25, 5000},
	    {0, 0.5, 500},     {1, 1.0, 999},	   {1, -3.0, 0},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		uint64_t d = aws_retry_backoff_ms(cases[i].attempt, cases[i].rnd);
		if (d != cases[i].want)
			fail_msg("backoff(%u, %g) = %llu, want %llu", cases[i].attempt, cases[i].rnd,
				 (unsigned long long)d, (unsigned long long)cases[i].want);
	}
	/* Full jitter: always below the cap for the attempt, never above 20 s. */
	for (unsigned a = 1; a < 40; a++)
		for (double r = 0; r < 1.0; r += 0.0625) {
			uint64_t cap = a <= 5 ? 1000u << (a - 1) : 20000;
			if (cap > 20000)
				cap = 20000;
			assert_true(aws_retry_backoff_ms(a, r) < cap);
		}
}

static void test_retry_after(void **state)
{
	static const struct {
		const char *hint;
		uint64_t backoff, want;
	} cases[] = {
	    {NULL, 700, 700},
	    {"", 700, 700},
	    {"3000", 700, 3000},
	    {"3000", 0, 3000},
	    {"100", 700, 700},
	    {"9000", 700, 5700},
	    {"5700", 700, 5700},
	    {" 2500 ", 700, 2500},
	    {"2500ms", 700, 700},
	    {"-2500", 700, 700},
	    {"2.5", 700, 700},
	    {"0x10", 700, 700},
	    {"0", 700, 700},
	    {"99999999999999999999999999", 700, 5700},
	    {"18446744073709551617", 0, 5000},
	    {"Wed, 21 Oct 2026 07:28:00 GMT", 700, 700},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		uint64_t d = aws_retry_after_ms(cases[i].hint, cases[i].backoff);
		if (d != cases[i].want)
			fail_msg("retry_after(%s, %llu) = %llu, want %llu",
				 cases[i].hint ? cases[i].hint : "NULL",
				 (unsigned long long)cases[i].backoff, (unsigned long long)d,
				 (unsigned long long)cases[i].want);
	}
}

static void test_quota(void **state)
{
	struct aws_retry_quota q;
	unsigned n = 0;

	aws_retry_quota_init(&q);
	assert_int_equal(q.available, 500);
	assert_int_equal(aws_retry_quota_acquire(&q, false), 5);
	assert_int_equal(q.available, 495);
	assert_int_equal(aws_retry_quota_acquire(&q, true), 10);
	assert_int_equal(q.available, 485);
	/* Success after a retry gives that retry's cost back. */
	aws_retry_quota_release(&q, 10);
	assert_int_equal(q.available, 495);
	/* Success without retry: +1. */
	aws_retry_quota_release(&q, 0);
	assert_int_equal(q.available, 496);
	/* Never above capacity. */
	for (int i = 0; i < 10; i++)
		aws_retry_quota_release(&q, 5);
	assert_int_equal(q.available, 500);

	/* Drain: 100 retries at 5, then no capacity. */
	while (aws_retry_quota_acquire(&q, false) == 5)
		n++;
	assert_int_equal(n, 100);
	assert_int_equal(q.available, 0);
	assert_int_equal(aws_retry_quota_acquire(&q, true), 0);
	aws_retry_quota_release(&q, 5);
	assert_int_equal(aws_retry_quota_acquire(&q, true), 0); /* a timeout retry needs 10 */
	assert_int_equal(aws_retry_quota_acquire(&q, false), 5);

	assert_true(aws_outcome_is_retryable(AWS_THROTTLED));
	assert_true(aws_outcome_is_retryable(AWS_TRANSIENT));
	assert_false(aws_outcome_is_retryable(AWS_CLIENT));
	assert_false(aws_outcome_is_retryable(AWS_NOT_FOUND));
	assert_false(aws_outcome_is_retryable(AWS_PROTOCOL));
	assert_false(aws_outcome_is_retryable(AWS_AUTH));
	assert_false(aws_outcome_is_retryable(AWS_AUTH_EXPIRED));
}

/* The wait for a batch: tokens for n calls, never more than the capacity
 * (a second's worth), taking nothing. */
static void test_bucket_wait(void **state)
{
	struct aws_token_bucket b;

	aws_token_bucket_init(&b, 5.0, 0);
	assert_int_equal(aws_token_bucket_wait(&b, 5, 0), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(aws_token_bucket_acquire(&b, 0), 0);
	assert_int_equal(aws_token_bucket_wait(&b, 1, 0), 200);
	assert_int_equal(aws_token_bucket_wait(&b, 3, 0), 600);
	/* More calls than the capacity wait for a full bucket only. */
	assert_int_equal(aws_token_bucket_wait(&b, 8, 0), 1000);
	assert_int_equal(aws_token_bucket_wait(&b, 3, 400), 200);
	assert_int_equal(aws_token_bucket_wait(&b, 3, 600), 0);
	/* Nothing was taken: the tokens are all there at 1 s. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(aws_token_bucket_acquire(&b, 1000), 0);
	assert_true(aws_token_bucket_acquire(&b, 1000) > 0);
	aws_token_bucket_init(&b, 0, 0);
	assert_int_equal(aws_token_bucket_wait(&b, 100, 0), 0);
}

static void test_bucket(void **state)
{
	struct aws_token_bucket b;

	aws_token_bucket_init(&b, 2.0, 1000);
	/* Starts full: capacity max(rate, 1) = 2. */
	assert_int_equal(aws_token_bucket_acquire(&b, 1000), 0);
	assert_int_equal(aws_token_bucket_acquire(&b, 1000), 0);
	assert_int_equal(aws_token_bucket_acquire(&b, 1000), 500);
	assert_int_equal(aws_token_bucket_acquire(&b, 1499), 1);
	assert_int_equal(aws_token_bucket_acquire(&b, 1500), 0);
	/* Idle time refills only up to the capacity. */
	assert_int_equal(aws_token_bucket_acquire(&b, 100000), 0);
	assert_int_equal(aws_token_bucket_acquire(&b, 100000), 0);
	assert_true(aws_token_bucket_acquire(&b, 100000) > 0);

	/* Lowering the rate keeps earned tokens, capped at the new capacity (1). */
	aws_token_bucket_set_rate(&b, 0.5, 100000);
	assert_int_equal(aws_token_bucket_acquire(&b, 100000), 2000);
	assert_int_equal(aws_token_bucket_acquire(&b, 102000), 0);
	aws_token_bucket_set_rate(&b, 10, 102000);
	assert_int_equal(aws_token_bucket_acquire(&b, 102000), 100);
	assert_int_equal(aws_token_bucket_acquire(&b, 103000), 0);

	/* rate <= 0: unlimited. */
	aws_token_bucket_init(&b, 0, 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(aws_token_bucket_acquire(&b, 0), 0);

	/* Fractional rates: one token every 4 s at 0.25/s. */
	aws_token_bucket_init(&b, 0.25, 0);
	assert_int_equal(aws_token_bucket_acquire(&b, 0), 0);
	assert_int_equal(aws_token_bucket_acquire(&b, 0), 4000);
	assert_int_equal(aws_token_bucket_acquire(&b, 4000), 0);
}

static void test_cubic_curve(void **state)
{
	double k = aws_cubic_k(10.0);

	/* K = cbrt(w_max * (1 - beta) / C); at t = 0 the curve is beta * w_max,
	 * at t = K it is back at w_max, and it keeps growing. */
	assert_true(fabs(k - cbrt(7.5)) < 1e-9);
	assert_true(fabs(aws_cubic_curve(10.0, 0) - 7.0) < 1e-9);
	assert_true(fabs(aws_cubic_curve(10.0, k) - 10.0) < 1e-9);
	assert_true(aws_cubic_curve(10.0, k + 1) > 10.0);
	for (double t = 0; t < 10; t += 0.1)
		assert_true(aws_cubic_curve(10.0, t + 0.1) >= aws_cubic_curve(10.0, t));
}

/* A reload of max_rps: the new ceiling applies at once, before and during
 * recovery from a throttle, and the recovery never climbs past it. */
static void test_cubic_set_max(void **state)
{
	struct aws_cubic c;
	double rate;

	aws_cubic_init(&c, 10.0, 0);
	assert_true(aws_cubic_set_max(&c, 4.0) == 4.0);
	assert_true(aws_cubic_on_response(&c, false, 100) == 4.0);
	assert_true(aws_cubic_set_max(&c, 0) == 0); /* unlimited */
	assert_true(aws_cubic_on_response(&c, false, 200) == 0);
	assert_true(aws_cubic_set_max(&c, 10.0) == 10.0);

	/* Throttled at 10/s: the adaptive rate (7/s) is below a raised ceiling
	 * and stays; a ceiling below it wins. */
	rate = aws_cubic_on_response(&c, true, 300);
	assert_true(rate <= 7.0 + 1e-9);
	assert_true(aws_cubic_set_max(&c, 50.0) == rate);
	assert_true(aws_cubic_set_max(&c, 2.0) == 2.0);
	for (uint64_t u = 400; u < 120000; u += 100)
		assert_true(aws_cubic_on_response(&c, false, u) <= 2.0);
}

static void test_cubic_adaptive(void **state)
{
	struct aws_cubic c;
	uint64_t t = 0;
	double rate = 0;

	aws_cubic_init(&c, 10.0, 0);
	/* Before any throttle the limiter runs at max_rps. */
	for (; t < 5000; t += 100)
		assert_true(aws_cubic_on_response(&c, false, t) == 10.0);
	assert_true(c.measured > 5.0 && c.measured <= 10.5);

	/* A throttle: beta * the rate in use (<= max_rps). */
	rate = aws_cubic_on_response(&c, true, t);
	assert_true(c.enabled);
	assert_true(rate <= 7.0 + 1e-9);
	assert_true(rate >= 0.5);
	{
		double after_throttle = rate;
		/* Recovery follows the curve and never exceeds max_rps. */
		double prev = after_throttle;
		bool reached = false;
		for (uint64_t u = t + 100; u < t + 60000; u += 100) {
			rate = aws_cubic_on_response(&c, false, u);
			assert_true(rate <= 10.0);
			assert_true(rate >= 0.5);
			/* The rate climbs (never falls) without throttles; the
			 * 2x-measured cap only slows the climb. */
			assert_true(rate + 1e-9 >= prev || rate >= 2.0 * c.measured - 1e-9);
			prev = rate;
			if (rate == 10.0)
				reached = true;
		}
		assert_true(reached);
	}

	/* Repeated throttles keep lowering the rate, down to the minimum. */
	for (int i = 0; i < 40; i++)
		rate = aws_cubic_on_response(&c, true, t + 60000 + (uint64_t)i * 10);
	assert_true(rate == 0.5);

	/* max_rps below the minimum: the ceiling still wins. */
	aws_cubic_init(&c, 0.2, 0);
	assert_true(aws_cubic_on_response(&c, true, 10) <= 0.2);
	assert_true(aws_cubic_on_response(&c, false, 20000) <= 0.2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backoff),	   cmocka_unit_test(test_retry_after),
	    cmocka_unit_test(test_quota),	   cmocka_unit_test(test_bucket),
	    cmocka_unit_test(test_bucket_wait),	   cmocka_unit_test(test_cubic_curve),
	    cmocka_unit_test(test_cubic_adaptive), cmocka_unit_test(test_cubic_set_max),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
