/* Test helper: sends journal entries through journal_send_event() and
 * prints "<kind> <event id>" per entry, for tests/scenario/test_journal_*.sh.
 *
 *   journal_send full     a CREATE_IN_PROGRESS -> CREATE_FAILED change with a
 *                         multi-line status message containing '%' and '='
 *   journal_send minimal  a job.discovered without optional fields
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "model.h"
#include "notify/journal.h"
#include "util.h"

#define ARN	"arn:aws:cleanrooms-ml:us-east-1:111122223333:audience-generation-job/abcd-1234"
#define CAM_ARN "arn:aws:cleanrooms-ml:us-east-1:111122223333:configured-audience-model/cam-1"

static struct event *make(bool full)
{
	struct event *e = calloc(1, sizeof(*e));
	struct job_observation *o = job_observation_new();

	if (!e || !o)
		exit(1);
	o->arn = strdup(ARN);
	e->job = o;
	e->detected_ms = 1705323605000;
	if (full) {
		o->name = strdup("weekly-lookalike");
		o->status = JOB_STATUS_CREATE_FAILED;
		o->status_code = strdup("ValidationException");
		o->status_message = strdup("seed audience too small: 12%s rows\nsee FOO=bar\nthird line");
		o->configured_audience_model_arn = strdup(CAM_ARN);
		o->collaboration_id = strdup("11111111-2222-3333-4444-555555555555");
		o->update_time_ms = 1705323600500;
		e->type = EVENT_JOB_STATUS_CHANGED;
		e->previous_status = JOB_STATUS_CREATE_IN_PROGRESS;
		e->status = JOB_STATUS_CREATE_FAILED;
	} else {
		o->status = JOB_STATUS_CREATE_PENDING;
		e->type = EVENT_JOB_DISCOVERED;
		e->previous_status = JOB_STATUS_INVALID;
		e->status = JOB_STATUS_CREATE_PENDING;
	}
	event_compute_id(ARN, e->previous_status, e->status, o->update_time_ms, e->type, e->id);
	return e;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		bool full = strcmp(argv[i], "full") == 0;
		struct event *e;
		int r;

		if (!full && strcmp(argv[i], "minimal") != 0) {
			fprintf(stderr, "usage: %s full|minimal...\n", argv[0]);
			return 2;
		}
		e = make(full);
		r = journal_send_event(e);
		if (r < 0) {
			fprintf(stderr, "journal_send_event: %s\n", strerror(-r));
			return 1;
		}
		printf("%s %s\n", argv[i], e->id);
		event_free(e);
	}
	return 0;
}
