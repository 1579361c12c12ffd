/*
 * Tests of `airlock submit` (tui/cmd-submit.c) against a fake server: the
 * test process listens on a Unix socket in its directory, runs cmd_submit
 * in a forked child (stdout and stderr to files), reads the request line
 * the child sends, checks it field by field, and answers with scripted
 * event lines. The child's exit status and output are then compared.
 */
#include "test.h"

#include "../core/protocol.h"
#include "../core/xmalloc.h"
#include "../tui/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How long the fake server waits for the client at each step. */
#define TEST_SUBMIT_TIMEOUT_MS 5000

/* A listening Unix socket at PATH; returns the fd or -1. */
static int test_submit_listen(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof sa.sun_path)
		return -1;
	strcpy(sa.sun_path, path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 8) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A client of the submit child: its pid and where its output goes. */
struct test_submit_child {
	pid_t pid;
	char *out, *err; /* paths */
};

/*
 * Forks a child running cmd_submit(ARGV) with AIRLOCK_SOCKET=SOCK (unset when
 * NULL) and XDG_RUNTIME_DIR=XDG (unset when NULL).
 */
static void test_submit_spawn(struct test_submit_child *c, char **argv, const char *sock,
                              const char *xdg)
{
	int argc = 0;

	while (argv[argc] != NULL)
		argc++;
	c->out = xasprintf("%s/out-%d", test_tmpdir(), rand());
	c->err = xasprintf("%s/err-%d", test_tmpdir(), rand());
	fflush(NULL);
	c->pid = fork();
	if (c->pid == 0) {
		int o = open(c->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(c->err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int n = open("/dev/null", O_RDONLY);

		dup2(n, 0);
		dup2(o, 1);
		dup2(e, 2);
		if (sock != NULL)
			setenv("AIRLOCK_SOCKET", sock, 1);
		else
			unsetenv("AIRLOCK_SOCKET");
		if (xdg != NULL)
			setenv("XDG_RUNTIME_DIR", xdg, 1);
		else
			unsetenv("XDG_RUNTIME_DIR");
		int rc = cmd_submit(argc, argv);
		fflush(NULL);
		_exit(rc);
	}
}

/* Waits for the child (at most 10 s); returns its exit status or -1. */
static int test_submit_wait(struct test_submit_child *c)
{
	for (int i = 0; i < 1000; i++) {
		int status;
		pid_t w = waitpid(c->pid, &status, WNOHANG);

		if (w == c->pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		usleep(10000);
	}
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	return -1;
}

/* Frees the child's paths. */
static void test_submit_child_free(struct test_submit_child *c)
{
	free(c->out);
	free(c->err);
}

/* Accepts one connection on LFD within the timeout; returns the fd or -1. */
static int test_submit_accept(int lfd)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};

	if (poll(&p, 1, TEST_SUBMIT_TIMEOUT_MS) != 1)
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

/* Reads one line (without "\n") from FD within the timeout; NULL on EOF. */
static char *test_submit_read_line(int fd)
{
	char *buf = xmalloc(2 * PROTOCOL_MAX_LINE);
	size_t len = 0;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char ch;

		if (poll(&p, 1, TEST_SUBMIT_TIMEOUT_MS) != 1 || read(fd, &ch, 1) != 1) {
			free(buf);
			return NULL;
		}
		if (ch == '\n')
			break;
		buf[len++] = ch;
	}
	buf[len] = '\0';
	return buf;
}

/* Sends a whole string. */
static int test_submit_send(int fd, const char *s)
{
	return write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
}

/* Sends an event line built by protocol_event_* (freed). */
static int test_submit_event(int fd, char *line)
{
	int rc = test_submit_send(fd, line);

	free(line);
	return rc;
}

TEST(submit_streams_output_and_exit_status)
{
	char *sock = xasprintf("%s/s.sock", test_tmpdir());
	int lfd = test_submit_listen(sock), fd;
	char *argv[] = {"submit",
	                "--escalate",
	                "--justification",
	                "needs the net",
	                "--prefix-rule",
	                "git",
	                "push",
	                "--",
	                "git",
	                "push",
	                "-q",
	                NULL};
	struct test_submit_child c;
	struct protocol_request r;
	char *line, *cause = NULL, *out, *err, *cwd = getcwd(NULL, 0);

	ASSERT(lfd >= 0);
	test_submit_spawn(&c, argv, sock, NULL);
	fd = test_submit_accept(lfd);
	ASSERT(fd >= 0);
	line = test_submit_read_line(fd);
	ASSERT(line != NULL);
	ASSERT_EQ(protocol_parse(line, strlen(line), &r, &cause), 0);
	ASSERT_EQ(r.op, PROTOCOL_EXEC);
	ASSERT_STR_EQ(r.id, "1");
	ASSERT_EQ(r.n_command, 3);
	ASSERT_STR_EQ(r.command[0], "git");
	ASSERT_STR_EQ(r.command[2], "-q");
	ASSERT_STR_EQ(r.cwd, cwd);
	ASSERT_EQ(r.permissions, PROTOCOL_REQUIRE_ESCALATED);
	ASSERT_STR_EQ(r.justification, "needs the net");
	ASSERT_EQ(r.n_prefix_rule, 2);
	ASSERT_STR_EQ(r.prefix_rule[1], "push");
	protocol_request_free(&r);
	free(line);

	ASSERT_EQ(test_submit_event(fd, protocol_event_queued("1")), 0);
	ASSERT_EQ(test_submit_event(fd, protocol_event_decision("1", PROTOCOL_APPROVED)), 0);
	ASSERT_EQ(test_submit_event(fd, protocol_event_output("1", PROTOCOL_STDOUT, "hel", 3)), 0);
	/* An event cut in two writes, and binary bytes. */
	char *ev = protocol_event_output("1", PROTOCOL_STDOUT, "lo\n\0\xff", 5);
	ASSERT_EQ(write(fd, ev, 10), 10);
	usleep(20000);
	ASSERT_EQ(test_submit_send(fd, ev + 10), 0);
	free(ev);
	ASSERT_EQ(test_submit_event(fd, protocol_event_output("1", PROTOCOL_STDERR, "warn\n", 5)),
	          0);
	ASSERT_EQ(test_submit_event(fd, protocol_event_exit("1", 3, true)), 0);
	ASSERT_EQ(test_submit_wait(&c), 3);
	size_t outlen;
	out = test_read_file(c.out, &outlen);
	err = test_read_file(c.err, NULL);
	ASSERT_EQ(outlen, 8);
	ASSERT(memcmp(out, "hello\n\0\xff", 8) == 0);
	ASSERT_STR_EQ(err, "warn\n");
	free(out);
	free(err);
	close(fd);
	close(lfd);
	test_submit_child_free(&c);
	free(sock);
	free(cwd);
	return 0;
}

/* Runs one exchange: the child sends a request, the server answers EVENTS. */
static int test_submit_exchange(char **argv, const char *events, int *status, char **err)
{
	char *sock = xasprintf("%s/x.sock", test_tmpdir());
	int lfd = test_submit_listen(sock), fd;
	struct test_submit_child c;
	char *line;

	ASSERT(lfd >= 0);
	test_submit_spawn(&c, argv, NULL, NULL);
	/* The socket comes from --socket, as every argv here gives it. */
	fd = test_submit_accept(lfd);
	ASSERT(fd >= 0);
	line = test_submit_read_line(fd);
	ASSERT(line != NULL);
	free(line);
	ASSERT_EQ(test_submit_send(fd, events), 0);
	/* Then the server is done talking: the client sees the end of the stream. */
	ASSERT_EQ(shutdown(fd, SHUT_WR), 0);
	*status = test_submit_wait(&c);
	*err = test_read_file(c.err, NULL);
	close(fd);
	close(lfd);
	test_submit_child_free(&c);
	free(sock);
	return 0;
}

TEST(submit_exit_statuses)
{
	char *sock = xasprintf("--socket=%s/x.sock", test_tmpdir());
	char *argv[] = {"submit", sock, "--", "true", NULL};
	int status;
	char *err;

	ASSERT_EQ(test_submit_exchange(argv,
	                               "{\"id\":\"1\",\"event\":\"decision\",\"decision\":"
	                               "\"denied\"}\n",
	                               &status, &err),
	          0);
	ASSERT_EQ(status, 126);
	ASSERT_STR_EQ(err, "airlock: denied\n");
	free(err);
	ASSERT_EQ(test_submit_exchange(argv,
	                               "{\"id\":\"1\",\"event\":\"exit\",\"code\":137,"
	                               "\"sandboxed\":true}\n",
	                               &status, &err),
	          0);
	ASSERT_EQ(status, 137);
	free(err);
	ASSERT_EQ(test_submit_exchange(argv,
	                               "{\"id\":null,\"event\":\"error\",\"message\":\"not JSON: "
	                               "syntax error at byte 0\"}\n",
	                               &status, &err),
	          0);
	ASSERT_EQ(status, 1);
	ASSERT_STR_EQ(err, "airlock: not JSON: syntax error at byte 0\n");
	free(err);
	/* The server goes away before the end. */
	ASSERT_EQ(
	    test_submit_exchange(argv, "{\"id\":\"1\",\"event\":\"queued\"}\n", &status, &err), 0);
	ASSERT_EQ(status, 1);
	ASSERT_STR_EQ(err, "airlock: the connection to airlock closed before the request "
	                   "finished\n");
	free(err);
	/* Nonsense from the server. */
	ASSERT_EQ(test_submit_exchange(argv, "{\"id\":\"1\",\"event\":\"dance\"}\n", &status, &err),
	          0);
	ASSERT_EQ(status, 1);
	ASSERT_STR_EQ(err, "airlock: bad event from the server: unknown event \"dance\"\n");
	free(err);
	free(sock);
	return 0;
}

TEST(submit_patch_sends_the_file)
{
	char *sock = xasprintf("%s/p.sock", test_tmpdir());
	char *file = xasprintf("%s/fix.patch", test_tmpdir());
	const char *text = "*** Begin Patch\n*** Add File: a\n+\"q\"\n*** End Patch\n";
	char *argv[] = {"submit", "--socket", sock, "--patch", file, NULL};
	int lfd = test_submit_listen(sock), fd;
	struct test_submit_child c;
	struct protocol_request r;
	char *line, *cause = NULL, *err;

	ASSERT(lfd >= 0);
	ASSERT_EQ(test_write_file(file, text), 0);
	test_submit_spawn(&c, argv, NULL, NULL);
	fd = test_submit_accept(lfd);
	ASSERT(fd >= 0);
	line = test_submit_read_line(fd);
	ASSERT(line != NULL);
	ASSERT_EQ(protocol_parse(line, strlen(line), &r, &cause), 0);
	ASSERT_EQ(r.op, PROTOCOL_APPLY_PATCH);
	ASSERT_STR_EQ(r.patch, text);
	ASSERT(r.cwd != NULL && r.cwd[0] == '/');
	protocol_request_free(&r);
	free(line);
	ASSERT_EQ(test_submit_send(fd, "{\"id\":\"1\",\"event\":\"error\",\"message\":\"a: hunk "
	                               "1: could not find the lines to replace:\\n    x\"}\n"),
	          0);
	ASSERT_EQ(test_submit_wait(&c), 1);
	err = test_read_file(c.err, NULL);
	ASSERT_STR_EQ(err, "airlock: a: hunk 1: could not find the lines to replace:\n    x\n");
	free(err);
	close(fd);
	close(lfd);
	test_submit_child_free(&c);
	free(sock);
	free(file);
	return 0;
}

TEST(submit_ctrl_c_sends_cancel)
{
	char *sock = xasprintf("%s/c.sock", test_tmpdir());
	char *argv[] = {"submit", "--", "sleep", "100", NULL};
	int lfd = test_submit_listen(sock), fd;
	struct test_submit_child c;
	struct protocol_request r;
	char *line, *cause = NULL;

	ASSERT(lfd >= 0);
	test_submit_spawn(&c, argv, sock, NULL);
	fd = test_submit_accept(lfd);
	ASSERT(fd >= 0);
	line = test_submit_read_line(fd);
	ASSERT(line != NULL);
	free(line);
	ASSERT_EQ(test_submit_event(fd, protocol_event_queued("1")), 0);
	/* The request line came after uv_signal_start: SIGINT is handled by now. */
	ASSERT_EQ(kill(c.pid, SIGINT), 0);
	line = test_submit_read_line(fd);
	ASSERT(line != NULL);
	ASSERT_EQ(protocol_parse(line, strlen(line), &r, &cause), 0);
	ASSERT_EQ(r.op, PROTOCOL_CANCEL);
	ASSERT_STR_EQ(r.target, "1");
	ASSERT_STR_EQ(r.id, "2");
	protocol_request_free(&r);
	free(line);
	ASSERT_EQ(test_submit_event(fd, protocol_event_exit("1", 130, true)), 0);
	ASSERT_EQ(test_submit_wait(&c), 130);
	char *err = test_read_file(c.err, NULL);
	ASSERT_CONTAINS(err, "airlock: interrupted: cancelling");
	free(err);
	close(fd);
	close(lfd);
	test_submit_child_free(&c);
	free(sock);
	return 0;
}

TEST(submit_usage_errors_exit_2)
{
	static char *cases[][6] = {
	    {"submit", NULL},
	    {"submit", "--bogus", "--", "ls", NULL},
	    {"submit", "ls", NULL},
	    {"submit", "--patch", "f", "--", "ls", NULL},
	    {"submit", "--prefix-rule", "--", "ls", NULL},
	    {"submit", "--socket", NULL},
	    {"submit", "--escalate", "--patch", "f", NULL},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct test_submit_child c;
		char *err;

		test_submit_spawn(&c, cases[i], "/nonexistent.sock", NULL);
		ASSERT_EQ(test_submit_wait(&c), 2);
		err = test_read_file(c.err, NULL);
		ASSERT(strncmp(err, "airlock: submit: ", 17) == 0);
		ASSERT_CONTAINS(err, "usage: airlock submit");
		free(err);
		test_submit_child_free(&c);
	}
	/* A patch file that cannot be read is a usage error too. */
	char *argv[] = {"submit", "--patch", "/nonexistent/x.patch", NULL};
	struct test_submit_child c;
	test_submit_spawn(&c, argv, "/nonexistent.sock", NULL);
	ASSERT_EQ(test_submit_wait(&c), 2);
	char *err = test_read_file(c.err, NULL);
	ASSERT_STR_EQ(err,
	              "airlock: cannot read /nonexistent/x.patch: No such file or directory\n");
	free(err);
	test_submit_child_free(&c);
	return 0;
}

TEST(submit_finds_the_newest_live_socket)
{
	char *xdg = xasprintf("%s/run", test_tmpdir());
	char *dir = xasprintf("%s/airlock", xdg);
	char *live = xasprintf("%s/100.sock", dir), *stale = xasprintf("%s/200.sock", dir);
	char *argv[] = {"submit", "--", "true", NULL};
	struct test_submit_child c;
	int lfd, sfd, fd;
	char *line, *err;

	ASSERT_EQ(mkdir(xdg, 0700), 0);
	/* No directory at all: exit 1 with a clear message. */
	test_submit_spawn(&c, argv, NULL, xdg);
	ASSERT_EQ(test_submit_wait(&c), 1);
	err = test_read_file(c.err, NULL);
	ASSERT_CONTAINS(err, "airlock: no running airlock found");
	ASSERT_CONTAINS(err, "--socket PATH");
	free(err);
	test_submit_child_free(&c);

	ASSERT_EQ(mkdir(dir, 0755), 0);
	/* A directory others could write to is refused. */
	test_submit_spawn(&c, argv, NULL, xdg);
	ASSERT_EQ(test_submit_wait(&c), 1);
	err = test_read_file(c.err, NULL);
	ASSERT_CONTAINS(err, "is not a private directory");
	free(err);
	test_submit_child_free(&c);
	ASSERT_EQ(chmod(dir, 0700), 0);

	/* An empty private directory: no live socket. */
	test_submit_spawn(&c, argv, NULL, xdg);
	ASSERT_EQ(test_submit_wait(&c), 1);
	err = test_read_file(c.err, NULL);
	ASSERT_CONTAINS(err, "no live socket in");
	free(err);
	test_submit_child_free(&c);

	/* The live one is older; the newer one is dead (nobody listens). */
	lfd = test_submit_listen(live);
	ASSERT(lfd >= 0);
	sfd = test_submit_listen(stale);
	ASSERT(sfd >= 0);
	close(sfd);
	struct timespec old[2] = {{.tv_sec = 1000}, {.tv_sec = 1000}};
	ASSERT_EQ(utimensat(AT_FDCWD, live, old, AT_SYMLINK_NOFOLLOW), 0);
	test_submit_spawn(&c, argv, NULL, xdg);
	fd = test_submit_accept(lfd);
	ASSERT(fd >= 0);
	line = test_submit_read_line(fd);
	ASSERT_CONTAINS(line, "\"command\":[\"true\"]");
	free(line);
	ASSERT_EQ(test_submit_event(fd, protocol_event_exit("1", 0, true)), 0);
	ASSERT_EQ(test_submit_wait(&c), 0);
	test_submit_child_free(&c);
	close(fd);
	close(lfd);
	free(xdg);
	free(dir);
	free(live);
	free(stale);
	return 0;
}
