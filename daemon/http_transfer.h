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

enum transfer_state {
	TRANSFER_RUNNING,     /* attached to the multi handle (or about to be removed) */
	TRANSFER_QUEUED,      /* finished or cancelled; done() waits for the idle handle */
	TRANSFER_DISPATCHING, /* done() is running */
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
	struct list_node node;	    /* in ctx->transfers until freed */
	struct list_node done_node; /* in ctx->done while its result waits */
};

/* The body of a response that has none (never written). */
extern char http_empty_body[1];

/* Sets every option of t->easy for req: method, headers and body (copied
 * into t and wiped on release), timeouts, TLS verification, the body and
 * header callbacks with their caps.  user_agent may be NULL. */
int http_transfer_setup(struct http_transfer *t, const struct http_request *req, const char *user_agent);
/* What a finished transfer's CURLcode means for the caller. */
enum http_error http_transfer_map_error(struct http_transfer *t, CURLcode c);
/* Presents a result without a response (cancel, cap, transport error). */
void http_transfer_set_error(struct http_transfer *t, enum http_error e, const char *text);
/* Frees the easy handle and everything t owns (secrets wiped), then t. */
void http_transfer_free(struct http_transfer *t);

#endif
