/* Request-head deadlines and the job-creation rate limit of the listener
 * (see guard.h).  Knows libmicrohttpd's connections, not the loop. */
#include "api/guard.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "log.h"

struct api_guard_conn {
	struct list_node node; /* in guard->conns */
	struct api_guard *guard;
	struct MHD_Connection *conn;
	uint64_t due_ms; /* the head is due by then; 0 = being served */
	bool cut;
};

void api_guard_init(struct api_guard *g, uint64_t header_deadline_ms)
{
	*g = (struct api_guard){.header_deadline_ms = header_deadline_ms};
	list_init(&g->conns);
}

static struct api_guard_conn *conn_record(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *i =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return i ? i->socket_context : NULL;
}

int api_guard_conn_started(struct api_guard *g, struct MHD_Connection *conn, void **socket_context,
			   uint64_t now_ms)
{
	struct api_guard_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->guard = g;
	c->conn = conn;
	c->due_ms = now_ms + g->header_deadline_ms;
	list_add_head(&g->conns, &c->node);
	*socket_context = c;
	return 0;
}

void api_guard_conn_closed(struct api_guard *g, void **socket_context)
{
	struct api_guard_conn *c = *socket_context;

	if (!c)
		return;
	list_del(&c->node);
	free(c);
	*socket_context = NULL;
}

void api_guard_request_head(struct MHD_Connection *conn)
{
	struct api_guard_conn *c = conn_record(conn);

	if (c)
		c->due_ms = 0;
}

void api_guard_request_done(struct MHD_Connection *conn, uint64_t now_ms)
{
	struct api_guard_conn *c = conn_record(conn);

	if (c && !c->cut)
		c->due_ms = now_ms + c->guard->header_deadline_ms;
}

unsigned api_guard_expire(struct api_guard *g, uint64_t now_ms)
{
	struct list_node *node;
	unsigned n = 0;

	list_for_each(node, &g->conns) {
		struct api_guard_conn *c = container_of(node, struct api_guard_conn, node);
		const union MHD_ConnectionInfo *i;

		if (c->cut || c->due_ms == 0 || now_ms < c->due_ms)
			continue;
		i = MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (!i)
			continue;
		/* The socket stays open (libmicrohttpd owns it); reading
		 * EOF on it, libmicrohttpd closes the connection itself. */
		(void)shutdown(i->connect_fd, SHUT_RDWR);
		c->cut = true;
		n++;
	}
	g->cut += n;
	return n;
}

void api_guard_done(struct api_guard *g)
{
	struct api_guard_conn *c;

	while ((c = list_first_entry(&g->conns, struct api_guard_conn, node))) {
		list_del(&c->node);
		free(c);
	}
}

void api_rate_init(struct api_rate *b, double rate, double burst, uint64_t now_ms)
{
	*b = (struct api_rate){.rate = rate, .burst = burst, .tokens = burst, .last_ms = now_ms};
}

bool api_rate_take(struct api_rate *b, uint64_t now_ms, unsigned *retry_after_s)
{
	if (now_ms > b->last_ms) {
		b->tokens = fmin(b->burst, b->tokens + (double)(now_ms - b->last_ms) * b->rate / 1000.0);
		b->last_ms = now_ms;
	}
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
		return true;
	}
	*retry_after_s = (unsigned)ceil((1.0 - b->tokens) / b->rate);
	if (*retry_after_s == 0)
		*retry_after_s = 1;
	return false;
}
