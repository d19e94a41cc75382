/* Small helpers shared by every module: bounded buffers, checked number and
 * duration parsing, time, RFC 3986 encoding and secret wiping. */
#ifndef JW_UTIL_H
#define JW_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ __attribute__((cleanup(freep)))

/* A growable buffer with a hard cap (curl's dynbuf habit): appending past
 * max fails with -E2BIG and leaves the buffer unchanged.  data is always
 * NUL-terminated when non-NULL. */
struct dynbuf {
	char *data;
	size_t len;
	size_t alloc;
	size_t max;
};
void dynbuf_init(struct dynbuf *b, size_t max);
/* Makes room for n more bytes (and the NUL) without changing len. */
int dynbuf_reserve(struct dynbuf *b, size_t n);
int dynbuf_append(struct dynbuf *b, const void *p, size_t n);
int dynbuf_appends(struct dynbuf *b, const char *s);
int dynbuf_appendf(struct dynbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dynbuf_reset(struct dynbuf *b);
/* Wipes the contents before freeing (buffers may have held secrets). */
void dynbuf_free(struct dynbuf *b);
/* Moves the data out; the buffer is empty afterwards.  Never NULL on success. */
char *dynbuf_take(struct dynbuf *b);

/* Durations: "500ms", "30s", "5m", "6h", "1d", or a bare number of seconds;
 * "0" is zero.  Combinations like "1h30m" are accepted.  Result in ms. */
int parse_duration_ms(const char *s, uint64_t *ret_ms);
/* Formats ms as the shortest exact duration string ("90s" -> "90s", "1h"). */
void format_duration(uint64_t ms, char *buf, size_t size);
/* yes/no/true/false/on/off/1/0; returns 0 or 1, or -EINVAL. */
int parse_boolean(const char *s);
/* Checked integer parsing: the whole string must be a number in [min, max]. */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret);
/* "10%" or "10" → 0.10; range 0..100 %. */
int parse_percent(const char *s, double *ret);

/* RFC 3339 / ISO 8601 timestamps with optional fraction and offset
 * ("2024-01-15T12:00:00Z", "2024-01-15T12:00:00.123+02:00").  Result in ms
 * since the epoch.  (JSON numbers -- epoch seconds -- are the parser's job.) */
int parse_iso8601_ms(const char *s, int64_t *ret_ms);
/* An HTTP Date header ("Sun, 06 Nov 1994 08:49:37 GMT") in ms since the epoch. */
int parse_http_date_ms(const char *s, int64_t *ret_ms);
/* "2024-01-15T12:00:00.123Z" (fraction only when non-zero); buf >= 32. */
void format_iso8601_ms(int64_t ms, char *buf, size_t size);

uint64_t now_realtime_ms(void);
uint64_t now_monotonic_ms(void);

/* Percent-encodes everything except A-Z a-z 0-9 - . _ ~ (RFC 3986
 * unreserved), as AWS expects for URI labels and query strings. */
int uri_encode(const char *in, size_t len, struct dynbuf *out);

/* explicit_bzero then free; NULL-safe. */
void secret_free(char *s);
/* strdup that returns NULL for NULL. */
char *strdup_or_null(const char *s);
/* Replaces *dst with a copy of s (NULL allowed); on -ENOMEM *dst is kept. */
int str_replace(char **dst, const char *s);
bool str_empty(const char *s);
/* strcmp() == 0, with NULL and "" the same (both: unset). */
bool str_same(const char *a, const char *b);
bool str_startswith(const char *s, const char *prefix);
/* Trims ASCII whitespace at both ends in place and returns s. */
char *strstrip(char *s);

/* Reads a whole file (up to max bytes; -EFBIG beyond).  O_CLOEXEC. */
int read_file_capped(const char *path, size_t max, char **ret, size_t *ret_len);

/* Validation of identifiers that come from config, the API or the control
 * socket.  Patterns from the Clean Rooms ML service model. */
/* The resource part of a Clean Rooms ML ARN (after the account), or NULL
 * when s is not one. */
const char *arn_cleanrooms_ml_resource(const char *s);
/* [-a-zA-Z0-9_/.]+ to the end: the id part of the ARN patterns. */
bool arn_resource_id_is_valid(const char *p);
bool arn_is_audience_generation_job(const char *s);
bool arn_is_configured_audience_model(const char *s);
bool uuid_is_valid(const char *s);
/* The region field of an ARN: *ret points at it (NULL when the ARN has
 * fewer than four fields) and the length is returned. */
size_t arn_region(const char *arn, const char **ret);
bool arn_in_region(const char *arn, const char *region);
/* The id part of an audience-generation-job ARN (after "audience-generation-job/"). */
const char *arn_job_id(const char *arn);

/* Lowercase hex of n bytes into out (2n+1). */
void hex_encode(const unsigned char *in, size_t n, char *out);

#endif
