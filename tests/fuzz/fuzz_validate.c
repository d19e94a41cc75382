/* Fuzz target "validate": the small validators and parsers of values that
 * come from config, the API or the control socket -- ARN and UUID checks,
 * URL and listen-address parsing, durations, booleans, percentages and
 * ISO 8601 timestamps, HTTP Date headers and the region field of ARNs -- all
 * on the input as one C string.
 *
 * Invariants: durations and timestamps round-trip through their formatters
 * (format then parse gives the same value); a valid UUID is 36 characters;
 * a valid job ARN has an id; a parsed URL has a host and a port. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz_common.h"
#include "util.h"

static void fuzz_validate_time(const char *s)
{
	int64_t ms, again;
	uint64_t d, d2;
	char buf[64];

	if (parse_duration_ms(s, &d) >= 0) {
		format_duration(d, buf, sizeof(buf));
		if (parse_duration_ms(buf, &d2) < 0 || d2 != d)
			fprintf(stderr, "duration %llu formats as \"%s\" which does not parse back\n",
				(unsigned long long)d, buf);
		FUZZ_CHECK(parse_duration_ms(buf, &d2) >= 0 && d2 == d);
	}
	if (parse_iso8601_ms(s, &ms) >= 0) {
		format_iso8601_ms(ms, buf, sizeof(buf));
		if (parse_iso8601_ms(buf, &again) < 0 || again != ms)
			fprintf(stderr, "timestamp %lld formats as \"%s\" which does not parse back\n",
				(long long)ms, buf);
		FUZZ_CHECK(parse_iso8601_ms(buf, &again) >= 0 && again == ms);
	}
}

/* Network input: an answer's Date header and the region field of an ARN. */
static void fuzz_validate_http(const char *s)
{
	const char *r, *p;
	char buf[64], region[64];
	int64_t ms;
	size_t n;

	if (parse_http_date_ms(s, &ms) >= 0) {
		/* Whole seconds, and the calendar fields as given: a day that
		 * does not exist in its month must not be normalized into the
		 * next one. */
		FUZZ_CHECK(ms % 1000 == 0);
		format_iso8601_ms(ms, buf, sizeof(buf));
		p = strstr(s, ", ");
		FUZZ_CHECK(p && strncmp(p + 2, buf + 8, 2) == 0);
	}
	n = arn_region(s, &r);
	if (r) {
		FUZZ_CHECK(r > s && r + n <= s + strlen(s));
		FUZZ_CHECK(r[n] == ':' || r[n] == 0);
		if (n > 0 && n < sizeof(region)) {
			memcpy(region, r, n);
			region[n] = 0;
			FUZZ_CHECK(arn_in_region(s, region));
		}
	} else {
		FUZZ_CHECK(n == 0);
	}
}

static void fuzz_validate_net(const char *s)
{
	struct config_url u;
	enum config_listen_kind kind;
	const char *reason = NULL;
	char *host = NULL;
	unsigned port = 0;

	memset(&u, 0, sizeof(u));
	if (config_url_parse(s, &u, &reason) >= 0) {
		FUZZ_CHECK(u.host && u.path_and_query);
		FUZZ_CHECK(u.path_and_query[0] == '/');
		FUZZ_CHECK(u.port <= 65535);
		(void)config_host_is_loopback(u.host);
		config_url_done(&u);
	} else {
		FUZZ_CHECK(reason && reason[0]);
	}
	reason = NULL;
	if (config_listen_parse(s, &kind, &host, &port, &reason) >= 0) {
		FUZZ_CHECK(host);
		FUZZ_CHECK(kind == CONFIG_LISTEN_TCP || kind == CONFIG_LISTEN_UNIX);
		FUZZ_CHECK(kind != CONFIG_LISTEN_UNIX || host[0] == '/');
		FUZZ_CHECK(port <= 65535);
		free(host);
	} else {
		FUZZ_CHECK(reason && reason[0]);
	}
	(void)config_host_is_loopback(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	int64_t i64;
	double d;

	fuzz_quiet();
	s = fuzz_strndup(data, size);

	if (arn_is_audience_generation_job(s)) {
		const char *id = arn_job_id(s);
		FUZZ_CHECK(id && id[0]);
		FUZZ_CHECK(strlen(s) >= 20 && strlen(s) <= 2048);
	}
	(void)arn_is_configured_audience_model(s);
	if (uuid_is_valid(s))
		FUZZ_CHECK(strlen(s) == 36);
	fuzz_validate_net(s);
	fuzz_validate_time(s);
	fuzz_validate_http(s);
	(void)parse_boolean(s);
	if (parse_percent(s, &d) >= 0)
		FUZZ_CHECK(d >= 0 && d <= 1.0);
	if (parse_int64(s, -1000, 1000, &i64) >= 0)
		FUZZ_CHECK(i64 >= -1000 && i64 <= 1000);
	(void)job_status_from_string(s);
	(void)event_type_from_string(s);
	(void)payload_format_from_string(s);

	free(s);
	return 0;
}
