/* aws/errors.c: error type precedence and sanitizing, and the outcome
 * classification that decides retries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "aws/errors.h"
#include "util.h"

static void test_sanitize(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"FooError", "FooError"},
	    {"aws.protocoltests.restjson#FooError", "FooError"},
	    {"aws.protocoltests.restjson#FooError:http://internal.amazon.com/coral/"
	     "com.amazon.coral.validate/",
	     "FooError"},
	    {"FooError:http://internal.amazon.com/", "FooError"},
	    {"com.amazonaws.cleanroomsml#ResourceNotFoundException", "ResourceNotFoundException"},
	    {"  ThrottlingException ", "ThrottlingException"},
	    {"", ""},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		char out[128];
		aws_error_sanitize_type(cases[i].in, out, sizeof(out));
		if (strcmp(out, cases[i].out) != 0)
			fail_msg("sanitize(\"%s\") = \"%s\", want \"%s\"", cases[i].in, out, cases[i].out);
	}
}

static void test_precedence(void **state)
{
	struct aws_error e;
	const char *body =
	    "{\"code\":\"CodeError\",\"__type\":\"ns#TypeError\",\"message\":\"the message\"}";

	/* Header wins over everything. */
	aws_error_parse("ns#HeaderError:http://x", "req-1", body, strlen(body), &e);
	assert_string_equal(e.type, "HeaderError");
	assert_string_equal(e.message, "the message");
	assert_string_equal(e.request_id, "req-1");

	/* Then body code. */
	aws_error_parse(NULL, NULL, body, strlen(body), &e);
	assert_string_equal(e.type, "CodeError");
	assert_string_equal(e.request_id, "");

	/* "Code" and "Message" capitalised. */
	body = "{\"Code\":\"Cap\",\"Message\":\"M\",\"__type\":\"T\"}";
	aws_error_parse("", NULL, body, strlen(body), &e);
	assert_string_equal(e.type, "Cap");
	assert_string_equal(e.message, "M");

	/* Then __type. */
	body = "{\"__type\":\"com.amazon.coral.service#ExpiredTokenException\",\"message\":\"expired\"}";
	aws_error_parse(NULL, NULL, body, strlen(body), &e);
	assert_string_equal(e.type, "ExpiredTokenException");

	/* A non-JSON body (a load balancer page) yields nothing but no crash. */
	body = "<html>502 Bad Gateway</html>";
	aws_error_parse(NULL, "r", body, strlen(body), &e);
	assert_string_equal(e.type, "");
	assert_string_equal(e.message, "");
	assert_string_equal(e.request_id, "r");

	/* Control characters do not reach logs; long messages are cut. */
	{
		char big[2000];
		memset(big, 'x', sizeof(big));
		memcpy(big, "{\"message\":\"a\\nb", 16);
		memcpy(big + sizeof(big) - 3, "\"}", 3);
		aws_error_parse(NULL, NULL, big, strlen(big), &e);
		assert_int_equal(strlen(e.message), sizeof(e.message) - 1);
		assert_memory_equal(e.message, "a b", 3);
		assert_string_equal(e.message + sizeof(e.message) - 4, "...");
	}
}

static void test_classify(void **state)
{
	static const struct {
		enum http_error t;
		long status;
		const char *type;
		enum aws_outcome want;
	} cases[] = {
	    {HTTP_OK, 200, NULL, AWS_OK},
	    {HTTP_OK, 429, "ThrottlingException", AWS_THROTTLED},
	    {HTTP_OK, 429, "", AWS_THROTTLED}, /* by status, like JS */
	    {HTTP_OK, 400, "ThrottlingException", AWS_THROTTLED},
	    {HTTP_OK, 400, "TooManyRequestsException", AWS_THROTTLED},
	    {HTTP_OK, 503, "SlowDown", AWS_THROTTLED},
	    {HTTP_OK, 400, "RequestLimitExceeded", AWS_THROTTLED},
	    {HTTP_OK, 500, "InternalServiceException", AWS_TRANSIENT},
	    {HTTP_OK, 502, NULL, AWS_TRANSIENT},
	    {HTTP_OK, 503, "ServiceUnavailable", AWS_TRANSIENT},
	    {HTTP_OK, 504, NULL, AWS_TRANSIENT},
	    {HTTP_OK, 408, "RequestTimeout", AWS_TRANSIENT},
	    {HTTP_OK, 400, "RequestTimeoutException", AWS_TRANSIENT},
	    {HTTP_OK, 501, NULL, AWS_PROTOCOL},
	    {HTTP_OK, 403, "ExpiredTokenException", AWS_AUTH_EXPIRED},
	    {HTTP_OK, 400, "ExpiredToken", AWS_AUTH_EXPIRED},
	    {HTTP_OK, 403, "InvalidClientTokenId", AWS_AUTH_EXPIRED},
	    {HTTP_OK, 403, "UnrecognizedClientException", AWS_AUTH_EXPIRED},
	    {HTTP_OK, 403, "AccessDeniedException", AWS_AUTH},
	    {HTTP_OK, 403, "InvalidSignatureException", AWS_AUTH},
	    {HTTP_OK, 403, "", AWS_AUTH},
	    {HTTP_OK, 404, "ResourceNotFoundException", AWS_NOT_FOUND},
	    {HTTP_OK, 404, NULL, AWS_CLIENT},
	    {HTTP_OK, 404, "UnknownOperationException", AWS_CLIENT},
	    {HTTP_OK, 400, "ResourceNotFoundException", AWS_NOT_FOUND},
	    {HTTP_OK, 400, "ValidationException", AWS_CLIENT},
	    {HTTP_OK, 409, "ConflictException", AWS_CLIENT},
	    {HTTP_OK, 402, "ServiceQuotaExceededException", AWS_CLIENT},
	    {HTTP_OK, 301, NULL, AWS_PROTOCOL},
	    {HTTP_ERR_RESET, 0, NULL, AWS_TRANSIENT},
	    {HTTP_ERR_TIMEOUT, 0, NULL, AWS_TRANSIENT},
	    {HTTP_ERR_CONNECT, 0, NULL, AWS_TRANSIENT},
	    {HTTP_ERR_RESOLVE, 0, NULL, AWS_TRANSIENT},
	    {HTTP_ERR_TLS, 0, NULL, AWS_TRANSPORT},
	    {HTTP_ERR_OTHER, 0, NULL, AWS_TRANSPORT},
	    {HTTP_ERR_TOO_LARGE, 200, NULL, AWS_PROTOCOL},
	    {HTTP_ERR_CANCELLED, 0, NULL, AWS_CANCELLED},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		enum aws_outcome o = aws_classify(cases[i].t, cases[i].status, cases[i].type);
		if (o != cases[i].want)
			fail_msg("case %zu (%d, %ld, %s): %s, want %s", i, cases[i].t, cases[i].status,
				 cases[i].type ? cases[i].type : "-", aws_outcome_to_string(o),
				 aws_outcome_to_string(cases[i].want));
	}
	for (int o = 0; o < _AWS_OUTCOME_MAX; o++)
		assert_non_null(aws_outcome_to_string(o));
	assert_null(aws_outcome_to_string(_AWS_OUTCOME_MAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sanitize),
	    cmocka_unit_test(test_precedence),
	    cmocka_unit_test(test_classify),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
