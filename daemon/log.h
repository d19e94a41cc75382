/* One logging API for the whole daemon.
 *
 * Messages go to journald (structured, with CODE_FILE/CODE_LINE/CODE_FUNC)
 * when stderr is connected to the journal ($JOURNAL_STREAM) or when asked,
 * else to stderr with a level prefix.  Callers never pass secrets.
 *
 * Convention (systemd style): log_*_errno() log and return the negative errno,
 * so a caller can write `return log_error_errno(r, "...")`.  Library-like
 * modules log at debug only; the place that knows the context logs above it.
 */
#ifndef JW_LOG_H
#define JW_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

enum log_target {
	LOG_TARGET_AUTO,
	LOG_TARGET_STDERR,
	LOG_TARGET_JOURNAL,
	LOG_TARGET_INVALID = -1,
};

enum log_format {
	LOG_FORMAT_TEXT, /* "2026-12-03T08:00:00.000Z jobwatchd[info]: message" */
	LOG_FORMAT_JSON, /* {"time": ..., "level": ..., "message": ..., ...} a line */
	LOG_FORMAT_INVALID = -1,
};

/* A journal target without journald (a container, a plain shell) falls back
 * to stderr, with a notice: messages never vanish. */
void log_setup(enum log_target target, int max_level);
void log_set_format(enum log_format f);
enum log_format log_format_from_string(const char *s);
/* Whether journald listens (its socket exists). */
bool log_journal_available(void);
/* Writes one structured record (an event without journald) to stderr in
 * the log format: fields are journal-style NAME/value pairs, NULL values
 * skipped; MESSAGE and PRIORITY are used for the text form. */
void log_record(int level, const char *const (*fields)[2], size_t n);
void log_set_max_level(int level);
/* Parses "err", "warning", "notice", "info", "debug" (or 0..7). */
int log_level_from_string(const char *s);
enum log_target log_target_from_string(const char *s);

/* Returns -abs(err) (or 0 when err is 0) so it can be returned directly. */
int log_internal(int level, int err, const char *file, int line, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

#define log_full_errno(level, err, ...) log_internal(level, err, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_debug(...)			log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...)			log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...)			log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...)		log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...)			log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(err, ...)	log_full_errno(LOG_DEBUG, err, __VA_ARGS__)
#define log_warning_errno(err, ...)	log_full_errno(LOG_WARNING, err, __VA_ARGS__)
#define log_error_errno(err, ...)	log_full_errno(LOG_ERR, err, __VA_ARGS__)

#endif
