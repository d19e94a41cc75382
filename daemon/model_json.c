/* A struct job_observation as the API's JSON and back: the outbox payload,
 * the output of `jobwatchd get`/`list`.  The payload is the notifiers' source
 * of truth for statusDetails, metrics, seedAudience and tags, so every field
 * the writer emits is read back here; anything unknown is ignored. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "model.h"
#include "util.h"

#define STORE_JSON_MAX_PAIRS 4096

static int dup_str(const cJSON *obj, const char *key, char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsString(v) || !v->valuestring)
		return 0;
	*out = strdup(v->valuestring);
	return *out ? 0 : -ENOMEM;
}

static int get_time(const cJSON *obj, const char *key, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (cJSON_IsString(v) && v->valuestring)
		return parse_iso8601_ms(v->valuestring, out) < 0 ? -EBADMSG : 0;
	if (cJSON_IsNumber(v) && isfinite(v->valuedouble))
		*out = (int64_t)llround(v->valuedouble * 1000.0);
	return 0;
}

static bool get_number(const cJSON *obj, const char *key, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
		return false;
	*out = v->valuedouble;
	return true;
}

static int64_t double_to_int64(double d)
{
	if (d >= 9.2e18)
		return INT64_MAX;
	if (d <= -9.2e18)
		return INT64_MIN;
	return (int64_t)llround(d);
}

/* A string map ({"k": "v", ...}) into key, value, key, value ... */
static int get_pairs(const cJSON *obj, char ***ret, size_t *ret_n)
{
	const cJSON *it;
	size_t n = 0, i = 0;
	char **v;

	if (!cJSON_IsObject(obj))
		return 0;
	cJSON_ArrayForEach(it, obj) if (cJSON_IsString(it) && it->string) n++;
	if (n == 0)
		return 0;
	if (n > STORE_JSON_MAX_PAIRS)
		return -E2BIG;
	v = calloc(2 * n, sizeof(char *));
	if (!v)
		return -ENOMEM;
	/* Publish first so job_observation_free() releases partial work. */
	*ret = v;
	*ret_n = n;
	cJSON_ArrayForEach(it, obj)
	{
		if (!cJSON_IsString(it) || !it->string)
			continue;
		v[2 * i] = strdup(it->string);
		v[2 * i + 1] = strdup(it->valuestring ? it->valuestring : "");
		if (!v[2 * i] || !v[2 * i + 1])
			return -ENOMEM;
		i++;
	}
	return 0;
}

/* seedAudience.sqlParameters is never read back: the model marks it
 * sensitive, and a payload written before it was redacted must not carry
 * it to a notifier. */
static int parse_seed(const cJSON *sa, struct job_observation *o)
{
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(sa, "sqlComputeConfiguration"), "worker");
	const cJSON *props;
	double num;
	int r;

	o->has_seed_audience = true;
	r = dup_str(cJSON_GetObjectItemCaseSensitive(sa, "dataSource"), "s3Uri", &o->seed_s3_uri);
	if (r >= 0)
		r = dup_str(sa, "roleArn", &o->seed_role_arn);
	if (r >= 0 && cJSON_IsObject(w)) {
		o->has_seed_worker = true;
		r = dup_str(w, "type", &o->seed_worker_type);
		o->has_seed_worker_number = get_number(w, "number", &num);
		if (o->has_seed_worker_number)
			o->seed_worker_number = double_to_int64(num);
		props = cJSON_GetObjectItemCaseSensitive(w, "properties");
		if (r >= 0 && cJSON_IsObject(props)) {
			o->has_seed_worker_properties = true;
			o->has_seed_spark = cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(props, "spark"));
			r = get_pairs(cJSON_GetObjectItemCaseSensitive(props, "spark"), &o->seed_spark,
				      &o->n_seed_spark);
		}
	}
	return r;
}

static int parse_metrics(const cJSON *m, struct job_observation *o)
{
	const cJSON *rl = cJSON_GetObjectItemCaseSensitive(m, "relevanceMetrics"), *it;
	int n, i = 0, r = 0;

	o->has_metrics = true;
	o->has_recall_metric = get_number(m, "recallMetric", &o->recall_metric);
	if (!cJSON_IsArray(rl))
		return 0;
	n = cJSON_GetArraySize(rl);
	if (n <= 0)
		return 0;
	if (n > STORE_JSON_MAX_PAIRS)
		return -E2BIG;
	o->relevance_metrics = calloc((size_t)n, sizeof(struct relevance_metric));
	if (!o->relevance_metrics)
		return -ENOMEM;
	cJSON_ArrayForEach(it, rl)
	{
		struct relevance_metric *rm = &o->relevance_metrics[i];
		const cJSON *as = cJSON_GetObjectItemCaseSensitive(it, "audienceSize");
		double d;

		if (!cJSON_IsObject(it) || i >= n)
			continue;
		o->n_relevance_metrics = (size_t)++i;
		r = dup_str(as, "type", &rm->audience_size_type);
		if (r < 0)
			return r;
		if (get_number(as, "value", &d))
			rm->audience_size_value = double_to_int64(d);
		rm->has_score = get_number(it, "score", &rm->score);
	}
	return 0;
}

int job_observation_from_json_blob(const char *json, struct job_observation **ret)
{
	cJSON *j;
	struct job_observation *o;
	const cJSON *v;
	int r;

	if (!json || !ret)
		return -EINVAL;
	j = cJSON_Parse(json);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return -EBADMSG;
	}
	o = job_observation_new();
	if (!o) {
		cJSON_Delete(j);
		return -ENOMEM;
	}
	r = get_time(j, "createTime", &o->create_time_ms);
	if (r >= 0)
		r = get_time(j, "updateTime", &o->update_time_ms);
	/* The ARN member is the kind's (audienceGenerationJobArn, ...). */
	for (int k = 0; r >= 0 && k < _KIND_MAX && !o->arn; k++)
		r = dup_str(j, resource_kind_info((enum resource_kind)k)->arn_member, &o->arn);
	if (r >= 0 && o->arn && resource_kind_from_arn(o->arn, NULL) != KIND_INVALID)
		o->kind = resource_kind_from_arn(o->arn, NULL);
	if (r >= 0)
		r = dup_str(j, "name", &o->name);
	if (r >= 0)
		r = dup_str(j, "description", &o->description);
	v = cJSON_GetObjectItemCaseSensitive(j, "status");
	if (r >= 0 && cJSON_IsString(v) && v->valuestring)
		o->status = strcmp(v->valuestring, "GONE") == 0 ? JOB_STATUS_GONE
								: job_status_from_api(v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(j, "statusDetails");
	if (r >= 0 && cJSON_IsObject(v)) {
		r = dup_str(v, "statusCode", &o->status_code);
		if (r >= 0)
			r = dup_str(v, "message", &o->status_message);
	}
	if (r >= 0)
		r = dup_str(j, "configuredAudienceModelArn", &o->configured_audience_model_arn);
	v = cJSON_GetObjectItemCaseSensitive(j, "seedAudience");
	if (r >= 0 && cJSON_IsObject(v))
		r = parse_seed(v, o);
	v = cJSON_GetObjectItemCaseSensitive(j, "includeSeedInOutput");
	if (r >= 0 && cJSON_IsBool(v)) {
		o->has_include_seed_in_output = true;
		o->include_seed_in_output = cJSON_IsTrue(v);
	}
	if (r >= 0)
		r = dup_str(j, "collaborationId", &o->collaboration_id);
	if (r >= 0 && !o->collaboration_id)
		r = dup_str(j, "collaborationIdentifier", &o->collaboration_id);
	v = cJSON_GetObjectItemCaseSensitive(j, "metrics");
	if (r >= 0 && cJSON_IsObject(v))
		r = parse_metrics(v, o);
	if (r >= 0)
		r = dup_str(j, "startedBy", &o->started_by);
	if (r >= 0)
		r = get_pairs(cJSON_GetObjectItemCaseSensitive(j, "tags"), &o->tags, &o->n_tags);
	if (r >= 0)
		r = dup_str(j, "protectedQueryIdentifier", &o->protected_query_identifier);
	if (r >= 0)
		r = dup_str(j, "metricsStatus", &o->metrics_status);
	if (r >= 0)
		r = dup_str(j, "metricsStatusDetails", &o->metrics_status_details);
	if (r >= 0)
		r = dup_str(j, "logsStatus", &o->logs_status);
	if (r >= 0)
		r = dup_str(j, "logsStatusDetails", &o->logs_status_details);
	cJSON_Delete(j);
	if (r < 0) {
		job_observation_free(o);
		return r;
	}
	*ret = o;
	return 0;
}

static void add_str(cJSON *obj, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(obj, k, v);
}

static void add_pairs(cJSON *obj, char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		add_str(obj, v[2 * i], v[2 * i + 1]);
}

static void add_time(cJSON *obj, const char *k, int64_t ms)
{
	char buf[40];
	format_iso8601_ms(ms, buf, sizeof(buf));
	cJSON_AddStringToObject(obj, k, buf);
}

char *job_observation_to_json(const struct job_observation *o)
{
	cJSON *j = cJSON_CreateObject();
	char *out;

	if (!j)
		return NULL;
	add_time(j, "createTime", o->create_time_ms);
	add_time(j, "updateTime", o->update_time_ms);
	add_str(j,
		resource_kind_info(o->kind) ? resource_kind_info(o->kind)->arn_member
					    : "audienceGenerationJobArn",
		o->arn);
	add_str(j, "name", o->name);
	add_str(j, "description", o->description);
	add_str(j, "status", job_status_to_string(o->status));
	if (o->status_code || o->status_message) {
		cJSON *d = cJSON_AddObjectToObject(j, "statusDetails");
		add_str(d, "statusCode", o->status_code);
		add_str(d, "message", o->status_message);
	}
	add_str(j, "configuredAudienceModelArn", o->configured_audience_model_arn);
	if (o->has_seed_audience) {
		cJSON *s = cJSON_AddObjectToObject(j, "seedAudience");
		if (o->seed_s3_uri)
			add_str(cJSON_AddObjectToObject(s, "dataSource"), "s3Uri", o->seed_s3_uri);
		add_str(s, "roleArn", o->seed_role_arn);
		if (o->seed_sql_query_string || o->seed_sql_analysis_template_arn ||
		    o->n_seed_sql_parameters) {
			cJSON *q = cJSON_AddObjectToObject(s, "sqlParameters");
			add_str(q, "queryString", o->seed_sql_query_string);
			add_str(q, "analysisTemplateArn", o->seed_sql_analysis_template_arn);
			if (o->n_seed_sql_parameters)
				add_pairs(cJSON_AddObjectToObject(q, "parameters"), o->seed_sql_parameters,
					  o->n_seed_sql_parameters);
		}
		if (o->has_seed_worker) {
			cJSON *w = cJSON_AddObjectToObject(
			    cJSON_AddObjectToObject(s, "sqlComputeConfiguration"), "worker");
			add_str(w, "type", o->seed_worker_type);
			if (o->has_seed_worker_number)
				cJSON_AddNumberToObject(w, "number", (double)o->seed_worker_number);
			if (o->has_seed_worker_properties) {
				cJSON *pr = cJSON_AddObjectToObject(w, "properties");
				if (o->has_seed_spark)
					add_pairs(cJSON_AddObjectToObject(pr, "spark"), o->seed_spark,
						  o->n_seed_spark);
			}
		}
	}
	if (o->has_include_seed_in_output)
		cJSON_AddBoolToObject(j, "includeSeedInOutput", o->include_seed_in_output);
	add_str(j, o->kind == KIND_AUDIENCE_GENERATION_JOB ? "collaborationId" : "collaborationIdentifier",
		o->collaboration_id);
	if (o->has_metrics) {
		cJSON *m = cJSON_AddObjectToObject(j, "metrics");
		cJSON *rl = cJSON_AddArrayToObject(m, "relevanceMetrics");
		for (size_t i = 0; i < o->n_relevance_metrics; i++) {
			const struct relevance_metric *rm = &o->relevance_metrics[i];
			cJSON *e = cJSON_CreateObject(), *as = cJSON_AddObjectToObject(e, "audienceSize");
			add_str(as, "type", rm->audience_size_type);
			cJSON_AddNumberToObject(as, "value", (double)rm->audience_size_value);
			if (rm->has_score)
				cJSON_AddNumberToObject(e, "score", rm->score);
			cJSON_AddItemToArray(rl, e);
		}
		if (o->has_recall_metric)
			cJSON_AddNumberToObject(m, "recallMetric", o->recall_metric);
	}
	add_str(j, "startedBy", o->started_by);
	if (o->n_tags) {
		cJSON *t = cJSON_AddObjectToObject(j, "tags");
		for (size_t i = 0; i < o->n_tags; i++)
			add_str(t, o->tags[2 * i], o->tags[2 * i + 1]);
	}
	add_str(j, "protectedQueryIdentifier", o->protected_query_identifier);
	add_str(j, "metricsStatus", o->metrics_status);
	add_str(j, "metricsStatusDetails", o->metrics_status_details);
	add_str(j, "logsStatus", o->logs_status);
	add_str(j, "logsStatusDetails", o->logs_status_details);
	out = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return out;
}
