#include "notify/eventbridge.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "aws/clock.h"
#include "aws/endpoint.h"
#include "aws/errors.h"
#include "aws/retry.h"
#include "creds.h"
#include "notify/route.h"
#include "http.h"
#include "log.h"
#include "notify/backoff.h"
#include "notify/eventbridge_entry.h"
#include "notify/eventbridge_request.h"
#include "notify/jobset.h"
#include "notify/webhook.h"
#include "aws/sigv4.h"
#include "store.h"
#include "util.h"

/* Local failures (the outbox, the credential chain) are looked at again
 * this soon. */
#define EB_LOCAL_RETRY_MS 5000
/* Pending deliveries one run looks at past the oldest (as webhook.c). */
#define EB_SCAN_MAX 1024
/* Bad requests in a row that make the sink "failing". */
#define EB_FAILING_AFTER 2

struct eb_batch;

/* Lives apart from the sink: a creds_request() cannot be withdrawn, so a
 * sink freed meanwhile leaves its callback a NULL sink. */
struct eb_creds_wait {
	struct eb_sink *sink;
};

struct eb_sink {
	char *name;
	char *sink; /* "eventbridge:NAME" */
	char *event_bus;
	char *source;
	struct aws_endpoint endpoint;
	char *ca_file;
	uint64_t timeout_ms;
	double time_scale;
	int64_t max_age_ms;	 /* scaled */
	struct aws_clock *clock; /* borrowed; NULL = the local clock */
	void (*wakeup_changed)(void *userdata);
	void *userdata;

	struct store *store;
	struct http_ctx *http;
	struct creds *creds;
	struct sigv4_signer *signer;
	struct eb_creds_wait *creds_wait;
	struct eb_batch *inflight; /* one request at a time */
	int64_t next_wakeup_ms;
	int64_t hold_until_ms; /* the service asked for a pause (throttling, 5xx) */
	unsigned consecutive_failures;
	int64_t first_failure_ms; /* of the current run of bad requests */
	bool in_run;
	struct jobset jobs; /* scratch of one scan */
	struct eb_stats stats;
};

/* One PutEvents request: its entries in request order. */
struct eb_batch {
	struct eb_sink *sink; /* NULL once the sink is gone */
	struct http_transfer *transfer;
	int64_t signed_offset_ms; /* the clock offset it was signed with */
	size_t n;
	struct eb_item {
		int64_t seq;
		int64_t detected_ms;
		unsigned attempts; /* before this one */
		char event_id[EVENT_ID_LEN + 1];
	} items[EVENTBRIDGE_MAX_ENTRIES];
};

static int64_t scaled(const struct eb_sink *s, int64_t ms)
{
	return (int64_t)((double)ms * s->time_scale);
}

static void set_last_error(struct eb_sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_last_error(struct eb_sink *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->stats.last_error, sizeof(s->stats.last_error), fmt, ap);
	va_end(ap);
}

int eb_sink_new(const struct eb_sink_params *p, struct store *store, struct http_ctx *http,
		struct creds *creds, struct eb_sink **ret)
{
	struct eb_sink *s;
	int r;

	if (!p || str_empty(p->name) || str_empty(p->event_bus) || str_empty(p->source) || !p->endpoint ||
	    !p->endpoint->base_url || !p->endpoint->region || !store || !http || !creds)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->name = strdup(p->name);
	s->event_bus = strdup(p->event_bus);
	s->source = strdup(p->source);
	s->ca_file = strdup_or_null(p->ca_file);
	s->endpoint.base_url = strdup(p->endpoint->base_url);
	s->endpoint.host = strdup(p->endpoint->host);
	s->endpoint.base_path = strdup(p->endpoint->base_path ? p->endpoint->base_path : "");
	s->endpoint.region = strdup(p->endpoint->region);
	s->sink = route_eventbridge_sink(p->name);
	if (!s->name || !s->event_bus || !s->source || (p->ca_file && !s->ca_file) ||
	    !s->endpoint.base_url || !s->endpoint.host || !s->endpoint.base_path || !s->endpoint.region ||
	    !s->sink) {
		eb_sink_free(s);
		return -ENOMEM;
	}
	r = sigv4_signer_new(s->endpoint.region, EVENTBRIDGE_SIGNING_NAME, &s->signer);
	if (r < 0) {
		eb_sink_free(s);
		return r;
	}
	s->timeout_ms = p->timeout_ms ? p->timeout_ms : 15000;
	s->clock = p->clock;
	s->time_scale = p->time_scale > 0 ? p->time_scale : webhook_time_scale_from_env();
	s->max_age_ms = scaled(s, WEBHOOK_MAX_AGE_DEFAULT_MS);
	s->wakeup_changed = p->wakeup_changed;
	s->userdata = p->userdata;
	s->store = store;
	s->http = http;
	s->creds = creds;
	*ret = s;
	return 0;
}

struct eb_sink *eb_sink_free(struct eb_sink *s)
{
	if (!s)
		return NULL;
	if (s->inflight) {
		/* Its callback still runs (cancelled) and frees the batch; the
		 * entries stay pending in the outbox. */
		s->inflight->sink = NULL;
		http_transfer_cancel(s->inflight->transfer);
	}
	if (s->creds_wait)
		s->creds_wait->sink = NULL;
	sigv4_signer_free(s->signer);
	aws_endpoint_done(&s->endpoint);
	free(s->name);
	free(s->sink);
	free(s->event_bus);
	free(s->source);
	free(s->ca_file);
	free(s);
	return NULL;
}

const char *eb_sink_name(const struct eb_sink *s)
{
	return s->name;
}

const char *eb_sink_outbox(const struct eb_sink *s)
{
	return s->sink;
}

const struct eb_stats *eb_sink_stats(const struct eb_sink *s)
{
	return &s->stats;
}

int64_t eb_sink_next_wakeup_ms(const struct eb_sink *s)
{
	return s->inflight || s->creds_wait ? -1 : s->next_wakeup_ms;
}

void eb_sink_carry_health(struct eb_sink *to, const struct eb_sink *from)
{
	if (!to || !from)
		return;
	to->stats.failing = from->stats.failing;
	to->stats.failing_since_ms = from->stats.failing_since_ms;
	to->consecutive_failures = from->consecutive_failures;
	to->first_failure_ms = from->first_failure_ms;
}

/* The bus refusing or failing is said once when it starts and once when it
 * ends, so a long outage does not flood the journal.  It starts with the
 * second bad request in a row: one may be a single entry's bad luck (a lone
 * retried entry refused again), two in a row are the bus. */
static void streak_failed(struct eb_sink *s, int64_t now_ms)
{
	if (s->consecutive_failures++ == 0)
		s->first_failure_ms = now_ms;
	if (s->stats.failing || s->consecutive_failures < EB_FAILING_AFTER)
		return;
	s->stats.failing = true;
	s->stats.failing_since_ms = s->first_failure_ms;
	log_warning(
	    "eventbridge %s: putting events on %s fails: %s; retrying (events are kept in the outbox)",
	    s->name, s->event_bus, s->stats.last_error);
}

static void streak_ended(struct eb_sink *s, int64_t now_ms)
{
	int64_t backlog = 0;

	s->consecutive_failures = 0;
	if (!s->stats.failing)
		return;
	s->stats.failing = false;
	if (store_delivery_backlog(s->store, s->sink, &backlog) < 0)
		backlog = -1;
	log_notice("eventbridge %s: the bus takes events again after %lld s (%lld still pending)", s->name,
		   (long long)((now_ms - s->stats.failing_since_ms) / 1000), (long long)backlog);
	s->stats.failing_since_ms = 0;
}

static void give_up(struct eb_sink *s, const struct eb_item *it, const char *why)
{
	int r = store_delivery_park(s->store, s->sink, it->seq, why);

	if (r < 0) {
		log_error_errno(r, "eventbridge %s: cannot park event %s: %m", s->name, it->event_id);
		return;
	}
	s->stats.parked++;
	log_error(
	    "eventbridge %s: event %s not put on the bus: %s; parked, \"jobwatchd retry %s\" or SIGHUP "
	    "sends it again",
	    s->name, it->event_id, why, s->name);
}

/* The next attempt of one entry: after the AWS standard backoff (at least
 * retry_after_ms), or parked once older than max age -- or, for an answer
 * that will not change (client_error), after a few attempts. */
static void retry_later(struct eb_sink *s, const struct eb_item *it, bool client_error,
			int64_t retry_after_ms, int64_t now_ms)
{
	unsigned attempts = it->attempts + 1;
	int64_t delay;
	int r;

	if (client_error && attempts >= WEBHOOK_CLIENT_ERROR_ATTEMPTS) {
		give_up(s, it, s->stats.last_error);
		return;
	}
	if (!client_error && it->detected_ms > 0 && now_ms - it->detected_ms >= s->max_age_ms) {
		give_up(s, it, "still failing after max age (24 h)");
		return;
	}
	s->stats.retried++;
	delay = (int64_t)aws_retry_backoff_ms(attempts, (webhook_backoff_random_unit() + 1) / 2);
	if (client_error && delay < webhook_backoff_base_ms(attempts))
		delay = webhook_backoff_base_ms(attempts);
	if (retry_after_ms > delay)
		delay = retry_after_ms;
	r = store_delivery_retry(s->store, s->sink, it->seq, attempts, now_ms + scaled(s, delay),
				 s->stats.last_error);
	if (r < 0)
		log_error_errno(r, "eventbridge %s: cannot record the retry of event %s: %m", s->name,
				it->event_id);
}

/* Settles each entry by what the service said about it.  The sink is
 * failing when a request had every entry refused for a reason that may
 * pass (throttling, an internal failure) and recovers with a request
 * whose entries were all taken; a partial refusal changes neither (a bus
 * throttling now and then is working), and an entry refused for good is
 * that entry's problem, logged with it. */
static void settle_entries(struct eb_sink *s, struct eb_batch *b, const struct eventbridge_outcome *out,
			   int64_t now_ms)
{
	unsigned accepted = 0, retryable = 0;
	int r;

	for (size_t i = 0; i < b->n; i++) {
		const struct eb_item *it = &b->items[i];
		const struct eventbridge_outcome *o = &out[i];

		if (!o->error_code[0]) {
			accepted++;
			r = store_delivery_done(s->store, s->sink, it->seq);
			if (r < 0)
				log_error_errno(r, "eventbridge %s: cannot mark event %s put: %m", s->name,
						it->event_id);
			else
				s->stats.accepted++;
			continue;
		}
		set_last_error(s, "entry refused: %s: %s", o->error_code, o->error_message);
		if (eventbridge_error_is_retryable(o->error_code)) {
			retryable++;
			log_debug("eventbridge %s: event %s: %s", s->name, it->event_id,
				  s->stats.last_error);
			retry_later(s, it, false, -1, now_ms);
		} else {
			give_up(s, it, s->stats.last_error);
		}
	}
	if (retryable > 0 && accepted == 0)
		streak_failed(s, now_ms);
	else if (retryable == 0 && accepted == b->n)
		streak_ended(s, now_ms);
}

/* The request as a whole failed: every entry is tried again.  skewed: it
 * was signed with a clock offset that is no longer ours (this answer, or an
 * earlier one of any service, corrected the clock): a refusal for its
 * signature is then no fault of the entries. */
static void request_failed(struct eb_sink *s, struct eb_batch *b, const struct http_response *resp,
			   bool skewed, int64_t now_ms)
{
	struct aws_error err;
	enum aws_outcome o;
	int64_t retry_after = -1;
	const char *ra = resp->error == HTTP_OK ? http_response_header(resp, "x-amz-retry-after") : NULL;

	eventbridge_request_failure(resp, &err, s->stats.last_error, sizeof(s->stats.last_error));
	o = aws_classify(resp->error, resp->status, err.type);
	s->stats.requests_failed++;
	if (ra)
		retry_after = (int64_t)aws_retry_after_ms(ra, 0);
	if (skewed && (o == AWS_AUTH || o == AWS_AUTH_EXPIRED)) {
		/* Not the entries' fault, nor the credentials': again soon. */
		log_info("eventbridge %s: PutEvents refused for the time it was signed with (%s); sending "
			 "again with the corrected clock",
			 s->name, s->stats.last_error);
		for (size_t i = 0; i < b->n; i++)
			retry_later(s, &b->items[i], false, -1, now_ms);
		return;
	}
	if (o == AWS_AUTH_EXPIRED)
		creds_invalidate(s->creds);
	if (o == AWS_THROTTLED || o == AWS_TRANSIENT) {
		/* The service's state, not the entries': pause the sink. */
		int64_t pause = (int64_t)aws_retry_backoff_ms(1, 0.5);
		if (retry_after > pause)
			pause = retry_after;
		s->hold_until_ms = now_ms + scaled(s, pause);
	} else if (o != AWS_AUTH_EXPIRED) {
		log_warning("eventbridge %s: PutEvents refused: %s", s->name, s->stats.last_error);
	}
	streak_failed(s, now_ms);
	for (size_t i = 0; i < b->n; i++)
		retry_later(s, &b->items[i],
			    o != AWS_THROTTLED && o != AWS_TRANSIENT && o != AWS_AUTH_EXPIRED, retry_after,
			    now_ms);
}

static void on_done(void *userdata, const struct http_response *resp)
{
	struct eb_batch *b = userdata;
	struct eb_sink *s = b->sink;
	int64_t now_ms = (int64_t)now_realtime_ms();
	struct eventbridge_outcome out[EVENTBRIDGE_MAX_ENTRIES];

	if (!s) {
		free(b);
		return;
	}
	s->inflight = NULL;
	aws_clock_correct(s->clock, resp, "EventBridge");
	if (resp->error == HTTP_ERR_CANCELLED) {
		/* Shutdown or reload: nothing was learned. */
	} else if (resp->error == HTTP_OK && resp->status >= 200 && resp->status < 300) {
		memset(out, 0, sizeof(out));
		if (eventbridge_response_parse(resp->body, resp->body_len, b->n, out) < 0) {
			/* Which entries were taken is unknown: send them again
			 * (the bus may see one twice; the detail's eventId tells). */
			set_last_error(s, "PutEvents answered 2xx with an unexpected document");
			log_warning("eventbridge %s: %s", s->name, s->stats.last_error);
			s->stats.requests_failed++;
			streak_failed(s, now_ms);
			for (size_t i = 0; i < b->n; i++)
				retry_later(s, &b->items[i], false, -1, now_ms);
		} else {
			s->stats.requests_ok++;
			settle_entries(s, b, out, now_ms);
		}
	} else {
		request_failed(s, b, resp, b->signed_offset_ms != (s->clock ? s->clock->offset_ms : 0),
			       now_ms);
	}
	free(b);
	eb_sink_run(s, now_ms);
	if (s->wakeup_changed)
		s->wakeup_changed(s->userdata);
}

static void on_creds(void *userdata, int error, const struct aws_credentials *cr)
{
	struct eb_creds_wait *w = userdata;
	struct eb_sink *s = w->sink;
	int64_t now_ms = (int64_t)now_realtime_ms();

	(void)cr;
	free(w);
	if (!s)
		return;
	s->creds_wait = NULL;
	if (error < 0) {
		const char *why = creds_last_error(s->creds);
		set_last_error(s, "no AWS credentials: %s", why ? why : strerror(-error));
		streak_failed(s, now_ms);
		s->hold_until_ms = now_ms + EB_LOCAL_RETRY_MS;
	}
	eb_sink_run(s, now_ms);
	if (s->wakeup_changed)
		s->wakeup_changed(s->userdata);
}

/* Signs and sends body; the batch is in flight on success. */
static int send_batch(struct eb_sink *s, struct eb_batch *b, const struct aws_credentials *cr,
		      const char *body, size_t body_len)
{
	b->signed_offset_ms = s->clock ? s->clock->offset_ms : 0;
	return eventbridge_request_submit(s->http,
					  &(struct eventbridge_target){
					      .endpoint = &s->endpoint,
					      .signer = s->signer,
					      .ca_file = s->ca_file,
					      .timeout_ms = s->timeout_ms,
					      .clock = s->clock,
					  },
					  cr, body, body_len, on_done, b, &b->transfer);
}

/* The scan: one head per job, due ones picked (at most 10). */
struct eb_scan {
	struct eb_sink *s;
	int64_t now_ms;
	size_t n;
	int64_t seqs[EVENTBRIDGE_MAX_ENTRIES];
	int64_t next_due; /* earliest waiting head, -1 none */
};

static int scan_row(void *userdata, const struct store_delivery_row *row)
{
	struct eb_scan *c = userdata;

	if (jobset_head(&c->s->jobs, jobset_key(row->arn), row->hidden, row->next_at_ms, c->now_ms,
			c->now_ms + EB_LOCAL_RETRY_MS, &c->next_due) != JOBSET_HEAD_DUE)
		return 0;
	c->seqs[c->n++] = row->seq;
	return c->n >= EVENTBRIDGE_MAX_ENTRIES ? 1 : 0;
}

/* Loads the picked deliveries into a batch and its body.  An event that
 * cannot become an entry is parked here.  Returns the number of entries
 * or a negative errno (the outbox). */
static int fill_batch(struct eb_sink *s, const struct eb_scan *c, struct eb_batch *b, struct dynbuf *body)
{
	int r = dynbuf_appends(body, "{\"Entries\":[");

	for (size_t i = 0; r >= 0 && i < c->n; i++) {
		struct event *e = NULL;
		unsigned attempts = 0;
		char *entry;

		r = store_delivery_load(s->store, s->sink, c->seqs[i], &e, &attempts);
		if (r <= 0)
			continue;
		struct eb_item *it = &b->items[b->n];
		*it = (struct eb_item){.seq = e->seq, .detected_ms = e->detected_ms, .attempts = attempts};
		memcpy(it->event_id, e->id, sizeof(it->event_id));
		errno = 0;
		entry = eventbridge_entry_build(e, s->event_bus, s->source);
		event_free(e);
		if (!entry) {
			set_last_error(s, "cannot build the entry: %s", strerror(errno ? errno : ENOMEM));
			give_up(s, it, s->stats.last_error);
			r = 0;
			continue;
		}
		/* The next one goes in the next request when this one would
		 * pass the request size limit. */
		if (body->len + strlen(entry) + 3 > EVENTBRIDGE_MAX_BODY_BYTES) {
			free(entry);
			break;
		}
		r = dynbuf_appendf(body, "%s%s", b->n ? "," : "", entry);
		free(entry);
		if (r >= 0)
			b->n++;
	}
	if (r >= 0)
		r = dynbuf_appends(body, "]}");
	return r < 0 ? r : (int)b->n;
}

void eb_sink_run(struct eb_sink *s, int64_t now_ms)
{
	struct eb_scan c = {.s = s, .now_ms = now_ms, .next_due = -1};
	const struct aws_credentials *cr;
	struct eb_batch *b;
	struct dynbuf body;
	int r;

	if (!s || s->in_run || s->inflight || s->creds_wait)
		return;
	if (s->hold_until_ms > now_ms) {
		s->next_wakeup_ms = s->hold_until_ms;
		return;
	}
	s->in_run = true;
	s->next_wakeup_ms = -1;
	jobset_clear(&s->jobs);
	r = store_delivery_scan(s->store, s->sink, EB_SCAN_MAX, scan_row, &c);
	if (r < 0) {
		log_error_errno(r, "eventbridge %s: cannot read the outbox: %m", s->name);
		s->next_wakeup_ms = now_ms + EB_LOCAL_RETRY_MS;
		goto out;
	}
	s->next_wakeup_ms = c.next_due;
	if (c.n == 0)
		goto out;
	cr = creds_current(s->creds);
	if (!cr) {
		struct eb_creds_wait *w = calloc(1, sizeof(*w));
		r = w ? creds_request(s->creds, on_creds, w) : -ENOMEM;
		if (r < 0) {
			free(w);
			s->next_wakeup_ms = now_ms + EB_LOCAL_RETRY_MS;
		} else {
			w->sink = s;
			s->creds_wait = w;
		}
		goto out;
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		s->next_wakeup_ms = now_ms + EB_LOCAL_RETRY_MS;
		goto out;
	}
	b->sink = s;
	dynbuf_init(&body, EVENTBRIDGE_MAX_BODY_BYTES + 64);
	r = fill_batch(s, &c, b, &body);
	if (r > 0)
		r = send_batch(s, b, cr, body.data, body.len);
	if (r < 0) {
		log_error_errno(r, "eventbridge %s: cannot send PutEvents: %m", s->name);
		s->next_wakeup_ms = now_ms + EB_LOCAL_RETRY_MS;
	} else if (b->n > 0 && b->transfer) {
		s->inflight = b;
		b = NULL;
		log_debug("eventbridge %s: PutEvents with %zu entries (%zu bytes)", s->name, s->inflight->n,
			  body.len);
	} else {
		/* Everything picked was parked or gone: look again. */
		s->next_wakeup_ms = now_ms;
	}
	free(b);
	dynbuf_free(&body);
out:
	s->in_run = false;
}

int eb_sink_retry_now(struct eb_sink *s, int64_t now_ms, bool parked, int64_t *ret_released)
{
	int64_t n = 0;
	int r;

	if (!s)
		return -EINVAL;
	r = store_delivery_release(s->store, s->sink, now_ms, parked, &n);
	if (r < 0)
		return r;
	s->hold_until_ms = 0;
	s->next_wakeup_ms = now_ms;
	if (ret_released)
		*ret_released = n;
	return 0;
}
