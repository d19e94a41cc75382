/* creds_fetch: resolves credentials through the daemon's chain (uv loop +
 * http ctx + creds) and prints what it got, one line per event, never the
 * secret itself:
 *
 *   ok source=imds akid=ASIA... expiration=2026-...Z secret_sha256=0123abcd token=yes refreshes=0
 *   refresh source=imds akid=... expiration=... secret_sha256=... token=yes refreshes=1
 *   error: <creds_last_error()>
 *   unavailable
 *
 * Options: --profile P, --region R, --ca-file F, --timeout-ms N,
 * --run-seconds N (keep running, print refreshes; re-request when
 * creds_current() is NULL), --invalidate-after S (creds_invalidate() once).
 * Exit 0 when credentials were obtained at least once, 1 otherwise.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>
#include <uv.h>

#include "creds.h"
#include "http.h"
#include "log.h"
#include "util.h"

struct state {
	uv_loop_t *loop;
	struct creds *creds;
	struct http_ctx *http;
	uv_timer_t tick;
	uv_timer_t stop;
	bool pending;
	bool got;
	bool unavailable_shown;
	char last_akid[256];
	int64_t last_exp;
	char last_error[1400];
	uint64_t run_ms;
	uint64_t invalidate_ms;
	uint64_t start_ms;
	bool invalidated;
	bool done;
};

static void print_creds(struct state *s, const char *what, const struct aws_credentials *c)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char hex[2 * SHA256_DIGEST_LENGTH + 1], exp[40] = "none";

	SHA256((const unsigned char *)c->secret_access_key, strlen(c->secret_access_key), md);
	hex_encode(md, sizeof(md), hex);
	hex[8] = '\0';
	if (c->expiration_ms)
		format_iso8601_ms(c->expiration_ms, exp, sizeof(exp));
	printf("%s source=%s akid=%s expiration=%s secret_sha256=%s token=%s refreshes=%llu\n", what,
	       c->source, c->access_key_id, exp, hex, c->session_token ? "yes" : "no",
	       (unsigned long long)creds_refresh_count(s->creds));
	fflush(stdout);
	snprintf(s->last_akid, sizeof(s->last_akid), "%s", c->access_key_id);
	s->last_exp = c->expiration_ms;
}

static void note_error(struct state *s)
{
	const char *e = creds_last_error(s->creds);

	if (e && strcmp(e, s->last_error) != 0) {
		printf("error: %s\n", e);
		fflush(stdout);
		snprintf(s->last_error, sizeof(s->last_error), "%s", e);
	}
}

static void finish(struct state *s)
{
	if (s->done)
		return;
	s->done = true;
	uv_close((uv_handle_t *)&s->tick, NULL);
	uv_close((uv_handle_t *)&s->stop, NULL);
	s->creds = creds_free(s->creds);
	http_ctx_free(s->http);
	s->http = NULL;
}

static void on_ready(void *userdata, int error, const struct aws_credentials *c)
{
	struct state *s = userdata;

	s->pending = false;
	if (error == -ECANCELED && s->done)
		return; /* our own creds_free() in finish() */
	if (error < 0) {
		note_error(s);
		if (!s->run_ms)
			finish(s);
		return;
	}
	s->unavailable_shown = false;
	if (!s->got) {
		print_creds(s, "ok", c);
		s->got = true;
	} else if (strcmp(c->access_key_id, s->last_akid) != 0 || c->expiration_ms != s->last_exp)
		print_creds(s, "refresh", c);
	if (!s->run_ms)
		finish(s);
}

static void on_tick(uv_timer_t *t)
{
	struct state *s = t->data;
	const struct aws_credentials *c;

	if (s->invalidate_ms && !s->invalidated && now_monotonic_ms() - s->start_ms >= s->invalidate_ms) {
		s->invalidated = true;
		printf("invalidate\n");
		fflush(stdout);
		creds_invalidate(s->creds);
	}
	c = creds_current(s->creds);
	if (c) {
		s->unavailable_shown = false;
		if (s->got &&
		    (strcmp(c->access_key_id, s->last_akid) != 0 || c->expiration_ms != s->last_exp))
			print_creds(s, "refresh", c);
		note_error(s);
		return;
	}
	note_error(s);
	if (s->got && !s->unavailable_shown) {
		printf("unavailable\n");
		fflush(stdout);
		s->unavailable_shown = true;
	}
	if (!s->pending && creds_request(s->creds, on_ready, s) == 0)
		s->pending = true;
}

static void on_stop(uv_timer_t *t)
{
	finish(t->data);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"profile", required_argument, NULL, 'p'},
	    {"region", required_argument, NULL, 'r'},
	    {"ca-file", required_argument, NULL, 'c'},
	    {"timeout-ms", required_argument, NULL, 't'},
	    {"run-seconds", required_argument, NULL, 's'},
	    {"invalidate-after", required_argument, NULL, 'i'},
	    {"verbose", no_argument, NULL, 'v'},
	    {NULL, 0, NULL, 0},
	};
	struct creds_options opts = {0};
	struct http_ctx_options hopts = {.max_connections = 8, .user_agent = "jobwatchd-creds-fetch"};
	struct state s = {0};
	int64_t v;
	int o, r;

	log_setup(LOG_TARGET_STDERR, LOG_WARNING);
	while ((o = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (o) {
		case 'p':
			opts.profile = optarg;
			break;
		case 'r':
			opts.region = optarg;
			break;
		case 'c':
			opts.ca_file = optarg;
			break;
		case 't':
		case 's':
		case 'i':
			if (parse_int64(optarg, 0, 86400000, &v) < 0) {
				fprintf(stderr, "bad number: %s\n", optarg);
				return 2;
			}
			if (o == 't')
				opts.timeout_ms = (uint64_t)v;
			else if (o == 's')
				s.run_ms = (uint64_t)v * 1000;
			else
				s.invalidate_ms = (uint64_t)v * 1000;
			break;
		case 'v':
			log_set_max_level(LOG_DEBUG);
			break;
		default:
			return 2;
		}
	}
	s.loop = uv_default_loop();
	r = http_ctx_new(s.loop, &hopts, &s.http);
	if (r < 0) {
		fprintf(stderr, "http_ctx_new: %s\n", strerror(-r));
		return 1;
	}
	r = creds_new(s.loop, s.http, &opts, &s.creds);
	if (r < 0) {
		fprintf(stderr, "creds_new: %s\n", strerror(-r));
		return 1;
	}
	s.start_ms = now_monotonic_ms();
	uv_timer_init(s.loop, &s.tick);
	uv_timer_init(s.loop, &s.stop);
	s.tick.data = s.stop.data = &s;
	r = creds_request(s.creds, on_ready, &s);
	if (r < 0) {
		fprintf(stderr, "creds_request: %s\n", strerror(-r));
		return 1;
	}
	s.pending = true;
	if (s.run_ms) {
		uv_timer_start(&s.tick, on_tick, 100, 100);
		uv_timer_start(&s.stop, on_stop, s.run_ms, 0);
	}
	uv_run(s.loop, UV_RUN_DEFAULT);
	uv_loop_close(s.loop);
	return s.got ? 0 : 1;
}
