/*
 * A job is one command running on its own pseudo-terminal, driven by the
 * libuv loop: the caller gives the argv (already wrapped in the sandbox
 * helper, or not), the size of the terminal and two callbacks; the job
 * reports the bytes the command writes and, once, how it ended. No curses
 * here: the TUI feeds the bytes to a pane, the agent socket to a client.
 */
#ifndef AIRLOCK_JOB_H
#define AIRLOCK_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

struct job;

struct job_callbacks {
	/* Bytes the command wrote to its terminal. */
	void (*output)(struct job *job, const char *buf, size_t len, void *data);
	/*
	 * The command ended: STATUS is its exit code, or 128+N when killed
	 * by signal N (then SIGNAL is N, else 0). Called once, after the last
	 * output; the job may be freed from here.
	 */
	void (*exit)(struct job *job, int status, int signal, void *data);
	/* Pipe mode: bytes the command wrote to stderr (NULL: given to output). */
	void (*output_err)(struct job *job, const char *buf, size_t len, void *data);
};

struct job_options {
	char *const *argv;     /* NULL-terminated; argv[0] searched in PATH */
	const char *cwd;       /* NULL: the caller's */
	char *const *base_env; /* the environment to start from; NULL: environ */
	char *const *env;      /* extra "NAME=value" strings added to it, or NULL */
	int rows, cols;        /* the terminal's size */
	/*
	 * A pipe whose write end the command gets as descriptor JOB_REPORT_FD
	 * (the sandbox helper's --report-fd); what comes out of it is kept and
	 * given by job_report() once the command ended.
	 */
	bool report;
	/*
	 * The terminal stays no session's controlling terminal, for the command
	 * to take itself (the sandbox helper's command does, inside the sandbox:
	 * bubblewrap's new session would leave it none otherwise).
	 */
	bool no_ctty;
	/*
	 * No terminal: stdin, stdout and stderr are pipes (an agent's request,
	 * SPEC 8): output comes byte for byte, stderr through output_err, and
	 * job_write_stdin() feeds stdin. ROWS, COLS and NO_CTTY are unused.
	 */
	bool pipes;
	/*
	 * Pipe mode: pipes of the requester's own (SPEC 8) that stdout and
	 * stderr go to byte for byte through an output relay (dup'd; the caller
	 * keeps its descriptors), each -1 for none; read only when SINKS is set.
	 * The output callbacks then get the pane's copy, which leaves out what
	 * came faster than it was read (job_unshown).
	 */
	bool sinks;
	int stdout_sink, stderr_sink;
};

/* The descriptor number the command gets the report pipe's write end as. */
#define JOB_REPORT_FD 3
/* How long job_stop_all() waits for commands to end on SIGTERM before SIGKILL. */
#define JOB_STOP_GRACE_MS 2000

/*
 * Starts OPTS->argv on a new pseudo-terminal in its own session and process
 * group. On success stores the job in *OUT and returns 0; otherwise returns
 * -errno (a command that cannot be exec'd still starts and exits 127 with a
 * message on its terminal).
 */
int job_start(uv_loop_t *loop, const struct job_options *opts, const struct job_callbacks *cb,
              void *data, struct job **out);

/*
 * Pipe mode: queues BUF for the command's stdin (never blocks); LEN 0 closes
 * it (the command reads end of file). Returns 0, or -EPIPE once closed.
 */
int job_write_stdin(struct job *job, const char *buf, size_t len);
/* Writes BUF to the command's terminal (what a user types); returns 0 or -errno. */
int job_write(struct job *job, const char *buf, size_t len);

/* Resizes the command's terminal (TIOCSWINSZ, which also sends SIGWINCH). */
int job_resize(struct job *job, int rows, int cols);

/*
 * Sends SIGINT to the command's process group (and the terminal's foreground
 * group). Like job_kill and a timeout, it marks the job stopped: once the
 * command ended, its relays (job_options.sinks) wait at most a second for a
 * sink that takes nothing, and what is left is dropped.
 */
int job_interrupt(struct job *job);

/* Sends SIGKILL to the command's process group (and marks it stopped, as job_interrupt). */
int job_kill(struct job *job);

/*
 * Ends JOBS (N of them, NULL entries skipped) gracefully: SIGTERM to each
 * command's process group (the sandbox helper passes it on and then removes
 * what it made and runs its git check), then waits up to GRACE_MS in all
 * for them to end, then SIGKILL for what is left. Every job is reaped
 * (job_status() tells how it ended); no callback is called from here.
 */
void job_stop_all(struct job *const *jobs, size_t n, unsigned grace_ms);

/* Whether the command was reaped, and then its status (128+N for signal N) in *STATUS. */
bool job_status(const struct job *job, int *status);

/*
 * What the command wrote to the report pipe (job_options.report) up to
 * now, NUL-terminated, *LEN bytes; "" when nothing. Read whole once the
 * command was reaped (exit callback, job_stop_all).
 */
const char *job_report(const struct job *job, size_t *len);

/*
 * Stops reading the command's output (backpressure: the command blocks once
 * the terminal's buffer is full) until job_resume().
 */
void job_pause(struct job *job);
void job_resume(struct job *job);

/* Whether the command still runs (its exit has not been reported). */
int job_running(const struct job *job);

/* The command's process id (its process group leader). */
pid_t job_pid(const struct job *job);

/* Milliseconds from start to exit (or to now while it runs). */
uint64_t job_duration_ms(const struct job *job);

/*
 * Timeouts (SPEC 12). job_set_timeout bounds the command to MS milliseconds
 * of time that is not held: when they are spent, SIGTERM goes to its
 * process group, then SIGKILL JOB_STOP_GRACE_MS later, and job_timed_out()
 * says so from then on. job_timeout_hold(job, true) stops the clock (a
 * prompt about the command waits for a human), false starts it again with
 * what was left; holding twice is holding once. job_timeout_left_ms() is
 * what is left (0 without a timeout), e.g. for a retry of the same command.
 */
void job_set_timeout(struct job *job, uint64_t ms);
void job_timeout_hold(struct job *job, bool held);
bool job_timed_out(const struct job *job);
uint64_t job_timeout_left_ms(const struct job *job);

/* Bytes relayed to a sink that the output callbacks never got (job_options.sinks). */
uint64_t job_unshown(const struct job *job);

/*
 * Lets the job go: kills the command if it still runs, closes its handles
 * and frees it once they are closed. No callback is called afterwards.
 */
void job_free(struct job *job);

#endif
