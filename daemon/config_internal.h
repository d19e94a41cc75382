/* The parser state shared by daemon/config*.c only, and their helpers.
 * Calls go one way: config.c (files, lines, sections, cross-key checks) ->
 * config_keys.c (one KEY = VALUE) -> config_report.c (locations, messages). */
#ifndef JW_CONFIG_INTERNAL_H
#define JW_CONFIG_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include <stdarg.h>
#include <stdio.h>

struct config_loc {
	const char *file;
	unsigned line; /* 0 = the whole file */
};

/* A discover or webhook section: where it starts (for missing-key errors)
 * and whether its required key was given at all (a bad value was reported
 * already; "missing" on top would be noise). */
struct config_named {
	struct config_loc header;
	bool key_seen;
};

enum config_section {
	CONFIG_SECTION_AWS,
	CONFIG_SECTION_POLL,
	CONFIG_SECTION_JOBS,
	CONFIG_SECTION_DISCOVER,
	CONFIG_SECTION_STATE,
	CONFIG_SECTION_JOURNAL,
	CONFIG_SECTION_WEBHOOK,
	CONFIG_SECTION_HTTP,
	CONFIG_SECTION_EVENTBRIDGE,
	_CONFIG_SECTION_MAX,
	CONFIG_SECTION_INVALID = -1,
};

struct config_parser {
	struct config *c;
	struct config_diag *diag;
	bool strict;
	bool oom;
	size_t n_errors;
	size_t n_suppressed;
	bool arn_cap_reported;
	bool aws_only; /* config_load_aws(): skip the sinks' and listener's files */

	char **files; /* every file name a location points at */
	size_t n_files;

	/* The file being read. */
	const char *file;
	char *dir; /* relative paths in values are taken from here */
	FILE *f;
	char *linebuf;
	size_t linecap;
	unsigned line;
	size_t bytes;

	/* The current section. */
	bool in_section;
	enum config_section kind; /* _INVALID after a bad header: its keys are skipped */
	size_t idx;		  /* into discover[] or webhooks[] */
	char label[80];		  /* "aws", "webhook \"ops\"" */

	struct config_named *discover_locs;
	struct config_named *webhook_locs;
	struct config_eventbridge_loc {
		struct config_loc header;
		struct config_loc bus; /* line 0 while event_bus is the default */
	} * eventbridge_locs;
	/* Within the file being read: where each unnamed section and each
	 * (section, key) was first seen, to report repeats. */
	struct config_loc section_seen[_CONFIG_SECTION_MAX];
	struct config_seen_key {
		int kind;
		size_t idx;
		const void *key;
		struct config_loc loc;
	} * seen_keys;
	size_t n_seen_keys;
	struct config_loc fips_loc, endpoint_loc, listen_loc;

	/* The first ARN, and the first ARN in another region than that one. */
	struct config_arn_seen {
		bool set;
		char region[64];
		struct config_loc loc;
		char label[80];
		const char *key;
	} arn_first, arn_other;
};

/* ---- config_report.c: locations and messages ---- */

/* [eventbridge "NAME"] (config_eventbridge.c): adds the section (or finds
 * it, reporting a repeat in one file) and returns its index, or a negative
 * errno. */
int config_eventbridge_add(struct config_parser *p, const char *name, const struct config_loc *here);
/* The checks that need the whole file: a bus ARN in another region than
 * [aws] region. */
void config_eventbridge_check(struct config_parser *p);
void config_eventbridge_free(struct config *c);

/* Keeps a file name alive for the locations that point at it. */
const char *config_intern_file(struct config_parser *p, const char *path);

void config_report(struct config_parser *p, bool warning, const struct config_loc *loc, const char *label,
		   const char *key, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void config_vreport(struct config_parser *p, bool warning, const struct config_loc *loc, const char *label,
		    const char *key, const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));
/* After the last file: "... and N more errors" past the cap. */
void config_report_suppressed(struct config_parser *p);
/* Bounded, printable, double-quoted copy of a (non-secret) value. */
void config_quote(const char *v, char *buf, size_t size);
const char *config_section_name(enum config_section s);
/* ---- config_keys.c: the keys ---- */

/* Sets the defaults of a discover or webhook section (base is the element),
 * or of every unnamed section when kind is _INVALID (base is the config). */
void config_apply_defaults(struct config_parser *p, enum config_section kind, void *base);
/* Handles one KEY = VALUE of the current section; an empty value restores
 * the default (and empties a repeatable key's list). */
void config_set_key(struct config_parser *p, const char *name, const char *value);

#endif
