/* The daemon's configuration: an INI file (parsed with inih) plus drop-ins
 * FILE.d/NAME.conf read in lexical order after FILE, validated completely when
 * loaded and then immutable.  See config/jobwatchd.conf for every key. */
#ifndef JW_CONFIG_H
#define JW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "model.h"
#include "notify/payload.h"

#define CONFIG_DEFAULT_PATH "/etc/jobwatchd/jobwatchd.conf"
/* Cap on the number of jobs from [jobs] arn and arn_file together. */
#define CONFIG_MAX_ARNS 1000000

/* A webhook's format is the notifier's enum payload_format (json, slack,
 * alertmanager): one list of formats, owned by the module that builds them. */

struct config_discover {
	char *name;
	char *collaboration_id;		     /* NULL when unset */
	char *configured_audience_model_arn; /* NULL when unset */
	char *membership_id;		     /* NULL when unset (membership-scoped Lists) */
	/* What the section lists: bit (1u << enum resource_kind).  Set from
	 * `kinds`, else every kind its identifiers allow (config.c). */
	unsigned kinds;
	uint64_t interval_ms;
};

struct config_webhook {
	char *name;
	char *url; /* may carry a token (Slack): never log it */
	enum payload_format format;
	/* Paths as resolved at load time: relative paths are taken relative to
	 * the directory of the config file that names them, and a path that
	 * does not exist may be found as a systemd credential of the same
	 * basename under $CREDENTIALS_DIRECTORY.  NULL when unset. */
	char *secret_file;
	char *headers_file;
	bool on_all;
	unsigned on_types;    /* bit (1u << enum event_type) */
	unsigned on_statuses; /* bit (1u << enum job_status) */
	uint64_t timeout_ms;
	uint64_t max_pending;
	uint64_t resend_interval_ms; /* alertmanager */
	uint64_t gone_alert_for_ms;  /* alertmanager */
	uint64_t max_age_ms;	     /* a delivery still failing past this is parked */
	unsigned max_in_flight;	     /* requests at once (each to a different job) */
};

/* An [eventbridge "NAME"] section: every event its `on` filter lets
 * through goes onto an EventBridge bus (PutEvents), with the daemon's
 * region and credentials. */
struct config_eventbridge {
	char *name;
	char *event_bus; /* a bus name or ARN; "default" unless set */
	char *source;	 /* the events' Source; never "aws." + anything */
	bool on_all;
	unsigned on_types; /* as in config_webhook */
	unsigned on_statuses;
};

/* url may list several Alertmanagers (format = alertmanager). */
#define CONFIG_WEBHOOK_MAX_URLS 8

struct config {
	struct {
		/* Raw values, NULL when unset: the AWS client applies the
		 * AWS_REGION / AWS_PROFILE / AWS_ENDPOINT_URL* fallbacks. */
		char *region;
		char *profile;
		char *endpoint;
		char *ca_file; /* resolved like the webhook files */
		bool dualstack;
		bool fips;
		double max_rps;
		unsigned max_connections;
		uint64_t timeout_ms;
	} aws;
	struct {
		uint64_t interval_ms;
		uint64_t settled_interval_ms; /* 0 = never */
		uint64_t failed_interval_ms;  /* 0 = never */
		double jitter;		      /* fraction: 0.10 for 10% */
		uint64_t stuck_after_ms;      /* 0 = off */
		uint64_t not_found_grace_ms;  /* never-seen jobs answering 404: no backoff this long */
	} poll;

	char **arns; /* validated, deduplicated, in first-seen order */
	size_t n_arns;
	/* One daemon watches one region: the region of every job ARN and
	 * discover model ARN (all the same, checked at load), and where the
	 * first of them is ("FILE:LINE: [jobs] arn").  NULL without ARNs. */
	char *arns_region;
	char *arns_region_at;

	struct config_discover *discover;
	size_t n_discover;

	char *state_path;
	bool journal_enabled;

	struct config_webhook *webhooks;
	size_t n_webhooks;

	struct config_eventbridge *eventbridges;
	size_t n_eventbridges;

	struct {
		char *listen;	   /* NULL = off; "HOST:PORT", "[V6]:PORT" or "unix:/PATH" */
		char *token_file;  /* resolved; required for a TCP listener */
		uint64_t max_jobs; /* jobs the control API may add (source "api") */
		/* A read-only token for /metrics and /healthz (NULL: the
		 * control token only); resolved. */
		char *metrics_token_file;
		/* TLS for a TCP listener; both or neither, required off
		 * loopback.  Resolved. */
		char *cert_file;
		char *key_file;
	} http;

	char *path; /* the main file as given */
};

/* Everything found wrong (errors) or doubtful (warnings), one message each,
 * formatted "FILE:LINE: [section] key: what is wrong".  Never contains a
 * secret, a header value or a webhook URL. */
struct config_diag {
	char **errors;
	size_t n_errors;
	char **warnings;
	size_t n_warnings;
};

void config_diag_done(struct config_diag *diag);

/* Loads path and its drop-ins.  Returns 0 and the config in *ret, or -EINVAL
 * when any error was found (*ret is then NULL and diag holds every error), or
 * -ENOMEM.  With strict, secret files readable by group/other are errors
 * instead of warnings.  diag may be NULL; it is overwritten (not appended to)
 * and must be released with config_diag_done(). */
int config_load(const char *path, bool strict, struct config **ret, struct config_diag *diag);
/* The same file for commands that only call the API (get, list): every
 * line is still checked, but [webhook] and [http] files are not opened --
 * a secret those commands never use must not stop them. */
int config_load_aws(const char *path, struct config **ret, struct config_diag *diag);

/* The ARNs of c against the region the daemon runs in (resolved from
 * [aws] region, the environment or the profile).  Returns 0, or -EINVAL with
 * a message naming the file and line of the first ARN in err. */
int config_check_region(const struct config *c, const char *region, char *err, size_t errsz);
struct config *config_free(struct config *c);

/* The webhook's `on` filter: on_all, or the event type is listed, or the
 * event's (new) status is listed. */
bool config_webhook_wants(const struct config_webhook *w, enum event_type t, enum job_status status);
/* The same filter for an [eventbridge] section. */
bool config_eventbridge_wants(const struct config_eventbridge *b, enum event_type t, enum job_status status);

/* EventBusName as PutEvents takes it: a name ([/.\-_A-Za-z0-9], 1-256) or
 * arn:PARTITION:events:REGION:ACCOUNT:event-bus/NAME.  On -EINVAL *reason
 * says why (static text); *ret_region (may be NULL) points at the ARN's
 * region inside value, *ret_region_len its length (0 for a name). */
int config_event_bus_check(const char *value, const char **reason, const char **ret_region,
			   size_t *ret_region_len);
/* A bus ARN names its region, and PutEvents goes to the daemon's: -EINVAL
 * with a message in err when the ARN of b names another region than
 * region.  A bus name is fine. */
int config_eventbridge_check_region(const struct config_eventbridge *b, const char *region, char *err,
				    size_t errsz);
/* Source: 1-256 printable ASCII characters without blanks, not starting
 * with "aws." (reserved for AWS services). */
int config_event_source_check(const char *value, const char **reason);

/* NULL-terminated "section.key" for every key the parser accepts. */
const char *const *config_known_keys(void);

/* Helpers the config uses and other modules may reuse. */

/* An http(s) URL split into parts (pointers into buf, owned by the struct). */
struct config_url {
	bool https;
	char *host;	      /* without brackets for IPv6 */
	unsigned port;	      /* explicit or the scheme default */
	char *path_and_query; /* "/" when absent */
	char *buf;
};
/* Parses an absolute http:// or https:// URL without userinfo.  -EINVAL
 * with *reason set to a static text when invalid. */
int config_url_parse(const char *s, struct config_url *ret, const char **reason);
void config_url_done(struct config_url *u);
/* localhost, 127.0.0.0/8 and ::1. */
bool config_host_is_loopback(const char *host);

enum config_listen_kind {
	CONFIG_LISTEN_TCP,
	CONFIG_LISTEN_UNIX,
	_CONFIG_LISTEN_MAX,
	CONFIG_LISTEN_INVALID = -1,
};
/* Parses "[http] listen" (not "off"): for TCP host is the address without
 * brackets ("" or "*" for any) and port 0..65535; for unix host is the
 * absolute path.  *ret_host is malloc'd. */
int config_listen_parse(const char *s, enum config_listen_kind *ret_kind, char **ret_host,
			unsigned *ret_port, const char **reason);

#endif
