/* What `jobwatchd status` prints: the daemon's JSON as text, the table of
 * jobs and one job in detail with its history. */
#include "cli/status_text.h"

#include <inttypes.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "util.h"

#define LABEL_WIDTH 17
#define NAME_WIDTH  40 /* the table's NAME column at most */

/* A span of ms as "45s", "12m", "3h", "2d" (negative spans are 0s). */
static void format_span(int64_t ms, char *buf, size_t size)
{
	int64_t s = ms > 0 ? ms / 1000 : 0;

	if (s < 120)
		snprintf(buf, size, "%" PRId64 "s", s);
	else if (s < 7200)
		snprintf(buf, size, "%" PRId64 "m", s / 60);
	else if (s < 172800)
		snprintf(buf, size, "%" PRId64 "h", s / 3600);
	else
		snprintf(buf, size, "%" PRId64 "d", s / 86400);
}

static const char *str_of(const cJSON *o, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static int64_t int_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

/* "45s", "12m", "3h", "2d" since iso; "-" when unknown. */
static void format_age(const char *iso, int64_t now_ms, char *buf, size_t size)
{
	int64_t ms;

	if (!iso || parse_iso8601_ms(iso, &ms) < 0) {
		snprintf(buf, size, "-");
		return;
	}
	format_span(now_ms - ms, buf, size);
}

void cli_status_print_table(FILE *f, const cJSON *arr, bool all, int64_t now_ms)
{
	size_t shown = 0, width = 4;
	const cJSON *j;

	cJSON_ArrayForEach(j, arr)
	{
		const char *name = str_of(j, "name") ? str_of(j, "name") : arn_job_id(str_of(j, "arn"));
		size_t n = name ? strlen(name) : 1;
		if (!all && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "watched")))
			continue;
		if (n > width)
			width = n > NAME_WIDTH ? NAME_WIDTH : n;
	}
	fprintf(f, "%-*s  %-20s  %7s  %9s  %s\n", (int)width, "NAME", "STATUS", "SINCE", "LAST POLL",
		"FAILURES");
	cJSON_ArrayForEach(j, arr)
	{
		const char *name = str_of(j, "name") ? str_of(j, "name") : arn_job_id(str_of(j, "arn"));
		const char *status = str_of(j, "status");
		const cJSON *fails = cJSON_GetObjectItemCaseSensitive(j, "failures");
		bool watched = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "watched"));
		char since[16], poll[16], st[40], nm[NAME_WIDTH + 1];

		if (!all && !watched)
			continue;
		name = name ? name : "?";
		if (strlen(name) > width)
			snprintf(nm, sizeof(nm), "%.*s~", (int)width - 1, name);
		else
			snprintf(nm, sizeof(nm), "%s", name);
		snprintf(st, sizeof(st), "%s%s", status ? status : "UNKNOWN", watched ? "" : "*");
		format_age(str_of(j, "since"), now_ms, since, sizeof(since));
		format_age(str_of(j, "lastPoll"), now_ms, poll, sizeof(poll));
		fprintf(f, "%-*s  %-20s  %7s  %9s  %d\n", (int)width, nm, st, since, poll,
			cJSON_IsNumber(fails) ? fails->valueint : 0);
		shown++;
	}
	if (all)
		fprintf(f, "(* = no longer watched)\n");
	if (shown == 0)
		fprintf(f, "(no jobs)\n");
}

/* Text from the service or a receiver: a status message must not move the
 * cursor or recolour the terminal. */
static void put_text(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)(s ? s : "-"); *p; p++)
		fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, f);
}

static void label(FILE *f, const char *name)
{
	fprintf(f, "%-*s", LABEL_WIDTH, name);
}

/* "2026-12-03T13:00:05.123Z (5m ago)", "... (in 25s)", or "-". */
static void put_time(FILE *f, const char *iso, int64_t now_ms)
{
	int64_t ms;
	char span[32];

	if (!iso || parse_iso8601_ms(iso, &ms) < 0) {
		fputs("-", f);
		return;
	}
	put_text(f, iso);
	format_span(ms > now_ms ? ms - now_ms : now_ms - ms, span, sizeof(span));
	fprintf(f, ms > now_ms ? " (in %s)" : " (%s ago)", span);
}

/* "CODE: message", "CODE" or "message"; false when there are none. */
static bool put_details(FILE *f, const char *code, const char *message)
{
	if (!code && !message)
		return false;
	put_text(f, code ? code : message);
	if (code && message) {
		fputs(": ", f);
		put_text(f, message);
	}
	return true;
}

static const char *source_text(const char *source)
{
	if (!source)
		return "unknown";
	if (strcmp(source, "config") == 0)
		return "the configuration";
	if (strcmp(source, "api") == 0)
		return "the control API";
	return source; /* discover:NAME */
}

/* One "Label:          value" line. */
static void text_line(FILE *f, const char *name, const char *text)
{
	label(f, name);
	put_text(f, text);
	fputc('\n', f);
}

static void time_line(FILE *f, const char *name, const char *iso, int64_t now_ms)
{
	label(f, name);
	put_time(f, iso, now_ms);
	fputc('\n', f);
}

static void print_job(FILE *f, const cJSON *j, int64_t now_ms)
{
	const char *result = str_of(j, "lastPollResult");
	int64_t failures = int_of(j, "failures");

	text_line(f, "Job:", str_of(j, "arn"));
	if (str_of(j, "resourceType") && strcmp(str_of(j, "resourceType"), "audience-generation-job") != 0)
		text_line(f, "Kind:", str_of(j, "resourceType"));
	text_line(f, "Name:", str_of(j, "name"));
	label(f, "Status:");
	put_text(f, str_of(j, "status") ? str_of(j, "status") : "UNKNOWN (not polled successfully yet)");
	if (str_of(j, "since")) {
		fputs(" since ", f);
		put_time(f, str_of(j, "since"), now_ms);
	}
	fputc('\n', f);
	if (str_of(j, "statusCode") || str_of(j, "statusMessage")) {
		label(f, "Status details:");
		put_details(f, str_of(j, "statusCode"), str_of(j, "statusMessage"));
		fputc('\n', f);
	}
	label(f, "Watched:");
	fprintf(f, "%s, from ",
		cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "watched")) ? "yes" : "no (state kept)");
	put_text(f, source_text(str_of(j, "source")));
	fputc('\n', f);
	label(f, "Last poll:");
	put_time(f, str_of(j, "lastPoll"), now_ms);
	if (result)
		fprintf(f, ", %s", result);
	fputc('\n', f);
	if (failures > 0 && str_of(j, "lastError"))
		text_line(f, "Last error:", str_of(j, "lastError"));
	label(f, "Failures:");
	fprintf(f, "%" PRId64 " in a row; %" PRId64 " of %" PRId64 " polls failed\n", failures,
		int_of(j, "pollFailures"), int_of(j, "polls"));
	time_line(f, "Last success:", str_of(j, "lastSuccess"), now_ms);
	time_line(f, "Next poll:", str_of(j, "nextPoll"), now_ms);
	if (str_of(j, "notFoundSince"))
		time_line(f, "Not found since:", str_of(j, "notFoundSince"), now_ms);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "stuck")))
		time_line(f, "Stuck since:", str_of(j, "stuckSince"), now_ms);
	text_line(f, "Collaboration:", str_of(j, "collaborationId"));
	text_line(f, "Audience model:", str_of(j, "configuredAudienceModelArn"));
}

/* "journal: done; webhook:a: done after 1 failed attempt; webhook:ops: pending,
 * 2 failed attempts, next ...: HTTP 500" */
static void print_deliveries(FILE *f, const cJSON *deliveries, int64_t now_ms)
{
	const cJSON *d;
	bool first = true;

	fputs("      ", f);
	cJSON_ArrayForEach(d, deliveries)
	{
		const char *state = str_of(d, "state");
		int64_t attempts = int_of(d, "attempts");

		fputs(first ? "" : "; ", f);
		first = false;
		put_text(f, str_of(d, "sink"));
		fputs(": ", f);
		put_text(f, state);
		if (attempts > 0)
			fprintf(f, "%s%" PRId64 " failed attempt%s",
				state && strcmp(state, "done") == 0 ? " after " : ", ", attempts,
				attempts == 1 ? "" : "s");
		if (str_of(d, "nextAttempt")) {
			fputs(", next ", f);
			put_time(f, str_of(d, "nextAttempt"), now_ms);
		}
		if (str_of(d, "lastError") && state && strcmp(state, "done") != 0) {
			fputs(": ", f);
			put_text(f, str_of(d, "lastError"));
		}
	}
	fputs(first ? "no deliveries (no sink took events then)\n" : "\n", f);
}

static void print_history(FILE *f, const cJSON *j, int64_t now_ms)
{
	const cJSON *history = cJSON_GetObjectItemCaseSensitive(j, "history");
	const cJSON *total = cJSON_GetObjectItemCaseSensitive(j, "historyTotal");
	int n = cJSON_GetArraySize(history);
	const cJSON *e;

	fputc('\n', f);
	if (n == 0) {
		fprintf(f, "History: %s\n",
			cJSON_IsNumber(total) && total->valuedouble > 0 ? "not asked for (--history 0)"
									: "no events stored");
		return;
	}
	fprintf(f, "History (newest first; %d of %.0f stored events):\n", n,
		cJSON_IsNumber(total) ? total->valuedouble : (double)n);
	cJSON_ArrayForEach(e, history)
	{
		const char *prev = str_of(e, "previousStatus");

		fputs("  ", f);
		put_text(f, str_of(e, "detected"));
		fputs("  ", f);
		fprintf(f, "%-18s  ", str_of(e, "type") ? str_of(e, "type") : "?");
		/* job.stuck names its status twice: once is enough. */
		if (prev && (!str_of(e, "status") || strcmp(prev, str_of(e, "status")) != 0)) {
			put_text(f, prev);
			fputs(" -> ", f);
		}
		put_text(f, str_of(e, "status"));
		fputc('\n', f);
		if (str_of(e, "statusCode") || str_of(e, "statusMessage")) {
			fputs("      details: ", f);
			put_details(f, str_of(e, "statusCode"), str_of(e, "statusMessage"));
			fputc('\n', f);
		}
		print_deliveries(f, cJSON_GetObjectItemCaseSensitive(e, "deliveries"), now_ms);
	}
}

void cli_status_print_job(FILE *f, const cJSON *job, int64_t now_ms)
{
	print_job(f, job, now_ms);
	print_history(f, job, now_ms);
}

static uint64_t num_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) && v->valuedouble > 0 ? (uint64_t)v->valuedouble : 0;
}

void cli_status_print_sinks(FILE *f, const cJSON *arr)
{
	const cJSON *s;

	if (cJSON_GetArraySize(arr) == 0)
		return;
	fprintf(f, "\n%-20s  %-11s  %8s  %8s  %6s  %s\n", "SINK", "KIND", "ACCEPTED", "BACKLOG", "PARKED",
		"STATE");
	cJSON_ArrayForEach(s, arr)
	{
		const char *name = str_of(s, "name"), *kind = str_of(s, "kind");
		const char *bus = str_of(s, "eventBus"), *err = str_of(s, "lastError");
		bool failing = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "failing"));

		fprintf(f, "%-20s  %-11s  %8llu  %8llu  %6llu  %s (bus %s)%s%s\n", name ? name : "?",
			kind ? kind : "?", (unsigned long long)num_of(s, "accepted"),
			(unsigned long long)num_of(s, "backlog"), (unsigned long long)num_of(s, "parked"),
			failing ? "failing" : "ok", bus ? bus : "?", failing && err ? ": " : "",
			failing && err ? err : "");
	}
}
