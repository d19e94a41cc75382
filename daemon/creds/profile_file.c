/* The AWS shared config / credentials file parser (an INI dialect).
 *
 * Rules follow botocore's configloader (Python configparser without inline
 * comments) and the SDK reference guide: "[default]" and "[profile name]" in
 * the config file, "[name]" in the credentials file, comment lines starting
 * with '#' or ';', "key = value" with keys case-insensitive, and nested
 * sub-sections ("s3 =" followed by indented "key = value" lines), kept as
 * "s3.key".  "[services name]" sections of the config file are kept apart
 * from profiles (a profile's `services = name` points at one).  Values may be
 * secrets, so everything is wiped on free.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "creds/parse.h"
#include "util.h"

#define INI_MAX_LINE	 8192
#define INI_MAX_PROFILES 4096
#define INI_MAX_KEYS	 256

struct ini_kv {
	char *key;
	char *value;
};

struct ini_profile {
	char *name;
	bool services; /* a [services name] section, not a profile */
	struct ini_kv *kv;
	size_t n_kv;
};

struct creds_ini {
	struct ini_profile *profiles;
	size_t n_profiles;
};

static void ini_err(char *err, size_t errsz, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void ini_err(char *err, size_t errsz, unsigned line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err && errsz)
		snprintf(err, errsz, "line %u: %s", line, msg);
}

struct creds_ini *creds_ini_free(struct creds_ini *f)
{
	if (!f)
		return NULL;
	for (size_t i = 0; i < f->n_profiles; i++) {
		struct ini_profile *p = &f->profiles[i];
		for (size_t j = 0; j < p->n_kv; j++) {
			free(p->kv[j].key);
			secret_free(p->kv[j].value);
		}
		free(p->kv);
		free(p->name);
	}
	free(f->profiles);
	free(f);
	return NULL;
}

static struct ini_profile *ini_find_kind(const struct creds_ini *f, const char *name, bool services)
{
	if (!f || !name)
		return NULL;
	for (size_t i = 0; i < f->n_profiles; i++)
		if (f->profiles[i].services == services && strcmp(f->profiles[i].name, name) == 0)
			return &f->profiles[i];
	return NULL;
}

static struct ini_profile *ini_find(const struct creds_ini *f, const char *name)
{
	return ini_find_kind(f, name, false);
}

static struct ini_profile *ini_add_profile(struct creds_ini *f, const char *name, bool services)
{
	struct ini_profile *p = ini_find_kind(f, name, services), *n;

	if (p)
		return p;
	if (f->n_profiles >= INI_MAX_PROFILES)
		return NULL;
	n = realloc(f->profiles, (f->n_profiles + 1) * sizeof(*n));
	if (!n)
		return NULL;
	f->profiles = n;
	p = &f->profiles[f->n_profiles];
	*p = (struct ini_profile){.name = strdup(name), .services = services};
	if (!p->name)
		return NULL;
	f->n_profiles++;
	return p;
}

/* Later keys win, like configparser's non-strict behaviour on merge. */
static int ini_set(struct ini_profile *p, const char *key, const char *value)
{
	struct ini_kv *n;
	char *v;

	v = strdup(value);
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_kv; i++)
		if (strcmp(p->kv[i].key, key) == 0) {
			secret_free(p->kv[i].value);
			p->kv[i].value = v;
			return 0;
		}
	if (p->n_kv >= INI_MAX_KEYS) {
		secret_free(v);
		return -E2BIG;
	}
	n = realloc(p->kv, (p->n_kv + 1) * sizeof(*n));
	if (!n) {
		secret_free(v);
		return -ENOMEM;
	}
	p->kv = n;
	p->kv[p->n_kv].key = strdup(key);
	if (!p->kv[p->n_kv].key) {
		secret_free(v);
		return -ENOMEM;
	}
	p->kv[p->n_kv].value = v;
	p->n_kv++;
	return 0;
}

/* Appends a continuation line to the last value (configparser multi-line). */
static int ini_append(struct ini_profile *p, const char *key, const char *more)
{
	for (size_t i = 0; i < p->n_kv; i++)
		if (strcmp(p->kv[i].key, key) == 0) {
			size_t a = strlen(p->kv[i].value), b = strlen(more);
			char *v = malloc(a + b + 2);
			if (!v)
				return -ENOMEM;
			memcpy(v, p->kv[i].value, a);
			v[a] = '\n';
			memcpy(v + a + 1, more, b + 1);
			secret_free(p->kv[i].value);
			p->kv[i].value = v;
			return 0;
		}
	return 0;
}

/* "[WORD name]" -> name, or NULL. */
static const char *ini_section_named(char *section, const char *word)
{
	size_t w = strlen(word);

	if (strncmp(section, word, w) == 0 && (section[w] == ' ' || section[w] == '\t')) {
		char *n = section + w;
		while (*n == ' ' || *n == '\t')
			n++;
		return *n ? n : NULL;
	}
	return NULL;
}

/* Maps a section header to a profile name (or, with *services set, the name
 * of a [services name] section), or NULL for sections kept by neither
 * (sso-session, or unprefixed names in the config file). */
static const char *ini_section_profile(char *section, enum creds_ini_kind kind, bool *services)
{
	*services = false;
	if (kind == CREDS_INI_CREDENTIALS)
		return section;
	if (strcmp(section, "default") == 0)
		return section;
	if (ini_section_named(section, "services")) {
		*services = true;
		return ini_section_named(section, "services");
	}
	return ini_section_named(section, "profile");
}

/* "key = value" under "parent =" is kept as "parent.key" (the services
 * section's "cleanroomsml =" / "  endpoint_url = ..." and the like). */
static int ini_set_nested(struct ini_profile *p, const char *parent, char *s, unsigned lineno, char *err,
			  size_t errsz)
{
	char *eq = strchr(s, '='), *key, key2[256];
	int n, r;

	/* botocore ignores what it cannot split; so did this parser. */
	if (!eq)
		return 0;
	*eq = '\0';
	key = strstrip(s);
	for (char *k = key; *k; k++)
		*k = (char)tolower((unsigned char)*k);
	n = snprintf(key2, sizeof(key2), "%s.%s", parent, key);
	if (!*key || n < 0 || (size_t)n >= sizeof(key2)) {
		ini_err(err, errsz, lineno, "bad key in a nested section");
		return -EINVAL;
	}
	r = ini_set(p, key2, strstrip(eq + 1));
	if (r < 0)
		ini_err(err, errsz, lineno, "%s",
			r == -E2BIG ? "too many keys in section" : "out of memory");
	return r;
}

static int ini_parse_line(struct creds_ini *f, char *line, unsigned lineno, enum creds_ini_kind kind,
			  struct ini_profile **cur, bool *in_section, char *lastkey, size_t lastkeysz,
			  bool *sub_section, char *err, size_t errsz)
{
	bool indented = line[0] == ' ' || line[0] == '\t';
	char *s = strstrip(line), *eq;
	int r;

	if (*s == '\0' || *s == '#' || *s == ';')
		return 0;

	if (indented && lastkey[0]) {
		/* Continuation of the previous key or a nested sub-section. */
		if (!*cur)
			return 0;
		if (*sub_section)
			return ini_set_nested(*cur, lastkey, s, lineno, err, errsz);
		r = ini_append(*cur, lastkey, s);
		if (r < 0)
			ini_err(err, errsz, lineno, "out of memory");
		return r;
	}

	if (*s == '[') {
		char *end = strchr(s, ']'), *rest, *name;
		const char *pname;
		bool services;

		if (!end) {
			ini_err(err, errsz, lineno, "section header without ']'");
			return -EINVAL;
		}
		rest = end + 1;
		while (*rest == ' ' || *rest == '\t')
			rest++;
		if (*rest && *rest != '#' && *rest != ';') {
			ini_err(err, errsz, lineno, "unexpected text after section header");
			return -EINVAL;
		}
		*end = '\0';
		name = strstrip(s + 1);
		if (!*name) {
			ini_err(err, errsz, lineno, "empty section name");
			return -EINVAL;
		}
		*in_section = true;
		lastkey[0] = '\0';
		*sub_section = false;
		pname = ini_section_profile(name, kind, &services);
		if (!pname) {
			*cur = NULL;
			return 0;
		}
		*cur = ini_add_profile(f, pname, services);
		if (!*cur) {
			ini_err(err, errsz, lineno, "too many profiles");
			return -E2BIG;
		}
		return 0;
	}

	eq = strchr(s, '=');
	if (!eq) {
		ini_err(err, errsz, lineno, "expected \"key = value\"");
		return -EINVAL;
	}
	if (!*in_section) {
		ini_err(err, errsz, lineno, "property outside of a section");
		return -EINVAL;
	}
	*eq = '\0';
	char *key = strstrip(s), *value = strstrip(eq + 1);
	if (!*key) {
		ini_err(err, errsz, lineno, "empty key");
		return -EINVAL;
	}
	for (char *k = key; *k; k++)
		*k = (char)tolower((unsigned char)*k);
	if (strlen(key) >= lastkeysz) {
		ini_err(err, errsz, lineno, "key too long");
		return -EINVAL;
	}
	memcpy(lastkey, key, strlen(key) + 1);
	*sub_section = *value == '\0';
	if (!*cur)
		return 0;
	r = ini_set(*cur, key, value);
	if (r < 0)
		ini_err(err, errsz, lineno, "%s",
			r == -E2BIG ? "too many keys in section" : "out of memory");
	return r;
}

int creds_ini_parse(const char *text, size_t len, enum creds_ini_kind kind, struct creds_ini **ret,
		    char *err, size_t errsz)
{
	struct creds_ini *f;
	struct ini_profile *cur = NULL;
	bool in_section = false, sub_section = false;
	char lastkey[128] = "";
	char *line;
	unsigned lineno = 0;
	size_t pos = 0;
	int r = 0;

	if (kind != CREDS_INI_CREDENTIALS && kind != CREDS_INI_CONFIG)
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	line = malloc(INI_MAX_LINE);
	if (!f || !line) {
		free(f);
		free(line);
		return -ENOMEM;
	}
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		pos = 3; /* UTF-8 BOM written by some Windows editors */
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

		lineno++;
		if (n >= INI_MAX_LINE) {
			ini_err(err, errsz, lineno, "line longer than %d bytes", INI_MAX_LINE - 1);
			r = -E2BIG;
			break;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		if (memchr(line, '\0', n)) {
			ini_err(err, errsz, lineno, "NUL byte");
			r = -EINVAL;
			break;
		}
		if (n > 0 && line[n - 1] == '\r')
			line[n - 1] = '\0';
		pos += n + (nl ? 1 : 0);
		r = ini_parse_line(f, line, lineno, kind, &cur, &in_section, lastkey, sizeof(lastkey),
				   &sub_section, err, errsz);
		if (r < 0)
			break;
	}
	explicit_bzero(line, INI_MAX_LINE);
	free(line);
	if (r < 0) {
		creds_ini_free(f);
		return r;
	}
	*ret = f;
	return 0;
}

bool creds_ini_has_profile(const struct creds_ini *f, const char *profile)
{
	return ini_find(f, profile) != NULL;
}

const char *creds_ini_get(const struct creds_ini *f, const char *profile, const char *key)
{
	const struct ini_profile *p = ini_find(f, profile);

	if (!p)
		return NULL;
	for (size_t i = 0; i < p->n_kv; i++)
		if (strcmp(p->kv[i].key, key) == 0)
			return p->kv[i].value;
	return NULL;
}

const char *creds_ini_get_services(const struct creds_ini *f, const char *name, const char *key)
{
	const struct ini_profile *p = ini_find_kind(f, name, true);

	if (!p)
		return NULL;
	for (size_t i = 0; i < p->n_kv; i++)
		if (strcmp(p->kv[i].key, key) == 0)
			return p->kv[i].value;
	return NULL;
}

size_t creds_ini_n_profiles(const struct creds_ini *f)
{
	size_t n = 0;

	for (size_t i = 0; f && i < f->n_profiles; i++)
		n += !f->profiles[i].services;
	return n;
}
