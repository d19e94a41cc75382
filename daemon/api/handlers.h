/* Internal to daemon/api/: the request handlers behind the routes of
 * server.c, and what they share with it.  Knows libmicrohttpd's requests,
 * not the loop. */
#ifndef JW_API_HANDLERS_H
#define JW_API_HANDLERS_H

#include <stdbool.h>

#include <microhttpd.h>

#include "api/guard.h"
#include "api/render.h"

/* POST /v1/jobs: 10 a second, bursts of 20 (each new job is a log line, a
 * row and a share of [aws] max_rps). */
#define API_POST_RATE  10.0
#define API_POST_BURST 20.0

/* The listener's state the handlers read and update. */
struct api_state {
	const struct api_context *ctx; /* borrowed, read on every request */
	struct api_health_state health;
	struct api_rate post_rate;
};

/* Per request: the body read so far. */
struct api_request {
	struct dynbuf body;
	bool too_large;
};

struct api_reply {
	unsigned status;
	const char *content_type;
	struct dynbuf body;
	const char *allow;     /* for 405 */
	char *location;	       /* for 201 */
	bool www_authenticate; /* for 401 */
	bool close;	       /* the body was not read: end the connection */
	unsigned retry_after;  /* for 429 and 409, seconds */
};

static inline void reply_init(struct api_reply *rp)
{
	*rp = (struct api_reply){.status = 200, .content_type = "application/json"};
	dynbuf_init(&rp->body, API_JOBS_JSON_MAX);
}

static inline void reply_error(struct api_reply *rp, unsigned status, const char *message)
{
	dynbuf_reset(&rp->body);
	rp->status = status;
	rp->content_type = "application/json";
	if (api_json_error(&rp->body, message) < 0)
		dynbuf_reset(&rp->body);
}

void api_handle_metrics(struct api_state *a, struct api_reply *rp);
void api_handle_healthz(struct api_state *a, struct api_reply *rp);
void api_handle_jobs_list(struct api_state *a, struct MHD_Connection *conn, struct api_reply *rp);
/* GET /v1/jobs/{arn}[?history=N] */
void api_handle_job_get(struct api_state *a, struct MHD_Connection *conn, const char *arn,
			struct api_reply *rp);
void api_handle_job_post(struct api_state *a, const struct api_request *req, struct api_reply *rp);
/* DELETE unwatches; with ?forget=1 the job is removed for good. */
/* POST /v1/webhooks[/NAME]/retry; rest is what follows "/v1/webhooks". */
void api_handle_hooks_retry(struct api_state *a, const char *rest, const char *method, struct api_reply *rp);
/* GET /v1/sinks (sinks.c). */
void api_handle_sinks(struct api_state *a, struct api_reply *rp);
void api_handle_job_delete(struct api_state *a, struct MHD_Connection *conn, const char *arn,
			   struct api_reply *rp);

#endif
