/*
 * The agent socket's server. The listening socket is made by hand (socket,
 * bind under a tight umask, chmod 0600, listen) in a directory checked to be
 * ours and private, then handed to libuv with uv_pipe_open. Each accepted
 * connection is checked with SO_PEERCRED and becomes a struct
 * agent_server_client on a list, named by an increasing number that is
 * never reused, so a late answer to a client that has gone finds nothing
 * instead of freed memory.
 *
 * Reading: libuv's buffers go through the protocol splitter (at most 1 MB
 * kept per client); each line is parsed, and either dispatched to the
 * owner's callback or answered with an error event here. A big line (over
 * AGENT_SERVER_BIG_LINE: a 200k-word argv is a megabyte of JSON, tens of
 * milliseconds to parse) is parsed on libuv's thread pool instead, from a
 * copy of its own, into a request nothing else touches, so keys typed into
 * the TUI meanwhile are still read and drawn (issue 11). Its connection
 * then stops reading and holds the lines that came after it in a backlog
 * until the request is dispatched, so each connection's requests keep
 * their order; other connections carry on.
 *
 * Descriptors (stdio_fds) come as SCM_RIGHTS with a line's first byte. The
 * kernel may glue earlier lines' bytes before them in one read, never later
 * ones' (a read stops after the bytes that carry descriptors), so the line
 * they came with is one of those that start in that read: each kept
 * descriptor remembers their numbers (FIRST to LAST, lines counted from 0
 * by their "\n"), a line claims only descriptors whose read it started in,
 * and a line that starts past LAST finds them stale and closes them. So a
 * descriptor sent with a cancel, one more than a line named, or one sent
 * with no line never goes to a later request. Writing: each event
 * line is one uv_write; a client whose unread queue passes
 * AGENT_SERVER_MAX_QUEUE is dropped rather than let memory grow. Handles are
 * freed in their close callbacks; the server itself once its last handle
 * has closed.
 *
 * The directory's checks keep other users out; they cannot keep out a
 * sandboxed command, which runs as this same user. That is done by hiding
 * every socket directory in every sandbox (agent_server_socket_dirs, given
 * to the helper as --hide by core/sandbox-command), including the ones that
 * do not exist yet, so no sandbox can make one first and plant a socket.
 */
#include "agent-server.h"

#include "xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* A descriptor a client sent, and the lines that started in the read it came with. */
struct agent_server_fd {
	int fd;
	uint64_t first, last;
};

struct agent_server_client {
	uv_pipe_t pipe;
	struct agent_server *server;
	uint64_t id;
	struct protocol_splitter split;
	struct agent_server_client *next;
	bool closing;
	bool read_eof;    /* the client shut its writing side */
	size_t holds;     /* its requests still under way (agent_server_hold) */
	uint64_t last_ms; /* when its last request came (or it connected) */
	bool want_drain;  /* the owner was told it is busy: tell it when it drains */
	struct agent_server_fd fds[AGENT_SERVER_MAX_FDS]; /* sent (SCM_RIGHTS), not yet claimed */
	size_t n_fds;
	uint64_t lines;     /* the "\n"s it sent so far: the number of the line under way */
	bool mid_line;      /* its last byte was not a "\n" */
	uint64_t next_line; /* the number the splitter's next line gets */

	/* A big line of its is being parsed off the loop; the lines after it wait here. */
	bool parsing;
	struct agent_server_held *backlog, **backlog_end;
};

/* A line that came after one being parsed, kept until that one is dispatched. */
struct agent_server_held {
	struct agent_server_held *next;
	uint64_t no; /* its number among its client's lines */
	bool too_long;
	size_t len;
	char line[]; /* LEN bytes */
};

/* A big line being parsed on the thread pool: only the worker touches it until it is done. */
struct agent_server_parse {
	uv_work_t work;
	struct agent_server *server;
	uint64_t client;
	uint64_t no; /* the line's number among its client's */
	char *line;
	size_t len;
	struct protocol_request req;
	char *cause;
	int rc;
};

struct agent_server {
	uv_loop_t *loop;
	uv_pipe_t listener;
	char *path;
	const struct agent_server_ops *ops;
	void *data;
	struct agent_server_client *clients;
	size_t n_clients;
	uint64_t next_id;
	unsigned open_handles; /* the listener, the idle timer, every client not yet closed and
	                          every big line still being parsed */
	bool stopping;
	uv_timer_t idle_timer;
	uint64_t idle_ms; /* a client with nothing under way and no request this long goes */
};

/*
 * Lines longer than this are parsed on libuv's thread pool, not on the loop
 * (a line of this size parses in well under a millisecond).
 */
#define AGENT_SERVER_BIG_LINE (64 * 1024)

/* One event line being written. */
struct agent_server_write {
	uv_write_t req;
	char *line;
};

char *agent_server_default_dir(void)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (xdg != NULL && xdg[0] == '/')
		return xasprintf("%s/airlock", xdg);
	return xasprintf("/tmp/airlock-%ld", (long)getuid());
}

char *agent_server_default_path(void)
{
	char *dir = agent_server_default_dir();
	char *path = xasprintf("%s/%ld.sock", dir, (long)getpid());

	free(dir);
	return path;
}

/* Appends DIR/airlock (PARENT resolved when it exists) to V unless it is there. */
static void agent_server_add_dir(char ***v, size_t *n, const char *parent, const char *name)
{
	char *real = realpath(parent, NULL);
	const char *base = real != NULL ? real : parent;
	size_t len = strlen(base);
	char *dir;

	while (len > 1 && base[len - 1] == '/')
		len--;
	dir = xasprintf("%.*s/%s", (int)len, len == 1 ? "" : base, name);
	free(real);
	for (size_t i = 0; i < *n; i++) {
		if (strcmp((*v)[i], dir) == 0) {
			free(dir);
			return;
		}
	}
	*v = xreallocarray(*v, *n + 2, sizeof **v);
	(*v)[(*n)++] = dir;
	(*v)[*n] = NULL;
}

char **agent_server_socket_dirs(void)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char **v = NULL, *run = xasprintf("/run/user/%ld", (long)getuid());
	char *tmp = xasprintf("airlock-%ld", (long)getuid());
	size_t n = 0;

	if (xdg != NULL && xdg[0] == '/')
		agent_server_add_dir(&v, &n, xdg, "airlock");
	agent_server_add_dir(&v, &n, run, "airlock");
	agent_server_add_dir(&v, &n, "/tmp", tmp);
	free(run);
	free(tmp);
	return v;
}

void agent_server_socket_dirs_free(char **dirs)
{
	for (size_t i = 0; dirs != NULL && dirs[i] != NULL; i++)
		free(dirs[i]);
	free(dirs);
}

/* Frees S once its last handle has closed. */
static void agent_server_maybe_free(struct agent_server *s)
{
	if (s->stopping && s->open_handles == 0) {
		free(s->path);
		free(s);
	}
}

/* The close callback of a client: unlinks it and frees it. */
static void agent_server_client_closed(uv_handle_t *h)
{
	struct agent_server_client *c = h->data;
	struct agent_server *s = c->server;

	for (struct agent_server_client **p = &s->clients; *p != NULL; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	s->n_clients--;
	s->open_handles--;
	protocol_splitter_free(&c->split);
	for (size_t i = 0; i < c->n_fds; i++)
		close(c->fds[i].fd);
	while (c->backlog != NULL) {
		struct agent_server_held *held = c->backlog;

		c->backlog = held->next;
		free(held);
	}
	free(c);
	agent_server_maybe_free(s);
}

/* After a shutdown has flushed what was queued: closes the connection. */
static void agent_server_shut(uv_shutdown_t *req, int status)
{
	(void)status;
	if (!uv_is_closing((uv_handle_t *)req->handle))
		uv_close((uv_handle_t *)req->handle, agent_server_client_closed);
	free(req);
}

/*
 * Closes client C, telling the owner unless the server is stopping or TELL
 * is false. With FLUSH, the events already queued are written first.
 */
static void agent_server_close(struct agent_server_client *c, bool flush, bool tell)
{
	struct agent_server *s = c->server;
	uv_shutdown_t *req;

	if (c->closing)
		return;
	c->closing = true;
	uv_read_stop((uv_stream_t *)&c->pipe);
	req = flush ? xcalloc(1, sizeof *req) : NULL;
	if (req == NULL || uv_shutdown(req, (uv_stream_t *)&c->pipe, agent_server_shut) != 0) {
		free(req);
		uv_close((uv_handle_t *)&c->pipe, agent_server_client_closed);
	}
	if (tell && !s->stopping && s->ops->on_disconnect != NULL)
		s->ops->on_disconnect(s->data, c->id);
}

/*
 * Whether C's peer closed its socket altogether (it exited, or was killed),
 * not just its writing side: the kernel reports a hang-up only then.
 */
static bool agent_server_peer_gone(struct agent_server_client *c)
{
	struct pollfd p = {.events = POLLOUT};
	uv_os_fd_t fd;

	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) != 0)
		return false;
	p.fd = fd;
	return poll(&p, 1, 0) == 1 && (p.revents & POLLHUP) != 0;
}

/* Closes client C at once, telling the owner. */
static void agent_server_close_client(struct agent_server_client *c)
{
	agent_server_close(c, false, true);
}

/* The client called ID, or NULL when it is gone or going. */
static struct agent_server_client *agent_server_find(struct agent_server *s, uint64_t id)
{
	for (struct agent_server_client *c = s->clients; c != NULL; c = c->next)
		if (c->id == id)
			return c->closing ? NULL : c;
	return NULL;
}

/*
 * Frees a finished write. One that failed (the client went away or shut its
 * reading side: EPIPE, ECONNRESET) ends that client's connection, and only
 * that: SIGPIPE is ignored, so the TUI and the other clients carry on.
 */
static void agent_server_written(uv_write_t *req, int status)
{
	struct agent_server_write *w = (struct agent_server_write *)req;
	struct agent_server_client *c = req->handle->data;

	free(w->line);
	free(w);
	if (status < 0 && status != UV_ECANCELED && c != NULL && !c->closing)
		agent_server_close(c, false, true);
	else if (c != NULL && !c->closing && c->want_drain &&
	         uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) < AGENT_SERVER_LOW_QUEUE) {
		c->want_drain = false;
		if (c->server->ops->on_drained != NULL)
			c->server->ops->on_drained(c->server->data, c->id);
	}
}

/* Queues LINE (taken over) on client C. */
static void agent_server_write(struct agent_server_client *c, char *line)
{
	struct agent_server_write *w;
	uv_buf_t buf;

	if (uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) > AGENT_SERVER_MAX_QUEUE) {
		free(line);
		agent_server_close_client(c);
		return;
	}
	w = xcalloc(1, sizeof *w);
	w->line = line;
	buf = uv_buf_init(line, (unsigned)strlen(line));
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, agent_server_written) < 0) {
		free(line);
		free(w);
		agent_server_close_client(c);
	}
}

int agent_server_send(struct agent_server *s, uint64_t client, char *line)
{
	struct agent_server_client *c = agent_server_find(s, client);

	if (c == NULL) {
		free(line);
		return -ENOTCONN;
	}
	agent_server_write(c, line);
	return 0;
}

bool agent_server_busy(struct agent_server *s, uint64_t client)
{
	struct agent_server_client *c = agent_server_find(s, client);

	if (c == NULL ||
	    uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) < AGENT_SERVER_HIGH_QUEUE)
		return false;
	c->want_drain = true;
	return true;
}

void agent_server_hold(struct agent_server *s, uint64_t client)
{
	struct agent_server_client *c = agent_server_find(s, client);

	if (c != NULL)
		c->holds++;
}

void agent_server_release(struct agent_server *s, uint64_t client)
{
	struct agent_server_client *c = agent_server_find(s, client);

	if (c == NULL || c->holds == 0)
		return;
	c->last_ms = uv_now(s->loop);
	if (--c->holds == 0 && c->read_eof && !c->parsing)
		agent_server_close(c, true, true);
}

/* Closes the clients that have been idle too long (see agent_server_set_idle). */
static void agent_server_idle_check(uv_timer_t *timer)
{
	struct agent_server *s = timer->data;
	uint64_t now = uv_now(s->loop);

	for (struct agent_server_client *c = s->clients; c != NULL; c = c->next) {
		/* A half-closed client that has since gone altogether: its requests go too. */
		if (!c->closing && c->read_eof && agent_server_peer_gone(c)) {
			agent_server_close(c, false, true);
			continue;
		}
		if (c->closing || c->holds > 0 || c->parsing || now - c->last_ms < s->idle_ms)
			continue;
		char *msg = xasprintf("idle for %llu ms with nothing under way: closing",
		                      (unsigned long long)s->idle_ms);
		agent_server_write(c, protocol_event_error(NULL, msg));
		free(msg);
		if (!c->closing)
			agent_server_close(c, true, true);
	}
}

void agent_server_set_idle(struct agent_server *s, uint64_t ms)
{
	uint64_t every;

	s->idle_ms = ms > 0 ? ms : AGENT_SERVER_IDLE_MS;
	every = s->idle_ms / 4;
	if (every < 20)
		every = 20;
	if (every > 30000)
		every = 30000;
	uv_timer_start(&s->idle_timer, agent_server_idle_check, every, every);
}

void agent_server_drop(struct agent_server *s, uint64_t client)
{
	struct agent_server_client *c = agent_server_find(s, client);

	if (c != NULL)
		agent_server_close(c, true, true);
}

const char *agent_server_path(const struct agent_server *s)
{
	return s->path;
}

size_t agent_server_clients(const struct agent_server *s)
{
	return s->n_clients;
}

/* Whether LINE holds only white space. */
static bool agent_server_blank(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
			return false;
	return true;
}

/* Closes C's descriptors that no line from number NO on can claim (see the top). */
static void agent_server_drop_stale_fds(struct agent_server_client *c, uint64_t no)
{
	size_t kept = 0;

	for (size_t i = 0; i < c->n_fds; i++) {
		if (c->fds[i].last < no)
			close(c->fds[i].fd);
		else
			c->fds[kept++] = c->fds[i];
	}
	c->n_fds = kept;
}

/*
 * Gives REQ (line number NO) the descriptors its stdio_fds announce, in the
 * order C sent them, from those that came with a read its line started in.
 * Returns false, after an error event, when C sent fewer with it.
 */
static bool agent_server_claim_fds(struct agent_server_client *c, struct protocol_request *req,
                                   uint64_t no)
{
	size_t mine = 0, kept = 0, taken = 0;

	for (size_t i = 0; i < c->n_fds; i++)
		if (c->fds[i].first <= no && no <= c->fds[i].last)
			mine++;
	if (req->n_stdio_fds > mine) {
		char *msg = xasprintf("stdio_fds names %zu descriptors, %zu came with the request",
		                      req->n_stdio_fds, mine);

		agent_server_write(c, protocol_event_error(req->id, msg));
		free(msg);
		return false;
	}
	for (size_t i = 0; i < c->n_fds; i++) {
		if (taken < req->n_stdio_fds && c->fds[i].first <= no && no <= c->fds[i].last)
			req->stdio_fd[req->stdio_fds[taken++]] = c->fds[i].fd;
		else
			c->fds[kept++] = c->fds[i];
	}
	c->n_fds = kept;
	return true;
}

static void agent_server_free_handle(uv_handle_t *h);

/*
 * Keeps the descriptors that came with C's bytes (its connection is an IPC
 * pipe: libuv queues them), our own copies, at most AGENT_SERVER_MAX_FDS,
 * with the numbers of the lines that start in those bytes (BUF, N of them:
 * see the top); then counts BUF's lines.
 */
static void agent_server_take_fds(struct agent_server_client *c, const char *buf, ssize_t n)
{
	size_t len = n > 0 ? (size_t)n : 0;
	bool ends_line = len > 0 && buf[len - 1] == '\n';
	uint64_t first = c->lines + (c->mid_line ? 1 : 0), last = c->lines;

	for (const char *p = buf, *end = buf + len;
	     len > 0 && (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
		c->lines++;
	if (len > 0) {
		/* Its last byte's line, which the next read goes on with unless it ends one. */
		last = c->lines - (ends_line ? 1 : 0);
		c->mid_line = !ends_line;
	}
	if (first > last) /* no line starts in BUF (it ends the one under way) */
		first = last;
	/*
	 * Lines before the splitter's next were all dispatched (none waits in a
	 * backlog while reading goes on): what no later line can claim goes now,
	 * not to take the room of what came with BUF.
	 */
	agent_server_drop_stale_fds(c, c->next_line);
	while (uv_pipe_pending_count(&c->pipe) > 0) {
		uv_pipe_t *tmp = xcalloc(1, sizeof *tmp);
		uv_os_fd_t fd;

		uv_pipe_init(c->server->loop, tmp, 0);
		if (uv_accept((uv_stream_t *)&c->pipe, (uv_stream_t *)tmp) == 0 &&
		    uv_fileno((uv_handle_t *)tmp, &fd) == 0 && c->n_fds < AGENT_SERVER_MAX_FDS) {
			int own = fcntl(fd, F_DUPFD_CLOEXEC, 3);

			if (own >= 0)
				c->fds[c->n_fds++] = (struct agent_server_fd){own, first, last};
		}
		uv_close((uv_handle_t *)tmp, agent_server_free_handle); /* closes its descriptor */
	}
}

/*
 * Hands request REQ of client C, its line number NO (parsed: RC 0, else
 * CAUSE says why not), to the owner.
 */
static void agent_server_dispatch(struct agent_server_client *c, uint64_t no,
                                  struct protocol_request *req, int rc, char *cause)
{
	struct agent_server *s = c->server;
	void (*cb)(void *, uint64_t, const struct protocol_request *) = NULL;

	agent_server_drop_stale_fds(c, no);
	if (rc != 0) {
		agent_server_write(c, protocol_event_error(req->id, cause));
		return;
	}
	switch (req->op) {
	case PROTOCOL_EXEC:
		cb = s->ops->on_exec;
		break;
	case PROTOCOL_APPLY_PATCH:
		cb = s->ops->on_patch;
		break;
	case PROTOCOL_CANCEL:
		cb = s->ops->on_cancel;
		break;
	case PROTOCOL_STDIN:
		cb = s->ops->on_stdin;
		break;
	case PROTOCOL_REQUEST_PERMISSIONS:
		cb = s->ops->on_permissions;
		break;
	}
	if (cb != NULL && agent_server_claim_fds(c, req, no))
		cb(s->data, c->id, req);
	else if (cb == NULL)
		agent_server_write(c,
		                   protocol_event_error(req->id, "this op is not supported here"));
	for (int k = 0; k < 2; k++)
		if (req->stdio_fd[k] >= 0)
			close(req->stdio_fd[k]);
	req->stdio_fd[0] = req->stdio_fd[1] = -1;
}

/* Parses a big line on the thread pool (see struct agent_server_parse). */
static void agent_server_parse_work(uv_work_t *work)
{
	struct agent_server_parse *p = (struct agent_server_parse *)work;

	p->rc = protocol_parse(p->line, p->len, &p->req, &p->cause);
	free(p->line);
	p->line = NULL;
}

static void agent_server_handle(struct agent_server_client *c, uint64_t no, const char *line,
                                size_t len, bool too_long);
static void agent_server_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void agent_server_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf);

/*
 * Back on the loop with a big line's request: dispatches it, if its client
 * is still there, then the lines held behind it, then reads on.
 */
static void agent_server_parse_done(uv_work_t *work, int status)
{
	struct agent_server_parse *p = (struct agent_server_parse *)work;
	struct agent_server *s = p->server;
	struct agent_server_client *c = s->stopping ? NULL : agent_server_find(s, p->client);

	if (c != NULL) {
		c->parsing = false;
		if (status == 0)
			agent_server_dispatch(c, p->no, &p->req, p->rc, p->cause);
		while (c->backlog != NULL && !c->parsing && !c->closing) {
			struct agent_server_held *h = c->backlog;

			c->backlog = h->next;
			agent_server_handle(c, h->no, h->line, h->len, h->too_long);
			free(h);
		}
		if (!c->parsing && !c->closing) {
			if (!c->read_eof)
				uv_read_start((uv_stream_t *)&c->pipe, agent_server_alloc,
				              agent_server_read);
			else if (c->holds == 0) /* the half-close waited for this */
				agent_server_close(c, true, true);
		}
	}
	free(p->line);
	free(p->cause);
	protocol_request_free(&p->req);
	free(p);
	s->open_handles--;
	agent_server_maybe_free(s);
}

/*
 * Starts parsing big line LINE (LEN bytes) of client C on the thread pool;
 * C reads nothing more, and holds its next lines, until it is dispatched.
 * Returns false if the pool refuses it (the caller parses it here).
 */
static bool agent_server_parse_later(struct agent_server_client *c, uint64_t no, const char *line,
                                     size_t len)
{
	struct agent_server_parse *p = xcalloc(1, sizeof *p);

	p->server = c->server;
	p->client = c->id;
	p->no = no;
	p->line = xmalloc(len);
	memcpy(p->line, line, len);
	p->len = len;
	if (uv_queue_work(c->server->loop, &p->work, agent_server_parse_work,
	                  agent_server_parse_done) != 0) {
		free(p->line);
		free(p);
		return false;
	}
	c->server->open_handles++;
	c->parsing = true;
	uv_read_stop((uv_stream_t *)&c->pipe);
	return true;
}

/* Keeps LINE (LEN bytes, number NO) of client C until the big line before it is dispatched. */
static void agent_server_hold_line(struct agent_server_client *c, uint64_t no, const char *line,
                                   size_t len, bool too_long)
{
	struct agent_server_held *h = xmalloc(sizeof *h + len);

	h->next = NULL;
	h->no = no;
	h->too_long = too_long;
	h->len = len;
	if (len > 0)
		memcpy(h->line, line, len);
	if (c->backlog == NULL)
		c->backlog_end = &c->backlog;
	*c->backlog_end = h;
	c->backlog_end = &h->next;
}

/* Handles line number NO of client C. */
static void agent_server_handle(struct agent_server_client *c, uint64_t no, const char *line,
                                size_t len, bool too_long)
{
	struct agent_server *s = c->server;
	struct protocol_request req;
	char *cause = NULL;
	int rc;

	if (c->closing)
		return;
	if (c->parsing) {
		agent_server_hold_line(c, no, line, len, too_long);
		return;
	}
	if (too_long) {
		char *msg = xasprintf("line too long (over %d bytes)", PROTOCOL_MAX_LINE);

		agent_server_write(c, protocol_event_error(NULL, msg));
		free(msg);
		return;
	}
	if (agent_server_blank(line, len))
		return;
	c->last_ms = uv_now(s->loop);
	if (len > AGENT_SERVER_BIG_LINE && agent_server_parse_later(c, no, line, len))
		return;
	rc = protocol_parse(line, len, &req, &cause);
	agent_server_dispatch(c, no, &req, rc, cause);
	free(cause);
	protocol_request_free(&req);
}

/* The splitter's next line from client ARG: numbered in order (one per "\n", see the top). */
static void agent_server_line(void *arg, const char *line, size_t len, bool too_long)
{
	struct agent_server_client *c = arg;

	agent_server_handle(c, c->next_line++, line, len, too_long);
}

/* Gives libuv a buffer to read into. */
static void agent_server_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	buf->base = xmalloc(suggested);
	buf->len = suggested;
}

/* Feeds a client's bytes to its splitter; the end of the stream closes it. */
static void agent_server_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
	struct agent_server_client *c = stream->data;

	agent_server_take_fds(c, buf->base, n);
	if (n > 0)
		protocol_splitter_feed(&c->split, buf->base, (size_t)n, agent_server_line, c);
	free(buf->base);
	if (n < 0) {
		/*
		 * The end of the client's stream is a half-close (`nc -U`, socat
		 * send their request, then shut their writing side): a last line
		 * without its newline still counts, and the client gets every
		 * event of its requests; the connection closes once none is under
		 * way. A read error, or an end with the peer gone altogether
		 * (closed or killed: a hang-up), means the client is gone: its
		 * requests are cancelled (on_disconnect), its prompts withdrawn.
		 */
		if (n == UV_EOF && !c->closing && !agent_server_peer_gone(c)) {
			protocol_splitter_finish(&c->split, agent_server_line, c);
			uv_read_stop((uv_stream_t *)&c->pipe);
			c->read_eof = true;
			if (c->holds == 0 && !c->parsing)
				agent_server_close(c, true, true);
			return;
		}
		agent_server_close(c, false, true);
	}
}

/* Frees a handle closed before it became a client. */
static void agent_server_free_handle(uv_handle_t *h)
{
	free(h);
}

/* Accepts a connection: same uid only, and not too many. */
static void agent_server_connection(uv_stream_t *listener, int status)
{
	struct agent_server *s = listener->data;
	struct agent_server_client *c;
	struct ucred cred;
	socklen_t len = sizeof cred;
	uv_os_fd_t fd;

	if (status < 0)
		return;
	c = xcalloc(1, sizeof *c);
	uv_pipe_init(s->loop, &c->pipe, 1); /* IPC: stdio_fds may come with a request */
	c->pipe.data = c;
	if (uv_accept(listener, (uv_stream_t *)&c->pipe) != 0 ||
	    uv_fileno((uv_handle_t *)&c->pipe, &fd) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != getuid()) {
		uv_close((uv_handle_t *)&c->pipe, agent_server_free_handle);
		return;
	}
	c->server = s;
	c->id = ++s->next_id;
	c->last_ms = uv_now(s->loop);
	protocol_splitter_init(&c->split, PROTOCOL_MAX_LINE);
	c->next = s->clients;
	s->clients = c;
	s->n_clients++;
	s->open_handles++;
	if (s->n_clients > AGENT_SERVER_MAX_CLIENTS) {
		char *msg =
		    xasprintf("too many connections (at most %d)", AGENT_SERVER_MAX_CLIENTS);

		agent_server_write(c, protocol_event_error(NULL, msg));
		free(msg);
		agent_server_close(c, true, false); /* the owner never heard of it */
		return;
	}
	uv_read_start((uv_stream_t *)&c->pipe, agent_server_alloc, agent_server_read);
}

/*
 * Whether DIR (of this user, ST its lstat) is an empty directory of mode 0555
 * (0444 from older helpers): the cover the sandbox helper makes while it
 * runs, as the mount point that hides a missing socket directory
 * (sandbox/README.md). The server takes such a directory over (chmod 0700)
 * rather than refuse it; the sandbox that covers it keeps its own empty
 * mount there, and the helper removes only covers, so it leaves it.
 */
static bool agent_server_is_cover(const char *dir, const struct stat *st)
{
	struct dirent *e;
	bool empty = true;
	DIR *d;

	if ((st->st_mode & 07777) != 0555 && (st->st_mode & 07777) != 0444)
		return false;
	d = opendir(dir);
	if (d == NULL)
		return false;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			empty = false;
	closedir(d);
	return empty;
}

/*
 * Makes (or checks) the private directory of PATH: a directory (not a
 * symbolic link) of this user with mode 0700. One made here is set to 0700
 * whatever the umask; an existing one with any other mode is refused rather
 * than repaired, since whatever made it so may have planted a socket in it.
 */
static int agent_server_dir(const char *path, char **cause)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	struct stat st;
	bool made = false;
	int rc = 0;

	if (slash == NULL || slash == dir) {
		*cause = xasprintf("%s: the socket must be in a directory of its own", path);
		free(dir);
		return -EINVAL;
	}
	*slash = '\0';
	if (mkdir(dir, 0700) == 0)
		made = true;
	else if (errno != EEXIST)
		rc = -errno;
	if (rc < 0) {
		*cause = xasprintf("%s: cannot create: %s", dir, strerror(-rc));
	} else if (lstat(dir, &st) != 0) {
		rc = -errno;
		*cause = xasprintf("%s: %s", dir, strerror(errno));
	} else if (!S_ISDIR(st.st_mode)) {
		rc = -ENOTDIR;
		*cause =
		    xasprintf("%s: not a directory (%s); refusing to listen there", dir,
		              S_ISLNK(st.st_mode) ? "a symbolic link" : "another kind of file");
	} else if (st.st_uid != getuid()) {
		rc = -EPERM;
		*cause =
		    xasprintf("%s: owned by uid %ld, not by this user; refusing to listen there",
		              dir, (long)st.st_uid);
	} else if ((st.st_mode & 07777) != 0700 && !made && !agent_server_is_cover(dir, &st)) {
		rc = -EPERM;
		*cause = xasprintf("%s: mode %04o, not 0700; refusing to listen there (remove it "
		                   "and start airlock again)",
		                   dir, (unsigned)(st.st_mode & 07777));
	} else if ((st.st_mode & 07777) != 0700 && chmod(dir, 0700) != 0) {
		rc = -errno;
		*cause = xasprintf("%s: cannot make it private (0700): %s", dir, strerror(errno));
	}
	free(dir);
	return rc;
}

/* Removes a stale socket at PATH (nobody listens); refuses anything else. */
static int agent_server_stale(const char *path, char **cause)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd;

	if (lstat(path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		*cause = xasprintf("%s: exists and is not a socket", path);
		return -EEXIST;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
		close(fd);
		*cause = xasprintf("%s: another airlock is listening there", path);
		return -EADDRINUSE;
	}
	if (fd >= 0)
		close(fd);
	unlink(path);
	return 0;
}

/*
 * Removes the sockets in DIR that nobody listens on any more (a TUI killed
 * with SIGKILL cannot remove its own): every `*.sock` whose connect is
 * refused. A live airlock's socket answers and stays.
 */
static void agent_server_sweep(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d != NULL && (e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		char *p, *why = NULL;
		if (len < 6 || strcmp(e->d_name + len - 5, ".sock") != 0)
			continue;
		p = xasprintf("%s/%s", dir, e->d_name);
		if (strlen(p) < sizeof(((struct sockaddr_un *)0)->sun_path) &&
		    agent_server_stale(p, &why) < 0)
			free(why); /* live, or not a socket: left alone */
		free(p);
	}
	if (d != NULL)
		closedir(d);
}

int agent_server_start(uv_loop_t *loop, const char *path, const struct agent_server_ops *ops,
                       void *data, struct agent_server **out, char **cause)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct agent_server *s;
	char *p = path != NULL ? xstrdup(path) : agent_server_default_path();
	mode_t old;
	int fd, rc;

	*out = NULL;
	if (strlen(p) >= sizeof sa.sun_path) {
		*cause = xasprintf("%s: too long for a Unix socket path", p);
		free(p);
		return -ENAMETOOLONG;
	}
	rc = agent_server_dir(p, cause);
	if (rc == 0) {
		char *dir = xstrdup(p);
		*strrchr(dir, '/') = '\0';
		agent_server_sweep(dir); /* what SIGKILLed airlocks left */
		free(dir);
		rc = agent_server_stale(p, cause);
	}
	if (rc < 0) {
		free(p);
		return rc;
	}
	memcpy(sa.sun_path, p, strlen(p) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rc = -errno;
		*cause = xasprintf("%s: socket: %s", p, strerror(errno));
		free(p);
		return rc;
	}
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (rc != 0 || chmod(p, 0600) != 0 || listen(fd, SOMAXCONN) != 0) {
		rc = -errno;
		*cause = xasprintf("%s: cannot listen: %s", p, strerror(errno));
		close(fd);
		unlink(p);
		free(p);
		return rc;
	}
	s = xcalloc(1, sizeof *s);
	s->loop = loop;
	s->path = p;
	s->ops = ops;
	s->data = data;
	uv_pipe_init(loop, &s->listener, 0);
	s->listener.data = s;
	uv_timer_init(loop, &s->idle_timer);
	s->idle_timer.data = s;
	uv_unref((uv_handle_t *)&s->idle_timer);
	s->open_handles = 2;
	rc = uv_pipe_open(&s->listener, fd);
	if (rc < 0)
		close(fd);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&s->listener, SOMAXCONN, agent_server_connection);
	if (rc < 0) {
		*cause = xasprintf("%s: cannot listen: %s", p, uv_strerror(rc));
		unlink(p);
		agent_server_stop(s);
		return rc;
	}
	agent_server_set_idle(s, AGENT_SERVER_IDLE_MS);
	*out = s;
	return 0;
}

/* The close callback of the listener and of the idle timer. */
static void agent_server_listener_closed(uv_handle_t *h)
{
	struct agent_server *s = h->data;

	s->open_handles--;
	agent_server_maybe_free(s);
}

void agent_server_stop(struct agent_server *s)
{
	if (s == NULL || s->stopping)
		return;
	s->stopping = true;
	unlink(s->path);
	for (struct agent_server_client *c = s->clients; c != NULL; c = c->next)
		agent_server_close_client(c);
	uv_close((uv_handle_t *)&s->listener, agent_server_listener_closed);
	uv_close((uv_handle_t *)&s->idle_timer, agent_server_listener_closed);
}
