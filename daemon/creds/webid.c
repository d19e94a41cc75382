/* Web identity (EKS IRSA and friends): AWS_WEB_IDENTITY_TOKEN_FILE +
 * AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME), or the profile keys
 * web_identity_token_file / role_arn / role_session_name, exchanged with STS
 * AssumeRoleWithWebIdentity.  The token file is re-read on every fetch
 * because the kubelet rotates it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "creds/internal.h"
#include "util.h"

#define WEBID_TOKEN_MAX 20000

int creds_webid_start(const struct creds_ctx *ctx, creds_op_done_fn done, void *userdata,
		      struct creds_op **ret_op, struct aws_credentials **ret_creds, char *err, size_t errsz)
{
	/* With an explicit [aws] profile only the profile's keys count, as
	 * botocore's web identity provider with disable_env_vars. */
	bool use_env = str_empty(ctx->profile);
	const char *token_file = use_env ? creds_getenv("AWS_WEB_IDENTITY_TOKEN_FILE") : NULL;
	const char *role = use_env ? creds_getenv("AWS_ROLE_ARN") : NULL;
	const char *session = use_env ? creds_getenv("AWS_ROLE_SESSION_NAME") : NULL;
	struct creds_files files = {0};
	bool from_files = false;
	char *token = NULL;
	size_t len = 0;
	int r;

	if (!token_file || !role) {
		const char *profile = creds_profile_name(ctx, NULL);

		/* Broken files are reported by the shared files step. */
		if (creds_files_load(&files, err, errsz) < 0) {
			snprintf(err, errsz, "web identity: not configured");
			return CREDS_SKIP;
		}
		from_files = true;
		token_file = creds_files_get(&files, profile, "web_identity_token_file");
		role = creds_files_get(&files, profile, "role_arn");
		session = creds_files_get(&files, profile, "role_session_name");
		if (!token_file || !role) {
			creds_files_done(&files);
			snprintf(err, errsz, "web identity: not configured");
			return CREDS_SKIP;
		}
	}

	r = read_file_capped(token_file, WEBID_TOKEN_MAX + 64, &token, &len);
	if (r < 0) {
		snprintf(err, errsz, "web identity: token file %s: %s", token_file,
			 r == -EFBIG ? "too large" : strerror(-r));
		goto out;
	}
	strstrip(token);
	if (strlen(token) < 4 || strlen(token) > WEBID_TOKEN_MAX) {
		snprintf(err, errsz, "web identity: token file %s: token must be 4..%d characters",
			 token_file, WEBID_TOKEN_MAX);
		r = -EINVAL;
		goto out;
	}
	char label[300];
	snprintf(label, sizeof(label), "web identity: sts AssumeRoleWithWebIdentity (role %.200s)", role);
	struct creds_sts_params p = {
	    .role_arn = role,
	    .session_name = session,
	    .web_identity_token = token,
	    /* The profile's region only when none is given otherwise. */
	    .region = from_files && !creds_region(ctx)
			  ? creds_files_get(&files, creds_profile_name(ctx, NULL), "region")
			  : NULL,
	    .source = "web-identity",
	    .label = label,
	};
	r = creds_sts_assume_role_web_identity(ctx, &p, done, userdata, ret_op, err, errsz);
out:
	if (token) {
		explicit_bzero(token, len);
		free(token);
	}
	creds_files_done(&files);
	(void)ret_creds;
	return r;
}
