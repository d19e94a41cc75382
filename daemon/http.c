/* http.c: the glue between one libcurl multi handle and the libuv loop.
 *
 * This is the only file that includes both <uv.h> and <curl/curl.h>.  The
 * rules it follows (docs/internals/http.md has the reasons):
 *  - one uv_poll_t per socket, stored with curl_multi_assign(), stopped and
 *    closed on CURL_POLL_REMOVE and freed only in its close callback;
 *  - one non-repeating uv_timer_t for libcurl's timeout; a timeout of 0 is
 *    served from a uv_idle_t on the next loop iteration;
 *  - curl_multi_info_read() is drained after every curl_multi_socket_action();
 *  - completion callbacks run only from the idle handle, never inside a
 *    libcurl call, so they may submit or cancel freely.
 */
#include "http.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <uv.h>

#include "log.h"
#include "util.h"

#define HTTP_DEFAULT_TIMEOUT_MS		15000u
#define HTTP_DEFAULT_CONNECT_TIMEOUT_MS 10000u
#define HTTP_DEFAULT_MAX_BODY		(1024u * 1024u)
#define HTTP_DEFAULT_MAX_CONNECTIONS	64u
#define HTTP_MAX_REQUEST_HEADERS	64u

enum transfer_state {
	TRANSFER_RUNNING,     /* attached to the multi handle (or about to be removed) */
	TRANSFER_QUEUED,      /* finished or cancelled; done() waits for the idle handle */
	TRANSFER_DISPATCHING, /* done() is running */
};

struct http_sock {
	uv_poll_t poll;
	struct http_ctx *ctx;
	curl_socket_t fd;
	struct http_sock *prev, *next; /* in ctx->socks until closed */
};

struct http_transfer {
	struct http_ctx *ctx;
	CURL *easy;
	bool in_multi;
	enum transfer_state state;
	http_done_fn done;
	void *userdata;
	struct curl_slist *req_headers;
	/* Our copy of the request body (libcurl only points at it), wiped when
	 * freed: it may hold a web identity token or other secrets. */
	char *req_body;
	size_t req_body_len;
	struct dynbuf body;
	struct http_header_kv *headers;
	size_t n_headers;
	size_t header_bytes;
	enum http_error cap_error; /* set by our callbacks when they abort the transfer */
	char cap_text[96];	   /* why they did; libcurl only says "Failure writing output" */
	uint64_t start_ms;
	char errbuf[CURL_ERROR_SIZE];
	struct http_response resp;
	struct http_transfer *prev, *next; /* in ctx->transfers until freed */
	struct http_transfer *q_next;	   /* in the done queue */
};

struct http_ctx {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	uv_idle_t idle;
	unsigned open_handles; /* libuv handles not yet through their close callback */
	unsigned in_curl;      /* > 0 while a curl_multi_* call is on the stack */
	bool timeout_due;      /* libcurl asked for a 0 ms timeout */
	bool freeing;
	bool cleaning; /* inside curl_multi_cleanup() */
	struct http_transfer *transfers;
	struct http_transfer *q_head, *q_tail;
	size_t q_len;
	struct http_sock *socks;
	char *user_agent;
	struct http_stats stats;
};

static char empty_body[1];

static const char *const error_names[_HTTP_ERR_MAX] = {
    [HTTP_OK] = "ok",
    [HTTP_ERR_RESOLVE] = "resolve",
    [HTTP_ERR_CONNECT] = "connect",
    [HTTP_ERR_TLS] = "tls",
    [HTTP_ERR_TIMEOUT] = "timeout",
    [HTTP_ERR_RESET] = "reset",
    [HTTP_ERR_TOO_LARGE] = "too-large",
    [HTTP_ERR_CANCELLED] = "cancelled",
    [HTTP_ERR_OTHER] = "other",
};

const char *http_error_to_string(enum http_error e)
{
	if (e < 0 || e >= _HTTP_ERR_MAX)
		return NULL;
	return error_names[e];
}

const char *http_response_header(const struct http_response *r, const char *name)
{
	if (!r || !name)
		return NULL;
	for (size_t i = 0; i < r->n_headers; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

/* libcurl must never raise SIGPIPE on us: CURLOPT_NOSIGNAL stops it from
 * managing the signal itself, so the process ignores it once, here. */
static int ignore_sigpipe(void)
{
	struct sigaction sa = {.sa_handler = SIG_IGN};

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPIPE, &sa, NULL) < 0)
		return -errno;
	return 0;
}

static int global_init(void)
{
	static bool done;
	CURLcode c;

	if (done)
		return 0;
	c = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (c != CURLE_OK)
		return log_debug_errno(EIO, "curl_global_init: %s", curl_easy_strerror(c));
	done = true;
	return 0;
}

int http_global_check(void)
{
	const curl_version_info_data *v;
	int r;

	r = global_init();
	if (r < 0)
		return r;
	r = ignore_sigpipe();
	if (r < 0)
		return log_debug_errno(r, "Cannot ignore SIGPIPE: %m");
	v = curl_version_info(CURLVERSION_NOW);
	/* A blocking resolver would stall the whole loop for the duration of
	 * every DNS lookup. */
	if (!(v->features & CURL_VERSION_ASYNCHDNS))
		return log_debug_errno(ENOTSUP, "libcurl %s resolves names synchronously", v->version);
	log_debug("libcurl %s (%s), HTTP/2 %s", v->version, v->ssl_version ? v->ssl_version : "no TLS",
		  (v->features & CURL_VERSION_HTTP2) ? "available" : "not available");
	return 0;
}

/* ---- handle lifetime ---------------------------------------------------- */

static void ctx_handle_closed(struct http_ctx *ctx)
{
	if (--ctx->open_handles > 0 || !ctx->freeing)
		return;
	free(ctx->user_agent);
	free(ctx);
}

static void on_sock_closed(uv_handle_t *h)
{
	struct http_sock *s = h->data;
	struct http_ctx *ctx = s->ctx;

	free(s);
	ctx_handle_closed(ctx);
}

static void on_ctx_handle_closed(uv_handle_t *h)
{
	ctx_handle_closed(h->data);
}

/* Stops and closes at once: a stopped-but-open handle on an fd number that
 * libcurl reuses would trip libuv's one-watcher-per-fd assertion. */
static void sock_close(struct http_sock *s)
{
	struct http_ctx *ctx = s->ctx;

	if (s->prev)
		s->prev->next = s->next;
	else
		ctx->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	ctx->stats.sockets--;
	uv_poll_stop(&s->poll);
	uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

/* ---- completion -------------------------------------------------------- */

static void idle_kick(struct http_ctx *ctx);

static void queue_push(struct http_ctx *ctx, struct http_transfer *t)
{
	t->state = TRANSFER_QUEUED;
	t->q_next = NULL;
	if (ctx->q_tail)
		ctx->q_tail->q_next = t;
	else
		ctx->q_head = t;
	ctx->q_tail = t;
	ctx->q_len++;
	idle_kick(ctx);
}

static struct http_transfer *queue_pop(struct http_ctx *ctx)
{
	struct http_transfer *t = ctx->q_head;

	if (!t)
		return NULL;
	ctx->q_head = t->q_next;
	if (!ctx->q_head)
		ctx->q_tail = NULL;
	ctx->q_len--;
	t->q_next = NULL;
	return t;
}

static void transfer_detach(struct http_transfer *t)
{
	struct http_ctx *ctx = t->ctx;
	CURLMcode mc;

	if (!t->in_multi)
		return;
	ctx->in_curl++;
	mc = curl_multi_remove_handle(ctx->multi, t->easy);
	ctx->in_curl--;
	if (mc != CURLM_OK)
		log_debug("curl_multi_remove_handle: %s", curl_multi_strerror(mc));
	t->in_multi = false;
}

static void transfer_free(struct http_transfer *t)
{
	if (!t)
		return;
	if (t->easy)
		curl_easy_cleanup(t->easy);
	/* Request headers carry Authorization and session tokens. */
	for (struct curl_slist *l = t->req_headers; l; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(t->req_headers);
	if (t->req_body) {
		explicit_bzero(t->req_body, t->req_body_len);
		free(t->req_body);
	}
	dynbuf_free(&t->body);
	for (size_t i = 0; i < t->n_headers; i++) {
		free(t->headers[i].name);
		free(t->headers[i].value);
	}
	free(t->headers);
	free(t);
}

/* Presents a result without a response (cancel, cap, transport error). */
static void response_set_error(struct http_transfer *t, enum http_error e, const char *text)
{
	t->resp.error = e;
	snprintf(t->resp.error_text, sizeof(t->resp.error_text), "%s", text);
	if (e != HTTP_OK) {
		t->resp.status = 0;
		t->resp.body = empty_body;
		t->resp.body_len = 0;
		t->resp.headers = NULL;
		t->resp.n_headers = 0;
	}
}

static void transfer_complete(struct http_transfer *t)
{
	struct http_ctx *ctx = t->ctx;

	transfer_detach(t);
	t->state = TRANSFER_DISPATCHING;
	if (t->resp.error == HTTP_OK)
		ctx->stats.completed++;
	else if (t->resp.error == HTTP_ERR_CANCELLED)
		ctx->stats.cancelled++;
	else
		ctx->stats.failed_transport++;
	t->done(t->userdata, &t->resp);

	if (t->prev)
		t->prev->next = t->next;
	else
		ctx->transfers = t->next;
	if (t->next)
		t->next->prev = t->prev;
	ctx->stats.inflight--;
	transfer_free(t);
}

static enum http_error map_curl_error(struct http_transfer *t, CURLcode c)
{
	curl_off_t connect_us = 0, lookup_us = 0;

	switch (c) {
	case CURLE_OK:
		return HTTP_OK;
	case CURLE_WRITE_ERROR:
		return t->cap_error != HTTP_OK ? t->cap_error : HTTP_ERR_OTHER;
	case CURLE_FILESIZE_EXCEEDED:
		return HTTP_ERR_TOO_LARGE;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return HTTP_ERR_RESOLVE;
	case CURLE_COULDNT_CONNECT:
		return HTTP_ERR_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		/* CONNECT_TIME is set once the TCP connection is up: a timeout
		 * after the name was resolved and before that is a connect
		 * timeout.  Anything else (including a slow resolver, which we
		 * cannot tell from a transfer queued inside libcurl) is TIMEOUT. */
		curl_easy_getinfo(t->easy, CURLINFO_CONNECT_TIME_T, &connect_us);
		curl_easy_getinfo(t->easy, CURLINFO_NAMELOOKUP_TIME_T, &lookup_us);
		return connect_us == 0 && lookup_us > 0 ? HTTP_ERR_CONNECT : HTTP_ERR_TIMEOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_CLIENTCERT:
	case CURLE_USE_SSL_FAILED:
		return HTTP_ERR_TLS;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_HTTP3:
		return HTTP_ERR_RESET;
	default:
		return HTTP_ERR_OTHER;
	}
}

/* Collects the outcome of a finished transfer.  Called with no libcurl call
 * on the stack, right after curl_multi_info_read() returned its message. */
static void transfer_finish(struct http_transfer *t, CURLcode c)
{
	curl_off_t total_us = 0;
	const char *ip = NULL;
	long status = 0;
	enum http_error e;

	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME_T, &total_us);
	curl_easy_getinfo(t->easy, CURLINFO_PRIMARY_IP, &ip);
	e = map_curl_error(t, c);
	transfer_detach(t);

	t->resp.status = e == HTTP_OK ? status : 0;
	t->resp.elapsed_ms = total_us > 0 ? (uint64_t)total_us / 1000u : 0;
	snprintf(t->resp.ip, sizeof(t->resp.ip), "%s", ip ? ip : "");
	t->resp.body = t->body.data ? t->body.data : empty_body;
	t->resp.body_len = t->body.len;
	t->resp.headers = t->headers;
	t->resp.n_headers = t->n_headers;
	if (e == HTTP_OK)
		response_set_error(t, e, "");
	else if (c == CURLE_WRITE_ERROR && t->cap_error != HTTP_OK)
		response_set_error(t, e, t->cap_text);
	else
		response_set_error(t, e, t->errbuf[0] ? t->errbuf : curl_easy_strerror(c));
	queue_push(t->ctx, t);
}

/* Reaps every finished transfer.  libcurl's doc: the message must not be
 * used after the easy handle is removed, so the result is copied first. */
static void drain_info(struct http_ctx *ctx)
{
	CURLMsg *msg;
	int left;

	while (ctx->multi && (msg = curl_multi_info_read(ctx->multi, &left))) {
		struct http_transfer *t = NULL;
		CURLcode c;

		if (msg->msg != CURLMSG_DONE)
			continue;
		c = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
		if (!t || t->state != TRANSFER_RUNNING)
			continue;
		transfer_finish(t, c);
	}
}

/* Every curl_multi_socket_action() goes through here: a real
 * running_handles pointer (NULL crashed others), and an unconditional drain
 * (skipping it when running == 0 loses the last transfer's result). */
static void multi_action(struct http_ctx *ctx, curl_socket_t fd, int flags)
{
	int running = 0;
	CURLMcode mc;

	if (!ctx->multi || ctx->cleaning)
		return;
	ctx->in_curl++;
	mc = curl_multi_socket_action(ctx->multi, fd, flags, &running);
	ctx->in_curl--;
	if (mc != CURLM_OK)
		log_debug("curl_multi_socket_action: %s", curl_multi_strerror(mc));
	drain_info(ctx);
}

/* ---- libuv callbacks ---------------------------------------------------- */

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct http_sock *s = h->data;
	int flags = 0;

	/* libuv reports socket errors (EPOLLERR) as a negative status and
	 * stops the handle; libcurl must hear about it or the transfer stalls. */
	if (status < 0)
		flags = CURL_CSELECT_ERR;
	else {
		if (events & UV_READABLE)
			flags |= CURL_CSELECT_IN;
		if (events & UV_WRITABLE)
			flags |= CURL_CSELECT_OUT;
	}
	multi_action(s->ctx, s->fd, flags);
}

static void on_timer(uv_timer_t *h)
{
	multi_action(h->data, CURL_SOCKET_TIMEOUT, 0);
}

/* Runs libcurl's 0 ms timeouts and then the completion callbacks that were
 * queued before this call.  Callbacks queued by those callbacks (a cancel)
 * run on the next iteration, so done() never runs inside the call that
 * caused it. */
static void on_idle(uv_idle_t *h)
{
	struct http_ctx *ctx = h->data;
	size_t budget;

	if (ctx->timeout_due) {
		ctx->timeout_due = false;
		multi_action(ctx, CURL_SOCKET_TIMEOUT, 0);
	}
	for (budget = ctx->q_len; budget > 0; budget--) {
		struct http_transfer *t = queue_pop(ctx);
		if (!t)
			break;
		transfer_complete(t);
	}
	if (!ctx->freeing && !ctx->timeout_due && !ctx->q_head)
		uv_idle_stop(&ctx->idle);
}

static void idle_kick(struct http_ctx *ctx)
{
	if (ctx->freeing)
		return;
	if (!uv_is_active((uv_handle_t *)&ctx->idle))
		uv_idle_start(&ctx->idle, on_idle);
}

/* ---- libcurl callbacks (no libcurl calls in here except assign) --------- */

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct http_ctx *ctx = userp;
	struct http_sock *s = socketp;
	int events = 0, r;

	if (what == CURL_POLL_REMOVE) {
		if (s) {
			sock_close(s);
			/* The entry may come back for the same fd: it must then
			 * start from NULL and get a fresh handle. */
			if (!ctx->cleaning)
				(void)curl_multi_assign(ctx->multi, fd, NULL);
		}
		return 0;
	}
	if (ctx->cleaning)
		return 0;
	if (!s) {
		CURLMcode mc;

		s = calloc(1, sizeof(*s));
		if (!s)
			return -1;
		r = uv_poll_init_socket(ctx->loop, &s->poll, fd);
		if (r < 0) {
			/* UV_EEXIST would mean a second handle on one fd. */
			log_debug_errno(r, "uv_poll_init_socket(%d): %s", (int)fd, uv_strerror(r));
			free(s);
			return -1;
		}
		s->poll.data = s;
		s->ctx = ctx;
		s->fd = fd;
		s->next = ctx->socks;
		if (ctx->socks)
			ctx->socks->prev = s;
		ctx->socks = s;
		ctx->open_handles++;
		ctx->stats.sockets++;
		mc = curl_multi_assign(ctx->multi, fd, s);
		if (mc != CURLM_OK) {
			log_debug("curl_multi_assign: %s", curl_multi_strerror(mc));
			sock_close(s);
			return -1;
		}
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		events |= UV_READABLE;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		events |= UV_WRITABLE;
	r = uv_poll_start(&s->poll, events, on_poll);
	if (r < 0) {
		log_debug_errno(r, "uv_poll_start(%d): %s", (int)fd, uv_strerror(r));
		return -1;
	}
	return 0;
}

/* libcurl's doc: a single non-repeating timer, -1 deletes it, and 0 is a
 * real expiry that must not be served by calling libcurl from here.  On
 * libuv < 1.48 a 0 ms uv_timer re-armed from its own callback runs again in
 * the same timer pass (libuv#4245) and starves I/O, and a 1 ms floor costs
 * a millisecond per transfer (curl#17144); a uv_idle_t runs once on the next
 * iteration and makes that iteration's poll non-blocking, which is exactly
 * "as soon as possible, but not now". */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_ctx *ctx = userp;

	if (ctx->cleaning || ctx->freeing)
		return 0;
	if (timeout_ms < 0) {
		ctx->timeout_due = false;
		uv_timer_stop(&ctx->timer);
	} else if (timeout_ms == 0) {
		uv_timer_stop(&ctx->timer);
		ctx->timeout_due = true;
		idle_kick(ctx);
	} else {
		ctx->timeout_due = false;
		uv_timer_start(&ctx->timer, on_timer, (uint64_t)timeout_ms, 0);
	}
	return 0;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userp)
{
	struct http_transfer *t = userp;
	size_t n = size * nmemb;
	int r;

	r = dynbuf_append(&t->body, ptr, n);
	if (r == -E2BIG) {
		t->cap_error = HTTP_ERR_TOO_LARGE;
		snprintf(t->cap_text, sizeof(t->cap_text), "response body over %zu bytes", t->body.max);
		return 0;
	}
	if (r < 0) {
		t->cap_error = HTTP_ERR_OTHER;
		snprintf(t->cap_text, sizeof(t->cap_text), "out of memory for the response body");
		return 0;
	}
	return n;
}

static void headers_clear(struct http_transfer *t)
{
	for (size_t i = 0; i < t->n_headers; i++) {
		free(t->headers[i].name);
		free(t->headers[i].value);
	}
	t->n_headers = 0;
}

static size_t header_too_large(struct http_transfer *t, const char *what)
{
	t->cap_error = HTTP_ERR_TOO_LARGE;
	snprintf(t->cap_text, sizeof(t->cap_text), "response headers over %s", what);
	return 0;
}

/* Collects "name: value" lines.  A status line starts a new header block
 * (1xx interim responses), so only the final response's headers remain. */
static size_t on_header(char *buf, size_t size, size_t nmemb, void *userp)
{
	struct http_transfer *t = userp;
	size_t n = size * nmemb, len = n, name_len;
	const char *colon, *v, *end;
	struct http_header_kv *kv;
	char *name, *value;

	t->header_bytes += n;
	if (t->header_bytes > HTTP_MAX_RESPONSE_HEADER_BYTES)
		return header_too_large(t, "64 KiB");
	while (len > 0 && (buf[len - 1] == '\r' || buf[len - 1] == '\n'))
		len--;
	if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
		headers_clear(t);
		return n;
	}
	colon = len > 0 ? memchr(buf, ':', len) : NULL;
	/* Blank line, obsolete line folding or garbage: nothing to keep. */
	if (!colon || colon == buf || buf[0] == ' ' || buf[0] == '\t')
		return n;
	if (t->n_headers >= HTTP_MAX_RESPONSE_HEADERS)
		return header_too_large(t, "100 fields");

	name_len = (size_t)(colon - buf);
	v = colon + 1;
	end = buf + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	kv = realloc(t->headers, (t->n_headers + 1) * sizeof(*kv));
	if (!kv)
		return 0;
	t->headers = kv;
	name = strndup(buf, name_len);
	value = strndup(v, (size_t)(end - v));
	if (!name || !value) {
		free(name);
		free(value);
		return 0;
	}
	for (char *p = name; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	kv[t->n_headers].name = name;
	kv[t->n_headers].value = value;
	t->n_headers++;
	return n;
}

/* ---- context ------------------------------------------------------------ */

int http_ctx_new(struct uv_loop_s *loop, const struct http_ctx_options *opts, struct http_ctx **ret)
{
	struct http_ctx *ctx;
	unsigned max_conn, max_host;
	int r;

	if (!loop || !ret)
		return -EINVAL;
	r = global_init();
	if (r < 0)
		return r;
	r = ignore_sigpipe();
	if (r < 0)
		return log_debug_errno(r, "Cannot ignore SIGPIPE: %m");

	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->loop = loop;
	if (opts && opts->user_agent) {
		ctx->user_agent = strdup(opts->user_agent);
		if (!ctx->user_agent) {
			free(ctx);
			return -ENOMEM;
		}
	}
	ctx->multi = curl_multi_init();
	if (!ctx->multi) {
		free(ctx->user_agent);
		free(ctx);
		return -ENOMEM;
	}
	max_conn = opts && opts->max_connections ? opts->max_connections : HTTP_DEFAULT_MAX_CONNECTIONS;
	max_host = opts && opts->max_host_connections ? opts->max_host_connections : max_conn;
	if (max_host > max_conn)
		max_host = max_conn;
	curl_multi_setopt(ctx->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(ctx->multi, CURLMOPT_SOCKETDATA, ctx);
	curl_multi_setopt(ctx->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(ctx->multi, CURLMOPT_TIMERDATA, ctx);
	curl_multi_setopt(ctx->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)max_conn);
	curl_multi_setopt(ctx->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)max_host);
	/* The idle cache would otherwise grow to 4x the number of handles. */
	curl_multi_setopt(ctx->multi, CURLMOPT_MAXCONNECTS, (long)max_conn);

	/* Both handles are initialised last so that no failure path has to
	 * wait for a close callback. */
	uv_timer_init(loop, &ctx->timer);
	ctx->timer.data = ctx;
	uv_idle_init(loop, &ctx->idle);
	ctx->idle.data = ctx;
	ctx->open_handles = 2;
	*ret = ctx;
	return 0;
}

void http_ctx_free(struct http_ctx *ctx)
{
	struct http_transfer *t;

	if (!ctx || ctx->freeing)
		return;

	/* Cancel everything still running, then deliver every pending result
	 * now: the caller's objects may be gone after this returns.  New
	 * submits from these callbacks are refused. */
	for (t = ctx->transfers; t; t = t->next) {
		if (t->state != TRANSFER_RUNNING)
			continue;
		transfer_detach(t);
		response_set_error(t, HTTP_ERR_CANCELLED, "cancelled");
		t->resp.elapsed_ms = now_monotonic_ms() - t->start_ms;
		queue_push(ctx, t);
	}
	ctx->freeing = true;
	while ((t = queue_pop(ctx)))
		transfer_complete(t);

	/* Closing cached connections reports CURL_POLL_REMOVE for their
	 * sockets; the socket callback closes those poll handles. */
	ctx->cleaning = true;
	curl_multi_cleanup(ctx->multi);
	ctx->multi = NULL;
	while (ctx->socks)
		sock_close(ctx->socks);
	uv_close((uv_handle_t *)&ctx->timer, on_ctx_handle_closed);
	uv_close((uv_handle_t *)&ctx->idle, on_ctx_handle_closed);
}

unsigned http_ctx_inflight(const struct http_ctx *ctx)
{
	return ctx ? ctx->stats.inflight : 0;
}

void http_ctx_stats(const struct http_ctx *ctx, struct http_stats *ret)
{
	if (!ret)
		return;
	if (!ctx) {
		*ret = (struct http_stats){0};
		return;
	}
	*ret = ctx->stats;
}

/* ---- transfers ---------------------------------------------------------- */

static bool method_valid(const char *m)
{
	if (str_empty(m) || strlen(m) > 16)
		return false;
	for (const char *p = m; *p; p++)
		if (*p < 'A' || *p > 'Z')
			return false;
	return true;
}

static bool header_has_name(const char *h, const char *name)
{
	size_t n = strlen(name);
	return strncasecmp(h, name, n) == 0 && h[n] == ':';
}

/* Copies the caller's headers; refuses CR/LF (header injection) and adds
 * "Expect:" (libcurl's 100-continue wait costs a round trip on every POST)
 * and an Accept unless the caller has its own. */
static int build_headers(const struct http_request *req, struct curl_slist **ret)
{
	struct curl_slist *list = NULL, *l;
	bool have_accept = false, have_expect = false;
	size_t n = 0;

	for (const char *const *h = req->headers; h && *h; h++) {
		if (++n > HTTP_MAX_REQUEST_HEADERS || strpbrk(*h, "\r\n") || !strchr(*h, ':')) {
			curl_slist_free_all(list);
			return -EINVAL;
		}
		have_accept = have_accept || header_has_name(*h, "Accept");
		have_expect = have_expect || header_has_name(*h, "Expect");
		l = curl_slist_append(list, *h);
		if (!l)
			goto oom;
		list = l;
	}
	if (!have_expect) {
		l = curl_slist_append(list, "Expect:");
		if (!l)
			goto oom;
		list = l;
	}
	if (!have_accept) {
		l = curl_slist_append(list, "Accept: */*");
		if (!l)
			goto oom;
		list = l;
	}
	*ret = list;
	return 0;
oom:
	curl_slist_free_all(list);
	return -ENOMEM;
}

static int set_method(struct http_transfer *t, CURL *e, const struct http_request *req)
{
	const char *m = req->method ? req->method : "GET";
	bool has_body = req->body && req->body_len > 0;

	if (!method_valid(m))
		return -EINVAL;
	if (strcmp(m, "GET") == 0 && !has_body)
		return curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) == CURLE_OK ? 0 : -EINVAL;
	if (strcmp(m, "HEAD") == 0)
		return curl_easy_setopt(e, CURLOPT_NOBODY, 1L) == CURLE_OK ? 0 : -EINVAL;
	if (strcmp(m, "POST") == 0 || has_body) {
		/* Our own copy (libcurl's COPYPOSTFIELDS copy could not be
		 * wiped), sized explicitly so binary bodies are sent whole. */
		t->req_body_len = has_body ? req->body_len : 0;
		t->req_body = malloc(t->req_body_len + 1);
		if (!t->req_body)
			return -ENOMEM;
		if (t->req_body_len)
			memcpy(t->req_body, req->body, t->req_body_len);
		t->req_body[t->req_body_len] = '\0';
		if (curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->req_body_len) !=
			CURLE_OK ||
		    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->req_body) != CURLE_OK)
			return -ENOMEM;
	}
	if (strcmp(m, "POST") != 0 && curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m) != CURLE_OK)
		return -ENOMEM;
	return 0;
}

static int transfer_setup(struct http_transfer *t, const struct http_request *req)
{
	struct http_ctx *ctx = t->ctx;
	uint64_t timeout = req->timeout_ms ? req->timeout_ms : HTTP_DEFAULT_TIMEOUT_MS;
	uint64_t connect =
	    req->connect_timeout_ms ? req->connect_timeout_ms : HTTP_DEFAULT_CONNECT_TIMEOUT_MS;
	size_t max_body = req->max_body ? req->max_body : HTTP_DEFAULT_MAX_BODY;
	CURL *e = t->easy;
	CURLcode c = CURLE_OK;
	int r;

	if (connect > timeout)
		connect = timeout;
	if (timeout > (uint64_t)LONG_MAX)
		timeout = (uint64_t)LONG_MAX;
	dynbuf_init(&t->body, max_body);

	r = build_headers(req, &t->req_headers);
	if (r < 0)
		return r;
	r = set_method(t, e, req);
	if (r < 0)
		return r;

#define SET(opt, val)                                                                                       \
	do {                                                                                                \
		if (c == CURLE_OK)                                                                          \
			c = curl_easy_setopt(e, opt, val);                                                  \
	} while (0)
	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_PRIVATE, (void *)t);
	SET(CURLOPT_ERRORBUFFER, t->errbuf);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_TIMEOUT_MS, (long)timeout);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)connect);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_TCP_KEEPIDLE, 60L);
	SET(CURLOPT_TCP_KEEPINTVL, 30L);
	SET(CURLOPT_HTTPHEADER, t->req_headers);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, (void *)t);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, (void *)t);
	/* Refuses a body announced too large before reading any of it. */
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_body);
	if (req->http2) {
		SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
		SET(CURLOPT_PIPEWAIT, 1L);
	} else
		SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	if (req->ca_file)
		SET(CURLOPT_CAINFO, req->ca_file);
	if (req->no_proxy)
		SET(CURLOPT_NOPROXY, "*");
	if (ctx->user_agent)
		SET(CURLOPT_USERAGENT, ctx->user_agent);
#undef SET
	if (c != CURLE_OK)
		return log_debug_errno(EINVAL, "curl_easy_setopt: %s", curl_easy_strerror(c));
	return 0;
}

int http_submit(struct http_ctx *ctx, const struct http_request *req, http_done_fn done, void *userdata,
		struct http_transfer **ret)
{
	struct http_transfer *t;
	CURLMcode mc;
	int r;

	if (!ctx || !req || str_empty(req->url) || !done)
		return -EINVAL;
	if (ctx->freeing)
		return -ECANCELED;
	/* A submit from inside a libcurl callback cannot happen through this
	 * API (no caller code runs there), but would recurse if it did. */
	if (ctx->in_curl > 0)
		return -EDEADLK;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->ctx = ctx;
	t->done = done;
	t->userdata = userdata;
	t->start_ms = now_monotonic_ms();
	t->resp.body = empty_body;
	dynbuf_init(&t->body, 0);
	t->easy = curl_easy_init();
	if (!t->easy) {
		transfer_free(t);
		return -ENOMEM;
	}
	r = transfer_setup(t, req);
	if (r < 0) {
		transfer_free(t);
		return r;
	}
	ctx->in_curl++;
	mc = curl_multi_add_handle(ctx->multi, t->easy);
	ctx->in_curl--;
	if (mc != CURLM_OK) {
		transfer_free(t);
		return log_debug_errno(EIO, "curl_multi_add_handle: %s", curl_multi_strerror(mc));
	}
	t->in_multi = true;
	t->state = TRANSFER_RUNNING;
	t->next = ctx->transfers;
	if (ctx->transfers)
		ctx->transfers->prev = t;
	ctx->transfers = t;
	ctx->stats.started++;
	ctx->stats.inflight++;
	if (ret)
		*ret = t;
	return 0;
}

void http_transfer_cancel(struct http_transfer *t)
{
	if (!t)
		return;
	switch (t->state) {
	case TRANSFER_RUNNING:
		/* Removing the handle inside a libcurl call would recurse; the
		 * idle handle removes it then (transfer_complete). */
		if (t->ctx->in_curl == 0)
			transfer_detach(t);
		t->resp.elapsed_ms = now_monotonic_ms() - t->start_ms;
		response_set_error(t, HTTP_ERR_CANCELLED, "cancelled");
		queue_push(t->ctx, t);
		break;
	case TRANSFER_QUEUED:
		/* Finished but not yet reported: the caller asked for a
		 * cancel and has not seen a result, so it gets the cancel. */
		response_set_error(t, HTTP_ERR_CANCELLED, "cancelled");
		break;
	case TRANSFER_DISPATCHING:
		/* done() is running: the transfer is already finished. */
		break;
	}
}
