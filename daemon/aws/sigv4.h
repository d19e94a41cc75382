/* AWS Signature Version 4 (header signing) with OpenSSL.
 *
 * For every service but S3 the canonical URI is the path as sent on the wire
 * URI-encoded once more: a wire segment "arn%3Aaws%3A...%2Fid" appears as
 * "arn%253Aaws%253A...%252Fid" in the canonical request.  libcurl 7.88's
 * CURLOPT_AWS_SIGV4 gets this wrong for ARN paths, hence our own signer.
 *
 * The derived signing key is cached per (date, region, service, secret) and
 * recomputed when the UTC day changes.
 */
#ifndef JW_SIGV4_H
#define JW_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct aws_credentials;

struct sigv4_signer;
int sigv4_signer_new(const char *region, const char *service, struct sigv4_signer **ret);
struct sigv4_signer *sigv4_signer_free(struct sigv4_signer *s);
/* Test hook: how many times this signer ran the signing-key HMAC chain
 * (once per UTC day and secret; cached otherwise). */
unsigned sigv4_signer_key_derivations(const struct sigv4_signer *s);

struct sigv4_request {
	const char *method;
	const char *host; /* Host header value (with ":port" when non-default) */
	/* The path exactly as sent on the wire (already percent-encoded once for
	 * ARN labels).  The canonical URI is this, encoded once more. */
	const char *path;
	/* Query string as sent (without '?'), may be NULL; the signer parses,
	 * re-encodes per RFC 3986 and sorts it for the canonical request. */
	const char *query;
	/* Extra headers to sign, "Name: value", NULL-terminated; may be NULL.
	 * Host and X-Amz-Date are always signed; X-Amz-Security-Token when the
	 * credentials carry a session token. */
	const char *const *headers;
	const void *payload;
	size_t payload_len;
	time_t now;	     /* signing time (UTC seconds) */
	bool normalize_path; /* remove dot segments and empty segments (true for all but S3) */
};

struct sigv4_signed {
	/* Full header lines to add to the request ("Name: value"). */
	char *authorization;
	char *amz_date;
	char *security_token; /* NULL without a session token */
	/* Intermediate results, for tests and debug logs (no secrets). */
	char *canonical_request;
	char *string_to_sign;
	char signature[65];
};

/* Signs r with c.  On success out holds newly allocated strings; release
 * them with sigv4_signed_done().  out->canonical_request contains the
 * session token when there is one: do not log it verbatim.  -EINVAL when
 * r->headers carries Host, X-Amz-Date, X-Amz-Security-Token or
 * Authorization itself (the signer owns those), -E2BIG past 64 extra
 * headers or 128 query parameters. */
int sigv4_sign(struct sigv4_signer *s, const struct aws_credentials *c, const struct sigv4_request *r,
	       struct sigv4_signed *out);
void sigv4_signed_done(struct sigv4_signed *out);

#endif
