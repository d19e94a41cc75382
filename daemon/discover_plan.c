/* Which Lists one listing of a [discover] section is made of: the List of
 * each of its kinds in table order (parents first), the collaboration's or
 * the membership's, and for the per-parent kinds (kinds.h list_per_parent)
 * one List per parent taken when the kind's turn comes; and which jobs a
 * listing that ended well covered (discover_covers()). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/client.h"
#include "discover_internal.h"

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
bool discover_covers(const struct discovery_section *s, const struct tracked_job *j)
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
		return aws_list_jobs(s->d->aws, s->collaboration_id, s->model_arn, discover_on_page, s,
				     &s->call);
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
		    discover_on_page, s, &s->call);
	}
	/* A collaboration's List shows every member's resources; without
	 * collaboration_id, the membership's. */
	if (s->collaboration_id && ki->collab_list_operation) {
		s->listing_collab = true;
		return aws_list_scoped(s->d->aws, k,
				       &(struct aws_list_scope){.collaboration_id = s->collaboration_id},
				       discover_on_page, s, &s->call);
	}
	return aws_list_scoped(
	    s->d->aws, k,
	    &(struct aws_list_scope){.membership_id = ki->membership_scoped ? s->membership_id : NULL},
	    discover_on_page, s, &s->call);
}

/* Starts the List of the section's first kind from `from` on; KIND_INVALID
 * when there is none left.  Kinds go in table order: parents before their
 * children, so a child List sees the parents this listing found. */
int discover_list_from(struct discovery_section *s, int from)
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
int discover_list_next(struct discovery_section *s)
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
	return discover_list_from(s, s->listing_kind + 1);
}

void discover_listed_reset(struct discovery_section *s)
{
	strv_free(s->listed, s->n_listed);
	s->listed = NULL;
	s->n_listed = s->alloc_listed = 0;
}

void discover_listed_sort(struct discovery_section *s)
{
	if (s->n_listed)
		qsort(s->listed, s->n_listed, sizeof(*s->listed), str_cmp);
}

void discover_plan_free(struct discovery_section *s)
{
	strv_free(s->parents, s->n_parents);
	s->parents = NULL;
	s->n_parents = s->parent_at = 0;
	discover_listed_reset(s);
}
