/* A set of AWS credentials: what the provider chain yields and the signer
 * signs with. */
#include "creds/credentials.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct aws_credentials *aws_credentials_new(const char *akid, const char *secret, const char *token,
					    int64_t expiration_ms, const char *source)
{
	struct aws_credentials *c;

	if (!akid || !secret)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->access_key_id = strdup(akid);
	c->secret_access_key = strdup(secret);
	c->session_token = strdup_or_null(token);
	c->source = strdup_or_null(source);
	c->expiration_ms = expiration_ms;
	if (!c->access_key_id || !c->secret_access_key || (token && !c->session_token) ||
	    (source && !c->source))
		return aws_credentials_free(c);
	return c;
}

struct aws_credentials *aws_credentials_dup(const struct aws_credentials *c)
{
	if (!c)
		return NULL;
	return aws_credentials_new(c->access_key_id, c->secret_access_key, c->session_token,
				   c->expiration_ms, c->source);
}

struct aws_credentials *aws_credentials_free(struct aws_credentials *c)
{
	if (!c)
		return NULL;
	secret_free(c->access_key_id);
	secret_free(c->secret_access_key);
	secret_free(c->session_token);
	free(c->source);
	explicit_bzero(c, sizeof(*c));
	free(c);
	return NULL;
}
