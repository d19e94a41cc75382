/* Where API requests go and which region signs them.
 *
 * Region: [aws] region (or --region) > $AWS_REGION > $AWS_DEFAULT_REGION >
 * the profile's `region` in the AWS config file ($AWS_CONFIG_FILE, default
 * ~/.aws/config; profile [aws] profile > $AWS_PROFILE > "default").
 * Endpoint, in the SDKs' precedence: [aws] endpoint > $AWS_ENDPOINT_URL_CLEANROOMSML >
 * $AWS_ENDPOINT_URL > the profile's [services] cleanroomsml endpoint_url > the
 * profile's endpoint_url (all but the first skipped with
 * ignore_configured_endpoint_urls) >
 * https://cleanrooms-ml[-fips].{region}.{dnsSuffix|dualStackDnsSuffix}.
 * The signing region is the resolved region even with a custom endpoint. */
#ifndef JW_AWS_ENDPOINT_H
#define JW_AWS_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>

#define AWS_SIGNING_SERVICE "cleanrooms-ml"

/* What differs between the services the daemon calls: the host prefix
 * (also the signing name), the identifier of $AWS_ENDPOINT_URL_<ID> and of
 * the shared config's [services] key, and the regions whose FIPS endpoint
 * is the plain one (EventBridge in the GovCloud regions). */
struct aws_service {
	const char *prefix;	       /* "cleanrooms-ml", "events" */
	const char *env_id;	       /* "CLEANROOMSML", "EVENTBRIDGE" */
	const char *services_key;      /* "cleanroomsml", "eventbridge" */
	const char *const *fips_plain; /* NULL-terminated regions, may be NULL */
};
extern const struct aws_service aws_service_cleanroomsml;
extern const struct aws_service aws_service_eventbridge;

struct aws_endpoint_options {
	const char *region;   /* [aws] region or --region; NULL = fall back */
	const char *profile;  /* [aws] profile; NULL = $AWS_PROFILE, else "default" */
	const char *endpoint; /* [aws] endpoint; NULL = fall back */
	bool dualstack;
	bool fips;
};

struct aws_endpoint {
	char *base_url;	 /* "scheme://authority[/prefix]", no trailing '/' */
	char *host;	 /* Host header value: host, with ":port" when not the scheme default */
	char *base_path; /* "" or "/prefix" from a custom endpoint URL */
	char *region;	 /* signing region */
	bool custom;	 /* from [aws] endpoint or an env variable */
};

/* Resolves the region only.  *ret owned.  err gets a message on -EINVAL /
 * -ENOENT ("no AWS region: set [aws] region or AWS_REGION"). */
int aws_resolve_region(const struct aws_endpoint_options *o, char **ret, char *err, size_t errsz);

/* Resolves region and endpoint.  On failure err holds a message for the user. */
int aws_resolve_endpoint(const struct aws_endpoint_options *o, struct aws_endpoint *ret, char *err,
			 size_t errsz);
/* The same for another service: [aws] endpoint (o->endpoint) is the Clean
 * Rooms ML endpoint, so callers for other services pass it NULL. */
int aws_resolve_service_endpoint(const struct aws_service *svc, const struct aws_endpoint_options *o,
				 struct aws_endpoint *ret, char *err, size_t errsz);
void aws_endpoint_done(struct aws_endpoint *e);

/* Splits an http(s) URL into Host header value (":port" only when not the
 * scheme's default) and path prefix (without trailing '/').  Exposed for tests. */
int aws_endpoint_parse_url(const char *url, struct aws_endpoint *ret, char *err, size_t errsz);

#endif
