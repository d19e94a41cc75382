/* Every key the configuration accepts: its section, type, default and
 * validation.  Defaults are applied through the same parsers as values, so
 * the table is the single source of truth (and of config_known_keys()). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_internal.h"
#include "kinds.h"
#include "util.h"

#define ARN_LINE_MAX	    2048
#define ARN_FILE_MAX_ERRORS 100
#define DURATION_MAX_MS	    (366ull * 24 * 3600 * 1000)

enum key_type {
	KT_REGION,
	KT_PROFILE,
	KT_ENDPOINT,
	KT_FILE,
	KT_SECRET_FILE,
	KT_BOOL,
	KT_RPS,
	KT_UNSIGNED,
	KT_U64,
	KT_DURATION,
	KT_PERCENT,
	KT_ARN,
	KT_ARN_FILE,
	KT_UUID,
	KT_KINDS,
	KT_MODEL_ARN,
	KT_PATH,
	KT_WEBHOOK_URL,
	KT_FORMAT,
	KT_ON,
	KT_LISTEN,
	KT_EVENT_BUS,
	KT_EVENT_SOURCE,
	_KT_MAX,
};

struct key_def {
	const char *full; /* "section.key" */
	enum config_section section;
	enum key_type type;
	size_t offset; /* from the section's base struct */
	const char *def;
	uint64_t min, max; /* numbers: range; durations: min 1 forbids 0 */
};

#define G(f) offsetof(struct config, f)
#define D(f) offsetof(struct config_discover, f)
#define W(f) offsetof(struct config_webhook, f)
#define E(f) offsetof(struct config_eventbridge, f)

static const struct key_def keys[] = {
    {"aws.region", CONFIG_SECTION_AWS, KT_REGION, G(aws.region), NULL, 0, 0},
    {"aws.profile", CONFIG_SECTION_AWS, KT_PROFILE, G(aws.profile), NULL, 0, 0},
    {"aws.endpoint", CONFIG_SECTION_AWS, KT_ENDPOINT, G(aws.endpoint), NULL, 0, 0},
    {"aws.ca_file", CONFIG_SECTION_AWS, KT_FILE, G(aws.ca_file), NULL, 0, 0},
    {"aws.dualstack", CONFIG_SECTION_AWS, KT_BOOL, G(aws.dualstack), "no", 0, 0},
    {"aws.fips", CONFIG_SECTION_AWS, KT_BOOL, G(aws.fips), "no", 0, 0},
    {"aws.max_rps", CONFIG_SECTION_AWS, KT_RPS, G(aws.max_rps), "5", 0, 100000},
    {"aws.max_connections", CONFIG_SECTION_AWS, KT_UNSIGNED, G(aws.max_connections), "8", 1, 1024},
    {"aws.timeout", CONFIG_SECTION_AWS, KT_DURATION, G(aws.timeout_ms), "15s", 1, DURATION_MAX_MS},
    {"poll.interval", CONFIG_SECTION_POLL, KT_DURATION, G(poll.interval_ms), "30s", 1, DURATION_MAX_MS},
    {"poll.settled_interval", CONFIG_SECTION_POLL, KT_DURATION, G(poll.settled_interval_ms), "1h", 0,
     DURATION_MAX_MS},
    {"poll.failed_interval", CONFIG_SECTION_POLL, KT_DURATION, G(poll.failed_interval_ms), "0", 0,
     DURATION_MAX_MS},
    /* More than 50% would let a poll come due almost immediately. */
    {"poll.jitter", CONFIG_SECTION_POLL, KT_PERCENT, G(poll.jitter), "10%", 0, 50},
    {"poll.stuck_after", CONFIG_SECTION_POLL, KT_DURATION, G(poll.stuck_after_ms), "12h", 0,
     DURATION_MAX_MS},
    /* Reads are eventually consistent: a job named right after it was
     * created can answer ResourceNotFoundException for a while. */
    {"poll.not_found_grace", CONFIG_SECTION_POLL, KT_DURATION, G(poll.not_found_grace_ms), "10m", 0,
     DURATION_MAX_MS},
    {"jobs.arn", CONFIG_SECTION_JOBS, KT_ARN, 0, NULL, 0, 0},
    {"jobs.arn_file", CONFIG_SECTION_JOBS, KT_ARN_FILE, 0, NULL, 0, 0},
    {"discover.collaboration_id", CONFIG_SECTION_DISCOVER, KT_UUID, D(collaboration_id), NULL, 0, 0},
    {"discover.configured_audience_model_arn", CONFIG_SECTION_DISCOVER, KT_MODEL_ARN,
     D(configured_audience_model_arn), NULL, 0, 0},
    {"discover.membership_id", CONFIG_SECTION_DISCOVER, KT_UUID, D(membership_id), NULL, 0, 0},
    {"discover.kinds", CONFIG_SECTION_DISCOVER, KT_KINDS, D(kinds), NULL, 0, 0},
    {"discover.interval", CONFIG_SECTION_DISCOVER, KT_DURATION, D(interval_ms), "5m", 1, DURATION_MAX_MS},
    {"state.path", CONFIG_SECTION_STATE, KT_PATH, G(state_path), NULL, 0, 0},
    {"journal.enabled", CONFIG_SECTION_JOURNAL, KT_BOOL, G(journal_enabled), "yes", 0, 0},
    {"webhook.url", CONFIG_SECTION_WEBHOOK, KT_WEBHOOK_URL, W(url), NULL, 0, 0},
    {"webhook.format", CONFIG_SECTION_WEBHOOK, KT_FORMAT, W(format), "json", 0, 0},
    {"webhook.secret_file", CONFIG_SECTION_WEBHOOK, KT_SECRET_FILE, W(secret_file), NULL, 0, 0},
    {"webhook.headers_file", CONFIG_SECTION_WEBHOOK, KT_SECRET_FILE, W(headers_file), NULL, 0, 0},
    {"webhook.on", CONFIG_SECTION_WEBHOOK, KT_ON, 0, "all", 0, 0},
    {"webhook.timeout", CONFIG_SECTION_WEBHOOK, KT_DURATION, W(timeout_ms), "15s", 1, DURATION_MAX_MS},
    /* format = alertmanager only: Prometheus's resend_delay is 1m. */
    {"webhook.resend_interval", CONFIG_SECTION_WEBHOOK, KT_DURATION, W(resend_interval_ms), "1m", 1000,
     DURATION_MAX_MS},
    {"webhook.gone_alert_for", CONFIG_SECTION_WEBHOOK, KT_DURATION, W(gone_alert_for_ms), "1h", 0,
     DURATION_MAX_MS},
    {"webhook.max_pending", CONFIG_SECTION_WEBHOOK, KT_U64, W(max_pending), "10000", 1, 10000000},
    /* Not below a minute: a shorter bound would park events during an
     * ordinary deploy of the receiver. */
    {"webhook.max_age", CONFIG_SECTION_WEBHOOK, KT_DURATION, W(max_age_ms), "24h", 60000, DURATION_MAX_MS},
    {"webhook.max_in_flight", CONFIG_SECTION_WEBHOOK, KT_UNSIGNED, W(max_in_flight), "4", 1, 64},
    {"eventbridge.event_bus", CONFIG_SECTION_EVENTBRIDGE, KT_EVENT_BUS, E(event_bus), "default", 0, 0},
    {"eventbridge.source", CONFIG_SECTION_EVENTBRIDGE, KT_EVENT_SOURCE, E(source), "jobwatchd", 0, 0},
    {"eventbridge.on", CONFIG_SECTION_EVENTBRIDGE, KT_ON, 0, "all", 0, 0},
    {"http.listen", CONFIG_SECTION_HTTP, KT_LISTEN, G(http.listen), "off", 0, 0},
    {"http.token_file", CONFIG_SECTION_HTTP, KT_SECRET_FILE, G(http.token_file), NULL, 0, 0},
    {"http.max_jobs", CONFIG_SECTION_HTTP, KT_U64, G(http.max_jobs), "1000", 0, 1000000},
    {"http.metrics_token_file", CONFIG_SECTION_HTTP, KT_SECRET_FILE, G(http.metrics_token_file), NULL, 0, 0},
    {"http.cert_file", CONFIG_SECTION_HTTP, KT_FILE, G(http.cert_file), NULL, 0, 0},
    {"http.key_file", CONFIG_SECTION_HTTP, KT_SECRET_FILE, G(http.key_file), NULL, 0, 0},
};

const char *const *config_known_keys(void)
{
	static const char *list[ELEMENTSOF(keys) + 1];

	if (!list[0])
		for (size_t i = 0; i < ELEMENTSOF(keys); i++)
			list[i] = keys[i].full;
	return list;
}

static const char *key_name(const struct key_def *k)
{
	return strchr(k->full, '.') + 1;
}

/* Where the current line's errors point. */
struct key_ctx {
	struct config_parser *p;
	const struct key_def *k;
	struct config_loc loc;
	const char *label;
	bool is_default; /* applying a default: no location, never fails */
};

static void key_error(struct key_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void key_error(struct key_ctx *x, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	config_vreport(x->p, false, &x->loc, x->label, key_name(x->k), fmt, ap);
	va_end(ap);
}

/* Reports the value's error and leaves the field unchanged. */
#define FAIL(...)                                                                                           \
	do {                                                                                                \
		key_error(x, __VA_ARGS__);                                                                  \
		return;                                                                                     \
	} while (0)

static int set_string(struct key_ctx *x, char **field, const char *value)
{
	char *s = strdup(value);
	if (!s) {
		x->p->oom = true;
		return -ENOMEM;
	}
	free(*field);
	*field = s;
	return 0;
}

static bool chars_in(const char *s, const char *extra)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || strchr(extra, *s)))
			return false;
	return true;
}

/* Where a relative secret_file NAME is looked for, in order (one rule for
 * --check-config and run alike, documented in jobwatchd.conf(5)):
 *   1. next to the file that names it (an absolute path: that path);
 *   2. with $CREDENTIALS_DIRECTORY set (the service): NAME, then
 *      jobwatchd_NAME -- the shipped units load the whole credentials
 *      directory with LoadCredential=jobwatchd:DIR, which names each file
 *      "jobwatchd_FILE";
 *   3. without it (root running --check-config, get, list): the directory the
 *      unit loads, CONFDIR/credentials/ (CONFDIR/credentials/STEM/ first for
 *      an instance's STEM.conf).
 * Writes up to 5 allocated candidates to out[]; returns how many, or -ENOMEM. */
static int secret_candidates(struct key_ctx *x, const char *value, char *out[5])
{
	const char *creds = getenv("CREDENTIALS_DIRECTORY"), *main_path = x->p->c->path;
	const char *base = strrchr(value, '/');
	int n = 0;

	base = base ? base + 1 : value;
	if (value[0] == '/' ? !(out[n] = strdup(value)) : asprintf(&out[n], "%s/%s", x->p->dir, value) < 0)
		return -ENOMEM;
	n++;
	if (!str_empty(creds)) {
		if (asprintf(&out[n], "%s/%s", creds, base) < 0)
			return -ENOMEM;
		n++;
		if (asprintf(&out[n], "%s/jobwatchd_%s", creds, base) < 0)
			return -ENOMEM;
		return n + 1;
	}
	if (main_path && value[0] != '/') {
		const char *slash = strrchr(main_path, '/');
		const char *stem = slash ? slash + 1 : main_path;
		int dirlen = slash ? (int)(slash - main_path) : 1;
		const char *dir = slash ? main_path : ".";
		size_t stemlen = strcspn(stem, ".");

		if (stemlen > 0 && !(stemlen == 9 && strncmp(stem, "jobwatchd", 9) == 0)) {
			if (asprintf(&out[n], "%.*s/credentials/%.*s/%s", dirlen, dir, (int)stemlen, stem,
				     base) < 0)
				return -ENOMEM;
			n++;
		}
		if (asprintf(&out[n], "%.*s/credentials/%s", dirlen, dir, base) < 0)
			return -ENOMEM;
		n++;
	}
	return n;
}

/* Opens a file named in the config to prove it is a readable regular file
 * (and, for secrets, private).  The content is never read here: secrets stay
 * with the module that uses them.  *ret_path gets the resolved path. */
static int check_file(struct key_ctx *x, const char *value, bool secret, char **ret_path)
{
	_cleanup_free_ char *path = NULL;
	char *cand[5] = {NULL};
	struct stat st;
	int fd = -1, err = ENOENT, n;

	if (!secret || !x->p->dir) {
		if (value[0] == '/' || !x->p->dir)
			path = strdup(value);
		else if (asprintf(&path, "%s/%s", x->p->dir, value) < 0)
			path = NULL;
		if (!path) {
			x->p->oom = true;
			return -ENOMEM;
		}
		/* O_NONBLOCK: a FIFO must not hang the check. */
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		err = errno;
	} else {
		n = secret_candidates(x, value, cand);
		if (n < 0) {
			for (int i = 0; i < 5; i++)
				free(cand[i]);
			x->p->oom = true;
			return -ENOMEM;
		}
		/* A candidate that exists but cannot be opened stops the search;
		 * when none exists, the error names every place looked at. */
		for (int i = 0; i < n && fd < 0 && err == ENOENT; i++) {
			fd = open(cand[i], O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
			err = errno;
			if (fd >= 0 || err != ENOENT) {
				path = cand[i];
				cand[i] = NULL;
			}
		}
		if (fd < 0 && err == ENOENT && n == 1) {
			path = cand[0];
			cand[0] = NULL;
		} else if (fd < 0 && err == ENOENT) {
			key_error(x, "cannot find %s: looked for %s%s%s%s%s%s%s", value, cand[0],
				  n > 1 ? ", " : "", n > 1 ? cand[1] : "", n > 2 ? ", " : "",
				  n > 2 ? cand[2] : "", n > 3 ? ", " : "", n > 3 ? cand[3] : "");
			for (int i = 0; i < 5; i++)
				free(cand[i]);
			return -ENOENT;
		}
		for (int i = 0; i < 5; i++)
			free(cand[i]);
	}
	if (fd < 0) {
		key_error(x, "cannot open %s: %s", path, strerror(err));
		return -err;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		key_error(x, "%s is not a regular file", path);
		return -EINVAL;
	}
	close(fd);
	if (secret && st.st_size == 0) {
		key_error(x, "%s is empty", path);
		return -EINVAL;
	}
	if (secret && (st.st_mode & (S_IRGRP | S_IROTH)))
		config_report(
		    x->p, !x->p->strict, &x->loc, x->label, key_name(x->k),
		    "%s holds a secret but is readable by group or others (mode %04o); chmod 600 it", path,
		    (unsigned)(st.st_mode & 07777));
	*ret_path = path;
	path = NULL;
	return 0;
}

/* Notes the region of a validated ARN given at loc (for the cross check of
 * config.c). */
static void config_note_arn_region(struct config_parser *p, const struct config_loc *loc, const char *label,
				   const char *key, const char *arn)
{
	struct config_arn_seen *seen;
	const char *r;
	size_t n = arn_region(arn, &r);

	if (!r || n >= sizeof(p->arn_first.region))
		return; /* the ARN was validated: cannot happen */
	if (!p->arn_first.set)
		seen = &p->arn_first;
	else if (!p->arn_other.set &&
		 (strlen(p->arn_first.region) != n || strncmp(p->arn_first.region, r, n) != 0))
		seen = &p->arn_other;
	else
		return;
	seen->set = true;
	memcpy(seen->region, r, n);
	seen->region[n] = 0;
	seen->loc = *loc;
	snprintf(seen->label, sizeof(seen->label), "%s", label ? label : "");
	seen->key = key;
}

static int arn_append(struct config_parser *p, struct key_ctx *x, const char *arn)
{
	struct config *c = p->c;
	char **l;

	if (c->n_arns >= CONFIG_MAX_ARNS) {
		if (!p->arn_cap_reported)
			key_error(x, "more than %d ARNs", CONFIG_MAX_ARNS);
		p->arn_cap_reported = true;
		return -E2BIG;
	}
	/* Grow geometrically: arn_file may add a million. */
	if ((c->n_arns & (c->n_arns - 1)) == 0) {
		l = realloc(c->arns, (c->n_arns ? c->n_arns * 2 : 16) * sizeof(char *));
		if (!l) {
			p->oom = true;
			return -ENOMEM;
		}
		c->arns = l;
	}
	c->arns[c->n_arns] = strdup(arn);
	if (!c->arns[c->n_arns]) {
		p->oom = true;
		return -ENOMEM;
	}
	c->n_arns++;
	return 0;
}

static void read_arn_file(struct key_ctx *x, const char *value)
{
	_cleanup_free_ char *path = NULL, *line = NULL;
	const char *ipath = NULL;
	size_t cap = 0, bad = 0;
	unsigned lineno = 0;
	ssize_t n;
	FILE *f;

	if (check_file(x, value, false, &path) < 0)
		return;
	f = fopen(path, "re");
	if (!f) {
		key_error(x, "cannot open %s: %s", path, strerror(errno));
		return;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		struct config_loc at = {path, ++lineno};
		char *s;

		if ((size_t)n > ARN_LINE_MAX || strlen(line) != (size_t)n) {
			s = NULL;
		} else {
			s = strstrip(line);
			if (*s == 0 || *s == '#')
				continue;
		}
		if (!s || resource_kind_from_arn(s, NULL) == KIND_INVALID) {
			char why[256];
			resource_kind_arn_problem(s, why, sizeof(why));
			if (++bad <= ARN_FILE_MAX_ERRORS)
				config_report(x->p, false, &at, x->label, key_name(x->k),
					      "not an audience-generation-job ARN (file named at %s:%u) nor "
					      "one of another kind: %s",
					      x->loc.file, x->loc.line, s ? why : "line too long");
			continue;
		}
		if (resource_kind_info(resource_kind_from_arn(s, NULL))->list_only) {
			if (++bad <= ARN_FILE_MAX_ERRORS)
				config_report(
				    x->p, false, &at, x->label, key_name(x->k),
				    "the %s kind has no Get; watch it through [discover] (file named at "
				    "%s:%u)",
				    resource_kind_to_string(resource_kind_from_arn(s, NULL)), x->loc.file,
				    x->loc.line);
			continue;
		}
		if (!x->p->arn_other.set) {
			/* Interned once: the location may outlive path. */
			if (!ipath && !(ipath = config_intern_file(x->p, path))) {
				x->p->oom = true;
				break;
			}
			at.file = ipath;
			config_note_arn_region(x->p, &at, x->label, key_name(x->k), s);
		}
		if (arn_append(x->p, x, s) < 0)
			break;
	}
	if (ferror(f))
		key_error(x, "error reading %s", path);
	if (bad > ARN_FILE_MAX_ERRORS)
		key_error(x, "%s: %zu more invalid lines not shown", path, bad - ARN_FILE_MAX_ERRORS);
	fclose(f);
}

/* The next word of a list separated by spaces, tabs or commas, NUL-terminated
 * in place; NULL at the end.  *cursor moves past it. */
static char *next_word(char **cursor)
{
	char *t = *cursor + strspn(*cursor, " \t,");
	size_t n = strcspn(t, " \t,");

	if (!*t)
		return NULL;
	*cursor = t + n + (t[n] != 0);
	t[n] = 0;
	return t;
}

/* The `on` filter of a webhook or an eventbridge section. */
static void set_on(struct key_ctx *x, bool *ret_all, unsigned *ret_types, unsigned *ret_statuses,
		   const char *value)
{
	_cleanup_free_ char *copy = strdup(value);
	unsigned types = 0, statuses = 0;
	bool all = false, ok = true, any = false;
	char *cursor = copy, *t;

	if (!copy) {
		x->p->oom = true;
		return;
	}
	while ((t = next_word(&cursor))) {
		enum event_type et;
		enum job_status st;
		char q[80];

		et = event_type_from_string(t);
		st = job_status_from_string(t);
		any = true;
		if (strcmp(t, "all") == 0)
			all = true;
		else if (et >= 0 && et < _EVENT_TYPE_MAX)
			types |= 1u << et;
		else if (st >= 0 && st < _JOB_STATUS_MAX)
			statuses |= 1u << st;
		else {
			config_quote(t, q, sizeof(q));
			key_error(x,
				  "unknown event type or status %s (event types: job.discovered, "
				  "job.status_changed, job.stuck, job.gone, job.not_found; statuses like "
				  "CREATE_FAILED; or all)",
				  q);
			ok = false;
		}
	}
	if (!any) {
		key_error(x, "empty list");
		return;
	}
	if (!ok)
		return;
	*ret_all = all;
	*ret_types = types;
	*ret_statuses = statuses;
}

static bool check_region(const char *v)
{
	size_t n = strlen(v);
	return n >= 1 && n <= 32 && v[0] != '-' && v[n - 1] != '-' && chars_in(v, "-");
}

static bool check_profile(const char *v)
{
	size_t n = strlen(v);
	if (n < 1 || n > 128)
		return false;
	for (; *v; v++)
		if (!((*v >= 'A' && *v <= 'Z') || (*v >= 'a' && *v <= 'z') || (*v >= '0' && *v <= '9') ||
		      strchr("-_.+@/", *v)))
			return false;
	return true;
}

/* Parses value into the field at base + k->offset.  Failing values leave the
 * field as it was (the default or an earlier file's value). */
/* One parser per key type, as systemd's conf-parser (CONFIG_PARSER_PROTOTYPE):
 * field is where the value goes (base + the key's offset), q the value
 * quoted for messages.  A parser reports its error with FAIL and leaves the
 * field as it was. */
#define KEY_PARSER(name)                                                                                    \
	static void name(struct key_ctx *x, void *base, void *field, const char *value, const char *q)

typedef void key_parser_fn(struct key_ctx *x, void *base, void *field, const char *value, const char *q);

/* Strings taken as they are once a check accepts them. */
static const struct {
	bool (*valid)(const char *v);
	const char *what, *hint; /* the error: "WHAT \"value\"HINT" */
} checked_strings[] = {
    [KT_REGION] = {check_region, "invalid region", " (like us-east-1)"},
    [KT_PROFILE] = {check_profile, "invalid profile name", ""},
    [KT_UUID] = {uuid_is_valid, "not a UUID:", ""},
};

KEY_PARSER(parse_checked_string)
{
	enum key_type t = x->k->type;

	if (!checked_strings[t].valid(value))
		FAIL("%s %s%s", checked_strings[t].what, q, checked_strings[t].hint);
	set_string(x, field, value);
}

/* One URL; never echoed (Slack-style URLs carry a token).  Plain http only
 * to loopback: signatures, session tokens and webhook secrets would go in
 * clear.  n_urls > 1 says "not the first" in the message. */
static int check_url(struct key_ctx *x, const char *url, unsigned n_urls)
{
	const char *reason = NULL;
	struct config_url u;
	bool plain_remote;
	int r;

	r = config_url_parse(url, &u, &reason);
	if (r == -ENOMEM)
		x->p->oom = true;
	if (r < 0) {
		key_error(x, "invalid URL%s: %s", n_urls > 1 ? " (not the first)" : "",
			  reason ? reason : "out of memory");
		return r;
	}
	plain_remote = !u.https && !config_host_is_loopback(u.host);
	config_url_done(&u);
	if (plain_remote) {
		key_error(x, "plain http is only allowed to a loopback host (127.0.0.0/8, ::1, localhost); "
			     "use https");
		return -EINVAL;
	}
	return 0;
}

KEY_PARSER(parse_endpoint)
{
	if (check_url(x, value, 1) < 0)
		return;
	if (set_string(x, field, value) >= 0)
		x->p->endpoint_loc = x->loc;
}

/* Several URLs separated by spaces (an Alertmanager HA set; check_cross()
 * allows more than one for that format only). */
KEY_PARSER(parse_webhook_url)
{
	unsigned n_urls = 0;

	for (const char *v = value; *v;) {
		_cleanup_free_ char *one = NULL;
		size_t len;

		v += strspn(v, " \t");
		len = strcspn(v, " \t");
		if (len == 0)
			break;
		one = strndup(v, len);
		v += len;
		if (!one) {
			x->p->oom = true;
			return;
		}
		if (check_url(x, one, ++n_urls) < 0)
			return;
	}
	if (n_urls > CONFIG_WEBHOOK_MAX_URLS)
		FAIL("more than %d URLs", CONFIG_WEBHOOK_MAX_URLS);
	set_string(x, field, value);
}

KEY_PARSER(parse_file)
{
	char *s = NULL;

	if (check_file(x, value, x->k->type == KT_SECRET_FILE, &s) < 0)
		return;
	free(*(char **)field);
	*(char **)field = s;
}

KEY_PARSER(parse_path)
{
	set_string(x, field, value);
}

KEY_PARSER(parse_bool)
{
	int r = parse_boolean(value);

	if (r < 0)
		FAIL("invalid boolean %s (yes/no, true/false, on/off, 1/0)", q);
	*(bool *)field = r;
}

KEY_PARSER(parse_rps)
{
	const struct key_def *k = x->k;
	char *end;
	double d;

	errno = 0;
	d = strtod(value, &end);
	if (errno || end == value || *end || !isfinite(d))
		FAIL("invalid number %s", q);
	if (d <= 0 || d > (double)k->max)
		FAIL("must be greater than 0 and at most %llu", (unsigned long long)k->max);
	*(double *)field = d;
}

KEY_PARSER(parse_integer)
{
	const struct key_def *k = x->k;
	int64_t i;

	if (parse_int64(value, INT64_MIN, INT64_MAX, &i) < 0)
		FAIL("invalid number %s", q);
	if (i < (int64_t)k->min || i > (int64_t)k->max)
		FAIL("must be between %llu and %llu", (unsigned long long)k->min,
		     (unsigned long long)k->max);
	if (k->type == KT_UNSIGNED)
		*(unsigned *)field = (unsigned)i;
	else
		*(uint64_t *)field = (uint64_t)i;
}

KEY_PARSER(parse_duration)
{
	const struct key_def *k = x->k;
	uint64_t ms;

	if (parse_duration_ms(value, &ms) < 0)
		FAIL("invalid duration %s (like 500ms, 30s, 5m, 6h, 1d)", q);
	if (ms == 0 && k->min > 0)
		FAIL("must be greater than 0");
	if (k->min > 1 && ms < k->min)
		FAIL("must be at least %llus", (unsigned long long)(k->min / 1000));
	if (ms > k->max)
		FAIL("must be at most 366d");
	*(uint64_t *)field = ms;
}

KEY_PARSER(parse_percent_key)
{
	double d;

	if (parse_percent(value, &d) < 0 || d * 100 > (double)x->k->max)
		FAIL("invalid percentage %s (0%% to %llu%%)", q, (unsigned long long)x->k->max);
	*(double *)field = d;
}

KEY_PARSER(parse_arn)
{
	if (resource_kind_from_arn(value, NULL) == KIND_INVALID) {
		char why[256];
		resource_kind_arn_problem(value, why, sizeof(why));
		FAIL("not an audience-generation-job ARN nor one of another kind: %s: %s", q, why);
	}
	if (resource_kind_info(resource_kind_from_arn(value, NULL))->list_only)
		FAIL("%s: the %s kind has no Get; watch it through [discover] kinds = %s", q,
		     resource_kind_to_string(resource_kind_from_arn(value, NULL)),
		     resource_kind_to_string(resource_kind_from_arn(value, NULL)));
	config_note_arn_region(x->p, &x->loc, x->label, key_name(x->k), value);
	arn_append(x->p, x, value);
}

KEY_PARSER(parse_arn_file)
{
	read_arn_file(x, value);
}

KEY_PARSER(parse_model_arn)
{
	if (!arn_is_configured_audience_model(value))
		FAIL("not a configured-audience-model ARN: %s", q);
	config_note_arn_region(x->p, &x->loc, x->label, key_name(x->k), value);
	set_string(x, field, value);
}

KEY_PARSER(parse_format)
{
	enum payload_format f = payload_format_from_string(value);

	if (f < 0)
		FAIL("invalid format %s (json, slack, alertmanager or alertmanager-webhook)", q);
	*(enum payload_format *)field = f;
}

/* "trained-model, ml-input-channel": resource kinds (kinds.h), by the type
 * their ARNs name, separated by spaces or commas. */
KEY_PARSER(parse_kinds)
{
	_cleanup_free_ char *copy = strdup(value);
	char *cursor = copy, *t;
	unsigned kinds = 0;

	if (!copy) {
		x->p->oom = true;
		return;
	}
	while ((t = next_word(&cursor))) {
		enum resource_kind k = resource_kind_from_string(t);

		if (k == KIND_INVALID) {
			char kq[96];
			config_quote(t, kq, sizeof(kq));
			FAIL("unknown resource kind %s (kinds: %s)", kq, resource_kind_names());
		}
		kinds |= 1u << k;
	}
	if (!kinds)
		FAIL("no resource kind given");
	*(unsigned *)field = kinds;
}

KEY_PARSER(parse_on)
{
	if (x->k->section == CONFIG_SECTION_EVENTBRIDGE) {
		struct config_eventbridge *b = base;
		set_on(x, &b->on_all, &b->on_types, &b->on_statuses, value);
	} else {
		struct config_webhook *w = base;
		set_on(x, &w->on_all, &w->on_types, &w->on_statuses, value);
	}
}

KEY_PARSER(parse_listen)
{
	enum config_listen_kind kind;
	const char *reason = NULL;
	unsigned port;
	char *host = NULL;
	int r;

	if (strcmp(value, "off") == 0) {
		free(*(char **)field);
		*(char **)field = NULL;
		return;
	}
	r = config_listen_parse(value, &kind, &host, &port, &reason);
	if (r == -ENOMEM)
		x->p->oom = true;
	if (r < 0)
		FAIL("invalid address %s: %s", q, reason ? reason : "out of memory");
	free(host);
	if (set_string(x, field, value) >= 0)
		x->p->listen_loc = x->loc;
}

/* An [eventbridge] bus: a name or an ARN (config_event_bus_check()). */
KEY_PARSER(parse_event_bus)
{
	const char *reason = NULL, *region;
	size_t region_len;

	if (config_event_bus_check(value, &reason, &region, &region_len) < 0)
		FAIL("invalid event bus %s: %s", q, reason);
	if (set_string(x, field, value) >= 0 && !x->is_default)
		x->p->eventbridge_locs[x->p->idx].bus = x->loc;
}

/* An [eventbridge] source: not the aws. prefix (config_event_source_check()). */
KEY_PARSER(parse_event_source)
{
	const char *reason = NULL;

	if (config_event_source_check(value, &reason) < 0)
		FAIL("invalid source %s: %s", q, reason);
	set_string(x, field, value);
}

static key_parser_fn *const key_parsers[] = {
    [KT_REGION] = parse_checked_string,
    [KT_PROFILE] = parse_checked_string,
    [KT_ENDPOINT] = parse_endpoint,
    [KT_FILE] = parse_file,
    [KT_SECRET_FILE] = parse_file,
    [KT_BOOL] = parse_bool,
    [KT_RPS] = parse_rps,
    [KT_UNSIGNED] = parse_integer,
    [KT_U64] = parse_integer,
    [KT_DURATION] = parse_duration,
    [KT_PERCENT] = parse_percent_key,
    [KT_ARN] = parse_arn,
    [KT_ARN_FILE] = parse_arn_file,
    [KT_UUID] = parse_checked_string,
    [KT_KINDS] = parse_kinds,
    [KT_MODEL_ARN] = parse_model_arn,
    [KT_PATH] = parse_path,
    [KT_WEBHOOK_URL] = parse_webhook_url,
    [KT_FORMAT] = parse_format,
    [KT_ON] = parse_on,
    [KT_LISTEN] = parse_listen,
    [KT_EVENT_BUS] = parse_event_bus,
    [KT_EVENT_SOURCE] = parse_event_source,
};

_Static_assert(ELEMENTSOF(key_parsers) == _KT_MAX, "a parser for every key type");

static void set_value(struct key_ctx *x, void *base, const char *value)
{
	char q[96];

	config_quote(value, q, sizeof(q));
	key_parsers[x->k->type](x, base, (char *)base + x->k->offset, value, q);
}

static void *section_base(struct config_parser *p, enum config_section s)
{
	if (s == CONFIG_SECTION_DISCOVER)
		return &p->c->discover[p->idx];
	if (s == CONFIG_SECTION_WEBHOOK)
		return &p->c->webhooks[p->idx];
	if (s == CONFIG_SECTION_EVENTBRIDGE)
		return &p->c->eventbridges[p->idx];
	return p->c;
}

void config_apply_defaults(struct config_parser *p, enum config_section kind, void *base)
{
	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		const struct key_def *k = &keys[i];
		bool named = k->section == CONFIG_SECTION_DISCOVER || k->section == CONFIG_SECTION_WEBHOOK ||
			     k->section == CONFIG_SECTION_EVENTBRIDGE;
		struct key_ctx x = {.p = p, .k = k, .is_default = true};

		if (!k->def || (kind < 0 ? named : k->section != kind))
			continue;
		set_value(&x, base, k->def);
	}
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (lb + 1) * sizeof(size_t));
	}
	return prev[lb];
}

static void unknown_key(struct config_parser *p, const struct config_loc *loc, const char *name)
{
	const struct key_def *near = NULL, *elsewhere = NULL;

	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		if (keys[i].section == p->kind) {
			if (!near && edit_distance(name, key_name(&keys[i])) <= 2)
				near = &keys[i];
		} else if (!elsewhere && strcmp(name, key_name(&keys[i])) == 0) {
			elsewhere = &keys[i];
		}
	}
	if (near)
		config_report(p, false, loc, p->label, name, "unknown key (did you mean %s?)",
			      key_name(near));
	else if (elsewhere)
		config_report(p, false, loc, p->label, name, "unknown key here (it belongs in [%s])",
			      config_section_name(elsewhere->section));
	else
		config_report(p, false, loc, p->label, name, "unknown key");
}

void config_set_key(struct config_parser *p, const char *name, const char *value)
{
	struct config_loc here = {p->file, p->line};
	const struct key_def *k = NULL;
	struct key_ctx x;
	void *base;

	for (size_t i = 0; i < ELEMENTSOF(keys) && !k; i++)
		if (keys[i].section == p->kind && strcmp(key_name(&keys[i]), name) == 0)
			k = &keys[i];
	if (!k) {
		unknown_key(p, &here, name);
		return;
	}

	/* get and list never use what [webhook] and [http] name: their
	 * files are not opened (a secret root alone can read must not stop
	 * an operator's `jobwatchd get`). */
	if (p->aws_only && (k->type == KT_SECRET_FILE || k->type == KT_FILE) &&
	    (k->section == CONFIG_SECTION_WEBHOOK || k->section == CONFIG_SECTION_HTTP))
		return;

	/* One value per key and section in a file: a second one would
	 * silently win.  Drop-ins may override (that is what they are for), and
	 * an empty assignment resets, so only a repeat within one file after a
	 * non-empty value is an error. */
	if (k->type != KT_ARN && k->type != KT_ARN_FILE) {
		size_t idx = k->section == CONFIG_SECTION_DISCOVER || k->section == CONFIG_SECTION_WEBHOOK ||
				     k->section == CONFIG_SECTION_EVENTBRIDGE
				 ? p->idx
				 : 0;
		struct config_seen_key *seen = NULL;
		for (size_t i = 0; i < p->n_seen_keys && !seen; i++)
			if (p->seen_keys[i].kind == p->kind && p->seen_keys[i].idx == idx &&
			    p->seen_keys[i].key == k)
				seen = &p->seen_keys[i];
		if (seen && *value && seen->loc.line) {
			config_report(p, false, &here, p->label, name,
				      "set twice in this file (first at line %u): only one value counts",
				      seen->loc.line);
			return;
		}
		if (!seen) {
			if ((p->n_seen_keys & 63) == 0) {
				struct config_seen_key *l =
				    realloc(p->seen_keys, (p->n_seen_keys + 64) * sizeof(*l));
				if (!l) {
					p->oom = true;
					return;
				}
				p->seen_keys = l;
			}
			seen = &p->seen_keys[p->n_seen_keys++];
			*seen = (struct config_seen_key){.kind = p->kind, .idx = idx, .key = k};
		}
		seen->loc = *value ? here : (struct config_loc){0};
	}

	x = (struct key_ctx){.p = p, .k = k, .loc = here, .label = p->label};
	base = section_base(p, k->section);
	if (*value) {
		if (k->type == KT_WEBHOOK_URL)
			p->webhook_locs[p->idx].key_seen = true;
		else if (k->type == KT_UUID || k->type == KT_MODEL_ARN)
			p->discover_locs[p->idx].key_seen = true;
		set_value(&x, base, value);
		if (strcmp(k->full, "aws.fips") == 0)
			p->fips_loc = here;
		return;
	}

	/* systemd style: an empty assignment restores the default, and for a
	 * repeatable key forgets everything listed before it. */
	if (k->type == KT_ARN || k->type == KT_ARN_FILE) {
		for (size_t i = 0; i < p->c->n_arns; i++)
			free(p->c->arns[i]);
		free(p->c->arns);
		p->c->arns = NULL;
		p->c->n_arns = 0;
	} else if (k->def) {
		x.is_default = true;
		set_value(&x, base, k->def);
	} else {
		char **field = (char **)((char *)base + k->offset);
		free(*field);
		*field = NULL;
	}
}
