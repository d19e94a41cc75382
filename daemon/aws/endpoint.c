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

__attribute__((format(printf, 4, 5))) static int errf(char *err, size_t errsz, int r, const char *fmt, ...)
{
	va_list ap;

	if (err && errsz) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
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

/* The shared config file ($AWS_CONFIG_FILE, default ~/.aws/config), parsed;
 * *ret stays NULL when there is none.  A missing file is not an error (most
 * servers have none); an unreadable or broken one is. */
static int load_config_file(struct creds_ini **ret, char *err, size_t errsz)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	char perr[160];
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
		snprintf(err, errsz, "AWS config file %s: %s", path, strerror(-r));
		return r;
	}
	r = creds_ini_parse(text, len, CREDS_INI_CONFIG, ret, perr, sizeof(perr));
	if (r < 0)
		snprintf(err, errsz, "AWS config file %s: %s", path, perr);
	return r;
}

/* [aws] profile > $AWS_PROFILE > "default", as the credential chain picks it. */
static const char *profile_name(const struct aws_endpoint_options *o)
{
	const char *profile = o->profile;

	if (str_empty(profile))
		profile = env_nonempty("AWS_PROFILE");
	return profile ? profile : "default";
}

static int resolve_region(const struct aws_endpoint_options *o, const struct creds_ini *ini, char **ret,
			  char *err, size_t errsz)
{
	const char *v = NULL, *from = NULL;
	char *region;

	if (!str_empty(o->region))
		v = o->region, from = "[aws] region";
	else if ((v = env_nonempty("AWS_REGION")))
		from = "AWS_REGION";
	else if ((v = env_nonempty("AWS_DEFAULT_REGION")))
		from = "AWS_DEFAULT_REGION";
	else if (!str_empty(v = creds_ini_get(ini, profile_name(o), "region")))
		from = "the AWS config file";
	if (str_empty(v))
		return errf(err, errsz, -ENOENT, "no AWS region: set [aws] region or AWS_REGION");
	if (!region_is_valid(v))
		return errf(err, errsz, -EINVAL, "invalid AWS region in %s", from);
	region = strdup(v);
	if (!region)
		return -ENOMEM;
	*ret = region;
	return 0;
}

int aws_resolve_region(const struct aws_endpoint_options *o, char **ret, char *err, size_t errsz)
{
	struct creds_ini *ini = NULL;
	int r;

	*ret = NULL;
	r = load_config_file(&ini, err, errsz);
	if (r >= 0)
		r = resolve_region(o, ini, ret, err, errsz);
	creds_ini_free(ini);
	return r;
}

/* A boolean switch as the SDKs read it: the environment variable when it is
 * set (so "false" there turns off the profile's "true"), else the profile. */
static bool switch_on(const char *env, const struct creds_ini *ini, const char *profile, const char *key)
{
	const char *v = env_nonempty(env);

	if (!v)
		v = creds_ini_get(ini, profile, key);
	return !str_empty(v) && parse_boolean(v) == 1;
}

/* A configured endpoint URL, in the precedence of the AWS SDKs and Tools
 * reference ("Service-specific endpoints"): $AWS_ENDPOINT_URL_CLEANROOMSML,
 * $AWS_ENDPOINT_URL, the profile's services section ("cleanroomsml =" /
 * "  endpoint_url = ..."), the profile's endpoint_url.  All of them are
 * skipped when ignore_configured_endpoint_urls is on ($AWS_IGNORE_...
 * over the profile's key).  from names the source for messages. */
static const char *configured_endpoint(const struct aws_service *service, const struct creds_ini *ini,
				       const char *profile, char *from, size_t fromlen)
{
	const char *v, *svc;
	char env[64], key[64];

	if (switch_on("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", ini, profile,
		      "ignore_configured_endpoint_urls"))
		return NULL;
	snprintf(env, sizeof(env), "AWS_ENDPOINT_URL_%s", service->env_id);
	snprintf(key, sizeof(key), "%s.endpoint_url", service->services_key);
	if ((v = env_nonempty(env))) {
		snprintf(from, fromlen, "%s", env);
		return v;
	}
	if ((v = env_nonempty("AWS_ENDPOINT_URL"))) {
		snprintf(from, fromlen, "AWS_ENDPOINT_URL");
		return v;
	}
	svc = creds_ini_get(ini, profile, "services");
	if (!str_empty(svc) && !str_empty(v = creds_ini_get_services(ini, svc, key))) {
		snprintf(from, fromlen, "[services %.60s] %s endpoint_url in the AWS config file", svc,
			 service->services_key);
		return v;
	}
	if (!str_empty(v = creds_ini_get(ini, profile, "endpoint_url"))) {
		snprintf(from, fromlen, "endpoint_url of profile %.60s in the AWS config file", profile);
		return v;
	}
	return NULL;
}

int aws_endpoint_parse_url(const char *url, struct aws_endpoint *ret, char *err, size_t errsz)
{
	const char *auth, *auth_end, *host_end, *port = NULL;
	bool https;
	size_t plen;

	*ret = (struct aws_endpoint){};
	if (!url)
		return errf(err, errsz, -EINVAL, "no endpoint URL");
	if (str_startswith(url, "https://"))
		https = true, auth = url + 8;
	else if (str_startswith(url, "http://"))
		https = false, auth = url + 7;
	else
		return errf(err, errsz, -EINVAL, "endpoint URL must start with https:// or http://");
	if (strpbrk(url, "?#@ \t\r\n"))
		return errf(err, errsz, -EINVAL,
			    "endpoint URL must not contain a query, fragment, user info or blanks");
	auth_end = auth + strcspn(auth, "/");
	if (auth_end == auth)
		return errf(err, errsz, -EINVAL, "endpoint URL has no host");
	if (*auth == '[') {
		host_end = memchr(auth, ']', (size_t)(auth_end - auth));
		if (!host_end)
			return errf(err, errsz, -EINVAL, "endpoint URL has a bad IPv6 host");
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
			return errf(err, errsz, -EINVAL, "endpoint URL has a bad port");
		memcpy(pbuf, host_end + 1, n);
		pbuf[n] = '\0';
		if (parse_int64(pbuf, 1, 65535, &p) < 0)
			return errf(err, errsz, -EINVAL, "endpoint URL has a bad port");
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

/* The partitions the rule set's aws.partition() knows (partitions.json as
 * shipped with @aws-sdk/util-endpoints 3.985, 2026; every one supports FIPS
 * and dual-stack), by the prefix their regionRegex fixes; anything else is
 * "aws", as in the SDKs.  "us-iso-" cannot match "us-isob-1": the '-'. */
static const struct partition partitions[] = {
    {"us-isob-", "sc2s.sgov.gov", "api.aws.scloud"},	      /* aws-iso-b */
    {"us-isof-", "csp.hci.ic.gov", "api.aws.hci.ic.gov"},     /* aws-iso-f */
    {"us-iso-", "c2s.ic.gov", "api.aws.ic.gov"},	      /* aws-iso */
    {"eu-isoe-", "cloud.adc-e.uk", "api.cloud-aws.adc-e.uk"}, /* aws-iso-e */
    {"us-gov-", "amazonaws.com", "api.aws"},		      /* aws-us-gov */
    {"cn-", "amazonaws.com.cn", "api.amazonwebservices.com.cn"},
    {"eusc-de-", "amazonaws.eu", "api.amazonwebservices.eu"}, /* aws-eusc: ^eusc\-(de)\-... */
    {"", "amazonaws.com", "api.aws"},
};

const struct aws_service aws_service_cleanroomsml = {
    .prefix = AWS_SIGNING_SERVICE,
    .env_id = "CLEANROOMSML",
    .services_key = "cleanroomsml",
};

/* EventBridge's rule set answers FIPS in the two GovCloud regions with the
 * plain host (the endpoint there is FIPS already); with dual-stack it does
 * use events-fips (endpoint-tests, "us-gov-east-1 with FIPS enabled"). */
static const char *const eventbridge_fips_plain[] = {"us-gov-east-1", "us-gov-west-1", NULL};
const struct aws_service aws_service_eventbridge = {
    .prefix = "events",
    .env_id = "EVENTBRIDGE",
    .services_key = "eventbridge",
    .fips_plain = eventbridge_fips_plain,
};

static bool fips_is_plain(const struct aws_service *svc, const char *region, bool dualstack)
{
	for (size_t i = 0; !dualstack && svc->fips_plain && svc->fips_plain[i]; i++)
		if (strcmp(svc->fips_plain[i], region) == 0)
			return true;
	return false;
}

int aws_resolve_endpoint(const struct aws_endpoint_options *o, struct aws_endpoint *ret, char *err,
			 size_t errsz)
{
	return aws_resolve_service_endpoint(&aws_service_cleanroomsml, o, ret, err, errsz);
}

int aws_resolve_service_endpoint(const struct aws_service *svc, const struct aws_endpoint_options *o,
				 struct aws_endpoint *ret, char *err, size_t errsz)
{
	_cleanup_free_ char *region = NULL, *url = NULL;
	struct creds_ini *ini = NULL;
	const char *custom = NULL, *profile = profile_name(o);
	char from[160] = "";
	struct aws_endpoint e = {};
	bool fips, dualstack, is_custom;
	int r;

	r = load_config_file(&ini, err, errsz);
	if (r >= 0)
		r = resolve_region(o, ini, &region, err, errsz);
	if (r < 0) {
		creds_ini_free(ini);
		return r;
	}
	/* The SDKs' switches: [aws] fips / dualstack turn the variant on;
	 * otherwise AWS_USE_FIPS_ENDPOINT / AWS_USE_DUALSTACK_ENDPOINT, else the
	 * profile's use_fips_endpoint / use_dualstack_endpoint. */
	fips = o->fips || switch_on("AWS_USE_FIPS_ENDPOINT", ini, profile, "use_fips_endpoint");
	dualstack =
	    o->dualstack || switch_on("AWS_USE_DUALSTACK_ENDPOINT", ini, profile, "use_dualstack_endpoint");
	/* An endpoint given to the client itself ([aws] endpoint) wins over
	 * every configured one, and ignore_configured_endpoint_urls does not
	 * apply to it (as with the CLI's --endpoint-url). */
	if (!str_empty(o->endpoint)) {
		custom = o->endpoint;
		snprintf(from, sizeof(from), "[aws] endpoint");
	} else {
		custom = configured_endpoint(svc, ini, profile, from, sizeof(from));
	}
	/* custom may point into ini: copy before it goes. */
	if (custom) {
		url = strdup(custom);
		if (!url) {
			creds_ini_free(ini);
			return -ENOMEM;
		}
	}
	creds_ini_free(ini);
	is_custom = custom != NULL;
	custom = NULL; /* it may have pointed into ini */

	if (is_custom) {
		if (fips)
			return errf(err, errsz, -EINVAL,
				    "FIPS and a custom endpoint (%s) are not supported together", from);
		if (dualstack)
			return errf(err, errsz, -EINVAL,
				    "dual-stack and a custom endpoint (%s) are not supported together",
				    from);
	} else {
		const struct partition *p = &partitions[ELEMENTSOF(partitions) - 1];
		struct dynbuf b;
		for (size_t i = 0; i < ELEMENTSOF(partitions); i++)
			if (str_startswith(region, partitions[i].prefix)) {
				p = &partitions[i];
				break;
			}
		dynbuf_init(&b, 512);
		r = dynbuf_appendf(&b, "https://%s%s.%s.%s", svc->prefix,
				   fips && !fips_is_plain(svc, region, dualstack) ? "-fips" : "", region,
				   dualstack ? p->dualstack_suffix : p->dns_suffix);
		if (r < 0) {
			dynbuf_free(&b);
			return r;
		}
		url = dynbuf_take(&b);
	}
	if (!url)
		return -ENOMEM;
	r = aws_endpoint_parse_url(url, &e, err, errsz);
	if (r < 0) {
		if (is_custom && err && errsz) {
			char tmp[256];
			snprintf(tmp, sizeof(tmp), "%s", err);
			snprintf(err, errsz, "%s: %s", from, tmp);
		}
		return r;
	}
	/* Like webhooks: plain http only to loopback (a local fake or
	 * proxy).  Anywhere else the signed requests -- with the session
	 * token in a header -- would cross the network in clear. */
	if (is_custom && str_startswith(url, "http://") && !url_host_is_loopback(url)) {
		aws_endpoint_done(&e);
		return errf(err, errsz, -EINVAL,
			    "%s: plain http is only allowed to a loopback host (127.0.0.0/8, ::1, "
			    "localhost); use https",
			    from);
	}
	e.region = region;
	e.custom = is_custom;
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
