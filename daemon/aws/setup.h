/* Building the whole AWS stack -- endpoint, http context, credential chain,
 * client -- from [aws] settings, shared by the daemon engine and the
 * `jobwatchd get` / `list` commands so both behave identically. */
#ifndef JW_AWS_SETUP_H
#define JW_AWS_SETUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/endpoint.h"

struct uv_loop_s;
struct http_ctx;
struct creds;
struct aws_client;
struct config;

/* The [aws] section; strings borrowed, NULL when unset. */
struct aws_settings {
	const char *region;
	const char *profile;
	const char *endpoint;
	const char *ca_file;
	bool dualstack;
	bool fips;
	double max_rps;		  /* <= 0 = unlimited */
	unsigned max_connections; /* to the AWS API; 0 = 8 */
	/* All connections of a new http context: the daemon's also carries
	 * webhooks and credential requests.  0 = max_connections. */
	unsigned max_total_connections;
	uint64_t timeout_ms; /* 0 = 15 s */
	bool keep_sensitive; /* `jobwatchd get --show-sensitive` only */
	/* The region when none is set anywhere (here, AWS_REGION,
	 * AWS_DEFAULT_REGION, the profile); NULL: that is an error. */
	const char *fallback_region;
};

/* Borrows the strings of cfg (which must outlive the use of s). */
void aws_settings_from_config(const struct config *cfg, struct aws_settings *s);
/* The defaults of jobwatchd.conf(5) for runs without a config file. */
void aws_settings_defaults(struct aws_settings *s);

struct aws_stack {
	struct uv_loop_s *loop; /* borrowed */
	struct http_ctx *http;	/* owned when own_http */
	bool own_http;
	struct creds *creds;
	struct aws_client *client;
	struct aws_endpoint endpoint;
};

/* The region the configured job ARNs name (the parser made sure they all
 * name the same) into buf, for aws_settings.fallback_region; NULL when no
 * ARN is configured (or it does not fit). */
const char *aws_region_of_jobs(const struct config *cfg, char *buf, size_t size);

/* Resolves the endpoint and region of s into ep: 0, or 1 when it took
 * s->fallback_region; on failure err holds a user-facing message. */
int aws_settings_resolve_endpoint(const struct aws_settings *s, struct aws_endpoint *ep, char *err,
				  size_t errsz);

/* The endpoint of another service (svc, e.g. EventBridge) in region, with
 * the profile, dualstack and fips of s: [aws] endpoint is the Clean Rooms ML
 * endpoint, not this one's ($AWS_ENDPOINT_URL_<ID> and $AWS_ENDPOINT_URL
 * are).  On failure err holds a user-facing message. */
int aws_settings_service_endpoint(const struct aws_service *svc, const struct aws_settings *s,
				  const char *region, struct aws_endpoint *ep, char *err, size_t errsz);

/* The one constructor of the AWS stack, for the daemon and the commands:
 * on the resolved endpoint ep (borrowed, must outlive them) creates the http
 * context when *http is NULL (with the connection limits of s), then the
 * credential chain and the client.  The caller owns what is returned and
 * frees the parts in its own order (client, creds, then http).  On failure
 * err holds a user-facing message and what this call created is freed. */
int aws_stack_parts_new(struct uv_loop_s *loop, const struct aws_settings *s, const struct aws_endpoint *ep,
			struct http_ctx **http, struct creds **creds, struct aws_client **client, char *err,
			size_t errsz);

/* Resolves endpoint and region, then aws_stack_parts_new() (http created
 * when NULL).  On failure err holds a user-facing message and nothing is
 * left allocated. */
int aws_client_from_config(struct uv_loop_s *loop, struct http_ctx *http, const struct aws_settings *s,
			   struct aws_stack **ret, char *err, size_t errsz);
/* Frees client, creds and (if owned) http, in that order; the loop must run
 * afterwards for close callbacks.  NULL-safe. */
struct aws_stack *aws_stack_free(struct aws_stack *st);

#endif
