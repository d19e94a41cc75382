/* http.c: the glue between one libcurl multi handle and the libuv loop.
 *
 * This is the only file that includes both <uv.h> and <curl/curl.h>.  The
 * rules it follows (docs/internals/http.md has the reasons):
 *  - one uv_poll_t per socket, stored with curl_multi_assign(); on
 *    CURL_POLL_REMOVE it is parked (kept, watching for the peer's close) so
 *    that the next transfer on the same keep-alive connection costs no
 *    epoll_ctl(), and it is closed when libcurl closes the socket (our
 *    CURLOPT_CLOSESOCKETFUNCTION), before the fd number can be reused;
 *    freed only in its close callback;
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
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <uv.h>

#include "http_transfer.h"
#include "log.h"
#include "util.h"

#define HTTP_EASY_POOL_MAX	     256
#define HTTP_DEFAULT_MAX_CONNECTIONS 64u

struct http_sock {
	uv_poll_t poll;
	struct http_ctx *ctx;
	curl_socket_t fd;
	int events;	       /* UV_READABLE | UV_WRITABLE the handle watches; 0 = stopped */
	bool parked;	       /* libcurl dropped it (CURL_POLL_REMOVE) but has not closed it */
	bool tcp;	       /* a connection's socket, not the resolver's AF_UNIX pair */
	struct list_node node; /* in ctx->socks until closed */
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
	bool cleaning;		    /* inside curl_multi_cleanup() */
	struct list_node transfers; /* every transfer until freed */
	struct list_node done;	    /* finished transfers whose done() is due, in order */
	size_t q_len;
	struct list_node socks;
	/* The open socket of each fd (parked or not), for the next transfer on
	 * a kept-alive connection and for the close callback. */
	struct http_sock **by_fd;
	size_t by_fd_size;
	/* Easy handles of finished transfers, reset and kept for the next
	 * ones: creating one per request showed up in the profile. */
	struct {
		CURL *easy;
		struct http_easy_profile prof; /* the options it still has */
	} easy_pool[HTTP_EASY_POOL_MAX];
	size_t n_easy_pool;
	char *user_agent;
	struct http_stats stats;
};

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
	free(ctx->by_fd);
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

	list_del(&s->node);
	ctx->stats.sockets--;
	if ((size_t)s->fd < ctx->by_fd_size && ctx->by_fd[s->fd] == s)
		ctx->by_fd[s->fd] = NULL;
	uv_poll_stop(&s->poll);
	uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

/* ---- completion -------------------------------------------------------- */

static void idle_kick(struct http_ctx *ctx);

static void queue_push(struct http_ctx *ctx, struct http_transfer *t)
{
	t->state = TRANSFER_QUEUED;
	list_add_tail(&ctx->done, &t->done_node);
	ctx->q_len++;
	idle_kick(ctx);
}

static struct http_transfer *queue_pop(struct http_ctx *ctx)
{
	struct http_transfer *t = list_first_entry(&ctx->done, struct http_transfer, done_node);

	if (!t)
		return NULL;
	list_del(&t->done_node);
	ctx->q_len--;
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

	list_del(&t->node);
	ctx->stats.inflight--;
	/* transfer_detach() took it out of the multi handle: reusable. */
	if (t->easy && !t->in_multi && !ctx->freeing && ctx->n_easy_pool < HTTP_EASY_POOL_MAX) {
		/* A GET keeps its options for the next GET alike; anything
		 * else starts from a reset handle. */
		if (t->easy_prof.valid)
			http_easy_park(t->easy);
		else
			curl_easy_reset(t->easy);
		ctx->easy_pool[ctx->n_easy_pool].easy = t->easy;
		ctx->easy_pool[ctx->n_easy_pool].prof = t->easy_prof;
		ctx->n_easy_pool++;
		t->easy_prof = (struct http_easy_profile){0};
		t->easy = NULL;
	}
	http_transfer_free(t);
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
	e = http_transfer_map_error(t, c);
	transfer_detach(t);

	t->resp.status = e == HTTP_OK ? status : 0;
	t->resp.elapsed_ms = total_us > 0 ? (uint64_t)total_us / 1000u : 0;
	snprintf(t->resp.ip, sizeof(t->resp.ip), "%s", ip ? ip : "");
	t->resp.body = t->body.data ? t->body.data : http_empty_body;
	t->resp.body_len = t->body.len;
	if (http_transfer_headers_index(t) < 0)
		http_transfer_set_error(t, HTTP_ERR_OTHER, "out of memory for the response headers");
	else if (e == HTTP_OK) {
		t->resp.headers = t->headers;
		t->resp.n_headers = t->n_headers;
		http_transfer_set_error(t, e, "");
	} else if (c == CURLE_WRITE_ERROR && t->cap_error != HTTP_OK)
		http_transfer_set_error(t, e, t->cap_text);
	else
		http_transfer_set_error(t, e, t->errbuf[0] ? t->errbuf : curl_easy_strerror(c));
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

	if (s->parked) {
		/* An idle kept-alive connection that became readable: the peer
		 * closed it (or sent junk).  libcurl finds out when it next
		 * checks the connection; until then, no busy loop on it. */
		uv_poll_stop(h);
		s->events = 0;
		return;
	}
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
	if (!ctx->freeing && !ctx->timeout_due && list_empty(&ctx->done))
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

static int sock_remember(struct http_ctx *ctx, struct http_sock *s)
{
	size_t fd = (size_t)s->fd;

	if (fd >= ctx->by_fd_size) {
		size_t n = ctx->by_fd_size ? ctx->by_fd_size : 64;
		struct http_sock **a;

		while (n <= fd)
			n *= 2;
		a = realloc(ctx->by_fd, n * sizeof(*a));
		if (!a)
			return -ENOMEM;
		memset(a + ctx->by_fd_size, 0, (n - ctx->by_fd_size) * sizeof(*a));
		ctx->by_fd = a;
		ctx->by_fd_size = n;
	}
	ctx->by_fd[fd] = s;
	return 0;
}

/* libcurl also has us watch sockets that are not connections: the threaded
 * resolver's AF_UNIX socketpair, which it closes with a bare close() once
 * the name is resolved.  Only an IP socket can be a kept-alive connection. */
static bool sock_is_tcp(curl_socket_t fd)
{
	struct sockaddr_storage a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return false;
	return a.ss_family == AF_INET || a.ss_family == AF_INET6;
}

static struct http_sock *sock_open(struct http_ctx *ctx, curl_socket_t fd)
{
	struct http_sock *s;
	int r;

	if (fd < 0)
		return NULL;
	if ((size_t)fd < ctx->by_fd_size && ctx->by_fd[fd]) {
		/* A kept-alive connection's socket, parked since its last
		 * transfer: the handle (and its epoll registration) is reused. */
		s = ctx->by_fd[fd];
		s->parked = false;
		return s;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	r = uv_poll_init_socket(ctx->loop, &s->poll, fd);
	if (r < 0) {
		/* UV_EEXIST would mean a second handle on one fd. */
		log_debug_errno(r, "uv_poll_init_socket(%d): %s", (int)fd, uv_strerror(r));
		free(s);
		return NULL;
	}
	s->poll.data = s;
	s->ctx = ctx;
	s->fd = fd;
	s->tcp = sock_is_tcp(fd);
	list_add_head(&ctx->socks, &s->node);
	ctx->open_handles++;
	ctx->stats.sockets++;
	if (sock_remember(ctx, s) < 0) {
		sock_close(s);
		return NULL;
	}
	return s;
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct http_ctx *ctx = userp;
	struct http_sock *s = socketp;
	int events = 0, r;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (!s)
			return 0;
		/* The entry may come back for the same fd: libcurl then
		 * starts from NULL (and sock_open() finds a parked handle).
		 * Only a connection that was waiting for an answer is parked:
		 * it is established, and libcurl 7.88 closes established
		 * sockets through our close callback.  A socket that was still
		 * connecting (waiting to be writable) may be a losing attempt,
		 * which libcurl closes without the callback (cf-socket.c,
		 * "not active"): its handle goes now, while the fd is open;
		 * so does the resolver's socketpair's (not a TCP socket). */
		if (ctx->cleaning || s->events != UV_READABLE || !s->tcp) {
			sock_close(s);
			if (!ctx->cleaning)
				(void)curl_multi_assign(ctx->multi, fd, NULL);
			return 0;
		}
		(void)curl_multi_assign(ctx->multi, fd, NULL);
		s->parked = true;
		return 0;
	}
	if (ctx->cleaning)
		return 0;
	if (!s) {
		CURLMcode mc;

		s = sock_open(ctx, fd);
		if (!s)
			return -1;
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
	/* uv_poll_start() always takes the fd out of epoll and puts it back
	 * (two system calls): only when the set changes. */
	if (events == s->events)
		return 0;
	r = uv_poll_start(&s->poll, events, on_poll);
	if (r < 0) {
		s->events = 0;
		log_debug_errno(r, "uv_poll_start(%d): %s", (int)fd, uv_strerror(r));
		return -1;
	}
	s->events = events;
	return 0;
}

/* libcurl closes every connection socket through this (set on each easy
 * handle, kept by the connection): the socket's handle is closed first,
 * so no handle outlives its fd and a reused fd number starts afresh. */
static int on_curl_closesocket(void *clientp, curl_socket_t fd)
{
	struct http_ctx *ctx = clientp;

	if (fd >= 0 && (size_t)fd < ctx->by_fd_size && ctx->by_fd[fd])
		sock_close(ctx->by_fd[fd]);
	return close(fd);
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

/* ---- context ------------------------------------------------------------ */

void http_ctx_set_limits(struct http_ctx *ctx, unsigned max_connections, unsigned max_host_connections)
{
	unsigned max_conn = max_connections ? max_connections : HTTP_DEFAULT_MAX_CONNECTIONS;
	unsigned max_host = max_host_connections ? max_host_connections : max_conn;

	if (max_host > max_conn)
		max_host = max_conn;
	curl_multi_setopt(ctx->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)max_conn);
	curl_multi_setopt(ctx->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)max_host);
	/* The idle cache would otherwise grow to 4x the number of handles. */
	curl_multi_setopt(ctx->multi, CURLMOPT_MAXCONNECTS, (long)max_conn);
}

int http_ctx_new(struct uv_loop_s *loop, const struct http_ctx_options *opts, struct http_ctx **ret)
{
	struct http_ctx *ctx;
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
	list_init(&ctx->transfers);
	list_init(&ctx->done);
	list_init(&ctx->socks);
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
	curl_multi_setopt(ctx->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(ctx->multi, CURLMOPT_SOCKETDATA, ctx);
	curl_multi_setopt(ctx->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(ctx->multi, CURLMOPT_TIMERDATA, ctx);
	http_ctx_set_limits(ctx, opts ? opts->max_connections : 0, opts ? opts->max_host_connections : 0);

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
	struct list_node *n;

	if (!ctx || ctx->freeing)
		return;

	/* Cancel everything still running, then deliver every pending result
	 * now: the caller's objects may be gone after this returns.  New
	 * submits from these callbacks are refused. */
	list_for_each(n, &ctx->transfers) {
		t = container_of(n, struct http_transfer, node);
		if (t->state != TRANSFER_RUNNING)
			continue;
		transfer_detach(t);
		http_transfer_set_error(t, HTTP_ERR_CANCELLED, "cancelled");
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
	while (ctx->n_easy_pool) {
		ctx->n_easy_pool--;
		curl_easy_cleanup(ctx->easy_pool[ctx->n_easy_pool].easy);
		http_easy_profile_clear(&ctx->easy_pool[ctx->n_easy_pool].prof);
	}
	ctx->multi = NULL;
	while (!list_empty(&ctx->socks))
		sock_close(list_first_entry(&ctx->socks, struct http_sock, node));
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
	t->resp.body = http_empty_body;
	dynbuf_init(&t->body, 0);
	dynbuf_init(&t->header_text, 2 * HTTP_MAX_RESPONSE_HEADER_BYTES);
	if (ctx->n_easy_pool) {
		ctx->n_easy_pool--;
		t->easy = ctx->easy_pool[ctx->n_easy_pool].easy;
		t->easy_prof = ctx->easy_pool[ctx->n_easy_pool].prof;
	} else
		t->easy = curl_easy_init();
	if (!t->easy) {
		http_transfer_free(t);
		return -ENOMEM;
	}
	r = http_transfer_setup(t, req, ctx->user_agent, &t->easy_prof);
	if (r >= 0 &&
	    (curl_easy_setopt(t->easy, CURLOPT_CLOSESOCKETFUNCTION, on_curl_closesocket) != CURLE_OK ||
	     curl_easy_setopt(t->easy, CURLOPT_CLOSESOCKETDATA, (void *)ctx) != CURLE_OK))
		r = -EINVAL;
	if (r < 0) {
		http_transfer_free(t);
		return r;
	}
	ctx->in_curl++;
	mc = curl_multi_add_handle(ctx->multi, t->easy);
	ctx->in_curl--;
	if (mc != CURLM_OK) {
		http_transfer_free(t);
		return log_debug_errno(EIO, "curl_multi_add_handle: %s", curl_multi_strerror(mc));
	}
	t->in_multi = true;
	t->state = TRANSFER_RUNNING;
	list_add_head(&ctx->transfers, &t->node);
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
		http_transfer_set_error(t, HTTP_ERR_CANCELLED, "cancelled");
		queue_push(t->ctx, t);
		break;
	case TRANSFER_QUEUED:
		/* Finished but not yet reported: the caller asked for a
		 * cancel and has not seen a result, so it gets the cancel. */
		http_transfer_set_error(t, HTTP_ERR_CANCELLED, "cancelled");
		break;
	case TRANSFER_DISPATCHING:
		/* done() is running: the transfer is already finished. */
		break;
	}
}
