/* Webhook retry timing: the schedule, jitter bounds, Retry-After. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>

#include <cmocka.h>

#include "notify/backoff.h"
#include "util.h"

#define S 1000LL
#define M (60 * S)
#define H (60 * M)

static void test_schedule(void **state)
{
	static const int64_t want[] = {0, 1 * S, 2 * S, 5 * S, 10 * S, 30 * S, 1 * M, 2 * M, 5 * M, 5 * M};
	int64_t total = 0;

	for (unsigned i = 0; i < ELEMENTSOF(want); i++)
		assert_int_equal(webhook_backoff_base_ms(i), want[i]);
	assert_int_equal(webhook_backoff_base_ms(1000), 5 * M);
	/* Made for alerts: a receiver back after a 10 s blip is tried again
	 * within about 10 s (four failures fit in 10 s, the fifth waits 10 s),
	 * and the delay settles at 5 min after about 4 minutes of failures. */
	for (unsigned i = 0; i <= 4; i++)
		total += webhook_backoff_base_ms(i);
	assert_int_equal(total, 18 * S);
	for (unsigned i = 5; i < 8; i++)
		total += webhook_backoff_base_ms(i);
	assert_true(total < 5 * M);
	assert_true(WEBHOOK_MAX_AGE_DEFAULT_MS == 24 * H);
}

static void test_jitter_bounds(void **state)
{
	assert_int_equal(webhook_backoff_delay_ms(1, 0.0), 1 * S);
	assert_int_equal(webhook_backoff_delay_ms(1, 1.0), 1100);
	assert_int_equal(webhook_backoff_delay_ms(1, -1.0), 900);
	assert_int_equal(webhook_backoff_delay_ms(1, 7.0), 1100); /* clamped */
	assert_int_equal(webhook_backoff_delay_ms(8, -3.0), 270 * S);
	for (int i = 0; i < 2000; i++) {
		double u = webhook_backoff_random_unit();
		int64_t d = webhook_backoff_delay_ms(9, u);
		assert_true(u >= -1.0 && u <= 1.0);
		assert_true(d >= (int64_t)(5 * M * 0.9) && d <= (int64_t)(5 * M * 1.1));
	}
}

static void test_jitter_spreads(void **state)
{
	int lo = 0, hi = 0;

	/* Real randomness: both halves of the range show up. */
	for (int i = 0; i < 200; i++) {
		if (webhook_backoff_random_unit() < 0)
			lo++;
		else
			hi++;
	}
	assert_true(lo > 0 && hi > 0);
}

static void test_retry_after(void **state)
{
	/* 2015-10-21T07:28:00Z */
	const int64_t now = 1445412480000LL;
	static const struct {
		const char *v;
		int r;
		int64_t want;
	} cases[] = {
	    {"120", 0, 120 * S},
	    {"0", 0, 0},
	    {"Wed, 21 Oct 2015 07:28:30 GMT", 0, 30 * S},
	    {"Wed, 21 Oct 2015 08:28:00 GMT", 0, H},
	    {"Tue, 20 Oct 2015 07:28:00 GMT", 0, 0},		     /* past */
	    {"99999999999999999999", 0, WEBHOOK_RETRY_AFTER_MAX_MS}, /* clamped */
	    {"172800", 0, WEBHOOK_RETRY_AFTER_MAX_MS},
	    {"3601", 0, H}, /* clamped to an hour: it holds the whole hook */
	    {"Wed, 21 Oct 2015 09:28:00 GMT", 0, H},
	    {"", -EINVAL, 0},
	    {"-5", -EINVAL, 0},
	    {"12s", -EINVAL, 0},
	    {" 12", -EINVAL, 0},
	    {"soon", -EINVAL, 0},
	    {"Wed, 21 Foo 2015 07:28:00 GMT", -EINVAL, 0},
	    {"Wed, 21 Oct 2015 07:28:00 UTC", -EINVAL, 0},
	    {"Wed, 21 Oct 2015 7:28:00 GMT", -EINVAL, 0},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		int64_t d = -1;
		int r = webhook_parse_retry_after(cases[i].v, now, &d);
		assert_int_equal(r, cases[i].r);
		if (r == 0)
			assert_int_equal(d, cases[i].want);
	}
	assert_int_equal(webhook_parse_retry_after(NULL, now, &(int64_t){0}), -EINVAL);
}

static void test_time_scale(void **state)
{
	unsetenv("JW_WEBHOOK_TIME_SCALE");
	assert_true(webhook_time_scale_from_env() == 1.0);
	setenv("JW_WEBHOOK_TIME_SCALE", "0.001", 1);
	assert_true(webhook_time_scale_from_env() == 0.001);
	setenv("JW_WEBHOOK_TIME_SCALE", "fast", 1);
	assert_true(webhook_time_scale_from_env() == 1.0);
	setenv("JW_WEBHOOK_TIME_SCALE", "-1", 1);
	assert_true(webhook_time_scale_from_env() == 1.0);
	unsetenv("JW_WEBHOOK_TIME_SCALE");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_schedule),	   cmocka_unit_test(test_jitter_bounds),
	    cmocka_unit_test(test_jitter_spreads), cmocka_unit_test(test_retry_after),
	    cmocka_unit_test(test_time_scale),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
