/* A set of AWS credentials, as the provider chain (creds.h) yields them and
 * the signer (aws/sigv4.h) uses them. */
#ifndef JW_CREDS_CREDENTIALS_H
#define JW_CREDS_CREDENTIALS_H

#include <stdint.h>

/* A set of AWS credentials.  All strings owned; wiped when freed. */
struct aws_credentials {
	char *access_key_id;
	char *secret_access_key;
	char *session_token;   /* NULL for long-term keys */
	int64_t expiration_ms; /* 0 = does not expire */
	char *source;	       /* "environment", "profile:NAME", "imds", ... never secret */
};
struct aws_credentials *aws_credentials_new(const char *akid, const char *secret, const char *token,
					    int64_t expiration_ms, const char *source);
struct aws_credentials *aws_credentials_dup(const struct aws_credentials *c);
/* explicit_bzero()s every secret; NULL-safe. */
struct aws_credentials *aws_credentials_free(struct aws_credentials *c);

#endif
