/* The service's clock as this machine sees it.  SigV4 refuses a request
 * signed more than 15 minutes away from the service's time, so a machine
 * whose clock is wrong (no NTP yet, a VM restored from a snapshot) would
 * have every request refused.  As the SDKs for JS and Go do, each answer's
 * Date header is compared with the corrected clock; once they are 5 minutes
 * or more apart, later requests are signed with the service's time.
 *
 * One clock is shared by everything that signs for the daemon (the Clean
 * Rooms ML client, the EventBridge sinks): a correction learnt from one
 * service's answer applies to the others' next requests. */
#ifndef JW_AWS_CLOCK_H
#define JW_AWS_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct http_response;

#define AWS_CLOCK_SKEW_MS (5 * 60 * 1000)

struct aws_clock {
	int64_t offset_ms; /* the service's clock minus ours; 0 until they differ by AWS_CLOCK_SKEW_MS */
};

/* The wall clock corrected by k's offset (k NULL: uncorrected), ms since
 * the epoch. */
int64_t aws_clock_now_ms(const struct aws_clock *k);

/* Compares resp's Date header with the corrected clock and moves the offset
 * when they are AWS_CLOCK_SKEW_MS or more apart (one warning, naming
 * service).  Returns true when the offset moved.  A transport error or an
 * answer without a valid Date changes nothing. */
bool aws_clock_correct(struct aws_clock *k, const struct http_response *resp, const char *service);

#endif
