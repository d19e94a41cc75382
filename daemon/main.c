/* jobwatchd: command-line dispatch.  The daemon proper is cli_run(). */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "log.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage:\n"
	    "  jobwatchd [run] [-c FILE] [--log-level LEVEL] [--log-target auto|stderr|journal]\n"
	    "                  [--log-format text|json]\n"
	    "                               watch jobs in the foreground (as systemd runs it)\n"
	    "  jobwatchd --check-config [-c FILE] [--strict]\n"
	    "                               validate the configuration and exit\n"
	    "  jobwatchd get [-c FILE] [--region R] ARN...\n"
	    "                               print jobs as JSON, one per line\n"
	    "  jobwatchd list [-c FILE] [--collaboration-id ID] [--configured-audience-model-arn ARN]\n"
	    "                 [--kind KIND [--membership-id ID]]\n"
	    "                               print job summaries across all pages\n"
	    "  jobwatchd status [--socket PATH | --url URL --token-file FILE] [ARN...]\n"
	    "                               print the watched jobs of a running daemon, or the\n"
	    "                               named jobs in detail with their history\n"
	    "  jobwatchd watch ARN... | unwatch ARN... | forget ARN...\n"
	    "                               add, unwatch (state kept) or forget jobs through the\n"
	    "                               control API\n"
	    "  jobwatchd retry [HOOK]       send a webhook's waiting and parked deliveries now\n"
	    "  jobwatchd test-alert [-c FILE] [--hook NAME]\n"
	    "                               send a test event through the journal, every hook\n"
	    "                               and every EventBridge bus\n"
	    "  jobwatchd --version | --help\n"
	    "\nThe default FILE is /etc/jobwatchd/jobwatchd.conf.  See jobwatchd(8), jobwatchd.conf(5).\n");
}

int main(int argc, char **argv)
{
	log_setup(LOG_TARGET_AUTO, -1);

	/* --version and --help are the program's only before a command word;
	 * after one ("jobwatchd get --help") they are the command's. */
	bool before_command = true;

	for (int i = 1; i < argc; i++) {
		if (argv[i][0] != '-' && (i == 1 || strcmp(argv[i - 1], "-c") != 0))
			before_command = false;
		if (!before_command && strcmp(argv[i], "--check-config") != 0 && strcmp(argv[i], "-t") != 0)
			continue;
		if (strcmp(argv[i], "--version") == 0) {
			/* Where this build comes from: the Debian package version
			 * (for a .deb) and the git commit, when known. */
			printf("jobwatchd %s%s%s%s%s%s\n", JW_VERSION,
			       JW_PACKAGE_VERSION[0] ? " (Debian package " : "", JW_PACKAGE_VERSION,
			       JW_PACKAGE_VERSION[0] ? ")" : "", JW_GIT_COMMIT[0] ? " git " : "",
			       JW_GIT_COMMIT);
			return 0;
		}
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--check-config") == 0 || strcmp(argv[i], "-t") == 0)
			return cli_check_config(argc, argv);
	}
	if (argc > 1 && argv[1][0] != '-') {
		const char *cmd = argv[1];
		if (strcmp(cmd, "run") == 0)
			return cli_run(argc - 1, argv + 1);
		if (strcmp(cmd, "get") == 0)
			return cli_get(argc - 1, argv + 1);
		if (strcmp(cmd, "list") == 0)
			return cli_list(argc - 1, argv + 1);
		if (strcmp(cmd, "status") == 0)
			return cli_status(argc - 1, argv + 1);
		if (strcmp(cmd, "watch") == 0)
			return cli_watch(argc - 1, argv + 1);
		if (strcmp(cmd, "unwatch") == 0)
			return cli_unwatch(argc - 1, argv + 1);
		if (strcmp(cmd, "retry") == 0)
			return cli_retry(argc - 1, argv + 1);
		if (strcmp(cmd, "test-alert") == 0)
			return cli_test_alert(argc - 1, argv + 1);
		if (strcmp(cmd, "forget") == 0)
			return cli_forget(argc - 1, argv + 1);
		fprintf(stderr, "jobwatchd: unknown command \"%s\"\n", cmd);
		usage(stderr);
		return 2;
	}
	return cli_run(argc, argv);
}
