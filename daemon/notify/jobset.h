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

#endif
