/* Retry timing for webhook deliveries: a schedule made for alerts with
 * jitter, Retry-After parsing and the test-only time scale.  Pure functions,
 * no I/O. */
#ifndef JW_NOTIFY_BACKOFF_H
#define JW_NOTIFY_BACKOFF_H

#include <stdint.h>

/* Retry-After values beyond this are clamped: Retry-After holds the whole
 * hook (it speaks for the receiver, not for one event), and a broken or
 * hostile receiver must not hold alerts for longer than the schedule's
 * longest step does. */
#define WEBHOOK_RETRY_AFTER_MAX_MS (3600LL * 1000)
/* How long one delivery is retried (webhook max_age) unless configured. */
#define WEBHOOK_MAX_AGE_DEFAULT_MS (24LL * 3600 * 1000)
#define WEBHOOK_JITTER		   0.10

/* The delay before attempt n+1 after n failed attempts (n >= 1), before
 * jitter: 1, 2, 5, 10, 30 s, 1, 2, 5 min, then 5 min until max_age.  0 for
 * n == 0 (the first attempt is immediate). */
int64_t webhook_backoff_base_ms(unsigned failed_attempts);
/* With jitter: jitter_unit in [-1, 1] maps to -10 % .. +10 % of the base. */
int64_t webhook_backoff_delay_ms(unsigned failed_attempts, double jitter_unit);
/* A uniformly random jitter_unit in [-1, 1]. */
double webhook_backoff_random_unit(void);
/* Retry-After: delta-seconds or an IMF-fixdate (RFC 9110, e.g.
 * "Wed, 21 Oct 2015 07:28:00 GMT").  Sets the delay from now_ms (0 for dates
 * in the past), clamped to WEBHOOK_RETRY_AFTER_MAX_MS.  -EINVAL otherwise. */
int webhook_parse_retry_after(const char *value, int64_t now_ms, int64_t *ret_delay_ms);
/* The time scale from $JW_WEBHOOK_TIME_SCALE: a number in (0, 1000], else
 * 1.0 (unset or invalid).  Tests set it to compress hours into ms. */
double webhook_time_scale_from_env(void);

#endif
