/* STS AssumeRole (SigV4-signed with the source credentials) and
 * AssumeRoleWithWebIdentity (unsigned), Query protocol over POST, replies in
 * XML.  The endpoint is regional (botocore's default) or AWS_ENDPOINT_URL_STS,
 * which the SDKs honour as the service-specific endpoint override. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "aws/sigv4.h"
#include "creds/internal.h"
#include "http.h"
#include "log.h"
#include "util.h"

#define STS_TIMEOUT_MS 10000
#define STS_MAX_BODY   (64 * 1024)
#define STS_FORM_MAX   (64 * 1024)

struct sts_op {
	struct creds_op base;
	creds_op_done_fn done;
	void *userdata;
	struct http_transfer *t;
	bool cancelled;
	char action[32];
	char label[256];
	char *source;
};

static void sts_cancel(struct creds_op *op)
{
	struct sts_op *s = (struct sts_op *)op;

	s->cancelled = true;
	if (s->t)
		http_transfer_cancel(s->t);
}

static void sts_http_done(void *userdata, const struct http_response *resp)
{
	struct sts_op *s = userdata;
	struct aws_credentials *c = NULL;
	char err[CREDS_ERR_MAX * 2], perr[400], code[128];
	int r;

	s->t = NULL;
	if (s->cancelled || resp->error == HTTP_ERR_CANCELLED) {
		s->done(s->userdata, -ECANCELED, NULL, "cancelled");
		goto out;
	}
	if (resp->error != HTTP_OK) {
		r = creds_http_errno(resp->error);
		snprintf(err, sizeof(err), "%s: %s: %s", s->label, http_error_to_string(resp->error),
			 resp->error_text);
		s->done(s->userdata, r < 0 ? r : -EIO, NULL, err);
		goto out;
	}
	r = creds_parse_sts_xml(resp->body, resp->body_len, s->action, s->source, &c, code, sizeof(code),
				perr, sizeof(perr));
	if (r == 0 && resp->status != 200) {
		aws_credentials_free(c);
		c = NULL;
		snprintf(perr, sizeof(perr), "unexpected success document");
		r = -EPROTO;
	}
	if (r < 0) {
		if (resp->status != 200)
			snprintf(err, sizeof(err), "%s: HTTP %ld%s%s", s->label, resp->status,
				 r == -EACCES ? ": " : "", r == -EACCES ? perr : "");
		else
			snprintf(err, sizeof(err), "%s: %s", s->label, perr);
		s->done(s->userdata, r == -EACCES ? -EACCES : (resp->status >= 500 ? -EIO : r), NULL, err);
		goto out;
	}
	s->done(s->userdata, 0, c, NULL);
out:
	free(s->source);
	free(s);
}

static bool sts_region_valid(const char *r)
{
	if (str_empty(r) || strlen(r) > 32)
		return false;
	for (const char *p = r; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
	return true;
}

static int sts_endpoint(const struct creds_ctx *ctx, const struct creds_sts_params *p, struct dynbuf *url,
			const char **ret_region, char *err, size_t errsz)
{
	const char *ep = creds_getenv("AWS_ENDPOINT_URL_STS");
	const char *region = p->region ? p->region : creds_region(ctx);

	if (region && !sts_region_valid(region)) {
		snprintf(err, errsz, "%s: invalid region", p->label);
		return -EINVAL;
	}
	*ret_region = region ? region : "us-east-1";
	if (ep)
		return dynbuf_appends(url, ep);
	if (region)
		return dynbuf_appendf(url, "https://sts.%s.amazonaws.com/", region);
	return dynbuf_appends(url, "https://sts.amazonaws.com/");
}

static int form_add(struct dynbuf *b, const char *k, const char *v)
{
	int r = dynbuf_appendf(b, "%s%s=", b->len ? "&" : "", k);
	return r < 0 ? r : uri_encode(v, strlen(v), b);
}

static int sts_form(const char *action, const struct creds_sts_params *p, struct dynbuf *b)
{
	char session[64];
	int r;

	if (p->session_name)
		snprintf(session, sizeof(session), "%s", p->session_name);
	else
		snprintf(session, sizeof(session), "jobwatchd-%llu", (unsigned long long)now_realtime_ms());
	if ((r = form_add(b, "Action", action)) < 0 || (r = form_add(b, "Version", "2011-06-15")) < 0 ||
	    (r = form_add(b, "RoleArn", p->role_arn)) < 0 ||
	    (r = form_add(b, "RoleSessionName", session)) < 0)
		return r;
	if (p->external_id && (r = form_add(b, "ExternalId", p->external_id)) < 0)
		return r;
	if (p->duration_seconds && (r = form_add(b, "DurationSeconds", p->duration_seconds)) < 0)
		return r;
	if (p->web_identity_token && (r = form_add(b, "WebIdentityToken", p->web_identity_token)) < 0)
		return r;
	return 0;
}

#define STS_CONTENT_TYPE "Content-Type: application/x-www-form-urlencoded; charset=utf-8"

/* Signs the POST of form to url with src (SigV4, service sts, in region);
 * sig holds the header lines to add. */
static int sts_sign(const struct aws_credentials *src, const char *region, const char *url,
		    const struct dynbuf *form, struct sigv4_signed *sig, const char *label, char *err,
		    size_t errsz)
{
	static const char *const signed_headers[] = {STS_CONTENT_TYPE, NULL};
	char scheme[16], hostport[300], host[256];
	struct sigv4_signer *signer = NULL;
	const char *path;
	int r;

	if (creds_url_split(url, scheme, sizeof(scheme), hostport, sizeof(hostport), host, sizeof(host),
			    &path) < 0) {
		snprintf(err, errsz, "%s: invalid STS endpoint URL", label);
		return -EINVAL;
	}
	r = sigv4_signer_new(region, "sts", &signer);
	if (r < 0) {
		snprintf(err, errsz, "%s: signer: %s", label, strerror(-r));
		return r;
	}
	r = sigv4_sign(signer, src,
		       &(struct sigv4_request){
			   .method = "POST",
			   .host = hostport,
			   .path = path,
			   .query = NULL,
			   .headers = signed_headers,
			   .payload = form->data,
			   .payload_len = form->len,
			   .now = time(NULL),
			   .normalize_path = true,
		       },
		       sig);
	if (r < 0)
		snprintf(err, errsz, "%s: signing failed: %s", label, strerror(-r));
	sigv4_signer_free(signer);
	return r;
}

/* Creates the op and submits its request; on success *ret owns the op. */
static int sts_submit(const struct creds_ctx *ctx, const char *action, const struct creds_sts_params *p,
		      const struct dynbuf *url, const struct dynbuf *form, const char *const *headers,
		      creds_op_done_fn done, void *userdata, struct creds_op **ret, char *err, size_t errsz)
{
	struct sts_op *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s || !(s->source = strdup(p->source))) {
		free(s);
		snprintf(err, errsz, "%s: out of memory", p->label);
		return -ENOMEM;
	}
	s->base.cancel = sts_cancel;
	s->done = done;
	s->userdata = userdata;
	snprintf(s->action, sizeof(s->action), "%s", action);
	snprintf(s->label, sizeof(s->label), "%s", p->label);
	log_debug("%s: POST %s", p->label, url->data);
	r = http_submit(ctx->http,
			&(struct http_request){
			    .method = "POST",
			    .url = url->data,
			    .headers = headers,
			    .body = form->data,
			    .body_len = form->len,
			    .timeout_ms = creds_timeout(ctx, STS_TIMEOUT_MS),
			    .max_body = STS_MAX_BODY,
			    .ca_file = ctx->ca_file,
			},
			sts_http_done, s, &s->t);
	if (r < 0) {
		snprintf(err, errsz, "%s: cannot start request: %s", p->label, strerror(-r));
		free(s->source);
		free(s);
		return r;
	}
	*ret = &s->base;
	return 0;
}

static int sts_start(const struct creds_ctx *ctx, const struct aws_credentials *src, const char *action,
		     const struct creds_sts_params *p, creds_op_done_fn done, void *userdata,
		     struct creds_op **ret, char *err, size_t errsz)
{
	struct dynbuf url, form;
	struct sigv4_signed sig = {0};
	const char *headers[6] = {STS_CONTENT_TYPE, "Accept: text/xml", NULL};
	const char *region;
	int r;

	if (str_empty(p->role_arn)) {
		snprintf(err, errsz, "%s: role_arn is empty", p->label);
		return -EINVAL;
	}
	dynbuf_init(&url, 2048);
	dynbuf_init(&form, STS_FORM_MAX);
	r = sts_endpoint(ctx, p, &url, &region, err, errsz);
	if (r < 0) {
		if (r == -E2BIG)
			snprintf(err, errsz, "%s: endpoint URL too long", p->label);
		goto out;
	}
	r = sts_form(action, p, &form);
	if (r < 0) {
		snprintf(err, errsz, "%s: request too large", p->label);
		goto out;
	}
	if (src) {
		r = sts_sign(src, region, url.data, &form, &sig, p->label, err, errsz);
		if (r < 0)
			goto out;
		headers[2] = sig.authorization;
		headers[3] = sig.amz_date;
		headers[4] = sig.security_token;
	}
	r = sts_submit(ctx, action, p, &url, &form, headers, done, userdata, ret, err, errsz);
out:
	sigv4_signed_done(&sig);
	dynbuf_free(&form);
	dynbuf_free(&url);
	return r;
}

int creds_sts_assume_role(const struct creds_ctx *ctx, const struct aws_credentials *src,
			  const struct creds_sts_params *p, creds_op_done_fn done, void *userdata,
			  struct creds_op **ret, char *err, size_t errsz)
{
	return sts_start(ctx, src, "AssumeRole", p, done, userdata, ret, err, errsz);
}

int creds_sts_assume_role_web_identity(const struct creds_ctx *ctx, const struct creds_sts_params *p,
				       creds_op_done_fn done, void *userdata, struct creds_op **ret,
				       char *err, size_t errsz)
{
	return sts_start(ctx, NULL, "AssumeRoleWithWebIdentity", p, done, userdata, ret, err, errsz);
}
