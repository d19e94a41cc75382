/* Discovery and bulk refresh (see discover.h): the sections' timers and
 * listings, and what each summary does to the tracker.  Which Lists a
 * listing is made of is discover_plan.c's; the pure rules discover_rules.c's. */
#include "discover.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "aws/client.h"
#include "discover_internal.h"
#include "log.h"
#include "util.h"

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
	if (!j->list_only) {
		/* Stored with the row the observation writes, or the next. */
		j->list_only = true;
		j->dirty = true;
	}
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
	/* Followed through the List: what no Get of ours can read, unless
	 * the operator watches it otherwise ([jobs], the control API: then
	 * its Get is asked, as they asked). */
	if (discover_is_list_only(summary->kind, summary->arn,
				  s->listing_collab ? s->collaboration_id : NULL, s->membership_id) &&
	    (!j || j->list_only || (j->source && strcmp(j->source, s->source) == 0))) {
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
	discover_listed_sort(s);
	for (size_t i = 0; i < n; i++) {
		struct tracked_job *j = tracker_job_at(d->tracker, i);

		if (!discover_should_check_vanished(j, s->source) || !discover_covers(s, j))
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

void discover_on_page(void *userdata, const struct aws_result *res, struct job_observation **items, size_t n,
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
		int r = discover_list_next(s);
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
	discover_listed_reset(s);
	s->listing_jobs = 0;
	s->listing_added = 0;
	s->listing_capped = false;
	s->stats.listings++;
	r = discover_list_from(s, 0);
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
	discover_plan_free(s);
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
		bool was = j->list_only;

		if (k == KIND_INVALID || resource_kind_info(k)->list_only)
			continue;
		/* The section that found it decides while it lists the kind
		 * (its ids may have changed); without it, the stored flag
		 * stays. */
		for (size_t s = 0; s < d->n_secs; s++)
			if (j->source && strcmp(j->source, d->secs[s]->source) == 0 &&
			    (d->secs[s]->kinds & (1u << k)))
				j->list_only = discover_is_list_only(k, j->arn, d->secs[s]->collaboration_id,
								     d->secs[s]->membership_id);
		if (j->list_only != was)
			j->dirty = true;
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
