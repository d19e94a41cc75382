/* Fuzz target "creds": the pure parsers of the credential chain
 * (daemon/creds/parse.h) on the same bytes -- the shared credentials and
 * config files (both kinds), credential_process's command line and JSON, the
 * container and IMDS JSON documents, and the STS XML replies of AssumeRole
 * and AssumeRoleWithWebIdentity.
 *
 * Invariants: success returns complete credentials and failure returns none
 * and a non-empty, terminated reason; lookups on a parsed file are safe for
 * every profile it reports; a split command line is NULL-terminated with
 * argc words. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "creds/parse.h"
#include "fuzz_common.h"
#include "creds/credentials.h"

static void fuzz_creds_check(int r, struct aws_credentials *c, const char *err, size_t errsz)
{
	if (r == 0) {
		FUZZ_CHECK(c);
		FUZZ_CHECK(c->access_key_id && c->access_key_id[0]);
		FUZZ_CHECK(c->secret_access_key && c->secret_access_key[0]);
		FUZZ_CHECK(c->expiration_ms >= 0);
	} else {
		FUZZ_CHECK(r < 0);
		FUZZ_CHECK(!c);
		FUZZ_CHECK(fuzz_terminated(err, errsz));
		FUZZ_CHECK(err[0] != '\0');
	}
	aws_credentials_free(c);
}

static void fuzz_creds_ini(const char *text, size_t len, enum creds_ini_kind kind)
{
	static const char *const profiles[] = {"default", "prod", "dev", "profile x", ""};
	static const char *const keys[] = {
	    "aws_access_key_id", "aws_secret_access_key", "region", "credential_process",
	    "role_arn",		 "source_profile"};
	struct creds_ini *f = NULL;
	char err[256] = "";
	int r;

	r = creds_ini_parse(text, len, kind, &f, err, sizeof(err));
	if (r < 0) {
		FUZZ_CHECK(!f);
		FUZZ_CHECK(fuzz_terminated(err, sizeof(err)) && err[0]);
		return;
	}
	FUZZ_CHECK(f);
	(void)creds_ini_n_profiles(f);
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
		(void)creds_ini_has_profile(f, profiles[i]);
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			const char *v = creds_ini_get(f, profiles[i], keys[k]);
			if (v)
				(void)strlen(v);
		}
	}
	FUZZ_CHECK(creds_ini_free(f) == NULL);
}

static void fuzz_creds_command(const char *cmd)
{
	char **argv = NULL;
	char err[256] = "";
	size_t argc = 0, n = 0;
	int r;

	r = creds_split_command(cmd, &argv, &argc, err, sizeof(err));
	if (r < 0) {
		FUZZ_CHECK(!argv);
		FUZZ_CHECK(fuzz_terminated(err, sizeof(err)) && err[0]);
		return;
	}
	FUZZ_CHECK(argv);
	while (argv[n])
		n++;
	FUZZ_CHECK(n == argc);
	creds_argv_free(argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct aws_credentials *c;
	char err[256], code[64], sanitized[64];
	char *s;
	int r;

	fuzz_quiet();
	fuzz_creds_ini(body, size, CREDS_INI_CREDENTIALS);
	fuzz_creds_ini(body, size, CREDS_INI_CONFIG);

	s = fuzz_strndup(data, size);
	fuzz_creds_command(s);
	free(s);

	c = NULL;
	err[0] = '\0';
	r = creds_parse_process_json(body, size, "process", &c, err, sizeof(err));
	fuzz_creds_check(r, c, err, sizeof(err));
	for (int imds = 0; imds <= 1; imds++) {
		c = NULL;
		err[0] = '\0';
		r = creds_parse_http_json(body, size, imds, imds ? "imds" : "container", &c, err,
					  sizeof(err));
		fuzz_creds_check(r, c, err, sizeof(err));
	}

	/* STS XML is parsed by libxml2, the slowest parser here: only inputs
	 * that look like markup (after optional blanks). */
	for (size_t i = 0; i < size; i++) {
		if (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t')
			continue;
		if (data[i] != '<')
			break;
		for (int a = 0; a < 2; a++) {
			c = NULL;
			err[0] = '\0';
			memset(code, 0x5a, sizeof(code));
			r = creds_parse_sts_xml(body, size, a ? "AssumeRoleWithWebIdentity" : "AssumeRole",
						"sts", &c, code, sizeof(code), err, sizeof(err));
			FUZZ_CHECK(fuzz_terminated(code, sizeof(code)));
			FUZZ_CHECK(r != -EACCES || err[0]);
			fuzz_creds_check(r, c, err, sizeof(err));
		}
		break;
	}

	creds_sanitize(body, size, sanitized, sizeof(sanitized));
	FUZZ_CHECK(fuzz_terminated(sanitized, sizeof(sanitized)));
	for (size_t i = 0; sanitized[i]; i++)
		FUZZ_CHECK((unsigned char)sanitized[i] >= 0x20 && sanitized[i] != 0x7f);
	return 0;
}
