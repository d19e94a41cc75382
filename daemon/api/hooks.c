/* The pure part of POST /v1/webhooks[/{name}]/retry: the path and the
 * answer.  server.c routes and calls the engine. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/render.h"

int api_parse_retry_path(const char *rest, char **ret_name)
{
	static const char suffix[] = "/retry";
	size_t len = strlen(rest), slen = sizeof(suffix) - 1;

	*ret_name = NULL;
	if (len < slen || strcmp(rest + len - slen, suffix) != 0)
		return -ENOENT;
	if (len == slen)
		return 0;
	/* "/NAME/retry": exactly one path segment, not empty. */
	if (rest[0] != '/' || len == slen + 1 || memchr(rest + 1, '/', len - slen - 1))
		return -ENOENT;
	*ret_name = strndup(rest + 1, len - slen - 1);
	return *ret_name ? 0 : -ENOMEM;
}

int api_retry_to_json(struct dynbuf *out, const char *name, int64_t retried)
{
	int r = dynbuf_appends(out, "{\"webhook\":");

	if (r >= 0)
		r = api_json_string(out, name);
	if (r >= 0)
		r = dynbuf_appendf(out, ",\"retried\":%lld}", (long long)retried);
	return r;
}
