/* The journal notifier's outbox loop, apart from journal.c so that sending
 * an entry does not pull in the store. */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "notify/journal.h"
#include "store.h"

/* Per-run cap so a large backlog does not starve the loop. */
#define JOURNAL_SINK_BATCH	  256
#define JOURNAL_SINK_MAX_ATTEMPTS 5
#define JOURNAL_SINK_RETRY_MS	  5000

int journal_sink_run(struct store *s, int64_t now_ms)
{
	int sent = 0;

	while (sent < JOURNAL_SINK_BATCH) {
		struct event *e = NULL;
		unsigned attempts = 0;
		int r;

		r = store_delivery_next(s, JOURNAL_SINK_NAME, now_ms, &e, &attempts, NULL);
		if (r < 0)
			return log_error_errno(r, "journal notifier: cannot read the outbox: %m");
		if (r == 0)
			break;
		/* Send first, then mark: a crash in between repeats the entry
		 * with the same EVENT_ID (at least once), never loses it. */
		r = journal_send_event(e);
		if (r < 0) {
			attempts++;
			if (attempts >= JOURNAL_SINK_MAX_ATTEMPTS) {
				log_error_errno(
				    r, "journal notifier: giving up on event %s after %u attempts: %m",
				    e->id, attempts);
				r = store_delivery_park(s, JOURNAL_SINK_NAME, e->seq, strerror(-r));
			} else {
				log_warning_errno(r, "journal notifier: cannot send event %s: %m", e->id);
				r = store_delivery_retry(s, JOURNAL_SINK_NAME, e->seq, attempts,
							 now_ms + JOURNAL_SINK_RETRY_MS, strerror(-r));
			}
		} else {
			r = store_delivery_done(s, JOURNAL_SINK_NAME, e->seq);
			sent++;
		}
		event_free(e);
		if (r < 0)
			return log_error_errno(r, "journal notifier: cannot update the outbox: %m");
	}
	return sent;
}
