/* Loading the configuration: files and drop-ins, the line parser, sections,
 * cross-key checks.  The keys themselves live in config_keys.c, the
 * messages in config_report.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_internal.h"
#include "kinds.h"
#include "util.h"

#define CONFIG_MAX_FILE_BYTES (16u << 20)
#define CONFIG_MAX_DROPINS    1000
#define CONFIG_MAX_SECTIONS   1000
#define CONFIG_MAX_LINE	      (64u * 1024u)

/* ---- Sections ---------------------------------------------------------- */

static bool section_name_is_valid(const char *s, size_t n)
{
	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '-' || ch == '_' || ch == '.'))
			return false;
	}
	return true;
}

static int named_section_find_or_add(struct config_parser *p, enum config_section kind, const char *name,
				     struct config_loc *here)
{
	struct config *c = p->c;
	bool webhook = kind == CONFIG_SECTION_WEBHOOK;
	size_t n = webhook ? c->n_webhooks : c->n_discover;
	struct config_named *locs = webhook ? p->webhook_locs : p->discover_locs;
	char label[96];

	for (size_t i = 0; i < n; i++) {
		const char *other = webhook ? c->webhooks[i].name : c->discover[i].name;
		if (strcmp(other, name) != 0)
			continue;
		/* A drop-in may extend or override a section of an earlier
		 * file; the same name twice in one file is a mistake. */
		if (locs[i].header.file == here->file) {
			snprintf(label, sizeof(label), "%s \"%s\"", config_section_name(kind), name);
			config_report(p, false, here, label, NULL,
				      "duplicate section (first defined at line %u)", locs[i].header.line);
		}
		return (int)i;
	}
	if (n >= CONFIG_MAX_SECTIONS) {
		config_report(p, false, here, config_section_name(kind), NULL,
			      "more than %d sections of this kind", CONFIG_MAX_SECTIONS);
		return -E2BIG;
	}
	if (webhook) {
		struct config_webhook *w = realloc(c->webhooks, (n + 1) * sizeof(*w));
		struct config_named *l = realloc(p->webhook_locs, (n + 1) * sizeof(*l));
		if (w)
			c->webhooks = w;
		if (l)
			p->webhook_locs = l;
		if (!w || !l)
			return -ENOMEM;
		c->webhooks[n] = (struct config_webhook){.name = strdup(name)};
		c->n_webhooks++;
		p->webhook_locs[n] = (struct config_named){.header = *here};
		if (!c->webhooks[n].name)
			return -ENOMEM;
	} else {
		struct config_discover *d = realloc(c->discover, (n + 1) * sizeof(*d));
		struct config_named *l = realloc(p->discover_locs, (n + 1) * sizeof(*l));
		if (d)
			c->discover = d;
		if (l)
			p->discover_locs = l;
		if (!d || !l)
			return -ENOMEM;
		c->discover[n] = (struct config_discover){.name = strdup(name)};
		c->n_discover++;
		p->discover_locs[n] = (struct config_named){.header = *here};
		if (!c->discover[n].name)
			return -ENOMEM;
	}
	config_apply_defaults(p, kind, webhook ? (void *)&c->webhooks[n] : (void *)&c->discover[n]);
	return (int)n;
}

/* Called from the line parser for "[...]" with the text between the
 * brackets. */
static void section_begin(struct config_parser *p, const char *inner)
{
	struct config_loc here = {p->file, p->line};
	const char *word = inner, *sp;
	size_t wlen;
	char name[64];
	int kind = CONFIG_SECTION_INVALID;

	p->in_section = true;
	p->kind = CONFIG_SECTION_INVALID;
	p->label[0] = 0;

	sp = word + strcspn(word, " \t\"");
	wlen = (size_t)(sp - word);
	for (int i = 0; i < _CONFIG_SECTION_MAX; i++)
		if (strlen(config_section_name(i)) == wlen &&
		    strncmp(word, config_section_name(i), wlen) == 0)
			kind = i;
	sp += strspn(sp, " \t");
	if (kind < 0) {
		char q[48];
		config_quote(inner, q, sizeof(q));
		/* Drop the quotes: the label is printed in brackets. */
		q[strlen(q) - 1] = 0;
		config_report(p, false, &here, q + 1, NULL,
			      "unknown section (known: aws, poll, jobs, discover \"NAME\", state, journal, "
			      "webhook \"NAME\", eventbridge \"NAME\", http)");
		return;
	}
	if (kind == CONFIG_SECTION_DISCOVER || kind == CONFIG_SECTION_WEBHOOK ||
	    kind == CONFIG_SECTION_EVENTBRIDGE) {
		const char *end;
		size_t n;
		int idx;

		if (*sp != '"' || !(end = strchr(sp + 1, '"')) || end[1] != 0) {
			config_report(p, false, &here, config_section_name(kind), NULL,
				      "needs a quoted name: [%s \"NAME\"]", config_section_name(kind));
			return;
		}
		n = (size_t)(end - sp - 1);
		if (!section_name_is_valid(sp + 1, n)) {
			config_report(p, false, &here, config_section_name(kind), NULL,
				      "invalid name (1-32 characters of A-Z a-z 0-9 - _ .)");
			return;
		}
		memcpy(name, sp + 1, n);
		name[n] = 0;
		idx = kind == CONFIG_SECTION_EVENTBRIDGE ? config_eventbridge_add(p, name, &here)
							 : named_section_find_or_add(p, kind, name, &here);
		if (idx < 0) {
			if (idx == -ENOMEM)
				p->oom = true;
			return;
		}
		p->idx = (size_t)idx;
		snprintf(p->label, sizeof(p->label), "%s \"%s\"", config_section_name(kind), name);
	} else {
		if (*sp) {
			config_report(p, false, &here, config_section_name(kind), NULL,
				      "this section takes no name");
			return;
		}
		snprintf(p->label, sizeof(p->label), "%s", config_section_name(kind));
		/* Twice in one file is legal (the keys merge) but rarely meant. */
		if (p->section_seen[kind].line)
			config_report(p, true, &here, config_section_name(kind), NULL,
				      "section repeated in this file (first at line %u); its keys merge",
				      p->section_seen[kind].line);
		else
			p->section_seen[kind] = here;
	}
	p->kind = kind;
}

/* ---- Reading one file -------------------------------------------------- */

static int config_handler(void *user, const char *section, const char *name, const char *value);

/* Cuts an inline comment off a value: ';' after whitespace starts one, as
 * inih (which this parser replaced: its Debian build cuts lines at 200
 * bytes) and git config have it.  Returns true
 * when the value holds " #": a comment attempt that would otherwise end up
 * in the value. */
static bool cut_inline_comment(char *value)
{
	for (char *c = value; *c; c++)
		if (*c == ';' && c > value && (c[-1] == ' ' || c[-1] == '\t')) {
			*c = 0;
			break;
		}
	strstrip(value);
	for (const char *c = value; (c = strchr(c, '#')); c++)
		if (c > value && (c[-1] == ' ' || c[-1] == '\t'))
			return true;
	return false;
}

/* Reads the file line by line: every line is counted here, leading
 * whitespace is dropped (no accidental multi-line continuations), a line
 * that is neither a section, a comment nor KEY = VALUE is an error of its
 * own, and lines may be long (a Teams or Logic Apps webhook URL easily passes
 * 200 characters) up to CONFIG_MAX_LINE. */
static void parse_lines(struct config_parser *p)
{
	for (;;) {
		ssize_t n = getline(&p->linebuf, &p->linecap, p->f);
		struct config_loc here;
		char *s, *sep, *name, *value;
		size_t len;

		if (n < 0) {
			if (ferror(p->f)) {
				struct config_loc at = {p->file, 0};
				config_report(p, false, &at, NULL, NULL, "read error: %s", strerror(errno));
			}
			return;
		}
		p->line++;
		p->bytes += (size_t)n;
		here = (struct config_loc){p->file, p->line};
		if (p->bytes > CONFIG_MAX_FILE_BYTES) {
			config_report(p, false, &here, NULL, NULL, "file is larger than %u bytes",
				      CONFIG_MAX_FILE_BYTES);
			return;
		}
		if (strlen(p->linebuf) != (size_t)n) {
			config_report(p, false, &here, NULL, NULL, "line contains a NUL byte");
			continue;
		}
		s = strstrip(p->linebuf);
		len = strlen(s);
		if (len == 0 || s[0] == '#' || s[0] == ';')
			continue;
		if (len > CONFIG_MAX_LINE) {
			config_report(p, false, &here, NULL, NULL, "line is longer than %u characters",
				      CONFIG_MAX_LINE);
			continue;
		}
		if (s[0] == '[') {
			if (s[len - 1] != ']' || memchr(s + 1, ']', len - 2) || memchr(s, ';', len)) {
				config_report(
				    p, false, &here, NULL, NULL,
				    "syntax error: a section header is [NAME] or [NAME \"SUBNAME\"] alone "
				    "on its line");
				p->in_section = true;
				p->kind = CONFIG_SECTION_INVALID;
				continue;
			}
			s[len - 1] = 0;
			section_begin(p, strstrip(s + 1));
			continue;
		}
		sep = strpbrk(s, "=:");
		if (!sep) {
			config_report(p, false, &here, NULL, NULL, "syntax error: expected KEY = VALUE");
			continue;
		}
		*sep = 0;
		name = strstrip(s);
		value = sep + 1;
		if (cut_inline_comment(value)) {
			config_report(p, false, &here, p->in_section ? p->label : NULL, name,
				      "'#' starts a comment only at the start of a line; after a value, "
				      "use ';'");
			continue;
		}
		value = strstrip(value);
		config_handler(p, NULL, name, value);
	}
}

static int config_handler(void *user, const char *section, const char *name, const char *value)
{
	struct config_parser *p = user;
	struct config_loc here = {p->file, p->line};

	if (!p->in_section) {
		config_report(p, false, &here, NULL, name, "key outside of any section");
		return 1;
	}
	if (p->kind == CONFIG_SECTION_INVALID)
		return 1; /* the section header was reported already */
	config_set_key(p, name, value ? value : "");
	return 1;
}

static void parse_one_file(struct config_parser *p, const char *path)
{
	struct config_loc at;
	const char *slash;
	int fd;
	struct stat st;

	p->file = config_intern_file(p, path);
	if (!p->file) {
		p->oom = true;
		return;
	}
	at = (struct config_loc){p->file, 0};
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int e = errno;
		/* The shipped units run as a dynamic user: a configuration only
		 * root can read is the usual cause, so say what to do. */
		config_report(p, false, &at, NULL, NULL, "cannot open: %s%s", strerror(e),
			      e == EACCES
				  ? " (the service runs as a dynamic user: the configuration must be "
				    "readable by others, chmod 644; secrets belong in credential files)"
				  : "");
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		config_report(p, false, &at, NULL, NULL, "not a regular file");
		close(fd);
		return;
	}
	/* Whoever can write the configuration can point the daemon at their own
	 * endpoint or webhook: say so, but the file itself holds no secrets. */
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		config_report(p, true, &at, NULL, NULL, "file is writable by group or others (mode %04o)",
			      (unsigned)(st.st_mode & 07777));
	p->f = fdopen(fd, "re");
	if (!p->f) {
		close(fd);
		p->oom = true;
		return;
	}
	free(p->dir);
	slash = strrchr(path, '/');
	p->dir = slash ? strndup(path, (size_t)(slash - path + (slash == path))) : strdup(".");
	if (!p->dir)
		p->oom = true;
	p->line = 0;
	p->bytes = 0;
	p->in_section = false;
	p->kind = CONFIG_SECTION_INVALID;
	p->n_seen_keys = 0;
	memset(p->section_seen, 0, sizeof(p->section_seen));
	parse_lines(p);
	fclose(p->f);
	p->f = NULL;
}

static int strcmp_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* systemd-style drop-ins: FILE.d/NAME.conf in lexical order.  A missing
 * directory is normal. */
static void parse_dropins(struct config_parser *p, const char *path)
{
	_cleanup_free_ char *dir = NULL;
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *d;

	if (asprintf(&dir, "%s.d", path) < 0) {
		dir = NULL;
		p->oom = true;
		return;
	}
	d = opendir(dir);
	if (!d) {
		if (errno != ENOENT) {
			struct config_loc at = {config_intern_file(p, dir), 0};
			config_report(p, false, &at, NULL, NULL, "cannot open drop-in directory: %s",
				      strerror(errno));
		}
		return;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char **l;
		if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		if (n >= CONFIG_MAX_DROPINS) {
			struct config_loc at = {config_intern_file(p, dir), 0};
			config_report(p, false, &at, NULL, NULL, "more than %d drop-ins",
				      CONFIG_MAX_DROPINS);
			break;
		}
		l = realloc(names, (n + 1) * sizeof(char *));
		if (!l || asprintf(&l[n], "%s/%s", dir, de->d_name) < 0) {
			names = l ? l : names;
			p->oom = true;
			break;
		}
		names = l;
		n++;
	}
	closedir(d);
	/* qsort(NULL, 0, ...) is undefined behaviour (found by fuzz_config). */
	if (n > 1)
		qsort(names, n, sizeof(char *), strcmp_ptr);
	for (size_t i = 0; i < n; i++) {
		if (!p->oom)
			parse_one_file(p, names[i]);
		free(names[i]);
	}
	free(names);
}

/* ---- Whole-config checks ----------------------------------------------- */

/* Off loopback the bearer tokens would cross the network in clear: such a
 * listener needs TLS (issue #20).  cert_file and key_file go together. */
static void check_http_tls(struct config_parser *p, const struct config *c)
{
	enum config_listen_kind kind;
	const char *reason = NULL;
	char *host = NULL;
	unsigned port;

	if ((c->http.cert_file != NULL) != (c->http.key_file != NULL)) {
		config_report(p, false, &p->listen_loc, "http", c->http.cert_file ? "key_file" : "cert_file",
			      "required with %s (TLS needs both)",
			      c->http.cert_file ? "cert_file" : "key_file");
		return;
	}
	if (!c->http.listen || c->http.cert_file ||
	    config_listen_parse(c->http.listen, &kind, &host, &port, &reason) < 0)
		return;
	if (kind == CONFIG_LISTEN_TCP && !config_host_is_loopback(host))
		config_report(p, false, &p->listen_loc, "http", "listen",
			      "%s is not a loopback address: set cert_file and key_file (TLS), or listen "
			      "on 127.0.0.1 or a unix socket",
			      str_empty(host) || strcmp(host, "*") == 0 ? "every address" : host);
	free(host);
}

/* What a kind needs of a [discover] section (NULL: nothing, it is listed
 * account-wide), for the section's ids. */
static const char *discover_kind_needs(const struct config_discover *d, enum resource_kind k)
{
	const struct resource_kind_info *ki = resource_kind_info(k);

	if (k == KIND_AUDIENCE_GENERATION_JOB)
		return d->collaboration_id || d->configured_audience_model_arn
			   ? NULL
			   : "collaboration_id or configured_audience_model_arn";
	if (ki->list_per_parent && ki->list_by_collaboration)
		return d->collaboration_id ? NULL : "collaboration_id";
	if (ki->list_per_parent)
		return d->membership_id ? NULL : "membership_id";
	if (!ki->membership_scoped)
		return NULL;
	if (ki->collab_list_operation)
		return d->membership_id || d->collaboration_id ? NULL : "membership_id or collaboration_id";
	return d->membership_id ? NULL : "membership_id";
}

/* Which kinds a [discover] section lists: those `kinds` names, each of
 * which must have its identifier, or by default those its identifiers
 * allow (audience generation jobs with collaboration_id or
 * configured_audience_model_arn, trained models, inference jobs and ML
 * input channels with membership_id).  Audience models, export jobs and
 * trained model versions are listed only when named. */
static void check_discover_kinds(struct config_parser *p, struct config_discover *d,
				 const struct config_loc *at, bool key_seen)
{
	char label[64];

	snprintf(label, sizeof(label), "discover \"%s\"", d->name);
	if (!d->kinds) {
		if (d->collaboration_id || d->configured_audience_model_arn)
			d->kinds |= 1u << KIND_AUDIENCE_GENERATION_JOB;
		for (int k = 0; k < _KIND_MAX && d->membership_id; k++)
			if (resource_kind_info((enum resource_kind)k)->membership_scoped &&
			    !resource_kind_info((enum resource_kind)k)->parent_type)
				d->kinds |= 1u << k;
		if (!d->kinds && !key_seen)
			config_report(
			    p, false, at, label, "collaboration_id",
			    "missing: set collaboration_id and/or configured_audience_model_arn (or "
			    "membership_id, or kinds)");
		return;
	}
	for (int k = 0; k < _KIND_MAX; k++) {
		const char *needs = discover_kind_needs(d, (enum resource_kind)k);
		if ((d->kinds & (1u << k)) && needs)
			config_report(p, false, at, label, "kinds", "%s needs %s",
				      resource_kind_to_string((enum resource_kind)k), needs);
	}
}

static void check_cross(struct config_parser *p)
{
	struct config *c = p->c;
	char label[64];

	for (size_t i = 0; i < c->n_discover; i++)
		check_discover_kinds(p, &c->discover[i], &p->discover_locs[i].header,
				     p->discover_locs[i].key_seen);
	for (size_t i = 0; i < c->n_webhooks; i++) {
		const struct config_webhook *w = &c->webhooks[i];
		if (w->url && w->format != PAYLOAD_FORMAT_ALERTMANAGER && strpbrk(w->url, " \t")) {
			snprintf(label, sizeof(label), "webhook \"%s\"", w->name);
			config_report(p, false, &p->webhook_locs[i].header, label, "url",
				      "several URLs are only for format = alertmanager (an HA set)");
		}
		if (c->webhooks[i].url || p->webhook_locs[i].key_seen || p->aws_only)
			continue;
		snprintf(label, sizeof(label), "webhook \"%s\"", c->webhooks[i].name);
		config_report(p, false, &p->webhook_locs[i].header, label, "url", "missing");
	}
	/* FIPS endpoints are chosen by the client from the region; a custom
	 * endpoint would silently defeat the setting. */
	if (c->aws.fips && c->aws.endpoint)
		config_report(p, false, &p->fips_loc, "aws", "fips",
			      "cannot be combined with endpoint (set at %s:%u)", p->endpoint_loc.file,
			      p->endpoint_loc.line);
	if (p->aws_only)
		return; /* the listener's files were not read */
	if (c->http.listen && !str_startswith(c->http.listen, "unix:") && !c->http.token_file)
		config_report(
		    p, false, &p->listen_loc, "http", "token_file",
		    "required when listen is a TCP address (the control API needs a bearer token)");
	check_http_tls(p, c);
	config_eventbridge_check(p);
}

/* A job is polled at its region's endpoint, signed for that region: one
 * daemon watches one region.  Jobs of another region would fail every poll,
 * and jobs the state database knows would even look deleted. */
static void check_arn_regions(struct config_parser *p)
{
	struct config *c = p->c;
	const struct config_arn_seen *first = &p->arn_first, *bad = NULL;

	if (!first->set)
		return;
	if (c->aws.region && strcmp(first->region, c->aws.region) != 0)
		bad = first;
	else if (p->arn_other.set)
		bad = &p->arn_other;
	if (bad && c->aws.region)
		config_report(p, false, &bad->loc, bad->label, bad->key,
			      "the ARN is in region %s, but [aws] region is %s; one jobwatchd watches one "
			      "region (run one instance per region: jobwatchd@NAME.service)",
			      bad->region, c->aws.region);
	else if (bad)
		config_report(p, false, &bad->loc, bad->label, bad->key,
			      "the ARN is in region %s, but the one at %s:%u is in region %s; one jobwatchd "
			      "watches one region (run one instance per region: jobwatchd@NAME.service)",
			      bad->region, first->loc.file, first->loc.line, first->region);
	c->arns_region = strdup(first->region);
	if (!c->arns_region || asprintf(&c->arns_region_at, "%s:%u: [%s] %s", first->loc.file,
					first->loc.line, first->label, first->key) < 0) {
		c->arns_region_at = NULL;
		p->oom = true;
	}
}

int config_check_region(const struct config *c, const char *region, char *err, size_t errsz)
{
	if (!c->arns_region || !region || strcmp(c->arns_region, region) == 0)
		return 0;
	snprintf(err, errsz,
		 "%s: the ARN is in region %s, but this daemon runs in region %s; one jobwatchd watches one "
		 "region",
		 c->arns_region_at ? c->arns_region_at : c->path, c->arns_region, region);
	return -EINVAL;
}

static uint64_t arn_hash(const char *s)
{
	uint64_t h = 14695981039346656037ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Keeps the first occurrence of every ARN, in order; O(n) with an
 * open-addressing table because arn_file may list up to a million. */
static int dedup_arns(struct config *c)
{
	size_t cap = 16, out = 0;
	size_t *table;

	if (c->n_arns < 2)
		return 0;
	while (cap < c->n_arns * 2)
		cap *= 2;
	table = calloc(cap, sizeof(size_t)); /* stores index + 1; 0 = empty */
	if (!table)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_arns; i++) {
		size_t slot = (size_t)arn_hash(c->arns[i]) & (cap - 1);
		bool dup = false;
		while (table[slot]) {
			if (strcmp(c->arns[table[slot] - 1], c->arns[i]) == 0) {
				dup = true;
				break;
			}
			slot = (slot + 1) & (cap - 1);
		}
		if (dup) {
			free(c->arns[i]);
			continue;
		}
		c->arns[out] = c->arns[i];
		table[slot] = out + 1;
		out++;
	}
	c->n_arns = out;
	free(table);
	return 0;
}

static char *default_state_path(void)
{
	const char *e = getenv("STATE_DIRECTORY");
	char *r;

	if (str_empty(e))
		return strdup("./jobwatchd.db");
	/* systemd joins several StateDirectory= entries with ':'. */
	if (asprintf(&r, "%.*s/state.db", (int)strcspn(e, ":"), e) < 0)
		return NULL;
	return r;
}

/* ---- Public ------------------------------------------------------------ */

struct config *config_free(struct config *c)
{
	if (!c)
		return NULL;
	free(c->aws.region);
	free(c->aws.profile);
	free(c->aws.endpoint);
	free(c->aws.ca_file);
	for (size_t i = 0; i < c->n_arns; i++)
		free(c->arns[i]);
	free(c->arns);
	free(c->arns_region);
	free(c->arns_region_at);
	for (size_t i = 0; i < c->n_discover; i++) {
		free(c->discover[i].name);
		free(c->discover[i].collaboration_id);
		free(c->discover[i].configured_audience_model_arn);
		free(c->discover[i].membership_id);
	}
	free(c->discover);
	free(c->state_path);
	for (size_t i = 0; i < c->n_webhooks; i++) {
		free(c->webhooks[i].name);
		/* Slack-style URLs carry their token in the path. */
		secret_free(c->webhooks[i].url);
		free(c->webhooks[i].secret_file);
		free(c->webhooks[i].headers_file);
	}
	free(c->webhooks);
	config_eventbridge_free(c);
	free(c->http.listen);
	free(c->http.token_file);
	free(c->http.metrics_token_file);
	free(c->http.cert_file);
	free(c->http.key_file);
	free(c->path);
	free(c);
	return NULL;
}

static int load(const char *path, bool strict, bool aws_only, struct config **ret, struct config_diag *diag);

int config_load(const char *path, bool strict, struct config **ret, struct config_diag *diag)
{
	return load(path, strict, false, ret, diag);
}

int config_load_aws(const char *path, struct config **ret, struct config_diag *diag)
{
	return load(path, false, true, ret, diag);
}

static int load(const char *path, bool strict, bool aws_only, struct config **ret, struct config_diag *diag)
{
	struct config_parser p = {
	    .strict = strict, .aws_only = aws_only, .diag = diag, .kind = CONFIG_SECTION_INVALID};
	int r = 0;

	*ret = NULL;
	if (diag)
		*diag = (struct config_diag){0};
	p.c = calloc(1, sizeof(*p.c));
	if (!p.c)
		return -ENOMEM;
	p.c->path = strdup(path);
	if (!p.c->path)
		p.oom = true;
	config_apply_defaults(&p, CONFIG_SECTION_INVALID, p.c);

	if (!p.oom)
		parse_one_file(&p, path);
	if (!p.oom)
		parse_dropins(&p, path);
	if (!p.oom)
		check_cross(&p);
	if (!p.oom)
		check_arn_regions(&p);
	if (!p.oom && !p.c->state_path) {
		p.c->state_path = default_state_path();
		if (!p.c->state_path)
			p.oom = true;
	}
	if (!p.oom && dedup_arns(p.c) < 0)
		p.oom = true;
	config_report_suppressed(&p);

	if (p.oom)
		r = -ENOMEM;
	else if (p.n_errors > 0)
		r = -EINVAL;
	else
		*ret = p.c;
	if (r < 0)
		config_free(p.c);
	for (size_t i = 0; i < p.n_files; i++)
		free(p.files[i]);
	free(p.files);
	free(p.webhook_locs);
	free(p.eventbridge_locs);
	free(p.discover_locs);
	free(p.linebuf);
	free(p.seen_keys);
	free(p.dir);
	return r;
}
