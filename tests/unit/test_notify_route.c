/* notify/route: which sinks each event goes to, decided once per [webhook]
 * section, and the sink names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "notify/route.h"
#include "util.h"

#define BIT(x) (1u << (x))

/* journal on; "all" takes everything; "failed" only *_FAILED statuses;
 * "am-hook" (alertmanager-webhook) only job.gone by its filter; "am" is a
 * format = alertmanager client: conditions, no sink. */
static struct config_webhook hooks[] = {
    {.name = (char *)"all", .format = PAYLOAD_FORMAT_JSON, .on_all = true},
    {.name = (char *)"failed",
     .format = PAYLOAD_FORMAT_SLACK,
     .on_statuses = BIT(JOB_STATUS_CREATE_FAILED) | BIT(JOB_STATUS_DELETE_FAILED)},
    {.name = (char *)"am-hook",
     .format = PAYLOAD_FORMAT_ALERTMANAGER_WEBHOOK,
     .on_types = BIT(EVENT_JOB_GONE)},
    {.name = (char *)"am", .format = PAYLOAD_FORMAT_ALERTMANAGER, .on_all = true},
};

/* The sinks as one comma-separated string, for comparing. */
static void joined(const char *const *sinks, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; sinks && sinks[i]; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? "," : "", sinks[i]);
}

static void test_event_sinks(void **state)
{
	static const struct {
		enum event_type type;
		enum job_status previous, status;
		const char *want;
	} rows[] = {
	    {EVENT_JOB_DISCOVERED, JOB_STATUS_INVALID, JOB_STATUS_CREATE_PENDING, "journal,webhook:all"},
	    {EVENT_JOB_STATUS_CHANGED, JOB_STATUS_CREATE_IN_PROGRESS, JOB_STATUS_CREATE_FAILED,
	     "journal,webhook:all,webhook:failed"},
	    /* Reaching ACTIVE resolves: the alertmanager-webhook hook gets it
	     * whatever its filter says. */
	    {EVENT_JOB_STATUS_CHANGED, JOB_STATUS_CREATE_IN_PROGRESS, JOB_STATUS_ACTIVE,
	     "journal,webhook:all,webhook:am-hook"},
	    {EVENT_JOB_STUCK, JOB_STATUS_CREATE_IN_PROGRESS, JOB_STATUS_CREATE_IN_PROGRESS,
	     "journal,webhook:all"},
	    {EVENT_JOB_GONE, JOB_STATUS_ACTIVE, JOB_STATUS_GONE, "journal,webhook:all,webhook:am-hook"},
	};
	struct config cfg = {.journal_enabled = true, .webhooks = hooks, .n_webhooks = ELEMENTSOF(hooks)};
	struct route *r = NULL;
	char got[256];

	(void)state;
	assert_int_equal(route_new(&cfg, &r), 0);
	for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
		struct event ev = {
		    .type = rows[i].type, .previous_status = rows[i].previous, .status = rows[i].status};

		joined(route_event_sinks(r, &ev), got, sizeof(got));
		if (strcmp(got, rows[i].want) != 0)
			fail_msg("row %zu: \"%s\", want \"%s\"", i, got, rows[i].want);
	}
	assert_string_equal(route_hook_sink(r, 0), "webhook:all");
	assert_string_equal(route_hook_sink(r, 2), "webhook:am-hook");
	assert_null(route_hook_sink(r, 3)); /* alertmanager: conditions, no outbox sink */
	assert_null(route_hook_sink(r, 4));
	route_free(r);
}

static void test_journal_off(void **state)
{
	struct config cfg = {.journal_enabled = false, .webhooks = hooks, .n_webhooks = 2};
	struct event ev = {.type = EVENT_JOB_DISCOVERED, .status = JOB_STATUS_CREATE_PENDING};
	struct route *r = NULL;
	char got[256];

	(void)state;
	assert_int_equal(route_new(&cfg, &r), 0);
	joined(route_event_sinks(r, &ev), got, sizeof(got));
	assert_string_equal(got, "webhook:all");
	cfg.n_webhooks = 0;
	route_free(r);
	assert_int_equal(route_new(&cfg, &r), 0);
	assert_null(route_event_sinks(r, &ev)[0]);
	route_free(r);
	assert_null(route_free(NULL));
}

static void test_sink_name(void **state)
{
	char *s = route_webhook_sink("ops \"team\"");

	(void)state;
	assert_string_equal(s, "webhook:ops \"team\"");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_event_sinks),
	    cmocka_unit_test(test_journal_off),
	    cmocka_unit_test(test_sink_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
