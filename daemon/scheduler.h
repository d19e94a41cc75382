/* The poll scheduler: a binary min-heap of (due time, job) that drives one
 * uv_timer_t owned by the engine, plus the policy that says when a job is
 * polled next.  No libuv here and no per-job OS handle: 100k jobs cost
 * 16 bytes of heap entry and 4 bytes of index each.
 *
 * A scheduled object embeds a struct sched_node; the heap stores the node's
 * position in it so update and removal are O(log n).  Use container_of-style
 * arithmetic (or the tracker's tracker_job_from_sched()) to get back to the
 * object. */
#ifndef JW_SCHEDULER_H
#define JW_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define SCHED_NONE UINT32_MAX

struct sched_node {
	uint32_t index; /* position in the heap, SCHED_NONE when not scheduled */
};

struct sched;

void sched_node_init(struct sched_node *n);
bool sched_node_is_scheduled(const struct sched_node *n);

struct sched *sched_new(void);
/* Frees the heap only; nodes belong to their objects.  NULL-safe. */
struct sched *sched_free(struct sched *s);
/* Schedules n at due_ms, or moves it there if already scheduled. */
int sched_set(struct sched *s, struct sched_node *n, int64_t due_ms);
/* Unschedules n; a no-op if it is not scheduled. */
void sched_remove(struct sched *s, struct sched_node *n);
/* The due time of n, or -1 when not scheduled. */
int64_t sched_node_due(const struct sched *s, const struct sched_node *n);
/* The earliest due time, or -1 when nothing is scheduled (stop the timer). */
int64_t sched_peek_due(const struct sched *s);
/* Removes and returns the earliest node if it is due at or before now_ms,
 * else NULL.  Call in a loop from the timer callback. */
struct sched_node *sched_pop_due(struct sched *s, int64_t now_ms);
size_t sched_size(const struct sched *s);

/* ---- Policy ---- */

struct sched_poll_config {
	int64_t interval_ms;	     /* WORKING class and never-seen jobs */
	int64_t settled_interval_ms; /* ACTIVE; 0 = stop polling */
	int64_t failed_interval_ms;  /* *_FAILED; 0 = stop polling */
	double jitter;		     /* fraction, 0..1: +-jitter*delay */
	int64_t backoff_max_ms;	     /* cap on the failure backoff; 0 = SCHED_BACKOFF_MAX_MS */
};

#define SCHED_BACKOFF_MAX_MS (15 * 60 * 1000)
/* A job's own backoff never goes past this multiple of its interval. */
#define SCHED_JOB_BACKOFF_FACTOR 4

/* When to poll a job next, on the monotonic clock now_mono_ms is in, or -1
 * for never (GONE, or a class whose interval is 0).  STATUS_CLASS_INVALID
 * (never seen) uses interval.  job_failures counts the failed polls in a row
 * whose answer was about this job (a malformed body for it, a
 * ResourceNotFoundException past its grace): failures of the service or of
 * the path to it are not the job's and must not be counted here.  rnd is
 * uniform in [0, 1) and drives the jitter.  See scheduler.c for the rule. */
int64_t sched_next_poll_ms(int64_t now_mono_ms, enum status_class cls, const struct sched_poll_config *cfg,
			   unsigned job_failures, double rnd);

/* The first poll of job i of n at start-up -- and after a service-wide
 * outage, of the n jobs that came due meanwhile -- spread over
 * min(interval, n / max_rps) so a large fleet does not burst; rnd in [0, 1)
 * places the job inside its slot.  max_rps <= 0 spreads over interval. */
int64_t sched_initial_poll_ms(int64_t now_ms, size_t i, size_t n, int64_t interval_ms, double max_rps,
			      double rnd);

#endif
