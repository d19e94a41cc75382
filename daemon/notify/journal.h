/* The journal notifier: one structured journald entry per event.
 *
 * Operators filter with `journalctl -u jobwatchd JOB_STATUS=CREATE_FAILED`
 * and `journalctl -x` shows the explanation from systemd/jobwatchd.catalog,
 * which has one entry per MESSAGE_ID below.
 *
 * Caveat (libsystemd behaviour): sd_journal_send() returns 0 even when no
 * journald listens on /run/systemd/journal/socket -- the datagram is simply
 * dropped.  journal_send_event() can therefore only report errors such as
 * -ENOMEM or an oversized entry, never "nobody is listening".
 */
#ifndef JW_NOTIFY_JOURNAL_H
#define JW_NOTIFY_JOURNAL_H

#include "event.h"

struct store;

/* One MESSAGE_ID per event type, generated once with `systemd-id128 new`.
 * Never change them: catalogs and operators' filters depend on them. */
#define JOURNAL_MESSAGE_ID_JOB_DISCOVERED     "d4d01726e1f44e06bc6d6b0c46d93324"
#define JOURNAL_MESSAGE_ID_JOB_STATUS_CHANGED "4b11c853f1bb40aba2200f3d9e476821"
#define JOURNAL_MESSAGE_ID_JOB_STUCK	      "0c565df6298d4e3f99a7e0447149ee6c"
#define JOURNAL_MESSAGE_ID_JOB_GONE	      "3e209be476914b35ba13f92754dbd57d"
#define JOURNAL_MESSAGE_ID_JOB_NOT_FOUND      "c516232002474f319a17eb2347d5bc89"

/* The MESSAGE_ID for an event type, NULL for an invalid type. */
const char *journal_message_id(enum event_type t);
/* PRIORITY: 3 for *_FAILED and job.gone, 4 job.stuck and job.not_found, 5 ACTIVE, 6 otherwise. */
int journal_priority(const struct event *e);
/* The one-line MESSAGE (malloc'd, NULL on ENOMEM). */
char *journal_format_message(const struct event *e);

/* Sends one entry for e (borrowed).  Values are passed as iovecs, so
 * newlines and '%' in them are sent verbatim.  Absent fields are omitted.
 * Returns 0 or negative errno (see the caveat above). */
int journal_send_event(const struct event *e);

/* The sink name of the journal notifier in the store outbox. */
#define JOURNAL_SINK_NAME "journal"

/* Drains due "journal" deliveries from the outbox: send, then mark done.
 * A crash between the two repeats the entry with the same EVENT_ID, which is
 * accepted (at least once).  At most 256 per call so a backlog does not
 * starve the loop: call again while it returns 256.  A send error is retried
 * 5 s later, parked after 5 attempts.  Returns the number sent or negative
 * errno (logged).  Implemented in journal_sink.c. */
int journal_sink_run(struct store *s, int64_t now_ms);

#endif
