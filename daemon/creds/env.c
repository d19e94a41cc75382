/* The environment provider: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
 * (+ AWS_SESSION_TOKEN or the legacy AWS_SECURITY_TOKEN, and the optional
 * AWS_CREDENTIAL_EXPIRATION), as botocore's EnvProvider. */
#include <errno.h>
#include <stdio.h>

#include "creds/internal.h"
#include "util.h"

int creds_env_start(const struct creds_ctx *ctx, creds_op_done_fn done, void *userdata,
		    struct creds_op **ret_op, struct aws_credentials **ret_creds, char *err, size_t errsz)
{
	const char *akid = creds_getenv("AWS_ACCESS_KEY_ID");
	const char *secret = creds_getenv("AWS_SECRET_ACCESS_KEY");
	const char *token = creds_getenv("AWS_SESSION_TOKEN");
	const char *exp = creds_getenv("AWS_CREDENTIAL_EXPIRATION");
	int64_t exp_ms = 0;

	if (!akid && !secret) {
		snprintf(err, errsz, "environment: AWS_ACCESS_KEY_ID not set");
		return CREDS_SKIP;
	}
	/* A half-configured environment is a mistake to report, not a reason
	 * to fall through to another identity. */
	if (!akid || !secret) {
		snprintf(err, errsz, "environment: %s is set but %s is not",
			 akid ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
			 akid ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
		return -EINVAL;
	}
	if (!token)
		token = creds_getenv("AWS_SECURITY_TOKEN");
	if (exp && (parse_iso8601_ms(exp, &exp_ms) < 0 || exp_ms <= 0)) {
		snprintf(err, errsz, "environment: AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 timestamp");
		return -EINVAL;
	}
	*ret_creds = aws_credentials_new(akid, secret, token, exp_ms, "environment");
	if (!*ret_creds) {
		snprintf(err, errsz, "environment: out of memory");
		return -ENOMEM;
	}
	return 0;
}
