#include "notify/jobset.h"

#include <string.h>

uint64_t jobset_key(const char *arn)
{
	uint64_t h = 1469598103934665603ULL;

	for (const unsigned char *p = (const unsigned char *)arn; p && *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h | 1;
}

void jobset_clear(struct jobset *s)
{
	memset(s->slot, 0, sizeof(s->slot));
}

bool jobset_add(struct jobset *s, uint64_t key)
{
	/* Linear probing from bits above the low ones FNV mixes least. */
	size_t i = (size_t)(key >> 7) & (JOBSET_SLOTS - 1);

	for (size_t n = 0; n < JOBSET_SLOTS; n++, i = (i + 1) & (JOBSET_SLOTS - 1)) {
		if (s->slot[i] == key)
			return false;
		if (s->slot[i] == 0) {
			s->slot[i] = key;
			return true;
		}
	}
	return false;
}

enum jobset_head jobset_head(struct jobset *s, uint64_t key, bool hidden, int64_t next_at_ms, int64_t now_ms,
			     int64_t hidden_retry_ms, int64_t *next_due)
{
	int64_t at;

	if (!jobset_add(s, key))
		return JOBSET_HEAD_BEHIND;
	if (!hidden && next_at_ms <= now_ms)
		return JOBSET_HEAD_DUE;
	at = hidden ? hidden_retry_ms : next_at_ms;
	if (*next_due < 0 || at < *next_due)
		*next_due = at;
	return JOBSET_HEAD_WAIT;
}
