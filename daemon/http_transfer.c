/* http_transfer.c: the libcurl side of one transfer -- options, the body
 * and header callbacks with their caps, error mapping.  No libuv here; the
 * loop glue is http.c. */
#include "http_transfer.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

char http_empty_body[1];

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

void http_transfer_free(struct http_transfer *t)
{
	if (!t)
		return;
	if (t->easy)
		curl_easy_cleanup(t->easy);
	http_easy_profile_clear(&t->easy_prof);
	/* Request headers carry Authorization and session tokens. */
	if (t->req_headers) {
		explicit_bzero(t->req_headers, t->req_headers_size);
		free(t->req_headers);
	}
	if (t->req_body) {
		explicit_bzero(t->req_body, t->req_body_len);
		free(t->req_body);
	}
	dynbuf_free(&t->body);
	dynbuf_free(&t->header_text);
	free(t->headers);
	free(t);
}

void http_transfer_set_error(struct http_transfer *t, enum http_error e, const char *text)
{
	t->resp.error = e;
	snprintf(t->resp.error_text, sizeof(t->resp.error_text), "%s", text);
	if (e != HTTP_OK) {
		t->resp.status = 0;
		t->resp.body = http_empty_body;
		t->resp.body_len = 0;
		t->resp.headers = NULL;
		t->resp.n_headers = 0;
	}
}

enum http_error http_transfer_map_error(struct http_transfer *t, CURLcode c)
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

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userp)
{
	struct http_transfer *t = userp;
	size_t n = size * nmemb;
	int r;

	/* Most answers are a few hundred bytes to a few KiB: one allocation
	 * rather than doubling from 64. */
	if (t->body.alloc == 0 && n < 2048)
		(void)dynbuf_reserve(&t->body, t->body.max < 2048 ? t->body.max : 2048);
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

static size_t header_too_large(struct http_transfer *t, const char *what)
{
	t->cap_error = HTTP_ERR_TOO_LARGE;
	snprintf(t->cap_text, sizeof(t->cap_text), "response headers over %s", what);
	return 0;
}

/* Collects "name: value" lines into one buffer of "name\0value\0" pairs
 * (http_transfer_headers_index() points the array into it at the end).  A
 * status line starts a new header block (1xx interim responses), so only
 * the final response's headers remain. */
static size_t on_header(char *buf, size_t size, size_t nmemb, void *userp)
{
	struct http_transfer *t = userp;
	size_t n = size * nmemb, len = n, name_len, at;
	const char *colon, *v, *end;

	t->header_bytes += n;
	if (t->header_bytes > HTTP_MAX_RESPONSE_HEADER_BYTES)
		return header_too_large(t, "64 KiB");
	while (len > 0 && (buf[len - 1] == '\r' || buf[len - 1] == '\n'))
		len--;
	if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
		dynbuf_reset(&t->header_text);
		t->n_headers = 0;
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
	at = t->header_text.len;
	if (dynbuf_append(&t->header_text, buf, name_len) < 0 || dynbuf_append(&t->header_text, "", 1) < 0 ||
	    dynbuf_append(&t->header_text, v, (size_t)(end - v)) < 0 ||
	    dynbuf_append(&t->header_text, "", 1) < 0)
		return 0;
	for (char *p = t->header_text.data + at; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	t->n_headers++;
	return n;
}

int http_transfer_headers_index(struct http_transfer *t)
{
	const char *p = t->header_text.data;

	if (t->n_headers == 0)
		return 0;
	t->headers = calloc(t->n_headers, sizeof(*t->headers));
	if (!t->headers) {
		t->n_headers = 0;
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->n_headers; i++) {
		t->headers[i].name = (char *)p;
		p += strlen(p) + 1;
		t->headers[i].value = (char *)p;
		p += strlen(p) + 1;
	}
	return 0;
}

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

/* Copies the caller's headers into one block -- the list nodes, then the
 * strings -- so that a request costs one allocation and one wipe; refuses
 * CR/LF (header injection) and adds "Expect:" (libcurl's 100-continue wait
 * costs a round trip on every POST) and an Accept unless the caller has its
 * own.  libcurl only reads the list (CURLOPT_HTTPHEADER); it is ours. */
static int build_headers(const struct http_request *req, struct curl_slist **ret, size_t *ret_size)
{
	static const char expect[] = "Expect:", accept[] = "Accept: */*";
	/* Only a request with a body can make libcurl wait for a 100. */
	bool have_accept = false, have_expect = !(req->body && req->body_len > 0);
	size_t n = 0, text = 0, size, k = 0;
	struct curl_slist *nodes;
	char *p;

	for (const char *const *h = req->headers; h && *h; h++) {
		if (++n > HTTP_MAX_REQUEST_HEADERS || strpbrk(*h, "\r\n") || !strchr(*h, ':'))
			return -EINVAL;
		have_accept = have_accept || header_has_name(*h, "Accept");
		have_expect = have_expect || header_has_name(*h, "Expect");
		text += strlen(*h) + 1;
	}
	if (!have_expect)
		text += sizeof(expect);
	if (!have_accept)
		text += sizeof(accept);
	size = (n + 2) * sizeof(*nodes) + text;
	nodes = malloc(size);
	if (!nodes)
		return -ENOMEM;
	p = (char *)(nodes + n + 2);
#define ADD(str)                                                                                            \
	do {                                                                                                \
		size_t l_ = strlen(str) + 1;                                                                \
		memcpy(p, (str), l_);                                                                       \
		nodes[k].data = p;                                                                          \
		nodes[k].next = &nodes[k + 1];                                                              \
		p += l_;                                                                                    \
		k++;                                                                                        \
	} while (0)
	for (const char *const *h = req->headers; h && *h; h++)
		ADD(*h);
	if (!have_expect)
		ADD(expect);
	if (!have_accept)
		ADD(accept);
#undef ADD
	if (k == 0) {
		free(nodes);
		*ret = NULL;
		*ret_size = 0;
		return 0;
	}
	nodes[k - 1].next = NULL;
	*ret = nodes;
	*ret_size = size;
	return 0;
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

void http_easy_profile_clear(struct http_easy_profile *p)
{
	free(p->ca_file);
	*p = (struct http_easy_profile){0};
}

/* What a GET without a body leaves set on its easy handle besides the
 * URL, the headers and the pointers to its transfer. */
static int profile_of(const struct http_request *req, uint64_t timeout, uint64_t connect, size_t max_body,
		      struct http_easy_profile *ret)
{
	bool has_body = req->body && req->body_len > 0;

	*ret = (struct http_easy_profile){0};
	if ((req->method && strcmp(req->method, "GET") != 0) || has_body)
		return 0;
	*ret = (struct http_easy_profile){
	    .valid = true,
	    .http2 = req->http2,
	    .no_proxy = req->no_proxy,
	    .timeout_ms = timeout,
	    .connect_ms = connect,
	    .max_body = max_body,
	};
	if (req->ca_file) {
		ret->ca_file = strdup(req->ca_file);
		if (!ret->ca_file)
			return -ENOMEM;
	}
	return 0;
}

static bool profile_equal(const struct http_easy_profile *a, const struct http_easy_profile *b)
{
	return a->valid && b->valid && a->http2 == b->http2 && a->no_proxy == b->no_proxy &&
	       a->timeout_ms == b->timeout_ms && a->connect_ms == b->connect_ms &&
	       a->max_body == b->max_body &&
	       (a->ca_file && b->ca_file ? strcmp(a->ca_file, b->ca_file) == 0 : a->ca_file == b->ca_file);
}

/* The options that point at this transfer, set for every request. */
static CURLcode set_transfer_options(struct http_transfer *t, const struct http_request *req)
{
	CURL *e = t->easy;
	CURLcode c = CURLE_OK;

	if (c == CURLE_OK)
		c = curl_easy_setopt(e, CURLOPT_URL, req->url);
	if (c == CURLE_OK)
		c = curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)t);
	if (c == CURLE_OK)
		c = curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
	if (c == CURLE_OK)
		c = curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->req_headers);
	if (c == CURLE_OK)
		c = curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)t);
	if (c == CURLE_OK)
		c = curl_easy_setopt(e, CURLOPT_HEADERDATA, (void *)t);
	return c;
}

void http_easy_park(CURL *e)
{
	/* Nothing in a pooled handle may point at a freed transfer. */
	curl_easy_setopt(e, CURLOPT_PRIVATE, NULL);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, NULL);
}

int http_transfer_setup(struct http_transfer *t, const struct http_request *req, const char *user_agent,
			struct http_easy_profile *prof)
{
	uint64_t timeout = req->timeout_ms ? req->timeout_ms : HTTP_DEFAULT_TIMEOUT_MS;
	uint64_t connect =
	    req->connect_timeout_ms ? req->connect_timeout_ms : HTTP_DEFAULT_CONNECT_TIMEOUT_MS;
	size_t max_body = req->max_body ? req->max_body : HTTP_DEFAULT_MAX_BODY;
	struct http_easy_profile want;
	CURL *e = t->easy;
	CURLcode c = CURLE_OK;
	int r;

	if (connect > timeout)
		connect = timeout;
	if (timeout > (uint64_t)LONG_MAX)
		timeout = (uint64_t)LONG_MAX;
	dynbuf_init(&t->body, max_body);

	r = build_headers(req, &t->req_headers, &t->req_headers_size);
	if (r < 0)
		return r;
	r = profile_of(req, timeout, connect, max_body, &want);
	if (r < 0)
		return r;
	if (profile_equal(prof, &want)) {
		/* The same kind of GET as this handle's last one: its options
		 * stand, libcurl resets the transfer's state itself. */
		http_easy_profile_clear(&want);
		c = set_transfer_options(t, req);
		if (c != CURLE_OK)
			return log_debug_errno(EINVAL, "curl_easy_setopt: %s", curl_easy_strerror(c));
		return 0;
	}
	if (prof->valid)
		curl_easy_reset(e);
	http_easy_profile_clear(prof);
	*prof = want;
	r = set_method(t, e, req);
	if (r < 0)
		return r;

#define SET(opt, val)                                                                                       \
	do {                                                                                                \
		if (c == CURLE_OK)                                                                          \
			c = curl_easy_setopt(e, opt, val);                                                  \
	} while (0)
	c = set_transfer_options(t, req);
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
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_HEADERFUNCTION, on_header);
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
	if (user_agent)
		SET(CURLOPT_USERAGENT, user_agent);
#undef SET
	if (c != CURLE_OK) {
		/* Half set: not to be taken for a configured handle. */
		http_easy_profile_clear(prof);
		return log_debug_errno(EINVAL, "curl_easy_setopt: %s", curl_easy_strerror(c));
	}
	return 0;
}
