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

#include "config.h"
#include "util.h"

#define CTL_RESPONSE_MAX (512u * 1024 * 1024)
#define CTL_TOKEN_MAX	 4096
#define CTL_NAME_WIDTH	 40

struct ctl {
	const char *socket;  /* NULL with url */
	const char *url;     /* base URL for TCP, NULL for the socket */
	const char *ca_file; /* https: the CA that signed the daemon's certificate */
	char *token;	     /* never printed */
	bool all;
	bool json;
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
		strcmp(cmd, "status") == 0  ? " [--all] [--json]"
		: strcmp(cmd, "retry") == 0 ? " [HOOK]"
					    : " ARN...",
		CLI_CTL_DEFAULT_SOCKET);
	if (strcmp(cmd, "forget") == 0)
		fprintf(f,
			"Removes jobs added with `jobwatchd watch` from the daemon and its state file.\n");
	if (strcmp(cmd, "status") == 0)
		fprintf(f, "  --all              include jobs no longer watched\n"
			   "  --json             print the daemon's JSON as is\n");
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
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool status = strcmp(argv[0], "status") == 0;
	const char *token_file = NULL;
	int o;

	*c = (struct ctl){0};
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
			if (!status) {
				ctl_usage(stderr, argv[0]);
				return -1;
			}
			if (o == 'a')
				c->all = true;
			else
				c->json = true;
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

static const char *json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* "45s", "12m", "3h", "2d"; "-" when unknown. */
static void format_age(const char *iso, int64_t now_ms, char *buf, size_t size)
{
	int64_t ms, s;

	if (!iso || parse_iso8601_ms(iso, &ms) < 0) {
		snprintf(buf, size, "-");
		return;
	}
	s = (now_ms - ms) / 1000;
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(buf, size, "%llds", (long long)s);
	else if (s < 7200)
		snprintf(buf, size, "%lldm", (long long)(s / 60));
	else if (s < 172800)
		snprintf(buf, size, "%lldh", (long long)(s / 3600));
	else
		snprintf(buf, size, "%lldd", (long long)(s / 86400));
}

static void print_table(const cJSON *arr, bool all)
{
	int64_t now = (int64_t)now_realtime_ms();
	size_t shown = 0, width = 4;
	const cJSON *j;

	cJSON_ArrayForEach(j, arr)
	{
		const char *name =
		    json_str(j, "name") ? json_str(j, "name") : arn_job_id(json_str(j, "arn"));
		size_t n = name ? strlen(name) : 1;
		if (!all && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "watched")))
			continue;
		if (n > width)
			width = n > CTL_NAME_WIDTH ? CTL_NAME_WIDTH : n;
	}
	printf("%-*s  %-20s  %7s  %9s  %s\n", (int)width, "NAME", "STATUS", "SINCE", "LAST POLL",
	       "FAILURES");
	cJSON_ArrayForEach(j, arr)
	{
		const char *name =
		    json_str(j, "name") ? json_str(j, "name") : arn_job_id(json_str(j, "arn"));
		const char *status = json_str(j, "status");
		const cJSON *fails = cJSON_GetObjectItemCaseSensitive(j, "failures");
		bool watched = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "watched"));
		char since[16], poll[16], st[40], nm[CTL_NAME_WIDTH + 1];

		if (!all && !watched)
			continue;
		name = name ? name : "?";
		if (strlen(name) > width)
			snprintf(nm, sizeof(nm), "%.*s~", (int)width - 1, name);
		else
			snprintf(nm, sizeof(nm), "%s", name);
		snprintf(st, sizeof(st), "%s%s", status ? status : "UNKNOWN", watched ? "" : "*");
		format_age(json_str(j, "since"), now, since, sizeof(since));
		format_age(json_str(j, "lastPoll"), now, poll, sizeof(poll));
		printf("%-*s  %-20s  %7s  %9s  %d\n", (int)width, nm, st, since, poll,
		       cJSON_IsNumber(fails) ? fails->valueint : 0);
		shown++;
	}
	if (all)
		printf("(* = no longer watched)\n");
	if (shown == 0)
		printf("(no jobs)\n");
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
	if (first < argc) {
		ctl_usage(stderr, argv[0]);
		ctl_done(&c);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
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
	print_table(arr, c.all);
	cJSON_Delete(arr);
	rc = 0;
out:
	dynbuf_free(&body);
	ctl_done(&c);
	curl_global_cleanup();
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
	if (status == 201)
		printf("watching %s\n", arn);
	else if (status == 200)
		printf("already watching %s\n", arn);
	else {
		print_api_error(cmd, arn, status, &body);
		goto out;
	}
	rc = 0;
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

enum ctl_change {
	CTL_WATCH,
	CTL_UNWATCH,
	CTL_FORGET,
};

static int watch_or_unwatch(int argc, char **argv, enum ctl_change change)
{
	struct ctl c;
	int first = ctl_parse(argc, argv, &c), rc = 0;

	if (first < 0)
		return 2;
	if (first >= argc) {
		ctl_usage(stderr, argv[0]);
		ctl_done(&c);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (int i = first; i < argc; i++) {
		int r;

		if (!arn_is_audience_generation_job(argv[i])) {
			fprintf(stderr, "jobwatchd %s: %s is not an audience generation job ARN\n", argv[0],
				argv[i]);
			rc = 1;
			continue;
		}
		r = change == CTL_WATCH ? watch_one(&c, argv[0], argv[i])
					: unwatch_one(&c, argv[0], argv[i], change == CTL_FORGET);
		if (r < 0) {
			/* Unreachable: the next ARN would fail the same way. */
			rc = 1;
			break;
		}
		if (r > 0)
			rc = 1;
	}
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
