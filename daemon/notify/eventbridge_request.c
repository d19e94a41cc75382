#include "notify/eventbridge_request.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/clock.h"
#include "aws/endpoint.h"
#include "aws/errors.h"
#include "aws/sigv4.h"
#include "util.h"

/* Answers are small: one short object per entry. */
#define EB_MAX_RESPONSE (64 * 1024)

int eventbridge_request_submit(struct http_ctx *http, const struct eventbridge_target *t,
			       const struct aws_credentials *cr, const char *body, size_t body_len,
			       http_done_fn done, void *userdata, struct http_transfer **ret)
{
	static const char *const signed_hdrs[] = {"Content-Type: application/x-amz-json-1.1",
						  "X-Amz-Target: AWSEvents.PutEvents", NULL};
	struct sigv4_signed sig = {0};
	const char *hdrs[8];
	_cleanup_free_ char *path = NULL, *url = NULL;
	size_t n = 0;
	int r;

	/* PutEvents is POST / (under a custom endpoint's path prefix). */
	if (asprintf(&path, "%s/", t->endpoint->base_path ? t->endpoint->base_path : "") < 0) {
		path = NULL;
		return -ENOMEM;
	}
	if (asprintf(&url, "%s/", t->endpoint->base_url) < 0) {
		url = NULL;
		return -ENOMEM;
	}
	r = sigv4_sign(t->signer, cr,
		       &(struct sigv4_request){
			   .method = "POST",
			   .host = t->endpoint->host,
			   .path = path,
			   .headers = signed_hdrs,
			   .payload = body,
			   .payload_len = body_len,
			   .now = (time_t)(aws_clock_now_ms(t->clock) / 1000),
			   .normalize_path = true,
		       },
		       &sig);
	if (r < 0)
		return r;
	hdrs[n++] = signed_hdrs[0];
	hdrs[n++] = signed_hdrs[1];
	hdrs[n++] = "User-Agent: jobwatchd/" JW_VERSION;
	hdrs[n++] = sig.amz_date;
	hdrs[n++] = sig.authorization;
	if (sig.security_token)
		hdrs[n++] = sig.security_token;
	hdrs[n] = NULL;
	r = http_submit(http,
			&(struct http_request){
			    .method = "POST",
			    .url = url,
			    .headers = hdrs,
			    .body = body,
			    .body_len = body_len,
			    .timeout_ms = t->timeout_ms ? t->timeout_ms : 15000,
			    .max_body = EB_MAX_RESPONSE,
			    .ca_file = t->ca_file,
			},
			done, userdata, ret);
	sigv4_signed_done(&sig);
	return r;
}

void eventbridge_request_failure(const struct http_response *resp, struct aws_error *err, char *out,
				 size_t size)
{
	aws_error_parse(http_response_header(resp, "x-amzn-errortype"),
			http_response_header(resp, "x-amzn-requestid"),
			resp->error == HTTP_OK ? resp->body : NULL, resp->body_len, err);
	if (resp->error != HTTP_OK)
		snprintf(out, size, "%s: %s", http_error_to_string(resp->error), resp->error_text);
	else
		snprintf(out, size, "HTTP %ld %s: %s", resp->status,
			 err->type[0] ? err->type : "(no error type)",
			 err->message[0] ? err->message : "(no message)");
}
