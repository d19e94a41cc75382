/* Parsers for credential documents: credential_process and container/IMDS
 * JSON (cJSON), STS Query-protocol XML (libxml2, tree walk), and the
 * shell-style command line split for credential_process. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "creds/parse.h"
#include "creds/credentials.h"
#include "util.h"

#define CREDS_MAX_DOC	(64 * 1024)
#define CREDS_MAX_ARGS	256
#define CREDS_MAX_FIELD 8192

static void perr(char *err, size_t errsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void perr(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errsz)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
}

void creds_sanitize(const char *s, size_t len, char *out, size_t outsz)
{
	size_t o = 0;

	if (!outsz)
		return;
	for (size_t i = 0; s && i < len && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		if (o + 1 >= outsz) {
			if (outsz > 4)
				memcpy(out + outsz - 4, "...", 3), o = outsz - 1;
			break;
		}
		out[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	out[o] = '\0';
}

/* ---- command line split ---- */

void creds_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
}

int creds_split_command(const char *cmd, char ***ret_argv, size_t *ret_argc, char *err, size_t errsz)
{
	char **argv = NULL;
	size_t argc = 0;
	struct dynbuf w;
	const char *p = cmd;
	int r = 0;

	if (!cmd) {
		perr(err, errsz, "empty command");
		return -EINVAL;
	}
	argv = calloc(CREDS_MAX_ARGS + 1, sizeof(char *));
	if (!argv)
		return -ENOMEM;
	dynbuf_init(&w, CREDS_MAX_FIELD);
	for (;;) {
		bool in_word = false;

		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (!*p)
			break;
		dynbuf_reset(&w);
		while (*p && !(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
			in_word = true;
			if (*p == '\'') {
				const char *e = strchr(p + 1, '\'');
				if (!e) {
					perr(err, errsz, "unterminated single quote");
					r = -EINVAL;
					goto out;
				}
				r = dynbuf_append(&w, p + 1, (size_t)(e - p - 1));
				p = e + 1;
			} else if (*p == '"') {
				p++;
				for (;;) {
					if (!*p) {
						perr(err, errsz, "unterminated double quote");
						r = -EINVAL;
						goto out;
					}
					if (*p == '"') {
						p++;
						break;
					}
					if (*p == '\\' && p[1] && strchr("\"\\$`\n", p[1])) {
						if (p[1] != '\n')
							r = dynbuf_append(&w, p + 1, 1);
						p += 2;
					} else {
						r = dynbuf_append(&w, p, 1);
						p++;
					}
					if (r < 0)
						break;
				}
			} else if (*p == '\\') {
				if (!p[1]) {
					perr(err, errsz, "trailing backslash");
					r = -EINVAL;
					goto out;
				}
				if (p[1] != '\n')
					r = dynbuf_append(&w, p + 1, 1);
				p += 2;
			} else {
				r = dynbuf_append(&w, p, 1);
				p++;
			}
			if (r < 0) {
				perr(err, errsz, "word longer than %d bytes", CREDS_MAX_FIELD);
				goto out;
			}
		}
		if (!in_word)
			continue;
		if (argc >= CREDS_MAX_ARGS) {
			perr(err, errsz, "more than %d arguments", CREDS_MAX_ARGS);
			r = -E2BIG;
			goto out;
		}
		argv[argc] = w.data ? dynbuf_take(&w) : strdup("");
		if (!argv[argc]) {
			r = -ENOMEM;
			goto out;
		}
		argc++;
	}
	if (argc == 0) {
		perr(err, errsz, "empty command");
		r = -EINVAL;
		goto out;
	}
	*ret_argv = argv;
	if (ret_argc)
		*ret_argc = argc;
	argv = NULL;
out:
	dynbuf_free(&w);
	creds_argv_free(argv);
	return r;
}

/* ---- JSON ---- */

/* A required/optional string member; err names the field. */
static int json_string(const cJSON *o, const char *name, bool required, const char **ret, char *err,
		       size_t errsz)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	*ret = NULL;
	if (!v || cJSON_IsNull(v)) {
		if (required) {
			perr(err, errsz, "missing %s", name);
			return -EINVAL;
		}
		return 0;
	}
	if (!cJSON_IsString(v) || !v->valuestring) {
		perr(err, errsz, "%s is not a string", name);
		return -EINVAL;
	}
	if (required && !*v->valuestring) {
		perr(err, errsz, "%s is empty", name);
		return -EINVAL;
	}
	if (strlen(v->valuestring) > CREDS_MAX_FIELD) {
		perr(err, errsz, "%s is too long", name);
		return -EINVAL;
	}
	*ret = v->valuestring;
	return 0;
}

static int parse_expiration(const char *s, int64_t *ret, char *err, size_t errsz)
{
	char shown[64];

	*ret = 0;
	if (!s)
		return 0;
	if (parse_iso8601_ms(s, ret) < 0 || *ret <= 0) {
		creds_sanitize(s, strlen(s), shown, sizeof(shown));
		perr(err, errsz, "Expiration \"%s\" is not an ISO 8601 timestamp", shown);
		return -EINVAL;
	}
	return 0;
}

/* Every credential document (JSON or XML) is non-empty and capped. */
static int doc_size_ok(const char *body, size_t len, char *err, size_t errsz)
{
	if (!body || len == 0) {
		perr(err, errsz, "empty response");
		return -EPROTO;
	}
	if (len > CREDS_MAX_DOC) {
		perr(err, errsz, "response larger than %d bytes", CREDS_MAX_DOC);
		return -EPROTO;
	}
	return 0;
}

static int json_open(const char *body, size_t len, cJSON **ret, char *err, size_t errsz)
{
	const char *end = NULL;
	cJSON *root;
	int r;

	r = doc_size_ok(body, len, err, errsz);
	if (r < 0)
		return r;
	root = cJSON_ParseWithLengthOpts(body, len, &end, false);
	if (!root) {
		perr(err, errsz, "malformed JSON");
		return -EPROTO;
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		perr(err, errsz, "JSON document is not an object");
		return -EPROTO;
	}
	*ret = root;
	return 0;
}

/* cJSON keeps copies of every string; wipe them before freeing. */
static void json_wipe(cJSON *n)
{
	for (cJSON *c = n; c; c = c->next) {
		json_wipe(c->child);
		if (c->valuestring)
			explicit_bzero(c->valuestring, strlen(c->valuestring));
	}
}

static void json_close(cJSON *root)
{
	if (!root)
		return;
	json_wipe(root);
	cJSON_Delete(root);
}

/* The fields every credential JSON shares: AccessKeyId and SecretAccessKey
 * (required), the session token under token_key and Expiration (required
 * for temporary credentials when temporary is set). */
static int creds_from_fields(cJSON *root, const char *token_key, bool temporary, const char *source,
			     struct aws_credentials **ret, char *err, size_t errsz)
{
	const char *akid, *secret, *token, *exp;
	int64_t exp_ms = 0;
	int r;

	if ((r = json_string(root, "AccessKeyId", true, &akid, err, errsz)) < 0 ||
	    (r = json_string(root, "SecretAccessKey", true, &secret, err, errsz)) < 0 ||
	    (r = json_string(root, token_key, temporary, &token, err, errsz)) < 0 ||
	    (r = json_string(root, "Expiration", temporary, &exp, err, errsz)) < 0 ||
	    (r = parse_expiration(exp, &exp_ms, err, errsz)) < 0)
		return r;
	*ret = aws_credentials_new(akid, secret, token && *token ? token : NULL, exp_ms, source);
	return *ret ? 0 : -ENOMEM;
}

int creds_parse_process_json(const char *body, size_t len, const char *source, struct aws_credentials **ret,
			     char *err, size_t errsz)
{
	const cJSON *ver;
	cJSON *root = NULL;
	int r;

	r = json_open(body, len, &root, err, errsz);
	if (r < 0)
		return r;
	ver = cJSON_GetObjectItemCaseSensitive(root, "Version");
	if (!ver) {
		perr(err, errsz, "missing Version");
		r = -EINVAL;
		goto out;
	}
	if (!cJSON_IsNumber(ver) || ver->valuedouble != 1.0) {
		perr(err, errsz, "unsupported Version (only 1 is supported)");
		r = -EINVAL;
		goto out;
	}
	r = creds_from_fields(root, "SessionToken", false, source, ret, err, errsz);
out:
	json_close(root);
	return r;
}

int creds_parse_http_json(const char *body, size_t len, bool require_code_success, const char *source,
			  struct aws_credentials **ret, char *err, size_t errsz)
{
	const char *code;
	cJSON *root = NULL;
	int r;

	r = json_open(body, len, &root, err, errsz);
	if (r < 0)
		return r;
	if ((r = json_string(root, "Code", require_code_success, &code, err, errsz)) < 0)
		goto out;
	if (code && strcmp(code, "Success") != 0) {
		char shown[64];
		creds_sanitize(code, strlen(code), shown, sizeof(shown));
		perr(err, errsz, "Code is \"%s\", not \"Success\"", shown);
		r = -EPROTO;
		goto out;
	}
	r = creds_from_fields(root, "Token", require_code_success, source, ret, err, errsz);
out:
	json_close(root);
	return r;
}

/* ---- STS XML ---- */

static void xml_quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

static bool xml_is(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && n->name && strcmp((const char *)n->name, name) == 0;
}

static const xmlNode *xml_child(const xmlNode *n, const char *name)
{
	for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (xml_is(c, name))
			return c;
	return NULL;
}

/* Text content of a child element, or NULL.  Caller frees with xml_text_free. */
static char *xml_child_text(const xmlNode *n, const char *name)
{
	const xmlNode *c = xml_child(n, name);
	xmlChar *t;
	char *s;

	if (!c)
		return NULL;
	t = xmlNodeGetContent(c);
	if (!t)
		return NULL;
	s = strdup((const char *)t);
	explicit_bzero(t, strlen((const char *)t));
	xmlFree(t);
	if (s)
		strstrip(s);
	return s;
}

static void xml_wipe(xmlNode *n)
{
	for (xmlNode *c = n; c; c = c->next) {
		if (c->type == XML_TEXT_NODE && c->content)
			explicit_bzero(c->content, strlen((const char *)c->content));
		xml_wipe(c->children);
	}
}

static int sts_error(const xmlNode *root, char *ret_code, size_t codesz, char *err, size_t errsz)
{
	const xmlNode *e = xml_child(root, "Error");
	char *code = xml_child_text(e, "Code"), *msg = xml_child_text(e, "Message");
	char c[128], m[384];

	creds_sanitize(code ? code : "UnknownError", code ? strlen(code) : 12, c, sizeof(c));
	creds_sanitize(msg ? msg : "", msg ? strlen(msg) : 0, m, sizeof(m));
	if (ret_code && codesz)
		snprintf(ret_code, codesz, "%s", c);
	if (m[0])
		perr(err, errsz, "%s: %s", c, m);
	else
		perr(err, errsz, "%s", c);
	free(code);
	free(msg);
	return -EACCES;
}

int creds_parse_sts_xml(const char *body, size_t len, const char *action, const char *source,
			struct aws_credentials **ret, char *ret_code, size_t codesz, char *err, size_t errsz)
{
	char want_root[64], want_result[64];
	char *akid = NULL, *secret = NULL, *token = NULL, *exp = NULL;
	const xmlNode *root, *cred;
	xmlDoc *doc;
	int64_t exp_ms = 0;
	int r;

	if (ret_code && codesz)
		ret_code[0] = '\0';
	r = doc_size_ok(body, len, err, errsz);
	if (r < 0)
		return r;
	snprintf(want_root, sizeof(want_root), "%sResponse", action);
	snprintf(want_result, sizeof(want_result), "%sResult", action);

	/* No XML_PARSE_NOENT (no entity substitution), no DTD loading, no
	 * network; errors are reported through the return value only. */
	/* Encoding errors bypass XML_PARSE_NOERROR and go to libxml2's
	 * generic handler (stderr): silence it, the caller reports the error. */
	xmlSetGenericErrorFunc(NULL, xml_quiet);
	doc = xmlReadMemory(body, (int)len, "sts.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
	if (!doc) {
		perr(err, errsz, "malformed XML");
		return -EPROTO;
	}
	if (doc->intSubset || doc->extSubset) {
		perr(err, errsz, "XML with a DTD refused");
		r = -EPROTO;
		goto out;
	}
	root = xmlDocGetRootElement(doc);
	if (xml_is(root, "ErrorResponse")) {
		r = sts_error(root, ret_code, codesz, err, errsz);
		goto out;
	}
	if (!xml_is(root, want_root)) {
		perr(err, errsz, "unexpected XML document (expected %s)", want_root);
		r = -EPROTO;
		goto out;
	}
	cred = xml_child(xml_child(root, want_result), "Credentials");
	if (!cred) {
		perr(err, errsz, "missing %s/Credentials", want_result);
		r = -EINVAL;
		goto out;
	}
	akid = xml_child_text(cred, "AccessKeyId");
	secret = xml_child_text(cred, "SecretAccessKey");
	token = xml_child_text(cred, "SessionToken");
	exp = xml_child_text(cred, "Expiration");
	r = -EINVAL;
	if (str_empty(akid))
		perr(err, errsz, "missing AccessKeyId");
	else if (str_empty(secret))
		perr(err, errsz, "missing SecretAccessKey");
	else if (str_empty(token))
		perr(err, errsz, "missing SessionToken");
	else if (str_empty(exp))
		perr(err, errsz, "missing Expiration");
	else if (parse_expiration(exp, &exp_ms, err, errsz) == 0) {
		*ret = aws_credentials_new(akid, secret, token, exp_ms, source);
		r = *ret ? 0 : -ENOMEM;
	}
out:
	secret_free(akid);
	secret_free(secret);
	secret_free(token);
	free(exp);
	xml_wipe(doc->children);
	xmlFreeDoc(doc);
	return r;
}
