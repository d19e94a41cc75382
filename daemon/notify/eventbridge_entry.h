/* The PutEvents wire format (awsJson1_1, target AWSEvents.PutEvents): one
 * event as a PutEventsRequestEntry, a batch as the request body, and the
 * per-entry outcome of the answer.  Pure functions, no I/O.
 *
 * An entry:
 *   {"Source": SOURCE, "DetailType": "Audience Generation Job Status Change",
 *    "Detail": "{...}", "Resources": [JOB ARN], "Time": EPOCH SECONDS,
 *    "EventBusName": BUS}
 * Detail is the data object of the json webhook body with the event type
 * added first: {type, jobArn, name, previousStatus, status, statusDetails,
 * createTime, updateTime, configuredAudienceModelArn, collaborationId,
 * metrics, region, eventId} -- flat, so a rule matches "detail.status".
 * Time is the event's detection time (the json body's "timestamp"). */
#ifndef JW_NOTIFY_EVENTBRIDGE_ENTRY_H
#define JW_NOTIFY_EVENTBRIDGE_ENTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "event.h"

/* PutEvents limits: entries per call, and bytes per request (the service
 * counts entry sizes against 256 KB; the whole body staying under it keeps
 * every entry under it too). */
#define EVENTBRIDGE_MAX_ENTRIES	   10
#define EVENTBRIDGE_MAX_BODY_BYTES (256 * 1024)

/* "Audience Generation Job Status Change", "... Stuck", "... Gone",
 * "... Discovered"; NULL for an unknown type. */
const char *eventbridge_detail_type(enum event_type t);

/* One entry, serialized (malloc'd), or NULL with errno set (ENOMEM, E2BIG
 * past EVENTBRIDGE_MAX_BODY_BYTES, EINVAL for an event without a job). */
char *eventbridge_entry_build(const struct event *e, const char *event_bus, const char *source);

/* What the service said about one entry: accepted (event_id set, code
 * empty) or refused (error_code, error_message). */
struct eventbridge_outcome {
	char event_id[128];
	char error_code[128];
	char error_message[256];
};

/* Parses a 2xx PutEvents answer for n_sent entries (Entries is in request
 * order).  -EBADMSG when it is not the expected document (then nothing is
 * known about which entries were taken). */
int eventbridge_response_parse(const char *body, size_t len, size_t n_sent, struct eventbridge_outcome *out);

/* Refused entries worth sending again: ThrottlingException and
 * InternalFailure (the documented retryable codes) and other throttling or
 * transient codes.  Everything else -- InvalidArgument, MalformedDetail,
 * AccessDeniedException, NotAuthorizedFor*Exception, ... -- will be
 * refused again. */
bool eventbridge_error_is_retryable(const char *code);

#endif
