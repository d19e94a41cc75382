/* creds.h on a real loop: callbacks run later, concurrent requests share one
 * resolution, invalidation forces a refresh, creds_free() with a fetch in
 * flight (a real credential_process) cancels it cleanly, and the error when
 * nothing yields lists what was tried. */
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
#include <uv.h>

#include "jwtest.h"
#include "creds.h"
#include "http.h"
#include "util.h"

struct fixture {
	uv_loop_t loop;
	struct http_ctx *http;
	struct creds *creds;
	char dir[64];
};

struct result {
	int calls;
	int error;
	char akid[64];
	bool in_call;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct http_ctx_options ho = {.max_connections = 4};
	char path[128];

	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(http_ctx_new(&f->loop, &ho, &f->http), 0);
	jwt_tmpdir("creds-chain", f->dir, sizeof(f->dir));
	/* Nothing from the machine running the tests may leak in. */
	unsetenv("AWS_PROFILE");
	unsetenv("AWS_DEFAULT_PROFILE");
	unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
	unsetenv("AWS_ROLE_ARN");
	unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_SECURITY_TOKEN");
	unsetenv("AWS_CREDENTIAL_EXPIRATION");
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	snprintf(path, sizeof(path), "%s/credentials", f->dir);
	setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
	snprintf(path, sizeof(path), "%s/config", f->dir);
	setenv("AWS_CONFIG_FILE", path, 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	creds_free(f->creds);
	http_ctx_free(f->http);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	jwt_rmtree(f->dir);
	free(f);
	return 0;
}

static void on_ready(void *userdata, int error, const struct aws_credentials *c)
{
	struct result *r = userdata;

	assert_false(r->in_call);
	r->calls++;
	r->error = error;
	if (c)
		snprintf(r->akid, sizeof(r->akid), "%s", c->access_key_id);
}

static void request(struct fixture *f, struct result *r)
{
	r->in_call = true;
	assert_int_equal(creds_request(f->creds, on_ready, r), 0);
	r->in_call = false;
}

static void test_env_async_and_shared(void **state)
{
	struct fixture *f = *state;
	struct result a = {0}, b = {0};

	setenv("AWS_ACCESS_KEY_ID", "AKIDCHAIN", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
	assert_int_equal(creds_new(&f->loop, f->http, NULL, &f->creds), 0);
	request(f, &a);
	request(f, &b);
	assert_int_equal(a.calls + b.calls, 0); /* never inside creds_request() */
	uv_run(&f->loop, UV_RUN_NOWAIT);
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 1);
	assert_int_equal(a.error, 0);
	assert_string_equal(a.akid, "AKIDCHAIN");
	assert_string_equal(creds_source(f->creds), "environment");
	assert_int_equal(creds_expiration_ms(f->creds), 0);
	assert_non_null(creds_current(f->creds));
	assert_null(creds_last_error(f->creds));

	/* Invalidation: nothing current until one refresh completed. */
	creds_invalidate(f->creds);
	setenv("AWS_ACCESS_KEY_ID", "AKIDROTATED", 1);
	creds_invalidate(f->creds);
	assert_int_equal(creds_refresh_count(f->creds), 2);
	assert_string_equal(creds_current(f->creds)->access_key_id, "AKIDROTATED");
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
}

static void test_nothing_yields(void **state)
{
	struct fixture *f = *state;
	struct result a = {0};

	assert_int_equal(creds_new(&f->loop, f->http, NULL, &f->creds), 0);
	request(f, &a);
	uv_run(&f->loop, UV_RUN_NOWAIT);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.error, -ENOKEY);
	assert_null(creds_current(f->creds));
	assert_non_null(creds_last_error(f->creds));
	assert_non_null(strstr(creds_last_error(f->creds),
			       "no credentials found (environment: AWS_ACCESS_KEY_ID "
			       "not set; web identity: not configured;"));
	assert_non_null(strstr(creds_last_error(f->creds), "imds: disabled by AWS_EC2_METADATA_DISABLED"));
}

static void write_config(struct fixture *f, const char *text)
{
	char path[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/config", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void test_free_while_process_runs(void **state)
{
	struct fixture *f = *state;
	struct result a = {0};

	write_config(f, "[default]\ncredential_process = sleep 30\n");
	assert_int_equal(creds_new(&f->loop, f->http, NULL, &f->creds), 0);
	request(f, &a);
	uv_run(&f->loop, UV_RUN_NOWAIT);
	assert_int_equal(a.calls, 0);
	/* The process is killed, the callback runs once, cancelled (its owner
	 * may hold memory for it), and the loop drains (teardown's
	 * uv_loop_close() fails if a handle were left). */
	f->creds = creds_free(f->creds);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.error, -ECANCELED);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(a.calls, 1);
}

static void test_process_via_chain(void **state)
{
	struct fixture *f = *state;
	struct result a = {0};

	write_config(f, "[default]\ncredential_process = /bin/sh -c 'echo \"{\\\"Version\\\": 1, "
			"\\\"AccessKeyId\\\": \\\"AKIDSH\\\", \\\"SecretAccessKey\\\": \\\"s\\\"}\"'\n");
	assert_int_equal(creds_new(&f->loop, f->http, NULL, &f->creds), 0);
	request(f, &a);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.error, 0);
	assert_string_equal(a.akid, "AKIDSH");
	assert_string_equal(creds_source(f->creds), "credential_process:default");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_env_async_and_shared, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nothing_yields, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_free_while_process_runs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_process_via_chain, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
