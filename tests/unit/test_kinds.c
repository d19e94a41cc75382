/* The resource kinds table: the kind and membership of every ARN pattern of
 * the model, and why an ARN is refused. */
#include <setjmp.h>
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
		assert_non_null(i->get_operation);
		assert_non_null(i->get_path);
		assert_non_null(i->arn_member);
		assert_non_null(i->iam_actions);
		assert_non_null(strstr(i->iam_actions, i->get_operation));
		assert_non_null(strstr(i->iam_actions, i->list_operation));
		assert_non_null(strstr(i->list_operations, i->list_operation));
		assert_int_equal(resource_kind_from_string(i->type), k);
		assert_non_null(strstr(resource_kind_names(), i->type));
	}
	assert_null(resource_kind_info(_KIND_MAX));
	assert_null(resource_kind_to_string(KIND_INVALID));
	assert_int_equal(resource_kind_from_string("trained-models"), KIND_INVALID);
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
	    cmocka_unit_test(test_arn_problem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
