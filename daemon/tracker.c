/* The job table and transition detection (see tracker.h).
 *
 * Memory per job: one struct tracked_job (200 bytes on x86-64) plus its
 * strings, one 8-byte slot in the insertion-order array and two 8-byte slots
 * in the open-addressing index (load factor <= 1/2).  No per-job OS handle:
 * polling is driven by the sched heap through the embedded sched_node. */
#include "tracker.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define TRACKER_SOURCES_MAX 4096

/* One index slot: the job's position in t->jobs plus one (0 = empty) and
 * its hash, so most probes skip without touching the job. */
struct tracker_slot {
	uint32_t hash;
	uint32_t pos1;
};

struct tracker {
	struct store *store;
	char *region;
	int64_t stuck_after_ms;
	int64_t (*now_mono)(void *userdata); /* NULL: stays measured on the wall clock */
	void *mono_userdata;
	tracker_sinks_fn sinks;
	void *sinks_userdata;
	tracker_event_fn on_event;
	void *on_event_userdata;

	struct tracked_job **jobs;
	size_t n_jobs;
	size_t alloc_jobs;
	struct tracker_slot *slots;
	size_t n_slots; /* power of two */

	char **sources;
	size_t n_sources;

	struct tracker_stats stats;
};

static uint32_t tracker_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (uint32_t)(h ^ (h >> 32));
}

static struct tracker_slot *tracker_lookup(const struct tracker *t, const char *arn, uint32_t h)
{
	size_t mask = t->n_slots - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct tracker_slot *sl = &t->slots[i];
		if (sl->pos1 == 0)
			return sl;
		if (sl->hash == h && strcmp(t->jobs[sl->pos1 - 1]->arn, arn) == 0)
			return sl;
	}
}

static int tracker_grow_index(struct tracker *t)
{
	size_t n = t->n_slots ? t->n_slots * 2 : 1024;
	struct tracker_slot *old = t->slots;
	size_t old_n = t->n_slots;

	if (n > (size_t)UINT32_MAX)
		return -E2BIG;
	t->slots = calloc(n, sizeof(*t->slots));
	if (!t->slots) {
		t->slots = old;
		return -ENOMEM;
	}
	t->n_slots = n;
	for (size_t i = 0; i < old_n; i++) {
		size_t mask = n - 1, k;
		if (old[i].pos1 == 0)
			continue;
		for (k = old[i].hash & mask; t->slots[k].pos1; k = (k + 1) & mask)
			;
		t->slots[k] = old[i];
	}
	free(old);
	return 0;
}

struct tracked_job *tracker_find(struct tracker *t, const char *arn)
{
	struct tracker_slot *sl;

	if (!t || !arn || t->n_slots == 0)
		return NULL;
	sl = tracker_lookup(t, arn, tracker_hash(arn));
	return sl->pos1 ? t->jobs[sl->pos1 - 1] : NULL;
}

size_t tracker_size(const struct tracker *t)
{
	return t ? t->n_jobs : 0;
}

struct tracked_job *tracker_job_at(struct tracker *t, size_t i)
{
	return t && i < t->n_jobs ? t->jobs[i] : NULL;
}

struct tracked_job *tracker_job_from_sched(struct sched_node *n)
{
	return n ? (struct tracked_job *)(void *)((char *)n - offsetof(struct tracked_job, sched)) : NULL;
}

static const char *tracker_intern(struct tracker *t, const char *source)
{
	char **v;

	if (!source)
		source = "config";
	for (size_t i = 0; i < t->n_sources; i++)
		if (strcmp(t->sources[i], source) == 0)
			return t->sources[i];
	if (t->n_sources >= TRACKER_SOURCES_MAX)
		return NULL;
	v = realloc(t->sources, (t->n_sources + 1) * sizeof(*v));
	if (!v)
		return NULL;
	t->sources = v;
	v[t->n_sources] = strdup(source);
	if (!v[t->n_sources])
		return NULL;
	return v[t->n_sources++];
}

static void tracked_job_free(struct tracked_job *j)
{
	if (!j)
		return;
	free(j->arn);
	free(j->name);
	free(j->status_code);
	free(j->status_message);
	free(j->collaboration_id);
	free(j->configured_audience_model_arn);
	free(j->last_error);
	free(j);
}

/* Inserts a fresh job (status INVALID, unwatched) for arn. */
static int tracker_insert(struct tracker *t, const char *arn, const char *source, struct tracked_job **ret)
{
	struct tracked_job *j;
	struct tracker_slot *sl;
	uint32_t h = tracker_hash(arn);
	int r;

	if (t->n_jobs >= UINT32_MAX - 1)
		return -E2BIG;
	if ((t->n_jobs + 1) * 2 > t->n_slots) {
		r = tracker_grow_index(t);
		if (r < 0)
			return r;
	}
	if (t->n_jobs == t->alloc_jobs) {
		size_t a = t->alloc_jobs ? t->alloc_jobs * 2 : 256;
		struct tracked_job **v = realloc(t->jobs, a * sizeof(*v));
		if (!v)
			return -ENOMEM;
		t->jobs = v;
		t->alloc_jobs = a;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->arn = strdup(arn);
	j->source = tracker_intern(t, source);
	if (!j->arn || !j->source) {
		r = j->arn ? -E2BIG : -ENOMEM;
		tracked_job_free(j);
		return r;
	}
	j->status = JOB_STATUS_INVALID;
	/* A kind without a Get; discovery also marks other members' resources. */
	j->list_only = resource_kind_from_arn(arn, NULL) != KIND_INVALID &&
		       resource_kind_info(resource_kind_from_arn(arn, NULL))->list_only;
	sched_node_init(&j->sched);
	sl = tracker_lookup(t, arn, h);
	t->jobs[t->n_jobs++] = j;
	*sl = (struct tracker_slot){.hash = h, .pos1 = (uint32_t)t->n_jobs};
	*ret = j;
	return 0;
}

int tracker_new(struct store *store, const char *region, int64_t stuck_after_ms, tracker_sinks_fn sinks,
		void *sinks_userdata, struct tracker **ret)
{
	struct tracker *t;

	if (!ret || stuck_after_ms < 0)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->store = store;
	t->region = strdup_or_null(region);
	if (region && !t->region) {
		free(t);
		return -ENOMEM;
	}
	t->stuck_after_ms = stuck_after_ms;
	t->sinks = sinks;
	t->sinks_userdata = sinks_userdata;
	*ret = t;
	return 0;
}

struct tracker *tracker_free(struct tracker *t)
{
	if (!t)
		return NULL;
	for (size_t i = 0; i < t->n_jobs; i++)
		tracked_job_free(t->jobs[i]);
	free(t->jobs);
	free(t->slots);
	for (size_t i = 0; i < t->n_sources; i++)
		free(t->sources[i]);
	free(t->sources);
	free(t->region);
	free(t);
	return NULL;
}

void tracker_set_event_callback(struct tracker *t, tracker_event_fn cb, void *userdata)
{
	t->on_event = cb;
	t->on_event_userdata = userdata;
}

void tracker_set_stuck_after(struct tracker *t, int64_t stuck_after_ms)
{
	t->stuck_after_ms = stuck_after_ms > 0 ? stuck_after_ms : 0;
}

void tracker_set_mono_clock(struct tracker *t, int64_t (*now_mono_ms)(void *userdata), void *userdata)
{
	t->now_mono = now_mono_ms;
	t->mono_userdata = userdata;
}

static void job_to_row(const struct tracked_job *j, struct store_job *row)
{
	*row = (struct store_job){
	    .arn = j->arn,
	    .name = j->name,
	    .status = (enum job_status)j->status,
	    .status_code = j->status_code,
	    .status_message = j->status_message,
	    .update_time_ms = j->update_time_ms,
	    .create_time_ms = j->create_time_ms,
	    .collaboration_id = j->collaboration_id,
	    .configured_audience_model_arn = j->configured_audience_model_arn,
	    .first_seen_ms = j->first_seen_ms,
	    .last_seen_ms = j->last_seen_ms,
	    .last_poll_ms = j->last_poll_ms,
	    .last_success_ms = j->last_success_ms,
	    .polls = j->polls,
	    .poll_failures = j->poll_failures,
	    .consecutive_failures = j->consecutive_failures,
	    .last_error = j->last_error,
	    .status_since_ms = j->status_since_ms,
	    .stuck_emitted = j->stuck_emitted,
	    .not_found_ms = j->not_found_ms,
	    .watched = j->watched,
	    .source = j->source,
	    .gone = j->gone,
	    .list_only = j->list_only,
	};
}

/* Row writes that only carry counters or flags: a refused write is logged
 * at debug and retried implicitly by the job's next change. */
static void tracker_put_quietly(struct tracker *t, const struct tracked_job *j)
{
	struct store_job row;
	int r;

	if (!t->store)
		return;
	job_to_row(j, &row);
	r = store_put_job(t->store, &row);
	if (r < 0)
		log_debug_errno(r, "tracker: storing job row failed");
}

static int set_str(char **dst, const char *src)
{
	char *c;

	if (*dst == src)
		return 0;
	if (src && *dst && strcmp(*dst, src) == 0)
		return 0;
	c = strdup_or_null(src);
	if (src && !c)
		return -ENOMEM;
	free(*dst);
	*dst = c;
	return 0;
}

static int load_one(const struct store_job *row, void *userdata)
{
	struct tracker *t = userdata;
	struct tracked_job *j = tracker_find(t, row->arn);
	bool existed = j != NULL;
	int r = 0;

	if (str_empty(row->arn) || strlen(row->arn) > TRACKER_ARN_MAX)
		return 0;
	if (!j) {
		r = tracker_insert(t, row->arn, row->source, &j);
		if (r < 0)
			return r;
		j->watched = row->watched;
	}
	/* Rows come from our own file; an unknown status reads as "never
	 * seen", so the next poll re-announces rather than silently skips. */
	j->status = (int8_t)row->status;
	if (r >= 0)
		r = set_str(&j->name, row->name);
	if (r >= 0)
		r = set_str(&j->status_code, row->status_code);
	if (r >= 0)
		r = set_str(&j->status_message, row->status_message);
	if (r >= 0)
		r = set_str(&j->collaboration_id, row->collaboration_id);
	if (r >= 0)
		r = set_str(&j->configured_audience_model_arn, row->configured_audience_model_arn);
	if (r >= 0)
		r = set_str(&j->last_error, row->last_error);
	if (r < 0)
		return r;
	j->update_time_ms = row->update_time_ms;
	j->create_time_ms = row->create_time_ms;
	j->status_since_ms = row->status_since_ms;
	j->first_seen_ms = row->first_seen_ms;
	j->last_seen_ms = row->last_seen_ms;
	j->last_poll_ms = row->last_poll_ms;
	j->last_success_ms = row->last_success_ms;
	j->polls = (uint32_t)(row->polls > UINT32_MAX ? UINT32_MAX : row->polls < 0 ? 0 : row->polls);
	j->poll_failures = (uint32_t)(row->poll_failures > UINT32_MAX ? UINT32_MAX
				      : row->poll_failures < 0	      ? 0
								      : row->poll_failures);
	j->consecutive_failures = (uint32_t)(row->consecutive_failures > UINT32_MAX ? UINT32_MAX
					     : row->consecutive_failures < 0	    ? 0
									     : row->consecutive_failures);
	j->stuck_emitted = row->stuck_emitted;
	j->not_found_ms = row->not_found_ms;
	j->gone = row->gone;
	j->list_only = j->list_only || row->list_only;
	if (!existed)
		t->stats.watched += j->watched;
	return 0;
}

int tracker_load(struct tracker *t)
{
	if (!t || !t->store)
		return -EINVAL;
	return store_load_jobs(t->store, load_one, t);
}

int tracker_add(struct tracker *t, const char *arn, const char *source, struct tracked_job **ret_job)
{
	struct tracked_job *j;
	int r;

	if (!t || str_empty(arn) || strlen(arn) > TRACKER_ARN_MAX)
		return -EINVAL;
	j = tracker_find(t, arn);
	if (j) {
		if (!j->watched) {
			const char *src = tracker_intern(t, source);
			if (!src)
				return -E2BIG;
			j->watched = true;
			j->source = src;
			t->stats.watched++;
			tracker_put_quietly(t, j);
		}
		if (ret_job)
			*ret_job = j;
		return 0;
	}
	r = tracker_insert(t, arn, source, &j);
	if (r < 0)
		return r;
	j->watched = true;
	t->stats.watched++;
	tracker_put_quietly(t, j);
	if (ret_job)
		*ret_job = j;
	return 1;
}

int tracker_unwatch(struct tracker *t, const char *arn)
{
	struct tracked_job *j = tracker_find(t, arn);

	if (!j)
		return -ENOENT;
	if (j->watched) {
		j->watched = false;
		t->stats.watched--;
		tracker_put_quietly(t, j);
	}
	return 0;
}

/* Rebuilds the index after the job array changed order; the slot array
 * keeps its size (positions, not hashes, moved). */
static void tracker_reindex(struct tracker *t)
{
	size_t mask = t->n_slots - 1;

	memset(t->slots, 0, t->n_slots * sizeof(*t->slots));
	for (size_t i = 0; i < t->n_jobs; i++) {
		uint32_t h = tracker_hash(t->jobs[i]->arn);
		size_t k;

		for (k = h & mask; t->slots[k].pos1; k = (k + 1) & mask)
			;
		t->slots[k] = (struct tracker_slot){.hash = h, .pos1 = (uint32_t)(i + 1)};
	}
}

int tracker_forget(struct tracker *t, const char *arn)
{
	struct tracker_slot *sl;
	struct tracked_job *j;
	size_t pos;
	int r;

	if (!t || !arn || t->n_slots == 0)
		return -ENOENT;
	sl = tracker_lookup(t, arn, tracker_hash(arn));
	if (!sl->pos1)
		return -ENOENT;
	pos = sl->pos1 - 1;
	j = t->jobs[pos];
	if (t->store) {
		r = store_delete_job(t->store, arn);
		if (r < 0)
			return r;
	}
	if (j->watched)
		t->stats.watched--;
	/* Insertion order is kept (listings and /v1/jobs show it); the
	 * O(n) shift and re-index are fine for a rate-limited API call. */
	memmove(&t->jobs[pos], &t->jobs[pos + 1], (t->n_jobs - pos - 1) * sizeof(*t->jobs));
	t->n_jobs--;
	tracker_reindex(t);
	tracked_job_free(j);
	return 0;
}

static int tracker_store_event(struct tracker *t, struct event *e)
{
	const char *const *sinks = t->sinks ? t->sinks(e, t->sinks_userdata) : NULL;
	int r;

	if (!t->store)
		return STORE_EVENT_ADDED;
	r = store_add_event(t->store, e, sinks);
	if (r == STORE_EVENT_DUPLICATE)
		t->stats.duplicate_events++;
	return r;
}

/* Writes events[0..n) and then the row for next -- events first: if the
 * batch is cut between the two, a stored event without its row is found
 * again (same id, a duplicate) on the next poll, whereas a row without its
 * event would lose the event for good. */
static int tracker_commit(struct tracker *t, const struct tracked_job *next, struct event *events, size_t n,
			  bool *added)
{
	struct store_job row;
	int r;

	for (size_t i = 0; i < n; i++) {
		r = tracker_store_event(t, &events[i]);
		if (r < 0)
			return log_debug_errno(r, "tracker: storing event failed");
		added[i] = r == STORE_EVENT_ADDED;
	}
	if (!t->store)
		return 0;
	job_to_row(next, &row);
	r = store_put_job(t->store, &row);
	if (r < 0)
		return log_debug_errno(r, "tracker: storing job row failed");
	return 0;
}

/* Copies next's strings and scalars into j (the table entry). */
static int tracker_apply(struct tracked_job *j, const struct tracked_job *next)
{
	int r = set_str(&j->name, next->name);

	if (r >= 0)
		r = set_str(&j->status_code, next->status_code);
	if (r >= 0)
		r = set_str(&j->status_message, next->status_message);
	if (r >= 0)
		r = set_str(&j->collaboration_id, next->collaboration_id);
	if (r >= 0)
		r = set_str(&j->configured_audience_model_arn, next->configured_audience_model_arn);
	if (r >= 0)
		r = set_str(&j->last_error, next->last_error);
	if (r < 0)
		return r;
	j->update_time_ms = next->update_time_ms;
	j->create_time_ms = next->create_time_ms;
	j->status_since_ms = next->status_since_ms;
	j->first_seen_ms = next->first_seen_ms;
	j->last_seen_ms = next->last_seen_ms;
	j->last_poll_ms = next->last_poll_ms;
	j->last_success_ms = next->last_success_ms;
	j->polls = next->polls;
	j->poll_failures = next->poll_failures;
	j->consecutive_failures = next->consecutive_failures;
	j->status = next->status;
	j->stuck_emitted = next->stuck_emitted;
	j->not_found_ms = next->not_found_ms;
	j->gone = next->gone;
	j->list_only = next->list_only;
	j->status_since_mono_ms = next->status_since_mono_ms;
	j->stay_anchored = next->stay_anchored;
	return 0;
}

static void tracker_notify(struct tracker *t, struct event *events, size_t n, const bool *added)
{
	for (size_t i = 0; i < n; i++) {
		if (!added[i])
			continue;
		t->stats.events++;
		if (t->on_event)
			t->on_event(&events[i], t->on_event_userdata);
	}
}

static size_t count_added(const bool *added, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += added[i];
	return c;
}

static void event_init(struct tracker *t, struct event *e, enum event_type type, enum job_status previous,
		       enum job_status status, int64_t id_time_ms, const struct job_observation *job,
		       int64_t now_ms)
{
	*e = (struct event){
	    .type = type,
	    .detected_ms = now_ms,
	    .previous_status = previous,
	    .status = status,
	    /* Borrowed for the duration of the call: never event_free()d. */
	    .region = t->region,
	    .job = (struct job_observation *)job,
	};
	event_compute_id(job->arn, previous, status, id_time_ms, type, e->id);
}

/* An observation built from the table entry, for events with no fresh
 * observation at hand (job.stuck from the timer, job.gone). */
static void observation_from_job(const struct tracked_job *j, enum job_status status,
				 struct job_observation *o)
{
	enum resource_kind kind = resource_kind_from_arn(j->arn, NULL);

	*o = (struct job_observation){
	    .kind = kind == KIND_INVALID ? KIND_AUDIENCE_GENERATION_JOB : kind,
	    .arn = j->arn,
	    .name = j->name,
	    .status = status,
	    .status_code = j->status_code,
	    .status_message = j->status_message,
	    .configured_audience_model_arn = j->configured_audience_model_arn,
	    .collaboration_id = j->collaboration_id,
	    .create_time_ms = j->create_time_ms,
	    .update_time_ms = j->update_time_ms,
	};
}

/* How long j has been in its status.  With a monotonic clock, the wall
 * clock gives the age once -- when the status was entered, or at the first
 * check after a load -- and from then on the monotonic clock counts, so a
 * step of the wall clock neither fires job.stuck early nor holds it back. */
static int64_t stay_ms(const struct tracker *t, struct tracked_job *j, int64_t now_ms)
{
	int64_t mono, age;

	if (!t->now_mono)
		return now_ms - j->status_since_ms;
	mono = t->now_mono(t->mono_userdata);
	if (!j->stay_anchored) {
		age = now_ms - j->status_since_ms;
		j->status_since_mono_ms = mono - (age > 0 ? age : 0);
		j->stay_anchored = true;
	}
	return mono - j->status_since_mono_ms;
}

static bool tracker_is_stuck(const struct tracker *t, struct tracked_job *j, int64_t now_ms)
{
	return t->stuck_after_ms > 0 && !j->stuck_emitted && j->status >= 0 &&
	       job_status_class((enum job_status)j->status) == STATUS_CLASS_WORKING &&
	       stay_ms(t, j, now_ms) >= t->stuck_after_ms;
}

static void stuck_event(struct tracker *t, const struct tracked_job *j, const struct job_observation *o,
			int64_t now_ms, struct event *e)
{
	/* status_since (the updateTime that entered the status) keeps the id
	 * the same for every daemon and every restart during one stay. */
	event_init(t, e, EVENT_JOB_STUCK, (enum job_status)j->status, (enum job_status)j->status,
		   j->status_since_ms, o, now_ms);
}

static bool str_differs(const char *a, const char *b)
{
	return (!a != !b) || (a && b && strcmp(a, b) != 0);
}

/* Whether next changes anything of j's row beyond the poll counters. */
static bool row_differs(const struct tracked_job *j, const struct tracked_job *next)
{
	return j->status != next->status || j->update_time_ms != next->update_time_ms ||
	       j->create_time_ms != next->create_time_ms || j->status_since_ms != next->status_since_ms ||
	       j->first_seen_ms != next->first_seen_ms ||
	       j->consecutive_failures != next->consecutive_failures ||
	       j->stuck_emitted != next->stuck_emitted || j->not_found_ms != next->not_found_ms ||
	       j->gone != next->gone || j->watched != next->watched || j->list_only != next->list_only ||
	       str_differs(j->name, next->name) || str_differs(j->status_code, next->status_code) ||
	       str_differs(j->status_message, next->status_message) ||
	       str_differs(j->collaboration_id, next->collaboration_id) ||
	       str_differs(j->configured_audience_model_arn, next->configured_audience_model_arn);
}

static void result_fill(const struct tracked_job *j, int events, enum tracker_not_found nf,
			struct tracker_result *ret)
{
	if (!j || !ret)
		return;
	*ret = (struct tracker_result){
	    .events = events > 0 ? events : 0,
	    .class = job_status_class((enum job_status)j->status),
	    .gone = j->gone,
	    .not_found = nf,
	};
}

static int observe(struct tracker *t, const struct job_observation *obs, int64_t now_ms)
{
	struct tracked_job *j, next;
	struct event events[2];
	bool added[2] = {false, false};
	size_t n = 0;
	int r;

	if (!t || !obs || !obs->arn)
		return -EINVAL;
	j = tracker_find(t, obs->arn);
	if (!j)
		return -ENOENT;
	if (!job_status_is_api(obs->status))
		return -EINVAL;
	t->stats.observations++;
	next = *j;
	next.last_seen_ms = now_ms;
	next.last_poll_ms = now_ms;
	next.last_success_ms = now_ms;
	next.polls = j->polls < UINT32_MAX ? j->polls + 1 : j->polls;
	next.consecutive_failures = 0;
	if (next.first_seen_ms == 0)
		next.first_seen_ms = now_ms;

	if (j->status == JOB_STATUS_INVALID || obs->update_time_ms >= j->update_time_ms) {
		bool entered = j->status != obs->status;

		next.status = (int8_t)obs->status;
		next.update_time_ms = obs->update_time_ms;
		if (obs->create_time_ms)
			next.create_time_ms = obs->create_time_ms;
		if (obs->name)
			next.name = obs->name;
		if (obs->collaboration_id)
			next.collaboration_id = obs->collaboration_id;
		if (obs->configured_audience_model_arn)
			next.configured_audience_model_arn = obs->configured_audience_model_arn;
		/* List summaries carry no statusDetails: keep the stored ones
		 * unless the status moved on. */
		if (!obs->from_list || entered) {
			next.status_code = obs->status_code;
			next.status_message = obs->status_message;
		}
		next.gone = false;
		if (entered) {
			next.status_since_ms = obs->update_time_ms > 0 ? obs->update_time_ms : now_ms;
			next.stay_anchored = false;
			next.stuck_emitted = false;
			if (j->status == JOB_STATUS_INVALID)
				event_init(t, &events[n++], EVENT_JOB_DISCOVERED, JOB_STATUS_INVALID,
					   obs->status, obs->update_time_ms, obs, now_ms);
			else
				event_init(t, &events[n++], EVENT_JOB_STATUS_CHANGED,
					   (enum job_status)j->status, obs->status, obs->update_time_ms, obs,
					   now_ms);
		}
		if (tracker_is_stuck(t, &next, now_ms)) {
			stuck_event(t, &next, obs, now_ms, &events[n++]);
			next.stuck_emitted = true;
		}
	} else {
		/* updateTime went backwards: an older answer (eventual
		 * consistency, a slow list page).  Not a transition. */
		t->stats.stale_observations++;
	}

	if (n == 0 && !row_differs(j, &next)) {
		/* Only counters moved: keep them in memory (see
		 * tracker_flush_dirty()). */
		r = tracker_apply(j, &next);
		if (r < 0)
			return r;
		j->dirty = true;
		return 0;
	}
	r = tracker_commit(t, &next, events, n, added);
	if (r < 0)
		return r;
	r = tracker_apply(j, &next);
	if (r < 0)
		return r;
	j->dirty = false;
	tracker_notify(t, events, n, added);
	return (int)count_added(added, n);
}

int tracker_observe(struct tracker *t, const struct job_observation *obs, int64_t now_ms,
		    struct tracker_result *ret)
{
	int r = observe(t, obs, now_ms);

	if (ret && obs && obs->arn)
		result_fill(tracker_find(t, obs->arn), r, _TRACKER_NOT_FOUND_INVALID, ret);
	return r;
}

int tracker_flush_dirty(struct tracker *t)
{
	int n = 0;

	if (!t)
		return -EINVAL;
	for (size_t i = 0; i < t->n_jobs; i++) {
		struct tracked_job *j = t->jobs[i];
		if (!j->dirty)
			continue;
		tracker_put_quietly(t, j);
		j->dirty = false;
		n++;
	}
	return n;
}

int tracker_check_stuck(struct tracker *t, int64_t now_ms)
{
	int total = 0, r;

	if (!t)
		return -EINVAL;
	for (size_t i = 0; i < t->n_jobs; i++) {
		struct tracked_job *j = t->jobs[i], next;
		struct job_observation o;
		struct event e;
		bool added = false;

		if (!j->watched || !tracker_is_stuck(t, j, now_ms))
			continue;
		observation_from_job(j, (enum job_status)j->status, &o);
		stuck_event(t, j, &o, now_ms, &e);
		next = *j;
		next.stuck_emitted = true;
		r = tracker_commit(t, &next, &e, 1, &added);
		if (r < 0)
			return r;
		j->stuck_emitted = true;
		tracker_notify(t, &e, 1, &added);
		total += added;
	}
	return total;
}

int tracker_gone(struct tracker *t, const char *arn, int64_t now_ms)
{
	struct tracked_job *j = tracker_find(t, arn), next;
	struct job_observation o;
	struct event e;
	bool added = false;
	int r;

	if (!j || j->status == JOB_STATUS_INVALID)
		return -ENOENT;
	next = *j;
	next.last_poll_ms = now_ms;
	next.last_success_ms = now_ms;
	next.polls = j->polls < UINT32_MAX ? j->polls + 1 : j->polls;
	next.consecutive_failures = 0;
	if (j->gone) {
		(void)tracker_apply(j, &next);
		return 0;
	}
	observation_from_job(j, JOB_STATUS_GONE, &o);
	event_init(t, &e, EVENT_JOB_GONE, (enum job_status)j->status, JOB_STATUS_GONE, j->update_time_ms, &o,
		   now_ms);
	next.status = JOB_STATUS_GONE;
	next.gone = true;
	next.stuck_emitted = false;
	next.status_since_ms = now_ms;
	next.stay_anchored = false;
	r = tracker_commit(t, &next, &e, 1, &added);
	if (r < 0)
		return r;
	r = tracker_apply(j, &next);
	if (r < 0)
		return r;
	tracker_notify(t, &e, 1, &added);
	return added;
}

int tracker_refreshed(struct tracker *t, const char *arn, int64_t now_ms, struct tracker_result *ret)
{
	struct tracked_job *j = tracker_find(t, arn);

	if (!j)
		return -ENOENT;
	j->last_poll_ms = now_ms;
	j->last_success_ms = now_ms;
	j->dirty = true;
	result_fill(j, 0, _TRACKER_NOT_FOUND_INVALID, ret);
	return 0;
}

#define GONE_CONFIRM_MS	    5000
#define GONE_CONFIRM_MIN_MS 100

int64_t tracker_gone_confirm_ms(int64_t interval_ms)
{
	int64_t d = GONE_CONFIRM_MS;

	if (interval_ms > 0 && interval_ms < d)
		d = interval_ms;
	return d < GONE_CONFIRM_MIN_MS ? GONE_CONFIRM_MIN_MS : d;
}

enum tracker_not_found tracker_gone_rule(const struct tracked_job *j, int64_t first_mono_ms,
					 int64_t now_mono_ms, int64_t confirm_ms)
{
	if (j->status == JOB_STATUS_INVALID)
		return TRACKER_NOT_VISIBLE;
	if (j->gone || j->status == JOB_STATUS_DELETE_PENDING ||
	    j->status == JOB_STATUS_DELETE_IN_PROGRESS || j->status == JOB_STATUS_DELETE_FAILED)
		return TRACKER_GONE;
	if (first_mono_ms > 0 && now_mono_ms - first_mono_ms >= confirm_ms / 2)
		return TRACKER_GONE;
	return TRACKER_GONE_UNCONFIRMED;
}

int tracker_not_found(struct tracker *t, const char *arn, int64_t first_mono_ms, int64_t now_mono_ms,
		      int64_t confirm_ms, int64_t now_ms, struct tracker_result *ret)
{
	struct tracked_job *j = tracker_find(t, arn);
	enum tracker_not_found nf;
	int r = 0;

	if (!j)
		return -ENOENT;
	nf = tracker_gone_rule(j, first_mono_ms, now_mono_ms, confirm_ms);
	if (nf == TRACKER_GONE)
		r = tracker_gone(t, arn, now_ms);
	result_fill(j, r, nf, ret);
	return r;
}

int tracker_not_found_past_grace(struct tracker *t, const char *arn, int64_t now_ms,
				 struct tracker_result *ret)
{
	struct tracked_job *j = tracker_find(t, arn), next;
	struct job_observation o;
	struct event e;
	bool added = false;
	int r;

	if (!j)
		return -ENOENT;
	if (j->status != JOB_STATUS_INVALID) {
		result_fill(j, -EINVAL, TRACKER_NOT_VISIBLE, ret);
		return -EINVAL;
	}
	if (j->not_found_ms > 0) {
		result_fill(j, 0, TRACKER_NOT_VISIBLE, ret);
		return 0;
	}
	observation_from_job(j, JOB_STATUS_INVALID, &o);
	/* No updateTime to key on: one job.not_found per ARN, the same id for
	 * every daemon and every restart. */
	event_init(t, &e, EVENT_JOB_NOT_FOUND, JOB_STATUS_INVALID, JOB_STATUS_INVALID, 0, &o, now_ms);
	next = *j;
	next.not_found_ms = now_ms;
	r = tracker_commit(t, &next, &e, 1, &added);
	if (r >= 0)
		r = tracker_apply(j, &next);
	if (r >= 0) {
		tracker_notify(t, &e, 1, &added);
		r = added;
	}
	result_fill(j, r, TRACKER_NOT_VISIBLE, ret);
	return r;
}

/* Keeps at most TRACKER_LAST_ERROR_MAX bytes without cutting a UTF-8
 * sequence in half. */
static char *error_truncate(const char *s)
{
	size_t n = strlen(s);
	char *c;

	if (n > TRACKER_LAST_ERROR_MAX) {
		n = TRACKER_LAST_ERROR_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	c = malloc(n + 1);
	if (!c)
		return NULL;
	memcpy(c, s, n);
	c[n] = '\0';
	return c;
}

int tracker_poll_failed(struct tracker *t, const char *arn, int64_t now_ms, const char *error_text,
			struct tracker_result *ret)
{
	struct tracked_job *j = tracker_find(t, arn);
	char *err;

	if (!j)
		return -ENOENT;
	result_fill(j, 0, _TRACKER_NOT_FOUND_INVALID, ret);
	err = error_truncate(error_text ? error_text : "unknown error");
	if (!err)
		return -ENOMEM;
	free(j->last_error);
	j->last_error = err;
	j->last_poll_ms = now_ms;
	if (j->polls < UINT32_MAX)
		j->polls++;
	if (j->poll_failures < UINT32_MAX)
		j->poll_failures++;
	if (j->consecutive_failures < UINT32_MAX)
		j->consecutive_failures++;
	t->stats.poll_failures++;
	tracker_put_quietly(t, j);
	return 0;
}

void tracker_get_stats(const struct tracker *t, struct tracker_stats *ret)
{
	*ret = t->stats;
	ret->jobs = t->n_jobs;
}
