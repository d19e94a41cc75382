/* Internal to daemon/api/: what keeps the listener answering when clients
 * misbehave -- a deadline for each request's headers, and a token bucket
 * for requests that grow the job table. */
#ifndef JW_API_GUARD_H
#define JW_API_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#include "list.h"

struct MHD_Connection;

/* Every open connection, so the ones that have not sent a complete request
 * head in time can be cut (libmicrohttpd only knows inactivity timeouts,
 * which a client resets with one byte every few seconds). */
struct api_guard {
	struct list_node conns; /* struct api_guard_conn */
	uint64_t header_deadline_ms;
	uint64_t cut; /* connections cut so far */
};

void api_guard_init(struct api_guard *g, uint64_t header_deadline_ms);
/* From libmicrohttpd's connection notifications: started allocates the
 * per-socket record into *socket_context, closed frees it. */
int api_guard_conn_started(struct api_guard *g, struct MHD_Connection *conn, void **socket_context,
			   uint64_t now_ms);
void api_guard_conn_closed(struct api_guard *g, void **socket_context);
/* The request head of conn has arrived: no deadline until it is answered. */
void api_guard_request_head(struct MHD_Connection *conn);
/* The request on conn was answered: the next head is due within the
 * deadline again (an idle keep-alive connection is cut then too). */
void api_guard_request_done(struct MHD_Connection *conn, uint64_t now_ms);
/* Shuts down (shutdown(2), so libmicrohttpd sees EOF and closes them on
 * its next run) the connections past their deadline.  Returns how many. */
unsigned api_guard_expire(struct api_guard *g, uint64_t now_ms);
void api_guard_done(struct api_guard *g);

/* A token bucket: rate tokens a second, up to burst. */
struct api_rate {
	double rate, burst, tokens;
	uint64_t last_ms;
};

void api_rate_init(struct api_rate *b, double rate, double burst, uint64_t now_ms);
/* Takes one token; false (and the seconds until one is there in
 * *retry_after_s) when the bucket is empty. */
bool api_rate_take(struct api_rate *b, uint64_t now_ms, unsigned *retry_after_s);

#endif
