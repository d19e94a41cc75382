/* [eventbridge "NAME"] sections: the section list, the event bus and source
 * checks, and the cross-key check of a bus ARN against [aws] region.  The
 * keys themselves are in config_keys.c's table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "util.h"

#define EVENT_BUS_NAME_MAX 256
#define EVENT_BUS_ARN_MAX  1600
#define EVENT_SOURCE_MAX   256

bool config_eventbridge_wants(const struct config_eventbridge *b, enum event_type t, enum job_status status)
{
	struct config_webhook as_hook;

	if (!b)
		return false;
	/* One definition of what `on` means, shared with the webhooks. */
	as_hook = (struct config_webhook){
	    .on_all = b->on_all, .on_types = b->on_types, .on_statuses = b->on_statuses};
	return config_webhook_wants(&as_hook, t, status);
}

static bool bus_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       strchr("/._-", ch);
}

static bool all_of(const char *s, size_t n, bool (*ok)(char))
{
	for (size_t i = 0; i < n; i++)
		if (!ok(s[i]))
			return false;
	return true;
}

static bool lower_digit_dash(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
}

static bool digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* arn:aws[-a-z]*:events:REGION:ACCOUNT(12 digits):event-bus/NAME, the
 * pattern of PutEventsRequestEntry.EventBusName. */
static int check_bus_arn(const char *v, const char **reason, const char **ret_region, size_t *ret_region_len)
{
	const char *f[6];
	size_t len[6], n = 0;
	const char *p = v;

	if (strlen(v) > EVENT_BUS_ARN_MAX) {
		*reason = "an event bus ARN is at most 1600 characters";
		return -EINVAL;
	}
	/* Five ':' separate six fields; the last (resource) may not hold one. */
	for (; n < 6; n++) {
		const char *colon = n < 5 ? strchr(p, ':') : NULL;
		f[n] = p;
		len[n] = colon ? (size_t)(colon - p) : strlen(p);
		if (n < 5 && !colon) {
			*reason = "an ARN has six ':'-separated parts "
				  "(arn:aws:events:REGION:ACCOUNT:event-bus/NAME)";
			return -EINVAL;
		}
		p = f[n] + len[n] + 1;
	}
	if (len[1] < 3 || strncmp(f[1], "aws", 3) != 0 || !all_of(f[1], len[1], lower_digit_dash)) {
		*reason = "not an AWS partition (aws, aws-cn, aws-us-gov, ...)";
		return -EINVAL;
	}
	if (len[2] != 6 || strncmp(f[2], "events", 6) != 0) {
		*reason = "not an EventBridge ARN (arn:aws:events:...)";
		return -EINVAL;
	}
	if (len[3] == 0 || !all_of(f[3], len[3], lower_digit_dash)) {
		*reason = "the ARN has no valid region";
		return -EINVAL;
	}
	if (len[4] != 12 || !all_of(f[4], len[4], digit)) {
		*reason = "the ARN's account is not 12 digits";
		return -EINVAL;
	}
	if (len[5] <= 10 || strncmp(f[5], "event-bus/", 10) != 0 ||
	    !all_of(f[5] + 10, len[5] - 10, bus_name_char) || strchr(f[5], ':')) {
		*reason = "the ARN's resource is not event-bus/NAME (NAME of A-Z a-z 0-9 / . _ -)";
		return -EINVAL;
	}
	if (ret_region) {
		*ret_region = f[3];
		*ret_region_len = len[3];
	}
	return 0;
}

int config_event_bus_check(const char *value, const char **reason, const char **ret_region,
			   size_t *ret_region_len)
{
	size_t n = strlen(value);

	if (ret_region) {
		*ret_region = NULL;
		*ret_region_len = 0;
	}
	if (str_startswith(value, "arn:"))
		return check_bus_arn(value, reason, ret_region, ret_region_len);
	if (n == 0 || n > EVENT_BUS_NAME_MAX || !all_of(value, n, bus_name_char)) {
		*reason = "a bus name is 1-256 characters of A-Z a-z 0-9 / . _ - (or give the bus ARN)";
		return -EINVAL;
	}
	return 0;
}

int config_eventbridge_check_region(const struct config_eventbridge *b, const char *region, char *err,
				    size_t errsz)
{
	const char *in, *reason;
	size_t n;

	if (config_event_bus_check(b->event_bus, &reason, &in, &n) < 0 || !in)
		return 0;
	if (strlen(region) == n && strncmp(region, in, n) == 0)
		return 0;
	snprintf(err, errsz,
		 "eventbridge \"%s\": the event bus is in region %.*s, but this daemon runs in region %s; "
		 "events go to the daemon's region",
		 b->name, (int)n, in, region);
	return -EINVAL;
}

int config_event_source_check(const char *value, const char **reason)
{
	size_t n = strlen(value);

	if (n == 0 || n > EVENT_SOURCE_MAX) {
		*reason = "must be 1-256 characters";
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)value[i] <= 0x20 || (unsigned char)value[i] >= 0x7f) {
			*reason = "only printable ASCII characters without blanks";
			return -EINVAL;
		}
	/* EventBridge refuses such entries one by one
	 * (NotAuthorizedForSourceException): better said at load time. */
	if (strncmp(value, "aws.", 4) == 0) {
		*reason = "the prefix \"aws.\" is reserved for AWS services (use e.g. jobwatchd or "
			  "com.example.jobwatchd)";
		return -EINVAL;
	}
	return 0;
}

int config_eventbridge_add(struct config_parser *p, const char *name, const struct config_loc *here)
{
	struct config *c = p->c;
	size_t n = c->n_eventbridges;
	struct config_eventbridge *b;
	struct config_eventbridge_loc *l;
	char label[96];

	for (size_t i = 0; i < n; i++) {
		if (strcmp(c->eventbridges[i].name, name) != 0)
			continue;
		/* As for webhooks: a drop-in may extend a section, one file
		 * may not define it twice. */
		if (p->eventbridge_locs[i].header.file == here->file) {
			snprintf(label, sizeof(label), "eventbridge \"%s\"", name);
			config_report(p, false, here, label, NULL,
				      "duplicate section (first defined at line %u)",
				      p->eventbridge_locs[i].header.line);
		}
		return (int)i;
	}
	if (n >= 1000) {
		config_report(p, false, here, "eventbridge", NULL, "more than 1000 sections of this kind");
		return -E2BIG;
	}
	b = realloc(c->eventbridges, (n + 1) * sizeof(*b));
	if (b)
		c->eventbridges = b;
	l = realloc(p->eventbridge_locs, (n + 1) * sizeof(*l));
	if (l)
		p->eventbridge_locs = l;
	if (!b || !l)
		return -ENOMEM;
	c->eventbridges[n] = (struct config_eventbridge){.name = strdup(name)};
	p->eventbridge_locs[n] = (struct config_eventbridge_loc){.header = *here};
	c->n_eventbridges++;
	if (!c->eventbridges[n].name)
		return -ENOMEM;
	config_apply_defaults(p, CONFIG_SECTION_EVENTBRIDGE, &c->eventbridges[n]);
	return (int)n;
}

/* PutEvents goes to the daemon's regional endpoint: a bus ARN of another
 * region would be refused at every call, so it is refused here. */
void config_eventbridge_check(struct config_parser *p)
{
	const struct config *c = p->c;

	for (size_t i = 0; i < c->n_eventbridges; i++) {
		const struct config_eventbridge *b = &c->eventbridges[i];
		const char *region, *reason;
		size_t n;
		char label[96];

		if (!b->event_bus || config_event_bus_check(b->event_bus, &reason, &region, &n) < 0 ||
		    !region || !c->aws.region)
			continue;
		if (strlen(c->aws.region) == n && strncmp(c->aws.region, region, n) == 0)
			continue;
		snprintf(label, sizeof(label), "eventbridge \"%s\"", b->name);
		config_report(p, false,
			      p->eventbridge_locs[i].bus.line ? &p->eventbridge_locs[i].bus
							      : &p->eventbridge_locs[i].header,
			      label, "event_bus",
			      "the bus is in region %.*s, but [aws] region is %s; events go to the "
			      "daemon's region",
			      (int)n, region, c->aws.region);
	}
}

void config_eventbridge_free(struct config *c)
{
	for (size_t i = 0; i < c->n_eventbridges; i++) {
		free(c->eventbridges[i].name);
		free(c->eventbridges[i].event_bus);
		free(c->eventbridges[i].source);
	}
	free(c->eventbridges);
	c->eventbridges = NULL;
	c->n_eventbridges = 0;
}
