#include "service.h"

#include <stdio.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "log.h"

static void notify(const char *msg)
{
	int r = sd_notify(0, msg);
	if (r < 0)
		log_debug_errno(r, "sd_notify failed: %m");
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
