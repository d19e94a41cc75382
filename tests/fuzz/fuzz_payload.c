/* Fuzz target "payload": the webhook payload builders (json, slack,
 * alertmanager) and the summary line, for every event type.
 *
 * The job comes from the input parsed as a GetAudienceGenerationJob answer
 * (what the daemon really feeds them); when the input is no such answer, its
 * lines fill the free-text fields directly (name, description, statusCode,
 * message, ARN, model ARN, collaboration id, region, createTime, updateTime,
 * status, metric type), so arbitrary bytes reach the builders too.
 *
 * Invariants: every body is valid JSON under PAYLOAD_MAX_BYTES; the json
 * format carries the event type; the only NULL is alertmanager for an event
 * it does not carry; valid UTF-8 in gives valid UTF-8 out (truncation never
 * splits a character); the Slack escape leaves no '<' or '>'. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "aws/parse.h"
#include "event.h"
#include "fuzz_common.h"
#include "model.h"
#include "notify/payload.h"
#include "util.h"

static bool fuzz_payload_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s)
		return true;
	while (*p) {
		size_t n;
		uint32_t cp;

		if (*p < 0x80) {
			p++;
			continue;
		} else if ((*p & 0xE0) == 0xC0) {
			n = 1, cp = *p & 0x1F;
		} else if ((*p & 0xF0) == 0xE0) {
			n = 2, cp = *p & 0x0F;
		} else if ((*p & 0xF8) == 0xF0) {
			n = 3, cp = *p & 0x07;
		} else {
			return false;
		}
		for (size_t i = 1; i <= n; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3F);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		p += n + 1;
	}
	return true;
}

static bool fuzz_payload_obs_utf8(const struct job_observation *o, const char *region)
{
	for (size_t i = 0; i < o->n_relevance_metrics; i++)
		if (!fuzz_payload_utf8(o->relevance_metrics[i].audience_size_type))
			return false;
	return fuzz_payload_utf8(o->name) && fuzz_payload_utf8(o->description) &&
	       fuzz_payload_utf8(o->status_code) && fuzz_payload_utf8(o->status_message) &&
	       fuzz_payload_utf8(o->arn) && fuzz_payload_utf8(o->configured_audience_model_arn) &&
	       fuzz_payload_utf8(o->collaboration_id) && fuzz_payload_utf8(region);
}

#define FUZZ_PAYLOAD_ARN "arn:aws:cleanrooms-ml:us-east-1:123456789012:audience-generation-job/fuzz"

static bool fuzz_payload_region_ok(const char *r)
{
	size_t n = strlen(r);

	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= '0' && r[i] <= '9') || r[i] == '-'))
			return false;
	return true;
}

/* The raw-lines fallback (see the top of the file). */
static struct job_observation *fuzz_payload_from_lines(const uint8_t *data, size_t size, char **ret_region)
{
	struct job_observation *o = job_observation_new();
	const uint8_t *p = data;
	size_t left = size;
	char *line;
	int64_t ms;

	FUZZ_CHECK(o);
	o->name = fuzz_next_line(&p, &left);
	o->description = fuzz_next_line(&p, &left);
	o->status_code = fuzz_next_line(&p, &left);
	o->status_message = fuzz_next_line(&p, &left);
	o->arn = fuzz_next_line(&p, &left);
	o->configured_audience_model_arn = fuzz_next_line(&p, &left);
	o->collaboration_id = fuzz_next_line(&p, &left);
	/* What the API parser could never let through is not fuzzed: a job has
	 * a name and a valid ARN (the other strings are any length up to
	 * AWS_MAX_STRING), and the region comes from the validated config. */
	if (!o->name)
		o->name = fuzz_strndup((const uint8_t *)"", 0);
	if (!o->arn || !arn_is_audience_generation_job(o->arn)) {
		free(o->arn);
		o->arn = fuzz_strndup((const uint8_t *)FUZZ_PAYLOAD_ARN, strlen(FUZZ_PAYLOAD_ARN));
	}
	*ret_region = fuzz_next_line(&p, &left);
	if (!*ret_region || !fuzz_payload_region_ok(*ret_region)) {
		free(*ret_region);
		*ret_region = fuzz_strndup((const uint8_t *)"us-east-1", 9);
	}
	/* Times only as the API parser could produce them. */
	line = fuzz_next_line(&p, &left);
	if (line && parse_iso8601_ms(line, &ms) >= 0)
		o->create_time_ms = ms;
	free(line);
	line = fuzz_next_line(&p, &left);
	if (line && parse_iso8601_ms(line, &ms) >= 0)
		o->update_time_ms = ms;
	free(line);
	line = fuzz_next_line(&p, &left);
	o->status = line ? job_status_from_string(line) : JOB_STATUS_INVALID;
	if (o->status == JOB_STATUS_INVALID)
		o->status = (enum job_status)(size % _JOB_STATUS_MAX);
	free(line);
	line = fuzz_next_line(&p, &left);
	if (line) {
		o->has_metrics = true;
		o->relevance_metrics = calloc(1, sizeof(struct relevance_metric));
		FUZZ_CHECK(o->relevance_metrics);
		o->n_relevance_metrics = 1;
		o->relevance_metrics[0].audience_size_type = line;
		o->relevance_metrics[0].audience_size_value = (int64_t)size * 1000;
		o->relevance_metrics[0].has_score = size & 1;
		o->relevance_metrics[0].score = (double)(size % 11);
		o->has_recall_metric = size & 2;
		o->recall_metric = 1.0 / (double)(size + 1);
	}
	return o;
}

static void fuzz_payload_check(const struct event *e, bool utf8_in)
{
	char *summary, *esc;

	summary = payload_summary_line(e);
	FUZZ_CHECK(summary);
	if (utf8_in)
		FUZZ_CHECK(fuzz_payload_utf8(summary));
	esc = payload_slack_escape(summary);
	FUZZ_CHECK(esc);
	FUZZ_CHECK(!strchr(esc, '<') && !strchr(esc, '>'));
	free(esc);
	free(summary);

	for (int f = 0; f < _PAYLOAD_FORMAT_MAX; f++) {
		if (f == PAYLOAD_FORMAT_ALERTMANAGER)
			continue; /* pushed alerts: notify/alertmanager.c, not an event body */
		char *body = payload_build((enum payload_format)f, e);
		cJSON *j;

		if (!body) {
			if (f != PAYLOAD_FORMAT_ALERTMANAGER_WEBHOOK || payload_alertmanager_relevant(e))
				fprintf(
				    stderr,
				    "no %s body for %s: len name=%zu desc=%zu code=%zu message=%zu arn=%zu "
				    "region=%zu\n",
				    payload_format_to_string((enum payload_format)f),
				    event_type_to_string(e->type), e->job->name ? strlen(e->job->name) : 0,
				    e->job->description ? strlen(e->job->description) : 0,
				    e->job->status_code ? strlen(e->job->status_code) : 0,
				    e->job->status_message ? strlen(e->job->status_message) : 0,
				    e->job->arn ? strlen(e->job->arn) : 0,
				    e->region ? strlen(e->region) : 0);
			FUZZ_CHECK(f == PAYLOAD_FORMAT_ALERTMANAGER_WEBHOOK &&
				   !payload_alertmanager_relevant(e));
			continue;
		}
		FUZZ_CHECK(strlen(body) < PAYLOAD_MAX_BYTES);
		if (utf8_in) {
			if (!fuzz_payload_utf8(body))
				fprintf(stderr, "invalid UTF-8 in %s body:\n%s\n",
					payload_format_to_string((enum payload_format)f), body);
			FUZZ_CHECK(fuzz_payload_utf8(body));
		}
		j = cJSON_Parse(body);
		if (!j)
			fprintf(stderr, "not JSON (%s):\n%s\n",
				payload_format_to_string((enum payload_format)f), body);
		FUZZ_CHECK(j);
		if (f == PAYLOAD_FORMAT_JSON) {
			const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "type");
			FUZZ_CHECK(cJSON_IsString(t));
			FUZZ_CHECK(strcmp(t->valuestring, event_type_to_string(e->type)) == 0);
		}
		cJSON_Delete(j);
		free(body);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct job_observation *o = NULL;
	char *region = NULL;
	char err[256];
	enum job_status status;
	bool utf8_in;

	fuzz_quiet();
	if (aws_parse_get((const char *)data, size, &o, err, sizeof(err)) < 0) {
		o = fuzz_payload_from_lines(data, size, &region);
	} else {
		region = strdup("us-east-1");
		FUZZ_CHECK(region);
	}
	utf8_in = fuzz_payload_obs_utf8(o, region);
	status = o->status;

	for (int t = 0; t < _EVENT_TYPE_MAX; t++) {
		struct event e = {
		    .seq = 1,
		    .type = (enum event_type)t,
		    .detected_ms = 1705323605000, /* the daemon's own clock: always sane */
		    .region = region,
		    .job = o,
		};

		switch (e.type) {
		case EVENT_JOB_DISCOVERED:
			e.previous_status = JOB_STATUS_INVALID;
			e.status = status;
			break;
		case EVENT_JOB_STATUS_CHANGED:
			e.previous_status = (enum job_status)((status + 1 + size % 6) % _JOB_STATUS_MAX);
			e.status = status;
			break;
		case EVENT_JOB_STUCK:
			e.previous_status = e.status = status;
			break;
		default:
			e.previous_status = status;
			e.status = JOB_STATUS_GONE;
			o->status = JOB_STATUS_GONE;
			break;
		}
		event_compute_id(o->arn ? o->arn : "", e.previous_status, e.status, o->update_time_ms,
				 e.type, e.id);
		FUZZ_CHECK(strlen(e.id) == EVENT_ID_LEN);
		fuzz_payload_check(&e, utf8_in);
		o->status = status;
	}

	job_observation_free(o);
	free(region);
	return 0;
}
