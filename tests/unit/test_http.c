/* http.c against real local servers: the scripted HTTP/1.1 test server of
 * jwtest.h (resets, stalls, truncation and huge bodies on
 * demand), and a python3 TLS server with a throwaway CA for the
 * certificate cases. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "http.h"
#include "jwtest.h"
#include "log.h"
#include "util.h"

extern char **environ;

/* ---- the scripted routes of the test server (jwtest.h) ------------------ */

#define BIG_BODY (2 * 1024 * 1024)

static struct jwt_server *srv;

static unsigned srv_requests(void)
{
	return jwt_server_requests(srv);
}

/* Answers one request; returns false when the connection is finished. */
static bool srv_respond(struct jwt_conn *c, const struct jwt_request *rq, void *userdata)
{
	const char *path = rq->target;

	if (str_startswith(path, "/echo"))
		return jwt_send_response(c, 200,
					 "Content-Type: text/plain\r\nX-Test-Header: Hello-World\r\n", path,
					 strlen(path));
	if (strcmp(path, "/peer") == 0 || strcmp(path, "/peer-then-close") == 0) {
		/* Keep-alive answers naming the client's port; the second
		 * closes the connection after it, unannounced. */
		char port[16];
		snprintf(port, sizeof(port), "%u", jwt_conn_peer_port(c));
		return jwt_send_response(c, 200, NULL, port, strlen(port)) && strcmp(path, "/peer") == 0;
	}
	if (str_startswith(path, "/close")) {
		jwt_send_response(c, 200, "Connection: close\r\n", path, strlen(path));
		return false;
	}
	if (strcmp(path, "/headers") == 0)
		return jwt_send_response(c, 200, NULL, rq->head, strlen(rq->head));
	if (strcmp(path, "/post") == 0) {
		char mh[64];
		snprintf(mh, sizeof(mh), "X-Method: %s\r\n", rq->method);
		return jwt_send_response(c, 200, mh, rq->body, rq->body_len);
	}
	if (strcmp(path, "/status/404") == 0)
		return jwt_send_response(c, 404, NULL, "not found", 9);
	if (strcmp(path, "/big") == 0) {
		char h[128];
		snprintf(h, sizeof(h), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", BIG_BODY);
		return jwt_send_all(c, h, strlen(h)) && jwt_send_filler(c, BIG_BODY);
	}
	if (strcmp(path, "/bignolen") == 0) {
		const char *h = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";
		if (jwt_send_all(c, h, strlen(h)))
			jwt_send_filler(c, BIG_BODY);
		return false;
	}
	if (strcmp(path, "/manyheaders") == 0) {
		struct dynbuf b;
		bool ok;
		dynbuf_init(&b, 64 * 1024);
		for (int i = 0; i < 150; i++)
			assert_int_equal(dynbuf_appendf(&b, "X-H-%d: v\r\n", i), 0);
		ok = jwt_send_response(c, 200, b.data, "ok", 2);
		dynbuf_free(&b);
		return ok;
	}
	if (strcmp(path, "/stall") == 0) {
		jwt_conn_wait_hangup(c);
		return false;
	}
	if (strcmp(path, "/short") == 0 || strcmp(path, "/rst") == 0) {
		const char *h = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789";
		jwt_send_all(c, h, strlen(h));
		jwt_conn_close(c, strcmp(path, "/rst") == 0);
		return false;
	}
	return jwt_send_response(c, 404, NULL, "no route", 8);
}

/* ---- loop and results --------------------------------------------------- */

struct result {
	unsigned calls;
	enum http_error error;
	long status;
	char *body;
	size_t body_len;
	char *x_test;
	char *content_length;
	bool names_lower;
	char ip[64];
	char error_text[256];
	/* Hooks for the re-entrancy tests. */
	struct http_transfer *self;
	struct http_transfer *cancel_other;
	bool follow_up;
	bool free_ctx;
};

static uv_loop_t loop;
static uv_timer_t guard;
static bool guard_fired;
static struct http_ctx *ctx;
static unsigned pending;

static void result_clear(struct result *r)
{
	free(r->body);
	free(r->x_test);
	free(r->content_length);
	memset(r, 0, sizeof(*r));
}

static void on_guard(uv_timer_t *t)
{
	guard_fired = true;
	uv_stop(&loop);
}

static void env_setup(const struct http_ctx_options *opts)
{
	static const struct http_ctx_options dflt = {.max_connections = 8, .user_agent = "jobwatchd-test/1"};

	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(uv_timer_init(&loop, &guard), 0);
	guard_fired = false;
	pending = 0;
	assert_int_equal(http_ctx_new(&loop, opts ? opts : &dflt, &ctx), 0);
}

/* Runs until every expected done() ran (or 60 s pass: the test fails). */
static void run_loop(void)
{
	uv_timer_start(&guard, on_guard, 60000, 0);
	uv_unref((uv_handle_t *)&guard);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_timer_stop(&guard);
	assert_false(guard_fired);
	assert_int_equal(pending, 0);
}

static void env_teardown(void)
{
	http_ctx_free(ctx);
	ctx = NULL;
	uv_close((uv_handle_t *)&guard, NULL);
	/* Every handle of the context must be closed by now or be closing. */
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void submit_req(const struct http_request *req, struct result *r);

static void on_done(void *userdata, const struct http_response *resp)
{
	struct result *r = userdata;

	r->calls++;
	r->error = resp->error;
	r->status = resp->status;
	free(r->body);
	r->body = malloc(resp->body_len + 1);
	assert_non_null(r->body);
	memcpy(r->body, resp->body, resp->body_len + 1);
	r->body_len = resp->body_len;
	free(r->x_test);
	r->x_test = strdup_or_null(http_response_header(resp, "x-TEST-header"));
	free(r->content_length);
	r->content_length = strdup_or_null(http_response_header(resp, "Content-Length"));
	r->names_lower = true;
	for (size_t i = 0; i < resp->n_headers; i++)
		for (const char *p = resp->headers[i].name; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				r->names_lower = false;
	snprintf(r->ip, sizeof(r->ip), "%s", resp->ip);
	snprintf(r->error_text, sizeof(r->error_text), "%s", resp->error_text);

	/* Cancelling the transfer whose done() is running is a no-op. */
	if (r->self)
		http_transfer_cancel(r->self);
	r->self = NULL;
	if (r->cancel_other) {
		http_transfer_cancel(r->cancel_other);
		r->cancel_other = NULL;
	}
	if (r->follow_up) {
		struct http_request req = {.method = "GET", .url = NULL};
		char url[128];
		r->follow_up = false;
		snprintf(url, sizeof(url), "http://127.0.0.1:%u/echo/second", jwt_server_port(srv));
		req.url = url;
		submit_req(&req, r + 1);
	}
	if (r->free_ctx) {
		http_ctx_free(ctx);
		ctx = NULL;
	}
	if (--pending == 0)
		uv_stop(&loop);
}

static void submit_req(const struct http_request *req, struct result *r)
{
	assert_int_equal(http_submit(ctx, req, on_done, r, &r->self), 0);
	pending++;
}

static char *url_for(const char *path)
{
	char *u = NULL;
	assert_true(asprintf(&u, "http://127.0.0.1:%u%s", jwt_server_port(srv), path) > 0);
	return u;
}

static void get(const char *path, struct result *r, size_t max_body, uint64_t timeout_ms)
{
	_cleanup_free_ char *u = url_for(path);
	struct http_request req = {
	    .method = "GET", .url = u, .max_body = max_body, .timeout_ms = timeout_ms};

	submit_req(&req, r);
	/* Plain requests do not cancel themselves from done(). */
	r->self = NULL;
}

/* One GET to completion in a fresh context. */
static void get_one(const char *path, struct result *r, size_t max_body, uint64_t timeout_ms)
{
	env_setup(NULL);
	get(path, r, max_body, timeout_ms);
	run_loop();
	env_teardown();
	assert_int_equal(r->calls, 1);
}

/* ---- tests -------------------------------------------------------------- */

static void test_get_ok(void **state)
{
	struct result r = {0};

	get_one("/echo/hello", &r, 0, 0);
	assert_int_equal(r.error, HTTP_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "/echo/hello");
	assert_int_equal(r.body_len, 11);
	assert_non_null(r.x_test);
	assert_string_equal(r.x_test, "Hello-World");
	assert_non_null(r.content_length);
	assert_string_equal(r.content_length, "11");
	assert_true(r.names_lower);
	assert_string_equal(r.ip, "127.0.0.1");
	assert_string_equal(r.error_text, "");
	result_clear(&r);
}

static void test_request_headers(void **state)
{
	_cleanup_free_ char *u = url_for("/headers");
	const char *const own[] = {"Accept: application/json", "X-Custom: one", NULL};
	const char *const bad[] = {"X-Evil: a\r\nX-Injected: b", NULL};
	struct http_request plain = {.method = "GET", .url = u};
	struct http_request custom = {.method = "GET", .url = u, .headers = own};
	struct http_request post = {.method = "POST", .url = u, .body = "{}", .body_len = 2};
	struct http_request evil = {.method = "GET", .url = u, .headers = bad};
	struct http_request badmethod = {.method = "GET /x", .url = u};
	struct http_transfer *t = NULL;
	struct result r[3] = {0};

	env_setup(NULL);
	submit_req(&plain, &r[0]);
	submit_req(&custom, &r[1]);
	submit_req(&post, &r[2]);
	assert_int_equal(http_submit(ctx, &evil, on_done, &r[0], &t), -EINVAL);
	assert_int_equal(http_submit(ctx, &badmethod, on_done, &r[0], &t), -EINVAL);
	assert_null(t);
	run_loop();
	env_teardown();

	for (int i = 0; i < 3; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].error, HTTP_OK);
		assert_non_null(strstr(r[i].body, "User-Agent: jobwatchd-test/1\r\n"));
		assert_null(strcasestr(r[i].body, "\r\nExpect:"));
	}
	assert_non_null(strstr(r[0].body, "\r\nAccept: */*\r\n"));
	assert_non_null(strstr(r[1].body, "\r\nAccept: application/json\r\n"));
	assert_null(strstr(r[1].body, "*/*"));
	assert_non_null(strstr(r[1].body, "\r\nX-Custom: one\r\n"));
	assert_true(str_startswith(r[2].body, "POST /headers HTTP/1.1\r\n"));
	for (int i = 0; i < 3; i++)
		result_clear(&r[i]);
}

static void test_post_body(void **state)
{
	_cleanup_free_ char *u = url_for("/post");
	size_t n = 100 * 1000;
	_cleanup_free_ unsigned char *body = malloc(n);
	struct result r[2] = {0};

	assert_non_null(body);
	/* Binary, with NUL bytes: the body is copied by length. */
	for (size_t i = 0; i < n; i++)
		body[i] = (unsigned char)(i * 7);
	env_setup(NULL);
	{
		struct http_request post = {.method = "POST", .url = u, .body = body, .body_len = n};
		struct http_request put = {.method = "PUT", .url = u, .body = "put-body", .body_len = 8};
		submit_req(&post, &r[0]);
		/* The body was copied at submit. */
		memset(body, 0, 16);
		submit_req(&put, &r[1]);
		for (size_t i = 0; i < 16; i++)
			body[i] = (unsigned char)(i * 7);
	}
	run_loop();
	env_teardown();
	assert_int_equal(r[0].error, HTTP_OK);
	assert_int_equal(r[0].status, 200);
	assert_int_equal(r[0].body_len, n);
	assert_memory_equal(r[0].body, body, n);
	assert_int_equal(r[1].error, HTTP_OK);
	assert_string_equal(r[1].body, "put-body");
	result_clear(&r[0]);
	result_clear(&r[1]);
}

static void test_status_404(void **state)
{
	struct result r = {0};

	get_one("/status/404", &r, 0, 0);
	assert_int_equal(r.error, HTTP_OK);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.body, "not found");
	result_clear(&r);
}

static void test_too_large(void **state)
{
	static const struct {
		const char *path;
		size_t max_body;
		enum http_error want;
	} cases[] = {
	    {"/big", 1000, HTTP_ERR_TOO_LARGE},	      {"/bignolen", 1000, HTTP_ERR_TOO_LARGE},
	    {"/manyheaders", 0, HTTP_ERR_TOO_LARGE},  {"/echo/12345", 11, HTTP_OK}, /* exactly at the cap */
	    {"/echo/123456", 11, HTTP_ERR_TOO_LARGE},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct result r = {0};
		get_one(cases[i].path, &r, cases[i].max_body, 0);
		if (r.error != cases[i].want)
			fail_msg("%s: error %s (%s), want %s", cases[i].path, http_error_to_string(r.error),
				 r.error_text, http_error_to_string(cases[i].want));
		if (r.error != HTTP_OK) {
			assert_int_equal(r.status, 0);
			assert_int_equal(r.body_len, 0);
			assert_string_not_equal(r.error_text, "");
		}
		result_clear(&r);
	}
}

static void test_stall_timeout(void **state)
{
	struct result r = {0};

	get_one("/stall", &r, 0, 300);
	assert_int_equal(r.error, HTTP_ERR_TIMEOUT);
	assert_int_equal(r.status, 0);
	result_clear(&r);
}

static void test_connect_refused(void **state)
{
	unsigned port;
	int fd = jwt_listen_loopback(&port, 512);
	char url[64];
	struct http_request req = {.method = "GET", .url = url};
	struct result r = {0};

	/* Nothing listens on a port we just released. */
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", port);
	env_setup(NULL);
	submit_req(&req, &r);
	run_loop();
	env_teardown();
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.error, HTTP_ERR_CONNECT);
	result_clear(&r);
}

/* A listener whose accept queue is full drops SYNs: the TCP connect itself
 * times out, which is a connect failure, not a request timeout. */
static void test_connect_timeout(void **state)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fillers[4];
	unsigned port;
	int lfd = jwt_listen_loopback(&port, 0);
	char url[64];
	struct http_request req = {
	    .method = "GET", .url = url, .timeout_ms = 20000, .connect_timeout_ms = 300};
	struct result r = {0};

	a.sin_port = htons((uint16_t)port);
	for (size_t i = 0; i < ELEMENTSOF(fillers); i++) {
		fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		assert_true(fillers[i] >= 0);
		(void)connect(fillers[i], (struct sockaddr *)&a, sizeof(a));
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", port);
	env_setup(NULL);
	submit_req(&req, &r);
	run_loop();
	env_teardown();
	for (size_t i = 0; i < ELEMENTSOF(fillers); i++)
		close(fillers[i]);
	close(lfd);
	assert_int_equal(r.calls, 1);
	if (r.error != HTTP_ERR_CONNECT)
		fail_msg("error %s (%s)", http_error_to_string(r.error), r.error_text);
	result_clear(&r);
}

/* With no_proxy, proxy variables from the environment are ignored; without
 * it they are honoured (here: a proxy nobody listens on). */
static void test_no_proxy(void **state)
{
	unsigned port;
	int fd = jwt_listen_loopback(&port, 512);
	char proxy[64];
	_cleanup_free_ char *u = url_for("/echo/direct");
	struct http_request direct = {.method = "GET", .url = u, .no_proxy = true};
	struct http_request proxied = {.method = "GET", .url = u};
	struct result r[2] = {0};

	close(fd);
	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%u", port);
	assert_int_equal(setenv("http_proxy", proxy, 1), 0);
	env_setup(NULL);
	submit_req(&direct, &r[0]);
	submit_req(&proxied, &r[1]);
	run_loop();
	env_teardown();
	unsetenv("http_proxy");
	assert_int_equal(r[0].error, HTTP_OK);
	assert_string_equal(r[0].body, "/echo/direct");
	assert_int_equal(r[1].error, HTTP_ERR_CONNECT);
	result_clear(&r[0]);
	result_clear(&r[1]);
}

static void test_resolve_failure(void **state)
{
	struct http_request req = {
	    .method = "GET", .url = "http://nonexistent.invalid/", .timeout_ms = 20000};
	struct result r = {0};

	env_setup(NULL);
	submit_req(&req, &r);
	run_loop();
	env_teardown();
	assert_int_equal(r.calls, 1);
	if (r.error != HTTP_ERR_RESOLVE)
		fail_msg("error %s (%s)", http_error_to_string(r.error), r.error_text);
	result_clear(&r);
}

static void test_reset(void **state)
{
	static const char *const paths[] = {"/short", "/rst"};

	for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
		struct result r = {0};
		get_one(paths[i], &r, 0, 0);
		if (r.error != HTTP_ERR_RESET)
			fail_msg("%s: error %s (%s)", paths[i], http_error_to_string(r.error), r.error_text);
		result_clear(&r);
	}
}

struct when {
	uv_timer_t timer;
	unsigned requests; /* fire once the server has seen this many requests */
	void (*action)(void);
};

static void on_when(uv_timer_t *t)
{
	struct when *w = (struct when *)t;
	if (srv_requests() < w->requests)
		return;
	uv_timer_stop(t);
	uv_close((uv_handle_t *)t, NULL);
	w->action();
}

/* Waiting for a condition on the server, not for a duration. */
static void when_server_saw(struct when *w, unsigned n, void (*action)(void))
{
	w->requests = srv_requests() + n;
	w->action = action;
	assert_int_equal(uv_timer_init(&loop, &w->timer), 0);
	assert_int_equal(uv_timer_start(&w->timer, on_when, 2, 2), 0);
}

static struct result cancel_r[4];

static void cancel_stalled(void)
{
	http_transfer_cancel(cancel_r[1].self);
	/* Not synchronously: done() runs from the loop. */
	assert_int_equal(cancel_r[1].calls, 0);
	/* A second cancel before done() ran is harmless. */
	http_transfer_cancel(cancel_r[1].self);
}

static void test_cancel(void **state)
{
	_cleanup_free_ char *stall = url_for("/stall");
	_cleanup_free_ char *echo = url_for("/echo/x");
	struct http_request rs = {.method = "GET", .url = stall};
	struct http_request re = {.method = "GET", .url = echo};
	struct http_stats st;
	struct when w;

	memset(cancel_r, 0, sizeof(cancel_r));
	env_setup(NULL);
	/* 0: cancelled before the loop ever ran. */
	submit_req(&rs, &cancel_r[0]);
	http_transfer_cancel(cancel_r[0].self);
	assert_int_equal(cancel_r[0].calls, 0);
	cancel_r[0].self = NULL;
	/* 1: cancelled once the server holds the request. */
	submit_req(&rs, &cancel_r[1]);
	when_server_saw(&w, 1, cancel_stalled);
	/* 2 and 3: 3 stalls, 2 completes, cancels itself (a no-op) and 3. */
	submit_req(&rs, &cancel_r[3]);
	submit_req(&re, &cancel_r[2]);
	cancel_r[2].cancel_other = cancel_r[3].self;
	cancel_r[3].self = NULL;
	run_loop();
	http_ctx_stats(ctx, &st);
	env_teardown();

	assert_int_equal(cancel_r[0].calls, 1);
	assert_int_equal(cancel_r[0].error, HTTP_ERR_CANCELLED);
	assert_int_equal(cancel_r[1].calls, 1);
	assert_int_equal(cancel_r[1].error, HTTP_ERR_CANCELLED);
	assert_int_equal(cancel_r[2].calls, 1);
	assert_int_equal(cancel_r[2].error, HTTP_OK);
	assert_string_equal(cancel_r[2].body, "/echo/x");
	assert_int_equal(cancel_r[3].calls, 1);
	assert_int_equal(cancel_r[3].error, HTTP_ERR_CANCELLED);
	assert_int_equal(st.started, 4);
	assert_int_equal(st.completed, 1);
	assert_int_equal(st.cancelled, 3);
	assert_int_equal(st.failed_transport, 0);
	assert_int_equal(st.inflight, 0);
	for (size_t i = 0; i < ELEMENTSOF(cancel_r); i++)
		result_clear(&cancel_r[i]);
}

static void test_concurrent(void **state)
{
	enum { N = 200 };
	struct result *r = calloc(N, sizeof(*r));
	struct http_stats st;

	assert_non_null(r);
	env_setup(NULL);
	for (int i = 0; i < N; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/echo/%d", i);
		get(path, &r[i], 0, 30000);
	}
	assert_int_equal(http_ctx_inflight(ctx), N);
	run_loop();
	http_ctx_stats(ctx, &st);
	env_teardown();
	for (int i = 0; i < N; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/echo/%d", i);
		assert_int_equal(r[i].calls, 1);
		if (r[i].error != HTTP_OK)
			fail_msg("request %d: %s (%s)", i, http_error_to_string(r[i].error),
				 r[i].error_text);
		assert_string_equal(r[i].body, path);
		result_clear(&r[i]);
	}
	assert_int_equal(st.started, N);
	assert_int_equal(st.completed, N);
	assert_int_equal(st.inflight, 0);
	free(r);
}

/* Every response closes its connection: libcurl reports REMOVE and new
 * sockets that reuse the fd numbers just freed, often within one
 * socket_action.  A poll handle left behind would make uv_poll_init fail
 * with UV_EEXIST and the transfers stall. */
static void test_connection_churn(void **state)
{
	enum { N = 100 };
	static const struct http_ctx_options opts = {.max_connections = 4};
	struct result *r = calloc(N, sizeof(*r));
	struct http_stats st;

	assert_non_null(r);
	env_setup(&opts);
	for (int i = 0; i < N; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/close/%d", i);
		get(path, &r[i], 0, 30000);
	}
	run_loop();
	http_ctx_stats(ctx, &st);
	env_teardown();
	for (int i = 0; i < N; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/close/%d", i);
		assert_int_equal(r[i].calls, 1);
		if (r[i].error != HTTP_OK)
			fail_msg("request %d: %s (%s)", i, http_error_to_string(r[i].error),
				 r[i].error_text);
		assert_string_equal(r[i].body, path);
		result_clear(&r[i]);
	}
	assert_int_equal(st.completed, N);
	assert_int_equal(st.sockets, 0);
	free(r);
}

static void test_follow_up(void **state)
{
	struct result r[2] = {0};

	env_setup(NULL);
	r[0].follow_up = true;
	get("/echo/first", &r[0], 0, 0);
	run_loop();
	env_teardown();
	assert_int_equal(r[0].calls, 1);
	assert_string_equal(r[0].body, "/echo/first");
	assert_int_equal(r[1].calls, 1);
	assert_int_equal(r[1].error, HTTP_OK);
	assert_string_equal(r[1].body, "/echo/second");
	result_clear(&r[0]);
	result_clear(&r[1]);
}

/* Every request of r ran its callback once and succeeded. */
static void check_all_ok(const struct result *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(r[i].calls, 1);
		if (r[i].error != HTTP_OK)
			fail_msg("request %zu: %s (%s)", i, http_error_to_string(r[i].error),
				 r[i].error_text);
	}
}

static void on_settle(uv_timer_t *t)
{
	uv_stop(t->loop);
}

/* Lets the loop run for ms with nothing to do but one timer; returns how
 * many loop iterations that took (a loop busy on a ready fd makes
 * thousands, an idle one two or three). */
static unsigned idle_iterations(uint64_t ms)
{
	unsigned n = 0;
	uv_timer_t t;

	assert_int_equal(uv_timer_init(&loop, &t), 0);
	uv_timer_start(&t, on_settle, ms, 0);
	while (uv_is_active((uv_handle_t *)&t) && n < 100000) {
		uv_run(&loop, UV_RUN_ONCE);
		n++;
	}
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	return n;
}

/* A kept-alive connection's socket stays watched between transfers
 * (parked): the next request reuses it.  When the server closes it while
 * idle, the parked socket is readable for good; the loop must not spin on
 * it, and libcurl's close of it (through our close callback) must close
 * its handle, so the next request gets a new connection and nothing is
 * left open. */
static void test_keepalive_parked(void **state)
{
	struct result r[4] = {0};
	struct http_stats st;
	unsigned iterations;

	env_setup(NULL);
	get("/peer", &r[0], 0, 0);
	run_loop();
	get("/peer", &r[1], 0, 0);
	run_loop();
	http_ctx_stats(ctx, &st);
	assert_int_equal(st.sockets, 1);
	get("/peer-then-close", &r[2], 0, 0);
	run_loop();
	iterations = idle_iterations(300);
	get("/peer", &r[3], 0, 0);
	run_loop();
	http_ctx_stats(ctx, &st);
	env_teardown();
	check_all_ok(r, ELEMENTSOF(r));
	/* One connection for the first three, a new one after the close. */
	assert_string_equal(r[1].body, r[0].body);
	assert_string_equal(r[2].body, r[0].body);
	assert_string_not_equal(r[3].body, r[0].body);
	assert_int_equal(st.sockets, 1);
	if (iterations > 20)
		fail_msg("%u loop iterations in 0.3 s with nothing to do: busy on a closed connection",
			 iterations);
	for (size_t i = 0; i < ELEMENTSOF(r); i++)
		result_clear(&r[i]);
}

/* A name that libcurl's threaded resolver looks up (this machine's own
 * name, when it resolves to 127.0.0.1): while it resolves, libcurl has us
 * watch the resolver's AF_UNIX socketpair, which it then closes with a bare
 * close(), not through the close callback.  No handle may be left behind
 * for it, the connection is reused and its handle is the one left.  (libcurl
 * gives the connection the pair's fd number right away, so a parked pair
 * handle would be taken over here rather than go stale: what this checks
 * is that the resolver path works with parking, not the AF_UNIX rule.) */
static void test_resolved_name_not_parked(void **state)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	struct result r[2] = {0};
	struct http_stats st;
	char host[256], url[512];
	bool loopback;

	if (gethostname(host, sizeof(host)) < 0 || getaddrinfo(host, NULL, &hints, &ai) != 0) {
		skip();
		return;
	}
	loopback = ((struct sockaddr_in *)ai->ai_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
	freeaddrinfo(ai);
	/* libcurl answers "localhost" itself, without the resolver. */
	if (!loopback || strcasecmp(host, "localhost") == 0 || strchr(host, '.')) {
		skip();
		return;
	}
	snprintf(url, sizeof(url), "http://%s:%u/peer", host, jwt_server_port(srv));
	env_setup(NULL);
	submit_req(&(struct http_request){.method = "GET", .url = url}, &r[0]);
	r[0].self = NULL;
	run_loop();
	submit_req(&(struct http_request){.method = "GET", .url = url}, &r[1]);
	r[1].self = NULL;
	run_loop();
	http_ctx_stats(ctx, &st);
	env_teardown();
	check_all_ok(r, ELEMENTSOF(r));
	assert_string_equal(r[1].body, r[0].body);
	assert_int_equal(st.sockets, 1);
	for (size_t i = 0; i < ELEMENTSOF(r); i++)
		result_clear(&r[i]);
}

static struct result free_r[6];

static void free_now(void)
{
	http_ctx_free(ctx);
	ctx = NULL;
	/* Every callback ran, once, before http_ctx_free() returned. */
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(free_r[i].calls, 1);
		assert_int_equal(free_r[i].error, HTTP_ERR_CANCELLED);
	}
}

static void test_free_inflight(void **state)
{
	_cleanup_free_ char *stall = url_for("/stall");
	struct http_request rs = {.method = "GET", .url = stall};
	struct when w;

	memset(free_r, 0, sizeof(free_r));
	env_setup(NULL);
	for (size_t i = 0; i < 5; i++) {
		submit_req(&rs, &free_r[i]);
		free_r[i].self = NULL;
	}
	when_server_saw(&w, 5, free_now);
	run_loop();
	/* The loop ends on its own: nothing of the context keeps it alive. */
	uv_close((uv_handle_t *)&guard, NULL);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
	for (size_t i = 0; i < 5; i++)
		result_clear(&free_r[i]);
}

/* http_ctx_free() from inside a done callback, with other transfers still
 * running: each of them is reported once, and nothing is touched after. */
static void test_free_from_callback(void **state)
{
	_cleanup_free_ char *stall = url_for("/stall");
	struct http_request rs = {.method = "GET", .url = stall};

	memset(free_r, 0, sizeof(free_r));
	env_setup(NULL);
	for (size_t i = 0; i < 3; i++) {
		submit_req(&rs, &free_r[i]);
		free_r[i].self = NULL;
	}
	free_r[5].free_ctx = true;
	get("/echo/last", &free_r[5], 0, 0);
	run_loop();
	assert_null(ctx);
	uv_close((uv_handle_t *)&guard, NULL);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_int_equal(free_r[5].calls, 1);
	assert_int_equal(free_r[5].error, HTTP_OK);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(free_r[i].calls, 1);
		assert_int_equal(free_r[i].error, HTTP_ERR_CANCELLED);
	}
	for (size_t i = 0; i < ELEMENTSOF(free_r); i++)
		result_clear(&free_r[i]);
}

/* ---- TLS ---------------------------------------------------------------- */

static const char tls_server_py[] =
    "import socket, ssl, sys\n"
    "ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
    "ctx.load_cert_chain(sys.argv[1], sys.argv[2])\n"
    "s = socket.socket()\n"
    "s.bind(('127.0.0.1', 0))\n"
    "s.listen(16)\n"
    "print(s.getsockname()[1], flush=True)\n"
    "while True:\n"
    "    c, _ = s.accept()\n"
    "    c.settimeout(10)\n"
    "    try:\n"
    "        t = ctx.wrap_socket(c, server_side=True)\n"
    "        data = b''\n"
    "        while b'\\r\\n\\r\\n' not in data:\n"
    "            d = t.recv(4096)\n"
    "            if not d:\n"
    "                break\n"
    "            data += d\n"
    "        t.sendall(b'HTTP/1.1 200 OK\\r\\nContent-Length: 6\\r\\nConnection: close\\r\\n\\r\\ntls ok')\n"
    "        t.close()\n"
    "    except Exception:\n"
    "        pass\n"
    "    finally:\n"
    "        c.close()\n";

static int sh(const char *dir, const char *cmd)
{
	_cleanup_free_ char *full = NULL;
	assert_true(asprintf(&full, "cd '%s' && { %s; } >/dev/null 2>&1", dir, cmd) > 0);
	return system(full);
}

static void test_tls(void **state)
{
	char dir[64];
	_cleanup_free_ char *cert = NULL, *key = NULL, *ca = NULL;
	_cleanup_free_ char *url_ok = NULL, *url_ip = NULL;
	char *argv[] = {"python3", "-c", (char *)tls_server_py, NULL, NULL, NULL};
	posix_spawn_file_actions_t fa;
	char line[32];
	int pfd[2], status;
	pid_t pid;
	FILE *f;
	int64_t port;
	struct result r[3] = {0};

	if (system("command -v openssl >/dev/null && command -v python3 >/dev/null") != 0)
		skip();
	jwt_tmpdir("http-tls", dir, sizeof(dir));
	/* Throwaway CA and a server certificate for "localhost" only (no IP
	 * SAN), so https://127.0.0.1 is a host name mismatch. */
	assert_int_equal(sh(dir, "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=jw test CA' "
				 "-keyout ca.key -out ca.pem -addext 'basicConstraints=critical,CA:TRUE' "
				 "-addext 'keyUsage=critical,keyCertSign,cRLSign'"),
			 0);
	assert_int_equal(
	    sh(dir,
	       "openssl req -newkey rsa:2048 -nodes -subj '/CN=localhost' -keyout server.key "
	       "-out server.csr && printf 'subjectAltName=DNS:localhost\\nextendedKeyUsage=serverAuth\\n"
	       "basicConstraints=CA:FALSE\\n' > server.ext && openssl x509 -req -in server.csr "
	       "-CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.pem"),
	    0);
	assert_true(asprintf(&cert, "%s/server.pem", dir) > 0);
	assert_true(asprintf(&key, "%s/server.key", dir) > 0);
	assert_true(asprintf(&ca, "%s/ca.pem", dir) > 0);
	argv[3] = cert;
	argv[4] = key;

	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
	assert_int_equal(posix_spawnp(&pid, "python3", &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	f = fdopen(pfd[0], "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_int_equal(parse_int64(strstrip(line), 1, 65535, &port), 0);
	assert_true(asprintf(&url_ok, "https://localhost:%d/", (int)port) > 0);
	assert_true(asprintf(&url_ip, "https://127.0.0.1:%d/", (int)port) > 0);

	env_setup(NULL);
	{
		struct http_request ok = {.method = "GET", .url = url_ok, .ca_file = ca, .http2 = true};
		struct http_request system_store = {.method = "GET", .url = url_ok};
		struct http_request wrong_name = {.method = "GET", .url = url_ip, .ca_file = ca};
		/* One at a time: the python server is sequential. */
		submit_req(&ok, &r[0]);
		run_loop();
		submit_req(&system_store, &r[1]);
		run_loop();
		submit_req(&wrong_name, &r[2]);
		run_loop();
	}
	env_teardown();

	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	jwt_rmtree(dir);

	if (r[0].error != HTTP_OK)
		fail_msg("with ca_file: %s (%s)", http_error_to_string(r[0].error), r[0].error_text);
	assert_int_equal(r[0].status, 200);
	assert_string_equal(r[0].body, "tls ok");
	if (r[1].error != HTTP_ERR_TLS)
		fail_msg("system store: %s (%s)", http_error_to_string(r[1].error), r[1].error_text);
	if (r[2].error != HTTP_ERR_TLS)
		fail_msg("wrong name: %s (%s)", http_error_to_string(r[2].error), r[2].error_text);
	for (int i = 0; i < 3; i++)
		result_clear(&r[i]);
}

static void test_error_names(void **state)
{
	for (int e = 0; e < _HTTP_ERR_MAX; e++)
		assert_non_null(http_error_to_string((enum http_error)e));
	assert_null(http_error_to_string(HTTP_ERR_INVALID));
	assert_null(http_error_to_string(_HTTP_ERR_MAX));
	http_ctx_free(NULL);
	http_transfer_cancel(NULL);
	assert_int_equal(http_ctx_inflight(NULL), 0);
}

static int group_setup(void **state)
{
	if (getenv("JW_HTTP_DEBUG"))
		log_setup(LOG_TARGET_STDERR, LOG_DEBUG);
	if (http_global_check() < 0)
		return -1;
	srv = jwt_server_start(srv_respond, NULL);
	return 0;
}

static int group_teardown(void **state)
{
	jwt_server_stop(srv);
	srv = NULL;
	return 0;
}

int main(void)
{
	/* JW_TEST_FILTER=test_cancel runs one test (cmocka glob). */
	if (getenv("JW_TEST_FILTER"))
		cmocka_set_test_filter(getenv("JW_TEST_FILTER"));
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_error_names),
	    cmocka_unit_test(test_get_ok),
	    cmocka_unit_test(test_request_headers),
	    cmocka_unit_test(test_post_body),
	    cmocka_unit_test(test_status_404),
	    cmocka_unit_test(test_too_large),
	    cmocka_unit_test(test_stall_timeout),
	    cmocka_unit_test(test_connect_refused),
	    cmocka_unit_test(test_connect_timeout),
	    cmocka_unit_test(test_resolve_failure),
	    cmocka_unit_test(test_no_proxy),
	    cmocka_unit_test(test_reset),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_concurrent),
	    cmocka_unit_test(test_connection_churn),
	    cmocka_unit_test(test_follow_up),
	    cmocka_unit_test(test_keepalive_parked),
	    cmocka_unit_test(test_resolved_name_not_parked),
	    cmocka_unit_test(test_free_inflight),
	    cmocka_unit_test(test_free_from_callback),
	    cmocka_unit_test(test_tls),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
