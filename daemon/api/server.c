/* The listener: libmicrohttpd driven from the daemon's libuv loop, request
 * routing, authentication; the handlers are in handlers.c.  The only file
 * that includes both <uv.h> and <microhttpd.h>. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>
#include <uv.h>

#include "api/guard.h"
#include "api/handlers.h"
#include "api/listen.h"
#include "api/render.h"
#include "config.h"
#include "kinds.h"
#include "log.h"
#include "util.h"

/* The limits a client meets (jobwatchd(8) lists them): 64
 * connections, 8 from one address, a request head within 5 s of connecting
 * or of the previous answer, and no more than 10 s of silence while a body
 * is read or an answer written. */
#define API_MAX_CONNECTIONS    64
#define API_MAX_PER_ADDRESS    8
#define API_HEADER_DEADLINE_MS 5000
#define API_IDLE_TIMEOUT_S     10
#define API_TLS_FILE_MAX       (1u << 20)
/* libmicrohttpd runs at least this often whatever it says about its
 * timeout: at the connection limit it takes the listening socket out of its
 * epoll set and puts it back only inside a later MHD_run(), so a server
 * that waited for an event after its last connection closed would never
 * accept again (issue #20). */
#define API_FALLBACK_MS 1000

struct api {
	uv_loop_t *loop;
	struct api_state st; /* what the handlers use */
	struct MHD_Daemon *mhd;
	uv_poll_t poll;
	uv_timer_t timer;
	unsigned open_handles;
	bool freeing;
	struct api_guard guard;

	enum config_listen_kind kind;
	char *unix_path; /* NULL for TCP */
	dev_t unix_dev;
	ino_t unix_ino;
	unsigned port;
	/* TCP only; never logged.  token is the control token (everything),
	 * metrics_token may read /metrics and /healthz only. */
	char *token;
	char *metrics_token;
	char *tls_cert; /* PEM, NULL without TLS */
	char *tls_key;
};

__attribute__((format(printf, 2, 0))) static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	log_debug("microhttpd: %s", buf);
}

static bool is_get(const char *method)
{
	return strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

static void route(struct api *a, struct MHD_Connection *conn, const char *url, const char *method,
		  const struct api_request *req, struct api_reply *rp)
{
	static const char jobs_prefix[] = "/v1/jobs/";
	static const char hooks_prefix[] = "/v1/webhooks";

	if (strcmp(url, "/metrics") == 0 || strcmp(url, "/healthz") == 0) {
		if (!is_get(method)) {
			reply_error(rp, 405, "method not allowed");
			rp->allow = "GET, HEAD";
			return;
		}
		if (url[1] == 'm')
			api_handle_metrics(&a->st, rp);
		else
			api_handle_healthz(&a->st, rp);
		return;
	}
	if (strcmp(url, "/v1/jobs") == 0 || strcmp(url, "/v1/jobs/") == 0) {
		if (is_get(method))
			api_handle_jobs_list(&a->st, conn, rp);
		else if (strcmp(method, MHD_HTTP_METHOD_POST) == 0)
			api_handle_job_post(&a->st, req, rp);
		else {
			reply_error(rp, 405, "method not allowed");
			rp->allow = "GET, HEAD, POST";
		}
		return;
	}
	if (strncmp(url, jobs_prefix, sizeof(jobs_prefix) - 1) == 0) {
		/* microhttpd has percent-decoded the path, so both the encoded
		 * and the raw form of an ARN (with its ':' and '/') arrive here
		 * the same. */
		const char *arn = url + sizeof(jobs_prefix) - 1;

		if (resource_kind_from_arn(arn, NULL) == KIND_INVALID) {
			reply_error(rp, 400,
				    "not an audience generation job ARN nor one of another watched kind");
			return;
		}
		if (is_get(method))
			api_handle_job_get(&a->st, conn, arn, rp);
		else if (strcmp(method, MHD_HTTP_METHOD_DELETE) == 0)
			api_handle_job_delete(&a->st, conn, arn, rp);
		else {
			reply_error(rp, 405, "method not allowed");
			rp->allow = "GET, HEAD, DELETE";
		}
		return;
	}
	if (strcmp(url, "/v1/sinks") == 0) {
		if (is_get(method)) {
			api_handle_sinks(&a->st, rp);
		} else {
			reply_error(rp, 405, "method not allowed");
			rp->allow = "GET, HEAD";
		}
		return;
	}
	if (strncmp(url, hooks_prefix, sizeof(hooks_prefix) - 1) == 0) {
		api_handle_hooks_retry(&a->st, url + sizeof(hooks_prefix) - 1, method, rp);
		return;
	}
	reply_error(rp, 404, "not found");
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, struct api_reply *rp)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t len = rp->body.len;
	char *data = len ? dynbuf_take(&rp->body) : NULL;

	resp = data ? MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE)
		    : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(data);
		free(rp->location);
		return MHD_NO;
	}
	if (rp->content_type && len)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rp->content_type);
	if (rp->allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rp->allow);
	if (rp->location)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, rp->location);
	if (rp->www_authenticate)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	if (rp->close)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	if (rp->retry_after) {
		char ra[16];

		snprintf(ra, sizeof(ra), "%u", rp->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(conn, rp->status, resp);
	MHD_destroy_response(resp);
	free(rp->location);
	dynbuf_free(&rp->body);
	return ret;
}

/* 0 when the request may go on, else the status to refuse it with.  On
 * TCP the control token may do everything; the metrics token only what a
 * scraper or a load balancer needs, so a leaked scraper token cannot
 * change the watch set.  The unix socket's file mode is its access
 * control. */
static unsigned authorize(struct api *a, struct MHD_Connection *conn, const char *url, const char *method)
{
	const char *auth;
	bool read_only;

	if (!a->token)
		return 0;
	auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (api_bearer_ok(auth, a->token))
		return 0;
	if (!a->metrics_token || !api_bearer_ok(auth, a->metrics_token))
		return 401;
	read_only = is_get(method) && (strcmp(url, "/metrics") == 0 || strcmp(url, "/healthz") == 0);
	return read_only ? 0 : 403;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct api *a = cls;
	struct api_request *req = *con_cls;
	struct api_reply rp;

	if (!req) {
		unsigned status;

		api_guard_request_head(conn);
		/* The credentials are checked on the first callback, before a
		 * byte of the body is read: a client without them gets its
		 * 401 at once and the connection is closed, instead of the
		 * server reading (and dropping) whatever it sends first. */
		status = authorize(a, conn, url, method);
		if (status != 0) {
			reply_init(&rp);
			reply_error(&rp, status,
				    status == 401 ? "missing or wrong bearer token"
						  : "this token may only read /metrics and /healthz");
			rp.www_authenticate = status == 401;
			rp.close = true;
			return send_reply(conn, &rp);
		}
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		dynbuf_init(&req->body, API_BODY_MAX);
		*con_cls = req;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		/* Past the cap the rest is read and dropped: the answer is a
		 * 400, and the connection stays usable. */
		if (!req->too_large && dynbuf_append(&req->body, upload_data, *upload_data_size) < 0) {
			req->too_large = true;
			dynbuf_free(&req->body);
			dynbuf_init(&req->body, API_BODY_MAX);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}

	reply_init(&rp);
	route(a, conn, url, method, req, &rp);
	return send_reply(conn, &rp);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct api_request *req = *con_cls;

	api_guard_request_done(conn, now_monotonic_ms());
	if (!req)
		return;
	dynbuf_free(&req->body);
	free(req);
	*con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct api *a = cls;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		/* Without a record the connection has no head deadline; it
		 * still has the idle timeout. */
		if (api_guard_conn_started(&a->guard, conn, socket_context, now_monotonic_ms()) < 0)
			log_debug("http: out of memory tracking a connection");
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		api_guard_conn_closed(&a->guard, socket_context);
	}
}

/* ---- loop glue ---- */

static void api_timer_cb(uv_timer_t *t);

static void api_arm(struct api *a)
{
	MHD_UNSIGNED_LONG_LONG to = 0;

	if (a->freeing)
		return;
	if (MHD_get_timeout(a->mhd, &to) != MHD_YES || to > API_FALLBACK_MS)
		to = API_FALLBACK_MS;
	uv_timer_start(&a->timer, api_timer_cb, to, 0);
}

/* The deadlines are checked on every run, not only when the timer fires:
 * clients that keep sending keep the poll callback busy and would push the
 * timer back for ever. */
static void api_run(struct api *a)
{
	unsigned n;

	if (a->freeing)
		return;
	n = api_guard_expire(&a->guard, now_monotonic_ms());
	if (n > 0)
		log_debug("http: closing %u connection(s) that sent no complete request within %u ms", n,
			  API_HEADER_DEADLINE_MS);
	if (MHD_run(a->mhd) != MHD_YES)
		log_debug("http: MHD_run failed");
	api_arm(a);
}

static void api_poll_cb(uv_poll_t *p, int status, int events)
{
	api_run(p->data);
}

static void api_timer_cb(uv_timer_t *t)
{
	api_run(t->data);
}

static void handle_closed(uv_handle_t *h)
{
	struct api *a = h->data;

	if (--a->open_handles == 0) {
		api_guard_done(&a->guard);
		free(a);
	}
}

/* The tokens and TLS files of a TCP listener.  Off loopback a listener
 * without TLS is refused: the tokens would cross the network in clear
 * (the configuration check says so first, with the file and line). */
static int tcp_setup(struct api *a, const struct api_options *opt, const char *host)
{
	size_t len;
	int r;

	if (!opt->token_file)
		return log_error_errno(-EINVAL, "http: a TCP listener needs [http] token_file");
	r = api_read_token(opt->token_file, "token_file", &a->token);
	if (r >= 0 && opt->metrics_token_file)
		r = api_read_token(opt->metrics_token_file, "metrics_token_file", &a->metrics_token);
	if (r < 0)
		return r;
	if (!opt->cert_file != !opt->key_file)
		return log_error_errno(-EINVAL, "http: TLS needs both cert_file and key_file");
	if (!opt->cert_file) {
		if (!config_host_is_loopback(host))
			return log_error_errno(-EPERM,
					       "http: refusing to serve plain HTTP on %s, which is not "
					       "a loopback address: set cert_file and key_file",
					       str_empty(host) ? "*" : host);
		return 0;
	}
	if (!MHD_is_feature_supported(MHD_FEATURE_TLS))
		return log_error_errno(-EOPNOTSUPP, "http: this libmicrohttpd has no TLS support");
	r = read_file_capped(opt->cert_file, API_TLS_FILE_MAX, &a->tls_cert, &len);
	if (r < 0)
		return log_error_errno(r, "http: cannot read cert_file %s: %m", opt->cert_file);
	r = read_file_capped(opt->key_file, API_TLS_FILE_MAX, &a->tls_key, &len);
	if (r < 0)
		return log_error_errno(r, "http: cannot read key_file %s: %m", opt->key_file);
	return 0;
}

int api_new(struct uv_loop_s *loop, const struct api_options *opt, const struct api_context *ctx,
	    struct api **ret)
{
	struct MHD_OptionItem tls[3] = {
	    {MHD_OPTION_END, 0, NULL}, {MHD_OPTION_END, 0, NULL}, {MHD_OPTION_END, 0, NULL}};
	const union MHD_DaemonInfo *info;
	const char *reason = NULL;
	char *host = NULL;
	unsigned port = 0;
	struct api *a;
	int r, fd = -1;

	const char *listen_spec = opt ? opt->listen : NULL;

	if (!loop || !listen_spec || !ctx || !ret)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return log_error_errno(-ENOMEM, "out of memory");
	a->loop = loop;
	a->st.ctx = ctx;
	api_guard_init(&a->guard, API_HEADER_DEADLINE_MS);
	api_rate_init(&a->st.post_rate, API_POST_RATE, API_POST_BURST, now_monotonic_ms());
	r = config_listen_parse(listen_spec, &a->kind, &host, &port, &reason);
	if (r < 0) {
		free(a);
		return log_error_errno(r, "http: invalid listen address: %s",
				       reason ? reason : "out of memory");
	}
	if (a->kind == CONFIG_LISTEN_UNIX) {
		r = api_listen_unix(host, &a->unix_dev, &a->unix_ino, &fd);
		if (r >= 0)
			a->unix_path = host;
		else
			free(host);
	} else {
		r = tcp_setup(a, opt, host);
		if (r >= 0)
			r = api_listen_tcp(host, port, &a->port, &fd);
		free(host);
	}
	if (r < 0)
		goto fail;

	if (a->tls_cert) {
		tls[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, a->tls_cert};
		tls[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, a->tls_key};
	}
	/* The per-address limit applies to TCP peers; on the unix socket
	 * the file mode decides who may connect at all. */
	a->mhd = MHD_start_daemon(
	    MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (a->tls_cert ? MHD_USE_TLS : 0), 0, NULL, NULL, on_request,
	    a, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, a, MHD_OPTION_ARRAY, tls, MHD_OPTION_LISTEN_SOCKET,
	    (MHD_socket)fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_MAX_CONNECTIONS,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)API_MAX_PER_ADDRESS, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)API_IDLE_TIMEOUT_S, MHD_OPTION_NOTIFY_COMPLETED, on_completed, a,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, a, MHD_OPTION_END);
	if (!a->mhd) {
		close(fd);
		r = log_error_errno(-EIO, "http: cannot start the HTTP server");
		goto fail;
	}
	info = MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0) {
		MHD_stop_daemon(a->mhd);
		r = log_error_errno(-EIO, "http: the HTTP server has no epoll descriptor");
		goto fail;
	}
	r = uv_poll_init(loop, &a->poll, info->epoll_fd);
	if (r < 0) {
		MHD_stop_daemon(a->mhd);
		r = log_error_errno(r, "http: cannot watch the HTTP server: %m");
		goto fail;
	}
	a->poll.data = a;
	a->open_handles++;
	uv_timer_init(loop, &a->timer);
	a->timer.data = a;
	a->open_handles++;
	uv_poll_start(&a->poll, UV_READABLE, api_poll_cb);
	api_arm(a);
	if (a->kind == CONFIG_LISTEN_UNIX)
		log_info("http: listening on unix:%s", a->unix_path);
	else
		log_info("http: listening on %s (port %u, %s, bearer token required%s)", listen_spec,
			 a->port, a->tls_cert ? "TLS" : "plain HTTP on loopback",
			 a->metrics_token ? ", a read-only token for /metrics and /healthz" : "");
	*ret = a;
	return 0;
fail:
	if (a->unix_path)
		unlink(a->unix_path);
	free(a->unix_path);
	secret_free(a->token);
	secret_free(a->metrics_token);
	free(a->tls_cert);
	secret_free(a->tls_key);
	free(a);
	return r;
}

struct api *api_free(struct api *a)
{
	struct stat st;

	if (!a || a->freeing)
		return NULL;
	a->freeing = true;
	/* libuv must forget the epoll fd before microhttpd closes it. */
	uv_close((uv_handle_t *)&a->poll, handle_closed);
	uv_close((uv_handle_t *)&a->timer, handle_closed);
	MHD_stop_daemon(a->mhd);
	a->mhd = NULL;
	/* Only our own socket file: a newer daemon may have replaced it. */
	if (a->unix_path && stat(a->unix_path, &st) == 0 && st.st_dev == a->unix_dev &&
	    st.st_ino == a->unix_ino)
		unlink(a->unix_path);
	free(a->unix_path);
	a->unix_path = NULL;
	secret_free(a->token);
	a->token = NULL;
	secret_free(a->metrics_token);
	a->metrics_token = NULL;
	free(a->tls_cert);
	a->tls_cert = NULL;
	secret_free(a->tls_key);
	a->tls_key = NULL;
	return NULL;
}

unsigned api_port(const struct api *a)
{
	return a ? a->port : 0;
}
