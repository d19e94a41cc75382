/* The shared files provider: static keys, credential_process, and role_arn +
 * source_profile chains (each hop a signed STS AssumeRole with the previous
 * hop's credentials), in botocore's order within a profile: assume-role
 * config first, then static keys, then credential_process.  A role's base
 * credentials may instead come from credential_source (Environment,
 * Ec2InstanceMetadata, EcsContainer): that provider of the chain is run. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "creds/internal.h"
#include "util.h"

#define PROFILE_MAX_HOPS 5

struct profile_role {
	char *profile;
	char *role_arn;
	char *session_name;
	char *external_id;
	char *duration;
	char *region;
};

struct profile_op {
	struct creds_op base;
	const struct creds_ctx *ctx;
	creds_op_done_fn done;
	void *userdata;
	struct creds_op *sub;
	bool cancelled;
	/* roles[0] belongs to the requested profile; they are assumed from the
	 * last (closest to the base credentials) to the first. */
	struct profile_role roles[PROFILE_MAX_HOPS];
	size_t n_roles;
	size_t left; /* roles still to assume */
};

static void profile_op_free(struct profile_op *op)
{
	for (size_t i = 0; i < op->n_roles; i++) {
		struct profile_role *r = &op->roles[i];
		free(r->profile);
		free(r->role_arn);
		free(r->session_name);
		free(r->external_id);
		free(r->duration);
		free(r->region);
	}
	free(op);
}

static void profile_cancel(struct creds_op *base)
{
	struct profile_op *op = (struct profile_op *)base;

	op->cancelled = true;
	creds_op_cancel(op->sub);
}

static int profile_assume_next(struct profile_op *op, const struct aws_credentials *src, char *err,
			       size_t errsz);

static void profile_step_done(void *userdata, int r, struct aws_credentials *c, const char *err)
{
	struct profile_op *op = userdata;
	char e[CREDS_ERR_MAX];

	op->sub = NULL;
	if (op->cancelled && r == 0) {
		aws_credentials_free(c);
		r = -ECANCELED;
		err = "cancelled";
	}
	if (r < 0) {
		op->done(op->userdata, r, NULL, err);
		profile_op_free(op);
		return;
	}
	if (op->left == 0) {
		op->done(op->userdata, 0, c, NULL);
		profile_op_free(op);
		return;
	}
	r = profile_assume_next(op, c, e, sizeof(e));
	aws_credentials_free(c);
	if (r < 0) {
		op->done(op->userdata, r, NULL, e);
		profile_op_free(op);
	}
}

static int profile_assume_next(struct profile_op *op, const struct aws_credentials *src, char *err,
			       size_t errsz)
{
	struct profile_role *role = &op->roles[--op->left];
	char label[400], source[300];

	snprintf(label, sizeof(label), "shared files: profile %.100s: sts AssumeRole (role %.200s)",
		 role->profile, role->role_arn);
	snprintf(source, sizeof(source), "assume-role:%.200s", role->profile);
	struct creds_sts_params p = {
	    .role_arn = role->role_arn,
	    .session_name = role->session_name,
	    .external_id = role->external_id,
	    .duration_seconds = role->duration,
	    .region = role->region,
	    .source = source,
	    .label = label,
	};
	return creds_sts_assume_role(op->ctx, src, &p, profile_step_done, op, &op->sub, err, errsz);
}

static int profile_add_role(struct profile_op *op, const struct creds_files *f, const char *profile)
{
	struct profile_role *r = &op->roles[op->n_roles++];
	const char *region = creds_region(op->ctx) ? NULL : creds_files_get(f, profile, "region");

	r->profile = strdup(profile);
	r->role_arn = strdup_or_null(creds_files_get(f, profile, "role_arn"));
	r->session_name = strdup_or_null(creds_files_get(f, profile, "role_session_name"));
	r->external_id = strdup_or_null(creds_files_get(f, profile, "external_id"));
	r->duration = strdup_or_null(creds_files_get(f, profile, "duration_seconds"));
	r->region = strdup_or_null(region);
	return r->profile && r->role_arn ? 0 : -ENOMEM;
}

/* Both-or-neither static keys; 1 when present. */
static int profile_static(const struct creds_files *f, const char *profile, const char *source,
			  struct aws_credentials **ret, char *err, size_t errsz)
{
	const char *akid = creds_files_get(f, profile, "aws_access_key_id");
	const char *secret = creds_files_get(f, profile, "aws_secret_access_key");

	if (!akid && !secret)
		return 0;
	if (!akid || !secret) {
		snprintf(err, errsz, "shared files: profile %s: %s without %s", profile,
			 akid ? "aws_access_key_id" : "aws_secret_access_key",
			 akid ? "aws_secret_access_key" : "aws_access_key_id");
		return -EINVAL;
	}
	*ret =
	    aws_credentials_new(akid, secret, creds_files_get(f, profile, "aws_session_token"), 0, source);
	if (!*ret) {
		snprintf(err, errsz, "shared files: out of memory");
		return -ENOMEM;
	}
	return 1;
}

/* credential_source (botocore's names): which provider of the chain yields
 * the credentials the role is assumed with; NULL for an unknown name. */
static creds_start_fn profile_credential_source(const char *name)
{
	if (strcmp(name, "Environment") == 0)
		return creds_env_start;
	if (strcmp(name, "Ec2InstanceMetadata") == 0)
		return creds_imds_start;
	if (strcmp(name, "EcsContainer") == 0)
		return creds_container_start;
	return NULL;
}

/* Starts the credential_source provider; its credentials go through
 * profile_step_done() to the role chain, now or when it finishes. */
static int profile_start_source(struct profile_op *op, creds_start_fn start, const char *name, char *err,
				size_t errsz)
{
	struct aws_credentials *base = NULL;
	char e[CREDS_ERR_MAX] = "";
	int r;

	r = start(op->ctx, profile_step_done, op, &op->sub, &base, e, sizeof(e));
	if (r == CREDS_SKIP) {
		/* Not configured where it was named: an error here, not a skip. */
		snprintf(err, errsz, "shared files: profile %s: credential_source %s: %s",
			 op->roles[0].profile, name, e[0] ? e : "not available");
		return -ENOKEY;
	}
	if (r < 0) {
		snprintf(err, errsz, "shared files: profile %s: credential_source %s: %s",
			 op->roles[0].profile, name, e);
		return r;
	}
	if (base) {
		/* Synchronous (Environment): assume the role right away. */
		r = profile_assume_next(op, base, err, errsz);
		aws_credentials_free(base);
		return r;
	}
	return 0;
}

/* Where the walk of a profile's role_arn / source_profile chain ended: the
 * base credentials the last role is assumed with (or, without a role, the
 * profile's own).  Exactly one of creds, process and start is set. */
struct profile_base {
	const char *profile;	       /* the profile holding them; borrowed from the files */
	struct aws_credentials *creds; /* static keys */
	const char *process;	       /* credential_process command */
	creds_start_fn start;	       /* credential_source provider */
	char start_name[48];
};

/* The checks of a profile with role_arn before its role joins the chain. */
static int profile_check_role(const struct profile_op *op, const struct creds_files *f, const char *cur,
			      const char *src, const char *csrc, char *err, size_t errsz)
{
	if (creds_files_get(f, cur, "mfa_serial")) {
		snprintf(err, errsz, "shared files: profile %s: mfa_serial is not supported", cur);
		return -EOPNOTSUPP;
	}
	if (src && csrc) {
		snprintf(err, errsz, "shared files: profile %s: both source_profile and credential_source",
			 cur);
		return -EINVAL;
	}
	if (!src && !csrc) {
		snprintf(err, errsz,
			 "shared files: profile %s: role_arn without source_profile or credential_source",
			 cur);
		return -EINVAL;
	}
	if (op->n_roles >= PROFILE_MAX_HOPS) {
		snprintf(err, errsz,
			 "shared files: profile %s: source_profile chain longer than %d or circular",
			 op->roles[0].profile, PROFILE_MAX_HOPS);
		return -ELOOP;
	}
	return 0;
}

/* Follows source_profile from cur, adding each role to op, until a profile
 * yields base credentials (static keys or credential_process, in botocore's
 * order after its role) or names a credential_source.  On failure err says
 * why; CREDS_SKIP when the requested profile simply has no credentials. */
static int profile_walk(struct profile_op *op, const struct creds_files *f, const char *cur,
			struct profile_base *b, char *err, size_t errsz)
{
	char source[300];
	int r;

	for (;;) {
		const char *role = creds_files_get(f, cur, "role_arn");
		const char *src = creds_files_get(f, cur, "source_profile");
		const char *csrc = creds_files_get(f, cur, "credential_source");

		b->profile = cur;
		/* A source_profile naming itself: its static keys are the base. */
		if (role && !(op->n_roles > 0 && strcmp(op->roles[op->n_roles - 1].profile, cur) == 0)) {
			r = profile_check_role(op, f, cur, src, csrc, err, errsz);
			if (r < 0)
				return r;
			if (profile_add_role(op, f, cur) < 0)
				return -ENOMEM;
			if (csrc) {
				/* The base credentials come from a provider of the chain. */
				b->start = profile_credential_source(csrc);
				if (!b->start) {
					snprintf(
					    err, errsz,
					    "shared files: profile %s: credential_source \"%.40s\" is not "
					    "Environment, Ec2InstanceMetadata or EcsContainer",
					    cur, csrc);
					return -EINVAL;
				}
				snprintf(b->start_name, sizeof(b->start_name), "%s", csrc);
				return 0;
			}
			if (strcmp(src, cur) != 0) {
				if (!creds_files_has_profile(f, src)) {
					snprintf(err, errsz,
						 "shared files: profile %s: source_profile \"%s\" not found",
						 cur, src);
					return -ENOENT;
				}
				cur = src;
				continue;
			}
		}
		snprintf(source, sizeof(source), "profile:%.200s", cur);
		r = profile_static(f, cur, source, &b->creds, err, errsz);
		if (r != 0)
			return r < 0 ? r : 0;
		b->process = creds_files_get(f, cur, "credential_process");
		if (b->process)
			return 0;
		if (op->n_roles == 0) {
			snprintf(err, errsz, "shared files: profile %s has no credentials", cur);
			return CREDS_SKIP;
		}
		snprintf(err, errsz, "shared files: source profile %s has no credentials", cur);
		return -ENOKEY;
	}
}

/* Starts what the walk found: *ret_creds when the answer is known now
 * (static keys, no role), else an op in *ret_op.  When that op is *opp's,
 * ownership moves to its callbacks and *opp becomes NULL; a
 * credential_process without roles is an op of its own, reporting to the
 * caller's done (the caller frees *opp then). */
static int profile_launch(struct profile_op **opp, struct profile_base *b, struct creds_op **ret_op,
			  struct aws_credentials **ret_creds, char *err, size_t errsz)
{
	struct profile_op *op = *opp;
	char label[300], source[300];
	int r;

	op->left = op->n_roles;
	if (b->start)
		r = profile_start_source(op, b->start, b->start_name, err, errsz);
	else if (op->n_roles == 0 && b->creds) {
		*ret_creds = b->creds;
		b->creds = NULL;
		return 0;
	} else if (b->process) {
		snprintf(label, sizeof(label), "credential_process (profile %.200s)", b->profile);
		snprintf(source, sizeof(source), "credential_process:%.200s", b->profile);
		if (op->n_roles == 0)
			return creds_process_start(op->ctx, b->process, label, source, op->done,
						   op->userdata, ret_op, err, errsz);
		r = creds_process_start(op->ctx, b->process, label, source, profile_step_done, op, &op->sub,
					err, errsz);
	} else
		r = profile_assume_next(op, b->creds, err, errsz);
	if (r < 0)
		return r;
	*ret_op = &op->base;
	*opp = NULL;
	return 0;
}

int creds_profile_start(const struct creds_ctx *ctx, creds_op_done_fn done, void *userdata,
			struct creds_op **ret_op, struct aws_credentials **ret_creds, char *err,
			size_t errsz)
{
	struct profile_base b = {0};
	struct creds_files f;
	struct profile_op *op = NULL;
	const char *cur;
	bool explicit;
	int r;

	r = creds_files_load(&f, err, errsz);
	if (r < 0)
		return r;
	cur = creds_profile_name(ctx, &explicit);
	if (!creds_files_has_profile(&f, cur)) {
		snprintf(err, errsz, "shared files: profile \"%s\" not found in %s or %s", cur,
			 f.credentials_path ? f.credentials_path : "(no credentials file)",
			 f.config_path ? f.config_path : "(no config file)");
		r = explicit ? -ENOENT : CREDS_SKIP;
		goto out;
	}
	op = calloc(1, sizeof(*op));
	if (!op) {
		r = -ENOMEM;
		goto out;
	}
	op->base.cancel = profile_cancel;
	op->ctx = ctx;
	op->done = done;
	op->userdata = userdata;

	r = profile_walk(op, &f, cur, &b, err, errsz);
	if (r == 0)
		r = profile_launch(&op, &b, ret_op, ret_creds, err, errsz);
out:
	if (op)
		profile_op_free(op);
	aws_credentials_free(b.creds);
	creds_files_done(&f);
	return r;
}
