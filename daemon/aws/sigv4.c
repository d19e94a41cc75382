/* AWS Signature Version 4, header signing.
 *
 * The canonical request is built straight into its output buffer, which is
 * sized once from an upper bound: the only allocations per request are the
 * output strings, and no buffer that held the session token is ever
 * realloc()ed (which would leave an unwiped copy behind).  Query parameters
 * and headers are sorted through small index arrays on the stack.
 *
 * A signer is not thread-safe: it keeps its OpenSSL contexts and the cached
 * signing key between calls.  The daemon signs from its one loop thread.
 */
#include "aws/sigv4.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "creds/credentials.h"
#include "log.h"
#include "util.h"

#define SIGV4_ALGORITHM	    "AWS4-HMAC-SHA256"
#define SIGV4_MAX_HEADERS   64
#define SIGV4_MAX_QUERY	    128
#define SIGV4_MAX_SECRET    256
#define SIGV4_MAX_CANONICAL (1024 * 1024)

struct sigv4_signer {
	char *region;
	char *service;
	EVP_MAC *mac;
	EVP_MAC_CTX *mac_ctx;
	EVP_MD *md;
	EVP_MD_CTX *md_ctx;
	/* Cache of the derived signing key.  The secret itself is not kept: only
	 * its SHA-256, to notice when the credentials were replaced. */
	bool key_valid;
	char key_date[9];
	bool mac_keyed; /* mac_ctx holds the key of s->key (as it is now) */
	unsigned char key_secret_hash[32];
	unsigned char key[32];
	unsigned key_derivations;
};

int sigv4_signer_new(const char *region, const char *service, struct sigv4_signer **ret)
{
	struct sigv4_signer *s;
	OSSL_PARAM params[2];

	if (str_empty(region) || str_empty(service) || strchr(region, '/') || strchr(service, '/'))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->region = strdup(region);
	s->service = strdup(service);
	s->mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
	s->mac_ctx = s->mac ? EVP_MAC_CTX_new(s->mac) : NULL;
	s->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	s->md_ctx = EVP_MD_CTX_new();
	if (!s->region || !s->service || !s->mac_ctx || !s->md || !s->md_ctx) {
		sigv4_signer_free(s);
		return -ENOMEM;
	}
	/* The digest is set once here so that each HMAC is only a re-key. */
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_CTX_set_params(s->mac_ctx, params) != 1) {
		sigv4_signer_free(s);
		return log_debug_errno(EIO, "sigv4: cannot configure HMAC-SHA256");
	}
	*ret = s;
	return 0;
}

static void signer_forget_key(struct sigv4_signer *s)
{
	explicit_bzero(s->key, sizeof(s->key));
	explicit_bzero(s->key_secret_hash, sizeof(s->key_secret_hash));
	explicit_bzero(s->key_date, sizeof(s->key_date));
	s->key_valid = false;
	s->mac_keyed = false;
}

struct sigv4_signer *sigv4_signer_free(struct sigv4_signer *s)
{
	if (!s)
		return NULL;
	signer_forget_key(s);
	EVP_MAC_CTX_free(s->mac_ctx);
	EVP_MAC_free(s->mac);
	EVP_MD_CTX_free(s->md_ctx);
	EVP_MD_free(s->md);
	free(s->region);
	free(s->service);
	free(s);
	return NULL;
}

unsigned sigv4_signer_key_derivations(const struct sigv4_signer *s)
{
	return s->key_derivations;
}

static int sha256(struct sigv4_signer *s, const void *data, size_t len, unsigned char out[32])
{
	unsigned int n = 0;

	if (EVP_DigestInit_ex2(s->md_ctx, s->md, NULL) != 1 || EVP_DigestUpdate(s->md_ctx, data, len) != 1 ||
	    EVP_DigestFinal_ex(s->md_ctx, out, &n) != 1 || n != 32)
		return -EIO;
	return 0;
}

static int hmac(struct sigv4_signer *s, const void *key, size_t key_len, const void *data, size_t len,
		unsigned char out[32])
{
	size_t n = 0;

	/* Keyed with the signing key already (the last request's): OpenSSL
	 * reuses the key's HMAC state when init gets no key, sparing the
	 * key set-up on every request. */
	bool same = key == s->key && s->mac_keyed;

	s->mac_keyed = false;
	if (EVP_MAC_init(s->mac_ctx, same ? NULL : key, same ? 0 : key_len, NULL) != 1 ||
	    EVP_MAC_update(s->mac_ctx, data, len) != 1 || EVP_MAC_final(s->mac_ctx, out, &n, 32) != 1 ||
	    n != 32)
		return -EIO;
	s->mac_keyed = key == s->key;
	return 0;
}

/* The HMAC chain "AWS4"+secret -> date -> region -> service -> "aws4_request".
 * Done once per UTC day (and credential change); every other request reuses
 * the cached result. */
static int signer_key(struct sigv4_signer *s, const char *secret, const char date[9])
{
	unsigned char secret_hash[32], k[32];
	char ksecret[4 + SIGV4_MAX_SECRET];
	size_t slen = strlen(secret);
	int r;

	r = sha256(s, secret, slen, secret_hash);
	if (r < 0)
		return r;
	if (s->key_valid && memcmp(s->key_date, date, 8) == 0 &&
	    CRYPTO_memcmp(s->key_secret_hash, secret_hash, sizeof(secret_hash)) == 0) {
		explicit_bzero(secret_hash, sizeof(secret_hash));
		return 0;
	}
	signer_forget_key(s);
	if (slen > SIGV4_MAX_SECRET) {
		explicit_bzero(secret_hash, sizeof(secret_hash));
		return -E2BIG;
	}
	memcpy(ksecret, "AWS4", 4);
	memcpy(ksecret + 4, secret, slen);
	r = hmac(s, ksecret, 4 + slen, date, 8, k);
	if (r >= 0)
		r = hmac(s, k, 32, s->region, strlen(s->region), k);
	if (r >= 0)
		r = hmac(s, k, 32, s->service, strlen(s->service), k);
	if (r >= 0)
		r = hmac(s, k, 32, "aws4_request", 12, k);
	if (r >= 0) {
		memcpy(s->key, k, 32);
		memcpy(s->key_secret_hash, secret_hash, 32);
		memcpy(s->key_date, date, 9);
		s->key_valid = true;
		s->key_derivations++;
	}
	explicit_bzero(ksecret, sizeof(ksecret));
	explicit_bzero(k, sizeof(k));
	explicit_bzero(secret_hash, sizeof(secret_hash));
	return r;
}

/* ---- encoding helpers ---- */

static const char HEX_UPPER[] = "0123456789ABCDEF";

static bool is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.' || c == '_' || c == '~';
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Yields the RFC 3986 encoding of the percent-DECODED form of a wire query
 * component one character at a time, so that parameters can be compared and
 * written in canonical form without a scratch copy.  A '%' that does not
 * start a valid escape stands for itself (and so becomes %25). */
struct qenc {
	const char *p, *end;
	char pend[2];
	unsigned npend;
};

static void qenc_init(struct qenc *it, const char *p, size_t len)
{
	it->p = p;
	it->end = p + len;
	it->npend = 0;
}

static int qenc_next(struct qenc *it)
{
	unsigned char c;

	if (it->npend > 0) {
		char out = it->pend[2 - it->npend];
		it->npend--;
		return (unsigned char)out;
	}
	if (it->p >= it->end)
		return -1;
	c = (unsigned char)*it->p;
	if (c == '%' && it->end - it->p >= 3 && hexval(it->p[1]) >= 0 && hexval(it->p[2]) >= 0) {
		c = (unsigned char)(hexval(it->p[1]) << 4 | hexval(it->p[2]));
		it->p += 3;
	} else {
		it->p++;
	}
	if (is_unreserved(c))
		return c;
	it->pend[0] = HEX_UPPER[c >> 4];
	it->pend[1] = HEX_UPPER[c & 15];
	it->npend = 2;
	return '%';
}

static int qenc_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	struct qenc ia, ib;

	qenc_init(&ia, a, alen);
	qenc_init(&ib, b, blen);
	for (;;) {
		int ca = qenc_next(&ia), cb = qenc_next(&ib);
		if (ca != cb)
			return ca < cb ? -1 : 1;
		if (ca < 0)
			return 0;
	}
}

static int qenc_append(struct dynbuf *b, const char *p, size_t len)
{
	struct qenc it;
	int c;

	qenc_init(&it, p, len);
	while ((c = qenc_next(&it)) >= 0) {
		char ch = (char)c;
		int r = dynbuf_append(b, &ch, 1);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Encodes a path segment once more: everything but unreserved bytes,
 * including '%', becomes %XX. */
static int path_segment_append(struct dynbuf *b, const char *p, size_t len)
{
	return uri_encode(p, len, b);
}

/* ---- canonical request parts ---- */

struct qparam {
	const char *k, *v;
	size_t klen, vlen;
};

struct hdr {
	const char *name, *val;
	size_t nlen, vlen;
};

static int qparam_cmp(const struct qparam *a, const struct qparam *b)
{
	int c = qenc_cmp(a->k, a->klen, b->k, b->klen);
	return c ? c : qenc_cmp(a->v, a->vlen, b->v, b->vlen);
}

static int hdr_name_cmp(const struct hdr *a, const struct hdr *b)
{
	size_t n = a->nlen < b->nlen ? a->nlen : b->nlen;
	for (size_t i = 0; i < n; i++) {
		unsigned char ca = (unsigned char)a->name[i], cb = (unsigned char)b->name[i];
		ca = (unsigned char)(ca >= 'A' && ca <= 'Z' ? ca + 32 : ca);
		cb = (unsigned char)(cb >= 'A' && cb <= 'Z' ? cb + 32 : cb);
		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	return a->nlen == b->nlen ? 0 : a->nlen < b->nlen ? -1 : 1;
}

static bool hdr_is(const struct hdr *h, const char *lname)
{
	return h->nlen == strlen(lname) && strncasecmp(h->name, lname, h->nlen) == 0;
}

/* Splits the wire query into parameters and sorts them by encoded key, then
 * encoded value.  Insertion sort: the lists are short and it is stable. */
static int query_parse(const char *q, struct qparam *out, size_t max, size_t *ret_n)
{
	size_t n = 0;

	while (q && *q) {
		const char *amp = strchr(q, '&');
		size_t len = amp ? (size_t)(amp - q) : strlen(q);
		if (len > 0) {
			const char *eq = memchr(q, '=', len);
			struct qparam p;
			size_t j;
			if (n >= max)
				return -E2BIG;
			p.k = q;
			p.klen = eq ? (size_t)(eq - q) : len;
			p.v = eq ? eq + 1 : q + len;
			p.vlen = eq ? len - p.klen - 1 : 0;
			for (j = n; j > 0 && qparam_cmp(&out[j - 1], &p) > 0; j--)
				out[j] = out[j - 1];
			out[j] = p;
			n++;
		}
		q = amp ? amp + 1 : NULL;
	}
	*ret_n = n;
	return 0;
}

static int hdr_insert(struct hdr *arr, size_t *n, size_t max, struct hdr h)
{
	size_t j;

	if (*n >= max)
		return -E2BIG;
	for (j = *n; j > 0 && hdr_name_cmp(&arr[j - 1], &h) > 0; j--)
		arr[j] = arr[j - 1];
	arr[j] = h;
	(*n)++;
	return 0;
}

static int headers_parse(const char *const *lines, struct hdr *out, size_t max, size_t *ret_n)
{
	size_t n = 0;

	for (size_t i = 0; lines && lines[i]; i++) {
		const char *colon = strchr(lines[i], ':');
		struct hdr h;
		int r;

		if (!colon || colon == lines[i])
			return -EINVAL;
		h.name = lines[i];
		h.nlen = (size_t)(colon - lines[i]);
		for (size_t k = 0; k < h.nlen; k++)
			if ((unsigned char)h.name[k] <= ' ' || (unsigned char)h.name[k] >= 0x7f)
				return -EINVAL;
		/* These are the signer's own; a second copy would be ambiguous. */
		if (hdr_is(&h, "host") || hdr_is(&h, "x-amz-date") || hdr_is(&h, "x-amz-security-token") ||
		    hdr_is(&h, "authorization"))
			return -EINVAL;
		h.val = colon + 1;
		h.vlen = strlen(h.val);
		r = hdr_insert(out, &n, max, h);
		if (r < 0)
			return r;
	}
	*ret_n = n;
	return 0;
}

/* A header value trimmed, with every internal whitespace run (including the
 * line breaks of an obsolete folded value) collapsed to one space. */
static int header_value_append(struct dynbuf *b, const char *v, size_t len)
{
	size_t i = 0, end = len;
	bool space = false;

	while (i < end && is_ws(v[i]))
		i++;
	while (end > i && is_ws(v[end - 1]))
		end--;
	for (; i < end; i++) {
		int r;
		if (is_ws(v[i])) {
			space = true;
			continue;
		}
		if (space) {
			r = dynbuf_append(b, " ", 1);
			if (r < 0)
				return r;
			space = false;
		}
		r = dynbuf_append(b, &v[i], 1);
		if (r < 0)
			return r;
	}
	return 0;
}

static int lower_append(struct dynbuf *b, const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = p[i] >= 'A' && p[i] <= 'Z' ? (char)(p[i] + 32) : p[i];
		int r = dynbuf_append(b, &c, 1);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Canonical URI: with normalize, dot segments are resolved and empty
 * segments dropped, keeping a trailing slash (as @smithy/signature-v4 and
 * aws-c-auth do); then each segment is encoded once more. */
static int canonical_uri_append(struct dynbuf *b, const char *path, bool normalize)
{
	const char *segs[256];
	size_t lens[256], n = 0, plen = strlen(path);
	int r;

	if (plen == 0)
		return dynbuf_append(b, "/", 1);
	if (!normalize) {
		const char *p = path;
		for (;;) {
			const char *slash = strchr(p, '/');
			size_t len = slash ? (size_t)(slash - p) : strlen(p);
			r = path_segment_append(b, p, len);
			if (r < 0)
				return r;
			if (!slash)
				return 0;
			r = dynbuf_append(b, "/", 1);
			if (r < 0)
				return r;
			p = slash + 1;
		}
	}
	for (const char *p = path;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		bool dot = len == 1 && p[0] == '.', dotdot = len == 2 && p[0] == '.' && p[1] == '.';
		if (dotdot && n > 0) {
			n--;
		} else if (len > 0 && !dot && !dotdot) {
			if (n >= ELEMENTSOF(segs))
				return -E2BIG;
			segs[n] = p;
			lens[n++] = len;
		}
		if (!slash)
			break;
		p = slash + 1;
	}
	if (path[0] == '/' || n == 0) {
		r = dynbuf_append(b, "/", 1);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && (r = dynbuf_append(b, "/", 1)) < 0)
			return r;
		r = path_segment_append(b, segs[i], lens[i]);
		if (r < 0)
			return r;
	}
	if (n > 0 && path[plen - 1] == '/')
		return dynbuf_append(b, "/", 1);
	return 0;
}

/* Gives the buffer its final size up front so it never realloc()s. */
static int dynbuf_presize(struct dynbuf *b, size_t size)
{
	if (size > b->max)
		return -E2BIG;
	b->data = malloc(size + 1);
	if (!b->data)
		return -ENOMEM;
	b->alloc = size + 1;
	b->len = 0;
	b->data[0] = '\0';
	return 0;
}

static size_t canonical_size_bound(const struct sigv4_request *r, const struct hdr *h, size_t nh,
				   const char *token, size_t nq)
{
	size_t size = strlen(r->method) + 3 * strlen(r->path) + 4;
	size += r->query ? 3 * strlen(r->query) + nq + 1 : 1;
	for (size_t i = 0; i < nh; i++)
		size += 2 * (h[i].nlen + 2) + h[i].vlen + 1;
	size += 2 * (sizeof("host:\n") + sizeof("x-amz-date:\n") + 16) + strlen(r->host);
	if (token)
		size += 2 * sizeof("x-amz-security-token:\n") + strlen(token);
	return size + 2 + 64 + 16;
}

/* X-Amz-Date and the scope date; years past 9999 do not fit the format. */
static int sigv4_amz_date(time_t t, char amz[17], char date[9])
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(amz, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
		return -ERANGE;
	memcpy(date, amz, 8);
	date[8] = '\0';
	return 0;
}

static int canonical_request_build(struct sigv4_signer *s, const struct sigv4_request *r, const char *token,
				   const char *amz, struct dynbuf *b, size_t *ret_sh_off, size_t *ret_sh_len)
{
	struct qparam q[SIGV4_MAX_QUERY];
	struct hdr h[SIGV4_MAX_HEADERS + 3];
	size_t nq = 0, nh = 0, sh_off;
	unsigned char payload_hash[32];
	char hexhash[65];
	int k;

	k = query_parse(r->query, q, ELEMENTSOF(q), &nq);
	if (k < 0)
		return k;
	k = headers_parse(r->headers, h, SIGV4_MAX_HEADERS, &nh);
	if (k < 0)
		return k;
	hdr_insert(h, &nh, ELEMENTSOF(h), (struct hdr){"host", r->host, 4, strlen(r->host)});
	hdr_insert(h, &nh, ELEMENTSOF(h), (struct hdr){"x-amz-date", amz, 10, 16});
	if (token)
		hdr_insert(h, &nh, ELEMENTSOF(h),
			   (struct hdr){"x-amz-security-token", token, 20, strlen(token)});

	k = dynbuf_presize(b, canonical_size_bound(r, h, nh, token, nq));
	if (k < 0)
		return k;

	if ((k = dynbuf_appends(b, r->method)) < 0 || (k = dynbuf_append(b, "\n", 1)) < 0)
		return k;
	if ((k = canonical_uri_append(b, r->path, r->normalize_path)) < 0 ||
	    (k = dynbuf_append(b, "\n", 1)) < 0)
		return k;
	for (size_t i = 0; i < nq; i++) {
		if (i > 0 && (k = dynbuf_append(b, "&", 1)) < 0)
			return k;
		if ((k = qenc_append(b, q[i].k, q[i].klen)) < 0 || (k = dynbuf_append(b, "=", 1)) < 0 ||
		    (k = qenc_append(b, q[i].v, q[i].vlen)) < 0)
			return k;
	}
	if ((k = dynbuf_append(b, "\n", 1)) < 0)
		return k;

	/* Canonical headers: one line per name, values of repeated names joined
	 * with ',' in the order given (the sort above is stable). */
	for (size_t i = 0; i < nh; i++) {
		bool same = i > 0 && hdr_name_cmp(&h[i - 1], &h[i]) == 0;
		k = 0;
		if (same)
			k = dynbuf_append(b, ",", 1);
		else if (i > 0)
			k = dynbuf_append(b, "\n", 1);
		if (k < 0)
			return k;
		if (!same &&
		    ((k = lower_append(b, h[i].name, h[i].nlen)) < 0 || (k = dynbuf_append(b, ":", 1)) < 0))
			return k;
		if ((k = header_value_append(b, h[i].val, h[i].vlen)) < 0)
			return k;
	}
	if ((k = dynbuf_append(b, "\n\n", 2)) < 0)
		return k;

	sh_off = b->len;
	for (size_t i = 0; i < nh; i++) {
		if (i > 0 && hdr_name_cmp(&h[i - 1], &h[i]) == 0)
			continue;
		if (i > 0 && (k = dynbuf_append(b, ";", 1)) < 0)
			return k;
		if ((k = lower_append(b, h[i].name, h[i].nlen)) < 0)
			return k;
	}
	*ret_sh_off = sh_off;
	*ret_sh_len = b->len - sh_off;

	k = sha256(s, r->payload ? r->payload : "", r->payload ? r->payload_len : 0, payload_hash);
	if (k < 0)
		return k;
	hex_encode(payload_hash, 32, hexhash);
	if ((k = dynbuf_append(b, "\n", 1)) < 0 || (k = dynbuf_append(b, hexhash, 64)) < 0)
		return k;
	return 0;
}

void sigv4_signed_done(struct sigv4_signed *out)
{
	if (!out)
		return;
	secret_free(out->authorization);
	free(out->amz_date);
	secret_free(out->security_token);
	secret_free(out->canonical_request);
	free(out->string_to_sign);
	explicit_bzero(out, sizeof(*out));
}

int sigv4_sign(struct sigv4_signer *s, const struct aws_credentials *c, const struct sigv4_request *r,
	       struct sigv4_signed *out)
{
	struct dynbuf creq, sts, auth, tok;
	unsigned char hash[32], sig[32];
	char amz[17], date[9], hexhash[65];
	const char *token;
	size_t sh_off = 0, sh_len = 0, scope_len;
	int k;

	memset(out, 0, sizeof(*out));
	if (!s || !c || !r || str_empty(c->access_key_id) || str_empty(c->secret_access_key) ||
	    str_empty(r->method) || !r->path || str_empty(r->host) || (r->payload_len && !r->payload))
		return -EINVAL;
	token = str_empty(c->session_token) ? NULL : c->session_token;
	k = sigv4_amz_date(r->now, amz, date);
	if (k < 0)
		return k;

	dynbuf_init(&creq, SIGV4_MAX_CANONICAL);
	dynbuf_init(&sts, 4096);
	dynbuf_init(&auth, SIGV4_MAX_CANONICAL);
	dynbuf_init(&tok, SIGV4_MAX_CANONICAL);

	k = canonical_request_build(s, r, token, amz, &creq, &sh_off, &sh_len);
	if (k < 0)
		goto fail;

	k = sha256(s, creq.data, creq.len, hash);
	if (k < 0)
		goto fail;
	hex_encode(hash, 32, hexhash);
	k = dynbuf_appendf(&sts, SIGV4_ALGORITHM "\n%s\n%s/%s/%s/aws4_request\n%s", amz, date, s->region,
			   s->service, hexhash);
	if (k < 0)
		goto fail;

	k = signer_key(s, c->secret_access_key, date);
	if (k < 0)
		goto fail;
	k = hmac(s, s->key, sizeof(s->key), sts.data, sts.len, sig);
	if (k < 0)
		goto fail;
	hex_encode(sig, 32, out->signature);

	/* The scope sits between the first and the last line of the string to sign. */
	scope_len =
	    strlen(date) + 1 + strlen(s->region) + 1 + strlen(s->service) + sizeof("/aws4_request") - 1;
	k = dynbuf_presize(&auth, sizeof("Authorization: " SIGV4_ALGORITHM " Credential=/, SignedHeaders=, "
					 "Signature=") +
				      strlen(c->access_key_id) + scope_len + sh_len + 64);
	if (k < 0)
		goto fail;
	if ((k = dynbuf_appends(&auth, "Authorization: " SIGV4_ALGORITHM " Credential=")) < 0 ||
	    (k = dynbuf_appends(&auth, c->access_key_id)) < 0 || (k = dynbuf_append(&auth, "/", 1)) < 0 ||
	    (k = dynbuf_append(&auth, sts.data + sizeof(SIGV4_ALGORITHM) + 16 + 1, scope_len)) < 0 ||
	    (k = dynbuf_appends(&auth, ", SignedHeaders=")) < 0 ||
	    (k = dynbuf_append(&auth, creq.data + sh_off, sh_len)) < 0 ||
	    (k = dynbuf_appends(&auth, ", Signature=")) < 0 ||
	    (k = dynbuf_append(&auth, out->signature, 64)) < 0)
		goto fail;

	if (token) {
		k = dynbuf_presize(&tok, sizeof("X-Amz-Security-Token: ") + strlen(token));
		if (k < 0 || (k = dynbuf_appends(&tok, "X-Amz-Security-Token: ")) < 0 ||
		    (k = dynbuf_appends(&tok, token)) < 0)
			goto fail;
		out->security_token = dynbuf_take(&tok);
	}
	out->amz_date = malloc(sizeof("X-Amz-Date: ") + 16);
	if (!out->amz_date) {
		k = -ENOMEM;
		goto fail;
	}
	memcpy(out->amz_date, "X-Amz-Date: ", sizeof("X-Amz-Date: ") - 1);
	memcpy(out->amz_date + sizeof("X-Amz-Date: ") - 1, amz, 17);
	out->authorization = dynbuf_take(&auth);
	out->canonical_request = dynbuf_take(&creq);
	out->string_to_sign = dynbuf_take(&sts);
	explicit_bzero(sig, sizeof(sig));
	if (!out->authorization || !out->canonical_request || !out->string_to_sign ||
	    (token && !out->security_token)) {
		sigv4_signed_done(out);
		return -ENOMEM;
	}
	return 0;

fail:
	explicit_bzero(sig, sizeof(sig));
	dynbuf_free(&creq);
	dynbuf_free(&sts);
	dynbuf_free(&auth);
	dynbuf_free(&tok);
	sigv4_signed_done(out);
	return k;
}
