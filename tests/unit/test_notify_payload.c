/* Payload builders: every field of the json, slack and alertmanager bodies,
 * parsed back with cJSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "event.h"
#include "model.h"
#include "notify/journal.h"
#include "notify/payload.h"
#include "jwtest.h"
#include "util.h"

#define ARN	JWT_EVENT_ARN
#define CAM_ARN JWT_EVENT_CAM_ARN
#define COLLAB	JWT_EVENT_COLLAB

static const char *jstr(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	assert_non_null(v);
	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

static void test_json_status_changed(void **state)
{
	struct event *e =
	    jwt_event_new(EVENT_JOB_STATUS_CHANGED, JOB_STATUS_CREATE_IN_PROGRESS, JOB_STATUS_CREATE_FAILED,
			  "ValidationException", "seed too small\nline 2");
	char *body = payload_build(PAYLOAD_FORMAT_JSON, e);
	cJSON *j, *d, *sd;

	assert_non_null(body);
	j = cJSON_Parse(body);
	assert_non_null(j);
	assert_string_equal(jstr(j, "type"), "job.status_changed");
	assert_string_equal(jstr(j, "timestamp"), "2024-01-15T13:00:05Z");
	d = cJSON_GetObjectItemCaseSensitive(j, "data");
	assert_non_null(d);
	assert_string_equal(jstr(d, "jobArn"), ARN);
	assert_string_equal(jstr(d, "name"), "weekly-lookalike");
	assert_string_equal(jstr(d, "previousStatus"), "CREATE_IN_PROGRESS");
	assert_string_equal(jstr(d, "status"), "CREATE_FAILED");
	sd = cJSON_GetObjectItemCaseSensitive(d, "statusDetails");
	assert_non_null(sd);
	assert_string_equal(jstr(sd, "statusCode"), "ValidationException");
	assert_string_equal(jstr(sd, "message"), "seed too small\nline 2");
	assert_string_equal(jstr(d, "createTime"), "2024-01-15T12:00:00Z");
	assert_string_equal(jstr(d, "updateTime"), "2024-01-15T13:00:00.500Z");
	assert_string_equal(jstr(d, "configuredAudienceModelArn"), CAM_ARN);
	assert_string_equal(jstr(d, "collaborationId"), COLLAB);
	assert_string_equal(jstr(d, "region"), "us-east-1");
	assert_string_equal(jstr(d, "eventId"), e->id);
	assert_int_equal(strlen(e->id), 32);
	assert_null(cJSON_GetObjectItemCaseSensitive(d, "metrics"));
	cJSON_Delete(j);
	free(body);
	event_free(e);
}

static void test_json_discovered_metrics(void **state)
{
	struct event *e =
	    jwt_event_new(EVENT_JOB_DISCOVERED, JOB_STATUS_INVALID, JOB_STATUS_ACTIVE, NULL, NULL);
	struct job_observation *o = e->job;
	char *body;
	cJSON *j, *d, *m, *rl, *rm, *as;

	o->has_metrics = true;
	o->n_relevance_metrics = 1;
	o->relevance_metrics = calloc(1, sizeof(struct relevance_metric));
	o->relevance_metrics[0].audience_size_type = strdup("ABSOLUTE");
	o->relevance_metrics[0].audience_size_value = 20000;
	o->relevance_metrics[0].score = 0.5;
	o->relevance_metrics[0].has_score = true;
	o->has_recall_metric = true;
	o->recall_metric = 0.25;
	body = payload_build_json(e);
	assert_non_null(body);
	j = cJSON_Parse(body);
	assert_string_equal(jstr(j, "type"), "job.discovered");
	d = cJSON_GetObjectItemCaseSensitive(j, "data");
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(d, "previousStatus")));
	assert_string_equal(jstr(d, "status"), "ACTIVE");
	assert_null(cJSON_GetObjectItemCaseSensitive(d, "statusDetails"));
	m = cJSON_GetObjectItemCaseSensitive(d, "metrics");
	assert_non_null(m);
	assert_true(fabs((cJSON_GetObjectItemCaseSensitive(m, "recallMetric")->valuedouble) - (0.25)) <
		    1e-9);
	rl = cJSON_GetObjectItemCaseSensitive(m, "relevanceMetrics");
	assert_int_equal(cJSON_GetArraySize(rl), 1);
	rm = cJSON_GetArrayItem(rl, 0);
	as = cJSON_GetObjectItemCaseSensitive(rm, "audienceSize");
	assert_string_equal(jstr(as, "type"), "ABSOLUTE");
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(as, "value")->valuedouble, 20000);
	assert_true(fabs((cJSON_GetObjectItemCaseSensitive(rm, "score")->valuedouble) - (0.5)) < 1e-9);
	cJSON_Delete(j);
	free(body);
	event_free(e);
}

static void test_json_truncates_long_message(void **state)
{
	size_t n = 100 * 1024;
	char *big = malloc(n + 1);
	struct event *e;
	char *body;
	cJSON *j;
	const char *msg;

	/* Multi-byte characters: the cut must not split one. */
	for (size_t i = 0; i + 2 <= n; i += 2)
		big[i] = (char)0xc3, big[i + 1] = (char)0xa9; /* é */
	big[n] = '\0';
	e = jwt_event_new(EVENT_JOB_STATUS_CHANGED, JOB_STATUS_CREATE_IN_PROGRESS, JOB_STATUS_CREATE_FAILED,
			  "X", big);
	body = payload_build_json(e);
	assert_non_null(body);
	assert_true(strlen(body) < PAYLOAD_MAX_BYTES);
	j = cJSON_Parse(body);
	assert_non_null(j);
	msg = jstr(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "data"), "statusDetails"),
	    "message");
	assert_true(strlen(msg) <= PAYLOAD_MAX_MESSAGE + 3);
	assert_string_equal(msg + strlen(msg) - 3, "...");
	assert_int_equal((unsigned char)msg[strlen(msg) - 4], 0xa9);
	cJSON_Delete(j);
	free(body);
	free(big);

	body = payload_build_slack(e);
	assert_non_null(body);
	assert_true(strlen(body) < PAYLOAD_MAX_BYTES);
	free(body);
	body = payload_build_alertmanager(e);
	assert_non_null(body);
	assert_true(strlen(body) < PAYLOAD_MAX_BYTES);
	free(body);
	event_free(e);
}

static void test_summary_lines(void **state)
{
	static const struct {
		enum event_type type;
		enum job_status prev, status;
		const char *code, *message, *want;
	} cases[] = {
	    {EVENT_JOB_STATUS_CHANGED, JOB_STATUS_CREATE_IN_PROGRESS, JOB_STATUS_CREATE_FAILED, "Code",
	     "boom\nnext",
	     "audience generation job \"weekly-lookalike\" CREATE_IN_PROGRESS \xe2\x86\x92 CREATE_FAILED: "
	     "Code: "
	     "boom next"},
	    {EVENT_JOB_STATUS_CHANGED, JOB_STATUS_CREATE_PENDING, JOB_STATUS_CREATE_IN_PROGRESS, NULL, NULL,
	     "audience generation job \"weekly-lookalike\" CREATE_PENDING \xe2\x86\x92 CREATE_IN_PROGRESS"},
	    {EVENT_JOB_DISCOVERED, JOB_STATUS_INVALID, JOB_STATUS_ACTIVE, NULL, NULL,
	     "audience generation job \"weekly-lookalike\" discovered in status ACTIVE"},
	    {EVENT_JOB_STUCK, JOB_STATUS_CREATE_IN_PROGRESS, JOB_STATUS_CREATE_IN_PROGRESS, NULL, NULL,
	     "audience generation job \"weekly-lookalike\" stuck in CREATE_IN_PROGRESS since "
	     "2024-01-15T13:00:00.500Z"},
	    {EVENT_JOB_GONE, JOB_STATUS_ACTIVE, JOB_STATUS_GONE, NULL, NULL,
	     "audience generation job \"weekly-lookalike\" is gone (last status ACTIVE)"},
	    {EVENT_JOB_STATUS_CHANGED, JOB_STATUS_CREATE_IN_PROGRESS, JOB_STATUS_CREATE_FAILED, NULL,
	     "only msg",
	     "audience generation job \"weekly-lookalike\" CREATE_IN_PROGRESS \xe2\x86\x92 CREATE_FAILED: "
	     "only "
	     "msg"},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct event *e = jwt_event_new(cases[i].type, cases[i].prev, cases[i].status, cases[i].code,
						cases[i].message);
		char *line = payload_summary_line(e);
		assert_non_null(line);
		assert_string_equal(line, cases[i].want);
		assert_null(strchr(line, '\n'));
		free(line);
		event_free(e);
	}
}

static void test_slack_escape(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"plain", "plain"},
	    {"a & b", "a &amp; b"},
	    {"<!channel> x>y", "&lt;!channel&gt; x&gt;y"},
	    {"&amp;", "&amp;amp;"},
	    {"", ""},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		char *r = payload_slack_escape(cases[i].in);
		assert_non_null(r);
		assert_string_equal(r, cases[i].want);
		free(r);
	}
}

static void test_slack_payload(void **state)
{
	struct event *e = jwt_event_new(EVENT_JOB_STATUS_CHANGED, JOB_STATUS_CREATE_IN_PROGRESS,
					JOB_STATUS_CREATE_FAILED, "Code", "<@U123> & friends");
	char *body = payload_build(PAYLOAD_FORMAT_SLACK, e);
	cJSON *j, *blocks, *sec, *ctx, *el;
	const char *want = "audience generation job \"weekly-lookalike\" CREATE_IN_PROGRESS \xe2\x86\x92 "
			   "CREATE_FAILED: Code: &lt;@U123&gt; &amp; friends";

	assert_non_null(body);
	j = cJSON_Parse(body);
	assert_non_null(j);
	assert_string_equal(jstr(j, "text"), want);
	blocks = cJSON_GetObjectItemCaseSensitive(j, "blocks");
	assert_int_equal(cJSON_GetArraySize(blocks), 2);
	sec = cJSON_GetArrayItem(blocks, 0);
	assert_string_equal(jstr(sec, "type"), "section");
	assert_string_equal(jstr(cJSON_GetObjectItemCaseSensitive(sec, "text"), "type"), "mrkdwn");
	assert_string_equal(jstr(cJSON_GetObjectItemCaseSensitive(sec, "text"), "text"), want);
	ctx = cJSON_GetArrayItem(blocks, 1);
	assert_string_equal(jstr(ctx, "type"), "context");
	el = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ctx, "elements"), 0);
	assert_string_equal(jstr(el, "type"), "mrkdwn");
	assert_non_null(strstr(jstr(el, "text"), ARN));
	assert_non_null(strstr(jstr(el, "text"), e->id));
	assert_non_null(strstr(jstr(el, "text"), "us-east-1"));
	cJSON_Delete(j);
	free(body);
	event_free(e);
}

static void test_alertmanager_relevance(void **state)
{
	static const struct {
		enum event_type type;
		enum job_status prev, status;
		bool relevant;
	} cases[] = {
	    {EVENT_JOB_DISCOVERED, JOB_STATUS_INVALID, JOB_STATUS_CREATE_FAILED, false},
	    {EVENT_JOB_STATUS_CHANGED, JOB_STATUS_CREATE_PENDING, JOB_STATUS_CREATE_IN_PROGRESS, false},
	    {EVENT_JOB_STATUS_CHANGED, JOB_STATUS_CREATE_IN_PROGRESS, JOB_STATUS_CREATE_FAILED, true},
	    {EVENT_JOB_STATUS_CHANGED, JOB_STATUS_DELETE_IN_PROGRESS, JOB_STATUS_DELETE_FAILED, true},
	    {EVENT_JOB_STATUS_CHANGED, JOB_STATUS_CREATE_FAILED, JOB_STATUS_ACTIVE, true},
	    {EVENT_JOB_STATUS_CHANGED, JOB_STATUS_CREATE_IN_PROGRESS, JOB_STATUS_ACTIVE, true},
	    {EVENT_JOB_STATUS_CHANGED, JOB_STATUS_ACTIVE, JOB_STATUS_DELETE_PENDING, false},
	    {EVENT_JOB_STUCK, JOB_STATUS_CREATE_IN_PROGRESS, JOB_STATUS_CREATE_IN_PROGRESS, true},
	    {EVENT_JOB_GONE, JOB_STATUS_ACTIVE, JOB_STATUS_GONE, true},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct event *e = jwt_event_new(cases[i].type, cases[i].prev, cases[i].status, NULL, NULL);
		char *body = payload_build_alertmanager(e);
		assert_int_equal(payload_alertmanager_relevant(e), cases[i].relevant);
		if (cases[i].relevant)
			assert_non_null(body);
		else
			assert_null(body);
		free(body);
		event_free(e);
	}
}

static cJSON *am_parse(struct event *e)
{
	char *body = payload_build_alertmanager(e);
	cJSON *j;

	assert_non_null(body);
	j = cJSON_Parse(body);
	free(body);
	assert_non_null(j);
	return j;
}

static void test_alertmanager_firing_and_resolved(void **state)
{
	struct event *f = jwt_event_new(EVENT_JOB_STATUS_CHANGED, JOB_STATUS_CREATE_IN_PROGRESS,
					JOB_STATUS_CREATE_FAILED, "ValidationException", "bad seed");
	struct event *r =
	    jwt_event_new(EVENT_JOB_STATUS_CHANGED, JOB_STATUS_CREATE_FAILED, JOB_STATUS_ACTIVE, NULL, NULL);
	cJSON *jf = am_parse(f), *jr = am_parse(r);
	cJSON *a, *l, *an, *gl, *alerts;
	char fp[17];

	/* Envelope. */
	assert_string_equal(jstr(jf, "version"), "4");
	assert_string_equal(jstr(jf, "status"), "firing");
	assert_string_equal(jstr(jf, "receiver"), "jobwatchd");
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(jf, "truncatedAlerts")->valuedouble, 0);
	assert_string_equal(jstr(jf, "groupKey"),
			    "{}:{alertname=\"AudienceGenerationJobFailed\", job_arn=\"" ARN "\"}");
	assert_string_equal(jstr(jf, "externalURL"),
			    "https://us-east-1.console.aws.amazon.com/cleanrooms/home?region=us-east-1");
	gl = cJSON_GetObjectItemCaseSensitive(jf, "groupLabels");
	assert_string_equal(jstr(gl, "alertname"), "AudienceGenerationJobFailed");
	assert_string_equal(jstr(gl, "job_arn"), ARN);
	alerts = cJSON_GetObjectItemCaseSensitive(jf, "alerts");
	assert_int_equal(cJSON_GetArraySize(alerts), 1);
	a = cJSON_GetArrayItem(alerts, 0);
	assert_string_equal(jstr(a, "status"), "firing");
	l = cJSON_GetObjectItemCaseSensitive(a, "labels");
	assert_string_equal(jstr(l, "alertname"), "AudienceGenerationJobFailed");
	assert_string_equal(jstr(l, "job_arn"), ARN);
	assert_string_equal(jstr(l, "job_name"), "weekly-lookalike");
	assert_string_equal(jstr(l, "collaboration_id"), COLLAB);
	assert_string_equal(jstr(l, "region"), "us-east-1");
	assert_string_equal(jstr(l, "severity"), "critical");
	/* Identity labels only: what changes is an annotation. */
	assert_int_equal(cJSON_GetArraySize(l), 6);
	assert_true(cJSON_Compare(l, cJSON_GetObjectItemCaseSensitive(jf, "commonLabels"), true));
	an = cJSON_GetObjectItemCaseSensitive(a, "annotations");
	assert_non_null(strstr(jstr(an, "summary"), "CREATE_FAILED"));
	assert_string_equal(jstr(an, "description"), "ValidationException: bad seed");
	assert_string_equal(jstr(an, "status"), "CREATE_FAILED");
	assert_string_equal(jstr(an, "previous_status"), "CREATE_IN_PROGRESS");
	assert_string_equal(jstr(an, "status_code"), "ValidationException");
	assert_string_equal(jstr(an, "status_message"), "bad seed");
	assert_true(cJSON_Compare(an, cJSON_GetObjectItemCaseSensitive(jf, "commonAnnotations"), true));
	assert_string_equal(jstr(a, "startsAt"), "2024-01-15T13:00:05Z");
	assert_string_equal(jstr(a, "endsAt"), "0001-01-01T00:00:00Z");
	assert_string_equal(jstr(a, "generatorURL"),
			    "https://us-east-1.console.aws.amazon.com/cleanrooms/home?region=us-east-1");
	strncpy(fp, jstr(a, "fingerprint"), sizeof(fp) - 1);
	fp[16] = '\0';
	assert_int_equal(strlen(jstr(a, "fingerprint")), 16);

	/* The resolve pairs with the firing alert: same alertname, same
	 * fingerprint, endsAt set. */
	assert_string_equal(jstr(jr, "status"), "resolved");
	a = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(jr, "alerts"), 0);
	assert_string_equal(jstr(a, "status"), "resolved");
	l = cJSON_GetObjectItemCaseSensitive(a, "labels");
	assert_string_equal(jstr(l, "alertname"), "AudienceGenerationJobFailed");
	/* The very labels of the firing alert, so any receiver pairs them. */
	assert_true(cJSON_Compare(
	    l,
	    cJSON_GetObjectItemCaseSensitive(
		cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(jf, "alerts"), 0), "labels"),
	    true));
	assert_string_equal(jstr(cJSON_GetObjectItemCaseSensitive(a, "annotations"), "status"), "ACTIVE");
	assert_string_equal(jstr(a, "fingerprint"), fp);
	assert_string_equal(jstr(a, "endsAt"), "2024-01-15T13:00:05Z");
	cJSON_Delete(jf);
	cJSON_Delete(jr);
	event_free(f);
	event_free(r);
}

static void test_alertmanager_stuck_gone(void **state)
{
	struct event *s = jwt_event_new(EVENT_JOB_STUCK, JOB_STATUS_CREATE_IN_PROGRESS,
					JOB_STATUS_CREATE_IN_PROGRESS, NULL, NULL);
	struct event *r = jwt_event_new(EVENT_JOB_STATUS_CHANGED, JOB_STATUS_CREATE_IN_PROGRESS,
					JOB_STATUS_ACTIVE, NULL, NULL);
	struct event *g = jwt_event_new(EVENT_JOB_GONE, JOB_STATUS_ACTIVE, JOB_STATUS_GONE, NULL, NULL);
	cJSON *js = am_parse(s), *jr = am_parse(r), *jg = am_parse(g);
	cJSON *as = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(js, "alerts"), 0);
	cJSON *ar = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(jr, "alerts"), 0);
	cJSON *ag = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(jg, "alerts"), 0);

	assert_string_equal(jstr(js, "status"), "firing");
	assert_string_equal(jstr(cJSON_GetObjectItemCaseSensitive(as, "labels"), "alertname"),
			    "AudienceGenerationJobStuck");
	assert_string_equal(jstr(cJSON_GetObjectItemCaseSensitive(as, "labels"), "severity"), "warning");
	assert_string_equal(jstr(jr, "status"), "resolved");
	assert_string_equal(jstr(cJSON_GetObjectItemCaseSensitive(ar, "labels"), "alertname"),
			    "AudienceGenerationJobStuck");
	assert_string_equal(jstr(as, "fingerprint"), jstr(ar, "fingerprint"));
	assert_string_equal(jstr(jg, "status"), "firing");
	assert_string_equal(jstr(cJSON_GetObjectItemCaseSensitive(ag, "labels"), "alertname"),
			    "AudienceGenerationJobGone");
	assert_string_equal(jstr(cJSON_GetObjectItemCaseSensitive(ag, "annotations"), "status"), "GONE");
	assert_string_not_equal(jstr(ag, "fingerprint"), jstr(as, "fingerprint"));
	cJSON_Delete(js);
	cJSON_Delete(jr);
	cJSON_Delete(jg);
	event_free(s);
	event_free(r);
	event_free(g);
}

static void test_formats_and_journal_meta(void **state)
{
	struct event *e;

	assert_int_equal(payload_format_from_string("json"), PAYLOAD_FORMAT_JSON);
	assert_int_equal(payload_format_from_string("slack"), PAYLOAD_FORMAT_SLACK);
	assert_int_equal(payload_format_from_string("alertmanager"), PAYLOAD_FORMAT_ALERTMANAGER);
	assert_int_equal(payload_format_from_string("alertmanager-webhook"),
			 PAYLOAD_FORMAT_ALERTMANAGER_WEBHOOK);
	assert_int_equal(payload_format_from_string("xml"), PAYLOAD_FORMAT_INVALID);
	assert_null(payload_format_to_string(PAYLOAD_FORMAT_INVALID));

	/* Journal priorities and ids: pure, so pinned here. */
	e = jwt_event_new(EVENT_JOB_STATUS_CHANGED, JOB_STATUS_CREATE_IN_PROGRESS, JOB_STATUS_CREATE_FAILED,
			  NULL, NULL);
	assert_int_equal(journal_priority(e), 3);
	e->status = JOB_STATUS_ACTIVE;
	assert_int_equal(journal_priority(e), 5);
	e->status = JOB_STATUS_CREATE_IN_PROGRESS;
	assert_int_equal(journal_priority(e), 6);
	e->type = EVENT_JOB_STUCK;
	assert_int_equal(journal_priority(e), 4);
	e->type = EVENT_JOB_GONE;
	e->status = JOB_STATUS_GONE;
	assert_int_equal(journal_priority(e), 3);
	e->type = EVENT_JOB_DISCOVERED;
	e->status = JOB_STATUS_DELETE_FAILED;
	assert_int_equal(journal_priority(e), 3);
	event_free(e);
	for (int t = 0; t < _EVENT_TYPE_MAX; t++) {
		const char *id = journal_message_id((enum event_type)t);
		assert_non_null(id);
		assert_int_equal(strlen(id), 32);
		for (int u = 0; u < t; u++)
			assert_string_not_equal(id, journal_message_id((enum event_type)u));
	}
	assert_null(journal_message_id(EVENT_TYPE_INVALID));
}

/* Issue 15: an event of another kind says what it is (resourceType,
 * resourceArn, the kind's noun in the summary, resource_type label) and
 * carries metricsStatus/logsStatus; PUBLISH_FAILED makes the journal entry a
 * warning although the status itself is not a failure.  An audience
 * generation job's body has none of these members. */
static void test_other_kinds(void **state)
{
	static const char tm[] = "arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/"
				 "a1b2c3d4-0000-4000-8000-00000000e3b0/trained-model/tm1";
	struct event *e = jwt_event_new(EVENT_JOB_STATUS_CHANGED, JOB_STATUS_CREATE_IN_PROGRESS,
					JOB_STATUS_INACTIVE, NULL, NULL);
	char *body, *line;
	cJSON *j, *d, *l;

	free(e->job->arn);
	e->job->arn = strdup(tm);
	e->job->kind = KIND_TRAINED_MODEL;
	free(e->job->configured_audience_model_arn);
	e->job->configured_audience_model_arn = NULL;
	assert_int_equal(journal_priority(e), 5);
	e->job->metrics_status = strdup("PUBLISH_FAILED");
	e->job->metrics_status_details = strdup("no metrics");
	e->job->logs_status = strdup("PUBLISH_SUCCEEDED");
	assert_int_equal(journal_priority(e), 4);

	body = payload_build(PAYLOAD_FORMAT_JSON, e);
	assert_non_null(body);
	j = cJSON_Parse(body);
	d = cJSON_GetObjectItemCaseSensitive(j, "data");
	assert_string_equal(jstr(d, "resourceType"), "trained-model");
	assert_string_equal(jstr(d, "resourceArn"), tm);
	assert_string_equal(jstr(d, "jobArn"), tm);
	assert_string_equal(jstr(d, "status"), "INACTIVE");
	assert_string_equal(jstr(d, "metricsStatus"), "PUBLISH_FAILED");
	assert_string_equal(jstr(d, "metricsStatusDetails"), "no metrics");
	assert_string_equal(jstr(d, "logsStatus"), "PUBLISH_SUCCEEDED");
	cJSON_Delete(j);
	free(body);

	line = payload_summary_line(e);
	assert_string_equal(line,
			    "trained model \"weekly-lookalike\" CREATE_IN_PROGRESS \xe2\x86\x92 INACTIVE");
	free(line);

	/* INACTIVE settles: it resolves like ACTIVE; CANCEL_FAILED fires. */
	e->status = e->job->status = JOB_STATUS_CANCEL_FAILED;
	body = payload_build(PAYLOAD_FORMAT_ALERTMANAGER_WEBHOOK, e);
	assert_non_null(body);
	j = cJSON_Parse(body);
	assert_string_equal(jstr(j, "status"), "firing");
	l = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "alerts"), 0), "labels");
	assert_string_equal(jstr(l, "resource_type"), "trained-model");
	cJSON_Delete(j);
	free(body);
	event_free(e);

	e = jwt_event_new(EVENT_JOB_STATUS_CHANGED, JOB_STATUS_CREATE_IN_PROGRESS, JOB_STATUS_ACTIVE, NULL,
			  NULL);
	body = payload_build(PAYLOAD_FORMAT_JSON, e);
	j = cJSON_Parse(body);
	d = cJSON_GetObjectItemCaseSensitive(j, "data");
	assert_null(cJSON_GetObjectItemCaseSensitive(d, "resourceType"));
	assert_null(cJSON_GetObjectItemCaseSensitive(d, "resourceArn"));
	assert_null(cJSON_GetObjectItemCaseSensitive(d, "metricsStatus"));
	cJSON_Delete(j);
	free(body);
	body = payload_build(PAYLOAD_FORMAT_ALERTMANAGER_WEBHOOK, e);
	j = cJSON_Parse(body);
	l = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "alerts"), 0), "labels");
	assert_null(cJSON_GetObjectItemCaseSensitive(l, "resource_type"));
	cJSON_Delete(j);
	free(body);
	event_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_status_changed),
	    cmocka_unit_test(test_json_discovered_metrics),
	    cmocka_unit_test(test_json_truncates_long_message),
	    cmocka_unit_test(test_summary_lines),
	    cmocka_unit_test(test_slack_escape),
	    cmocka_unit_test(test_slack_payload),
	    cmocka_unit_test(test_alertmanager_relevance),
	    cmocka_unit_test(test_alertmanager_firing_and_resolved),
	    cmocka_unit_test(test_alertmanager_stuck_gone),
	    cmocka_unit_test(test_formats_and_journal_meta),
	    cmocka_unit_test(test_other_kinds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
