/* EC2 instance metadata (IMDSv2 with the v1 fallback rules of botocore's
 * IMDSFetcher): PUT /latest/api/token, GET the role name, GET the role's
 * credentials.  A token PUT answered 403/404/405 or timing out means IMDSv1
 * (or v2 unreachable across an extra hop); we then GET without a token unless
 * AWS_EC2_METADATA_V1_DISABLED=true.  A 400 is a hard error. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "creds/internal.h"
#include "http.h"
#include "log.h"
#include "util.h"

#define IMDS_ENDPOINT_V4 "http://169.254.169.254"
#define IMDS_ENDPOINT_V6 "http://[fd00:ec2::254]"
#define IMDS_TIMEOUT_MS	 1000
#define IMDS_MAX_BODY	 (64 * 1024)
#define IMDS_CREDS_PATH	 "/latest/meta-data/iam/security-credentials/"
#define IMDS_TOKEN_MAX	 1024
#define IMDS_ROLE_MAX	 256

enum imds_stage {
	IMDS_TOKEN,
	IMDS_ROLE,
	IMDS_CREDS,
	_IMDS_STAGE_MAX,
	IMDS_STAGE_INVALID = -1,
};

struct imds_op {
	struct creds_op base;
	const struct creds_ctx *ctx;
	creds_op_done_fn done;
	void *userdata;
	struct http_transfer *t;
	bool cancelled;
	enum imds_stage stage;
	char endpoint[256];
	uint64_t timeout_ms;
	char token[IMDS_TOKEN_MAX + 1]; /* "" in v1 mode */
	char role[IMDS_ROLE_MAX + 1];
};

static void imds_free(struct imds_op *o)
{
	explicit_bzero(o->token, sizeof(o->token));
	free(o);
}

static void imds_cancel(struct creds_op *op)
{
	struct imds_op *o = (struct imds_op *)op;

	o->cancelled = true;
	if (o->t)
		http_transfer_cancel(o->t);
}

static void imds_http_done(void *userdata, const struct http_response *resp);

static int imds_submit(struct imds_op *o, const char *method, const char *path)
{
	char url[600], tokhdr[IMDS_TOKEN_MAX + 40];
	const char *headers[3] = {NULL, NULL, NULL};

	if ((size_t)snprintf(url, sizeof(url), "%s%s", o->endpoint, path) >= sizeof(url))
		return -E2BIG;
	if (o->stage == IMDS_TOKEN)
		headers[0] = "x-aws-ec2-metadata-token-ttl-seconds: 21600";
	else if (o->token[0]) {
		snprintf(tokhdr, sizeof(tokhdr), "x-aws-ec2-metadata-token: %s", o->token);
		headers[0] = tokhdr;
	}
	struct http_request req = {
	    .method = method,
	    .url = url,
	    .headers = headers,
	    .timeout_ms = o->timeout_ms,
	    .max_body = IMDS_MAX_BODY,
	    .no_proxy = true,
	};
	log_debug("imds: %s %s", method, url);
	int r = http_submit(o->ctx->http, &req, imds_http_done, o, &o->t);
	explicit_bzero(tokhdr, sizeof(tokhdr));
	return r;
}

static void imds_fail(struct imds_op *o, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void imds_fail(struct imds_op *o, int r, const char *fmt, ...)
{
	char err[CREDS_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, sizeof(err), fmt, ap);
	va_end(ap);
	o->done(o->userdata, r, NULL, err);
	imds_free(o);
}

static void imds_http_done(void *userdata, const struct http_response *resp)
{
	static const char *const what[] = {"token PUT", "role GET", "credentials GET"};
	struct imds_op *o = userdata;
	struct aws_credentials *c = NULL;
	char path[sizeof(IMDS_CREDS_PATH) + IMDS_ROLE_MAX], perr[256];
	int r;

	o->t = NULL;
	if (o->cancelled || resp->error == HTTP_ERR_CANCELLED) {
		o->done(o->userdata, -ECANCELED, NULL, "cancelled");
		imds_free(o);
		return;
	}
	if (o->stage == IMDS_TOKEN) {
		bool fallback = (resp->error == HTTP_OK &&
				 (resp->status == 403 || resp->status == 404 || resp->status == 405)) ||
				resp->error == HTTP_ERR_TIMEOUT;
		if (fallback) {
			if (creds_getenv_true("AWS_EC2_METADATA_V1_DISABLED")) {
				imds_fail(o, -EACCES, "imds: token PUT %s and IMDSv1 is disabled",
					  resp->error == HTTP_OK ? "refused" : "timed out");
				return;
			}
			log_debug("imds: token PUT failed, falling back to IMDSv1");
			o->token[0] = '\0';
		} else if (resp->error != HTTP_OK) {
			{
				imds_fail(o, creds_http_errno(resp->error), "imds: token PUT: %s: %s",
					  http_error_to_string(resp->error), resp->error_text);
				return;
			}
		} else if (resp->status != 200) {
			{
				imds_fail(o, -EPROTO, "imds: token PUT: HTTP %ld", resp->status);
				return;
			}
		} else {
			char *t = resp->body ? resp->body : "";
			size_t n = strcspn(t, "\r\n");
			if (n == 0 || n > IMDS_TOKEN_MAX) {
				imds_fail(o, -EPROTO, "imds: token PUT: %s", "malformed token");
				return;
			}
			memcpy(o->token, t, n);
			o->token[n] = '\0';
		}
		o->stage = IMDS_ROLE;
		r = imds_submit(o, "GET", IMDS_CREDS_PATH);
		if (r < 0) {
			imds_fail(o, r, "imds: role GET: %s", strerror(-r));
			return;
		}
		return;
	}
	if (resp->error != HTTP_OK) {
		imds_fail(o, creds_http_errno(resp->error), "imds: %s: %s", what[o->stage],
			  http_error_to_string(resp->error));
		return;
	}
	if (resp->status != 200) {
		{
			imds_fail(o, resp->status == 404 ? -ENOKEY : -EPROTO, "imds: %s: HTTP %ld%s",
				  what[o->stage], resp->status,
				  resp->status == 404 && o->stage == IMDS_ROLE
				      ? " (no IAM role attached to the instance)"
				      : "");
			return;
		}
	}
	if (o->stage == IMDS_ROLE) {
		const char *b = resp->body ? resp->body : "";
		size_t n = strcspn(b, "\r\n");
		if (n == 0 || n > IMDS_ROLE_MAX) {
			imds_fail(o, -EPROTO, "imds: role GET: %s", "malformed role name");
			return;
		}
		memcpy(o->role, b, n);
		o->role[n] = '\0';
		for (char *p = o->role; *p; p++)
			if (*p == '/' || *p == '?' || *p == '#' || *p == '%' || (unsigned char)*p < 0x21) {
				imds_fail(o, -EPROTO, "imds: role GET: %s", "malformed role name");
				return;
			}
		snprintf(path, sizeof(path), "%s%s", IMDS_CREDS_PATH, o->role);
		o->stage = IMDS_CREDS;
		r = imds_submit(o, "GET", path);
		if (r < 0) {
			imds_fail(o, r, "imds: credentials GET: %s", strerror(-r));
			return;
		}
		return;
	}
	r = creds_parse_http_json(resp->body, resp->body_len, true, "imds", &c, perr, sizeof(perr));
	if (r < 0) {
		imds_fail(o, r, "imds: %s in credentials response", perr);
		return;
	}
	o->done(o->userdata, 0, c, NULL);
	imds_free(o);
}

int creds_imds_start(const struct creds_ctx *ctx, creds_op_done_fn done, void *userdata,
		     struct creds_op **ret_op, struct aws_credentials **ret_creds, char *err, size_t errsz)
{
	const char *ep = creds_getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	const char *mode = creds_getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	const char *tmo = creds_getenv("AWS_METADATA_SERVICE_TIMEOUT");
	struct imds_op *o;
	size_t n;
	int r;

	(void)ret_creds;
	if (creds_getenv_true("AWS_EC2_METADATA_DISABLED")) {
		snprintf(err, errsz, "imds: disabled by AWS_EC2_METADATA_DISABLED");
		return CREDS_SKIP;
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->base.cancel = imds_cancel;
	o->ctx = ctx;
	o->done = done;
	o->userdata = userdata;
	o->stage = IMDS_TOKEN;
	o->timeout_ms = creds_timeout(ctx, IMDS_TIMEOUT_MS);
	if (tmo && !ctx->timeout_ms) {
		int64_t s;
		if (parse_int64(tmo, 1, 3600, &s) == 0)
			o->timeout_ms = (uint64_t)s * 1000;
	}
	if (!ep)
		ep = mode && strcasecmp(mode, "IPv6") == 0 ? IMDS_ENDPOINT_V6 : IMDS_ENDPOINT_V4;
	n = strlen(ep);
	while (n > 0 && ep[n - 1] == '/')
		n--;
	if (n == 0 || n >= sizeof(o->endpoint) ||
	    !(str_startswith(ep, "http://") || str_startswith(ep, "https://"))) {
		snprintf(err, errsz, "imds: invalid AWS_EC2_METADATA_SERVICE_ENDPOINT");
		free(o);
		return -EINVAL;
	}
	memcpy(o->endpoint, ep, n);
	o->endpoint[n] = '\0';
	r = imds_submit(o, "PUT", "/latest/api/token");
	if (r < 0) {
		snprintf(err, errsz, "imds: cannot start request: %s", strerror(-r));
		imds_free(o);
		return r;
	}
	*ret_op = &o->base;
	return 0;
}
