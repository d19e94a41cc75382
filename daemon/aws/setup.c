/* One place that wires endpoint, http, credentials and client together. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/client.h"
#include "aws/setup.h"
#include "config.h"
#include "creds.h"
#include "http.h"
#include "log.h"
#include "util.h"

void aws_settings_defaults(struct aws_settings *s)
{
	*s = (struct aws_settings){
	    .max_rps = 5,
	    .max_connections = 8,
	    .timeout_ms = 15000,
	};
}

void aws_settings_from_config(const struct config *cfg, struct aws_settings *s)
{
	*s = (struct aws_settings){
	    .region = cfg->aws.region,
	    .profile = cfg->aws.profile,
	    .endpoint = cfg->aws.endpoint,
	    .ca_file = cfg->aws.ca_file,
	    .dualstack = cfg->aws.dualstack,
	    .fips = cfg->aws.fips,
	    .max_rps = cfg->aws.max_rps,
	    .max_connections = cfg->aws.max_connections,
	    .timeout_ms = cfg->aws.timeout_ms,
	};
}

const char *aws_region_of_jobs(const struct config *cfg, char *buf, size_t size)
{
	const char *in;
	size_t len;

	if (cfg->n_arns == 0)
		return NULL;
	len = arn_region(cfg->arns[0], &in);
	if (!in || len == 0 || len >= size)
		return NULL;
	memcpy(buf, in, len);
	buf[len] = 0;
	return buf;
}

int aws_settings_resolve_endpoint(const struct aws_settings *s, struct aws_endpoint *ep, char *err,
				  size_t errsz)
{
	struct aws_endpoint_options eo = {
	    .region = s->region,
	    .profile = s->profile,
	    .endpoint = s->endpoint,
	    .dualstack = s->dualstack,
	    .fips = s->fips,
	};
	int r;

	r = aws_resolve_endpoint(&eo, ep, err, errsz);
	if (r != -ENOENT || eo.region || !s->fallback_region)
		return r;
	eo.region = s->fallback_region;
	r = aws_resolve_endpoint(&eo, ep, err, errsz);
	return r < 0 ? r : 1;
}

int aws_settings_service_endpoint(const struct aws_service *svc, const struct aws_settings *s,
				  const char *region, struct aws_endpoint *ep, char *err, size_t errsz)
{
	return aws_resolve_service_endpoint(svc,
					    &(struct aws_endpoint_options){
						.region = region,
						.profile = s->profile,
						.dualstack = s->dualstack,
						.fips = s->fips,
					    },
					    ep, err, errsz);
}

int aws_stack_parts_new(struct uv_loop_s *loop, const struct aws_settings *s, const struct aws_endpoint *ep,
			struct http_ctx **http, struct creds **creds, struct aws_client **client, char *err,
			size_t errsz)
{
	struct http_ctx *own_http = NULL;
	unsigned max_conn = s->max_connections ? s->max_connections : 8;
	int r;

	if (!*http) {
		r = http_ctx_new(
		    loop,
		    &(struct http_ctx_options){
			.max_connections = s->max_total_connections ? s->max_total_connections : max_conn,
			.max_host_connections = max_conn,
			.user_agent = "jobwatchd/" JW_VERSION,
		    },
		    &own_http);
		if (r < 0) {
			snprintf(err, errsz, "cannot set up HTTP: %s", strerror(-r));
			return r;
		}
		*http = own_http;
	}
	r = creds_new(loop, *http,
		      &(struct creds_options){
			  .profile = s->profile,
			  .region = ep->region,
			  .ca_file = s->ca_file,
		      },
		      creds);
	if (r < 0) {
		snprintf(err, errsz, "cannot set up the AWS credential chain: %s", strerror(-r));
		goto fail;
	}
	r = aws_client_new(loop, *http, *creds,
			   &(struct aws_client_options){
			       .endpoint = ep,
			       .ca_file = s->ca_file,
			       .timeout_ms = s->timeout_ms,
			       .max_rps = s->max_rps,
			       .keep_sensitive = s->keep_sensitive,
			   },
			   client);
	if (r < 0) {
		snprintf(err, errsz, "cannot set up the AWS client: %s", strerror(-r));
		*creds = creds_free(*creds);
		goto fail;
	}
	return 0;
fail:
	if (own_http) {
		http_ctx_free(own_http);
		*http = NULL;
	}
	return r;
}

int aws_client_from_config(struct uv_loop_s *loop, struct http_ctx *http, const struct aws_settings *s,
			   struct aws_stack **ret, char *err, size_t errsz)
{
	struct aws_stack *st;
	int r;

	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->loop = loop;
	r = aws_settings_resolve_endpoint(s, &st->endpoint, err, errsz);
	if (r < 0)
		goto fail;
	st->http = http;
	st->own_http = !http;
	r = aws_stack_parts_new(loop, s, &st->endpoint, &st->http, &st->creds, &st->client, err, errsz);
	if (r < 0) {
		st->own_http = false;
		goto fail;
	}
	*ret = st;
	return 0;
fail:
	aws_stack_free(st);
	return r;
}

struct aws_stack *aws_stack_free(struct aws_stack *st)
{
	if (!st)
		return NULL;
	aws_client_free(st->client);
	creds_free(st->creds);
	if (st->own_http)
		http_ctx_free(st->http);
	aws_endpoint_done(&st->endpoint);
	free(st);
	return NULL;
}
