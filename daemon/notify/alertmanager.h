/* The Alertmanager client: pushes alerts into Alertmanager's API v2
 * (POST {url}/api/v2/alerts, a JSON array), the way Prometheus does.
 *
 * Alerts are conditions, not events: the engine hands over, now and then and
 * whenever the job table changed, the full sorted list of conditions that
 * hold (am_client_update()).  The client keeps the alerts it holds -- active
 * ones, and resolved ones until every Alertmanager accepted the resolution --
 * in the state database, and:
 *  - sends every active alert again each resend interval, with endsAt = now +
 *    4 x resend interval, so Alertmanager keeps it while the condition holds
 *    and expires it by itself if the daemon dies;
 *  - sends a resolution (same labels, endsAt = the time it resolved) when a
 *    condition no longer holds;
 *  - sends to every URL (an HA pair gets everything); a URL that fails (5xx,
 *    429, network) is retried with a short backoff; a 4xx is logged and
 *    counted, and not retried for the alerts it refused.
 * Nothing here blocks: requests go through the http layer, and the engine
 * calls am_client_run() when am_client_next_wakeup_ms() says. */
#ifndef JW_NOTIFY_ALERTMANAGER_H
#define JW_NOTIFY_ALERTMANAGER_H

#include <stddef.h>
#include <stdint.h>

struct http_ctx;
struct store;

#define AM_MAX_URLS  8
#define AM_BATCH_MAX 500 /* alerts per POST */

/* One condition that holds; strings borrowed for the call. */
struct am_condition {
	const char *alertname;
	const char *arn;
	int64_t starts_ms; /* wall clock: when the condition began */
};

/* Describes a condition that is new to the client: the alert's labels,
 * annotations and generatorURL as a JSON object text (malloc'd), or NULL on
 * ENOMEM (the condition is then tried again at the next update). */
typedef char *(*am_describe_fn)(const struct am_condition *c, void *userdata);

struct am_client_params {
	const char *name;		  /* the [webhook "NAME"] */
	const char *urls;		  /* base URLs separated by spaces (at most AM_MAX_URLS) */
	const char *const *extra_headers; /* "Name: value" (headers_file); copied, wiped on free */
	const char *ca_file;
	uint64_t timeout_ms;
	int64_t resend_ms;
	/* Called when am_client_next_wakeup_ms() moved outside a call from
	 * the engine (a request finished). */
	void (*wakeup_changed)(void *userdata);
	void *userdata;
};

struct am_client_stats {
	uint64_t sent;	   /* POSTs answered 2xx */
	uint64_t failed;   /* POSTs failed (network, 5xx, 429): retried */
	uint64_t rejected; /* POSTs answered another 4xx: not retried */
	uint64_t active;   /* alerts active now */
	uint64_t resolved_pending;
	char last_error[160];
};

struct am_client;

/* Loads the hook's alerts from store (both borrowed; they must outlive the
 * client) and sends them at the first am_client_run(). */
int am_client_new(const struct am_client_params *p, struct store *store, struct http_ctx *http,
		  struct am_client **ret);
struct am_client *am_client_free(struct am_client *c);

/* conds: every condition that holds now, sorted by (alertname, arn) with
 * strcmp, no duplicates.  Returns how many alerts started or resolved, or a
 * negative errno. */
int am_client_update(struct am_client *c, const struct am_condition *conds, size_t n,
		     am_describe_fn describe, void *userdata, int64_t now_ms);
/* Sends what is due. */
void am_client_run(struct am_client *c, int64_t now_ms);
/* When am_client_run() has something to do next (wall clock ms), or -1. */
int64_t am_client_next_wakeup_ms(const struct am_client *c);
void am_client_get_stats(const struct am_client *c, struct am_client_stats *ret);
const char *am_client_name(const struct am_client *c);

#endif
