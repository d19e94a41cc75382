/* Shared helpers of the credential providers: environment lookups, the
 * shared files, URL splitting. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "creds/internal.h"
#include "http.h"
#include "util.h"

#define CREDS_MAX_FILE (1024 * 1024)

const char *creds_getenv(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

bool creds_getenv_true(const char *name)
{
	const char *v = creds_getenv(name);

	return v && strcasecmp(v, "true") == 0;
}

uint64_t creds_timeout(const struct creds_ctx *ctx, uint64_t dflt)
{
	return ctx->timeout_ms ? ctx->timeout_ms : dflt;
}

const char *creds_region(const struct creds_ctx *ctx)
{
	const char *r;

	if (!str_empty(ctx->region))
		return ctx->region;
	r = creds_getenv("AWS_REGION");
	return r ? r : creds_getenv("AWS_DEFAULT_REGION");
}

const char *creds_profile_name(const struct creds_ctx *ctx, bool *ret_explicit)
{
	const char *p = ctx->profile;

	if (str_empty(p))
		p = creds_getenv("AWS_PROFILE");
	if (!p)
		p = creds_getenv("AWS_DEFAULT_PROFILE");
	if (ret_explicit)
		*ret_explicit = p != NULL;
	return p ? p : "default";
}

static char *creds_default_path(const char *env, const char *file)
{
	const char *v = creds_getenv(env), *home;
	struct dynbuf b;

	dynbuf_init(&b, 4096);
	if (v) {
		if (v[0] == '~' && v[1] == '/' && (home = creds_getenv("HOME"))) {
			if (dynbuf_appendf(&b, "%s%s", home, v + 1) < 0)
				return NULL;
			return dynbuf_take(&b);
		}
		return strdup(v);
	}
	home = creds_getenv("HOME");
	if (!home)
		return NULL;
	if (dynbuf_appendf(&b, "%s/.aws/%s", home, file) < 0)
		return NULL;
	return dynbuf_take(&b);
}

static int creds_file_load(const char *path, enum creds_ini_kind kind, const char *what,
			   struct creds_ini **ret, char *err, size_t errsz)
{
	char perr[256];
	char *text = NULL;
	size_t len = 0;
	int r;

	*ret = NULL;
	if (!path)
		return 0;
	r = read_file_capped(path, CREDS_MAX_FILE, &text, &len);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0;
	if (r < 0) {
		snprintf(err, errsz, "%s %s: %s", what, path, r == -EFBIG ? "file too large" : strerror(-r));
		return r;
	}
	r = creds_ini_parse(text, len, kind, ret, perr, sizeof(perr));
	if (text) {
		explicit_bzero(text, len);
		free(text);
	}
	if (r < 0) {
		snprintf(err, errsz, "%s %s: %s", what, path, perr);
		return r;
	}
	return 0;
}

int creds_files_load(struct creds_files *f, char *err, size_t errsz)
{
	int r;

	*f = (struct creds_files){0};
	f->credentials_path = creds_default_path("AWS_SHARED_CREDENTIALS_FILE", "credentials");
	f->config_path = creds_default_path("AWS_CONFIG_FILE", "config");
	r = creds_file_load(f->credentials_path, CREDS_INI_CREDENTIALS, "shared credentials file",
			    &f->credentials, err, errsz);
	if (r >= 0)
		r = creds_file_load(f->config_path, CREDS_INI_CONFIG, "shared config file", &f->config, err,
				    errsz);
	if (r < 0) {
		creds_files_done(f);
		return r;
	}
	return 0;
}

void creds_files_done(struct creds_files *f)
{
	f->credentials = creds_ini_free(f->credentials);
	f->config = creds_ini_free(f->config);
	free(f->credentials_path);
	free(f->config_path);
	f->credentials_path = f->config_path = NULL;
}

const char *creds_files_get(const struct creds_files *f, const char *profile, const char *key)
{
	const char *v = creds_ini_get(f->credentials, profile, key);

	if (!str_empty(v))
		return v;
	v = creds_ini_get(f->config, profile, key);
	return str_empty(v) ? NULL : v;
}

bool creds_files_has_profile(const struct creds_files *f, const char *profile)
{
	return creds_ini_has_profile(f->credentials, profile) || creds_ini_has_profile(f->config, profile);
}

int creds_url_split(const char *url, char *scheme, size_t schemesz, char *hostport, size_t hpsz, char *host,
		    size_t hostsz, const char **ret_path)
{
	const char *p = strstr(url, "://"), *h, *e, *path;
	size_t n;

	if (!p || (size_t)(p - url) >= schemesz || p == url)
		return -EINVAL;
	memcpy(scheme, url, (size_t)(p - url));
	scheme[p - url] = '\0';
	for (char *s = scheme; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
	h = p + 3;
	path = h + strcspn(h, "/?#");
	n = (size_t)(path - h);
	if (n == 0 || n >= hpsz || memchr(h, '@', n))
		return -EINVAL;
	memcpy(hostport, h, n);
	hostport[n] = '\0';
	if (h[0] == '[') {
		e = memchr(h, ']', n);
		if (!e || (size_t)(e - h - 1) >= hostsz || e == h + 1)
			return -EINVAL;
		memcpy(host, h + 1, (size_t)(e - h - 1));
		host[e - h - 1] = '\0';
	} else {
		e = memchr(h, ':', n);
		size_t hn = e ? (size_t)(e - h) : n;
		if (hn == 0 || hn >= hostsz)
			return -EINVAL;
		memcpy(host, h, hn);
		host[hn] = '\0';
	}
	if (ret_path)
		*ret_path = *path ? path : "/";
	return 0;
}

int creds_http_errno(int http_error)
{
	switch (http_error) {
	case HTTP_OK:
		return 0;
	case HTTP_ERR_RESOLVE:
		return -EHOSTUNREACH;
	case HTTP_ERR_CONNECT:
		return -ECONNREFUSED;
	case HTTP_ERR_TIMEOUT:
		return -ETIMEDOUT;
	case HTTP_ERR_RESET:
		return -ECONNRESET;
	case HTTP_ERR_TOO_LARGE:
		return -EFBIG;
	case HTTP_ERR_CANCELLED:
		return -ECANCELED;
	case HTTP_ERR_TLS:
		return -EPROTO;
	default:
		return -EIO;
	}
}
