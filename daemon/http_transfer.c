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

int http_transfer_setup(struct http_transfer *t, const struct http_request *req, const char *user_agent)
{
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
	if (user_agent)
		SET(CURLOPT_USERAGENT, user_agent);
#undef SET
	if (c != CURLE_OK)
		return log_debug_errno(EINVAL, "curl_easy_setopt: %s", curl_easy_strerror(c));
	return 0;
}
