/* Fuzz target "sigv4": sigv4_sign() with a fuzzed request.
 *
 * Input lines: a flags line (its first byte: bit 0 normalize_path, bit 1
 * session token, bit 2 second secret, bits 3..7 days added to the signing
 * time), then method, host, path, query (an empty line = no query), then
 * "Name: value" header lines up to an empty line; the rest is the payload.
 *
 * Invariants: a signature is 64 lowercase hex digits and deterministic
 * (signing twice gives the same signature, whatever the key cache holds);
 * the Authorization line names the access key and the scope; the session
 * token header appears exactly when the credentials carry one; a refusal
 * leaves nothing allocated. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "aws/sigv4.h"
#include "creds/credentials.h"

#define FUZZ_SIGV4_MAX_HEADERS 80

static struct sigv4_signer *fuzz_sigv4_signer;

static void fuzz_sigv4_cleanup(void)
{
	fuzz_sigv4_signer = sigv4_signer_free(fuzz_sigv4_signer);
}

static void fuzz_sigv4_check(const struct sigv4_signed *o, const struct aws_credentials *c)
{
	FUZZ_CHECK(o->authorization && o->amz_date && o->canonical_request && o->string_to_sign);
	FUZZ_CHECK(strlen(o->signature) == 64);
	for (size_t i = 0; i < 64; i++)
		FUZZ_CHECK((o->signature[i] >= '0' && o->signature[i] <= '9') ||
			   (o->signature[i] >= 'a' && o->signature[i] <= 'f'));
	FUZZ_CHECK(strncmp(o->authorization, "Authorization: AWS4-HMAC-SHA256 Credential=AKIDFUZZ/",
			   strlen("Authorization: AWS4-HMAC-SHA256 Credential=AKIDFUZZ/")) == 0);
	FUZZ_CHECK(strstr(o->authorization, "/us-east-1/cleanrooms-ml/aws4_request, SignedHeaders="));
	FUZZ_CHECK(strstr(o->authorization, o->signature));
	FUZZ_CHECK(!strstr(o->authorization, c->secret_access_key));
	FUZZ_CHECK((o->security_token != NULL) == (c->session_token != NULL));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const secrets[] = {"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
					      "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"};
	const uint8_t *p = data;
	size_t left = size, nh = 0;
	char *flags, *method, *host, *path, *query;
	char *headers[FUZZ_SIGV4_MAX_HEADERS + 1];
	struct aws_credentials *c;
	struct sigv4_request r;
	struct sigv4_signed out, again;
	unsigned f;
	int k;

	fuzz_quiet();
	if (!fuzz_sigv4_signer) {
		FUZZ_CHECK(sigv4_signer_new("us-east-1", "cleanrooms-ml", &fuzz_sigv4_signer) == 0);
		atexit(fuzz_sigv4_cleanup);
	}

	flags = fuzz_next_line(&p, &left);
	method = fuzz_next_line(&p, &left);
	host = fuzz_next_line(&p, &left);
	path = fuzz_next_line(&p, &left);
	query = fuzz_next_line(&p, &left);
	f = flags && flags[0] ? (unsigned char)flags[0] : 0;
	while (nh < FUZZ_SIGV4_MAX_HEADERS) {
		char *h = fuzz_next_line(&p, &left);
		if (!h)
			break;
		if (!h[0]) {
			free(h);
			break;
		}
		headers[nh++] = h;
	}
	headers[nh] = NULL;

	c = aws_credentials_new("AKIDFUZZ", secrets[(f >> 2) & 1], (f & 2) ? "FUZZSESSIONTOKEN" : NULL, 0,
				"fuzz");
	FUZZ_CHECK(c);
	r = (struct sigv4_request){
	    .method = method,
	    .host = host,
	    .path = path,
	    .query = query && query[0] ? query : NULL,
	    .headers = (const char *const *)headers,
	    .payload = left ? p : NULL,
	    .payload_len = left,
	    .now = (time_t)1705320000 + (time_t)(f >> 3) * 86400,
	    .normalize_path = f & 1,
	};

	k = sigv4_sign(fuzz_sigv4_signer, c, &r, &out);
	if (k >= 0) {
		fuzz_sigv4_check(&out, c);
		FUZZ_CHECK(sigv4_sign(fuzz_sigv4_signer, c, &r, &again) >= 0);
		FUZZ_CHECK(strcmp(out.signature, again.signature) == 0);
		FUZZ_CHECK(strcmp(out.canonical_request, again.canonical_request) == 0);
		sigv4_signed_done(&again);
	} else {
		FUZZ_CHECK(k == -EINVAL || k == -E2BIG || k == -ENOMEM);
		FUZZ_CHECK(!out.authorization && !out.canonical_request && !out.string_to_sign);
	}
	sigv4_signed_done(&out);

	aws_credentials_free(c);
	for (size_t i = 0; i < nh; i++)
		free(headers[i]);
	free(flags);
	free(method);
	free(host);
	free(path);
	free(query);
	return 0;
}
