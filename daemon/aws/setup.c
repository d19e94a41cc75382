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

int aws_client_from_config(struct uv_loop_s *loop, struct http_ctx *http, const struct aws_settings *s,
			   struct aws_stack **ret, char *err, size_t errlen)
{
	struct aws_stack *st;
	int r;

	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->loop = loop;
	r = aws_resolve_endpoint(
	    &(struct aws_endpoint_options){
		.region = s->region,
		.profile = s->profile,
		.endpoint = s->endpoint,
		.dualstack = s->dualstack,
		.fips = s->fips,
	    },
	    &st->endpoint, err, errlen);
	if (r < 0)
		goto fail;
	if (http) {
		st->http = http;
	} else {
		r = http_ctx_new(loop,
				 &(struct http_ctx_options){
				     .max_connections = s->max_connections ? s->max_connections : 8,
				     .user_agent = "jobwatchd/" JW_VERSION,
				 },
				 &st->http);
		if (r < 0) {
			snprintf(err, errlen, "cannot set up HTTP: %s", strerror(-r));
			goto fail;
		}
		st->own_http = true;
	}
	r = creds_new(loop, st->http,
		      &(struct creds_options){
			  .profile = s->profile,
			  .region = st->endpoint.region,
			  .ca_file = s->ca_file,
		      },
		      &st->creds);
	if (r < 0) {
		snprintf(err, errlen, "cannot set up AWS credentials: %s", strerror(-r));
		goto fail;
	}
	r = aws_client_new(loop, st->http, st->creds,
			   &(struct aws_client_options){
			       .endpoint = &st->endpoint,
			       .ca_file = s->ca_file,
			       .timeout_ms = s->timeout_ms,
			       .max_rps = s->max_rps,
			       .keep_sensitive = s->keep_sensitive,
			   },
			   &st->client);
	if (r < 0) {
		snprintf(err, errlen, "cannot set up the AWS client: %s", strerror(-r));
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
