/* The shared parts of the C unit tests: see jwtest.h. */
#include "jwtest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "util.h"

struct event *jwt_event_new(enum event_type type, enum job_status prev, enum job_status status,
			    const char *code, const char *message)
{
	struct event *e = calloc(1, sizeof(*e));
	struct job_observation *o = job_observation_new();

	assert_non_null(e);
	assert_non_null(o);
	o->arn = strdup(JWT_EVENT_ARN);
	o->name = strdup("weekly-lookalike");
	o->status = status;
	o->status_code = strdup_or_null(code);
	o->status_message = strdup_or_null(message);
	o->configured_audience_model_arn = strdup(JWT_EVENT_CAM_ARN);
	o->collaboration_id = strdup(JWT_EVENT_COLLAB);
	o->create_time_ms = 1705320000000; /* 2024-01-15T12:00:00Z */
	o->update_time_ms = 1705323600500; /* 2024-01-15T13:00:00.500Z */
	e->job = o;
	e->type = type;
	e->previous_status = prev;
	e->status = status;
	e->detected_ms = 1705323605000; /* 2024-01-15T13:00:05Z */
	e->region = strdup("us-east-1");
	event_compute_id(JWT_EVENT_ARN, prev, status, o->update_time_ms, type, e->id);
	return e;
}

/* ---- temporary directories ---- */

char *jwt_tmpdir(const char *tag, char *buf, size_t size)
{
	int n = snprintf(buf, size, "/tmp/jw-%s-XXXXXX", tag);

	assert_true(n > 0 && (size_t)n < size);
	assert_non_null(mkdtemp(buf));
	return buf;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

void jwt_rmtree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- the HTTP/1.1 test server ---- */

#define SRV_MAX_CONNS 256
#define SRV_BUF	      (256 * 1024)

struct jwt_conn {
	struct jwt_server *srv;
	int fd;
	pthread_t thr;
};

struct jwt_server {
	int lfd;
	unsigned port;
	jwt_handler_fn *handler;
	void *userdata;
	pthread_t thr;
	pthread_mutex_t lock;
	struct jwt_conn conns[SRV_MAX_CONNS];
	size_t n_conns;
	unsigned n_requests;
	bool stopping;
};

bool jwt_send_all(struct jwt_conn *c, const void *p, size_t n)
{
	const char *b = p;

	while (n > 0) {
		ssize_t k = send(c->fd, b, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		b += k;
		n -= (size_t)k;
	}
	return true;
}

bool jwt_send_response(struct jwt_conn *c, int status, const char *extra_headers, const void *body,
		       size_t len)
{
	struct dynbuf head;
	bool ok;

	dynbuf_init(&head, 64 * 1024);
	ok = dynbuf_appendf(&head, "HTTP/1.1 %d X\r\n%sContent-Length: %zu\r\n\r\n", status,
			    extra_headers ? extra_headers : "", len) == 0 &&
	     jwt_send_all(c, head.data, head.len) && jwt_send_all(c, body, len);
	dynbuf_free(&head);
	return ok;
}

bool jwt_send_filler(struct jwt_conn *c, size_t n)
{
	char chunk[16384];

	memset(chunk, 'x', sizeof(chunk));
	while (n > 0) {
		size_t k = n < sizeof(chunk) ? n : sizeof(chunk);
		if (!jwt_send_all(c, chunk, k))
			return false;
		n -= k;
	}
	return true;
}

unsigned jwt_conn_peer_port(struct jwt_conn *c)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	if (getpeername(c->fd, (struct sockaddr *)&a, &len) < 0 || a.sin_family != AF_INET)
		return 0;
	return ntohs(a.sin_port);
}

void jwt_conn_close(struct jwt_conn *c, bool reset)
{
	pthread_mutex_lock(&c->srv->lock);
	if (c->fd >= 0) {
		if (reset) {
			struct linger l = {.l_onoff = 1, .l_linger = 0};
			setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		}
		close(c->fd);
		c->fd = -1;
	}
	pthread_mutex_unlock(&c->srv->lock);
}

void jwt_conn_wait_hangup(struct jwt_conn *c)
{
	char ch;

	while (recv(c->fd, &ch, 1, 0) > 0)
		;
}

void jwt_header_value(const char *head, const char *name, char *out, size_t size)
{
	size_t nl = strlen(name);

	out[0] = '\0';
	for (const char *p = head; p && *p; p = strstr(p, "\r\n") ? strstr(p, "\r\n") + 2 : NULL) {
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1, *e = strstr(v, "\r\n");
			size_t n;
			while (*v == ' ')
				v++;
			n = e ? (size_t)(e - v) : strlen(v);
			if (n >= size)
				n = size - 1;
			memcpy(out, v, n);
			out[n] = '\0';
			return;
		}
	}
}

/* The length of the head (with its blank line) in buf, 0 while incomplete. */
static size_t head_length(char *buf, size_t len)
{
	char *end;

	buf[len] = '\0';
	end = strstr(buf, "\r\n\r\n");
	return end ? (size_t)(end - buf) + 4 : 0;
}

static void *conn_main(void *p)
{
	struct jwt_conn *c = p;
	struct jwt_server *s = c->srv;
	char *buf = malloc(SRV_BUF + 1);
	size_t len = 0;

	assert_non_null(buf);
	for (;;) {
		char method[16], target[1024], head[8192], cl[32];
		size_t head_len, body_len = 0, need;
		struct jwt_request rq;
		int64_t v;
		ssize_t k;

		while (!(head_len = head_length(buf, len))) {
			if (len >= SRV_BUF)
				goto out;
			k = recv(c->fd, buf + len, SRV_BUF - len, 0);
			if (k <= 0)
				goto out;
			len += (size_t)k;
		}
		if (head_len >= sizeof(head) || sscanf(buf, "%15s %1023s", method, target) != 2)
			goto out;
		memcpy(head, buf, head_len);
		head[head_len] = '\0';
		jwt_header_value(head, "Content-Length", cl, sizeof(cl));
		if (cl[0]) {
			if (parse_int64(cl, 0, SRV_BUF, &v) < 0)
				goto out;
			body_len = (size_t)v;
		}
		need = head_len + body_len;
		if (need > SRV_BUF)
			goto out;
		while (len < need) {
			k = recv(c->fd, buf + len, SRV_BUF - len, 0);
			if (k <= 0)
				goto out;
			len += (size_t)k;
		}
		pthread_mutex_lock(&s->lock);
		rq = (struct jwt_request){
		    .method = method,
		    .target = target,
		    .head = head,
		    .body = buf + head_len,
		    .body_len = body_len,
		    .index = s->n_requests++,
		};
		pthread_mutex_unlock(&s->lock);
		if (!s->handler(c, &rq, s->userdata))
			goto out;
		memmove(buf, buf + need, len - need);
		len -= need;
	}
out:
	free(buf);
	jwt_conn_close(c, false);
	return NULL;
}

static void *accept_main(void *p)
{
	struct jwt_server *s = p;

	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL;
		}
		pthread_mutex_lock(&s->lock);
		if (s->stopping || s->n_conns == SRV_MAX_CONNS) {
			close(fd);
		} else {
			struct jwt_conn *c = &s->conns[s->n_conns++];
			c->srv = s;
			c->fd = fd;
			assert_int_equal(pthread_create(&c->thr, NULL, conn_main, c), 0);
		}
		pthread_mutex_unlock(&s->lock);
	}
}

int jwt_listen_loopback(unsigned *port, int backlog)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, backlog), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

struct jwt_server *jwt_server_start(jwt_handler_fn *handler, void *userdata)
{
	struct jwt_server *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->handler = handler;
	s->userdata = userdata;
	pthread_mutex_init(&s->lock, NULL);
	s->lfd = jwt_listen_loopback(&s->port, 512);
	assert_int_equal(pthread_create(&s->thr, NULL, accept_main, s), 0);
	return s;
}

void jwt_server_stop(struct jwt_server *s)
{
	size_t n;

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	/* shutdown() wakes a blocked accept() (EINVAL) and recv() (EOF). */
	shutdown(s->lfd, SHUT_RDWR);
	for (size_t i = 0; i < s->n_conns; i++)
		if (s->conns[i].fd >= 0)
			shutdown(s->conns[i].fd, SHUT_RDWR);
	n = s->n_conns;
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thr, NULL);
	for (size_t i = 0; i < n; i++)
		pthread_join(s->conns[i].thr, NULL);
	close(s->lfd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

unsigned jwt_server_port(const struct jwt_server *s)
{
	return s->port;
}

unsigned jwt_server_requests(struct jwt_server *s)
{
	unsigned n;

	pthread_mutex_lock(&s->lock);
	n = s->n_requests;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void jwt_server_lock(struct jwt_server *s)
{
	pthread_mutex_lock(&s->lock);
}

void jwt_server_unlock(struct jwt_server *s)
{
	pthread_mutex_unlock(&s->lock);
}
