/* Where a configuration message points (file, line, section, key) and the
 * list of errors and warnings a load returns. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "util.h"

#define CONFIG_MAX_MESSAGES 1000

void config_diag_done(struct config_diag *diag)
{
	if (!diag)
		return;
	for (size_t i = 0; i < diag->n_errors; i++)
		free(diag->errors[i]);
	for (size_t i = 0; i < diag->n_warnings; i++)
		free(diag->warnings[i]);
	free(diag->errors);
	free(diag->warnings);
	*diag = (struct config_diag){0};
}

static int diag_push(char ***list, size_t *n, char *msg)
{
	char **l = realloc(*list, (*n + 1) * sizeof(char *));
	if (!l) {
		free(msg);
		return -ENOMEM;
	}
	l[(*n)++] = msg;
	*list = l;
	return 0;
}

void config_vreport(struct config_parser *p, bool warning, const struct config_loc *loc, const char *label,
		    const char *key, const char *fmt, va_list ap)
{
	struct dynbuf b;
	int r = 0;

	if (!warning) {
		p->n_errors++;
		if (p->n_errors > CONFIG_MAX_MESSAGES) {
			p->n_suppressed++;
			return;
		}
	}
	if (!p->diag)
		return;
	dynbuf_init(&b, 4096);
	if (loc && loc->file)
		r = loc->line > 0 ? dynbuf_appendf(&b, "%s:%u: ", loc->file, loc->line)
				  : dynbuf_appendf(&b, "%s: ", loc->file);
	if (r >= 0 && label)
		r = dynbuf_appendf(&b, key ? "[%s] " : "[%s]: ", label);
	if (r >= 0 && key)
		r = dynbuf_appendf(&b, "%s: ", key);
	if (r >= 0) {
		char msg[1024];
		vsnprintf(msg, sizeof(msg), fmt, ap);
		r = dynbuf_appends(&b, msg);
	}
	if (r < 0 || !b.data) {
		dynbuf_free(&b);
		p->oom = true;
		return;
	}
	if (warning)
		r = diag_push(&p->diag->warnings, &p->diag->n_warnings, dynbuf_take(&b));
	else
		r = diag_push(&p->diag->errors, &p->diag->n_errors, dynbuf_take(&b));
	if (r < 0)
		p->oom = true;
}

void config_report(struct config_parser *p, bool warning, const struct config_loc *loc, const char *label,
		   const char *key, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	config_vreport(p, warning, loc, label, key, fmt, ap);
	va_end(ap);
}

void config_quote(const char *v, char *buf, size_t size)
{
	size_t j = 0, n = strlen(v);

	/* Values are echoed only for keys that never hold secrets, and even
	 * then bounded and reduced to printable ASCII so a stray binary file
	 * cannot mess up a terminal. */
	buf[j++] = '"';
	for (size_t i = 0; i < n && j + 5 < size; i++) {
		unsigned char ch = (unsigned char)v[i];
		buf[j++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	if (j + 5 >= size && n > 0) {
		memcpy(buf + j, "...", 3);
		j += 3;
	}
	buf[j++] = '"';
	buf[j] = 0;
}

static const char *const section_names[_CONFIG_SECTION_MAX] = {
    [CONFIG_SECTION_AWS] = "aws",
    [CONFIG_SECTION_POLL] = "poll",
    [CONFIG_SECTION_JOBS] = "jobs",
    [CONFIG_SECTION_DISCOVER] = "discover",
    [CONFIG_SECTION_STATE] = "state",
    [CONFIG_SECTION_JOURNAL] = "journal",
    [CONFIG_SECTION_WEBHOOK] = "webhook",
    [CONFIG_SECTION_HTTP] = "http",
    [CONFIG_SECTION_EVENTBRIDGE] = "eventbridge",
};

const char *config_section_name(enum config_section s)
{
	return s >= 0 && s < _CONFIG_SECTION_MAX ? section_names[s] : NULL;
}

const char *config_intern_file(struct config_parser *p, const char *path)
{
	char **l = realloc(p->files, (p->n_files + 1) * sizeof(char *));
	if (!l)
		return NULL;
	p->files = l;
	l[p->n_files] = strdup(path);
	if (!l[p->n_files])
		return NULL;
	return l[p->n_files++];
}

void config_report_suppressed(struct config_parser *p)
{
	char *m;

	if (p->n_suppressed == 0 || !p->diag)
		return;
	if (asprintf(&m, "... and %zu more errors", p->n_suppressed) < 0 ||
	    diag_push(&p->diag->errors, &p->diag->n_errors, m) < 0)
		p->oom = true;
}
