/* The Clean Rooms ML API client: asynchronous GetAudienceGenerationJob and
 * ListAudienceGenerationJobs (all pages) on the daemon's loop.
 *
 * Every request passes the client's token bucket ([aws] max_rps, lowered
 * adaptively on throttling), waits for credentials without holding up other
 * requests, is signed with SigV4, sent over the shared http layer (HTTP/2
 * preferred) and retried per the AWS standard mode with a retry quota shared
 * by all calls of the client.  Callbacks run on the loop, never inside the
 * call that started the request. */
#ifndef JW_AWS_CLIENT_H
#define JW_AWS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/clock.h"
#include "aws/endpoint.h"
#include "aws/errors.h"
#include "http.h"
#include "model.h"

struct uv_loop_s;
struct creds;
struct aws_client;
struct aws_call;

enum aws_op {
	AWS_OP_GET,  /* GetAudienceGenerationJob */
	AWS_OP_LIST, /* ListAudienceGenerationJobs (one page) */
	_AWS_OP_MAX,
	AWS_OP_INVALID = -1,
};
const char *aws_op_to_string(enum aws_op op);

struct aws_client_options {
	const struct aws_endpoint *endpoint; /* copied */
	const char *ca_file;		     /* copied; NULL = system store */
	uint64_t timeout_ms;		     /* per attempt; 0 = 15 s */
	double max_rps;			     /* request rate ceiling; <= 0 = unlimited */
	const char *user_agent;		     /* NULL = "jobwatchd/VERSION" */
	unsigned max_attempts;		     /* 0 = 3 */
	/* Keep the members the model marks sensitive in Get answers; only
	 * for `jobwatchd get --show-sensitive` (see job_observation_redact). */
	bool keep_sensitive;
	/* Randomness for backoff jitter, in [0, 1); NULL = internal PRNG. */
	double (*random)(void *userdata);
	void *random_userdata;
};

/* The outcome of one call (Get) or one page (List). */
struct aws_result {
	enum aws_outcome outcome;
	enum http_error transport; /* HTTP_OK when a response arrived */
	long http_status;	   /* 0 without a response */
	char error_type[128]; /* "ResourceNotFoundException", "connect", "protocol", ... ; "" on success */
	char error_message[512]; /* truncated; never a secret */
	char request_id[128];
	unsigned attempts;   /* HTTP attempts made for this call/page */
	uint64_t elapsed_ms; /* from submission (or from the page's start) to completion */
};

/* job is owned by the callee (NULL unless outcome is AWS_OK). */
typedef void (*aws_get_fn)(void *userdata, const struct aws_result *res, struct job_observation *job);
/* items (array and elements, from_list set) are owned by the callee; n may
 * be 0.  final is true on the last page or on failure (reported once, and no
 * further pages follow). */
typedef void (*aws_list_page_fn)(void *userdata, const struct aws_result *res,
				 struct job_observation **items, size_t n, bool final);

/* loop, http and creds are borrowed and must outlive the client. */
int aws_client_new(struct uv_loop_s *loop, struct http_ctx *http, struct creds *creds,
		   const struct aws_client_options *opts, struct aws_client **ret);
/* Cancels every call: their callbacks run with AWS_CANCELLED before this
 * returns (a call whose callback is running gets it when that returns).  The
 * loop must run afterwards for handle close callbacks.  NULL-safe. */
struct aws_client *aws_client_free(struct aws_client *c);

/* The Get of the ARN's kind (GetAudienceGenerationJob, GetTrainedModel, ...;
 * kinds.h); the observation carries the kind.  -EINVAL for an ARN of no kind, -ENOMEM; on success
 * cb runs exactly once.  *ret (optional) is valid until cb starts. */
int aws_get_job(struct aws_client *c, const char *arn, aws_get_fn cb, void *userdata, struct aws_call **ret);
/* ListAudienceGenerationJobs with optional filters, every page (maxResults
 * 100).  cb runs once per page and ends with final = true. */
int aws_list_jobs(struct aws_client *c, const char *collaboration_id,
		  const char *configured_audience_model_arn, aws_list_page_fn cb, void *userdata,
		  struct aws_call **ret);
/* The List of another kind (ListAudienceModels, ListTrainedModels,
 * ListTrainedModelInferenceJobs, ListMLInputChannels: kinds.h), every page;
 * membership_id exactly for the membership-scoped kinds.  Summaries carry
 * the kind. */
int aws_list_kind(struct aws_client *c, enum resource_kind kind, const char *membership_id,
		  aws_list_page_fn cb, void *userdata, struct aws_call **ret);
/* What a List covers: membership_id for a membership's List,
 * collaboration_id for a collaboration's (ListCollaborationTrainedModels,
 * ...: kinds.h collab_list_operation), parent_arn for the Lists of one
 * parent (ListTrainedModelVersions: its membership is the parent's;
 * ListCollaborationTrainedModelExportJobs: with collaboration_id).  Borrowed. */
struct aws_list_scope {
	const char *membership_id;
	const char *collaboration_id;
	const char *parent_arn;
};
/* The List of any kind but audience generation jobs in scope, every page;
 * -EINVAL when scope does not fit the kind. */
int aws_list_scoped(struct aws_client *c, enum resource_kind kind, const struct aws_list_scope *scope,
		    aws_list_page_fn cb, void *userdata, struct aws_call **ret);
/* Limits one call to max_attempts HTTP attempts (0: the client's setting),
 * e.g. a breaker probe, which is itself the retry.  Call it right after
 * starting the call: the first attempt goes out from the loop, later.  The
 * one-shot credential refresh and clock-skew retries still apply. */
void aws_call_set_max_attempts(struct aws_call *call, unsigned max_attempts);
/* Cancels one call: its callback runs with AWS_CANCELLED before this returns. */
void aws_call_cancel(struct aws_call *call);

#define AWS_LATENCY_BUCKETS    11
#define AWS_DEFAULT_TIMEOUT_MS 15000
extern const uint64_t aws_latency_bounds_ms[AWS_LATENCY_BUCKETS]; /* 5 .. 10000 ms, upper bounds */

/* Counters for /metrics.  Requests are HTTP attempts. */
struct aws_client_stats {
	uint64_t requests[_AWS_OP_MAX][_AWS_OUTCOME_MAX];
	uint64_t retries;
	uint64_t throttles;
	uint64_t auth_refreshes;
	uint64_t quota_exhausted;
	uint64_t list_entries_skipped; /* List entries that did not fit the model */
	/* Non-cumulative counts per bucket; [AWS_LATENCY_BUCKETS] is +Inf. */
	uint64_t latency_buckets[AWS_LATENCY_BUCKETS + 1];
	uint64_t latency_count;
	uint64_t latency_sum_ms;
	double current_rate; /* the token bucket's rate now (req/s); <= 0 = unlimited */
	unsigned retry_quota_available;
	unsigned queued; /* calls waiting for a token, a backoff or credentials */
	unsigned inflight;
	int64_t clock_offset_ms; /* the service's clock minus ours (0 until they differ by 5 min) */
};
/* Changes the request rate ceiling ([aws] max_rps on reload; <= 0 =
 * unlimited); requests waiting for a token are re-timed at once. */
void aws_client_set_max_rps(struct aws_client *c, double max_rps);
/* [aws] ca_file (NULL: the system store) and timeout (0: the default) for
 * the requests sent from now on; requests in flight keep theirs. */
int aws_client_set_transport(struct aws_client *c, const char *ca_file, uint64_t timeout_ms);
const struct aws_client_stats *aws_client_stats(const struct aws_client *c);
const char *aws_client_region(const struct aws_client *c);
/* The corrected clock the client signs with (aws/clock.h): its own, which
 * lives as long as the client, or the one given to aws_client_set_clock()
 * (borrowed: it must outlive the client; NULL goes back to its own). */
struct aws_clock *aws_client_clock(struct aws_client *c);
void aws_client_set_clock(struct aws_client *c, struct aws_clock *k);

/* Formats "TYPE: MESSAGE (request id ID)" for user-facing messages. */
void aws_result_format(const struct aws_result *r, char *buf, size_t size);

#endif
