/* The API client's request machinery: queueing behind the rate limiter,
 * waiting for credentials, signing, sending, classifying, retrying.
 *
 * A call is always on exactly one of the client's lists (ready, delayed,
 * creds_wait, inflight) until it completes.  One non-repeating uv timer
 * drives both the token bucket (when it is empty) and the retry backoffs;
 * API entry points only arm it, so callbacks never run inside them. */
#include <uv.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "aws/client.h"
#include "aws/parse.h"
#include "aws/ratelimit.h"
#include "aws/retry.h"
#include "aws/sigv4.h"
#include "creds.h"
#include "list.h"
#include "log.h"
#include "util.h"

#define AWS_MAX_URL 16384

const uint64_t aws_latency_bounds_ms[AWS_LATENCY_BUCKETS] = {5,	  10,	25,   50,   100,  250,
							     500, 1000, 2500, 5000, 10000};

enum call_list {
	LIST_NONE,
	LIST_READY,
	LIST_DELAYED,
	LIST_CREDS,
	LIST_INFLIGHT,
	_LIST_MAX,
};

struct aws_call {
	struct aws_client *client; /* NULL once orphaned (client freed while in flight) */
	struct list_node node;	   /* in client->lists[list] */
	enum call_list list;
	enum aws_op op;
	enum resource_kind kind;		  /* Get: the ARN's */
	char membership[KIND_MEMBERSHIP_ID_SIZE]; /* Get of a membership-scoped kind */
	char *arn;     /* Get: the ARN sent (a trained model version's: its model's) */
	char *version; /* Get of a trained model version: ?versionIdentifier= */
	char *collaboration_id;
	char *model_arn;
	char *parent; /* a per-parent List's parent ARN */
	bool collab;  /* a collaboration-wide List (ListCollaboration*) */
	char *next_token;
	aws_get_fn get_cb;
	aws_list_page_fn page_cb;
	void *userdata;

	unsigned attempts;
	unsigned max_attempts; /* 0 = the client's */
	unsigned last_retry_cost;
	bool auth_retried;
	bool skew_retried;
	int64_t signed_offset_ms; /* the clock offset its latest attempt was signed with */
	uint64_t start_ms;
	uint64_t due_ms;
	struct http_transfer *transfer;
	struct aws_result last; /* the latest failed attempt, reported if retries run out */
};

struct call_queue {
	struct list_node head;
	unsigned n;
};

/* Lives apart from the client because a creds_request() cannot be
 * withdrawn: if the client goes away first, the callback finds client NULL. */
struct creds_waiter {
	struct aws_client *client;
};

struct aws_client {
	struct uv_loop_s *loop;
	struct http_ctx *http;
	struct creds *creds;
	struct sigv4_signer *signer;
	struct aws_endpoint endpoint;
	char *ca_file;
	char *user_agent_header;
	uint64_t timeout_ms;
	unsigned max_attempts;
	bool keep_sensitive;
	double (*random)(void *);
	void *random_userdata;
	uint64_t rng;

	uv_timer_t *timer;
	struct call_queue lists[_LIST_MAX];
	struct creds_waiter *waiter;

	struct aws_token_bucket bucket;
	struct aws_cubic cubic;
	struct aws_retry_quota quota;
	struct aws_client_stats stats;
	struct aws_clock own_clock;
	struct aws_clock *clock; /* own_clock, or the one aws_client_set_clock() gave */

	unsigned depth; /* callbacks into the user in progress */
	bool freeing;
};

static const char *const op_names[_AWS_OP_MAX] = {
    [AWS_OP_GET] = "GetAudienceGenerationJob",
    [AWS_OP_LIST] = "ListAudienceGenerationJobs",
};

const char *aws_op_to_string(enum aws_op op)
{
	if (op < 0 || op >= _AWS_OP_MAX)
		return NULL;
	return op_names[op];
}

/* The operation as the service names it, for log lines and error
 * messages: the kind's own (GetTrainedModel, ListMLInputChannels, ...).  The
 * /metrics operation label stays the AWS_OP_* one. */
static const char *call_op_name(const struct aws_call *call)
{
	const struct resource_kind_info *ki = resource_kind_info(call->kind);

	if (!ki)
		return aws_op_to_string(call->op);
	if (call->op == AWS_OP_LIST && call->collab && !ki->list_per_parent)
		return ki->collab_list_operation;
	return call->op == AWS_OP_GET ? ki->get_operation : ki->list_operation;
}

static void queue_remove(struct aws_client *c, struct aws_call *call)
{
	struct call_queue *q;

	if (call->list == LIST_NONE)
		return;
	q = &c->lists[call->list];
	list_del(&call->node);
	q->n--;
	call->list = LIST_NONE;
}

static void queue_push(struct aws_client *c, enum call_list l, struct aws_call *call, bool front)
{
	struct call_queue *q = &c->lists[l];

	queue_remove(c, call);
	call->list = l;
	if (front)
		list_add_head(&q->head, &call->node);
	else
		list_add_tail(&q->head, &call->node);
	q->n++;
}

static struct aws_call *queue_first(struct aws_client *c, enum call_list l)
{
	return list_first_entry(&c->lists[l].head, struct aws_call, node);
}

static void call_free(struct aws_call *call)
{
	if (!call)
		return;
	free(call->arn);
	free(call->version);
	free(call->parent);
	free(call->collaboration_id);
	free(call->model_arn);
	free(call->next_token);
	free(call);
}

/* xorshift64*: jitter only needs to be spread, not secret. */
static double client_random(struct aws_client *c)
{
	if (c->random)
		return c->random(c->random_userdata);
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return (double)((c->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static void really_free(struct aws_client *c);

static void user_enter(struct aws_client *c)
{
	c->depth++;
}

/* Returns false when the client was freed from inside the callback. */
static bool user_leave(struct aws_client *c)
{
	c->depth--;
	if (c->freeing) {
		if (c->depth == 0)
			really_free(c);
		return false;
	}
	return true;
}

static void result_from_call(struct aws_call *call, enum aws_outcome outcome, struct aws_result *res)
{
	*res = call->last;
	res->outcome = outcome;
	res->attempts = call->attempts;
	res->elapsed_ms = now_monotonic_ms() - call->start_ms;
}

/* Completes a call with a failure (or cancellation): one final callback,
 * then the call is gone.  The call must be off every list.  Returns false
 * when the client was freed from inside the callback (c is then gone). */
static bool call_fail(struct aws_client *c, struct aws_call *call, const struct aws_result *res)
{
	user_enter(c);
	if (call->op == AWS_OP_GET)
		call->get_cb(call->userdata, res, NULL);
	else
		call->page_cb(call->userdata, res, NULL, 0, true);
	call_free(call);
	return user_leave(c);
}

static void set_error(struct aws_result *r, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_error(struct aws_result *r, const char *type, const char *fmt, ...)
{
	va_list ap;

	snprintf(r->error_type, sizeof(r->error_type), "%s", type);
	va_start(ap, fmt);
	vsnprintf(r->error_message, sizeof(r->error_message), fmt, ap);
	va_end(ap);
}

static void kick(struct aws_client *c, const struct aws_credentials *hint);

static void on_timer(uv_timer_t *t)
{
	kick(t->data, NULL);
}

/* From the next loop iteration: keeps callbacks out of the API calls. */
static void schedule_kick(struct aws_client *c)
{
	if (!c->freeing)
		uv_timer_start(c->timer, on_timer, 0, 0);
}

static void on_creds(void *userdata, int error, const struct aws_credentials *cr)
{
	struct creds_waiter *w = userdata;
	struct aws_client *c = w->client;

	free(w);
	if (!c)
		return;
	c->waiter = NULL;
	if (error < 0) {
		const char *why = creds_last_error(c->creds);
		/* Every call waiting now fails; later calls ask the chain again. */
		struct aws_call *call;

		while ((call = queue_first(c, LIST_CREDS))) {
			struct aws_result res;
			queue_remove(c, call);
			result_from_call(call, AWS_CREDENTIALS, &res);
			res.transport = HTTP_OK;
			res.http_status = 0;
			res.request_id[0] = '\0';
			set_error(&res, "credentials", "no AWS credentials: %s",
				  why ? why : strerror(-error));
			if (!call_fail(c, call, &res) || c->freeing)
				return;
		}
		schedule_kick(c);
		return;
	}
	/* Waiting calls go first, in their order. */
	while (!list_empty(&c->lists[LIST_CREDS].head))
		queue_push(c, LIST_READY, list_last_entry(&c->lists[LIST_CREDS].head, struct aws_call, node),
			   true);
	kick(c, cr);
}

static int build_path_query(struct aws_client *c, struct aws_call *call, struct dynbuf *path,
			    struct dynbuf *query)
{
	int r;

	r = dynbuf_appends(path, c->endpoint.base_path);
	if (r < 0)
		return r;
	/* The kind's path: /memberships/{m}/trained-models/{arn} or
	 * /audience-generation-job/{arn}, the membership from the ARN; its
	 * List (other than ListAudienceGenerationJobs) is the same path
	 * without the ARN. */
	if (call->op == AWS_OP_GET || call->kind != KIND_AUDIENCE_GENERATION_JOB) {
		const struct resource_kind_info *ki = resource_kind_info(call->kind);
		if (call->op == AWS_OP_LIST && call->collab) {
			/* /collaborations/{c}/trained-models[/{arn}/export-jobs] */
			r = dynbuf_appends(path, "/collaborations/");
			if (r >= 0)
				r = dynbuf_appends(path, call->collaboration_id);
			if (r < 0)
				return r;
		} else if (ki->membership_scoped) {
			r = dynbuf_appends(path, "/memberships/");
			if (r >= 0)
				r = dynbuf_appends(path, call->membership);
			if (r < 0)
				return r;
		}
		r = dynbuf_appends(path, "/");
		if (r >= 0)
			r = dynbuf_appends(path, ki->get_path);
		if (call->op == AWS_OP_GET) {
			if (r >= 0)
				r = dynbuf_appends(path, "/");
			if (r >= 0)
				r = uri_encode(call->arn, strlen(call->arn), path);
			if (r >= 0 && call->version) {
				r = dynbuf_appends(query, "versionIdentifier=");
				if (r >= 0)
					r = uri_encode(call->version, strlen(call->version), query);
			}
			return r;
		}
		if (r >= 0 && call->parent) {
			/* .../trained-models/{arn}/export-jobs, .../versions */
			r = dynbuf_appends(path, "/");
			if (r >= 0)
				r = uri_encode(call->parent, strlen(call->parent), path);
			if (r >= 0)
				r = dynbuf_appendf(path, "/%s", ki->list_suffix);
		}
		if (r >= 0)
			r = dynbuf_appends(query, "maxResults=100");
		if (r >= 0 && call->next_token) {
			r = dynbuf_appends(query, "&nextToken=");
			if (r >= 0)
				r = uri_encode(call->next_token, strlen(call->next_token), query);
		}
		return r;
	}
	r = dynbuf_appends(path, "/audience-generation-job");
	/* Already in sorted order, so the wire query equals the canonical one. */
	if (r >= 0 && call->collaboration_id) {
		r = dynbuf_appends(query, "collaborationId=");
		if (r >= 0)
			r = uri_encode(call->collaboration_id, strlen(call->collaboration_id), query);
	}
	if (r >= 0 && call->model_arn) {
		r = dynbuf_appends(query, query->len ? "&configuredAudienceModelArn="
						     : "configuredAudienceModelArn=");
		if (r >= 0)
			r = uri_encode(call->model_arn, strlen(call->model_arn), query);
	}
	if (r >= 0)
		r = dynbuf_appends(query, query->len ? "&maxResults=100" : "maxResults=100");
	if (r >= 0 && call->next_token) {
		r = dynbuf_appends(query, "&nextToken=");
		if (r >= 0)
			r = uri_encode(call->next_token, strlen(call->next_token), query);
	}
	return r;
}

static void on_http_done(void *userdata, const struct http_response *resp);

/* Sends one attempt.  On failure the call is completed here; returns false
 * when its callback freed the client. */
static bool start_attempt(struct aws_client *c, struct aws_call *call, const struct aws_credentials *cr)
{
	struct dynbuf path, query, url;
	struct sigv4_signed sig = {};
	const char *headers[8];
	size_t nh = 0;
	struct aws_result res;
	int r;

	dynbuf_init(&path, AWS_MAX_URL);
	dynbuf_init(&query, AWS_MAX_URL);
	dynbuf_init(&url, 2 * AWS_MAX_URL);
	r = dynbuf_reserve(&path, 256);
	if (r >= 0)
		r = build_path_query(c, call, &path, &query);
	if (r >= 0)
		r = dynbuf_reserve(&url, strlen(c->endpoint.base_url) + path.len + query.len + 1);
	if (r >= 0)
		r = dynbuf_appends(&url, c->endpoint.base_url);
	if (r >= 0)
		r = dynbuf_appends(&url, path.data + strlen(c->endpoint.base_path));
	if (r >= 0 && query.len) {
		r = dynbuf_append(&url, "?", 1);
		if (r >= 0)
			r = dynbuf_append(&url, query.data, query.len);
	}
	if (r < 0) {
		result_from_call(call, AWS_CLIENT, &res);
		set_error(&res, "request", "cannot build the request URL: %s", strerror(-r));
		goto fail;
	}
	call->signed_offset_ms = c->clock->offset_ms;
	r = sigv4_sign(c->signer, cr,
		       &(struct sigv4_request){
			   .method = "GET",
			   .host = c->endpoint.host,
			   .path = path.data,
			   .query = query.len ? query.data : NULL,
			   .now = (time_t)(aws_clock_now_ms(c->clock) / 1000),
			   .normalize_path = true,
		       },
		       &sig);
	if (r < 0) {
		result_from_call(call, AWS_CREDENTIALS, &res);
		set_error(&res, "signing", "cannot sign the request: %s", strerror(-r));
		goto fail;
	}
	headers[nh++] = "Accept: application/json";
	headers[nh++] = c->user_agent_header;
	headers[nh++] = sig.amz_date;
	headers[nh++] = sig.authorization;
	if (sig.security_token)
		headers[nh++] = sig.security_token;
	headers[nh] = NULL;

	call->attempts++;
	r = http_submit(c->http,
			&(struct http_request){
			    .method = "GET",
			    .url = url.data,
			    .headers = headers,
			    .timeout_ms = c->timeout_ms,
			    .max_body = AWS_MAX_BODY,
			    .ca_file = c->ca_file,
			    .http2 = true,
			},
			on_http_done, call, &call->transfer);
	sigv4_signed_done(&sig);
	if (r < 0) {
		result_from_call(call, AWS_TRANSPORT, &res);
		set_error(&res, "transport", "cannot start the request: %s", strerror(-r));
		goto fail;
	}
	log_debug("%s %s (attempt %u)", call_op_name(call), path.data, call->attempts);
	queue_push(c, LIST_INFLIGHT, call, false);
	dynbuf_free(&path);
	dynbuf_free(&query);
	dynbuf_free(&url);
	return true;
fail:
	sigv4_signed_done(&sig);
	dynbuf_free(&path);
	dynbuf_free(&query);
	dynbuf_free(&url);
	queue_remove(c, call);
	return call_fail(c, call, &res);
}

/* Dispatches ready calls as far as credentials and the token bucket allow,
 * then arms the timer for the next token or the next backoff to end. */
static void kick(struct aws_client *c, const struct aws_credentials *hint)
{
	uint64_t now = now_monotonic_ms(), wait = UINT64_MAX;
	struct list_node *n, *tmp;
	struct aws_call *call;

	if (c->freeing)
		return;
	list_for_each_safe(n, tmp, &c->lists[LIST_DELAYED].head) {
		call = container_of(n, struct aws_call, node);
		if (call->due_ms <= now)
			queue_push(c, LIST_READY, call, false);
	}
	while ((call = queue_first(c, LIST_READY))) {
		const struct aws_credentials *cr = hint ? hint : creds_current(c->creds);
		uint64_t w;

		if (!cr) {
			/* Park everything ready until the chain answers; other
			 * calls are not affected beyond waiting their turn. */
			while (!list_empty(&c->lists[LIST_READY].head))
				queue_push(c, LIST_CREDS, queue_first(c, LIST_READY), false);
			if (!c->waiter) {
				struct creds_waiter *wt = calloc(1, sizeof(*wt));
				int r = wt ? creds_request(c->creds, on_creds, wt) : -ENOMEM;
				if (r < 0) {
					free(wt);
					log_debug_errno(r, "creds_request failed: %m");
					/* Try again on the next timer tick. */
					while (!list_empty(&c->lists[LIST_CREDS].head))
						queue_push(c, LIST_DELAYED, queue_first(c, LIST_CREDS),
							   false);
					list_for_each(n, &c->lists[LIST_DELAYED].head) {
						call = container_of(n, struct aws_call, node);
						if (call->due_ms <= now)
							call->due_ms = now + 1000;
					}
				} else {
					wt->client = c;
					c->waiter = wt;
				}
			}
			break;
		}
		w = aws_token_bucket_acquire(&c->bucket, now);
		if (w > 0) {
			/* Several calls wait for tokens: send them together once
			 * there are tokens for all (at most a second's worth, the
			 * bucket's capacity), so the loop wakes once per batch
			 * rather than once per request.  At a low max_rps the
			 * wake-up is most of what a request costs; the rate is
			 * the same. */
			size_t waiting = c->lists[LIST_READY].n;
			uint64_t wb =
			    waiting > 1 ? aws_token_bucket_wait(&c->bucket, (double)waiting, now) : 0;

			wait = wb > w ? wb : w;
			break;
		}
		if (!start_attempt(c, call, cr) || c->freeing)
			return;
	}
	list_for_each(n, &c->lists[LIST_DELAYED].head) {
		uint64_t d;

		call = container_of(n, struct aws_call, node);
		d = call->due_ms > now ? call->due_ms - now : 0;
		if (d < wait)
			wait = d;
	}
	if (wait != UINT64_MAX)
		uv_timer_start(c->timer, on_timer, wait, 0);
	else
		uv_timer_stop(c->timer);
}

static void record_latency(struct aws_client *c, uint64_t ms)
{
	size_t i = 0;

	while (i < AWS_LATENCY_BUCKETS && ms > aws_latency_bounds_ms[i])
		i++;
	c->stats.latency_buckets[i]++;
	c->stats.latency_count++;
	c->stats.latency_sum_ms += ms;
}

static void adapt_rate(struct aws_client *c, bool throttled)
{
	uint64_t now = now_monotonic_ms();
	double rate = aws_cubic_on_response(&c->cubic, throttled, now);

	if (rate != c->bucket.rate) {
		if (throttled)
			log_debug("throttled: request rate now %.2f/s", rate);
		aws_token_bucket_set_rate(&c->bucket, rate, now);
	}
}

int aws_client_set_transport(struct aws_client *c, const char *ca_file, uint64_t timeout_ms)
{
	int r = str_replace(&c->ca_file, ca_file);

	if (r < 0)
		return r;
	c->timeout_ms = timeout_ms ? timeout_ms : AWS_DEFAULT_TIMEOUT_MS;
	return 0;
}

void aws_client_set_max_rps(struct aws_client *c, double max_rps)
{
	if (!c)
		return;
	aws_token_bucket_set_rate(&c->bucket, aws_cubic_set_max(&c->cubic, max_rps), now_monotonic_ms());
	schedule_kick(c);
}

/* A status this build does not know is passed on as it is; the operator
 * hears about each new value once, as a warning. */
static void note_unknown_statuses(struct job_observation *const *jobs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (job_status_first_report(jobs[i]->status))
			log_warning("the service reported status %s, which this version does not know; "
				    "passing it on and polling at the working interval (first seen on %s)",
				    job_status_to_string(jobs[i]->status), jobs[i]->arn);
}

/* A 2xx answer: parse it and deliver (the call is completed or queued for
 * its next page). */
static void deliver(struct aws_client *c, struct aws_call *call, const struct http_response *resp,
		    struct aws_result *res)
{
	char perr[256];
	struct job_observation *job = NULL, **items = NULL;
	char *token = NULL;
	size_t n = 0, skipped = 0;
	bool final = true;
	int r;

	if (call->op == AWS_OP_GET)
		r = aws_parse_get_kind(call->kind, resp->body, resp->body_len, &job, perr, sizeof(perr));
	else
		r = aws_parse_list_key(call->kind,
				       call->collab && !resource_kind_info(call->kind)->list_per_parent
					   ? resource_kind_info(call->kind)->collab_list_result_key
					   : resource_kind_info(call->kind)->list_result_key,
				       resp->body, resp->body_len, &items, &n, &skipped, &token, perr,
				       sizeof(perr));
	if (r < 0) {
		res->outcome = AWS_PROTOCOL;
		set_error(res, "protocol", "malformed %s response: %s", call_op_name(call),
			  r == -ENOMEM ? "out of memory" : perr);
		/* This is the one place that knows the request id of a broken
		 * answer, so it is logged here; the poll just fails. */
		log_warning("%s: protocol error (request id %s): %s", call_op_name(call),
			    res->request_id[0] ? res->request_id : "none", res->error_message);
		c->stats.requests[call->op][AWS_PROTOCOL]++;
		call_fail(c, call, res);
		return;
	}
	if (skipped > 0) {
		c->stats.list_entries_skipped += skipped;
		log_warning("%s: skipped %zu of %zu entries that do not fit the model (request id %s): %s",
			    call_op_name(call), skipped, skipped + n,
			    res->request_id[0] ? res->request_id : "none", perr);
	}
	/* Sensitive members leave the client only when asked for: nothing
	 * downstream (tracker, store, notifiers) ever sees them. */
	if (job && !c->keep_sensitive)
		job_observation_redact(job);
	note_unknown_statuses(job ? &job : items, job ? 1 : n);
	c->stats.requests[call->op][AWS_OK]++;
	aws_retry_quota_release(&c->quota, call->last_retry_cost);
	res->outcome = AWS_OK;
	if (call->op == AWS_OP_GET) {
		user_enter(c);
		call->get_cb(call->userdata, res, job);
		call_free(call);
		user_leave(c);
		return;
	}
	if (token && call->next_token && strcmp(token, call->next_token) == 0) {
		/* A service handing back the same token would loop forever. */
		aws_job_array_free(items, n);
		free(token);
		res->outcome = AWS_PROTOCOL;
		set_error(res, "protocol", "ListAudienceGenerationJobs returned the same nextToken again");
		call_fail(c, call, res);
		return;
	}
	final = token == NULL;
	free(call->next_token);
	call->next_token = token;
	user_enter(c);
	call->page_cb(call->userdata, res, items, n, final);
	if (final) {
		call_free(call);
		user_leave(c);
		return;
	}
	if (c->freeing) {
		struct aws_result cres = {.outcome = AWS_CANCELLED};
		set_error(&cres, "cancelled", "cancelled");
		call->page_cb(call->userdata, &cres, NULL, 0, true);
		call_free(call);
		user_leave(c);
		return;
	}
	user_leave(c);
	/* The next page is a new request with its own attempts. */
	call->attempts = 0;
	call->last_retry_cost = 0;
	call->auth_retried = false;
	call->skew_retried = false;
	call->start_ms = now_monotonic_ms();
	memset(&call->last, 0, sizeof(call->last));
	queue_push(c, LIST_READY, call, false);
	schedule_kick(c);
}

/* What one attempt came to, as the caller sees it: the request's facts,
 * and for a failure (outcome not AWS_OK) its error type and message. */
static void result_fill(const struct aws_call *call, const struct http_response *resp,
			const struct aws_error *err, enum aws_outcome outcome, struct aws_result *res)
{
	*res = (struct aws_result){
	    .outcome = outcome,
	    .transport = resp->error,
	    .http_status = resp->status,
	    .attempts = call->attempts,
	    .elapsed_ms = now_monotonic_ms() - call->start_ms,
	};
	memcpy(res->request_id, err->request_id, sizeof(res->request_id));
	if (outcome == AWS_OK)
		return;
	if (resp->error != HTTP_OK) {
		set_error(
		    res, http_error_to_string(resp->error) ? http_error_to_string(resp->error) : "transport",
		    "%s", resp->error_text[0] ? resp->error_text : "transport error");
		if (outcome == AWS_PROTOCOL)
			set_error(res, "protocol", "response body over the %d byte cap", AWS_MAX_BODY);
		return;
	}
	if (err->type[0])
		memcpy(res->error_type, err->type, sizeof(res->error_type));
	else
		snprintf(res->error_type, sizeof(res->error_type), "HTTP %ld", resp->status);
	memcpy(res->error_message, err->message, sizeof(res->error_message));
}

/* A failed attempt goes again when that may help: once after a clock
 * correction (skewed: it was signed with an offset no longer ours), once
 * after a credential refresh, and within the standard mode's attempts and
 * retry quota for a retryable outcome.  Returns true when the call was
 * queued again. */
static bool retry_if_worth(struct aws_client *c, struct aws_call *call, const struct http_response *resp,
			   const struct aws_result *res, bool skewed)
{
	enum aws_outcome outcome = res->outcome;
	unsigned cost;
	uint64_t delay;

	if (skewed && (outcome == AWS_AUTH || outcome == AWS_AUTH_EXPIRED) && !call->skew_retried) {
		/* Refused for the time it was signed with: once more, with the
		 * corrected clock, outside the attempt budget. */
		call->skew_retried = true;
		c->stats.retries++;
		queue_push(c, LIST_READY, call, true);
		schedule_kick(c);
		return true;
	}
	if (outcome == AWS_AUTH_EXPIRED && !call->auth_retried) {
		/* Fresh credentials may fix it: one refresh, one retry, outside
		 * the standard mode's attempt budget and quota. */
		log_debug("%s: %s, refreshing credentials", call_op_name(call), res->error_type);
		call->auth_retried = true;
		c->stats.retries++;
		c->stats.auth_refreshes++;
		creds_invalidate(c->creds);
		queue_push(c, LIST_READY, call, true);
		schedule_kick(c);
		return true;
	}
	if (!aws_outcome_is_retryable(outcome) ||
	    call->attempts >= (call->max_attempts ? call->max_attempts : c->max_attempts))
		return false;
	cost = aws_retry_quota_acquire(&c->quota, resp->error == HTTP_ERR_TIMEOUT);
	if (cost == 0) {
		c->stats.quota_exhausted++;
		log_debug("%s: retry quota exhausted, not retrying", call_op_name(call));
		return false;
	}
	delay = aws_retry_backoff_ms(call->attempts, client_random(c));
	if (resp->error == HTTP_OK)
		delay = aws_retry_after_ms(http_response_header(resp, "x-amz-retry-after"), delay);
	log_debug("%s: %s (attempt %u), retrying in %" PRIu64 " ms", call_op_name(call), res->error_type,
		  call->attempts, delay);
	call->last_retry_cost = cost;
	call->due_ms = now_monotonic_ms() + delay;
	c->stats.retries++;
	queue_push(c, LIST_DELAYED, call, false);
	schedule_kick(c);
	return true;
}

static void on_http_done(void *userdata, const struct http_response *resp)
{
	struct aws_call *call = userdata;
	struct aws_client *c = call->client;
	struct aws_result res;
	struct aws_error err;
	enum aws_outcome outcome;
	bool ok = resp->error == HTTP_OK && resp->status >= 200 && resp->status < 300, skewed;

	call->transfer = NULL;
	if (!c) {
		/* Orphaned by aws_client_free(); its callback already ran. */
		call_free(call);
		return;
	}
	queue_remove(c, call);
	record_latency(c, resp->elapsed_ms);
	aws_clock_correct(c->clock, resp, "Clean Rooms ML");
	/* Signed with an offset that is no longer ours: this answer or an
	 * earlier one (several requests may be in flight) moved it. */
	skewed = call->signed_offset_ms != c->clock->offset_ms;

	aws_error_parse(http_response_header(resp, "x-amzn-errortype"),
			http_response_header(resp, "x-amzn-requestid"),
			resp->error == HTTP_OK && !ok ? resp->body : NULL, resp->body_len, &err);
	outcome = ok ? AWS_OK : aws_classify(resp->error, resp->status, err.type);
	result_fill(call, resp, &err, outcome, &res);
	if (ok) {
		adapt_rate(c, false);
		deliver(c, call, resp, &res);
		return;
	}
	c->stats.requests[call->op][outcome]++;
	if (outcome == AWS_THROTTLED)
		c->stats.throttles++;
	if (outcome == AWS_CANCELLED) {
		call_fail(c, call, &res);
		return;
	}
	/* Only answers from the service say anything about its load. */
	if (resp->error == HTTP_OK)
		adapt_rate(c, outcome == AWS_THROTTLED);
	call->last = res;
	if (!retry_if_worth(c, call, resp, &res, skewed))
		call_fail(c, call, &res);
}

/* Queues a new call for the next kick; *ret (optional) is its handle. */
static int call_submit(struct aws_client *c, struct aws_call *call, struct aws_call **ret)
{
	queue_push(c, LIST_READY, call, false);
	schedule_kick(c);
	if (ret)
		*ret = call;
	return 0;
}

static int call_new(struct aws_client *c, enum aws_op op, void *userdata, struct aws_call **ret)
{
	struct aws_call *call = calloc(1, sizeof(*call));

	if (!call)
		return -ENOMEM;
	call->client = c;
	call->op = op;
	call->userdata = userdata;
	call->start_ms = now_monotonic_ms();
	*ret = call;
	return 0;
}

int aws_get_job(struct aws_client *c, const char *arn, aws_get_fn cb, void *userdata, struct aws_call **ret)
{
	struct aws_call *call;
	int r;

	char membership[KIND_MEMBERSHIP_ID_SIZE], parent[2048];
	enum resource_kind kind = resource_kind_from_arn(arn, membership);
	const char *key = NULL;

	/* A kind without a Get is watched through its List only. */
	if (!c || !cb || c->freeing || kind == KIND_INVALID || resource_kind_info(kind)->list_only)
		return -EINVAL;
	if (resource_kind_info(kind)->parent_type) {
		/* A trained model version: its model's Get, with the version. */
		key = resource_kind_split_child(arn, parent, sizeof(parent));
		if (!key)
			return -EINVAL;
	}
	r = call_new(c, AWS_OP_GET, userdata, &call);
	if (r < 0)
		return r;
	call->kind = kind;
	memcpy(call->membership, membership, sizeof(membership));
	call->get_cb = cb;
	call->arn = strdup(key ? parent : arn);
	call->version = strdup_or_null(key);
	if (!call->arn || (key && !call->version)) {
		call_free(call);
		return -ENOMEM;
	}
	return call_submit(c, call, ret);
}

int aws_list_jobs(struct aws_client *c, const char *collaboration_id,
		  const char *configured_audience_model_arn, aws_list_page_fn cb, void *userdata,
		  struct aws_call **ret)
{
	struct aws_call *call;
	int r;

	if (!c || !cb || c->freeing)
		return -EINVAL;
	if (collaboration_id && !uuid_is_valid(collaboration_id))
		return -EINVAL;
	if (configured_audience_model_arn &&
	    !arn_is_configured_audience_model(configured_audience_model_arn))
		return -EINVAL;
	r = call_new(c, AWS_OP_LIST, userdata, &call);
	if (r < 0)
		return r;
	call->page_cb = cb;
	call->collaboration_id = strdup_or_null(collaboration_id);
	call->model_arn = strdup_or_null(configured_audience_model_arn);
	if ((collaboration_id && !call->collaboration_id) ||
	    (configured_audience_model_arn && !call->model_arn)) {
		call_free(call);
		return -ENOMEM;
	}
	return call_submit(c, call, ret);
}

int aws_list_kind(struct aws_client *c, enum resource_kind kind, const char *membership_id,
		  aws_list_page_fn cb, void *userdata, struct aws_call **ret)
{
	return aws_list_scoped(c, kind, &(struct aws_list_scope){.membership_id = membership_id}, cb,
			       userdata, ret);
}

/* Whether scope fits the kind's List (see aws_list_scoped()). */
static bool scope_is_valid(const struct resource_kind_info *ki, const struct aws_list_scope *sc)
{
	char m[KIND_MEMBERSHIP_ID_SIZE];

	if ((sc->membership_id && !uuid_is_valid(sc->membership_id)) ||
	    (sc->collaboration_id && !uuid_is_valid(sc->collaboration_id)))
		return false;
	if (ki->list_per_parent) {
		if (!sc->parent_arn ||
		    resource_kind_from_arn(sc->parent_arn, m) != resource_kind_from_string(ki->parent_type))
			return false;
		if (ki->list_by_collaboration)
			return sc->collaboration_id != NULL;
		return !sc->membership_id || strcmp(sc->membership_id, m) == 0;
	}
	if (sc->parent_arn)
		return false;
	if (sc->collaboration_id)
		return ki->collab_list_operation != NULL && !sc->membership_id;
	return ki->membership_scoped == (sc->membership_id != NULL);
}

int aws_list_scoped(struct aws_client *c, enum resource_kind kind, const struct aws_list_scope *scope,
		    aws_list_page_fn cb, void *userdata, struct aws_call **ret)
{
	const struct resource_kind_info *ki = resource_kind_info(kind);
	char m[KIND_MEMBERSHIP_ID_SIZE] = "";
	struct aws_call *call;
	int r;

	if (!c || !cb || c->freeing || !ki || !scope || kind == KIND_AUDIENCE_GENERATION_JOB ||
	    !scope_is_valid(ki, scope))
		return -EINVAL;
	r = call_new(c, AWS_OP_LIST, userdata, &call);
	if (r < 0)
		return r;
	call->page_cb = cb;
	call->kind = kind;
	if (scope->parent_arn)
		(void)resource_kind_from_arn(scope->parent_arn, m);
	if (scope->membership_id)
		memcpy(call->membership, scope->membership_id, KIND_MEMBERSHIP_ID_SIZE);
	else if (m[0])
		memcpy(call->membership, m, KIND_MEMBERSHIP_ID_SIZE);
	call->collab = scope->collaboration_id != NULL;
	call->collaboration_id = strdup_or_null(scope->collaboration_id);
	call->parent = strdup_or_null(scope->parent_arn);
	if ((scope->collaboration_id && !call->collaboration_id) || (scope->parent_arn && !call->parent)) {
		call_free(call);
		return -ENOMEM;
	}
	return call_submit(c, call, ret);
}

void aws_call_set_max_attempts(struct aws_call *call, unsigned max_attempts)
{
	if (call)
		call->max_attempts = max_attempts;
}

static void cancel_call(struct aws_client *c, struct aws_call *call)
{
	struct aws_result res;

	queue_remove(c, call);
	result_from_call(call, AWS_CANCELLED, &res);
	set_error(&res, "cancelled", "cancelled");
	if (call->transfer) {
		/* The http callback still comes; it frees the orphan. */
		struct aws_call *orphan = call;
		http_transfer_cancel(call->transfer);
		user_enter(c);
		if (call->op == AWS_OP_GET)
			call->get_cb(call->userdata, &res, NULL);
		else
			call->page_cb(call->userdata, &res, NULL, 0, true);
		orphan->client = NULL;
		user_leave(c);
		return;
	}
	call_fail(c, call, &res);
}

void aws_call_cancel(struct aws_call *call)
{
	if (!call || !call->client)
		return;
	cancel_call(call->client, call);
}

static void on_timer_closed(uv_handle_t *h)
{
	free(h);
}

static void really_free(struct aws_client *c)
{
	if (c->waiter)
		c->waiter->client = NULL;
	uv_close((uv_handle_t *)c->timer, on_timer_closed);
	sigv4_signer_free(c->signer);
	aws_endpoint_done(&c->endpoint);
	free(c->ca_file);
	free(c->user_agent_header);
	free(c);
}

struct aws_client *aws_client_free(struct aws_client *c)
{
	if (!c || c->freeing)
		return NULL;
	c->freeing = true;
	uv_timer_stop(c->timer);
	user_enter(c);
	for (int l = LIST_READY; l < _LIST_MAX; l++)
		while (!list_empty(&c->lists[l].head))
			cancel_call(c, queue_first(c, l));
	user_leave(c);
	return NULL;
}

int aws_client_new(struct uv_loop_s *loop, struct http_ctx *http, struct creds *creds,
		   const struct aws_client_options *opts, struct aws_client **ret)
{
	struct aws_client *c;
	struct dynbuf ua;
	int r;

	if (!loop || !http || !creds || !opts || !opts->endpoint || !opts->endpoint->region)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	for (int l = 0; l < _LIST_MAX; l++)
		list_init(&c->lists[l].head);
	c->loop = loop;
	c->http = http;
	c->creds = creds;
	c->clock = &c->own_clock;
	c->timeout_ms = opts->timeout_ms ? opts->timeout_ms : AWS_DEFAULT_TIMEOUT_MS;
	c->max_attempts = opts->max_attempts ? opts->max_attempts : AWS_RETRY_MAX_ATTEMPTS;
	c->random = opts->random;
	c->keep_sensitive = opts->keep_sensitive;
	c->random_userdata = opts->random_userdata;
	if (getrandom(&c->rng, sizeof(c->rng), GRND_NONBLOCK) != sizeof(c->rng) || c->rng == 0)
		c->rng = now_monotonic_ms() | 1;

	c->endpoint.base_url = strdup(opts->endpoint->base_url);
	c->endpoint.host = strdup(opts->endpoint->host);
	c->endpoint.base_path = strdup(opts->endpoint->base_path ? opts->endpoint->base_path : "");
	c->endpoint.region = strdup(opts->endpoint->region);
	c->endpoint.custom = opts->endpoint->custom;
	c->ca_file = strdup_or_null(opts->ca_file);
	dynbuf_init(&ua, 512);
	if (dynbuf_appendf(&ua, "User-Agent: %s",
			   opts->user_agent ? opts->user_agent : "jobwatchd/" JW_VERSION) >= 0)
		c->user_agent_header = dynbuf_take(&ua);
	dynbuf_free(&ua);
	c->timer = calloc(1, sizeof(*c->timer));
	if (!c->endpoint.base_url || !c->endpoint.host || !c->endpoint.base_path || !c->endpoint.region ||
	    (opts->ca_file && !c->ca_file) || !c->user_agent_header || !c->timer) {
		r = -ENOMEM;
		goto fail;
	}
	r = sigv4_signer_new(c->endpoint.region, AWS_SIGNING_SERVICE, &c->signer);
	if (r < 0)
		goto fail;
	r = uv_timer_init(loop, c->timer);
	if (r < 0)
		goto fail;
	c->timer->data = c;
	aws_token_bucket_init(&c->bucket, opts->max_rps, now_monotonic_ms());
	aws_cubic_init(&c->cubic, opts->max_rps, now_monotonic_ms());
	aws_retry_quota_init(&c->quota);
	*ret = c;
	return 0;
fail:
	free(c->timer);
	sigv4_signer_free(c->signer);
	aws_endpoint_done(&c->endpoint);
	free(c->ca_file);
	free(c->user_agent_header);
	free(c);
	return r;
}

const struct aws_client_stats *aws_client_stats(const struct aws_client *c)
{
	struct aws_client *m = (struct aws_client *)c;

	m->stats.current_rate = c->bucket.rate;
	m->stats.retry_quota_available = c->quota.available;
	m->stats.queued = c->lists[LIST_READY].n + c->lists[LIST_DELAYED].n + c->lists[LIST_CREDS].n;
	m->stats.inflight = c->lists[LIST_INFLIGHT].n;
	m->stats.clock_offset_ms = c->clock->offset_ms;
	return &c->stats;
}

const char *aws_client_region(const struct aws_client *c)
{
	return c->endpoint.region;
}

struct aws_clock *aws_client_clock(struct aws_client *c)
{
	return c ? c->clock : NULL;
}

void aws_client_set_clock(struct aws_client *c, struct aws_clock *k)
{
	if (c)
		c->clock = k ? k : &c->own_clock;
}

void aws_result_format(const struct aws_result *r, char *buf, size_t size)
{
	if (r->request_id[0])
		snprintf(buf, size, "%s: %s (request id %s)", r->error_type[0] ? r->error_type : "error",
			 r->error_message[0] ? r->error_message : "(no message)", r->request_id);
	else
		snprintf(buf, size, "%s: %s", r->error_type[0] ? r->error_type : "error",
			 r->error_message[0] ? r->error_message : "(no message)");
}
