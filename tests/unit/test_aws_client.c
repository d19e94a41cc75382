/* aws/client.c on a real loop with the real http layer and credential chain
 * (environment credentials) against an in-process HTTP server: retries with
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
#include <uv.h>

#include <cmocka.h>

#include "aws/client.h"
#include "aws/endpoint.h"
#include "aws/parse.h"
#include "creds.h"
#include "http.h"
#include "util.h"

#define ARN1 "arn:aws:cleanrooms-ml:us-east-1:111122223333:audience-generation-job/j1"
#define ARN2 "arn:aws:cleanrooms-ml:us-east-1:111122223333:audience-generation-job/j2"
#define CAM  "arn:aws:cleanrooms-ml:us-east-1:111122223333:configured-audience-model/cam"

#define JOB_JSON(arn)                                                                                       \
	"{\"createTime\":\"2024-01-15T12:00:00Z\",\"updateTime\":\"2024-01-15T12:00:00Z\","                 \
	"\"audienceGenerationJobArn\":\"" arn "\",\"name\":\"n\",\"status\":\"ACTIVE\","                    \
	"\"configuredAudienceModelArn\":\"" CAM "\"}"

/* ---- a tiny HTTP/1.1 server: one scripted answer per request, then close ---- */

struct answer {
	int status;
	const char *errortype; /* NULL = no header */
	const char *body;
	bool stall; /* never answer */
};

struct server {
	uv_tcp_t tcp;
	int port;
	const struct answer *script;
	size_t n_script, next;
	unsigned requests;
	char last_target[4096];
};

struct conn {
	uv_tcp_t tcp;
	struct server *srv;
	char buf[16384];
	size_t len;
	bool answered;
};

static void conn_closed(uv_handle_t *h)
{
	free(h->data);
}

static void conn_written(uv_write_t *w, int status)
{
	struct conn *cn = w->data;
	free(w);
	uv_close((uv_handle_t *)&cn->tcp, conn_closed);
}

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *cn = h->data;
	buf->base = cn->buf + cn->len;
	buf->len = sizeof(cn->buf) - cn->len - 1;
}

static void conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct conn *cn = s->data;
	struct server *srv = cn->srv;
	const struct answer *a;
	static char out[65536];
	uv_write_t *w;
	uv_buf_t b;
	char *sp;

	if (n < 0) {
		if (!uv_is_closing((uv_handle_t *)s))
			uv_close((uv_handle_t *)s, conn_closed);
		return;
	}
	cn->len += (size_t)n;
	cn->buf[cn->len] = '\0';
	if (cn->answered || !strstr(cn->buf, "\r\n\r\n"))
		return;
	cn->answered = true;
	srv->requests++;
	sp = strchr(cn->buf, ' ');
	if (sp) {
		size_t k = strcspn(sp + 1, " ");
		snprintf(srv->last_target, sizeof(srv->last_target), "%.*s", (int)k, sp + 1);
	}
	a = srv->next < srv->n_script ? &srv->script[srv->next] : &srv->script[srv->n_script - 1];
	srv->next++;
	if (a->stall)
		return;
	snprintf(out, sizeof(out),
		 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nx-amzn-requestid: req-%u\r\n%s%s%s"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		 a->status, srv->requests, a->errortype ? "x-amzn-errortype: " : "",
		 a->errortype ? a->errortype : "", a->errortype ? "\r\n" : "", strlen(a->body), a->body);
	w = calloc(1, sizeof(*w));
	w->data = cn;
	b = uv_buf_init(out, (unsigned)strlen(out));
	uv_write(w, s, &b, 1, conn_written);
}

static void on_conn(uv_stream_t *s, int status)
{
	struct server *srv = s->data;
	struct conn *cn = calloc(1, sizeof(*cn));

	cn->srv = srv;
	uv_tcp_init(s->loop, &cn->tcp);
	cn->tcp.data = cn;
	if (uv_accept(s, (uv_stream_t *)&cn->tcp) == 0)
		uv_read_start((uv_stream_t *)&cn->tcp, conn_alloc, conn_read);
}

static void server_start(uv_loop_t *loop, struct server *srv, const struct answer *script, size_t n)
{
	struct sockaddr_in sa;
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	memset(srv, 0, sizeof(*srv));
	srv->script = script;
	srv->n_script = n;
	uv_tcp_init(loop, &srv->tcp);
	srv->tcp.data = srv;
	uv_ip4_addr("127.0.0.1", 0, &sa);
	assert_int_equal(uv_tcp_bind(&srv->tcp, (struct sockaddr *)&sa, 0), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&srv->tcp, 16, on_conn), 0);
	uv_tcp_getsockname(&srv->tcp, (struct sockaddr *)&ss, &len);
	srv->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* ---- fixture: loop, http, creds, client ---- */

struct fx {
	uv_loop_t loop;
	struct server srv;
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
	server_start(&f->loop, &f->srv, script, n);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", f->srv.port);
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
	uv_close((uv_handle_t *)&f->srv.tcp, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	aws_endpoint_done(&f->ep);
}

static void run_until(struct fx *f, const unsigned *counter, unsigned want)
{
	for (int i = 0; i < 100000 && *counter < want; i++)
		uv_run(&f->loop, UV_RUN_ONCE);
	assert_int_equal(*counter, want);
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
	assert_int_equal(f.srv.requests, 3);
	assert_string_equal(
	    f.srv.last_target,
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
	assert_int_equal(f.srv.requests, 3);
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
	assert_int_equal(f.srv.requests, 2);
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
	assert_string_equal(f.srv.last_target,
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
	run_until(&f, &f.srv.requests, 1);

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
