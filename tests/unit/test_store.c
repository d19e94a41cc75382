/* store: schema and migrations, the one-daemon lock, the outbox (dedup,
 * per-sink order, retry, park, trim, backlog), batches that survive a
 * failed commit, and the payload round trip.  Real SQLite files in a
 * temp directory (jwt_tmpdir). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "jwtest.h"
#include "event.h"
#include "model.h"
#include "store.h"
#include "util.h"

#define ARN_FMT "arn:aws:cleanrooms-ml:us-east-1:123456789012:audience-generation-job/job-%04d"

static char tmpdir[64];
static char dbpath[128];

static int setup(void **state)
{
	jwt_tmpdir("store", tmpdir, sizeof(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/state.db", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	jwt_rmtree(tmpdir);
	return 0;
}

static char *xstrdup(const char *s)
{
	char *c = strdup(s);
	assert_non_null(c);
	return c;
}

static struct job_observation *make_obs(int n, enum job_status status, int64_t update_time_ms)
{
	struct job_observation *o = job_observation_new();
	char arn[160];

	assert_non_null(o);
	snprintf(arn, sizeof(arn), ARN_FMT, n);
	o->arn = xstrdup(arn);
	o->name = xstrdup("job");
	o->status = status;
	o->create_time_ms = 1700000000000;
	o->update_time_ms = update_time_ms;
	return o;
}

static struct event *make_event(int n, enum event_type type, enum job_status prev, enum job_status status,
				int64_t update_time_ms)
{
	struct event *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	e->type = type;
	e->previous_status = prev;
	e->status = status;
	e->detected_ms = 1700000001000;
	e->region = xstrdup("us-east-1");
	e->job = make_obs(n, status, update_time_ms);
	event_compute_id(e->job->arn, prev, status, update_time_ms, type, e->id);
	return e;
}

static const char *const two_sinks[] = {"journal", "webhook:ops", NULL};

/* Adds n events (job i: CREATE_PENDING → CREATE_IN_PROGRESS at time base+i)
 * and returns the first seq. */
static int64_t add_events(struct store *s, int first, int n, const char *const *sinks)
{
	int64_t first_seq = 0;

	for (int i = first; i < first + n; i++) {
		struct event *e = make_event(i, EVENT_JOB_STATUS_CHANGED, JOB_STATUS_CREATE_PENDING,
					     JOB_STATUS_CREATE_IN_PROGRESS, 1700000000000 + i);
		assert_int_equal(store_add_event(s, e, sinks), STORE_EVENT_ADDED);
		assert_true(e->seq > 0);
		if (!first_seq)
			first_seq = e->seq;
		event_free(e);
	}
	return first_seq;
}

static int64_t pragma_user_version(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

struct loaded {
	int n;
	char arn[200];
	enum job_status status;
	int64_t update_time_ms, polls, not_found_ms;
	bool watched, list_only;
	char source[64];
	char status_code[64];
};

static int load_cb(const struct store_job *j, void *userdata)
{
	struct loaded *l = userdata;
	l->n++;
	snprintf(l->arn, sizeof(l->arn), "%s", j->arn);
	l->status = j->status;
	l->update_time_ms = j->update_time_ms;
	l->polls = j->polls;
	l->not_found_ms = j->not_found_ms;
	l->watched = j->watched;
	l->list_only = j->list_only;
	snprintf(l->source, sizeof(l->source), "%s", j->source ? j->source : "");
	snprintf(l->status_code, sizeof(l->status_code), "%s", j->status_code ? j->status_code : "");
	return 0;
}

static void test_schema_and_reopen(void **state)
{
	struct store *s = NULL;
	struct store_job row = {
	    .arn = "arn:aws:cleanrooms-ml:us-east-1:123456789012:audience-generation-job/a",
	    .name = "a",
	    .status = JOB_STATUS_CREATE_FAILED,
	    .status_code = "INTERNAL_ERROR",
	    .update_time_ms = 1234,
	    .polls = 7,
	    .not_found_ms = 5678,
	    .list_only = true,
	    .watched = true,
	    .source = "discover:fleet",
	};
	struct loaded l = {0};
	int64_t count = -1;

	assert_int_equal(store_open(dbpath, &s), 0);
	assert_int_equal(store_put_job(s, &row), 0);
	add_events(s, 1, 1, two_sinks);
	assert_int_equal(store_flush(s), 0);
	s = store_close(s);
	assert_int_equal(pragma_user_version(dbpath), 5);

	/* Reopening runs no migration again and keeps everything. */
	assert_int_equal(store_open(dbpath, &s), 0);
	assert_int_equal(store_load_jobs(s, load_cb, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.arn, row.arn);
	assert_int_equal(l.status, JOB_STATUS_CREATE_FAILED);
	assert_int_equal(l.update_time_ms, 1234);
	assert_int_equal(l.polls, 7);
	assert_int_equal(l.not_found_ms, 5678);
	assert_true(l.list_only);
	assert_true(l.watched);
	assert_string_equal(l.source, "discover:fleet");
	assert_string_equal(l.status_code, "INTERNAL_ERROR");
	assert_int_equal(store_count_events(s, EVENT_TYPE_INVALID, &count), 0);
	assert_int_equal(count, 1);

	/* An upsert replaces the row. */
	row.status = JOB_STATUS_ACTIVE;
	row.status_code = NULL;
	row.watched = false;
	assert_int_equal(store_put_job(s, &row), 0);
	assert_int_equal(store_flush(s), 0);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_load_jobs(s, load_cb, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.status, JOB_STATUS_ACTIVE);
	assert_false(l.watched);
	assert_string_equal(l.status_code, "");
	assert_int_equal(store_integrity_check(s, NULL), 0);

	/* A status this version does not know is stored by name and comes
	 * back as the same status. */
	row.status = job_status_from_api("PAUSED_FOR_REVIEW");
	assert_true(job_status_is_unknown(row.status));
	assert_int_equal(store_put_job(s, &row), 0);
	assert_int_equal(store_flush(s), 0);
	store_close(s);
	assert_int_equal(store_open(dbpath, &s), 0);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_load_jobs(s, load_cb, &l), 0);
	assert_int_equal(l.status, row.status);
	assert_string_equal(job_status_to_string(l.status), "PAUSED_FOR_REVIEW");
	store_close(s);
	assert_int_equal(pragma_user_version(dbpath), 5);
}

/* Payloads written before the client dropped the sensitive sqlParameters
 * lose them when the file is opened by this version (migration v3), and the
 * text is not left in the file's free space either. */
static void test_migration_scrubs_sensitive(void **state)
{
	static const char marker[] = "JW-SCRUB-MARKER-91ab";
	struct store *s = NULL;
	sqlite3 *db;
	char sql[1024], *buf;
	size_t n;
	FILE *f;

	assert_int_equal(store_open(dbpath, &s), 0);
	add_events(s, 1, 1, two_sinks);
	assert_int_equal(store_flush(s), 0);
	s = store_close(s);
	assert_int_equal(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	snprintf(
	    sql, sizeof(sql),
	    /* A long query, as real ones are: it spills into overflow pages,
	     * which the scrub frees. */
	    "UPDATE events SET payload = '{\"name\":\"j\",\"seedAudience\":{\"roleArn\":\"r\","
	    "\"sqlParameters\":{\"queryString\":\"SELECT ' || replace(hex(zeroblob(6000)), '0', '%s ') || "
	    "'\",\"parameters\":{\"p\":\"%s\"}}}}';"
	    /* Back to a v2 file: without v4's and v5's columns. */
	    "ALTER TABLE jobs DROP COLUMN not_found_ms;"
	    "ALTER TABLE jobs DROP COLUMN list_only;"
	    "PRAGMA user_version = 2;",
	    marker, marker);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(store_open(dbpath, &s), 0);
	s = store_close(s);
	assert_int_equal(pragma_user_version(dbpath), 5);
	assert_int_equal(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	{
		sqlite3_stmt *st;
		assert_int_equal(sqlite3_prepare_v2(db, "SELECT payload FROM events", -1, &st, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0),
				    "{\"name\":\"j\",\"seedAudience\":{\"roleArn\":\"r\"}}");
		sqlite3_finalize(st);
	}
	assert_int_equal(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	f = fopen(dbpath, "rbe");
	assert_non_null(f);
	buf = malloc(8 << 20);
	n = fread(buf, 1, 8 << 20, f);
	fclose(f);
	assert_null(memmem(buf, n, marker, strlen(marker)));
	free(buf);
}

static void test_lock(void **state)
{
	struct store *a = NULL, *b = NULL;

	assert_int_equal(store_open(dbpath, &a), 0);
	assert_int_equal(store_open(dbpath, &b), -EBUSY);
	assert_null(b);
	a = store_close(a);
	assert_int_equal(store_open(dbpath, &b), 0);
	store_close(b);
}

static void test_duplicate_event(void **state)
{
	struct store *s = NULL;
	struct event *e =
	    make_event(1, EVENT_JOB_DISCOVERED, JOB_STATUS_INVALID, JOB_STATUS_CREATE_PENDING, 1000);
	int64_t seq, count = 0, backlog = 0;

	assert_int_equal(store_open(dbpath, &s), 0);
	assert_int_equal(store_event_exists(s, e->id), 0);
	assert_int_equal(store_add_event(s, e, two_sinks), STORE_EVENT_ADDED);
	seq = e->seq;
	/* Within the same batch ... */
	e->seq = 0;
	assert_int_equal(store_add_event(s, e, two_sinks), STORE_EVENT_DUPLICATE);
	assert_int_equal(e->seq, seq);
	assert_int_equal(store_event_exists(s, e->id), 1);
	assert_int_equal(store_flush(s), 0);
	/* ... and after a restart. */
	s = store_close(s);
	assert_int_equal(store_open(dbpath, &s), 0);
	e->seq = 0;
	assert_int_equal(store_add_event(s, e, two_sinks), STORE_EVENT_DUPLICATE);
	assert_int_equal(e->seq, seq);
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(store_count_events(s, EVENT_TYPE_INVALID, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(store_count_events(s, EVENT_JOB_DISCOVERED, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(store_count_events(s, EVENT_JOB_GONE, &count), 0);
	assert_int_equal(count, 0);
	assert_int_equal(store_delivery_backlog(s, "journal", &backlog), 0);
	assert_int_equal(backlog, 1);
	event_free(e);
	store_close(s);
}

static void expect_next(struct store *s, const char *sink, int64_t now, int64_t want_seq,
			unsigned want_attempts)
{
	struct event *e = NULL;
	unsigned attempts = 99;
	int64_t due = 0;
	int r = store_delivery_next(s, sink, now, &e, &attempts, &due);

	if (want_seq == 0) {
		if (r != 0)
			fail_msg("%s: expected nothing due, got seq %lld", sink,
				 e ? (long long)e->seq : -1LL);
		assert_null(e);
		return;
	}
	if (r != 1)
		fail_msg("%s: expected seq %lld, got r=%d", sink, (long long)want_seq, r);
	assert_int_equal(e->seq, want_seq);
	assert_int_equal(attempts, want_attempts);
	event_free(e);
}

static void test_delivery_order_per_sink(void **state)
{
	struct store *s = NULL;
	struct event *e = NULL;
	int64_t first, due = 0;

	assert_int_equal(store_open(dbpath, &s), 0);
	first = add_events(s, 1, 3, two_sinks);
	/* Nothing is handed out before the batch is committed. */
	assert_int_equal(store_delivery_next(s, "journal", 0, &e, NULL, &due), 0);
	assert_int_equal(due, -1);
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(store_committed_seq(s), first + 2);

	assert_int_equal(store_delivery_next(s, "journal", 0, &e, NULL, NULL), 1);
	assert_int_equal(e->seq, first);
	assert_int_equal(e->type, EVENT_JOB_STATUS_CHANGED);
	assert_int_equal(e->previous_status, JOB_STATUS_CREATE_PENDING);
	assert_int_equal(e->status, JOB_STATUS_CREATE_IN_PROGRESS);
	assert_string_equal(e->region, "us-east-1");
	assert_int_equal(e->detected_ms, 1700000001000);
	assert_non_null(e->job);
	assert_string_equal(e->job->name, "job");
	assert_int_equal(e->job->update_time_ms, 1700000000001);
	assert_int_equal(e->job->status, JOB_STATUS_CREATE_IN_PROGRESS);
	e = event_free(e);

	/* Sinks are independent; done moves one sink on. */
	assert_int_equal(store_delivery_done(s, "journal", first), 0);
	expect_next(s, "journal", 0, first + 1, 0);
	expect_next(s, "webhook:ops", 0, first, 0);
	expect_next(s, "webhook:other", 0, 0, 0);
	assert_int_equal(store_delivery_done(s, "journal", first + 1), 0);
	assert_int_equal(store_delivery_done(s, "journal", first + 2), 0);
	expect_next(s, "journal", 0, 0, 0);
	assert_int_equal(store_flush(s), 0);
	s = store_close(s);
	assert_int_equal(store_open(dbpath, &s), 0);
	expect_next(s, "journal", 0, 0, 0);
	expect_next(s, "webhook:ops", 0, first, 0);
	store_close(s);
}

static void test_retry_park_backlog(void **state)
{
	struct store *s = NULL;
	struct event *e = NULL;
	int64_t first, due = 0, n = 0;
	const int64_t now = 1700000100000;

	assert_int_equal(store_open(dbpath, &s), 0);
	first = add_events(s, 1, 3, two_sinks);
	assert_int_equal(store_flush(s), 0);

	/* Head of line: while the oldest waits for its retry time, nothing
	 * behind it is handed out (a receiver sees events in order), and the
	 * due time reported is the head's. */
	assert_int_equal(store_delivery_retry(s, "webhook:ops", first, 1, now + 5000, "HTTP 503"), 0);
	assert_int_equal(store_delivery_next(s, "webhook:ops", now, &e, NULL, &due), 0);
	assert_null(e);
	assert_int_equal(due, now + 5000);
	expect_next(s, "webhook:ops", now + 5000, first, 1);
	expect_next(s, "journal", now, first, 0);
	/* Once the head is done, the next one goes. */
	assert_int_equal(store_delivery_done(s, "webhook:ops", first), 0);
	expect_next(s, "webhook:ops", now, first + 1, 0);
	assert_int_equal(store_delivery_done(s, "webhook:ops", first + 1), 0);
	assert_int_equal(store_delivery_retry(s, "webhook:ops", first + 2, 2, now + 9000, "timeout"), 0);
	assert_int_equal(store_delivery_next(s, "webhook:ops", now, &e, NULL, &due), 0);
	assert_int_equal(due, now + 9000);

	assert_int_equal(store_delivery_backlog(s, "webhook:ops", &n), 0);
	assert_int_equal(n, 1);
	/* A parked head no longer blocks: the line moves on. */
	assert_int_equal(store_delivery_park(s, "webhook:ops", first + 2, "HTTP 400"), 0);
	assert_int_equal(store_delivery_backlog(s, "webhook:ops", &n), 0);
	assert_int_equal(n, 0);
	expect_next(s, "webhook:ops", now + 9000, 0, 0);
	assert_int_equal(store_count_deliveries(s, "webhook:ops", "parked", &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_count_deliveries(s, "webhook:ops", "done", &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_count_deliveries(s, NULL, "pending", &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(store_flush(s), 0);
	store_close(s);
}

struct scan_seen {
	int64_t seq[16];
	int64_t next_at[16];
	unsigned attempts[16];
	char arn[16][160];
	size_t n;
	size_t stop_after; /* 0 = never */
};

static int scan_collect(void *userdata, const struct store_delivery_row *row)
{
	struct scan_seen *c = userdata;

	assert_true(c->n < 16);
	assert_false(row->hidden);
	c->seq[c->n] = row->seq;
	c->next_at[c->n] = row->next_at_ms;
	c->attempts[c->n] = row->attempts;
	snprintf(c->arn[c->n], sizeof(c->arn[c->n]), "%s", row->arn);
	c->n++;
	return c->stop_after && c->n >= c->stop_after ? 1 : 0;
}

/* The webhook sinks' view of the outbox: every pending delivery in seq
 * order (due or not, with its job), a delivery loaded by seq, "retry now",
 * the retrying count and the oldest pending age. */
static void test_scan_release(void **state)
{
	struct store *s = NULL;
	struct scan_seen c = {0};
	struct event *e = NULL;
	unsigned attempts = 0;
	int64_t first, n = -1, oldest = 0;
	const int64_t now = 1700000100000;
	char arn2[160];

	assert_int_equal(store_open(dbpath, &s), 0);
	assert_int_equal(store_delivery_oldest_pending(s, "webhook:ops", &oldest), 0);
	assert_int_equal(oldest, -1);
	first = add_events(s, 1, 4, two_sinks);
	/* Not committed yet: not handed out. */
	assert_int_equal(store_delivery_scan(s, "webhook:ops", 100, scan_collect, &c), 0);
	assert_int_equal(c.n, 0);
	assert_int_equal(store_flush(s), 0);

	assert_int_equal(store_delivery_retry(s, "webhook:ops", first, 3, now + 60000, "HTTP 503"), 0);
	assert_int_equal(store_delivery_park(s, "webhook:ops", first + 3, "HTTP 400"), 0);
	assert_int_equal(store_delivery_scan(s, "webhook:ops", 100, scan_collect, &c), 0);
	assert_int_equal(c.n, 3); /* the parked one is not pending */
	assert_int_equal(c.seq[0], first);
	assert_int_equal(c.next_at[0], now + 60000);
	assert_int_equal(c.attempts[0], 3);
	assert_int_equal(c.seq[1], first + 1);
	assert_int_equal(c.next_at[1], 0);
	assert_int_equal(c.seq[2], first + 2);
	snprintf(arn2, sizeof(arn2), ARN_FMT, 2);
	assert_string_equal(c.arn[1], arn2);
	/* The limit and a callback that stops. */
	c = (struct scan_seen){.stop_after = 1};
	assert_int_equal(store_delivery_scan(s, "webhook:ops", 100, scan_collect, &c), 0);
	assert_int_equal(c.n, 1);
	c = (struct scan_seen){0};
	assert_int_equal(store_delivery_scan(s, "webhook:ops", 2, scan_collect, &c), 0);
	assert_int_equal(c.n, 2);

	assert_int_equal(store_delivery_load(s, "webhook:ops", first + 1, &e, &attempts), 1);
	assert_int_equal(e->seq, first + 1);
	assert_string_equal(e->job->arn, arn2);
	assert_int_equal(attempts, 0);
	event_free(e);
	assert_int_equal(store_delivery_load(s, "webhook:ops", first + 3, &e, &attempts), 0); /* parked */
	assert_null(e);

	assert_int_equal(store_delivery_count_retrying(s, "webhook:ops", &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_delivery_oldest_pending(s, "webhook:ops", &oldest), 0);
	assert_int_equal(oldest, 1700000001000);

	/* Retry now: the waiting one is due; with parked, the parked one is
	 * pending again; the journal sink is untouched. */
	assert_int_equal(store_delivery_release(s, "webhook:ops", now, false, &n), 0);
	assert_int_equal(n, 1);
	expect_next(s, "webhook:ops", now, first, 3);
	assert_int_equal(store_delivery_release(s, "webhook:ops", now, false, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_delivery_release(s, "webhook:ops", now, true, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_count_deliveries(s, "webhook:ops", "parked", &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_delivery_backlog(s, "webhook:ops", &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(store_delivery_backlog(s, "journal", &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(store_flush(s), 0);
	store_close(s);
}

static void test_trim(void **state)
{
	struct store *s = NULL;
	int64_t first, dropped = -1, n = 0;

	assert_int_equal(store_open(dbpath, &s), 0);
	first = add_events(s, 1, 10, two_sinks);
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(store_delivery_trim(s, "webhook:ops", 20, &dropped), 0);
	assert_int_equal(dropped, 0);
	assert_int_equal(store_delivery_trim(s, "webhook:ops", 4, &dropped), 0);
	assert_int_equal(dropped, 6);
	assert_int_equal(store_delivery_backlog(s, "webhook:ops", &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(store_count_deliveries(s, "webhook:ops", "dropped", &n), 0);
	assert_int_equal(n, 6);
	expect_next(s, "webhook:ops", 0, first + 6, 0);
	/* Other sinks keep everything. */
	assert_int_equal(store_delivery_backlog(s, "journal", &n), 0);
	assert_int_equal(n, 10);
	assert_int_equal(store_flush(s), 0);
	store_close(s);
}

static char *big_text(size_t n, char c)
{
	char *t = malloc(n + 1);
	assert_non_null(t);
	memset(t, c, n);
	t[n] = '\0';
	return t;
}

/* A full disk while committing: nothing written in the batch is lost, and
 * nothing is handed to notifiers before it lands. */
static bool failed_commit_case(const char *path, int64_t headroom)
{
	bool first_write_ran = false;
	struct store *s = NULL;
	struct event *e = NULL;
	int64_t pages = 0, count = 0, first, n = 0;
	struct store_job row = {.arn =
				    "arn:aws:cleanrooms-ml:us-east-1:123456789012:audience-generation-job/x",
				.status = JOB_STATUS_ACTIVE,
				.watched = true,
				.source = "config"};
	int r;

	assert_int_equal(store_open(path, &s), 0);
	first = add_events(s, 1, 2, two_sinks);
	assert_int_equal(store_flush(s), 0);

	assert_int_equal(store_set_max_pages(s, 0, &pages), 0);
	assert_int_equal(store_set_max_pages(s, pages + headroom, &pages), 0);
	/* Big descriptions so the batch needs new pages. */
	for (int i = 100; i < 140; i++) {
		struct event *ev =
		    make_event(i, EVENT_JOB_DISCOVERED, JOB_STATUS_INVALID, JOB_STATUS_ACTIVE, 5000 + i);
		ev->job->description = big_text(3000, 'd');
		r = store_add_event(s, ev, two_sinks);
		assert_int_equal(r, STORE_EVENT_ADDED);
		if (i == 100)
			first_write_ran = !store_has_pending_batch(s);
		/* Adding the same id again is still recognised while broken. */
		assert_int_equal(store_add_event(s, ev, two_sinks), STORE_EVENT_DUPLICATE);
		event_free(ev);
	}
	assert_int_equal(store_put_job(s, &row), 0);
	/* A delivery acknowledged during the outage stays acknowledged. */
	assert_int_equal(store_delivery_done(s, "journal", first), 0);
	r = store_flush(s);
	assert_int_equal(r, -ENOSPC);
	assert_true(store_has_pending_batch(s));
	assert_int_equal(store_flush(s), -ENOSPC);
	expect_next(s, "journal", 0, first + 1, 0);
	assert_int_equal(store_committed_seq(s), first + 1);

	/* The disk frees up: the next flush lands the whole batch. */
	assert_int_equal(store_set_max_pages(s, 0, NULL), 0);
	assert_int_equal(store_flush(s), 0);
	assert_false(store_has_pending_batch(s));
	assert_int_equal(store_count_events(s, EVENT_TYPE_INVALID, &count), 0);
	assert_int_equal(count, 42);
	assert_int_equal(store_delivery_backlog(s, "webhook:ops", &n), 0);
	assert_int_equal(n, 42);
	assert_int_equal(store_delivery_backlog(s, "journal", &n), 0);
	assert_int_equal(n, 41);
	s = store_close(s);

	assert_int_equal(store_open(path, &s), 0);
	assert_int_equal(store_count_events(s, EVENT_JOB_DISCOVERED, &count), 0);
	assert_int_equal(count, 40);
	expect_next(s, "journal", 0, first + 1, 0);
	assert_int_equal(store_delivery_done(s, "journal", first + 1), 0);
	assert_int_equal(store_delivery_next(s, "journal", 0, &e, NULL, NULL), 1);
	assert_non_null(e->job->description);
	assert_int_equal(strlen(e->job->description), 3000);
	event_free(e);
	{
		struct loaded l = {0};
		assert_int_equal(store_load_jobs(s, load_cb, &l), 0);
		assert_int_equal(l.n, 1);
	}
	assert_int_equal(store_integrity_check(s, NULL), 0);
	store_close(s);
	return first_write_ran;
}

static void test_batch_survives_failed_commit(void **state)
{
	static const int64_t headrooms[] = {0, 1, 2, 3, 5, 8, 13, 20};
	char path[160];
	size_t ran = 0;

	for (size_t i = 0; i < ELEMENTSOF(headrooms); i++) {
		bool first_write_ran;
		snprintf(path, sizeof(path), "%s/full-%lld.db", tmpdir, (long long)headrooms[i]);
		first_write_ran = failed_commit_case(path, headrooms[i]);
		/* No headroom: the very first write fails.  With some, writes ran
		 * inside the transaction before the disk filled up, and they must
		 * be replayed too. */
		if (headrooms[i] == 0)
			assert_false(first_write_ran);
		ran += first_write_ran;
	}
	assert_true(ran >= 3);
}

static char **pairs(const char *a, const char *b, const char *c, const char *d)
{
	char **v = calloc(4, sizeof(char *));
	assert_non_null(v);
	v[0] = xstrdup(a);
	v[1] = xstrdup(b);
	v[2] = c ? xstrdup(c) : NULL;
	v[3] = d ? xstrdup(d) : NULL;
	return v;
}

#define assert_str_eq_or_null(a, b)                                                                         \
	do {                                                                                                \
		if ((a) || (b)) {                                                                           \
			assert_non_null(a);                                                                 \
			assert_non_null(b);                                                                 \
			assert_string_equal(a, b);                                                          \
		}                                                                                           \
	} while (0)

/* Every field job_observation_to_json() writes comes back. */
static void test_payload_round_trip(void **state)
{
	struct job_observation *o = make_obs(7, JOB_STATUS_CREATE_FAILED, 1700000123456), *p = NULL;
	char *json, *json2;

	o->description = xstrdup("desc \"quoted\" ü");
	o->status_code = xstrdup("INSUFFICIENT_DATA");
	o->status_message = xstrdup("seed too small");
	o->configured_audience_model_arn =
	    xstrdup("arn:aws:cleanrooms-ml:us-east-1:123456789012:configured-audience-model/m");
	o->collaboration_id = xstrdup("11111111-2222-3333-4444-555555555555");
	o->started_by = xstrdup("arn:aws:iam::123456789012:role/x");
	o->protected_query_identifier = xstrdup("pq-1");
	o->has_include_seed_in_output = true;
	o->include_seed_in_output = false;
	o->has_seed_audience = true;
	o->seed_s3_uri = xstrdup("s3://bucket/seed.csv");
	o->seed_role_arn = xstrdup("arn:aws:iam::123456789012:role/seed");
	o->seed_sql_query_string = xstrdup("SELECT 1");
	o->seed_sql_analysis_template_arn = xstrdup("arn:tmpl");
	o->n_seed_sql_parameters = 2;
	o->seed_sql_parameters = pairs("k1", "v1", "k2", "v2");
	o->has_seed_worker = true;
	o->seed_worker_type = xstrdup("CR.1X");
	o->has_seed_worker_number = true;
	o->seed_worker_number = 16;
	o->has_seed_worker_properties = true;
	o->has_seed_spark = true;
	o->n_seed_spark = 1;
	o->seed_spark = pairs("spark.executor.cores", "4", NULL, NULL);
	o->has_metrics = true;
	o->n_relevance_metrics = 2;
	o->relevance_metrics = calloc(2, sizeof(struct relevance_metric));
	assert_non_null(o->relevance_metrics);
	o->relevance_metrics[0] = (struct relevance_metric){xstrdup("ABSOLUTE"), 100000, 0.75, true};
	o->relevance_metrics[1] = (struct relevance_metric){xstrdup("PERCENTAGE"), 20, 0, false};
	o->has_recall_metric = true;
	o->recall_metric = 0.5;
	o->n_tags = 1;
	o->tags = pairs("team", "ads", NULL, NULL);

	json = job_observation_to_json(o);
	assert_non_null(json);
	assert_int_equal(job_observation_from_json_blob(json, &p), 0);
	assert_str_eq_or_null(p->arn, o->arn);
	assert_str_eq_or_null(p->name, o->name);
	assert_str_eq_or_null(p->description, o->description);
	assert_int_equal(p->status, o->status);
	assert_str_eq_or_null(p->status_code, o->status_code);
	assert_str_eq_or_null(p->status_message, o->status_message);
	assert_str_eq_or_null(p->configured_audience_model_arn, o->configured_audience_model_arn);
	assert_str_eq_or_null(p->collaboration_id, o->collaboration_id);
	assert_str_eq_or_null(p->started_by, o->started_by);
	assert_str_eq_or_null(p->protected_query_identifier, o->protected_query_identifier);
	assert_int_equal(p->create_time_ms, o->create_time_ms);
	assert_int_equal(p->update_time_ms, o->update_time_ms);
	assert_true(p->has_include_seed_in_output);
	assert_false(p->include_seed_in_output);
	assert_true(p->has_seed_audience);
	assert_str_eq_or_null(p->seed_s3_uri, o->seed_s3_uri);
	assert_str_eq_or_null(p->seed_role_arn, o->seed_role_arn);
	/* A payload written before redaction existed still holds the
	 * sensitive sqlParameters: they are not read back, so never sent. */
	assert_null(p->seed_sql_query_string);
	assert_null(p->seed_sql_analysis_template_arn);
	assert_int_equal(p->n_seed_sql_parameters, 0);
	assert_str_eq_or_null(p->seed_worker_type, o->seed_worker_type);
	assert_true(p->has_seed_worker_number);
	assert_int_equal(p->seed_worker_number, 16);
	assert_int_equal(p->n_seed_spark, 1);
	assert_string_equal(p->seed_spark[1], "4");
	assert_true(p->has_metrics);
	assert_int_equal(p->n_relevance_metrics, 2);
	assert_string_equal(p->relevance_metrics[0].audience_size_type, "ABSOLUTE");
	assert_int_equal(p->relevance_metrics[0].audience_size_value, 100000);
	assert_true(p->relevance_metrics[0].has_score);
	assert_true(p->relevance_metrics[0].score == 0.75);
	assert_false(p->relevance_metrics[1].has_score);
	assert_int_equal(p->relevance_metrics[1].audience_size_value, 20);
	assert_true(p->has_recall_metric);
	assert_true(p->recall_metric == 0.5);
	assert_int_equal(p->n_tags, 1);
	assert_string_equal(p->tags[0], "team");
	assert_string_equal(p->tags[1], "ads");
	/* And the round trip is a fixed point (once redacted). */
	job_observation_redact(o);
	free(json);
	json = job_observation_to_json(o);
	json2 = job_observation_to_json(p);
	assert_string_equal(json, json2);
	free(json);
	free(json2);
	job_observation_free(p);

	/* job.gone payloads carry our own GONE status. */
	o->status = JOB_STATUS_GONE;
	json = job_observation_to_json(o);
	assert_int_equal(job_observation_from_json_blob(json, &p), 0);
	assert_int_equal(p->status, JOB_STATUS_GONE);
	free(json);
	job_observation_free(p);
	job_observation_free(o);

	assert_int_equal(job_observation_from_json_blob("[1,2]", &p), -EBADMSG);
	assert_int_equal(job_observation_from_json_blob("{\"updateTime\":\"yesterday\"}", &p), -EBADMSG);
	assert_int_equal(job_observation_from_json_blob("{not json", &p), -EBADMSG);
}

static void test_integrity_check(void **state)
{
	struct store *s = NULL;
	char *msg = NULL;

	assert_int_equal(store_open(dbpath, &s), 0);
	add_events(s, 1, 50, two_sinks);
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(store_integrity_check(s, &msg), 0);
	assert_null(msg);
	store_close(s);

	/* Scribble over the middle of the file (the WAL was checkpointed into
	 * it on close): the check must notice, or the open must refuse. */
	{
		FILE *f = fopen(dbpath, "r+");
		char junk[2048];
		int r;

		assert_non_null(f);
		memset(junk, 0x5a, sizeof(junk));
		/* Page headers of pages 2..5: b-tree page types become junk. */
		for (long page = 1; page < 5; page++) {
			assert_int_equal(fseek(f, 4096 * page, SEEK_SET), 0);
			assert_int_equal(fwrite(junk, 1, 16, f), 16);
		}
		fclose(f);
		r = store_open(dbpath, &s);
		if (r == 0) {
			r = store_integrity_check(s, &msg);
			free(msg);
			store_close(s);
		}
		assert_int_equal(r, -EBADMSG);
	}
}

/* Old events whose deliveries are all finished are pruned with them;
 * events with a pending delivery stay; seqs are never handed out again. */
static void test_prune(void **state)
{
	struct store *s = NULL;
	int64_t first, n = 0, cutoff = (int64_t)now_realtime_ms() + 1000;
	struct event *e;

	assert_int_equal(store_open(dbpath, &s), 0);
	first = add_events(s, 1, 3, two_sinks);
	assert_int_equal(store_flush(s), 0);
	/* first: delivered everywhere; first+1: one sink still pending;
	 * first+2: parked on one sink, pending on the other. */
	assert_int_equal(store_delivery_done(s, "journal", first), 0);
	assert_int_equal(store_delivery_done(s, "webhook:ops", first), 0);
	assert_int_equal(store_delivery_done(s, "journal", first + 1), 0);
	assert_int_equal(store_delivery_park(s, "journal", first + 2, "x"), 0);
	assert_int_equal(store_flush(s), 0);

	/* Nothing is older than a cutoff in the distant past. */
	assert_int_equal(store_prune(s, 1), 0);
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(store_count_events(s, EVENT_TYPE_INVALID, &n), 0);
	assert_int_equal(n, 3);

	assert_int_equal(store_prune(s, cutoff), 0);
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(store_count_events(s, EVENT_TYPE_INVALID, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_event_exists(s, "x"), 0);
	/* Finished deliveries of old events go even where the event stays. */
	assert_int_equal(store_count_deliveries(s, NULL, "done", &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_count_deliveries(s, NULL, "parked", &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_delivery_backlog(s, "webhook:ops", &n), 0);
	assert_int_equal(n, 2);

	/* Reopened, the next event does not reuse the pruned seq. */
	s = store_close(s);
	assert_int_equal(store_open(dbpath, &s), 0);
	e = make_event(9, EVENT_JOB_STATUS_CHANGED, JOB_STATUS_CREATE_PENDING, JOB_STATUS_ACTIVE,
		       1700000009000);
	assert_int_equal(store_add_event(s, e, two_sinks), STORE_EVENT_ADDED);
	assert_true(e->seq > first + 2);
	event_free(e);
	assert_int_equal(store_flush(s), 0);
	store_close(s);
}

/* A job's history: its events only, newest first, with the status details
 * of each event's observation and every sink's delivery state; limit and
 * total; an unknown job has none. */
static void test_job_history(void **state)
{
	static const char *const one_sink[] = {"journal", NULL};
	struct store_history_event *h = NULL;
	struct store *s = NULL;
	struct event *e[3];
	int64_t total = -1;
	size_t n = 0;

	assert_int_equal(store_open(dbpath, &s), 0);
	e[0] = make_event(1, EVENT_JOB_DISCOVERED, JOB_STATUS_INVALID, JOB_STATUS_CREATE_PENDING,
			  1700000001000);
	e[1] = make_event(2, EVENT_JOB_DISCOVERED, JOB_STATUS_INVALID, JOB_STATUS_ACTIVE, 1700000001500);
	e[2] = make_event(1, EVENT_JOB_STATUS_CHANGED, JOB_STATUS_CREATE_PENDING, JOB_STATUS_CREATE_FAILED,
			  1700000002000);
	e[2]->job->status_code = xstrdup("INTERNAL_ERROR");
	e[2]->job->status_message = xstrdup("seed audience too small");
	e[2]->detected_ms = 1700000003000;
	for (size_t i = 0; i < ELEMENTSOF(e); i++)
		assert_int_equal(store_add_event(s, e[i], i == 1 ? one_sink : two_sinks), STORE_EVENT_ADDED);
	assert_int_equal(store_flush(s), 0);
	assert_int_equal(store_delivery_done(s, "journal", e[0]->seq), 0);
	assert_int_equal(store_delivery_retry(s, "webhook:ops", e[0]->seq, 2, 1700000009000, "HTTP 503"), 0);
	assert_int_equal(store_delivery_park(s, "webhook:ops", e[2]->seq, "HTTP 400"), 0);
	assert_int_equal(store_flush(s), 0);

	assert_int_equal(store_job_history(s, e[0]->job->arn, 10, &h, &n, &total), 0);
	assert_int_equal(n, 2);
	assert_int_equal(total, 2);
	assert_int_equal(h[0].seq, e[2]->seq);
	assert_string_equal(h[0].id, e[2]->id);
	assert_string_equal(h[0].type, "job.status_changed");
	assert_string_equal(h[0].previous_status, "CREATE_PENDING");
	assert_string_equal(h[0].status, "CREATE_FAILED");
	assert_string_equal(h[0].status_code, "INTERNAL_ERROR");
	assert_string_equal(h[0].status_message, "seed audience too small");
	assert_int_equal(h[0].update_time_ms, 1700000002000);
	assert_int_equal(h[0].detected_ms, 1700000003000);
	assert_int_equal(h[0].n_deliveries, 2);
	assert_string_equal(h[0].deliveries[0].sink, "journal");
	assert_string_equal(h[0].deliveries[0].state, "pending");
	assert_string_equal(h[0].deliveries[1].sink, "webhook:ops");
	assert_string_equal(h[0].deliveries[1].state, "parked");
	assert_string_equal(h[0].deliveries[1].last_error, "HTTP 400");
	assert_int_equal(h[1].seq, e[0]->seq);
	assert_null(h[1].previous_status);
	assert_null(h[1].status_code);
	assert_string_equal(h[1].deliveries[0].state, "done");
	assert_null(h[1].deliveries[0].last_error);
	assert_string_equal(h[1].deliveries[1].state, "pending");
	assert_int_equal(h[1].deliveries[1].attempts, 2);
	assert_int_equal(h[1].deliveries[1].next_at_ms, 1700000009000);
	assert_string_equal(h[1].deliveries[1].last_error, "HTTP 503");
	store_history_free(h, n);

	/* The newest only; without the total. */
	assert_int_equal(store_job_history(s, e[0]->job->arn, 1, &h, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(h[0].seq, e[2]->seq);
	store_history_free(h, n);
	/* The total only. */
	assert_int_equal(store_job_history(s, e[1]->job->arn, 0, &h, &n, &total), 0);
	assert_int_equal(n, 0);
	assert_null(h);
	assert_int_equal(total, 1);
	/* A job with no events. */
	assert_int_equal(store_job_history(s, "arn:nothing", 5, &h, &n, &total), 0);
	assert_int_equal(n, 0);
	assert_int_equal(total, 0);
	store_history_free(h, n);
	store_history_free(NULL, 0);

	for (size_t i = 0; i < ELEMENTSOF(e); i++)
		event_free(e[i]);
	store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_migration_scrubs_sensitive, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_schema_and_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_duplicate_event, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delivery_order_per_sink, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retry_park_backlog, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_scan_release, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_trim, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batch_survives_failed_commit, setup, teardown),
	    cmocka_unit_test(test_payload_round_trip),
	    cmocka_unit_test_setup_teardown(test_integrity_check, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_job_history, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
