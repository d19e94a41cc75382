/* GET /v1/sinks: the EventBridge sinks with their counters and backlog, as
 * `jobwatchd status` shows them. */
#include <errno.h>

#include <cjson/cJSON.h>

#include "api/handlers.h"
#include "notify/eventbridge.h"

static cJSON *bus_json(const struct api_bus_info *b)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "kind", "eventbridge");
	cJSON_AddStringToObject(o, "name", b->name);
	cJSON_AddStringToObject(o, "eventBus", b->event_bus);
	cJSON_AddNumberToObject(o, "accepted", (double)b->stats->accepted);
	cJSON_AddNumberToObject(o, "retried", (double)b->stats->retried);
	cJSON_AddNumberToObject(o, "parked", (double)b->stats->parked);
	if (b->backlog >= 0)
		cJSON_AddNumberToObject(o, "backlog", (double)b->backlog);
	cJSON_AddBoolToObject(o, "failing", b->stats->failing);
	if (b->stats->last_error[0])
		cJSON_AddStringToObject(o, "lastError", b->stats->last_error);
	return o;
}

void api_handle_sinks(struct api_state *a, struct api_reply *rp)
{
	const struct api_context *c = a->ctx;
	cJSON *arr = cJSON_CreateArray();
	struct api_bus_info b;
	char *text;

	for (size_t i = 0; arr && c->bus_at && c->bus_at(c->userdata, i, &b); i++) {
		cJSON *o = bus_json(&b);
		if (!o || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			cJSON_Delete(arr);
			arr = NULL;
		}
	}
	text = arr ? cJSON_PrintUnformatted(arr) : NULL;
	cJSON_Delete(arr);
	if (!text || dynbuf_appends(&rp->body, text) < 0)
		reply_error(rp, 500, "out of memory");
	cJSON_free(text);
}
