/* The tracker: the job table (hash map by ARN) and transition detection.
 *
 * Each observation is compared with the stored state; only a real change
 * produces an event (job.discovered, job.status_changed, job.stuck,
 * job.gone).  The event and the job row that produced it are written to the
 * store in the same batch (transaction); the in-memory state changes only
 * when the store accepted both, so a refused write is detected again by the
 * next poll.  A failed poll is never an event, only counters.
 *
 * An unwatched job keeps its state (watched = false) so re-watching it does
 * not re-announce it; only tracker_forget() removes a job. */
#ifndef JW_TRACKER_H
#define JW_TRACKER_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "job_poll.h"
#include "model.h"
#include "scheduler.h"
#include "store.h"

#define TRACKER_LAST_ERROR_MAX 160 /* bytes kept of the last poll error */
#define TRACKER_ARN_MAX	       2048

struct tracked_job {
	char *arn;
	char *name;
	char *status_code;
	char *status_message;
	char *collaboration_id;
	char *configured_audience_model_arn;
	char *last_error;   /* truncated to TRACKER_LAST_ERROR_MAX */
	const char *source; /* interned by the tracker: "config", "discover:NAME", "api" */
	int64_t update_time_ms;
	int64_t create_time_ms;
	int64_t status_since_ms; /* updateTime of the observation that entered status */
	int64_t first_seen_ms;
	int64_t last_seen_ms;
	int64_t last_poll_ms;
	int64_t last_success_ms;
	uint32_t polls;
	uint32_t poll_failures;
	uint32_t consecutive_failures; /* failed polls in a row, any cause (shown) */
	struct sched_node sched;       /* the engine's, through the scheduler */
	struct job_poll poll;	       /* the engine's (job_poll.h); the tracker never touches it */
	int8_t status;		       /* enum job_status; JOB_STATUS_INVALID when never seen */
	int64_t status_since_mono_ms;  /* status_since on the tracker's monotonic clock; not stored */
	bool stay_anchored;	       /* status_since_mono_ms is set */
	bool stuck_emitted;
	int64_t
	    not_found_ms; /* wall clock of its job.not_found (never seen, 404 past the grace); 0 = none */
	bool watched;
	bool gone;
	/* Never sent a Get: its List feeds tracker_observe() and its absence
	 * from a complete listing is tracker_gone() (a kind without a Get, or
	 * another member's resource found by a collaboration's List; set by
	 * the tracker and by discovery, stored with the row: set it before
	 * the tracker_observe() that writes the row, or mark the job dirty). */
	bool list_only;
	bool dirty; /* counters changed since the row was last written */
};

/* What a ResourceNotFoundException means for a job: the gone rule. */
enum tracker_not_found {
	TRACKER_NOT_VISIBLE,	  /* never seen: not visible yet (a poll error, no event) */
	TRACKER_GONE_UNCONFIRMED, /* seen: ask again after the confirm delay, no event yet */
	TRACKER_GONE,		  /* gone (job.gone stored, or it was gone already) */
	_TRACKER_NOT_FOUND_MAX,
	_TRACKER_NOT_FOUND_INVALID = -EINVAL,
};

/* What the tracker decided about one answer: a value the engine acts on
 * (the notifiers, the job's next poll) rather than state it reads back.
 * The calls that take one fill it whenever the job is in the table, also
 * when they fail (then it says the job as it stands). */
struct tracker_result {
	int events;			  /* new events stored (duplicates not counted) */
	enum status_class class;	  /* the job's class now: how often it is polled */
	bool gone;			  /* the job is gone: it is not polled again */
	enum tracker_not_found not_found; /* after a 404: the gone rule's decision, else _INVALID */
};

struct tracker_stats {
	size_t jobs;
	size_t watched;
	uint64_t observations;
	uint64_t stale_observations; /* updateTime older than stored: ignored */
	uint64_t events;	     /* new events stored */
	uint64_t duplicate_events;   /* already in the store (same id) */
	uint64_t poll_failures;
};

struct tracker;

/* Returns the sinks for an event: a NULL-terminated array borrowed until the
 * next call (e.g. "journal", "webhook:NAME" filtered by the hook's `on`). */
typedef const char *const *(*tracker_sinks_fn)(const struct event *e, void *userdata);
/* Called for every newly stored event (not for duplicates).  e and e->job
 * are borrowed for the duration of the call.  Note the event is not yet
 * committed: wake the notifiers after store_flush(). */
typedef void (*tracker_event_fn)(const struct event *e, void *userdata);

/* store and region are borrowed and must outlive the tracker.
 * stuck_after_ms 0 disables job.stuck. */
int tracker_new(struct store *store, const char *region, int64_t stuck_after_ms, tracker_sinks_fn sinks,
		void *sinks_userdata, struct tracker **ret);
struct tracker *tracker_free(struct tracker *t);
void tracker_set_event_callback(struct tracker *t, tracker_event_fn cb, void *userdata);
void tracker_set_stuck_after(struct tracker *t, int64_t stuck_after_ms);
/* Measures stuck_after on now_mono_ms (monotonic ms) while running: the
 * wall-clock times passed to tracker_observe() and tracker_check_stuck()
 * only give a status's age once, when it is entered or first checked.
 * Without it (NULL, the default) stays are measured on those wall times. */
void tracker_set_mono_clock(struct tracker *t, int64_t (*now_mono_ms)(void *userdata), void *userdata);

/* Restores every job row from the store (call once, before polling). */
int tracker_load(struct tracker *t);

/* Watches arn (source: "config", "discover:NAME", "api").  Returns 1 if
 * the job is new to the table, 0 if it was known (re-watching an unwatched
 * job sets watched and its new source); *ret_job if not NULL. */
int tracker_add(struct tracker *t, const char *arn, const char *source, struct tracked_job **ret_job);
/* Stops watching (state kept, watched = false).  -ENOENT if unknown. */
int tracker_unwatch(struct tracker *t, const char *arn);
/* Removes the job from the table and its row from the store (its events
 * stay).  The caller makes sure nothing else holds the job: it is out of
 * the scheduler, no poll is in flight, no listing has it.  -ENOENT if
 * unknown; on a store error the job stays. */
int tracker_forget(struct tracker *t, const char *arn);
struct tracked_job *tracker_find(struct tracker *t, const char *arn);
/* Iteration in insertion order: for (i = 0; i < tracker_size(t); i++). */
size_t tracker_size(const struct tracker *t);
struct tracked_job *tracker_job_at(struct tracker *t, size_t i);
struct tracked_job *tracker_job_from_sched(struct sched_node *n);

/* Compares obs (borrowed) with the stored state of obs->arn at now_ms and
 * stores the events a real change produces.  Returns the number of new
 * events (0 for no change, a stale or duplicate observation), -ENOENT for an
 * ARN not in the table, -EINVAL for an unknown status.  ret (may be NULL):
 * what was decided. */
int tracker_observe(struct tracker *t, const struct job_observation *obs, int64_t now_ms,
		    struct tracker_result *ret);
/* Writes the rows of jobs whose counters (polls, last seen, ...) changed
 * without a state change.  tracker_observe() keeps such polls in memory --
 * a row write per unchanged poll would dominate the CPU of a large fleet --
 * so the engine calls this now and then and at shutdown.  Returns the
 * number of rows written. */
int tracker_flush_dirty(struct tracker *t);
/* Emits job.stuck for every job in a WORKING status longer than stuck_after
 * (once per stay).  Returns the number of new events. */
int tracker_check_stuck(struct tracker *t, int64_t now_ms);
/* The API said 404.  A job seen before becomes GONE with one job.gone
 * (returns 1, or 0 when already gone); a job never seen returns -ENOENT and
 * no event: that is a poll error for the caller to log and count.  The
 * engine asks tracker_not_found(), which applies the gone rule first. */
int tracker_gone(struct tracker *t, const char *arn, int64_t now_ms);

/* A job seen before is gone on the second ResourceNotFoundException in a
 * row, at least confirm_ms / 2 after the first (first_mono_ms; 0 when this
 * is the first): one answer could be a read that has not caught up, and
 * "gone" ends the watch.  In a DELETE_* status the first one is enough: it
 * is expected.  A job never seen is not visible yet, never gone.  Times are
 * monotonic. */
enum tracker_not_found tracker_gone_rule(const struct tracked_job *j, int64_t first_mono_ms,
					 int64_t now_mono_ms, int64_t confirm_ms);
/* The delay of the confirming Get for a poll interval: 5 s, or the interval
 * when that is shorter, and never under 100 ms. */
int64_t tracker_gone_confirm_ms(int64_t interval_ms);
/* The API said 404 about arn: applies tracker_gone_rule() and, when the
 * job is gone, records it as tracker_gone() does (now_ms: wall clock).
 * ret (may be NULL): what was decided, not_found included.  Returns the
 * number of new events (0 or 1), -ENOENT for an ARN not in the table, or a
 * store error. */
int tracker_not_found(struct tracker *t, const char *arn, int64_t first_mono_ms, int64_t now_mono_ms,
		      int64_t confirm_ms, int64_t now_ms, struct tracker_result *ret);
/* A List page confirmed the job's status and updateTime at now_ms: as
 * fresh as a Get that changed nothing, so only the poll times move, in
 * memory (see tracker_flush_dirty()).  -ENOENT if unknown. */
int tracker_refreshed(struct tracker *t, const char *arn, int64_t now_ms, struct tracker_result *ret);
/* A poll failed: counters and last_error only, never an event.  ret (may
 * be NULL): the job as it stands. */
int tracker_poll_failed(struct tracker *t, const char *arn, int64_t now_ms, const char *error_text,
			struct tracker_result *ret);
/* A job never seen still answers 404 after the engine's grace period (a
 * mistyped ARN, or a job deleted before it was first seen): one
 * job.not_found, kept across restarts.  Returns 1 when emitted, 0 when it
 * was before, -ENOENT for an ARN not in the table, -EINVAL for a job seen
 * before (its 404 is tracker_not_found()'s).  ret (may be NULL): what was
 * decided. */
int tracker_not_found_past_grace(struct tracker *t, const char *arn, int64_t now_ms,
				 struct tracker_result *ret);

void tracker_get_stats(const struct tracker *t, struct tracker_stats *ret);

#endif
