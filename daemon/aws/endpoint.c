/* Endpoint and region resolution (aws-api.md §1.6, §5 "region",
 * "endpoint override"). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "aws/endpoint.h"
#include "config.h"
#include "creds/parse.h"
#include "log.h"
#include "util.h"

#define AWS_CONFIG_FILE_MAX (1024 * 1024)

__attribute__((format(printf, 4, 5))) static int errf(char *err, size_t errlen, int r, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* Region names go into a host name: only what AWS region names use. */
static bool region_is_valid(const char *r)
{
	size_t n = strlen(r);

	if (n == 0 || n > 64 || r[0] == '-' || r[n - 1] == '-')
		return false;
	for (const char *c = r; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
			return false;
	return true;
}

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);
	return str_empty(v) ? NULL : v;
}

static bool env_true(const char *name)
{
	const char *v = env_nonempty(name);
	return v && parse_boolean(v) == 1;
}

/* The profile's region from the shared config file.  A missing file is not
 * an error (most servers have none); an unreadable or broken one is. */
static int region_from_profile(const char *profile, char **ret, char *err, size_t errlen)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	struct creds_ini *ini = NULL;
	char perr[160];
	const char *v;
	size_t len;
	int r;

	*ret = NULL;
	if (env_nonempty("AWS_CONFIG_FILE")) {
		path = strdup(getenv("AWS_CONFIG_FILE"));
	} else {
		const char *home = env_nonempty("HOME");
		struct dynbuf b;
		if (!home)
			return 0;
		dynbuf_init(&b, 4096);
		if (dynbuf_appendf(&b, "%s/.aws/config", home) < 0) {
			dynbuf_free(&b);
			return 0;
		}
		path = dynbuf_take(&b);
	}
	if (!path)
		return -ENOMEM;
	r = read_file_capped(path, AWS_CONFIG_FILE_MAX, &text, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		snprintf(err, errlen, "AWS config file %s: %s", path, strerror(-r));
		return r;
	}
	r = creds_ini_parse(text, len, CREDS_INI_CONFIG, &ini, perr, sizeof(perr));
	if (r < 0) {
		snprintf(err, errlen, "AWS config file %s: %s", path, perr);
		return r;
	}
	v = creds_ini_get(ini, profile, "region");
	if (!str_empty(v)) {
		*ret = strdup(v);
		if (!*ret)
			r = -ENOMEM;
	}
	creds_ini_free(ini);
	return r < 0 ? r : 0;
}

int aws_resolve_region(const struct aws_endpoint_options *o, char **ret, char *err, size_t errlen)
{
	const char *v = NULL, *from = NULL;
	char *region = NULL;
	int r;

	if (!str_empty(o->region))
		v = o->region, from = "[aws] region";
	else if ((v = env_nonempty("AWS_REGION")))
		from = "AWS_REGION";
	else if ((v = env_nonempty("AWS_DEFAULT_REGION")))
		from = "AWS_DEFAULT_REGION";
	if (v) {
		region = strdup(v);
		if (!region)
			return -ENOMEM;
	} else {
		const char *profile = o->profile;
		if (str_empty(profile))
			profile = env_nonempty("AWS_PROFILE");
		if (!profile)
			profile = "default";
		r = region_from_profile(profile, &region, err, errlen);
		if (r < 0)
			return r;
		from = "the AWS config file";
	}
	if (!region)
		return errf(err, errlen, -ENOENT, "no AWS region: set [aws] region or AWS_REGION");
	if (!region_is_valid(region)) {
		free(region);
		return errf(err, errlen, -EINVAL, "invalid AWS region in %s", from);
	}
	*ret = region;
	return 0;
}

int aws_endpoint_parse_url(const char *url, struct aws_endpoint *ret, char *err, size_t errlen)
{
	const char *auth, *auth_end, *host_end, *port = NULL;
	bool https;
	size_t plen;

	*ret = (struct aws_endpoint){};
	if (!url)
		return errf(err, errlen, -EINVAL, "no endpoint URL");
	if (str_startswith(url, "https://"))
		https = true, auth = url + 8;
	else if (str_startswith(url, "http://"))
		https = false, auth = url + 7;
	else
		return errf(err, errlen, -EINVAL, "endpoint URL must start with https:// or http://");
	if (strpbrk(url, "?#@ \t\r\n"))
		return errf(err, errlen, -EINVAL,
			    "endpoint URL must not contain a query, fragment, user info or blanks");
	auth_end = auth + strcspn(auth, "/");
	if (auth_end == auth)
		return errf(err, errlen, -EINVAL, "endpoint URL has no host");
	if (*auth == '[') {
		host_end = memchr(auth, ']', (size_t)(auth_end - auth));
		if (!host_end)
			return errf(err, errlen, -EINVAL, "endpoint URL has a bad IPv6 host");
		host_end++;
	} else {
		host_end = memchr(auth, ':', (size_t)(auth_end - auth));
		if (!host_end)
			host_end = auth_end;
	}
	if (host_end < auth_end) {
		int64_t p;
		char pbuf[8];
		size_t n = (size_t)(auth_end - host_end - 1);
		if (*host_end != ':' || n == 0 || n >= sizeof(pbuf))
			return errf(err, errlen, -EINVAL, "endpoint URL has a bad port");
		memcpy(pbuf, host_end + 1, n);
		pbuf[n] = '\0';
		if (parse_int64(pbuf, 1, 65535, &p) < 0)
			return errf(err, errlen, -EINVAL, "endpoint URL has a bad port");
		if (p != (https ? 443 : 80))
			port = host_end;
	}
	plen = strlen(auth_end);
	while (plen > 0 && auth_end[plen - 1] == '/')
		plen--;

	ret->host = strndup(auth, (size_t)((port ? auth_end : host_end) - auth));
	ret->base_path = strndup(auth_end, plen);
	ret->base_url = strndup(url, (size_t)(auth_end - url) + plen);
	if (!ret->host || !ret->base_path || !ret->base_url) {
		aws_endpoint_done(ret);
		return -ENOMEM;
	}
	return 0;
}

struct partition {
	const char *prefix;
	const char *dns_suffix;
	const char *dualstack_suffix;
};

/* partitions.json, longest prefix first.  The ISO partitions publish no
 * separate dual-stack suffix we could verify, so they use the plain one. */
static bool url_host_is_loopback(const char *url)
{
	struct config_url u;
	const char *reason = NULL;
	bool loopback;

	if (config_url_parse(url, &u, &reason) < 0)
		return false;
	loopback = config_host_is_loopback(u.host);
	config_url_done(&u);
	return loopback;
}

static const struct partition partitions[] = {
    {"us-isob-", "sc2s.sgov.gov", "sc2s.sgov.gov"},
    {"us-iso-", "c2s.ic.gov", "c2s.ic.gov"},
    {"us-gov-", "amazonaws.com", "api.aws"},
    {"cn-", "amazonaws.com.cn", "api.amazonwebservices.com.cn"},
    {"eusc-", "amazonaws.eu", "amazonaws.eu"},
    {"", "amazonaws.com", "api.aws"},
};

int aws_resolve_endpoint(const struct aws_endpoint_options *o, struct aws_endpoint *ret, char *err,
			 size_t errlen)
{
	_cleanup_free_ char *region = NULL, *url = NULL;
	const char *custom = NULL, *from = NULL;
	struct aws_endpoint e = {};
	bool fips, dualstack;
	int r;

	r = aws_resolve_region(o, &region, err, errlen);
	if (r < 0)
		return r;
	/* The SDKs' switches: AWS_USE_FIPS_ENDPOINT / AWS_USE_DUALSTACK_ENDPOINT
	 * turn the variant on when the config does not. */
	fips = o->fips || env_true("AWS_USE_FIPS_ENDPOINT");
	dualstack = o->dualstack || env_true("AWS_USE_DUALSTACK_ENDPOINT");
	if (!str_empty(o->endpoint))
		custom = o->endpoint, from = "[aws] endpoint";
	else if ((custom = env_nonempty("AWS_ENDPOINT_URL_CLEANROOMSML")))
		from = "AWS_ENDPOINT_URL_CLEANROOMSML";
	else if ((custom = env_nonempty("AWS_ENDPOINT_URL")))
		from = "AWS_ENDPOINT_URL";

	if (custom) {
		if (fips)
			return errf(err, errlen, -EINVAL,
				    "FIPS and a custom endpoint (%s) are not supported together", from);
		if (dualstack)
			return errf(err, errlen, -EINVAL,
				    "dual-stack and a custom endpoint (%s) are not supported together",
				    from);
		url = strdup(custom);
	} else {
		const struct partition *p = &partitions[ELEMENTSOF(partitions) - 1];
		struct dynbuf b;
		for (size_t i = 0; i < ELEMENTSOF(partitions); i++)
			if (str_startswith(region, partitions[i].prefix)) {
				p = &partitions[i];
				break;
			}
		dynbuf_init(&b, 512);
		r = dynbuf_appendf(&b, "https://cleanrooms-ml%s.%s.%s", fips ? "-fips" : "", region,
				   dualstack ? p->dualstack_suffix : p->dns_suffix);
		if (r < 0) {
			dynbuf_free(&b);
			return r;
		}
		url = dynbuf_take(&b);
	}
	if (!url)
		return -ENOMEM;
	r = aws_endpoint_parse_url(url, &e, err, errlen);
	if (r < 0) {
		if (custom && err && errlen) {
			char tmp[256];
			snprintf(tmp, sizeof(tmp), "%s", err);
			snprintf(err, errlen, "%s: %s", from, tmp);
		}
		return r;
	}
	/* Like webhooks: plain http only to loopback (a local fake or
	 * proxy).  Anywhere else the signed requests -- with the session
	 * token in a header -- would cross the network in clear. */
	if (custom && str_startswith(url, "http://") && !url_host_is_loopback(url)) {
		aws_endpoint_done(&e);
		return errf(err, errlen, -EINVAL,
			    "%s: plain http is only allowed to a loopback host (127.0.0.0/8, ::1, "
			    "localhost); use https",
			    from);
	}
	e.region = region;
	e.custom = custom != NULL;
	region = NULL;
	*ret = e;
	log_debug("AWS endpoint %s, signing region %s", e.base_url, e.region);
	return 0;
}

void aws_endpoint_done(struct aws_endpoint *e)
{
	if (!e)
		return;
	free(e->base_url);
	free(e->host);
	free(e->base_path);
	free(e->region);
	*e = (struct aws_endpoint){};
}
