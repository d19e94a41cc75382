/* The Clean Rooms ML resource kinds with a status that the daemon watches:
 * one row each (ARN pattern, Get operation and path, identifier members,
 * the status values the model lists, failure-detail members, IAM action).
 * Everything kind-specific elsewhere asks this table: adding a kind is adding
 * a row (and, when its Get answer has members of its own, their parser in
 * aws/parse.c), not a new code path. */
#ifndef JW_KINDS_H
#define JW_KINDS_H

#include <stdbool.h>
#include <stddef.h>

enum resource_kind {
	KIND_AUDIENCE_GENERATION_JOB,
	KIND_AUDIENCE_MODEL,
	KIND_TRAINED_MODEL,
	KIND_TRAINED_MODEL_INFERENCE_JOB,
	KIND_ML_INPUT_CHANNEL,
	/* Child kinds: no ARN of their own (kinds.c, "Child kinds"). */
	KIND_AUDIENCE_EXPORT_JOB,
	KIND_TRAINED_MODEL_EXPORT_JOB,
	KIND_TRAINED_MODEL_VERSION,
	_KIND_MAX,
	KIND_INVALID = -1,
};

/* A membership identifier: a lower-case UUID and its NUL. */
#define KIND_MEMBERSHIP_ID_SIZE 37

struct resource_kind_info {
	/* The resource type as ARNs spell it ("trained-model"): also the
	 * kind's name in configuration, payloads, journal fields and labels. */
	const char *type;
	/* ARN is arn:...:membership/<uuid>/<type>/<id> (else <type>/<id>);
	 * the Get path then starts with /memberships/<uuid>. */
	bool membership_scoped;
	const char *noun;	     /* for humans: "trained model" */
	const char *title;	     /* in EventBridge detail types: "Trained Model" */
	const char *get_operation;   /* "GetTrainedModel" */
	const char *get_path;	     /* path segment before the ARN label: "trained-models" */
	const char *arn_member;	     /* the answer's ARN member: "trainedModelArn" */
	const char *list_operations; /* every List of the kind, for documentation */
	/* The List discovery uses: its path is the Get's without the ARN
	 * ([/memberships/<uuid>]/<get_path>), its result under this key. */
	const char *list_operation;
	const char *list_result_key;
	const char *iam_actions; /* what the daemon's role needs for this kind */
	/* The status values of the kind's enum in the model, space-separated. */
	const char *statuses;
	/* The answer carries metricsStatus/logsStatus (PUBLISH_FAILED is
	 * reported, see events). */
	bool publish_status;

	/* Child kinds (export jobs, trained model versions) have no ARN: their
	 * identifier is "<parent ARN>/<type>/<key>", built from the summary's
	 * parent_member and key_member ("name", "versionIdentifier").  It is
	 * the key of the tracker and the store and the resourceArn of events,
	 * never sent to the service as it is (a trained model version's Get
	 * sends the parent ARN and ?versionIdentifier=KEY). */
	const char *parent_type;
	const char *parent_member;
	const char *key_member;
	/* No Get: watched through its List only ([discover]). */
	bool list_only;
	/* The List is one per parent: <scope>/<parent's get_path>/<parent
	 * ARN>/<list_suffix>, the scope /collaborations/<id> when
	 * list_by_collaboration, else /memberships/<id>. */
	bool list_per_parent;
	bool list_by_collaboration;
	const char *list_suffix;
	/* The collaboration-wide List of the kind (ListCollaborationTrainedModels,
	 * ...: /collaborations/<id>/<get_path>), NULL when it has none. */
	const char *collab_list_operation;
	const char *collab_list_result_key;
};

const struct resource_kind_info *resource_kind_info(enum resource_kind k);
const char *resource_kind_to_string(enum resource_kind k);
enum resource_kind resource_kind_from_string(const char *s);
/* The kind of a watched resource's ARN; KIND_INVALID when arn is not the ARN
 * of a kind in the table.  membership (optional, KIND_MEMBERSHIP_ID_SIZE
 * bytes) gets the membership id of a membership-scoped ARN, "" otherwise. */
enum resource_kind resource_kind_from_arn(const char *arn, char *membership);
/* Why arn is not a watched ARN, for an error message: "unknown resource type
 * \"training-dataset\"", "not a Clean Rooms ML ARN", ... */
void resource_kind_arn_problem(const char *arn, char *buf, size_t size);
/* "audience-generation-job, audience-model, ..." */
const char *resource_kind_names(void);
/* The id part of the ARN (after "<type>/"; a child kind's key), or NULL. */
const char *resource_kind_arn_id(const char *arn);
/* A child kind's identifier: copies the parent ARN into parent (size
 * bytes) and returns the key (inside id), or NULL when id is not the
 * identifier of a child kind (or the parent does not fit). */
const char *resource_kind_split_child(const char *id, char *parent, size_t size);
/* Builds the identifier of a child of kind k: "<parent_arn>/<type>/<key>".
 * -EINVAL when the result is not an identifier of k, -ENOMEM. */
int resource_kind_child_id(enum resource_kind k, const char *parent_arn, const char *key, char **ret);

#endif
