/* The data model shared by the AWS client, the tracker, the state store and
 * the notifiers: job statuses and one observation of a job. */
#ifndef JW_MODEL_H
#define JW_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kinds.h"

enum job_status {
	JOB_STATUS_CREATE_PENDING,
	JOB_STATUS_CREATE_IN_PROGRESS,
	JOB_STATUS_CREATE_FAILED,
	JOB_STATUS_ACTIVE,
	JOB_STATUS_DELETE_PENDING,
	JOB_STATUS_DELETE_IN_PROGRESS,
	JOB_STATUS_DELETE_FAILED,
	/* The trained model, inference job and ML input channel kinds. */
	JOB_STATUS_CANCEL_PENDING,
	JOB_STATUS_CANCEL_IN_PROGRESS,
	JOB_STATUS_CANCEL_FAILED,
	JOB_STATUS_INACTIVE,
	_JOB_STATUS_MAX,
	/* Not an API value: the job answered 404 after having been seen. */
	JOB_STATUS_GONE = _JOB_STATUS_MAX,
	_JOB_STATUS_MAX_WITH_GONE,
	/* Values the service sent that this build does not know (the SDKs
	 * pass unknown enum strings through, and sibling enums of this API
	 * have grown).  Interned per process: the first one seen becomes
	 * _JOB_STATUS_UNKNOWN_FIRST, and so on.  They stay below INT8_MAX
	 * because the tracker keeps a status in an int8_t. */
	_JOB_STATUS_UNKNOWN_FIRST = _JOB_STATUS_MAX_WITH_GONE,
	_JOB_STATUS_UNKNOWN_END = _JOB_STATUS_UNKNOWN_FIRST + 64,
	JOB_STATUS_INVALID = -1,
};

/* An unknown status is 1..JOB_STATUS_UNKNOWN_MAX_LEN characters of
 * [A-Za-z0-9_.-] (what AWS enum values look like): it becomes part of log
 * lines, journal fields and alert labels. */
#define JOB_STATUS_UNKNOWN_MAX_LEN 64

/* How often a job in a status is polled ([poll] interval, settled_interval,
 * failed_interval). */
enum status_class {
	STATUS_CLASS_WORKING, /* *_PENDING, *_IN_PROGRESS */
	STATUS_CLASS_SETTLED, /* ACTIVE, INACTIVE */
	STATUS_CLASS_FAILED,  /* *_FAILED */
	STATUS_CLASS_GONE,    /* deleted: never polled again */
	_STATUS_CLASS_MAX,
	STATUS_CLASS_INVALID = -1,
};

const char *job_status_to_string(enum job_status s);
/* Only the values this build knows (configuration and API filters). */
enum job_status job_status_from_string(const char *s);
/* A status as the service (or the state database) spells it: a known value,
 * or an unknown one interned for the life of the process.  JOB_STATUS_INVALID
 * when s does not look like an enum value or the 64 unknown slots are taken. */
enum job_status job_status_from_api(const char *s);
/* True exactly once per unknown value: the caller logs it then, so a fleet
 * in a new status logs one line, not one per job and poll. */
bool job_status_first_report(enum job_status s);
/* True for a value interned by job_status_from_api() that is not known. */
bool job_status_is_unknown(enum job_status s);
/* A known API value or an interned unknown one (not GONE, not INVALID). */
bool job_status_is_api(enum job_status s);
enum status_class job_status_class(enum job_status s);
bool job_status_is_failed(enum job_status s);

struct relevance_metric {
	char *audience_size_type; /* ABSOLUTE | PERCENTAGE */
	int64_t audience_size_value;
	double score;
	bool has_score;
};

/* Everything GetAudienceGenerationJob returns (ListAudienceGenerationJobs
 * fills the summary subset and sets from_list).  All strings are owned and
 * may be NULL when the field was absent.  Freed by job_observation_free(). */
struct job_observation {
	enum resource_kind kind; /* from the ARN */
	char *arn;
	char *name;
	char *description;
	enum job_status status;
	char *status_code;    /* statusDetails.statusCode */
	char *status_message; /* statusDetails.message */
	char *configured_audience_model_arn;
	char *collaboration_id;
	char *started_by;
	char *protected_query_identifier;
	int64_t create_time_ms;
	int64_t update_time_ms;

	bool has_include_seed_in_output;
	bool include_seed_in_output;

	/* seedAudience */
	bool has_seed_audience;
	char *seed_s3_uri;
	char *seed_role_arn;
	char *seed_sql_query_string;
	char *seed_sql_analysis_template_arn;
	size_t n_seed_sql_parameters;
	char **seed_sql_parameters; /* key, value, key, value ... */
	/* sqlComputeConfiguration.worker: each member only when present */
	bool has_seed_worker;
	char *seed_worker_type;
	bool has_seed_worker_number;
	int64_t seed_worker_number;
	bool has_seed_worker_properties; /* worker.properties */
	bool has_seed_spark;		 /* worker.properties.spark */
	size_t n_seed_spark;
	char **seed_spark; /* key, value, key, value ... */

	/* metrics */
	bool has_metrics;
	size_t n_relevance_metrics;
	struct relevance_metric *relevance_metrics;
	bool has_recall_metric;
	double recall_metric;

	size_t n_tags;
	char **tags; /* key, value, key, value ... */

	/* Trained models and inference jobs: metricsStatus, logsStatus
	 * (PUBLISH_SUCCEEDED | PUBLISH_FAILED) and their details. */
	char *metrics_status;
	char *metrics_status_details;
	char *logs_status;
	char *logs_status_details;

	bool from_list; /* only summary fields are set */
};

struct job_observation *job_observation_new(void);
/* Drops the members the model marks sensitive (seedAudience.sqlParameters:
 * the query, its analysis template and its parameters), so that they are
 * never stored, journaled, logged or sent.  Only `jobwatchd get
 * --show-sensitive` keeps them, to print them. */
void job_observation_redact(struct job_observation *o);
struct job_observation *job_observation_free(struct job_observation *o);
/* Writes the observation as the API's JSON (GetAudienceGenerationJob field
 * names, timestamps as ISO 8601).  Returns a malloc'd string or NULL. */
char *job_observation_to_json(const struct job_observation *o);
/* Parses the JSON written by job_observation_to_json() back into an
 * observation (every field it writes).  "GONE" is accepted as a status. */
int job_observation_from_json_blob(const char *json, struct job_observation **ret);

#endif
