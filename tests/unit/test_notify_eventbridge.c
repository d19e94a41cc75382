/* notify/eventbridge_entry.c: a PutEvents entry field by field, the answer
 * parser, and which refusal codes are retried. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "event.h"
#include "model.h"
#include "notify/eventbridge_entry.h"
#include "jwtest.h"
#include "util.h"

#define ARN JWT_EVENT_ARN

/* The shared sample event, detected at 13:00:05.042 (Time carries the
 * milliseconds). */
static struct event *make_event(enum event_type type, enum job_status prev, enum job_status status)
{
	struct event *e = jwt_event_new(type, prev, status, "INSUFFICIENT_SEED", "seed too small");

	e->detected_ms = 1705323605042;
	return e;
}

static void test_entry(void **state)
{
	struct event *e =
	    make_event(EVENT_JOB_STATUS_CHANGED, JOB_STATUS_CREATE_IN_PROGRESS, JOB_STATUS_CREATE_FAILED);
	char *s = eventbridge_entry_build(e, "ops-bus", "com.example.jobwatchd");
	cJSON *j, *d, *res, *t;

	(void)state;
	assert_non_null(s);
	j = cJSON_Parse(s);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "Source")->valuestring, "com.example.jobwatchd");
	assert_string_equal(cJSON_GetObjectItem(j, "DetailType")->valuestring,
			    "Audience Generation Job Status Change");
	assert_string_equal(cJSON_GetObjectItem(j, "EventBusName")->valuestring, "ops-bus");
	res = cJSON_GetObjectItem(j, "Resources");
	assert_int_equal(cJSON_GetArraySize(res), 1);
	assert_string_equal(cJSON_GetArrayItem(res, 0)->valuestring, ARN);
	t = cJSON_GetObjectItem(j, "Time");
	assert_true(cJSON_IsNumber(t));
	assert_true(strstr(s, "\"Time\":1705323605.042") != NULL);
	/* Detail is a JSON string holding a flat object, "type" first. */
	d = cJSON_Parse(cJSON_GetObjectItem(j, "Detail")->valuestring);
	assert_non_null(d);
	assert_string_equal(d->child->string, "type");
	assert_string_equal(cJSON_GetObjectItem(d, "type")->valuestring, "job.status_changed");
	assert_string_equal(cJSON_GetObjectItem(d, "jobArn")->valuestring, ARN);
	assert_string_equal(cJSON_GetObjectItem(d, "status")->valuestring, "CREATE_FAILED");
	assert_string_equal(cJSON_GetObjectItem(d, "previousStatus")->valuestring, "CREATE_IN_PROGRESS");
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(d, "statusDetails"), "statusCode")->valuestring,
	    "INSUFFICIENT_SEED");
	assert_string_equal(cJSON_GetObjectItem(d, "eventId")->valuestring, e->id);
	cJSON_Delete(d);
	cJSON_Delete(j);
	free(s);
	event_free(e);
}

static void test_detail_types(void **state)
{
	(void)state;
	assert_string_equal(eventbridge_detail_type(EVENT_JOB_DISCOVERED),
			    "Audience Generation Job Discovered");
	assert_string_equal(eventbridge_detail_type(EVENT_JOB_STUCK), "Audience Generation Job Stuck");
	assert_string_equal(eventbridge_detail_type(EVENT_JOB_GONE), "Audience Generation Job Gone");
	assert_string_equal(eventbridge_detail_type(EVENT_JOB_NOT_FOUND),
			    "Audience Generation Job Not Found");
	assert_null(eventbridge_detail_type(EVENT_TYPE_INVALID));
}

/* Issue 15: an event of another kind has its kind's detail type; the
 * Detail carries resourceType and resourceArn like the json webhook. */
static void test_other_kind(void **state)
{
	static const char ij[] = "arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/"
				 "a1b2c3d4-0000-4000-8000-00000000e3b0/trained-model-inference-job/ij";
	struct event *e = make_event(EVENT_JOB_STATUS_CHANGED, JOB_STATUS_ACTIVE, JOB_STATUS_INACTIVE);
	char *s;
	cJSON *j, *d;

	(void)state;
	free(e->job->arn);
	e->job->arn = strdup(ij);
	e->job->kind = KIND_TRAINED_MODEL_INFERENCE_JOB;
	s = eventbridge_entry_build(e, "ops-bus", "jobwatchd");
	assert_non_null(s);
	j = cJSON_Parse(s);
	assert_string_equal(cJSON_GetObjectItem(j, "DetailType")->valuestring,
			    "Trained Model Inference Job Status Change");
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "Resources"), 0)->valuestring, ij);
	d = cJSON_Parse(cJSON_GetObjectItem(j, "Detail")->valuestring);
	assert_string_equal(cJSON_GetObjectItem(d, "resourceType")->valuestring,
			    "trained-model-inference-job");
	assert_string_equal(cJSON_GetObjectItem(d, "resourceArn")->valuestring, ij);
	cJSON_Delete(d);
	cJSON_Delete(j);
	free(s);
	event_free(e);
}

/* A kind without an ARN: Resources has its parent's ARN, the Detail its
 * identifier. */
static void test_child_kind(void **state)
{
	static const char exp[] = ARN "/audience-export-job/weekly export";
	struct event *e =
	    make_event(EVENT_JOB_STATUS_CHANGED, JOB_STATUS_CREATE_IN_PROGRESS, JOB_STATUS_ACTIVE);
	char *s;
	cJSON *j, *d;

	(void)state;
	free(e->job->arn);
	e->job->arn = strdup(exp);
	e->job->kind = KIND_AUDIENCE_EXPORT_JOB;
	s = eventbridge_entry_build(e, "ops-bus", "jobwatchd");
	assert_non_null(s);
	j = cJSON_Parse(s);
	assert_string_equal(cJSON_GetObjectItem(j, "DetailType")->valuestring,
			    "Audience Export Job Status Change");
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "Resources"), 0)->valuestring, ARN);
	d = cJSON_Parse(cJSON_GetObjectItem(j, "Detail")->valuestring);
	assert_string_equal(cJSON_GetObjectItem(d, "resourceType")->valuestring, "audience-export-job");
	assert_string_equal(cJSON_GetObjectItem(d, "resourceArn")->valuestring, exp);
	cJSON_Delete(d);
	cJSON_Delete(j);
	free(s);
	event_free(e);
}

static void test_response(void **state)
{
	static const char ok[] = "{\"FailedEntryCount\":1,\"Entries\":[{\"EventId\":\"a-1\"},"
				 "{\"ErrorCode\":\"ThrottlingException\",\"ErrorMessage\":\"slow down\"},"
				 "{\"EventId\":\"c-3\"}]}";
	struct eventbridge_outcome out[3];

	(void)state;
	assert_int_equal(eventbridge_response_parse(ok, strlen(ok), 3, out), 0);
	assert_string_equal(out[0].event_id, "a-1");
	assert_string_equal(out[0].error_code, "");
	assert_string_equal(out[1].error_code, "ThrottlingException");
	assert_string_equal(out[1].error_message, "slow down");
	assert_string_equal(out[2].event_id, "c-3");
	/* Not one result per entry, or not the document: nothing is known. */
	assert_int_equal(eventbridge_response_parse(ok, strlen(ok), 2, out), -EBADMSG);
	assert_int_equal(eventbridge_response_parse("{}", 2, 1, out), -EBADMSG);
	assert_int_equal(eventbridge_response_parse("{\"Entries\":[{}]}", 15, 1, out), -EBADMSG);
	assert_int_equal(eventbridge_response_parse("nope", 4, 1, out), -EBADMSG);
}

static void test_retryable(void **state)
{
	(void)state;
	assert_true(eventbridge_error_is_retryable("ThrottlingException"));
	assert_true(eventbridge_error_is_retryable("InternalFailure"));
	assert_false(eventbridge_error_is_retryable("InvalidArgument"));
	assert_false(eventbridge_error_is_retryable("MalformedDetail"));
	assert_false(eventbridge_error_is_retryable("AccessDeniedException"));
	assert_false(eventbridge_error_is_retryable("NotAuthorizedForSourceException"));
	assert_false(eventbridge_error_is_retryable(""));
}

static void test_invalid(void **state)
{
	struct event *e = make_event(EVENT_JOB_GONE, JOB_STATUS_ACTIVE, JOB_STATUS_GONE);

	(void)state;
	errno = 0;
	assert_null(eventbridge_entry_build(e, "", "jobwatchd"));
	assert_int_equal(errno, EINVAL);
	job_observation_free(e->job);
	e->job = NULL;
	assert_null(eventbridge_entry_build(e, "default", "jobwatchd"));
	event_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_entry),      cmocka_unit_test(test_detail_types),
	    cmocka_unit_test(test_response),   cmocka_unit_test(test_retryable),
	    cmocka_unit_test(test_invalid),    cmocka_unit_test(test_other_kind),
	    cmocka_unit_test(test_child_kind),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
