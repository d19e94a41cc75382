/* Subcommands.  Each returns the process exit code. */
#ifndef JW_CLI_H
#define JW_CLI_H

int cli_check_config(int argc, char **argv); /* jobwatchd --check-config [-c FILE]  (daemon/cli_check.c) */
int cli_get(int argc, char **argv); /* jobwatchd get [-c FILE] [--region R] ARN...  (daemon/aws/cli_aws.c) */
int cli_list(int argc, char **argv); /* jobwatchd list [-c FILE] [...]  (daemon/aws/cli_aws.c) */
int cli_run(int argc, char **argv);  /* jobwatchd [run] -c FILE  (daemon/engine.c) */
int cli_test_alert(int argc,
		   char **argv); /* jobwatchd test-alert [--hook NAME]  (daemon/cli_test_alert.c) */

#endif
