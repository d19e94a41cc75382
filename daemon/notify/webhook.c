#include "notify/webhook.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "store.h"
#include "util.h"

/* Outbox read/write failures are retried this soon (they are local). */
#define WEBHOOK_STORE_RETRY_MS	  5000
#define WEBHOOK_BODY_LOG_MAX	  200
#define WEBHOOK_MAX_EXTRA_HEADERS 64

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

	struct store *store;
	struct http_ctx *http;
	struct webhook_attempt *inflight;
	int64_t next_wakeup_ms;
	bool in_run;
	/* In a streak of failed attempts: warn once when it starts, note when
	 * it ends, so a dead receiver is visible without flooding the log. */
	bool failing;
	struct webhook_stats stats;
};

static void note_failure(struct webhook_sink *s)
{
	if (!s->failing)
		log_warning("webhook %s: delivery failing: %s; retrying with backoff (events are kept in "
			    "the outbox)",
			    s->name, s->stats.last_error);
	s->failing = true;
}

/* Lives on the heap while a request is in flight so that freeing the sink
 * (which cancels the transfer) cannot leave the callback a dangling sink. */
struct webhook_attempt {
	struct webhook_sink *sink; /* NULL once the sink is gone */
	struct http_transfer *transfer;
	int64_t seq;
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

static char **copy_headers(const char *const *h)
{
	size_t n = 0;
	char **r;

	while (h && h[n])
		n++;
	if (n > WEBHOOK_MAX_EXTRA_HEADERS)
		return NULL;
	r = calloc(n + 1, sizeof(char *));
	if (!r)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		r[i] = strdup(h[i]);
		if (!r[i]) {
			sign_headers_free(r);
			return NULL;
		}
	}
	return r;
}

int webhook_sink_new(const struct webhook_sink_params *p, struct store *store, struct http_ctx *http,
		     struct webhook_sink **ret)
{
	struct webhook_sink *s;
	struct dynbuf b;

	if (!p || str_empty(p->name) || str_empty(p->url) || !payload_format_to_string(p->format) ||
	    !store || !http || p->max_pending < 0)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	dynbuf_init(&b, 1024);
	if (dynbuf_appendf(&b, "%s%s", WEBHOOK_SINK_PREFIX, p->name) < 0) {
		dynbuf_free(&b);
		free(s);
		return -ENOMEM;
	}
	s->sink = dynbuf_take(&b);
	s->name = strdup(p->name);
	s->url = strdup(p->url);
	s->ca_file = strdup_or_null(p->ca_file);
	s->extra = copy_headers(p->extra_headers);
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
	if (!s)
		return NULL;
	if (s->inflight) {
		/* The callback still runs (with HTTP_ERR_CANCELLED) and frees the
		 * attempt; the delivery stays pending in the outbox. */
		s->inflight->sink = NULL;
		http_transfer_cancel(s->inflight->transfer);
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

const struct webhook_stats *webhook_sink_stats(const struct webhook_sink *s)
{
	return &s->stats;
}

bool webhook_sink_busy(const struct webhook_sink *s)
{
	return s->inflight != NULL;
}

int64_t webhook_sink_next_wakeup_ms(const struct webhook_sink *s)
{
	if (s->stats.disabled || s->inflight)
		return -1;
	return s->next_wakeup_ms;
}

/* Schedules the next attempt of a failed delivery.  Client errors give up
 * (park) after WEBHOOK_CLIENT_ERROR_ATTEMPTS; everything else retries
 * forever on the schedule.  retry_after_ms < 0 means none was given. */
static void schedule_retry(struct webhook_sink *s, int64_t seq, const char *event_id, unsigned attempts,
			   bool client_error, int64_t retry_after_ms, int64_t now_ms)
{
	int64_t delay, at;
	int r;

	s->stats.failed_attempts++;
	if (client_error && attempts >= WEBHOOK_CLIENT_ERROR_ATTEMPTS) {
		r = store_delivery_park(s->store, s->sink, seq, s->stats.last_error);
		if (r < 0) {
			log_error_errno(r, "webhook %s: cannot park event %s: %m", s->name, event_id);
			s->next_wakeup_ms = now_ms + scaled(s, WEBHOOK_STORE_RETRY_MS);
			return;
		}
		s->stats.parked++;
		log_warning("webhook %s: giving up on event %s after %u attempts (%s); parked", s->name,
			    event_id, attempts, s->stats.last_error);
		s->next_wakeup_ms = now_ms;
		return;
	}
	delay = webhook_backoff_delay_ms(attempts, webhook_backoff_random_unit());
	if (retry_after_ms > delay)
		delay = retry_after_ms;
	at = now_ms + scaled(s, delay);
	r = store_delivery_retry(s->store, s->sink, seq, attempts, at, s->stats.last_error);
	if (r < 0)
		log_error_errno(r, "webhook %s: cannot record the retry of event %s: %m", s->name, event_id);
	/* Hold the whole hook until then: deliveries go out in seq order, a
	 * later event must not overtake the one being retried. */
	s->next_wakeup_ms = at;
	log_debug("webhook %s: event %s attempt %u failed, next in %lld ms", s->name, event_id, attempts,
		  (long long)(at - now_ms));
}

/* The response body for a log line: at most 200 bytes, control characters
 * replaced so a hostile receiver cannot forge log lines. */
static void body_excerpt(const struct http_response *resp, char *out, size_t size)
{
	size_t n = resp->body_len < WEBHOOK_BODY_LOG_MAX ? resp->body_len : WEBHOOK_BODY_LOG_MAX;

	if (n >= size)
		n = size - 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)resp->body[i];
		out[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	out[n] = '\0';
}

static void on_done(void *userdata, const struct http_response *resp)
{
	struct webhook_attempt *a = userdata;
	struct webhook_sink *s = a->sink;
	int64_t now_ms = (int64_t)now_realtime_ms(), retry_after = -1;
	unsigned attempts = a->attempts + 1;
	const char *ra;
	long st = resp->status;
	int r;

	if (!s) {
		free(a);
		return;
	}
	s->inflight = NULL;

	if (resp->error != HTTP_OK) {
		s->stats.last_status = 0;
		set_last_error(s, "%s: %s", http_error_to_string(resp->error), resp->error_text);
		if (resp->error == HTTP_ERR_CANCELLED) {
			/* Shutdown or reload: not the receiver's fault, no attempt counted. */
			s->next_wakeup_ms = now_ms;
			free(a);
			return;
		}
		log_debug("webhook %s: event %s: %s", s->name, a->event_id, s->stats.last_error);
		note_failure(s);
		schedule_retry(s, a->seq, a->event_id, attempts, false, -1, now_ms);
		goto next;
	}

	s->stats.last_status = st;
	if (st >= 200 && st < 300) {
		r = store_delivery_done(s->store, s->sink, a->seq);
		if (r < 0) {
			/* It was delivered; the receiver de-duplicates by webhook-id
			 * if we send it again after this local failure. */
			log_error_errno(r, "webhook %s: cannot mark event %s delivered: %m", s->name,
					a->event_id);
			s->next_wakeup_ms = now_ms + scaled(s, WEBHOOK_STORE_RETRY_MS);
			goto next;
		}
		s->stats.delivered++;
		s->stats.last_error[0] = '\0';
		if (s->failing)
			log_notice("webhook %s: delivering again", s->name);
		s->failing = false;
		s->next_wakeup_ms = now_ms;
		goto next;
	}

	{
		char excerpt[WEBHOOK_BODY_LOG_MAX + 1];
		body_excerpt(resp, excerpt, sizeof(excerpt));
		set_last_error(s, "HTTP %ld%s%s", st, excerpt[0] ? ": " : "", excerpt);
	}
	ra = http_response_header(resp, "retry-after");
	if (ra && webhook_parse_retry_after(ra, now_ms, &retry_after) < 0)
		retry_after = -1;

	if (st == 410) {
		s->stats.disabled = true;
		s->stats.failed_attempts++;
		log_error("webhook %s: the receiver answered 410 Gone; webhook disabled, %s", s->name,
			  "pending events stay in the outbox until it is re-enabled");
		free(a);
		if (s->wakeup_changed)
			s->wakeup_changed(s->userdata);
		return;
	}
	if (st == 429 || st >= 500) {
		log_debug("webhook %s: event %s: %s", s->name, a->event_id, s->stats.last_error);
		note_failure(s);
		schedule_retry(s, a->seq, a->event_id, attempts, false, retry_after, now_ms);
	} else {
		/* Other 4xx, and 3xx: redirects are not followed (the spec
		 * counts them as failures); the request itself is likely wrong. */
		log_warning("webhook %s: event %s attempt %u rejected: %s", s->name, a->event_id, attempts,
			    s->stats.last_error);
		schedule_retry(s, a->seq, a->event_id, attempts, true, retry_after, now_ms);
	}
next:
	free(a);
	/* Pull the next delivery right away when one is due, then let the
	 * engine re-arm its timer. */
	if (s->next_wakeup_ms >= 0 && s->next_wakeup_ms <= now_ms)
		webhook_sink_run(s, now_ms);
	if (s->wakeup_changed)
		s->wakeup_changed(s->userdata);
}

static int submit(struct webhook_sink *s, const struct event *e, unsigned attempts, const char *body)
{
	const char *hdrs[WEBHOOK_MAX_EXTRA_HEADERS + 8];
	char h_id[64], h_ts[64], h_sig[32 + SIGN_SIGNATURE_MAX], sig[SIGN_SIGNATURE_MAX];
	size_t n = 0, body_len = strlen(body);
	int64_t ts = (int64_t)(now_realtime_ms() / 1000);
	struct webhook_attempt *a;
	struct http_request req = {
	    .method = "POST",
	    .url = s->url,
	    .headers = hdrs,
	    .body = body,
	    .body_len = body_len,
	    .timeout_ms = s->timeout_ms,
	    .max_body = 64 * 1024,
	    .ca_file = s->ca_file,
	};
	int r;

	snprintf(h_id, sizeof(h_id), "webhook-id: %s", e->id);
	snprintf(h_ts, sizeof(h_ts), "webhook-timestamp: %lld", (long long)ts);
	hdrs[n++] = "Content-Type: application/json";
	hdrs[n++] = "User-Agent: jobwatchd/" JW_VERSION;
	hdrs[n++] = h_id;
	hdrs[n++] = h_ts;
	if (s->key.len > 0) {
		r = sign_signature(&s->key, e->id, ts, body, body_len, sig, sizeof(sig));
		if (r < 0)
			return r;
		snprintf(h_sig, sizeof(h_sig), "webhook-signature: %s", sig);
		hdrs[n++] = h_sig;
	}
	for (size_t i = 0; s->extra[i]; i++)
		hdrs[n++] = s->extra[i];
	hdrs[n] = NULL;

	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->sink = s;
	a->seq = e->seq;
	a->attempts = attempts;
	memcpy(a->event_id, e->id, sizeof(a->event_id));
	s->inflight = a;
	r = http_submit(s->http, &req, on_done, a, &a->transfer);
	if (r < 0) {
		s->inflight = NULL;
		free(a);
		return r;
	}
	log_debug("webhook %s: POST event %s (attempt %u, %zu bytes)", s->name, e->id, attempts + 1,
		  body_len);
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

void webhook_sink_run(struct webhook_sink *s, int64_t now_ms)
{
	if (!s || s->stats.disabled || s->inflight || s->in_run)
		return;
	/* A hook that is holding for a retry stays held even when new events
	 * arrive, to keep order. */
	if (s->next_wakeup_ms > now_ms)
		return;
	s->in_run = true;
	trim_backlog(s);
	for (;;) {
		struct event *e = NULL;
		unsigned attempts = 0;
		int64_t next_due = -1;
		char *body;
		int r;

		r = store_delivery_next(s->store, s->sink, now_ms, &e, &attempts, &next_due);
		if (r < 0) {
			log_error_errno(r, "webhook %s: cannot read the outbox: %m", s->name);
			s->next_wakeup_ms = now_ms + scaled(s, WEBHOOK_STORE_RETRY_MS);
			break;
		}
		if (r == 0) {
			s->next_wakeup_ms = next_due;
			break;
		}
		if (s->format == PAYLOAD_FORMAT_ALERTMANAGER_WEBHOOK && !payload_alertmanager_relevant(e)) {
			/* Alertmanager receivers only know firing and resolved. */
			r = store_delivery_done(s->store, s->sink, e->seq);
			event_free(e);
			if (r < 0) {
				log_error_errno(r, "webhook %s: cannot update the outbox: %m", s->name);
				s->next_wakeup_ms = now_ms + scaled(s, WEBHOOK_STORE_RETRY_MS);
				break;
			}
			s->stats.skipped++;
			continue;
		}
		errno = 0;
		body = payload_build(s->format, e);
		if (!body) {
			r = errno ? -errno : -ENOMEM;
			set_last_error(s, "cannot build the %s payload: %s",
				       payload_format_to_string(s->format), strerror(-r));
			log_error("webhook %s: event %s: %s", s->name, e->id, s->stats.last_error);
			/* Retrying cannot help an oversized body; memory might recover. */
			schedule_retry(s, e->seq, e->id,
				       r == -E2BIG ? WEBHOOK_CLIENT_ERROR_ATTEMPTS : attempts + 1,
				       r == -E2BIG, -1, now_ms);
			event_free(e);
			if (r == -E2BIG)
				continue;
			break;
		}
		r = submit(s, e, attempts, body);
		if (r < 0) {
			set_last_error(s, "cannot start the request: %s", strerror(-r));
			log_warning("webhook %s: event %s: %s", s->name, e->id, s->stats.last_error);
			schedule_retry(s, e->seq, e->id, attempts + 1, false, -1, now_ms);
		} else {
			s->next_wakeup_ms = -1; /* completion re-runs */
		}
		free(body);
		event_free(e);
		break;
	}
	s->in_run = false;
}
