/* Internal to discover*.c: a [discover] section's state and the listing
 * plan (discover_plan.c) that discover.c drives. */
#ifndef JW_DISCOVER_INTERNAL_H
#define JW_DISCOVER_INTERNAL_H

#include <uv.h>

#include "discover.h"

struct aws_result;

struct discovery_section {
	struct discovery *d;
	char *name;
	char *source; /* "discover:NAME" */
	char *collaboration_id;
	char *model_arn;
	char *membership_id;
	unsigned kinds;	     /* bit (1u << enum resource_kind) */
	int listing_kind;    /* the kind whose List is in flight */
	bool listing_collab; /* it is a collaboration's List (ListCollaboration*) */
	/* A per-parent kind (kinds.h list_per_parent): its parents, taken
	 * when its turn came, and the one being listed. */
	char **parents;
	size_t n_parents;
	size_t parent_at;
	/* "<kind>:<parent ARN>" of every per-parent List of the listing that
	 * ended well, sorted at the end: only their children can vanish. */
	char **listed;
	size_t n_listed;
	size_t alloc_listed;
	uint64_t interval_ms;
	uv_timer_t timer;
	struct aws_call *call; /* the listing in flight, NULL when idle */

	/* The current listing: this section's own jobs that it saw, for the
	 * vanished-job pass at its end. */
	struct tracked_job **seen;
	size_t n_seen;
	size_t alloc_seen;
	size_t listing_jobs;
	size_t listing_added;
	bool listing_capped;
	bool failing; /* the previous listing failed (logged once per streak) */

	struct discovery_stats stats;
};

struct discovery {
	uv_loop_t *loop;
	struct aws_client *aws;
	struct tracker *tracker;
	struct discovery_callbacks cb;
	struct discovery_section **secs;
	size_t n_secs;
	size_t open_timers;
	bool freeing;
};

/* The page callback of every List of a listing (discover.c). */
void discover_on_page(void *userdata, const struct aws_result *res, struct job_observation **items, size_t n,
		      bool final);

/* discover_plan.c.  Starts the List of the section's first kind from `from`
 * on (the first parent's for a per-parent kind); KIND_INVALID when there is
 * none left, a negative errno when a List cannot start. */
int discover_list_from(struct discovery_section *s, int from);
/* The current List ended well: the next parent's, else the next kind's;
 * KIND_INVALID when the listing is over. */
int discover_list_next(struct discovery_section *s);
/* Whether the listing that just ended well covered j: its kind is one of
 * the section's and, for a per-parent kind, its parent was listed.  Call
 * discover_listed_sort() first. */
bool discover_covers(const struct discovery_section *s, const struct tracked_job *j);
void discover_listed_sort(struct discovery_section *s);
/* Forgets the parents listed (a new listing starts). */
void discover_listed_reset(struct discovery_section *s);
void discover_plan_free(struct discovery_section *s);

#endif
