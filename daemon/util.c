#include "util.h"

#include "kinds.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void dynbuf_init(struct dynbuf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->max = max;
}

int dynbuf_reserve(struct dynbuf *b, size_t n)
{
	if (n > b->max || b->len > b->max - n)
		return -E2BIG;
	if (b->len + n + 1 > b->alloc) {
		size_t a = b->alloc ? b->alloc : 64;
		char *d;
		while (a < b->len + n + 1)
			a *= 2;
		if (a > b->max + 1)
			a = b->max + 1;
		d = realloc(b->data, a);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->alloc = a;
	}
	return 0;
}

int dynbuf_append(struct dynbuf *b, const void *p, size_t n)
{
	int r = dynbuf_reserve(b, n);

	if (r < 0)
		return r;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int dynbuf_appends(struct dynbuf *b, const char *s)
{
	return dynbuf_append(b, s, strlen(s));
}

int dynbuf_appendf(struct dynbuf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n < sizeof(small))
		return dynbuf_append(b, small, (size_t)n);
	{
		char *big = malloc((size_t)n + 1);
		int r;
		if (!big)
			return -ENOMEM;
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		r = dynbuf_append(b, big, (size_t)n);
		free(big);
		return r;
	}
}

void dynbuf_reset(struct dynbuf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void dynbuf_free(struct dynbuf *b)
{
	if (b->data) {
		explicit_bzero(b->data, b->alloc);
		free(b->data);
	}
	b->data = NULL;
	b->len = b->alloc = 0;
}

char *dynbuf_take(struct dynbuf *b)
{
	char *d = b->data;
	if (!d)
		d = strdup("");
	b->data = NULL;
	b->len = b->alloc = 0;
	return d;
}

int parse_duration_ms(const char *s, uint64_t *ret_ms)
{
	static const struct {
		const char *suffix;
		uint64_t ms;
	} units[] = {
	    {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
	};
	uint64_t total = 0;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	while (*p) {
		uint64_t v = 0, mul = 0;
		size_t ulen = 0;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		while (isdigit((unsigned char)*p)) {
			if (v > (UINT64_MAX - 9) / 10)
				return -ERANGE;
			v = v * 10 + (uint64_t)(*p - '0');
			p++;
		}
		if (!*p) {
			/* A bare number means seconds, but only on its own. */
			if (p != s && total == 0 && strspn(s, "0123456789") == strlen(s))
				mul = 1000;
			else
				return -EINVAL;
		} else {
			for (size_t i = 0; i < ELEMENTSOF(units); i++) {
				size_t l = strlen(units[i].suffix);
				if (strncmp(p, units[i].suffix, l) == 0 && !isalpha((unsigned char)p[l])) {
					mul = units[i].ms;
					ulen = l;
					break;
				}
			}
			if (!mul)
				return -EINVAL;
		}
		if (v && mul > UINT64_MAX / v)
			return -ERANGE;
		if (total > UINT64_MAX - v * mul)
			return -ERANGE;
		total += v * mul;
		p += ulen;
	}
	*ret_ms = total;
	return 0;
}

void format_duration(uint64_t ms, char *buf, size_t size)
{
	if (ms == 0)
		snprintf(buf, size, "0");
	else if (ms % 86400000 == 0)
		snprintf(buf, size, "%llud", (unsigned long long)(ms / 86400000));
	else if (ms % 3600000 == 0)
		snprintf(buf, size, "%lluh", (unsigned long long)(ms / 3600000));
	else if (ms % 60000 == 0)
		snprintf(buf, size, "%llum", (unsigned long long)(ms / 60000));
	else if (ms % 1000 == 0)
		snprintf(buf, size, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, size, "%llums", (unsigned long long)ms);
}

int parse_boolean(const char *s)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < ELEMENTSOF(yes); i++)
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
	for (size_t i = 0; i < ELEMENTSOF(no); i++)
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	return -EINVAL;
}

int parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret)
{
	char *end;
	long long v;

	if (!s || !*s || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || *end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int parse_percent(const char *s, double *ret)
{
	char *end;
	double v;

	if (!s || !*s || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s)
		return -EINVAL;
	if (*end == '%')
		end++;
	if (*end || !isfinite(v))
		return -EINVAL;
	if (v < 0 || v > 100)
		return -ERANGE;
	*ret = v / 100.0;
	return 0;
}

static int parse_digits(const char **p, int n, int *ret)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -EINVAL;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*ret = v;
	return 0;
}

/* days_from_civil (Howard Hinnant's algorithm): no timegm/TZ dependence. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static const int http_mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

int parse_http_date_ms(const char *s, int64_t *ret_ms)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int Y, M = 0, D, h, m, sec;
	const char *p;

	/* IMF-fixdate, the only form a server may send (RFC 9110 §5.6.7):
	 * "Sun, 06 Nov 1994 08:49:37 GMT".  The day name is not checked. */
	if (!s || strlen(s) > 64 || !(p = strstr(s, ", ")))
		return -EINVAL;
	p += 2;
	if (parse_digits(&p, 2, &D) < 0 || *p++ != ' ')
		return -EINVAL;
	for (int i = 0; i < 12; i++)
		if (strncmp(p, months + 3 * i, 3) == 0)
			M = i + 1;
	if (M == 0 || p[3] != ' ')
		return -EINVAL;
	p += 4;
	if (parse_digits(&p, 4, &Y) < 0 || *p++ != ' ' || parse_digits(&p, 2, &h) < 0 || *p++ != ':' ||
	    parse_digits(&p, 2, &m) < 0 || *p++ != ':' || parse_digits(&p, 2, &sec) < 0 ||
	    strcmp(p, " GMT") != 0)
		return -EINVAL;
	if (D < 1 || D > http_mdays[M - 1] || h > 23 || m > 59 || sec > 60)
		return -EINVAL;
	if (M == 2 && D == 29 && !((Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0))
		return -EINVAL;
	if (sec == 60)
		sec = 59;
	*ret_ms = (days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + m * 60 + sec) * 1000;
	return 0;
}

int parse_iso8601_ms(const char *s, int64_t *ret_ms)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int Y, M, D, h, m, sec, frac_ms = 0, off = 0;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	if (strlen(s) > 64)
		return -EINVAL;
	if (parse_digits(&p, 4, &Y) < 0 || *p++ != '-' || parse_digits(&p, 2, &M) < 0 || *p++ != '-' ||
	    parse_digits(&p, 2, &D) < 0)
		return -EINVAL;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -EINVAL;
	p++;
	if (parse_digits(&p, 2, &h) < 0 || *p++ != ':' || parse_digits(&p, 2, &m) < 0 || *p++ != ':' ||
	    parse_digits(&p, 2, &sec) < 0)
		return -EINVAL;
	if (*p == '.' || *p == ',') {
		int digits = 0;
		p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		while (isdigit((unsigned char)*p)) {
			if (digits < 3)
				frac_ms = frac_ms * 10 + (*p - '0');
			digits++;
			p++;
			if (digits > 12)
				return -EINVAL;
		}
		for (; digits < 3; digits++)
			frac_ms *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, oh, om;
		p++;
		if (parse_digits(&p, 2, &oh) < 0)
			return -EINVAL;
		if (*p == ':')
			p++;
		if (parse_digits(&p, 2, &om) < 0 || oh > 23 || om > 59)
			return -EINVAL;
		off = sign * (oh * 60 + om);
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || m > 59 || sec > 60)
		return -EINVAL;
	if (M == 2 && D == 29 && !((Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0))
		return -EINVAL;
	if (sec == 60)
		sec = 59; /* leap second: clamp */
	*ret_ms =
	    ((days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + m * 60 + sec) - off * 60) *
		1000 +
	    frac_ms;
	return 0;
}

void format_iso8601_ms(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	int frac = (int)(ms - (int64_t)t * 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	if (frac)
		snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	else
		snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

uint64_t now_realtime_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t now_monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* RFC 3986 unreserved bytes: ALPHA DIGIT - . _ ~ */
static const unsigned char uri_unreserved[256] = {
    ['-'] = 1, ['.'] = 1, ['_'] = 1, ['~'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
    ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1,
    ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1,
    ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1,
    ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1,
    ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
    ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1,
    ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

int uri_encode(const char *in, size_t len, struct dynbuf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	char *start, *p;
	int r;

	/* Room for the worst case, then one pass written in place: this runs
	 * twice per request (the URL, the canonical request) over an ARN. */
	if (len > SIZE_MAX / 3)
		return -E2BIG;
	r = dynbuf_reserve(out, 3 * len);
	if (r == -E2BIG) {
		size_t need = 0;
		for (size_t i = 0; i < len; i++)
			need += uri_unreserved[(unsigned char)in[i]] ? 1 : 3;
		r = dynbuf_reserve(out, need);
	}
	if (r < 0)
		return r;
	start = p = out->data + out->len;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (uri_unreserved[c])
			*p++ = (char)c;
		else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	out->len += (size_t)(p - start);
	out->data[out->len] = '\0';
	return 0;
}

void secret_free(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

char *strdup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int str_replace(char **dst, const char *s)
{
	char *n = NULL;

	if (s && !(n = strdup(s)))
		return -ENOMEM;
	free(*dst);
	*dst = n;
	return 0;
}

bool str_empty(const char *s)
{
	return !s || !*s;
}

bool str_same(const char *a, const char *b)
{
	if (str_empty(a) || str_empty(b))
		return str_empty(a) == str_empty(b);
	return strcmp(a, b) == 0;
}

bool str_startswith(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

char *strstrip(char *s)
{
	char *e;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int read_file_capped(const char *path, size_t max, char **ret, size_t *ret_len)
{
	struct dynbuf b;
	char chunk[4096];
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	dynbuf_init(&b, max);
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		r = dynbuf_append(&b, chunk, (size_t)n);
		if (r < 0) {
			r = r == -E2BIG ? -EFBIG : r;
			break;
		}
	}
	close(fd);
	explicit_bzero(chunk, sizeof(chunk));
	if (r < 0) {
		dynbuf_free(&b);
		return r;
	}
	if (ret_len)
		*ret_len = b.len;
	*ret = dynbuf_take(&b);
	return *ret ? 0 : -ENOMEM;
}

/* arn:aws[-a-z]*:cleanrooms-ml:[-a-z0-9]+:[0-9]{12}:<resource>, 20..2048
 * characters: the part every Clean Rooms ML ARN shares.  Returns the resource
 * part, or NULL. */
const char *arn_cleanrooms_ml_resource(const char *s)
{
	const char *p = s;
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s);
	if (n < 20 || n > 2048)
		return NULL;
	if (strncmp(p, "arn:aws", 7) != 0)
		return NULL;
	p += 7;
	while ((*p >= 'a' && *p <= 'z') || *p == '-')
		p++;
	if (strncmp(p, ":cleanrooms-ml:", 15) != 0)
		return NULL;
	p += 15;
	n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789-");
	if (n == 0 || p[n] != ':')
		return NULL;
	p += n + 1;
	n = strspn(p, "0123456789");
	if (n != 12 || p[n] != ':')
		return NULL;
	return p + 13;
}

bool arn_resource_id_is_valid(const char *p)
{
	size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_/.");
	return n > 0 && p[n] == '\0';
}

/* <prefix>:<type>/[-a-zA-Z0-9_/.]+ */
static bool arn_matches(const char *s, const char *type)
{
	const char *p = arn_cleanrooms_ml_resource(s);
	size_t tl = strlen(type);

	if (!p || strncmp(p, type, tl) != 0 || p[tl] != '/')
		return false;
	return arn_resource_id_is_valid(p + tl + 1);
}

bool arn_is_audience_generation_job(const char *s)
{
	return arn_matches(s, "audience-generation-job");
}

bool arn_is_configured_audience_model(const char *s)
{
	return arn_matches(s, "configured-audience-model");
}

bool uuid_is_valid(const char *s)
{
	if (!s || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
			return false;
		}
	}
	return true;
}

size_t arn_region(const char *arn, const char **ret)
{
	const char *p = arn;

	/* arn:PARTITION:SERVICE:REGION:... */
	for (int k = 0; k < 3 && p; k++) {
		p = strchr(p, ':');
		if (p)
			p++;
	}
	*ret = p;
	return p ? strcspn(p, ":") : 0;
}

bool arn_in_region(const char *arn, const char *region)
{
	const char *r;
	size_t n = arn_region(arn, &r);

	return r && n > 0 && region && strlen(region) == n && strncmp(r, region, n) == 0;
}

const char *arn_job_id(const char *arn)
{
	return resource_kind_arn_id(arn);
}

void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}
