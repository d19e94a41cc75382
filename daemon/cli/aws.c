/* `jobwatchd get` and `jobwatchd list`: one-shot API calls through exactly
 * the daemon's stack (config, endpoint resolution, credential chain, signer,
 * retries, rate limit), printing one JSON object per line. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <uv.h>

#include "aws/client.h"
#include "aws/parse.h"
#include "aws/setup.h"
#include "cli/cli.h"
#include "config.h"
#include "kinds.h"
#include "log.h"
#include "util.h"

struct cli_opts {
	const char *config_path;
	bool config_explicit;
	const char *region;
	char arn_region[64]; /* get: the region all ARNs name ("" if they differ) */
	const char *collaboration_id;
	const char *model_arn;
	const char *membership_id;
	enum resource_kind kind; /* list: what to list */
	bool show_sensitive;
};

enum {
	OPT_REGION = 0x100,
	OPT_COLLABORATION_ID,
	OPT_MODEL_ARN,
	OPT_SHOW_SENSITIVE,
	OPT_KIND,
	OPT_MEMBERSHIP_ID,
};

static int parse_opts(const char *cmd, bool is_list, int argc, char **argv, struct cli_opts *o)
{
	static const struct option get_options[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"region", required_argument, NULL, OPT_REGION},
	    {"show-sensitive", no_argument, NULL, OPT_SHOW_SENSITIVE},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	static const struct option list_options[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"region", required_argument, NULL, OPT_REGION},
	    {"collaboration-id", required_argument, NULL, OPT_COLLABORATION_ID},
	    {"configured-audience-model-arn", required_argument, NULL, OPT_MODEL_ARN},
	    {"kind", required_argument, NULL, OPT_KIND},
	    {"membership-id", required_argument, NULL, OPT_MEMBERSHIP_ID},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	int c;

	*o = (struct cli_opts){.config_path = CONFIG_DEFAULT_PATH, .kind = KIND_AUDIENCE_GENERATION_JOB};
	optind = 0;
	opterr = 0;
	/* A leading ':' tells a missing value (':') from an unknown option. */
	while ((c = getopt_long(argc, argv, "+:c:h", is_list ? list_options : get_options, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config_path = optarg;
			o->config_explicit = true;
			break;
		case OPT_REGION:
			o->region = optarg;
			break;
		case OPT_SHOW_SENSITIVE:
			o->show_sensitive = true;
			break;
		case OPT_COLLABORATION_ID:
			if (!uuid_is_valid(optarg)) {
				fprintf(
				    stderr,
				    "jobwatchd: %s: --collaboration-id is not a collaboration id (UUID)\n",
				    cmd);
				return -EINVAL;
			}
			o->collaboration_id = optarg;
			break;
		case OPT_KIND:
			o->kind = resource_kind_from_string(optarg);
			if (o->kind == KIND_INVALID) {
				fprintf(stderr, "jobwatchd: %s: --kind: not a resource kind (%s)\n", cmd,
					resource_kind_names());
				return -EINVAL;
			}
			break;
		case OPT_MEMBERSHIP_ID:
			if (!uuid_is_valid(optarg)) {
				fprintf(stderr,
					"jobwatchd: %s: --membership-id is not a membership id (UUID)\n",
					cmd);
				return -EINVAL;
			}
			o->membership_id = optarg;
			break;
		case ':':
			fprintf(stderr, "jobwatchd: %s: option \"%s\" needs a value\n", cmd,
				argv[optind - 1]);
			return -EINVAL;
		case OPT_MODEL_ARN:
			if (!arn_is_configured_audience_model(optarg)) {
				fprintf(stderr,
					"jobwatchd: %s: --configured-audience-model-arn is not a configured "
					"audience model ARN\n",
					cmd);
				return -EINVAL;
			}
			o->model_arn = optarg;
			break;
		case 'h':
			if (is_list)
				printf(
				    "Usage: jobwatchd list [-c FILE] [--region R] [--collaboration-id ID]\n"
				    "                      [--configured-audience-model-arn ARN]\n"
				    "                      [--kind KIND [--membership-id ID]]\n");
			else
				printf("Usage: jobwatchd get [-c FILE] [--region R] [--show-sensitive] "
				       "ARN...\n");
			return 1;
		default:
			fprintf(stderr, "jobwatchd: %s: unknown or incomplete option \"%s\"\n", cmd,
				argv[optind - 1]);
			return -EINVAL;
		}
	}
	return 0;
}

/* The config file supplies [aws]; a missing default file means a run on
 * environment settings alone (handy on a workstation). */
static int load_settings(const char *cmd, const struct cli_opts *o, struct config **ret_cfg,
			 struct aws_settings *s)
{
	struct config_diag diag = {};
	int r;

	*ret_cfg = NULL;
	if (!o->config_explicit && access(o->config_path, F_OK) < 0 && errno == ENOENT) {
		aws_settings_defaults(s);
	} else {
		r = config_load_aws(o->config_path, ret_cfg, &diag);
		if (r < 0) {
			for (size_t i = 0; i < diag.n_errors; i++)
				fprintf(stderr, "jobwatchd: %s: %s\n", cmd, diag.errors[i]);
			if (diag.n_errors == 0)
				fprintf(stderr, "jobwatchd: %s: cannot load %s: %s\n", cmd, o->config_path,
					strerror(-r));
			config_diag_done(&diag);
			return r;
		}
		config_diag_done(&diag);
		aws_settings_from_config(*ret_cfg, s);
	}
	if (o->region)
		s->region = o->region;
	s->keep_sensitive = o->show_sensitive;
	return 0;
}

struct cli_run {
	uv_loop_t loop;
	struct config *cfg;
	struct aws_stack *stack;
	unsigned pending;
};

static int run_start(const char *cmd, const struct cli_opts *o, struct cli_run *run)
{
	struct aws_settings s;
	char err[512];
	int r;

	memset(run, 0, sizeof(*run));
	/* get and list hold credentials as run does: no core dump or
	 * same-user ptrace may copy them. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		log_debug_errno(-errno, "prctl(PR_SET_DUMPABLE) failed: %m");
	r = load_settings(cmd, o, &run->cfg, &s);
	if (r < 0)
		return r;
	r = uv_loop_init(&run->loop);
	if (r < 0) {
		fprintf(stderr, "jobwatchd: %s: cannot create an event loop: %s\n", cmd, uv_strerror(r));
		config_free(run->cfg);
		return r;
	}
	/* With no region anywhere (option, config, environment, profile),
	 * the ARNs name theirs, and every one of them the same. */
	if (o->arn_region[0])
		s.fallback_region = o->arn_region;
	r = aws_client_from_config(&run->loop, NULL, &s, &run->stack, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "jobwatchd: %s: %s\n", cmd, err);
		uv_run(&run->loop, UV_RUN_DEFAULT);
		uv_loop_close(&run->loop);
		config_free(run->cfg);
		return r;
	}
	return 0;
}

static void run_wait(struct cli_run *run)
{
	/* Not UV_RUN_DEFAULT: the credential chain may keep a refresh timer. */
	while (run->pending > 0)
		uv_run(&run->loop, UV_RUN_ONCE);
}

static void run_finish(struct cli_run *run)
{
	run->stack = aws_stack_free(run->stack);
	uv_run(&run->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&run->loop) < 0)
		log_debug("event loop still has handles at exit");
	config_free(run->cfg);
}

struct get_slot {
	struct cli_run *run;
	const char *arn;
	char *json;
	char message[1024];
	bool done;
};

static void on_get(void *userdata, const struct aws_result *res, struct job_observation *job)
{
	struct get_slot *slot = userdata;

	slot->done = true;
	slot->run->pending--;
	if (res->outcome == AWS_OK && job) {
		slot->json = job_observation_to_json(job);
		if (!slot->json)
			snprintf(slot->message, sizeof(slot->message), "out of memory");
	} else {
		aws_result_format(res, slot->message, sizeof(slot->message));
	}
	job_observation_free(job);
}

static int flush_stdout(const char *cmd)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "jobwatchd: %s: cannot write output: %s\n", cmd, strerror(errno));
		return -EIO;
	}
	return 0;
}

int cli_get(int argc, char **argv)
{
	struct cli_opts o;
	struct cli_run run;
	struct get_slot *slots;
	size_t n;
	int r, ret = 0;

	r = parse_opts("get", false, argc, argv, &o);
	if (r != 0)
		return r > 0 ? 0 : 2;
	n = (size_t)(argc - optind);
	if (n == 0) {
		fprintf(stderr, "jobwatchd: get: no ARN given\nUsage: jobwatchd get [-c FILE] [--region R] "
				"[--show-sensitive] ARN...\n");
		return 2;
	}
	for (size_t i = 0; i < n; i++)
		if (resource_kind_from_arn(argv[optind + (int)i], NULL) == KIND_INVALID) {
			char why[256];
			resource_kind_arn_problem(argv[optind + (int)i], why, sizeof(why));
			fprintf(stderr,
				"jobwatchd: get: \"%s\" is not an audience generation job ARN nor one of "
				"another watched kind: %s\n",
				argv[optind + (int)i], why);
			return 2;
		} else if (resource_kind_info(resource_kind_from_arn(argv[optind + (int)i], NULL))
			       ->list_only) {
			fprintf(
			    stderr, "jobwatchd: get: \"%s\" is a %s, which has no Get (see list --kind)\n",
			    argv[optind + (int)i],
			    resource_kind_info(resource_kind_from_arn(argv[optind + (int)i], NULL))->noun);
			return 2;
		}
	for (size_t i = 0; i < n; i++) {
		const char *in;
		size_t len = arn_region(argv[optind + (int)i], &in);
		if (!in || len == 0 || len >= sizeof(o.arn_region) ||
		    (i > 0 && (strlen(o.arn_region) != len || strncmp(o.arn_region, in, len) != 0))) {
			o.arn_region[0] = 0;
			break;
		}
		memcpy(o.arn_region, in, len);
		o.arn_region[len] = 0;
	}
	if (run_start("get", &o, &run) < 0)
		return 1;
	slots = calloc(n, sizeof(*slots));
	if (!slots) {
		run_finish(&run);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		const char *region = aws_client_region(run.stack->client), *in;
		size_t len;

		slots[i].run = &run;
		slots[i].arn = argv[optind + (int)i];
		if (!arn_in_region(slots[i].arn, region)) {
			/* Asked in the wrong region it could only fail, with an
			 * error that does not say why. */
			len = arn_region(slots[i].arn, &in);
			snprintf(
			    slots[i].message, sizeof(slots[i].message),
			    "the job is in region %.*s, but the region in use is %s (use --region %.*s)",
			    (int)len, in ? in : "", region, (int)len, in ? in : "");
			slots[i].done = true;
			continue;
		}
		r = aws_get_job(run.stack->client, slots[i].arn, on_get, &slots[i], NULL);
		if (r < 0) {
			snprintf(slots[i].message, sizeof(slots[i].message), "cannot start the request: %s",
				 strerror(-r));
			slots[i].done = true;
			continue;
		}
		run.pending++;
	}
	run_wait(&run);
	/* Argument order, whatever order the answers came in. */
	for (size_t i = 0; i < n; i++) {
		if (slots[i].json) {
			fputs(slots[i].json, stdout);
			fputc('\n', stdout);
		} else {
			fflush(stdout);
			fprintf(stderr, "jobwatchd: get %s: %s\n", slots[i].arn, slots[i].message);
			ret = 1;
		}
		free(slots[i].json);
	}
	free(slots);
	if (flush_stdout("get") < 0)
		ret = 1;
	run_finish(&run);
	return ret;
}

struct list_state {
	struct cli_run *run;
	size_t count;
	bool failed;
	bool write_failed;
};

static void on_page(void *userdata, const struct aws_result *res, struct job_observation **items, size_t n,
		    bool final)
{
	struct list_state *ls = userdata;

	for (size_t i = 0; i < n; i++) {
		char *js = job_observation_to_json(items[i]);
		if (!js || fputs(js, stdout) < 0 || fputc('\n', stdout) == EOF)
			ls->write_failed = true;
		free(js);
	}
	ls->count += n;
	aws_job_array_free(items, n);
	if (res->outcome != AWS_OK) {
		char msg[1024];
		aws_result_format(res, msg, sizeof(msg));
		fflush(stdout);
		fprintf(stderr, "jobwatchd: list: %s\n", msg);
		ls->failed = true;
	}
	if (final)
		ls->run->pending--;
}

int cli_list(int argc, char **argv)
{
	struct cli_opts o;
	struct cli_run run;
	struct list_state ls = {};
	int r;

	r = parse_opts("list", true, argc, argv, &o);
	if (r != 0)
		return r > 0 ? 0 : 2;
	if (optind < argc) {
		fprintf(stderr, "jobwatchd: list: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	/* Each List takes the filters of its own kind. */
	if (o.kind != KIND_AUDIENCE_GENERATION_JOB && (o.collaboration_id || o.model_arn)) {
		fprintf(stderr,
			"jobwatchd: list: --collaboration-id and --configured-audience-model-arn are "
			"for audience generation jobs\n");
		return 2;
	}
	if (resource_kind_info(o.kind)->list_per_parent) {
		fprintf(stderr,
			"jobwatchd: list: --kind %s is listed per trained model; [discover] lists it\n",
			resource_kind_to_string(o.kind));
		return 2;
	}
	if (resource_kind_info(o.kind)->membership_scoped != (o.membership_id != NULL)) {
		fprintf(stderr, "jobwatchd: list: --membership-id is %s --kind %s\n",
			o.membership_id ? "not for" : "needed with", resource_kind_to_string(o.kind));
		return 2;
	}
	if (run_start("list", &o, &run) < 0)
		return 1;
	ls.run = &run;
	if (o.kind == KIND_AUDIENCE_GENERATION_JOB)
		r = aws_list_jobs(run.stack->client, o.collaboration_id, o.model_arn, on_page, &ls, NULL);
	else
		r = aws_list_kind(run.stack->client, o.kind, o.membership_id, on_page, &ls, NULL);
	if (r < 0) {
		fprintf(stderr, "jobwatchd: list: cannot start the request: %s\n", strerror(-r));
		run_finish(&run);
		return 1;
	}
	run.pending = 1;
	run_wait(&run);
	if (flush_stdout("list") < 0 || ls.write_failed)
		ls.failed = true;
	run_finish(&run);
	return ls.failed ? 1 : 0;
}
