/* The credential chain: runs the providers in the SDKs' order, keeps the
 * winning credentials, refreshes them ahead of expiry and hands them to
 * waiting requests.
 *
 * Timing (botocore's advisory/mandatory windows, with the mandatory one at
 * 5 min as the SDK for JS does): a refresh starts 15 min before Expiration;
 * while it runs, or while it fails and is retried with backoff, the old
 * credentials stay in use until 5 min before Expiration.  After that
 * creds_current() returns NULL and requests wait for the next resolution.
 * A refresh re-runs the whole chain: it is cheap (env, small files), and a
 * changed configuration is picked up the same way as at start.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "creds.h"
#include "creds/internal.h"
#include "list.h"
#include "log.h"
#include "util.h"

#define CREDS_ADVISORY_MS  (15 * 60 * 1000)
#define CREDS_MANDATORY_MS (5 * 60 * 1000)
#define CREDS_BACKOFF_MS   (5 * 1000)
#define CREDS_BACKOFF_MAX  (60 * 1000)
#define CREDS_REPOLL_MS	   (60 * 1000)
#define CREDS_MAX_WAITERS  65536

struct creds_waiter {
	creds_ready_fn cb;
	void *userdata;
	struct list_node node; /* in creds->waiters */
};

static const struct {
	const char *name;
	creds_start_fn start;
} creds_providers[] = {
    {"environment", creds_env_start},
    {"web identity", creds_webid_start},
    {"shared files", creds_profile_start},
    {"container", creds_container_start},
    {"imds", creds_imds_start},
};

struct creds {
	struct creds_ctx ctx;
	uv_timer_t refresh_timer;
	uv_timer_t deliver_timer;
	unsigned refs;
	bool freeing;

	struct aws_credentials *cur;
	int64_t usable_until_ms; /* realtime; INT64_MAX when cur never expires */
	bool invalidated;

	bool resolving;
	size_t step;
	struct creds_op *op;
	struct dynbuf tried;
	int result_error; /* of the last failed resolution, until delivered */

	struct list_node waiters; /* struct creds_waiter, in request order */
	size_t n_waiters;

	char last_error[CREDS_ERR_MAX * 2];
	bool have_error;
	uint64_t n_resolved;
	unsigned failures;
	double scale;
};

static void creds_unref(struct creds *c)
{
	if (--c->refs > 0)
		return;
	aws_credentials_free(c->cur);
	dynbuf_free(&c->tried);
	free(c->ctx.profile);
	free(c->ctx.region);
	free(c->ctx.ca_file);
	free(c);
}

static int64_t scaled(const struct creds *c, int64_t ms)
{
	int64_t v = (int64_t)((double)ms * c->scale);
	return v > 0 ? v : 1;
}

static void creds_resolve_start(struct creds *c);
static void on_deliver(uv_timer_t *t);
static void on_refresh_timer(uv_timer_t *t);

static void creds_schedule_deliver(struct creds *c)
{
	if (!c->freeing)
		(void)uv_timer_start(&c->deliver_timer, on_deliver, 0, 0);
}

static void on_deliver(uv_timer_t *t)
{
	struct creds *c = t->data;
	const struct aws_credentials *cur = creds_current(c);
	struct creds_waiter *w;
	struct list_node batch;
	int err;

	if (!cur && c->resolving)
		return; /* delivered when the resolution finishes */
	if (!cur && c->result_error == 0) {
		/* The credentials went stale between request and delivery. */
		if (!list_empty(&c->waiters))
			creds_resolve_start(c);
		return;
	}
	err = cur ? 0 : c->result_error;
	c->result_error = 0;
	list_move_all(&batch, &c->waiters);
	c->n_waiters = 0;
	c->refs++;
	while ((w = list_first_entry(&batch, struct creds_waiter, node))) {
		list_del(&w->node);
		/* After creds_free() in a callback: only release the nodes. */
		if (!c->freeing)
			w->cb(w->userdata, err, cur);
		free(w);
	}
	creds_unref(c);
}

static void creds_arm_refresh(struct creds *c, int64_t delay_ms)
{
	if (c->freeing)
		return;
	if (delay_ms < 50)
		delay_ms = 50;
	(void)uv_timer_start(&c->refresh_timer, on_refresh_timer, (uint64_t)delay_ms, 0);
}

/* Backoff for the n-th consecutive failure, kept short enough to get several
 * attempts in before the mandatory window of the current credentials. */
static int64_t creds_backoff(const struct creds *c, int64_t now)
{
	int64_t d = scaled(c, CREDS_BACKOFF_MS);
	for (unsigned i = 1; i < c->failures && d < scaled(c, CREDS_BACKOFF_MAX); i++)
		d *= 2;
	if (d > scaled(c, CREDS_BACKOFF_MAX))
		d = scaled(c, CREDS_BACKOFF_MAX);
	if (c->cur && c->cur->expiration_ms && c->usable_until_ms > now) {
		int64_t half = (c->usable_until_ms - now) / 2;
		if (half < d)
			d = half;
	}
	return d;
}

static void on_refresh_timer(uv_timer_t *t)
{
	struct creds *c = t->data;

	if (!c->resolving && !c->freeing) {
		log_debug("credentials: refreshing (source %s)", c->cur ? c->cur->source : "none");
		creds_resolve_start(c);
	}
}

static void creds_install(struct creds *c, struct aws_credentials *n)
{
	int64_t now = (int64_t)now_realtime_ms();
	char when[40] = "never";

	aws_credentials_free(c->cur);
	c->cur = n;
	c->invalidated = false;
	c->failures = 0;
	c->have_error = false;
	c->last_error[0] = '\0';
	c->n_resolved++;
	if (!n->expiration_ms) {
		c->usable_until_ms = INT64_MAX;
		uv_timer_stop(&c->refresh_timer);
	} else {
		int64_t advisory = n->expiration_ms - scaled(c, CREDS_ADVISORY_MS);
		int64_t mandatory = n->expiration_ms - scaled(c, CREDS_MANDATORY_MS);

		/* Fresh credentials already inside the mandatory window (an
		 * endpoint that has not rotated yet) are used for half their
		 * remaining life while we keep asking for newer ones. */
		c->usable_until_ms = mandatory > now ? mandatory : now + (n->expiration_ms - now) / 2;
		creds_arm_refresh(c, advisory > now ? advisory - now : scaled(c, CREDS_REPOLL_MS));
		format_iso8601_ms(n->expiration_ms, when, sizeof(when));
	}
	if (c->n_resolved == 1)
		log_info("credentials: using %s (expire %s)", n->source, when);
	else
		log_debug("credentials: refreshed from %s (expire %s)", n->source, when);
}

static void creds_resolve_finish(struct creds *c, int r, struct aws_credentials *n, const char *err)
{
	int64_t now = (int64_t)now_realtime_ms();

	c->resolving = false;
	if (r == 0 && n->expiration_ms && n->expiration_ms <= now) {
		char when[40];
		format_iso8601_ms(n->expiration_ms, when, sizeof(when));
		snprintf(c->last_error, sizeof(c->last_error), "%s: credentials already expired at %s",
			 n->source, when);
		aws_credentials_free(n);
		r = -EKEYEXPIRED;
		err = NULL;
	} else if (r < 0)
		snprintf(c->last_error, sizeof(c->last_error), "%s", err ? err : strerror(-r));
	if (r == 0) {
		creds_install(c, n);
	} else {
		c->have_error = true;
		c->failures++;
		c->result_error = r;
		if (c->cur && c->cur->expiration_ms) {
			int64_t d = creds_backoff(c, now);
			log_warning("credentials: refresh failed (attempt %u, next in %" PRId64 " ms): %s",
				    c->failures, d, c->last_error);
			creds_arm_refresh(c, d);
		} else
			log_debug("credentials: resolution failed: %s", c->last_error);
	}
	creds_schedule_deliver(c);
}

static void creds_resolve_next(struct creds *c);

static void on_op_done(void *userdata, int r, struct aws_credentials *n, const char *err)
{
	struct creds *c = userdata;

	c->op = NULL;
	if (c->freeing) {
		aws_credentials_free(n);
		creds_unref(c);
		return;
	}
	if (r < 0 && c->step == ELEMENTSOF(creds_providers) - 1) {
		/* IMDS is the last resort: say what else was looked at. */
		char msg[sizeof(c->last_error)];
		snprintf(msg, sizeof(msg), "no credentials found (%s); %s",
			 c->tried.data ? c->tried.data : "", err ? err : "imds failed");
		creds_resolve_finish(c, r, NULL, msg);
	} else
		creds_resolve_finish(c, r, n, err);
	creds_unref(c);
}

static void creds_resolve_next(struct creds *c)
{
	while (c->step < ELEMENTSOF(creds_providers)) {
		struct aws_credentials *n = NULL;
		struct creds_op *op = NULL;
		char err[CREDS_ERR_MAX] = "";
		int r;

		if (creds_providers[c->step].start == creds_env_start && !str_empty(c->ctx.profile)) {
			/* An explicit [aws] profile negates the environment
			 * keys (botocore drops its EnvProvider for a profile
			 * given to the session; the JS SDK skips fromEnv). */
			snprintf(err, sizeof(err), "environment: skipped, [aws] profile %.100s is set",
				 c->ctx.profile);
			r = CREDS_SKIP;
		} else
			r = creds_providers[c->step].start(&c->ctx, on_op_done, c, &op, &n, err,
							   sizeof(err));
		if (r == CREDS_SKIP) {
			log_debug("credentials: %s", err);
			(void)dynbuf_appendf(&c->tried, "%s%s", c->tried.len ? "; " : "", err);
			c->step++;
			continue;
		}
		if (r < 0) {
			if (!err[0])
				snprintf(err, sizeof(err), "%s: %s", creds_providers[c->step].name,
					 strerror(-r));
			creds_resolve_finish(c, r, NULL, err);
			return;
		}
		if (n) {
			creds_resolve_finish(c, 0, n, NULL);
			return;
		}
		c->op = op;
		c->refs++;
		return;
	}
	char msg[sizeof(c->last_error)];
	snprintf(msg, sizeof(msg), "no credentials found (%s)", c->tried.data ? c->tried.data : "");
	creds_resolve_finish(c, -ENOKEY, NULL, msg);
}

static void creds_resolve_start(struct creds *c)
{
	c->resolving = true;
	c->step = 0;
	c->result_error = 0;
	dynbuf_reset(&c->tried);
	creds_resolve_next(c);
}

static double creds_scale_from_env(void)
{
	const char *s = getenv("JW_CREDS_REFRESH_SCALE");
	char *end = NULL;
	double v;

	if (!s || !*s)
		return 1.0;
	errno = 0;
	v = strtod(s, &end);
	if (errno || !end || *end || !(v > 0.0) || v > 1.0 || !isfinite(v)) {
		log_warning("JW_CREDS_REFRESH_SCALE=%s ignored (want a number in (0, 1])", s);
		return 1.0;
	}
	log_warning("JW_CREDS_REFRESH_SCALE=%g: credential refresh windows scaled down (tests only)", v);
	return v;
}

int creds_new(struct uv_loop_s *loop, struct http_ctx *http, const struct creds_options *opts,
	      struct creds **ret)
{
	struct creds *c;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	list_init(&c->waiters);
	c->ctx.loop = loop;
	c->ctx.http = http;
	if (opts) {
		c->ctx.profile = strdup_or_null(opts->profile);
		c->ctx.region = strdup_or_null(opts->region);
		c->ctx.ca_file = strdup_or_null(opts->ca_file);
		c->ctx.timeout_ms = opts->timeout_ms;
		if ((opts->profile && !c->ctx.profile) || (opts->region && !c->ctx.region) ||
		    (opts->ca_file && !c->ctx.ca_file)) {
			c->refs = 1;
			creds_unref(c);
			return -ENOMEM;
		}
	}
	if (!str_empty(c->ctx.profile) && creds_getenv("AWS_ACCESS_KEY_ID"))
		log_warning("credentials: [aws] profile %s is set, so AWS_ACCESS_KEY_ID and "
			    "AWS_SECRET_ACCESS_KEY in the environment are not used",
			    c->ctx.profile);
	dynbuf_init(&c->tried, 4096);
	c->scale = creds_scale_from_env();
	uv_timer_init(loop, &c->refresh_timer);
	uv_timer_init(loop, &c->deliver_timer);
	c->refresh_timer.data = c;
	c->deliver_timer.data = c;
	c->refs = 3; /* owner + two timer handles */
	*ret = c;
	return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
	creds_unref(h->data);
}

struct creds *creds_free(struct creds *c)
{
	struct creds_waiter *w;

	if (!c || c->freeing)
		return NULL;
	c->freeing = true;
	creds_op_cancel(c->op);
	/* Every request gets its one callback, cancelled: its owner may hold
	 * memory for it (the AWS client's waiter). */
	while ((w = list_first_entry(&c->waiters, struct creds_waiter, node))) {
		list_del(&w->node);
		c->n_waiters--;
		w->cb(w->userdata, -ECANCELED, NULL);
		free(w);
	}
	uv_close((uv_handle_t *)&c->refresh_timer, on_timer_closed);
	uv_close((uv_handle_t *)&c->deliver_timer, on_timer_closed);
	creds_unref(c);
	return NULL;
}

const struct aws_credentials *creds_current(struct creds *c)
{
	if (!c || !c->cur || c->invalidated || c->freeing)
		return NULL;
	if (c->usable_until_ms != INT64_MAX && (int64_t)now_realtime_ms() >= c->usable_until_ms)
		return NULL;
	return c->cur;
}

int creds_request(struct creds *c, creds_ready_fn cb, void *userdata)
{
	struct creds_waiter *w;

	if (!c || !cb || c->freeing)
		return -EINVAL;
	if (c->n_waiters >= CREDS_MAX_WAITERS)
		return -EBUSY;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->cb = cb;
	w->userdata = userdata;
	list_add_tail(&c->waiters, &w->node);
	c->n_waiters++;
	/* While a retry is scheduled after failures, requests wait for it
	 * instead of each hammering the endpoint. */
	if (creds_current(c))
		creds_schedule_deliver(c);
	else if (!c->resolving && !(c->failures > 0 && uv_is_active((uv_handle_t *)&c->refresh_timer)))
		creds_resolve_start(c);
	return 0;
}

int creds_set_ca_file(struct creds *c, const char *ca_file)
{
	return str_replace(&c->ctx.ca_file, ca_file);
}

void creds_invalidate(struct creds *c)
{
	if (!c || c->freeing)
		return;
	c->invalidated = true;
	if (!c->resolving)
		creds_resolve_start(c);
}

const char *creds_last_error(const struct creds *c)
{
	return c && c->have_error ? c->last_error : NULL;
}

const char *creds_source(const struct creds *c)
{
	return c && c->cur ? c->cur->source : NULL;
}

int64_t creds_expiration_ms(const struct creds *c)
{
	return c && c->cur ? c->cur->expiration_ms : 0;
}

uint64_t creds_refresh_count(const struct creds *c)
{
	return c && c->n_resolved > 0 ? c->n_resolved - 1 : 0;
}
