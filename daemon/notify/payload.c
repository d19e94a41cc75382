#include "notify/payload.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "kinds.h"
#include "util.h"

static const char *const payload_format_names[_PAYLOAD_FORMAT_MAX] = {
    [PAYLOAD_FORMAT_JSON] = "json",
    [PAYLOAD_FORMAT_SLACK] = "slack",
    [PAYLOAD_FORMAT_ALERTMANAGER_WEBHOOK] = "alertmanager-webhook",
    [PAYLOAD_FORMAT_ALERTMANAGER] = "alertmanager",
};

const char *payload_format_to_string(enum payload_format f)
{
	if (f < 0 || f >= _PAYLOAD_FORMAT_MAX)
		return NULL;
	return payload_format_names[f];
}

enum payload_format payload_format_from_string(const char *s)
{
	if (!s)
		return PAYLOAD_FORMAT_INVALID;
	for (int i = 0; i < _PAYLOAD_FORMAT_MAX; i++)
		if (strcmp(s, payload_format_names[i]) == 0)
			return (enum payload_format)i;
	return PAYLOAD_FORMAT_INVALID;
}

static const char *status_or_null(enum job_status s)
{
	return job_status_to_string(s);
}

/* The job's name for humans: the name, else the id part of the ARN. */
static const char *display_name(const struct event *e)
{
	const struct job_observation *o = e->job;

	if (o && !str_empty(o->name))
		return o->name;
	if (o && o->arn)
		return arn_job_id(o->arn) ? arn_job_id(o->arn) : o->arn;
	return "?";
}

/* Copies at most max bytes of s without splitting a UTF-8 sequence, adding
 * "..." when something was cut.  Control characters become spaces when
 * one_line is set (a summary is one line; the full text is elsewhere). */
static char *clip_text(const char *s, size_t max, bool one_line)
{
	size_t n = strlen(s);
	bool cut = false;
	char *r;

	if (n > max) {
		n = max;
		/* Back off over continuation bytes so the cut lands on a boundary. */
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
		cut = true;
	}
	r = malloc(n + 4);
	if (!r)
		return NULL;
	memcpy(r, s, n);
	if (cut)
		memcpy(r + n, "...", 3), n += 3;
	r[n] = '\0';
	if (one_line)
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)r[i] < 0x20 || r[i] == 0x7f)
				r[i] = ' ';
	return r;
}

/* Summary lines cap the status message much lower than the JSON body. */
#define SUMMARY_MAX_MESSAGE 500

char *payload_summary_line(const struct event *e)
{
	const struct job_observation *o = e->job;
	const char *st = status_or_null(e->status), *prev = status_or_null(e->previous_status);
	_cleanup_free_ char *name = clip_text(display_name(e), PAYLOAD_MAX_NAME, true);
	_cleanup_free_ char *msg = NULL, *code = NULL;
	const char *noun = resource_kind_info(o ? o->kind : KIND_AUDIENCE_GENERATION_JOB)
			       ? resource_kind_info(o ? o->kind : KIND_AUDIENCE_GENERATION_JOB)->noun
			       : "resource";
	struct dynbuf b;

	if (!name)
		return NULL;
	if (o && o->status_code) {
		code = clip_text(o->status_code, PAYLOAD_MAX_CODE, true);
		if (!code)
			return NULL;
	}
	if (o && o->status_message) {
		msg = clip_text(o->status_message, SUMMARY_MAX_MESSAGE, true);
		if (!msg)
			return NULL;
	}
	dynbuf_init(&b, 4096);
	switch (e->type) {
	case EVENT_JOB_DISCOVERED:
		dynbuf_appendf(&b, "%s \"%s\" discovered in status %s", noun, name, st ? st : "?");
		break;
	case EVENT_JOB_STATUS_CHANGED:
		dynbuf_appendf(&b, "%s \"%s\" %s \xe2\x86\x92 %s", noun, name, prev ? prev : "?",
			       st ? st : "?");
		break;
	case EVENT_JOB_STUCK: {
		char since[40] = "";
		if (o && o->update_time_ms > 0)
			format_iso8601_ms(o->update_time_ms, since, sizeof(since));
		dynbuf_appendf(&b, "%s \"%s\" stuck in %s", noun, name, st ? st : "?");
		if (since[0])
			dynbuf_appendf(&b, " since %s", since);
		break;
	}
	case EVENT_JOB_GONE:
		dynbuf_appendf(&b, "%s \"%s\" is gone (last status %s)", noun, name, prev ? prev : "?");
		break;
	case EVENT_JOB_NOT_FOUND:
		dynbuf_appendf(&b,
			       "%s \"%s\" not found: the service has answered "
			       "ResourceNotFoundException since it was first asked for (check the ARN)",
			       noun, name);
		break;
	default:
		dynbuf_appendf(&b, "%s \"%s\": unknown event", noun, name);
		break;
	}
	/* The reason only matters where there is one: failures and stuck jobs
	 * carry statusDetails, progress does not. */
	if (e->type != EVENT_JOB_GONE && e->type != EVENT_JOB_NOT_FOUND && o && (code || msg)) {
		dynbuf_appends(&b, ": ");
		if (code)
			dynbuf_appendf(&b, "%s%s", code, msg ? ": " : "");
		if (msg)
			dynbuf_appends(&b, msg);
	}
	if (!b.data) {
		dynbuf_free(&b);
		return NULL;
	}
	return dynbuf_take(&b);
}

char *payload_slack_escape(const char *s)
{
	struct dynbuf b;

	dynbuf_init(&b, 5 * strlen(s) + 1);
	if (dynbuf_append(&b, "", 0) < 0)
		return NULL;
	for (const char *p = s; *p; p++) {
		int r;
		if (*p == '&')
			r = dynbuf_appends(&b, "&amp;");
		else if (*p == '<')
			r = dynbuf_appends(&b, "&lt;");
		else if (*p == '>')
			r = dynbuf_appends(&b, "&gt;");
		else
			r = dynbuf_append(&b, p, 1);
		if (r < 0) {
			dynbuf_free(&b);
			return NULL;
		}
	}
	return dynbuf_take(&b);
}

/* Every string field goes through here, clipped: the API parser accepts
 * long strings, and a payload must always fit PAYLOAD_MAX_BYTES -- a body
 * that cannot be built is an event that can never be delivered. */
static void add_clipped(cJSON *obj, const char *k, const char *v, size_t max)
{
	_cleanup_free_ char *c = NULL;

	if (strlen(v) > max) {
		c = clip_text(v, max, false);
		if (!c)
			return;
		v = c;
	}
	cJSON_AddStringToObject(obj, k, v);
}

static void add_str(cJSON *obj, const char *k, const char *v)
{
	if (v)
		add_clipped(obj, k, v, PAYLOAD_MAX_FIELD);
}

static void add_str_or_null(cJSON *obj, const char *k, const char *v)
{
	if (v)
		add_clipped(obj, k, v, PAYLOAD_MAX_FIELD);
	else
		cJSON_AddNullToObject(obj, k);
}

static void add_time(cJSON *obj, const char *k, int64_t ms)
{
	char buf[40];

	if (ms <= 0)
		return;
	format_iso8601_ms(ms, buf, sizeof(buf));
	cJSON_AddStringToObject(obj, k, buf);
}

/* The metrics object exactly as the API shapes it: reuse the model's
 * serializer rather than keeping a second copy of the field names. */
static void add_metrics(cJSON *data, const struct job_observation *o)
{
	_cleanup_free_ char *api = NULL;
	cJSON *full, *m;

	if (!o->has_metrics)
		return;
	api = job_observation_to_json(o);
	if (!api)
		return;
	full = cJSON_Parse(api);
	if (!full)
		return;
	m = cJSON_DetachItemFromObjectCaseSensitive(full, "metrics");
	if (m)
		cJSON_AddItemToObject(data, "metrics", m);
	cJSON_Delete(full);
}

static char *print_capped(cJSON *root)
{
	char *out = cJSON_PrintUnformatted(root);

	if (out && strlen(out) >= PAYLOAD_MAX_BYTES) {
		free(out);
		out = NULL;
		errno = E2BIG;
	}
	return out;
}

/* message_max shrinks on the second try when a body would exceed the cap. */
static char *build_json(const struct event *e, size_t message_max, bool with_metrics)
{
	const struct job_observation *o = e->job;
	char ts[40];
	cJSON *root = cJSON_CreateObject(), *data;
	char *out;

	if (!root)
		return NULL;
	add_str(root, "type", event_type_to_string(e->type));
	format_iso8601_ms(e->detected_ms, ts, sizeof(ts));
	cJSON_AddStringToObject(root, "timestamp", ts);
	data = cJSON_AddObjectToObject(root, "data");
	/* Other kinds say what they are; an audience generation job's payload
	 * stays as it always was, so that existing receivers keep working. */
	if (o && o->kind != KIND_AUDIENCE_GENERATION_JOB) {
		add_str(data, "resourceType", resource_kind_to_string(o->kind));
		add_str(data, "resourceArn", o->arn);
	}
	add_str_or_null(data, "jobArn", o ? o->arn : NULL);
	add_str_or_null(data, "name", o ? o->name : NULL);
	add_str_or_null(data, "previousStatus", status_or_null(e->previous_status));
	add_str_or_null(data, "status", status_or_null(e->status));
	if (o && (o->status_code || o->status_message)) {
		cJSON *d = cJSON_AddObjectToObject(data, "statusDetails");
		if (o->status_code)
			add_clipped(d, "statusCode", o->status_code, PAYLOAD_MAX_CODE);
		if (o->status_message) {
			char *m = clip_text(o->status_message, message_max, false);
			if (m)
				cJSON_AddStringToObject(d, "message", m);
			free(m);
		}
	}
	if (o) {
		add_time(data, "createTime", o->create_time_ms);
		add_time(data, "updateTime", o->update_time_ms);
		add_str(data, "configuredAudienceModelArn", o->configured_audience_model_arn);
		add_str(data, "collaborationId", o->collaboration_id);
		add_str(data, "metricsStatus", o->metrics_status);
		add_str(data, "metricsStatusDetails", o->metrics_status_details);
		add_str(data, "logsStatus", o->logs_status);
		add_str(data, "logsStatusDetails", o->logs_status_details);
		if (with_metrics)
			add_metrics(data, o);
	}
	add_str(data, "region", e->region);
	cJSON_AddStringToObject(data, "eventId", e->id);
	out = print_capped(root);
	cJSON_Delete(root);
	return out;
}

char *payload_build_json(const struct event *e)
{
	char *out = build_json(e, PAYLOAD_MAX_MESSAGE, true);

	if (!out && errno == E2BIG)
		out = build_json(e, 512, false);
	return out;
}

char *payload_build_slack(const struct event *e)
{
	const struct job_observation *o = e->job;
	_cleanup_free_ char *line = payload_summary_line(e);
	_cleanup_free_ char *text = NULL, *ctx = NULL;
	struct dynbuf b;
	cJSON *root, *blocks, *sec, *t, *cb, *elems, *el;
	char *out;

	if (!line)
		return NULL;
	text = payload_slack_escape(line);
	if (!text)
		return NULL;
	dynbuf_init(&b, 4096);
	dynbuf_appendf(&b, "%s \xc2\xb7 event %s", o && o->arn ? o->arn : "?", e->id);
	if (e->region)
		dynbuf_appendf(&b, " \xc2\xb7 %s", e->region);
	if (!b.data)
		return NULL;
	ctx = payload_slack_escape(b.data);
	dynbuf_free(&b);
	if (!ctx)
		return NULL;

	root = cJSON_CreateObject();
	if (!root)
		return NULL;
	/* "text" is the notification fallback; blocks render the same line
	 * plus the identifiers in a context row. */
	cJSON_AddStringToObject(root, "text", text);
	blocks = cJSON_AddArrayToObject(root, "blocks");
	sec = cJSON_CreateObject();
	cJSON_AddItemToArray(blocks, sec);
	cJSON_AddStringToObject(sec, "type", "section");
	t = cJSON_AddObjectToObject(sec, "text");
	cJSON_AddStringToObject(t, "type", "mrkdwn");
	cJSON_AddStringToObject(t, "text", text);
	cb = cJSON_CreateObject();
	cJSON_AddItemToArray(blocks, cb);
	cJSON_AddStringToObject(cb, "type", "context");
	elems = cJSON_AddArrayToObject(cb, "elements");
	el = cJSON_CreateObject();
	cJSON_AddItemToArray(elems, el);
	cJSON_AddStringToObject(el, "type", "mrkdwn");
	cJSON_AddStringToObject(el, "text", ctx);
	out = print_capped(root);
	cJSON_Delete(root);
	return out;
}

/* ---- Alertmanager ---- */

static bool am_firing(const struct event *e)
{
	return (e->type == EVENT_JOB_STATUS_CHANGED && job_status_is_failed(e->status)) ||
	       e->type == EVENT_JOB_STUCK || e->type == EVENT_JOB_GONE || e->type == EVENT_JOB_NOT_FOUND;
}

static bool am_resolving(const struct event *e)
{
	return e->type == EVENT_JOB_STATUS_CHANGED && job_status_class(e->status) == STATUS_CLASS_SETTLED;
}

bool payload_alertmanager_relevant(const struct event *e)
{
	return am_firing(e) || am_resolving(e);
}

/* A resolve carries the alertname of what it resolves, so that receivers
 * pair it with the firing alert: leaving a failed status resolves the
 * "failed" alert, anything else reaching ACTIVE resolves "stuck". */
static const char *am_alertname(const struct event *e)
{
	if (e->type == EVENT_JOB_GONE)
		return PAYLOAD_ALERT_GONE;
	if (e->type == EVENT_JOB_NOT_FOUND)
		return PAYLOAD_ALERT_NOT_FOUND;
	if (e->type == EVENT_JOB_STUCK)
		return PAYLOAD_ALERT_STUCK;
	if (am_firing(e) || job_status_is_failed(e->previous_status))
		return PAYLOAD_ALERT_FAILED;
	return PAYLOAD_ALERT_STUCK;
}

/* Alertmanager's fingerprint is a hash of the label set; ours hashes only
 * the identity (alertname + ARN) so that the firing and the resolved
 * notification of one alert share it although the status label moves. */
static void am_fingerprint(const char *alertname, const char *arn, char out[17])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	out[0] = '\0';
	if (!c)
		return;
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(c, alertname, strlen(alertname)) == 1 && EVP_DigestUpdate(c, "\n", 1) == 1 &&
	    EVP_DigestUpdate(c, arn, strlen(arn)) == 1 && EVP_DigestFinal_ex(c, md, &mdlen) == 1)
		hex_encode(md, 8, out);
	EVP_MD_CTX_free(c);
}

cJSON *payload_alert_build(const struct payload_alert *a, size_t message_max)
{
	_cleanup_free_ char *name = NULL, *code = NULL, *msg = NULL;
	char url[256] = "";
	cJSON *root = cJSON_CreateObject(), *l, *an;
	struct dynbuf b;

	if (!root)
		return NULL;
	name = clip_text(a->name ? a->name : (a->arn && arn_job_id(a->arn) ? arn_job_id(a->arn) : "?"),
			 PAYLOAD_MAX_NAME, true);
	code = a->status_code ? clip_text(a->status_code, PAYLOAD_MAX_CODE, false) : NULL;
	msg = a->status_message ? clip_text(a->status_message, message_max, false) : NULL;
	l = cJSON_AddObjectToObject(root, "labels");
	an = cJSON_AddObjectToObject(root, "annotations");
	if (!name || (a->status_code && !code) || (a->status_message && !msg) || !l || !an) {
		cJSON_Delete(root);
		return NULL;
	}
	cJSON_AddStringToObject(l, "alertname", a->alertname);
	add_str(l, "job_arn", a->arn ? a->arn : "");
	cJSON_AddStringToObject(l, "job_name", name);
	add_str(l, "collaboration_id", a->collaboration_id ? a->collaboration_id : "");
	add_str(l, "region", a->region ? a->region : "");
	add_str(l, "resource_type", a->resource_type);
	cJSON_AddStringToObject(l, "severity",
				strcmp(a->alertname, PAYLOAD_ALERT_STUCK) == 0 ||
					strcmp(a->alertname, PAYLOAD_ALERT_NOT_FOUND) == 0
				    ? "warning"
				    : "critical");

	add_str(an, "summary", a->summary ? a->summary : name);
	dynbuf_init(&b, PAYLOAD_MAX_BYTES);
	if (code || msg)
		dynbuf_appendf(&b, "%s%s%s", code ? code : "", code && msg ? ": " : "", msg ? msg : "");
	else
		dynbuf_appendf(&b, "%s", a->summary ? a->summary : name);
	if (b.data)
		cJSON_AddStringToObject(an, "description", b.data);
	dynbuf_free(&b);
	add_str(an, "status", a->status);
	add_str(an, "previous_status", a->previous_status);
	add_str(an, "status_code", code);
	add_str(an, "status_message", msg);
	add_str(an, "event_id", a->event_id);
	/* The Clean Rooms console of the job's region: the job itself is one
	 * click away from there. */
	if (a->region)
		snprintf(url, sizeof(url), "https://%s.console.aws.amazon.com/cleanrooms/home?region=%s",
			 a->region, a->region);
	cJSON_AddStringToObject(root, "generatorURL", url);
	return root;
}

static char *build_alertmanager(const struct event *e, size_t message_max)
{
	const struct job_observation *o = e->job;
	const char *alertname = am_alertname(e), *arn = o && o->arn ? o->arn : "";
	const char *status = am_firing(e) ? "firing" : "resolved";
	_cleanup_free_ char *summary = payload_summary_line(e);
	char when[40], fp[17];
	struct dynbuf gk;
	cJSON *root, *alerts, *alert, *gl, *labels, *ann;
	char *out;

	struct payload_alert pa = {
	    .alertname = alertname,
	    .resource_type =
		o && o->kind != KIND_AUDIENCE_GENERATION_JOB ? resource_kind_to_string(o->kind) : NULL,
	    .arn = arn,
	    .name = o && !str_empty(o->name) ? o->name : NULL,
	    .collaboration_id = o ? o->collaboration_id : NULL,
	    .region = e->region,
	    .status = status_or_null(e->status),
	    .previous_status = status_or_null(e->previous_status),
	    .status_code = o ? o->status_code : NULL,
	    .status_message = o ? o->status_message : NULL,
	    .summary = summary,
	    .event_id = e->id,
	};
	if (!summary)
		return NULL;
	format_iso8601_ms(e->detected_ms, when, sizeof(when));
	am_fingerprint(alertname, arn, fp);
	dynbuf_init(&gk, 4096);
	if (dynbuf_appendf(&gk, "{}:{alertname=\"%s\", job_arn=\"%s\"}", alertname, arn) < 0) {
		dynbuf_free(&gk);
		return NULL;
	}
	alert = payload_alert_build(&pa, message_max);
	root = cJSON_CreateObject();
	if (!alert || !root) {
		dynbuf_free(&gk);
		cJSON_Delete(alert);
		cJSON_Delete(root);
		return NULL;
	}
	labels = cJSON_GetObjectItemCaseSensitive(alert, "labels");
	ann = cJSON_GetObjectItemCaseSensitive(alert, "annotations");
	cJSON_AddStringToObject(root, "version", "4");
	cJSON_AddStringToObject(root, "groupKey", gk.data);
	dynbuf_free(&gk);
	cJSON_AddNumberToObject(root, "truncatedAlerts", 0);
	cJSON_AddStringToObject(root, "status", status);
	cJSON_AddStringToObject(root, "receiver", "jobwatchd");
	gl = cJSON_AddObjectToObject(root, "groupLabels");
	cJSON_AddStringToObject(gl, "alertname", alertname);
	cJSON_AddStringToObject(gl, "job_arn", arn);
	/* With one alert per notification, the common sets are the alert's. */
	cJSON_AddItemToObject(root, "commonLabels", cJSON_Duplicate(labels, true));
	cJSON_AddItemToObject(root, "commonAnnotations", cJSON_Duplicate(ann, true));
	cJSON_AddStringToObject(
	    root, "externalURL",
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(alert, "generatorURL")));
	alerts = cJSON_AddArrayToObject(root, "alerts");
	cJSON_AddItemToArray(alerts, alert);
	cJSON_AddStringToObject(alert, "status", status);
	cJSON_AddStringToObject(alert, "startsAt", when);
	/* Alertmanager's zero time means "still firing". */
	cJSON_AddStringToObject(alert, "endsAt", am_firing(e) ? "0001-01-01T00:00:00Z" : when);
	cJSON_AddStringToObject(alert, "fingerprint", fp);
	out = print_capped(root);
	cJSON_Delete(root);
	return out;
}

char *payload_build_alertmanager(const struct event *e)
{
	char *out;

	if (!payload_alertmanager_relevant(e)) {
		errno = ENOMSG;
		return NULL;
	}
	out = build_alertmanager(e, PAYLOAD_MAX_MESSAGE);
	if (!out && errno == E2BIG)
		out = build_alertmanager(e, 256);
	return out;
}

char *payload_build(enum payload_format f, const struct event *e)
{
	switch (f) {
	case PAYLOAD_FORMAT_JSON:
		return payload_build_json(e);
	case PAYLOAD_FORMAT_SLACK:
		return payload_build_slack(e);
	case PAYLOAD_FORMAT_ALERTMANAGER_WEBHOOK:
		return payload_build_alertmanager(e);
	default:
		errno = EINVAL;
		return NULL;
	}
}
