/* Network-shaped config values: URLs (AWS endpoint, webhook targets), the
 * [http] listen address, and the webhook format/filter helpers. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "util.h"

bool config_webhook_wants(const struct config_webhook *w, enum event_type t, enum job_status status)
{
	if (!w)
		return false;
	if (w->on_all)
		return true;
	if (t >= 0 && t < _EVENT_TYPE_MAX && (w->on_types & (1u << t)))
		return true;
	if (status >= 0 && status < _JOB_STATUS_MAX_WITH_GONE && (w->on_statuses & (1u << status)))
		return true;
	return false;
}

bool config_host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (!host)
		return false;
	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

/* A DNS name or an IPv4 literal: letters, digits, '-', '.', '_' (some
 * internal names have it), at most 253 characters. */
static bool host_name_is_valid(const char *s, size_t len)
{
	if (len == 0 || len > 253 || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '-' || ch == '.' || ch == '_'))
			return false;
	}
	return true;
}

static int parse_port(const char *s, size_t len, unsigned min, unsigned *ret)
{
	unsigned v = 0;

	if (len == 0 || len > 5)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v < min || v > 65535)
		return -ERANGE;
	*ret = v;
	return 0;
}

/* Splits "HOST", "HOST:PORT", "[V6]" or "[V6]:PORT" (len bytes at s).  On
 * success *host_start and *host_len point at the host without brackets and
 * *port_start is NULL when no port was given. */
static int split_host_port(const char *s, size_t len, const char **host_start, size_t *host_len,
			   const char **port_start, size_t *port_len, bool *bracketed, const char **reason)
{
	const char *colon;

	*bracketed = false;
	*port_start = NULL;
	*port_len = 0;
	if (len > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', len);
		char v6[INET6_ADDRSTRLEN];
		struct in6_addr a6;
		size_t hl;

		if (!close) {
			*reason = "unterminated [IPv6] address";
			return -EINVAL;
		}
		hl = (size_t)(close - s - 1);
		if (hl == 0 || hl >= sizeof(v6)) {
			*reason = "invalid IPv6 address";
			return -EINVAL;
		}
		memcpy(v6, s + 1, hl);
		v6[hl] = 0;
		if (inet_pton(AF_INET6, v6, &a6) != 1) {
			*reason = "invalid IPv6 address";
			return -EINVAL;
		}
		*host_start = s + 1;
		*host_len = hl;
		*bracketed = true;
		if ((size_t)(close - s) + 1 < len) {
			if (close[1] != ':') {
				*reason = "unexpected text after ]";
				return -EINVAL;
			}
			*port_start = close + 2;
			*port_len = len - (size_t)(close - s) - 2;
		}
		return 0;
	}
	colon = memchr(s, ':', len);
	*host_start = s;
	*host_len = colon ? (size_t)(colon - s) : len;
	if (colon) {
		if (memchr(colon + 1, ':', len - (size_t)(colon - s) - 1)) {
			*reason = "IPv6 addresses must be written in brackets";
			return -EINVAL;
		}
		*port_start = colon + 1;
		*port_len = len - (size_t)(colon - s) - 1;
	}
	return 0;
}

void config_url_done(struct config_url *u)
{
	if (!u)
		return;
	free(u->buf);
	*u = (struct config_url){0};
}

int config_url_parse(const char *s, struct config_url *ret, const char **reason)
{
	const char *rest, *end, *host, *port;
	size_t host_len, port_len, n;
	struct config_url u = {0};
	bool bracketed;
	int r;

	*reason = NULL;
	if (!s || !*s) {
		*reason = "empty URL";
		return -EINVAL;
	}
	for (const char *q = s; *q; q++)
		if ((unsigned char)*q <= ' ' || (unsigned char)*q >= 0x7f) {
			*reason = "URL contains spaces or non-ASCII characters (percent-encode them)";
			return -EINVAL;
		}
	if (strncasecmp(s, "https://", 8) == 0) {
		u.https = true;
		rest = s + 8;
	} else if (strncasecmp(s, "http://", 7) == 0) {
		rest = s + 7;
	} else {
		*reason = "not an http:// or https:// URL";
		return -EINVAL;
	}
	end = rest + strcspn(rest, "/?#");
	n = (size_t)(end - rest);
	if (memchr(rest, '@', n)) {
		*reason = "credentials in the URL are not allowed";
		return -EINVAL;
	}
	r = split_host_port(rest, n, &host, &host_len, &port, &port_len, &bracketed, reason);
	if (r < 0)
		return r;
	if (host_len == 0 || (!bracketed && !host_name_is_valid(host, host_len))) {
		*reason = "invalid host name";
		return -EINVAL;
	}
	u.port = u.https ? 443 : 80;
	if (port && parse_port(port, port_len, 1, &u.port) < 0) {
		*reason = "invalid port";
		return -EINVAL;
	}
	n = strlen(end);
	u.buf = malloc(host_len + 1 + 1 + n + 1); /* host NUL [/]path NUL */
	if (!u.buf)
		return -ENOMEM;
	memcpy(u.buf, host, host_len);
	u.buf[host_len] = 0;
	u.host = u.buf;
	u.path_and_query = u.buf + host_len + 1;
	if (n == 0 || *end != '/') {
		u.path_and_query[0] = '/';
		memcpy(u.path_and_query + 1, end, n + 1);
	} else {
		memcpy(u.path_and_query, end, n + 1);
	}
	if (ret)
		*ret = u;
	else
		free(u.buf);
	return 0;
}

int config_listen_parse(const char *s, enum config_listen_kind *ret_kind, char **ret_host,
			unsigned *ret_port, const char **reason)
{
	const char *host, *port;
	size_t host_len, port_len;
	unsigned p = 0;
	bool bracketed;
	char *h;
	int r;

	*reason = NULL;
	if (!s || !*s) {
		*reason = "empty address";
		return -EINVAL;
	}
	if (str_startswith(s, "unix:")) {
		const char *path = s + 5;
		/* sun_path is 108 bytes including the terminating NUL. */
		if (path[0] != '/') {
			*reason = "unix: needs an absolute path";
			return -EINVAL;
		}
		if (strlen(path) > 107) {
			*reason = "unix socket path is longer than 107 characters";
			return -EINVAL;
		}
		h = strdup(path);
		if (!h)
			return -ENOMEM;
		*ret_kind = CONFIG_LISTEN_UNIX;
		*ret_host = h;
		*ret_port = 0;
		return 0;
	}
	r = split_host_port(s, strlen(s), &host, &host_len, &port, &port_len, &bracketed, reason);
	if (r < 0)
		return r;
	if (!port) {
		*reason = "expected HOST:PORT, [IPv6]:PORT, unix:/PATH or off";
		return -EINVAL;
	}
	if (host_len > 0 && !bracketed && !(host_len == 1 && host[0] == '*') &&
	    !host_name_is_valid(host, host_len)) {
		*reason = "invalid host";
		return -EINVAL;
	}
	/* Port 0 asks the kernel for a free port (tests read it back). */
	if (parse_port(port, port_len, 0, &p) < 0) {
		*reason = "invalid port (0..65535)";
		return -EINVAL;
	}
	h = strndup(host, host_len);
	if (!h)
		return -ENOMEM;
	*ret_kind = CONFIG_LISTEN_TCP;
	*ret_host = h;
	*ret_port = p;
	return 0;
}
