/*
 * Tests of core/output-relay: real pipes on a private libuv loop. A child
 * process writes a known byte pattern into the command's pipe; the test
 * reads the sink's and the pane's pipes in the same loop (each at a pace
 * the test chooses) and compares what each got with the pattern.
 */
#include "test.h"

#include "core/output-relay.h"
#include "core/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

/* How much the child writes: more than both pipes hold together. */
#define RELAY_TEST_TOTAL (5u * 1024 * 1024 + 12345)

/* The pattern's byte at offset I (not periodic within a pipe's size). */
static unsigned char relay_test_byte(size_t i)
{
	return (unsigned char)((i * 2654435761u) >> 13);
}

struct relay_test {
	uv_loop_t loop;
	uv_poll_t sink_poll, pane_poll;
	uv_timer_t pace, deadline;
	struct output_relay *relay;
	int sink_r, pane_r;
	unsigned char *sink, *pane;
	size_t sink_len, pane_len;
	bool sink_eof, pane_eof;
	size_t sink_in_pipe_at_pane_eof; /* what the sink had not read yet when the pane ended */
	bool pane_paused;                /* the pane is read only after the sink's end */
	size_t sink_step;                /* 0: read the sink as fast as it comes; else per 2 ms */
	size_t sink_close_after;         /* close the sink's reader after this much (0: never) */
	pid_t writer;
	uint64_t unshown; /* as the relay counted it at the end */
	bool sink_gone;
};

/* Reads what FD has into BUF (at most LIMIT bytes); true at its end. */
static bool relay_test_read(int fd, unsigned char *buf, size_t *len, size_t limit)
{
	size_t got = 0;

	while (got < limit && *len < RELAY_TEST_TOTAL + 1) {
		size_t want = limit - got < 65536 ? limit - got : 65536;
		ssize_t n = read(fd, buf + *len, want);

		if (n > 0) {
			*len += (size_t)n;
			got += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n == 0;
	}
	return false;
}

static void relay_test_stop_if_done(struct relay_test *rt)
{
	if ((rt->sink_eof || rt->sink_r < 0) && rt->pane_eof) {
		uv_timer_stop(&rt->deadline);
		uv_timer_stop(&rt->pace);
	}
}

/* The pane's pipe is readable. */
static void relay_test_on_pane(uv_poll_t *p, int status, int events)
{
	struct relay_test *rt = p->data;

	(void)status;
	(void)events;
	if (relay_test_read(rt->pane_r, rt->pane, &rt->pane_len, (size_t)-1)) {
		int avail = 0;

		rt->pane_eof = true;
		if (rt->sink_r >= 0 && ioctl(rt->sink_r, FIONREAD, &avail) == 0)
			rt->sink_in_pipe_at_pane_eof = rt->sink_len + (size_t)avail;
		uv_poll_stop(p);
		relay_test_stop_if_done(rt);
	}
}

/* Reads the sink (all of it, or one step); closes it early when asked to. */
static void relay_test_sink_step(struct relay_test *rt)
{
	if (rt->sink_r < 0 || rt->sink_eof)
		return;
	if (relay_test_read(rt->sink_r, rt->sink, &rt->sink_len,
	                    rt->sink_step ? rt->sink_step : (size_t)-1)) {
		rt->sink_eof = true;
		uv_poll_stop(&rt->sink_poll);
		if (rt->pane_paused)
			uv_poll_start(&rt->pane_poll, UV_READABLE, relay_test_on_pane);
	} else if (rt->sink_close_after > 0 && rt->sink_len >= rt->sink_close_after) {
		uv_poll_stop(&rt->sink_poll);
		close(rt->sink_r);
		rt->sink_r = -1;
	}
	relay_test_stop_if_done(rt);
}

static void relay_test_on_sink(uv_poll_t *p, int status, int events)
{
	(void)status;
	(void)events;
	relay_test_sink_step(p->data);
}

static void relay_test_on_pace(uv_timer_t *t)
{
	relay_test_sink_step(t->data);
}

static void relay_test_on_deadline(uv_timer_t *t)
{
	struct relay_test *rt = t->data;

	uv_stop(&rt->loop);
}

/* Closes H's poll, if it was started. */
static void relay_test_close(uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/*
 * Runs one relay: a child writes the pattern into the command's pipe, the
 * sink and the pane are read as RT says. Returns 0 or -1 (setup failed).
 */
static int relay_test_run(struct relay_test *rt)
{
	int from[2], sink[2], pane[2], status;

	signal(SIGPIPE, SIG_IGN); /* as in airlock: a reader gone is an EPIPE */
	if (pipe2(from, O_CLOEXEC) != 0 || pipe2(sink, O_CLOEXEC) != 0 || pipe2(pane, O_CLOEXEC) != 0)
		return -1;
	rt->writer = fork();
	if (rt->writer == 0) {
		unsigned char *buf = xmalloc(RELAY_TEST_TOTAL);

		/* Only the command's pipe: a reader kept here would hide the sink's end. */
		close(from[0]), close(sink[0]), close(sink[1]), close(pane[0]), close(pane[1]);

		for (size_t i = 0; i < RELAY_TEST_TOTAL; i++)
			buf[i] = relay_test_byte(i);
		for (size_t off = 0; off < RELAY_TEST_TOTAL;) {
			ssize_t n = write(from[1], buf + off, RELAY_TEST_TOTAL - off);

			if (n <= 0)
				_exit(n < 0 && errno == EPIPE ? 3 : 1);
			off += (size_t)n;
		}
		_exit(0);
	}
	close(from[1]);
	rt->sink = xmalloc(RELAY_TEST_TOTAL + 1);
	rt->pane = xmalloc(RELAY_TEST_TOTAL + 1);
	uv_loop_init(&rt->loop);
	if (output_relay_start(&rt->loop, from[0], sink[1], pane[1], &rt->relay) != 0)
		return -1;
	close(sink[1]); /* the relay has its own copy */
	rt->sink_r = sink[0];
	rt->pane_r = pane[0];
	fcntl(rt->sink_r, F_SETFL, O_NONBLOCK);
	fcntl(rt->pane_r, F_SETFL, O_NONBLOCK);
	uv_poll_init(&rt->loop, &rt->sink_poll, rt->sink_r);
	uv_poll_init(&rt->loop, &rt->pane_poll, rt->pane_r);
	uv_timer_init(&rt->loop, &rt->pace);
	uv_timer_init(&rt->loop, &rt->deadline);
	rt->sink_poll.data = rt->pane_poll.data = rt->pace.data = rt->deadline.data = rt;
	if (rt->sink_step > 0)
		uv_timer_start(&rt->pace, relay_test_on_pace, 2, 2);
	else
		uv_poll_start(&rt->sink_poll, UV_READABLE, relay_test_on_sink);
	if (!rt->pane_paused)
		uv_poll_start(&rt->pane_poll, UV_READABLE, relay_test_on_pane);
	uv_timer_start(&rt->deadline, relay_test_on_deadline, 20000, 0);
	uv_run(&rt->loop, UV_RUN_DEFAULT);
	rt->unshown = output_relay_unshown(rt->relay);
	rt->sink_gone = output_relay_sink_gone(rt->relay);
	output_relay_free(rt->relay);
	relay_test_close((uv_handle_t *)&rt->sink_poll);
	relay_test_close((uv_handle_t *)&rt->pane_poll);
	relay_test_close((uv_handle_t *)&rt->pace);
	relay_test_close((uv_handle_t *)&rt->deadline);
	uv_run(&rt->loop, UV_RUN_DEFAULT);
	uv_loop_close(&rt->loop);
	if (rt->sink_r >= 0)
		close(rt->sink_r);
	close(rt->pane_r);
	while (waitpid(rt->writer, &status, 0) < 0 && errno == EINTR)
		;
	rt->writer = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return 0;
}

/* Whether BUF (LEN bytes) is the pattern from offset 0. */
static bool relay_test_is_pattern(const unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != relay_test_byte(i))
			return false;
	return true;
}

/* Runs RT; 0 when the writer ended well and the sink got the whole pattern, to its end. */
static int relay_test_run_whole(struct relay_test *rt)
{
	ASSERT_EQ(relay_test_run(rt), 0);
	ASSERT_EQ(rt->writer, 0);
	ASSERT(rt->sink_eof);
	ASSERT_EQ(rt->sink_len, RELAY_TEST_TOTAL);
	ASSERT(relay_test_is_pattern(rt->sink, rt->sink_len));
	return 0;
}

/* Both read at once: each gets every byte, and the pane's end comes after the sink has them all. */
TEST(output_relay_gives_the_sink_every_byte_and_the_pane_a_copy)
{
	struct relay_test rt = {0};

	ASSERT_EQ(relay_test_run_whole(&rt), 0);
	ASSERT(rt.pane_eof);
	ASSERT_EQ(rt.sink_in_pipe_at_pane_eof, RELAY_TEST_TOTAL);
	/* Every byte is in the pane's copy or counted as left out of it. */
	ASSERT_EQ(rt.pane_len + rt.unshown, RELAY_TEST_TOTAL);
	if (rt.unshown == 0)
		ASSERT(relay_test_is_pattern(rt.pane, rt.pane_len));
	ASSERT(!rt.sink_gone);
	free(rt.sink);
	free(rt.pane);
	return 0;
}

/* A pane that reads nothing never holds the sink back: it keeps what fit, the rest is counted. */
TEST(output_relay_leaves_out_what_a_full_pane_cannot_take)
{
	struct relay_test rt = {.pane_paused = true};

	ASSERT_EQ(relay_test_run_whole(&rt), 0);
	ASSERT(rt.pane_eof);
	ASSERT(rt.pane_len > 0);
	ASSERT(rt.pane_len <= OUTPUT_RELAY_PIPE);
	ASSERT(relay_test_is_pattern(rt.pane, rt.pane_len));
	ASSERT_EQ(rt.unshown, RELAY_TEST_TOTAL - rt.pane_len);
	free(rt.sink);
	free(rt.pane);
	return 0;
}

/* A sink read slowly holds the writer back; nothing is lost or reordered. */
TEST(output_relay_waits_for_a_slow_sink)
{
	struct relay_test rt = {.sink_step = 256 * 1024};

	ASSERT_EQ(relay_test_run_whole(&rt), 0);
	ASSERT_EQ(rt.pane_len + rt.unshown, RELAY_TEST_TOTAL);
	free(rt.sink);
	free(rt.pane);
	return 0;
}

/* A sink whose reader goes away mid-stream ends the command's pipe, as in a pipeline. */
TEST(output_relay_ends_the_pipe_when_the_sink_goes_away)
{
	struct relay_test rt = {.sink_close_after = 1024 * 1024};

	ASSERT_EQ(relay_test_run(&rt), 0);
	ASSERT_EQ(rt.writer, 3); /* its write got EPIPE (SIGPIPE, were it not ignored here) */
	ASSERT(rt.sink_gone);
	ASSERT(rt.pane_eof); /* the pane's reader saw the end */
	ASSERT(rt.sink_len < RELAY_TEST_TOTAL);
	ASSERT(relay_test_is_pattern(rt.sink, rt.sink_len));
	free(rt.sink);
	free(rt.pane);
	return 0;
}

/* Only a pipe's writing end can be a sink: a file, a terminal or a socket could block the loop. */
TEST(output_relay_takes_only_pipes_as_sinks)
{
	int p[2], sv[2];
	int file = open("f", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	ASSERT(file >= 0 && null >= 0);
	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ASSERT(output_relay_sink_ok(p[1]));
	ASSERT(!output_relay_sink_ok(p[0])); /* a reading end */
	ASSERT(!output_relay_sink_ok(file));
	ASSERT(!output_relay_sink_ok(null));
	ASSERT(!output_relay_sink_ok(sv[0]));
	ASSERT(!output_relay_sink_ok(-1));
	close(p[0]), close(p[1]), close(sv[0]), close(sv[1]), close(file), close(null);
	return 0;
}

/*
 * A FIFO open for reading and writing is a reader of its own pipe: kept by
 * the relay, it would hide the real reader's going away (no SIGPIPE ever,
 * the command blocked for good once the pipe is full).
 */
TEST(output_relay_refuses_a_fifo_open_for_reading_too)
{
	int rw, wo, rd;

	ASSERT_EQ(mkfifo("fifo", 0600), 0);
	rw = open("fifo", O_RDWR | O_CLOEXEC);
	rd = open("fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	wo = open("fifo", O_WRONLY | O_CLOEXEC);
	ASSERT(rw >= 0 && rd >= 0 && wo >= 0);
	ASSERT(!output_relay_sink_ok(rw));
	ASSERT(output_relay_sink_ok(wo));
	close(rw), close(rd), close(wo);
	return 0;
}

/* One pipe named twice (a dup, or a FIFO opened twice) is the same pipe; two pipes are not. */
TEST(output_relay_knows_one_pipe_named_twice)
{
	int p[2], q[2], d, f1, f2, rd;

	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	ASSERT_EQ(pipe2(q, O_CLOEXEC), 0);
	d = fcntl(p[1], F_DUPFD_CLOEXEC, 3);
	ASSERT_EQ(mkfifo("fifo", 0600), 0);
	rd = open("fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	f1 = open("fifo", O_WRONLY | O_CLOEXEC);
	f2 = open("fifo", O_WRONLY | O_CLOEXEC);
	ASSERT(d >= 0 && rd >= 0 && f1 >= 0 && f2 >= 0);
	ASSERT(output_relay_same_pipe(p[1], d));
	ASSERT(output_relay_same_pipe(p[1], p[0]));
	ASSERT(output_relay_same_pipe(f1, f2));
	ASSERT(!output_relay_same_pipe(p[1], q[1]));
	ASSERT(!output_relay_same_pipe(p[1], f1));
	close(p[0]), close(p[1]), close(q[0]), close(q[1]), close(d), close(rd), close(f1), close(f2);
	return 0;
}

/* Stops LOOP (a deadline). */
static void relay_test_stop_loop(uv_timer_t *t)
{
	uv_stop(t->loop);
}

/*
 * The requester's descriptor is left as it was: blocking. Polling a
 * descriptor makes its open file description non-blocking, and the
 * requester's is shared with every other writer of its pipe (a shell's
 * next command writing to the same pipe would get EAGAIN).
 */
TEST(output_relay_leaves_the_sinks_description_blocking)
{
	int from[2], sink[2], pane[2];
	struct output_relay *r;
	uv_loop_t loop;
	uv_timer_t t;
	char buf[16];

	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(pipe2(from, O_CLOEXEC), 0);
	ASSERT_EQ(pipe2(sink, O_CLOEXEC), 0);
	ASSERT_EQ(pipe2(pane, O_CLOEXEC), 0);
	uv_loop_init(&loop);
	ASSERT_EQ(output_relay_start(&loop, from[0], sink[1], pane[1], &r), 0);
	ASSERT_EQ(write(from[1], "hi\n", 3), 3);
	close(from[1]);
	uv_timer_init(&loop, &t);
	uv_timer_start(&t, relay_test_stop_loop, 200, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	ASSERT_EQ(read(sink[0], buf, sizeof buf), 3);
	ASSERT_EQ(fcntl(sink[1], F_GETFL) & O_NONBLOCK, 0);
	output_relay_free(r);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	ASSERT_EQ(uv_loop_close(&loop), 0);
	close(sink[0]), close(sink[1]), close(pane[0]);
	return 0;
}

/*
 * A FIFO nobody reads any more when the relay starts is gone at once: the
 * command's pipe is closed (its first write gets EPIPE, SIGPIPE in
 * airlock's commands) and the pane's reader sees the end.
 */
TEST(output_relay_with_a_fifo_nobody_reads_ends_the_pipe_at_once)
{
	int from[2], sink[2], pane[2];
	struct output_relay *r;
	uv_loop_t loop;
	char buf[4];

	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(pipe2(from, O_CLOEXEC), 0);
	ASSERT_EQ(mkfifo("fifo", 0600), 0);
	sink[0] = open("fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	sink[1] = open("fifo", O_WRONLY | O_CLOEXEC);
	ASSERT(sink[0] >= 0 && sink[1] >= 0);
	ASSERT_EQ(pipe2(pane, O_CLOEXEC), 0);
	close(sink[0]);
	uv_loop_init(&loop);
	ASSERT_EQ(output_relay_start(&loop, from[0], sink[1], pane[1], &r), 0);
	ASSERT(output_relay_sink_gone(r));
	ASSERT(!output_relay_busy(r));
	ASSERT_EQ(write(from[1], "x", 1), -1);
	ASSERT_EQ(errno, EPIPE);
	ASSERT_EQ(read(pane[0], buf, sizeof buf), 0);
	output_relay_free(r);
	uv_run(&loop, UV_RUN_DEFAULT);
	ASSERT_EQ(uv_loop_close(&loop), 0);
	close(from[1]), close(sink[1]), close(pane[0]);
	return 0;
}
