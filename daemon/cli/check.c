/* jobwatchd --check-config [-c FILE] [--strict]: validate the configuration
 * like `nginx -t`.  Prints every error (never a secret: config_load() keeps
 * values of secret-bearing keys out of its messages). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "config.h"
#include "notify/sign.h"

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

int cli_check_config(int argc, char **argv)
{
	static const struct option options[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"strict", no_argument, NULL, 's'},
	    {"check-config", no_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *path = CONFIG_DEFAULT_PATH;
	struct config_diag diag = {0};
	struct config *c = NULL;
	bool strict = false;
	size_t bad = 0;
	int opt, r;

	optind = 0; /* reset getopt: main() may have looked at argv already */
	opterr = 1;
	while ((opt = getopt_long(argc, argv, "c:t", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 's':
			strict = true;
			break;
		case 't':
			break;
		case 'h':
			printf("Usage: jobwatchd --check-config [-c FILE] [--strict]\n"
			       "  -c, --config FILE  the configuration (default %s)\n"
			       "  --strict           secret files readable by others are errors\n"
			       "Exit 0 when valid, 1 with every error as FILE:LINE.\n",
			       CONFIG_DEFAULT_PATH);
			return 0;
		default:
			fprintf(stderr, "Usage: jobwatchd --check-config [-c FILE] [--strict]\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "jobwatchd: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}

	r = config_load(path, strict, &c, &diag);
	for (size_t i = 0; i < diag.n_warnings; i++)
		fprintf(stderr, "warning: %s\n", diag.warnings[i]);
	if (r < 0) {
		for (size_t i = 0; i < diag.n_errors; i++)
			fprintf(stderr, "%s\n", diag.errors[i]);
		if (r == -EINVAL)
			fprintf(stderr, "jobwatchd: configuration has %zu %s\n", diag.n_errors,
				plural(diag.n_errors, "error", "errors"));
		else
			fprintf(stderr, "jobwatchd: cannot load the configuration: %s\n", strerror(-r));
		config_diag_done(&diag);
		return 1;
	}
	/* The daemon reads each hook's secret and headers file when it starts:
	 * check them the same way here, so that "OK" means the service starts.
	 * Messages name the file and the expected form, never the content. */
	for (size_t i = 0; i < c->n_webhooks; i++) {
		const struct config_webhook *w = &c->webhooks[i];
		struct sign_key key = {0};
		char **headers = NULL, err[300];

		if (w->secret_file && sign_key_load_file(w->secret_file, &key, err, sizeof(err)) < 0) {
			fprintf(stderr,
				"%s: [webhook \"%s\"] secret_file: %s (expected whsec_ and base64)\n", path,
				w->name, err);
			bad++;
		}
		sign_key_wipe(&key);
		if (w->headers_file &&
		    sign_headers_load_file(w->headers_file, &headers, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s: [webhook \"%s\"] headers_file: %s\n", path, w->name, err);
			bad++;
		}
		sign_headers_free(headers);
	}
	if (bad > 0) {
		fprintf(stderr, "jobwatchd: configuration has %zu %s\n", bad,
			plural(bad, "error", "errors"));
		config_free(c);
		config_diag_done(&diag);
		return 1;
	}
	printf("jobwatchd: configuration OK: %zu %s, %zu discover %s, %zu %s", c->n_arns,
	       plural(c->n_arns, "job", "jobs"), c->n_discover, plural(c->n_discover, "source", "sources"),
	       c->n_webhooks, plural(c->n_webhooks, "webhook", "webhooks"));
	if (c->n_eventbridges > 0)
		printf(", %zu %s", c->n_eventbridges,
		       plural(c->n_eventbridges, "EventBridge sink", "EventBridge sinks"));
	printf(" (%s)\n", path);
	config_free(c);
	config_diag_done(&diag);
	return 0;
}
