/* The listener's token bucket for POST /v1/jobs, step by step on a made-up
 * clock: a burst, refusals with the seconds to wait, the refill and its
 * cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api/guard.h"

static void test_rate(void **state)
{
	static const struct {
		uint64_t at_ms;
		bool ok;
		unsigned retry_after; /* when refused */
	} steps[] = {
	    /* 2 a second, bursts of 3. */
	    {0, true, 0},
	    {0, true, 0},
	    {0, true, 0},
	    {0, false, 1},
	    {400, false, 1},
	    {500, true, 0},
	    {500, false, 1},
	    {1000, true, 0},
	    /* A long pause refills to the burst, not beyond. */
	    {60000, true, 0},
	    {60000, true, 0},
	    {60000, true, 0},
	    {60000, false, 1},
	    /* The clock never goes back; an earlier time changes nothing. */
	    {59000, false, 1},
	};
	struct api_rate b;

	api_rate_init(&b, 2.0, 3.0, 0);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		unsigned retry = 0;
		bool ok = api_rate_take(&b, steps[i].at_ms, &retry);

		if (ok != steps[i].ok)
			fail_msg("step %zu (at %llu ms): got %d", i, (unsigned long long)steps[i].at_ms, ok);
		if (!ok)
			assert_int_equal(retry, steps[i].retry_after);
	}
}

static void test_slow_rate_retry_after(void **state)
{
	struct api_rate b;
	unsigned retry = 0;

	/* One every 10 s: the first refusal says 10 s, not 0. */
	api_rate_init(&b, 0.1, 1.0, 1000);
	assert_true(api_rate_take(&b, 1000, &retry));
	assert_false(api_rate_take(&b, 1000, &retry));
	assert_int_equal(retry, 10);
	assert_false(api_rate_take(&b, 6000, &retry));
	assert_int_equal(retry, 5);
	assert_true(api_rate_take(&b, 11000, &retry));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rate),
	    cmocka_unit_test(test_slow_rate_retry_after),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
