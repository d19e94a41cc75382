/* A job's history: its stored events, newest first, each with the state
 * of its deliveries per sink (read-only; the control API shows it). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_internal.h"

/* Sinks an event may have: the journal and every hook the api can list. */
#define STORE_HISTORY_SINKS_MAX 2048

static int dup_column(sqlite3_stmt *st, int i, char **ret)
{
	const char *t = (const char *)sqlite3_column_text(st, i);

	*ret = NULL;
	if (!t)
		return sqlite3_errcode(sqlite3_db_handle(st)) == SQLITE_NOMEM ? -ENOMEM : 0;
	*ret = strdup(t);
	return *ret ? 0 : -ENOMEM;
}

static void delivery_done(struct store_history_delivery *d)
{
	free(d->sink);
	free(d->state);
	free(d->last_error);
}

static void event_done(struct store_history_event *e)
{
	free(e->id);
	free(e->type);
	free(e->previous_status);
	free(e->status);
	free(e->status_code);
	free(e->status_message);
	for (size_t i = 0; i < e->n_deliveries; i++)
		delivery_done(&e->deliveries[i]);
	free(e->deliveries);
}

void store_history_free(struct store_history_event *events, size_t n)
{
	if (!events)
		return;
	for (size_t i = 0; i < n; i++)
		event_done(&events[i]);
	free(events);
}

/* Fills e->deliveries from the rows of STMT_EVENT_DELIVERIES for e->seq. */
static int load_deliveries(struct store *s, struct store_history_event *e)
{
	struct store_value v[1] = {sv_int(e->seq)};
	sqlite3_stmt *st = store_stmt(s, STMT_EVENT_DELIVERIES);
	size_t cap = 0;
	int rc = SQLITE_DONE, r;

	if (!st)
		return -EIO;
	r = store_bind(st, v, ELEMENTSOF(v));
	while (r >= 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_history_delivery *d;

		if (e->n_deliveries >= STORE_HISTORY_SINKS_MAX)
			break;
		if (e->n_deliveries == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			struct store_history_delivery *a = realloc(e->deliveries, ncap * sizeof(*a));

			if (!a) {
				r = -ENOMEM;
				break;
			}
			e->deliveries = a;
			cap = ncap;
		}
		d = &e->deliveries[e->n_deliveries++];
		*d = (struct store_history_delivery){
		    .attempts = sqlite3_column_int64(st, 2),
		    .next_at_ms = sqlite3_column_int64(st, 3),
		    .updated_ms = sqlite3_column_int64(st, 4),
		};
		if ((r = dup_column(st, 0, &d->sink)) >= 0 && (r = dup_column(st, 1, &d->state)) >= 0)
			r = dup_column(st, 5, &d->last_error);
		if (r >= 0 && (!d->sink || !d->state))
			r = -EBADMSG;
	}
	if (r >= 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = store_errno(rc);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

static int load_event(sqlite3_stmt *st, struct store_history_event *e)
{
	int r;

	e->seq = sqlite3_column_int64(st, 0);
	e->update_time_ms = sqlite3_column_int64(st, 5);
	e->detected_ms = sqlite3_column_int64(st, 6);
	if ((r = dup_column(st, 1, &e->id)) < 0 || (r = dup_column(st, 2, &e->type)) < 0 ||
	    (r = dup_column(st, 3, &e->previous_status)) < 0 || (r = dup_column(st, 4, &e->status)) < 0 ||
	    (r = dup_column(st, 7, &e->status_code)) < 0 || (r = dup_column(st, 8, &e->status_message)) < 0)
		return r;
	return e->id && e->type ? 0 : -EBADMSG;
}

int store_job_history(struct store *s, const char *arn, size_t limit, struct store_history_event **ret,
		      size_t *ret_n, int64_t *ret_total)
{
	struct store_value v[2];
	struct store_history_event *events = NULL;
	sqlite3_stmt *st;
	size_t n = 0;
	int rc = SQLITE_DONE, r = 0;

	if (!s || str_empty(arn) || !ret || !ret_n)
		return -EINVAL;
	*ret = NULL;
	*ret_n = 0;
	if (limit > STORE_HISTORY_MAX)
		limit = STORE_HISTORY_MAX;
	v[0] = sv_text(arn);
	v[1] = sv_int((int64_t)limit);
	if (ret_total) {
		r = store_query_int(s, STMT_JOB_EVENT_COUNT, v, 1, 0, ret_total);
		if (r < 0)
			return log_debug_errno(r, "store: counting the events of %s failed: %m", arn);
	}
	if (limit == 0)
		return 0;
	events = calloc(limit, sizeof(*events));
	if (!events)
		return -ENOMEM;
	st = store_stmt(s, STMT_JOB_EVENTS);
	if (!st) {
		free(events);
		return -EIO;
	}
	r = store_bind(st, v, ELEMENTSOF(v));
	/* The deliveries statement steps while this one holds its row:
	 * SQLite allows several statements in progress on one connection. */
	while (r >= 0 && n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = load_event(st, &events[n]);
		if (r >= 0)
			r = load_deliveries(s, &events[n]);
		n++;
	}
	if (r >= 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = store_errno(rc);
	if (r < 0)
		log_debug_errno(r, "store: reading the history of %s failed: %s", arn,
				sqlite3_errmsg(s->db));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (r < 0) {
		store_history_free(events, n);
		return r;
	}
	*ret = events;
	*ret_n = n;
	return 0;
}
