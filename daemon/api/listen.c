/* The listener's sockets (a unix socket file or a TCP port) and its token
 * files: everything api_new() needs before libmicrohttpd starts. */
#include "api/listen.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/render.h"
#include "log.h"
#include "util.h"

/* Is someone accepting on the socket file?  The probe never blocks: a
 * live daemon whose backlog is full answers EAGAIN at once, where a
 * blocking connect() would hang the start until it drained.  A file with
 * no listener behind it answers ECONNREFUSED. */
static bool unix_socket_live(const struct sockaddr_un *sa)
{
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	bool live;

	if (probe < 0)
		return false;
	live = connect(probe, (const struct sockaddr *)sa, sizeof(*sa)) == 0 || errno == EAGAIN ||
	       errno == EINPROGRESS;
	close(probe);
	return live;
}

int api_listen_unix(const char *path, dev_t *dev, ino_t *ino, int *ret_fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	mode_t old_mask;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return log_error_errno(-ENAMETOOLONG, "http: unix socket path %s is too long", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return log_error_errno(-errno, "http: cannot create a unix socket: %m");
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			close(fd);
			return log_error_errno(
			    -EEXIST, "http: %s exists and is not a socket; not replacing it", path);
		}
		/* A socket file someone still answers on is not stale. */
		if (unix_socket_live(&sa)) {
			close(fd);
			return log_error_errno(-EADDRINUSE, "http: another process listens on %s", path);
		}
		if (unlink(path) < 0 && errno != ENOENT) {
			r = -errno;
			close(fd);
			return log_error_errno(r, "http: cannot remove the stale socket %s: %m", path);
		}
		log_debug("http: removed stale socket %s", path);
	}
	/* Created 0660 from the start: no window in which others could
	 * connect. */
	old_mask = umask(0117);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_mask);
	if (r < 0) {
		r = -errno;
		close(fd);
		return log_error_errno(r, "http: cannot bind %s: %m", path);
	}
	if (chmod(path, 0660) < 0)
		log_warning_errno(-errno, "http: cannot set the mode of %s: %m", path);
	if (stat(path, &st) == 0) {
		*dev = st.st_dev;
		*ino = st.st_ino;
	}
	if (listen(fd, 64) < 0) {
		r = -errno;
		close(fd);
		unlink(path);
		return log_error_errno(r, "http: cannot listen on %s: %m", path);
	}
	*ret_fd = fd;
	return 0;
}

int api_listen_tcp(const char *host, unsigned port, unsigned *bound_port, int *ret_fd)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char portbuf[16];
	int fd, r, one = 1;

	snprintf(portbuf, sizeof(portbuf), "%u", port);
	if (str_empty(host) || strcmp(host, "*") == 0)
		host = NULL;
	r = getaddrinfo(host, portbuf, &hints, &res);
	if (r != 0 || !res)
		return log_error_errno(-EADDRNOTAVAIL, "http: cannot resolve %s: %s", host ? host : "*",
				       gai_strerror(r));
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		r = -errno;
		freeaddrinfo(res);
		return log_error_errno(r, "http: cannot create a socket: %m");
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 64) < 0) {
		r = -errno;
		freeaddrinfo(res);
		close(fd);
		return log_error_errno(r, "http: cannot listen on %s:%u: %m", host ? host : "*", port);
	}
	freeaddrinfo(res);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET)
			*bound_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			*bound_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	*ret_fd = fd;
	return 0;
}

int api_read_token(const char *path, const char *what, char **ret)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	r = read_file_capped(path, API_TOKEN_MAX, &buf, &len);
	if (r < 0)
		return log_error_errno(r, "http: cannot read the %s %s: %m", what, path);
	if (memchr(buf, '\0', len) || str_empty(strstrip(buf))) {
		secret_free(buf);
		return log_error_errno(-EINVAL, "http: the %s %s is empty or not text", what, path);
	}
	*ret = buf;
	return 0;
}
