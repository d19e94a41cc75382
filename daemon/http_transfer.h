/* http_transfer.h: one transfer of the http layer -- the libcurl easy
 * handle, its options and callbacks, and the mapping of its result.  Private
 * to http.c (the uv + curl glue) and http_transfer.c (curl only), so that
 * no file but http.c includes both libuv and libcurl. */
#ifndef JW_HTTP_TRANSFER_H
#define JW_HTTP_TRANSFER_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "http.h"
#include "list.h"
#include "util.h"

#define HTTP_DEFAULT_TIMEOUT_MS		15000u
#define HTTP_DEFAULT_CONNECT_TIMEOUT_MS 10000u
#define HTTP_DEFAULT_MAX_BODY		(1024u * 1024u)
#define HTTP_MAX_REQUEST_HEADERS	64u

/* The options a reused easy handle still has from its last transfer (a
 * GET without a body): when the next request has the same, only the URL,
 * the headers and the transfer's pointers are set again; otherwise the
 * handle is reset.  valid = false: a new or reset handle. */
struct http_easy_profile {
	bool valid;
	bool http2, no_proxy;
	uint64_t timeout_ms, connect_ms;
	size_t max_body;
	char *ca_file; /* owned */
};

enum transfer_state {
	TRANSFER_RUNNING,     /* attached to the multi handle (or about to be removed) */
	TRANSFER_QUEUED,      /* finished or cancelled; done() waits for the idle handle */
	TRANSFER_DISPATCHING, /* done() is running */
};

struct http_transfer {
	struct http_ctx *ctx;
	CURL *easy;
	struct http_easy_profile easy_prof; /* what easy has set */
	bool in_multi;
	enum transfer_state state;
	http_done_fn done;
	void *userdata;
	/* One block: the list nodes, then their strings (build_headers()). */
	struct curl_slist *req_headers;
	size_t req_headers_size;
	/* Our copy of the request body (libcurl only points at it), wiped when
	 * freed: it may hold a web identity token or other secrets. */
	char *req_body;
	size_t req_body_len;
	struct dynbuf body;
	struct dynbuf header_text;	/* "name\0value\0" per response header */
	struct http_header_kv *headers; /* into header_text, once finished */
	size_t n_headers;
	size_t header_bytes;
	enum http_error cap_error; /* set by our callbacks when they abort the transfer */
	char cap_text[96];	   /* why they did; libcurl only says "Failure writing output" */
	uint64_t start_ms;
	char errbuf[CURL_ERROR_SIZE];
	struct http_response resp;
	struct list_node node;	    /* in ctx->transfers until freed */
	struct list_node done_node; /* in ctx->done while its result waits */
};

/* The body of a response that has none (never written). */
extern char http_empty_body[1];

void http_easy_profile_clear(struct http_easy_profile *p);
/* Clears the options that point at the finished transfer, before the
 * handle waits in the pool with its other options kept. */
void http_easy_park(CURL *e);

/* Sets the options of t->easy for req: method, headers and body (copied
 * into t and wiped on release), timeouts, TLS verification, the body and
 * header callbacks with their caps.  user_agent may be NULL.  prof is what
 * t->easy still has set (see above), and becomes what it has now. */
int http_transfer_setup(struct http_transfer *t, const struct http_request *req, const char *user_agent,
			struct http_easy_profile *prof);
/* Points t->headers into the collected header text: once, when the
 * transfer has finished. */
int http_transfer_headers_index(struct http_transfer *t);
/* What a finished transfer's CURLcode means for the caller. */
enum http_error http_transfer_map_error(struct http_transfer *t, CURLcode c);
/* Presents a result without a response (cancel, cap, transport error). */
void http_transfer_set_error(struct http_transfer *t, enum http_error e, const char *text);
/* Frees the easy handle and everything t owns (secrets wiped), then t. */
void http_transfer_free(struct http_transfer *t);

#endif
