/* Replays the fuzz seed corpus (tests/fuzz/corpus/<target>/) and every saved
 * finding (tests/fuzz/regress/<target>/) through the libFuzzer harnesses'
 * entry points, compiled here with the normal compiler and flags: a crash or
 * an invariant the fuzzers found stays fixed in every build of `make test`
 * (and is checked by ASan/UBSan in the sanitizer build).
 *
 * Each harness is #included with LLVMFuzzerTestOneInput renamed; their
 * static helpers carry the target name so they can share this file. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"

static const char *fuzz_current = "";

#define FUZZ_FAIL() fail_msg("fuzz invariant failed replaying %s", fuzz_current)

#define LLVMFuzzerTestOneInput fuzz_api_one
#include "../fuzz/fuzz_api.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_config_one
#include "../fuzz/fuzz_config.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_creds_one
#include "../fuzz/fuzz_creds.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_payload_one
#include "../fuzz/fuzz_payload.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_sigv4_one
#include "../fuzz/fuzz_sigv4.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_validate_one
#include "../fuzz/fuzz_validate.c"
#undef LLVMFuzzerTestOneInput

typedef int (*fuzz_entry_fn)(const uint8_t *data, size_t size);

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Feeds every regular file of SRC/tests/fuzz/KIND/TARGET to fn (in name
 * order, so a failure is reproducible); returns how many. */
static size_t replay_dir(const char *kind, const char *target, fuzz_entry_fn fn)
{
	const char *src = getenv("JW_SOURCE_DIR");
	char dir[4096];
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/tests/fuzz/%s/%s", str_empty(src) ? ".." : src, kind, target);
	d = opendir(dir);
	if (!d) {
		assert_int_equal(errno, ENOENT);
		return 0;
	}
	while ((de = readdir(d))) {
		char **l;

		if (de->d_name[0] == '.')
			continue;
		l = realloc(names, (n + 1) * sizeof(char *));
		assert_non_null(l);
		names = l;
		assert_true(asprintf(&names[n], "%s/%s", dir, de->d_name) > 0);
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(char *), cmp_names);
	for (size_t i = 0; i < n; i++) {
		char *data = NULL;
		size_t len = 0;
		uint8_t *exact;

		assert_int_equal(read_file_capped(names[i], 1024 * 1024, &data, &len), 0);
		/* An exact-size copy: ASan catches reads past the input, as
		 * under libFuzzer. */
		exact = malloc(len ? len : 1);
		assert_non_null(exact);
		memcpy(exact, data, len);
		fuzz_current = names[i];
		assert_int_equal(fn(exact, len), 0);
		fuzz_current = "";
		free(exact);
		free(data);
		free(names[i]);
	}
	free(names);
	return n;
}

static void replay(const char *target, fuzz_entry_fn fn)
{
	size_t seeds = replay_dir("corpus", target, fn);
	size_t regress = replay_dir("regress", target, fn);

	/* Every target has a seed corpus; an empty one means a wrong path. */
	assert_true(seeds > 0);
	print_message("%s: %zu seeds, %zu regression inputs replayed\n", target, seeds, regress);
}

static void test_api(void **state)
{
	replay("api", fuzz_api_one);
}

static void test_config(void **state)
{
	replay("config", fuzz_config_one);
}

static void test_creds(void **state)
{
	replay("creds", fuzz_creds_one);
}

static void test_payload(void **state)
{
	replay("payload", fuzz_payload_one);
}

static void test_sigv4(void **state)
{
	replay("sigv4", fuzz_sigv4_one);
}

static void test_validate(void **state)
{
	replay("validate", fuzz_validate_one);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_api),	    cmocka_unit_test(test_config), cmocka_unit_test(test_creds),
	    cmocka_unit_test(test_payload), cmocka_unit_test(test_sigv4),  cmocka_unit_test(test_validate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
