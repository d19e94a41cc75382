/* AWS error responses (restJson1): extracting the error type, message and
 * request id, and classifying an answer into what the caller does next. */
#ifndef JW_AWS_ERRORS_H
#define JW_AWS_ERRORS_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

enum aws_outcome {
	AWS_OK,
	AWS_THROTTLED,	  /* throttling code or HTTP 429: retried, slows the rate limiter */
	AWS_TRANSIENT,	  /* 500/502/503/504, RequestTimeout*, resets, timeouts, connect errors: retried */
	AWS_AUTH_EXPIRED, /* expired / invalid token: refresh the credentials, retry once */
	AWS_AUTH,	  /* access denied, bad signature: not retried */
	AWS_NOT_FOUND,	  /* 404 ResourceNotFoundException */
	AWS_CLIENT,	  /* any other 4xx: not retried */
	AWS_PROTOCOL,	  /* malformed, oversize or unexpected answer: not retried */
	AWS_TRANSPORT,	  /* TLS failures and other transport errors that retrying cannot fix */
	AWS_CREDENTIALS,  /* no credentials could be obtained */
	AWS_CANCELLED,	  /* the call was cancelled (client freed) */
	_AWS_OUTCOME_MAX,
	AWS_OUTCOME_INVALID = -1,
};
const char *aws_outcome_to_string(enum aws_outcome o);

/* Sizes are caps: longer values are truncated (with "..." for the message). */
struct aws_error {
	char type[128];
	char message[512];
	char request_id[128];
};

/* Fills err from a non-2xx answer: type from the x-amzn-errortype header,
 * else body "code"/"Code", else "__type" (each sanitized), message from body
 * "message"/"Message", request id from x-amzn-requestid.  Any argument may be
 * NULL; a body that is not JSON just yields no type/message. */
void aws_error_parse(const char *errortype_header, const char *request_id_header, const char *body,
		     size_t body_len, struct aws_error *err);

/* "aws.protocoltests.restjson#FooError:http://..." -> "FooError": cut at
 * the first ':', keep what follows the last '#'.  Writes at most size-1 chars. */
void aws_error_sanitize_type(const char *raw, char *out, size_t size);

bool aws_error_type_is_throttling(const char *type);
bool aws_error_type_is_transient(const char *type);

/* Classifies one attempt's answer: transport error (HTTP_OK for a complete
 * response), HTTP status and the sanitized error type (may be NULL/""). */
enum aws_outcome aws_classify(enum http_error transport, long status, const char *error_type);

#endif
