#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

static enum log_target log_target = LOG_TARGET_STDERR;
static int log_max_level = LOG_INFO;

static const char *const level_names[] = {
    [LOG_EMERG] = "emerg",     [LOG_ALERT] = "alert",	[LOG_CRIT] = "crit", [LOG_ERR] = "err",
    [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

/* stderr is the journal when $JOURNAL_STREAM names the device and inode of
 * our fd 2 (systemd.exec(5)); then structured entries are strictly better. */
static int stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_setup(enum log_target target, int max_level)
{
	if (target == LOG_TARGET_AUTO)
		target = stderr_is_journal() ? LOG_TARGET_JOURNAL : LOG_TARGET_STDERR;
	log_target = target;
	if (max_level >= 0)
		log_max_level = max_level;
}

int log_get_max_level(void)
{
	return log_max_level;
}

void log_set_max_level(int level)
{
	log_max_level = level;
}

int log_level_from_string(const char *s)
{
	char *end;
	long v;

	if (!s || !*s)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return (int)i;
	if (strcasecmp(s, "error") == 0)
		return LOG_ERR;
	if (strcasecmp(s, "warn") == 0)
		return LOG_WARNING;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > 7)
		return -EINVAL;
	return (int)v;
}

enum log_target log_target_from_string(const char *s)
{
	if (!s)
		return LOG_TARGET_INVALID;
	if (strcmp(s, "auto") == 0)
		return LOG_TARGET_AUTO;
	if (strcmp(s, "stderr") == 0 || strcmp(s, "console") == 0)
		return LOG_TARGET_STDERR;
	if (strcmp(s, "journal") == 0)
		return LOG_TARGET_JOURNAL;
	return LOG_TARGET_INVALID;
}

int log_internal(int level, int err, const char *file, int line, const char *func, const char *fmt, ...)
{
	char msg[2048];
	int saved = errno;
	va_list ap;

	if (err < 0)
		err = -err;
	if (level > log_max_level) {
		errno = saved;
		return -err;
	}

	/* %m in the format refers to err, as in systemd. */
	errno = err ? err : saved;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (log_target == LOG_TARGET_JOURNAL) {
		char cfile[256], cline[32];
		snprintf(cfile, sizeof(cfile), "CODE_FILE=%s", file);
		snprintf(cline, sizeof(cline), "CODE_LINE=%d", line);
		if (err)
			sd_journal_send_with_location(cfile, cline, func, "MESSAGE=%s", msg, "PRIORITY=%d",
						      level, "ERRNO=%d", err, NULL);
		else
			sd_journal_send_with_location(cfile, cline, func, "MESSAGE=%s", msg, "PRIORITY=%d",
						      level, NULL);
	} else {
		const char *name = level >= 0 && level <= LOG_DEBUG ? level_names[level] : "?";
		fprintf(stderr, "jobwatchd[%s]: %s\n", name, msg);
	}
	errno = saved;
	return -err;
}
