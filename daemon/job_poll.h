/* The engine's state of one job's polling, embedded in the tracker's
 * struct tracked_job so that 100k jobs need no second table.
 *
 * engine_poll.c is its only writer (engine.c uses `listed` as reload
 * scratch); the tracker never reads or writes it, and others (the control
 * API) only read it. */
#ifndef JW_JOB_POLL_H
#define JW_JOB_POLL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

/* Where the job's Get is.  Changed only by poll_set_state() in
 * engine_poll.c.  (Whether the Get in flight is the breaker's probe is the
 * engine's: there is at most one, engine.probe_job.) */
enum poll_state {
	POLL_IDLE,	  /* no Get in flight */
	POLL_SENT,	  /* a Get is in flight; its callback holds the job */
	POLL_SENT_REPOLL, /* ... and a fresh look was asked for meanwhile */
	_POLL_STATE_MAX,
	_POLL_STATE_INVALID = -EINVAL,
};

struct engine;

struct job_poll {
	/* The engine whose Get is in flight (set by poll_dispatch(), read by
	 * its callback, which gets the job as userdata: no allocation per
	 * poll). */
	struct engine *engine;
	/* Monotonic: the first ResourceNotFoundException of a run of them
	 * (0 = none): for a job seen before, the one awaiting its
	 * confirmation; for a job never seen, the start of its grace period. */
	int64_t not_found_mono_ms;
	uint16_t job_failures; /* failed polls in a row about this job (backoff) */
	int8_t state;	       /* enum poll_state */
	bool listed;	       /* engine.c, reload: the new configuration lists the job */
};

/* A Get of the job is in flight: its callback holds the job. */
static inline bool job_poll_in_flight(const struct job_poll *p)
{
	return p->state != POLL_IDLE;
}

#endif
