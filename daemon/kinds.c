#include "kinds.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* From the service model (tests/data/cleanroomsml/service-2.json): the
 * operations' requestUri, the output shapes' ARN member and status enum. */
static const struct resource_kind_info kinds[_KIND_MAX] = {
    [KIND_AUDIENCE_GENERATION_JOB] =
	{
	    .type = "audience-generation-job",
	    .title = "Audience Generation Job",
	    .list_operation = "ListAudienceGenerationJobs",
	    .list_result_key = "audienceGenerationJobs",
	    .noun = "audience generation job",
	    .get_operation = "GetAudienceGenerationJob",
	    .get_path = "audience-generation-job",
	    .arn_member = "audienceGenerationJobArn",
	    .list_operations = "ListAudienceGenerationJobs",
	    .iam_actions =
		"cleanrooms-ml:GetAudienceGenerationJob, cleanrooms-ml:ListAudienceGenerationJobs",
	    .statuses = "CREATE_PENDING CREATE_IN_PROGRESS CREATE_FAILED ACTIVE DELETE_PENDING "
			"DELETE_IN_PROGRESS DELETE_FAILED",
	},
    [KIND_AUDIENCE_MODEL] =
	{
	    .type = "audience-model",
	    .title = "Audience Model",
	    .list_operation = "ListAudienceModels",
	    .list_result_key = "audienceModels",
	    .noun = "audience model",
	    .get_operation = "GetAudienceModel",
	    .get_path = "audience-model",
	    .arn_member = "audienceModelArn",
	    .list_operations = "ListAudienceModels",
	    .iam_actions = "cleanrooms-ml:GetAudienceModel, cleanrooms-ml:ListAudienceModels",
	    .statuses = "CREATE_PENDING CREATE_IN_PROGRESS CREATE_FAILED ACTIVE DELETE_PENDING "
			"DELETE_IN_PROGRESS DELETE_FAILED",
	},
    [KIND_TRAINED_MODEL] =
	{
	    .type = "trained-model",
	    .title = "Trained Model",
	    .list_operation = "ListTrainedModels",
	    .list_result_key = "trainedModels",
	    .noun = "trained model",
	    .membership_scoped = true,
	    .get_operation = "GetTrainedModel",
	    .get_path = "trained-models",
	    .arn_member = "trainedModelArn",
	    .list_operations = "ListTrainedModels, ListCollaborationTrainedModels",
	    .iam_actions = "cleanrooms-ml:GetTrainedModel, cleanrooms-ml:ListTrainedModels, "
			   "cleanrooms-ml:ListCollaborationTrainedModels",
	    .collab_list_operation = "ListCollaborationTrainedModels",
	    .collab_list_result_key = "collaborationTrainedModels",
	    .statuses = "CREATE_PENDING CREATE_IN_PROGRESS CREATE_FAILED ACTIVE DELETE_PENDING "
			"DELETE_IN_PROGRESS DELETE_FAILED INACTIVE CANCEL_PENDING CANCEL_IN_PROGRESS "
			"CANCEL_FAILED",
	    .publish_status = true,
	},
    [KIND_TRAINED_MODEL_INFERENCE_JOB] =
	{
	    .type = "trained-model-inference-job",
	    .title = "Trained Model Inference Job",
	    .list_operation = "ListTrainedModelInferenceJobs",
	    .list_result_key = "trainedModelInferenceJobs",
	    .noun = "trained model inference job",
	    .membership_scoped = true,
	    .get_operation = "GetTrainedModelInferenceJob",
	    .get_path = "trained-model-inference-jobs",
	    .arn_member = "trainedModelInferenceJobArn",
	    .list_operations = "ListTrainedModelInferenceJobs, ListCollaborationTrainedModelInferenceJobs",
	    .iam_actions =
		"cleanrooms-ml:GetTrainedModelInferenceJob, cleanrooms-ml:ListTrainedModelInferenceJobs, "
		"cleanrooms-ml:ListCollaborationTrainedModelInferenceJobs",
	    .statuses = "CREATE_PENDING CREATE_IN_PROGRESS CREATE_FAILED ACTIVE CANCEL_PENDING "
			"CANCEL_IN_PROGRESS CANCEL_FAILED INACTIVE",
	    .publish_status = true,
	    .collab_list_operation = "ListCollaborationTrainedModelInferenceJobs",
	    .collab_list_result_key = "collaborationTrainedModelInferenceJobs",
	},
    [KIND_ML_INPUT_CHANNEL] =
	{
	    .type = "ml-input-channel",
	    .title = "ML Input Channel",
	    .list_operation = "ListMLInputChannels",
	    .list_result_key = "mlInputChannelsList",
	    .noun = "ML input channel",
	    .membership_scoped = true,
	    .get_operation = "GetMLInputChannel",
	    .get_path = "ml-input-channels",
	    .arn_member = "mlInputChannelArn",
	    .list_operations = "ListMLInputChannels, ListCollaborationMLInputChannels",
	    .iam_actions = "cleanrooms-ml:GetMLInputChannel, cleanrooms-ml:ListMLInputChannels, "
			   "cleanrooms-ml:ListCollaborationMLInputChannels",
	    .statuses = "CREATE_PENDING CREATE_IN_PROGRESS CREATE_FAILED ACTIVE DELETE_PENDING "
			"DELETE_IN_PROGRESS DELETE_FAILED INACTIVE",
	    .collab_list_operation = "ListCollaborationMLInputChannels",
	    .collab_list_result_key = "collaborationMLInputChannelsList",
	},
    /* Child kinds: see kinds.h.  Export jobs have no Get at all. */
    [KIND_AUDIENCE_EXPORT_JOB] =
	{
	    .type = "audience-export-job",
	    .title = "Audience Export Job",
	    .noun = "audience export job",
	    .list_operation = "ListAudienceExportJobs",
	    .list_result_key = "audienceExportJobs",
	    .get_path = "audience-export-job", /* the List's */
	    .arn_member = "resourceArn",
	    .list_operations = "ListAudienceExportJobs",
	    .iam_actions = "cleanrooms-ml:ListAudienceExportJobs",
	    .statuses = "CREATE_PENDING CREATE_IN_PROGRESS CREATE_FAILED ACTIVE",
	    .parent_type = "audience-generation-job",
	    .parent_member = "audienceGenerationJobArn",
	    .key_member = "name",
	    .list_only = true,
	},
    [KIND_TRAINED_MODEL_EXPORT_JOB] =
	{
	    .type = "trained-model-export-job",
	    .title = "Trained Model Export Job",
	    .noun = "trained model export job",
	    .membership_scoped = true,
	    .list_operation = "ListCollaborationTrainedModelExportJobs",
	    .list_result_key = "collaborationTrainedModelExportJobs",
	    .get_path = "trained-models",
	    .arn_member = "resourceArn",
	    .list_operations = "ListCollaborationTrainedModelExportJobs",
	    .iam_actions = "cleanrooms-ml:ListCollaborationTrainedModelExportJobs",
	    .statuses = "CREATE_PENDING CREATE_IN_PROGRESS CREATE_FAILED ACTIVE",
	    .parent_type = "trained-model",
	    .parent_member = "trainedModelArn",
	    .key_member = "name",
	    .list_only = true,
	    .list_per_parent = true,
	    .list_by_collaboration = true,
	    .list_suffix = "export-jobs",
	},
    [KIND_TRAINED_MODEL_VERSION] =
	{
	    .type = "trained-model-version",
	    .title = "Trained Model Version",
	    .noun = "trained model version",
	    .membership_scoped = true,
	    .get_operation = "GetTrainedModel",
	    .get_path = "trained-models",
	    .list_operation = "ListTrainedModelVersions",
	    .list_result_key = "trainedModels",
	    .arn_member = "resourceArn",
	    .list_operations = "ListTrainedModelVersions",
	    .iam_actions = "cleanrooms-ml:GetTrainedModel, cleanrooms-ml:ListTrainedModelVersions",
	    .statuses = "CREATE_PENDING CREATE_IN_PROGRESS CREATE_FAILED ACTIVE DELETE_PENDING "
			"DELETE_IN_PROGRESS DELETE_FAILED INACTIVE CANCEL_PENDING CANCEL_IN_PROGRESS "
			"CANCEL_FAILED",
	    .publish_status = true,
	    .parent_type = "trained-model",
	    .parent_member = "trainedModelArn",
	    .key_member = "versionIdentifier",
	    .list_per_parent = true,
	    .list_suffix = "versions",
	},
};

const struct resource_kind_info *resource_kind_info(enum resource_kind k)
{
	if (k < 0 || k >= _KIND_MAX)
		return NULL;
	return &kinds[k];
}

const char *resource_kind_to_string(enum resource_kind k)
{
	const struct resource_kind_info *i = resource_kind_info(k);
	return i ? i->type : NULL;
}

enum resource_kind resource_kind_from_string(const char *s)
{
	if (!s)
		return KIND_INVALID;
	for (int k = 0; k < _KIND_MAX; k++)
		if (strcmp(s, kinds[k].type) == 0)
			return (enum resource_kind)k;
	return KIND_INVALID;
}

static enum resource_kind resource_kind_from_string_n(const char *s, size_t n)
{
	for (int k = 0; k < _KIND_MAX; k++)
		if (strlen(kinds[k].type) == n && strncmp(s, kinds[k].type, n) == 0)
			return (enum resource_kind)k;
	return KIND_INVALID;
}

/* "membership/<uuid>/": the length of the prefix, 0 when p has none. */
static size_t membership_prefix(const char *p, char *membership)
{
	static const char lit[] = "membership/";
	char id[KIND_MEMBERSHIP_ID_SIZE];

	if (strncmp(p, lit, sizeof(lit) - 1) != 0)
		return 0;
	p += sizeof(lit) - 1;
	if (strlen(p) < KIND_MEMBERSHIP_ID_SIZE || p[KIND_MEMBERSHIP_ID_SIZE - 1] != '/')
		return 0;
	memcpy(id, p, KIND_MEMBERSHIP_ID_SIZE - 1);
	id[KIND_MEMBERSHIP_ID_SIZE - 1] = '\0';
	if (!uuid_is_valid(id))
		return 0;
	if (membership)
		memcpy(membership, id, KIND_MEMBERSHIP_ID_SIZE);
	return sizeof(lit) - 1 + KIND_MEMBERSHIP_ID_SIZE;
}

/* The resource type part of res (after the membership prefix, when the
 * kind wants one) and its length. */
static enum resource_kind match(const char *res, char *membership, const char **type, size_t *type_len)
{
	size_t m = membership_prefix(res, membership);
	const char *t = res + m;
	size_t n = strcspn(t, "/");

	*type = t;
	*type_len = n;
	for (int k = 0; k < _KIND_MAX; k++) {
		if (kinds[k].parent_type || kinds[k].membership_scoped != (m > 0))
			continue;
		if (strlen(kinds[k].type) == n && strncmp(t, kinds[k].type, n) == 0 && t[n] == '/' &&
		    arn_resource_id_is_valid(t + n + 1))
			return (enum resource_kind)k;
	}
	return KIND_INVALID;
}

/* A child's key: a name (NameString: 1..63 characters, no control
 * character but tab) or a version identifier (a UUID). */
static bool child_key_is_valid(const struct resource_kind_info *ki, const char *key)
{
	size_t n = strlen(key);

	if (strcmp(ki->key_member, "versionIdentifier") == 0)
		return uuid_is_valid(key);
	if (n == 0 || n > 63 * 4)
		return false;
	for (const unsigned char *c = (const unsigned char *)key; *c; c++)
		if ((*c < 0x20 && *c != '\t') || *c == 0x7f)
			return false;
	return true;
}

/* "<parent ARN>/<type>/<key>" of a child kind: split at the first
 * "/<type>/" after the resource part (parent ids are [-a-zA-Z0-9_/.], a key
 * may hold anything).  Returns the kind (KIND_INVALID) and, in parent, the
 * parent ARN. */
static enum resource_kind match_child(const char *arn, char *parent, size_t size, const char **ret_key)
{
	const char *res = arn_cleanrooms_ml_resource(arn);

	if (!res)
		return KIND_INVALID;
	for (int k = 0; k < _KIND_MAX; k++) {
		const struct resource_kind_info *ki = &kinds[k];
		size_t tl, plen;
		const char *at;

		if (!ki->parent_type)
			continue;
		/* The first "/<type>/"; no formatting: every ARN of the
		 * table (metrics, alerts) passes here. */
		tl = strlen(ki->type);
		for (at = strstr(res, ki->type); at; at = strstr(at + 1, ki->type))
			if (at > res && at[-1] == '/' && at[tl] == '/')
				break;
		if (!at)
			continue;
		plen = (size_t)(at - 1 - arn);
		if (plen >= size)
			continue;
		memcpy(parent, arn, plen);
		parent[plen] = '\0';
		if (resource_kind_from_arn(parent, NULL) != resource_kind_from_string(ki->parent_type) ||
		    !child_key_is_valid(ki, at + tl + 1))
			continue;
		if (ret_key)
			*ret_key = at + tl + 1;
		return (enum resource_kind)k;
	}
	return KIND_INVALID;
}

const char *resource_kind_split_child(const char *id, char *parent, size_t size)
{
	const char *key = NULL;

	if (!id || !parent || match_child(id, parent, size, &key) == KIND_INVALID)
		return NULL;
	return key;
}

int resource_kind_child_id(enum resource_kind k, const char *parent_arn, const char *key, char **ret)
{
	const struct resource_kind_info *ki = resource_kind_info(k);
	struct dynbuf b;

	if (!ki || !ki->parent_type || !parent_arn || !key)
		return -EINVAL;
	dynbuf_init(&b, 4096);
	if (dynbuf_appendf(&b, "%s/%s/%s", parent_arn, ki->type, key) < 0) {
		dynbuf_free(&b);
		return -ENOMEM;
	}
	if (resource_kind_from_arn(b.data, NULL) != k) {
		dynbuf_free(&b);
		return -EINVAL;
	}
	*ret = dynbuf_take(&b);
	return *ret ? 0 : -ENOMEM;
}

enum resource_kind resource_kind_from_arn(const char *arn, char *membership)
{
	const char *res = arn_cleanrooms_ml_resource(arn), *type;
	char parent[2048];
	size_t n;
	enum resource_kind k;

	if (membership)
		membership[0] = '\0';
	if (!res)
		return KIND_INVALID;
	/* A parent id may hold '/': a child's identifier would also read as
	 * its parent's ARN, so children are recognized first. */
	k = match_child(arn, parent, sizeof(parent), NULL);
	if (k != KIND_INVALID) {
		if (membership)
			(void)match(arn_cleanrooms_ml_resource(parent), membership, &type, &n);
		return k;
	}
	k = match(res, membership, &type, &n);
	if (k == KIND_INVALID && membership)
		membership[0] = '\0';
	return k;
}

const char *resource_kind_arn_id(const char *arn)
{
	const char *res = arn_cleanrooms_ml_resource(arn), *type;
	char parent[2048];
	const char *key = NULL;
	size_t n;

	if (match_child(arn, parent, sizeof(parent), &key) != KIND_INVALID)
		return key;

	if (!res || match(res, NULL, &type, &n) == KIND_INVALID)
		return NULL;
	return type + n + 1;
}

void resource_kind_arn_problem(const char *arn, char *buf, size_t size)
{
	const char *res = arn_cleanrooms_ml_resource(arn), *type;
	size_t n;
	char shown[64];

	if (!res) {
		snprintf(buf, size, "not a Clean Rooms ML ARN");
		return;
	}
	if (resource_kind_from_arn(arn, NULL) != KIND_INVALID) {
		snprintf(buf, size, "valid");
		return;
	}
	(void)match(res, NULL, &type, &n);
	if (strncmp(res, "membership/", 11) == 0 && type == res) {
		snprintf(buf, size, "the membership id is not a lower-case UUID");
		return;
	}
	if (resource_kind_from_string_n(type, n) == KIND_INVALID) {
		size_t k = 0;
		for (size_t i = 0; i < n && k + 1 < sizeof(shown); i++)
			shown[k++] = (type[i] >= 0x20 && type[i] < 0x7f && type[i] != '"') ? type[i] : '?';
		shown[k] = '\0';
		snprintf(buf, size, "unknown resource type \"%s\" (watched: %s)", shown,
			 resource_kind_names());
		return;
	}
	if (resource_kind_info(resource_kind_from_string_n(type, n))->membership_scoped && type == res)
		snprintf(buf, size, "a %.*s ARN names its membership (membership/UUID/%.*s/ID)", (int)n,
			 type, (int)n, type);
	else
		snprintf(buf, size, "malformed %.*s ARN", (int)n, type);
}

const char *resource_kind_names(void)
{
	static char names[512];

	if (!names[0]) {
		size_t at = 0;
		for (int k = 0; k < _KIND_MAX && at < sizeof(names); k++)
			at += (size_t)snprintf(names + at, sizeof(names) - at, "%s%s", k ? ", " : "",
					       kinds[k].type);
	}
	return names;
}
