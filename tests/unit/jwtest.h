/* What the C unit tests share (linked into every tests/unit/test_*.c):
 * temporary directories, and the one scripted HTTP/1.1 test server that
 * test_http, test_aws_client and test_notify_webhook run against.
 *
 * The server listens on 127.0.0.1 (a port of its own), accepts in a thread
 * and serves each connection in a thread of its own, keep-alive, so a
 * test's loop and libcurl run undisturbed on the main thread.  The test's
 * handler answers each complete request (head + Content-Length body) with
 * the jwt_send_* functions, which is how resets, stalls, truncation and
 * huge bodies are made on demand.  The counters and whatever the handler
 * records are shared with the test thread under jwt_server_lock(). */
#ifndef JW_TESTS_JWTEST_H
#define JW_TESTS_JWTEST_H

#include <stdbool.h>
#include <stddef.h>

/* ---- a sample event ---- */

#include "event.h"

#define JWT_EVENT_ARN	  "arn:aws:cleanrooms-ml:us-east-1:111122223333:audience-generation-job/abcd-1234"
#define JWT_EVENT_CAM_ARN "arn:aws:cleanrooms-ml:us-east-1:111122223333:configured-audience-model/cam-1"
#define JWT_EVENT_COLLAB  "11111111-2222-3333-4444-555555555555"

/* An event of JWT_EVENT_ARN ("weekly-lookalike" in us-east-1, created
 * 2024-01-15T12:00:00Z, updated 13:00:00.500Z, detected 13:00:05Z) with its
 * statusDetails (code, message: NULL for none); event_free() it. */
struct event *jwt_event_new(enum event_type type, enum job_status prev, enum job_status status,
			    const char *code, const char *message);

/* ---- temporary directories ---- */

/* mkdtemp("/tmp/jw-TAG-XXXXXX") into buf (asserts on failure); returns buf. */
char *jwt_tmpdir(const char *tag, char *buf, size_t size);
/* Removes dir and everything below it (not following symlinks). */
void jwt_rmtree(const char *dir);

/* ---- the HTTP/1.1 test server ---- */

/* A listening TCP socket on 127.0.0.1 and a free port (asserts). */
int jwt_listen_loopback(unsigned *port, int backlog);

struct jwt_server;
struct jwt_conn;

struct jwt_request {
	const char *method;
	const char *target; /* as on the request line */
	const char *head;   /* request line and headers, up to and with the blank line */
	const char *body;
	size_t body_len;
	unsigned index; /* 0 for the server's first complete request */
};

/* Answers rq on c; returns false when the connection is finished (the
 * server then closes it, unless the handler did). */
typedef bool jwt_handler_fn(struct jwt_conn *c, const struct jwt_request *rq, void *userdata);

struct jwt_server *jwt_server_start(jwt_handler_fn *handler, void *userdata);
/* Hangs up every connection, joins every thread and frees s. */
void jwt_server_stop(struct jwt_server *s);
unsigned jwt_server_port(const struct jwt_server *s);
/* Complete requests received so far. */
unsigned jwt_server_requests(struct jwt_server *s);
/* Guards the handler's records against the test thread. */
void jwt_server_lock(struct jwt_server *s);
void jwt_server_unlock(struct jwt_server *s);

bool jwt_send_all(struct jwt_conn *c, const void *p, size_t n);
/* "HTTP/1.1 STATUS X", extra_headers ("Name: value\r\n"..., may be NULL),
 * Content-Length, then the body. */
bool jwt_send_response(struct jwt_conn *c, int status, const char *extra_headers, const void *body,
		       size_t len);
/* n bytes of 'x'. */
bool jwt_send_filler(struct jwt_conn *c, size_t n);
/* Closes the connection now; reset sends an RST instead of a FIN. */
void jwt_conn_close(struct jwt_conn *c, bool reset);
/* The client's port of the connection: which connection a request came on. */
unsigned jwt_conn_peer_port(struct jwt_conn *c);
/* Never answers: waits until the client (or jwt_server_stop) hangs up. */
void jwt_conn_wait_hangup(struct jwt_conn *c);

/* The value of header name (case-insensitive) in head, "" when absent;
 * truncated to size. */
void jwt_header_value(const char *head, const char *name, char *out, size_t size);

#endif
