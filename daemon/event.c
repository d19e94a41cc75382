#include "event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "util.h"

static const char *const event_type_names[_EVENT_TYPE_MAX] = {
    [EVENT_JOB_DISCOVERED] = "job.discovered", [EVENT_JOB_STATUS_CHANGED] = "job.status_changed",
    [EVENT_JOB_STUCK] = "job.stuck",	       [EVENT_JOB_GONE] = "job.gone",
    [EVENT_JOB_NOT_FOUND] = "job.not_found",
};

const char *event_type_to_string(enum event_type t)
{
	if (t < 0 || t >= _EVENT_TYPE_MAX)
		return NULL;
	return event_type_names[t];
}

enum event_type event_type_from_string(const char *s)
{
	if (!s)
		return EVENT_TYPE_INVALID;
	for (int i = 0; i < _EVENT_TYPE_MAX; i++)
		if (strcmp(s, event_type_names[i]) == 0)
			return (enum event_type)i;
	return EVENT_TYPE_INVALID;
}

struct event *event_free(struct event *e)
{
	if (!e)
		return NULL;
	free(e->region);
	job_observation_free(e->job);
	free(e);
	return NULL;
}

void event_compute_id(const char *arn, enum job_status previous, enum job_status status,
		      int64_t update_time_ms, enum event_type type, char out[EVENT_ID_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char buf[2400];
	const char *p = job_status_to_string(previous), *s = job_status_to_string(status);
	int n = snprintf(buf, sizeof(buf), "%s\n%s\n%s\n%lld\n%s", arn ? arn : "", p ? p : "", s ? s : "",
			 (long long)update_time_ms,
			 event_type_to_string(type) ? event_type_to_string(type) : "");

	if (n < 0 || (size_t)n >= sizeof(buf))
		n = (int)strlen(buf);
	EVP_Digest(buf, (size_t)n, md, &mdlen, EVP_sha256(), NULL);
	hex_encode(md, EVENT_ID_LEN / 2, out);
}
