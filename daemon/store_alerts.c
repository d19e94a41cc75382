/* The Alertmanager hooks' alerts in the state database (table am_alerts). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_internal.h"
#include "util.h"

int store_am_put(struct store *s, const char *hook, const struct store_am_alert *a)
{
	struct store_value v[7] = {
	    sv_text(hook),	    sv_text(a->alertname), sv_text(a->arn),   sv_int(a->starts_ms),
	    sv_int(a->resolved_ms), sv_int(a->acked),	   sv_text(a->alert),
	};

	if (!s || !hook || !a->alertname || !a->arn || !a->alert)
		return -EINVAL;
	return store_write(s, STMT_AM_PUT, v, ELEMENTSOF(v));
}

int store_am_delete(struct store *s, const char *hook, const char *alertname, const char *arn)
{
	struct store_value v[3] = {sv_text(hook), sv_text(alertname), sv_text(arn)};

	if (!s || !hook || !alertname || !arn)
		return -EINVAL;
	return store_write(s, STMT_AM_DELETE, v, ELEMENTSOF(v));
}

static const char *text_at(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

int store_am_load(struct store *s, const char *hook,
		  int (*cb)(const struct store_am_alert *a, void *userdata), void *userdata)
{
	struct store_value v[1] = {sv_text(hook)};
	sqlite3_stmt *st;
	int rc = SQLITE_DONE, r;

	if (!s || !hook || !cb)
		return -EINVAL;
	st = store_stmt(s, STMT_AM_LOAD);
	if (!st)
		return -EIO;
	r = store_bind(st, v, ELEMENTSOF(v));
	while (r >= 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_am_alert a = {
		    .alertname = text_at(st, 0),
		    .arn = text_at(st, 1),
		    .starts_ms = sqlite3_column_int64(st, 2),
		    .resolved_ms = sqlite3_column_int64(st, 3),
		    .acked = sqlite3_column_int64(st, 4),
		    .alert = text_at(st, 5),
		};
		if (a.alertname && a.arn && a.alert)
			r = cb(&a, userdata);
	}
	if (r >= 0 && rc != SQLITE_DONE)
		r = store_errno(rc);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

int store_previous_status(struct store *s, const char *arn, const char *status, char **ret)
{
	struct store_value v[2] = {sv_text(arn), sv_text(status)};
	sqlite3_stmt *st;
	int rc, r;

	*ret = NULL;
	if (!s || !arn || !status)
		return -EINVAL;
	st = store_stmt(s, STMT_LAST_PREVIOUS_STATUS);
	if (!st)
		return -EIO;
	r = store_bind(st, v, ELEMENTSOF(v));
	if (r >= 0) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW && text_at(st, 0)) {
			*ret = strdup(text_at(st, 0));
			if (!*ret)
				r = -ENOMEM;
		} else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			r = store_errno(rc);
		}
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}
