/* Temporary stub until the real subcommand exists; delete this file when
 * implementing cli_list(). */
#include <stdio.h>

#include "cli.h"

int cli_list(int argc, char **argv)
{
	fprintf(stderr, "jobwatchd: this command is not implemented yet\n");
	return 1;
}
