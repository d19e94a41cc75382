/* jobwatchd status / watch / unwatch / forget / retry: blocking libcurl requests to the
 * daemon's control API, by default over its unix socket. */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "cli/status_text.h"
#include "config.h"
#include "kinds.h"
#include "util.h"

#define CTL_RESPONSE_MAX (512u * 1024 * 1024)
#define CTL_TOKEN_MAX	 4096
#define CTL_NAME_WIDTH	 40
/* watch: how long to wait for the first poll, and how often to look. */
#define CTL_CHECK_WAIT_S  30
#define CTL_CHECK_STEP_MS 200
/* The API's own default and cap (api/render.h, store.h). */
#define CTL_HISTORY_DEFAULT 20
#define CTL_HISTORY_MAX	    1000

struct ctl {
	const char *socket;  /* NULL with url */
	const char *url;     /* base URL for TCP, NULL for the socket */
	const char *ca_file; /* https: the CA that signed the daemon's certificate */
	char *token;	     /* never printed */
	bool all;
	bool json;
	bool no_check; /* watch: do not wait for the first poll */
	int history;   /* -1: the daemon's default */
};

static void ctl_usage(FILE *f, const char *cmd)
{
	fprintf(f,
		"Usage: jobwatchd %s [--socket PATH | --url URL --token-file FILE [--ca-file FILE]]%s\n"
		"  --socket PATH      the daemon's control socket (default %s)\n"
		"  --url URL          the daemon's TCP listener, e.g. http://127.0.0.1:9187\n"
		"                     (https:// for any host but loopback)\n"
		"  --token-file FILE  bearer token for --url\n"
		"  --ca-file FILE     CA certificates to verify an https:// --url with\n",
		cmd,
		strcmp(cmd, "status") == 0  ? " [--all] [--json] [--history N] [ARN...]"
		: strcmp(cmd, "retry") == 0 ? " [HOOK]"
		: strcmp(cmd, "watch") == 0 ? " [--no-check] ARN..."
					    : " ARN...",
		CLI_CTL_DEFAULT_SOCKET);
	if (strcmp(cmd, "forget") == 0)
		fprintf(f,
			"Removes jobs added with `jobwatchd watch` from the daemon and its state file.\n");
	if (strcmp(cmd, "status") == 0)
		fprintf(
		    f,
		    "Without ARN, a table of the watched jobs; with ARNs, each job in detail: status and\n"
		    "status details, last poll and failures, not found or stuck since, and its latest\n"
		    "events (newest first) with their deliveries, from the daemon's state database.\n"
		    "  --all              include jobs no longer watched (the table)\n"
		    "  --json             print the daemon's JSON as is (one object a line per ARN)\n"
		    "  --history N        events shown per job (default %d, at most %d; 0: none)\n",
		    CTL_HISTORY_DEFAULT, CTL_HISTORY_MAX);
	if (strcmp(cmd, "watch") == 0)
		fprintf(f,
			"  --no-check         do not wait for the daemon's first poll of the job\n"
			"Waits up to %d s for the first poll and prints the job's status; exits 1 when\n"
			"the service does not know the job or the poll failed (it stays watched).\n",
			CTL_CHECK_WAIT_S);
}

static void ctl_done(struct ctl *c)
{
	secret_free(c->token);
	c->token = NULL;
}

/* A bearer token may go over https://, or over http:// to loopback only:
 * anywhere else anyone on the path reads it. */
static bool url_may_carry_token(const char *url)
{
	struct config_url u;
	const char *reason = NULL;
	bool ok;

	if (config_url_parse(url, &u, &reason) < 0)
		return false;
	ok = u.https || config_host_is_loopback(u.host);
	config_url_done(&u);
	return ok;
}

/* Parses the common options; returns the index of the first operand, or
 * -1 after printing a usage error. */
static int ctl_parse(int argc, char **argv, struct ctl *c)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"url", required_argument, NULL, 'u'},
	    {"token-file", required_argument, NULL, 't'},
	    {"ca-file", required_argument, NULL, 'C'},
	    {"all", no_argument, NULL, 'a'},
	    {"json", no_argument, NULL, 'j'},
	    {"no-check", no_argument, NULL, 'n'},
	    {"history", required_argument, NULL, 'H'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool status = strcmp(argv[0], "status") == 0;
	const char *token_file = NULL;
	int o;

	*c = (struct ctl){.history = -1};
	optind = 1;
	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			c->socket = optarg;
			break;
		case 'u':
			c->url = optarg;
			break;
		case 't':
			token_file = optarg;
			break;
		case 'C':
			c->ca_file = optarg;
			break;
		case 'a':
		case 'j':
		case 'H':
			if (!status) {
				ctl_usage(stderr, argv[0]);
				return -1;
			}
			if (o == 'a') {
				c->all = true;
			} else if (o == 'j') {
				c->json = true;
			} else {
				int64_t n;

				if (parse_int64(optarg, 0, CTL_HISTORY_MAX, &n) < 0) {
					fprintf(stderr,
						"jobwatchd %s: --history must be a number from 0 to %d\n",
						argv[0], CTL_HISTORY_MAX);
					return -1;
				}
				c->history = (int)n;
			}
			break;
		case 'n':
			if (strcmp(argv[0], "watch") != 0) {
				ctl_usage(stderr, argv[0]);
				return -1;
			}
			c->no_check = true;
			break;
		case 'h':
			ctl_usage(stdout, argv[0]);
			exit(0);
		default:
			ctl_usage(stderr, argv[0]);
			return -1;
		}
	}
	if (c->socket && c->url) {
		fprintf(stderr, "jobwatchd %s: --socket and --url exclude each other\n", argv[0]);
		return -1;
	}
	if (c->url && !str_startswith(c->url, "http://") && !str_startswith(c->url, "https://")) {
		fprintf(stderr, "jobwatchd %s: --url must start with http:// or https://\n", argv[0]);
		return -1;
	}
	if (c->url && token_file && !url_may_carry_token(c->url)) {
		fprintf(stderr,
			"jobwatchd %s: refusing to send the token in clear to %s: use https:// (or a "
			"loopback address)\n",
			argv[0], c->url);
		return -1;
	}
	if (!c->url)
		c->socket = c->socket ? c->socket : CLI_CTL_DEFAULT_SOCKET;
	if (token_file) {
		size_t len = 0;
		int r = read_file_capped(token_file, CTL_TOKEN_MAX, &c->token, &len);
		if (r < 0) {
			fprintf(stderr, "jobwatchd %s: cannot read the token file %s: %s\n", argv[0],
				token_file, strerror(-r));
			return -1;
		}
		if (memchr(c->token, '\0', len) || str_empty(strstrip(c->token)) ||
		    strpbrk(c->token, "\r\n")) {
			fprintf(stderr, "jobwatchd %s: the token file %s is empty or not one line\n",
				argv[0], token_file);
			ctl_done(c);
			return -1;
		}
	}
	return optind;
}

static size_t on_body(void *p, size_t size, size_t n, void *u)
{
	return dynbuf_append(u, p, size * n) < 0 ? 0 : size * n;
}

/* One request.  Returns 0 with *status and body filled (and the seconds
 * of a Retry-After header in *retry_after, if not NULL; -1 without one),
 * or -1 after printing why the daemon could not be reached. */
static int ctl_request_retry(const struct ctl *c, const char *cmd, const char *method, const char *path,
			     const char *body, long *status, struct dynbuf *out, curl_off_t *retry_after)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	struct dynbuf url, auth;
	char err[CURL_ERROR_SIZE] = "";
	CURLcode cc;
	int r;

	if (!h) {
		fprintf(stderr, "jobwatchd %s: cannot initialize libcurl\n", cmd);
		return -1;
	}
	dynbuf_init(&url, 16384);
	dynbuf_init(&auth, CTL_TOKEN_MAX + 64);
	if (c->url) {
		size_t n = strlen(c->url);
		while (n > 0 && c->url[n - 1] == '/')
			n--;
		r = dynbuf_append(&url, c->url, n);
	} else {
		r = dynbuf_appends(&url, "http://localhost");
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->socket);
	}
	if (r >= 0)
		r = dynbuf_appends(&url, path);
	if (r >= 0 && c->token) {
		r = dynbuf_appendf(&auth, "Authorization: Bearer %s", c->token);
		if (r >= 0)
			hdrs = curl_slist_append(hdrs, auth.data);
	}
	if (body)
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	if (r < 0) {
		fprintf(stderr, "jobwatchd %s: request too long\n", cmd);
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_URL, url.data);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	if (c->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	if (body)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		fprintf(stderr, "jobwatchd %s: cannot reach the daemon at %s%s: %s\n", cmd,
			c->url ? "" : "unix:", c->url ? c->url : c->socket,
			c->url && err[0] ? err : curl_easy_strerror(cc));
		if (!c->url)
			fprintf(stderr, "(is jobwatchd running with [http] listen = unix:%s?)\n", c->socket);
		r = -1;
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	if (retry_after && curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, retry_after) != CURLE_OK)
		*retry_after = -1;
	r = 0;
out:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	dynbuf_free(&url);
	dynbuf_free(&auth); /* held the token */
	return r < 0 ? -1 : 0;
}

static int ctl_request(const struct ctl *c, const char *cmd, const char *method, const char *path,
		       const char *body, long *status, struct dynbuf *out)
{
	return ctl_request_retry(c, cmd, method, path, body, status, out, NULL);
}

/* The daemon's {"error": "..."} message, or a generic one. */
static void print_api_error(const char *cmd, const char *what, long status, const struct dynbuf *body)
{
	cJSON *j = body->data ? cJSON_ParseWithLength(body->data, body->len) : NULL;
	cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");

	if (status == 401)
		fprintf(stderr, "jobwatchd %s: %s: the daemon refused the bearer token (use --token-file)\n",
			cmd, what);
	else
		fprintf(stderr, "jobwatchd %s: %s: %s (HTTP %ld)\n", cmd, what,
			cJSON_IsString(e) ? e->valuestring : "unexpected answer", status);
	cJSON_Delete(j);
}

/* One job in detail.  Returns 0, 1 when the daemon answered with an
 * error (said), -1 when it could not be reached (said). */
static int status_one(const struct ctl *c, const char *cmd, const char *arn)
{
	struct dynbuf body, path;
	long status = 0;
	cJSON *job = NULL;
	int rc = 1;

	dynbuf_init(&body, CTL_RESPONSE_MAX);
	dynbuf_init(&path, 16384);
	if (dynbuf_appends(&path, "/v1/jobs/") < 0 || uri_encode(arn, strlen(arn), &path) < 0 ||
	    (c->history >= 0 && dynbuf_appendf(&path, "?history=%d", c->history) < 0)) {
		fprintf(stderr, "jobwatchd %s: ARN too long\n", cmd);
		goto out;
	}
	if (ctl_request(c, cmd, "GET", path.data, NULL, &status, &body) < 0) {
		rc = -1;
		goto out;
	}
	if (status == 404) {
		fprintf(
		    stderr,
		    "jobwatchd %s: %s: the daemon does not know this job (neither watched nor kept in its "
		    "state; `jobwatchd watch ARN` adds it)\n",
		    cmd, arn);
		goto out;
	}
	if (status != 200) {
		print_api_error(cmd, arn, status, &body);
		goto out;
	}
	job = body.data ? cJSON_ParseWithLength(body.data, body.len) : NULL;
	if (!cJSON_IsObject(job)) {
		fprintf(stderr, "jobwatchd %s: %s: the daemon's answer is not a JSON object\n", cmd, arn);
		goto out;
	}
	if (c->json)
		printf("%s\n", body.data);
	else
		cli_status_print_job(stdout, job, (int64_t)now_realtime_ms());
	rc = 0;
out:
	cJSON_Delete(job);
	dynbuf_free(&body);
	dynbuf_free(&path);
	return rc;
}

/* What a command does with each ARN it is given (each_arn(), below). */
enum ctl_job_op {
	CTL_STATUS,
	CTL_WATCH,
	CTL_UNWATCH,
	CTL_FORGET,
};

static int each_arn(const struct ctl *c, int argc, char **argv, int first, enum ctl_job_op op);

/* The EventBridge sinks under the jobs (GET /v1/sinks); nothing when there
 * are none, or the daemon predates the endpoint. */
static void print_sinks(struct ctl *c, const char *cmd)
{
	struct dynbuf body;
	long status = 0;
	cJSON *arr = NULL;

	dynbuf_init(&body, CTL_RESPONSE_MAX);
	if (ctl_request(c, cmd, "GET", "/v1/sinks", NULL, &status, &body) >= 0 && status == 200 && body.data)
		arr = cJSON_ParseWithLength(body.data, body.len);
	if (cJSON_IsArray(arr))
		cli_status_print_sinks(stdout, arr);
	cJSON_Delete(arr);
	dynbuf_free(&body);
}

int cli_status(int argc, char **argv)
{
	struct ctl c;
	struct dynbuf body;
	long status = 0;
	cJSON *arr;
	int first = ctl_parse(argc, argv, &c), rc = 1;

	if (first < 0)
		return 2;
	if ((first < argc && c.all) || (first >= argc && c.history >= 0)) {
		fprintf(stderr, "jobwatchd %s: %s\n", argv[0],
			c.all ? "--all is for the table of jobs, not with ARNs"
			      : "--history is for jobs named by ARN");
		ctl_done(&c);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (first < argc) {
		rc = each_arn(&c, argc, argv, first, CTL_STATUS);
		ctl_done(&c);
		curl_global_cleanup();
		return rc;
	}
	dynbuf_init(&body, CTL_RESPONSE_MAX);
	if (ctl_request(&c, argv[0], "GET", "/v1/jobs", NULL, &status, &body) < 0)
		goto out;
	if (status != 200) {
		print_api_error(argv[0], "listing jobs", status, &body);
		goto out;
	}
	if (c.json) {
		printf("%s\n", body.data ? body.data : "[]");
		rc = 0;
		goto out;
	}
	arr = body.data ? cJSON_ParseWithLength(body.data, body.len) : NULL;
	if (!cJSON_IsArray(arr)) {
		fprintf(stderr, "jobwatchd %s: the daemon's answer is not a JSON array\n", argv[0]);
		cJSON_Delete(arr);
		goto out;
	}
	cli_status_print_table(stdout, arr, c.all, (int64_t)now_realtime_ms());
	cJSON_Delete(arr);
	print_sinks(&c, argv[0]);
	rc = 0;
out:
	dynbuf_free(&body);
	ctl_done(&c);
	curl_global_cleanup();
	return rc;
}

static uint32_t json_polls(const cJSON *job)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(job, "polls");

	return cJSON_IsNumber(v) && v->valuedouble > 0 ? (uint32_t)v->valuedouble : 0;
}

/* What the poll of a job found, from its JSON: 0 when the service knows
 * it, 1 when the poll failed (printed on stderr). */
static int report_poll(const char *cmd, const char *arn, const cJSON *job, bool already)
{
	const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(job, "status"));
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(job, "name"));
	const char *err = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(job, "lastError"));

	if (status) {
		printf("%swatching %s: %s%s%s%s\n", already ? "already " : "", arn, status, name ? " (" : "",
		       name ? name : "", name ? ")" : "");
		return 0;
	}
	if (err && strstr(err, "ResourceNotFoundException"))
		fprintf(
		    stderr,
		    "jobwatchd %s: %s: the service does not know this job (ResourceNotFoundException): "
		    "check the ARN.  It stays watched: a job created a moment ago may not be visible yet; "
		    "job.not_found is reported if it does not appear within [poll] not_found_grace "
		    "(`jobwatchd forget ARN` removes it)\n",
		    cmd, arn);
	else
		fprintf(stderr, "jobwatchd %s: %s: its first poll failed: %s (it stays watched)\n", cmd, arn,
			err ? err : "no answer");
	return 1;
}

/* The daemon polls a job it was asked to watch at once: wait for that poll
 * (its count past the one POST answered with) and say what it found. */
static int check_first_poll(const struct ctl *c, const char *cmd, const char *arn, const char *posted)
{
	cJSON *job = cJSON_Parse(posted ? posted : "");
	uint32_t before = json_polls(job);
	struct dynbuf path, body;
	int rc = 0;

	dynbuf_init(&path, 16384);
	dynbuf_init(&body, 1 << 20);
	if (dynbuf_appends(&path, "/v1/jobs/") < 0 || uri_encode(arn, strlen(arn), &path) < 0)
		goto out;
	for (int waited_ms = 0; waited_ms <= CTL_CHECK_WAIT_S * 1000; waited_ms += CTL_CHECK_STEP_MS) {
		long status = 0;

		usleep(CTL_CHECK_STEP_MS * 1000);
		dynbuf_reset(&body);
		if (ctl_request(c, cmd, "GET", path.data, NULL, &status, &body) < 0) {
			rc = 1;
			goto out;
		}
		cJSON_Delete(job);
		job = status == 200 && body.data ? cJSON_ParseWithLength(body.data, body.len) : NULL;
		if (json_polls(job) > before) {
			rc = report_poll(cmd, arn, job, false);
			goto out;
		}
	}
	printf("watching %s: not polled within %d s (see `jobwatchd status`)\n", arn, CTL_CHECK_WAIT_S);
out:
	cJSON_Delete(job);
	dynbuf_free(&path);
	dynbuf_free(&body);
	return rc;
}

static int watch_one(const struct ctl *c, const char *cmd, const char *arn)
{
	struct dynbuf body, req;
	long status = 0;
	int rc = 1;

	dynbuf_init(&body, 1 << 20);
	dynbuf_init(&req, 16384);
	if (dynbuf_appends(&req, "{\"arn\":\"") < 0 || dynbuf_appends(&req, arn) < 0 ||
	    dynbuf_appends(&req, "\"}") < 0) {
		fprintf(stderr, "jobwatchd %s: ARN too long\n", cmd);
		goto out;
	}
	if (ctl_request(c, cmd, "POST", "/v1/jobs", req.data, &status, &body) < 0) {
		rc = -1;
		goto out;
	}
	if (status != 200 && status != 201) {
		print_api_error(cmd, arn, status, &body);
		goto out;
	}
	if (c->no_check) {
		printf(status == 201 ? "watching %s\n" : "already watching %s\n", arn);
		rc = 0;
	} else if (status == 200) {
		/* Watched before: its last poll says what the service knows. */
		cJSON *job = body.data ? cJSON_ParseWithLength(body.data, body.len) : NULL;

		if (json_polls(job) > 0) {
			rc = report_poll(cmd, arn, job, true);
		} else {
			printf("already watching %s\n", arn);
			rc = 0;
		}
		cJSON_Delete(job);
	} else {
		rc = check_first_poll(c, cmd, arn, body.data);
	}
out:
	dynbuf_free(&body);
	dynbuf_free(&req);
	return rc;
}

/* Unwatch, or with forget remove for good.  A forget the daemon answers
 * 409 with Retry-After (a poll of the job in flight) is tried again a few
 * times. */
static int unwatch_one(const struct ctl *c, const char *cmd, const char *arn, bool forget)
{
	struct dynbuf body, path;
	curl_off_t retry_after = -1;
	long status = 0;
	int rc = 1;

	dynbuf_init(&body, 1 << 20);
	dynbuf_init(&path, 16384);
	if (dynbuf_appends(&path, "/v1/jobs/") < 0 || uri_encode(arn, strlen(arn), &path) < 0 ||
	    (forget && dynbuf_appends(&path, "?forget=1") < 0)) {
		fprintf(stderr, "jobwatchd %s: ARN too long\n", cmd);
		goto out;
	}
	for (int attempt = 0;; attempt++) {
		dynbuf_reset(&body);
		if (ctl_request_retry(c, cmd, "DELETE", path.data, NULL, &status, &body, &retry_after) < 0) {
			rc = -1;
			goto out;
		}
		/* libcurl reports 0 when there was no Retry-After: a 409
		 * without one (a job from the configuration) is final. */
		if (status != 409 || retry_after <= 0 || retry_after > 10 || attempt >= 4)
			break;
		sleep((unsigned)retry_after);
	}
	if (status == 204) {
		printf(forget ? "forgot %s\n" : "no longer watching %s (state kept)\n", arn);
	} else if (status == 200 && !forget) {
		cJSON *o = cJSON_Parse(body.data ? body.data : "");
		const char *note = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "note"));
		printf("no longer watching %s (state kept)%s%s\n", arn, note ? "; " : "", note ? note : "");
		cJSON_Delete(o);
		status = 204;
	} else if (status == 404)
		fprintf(stderr, "jobwatchd %s: %s: the daemon does not know this job\n", cmd, arn);
	else
		print_api_error(cmd, arn, status, &body);
	rc = status == 204 ? 0 : 1;
out:
	dynbuf_free(&body);
	dynbuf_free(&path);
	return rc;
}

/* Runs op for every ARN operand (argv[first...]): 0 when each one
 * succeeded, 1 otherwise. */
static int each_arn(const struct ctl *c, int argc, char **argv, int first, enum ctl_job_op op)
{
	int rc = 0;

	for (int i = first; i < argc; i++) {
		int r;

		if (resource_kind_from_arn(argv[i], NULL) == KIND_INVALID) {
			fprintf(stderr,
				"jobwatchd %s: %s is not an audience generation job ARN nor one of another "
				"watched kind\n",
				argv[0], argv[i]);
			rc = 1;
			continue;
		}
		if (op == CTL_STATUS && i > first && !c->json)
			printf("\n"); /* a blank line between jobs in detail */
		r = op == CTL_STATUS  ? status_one(c, argv[0], argv[i])
		    : op == CTL_WATCH ? watch_one(c, argv[0], argv[i])
				      : unwatch_one(c, argv[0], argv[i], op == CTL_FORGET);
		if (r < 0) {
			/* Unreachable: the next ARN would fail the same way. */
			rc = 1;
			break;
		}
		if (r > 0)
			rc = 1;
	}
	return rc;
}

static int watch_or_unwatch(int argc, char **argv, enum ctl_job_op op)
{
	struct ctl c;
	int first = ctl_parse(argc, argv, &c), rc;

	if (first < 0)
		return 2;
	if (first >= argc) {
		ctl_usage(stderr, argv[0]);
		ctl_done(&c);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = each_arn(&c, argc, argv, first, op);
	ctl_done(&c);
	curl_global_cleanup();
	return rc;
}

int cli_watch(int argc, char **argv)
{
	return watch_or_unwatch(argc, argv, CTL_WATCH);
}

int cli_unwatch(int argc, char **argv)
{
	return watch_or_unwatch(argc, argv, CTL_UNWATCH);
}

int cli_forget(int argc, char **argv)
{
	return watch_or_unwatch(argc, argv, CTL_FORGET);
}

int cli_retry(int argc, char **argv)
{
	struct ctl c;
	struct dynbuf body, path;
	long status = 0;
	int first = ctl_parse(argc, argv, &c), rc = 1;
	const char *hook = NULL;

	if (first < 0)
		return 2;
	if (argc - first > 1) {
		ctl_usage(stderr, argv[0]);
		ctl_done(&c);
		return 2;
	}
	if (first < argc)
		hook = argv[first];
	curl_global_init(CURL_GLOBAL_DEFAULT);
	dynbuf_init(&body, 1 << 20);
	dynbuf_init(&path, 16384);
	if (dynbuf_appends(&path, "/v1/webhooks") < 0 ||
	    (hook && (dynbuf_appends(&path, "/") < 0 || uri_encode(hook, strlen(hook), &path) < 0)) ||
	    dynbuf_appends(&path, "/retry") < 0) {
		fprintf(stderr, "jobwatchd %s: webhook name too long\n", argv[0]);
		goto out;
	}
	if (ctl_request(&c, argv[0], "POST", path.data, "{}", &status, &body) < 0)
		goto out;
	if (status == 200) {
		cJSON *j = body.data ? cJSON_ParseWithLength(body.data, body.len) : NULL;
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "retried");

		printf("%s: %.0f waiting or parked deliveries sent now\n", hook ? hook : "every webhook",
		       cJSON_IsNumber(n) ? n->valuedouble : 0.0);
		cJSON_Delete(j);
		rc = 0;
	} else if (status == 404 && hook) {
		fprintf(stderr, "jobwatchd %s: the daemon has no webhook \"%s\"\n", argv[0], hook);
	} else {
		print_api_error(argv[0], "retrying deliveries", status, &body);
	}
out:
	dynbuf_free(&body);
	dynbuf_free(&path);
	ctl_done(&c);
	curl_global_cleanup();
	return rc;
}
