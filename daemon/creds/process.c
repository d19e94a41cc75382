/* credential_process: the command is split shell-style and spawned without a
 * shell on the loop (uv_spawn), stdout captured up to 64 KiB, stderr's first
 * line kept for the error message, killed when it runs too long.
 *
 * The environment: the daemon's, as the AWS SDKs pass theirs (scripts rely
 * on HOME, PATH, AWS_PROFILE, AWS_REGION, proxies), minus the variables of
 * systemd's service protocols -- with NOTIFY_SOCKET or LISTEN_FDS the
 * script could speak for the daemon to the service manager. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

extern char **environ;

#include "creds/internal.h"
#include "log.h"
#include "util.h"

#define PROCESS_MAX_STDOUT   (64 * 1024)
#define PROCESS_MAX_STDERR   4096
#define PROCESS_TIMEOUT_MS   60000
#define PROCESS_EOF_GRACE_MS 2000
#define PROCESS_ENV_MAX	     4096

/* Variables the service manager set for the daemon alone. */
static const char *const process_env_drop[] = {
    "NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID=", "LISTEN_FDS=", "LISTEN_PID=", "LISTEN_FDNAMES=",
};

/* environ without process_env_drop; the strings are borrowed.  NULL on
 * ENOMEM. */
static char **process_env(void)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ && environ[n] && n < PROCESS_ENV_MAX)
		n++;
	env = calloc(n + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		bool drop = false;

		for (size_t d = 0; d < ELEMENTSOF(process_env_drop); d++)
			drop = drop || str_startswith(environ[i], process_env_drop[d]);
		if (!drop)
			env[k++] = environ[i];
	}
	return env;
}

struct process_op {
	struct creds_op base;
	creds_op_done_fn done;
	void *userdata;
	uv_process_t proc;
	uv_pipe_t out;
	uv_pipe_t err;
	uv_timer_t timer;
	unsigned open_handles;
	bool exited, out_eof, err_eof, cancelled, timed_out, too_large, finished;
	int64_t exit_status;
	int term_signal;
	uint64_t timeout_ms;
	struct dynbuf stdout_buf;
	struct dynbuf stderr_buf;
	char label[256];
	char *source;
};

static void process_handle_closed(uv_handle_t *h)
{
	struct process_op *p = h->data;

	if (--p->open_handles > 0)
		return;
	dynbuf_free(&p->stdout_buf);
	dynbuf_free(&p->stderr_buf);
	free(p->source);
	free(p);
}

static void process_close_all(struct process_op *p)
{
	uv_handle_t *hs[] = {(uv_handle_t *)&p->proc, (uv_handle_t *)&p->out, (uv_handle_t *)&p->err,
			     (uv_handle_t *)&p->timer};
	for (size_t i = 0; i < ELEMENTSOF(hs); i++)
		if (!uv_is_closing(hs[i]))
			uv_close(hs[i], process_handle_closed);
}

static void process_finish(struct process_op *p)
{
	char err[CREDS_ERR_MAX], perr[256], line[200];
	struct aws_credentials *c = NULL;
	int r;

	if (p->finished || !p->exited || !p->out_eof || !p->err_eof)
		return;
	p->finished = true;
	uv_timer_stop(&p->timer);

	if (p->cancelled) {
		p->done(p->userdata, -ECANCELED, NULL, "cancelled");
	} else if (p->timed_out) {
		snprintf(err, sizeof(err), "%s: timed out after %llu ms (killed)", p->label,
			 (unsigned long long)p->timeout_ms);
		p->done(p->userdata, -ETIMEDOUT, NULL, err);
	} else if (p->too_large) {
		snprintf(err, sizeof(err), "%s: output larger than %d bytes (killed)", p->label,
			 PROCESS_MAX_STDOUT);
		p->done(p->userdata, -EFBIG, NULL, err);
	} else if (p->term_signal) {
		snprintf(err, sizeof(err), "%s: killed by signal %d", p->label, p->term_signal);
		p->done(p->userdata, -ECHILD, NULL, err);
	} else if (p->exit_status != 0) {
		const char *s = p->stderr_buf.data ? p->stderr_buf.data : "";
		while (*s == '\n' || *s == '\r' || *s == ' ')
			s++;
		creds_sanitize(s, strcspn(s, "\r\n"), line, sizeof(line));
		snprintf(err, sizeof(err), "%s: exit status %lld%s%s", p->label, (long long)p->exit_status,
			 line[0] ? ": " : "", line);
		p->done(p->userdata, -ECHILD, NULL, err);
	} else {
		r = creds_parse_process_json(p->stdout_buf.data, p->stdout_buf.len, p->source, &c, perr,
					     sizeof(perr));
		if (r < 0) {
			snprintf(err, sizeof(err), "%s: %s", p->label, perr);
			p->done(p->userdata, r, NULL, err);
		} else
			p->done(p->userdata, 0, c, NULL);
	}
	process_close_all(p);
}

/* The child runs in its own process group (UV_PROCESS_DETACHED) so that a
 * wrapper script's children die with it and release the pipes. */
static void process_kill(struct process_op *p)
{
	if (p->exited)
		return;
	if (p->proc.pid > 0)
		(void)kill(-p->proc.pid, SIGKILL);
	(void)uv_process_kill(&p->proc, SIGKILL);
}

static void on_timeout(uv_timer_t *t);

static void on_exit_cb(uv_process_t *proc, int64_t exit_status, int term_signal)
{
	struct process_op *p = proc->data;

	p->exited = true;
	p->exit_status = exit_status;
	p->term_signal = term_signal;
	if (p->timed_out || p->cancelled || p->too_large) {
		p->out_eof = p->err_eof = true;
	} else if (!p->out_eof || !p->err_eof) {
		/* Output written before exit is still in the pipes; give it a
		 * moment, but do not wait for a grandchild holding them open. */
		uv_timer_start(&p->timer, on_timeout, PROCESS_EOF_GRACE_MS, 0);
	}
	process_finish(p);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char slab[16384];

	(void)h;
	(void)suggested;
	/* One read at a time per loop, copied out immediately. */
	*buf = uv_buf_init(slab, sizeof(slab));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct process_op *p = s->data;
	bool is_out = s == (uv_stream_t *)&p->out;

	if (n > 0) {
		struct dynbuf *b = is_out ? &p->stdout_buf : &p->stderr_buf;
		if (dynbuf_append(b, buf->base, (size_t)n) < 0) {
			if (is_out) {
				p->too_large = true;
				process_kill(p);
			}
			/* extra stderr is dropped: only its first line matters */
		}
		explicit_bzero(buf->base, (size_t)n);
		return;
	}
	if (n == 0)
		return;
	uv_read_stop(s);
	if (is_out)
		p->out_eof = true;
	else
		p->err_eof = true;
	process_finish(p);
}

static void on_timeout(uv_timer_t *t)
{
	struct process_op *p = t->data;

	if (p->exited) {
		p->out_eof = p->err_eof = true;
		process_finish(p);
		return;
	}
	p->timed_out = true;
	process_kill(p);
}

static void process_cancel(struct creds_op *op)
{
	struct process_op *p = (struct process_op *)op;

	p->cancelled = true;
	process_kill(p);
}

int creds_process_start(const struct creds_ctx *ctx, const char *command, const char *label,
			const char *source, creds_op_done_fn done, void *userdata, struct creds_op **ret,
			char *err, size_t errsz)
{
	struct process_op *p;
	char **argv = NULL, **env = NULL;
	char perr[200];
	int r;

	r = creds_split_command(command, &argv, NULL, perr, sizeof(perr));
	if (r < 0) {
		snprintf(err, errsz, "%s: command line: %s", label, perr);
		return r;
	}
	env = process_env();
	p = calloc(1, sizeof(*p));
	if (!env || !p || !(p->source = strdup(source))) {
		free(env);
		free(p);
		creds_argv_free(argv);
		snprintf(err, errsz, "%s: out of memory", label);
		return -ENOMEM;
	}
	p->base.cancel = process_cancel;
	p->done = done;
	p->userdata = userdata;
	p->timeout_ms = creds_timeout(ctx, PROCESS_TIMEOUT_MS);
	snprintf(p->label, sizeof(p->label), "%s", label);
	dynbuf_init(&p->stdout_buf, PROCESS_MAX_STDOUT);
	dynbuf_init(&p->stderr_buf, PROCESS_MAX_STDERR);
	uv_pipe_init(ctx->loop, &p->out, 0);
	uv_pipe_init(ctx->loop, &p->err, 0);
	uv_timer_init(ctx->loop, &p->timer);
	p->proc.data = p->out.data = p->err.data = p->timer.data = p;

	uv_stdio_container_t stdio[3] = {
	    {.flags = UV_IGNORE},
	    {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&p->out},
	    {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&p->err},
	};
	uv_process_options_t opts = {
	    .exit_cb = on_exit_cb,
	    .file = argv[0],
	    .args = argv,
	    .env = env,
	    .stdio = stdio,
	    .stdio_count = 3,
	    .flags = UV_PROCESS_DETACHED,
	};
	r = uv_spawn(ctx->loop, &p->proc, &opts);
	free(env);
	creds_argv_free(argv);
	if (r < 0) {
		snprintf(err, errsz, "%s: cannot run command: %s", label, uv_strerror(r));
		/* The process handle is initialised even when spawning fails. */
		p->open_handles = 4;
		p->finished = true;
		process_close_all(p);
		return r;
	}
	p->open_handles = 4;
	uv_read_start((uv_stream_t *)&p->out, on_alloc, on_read);
	uv_read_start((uv_stream_t *)&p->err, on_alloc, on_read);
	uv_timer_start(&p->timer, on_timeout, p->timeout_ms, 0);
	log_debug("%s: started pid %d", label, p->proc.pid);
	*ret = &p->base;
	return 0;
}
