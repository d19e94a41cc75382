/* Events: what the tracker emits, the store keeps in its outbox and the
 * notifiers deliver.  An event id is deterministic from (ARN, previous
 * status, status, updateTime) so the same transition seen twice -- after a
 * crash, or by two daemons -- has the same id. */
#ifndef JW_EVENT_H
#define JW_EVENT_H

#include <stdint.h>

#include "model.h"

enum event_type {
	EVENT_JOB_DISCOVERED,	  /* "job.discovered": first sight */
	EVENT_JOB_STATUS_CHANGED, /* "job.status_changed" */
	EVENT_JOB_STUCK,	  /* "job.stuck": non-terminal longer than stuck_after */
	EVENT_JOB_GONE,		  /* "job.gone": 404 after having been seen */
	EVENT_JOB_NOT_FOUND,	  /* "job.not_found": never seen, 404 past not_found_grace */
	_EVENT_TYPE_MAX,
	EVENT_TYPE_INVALID = -1,
};

const char *event_type_to_string(enum event_type t);
enum event_type event_type_from_string(const char *s);

#define EVENT_ID_LEN 32 /* hex characters */

struct event {
	int64_t seq; /* outbox row id, assigned by the store; 0 before */
	char id[EVENT_ID_LEN + 1];
	enum event_type type;
	int64_t detected_ms;		 /* wall clock when the daemon saw it */
	enum job_status previous_status; /* JOB_STATUS_INVALID for job.discovered */
	enum job_status status;
	char *region; /* owned */
	/* The observation that produced the event (for job.gone: the last one
	 * seen, status JOB_STATUS_GONE).  Owned. */
	struct job_observation *job;
};

struct event *event_free(struct event *e);

/* The deterministic id: first 128 bits of SHA-256 over
 * "ARN\nPREVIOUS\nSTATUS\nUPDATE_TIME_MS\nTYPE", lowercase hex. */
void event_compute_id(const char *arn, enum job_status previous, enum job_status status,
		      int64_t update_time_ms, enum event_type type, char out[EVENT_ID_LEN + 1]);

#endif
