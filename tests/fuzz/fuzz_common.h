/* Shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c) and by
 * tests/unit/test_fuzz_regress.c, which #includes every harness into one
 * program (renaming LLVMFuzzerTestOneInput) to replay the seed corpus and the
 * saved crash inputs in the normal test suite.  Everything here is static
 * inline so that several harnesses can share one translation unit. */
#ifndef JW_FUZZ_COMMON_H
#define JW_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* An invariant the code under test broke: report it and abort, which
 * libFuzzer turns into a crash artifact.  The replay test defines FUZZ_FAIL
 * to fail the current cmocka test instead. */
#ifndef FUZZ_FAIL
#define FUZZ_FAIL() abort()
#endif
#define FUZZ_CHECK(cond)                                                                                    \
	do {                                                                                                \
		if (!(cond)) {                                                                              \
			fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond);   \
			FUZZ_FAIL();                                                                        \
		}                                                                                           \
	} while (0)

/* Library code logs at debug; the harnesses keep the fuzzer output readable. */
static inline void fuzz_quiet(void)
{
	log_set_max_level(-1);
}

/* A NUL-terminated copy of the input (the parsers under test take C strings
 * or want a terminator after len). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Splits the input at the first line that is exactly `marker` ("marker\n").
 * *ret_head gets everything before it, *ret_tail (may be NULL) everything
 * after; without the marker the whole input is the head. */
static inline void fuzz_split(const uint8_t *data, size_t size, const char *marker, const uint8_t **ret_tail,
			      size_t *ret_head_len, size_t *ret_tail_len)
{
	size_t ml = strlen(marker);

	*ret_tail = NULL;
	*ret_head_len = size;
	*ret_tail_len = 0;
	for (size_t i = 0; i + ml + 1 <= size; i++) {
		if ((i == 0 || data[i - 1] == '\n') && memcmp(data + i, marker, ml) == 0 &&
		    data[i + ml] == '\n') {
			*ret_head_len = i;
			*ret_tail = data + i + ml + 1;
			*ret_tail_len = size - i - ml - 1;
			return;
		}
	}
}

/* Cuts the next '\n'-terminated line off *p (NUL-terminated, malloc'd);
 * NULL when nothing is left. */
static inline char *fuzz_next_line(const uint8_t **p, size_t *left)
{
	const uint8_t *nl;
	size_t n;
	char *s;

	if (*left == 0)
		return NULL;
	nl = memchr(*p, '\n', *left);
	n = nl ? (size_t)(nl - *p) : *left;
	s = fuzz_strndup(*p, n);
	*p += nl ? n + 1 : n;
	*left -= nl ? n + 1 : n;
	return s;
}

/* True when s (NUL-terminated within size bytes) is properly terminated. */
static inline bool fuzz_terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

#endif
