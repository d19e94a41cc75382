/* Retry timing for webhook deliveries: the Standard Webhooks schedule with
 * jitter, Retry-After parsing and the test-only time scale.  Pure functions,
 * no I/O. */
#ifndef JW_NOTIFY_BACKOFF_H
#define JW_NOTIFY_BACKOFF_H

#include <stdint.h>

/* Retry-After values beyond this are clamped (a broken or hostile receiver
 * must not stall a hook for weeks). */
#define WEBHOOK_RETRY_AFTER_MAX_MS (24LL * 3600 * 1000)
#define WEBHOOK_JITTER		   0.10

/* The delay before attempt n+1 after n failed attempts (n >= 1), before
 * jitter: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h, then 24 h
 * forever.  0 for n == 0 (the first attempt is immediate). */
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
