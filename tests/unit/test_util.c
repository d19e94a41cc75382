/* util.c: durations, timestamps, encoding, validation, bounded buffers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "model.h"
#include "util.h"

static void test_durations(void **state)
{
	static const struct {
		const char *in;
		int r;
		uint64_t ms;
	} cases[] = {
	    {"500ms", 0, 500},
	    {"30s", 0, 30000},
	    {"5m", 0, 300000},
	    {"6h", 0, 21600000},
	    {"1d", 0, 86400000},
	    {"0", 0, 0},
	    {"15", 0, 15000},
	    {"1h30m", 0, 5400000},
	    {"", -EINVAL, 0},
	    {"abc", -EINVAL, 0},
	    {"5x", -EINVAL, 0},
	    {"-5s", -EINVAL, 0},
	    {"5 s", -EINVAL, 0},
	    {"s", -EINVAL, 0},
	    {"5sec", -EINVAL, 0},
	    {"1h30", -EINVAL, 0},
	    {"99999999999999999999s", -ERANGE, 0},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		uint64_t ms = 12345;
		int r = parse_duration_ms(cases[i].in, &ms);
		if (r != cases[i].r)
			fail_msg("parse_duration_ms(\"%s\") = %d, want %d", cases[i].in, r, cases[i].r);
		if (r == 0)
			assert_int_equal(ms, cases[i].ms);
	}
}

static void test_iso8601(void **state)
{
	static const struct {
		const char *in;
		int r;
		int64_t ms;
	} cases[] = {
	    {"1970-01-01T00:00:00Z", 0, 0},
	    {"2024-01-15T12:00:00Z", 0, 1705320000000},
	    {"2024-01-15T12:00:00.5Z", 0, 1705320000500},
	    {"2024-01-15T12:00:00.123456Z", 0, 1705320000123},
	    {"2024-01-15T14:00:00+02:00", 0, 1705320000000},
	    {"2024-01-15T12:00:00", -EINVAL, 0},
	    {"2024-02-30T12:00:00Z", -EINVAL, 0},
	    {"2023-02-29T12:00:00Z", -EINVAL, 0},
	    {"2024-02-29T12:00:00Z", 0, 1709208000000},
	    {"2024-01-15T12:00:00Zjunk", -EINVAL, 0},
	    {"", -EINVAL, 0},
	};
	char buf[40];
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		int64_t ms = -1;
		int r = parse_iso8601_ms(cases[i].in, &ms);
		if (r != cases[i].r)
			fail_msg("parse_iso8601_ms(\"%s\") = %d, want %d", cases[i].in, r, cases[i].r);
		if (r == 0)
			assert_int_equal(ms, cases[i].ms);
	}
	format_iso8601_ms(1705320000123, buf, sizeof(buf));
	assert_string_equal(buf, "2024-01-15T12:00:00.123Z");
	format_iso8601_ms(1705320000000, buf, sizeof(buf));
	assert_string_equal(buf, "2024-01-15T12:00:00Z");
}

static void test_arn_validation(void **state)
{
	assert_true(arn_is_audience_generation_job(
	    "arn:aws:cleanrooms-ml:us-east-1:123456789012:audience-generation-job/7c5d1c56-aaaa"));
	assert_true(arn_is_audience_generation_job(
	    "arn:aws-cn:cleanrooms-ml:cn-north-1:123456789012:audience-generation-job/a/b.c_d"));
	assert_false(arn_is_audience_generation_job(
	    "arn:aws:cleanrooms-ml:us-east-1:12345678901:audience-generation-job/x"));
	assert_false(arn_is_audience_generation_job(
	    "arn:aws:cleanrooms-ml:us-east-1:123456789012:audience-generation-job/"));
	assert_false(arn_is_audience_generation_job(
	    "arn:aws:cleanrooms-ml:us-east-1:123456789012:audience-model/abc"));
	assert_false(arn_is_audience_generation_job(
	    "arn:aws:cleanrooms-ml:us-east-1:123456789012:audience-generation-job/a b"));
	assert_false(arn_is_audience_generation_job("arn:aws:s3:::bucket"));
	assert_false(arn_is_audience_generation_job(NULL));
	assert_true(arn_is_configured_audience_model(
	    "arn:aws:cleanrooms-ml:us-east-1:123456789012:configured-audience-model/m1"));
	assert_true(uuid_is_valid("0f2b7b6e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"));
	assert_false(uuid_is_valid("0F2B7B6E-1C2D-4E5F-8A9B-0C1D2E3F4A5B"));
	assert_false(uuid_is_valid("0f2b7b6e1c2d-4e5f-8a9b-0c1d2e3f4a5b0"));
	assert_string_equal(
	    arn_job_id("arn:aws:cleanrooms-ml:us-east-1:123456789012:audience-generation-job/a/b"), "a/b");
}

static void test_http_date(void **state)
{
	int64_t ms = 0;

	(void)state;
	/* RFC 9110's example, and a leap day. */
	assert_int_equal(parse_http_date_ms("Sun, 06 Nov 1994 08:49:37 GMT", &ms), 0);
	assert_int_equal(ms, 784111777000LL);
	assert_int_equal(parse_http_date_ms("Sun, 29 Feb 2004 00:00:00 GMT", &ms), 0);
	assert_int_equal(ms, 1078012800000LL);
	assert_int_equal(parse_http_date_ms("Sun, 29 Nov 2026 23:59:59 GMT", &ms), 0);
	assert_int_equal(ms, 1795996799000LL);
	/* The obsolete forms, other zones and junk are refused. */
	assert_int_equal(parse_http_date_ms("Sunday, 06-Nov-94 08:49:37 GMT", &ms), -EINVAL);
	assert_int_equal(parse_http_date_ms("Sun Nov  6 08:49:37 1994", &ms), -EINVAL);
	assert_int_equal(parse_http_date_ms("Sun, 06 Nov 1994 08:49:37 UTC", &ms), -EINVAL);
	assert_int_equal(parse_http_date_ms("Sun, 06 Nov 1994 08:49:37 GMT ", &ms), -EINVAL);
	assert_int_equal(parse_http_date_ms("Sun, 06 Foo 1994 08:49:37 GMT", &ms), -EINVAL);
	assert_int_equal(parse_http_date_ms("Sun, 06 Nov 1994 24:00:00 GMT", &ms), -EINVAL);
	assert_int_equal(parse_http_date_ms("Sun, 00 Nov 1994 08:49:37 GMT", &ms), -EINVAL);
	assert_int_equal(parse_http_date_ms("Mon, 31 Nov 1994 08:49:37 GMT", &ms), -EINVAL);
	assert_int_equal(parse_http_date_ms("Fri, 29 Feb 2030 08:49:37 GMT", &ms), -EINVAL);
	assert_int_equal(parse_http_date_ms("", &ms), -EINVAL);
	assert_int_equal(parse_http_date_ms(NULL, &ms), -EINVAL);
}

static void test_str_replace(void **state)
{
	char *s = NULL;

	(void)state;
	assert_int_equal(str_replace(&s, "a.pem"), 0);
	assert_string_equal(s, "a.pem");
	assert_int_equal(str_replace(&s, "b.pem"), 0);
	assert_string_equal(s, "b.pem");
	assert_int_equal(str_replace(&s, NULL), 0);
	assert_null(s);
}

static void test_arn_region(void **state)
{
	const char *job = "arn:aws:cleanrooms-ml:us-east-1:123456789012:audience-generation-job/a";
	const char *r;

	(void)state;
	assert_int_equal(arn_region(job, &r), 9);
	assert_memory_equal(r, "us-east-1", 9);
	assert_true(arn_in_region(job, "us-east-1"));
	/* A prefix, a longer name or nothing is another region. */
	assert_false(arn_in_region(job, "us-east-"));
	assert_false(arn_in_region(job, "us-east-12"));
	assert_false(arn_in_region(job, "eu-west-1"));
	assert_false(arn_in_region(job, NULL));
	assert_true(arn_in_region("arn:aws-cn:cleanrooms-ml:cn-north-1:1:x/y", "cn-north-1"));
	assert_int_equal(arn_region("arn:aws:cleanrooms-ml", &r), 0);
	assert_null(r);
	assert_false(arn_in_region("arn:aws:cleanrooms-ml", "us-east-1"));
	assert_int_equal(arn_region("arn:aws:s3:::bucket", &r), 0);
	assert_non_null(r);
	assert_false(arn_in_region("arn:aws:s3:::bucket", ""));
}

static void test_uri_encode(void **state)
{
	struct dynbuf b;
	const char *arn = "arn:aws:cleanrooms-ml:us-east-1:111122223333:audience-generation-job/abcd-1234";

	dynbuf_init(&b, 4096);
	assert_int_equal(uri_encode(arn, strlen(arn), &b), 0);
	assert_string_equal(b.data,
			    "arn%3Aaws%3Acleanrooms-ml%3Aus-east-1%3A111122223333%3Aaudience-generation-"
			    "job%2Fabcd-1234");
	dynbuf_reset(&b);
	assert_int_equal(uri_encode("a+b/c=d ~", 9, &b), 0);
	assert_string_equal(b.data, "a%2Bb%2Fc%3Dd%20~");
	dynbuf_free(&b);
}

static void test_dynbuf_cap(void **state)
{
	struct dynbuf b;
	dynbuf_init(&b, 8);
	assert_int_equal(dynbuf_appends(&b, "12345"), 0);
	assert_int_equal(dynbuf_appends(&b, "6789"), -E2BIG);
	assert_string_equal(b.data, "12345");
	assert_int_equal(dynbuf_appends(&b, "678"), 0);
	assert_int_equal(b.len, 8);
	dynbuf_free(&b);
}

static void test_str_same(void **state)
{
	assert_true(str_same(NULL, NULL));
	assert_true(str_same(NULL, ""));
	assert_true(str_same("", NULL));
	assert_true(str_same("eu-west-1", "eu-west-1"));
	assert_false(str_same("eu-west-1", "eu-west-2"));
	assert_false(str_same(NULL, "eu-west-1"));
	assert_false(str_same("eu-west-1", ""));
}

static void test_status_names(void **state)
{
	for (int i = 0; i < _JOB_STATUS_MAX; i++)
		assert_int_equal(job_status_from_string(job_status_to_string(i)), i);
	assert_int_equal(job_status_from_string("GONE"), JOB_STATUS_INVALID);
	assert_int_equal(job_status_from_string("ACTIVATING"), JOB_STATUS_INVALID);
	assert_int_equal(job_status_class(JOB_STATUS_ACTIVE), STATUS_CLASS_SETTLED);
	assert_int_equal(job_status_class(JOB_STATUS_DELETE_IN_PROGRESS), STATUS_CLASS_WORKING);
	assert_int_equal(job_status_class(JOB_STATUS_CREATE_FAILED), STATUS_CLASS_FAILED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_durations),	   cmocka_unit_test(test_iso8601),
	    cmocka_unit_test(test_arn_validation), cmocka_unit_test(test_uri_encode),
	    cmocka_unit_test(test_dynbuf_cap),	   cmocka_unit_test(test_status_names),
	    cmocka_unit_test(test_str_same),	   cmocka_unit_test(test_arn_region),
	    cmocka_unit_test(test_str_replace),	   cmocka_unit_test(test_http_date),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
