/* One webhook request: the POST of one event body with the Standard
 * Webhooks headers (webhook-id = event id, stable across retries;
 * webhook-timestamp fresh per attempt; webhook-signature when a key is set)
 * plus the hook's extra headers.  webhook.c decides what to send and when;
 * this file only knows how a request looks. */
#ifndef JW_NOTIFY_WEBHOOK_REQUEST_H
#define JW_NOTIFY_WEBHOOK_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "notify/sign.h"

#define WEBHOOK_MAX_EXTRA_HEADERS 64
#define WEBHOOK_BODY_LOG_MAX	  200

/* Where and how one hook's requests go; everything borrowed. */
struct webhook_target {
	const char *url;
	const char *ca_file;	    /* NULL = system store */
	const struct sign_key *key; /* len 0 = unsigned */
	char *const *extra;	    /* NULL-terminated "Name: value", never logged */
	uint64_t timeout_ms;
};

/* Starts the POST of body for event_id; done(userdata) runs when it ends
 * (not if this fails).  Returns a negative errno if it could not start. */
int webhook_request_submit(struct http_ctx *http, const struct webhook_target *t, const char *event_id,
			   const char *body, http_done_fn done, void *userdata, struct http_transfer **ret);
/* The response body for a log line: at most WEBHOOK_BODY_LOG_MAX bytes,
 * control characters replaced so a hostile receiver cannot forge log
 * lines. */
void webhook_body_excerpt(const struct http_response *resp, char *out, size_t size);

#endif
