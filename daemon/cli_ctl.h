/* Control commands that talk to a running daemon over its control API
 * ([http] listen): status, watch, unwatch, retry.  Each takes argv with the
 * command name in argv[0] and returns the process exit code (0 ok, 1
 * failure or daemon unreachable, 2 usage). */
#ifndef JW_CLI_CTL_H
#define JW_CLI_CTL_H

#define CLI_CTL_DEFAULT_SOCKET "/run/jobwatchd/jobwatchd.sock"

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
