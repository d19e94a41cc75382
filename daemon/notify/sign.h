/* Standard Webhooks signing, and loading the per-webhook secret and extra
 * headers from files.
 *
 * Secrets never appear in log lines or error texts; key bytes are wiped when
 * freed.
 */
#ifndef JW_NOTIFY_SIGN_H
#define JW_NOTIFY_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define SIGN_KEY_MAX	   64 /* the spec's secrets are 24..64 random bytes */
#define SIGN_SIGNATURE_MAX 64 /* "v1," + 44 base64 chars + NUL fits */

struct sign_key {
	unsigned char bytes[SIGN_KEY_MAX];
	size_t len;
};

/* Wipes the key bytes. NULL-safe. */
void sign_key_wipe(struct sign_key *k);

/* Decodes "whsec_" + base64 into key bytes.  On error returns -EINVAL and,
 * if err/errsz are given, a message that never contains the secret. */
int sign_key_from_secret(const char *secret, struct sign_key *ret, char *err, size_t errsz);

/* Resolves a secret_file setting: an absolute path is used as is; a relative
 * name is looked up as $CREDENTIALS_DIRECTORY/<basename> (systemd
 * LoadCredential=), and -ENOENT if that variable is unset.  The file holds
 * one "whsec_..." line; surrounding whitespace is trimmed.  Errors go to
 * err (never the secret) and as negative errno. */
int sign_key_load_file(const char *secret_file, struct sign_key *ret, char *err, size_t errsz);

/* "v1," + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")) into out
 * (at least SIGN_SIGNATURE_MAX bytes). */
int sign_signature(const struct sign_key *key, const char *msg_id, int64_t timestamp, const void *body,
		   size_t body_len, char *out, size_t out_size);

/* headers_file: "Name: value" lines, '#' comments and blank lines ignored.
 * Names must be RFC 9110 tokens; values are trimmed and may not contain CR,
 * LF or NUL.  Headers we set ourselves (content-type, user-agent, webhook-*,
 * host, content-length) are refused.  Returns a NULL-terminated array of
 * malloc'd "Name: value" strings (free with sign_headers_free(), which wipes
 * them).  Errors name the line number, never a value. */
int sign_headers_parse(const char *text, char ***ret, char *err, size_t errsz);
int sign_headers_load_file(const char *path, char ***ret, char *err, size_t errsz);
void sign_headers_free(char **headers);
/* A deep copy of a NULL-terminated header list (at most SIGN_HEADERS_MAX),
 * or NULL on ENOMEM or a longer list.  NULL in, an empty list out. */
char **sign_headers_copy(const char *const *headers);

#endif
