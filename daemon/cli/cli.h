/* The subcommands of jobwatchd, one file each under daemon/cli/.  Each takes
 * argv with the command name in argv[0] (run and --check-config: the whole
 * command line) and returns the process exit code (0 ok, 1 failure, 2
 * usage). */
#ifndef JW_CLI_H
#define JW_CLI_H

#define CLI_CTL_DEFAULT_SOCKET "/run/jobwatchd/jobwatchd.sock"

/* jobwatchd [run] [-c FILE] ...: the daemon in the foreground (cli/run.c) */
int cli_run(int argc, char **argv);
/* jobwatchd --check-config [-c FILE] (cli/check.c) */
int cli_check_config(int argc, char **argv);
/* jobwatchd get [-c FILE] [--region R] ARN... (cli/aws.c) */
int cli_get(int argc, char **argv);
/* jobwatchd list [-c FILE] [...] (cli/aws.c) */
int cli_list(int argc, char **argv);
/* jobwatchd test-alert [--hook NAME] (cli/test_alert.c) */
int cli_test_alert(int argc, char **argv);

/* Control commands that talk to a running daemon over its control API
 * ([http] listen), in cli/ctl.c. */
/* jobwatchd status [--socket PATH | --url URL --token-file F] [--all] [--json] */
int cli_status(int argc, char **argv);
/* jobwatchd watch [connection options] ARN... */
int cli_watch(int argc, char **argv);
/* jobwatchd unwatch [connection options] ARN... */
int cli_unwatch(int argc, char **argv);
/* jobwatchd retry [connection options] [HOOK]: waiting and parked
 * deliveries of one webhook (or every one) go out now. */
int cli_retry(int argc, char **argv);
/* jobwatchd forget [connection options] ARN...: DELETE ?forget=1 */
int cli_forget(int argc, char **argv);

#endif
