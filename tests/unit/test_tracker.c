/* tracker: sequences of observations in, exact event sequences out, with
 * the real store underneath (a SQLite file in a jwt_tmpdir directory). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "jwtest.h"
#include "event.h"
#include "model.h"
#include "store.h"
#include "tracker.h"
#include "util.h"

#define ARN	    "arn:aws:cleanrooms-ml:us-east-1:123456789012:audience-generation-job/7c9e6679-7425-40de-944b"
#define STUCK_AFTER 60000

static char tmpdir[64];
static char dbpath[128];

struct seen_event {
	enum event_type type;
	enum job_status prev, status;
	char id[EVENT_ID_LEN + 1];
	char status_code[64];
};

struct fixture {
	struct store *store;
	struct tracker *tracker;
	struct seen_event seen[64];
	size_t n_seen;
};

static const char *const *sinks_cb(const struct event *e, void *userdata)
{
	static const char *const all[] = {"journal", "webhook:ops", NULL};
	static const char *const journal_only[] = {"journal", NULL};

	/* Stands in for a webhook whose `on` filter wants status changes only. */
	return e->type == EVENT_JOB_STATUS_CHANGED ? all : journal_only;
}

static void on_event(const struct event *e, void *userdata)
{
	struct fixture *f = userdata;
	struct seen_event *s;

	assert_true(f->n_seen < ELEMENTSOF(f->seen));
	s = &f->seen[f->n_seen++];
	s->type = e->type;
	s->prev = e->previous_status;
	s->status = e->status;
	memcpy(s->id, e->id, sizeof(s->id));
	snprintf(s->status_code, sizeof(s->status_code), "%s",
		 e->job && e->job->status_code ? e->job->status_code : "");
	assert_true(e->seq > 0);
	assert_string_equal(e->region, "us-east-1");
	assert_non_null(e->job);
	assert_string_equal(e->job->arn, ARN);
}

static void fixture_start(struct fixture *f, bool load)
{
	assert_int_equal(store_open(dbpath, &f->store), 0);
	assert_int_equal(tracker_new(f->store, "us-east-1", STUCK_AFTER, sinks_cb, NULL, &f->tracker), 0);
	tracker_set_event_callback(f->tracker, on_event, f);
	if (load)
		assert_int_equal(tracker_load(f->tracker), 0);
	assert_true(tracker_add(f->tracker, ARN, "config", NULL) >= 0);
}

static void fixture_stop(struct fixture *f)
{
	assert_int_equal(store_flush(f->store), 0);
	f->tracker = tracker_free(f->tracker);
	f->store = store_close(f->store);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	jwt_tmpdir("tracker", tmpdir, sizeof(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/state.db", tmpdir);
	fixture_start(f, false);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->store)
		fixture_stop(f);
	free(f);
	jwt_rmtree(tmpdir);
	return 0;
}

enum step_op {
	OBS,	  /* observe status at update time ut, at now */
	OBS_LIST, /* the same from a List summary (no statusDetails) */
	GONE,	  /* 404 */
	FAIL,	  /* poll failed */
	STUCK,	  /* tracker_check_stuck(now) */
	RESTART,  /* flush, close everything, reopen, tracker_load */
	END,
};

struct want {
	enum event_type type;
	enum job_status prev, status;
};

struct step {
	enum step_op op;
	enum job_status status;
	int64_t ut, now;
	const char *status_code;
	int ret; /* expected return of the call */
	size_t n_want;
	struct want want[2];
};

#define S(x) JOB_STATUS_##x
#define E(t, p, s)                                                                                          \
	{                                                                                                   \
		EVENT_JOB_##t, JOB_STATUS_##p, JOB_STATUS_##s                                               \
	}

static struct job_observation *obs_new(enum job_status status, int64_t ut, const char *status_code,
				       bool from_list)
{
	struct job_observation *o = job_observation_new();

	assert_non_null(o);
	o->arn = strdup(ARN);
	o->name = strdup("seed-job");
	o->status = status;
	o->update_time_ms = ut;
	o->create_time_ms = 1;
	o->from_list = from_list;
	if (status_code) {
		o->status_code = strdup(status_code);
		o->status_message = strdup("details");
	}
	return o;
}

static void run_steps(struct fixture *f, const struct step *steps)
{
	for (size_t i = 0; steps[i].op != END; i++) {
		const struct step *st = &steps[i];
		size_t before = f->n_seen;
		int r = 0;

		switch (st->op) {
		case OBS:
		case OBS_LIST: {
			struct job_observation *o =
			    obs_new(st->status, st->ut, st->status_code, st->op == OBS_LIST);
			r = tracker_observe(f->tracker, o, st->now, NULL);
			job_observation_free(o);
			break;
		}
		case GONE:
			r = tracker_gone(f->tracker, ARN, st->now);
			break;
		case FAIL:
			r = tracker_poll_failed(f->tracker, ARN, st->now, "HTTP 503 ServiceUnavailable",
						NULL);
			break;
		case STUCK:
			r = tracker_check_stuck(f->tracker, st->now);
			break;
		case RESTART:
			fixture_stop(f);
			fixture_start(f, true);
			break;
		default:
			fail();
		}
		if (r != st->ret)
			fail_msg("step %zu: returned %d, want %d", i, r, st->ret);
		if (f->n_seen - before != st->n_want)
			fail_msg("step %zu: %zu events, want %zu", i, f->n_seen - before, st->n_want);
		for (size_t k = 0; k < st->n_want; k++) {
			const struct seen_event *got = &f->seen[before + k];
			const struct want *w = &st->want[k];
			if (got->type != w->type || got->prev != w->prev || got->status != w->status)
				fail_msg("step %zu event %zu: got %s %s→%s, want %s %s→%s", i, k,
					 event_type_to_string(got->type), job_status_to_string(got->prev),
					 job_status_to_string(got->status), event_type_to_string(w->type),
					 job_status_to_string(w->prev), job_status_to_string(w->status));
		}
		assert_int_equal(store_flush(f->store), 0);
	}
}

static void test_create_to_active(void **state)
{
	static const struct step steps[] = {
	    {OBS, S(CREATE_PENDING), 1000, 1500, .ret = 1, 1, {E(DISCOVERED, INVALID, CREATE_PENDING)}},
	    {OBS, S(CREATE_PENDING), 1000, 2500, .ret = 0, 0},
	    {OBS,
	     S(CREATE_IN_PROGRESS),
	     3000,
	     3500,
	     .ret = 1,
	     1,
	     {E(STATUS_CHANGED, CREATE_PENDING, CREATE_IN_PROGRESS)}},
	    {OBS, S(ACTIVE), 9000, 9500, .ret = 1, 1, {E(STATUS_CHANGED, CREATE_IN_PROGRESS, ACTIVE)}},
	    {OBS, S(ACTIVE), 9000, 99500, .ret = 0, 0},
	    {.op = END},
	};
	struct fixture *f = *state;
	int64_t n = 0;

	run_steps(f, steps);
	assert_int_equal(store_count_events(f->store, EVENT_TYPE_INVALID, &n), 0);
	assert_int_equal(n, 3);
	/* The sinks callback decided per event: 3 journal rows, 2 webhook rows. */
	assert_int_equal(store_delivery_backlog(f->store, "journal", &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(store_delivery_backlog(f->store, "webhook:ops", &n), 0);
	assert_int_equal(n, 2);
	/* The ids are the documented deterministic ones. */
	{
		char id[EVENT_ID_LEN + 1];
		event_compute_id(ARN, JOB_STATUS_CREATE_IN_PROGRESS, JOB_STATUS_ACTIVE, 9000,
				 EVENT_JOB_STATUS_CHANGED, id);
		assert_string_equal(f->seen[2].id, id);
		assert_int_equal(store_event_exists(f->store, id), 1);
	}
}

static void test_create_failed_with_details(void **state)
{
	static const struct step steps[] = {
	    {OBS, S(CREATE_PENDING), 1000, 1000, .ret = 1, 1, {E(DISCOVERED, INVALID, CREATE_PENDING)}},
	    {OBS,
	     S(CREATE_IN_PROGRESS),
	     2000,
	     2000,
	     .ret = 1,
	     1,
	     {E(STATUS_CHANGED, CREATE_PENDING, CREATE_IN_PROGRESS)}},
	    {OBS,
	     S(CREATE_FAILED),
	     3000,
	     3000,
	     "INSUFFICIENT_DATA",
	     1,
	     1,
	     {E(STATUS_CHANGED, CREATE_IN_PROGRESS, CREATE_FAILED)}},
	    /* A list summary has no statusDetails: the stored ones stay. */
	    {OBS_LIST, S(CREATE_FAILED), 3000, 4000, .ret = 0, 0},
	    {.op = END},
	};
	struct fixture *f = *state;
	struct tracked_job *j;
	struct event *e = NULL;

	run_steps(f, steps);
	assert_string_equal(f->seen[2].status_code, "INSUFFICIENT_DATA");
	j = tracker_find(f->tracker, ARN);
	assert_non_null(j);
	assert_string_equal(j->status_code, "INSUFFICIENT_DATA");
	/* The notifiers see the details through the stored payload. */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(store_delivery_next(f->store, "journal", 0, &e, NULL, NULL), 1);
		if (i == 2) {
			assert_int_equal(e->status, JOB_STATUS_CREATE_FAILED);
			assert_string_equal(e->job->status_code, "INSUFFICIENT_DATA");
			assert_string_equal(e->job->status_message, "details");
		}
		assert_int_equal(store_delivery_done(f->store, "journal", e->seq), 0);
		e = event_free(e);
	}
}

static void test_first_sight_not_initial(void **state)
{
	static const struct step steps[] = {
	    {OBS, S(ACTIVE), 5000, 6000, .ret = 1, 1, {E(DISCOVERED, INVALID, ACTIVE)}},
	    {OBS, S(ACTIVE), 7000, 8000, .ret = 0, 0}, /* newer updateTime, same status */
	    {.op = END},
	};
	struct fixture *f = *state;

	run_steps(f, steps);
	assert_int_equal(tracker_find(f->tracker, ARN)->update_time_ms, 7000);
}

static void test_delete_path_and_gone(void **state)
{
	static const struct step steps[] = {
	    {OBS, S(ACTIVE), 1000, 1000, .ret = 1, 1, {E(DISCOVERED, INVALID, ACTIVE)}},
	    {OBS, S(DELETE_PENDING), 2000, 2000, .ret = 1, 1, {E(STATUS_CHANGED, ACTIVE, DELETE_PENDING)}},
	    {OBS,
	     S(DELETE_IN_PROGRESS),
	     3000,
	     3000,
	     .ret = 1,
	     1,
	     {E(STATUS_CHANGED, DELETE_PENDING, DELETE_IN_PROGRESS)}},
	    {GONE, .now = 4000, .ret = 1, 1, {E(GONE, DELETE_IN_PROGRESS, GONE)}},
	    {GONE, .now = 5000, .ret = 0, 0},
	    {RESTART, .ret = 0, 0},
	    {GONE, .now = 6000, .ret = 0, 0},
	    {.op = END},
	};
	struct fixture *f = *state;

	run_steps(f, steps);
	assert_true(tracker_find(f->tracker, ARN)->gone);
	assert_int_equal(tracker_find(f->tracker, ARN)->status, JOB_STATUS_GONE);
}

static void test_gone_never_seen_is_not_an_event(void **state)
{
	static const struct step steps[] = {
	    {GONE, .now = 1000, .ret = -ENOENT, 0},
	    {OBS, S(CREATE_PENDING), 1000, 2000, .ret = 1, 1, {E(DISCOVERED, INVALID, CREATE_PENDING)}},
	    {.op = END},
	};
	run_steps(*state, steps);
}

/* job.not_found: once for a job never seen, kept across a restart, never
 * for a job seen before (its 404 is job.gone's), and first sight after it
 * is an ordinary job.discovered. */
static void test_not_found_once(void **state)
{
	struct fixture *f = *state;
	struct job_observation obs = {
	    .arn = ARN, .status = JOB_STATUS_CREATE_PENDING, .update_time_ms = 9000};

	assert_int_equal(tracker_not_found_past_grace(f->tracker, ARN "x", 1000, NULL), -ENOENT);
	assert_int_equal(tracker_not_found_past_grace(f->tracker, ARN, 1000, NULL), 1);
	assert_int_equal(f->n_seen, 1);
	assert_int_equal(f->seen[0].type, EVENT_JOB_NOT_FOUND);
	assert_int_equal(f->seen[0].prev, JOB_STATUS_INVALID);
	assert_int_equal(f->seen[0].status, JOB_STATUS_INVALID);
	assert_int_equal(tracker_find(f->tracker, ARN)->not_found_ms, 1000);
	assert_int_equal(tracker_not_found_past_grace(f->tracker, ARN, 2000, NULL), 0);
	assert_int_equal(f->n_seen, 1);

	fixture_stop(f);
	fixture_start(f, true);
	assert_int_equal(tracker_find(f->tracker, ARN)->not_found_ms, 1000);
	assert_int_equal(tracker_not_found_past_grace(f->tracker, ARN, 3000, NULL), 0);
	assert_int_equal(f->n_seen, 1);

	assert_int_equal(tracker_observe(f->tracker, &obs, 10000, NULL), 1);
	assert_int_equal(f->n_seen, 2);
	assert_int_equal(f->seen[1].type, EVENT_JOB_DISCOVERED);
	assert_int_equal(tracker_not_found_past_grace(f->tracker, ARN, 11000, NULL), -EINVAL);
	assert_int_equal(f->n_seen, 2);
}

static void test_out_of_order_ignored(void **state)
{
	static const struct step steps[] = {
	    {OBS, S(CREATE_PENDING), 1000, 1000, .ret = 1, 1, {E(DISCOVERED, INVALID, CREATE_PENDING)}},
	    {OBS,
	     S(CREATE_IN_PROGRESS),
	     5000,
	     5000,
	     .ret = 1,
	     1,
	     {E(STATUS_CHANGED, CREATE_PENDING, CREATE_IN_PROGRESS)}},
	    {OBS, S(CREATE_PENDING), 3000, 6000, .ret = 0, 0}, /* older: a stale answer */
	    {OBS, S(ACTIVE), 7000, 7000, .ret = 1, 1, {E(STATUS_CHANGED, CREATE_IN_PROGRESS, ACTIVE)}},
	    {.op = END},
	};
	struct fixture *f = *state;
	struct tracker_stats st;

	run_steps(f, steps);
	tracker_get_stats(f->tracker, &st);
	assert_int_equal(st.stale_observations, 1);
	assert_int_equal(st.events, 3);
}

static void test_stuck_once_per_stay(void **state)
{
	static const struct step steps[] = {
	    {OBS,
	     S(CREATE_IN_PROGRESS),
	     1000,
	     1000,
	     .ret = 1,
	     1,
	     {E(DISCOVERED, INVALID, CREATE_IN_PROGRESS)}},
	    {STUCK, .now = 50000, .ret = 0, 0},
	    {STUCK,
	     .now = 1000 + STUCK_AFTER,
	     .ret = 1,
	     1,
	     {E(STUCK, CREATE_IN_PROGRESS, CREATE_IN_PROGRESS)}},
	    {STUCK, .now = 500000, .ret = 0, 0},
	    {OBS, S(CREATE_IN_PROGRESS), 1000, 600000, .ret = 0, 0},
	    {RESTART, .ret = 0, 0},
	    {STUCK, .now = 700000, .ret = 0, 0}, /* stuck_emitted survives a restart */
	    {OBS, S(ACTIVE), 800000, 800000, .ret = 1, 1, {E(STATUS_CHANGED, CREATE_IN_PROGRESS, ACTIVE)}},
	    {STUCK, .now = 9000000, .ret = 0, 0}, /* ACTIVE is not a working status */
	    {OBS,
	     S(DELETE_PENDING),
	     9000000,
	     9000000,
	     .ret = 1,
	     1,
	     {E(STATUS_CHANGED, ACTIVE, DELETE_PENDING)}},
	    /* A new stay: stuck again, this time noticed by an observation. */
	    {OBS,
	     S(DELETE_PENDING),
	     9000000,
	     9000000 + STUCK_AFTER,
	     .ret = 1,
	     1,
	     {E(STUCK, DELETE_PENDING, DELETE_PENDING)}},
	    {STUCK, .now = 99000000, .ret = 0, 0},
	    {.op = END},
	};
	run_steps(*state, steps);
}

static void test_first_sight_already_stuck(void **state)
{
	/* Seen for the first time an hour into CREATE_IN_PROGRESS. */
	static const struct step steps[] = {
	    {OBS,
	     S(CREATE_IN_PROGRESS),
	     1000,
	     1000 + 3600000,
	     .ret = 2,
	     2,
	     {E(DISCOVERED, INVALID, CREATE_IN_PROGRESS), E(STUCK, CREATE_IN_PROGRESS, CREATE_IN_PROGRESS)}},
	    {.op = END},
	};
	run_steps(*state, steps);
}

static int64_t fake_mono;

static int64_t fake_mono_clock(void *userdata)
{
	(void)userdata;
	return fake_mono;
}

/* With a monotonic clock, a stay is measured on it: the wall clock stepped
 * an hour ahead fires nothing, stepped back holds nothing back (#12). */
static void test_stuck_on_monotonic_clock(void **state)
{
	struct fixture *f = *state;
	static const struct step enter[] = {
	    {OBS,
	     S(CREATE_IN_PROGRESS),
	     1000,
	     1000,
	     .ret = 1,
	     1,
	     {E(DISCOVERED, INVALID, CREATE_IN_PROGRESS)}},
	    {.op = END},
	};
	static const struct step stepped_ahead[] = {
	    {STUCK, .now = 1000 + 3600000, .ret = 0, 0},
	    {OBS, S(CREATE_IN_PROGRESS), 1000, 1000 + 3600000, .ret = 0, 0},
	    {.op = END},
	};
	static const struct step stepped_back[] = {
	    {STUCK, .now = 1000 - 3600000, .ret = 1, 1, {E(STUCK, CREATE_IN_PROGRESS, CREATE_IN_PROGRESS)}},
	    {.op = END},
	};

	tracker_set_mono_clock(f->tracker, fake_mono_clock, NULL);
	fake_mono = 500000;
	run_steps(f, enter);
	fake_mono += STUCK_AFTER - 1;
	run_steps(f, stepped_ahead);
	fake_mono += 1;
	run_steps(f, stepped_back);
}

static void test_poll_failures_never_events(void **state)
{
	static const struct step steps[] = {
	    {FAIL, .now = 1000, .ret = 0, 0},
	    {OBS, S(CREATE_PENDING), 1000, 2000, .ret = 1, 1, {E(DISCOVERED, INVALID, CREATE_PENDING)}},
	    {FAIL, .now = 3000, .ret = 0, 0},
	    {FAIL, .now = 4000, .ret = 0, 0},
	    {FAIL, .now = 5000, .ret = 0, 0},
	    {.op = END},
	};
	struct fixture *f = *state;
	struct tracked_job *j;
	struct job_observation *o;

	run_steps(f, steps);
	j = tracker_find(f->tracker, ARN);
	assert_int_equal(j->consecutive_failures, 3);
	assert_int_equal(j->poll_failures, 4);
	assert_int_equal(j->last_success_ms, 2000);
	assert_string_equal(j->last_error, "HTTP 503 ServiceUnavailable");
	o = obs_new(JOB_STATUS_CREATE_PENDING, 1000, NULL, false);
	assert_int_equal(tracker_observe(f->tracker, o, 6000, NULL), 0);
	job_observation_free(o);
	assert_int_equal(j->consecutive_failures, 0);
	assert_int_equal(j->last_success_ms, 6000);
	assert_int_equal(tracker_poll_failed(f->tracker, "arn:unknown", 1, "x", NULL), -ENOENT);
}

static void test_restart(void **state)
{
	static const struct step steps[] = {
	    {OBS, S(CREATE_PENDING), 1000, 1000, .ret = 1, 1, {E(DISCOVERED, INVALID, CREATE_PENDING)}},
	    {OBS,
	     S(CREATE_IN_PROGRESS),
	     2000,
	     2000,
	     .ret = 1,
	     1,
	     {E(STATUS_CHANGED, CREATE_PENDING, CREATE_IN_PROGRESS)}},
	    {RESTART, .ret = 0, 0},
	    /* The first poll after start compares with the stored status. */
	    {OBS, S(CREATE_IN_PROGRESS), 2000, 3000, .ret = 0, 0},
	    {RESTART, .ret = 0, 0},
	    /* Changed while we were down: exactly one event. */
	    {OBS, S(ACTIVE), 5000, 6000, .ret = 1, 1, {E(STATUS_CHANGED, CREATE_IN_PROGRESS, ACTIVE)}},
	    {OBS, S(ACTIVE), 5000, 7000, .ret = 0, 0},
	    {.op = END},
	};
	struct fixture *f = *state;
	int64_t n = 0;

	run_steps(f, steps);
	assert_int_equal(store_count_events(f->store, EVENT_TYPE_INVALID, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(tracker_find(f->tracker, ARN)->first_seen_ms, 1000);
}

static int64_t stored_polls(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t polls = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT polls FROM jobs", -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		polls = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return polls;
}

/* An unchanged poll updates the counters in memory only (no row write per
 * poll); tracker_flush_dirty() writes them, and a real change writes them
 * with the state. */
static void test_unchanged_polls_batched(void **state)
{
	struct fixture *f = *state;
	struct job_observation *o = obs_new(JOB_STATUS_CREATE_IN_PROGRESS, 1000, NULL, false);

	assert_int_equal(tracker_observe(f->tracker, o, 1000, NULL), 1);
	assert_int_equal(store_flush(f->store), 0);
	assert_int_equal(stored_polls(dbpath), 1);
	for (int i = 0; i < 5; i++)
		assert_int_equal(tracker_observe(f->tracker, o, 2000 + i, NULL), 0);
	assert_int_equal(store_flush(f->store), 0);
	assert_int_equal(stored_polls(dbpath), 1);
	assert_int_equal(tracker_find(f->tracker, ARN)->polls, 6);
	assert_true(tracker_find(f->tracker, ARN)->dirty);
	assert_int_equal(tracker_flush_dirty(f->tracker), 1);
	assert_int_equal(store_flush(f->store), 0);
	assert_int_equal(stored_polls(dbpath), 6);
	assert_int_equal(tracker_flush_dirty(f->tracker), 0);
	job_observation_free(o);
}

/* A List page that confirms the state moves the poll times like an
 * unchanged Get: in memory, written by tracker_flush_dirty(). */
static void test_refreshed_by_list(void **state)
{
	struct fixture *f = *state;
	struct job_observation *o = obs_new(JOB_STATUS_CREATE_IN_PROGRESS, 1000, NULL, false);
	struct tracked_job *j;

	assert_int_equal(tracker_observe(f->tracker, o, 1000, NULL), 1);
	assert_int_equal(store_flush(f->store), 0);
	j = tracker_find(f->tracker, ARN);
	assert_false(j->dirty);
	assert_int_equal(tracker_refreshed(f->tracker, ARN, 5000, NULL), 0);
	assert_int_equal(j->last_poll_ms, 5000);
	assert_int_equal(j->last_success_ms, 5000);
	assert_int_equal(j->polls, 1);
	assert_true(j->dirty);
	assert_int_equal(tracker_flush_dirty(f->tracker), 1);
	assert_int_equal(tracker_refreshed(f->tracker, "arn:nope", 5000, NULL), -ENOENT);
	assert_int_equal(f->n_seen, 1);
	job_observation_free(o);
}

/* The gone rule, on its own: what one ResourceNotFoundException means for a
 * job in a given status, with or without an earlier one (first, monotonic
 * ms) of the same run, confirm = 5000. */
static void test_gone_rule(void **state)
{
	static const struct {
		enum job_status status;
		bool gone;
		int64_t first, now;
		enum tracker_not_found want;
	} rows[] = {
	    /* Never seen: not visible yet, however long it has said 404. */
	    {JOB_STATUS_INVALID, false, 0, 1000, TRACKER_NOT_VISIBLE},
	    {JOB_STATUS_INVALID, false, 1000, 900000, TRACKER_NOT_VISIBLE},
	    /* Seen: the first 404 asks again ... */
	    {JOB_STATUS_ACTIVE, false, 0, 1000, TRACKER_GONE_UNCONFIRMED},
	    {JOB_STATUS_CREATE_IN_PROGRESS, false, 0, 1000, TRACKER_GONE_UNCONFIRMED},
	    {JOB_STATUS_CREATE_FAILED, false, 0, 1000, TRACKER_GONE_UNCONFIRMED},
	    /* ... a second one too early (under confirm / 2) is not the confirmation ... */
	    {JOB_STATUS_ACTIVE, false, 1000, 3499, TRACKER_GONE_UNCONFIRMED},
	    /* ... and one at least confirm / 2 after the first is. */
	    {JOB_STATUS_ACTIVE, false, 1000, 3500, TRACKER_GONE},
	    {JOB_STATUS_ACTIVE, false, 1000, 60000, TRACKER_GONE},
	    /* In DELETE_* the first one is enough: it is expected. */
	    {JOB_STATUS_DELETE_PENDING, false, 0, 1000, TRACKER_GONE},
	    {JOB_STATUS_DELETE_IN_PROGRESS, false, 0, 1000, TRACKER_GONE},
	    {JOB_STATUS_DELETE_FAILED, false, 0, 1000, TRACKER_GONE},
	    /* Gone already stays gone. */
	    {JOB_STATUS_GONE, true, 0, 1000, TRACKER_GONE},
	};

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
		struct tracked_job j = {.status = (int8_t)rows[i].status, .gone = rows[i].gone};
		enum tracker_not_found got = tracker_gone_rule(&j, rows[i].first, rows[i].now, 5000);

		if (got != rows[i].want)
			fail_msg("row %zu (%s, first %lld, now %lld): %d, want %d", i,
				 job_status_to_string(rows[i].status), (long long)rows[i].first,
				 (long long)rows[i].now, got, rows[i].want);
	}
}

/* The confirming Get goes out 5 s later, or one poll interval when that is
 * shorter, never under 100 ms. */
static void test_gone_confirm_delay(void **state)
{
	(void)state;
	assert_int_equal(tracker_gone_confirm_ms(30000), 5000);
	assert_int_equal(tracker_gone_confirm_ms(5000), 5000);
	assert_int_equal(tracker_gone_confirm_ms(2000), 2000);
	assert_int_equal(tracker_gone_confirm_ms(50), 100);
	assert_int_equal(tracker_gone_confirm_ms(0), 5000);
}

/* tracker_not_found() applies the rule and says what it decided: no event
 * until the job is gone, then exactly one job.gone and the GONE class (no
 * more polls); a job never seen gets none.  tracker_observe() says the new
 * events and the class the job's next poll goes by. */
static void test_not_found_applies_rule(void **state)
{
	struct fixture *f = *state;
	struct job_observation *o = obs_new(JOB_STATUS_ACTIVE, 1000, NULL, false);
	struct tracker_result tr;

	assert_int_equal(tracker_not_found(f->tracker, ARN, 0, 100, 5000, 1000, &tr), 0);
	assert_int_equal(tr.not_found, TRACKER_NOT_VISIBLE);
	assert_int_equal(tr.class, STATUS_CLASS_INVALID);
	assert_int_equal(tr.events, 0);
	assert_int_equal(f->n_seen, 0);
	assert_int_equal(tracker_observe(f->tracker, o, 1000, &tr), 1);
	assert_int_equal(tr.events, 1);
	assert_int_equal(tr.class, STATUS_CLASS_SETTLED);
	assert_false(tr.gone);
	assert_int_equal(tracker_not_found(f->tracker, ARN, 0, 2000, 5000, 2000, &tr), 0);
	assert_int_equal(tr.not_found, TRACKER_GONE_UNCONFIRMED);
	assert_int_equal(tr.class, STATUS_CLASS_SETTLED);
	assert_false(tracker_find(f->tracker, ARN)->gone);
	assert_int_equal(tracker_not_found(f->tracker, ARN, 2000, 7000, 5000, 7000, &tr), 1);
	assert_int_equal(tr.not_found, TRACKER_GONE);
	assert_int_equal(tr.events, 1);
	assert_int_equal(tr.class, STATUS_CLASS_GONE);
	assert_true(tr.gone);
	assert_true(tracker_find(f->tracker, ARN)->gone);
	assert_int_equal(f->n_seen, 2);
	assert_int_equal(f->seen[1].type, EVENT_JOB_GONE);
	assert_int_equal(f->seen[1].prev, JOB_STATUS_ACTIVE);
	assert_int_equal(tracker_not_found(f->tracker, ARN, 0, 8000, 5000, 8000, &tr), 0);
	assert_int_equal(tr.not_found, TRACKER_GONE);
	assert_int_equal(tr.events, 0);
	assert_int_equal(f->n_seen, 2);
	assert_int_equal(tracker_not_found(f->tracker, "arn:nope", 0, 8000, 5000, 8000, &tr), -ENOENT);
	assert_int_equal(tracker_poll_failed(f->tracker, ARN, 9000, "HTTP 500", &tr), 0);
	assert_int_equal(tr.class, STATUS_CLASS_GONE);
	assert_int_equal(tr.events, 0);
	job_observation_free(o);
}

/* A second daemon (or a lost state file row) sees the same transition: the
 * same id, stored once, no second notification. */
static void test_same_transition_twice_stored_once(void **state)
{
	struct fixture *f = *state;
	struct tracker *other = NULL;
	struct job_observation *o = obs_new(JOB_STATUS_ACTIVE, 1000, NULL, false);
	struct tracker_stats st;
	int64_t n = 0;

	assert_int_equal(tracker_observe(f->tracker, o, 1000, NULL), 1);
	assert_int_equal(store_flush(f->store), 0);
	assert_int_equal(tracker_new(f->store, "us-east-1", 0, sinks_cb, NULL, &other), 0);
	assert_int_equal(tracker_add(other, ARN, "api", NULL), 1);
	assert_int_equal(tracker_observe(other, o, 2000, NULL), 0);
	tracker_get_stats(other, &st);
	assert_int_equal(st.duplicate_events, 1);
	assert_int_equal(store_flush(f->store), 0);
	assert_int_equal(store_count_events(f->store, EVENT_TYPE_INVALID, &n), 0);
	assert_int_equal(n, 1);
	tracker_free(other);
	job_observation_free(o);
}

static void test_watch_unwatch(void **state)
{
	struct fixture *f = *state;
	struct tracked_job *j = NULL;
	struct tracker_stats st;

	assert_int_equal(tracker_add(f->tracker, ARN, "config", &j), 0); /* idempotent */
	assert_true(j->watched);
	assert_int_equal(tracker_unwatch(f->tracker, ARN), 0);
	assert_false(j->watched);
	assert_int_equal(tracker_unwatch(f->tracker, "arn:nope"), -ENOENT);
	tracker_get_stats(f->tracker, &st);
	assert_int_equal(st.watched, 0);
	assert_int_equal(tracker_add(f->tracker, ARN, "discover:fleet", NULL), 0);
	assert_true(j->watched);
	assert_string_equal(j->source, "discover:fleet");
	/* The flag and the source survive a restart. */
	fixture_stop(f);
	assert_int_equal(store_open(dbpath, &f->store), 0);
	assert_int_equal(tracker_new(f->store, "us-east-1", 0, NULL, NULL, &f->tracker), 0);
	assert_int_equal(tracker_load(f->tracker), 0);
	j = tracker_find(f->tracker, ARN);
	assert_non_null(j);
	assert_true(j->watched);
	assert_string_equal(j->source, "discover:fleet");
	assert_int_equal(j->status, JOB_STATUS_INVALID);
}

/* Forgetting removes the job from the table and the store, keeps the
 * others findable in insertion order (the index is rebuilt), and a restart
 * does not bring it back. */
static void test_forget(void **state)
{
	struct fixture *f = *state;
	char arn[256];
	struct tracker_stats st;

	for (int i = 0; i < 50; i++) {
		snprintf(arn, sizeof(arn), ARN "-%d", i);
		assert_int_equal(tracker_add(f->tracker, arn, "api", NULL), 1);
	}
	assert_int_equal(store_flush(f->store), 0);
	assert_int_equal(tracker_forget(f->tracker, ARN "-7"), 0);
	assert_int_equal(tracker_forget(f->tracker, ARN "-7"), -ENOENT);
	assert_int_equal(tracker_forget(f->tracker, "arn:nope"), -ENOENT);
	assert_null(tracker_find(f->tracker, ARN "-7"));
	assert_int_equal(tracker_size(f->tracker), 50); /* ARN and 49 others */
	for (int i = 0; i < 50; i++) {
		snprintf(arn, sizeof(arn), ARN "-%d", i);
		if (i != 7)
			assert_non_null(tracker_find(f->tracker, arn));
	}
	assert_string_equal(tracker_job_at(f->tracker, 7)->arn, ARN "-6");
	assert_string_equal(tracker_job_at(f->tracker, 8)->arn, ARN "-8");
	tracker_get_stats(f->tracker, &st);
	assert_int_equal(st.watched, 50);
	assert_int_equal(store_flush(f->store), 0);
	fixture_stop(f);
	assert_int_equal(store_open(dbpath, &f->store), 0);
	assert_int_equal(tracker_new(f->store, "us-east-1", 0, NULL, NULL, &f->tracker), 0);
	assert_int_equal(tracker_load(f->tracker), 0);
	assert_null(tracker_find(f->tracker, ARN "-7"));
	assert_non_null(tracker_find(f->tracker, ARN "-8"));
	assert_int_equal(tracker_size(f->tracker), 50);
}

static void test_100k_jobs(void **state)
{
	struct tracker *t = NULL;
	char arn[128];
	struct tracker_stats st;

	/* Memory per job stays small: the struct, not counting strings. */
	assert_true(sizeof(struct tracked_job) < 300);
	assert_int_equal(tracker_new(NULL, "us-east-1", 0, NULL, NULL, &t), 0);
	for (int i = 0; i < 100000; i++) {
		snprintf(arn, sizeof(arn),
			 "arn:aws:cleanrooms-ml:us-east-1:123456789012:audience-generation-job/%08d", i);
		assert_int_equal(tracker_add(t, arn, i % 2 ? "config" : "discover:fleet", NULL), 1);
	}
	assert_int_equal(tracker_size(t), 100000);
	for (int i = 0; i < 100000; i++) {
		struct tracked_job *j;
		snprintf(arn, sizeof(arn),
			 "arn:aws:cleanrooms-ml:us-east-1:123456789012:audience-generation-job/%08d", i);
		j = tracker_find(t, arn);
		if (!j || strcmp(j->arn, arn) != 0)
			fail_msg("job %d not found", i);
		assert_ptr_equal(tracker_job_at(t, (size_t)i), j);
		assert_ptr_equal(tracker_job_from_sched(&j->sched), j);
	}
	assert_null(
	    tracker_find(t, "arn:aws:cleanrooms-ml:us-east-1:123456789012:audience-generation-job/x"));
	tracker_get_stats(t, &st);
	assert_int_equal(st.jobs, 100000);
	assert_int_equal(st.watched, 100000);
	tracker_free(t);
}

static void test_invalid_input(void **state)
{
	struct fixture *f = *state;
	struct job_observation *o = obs_new(JOB_STATUS_INVALID, 1000, NULL, false);

	assert_int_equal(tracker_observe(f->tracker, o, 1000, NULL), -EINVAL);
	free(o->arn);
	o->arn = strdup("arn:not-tracked");
	o->status = JOB_STATUS_ACTIVE;
	assert_int_equal(tracker_observe(f->tracker, o, 1000, NULL), -ENOENT);
	assert_int_equal(tracker_add(f->tracker, "", "config", NULL), -EINVAL);
	assert_int_equal(f->n_seen, 0);
	job_observation_free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_to_active, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_failed_with_details, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_first_sight_not_initial, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete_path_and_gone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gone_never_seen_is_not_an_event, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_out_of_order_ignored, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stuck_once_per_stay, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_first_sight_already_stuck, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stuck_on_monotonic_clock, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_poll_failures_never_events, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unchanged_polls_batched, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refreshed_by_list, setup, teardown),
	    cmocka_unit_test(test_gone_rule),
	    cmocka_unit_test(test_gone_confirm_delay),
	    cmocka_unit_test_setup_teardown(test_not_found_applies_rule, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_same_transition_twice_stored_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_watch_unwatch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_forget, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_found_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_input, setup, teardown),
	    cmocka_unit_test(test_100k_jobs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
