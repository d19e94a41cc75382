/* Temporary stub until the real subcommand exists; delete this file when
 * implementing cli_check_config(). */
#include <stdio.h>

#include "cli.h"

int cli_check_config(int argc, char **argv)
{
	fprintf(stderr, "jobwatchd: this command is not implemented yet\n");
	return 1;
}
