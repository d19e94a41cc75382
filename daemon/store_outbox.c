/* The outbox: events and their per-sink deliveries.
 *
 * Only committed events are handed to store_delivery_next() (seq <=
 * committed_seq), so a notification never goes out for an event that a
 * failed commit could still lose.  While a failed batch waits for replay
 * (store->broken) the database shows only committed state; deliveries that
 * the waiting batch already marked done/retried/parked/dropped are hidden
 * from store_delivery_next() so they are not sent twice meanwhile. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_internal.h"

#define STORE_ERROR_TEXT_MAX 1024

static enum job_status status_from_db(const char *s)
{
	if (s && strcmp(s, "GONE") == 0)
		return JOB_STATUS_GONE;
	return job_status_from_api(s);
}

static struct store_value sv_text_capped(const char *s)
{
	struct store_value v = sv_text(s);
	if (v.type == STORE_TEXT && v.len > STORE_ERROR_TEXT_MAX)
		v.len = STORE_ERROR_TEXT_MAX;
	return v;
}

struct journal_find_event {
	const char *id;
	int64_t seq;
};

static int journal_find_event_cb(enum store_stmt id, const struct store_value *v, size_t n, void *userdata)
{
	struct journal_find_event *f = userdata;

	if (id == STMT_ADD_EVENT && n >= 2 && v[1].type == STORE_TEXT && v[1].len == strlen(f->id) &&
	    memcmp(v[1].text, f->id, v[1].len) == 0) {
		f->seq = v[0].i;
		return 1;
	}
	return 0;
}

/* The seq of the stored (or batched) event with this id, 0 if none. */
static int store_event_seq(struct store *s, const char *id, int64_t *ret_seq)
{
	struct store_value v = sv_text(id);
	int r = store_query_int(s, STMT_EVENT_SEQ_BY_ID, &v, 1, 0, ret_seq);

	if (r < 0 || *ret_seq > 0 || !s->broken)
		return r;
	{
		struct journal_find_event f = {.id = id};
		r = store_journal_foreach(s, journal_find_event_cb, &f);
		if (r < 0)
			return r;
		*ret_seq = f.seq;
	}
	return 0;
}

int store_event_exists(struct store *s, const char *id)
{
	int64_t seq = 0;
	int r;

	if (!s || str_empty(id))
		return -EINVAL;
	r = store_event_seq(s, id, &seq);
	return r < 0 ? r : seq > 0;
}

int store_add_event(struct store *s, struct event *e, const char *const *sinks)
{
	_cleanup_free_ char *payload = NULL;
	struct store_value v[10];
	int64_t seq = 0, now = (int64_t)now_realtime_ms();
	size_t need = 1024;
	const char *arn;
	int r;

	if (!s || !e || strlen(e->id) != EVENT_ID_LEN || !event_type_to_string(e->type))
		return -EINVAL;
	r = store_event_seq(s, e->id, &seq);
	if (r < 0)
		return r;
	if (seq > 0) {
		e->seq = seq;
		return STORE_EVENT_DUPLICATE;
	}
	if (e->job) {
		payload = job_observation_to_json(e->job);
		if (!payload)
			return -ENOMEM;
		need += strlen(payload);
	}
	for (size_t i = 0; sinks && sinks[i]; i++)
		need += strlen(sinks[i]) + 64;
	/* All or nothing: an event must not land without its deliveries. */
	if (s->journal.max - s->journal.len < need)
		return -ENOBUFS;
	arn = e->job && e->job->arn ? e->job->arn : "";
	seq = s->next_seq;
	v[0] = sv_int(seq);
	v[1] = sv_text(e->id);
	v[2] = sv_text(event_type_to_string(e->type));
	v[3] = sv_text(arn);
	v[4] = sv_text(job_status_to_string(e->previous_status));
	v[5] = sv_text(job_status_to_string(e->status));
	v[6] = sv_int(e->job ? e->job->update_time_ms : 0);
	v[7] = sv_int(e->detected_ms);
	v[8] = sv_text(e->region);
	v[9] = sv_text(payload);
	r = store_write(s, STMT_ADD_EVENT, v, ELEMENTSOF(v));
	if (r < 0)
		return r;
	s->next_seq++;
	e->seq = seq;
	for (size_t i = 0; sinks && sinks[i]; i++) {
		struct store_value d[3] = {sv_int(seq), sv_text(sinks[i]), sv_int(now)};
		r = store_write(s, STMT_ADD_DELIVERY, d, ELEMENTSOF(d));
		if (r < 0)
			return r;
	}
	return STORE_EVENT_ADDED;
}

struct journal_touch {
	const char *sink;
	size_t sink_len;
	int64_t seq;
};

static int journal_touch_cb(enum store_stmt id, const struct store_value *v, size_t n, void *userdata)
{
	struct journal_touch *t = userdata;

	switch (id) {
	case STMT_DELIVERY_DONE:
	case STMT_DELIVERY_RETRY:
	case STMT_DELIVERY_PARK:
		if (n >= 2 && v[0].i == t->seq && v[1].len == t->sink_len &&
		    memcmp(v[1].text, t->sink, t->sink_len) == 0)
			return 1;
		return 0;
	case STMT_DELIVERY_DROP_UPTO:
		if (n >= 2 && t->seq <= v[1].i && v[0].len == t->sink_len &&
		    memcmp(v[0].text, t->sink, t->sink_len) == 0)
			return 1;
		return 0;
	default:
		return 0;
	}
}

static struct job_observation *observation_minimal(const char *arn, enum job_status status,
						   int64_t update_time_ms)
{
	struct job_observation *o = job_observation_new();

	if (!o)
		return NULL;
	o->arn = strdup_or_null(arn);
	o->status = status;
	o->update_time_ms = update_time_ms;
	if (arn && !o->arn)
		return job_observation_free(o);
	return o;
}

static int event_from_row(sqlite3_stmt *st, struct event **ret)
{
	struct event *e = calloc(1, sizeof(*e));
	const char *id = (const char *)sqlite3_column_text(st, 2);
	const char *payload = (const char *)sqlite3_column_text(st, 9);
	const char *arn = (const char *)sqlite3_column_text(st, 10);
	const char *prev = (const char *)sqlite3_column_text(st, 4);
	const char *region = (const char *)sqlite3_column_text(st, 8);
	int r;

	if (!e)
		return -ENOMEM;
	e->seq = sqlite3_column_int64(st, 0);
	if (!id || strlen(id) != EVENT_ID_LEN) {
		event_free(e);
		return -EBADMSG;
	}
	memcpy(e->id, id, EVENT_ID_LEN + 1);
	e->type = event_type_from_string((const char *)sqlite3_column_text(st, 3));
	e->previous_status = prev ? status_from_db(prev) : JOB_STATUS_INVALID;
	e->status = status_from_db((const char *)sqlite3_column_text(st, 5));
	e->detected_ms = sqlite3_column_int64(st, 7);
	e->region = strdup_or_null(region);
	if (region && !e->region) {
		event_free(e);
		return -ENOMEM;
	}
	r = payload ? job_observation_from_json_blob(payload, &e->job) : -ENODATA;
	if (r < 0) {
		/* An unreadable payload must not block the sink forever: deliver
		 * what the columns know. */
		log_debug_errno(r, "store: event %lld has no readable payload", (long long)e->seq);
		e->job = observation_minimal(arn, e->status, sqlite3_column_int64(st, 6));
		if (!e->job) {
			event_free(e);
			return -ENOMEM;
		}
	}
	if (!e->job->arn && arn) {
		e->job->arn = strdup(arn);
		if (!e->job->arn) {
			event_free(e);
			return -ENOMEM;
		}
	}
	*ret = e;
	return 0;
}

int store_delivery_next(struct store *s, const char *sink, int64_t now_ms, struct event **ret,
			unsigned *ret_attempts, int64_t *ret_next_due_ms)
{
	struct store_value v[3] = {sv_text(sink), sv_int(now_ms), sv_int(s ? s->committed_seq : 0)};
	sqlite3_stmt *st;
	int rc = SQLITE_DONE, r = 0;

	if (!s || str_empty(sink) || !ret)
		return -EINVAL;
	st = store_stmt(s, STMT_DELIVERY_NEXT);
	if (!st)
		return -EIO;
	r = store_bind(st, v, ELEMENTSOF(v));
	while (r >= 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t seq = sqlite3_column_int64(st, 0);
		int64_t attempts = sqlite3_column_int64(st, 1);

		if (s->broken) {
			struct journal_touch t = {.sink = sink, .sink_len = strlen(sink), .seq = seq};
			if (store_journal_foreach(s, journal_touch_cb, &t) != 0)
				continue;
		}
		/* Head of line: the oldest pending delivery goes first.  When it
		 * waits for a retry, nothing behind it may overtake it -- not
		 * even after a restart -- so a receiver sees each job's events in
		 * order. */
		if (sqlite3_column_int64(st, 11) > now_ms) {
			if (ret_next_due_ms)
				*ret_next_due_ms = sqlite3_column_int64(st, 11);
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			*ret = NULL;
			return 0;
		}
		r = event_from_row(st, ret);
		if (r >= 0) {
			if (ret_attempts)
				*ret_attempts = attempts < 0		? 0
						: attempts > UINT32_MAX ? UINT32_MAX
									: (unsigned)attempts;
			r = 1;
		}
		break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_errno(rc);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (r != 0)
		return r;
	if (ret_next_due_ms) {
		struct store_value d[3] = {sv_text(sink), sv_int(s->committed_seq), sv_int(now_ms)};
		r = store_query_int(s, STMT_DELIVERY_NEXT_DUE, d, ELEMENTSOF(d), -1, ret_next_due_ms);
		if (r < 0)
			return r;
	}
	*ret = NULL;
	return 0;
}

/* While a failed batch waits for replay, a row that batch already marked
 * done, retried or parked is hidden so it is not sent twice meanwhile. */
static bool hidden_by_batch(struct store *s, const char *sink, int64_t seq)
{
	struct journal_touch t = {.sink = sink, .sink_len = strlen(sink), .seq = seq};

	return s->broken && store_journal_foreach(s, journal_touch_cb, &t) != 0;
}

int store_delivery_scan(struct store *s, const char *sink, size_t limit,
			int (*cb)(void *userdata, const struct store_delivery_row *row), void *userdata)
{
	struct store_value v[3] = {sv_text(sink), sv_int(s ? s->committed_seq : 0),
				   sv_int(limit > INT64_MAX ? INT64_MAX : (int64_t)limit)};
	sqlite3_stmt *st;
	int rc = SQLITE_DONE, r;

	if (!s || str_empty(sink) || !cb)
		return -EINVAL;
	st = store_stmt(s, STMT_DELIVERY_SCAN);
	if (!st)
		return -EIO;
	r = store_bind(st, v, ELEMENTSOF(v));
	while (r >= 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t attempts = sqlite3_column_int64(st, 1);
		const char *arn = (const char *)sqlite3_column_text(st, 3);
		struct store_delivery_row row = {
		    .seq = sqlite3_column_int64(st, 0),
		    .attempts = attempts < 0		? 0
				: attempts > UINT32_MAX ? UINT32_MAX
							: (unsigned)attempts,
		    .next_at_ms = sqlite3_column_int64(st, 2),
		    .arn = arn ? arn : "",
		};

		row.hidden = hidden_by_batch(s, sink, row.seq);
		r = cb(userdata, &row);
		if (r != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = store_errno(rc);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r < 0 ? r : 0;
}

int store_delivery_load(struct store *s, const char *sink, int64_t seq, struct event **ret,
			unsigned *ret_attempts)
{
	struct store_value v[3] = {sv_text(sink), sv_int(seq), sv_int(s ? s->committed_seq : 0)};
	sqlite3_stmt *st;
	int rc, r;

	if (!s || str_empty(sink) || seq <= 0 || !ret)
		return -EINVAL;
	*ret = NULL;
	if (hidden_by_batch(s, sink, seq))
		return 0;
	st = store_stmt(s, STMT_DELIVERY_LOAD);
	if (!st)
		return -EIO;
	r = store_bind(st, v, ELEMENTSOF(v));
	if (r >= 0) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			int64_t attempts = sqlite3_column_int64(st, 1);

			r = event_from_row(st, ret);
			if (r >= 0) {
				if (ret_attempts)
					*ret_attempts = attempts < 0		? 0
							: attempts > UINT32_MAX ? UINT32_MAX
										: (unsigned)attempts;
				r = 1;
			}
		} else if (rc != SQLITE_DONE) {
			r = store_errno(rc);
		}
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

int store_delivery_release(struct store *s, const char *sink, int64_t now_ms, bool parked,
			   int64_t *ret_count)
{
	struct store_value v[3] = {sv_text(sink), sv_int(now_ms), sv_int(parked ? 1 : 0)};
	int64_t n = 0;
	int r;

	if (!s || str_empty(sink))
		return -EINVAL;
	/* Counted first: a write in the batch does not report its changes. */
	r = store_query_int(s, STMT_COUNT_RELEASABLE, v, ELEMENTSOF(v), 0, &n);
	if (r >= 0 && n > 0)
		r = store_write(s, STMT_DELIVERY_RELEASE, v, ELEMENTSOF(v));
	if (r >= 0 && ret_count)
		*ret_count = n;
	return r;
}

int store_delivery_count_retrying(struct store *s, const char *sink, int64_t *ret_count)
{
	struct store_value v = sv_text(sink);

	if (!s || str_empty(sink) || !ret_count)
		return -EINVAL;
	return store_query_int(s, STMT_COUNT_RETRYING, &v, 1, 0, ret_count);
}

int store_delivery_oldest_pending(struct store *s, const char *sink, int64_t *ret_detected_ms)
{
	struct store_value v = sv_text(sink);

	if (!s || str_empty(sink) || !ret_detected_ms)
		return -EINVAL;
	return store_query_int(s, STMT_OLDEST_PENDING, &v, 1, -1, ret_detected_ms);
}

int store_delivery_done(struct store *s, const char *sink, int64_t seq)
{
	struct store_value v[3] = {sv_int(seq), sv_text(sink), sv_int((int64_t)now_realtime_ms())};

	if (!s || str_empty(sink) || seq <= 0)
		return -EINVAL;
	return store_write(s, STMT_DELIVERY_DONE, v, ELEMENTSOF(v));
}

int store_delivery_retry(struct store *s, const char *sink, int64_t seq, unsigned attempts,
			 int64_t next_at_ms, const char *last_error)
{
	struct store_value v[6] = {sv_int(seq),
				   sv_text(sink),
				   sv_int(attempts),
				   sv_int(next_at_ms),
				   sv_text_capped(last_error),
				   sv_int((int64_t)now_realtime_ms())};

	if (!s || str_empty(sink) || seq <= 0)
		return -EINVAL;
	return store_write(s, STMT_DELIVERY_RETRY, v, ELEMENTSOF(v));
}

int store_delivery_park(struct store *s, const char *sink, int64_t seq, const char *reason)
{
	struct store_value v[4] = {sv_int(seq), sv_text(sink), sv_text_capped(reason),
				   sv_int((int64_t)now_realtime_ms())};

	if (!s || str_empty(sink) || seq <= 0)
		return -EINVAL;
	return store_write(s, STMT_DELIVERY_PARK, v, ELEMENTSOF(v));
}

/* Counts reflect the database (committed state plus the open batch); while
 * a failed batch waits for replay they show committed state only. */
int store_delivery_backlog(struct store *s, const char *sink, int64_t *ret_count)
{
	struct store_value v = sv_text(sink);

	if (!s || str_empty(sink) || !ret_count)
		return -EINVAL;
	return store_query_int(s, STMT_BACKLOG, &v, 1, 0, ret_count);
}

int store_delivery_trim(struct store *s, const char *sink, int64_t max_pending, int64_t *ret_dropped)
{
	int64_t count = 0, cut = 0;
	int r;

	if (!s || str_empty(sink) || max_pending < 0)
		return -EINVAL;
	if (ret_dropped)
		*ret_dropped = 0;
	r = store_delivery_backlog(s, sink, &count);
	if (r < 0 || count <= max_pending)
		return r;
	{
		/* Journal the cut as a seq bound, not as "keep N", so a replay
		 * drops exactly the rows that were dropped now. */
		struct store_value q[2] = {sv_text(sink), sv_int(count - max_pending - 1)};
		r = store_query_int(s, STMT_TRIM_CUT, q, ELEMENTSOF(q), 0, &cut);
		if (r < 0 || cut <= 0)
			return r;
	}
	{
		struct store_value w[3] = {sv_text(sink), sv_int(cut), sv_int((int64_t)now_realtime_ms())};
		r = store_write(s, STMT_DELIVERY_DROP_UPTO, w, ELEMENTSOF(w));
		if (r < 0)
			return r;
	}
	if (ret_dropped)
		*ret_dropped = count - max_pending;
	return 0;
}

int store_count_events(struct store *s, enum event_type type, int64_t *ret_count)
{
	struct store_value v = sv_text(event_type_to_string(type));

	if (!s || !ret_count)
		return -EINVAL;
	if (type == EVENT_TYPE_INVALID)
		return store_query_int(s, STMT_COUNT_EVENTS, NULL, 0, 0, ret_count);
	if (v.type != STORE_TEXT)
		return -EINVAL;
	return store_query_int(s, STMT_COUNT_EVENTS_TYPE, &v, 1, 0, ret_count);
}

int store_count_deliveries(struct store *s, const char *sink, const char *state, int64_t *ret_count)
{
	struct store_value v[2] = {sv_text(sink), sv_text(state)};

	if (!s || str_empty(state) || !ret_count)
		return -EINVAL;
	return store_query_int(s, STMT_COUNT_DELIVERIES, v, ELEMENTSOF(v), 0, ret_count);
}

int store_prune(struct store *s, int64_t older_than_ms)
{
	struct store_value v[1] = {sv_int(older_than_ms)};
	int r;

	if (!s)
		return -EINVAL;
	r = store_write(s, STMT_PRUNE_DELIVERIES, v, ELEMENTSOF(v));
	if (r >= 0)
		r = store_write(s, STMT_PRUNE_EVENTS, v, ELEMENTSOF(v));
	return r;
}
