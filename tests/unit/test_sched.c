/* scheduler: the heap against a sorted reference under random operations,
 * and the poll policy (intervals per class, never-poll cases, jitter
 * bounds, backoff growth and cap, start-up spread). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model.h"
#include "scheduler.h"
#include "util.h"

#define N_ITEMS 500

struct item {
	struct sched_node node;
	int64_t due; /* reference: -1 when not scheduled */
	int id;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	/* xorshift64*: deterministic, so a failure reproduces. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static int64_t ref_min(const struct item *items)
{
	int64_t m = -1;
	for (int i = 0; i < N_ITEMS; i++)
		if (items[i].due >= 0 && (m < 0 || items[i].due < m))
			m = items[i].due;
	return m;
}

static void test_heap_random_ops(void **state)
{
	static struct item items[N_ITEMS];
	struct sched *s = sched_new();
	size_t scheduled = 0;

	assert_non_null(s);
	for (int i = 0; i < N_ITEMS; i++) {
		sched_node_init(&items[i].node);
		items[i].due = -1;
		items[i].id = i;
	}
	for (int op = 0; op < 200000; op++) {
		struct item *it = &items[rng() % N_ITEMS];
		uint64_t kind = rng() % 10;

		if (kind < 5) { /* set or move; small range so ties happen */
			int64_t due = (int64_t)(rng() % 1000);
			if (it->due < 0)
				scheduled++;
			assert_int_equal(sched_set(s, &it->node, due), 0);
			it->due = due;
		} else if (kind < 7) {
			if (it->due >= 0)
				scheduled--;
			sched_remove(s, &it->node);
			it->due = -1;
		} else {
			int64_t now = (int64_t)(rng() % 1000), want = ref_min(items);
			struct sched_node *n = sched_pop_due(s, now);
			if (want < 0 || want > now) {
				assert_null(n);
			} else {
				struct item *got;
				assert_non_null(n);
				got = (struct item *)(void *)((char *)n - offsetof(struct item, node));
				/* Ties may come out in any order, but never a later one. */
				assert_int_equal(got->due, want);
				assert_false(sched_node_is_scheduled(n));
				got->due = -1;
				scheduled--;
			}
		}
		assert_int_equal(sched_size(s), scheduled);
		assert_int_equal(sched_peek_due(s), ref_min(items));
		assert_int_equal(sched_node_due(s, &it->node), it->due);
	}
	/* Draining yields a non-decreasing sequence of every remaining item. */
	{
		int64_t last = -1;
		struct sched_node *n;
		size_t count = 0;
		while ((n = sched_pop_due(s, INT64_MAX))) {
			struct item *got = (struct item *)(void *)((char *)n - offsetof(struct item, node));
			assert_true(got->due >= last);
			last = got->due;
			got->due = -1;
			count++;
		}
		assert_int_equal(count, scheduled);
		assert_int_equal(sched_peek_due(s), -1);
	}
	sched_free(s);
}

static void test_heap_update_and_remove(void **state)
{
	struct item a = {.id = 1}, b = {.id = 2}, c = {.id = 3};
	struct sched *s = sched_new();

	sched_node_init(&a.node);
	sched_node_init(&b.node);
	sched_node_init(&c.node);
	assert_int_equal(sched_peek_due(s), -1);
	assert_null(sched_pop_due(s, 100));
	assert_int_equal(sched_set(s, &a.node, 30), 0);
	assert_int_equal(sched_set(s, &b.node, 10), 0);
	assert_int_equal(sched_set(s, &c.node, 20), 0);
	assert_int_equal(sched_peek_due(s), 10);
	assert_null(sched_pop_due(s, 9));
	/* Moving b later lets c go first; moving a earlier puts it first. */
	assert_int_equal(sched_set(s, &b.node, 40), 0);
	assert_int_equal(sched_size(s), 3);
	assert_int_equal(sched_set(s, &a.node, 5), 0);
	assert_ptr_equal(sched_pop_due(s, 100), &a.node);
	sched_remove(s, &c.node);
	sched_remove(s, &c.node); /* a no-op the second time */
	assert_int_equal(sched_node_due(s, &c.node), -1);
	assert_ptr_equal(sched_pop_due(s, 100), &b.node);
	assert_null(sched_pop_due(s, 100));
	assert_int_equal(sched_size(s), 0);
	assert_null(sched_free(s));
	assert_null(sched_free(NULL));
}

static const struct sched_poll_config cfg = {
    .interval_ms = 30000,
    .settled_interval_ms = 3600000,
    .failed_interval_ms = 0,
    .jitter = 0,
    .backoff_max_ms = 0,
};

static void test_policy_intervals(void **state)
{
	static const struct {
		enum status_class cls;
		unsigned failures;
		int64_t want; /* delay, -1 = never */
	} cases[] = {
	    {STATUS_CLASS_WORKING, 0, 30000},
	    {STATUS_CLASS_INVALID, 0, 30000}, /* never seen: polled like a working job */
	    {STATUS_CLASS_SETTLED, 0, 3600000},
	    {STATUS_CLASS_FAILED, 0, -1}, /* failed_interval 0: stop polling */
	    {STATUS_CLASS_GONE, 0, -1},
	    {STATUS_CLASS_GONE, 3, -1},
	    /* A job's own backoff doubles per failure about it, up to 4
	     * intervals (it used to reach 15 min: #12) ... */
	    {STATUS_CLASS_WORKING, 1, 60000},
	    {STATUS_CLASS_WORKING, 2, 120000},
	    {STATUS_CLASS_WORKING, 3, 120000},
	    {STATUS_CLASS_WORKING, 60, 120000},
	    {STATUS_CLASS_WORKING, 4000000000u, 120000},
	    /* ... and never below the class interval. */
	    {STATUS_CLASS_SETTLED, 1, 3600000},
	    {STATUS_CLASS_SETTLED, 30, 3600000},
	};
	const int64_t now = 1700000000000;

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		int64_t got = sched_next_poll_ms(now, cases[i].cls, &cfg, cases[i].failures, 0.3);
		int64_t want = cases[i].want < 0 ? -1 : now + cases[i].want;
		if (got != want)
			fail_msg("case %zu: got %lld, want %lld", i, (long long)got, (long long)want);
	}
	{
		struct sched_poll_config c = cfg;
		c.settled_interval_ms = 0;
		c.failed_interval_ms = 600000;
		c.backoff_max_ms = 120000;
		assert_int_equal(sched_next_poll_ms(now, STATUS_CLASS_SETTLED, &c, 0, 0.5), -1);
		assert_int_equal(sched_next_poll_ms(now, STATUS_CLASS_FAILED, &c, 0, 0.5), now + 600000);
		/* ... and of backoff_max when that is lower ... */
		c.backoff_max_ms = 90000;
		assert_int_equal(sched_next_poll_ms(now, STATUS_CLASS_WORKING, &c, 3, 0.5), now + 90000);
		c.backoff_max_ms = 120000;
		assert_int_equal(sched_next_poll_ms(now, STATUS_CLASS_WORKING, &c, 3, 0.5), now + 120000);
		assert_int_equal(sched_next_poll_ms(now, STATUS_CLASS_WORKING, &c, 2, 0.5), now + 120000);
		assert_int_equal(sched_next_poll_ms(now, STATUS_CLASS_WORKING, &c, 1, 0.5), now + 60000);
	}
	assert_int_equal(sched_next_poll_ms(now, STATUS_CLASS_WORKING, NULL, 0, 0.5), -1);
}

static void test_policy_jitter_bounds(void **state)
{
	struct sched_poll_config c = cfg;
	int64_t lo = INT64_MAX, hi = 0;

	c.jitter = 0.1;
	for (int i = 0; i < 10000; i++) {
		double rnd = (double)(rng() % 1000000) / 1000000.0;
		int64_t d = sched_next_poll_ms(0, STATUS_CLASS_WORKING, &c, 0, rnd);
		assert_true(d >= 27000 && d <= 33000);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	/* The jitter is actually used across its range. */
	assert_true(lo < 27300);
	assert_true(hi > 32700);
	assert_int_equal(sched_next_poll_ms(0, STATUS_CLASS_WORKING, &c, 0, 0.0), 27000);
	assert_int_equal(sched_next_poll_ms(0, STATUS_CLASS_WORKING, &c, 0, 0.5), 30000);
	/* Jitter applies to the backed-off delay too, within the same fraction. */
	assert_int_equal(sched_next_poll_ms(0, STATUS_CLASS_WORKING, &c, 10, 0.0), 108000);
	/* Nonsense jitter is clamped: never a negative or zero delay. */
	c.jitter = 5;
	assert_true(sched_next_poll_ms(0, STATUS_CLASS_WORKING, &c, 0, 0.0) >= 1);
}

static void test_initial_spread(void **state)
{
	const int64_t now = 1000;

	/* 100 jobs at 10 rps: 10 s window, well inside the 30 s interval. */
	assert_int_equal(sched_initial_poll_ms(now, 0, 100, 30000, 10, 0), now);
	assert_int_equal(sched_initial_poll_ms(now, 50, 100, 30000, 10, 0), now + 5000);
	assert_int_equal(sched_initial_poll_ms(now, 99, 100, 30000, 10, 0.999), now + 9999);
	/* 100k jobs at 10 rps: capped at the interval; monotonic in i. */
	{
		int64_t last = now;
		for (size_t i = 0; i < 100000; i += 997) {
			int64_t d = sched_initial_poll_ms(now, i, 100000, 30000, 10, 0.5);
			assert_true(d >= last && d < now + 30000);
			last = d;
		}
	}
	/* No rate: spread over the interval. */
	assert_int_equal(sched_initial_poll_ms(now, 1, 2, 30000, 0, 0), now + 15000);
	assert_int_equal(sched_initial_poll_ms(now, 0, 0, 30000, 10, 0), now);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_heap_random_ops),  cmocka_unit_test(test_heap_update_and_remove),
	    cmocka_unit_test(test_policy_intervals), cmocka_unit_test(test_policy_jitter_bounds),
	    cmocka_unit_test(test_initial_spread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
