/* The resource kinds table: the kind and membership of every ARN pattern of
 * the model, and why an ARN is refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kinds.h"

#define PRE "arn:aws:cleanrooms-ml:us-east-1:123456789012:"
#define MEM "a1b2c3d4-0000-4000-8000-00000000e3b0"

static void test_kind_from_arn(void **state)
{
	static const struct {
		const char *arn;
		enum resource_kind kind;
		const char *membership;
		const char *id;
	} cases[] = {
	    {PRE "audience-generation-job/j-1", KIND_AUDIENCE_GENERATION_JOB, "", "j-1"},
	    {PRE "audience-model/m/1.2", KIND_AUDIENCE_MODEL, "", "m/1.2"},
	    {PRE "membership/" MEM "/trained-model/tm", KIND_TRAINED_MODEL, MEM, "tm"},
	    {PRE "membership/" MEM "/trained-model-inference-job/ij", KIND_TRAINED_MODEL_INFERENCE_JOB, MEM,
	     "ij"},
	    {PRE "membership/" MEM "/ml-input-channel/ch", KIND_ML_INPUT_CHANNEL, MEM, "ch"},
	    /* Child kinds: "<parent ARN>/<type>/<key>" (kinds.h). */
	    {PRE "audience-generation-job/j-1/audience-export-job/my export", KIND_AUDIENCE_EXPORT_JOB, "",
	     "my export"},
	    {PRE "membership/" MEM "/trained-model/tm/trained-model-export-job/x/y",
	     KIND_TRAINED_MODEL_EXPORT_JOB, MEM, "x/y"},
	    {PRE "membership/" MEM "/trained-model/tm/trained-model-version/" MEM,
	     KIND_TRAINED_MODEL_VERSION, MEM, MEM},
	    /* Not a version (not a UUID): what is left is the model's ARN
	     * pattern of a trained model, whose ids may hold '/'. */
	    {PRE "membership/" MEM "/trained-model/tm/trained-model-version/v1", KIND_TRAINED_MODEL, MEM,
	     "tm/trained-model-version/v1"},
	    /* An export job belongs to an audience generation job only. */
	    {PRE "audience-model/m/audience-export-job/x", KIND_AUDIENCE_MODEL, "",
	     "m/audience-export-job/x"},
	    {PRE "audience-generation-job/j-1/audience-export-job/", KIND_AUDIENCE_GENERATION_JOB, "",
	     "j-1/audience-export-job/"},
	    {PRE "membership/" MEM "/trained-model-version/" MEM, KIND_INVALID, "", NULL},
	    {"arn:aws-us-gov:cleanrooms-ml:us-gov-west-1:123456789012:membership/" MEM "/trained-model/x",
	     KIND_TRAINED_MODEL, MEM, "x"},
	    /* A membership-scoped kind without its membership, or the other
	     * way round, does not match the model's pattern. */
	    {PRE "trained-model/tm", KIND_INVALID, "", NULL},
	    {PRE "membership/" MEM "/audience-model/m", KIND_INVALID, "", NULL},
	    {PRE "membership/A1B2C3D4-0000-4000-8000-00000000E3B0/trained-model/tm", KIND_INVALID, "", NULL},
	    {PRE "membership/" MEM "/trained-model/", KIND_INVALID, "", NULL},
	    {PRE "training-dataset/x", KIND_INVALID, "", NULL},
	    {PRE "audience-generation-job/a b", KIND_INVALID, "", NULL},
	    {"arn:aws:s3:::bucket", KIND_INVALID, "", NULL},
	    {"", KIND_INVALID, "", NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char m[KIND_MEMBERSHIP_ID_SIZE] = "junk";
		const char *id = resource_kind_arn_id(cases[i].arn);

		assert_int_equal(resource_kind_from_arn(cases[i].arn, m), cases[i].kind);
		assert_string_equal(m, cases[i].membership);
		if (cases[i].id)
			assert_string_equal(id, cases[i].id);
		else
			assert_null(id);
	}
	assert_int_equal(resource_kind_from_arn(NULL, NULL), KIND_INVALID);
}

static void test_table(void **state)
{
	for (int k = 0; k < _KIND_MAX; k++) {
		const struct resource_kind_info *i = resource_kind_info((enum resource_kind)k);
		assert_non_null(i->type);
		assert_non_null(i->noun);
		assert_non_null(i->title);
		assert_true(i->list_only == (i->get_operation == NULL));
		assert_non_null(i->get_path);
		assert_non_null(i->arn_member);
		assert_non_null(i->iam_actions);
		if (i->get_operation)
			assert_non_null(strstr(i->iam_actions, i->get_operation));
		if (i->collab_list_operation) {
			assert_non_null(strstr(i->iam_actions, i->collab_list_operation));
			assert_non_null(i->collab_list_result_key);
		}
		if (i->parent_type) {
			assert_int_not_equal(resource_kind_from_string(i->parent_type), KIND_INVALID);
			assert_non_null(i->parent_member);
			assert_non_null(i->key_member);
		}
		assert_true(i->list_per_parent == (i->list_suffix != NULL));
		assert_non_null(strstr(i->iam_actions, i->list_operation));
		assert_non_null(strstr(i->list_operations, i->list_operation));
		assert_int_equal(resource_kind_from_string(i->type), k);
		assert_non_null(strstr(resource_kind_names(), i->type));
	}
	assert_null(resource_kind_info(_KIND_MAX));
	assert_null(resource_kind_to_string(KIND_INVALID));
	assert_int_equal(resource_kind_from_string("trained-models"), KIND_INVALID);
}

static void test_child_id(void **state)
{
	const char *tm = PRE "membership/" MEM "/trained-model/tm";
	char parent[2048], *id = NULL;

	assert_int_equal(resource_kind_child_id(KIND_TRAINED_MODEL_VERSION, tm, MEM, &id), 0);
	assert_string_equal(id, PRE "membership/" MEM "/trained-model/tm/trained-model-version/" MEM);
	assert_string_equal(resource_kind_split_child(id, parent, sizeof(parent)), MEM);
	assert_string_equal(parent, tm);
	free(id);
	/* A version is a UUID; an export job's parent is an audience
	 * generation job. */
	assert_int_equal(resource_kind_child_id(KIND_TRAINED_MODEL_VERSION, tm, "v1", &id), -EINVAL);
	assert_int_equal(resource_kind_child_id(KIND_AUDIENCE_EXPORT_JOB, tm, "x", &id), -EINVAL);
	assert_int_equal(resource_kind_child_id(KIND_TRAINED_MODEL, tm, "x", &id), -EINVAL);
	assert_null(resource_kind_split_child(tm, parent, sizeof(parent)));
}

static void test_arn_problem(void **state)
{
	static const struct {
		const char *arn, *why;
	} cases[] = {
	    {"arn:aws:s3:::bucket", "not a Clean Rooms ML ARN"},
	    {PRE "training-dataset/x", "unknown resource type \"training-dataset\""},
	    {PRE "membership/nope/trained-model/x", "the membership id is not a lower-case UUID"},
	    {PRE "trained-model/x", "a trained-model ARN names its membership"},
	    {PRE "audience-model/", "malformed audience-model ARN"},
	};
	char buf[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		resource_kind_arn_problem(cases[i].arn, buf, sizeof(buf));
		if (!strstr(buf, cases[i].why))
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].arn, buf, cases[i].why);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kind_from_arn),
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_child_id),
	    cmocka_unit_test(test_arn_problem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
