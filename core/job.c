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
 * Ownership: job_free() may be called at any time, callbacks included; the
 * memory goes when the last of the three handles is closed.
 */
#include "core/job.h"

#include "core/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
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

struct job {
	uv_loop_t *loop;
	uv_poll_t poll;
	uv_signal_t sigchld;
	uv_timer_t timer;
	int open_handles;

	int master;
	pid_t pid;
	const struct job_callbacks *cb;
	void *data;

	uint64_t start_ns, end_ns;
	int status, signal;
	bool reaped, eof, reported, freed, paused;
	char *buf;
};

/* Frees the job once its last handle is closed. */
static void job__closed(uv_handle_t *h)
{
	struct job *job = h->data;

	if (--job->open_handles > 0)
		return;
	if (job->master >= 0)
		close(job->master);
	free(job->buf);
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
	if (job->reported || job->freed || !job->reaped || !job->eof)
		return;
	job->reported = true;
	job__stop_poll(job);
	uv_timer_stop(&job->timer);
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

/* The grace after the reap is over: take what is left and report. */
static void job__on_grace(uv_timer_t *t)
{
	struct job *job = t->data;

	job__drain(job, JOB_READ_PER_TURN);
	job->eof = true;
	job__maybe_report(job);
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
	job->reaped = true;
	job->end_ns = uv_hrtime();
	if (WIFSIGNALED(st)) {
		job->signal = WTERMSIG(st);
		job->status = 128 + job->signal;
	} else {
		job->status = WEXITSTATUS(st);
	}
	uv_signal_stop(&job->sigchld);
	if (!job->eof)
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
static void job__child(int slave, const struct job_options *opts, char **env)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	setsid();
	ioctl(slave, TIOCSCTTY, 0);
	dup2(slave, 0);
	dup2(slave, 1);
	dup2(slave, 2);
	if (slave > 2)
		close(slave);
	if (opts->cwd != NULL && chdir(opts->cwd) != 0) {
		dprintf(2, "airlock: cannot enter %s: %s\r\n", opts->cwd, strerror(errno));
		_exit(127);
	}
	execvpe(opts->argv[0], opts->argv, env);
	dprintf(2, "airlock: cannot run %s: %s\r\n", opts->argv[0], strerror(errno));
	_exit(127);
}

/* Starts a command on a new pseudo-terminal (see job.h). */
int job_start(uv_loop_t *loop, const struct job_options *opts, const struct job_callbacks *cb,
              void *data, struct job **out)
{
	struct winsize ws = {.ws_row = (unsigned short)(opts->rows > 0 ? opts->rows : 24),
	                     .ws_col = (unsigned short)(opts->cols > 0 ? opts->cols : 80)};
	char name[128];
	int master, slave, err;
	struct job *job;
	char **env;

	if (opts->argv == NULL || opts->argv[0] == NULL)
		return -EINVAL;
	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return -errno;
	if (grantpt(master) != 0 || unlockpt(master) != 0 ||
	    ptsname_r(master, name, sizeof name) != 0) {
		err = -errno;
		close(master);
		return err;
	}
	slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0) {
		err = -errno;
		close(master);
		return err;
	}
	ioctl(master, TIOCSWINSZ, &ws);

	job = xcalloc(1, sizeof *job);
	job->loop = loop;
	job->master = master;
	job->cb = cb;
	job->data = data;
	job->buf = xmalloc(JOB_READ_CHUNK);
	uv_signal_init(loop, &job->sigchld);
	uv_timer_init(loop, &job->timer);
	job->sigchld.data = job->timer.data = job;
	job->open_handles = 2;
	/* Watch SIGCHLD before forking so a command that ends at once is seen. */
	uv_signal_start(&job->sigchld, job__on_sigchld, SIGCHLD);

	env = job__env(opts->base_env, opts->env);
	job->start_ns = uv_hrtime();
	job->pid = fork();
	if (job->pid == 0)
		job__child(slave, opts, env);
	err = job->pid < 0 ? -errno : 0;
	free(env);
	close(slave);
	if (err == 0) {
		fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
		err = uv_poll_init(loop, &job->poll, master);
	}
	if (err != 0) {
		if (job->pid > 0) {
			kill(job->pid, SIGKILL);
			waitpid(job->pid, NULL, 0);
		}
		job->freed = true;
		uv_close((uv_handle_t *)&job->sigchld, job__closed);
		uv_close((uv_handle_t *)&job->timer, job__closed);
		return err;
	}
	job->poll.data = job;
	job->open_handles = 3;
	uv_poll_start(&job->poll, UV_READABLE, job__on_readable);
	*out = job;
	return 0;
}

/* Writes what a user typed to the command's terminal. */
int job_write(struct job *job, const char *buf, size_t len)
{
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
	if (job->reaped)
		return -ESRCH;
	return killpg(job->pid, SIGKILL) == 0 ? 0 : -errno;
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

/* Kills what still runs and frees the job when its handles are closed. */
void job_free(struct job *job)
{
	if (job == NULL || job->freed)
		return;
	job->freed = true;
	if (!job->reaped) {
		killpg(job->pid, SIGKILL);
		kill(job->pid, SIGKILL);
		while (waitpid(job->pid, NULL, 0) < 0 && errno == EINTR)
			;
		job->reaped = true;
	}
	uv_close((uv_handle_t *)&job->poll, job__closed);
	uv_close((uv_handle_t *)&job->sigchld, job__closed);
	uv_close((uv_handle_t *)&job->timer, job__closed);
}
