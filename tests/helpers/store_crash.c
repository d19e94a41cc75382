/* A writer for the SIGKILL crash test (tests/scenario/test_store_crash.py).
 *
 * Usage: store_crash DB [BATCHES]
 * Writes batches of job rows and events to the store, one store_flush() per
 * batch, and after each successful flush prints "C SEQ ID" for every event
 * of the batch (stdout flushed), so whatever was printed is committed.  On
 * start it re-adds the last events it finds and expects the store to call
 * them duplicates.  Runs until killed (or BATCHES batches). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "log.h"
#include "model.h"
#include "store.h"
#include "util.h"

#define JOBS_PER_BATCH 7
#define N_JOBS	       200

static const char *const sinks[] = {"journal", "webhook:crash", NULL};

static void make_arn(char *buf, size_t size, int64_t job)
{
	snprintf(buf, size,
		 "arn:aws:cleanrooms-ml:us-east-1:123456789012:audience-generation-job/crash-%04lld",
		 (long long)job);
}

/* Event number i is a status change of job i % N_JOBS at updateTime i. */
static int add_event(struct store *s, int64_t i, struct event *e)
{
	char arn[160];
	struct store_job row = {0};
	int r;

	make_arn(arn, sizeof(arn), i % N_JOBS);
	memset(e, 0, sizeof(*e));
	e->type = EVENT_JOB_STATUS_CHANGED;
	e->previous_status = JOB_STATUS_CREATE_PENDING;
	e->status = JOB_STATUS_CREATE_IN_PROGRESS;
	e->detected_ms = (int64_t)now_realtime_ms();
	e->region = strdup("us-east-1");
	e->job = job_observation_new();
	if (!e->region || !e->job)
		return -ENOMEM;
	e->job->arn = strdup(arn);
	e->job->status = e->status;
	e->job->update_time_ms = i;
	e->job->description =
	    strdup("a description long enough to fill pages quickly ......................");
	if (!e->job->arn || !e->job->description)
		return -ENOMEM;
	event_compute_id(arn, e->previous_status, e->status, i, e->type, e->id);
	r = store_add_event(s, e, sinks);
	if (r < 0)
		return r;
	row.arn = arn;
	row.status = e->status;
	row.update_time_ms = i;
	row.status_since_ms = i;
	row.polls = i;
	row.watched = true;
	row.source = "config";
	row.stuck_emitted = false;
	{
		int rj = store_put_job(s, &row);
		if (rj < 0)
			return rj;
	}
	return r; /* STORE_EVENT_ADDED or STORE_EVENT_DUPLICATE */
}

static void event_clear(struct event *e)
{
	free(e->region);
	job_observation_free(e->job);
	e->region = NULL;
	e->job = NULL;
}

int main(int argc, char **argv)
{
	struct store *s = NULL;
	struct event batch[JOBS_PER_BATCH];
	int64_t n = 0, limit = -1;
	int r;

	log_setup(LOG_TARGET_STDERR, LOG_WARNING);
	if (argc < 2)
		return 2;
	if (argc > 2 && parse_int64(argv[2], 0, INT64_MAX, &limit) < 0)
		return 2;
	r = store_open(argv[1], &s);
	if (r < 0) {
		fprintf(stderr, "store_open: %s\n", strerror(-r));
		return 1;
	}
	r = store_count_events(s, EVENT_TYPE_INVALID, &n);
	if (r < 0)
		return 1;
	/* The same transitions again (as after a restart): stored once. */
	for (int64_t i = n > 5 ? n - 5 : 0; i < n; i++) {
		struct event e;
		r = add_event(s, i, &e);
		event_clear(&e);
		if (r != STORE_EVENT_DUPLICATE || store_event_exists(s, e.id) != 1) {
			fprintf(stderr, "re-adding event %lld: r=%d\n", (long long)i, r);
			return 1;
		}
	}
	if (store_flush(s) < 0)
		return 1;
	for (int64_t b = 0; limit < 0 || b < limit; b++) {
		for (int k = 0; k < JOBS_PER_BATCH; k++) {
			r = add_event(s, n + k, &batch[k]);
			if (r != STORE_EVENT_ADDED) {
				fprintf(stderr, "add_event %lld: r=%d\n", (long long)(n + k), r);
				return 1;
			}
		}
		/* Deliveries move on in the same batches. */
		for (int k = 0; k < 3; k++) {
			struct event *e = NULL;
			if (store_delivery_next(s, "journal", INT64_MAX, &e, NULL, NULL) == 1)
				(void)store_delivery_done(s, "journal", e->seq);
			event_free(e);
		}
		r = store_flush(s);
		if (r < 0) {
			fprintf(stderr, "store_flush: %s\n", strerror(-r));
			return 1;
		}
		for (int k = 0; k < JOBS_PER_BATCH; k++) {
			printf("C %lld %s\n", (long long)batch[k].seq, batch[k].id);
			event_clear(&batch[k]);
		}
		fflush(stdout);
		n += JOBS_PER_BATCH;
	}
	store_close(s);
	return 0;
}
