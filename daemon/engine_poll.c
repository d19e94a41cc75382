/* Polling: the scheduler's heap drives one uv_timer_t; due jobs become
 * GetAudienceGenerationJob calls while fewer than max_inflight are out (the
 * AWS client's token bucket then paces them at max_rps).  Each answer goes
 * to the tracker; a failed poll is only counted and logged, never an event. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "log.h"
#include "util.h"

/* Always use this function to change a job's poll state (as libcurl's
 * mstate()): the one writer of job_poll.state. */
static void poll_set_state(struct tracked_job *j, enum poll_state s)
{
	j->poll.state = (int8_t)s;
}

/* soon: the poll failed for the service's reasons and saw nothing, so the
 * job is already an interval behind; the next look comes half an interval
 * after the failed poll started (at once when its retries took longer:
 * they already waited).  That costs little -- an isolated failure is rare
 * (the client retried it), and a run of them opens the breaker, which sends
 * only probes -- and it keeps a transition from waiting two full intervals
 * plus the retries' backoff.  tr: what the tracker decided about the answer;
 * elapsed_ms: how long the failed poll took. */
static void reschedule(struct engine *e, struct tracked_job *j, const struct tracker_result *tr, bool soon,
		       uint64_t elapsed_ms)
{
	int64_t now = engine_now_mono_ms(e), due;

	if (!j->watched || tr->gone || e->stopping || j->list_only) {
		sched_remove(e->sched, &j->sched);
		return;
	}
	due = sched_next_poll_ms(now, tr->class, &e->pollcfg, j->poll.job_failures, engine_random());
	if (soon && due > now) {
		int64_t spent = elapsed_ms < (uint64_t)(due - now) ? (int64_t)elapsed_ms : due - now;

		due = now + (due - now) / 2 - spent;
		if (due < now)
			due = now;
	}
	if (due < 0)
		sched_remove(e->sched, &j->sched);
	else
		sched_set(e->sched, &j->sched, due);
}

static int64_t gone_confirm_ms(const struct engine *e)
{
	return tracker_gone_confirm_ms(e->pollcfg.interval_ms);
}

/* What comes after an answer: the job's next poll at its interval (or
 * sooner after a service failure), or the Get that confirms a 404. */
enum poll_next {
	POLL_NEXT_INTERVAL,
	POLL_NEXT_SOON,
	POLL_NEXT_CONFIRM,
	_POLL_NEXT_MAX,
	_POLL_NEXT_INVALID = -EINVAL,
};

static void answered(struct engine *e, int64_t now)
{
	e->polls_ok++;
	e->last_success_wall_ms = engine_now_wall_ms(e);
	e->last_success_mono_ms = now;
}

/* The service answered about the job itself: its 404 run and its own
 * failures are over. */
static void job_answered(struct tracked_job *j)
{
	j->poll.not_found_mono_ms = 0;
	j->poll.job_failures = 0;
}

/* One more answer about the job that is not a state: its polls back off. */
static void job_failed(struct tracked_job *j)
{
	if (j->poll.job_failures < UINT16_MAX)
		j->poll.job_failures++;
}

/* A poll that failed: counted, kept as the job's last error, logged.  A
 * failure of the service (service_wide: throttling, 5xx, network,
 * credentials) leaves the job's schedule alone and goes to the breaker;
 * one about this job (a malformed body, a 4xx about the request, another
 * job's ARN) backs the job off.  what NULL: the text of res. */
static void poll_failed(struct engine *e, struct tracked_job *j, const struct aws_result *res,
			const char *what, bool probe, struct tracker_result *tr)
{
	bool service_wide = breaker_outcome_is_service_wide(res->outcome);
	char buf[240];

	if (!what) {
		aws_result_format(res, buf, sizeof(buf));
		what = buf;
	}
	if (res->outcome != AWS_OK)
		snprintf(e->last_api_error, sizeof(e->last_api_error), "%s", what);
	tracker_poll_failed(e->tracker, j->arn, engine_now_wall_ms(e), what, tr);
	e->polls_failed++;
	if (service_wide) {
		engine_outage_failure(e, j, what, probe);
		return;
	}
	engine_warn_poll_failure(e, j->arn, what, LOG_WARNING);
	job_failed(j);
}

/* A never-seen job answered ResourceNotFoundException.  Reads are
 * eventually consistent, so a job named right after it was created is
 * polled at its interval for [poll] not_found_grace before it backs off
 * (a per-job backoff, capped at a few intervals). */
static void not_yet_visible(struct engine *e, struct tracked_job *j, const struct aws_result *res,
			    int64_t now, struct tracker_result *tr)
{
	int64_t grace = (int64_t)e->cfg->poll.not_found_grace_ms;
	char what[240], g[32];
	int r;

	/* The service answered (jobwatchd_polls_total counts 404s); the job
	 * keeps the answer as its last error. */
	aws_result_format(res, what, sizeof(what));
	tracker_poll_failed(e->tracker, j->arn, engine_now_wall_ms(e), what, tr);
	answered(e, now);
	format_duration((uint64_t)grace, g, sizeof(g));
	if (j->poll.not_found_mono_ms == 0) {
		j->poll.not_found_mono_ms = now;
		if (grace > 0)
			log_notice(
			    "%s is not visible to the service yet (ResourceNotFoundException); polling it "
			    "every interval for up to %s",
			    j->arn, g);
	}
	if (now - j->poll.not_found_mono_ms < grace)
		return;
	if (j->poll.job_failures == 0) {
		struct tracker_result nf;

		log_warning("%s still answers ResourceNotFoundException %s after it was first asked for; "
			    "its polls back off",
			    j->arn, g);
		/* A mistyped ARN would otherwise never alert: job.not_found,
		 * once per ARN (the tracker keeps that across restarts). */
		r = tracker_not_found_past_grace(e->tracker, j->arn, engine_now_wall_ms(e), &nf);
		if (r < 0)
			log_warning_errno(r, "recording job.not_found for %s failed: %m", j->arn);
		else
			engine_events_stored(e, nf.events);
	}
	job_failed(j);
}

/* ResourceNotFoundException: the tracker's gone rule decides
 * (tracker_gone_rule()); the engine keeps when the run of them began and
 * schedules what the decision asks. */
static enum poll_next not_found(struct engine *e, struct tracked_job *j, const struct aws_result *res,
				int64_t now, struct tracker_result *tr)
{
	/* A store error leaves *tr saying the job as it stands: not gone, so
	 * the next poll finds it again. */
	(void)tracker_not_found(e->tracker, j->arn, j->poll.not_found_mono_ms, now, gone_confirm_ms(e),
				engine_now_wall_ms(e), tr);

	switch (tr->not_found) {
	case TRACKER_NOT_VISIBLE:
		not_yet_visible(e, j, res, now, tr);
		return POLL_NEXT_INTERVAL;
	case TRACKER_GONE_UNCONFIRMED:
		/* An answer, not a failure; the confirming Get decides. */
		if (j->poll.not_found_mono_ms == 0) {
			j->poll.not_found_mono_ms = now;
			/* Debug: a fleet deleted at once would log one line per job. */
			log_debug(
			    "%s answered ResourceNotFoundException in status %s; asking again in %" PRId64
			    " ms before reporting it gone",
			    j->arn, job_status_to_string((enum job_status)j->status), gone_confirm_ms(e));
		}
		answered(e, now);
		return POLL_NEXT_CONFIRM;
	case TRACKER_GONE:
		job_answered(j);
		engine_events_stored(e, tr->events);
		answered(e, now);
		return POLL_NEXT_INTERVAL;
	default:
		poll_failed(e, j, res, NULL, false, tr);
		return POLL_NEXT_INTERVAL;
	}
}

/* A 200 with the job's state. */
static void observed(struct engine *e, struct tracked_job *j, const struct job_observation *obs, int64_t now,
		     struct tracker_result *tr)
{
	int r;

	if (j->poll.not_found_mono_ms > 0 && j->status == JOB_STATUS_INVALID)
		log_info("%s is visible now, %" PRId64 " ms after its first ResourceNotFoundException",
			 j->arn, now - j->poll.not_found_mono_ms);
	else if (j->poll.not_found_mono_ms > 0)
		log_notice("%s answered again after a ResourceNotFoundException %" PRId64
			   " ms earlier: not gone",
			   j->arn, now - j->poll.not_found_mono_ms);
	job_answered(j);
	r = tracker_observe(e->tracker, obs, engine_now_wall_ms(e), tr);
	if (r < 0)
		log_warning_errno(r, "recording the state of %s failed: %m", j->arn);
	engine_events_stored(e, tr->events);
	answered(e, now);
}

/* Whatever the answer says, it goes to the tracker (which says in *tr what
 * it decided) or counts as a failure; the return says when the job is
 * polled next. */
static enum poll_next on_answer(struct engine *e, struct tracked_job *j, const struct aws_result *res,
				const struct job_observation *obs, bool probe, int64_t now,
				struct tracker_result *tr)
{
	if (breaker_outcome_is_service_wide(res->outcome)) {
		poll_failed(e, j, res, NULL, probe, tr);
		return POLL_NEXT_SOON;
	}
	/* Whatever it says about the job, the service answered. */
	engine_outage_answer(e);
	if (res->outcome == AWS_OK && obs && strcmp(obs->arn, j->arn) != 0) {
		/* An answer about another job is a protocol error, not a state. */
		poll_failed(e, j, res, "the answer names another job", probe, tr);
		return POLL_NEXT_INTERVAL;
	}
	if (res->outcome == AWS_OK && obs) {
		observed(e, j, obs, now, tr);
		return POLL_NEXT_INTERVAL;
	}
	if (res->outcome == AWS_NOT_FOUND)
		return not_found(e, j, res, now, tr);
	poll_failed(e, j, res, NULL, probe, tr);
	return POLL_NEXT_INTERVAL;
}

static void on_get(void *userdata, const struct aws_result *res, struct job_observation *obs)
{
	/* The job (nothing forgets a job while its Get is in flight), and the
	 * engine that sent it. */
	struct tracked_job *j = userdata;
	struct engine *e = j->poll.engine;
	int64_t now = engine_now_mono_ms(e);
	bool probe = e->probe_job == j, repoll = j->poll.state == POLL_SENT_REPOLL;
	/* Stays so only if the tracker could not say (the job is always in
	 * its table while a Get is out). */
	struct tracker_result tr = {.class = STATUS_CLASS_INVALID, .not_found = _TRACKER_NOT_FOUND_INVALID};
	enum poll_next next;

	e->inflight--;
	poll_set_state(j, POLL_IDLE);
	if (probe)
		e->probe_job = NULL;
	if (res->outcome == AWS_CANCELLED) {
		if (probe)
			breaker_probe_abandoned(&e->breaker);
		job_observation_free(obs);
		return;
	}

	next = on_answer(e, j, res, obs, probe, now, &tr);
	job_observation_free(obs);
	if (next == POLL_NEXT_CONFIRM) {
		/* The confirming Get is also the fresh look a repoll asked for. */
		if (j->watched && !e->stopping)
			sched_set(e->sched, &j->sched, now + gone_confirm_ms(e));
	} else {
		reschedule(e, j, &tr, next == POLL_NEXT_SOON, res->elapsed_ms);
		if (repoll && j->watched && !tr.gone && !e->stopping)
			/* Something (a List summary, an operator) asked for a
			 * fresh look while this Get was out; its answer may
			 * predate that. */
			sched_set(e->sched, &j->sched, now);
	}
	/* While stopping, engine.c finishes once the last Get is back. */
	engine_poll_arm(e);
}

/* While the breaker is open, the only Get that goes is its probe: the
 * job that has waited longest, with one attempt (the probe is the retry). */
static void poll_dispatch(struct engine *e)
{
	int64_t now = engine_now_mono_ms(e);
	struct sched_node *n;

	while (!e->stopping && e->inflight < e->max_inflight) {
		bool probe = !breaker_allows_polls(&e->breaker);
		struct aws_call *call = NULL;
		struct tracked_job *j;
		int r;

		if (probe && breaker_probe_wait_ms(&e->breaker, now) != 0)
			break;
		n = sched_pop_due(e->sched, now);
		if (!n)
			break;
		j = tracker_job_from_sched(n);
		if (!j->watched || j->gone || j->list_only || job_poll_in_flight(&j->poll))
			continue;
		j->poll.engine = e;
		r = aws_get_job(e->aws, j->arn, on_get, j, &call);
		if (r < 0) {
			log_warning_errno(r, "cannot poll %s: %m", j->arn);
			/* Try again later rather than spinning on it. */
			sched_set(e->sched, &j->sched, now + e->pollcfg.interval_ms);
			continue;
		}
		e->inflight++;
		poll_set_state(j, POLL_SENT);
		if (probe) {
			aws_call_set_max_attempts(call, 1);
			e->probe_job = j;
			breaker_probe_sent(&e->breaker, now);
			log_debug("probing the AWS API with a Get of %s", j->arn);
		}
	}
}

static void poll_timer_cb(uv_timer_t *t)
{
	engine_poll_arm(t->data);
}

void engine_poll_arm(struct engine *e)
{
	int64_t due, now;

	if (e->stopping)
		return;
	poll_dispatch(e);
	if (e->inflight >= e->max_inflight) {
		/* A completion re-arms us. */
		uv_timer_stop(&e->poll_timer);
		return;
	}
	due = sched_peek_due(e->sched);
	if (due < 0) {
		uv_timer_stop(&e->poll_timer);
		return;
	}
	now = engine_now_mono_ms(e);
	if (!breaker_allows_polls(&e->breaker)) {
		int64_t wait = breaker_probe_wait_ms(&e->breaker, now);

		if (wait < 0) {
			/* The probe is out; its completion re-arms us. */
			uv_timer_stop(&e->poll_timer);
			return;
		}
		if (now + wait > due)
			due = now + wait;
	}
	uv_timer_start(&e->poll_timer, poll_timer_cb, due > now ? (uint64_t)(due - now) : 0, 0);
}

void engine_schedule_initial(struct engine *e)
{
	size_t n = tracker_size(e->tracker), k = 0, total = 0;
	int64_t now = engine_now_mono_ms(e);

	for (size_t i = 0; i < n; i++) {
		struct tracked_job *j = tracker_job_at(e->tracker, i);
		if (j->watched && !j->gone && !j->list_only)
			total++;
	}
	/* Every watched job is polled once after start, whatever its class:
	 * the first poll compares with the stored status, which catches what
	 * changed while the daemon was down. */
	for (size_t i = 0; i < n; i++) {
		struct tracked_job *j = tracker_job_at(e->tracker, i);
		if (!j->watched || j->gone || j->list_only)
			continue;
		sched_set(e->sched, &j->sched,
			  sched_initial_poll_ms(now, k++, total, e->pollcfg.interval_ms, e->cfg->aws.max_rps,
						engine_random()));
	}
}

void engine_schedule_soon(struct engine *e, struct tracked_job *j)
{
	if (!sched_node_is_scheduled(&j->sched))
		sched_set(e->sched, &j->sched, engine_now_mono_ms(e));
}

void engine_stuck_timer_cb(uv_timer_t *t)
{
	struct engine *e = t->data;
	int r = tracker_check_stuck(e->tracker, engine_now_wall_ms(e));
	if (r < 0)
		log_warning_errno(r, "checking for stuck jobs failed: %m");
	engine_events_stored(e, r);
}

/* Discovery or the control API wants j polled now, even if its next poll
 * is scheduled later (a List summary changed, or an operator added it). */
void engine_poll_soon_cb(void *userdata, struct tracked_job *j)
{
	struct engine *e = userdata;

	if (e->stopping || !j->watched || j->gone || j->list_only)
		return;
	if (job_poll_in_flight(&j->poll)) {
		poll_set_state(j, POLL_SENT_REPOLL);
		return;
	}
	sched_set(e->sched, &j->sched, engine_now_mono_ms(e));
	engine_poll_arm(e);
}

/* A List page confirmed j's status and updateTime: that is as good as a
 * Get for freshness, so the next Get moves out by a full interval. */
void engine_refreshed_cb(void *userdata, struct tracked_job *j, const struct job_observation *summary)
{
	struct engine *e = userdata;
	int64_t wall = engine_now_wall_ms(e);
	struct tracker_result tr = {.class = STATUS_CLASS_INVALID, .not_found = _TRACKER_NOT_FOUND_INVALID};

	(void)summary;
	(void)tracker_refreshed(e->tracker, j->arn, wall, &tr);
	/* A List page is an answer of the service too. */
	engine_outage_answer(e);
	e->last_success_wall_ms = wall;
	e->last_success_mono_ms = engine_now_mono_ms(e);
	reschedule(e, j, &tr, false, 0);
}

/* A listing showed a list-only job's summary: it is the job's poll. */
void engine_list_observed_cb(void *userdata, struct tracked_job *j, const struct job_observation *summary)
{
	struct engine *e = userdata;
	int64_t wall = engine_now_wall_ms(e);
	struct tracker_result tr = {.class = STATUS_CLASS_INVALID, .not_found = _TRACKER_NOT_FOUND_INVALID};
	int r = tracker_observe(e->tracker, summary, wall, &tr);

	if (r < 0)
		log_warning_errno(r, "recording the state of %s failed: %m", j->arn);
	engine_events_stored(e, tr.events);
	engine_outage_answer(e);
	e->last_success_wall_ms = wall;
	e->last_success_mono_ms = engine_now_mono_ms(e);
}

/* A list-only job is missing from a complete listing: gone. */
void engine_list_vanished_cb(void *userdata, struct tracked_job *j)
{
	struct engine *e = userdata;
	int r = tracker_gone(e->tracker, j->arn, engine_now_wall_ms(e));

	if (r < 0 && r != -ENOENT)
		log_warning_errno(r, "recording %s as gone failed: %m", j->arn);
	engine_events_stored(e, r);
	sched_remove(e->sched, &j->sched);
}

void engine_unwatched_cb(void *userdata, struct tracked_job *j)
{
	struct engine *e = userdata;
	sched_remove(e->sched, &j->sched);
}
