/* Pure parsers of the credential chain, kept apart from any I/O so that unit
 * tests and fuzz targets can feed them bytes directly.
 *
 * Every parser writes a human-readable reason into err (never a secret value)
 * and returns a negative errno: -EINVAL for bad syntax or missing fields,
 * -EPROTO for a response that is not what the protocol promises, -EACCES for
 * an AWS error document (err is then "Code: Message").  Credentials returned
 * are owned by the caller (aws_credentials_free()).
 */
#ifndef JW_CREDS_PARSE_H
#define JW_CREDS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aws_credentials;

/* ---- shared config / credentials files (INI, AWS rules) ---- */

enum creds_ini_kind {
	CREDS_INI_CREDENTIALS, /* [name] is the profile name as written */
	CREDS_INI_CONFIG,      /* [default] and [profile name]; other sections ignored */
	_CREDS_INI_KIND_MAX,
	CREDS_INI_KIND_INVALID = -1,
};

struct creds_ini;

/* Parses a whole file.  err gets "line N: reason".  Keys are lower-cased;
 * values trimmed; comment lines start with '#' or ';'; indented lines after an
 * empty-valued key are a nested sub-section (e.g. "s3 =") kept as "s3.key";
 * a repeated section merges into the first (later keys win).  In the config
 * file, [services name] sections are kept apart from profiles. */
int creds_ini_parse(const char *text, size_t len, enum creds_ini_kind kind, struct creds_ini **ret,
		    char *err, size_t errsz);
/* Wipes all values (they may be secrets).  NULL-safe. */
struct creds_ini *creds_ini_free(struct creds_ini *f);
bool creds_ini_has_profile(const struct creds_ini *f, const char *profile);
/* Borrowed value or NULL.  f may be NULL. */
const char *creds_ini_get(const struct creds_ini *f, const char *profile, const char *key);
size_t creds_ini_n_profiles(const struct creds_ini *f);
/* A key of a [services name] section of the config file ("cleanroomsml.endpoint_url"). */
const char *creds_ini_get_services(const struct creds_ini *f, const char *name, const char *key);

/* ---- credential_process ---- */

/* Splits a command line the POSIX shell way (like Python's shlex.split):
 * blanks separate words, '...' is literal, "..." honours \" \\ \$ \` and
 * \<newline>, a backslash outside quotes escapes the next character.  No
 * expansion of any kind.  *ret_argv is NULL-terminated; free with
 * creds_argv_free(). */
int creds_split_command(const char *cmd, char ***ret_argv, size_t *ret_argc, char *err, size_t errsz);
void creds_argv_free(char **argv);

/* JSON Version 1 {AccessKeyId, SecretAccessKey, SessionToken?, Expiration?}. */
int creds_parse_process_json(const char *body, size_t len, const char *source, struct aws_credentials **ret,
			     char *err, size_t errsz);

/* ---- container endpoint / IMDS ---- */

/* {AccessKeyId, SecretAccessKey, Token, Expiration}.  With require_code_success
 * (IMDS) the document must also carry "Code": "Success". */
int creds_parse_http_json(const char *body, size_t len, bool require_code_success, const char *source,
			  struct aws_credentials **ret, char *err, size_t errsz);

/* ---- STS (Query protocol, XML) ---- */

/* action is "AssumeRole" or "AssumeRoleWithWebIdentity".  Parses either the
 * <{action}Response> document or an <ErrorResponse> (then -EACCES with err
 * "Code: Message" and *ret_code, if given, the code).  Documents with a DTD
 * are refused; entities are never expanded and nothing is fetched. */
int creds_parse_sts_xml(const char *body, size_t len, const char *action, const char *source,
			struct aws_credentials **ret, char *ret_code, size_t codesz, char *err,
			size_t errsz);

/* Copies s into out for an error message: control characters become '?',
 * the result is capped (with "..." when cut). */
void creds_sanitize(const char *s, size_t len, char *out, size_t outsz);

#endif
