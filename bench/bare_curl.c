/* The bare libcurl multi loop of `make bench` (issue 18): the least a libcurl
 * client can spend on a Get, as the reference jobwatchd's polls are compared
 * with.  No signing, no parsing, no scheduler, no event library: N easy
 * handles whose options are set once, re-added to the multi handle as soon as
 * their transfer ends, driven by curl_multi_perform + curl_multi_poll.
 *
 * usage: bench_bare_curl --url URL [--handles N] [--max-host-connections M]
 *                        [--http2 --ca FILE] [--rate R] [--seconds S]
 *
 * --rate R starts R transfers a second (one at a time, on the multi handle's
 * poll timeout) instead of re-adding each handle when it ends: the reference
 * for jobwatchd held to [aws] max_rps.
 *
 * Runs until SIGTERM/SIGINT (or S seconds), then prints one JSON line:
 * requests completed, failures, connections opened.  bench/bench.py
 * counts requests on the server (nginx stub_status) and CPU from /proc, as it
 * does for jobwatchd; the printed count is a cross-check.
 *
 * Over plain HTTP it is HTTP/1.1 on max-host-connections connections (one
 * request each).  With --http2 it asks for CURL_HTTP_VERSION_2TLS with
 * CURLOPT_PIPEWAIT and multiplexing, as jobwatchd's http_transfer.c does, so
 * that libcurl makes the same connection/stream arrangement for the same
 * number of transfers in flight and the same CURLMOPT_MAX_HOST_CONNECTIONS. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#define BARE_MAX_HANDLES 4096

static volatile sig_atomic_t stop_requested;

static void on_signal(int signum)
{
	(void)signum;
	stop_requested = 1;
}

/* The body is thrown away: the reference does no parsing. */
static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	(void)ptr;
	(void)userdata;
	return size * nmemb;
}

static int parse_long(const char *s, long min, long max, long *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_bare_curl --url URL [--handles N] [--max-host-connections M] "
			"[--http2 --ca FILE] [--rate R] [--seconds S]\n");
}

int main(int argc, char **argv)
{
	const char *url = NULL, *ca = NULL;
	long handles = 64, max_host = 64, seconds = 0, rate = 0;
	int http2 = 0;
	/* A constant Authorization header of SigV4's shape and size (~200
	 * bytes), built once: what a signed request carries, without signing. */
	static const char auth[] =
	    "Authorization: AWS4-HMAC-SHA256 "
	    "Credential=AKIDJWBENCHEXAMPLE01/20240115/us-east-1/cleanrooms-ml/"
	    "aws4_request, SignedHeaders=host;x-amz-date, "
	    "Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	struct curl_slist *headers = NULL;
	CURL *easy[BARE_MAX_HANDLES];
	CURL *idle[BARE_MAX_HANDLES]; /* with --rate: handles not in a transfer */
	long n_idle = 0;
	double next_start = 0;
	CURLM *multi;
	struct sigaction sa;
	unsigned long long done = 0, failed = 0;
	long conns = 0;
	double t0, t1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int r = 0;

		if (strcmp(a, "--http2") == 0) {
			http2 = 1;
			continue;
		}
		if (!v) {
			usage();
			return 2;
		}
		i++;
		if (strcmp(a, "--url") == 0)
			url = v;
		else if (strcmp(a, "--ca") == 0)
			ca = v;
		else if (strcmp(a, "--handles") == 0)
			r = parse_long(v, 1, BARE_MAX_HANDLES, &handles);
		else if (strcmp(a, "--max-host-connections") == 0)
			r = parse_long(v, 1, 100000, &max_host);
		else if (strcmp(a, "--rate") == 0)
			r = parse_long(v, 0, 1000000, &rate);
		else if (strcmp(a, "--seconds") == 0)
			r = parse_long(v, 0, INT_MAX, &seconds);
		else
			r = -EINVAL;
		if (r < 0) {
			fprintf(stderr, "bench_bare_curl: bad argument %s %s\n", a, v);
			return 2;
		}
	}
	if (!url) {
		usage();
		return 2;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "bench_bare_curl: curl_global_init failed\n");
		return 1;
	}
	headers = curl_slist_append(NULL, auth);
	multi = curl_multi_init();
	if (!headers || !multi) {
		fprintf(stderr, "bench_bare_curl: out of memory\n");
		return 1;
	}
	curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, max_host);
	curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, max_host);
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, max_host);
	/* CURLMOPT_PIPELINING stays libcurl's default, CURLPIPE_MULTIPLEX, as in jobwatchd. */

	for (long i = 0; i < handles; i++) {
		CURL *e = curl_easy_init();
		CURLcode c = e ? CURLE_OK : CURLE_OUT_OF_MEMORY;

#define SET(opt, val)                                                                                       \
	do {                                                                                                \
		if (c == CURLE_OK)                                                                          \
			c = curl_easy_setopt(e, opt, val);                                                  \
	} while (0)
		SET(CURLOPT_URL, url);
		SET(CURLOPT_NOSIGNAL, 1L);
		SET(CURLOPT_HTTPHEADER, headers);
		SET(CURLOPT_WRITEFUNCTION, discard);
		SET(CURLOPT_HTTP_VERSION,
		    http2 ? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_1_1);
		if (http2)
			SET(CURLOPT_PIPEWAIT, 1L);
		if (ca)
			SET(CURLOPT_CAINFO, ca);
		SET(CURLOPT_NOPROXY, "*");
#undef SET
		if (c != CURLE_OK) {
			fprintf(stderr, "bench_bare_curl: easy handle %ld: %s\n", i, curl_easy_strerror(c));
			return 1;
		}
		easy[i] = e;
		if (rate)
			idle[n_idle++] = e;
		else
			curl_multi_add_handle(multi, e);
	}

	t0 = now_s();
	next_start = t0;
	while (!stop_requested && (seconds == 0 || now_s() - t0 < (double)seconds)) {
		int running, q;
		CURLMsg *m;
		CURLMcode mc;
		int timeout_ms = 1000;

		if (rate) {
			double t = now_s();

			/* A start that is due and finds no idle handle is skipped. */
			while (next_start <= t) {
				if (n_idle > 0)
					curl_multi_add_handle(multi, idle[--n_idle]);
				next_start += 1.0 / (double)rate;
			}
			timeout_ms = (int)((next_start - t) * 1000.0) + 1;
		}
		mc = curl_multi_perform(multi, &running);

		if (mc != CURLM_OK) {
			fprintf(stderr, "bench_bare_curl: curl_multi_perform: %s\n",
				curl_multi_strerror(mc));
			return 1;
		}
		/* Re-adding here is outside any libcurl callback. */
		while ((m = curl_multi_info_read(multi, &q))) {
			long code = 0;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
			if (m->data.result != CURLE_OK || code != 200) {
				if (failed++ < 5)
					fprintf(stderr, "bench_bare_curl: transfer failed: %s, HTTP %ld\n",
						curl_easy_strerror(m->data.result), code);
			} else {
				done++;
			}
			{
				long n = 0;
				curl_easy_getinfo(m->easy_handle, CURLINFO_NUM_CONNECTS, &n);
				conns += n;
			}
			curl_multi_remove_handle(multi, m->easy_handle);
			if (rate)
				idle[n_idle++] = m->easy_handle;
			else
				curl_multi_add_handle(multi, m->easy_handle);
		}
		mc = curl_multi_poll(multi, NULL, 0, timeout_ms, NULL);
		if (mc != CURLM_OK) {
			fprintf(stderr, "bench_bare_curl: curl_multi_poll: %s\n", curl_multi_strerror(mc));
			return 1;
		}
	}
	t1 = now_s();

	printf("{\"requests\": %llu, \"failed\": %llu, \"seconds\": %.3f, \"handles\": %ld, "
	       "\"max_host_connections\": %ld, \"http2\": %s, \"rate\": %ld, \"connects\": %ld, \"curl\": "
	       "\"%s\"}\n",
	       done, failed, t1 - t0, handles, max_host, http2 ? "true" : "false", rate, conns,
	       curl_version_info(CURLVERSION_NOW)->version);
	fflush(stdout);
	for (long i = 0; i < handles; i++) {
		curl_multi_remove_handle(multi, easy[i]);
		curl_easy_cleanup(easy[i]);
	}
	curl_multi_cleanup(multi);
	curl_slist_free_all(headers);
	curl_global_cleanup();
	return 0;
}
