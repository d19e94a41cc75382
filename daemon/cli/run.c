/* jobwatchd [run]: the options of the daemon, the process settings it needs,
 * then the engine in the foreground (as systemd runs it, Type=notify). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config.h"
#include "engine.h"
#include "log.h"

struct run_options {
	const char *config_path;
	int log_level; /* -1 = default */
	enum log_target log_target;
	bool strict;
};

static void run_usage(void)
{
	fprintf(stderr,
		"Usage: jobwatchd [run] [-c FILE] [--log-level LEVEL] [--log-target auto|stderr|journal] "
		"[--log-format text|json] [--strict]\n");
}

static void run_help(void)
{
	printf("Usage: jobwatchd [run] [-c FILE] [--log-level LEVEL] [--log-target TARGET] "
	       "[--log-format FORMAT] [--strict]\n"
	       "  -c, --config FILE     the configuration (default %s)\n"
	       "  --log-level LEVEL     err, warning, notice, info (default), debug\n"
	       "  --log-target TARGET   auto (default), stderr, journal\n"
	       "  --log-format FORMAT   text (default) or json, for stderr\n"
	       "  --strict              secret files readable by others are errors\n"
	       "Watches the jobs in the foreground, as systemd runs it (Type=notify).\n",
	       CONFIG_DEFAULT_PATH);
}

/* Returns -1 to go on, or the exit code (0 after --help, 2 on bad usage). */
static int run_parse(int argc, char **argv, struct run_options *o)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"log-level", required_argument, NULL, 'l'},
	    {"log-target", required_argument, NULL, 'T'},
	    {"log-format", required_argument, NULL, 'F'},
	    {"strict", no_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	*o = (struct run_options){.config_path = CONFIG_DEFAULT_PATH, .log_level = -1};
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config_path = optarg;
			break;
		case 'l':
			o->log_level = log_level_from_string(optarg);
			if (o->log_level < 0) {
				fprintf(stderr, "jobwatchd: unknown log level \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 'T':
			o->log_target = log_target_from_string(optarg);
			if (o->log_target == LOG_TARGET_INVALID) {
				fprintf(stderr, "jobwatchd: unknown log target \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 'F':
			if (log_format_from_string(optarg) == LOG_FORMAT_INVALID) {
				fprintf(stderr, "jobwatchd: unknown log format \"%s\" (text or json)\n",
					optarg);
				return 2;
			}
			log_set_format(log_format_from_string(optarg));
			break;
		case 's':
			o->strict = true;
			break;
		case 'h':
			run_help();
			return 0;
		default:
			run_usage();
			return 2;
		}
	}
	if (optind < argc) {
		run_usage();
		return 2;
	}
	return -1;
}

int cli_run(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = SIG_IGN};
	struct run_options o;
	int r;

	r = run_parse(argc, argv, &o);
	if (r >= 0)
		return r;
	log_setup(o.log_target, o.log_level);
	sigaction(SIGPIPE, &sa, NULL);
	/* The process holds AWS credentials and webhook secrets: no core dump
	 * (and no ptrace by other processes of the same user) may copy them. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		log_debug_errno(errno, "prctl(PR_SET_DUMPABLE) failed: %m");
	srandom((unsigned)(time(NULL) ^ getpid()));
	return engine_main(o.config_path, o.strict);
}
