/* breaker: which outcomes are the service's, when it opens, the probe
 * cadence (one at a time, a period apart measured from the probe's start),
 * and that any answer closes it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "breaker.h"
#include "util.h"

static void test_classification(void **state)
{
	static const struct {
		enum aws_outcome o;
		bool service_wide;
	} cases[] = {
	    {AWS_OK, false},	   {AWS_THROTTLED, true},   {AWS_TRANSIENT, true},  {AWS_AUTH_EXPIRED, true},
	    {AWS_AUTH, true},	   {AWS_NOT_FOUND, false},  {AWS_CLIENT, false},    {AWS_PROTOCOL, false},
	    {AWS_TRANSPORT, true}, {AWS_CREDENTIALS, true}, {AWS_CANCELLED, false},
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++)
		if (breaker_outcome_is_service_wide(cases[i].o) != cases[i].service_wide)
			fail_msg("outcome %s", aws_outcome_to_string(cases[i].o));
}

static void test_trip_needs_a_run(void **state)
{
	struct breaker b;

	breaker_init(&b);
	assert_true(breaker_allows_polls(&b));
	assert_int_equal(breaker_probe_wait_ms(&b, 0), -1);
	/* An answer in between resets the run: isolated failures never open it. */
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < BREAKER_TRIP_FAILURES - 1; i++)
			assert_int_equal(breaker_on_failure(&b, 10, 1000, false, "503", 2000),
					 BREAKER_UNCHANGED);
		assert_int_equal(breaker_on_answer(&b, 11), BREAKER_UNCHANGED);
	}
	assert_true(breaker_allows_polls(&b));
	assert_int_equal(b.outages, 0);
	assert_int_equal(b.last_failure_wall_ms, 1000);
}

static void test_outage_cycle(void **state)
{
	struct breaker b;
	int64_t t = 5000;

	breaker_init(&b);
	for (int i = 0; i < BREAKER_TRIP_FAILURES - 1; i++)
		assert_int_equal(breaker_on_failure(&b, t, 77000, false, "503", 2000), BREAKER_UNCHANGED);
	assert_int_equal(breaker_on_failure(&b, t, 77000, false, "reset", 2000), BREAKER_OPENED);
	assert_false(breaker_allows_polls(&b));
	assert_string_equal(breaker_state_to_string(b.state), "open");
	assert_int_equal(b.opened_wall_ms, 77000);
	assert_string_equal(b.last_error, "reset");
	/* The first probe a period after the trip. */
	assert_int_equal(breaker_probe_wait_ms(&b, t), 2000);
	assert_int_equal(breaker_probe_wait_ms(&b, t + 1500), 500);
	assert_int_equal(breaker_probe_wait_ms(&b, t + 2000), 0);
	/* Failures of calls sent before the trip change nothing. */
	assert_int_equal(breaker_on_failure(&b, t + 100, 77100, false, "503", 2000), BREAKER_UNCHANGED);
	assert_int_equal(breaker_probe_wait_ms(&b, t + 2000), 0);

	breaker_probe_sent(&b, t + 2000);
	assert_string_equal(breaker_state_to_string(b.state), "half_open");
	assert_int_equal(breaker_probe_wait_ms(&b, t + 9000), -1); /* one probe at a time */
	/* A late failure of an old call is not the probe's. */
	breaker_on_failure(&b, t + 2100, 0, false, "503", 2000);
	assert_string_equal(breaker_state_to_string(b.state), "half_open");
	/* The probe hung until its timeout (3 s): the next may go at once,
	 * a period after the first *started*. */
	breaker_on_failure(&b, t + 5000, 0, true, "timeout", 2000);
	assert_string_equal(breaker_state_to_string(b.state), "open");
	assert_int_equal(breaker_probe_wait_ms(&b, t + 5000), 0);
	breaker_probe_sent(&b, t + 5000);
	breaker_on_failure(&b, t + 5010, 0, true, "503", 2000);
	assert_int_equal(breaker_probe_wait_ms(&b, t + 5010), 1990);

	/* A cancelled probe leaves the breaker open, not stuck half open. */
	breaker_probe_sent(&b, t + 7000);
	breaker_probe_abandoned(&b);
	assert_string_equal(breaker_state_to_string(b.state), "open");

	assert_int_equal(breaker_on_answer(&b, t + 9500), BREAKER_RECOVERED);
	assert_true(breaker_allows_polls(&b));
	assert_int_equal(b.last_outage_ms, 9500);
	assert_int_equal(b.outages, 1);
	assert_int_equal(b.probes, 3);
	assert_int_equal(breaker_on_answer(&b, t + 9600), BREAKER_UNCHANGED);
}

static void test_probe_period_floor(void **state)
{
	struct breaker b;

	breaker_init(&b);
	for (int i = 0; i < BREAKER_TRIP_FAILURES; i++)
		breaker_on_failure(&b, 0, 0, false, NULL, 10);
	assert_int_equal(b.probe_period_ms, BREAKER_PROBE_MIN_MS);
	assert_int_equal(breaker_probe_wait_ms(&b, 0), BREAKER_PROBE_MIN_MS);
	assert_string_equal(b.last_error, "");
	assert_null(breaker_state_to_string(_BREAKER_STATE_MAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_classification),
	    cmocka_unit_test(test_trip_needs_a_run),
	    cmocka_unit_test(test_outage_cycle),
	    cmocka_unit_test(test_probe_period_floor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
