/* Fuzz target "api": the AWS API answer parsers -- GetAudienceGenerationJob
 * (aws_parse_get), one ListAudienceGenerationJobs page (aws_parse_list) and
 * error answers (aws_error_parse) -- on the same bytes.
 *
 * Invariants: a parsed Get re-serializes with job_observation_to_json() and
 * that JSON parses again to the same JSON (a round trip through the state
 * store must not change a job); a List page respects its caps; an error's
 * fields are always terminated strings. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/errors.h"
#include "aws/parse.h"
#include "fuzz_common.h"
#include "model.h"

static void fuzz_api_roundtrip(const struct job_observation *o)
{
	struct job_observation *again = NULL;
	char err[256];
	char *js, *js2;
	int r;

	js = job_observation_to_json(o);
	FUZZ_CHECK(js);
	r = aws_parse_get(js, strlen(js), &again, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "re-parse of own JSON failed: %s\n%s\n", err, js);
	FUZZ_CHECK(r == 0);
	js2 = job_observation_to_json(again);
	FUZZ_CHECK(js2);
	if (strcmp(js, js2) != 0)
		fprintf(stderr, "round trip differs:\n%s\n%s\n", js, js2);
	FUZZ_CHECK(strcmp(js, js2) == 0);
	free(js2);
	free(js);
	job_observation_free(again);
}

static void fuzz_api_get(const char *body, size_t len)
{
	struct job_observation *o = NULL;
	char err[256] = "";
	int r;

	r = aws_parse_get(body, len, &o, err, sizeof(err));
	if (r < 0) {
		FUZZ_CHECK(!o);
		FUZZ_CHECK(fuzz_terminated(err, sizeof(err)));
		FUZZ_CHECK(err[0] != '\0');
		return;
	}
	FUZZ_CHECK(o);
	FUZZ_CHECK(o->arn && o->name);
	FUZZ_CHECK(job_status_is_api(o->status));
	FUZZ_CHECK(o->n_tags <= AWS_MAX_TAGS);
	FUZZ_CHECK(o->n_relevance_metrics <= AWS_MAX_RELEVANCE_METRICS);
	FUZZ_CHECK(!o->from_list);
	fuzz_api_roundtrip(o);
	job_observation_free(o);
}

static void fuzz_api_list(const char *body, size_t len)
{
	struct job_observation **items = NULL;
	char *next = NULL;
	char err[256] = "";
	size_t n = 0, skipped = 0;
	int r;

	r = aws_parse_list(body, len, &items, &n, &skipped, &next, err, sizeof(err));
	if (r < 0) {
		FUZZ_CHECK(!items && !next);
		FUZZ_CHECK(fuzz_terminated(err, sizeof(err)));
		return;
	}
	FUZZ_CHECK(n + skipped <= AWS_MAX_PAGE_ITEMS);
	FUZZ_CHECK(skipped == 0 || fuzz_terminated(err, sizeof(err)));
	FUZZ_CHECK((n == 0) == (items == NULL));
	FUZZ_CHECK(!next || (next[0] && strlen(next) <= AWS_MAX_NEXT_TOKEN));
	for (size_t i = 0; i < n; i++) {
		char *js;

		FUZZ_CHECK(items[i] && items[i]->from_list && items[i]->arn);
		js = job_observation_to_json(items[i]);
		FUZZ_CHECK(js);
		free(js);
	}
	aws_job_array_free(items, n);
	free(next);
}

static void fuzz_api_error(const uint8_t *data, size_t size)
{
	struct aws_error e;
	const uint8_t *p = data;
	size_t left = size;
	char *type_hdr, *reqid_hdr;
	char sanitized[128];

	/* As a body alone, then with the first two lines as the
	 * x-amzn-errortype and x-amzn-requestid headers. */
	memset(&e, 0xa5, sizeof(e));
	aws_error_parse(NULL, NULL, (const char *)data, size, &e);
	FUZZ_CHECK(fuzz_terminated(e.type, sizeof(e.type)));
	FUZZ_CHECK(fuzz_terminated(e.message, sizeof(e.message)));
	FUZZ_CHECK(fuzz_terminated(e.request_id, sizeof(e.request_id)));

	type_hdr = fuzz_next_line(&p, &left);
	reqid_hdr = fuzz_next_line(&p, &left);
	memset(&e, 0x5a, sizeof(e));
	aws_error_parse(type_hdr, reqid_hdr, (const char *)p, left, &e);
	FUZZ_CHECK(fuzz_terminated(e.type, sizeof(e.type)));
	FUZZ_CHECK(fuzz_terminated(e.message, sizeof(e.message)));
	FUZZ_CHECK(fuzz_terminated(e.request_id, sizeof(e.request_id)));
	FUZZ_CHECK(!strchr(e.type, ':'));

	for (long status = 200; status <= 504; status += 101) {
		enum aws_outcome oc = aws_classify(HTTP_OK, status, e.type);
		FUZZ_CHECK(oc >= 0 && oc < _AWS_OUTCOME_MAX);
		FUZZ_CHECK(aws_outcome_to_string(oc));
	}
	(void)aws_error_type_is_throttling(e.type);
	(void)aws_error_type_is_transient(e.type);

	if (type_hdr) {
		aws_error_sanitize_type(type_hdr, sanitized, sizeof(sanitized));
		FUZZ_CHECK(fuzz_terminated(sanitized, sizeof(sanitized)));
		aws_error_sanitize_type(type_hdr, sanitized, 1);
		FUZZ_CHECK(sanitized[0] == '\0');
	}
	free(type_hdr);
	free(reqid_hdr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_quiet();
	/* The bytes exactly as received (no terminator after them): ASan sees
	 * any read past len. */
	fuzz_api_get((const char *)data, size);
	fuzz_api_list((const char *)data, size);
	fuzz_api_error(data, size);
	return 0;
}
