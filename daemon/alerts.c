#include "alerts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "model.h"
#include "notify/payload.h"
#include "store.h"
#include "tracker.h"
#include "util.h"

static int cond_cmp(const void *x, const void *y)
{
	const struct am_condition *a = x, *b = y;
	int r = strcmp(a->alertname, b->alertname);

	return r ? r : strcmp(a->arn, b->arn);
}

static int64_t first_nonzero(int64_t a, int64_t b)
{
	return a > 0 ? a : b;
}

int alerts_collect(const struct alerts_ctx *x, const struct config_webhook *w, int64_t gone_alert_for_ms,
		   int64_t now_ms, struct am_condition **ret)
{
	size_t n = 0, cap = 0;
	struct am_condition *list = NULL;

	*ret = NULL;
	for (size_t i = 0; i < tracker_size(x->tracker); i++) {
		const struct tracked_job *j = tracker_job_at(x->tracker, i);
		struct am_condition c = {.arn = j->arn};
		enum job_status st = (enum job_status)j->status;

		if (!j->watched)
			continue;
		if (j->gone) {
			/* The 404 that ended it was the last poll. */
			c.starts_ms = j->last_poll_ms > j->last_seen_ms ? j->last_poll_ms : j->last_seen_ms;
			if (now_ms - c.starts_ms >= gone_alert_for_ms ||
			    !config_webhook_wants(w, EVENT_JOB_GONE, JOB_STATUS_GONE))
				continue;
			c.alertname = PAYLOAD_ALERT_GONE;
		} else if (st == JOB_STATUS_INVALID && j->not_found_ms > 0) {
			/* Never seen, not found past the grace: until it appears. */
			if (!config_webhook_wants(w, EVENT_JOB_NOT_FOUND, JOB_STATUS_INVALID))
				continue;
			c.alertname = PAYLOAD_ALERT_NOT_FOUND;
			c.starts_ms = j->not_found_ms;
		} else if (job_status_is_failed(st)) {
			if (!config_webhook_wants(w, EVENT_JOB_STATUS_CHANGED, st))
				continue;
			c.alertname = PAYLOAD_ALERT_FAILED;
			c.starts_ms = first_nonzero(j->status_since_ms, j->first_seen_ms);
		} else if (j->stuck_emitted) {
			if (!config_webhook_wants(w, EVENT_JOB_STUCK, st))
				continue;
			c.alertname = PAYLOAD_ALERT_STUCK;
			c.starts_ms =
			    first_nonzero(j->status_since_ms, j->first_seen_ms) + x->stuck_after_ms;
		} else {
			continue;
		}
		if (n == cap) {
			struct am_condition *l = realloc(list, (cap ? cap * 2 : 16) * sizeof(*l));
			if (!l) {
				free(list);
				return -ENOMEM;
			}
			list = l;
			cap = cap ? cap * 2 : 16;
		}
		list[n++] = c;
	}
	if (n > 1)
		qsort(list, n, sizeof(*list), cond_cmp);
	*ret = list;
	return (int)n;
}

char *alerts_describe(const struct am_condition *c, void *userdata)
{
	const struct alerts_ctx *x = userdata;
	const struct tracked_job *j = tracker_find(x->tracker, c->arn);
	_cleanup_free_ char *prev = NULL, *summary = NULL;
	const char *status, *name;
	enum resource_kind kind;
	cJSON *o;
	char *out;

	if (!j)
		return NULL;
	kind = resource_kind_from_arn(j->arn, NULL);
	if (kind == KIND_INVALID)
		kind = KIND_AUDIENCE_GENERATION_JOB;
	status = j->gone ? "GONE" : job_status_to_string((enum job_status)j->status);
	name = !str_empty(j->name) ? j->name : arn_job_id(j->arn);
	if (status && strcmp(c->alertname, PAYLOAD_ALERT_FAILED) == 0)
		(void)store_previous_status(x->store, j->arn, status, &prev);
	{
		const char *who = name ? name : j->arn, *st = status ? status : "?";
		const char *noun = resource_kind_info(kind)->noun;
		int r;
		if (strcmp(c->alertname, PAYLOAD_ALERT_GONE) == 0)
			r = asprintf(&summary, "%s \"%s\" is gone", noun, who);
		else if (strcmp(c->alertname, PAYLOAD_ALERT_NOT_FOUND) == 0)
			r = asprintf(&summary, "%s \"%s\" is not found (check the ARN)", noun, who);
		else if (strcmp(c->alertname, PAYLOAD_ALERT_STUCK) == 0)
			r = asprintf(&summary, "%s \"%s\" stuck in %s", noun, who, st);
		else
			r = asprintf(&summary, "%s \"%s\" is %s", noun, who, st);
		if (r < 0)
			summary = NULL;
	}
	if (!summary)
		return NULL;
	struct payload_alert pa = {
	    .alertname = c->alertname,
	    .resource_type = kind != KIND_AUDIENCE_GENERATION_JOB ? resource_kind_to_string(kind) : NULL,
	    .arn = j->arn,
	    .name = j->name,
	    .collaboration_id = j->collaboration_id,
	    .region = x->region,
	    .status = status,
	    .previous_status = prev,
	    .status_code = j->status_code,
	    .status_message = j->status_message,
	    .summary = summary,
	};
	o = payload_alert_build(&pa, PAYLOAD_MAX_MESSAGE);
	if (!o)
		return NULL;
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return out;
}
