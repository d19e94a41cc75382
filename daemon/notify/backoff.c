#include "notify/backoff.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/rand.h>

#include "util.h"

#define S_MS   1000LL
#define MIN_MS (60 * S_MS)
#define H_MS   (60 * MIN_MS)

/* Made for alerts, not for Standard Webhooks' bulk example (5 s, 5 min,
 * 30 min, ...): a receiver that is down for a deploy is back within seconds,
 * and an alert that waits 5 minutes for its third try is an alert missed.
 * So the first retries are short and the delay never grows past 5 minutes;
 * max_age (webhook.c) bounds how long one delivery is tried.  Index =
 * failed attempts so far. */
static const int64_t backoff_schedule_ms[] = {
    0, 1 * S_MS, 2 * S_MS, 5 * S_MS, 10 * S_MS, 30 * S_MS, 1 * MIN_MS, 2 * MIN_MS, 5 * MIN_MS,
};

int64_t webhook_backoff_base_ms(unsigned failed_attempts)
{
	if (failed_attempts >= ELEMENTSOF(backoff_schedule_ms))
		return backoff_schedule_ms[ELEMENTSOF(backoff_schedule_ms) - 1];
	return backoff_schedule_ms[failed_attempts];
}

int64_t webhook_backoff_delay_ms(unsigned failed_attempts, double jitter_unit)
{
	double base = (double)webhook_backoff_base_ms(failed_attempts);

	if (!(jitter_unit >= -1.0))
		jitter_unit = -1.0;
	if (jitter_unit > 1.0)
		jitter_unit = 1.0;
	return (int64_t)llround(base * (1.0 + WEBHOOK_JITTER * jitter_unit));
}

double webhook_backoff_random_unit(void)
{
	uint32_t v = 0;

	/* Jitter only spreads load, but RAND_bytes is already linked and needs
	 * no seeding discipline. */
	if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
		return 0.0;
	return (double)v / (double)UINT32_MAX * 2.0 - 1.0;
}

static int parse_imf_fixdate(const char *s, int64_t *ret_ms)
{
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	const char *end;
	time_t t;
	int mon = -1;

	/* "Sun, 06 Nov 1994 08:49:37 GMT": strptime's %b/%a are locale
	 * dependent, so the month is matched by hand. */
	if (strlen(s) != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
	    strcmp(s + 25, " GMT") != 0)
		return -EINVAL;
	for (int i = 0; i < 12; i++)
		if (strncmp(s + 8, months[i], 3) == 0)
			mon = i;
	if (mon < 0)
		return -EINVAL;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s + 5, "%d", &tm);
	if (end != s + 7)
		return -EINVAL;
	end = strptime(s + 12, "%Y %H:%M:%S", &tm);
	if (end != s + 25)
		return -EINVAL;
	tm.tm_mon = mon;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*ret_ms = (int64_t)t * 1000;
	return 0;
}

int webhook_parse_retry_after(const char *value, int64_t now_ms, int64_t *ret_delay_ms)
{
	int64_t v, at;

	if (str_empty(value))
		return -EINVAL;
	if (isdigit((unsigned char)value[0])) {
		/* delta-seconds; huge values clamp rather than fail. */
		for (const char *p = value; *p; p++)
			if (!isdigit((unsigned char)*p))
				return -EINVAL;
		if (strlen(value) > 12)
			v = WEBHOOK_RETRY_AFTER_MAX_MS;
		else if (parse_int64(value, 0, INT64_MAX / 1000, &v) < 0)
			return -EINVAL;
		else
			v *= 1000;
	} else {
		if (parse_imf_fixdate(value, &at) < 0)
			return -EINVAL;
		v = at > now_ms ? at - now_ms : 0;
	}
	*ret_delay_ms = v > WEBHOOK_RETRY_AFTER_MAX_MS ? WEBHOOK_RETRY_AFTER_MAX_MS : v;
	return 0;
}

double webhook_time_scale_from_env(void)
{
	const char *s = getenv("JW_WEBHOOK_TIME_SCALE");
	char *end = NULL;
	double d;

	if (str_empty(s))
		return 1.0;
	errno = 0;
	d = strtod(s, &end);
	if (errno || !end || *end || !(d > 0.0) || d > 1000.0)
		return 1.0;
	return d;
}
