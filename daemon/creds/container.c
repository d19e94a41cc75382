/* Container credentials (ECS task roles, EKS Pod Identity):
 * AWS_CONTAINER_CREDENTIALS_RELATIVE_URI against http://169.254.170.2, or
 * AWS_CONTAINER_CREDENTIALS_FULL_URI (https: any host; plain http only to
 * loopback and the ECS / EKS link-local agents, as botocore and the SDK for
 * JS allow).  The Authorization header comes from
 * AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (re-read on every fetch, it
 * rotates) or AWS_CONTAINER_AUTHORIZATION_TOKEN. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "creds/internal.h"
#include "http.h"
#include "log.h"
#include "util.h"

#define CONTAINER_HOST	     "http://169.254.170.2"
#define CONTAINER_TIMEOUT_MS 2000
#define CONTAINER_MAX_BODY   (64 * 1024)
#define CONTAINER_TOKEN_MAX  16384

struct container_op {
	struct creds_op base;
	creds_op_done_fn done;
	void *userdata;
	struct http_transfer *t;
	bool cancelled;
};

static bool container_http_host_allowed(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1) {
		uint32_t a = ntohl(a4.s_addr);
		return (a >> 24) == 127 || a == 0xa9feaa02 /* 169.254.170.2 */ || a == 0xa9feaa17 /* .23 */;
	}
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		static const unsigned char eks[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0,
						      0,    0,	  0,	0,    0, 0, 0, 0x23};
		return IN6_IS_ADDR_LOOPBACK(&a6) || memcmp(&a6, eks, 16) == 0;
	}
	return false;
}

static void container_cancel(struct creds_op *op)
{
	struct container_op *o = (struct container_op *)op;

	o->cancelled = true;
	if (o->t)
		http_transfer_cancel(o->t);
}

static void container_http_done(void *userdata, const struct http_response *resp)
{
	struct container_op *o = userdata;
	struct aws_credentials *c = NULL;
	char err[CREDS_ERR_MAX], perr[256];
	int r;

	o->t = NULL;
	if (o->cancelled || resp->error == HTTP_ERR_CANCELLED) {
		o->done(o->userdata, -ECANCELED, NULL, "cancelled");
	} else if (resp->error != HTTP_OK) {
		snprintf(err, sizeof(err), "container: %s: %s", http_error_to_string(resp->error),
			 resp->error_text);
		o->done(o->userdata, creds_http_errno(resp->error), NULL, err);
	} else if (resp->status != 200) {
		/* The agent's error body is not echoed: it is not ours to trust
		 * with what it may contain. */
		snprintf(err, sizeof(err), "container: HTTP %ld from credentials endpoint", resp->status);
		o->done(o->userdata, resp->status >= 500 ? -EIO : -EACCES, NULL, err);
	} else {
		r = creds_parse_http_json(resp->body, resp->body_len, false, "container", &c, perr,
					  sizeof(perr));
		if (r < 0) {
			snprintf(err, sizeof(err), "container: %s in credentials response", perr);
			o->done(o->userdata, r, NULL, err);
		} else
			o->done(o->userdata, 0, c, NULL);
	}
	free(o);
}

/* The token for the Authorization header, or NULL without one. */
static int container_token(char **ret, char *err, size_t errsz)
{
	const char *file = creds_getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *tok = creds_getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	char *t = NULL;
	size_t len = 0;
	int r;

	*ret = NULL;
	if (file) {
		r = read_file_capped(file, CONTAINER_TOKEN_MAX, &t, &len);
		if (r < 0) {
			snprintf(err, errsz, "container: token file %s: %s", file,
				 r == -EFBIG ? "too large" : strerror(-r));
			return r;
		}
		/* A trailing newline from `echo` is not part of the token. */
		while (len > 0 && (t[len - 1] == '\n' || t[len - 1] == '\r'))
			t[--len] = '\0';
	} else if (tok) {
		t = strdup(tok);
		if (!t)
			return -ENOMEM;
		len = strlen(t);
	} else
		return 0;
	if (strpbrk(t, "\r\n") || memchr(t, '\0', len)) {
		snprintf(err, errsz, "container: authorization token %s contains CR, LF or NUL",
			 file ? "file" : "variable");
		explicit_bzero(t, len);
		free(t);
		return -EINVAL;
	}
	*ret = t;
	return 0;
}

int creds_container_start(const struct creds_ctx *ctx, creds_op_done_fn done, void *userdata,
			  struct creds_op **ret_op, struct aws_credentials **ret_creds, char *err,
			  size_t errsz)
{
	const char *rel = creds_getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = creds_getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	struct container_op *o = NULL;
	struct dynbuf url, auth;
	char *token = NULL;
	const char *headers[3] = {"Accept: application/json", NULL, NULL};
	int r;

	(void)ret_creds;
	if (!rel && !full) {
		snprintf(err, errsz, "container: not configured");
		return CREDS_SKIP;
	}
	dynbuf_init(&url, 4096);
	dynbuf_init(&auth, CONTAINER_TOKEN_MAX + 64);
	if (rel) {
		r = dynbuf_appendf(&url, "%s%s%s", CONTAINER_HOST, rel[0] == '/' ? "" : "/", rel);
	} else {
		char scheme[16], hostport[300], host[256];

		if (creds_url_split(full, scheme, sizeof(scheme), hostport, sizeof(hostport), host,
				    sizeof(host), NULL) < 0) {
			snprintf(err, errsz, "container: AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL");
			r = -EINVAL;
			goto out;
		}
		if (strcmp(scheme, "https") != 0 &&
		    !(strcmp(scheme, "http") == 0 && container_http_host_allowed(host))) {
			snprintf(err, errsz,
				 "container: AWS_CONTAINER_CREDENTIALS_FULL_URI host %.100s not allowed "
				 "over %s (http "
				 "only to loopback, 169.254.170.2, 169.254.170.23 or fd00:ec2::23)",
				 host, scheme);
			r = -EPERM;
			goto out;
		}
		r = dynbuf_appends(&url, full);
	}
	if (r < 0) {
		snprintf(err, errsz, "container: URL too long");
		goto out;
	}
	r = container_token(&token, err, errsz);
	if (r < 0)
		goto out;
	if (token) {
		r = dynbuf_appendf(&auth, "Authorization: %s", token);
		if (r < 0) {
			snprintf(err, errsz, "container: authorization token too long");
			goto out;
		}
		headers[1] = auth.data;
	}
	o = calloc(1, sizeof(*o));
	if (!o) {
		r = -ENOMEM;
		goto out;
	}
	o->base.cancel = container_cancel;
	o->done = done;
	o->userdata = userdata;
	struct http_request req = {
	    .method = "GET",
	    .url = url.data,
	    .headers = headers,
	    .timeout_ms = creds_timeout(ctx, CONTAINER_TIMEOUT_MS),
	    .max_body = CONTAINER_MAX_BODY,
	    .ca_file = ctx->ca_file,
	    .no_proxy = true,
	};
	log_debug("container: GET %s", url.data);
	r = http_submit(ctx->http, &req, container_http_done, o, &o->t);
	if (r < 0) {
		snprintf(err, errsz, "container: cannot start request: %s", strerror(-r));
		goto out;
	}
	*ret_op = &o->base;
	o = NULL;
out:
	free(o);
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	dynbuf_free(&auth);
	dynbuf_free(&url);
	return r;
}
