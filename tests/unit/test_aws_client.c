/* aws/client.c on a real loop with the real http layer and credential chain
 * (environment credentials) against the test server of jwtest.h: retries with
 * injected zero jitter, attempt limits, the expired-token retry, pagination,
 * and cancellation semantics (aws_call_cancel, aws_client_free). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include <cmocka.h>

#include "aws/client.h"
#include "aws/endpoint.h"
#include "aws/parse.h"
#include "creds.h"
#include "http.h"
#include "jwtest.h"
#include "util.h"

#define ARN1 "arn:aws:cleanrooms-ml:us-east-1:111122223333:audience-generation-job/j1"
#define ARN2 "arn:aws:cleanrooms-ml:us-east-1:111122223333:audience-generation-job/j2"
#define CAM  "arn:aws:cleanrooms-ml:us-east-1:111122223333:configured-audience-model/cam"

#define JOB_JSON(arn)                                                                                       \
	"{\"createTime\":\"2024-01-15T12:00:00Z\",\"updateTime\":\"2024-01-15T12:00:00Z\","                 \
	"\"audienceGenerationJobArn\":\"" arn "\",\"name\":\"n\",\"status\":\"ACTIVE\","                    \
	"\"configuredAudienceModelArn\":\"" CAM "\"}"

/* ---- the test server (jwtest.h): one scripted answer per request, then close ---- */

struct answer {
	int status;
	const char *errortype; /* NULL = no header */
	const char *body;
	bool stall; /* never answer */
};

struct script {
	struct jwt_server *srv;
	const struct answer *answers;
	size_t n, next;
	char last_target[4096];
};

static bool answer_request(struct jwt_conn *c, const struct jwt_request *rq, void *userdata)
{
	struct script *sc = userdata;
	const struct answer *a;
	char head[512];

	jwt_server_lock(sc->srv);
	snprintf(sc->last_target, sizeof(sc->last_target), "%s", rq->target);
	a = sc->next < sc->n ? &sc->answers[sc->next] : &sc->answers[sc->n - 1];
	sc->next++;
	jwt_server_unlock(sc->srv);
	if (a->stall) {
		jwt_conn_wait_hangup(c);
		return false;
	}
	snprintf(head, sizeof(head),
		 "Content-Type: application/json\r\nx-amzn-requestid: req-%u\r\n%s%s%sConnection: close\r\n",
		 rq->index + 1, a->errortype ? "x-amzn-errortype: " : "", a->errortype ? a->errortype : "",
		 a->errortype ? "\r\n" : "");
	jwt_send_response(c, a->status, head, a->body, strlen(a->body));
	return false;
}

/* ---- fixture: loop, http, creds, client ---- */

struct fx {
	uv_loop_t loop;
	struct script script;
	struct http_ctx *http;
	struct creds *creds;
	struct aws_client *client;
	struct aws_endpoint ep;
};

static double zero_random(void *u)
{
	return 0.0;
}

static void fx_start(struct fx *f, const struct answer *script, size_t n, double max_rps)
{
	char url[64], err[128];

	setenv("AWS_ACCESS_KEY_ID", "AKIDCLIENTTEST", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secret-client-test", 1);
	unsetenv("AWS_SESSION_TOKEN");
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	f->script = (struct script){.answers = script, .n = n};
	f->script.srv = jwt_server_start(answer_request, &f->script);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", jwt_server_port(f->script.srv));
	assert_int_equal(aws_endpoint_parse_url(url, &f->ep, err, sizeof(err)), 0);
	f->ep.region = strdup("us-east-1");
	assert_int_equal(http_ctx_new(&f->loop, &(struct http_ctx_options){.max_connections = 4}, &f->http),
			 0);
	assert_int_equal(
	    creds_new(&f->loop, f->http, &(struct creds_options){.region = "us-east-1"}, &f->creds), 0);
	assert_int_equal(aws_client_new(&f->loop, f->http, f->creds,
					&(struct aws_client_options){
					    .endpoint = &f->ep,
					    .max_rps = max_rps,
					    .timeout_ms = 5000,
					    .random = zero_random,
					},
					&f->client),
			 0);
}

static void fx_stop(struct fx *f)
{
	aws_client_free(f->client);
	creds_free(f->creds);
	http_ctx_free(f->http);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	jwt_server_stop(f->script.srv);
	aws_endpoint_done(&f->ep);
}

static void run_until(struct fx *f, const unsigned *counter, unsigned want)
{
	for (int i = 0; i < 100000 && *counter < want; i++)
		uv_run(&f->loop, UV_RUN_ONCE);
	assert_int_equal(*counter, want);
}

/* The server answers from its own thread: the loop has nothing to wake it
 * for a request that only arrives there. */
static void run_until_requests(struct fx *f, unsigned want)
{
	for (int i = 0; i < 10000 && jwt_server_requests(f->script.srv) < want; i++) {
		uv_run(&f->loop, UV_RUN_NOWAIT);
		usleep(1000);
	}
	assert_int_equal(jwt_server_requests(f->script.srv), want);
}

static const char *last_target(struct fx *f)
{
	static char t[4096];

	jwt_server_lock(f->script.srv);
	snprintf(t, sizeof(t), "%s", f->script.last_target);
	jwt_server_unlock(f->script.srv);
	return t;
}

struct got {
	unsigned calls;
	struct aws_result res[8];
	char *arn[8];
	size_t items;
	bool final;
};

static void on_get(void *userdata, const struct aws_result *res, struct job_observation *job)
{
	struct got *g = userdata;
	if (g->calls < 8) {
		g->res[g->calls] = *res;
		g->arn[g->calls] = job ? strdup(job->arn) : NULL;
	}
	g->calls++;
	job_observation_free(job);
}

static void got_done(struct got *g)
{
	for (unsigned i = 0; i < g->calls && i < 8; i++)
		free(g->arn[i]);
}

static void test_retry_then_success(void **state)
{
	static const struct answer script[] = {
	    {503, NULL, "<html>busy</html>", false},
	    {429, "ThrottlingException", "{\"message\":\"slow down\"}", false},
	    {200, NULL, JOB_JSON(ARN1), false},
	};
	struct fx f = {};
	struct got g = {};

	fx_start(&f, script, ELEMENTSOF(script), 0);
	assert_int_equal(aws_get_job(f.client, ARN1, on_get, &g, NULL), 0);
	/* Never inside the call itself. */
	assert_int_equal(g.calls, 0);
	run_until(&f, &g.calls, 1);
	assert_int_equal(g.res[0].outcome, AWS_OK);
	assert_int_equal(g.res[0].attempts, 3);
	assert_string_equal(g.arn[0], ARN1);
	assert_int_equal(jwt_server_requests(f.script.srv), 3);
	assert_string_equal(
	    last_target(&f),
	    "/audience-generation-job/"
	    "arn%3Aaws%3Acleanrooms-ml%3Aus-east-1%3A111122223333%3Aaudience-generation-job%2Fj1");
	{
		const struct aws_client_stats *st = aws_client_stats(f.client);
		assert_int_equal(st->retries, 2);
		assert_int_equal(st->throttles, 1);
		assert_int_equal(st->requests[AWS_OP_GET][AWS_OK], 1);
		assert_int_equal(st->requests[AWS_OP_GET][AWS_TRANSIENT], 1);
		assert_int_equal(st->requests[AWS_OP_GET][AWS_THROTTLED], 1);
		assert_int_equal(st->latency_count, 3);
		/* 500 - 5 - 5 + 5 (refund of the successful retry's cost). */
		assert_int_equal(st->retry_quota_available, 495);
	}
	got_done(&g);
	fx_stop(&f);
}

static void test_attempt_limit_and_final_errors(void **state)
{
	static const struct answer script[] = {
	    {500, NULL, "{\"message\":\"internal\"}", false},
	};
	static const struct answer notfound[] = {
	    {404, "ResourceNotFoundException", "{\"message\":\"no such job\"}", false},
	};
	struct fx f = {};
	struct got g = {};

	fx_start(&f, script, ELEMENTSOF(script), 0);
	assert_int_equal(aws_get_job(f.client, ARN1, on_get, &g, NULL), 0);
	run_until(&f, &g.calls, 1);
	assert_int_equal(g.res[0].outcome, AWS_TRANSIENT);
	assert_int_equal(g.res[0].attempts, 3);
	assert_int_equal(g.res[0].http_status, 500);
	assert_string_equal(g.res[0].error_type, "HTTP 500");
	assert_string_equal(g.res[0].error_message, "internal");
	assert_string_equal(g.res[0].request_id, "req-3");
	assert_int_equal(jwt_server_requests(f.script.srv), 3);
	got_done(&g);
	fx_stop(&f);

	memset(&g, 0, sizeof(g));
	fx_start(&f, notfound, ELEMENTSOF(notfound), 0);
	assert_int_equal(aws_get_job(f.client, ARN1, on_get, &g, NULL), 0);
	run_until(&f, &g.calls, 1);
	assert_int_equal(g.res[0].outcome, AWS_NOT_FOUND);
	assert_int_equal(g.res[0].attempts, 1);
	assert_string_equal(g.res[0].error_type, "ResourceNotFoundException");
	{
		char msg[256];
		aws_result_format(&g.res[0], msg, sizeof(msg));
		assert_string_equal(msg, "ResourceNotFoundException: no such job (request id req-1)");
	}
	got_done(&g);
	fx_stop(&f);

	assert_int_equal(aws_get_job(NULL, ARN1, on_get, &g, NULL), -EINVAL);
}

static void test_expired_token_one_retry(void **state)
{
	static const struct answer once[] = {
	    {403, "ExpiredTokenException", "{\"message\":\"expired\"}", false},
	    {200, NULL, JOB_JSON(ARN1), false},
	};
	static const struct answer always[] = {
	    {403, "ExpiredTokenException", "{\"message\":\"expired\"}", false},
	};
	struct fx f = {};
	struct got g = {};

	fx_start(&f, once, ELEMENTSOF(once), 0);
	assert_int_equal(aws_get_job(f.client, ARN1, on_get, &g, NULL), 0);
	run_until(&f, &g.calls, 1);
	assert_int_equal(g.res[0].outcome, AWS_OK);
	assert_int_equal(aws_client_stats(f.client)->auth_refreshes, 1);
	got_done(&g);
	fx_stop(&f);

	memset(&g, 0, sizeof(g));
	fx_start(&f, always, ELEMENTSOF(always), 0);
	assert_int_equal(aws_get_job(f.client, ARN1, on_get, &g, NULL), 0);
	run_until(&f, &g.calls, 1);
	assert_int_equal(g.res[0].outcome, AWS_AUTH_EXPIRED);
	assert_int_equal(g.res[0].attempts, 2);
	assert_int_equal(jwt_server_requests(f.script.srv), 2);
	got_done(&g);
	fx_stop(&f);
}

struct pages {
	unsigned pages, finals;
	size_t items;
	enum aws_outcome last;
};

static void on_page(void *userdata, const struct aws_result *res, struct job_observation **items, size_t n,
		    bool final)
{
	struct pages *p = userdata;
	p->pages++;
	p->items += n;
	p->last = res->outcome;
	if (final)
		p->finals++;
	aws_job_array_free(items, n);
}

static void test_list_pages_and_midway_failure(void **state)
{
	static const struct answer script[] = {
	    {200, NULL,
	     "{\"audienceGenerationJobs\":[" JOB_JSON(ARN1) "," JOB_JSON(ARN2) "],\"nextToken\":\"a+b/c=\"}",
	     false},
	    {200, NULL, "{\"audienceGenerationJobs\":[" JOB_JSON(ARN2) "]}", false},
	};
	static const struct answer broken[] = {
	    {200, NULL, "{\"audienceGenerationJobs\":[" JOB_JSON(ARN1) "],\"nextToken\":\"t1\"}", false},
	    {400, "ValidationException", "{\"message\":\"bad token\"}", false},
	};
	struct fx f = {};
	struct pages p = {};

	fx_start(&f, script, ELEMENTSOF(script), 0);
	assert_int_equal(
	    aws_list_jobs(f.client, "a1b2c3d4-0000-4000-8000-00000000c011", NULL, on_page, &p, NULL), 0);
	run_until(&f, &p.finals, 1);
	assert_int_equal(p.pages, 2);
	assert_int_equal(p.items, 3);
	assert_int_equal(p.last, AWS_OK);
	assert_string_equal(last_target(&f),
			    "/audience-generation-job?collaborationId=a1b2c3d4-0000-4000-8000-"
			    "00000000c011&maxResults=100&nextToken=a%2Bb%2Fc%3D");
	fx_stop(&f);

	memset(&p, 0, sizeof(p));
	fx_start(&f, broken, ELEMENTSOF(broken), 0);
	assert_int_equal(aws_list_jobs(f.client, NULL, CAM, on_page, &p, NULL), 0);
	run_until(&f, &p.finals, 1);
	assert_int_equal(p.pages, 2);
	assert_int_equal(p.items, 1);
	assert_int_equal(p.last, AWS_CLIENT);
	fx_stop(&f);

	assert_int_equal(aws_list_jobs(NULL, NULL, NULL, on_page, &p, NULL), -EINVAL);
}

static void test_cancel(void **state)
{
	static const struct answer stall[] = {{0, NULL, "", true}};
	struct fx f = {};
	struct got g1 = {}, g2 = {}, g3 = {};
	struct aws_call *c2;

	/* max_rps 1: the first call goes out (and stalls), the others wait
	 * for tokens. */
	fx_start(&f, stall, ELEMENTSOF(stall), 1.0);
	assert_int_equal(aws_get_job(f.client, ARN1, on_get, &g1, NULL), 0);
	assert_int_equal(aws_get_job(f.client, ARN2, on_get, &g2, &c2), 0);
	assert_int_equal(aws_get_job(f.client, ARN2, on_get, &g3, NULL), 0);
	run_until_requests(&f, 1);

	aws_call_cancel(c2);
	assert_int_equal(g2.calls, 1);
	assert_int_equal(g2.res[0].outcome, AWS_CANCELLED);
	assert_int_equal(g1.calls, 0);

	/* Freeing the client: every remaining callback runs before it returns. */
	aws_client_free(f.client);
	f.client = NULL;
	assert_int_equal(g1.calls, 1);
	assert_int_equal(g1.res[0].outcome, AWS_CANCELLED);
	assert_int_equal(g3.calls, 1);
	assert_int_equal(g3.res[0].outcome, AWS_CANCELLED);
	fx_stop(&f);
	assert_int_equal(g1.calls, 1);
	assert_int_equal(g2.calls, 1);
	got_done(&g1);
	got_done(&g2);
	got_done(&g3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_retry_then_success),
	    cmocka_unit_test(test_attempt_limit_and_final_errors),
	    cmocka_unit_test(test_expired_token_one_retry),
	    cmocka_unit_test(test_list_pages_and_midway_failure),
	    cmocka_unit_test(test_cancel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
