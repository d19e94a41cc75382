/* The control API's data: jobs as JSON, the POST body, the bearer token. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "api/render.h"
#include "kinds.h"

int api_json_string(struct dynbuf *out, const char *s)
{
	int r;

	if (!s)
		return dynbuf_appends(out, "null");
	r = dynbuf_appends(out, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p && r >= 0; p++) {
		if (*p == '"')
			r = dynbuf_appends(out, "\\\"");
		else if (*p == '\\')
			r = dynbuf_appends(out, "\\\\");
		else if (*p == '\n')
			r = dynbuf_appends(out, "\\n");
		else if (*p < 0x20 || *p == 0x7f)
			r = dynbuf_appendf(out, "\\u%04x", *p);
		else
			r = dynbuf_append(out, p, 1);
	}
	if (r >= 0)
		r = dynbuf_appends(out, "\"");
	return r;
}

int api_json_error(struct dynbuf *out, const char *message)
{
	int r = dynbuf_appends(out, "{\"error\":");

	if (r >= 0)
		r = api_json_string(out, message);
	if (r >= 0)
		r = dynbuf_appends(out, "}");
	return r;
}

static int json_time(struct dynbuf *out, int64_t ms)
{
	char buf[40];

	if (ms <= 0)
		return dynbuf_appends(out, "null");
	format_iso8601_ms(ms, buf, sizeof(buf));
	return api_json_string(out, buf);
}

static int json_key(struct dynbuf *out, bool first, const char *key)
{
	return dynbuf_appendf(out, "%s\"%s\":", first ? "" : ",", key);
}

static const char *job_status_name(const struct tracked_job *j)
{
	return j->status == JOB_STATUS_INVALID ? NULL : job_status_to_string((enum job_status)j->status);
}

static int str_member(struct dynbuf *out, bool first, const char *key, const char *value)
{
	int r = json_key(out, first, key);

	return r < 0 ? r : api_json_string(out, value);
}

static int time_member(struct dynbuf *out, const char *key, int64_t ms)
{
	int r = json_key(out, false, key);

	return r < 0 ? r : json_time(out, ms);
}

/* The members of a JSON object, each after a comma but the first: in a
 * function that keeps its result in r, with the object in out, a failed
 * append makes the rest no-ops. */
#define STR(first, k, v)                                                                                    \
	do {                                                                                                \
		if (r >= 0)                                                                                 \
			r = str_member(out, first, k, v);                                                   \
	} while (0)
#define TIME(k, v)                                                                                          \
	do {                                                                                                \
		if (r >= 0)                                                                                 \
			r = time_member(out, k, v);                                                         \
	} while (0)

/* The job's members, without the braces around them. */
static int job_members(const struct tracked_job *j, struct dynbuf *out)
{
	int r = 0;

	STR(true, "arn", j->arn);
	STR(false, "resourceType", resource_kind_to_string(resource_kind_from_arn(j->arn, NULL)));
	STR(false, "name", j->name);
	STR(false, "status", job_status_name(j));
	STR(false, "statusCode", j->status_code);
	STR(false, "statusMessage", j->status_message);
	TIME("updateTime", j->update_time_ms);
	TIME("since", j->status_since_ms);
	TIME("lastPoll", j->last_poll_ms);
	TIME("lastSuccess", j->last_success_ms);
	if (r >= 0)
		r = dynbuf_appendf(
		    out, ",\"failures\":%" PRIu32 ",\"pollFailures\":%" PRIu32 ",\"polls\":%" PRIu32,
		    j->consecutive_failures, j->poll_failures, j->polls);
	STR(false, "lastError", j->last_error);
	if (r >= 0)
		r = dynbuf_appendf(out, ",\"watched\":%s,\"gone\":%s", j->watched ? "true" : "false",
				   j->gone ? "true" : "false");
	STR(false, "source", j->source);
	STR(false, "collaborationId", j->collaboration_id);
	STR(false, "configuredAudienceModelArn", j->configured_audience_model_arn);
	return r;
}

int api_job_to_json(const struct tracked_job *j, struct dynbuf *out)
{
	int r = dynbuf_appends(out, "{");

	if (r >= 0)
		r = job_members(j, out);
	if (r >= 0)
		r = dynbuf_appends(out, "}");
	return r;
}

static int delivery_to_json(const struct store_history_delivery *d, struct dynbuf *out)
{
	bool waiting = strcmp(d->state, "pending") == 0 && d->attempts > 0;
	int r = dynbuf_appends(out, "{");

	STR(true, "sink", d->sink);
	STR(false, "state", d->state);
	if (r >= 0)
		r = dynbuf_appendf(out, ",\"attempts\":%" PRId64, d->attempts);
	/* A delivery that failed and waits for its next attempt says when. */
	TIME("nextAttempt", waiting ? d->next_at_ms : 0);
	TIME("updated", d->updated_ms);
	STR(false, "lastError", d->last_error);
	if (r >= 0)
		r = dynbuf_appends(out, "}");
	return r;
}

static int history_event_to_json(const struct store_history_event *e, struct dynbuf *out)
{
	int r = dynbuf_appends(out, "{");

	STR(true, "type", e->type);
	STR(false, "previousStatus", e->previous_status);
	STR(false, "status", e->status);
	STR(false, "statusCode", e->status_code);
	STR(false, "statusMessage", e->status_message);
	TIME("updateTime", e->update_time_ms);
	TIME("detected", e->detected_ms);
	STR(false, "eventId", e->id);
	if (r >= 0)
		r = dynbuf_appends(out, ",\"deliveries\":[");
	for (size_t i = 0; r >= 0 && i < e->n_deliveries; i++) {
		if (i > 0)
			r = dynbuf_appends(out, ",");
		if (r >= 0)
			r = delivery_to_json(&e->deliveries[i], out);
	}
	if (r >= 0)
		r = dynbuf_appends(out, "]}");
	return r;
}

/* "ok" when the last poll got an answer about the job, "failed" when it
 * did not (lastError says why), null before the first poll. */
static const char *last_poll_result(const struct tracked_job *j)
{
	if (j->last_poll_ms <= 0)
		return NULL;
	return j->consecutive_failures > 0 ? "failed" : "ok";
}

int api_job_detail_to_json(const struct tracked_job *j, const struct api_job_detail *d, struct dynbuf *out)
{
	int r = dynbuf_appends(out, "{");

	if (r >= 0)
		r = job_members(j, out);
	STR(false, "lastPollResult", last_poll_result(j));
	TIME("nextPoll", d->times.next_poll_ms);
	TIME("notFoundSince", d->times.not_found_since_ms);
	if (r >= 0)
		r = dynbuf_appendf(out, ",\"stuck\":%s", j->stuck_emitted ? "true" : "false");
	TIME("stuckSince", j->stuck_emitted ? d->stuck_since_ms : 0);
	if (r >= 0 && d->history_total >= 0)
		r = dynbuf_appendf(out, ",\"historyTotal\":%" PRId64, d->history_total);
	if (r >= 0)
		r = dynbuf_appends(out, ",\"history\":[");
	for (size_t i = 0; r >= 0 && i < d->n_history; i++) {
		if (i > 0)
			r = dynbuf_appends(out, ",");
		if (r >= 0)
			r = history_event_to_json(&d->history[i], out);
	}
	if (r >= 0)
		r = dynbuf_appends(out, "]}");
	return r;
}

#undef STR
#undef TIME

int api_history_limit_parse(const char *s, size_t *ret)
{
	char *end = NULL;
	long v;

	if (str_empty(s) || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > STORE_HISTORY_MAX)
		return -EINVAL;
	*ret = (size_t)v;
	return 0;
}

static bool job_matches(const struct tracked_job *j, int status_filter)
{
	if (status_filter == API_STATUS_ANY)
		return true;
	return j->status == status_filter;
}

int api_jobs_to_json(struct tracker *t, int status_filter, struct dynbuf *out)
{
	size_t n = tracker_size(t);
	bool first = true;
	int r = dynbuf_appends(out, "[");

	for (size_t i = 0; r >= 0 && i < n; i++) {
		const struct tracked_job *j = tracker_job_at(t, i);

		if (!job_matches(j, status_filter))
			continue;
		if (!first)
			r = dynbuf_appends(out, ",");
		if (r >= 0)
			r = api_job_to_json(j, out);
		first = false;
	}
	if (r >= 0)
		r = dynbuf_appends(out, "]");
	return r;
}

int api_status_filter_parse(const char *s, int *ret)
{
	enum job_status st;

	if (!s)
		return -EINVAL;
	if (strcmp(s, "UNKNOWN") == 0) {
		*ret = API_STATUS_UNKNOWN;
		return 0;
	}
	if (strcmp(s, "GONE") == 0) {
		*ret = JOB_STATUS_GONE;
		return 0;
	}
	st = job_status_from_string(s);
	if (st == JOB_STATUS_INVALID)
		return -EINVAL;
	*ret = st;
	return 0;
}

int api_parse_watch_request(const char *body, size_t len, char **ret_arn, char *err, size_t errsz)
{
	cJSON *j, *arn;
	char *copy;

	if (len > API_BODY_MAX) {
		snprintf(err, errsz, "request body larger than %u bytes", API_BODY_MAX);
		return -E2BIG;
	}
	if (!body || len == 0) {
		snprintf(err, errsz, "expected a JSON body {\"arn\": \"...\"}");
		return -EINVAL;
	}
	if (memchr(body, '\0', len)) {
		snprintf(err, errsz, "request body contains a NUL byte");
		return -EINVAL;
	}
	j = cJSON_ParseWithLength(body, len);
	if (!j) {
		snprintf(err, errsz, "request body is not valid JSON");
		return -EINVAL;
	}
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		snprintf(err, errsz, "expected a JSON object {\"arn\": \"...\"}");
		return -EINVAL;
	}
	arn = cJSON_GetObjectItemCaseSensitive(j, "arn");
	if (!cJSON_IsString(arn) || !arn->valuestring) {
		cJSON_Delete(j);
		snprintf(err, errsz, "missing string member \"arn\"");
		return -EINVAL;
	}
	if (resource_kind_from_arn(arn->valuestring, NULL) == KIND_INVALID) {
		cJSON_Delete(j);
		snprintf(err, errsz,
			 "\"arn\" is not an audience generation job ARN nor one of another watched kind");
		return -EINVAL;
	}
	if (resource_kind_info(resource_kind_from_arn(arn->valuestring, NULL))->list_only) {
		cJSON_Delete(j);
		snprintf(err, errsz, "\"arn\" names a kind without a Get: watch it through [discover]");
		return -EINVAL;
	}
	copy = strdup(arn->valuestring);
	cJSON_Delete(j);
	if (!copy) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	*ret_arn = copy;
	return 0;
}

bool api_bearer_ok(const char *header, const char *token)
{
	static const char prefix[] = "Bearer ";
	const char *given;
	size_t n, m;
	unsigned char diff = 0;

	if (!header || !token || strncasecmp(header, prefix, sizeof(prefix) - 1) != 0)
		return false;
	given = header + sizeof(prefix) - 1;
	while (*given == ' ')
		given++;
	n = strlen(token);
	m = strnlen(given, API_TOKEN_MAX + 1);
	/* Time depends on the token's length only, never on where the first
	 * differing byte is. */
	diff = n != m;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)token[i] ^ (unsigned char)(i < m ? given[i] : 0);
	return n > 0 && diff == 0;
}
