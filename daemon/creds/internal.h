/* Internals of the credential chain: the provider interface and the shared
 * building blocks (STS calls, credential_process runner, shared files). */
#ifndef JW_CREDS_INTERNAL_H
#define JW_CREDS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "creds/parse.h"
#include "creds/credentials.h"

struct uv_loop_s;
struct http_ctx;

#define CREDS_ERR_MAX 640
/* A provider that is not configured returns this (with a note in err). */
#define CREDS_SKIP 1

/* What providers need; owned by struct creds and outliving every operation. */
struct creds_ctx {
	struct uv_loop_s *loop;
	struct http_ctx *http;
	char *profile;	     /* NULL: $AWS_PROFILE, $AWS_DEFAULT_PROFILE, "default" */
	char *region;	     /* NULL: $AWS_REGION, $AWS_DEFAULT_REGION, profile region */
	char *ca_file;	     /* may be NULL */
	uint64_t timeout_ms; /* 0 = per-source default */
};

/* Completion of an asynchronous operation: r == 0 with c (ownership moves to
 * the callee) or r < 0 with err.  The operation frees itself after this. */
typedef void (*creds_op_done_fn)(void *userdata, int r, struct aws_credentials *c, const char *err);

/* Base of every asynchronous operation (first member). */
struct creds_op {
	/* done() still runs exactly once afterwards, with -ECANCELED. */
	void (*cancel)(struct creds_op *op);
};

static inline void creds_op_cancel(struct creds_op *op)
{
	if (op)
		op->cancel(op);
}

/* A provider either answers now (0 and *ret_creds), starts an operation (0
 * and *ret_op; done runs later from the loop), is not configured
 * (CREDS_SKIP, a short note in err), or fails (negative errno, err). */
typedef int (*creds_start_fn)(const struct creds_ctx *ctx, creds_op_done_fn done, void *userdata,
			      struct creds_op **ret_op, struct aws_credentials **ret_creds, char *err,
			      size_t errsz);

int creds_env_start(const struct creds_ctx *ctx, creds_op_done_fn done, void *userdata,
		    struct creds_op **ret_op, struct aws_credentials **ret_creds, char *err, size_t errsz);
int creds_webid_start(const struct creds_ctx *ctx, creds_op_done_fn done, void *userdata,
		      struct creds_op **ret_op, struct aws_credentials **ret_creds, char *err, size_t errsz);
int creds_profile_start(const struct creds_ctx *ctx, creds_op_done_fn done, void *userdata,
			struct creds_op **ret_op, struct aws_credentials **ret_creds, char *err,
			size_t errsz);
int creds_container_start(const struct creds_ctx *ctx, creds_op_done_fn done, void *userdata,
			  struct creds_op **ret_op, struct aws_credentials **ret_creds, char *err,
			  size_t errsz);
int creds_imds_start(const struct creds_ctx *ctx, creds_op_done_fn done, void *userdata,
		     struct creds_op **ret_op, struct aws_credentials **ret_creds, char *err, size_t errsz);

/* Runs a credential_process command (split shell-style, no shell).  label
 * prefixes error messages ("credential_process (profile x)"). */
int creds_process_start(const struct creds_ctx *ctx, const char *command, const char *label,
			const char *source, creds_op_done_fn done, void *userdata, struct creds_op **ret,
			char *err, size_t errsz);

struct creds_sts_params {
	const char *role_arn;
	const char *session_name;	/* NULL: "jobwatchd-<ms>" */
	const char *external_id;	/* AssumeRole only; may be NULL */
	const char *duration_seconds;	/* may be NULL */
	const char *web_identity_token; /* AssumeRoleWithWebIdentity only */
	const char *region;		/* NULL: from ctx / env */
	const char *source;		/* source name for the new credentials */
	const char *label;		/* error prefix */
};
/* Signed AssumeRole with src (borrowed, copied as needed). */
int creds_sts_assume_role(const struct creds_ctx *ctx, const struct aws_credentials *src,
			  const struct creds_sts_params *p, creds_op_done_fn done, void *userdata,
			  struct creds_op **ret, char *err, size_t errsz);
/* Unsigned AssumeRoleWithWebIdentity. */
int creds_sts_assume_role_web_identity(const struct creds_ctx *ctx, const struct creds_sts_params *p,
				       creds_op_done_fn done, void *userdata, struct creds_op **ret,
				       char *err, size_t errsz);

/* Both shared files, loaded synchronously (small local files). */
struct creds_files {
	struct creds_ini *credentials;
	struct creds_ini *config;
	char *credentials_path;
	char *config_path;
};
/* Missing files count as empty; unreadable or malformed ones are errors
 * naming the file. */
int creds_files_load(struct creds_files *f, char *err, size_t errsz);
void creds_files_done(struct creds_files *f);
/* Credentials file first, then config. */
const char *creds_files_get(const struct creds_files *f, const char *profile, const char *key);
bool creds_files_has_profile(const struct creds_files *f, const char *profile);
/* The profile name in effect and whether it was asked for explicitly. */
const char *creds_profile_name(const struct creds_ctx *ctx, bool *ret_explicit);

/* Environment helpers: non-empty value or NULL; "true" (case-insensitive). */
const char *creds_getenv(const char *name);
bool creds_getenv_true(const char *name);
/* Region for STS: ctx->region, $AWS_REGION, $AWS_DEFAULT_REGION, or NULL. */
const char *creds_region(const struct creds_ctx *ctx);

/* Splits "scheme://host[:port]/path": hostport is "host[:port]" as written,
 * host is without port and brackets. */
int creds_url_split(const char *url, char *scheme, size_t schemesz, char *hostport, size_t hpsz, char *host,
		    size_t hostsz, const char **ret_path);

/* Maps enum http_error to a negative errno (0 for HTTP_OK). */
int creds_http_errno(int http_error);

/* Timeout for a source: ctx->timeout_ms if set, else dflt. */
uint64_t creds_timeout(const struct creds_ctx *ctx, uint64_t dflt);

#endif
