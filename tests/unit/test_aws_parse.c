/* aws/parse.c: GetAudienceGenerationJob / ListAudienceGenerationJobs JSON to
 * struct job_observation, and the protocol errors for answers that do not
 * fit the model. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "aws/parse.h"
#include "model.h"
#include "util.h"

#define ARN                                                                                                 \
	"arn:aws:cleanrooms-ml:us-east-1:123456789012:audience-generation-job/"                             \
	"7c5d1c56-aaaa-bbbb-cccc-0123456789ab"
#define CAM "arn:aws:cleanrooms-ml:us-east-1:123456789012:configured-audience-model/cam-1"

/* Every member of the seed's response syntax, plus members the model may
 * gain later (unknown ones must be ignored). */
static const char full_json[] =
    "{\"createTime\":\"2024-01-15T12:00:00.123Z\",\"updateTime\":\"2024-01-15T12:05:00Z\","
    "\"audienceGenerationJobArn\":\"" ARN "\",\"name\":\"job one\",\"description\":\"desc\","
    "\"status\":\"CREATE_FAILED\",\"statusDetails\":{\"statusCode\":\"INTERNAL\",\"message\":\"boom\"},"
    "\"configuredAudienceModelArn\":\"" CAM "\","
    "\"seedAudience\":{\"dataSource\":{\"s3Uri\":\"s3://bucket/seed.jsonl\"},\"roleArn\":"
    "\"arn:aws:iam::123456789012:role/seed\",\"sqlParameters\":{\"queryString\":\"SELECT 1\","
    "\"analysisTemplateArn\":\"arn:aws:cleanrooms:us-east-1:123456789012:membership/m/analysistemplate/t\","
    "\"parameters\":{\"p1\":\"v1\",\"p2\":\"v2\"}},\"sqlComputeConfiguration\":{\"worker\":{\"type\":\"CR."
    "4X\","
    "\"number\":16}}},"
    "\"includeSeedInOutput\":true,\"collaborationId\":\"11111111-2222-3333-4444-555555555555\","
    "\"metrics\":{\"relevanceMetrics\":[{\"audienceSize\":{\"type\":\"ABSOLUTE\",\"value\":1000},\"score\":"
    "0.5},"
    "{\"audienceSize\":{\"type\":\"PERCENTAGE\",\"value\":20}}],\"recallMetric\":0.25},"
    "\"startedBy\":\"123456789012\",\"tags\":{\"team\":\"ads\",\"env\":\"prod\"},"
    "\"protectedQueryIdentifier\":\"pq-1\",\"someFutureField\":{\"x\":[1,2,3]},\"anotherOne\":42}";

static struct job_observation *parse_ok(const char *json)
{
	struct job_observation *o = NULL;
	char err[256];
	int r = aws_parse_get(json, strlen(json), &o, err, sizeof(err));
	if (r != 0)
		fail_msg("aws_parse_get failed: %d %s", r, err);
	return o;
}

static void expect_error(const char *json, const char *needle)
{
	struct job_observation *o = NULL;
	char err[256] = "";
	int r = aws_parse_get(json, strlen(json), &o, err, sizeof(err));
	if (r != -EBADMSG)
		fail_msg("want -EBADMSG for %.200s, got %d", json, r);
	assert_null(o);
	if (!strstr(err, needle))
		fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
}

static void test_full_shape(void **state)
{
	struct job_observation *o = parse_ok(full_json);

	assert_string_equal(o->arn, ARN);
	assert_string_equal(o->name, "job one");
	assert_string_equal(o->description, "desc");
	assert_int_equal(o->status, JOB_STATUS_CREATE_FAILED);
	assert_string_equal(o->status_code, "INTERNAL");
	assert_string_equal(o->status_message, "boom");
	assert_string_equal(o->configured_audience_model_arn, CAM);
	assert_string_equal(o->collaboration_id, "11111111-2222-3333-4444-555555555555");
	assert_string_equal(o->started_by, "123456789012");
	assert_string_equal(o->protected_query_identifier, "pq-1");
	assert_int_equal(o->create_time_ms, 1705320000123LL);
	assert_int_equal(o->update_time_ms, 1705320300000LL);
	assert_true(o->has_include_seed_in_output);
	assert_true(o->include_seed_in_output);
	assert_true(o->has_seed_audience);
	assert_string_equal(o->seed_s3_uri, "s3://bucket/seed.jsonl");
	assert_string_equal(o->seed_role_arn, "arn:aws:iam::123456789012:role/seed");
	assert_string_equal(o->seed_sql_query_string, "SELECT 1");
	assert_non_null(o->seed_sql_analysis_template_arn);
	assert_int_equal(o->n_seed_sql_parameters, 2);
	assert_string_equal(o->seed_sql_parameters[0], "p1");
	assert_string_equal(o->seed_sql_parameters[1], "v1");
	assert_string_equal(o->seed_sql_parameters[3], "v2");
	assert_string_equal(o->seed_worker_type, "CR.4X");
	assert_int_equal(o->seed_worker_number, 16);
	assert_true(o->has_metrics);
	assert_int_equal(o->n_relevance_metrics, 2);
	assert_string_equal(o->relevance_metrics[0].audience_size_type, "ABSOLUTE");
	assert_int_equal(o->relevance_metrics[0].audience_size_value, 1000);
	assert_true(o->relevance_metrics[0].has_score);
	assert_true(o->relevance_metrics[0].score == 0.5);
	assert_false(o->relevance_metrics[1].has_score);
	assert_true(o->has_recall_metric);
	assert_true(o->recall_metric == 0.25);
	assert_int_equal(o->n_tags, 2);
	assert_string_equal(o->tags[0], "team");
	assert_string_equal(o->tags[1], "ads");
	assert_false(o->from_list);
	job_observation_free(o);
}

/* The JSON written back has the API's field names and the same values. */
static void test_roundtrip_json(void **state)
{
	struct job_observation *o = parse_ok(full_json), *o2;
	char *js = job_observation_to_json(o);

	assert_non_null(js);
	o2 = parse_ok(js);
	assert_string_equal(o2->arn, o->arn);
	assert_int_equal(o2->create_time_ms, o->create_time_ms);
	assert_int_equal(o2->n_tags, 2);
	assert_int_equal(o2->seed_worker_number, 16);
	assert_non_null(strstr(js, "\"audienceGenerationJobArn\":"));
	free(js);
	job_observation_free(o);
	job_observation_free(o2);
}

static void test_minimal_and_nulls(void **state)
{
	struct job_observation *o = parse_ok(
	    "{\"createTime\":1705320000.5,\"updateTime\":\"2024-01-15T12:00:00+02:00\","
	    "\"audienceGenerationJobArn\":\"" ARN "\",\"name\":\"n\",\"status\":\"ACTIVE\","
	    "\"configuredAudienceModelArn\":\"" CAM "\",\"seedAudience\":null,\"description\":null}");
	assert_int_equal(o->create_time_ms, 1705320000500LL);
	assert_int_equal(o->update_time_ms, 1705320000000LL - 2 * 3600 * 1000);
	assert_int_equal(o->status, JOB_STATUS_ACTIVE);
	assert_null(o->description);
	assert_false(o->has_seed_audience);
	assert_false(o->has_metrics);
	assert_false(o->has_include_seed_in_output);
	assert_int_equal(o->n_tags, 0);
	job_observation_free(o);
}

/* Removes one member (path "a" or "a.b") from the full answer. */
static char *without(const char *path)
{
	cJSON *j = cJSON_Parse(full_json), *parent = j;
	char buf[128], *dot, *out;

	snprintf(buf, sizeof(buf), "%s", path);
	dot = strchr(buf, '.');
	if (dot) {
		*dot = '\0';
		parent = cJSON_GetObjectItemCaseSensitive(j, buf);
		path = dot + 1;
	} else {
		path = buf;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(parent, path);
	out = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return out;
}

static char *with(const char *name, cJSON *value)
{
	cJSON *j = cJSON_Parse(full_json);
	char *out;

	cJSON_ReplaceItemInObjectCaseSensitive(j, name, value);
	out = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return out;
}

static void test_required_fields(void **state)
{
	static const char *const required[] = {
	    "createTime", "updateTime", "audienceGenerationJobArn",
	    "name",	  "status",	"configuredAudienceModelArn",
	};
	for (size_t i = 0; i < ELEMENTSOF(required); i++) {
		char *js = without(required[i]);
		char want[96];
		snprintf(want, sizeof(want), "missing required field \"%s\"", required[i]);
		expect_error(js, want);
		free(js);
	}
	/* Optional ones may go. */
	static const char *const optional[] = {"description",
					       "statusDetails",
					       "seedAudience",
					       "metrics",
					       "tags",
					       "includeSeedInOutput",
					       "collaborationId",
					       "startedBy",
					       "protectedQueryIdentifier",
					       "metrics.recallMetric"};
	for (size_t i = 0; i < ELEMENTSOF(optional); i++) {
		char *js = without(optional[i]);
		job_observation_free(parse_ok(js));
		free(js);
	}
}

static void test_bad_values(void **state)
{
	char *js;

	js = with("status", cJSON_CreateString("PAUSED BY \"ME\""));
	expect_error(js, "field \"status\" has an invalid value \"PAUSED BY ?ME?\"");
	free(js);
	js = with("status", cJSON_CreateString(""));
	expect_error(js, "field \"status\" has an invalid value");
	free(js);
	js = with("status", cJSON_CreateNumber(3));
	expect_error(js, "\"status\" is not a string");
	free(js);
	js = with("name", cJSON_CreateTrue());
	expect_error(js, "\"name\" is not a string");
	free(js);
	js = with("createTime", cJSON_CreateString("yesterday"));
	expect_error(js, "\"createTime\" is not a valid ISO 8601");
	free(js);
	js = with("updateTime", cJSON_CreateArray());
	expect_error(js, "\"updateTime\" is not a timestamp");
	free(js);
	js = with("audienceGenerationJobArn", cJSON_CreateString("arn:aws:s3:::bucket"));
	expect_error(js, "\"audienceGenerationJobArn\" is not an audience generation job ARN");
	free(js);
	js = with("includeSeedInOutput", cJSON_CreateString("true"));
	expect_error(js, "\"includeSeedInOutput\" is not a boolean");
	free(js);
	js = with("tags", cJSON_CreateString("a=b"));
	expect_error(js, "\"tags\" is not an object");
	free(js);
	js = with("metrics", cJSON_Parse("{\"relevanceMetrics\":{}}"));
	expect_error(js, "\"metrics.relevanceMetrics\" is not an array");
	free(js);
	js = with("metrics", cJSON_Parse("{\"relevanceMetrics\":[{\"audienceSize\":{\"value\":1.5}}]}"));
	expect_error(js, "\"value\" is not an integer");
	free(js);
	js = with("tags", cJSON_Parse("{\"k\":1}"));
	expect_error(js, "\"tags.k\" is not a string");
	free(js);

	expect_error("", "empty body");
	expect_error("<html>503</html>", "not JSON");
	expect_error("[1,2]", "not a JSON object");
	expect_error("{\"createTime\":", "not JSON");
}

static void test_caps(void **state)
{
	cJSON *tags = cJSON_CreateObject(), *rm = cJSON_CreateObject(), *arr;
	char key[16], *js, *big;
	size_t len = AWS_MAX_BODY + 1;

	for (int i = 0; i < AWS_MAX_TAGS + 1; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		cJSON_AddStringToObject(tags, key, "v");
	}
	js = with("tags", tags);
	expect_error(js, "\"tags\" has 201 entries (max 200)");
	free(js);

	arr = cJSON_AddArrayToObject(rm, "relevanceMetrics");
	for (int i = 0; i < AWS_MAX_RELEVANCE_METRICS + 1; i++)
		cJSON_AddItemToArray(arr,
				     cJSON_Parse("{\"audienceSize\":{\"type\":\"ABSOLUTE\",\"value\":1}}"));
	js = with("metrics", rm);
	expect_error(js, "has 101 entries (max 100)");
	free(js);

	/* Exactly at the caps is fine. */
	tags = cJSON_CreateObject();
	for (int i = 0; i < AWS_MAX_TAGS; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		cJSON_AddStringToObject(tags, key, "v");
	}
	js = with("tags", tags);
	job_observation_free(parse_ok(js));
	free(js);

	/* Over the body cap: refused before parsing, whatever it contains. */
	big = malloc(len + 1);
	assert_non_null(big);
	memset(big, ' ', len);
	memcpy(big, full_json, strlen(full_json));
	big[len] = '\0';
	{
		struct job_observation *o = NULL;
		char err[256];
		assert_int_equal(aws_parse_get(big, len, &o, err, sizeof(err)), -EBADMSG);
		assert_non_null(strstr(err, "cap"));
	}
	free(big);
}

/* A seed audience given by SQL, as the service answers for a SQL-seeded
 * job: the query is in the answer, up to the model's 500,000 characters. */
static char *sql_seeded(const char *query)
{
	cJSON *seed = cJSON_CreateObject(), *sql;

	cJSON_AddStringToObject(seed, "roleArn", "arn:aws:iam::123456789012:role/seed");
	sql = cJSON_AddObjectToObject(seed, "sqlParameters");
	cJSON_AddStringToObject(sql, "queryString", query);
	return with("seedAudience", seed);
}

/* String caps are the model's lengths, in characters; the body cap leaves
 * room for the longest string escaped character by character. */
static void test_model_lengths(void **state)
{
	size_t n = AWS_MAX_QUERY_STRING;
	char *q = malloc(2 * n + 3), *js, *body, *at;
	struct job_observation *o;

	assert_int_equal(AWS_MAX_QUERY_STRING, 500000);
	/* 500,000 characters of two bytes each ("é"): over the byte count,
	 * within the character count. */
	for (size_t i = 0; i < n; i++)
		memcpy(q + 2 * i, "\xc3\xa9", 2);
	q[2 * n] = '\0';
	js = sql_seeded(q);
	o = parse_ok(js);
	assert_int_equal(strlen(o->seed_sql_query_string), 2 * n);
	job_observation_free(o);
	free(js);
	/* One more character is over the model's limit. */
	memcpy(q + 2 * n, "x", 2);
	js = sql_seeded(q);
	expect_error(js, "\"queryString\" is longer than 500000 characters");
	free(js);

	/* The same query as the service may send it, every character escaped
	 * (\u00e9, 6 bytes): 3,000,000 bytes of query in the body. */
	js = sql_seeded("@");
	at = strchr(strstr(js, "\"queryString\""), '@');
	body = malloc(strlen(js) + 6 * n + 1);
	memcpy(body, js, (size_t)(at - js));
	for (size_t i = 0; i < n; i++)
		memcpy(body + (at - js) + 6 * i, "\\u00e9", 6);
	strcpy(body + (at - js) + 6 * n, at + 1);
	assert_true(strlen(body) > 3000000);
	o = parse_ok(body);
	assert_int_equal(strlen(o->seed_sql_query_string), 2 * n);
	job_observation_free(o);
	free(body);
	free(js);
	free(q);

	/* Shorter limits, at and over. */
	js = with("name",
		  cJSON_CreateString("123456789012345678901234567890123456789012345678901234567890123"));
	job_observation_free(parse_ok(js));
	free(js);
	js = with("name",
		  cJSON_CreateString("1234567890123456789012345678901234567890123456789012345678901234"));
	expect_error(js, "\"name\" is longer than 63 characters");
	free(js);
	js = with("tags", cJSON_Parse("{\"k\":\""
				      "1234567890123456789012345678901234567890123456789012345678901234"
				      "1234567890123456789012345678901234567890123456789012345678901234"
				      "1234567890123456789012345678901234567890123456789012345678901234"
				      "1234567890123456789012345678901234567890123456789012345678901234"
				      "x\"}"));
	expect_error(js, "\"tags\" has an over-long entry");
	free(js);
}

/* What the model defines in sqlComputeConfiguration is echoed, and what
 * the answer did not have is not invented. */
static void test_worker_echo(void **state)
{
	struct job_observation *o;
	char *js, *out;

	js = with(
	    "seedAudience",
	    cJSON_Parse("{\"roleArn\":\"arn:aws:iam::123456789012:role/r\",\"dataSource\":{\"s3Uri\":"
			"\"s3://b/k\"},\"sqlComputeConfiguration\":{\"worker\":{\"type\":\"CR.1X\"}}}"));
	o = parse_ok(js);
	out = job_observation_to_json(o);
	assert_non_null(strstr(out, "\"worker\":{\"type\":\"CR.1X\"}"));
	assert_null(strstr(out, "\"number\""));
	free(out);
	job_observation_free(o);
	free(js);

	js = with("seedAudience",
		  cJSON_Parse("{\"roleArn\":\"arn:aws:iam::123456789012:role/r\",\"dataSource\":{\"s3Uri\":"
			      "\"s3://b/k\"},\"sqlComputeConfiguration\":{\"worker\":{\"type\":\"CR.4X\","
			      "\"number\":8,\"properties\":{\"spark\":{\"spark.executor.memory\":\"8g\","
			      "\"spark.sql.shuffle.partitions\":\"200\"}}}}}"));
	o = parse_ok(js);
	out = job_observation_to_json(o);
	assert_non_null(
	    strstr(out, "\"worker\":{\"type\":\"CR.4X\",\"number\":8,\"properties\":{\"spark\":"
			"{\"spark.executor.memory\":\"8g\",\"spark.sql.shuffle.partitions\":\"200\"}}}"));
	free(out);
	job_observation_free(o);
	free(js);

	/* A worker with nothing in it is still a worker. */
	js = with("seedAudience", cJSON_Parse("{\"roleArn\":\"arn:aws:iam::123456789012:role/r\","
					      "\"sqlComputeConfiguration\":{\"worker\":{}}}"));
	o = parse_ok(js);
	out = job_observation_to_json(o);
	assert_non_null(strstr(out, "\"sqlComputeConfiguration\":{\"worker\":{}}"));
	free(out);
	job_observation_free(o);
	free(js);

	/* spark over the model's 50 entries. */
	{
		cJSON *seed =
		    cJSON_Parse("{\"roleArn\":\"arn:aws:iam::123456789012:role/r\","
				"\"sqlComputeConfiguration\":{\"worker\":{\"properties\":{\"spark\":{}}}}}");
		cJSON *spark = cJSON_GetObjectItem(
		    cJSON_GetObjectItem(
			cJSON_GetObjectItem(cJSON_GetObjectItem(seed, "sqlComputeConfiguration"), "worker"),
			"properties"),
		    "spark");
		char key[16];
		for (int i = 0; i < 51; i++) {
			snprintf(key, sizeof(key), "k%d", i);
			cJSON_AddStringToObject(spark, key, "v");
		}
		js = with("seedAudience", seed);
		expect_error(js, "\"spark\" has 51 entries (max 50)");
		free(js);
	}
}

/* The members the model marks sensitive go nowhere once redacted. */
static void test_redact_sensitive(void **state)
{
	struct job_observation *o = parse_ok(full_json);
	char *out;

	job_observation_redact(o);
	assert_null(o->seed_sql_query_string);
	assert_null(o->seed_sql_analysis_template_arn);
	assert_int_equal(o->n_seed_sql_parameters, 0);
	out = job_observation_to_json(o);
	assert_null(strstr(out, "sqlParameters"));
	assert_null(strstr(out, "SELECT 1"));
	assert_null(strstr(out, "analysistemplate"));
	assert_null(strstr(out, "\"p1\""));
	/* The rest of the seed stays. */
	assert_non_null(strstr(out, "\"roleArn\":\"arn:aws:iam::123456789012:role/seed\""));
	assert_non_null(strstr(out, "\"s3Uri\":\"s3://bucket/seed.jsonl\""));
	free(out);
	job_observation_free(o);
	job_observation_redact(NULL);
}

static char *list_page(int n, const char *token)
{
	cJSON *j = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(j, "audienceGenerationJobs");
	char *out;

	for (int i = 0; i < n; i++) {
		cJSON *e = cJSON_CreateObject();
		char arn[200];
		snprintf(arn, sizeof(arn),
			 "arn:aws:cleanrooms-ml:us-east-1:123456789012:audience-generation-job/j-%d", i);
		cJSON_AddStringToObject(e, "createTime", "2024-01-15T12:00:00Z");
		cJSON_AddStringToObject(e, "updateTime", "2024-01-15T12:00:01Z");
		cJSON_AddStringToObject(e, "audienceGenerationJobArn", arn);
		cJSON_AddStringToObject(e, "name", "n");
		cJSON_AddStringToObject(e, "status", i % 2 ? "ACTIVE" : "CREATE_IN_PROGRESS");
		cJSON_AddStringToObject(e, "configuredAudienceModelArn", CAM);
		cJSON_AddStringToObject(e, "startedBy", "123456789012");
		cJSON_AddStringToObject(e, "unknownSummaryField", "x");
		cJSON_AddItemToArray(arr, e);
	}
	if (token)
		cJSON_AddStringToObject(j, "nextToken", token);
	out = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return out;
}

static void test_list(void **state)
{
	struct job_observation **items = NULL;
	char *token = NULL, err[256], *js;
	size_t n = 0, skipped = 0;

	js = list_page(3, "abc+/def==");
	assert_int_equal(aws_parse_list(js, strlen(js), &items, &n, &skipped, &token, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_string_equal(token, "abc+/def==");
	assert_true(items[0]->from_list);
	assert_int_equal(items[0]->status, JOB_STATUS_CREATE_IN_PROGRESS);
	assert_int_equal(items[1]->status, JOB_STATUS_ACTIVE);
	assert_string_equal(items[2]->arn,
			    "arn:aws:cleanrooms-ml:us-east-1:123456789012:audience-generation-job/j-2");
	aws_job_array_free(items, n);
	free(token);
	free(js);

	/* Last page: no token; an empty page is fine. */
	js = list_page(0, NULL);
	assert_int_equal(aws_parse_list(js, strlen(js), &items, &n, &skipped, &token, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_null(token);
	assert_null(items);
	free(js);

	js = list_page(AWS_MAX_PAGE_ITEMS, "t");
	assert_int_equal(aws_parse_list(js, strlen(js), &items, &n, &skipped, &token, err, sizeof(err)), 0);
	assert_int_equal(n, 100);
	aws_job_array_free(items, n);
	free(token);
	free(js);

	js = list_page(AWS_MAX_PAGE_ITEMS + 1, "t");
	assert_int_equal(aws_parse_list(js, strlen(js), &items, &n, &skipped, &token, err, sizeof(err)),
			 -EBADMSG);
	assert_non_null(strstr(err, "101 entries"));
	free(js);

	{
		char *longtok = malloc(AWS_MAX_NEXT_TOKEN + 2);
		memset(longtok, 'a', AWS_MAX_NEXT_TOKEN + 1);
		longtok[AWS_MAX_NEXT_TOKEN + 1] = '\0';
		js = list_page(1, longtok);
		assert_int_equal(
		    aws_parse_list(js, strlen(js), &items, &n, &skipped, &token, err, sizeof(err)),
		    -EBADMSG);
		assert_non_null(strstr(err, "nextToken"));
		free(js);
		longtok[AWS_MAX_NEXT_TOKEN] = '\0';
		js = list_page(1, longtok);
		assert_int_equal(
		    aws_parse_list(js, strlen(js), &items, &n, &skipped, &token, err, sizeof(err)), 0);
		assert_int_equal(strlen(token), AWS_MAX_NEXT_TOKEN);
		aws_job_array_free(items, n);
		free(token);
		free(js);
		free(longtok);
	}

	/* A broken entry is skipped and counted; the reason names its index
	 * and field; the rest of the page is used. */
	{
		const char *bad =
		    "{\"audienceGenerationJobs\":[{\"createTime\":\"2024-01-15T12:00:00Z\","
		    "\"updateTime\":\"2024-01-15T12:00:00Z\",\"audienceGenerationJobArn\":\"" ARN "\","
		    "\"name\":\"n\",\"configuredAudienceModelArn\":\"" CAM "\"},"
		    "{\"createTime\":\"2024-01-15T12:00:00Z\","
		    "\"updateTime\":\"2024-01-15T12:00:00Z\",\"audienceGenerationJobArn\":\"" ARN "\","
		    "\"name\":\"n\",\"status\":\"ACTIVE\",\"configuredAudienceModelArn\":\"" CAM "\"},"
		    "7]}";
		assert_int_equal(
		    aws_parse_list(bad, strlen(bad), &items, &n, &skipped, &token, err, sizeof(err)), 0);
		assert_int_equal(n, 1);
		assert_int_equal(skipped, 2);
		assert_int_equal(items[0]->status, JOB_STATUS_ACTIVE);
		assert_non_null(strstr(err, "audienceGenerationJobs[0]"));
		assert_non_null(strstr(err, "missing required field \"status\""));
		aws_job_array_free(items, n);
	}
	{
		const char *bad = "{\"nextToken\":\"x\"}";
		assert_int_equal(
		    aws_parse_list(bad, strlen(bad), &items, &n, &skipped, &token, err, sizeof(err)),
		    -EBADMSG);
		assert_non_null(strstr(err, "audienceGenerationJobs"));
		bad = "{\"audienceGenerationJobs\":[],\"nextToken\":5}";
		assert_int_equal(
		    aws_parse_list(bad, strlen(bad), &items, &n, &skipped, &token, err, sizeof(err)),
		    -EBADMSG);
		assert_non_null(strstr(err, "\"nextToken\" is not a string"));
		bad = "{\"audienceGenerationJobs\":[\"x\"]}";
		assert_int_equal(
		    aws_parse_list(bad, strlen(bad), &items, &n, &skipped, &token, err, sizeof(err)), 0);
		assert_int_equal(n, 0);
		assert_int_equal(skipped, 1);
		assert_null(items);
	}
}

/* The service's enums grow (sibling enums of this API gained INACTIVE and
 * CANCEL_* in 2024-11, known since issue 15): an unknown value is a status,
 * kept as sent, in a Get and in a List entry, and it is polled like a working
 * status.  PAUSE_PENDING stands for a value no version knows yet. */
/* The kinds without an ARN: their identifier is built from the parent's ARN
 * and the member that tells them apart; a summary without it is skipped. */
static void test_child_kinds(void **state)
{
	static const char agj[] = "arn:aws:cleanrooms-ml:us-east-1:123456789012:audience-generation-job/j-1";
	static const char tm[] = "arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/"
				 "a1b2c3d4-0000-4000-8000-00000000e3b0/trained-model/tm";
	static const char v[] = "a1b2c3d4-0000-4000-8000-0000000000a1";
	struct job_observation **items = NULL, *o = NULL;
	char *token = NULL, err[256], body[2048];
	size_t n = 0, skipped = 0;

	(void)state;
	snprintf(body, sizeof(body),
		 "{\"audienceExportJobs\":[{\"createTime\":1,\"updateTime\":2,\"name\":\"weekly export\","
		 "\"audienceGenerationJobArn\":\"%s\",\"audienceSize\":{\"type\":\"ABSOLUTE\",\"value\":5},"
		 "\"status\":\"CREATE_FAILED\",\"statusDetails\":{\"statusCode\":\"X\",\"message\":\"no\"}},"
		 "{\"createTime\":1,\"updateTime\":2,\"audienceGenerationJobArn\":\"%s\",\"status\":"
		 "\"ACTIVE\"}]}",
		 agj, agj);
	assert_int_equal(aws_parse_list_kind(KIND_AUDIENCE_EXPORT_JOB, body, strlen(body), &items, &n,
					     &skipped, &token, err, sizeof(err)),
			 0);
	assert_int_equal(n, 1);
	assert_int_equal(skipped, 1);
	assert_non_null(strstr(err, "\"name\""));
	assert_int_equal(items[0]->kind, KIND_AUDIENCE_EXPORT_JOB);
	assert_string_equal(items[0]->arn,
			    "arn:aws:cleanrooms-ml:us-east-1:123456789012:audience-generation-job/"
			    "j-1/audience-export-job/weekly export");
	assert_int_equal(items[0]->status, JOB_STATUS_CREATE_FAILED);
	assert_string_equal(items[0]->status_code, "X");
	aws_job_array_free(items, n);

	/* A trained model version's Get answer names the model and the version. */
	snprintf(
	    body, sizeof(body),
	    "{\"trainedModelArn\":\"%s\",\"versionIdentifier\":\"%s\",\"name\":\"tm\",\"status\":\"ACTIVE\","
	    "\"createTime\":1,\"updateTime\":2,\"membershipIdentifier\":\"a1b2c3d4-0000-4000-8000-"
	    "00000000e3b0\","
	    "\"collaborationIdentifier\":\"a1b2c3d4-0000-4000-8000-00000000c011\"}",
	    tm, v);
	assert_int_equal(
	    aws_parse_get_kind(KIND_TRAINED_MODEL_VERSION, body, strlen(body), &o, err, sizeof(err)), 0);
	assert_int_equal(o->kind, KIND_TRAINED_MODEL_VERSION);
	assert_non_null(
	    strstr(o->arn, "/trained-model/tm/trained-model-version/a1b2c3d4-0000-4000-8000-0000000000a1"));
	job_observation_free(o);
	/* A version that is not a UUID names no version. */
	snprintf(
	    body, sizeof(body),
	    "{\"trainedModelArn\":\"%s\",\"versionIdentifier\":\"v1\",\"name\":\"tm\",\"status\":\"ACTIVE\","
	    "\"createTime\":1,\"updateTime\":2}",
	    tm);
	assert_int_equal(
	    aws_parse_get_kind(KIND_TRAINED_MODEL_VERSION, body, strlen(body), &o, err, sizeof(err)),
	    -EBADMSG);
	assert_non_null(strstr(err, "do not name a trained-model-version"));
	/* The collaboration List's result member. */
	snprintf(body, sizeof(body), "{\"collaborationTrainedModels\":[]}");
	assert_int_equal(aws_parse_list_key(KIND_TRAINED_MODEL, "collaborationTrainedModels", body,
					    strlen(body), &items, &n, &skipped, &token, err, sizeof(err)),
			 0);
	assert_int_equal(n, 0);
}

static void test_unknown_enum_values(void **state)
{
	struct job_observation **items = NULL, *o;
	char *token = NULL, err[256], *js;
	size_t n = 0, skipped = 0;
	enum job_status st;

	js = with("status", cJSON_CreateString("PAUSE_PENDING"));
	o = parse_ok(js);
	assert_true(job_status_is_unknown(o->status));
	assert_true(job_status_is_api(o->status));
	assert_string_equal(job_status_to_string(o->status), "PAUSE_PENDING");
	assert_int_equal(job_status_class(o->status), STATUS_CLASS_WORKING);
	assert_false(job_status_is_failed(o->status));
	st = o->status;
	job_observation_free(o);
	free(js);
	/* Interned: the same value is the same status, reported once. */
	assert_int_equal(job_status_from_api("PAUSE_PENDING"), st);
	assert_true(job_status_first_report(st));
	assert_false(job_status_first_report(st));
	/* Configuration and filters still accept only known values. */
	assert_int_equal(job_status_from_string("PAUSE_PENDING"), JOB_STATUS_INVALID);
	assert_int_equal(job_status_from_api("GONE"), JOB_STATUS_INVALID);
	/* The statuses of the newer kinds are known, each in its class. */
	assert_int_equal(job_status_class(job_status_from_string("CANCEL_PENDING")), STATUS_CLASS_WORKING);
	assert_int_equal(job_status_class(job_status_from_string("CANCEL_IN_PROGRESS")),
			 STATUS_CLASS_WORKING);
	assert_int_equal(job_status_class(job_status_from_string("CANCEL_FAILED")), STATUS_CLASS_FAILED);
	assert_int_equal(job_status_class(job_status_from_string("INACTIVE")), STATUS_CLASS_SETTLED);
	assert_true(job_status_is_failed(JOB_STATUS_CANCEL_FAILED));

	js = list_page(3, NULL);
	{
		char *p = strstr(js, "\"ACTIVE\"");
		assert_non_null(p);
		/* Same length, so the page stays valid JSON. */
		memcpy(p + 1, "PAUSED", 6);
	}
	assert_int_equal(aws_parse_list(js, strlen(js), &items, &n, &skipped, &token, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_int_equal(skipped, 0);
	assert_string_equal(job_status_to_string(items[1]->status), "PAUSED");
	aws_job_array_free(items, n);
	free(js);

	/* Other enums the daemon reads are passed through as well. */
	js = with(
	    "seedAudience",
	    cJSON_Parse("{\"roleArn\":\"arn:aws:iam::123456789012:role/r\","
			"\"sqlComputeConfiguration\":{\"worker\":{\"type\":\"CR.16X\",\"number\":4}}}"));
	o = parse_ok(js);
	assert_string_equal(o->seed_worker_type, "CR.16X");
	job_observation_free(o);
	free(js);
	js = with("metrics", cJSON_Parse("{\"relevanceMetrics\":[{\"audienceSize\":{\"type\":\"RATIO\","
					 "\"value\":5}}]}"));
	o = parse_ok(js);
	assert_string_equal(o->relevance_metrics[0].audience_size_type, "RATIO");
	job_observation_free(o);
	free(js);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_shape),
	    cmocka_unit_test(test_roundtrip_json),
	    cmocka_unit_test(test_minimal_and_nulls),
	    cmocka_unit_test(test_required_fields),
	    cmocka_unit_test(test_bad_values),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_list),
	    cmocka_unit_test(test_unknown_enum_values),
	    cmocka_unit_test(test_child_kinds),
	    cmocka_unit_test(test_model_lengths),
	    cmocka_unit_test(test_worker_echo),
	    cmocka_unit_test(test_redact_sensitive),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
