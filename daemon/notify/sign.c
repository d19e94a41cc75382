#include "notify/sign.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include "util.h"

#define SIGN_SECRET_PREFIX   "whsec_"
#define SIGN_FILE_MAX	     (64 * 1024)
#define SIGN_HEADERS_MAX     64
#define SIGN_HEADER_LINE_MAX 8192

static void set_err(char *err, size_t errsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (!err || errsz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
}

void sign_key_wipe(struct sign_key *k)
{
	if (k)
		explicit_bzero(k, sizeof(*k));
}

static bool is_b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
	       c == '/';
}

int sign_key_from_secret(const char *secret, struct sign_key *ret, char *err, size_t errsz)
{
	/* Base64 of SIGN_KEY_MAX bytes is 88 characters; anything longer is
	 * not a secret we can use. */
	unsigned char in[92], out[72];
	size_t n, pad = 0, len;
	int dec;

	sign_key_wipe(ret);
	if (!secret || !str_startswith(secret, SIGN_SECRET_PREFIX)) {
		set_err(err, errsz, "the secret does not start with \"" SIGN_SECRET_PREFIX "\"");
		return -EINVAL;
	}
	secret += strlen(SIGN_SECRET_PREFIX);
	n = strlen(secret);
	if (n == 0) {
		set_err(err, errsz, "the secret is empty after \"" SIGN_SECRET_PREFIX "\"");
		return -EINVAL;
	}
	if (n > 88) {
		set_err(err, errsz, "the secret is too long (at most %d key bytes)", SIGN_KEY_MAX);
		return -EINVAL;
	}
	/* Strict alphabet check first: EVP_DecodeBlock would skip some bytes
	 * silently.  '=' is only allowed as trailing padding. */
	while (n > 0 && secret[n - 1] == '=' && pad < 2)
		n--, pad++;
	for (size_t i = 0; i < n; i++)
		if (!is_b64_char(secret[i])) {
			set_err(err, errsz,
				"the secret is not valid base64 after \"" SIGN_SECRET_PREFIX
				"\" (character %zu)",
				i + 1 + strlen(SIGN_SECRET_PREFIX));
			return -EINVAL;
		}
	/* Padded standard base64, as the reference libraries decode it. */
	if ((n + pad) % 4 != 0) {
		set_err(err, errsz,
			"the secret is not valid base64 after \"" SIGN_SECRET_PREFIX
			"\" (bad length or padding)");
		return -EINVAL;
	}
	memcpy(in, secret, n + pad);
	len = n + pad;
	dec = EVP_DecodeBlock(out, in, (int)len);
	if (dec < 0) {
		explicit_bzero(in, sizeof(in));
		set_err(err, errsz, "the secret is not valid base64 after \"" SIGN_SECRET_PREFIX "\"");
		return -EINVAL;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	len = (size_t)dec - (len - n);
	if (len == 0 || len > SIGN_KEY_MAX) {
		explicit_bzero(in, sizeof(in));
		explicit_bzero(out, sizeof(out));
		set_err(err, errsz, "the secret decodes to %zu bytes (1..%d expected)", len, SIGN_KEY_MAX);
		return -EINVAL;
	}
	memcpy(ret->bytes, out, len);
	ret->len = len;
	explicit_bzero(in, sizeof(in));
	explicit_bzero(out, sizeof(out));
	return 0;
}

/* An absolute path is used as is; anything else names a systemd credential
 * (LoadCredential=NAME:...) under $CREDENTIALS_DIRECTORY. */
static int resolve_path(const char *path, char **ret, char *err, size_t errsz)
{
	const char *dir, *base;
	struct dynbuf b;

	if (str_empty(path)) {
		set_err(err, errsz, "empty file name");
		return -EINVAL;
	}
	if (path[0] == '/') {
		*ret = strdup(path);
		return *ret ? 0 : -ENOMEM;
	}
	dir = getenv("CREDENTIALS_DIRECTORY");
	if (str_empty(dir)) {
		set_err(err, errsz, "\"%s\" is not an absolute path and $CREDENTIALS_DIRECTORY is not set",
			path);
		return -ENOENT;
	}
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (str_empty(base) || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		set_err(err, errsz, "\"%s\" does not name a credential", path);
		return -EINVAL;
	}
	dynbuf_init(&b, 4096);
	if (dynbuf_appendf(&b, "%s/%s", dir, base) < 0) {
		dynbuf_free(&b);
		set_err(err, errsz, "credential path too long");
		return -ENAMETOOLONG;
	}
	*ret = dynbuf_take(&b);
	return 0;
}

static int read_secret_file(const char *setting, char **ret_path, char **ret_text, char *err, size_t errsz)
{
	_cleanup_free_ char *path = NULL;
	size_t len = 0;
	int r;

	r = resolve_path(setting, &path, err, errsz);
	if (r < 0)
		return r;
	r = read_file_capped(path, SIGN_FILE_MAX, ret_text, &len);
	if (r < 0) {
		set_err(err, errsz, "cannot read %s: %s", path, strerror(-r));
		return r;
	}
	if (memchr(*ret_text, '\0', len)) {
		secret_free(*ret_text);
		*ret_text = NULL;
		set_err(err, errsz, "%s contains a NUL byte", path);
		return -EINVAL;
	}
	*ret_path = path;
	path = NULL;
	return 0;
}

int sign_key_load_file(const char *secret_file, struct sign_key *ret, char *err, size_t errsz)
{
	_cleanup_free_ char *path = NULL;
	char *text = NULL, e2[200];
	int r;

	sign_key_wipe(ret);
	r = read_secret_file(secret_file, &path, &text, err, errsz);
	if (r < 0)
		return r;
	r = sign_key_from_secret(strstrip(text), ret, e2, sizeof(e2));
	secret_free(text);
	if (r < 0)
		set_err(err, errsz, "%s: %s", path, e2);
	return r;
}

int sign_signature(const struct sign_key *key, const char *msg_id, int64_t timestamp, const void *body,
		   size_t body_len, char *out, size_t out_size)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t maclen = 0;
	char ts[32], digest[] = "SHA256";
	OSSL_PARAM params[2];
	EVP_MAC *m;
	EVP_MAC_CTX *c = NULL;
	int ok, n;

	if (!key || key->len == 0 || !msg_id || out_size < SIGN_SIGNATURE_MAX)
		return -EINVAL;
	n = snprintf(ts, sizeof(ts), "%lld", (long long)timestamp);
	if (n < 0 || (size_t)n >= sizeof(ts))
		return -EINVAL;
	m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (m)
		c = EVP_MAC_CTX_new(m);
	params[0] = OSSL_PARAM_construct_utf8_string("digest", digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	/* The spec signs the exact bytes sent: "{id}.{timestamp}.{body}". */
	ok = c && EVP_MAC_init(c, key->bytes, key->len, params) == 1 &&
	     EVP_MAC_update(c, (const unsigned char *)msg_id, strlen(msg_id)) == 1 &&
	     EVP_MAC_update(c, (const unsigned char *)".", 1) == 1 &&
	     EVP_MAC_update(c, (const unsigned char *)ts, (size_t)n) == 1 &&
	     EVP_MAC_update(c, (const unsigned char *)".", 1) == 1 &&
	     (body_len == 0 || EVP_MAC_update(c, body, body_len) == 1) &&
	     EVP_MAC_final(c, mac, &maclen, sizeof(mac)) == 1;
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(m);
	if (!ok)
		return m ? -EIO : -ENOMEM;
	memcpy(out, "v1,", 3);
	EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)maclen);
	explicit_bzero(mac, sizeof(mac));
	return 0;
}

/* RFC 9110 token characters. */
static bool is_tchar(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

static bool header_reserved(const char *name, size_t n)
{
	static const char *const reserved[] = {
	    "content-type",	 "content-length", "user-agent",	"host",
	    "transfer-encoding", "webhook-id",	   "webhook-timestamp", "webhook-signature",
	};
	for (size_t i = 0; i < ELEMENTSOF(reserved); i++)
		if (strlen(reserved[i]) == n && strncasecmp(reserved[i], name, n) == 0)
			return true;
	return false;
}

void sign_headers_free(char **headers)
{
	if (!headers)
		return;
	for (char **p = headers; *p; p++)
		secret_free(*p);
	free(headers);
}

char **sign_headers_copy(const char *const *headers)
{
	size_t n = 0;
	char **r;

	while (headers && headers[n])
		n++;
	if (n > SIGN_HEADERS_MAX)
		return NULL;
	r = calloc(n + 1, sizeof(char *));
	if (!r)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		r[i] = strdup(headers[i]);
		if (!r[i]) {
			sign_headers_free(r);
			return NULL;
		}
	}
	return r;
}

int sign_headers_parse(const char *text, char ***ret, char *err, size_t errsz)
{
	char **list = calloc(SIGN_HEADERS_MAX + 1, sizeof(char *));
	size_t n = 0;
	unsigned lineno = 0;
	const char *p = text;
	int r = 0;

	if (!list)
		return -ENOMEM;
	while (p && *p) {
		const char *nl = strchr(p, '\n'), *colon, *end = nl ? nl : p + strlen(p);
		size_t len = (size_t)(end - p), nlen;
		char line[SIGN_HEADER_LINE_MAX + 1], *name, *value;
		struct dynbuf b;

		lineno++;
		p = nl ? nl + 1 : NULL;
		if (len > SIGN_HEADER_LINE_MAX) {
			set_err(err, errsz, "line %u: too long", lineno);
			r = -E2BIG;
			break;
		}
		memcpy(line, end - len, len);
		line[len] = '\0';
		name = strstrip(line);
		if (name[0] == '\0' || name[0] == '#') {
			explicit_bzero(line, sizeof(line));
			continue;
		}
		colon = strchr(name, ':');
		if (!colon) {
			explicit_bzero(line, sizeof(line));
			set_err(err, errsz, "line %u: expected \"Name: value\"", lineno);
			r = -EINVAL;
			break;
		}
		nlen = (size_t)(colon - name);
		for (size_t i = 0; i < nlen; i++)
			if (!is_tchar(name[i])) {
				nlen = 0;
				break;
			}
		if (nlen == 0) {
			explicit_bzero(line, sizeof(line));
			set_err(err, errsz, "line %u: invalid header name", lineno);
			r = -EINVAL;
			break;
		}
		if (header_reserved(name, nlen)) {
			set_err(err, errsz,
				"line %u: header \"%.*s\" is set by jobwatchd and cannot be overridden",
				lineno, (int)nlen, name);
			explicit_bzero(line, sizeof(line));
			r = -EINVAL;
			break;
		}
		value = strstrip(line + (colon - line) + 1);
		for (const char *v = value; *v; v++)
			if (*v == '\r' || ((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f) {
				value = NULL;
				break;
			}
		if (!value) {
			explicit_bzero(line, sizeof(line));
			set_err(err, errsz,
				"line %u: the value of \"%.*s\" contains a control character (CR, LF)",
				lineno, (int)nlen, name);
			r = -EINVAL;
			break;
		}
		if (n == SIGN_HEADERS_MAX) {
			explicit_bzero(line, sizeof(line));
			set_err(err, errsz, "more than %d headers", SIGN_HEADERS_MAX);
			r = -E2BIG;
			break;
		}
		dynbuf_init(&b, SIGN_HEADER_LINE_MAX + 2);
		r = dynbuf_appendf(&b, "%.*s: %s", (int)nlen, name, value);
		explicit_bzero(line, sizeof(line));
		if (r < 0) {
			dynbuf_free(&b);
			set_err(err, errsz, "line %u: out of memory", lineno);
			break;
		}
		list[n++] = dynbuf_take(&b);
	}
	if (r < 0) {
		sign_headers_free(list);
		return r;
	}
	*ret = list;
	return 0;
}

int sign_headers_load_file(const char *path, char ***ret, char *err, size_t errsz)
{
	_cleanup_free_ char *resolved = NULL;
	char *text = NULL, e2[200];
	int r;

	r = read_secret_file(path, &resolved, &text, err, errsz);
	if (r < 0)
		return r;
	r = sign_headers_parse(text, ret, e2, sizeof(e2));
	secret_free(text);
	if (r < 0)
		set_err(err, errsz, "%s: %s", resolved, e2);
	return r;
}
