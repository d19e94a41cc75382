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
int store_delivery_retry(struct store *s, const char *sink, int64_t seq, unsigned attempts, int64_t next_at_ms,
			 const char *last_error);
/* Gives up on one delivery (kept in the table, state "parked"). */
int store_delivery_park(struct store *s, const char *sink, int64_t seq, const char *reason);
/* Number of undelivered, unparked deliveries for sink. */
int store_delivery_backlog(struct store *s, const char *sink, int64_t *ret_count);
/* Drops the oldest undelivered deliveries beyond max_pending for sink
 * (state "dropped"); *ret_dropped tells how many (caller logs loudly). */
int store_delivery_trim(struct store *s, const char *sink, int64_t max_pending, int64_t *ret_dropped);

#endif
