/* The AWS credential provider chain, asynchronous and self-refreshing.
 *
 * Sources in the SDKs' order, first that yields wins: environment, web
 * identity (STS AssumeRoleWithWebIdentity), shared config/credentials files
 * (incl. role_arn + source_profile and credential_process), container
 * (ECS / EKS Pod Identity), IMDSv2.  Every fetch goes through the daemon's
 * http layer on the loop.  Temporary credentials are refreshed ahead of
 * expiry; polls never stall while a refresh runs.  Implementation: daemon/creds/.
 */
#ifndef JW_CREDS_H
#define JW_CREDS_H

#include <stdint.h>

#include "creds/credentials.h"

struct uv_loop_s;
struct http_ctx;
struct creds;

struct creds_options {
	const char *profile; /* NULL: $AWS_PROFILE, else "default" */
	const char *region;  /* for STS endpoints */
	const char *ca_file; /* extra CA for https credential endpoints; may be NULL */
	uint64_t timeout_ms; /* per fetch; 0 = defaults per source */
};

int creds_new(struct uv_loop_s *loop, struct http_ctx *http, const struct creds_options *opts,
	      struct creds **ret);
/* Cancels: every pending creds_request() callback runs with -ECANCELED
 * before this returns.  The loop must run afterwards for handle close
 * callbacks.  NULL-safe. */
struct creds *creds_free(struct creds *c);

/* The current credentials if valid and not about to expire, else NULL.
 * Borrowed: valid until the next return to the loop. */
const struct aws_credentials *creds_current(struct creds *c);

/* error is 0 with c set, or negative errno (see creds_last_error()). */
typedef void (*creds_ready_fn)(void *userdata, int error, const struct aws_credentials *c);
/* Asks for credentials.  cb always runs later from the loop (never inside
 * this call): with the current credentials, or after the chain resolved or
 * failed.  Concurrent requests share one resolution. */
int creds_request(struct creds *c, creds_ready_fn cb, void *userdata);
/* After ExpiredTokenException / InvalidClientTokenId: the next
 * creds_current() returns NULL until one refresh has completed. */
void creds_invalidate(struct creds *c);
/* The CA file for STS and container requests from now on (NULL: the
 * system store). */
int creds_set_ca_file(struct creds *c, const char *ca_file);

/* Human-readable last failure ("imds: token PUT: connection refused"), never
 * containing secrets; NULL if none. */
const char *creds_last_error(const struct creds *c);
/* Name of the source in use ("environment", "profile:prod", "imds", ...). */
const char *creds_source(const struct creds *c);
int64_t creds_expiration_ms(const struct creds *c); /* 0 = none/unknown */
uint64_t creds_refresh_count(const struct creds *c);

#endif
