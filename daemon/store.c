/* The state store's core: opening (lock, pragmas, migrations), the statement
 * cache and the write batch with its replay journal.  The job table lives in
 * store_jobs.c, the outbox in store_outbox.c (its payload parser is
 * model_json.c, beside the writer).
 *
 * Durability: WAL with synchronous=NORMAL.  A COMMIT appends to the WAL
 * without an fsync; the WAL is fsynced at checkpoints.  A killed process
 * loses nothing that was committed (the data is in the kernel's page cache);
 * a power loss may lose the last few transactions but never corrupts the
 * database, because WAL frames carry checksums and a torn tail is ignored on
 * recovery.  Losing the last transactions is acceptable here because the
 * tracker re-derives them: after a restart the first poll compares with the
 * stored status and emits, with the same deterministic ids, whatever
 * transition was lost.  In exchange we need no fsync per loop turn.
 *
 * Batching and failed commits: writes open a transaction lazily (BEGIN
 * IMMEDIATE) and store_flush() COMMITs it once per loop turn.  Every write is
 * also appended, serialized, to an in-memory journal.  If a write or the
 * COMMIT fails (disk full, read-only, I/O error) the transaction is rolled
 * back and the store becomes "broken": later writes only go to the journal,
 * and each store_flush() replays the whole journal in a fresh transaction and
 * commits it.  We chose roll-back-and-replay over trying to keep a failed
 * transaction alive because SQLite may roll back on its own after
 * SQLITE_FULL or SQLITE_IOERR, and a replay from one list has a single,
 * testable code path.  Event seqs are assigned by the store, not by
 * AUTOINCREMENT, so a replay writes the very same seqs the caller was given.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "store_internal.h"
#include "util.h"

#define STORE_BUSY_TIMEOUT_MS 5000

/* Migration i brings the schema from user_version i to i + 1.  Append only:
 * never edit a released step. */
static const char *const store_migrations[] = {
    /* v1 */
    "CREATE TABLE jobs ("
    " arn TEXT PRIMARY KEY NOT NULL,"
    " name TEXT,"
    " status TEXT,"
    " status_code TEXT,"
    " status_message TEXT,"
    " update_time_ms INTEGER NOT NULL DEFAULT 0,"
    " create_time_ms INTEGER NOT NULL DEFAULT 0,"
    " collaboration_id TEXT,"
    " configured_audience_model_arn TEXT,"
    " first_seen_ms INTEGER NOT NULL DEFAULT 0,"
    " last_seen_ms INTEGER NOT NULL DEFAULT 0,"
    " last_poll_ms INTEGER NOT NULL DEFAULT 0,"
    " last_success_ms INTEGER NOT NULL DEFAULT 0,"
    " polls INTEGER NOT NULL DEFAULT 0,"
    " poll_failures INTEGER NOT NULL DEFAULT 0,"
    " consecutive_failures INTEGER NOT NULL DEFAULT 0,"
    " last_error TEXT,"
    " status_since_ms INTEGER NOT NULL DEFAULT 0,"
    " stuck_emitted INTEGER NOT NULL DEFAULT 0,"
    " watched INTEGER NOT NULL DEFAULT 1 CHECK (watched IN (0, 1)),"
    " source TEXT NOT NULL DEFAULT 'config',"
    " gone INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE TABLE events ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " id TEXT NOT NULL UNIQUE,"
    " type TEXT NOT NULL,"
    " arn TEXT NOT NULL,"
    " previous_status TEXT,"
    " status TEXT,"
    " update_time_ms INTEGER NOT NULL DEFAULT 0,"
    " detected_ms INTEGER NOT NULL DEFAULT 0,"
    " region TEXT,"
    " payload TEXT"
    ");"
    "CREATE INDEX events_arn ON events(arn);"
    "CREATE TABLE deliveries ("
    " seq INTEGER NOT NULL REFERENCES events(seq) ON DELETE CASCADE,"
    " sink TEXT NOT NULL,"
    " state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'parked', 'dropped')),"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_at_ms INTEGER NOT NULL DEFAULT 0,"
    " last_error TEXT,"
    " updated_ms INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (seq, sink)"
    ") WITHOUT ROWID;"
    "CREATE INDEX deliveries_due ON deliveries(sink, state, next_at_ms, seq);"
    /* store_delivery_next() walks a sink's pending rows in seq order; without
     * this index it would sort the whole backlog on every call. */
    "CREATE INDEX deliveries_order ON deliveries(sink, state, seq);",
    /* v2: the alerts each Alertmanager hook has active (resolved_ms 0) or
     * resolved but not yet accepted by every Alertmanager (acked: a bit per
     * URL).  alert is the JSON of labels, annotations and generatorURL. */
    "CREATE TABLE am_alerts ("
    " hook TEXT NOT NULL,"
    " alertname TEXT NOT NULL,"
    " arn TEXT NOT NULL,"
    " starts_ms INTEGER NOT NULL DEFAULT 0,"
    " resolved_ms INTEGER NOT NULL DEFAULT 0,"
    " acked INTEGER NOT NULL DEFAULT 0,"
    " alert TEXT NOT NULL,"
    " PRIMARY KEY (hook, alertname, arn)"
    ") WITHOUT ROWID;",
    /* v3: seedAudience.sqlParameters is sensitive in the service model and
     * is no longer kept (issue 14); scrub it from payloads written before.
     * secure_delete zeroes the space the old text held, so the query does
     * not survive in free pages of the file.  It stays on for the
     * connection: Debian's SQLite has it on by default anyway, and turning
     * it off here would change that. */
    "PRAGMA secure_delete = ON;"
    "UPDATE events SET payload = json_remove(payload, '$.seedAudience.sqlParameters')"
    " WHERE payload IS NOT NULL AND json_valid(payload)"
    " AND json_type(payload, '$.seedAudience.sqlParameters') IS NOT NULL;",
    /* v4: when job.not_found was raised for a job never seen (0 = not
     * raised), so that a restart does not raise it again (issue 23). */
    "ALTER TABLE jobs ADD COLUMN not_found_ms INTEGER NOT NULL DEFAULT 0;",
    /* v5: the resource is followed through a List only, never with a Get
     * (tracked_job.list_only; issue 15), so a restart sends it none even
     * if the [discover] section that found it is gone. */
    "ALTER TABLE jobs ADD COLUMN list_only INTEGER NOT NULL DEFAULT 0;",
};

#define JOB_COLUMNS                                                                                         \
	"arn, name, status, status_code, status_message, update_time_ms, create_time_ms, "                  \
	"collaboration_id, "                                                                                \
	"configured_audience_model_arn, first_seen_ms, last_seen_ms, last_poll_ms, last_success_ms, "       \
	"polls, "                                                                                           \
	"poll_failures, consecutive_failures, last_error, status_since_ms, stuck_emitted, watched, "        \
	"source, gone, not_found_ms, list_only"

static const char *const store_sql[_STMT_MAX] = {
    [STMT_PUT_JOB] =
	"INSERT INTO jobs (" JOB_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
	"?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24) "
	"ON CONFLICT (arn) DO UPDATE SET name = ?2, status = ?3, status_code = ?4, "
	"status_message = ?5, update_time_ms = ?6, create_time_ms = ?7, collaboration_id = ?8, "
	"configured_audience_model_arn = ?9, first_seen_ms = ?10, last_seen_ms = ?11, "
	"last_poll_ms = ?12, last_success_ms = ?13, polls = ?14, poll_failures = ?15, "
	"consecutive_failures = ?16, last_error = ?17, status_since_ms = ?18, stuck_emitted = ?19, "
	"watched = ?20, source = ?21, gone = ?22, not_found_ms = ?23, list_only = ?24",
    [STMT_DELETE_JOB] = "DELETE FROM jobs WHERE arn = ?1",
    [STMT_ADD_EVENT] =
	"INSERT OR IGNORE INTO events (seq, id, type, arn, previous_status, status, "
	"update_time_ms, detected_ms, region, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
	"?10)",
    [STMT_ADD_DELIVERY] = "INSERT OR IGNORE INTO deliveries (seq, sink, state, attempts, next_at_ms, "
			  "updated_ms) VALUES (?1, ?2, 'pending', 0, 0, ?3)",
    [STMT_DELIVERY_DONE] = "UPDATE deliveries SET state = 'done', updated_ms = ?3 "
			   "WHERE seq = ?1 AND sink = ?2 AND state = 'pending'",
    [STMT_DELIVERY_RETRY] = "UPDATE deliveries SET attempts = ?3, next_at_ms = ?4, last_error = ?5, "
			    "updated_ms = ?6 WHERE seq = ?1 AND sink = ?2 AND state = 'pending'",
    [STMT_DELIVERY_PARK] =
	"UPDATE deliveries SET state = 'parked', attempts = attempts + 1, last_error = ?3, updated_ms = ?4 "
	"WHERE seq = ?1 AND sink = ?2 AND state = 'pending'",
    [STMT_DELIVERY_DROP_UPTO] = "UPDATE deliveries SET state = 'dropped', updated_ms = ?3 "
				"WHERE sink = ?1 AND state = 'pending' AND seq <= ?2",
    /* Retry now: waiting deliveries become due, and with ?3 = 1 parked
     * ones pending again (their attempt count is kept). */
    [STMT_DELIVERY_RELEASE] = "UPDATE deliveries SET state = 'pending', next_at_ms = ?2, updated_ms = ?2 "
			      "WHERE sink = ?1 AND ((state = 'pending' AND next_at_ms > ?2) OR "
			      "(?3 = 1 AND state = 'parked'))",
    /* Finished deliveries of old events, then the events left without any
     * delivery.  Pending ones (a disabled webhook) are never pruned. */
    [STMT_PRUNE_DELIVERIES] = "DELETE FROM deliveries WHERE state != 'pending' AND updated_ms < ?1 "
			      "AND seq IN (SELECT seq FROM events WHERE detected_ms < ?1)",
    [STMT_PRUNE_EVENTS] = "DELETE FROM events WHERE detected_ms < ?1 "
			  "AND NOT EXISTS (SELECT 1 FROM deliveries AS d WHERE d.seq = events.seq)",
    [STMT_AM_PUT] = "INSERT OR REPLACE INTO am_alerts (hook, alertname, arn, starts_ms, resolved_ms, acked, "
		    "alert) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [STMT_AM_DELETE] = "DELETE FROM am_alerts WHERE hook = ?1 AND alertname = ?2 AND arn = ?3",
    [STMT_EVENT_SEQ_BY_ID] = "SELECT seq FROM events WHERE id = ?1",
    [STMT_AM_LOAD] = "SELECT alertname, arn, starts_ms, resolved_ms, acked, alert FROM am_alerts "
		     "WHERE hook = ?1",
    [STMT_LAST_PREVIOUS_STATUS] = "SELECT previous_status FROM events INDEXED BY events_arn "
				  "WHERE arn = ?1 AND status = ?2 AND type = 'job.status_changed' "
				  "ORDER BY seq DESC LIMIT 1",
    /* A job's history (store_history.c): its newest events, and each
     * one's deliveries.  The status details come from the payload (the
     * observation that produced the event). */
    [STMT_JOB_EVENTS] =
	"SELECT seq, id, type, previous_status, status, update_time_ms, detected_ms, "
	"CASE WHEN json_valid(payload) THEN json_extract(payload, '$.statusDetails.statusCode') END, "
	"CASE WHEN json_valid(payload) THEN json_extract(payload, '$.statusDetails.message') END "
	"FROM events INDEXED BY events_arn WHERE arn = ?1 ORDER BY seq DESC LIMIT ?2",
    [STMT_JOB_EVENT_COUNT] = "SELECT COUNT(*) FROM events WHERE arn = ?1",
    [STMT_EVENT_DELIVERIES] = "SELECT sink, state, attempts, next_at_ms, updated_ms, last_error "
			      "FROM deliveries WHERE seq = ?1 ORDER BY sink",
    [STMT_DELIVERY_NEXT] =
	"SELECT d.seq, d.attempts, e.id, e.type, e.previous_status, e.status, "
	"e.update_time_ms, e.detected_ms, e.region, e.payload, e.arn, d.next_at_ms "
	"FROM deliveries AS d INDEXED BY deliveries_order JOIN events AS e ON e.seq = d.seq "
	"WHERE d.sink = ?1 AND d.state = 'pending' AND ?2 = ?2 AND d.seq <= ?3 "
	"ORDER BY d.seq",
    [STMT_DELIVERY_NEXT_DUE] = "SELECT MIN(next_at_ms) FROM deliveries "
			       "WHERE sink = ?1 AND state = 'pending' AND seq <= ?2 AND next_at_ms > ?3",
    [STMT_DELIVERY_SCAN] =
	"SELECT d.seq, d.attempts, d.next_at_ms, e.arn "
	"FROM deliveries AS d INDEXED BY deliveries_order JOIN events AS e ON e.seq = d.seq "
	"WHERE d.sink = ?1 AND d.state = 'pending' AND d.seq <= ?2 ORDER BY d.seq LIMIT ?3",
    /* The columns of STMT_DELIVERY_NEXT, for event_from_row(). */
    [STMT_DELIVERY_LOAD] = "SELECT d.seq, d.attempts, e.id, e.type, e.previous_status, e.status, "
			   "e.update_time_ms, e.detected_ms, e.region, e.payload, e.arn, d.next_at_ms "
			   "FROM deliveries AS d JOIN events AS e ON e.seq = d.seq "
			   "WHERE d.sink = ?1 AND d.seq = ?2 AND d.state = 'pending' AND d.seq <= ?3",
    [STMT_COUNT_RELEASABLE] = "SELECT COUNT(*) FROM deliveries WHERE sink = ?1 AND "
			      "((state = 'pending' AND next_at_ms > ?2) OR (?3 = 1 AND state = 'parked'))",
    [STMT_COUNT_RETRYING] =
	"SELECT COUNT(*) FROM deliveries WHERE sink = ?1 AND state = 'pending' AND attempts > 0",
    [STMT_OLDEST_PENDING] = "SELECT e.detected_ms FROM deliveries AS d INDEXED BY deliveries_order "
			    "JOIN events AS e ON e.seq = d.seq WHERE d.sink = ?1 AND d.state = 'pending' "
			    "ORDER BY d.seq LIMIT 1",
    [STMT_BACKLOG] = "SELECT COUNT(*) FROM deliveries WHERE sink = ?1 AND state = 'pending'",
    [STMT_TRIM_CUT] = "SELECT seq FROM deliveries INDEXED BY deliveries_order "
		      "WHERE sink = ?1 AND state = 'pending' ORDER BY seq LIMIT 1 OFFSET ?2",
    [STMT_COUNT_EVENTS] = "SELECT COUNT(*) FROM events",
    [STMT_COUNT_EVENTS_TYPE] = "SELECT COUNT(*) FROM events WHERE type = ?1",
    [STMT_COUNT_DELIVERIES] =
	"SELECT COUNT(*) FROM deliveries WHERE (?1 IS NULL OR sink = ?1) AND state = ?2",
    [STMT_LOAD_JOBS] = "SELECT " JOB_COLUMNS " FROM jobs",
    [STMT_BEGIN] = "BEGIN IMMEDIATE",
    [STMT_COMMIT] = "COMMIT",
    [STMT_ROLLBACK] = "ROLLBACK",
};

int store_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_CANTOPEN:
		return -EACCES;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EPERM;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_RANGE:
	case SQLITE_MISUSE:
	case SQLITE_MISMATCH:
		return -EINVAL;
	default:
		return -EIO;
	}
}

/* Errors after which the transaction may be gone and the batch must be
 * replayed later; anything else (a constraint, a misuse) is a bug in the
 * caller's data and only fails that one write. */
static bool store_rc_is_environmental(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_FULL:
	case SQLITE_READONLY:
	case SQLITE_IOERR:
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_NOMEM:
	case SQLITE_CANTOPEN:
	case SQLITE_PROTOCOL:
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return true;
	default:
		return false;
	}
}

sqlite3_stmt *store_stmt(struct store *s, enum store_stmt id)
{
	if (!s->stmts[id]) {
		int rc = sqlite3_prepare_v3(s->db, store_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
					    &s->stmts[id], NULL);
		if (rc != SQLITE_OK) {
			log_debug("store: prepare %d failed: %s", (int)id, sqlite3_errmsg(s->db));
			return NULL;
		}
	}
	return s->stmts[id];
}

int store_bind(sqlite3_stmt *st, const struct store_value *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc, col = (int)i + 1;
		switch (v[i].type) {
		case STORE_INT:
			rc = sqlite3_bind_int64(st, col, v[i].i);
			break;
		case STORE_TEXT:
			if (v[i].len > INT_MAX)
				return -E2BIG;
			rc = sqlite3_bind_text(st, col, v[i].text, (int)v[i].len, SQLITE_STATIC);
			break;
		default:
			rc = sqlite3_bind_null(st, col);
			break;
		}
		if (rc != SQLITE_OK)
			return store_errno(rc);
	}
	return 0;
}

/* Runs a statement that returns no rows; returns the SQLite result code. */
static int store_exec_rc(struct store *s, enum store_stmt id, const struct store_value *v, size_t n)
{
	sqlite3_stmt *st = store_stmt(s, id);
	int rc;

	if (!st)
		return sqlite3_errcode(s->db) ? sqlite3_errcode(s->db) : SQLITE_ERROR;
	if (store_bind(st, v, n) < 0) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return SQLITE_RANGE;
	}
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW ? SQLITE_DONE : rc;
}

int store_query_int(struct store *s, enum store_stmt id, const struct store_value *v, size_t n, int64_t dflt,
		    int64_t *ret)
{
	sqlite3_stmt *st = store_stmt(s, id);
	int rc, r;

	if (!st)
		return -EIO;
	r = store_bind(st, v, n);
	if (r >= 0) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			*ret =
			    sqlite3_column_type(st, 0) == SQLITE_NULL ? dflt : sqlite3_column_int64(st, 0);
		else if (rc == SQLITE_DONE)
			*ret = dflt;
		else
			r = store_errno(rc);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

static void store_rollback(struct store *s)
{
	/* SQLite may already have rolled back by itself (SQLITE_FULL, IOERR). */
	if (!sqlite3_get_autocommit(s->db))
		(void)store_exec_rc(s, STMT_ROLLBACK, NULL, 0);
	s->in_txn = false;
}

static int store_begin(struct store *s)
{
	int rc;

	if (s->in_txn)
		return SQLITE_DONE;
	rc = store_exec_rc(s, STMT_BEGIN, NULL, 0);
	if (rc != SQLITE_DONE)
		return rc;
	s->in_txn = true;
	return SQLITE_DONE;
}

/* ---- The journal ----
 * Serialized ops: u8 stmt, u8 n, then n values: u8 type, and for INT 8
 * bytes, for TEXT a u32 length and the bytes.  Compact so a start-up batch
 * of 100k job rows stays in the tens of MB. */

static int journal_append(struct store *s, enum store_stmt id, const struct store_value *v, size_t n)
{
	size_t mark = s->journal.len;
	unsigned char hdr[2] = {(unsigned char)id, (unsigned char)n};
	int r = dynbuf_append(&s->journal, hdr, sizeof(hdr));

	for (size_t i = 0; r >= 0 && i < n; i++) {
		unsigned char t = (unsigned char)v[i].type;
		r = dynbuf_append(&s->journal, &t, 1);
		if (r >= 0 && v[i].type == STORE_INT)
			r = dynbuf_append(&s->journal, &v[i].i, sizeof(v[i].i));
		else if (r >= 0 && v[i].type == STORE_TEXT) {
			uint32_t len = (uint32_t)v[i].len;
			if (v[i].len > UINT32_MAX)
				r = -E2BIG;
			if (r >= 0)
				r = dynbuf_append(&s->journal, &len, sizeof(len));
			if (r >= 0)
				r = dynbuf_append(&s->journal, v[i].text, v[i].len);
		}
	}
	if (r < 0) {
		s->journal.len = mark;
		if (s->journal.data)
			s->journal.data[mark] = '\0';
		return r == -E2BIG ? -ENOBUFS : r;
	}
	s->journal_ops++;
	return 0;
}

int store_journal_foreach(struct store *s,
			  int (*cb)(enum store_stmt id, const struct store_value *v, size_t n,
				    void *userdata),
			  void *userdata)
{
	const unsigned char *p = (const unsigned char *)s->journal.data, *end = p + s->journal.len;
	struct store_value v[STORE_OP_MAX_VALUES];

	while (p && p + 2 <= end) {
		enum store_stmt id = (enum store_stmt)p[0];
		size_t n = p[1];
		int r;

		p += 2;
		if (n > STORE_OP_MAX_VALUES)
			return -EBADMSG;
		for (size_t i = 0; i < n; i++) {
			if (p >= end)
				return -EBADMSG;
			v[i] = (struct store_value){.type = (enum store_value_type) * p++};
			if (v[i].type == STORE_INT) {
				if ((size_t)(end - p) < sizeof(int64_t))
					return -EBADMSG;
				memcpy(&v[i].i, p, sizeof(int64_t));
				p += sizeof(int64_t);
			} else if (v[i].type == STORE_TEXT) {
				uint32_t len;
				if ((size_t)(end - p) < sizeof(len))
					return -EBADMSG;
				memcpy(&len, p, sizeof(len));
				p += sizeof(len);
				if ((size_t)(end - p) < len)
					return -EBADMSG;
				v[i].text = (const char *)p;
				v[i].len = len;
				p += len;
			}
		}
		r = cb(id, v, n, userdata);
		if (r != 0)
			return r;
	}
	return 0;
}

static void journal_clear(struct store *s)
{
	/* A large start-up batch should not pin its memory for the daemon's
	 * lifetime. */
	if (s->journal.alloc > 1024 * 1024)
		dynbuf_free(&s->journal);
	else
		dynbuf_reset(&s->journal);
	s->journal_ops = 0;
}

int store_write(struct store *s, enum store_stmt id, const struct store_value *v, size_t n)
{
	int rc, r;

	if (n > STORE_OP_MAX_VALUES || id < 0 || id >= _STMT_WRITE_MAX)
		return -EINVAL;
	if (!s->broken) {
		rc = store_begin(s);
		if (rc == SQLITE_DONE)
			rc = store_exec_rc(s, id, v, n);
		if (rc != SQLITE_DONE) {
			if (!store_rc_is_environmental(rc))
				return log_debug_errno(store_errno(rc), "store: write %d failed (%d): %s",
						       (int)id, rc, sqlite3_errmsg(s->db));
			log_debug("store: write failed (%s), batch kept for replay", sqlite3_errstr(rc));
			store_rollback(s);
			s->broken = true;
		}
	}
	r = journal_append(s, id, v, n);
	if (r < 0) {
		/* The write is in the open transaction but could not be
		 * journaled: undo everything and replay the rest later, so the
		 * database and the journal never disagree. */
		if (!s->broken) {
			store_rollback(s);
			s->broken = true;
		}
		return r;
	}
	return 0;
}

static int replay_one(enum store_stmt id, const struct store_value *v, size_t n, void *userdata)
{
	struct store *s = userdata;
	int rc = store_exec_rc(s, id, v, n);

	return rc == SQLITE_DONE ? 0 : -rc;
}

int store_flush(struct store *s)
{
	int rc = SQLITE_DONE, r;

	if (!s)
		return 0;
	if (s->broken) {
		if (s->journal_ops == 0) {
			s->broken = false;
			return 0;
		}
		rc = store_begin(s);
		if (rc == SQLITE_DONE) {
			r = store_journal_foreach(s, replay_one, s);
			if (r == -EBADMSG)
				rc = SQLITE_CORRUPT;
			else if (r < 0)
				rc = -r;
		}
		if (rc != SQLITE_DONE) {
			store_rollback(s);
			return log_debug_errno(store_errno(rc), "store: replaying the batch failed: %s",
					       sqlite3_errstr(rc));
		}
	}
	if (!s->in_txn)
		return 0;
	rc = store_exec_rc(s, STMT_COMMIT, NULL, 0);
	if (rc != SQLITE_DONE) {
		store_rollback(s);
		s->broken = true;
		return log_debug_errno(store_errno(rc), "store: commit failed: %s", sqlite3_errstr(rc));
	}
	s->in_txn = false;
	s->broken = false;
	s->committed_seq = s->next_seq - 1;
	journal_clear(s);
	return 0;
}

static int store_exec_sql(struct store *s, const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &err);

	if (rc != SQLITE_OK) {
		log_debug("store: %s", err ? err : sqlite3_errstr(rc));
		sqlite3_free(err);
		return store_errno(rc);
	}
	return 0;
}

static int store_pragma_int(struct store *s, const char *sql, int64_t *ret)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*ret = sqlite3_column_int64(st, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : store_errno(rc);
}

static int store_migrate(struct store *s)
{
	int64_t version = 0;
	int r = store_pragma_int(s, "PRAGMA user_version", &version);
	char sql[64];

	if (r < 0)
		return r;
	if (version > (int64_t)ELEMENTSOF(store_migrations))
		return log_debug_errno(-EPROTO, "store: schema version %lld is newer than this daemon (%zu)",
				       (long long)version, ELEMENTSOF(store_migrations));
	for (size_t v = (size_t)version; v < ELEMENTSOF(store_migrations); v++) {
		r = store_exec_sql(s, "BEGIN IMMEDIATE");
		if (r >= 0)
			r = store_exec_sql(s, store_migrations[v]);
		if (r >= 0) {
			(void)snprintf(sql, sizeof(sql), "PRAGMA user_version = %zu", v + 1);
			r = store_exec_sql(s, sql);
		}
		if (r >= 0)
			r = store_exec_sql(s, "COMMIT");
		if (r < 0) {
			(void)store_exec_sql(s, "ROLLBACK");
			return log_debug_errno(r, "store: migration to schema v%zu failed", v + 1);
		}
	}
	return 0;
}

static int store_lock(const char *path, int *ret_fd)
{
	_cleanup_free_ char *lock_path = NULL;
	int fd;

	if (asprintf(&lock_path, "%s-lock", path) < 0)
		return -ENOMEM;
	fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

int store_open(const char *path, struct store **ret)
{
	struct store *s;
	char *mode = NULL;
	int64_t seq = 0, maxseq = 0;
	int rc, r;

	if (str_empty(path) || !ret)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->lock_fd = -1;
	dynbuf_init(&s->journal, STORE_JOURNAL_MAX_BYTES);
	s->path = strdup(path);
	if (!s->path) {
		r = -ENOMEM;
		goto fail;
	}
	r = store_lock(path, &s->lock_fd);
	if (r < 0)
		goto fail;
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		r = store_errno(rc);
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	/* journal_mode answers with the mode in effect: a file system that
	 * cannot do WAL (no shared memory) silently stays in rollback mode. */
	{
		sqlite3_stmt *st = NULL;
		rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
		if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
			mode = strdup_or_null((const char *)sqlite3_column_text(st, 0));
		else
			rc = sqlite3_errcode(s->db);
		sqlite3_finalize(st);
		if (rc != SQLITE_OK) {
			r = store_errno(rc);
			goto fail;
		}
		if (!mode || strcmp(mode, "wal") != 0) {
			free(mode);
			r = log_debug_errno(-EOPNOTSUPP, "store: WAL mode not available");
			goto fail;
		}
		free(mode);
	}
	r = store_exec_sql(s, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;");
	if (r < 0)
		goto fail;
	r = store_migrate(s);
	if (r < 0)
		goto fail;
	/* Seqs are ours (see the top of this file); start after both the
	 * highest row and the highest ever handed out by AUTOINCREMENT. */
	r = store_pragma_int(s, "SELECT COALESCE(MAX(seq), 0) FROM events", &maxseq);
	if (r >= 0)
		r = store_pragma_int(
		    s, "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)", &seq);
	if (r < 0)
		goto fail;
	s->committed_seq = seq > maxseq ? seq : maxseq;
	s->next_seq = s->committed_seq + 1;
	*ret = s;
	return 0;
fail:
	store_close(s);
	return r;
}

struct store *store_close(struct store *s)
{
	int r;

	if (!s)
		return NULL;
	if (s->db) {
		r = store_flush(s);
		if (r < 0)
			log_error_errno(r, "Failed to commit the last batch to %s, %zu writes lost", s->path,
					s->journal_ops);
		if (s->in_txn)
			store_rollback(s);
		for (size_t i = 0; i < _STMT_MAX; i++)
			sqlite3_finalize(s->stmts[i]);
		sqlite3_close_v2(s->db);
	}
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	dynbuf_free(&s->journal);
	free(s->path);
	free(s);
	return NULL;
}

int64_t store_committed_seq(const struct store *s)
{
	return s->committed_seq;
}

bool store_has_pending_batch(const struct store *s)
{
	return s->broken && s->journal_ops > 0;
}

int store_integrity_check(struct store *s, char **ret_msg)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &st, NULL);
	int r = 0;

	if (ret_msg)
		*ret_msg = NULL;
	if (rc != SQLITE_OK)
		return store_errno(rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *msg = (const char *)sqlite3_column_text(st, 0);
		if (!msg || strcmp(msg, "ok") != 0) {
			r = -EBADMSG;
			if (ret_msg)
				*ret_msg = strdup_or_null(msg);
		}
	} else
		r = store_errno(rc ? rc : SQLITE_ERROR);
	sqlite3_finalize(st);
	return r;
}

int store_set_max_pages(struct store *s, int64_t max_pages, int64_t *ret_page_count)
{
	char sql[64];
	int64_t v = 0;
	int r;

	if (max_pages < 0)
		return -EINVAL;
	/* 0 asks for SQLite's default cap (0xfffffffe pages). */
	(void)snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld",
		       (long long)(max_pages ? max_pages : 0xfffffffeLL));
	r = store_pragma_int(s, sql, &v);
	if (r >= 0 && ret_page_count)
		r = store_pragma_int(s, "PRAGMA page_count", ret_page_count);
	return r;
}
