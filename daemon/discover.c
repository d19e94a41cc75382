/* Discovery and bulk refresh (see discover.h). */
#include "discover.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "aws/client.h"
#include "log.h"
#include "util.h"

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

static const char *const action_names[_DISCOVER_ACTION_MAX] = {
    [DISCOVER_NEW] = "new",	[DISCOVER_CHANGED] = "changed", [DISCOVER_UNCHANGED] = "unchanged",
    [DISCOVER_STALE] = "stale", [DISCOVER_IGNORE] = "ignore",
};

const char *discover_action_to_string(enum discover_action a)
{
	return a >= 0 && a < _DISCOVER_ACTION_MAX ? action_names[a] : NULL;
}

enum discover_action discover_decide(const struct tracked_job *j, const struct job_observation *summary)
{
	if (!j)
		return DISCOVER_NEW;
	/* An operator's unwatch wins over discovery; a gone job is never
	 * polled again (ARNs are not reused). */
	if (!j->watched || j->gone)
		return DISCOVER_IGNORE;
	/* Never observed yet (its first Get is pending or failed): only a Get
	 * gives the details job.discovered carries. */
	if (j->status == JOB_STATUS_INVALID)
		return DISCOVER_CHANGED;
	if (!job_status_is_api(summary->status))
		return DISCOVER_CHANGED;
	/* List pages can lag behind Get (eventual consistency): an older
	 * summary says nothing new, and must not count as a fresh poll. */
	if (summary->update_time_ms < j->update_time_ms)
		return DISCOVER_STALE;
	if ((int)summary->status != j->status || summary->update_time_ms != j->update_time_ms)
		return DISCOVER_CHANGED;
	return DISCOVER_UNCHANGED;
}

bool discover_should_check_vanished(const struct tracked_job *j, const char *source)
{
	return j && j->watched && !j->gone && j->source && source && strcmp(j->source, source) == 0;
}

bool discover_is_list_only(enum resource_kind kind, const char *arn, const char *collaboration_id,
			   const char *membership_id)
{
	const struct resource_kind_info *ki = resource_kind_info(kind);
	char m[KIND_MEMBERSHIP_ID_SIZE];

	if (!ki)
		return false;
	if (ki->list_only)
		return true;
	if (!collaboration_id || !ki->collab_list_operation)
		return false;
	(void)resource_kind_from_arn(arn, m);
	return !membership_id || strcmp(m, membership_id) != 0;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "<kind>:<parent>" into buf; false when it does not fit. */
static bool listed_key(enum resource_kind k, const char *parent, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%d:%s", (int)k, parent);
	return n > 0 && (size_t)n < size;
}

/* Whether the listing that just ended covered j: its kind is one of the
 * section's and, for a per-parent kind, its parent was listed. */
static bool section_covers(const struct discovery_section *s, const struct tracked_job *j)
{
	enum resource_kind k = resource_kind_from_arn(j->arn, NULL);
	char parent[2048], key[2100];
	const char *kp = key;

	if (k == KIND_INVALID || !(s->kinds & (1u << k)))
		return false;
	if (!resource_kind_info(k)->list_per_parent)
		return true;
	if (!resource_kind_split_child(j->arn, parent, sizeof(parent)) ||
	    !listed_key(k, parent, key, sizeof(key)))
		return false;
	return s->n_listed && bsearch(&kp, s->listed, s->n_listed, sizeof(*s->listed), str_cmp);
}

static int ptr_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (struct tracked_job *const *)a,
		  y = (uintptr_t) * (struct tracked_job *const *)b;
	return x < y ? -1 : x > y;
}

static void section_seen(struct discovery_section *s, struct tracked_job *j)
{
	if (!discover_should_check_vanished(j, s->source))
		return;
	if (s->n_seen == s->alloc_seen) {
		size_t a = s->alloc_seen ? s->alloc_seen * 2 : 256;
		struct tracked_job **v;

		if (a > DISCOVERY_MAX_JOBS_PER_LISTING)
			a = DISCOVERY_MAX_JOBS_PER_LISTING;
		if (s->n_seen >= a) {
			s->listing_capped = true;
			return;
		}
		v = realloc(s->seen, a * sizeof(*v));
		if (!v) {
			/* Without the full list the vanished pass would
			 * poll jobs that are still there; skip it. */
			s->listing_capped = true;
			return;
		}
		s->seen = v;
		s->alloc_seen = a;
	}
	s->seen[s->n_seen++] = j;
}

/* A summary of a list-only resource: it is the resource's poll. */
static void section_list_only(struct discovery_section *s, struct tracked_job *j,
			      const struct job_observation *summary)
{
	struct discovery *d = s->d;
	int r;

	if (!j) {
		if (s->listing_capped)
			return;
		if (resource_kind_from_arn(summary->arn, NULL) == KIND_INVALID) {
			log_warning("discover %s: ignoring a resource with an invalid identifier", s->name);
			return;
		}
		r = tracker_add(d->tracker, summary->arn, s->source, &j);
		if (r < 0) {
			log_warning_errno(r, "discover %s: cannot watch %s: %m", s->name, summary->arn);
			return;
		}
		log_debug("discover %s: now watching %s (through its List only)", s->name, summary->arn);
		s->stats.jobs_added++;
		s->listing_added++;
	} else if (!j->watched || j->gone) {
		return;
	} else if (j->status != (int)summary->status || j->update_time_ms != summary->update_time_ms) {
		s->stats.jobs_changed++;
	} else {
		s->stats.jobs_refreshed++;
	}
	j->list_only = true;
	if (d->cb.list_observed)
		d->cb.list_observed(d->cb.userdata, j, summary);
	section_seen(s, j);
}

static void section_handle(struct discovery_section *s, struct job_observation *summary)
{
	struct discovery *d = s->d;
	struct tracked_job *j;
	enum discover_action a;
	int r;

	if (!summary->arn)
		return;
	if (summary->kind == KIND_AUDIENCE_EXPORT_JOB) {
		/* ListAudienceExportJobs is listed once, unfiltered: the export
		 * jobs of watched audience generation jobs are watched. */
		char parent[2048];
		struct tracked_job *p = resource_kind_split_child(summary->arn, parent, sizeof(parent))
					    ? tracker_find(d->tracker, parent)
					    : NULL;

		if (!p || !p->watched) {
			section_seen(s, tracker_find(d->tracker, summary->arn));
			return;
		}
	}
	s->stats.jobs_seen++;
	if (++s->listing_jobs > DISCOVERY_MAX_JOBS_PER_LISTING) {
		if (!s->listing_capped)
			log_error("discover %s: more than %d jobs in one listing; not adding the others "
				  "(narrow the "
				  "section with collaboration_id or configured_audience_model_arn)",
				  s->name, DISCOVERY_MAX_JOBS_PER_LISTING);
		s->listing_capped = true;
	}
	j = tracker_find(d->tracker, summary->arn);
	if (discover_is_list_only(summary->kind, summary->arn,
				  s->listing_collab ? s->collaboration_id : NULL, s->membership_id) &&
	    (!j || (j->source == s->source || (j->source && strcmp(j->source, s->source) == 0)) ||
	     j->list_only)) {
		section_list_only(s, j, summary);
		return;
	}
	a = discover_decide(j, summary);
	switch (a) {
	case DISCOVER_NEW:
		if (s->listing_capped)
			return;
		if (resource_kind_from_arn(summary->arn, NULL) == KIND_INVALID) {
			log_warning("discover %s: ignoring a job with an invalid ARN", s->name);
			return;
		}
		r = tracker_add(d->tracker, summary->arn, s->source, &j);
		if (r < 0) {
			log_warning_errno(r, "discover %s: cannot watch %s: %m", s->name, summary->arn);
			return;
		}
		log_debug("discover %s: now watching %s", s->name, summary->arn);
		s->stats.jobs_added++;
		s->listing_added++;
		if (d->cb.poll_soon)
			d->cb.poll_soon(d->cb.userdata, j);
		break;
	case DISCOVER_CHANGED:
		s->stats.jobs_changed++;
		if (d->cb.poll_soon)
			d->cb.poll_soon(d->cb.userdata, j);
		break;
	case DISCOVER_UNCHANGED:
		s->stats.jobs_refreshed++;
		if (d->cb.refreshed)
			d->cb.refreshed(d->cb.userdata, j, summary);
		break;
	default:
		break;
	}
	section_seen(s, j);
}

/* The end of a complete listing: this section's jobs that it did not show
 * are polled; a 404 turns them into job.gone. */
static void section_vanished_pass(struct discovery_section *s)
{
	struct discovery *d = s->d;
	size_t n = tracker_size(d->tracker);

	qsort(s->seen, s->n_seen, sizeof(*s->seen), ptr_cmp);
	if (s->n_listed)
		qsort(s->listed, s->n_listed, sizeof(*s->listed), str_cmp);
	for (size_t i = 0; i < n; i++) {
		struct tracked_job *j = tracker_job_at(d->tracker, i);

		if (!discover_should_check_vanished(j, s->source) || !section_covers(s, j))
			continue;
		if (s->n_seen && bsearch(&j, s->seen, s->n_seen, sizeof(*s->seen), ptr_cmp))
			continue;
		s->stats.jobs_vanished++;
		if (j->list_only) {
			/* No Get to ask: a complete listing is the answer. */
			log_debug("discover %s: %s is no longer listed: gone", s->name, j->arn);
			if (d->cb.list_vanished)
				d->cb.list_vanished(d->cb.userdata, j);
			continue;
		}
		log_debug("discover %s: %s is no longer listed; checking it", s->name, j->arn);
		if (d->cb.poll_soon)
			d->cb.poll_soon(d->cb.userdata, j);
	}
}

static void section_timer_cb(uv_timer_t *t);
static void on_listing_end(struct discovery_section *s, const struct aws_result *res);

static void section_rearm(struct discovery_section *s)
{
	if (!s->d->freeing)
		uv_timer_start(&s->timer, section_timer_cb, s->interval_ms, 0);
}

static void on_page(void *userdata, const struct aws_result *res, struct job_observation **items, size_t n,
		    bool final);

/* The parents of a per-parent kind k for this section: the watched trained
 * models of its collaboration (export jobs) or of its membership that it
 * can read (versions). */
static int section_take_parents(struct discovery_section *s, enum resource_kind k)
{
	const struct resource_kind_info *ki = resource_kind_info(k);
	enum resource_kind pk = resource_kind_from_string(ki->parent_type);
	size_t n = tracker_size(s->d->tracker);

	strv_free(s->parents, s->n_parents);
	s->parents = NULL;
	s->n_parents = s->parent_at = 0;
	for (size_t i = 0; i < n; i++) {
		struct tracked_job *j = tracker_job_at(s->d->tracker, i);
		char m[KIND_MEMBERSHIP_ID_SIZE];
		char **v;

		if (!j->watched || j->gone || resource_kind_from_arn(j->arn, m) != pk)
			continue;
		if (ki->list_by_collaboration
			? !j->collaboration_id || strcmp(j->collaboration_id, s->collaboration_id) != 0
			: j->list_only || !s->membership_id || strcmp(m, s->membership_id) != 0)
			continue;
		if (s->n_parents >= DISCOVERY_MAX_JOBS_PER_LISTING)
			break;
		v = realloc(s->parents, (s->n_parents + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->parents = v;
		s->parents[s->n_parents] = strdup(j->arn);
		if (!s->parents[s->n_parents])
			return -ENOMEM;
		s->n_parents++;
	}
	return 0;
}

/* A per-parent List ended well: its children may vanish. */
static int section_listed(struct discovery_section *s, enum resource_kind k, const char *parent)
{
	char key[2100];

	if (!listed_key(k, parent, key, sizeof(key)))
		return -E2BIG;
	if (s->n_listed == s->alloc_listed) {
		size_t a = s->alloc_listed ? 2 * s->alloc_listed : 16;
		char **v = realloc(s->listed, a * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->listed = v;
		s->alloc_listed = a;
	}
	s->listed[s->n_listed] = strdup(key);
	if (!s->listed[s->n_listed])
		return -ENOMEM;
	s->n_listed++;
	return 0;
}

/* Starts the List of kind k: the next parent's when k is per-parent.
 * Returns 1 when there is nothing (left) to list for k. */
static int section_list_kind(struct discovery_section *s, enum resource_kind k)
{
	const struct resource_kind_info *ki = resource_kind_info(k);

	s->listing_kind = k;
	s->listing_collab = false;
	if (k == KIND_AUDIENCE_GENERATION_JOB)
		return aws_list_jobs(s->d->aws, s->collaboration_id, s->model_arn, on_page, s, &s->call);
	if (ki->list_per_parent) {
		if (s->parent_at >= s->n_parents)
			return 1;
		s->listing_collab = ki->list_by_collaboration;
		return aws_list_scoped(
		    s->d->aws, k,
		    &(struct aws_list_scope){
			.collaboration_id = ki->list_by_collaboration ? s->collaboration_id : NULL,
			.parent_arn = s->parents[s->parent_at],
		    },
		    on_page, s, &s->call);
	}
	/* A collaboration's List shows every member's resources; without
	 * collaboration_id, the membership's. */
	if (s->collaboration_id && ki->collab_list_operation) {
		s->listing_collab = true;
		return aws_list_scoped(s->d->aws, k,
				       &(struct aws_list_scope){.collaboration_id = s->collaboration_id},
				       on_page, s, &s->call);
	}
	return aws_list_scoped(
	    s->d->aws, k,
	    &(struct aws_list_scope){.membership_id = ki->membership_scoped ? s->membership_id : NULL},
	    on_page, s, &s->call);
}

/* Starts the List of the section's first kind from `from` on; KIND_INVALID
 * when there is none left.  Kinds go in table order: parents before their
 * children, so a child List sees the parents this listing found. */
static int section_list_from(struct discovery_section *s, int from)
{
	for (int k = from; k < _KIND_MAX; k++) {
		int r;

		if (!(s->kinds & (1u << k)))
			continue;
		if (resource_kind_info((enum resource_kind)k)->list_per_parent) {
			r = section_take_parents(s, (enum resource_kind)k);
			if (r < 0)
				return r;
		}
		r = section_list_kind(s, (enum resource_kind)k);
		if (r != 1)
			return r;
	}
	return KIND_INVALID;
}

/* The List of the current kind ended well: the next parent's, or the next
 * kind's. */
static int section_list_next(struct discovery_section *s)
{
	enum resource_kind k = (enum resource_kind)s->listing_kind;

	if (resource_kind_info(k)->list_per_parent) {
		int r = section_listed(s, k, s->parents[s->parent_at]);
		if (r < 0)
			return r;
		s->parent_at++;
		r = section_list_kind(s, k);
		if (r != 1)
			return r;
	}
	return section_list_from(s, s->listing_kind + 1);
}

static void on_page(void *userdata, const struct aws_result *res, struct job_observation **items, size_t n,
		    bool final)
{
	struct discovery_section *s = userdata;

	if (final)
		s->call = NULL; /* no longer valid once the last callback runs */
	if (res->outcome == AWS_CANCELLED) {
		for (size_t i = 0; i < n; i++)
			job_observation_free(items[i]);
		free(items);
		return;
	}
	if (res->outcome == AWS_OK) {
		s->stats.pages++;
		for (size_t i = 0; i < n; i++)
			section_handle(s, items[i]);
	}
	for (size_t i = 0; i < n; i++)
		job_observation_free(items[i]);
	free(items);
	if (!final)
		return;
	/* One listing of a section is the List of each of its kinds in turn;
	 * the vanished pass needs all of them. */
	if (res->outcome == AWS_OK && !s->d->freeing) {
		int r = section_list_next(s);
		if (r >= 0)
			return;
		s->call = NULL;
		if (r != KIND_INVALID) {
			struct aws_result failed = {.outcome = AWS_CLIENT};
			snprintf(failed.error_type, sizeof(failed.error_type), "internal");
			snprintf(failed.error_message, sizeof(failed.error_message), "cannot list %s: %s",
				 resource_kind_to_string((enum resource_kind)(s->listing_kind)),
				 strerror(-r));
			res = &failed;
			on_listing_end(s, res);
			return;
		}
	}
	on_listing_end(s, res);
}

static void on_listing_end(struct discovery_section *s, const struct aws_result *res)
{
	s->stats.listings_completed++;
	/* One line per listing, not per job: a fleet is 100k jobs. */
	if (s->listing_added)
		log_info("discover %s: watching %zu new jobs", s->name, s->listing_added);
	if (res->outcome == AWS_OK) {
		if (!s->listing_capped)
			section_vanished_pass(s);
		s->stats.last_listing_jobs = s->listing_jobs;
		s->stats.last_success_ms = (int64_t)now_realtime_ms();
		s->stats.capped = s->listing_capped;
		if (s->failing)
			log_notice("discover %s: listing works again (%zu jobs)", s->name, s->listing_jobs);
		s->failing = false;
		log_debug("discover %s: %zu jobs listed", s->name, s->listing_jobs);
	} else {
		char what[768];

		s->stats.listings_failed++;
		aws_result_format(res, what, sizeof(what));
		if (!s->failing)
			log_warning("discover %s: listing jobs failed: %s (retrying every interval)",
				    s->name, what);
		s->failing = true;
	}
	section_rearm(s);
}

static void section_timer_cb(uv_timer_t *t)
{
	struct discovery_section *s = t->data;
	int r;

	if (s->d->freeing || s->call)
		return;
	s->n_seen = 0;
	strv_free(s->listed, s->n_listed);
	s->listed = NULL;
	s->n_listed = s->alloc_listed = 0;
	s->listing_jobs = 0;
	s->listing_added = 0;
	s->listing_capped = false;
	s->stats.listings++;
	r = section_list_from(s, 0);
	if (r == KIND_INVALID) {
		/* Nothing to list (per-parent kinds without a parent yet): a
		 * complete listing of nothing. */
		s->call = NULL;
		on_listing_end(s, &(struct aws_result){.outcome = AWS_OK});
		return;
	}
	if (r < 0) {
		s->call = NULL;
		s->stats.listings_failed++;
		s->stats.listings_completed++;
		log_warning_errno(r, "discover %s: cannot list jobs: %m", s->name);
		section_rearm(s);
	}
}

static void section_free(struct discovery_section *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->source);
	free(s->collaboration_id);
	free(s->model_arn);
	free(s->membership_id);
	free(s->seen);
	strv_free(s->parents, s->n_parents);
	strv_free(s->listed, s->n_listed);
	free(s);
}

static void discovery_really_free(struct discovery *d)
{
	for (size_t i = 0; i < d->n_secs; i++)
		section_free(d->secs[i]);
	free(d->secs);
	free(d);
}

static void timer_closed(uv_handle_t *h)
{
	struct discovery_section *s = h->data;
	struct discovery *d = s->d;

	if (--d->open_timers == 0)
		discovery_really_free(d);
}

/* After a start or a reload: the jobs each section refreshes through its
 * Lists only (another member's, found by a collaboration's List). */
static void discovery_mark_list_only(struct discovery *d)
{
	size_t n = tracker_size(d->tracker);

	for (size_t i = 0; i < n; i++) {
		struct tracked_job *j = tracker_job_at(d->tracker, i);
		enum resource_kind k = resource_kind_from_arn(j->arn, NULL);

		if (k == KIND_INVALID)
			continue;
		j->list_only = resource_kind_info(k)->list_only;
		for (size_t s = 0; s < d->n_secs && !j->list_only; s++)
			if (j->source && strcmp(j->source, d->secs[s]->source) == 0)
				j->list_only = (d->secs[s]->kinds & (1u << k)) &&
					       discover_is_list_only(k, j->arn, d->secs[s]->collaboration_id,
								     d->secs[s]->membership_id);
	}
}

int discovery_new(struct uv_loop_s *loop, struct aws_client *aws, struct tracker *tracker,
		  const struct config_discover *secs, size_t n, const struct discovery_callbacks *cb,
		  struct discovery **ret)
{
	struct discovery *d;

	if (!loop || !aws || !tracker || (n && !secs) || !ret)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->loop = loop;
	d->aws = aws;
	d->tracker = tracker;
	if (cb)
		d->cb = *cb;
	d->secs = calloc(n ? n : 1, sizeof(*d->secs));
	if (!d->secs) {
		free(d);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct discovery_section *s = calloc(1, sizeof(*s));
		struct dynbuf src;

		if (!s)
			goto oom;
		d->secs[d->n_secs] = s;
		s->d = d;
		dynbuf_init(&src, 4096);
		s->name = strdup(secs[i].name ? secs[i].name : "");
		s->collaboration_id = strdup_or_null(secs[i].collaboration_id);
		s->model_arn = strdup_or_null(secs[i].configured_audience_model_arn);
		s->membership_id = strdup_or_null(secs[i].membership_id);
		/* A section built without the configuration's defaults lists
		 * audience generation jobs, as before. */
		s->kinds = secs[i].kinds ? secs[i].kinds : 1u << KIND_AUDIENCE_GENERATION_JOB;
		s->interval_ms = secs[i].interval_ms ? secs[i].interval_ms : 300000;
		if (dynbuf_appendf(&src, DISCOVERY_SOURCE_PREFIX "%s", s->name ? s->name : "") < 0) {
			dynbuf_free(&src);
			s->source = NULL;
		} else {
			s->source = dynbuf_take(&src);
		}
		if (!s->name || !s->source || (secs[i].collaboration_id && !s->collaboration_id) ||
		    (secs[i].configured_audience_model_arn && !s->model_arn) ||
		    (secs[i].membership_id && !s->membership_id)) {
			section_free(s);
			d->secs[d->n_secs] = NULL;
			goto oom;
		}
		uv_timer_init(loop, &s->timer);
		s->timer.data = s;
		d->n_secs++;
		d->open_timers++;
	}
	discovery_mark_list_only(d);
	*ret = d;
	return 0;
oom:
	discovery_free(d);
	return -ENOMEM;
}

struct discovery *discovery_free(struct discovery *d)
{
	if (!d || d->freeing)
		return NULL;
	d->freeing = true;
	/* A cancelled listing's callback runs inside aws_call_cancel(). */
	for (size_t i = 0; i < d->n_secs; i++)
		if (d->secs[i]->call)
			aws_call_cancel(d->secs[i]->call);
	if (d->open_timers == 0) {
		discovery_really_free(d);
		return NULL;
	}
	for (size_t i = 0; i < d->n_secs; i++)
		uv_close((uv_handle_t *)&d->secs[i]->timer, timer_closed);
	return NULL;
}

int discovery_start(struct discovery *d)
{
	if (!d || d->freeing)
		return -EINVAL;
	for (size_t i = 0; i < d->n_secs; i++)
		if (!d->secs[i]->call)
			uv_timer_start(&d->secs[i]->timer, section_timer_cb, 0, 0);
	return 0;
}

size_t discovery_count(const struct discovery *d)
{
	return d ? d->n_secs : 0;
}

const struct discovery_stats *discovery_stats_at(const struct discovery *d, size_t i, const char **ret_name)
{
	if (!d || i >= d->n_secs)
		return NULL;
	if (ret_name)
		*ret_name = d->secs[i]->name;
	return &d->secs[i]->stats;
}
