/* Standard Webhooks signing (the spec's test vector), secret files and
 * headers files -- including that no error message leaks a secret. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "jwtest.h"
#include "notify/sign.h"
#include "util.h"

#define VEC_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define VEC_ID	   "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define VEC_TS	   1614265330
#define VEC_BODY   "{\"test\": 2432232314}"
#define VEC_SIG	   "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static char tmpdir[64];

static int setup(void **state)
{
	jwt_tmpdir("sign", tmpdir, sizeof(tmpdir));
	return 0;
}

static int teardown(void **state)
{
	jwt_rmtree(tmpdir);
	return 0;
}

static void write_file(const char *name, const char *content, char *path, size_t size)
{
	FILE *f;

	snprintf(path, size, "%s/%s", tmpdir, name);
	f = fopen(path, "we");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static void test_vector(void **state)
{
	struct sign_key k;
	char err[256] = "", sig[SIGN_SIGNATURE_MAX];

	assert_int_equal(sign_key_from_secret(VEC_SECRET, &k, err, sizeof(err)), 0);
	assert_int_equal(k.len, 24);
	assert_int_equal(sign_signature(&k, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY), sig, sizeof(sig)),
			 0);
	assert_string_equal(sig, VEC_SIG);
	/* Any change of id, timestamp or body changes the signature. */
	assert_int_equal(
	    sign_signature(&k, VEC_ID, VEC_TS + 1, VEC_BODY, strlen(VEC_BODY), sig, sizeof(sig)), 0);
	assert_string_not_equal(sig, VEC_SIG);
	assert_int_equal(
	    sign_signature(&k, "msg_other", VEC_TS, VEC_BODY, strlen(VEC_BODY), sig, sizeof(sig)), 0);
	assert_string_not_equal(sig, VEC_SIG);
	assert_int_equal(
	    sign_signature(&k, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY) - 1, sig, sizeof(sig)), 0);
	assert_string_not_equal(sig, VEC_SIG);
	sign_key_wipe(&k);
	assert_int_equal(k.len, 0);
	assert_int_equal(sign_signature(&k, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY), sig, sizeof(sig)),
			 -EINVAL);
}

static void test_secret_errors(void **state)
{
	static const struct {
		const char *secret, *err_has;
	} cases[] = {
	    {"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "does not start with"},
	    {"whsec_", "empty"},
	    {"whsec_MfKQ9r8G!YqrTwjUPD8ILPZIo2LaLaSw", "not valid base64"},
	    {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", "not valid base64"},  /* 31 chars: bad length */
	    {"whsec_MfKQ9r8GKYqrTwjU=D8ILPZIo2LaLaSw", "not valid base64"}, /* '=' inside */
	    {"whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
	     "QUFBQUFB",
	     "too long"},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct sign_key k;
		char err[256] = "";
		const char *body =
		    strchr(cases[i].secret, '_') ? strchr(cases[i].secret, '_') + 1 : cases[i].secret;
		assert_int_equal(sign_key_from_secret(cases[i].secret, &k, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, cases[i].err_has));
		assert_int_equal(k.len, 0);
		/* The secret text never appears in the message. */
		if (strlen(body) >= 8)
			assert_null(strstr(err, body));
	}
}

static void test_secret_padding(void **state)
{
	struct sign_key a, b;

	char err[256] = "";

	/* "hello" = aGVsbG8= and "hi" = aGk=: padding is counted right. */
	assert_int_equal(sign_key_from_secret("whsec_aGVsbG8=", &a, NULL, 0), 0);
	assert_int_equal(sign_key_from_secret("whsec_aGk=", &b, NULL, 0), 0);
	assert_int_equal(a.len, 5);
	assert_int_equal(b.len, 2);
	assert_memory_equal(a.bytes, "hello", 5);
	assert_memory_equal(b.bytes, "hi", 2);
	/* Missing padding is rejected, like the reference libraries do. */
	assert_int_equal(sign_key_from_secret("whsec_aGVsbG8", &b, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "padding"));
	assert_int_equal(b.len, 0);
}

static void test_secret_file(void **state)
{
	char path[256], err[256] = "", sig[SIGN_SIGNATURE_MAX];
	struct sign_key k;

	/* Whitespace around the secret (editors add a newline) is trimmed. */
	write_file("hook.secret", "  " VEC_SECRET "\n\n", path, sizeof(path));
	assert_int_equal(sign_key_load_file(path, &k, err, sizeof(err)), 0);
	assert_int_equal(sign_signature(&k, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY), sig, sizeof(sig)),
			 0);
	assert_string_equal(sig, VEC_SIG);

	/* A relative name is a systemd credential. */
	unsetenv("CREDENTIALS_DIRECTORY");
	assert_int_equal(sign_key_load_file("hook.secret", &k, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "CREDENTIALS_DIRECTORY"));
	setenv("CREDENTIALS_DIRECTORY", tmpdir, 1);
	assert_int_equal(sign_key_load_file("hook.secret", &k, err, sizeof(err)), 0);
	assert_int_equal(k.len, 24);
	assert_int_equal(sign_key_load_file("some/dir/hook.secret", &k, err, sizeof(err)), 0);
	assert_int_equal(sign_key_load_file("missing", &k, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "missing"));
	unsetenv("CREDENTIALS_DIRECTORY");

	/* Errors from file content name the file, never the content. */
	write_file("bad.secret", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", path, sizeof(path));
	assert_int_equal(sign_key_load_file(path, &k, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bad.secret"));
	assert_non_null(strstr(err, "whsec_"));
	assert_null(strstr(err, "MfKQ9r8G"));
	write_file("empty.secret", "\n", path, sizeof(path));
	assert_int_equal(sign_key_load_file(path, &k, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "empty.secret"));
	write_file("b64.secret", "whsec_Mf$Q9r8GKYqrTwjUPD8ILPZIo2LaLaSw", path, sizeof(path));
	assert_int_equal(sign_key_load_file(path, &k, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "base64"));
	assert_null(strstr(err, "Q9r8GKYqrTwjUPD8"));
}

static void test_headers_parse(void **state)
{
	char **h = NULL, err[256] = "";
	const char *text = "# tokens for the receiver\n"
			   "\n"
			   "Authorization: Bearer s3cr3t-token\r\n"
			   "  X-Team:  ml-platform  \n"
			   "X-Empty:\n";

	assert_int_equal(sign_headers_parse(text, &h, err, sizeof(err)), 0);
	assert_string_equal(h[0], "Authorization: Bearer s3cr3t-token");
	assert_string_equal(h[1], "X-Team: ml-platform");
	assert_string_equal(h[2], "X-Empty: ");
	assert_null(h[3]);
	sign_headers_free(h);

	/* "X-Team " has a space before the colon: not a token. */
	assert_int_equal(sign_headers_parse("X-Team : a\n", &h, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "line 1"));

	assert_int_equal(sign_headers_parse("X-A: b\nX-Team:ok\nX-Empty:\n", &h, err, sizeof(err)), 0);
	assert_string_equal(h[0], "X-A: b");
	assert_string_equal(h[1], "X-Team: ok");
	assert_string_equal(h[2], "X-Empty: ");
	assert_null(h[3]);
	sign_headers_free(h);
}

static void test_headers_errors(void **state)
{
	static const struct {
		const char *text, *err_has;
	} cases[] = {
	    {"no colon here\n", "line 1: expected"},
	    {"# c\nBad Name: v\n", "line 2: invalid header name"},
	    {": v\n", "invalid header name"},
	    {"X(y): v\n", "invalid header name"},
	    {"Authorization: Bearer se\rcret-token\n", "control character"},
	    {"X-A: ok\nX-B: se\001cret-token\n", "line 2"},
	    {"Content-Type: text/plain\n", "cannot be overridden"},
	    {"webhook-signature: v1,forged\n", "cannot be overridden"},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		char **h = NULL, err[256] = "";
		assert_int_equal(sign_headers_parse(cases[i].text, &h, err, sizeof(err)), -EINVAL);
		assert_null(h);
		assert_non_null(strstr(err, cases[i].err_has));
		assert_null(strstr(err, "cret-token"));
		assert_null(strstr(err, "forged"));
	}
}

static void test_headers_file(void **state)
{
	char path[256], err[256] = "", **h = NULL;

	write_file("hook.headers", "Authorization: Bearer abc\n", path, sizeof(path));
	assert_int_equal(sign_headers_load_file(path, &h, err, sizeof(err)), 0);
	assert_string_equal(h[0], "Authorization: Bearer abc");
	sign_headers_free(h);
	setenv("CREDENTIALS_DIRECTORY", tmpdir, 1);
	assert_int_equal(sign_headers_load_file("hook.headers", &h, err, sizeof(err)), 0);
	sign_headers_free(h);
	unsetenv("CREDENTIALS_DIRECTORY");
	write_file("bad.headers", "Authorization: Bearer abc\nX Y: secretvalue\n", path, sizeof(path));
	assert_int_equal(sign_headers_load_file(path, &h, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bad.headers: line 2"));
	assert_null(strstr(err, "secretvalue"));
	assert_null(strstr(err, "abc"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vector),	   cmocka_unit_test(test_secret_errors),
	    cmocka_unit_test(test_secret_padding), cmocka_unit_test(test_secret_file),
	    cmocka_unit_test(test_headers_parse),  cmocka_unit_test(test_headers_errors),
	    cmocka_unit_test(test_headers_file),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
