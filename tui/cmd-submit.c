/*
 * `airlock submit`: the client of a running TUI's agent socket (SPEC
 * sections 1 and 8). It finds the socket, sends one request (an exec, or an
 * apply_patch with --patch), then lives on a private libuv loop: events are
 * cut into lines by the protocol splitter, output events are decoded onto
 * this process's stdout and stderr (those of them that are pipes go with
 * the request instead, stdio_fds: the TUI writes the command's output
 * straight into them, at the pace of their reader), and the request's last event (exit,
 * error or a denial) sets the exit status. Ctrl-C is a uv_signal: the first
 * sends a `cancel` request and keeps waiting for the command's exit; a
 * second gives up at once with 130.
 *
 * Exit status: the command's (128+N when killed by signal N, as the server
 * reports it), 126 when denied, 2 on a usage error, 69 when no running
 * airlock can be reached (no socket, none that answers, or none that can be
 * trusted), 1 when the connection breaks or the server reports an error.
 *
 * Trust: a socket is used only inside a directory of this user with mode
 * 0700, only when it is a socket of this user with mode 0600, and only when
 * the server's uid (SO_PEERCRED) is ours and it runs in our user namespace
 * (not in a sandbox); whether found or given by --socket or AIRLOCK_SOCKET.
 * That keeps other users out; sandboxed commands, which run as this user,
 * never see the socket directories at all (core/sandbox-command hides them
 * in every sandbox).
 */
#include "tui/cli.h"

#include "core/agent-server.h"
#include "core/output-relay.h"
#include "core/protocol.h"
#include "core/read-all.h"
#include "core/xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

/* The ids of our two possible requests on the connection. */
#define SUBMIT_ID        "1"
#define SUBMIT_CANCEL_ID "2"
#define SUBMIT_STDIN_ID  "3" /* every stdin op (their errors are not ours to report) */
/* How much of our stdin one stdin op carries. */
#define SUBMIT_STDIN_CHUNK 65536

/* Exit statuses of our own (the command's come from the server). */
#define SUBMIT_EXIT_FAILURE     1
#define SUBMIT_EXIT_USAGE       2
#define SUBMIT_EXIT_UNREACHABLE 69 /* no running airlock (or none to trust) */
#define SUBMIT_EXIT_TIMED_OUT   124
#define SUBMIT_EXIT_DENIED      126
#define SUBMIT_EXIT_INTERRUPTED 130

/* What the command line asked for. */
struct submit_args {
	const char *socket;
	bool escalate;
	const char *justification;
	char **prefix_rule; /* NULL-terminated, owned array of borrowed strings */
	size_t n_prefix_rule;
	const char *patch_file;
	char **command; /* borrowed from argv, NULL-terminated */
	size_t n_command;
	bool tty; /* --tty: the command gets a terminal, not pipes */
	uint64_t timeout_ms; /* --timeout SECONDS (SPEC 12), 0: none */
	struct protocol_additions add; /* --add-write/--add-read/--add-host (owned copies) */
};

/* Appends a copy of S to the NULL-terminated list *V (*N long). */
static void submit_push(char ***v, size_t *n, char *s)
{
	*v = xreallocarray(*v, *n + 2, sizeof **v);
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

/* Frees what ARGS owns. */
static void submit_args_free(struct submit_args *args)
{
	char **lists[] = {args->add.write, args->add.read, args->add.network};

	free(args->prefix_rule);
	for (size_t k = 0; k < 3; k++) {
		for (size_t i = 0; lists[k] != NULL && lists[k][i] != NULL; i++)
			free(lists[k][i]);
		free(lists[k]);
	}
	memset(&args->add, 0, sizeof args->add);
	args->prefix_rule = NULL;
}

/*
 * Takes --add-write/--add-read DIR (made absolute against the current
 * directory; the TUI resolves links) or --add-host HOST:PORT into ARGS.
 */
static void submit_add(struct submit_args *args, char kind, const char *value)
{
	if (kind == 'h') {
		submit_push(&args->add.network, &args->add.n_network, xstrdup(value));
		return;
	}
	char *cwd = value[0] == '/' ? NULL : getcwd(NULL, 0);
	char *abs = value[0] == '/' ? xstrdup(value)
	            : cwd != NULL    ? xasprintf("%s/%s", cwd, value)
	                             : xstrdup(value);

	free(cwd);
	if (kind == 'w')
		submit_push(&args->add.write, &args->add.n_write, abs);
	else
		submit_push(&args->add.read, &args->add.n_read, abs);
}

/* The client's state on its loop. */
struct submit {
	uv_loop_t loop;
	uv_pipe_t pipe;
	uv_signal_t sigint;
	struct protocol_splitter split;
	int status;     /* the exit status once finished */
	bool finished;  /* the request's last event came, or the connection failed */
	int interrupts; /* Ctrl-C presses so far */
	bool tty;       /* stderr is a terminal: say what we are waiting for */
	uv_fs_t stdin_req; /* reading our stdin (any kind of file) for stdin ops */
	char stdin_buf[SUBMIT_STDIN_CHUNK];
	bool stdin_reading;
};

/* One uv_write in flight and the line it owns. */
struct submit_write {
	uv_write_t req;
	char *line;
};

/* Prints the usage error MSG and returns the usage status. */
static int submit_usage(const char *msg)
{
	fprintf(stderr,
	        "airlock: submit: %s\n"
	        "usage: airlock submit [--socket PATH] [--escalate] [--justification TEXT]\n"
	        "                      [--prefix-rule TOK...] [--tty] [--timeout SECONDS]\n"
	        "                      -- CMD ARG...\n"
	        "       airlock submit [--socket PATH] [--add-write DIR] [--add-read DIR]\n"
	        "                      [--add-host HOST:PORT] [--justification TEXT] -- CMD "
	        "ARG...\n"
	        "       airlock submit [--socket PATH] --patch FILE\n",
	        msg);
	return SUBMIT_EXIT_USAGE;
}

/* Parses ARGV into ARGS; returns 0, or the usage status after a message. */
static int submit_parse_args(int argc, char **argv, struct submit_args *args)
{
	int i;

	memset(args, 0, sizeof *args);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(a, "--escalate") == 0) {
			args->escalate = true;
		} else if (strcmp(a, "--tty") == 0) {
			args->tty = true;
		} else if (strcmp(a, "--timeout") == 0 || strncmp(a, "--timeout=", 10) == 0) {
			/* SIGTERM after SECONDS of its run, not counting its prompts (SPEC 12). */
			const char *v = a[9] == '=' ? a + 10 : i + 1 < argc ? argv[++i] : NULL;
			if (v == NULL || cli_parse_timeout(v, &args->timeout_ms) != 0) {
				char *m = xasprintf("--timeout takes a number of seconds above 0 (not %s)",
				                    v != NULL ? v : "nothing");
				int rc = submit_usage(m);

				free(m);
				return rc;
			}
		} else if (strcmp(a, "--socket") == 0 || strcmp(a, "--justification") == 0 ||
		           strcmp(a, "--patch") == 0) {
			if (i + 1 >= argc) {
				char *m = xasprintf("%s needs a value", a);
				int rc = submit_usage(m);

				free(m);
				return rc;
			}
			if (a[2] == 's')
				args->socket = argv[++i];
			else if (a[2] == 'j')
				args->justification = argv[++i];
			else
				args->patch_file = argv[++i];
		} else if (strcmp(a, "--add-write") == 0 || strcmp(a, "--add-read") == 0 ||
		           strcmp(a, "--add-host") == 0) {
			/* Extra permissions, still sandboxed (SPEC 12); repeatable. */
			if (i + 1 >= argc) {
				char *m = xasprintf("%s needs a value", a);
				int rc = submit_usage(m);

				free(m);
				return rc;
			}
			submit_add(args, a[6], argv[++i]);
		} else if (strncmp(a, "--add-write=", 12) == 0 || strncmp(a, "--add-read=", 11) == 0 ||
		           strncmp(a, "--add-host=", 11) == 0) {
			submit_add(args, a[6], strchr(a, '=') + 1);
		} else if (strncmp(a, "--socket=", 9) == 0) {
			args->socket = a + 9;
		} else if (strncmp(a, "--justification=", 16) == 0) {
			args->justification = a + 16;
		} else if (strncmp(a, "--patch=", 8) == 0) {
			args->patch_file = a + 8;
		} else if (strcmp(a, "--prefix-rule") == 0) {
			/* Every following word up to the next option or "--". */
			while (i + 1 < argc && argv[i + 1][0] != '-') {
				args->prefix_rule = xreallocarray(
				    args->prefix_rule, args->n_prefix_rule + 2, sizeof(char *));
				args->prefix_rule[args->n_prefix_rule++] = argv[++i];
				args->prefix_rule[args->n_prefix_rule] = NULL;
			}
			if (args->n_prefix_rule == 0)
				return submit_usage("--prefix-rule needs at least one word");
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			printf(
			    "usage: airlock submit [--socket PATH] [--escalate] [--justification "
			    "TEXT]\n"
			    "                      [--prefix-rule TOK...] [--tty] [--timeout SECONDS]\n"
			    "                      -- CMD ARG...\n"
			    "       airlock submit [--socket PATH] [--add-write DIR] [--add-read DIR]\n"
			    "                      [--add-host HOST:PORT] [--justification TEXT] -- "
			    "CMD ARG...\n"
			    "       airlock submit [--socket PATH] --patch FILE\n"
			    "\n"
			    "--add-write DIR, --add-read DIR, --add-host HOST:PORT (repeatable) ask to\n"
			    "run the command in the sandbox with that directory writable or readable,\n"
			    "or that destination open: the TUI prompts, naming them; the command\n"
			    "never leaves the sandbox.\n"
			    "\n"
			    "--timeout SECONDS ends the command (SIGTERM, SIGKILL 2 s later) once it\n"
			    "ran that long, not counting time its prompts wait for you; then submit\n"
			    "exits 124.\n");
			return -1;
		} else {
			char *m = a[0] == '-' ? xasprintf("unknown option %s", a)
			                      : xasprintf("put the command after \"--\": %s", a);
			int rc = submit_usage(m);

			free(m);
			return rc;
		}
	}
	args->command = argv + i;
	args->n_command = (size_t)(argc - i);
	bool adds = args->add.n_write + args->add.n_read + args->add.n_network > 0;
	if (adds && args->patch_file != NULL)
		return submit_usage("--add-write, --add-read and --add-host are for commands, not "
		                    "--patch");
	if (adds && args->escalate)
		return submit_usage("--escalate runs outside the sandbox; --add-write, --add-read "
		                    "and --add-host keep it: give one or the other");
	if (args->patch_file != NULL && args->timeout_ms > 0)
		return submit_usage("--timeout is for commands, not --patch");
	if (args->patch_file != NULL) {
		if (args->n_command > 0)
			return submit_usage("--patch takes no command");
		if (args->escalate || args->justification != NULL || args->prefix_rule != NULL)
			return submit_usage("--escalate, --justification and --prefix-rule are for "
			                    "commands, not --patch");
		return 0;
	}
	if (args->n_command == 0)
		return submit_usage("no command (give it after \"--\"), and no --patch");
	return 0;
}

/* Connects a stream socket to PATH; returns the fd or -errno. */
static int submit_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, rc;

	if (strlen(path) >= sizeof sa.sun_path)
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	do
		rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	while (rc != 0 && errno == EINTR);
	if (rc != 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

/*
 * Why DIR may not hold an airlock socket, or NULL when it may: it must be a
 * directory (not a symbolic link) of this user with mode 0700, as the TUI
 * makes it. Anything else may hold a socket planted by someone else. Caller
 * frees.
 */
static char *submit_dir_problem(const char *dir)
{
	struct stat st;

	if (lstat(dir, &st) != 0)
		return xasprintf("%s: %s", dir, strerror(errno));
	if (S_ISLNK(st.st_mode))
		return xasprintf("%s is a symbolic link, not airlock's socket directory", dir);
	if (!S_ISDIR(st.st_mode))
		return xasprintf("%s is not a directory", dir);
	if (st.st_uid != getuid())
		return xasprintf("%s is owned by uid %ld, not by this user", dir, (long)st.st_uid);
	if ((st.st_mode & 07777) != 0700)
		return xasprintf("%s has mode %04o, not 0700", dir, (unsigned)(st.st_mode & 07777));
	return NULL;
}

/* Why PATH is not a socket that airlock made for this user (mode 0600), or NULL. */
static char *submit_socket_problem(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return xasprintf("%s: %s", path, strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return xasprintf("%s is not a socket", path);
	if (st.st_uid != getuid())
		return xasprintf("%s is owned by uid %ld, not by this user", path, (long)st.st_uid);
	if ((st.st_mode & 07777) != 0600)
		return xasprintf("%s has mode %04o, not 0600", path,
		                 (unsigned)(st.st_mode & 07777));
	return NULL;
}

/*
 * What is wrong with the server on FD, or NULL: it must run as this user
 * (SO_PEERCRED) and in this process's user namespace. Every sandbox has a
 * user namespace of its own, so a socket a sandboxed command listens on is
 * refused wherever it lies, even where it got into a directory that passes
 * every check (an XDG_RUNTIME_DIR inside a writable root can be renamed
 * away and made again from inside). Where /proc cannot say, only the uid is
 * checked.
 */
static const char *submit_peer_problem(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	struct stat self, peer;
	char ns[64];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != getuid())
		return "is served by another user";
	if (stat("/proc/self/ns/user", &self) != 0)
		return NULL;
	if (cred.pid <= 0)
		return "is served by a process outside this one's view (another pid namespace)";
	snprintf(ns, sizeof ns, "/proc/%ld/ns/user", (long)cred.pid);
	if (stat(ns, &peer) != 0 || peer.st_dev != self.st_dev || peer.st_ino != self.st_ino)
		return "is served from another user namespace (a sandboxed command?)";
	return NULL;
}

/*
 * Connects to PATH after checking it and its directory, and the server's
 * uid once connected; returns the fd, or -1 with *WHY (caller frees) saying
 * why.
 */
static int submit_connect_checked(const char *path, char **why)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	int fd;

	if (slash == NULL) {
		free(dir);
		dir = xstrdup(".");
	} else {
		slash[slash == dir ? 1 : 0] = '\0';
	}
	*why = submit_dir_problem(dir);
	free(dir);
	if (*why == NULL)
		*why = submit_socket_problem(path);
	if (*why != NULL)
		return -1;
	fd = submit_connect(path);
	if (fd < 0) {
		*why = xasprintf("cannot connect to %s: %s", path, strerror(-fd));
		return -1;
	}
	const char *peer = submit_peer_problem(fd);
	if (peer != NULL) {
		close(fd);
		*why = xasprintf("%s %s", path, peer);
		return -1;
	}
	return fd;
}

/* One socket found in the directory, for sorting newest first. */
struct submit_candidate {
	char *path;
	struct timespec mtime;
};

/* Sorts candidates by modification time, newest first. */
static int submit_newest_first(const void *a, const void *b)
{
	const struct submit_candidate *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? 1 : -1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? 1 : -1;
	return strcmp(x->path, y->path);
}

/*
 * Finds and connects the socket: --socket, else AIRLOCK_SOCKET, else the
 * newest live one in the per-user directory. Every socket used must pass
 * submit_connect_checked, with its directory. Returns the fd, or -1 after
 * printing why.
 */
static int submit_find(const char *option)
{
	const char *env = getenv("AIRLOCK_SOCKET");
	const char *given = option != NULL ? option : env != NULL && *env ? env : NULL;
	struct submit_candidate *c = NULL;
	size_t n = 0;
	struct stat st;
	struct dirent *e;
	char *dir, *why = NULL;
	DIR *d;
	int fd = -1;

	if (given != NULL) {
		fd = submit_connect_checked(given, &why);
		if (fd < 0) {
			fprintf(stderr, "airlock: %s; refusing to use %s\n", why, given);
			free(why);
		}
		return fd;
	}
	dir = agent_server_default_dir();
	if (lstat(dir, &st) != 0 && errno == ENOENT) {
		fprintf(stderr,
		        "airlock: no running airlock found (%s: %s); start airlock, or pass "
		        "--socket PATH\n",
		        dir, strerror(errno));
		free(dir);
		return -1;
	}
	/* Only a private directory of ours: anyone else could plant a socket. */
	why = submit_dir_problem(dir);
	if (why != NULL) {
		fprintf(stderr,
		        "airlock: %s; refusing to use its sockets (airlock makes it a directory of "
		        "this user with mode 0700: remove it and start airlock again)\n",
		        why);
		free(why);
		free(dir);
		return -1;
	}
	d = opendir(dir);
	while (d != NULL && (e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		char *p;

		if (len < 6 || strcmp(e->d_name + len - 5, ".sock") != 0)
			continue;
		p = xasprintf("%s/%s", dir, e->d_name);
		if (lstat(p, &st) != 0 || !S_ISSOCK(st.st_mode)) {
			free(p);
			continue;
		}
		c = xreallocarray(c, n + 1, sizeof *c);
		c[n].path = p;
		c[n++].mtime = st.st_mtim;
	}
	if (d != NULL)
		closedir(d);
	if (n > 1)
		qsort(c, n, sizeof *c, submit_newest_first);
	for (size_t i = 0; i < n && fd < 0; i++) {
		char *problem = submit_socket_problem(c[i].path);

		if (problem != NULL) {
			fprintf(stderr, "airlock: %s; skipping it\n", problem);
			free(problem);
			continue;
		}
		fd = submit_connect(c[i].path);
		const char *peer = fd >= 0 ? submit_peer_problem(fd) : NULL;
		if (peer != NULL) {
			fprintf(stderr, "airlock: %s %s; skipping it\n", c[i].path, peer);
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0)
		fprintf(stderr,
		        "airlock: no running airlock found (no live socket in %s); start airlock, "
		        "or pass --socket PATH\n",
		        dir);
	for (size_t i = 0; i < n; i++)
		free(c[i].path);
	free(c);
	free(dir);
	return fd;
}

/* Reads the whole file PATH ("-": stdin); NULL after a message. */
static char *submit_read_file(const char *path)
{
	int fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
	size_t len;
	char *buf;
	int rc;

	if (fd < 0) {
		fprintf(stderr, "airlock: cannot read %s: %s\n", path, strerror(errno));
		return NULL;
	}
	rc = read_all(fd, PROTOCOL_MAX_LINE, &buf, &len);
	close(fd);
	if (rc == -EFBIG) {
		fprintf(stderr, "airlock: %s: too large for one request (over %d bytes)\n", path,
		        PROTOCOL_MAX_LINE);
		return NULL;
	}
	if (rc < 0) {
		fprintf(stderr, "airlock: cannot read %s: %s\n", path, strerror(-rc));
		return NULL;
	}
	if (strlen(buf) != len) {
		fprintf(stderr, "airlock: %s: a patch cannot hold a NUL byte\n", path);
		free(buf);
		return NULL;
	}
	return buf;
}

/* Closes every handle so that the loop ends. */
static void submit_finish(struct submit *s, int status)
{
	if (s->finished)
		return;
	s->finished = true;
	s->status = status;
	if (!uv_is_closing((uv_handle_t *)&s->pipe))
		uv_close((uv_handle_t *)&s->pipe, NULL);
	if (!uv_is_closing((uv_handle_t *)&s->sigint))
		uv_close((uv_handle_t *)&s->sigint, NULL);
	/* A read of our stdin may block for ever (`sleep 100 | airlock submit ...`): do not wait. */
	if (s->stdin_reading)
		uv_stop(&s->loop);
}

/* Frees a finished write. */
static void submit_written(uv_write_t *req, int status)
{
	struct submit_write *w = (struct submit_write *)req;
	struct submit *s = req->data;

	if (status < 0 && status != UV_ECANCELED && !s->finished) {
		fprintf(stderr, "airlock: cannot send the request: %s\n", uv_strerror(status));
		submit_finish(s, SUBMIT_EXIT_FAILURE);
	}
	free(w->line);
	free(w);
}

/* Sends LINE (taken over) on the connection. */
static void submit_send(struct submit *s, char *line)
{
	struct submit_write *w = xcalloc(1, sizeof *w);
	uv_buf_t buf = uv_buf_init(line, (unsigned)strlen(line));
	int rc;

	w->line = line;
	w->req.data = s;
	rc = uv_write(&w->req, (uv_stream_t *)&s->pipe, &buf, 1, submit_written);
	if (rc < 0) {
		fprintf(stderr, "airlock: cannot send the request: %s\n", uv_strerror(rc));
		free(line);
		free(w);
		submit_finish(s, SUBMIT_EXIT_FAILURE);
	}
}

/*
 * Writes all of BUF to FD (our stdout or stderr). Returns 0, or -EPIPE when
 * the reader went away (SIGPIPE is ignored here), other errors ignored.
 */
static int submit_write_all(int fd, const unsigned char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			usleep(1000);
			continue;
		}
		if (w < 0 && errno == EPIPE)
			return -EPIPE;
		if (w <= 0)
			return 0;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Handles one event line from the server. */
static void submit_line(void *arg, const char *line, size_t len, bool too_long)
{
	struct submit *s = arg;
	struct protocol_event ev;
	char *cause = NULL;

	if (s->finished)
		return;
	if (too_long) {
		fprintf(stderr, "airlock: the server sent a line over %d bytes\n",
		        PROTOCOL_MAX_LINE);
		submit_finish(s, SUBMIT_EXIT_FAILURE);
		return;
	}
	if (len == 0)
		return;
	if (protocol_event_parse(line, len, &ev, &cause) != 0) {
		fprintf(stderr, "airlock: bad event from the server: %s\n", cause);
		free(cause);
		submit_finish(s, SUBMIT_EXIT_FAILURE);
		return;
	}
	/* Events of the cancel request, or of no request, only matter if errors. */
	if (ev.id == NULL || strcmp(ev.id, SUBMIT_ID) != 0) {
		if (ev.kind == PROTOCOL_EVENT_ERROR &&
		    (ev.id == NULL || strcmp(ev.id, SUBMIT_STDIN_ID) != 0)) {
			fprintf(stderr, "airlock: %s\n", ev.message);
			if (ev.id == NULL)
				submit_finish(s, SUBMIT_EXIT_FAILURE);
		}
		protocol_event_free(&ev);
		return;
	}
	switch (ev.kind) {
	case PROTOCOL_EVENT_QUEUED:
		if (s->tty)
			fputs("airlock: waiting for approval in the airlock window...\n", stderr);
		break;
	case PROTOCOL_EVENT_DECISION:
		if (ev.decision == PROTOCOL_DENIED) {
			/* The reason, when the human or the decider gave one (SPEC 5, 11). */
			if (ev.reason != NULL)
				fprintf(stderr, "airlock: denied: %s\n", ev.reason);
			else
				fputs("airlock: denied\n", stderr);
			submit_finish(s, SUBMIT_EXIT_DENIED);
		}
		break;
	case PROTOCOL_EVENT_OUTPUT:
		/*
		 * Our reader went away (`airlock submit -- yes | head`): as a
		 * command in a pipeline would, we end with 128+SIGPIPE; closing
		 * the connection cancels the request in the TUI.
		 */
		if (submit_write_all(ev.stream == PROTOCOL_STDERR ? STDERR_FILENO : STDOUT_FILENO,
		                     ev.data, ev.len) == -EPIPE)
			submit_finish(s, 128 + SIGPIPE);
		break;
	case PROTOCOL_EVENT_EXIT:
		if (ev.timed_out) {
			/* As timeout(1): 124, whatever the command's own status (SPEC 12). */
			fputs("airlock: timed out\n", stderr);
			submit_finish(s, SUBMIT_EXIT_TIMED_OUT);
			break;
		}
		submit_finish(s, ev.code >= 0 && ev.code <= 255 ? ev.code : SUBMIT_EXIT_FAILURE);
		break;
	case PROTOCOL_EVENT_ERROR:
		/* A patch's error says how it ends: 1 does not apply, 2 malformed (SPEC 1). */
		fprintf(stderr, "airlock: %s\n", ev.message);
		submit_finish(s, ev.code > 0 ? ev.code : SUBMIT_EXIT_FAILURE);
		break;
	case PROTOCOL_EVENT_PATCH:
		/* What an applied patch changed: "A path", "M path", "D path", "R from -> to". */
		fputs(ev.message, stdout);
		break;
	}
	protocol_event_free(&ev);
}

/* Gives libuv a buffer to read into. */
static void submit_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	buf->base = xmalloc(suggested);
	buf->len = suggested;
}

/* Feeds what the server sent to the splitter; the end of the stream ends us. */
static void submit_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
	struct submit *s = stream->data;

	if (n > 0)
		protocol_splitter_feed(&s->split, buf->base, (size_t)n, submit_line, s);
	free(buf->base);
	if (n < 0 && !s->finished) {
		protocol_splitter_finish(&s->split, submit_line, s);
		if (!s->finished) {
			fprintf(stderr, "airlock: the connection to airlock closed before the "
			                "request finished\n");
			submit_finish(s, SUBMIT_EXIT_FAILURE);
		}
	}
}

static void submit_stdin_next(struct submit *s);

/* A read of our stdin finished: its bytes (or its end) go out as a stdin op. */
static void submit_stdin_read(uv_fs_t *req)
{
	struct submit *s = req->data;
	ssize_t n = req->result;
	struct protocol_request op = {
	    .op = PROTOCOL_STDIN, .id = SUBMIT_STDIN_ID, .target = SUBMIT_ID};

	uv_fs_req_cleanup(req);
	s->stdin_reading = false;
	if (s->finished)
		return;
	op.data = (unsigned char *)s->stdin_buf;
	op.data_len = n > 0 ? (size_t)n : 0; /* an error counts as the end */
	submit_send(s, protocol_request_format(&op));
	if (n > 0)
		submit_stdin_next(s);
}

/* Reads the next chunk of our stdin (through libuv's threads: a file, a pipe, anything). */
static void submit_stdin_next(struct submit *s)
{
	uv_buf_t b = uv_buf_init(s->stdin_buf, sizeof s->stdin_buf);

	s->stdin_req.data = s;
	if (uv_fs_read(&s->loop, &s->stdin_req, STDIN_FILENO, &b, 1, -1, submit_stdin_read) == 0)
		s->stdin_reading = true;
}

/* Ctrl-C: the first asks the server to cancel; the second gives up. */
static void submit_sigint(uv_signal_t *h, int signum)
{
	struct submit *s = h->data;
	struct protocol_request cancel = {
	    .op = PROTOCOL_CANCEL, .id = SUBMIT_CANCEL_ID, .target = SUBMIT_ID};

	(void)signum;
	if (++s->interrupts == 1) {
		fputs("airlock: interrupted: cancelling (Ctrl-C again to give up)\n", stderr);
		submit_send(s, protocol_request_format(&cancel));
		return;
	}
	submit_finish(s, SUBMIT_EXIT_INTERRUPTED);
}

/* Builds the request line of ARGS; NULL after a message. */
/*
 * Our stdout and stderr that are pipes, as stdio_fds streams (SPEC 8): the
 * TUI relays the command's output on them straight into our pipes, at the
 * pace of their reader, instead of through output events. Returns how many.
 */
static size_t submit_stdio_fds(int streams[2])
{
	size_t n = 0;

	/* The TUI's own rule: a pipe's writing end, open for writing only (1<>fifo is not). */
	for (int k = 0; k < 2; k++)
		if (output_relay_sink_ok(k == 0 ? STDOUT_FILENO : STDERR_FILENO))
			streams[n++] = k == 0 ? PROTOCOL_STDOUT : PROTOCOL_STDERR;
	return n;
}

/*
 * Sends LINE on the connected socket FD (blocking), with the descriptors
 * of the N stdio_fds STREAMS attached to its first byte. Returns 0 or -errno.
 */
static int submit_send_fds(int fd, const char *line, const int *streams, size_t n)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} ctl;
	size_t len = strlen(line), off = 0;
	int fds[2];

	for (size_t i = 0; i < n && i < 2; i++)
		fds[i] = streams[i] == PROTOCOL_STDERR ? STDERR_FILENO : STDOUT_FILENO;
	while (off < len) {
		struct iovec iov = {.iov_base = (char *)line + off, .iov_len = len - off};
		struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
		ssize_t w;

		if (off == 0) {
			memset(&ctl, 0, sizeof ctl);
			m.msg_control = ctl.buf;
			m.msg_controllen = CMSG_SPACE(n * sizeof(int));
			struct cmsghdr *c = CMSG_FIRSTHDR(&m);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(n * sizeof(int));
			memcpy(CMSG_DATA(c), fds, n * sizeof(int));
		}
		w = sendmsg(fd, &m, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		off += (size_t)w;
	}
	return 0;
}

/* The request line for ARGS (STREAMS: the N stdio_fds it announces). Caller frees. */
static char *submit_request(const struct submit_args *args, const int *streams, size_t n)
{
	struct protocol_request r = {.id = SUBMIT_ID};
	char *cwd = getcwd(NULL, 0), *line = NULL;

	if (cwd == NULL) {
		fprintf(stderr, "airlock: cannot tell the current directory: %s\n",
		        strerror(errno));
		return NULL;
	}
	r.cwd = cwd;
	if (args->patch_file != NULL) {
		r.op = PROTOCOL_APPLY_PATCH;
		r.patch = submit_read_file(args->patch_file);
		if (r.patch != NULL)
			line = protocol_request_format(&r);
		free(r.patch);
	} else {
		r.op = PROTOCOL_EXEC;
		r.command = args->command;
		r.n_command = args->n_command;
		r.permissions = args->escalate ? PROTOCOL_REQUIRE_ESCALATED : PROTOCOL_USE_DEFAULT;
		if (args->add.n_write + args->add.n_read + args->add.n_network > 0) {
			r.permissions = PROTOCOL_WITH_ADDITIONAL_PERMISSIONS;
			r.additions = args->add;
		}
		r.justification = (char *)args->justification;
		r.prefix_rule = args->prefix_rule;
		r.n_prefix_rule = args->n_prefix_rule;
		r.tty = args->tty;
		r.timeout_ms = args->timeout_ms;
		for (size_t i = 0; i < n && i < 2; i++)
			r.stdio_fds[i] = streams[i];
		r.n_stdio_fds = n;
		line = protocol_request_format(&r);
	}
	free(cwd);
	if (line != NULL && strlen(line) - 1 > PROTOCOL_MAX_LINE) {
		fprintf(stderr, "airlock: the request is over %d bytes as JSON\n",
		        PROTOCOL_MAX_LINE);
		free(line);
		line = NULL;
	}
	return line;
}

int cmd_submit(int argc, char **argv)
{
	struct submit_args args;
	struct submit s;
	char *line;
	int fd, rc, streams[2] = {0, 0};
	size_t n_streams = 0;

	rc = submit_parse_args(argc, argv, &args);
	if (rc != 0) {
		submit_args_free(&args);
		return rc < 0 ? 0 : rc;
	}
	/* Our pipes go with a command on pipes (a terminal's output has nowhere else to go). */
	if (args.patch_file == NULL && !args.tty)
		n_streams = submit_stdio_fds(streams);
	line = submit_request(&args, streams, n_streams);
	submit_args_free(&args);
	if (line == NULL)
		return args.patch_file != NULL ? SUBMIT_EXIT_USAGE : SUBMIT_EXIT_FAILURE;
	fd = submit_find(args.socket);
	if (fd < 0) {
		free(line);
		return SUBMIT_EXIT_UNREACHABLE;
	}
	signal(SIGPIPE, SIG_IGN);
	if (n_streams > 0) {
		rc = submit_send_fds(fd, line, streams, n_streams);
		free(line);
		line = NULL;
		if (rc < 0) {
			fprintf(stderr, "airlock: cannot send the request: %s\n", strerror(-rc));
			close(fd);
			return SUBMIT_EXIT_FAILURE;
		}
	}
	memset(&s, 0, sizeof s);
	s.tty = isatty(STDERR_FILENO);
	protocol_splitter_init(&s.split, PROTOCOL_MAX_LINE);
	uv_loop_init(&s.loop);
	uv_pipe_init(&s.loop, &s.pipe, 0);
	s.pipe.data = &s;
	rc = uv_pipe_open(&s.pipe, fd);
	uv_signal_init(&s.loop, &s.sigint);
	s.sigint.data = &s;
	if (rc < 0) {
		fprintf(stderr, "airlock: cannot use the socket: %s\n", uv_strerror(rc));
		close(fd);
		free(line);
		submit_finish(&s, SUBMIT_EXIT_FAILURE);
	} else {
		uv_signal_start(&s.sigint, submit_sigint, SIGINT);
		uv_read_start((uv_stream_t *)&s.pipe, submit_alloc, submit_read);
		if (line != NULL)
			submit_send(&s, line);
		/* Our stdin is the command's, unless it is a terminal (SPEC 8). */
		if (args.patch_file == NULL && !isatty(STDIN_FILENO) &&
		    fcntl(STDIN_FILENO, F_GETFD) >= 0)
			submit_stdin_next(&s);
	}
	uv_run(&s.loop, UV_RUN_DEFAULT);
	if (s.stdin_reading) {
		/*
		 * A thread of libuv's still waits on our stdin (a writer that
		 * never ends it): end the process now, with the command's status.
		 */
		protocol_splitter_free(&s.split);
		fflush(stdout);
		fflush(stderr);
		_exit(s.status);
	}
	uv_loop_close(&s.loop);
	protocol_splitter_free(&s.split);
	fflush(stdout);
	return s.status;
}
