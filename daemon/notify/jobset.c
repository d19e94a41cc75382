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
