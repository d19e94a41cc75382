#include "notify/journal.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "log.h"
#include "notify/payload.h"
#include "util.h"

/* Fields of one entry: MESSAGE, MESSAGE_ID, PRIORITY, SYSLOG_IDENTIFIER, the
 * eleven JOB_ and EVENT_ fields and, for kinds other than audience generation
 * jobs, RESOURCE_TYPE, RESOURCE_ARN and the four of metrics/logs publishing. */
#define JOURNAL_MAX_FIELDS 22
/* Per-run cap so a large backlog does not starve the loop. */
#define JOURNAL_SINK_BATCH	  256
#define JOURNAL_SINK_MAX_ATTEMPTS 5
#define JOURNAL_SINK_RETRY_MS	  5000

static const char *const journal_message_ids[_EVENT_TYPE_MAX] = {
    [EVENT_JOB_DISCOVERED] = JOURNAL_MESSAGE_ID_JOB_DISCOVERED,
    [EVENT_JOB_STATUS_CHANGED] = JOURNAL_MESSAGE_ID_JOB_STATUS_CHANGED,
    [EVENT_JOB_STUCK] = JOURNAL_MESSAGE_ID_JOB_STUCK,
    [EVENT_JOB_GONE] = JOURNAL_MESSAGE_ID_JOB_GONE,
    [EVENT_JOB_NOT_FOUND] = JOURNAL_MESSAGE_ID_JOB_NOT_FOUND,
};

const char *journal_message_id(enum event_type t)
{
	if (t < 0 || t >= _EVENT_TYPE_MAX)
		return NULL;
	return journal_message_ids[t];
}

int journal_priority(const struct event *e)
{
	if (e->type == EVENT_JOB_GONE || job_status_is_failed(e->status))
		return LOG_ERR;
	/* A status this version does not know may be a failure: warn. */
	if (e->type == EVENT_JOB_STUCK || e->type == EVENT_JOB_NOT_FOUND || job_status_is_unknown(e->status))
		return LOG_WARNING;
	/* A trained model or inference job whose metrics or logs could not be
	 * published: the status moved on, but something needs a look. */
	if (e->job && ((e->job->metrics_status && strcmp(e->job->metrics_status, "PUBLISH_FAILED") == 0) ||
		       (e->job->logs_status && strcmp(e->job->logs_status, "PUBLISH_FAILED") == 0)))
		return LOG_WARNING;
	/* ACTIVE, and INACTIVE for the kinds that have it. */
	if (job_status_class(e->status) == STATUS_CLASS_SETTLED)
		return LOG_NOTICE;
	return LOG_INFO;
}

char *journal_format_message(const struct event *e)
{
	return payload_summary_line(e);
}

struct fields {
	struct iovec iov[JOURNAL_MAX_FIELDS];
	size_t n;
};

static void fields_free(struct fields *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->iov[i].iov_base);
	f->n = 0;
}

/* "KEY=" + value as one iovec; the value is copied byte for byte, so
 * newlines and '%' reach journald untouched (sd_journal_sendv sends
 * newline-containing values in the binary-safe form). */
static int fields_add(struct fields *f, const char *key, const char *value)
{
	size_t kl, vl;
	char *p;

	if (!value)
		return 0;
	if (f->n == JOURNAL_MAX_FIELDS)
		return -E2BIG;
	kl = strlen(key);
	vl = strlen(value);
	p = malloc(kl + 1 + vl);
	if (!p)
		return -ENOMEM;
	memcpy(p, key, kl);
	p[kl] = '=';
	memcpy(p + kl + 1, value, vl);
	f->iov[f->n].iov_base = p;
	f->iov[f->n].iov_len = kl + 1 + vl;
	f->n++;
	return 0;
}

int journal_send_event(const struct event *e)
{
	const struct job_observation *o = e->job;
	_cleanup_free_ char *msg = journal_format_message(e);
	struct fields f = {.n = 0};
	char prio[4], ut[40];
	bool other = o && o->kind != KIND_AUDIENCE_GENERATION_JOB;
	int r = 0;

	if (!msg)
		return -ENOMEM;
	prio[0] = (char)('0' + journal_priority(e));
	prio[1] = '\0';
	ut[0] = '\0';
	if (o && o->update_time_ms > 0)
		format_iso8601_ms(o->update_time_ms, ut, sizeof(ut));

	const char *kv[][2] = {
	    {"MESSAGE", msg},
	    {"MESSAGE_ID", journal_message_id(e->type)},
	    {"PRIORITY", prio},
	    {"SYSLOG_IDENTIFIER", program_invocation_short_name},
	    {"EVENT_ID", e->id},
	    {"EVENT_TYPE", event_type_to_string(e->type)},
	    {"JOB_STATUS", job_status_to_string(e->status)},
	    {"JOB_PREVIOUS_STATUS", job_status_to_string(e->previous_status)},
	    {"JOB_ARN", o ? o->arn : NULL},
	    {"JOB_NAME", o ? o->name : NULL},
	    {"JOB_STATUS_CODE", o ? o->status_code : NULL},
	    {"JOB_STATUS_MESSAGE", o ? o->status_message : NULL},
	    {"JOB_UPDATE_TIME", ut[0] ? ut : NULL},
	    {"JOB_COLLABORATION_ID", o ? o->collaboration_id : NULL},
	    {"JOB_CONFIGURED_AUDIENCE_MODEL_ARN", o ? o->configured_audience_model_arn : NULL},
	    /* Audience generation jobs' entries keep exactly their fields. */
	    {"RESOURCE_TYPE", other ? resource_kind_to_string(o->kind) : NULL},
	    {"RESOURCE_ARN", other ? o->arn : NULL},
	    {"RESOURCE_METRICS_STATUS", o ? o->metrics_status : NULL},
	    {"RESOURCE_METRICS_STATUS_DETAILS", o ? o->metrics_status_details : NULL},
	    {"RESOURCE_LOGS_STATUS", o ? o->logs_status : NULL},
	    {"RESOURCE_LOGS_STATUS_DETAILS", o ? o->logs_status_details : NULL},
	};
	if (!log_journal_available()) {
		/* Outside systemd (a container, a foreground run) libsystemd
		 * would drop the entry and report success: the event goes to
		 * stderr instead, and only then counts as delivered. */
		static bool said;
		if (!said)
			log_notice("journald is not running: events are written to stderr");
		said = true;
		log_record(journal_priority(e), (const char *const(*)[2])kv, ELEMENTSOF(kv));
		return 0;
	}
	for (size_t i = 0; i < ELEMENTSOF(kv) && r == 0; i++)
		r = fields_add(&f, kv[i][0], kv[i][1]);
	if (r == 0)
		r = sd_journal_sendv(f.iov, (int)f.n);
	fields_free(&f);
	return r < 0 ? r : 0;
}
