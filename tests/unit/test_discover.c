/* discovery: the per-summary decision as a table, then whole listings
 * against the real fake service (tests/fake/fake_crml.py) with the real
 * http layer, AWS client and tracker: pagination, filters, bulk refresh
 * (unchanged jobs are refreshed, not polled), a changed job, a vanished
 * job turning gone. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <uv.h>

#include "jwtest.h"
#include "aws/client.h"
#include "creds.h"
#include "discover.h"
#include "http.h"
#include "tracker.h"
#include "util.h"

#define ARN_PREFIX "arn:aws:cleanrooms-ml:us-east-1:111122223333:audience-generation-job/"
#define COLLAB_A   "a1b2c3d4-0000-4000-8000-0000000000aa"
#define COLLAB_B   "a1b2c3d4-0000-4000-8000-0000000000bb"
#define MODEL_M	   "arn:aws:cleanrooms-ml:us-east-1:111122223333:configured-audience-model/cam-m"
#define N_A	   150 /* > 100: two pages at maxResults 100 */
#define N_M	   3   /* of the A jobs, trained on model M */
#define N_B	   5

/* ---- the decision table ---- */

static struct tracked_job job(int status, int64_t update, bool watched, bool gone)
{
	return (struct tracked_job){.arn = (char *)ARN_PREFIX "x",
				    .status = (int8_t)status,
				    .update_time_ms = update,
				    .watched = watched,
				    .gone = gone,
				    .source = "discover:a"};
}

static void test_decide_table(void **state)
{
	struct job_observation s = {.arn = (char *)ARN_PREFIX "x",
				    .status = JOB_STATUS_ACTIVE,
				    .update_time_ms = 2000,
				    .from_list = true};
	const struct {
		struct tracked_job j;
		bool unknown;
		enum discover_action want;
	} rows[] = {
	    {.unknown = true, .want = DISCOVER_NEW},
	    {job(JOB_STATUS_ACTIVE, 2000, true, false), false, DISCOVER_UNCHANGED},
	    {job(JOB_STATUS_CREATE_IN_PROGRESS, 2000, true, false), false, DISCOVER_CHANGED},
	    {job(JOB_STATUS_ACTIVE, 1000, true, false), false, DISCOVER_CHANGED},
	    {job(JOB_STATUS_ACTIVE, 3000, true, false), false, DISCOVER_STALE},
	    {job(JOB_STATUS_CREATE_IN_PROGRESS, 3000, true, false), false, DISCOVER_STALE},
	    {job(JOB_STATUS_INVALID, 0, true, false), false, DISCOVER_CHANGED},
	    {job(JOB_STATUS_ACTIVE, 2000, false, false), false, DISCOVER_IGNORE},
	    {job(JOB_STATUS_GONE, 2000, true, true), false, DISCOVER_IGNORE},
	};

	for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
		enum discover_action got = discover_decide(rows[i].unknown ? NULL : &rows[i].j, &s);
		if (got != rows[i].want)
			fail_msg("row %zu: got %s, want %s", i, discover_action_to_string(got),
				 discover_action_to_string(rows[i].want));
	}
	/* A summary with an unknown status (a newer API value) is a reason
	 * to ask Get, never a silent "unchanged". */
	struct tracked_job j = job(JOB_STATUS_ACTIVE, 2000, true, false);
	s.status = JOB_STATUS_INVALID;
	assert_int_equal(discover_decide(&j, &s), DISCOVER_CHANGED);
	assert_string_equal(discover_action_to_string(DISCOVER_UNCHANGED), "unchanged");
	assert_null(discover_action_to_string(_DISCOVER_ACTION_MAX));
}

static void test_vanished_rule(void **state)
{
	struct tracked_job mine = job(JOB_STATUS_ACTIVE, 1, true, false);
	struct tracked_job other = mine, unwatched = mine, gone = mine;

	other.source = "config";
	unwatched.watched = false;
	gone.gone = true;
	assert_true(discover_should_check_vanished(&mine, "discover:a"));
	assert_false(discover_should_check_vanished(&mine, "discover:b"));
	assert_false(discover_should_check_vanished(&other, "discover:a"));
	assert_false(discover_should_check_vanished(&unwatched, "discover:a"));
	assert_false(discover_should_check_vanished(&gone, "discover:a"));
	assert_false(discover_should_check_vanished(NULL, "discover:a"));
}

/* Which resources a section refreshes through its Lists only. */
static void test_list_only_rule(void **state)
{
	static const char pre[] = "arn:aws:cleanrooms-ml:us-east-1:123456789012:";
	static const char m1[] = "a1b2c3d4-0000-4000-8000-00000000e3b0",
			  m2[] = "a1b2c3d4-0000-4000-8000-0000000000e2",
			  co[] = "a1b2c3d4-0000-4000-8000-00000000c011";
	char ours[256], theirs[256], agj[256], exp[300];

	(void)state;
	snprintf(ours, sizeof(ours), "%smembership/%s/trained-model/tm", pre, m1);
	snprintf(theirs, sizeof(theirs), "%smembership/%s/trained-model/tm", pre, m2);
	snprintf(agj, sizeof(agj), "%saudience-generation-job/j", pre);
	snprintf(exp, sizeof(exp), "%s/audience-export-job/e", agj);
	/* Ours is read with its Get; another member's only through the
	 * collaboration's List, also when the section names no membership. */
	assert_false(discover_is_list_only(KIND_TRAINED_MODEL, ours, co, m1));
	assert_true(discover_is_list_only(KIND_TRAINED_MODEL, theirs, co, m1));
	assert_true(discover_is_list_only(KIND_TRAINED_MODEL, ours, co, NULL));
	/* A membership's List shows only what our Get can read. */
	assert_false(discover_is_list_only(KIND_TRAINED_MODEL, theirs, NULL, m1));
	/* A kind without a Get always; one without a collaboration List never. */
	assert_true(discover_is_list_only(KIND_AUDIENCE_EXPORT_JOB, exp, NULL, NULL));
	assert_false(discover_is_list_only(KIND_AUDIENCE_GENERATION_JOB, agj, co, m1));
	assert_false(discover_is_list_only(KIND_INVALID, agj, co, m1));
}

/* ---- against the fake ---- */

struct fx {
	char dir[64];
	pid_t fake_pid;
	int port;
	uv_loop_t loop;
	struct aws_endpoint ep;
	struct http_ctx *http;
	struct creds *creds;
	struct aws_client *aws;
	struct tracker *tracker;
	struct discovery *disc;

	unsigned poll_soon, refreshed, gets_inflight, gets_done, gone_events;
	char last_poll_soon[256];
};

/* What the callback of one Get needs here: the fixture and the job. */
struct get_ctx {
	struct fx *f;
	struct tracked_job *j;
};

static void on_get(void *userdata, const struct aws_result *res, struct job_observation *obs)
{
	struct get_ctx *g = userdata;
	struct fx *f = g->f;
	struct tracked_job *j = g->j;
	int64_t now = (int64_t)now_realtime_ms();

	free(g);
	f->gets_inflight--;
	f->gets_done++;
	if (res->outcome == AWS_OK && obs)
		assert_true(tracker_observe(f->tracker, obs, now, NULL) >= 0);
	else if (res->outcome == AWS_NOT_FOUND && tracker_gone(f->tracker, j->arn, now) == 1)
		f->gone_events++;
	job_observation_free(obs);
}

/* What the engine does: a Get now. */
static void cb_poll_soon(void *userdata, struct tracked_job *j)
{
	struct fx *f = userdata;

	f->poll_soon++;
	snprintf(f->last_poll_soon, sizeof(f->last_poll_soon), "%s", j->arn);
	struct get_ctx *g = malloc(sizeof(*g));

	assert_non_null(g);
	*g = (struct get_ctx){.f = f, .j = j};
	assert_int_equal(aws_get_job(f->aws, j->arn, on_get, g, NULL), 0);
	f->gets_inflight++;
}

static void cb_refreshed(void *userdata, struct tracked_job *j, const struct job_observation *summary)
{
	struct fx *f = userdata;

	f->refreshed++;
	assert_true(summary->from_list);
	assert_string_equal(summary->arn, j->arn);
}

static const char *source_dir(void)
{
	const char *s = getenv("JW_SOURCE_DIR");
	return s ? s : "..";
}

static void write_scenario(const char *path)
{
	FILE *fp = fopen(path, "we");

	assert_non_null(fp);
	fprintf(fp, "{\"defaultMaxResults\": 25, \"jobs\": [");
	for (int i = 0; i < N_A + N_B; i++) {
		bool b = i >= N_A;
		fprintf(fp,
			"%s{\"id\": \"job-%03d\", \"collaborationId\": \"%s\", %s"
			"\"steps\": [{\"at\": 0, \"status\": \"CREATE_IN_PROGRESS\"}]}",
			i ? "," : "", i, b ? COLLAB_B : COLLAB_A,
			!b && i < N_M ? "\"configuredAudienceModelArn\": \"" MODEL_M "\", " : "");
	}
	fprintf(fp, "]}\n");
	assert_int_equal(fclose(fp), 0);
}

static void start_fake(struct fx *f)
{
	char scen[128], portf[128], fake[512];
	char *buf = NULL;
	size_t len;

	snprintf(scen, sizeof(scen), "%s/scenario.json", f->dir);
	snprintf(portf, sizeof(portf), "%s/port", f->dir);
	snprintf(fake, sizeof(fake), "%s/tests/fake/fake_crml.py", source_dir());
	write_scenario(scen);
	f->fake_pid = fork();
	assert_true(f->fake_pid >= 0);
	if (f->fake_pid == 0) {
		execlp("python3", "python3", fake, "--port", "0", "--port-file", portf, "--scenario", scen,
		       (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 300; i++) {
		if (read_file_capped(portf, 64, &buf, &len) == 0 && len > 0)
			break;
		free(buf);
		buf = NULL;
		usleep(50000);
	}
	assert_non_null(buf);
	{
		int64_t port = 0;
		assert_int_equal(parse_int64(strstrip(buf), 1, 65535, &port), 0);
		f->port = (int)port;
	}
	free(buf);
}

static size_t discard(void *p, size_t size, size_t n, void *u)
{
	return size * n;
}

static void fake_control(struct fx *f, const char *method, const char *path, const char *body)
{
	char url[512];
	CURL *c = curl_easy_init();
	long code = 0;

	assert_non_null(c);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/_fake%s", f->port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	assert_int_equal(code, 200);
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char url[64], err[128];

	assert_non_null(f);
	jwt_tmpdir("discover", f->dir, sizeof(f->dir));
	start_fake(f);
	setenv("AWS_ACCESS_KEY_ID", "AKIDDISCOVERTEST", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secret-discover-test", 1);
	unsetenv("AWS_SESSION_TOKEN");
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", f->port);
	assert_int_equal(aws_endpoint_parse_url(url, &f->ep, err, sizeof(err)), 0);
	f->ep.region = strdup("us-east-1");
	assert_int_equal(http_ctx_new(&f->loop, &(struct http_ctx_options){.max_connections = 8}, &f->http),
			 0);
	assert_int_equal(
	    creds_new(&f->loop, f->http, &(struct creds_options){.region = "us-east-1"}, &f->creds), 0);
	assert_int_equal(aws_client_new(&f->loop, f->http, f->creds,
					&(struct aws_client_options){.endpoint = &f->ep, .timeout_ms = 5000},
					&f->aws),
			 0);
	assert_int_equal(tracker_new(NULL, "us-east-1", 0, NULL, NULL, &f->tracker), 0);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	int status;

	discovery_free(f->disc);
	aws_client_free(f->aws);
	creds_free(f->creds);
	http_ctx_free(f->http);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	aws_endpoint_done(&f->ep);
	tracker_free(f->tracker);
	kill(f->fake_pid, SIGTERM);
	waitpid(f->fake_pid, &status, 0);
	jwt_rmtree(f->dir);
	free(f);
	return 0;
}

/* Starts one listing of section i now and runs the loop until it has
 * completed and every Get it caused has answered. */
static void run_listing(struct fx *f, size_t i)
{
	const struct discovery_stats *s = discovery_stats_at(f->disc, i, NULL);
	uint64_t want = s->listings_completed + 1;

	assert_int_equal(discovery_start(f->disc), 0);
	for (int k = 0; k < 1000000; k++) {
		if (s->listings_completed >= want && f->gets_inflight == 0)
			return;
		uv_run(&f->loop, UV_RUN_ONCE);
	}
	fail_msg("a listing of section %zu did not complete", i);
}

static size_t count_source(struct fx *f, const char *source)
{
	size_t n = 0;

	for (size_t i = 0; i < tracker_size(f->tracker); i++)
		n += strcmp(tracker_job_at(f->tracker, i)->source, source) == 0;
	return n;
}

static void test_fleet_against_fake(void **state)
{
	struct fx *f = *state;
	struct config_discover secs[] = {
	    {.name = "a", .collaboration_id = COLLAB_A, .interval_ms = 3600000},
	};
	struct discovery_callbacks cb = {
	    .poll_soon = cb_poll_soon, .refreshed = cb_refreshed, .userdata = f};
	const struct discovery_stats *st;
	const char *name = NULL;
	char body[256];
	unsigned before;

	assert_int_equal(discovery_new(&f->loop, f->aws, f->tracker, secs, 1, &cb, &f->disc), 0);
	assert_int_equal(discovery_count(f->disc), 1);
	st = discovery_stats_at(f->disc, 0, &name);
	assert_string_equal(name, "a");
	assert_null(discovery_stats_at(f->disc, 1, NULL));

	/* First listing: every job of collaboration A, over two pages, is
	 * new and polled once; B's jobs are filtered out by the service. */
	run_listing(f, 0);
	assert_int_equal(st->listings_failed, 0);
	assert_int_equal(st->pages, 2);
	assert_int_equal(st->last_listing_jobs, N_A);
	assert_int_equal(st->jobs_added, N_A);
	assert_int_equal(f->poll_soon, N_A);
	assert_int_equal(count_source(f, "discover:a"), N_A);
	assert_int_equal(tracker_size(f->tracker), N_A);
	assert_non_null(tracker_find(f->tracker, ARN_PREFIX "job-000"));
	assert_null(tracker_find(f->tracker, ARN_PREFIX "job-150"));
	assert_int_equal(tracker_find(f->tracker, ARN_PREFIX "job-149")->status,
			 JOB_STATUS_CREATE_IN_PROGRESS);

	/* Second listing: nothing changed, so no Get at all. */
	before = f->poll_soon;
	run_listing(f, 0);
	assert_int_equal(f->poll_soon, before);
	assert_int_equal(f->refreshed, N_A);
	assert_int_equal(st->jobs_refreshed, N_A);

	/* One job moves on: exactly that one is polled. */
	snprintf(body, sizeof(body), "{\"id\": \"job-007\", \"status\": \"ACTIVE\"}");
	fake_control(f, "POST", "/jobs", body);
	run_listing(f, 0);
	assert_int_equal(f->poll_soon, before + 1);
	assert_string_equal(f->last_poll_soon, ARN_PREFIX "job-007");
	assert_int_equal(tracker_find(f->tracker, ARN_PREFIX "job-007")->status, JOB_STATUS_ACTIVE);
	assert_int_equal(f->refreshed, 2 * N_A - 1);

	/* A job vanishes from the listing: polled, 404, gone -- once. */
	fake_control(f, "DELETE",
		     "/jobs/arn%3Aaws%3Acleanrooms-ml%3Aus-east-1%3A111122223333%3Aaudience-"
		     "generation-job%2Fjob-042",
		     NULL);
	run_listing(f, 0);
	assert_int_equal(st->jobs_vanished, 1);
	assert_int_equal(f->gone_events, 1);
	assert_true(tracker_find(f->tracker, ARN_PREFIX "job-042")->gone);
	before = f->poll_soon;
	run_listing(f, 0);
	assert_int_equal(f->poll_soon, before); /* gone jobs are not polled again */
	assert_int_equal(st->last_listing_jobs, N_A - 1);

	/* A new job appears between listings. */
	snprintf(body, sizeof(body),
		 "{\"id\": \"job-new\", \"collaborationId\": \"%s\", \"status\": \"CREATE_PENDING\"}",
		 COLLAB_A);
	fake_control(f, "POST", "/jobs", body);
	run_listing(f, 0);
	assert_int_equal(f->poll_soon, before + 1);
	assert_string_equal(f->last_poll_soon, ARN_PREFIX "job-new");
	assert_int_equal(tracker_find(f->tracker, ARN_PREFIX "job-new")->status, JOB_STATUS_CREATE_PENDING);
}

static void test_model_filter_and_unwatched(void **state)
{
	struct fx *f = *state;
	struct config_discover secs[] = {
	    {.name = "m", .configured_audience_model_arn = MODEL_M, .interval_ms = 3600000},
	};
	struct discovery_callbacks cb = {
	    .poll_soon = cb_poll_soon, .refreshed = cb_refreshed, .userdata = f};
	const struct discovery_stats *st;
	unsigned before;

	/* An operator unwatched one of them before: discovery leaves it be. */
	assert_int_equal(tracker_add(f->tracker, ARN_PREFIX "job-001", "api", NULL), 1);
	assert_int_equal(tracker_unwatch(f->tracker, ARN_PREFIX "job-001"), 0);
	assert_int_equal(discovery_new(&f->loop, f->aws, f->tracker, secs, 1, &cb, &f->disc), 0);
	st = discovery_stats_at(f->disc, 0, NULL);
	run_listing(f, 0);
	assert_int_equal(st->last_listing_jobs, N_M);
	assert_int_equal(st->pages, 1);
	assert_int_equal(st->jobs_added, N_M - 1);
	assert_int_equal(f->poll_soon, N_M - 1);
	assert_false(tracker_find(f->tracker, ARN_PREFIX "job-001")->watched);
	assert_int_equal(count_source(f, "discover:m"), N_M - 1);
	before = f->refreshed;
	run_listing(f, 0);
	assert_int_equal(f->refreshed, before + N_M - 1);
}

static void test_new_rejects(void **state)
{
	struct discovery *d = NULL;
	uv_loop_t loop;

	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(discovery_new(&loop, NULL, NULL, NULL, 0, NULL, &d), -EINVAL);
	assert_null(discovery_free(NULL));
	assert_int_equal(discovery_count(NULL), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decide_table),
	    cmocka_unit_test(test_vanished_rule),
	    cmocka_unit_test(test_list_only_rule),
	    cmocka_unit_test(test_new_rejects),
	    cmocka_unit_test_setup_teardown(test_fleet_against_fake, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_model_filter_and_unwatched, fx_setup, fx_teardown),
	};
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
