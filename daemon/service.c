#include "service.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "log.h"

/* Like sd_notify(), but never blocks: libsystemd's send waits when the
 * receiver's queue is full, and these messages come from the event loop --
 * a receiver that stops reading must not stop the daemon.  A message that
 * does not fit is dropped (systemd always reads; WATCHDOG=1 comes again). */
static void notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n;
	int fd;

	if (!path || !*path)
		return;
	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) < 0)
		log_debug_errno(errno, "sd_notify(\"%.20s\") failed: %m", msg);
	close(fd);
}

void service_notify_ready(const char *status)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "READY=1\nSTATUS=%s", status ? status : "running");
	notify(buf);
}

void service_notify_status(const char *status)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "STATUS=%s", status);
	notify(buf);
}

void service_notify_reloading(void)
{
	struct timespec ts;
	char buf[128];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(buf, sizeof(buf), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL);
	notify(buf);
}

void service_notify_stopping(void)
{
	notify("STOPPING=1");
}

void service_notify_watchdog(void)
{
	notify("WATCHDOG=1");
}

uint64_t service_watchdog_usec(void)
{
	uint64_t usec = 0;
	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec;
}
