#include "notify/alertmanager.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "notify/sign.h"
#include "store.h"
#include "util.h"

/* Prometheus sends endsAt = now + 4 x resend interval: three resends may be
 * lost before Alertmanager lets the alert go. */
#define AM_ENDS_FACTOR 4
#define AM_BODY_MAX    (8u * 1024u * 1024u)

struct am_alert {
	char *alertname;
	char *arn;
	char *alert; /* JSON object text: labels, annotations, generatorURL */
	int64_t starts_ms;
	int64_t resolved_ms; /* 0 while active */
	uint32_t acked;	     /* URLs that accepted the resolution */
};

/* Which alerts a round still has to send: keys, not pointers, because the
 * alert array changes while a round is in flight. */
struct am_key {
	char *alertname;
	char *arn;
};

struct am_post;

struct am_url {
	struct am_client *c;
	unsigned index;
	char *endpoint; /* BASE/api/v2/alerts: may hold credentials, never logged */
	char *host;	/* for logs */
	struct am_post *inflight;
	struct am_key *round;
	size_t round_n, round_pos;
	bool round_active;
	bool again; /* the alert set changed during the round */
	int64_t next_round_ms;
	unsigned failures; /* consecutive failed rounds */
	bool failing;
	int64_t failing_since_ms;
};

struct am_client {
	char *name;
	char *ca_file;
	char **extra;
	uint64_t timeout_ms;
	int64_t resend_ms;
	void (*wakeup_changed)(void *userdata);
	void *userdata;
	struct store *store;
	struct http_ctx *http;
	struct am_url urls[AM_MAX_URLS];
	unsigned n_urls;
	struct am_alert *alerts; /* sorted by (alertname, arn) */
	size_t n_alerts;
	struct am_client_stats stats;
};

/* Lives on the heap while its request is in flight, so that freeing the
 * client (which cancels it) leaves the callback nothing dangling. */
struct am_post {
	struct am_url *u; /* NULL once the client is gone */
	struct http_transfer *transfer;
	struct am_key *resolved; /* resolved alerts this POST carries */
	int64_t *resolved_ms;
	size_t n_resolved;
	size_t round_end; /* round_pos after this POST */
};

static void set_error(struct am_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(struct am_client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->stats.last_error, sizeof(c->stats.last_error), fmt, ap);
	va_end(ap);
}

static int key_cmp(const char *an1, const char *arn1, const char *an2, const char *arn2)
{
	int r = strcmp(an1, an2);

	return r ? r : strcmp(arn1, arn2);
}

static struct am_alert *find_alert(struct am_client *c, const char *alertname, const char *arn)
{
	size_t lo = 0, hi = c->n_alerts;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = key_cmp(c->alerts[mid].alertname, c->alerts[mid].arn, alertname, arn);
		if (r == 0)
			return &c->alerts[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void alert_done(struct am_alert *a)
{
	free(a->alertname);
	free(a->arn);
	free(a->alert);
}

static void keys_free(struct am_key *k, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(k[i].alertname);
		free(k[i].arn);
	}
	free(k);
}

static int persist(struct am_client *c, const struct am_alert *a)
{
	struct store_am_alert row = {
	    .alertname = a->alertname,
	    .arn = a->arn,
	    .starts_ms = a->starts_ms,
	    .resolved_ms = a->resolved_ms,
	    .acked = a->acked,
	    .alert = a->alert,
	};
	int r = store_am_put(c->store, c->name, &row);

	if (r < 0)
		log_warning_errno(r, "alertmanager %s: cannot store alert %s for %s: %m", c->name,
				  a->alertname, a->arn);
	return r;
}

static uint32_t all_urls_mask(const struct am_client *c)
{
	return c->n_urls >= 32 ? UINT32_MAX : (1u << c->n_urls) - 1;
}

static void count_alerts(struct am_client *c)
{
	c->stats.active = 0;
	c->stats.resolved_pending = 0;
	for (size_t i = 0; i < c->n_alerts; i++) {
		if (c->alerts[i].resolved_ms == 0)
			c->stats.active++;
		else
			c->stats.resolved_pending++;
	}
}

/* A change of the alert set: every URL sends it now (or right after the
 * round it is in). */
static void set_changed(struct am_client *c, int64_t now_ms)
{
	for (unsigned i = 0; i < c->n_urls; i++) {
		if (c->urls[i].round_active)
			c->urls[i].again = true;
		else if (!c->urls[i].failing)
			c->urls[i].next_round_ms = now_ms;
	}
}

static int load_cb(const struct store_am_alert *row, void *userdata)
{
	struct am_client *c = userdata;
	struct am_alert *a, *l;

	if (c->n_alerts % 64 == 0) {
		l = realloc(c->alerts, (c->n_alerts + 64) * sizeof(*l));
		if (!l)
			return -ENOMEM;
		c->alerts = l;
	}
	a = &c->alerts[c->n_alerts];
	*a = (struct am_alert){
	    .alertname = strdup(row->alertname),
	    .arn = strdup(row->arn),
	    .alert = strdup(row->alert),
	    .starts_ms = row->starts_ms,
	    .resolved_ms = row->resolved_ms,
	    .acked = (uint32_t)row->acked,
	};
	if (!a->alertname || !a->arn || !a->alert) {
		alert_done(a);
		return -ENOMEM;
	}
	c->n_alerts++;
	return 0;
}

static int alert_sort_cmp(const void *x, const void *y)
{
	const struct am_alert *a = x, *b = y;

	return key_cmp(a->alertname, a->arn, b->alertname, b->arn);
}

/* "http://user:pw@host:9093/prefix" -> "host:9093" for logs. */
static char *url_host(const char *url)
{
	const char *p = strstr(url, "://"), *end, *at;

	p = p ? p + 3 : url;
	end = p + strcspn(p, "/?#");
	at = memchr(p, '@', (size_t)(end - p));
	if (at)
		p = at + 1;
	return strndup(p, (size_t)(end - p));
}

static int add_url(struct am_client *c, const char *base, size_t len)
{
	struct am_url *u;

	if (c->n_urls >= AM_MAX_URLS)
		return -E2BIG;
	while (len > 0 && base[len - 1] == '/')
		len--;
	u = &c->urls[c->n_urls];
	u->c = c;
	u->index = c->n_urls;
	if (asprintf(&u->endpoint, "%.*s/api/v2/alerts", (int)len, base) < 0) {
		u->endpoint = NULL;
		return -ENOMEM;
	}
	u->host = strndup(base, len);
	if (u->host) {
		char *h = url_host(u->host);
		free(u->host);
		u->host = h;
	}
	if (!u->host)
		return -ENOMEM;
	c->n_urls++;
	return 0;
}

int am_client_new(const struct am_client_params *p, struct store *store, struct http_ctx *http,
		  struct am_client **ret)
{
	struct am_client *c;
	const char *s;
	int r = 0;

	if (!p || str_empty(p->name) || str_empty(p->urls) || !store || !http || p->resend_ms <= 0)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->name = strdup(p->name);
	c->ca_file = p->ca_file ? strdup(p->ca_file) : NULL;
	c->extra = sign_headers_copy(p->extra_headers);
	c->timeout_ms = p->timeout_ms;
	c->resend_ms = p->resend_ms;
	c->wakeup_changed = p->wakeup_changed;
	c->userdata = p->userdata;
	c->store = store;
	c->http = http;
	if (!c->name || (p->ca_file && !c->ca_file) || !c->extra)
		r = -ENOMEM;
	for (s = p->urls; r >= 0 && *s;) {
		size_t n;
		s += strspn(s, " \t,");
		n = strcspn(s, " \t,");
		if (n > 0)
			r = add_url(c, s, n);
		s += n;
	}
	if (r >= 0 && c->n_urls == 0)
		r = -EINVAL;
	if (r >= 0)
		r = store_am_load(store, c->name, load_cb, c);
	if (r < 0) {
		am_client_free(c);
		return r;
	}
	if (c->n_alerts > 1)
		qsort(c->alerts, c->n_alerts, sizeof(*c->alerts), alert_sort_cmp);
	count_alerts(c);
	/* What the previous run held goes out at once (Alertmanager may have
	 * been restarted meanwhile, or the alerts expired). */
	for (unsigned i = 0; i < c->n_urls; i++)
		c->urls[i].next_round_ms = 0;
	*ret = c;
	return 0;
}

static void round_end(struct am_url *u)
{
	keys_free(u->round, u->round_n);
	u->round = NULL;
	u->round_n = u->round_pos = 0;
	u->round_active = false;
}

static void post_free(struct am_post *p)
{
	if (!p)
		return;
	keys_free(p->resolved, p->n_resolved);
	free(p->resolved_ms);
	free(p);
}

struct am_client *am_client_free(struct am_client *c)
{
	if (!c)
		return NULL;
	for (unsigned i = 0; i < c->n_urls; i++) {
		struct am_url *u = &c->urls[i];
		if (u->inflight) {
			u->inflight->u = NULL;
			http_transfer_cancel(u->inflight->transfer);
		}
		round_end(u);
		free(u->endpoint);
		free(u->host);
	}
	for (size_t i = 0; i < c->n_alerts; i++)
		alert_done(&c->alerts[i]);
	free(c->alerts);
	sign_headers_free(c->extra);
	free(c->ca_file);
	free(c->name);
	free(c);
	return NULL;
}

const char *am_client_name(const struct am_client *c)
{
	return c->name;
}

void am_client_get_stats(const struct am_client *c, struct am_client_stats *ret)
{
	*ret = c->stats;
}

int am_client_update(struct am_client *c, const struct am_condition *conds, size_t n,
		     am_describe_fn describe, void *userdata, int64_t now_ms)
{
	struct am_alert *merged;
	size_t i = 0, j = 0, m = 0;
	int changes = 0;

	merged = calloc(c->n_alerts + n + 1, sizeof(*merged));
	if (!merged)
		return -ENOMEM;
	while (i < c->n_alerts || j < n) {
		int cmp;
		if (i == c->n_alerts)
			cmp = 1;
		else if (j == n)
			cmp = -1;
		else
			cmp = key_cmp(c->alerts[i].alertname, c->alerts[i].arn, conds[j].alertname,
				      conds[j].arn);
		if (cmp < 0) {
			/* Held, but the condition is over: resolve it. */
			struct am_alert *a = &c->alerts[i++];
			if (a->resolved_ms == 0) {
				a->resolved_ms = now_ms;
				a->acked = 0;
				(void)persist(c, a);
				log_debug("alertmanager %s: %s for %s resolved", c->name, a->alertname,
					  a->arn);
				changes++;
			}
			merged[m++] = *a;
		} else if (cmp == 0) {
			struct am_alert *a = &c->alerts[i++];
			if (a->resolved_ms != 0) {
				/* Back before every Alertmanager heard of the
				 * resolution: a new instance of the alert. */
				a->resolved_ms = 0;
				a->acked = 0;
				a->starts_ms = conds[j].starts_ms;
				(void)persist(c, a);
				changes++;
			}
			merged[m++] = *a;
			j++;
		} else {
			const struct am_condition *k = &conds[j++];
			struct am_alert a = {
			    .alertname = strdup(k->alertname),
			    .arn = strdup(k->arn),
			    .alert = describe(k, userdata),
			    .starts_ms = k->starts_ms,
			};
			if (!a.alertname || !a.arn || !a.alert) {
				/* Tried again at the next update. */
				alert_done(&a);
				continue;
			}
			(void)persist(c, &a);
			log_debug("alertmanager %s: %s for %s firing", c->name, a.alertname, a.arn);
			merged[m++] = a;
			changes++;
		}
	}
	free(c->alerts);
	c->alerts = merged;
	c->n_alerts = m;
	count_alerts(c);
	if (changes > 0)
		set_changed(c, now_ms);
	return changes;
}

/* One alert of the array Alertmanager takes: the stored object with the
 * times of this send. */
static int append_alert(struct dynbuf *b, const struct am_alert *a, int64_t now_ms, int64_t resend_ms)
{
	char starts[40], ends[40];
	size_t len = strlen(a->alert);

	if (len < 2 || a->alert[len - 1] != '}')
		return -EINVAL;
	format_iso8601_ms(a->starts_ms, starts, sizeof(starts));
	format_iso8601_ms(a->resolved_ms ? a->resolved_ms : now_ms + AM_ENDS_FACTOR * resend_ms, ends,
			  sizeof(ends));
	if (dynbuf_append(b, a->alert, len - 1) < 0 ||
	    dynbuf_appendf(b, ",\"startsAt\":\"%s\",\"endsAt\":\"%s\"}", starts, ends) < 0)
		return -ENOMEM;
	return 0;
}

static bool wanted_by(const struct am_alert *a, const struct am_url *u)
{
	return a->resolved_ms == 0 || !(a->acked & (1u << u->index));
}

static void ack_resolved(struct am_client *c, const struct am_post *p, unsigned url_index)
{
	for (size_t i = 0; i < p->n_resolved; i++) {
		struct am_alert *a = find_alert(c, p->resolved[i].alertname, p->resolved[i].arn);
		if (!a || a->resolved_ms != p->resolved_ms[i])
			continue;
		a->acked |= 1u << url_index;
		if ((a->acked & all_urls_mask(c)) == all_urls_mask(c)) {
			size_t idx = (size_t)(a - c->alerts);
			(void)store_am_delete(c->store, c->name, a->alertname, a->arn);
			alert_done(a);
			memmove(a, a + 1, (c->n_alerts - idx - 1) * sizeof(*a));
			c->n_alerts--;
		} else {
			(void)persist(c, a);
		}
	}
	count_alerts(c);
}

/* Short first retries: an Alertmanager restart should cost seconds, not the
 * resend interval. */
static int64_t retry_delay_ms(const struct am_client *c, unsigned failures)
{
	static const int64_t steps[] = {1000, 2000, 5000, 10000, 30000};
	int64_t d = steps[failures - 1 < ELEMENTSOF(steps) ? failures - 1 : ELEMENTSOF(steps) - 1];

	return d < c->resend_ms ? d : c->resend_ms;
}

static void url_step(struct am_url *u, int64_t now_ms);

static void post_done(void *userdata, const struct http_response *resp)
{
	struct am_post *p = userdata;
	struct am_url *u = p->u;
	struct am_client *c;
	int64_t now = (int64_t)now_realtime_ms();
	bool ok, retry;

	if (!u) {
		post_free(p);
		return;
	}
	c = u->c;
	u->inflight = NULL;
	ok = resp->error == HTTP_OK && resp->status >= 200 && resp->status < 300;
	retry = !ok && (resp->error != HTTP_OK || resp->status == 429 || resp->status >= 500);
	if (ok) {
		c->stats.sent++;
		ack_resolved(c, p, u->index);
		u->round_pos = p->round_end;
		if (u->failing)
			log_notice("alertmanager %s: %s accepts alerts again (failing since %.0f s)",
				   c->name, u->host, (double)(now - u->failing_since_ms) / 1000.0);
		u->failing = false;
		u->failures = 0;
	} else if (retry) {
		c->stats.failed++;
		if (resp->error != HTTP_OK)
			set_error(c, "%s: %s", u->host, http_error_to_string(resp->error));
		else
			set_error(c, "%s: HTTP %ld", u->host, resp->status);
		if (!u->failing) {
			log_warning("alertmanager %s: sending to %s failed (%s); retrying (alerts are kept)",
				    c->name, u->host, c->stats.last_error);
			u->failing_since_ms = now;
		}
		u->failing = true;
		u->failures++;
		round_end(u);
		u->next_round_ms = now + retry_delay_ms(c, u->failures);
		u->again = false;
		post_free(p);
		if (c->wakeup_changed)
			c->wakeup_changed(c->userdata);
		return;
	} else {
		/* Alertmanager refused the batch itself (400: a label or
		 * annotation it will never take): the same alerts would be
		 * refused forever, so say it and go on. */
		c->stats.rejected++;
		set_error(c, "%s: HTTP %ld", u->host, resp->status);
		log_warning("alertmanager %s: %s refused %zu alerts with HTTP %ld: %.*s", c->name, u->host,
			    p->round_end - u->round_pos, resp->status,
			    (int)(resp->body_len > 200 ? 200 : resp->body_len),
			    resp->body ? resp->body : "");
		ack_resolved(c, p, u->index);
		u->round_pos = p->round_end;
	}
	post_free(p);
	url_step(u, now);
	if (c->wakeup_changed)
		c->wakeup_changed(c->userdata);
}

/* Sends the next batch of the round, starting the round if it is due. */
static void url_step(struct am_url *u, int64_t now_ms)
{
	struct am_client *c = u->c;
	struct am_post *p;
	struct dynbuf b;
	size_t n = 0, k;
	int r;

	if (u->inflight)
		return;
	if (!u->round_active) {
		if (now_ms < u->next_round_ms)
			return;
		u->round = calloc(c->n_alerts + 1, sizeof(*u->round));
		if (!u->round)
			return;
		for (size_t i = 0; i < c->n_alerts; i++) {
			if (!wanted_by(&c->alerts[i], u))
				continue;
			u->round[u->round_n].alertname = strdup(c->alerts[i].alertname);
			u->round[u->round_n].arn = strdup(c->alerts[i].arn);
			if (!u->round[u->round_n].alertname || !u->round[u->round_n].arn) {
				u->round_n++;
				round_end(u);
				u->next_round_ms = now_ms + 1000;
				return;
			}
			u->round_n++;
		}
		u->round_active = true;
		u->again = false;
	}
	if (u->round_pos >= u->round_n) {
		bool again = u->again;
		round_end(u);
		u->next_round_ms = again ? now_ms : now_ms + c->resend_ms;
		if (again)
			url_step(u, now_ms);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (p) {
		p->resolved = calloc(AM_BATCH_MAX, sizeof(*p->resolved));
		p->resolved_ms = calloc(AM_BATCH_MAX, sizeof(*p->resolved_ms));
	}
	if (!p || !p->resolved || !p->resolved_ms) {
		post_free(p);
		return;
	}
	dynbuf_init(&b, AM_BODY_MAX);
	r = dynbuf_appends(&b, "[");
	for (k = u->round_pos; r >= 0 && k < u->round_n && n < AM_BATCH_MAX; k++) {
		const struct am_alert *a = find_alert(c, u->round[k].alertname, u->round[k].arn);
		if (!a || !wanted_by(a, u))
			continue;
		if (n > 0)
			r = dynbuf_appends(&b, ",");
		if (r >= 0)
			r = append_alert(&b, a, now_ms, c->resend_ms);
		if (r >= 0 && a->resolved_ms) {
			p->resolved[p->n_resolved].alertname = strdup(a->alertname);
			p->resolved[p->n_resolved].arn = strdup(a->arn);
			p->resolved_ms[p->n_resolved] = a->resolved_ms;
			if (!p->resolved[p->n_resolved].alertname || !p->resolved[p->n_resolved].arn)
				r = -ENOMEM;
			p->n_resolved++;
		}
		n++;
	}
	if (r >= 0)
		r = dynbuf_appends(&b, "]");
	p->round_end = k;
	if (r < 0 || n == 0) {
		/* Nothing left of this round (alerts went meanwhile), or no
		 * memory: finish the round; the next one tries again. */
		dynbuf_free(&b);
		post_free(p);
		u->round_pos = u->round_n;
		if (r < 0) {
			round_end(u);
			u->next_round_ms = now_ms + 1000;
			return;
		}
		url_step(u, now_ms);
		return;
	}

	const char *hdrs[64 + 3];
	size_t h = 0;
	hdrs[h++] = "Content-Type: application/json";
	for (size_t i = 0; c->extra[i] && h < ELEMENTSOF(hdrs) - 1; i++)
		hdrs[h++] = c->extra[i];
	hdrs[h] = NULL;
	struct http_request req = {
	    .method = "POST",
	    .url = u->endpoint,
	    .headers = hdrs,
	    .body = b.data,
	    .body_len = b.len,
	    .timeout_ms = c->timeout_ms,
	    .ca_file = c->ca_file,
	};
	p->u = u;
	u->inflight = p;
	r = http_submit(c->http, &req, post_done, p, &p->transfer);
	dynbuf_free(&b);
	if (r < 0) {
		u->inflight = NULL;
		post_free(p);
		set_error(c, "%s: cannot start a request: %s", u->host, strerror(-r));
		round_end(u);
		u->next_round_ms = now_ms + retry_delay_ms(c, ++u->failures);
	}
}

void am_client_run(struct am_client *c, int64_t now_ms)
{
	for (unsigned i = 0; i < c->n_urls; i++)
		url_step(&c->urls[i], now_ms);
}

int64_t am_client_next_wakeup_ms(const struct am_client *c)
{
	int64_t next = -1;

	for (unsigned i = 0; i < c->n_urls; i++) {
		const struct am_url *u = &c->urls[i];
		int64_t w;
		if (u->inflight)
			continue;
		w = u->round_active ? 0 : u->next_round_ms;
		if (next < 0 || w < next)
			next = w;
	}
	return next;
}
