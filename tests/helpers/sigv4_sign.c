/* sigv4_sign: signs one request described as JSON on stdin with the daemon's
 * signer and prints the intermediate results as JSON, so that a test can
 * compare them with an independent implementation.
 *
 * Input:  {"method", "host", "path" (wire form), "query" (wire form, no '?'),
 *          "headers": ["Name: value", ...], "body", "time" (epoch s),
 *          "region", "service", "accessKeyId", "secretAccessKey",
 *          "sessionToken" (optional), "normalize" (optional, default true)}
 * Output: {"canonicalRequest", "stringToSign", "signature", "authorization"
 *          (header value), "amzDate", "securityToken" (or null)}
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "aws/sigv4.h"
#include "creds/credentials.h"
#include "util.h"

#define MAX_INPUT   (1024 * 1024)
#define MAX_HEADERS 64

static int read_stdin(struct dynbuf *b)
{
	char chunk[4096];

	for (;;) {
		ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));
		int r;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		r = dynbuf_append(b, chunk, (size_t)n);
		if (r < 0)
			return r;
	}
}

static const char *opt_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *header_value(const char *line)
{
	const char *v = strchr(line, ':');
	if (!v)
		return line;
	v++;
	while (*v == ' ')
		v++;
	return v;
}

int main(void)
{
	const char *headers[MAX_HEADERS + 1];
	const cJSON *hs, *h, *t, *norm;
	struct aws_credentials *c = NULL;
	struct sigv4_signer *s = NULL;
	struct sigv4_signed out = {0};
	struct sigv4_request req = {0};
	const char *region, *service, *akid, *secret, *body;
	cJSON *in = NULL, *res = NULL;
	struct dynbuf buf;
	size_t n = 0;
	char *text;
	int r, ret = 1;

	dynbuf_init(&buf, MAX_INPUT);
	r = read_stdin(&buf);
	if (r < 0) {
		fprintf(stderr, "sigv4_sign: reading stdin: %s\n", strerror(-r));
		goto out;
	}
	in = buf.data ? cJSON_ParseWithLength(buf.data, buf.len) : NULL;
	if (!cJSON_IsObject(in)) {
		fprintf(stderr, "sigv4_sign: stdin is not a JSON object\n");
		goto out;
	}
	region = opt_str(in, "region");
	service = opt_str(in, "service");
	akid = opt_str(in, "accessKeyId");
	secret = opt_str(in, "secretAccessKey");
	req.method = opt_str(in, "method");
	req.host = opt_str(in, "host");
	req.path = opt_str(in, "path");
	req.query = opt_str(in, "query");
	t = cJSON_GetObjectItemCaseSensitive(in, "time");
	if (!region || !service || !akid || !secret || !req.method || !req.host || !req.path ||
	    !cJSON_IsNumber(t)) {
		fprintf(stderr, "sigv4_sign: missing field (region, service, accessKeyId, secretAccessKey, "
				"method, host, path or time)\n");
		goto out;
	}
	req.now = (time_t)t->valuedouble;
	norm = cJSON_GetObjectItemCaseSensitive(in, "normalize");
	req.normalize_path = !cJSON_IsFalse(norm);
	body = opt_str(in, "body");
	req.payload = body;
	req.payload_len = body ? strlen(body) : 0;
	hs = cJSON_GetObjectItemCaseSensitive(in, "headers");
	cJSON_ArrayForEach(h, hs)
	{
		if (!cJSON_IsString(h) || n >= MAX_HEADERS) {
			fprintf(stderr, "sigv4_sign: headers must be up to %d strings\n", MAX_HEADERS);
			goto out;
		}
		headers[n++] = h->valuestring;
	}
	headers[n] = NULL;
	req.headers = headers;

	c = aws_credentials_new(akid, secret, opt_str(in, "sessionToken"), 0, "sigv4_sign");
	if (!c) {
		fprintf(stderr, "sigv4_sign: out of memory\n");
		goto out;
	}
	r = sigv4_signer_new(region, service, &s);
	if (r >= 0)
		r = sigv4_sign(s, c, &req, &out);
	if (r < 0) {
		fprintf(stderr, "sigv4_sign: signing failed: %s\n", strerror(-r));
		goto out;
	}

	res = cJSON_CreateObject();
	if (!res || !cJSON_AddStringToObject(res, "canonicalRequest", out.canonical_request) ||
	    !cJSON_AddStringToObject(res, "stringToSign", out.string_to_sign) ||
	    !cJSON_AddStringToObject(res, "signature", out.signature) ||
	    !cJSON_AddStringToObject(res, "authorization", header_value(out.authorization)) ||
	    !cJSON_AddStringToObject(res, "amzDate", header_value(out.amz_date)) ||
	    !(out.security_token
		  ? cJSON_AddStringToObject(res, "securityToken", header_value(out.security_token))
		  : cJSON_AddNullToObject(res, "securityToken"))) {
		fprintf(stderr, "sigv4_sign: out of memory\n");
		goto out;
	}
	text = cJSON_PrintUnformatted(res);
	if (!text) {
		fprintf(stderr, "sigv4_sign: out of memory\n");
		goto out;
	}
	puts(text);
	free(text);
	ret = 0;
out:
	sigv4_signed_done(&out);
	sigv4_signer_free(s);
	aws_credentials_free(c);
	cJSON_Delete(res);
	cJSON_Delete(in);
	dynbuf_free(&buf);
	return ret;
}
