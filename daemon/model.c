#include "model.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char *const status_names[_JOB_STATUS_MAX_WITH_GONE] = {
    [JOB_STATUS_CREATE_PENDING] = "CREATE_PENDING",
    [JOB_STATUS_CREATE_IN_PROGRESS] = "CREATE_IN_PROGRESS",
    [JOB_STATUS_CREATE_FAILED] = "CREATE_FAILED",
    [JOB_STATUS_ACTIVE] = "ACTIVE",
    [JOB_STATUS_DELETE_PENDING] = "DELETE_PENDING",
    [JOB_STATUS_DELETE_IN_PROGRESS] = "DELETE_IN_PROGRESS",
    [JOB_STATUS_DELETE_FAILED] = "DELETE_FAILED",
    [JOB_STATUS_CANCEL_PENDING] = "CANCEL_PENDING",
    [JOB_STATUS_CANCEL_IN_PROGRESS] = "CANCEL_IN_PROGRESS",
    [JOB_STATUS_CANCEL_FAILED] = "CANCEL_FAILED",
    [JOB_STATUS_INACTIVE] = "INACTIVE",
    [JOB_STATUS_GONE] = "GONE",
};

/* Unknown values, interned once and never freed: a status is an int8_t in
 * the tracker, so the string has to live somewhere for as long as any job
 * may carry it. */
static char unknown_names[_JOB_STATUS_UNKNOWN_END - _JOB_STATUS_UNKNOWN_FIRST]
			 [JOB_STATUS_UNKNOWN_MAX_LEN + 1];
static int n_unknown;
static bool unknown_reported[_JOB_STATUS_UNKNOWN_END - _JOB_STATUS_UNKNOWN_FIRST];

const char *job_status_to_string(enum job_status s)
{
	if (s >= 0 && s < _JOB_STATUS_MAX_WITH_GONE)
		return status_names[s];
	if (job_status_is_unknown(s))
		return unknown_names[s - _JOB_STATUS_UNKNOWN_FIRST];
	return NULL;
}

bool job_status_is_unknown(enum job_status s)
{
	return s >= _JOB_STATUS_UNKNOWN_FIRST && (int)s < _JOB_STATUS_UNKNOWN_FIRST + n_unknown;
}

bool job_status_is_api(enum job_status s)
{
	return (s >= 0 && s < _JOB_STATUS_MAX) || job_status_is_unknown(s);
}

static bool looks_like_enum_value(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++) {
		char c = s[n];
		if (n >= JOB_STATUS_UNKNOWN_MAX_LEN)
			return false;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return n > 0;
}

bool job_status_first_report(enum job_status s)
{
	if (!job_status_is_unknown(s) || unknown_reported[s - _JOB_STATUS_UNKNOWN_FIRST])
		return false;
	unknown_reported[s - _JOB_STATUS_UNKNOWN_FIRST] = true;
	return true;
}

enum job_status job_status_from_api(const char *s)
{
	enum job_status st = job_status_from_string(s);

	if (st != JOB_STATUS_INVALID)
		return st;
	if (!s || strcmp(s, "GONE") == 0 || !looks_like_enum_value(s))
		return JOB_STATUS_INVALID;
	for (int i = 0; i < n_unknown; i++)
		if (strcmp(unknown_names[i], s) == 0)
			return (enum job_status)(_JOB_STATUS_UNKNOWN_FIRST + i);
	/* A cap, like every table here: 64 new values would be a different
	 * service, not an evolution of this one. */
	if (_JOB_STATUS_UNKNOWN_FIRST + n_unknown >= _JOB_STATUS_UNKNOWN_END)
		return JOB_STATUS_INVALID;
	memcpy(unknown_names[n_unknown], s, strlen(s) + 1);
	return (enum job_status)(_JOB_STATUS_UNKNOWN_FIRST + n_unknown++);
}

/* Only API values parse; "GONE" is ours and never comes from AWS. */
enum job_status job_status_from_string(const char *s)
{
	if (!s)
		return JOB_STATUS_INVALID;
	for (int i = 0; i < _JOB_STATUS_MAX; i++)
		if (strcmp(s, status_names[i]) == 0)
			return (enum job_status)i;
	return JOB_STATUS_INVALID;
}

enum status_class job_status_class(enum job_status s)
{
	switch (s) {
	case JOB_STATUS_CREATE_PENDING:
	case JOB_STATUS_CREATE_IN_PROGRESS:
	case JOB_STATUS_DELETE_PENDING:
	case JOB_STATUS_DELETE_IN_PROGRESS:
	case JOB_STATUS_CANCEL_PENDING:
	case JOB_STATUS_CANCEL_IN_PROGRESS:
		return STATUS_CLASS_WORKING;
	case JOB_STATUS_ACTIVE:
	case JOB_STATUS_INACTIVE:
		return STATUS_CLASS_SETTLED;
	case JOB_STATUS_CREATE_FAILED:
	case JOB_STATUS_DELETE_FAILED:
	case JOB_STATUS_CANCEL_FAILED:
		return STATUS_CLASS_FAILED;
	case JOB_STATUS_GONE:
		return STATUS_CLASS_GONE;
	default:
		/* A value we do not know may be a step of a job that is still
		 * moving: poll it as often as one that is working. */
		if (job_status_is_unknown(s))
			return STATUS_CLASS_WORKING;
		return STATUS_CLASS_INVALID;
	}
}

bool job_status_is_failed(enum job_status s)
{
	return job_status_class(s) == STATUS_CLASS_FAILED;
}

struct job_observation *job_observation_new(void)
{
	struct job_observation *o = calloc(1, sizeof(*o));
	if (o) {
		o->status = JOB_STATUS_INVALID;
		o->kind = KIND_AUDIENCE_GENERATION_JOB;
	}
	return o;
}

static void free_pairs(char **v, size_t n)
{
	for (size_t i = 0; i < 2 * n; i++)
		free(v[i]);
	free(v);
}

/* The query text can be half a megabyte of customer SQL: wipe it before
 * it goes back to the allocator, so no later dump or core shows it. */
static void free_wiped(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

void job_observation_redact(struct job_observation *o)
{
	if (!o)
		return;
	free_wiped(o->seed_sql_query_string);
	o->seed_sql_query_string = NULL;
	free_wiped(o->seed_sql_analysis_template_arn);
	o->seed_sql_analysis_template_arn = NULL;
	for (size_t i = 0; i < 2 * o->n_seed_sql_parameters; i++)
		free_wiped(o->seed_sql_parameters[i]);
	free(o->seed_sql_parameters);
	o->seed_sql_parameters = NULL;
	o->n_seed_sql_parameters = 0;
}

struct job_observation *job_observation_free(struct job_observation *o)
{
	if (!o)
		return NULL;
	free(o->arn);
	free(o->name);
	free(o->description);
	free(o->status_code);
	free(o->status_message);
	free(o->configured_audience_model_arn);
	free(o->collaboration_id);
	free(o->started_by);
	free(o->protected_query_identifier);
	job_observation_redact(o);
	free(o->seed_s3_uri);
	free(o->seed_role_arn);
	free(o->seed_worker_type);
	free_pairs(o->seed_spark, o->n_seed_spark);
	for (size_t i = 0; i < o->n_relevance_metrics; i++)
		free(o->relevance_metrics[i].audience_size_type);
	free(o->relevance_metrics);
	free_pairs(o->tags, o->n_tags);
	free(o->metrics_status);
	free(o->metrics_status_details);
	free(o->logs_status);
	free(o->logs_status_details);
	free(o);
	return NULL;
}
