/* Min-heap of poll due times and the poll-interval policy (see scheduler.h). */
#include "scheduler.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

/* Due time and node side by side: comparisons during sift stay inside the
 * heap array instead of chasing a pointer per level. */
struct sched_entry {
	int64_t due_ms;
	struct sched_node *node;
};

struct sched {
	struct sched_entry *heap;
	size_t n;
	size_t alloc;
};

void sched_node_init(struct sched_node *n)
{
	n->index = SCHED_NONE;
}

bool sched_node_is_scheduled(const struct sched_node *n)
{
	return n->index != SCHED_NONE;
}

struct sched *sched_new(void)
{
	return calloc(1, sizeof(struct sched));
}

struct sched *sched_free(struct sched *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n; i++)
		s->heap[i].node->index = SCHED_NONE;
	free(s->heap);
	free(s);
	return NULL;
}

static void sched_place(struct sched *s, size_t i, struct sched_entry e)
{
	s->heap[i] = e;
	e.node->index = (uint32_t)i;
}

static void sched_sift_up(struct sched *s, size_t i)
{
	struct sched_entry e = s->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (s->heap[parent].due_ms <= e.due_ms)
			break;
		sched_place(s, i, s->heap[parent]);
		i = parent;
	}
	sched_place(s, i, e);
}

static void sched_sift_down(struct sched *s, size_t i)
{
	struct sched_entry e = s->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= s->n)
			break;
		if (c + 1 < s->n && s->heap[c + 1].due_ms < s->heap[c].due_ms)
			c++;
		if (e.due_ms <= s->heap[c].due_ms)
			break;
		sched_place(s, i, s->heap[c]);
		i = c;
	}
	sched_place(s, i, e);
}

int sched_set(struct sched *s, struct sched_node *n, int64_t due_ms)
{
	size_t i;

	if (!s || !n)
		return -EINVAL;
	if (sched_node_is_scheduled(n)) {
		i = n->index;
		if (i >= s->n || s->heap[i].node != n)
			return -EINVAL;
		s->heap[i].due_ms = due_ms;
		sched_sift_up(s, i);
		sched_sift_down(s, n->index);
		return 0;
	}
	if (s->n >= SCHED_NONE - 1)
		return -E2BIG;
	if (s->n == s->alloc) {
		size_t a = s->alloc ? s->alloc * 2 : 64;
		struct sched_entry *h = realloc(s->heap, a * sizeof(*h));
		if (!h)
			return -ENOMEM;
		s->heap = h;
		s->alloc = a;
	}
	i = s->n++;
	s->heap[i] = (struct sched_entry){.due_ms = due_ms, .node = n};
	sched_sift_up(s, i);
	return 0;
}

void sched_remove(struct sched *s, struct sched_node *n)
{
	size_t i;

	if (!s || !n || !sched_node_is_scheduled(n))
		return;
	i = n->index;
	if (i >= s->n || s->heap[i].node != n)
		return;
	n->index = SCHED_NONE;
	s->n--;
	if (i == s->n)
		return;
	/* The last entry fills the hole and may have to move either way. */
	{
		struct sched_node *moved = s->heap[s->n].node;
		sched_place(s, i, s->heap[s->n]);
		sched_sift_up(s, i);
		sched_sift_down(s, moved->index);
	}
}

int64_t sched_node_due(const struct sched *s, const struct sched_node *n)
{
	if (!s || !n || !sched_node_is_scheduled(n) || n->index >= s->n)
		return -1;
	return s->heap[n->index].due_ms;
}

int64_t sched_peek_due(const struct sched *s)
{
	return s && s->n ? s->heap[0].due_ms : -1;
}

struct sched_node *sched_pop_due(struct sched *s, int64_t now_ms)
{
	struct sched_node *n;

	if (!s || s->n == 0 || s->heap[0].due_ms > now_ms)
		return NULL;
	n = s->heap[0].node;
	sched_remove(s, n);
	return n;
}

size_t sched_size(const struct sched *s)
{
	return s ? s->n : 0;
}

/* Backoff after failed polls about this job: delay = base * 2^failures,
 * capped at SCHED_JOB_BACKOFF_FACTOR * base (and backoff_max), but never
 * below base -- a settled job polled hourly keeps its hour, it is not polled
 * *more* often because it failed.  The cap is small on purpose: an answer
 * about one job (a malformed body, a job the service does not know yet) says
 * little about when it will be right, and a job backed off for 15 minutes
 * misses every transition meanwhile.  A failing service is the engine's
 * breaker's business, never a reason to push one job out. */
int64_t sched_next_poll_ms(int64_t now_mono_ms, enum status_class cls, const struct sched_poll_config *cfg,
			   unsigned job_failures, double rnd)
{
	int64_t base, delay, cap;
	double jitter, d;

	if (!cfg)
		return -1;
	switch (cls) {
	case STATUS_CLASS_WORKING:
	case STATUS_CLASS_INVALID:
		base = cfg->interval_ms;
		break;
	case STATUS_CLASS_SETTLED:
		base = cfg->settled_interval_ms;
		break;
	case STATUS_CLASS_FAILED:
		base = cfg->failed_interval_ms;
		break;
	default:
		return -1;
	}
	if (base <= 0)
		return -1;
	delay = base;
	if (job_failures > 0) {
		cap = cfg->backoff_max_ms > 0 ? cfg->backoff_max_ms : SCHED_BACKOFF_MAX_MS;
		if (base <= INT64_MAX / SCHED_JOB_BACKOFF_FACTOR && base * SCHED_JOB_BACKOFF_FACTOR < cap)
			cap = base * SCHED_JOB_BACKOFF_FACTOR;
		for (unsigned i = 0; i < job_failures && delay < cap; i++)
			delay = delay > INT64_MAX / 2 ? INT64_MAX : delay * 2;
		if (delay > cap)
			delay = cap;
		if (delay < base)
			delay = base;
	}
	jitter = cfg->jitter;
	if (!(jitter > 0)) /* also NaN */
		jitter = 0;
	if (jitter > 1)
		jitter = 1;
	if (!(rnd >= 0) || rnd >= 1)
		rnd = 0.5;
	d = (double)delay * (1.0 + jitter * (2.0 * rnd - 1.0));
	delay = (int64_t)llround(d);
	if (delay < 1)
		delay = 1;
	return now_mono_ms + delay;
}

/* The spread window is min(interval, n / max_rps).  When the fleet fits in
 * the rate (n / max_rps < interval) this is the fastest start that never
 * bursts above max_rps.  When it does not fit, a wider window would only
 * delay the first poll of most jobs: the client's token bucket paces the
 * requests anyway, and the interval is when the first jobs are due again. */
int64_t sched_initial_poll_ms(int64_t now_ms, size_t i, size_t n, int64_t interval_ms, double max_rps,
			      double rnd)
{
	double window = interval_ms > 0 ? (double)interval_ms : 0;

	if (n == 0 || i >= n)
		return now_ms;
	if (max_rps > 0) {
		double need = (double)n / max_rps * 1000.0;
		if (window <= 0 || need < window)
			window = need;
	}
	if (!(rnd >= 0) || rnd >= 1)
		rnd = 0;
	return now_ms + (int64_t)(window * ((double)i + rnd) / (double)n);
}
