/* api server: the real listener (libmicrohttpd on a libuv loop running in
 * a second thread) answering real HTTP requests from libcurl over a unix
 * socket and over TCP with a bearer token. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <uv.h>

#include "jwtest.h"
#include "api/api.h"
#include "cli/cli.h"
#include "tracker.h"
#include "util.h"

#define ARN	"arn:aws:cleanrooms-ml:us-east-1:111122223333:audience-generation-job/job-1"
#define ARN_ENC "arn%3Aaws%3Acleanrooms-ml%3Aus-east-1%3A111122223333%3Aaudience-generation-job%2Fjob-1"
#define TOKEN	"tok-3f9a1c0d2e"

struct fx {
	char dir[64];
	char sock[128];
	uv_loop_t loop;
	uv_async_t stop;
	pthread_t thread;
	struct tracker *tracker;
	struct api_context ctx;
	struct api *api;
	unsigned poll_soon, unwatched;
	char retried_hook[64]; /* the last retry_hooks name, "*" for every hook */
	char url[128];	       /* TCP base URL; "" for the unix socket */
};

struct resp {
	long status;
	struct dynbuf body;
	char content_type[128];
	char location[512];
	char allow[64];
};

static void cb_poll_soon(void *userdata, struct tracked_job *j)
{
	((struct fx *)userdata)->poll_soon++;
}

static void cb_unwatched(void *userdata, struct tracked_job *j)
{
	((struct fx *)userdata)->unwatched++;
}

/* Hooks "ops" (3 deliveries waiting) and "b" (0); every hook: 3. */
static int cb_retry_hooks(void *userdata, const char *name, int64_t *ret_released)
{
	struct fx *f = userdata;

	snprintf(f->retried_hook, sizeof(f->retried_hook), "%s", name ? name : "*");
	if (name && strcmp(name, "ops") != 0 && strcmp(name, "b") != 0)
		return -ENOENT;
	*ret_released = name && strcmp(name, "b") == 0 ? 0 : 3;
	return 0;
}

static void stop_cb(uv_async_t *a)
{
	struct fx *f = a->data;

	f->api = api_free(f->api);
	uv_close((uv_handle_t *)a, NULL);
}

static void *loop_thread(void *p)
{
	struct fx *f = p;

	uv_run(&f->loop, UV_RUN_DEFAULT);
	return NULL;
}

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	jwt_tmpdir("api", f->dir, sizeof(f->dir));
	snprintf(f->sock, sizeof(f->sock), "%s/api.sock", f->dir);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(tracker_new(NULL, "us-east-1", 0, NULL, NULL, &f->tracker), 0);
	f->ctx = (struct api_context){
	    .tracker = f->tracker,
	    .poll_soon = cb_poll_soon,
	    .unwatched = cb_unwatched,
	    .retry_hooks = cb_retry_hooks,
	    .userdata = f,
	    .max_jobs = 1000,
	};
	return f;
}

static int fx_api_new(struct fx *f, const char *listen, const char *token_file, struct api **ret)
{
	struct api_options opt = {.listen = listen, .token_file = token_file};

	return api_new(&f->loop, &opt, &f->ctx, ret);
}

static void fx_run(struct fx *f)
{
	uv_async_init(&f->loop, &f->stop, stop_cb);
	f->stop.data = f;
	assert_int_equal(pthread_create(&f->thread, NULL, loop_thread, f), 0);
}

static void fx_free(struct fx *f)
{
	uv_async_send(&f->stop);
	pthread_join(f->thread, NULL);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	tracker_free(f->tracker);
	jwt_rmtree(f->dir);
	free(f);
}

static size_t on_body(void *p, size_t size, size_t n, void *u)
{
	struct resp *r = u;
	return dynbuf_append(&r->body, p, size * n) < 0 ? 0 : size * n;
}

static void header_copy(const char *line, size_t len, const char *name, char *out, size_t size)
{
	size_t n = strlen(name);

	if (len > n && strncasecmp(line, name, n) == 0) {
		size_t v = len - n;
		while (v && (line[n + v - 1] == '\r' || line[n + v - 1] == '\n'))
			v--;
		snprintf(out, size, "%.*s", (int)v, line + n);
	}
}

static size_t on_header(char *p, size_t size, size_t n, void *u)
{
	struct resp *r = u;

	header_copy(p, size * n, "Content-Type: ", r->content_type, sizeof(r->content_type));
	header_copy(p, size * n, "Location: ", r->location, sizeof(r->location));
	header_copy(p, size * n, "Allow: ", r->allow, sizeof(r->allow));
	return size * n;
}

static void req(struct fx *f, const char *method, const char *path, const char *body, size_t body_len,
		const char *auth, struct resp *r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[1024], hdr[256];

	memset(r, 0, sizeof(*r));
	dynbuf_init(&r->body, 1 << 20);
	assert_non_null(c);
	if (f->url[0]) {
		snprintf(url, sizeof(url), "%s%s", f->url, path);
	} else {
		snprintf(url, sizeof(url), "http://localhost%s", path);
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, f->sock);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
		h = curl_slist_append(h, "Content-Type: application/json");
	}
	if (auth) {
		snprintf(hdr, sizeof(hdr), "Authorization: %s", auth);
		h = curl_slist_append(h, hdr);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
}

static void resp_done(struct resp *r)
{
	dynbuf_free(&r->body);
}

/* The body is a JSON object with an "error" string. */
static void assert_json_error(struct resp *r, long status)
{
	cJSON *o;

	assert_int_equal(r->status, status);
	assert_string_equal(r->content_type, "application/json");
	o = cJSON_Parse(r->body.data);
	assert_non_null(o);
	assert_true(cJSON_IsString(cJSON_GetObjectItem(o, "error")));
	cJSON_Delete(o);
}

static void test_unix_control_api(void **state)
{
	struct fx *f = fx_new();
	struct resp r;
	struct stat st;
	cJSON *o;
	char *big;

	assert_int_equal(fx_api_new(f, "unix:/nonexistent-dir/x.sock", NULL, &f->api), -ENOENT);
	{
		char spec[160];
		snprintf(spec, sizeof(spec), "unix:%s", f->sock);
		assert_int_equal(fx_api_new(f, spec, NULL, &f->api), 0);
	}
	assert_int_equal(api_port(f->api), 0);
	assert_int_equal(stat(f->sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0660);
	fx_run(f);

	req(f, "GET", "/healthz", NULL, 0, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.data, "{\"status\":\"ok\"}");
	resp_done(&r);

	req(f, "GET", "/metrics", NULL, 0, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
	assert_true(str_startswith(r.body.data, "# HELP jobwatchd_build_info "));
	resp_done(&r);

	req(f, "GET", "/v1/jobs", NULL, 0, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.data, "[]");
	resp_done(&r);

	/* Watch: 201 with the job and its URL, polled now. */
	req(f, "POST", "/v1/jobs", "{\"arn\": \"" ARN "\"}", strlen("{\"arn\": \"" ARN "\"}"), NULL, &r);
	assert_int_equal(r.status, 201);
	assert_string_equal(r.location, "/v1/jobs/" ARN_ENC);
	o = cJSON_Parse(r.body.data);
	assert_string_equal(cJSON_GetObjectItem(o, "arn")->valuestring, ARN);
	assert_string_equal(cJSON_GetObjectItem(o, "source")->valuestring, "api");
	cJSON_Delete(o);
	resp_done(&r);
	assert_int_equal(f->poll_soon, 1);
	assert_non_null(tracker_find(f->tracker, ARN));
	assert_true(tracker_find(f->tracker, ARN)->watched);

	/* Again: 200, not polled twice. */
	req(f, "POST", "/v1/jobs/", "{\"arn\": \"" ARN "\"}", strlen("{\"arn\": \"" ARN "\"}"), NULL, &r);
	assert_int_equal(r.status, 200);
	resp_done(&r);
	assert_int_equal(f->poll_soon, 1);

	/* One job, by encoded and by raw ARN. */
	req(f, "GET", "/v1/jobs/" ARN_ENC, NULL, 0, NULL, &r);
	assert_int_equal(r.status, 200);
	o = cJSON_Parse(r.body.data);
	assert_string_equal(cJSON_GetObjectItem(o, "arn")->valuestring, ARN);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "watched")));
	cJSON_Delete(o);
	resp_done(&r);
	req(f, "GET", "/v1/jobs/" ARN, NULL, 0, NULL, &r);
	assert_int_equal(r.status, 200);
	resp_done(&r);
	req(f, "GET", "/v1/jobs?status=UNKNOWN", NULL, 0, NULL, &r);
	assert_int_equal(r.status, 200);
	o = cJSON_Parse(r.body.data);
	assert_int_equal(cJSON_GetArraySize(o), 1);
	cJSON_Delete(o);
	resp_done(&r);
	req(f, "GET", "/v1/jobs?status=ACTIVE", NULL, 0, NULL, &r);
	assert_string_equal(r.body.data, "[]");
	resp_done(&r);

	/* Bad input: 400 with a JSON error, never a crash. */
	req(f, "POST", "/v1/jobs", "{\"arn\": ", 8, NULL, &r);
	assert_json_error(&r, 400);
	resp_done(&r);
	req(f, "POST", "/v1/jobs", "{\"arn\": \"arn:aws:s3:::b\"}", 25, NULL, &r);
	assert_json_error(&r, 400);
	resp_done(&r);
	req(f, "POST", "/v1/jobs", NULL, 0, NULL, &r);
	assert_json_error(&r, 400);
	resp_done(&r);
	big = malloc(API_BODY_MAX + 100);
	assert_non_null(big);
	memset(big, ' ', API_BODY_MAX + 100);
	big[0] = '{';
	req(f, "POST", "/v1/jobs", big, API_BODY_MAX + 100, NULL, &r);
	free(big);
	assert_json_error(&r, 400);
	assert_non_null(strstr(r.body.data, "larger than"));
	resp_done(&r);
	req(f, "GET", "/v1/jobs?status=RUNNING", NULL, 0, NULL, &r);
	assert_json_error(&r, 400);
	resp_done(&r);
	req(f, "GET", "/v1/jobs/not-an-arn", NULL, 0, NULL, &r);
	assert_json_error(&r, 400);
	resp_done(&r);
	req(f, "GET", "/v1/jobs/" ARN "2", NULL, 0, NULL, &r);
	assert_json_error(&r, 404);
	resp_done(&r);
	req(f, "GET", "/nope", NULL, 0, NULL, &r);
	assert_json_error(&r, 404);
	resp_done(&r);
	req(f, "PUT", "/v1/jobs", "{}", 2, NULL, &r);
	assert_json_error(&r, 405);
	assert_string_equal(r.allow, "GET, HEAD, POST");
	resp_done(&r);
	req(f, "POST", "/metrics", "{}", 2, NULL, &r);
	assert_json_error(&r, 405);
	resp_done(&r);
	assert_int_equal(f->poll_soon, 1);

	/* Unwatch: 204, state kept; unknown: 404. */
	req(f, "DELETE", "/v1/jobs/" ARN_ENC, NULL, 0, NULL, &r);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.body.len, 0);
	resp_done(&r);
	assert_int_equal(f->unwatched, 1);
	assert_false(tracker_find(f->tracker, ARN)->watched);
	req(f, "GET", "/v1/jobs/" ARN_ENC, NULL, 0, NULL, &r);
	o = cJSON_Parse(r.body.data);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(o, "watched")));
	cJSON_Delete(o);
	resp_done(&r);
	req(f, "DELETE", "/v1/jobs/" ARN "2", NULL, 0, NULL, &r);
	assert_json_error(&r, 404);
	resp_done(&r);

	/* Re-watching an unwatched job is a new watch (201, polled). */
	req(f, "POST", "/v1/jobs", "{\"arn\": \"" ARN "\"}", strlen("{\"arn\": \"" ARN "\"}"), NULL, &r);
	assert_int_equal(r.status, 201);
	resp_done(&r);
	assert_int_equal(f->poll_soon, 2);

	fx_free(f);
}

static void test_unix_socket_files(void **state)
{
	struct fx *f = fx_new();
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char spec[160];
	struct api *other = NULL;
	struct resp r;
	int fd;

	snprintf(spec, sizeof(spec), "unix:%s", f->sock);
	/* A regular file in the way is not ours to delete. */
	fd = open(f->sock, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(fx_api_new(f, spec, NULL, &f->api), -EEXIST);
	unlink(f->sock);

	/* A stale socket (nobody listening) is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memcpy(sa.sun_path, f->sock, strlen(f->sock) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(fx_api_new(f, spec, NULL, &f->api), 0);
	/* A live one is not. */
	assert_int_equal(fx_api_new(f, spec, NULL, &other), -EADDRINUSE);
	fx_run(f);
	req(f, "GET", "/healthz", NULL, 0, NULL, &r);
	assert_int_equal(r.status, 200);
	resp_done(&r);
	uv_async_send(&f->stop);
	pthread_join(f->thread, NULL);
	/* Stopping removes the socket file. */
	assert_int_equal(access(f->sock, F_OK), -1);
	f->thread = pthread_self();
	assert_int_equal(uv_loop_close(&f->loop), 0);
	tracker_free(f->tracker);
	jwt_rmtree(f->dir);
	free(f);
}

static void on_alarm(int sig)
{
	static const char msg[] = "api_new() blocked on a live socket with a full backlog\n";

	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(1);
}

/* A live socket whose backlog is full (its daemon is busy or wedged) is
 * still live, and the probe must say so at once: a blocking connect()
 * would hang the start until the backlog drained. */
static void test_unix_socket_full_backlog(void **state)
{
	struct fx *f = fx_new();
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char spec[160];
	int lfd, clients[64], n = 0;

	snprintf(spec, sizeof(spec), "unix:%s", f->sock);
	memcpy(sa.sun_path, f->sock, strlen(f->sock) + 1);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 0), 0);
	for (; n < 64; n++) {
		clients[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (connect(clients[n], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			assert_int_equal(errno, EAGAIN);
			close(clients[n]);
			break;
		}
	}
	assert_true(n < 64); /* the backlog is full */
	signal(SIGALRM, on_alarm);
	alarm(10);
	assert_int_equal(fx_api_new(f, spec, NULL, &f->api), -EADDRINUSE);
	alarm(0);
	for (int i = 0; i < n; i++)
		close(clients[i]);
	close(lfd);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	tracker_free(f->tracker);
	jwt_rmtree(f->dir);
	free(f);
}

static void test_tcp_token(void **state)
{
	struct fx *f = fx_new();
	char token_path[160];
	struct resp r;
	int fd;

	snprintf(token_path, sizeof(token_path), "%s/token", f->dir);
	/* TCP without a token is refused. */
	assert_int_equal(fx_api_new(f, "127.0.0.1:0", NULL, &f->api), -EINVAL);
	fd = open(token_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "  \n", 3), 3);
	close(fd);
	assert_int_equal(fx_api_new(f, "127.0.0.1:0", token_path, &f->api), -EINVAL);
	fd = open(token_path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	assert_int_equal(write(fd, TOKEN "\n", strlen(TOKEN) + 1), (ssize_t)strlen(TOKEN) + 1);
	close(fd);
	assert_int_equal(fx_api_new(f, "127.0.0.1:0", token_path, &f->api), 0);
	assert_true(api_port(f->api) > 0);
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u", api_port(f->api));
	fx_run(f);

	req(f, "GET", "/healthz", NULL, 0, NULL, &r);
	assert_json_error(&r, 401);
	resp_done(&r);
	req(f, "GET", "/metrics", NULL, 0, "Bearer " TOKEN "x", &r);
	assert_json_error(&r, 401);
	resp_done(&r);
	req(f, "POST", "/v1/jobs", "{\"arn\": \"" ARN "\"}", strlen("{\"arn\": \"" ARN "\"}"),
	    "Bearer wrong", &r);
	assert_json_error(&r, 401);
	resp_done(&r);
	assert_null(tracker_find(f->tracker, ARN));
	req(f, "GET", "/metrics", NULL, 0, "Bearer " TOKEN, &r);
	assert_int_equal(r.status, 200);
	resp_done(&r);
	req(f, "POST", "/v1/jobs", "{\"arn\": \"" ARN "\"}", strlen("{\"arn\": \"" ARN "\"}"),
	    "Bearer " TOKEN, &r);
	assert_int_equal(r.status, 201);
	resp_done(&r);
	fx_free(f);
}

/* Runs a cli_* command with stdout captured into out. */
static int run_cli(int (*fn)(int, char **), char **argv, struct fx *f, char *out, size_t size)
{
	char path[160];
	int argc = 0, saved, fd, rc;
	ssize_t n;

	while (argv[argc])
		argc++;
	snprintf(path, sizeof(path), "%s/stdout", f->dir);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	fd = open(path, O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, STDOUT_FILENO);
	rc = fn(argc, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	n = pread(fd, out, size - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return rc;
}

static void test_cli(void **state)
{
	struct fx *f = fx_new();
	char spec[160], out[8192], missing[160];
	char *watch[] = {"watch", "--socket", f->sock, ARN, NULL};
	char *watch_bad[] = {"watch", "--socket", f->sock, "arn:aws:s3:::b", NULL};
	char *status[] = {"status", "--socket", f->sock, NULL};
	char *status_all[] = {"status", "--socket", f->sock, "--all", NULL};
	char *status_json[] = {"status", "--socket", f->sock, "--json", NULL};
	char *unwatch[] = {"unwatch", "--socket", f->sock, ARN, NULL};
	char *unwatch_unknown[] = {"unwatch", "--socket", f->sock, ARN "9", NULL};
	char *status_down[] = {"status", "--socket", missing, NULL};
	char *usage1[] = {"watch", "--socket", f->sock, NULL};
	char *usage2[] = {"status", "--socket", f->sock, "--url", "http://127.0.0.1:1", NULL};

	snprintf(spec, sizeof(spec), "unix:%s", f->sock);
	snprintf(missing, sizeof(missing), "%s/missing.sock", f->dir);
	assert_int_equal(fx_api_new(f, spec, NULL, &f->api), 0);
	fx_run(f);

	assert_int_equal(run_cli(cli_watch, watch, f, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "watching " ARN));
	assert_true(tracker_find(f->tracker, ARN)->watched);
	assert_int_equal(run_cli(cli_watch, watch, f, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "already watching"));
	assert_int_equal(run_cli(cli_watch, watch_bad, f, out, sizeof(out)), 1);

	assert_int_equal(run_cli(cli_status, status, f, out, sizeof(out)), 0);
	assert_true(str_startswith(out, "NAME"));
	assert_non_null(strstr(out, "LAST POLL"));
	assert_non_null(strstr(out, "\njob-1 "));
	assert_non_null(strstr(out, "UNKNOWN"));
	assert_int_equal(run_cli(cli_status, status_json, f, out, sizeof(out)), 0);
	assert_true(str_startswith(out, "[{\"arn\":\"" ARN "\""));

	assert_int_equal(run_cli(cli_unwatch, unwatch, f, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "no longer watching"));
	assert_false(tracker_find(f->tracker, ARN)->watched);
	assert_int_equal(run_cli(cli_status, status, f, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "(no jobs)"));
	assert_int_equal(run_cli(cli_status, status_all, f, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "UNKNOWN*"));
	assert_int_equal(run_cli(cli_unwatch, unwatch_unknown, f, out, sizeof(out)), 1);

	/* No daemon there: exit 1 (message on stderr). */
	assert_int_equal(run_cli(cli_status, status_down, f, out, sizeof(out)), 1);
	assert_int_equal(run_cli(cli_watch, usage1, f, out, sizeof(out)), 2);
	assert_int_equal(run_cli(cli_status, usage2, f, out, sizeof(out)), 2);
	fx_free(f);
}

/* POST /v1/webhooks/retry and /v1/webhooks/{name}/retry. */
static void test_webhooks_retry(void **state)
{
	struct fx *f = fx_new();
	char spec[160];
	struct resp r;
	cJSON *o;

	snprintf(spec, sizeof(spec), "unix:%s", f->sock);
	assert_int_equal(fx_api_new(f, spec, NULL, &f->api), 0);
	fx_run(f);

	req(f, "POST", "/v1/webhooks/retry", "{}", 2, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(f->retried_hook, "*");
	o = cJSON_Parse(r.body.data);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "webhook")));
	assert_int_equal(cJSON_GetObjectItem(o, "retried")->valueint, 3);
	cJSON_Delete(o);
	resp_done(&r);

	req(f, "POST", "/v1/webhooks/ops/retry", NULL, 0, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(f->retried_hook, "ops");
	o = cJSON_Parse(r.body.data);
	assert_string_equal(cJSON_GetObjectItem(o, "webhook")->valuestring, "ops");
	assert_int_equal(cJSON_GetObjectItem(o, "retried")->valueint, 3);
	cJSON_Delete(o);
	resp_done(&r);

	req(f, "POST", "/v1/webhooks/nope/retry", NULL, 0, NULL, &r);
	assert_json_error(&r, 404);
	assert_string_equal(f->retried_hook, "nope");
	resp_done(&r);
	f->retried_hook[0] = '\0';
	req(f, "GET", "/v1/webhooks/ops/retry", NULL, 0, NULL, &r);
	assert_json_error(&r, 405);
	assert_string_equal(r.allow, "POST");
	resp_done(&r);
	/* Not a retry path: nothing is retried. */
	for (size_t i = 0; i < 4; i++) {
		static const char *const bad[] = {"/v1/webhooks", "/v1/webhooks/", "/v1/webhooks/a/b/retry",
						  "/v1/webhooks/ops/retryx"};
		req(f, "POST", bad[i], NULL, 0, NULL, &r);
		assert_json_error(&r, 404);
		resp_done(&r);
	}
	assert_string_equal(f->retried_hook, "");

	/* jobwatchd retry [HOOK] */
	{
		char out[1024];
		char *one[] = {"retry", "--socket", f->sock, "ops", NULL};
		char *all[] = {"retry", "--socket", f->sock, NULL};
		char *unknown[] = {"retry", "--socket", f->sock, "nope", NULL};
		char *two[] = {"retry", "--socket", f->sock, "ops", "b", NULL};

		assert_int_equal(run_cli(cli_retry, one, f, out, sizeof(out)), 0);
		assert_string_equal(out, "ops: 3 waiting or parked deliveries sent now\n");
		assert_int_equal(run_cli(cli_retry, all, f, out, sizeof(out)), 0);
		assert_string_equal(out, "every webhook: 3 waiting or parked deliveries sent now\n");
		assert_int_equal(run_cli(cli_retry, unknown, f, out, sizeof(out)), 1);
		assert_int_equal(run_cli(cli_retry, two, f, out, sizeof(out)), 2);
	}
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unix_control_api),
	    cmocka_unit_test(test_unix_socket_files),
	    cmocka_unit_test(test_unix_socket_full_backlog),
	    cmocka_unit_test(test_tcp_token),
	    cmocka_unit_test(test_cli),
	    cmocka_unit_test(test_webhooks_retry),
	};
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
