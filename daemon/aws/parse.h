/* JSON answers of GetAudienceGenerationJob / ListAudienceGenerationJobs to
 * struct job_observation.  Response hygiene: unknown fields are ignored and
 * unknown enum values are kept as they are; missing required fields, wrong
 * JSON types, non-JSON,
 * over-cap bodies/arrays/maps are a protocol error (-EBADMSG with a message
 * naming the field), never a state. */
#ifndef JW_AWS_PARSE_H
#define JW_AWS_PARSE_H

#include <stddef.h>

#include "model.h"

/* String caps are the model's length limits (service-2.json, counted in
 * characters as the model counts them); AWS_MAX_STRING is ours, for the
 * members the model leaves unbounded (statusDetails, protectedQueryIdentifier). */
#define AWS_MAX_QUERY_STRING 500000 /* ProtectedQuerySQLParametersQueryStringString */
#define AWS_MAX_NEXT_TOKEN   10240
#define AWS_MAX_STRING	     65536
/* A body holds the longest string escaped as \uXXXX (6 bytes a character)
 * and 1 MiB for everything else: 3,000,000 + 1,048,576, rounded up. */
#define AWS_MAX_BODY		  (4 * 1024 * 1024)
#define AWS_MAX_TAGS		  200 /* TagMap */
#define AWS_MAX_SPARK_PROPERTIES  50  /* SparkProperties */
#define AWS_MAX_RELEVANCE_METRICS 100
#define AWS_MAX_SQL_PARAMETERS	  1000
#define AWS_MAX_PAGE_ITEMS	  100

/* Parses a GetAudienceGenerationJob body.  On success *ret is owned by the
 * caller.  On failure returns -EBADMSG (or -ENOMEM) and writes a message to err. */
int aws_parse_get(const char *body, size_t len, struct job_observation **ret, char *err, size_t errsz);
/* The same for the Get of any kind (GetTrainedModel, ...): o->kind is kind. */
int aws_parse_get_kind(enum resource_kind kind, const char *body, size_t len, struct job_observation **ret,
		       char *err, size_t errsz);

/* Parses one ListAudienceGenerationJobs page.  *ret_items (array and items,
 * from_list set) and *ret_next_token (NULL on the last page) are owned by the
 * caller; *ret_items is NULL when no entry is usable.  An entry that does not
 * fit the model is skipped and counted in *ret_skipped, with the first
 * reason in err; only a page that is broken as a whole fails. */
int aws_parse_list(const char *body, size_t len, struct job_observation ***ret_items, size_t *ret_n,
		   size_t *ret_skipped, char **ret_next_token, char *err, size_t errsz);
/* The same for the List of any kind (kinds.h list_result_key; summaries
 * parsed like the kind's Get answer, from_list set). */
int aws_parse_list_kind(enum resource_kind kind, const char *body, size_t len,
			struct job_observation ***ret_items, size_t *ret_n, size_t *ret_skipped,
			char **ret_next_token, char *err, size_t errsz);

/* The same with the result under key (a collaboration List's:
 * kinds.h collab_list_result_key). */
int aws_parse_list_key(enum resource_kind kind, const char *key, const char *body, size_t len,
		       struct job_observation ***ret_items, size_t *ret_n, size_t *ret_skipped,
		       char **ret_next_token, char *err, size_t errsz);

/* Frees an items array as returned by aws_parse_list(); NULL-safe. */
void aws_job_array_free(struct job_observation **items, size_t n);

#endif
