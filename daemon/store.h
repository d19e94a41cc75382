/* Durable state in SQLite (WAL): the job table and the event outbox.
 *
 * An event is committed in the same transaction as the job state that
 * produced it, before any notification is attempted.  Writes are batched: the
 * engine calls store_flush() once per loop turn, not one fsync per poll.
 * One daemon per database file (an exclusive lock; a second instance gets
 * -EBUSY and a clear message).
 *
 * (The job-table part of this API is completed by the store/tracker module;
 * the delivery part below is fixed: the notifiers depend on it.)
 */
#ifndef JW_STORE_H
#define JW_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"

struct store;

int store_open(const char *path, struct store **ret);
/* Flushes (commits) pending writes and closes.  NULL-safe. */
struct store *store_close(struct store *s);
/* Commits the open batch transaction, if any.  Returns negative errno on
 * failure (disk full, read-only): the batch stays pending and is retried by
 * the next flush; nothing is lost and nothing is notified before it lands. */
int store_flush(struct store *s);

/* ---- Outbox deliveries ----
 * Every event gets one delivery row per sink ("journal", "webhook:NAME")
 * present when it was added.  Rows are delivered in seq order per sink. */

/* Adds the event (assigning e->seq) with one pending delivery per sink name
 * (NULL-terminated).  Part of the current batch. */
int store_add_event(struct store *s, struct event *e, const char *const *sinks);

/* The oldest undelivered, unparked delivery for sink whose next attempt is
 * due at or before now_ms.  Returns 1 and sets *ret (owned by the caller,
 * with attempts filled) if there is one, 0 if none is due (then
 * *ret_next_due_ms, if not NULL, is the earliest future due time or -1). */
int store_delivery_next(struct store *s, const char *sink, int64_t now_ms, struct event **ret,
			unsigned *ret_attempts, int64_t *ret_next_due_ms);
int store_delivery_done(struct store *s, const char *sink, int64_t seq);
int store_delivery_retry(struct store *s, const char *sink, int64_t seq, unsigned attempts,
			 int64_t next_at_ms, const char *last_error);
/* Gives up on one delivery after a failed attempt (counted; the row is kept,
 * state "parked"). */
int store_delivery_park(struct store *s, const char *sink, int64_t seq, const char *reason);
/* One pending delivery as store_delivery_scan() sees it. */
struct store_delivery_row {
	int64_t seq;
	unsigned attempts;
	int64_t next_at_ms; /* 0 or past: due */
	const char *arn;    /* the event's job ARN ("" if none); valid during the callback */
	/* A failed batch waiting for replay already settled or rescheduled
	 * it: do not send it now, but it still holds its job's place. */
	bool hidden;
};

/* Calls cb for at most limit committed, pending deliveries of sink in seq
 * order, due or not.  cb returns 0 to go on, > 0 to stop, < 0 to fail (that
 * value is returned); it must not call into the store.  Webhook sinks use it
 * to pick one delivery per job (per-job order) without waiting for other
 * jobs' failing deliveries. */
int store_delivery_scan(struct store *s, const char *sink, size_t limit,
			int (*cb)(void *userdata, const struct store_delivery_row *row), void *userdata);
/* Loads the delivery (sink, seq) found by a scan.  Returns 1 with *ret (owned
 * by the caller) and *ret_attempts, 0 if it is no longer pending. */
int store_delivery_load(struct store *s, const char *sink, int64_t seq, struct event **ret,
			unsigned *ret_attempts);
/* "Retry now": every pending delivery of sink that waits for a later
 * attempt becomes due at now_ms and, with parked, every parked delivery
 * pending again (attempt counts kept).  *ret_count (may be NULL) tells how
 * many.  Part of the current batch. */
int store_delivery_release(struct store *s, const char *sink, int64_t now_ms, bool parked,
			   int64_t *ret_count);
/* Pending deliveries of sink that have failed at least once. */
int store_delivery_count_retrying(struct store *s, const char *sink, int64_t *ret_count);
/* When the event of the oldest pending delivery of sink was detected (wall
 * clock ms), -1 when nothing is pending. */
int store_delivery_oldest_pending(struct store *s, const char *sink, int64_t *ret_detected_ms);
/* Number of undelivered, unparked deliveries for sink. */
int store_delivery_backlog(struct store *s, const char *sink, int64_t *ret_count);
/* Drops the oldest undelivered deliveries beyond max_pending for sink
 * (state "dropped"); *ret_dropped tells how many (caller logs loudly). */
int store_delivery_trim(struct store *s, const char *sink, int64_t max_pending, int64_t *ret_dropped);

/* Deletes the finished deliveries (done, parked, dropped) of events detected
 * before older_than_ms, then those events that have no delivery left, so a
 * daemon running for months keeps a bounded database.  Events with a
 * pending delivery stay.  Seqs are never reused (AUTOINCREMENT), and a transition
 * seen again after its event was pruned is older than the job's stored
 * updateTime, so it is not an event again.  Part of the current batch. */
int store_prune(struct store *s, int64_t older_than_ms);

/* ---- Additions (store/tracker module) ---- */

/* store_add_event() returns STORE_EVENT_ADDED (1) when the event is new and
 * STORE_EVENT_DUPLICATE (0) when an event with the same id is already stored
 * (then nothing is written and e->seq is the stored event's seq). */
#define STORE_EVENT_ADDED     1
#define STORE_EVENT_DUPLICATE 0

/* Caps on what the in-memory batch journal may hold while the disk refuses
 * writes; beyond them writes fail with -ENOBUFS (see store.c). */
#define STORE_JOURNAL_MAX_BYTES (64u * 1024 * 1024)

/* One row of the jobs table.  Strings are borrowed (by store_put_job() for
 * the duration of the call; by the store_load_jobs() callback until it
 * returns).  Timestamps are ms since the epoch, 0 when unknown. */
struct store_job {
	const char *arn;
	const char *name;
	enum job_status status; /* JOB_STATUS_INVALID when never seen */
	const char *status_code;
	const char *status_message;
	int64_t update_time_ms;
	int64_t create_time_ms;
	const char *collaboration_id;
	const char *configured_audience_model_arn;
	int64_t first_seen_ms;
	int64_t last_seen_ms;
	int64_t last_poll_ms;
	int64_t last_success_ms;
	int64_t polls;
	int64_t poll_failures;
	int64_t consecutive_failures;
	const char *last_error;
	int64_t status_since_ms;
	bool stuck_emitted;
	int64_t not_found_ms; /* when job.not_found was raised; 0 = not (a job never seen) */
	bool watched;
	const char *source; /* "config", "discover:NAME", "api" */
	bool gone;
	bool list_only; /* followed through a List only (tracked_job.list_only) */
};

/* Upserts the job row (by ARN).  Part of the current batch. */
int store_put_job(struct store *s, const struct store_job *job);
/* Deletes the job row (in the current batch); its events stay until
 * pruned.  Deleting an unknown ARN is not an error. */
int store_delete_job(struct store *s, const char *arn);
/* Calls cb for every job row; a negative return from cb stops and is
 * returned.  Reads committed state plus the open batch (only committed
 * state while a failed batch waits for replay). */
int store_load_jobs(struct store *s, int (*cb)(const struct store_job *job, void *userdata), void *userdata);
/* 1 if an event with this id is stored (or pending in the batch), 0 if not. */
int store_event_exists(struct store *s, const char *id);
/* Number of events of a type (EVENT_TYPE_INVALID: all types). */
int store_count_events(struct store *s, enum event_type type, int64_t *ret_count);
/* Number of deliveries for sink in a state ("pending", "done", "parked",
 * "dropped"); sink NULL counts every sink. */
int store_count_deliveries(struct store *s, const char *sink, const char *state, int64_t *ret_count);
/* The highest event seq known to be committed.  Deliveries become visible
 * to store_delivery_next() only once committed, so nothing is notified
 * before it is durable: the engine wakes the notifiers after store_flush(). */
int64_t store_committed_seq(const struct store *s);
/* True while a failed flush left a batch waiting to be retried. */
bool store_has_pending_batch(const struct store *s);
/* PRAGMA integrity_check.  0 when "ok"; -EBADMSG otherwise, with the first
 * message in *ret_msg (malloc'd, may be NULL) when ret_msg is not NULL. */
int store_integrity_check(struct store *s, char **ret_msg);
/* Caps the database size in pages (PRAGMA max_page_count; 0 removes the
 * cap) and returns the current page count.  Writes beyond the cap fail like
 * a full disk (used by the tests to make commits fail on purpose). */
int store_set_max_pages(struct store *s, int64_t max_pages, int64_t *ret_page_count);

/* ---- A job's history (store_history.c) ----
 * The events stored for one job, newest first, each with its deliveries:
 * what `jobwatchd status ARN` shows.  Events stay while a delivery is
 * pending and for the retention after the last one finished (see
 * store_prune()).  Strings are owned by the array. */
#define STORE_HISTORY_MAX 1000 /* events one call returns at most */

struct store_history_delivery {
	char *sink;  /* "journal", "webhook:NAME" */
	char *state; /* "pending", "done", "parked", "dropped" */
	int64_t attempts;
	int64_t next_at_ms; /* pending: when the next attempt is due (0 = now) */
	int64_t updated_ms; /* when the state last changed */
	char *last_error;   /* of the last failed attempt, may be NULL */
};

struct store_history_event {
	int64_t seq;
	char *id;
	char *type;
	char *previous_status; /* NULL for job.discovered */
	char *status;
	char *status_code; /* statusDetails of the observation, may be NULL */
	char *status_message;
	int64_t update_time_ms;
	int64_t detected_ms;
	struct store_history_delivery *deliveries;
	size_t n_deliveries;
};

/* Reads the newest limit (at most STORE_HISTORY_MAX) events of arn into
 * *ret (*ret_n of them; free with store_history_free()), and, when
 * ret_total is not NULL, how many the store holds for arn.  Reads committed
 * state plus the open batch; while a failed batch waits for replay, its
 * events are not shown yet. */
int store_job_history(struct store *s, const char *arn, size_t limit, struct store_history_event **ret,
		      size_t *ret_n, int64_t *ret_total);
/* NULL-safe. */
void store_history_free(struct store_history_event *events, size_t n);

/* ---- Alertmanager alerts (store_alerts.c) ----
 * The alerts an Alertmanager hook holds, so that a restart re-sends them at
 * once and neither drops nor doubles one.  Writes are part of the batch. */
struct store_am_alert {
	const char *alertname;
	const char *arn;
	int64_t starts_ms;
	int64_t resolved_ms; /* 0 while active */
	int64_t acked;	     /* bit i: Alertmanager i accepted the resolution */
	const char *alert;   /* JSON: labels, annotations, generatorURL */
};
int store_am_put(struct store *s, const char *hook, const struct store_am_alert *a);
int store_am_delete(struct store *s, const char *hook, const char *alertname, const char *arn);
/* Calls cb for each alert of hook (fields borrowed for the call). */
int store_am_load(struct store *s, const char *hook,
		  int (*cb)(const struct store_am_alert *a, void *userdata), void *userdata);
/* The status a job had before it last entered status (from the newest
 * job.status_changed event), or NULL; malloc'd in *ret. */
int store_previous_status(struct store *s, const char *arn, const char *status, char **ret);

#endif
