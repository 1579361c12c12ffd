/*
 * Jobs: a command on its own pseudo-terminal, driven by the libuv loop.
 *
 * The parent opens the pty pair, forks, and the child becomes a session
 * leader whose controlling terminal is the slave (so job control, Ctrl-C
 * through the terminal and `isatty` behave as in a terminal), then execs.
 * The parent keeps only the master, non-blocking, watched by a uv_poll; a
 * uv_signal on SIGCHLD reaps exactly this child (waitpid on its pid, so
 * libuv's own child handling is untouched).
 *
 * The exit is reported once both have happened: the child was reaped and
 * the master reached end of file (every byte read), or a short grace after
 * the reap when a background process still holds the terminal open. Reads
 * are bounded per loop turn so a flooding command cannot starve the loop.
 *
 * Pipe mode (an agent's command, SPEC 8): no terminal; stdout and stderr
 * are pipes read the same way (each with its poll), stdin a libuv pipe that
 * queues what job_write_stdin() gives and shuts after it at end of input.
 * The exit waits for both outputs' end; the grace after the reap never cuts
 * output held back by a pause.
 *
 * Ownership: job_free() may be called at any time, callbacks included; the
 * memory goes when the last of the handles is closed.
 *
 * Lifecycle: the child asks the kernel for SIGTERM when airlock dies
 * (PR_SET_PDEATHSIG), then checks that its parent is still the process that
 * forked it (else airlock died before the request took hold, and the child
 * ends at once); the sandbox helper takes SIGTERM as "end the sandbox,
 * clean up". job_stop_all() ends jobs the same way at quit, with a bounded
 * wait before SIGKILL. With `report`, a pipe's write end becomes the
 * child's descriptor JOB_REPORT_FD; its read end is watched while the
 * command runs (so a long report never blocks the helper) and read to its
 * end once the child is reaped.
 */
#include "core/job.h"

#include "core/output-relay.h"
#include "core/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

extern char **environ;

/* How much one loop turn reads from a command before yielding. */
#define JOB_READ_CHUNK    65536
#define JOB_READ_PER_TURN JOB_READ_CHUNK
#define JOB_READ_BUDGET_NS (1000 * 1000)
/* How long after the reap a terminal still held open by others is drained. */
#define JOB_EXIT_GRACE_MS 100
/* How long a stopped command (killed, interrupted, timed out) waits for a sink taking nothing. */
#define JOB_RELAY_STALL_MS 1000

struct job {
	uv_loop_t *loop;
	uv_poll_t poll;
	uv_signal_t sigchld;
	uv_timer_t timer;
	int open_handles;

	/* The timeout (job_set_timeout): its timer, what is left, since when it runs. */
	uv_timer_t deadline;
	uint64_t timeout_left_ms, timeout_since_ns;
	bool timeout_set, timeout_held, timed_out;

	int master;
	pid_t pid;
	const struct job_callbacks *cb;
	void *data;

	uint64_t start_ns, end_ns;
	int status, signal;
	bool reaped, eof, reported, freed, paused;
	char *buf;

	/* The report pipe (job_options.report): its read end, watched, and what came. */
	uv_poll_t report_poll;
	int report_fd; /* -1: none, or read to its end */
	char *report;
	size_t report_len, report_cap;

	/*
	 * Pipe mode (job_options.pipes): MASTER is stdout's read end; stderr's
	 * read end has a poll of its own; stdin's write end is a libuv pipe, so
	 * what job_write() sends is queued, never blocking the loop.
	 */
	int err_fd; /* -1: a terminal (no stderr of its own), or closed */
	uv_poll_t err_poll;
	bool err_eof;
	uv_pipe_t in_pipe;
	bool in_open; /* stdin's write end not yet closed */
	bool pipes;
	/* job_options.sinks: stdout's and stderr's relays (NULL: read directly). */
	struct output_relay *relay[2];
	/*
	 * Whether it was told to stop (job_kill, job_interrupt, its timeout):
	 * what its relays still hold then waits only for a sink that takes it;
	 * RELAY_MOVED is what they had moved at the last look, RELAY_STALLED_MS
	 * how long they have moved nothing since.
	 */
	bool stopping;
	uint64_t relay_moved, relay_stalled_ms;
};

/* Frees the job once its last handle is closed. */
static void job__closed(uv_handle_t *h)
{
	struct job *job = h->data;

	if (--job->open_handles > 0)
		return;
	if (job->master >= 0)
		close(job->master);
	if (job->report_fd >= 0)
		close(job->report_fd);
	if (job->err_fd >= 0)
		close(job->err_fd);
	free(job->buf);
	free(job->report);
	free(job);
}

/* Stops watching the terminal. */
static void job__stop_poll(struct job *job)
{
	if (uv_is_active((uv_handle_t *)&job->poll))
		uv_poll_stop(&job->poll);
}

/* Reports the exit when the child was reaped and its output fully read. */
static void job__maybe_report(struct job *job)
{
	if (job->reported || job->freed || !job->reaped || !job->eof ||
	    (job->err_fd >= 0 && !job->err_eof))
		return;
	job->reported = true;
	job__stop_poll(job);
	uv_timer_stop(&job->timer);
	uv_timer_stop(&job->deadline);
	if (job->cb->exit != NULL)
		job->cb->exit(job, job->status, job->signal, job->data);
}

/*
 * Reads what the terminal has, at most LIMIT bytes and for at most
 * JOB_READ_BUDGET_NS; marks end of file. Under a flood each read waits for
 * the command's next bytes to pass the line discipline (a fraction of a
 * millisecond for a few KiB), so a byte limit alone would hold keys and
 * frames back for milliseconds; the time limit bounds that, and the poll
 * brings the loop back for the rest.
 */
static void job__drain(struct job *job, size_t limit)
{
	uint64_t start = uv_hrtime();
	size_t total = 0;

	while (!job->freed && !job->eof && total < limit) {
		ssize_t n = read(job->master, job->buf, JOB_READ_CHUNK);
		if (n > 0) {
			total += (size_t)n;
			if (job->cb->output != NULL)
				job->cb->output(job, job->buf, (size_t)n, job->data);
			if (uv_hrtime() - start >= JOB_READ_BUDGET_NS)
				return;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		/* EIO: every holder of the slave is gone; 0: likewise. */
		job->eof = true;
		job__stop_poll(job);
	}
}

/* The terminal is readable: pass its bytes on. */
static void job__on_readable(uv_poll_t *p, int status, int events)
{
	struct job *job = p->data;

	(void)events;
	if (status < 0) {
		job->eof = true;
		job__stop_poll(job);
	} else {
		job__drain(job, JOB_READ_PER_TURN);
	}
	job__maybe_report(job);
}

/* Pipe mode: reads what stderr's pipe has (at most LIMIT bytes), marks its end. */
static void job__drain_err(struct job *job, size_t limit)
{
	size_t total = 0;

	while (!job->freed && !job->err_eof && total < limit) {
		ssize_t n = read(job->err_fd, job->buf, JOB_READ_CHUNK);
		if (n > 0) {
			void (*out)(struct job *, const char *, size_t, void *) =
			    job->cb->output_err != NULL ? job->cb->output_err : job->cb->output;
			total += (size_t)n;
			if (out != NULL)
				out(job, job->buf, (size_t)n, job->data);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		job->err_eof = true;
		if (uv_is_active((uv_handle_t *)&job->err_poll))
			uv_poll_stop(&job->err_poll);
	}
}

/* Pipe mode: stderr is readable. */
static void job__on_err(uv_poll_t *p, int status, int events)
{
	struct job *job = p->data;

	(void)events;
	if (status < 0) {
		job->err_eof = true;
		uv_poll_stop(p);
	} else {
		job__drain_err(job, JOB_READ_PER_TURN);
	}
	job__maybe_report(job);
}

/*
 * Whether the relays of a stopped job have moved nothing for
 * JOB_RELAY_STALL_MS (called once a grace): a command that was stopped
 * does not wait for ever for a sink whose reader stopped reading.
 */
static bool job__relays_stalled(struct job *job)
{
	uint64_t moved = 0;

	for (int k = 0; k < 2; k++)
		if (job->relay[k] != NULL)
			moved += output_relay_moved(job->relay[k]);
	if (!job->stopping || moved != job->relay_moved) {
		job->relay_moved = moved;
		job->relay_stalled_ms = 0;
		return false;
	}
	job->relay_stalled_ms += JOB_EXIT_GRACE_MS;
	return job->relay_stalled_ms >= JOB_RELAY_STALL_MS;
}

/* The grace after the reap is over: take what is left and report. */
static void job__on_grace(uv_timer_t *t)
{
	struct job *job = t->data;

	/*
	 * On pipes, output held back by a pause is still to come: wait for the
	 * resume; so is output a relay still moves to a slow sink.
	 */
	if (job->pipes && (job->paused || output_relay_busy(job->relay[0]) ||
	                   output_relay_busy(job->relay[1]))) {
		if (job->paused || !job__relays_stalled(job)) {
			uv_timer_start(&job->timer, job__on_grace, JOB_EXIT_GRACE_MS, 0);
			return;
		}
		/* Stopped, and nobody reads: what the sinks did not take is left out. */
		for (int k = 0; k < 2; k++)
			if (job->relay[k] != NULL)
				output_relay_stop(job->relay[k]);
	}
	job__drain(job, JOB_READ_PER_TURN);
	job->eof = true;
	if (job->err_fd >= 0) {
		job__drain_err(job, JOB_READ_PER_TURN);
		job->err_eof = true;
	}
	job__maybe_report(job);
}

/* Reads what the report pipe has (all of it, up to end of file, once the child was reaped). */
static void job__report_read(struct job *job)
{
	char chunk[4096];

	while (job->report_fd >= 0) {
		ssize_t n = read(job->report_fd, chunk, sizeof chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			/* End of file (or an error): nothing more will come. */
			if (uv_is_active((uv_handle_t *)&job->report_poll))
				uv_poll_stop(&job->report_poll);
			return;
		}
		if (job->report_len + (size_t)n + 1 > job->report_cap) {
			job->report_cap = (job->report_len + (size_t)n + 1) * 2;
			job->report = xrealloc(job->report, job->report_cap);
		}
		memcpy(job->report + job->report_len, chunk, (size_t)n);
		job->report_len += (size_t)n;
		job->report[job->report_len] = '\0';
	}
}

/* The report pipe is readable. */
static void job__on_report(uv_poll_t *p, int status, int events)
{
	struct job *job = p->data;

	(void)events;
	if (status < 0) {
		uv_poll_stop(p);
		return;
	}
	job__report_read(job);
}

/* Records the wait status ST of the reaped child. */
static void job__reaped(struct job *job, int st)
{
	job->reaped = true;
	job->end_ns = uv_hrtime();
	if (WIFSIGNALED(st)) {
		job->signal = WTERMSIG(st);
		job->status = 128 + job->signal;
	} else {
		job->status = WEXITSTATUS(st);
	}
	/* The helper wrote its report before it ended: it is all in the pipe now. */
	job__report_read(job);
}

/* Reaps the child if it ended. */
static void job__reap(struct job *job)
{
	int st;
	pid_t r;

	if (job->reaped)
		return;
	do
		r = waitpid(job->pid, &st, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r != job->pid)
		return;
	job__reaped(job, st);
	uv_signal_stop(&job->sigchld);
	if (!job->eof || (job->err_fd >= 0 && !job->err_eof))
		uv_timer_start(&job->timer, job__on_grace, JOB_EXIT_GRACE_MS, 0);
}

/* Some child ended: see whether it is ours. */
static void job__on_sigchld(uv_signal_t *s, int signum)
{
	struct job *job = s->data;

	(void)signum;
	job__reap(job);
	job__maybe_report(job);
}

/* The child's environment: BASE (NULL: environ) with EXTRA added or overriding. */
static char **job__env(char *const *base, char *const *extra)
{
	char *const *from = base != NULL ? base : environ;
	size_t n = 0, m = 0, k = 0;
	char **env;

	while (from[n] != NULL)
		n++;
	while (extra != NULL && extra[m] != NULL)
		m++;
	env = xcalloc(n + m + 1, sizeof *env);
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(from[i], '=');
		size_t len = eq != NULL ? (size_t)(eq - from[i]) + 1 : strlen(from[i]);
		bool overridden = false;
		for (size_t j = 0; j < m && !overridden; j++)
			overridden = strncmp(extra[j], from[i], len) == 0;
		if (!overridden)
			env[k++] = from[i];
	}
	for (size_t j = 0; j < m; j++)
		env[k++] = extra[j];
	env[k] = NULL;
	return env;
}

/* In the child: become a session on the terminal SLAVE, then exec. Never returns. */
static void job__child(int slave, const struct job_options *opts, char **env, pid_t parent,
                       int report_w, const int *stdio)
{
	sigset_t none;

	/* Die with airlock; checked after, so a parent that died first is seen. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
		_exit(125);

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	setsid();
	if (stdio != NULL) {
		/* Pipe mode: no terminal at all. */
		for (int fd = 0; fd < 3; fd++)
			if (dup2(stdio[fd], fd) < 0)
				_exit(125);
	} else {
		if (!opts->no_ctty)
			ioctl(slave, TIOCSCTTY, 0);
		dup2(slave, 0);
		dup2(slave, 1);
		dup2(slave, 2);
		if (slave > 2)
			close(slave);
	}
	if (report_w >= 0) {
		/* dup2 clears close-on-exec; a pipe already at that number needs it cleared. */
		if (report_w == JOB_REPORT_FD)
			fcntl(report_w, F_SETFD, 0);
		else if (dup2(report_w, JOB_REPORT_FD) < 0)
			_exit(125);
	}
	if (opts->cwd != NULL && chdir(opts->cwd) != 0) {
		dprintf(2, "airlock: cannot enter %s: %s\r\n", opts->cwd, strerror(errno));
		_exit(127);
	}
	execvpe(opts->argv[0], opts->argv, env);
	dprintf(2, "airlock: cannot run %s: %s\r\n", opts->argv[0], strerror(errno));
	_exit(127);
}

static void job__start_pipes(struct job *job, int in_w);

/* Starts a command on a new pseudo-terminal (see job.h). */
int job_start(uv_loop_t *loop, const struct job_options *opts, const struct job_callbacks *cb,
              void *data, struct job **out)
{
	struct winsize ws = {.ws_row = (unsigned short)(opts->rows > 0 ? opts->rows : 24),
	                     .ws_col = (unsigned short)(opts->cols > 0 ? opts->cols : 80)};
	char name[128];
	int master, slave, err, report[2] = {-1, -1};
	int in[2] = {-1, -1}, outp[2] = {-1, -1}, errp[2] = {-1, -1}, stdio[3];
	int sink[2] = {-1, -1}, rel[2][2] = {{-1, -1}, {-1, -1}};
	bool one_sink;
	struct job *job;
	char **env;
	pid_t parent = getpid();

	if (opts->argv == NULL || opts->argv[0] == NULL)
		return -EINVAL;
	/* Descriptors 0-2 are open (stdio), so the pipe lands above them. */
	if (opts->report && pipe2(report, O_CLOEXEC) != 0)
		return -errno;
	if (opts->pipes && opts->sinks)
		sink[0] = opts->stdout_sink, sink[1] = opts->stderr_sink;
	/* Both into one pipe (2>&1): stderr shares stdout's, so the two keep their order. */
	one_sink = sink[0] >= 0 && sink[1] >= 0 && output_relay_same_pipe(sink[0], sink[1]);
	if (one_sink)
		sink[1] = -1;
	if (opts->pipes) {
		/* A stream with a sink gets a pipe of its own: the relay reads it. */
		if (pipe2(in, O_CLOEXEC) != 0 || pipe2(outp, O_CLOEXEC) != 0 ||
		    pipe2(errp, O_CLOEXEC) != 0 || (sink[0] >= 0 && pipe2(rel[0], O_CLOEXEC) != 0) ||
		    (sink[1] >= 0 && pipe2(rel[1], O_CLOEXEC) != 0)) {
			err = -errno;
			for (int i = 0; i < 2; i++) {
				int *fds[] = {in, outp, errp, rel[0], rel[1]};

				for (size_t k = 0; k < sizeof fds / sizeof fds[0]; k++)
					if (fds[k][i] >= 0)
						close(fds[k][i]);
			}
			goto fail_report;
		}
		stdio[0] = in[0];
		stdio[1] = sink[0] >= 0 ? rel[0][1] : outp[1];
		stdio[2] = one_sink ? rel[0][1] : sink[1] >= 0 ? rel[1][1] : errp[1];
		master = outp[0];
		slave = -1;
		goto started_pipes;
	}
	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0) {
		err = -errno;
		goto fail_report;
	}
	if (grantpt(master) != 0 || unlockpt(master) != 0 ||
	    ptsname_r(master, name, sizeof name) != 0) {
		err = -errno;
		close(master);
		goto fail_report;
	}
	slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0) {
		err = -errno;
		close(master);
		goto fail_report;
	}
	ioctl(master, TIOCSWINSZ, &ws);

started_pipes:
	job = xcalloc(1, sizeof *job);
	job->err_fd = errp[0];
	job->pipes = opts->pipes;
	job->loop = loop;
	job->master = master;
	job->cb = cb;
	job->data = data;
	job->buf = xmalloc(JOB_READ_CHUNK);
	job->report_fd = report[0];
	uv_signal_init(loop, &job->sigchld);
	uv_timer_init(loop, &job->timer);
	uv_timer_init(loop, &job->deadline);
	job->sigchld.data = job->timer.data = job->deadline.data = job;
	job->open_handles = 3;
	/* Watch SIGCHLD before forking so a command that ends at once is seen. */
	uv_signal_start(&job->sigchld, job__on_sigchld, SIGCHLD);

	env = job__env(opts->base_env, opts->env);
	job->start_ns = uv_hrtime();
	job->pid = fork();
	if (job->pid == 0)
		job__child(slave, opts, env, parent, report[1], opts->pipes ? stdio : NULL);
	err = job->pid < 0 ? -errno : 0;
	free(env);
	if (slave >= 0)
		close(slave);
	if (opts->pipes) {
		close(in[0]);
		/* The pane's pipes' write ends are their relays', when they have one. */
		for (int k = 0; k < 2; k++) {
			int pane_w = k == 0 ? outp[1] : errp[1];

			if (sink[k] < 0) {
				close(pane_w);
				continue;
			}
			close(rel[k][1]);
			if (err == 0)
				err = output_relay_start(loop, rel[k][0], sink[k], pane_w, &job->relay[k]);
			else
				close(rel[k][0]), close(pane_w);
		}
	}
	if (report[1] >= 0)
		close(report[1]);
	if (err == 0) {
		fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
		err = uv_poll_init(loop, &job->poll, master);
	}
	if (err == 0 && job->report_fd >= 0) {
		fcntl(job->report_fd, F_SETFL, fcntl(job->report_fd, F_GETFL) | O_NONBLOCK);
		err = uv_poll_init(loop, &job->report_poll, job->report_fd);
		if (err != 0) {
			/* The terminal's poll is initialised: it closes with the others. */
			uv_close((uv_handle_t *)&job->poll, job__closed);
			job->open_handles++;
		}
	}
	if (err != 0) {
		if (job->pid > 0) {
			kill(job->pid, SIGKILL);
			waitpid(job->pid, NULL, 0);
		}
		job->freed = true;
		if (in[1] >= 0)
			close(in[1]);
		output_relay_free(job->relay[0]);
		output_relay_free(job->relay[1]);
		uv_close((uv_handle_t *)&job->sigchld, job__closed);
		uv_close((uv_handle_t *)&job->timer, job__closed);
		uv_close((uv_handle_t *)&job->deadline, job__closed);
		return err;
	}
	job->poll.data = job;
	job->open_handles = 4;
	uv_poll_start(&job->poll, UV_READABLE, job__on_readable);
	if (job->report_fd >= 0) {
		job->report_poll.data = job;
		job->open_handles = 5;
		uv_poll_start(&job->report_poll, UV_READABLE, job__on_report);
	}
	if (opts->pipes)
		job__start_pipes(job, in[1]);
	*out = job;
	return 0;

fail_report:
	if (report[0] >= 0) {
		close(report[0]);
		close(report[1]);
	}
	return err;
}

/* One write queued on stdin's pipe (pipe mode) and the bytes it owns. */
struct job__in_write {
	uv_write_t req;
	char *bytes;
};

/* Frees a finished write to stdin (a command that stopped reading: dropped). */
static void job__in_written(uv_write_t *req, int status)
{
	struct job__in_write *w = (struct job__in_write *)req;

	(void)status;
	free(w->bytes);
	free(w);
}

/* The end of input went out after what was queued: close stdin's pipe. */
static void job__in_shut(uv_shutdown_t *req, int status)
{
	(void)status;
	if (!uv_is_closing((uv_handle_t *)req->handle))
		uv_close((uv_handle_t *)req->handle, job__closed);
	free(req);
}

/* Pipe mode: watches stderr, and opens stdin's write end IN_W as a libuv pipe. */
static void job__start_pipes(struct job *job, int in_w)
{
	fcntl(job->err_fd, F_SETFL, fcntl(job->err_fd, F_GETFL) | O_NONBLOCK);
	if (uv_poll_init(job->loop, &job->err_poll, job->err_fd) == 0) {
		job->err_poll.data = job;
		job->open_handles++;
		uv_poll_start(&job->err_poll, UV_READABLE, job__on_err);
	} else {
		close(job->err_fd); /* cannot happen for a pipe; stderr is then lost */
		job->err_fd = -1;
	}
	uv_pipe_init(job->loop, &job->in_pipe, 0);
	job->in_pipe.data = job;
	job->open_handles++;
	if (uv_pipe_open(&job->in_pipe, in_w) == 0) {
		job->in_open = true;
	} else {
		close(in_w);
		uv_close((uv_handle_t *)&job->in_pipe, job__closed);
	}
}

/* Writes to the command's stdin (pipe mode, see job.h). */
int job_write_stdin(struct job *job, const char *buf, size_t len)
{
	struct job__in_write *w;
	uv_buf_t b;

	if (!job->in_open)
		return -EPIPE;
	if (len == 0) {
		/* The end of input, after what is queued: the command reads end of file. */
		uv_shutdown_t *req = xcalloc(1, sizeof *req);

		job->in_open = false;
		if (uv_shutdown(req, (uv_stream_t *)&job->in_pipe, job__in_shut) != 0) {
			free(req);
			uv_close((uv_handle_t *)&job->in_pipe, job__closed);
		}
		return 0;
	}
	w = xcalloc(1, sizeof *w);
	w->bytes = xmalloc(len);
	memcpy(w->bytes, buf, len);
	b = uv_buf_init(w->bytes, (unsigned)len);
	if (uv_write(&w->req, (uv_stream_t *)&job->in_pipe, &b, 1, job__in_written) != 0) {
		free(w->bytes);
		free(w);
		return -EPIPE;
	}
	return 0;
}

/* Writes what a user typed to the command's terminal. */
int job_write(struct job *job, const char *buf, size_t len)
{
	if (job->pipes)
		return len > 0 ? job_write_stdin(job, buf, len) : 0;
	while (len > 0) {
		ssize_t n = write(job->master, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Sets the terminal's size; the kernel tells the foreground group. */
int job_resize(struct job *job, int rows, int cols)
{
	struct winsize ws = {.ws_row = (unsigned short)(rows > 0 ? rows : 1),
	                     .ws_col = (unsigned short)(cols > 0 ? cols : 1)};

	return ioctl(job->master, TIOCSWINSZ, &ws) == 0 ? 0 : -errno;
}

/* Interrupts the command as Ctrl-C in a terminal would, and its group. */
int job_interrupt(struct job *job)
{
	pid_t fg;

	job->stopping = true;
	if (job->reaped)
		return -ESRCH;
	fg = tcgetpgrp(job->master);
	if (fg > 0 && fg != job->pid)
		killpg(fg, SIGINT);
	return killpg(job->pid, SIGINT) == 0 ? 0 : -errno;
}

/* Kills the command's process group. */
int job_kill(struct job *job)
{
	job->stopping = true;
	if (job->reaped)
		return -ESRCH;
	if (killpg(job->pid, SIGKILL) == 0)
		return 0;
	/* No such group yet: the child has not reached its setsid(). It is still ours and
	 * has started nothing: kill it alone. */
	if (errno == ESRCH && kill(job->pid, SIGKILL) == 0)
		return 0;
	return -errno;
}

/* Ends JOBS gracefully (see job.h). */
void job_stop_all(struct job *const *jobs, size_t n, unsigned grace_ms)
{
	uint64_t deadline = uv_hrtime() + (uint64_t)grace_ms * 1000000;
	bool left = false;

	for (size_t i = 0; i < n; i++)
		if (jobs[i] != NULL && !jobs[i]->reaped)
			killpg(jobs[i]->pid, SIGTERM);
	for (;;) {
		left = false;
		for (size_t i = 0; i < n; i++) {
			struct job *job = jobs[i];
			int st;

			if (job == NULL || job->reaped)
				continue;
			if (waitpid(job->pid, &st, WNOHANG) == job->pid)
				job__reaped(job, st);
			else
				left = true;
		}
		if (!left || uv_hrtime() >= deadline)
			break;
		usleep(10000);
	}
	for (size_t i = 0; left && i < n; i++) {
		struct job *job = jobs[i];
		int st;

		if (job == NULL || job->reaped)
			continue;
		killpg(job->pid, SIGKILL);
		kill(job->pid, SIGKILL);
		while (waitpid(job->pid, &st, 0) < 0 && errno == EINTR)
			;
		job__reaped(job, st);
	}
}

/* Whether the command was reaped, and how it ended. */
bool job_status(const struct job *job, int *status)
{
	if (job->reaped && status != NULL)
		*status = job->status;
	return job->reaped;
}

/* What came through the report pipe. */
const char *job_report(const struct job *job, size_t *len)
{
	if (len != NULL)
		*len = job->report_len;
	return job->report != NULL ? job->report : "";
}

/* Stops watching the terminal for a while. */
void job_pause(struct job *job)
{
	job->paused = true;
	job__stop_poll(job);
}

/* Watches the terminal again. */
void job_resume(struct job *job)
{
	if (!job->paused)
		return;
	job->paused = false;
	if (!job->eof && !job->freed)
		uv_poll_start(&job->poll, UV_READABLE, job__on_readable);
}

/* Whether the exit is still to come. */
int job_running(const struct job *job)
{
	return !job->reported;
}

/* The command's process id. */
pid_t job_pid(const struct job *job)
{
	return job->pid;
}

/* Run time in milliseconds. */
uint64_t job_duration_ms(const struct job *job)
{
	uint64_t end = job->reaped ? job->end_ns : uv_hrtime();

	return (end - job->start_ns) / 1000000;
}

/* The time is up: SIGTERM to the command's group, and SIGKILL after the grace. */
static void job__on_deadline(uv_timer_t *t)
{
	struct job *job = t->data;

	if (job->freed)
		return;
	if (job->reaped) {
		/* It ended in time, but its relays still wait for a sink: that wait is bounded too. */
		job->stopping = true;
		return;
	}
	if (!job->timed_out) {
		job->timed_out = true;
		job->stopping = true;
		job->timeout_left_ms = 0;
		killpg(job->pid, SIGTERM);
		uv_timer_start(&job->deadline, job__on_deadline, JOB_STOP_GRACE_MS, 0);
	} else {
		killpg(job->pid, SIGKILL);
		kill(job->pid, SIGKILL);
	}
}

/* Bounds the command to MS milliseconds of unheld time. */
void job_set_timeout(struct job *job, uint64_t ms)
{
	if (job->reaped || job->freed || ms == 0)
		return;
	job->timeout_set = true;
	job->timeout_left_ms = ms;
	job->timeout_since_ns = uv_hrtime();
	if (!job->timeout_held)
		uv_timer_start(&job->deadline, job__on_deadline, ms, 0);
}

/* Stops (HELD) or restarts the timeout's clock. */
void job_timeout_hold(struct job *job, bool held)
{
	uint64_t now = uv_hrtime(), spent;

	if (held == job->timeout_held)
		return;
	job->timeout_held = held;
	if (!job->timeout_set || job->timed_out || job->reaped || job->freed)
		return;
	if (held) {
		uv_timer_stop(&job->deadline);
		spent = (now - job->timeout_since_ns) / 1000000;
		/* A clock held at the last moment still leaves the command its last millisecond. */
		job->timeout_left_ms = spent < job->timeout_left_ms ? job->timeout_left_ms - spent : 1;
	} else {
		job->timeout_since_ns = now;
		uv_timer_start(&job->deadline, job__on_deadline, job->timeout_left_ms, 0);
	}
}

/* Whether the timeout went off. */
bool job_timed_out(const struct job *job)
{
	return job->timed_out;
}

/* What is left of the timeout, in milliseconds. */
uint64_t job_timeout_left_ms(const struct job *job)
{
	uint64_t spent, end;

	if (!job->timeout_set || job->timed_out)
		return 0;
	if (job->timeout_held)
		return job->timeout_left_ms;
	end = job->reaped ? job->end_ns : uv_hrtime();
	spent = end > job->timeout_since_ns ? (end - job->timeout_since_ns) / 1000000 : 0;
	return spent < job->timeout_left_ms ? job->timeout_left_ms - spent : 1;
}

/* What the relays left out of the output callbacks (job.h). */
uint64_t job_unshown(const struct job *job)
{
	uint64_t n = 0;

	for (int k = 0; k < 2; k++)
		if (job->relay[k] != NULL)
			n += output_relay_unshown(job->relay[k]);
	return n;
}

/* Kills what still runs and frees the job when its handles are closed. */
void job_free(struct job *job)
{
	if (job == NULL || job->freed)
		return;
	job->freed = true;
	output_relay_free(job->relay[0]);
	output_relay_free(job->relay[1]);
	job->relay[0] = job->relay[1] = NULL;
	if (!job->reaped) {
		killpg(job->pid, SIGKILL);
		kill(job->pid, SIGKILL);
		while (waitpid(job->pid, NULL, 0) < 0 && errno == EINTR)
			;
		job->reaped = true;
	}
	if (job->report_fd >= 0)
		uv_close((uv_handle_t *)&job->report_poll, job__closed);
	if (job->err_fd >= 0)
		uv_close((uv_handle_t *)&job->err_poll, job__closed);
	if (job->pipes && !uv_is_closing((uv_handle_t *)&job->in_pipe)) {
		job->in_open = false;
		uv_close((uv_handle_t *)&job->in_pipe, job__closed);
	}
	uv_close((uv_handle_t *)&job->poll, job__closed);
	uv_close((uv_handle_t *)&job->sigchld, job__closed);
	uv_close((uv_handle_t *)&job->timer, job__closed);
	uv_close((uv_handle_t *)&job->deadline, job__closed);
}
