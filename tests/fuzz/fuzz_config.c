/* Fuzz target "config": config_load() on a main file plus one drop-in.
 *
 * The input is split at a line "#--dropin--": what comes before is
 * jobwatchd.conf, what follows is jobwatchd.conf.d/10-fuzz.conf (no drop-in
 * without the marker).  Both live in a private temporary directory that also
 * holds the files a config may name relatively (arns.txt, secret, headers,
 * token, ca.pem), so those paths are reachable too.
 *
 * Invariants: success and failure are exclusive (config xor errors), every
 * message is a non-empty string, every accepted ARN is valid, every webhook
 * has a URL and a format, and the config frees cleanly. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_common.h"
#include "util.h"

#define FUZZ_CONFIG_MARKER "#--dropin--"

static char fuzz_config_dir[1024];
static char fuzz_config_main[1024];
static char fuzz_config_dropin[1024];

/* snprintf that must not truncate (the paths are short). */
#define FUZZ_CONFIG_PATH(buf, ...)                                                                          \
	do {                                                                                                \
		int n_ = snprintf(buf, sizeof(buf), __VA_ARGS__);                                           \
		FUZZ_CHECK(n_ > 0 && (size_t)n_ < sizeof(buf));                                             \
	} while (0)

static void fuzz_config_write(const char *path, const void *data, size_t size, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	FUZZ_CHECK(fd >= 0);
	while (size > 0) {
		ssize_t n = write(fd, data, size);
		FUZZ_CHECK(n > 0);
		data = (const char *)data + n;
		size -= (size_t)n;
	}
	FUZZ_CHECK(close(fd) == 0);
}

static const char *const fuzz_config_aux[] = {"arns.txt", "secret", "headers", "token", "ca.pem"};

static void fuzz_config_cleanup(void)
{
	char p[1024];

	if (!fuzz_config_dir[0])
		return;
	unlink(fuzz_config_dropin);
	FUZZ_CONFIG_PATH(p, "%s.d", fuzz_config_main);
	rmdir(p);
	unlink(fuzz_config_main);
	for (size_t i = 0; i < ELEMENTSOF(fuzz_config_aux); i++) {
		FUZZ_CONFIG_PATH(p, "%s/%s", fuzz_config_dir, fuzz_config_aux[i]);
		unlink(p);
	}
	rmdir(fuzz_config_dir);
	fuzz_config_dir[0] = '\0';
}

static void fuzz_config_setup(void)
{
	static const char arns[] =
	    "# two jobs\n"
	    "arn:aws:cleanrooms-ml:us-east-1:123456789012:audience-generation-job/f1\n"
	    "arn:aws:cleanrooms-ml:us-east-1:123456789012:audience-generation-job/f2\n";
	static const char secret[] = "whsec_ZnV6ei1zZWNyZXQtdmFsdWU=\n";
	static const char headers[] = "X-Api-Key: fuzz\n";
	const char *tmp = getenv("TMPDIR");
	char p[1024];

	if (fuzz_config_dir[0])
		return;
	FUZZ_CONFIG_PATH(fuzz_config_dir, "%s/jw-fuzz-config-XXXXXX", str_empty(tmp) ? "/tmp" : tmp);
	FUZZ_CHECK(mkdtemp(fuzz_config_dir));
	FUZZ_CONFIG_PATH(fuzz_config_main, "%s/jobwatchd.conf", fuzz_config_dir);
	FUZZ_CONFIG_PATH(p, "%s.d", fuzz_config_main);
	FUZZ_CHECK(mkdir(p, 0700) == 0);
	FUZZ_CONFIG_PATH(fuzz_config_dropin, "%s/10-fuzz.conf", p);
	FUZZ_CONFIG_PATH(p, "%s/arns.txt", fuzz_config_dir);
	fuzz_config_write(p, arns, sizeof(arns) - 1, 0644);
	FUZZ_CONFIG_PATH(p, "%s/secret", fuzz_config_dir);
	fuzz_config_write(p, secret, sizeof(secret) - 1, 0600);
	FUZZ_CONFIG_PATH(p, "%s/headers", fuzz_config_dir);
	fuzz_config_write(p, headers, sizeof(headers) - 1, 0600);
	FUZZ_CONFIG_PATH(p, "%s/token", fuzz_config_dir);
	fuzz_config_write(p, secret, sizeof(secret) - 1, 0600);
	FUZZ_CONFIG_PATH(p, "%s/ca.pem", fuzz_config_dir);
	fuzz_config_write(p, "", 0, 0644);
	atexit(fuzz_config_cleanup);
}

static void fuzz_config_check(const struct config *c)
{
	for (size_t i = 0; i < c->n_arns; i++)
		FUZZ_CHECK(arn_is_audience_generation_job(c->arns[i]));
	for (size_t i = 0; i < c->n_discover; i++)
		FUZZ_CHECK(c->discover[i].name);
	for (size_t i = 0; i < c->n_webhooks; i++) {
		const struct config_webhook *w = &c->webhooks[i];

		FUZZ_CHECK(w->name && w->url);
		FUZZ_CHECK(w->format >= 0 && w->format < _PAYLOAD_FORMAT_MAX);
		FUZZ_CHECK(payload_format_to_string(w->format));
		for (int t = 0; t < _EVENT_TYPE_MAX; t++)
			(void)config_webhook_wants(w, (enum event_type)t, JOB_STATUS_CREATE_FAILED);
	}
	FUZZ_CHECK(c->path);
	FUZZ_CHECK(c->poll.jitter >= 0 && c->poll.jitter <= 1.0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_diag diag = {0};
	struct config *c = NULL;
	const uint8_t *tail;
	size_t head_len, tail_len;
	int r;

	fuzz_quiet();
	fuzz_config_setup();
	fuzz_split(data, size, FUZZ_CONFIG_MARKER, &tail, &head_len, &tail_len);
	fuzz_config_write(fuzz_config_main, data, head_len, 0644);
	if (tail)
		fuzz_config_write(fuzz_config_dropin, tail, tail_len, 0644);
	else if (unlink(fuzz_config_dropin) < 0)
		FUZZ_CHECK(errno == ENOENT);

	/* strict changes how secret files are judged: take it from the size so
	 * both modes get exercised without spending input bytes. */
	r = config_load(fuzz_config_main, size & 1, &c, &diag);
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
	if (r == 0) {
		FUZZ_CHECK(c);
		FUZZ_CHECK(diag.n_errors == 0);
		fuzz_config_check(c);
	} else {
		FUZZ_CHECK(!c);
		FUZZ_CHECK(r != -EINVAL || diag.n_errors > 0);
	}
	for (size_t i = 0; i < diag.n_errors; i++)
		FUZZ_CHECK(diag.errors[i] && diag.errors[i][0]);
	for (size_t i = 0; i < diag.n_warnings; i++)
		FUZZ_CHECK(diag.warnings[i] && diag.warnings[i][0]);
	config_diag_done(&diag);
	config_free(c);
	return 0;
}
