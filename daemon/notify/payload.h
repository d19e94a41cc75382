/* Webhook payload builders: one event in, one malloc'd JSON body out.
 *
 * Three formats:
 *  - json: the Standard Webhooks envelope
 *      {"type": "job.status_changed", "timestamp": RFC 3339 of detection,
 *       "data": {jobArn, name, previousStatus, status, statusDetails,
 *                createTime, updateTime, configuredAudienceModelArn,
 *                collaborationId, metrics, region, eventId}}
 *  - slack: {"text": one mrkdwn line, "blocks": [a section with it]}
 *  - alertmanager-webhook: the Alertmanager webhook v4 document with one
 *    alert (what Alertmanager sends its own receivers; for chat bridges).
 * (format = alertmanager pushes alerts into Alertmanager's API instead:
 * notify/alertmanager.h.  Both use payload_alert_build() for the alert.)
 *
 * Every body stays under PAYLOAD_MAX_BYTES: long free-text fields (the status
 * message, the name) are truncated with a marker.
 */
#ifndef JW_NOTIFY_PAYLOAD_H
#define JW_NOTIFY_PAYLOAD_H

#include <stdbool.h>

#include "event.h"

#define PAYLOAD_MAX_BYTES (20 * 1024)
/* Longest status message copied into a payload (bytes, before escaping). */
#define PAYLOAD_MAX_MESSAGE 4096
/* Caps on the other string fields (an ARN is at most 2048 by the API's
 * pattern, and validated): names, status codes, anything else. */
#define PAYLOAD_MAX_FIELD 2048
#define PAYLOAD_MAX_NAME  256
#define PAYLOAD_MAX_CODE  256

enum payload_format {
	PAYLOAD_FORMAT_JSON,
	PAYLOAD_FORMAT_SLACK,
	PAYLOAD_FORMAT_ALERTMANAGER_WEBHOOK,
	PAYLOAD_FORMAT_ALERTMANAGER, /* not an event payload: pushed by notify/alertmanager.c */
	_PAYLOAD_FORMAT_MAX,
	PAYLOAD_FORMAT_INVALID = -1,
};

const char *payload_format_to_string(enum payload_format f);
enum payload_format payload_format_from_string(const char *s);

/* Alert names: one per condition, never changing while it holds. */
#define PAYLOAD_ALERT_FAILED	"AudienceGenerationJobFailed"
#define PAYLOAD_ALERT_STUCK	"AudienceGenerationJobStuck"
#define PAYLOAD_ALERT_GONE	"AudienceGenerationJobGone"
#define PAYLOAD_ALERT_NOT_FOUND "AudienceGenerationJobNotFound"

/* What an alert says about a job; every field borrowed, NULL when unknown. */
struct payload_alert {
	const char *alertname; /* PAYLOAD_ALERT_* */
	/* Label resource_type: NULL for audience generation jobs, whose labels
	 * stay as they were. */
	const char *resource_type;
	const char *arn;
	const char *name;
	const char *collaboration_id;
	const char *region;
	const char *status;
	const char *previous_status;
	const char *status_code;
	const char *status_message;
	const char *summary;
	const char *event_id;
};

/* {"labels": {...}, "annotations": {...}, "generatorURL": "..."}: the part of
 * an Alertmanager alert that stays the same while its condition holds.  The
 * labels are the identity only (alertname, job_arn, job_name,
 * collaboration_id, region, severity), so a resolution carries exactly the
 * labels of what it resolves; status and details are annotations.  NULL on
 * ENOMEM. */
struct cJSON *payload_alert_build(const struct payload_alert *a, size_t message_max);

/* Whether an alertmanager-webhook hook gets this event at all: firing events
 * (*_FAILED status changes, job.stuck, job.gone, job.not_found) and resolving ones (any
 * status change to ACTIVE -- it resolves a failed or stuck alert; a resolve
 * for an alert that never fired is harmless to Alertmanager receivers).
 * job.discovered and plain progress are not relevant. */
bool payload_alertmanager_relevant(const struct event *e);

/* The one-line human summary used by slack, journald and alert summaries,
 * without Slack escaping (malloc'd, NULL on ENOMEM). */
char *payload_summary_line(const struct event *e);

/* Escapes &, <, > as Slack requires (&amp; &lt; &gt;).  malloc'd. */
char *payload_slack_escape(const char *s);

/* Builders: malloc'd NUL-terminated JSON or NULL (ENOMEM, or an event the
 * format does not carry -- alertmanager for an irrelevant event).
 * e is borrowed. */
char *payload_build_json(const struct event *e);
char *payload_build_slack(const struct event *e);
char *payload_build_alertmanager(const struct event *e);
char *payload_build(enum payload_format f, const struct event *e);

#endif
