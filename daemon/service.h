/* The systemd service protocol (sd_notify): READY, STATUS, WATCHDOG,
 * RELOADING, STOPPING.  All functions are no-ops without $NOTIFY_SOCKET. */
#ifndef JW_SERVICE_H
#define JW_SERVICE_H

#include <stdint.h>

void service_notify_ready(const char *status);
void service_notify_status(const char *status);
/* RELOADING=1 with MONOTONIC_USEC, as systemd >= 253 expects (harmless on 252). */
void service_notify_reloading(void);
void service_notify_stopping(void);
void service_notify_watchdog(void);
/* The watchdog interval from $WATCHDOG_USEC (0 when disabled). */
uint64_t service_watchdog_usec(void);

#endif
