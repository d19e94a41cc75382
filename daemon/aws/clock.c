#include "aws/clock.h"

#include <stdlib.h>

#include "http.h"
#include "log.h"
#include "util.h"

int64_t aws_clock_now_ms(const struct aws_clock *k)
{
	return (int64_t)now_realtime_ms() + (k ? k->offset_ms : 0);
}

bool aws_clock_correct(struct aws_clock *k, const struct http_response *resp, const char *service)
{
	int64_t server_ms, now = (int64_t)now_realtime_ms(), was;
	const char *date;

	if (!k || !resp || resp->error != HTTP_OK)
		return false;
	date = http_response_header(resp, "date");
	if (parse_http_date_ms(date, &server_ms) < 0)
		return false;
	was = k->offset_ms;
	if (llabs(server_ms - (now + was)) < AWS_CLOCK_SKEW_MS)
		return false;
	k->offset_ms = server_ms - now;
	log_warning("the local clock is %+.0f s off the service's (the Date header of %s says %s); signing "
		    "with the service's time from now on (was %+.0f s)",
		    (double)-k->offset_ms / 1000.0, service ? service : "AWS", date, (double)-was / 1000.0);
	return true;
}
