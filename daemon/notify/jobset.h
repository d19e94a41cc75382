/* A fixed-size set of jobs, by a 64-bit hash of their ARN: which jobs
 * already have a pending delivery earlier in one outbox scan (webhook.c).
 * No allocation, no failure: a full set, or two ARNs with the same hash,
 * only make a job look taken -- its delivery then waits for a later run,
 * never goes out of order. */
#ifndef JW_NOTIFY_JOBSET_H
#define JW_NOTIFY_JOBSET_H

#include <stdbool.h>
#include <stdint.h>

/* A power of two, well above the rows a scan looks at, so probes stay short. */
#define JOBSET_SLOTS 4096

struct jobset {
	uint64_t slot[JOBSET_SLOTS]; /* 0 = free */
};

/* FNV-1a of the ARN, never 0.  arn may be NULL (same as ""). */
uint64_t jobset_key(const char *arn);
void jobset_clear(struct jobset *s);
/* Adds key.  False when it was there already, or the set is full. */
bool jobset_add(struct jobset *s, uint64_t key);

/* One row of a scan of pending deliveries in seq order (webhook.c,
 * eventbridge.c): the first row of a job is its head; only a head that is
 * due may be sent.  A head waiting for its retry (next_at_ms), or hidden by
 * an unwritten batch (looked at again at hidden_retry_ms), holds its own
 * job only, and moves *next_due (-1: none yet) to the earliest such time. */
enum jobset_head {
	JOBSET_HEAD_BEHIND, /* a later row of a job already seen */
	JOBSET_HEAD_WAIT,
	JOBSET_HEAD_DUE,
};
enum jobset_head jobset_head(struct jobset *s, uint64_t key, bool hidden, int64_t next_at_ms, int64_t now_ms,
			     int64_t hidden_retry_ms, int64_t *next_due);

#endif
