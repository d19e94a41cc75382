/* What `jobwatchd status` prints: the control API's JSON as text for a
 * person -- the table of jobs (GET /v1/jobs) and one job in detail with its
 * history (GET /v1/jobs/{arn}). */
#ifndef JW_CLI_STATUS_TEXT_H
#define JW_CLI_STATUS_TEXT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct cJSON;

/* arr: the jobs (borrowed); all: include unwatched ones, marked "*".  Ages
 * are relative to now_ms. */
void cli_status_print_table(FILE *f, const struct cJSON *arr, bool all, int64_t now_ms);

/* job: the answer of GET /v1/jobs/{arn} (borrowed): the job, then its
 * history.  Times are shown as given and as ages relative to now_ms; text
 * from the service or a receiver is printed with control characters
 * replaced. */
void cli_status_print_job(FILE *f, const struct cJSON *job, int64_t now_ms);

/* arr: the answer of GET /v1/sinks (borrowed): the EventBridge sinks, a
 * table under the jobs; nothing when it is empty. */
void cli_status_print_sinks(FILE *f, const struct cJSON *arr);

#endif
