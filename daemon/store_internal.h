/* Private to store*.c: the connection, the statement cache and the batch
 * journal shared by the job, outbox and JSON parts of the store. */
#ifndef JW_STORE_INTERNAL_H
#define JW_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "store.h"
#include "util.h"

enum store_stmt {
	/* Writes: go through store_write() and are journaled for replay. */
	STMT_PUT_JOB,
	STMT_DELETE_JOB,
	STMT_ADD_EVENT,
	STMT_ADD_DELIVERY,
	STMT_DELIVERY_DONE,
	STMT_DELIVERY_RETRY,
	STMT_DELIVERY_PARK,
	STMT_DELIVERY_DROP_UPTO,
	STMT_DELIVERY_RELEASE,
	STMT_PRUNE_DELIVERIES,
	STMT_PRUNE_EVENTS,
	STMT_AM_PUT,
	STMT_AM_DELETE,
	_STMT_WRITE_MAX,
	/* Reads. */
	STMT_EVENT_SEQ_BY_ID = _STMT_WRITE_MAX,
	STMT_DELIVERY_NEXT,
	STMT_DELIVERY_NEXT_DUE,
	STMT_DELIVERY_SCAN,
	STMT_DELIVERY_LOAD,
	STMT_COUNT_RELEASABLE,
	STMT_COUNT_RETRYING,
	STMT_OLDEST_PENDING,
	STMT_BACKLOG,
	STMT_TRIM_CUT,
	STMT_COUNT_EVENTS,
	STMT_COUNT_EVENTS_TYPE,
	STMT_COUNT_DELIVERIES,
	STMT_LOAD_JOBS,
	STMT_AM_LOAD,
	STMT_LAST_PREVIOUS_STATUS,
	STMT_JOB_EVENTS,
	STMT_JOB_EVENT_COUNT,
	STMT_EVENT_DELIVERIES,
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	_STMT_MAX,
	STMT_INVALID = -1,
};

enum store_value_type {
	STORE_NULL,
	STORE_INT,
	STORE_TEXT,
};

/* One bound parameter.  text points into caller memory (or the journal
 * buffer during replay); len is its length without the NUL. */
struct store_value {
	enum store_value_type type;
	int64_t i;
	const char *text;
	size_t len;
};

#define STORE_OP_MAX_VALUES 24

struct store {
	sqlite3 *db;
	char *path;
	int lock_fd;
	sqlite3_stmt *stmts[_STMT_MAX];
	bool in_txn;
	/* A write or COMMIT failed: the database holds only committed state and
	 * the journal holds the whole batch, to be replayed by store_flush(). */
	bool broken;
	/* Every write of the current batch, serialized (see store.c). */
	struct dynbuf journal;
	size_t journal_ops;
	int64_t next_seq;
	int64_t committed_seq;
};

static inline struct store_value sv_int(int64_t i)
{
	return (struct store_value){.type = STORE_INT, .i = i};
}

static inline struct store_value sv_text(const char *s)
{
	if (!s)
		return (struct store_value){.type = STORE_NULL};
	return (struct store_value){.type = STORE_TEXT, .text = s, .len = strlen(s)};
}

int store_errno(int sqlite_rc);
sqlite3_stmt *store_stmt(struct store *s, enum store_stmt id);
int store_bind(sqlite3_stmt *st, const struct store_value *v, size_t n);
/* Executes one write inside the batch and records it in the journal. */
int store_write(struct store *s, enum store_stmt id, const struct store_value *v, size_t n);
/* Calls cb for every journaled op (used to answer reads while broken). */
int store_journal_foreach(struct store *s,
			  int (*cb)(enum store_stmt id, const struct store_value *v, size_t n,
				    void *userdata),
			  void *userdata);
/* A step that returns one integer column (COUNT, MIN); NULL → *ret = dflt. */
int store_query_int(struct store *s, enum store_stmt id, const struct store_value *v, size_t n, int64_t dflt,
		    int64_t *ret);

#endif
