/* aws/endpoint.c: every precedence step of region and endpoint resolution,
 * partitions, FIPS/dual-stack, and URL splitting (Host header with port). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "jwtest.h"
#include "aws/endpoint.h"
#include "util.h"

static char tmpdir[64];
static char cfgpath[256];

static const char *const envs[] = {
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_CLEANROOMSML",
    "AWS_ENDPOINT_URL_EVENTBRIDGE",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "HOME",
};

static int setup(void **state)
{
	FILE *f;

	jwt_tmpdir("aws-endpoint", tmpdir, sizeof(tmpdir));
	snprintf(cfgpath, sizeof(cfgpath), "%s/config", tmpdir);
	f = fopen(cfgpath, "we");
	if (!f)
		return -1;
	fputs("[default]\nregion = eu-west-1\n\n[profile prod]\nregion = ap-southeast-2\ns3 =\n  "
	      "max_concurrent_requests = 4\n"
	      "[profile noregion]\noutput = json\n",
	      f);
	fclose(f);
	return 0;
}

static int teardown(void **state)
{
	jwt_rmtree(tmpdir);
	return 0;
}

static void clear_env(void)
{
	for (size_t i = 0; i < ELEMENTSOF(envs); i++)
		unsetenv(envs[i]);
	/* A HOME without .aws/config: the fall-through must not find the
	 * developer's own file. */
	setenv("HOME", tmpdir, 1);
}

static char *region_of(const struct aws_endpoint_options *o, int *ret_r, char *err, size_t errsz)
{
	char *r = NULL;
	*ret_r = aws_resolve_region(o, &r, err, errsz);
	return r;
}

static void test_region_precedence(void **state)
{
	struct aws_endpoint_options o = {};
	char err[256];
	char *reg;
	int r;

	clear_env();
	reg = region_of(&o, &r, err, sizeof(err));
	assert_int_equal(r, -ENOENT);
	assert_null(reg);
	assert_string_equal(err, "no AWS region: set [aws] region or AWS_REGION");

	/* The profile file, default profile. */
	setenv("AWS_CONFIG_FILE", cfgpath, 1);
	reg = region_of(&o, &r, err, sizeof(err));
	assert_string_equal(reg, "eu-west-1");
	free(reg);
	/* AWS_PROFILE selects [profile prod]. */
	setenv("AWS_PROFILE", "prod", 1);
	reg = region_of(&o, &r, err, sizeof(err));
	assert_string_equal(reg, "ap-southeast-2");
	free(reg);
	/* [aws] profile wins over AWS_PROFILE. */
	o.profile = "default";
	reg = region_of(&o, &r, err, sizeof(err));
	assert_string_equal(reg, "eu-west-1");
	free(reg);
	/* A profile without region: no region. */
	o.profile = "noregion";
	reg = region_of(&o, &r, err, sizeof(err));
	assert_int_equal(r, -ENOENT);
	/* AWS_DEFAULT_REGION beats the file. */
	setenv("AWS_DEFAULT_REGION", "us-west-2", 1);
	reg = region_of(&o, &r, err, sizeof(err));
	assert_string_equal(reg, "us-west-2");
	free(reg);
	/* AWS_REGION beats AWS_DEFAULT_REGION. */
	setenv("AWS_REGION", "us-east-2", 1);
	reg = region_of(&o, &r, err, sizeof(err));
	assert_string_equal(reg, "us-east-2");
	free(reg);
	/* [aws] region beats everything. */
	o.region = "eu-central-1";
	reg = region_of(&o, &r, err, sizeof(err));
	assert_string_equal(reg, "eu-central-1");
	free(reg);
	/* Garbage cannot reach a host name. */
	o.region = "us-east-1.evil.com";
	reg = region_of(&o, &r, err, sizeof(err));
	assert_int_equal(r, -EINVAL);
	assert_non_null(strstr(err, "[aws] region"));
	/* A config file that is not a file is an error naming it. */
	o.region = NULL;
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	setenv("AWS_CONFIG_FILE", tmpdir, 1);
	reg = region_of(&o, &r, err, sizeof(err));
	assert_true(r < 0);
	assert_null(reg);
	clear_env();
}

static void expect_endpoint(const struct aws_endpoint_options *o, const char *url, const char *host,
			    const char *path, const char *region)
{
	struct aws_endpoint e = {};
	char err[256] = "";
	int r = aws_resolve_endpoint(o, &e, err, sizeof(err));

	if (r < 0)
		fail_msg("aws_resolve_endpoint: %d %s", r, err);
	assert_string_equal(e.base_url, url);
	assert_string_equal(e.host, host);
	assert_string_equal(e.base_path, path);
	assert_string_equal(e.region, region);
	aws_endpoint_done(&e);
}

static void test_endpoint_default_and_partitions(void **state)
{
	static const struct {
		const char *region;
		bool fips, dualstack;
		const char *host;
	} cases[] = {
	    {"us-east-1", false, false, "cleanrooms-ml.us-east-1.amazonaws.com"},
	    {"us-east-1", false, true, "cleanrooms-ml.us-east-1.api.aws"},
	    {"us-east-1", true, false, "cleanrooms-ml-fips.us-east-1.amazonaws.com"},
	    {"us-east-1", true, true, "cleanrooms-ml-fips.us-east-1.api.aws"},
	    {"cn-north-1", false, false, "cleanrooms-ml.cn-north-1.amazonaws.com.cn"},
	    {"cn-north-1", false, true, "cleanrooms-ml.cn-north-1.api.amazonwebservices.com.cn"},
	    {"us-gov-west-1", true, false, "cleanrooms-ml-fips.us-gov-west-1.amazonaws.com"},
	    {"us-gov-west-1", false, true, "cleanrooms-ml.us-gov-west-1.api.aws"},
	    {"us-iso-east-1", false, false, "cleanrooms-ml.us-iso-east-1.c2s.ic.gov"},
	    {"us-isob-east-1", false, false, "cleanrooms-ml.us-isob-east-1.sc2s.sgov.gov"},
	    {"eusc-de-east-1", false, false, "cleanrooms-ml.eusc-de-east-1.amazonaws.eu"},
	};
	clear_env();
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct aws_endpoint_options o = {
		    .region = cases[i].region, .fips = cases[i].fips, .dualstack = cases[i].dualstack};
		char url[256];
		snprintf(url, sizeof(url), "https://%s", cases[i].host);
		expect_endpoint(&o, url, cases[i].host, "", cases[i].region);
	}
}

/* EventBridge (events-fips, the plain FIPS host of the GovCloud regions,
 * AWS_ENDPOINT_URL_EVENTBRIDGE) through the same resolver; the cases are
 * the rule set's endpoint tests. */
static void test_endpoint_eventbridge(void **state)
{
	static const struct {
		const char *region;
		bool fips, dualstack;
		const char *url;
	} cases[] = {
	    {"us-east-1", false, false, "https://events.us-east-1.amazonaws.com"},
	    {"us-east-1", true, false, "https://events-fips.us-east-1.amazonaws.com"},
	    {"me-central-1", true, true, "https://events-fips.me-central-1.api.aws"},
	    {"ca-central-1", false, true, "https://events.ca-central-1.api.aws"},
	    {"us-gov-east-1", true, false, "https://events.us-gov-east-1.amazonaws.com"},
	    {"us-gov-east-1", true, true, "https://events-fips.us-gov-east-1.api.aws"},
	    {"us-iso-west-1", true, false, "https://events-fips.us-iso-west-1.c2s.ic.gov"},
	    {"cn-north-1", false, false, "https://events.cn-north-1.amazonaws.com.cn"},
	};
	char err[256] = "";

	(void)state;
	clear_env();
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct aws_endpoint_options o = {
		    .region = cases[i].region, .fips = cases[i].fips, .dualstack = cases[i].dualstack};
		struct aws_endpoint e = {};
		if (aws_resolve_service_endpoint(&aws_service_eventbridge, &o, &e, err, sizeof(err)) < 0)
			fail_msg("%s: %s", cases[i].region, err);
		assert_string_equal(e.base_url, cases[i].url);
		aws_endpoint_done(&e);
	}
	/* Its own variable wins over the global one; the Clean Rooms ML one
	 * is not for it. */
	struct aws_endpoint_options o = {.region = "us-east-1"};
	struct aws_endpoint e = {};
	setenv("AWS_ENDPOINT_URL_CLEANROOMSML", "http://127.0.0.1:1", 1);
	assert_int_equal(aws_resolve_service_endpoint(&aws_service_eventbridge, &o, &e, err, sizeof(err)),
			 0);
	assert_string_equal(e.base_url, "https://events.us-east-1.amazonaws.com");
	aws_endpoint_done(&e);
	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:2", 1);
	assert_int_equal(aws_resolve_service_endpoint(&aws_service_eventbridge, &o, &e, err, sizeof(err)),
			 0);
	assert_string_equal(e.base_url, "http://127.0.0.1:2");
	aws_endpoint_done(&e);
	setenv("AWS_ENDPOINT_URL_EVENTBRIDGE", "http://localhost:3/bus/", 1);
	assert_int_equal(aws_resolve_service_endpoint(&aws_service_eventbridge, &o, &e, err, sizeof(err)),
			 0);
	assert_string_equal(e.base_url, "http://localhost:3/bus");
	assert_string_equal(e.base_path, "/bus");
	assert_string_equal(e.region, "us-east-1");
	aws_endpoint_done(&e);
	clear_env();
}

static void test_endpoint_precedence(void **state)
{
	struct aws_endpoint_options o = {.region = "us-east-1"};
	struct aws_endpoint e = {};
	char err[256];

	clear_env();
	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:8080", 1);
	expect_endpoint(&o, "http://127.0.0.1:8080", "127.0.0.1:8080", "", "us-east-1");
	setenv("AWS_ENDPOINT_URL_CLEANROOMSML", "https://localhost:4443/prefix/", 1);
	expect_endpoint(&o, "https://localhost:4443/prefix", "localhost:4443", "/prefix", "us-east-1");
	o.endpoint = "https://vpce-1.cleanrooms-ml.us-east-1.vpce.amazonaws.com";
	/* Signing region stays the configured one even with a custom endpoint. */
	expect_endpoint(&o, o.endpoint, "vpce-1.cleanrooms-ml.us-east-1.vpce.amazonaws.com", "",
			"us-east-1");

	/* FIPS with a custom endpoint is an error (from env or config). */
	o.fips = true;
	assert_int_equal(aws_resolve_endpoint(&o, &e, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "FIPS"));
	o.endpoint = NULL;
	assert_int_equal(aws_resolve_endpoint(&o, &e, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "AWS_ENDPOINT_URL_CLEANROOMSML"));
	o.fips = false;

	/* The SDKs' environment switches turn the variants on. */
	clear_env();
	o.endpoint = NULL;
	setenv("AWS_USE_FIPS_ENDPOINT", "true", 1);
	expect_endpoint(&o, "https://cleanrooms-ml-fips.us-east-1.amazonaws.com",
			"cleanrooms-ml-fips.us-east-1.amazonaws.com", "", "us-east-1");
	setenv("AWS_USE_DUALSTACK_ENDPOINT", "true", 1);
	expect_endpoint(&o, "https://cleanrooms-ml-fips.us-east-1.api.aws",
			"cleanrooms-ml-fips.us-east-1.api.aws", "", "us-east-1");
	setenv("AWS_USE_FIPS_ENDPOINT", "false", 1);
	expect_endpoint(&o, "https://cleanrooms-ml.us-east-1.api.aws", "cleanrooms-ml.us-east-1.api.aws", "",
			"us-east-1");
	/* ... and conflict with a custom endpoint like the config keys. */
	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:8080", 1);
	assert_int_equal(aws_resolve_endpoint(&o, &e, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "dual-stack"));
	clear_env();

	/* Plain http off loopback would send the signatures and the session
	 * token in clear: refused, from the environment as from the config. */
	o.endpoint = NULL;
	setenv("AWS_ENDPOINT_URL", "http://cleanrooms.internal.example:8080", 1);
	assert_int_equal(aws_resolve_endpoint(&o, &e, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "AWS_ENDPOINT_URL: plain http is only allowed to a loopback host"));
	clear_env();
	o.endpoint = "http://10.1.2.3";
	assert_int_equal(aws_resolve_endpoint(&o, &e, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "[aws] endpoint: plain http"));
	o.endpoint = "http://[::1]:4566";
	expect_endpoint(&o, "http://[::1]:4566", "[::1]:4566", "", "us-east-1");
	o.endpoint = NULL;

	/* No region: a clear error even with an endpoint. */
	o.region = NULL;
	assert_int_equal(aws_resolve_endpoint(&o, &e, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "no AWS region: set [aws] region or AWS_REGION");
	clear_env();
}

static void test_parse_url(void **state)
{
	static const struct {
		const char *url;
		int r;
		const char *host, *path;
	} cases[] = {
	    {"https://example.com", 0, "example.com", ""},
	    {"https://example.com:443/", 0, "example.com", ""},
	    {"http://example.com:80", 0, "example.com", ""},
	    {"http://example.com:443", 0, "example.com:443", ""},
	    {"https://example.com:8443/a/b", 0, "example.com:8443", "/a/b"},
	    {"http://[::1]:9000", 0, "[::1]:9000", ""},
	    {"https://[::1]", 0, "[::1]", ""},
	    {"ftp://example.com", -EINVAL, NULL, NULL},
	    {"example.com", -EINVAL, NULL, NULL},
	    {"https://", -EINVAL, NULL, NULL},
	    {"https://example.com:0", -EINVAL, NULL, NULL},
	    {"https://example.com:99999", -EINVAL, NULL, NULL},
	    {"https://example.com:x", -EINVAL, NULL, NULL},
	    {"https://example.com/?a=b", -EINVAL, NULL, NULL},
	    {"https://user@example.com", -EINVAL, NULL, NULL},
	    {"https://[::1", -EINVAL, NULL, NULL},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct aws_endpoint e = {};
		char err[256];
		int r = aws_endpoint_parse_url(cases[i].url, &e, err, sizeof(err));
		if (r != cases[i].r)
			fail_msg("parse_url(%s) = %d, want %d", cases[i].url, r, cases[i].r);
		if (r == 0) {
			assert_string_equal(e.host, cases[i].host);
			assert_string_equal(e.base_path, cases[i].path);
		}
		aws_endpoint_done(&e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_region_precedence),
	    cmocka_unit_test(test_endpoint_default_and_partitions),
	    cmocka_unit_test(test_endpoint_eventbridge),
	    cmocka_unit_test(test_endpoint_precedence),
	    cmocka_unit_test(test_parse_url),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
