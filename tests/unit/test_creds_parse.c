/* creds/parse.h: shared files, command line split, credential_process JSON,
 * container/IMDS JSON, STS XML; and the shared files loader's errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "jwtest.h"
#include "creds/internal.h"
#include "creds/parse.h"
#include "creds/credentials.h"
#include "util.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

static void test_ini_credentials(void **state)
{
	static const char text[] = "# comment\n"
				   "; another\n"
				   "[default]\n"
				   "aws_access_key_id = AKIDDEFAULT\n"
				   "AWS_Secret_Access_Key=" SECRET "\n"
				   "\n"
				   "[ prod ]  # trailing comment\r\n"
				   "aws_access_key_id   =   AKIDPROD   \r\n"
				   "aws_session_token = tok\n"
				   "[profile x]\n"
				   "k = v\n";
	struct creds_ini *f = NULL;
	char err[256] = "";

	assert_int_equal(creds_ini_parse(text, strlen(text), CREDS_INI_CREDENTIALS, &f, err, sizeof(err)),
			 0);
	assert_int_equal(creds_ini_n_profiles(f), 3);
	assert_string_equal(creds_ini_get(f, "default", "aws_access_key_id"), "AKIDDEFAULT");
	assert_string_equal(creds_ini_get(f, "default", "aws_secret_access_key"), SECRET);
	assert_string_equal(creds_ini_get(f, "prod", "aws_access_key_id"), "AKIDPROD");
	assert_string_equal(creds_ini_get(f, "prod", "aws_session_token"), "tok");
	/* In the credentials file the section name is the profile name as written. */
	assert_string_equal(creds_ini_get(f, "profile x", "k"), "v");
	assert_null(creds_ini_get(f, "x", "k"));
	assert_null(creds_ini_get(f, "prod", "missing"));
	assert_null(creds_ini_get(f, "nope", "k"));
	creds_ini_free(f);
	creds_ini_free(NULL);
}

static void test_ini_config(void **state)
{
	static const char text[] = "\xef\xbb\xbf[default]\n"
				   "region = us-west-2\n"
				   "s3 =\n"
				   "  max_concurrent_requests = 20\n"
				   "  region = ignored\n"
				   "[profile  dev ]\n"
				   "role_arn = arn:aws:iam::123456789012:role/dev\n"
				   "source_profile = default\n"
				   "[profile default]\n"
				   "output = json\n"
				   "[sso-session s]\n"
				   "sso_region = eu-west-1\n"
				   "[services svc]\n"
				   "sts =\n"
				   "  endpoint_url = http://x\n"
				   "[bare]\n"
				   "region = nowhere\n"
				   "[profile multi]\n"
				   "credential_process = a\n"
				   "  b\n";
	struct creds_ini *f = NULL;
	char err[256] = "";

	assert_int_equal(creds_ini_parse(text, strlen(text), CREDS_INI_CONFIG, &f, err, sizeof(err)), 0);
	assert_true(creds_ini_has_profile(f, "default"));
	assert_true(creds_ini_has_profile(f, "dev"));
	assert_true(creds_ini_has_profile(f, "multi"));
	/* Non-profile sections and unprefixed names are not profiles. */
	assert_false(creds_ini_has_profile(f, "bare"));
	assert_false(creds_ini_has_profile(f, "s"));
	assert_false(creds_ini_has_profile(f, "svc"));
	assert_int_equal(creds_ini_n_profiles(f), 3);
	assert_string_equal(creds_ini_get(f, "default", "region"), "us-west-2"); /* nested region ignored */
	assert_string_equal(creds_ini_get(f, "default", "s3"), "");
	assert_string_equal(creds_ini_get(f, "default", "output"), "json"); /* [profile default] merges */
	assert_string_equal(creds_ini_get(f, "dev", "role_arn"), "arn:aws:iam::123456789012:role/dev");
	assert_string_equal(creds_ini_get(f, "multi", "credential_process"), "a\nb");
	/* Nested keys are kept under their parent's name; services sections
	 * apart from profiles. */
	assert_string_equal(creds_ini_get(f, "default", "s3.max_concurrent_requests"), "20");
	assert_string_equal(creds_ini_get_services(f, "svc", "sts.endpoint_url"), "http://x");
	assert_null(creds_ini_get_services(f, "default", "region"));
	assert_null(creds_ini_get(f, "svc", "sts.endpoint_url"));
	creds_ini_free(f);
}

static void test_ini_errors(void **state)
{
	static const struct {
		const char *text;
		enum creds_ini_kind kind;
		const char *err;
	} cases[] = {
	    {"[default\nk = v\n", CREDS_INI_CONFIG, "line 1: section header without ']'"},
	    {"k = v\n", CREDS_INI_CREDENTIALS, "line 1: property outside of a section"},
	    {"[a]\nk = v\n\n\njust words\n", CREDS_INI_CREDENTIALS, "line 5: expected \"key = value\""},
	    {"[a]\n = v\n", CREDS_INI_CREDENTIALS, "line 2: empty key"},
	    {"[ ]\n", CREDS_INI_CREDENTIALS, "line 1: empty section name"},
	    {"[a] junk\n", CREDS_INI_CREDENTIALS, "line 1: unexpected text after section header"},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct creds_ini *f = NULL;
		char err[256] = "";
		int r = creds_ini_parse(cases[i].text, strlen(cases[i].text), cases[i].kind, &f, err,
					sizeof(err));
		if (r != -EINVAL || strcmp(err, cases[i].err) != 0)
			fail_msg("case %zu: r=%d err=\"%s\", want \"%s\"", i, r, err, cases[i].err);
		assert_null(f);
	}
	/* Embedded NUL and over-long lines. */
	{
		static const char nul[] = "[a]\nk = v\0x\n";
		struct creds_ini *f = NULL;
		char err[256] = "";
		assert_int_equal(
		    creds_ini_parse(nul, sizeof(nul) - 1, CREDS_INI_CREDENTIALS, &f, err, sizeof(err)),
		    -EINVAL);
		assert_string_equal(err, "line 2: NUL byte");
		char *big = malloc(20000);
		memcpy(big, "[a]\nk = ", 8);
		memset(big + 8, 'x', 20000 - 8);
		assert_int_equal(creds_ini_parse(big, 20000, CREDS_INI_CREDENTIALS, &f, err, sizeof(err)),
				 -E2BIG);
		assert_non_null(strstr(err, "line 2: line longer than"));
		free(big);
	}
}

static void test_split(void **state)
{
	static const struct {
		const char *in;
		int r;
		const char *out[5];
	} cases[] = {
	    {"/bin/echo a b", 0, {"/bin/echo", "a", "b"}},
	    {"  cmd\t 'a b'  \"c d\" ", 0, {"cmd", "a b", "c d"}},
	    {"cmd 'it''s' \"x\\\"y\" a\\ b", 0, {"cmd", "its", "x\"y", "a b"}},
	    {"cmd \"a\\nb\" 'a\\nb' \\$HOME", 0, {"cmd", "a\\nb", "a\\nb", "$HOME"}},
	    {"cmd '' \"\"", 0, {"cmd", "", ""}},
	    {"cmd x'y'\"z\"", 0, {"cmd", "xyz"}},
	    {"cmd 'open", -EINVAL, {NULL}},
	    {"cmd \"open", -EINVAL, {NULL}},
	    {"cmd trailing\\", -EINVAL, {NULL}},
	    {"   ", -EINVAL, {NULL}},
	    {"", -EINVAL, {NULL}},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		char **argv = NULL, err[128] = "";
		size_t argc = 0;
		int r = creds_split_command(cases[i].in, &argv, &argc, err, sizeof(err));
		if (r != cases[i].r)
			fail_msg("case %zu (%s): r=%d (%s)", i, cases[i].in, r, err);
		if (r < 0) {
			assert_true(err[0] != '\0');
			continue;
		}
		size_t n = 0;
		while (cases[i].out[n])
			n++;
		assert_int_equal(argc, n);
		for (size_t j = 0; j < n; j++)
			assert_string_equal(argv[j], cases[i].out[j]);
		assert_null(argv[n]);
		creds_argv_free(argv);
	}
}

static void check_no_secret(const char *err)
{
	assert_null(strstr(err, SECRET));
	assert_null(strstr(err, "SESSIONTOKEN"));
}

static void test_process_json(void **state)
{
	static const struct {
		const char *json;
		int r;
		const char *err;
	} cases[] = {
	    {"{\"Version\":1,\"AccessKeyId\":\"AKID\",\"SecretAccessKey\":\"" SECRET
	     "\",\"SessionToken\":\"SESSIONTOKEN\",\"Expiration\":\"2030-01-02T03:04:05Z\"}",
	     0, NULL},
	    {"{\"Version\":1,\"AccessKeyId\":\"AKID\",\"SecretAccessKey\":\"" SECRET "\"}", 0, NULL},
	    {"{\"AccessKeyId\":\"AKID\",\"SecretAccessKey\":\"" SECRET "\"}", -EINVAL, "missing Version"},
	    {"{\"Version\":2,\"AccessKeyId\":\"AKID\",\"SecretAccessKey\":\"" SECRET "\"}", -EINVAL,
	     "unsupported Version (only 1 is supported)"},
	    {"{\"Version\":\"1\",\"AccessKeyId\":\"AKID\",\"SecretAccessKey\":\"" SECRET "\"}", -EINVAL,
	     "unsupported Version (only 1 is supported)"},
	    {"{\"Version\":1,\"SecretAccessKey\":\"" SECRET "\"}", -EINVAL, "missing AccessKeyId"},
	    {"{\"Version\":1,\"AccessKeyId\":\"AKID\"}", -EINVAL, "missing SecretAccessKey"},
	    {"{\"Version\":1,\"AccessKeyId\":\"\",\"SecretAccessKey\":\"" SECRET "\"}", -EINVAL,
	     "AccessKeyId is empty"},
	    {"{\"Version\":1,\"AccessKeyId\":5,\"SecretAccessKey\":\"" SECRET "\"}", -EINVAL,
	     "AccessKeyId is not a string"},
	    {"{\"Version\":1,\"AccessKeyId\":\"AKID\",\"SecretAccessKey\":\"" SECRET
	     "\",\"SessionToken\":\"SESSIONTOKEN\",\"Expiration\":\"tomorrow\"}",
	     -EINVAL, "Expiration \"tomorrow\" is not an ISO 8601 timestamp"},
	    {"{\"Version\":1,\"AccessKeyId\":\"AKID\",\"SecretAccessKey\":\"" SECRET "\"", -EPROTO,
	     "malformed JSON"},
	    {"[1,2]", -EPROTO, "JSON document is not an object"},
	    {"", -EPROTO, "empty response"},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct aws_credentials *c = NULL;
		char err[256] = "";
		int r = creds_parse_process_json(cases[i].json, strlen(cases[i].json),
						 "credential_process:p", &c, err, sizeof(err));
		if (r != cases[i].r)
			fail_msg("case %zu: r=%d err=%s", i, r, err);
		if (r < 0) {
			assert_string_equal(err, cases[i].err);
			check_no_secret(err);
			assert_null(c);
			continue;
		}
		assert_string_equal(c->access_key_id, "AKID");
		assert_string_equal(c->secret_access_key, SECRET);
		assert_string_equal(c->source, "credential_process:p");
		if (i == 0) {
			assert_string_equal(c->session_token, "SESSIONTOKEN");
			assert_int_equal(c->expiration_ms, 1893553445000LL);
		} else {
			assert_null(c->session_token);
			assert_int_equal(c->expiration_ms, 0);
		}
		aws_credentials_free(c);
	}
}

static void test_http_json(void **state)
{
	static const char imds_ok[] =
	    "{\"Code\":\"Success\",\"LastUpdated\":\"2030-01-01T00:00:00Z\",\"Type\":\"AWS-HMAC\","
	    "\"AccessKeyId\":\"ASIA1\",\"SecretAccessKey\":\"" SECRET "\",\"Token\":"
	    "\"SESSIONTOKEN\",\"Expiration\":\"2030-01-02T03:04:05Z\"}";
	static const char container_ok[] =
	    "{\"AccessKeyId\":\"ASIA2\",\"SecretAccessKey\":\"" SECRET
	    "\",\"Token\":\"SESSIONTOKEN\",\"Expiration\":\"2030-01-02T03:04:05.500Z\","
	    "\"RoleArn\":\"arn:aws:iam::1:role/r\"}";
	struct aws_credentials *c = NULL;
	char err[256];

	assert_int_equal(creds_parse_http_json(imds_ok, strlen(imds_ok), true, "imds", &c, err, sizeof(err)),
			 0);
	assert_string_equal(c->access_key_id, "ASIA1");
	assert_string_equal(c->session_token, "SESSIONTOKEN");
	assert_int_equal(c->expiration_ms, 1893553445000LL);
	c = aws_credentials_free(c);

	assert_int_equal(creds_parse_http_json(container_ok, strlen(container_ok), false, "container", &c,
					       err, sizeof(err)),
			 0);
	assert_string_equal(c->access_key_id, "ASIA2");
	assert_int_equal(c->expiration_ms, 1893553445500LL);
	c = aws_credentials_free(c);

	/* IMDS needs Code: Success; the container document has no Code. */
	assert_int_equal(
	    creds_parse_http_json(container_ok, strlen(container_ok), true, "imds", &c, err, sizeof(err)),
	    -EINVAL);
	assert_string_equal(err, "missing Code");

	static const struct {
		const char *json;
		int r;
		const char *err;
	} bad[] = {
	    {"{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":\"x\"}", -EPROTO,
	     "Code is \"AssumeRoleUnauthorizedAccess\", not \"Success\""},
	    {"{\"Code\":\"Success\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET
	     "\",\"Expiration\":\"x\"}",
	     -EINVAL, "missing Token"},
	    {"{\"Code\":\"Success\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET
	     "\",\"Token\":\"SESSIONTOKEN\",\"Expiration\":\"2030-13-01T00:00:00Z\"}",
	     -EINVAL, "Expiration \"2030-13-01T00:00:00Z\" is not an ISO 8601 timestamp"},
	    {"{\"Code\":\"Success\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET "\",\"Token\":",
	     -EPROTO, "malformed JSON"},
	    {"<html>", -EPROTO, "malformed JSON"},
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		int r = creds_parse_http_json(bad[i].json, strlen(bad[i].json), true, "imds", &c, err,
					      sizeof(err));
		if (r != bad[i].r || strcmp(err, bad[i].err) != 0)
			fail_msg("case %zu: r=%d err=%s", i, r, err);
		check_no_secret(err);
	}
}

#define STS_NS "xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\""
#define STS_CREDS                                                                                           \
	"<Credentials><AccessKeyId>ASIASTS</AccessKeyId><SecretAccessKey>" SECRET "</SecretAccessKey>"      \
	"<SessionToken>SESSIONTOKEN</SessionToken><Expiration>2030-01-02T03:04:05Z</Expiration></"          \
	"Credentials>"

static void test_sts_xml(void **state)
{
	static const char ar[] =
	    "<AssumeRoleResponse " STS_NS "><AssumeRoleResult>" STS_CREDS
	    "<AssumedRoleUser><Arn>arn:aws:sts::1:assumed-role/r/s</Arn></AssumedRoleUser>"
	    "</AssumeRoleResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>"
	    "</AssumeRoleResponse>";
	static const char wi[] =
	    "<?xml version=\"1.0\"?>\n<AssumeRoleWithWebIdentityResponse " STS_NS
	    ">\n  <AssumeRoleWithWebIdentityResult>\n    " STS_CREDS
	    "\n  </AssumeRoleWithWebIdentityResult>\n</AssumeRoleWithWebIdentityResponse>\n";
	struct aws_credentials *c = NULL;
	char err[256], code[64];

	assert_int_equal(creds_parse_sts_xml(ar, strlen(ar), "AssumeRole", "assume-role:p", &c, code,
					     sizeof(code), err, sizeof(err)),
			 0);
	assert_string_equal(c->access_key_id, "ASIASTS");
	assert_string_equal(c->secret_access_key, SECRET);
	assert_string_equal(c->session_token, "SESSIONTOKEN");
	assert_string_equal(c->source, "assume-role:p");
	assert_int_equal(c->expiration_ms, 1893553445000LL);
	c = aws_credentials_free(c);
	assert_int_equal(creds_parse_sts_xml(wi, strlen(wi), "AssumeRoleWithWebIdentity", "web-identity", &c,
					     NULL, 0, err, sizeof(err)),
			 0);
	assert_string_equal(c->access_key_id, "ASIASTS");
	c = aws_credentials_free(c);

	static const struct {
		const char *xml;
		const char *action;
		int r;
		const char *err;
		const char *code;
	} bad[] = {
	    {"<ErrorResponse " STS_NS "><Error><Type>Sender</Type><Code>ExpiredTokenException</Code>"
	     "<Message>Token expired: current date/time 1 must be before the expiration date/time "
	     "0</Message>"
	     "</Error><RequestId>x</RequestId></ErrorResponse>",
	     "AssumeRoleWithWebIdentity", -EACCES,
	     "ExpiredTokenException: Token expired: current date/time 1 must be before the expiration "
	     "date/time 0",
	     "ExpiredTokenException"},
	    {"<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>", "AssumeRole",
	     -EACCES, "AccessDenied", "AccessDenied"},
	    {"<AssumeRoleResponse><AssumeRoleResult>", "AssumeRole", -EPROTO, "malformed XML", ""},
	    {"not xml at all", "AssumeRole", -EPROTO, "malformed XML", ""},
	    {"", "AssumeRole", -EPROTO, "empty response", ""},
	    {ar, "AssumeRoleWithWebIdentity", -EPROTO,
	     "unexpected XML document (expected AssumeRoleWithWebIdentityResponse)", ""},
	    {"<AssumeRoleResponse><AssumeRoleResult></AssumeRoleResult></AssumeRoleResponse>", "AssumeRole",
	     -EINVAL, "missing AssumeRoleResult/Credentials", ""},
	    {"<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>A</"
	     "AccessKeyId><SecretAccessKey>" SECRET "</SecretAccessKey><Expiration>2030-01-02T03:04:05Z</"
	     "Expiration></Credentials></AssumeRoleResult>"
	     "</AssumeRoleResponse>",
	     "AssumeRole", -EINVAL, "missing SessionToken", ""},
	    {"<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>A</"
	     "AccessKeyId><SecretAccessKey>" SECRET
	     "</SecretAccessKey><SessionToken>SESSIONTOKEN</SessionToken><Expiration>soon</Expiration>"
	     "</Credentials></AssumeRoleResult></AssumeRoleResponse>",
	     "AssumeRole", -EINVAL, "Expiration \"soon\" is not an ISO 8601 timestamp", ""},
	    /* Entities are never expanded, DTDs refused outright. */
	    {"<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x \"AKIDFROMENTITY\">]><AssumeRoleResponse>"
	     "<AssumeRoleResult><Credentials><AccessKeyId>&x;</AccessKeyId></Credentials></AssumeRoleResult>"
	     "</AssumeRoleResponse>",
	     "AssumeRole", -EPROTO, "XML with a DTD refused", ""},
	    {"<?xml version=\"1.0\"?><!DOCTYPE r SYSTEM \"http://127.0.0.1:1/x.dtd\"><AssumeRoleResponse/>",
	     "AssumeRole", -EPROTO, "XML with a DTD refused", ""},
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		int r = creds_parse_sts_xml(bad[i].xml, strlen(bad[i].xml), bad[i].action, "x", &c, code,
					    sizeof(code), err, sizeof(err));
		if (r != bad[i].r || strcmp(err, bad[i].err) != 0 || strcmp(code, bad[i].code) != 0)
			fail_msg("case %zu: r=%d err=%s code=%s", i, r, err, code);
		check_no_secret(err);
	}
}

static void test_sanitize(void **state)
{
	char out[8];

	creds_sanitize("a\nb\x01", 4, out, sizeof(out));
	assert_string_equal(out, "a?b?");
	creds_sanitize("0123456789", 10, out, sizeof(out));
	assert_string_equal(out, "0123...");
}

static void test_files_load(void **state)
{
	char dir[64], cred[128], conf[128], err[512];
	struct creds_files f;
	FILE *fp;

	jwt_tmpdir("creds", dir, sizeof(dir));
	snprintf(cred, sizeof(cred), "%s/credentials", dir);
	snprintf(conf, sizeof(conf), "%s/config", dir);
	setenv("AWS_SHARED_CREDENTIALS_FILE", cred, 1);
	setenv("AWS_CONFIG_FILE", conf, 1);

	/* Missing files are empty. */
	assert_int_equal(creds_files_load(&f, err, sizeof(err)), 0);
	assert_false(creds_files_has_profile(&f, "default"));
	creds_files_done(&f);

	fp = fopen(cred, "w");
	fputs("[default]\naws_access_key_id = FROMCREDS\n", fp);
	fclose(fp);
	fp = fopen(conf, "w");
	fputs("[default]\naws_access_key_id = FROMCONFIG\nregion = eu-west-1\n[profile p]\nregion = x\n",
	      fp);
	fclose(fp);
	assert_int_equal(creds_files_load(&f, err, sizeof(err)), 0);
	assert_string_equal(creds_files_get(&f, "default", "aws_access_key_id"), "FROMCREDS");
	assert_string_equal(creds_files_get(&f, "default", "region"), "eu-west-1");
	assert_true(creds_files_has_profile(&f, "p"));
	creds_files_done(&f);

	/* A malformed file: the error names the file and the line. */
	fp = fopen(conf, "w");
	fputs("[default]\nregion = x\n\ngarbage line\n", fp);
	fclose(fp);
	assert_int_equal(creds_files_load(&f, err, sizeof(err)), -EINVAL);
	char want[300];
	snprintf(want, sizeof(want), "shared config file %s: line 4: expected \"key = value\"", conf);
	assert_string_equal(err, want);

	/* Unreadable (a directory here, since tests may run as root). */
	unlink(cred);
	assert_int_equal(mkdir(cred, 0700), 0);
	assert_int_equal(creds_files_load(&f, err, sizeof(err)), -EISDIR);
	snprintf(want, sizeof(want), "shared credentials file %s: Is a directory", cred);
	assert_string_equal(err, want);
	jwt_rmtree(dir);
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	unsetenv("AWS_CONFIG_FILE");
}

static void test_url_split(void **state)
{
	char scheme[16], hp[64], host[64];
	const char *path;

	assert_int_equal(creds_url_split("http://127.0.0.1:8080/v1/creds", scheme, sizeof(scheme), hp,
					 sizeof(hp), host, sizeof(host), &path),
			 0);
	assert_string_equal(scheme, "http");
	assert_string_equal(hp, "127.0.0.1:8080");
	assert_string_equal(host, "127.0.0.1");
	assert_string_equal(path, "/v1/creds");
	assert_int_equal(creds_url_split("HTTP://[fd00:ec2::23]/x", scheme, sizeof(scheme), hp, sizeof(hp),
					 host, sizeof(host), &path),
			 0);
	assert_string_equal(scheme, "http");
	assert_string_equal(host, "fd00:ec2::23");
	assert_int_equal(creds_url_split("https://sts.amazonaws.com", scheme, sizeof(scheme), hp, sizeof(hp),
					 host, sizeof(host), &path),
			 0);
	assert_string_equal(path, "/");
	assert_int_equal(creds_url_split("http://user@evil/x", scheme, sizeof(scheme), hp, sizeof(hp), host,
					 sizeof(host), &path),
			 -EINVAL);
	assert_int_equal(
	    creds_url_split("no-scheme", scheme, sizeof(scheme), hp, sizeof(hp), host, sizeof(host), &path),
	    -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ini_credentials), cmocka_unit_test(test_ini_config),
	    cmocka_unit_test(test_ini_errors),	    cmocka_unit_test(test_split),
	    cmocka_unit_test(test_process_json),    cmocka_unit_test(test_http_json),
	    cmocka_unit_test(test_sts_xml),	    cmocka_unit_test(test_sanitize),
	    cmocka_unit_test(test_files_load),	    cmocka_unit_test(test_url_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
