#include "notify/eventbridge_entry.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "aws/errors.h"
#include "kinds.h"
#include "notify/payload.h"
#include "util.h"

const char *eventbridge_detail_type(enum event_type t)
{
	/* In the style of AWS's own detail types ("EC2 Instance State-change
	 * Notification", "Batch Job State Change"): one per event type, so a
	 * rule picks the kind of news by detail-type alone. */
	switch (t) {
	case EVENT_JOB_DISCOVERED:
		return "Audience Generation Job Discovered";
	case EVENT_JOB_STATUS_CHANGED:
		return "Audience Generation Job Status Change";
	case EVENT_JOB_STUCK:
		return "Audience Generation Job Stuck";
	case EVENT_JOB_GONE:
		return "Audience Generation Job Gone";
	case EVENT_JOB_NOT_FOUND:
		return "Audience Generation Job Not Found";
	default:
		return NULL;
	}
}

/* The json webhook body's data object with "type" in front: the same
 * fields, clipping and caps as the webhook, flat for rule patterns. */
static char *build_detail(const struct event *e)
{
	_cleanup_free_ char *body = payload_build_json(e);
	cJSON *root, *data;
	char *out = NULL;

	if (!body)
		return NULL;
	root = cJSON_Parse(body);
	data = root ? cJSON_DetachItemFromObjectCaseSensitive(root, "data") : NULL;
	if (data && cJSON_IsObject(data)) {
		cJSON *type = cJSON_CreateString(event_type_to_string(e->type));
		if (type && cJSON_InsertItemInArray(data, 0, type))
			type->string = strdup("type");
		else
			cJSON_Delete(type);
		if (cJSON_GetObjectItemCaseSensitive(data, "type"))
			out = cJSON_PrintUnformatted(data);
	}
	cJSON_Delete(data);
	cJSON_Delete(root);
	if (!out)
		errno = ENOMEM;
	return out;
}

char *eventbridge_entry_build(const struct event *e, const char *event_bus, const char *source)
{
	static const char agj[] = "Audience Generation Job ";
	_cleanup_free_ char *detail = NULL;
	const char *type = eventbridge_detail_type(e ? e->type : EVENT_TYPE_INVALID);
	const struct resource_kind_info *ki = e && e->job ? resource_kind_info(e->job->kind) : NULL;
	cJSON *entry, *res;
	char when[32], kind_type[96], parent[2048];
	char *out;

	if (!e || !e->job || str_empty(e->job->arn) || !type || str_empty(event_bus) || str_empty(source)) {
		errno = EINVAL;
		return NULL;
	}
	/* The other kinds say what they are ("Trained Model Status Change");
	 * an audience generation job's detail types stay as they were. */
	if (ki && e->job->kind != KIND_AUDIENCE_GENERATION_JOB) {
		snprintf(kind_type, sizeof(kind_type), "%s %s", ki->title, type + strlen(agj));
		type = kind_type;
	}
	detail = build_detail(e);
	if (!detail)
		return NULL;
	/* awsJson1_1 timestamps are epoch seconds; a raw number keeps the
	 * milliseconds exact (a double printed with 15 digits might not). */
	snprintf(when, sizeof(when), "%lld.%03lld", (long long)(e->detected_ms / 1000),
		 (long long)(e->detected_ms % 1000));
	entry = cJSON_CreateObject();
	if (!entry) {
		errno = ENOMEM;
		return NULL;
	}
	cJSON_AddStringToObject(entry, "Source", source);
	cJSON_AddStringToObject(entry, "DetailType", type);
	cJSON_AddStringToObject(entry, "Detail", detail);
	res = cJSON_AddArrayToObject(entry, "Resources");
	if (res && ki && ki->parent_type && resource_kind_split_child(e->job->arn, parent, sizeof(parent)))
		/* Resources are ARNs: a kind without one names its parent's
		 * (the Detail's resourceArn has the identifier). */
		cJSON_AddItemToArray(res, cJSON_CreateString(parent));
	else if (res)
		cJSON_AddItemToArray(res, cJSON_CreateString(e->job->arn));
	cJSON_AddRawToObject(entry, "Time", when);
	cJSON_AddStringToObject(entry, "EventBusName", event_bus);
	out = cJSON_PrintUnformatted(entry);
	cJSON_Delete(entry);
	if (!out) {
		errno = ENOMEM;
		return NULL;
	}
	/* Room for the envelope {"Entries":[...]} around it. */
	if (strlen(out) + 16 > EVENTBRIDGE_MAX_BODY_BYTES) {
		free(out);
		errno = E2BIG;
		return NULL;
	}
	return out;
}

static void copy_string(const cJSON *obj, const char *key, char *out, size_t size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	out[0] = '\0';
	if (cJSON_IsString(v) && v->valuestring)
		snprintf(out, size, "%s", v->valuestring);
}

int eventbridge_response_parse(const char *body, size_t len, size_t n_sent, struct eventbridge_outcome *out)
{
	cJSON *root = body ? cJSON_ParseWithLength(body, len) : NULL;
	const cJSON *entries = root ? cJSON_GetObjectItemCaseSensitive(root, "Entries") : NULL;
	const cJSON *item;
	size_t i = 0;
	int r = 0;

	if (!cJSON_IsArray(entries) || (size_t)cJSON_GetArraySize(entries) != n_sent) {
		cJSON_Delete(root);
		return -EBADMSG;
	}
	cJSON_ArrayForEach(item, entries)
	{
		struct eventbridge_outcome *o = &out[i++];
		copy_string(item, "EventId", o->event_id, sizeof(o->event_id));
		copy_string(item, "ErrorCode", o->error_code, sizeof(o->error_code));
		copy_string(item, "ErrorMessage", o->error_message, sizeof(o->error_message));
		/* Neither an id nor a code: not an answer about this entry. */
		if (!o->event_id[0] && !o->error_code[0])
			r = -EBADMSG;
	}
	cJSON_Delete(root);
	return r;
}

bool eventbridge_error_is_retryable(const char *code)
{
	if (str_empty(code))
		return false;
	return strcmp(code, "InternalFailure") == 0 || strcmp(code, "InternalException") == 0 ||
	       strcmp(code, "ServiceUnavailable") == 0 || aws_error_type_is_throttling(code) ||
	       aws_error_type_is_transient(code);
}
