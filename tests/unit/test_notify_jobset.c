/* The job set of a webhook scan: keys, membership, a full set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "notify/jobset.h"

#define ARN "arn:aws:cleanrooms-ml:us-east-1:111122223333:audience-generation-job/job-%d"

static void test_keys(void **state)
{
	char a[128], b[128];

	snprintf(a, sizeof(a), ARN, 1);
	snprintf(b, sizeof(b), ARN, 2);
	assert_true(jobset_key(a) == jobset_key(a));
	assert_true(jobset_key(a) != jobset_key(b));
	assert_true(jobset_key(NULL) == jobset_key(""));
	assert_true(jobset_key("") != 0);
}

static void test_add(void **state)
{
	struct jobset *s = malloc(sizeof(*s));
	char arn[128];

	assert_non_null(s);
	jobset_clear(s);
	for (int i = 0; i < 2000; i++) {
		snprintf(arn, sizeof(arn), ARN, i);
		assert_true(jobset_add(s, jobset_key(arn)));
	}
	/* The second delivery of a job: taken. */
	for (int i = 0; i < 2000; i++) {
		snprintf(arn, sizeof(arn), ARN, i);
		assert_false(jobset_add(s, jobset_key(arn)));
	}
	jobset_clear(s);
	snprintf(arn, sizeof(arn), ARN, 7);
	assert_true(jobset_add(s, jobset_key(arn)));
	/* Full: every new job looks taken (it waits, never overtakes). */
	for (uint64_t k = 1; k < 2 * JOBSET_SLOTS; k += 2)
		(void)jobset_add(s, k);
	assert_false(jobset_add(s, 2 * JOBSET_SLOTS + 1));
	free(s);
}

/* A scan's heads: a job's first row decides for the job; waiting heads
 * give the earliest next time. */
static void test_heads(void **state)
{
	static struct jobset s;
	int64_t next = -1;
	uint64_t a = jobset_key("arn:a"), b = jobset_key("arn:b"), c = jobset_key("arn:c");

	(void)state;
	jobset_clear(&s);
	assert_int_equal(jobset_head(&s, a, false, 900, 1000, 6000, &next), JOBSET_HEAD_DUE);
	assert_int_equal(next, -1);
	assert_int_equal(jobset_head(&s, a, false, 0, 1000, 6000, &next), JOBSET_HEAD_BEHIND);
	assert_int_equal(jobset_head(&s, b, false, 3000, 1000, 6000, &next), JOBSET_HEAD_WAIT);
	assert_int_equal(next, 3000);
	assert_int_equal(jobset_head(&s, b, false, 0, 1000, 6000, &next), JOBSET_HEAD_BEHIND);
	/* Hidden: waits for the store, even when due. */
	assert_int_equal(jobset_head(&s, c, true, 0, 1000, 2000, &next), JOBSET_HEAD_WAIT);
	assert_int_equal(next, 2000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_add),
	    cmocka_unit_test(test_heads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
