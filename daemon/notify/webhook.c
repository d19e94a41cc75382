#include "notify/webhook.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "list.h"
#include "log.h"
#include "notify/jobset.h"
#include "notify/route.h"
#include "notify/webhook_request.h"
#include "store.h"
#include "util.h"

/* Outbox read/write failures are retried this soon (they are local). */
#define WEBHOOK_STORE_RETRY_MS 5000
/* A run looks at most this many pending deliveries past the oldest: the
 * bound on the work one run does, and so the number of other jobs' waiting
 * deliveries a due one can be behind and still go out at once. */
#define WEBHOOK_SCAN_MAX 1024
_Static_assert(WEBHOOK_SCAN_MAX + WEBHOOK_MAX_IN_FLIGHT < JOBSET_SLOTS / 2, "the job set stays sparse");
/* Failed attempts in a row (retryable ones) after which a success drains
 * the backlog: one failure may be one event's problem (draining would
 * retry it at every success of the others), two in a row is the receiver. */
#define WEBHOOK_DRAIN_AFTER 2
/* Passes of one run: a skipped (alertmanager) or parked event frees its
 * job's next event, which the next pass picks up. */
#define WEBHOOK_RUN_PASSES 8

struct webhook_attempt;

struct webhook_sink {
	char *name;
	char *sink; /* "webhook:NAME" */
	char *url;
	char *ca_file;
	enum payload_format format;
	struct sign_key key; /* len 0 = unsigned */
	char **extra;	     /* NULL-terminated; wiped on free */
	uint64_t timeout_ms;
	int64_t max_pending;
	double time_scale;
	void (*wakeup_changed)(void *userdata);
	void *userdata;

	int64_t max_age_ms; /* scaled */
	unsigned max_in_flight;

	struct store *store;
	struct http_ctx *http;
	struct list_node inflight; /* struct webhook_attempt, at most max_in_flight */
	unsigned n_inflight;
	int64_t next_wakeup_ms;
	/* Retry-After on a 429 or 5xx speaks for the receiver: no request to
	 * this hook before then. */
	int64_t hold_until_ms;
	bool in_run;
	/* A streak of failed attempts: warn once when the hook starts failing,
	 * note once when it recovers, so a dead receiver is visible without
	 * flooding the log. */
	unsigned consecutive_failures;
	struct jobset jobs; /* scratch of one scan */
	struct webhook_stats stats;
};

/* Lives on the heap while a request is in flight so that freeing the sink
 * (which cancels the transfer) cannot leave the callback a dangling sink. */
struct webhook_attempt {
	struct webhook_sink *sink; /* NULL once the sink is gone */
	struct list_node node;	   /* in sink->inflight while the sink lives */
	struct http_transfer *transfer;
	int64_t seq;
	int64_t detected_ms; /* of the event: max_age, the recovery note */
	uint64_t job_key;    /* one request per job at a time */
	char event_id[EVENT_ID_LEN + 1];
	unsigned attempts; /* attempts before this one */
};

static int64_t scaled(const struct webhook_sink *s, int64_t ms)
{
	return (int64_t)((double)ms * s->time_scale);
}

static void set_last_error(struct webhook_sink *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_last_error(struct webhook_sink *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->stats.last_error, sizeof(s->stats.last_error), fmt, ap);
	va_end(ap);
}

int webhook_sink_new(const struct webhook_sink_params *p, struct store *store, struct http_ctx *http,
		     struct webhook_sink **ret)
{
	struct webhook_sink *s;

	if (!p || str_empty(p->name) || str_empty(p->url) || !payload_format_to_string(p->format) ||
	    !store || !http || p->max_pending < 0 || p->max_in_flight > WEBHOOK_MAX_IN_FLIGHT ||
	    p->max_age_ms < 0)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	list_init(&s->inflight);
	s->sink = route_webhook_sink(p->name);
	s->name = strdup(p->name);
	s->url = strdup(p->url);
	s->ca_file = strdup_or_null(p->ca_file);
	s->extra = sign_headers_copy(p->extra_headers);
	if (!s->sink || !s->name || !s->url || (p->ca_file && !s->ca_file) || !s->extra) {
		webhook_sink_free(s);
		return -ENOMEM;
	}
	if (p->key && p->key->len > 0)
		s->key = *p->key;
	s->format = p->format;
	s->timeout_ms = p->timeout_ms ? p->timeout_ms : 15000;
	s->max_pending = p->max_pending;
	s->time_scale = p->time_scale > 0 ? p->time_scale : webhook_time_scale_from_env();
	s->max_age_ms = scaled(s, p->max_age_ms ? p->max_age_ms : WEBHOOK_MAX_AGE_DEFAULT_MS);
	s->max_in_flight = p->max_in_flight ? p->max_in_flight : WEBHOOK_MAX_IN_FLIGHT_DEFAULT;
	s->wakeup_changed = p->wakeup_changed;
	s->userdata = p->userdata;
	s->store = store;
	s->http = http;
	s->next_wakeup_ms = 0; /* run as soon as the engine looks */
	*ret = s;
	return 0;
}

struct webhook_sink *webhook_sink_free(struct webhook_sink *s)
{
	struct webhook_attempt *a;

	if (!s)
		return NULL;
	while ((a = list_first_entry(&s->inflight, struct webhook_attempt, node))) {
		/* The callback still runs (with HTTP_ERR_CANCELLED) and frees the
		 * attempt; the delivery stays pending in the outbox. */
		list_del(&a->node);
		a->sink = NULL;
		http_transfer_cancel(a->transfer);
	}
	sign_key_wipe(&s->key);
	sign_headers_free(s->extra);
	free(s->name);
	free(s->sink);
	free(s->url);
	free(s->ca_file);
	free(s);
	return NULL;
}

const char *webhook_sink_name(const struct webhook_sink *s)
{
	return s->name;
}

const char *webhook_sink_outbox(const struct webhook_sink *s)
{
	return s->sink;
}

const struct webhook_stats *webhook_sink_stats(const struct webhook_sink *s)
{
	return &s->stats;
}

bool webhook_sink_busy(const struct webhook_sink *s)
{
	return s->n_inflight > 0;
}

int64_t webhook_sink_next_wakeup_ms(const struct webhook_sink *s)
{
	if (s->stats.disabled)
		return -1;
	return s->next_wakeup_ms;
}

void webhook_sink_carry_health(struct webhook_sink *to, const struct webhook_sink *from)
{
	if (!to || !from)
		return;
	to->consecutive_failures = from->consecutive_failures;
	to->stats.failing = from->stats.failing;
	to->stats.failing_since_ms = from->stats.failing_since_ms;
	to->stats.recoveries = from->stats.recoveries;
}

static void attempt_unlink(struct webhook_sink *s, struct webhook_attempt *a)
{
	if (!list_linked(&a->node))
		return;
	list_del(&a->node);
	s->n_inflight--;
}

/* Counts a retryable failure; the first of a streak marks the hook failing
 * and says so, once. */
static void note_failure(struct webhook_sink *s, int64_t now_ms)
{
	s->consecutive_failures++;
	if (s->stats.failing)
		return;
	s->stats.failing = true;
	s->stats.failing_since_ms = now_ms;
	log_warning("webhook %s: delivery failing: %s; retrying after 1, 2, 5, 10, 30 s, then up to every "
		    "5 min (events are kept in the outbox, other jobs' events are still tried)",
		    s->name, s->stats.last_error);
}

/* A delivery succeeded.  If the hook was failing it has recovered: say so
 * once, with what the outage cost, and -- when the receiver itself was
 * failing -- make every waiting delivery due now, so the backlog drains at
 * once instead of each event waiting out its own backoff.  detected_ms is
 * the delivered event's. */
static void note_success(struct webhook_sink *s, int64_t now_ms, int64_t detected_ms)
{
	int64_t delayed = 0, oldest = -1, released = 0;
	bool drain = s->consecutive_failures >= WEBHOOK_DRAIN_AFTER;
	int r;

	s->consecutive_failures = 0;
	if (!s->stats.failing)
		return;
	s->stats.failing = false;
	s->stats.recoveries++;
	if (store_delivery_count_retrying(s->store, s->sink, &delayed) < 0)
		delayed = 0;
	if (store_delivery_oldest_pending(s->store, s->sink, &oldest) < 0 || oldest < 0 ||
	    oldest > detected_ms)
		oldest = detected_ms;
	if (drain) {
		r = store_delivery_release(s->store, s->sink, now_ms, false, &released);
		if (r < 0)
			log_warning_errno(r, "webhook %s: cannot make the waiting deliveries due: %m",
					  s->name);
	}
	log_notice("webhook %s: delivering again after %lld s of failures; %lld events were delayed, the "
		   "oldest by %lld s; %lld waiting deliveries go out now",
		   s->name, (long long)((now_ms - s->stats.failing_since_ms) / 1000),
		   (long long)(delayed + 1), (long long)((now_ms - oldest) / 1000), (long long)released);
	s->stats.failing_since_ms = 0;
}

/* Requests allowed at once.  A receiver not reached yet, or failing, gets
 * one at a time until one succeeds: an outage or a 410 is then learned from
 * one request, not from max_in_flight of them. */
static unsigned slots(const struct webhook_sink *s)
{
	return s->stats.delivered == 0 || s->stats.failing ? 1 : s->max_in_flight;
}

/* Gives up on a delivery (kept in the outbox as parked; retry revives it).
 * An alert that could not be delivered within max_age is lost to its
 * receiver unless someone acts: that is an error, a rejected request a
 * warning. */
static void park(struct webhook_sink *s, int64_t seq, const char *event_id, const char *why, bool error)
{
	int r = store_delivery_park(s->store, s->sink, seq, s->stats.last_error);

	if (r < 0) {
		log_error_errno(r, "webhook %s: cannot park event %s: %m", s->name, event_id);
		return;
	}
	s->stats.parked++;
	if (error)
		log_error(
		    "webhook %s: giving up on event %s %s (%s); parked, \"jobwatchd retry %s\" or SIGHUP "
		    "sends it again",
		    s->name, event_id, why, s->stats.last_error, s->name);
	else
		log_warning("webhook %s: giving up on event %s %s (%s); parked, \"jobwatchd retry %s\" or "
			    "SIGHUP sends it again",
			    s->name, event_id, why, s->stats.last_error, s->name);
}

/* Schedules the next attempt of a failed delivery.  Client errors give up
 * (park) after WEBHOOK_CLIENT_ERROR_ATTEMPTS, everything else when the
 * event is older than max_age.  retry_after_ms < 0 means none was given.
 * Only this delivery waits: the other jobs' deliveries go on (per-job order
 * is kept by the run, which never passes a job's pending delivery). */
static void schedule_retry(struct webhook_sink *s, int64_t seq, const char *event_id, int64_t detected_ms,
			   unsigned attempts, bool client_error, int64_t retry_after_ms, int64_t now_ms)
{
	int64_t delay, at;
	int r;

	s->stats.failed_attempts++;
	if (client_error && attempts >= WEBHOOK_CLIENT_ERROR_ATTEMPTS) {
		char why[64];
		snprintf(why, sizeof(why), "after %u attempts", attempts);
		park(s, seq, event_id, why, false);
		return;
	}
	if (!client_error && detected_ms > 0 && now_ms - detected_ms >= s->max_age_ms) {
		park(s, seq, event_id, "after max_age", true);
		return;
	}
	delay = webhook_backoff_delay_ms(attempts, webhook_backoff_random_unit());
	if (retry_after_ms > delay)
		delay = retry_after_ms;
	at = now_ms + scaled(s, delay);
	r = store_delivery_retry(s->store, s->sink, seq, attempts, at, s->stats.last_error);
	if (r < 0)
		log_error_errno(r, "webhook %s: cannot record the retry of event %s: %m", s->name, event_id);
	log_debug("webhook %s: event %s attempt %u failed, next in %lld ms", s->name, event_id, attempts,
		  (long long)(at - now_ms));
}

/* Classifies one answer and records it in the outbox. */
static void handle_response(struct webhook_sink *s, struct webhook_attempt *a,
			    const struct http_response *resp, int64_t now_ms)
{
	unsigned attempts = a->attempts + 1;
	int64_t retry_after = -1;
	const char *ra;
	long st = resp->status;
	int r;

	if (resp->error != HTTP_OK) {
		s->stats.last_status = 0;
		set_last_error(s, "%s: %s", http_error_to_string(resp->error), resp->error_text);
		log_debug("webhook %s: event %s: %s", s->name, a->event_id, s->stats.last_error);
		note_failure(s, now_ms);
		schedule_retry(s, a->seq, a->event_id, a->detected_ms, attempts, false, -1, now_ms);
		return;
	}
	s->stats.last_status = st;
	if (st >= 200 && st < 300) {
		r = store_delivery_done(s->store, s->sink, a->seq);
		if (r < 0) {
			/* It was delivered; the receiver de-duplicates by webhook-id
			 * if we send it again after this local failure. */
			log_error_errno(r, "webhook %s: cannot mark event %s delivered: %m", s->name,
					a->event_id);
			s->hold_until_ms = now_ms + scaled(s, WEBHOOK_STORE_RETRY_MS);
			return;
		}
		s->stats.delivered++;
		s->stats.last_error[0] = '\0';
		note_success(s, now_ms, a->detected_ms);
		return;
	}
	{
		char excerpt[WEBHOOK_BODY_LOG_MAX + 1];
		webhook_body_excerpt(resp, excerpt, sizeof(excerpt));
		set_last_error(s, "HTTP %ld%s%s", st, excerpt[0] ? ": " : "", excerpt);
	}
	ra = http_response_header(resp, "retry-after");
	if (ra && webhook_parse_retry_after(ra, now_ms, &retry_after) < 0)
		retry_after = -1;
	if (st == 410) {
		s->stats.disabled = true;
		s->stats.failed_attempts++;
		log_error("webhook %s: the receiver answered 410 Gone; webhook disabled, %s", s->name,
			  "pending events stay in the outbox until it is re-enabled (reload, restart or "
			  "jobwatchd retry)");
		return;
	}
	if (st == 429 || st >= 500) {
		log_debug("webhook %s: event %s: %s", s->name, a->event_id, s->stats.last_error);
		note_failure(s, now_ms);
		if (retry_after >= 0 && now_ms + scaled(s, retry_after) > s->hold_until_ms)
			s->hold_until_ms = now_ms + scaled(s, retry_after);
		schedule_retry(s, a->seq, a->event_id, a->detected_ms, attempts, false, retry_after, now_ms);
	} else {
		/* Other 4xx, and 3xx: redirects are not followed (the spec
		 * counts them as failures); the request itself is likely wrong. */
		log_warning("webhook %s: event %s attempt %u rejected: %s", s->name, a->event_id, attempts,
			    s->stats.last_error);
		schedule_retry(s, a->seq, a->event_id, a->detected_ms, attempts, true, retry_after, now_ms);
	}
}

static void on_done(void *userdata, const struct http_response *resp)
{
	struct webhook_attempt *a = userdata;
	struct webhook_sink *s = a->sink;
	int64_t now_ms = (int64_t)now_realtime_ms();

	if (!s) {
		free(a);
		return;
	}
	attempt_unlink(s, a);
	/* Shutdown or reload: not the receiver's fault, no attempt counted. */
	if (resp->error != HTTP_ERR_CANCELLED)
		handle_response(s, a, resp, now_ms);
	free(a);
	/* A slot is free: pull the next due deliveries right away, then let
	 * the engine re-arm its timer. */
	webhook_sink_run(s, now_ms);
	if (s->wakeup_changed)
		s->wakeup_changed(s->userdata);
}

static int submit(struct webhook_sink *s, const struct event *e, unsigned attempts, uint64_t key,
		  const char *body)
{
	struct webhook_target t = {
	    .url = s->url,
	    .ca_file = s->ca_file,
	    .key = &s->key,
	    .extra = s->extra,
	    .timeout_ms = s->timeout_ms,
	};
	struct webhook_attempt *a = calloc(1, sizeof(*a));
	int r;

	if (!a)
		return -ENOMEM;
	a->sink = s;
	a->seq = e->seq;
	a->detected_ms = e->detected_ms;
	a->job_key = key;
	a->attempts = attempts;
	memcpy(a->event_id, e->id, sizeof(a->event_id));
	r = webhook_request_submit(s->http, &t, e->id, body, on_done, a, &a->transfer);
	if (r < 0) {
		free(a);
		return r;
	}
	list_add_head(&s->inflight, &a->node);
	s->n_inflight++;
	log_debug("webhook %s: POST event %s (attempt %u, %zu bytes)", s->name, e->id, attempts + 1,
		  strlen(body));
	return 0;
}

static void trim_backlog(struct webhook_sink *s)
{
	int64_t dropped = 0;
	int r;

	if (s->max_pending <= 0)
		return;
	r = store_delivery_trim(s->store, s->sink, s->max_pending, &dropped);
	if (r < 0) {
		log_error_errno(r, "webhook %s: cannot trim the backlog: %m", s->name);
		return;
	}
	if (dropped > 0) {
		s->stats.dropped += (uint64_t)dropped;
		log_error(
		    "webhook %s: backlog over max_pending=%lld: dropped the %lld oldest undelivered events "
		    "(%llu dropped so far)",
		    s->name, (long long)s->max_pending, (long long)dropped,
		    (unsigned long long)s->stats.dropped);
	}
}

/* One pass over the pending deliveries, in seq order: the first pending
 * delivery of each job is its head; a head that is due is picked, one that
 * waits for its retry only holds its own job.  Later deliveries of a job
 * whose head is pending (in flight, waiting or picked) are passed over, so
 * each job's events reach the receiver in order. */
struct scan {
	struct webhook_sink *s;
	int64_t now_ms;
	unsigned want;
	unsigned n_picks;
	int64_t picks[WEBHOOK_MAX_IN_FLIGHT];
	uint64_t keys[WEBHOOK_MAX_IN_FLIGHT];
	int64_t next_due; /* earliest waiting head, -1 none */
};

static int scan_row(void *userdata, const struct store_delivery_row *row)
{
	struct scan *c = userdata;
	uint64_t key = jobset_key(row->arn);

	/* A hidden row's outcome waits in an unwritten batch: it holds its
	 * job until the store may have recovered. */
	if (jobset_head(&c->s->jobs, key, row->hidden, row->next_at_ms, c->now_ms,
			c->now_ms + scaled(c->s, WEBHOOK_STORE_RETRY_MS), &c->next_due) != JOBSET_HEAD_DUE)
		return 0;
	c->picks[c->n_picks] = row->seq;
	c->keys[c->n_picks] = key;
	c->n_picks++;
	return c->n_picks >= c->want ? 1 : 0;
}

enum start_outcome {
	START_SENT,	/* a request is in flight */
	START_SETTLED,	/* done or parked without a request: the job's next event may be due */
	START_DEFERRED, /* could not start; its retry is scheduled */
};

/* Sends one delivery a scan picked.  Returns an enum start_outcome, or a
 * negative errno when the outbox cannot be read or updated. */
static int start_one(struct webhook_sink *s, int64_t seq, uint64_t key, int64_t now_ms)
{
	struct event *e = NULL;
	unsigned attempts = 0;
	char *body;
	int r;

	r = store_delivery_load(s->store, s->sink, seq, &e, &attempts);
	if (r <= 0)
		return r < 0 ? r : START_SETTLED;
	if (s->format == PAYLOAD_FORMAT_ALERTMANAGER_WEBHOOK && !payload_alertmanager_relevant(e)) {
		/* Alertmanager receivers only know firing and resolved. */
		r = store_delivery_done(s->store, s->sink, e->seq);
		event_free(e);
		if (r < 0)
			return r;
		s->stats.skipped++;
		return START_SETTLED;
	}
	errno = 0;
	body = payload_build(s->format, e);
	if (!body) {
		r = errno ? -errno : -ENOMEM;
		set_last_error(s, "cannot build the %s payload: %s", payload_format_to_string(s->format),
			       strerror(-r));
		log_error("webhook %s: event %s: %s", s->name, e->id, s->stats.last_error);
		/* Retrying cannot help an oversized body; memory might recover. */
		schedule_retry(s, e->seq, e->id, e->detected_ms,
			       r == -E2BIG ? WEBHOOK_CLIENT_ERROR_ATTEMPTS : attempts + 1, r == -E2BIG, -1,
			       now_ms);
		event_free(e);
		return r == -E2BIG ? START_SETTLED : START_DEFERRED;
	}
	r = submit(s, e, attempts, key, body);
	if (r < 0) {
		set_last_error(s, "cannot start the request: %s", strerror(-r));
		log_warning("webhook %s: event %s: %s", s->name, e->id, s->stats.last_error);
		schedule_retry(s, e->seq, e->id, e->detected_ms, attempts + 1, false, -1, now_ms);
	}
	free(body);
	event_free(e);
	return r < 0 ? START_DEFERRED : START_SENT;
}

/* Starts the due deliveries, one per job, up to max_in_flight in all, and
 * sets next_wakeup_ms. */
void webhook_sink_run(struct webhook_sink *s, int64_t now_ms)
{
	int64_t next = -1;
	bool deferred = false;
	int r = 0;

	if (!s || s->stats.disabled || s->in_run)
		return;
	if (s->hold_until_ms > now_ms) {
		s->next_wakeup_ms = s->hold_until_ms;
		return;
	}
	s->in_run = true;
	trim_backlog(s);
	for (unsigned pass = 0; pass < WEBHOOK_RUN_PASSES && s->n_inflight < slots(s); pass++) {
		struct scan c = {.s = s, .now_ms = now_ms, .want = slots(s) - s->n_inflight, .next_due = -1};
		bool settled = false;
		struct list_node *n;

		jobset_clear(&s->jobs);
		list_for_each(n, &s->inflight)
			jobset_add(&s->jobs, container_of(n, struct webhook_attempt, node)->job_key);
		r = store_delivery_scan(s->store, s->sink, WEBHOOK_SCAN_MAX, scan_row, &c);
		for (unsigned i = 0; r >= 0 && i < c.n_picks; i++) {
			r = start_one(s, c.picks[i], c.keys[i], now_ms);
			settled |= r == START_SETTLED;
			deferred |= r == START_DEFERRED;
		}
		next = c.next_due;
		if (r < 0 || !settled)
			break;
		/* The job of a settled delivery may have its next event due:
		 * another pass, or the timer right away after the last one. */
		next = now_ms;
	}
	if (r < 0) {
		log_error_errno(r, "webhook %s: cannot read or update the outbox: %m", s->name);
		next = now_ms + scaled(s, WEBHOOK_STORE_RETRY_MS);
	} else if (s->n_inflight >= slots(s)) {
		next = -1; /* a completion runs again */
	} else if (deferred) {
		/* A start that failed scheduled its own retry; look again then
		 * (a later scan finds the exact time). */
		int64_t soon = now_ms + scaled(s, webhook_backoff_base_ms(1));
		if (next < 0 || soon < next)
			next = soon;
	}
	s->next_wakeup_ms = next;
	s->in_run = false;
}

int webhook_sink_retry_now(struct webhook_sink *s, int64_t now_ms, bool parked, int64_t *ret_released)
{
	int64_t n = 0;
	int r;

	if (!s)
		return -EINVAL;
	r = store_delivery_release(s->store, s->sink, now_ms, parked, &n);
	if (r < 0)
		return r;
	if (s->stats.disabled)
		log_notice("webhook %s: re-enabled by a retry (it had answered 410 Gone)", s->name);
	s->stats.disabled = false;
	s->hold_until_ms = 0;
	s->next_wakeup_ms = now_ms;
	if (ret_released)
		*ret_released = n;
	return 0;
}
