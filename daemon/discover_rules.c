/* The pure rules of discovery (discover.h): what one summary asks for, which
 * jobs a complete listing looks for, which resources are list-only. */
#include <string.h>

#include "discover.h"

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
