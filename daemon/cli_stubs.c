/* Temporary: subcommands not built yet.  Each real implementation deletes
 * its stub from this file. */
#include <stdio.h>

#include "cli.h"

int cli_check_config(int argc, char **argv)
{
	fprintf(stderr, "jobwatchd: --check-config is not implemented yet\n");
	return 1;
}

int cli_get(int argc, char **argv)
{
	fprintf(stderr, "jobwatchd: get is not implemented yet\n");
	return 1;
}

int cli_list(int argc, char **argv)
{
	fprintf(stderr, "jobwatchd: list is not implemented yet\n");
	return 1;
}

int cli_run(int argc, char **argv)
{
	fprintf(stderr, "jobwatchd: run is not implemented yet\n");
	return 1;
}
