/*
 * Output relays (see output-relay.h). One loop turn moves at most
 * OUTPUT_RELAY_TURN bytes: for each stretch the command's pipe holds, the
 * relay first tees it into the pane's pipe, then splices exactly the teed
 * bytes (they are "ahead") to the sink, so every byte reaches the pane at
 * most once and the sink exactly once, in order. When the pane's pipe is
 * full the tee fails and the stretch goes to the sink alone, counted as
 * unshown. When the sink is full the relay stops watching the command's
 * pipe and waits for the sink to take more: the command then blocks on its
 * own full pipe, as it would writing to the agent's pipe directly.
 *
 * End of file on the command's pipe is an empty pipe (FIONREAD) with no
 * writer left (POLLHUP), never just an empty one: a readiness seen before
 * the relay drained the pipe itself must not end it early.
 *
 * A sink whose reader went away (EPIPE) ends the relay as a reader going
 * away ends a pipeline: the command's pipe is closed, so its next write
 * gets SIGPIPE, as it would have writing to the agent's pipe itself
 * (`airlock submit -- yes | head` ends with 141, as `yes | head` does).
 *
 * The sink is never polled itself: uv_poll_init makes a descriptor's open
 * file description non-blocking, and the requester's is shared with
 * whatever else writes to its pipe (a shell's next command writing to it
 * would get EAGAIN). An epoll descriptor of the relay's own watches it
 * instead (epoll leaves its flags alone), and the loop polls that one;
 * SPLICE_F_NONBLOCK keeps the splice from blocking on a full sink. Nor is
 * it opened anew through /proc/self/fd: that open checks permissions,
 * which on a FUSE file system may wait on its server.
 *
 * Descriptors are closed after their polls' handles (never a watched one),
 * the pane's write end last of all the relay's work, so the pane's reader
 * sees its end only after the sink got every byte.
 */
#include "output-relay.h"

#include "xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

struct output_relay {
	uv_poll_t from_poll, sink_poll;
	int from, sink, pane; /* -1 once closed */
	int sink_ep;          /* an epoll descriptor watching SINK for room (SINK_POLL polls it) */
	size_t ahead;         /* bytes at the head of FROM already in the pane's pipe */
	uint64_t unshown, moved;
	int open_handles;
	bool finished, freed, sink_gone, waiting_sink;
	bool big; /* FROM was made OUTPUT_RELAY_PIPE large (counted in output_relay__big) */
};

/* Relays whose command's pipe is OUTPUT_RELAY_PIPE large now. */
static int output_relay__big;

bool output_relay_sink_ok(int fd)
{
	struct statx stx;
	int fl = fcntl(fd, F_GETFL);

	/*
	 * AT_STATX_DONT_SYNC: a FIFO on a FUSE or network file system is not
	 * asked about (fstat would wait on its server, the loop with it, for as
	 * long as the server likes); a file's type never changes, so the
	 * cached one is right. O_WRONLY: a descriptor open for reading too is a
	 * reader of the pipe itself, and one we keep would hide its real
	 * reader's going away.
	 */
	return fl >= 0 && (fl & O_ACCMODE) == O_WRONLY &&
	       statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE, &stx) == 0 &&
	       (stx.stx_mask & STATX_TYPE) != 0 && S_ISFIFO(stx.stx_mode);
}

bool output_relay_same_pipe(int a, int b)
{
	struct statx sa, sb;
	int flags = AT_EMPTY_PATH | AT_STATX_DONT_SYNC; /* as in output_relay_sink_ok */

	return statx(a, "", flags, STATX_TYPE | STATX_INO, &sa) == 0 &&
	       statx(b, "", flags, STATX_TYPE | STATX_INO, &sb) == 0 && S_ISFIFO(sa.stx_mode) &&
	       sa.stx_ino == sb.stx_ino && sa.stx_dev_major == sb.stx_dev_major &&
	       sa.stx_dev_minor == sb.stx_dev_minor;
}

/*
 * An epoll descriptor that is readable when SINK takes more (or its reader
 * went away): -errno if none could be made.
 */
static int output_relay__watch(int sink)
{
	struct epoll_event ev = {.events = EPOLLOUT};
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0)
		return -errno;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, sink, &ev) != 0) {
		int err = -errno;

		close(ep);
		return err;
	}
	return ep;
}

/* Whether the pipe SINK writes to has no reader left. */
static bool output_relay__unread(int sink)
{
	struct pollfd pfd = {.fd = sink, .events = POLLOUT};

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLERR) != 0;
}

/* A handle closed: the descriptors go with the last one, the relay if it was freed. */
static void output_relay__closed(uv_handle_t *h)
{
	struct output_relay *r = h->data;

	if (--r->open_handles > 0)
		return;
	if (r->from >= 0)
		close(r->from);
	if (r->big)
		output_relay__big--;
	r->big = false;
	if (r->sink >= 0)
		close(r->sink);
	if (r->sink_ep >= 0)
		close(r->sink_ep);
	r->from = r->sink = r->sink_ep = -1;
	if (r->freed)
		free(r);
}

/* The command's output ended (or the relay is stopped): let everything go. */
static void output_relay__finish(struct output_relay *r)
{
	if (r->finished)
		return;
	r->finished = true;
	if (r->pane >= 0)
		close(r->pane);
	r->pane = -1;
	uv_close((uv_handle_t *)&r->from_poll, output_relay__closed);
	uv_close((uv_handle_t *)&r->sink_poll, output_relay__closed);
}

/* The sink is full: wait for it rather than for more output. */
static void output_relay__on_sink(uv_poll_t *p, int status, int events);

static void output_relay__wait_sink(struct output_relay *r)
{
	r->waiting_sink = true;
	uv_poll_stop(&r->from_poll);
	uv_poll_start(&r->sink_poll, UV_READABLE, output_relay__on_sink);
}

/*
 * One step with a sink: tee what is not yet in the pane's pipe, splice the
 * teed bytes (or, when the pane is full, the stretch alone) to the sink.
 * Returns the bytes moved, 0 when it must wait for the sink, -1 to go on
 * at once (EINTR) or when the sink went away (SINK_GONE is then set).
 */
static ssize_t output_relay__step(struct output_relay *r, size_t avail)
{
	size_t want;
	ssize_t n;

	if (r->ahead == 0 && r->pane >= 0) {
		n = tee(r->from, r->pane, avail, SPLICE_F_NONBLOCK);
		if (n < 0 && errno == EINTR)
			return -1;
		if (n > 0) {
			r->ahead = (size_t)n;
		} else if (n < 0 && errno != EAGAIN) {
			close(r->pane); /* its reader is gone */
			r->pane = -1;
		}
	}
	want = r->ahead > 0 ? r->ahead : avail;
	n = splice(r->from, NULL, r->sink, NULL, want, SPLICE_F_NONBLOCK);
	if (n > 0) {
		r->moved += (uint64_t)n;
		if (r->ahead > 0)
			r->ahead -= (size_t)n;
		else
			r->unshown += (uint64_t)n;
		return n;
	}
	if (n < 0 && errno == EINTR)
		return -1;
	if (n < 0 && errno == EAGAIN) {
		output_relay__wait_sink(r);
		return 0;
	}
	/* EPIPE (its reader closed it) or anything else: the sink is gone. */
	r->sink_gone = true;
	return -1;
}

/* Whether the command's pipe, found empty, has no writer left (its end). */
static bool output_relay__at_end(const struct output_relay *r)
{
	struct pollfd pfd = {.fd = r->from, .events = POLLIN};

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) != 0;
}

/* Moves what the command's pipe holds, up to OUTPUT_RELAY_TURN bytes. */
static void output_relay__pump(struct output_relay *r)
{
	size_t moved = 0;

	while (!r->finished && !r->waiting_sink && moved < OUTPUT_RELAY_TURN) {
		int avail = 0;
		ssize_t n;

		if (ioctl(r->from, FIONREAD, &avail) != 0 ||
		    (avail <= 0 && output_relay__at_end(r))) {
			output_relay__finish(r);
			return;
		}
		if (avail <= 0)
			return;
		n = output_relay__step(r, (size_t)avail);
		if (r->sink_gone) {
			output_relay__finish(r);
			return;
		}
		if (n > 0)
			moved += (size_t)n;
	}
}

/* The command's pipe is readable (or at its end). */
static void output_relay__on_from(uv_poll_t *p, int status, int events)
{
	struct output_relay *r = p->data;

	(void)events;
	if (status < 0) {
		output_relay__finish(r);
		return;
	}
	output_relay__pump(r);
}

/* The sink takes more again (or failed: the next splice tells). */
static void output_relay__on_sink(uv_poll_t *p, int status, int events)
{
	struct output_relay *r = p->data;

	(void)status;
	(void)events;
	r->waiting_sink = false;
	uv_poll_stop(&r->sink_poll);
	uv_poll_start(&r->from_poll, UV_READABLE, output_relay__on_from);
	output_relay__pump(r);
}

int output_relay_start(uv_loop_t *loop, int from, int sink, int pane, struct output_relay **out)
{
	struct output_relay *r = xcalloc(1, sizeof *r);
	int err = 0;

	r->from = from;
	r->pane = pane;
	r->sink = fcntl(sink, F_DUPFD_CLOEXEC, 3);
	r->sink_ep = -1;
	if (r->sink < 0)
		err = -errno;
	else if ((r->sink_ep = output_relay__watch(r->sink)) < 0)
		err = r->sink_ep;
	r->from_poll.data = r->sink_poll.data = r;
	if (err == 0 && output_relay__unread(r->sink)) {
		/* Its reader is already gone: the command's first write gets SIGPIPE. */
		close(r->sink);
		close(r->sink_ep);
		r->sink = r->sink_ep = -1;
		r->sink_gone = r->finished = true;
		close(from);
		close(pane);
		r->from = r->pane = -1;
		*out = r;
		return 0;
	}
	fcntl(from, F_SETFL, fcntl(from, F_GETFL) | O_NONBLOCK);
	fcntl(pane, F_SETFL, fcntl(pane, F_GETFL) | O_NONBLOCK);
	if (err == 0)
		err = uv_poll_init(loop, &r->from_poll, from);
	if (err == 0) {
		r->open_handles = 1;
		err = uv_poll_init(loop, &r->sink_poll, r->sink_ep);
		if (err != 0) {
			r->freed = true;
			close(pane);
			uv_close((uv_handle_t *)&r->from_poll, output_relay__closed);
			return err;
		}
	}
	if (err != 0) {
		close(from);
		close(pane);
		if (r->sink >= 0)
			close(r->sink);
		if (r->sink_ep >= 0)
			close(r->sink_ep);
		free(r);
		return err;
	}
	r->open_handles = 2;
	/*
	 * A larger pipe for the command moves a flood in fewer, larger steps
	 * (0.81x a bare pipeline's pace at 64 KiB, 1.06x at 1 MiB); but the
	 * kernel counts pipe memory per user and gives every new pipe of the
	 * user one page past a limit (64 MiB by default), so only so many.
	 */
	if (output_relay__big < OUTPUT_RELAY_BIG_PIPES &&
	    fcntl(from, F_SETPIPE_SZ, OUTPUT_RELAY_PIPE) >= 0) {
		r->big = true;
		output_relay__big++;
	}
	uv_poll_start(&r->from_poll, UV_READABLE, output_relay__on_from);
	*out = r;
	return 0;
}

uint64_t output_relay_unshown(const struct output_relay *r)
{
	return r->unshown;
}

bool output_relay_busy(const struct output_relay *r)
{
	int avail = 0;

	if (r == NULL || r->finished)
		return false;
	return r->waiting_sink || r->ahead > 0 ||
	       (ioctl(r->from, FIONREAD, &avail) == 0 && avail > 0);
}

bool output_relay_sink_gone(const struct output_relay *r)
{
	return r->sink_gone;
}

uint64_t output_relay_moved(const struct output_relay *r)
{
	return r->moved;
}

void output_relay_stop(struct output_relay *r)
{
	output_relay__finish(r);
}

void output_relay_free(struct output_relay *r)
{
	if (r == NULL)
		return;
	output_relay__finish(r);
	r->freed = true;
	if (r->open_handles == 0)
		free(r);
}
