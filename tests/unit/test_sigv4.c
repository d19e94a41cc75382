/* aws/sigv4.c: the 38 header-signing cases of the official AWS SigV4 suite
 * (tests/data/sigv4/v4, from awslabs/aws-c-auth), the double-encoded ARN path
 * vector produced by @smithy/signature-v4 (shared/reference/testinfra.md §6),
 * the signing-key cache and session tokens. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "aws/sigv4.h"
#include "creds/credentials.h"
#include "util.h"

#define SUITE_CASES 38

static const char *const suite_cases[SUITE_CASES] = {
    "get-header-key-duplicate",
    "get-header-value-multiline",
    "get-header-value-order",
    "get-header-value-trim",
    "get-relative-normalized",
    "get-relative-relative-normalized",
    "get-relative-relative-unnormalized",
    "get-relative-unnormalized",
    "get-slash-dot-slash-normalized",
    "get-slash-dot-slash-unnormalized",
    "get-slash-normalized",
    "get-slash-pointless-dot-normalized",
    "get-slash-pointless-dot-unnormalized",
    "get-slash-unnormalized",
    "get-slashes-normalized",
    "get-slashes-unnormalized",
    "get-space-normalized",
    "get-space-unnormalized",
    "get-unreserved",
    "get-utf8",
    "get-vanilla",
    "get-vanilla-empty-query-key",
    "get-vanilla-query",
    "get-vanilla-query-order-encoded",
    "get-vanilla-query-order-key-case",
    "get-vanilla-query-unreserved",
    "get-vanilla-utf8-query",
    "get-vanilla-with-session-token",
    "post-header-key-case",
    "post-header-key-sort",
    "post-header-value-case",
    "post-sts-header-after",
    "post-sts-header-before",
    "post-vanilla",
    "post-vanilla-empty-query-value",
    "post-vanilla-query",
    "post-x-www-form-urlencoded",
    "post-x-www-form-urlencoded-parameters",
};

static const char *suite_dir(char *buf, size_t size)
{
	const char *src = getenv("JW_SOURCE_DIR");
	int n =
	    src ? snprintf(buf, size, "%s/tests/data/sigv4/v4", src) : snprintf(buf, size, "data/sigv4/v4");
	assert_true(n > 0 && (size_t)n < size);
	return buf;
}

static char *read_case_file(const char *name, const char *file, size_t *ret_len)
{
	char dir[4096], path[4400];
	char *data = NULL;
	int n = snprintf(path, sizeof(path), "%s/%s/%s", suite_dir(dir, sizeof(dir)), name, file);
	int r;

	assert_true(n > 0 && (size_t)n < sizeof(path));
	r = read_file_capped(path, 1 << 20, &data, ret_len);
	if (r < 0)
		fail_msg("%s: cannot read %s: %s", name, path, strerror(-r));
	return data;
}

/* request.txt parsed as the suite's harness reads it: "METHOD target
 * HTTP/1.1", header lines ("Name:value", a line starting with whitespace
 * continues the previous value), a blank line, then the body. */
struct suite_request {
	char *text;
	char *method, *path, *query, *host, *body;
	size_t body_len;
	char *headers[32];
	size_t nheaders;
};

static void suite_request_parse(const char *name, struct suite_request *q)
{
	size_t len;
	char *line, *next, *sp, *target_end, *qm;

	memset(q, 0, sizeof(*q));
	q->text = read_case_file(name, "request.txt", &len);

	line = q->text;
	next = strchr(line, '\n');
	if (next)
		*next++ = '\0';
	/* The target may contain spaces ("/example space/"): it ends at the last one. */
	sp = strchr(line, ' ');
	target_end = strrchr(line, ' ');
	if (!sp || target_end == sp || strcmp(target_end, " HTTP/1.1") != 0)
		fail_msg("%s: bad request line '%s'", name, line);
	*sp = '\0';
	*target_end = '\0';
	q->method = line;
	q->path = sp + 1;
	qm = strchr(q->path, '?');
	if (qm) {
		*qm = '\0';
		q->query = qm + 1;
	}

	while (next && *next && *next != '\n') {
		line = next;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (line[0] == ' ' || line[0] == '\t') {
			/* A folded value: keep the line break, the signer collapses it. */
			if (q->nheaders == 0)
				fail_msg("%s: continuation without header", name);
			line[-1] = '\n';
			continue;
		}
		if (strncasecmp(line, "Host:", 5) == 0) {
			q->host = line + 5;
			continue;
		}
		assert_true(q->nheaders < ELEMENTSOF(q->headers) - 1);
		q->headers[q->nheaders++] = line;
	}
	if (next && *next == '\n') {
		q->body = next + 1;
		q->body_len = len - (size_t)(q->body - q->text);
	}
	if (!q->host)
		fail_msg("%s: no Host header", name);
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0;

	assert_int_equal(EVP_Digest(data, len, md, &n, EVP_sha256(), NULL), 1);
	assert_int_equal(n, 32);
	hex_encode(md, 32, out);
}

static const char *json_str(const char *name, const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!cJSON_IsString(v))
		fail_msg("%s: context.json has no string '%s'", name, key);
	return v->valuestring;
}

static bool json_bool(const cJSON *obj, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, key));
}

static void expect_equal(const char *name, const char *what, const char *got, const char *want)
{
	if (strcmp(got, want) != 0)
		fail_msg("case %s: %s differs\n--- got:\n%s\n--- want:\n%s", name, what, got, want);
}

static void test_suite_case(void **state)
{
	const char *name = *state;
	struct suite_request q;
	struct sigv4_signer *s = NULL;
	struct aws_credentials *c;
	struct sigv4_signed out;
	char *ctx_text, *want_creq, *want_sts, *want_sig, body_hash[65], content_sha[100];
	const char *headers[34];
	const cJSON *creds_json, *token;
	cJSON *ctx;
	int64_t ms;
	size_t n;
	int r;

	ctx_text = read_case_file(name, "context.json", &n);
	ctx = cJSON_Parse(ctx_text);
	if (!ctx)
		fail_msg("%s: context.json does not parse", name);
	creds_json = cJSON_GetObjectItemCaseSensitive(ctx, "credentials");
	assert_non_null(creds_json);
	token = cJSON_GetObjectItemCaseSensitive(creds_json, "token");
	assert_int_equal(parse_iso8601_ms(json_str(name, ctx, "timestamp"), &ms), 0);

	/* omit_session_token means the token header is added after signing and
	 * so is not part of the signature: that is signing without a token. */
	c = aws_credentials_new(
	    json_str(name, creds_json, "access_key_id"), json_str(name, creds_json, "secret_access_key"),
	    cJSON_IsString(token) && !json_bool(ctx, "omit_session_token") ? token->valuestring : NULL, 0,
	    "test");
	assert_non_null(c);
	assert_int_equal(sigv4_signer_new(json_str(name, ctx, "region"), json_str(name, ctx, "service"), &s),
			 0);

	suite_request_parse(name, &q);
	for (n = 0; n < q.nheaders; n++)
		headers[n] = q.headers[n];
	/* sign_body: the harness adds and signs X-Amz-Content-Sha256. */
	if (json_bool(ctx, "sign_body")) {
		sha256_hex(q.body ? q.body : "", q.body_len, body_hash);
		snprintf(content_sha, sizeof(content_sha), "X-Amz-Content-Sha256: %s", body_hash);
		headers[n++] = content_sha;
	}
	headers[n] = NULL;

	r = sigv4_sign(s, c,
		       &(struct sigv4_request){
			   .method = q.method,
			   .host = q.host,
			   .path = q.path,
			   .query = q.query,
			   .headers = headers,
			   .payload = q.body,
			   .payload_len = q.body_len,
			   .now = (time_t)(ms / 1000),
			   .normalize_path = json_bool(ctx, "normalize"),
		       },
		       &out);
	if (r < 0)
		fail_msg("case %s: sigv4_sign: %s", name, strerror(-r));

	want_creq = read_case_file(name, "header-canonical-request.txt", &n);
	want_sts = read_case_file(name, "header-string-to-sign.txt", &n);
	want_sig = read_case_file(name, "header-signature.txt", &n);
	expect_equal(name, "canonical request", out.canonical_request, want_creq);
	expect_equal(name, "string to sign", out.string_to_sign, want_sts);
	expect_equal(name, "signature", out.signature, strstrip(want_sig));
	assert_true(strstr(out.authorization, out.signature) != NULL);
	if (cJSON_IsString(token) && !json_bool(ctx, "omit_session_token"))
		assert_non_null(out.security_token);
	else
		assert_null(out.security_token);

	sigv4_signed_done(&out);
	free(want_creq);
	free(want_sts);
	free(want_sig);
	free(q.text);
	cJSON_Delete(ctx);
	free(ctx_text);
	aws_credentials_free(c);
	sigv4_signer_free(s);
}

/* The data directory must hold exactly the 38 cases above, so that a lost or
 * partial copy fails instead of silently testing less. */
static void test_suite_complete(void **state)
{
	char dir[4096];
	struct dirent *de;
	size_t found = 0;
	DIR *d = opendir(suite_dir(dir, sizeof(dir)));

	if (!d)
		fail_msg("cannot open %s: %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		bool known = false;
		if (de->d_name[0] == '.')
			continue;
		for (size_t i = 0; i < SUITE_CASES; i++)
			known = known || strcmp(de->d_name, suite_cases[i]) == 0;
		if (!known)
			fail_msg("unexpected case directory %s", de->d_name);
		found++;
	}
	closedir(d);
	assert_int_equal(found, SUITE_CASES);
}

static const char *const arn_creq =
    "GET\n"
    "/audience-generation-job/"
    "arn%253Aaws%253Acleanrooms-ml%253Aus-east-1%253A111122223333%253Aaudience-generation-job%252Fabcd-"
    "1234\n"
    "\n"
    "host:cleanrooms-ml.us-east-1.amazonaws.com\n"
    "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
    "x-amz-date:20240115T120000Z\n"
    "\n"
    "host;x-amz-content-sha256;x-amz-date\n"
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/* The vector printed by @smithy/signature-v4 in testinfra.md §6: the wire
 * path is the ARN encoded once, the canonical URI encodes it again. */
static void test_arn_path_vector(void **state)
{
	static const char *const headers[] = {
	    "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", NULL};
	struct sigv4_signer *s = NULL;
	struct aws_credentials *c =
	    aws_credentials_new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL, 0, "test");
	struct sigv4_signed out;

	assert_non_null(c);
	assert_int_equal(sigv4_signer_new("us-east-1", "cleanrooms-ml", &s), 0);
	assert_int_equal(
	    sigv4_sign(s, c,
		       &(struct sigv4_request){
			   .method = "GET",
			   .host = "cleanrooms-ml.us-east-1.amazonaws.com",
			   .path = "/audience-generation-job/"
				   "arn%3Aaws%3Acleanrooms-ml%3Aus-east-1%3A111122223333%3Aaudience-"
				   "generation-job%2Fabcd-1234",
			   .headers = headers,
			   .now = 1705320000, /* 2024-01-15T12:00:00Z */
			   .normalize_path = true,
		       },
		       &out),
	    0);
	assert_string_equal(out.canonical_request, arn_creq);
	assert_string_equal(out.string_to_sign,
			    "AWS4-HMAC-SHA256\n20240115T120000Z\n"
			    "20240115/us-east-1/cleanrooms-ml/aws4_request\n"
			    "ab0c2a242c4a7e7837896685a61fc3635443fee1c71f4d0615a55813d553ffc0");
	assert_string_equal(out.authorization,
			    "Authorization: AWS4-HMAC-SHA256 "
			    "Credential=AKIDEXAMPLE/20240115/us-east-1/cleanrooms-ml/aws4_request, "
			    "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
			    "Signature=07c1ca55c5a80bb966fbf07c87dc23165047d3af33462dce7f8a0c3e9eea0f9c");
	assert_string_equal(out.amz_date, "X-Amz-Date: 20240115T120000Z");
	assert_null(out.security_token);
	sigv4_signed_done(&out);
	aws_credentials_free(c);
	sigv4_signer_free(s);
}

static int sign_at(struct sigv4_signer *s, const struct aws_credentials *c, time_t now,
		   struct sigv4_signed *out)
{
	return sigv4_sign(s, c,
			  &(struct sigv4_request){
			      .method = "GET",
			      .host = "cleanrooms-ml.eu-west-1.amazonaws.com",
			      .path = "/audience-generation-job",
			      .query = "maxResults=100",
			      .now = now,
			      .normalize_path = true,
			  },
			  out);
}

/* The signing key is derived once per UTC day and secret: same-day requests
 * reuse it (and still sign correctly: a fresh signer gives the same
 * signature), a new day or a new secret derives it again. */
static void test_key_cache(void **state)
{
	struct sigv4_signer *s = NULL, *fresh = NULL;
	struct aws_credentials *c = aws_credentials_new("AKIDEXAMPLE", "secret-one", NULL, 0, "test");
	struct aws_credentials *c2 = aws_credentials_new("AKIDEXAMPLE", "secret-two", NULL, 0, "test");
	struct sigv4_signed a, b, f;
	const time_t day = 1705320000; /* 2024-01-15T12:00:00Z */

	assert_int_equal(sigv4_signer_new("eu-west-1", "cleanrooms-ml", &s), 0);
	assert_int_equal(sigv4_signer_key_derivations(s), 0);
	assert_int_equal(sign_at(s, c, day, &a), 0);
	assert_int_equal(sigv4_signer_key_derivations(s), 1);
	assert_int_equal(sign_at(s, c, day + 3600, &b), 0);
	assert_int_equal(sigv4_signer_key_derivations(s), 1);

	/* The cached key gives the same signature as a freshly derived one. */
	assert_int_equal(sigv4_signer_new("eu-west-1", "cleanrooms-ml", &fresh), 0);
	assert_int_equal(sign_at(fresh, c, day + 3600, &f), 0);
	assert_string_equal(b.signature, f.signature);
	assert_string_not_equal(a.signature, b.signature);
	sigv4_signed_done(&a);
	sigv4_signed_done(&b);
	sigv4_signed_done(&f);

	/* Last second of the day: cached; first second of the next: derived. */
	assert_int_equal(sign_at(s, c, day + 12 * 3600 - 1, &a), 0);
	assert_int_equal(sigv4_signer_key_derivations(s), 1);
	sigv4_signed_done(&a);
	assert_int_equal(sign_at(s, c, day + 12 * 3600, &a), 0);
	assert_int_equal(sigv4_signer_key_derivations(s), 2);
	assert_non_null(strstr(a.string_to_sign, "\n20240116/eu-west-1/cleanrooms-ml/aws4_request\n"));
	sigv4_signed_done(&a);
	sigv4_signer_free(fresh);
	assert_int_equal(sigv4_signer_new("eu-west-1", "cleanrooms-ml", &fresh), 0);
	assert_int_equal(sign_at(fresh, c, day + 12 * 3600 + 60, &f), 0);
	assert_int_equal(sign_at(s, c, day + 12 * 3600 + 60, &a), 0);
	assert_string_equal(a.signature, f.signature);
	assert_int_equal(sigv4_signer_key_derivations(s), 2);
	sigv4_signed_done(&a);
	sigv4_signed_done(&f);

	/* Rotated credentials on the same day: derived again. */
	assert_int_equal(sign_at(s, c2, day + 12 * 3600 + 60, &a), 0);
	assert_int_equal(sigv4_signer_key_derivations(s), 3);
	sigv4_signed_done(&a);

	aws_credentials_free(c);
	aws_credentials_free(c2);
	sigv4_signer_free(s);
	sigv4_signer_free(fresh);
}

static void test_session_token(void **state)
{
	static const char token[] = "FwoGZXIvYXdzEXAMPLE//token+with/chars==";
	struct sigv4_signer *s = NULL;
	struct aws_credentials *c =
	    aws_credentials_new("ASIAEXAMPLE", "secret", token, 1705323600000, "imds");
	struct sigv4_signed out;

	assert_int_equal(sigv4_signer_new("us-east-1", "cleanrooms-ml", &s), 0);
	assert_int_equal(sign_at(s, c, 1705320000, &out), 0);
	assert_string_equal(out.security_token,
			    "X-Amz-Security-Token: FwoGZXIvYXdzEXAMPLE//token+with/chars==");
	assert_non_null(strstr(out.canonical_request,
			       "\nx-amz-security-token:FwoGZXIvYXdzEXAMPLE//token+with/chars==\n"));
	assert_non_null(strstr(out.canonical_request, "\nhost;x-amz-date;x-amz-security-token\n"));
	assert_non_null(strstr(out.authorization, "SignedHeaders=host;x-amz-date;x-amz-security-token, "));
	/* The token never ends up in the Authorization header itself. */
	assert_null(strstr(out.authorization, "FwoG"));
	sigv4_signed_done(&out);
	aws_credentials_free(c);
	sigv4_signer_free(s);
}

static void test_credentials(void **state)
{
	struct aws_credentials *c = aws_credentials_new("AKID", "SECRET", "TOKEN", 42, "environment");
	struct aws_credentials *d = aws_credentials_dup(c);

	assert_non_null(d);
	assert_ptr_not_equal(d->secret_access_key, c->secret_access_key);
	assert_string_equal(d->access_key_id, "AKID");
	assert_string_equal(d->secret_access_key, "SECRET");
	assert_string_equal(d->session_token, "TOKEN");
	assert_string_equal(d->source, "environment");
	assert_int_equal(d->expiration_ms, 42);
	assert_null(aws_credentials_free(c));
	assert_null(aws_credentials_free(d));
	assert_null(aws_credentials_free(NULL));
	assert_null(aws_credentials_new(NULL, "x", NULL, 0, NULL));
	c = aws_credentials_new("AKID", "SECRET", NULL, 0, NULL);
	assert_null(c->session_token);
	aws_credentials_free(c);
	assert_null(sigv4_signer_free(NULL));
	sigv4_signed_done(NULL);
}

/* Query canonicalisation beyond the suite: wire values are decoded and
 * re-encoded (so %2B, '+', %2F, %3D and %20 all come out in the one RFC 3986
 * form), sorted by key then value, a bare key gets an empty value; the
 * signer's own headers cannot be passed twice. */
static void test_query_and_errors(void **state)
{
	static const char *const dup_host[] = {"Host: x", NULL};
	static const char *const dup_date[] = {"X-Amz-Date: 20240101T000000Z", NULL};
	static const char *const no_colon[] = {"Broken", NULL};
	static const char *const *const bad[] = {dup_host, dup_date, no_colon};
	struct sigv4_signer *s = NULL;
	struct aws_credentials *c = aws_credentials_new("AKID", "secret", NULL, 0, "test");
	struct sigv4_request r = {
	    .method = "GET",
	    .host = "127.0.0.1:8443",
	    .path = "/audience-generation-job",
	    .query = "nextToken=a%2Bb%2Fc%3D%3D%20d&maxResults=100&b=2&b=1&flag&a%7e=x~y",
	    .now = 1705320000,
	    .normalize_path = true,
	};
	struct sigv4_signed out;

	assert_int_equal(sigv4_signer_new("us-east-1", "cleanrooms-ml", &s), 0);
	assert_int_equal(sigv4_sign(s, c, &r, &out), 0);
	assert_non_null(strstr(out.canonical_request,
			       "GET\n/audience-generation-job\na~=x~y&b=1&b=2&flag=&maxResults=100&"
			       "nextToken=a%2Bb%2Fc%3D%3D%20d\nhost:127.0.0.1:8443\n"));
	sigv4_signed_done(&out);

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		r.headers = bad[i];
		assert_int_equal(sigv4_sign(s, c, &r, &out), -EINVAL);
		assert_null(out.authorization);
	}
	aws_credentials_free(c);
	sigv4_signer_free(s);
}

int main(void)
{
	struct CMUnitTest tests[SUITE_CASES + 7];
	size_t n = 0;

	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_suite_complete);
	for (size_t i = 0; i < SUITE_CASES; i++)
		tests[n++] = (struct CMUnitTest){.name = suite_cases[i],
						 .test_func = test_suite_case,
						 .initial_state = (void *)suite_cases[i]};
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_arn_path_vector);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_key_cache);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_session_token);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_credentials);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_query_and_errors);
	return _cmocka_run_group_tests("sigv4", tests, n, NULL, NULL);
}
