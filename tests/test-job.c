/*
 * Tests of core/job: commands on pseudo-terminals driven by a libuv loop.
 * Each test runs a small shell command on its own loop, collects what it
 * wrote and how it ended, with a loop-level deadline so a hang fails fast.
 */
#include "test.h"

#include "core/job.h"
#include "core/xmalloc.h"

#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct job_test {
	uv_loop_t loop;
	uv_timer_t deadline, poke;
	struct job *job;
	char out[65536];
	size_t len;
	bool exited;
	int status, signal;
	/* an action once WHEN appears in the output */
	const char *when;
	void (*action)(struct job_test *jt);
	bool acted;
	int act_rc;
};

/* Collects output; runs the action once its cue appears. */
static void job_test__output(struct job *job, const char *buf, size_t len, void *data)
{
	struct job_test *jt = data;

	(void)job;
	if (jt->len + len >= sizeof jt->out)
		len = sizeof jt->out - jt->len - 1;
	memcpy(jt->out + jt->len, buf, len);
	jt->len += len;
	jt->out[jt->len] = '\0';
	if (jt->when != NULL && !jt->acted && strstr(jt->out, jt->when) != NULL) {
		jt->acted = true;
		jt->action(jt);
	}
}

/* Records the exit and stops the loop. */
static void job_test__exit(struct job *job, int status, int signal, void *data)
{
	struct job_test *jt = data;

	jt->exited = true;
	jt->status = status;
	jt->signal = signal;
	job_free(job);
	jt->job = NULL;
	uv_timer_stop(&jt->deadline);
	uv_timer_stop(&jt->poke);
}

static const struct job_callbacks job_test__cb = {
    .output = job_test__output,
    .exit = job_test__exit,
};

/* Gives up: the test fails on its assertions. */
static void job_test__timeout(uv_timer_t *t)
{
	struct job_test *jt = t->data;

	if (jt->job != NULL) {
		job_free(jt->job);
		jt->job = NULL;
	}
}

/* The action's time has come (tests without an output cue). */
static void job_test__poke(uv_timer_t *t)
{
	struct job_test *jt = t->data;

	if (jt->job != NULL && !jt->acted) {
		jt->acted = true;
		jt->action(jt);
	}
}

/* Runs SCRIPT with sh on a ROWS x COLS terminal until it ends (5 s at most). */
static int job_test__run(struct job_test *jt, const char *script, int rows, int cols)
{
	char *argv[] = {"sh", "-c", (char *)script, NULL};
	struct job_options o = {.argv = argv, .rows = rows, .cols = cols};
	int err;

	uv_loop_init(&jt->loop);
	uv_timer_init(&jt->loop, &jt->deadline);
	jt->deadline.data = jt;
	uv_timer_start(&jt->deadline, job_test__timeout, 5000, 0);
	uv_timer_init(&jt->loop, &jt->poke);
	jt->poke.data = jt;
	if (jt->action != NULL && jt->when == NULL)
		uv_timer_start(&jt->poke, job_test__poke, 300, 0);
	err = job_start(&jt->loop, &o, &job_test__cb, jt, &jt->job);
	if (err == 0)
		uv_run(&jt->loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&jt->deadline, NULL);
	uv_close((uv_handle_t *)&jt->poke, NULL);
	uv_run(&jt->loop, UV_RUN_DEFAULT);
	uv_loop_close(&jt->loop);
	return err;
}

TEST(job_reports_output_and_exit_status)
{
	struct job_test jt = {0};

	ASSERT_EQ(job_test__run(&jt, "printf 'hello from the job'; exit 3", 24, 80), 0);
	ASSERT(jt.exited);
	ASSERT_EQ(jt.status, 3);
	ASSERT_EQ(jt.signal, 0);
	ASSERT_CONTAINS(jt.out, "hello from the job");
	return 0;
}

TEST(job_runs_on_a_terminal_of_the_given_size)
{
	struct job_test jt = {0};

	ASSERT_EQ(job_test__run(&jt, "tty; stty size; test -t 0 && echo stdin-is-a-tty", 7, 33), 0);
	ASSERT(jt.exited);
	ASSERT_EQ(jt.status, 0);
	ASSERT_CONTAINS(jt.out, "/dev/pts/");
	ASSERT_CONTAINS(jt.out, "7 33");
	ASSERT_CONTAINS(jt.out, "stdin-is-a-tty");
	return 0;
}

/* Resizes the terminal once the command is ready. */
static void job_test__resize(struct job_test *jt)
{
	job_resize(jt->job, 10, 50);
}

TEST(job_resize_reaches_the_command)
{
	struct job_test jt = {.when = "ready", .action = job_test__resize};

	ASSERT_EQ(
	    job_test__run(&jt,
	                  "trap 'stty size; exit 0' WINCH; echo ready; "
	                  "i=0; while [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done; exit 9",
	                  24, 80),
	    0);
	ASSERT(jt.exited);
	ASSERT_CONTAINS(jt.out, "10 50");
	ASSERT_EQ(jt.status, 0);
	return 0;
}

/* Interrupts the command once it is ready. */
static void job_test__interrupt(struct job_test *jt)
{
	jt->act_rc = job_interrupt(jt->job);
}

TEST(job_interrupt_sends_sigint_to_the_group)
{
	/*
	 * No output cue: dash catches SIGINT under -c until it forks, so a
	 * signal between `echo` and the fork would be lost (as in a terminal).
	 * `exec sleep` leaves a program with the default action, interrupted
	 * once it surely runs.
	 */
	struct job_test jt = {.action = job_test__interrupt};

	ASSERT_EQ(job_test__run(&jt, "exec sleep 10", 24, 80), 0);
	ASSERT(jt.exited);
	ASSERT_EQ(jt.act_rc, 0);
	ASSERT_NOT_CONTAINS(jt.out, "not-interrupted");
	ASSERT_EQ(jt.status, 128 + SIGINT);
	ASSERT_EQ(jt.signal, SIGINT);
	return 0;
}

/* Kills the command once it is ready. */
static void job_test__kill(struct job_test *jt)
{
	job_kill(jt->job);
}

TEST(job_kill_reports_128_plus_signal)
{
	struct job_test jt = {.when = "ready", .action = job_test__kill};

	ASSERT_EQ(job_test__run(&jt, "trap '' INT; echo ready; sleep 10", 24, 80), 0);
	ASSERT(jt.exited);
	ASSERT_EQ(jt.status, 128 + SIGKILL);
	return 0;
}

TEST(job_missing_program_exits_127)
{
	struct job_test jt = {0};
	char *argv[] = {"/nonexistent/airlock-no-such-program", NULL};
	struct job_options o = {.argv = argv, .rows = 24, .cols = 80};

	uv_loop_init(&jt.loop);
	uv_timer_init(&jt.loop, &jt.deadline);
	jt.deadline.data = &jt;
	uv_timer_start(&jt.deadline, job_test__timeout, 5000, 0);
	ASSERT_EQ(job_start(&jt.loop, &o, &job_test__cb, &jt, &jt.job), 0);
	uv_run(&jt.loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&jt.deadline, NULL);
	uv_run(&jt.loop, UV_RUN_DEFAULT);
	uv_loop_close(&jt.loop);
	ASSERT(jt.exited);
	ASSERT_EQ(jt.status, 127);
	ASSERT_CONTAINS(jt.out, "cannot run /nonexistent/airlock-no-such-program");
	return 0;
}

TEST(job_delivers_all_output_before_exit)
{
	struct job_test jt = {0};

	/* About 48 KB: every byte must arrive before the exit is reported. */
	ASSERT_EQ(job_test__run(&jt, "seq 1 9000; echo the-end", 24, 80), 0);
	ASSERT(jt.exited);
	ASSERT_EQ(jt.status, 0);
	ASSERT_CONTAINS(jt.out, "\r\n8999\r\n9000\r\nthe-end");
	return 0;
}
