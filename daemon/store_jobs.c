/* The jobs table: one row per ARN, upserted in the current batch. */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_internal.h"

/* Statuses are stored by name so the file stays readable with the sqlite3
 * tool and survives a reordering of the enum; "GONE" is ours. */
static enum job_status status_from_db(const char *s)
{
	if (s && strcmp(s, "GONE") == 0)
		return JOB_STATUS_GONE;
	return job_status_from_api(s);
}

int store_put_job(struct store *s, const struct store_job *j)
{
	struct store_value v[24];

	if (!s || !j || str_empty(j->arn))
		return -EINVAL;
	v[0] = sv_text(j->arn);
	v[1] = sv_text(j->name);
	v[2] = sv_text(job_status_to_string(j->status));
	v[3] = sv_text(j->status_code);
	v[4] = sv_text(j->status_message);
	v[5] = sv_int(j->update_time_ms);
	v[6] = sv_int(j->create_time_ms);
	v[7] = sv_text(j->collaboration_id);
	v[8] = sv_text(j->configured_audience_model_arn);
	v[9] = sv_int(j->first_seen_ms);
	v[10] = sv_int(j->last_seen_ms);
	v[11] = sv_int(j->last_poll_ms);
	v[12] = sv_int(j->last_success_ms);
	v[13] = sv_int(j->polls);
	v[14] = sv_int(j->poll_failures);
	v[15] = sv_int(j->consecutive_failures);
	v[16] = sv_text(j->last_error);
	v[17] = sv_int(j->status_since_ms);
	v[18] = sv_int(j->stuck_emitted);
	v[19] = sv_int(j->watched);
	v[20] = sv_text(j->source ? j->source : "config");
	v[21] = sv_int(j->gone);
	v[22] = sv_int(j->not_found_ms);
	v[23] = sv_int(j->list_only);
	return store_write(s, STMT_PUT_JOB, v, ELEMENTSOF(v));
}

int store_delete_job(struct store *s, const char *arn)
{
	struct store_value v[1];

	if (!s || str_empty(arn))
		return -EINVAL;
	v[0] = sv_text(arn);
	return store_write(s, STMT_DELETE_JOB, v, ELEMENTSOF(v));
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

int store_load_jobs(struct store *s, int (*cb)(const struct store_job *job, void *userdata), void *userdata)
{
	sqlite3_stmt *st;
	int rc, r = 0;

	if (!s || !cb)
		return -EINVAL;
	st = store_stmt(s, STMT_LOAD_JOBS);
	if (!st)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_job j = {
		    .arn = col_text(st, 0),
		    .name = col_text(st, 1),
		    .status = status_from_db(col_text(st, 2)),
		    .status_code = col_text(st, 3),
		    .status_message = col_text(st, 4),
		    .update_time_ms = sqlite3_column_int64(st, 5),
		    .create_time_ms = sqlite3_column_int64(st, 6),
		    .collaboration_id = col_text(st, 7),
		    .configured_audience_model_arn = col_text(st, 8),
		    .first_seen_ms = sqlite3_column_int64(st, 9),
		    .last_seen_ms = sqlite3_column_int64(st, 10),
		    .last_poll_ms = sqlite3_column_int64(st, 11),
		    .last_success_ms = sqlite3_column_int64(st, 12),
		    .polls = sqlite3_column_int64(st, 13),
		    .poll_failures = sqlite3_column_int64(st, 14),
		    .consecutive_failures = sqlite3_column_int64(st, 15),
		    .last_error = col_text(st, 16),
		    .status_since_ms = sqlite3_column_int64(st, 17),
		    .stuck_emitted = sqlite3_column_int64(st, 18) != 0,
		    .watched = sqlite3_column_int64(st, 19) != 0,
		    .source = col_text(st, 20),
		    .gone = sqlite3_column_int64(st, 21) != 0,
		    .not_found_ms = sqlite3_column_int64(st, 22),
		    .list_only = sqlite3_column_int64(st, 23) != 0,
		};
		if (!j.arn)
			continue;
		r = cb(&j, userdata);
		if (r < 0)
			break;
	}
	if (r >= 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = log_debug_errno(store_errno(rc), "store: loading jobs failed: %s",
				    sqlite3_errmsg(s->db));
	sqlite3_reset(st);
	return r < 0 ? r : 0;
}
