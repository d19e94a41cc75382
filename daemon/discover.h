/* Discovery and bulk refresh: every [discover "NAME"] section lists its
 * jobs (ListAudienceGenerationJobs, all pages) every interval.
 *
 * For each job summary of a listing:
 *  - an ARN new to the tracker is watched (source "discover:NAME") and
 *    polled soon: the Get produces job.discovered with the full details;
 *  - a watched job whose status or updateTime differs from the tracked one
 *    is polled soon (the Get fetches statusDetails and metrics and produces
 *    the event);
 *  - a watched job whose summary matches counts as freshly polled: the
 *    engine pushes its next Get out.  This is what makes a fleet of settled
 *    jobs cost a few List pages per interval instead of one Get per job.
 * A job discovered by this section that is missing from a complete listing
 * is polled soon: its Get answers 404 and the tracker emits job.gone.
 *
 * Jobs the operator unwatched (control API) and gone jobs are left alone.
 * Discovered jobs live in the tracker (and so in the store): freeing the
 * discovery (reload without the section) keeps their state. */
#ifndef JW_DISCOVER_H
#define JW_DISCOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "model.h"
#include "tracker.h"

struct uv_loop_s;
struct aws_client;
struct discovery;

/* Cap on the jobs one section takes from one listing; beyond it new jobs
 * are not added (logged at error) and vanished jobs are not looked for. */
#define DISCOVERY_MAX_JOBS_PER_LISTING 100000
#define DISCOVERY_SOURCE_PREFIX	       "discover:"

struct discovery_callbacks {
	/* Poll j with a Get as soon as the rate limit allows, even when its
	 * next poll is already scheduled later. */
	void (*poll_soon)(void *userdata, struct tracked_job *j);
	/* The listing confirmed j's status and updateTime: count it as
	 * polled now and push its next Get out.  summary (from_list) is
	 * borrowed for the call. */
	void (*refreshed)(void *userdata, struct tracked_job *j, const struct job_observation *summary);
	/* j is list-only (tracked_job.list_only): summary is its poll, for
	 * tracker_observe(); borrowed for the call. */
	void (*list_observed)(void *userdata, struct tracked_job *j, const struct job_observation *summary);
	/* j is list-only and missing from a complete listing: it is gone. */
	void (*list_vanished)(void *userdata, struct tracked_job *j);
	void *userdata;
};

struct discovery_stats {
	uint64_t listings;	     /* started */
	uint64_t listings_completed; /* ended, successfully or not */
	uint64_t listings_failed;    /* ended with an error (partial results were used) */
	uint64_t pages;		     /* pages received */
	uint64_t jobs_seen;	     /* summaries received, all listings */
	uint64_t jobs_added;	     /* new to the tracker */
	uint64_t jobs_changed;	     /* polled because the summary differed */
	uint64_t jobs_refreshed;     /* confirmed by the summary */
	uint64_t jobs_vanished;	     /* missing from a complete listing: polled */
	size_t last_listing_jobs;    /* summaries in the last complete listing */
	int64_t last_success_ms;     /* end of the last complete listing; 0 = never */
	bool capped;		     /* the last listing hit DISCOVERY_MAX_JOBS_PER_LISTING */
};

/* loop, aws, tracker and cb are borrowed (cb is copied); secs is copied.
 * Marks the tracker's jobs that the sections refresh through their Lists
 * only (tracked_job.list_only).  Nothing is listed before discovery_start(). */
int discovery_new(struct uv_loop_s *loop, struct aws_client *aws, struct tracker *tracker,
		  const struct config_discover *secs, size_t n, const struct discovery_callbacks *cb,
		  struct discovery **ret);
/* Cancels listings in flight (their partial results are dropped) and
 * closes the timers; the memory goes when the loop has run the close
 * callbacks, so run the loop afterwards.  NULL-safe.  Returns NULL. */
struct discovery *discovery_free(struct discovery *d);
/* Starts a listing of every idle section now (the first one, or an extra
 * one), then one every interval counted from the end of the previous
 * listing, so listings of a section never overlap. */
int discovery_start(struct discovery *d);

size_t discovery_count(const struct discovery *d);
/* Section i's name (borrowed) and stats; NULL when i is out of range. */
const struct discovery_stats *discovery_stats_at(const struct discovery *d, size_t i, const char **ret_name);

/* ---- The decision for one summary (pure; exposed for the unit tests) ---- */
enum discover_action {
	DISCOVER_NEW,	    /* not in the tracker: watch and poll */
	DISCOVER_CHANGED,   /* status or updateTime differs: poll */
	DISCOVER_UNCHANGED, /* confirmed: refreshed */
	DISCOVER_STALE,	    /* the summary is older than what we know: nothing */
	DISCOVER_IGNORE,    /* unwatched by the operator, or gone: nothing */
	_DISCOVER_ACTION_MAX,
	DISCOVER_ACTION_INVALID = -1,
};
const char *discover_action_to_string(enum discover_action a);
/* j is the tracked job of summary->arn or NULL when unknown. */
enum discover_action discover_decide(const struct tracked_job *j, const struct job_observation *summary);
/* Whether j, absent from a complete listing of the section whose source is
 * source ("discover:NAME"), must be polled to find out whether it is gone. */
bool discover_should_check_vanished(const struct tracked_job *j, const char *source);
/* Whether a resource of kind with arn, found by a section with these ids,
 * is list-only: its kind has no Get, or a collaboration's List
 * (collaboration_id) found it and its ARN's membership is not the section's
 * membership_id (another member's: our Get cannot read it). */
bool discover_is_list_only(enum resource_kind kind, const char *arn, const char *collaboration_id,
			   const char *membership_id);

#endif
