/* AWS error responses: type, message and request id, and the classification
 * that drives retries (aws-api.md §1.5, §3.1). */
#include <cjson/cJSON.h>
#include <string.h>
#include <strings.h>

#include "aws/errors.h"
#include "util.h"

static const char *const outcome_names[_AWS_OUTCOME_MAX] = {
    [AWS_OK] = "ok",
    [AWS_THROTTLED] = "throttled",
    [AWS_TRANSIENT] = "transient",
    [AWS_AUTH_EXPIRED] = "auth_expired",
    [AWS_AUTH] = "auth",
    [AWS_NOT_FOUND] = "not_found",
    [AWS_CLIENT] = "client",
    [AWS_PROTOCOL] = "protocol",
    [AWS_TRANSPORT] = "transport",
    [AWS_CREDENTIALS] = "credentials",
    [AWS_CANCELLED] = "cancelled",
};

const char *aws_outcome_to_string(enum aws_outcome o)
{
	if (o < 0 || o >= _AWS_OUTCOME_MAX)
		return NULL;
	return outcome_names[o];
}

/* Copies at most size-1 bytes of printable ASCII: error fields go to logs and
 * terminals, so control characters from the wire are replaced. */
static void copy_clean(char *out, size_t size, const char *in, size_t inlen, bool ellipsis)
{
	size_t n = 0;

	if (size == 0)
		return;
	for (size_t i = 0; i < inlen && n + 1 < size; i++) {
		unsigned char ch = (unsigned char)in[i];
		out[n++] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
	}
	out[n] = '\0';
	if (ellipsis && n < inlen && size >= 4)
		memcpy(out + size - 4, "...", 4);
}

void aws_error_sanitize_type(const char *raw, char *out, size_t size)
{
	const char *end, *hash;

	if (size == 0)
		return;
	out[0] = '\0';
	if (!raw)
		return;
	while (*raw == ' ' || *raw == '\t')
		raw++;
	end = strchr(raw, ':');
	if (!end)
		end = raw + strlen(raw);
	while (end > raw && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	hash = memrchr(raw, '#', (size_t)(end - raw));
	if (hash)
		raw = hash + 1;
	copy_clean(out, size, raw, (size_t)(end - raw), false);
}

static const char *json_string(const cJSON *obj, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, a);
	if (!cJSON_IsString(v) && b)
		v = cJSON_GetObjectItemCaseSensitive(obj, b);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

void aws_error_parse(const char *errortype_header, const char *request_id_header, const char *body,
		     size_t body_len, struct aws_error *err)
{
	cJSON *j = NULL;
	const char *type = NULL, *msg = NULL;

	memset(err, 0, sizeof(*err));
	if (request_id_header)
		copy_clean(err->request_id, sizeof(err->request_id), request_id_header,
			   strlen(request_id_header), false);
	if (body && body_len > 0 && body_len <= 1024 * 1024)
		j = cJSON_ParseWithLength(body, body_len);
	if (cJSON_IsObject(j)) {
		msg = json_string(j, "message", "Message");
		type = json_string(j, "code", "Code");
		if (!type)
			type = json_string(j, "__type", NULL);
	}
	if (!str_empty(errortype_header))
		type = errortype_header;
	aws_error_sanitize_type(type, err->type, sizeof(err->type));
	if (msg)
		copy_clean(err->message, sizeof(err->message), msg, strlen(msg), true);
	cJSON_Delete(j);
}

static bool in_list(const char *type, const char *const *list, size_t n)
{
	if (str_empty(type))
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(type, list[i]) == 0)
			return true;
	return false;
}

/* botocore ThrottledRetryableChecker / Go DefaultThrottleErrorCodes. */
static const char *const throttling_codes[] = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
};

/* botocore TransientRetryableChecker. */
static const char *const transient_codes[] = {
    "RequestTimeout",
    "RequestTimeoutException",
    "PriorRequestNotComplete",
};

/* Tokens that are no longer (or never were) valid: a fresh set from the
 * credential chain may fix these, so they get one refresh and one retry. */
static const char *const expired_codes[] = {
    "ExpiredTokenException",	   "ExpiredToken",   "InvalidClientTokenId",
    "UnrecognizedClientException", "RequestExpired", "TokenRefreshRequired",
};

/* Auth failures that fresh credentials do not fix. */
static const char *const auth_codes[] = {
    "AccessDeniedException",
    "AccessDenied",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "IncompleteSignatureException",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
    "AuthFailure",
    "NotAuthorized",
    "UnauthorizedOperation",
};

bool aws_error_type_is_throttling(const char *type)
{
	return in_list(type, throttling_codes, ELEMENTSOF(throttling_codes));
}

bool aws_error_type_is_transient(const char *type)
{
	return in_list(type, transient_codes, ELEMENTSOF(transient_codes));
}

enum aws_outcome aws_classify(enum http_error transport, long status, const char *error_type)
{
	switch (transport) {
	case HTTP_OK:
		break;
	case HTTP_ERR_RESOLVE:
	case HTTP_ERR_CONNECT:
	case HTTP_ERR_TIMEOUT:
	case HTTP_ERR_RESET:
		return AWS_TRANSIENT;
	case HTTP_ERR_TOO_LARGE:
		return AWS_PROTOCOL;
	case HTTP_ERR_CANCELLED:
		return AWS_CANCELLED;
	default:
		return AWS_TRANSPORT;
	}
	if (status >= 200 && status < 300)
		return AWS_OK;
	/* Codes first: a throttling code on a 400 (some services) or a 503
	 * SlowDown is throttling, not a client or server error. */
	if (aws_error_type_is_throttling(error_type) || status == 429)
		return AWS_THROTTLED;
	if (aws_error_type_is_transient(error_type))
		return AWS_TRANSIENT;
	if (status == 500 || status == 502 || status == 503 || status == 504)
		return AWS_TRANSIENT;
	if (in_list(error_type, expired_codes, ELEMENTSOF(expired_codes)))
		return AWS_AUTH_EXPIRED;
	if (in_list(error_type, auth_codes, ELEMENTSOF(auth_codes)) || status == 401 || status == 403)
		return AWS_AUTH;
	/* Only the service's own word: "not found" makes a known job gone.
	 * A 404 without that type comes from something else (a proxy, or the
	 * front door's UnknownOperationException for a wrong endpoint path)
	 * and says nothing about the job. */
	if (error_type && strcmp(error_type, "ResourceNotFoundException") == 0)
		return AWS_NOT_FOUND;
	if (status >= 400 && status < 500)
		return AWS_CLIENT;
	/* 1xx/3xx and 5xx other than the retryable ones: not an answer this
	 * client knows how to handle, and retrying will not change it. */
	return AWS_PROTOCOL;
}
