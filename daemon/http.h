/* The http layer: the only module that knows both libuv and libcurl.
 *
 * One struct http_ctx per process owns one curl multi handle driven by the
 * libuv loop.  Every request in the process -- API polls, credential fetches,
 * webhook deliveries -- is a transfer here.  The caller admits requests (an
 * in-flight cap is the caller's business; http_ctx_inflight() tells), so
 * libcurl never queues and timeouts measure the request itself.
 *
 * Callbacks run on the loop, never from inside a libcurl callback, so a
 * completion callback may submit new requests or cancel others.
 */
#ifndef JW_HTTP_H
#define JW_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uv_loop_s;
struct http_ctx;
struct http_transfer;

/* Transport-level outcome; HTTP status codes are in http_response.status. */
enum http_error {
	HTTP_OK = 0,	    /* a complete HTTP response arrived (any status) */
	HTTP_ERR_RESOLVE,   /* DNS failure */
	HTTP_ERR_CONNECT,   /* connection refused / unreachable / connect timeout */
	HTTP_ERR_TLS,	    /* handshake or verification failure (wrong CA, host name) */
	HTTP_ERR_TIMEOUT,   /* total timeout elapsed */
	HTTP_ERR_RESET,	    /* connection reset / closed mid-response, truncated body */
	HTTP_ERR_TOO_LARGE, /* body or headers over the cap */
	HTTP_ERR_CANCELLED, /* http_transfer_cancel() or context shutdown */
	HTTP_ERR_OTHER,
	_HTTP_ERR_MAX,
	HTTP_ERR_INVALID = -1,
};
const char *http_error_to_string(enum http_error e);

struct http_ctx_options {
	unsigned max_connections;      /* total connection cap (CURLMOPT_MAX_TOTAL_CONNECTIONS) */
	unsigned max_host_connections; /* 0 = same as max_connections */
	const char *user_agent;	       /* default User-Agent; copied */
};

/* Creates the context on loop (borrowed; must outlive the context). */
int http_ctx_new(struct uv_loop_s *loop, const struct http_ctx_options *opts, struct http_ctx **ret);
/* Cancels every transfer (their callbacks run with HTTP_ERR_CANCELLED before
 * this returns) and releases the context once its libuv handles are closed;
 * the loop must run afterwards for the close callbacks.  NULL-safe. */
void http_ctx_free(struct http_ctx *ctx);
/* New connection limits (0: the default); transfers already running keep
 * their connections, new ones obey the limits. */
void http_ctx_set_limits(struct http_ctx *ctx, unsigned max_connections, unsigned max_host_connections);
unsigned http_ctx_inflight(const struct http_ctx *ctx);
/* Checks that libcurl resolves names asynchronously and has HTTP/2; logs. */
int http_global_check(void);

struct http_request {
	const char *method; /* "GET", "POST", "PUT" */
	const char *url;
	/* NULL-terminated array of "Name: value" strings.  Copied at submit. */
	const char *const *headers;
	const void *body; /* copied at submit; may be NULL */
	size_t body_len;
	uint64_t timeout_ms;	     /* total; 0 = 15 s */
	uint64_t connect_timeout_ms; /* 0 = min(timeout, 10 s) */
	size_t max_body;	     /* response body cap; 0 = 1 MiB */
	const char *ca_file;	     /* extra CA bundle (PEM); NULL = system store */
	bool http2;		     /* prefer HTTP/2 over TLS (PIPEWAIT) */
	/* Credential endpoints (IMDS, container) are plain http on link-local
	 * addresses: when set, no proxy env vars are honoured. */
	bool no_proxy;
};

struct http_header_kv {
	char *name; /* lower-cased */
	char *value;
};

struct http_response {
	enum http_error error;
	char error_text[256]; /* libcurl's message for transport errors; never contains secrets */
	long status;	      /* HTTP status, 0 when no response */
	char *body;	      /* NUL-terminated; may be "" */
	size_t body_len;
	struct http_header_kv *headers;
	size_t n_headers;
	uint64_t elapsed_ms;
	char ip[64]; /* primary IP, for logs */
};
/* Case-insensitive lookup; returns the first value or NULL.  Borrowed. */
const char *http_response_header(const struct http_response *r, const char *name);

/* Called exactly once per submitted transfer, on the loop.  resp is borrowed
 * for the duration of the call. */
typedef void (*http_done_fn)(void *userdata, const struct http_response *resp);

/* Submits a request.  On success *ret (optional) is a handle usable with
 * http_transfer_cancel() until done() has run.  Returns negative errno if the
 * request could not be started (then done() is not called). */
int http_submit(struct http_ctx *ctx, const struct http_request *req, http_done_fn done, void *userdata,
		struct http_transfer **ret);
/* Cancels: done() runs with HTTP_ERR_CANCELLED from the next loop turn. */
void http_transfer_cancel(struct http_transfer *t);

/* Counters for /metrics.  A snapshot; cheap to take. */
struct http_stats {
	uint64_t started;	   /* transfers submitted */
	uint64_t completed;	   /* done() ran with HTTP_OK (any HTTP status) */
	uint64_t failed_transport; /* done() ran with a transport error (not a cancel) */
	uint64_t cancelled;	   /* done() ran with HTTP_ERR_CANCELLED */
	unsigned inflight;	   /* submitted, done() not yet run */
	unsigned sockets;	   /* sockets libcurl currently has us watch */
};
void http_ctx_stats(const struct http_ctx *ctx, struct http_stats *ret);

/* Caps on response headers; over either is HTTP_ERR_TOO_LARGE. */
#define HTTP_MAX_RESPONSE_HEADERS      100
#define HTTP_MAX_RESPONSE_HEADER_BYTES (64u * 1024u)

#endif
