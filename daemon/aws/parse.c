/* GetAudienceGenerationJob / ListAudienceGenerationJobs JSON -> struct
 * job_observation (aws-api.md §1.4).  The answer is untrusted input: every
 * member is type-checked, every array and map is capped, and anything that
 * does not fit the model is a protocol error naming the field, so that a
 * broken answer never turns into a job state. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "aws/parse.h"
#include "util.h"

struct pctx {
	char *err;
	size_t errsz;
	const char *prefix; /* "" or "audienceGenerationJobs[3]." */
};

__attribute__((format(printf, 2, 3))) static int fail(struct pctx *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->err && p->errsz) {
		n = snprintf(p->err, p->errsz, "%s", p->prefix);
		if (n < 0 || (size_t)n >= p->errsz)
			return -EBADMSG;
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errsz - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

/* The model's length limits of the string members read here (member
 * names are unique across the shapes read, except the enum "type"s).
 * Members not listed are `String` in the model, unbounded: AWS_MAX_STRING. */
static const struct {
	const char *name;
	size_t max;
} model_lengths[] = {
    {"audienceGenerationJobArn", 2048},
    {"audienceModelArn", 2048},
    {"trainedModelArn", 2048},
    {"trainedModelInferenceJobArn", 2048},
    {"mlInputChannelArn", 2048},
    {"collaborationIdentifier", 36},
    {"versionIdentifier", 36},
    {"metricsStatus", JOB_STATUS_UNKNOWN_MAX_LEN},
    {"logsStatus", JOB_STATUS_UNKNOWN_MAX_LEN},
    {"configuredAudienceModelArn", 2048},
    {"name", 63},
    {"description", 255},
    {"collaborationId", 36},
    {"startedBy", 12},
    {"s3Uri", 1285},
    {"roleArn", 2048},
    {"queryString", AWS_MAX_QUERY_STRING},
    {"analysisTemplateArn", 200},
    {"nextToken", AWS_MAX_NEXT_TOKEN},
    /* Enums have no length in the model; an unknown value is kept, so it
     * needs a bound of its own. */
    {"status", JOB_STATUS_UNKNOWN_MAX_LEN},
    {"type", JOB_STATUS_UNKNOWN_MAX_LEN},
};

static size_t model_length(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(model_lengths); i++)
		if (model_lengths[i].name[0] == name[0] && strcmp(model_lengths[i].name, name) == 0)
			return model_lengths[i].max;
	return AWS_MAX_STRING;
}

/* Smithy lengths count characters (code points), not bytes: count UTF-8
 * lead bytes, stopping early once over max. */
static bool utf8_longer_than(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80 && ++n > max)
			return true;
	return false;
}

/* Optional string member: absent or null leaves *ret NULL; any other
 * non-string type is an error. */
static int get_string(struct pctx *p, const cJSON *obj, const char *name, bool required, char **ret)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	size_t max = model_length(name);

	*ret = NULL;
	if (!v || cJSON_IsNull(v)) {
		if (required)
			return fail(p, "missing required field \"%s\"", name);
		return 0;
	}
	if (!cJSON_IsString(v))
		return fail(p, "field \"%s\" is not a string", name);
	if (utf8_longer_than(v->valuestring, max))
		return fail(p, "field \"%s\" is longer than %zu characters", name, max);
	*ret = strdup(v->valuestring);
	return *ret ? 0 : -ENOMEM;
}

static int get_object(struct pctx *p, const cJSON *obj, const char *name, const cJSON **ret)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	*ret = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsObject(v))
		return fail(p, "field \"%s\" is not an object", name);
	*ret = v;
	return 0;
}

static int get_number(struct pctx *p, const cJSON *obj, const char *name, bool *has, double *ret)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	*has = false;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
		return fail(p, "field \"%s\" is not a number", name);
	*has = true;
	*ret = v->valuedouble;
	return 0;
}

static int get_int64(struct pctx *p, const cJSON *obj, const char *name, bool *has, int64_t *ret)
{
	double d = 0;
	int r = get_number(p, obj, name, has, &d);

	if (r < 0 || !*has)
		return r;
	if (d != floor(d) || d < -9.0e15 || d > 9.0e15)
		return fail(p, "field \"%s\" is not an integer", name);
	*ret = (int64_t)d;
	return 0;
}

/* restJson1 timestamps are ISO 8601 strings here, but the protocol also
 * allows epoch seconds as a JSON number; accept both. */
static int get_time(struct pctx *p, const cJSON *obj, const char *name, int64_t *ret)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!v || cJSON_IsNull(v))
		return fail(p, "missing required field \"%s\"", name);
	if (cJSON_IsNumber(v)) {
		if (!isfinite(v->valuedouble) || v->valuedouble < 0 || v->valuedouble > 1.0e11)
			return fail(p, "field \"%s\" is not a valid timestamp", name);
		*ret = (int64_t)llround(v->valuedouble * 1000.0);
		return 0;
	}
	if (!cJSON_IsString(v))
		return fail(p, "field \"%s\" is not a timestamp", name);
	if (parse_iso8601_ms(v->valuestring, ret) < 0)
		return fail(p, "field \"%s\" is not a valid ISO 8601 timestamp", name);
	return 0;
}

/* A string->string map into a key, value, key, value ... array. */
static int get_string_map(struct pctx *p, const cJSON *obj, const char *name, size_t max, size_t key_max,
			  size_t value_max, char ***ret, size_t *ret_n)
{
	const cJSON *m, *e;
	char **v;
	size_t n = 0, i = 0;
	int r;

	*ret = NULL;
	*ret_n = 0;
	r = get_object(p, obj, name, &m);
	if (r < 0 || !m)
		return r;
	cJSON_ArrayForEach(e, m)
	{
		if (!cJSON_IsString(e))
			return fail(p, "field \"%s.%s\" is not a string", name, e->string);
		if (utf8_longer_than(e->string, key_max) || utf8_longer_than(e->valuestring, value_max))
			return fail(p, "field \"%s\" has an over-long entry", name);
		n++;
	}
	if (n > max)
		return fail(p, "field \"%s\" has %zu entries (max %zu)", name, n, max);
	if (n == 0)
		return 0;
	v = calloc(2 * n, sizeof(char *));
	if (!v)
		return -ENOMEM;
	cJSON_ArrayForEach(e, m)
	{
		v[i] = strdup(e->string);
		v[i + 1] = strdup(e->valuestring);
		if (!v[i] || !v[i + 1]) {
			for (size_t k = 0; k <= i + 1; k++)
				free(v[k]);
			free(v);
			return -ENOMEM;
		}
		i += 2;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* seedAudience.sqlComputeConfiguration.worker: every member optional, and
 * each echoed only when it was there (no "number": 0 for an absent one). */
static int parse_worker(struct pctx *p, const cJSON *w, struct job_observation *o)
{
	const cJSON *props;
	int r;

	o->has_seed_worker = true;
	if ((r = get_string(p, w, "type", false, &o->seed_worker_type)) < 0 ||
	    (r = get_int64(p, w, "number", &o->has_seed_worker_number, &o->seed_worker_number)) < 0 ||
	    (r = get_object(p, w, "properties", &props)) < 0)
		return r;
	if (!props)
		return 0;
	o->has_seed_worker_properties = true;
	if ((r = get_object(p, props, "spark", &w)) < 0)
		return r;
	o->has_seed_spark = w != NULL;
	return get_string_map(p, props, "spark", AWS_MAX_SPARK_PROPERTIES, 200, 500, &o->seed_spark,
			      &o->n_seed_spark);
}

static int parse_seed(struct pctx *p, const cJSON *s, struct job_observation *o)
{
	const cJSON *ds, *sql, *cc, *w;
	int r;

	o->has_seed_audience = true;
	r = get_object(p, s, "dataSource", &ds);
	if (r < 0)
		return r;
	if (ds && (r = get_string(p, ds, "s3Uri", false, &o->seed_s3_uri)) < 0)
		return r;
	if ((r = get_string(p, s, "roleArn", false, &o->seed_role_arn)) < 0)
		return r;
	if ((r = get_object(p, s, "sqlParameters", &sql)) < 0)
		return r;
	if (sql) {
		if ((r = get_string(p, sql, "queryString", false, &o->seed_sql_query_string)) < 0 ||
		    (r = get_string(p, sql, "analysisTemplateArn", false,
				    &o->seed_sql_analysis_template_arn)) < 0 ||
		    (r = get_string_map(p, sql, "parameters", AWS_MAX_SQL_PARAMETERS, 100, 1000,
					&o->seed_sql_parameters, &o->n_seed_sql_parameters)) < 0)
			return r;
	}
	if ((r = get_object(p, s, "sqlComputeConfiguration", &cc)) < 0)
		return r;
	if (cc) {
		if ((r = get_object(p, cc, "worker", &w)) < 0)
			return r;
		if (w && (r = parse_worker(p, w, o)) < 0)
			return r;
	}
	return 0;
}

static int parse_metrics(struct pctx *p, const cJSON *m, struct job_observation *o)
{
	const cJSON *rl = cJSON_GetObjectItemCaseSensitive(m, "relevanceMetrics"), *e;
	int n, r;

	o->has_metrics = true;
	if ((r = get_number(p, m, "recallMetric", &o->has_recall_metric, &o->recall_metric)) < 0)
		return r;
	if (!rl || cJSON_IsNull(rl))
		return 0;
	if (!cJSON_IsArray(rl))
		return fail(p, "field \"metrics.relevanceMetrics\" is not an array");
	n = cJSON_GetArraySize(rl);
	if (n > AWS_MAX_RELEVANCE_METRICS)
		return fail(p, "field \"metrics.relevanceMetrics\" has %d entries (max %d)", n,
			    AWS_MAX_RELEVANCE_METRICS);
	if (n == 0)
		return 0;
	o->relevance_metrics = calloc((size_t)n, sizeof(*o->relevance_metrics));
	if (!o->relevance_metrics)
		return -ENOMEM;
	cJSON_ArrayForEach(e, rl)
	{
		struct relevance_metric *rm = &o->relevance_metrics[o->n_relevance_metrics++];
		const cJSON *as;
		bool has;

		if (!cJSON_IsObject(e))
			return fail(p, "field \"metrics.relevanceMetrics[]\" is not an object");
		if ((r = get_object(p, e, "audienceSize", &as)) < 0)
			return r;
		if (!as)
			return fail(p, "missing required field \"metrics.relevanceMetrics[].audienceSize\"");
		if ((r = get_string(p, as, "type", false, &rm->audience_size_type)) < 0 ||
		    (r = get_int64(p, as, "value", &has, &rm->audience_size_value)) < 0 ||
		    (r = get_number(p, e, "score", &rm->has_score, &rm->score)) < 0)
			return r;
	}
	return 0;
}

/* An unknown value is a status (the service's enum grows); only a value
 * that cannot be an enum value at all is an error. */
static int set_status(struct pctx *p, struct job_observation *o, const char *status)
{
	o->status = job_status_from_api(status);
	if (o->status == JOB_STATUS_INVALID) {
		char shown[64];
		size_t k = 0;
		/* The value goes into a log line: keep it short and printable. */
		for (const char *c = status; *c && k + 1 < sizeof(shown); c++)
			shown[k++] = (*c >= 0x20 && *c < 0x7f && *c != '"') ? *c : '?';
		shown[k] = '\0';
		return fail(p, "field \"status\" has an invalid value \"%s\"", shown);
	}
	return 0;
}

/* The members shared by the full answer and the list summary. */
static int parse_summary(struct pctx *p, const cJSON *j, struct job_observation *o)
{
	_cleanup_free_ char *status = NULL;
	int r;

	if ((r = get_time(p, j, "createTime", &o->create_time_ms)) < 0 ||
	    (r = get_time(p, j, "updateTime", &o->update_time_ms)) < 0 ||
	    (r = get_string(p, j, "audienceGenerationJobArn", true, &o->arn)) < 0 ||
	    (r = get_string(p, j, "name", true, &o->name)) < 0 ||
	    (r = get_string(p, j, "status", true, &status)) < 0 ||
	    (r = get_string(p, j, "configuredAudienceModelArn", true, &o->configured_audience_model_arn)) <
		0 ||
	    (r = get_string(p, j, "description", false, &o->description)) < 0 ||
	    (r = get_string(p, j, "collaborationId", false, &o->collaboration_id)) < 0 ||
	    (r = get_string(p, j, "startedBy", false, &o->started_by)) < 0)
		return r;
	if (!arn_is_audience_generation_job(o->arn))
		return fail(p, "field \"audienceGenerationJobArn\" is not an audience generation job ARN");
	if (str_empty(o->name))
		return fail(p, "field \"name\" is empty");
	return set_status(p, o, status);
}

/* statusDetails: the same shape (StatusDetails) in every kind's answer. */
static int parse_status_details(struct pctx *p, const cJSON *j, struct job_observation *o)
{
	const cJSON *sd;
	int r;

	if ((r = get_object(p, j, "statusDetails", &sd)) < 0 || !sd)
		return r;
	if ((r = get_string(p, sd, "statusCode", false, &o->status_code)) < 0)
		return r;
	return get_string(p, sd, "message", false, &o->status_message);
}

static int parse_full(struct pctx *p, const cJSON *j, struct job_observation *o)
{
	const cJSON *seed, *metrics, *inc;
	int r;

	if ((r = parse_summary(p, j, o)) < 0)
		return r;
	if ((r = parse_status_details(p, j, o)) < 0)
		return r;
	if ((r = get_object(p, j, "seedAudience", &seed)) < 0)
		return r;
	if (seed && (r = parse_seed(p, seed, o)) < 0)
		return r;
	inc = cJSON_GetObjectItemCaseSensitive(j, "includeSeedInOutput");
	if (inc && !cJSON_IsNull(inc)) {
		if (!cJSON_IsBool(inc))
			return fail(p, "field \"includeSeedInOutput\" is not a boolean");
		o->has_include_seed_in_output = true;
		o->include_seed_in_output = cJSON_IsTrue(inc);
	}
	if ((r = get_object(p, j, "metrics", &metrics)) < 0)
		return r;
	if (metrics && (r = parse_metrics(p, metrics, o)) < 0)
		return r;
	if ((r = get_string_map(p, j, "tags", AWS_MAX_TAGS, 128, 256, &o->tags, &o->n_tags)) < 0)
		return r;
	return get_string(p, j, "protectedQueryIdentifier", false, &o->protected_query_identifier);
}

/* The Get answer of a kind other than audience generation jobs: the members
 * every kind's answer has (the kind's ARN member, name, status,
 * statusDetails, times), the collaboration and the metrics/logs publishing
 * status of the kinds that have one.  The kind's own configuration members
 * are not kept: nothing downstream reports them. */
static int parse_resource(struct pctx *p, const cJSON *j, enum resource_kind kind, struct job_observation *o)
{
	const struct resource_kind_info *ki = resource_kind_info(kind);
	_cleanup_free_ char *status = NULL;
	int r;

	o->kind = kind;
	if (ki->parent_type) {
		/* A child kind: its identifier is built (kinds.h). */
		_cleanup_free_ char *parent = NULL, *key = NULL;

		if ((r = get_string(p, j, ki->parent_member, true, &parent)) < 0 ||
		    (r = get_string(p, j, ki->key_member, true, &key)) < 0)
			return r;
		r = resource_kind_child_id(kind, parent, key, &o->arn);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			return fail(p, "fields \"%s\" and \"%s\" do not name a %s", ki->parent_member,
				    ki->key_member, ki->type);
	} else if ((r = get_string(p, j, ki->arn_member, true, &o->arn)) < 0) {
		return r;
	}
	if ((r = get_time(p, j, "createTime", &o->create_time_ms)) < 0 ||
	    (r = get_time(p, j, "updateTime", &o->update_time_ms)) < 0 ||
	    (r = get_string(p, j, "name", true, &o->name)) < 0 ||
	    (r = get_string(p, j, "status", true, &status)) < 0 ||
	    (r = get_string(p, j, "description", false, &o->description)) < 0 ||
	    (r = get_string(p, j, "collaborationIdentifier", false, &o->collaboration_id)) < 0)
		return r;
	if (resource_kind_from_arn(o->arn, NULL) != kind)
		return fail(p, "field \"%s\" is not a %s ARN", ki->arn_member, ki->type);
	if (str_empty(o->name))
		return fail(p, "field \"name\" is empty");
	if ((r = set_status(p, o, status)) < 0)
		return r;
	if ((r = parse_status_details(p, j, o)) < 0)
		return r;
	if (ki->publish_status &&
	    ((r = get_string(p, j, "metricsStatus", false, &o->metrics_status)) < 0 ||
	     (r = get_string(p, j, "metricsStatusDetails", false, &o->metrics_status_details)) < 0 ||
	     (r = get_string(p, j, "logsStatus", false, &o->logs_status)) < 0 ||
	     (r = get_string(p, j, "logsStatusDetails", false, &o->logs_status_details)) < 0))
		return r;
	return get_string_map(p, j, "tags", AWS_MAX_TAGS, 128, 256, &o->tags, &o->n_tags);
}

/* The tree of a Get answer is built in one block and dropped at once:
 * its nodes and strings were a malloc and a free each, half of the
 * parse's cost.  cJSON's hooks are process-wide, so outside a parse (and
 * for what does not fit the block) they are plain malloc and free. */
#define ARENA_SIZE (64 * 1024)

static struct {
	_Alignas(16) char block[ARENA_SIZE];
	size_t used;
	bool active;
	bool spilled; /* something of the tree is outside the block */
} arena;

static void *arena_malloc(size_t n)
{
	if (arena.active) {
		size_t a = (n + 15) & ~(size_t)15;
		if (a >= n && a <= ARENA_SIZE - arena.used) {
			void *ptr = arena.block + arena.used;
			arena.used += a;
			return ptr;
		}
		arena.spilled = true;
	}
	return malloc(n);
}

static void arena_free(void *ptr)
{
	if ((char *)ptr >= arena.block && (char *)ptr < arena.block + ARENA_SIZE)
		return;
	free(ptr);
}

static void arena_begin(void)
{
	static bool hooked;

	if (!hooked) {
		cJSON_InitHooks(&(cJSON_Hooks){.malloc_fn = arena_malloc, .free_fn = arena_free});
		hooked = true;
	}
	arena.used = 0;
	arena.spilled = false;
	arena.active = true;
}

/* Drops the tree parsed since arena_begin(); nothing may point into it. */
static void arena_end(cJSON *j)
{
	arena.active = false;
	if (j && arena.spilled)
		cJSON_Delete(j); /* frees what spilled, skips the block */
	arena.used = 0;
}

static int parse_body(struct pctx *p, const char *body, size_t len, cJSON **ret)
{
	if (!body || len == 0)
		return fail(p, "empty body");
	if (len > AWS_MAX_BODY)
		return fail(p, "body of %zu bytes is over the %d byte cap", len, AWS_MAX_BODY);
	*ret = cJSON_ParseWithLength(body, len);
	if (!*ret)
		return fail(p, "body is not JSON");
	if (!cJSON_IsObject(*ret)) {
		cJSON_Delete(*ret);
		*ret = NULL;
		return fail(p, "body is not a JSON object");
	}
	return 0;
}

int aws_parse_get(const char *body, size_t len, struct job_observation **ret, char *err, size_t errsz)
{
	return aws_parse_get_kind(KIND_AUDIENCE_GENERATION_JOB, body, len, ret, err, errsz);
}

int aws_parse_get_kind(enum resource_kind kind, const char *body, size_t len, struct job_observation **ret,
		       char *err, size_t errsz)
{
	struct pctx p = {.err = err, .errsz = errsz, .prefix = ""};
	struct job_observation *o;
	cJSON *j = NULL;
	int r;

	if (err && errsz)
		err[0] = '\0';
	arena_begin();
	r = parse_body(&p, body, len, &j);
	if (r < 0) {
		arena_end(NULL);
		return r;
	}
	o = job_observation_new();
	if (!o) {
		arena_end(j);
		return -ENOMEM;
	}
	if (kind == KIND_AUDIENCE_GENERATION_JOB)
		r = parse_full(&p, j, o);
	else if (resource_kind_info(kind))
		r = parse_resource(&p, j, kind, o);
	else
		r = -EINVAL;
	arena_end(j);
	if (r < 0) {
		job_observation_free(o);
		return r;
	}
	*ret = o;
	return 0;
}

void aws_job_array_free(struct job_observation **items, size_t n)
{
	if (!items)
		return;
	for (size_t i = 0; i < n; i++)
		job_observation_free(items[i]);
	free(items);
}

int aws_parse_list(const char *body, size_t len, struct job_observation ***ret_items, size_t *ret_n,
		   size_t *ret_skipped, char **ret_next_token, char *err, size_t errsz)
{
	return aws_parse_list_kind(KIND_AUDIENCE_GENERATION_JOB, body, len, ret_items, ret_n, ret_skipped,
				   ret_next_token, err, errsz);
}

int aws_parse_list_kind(enum resource_kind kind, const char *body, size_t len,
			struct job_observation ***ret_items, size_t *ret_n, size_t *ret_skipped,
			char **ret_next_token, char *err, size_t errsz)
{
	const char *key = resource_kind_info(kind) ? resource_kind_info(kind)->list_result_key : NULL;

	return aws_parse_list_key(kind, key, body, len, ret_items, ret_n, ret_skipped, ret_next_token, err,
				  errsz);
}

int aws_parse_list_key(enum resource_kind kind, const char *key, const char *body, size_t len,
		       struct job_observation ***ret_items, size_t *ret_n, size_t *ret_skipped,
		       char **ret_next_token, char *err, size_t errsz)
{
	if (!key || !resource_kind_info(kind))
		return -EINVAL;
	struct pctx p = {.err = err, .errsz = errsz, .prefix = ""};
	struct job_observation **items = NULL;
	char *token = NULL, prefix[64];
	const cJSON *arr, *e;
	cJSON *j = NULL;
	size_t n = 0, skipped = 0;
	int count, idx = 0, r;

	if (err && errsz)
		err[0] = '\0';
	r = parse_body(&p, body, len, &j);
	if (r < 0)
		return r;
	r = get_string(&p, j, "nextToken", false, &token);
	if (r < 0)
		goto out;
	if (token && (strlen(token) == 0 || strlen(token) > AWS_MAX_NEXT_TOKEN)) {
		r = fail(&p, "field \"nextToken\" has length %zu (allowed 1..%d)", strlen(token),
			 AWS_MAX_NEXT_TOKEN);
		goto out;
	}
	arr = cJSON_GetObjectItemCaseSensitive(j, key);
	if (!arr || cJSON_IsNull(arr)) {
		r = fail(&p, "missing required field \"%s\"", key);
		goto out;
	}
	if (!cJSON_IsArray(arr)) {
		r = fail(&p, "field \"%s\" is not an array", key);
		goto out;
	}
	count = cJSON_GetArraySize(arr);
	if (count > AWS_MAX_PAGE_ITEMS) {
		r = fail(&p, "field \"%s\" has %d entries (max %d)", key, count, AWS_MAX_PAGE_ITEMS);
		goto out;
	}
	if (count > 0) {
		items = calloc((size_t)count, sizeof(*items));
		if (!items) {
			r = -ENOMEM;
			goto out;
		}
	}
	/* One odd entry must not hide the other 99 jobs of the page from
	 * discovery: it is skipped and counted, and the first reason is kept
	 * in err for the caller's log line. */
	cJSON_ArrayForEach(e, arr)
	{
		struct job_observation *o;

		snprintf(prefix, sizeof(prefix), "%s[%d]: ", key, idx++);
		p.prefix = prefix;
		p.err = skipped ? NULL : err;
		if (!cJSON_IsObject(e)) {
			fail(&p, "entry is not an object");
			skipped++;
			continue;
		}
		o = job_observation_new();
		if (!o) {
			r = -ENOMEM;
			goto out;
		}
		o->from_list = true;
		if (kind == KIND_AUDIENCE_GENERATION_JOB)
			r = parse_summary(&p, e, o);
		else
			r = parse_resource(&p, e, kind, o);
		if (r == -ENOMEM) {
			job_observation_free(o);
			goto out;
		}
		if (r < 0) {
			job_observation_free(o);
			skipped++;
			continue;
		}
		items[n++] = o;
	}
	if (n == 0) {
		free(items);
		items = NULL;
	}
	*ret_items = items;
	*ret_n = n;
	*ret_skipped = skipped;
	*ret_next_token = token;
	items = NULL;
	token = NULL;
	r = 0;
out:
	aws_job_array_free(items, n);
	free(token);
	cJSON_Delete(j);
	return r;
}
