#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

static enum log_target log_target = LOG_TARGET_STDERR;
static enum log_format log_format = LOG_FORMAT_TEXT;
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

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

bool log_journal_available(void)
{
	struct stat st;

	return stat(JOURNAL_SOCKET, &st) == 0 && S_ISSOCK(st.st_mode);
}

void log_setup(enum log_target target, int max_level)
{
	bool fallback = false;

	if (target == LOG_TARGET_AUTO)
		target = stderr_is_journal() ? LOG_TARGET_JOURNAL : LOG_TARGET_STDERR;
	/* libsystemd drops what it cannot send: say so and use stderr. */
	if (target == LOG_TARGET_JOURNAL && !log_journal_available()) {
		target = LOG_TARGET_STDERR;
		fallback = true;
	}
	log_target = target;
	if (max_level >= 0)
		log_max_level = max_level;
	if (fallback)
		log_notice("journald is not running (no %s): logging to stderr", JOURNAL_SOCKET);
}

void log_set_format(enum log_format f)
{
	if (f == LOG_FORMAT_TEXT || f == LOG_FORMAT_JSON)
		log_format = f;
}

enum log_format log_format_from_string(const char *s)
{
	if (s && strcmp(s, "text") == 0)
		return LOG_FORMAT_TEXT;
	if (s && strcmp(s, "json") == 0)
		return LOG_FORMAT_JSON;
	return LOG_FORMAT_INVALID;
}

static void now_iso8601(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	char base[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	if (strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		base[0] = 0;
	snprintf(buf, size, "%s.%03dZ", base, (int)(ts.tv_nsec / 1000000) % 1000);
}

/* A JSON string literal of s (UTF-8 passed through, controls escaped). */
static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static const char *level_name(int level)
{
	return level >= 0 && level <= LOG_DEBUG ? level_names[level] : "?";
}

/* One line on stderr, written with a single flush so that lines of
 * concurrent writers (none today) would not interleave mid-line. */
static void stderr_line(int level, const char *msg, int err, const char *const (*fields)[2], size_t n)
{
	char when[40];

	now_iso8601(when, sizeof(when));
	flockfile(stderr);
	if (log_format == LOG_FORMAT_JSON) {
		fputs("{\"time\":", stderr);
		json_string(stderr, when);
		fputs(",\"level\":", stderr);
		json_string(stderr, level_name(level));
		fputs(",\"message\":", stderr);
		json_string(stderr, msg);
		if (err)
			fprintf(stderr, ",\"errno\":%d", err);
		for (size_t i = 0; i < n; i++) {
			if (!fields[i][1] || strcmp(fields[i][0], "MESSAGE") == 0 ||
			    strcmp(fields[i][0], "PRIORITY") == 0)
				continue;
			fputc(',', stderr);
			json_string(stderr, fields[i][0]);
			fputc(':', stderr);
			json_string(stderr, fields[i][1]);
		}
		fputs("}\n", stderr);
	} else {
		fprintf(stderr, "%s jobwatchd[%s]: %s", when, level_name(level), msg);
		for (size_t i = 0; i < n; i++)
			if (fields[i][1] && (strcmp(fields[i][0], "EVENT_ID") == 0 ||
					     strcmp(fields[i][0], "EVENT_TYPE") == 0 ||
					     strcmp(fields[i][0], "JOB_ARN") == 0))
				fprintf(stderr, " %s=%s", fields[i][0], fields[i][1]);
		fputc('\n', stderr);
	}
	fflush(stderr);
	funlockfile(stderr);
}

void log_record(int level, const char *const (*fields)[2], size_t n)
{
	const char *msg = "";

	for (size_t i = 0; i < n; i++)
		if (strcmp(fields[i][0], "MESSAGE") == 0 && fields[i][1])
			msg = fields[i][1];
	stderr_line(level, msg, 0, fields, n);
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
		stderr_line(level, msg, err, NULL, 0);
	}
	errno = saved;
	return -err;
}
