/* config.c, config_keys.c, config_report.c, config_net.c and cli/check.c: defaults, every key,
 * validation, drop-ins, arn_file, diagnostics, the webhook `on` filter. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "jwtest.h"
#include "cli/cli.h"
#include "config.h"
#include "util.h"

#define JOB   "arn:aws:cleanrooms-ml:us-east-1:123456789012:audience-generation-job/"
#define UUID1 "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"

static char tmpdir[64];

static int setup(void **state)
{
	jwt_tmpdir("test-config", tmpdir, sizeof(tmpdir));
	unsetenv("STATE_DIRECTORY");
	unsetenv("CREDENTIALS_DIRECTORY");
	return 0;
}

static int teardown(void **state)
{
	jwt_rmtree(tmpdir);
	return 0;
}

/* Writes tmpdir/name (creating one level of directory) and returns the path
 * in a static buffer. */
static const char *write_file(const char *name, const char *content, mode_t mode)
{
	static char path[256];
	char dir[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = 0;
	mkdir(dir, 0755);
	f = fopen(path, "we");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

/* Loads content as tmpdir/NAME.conf; on failure the diagnostics stay in
 * *diag for the caller. */
static int load_string(const char *name, const char *content, bool strict, struct config **c,
		       struct config_diag *diag)
{
	const char *path = write_file(name, content, 0644);
	*diag = (struct config_diag){0};
	return config_load(path, strict, c, diag);
}

static struct config *load_ok(const char *content)
{
	struct config_diag diag;
	struct config *c = NULL;
	int r = load_string("ok.conf", content, false, &c, &diag);
	for (size_t i = 0; i < diag.n_errors; i++)
		print_message("unexpected error: %s\n", diag.errors[i]);
	assert_int_equal(r, 0);
	assert_non_null(c);
	config_diag_done(&diag);
	return c;
}

static bool diag_has(const struct config_diag *d, const char *fragment)
{
	for (size_t i = 0; i < d->n_errors; i++)
		if (strstr(d->errors[i], fragment))
			return true;
	return false;
}

static void test_defaults(void **state)
{
	struct config *c = load_ok("# nothing\n");

	assert_null(c->aws.region);
	assert_null(c->aws.profile);
	assert_null(c->aws.endpoint);
	assert_null(c->aws.ca_file);
	assert_false(c->aws.dualstack);
	assert_false(c->aws.fips);
	assert_true(c->aws.max_rps == 5.0);
	assert_int_equal(c->aws.max_connections, 8);
	assert_int_equal(c->aws.timeout_ms, 15000);
	assert_int_equal(c->poll.interval_ms, 30000);
	assert_int_equal(c->poll.settled_interval_ms, 3600000);
	assert_int_equal(c->poll.failed_interval_ms, 0);
	assert_true(c->poll.jitter > 0.0999 && c->poll.jitter < 0.1001);
	assert_int_equal(c->poll.stuck_after_ms, 12 * 3600000ull);
	assert_int_equal(c->poll.not_found_grace_ms, 600000);
	assert_int_equal(c->n_arns, 0);
	assert_int_equal(c->n_discover, 0);
	assert_int_equal(c->n_webhooks, 0);
	assert_string_equal(c->state_path, "./jobwatchd.db");
	assert_true(c->journal_enabled);
	assert_null(c->http.listen);
	assert_null(c->http.token_file);
	assert_int_equal(c->http.max_jobs, 1000);
	assert_non_null(strstr(c->path, "ok.conf"));
	config_free(c);
	assert_null(config_free(NULL));
}

static void test_every_key(void **state)
{
	struct config *c;
	char conf[4096];

	write_file("etc/ca.pem", "not checked\n", 0644);
	write_file("etc/jobs.txt", "# comment\n\n" JOB "from-file\n", 0644);
	write_file("etc/ops.secret", "whsec_x\n", 0600);
	write_file("etc/ops.headers", "X-A: b\n", 0600);
	write_file("etc/http.token", "t\n", 0600);
	snprintf(
	    conf, sizeof(conf),
	    "[aws]\nregion = us-east-1\nprofile = prod\nendpoint = https://example.com:8443/\n"
	    "ca_file = ca.pem\ndualstack = yes\nfips = no\nmax_rps = 0.5\nmax_connections = 1024\n"
	    "timeout = 500ms\n"
	    "[poll]\ninterval = 1m\nsettled_interval = 0\nfailed_interval = 6h\njitter = 25%%\n"
	    "stuck_after = 0\nnot_found_grace = 30s\n"
	    "[jobs]\narn = " JOB "a\narn_file = jobs.txt\n"
	    "[discover \"d1\"]\ncollaboration_id = " UUID1 "\ninterval = 10m\n"
	    "[discover \"d2\"]\nconfigured_audience_model_arn = "
	    "arn:aws:cleanrooms-ml:us-east-1:123456789012:configured-audience-model/m1\n"
	    "[state]\npath = /var/lib/x.db\n[journal]\nenabled = off\n"
	    "[webhook \"w\"]\nurl = https://hooks.example.com/a\nformat = alertmanager\n"
	    "secret_file = ops.secret\nheaders_file = %s/etc/ops.headers\non = job.stuck CREATE_FAILED\n"
	    "timeout = 2s\nmax_pending = 7\nmax_age = 2h\nmax_in_flight = 9\n"
	    "[http]\nlisten = [::1]:9100\ntoken_file = http.token\n",
	    tmpdir);
	{
		struct config_diag diag;
		const char *path = write_file("etc/every.conf", conf, 0644);
		assert_int_equal(config_load(path, true, &c, &diag), 0);
		for (size_t i = 0; i < diag.n_warnings; i++)
			print_message("unexpected warning: %s\n", diag.warnings[i]);
		assert_int_equal(diag.n_warnings, 0);
		config_diag_done(&diag);
	}
	assert_string_equal(c->aws.region, "us-east-1");
	assert_string_equal(c->arns_region, "us-east-1");
	assert_non_null(strstr(c->arns_region_at, "every.conf:"));
	assert_string_equal(c->aws.profile, "prod");
	assert_string_equal(c->aws.endpoint, "https://example.com:8443/");
	assert_non_null(strstr(c->aws.ca_file, "/etc/ca.pem"));
	assert_true(c->aws.dualstack);
	assert_false(c->aws.fips);
	assert_true(c->aws.max_rps == 0.5);
	assert_int_equal(c->aws.max_connections, 1024);
	assert_int_equal(c->aws.timeout_ms, 500);
	assert_int_equal(c->poll.interval_ms, 60000);
	assert_int_equal(c->poll.settled_interval_ms, 0);
	assert_int_equal(c->poll.failed_interval_ms, 6 * 3600000ull);
	assert_true(c->poll.jitter > 0.2499 && c->poll.jitter < 0.2501);
	assert_int_equal(c->poll.stuck_after_ms, 0);
	assert_int_equal(c->poll.not_found_grace_ms, 30000);
	assert_int_equal(c->n_arns, 2);
	assert_string_equal(c->arns[0], JOB "a");
	assert_string_equal(c->arns[1], JOB "from-file");
	assert_int_equal(c->n_discover, 2);
	assert_string_equal(c->discover[0].name, "d1");
	assert_string_equal(c->discover[0].collaboration_id, UUID1);
	assert_null(c->discover[0].configured_audience_model_arn);
	assert_int_equal(c->discover[0].interval_ms, 600000);
	assert_string_equal(c->discover[1].name, "d2");
	assert_non_null(c->discover[1].configured_audience_model_arn);
	assert_int_equal(c->discover[1].interval_ms, 300000);
	assert_string_equal(c->state_path, "/var/lib/x.db");
	assert_false(c->journal_enabled);
	assert_int_equal(c->n_webhooks, 1);
	assert_string_equal(c->webhooks[0].name, "w");
	assert_string_equal(c->webhooks[0].url, "https://hooks.example.com/a");
	assert_int_equal(c->webhooks[0].format, PAYLOAD_FORMAT_ALERTMANAGER);
	assert_non_null(strstr(c->webhooks[0].secret_file, "/etc/ops.secret"));
	assert_non_null(strstr(c->webhooks[0].headers_file, "/etc/ops.headers"));
	assert_false(c->webhooks[0].on_all);
	assert_int_equal(c->webhooks[0].on_types, 1u << EVENT_JOB_STUCK);
	assert_int_equal(c->webhooks[0].on_statuses, 1u << JOB_STATUS_CREATE_FAILED);
	assert_int_equal(c->webhooks[0].timeout_ms, 2000);
	assert_int_equal(c->webhooks[0].max_pending, 7);
	assert_int_equal(c->webhooks[0].max_age_ms, 2 * 3600000ull);
	assert_int_equal(c->webhooks[0].max_in_flight, 9);
	assert_string_equal(c->http.listen, "[::1]:9100");
	assert_non_null(strstr(c->http.token_file, "/etc/http.token"));
	config_free(c);
}

/* One KEY = VALUE in a section: accepted (and then the duration) or rejected
 * with a message fragment. */
static void test_values(void **state)
{
	static const struct {
		const char *conf;
		const char *error; /* NULL: must load */
	} cases[] = {
	    {"[poll]\ninterval = 500ms\n", NULL},
	    {"[poll]\ninterval = 1h30m\n", NULL},
	    {"[poll]\ninterval = 0\n", "v.conf:2: [poll] interval: must be greater than 0"},
	    {"[poll]\ninterval = 5 s\n", "v.conf:2: [poll] interval: invalid duration"},
	    {"[poll]\ninterval = 400d\n", "v.conf:2: [poll] interval: must be at most 366d"},
	    {"[poll]\nsettled_interval = 0\n", NULL},
	    {"[poll]\njitter = 50\n", NULL},
	    {"[poll]\njitter = 51%\n", "[poll] jitter: invalid percentage"},
	    {"[aws]\nmax_rps = 1000\n", NULL},
	    {"[aws]\nmax_rps = 0\n", "[aws] max_rps: must be greater than 0"},
	    {"[aws]\nmax_rps = nan\n", "[aws] max_rps: invalid number"},
	    {"[aws]\nmax_connections = 1025\n", "[aws] max_connections: must be between 1 and 1024"},
	    {"[aws]\nmax_connections = 8x\n", "[aws] max_connections: invalid number"},
	    {"[aws]\ntimeout = 0\n", "[aws] timeout: must be greater than 0"},
	    {"[aws]\nfips = yes\n", NULL},
	    {"[aws]\nendpoint = http://127.0.0.1:4566\n", NULL},
	    {"[aws]\nendpoint = https://[::1]:4566/\n", NULL},
	    {"[aws]\nendpoint = https://exa mple.com/\n", "[aws] endpoint: invalid URL"},
	    {"[aws]\nendpoint = https://example.com:99999/\n", "[aws] endpoint: invalid URL: invalid port"},
	    {"[aws]\nendpoint = https:///x\n", "[aws] endpoint: invalid URL: invalid host name"},
	    {"[aws]\nregion = -us\n", "[aws] region: invalid region"},
	    {"[aws]\nprofile = a b\n", "[aws] profile: invalid profile name"},
	    {"[jobs]\narn = " JOB "a/b.c_d\n", NULL},
	    {"[jobs]\narn = " JOB "\n", "v.conf:2: [jobs] arn: not an audience-generation-job ARN"},
	    {"[discover \"x\"]\ncollaboration_id = " UUID1 "\ninterval = 0\n",
	     "v.conf:3: [discover \"x\"] interval: must be greater than 0"},
	    {"[discover \"x\"]\ncollaboration_id = 1F2E3D4C-5B6A-4978-8A9B-0C1D2E3F4A5B\n", "not a UUID"},
	    {"[discover \"x\"]\nmembership_id = " UUID1 "\nkinds = trained-model nope\n",
	     "v.conf:3: [discover \"x\"] kinds: unknown resource kind \"nope\""},
	    {"[discover \"x\"]\ncollaboration_id = " UUID1 "\nkinds = trained-model-version\n",
	     "v.conf:1: [discover \"x\"] kinds: trained-model-version needs membership_id"},
	    {"[discover \"x\"]\nmembership_id = " UUID1 "\nkinds = trained-model-export-job\n",
	     "v.conf:1: [discover \"x\"] kinds: trained-model-export-job needs collaboration_id"},
	    {"[discover \"x\"]\nkinds = ml-input-channel\n",
	     "v.conf:1: [discover \"x\"] kinds: ml-input-channel needs membership_id or collaboration_id"},
	    {"[jobs]\narn = arn:aws:cleanrooms-ml:us-east-1:123456789012:audience-generation-job/j/"
	     "audience-export-job/e1\n",
	     "audience-export-job...\": the audience-export-job kind has no Get; watch it through "
	     "[discover] "
	     "kinds = audience-export-job"},
	    {"[jobs]\narn = arn:aws:cleanrooms-ml:us-east-1:123456789012:membership/" UUID1
	     "/trained-model/tm\n",
	     NULL},
	    {"[discover \"bad name!\"]\n", "v.conf:1: [discover]: invalid name"},
	    {"[webhook \"w\"]\nurl = http://localhost:1/x\n", NULL},
	    {"[webhook \"w\"]\nurl = http://127.1.2.3/x\n", NULL},
	    {"[webhook \"w\"]\nurl = http://[::1]/x\n", NULL},
	    {"[webhook \"w\"]\nurl = http://128.0.0.1/x\n", "plain http is only allowed"},
	    {"[webhook \"w\"]\nurl = http://localhost.example.com/x\n", "plain http is only allowed"},
	    {"[webhook \"w\"]\nurl = https://[::1/x\n", "unterminated [IPv6] address"},
	    {"[webhook \"w\"]\nurl = https://h/x\non = all job.gone , DELETE_FAILED\n", NULL},
	    {"[webhook \"w\"]\nurl = https://h/x\non = ,\n", "[webhook \"w\"] on: empty list"},
	    {"[webhook \"w\"]\nurl = https://h/x\nformat = slack\n", NULL},
	    {"[webhook \"w\"]\nurl = https://h/x\nmax_pending = 10000001\n", "max_pending: must be between"},
	    {"[webhook \"w\"]\nurl = https://h/x\nmax_age = 30s\n",
	     "v.conf:3: [webhook \"w\"] max_age: must be at least 60s"},
	    {"[webhook \"w\"]\nurl = https://h/x\nmax_in_flight = 0\n",
	     "max_in_flight: must be between 1 and 64"},
	    {"[http]\nmax_jobs = 1000001\n", "max_jobs: must be between"},
	    {"[aws]\nendpoint = http://cleanrooms.example.com\n",
	     "v.conf:2: [aws] endpoint: plain http is only allowed to a loopback host"},
	    {"[aws]\nendpoint = http://127.0.0.1:4566\n", NULL},
	    {"[http]\nlisten = off\n", NULL},
	    {"[http]\nlisten = unix:/run/x.sock\n", NULL},
	    {"[http]\nlisten = localhost\n", "[http] listen: invalid address"},
	    {"[http]\nlisten = 1.2.3.4:70000\n", "invalid port"},
	    {"[http]\nlisten = ::1:80\n", "IPv6 addresses must be written in brackets"},
	    {"[http]\nlisten = 10.1.2.3:80\n",
	     "v.conf:2: [http] listen: 10.1.2.3 is not a loopback address: set "
	     "cert_file and key_file"},
	    {"[http]\nlisten = *:80\n", "listen: every address is not a loopback address"},
	    {"[http]\nlisten = [::1]:80\ncert_file = /etc/hostname\n",
	     "[http] key_file: required with cert_file"},
	    {"[state]\npath = /x/y.db\n", NULL},
	    {"[journal]\nenabled = 2\n", "[journal] enabled: invalid boolean"},
	    {"[Aws]\n", "v.conf:1: [Aws]: unknown section"},
	    {"[poll]\n  interval = 1m\n", NULL},
	    {"[poll]\ninterval = 1m ; note\n", NULL},
	    {"[poll] x\n", "v.conf:1: syntax error"},
	    {"[poll]\n= 5\n", "v.conf:2: [poll] : unknown key"},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct config_diag diag;
		struct config *c = NULL;
		int r = load_string("v.conf", cases[i].conf, false, &c, &diag);

		if (!cases[i].error && r != 0)
			fail_msg("case %zu: %s: %s", i, cases[i].conf, diag.n_errors ? diag.errors[0] : "?");
		if (cases[i].error && (r != -EINVAL || c || !diag_has(&diag, cases[i].error)))
			fail_msg("case %zu: %s: want \"%s\", got r=%d %s", i, cases[i].conf, cases[i].error,
				 r, diag.n_errors ? diag.errors[0] : "(no error)");
		config_free(c);
		config_diag_done(&diag);
	}
}

static void test_all_errors_reported(void **state)
{
	struct config_diag diag;
	struct config *c = (struct config *)1;
	int r = load_string("three.conf", "[poll]\ninterval = x\n[nope]\nk = v\n[jobs]\narn = y\n", false,
			    &c, &diag);

	assert_int_equal(r, -EINVAL);
	assert_null(c);
	assert_int_equal(diag.n_errors, 3);
	assert_true(diag_has(&diag, "three.conf:2: [poll] interval:"));
	assert_true(diag_has(&diag, "three.conf:3: [nope]: unknown section"));
	assert_true(diag_has(&diag, "three.conf:6: [jobs] arn:"));
	config_diag_done(&diag);
	config_diag_done(NULL);

	/* A diag is optional. */
	assert_int_equal(config_load(write_file("x.conf", "[x]\n", 0644), false, &c, NULL), -EINVAL);
	assert_null(c);
}

static void test_dropins(void **state)
{
	struct config *c;

	write_file("d.conf.d/20-b.conf", "[poll]\ninterval = 3m\n[jobs]\narn = " JOB "b\n", 0644);
	write_file("d.conf.d/10-a.conf",
		   "[poll]\ninterval = 2m\njitter = 5%\n[jobs]\narn = " JOB
		   "a\n[webhook \"w\"]\nformat = slack\n",
		   0644);
	write_file("d.conf.d/30-c.conf.disabled", "[bad\n", 0644);
	write_file("d.conf.d/README", "[bad\n", 0644);
	write_file("d.conf.d/.hidden.conf", "[bad\n", 0644);
	c = NULL;
	{
		struct config_diag diag;
		int r = load_string("d.conf",
				    "[poll]\ninterval = 1m\n[jobs]\narn = " JOB "main\n[webhook \"w\"]\n"
				    "url = https://h/x\n",
				    false, &c, &diag);
		assert_int_equal(r, 0);
		config_diag_done(&diag);
	}
	assert_int_equal(c->poll.interval_ms, 180000);
	assert_true(c->poll.jitter > 0.0499 && c->poll.jitter < 0.0501);
	assert_int_equal(c->n_arns, 3);
	assert_string_equal(c->arns[0], JOB "main");
	assert_string_equal(c->arns[1], JOB "a");
	assert_string_equal(c->arns[2], JOB "b");
	/* The drop-in extends the webhook of the main file. */
	assert_int_equal(c->n_webhooks, 1);
	assert_int_equal(c->webhooks[0].format, PAYLOAD_FORMAT_SLACK);
	config_free(c);

	/* An empty assignment resets: ARNs to none, a value to its default. */
	write_file("e.conf.d/10.conf", "[jobs]\narn =\narn = " JOB "z\n[poll]\ninterval =\n", 0644);
	c = NULL;
	{
		struct config_diag diag;
		assert_int_equal(load_string("e.conf", "[jobs]\narn = " JOB "y\n[poll]\ninterval = 1m\n",
					     false, &c, &diag),
				 0);
		config_diag_done(&diag);
	}
	assert_int_equal(c->n_arns, 1);
	assert_string_equal(c->arns[0], JOB "z");
	assert_int_equal(c->poll.interval_ms, 30000);
	config_free(c);

	/* Errors in a drop-in name the drop-in. */
	write_file("f.conf.d/50-x.conf", "[poll]\n\ninterval = never\n", 0644);
	{
		struct config_diag diag;
		assert_int_equal(load_string("f.conf", "", false, &c, &diag), -EINVAL);
		assert_true(diag_has(&diag, "f.conf.d/50-x.conf:3: [poll] interval:"));
		config_diag_done(&diag);
	}
}

static void test_arn_file(void **state)
{
	struct config_diag diag;
	struct config *c = NULL;
	char conf[512];
	const char *path;

	path = write_file("arns/list.txt",
			  "# pipeline output\n" JOB "1\n\n   " JOB "2   \n" JOB
			  "1\n  # indented comment\n" JOB "3\n",
			  0644);
	snprintf(conf, sizeof(conf), "[jobs]\narn = " JOB "3\narn_file = %s\narn = " JOB "2\n", path);
	c = load_ok(conf);
	/* First occurrence wins, order kept. */
	assert_int_equal(c->n_arns, 3);
	assert_string_equal(c->arns[0], JOB "3");
	assert_string_equal(c->arns[1], JOB "1");
	assert_string_equal(c->arns[2], JOB "2");
	config_free(c);

	write_file("arns/bad.txt", JOB "ok\nnot-an-arn\n" JOB "\n", 0644);
	assert_int_equal(load_string("arns/a.conf", "[jobs]\n\narn_file = bad.txt\n", false, &c, &diag),
			 -EINVAL);
	assert_int_equal(diag.n_errors, 2);
	assert_true(diag_has(&diag,
			     "arns/bad.txt:2: [jobs] arn_file: not an audience-generation-job ARN (file "
			     "named at "));
	assert_true(diag_has(&diag, "arns/a.conf:3)"));
	assert_true(diag_has(&diag, "arns/bad.txt:3: [jobs] arn_file:"));
	config_diag_done(&diag);
}

static void test_state_directory(void **state)
{
	struct config *c;

	setenv("STATE_DIRECTORY", "/var/lib/jobwatchd:/var/lib/other", 1);
	c = load_ok("");
	assert_string_equal(c->state_path, "/var/lib/jobwatchd/state.db");
	config_free(c);
	c = load_ok("[state]\npath = /srv/s.db\n");
	assert_string_equal(c->state_path, "/srv/s.db");
	config_free(c);
	setenv("STATE_DIRECTORY", "/run/one", 1);
	c = load_ok("");
	assert_string_equal(c->state_path, "/run/one/state.db");
	config_free(c);
	unsetenv("STATE_DIRECTORY");
	c = load_ok("");
	assert_string_equal(c->state_path, "./jobwatchd.db");
	config_free(c);
}

static void test_secret_files(void **state)
{
	struct config_diag diag;
	struct config *c = NULL;
	char conf[512];
	const char *secret = write_file("s/open.secret", "whsec_SHOULD-NOT-LEAK\n", 0644);

	snprintf(conf, sizeof(conf), "[webhook \"w\"]\nurl = https://h/x\nsecret_file = %s\n", secret);
	assert_int_equal(load_string("s/a.conf", conf, false, &c, &diag), 0);
	assert_int_equal(diag.n_warnings, 1);
	assert_non_null(strstr(diag.warnings[0], "s/a.conf:3: [webhook \"w\"] secret_file: "));
	assert_non_null(strstr(diag.warnings[0], "readable by group or others"));
	assert_null(strstr(diag.warnings[0], "SHOULD-NOT-LEAK"));
	config_diag_done(&diag);
	config_free(c);

	assert_int_equal(load_string("s/a.conf", conf, true, &c, &diag), -EINVAL);
	assert_int_equal(diag.n_errors, 1);
	assert_true(diag_has(&diag, "readable by group or others"));
	config_diag_done(&diag);

	write_file("s/empty.secret", "", 0600);
	assert_int_equal(load_string("s/b.conf", "[http]\ntoken_file = empty.secret\n", false, &c, &diag),
			 -EINVAL);
	assert_true(diag_has(&diag, "s/b.conf:2: [http] token_file: "));
	assert_true(diag_has(&diag, "empty.secret is empty"));
	config_diag_done(&diag);

	/* A systemd credential of the same basename. */
	write_file("creds/hook.secret", "whsec_x\n", 0400);
	{
		char dir[128];
		snprintf(dir, sizeof(dir), "%s/creds", tmpdir);
		setenv("CREDENTIALS_DIRECTORY", dir, 1);
	}
	c = load_ok("[webhook \"w\"]\nurl = https://h/x\nsecret_file = /etc/jobwatchd/hook.secret\n");
	assert_non_null(strstr(c->webhooks[0].secret_file, "/creds/hook.secret"));
	config_free(c);
	/* ... or loaded with the whole directory (LoadCredential=jobwatchd:DIR
	 * in the shipped units names it jobwatchd_FILE). */
	write_file("creds/jobwatchd_dir.secret", "whsec_x\n", 0400);
	c = load_ok("[webhook \"w\"]\nurl = https://h/x\nsecret_file = dir.secret\n");
	assert_non_null(strstr(c->webhooks[0].secret_file, "/creds/jobwatchd_dir.secret"));
	config_free(c);
	unsetenv("CREDENTIALS_DIRECTORY");

	/* Without $CREDENTIALS_DIRECTORY (root running --check-config on the
	 * installed layout), a name is found where the unit loads it from:
	 * CONFDIR/credentials/, and CONFDIR/credentials/STEM/ for STEM.conf. */
	write_file("s/credentials/main.secret", "whsec_x\n", 0600);
	write_file("s/credentials/inst/i.secret", "whsec_x\n", 0600);
	assert_int_equal(load_string("s/jobwatchd.conf",
				     "[webhook \"w\"]\nurl = https://h/x\nsecret_file = main.secret\n",
				     false, &c, &diag),
			 0);
	assert_non_null(strstr(c->webhooks[0].secret_file, "/s/credentials/main.secret"));
	config_free(c);
	config_diag_done(&diag);
	assert_int_equal(load_string("s/inst.conf",
				     "[webhook \"a\"]\nurl = https://h/x\nsecret_file = i.secret\n"
				     "[webhook \"b\"]\nurl = https://h/y\nsecret_file = main.secret\n",
				     false, &c, &diag),
			 0);
	assert_non_null(strstr(c->webhooks[0].secret_file, "/s/credentials/inst/i.secret"));
	assert_non_null(strstr(c->webhooks[1].secret_file, "/s/credentials/main.secret"));
	config_free(c);
	config_diag_done(&diag);
	/* The main configuration does not look in an instance's directory. */
	assert_int_equal(load_string("s/jobwatchd.conf",
				     "[webhook \"w\"]\nurl = https://h/x\nsecret_file = i.secret\n", false,
				     &c, &diag),
			 -EINVAL);
	assert_true(diag_has(&diag, "s/jobwatchd.conf:3: [webhook \"w\"] secret_file: cannot find i.secret: "
				    "looked for "));
	assert_true(diag_has(&diag, "/s/credentials/i.secret"));
	config_diag_done(&diag);

	/* A directory is not a file. */
	assert_int_equal(load_string("s/c.conf", "[aws]\nca_file = .\n", false, &c, &diag), -EINVAL);
	assert_true(diag_has(&diag, "is not a regular file"));
	config_diag_done(&diag);
}

/* Lines may be long (a 64 KiB cap); past it the line is an error naming the
 * cap, and the rest of the file is still read.  A section repeated in one
 * file is a warning; a key set twice in one file an error, unless reset by
 * an empty assignment in between. */
static void test_long_lines_and_repeats(void **state)
{
	struct config_diag diag;
	struct config *c = NULL;
	size_t big = 70 * 1024;
	char *conf = malloc(big + 200);
	int r;

	assert_non_null(conf);
	strcpy(conf, "[webhook \"w\"]\nurl = https://h/");
	memset(conf + strlen(conf), 'x', big);
	strcpy(conf + strlen("[webhook \"w\"]\nurl = https://h/") + big, "\n[aws]\nregion = Not A Region\n");
	assert_int_equal(load_string("l.conf", conf, false, &c, &diag), -EINVAL);
	assert_true(diag_has(&diag, "l.conf:2: line is longer than 65536 characters"));
	assert_true(diag_has(&diag, "l.conf:4: [aws] region:"));
	config_diag_done(&diag);
	free(conf);

	assert_int_equal(load_string("r.conf", "[aws]\nregion = us-east-1\n[poll]\n[aws]\nmax_rps = 2\n",
				     false, &c, &diag),
			 0);
	assert_int_equal(diag.n_warnings, 1);
	assert_true(
	    strstr(diag.warnings[0], "r.conf:4: [aws]: section repeated in this file (first at line 1)"));
	assert_string_equal(c->aws.region, "us-east-1");
	config_free(c);
	config_diag_done(&diag);

	r = load_string("reset.conf", "[aws]\nregion = us-east-1\nregion =\nregion = eu-west-1\n", false, &c,
			&diag);
	for (size_t i = 0; i < diag.n_errors; i++)
		print_message("unexpected error: %s\n", diag.errors[i]);
	assert_int_equal(r, 0);
	assert_string_equal(c->aws.region, "eu-west-1");
	config_free(c);
	config_diag_done(&diag);
}

static void test_on_filter(void **state)
{
	static const struct {
		const char *on;
		enum event_type type;
		enum job_status status;
		bool want;
	} cases[] = {
	    {"all", EVENT_JOB_DISCOVERED, JOB_STATUS_ACTIVE, true},
	    {"job.stuck", EVENT_JOB_STUCK, JOB_STATUS_CREATE_IN_PROGRESS, true},
	    {"job.stuck", EVENT_JOB_STATUS_CHANGED, JOB_STATUS_ACTIVE, false},
	    {"CREATE_FAILED", EVENT_JOB_STATUS_CHANGED, JOB_STATUS_CREATE_FAILED, true},
	    {"CREATE_FAILED", EVENT_JOB_STATUS_CHANGED, JOB_STATUS_DELETE_FAILED, false},
	    {"job.stuck CREATE_FAILED DELETE_FAILED", EVENT_JOB_STATUS_CHANGED, JOB_STATUS_DELETE_FAILED,
	     true},
	    {"job.stuck,CREATE_FAILED", EVENT_JOB_GONE, JOB_STATUS_GONE, false},
	    {"job.gone", EVENT_JOB_GONE, JOB_STATUS_GONE, true},
	    {"job.discovered", EVENT_JOB_DISCOVERED, JOB_STATUS_INVALID, true},
	    {"ACTIVE", EVENT_JOB_STATUS_CHANGED, JOB_STATUS_INVALID, false},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		char conf[256];
		struct config *c;
		snprintf(conf, sizeof(conf), "[webhook \"w\"]\nurl = https://h/\non = %s\n", cases[i].on);
		c = load_ok(conf);
		if (config_webhook_wants(&c->webhooks[0], cases[i].type, cases[i].status) != cases[i].want)
			fail_msg("case %zu: on = %s", i, cases[i].on);
		config_free(c);
	}
	assert_false(config_webhook_wants(NULL, EVENT_JOB_GONE, JOB_STATUS_GONE));
}

/* Every known key has a sample value here that loads: keeps the table, the
 * parser and this list in step. */
/* [eventbridge "NAME"]: defaults, the filter, and what a bus and a source
 * may be. */
static void test_eventbridge(void **state)
{
	static const struct {
		const char *bus;
		bool ok;
		const char *region; /* of an ARN */
	} buses[] = {
	    {"default", true, NULL},
	    {"ops-bus_1.x/y", true, NULL},
	    {"arn:aws:events:us-east-1:123456789012:event-bus/ops", true, "us-east-1"},
	    {"arn:aws-us-gov:events:us-gov-west-1:123456789012:event-bus/a.b", true, "us-gov-west-1"},
	    {"", false, NULL},
	    {"ops bus", false, NULL},
	    {"arn:aws:sns:us-east-1:123456789012:event-bus/ops", false, NULL},
	    {"arn:aws:events:us-east-1:12345678901:event-bus/ops", false, NULL},
	    {"arn:aws:events:us-east-1:123456789012:rule/ops", false, NULL},
	    {"arn:aws:events:us-east-1:123456789012:event-bus/", false, NULL},
	    {"arn:aws:events::123456789012:event-bus/ops", false, NULL},
	    {"arn:aws:events:us-east-1:123456789012", false, NULL},
	    {"arn:foo:events:us-east-1:123456789012:event-bus/ops", false, NULL},
	};
	static const struct {
		const char *source;
		bool ok;
	} sources[] = {
	    {"jobwatchd", true},   {"com.example.jobwatchd", true},
	    {"aws.events", false}, {"aws.", false},
	    {"", false},	   {"two words", false},
	    {"awsome.jobs", true},
	};
	struct config *c;
	const char *reason, *region;
	size_t n;

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(buses); i++) {
		int r = config_event_bus_check(buses[i].bus, &reason, &region, &n);
		if ((r == 0) != buses[i].ok)
			fail_msg("event bus \"%s\": got %d", buses[i].bus, r);
		if (buses[i].region &&
		    (n != strlen(buses[i].region) || strncmp(region, buses[i].region, n) != 0))
			fail_msg("event bus \"%s\": region %.*s", buses[i].bus, (int)n, region);
	}
	for (size_t i = 0; i < ELEMENTSOF(sources); i++)
		if ((config_event_source_check(sources[i].source, &reason) == 0) != sources[i].ok)
			fail_msg("source \"%s\"", sources[i].source);

	c = load_ok(
	    "[eventbridge \"a\"]\n[eventbridge \"b\"]\nevent_bus = ops\nsource = com.x\non = CREATE_FAILED "
	    "job.gone\n");
	assert_int_equal(c->n_eventbridges, 2);
	assert_string_equal(c->eventbridges[0].event_bus, "default");
	assert_string_equal(c->eventbridges[0].source, "jobwatchd");
	assert_true(config_eventbridge_wants(&c->eventbridges[0], EVENT_JOB_DISCOVERED, JOB_STATUS_ACTIVE));
	assert_string_equal(c->eventbridges[1].event_bus, "ops");
	assert_string_equal(c->eventbridges[1].source, "com.x");
	assert_true(config_eventbridge_wants(&c->eventbridges[1], EVENT_JOB_STATUS_CHANGED,
					     JOB_STATUS_CREATE_FAILED));
	assert_true(config_eventbridge_wants(&c->eventbridges[1], EVENT_JOB_GONE, JOB_STATUS_GONE));
	assert_false(
	    config_eventbridge_wants(&c->eventbridges[1], EVENT_JOB_STATUS_CHANGED, JOB_STATUS_ACTIVE));
	config_free(c);
}

static void test_known_keys(void **state)
{
	static const struct {
		const char *key, *conf;
	} samples[] = {
	    {"aws.region", "[aws]\nregion = us-east-1\n"},
	    {"aws.profile", "[aws]\nprofile = p\n"},
	    {"aws.endpoint", "[aws]\nendpoint = https://e/\n"},
	    {"aws.ca_file", "[aws]\nca_file = k/ok.conf\n"},
	    {"aws.dualstack", "[aws]\ndualstack = true\n"},
	    {"aws.fips", "[aws]\nfips = 1\n"},
	    {"aws.max_rps", "[aws]\nmax_rps = 12.5\n"},
	    {"aws.max_connections", "[aws]\nmax_connections = 3\n"},
	    {"aws.timeout", "[aws]\ntimeout = 3s\n"},
	    {"poll.interval", "[poll]\ninterval = 3s\n"},
	    {"poll.settled_interval", "[poll]\nsettled_interval = 3s\n"},
	    {"poll.failed_interval", "[poll]\nfailed_interval = 3s\n"},
	    {"poll.jitter", "[poll]\njitter = 3%\n"},
	    {"poll.stuck_after", "[poll]\nstuck_after = 3h\n"},
	    {"poll.not_found_grace", "[poll]\nnot_found_grace = 1h\n"},
	    {"jobs.arn", "[jobs]\narn = " JOB "k\n"},
	    {"jobs.arn_file", "[jobs]\narn_file = k/ok.conf\n"},
	    {"discover.collaboration_id", "[discover \"k\"]\ncollaboration_id = " UUID1 "\n"},
	    {"discover.configured_audience_model_arn",
	     "[discover \"k\"]\nconfigured_audience_model_arn = "
	     "arn:aws:cleanrooms-ml:us-east-1:123456789012:configured-audience-model/k\n"},
	    {"discover.interval", "[discover \"k\"]\ncollaboration_id = " UUID1 "\ninterval = 1s\n"},
	    {"state.path", "[state]\npath = s.db\n"},
	    {"journal.enabled", "[journal]\nenabled = no\n"},
	    {"webhook.url", "[webhook \"k\"]\nurl = https://h/\n"},
	    {"webhook.format", "[webhook \"k\"]\nurl = https://h/\nformat = json\n"},
	    {"webhook.secret_file", "[webhook \"k\"]\nurl = https://h/\nsecret_file = k/secret\n"},
	    {"webhook.headers_file", "[webhook \"k\"]\nurl = https://h/\nheaders_file = k/secret\n"},
	    {"webhook.on", "[webhook \"k\"]\nurl = https://h/\non = job.gone\n"},
	    {"webhook.timeout", "[webhook \"k\"]\nurl = https://h/\ntimeout = 1s\n"},
	    {"webhook.max_pending", "[webhook \"k\"]\nurl = https://h/\nmax_pending = 1\n"},
	    {"webhook.resend_interval", "[webhook \"k\"]\nurl = https://h/ https://h2/\nformat = "
					"alertmanager\nresend_interval = 30s\n"},
	    {"webhook.gone_alert_for", "[webhook \"k\"]\nurl = https://h/\ngone_alert_for = 0\n"},
	    {"webhook.max_age", "[webhook \"k\"]\nurl = https://h/\nmax_age = 2h\n"},
	    {"webhook.max_in_flight", "[webhook \"k\"]\nurl = https://h/\nmax_in_flight = 1\n"},
	    {"eventbridge.event_bus", "[eventbridge \"k\"]\nevent_bus = ops\n"},
	    {"eventbridge.source", "[eventbridge \"k\"]\nsource = com.example.k\n"},
	    {"eventbridge.on", "[eventbridge \"k\"]\non = job.stuck CREATE_FAILED\n"},
	    {"discover.membership_id", "[discover \"k\"]\nmembership_id = " UUID1 "\n"},
	    {"discover.kinds",
	     "[discover \"k\"]\nmembership_id = " UUID1 "\nkinds = trained-model, audience-model\n"},
	    {"http.listen", "[http]\nlisten = unix:/run/k.sock\n"},
	    {"http.token_file", "[http]\nlisten = 127.0.0.1:0\ntoken_file = k/secret\n"},
	    {"http.max_jobs", "[http]\nmax_jobs = 0\n"},
	    {"http.metrics_token_file",
	     "[http]\nlisten = 127.0.0.1:0\ntoken_file = k/secret\nmetrics_token_file = k/secret\n"},
	    {"http.cert_file", "[http]\nlisten = 10.0.0.1:1\ntoken_file = k/secret\ncert_file = k/ok.conf\n"
			       "key_file = k/secret\n"},
	    {"http.key_file", "[http]\nlisten = *:1\ntoken_file = k/secret\ncert_file = k/ok.conf\n"
			      "key_file = k/secret\n"},
	};
	const char *const *keys = config_known_keys();
	size_t n = 0;

	write_file("k/ok.conf", "# an empty arn file\n", 0644);
	write_file("k/secret", "s\n", 0600);
	assert_non_null(keys);
	for (; keys[n]; n++) {
		bool found = false;
		assert_non_null(strchr(keys[n], '.'));
		for (size_t i = 0; i < ELEMENTSOF(samples); i++) {
			struct config *c;
			char conf[512];
			if (strcmp(samples[i].key, keys[n]) != 0)
				continue;
			found = true;
			/* Relative paths are taken from the config's directory. */
			snprintf(conf, sizeof(conf), "%s", samples[i].conf);
			c = load_ok(conf);
			config_free(c);
		}
		if (!found)
			fail_msg("known key %s has no sample in this test", keys[n]);
	}
	assert_int_equal(n, ELEMENTSOF(samples));
}

static void test_net_helpers(void **state)
{
	static const struct {
		const char *host;
		bool loopback;
	} hosts[] = {
	    {"localhost", true},  {"LOCALHOST", true},
	    {"127.0.0.1", true},  {"127.255.0.9", true},
	    {"::1", true},	  {"::2", false},
	    {"128.0.0.1", false}, {"localhost.evil", false},
	    {"10.0.0.1", false},  {"0:0:0:0:0:0:0:1", true},
	};
	struct config_url u;
	const char *reason;
	enum config_listen_kind kind;
	char *host;
	unsigned port;

	for (size_t i = 0; i < ELEMENTSOF(hosts); i++)
		if (config_host_is_loopback(hosts[i].host) != hosts[i].loopback)
			fail_msg("config_host_is_loopback(%s)", hosts[i].host);

	assert_int_equal(config_url_parse("HTTPS://[::1]:8443?x=1", &u, &reason), 0);
	assert_true(u.https);
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 8443);
	assert_string_equal(u.path_and_query, "/?x=1");
	config_url_done(&u);
	assert_int_equal(config_url_parse("http://h.example/a/b", &u, &reason), 0);
	assert_false(u.https);
	assert_int_equal(u.port, 80);
	assert_string_equal(u.path_and_query, "/a/b");
	config_url_done(&u);
	assert_int_equal(config_url_parse("http://h:0/", &u, &reason), -EINVAL);
	assert_int_equal(config_url_parse("https://a@b/", &u, &reason), -EINVAL);

	assert_int_equal(config_listen_parse("[::]:9100", &kind, &host, &port, &reason), 0);
	assert_int_equal(kind, CONFIG_LISTEN_TCP);
	assert_string_equal(host, "::");
	assert_int_equal(port, 9100);
	free(host);
	assert_int_equal(config_listen_parse(":9100", &kind, &host, &port, &reason), 0);
	assert_string_equal(host, "");
	free(host);
	assert_int_equal(config_listen_parse("unix:/run/a.sock", &kind, &host, &port, &reason), 0);
	assert_int_equal(kind, CONFIG_LISTEN_UNIX);
	assert_string_equal(host, "/run/a.sock");
	free(host);

	assert_string_equal(payload_format_to_string(PAYLOAD_FORMAT_SLACK), "slack");
	assert_null(payload_format_to_string(PAYLOAD_FORMAT_INVALID));
	assert_int_equal(payload_format_from_string("alertmanager"), PAYLOAD_FORMAT_ALERTMANAGER);
	assert_int_equal(payload_format_from_string("JSON"), PAYLOAD_FORMAT_INVALID);
}

/* cli_check_config in-process (the scenario test covers the binary). */
static void test_cli(void **state)
{
	char good[256], bad[256];
	char *argv_good[] = {"jobwatchd", "--check-config", "-c", good, NULL};
	char *argv_bad[] = {"jobwatchd", "-t", "--config", bad, "--strict", NULL};
	char *argv_usage[] = {"jobwatchd", "--check-config", "--bogus", NULL};

	snprintf(good, sizeof(good), "%s", write_file("cli/good.conf", "[jobs]\narn = " JOB "1\n", 0644));
	snprintf(bad, sizeof(bad), "%s", write_file("cli/bad.conf", "[jobs]\narn = 1\n", 0644));
	assert_int_equal(cli_check_config(4, argv_good), 0);
	assert_int_equal(cli_check_config(5, argv_bad), 1);
	assert_int_equal(cli_check_config(3, argv_usage), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),	    cmocka_unit_test(test_every_key),
	    cmocka_unit_test(test_values),	    cmocka_unit_test(test_all_errors_reported),
	    cmocka_unit_test(test_dropins),	    cmocka_unit_test(test_arn_file),
	    cmocka_unit_test(test_state_directory), cmocka_unit_test(test_secret_files),
	    cmocka_unit_test(test_on_filter),	    cmocka_unit_test(test_eventbridge),
	    cmocka_unit_test(test_known_keys),	    cmocka_unit_test(test_long_lines_and_repeats),
	    cmocka_unit_test(test_net_helpers),	    cmocka_unit_test(test_cli),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
