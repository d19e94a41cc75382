#include "notify/webhook_request.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int webhook_request_submit(struct http_ctx *http, const struct webhook_target *t, const char *event_id,
			   const char *body, http_done_fn done, void *userdata, struct http_transfer **ret)
{
	const char *hdrs[WEBHOOK_MAX_EXTRA_HEADERS + 8];
	char h_id[64], h_ts[64], h_sig[32 + SIGN_SIGNATURE_MAX], sig[SIGN_SIGNATURE_MAX];
	size_t n = 0, body_len = strlen(body);
	int64_t ts = (int64_t)(now_realtime_ms() / 1000);
	struct http_request req = {
	    .method = "POST",
	    .url = t->url,
	    .headers = hdrs,
	    .body = body,
	    .body_len = body_len,
	    .timeout_ms = t->timeout_ms,
	    .max_body = 64 * 1024,
	    .ca_file = t->ca_file,
	};
	int r;

	snprintf(h_id, sizeof(h_id), "webhook-id: %s", event_id);
	snprintf(h_ts, sizeof(h_ts), "webhook-timestamp: %lld", (long long)ts);
	hdrs[n++] = "Content-Type: application/json";
	hdrs[n++] = "User-Agent: jobwatchd/" JW_VERSION;
	hdrs[n++] = h_id;
	hdrs[n++] = h_ts;
	if (t->key && t->key->len > 0) {
		r = sign_signature(t->key, event_id, ts, body, body_len, sig, sizeof(sig));
		if (r < 0)
			return r;
		snprintf(h_sig, sizeof(h_sig), "webhook-signature: %s", sig);
		hdrs[n++] = h_sig;
	}
	for (size_t i = 0; t->extra && t->extra[i] && i < WEBHOOK_MAX_EXTRA_HEADERS; i++)
		hdrs[n++] = t->extra[i];
	hdrs[n] = NULL;
	return http_submit(http, &req, done, userdata, ret);
}

void webhook_body_excerpt(const struct http_response *resp, char *out, size_t size)
{
	size_t n = resp->body_len < WEBHOOK_BODY_LOG_MAX ? resp->body_len : WEBHOOK_BODY_LOG_MAX;

	if (size == 0)
		return;
	if (n >= size)
		n = size - 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)resp->body[i];
		out[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	out[n] = '\0';
}
