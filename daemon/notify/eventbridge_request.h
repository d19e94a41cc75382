/* One PutEvents request: the body ({"Entries":[...]}) POSTed to the events
 * endpoint, signed with SigV4 (signing name "events", the body's hash) with
 * X-Amz-Target AWSEvents.PutEvents and the awsJson1_1 content type.  The
 * sink (notify/eventbridge.c) decides what to send and when, and
 * `jobwatchd test-alert` sends its one entry the same way; this file only
 * knows how the request looks and how a failed one reads. */
#ifndef JW_NOTIFY_EVENTBRIDGE_REQUEST_H
#define JW_NOTIFY_EVENTBRIDGE_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

#define EVENTBRIDGE_SIGNING_NAME "events"

struct aws_clock;
struct aws_credentials;
struct aws_endpoint;
struct aws_error;
struct sigv4_signer;

/* Where and how the requests of one bus go; everything borrowed. */
struct eventbridge_target {
	const struct aws_endpoint *endpoint; /* base_url, host, base_path */
	struct sigv4_signer *signer;	     /* endpoint region, EVENTBRIDGE_SIGNING_NAME */
	const char *ca_file;		     /* NULL = system store */
	uint64_t timeout_ms;
	const struct aws_clock *clock; /* signing time (aws/clock.h); NULL = the local clock */
};

/* Signs body with cr and starts the POST to the endpoint's "/" (under a
 * custom endpoint's path prefix); done(userdata) runs when it ends (not if
 * this fails).  Returns a negative errno if it could not start. */
int eventbridge_request_submit(struct http_ctx *http, const struct eventbridge_target *t,
			       const struct aws_credentials *cr, const char *body, size_t body_len,
			       http_done_fn done, void *userdata, struct http_transfer **ret);

/* A request that failed as a whole (transport error or non-2xx): err gets
 * the AWS error (type empty for a transport error), out a line for people:
 * "HTTP 400 ValidationException: message" or "timeout: ...". */
void eventbridge_request_failure(const struct http_response *resp, struct aws_error *err, char *out,
				 size_t size);

#endif
