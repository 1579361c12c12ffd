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
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How long the fake server waits for the client at each step. */
#define TEST_SUBMIT_TIMEOUT_MS 5000

/* A listening Unix socket at PATH, mode 0600 as airlock makes it; returns the fd or -1. */
static int test_submit_listen(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof sa.sun_path)
		return -1;
	strcpy(sa.sun_path, path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || chmod(path, 0600) != 0 ||
	    listen(fd, 8) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The path NAME in a private (0700) directory of the test's, as airlock's
 * socket directory is; the test's own directory is 0755. Caller frees.
 */
static char *test_submit_sock(const char *name)
{
	char *dir = xasprintf("%s/sockets", test_tmpdir());
	char *path = xasprintf("%s/%s", dir, name);

	mkdir(dir, 0700);
	free(dir);
	return path;
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
	char *sock = test_submit_sock("s.sock");
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
	char *sock = test_submit_sock("x.sock");
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
	char *path = test_submit_sock("x.sock");
	char *sock = xasprintf("--socket=%s", path);
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
	free(path);
	return 0;
}

TEST(submit_patch_sends_the_file)
{
	char *sock = test_submit_sock("p.sock");
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
	char *sock = test_submit_sock("c.sock");
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
	/* The end of submit's stdin (/dev/null) may come first, as a stdin op. */
	for (;;) {
		line = test_submit_read_line(fd);
		ASSERT(line != NULL);
		ASSERT_EQ(protocol_parse(line, strlen(line), &r, &cause), 0);
		if (r.op != PROTOCOL_STDIN)
			break;
		ASSERT_EQ(r.data_len, 0u);
		protocol_request_free(&r);
		free(line);
	}
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
	/* No directory at all: exit 69 (SPEC 1) with a clear message. */
	test_submit_spawn(&c, argv, NULL, xdg);
	ASSERT_EQ(test_submit_wait(&c), 69);
	err = test_read_file(c.err, NULL);
	ASSERT_CONTAINS(err, "airlock: no running airlock found");
	ASSERT_CONTAINS(err, "--socket PATH");
	free(err);
	test_submit_child_free(&c);

	ASSERT_EQ(mkdir(dir, 0755), 0);
	/* A directory others could read is refused. */
	test_submit_spawn(&c, argv, NULL, xdg);
	ASSERT_EQ(test_submit_wait(&c), 69);
	err = test_read_file(c.err, NULL);
	ASSERT_CONTAINS(err, "has mode 0755, not 0700");
	free(err);
	test_submit_child_free(&c);
	ASSERT_EQ(chmod(dir, 0700), 0);

	/* An empty private directory: no live socket. */
	test_submit_spawn(&c, argv, NULL, xdg);
	ASSERT_EQ(test_submit_wait(&c), 69);
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

/* Whether a client has connected to LFD (without waiting). */
static bool test_submit_connected(int lfd)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};

	return poll(&p, 1, 0) == 1;
}

/*
 * Runs `submit ARG... -- true` (ARG: up to two words, or NULL) with
 * XDG_RUNTIME_DIR=XDG and AIRLOCK_SOCKET=SOCK (unset when NULL); passes when
 * it exits 69 with WANT in its stderr and never connected to LFD.
 */
static int test_submit_refused(const char *xdg, const char *sock, const char *arg1,
                               const char *arg2, int lfd, const char *want)
{
	char *argv[6] = {"submit"};
	struct test_submit_child c;
	size_t n = 1;
	int status;
	char *err;

	if (arg1 != NULL)
		argv[n++] = (char *)arg1;
	if (arg2 != NULL)
		argv[n++] = (char *)arg2;
	argv[n++] = "--";
	argv[n++] = "true";
	argv[n] = NULL;
	test_submit_spawn(&c, argv, sock, xdg);
	status = test_submit_wait(&c);
	err = test_read_file(c.err, NULL);
	test_submit_child_free(&c);
	if (status != 69 || err == NULL || strstr(err, want) == NULL ||
	    test_submit_connected(lfd)) {
		fprintf(stderr, "submit %s %s: exit %d, wanted 69 and \"%s\"; stderr: %s",
		        arg1 ? arg1 : "", arg2 ? arg2 : "", status, want, err ? err : "(none)");
		free(err);
		return 1;
	}
	free(err);
	return 0;
}

TEST(submit_refuses_socket_dirs_that_are_not_private)
{
	char *xdg = xasprintf("%s/run", test_tmpdir());
	char *dir = xasprintf("%s/airlock", xdg), *sock = xasprintf("%s/1.sock", dir);
	char *real = xasprintf("%s/real", test_tmpdir());
	char *real_sock = xasprintf("%s/1.sock", real);
	long other = test_unprivileged_uid();
	int lfd;

	ASSERT_EQ(mkdir(xdg, 0700), 0);
	ASSERT_EQ(mkdir(dir, 0700), 0);
	lfd = test_submit_listen(sock);
	ASSERT(lfd >= 0);

	/* Mode 0755 (and 0750, 0770: anything but 0700), found or named. */
	static const mode_t modes[] = {0755, 0750, 0770, 0711};
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		char want[32];
		snprintf(want, sizeof want, "has mode %04o, not 0700", (unsigned)modes[i]);
		ASSERT_EQ(chmod(dir, modes[i]), 0);
		ASSERT_EQ(test_submit_refused(xdg, NULL, NULL, NULL, lfd, want), 0);
		ASSERT_EQ(test_submit_refused(NULL, sock, NULL, NULL, lfd, want), 0);
		ASSERT_EQ(test_submit_refused(NULL, NULL, "--socket", sock, lfd, want), 0);
	}
	ASSERT_EQ(chmod(dir, 0700), 0);

	/* Owned by someone else (mode 0700 all the same). */
	if (other >= 0 && geteuid() == 0) {
		char want[64];
		snprintf(want, sizeof want, "is owned by uid %ld, not by this user", other);
		ASSERT_EQ(chown(dir, (uid_t)other, (gid_t)-1), 0);
		ASSERT_EQ(test_submit_refused(xdg, NULL, NULL, NULL, lfd, want), 0);
		ASSERT_EQ(test_submit_refused(NULL, sock, NULL, NULL, lfd, want), 0);
		ASSERT_EQ(chown(dir, getuid(), (gid_t)-1), 0);
	} else {
		fprintf(stderr, "SKIP part: %s: another user's directory untested\n",
		        test_unprivileged_skip_reason());
	}

	/* A symbolic link to a private directory with a live socket in it. */
	close(lfd);
	ASSERT_EQ(unlink(sock), 0);
	ASSERT_EQ(rmdir(dir), 0);
	ASSERT_EQ(mkdir(real, 0700), 0);
	lfd = test_submit_listen(real_sock);
	ASSERT(lfd >= 0);
	ASSERT_EQ(symlink(real, dir), 0);
	ASSERT_EQ(test_submit_refused(xdg, NULL, NULL, NULL, lfd, "is a symbolic link"), 0);
	ASSERT_EQ(test_submit_refused(NULL, NULL, "--socket", sock, lfd, "is a symbolic link"), 0);
	close(lfd);
	free(xdg);
	free(dir);
	free(sock);
	free(real);
	free(real_sock);
	return 0;
}

/* In a child running as UID: listens at PATH; writes one byte to READY, then waits. */
static pid_t test_submit_listen_as(uid_t uid, const char *path, int ready)
{
	fflush(NULL);
	pid_t pid = fork();

	if (pid == 0) {
		int fd;
		if (test_become_unprivileged(uid) != 0)
			_exit(1);
		fd = test_submit_listen(path);
		if (fd < 0 || write(ready, "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	return pid;
}

TEST(submit_refuses_sockets_not_0600_or_not_the_users)
{
	char *xdg = xasprintf("%s/run", test_tmpdir());
	char *dir = xasprintf("%s/airlock", xdg), *sock = xasprintf("%s/1.sock", dir);
	long other = test_unprivileged_uid();
	int lfd;

	ASSERT_EQ(mkdir(xdg, 0700), 0);
	ASSERT_EQ(mkdir(dir, 0700), 0);
	lfd = test_submit_listen(sock);
	ASSERT(lfd >= 0);
	/* A live socket others could connect to: skipped when found, refused when named. */
	static const mode_t modes[] = {0666, 0660, 0700, 0400};
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		char want[32];
		snprintf(want, sizeof want, "has mode %04o, not 0600", (unsigned)modes[i]);
		ASSERT_EQ(chmod(sock, modes[i]), 0);
		ASSERT_EQ(test_submit_refused(xdg, NULL, NULL, NULL, lfd, want), 0);
		ASSERT_EQ(test_submit_refused(NULL, sock, NULL, NULL, lfd, want), 0);
		ASSERT_EQ(test_submit_refused(NULL, NULL, "--socket", sock, lfd, want), 0);
	}
	ASSERT_EQ(chmod(sock, 0600), 0);
	if (other < 0 || geteuid() != 0) {
		close(lfd);
		SKIP("%s: another user's socket and server untested",
		     test_unprivileged_skip_reason());
	}
	/* A socket file of someone else's. */
	char want[64];
	snprintf(want, sizeof want, "is owned by uid %ld, not by this user", other);
	ASSERT_EQ(chown(sock, (uid_t)other, (gid_t)-1), 0);
	ASSERT_EQ(test_submit_refused(xdg, NULL, NULL, NULL, lfd, want), 0);
	ASSERT_EQ(test_submit_refused(NULL, sock, NULL, NULL, lfd, want), 0);
	close(lfd);
	ASSERT_EQ(unlink(sock), 0);

	/*
	 * A server of another user behind a socket file that looks ours (root
	 * chowned and moved it in): the peer's uid gives it away.
	 */
	char *theirs = xasprintf("%s/theirs", test_tmpdir());
	char *their_sock = xasprintf("%s/2.sock", theirs);
	int ready[2];
	char byte;
	ASSERT_EQ(mkdir(theirs, 0700), 0);
	ASSERT_EQ(chown(theirs, (uid_t)other, (gid_t)-1), 0);
	ASSERT_EQ(pipe(ready), 0);
	pid_t pid = test_submit_listen_as((uid_t)other, their_sock, ready[1]);
	ASSERT(pid > 0);
	close(ready[1]);
	ASSERT_EQ(read(ready[0], &byte, 1), 1);
	close(ready[0]);
	ASSERT_EQ(chown(their_sock, getuid(), getgid()), 0);
	ASSERT_EQ(rename(their_sock, sock), 0);
	/* No listener of ours to watch: poll ignores fd -1. */
	int rc = test_submit_refused(xdg, NULL, NULL, NULL, -1,
	                             "is served by another user; skipping it");
	if (rc == 0)
		rc = test_submit_refused(NULL, NULL, "--socket", sock, -1,
		                         "is served by another user");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ASSERT_EQ(rc, 0);
	free(theirs);
	free(their_sock);
	free(xdg);
	free(dir);
	free(sock);
	return 0;
}

TEST(submit_refuses_a_server_inside_a_sandbox)
{
	if (access("/usr/bin/python3", X_OK) != 0)
		SKIP("no /usr/bin/python3 to listen on a socket inside the sandbox");
	char *dir = xasprintf("%s/private", test_tmpdir());
	char *sock = xasprintf("%s/1.sock", dir), *ready = xasprintf("%s/ready", test_tmpdir());
	char *errpath = xasprintf("%s/exec.err", test_tmpdir());
	char *home = xasprintf("%s/home", test_tmpdir());
	char *bin = test_buildpath("airlock");
	char *script =
	    xasprintf("import socket,os,time\n"
	              "s=socket.socket(socket.AF_UNIX); s.bind('%s'); os.chmod('%s',0o600)\n"
	              "s.listen(8); open('%s','w').write('x'); time.sleep(60)\n",
	              sock, sock, ready);
	char *argv[] = {bin, "exec", "-n", "on", "--", "/usr/bin/python3", "-c", script, NULL};
	bool up = false;
	pid_t pid;
	int rc;

	/* A private directory of this user's that the sandbox may write: it passes every check. */
	ASSERT_EQ(mkdir(dir, 0700), 0);
	ASSERT_EQ(mkdir(home, 0700), 0);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int e = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(e, 2);
		setenv("AIRLOCK_HOME", home, 1);
		unsetenv("XDG_RUNTIME_DIR");
		if (chdir(test_tmpdir()) != 0)
			_exit(127);
		execv(bin, argv);
		_exit(127);
	}
	for (int i = 0; i < 1000 && !up; i++) {
		up = access(ready, F_OK) == 0;
		if (!up && waitpid(pid, NULL, WNOHANG) == pid)
			break;
		if (!up)
			usleep(10000);
	}
	if (!up) {
		char *err = test_read_file(errpath, NULL);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		rc = test_skip("the sandboxed server did not start: %s", err ? err : "");
		free(err);
	} else {
		/* The same user, a 0600 socket in a 0700 directory: only the namespace tells. */
		const char *want = "is served from another user namespace";
		rc = test_submit_refused(NULL, NULL, "--socket", sock, -1, want);
		if (rc == 0)
			rc = test_submit_refused(NULL, sock, NULL, NULL, -1, want);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	free(dir);
	free(sock);
	free(ready);
	free(errpath);
	free(home);
	free(bin);
	free(script);
	return rc;
}
