/* Alert conditions from the job table, for the Alertmanager hooks.
 *
 * A condition holds while the job is in it, not when an event happened:
 *  - AudienceGenerationJobFailed: a watched job in a *_FAILED status (it
 *    resolves when the job leaves that status or is no longer watched);
 *  - AudienceGenerationJobStuck: job.stuck was reported and the job has not
 *    moved since;
 *  - AudienceGenerationJobGone: the job went away less than gone_alert_for
 *    ago (a deletion needs no action: the alert resolves by itself);
 *  - AudienceGenerationJobNotFound: job.not_found was reported for a job
 *    never seen, and it still has not appeared.
 * A hook's `on` filter applies as to the events of the same kind. */
#ifndef JW_ALERTS_H
#define JW_ALERTS_H

#include <stddef.h>
#include <stdint.h>

#include "notify/alertmanager.h"

struct config_webhook;
struct store;
struct tracker;

struct alerts_ctx {
	struct tracker *tracker;
	struct store *store; /* for the status before a failure */
	const char *region;
	int64_t stuck_after_ms;
};

/* Every condition that holds now for hook w, sorted as am_client_update()
 * wants.  *ret is malloc'd (strings borrowed from the tracker until it
 * changes: use at once); returns the count or a negative errno. */
int alerts_collect(const struct alerts_ctx *x, const struct config_webhook *w, int64_t gone_alert_for_ms,
		   int64_t now_ms, struct am_condition **ret);

/* am_describe_fn for a condition of alerts_collect(); userdata is the
 * struct alerts_ctx. */
char *alerts_describe(const struct am_condition *c, void *userdata);

#endif
