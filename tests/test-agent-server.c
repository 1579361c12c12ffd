/*
 * Tests of the agent socket's server (core/agent-server.h) over real Unix
 * sockets. The server runs in a forked child on its own libuv loop, with a
 * small scripted owner: `echo ARGS` answers queued, approved, the words as
 * output and exit 0; `wait` parks the request until a cancel; `count`
 * reports how many disconnects the owner has seen; `seq` says how many
 * `seq` requests it has had, this one included; `fds` writes its id into
 * the pipes that came with it (stdio_fds); patches get an error
 * naming their cwd. The test process is the clients, with plain blocking
 * sockets and deadlines.
 */
#include "test.h"

#include "../core/agent-server.h"
#include "../core/xmalloc.h"
#include "../tui/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* How long a client waits for each line. */
#define TEST_AGENT_TIMEOUT_MS 5000

/* The scripted owner's state (in the server child). */
struct test_agent_owner {
	struct agent_server *server;
	int disconnects;
	uint64_t waiting_client; /* the parked `wait` request, if any */
	char *waiting_id;
	int seq; /* `seq` requests answered so far */
};

/* Answers an exec request per the script above. */
static void test_agent_exec(void *data, uint64_t client, const struct protocol_request *req)
{
	struct test_agent_owner *o = data;
	struct agent_server *s = o->server;

	if (strcmp(req->command[0], "wait") == 0) {
		o->waiting_client = client;
		free(o->waiting_id);
		o->waiting_id = xstrdup(req->id);
		agent_server_send(s, client, protocol_event_queued(req->id));
		return;
	}
	if (strcmp(req->command[0], "seq") == 0) {
		/* Which request this is, in the order the owner got them (its words unread). */
		char *n = xasprintf("%d", ++o->seq);

		agent_server_send(s, client,
		                  protocol_event_output(req->id, PROTOCOL_STDOUT, n, strlen(n)));
		agent_server_send(s, client, protocol_event_exit(req->id, 0, false));
		free(n);
		return;
	}
	if (strcmp(req->command[0], "fds") == 0) {
		/* Writes its id into each pipe that came with it (stdio_fds). */
		char *line = xasprintf("%s\n", req->id);

		for (int k = 0; k < 2; k++)
			if (req->stdio_fd[k] >= 0 &&
			    write(req->stdio_fd[k], line, strlen(line)) < 0)
				abort();
		agent_server_send(s, client, protocol_event_exit(req->id, 0, false));
		free(line);
		return;
	}
	if (strcmp(req->command[0], "count") == 0) {
		char *n = xasprintf("%d", o->disconnects);

		agent_server_send(s, client,
		                  protocol_event_output(req->id, PROTOCOL_STDOUT, n, strlen(n)));
		agent_server_send(s, client, protocol_event_exit(req->id, 0, false));
		free(n);
		return;
	}
	char *text = xstrdup("");
	for (size_t i = 1; i < req->n_command; i++) {
		char *next = xasprintf("%s%s%s", text, i > 1 ? " " : "", req->command[i]);

		free(text);
		text = next;
	}
	agent_server_send(s, client, protocol_event_queued(req->id));
	agent_server_send(s, client, protocol_event_decision(req->id, PROTOCOL_APPROVED));
	agent_server_send(s, client,
	                  protocol_event_output(req->id, PROTOCOL_STDOUT, text, strlen(text)));
	agent_server_send(s, client, protocol_event_exit(req->id, 0, true));
	free(text);
}

/* Answers a patch with an error naming its cwd. */
static void test_agent_patch(void *data, uint64_t client, const struct protocol_request *req)
{
	struct test_agent_owner *o = data;
	char *msg = xasprintf("patch in %s", req->cwd);

	agent_server_send(o->server, client, protocol_event_error(req->id, msg));
	free(msg);
}

/* Ends the parked request when its own client cancels it. */
static void test_agent_cancel(void *data, uint64_t client, const struct protocol_request *req)
{
	struct test_agent_owner *o = data;

	if (o->waiting_id != NULL && o->waiting_client == client &&
	    strcmp(o->waiting_id, req->target) == 0) {
		agent_server_send(o->server, client, protocol_event_exit(req->target, 130, true));
		free(o->waiting_id);
		o->waiting_id = NULL;
		return;
	}
	agent_server_send(o->server, client, protocol_event_error(req->id, "no such request"));
}

/* Counts disconnects; forgets a parked request of that client. */
static void test_agent_disconnect(void *data, uint64_t client)
{
	struct test_agent_owner *o = data;

	o->disconnects++;
	if (o->waiting_id != NULL && o->waiting_client == client) {
		/* Sending to a client that is gone is refused, not a crash. */
		if (agent_server_send(o->server, client,
		                      protocol_event_exit(o->waiting_id, 1, true)) != -ENOTCONN)
			abort();
		free(o->waiting_id);
		o->waiting_id = NULL;
	}
}

static const struct agent_server_ops test_agent_ops = {
    .on_exec = test_agent_exec,
    .on_patch = test_agent_patch,
    .on_cancel = test_agent_cancel,
    .on_disconnect = test_agent_disconnect,
};

/*
 * Starts the server at PATH in a child; returns its pid once it listens.
 * The child says so on a pipe after agent_server_start returned: the socket
 * file exists from bind(), before listen(), so seeing it is not enough.
 */
static pid_t test_agent_start(const char *path)
{
	int ready[2];
	pid_t pid;

	if (pipe2(ready, O_CLOEXEC) != 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct test_agent_owner o = {0};
		uv_loop_t loop;
		char *cause = NULL;

		close(ready[0]);
		uv_loop_init(&loop);
		if (agent_server_start(&loop, path, &test_agent_ops, &o, &o.server, &cause) != 0) {
			fprintf(stderr, "agent_server_start: %s\n", cause);
			_exit(1);
		}
		if (write(ready[1], "1", 1) != 1)
			_exit(1);
		close(ready[1]);
		uv_run(&loop, UV_RUN_DEFAULT);
		_exit(0);
	}
	close(ready[1]);
	struct pollfd pfd = {.fd = ready[0], .events = POLLIN};
	char byte;
	bool up = pid > 0 && poll(&pfd, 1, 5000) == 1 && read(ready[0], &byte, 1) == 1;

	close(ready[0]);
	if (up)
		return pid;
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return -1;
}

/* Stops the server child. */
static void test_agent_stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Connects to PATH; returns the fd or -1. */
static int test_agent_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends all of S (LEN bytes). */
static int test_agent_send(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, s, len);

		if (w <= 0)
			return -1;
		s += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Sends the string S. */
static int test_agent_puts(int fd, const char *s)
{
	return test_agent_send(fd, s, strlen(s));
}

/* Reads one line (without "\n"); NULL on EOF or after the deadline. */
static char *test_agent_line(int fd)
{
	size_t len = 0, cap = 256;
	char *buf = xmalloc(cap);

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char ch;

		if (poll(&p, 1, TEST_AGENT_TIMEOUT_MS) != 1 || read(fd, &ch, 1) != 1) {
			free(buf);
			return NULL;
		}
		if (ch == '\n')
			break;
		if (len + 2 > cap) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		buf[len++] = ch;
	}
	buf[len] = '\0';
	return buf;
}

/* Reads one line and compares it with WANT; returns 0 when equal. */
static int test_agent_expect(int fd, const char *want)
{
	char *got = test_agent_line(fd);

	ASSERT_STR_EQ(got, want);
	free(got);
	return 0;
}

TEST(agent_server_serves_requests)
{
	char *dir = xasprintf("%s/run/airlock", test_tmpdir());
	char *path = xasprintf("%s/1.sock", dir), *run = xasprintf("%s/run", test_tmpdir());
	struct stat st;
	pid_t pid;
	int fd;

	ASSERT_EQ(mkdir(run, 0755), 0);
	pid = test_agent_start(path);
	ASSERT(pid > 0);
	ASSERT_EQ(stat(dir, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0700);
	ASSERT_EQ(stat(path, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0600);
	fd = test_agent_connect(path);
	ASSERT(fd >= 0);

	ASSERT_EQ(test_agent_puts(fd, "{\"id\":\"a\",\"op\":\"exec\",\"command\":[\"echo\",\"hi\","
	                              "\"there\"],\"cwd\":\"/\"}\n"),
	          0);
	ASSERT_EQ(test_agent_expect(fd, "{\"id\":\"a\",\"event\":\"queued\"}"), 0);
	ASSERT_EQ(test_agent_expect(fd, "{\"id\":\"a\",\"event\":\"decision\",\"decision\":"
	                                "\"approved\"}"),
	          0);
	ASSERT_EQ(test_agent_expect(fd, "{\"id\":\"a\",\"event\":\"output\",\"stream\":\"stdout\","
	                                "\"data\":\"aGkgdGhlcmU=\"}"),
	          0);
	ASSERT_EQ(test_agent_expect(fd, "{\"id\":\"a\",\"event\":\"exit\",\"code\":0,"
	                                "\"sandboxed\":true}"),
	          0);
	/* Malformed lines get an error event and the connection carries on. */
	ASSERT_EQ(test_agent_puts(fd, "hello\n"), 0);
	ASSERT_EQ(test_agent_expect(fd, "{\"id\":null,\"event\":\"error\",\"message\":\"not JSON: "
	                                "syntax error at byte 0\"}"),
	          0);
	ASSERT_EQ(test_agent_puts(fd, "\n  \r\n{\"id\":\"b\",\"op\":\"exec\"}\n"), 0);
	ASSERT_EQ(test_agent_expect(fd, "{\"id\":\"b\",\"event\":\"error\",\"message\":\"missing "
	                                "field \\\"command\\\"\"}"),
	          0);
	ASSERT_EQ(test_agent_puts(fd, "{\"id\":\"\xff\"}\n"), 0);
	ASSERT_EQ(test_agent_expect(fd, "{\"id\":null,\"event\":\"error\",\"message\":\"invalid "
	                                "UTF-8 at byte 7\"}"),
	          0);
	/* A line over 1 MB, sent in pieces: one error, then business as usual. */
	char *big = xmalloc(PROTOCOL_MAX_LINE + 100);
	memset(big, 'x', PROTOCOL_MAX_LINE + 100);
	ASSERT_EQ(test_agent_send(fd, big, PROTOCOL_MAX_LINE / 2), 0);
	ASSERT_EQ(test_agent_send(fd, big, PROTOCOL_MAX_LINE / 2 + 100), 0);
	ASSERT_EQ(test_agent_puts(fd, "\n"), 0);
	free(big);
	ASSERT_EQ(test_agent_expect(fd, "{\"id\":null,\"event\":\"error\",\"message\":\"line too "
	                                "long (over 1048576 bytes)\"}"),
	          0);
	ASSERT_EQ(test_agent_puts(fd, "{\"id\":\"p\",\"op\":\"apply_patch\",\"cwd\":\"/ws\","
	                              "\"patch\":\"x\"}\n"),
	          0);
	ASSERT_EQ(test_agent_expect(fd, "{\"id\":\"p\",\"event\":\"error\",\"message\":\"patch in "
	                                "/ws\"}"),
	          0);
	/* A parked request, cancelled. */
	ASSERT_EQ(test_agent_puts(fd, "{\"id\":\"w\",\"op\":\"exec\",\"command\":[\"wait\"],"
	                              "\"cwd\":\"/\"}\n"),
	          0);
	ASSERT_EQ(test_agent_expect(fd, "{\"id\":\"w\",\"event\":\"queued\"}"), 0);
	ASSERT_EQ(test_agent_puts(fd, "{\"id\":\"c\",\"op\":\"cancel\",\"target\":\"w\"}\n"), 0);
	ASSERT_EQ(test_agent_expect(fd, "{\"id\":\"w\",\"event\":\"exit\",\"code\":130,"
	                                "\"sandboxed\":true}"),
	          0);
	close(fd);
	test_agent_stop(pid);
	free(dir);
	free(path);
	free(run);
	return 0;
}

TEST(agent_server_survives_disconnects)
{
	char *path = xasprintf("%s/d/1.sock", test_tmpdir());
	pid_t pid = test_agent_start(path);
	int fd, fd2;
	char *line;

	ASSERT(pid > 0);
	/* Half a line, then gone. */
	fd = test_agent_connect(path);
	ASSERT(fd >= 0);
	ASSERT_EQ(test_agent_puts(fd, "{\"id\":\"1\",\"op\":\"ex"), 0);
	close(fd);
	/* A parked request whose client goes away. */
	fd = test_agent_connect(path);
	ASSERT(fd >= 0);
	ASSERT_EQ(test_agent_puts(fd, "{\"id\":\"w\",\"op\":\"exec\",\"command\":[\"wait\"],"
	                              "\"cwd\":\"/\"}\n"),
	          0);
	ASSERT_EQ(test_agent_expect(fd, "{\"id\":\"w\",\"event\":\"queued\"}"), 0);
	close(fd);
	/* Requests sent, then the client leaves without reading. */
	fd = test_agent_connect(path);
	ASSERT(fd >= 0);
	for (int i = 0; i < 50; i++)
		ASSERT_EQ(test_agent_puts(fd, "{\"id\":\"e\",\"op\":\"exec\",\"command\":[\"echo\","
		                              "\"x\"],\"cwd\":\"/\"}\n"),
		          0);
	close(fd);
	/* The server still answers, and saw three disconnects. */
	for (int tries = 0; tries < 100; tries++) {
		fd2 = test_agent_connect(path);
		ASSERT(fd2 >= 0);
		ASSERT_EQ(test_agent_puts(fd2,
		                          "{\"id\":\"n\",\"op\":\"exec\",\"command\":[\"count\"],"
		                          "\"cwd\":\"/\"}\n"),
		          0);
		line = test_agent_line(fd2);
		ASSERT(line != NULL);
		bool three = strstr(line, "\"data\":\"Mw==\"") != NULL; /* "3" */
		free(line);
		close(fd2);
		if (three)
			break;
		usleep(20000);
		ASSERT(tries < 99);
	}
	test_agent_stop(pid);
	free(path);
	return 0;
}

TEST(agent_server_repeated_keys_get_an_error_and_carry_on)
{
	char *path = xasprintf("%s/k/1.sock", test_tmpdir());
	pid_t pid = test_agent_start(path);
	int fd;

	ASSERT(pid > 0);
	fd = test_agent_connect(path);
	ASSERT(fd >= 0);
	/* Which "command" would run? Neither: the line is refused. */
	ASSERT_EQ(test_agent_puts(fd,
	                          "{\"id\":\"a\",\"op\":\"exec\",\"command\":[\"echo\",\"shown\"],"
	                          "\"cwd\":\"/\",\"command\":[\"echo\",\"run\"]}\n"),
	          0);
	ASSERT_EQ(test_agent_expect(fd, "{\"id\":null,\"event\":\"error\",\"message\":\"duplicate "
	                                "field \\\"command\\\" at byte 59\"}"),
	          0);
	/* Deeper down, inside an array of objects. */
	ASSERT_EQ(test_agent_puts(fd, "{\"id\":\"b\",\"op\":\"exec\",\"cwd\":\"/\",\"command\":"
	                              "[{\"k\":1},{\"k\":1,\"k\":2}]}\n"),
	          0);
	ASSERT_EQ(test_agent_expect(fd, "{\"id\":null,\"event\":\"error\",\"message\":\"duplicate "
	                                "field \\\"command[1].k\\\" at byte 58\"}"),
	          0);
	/* The same connection still serves. */
	ASSERT_EQ(test_agent_puts(fd, "{\"id\":\"c\",\"op\":\"exec\",\"command\":[\"echo\",\"ok\"],"
	                              "\"cwd\":\"/\"}\n"),
	          0);
	ASSERT_EQ(test_agent_expect(fd, "{\"id\":\"c\",\"event\":\"queued\"}"), 0);
	ASSERT_EQ(test_agent_expect(fd, "{\"id\":\"c\",\"event\":\"decision\",\"decision\":"
	                                "\"approved\"}"),
	          0);
	ASSERT_EQ(test_agent_expect(fd, "{\"id\":\"c\",\"event\":\"output\",\"stream\":\"stdout\","
	                                "\"data\":\"b2s=\"}"),
	          0);
	ASSERT_EQ(test_agent_expect(fd, "{\"id\":\"c\",\"event\":\"exit\",\"code\":0,"
	                                "\"sandboxed\":true}"),
	          0);
	close(fd);
	test_agent_stop(pid);
	free(path);
	return 0;
}

/* An exec line of `seq` and N more words, id ID, without its "\n". Caller frees. */
static char *test_agent_big_seq(const char *id, size_t n, const char *word)
{
	size_t cap = 128 + strlen(id) + n * (strlen(word) + 3);
	char *line = xmalloc(cap), *w = line;

	w += sprintf(w, "{\"id\":\"%s\",\"op\":\"exec\",\"cwd\":\"/\",\"command\":[\"seq\"", id);
	for (size_t i = 0; i < n; i++)
		w += sprintf(w, ",%s", word);
	strcpy(w, "]}");
	return line;
}

/* Until the server has read every byte sent on FD (SIOCOUTQ is 0): 0, or -1 at the deadline. */
static int test_agent_all_read(int fd)
{
	for (int i = 0; i < TEST_AGENT_TIMEOUT_MS / 5; i++) {
		int queued = -1;

		if (ioctl(fd, SIOCOUTQ, &queued) != 0)
			return -1;
		if (queued == 0)
			return 0;
		usleep(5000);
	}
	return -1;
}

/* Expects the `seq` answer N to request ID on FD: its output, then its exit. */
static int test_agent_expect_seq(int fd, const char *id, int n)
{
	char *digits = xasprintf("%d", n), *b64 = protocol_base64_encode(digits, strlen(digits));
	char *out = xasprintf("{\"id\":\"%s\",\"event\":\"output\",\"stream\":\"stdout\","
	                      "\"data\":\"%s\"}",
	                      id, b64);
	char *exit =
	    xasprintf("{\"id\":\"%s\",\"event\":\"exit\",\"code\":0,\"sandboxed\":false}", id);
	int rc = test_agent_expect(fd, out) == 0 && test_agent_expect(fd, exit) == 0 ? 0 : -1;

	free(digits);
	free(b64);
	free(out);
	free(exit);
	return rc;
}

/*
 * A big line (100k words: megabytes of JSON to parse) is parsed off the
 * loop (issue 11): a small request from another client that arrives in the
 * same loop turn as the big line's end is answered first, while each
 * connection's own requests keep their order, a half-closed client still
 * gets its answer, and a client gone mid-parse harms nobody. Not timed: the
 * server is stopped (SIGSTOP) while both lines go in, so they are read in
 * one turn; a server that parses in that turn answers the big one first.
 */
TEST(agent_server_parses_big_lines_off_the_loop)
{
	char *path = xasprintf("%s/b/1.sock", test_tmpdir());
	char *big = test_agent_big_seq("a", 100000, "\"w0\""), *line;
	pid_t pid = test_agent_start(path);
	int a, b, c;

	ASSERT(pid > 0);
	a = test_agent_connect(path);
	b = test_agent_connect(path);
	ASSERT(a >= 0 && b >= 0);
	/* All the big line but its end, read by the server; then its end and B's line at once. */
	ASSERT_EQ(test_agent_puts(a, big), 0);
	ASSERT_EQ(test_agent_all_read(a), 0);
	ASSERT_EQ(kill(pid, SIGSTOP), 0);
	ASSERT_EQ(test_agent_puts(a, "\n"), 0);
	ASSERT_EQ(test_agent_puts(b, "{\"id\":\"b\",\"op\":\"exec\",\"command\":[\"seq\"],"
	                             "\"cwd\":\"/\"}\n"),
	          0);
	ASSERT_EQ(kill(pid, SIGCONT), 0);
	ASSERT_EQ(test_agent_expect_seq(b, "b", 1), 0);
	ASSERT_EQ(test_agent_expect_seq(a, "a", 2), 0);

	/* One connection: a big line, then a small one sent with it, answered in that order. */
	big[7] = 'c';
	ASSERT_EQ(test_agent_puts(a, big), 0);
	ASSERT_EQ(test_agent_puts(a, "\n{\"id\":\"d\",\"op\":\"exec\",\"command\":[\"seq\"],"
	                             "\"cwd\":\"/\"}\n"),
	          0);
	ASSERT_EQ(test_agent_expect_seq(a, "c", 3), 0);
	ASSERT_EQ(test_agent_expect_seq(a, "d", 4), 0);
	/* A big line that is wrong gets its error in its turn. */
	line = test_agent_big_seq("x", 100000, "1");
	ASSERT_EQ(test_agent_puts(a, line), 0);
	free(line);
	ASSERT_EQ(test_agent_puts(a, "\n{\"id\":\"e\",\"op\":\"exec\",\"command\":[\"seq\"],"
	                             "\"cwd\":\"/\"}\n"),
	          0);
	ASSERT_EQ(test_agent_expect(a, "{\"id\":\"x\",\"event\":\"error\",\"message\":\"field "
	                               "\\\"command\\\" must be a non-empty array of "
	                               "strings\"}"),
	          0);
	ASSERT_EQ(test_agent_expect_seq(a, "e", 5), 0);

	/* A half-close right after a big last line (no "\n"): answered, then the end. */
	c = test_agent_connect(path);
	ASSERT(c >= 0);
	big[7] = 'f';
	ASSERT_EQ(test_agent_puts(c, big), 0);
	ASSERT_EQ(shutdown(c, SHUT_WR), 0);
	ASSERT_EQ(test_agent_expect_seq(c, "f", 6), 0);
	line = test_agent_line(c);
	ASSERT(line == NULL);
	close(c);
	/* A client gone while its big line is parsed: the others carry on. */
	c = test_agent_connect(path);
	ASSERT(c >= 0);
	big[7] = 'g';
	ASSERT_EQ(test_agent_puts(c, big), 0);
	ASSERT_EQ(test_agent_puts(c, "\n"), 0);
	close(c);
	ASSERT_EQ(test_agent_puts(b, "{\"id\":\"h\",\"op\":\"exec\",\"command\":[\"count\"],"
	                             "\"cwd\":\"/\"}\n"),
	          0);
	line = test_agent_line(b);
	ASSERT(line != NULL);
	ASSERT_CONTAINS(line, "\"id\":\"h\",\"event\":\"output\"");
	free(line);
	close(a);
	close(b);
	test_agent_stop(pid);
	free(big);
	free(path);
	return 0;
}

TEST(agent_server_twenty_clients_at_once)
{
	char *path = xasprintf("%s/t/1.sock", test_tmpdir());
	pid_t pid = test_agent_start(path);
	int fds[20];

	ASSERT(pid > 0);
	for (int i = 0; i < 20; i++) {
		fds[i] = test_agent_connect(path);
		ASSERT(fds[i] >= 0);
	}
	/* Every client sends before any reads, half of them in two pieces. */
	for (int i = 0; i < 20; i++) {
		char *req = xasprintf("{\"id\":\"r%d\",\"op\":\"exec\",\"command\":[\"echo\","
		                      "\"client\",\"%d\"],\"cwd\":\"/\"}\n",
		                      i, i);
		size_t half = i % 2 ? strlen(req) / 2 : strlen(req);

		ASSERT_EQ(test_agent_send(fds[i], req, half), 0);
		if (half < strlen(req))
			ASSERT_EQ(test_agent_puts(fds[i], req + half), 0);
		free(req);
	}
	for (int i = 19; i >= 0; i--) {
		char *text = xasprintf("client %d", i);
		char *b64 = protocol_base64_encode(text, strlen(text));
		char *want = xasprintf("{\"id\":\"r%d\",\"event\":\"output\",\"stream\":\"stdout\","
		                       "\"data\":\"%s\"}",
		                       i, b64);
		char *q = xasprintf("{\"id\":\"r%d\",\"event\":\"queued\"}", i);

		ASSERT_EQ(test_agent_expect(fds[i], q), 0);
		char *d = test_agent_line(fds[i]);
		ASSERT_CONTAINS(d, "\"approved\"");
		free(d);
		ASSERT_EQ(test_agent_expect(fds[i], want), 0);
		char *e = test_agent_line(fds[i]);
		ASSERT_CONTAINS(e, "\"event\":\"exit\"");
		free(e);
		close(fds[i]);
		free(text);
		free(b64);
		free(want);
		free(q);
	}
	test_agent_stop(pid);
	free(path);
	return 0;
}

TEST(agent_server_refuses_other_users)
{
	long uid = test_unprivileged_uid();
	char *base = xasprintf("%s/u", test_tmpdir()), *path = xasprintf("%s/1.sock", base);
	pid_t pid, child;
	int status;

	if (uid < 0)
		SKIP("%s", test_unprivileged_skip_reason());
	pid = test_agent_start(path);
	ASSERT(pid > 0);
	/* Open the file modes wide: SO_PEERCRED must still refuse the stranger. */
	ASSERT_EQ(chmod(base, 0755), 0);
	ASSERT_EQ(chmod(path, 0666), 0);
	fflush(NULL);
	child = fork();
	if (child == 0) {
		if (test_become_unprivileged((uid_t)uid) != 0)
			_exit(3);
		int fd = test_agent_connect(path);
		if (fd < 0)
			_exit(4);
		test_agent_puts(fd, "{\"id\":\"x\",\"op\":\"exec\",\"command\":[\"echo\"],"
		                    "\"cwd\":\"/\"}\n");
		char *line = test_agent_line(fd);
		/* Closed without a word. */
		_exit(line == NULL ? 0 : 5);
	}
	ASSERT_EQ(waitpid(child, &status, 0), child);
	ASSERT(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 0);
	/* We (same uid) are still served. */
	int fd = test_agent_connect(path);
	ASSERT(fd >= 0);
	ASSERT_EQ(test_agent_puts(fd, "{\"id\":\"y\",\"op\":\"exec\",\"command\":[\"echo\"],"
	                              "\"cwd\":\"/\"}\n"),
	          0);
	ASSERT_EQ(test_agent_expect(fd, "{\"id\":\"y\",\"event\":\"queued\"}"), 0);
	close(fd);
	test_agent_stop(pid);
	free(base);
	free(path);
	return 0;
}

TEST(agent_server_paths_and_stale_sockets)
{
	char *dir = xasprintf("%s/s", test_tmpdir()), *path = xasprintf("%s/1.sock", dir);
	char *cause = NULL, *p;
	struct agent_server *s;
	uv_loop_t loop;
	pid_t pid;
	int fd;

	setenv("XDG_RUNTIME_DIR", "/run/user/7", 1);
	p = agent_server_default_path();
	char *want = xasprintf("/run/user/7/airlock/%ld.sock", (long)getpid());
	ASSERT_STR_EQ(p, want);
	free(p);
	free(want);
	unsetenv("XDG_RUNTIME_DIR");
	p = agent_server_default_path();
	want = xasprintf("/tmp/airlock-%ld/%ld.sock", (long)getuid(), (long)getpid());
	ASSERT_STR_EQ(p, want);
	free(p);
	free(want);

	/* A stale socket (nobody listening) is replaced. */
	ASSERT_EQ(mkdir(dir, 0700), 0);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, path);
	ASSERT_EQ(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	close(fd);
	/* And another airlock's, killed with SIGKILL: swept when a TUI starts there. */
	char *other = xasprintf("%s/2.sock", dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sa.sun_path, other);
	ASSERT_EQ(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	close(fd);
	strcpy(sa.sun_path, path);
	pid = test_agent_start(path);
	ASSERT(pid > 0);
	fd = -1;
	for (int i = 0; i < 100 && fd < 0; i++) {
		fd = test_agent_connect(path);
		if (fd < 0)
			usleep(10000);
	}
	ASSERT(fd >= 0);
	close(fd);
	struct stat ost;
	ASSERT_EQ(lstat(other, &ost), -1);
	free(other);
	/* A live one is not taken over. */
	uv_loop_init(&loop);
	ASSERT_EQ(agent_server_start(&loop, path, &test_agent_ops, NULL, &s, &cause), -EADDRINUSE);
	want = xasprintf("%s: another airlock is listening there", path);
	ASSERT_STR_EQ(cause, want);
	free(want);
	free(cause);
	test_agent_stop(pid);
	/* A directory of someone else's, or a regular file in the way, are refused. */
	p = xasprintf("%s/file", test_tmpdir());
	ASSERT_EQ(test_write_file(p, "x"), 0);
	char *in_file = xasprintf("%s/1.sock", p);
	ASSERT(agent_server_start(&loop, in_file, &test_agent_ops, NULL, &s, &cause) < 0);
	free(cause);
	free(in_file);
	ASSERT_EQ(unlink(path), 0);
	ASSERT_EQ(test_write_file(path, "not a socket"), 0);
	ASSERT_EQ(agent_server_start(&loop, path, &test_agent_ops, NULL, &s, &cause), -EEXIST);
	want = xasprintf("%s: exists and is not a socket", path);
	ASSERT_STR_EQ(cause, want);
	free(want);
	free(cause);
	ASSERT_EQ(unlink(path), 0);
	/* A directory that is not 0700 is refused, not repaired (it may hold a planted socket). */
	ASSERT_EQ(chmod(dir, 0755), 0);
	ASSERT_EQ(agent_server_start(&loop, path, &test_agent_ops, NULL, &s, &cause), -EPERM);
	ASSERT_CONTAINS(cause, "mode 0755, not 0700; refusing to listen there");
	free(cause);
	/* Start and stop in-process: the socket file goes, the loop ends. */
	ASSERT_EQ(chmod(dir, 0700), 0);
	ASSERT_EQ(agent_server_start(&loop, path, &test_agent_ops, NULL, &s, &cause), 0);
	struct stat st;
	ASSERT_EQ(stat(dir, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0700);
	ASSERT_STR_EQ(agent_server_path(s), path);
	ASSERT_EQ(agent_server_clients(s), 0);
	agent_server_stop(s);
	ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
	ASSERT_EQ(uv_loop_close(&loop), 0);
	ASSERT_EQ(access(path, F_OK), -1);
	free(p);
	free(dir);
	free(path);
	return 0;
}

TEST(agent_server_with_submit_end_to_end)
{
	char *path = xasprintf("%s/e/1.sock", test_tmpdir());
	char *out = xasprintf("%s/out", test_tmpdir());
	char *argv[] = {"submit", "--socket", path, "--", "echo", "from", "submit", NULL};
	pid_t pid = test_agent_start(path), client;
	int status;

	ASSERT(pid > 0);
	fflush(NULL);
	client = fork();
	if (client == 0) {
		FILE *f = freopen(out, "w", stdout);

		if (f == NULL)
			_exit(99);
		_exit(cmd_submit(7, argv));
	}
	ASSERT_EQ(waitpid(client, &status, 0), client);
	ASSERT(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 0);
	char *text = test_read_file(out, NULL);
	ASSERT_STR_EQ(text, "from submit");
	free(text);
	test_agent_stop(pid);
	free(path);
	free(out);
	return 0;
}

/* Sends the string S with descriptors FDS (N of them) as SCM_RIGHTS, all in one sendmsg. */
static int test_agent_send_fds(int fd, const char *s, const int *fds, size_t n)
{
	char cbuf[CMSG_SPACE(8 * sizeof(int))] = {0};
	struct iovec iov = {.iov_base = (void *)s, .iov_len = strlen(s)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};

	if (n > 0) {
		struct cmsghdr *cm;

		msg.msg_control = cbuf;
		msg.msg_controllen = CMSG_SPACE(n * sizeof(int));
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(n * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
	}
	return sendmsg(fd, &msg, MSG_NOSIGNAL) == (ssize_t)strlen(s) ? 0 : -1;
}

/* What the read end R has within half a second: its text, "EOF", or "" (nothing, still open). */
static char *test_agent_pipe_text(int r)
{
	struct pollfd p = {.fd = r, .events = POLLIN};
	char buf[256];
	ssize_t n;

	if (poll(&p, 1, 500) != 1)
		return xstrdup("");
	n = read(r, buf, sizeof buf - 1);
	if (n <= 0)
		return xstrdup("EOF");
	buf[n] = '\0';
	return xstrdup(buf);
}

/* Checks that the read end R has WANT (test_agent_pipe_text). */
static int test_agent_pipe_is(int r, const char *want)
{
	char *got = test_agent_pipe_text(r);

	ASSERT_STR_EQ(got, want);
	free(got);
	return 0;
}

/*
 * Descriptors go with the line they came with (its first byte), never to a
 * later one: those a line did not claim (sent with a cancel, more than it
 * named, sent with no line) are closed once a later line comes, and a line
 * that names a descriptor it did not send gets an error, not one of them.
 * A line sent right after another (read together with it) still gets its own.
 */
TEST(agent_server_descriptors_go_with_their_own_line)
{
	char *path = xasprintf("%s/f/1.sock", test_tmpdir());
	pid_t pid = test_agent_start(path);
	int fd, a[2], b[2], c[2], d[2], e[2];

	ASSERT(pid > 0);
	fd = test_agent_connect(path);
	ASSERT(fd >= 0);
	ASSERT_EQ(pipe2(a, O_CLOEXEC), 0);
	ASSERT_EQ(pipe2(b, O_CLOEXEC), 0);
	ASSERT_EQ(pipe2(c, O_CLOEXEC), 0);
	ASSERT_EQ(pipe2(d, O_CLOEXEC), 0);
	ASSERT_EQ(pipe2(e, O_CLOEXEC), 0);

	/* A cancel's descriptor is not the next exec's. */
	ASSERT_EQ(test_agent_send_fds(fd, "{\"id\":\"c\",\"op\":\"cancel\",\"target\":\"zz\"}\n",
	                              &a[1], 1),
	          0);
	ASSERT_EQ(test_agent_expect(fd, "{\"id\":\"c\",\"event\":\"error\",\"message\":\"no such "
	                                "request\"}"),
	          0);
	ASSERT_EQ(test_agent_send_fds(fd,
	                              "{\"id\":\"x\",\"op\":\"exec\",\"command\":[\"fds\"],"
	                              "\"cwd\":\"/\",\"stdio_fds\":[\"stdout\"]}\n",
	                              &b[1], 1),
	          0);
	ASSERT_EQ(test_agent_expect(fd, "{\"id\":\"x\",\"event\":\"exit\",\"code\":0,"
	                                "\"sandboxed\":false}"),
	          0);
	close(a[1]), close(b[1]);
	ASSERT_EQ(test_agent_pipe_is(b[0], "x\n"), 0);
	ASSERT_EQ(test_agent_pipe_is(a[0], "EOF"), 0);

	/* Two sent, one named: the other is not the next line's. */
	int cd[2] = {c[1], d[1]};
	ASSERT_EQ(test_agent_send_fds(fd,
	                              "{\"id\":\"y\",\"op\":\"exec\",\"command\":[\"fds\"],"
	                              "\"cwd\":\"/\",\"stdio_fds\":[\"stdout\"]}\n",
	                              cd, 2),
	          0);
	ASSERT_EQ(test_agent_expect(fd, "{\"id\":\"y\",\"event\":\"exit\",\"code\":0,"
	                                "\"sandboxed\":false}"),
	          0);
	ASSERT_EQ(test_agent_puts(fd, "{\"id\":\"z\",\"op\":\"exec\",\"command\":[\"fds\"],"
	                              "\"cwd\":\"/\",\"stdio_fds\":[\"stdout\"]}\n"),
	          0);
	ASSERT_EQ(test_agent_expect(fd, "{\"id\":\"z\",\"event\":\"error\",\"message\":\"stdio_fds "
	                                "names 1 descriptors, 0 came with the request\"}"),
	          0);
	close(c[1]), close(d[1]);
	ASSERT_EQ(test_agent_pipe_is(c[0], "y\n"), 0);
	ASSERT_EQ(test_agent_pipe_is(d[0], "EOF"), 0);

	/* A line right behind another, both read at once: its descriptor is still its own. */
	ASSERT_EQ(test_agent_puts(fd, "{\"id\":\"s\",\"op\":\"exec\",\"command\":[\"seq\"],"
	                              "\"cwd\":\"/\"}\n"),
	          0);
	ASSERT_EQ(test_agent_send_fds(fd,
	                              "{\"id\":\"v\",\"op\":\"exec\",\"command\":[\"fds\"],"
	                              "\"cwd\":\"/\",\"stdio_fds\":[\"stdout\"]}\n",
	                              &e[1], 1),
	          0);
	ASSERT_EQ(test_agent_expect(fd, "{\"id\":\"s\",\"event\":\"output\",\"stream\":\"stdout\","
	                                "\"data\":\"MQ==\"}"),
	          0);
	ASSERT_EQ(test_agent_expect(fd, "{\"id\":\"s\",\"event\":\"exit\",\"code\":0,"
	                                "\"sandboxed\":false}"),
	          0);
	ASSERT_EQ(test_agent_expect(fd, "{\"id\":\"v\",\"event\":\"exit\",\"code\":0,"
	                                "\"sandboxed\":false}"),
	          0);
	close(e[1]);
	ASSERT_EQ(test_agent_pipe_is(e[0], "v\n"), 0);

	/* Four sent with a blank line (no request) take no room from the next line's. */
	close(a[0]), close(b[0]);
	ASSERT_EQ(pipe2(a, O_CLOEXEC), 0);
	ASSERT_EQ(pipe2(b, O_CLOEXEC), 0);
	int four[4] = {a[1], a[1], a[1], a[1]};
	ASSERT_EQ(test_agent_send_fds(fd, "\n", four, 4), 0);
	ASSERT_EQ(test_agent_send_fds(fd,
	                              "{\"id\":\"w\",\"op\":\"exec\",\"command\":[\"fds\"],"
	                              "\"cwd\":\"/\",\"stdio_fds\":[\"stdout\"]}\n",
	                              &b[1], 1),
	          0);
	ASSERT_EQ(test_agent_expect(fd, "{\"id\":\"w\",\"event\":\"exit\",\"code\":0,"
	                                "\"sandboxed\":false}"),
	          0);
	close(a[1]), close(b[1]);
	ASSERT_EQ(test_agent_pipe_is(b[0], "w\n"), 0);
	ASSERT_EQ(test_agent_pipe_is(a[0], "EOF"), 0);
	close(a[0]), close(b[0]);

	close(fd);
	close(c[0]), close(d[0]), close(e[0]);
	test_agent_stop(pid);
	free(path);
	return 0;
}

TEST(agent_server_socket_directory_checks)
{
	char *dir = xasprintf("%s/d", test_tmpdir()), *path = xasprintf("%s/1.sock", dir);
	char *real = xasprintf("%s/real", test_tmpdir());
	long other = test_unprivileged_uid();
	char *cause = NULL;
	struct agent_server *s;
	struct stat st;
	uv_loop_t loop;

	uv_loop_init(&loop);
	/* Made here: 0700 whatever the umask; the socket 0600. */
	mode_t old = umask(0277);
	ASSERT_EQ(agent_server_start(&loop, path, &test_agent_ops, NULL, &s, &cause), 0);
	umask(old);
	ASSERT_EQ(lstat(dir, &st), 0);
	ASSERT_EQ(st.st_mode & 07777, 0700);
	ASSERT_EQ(lstat(path, &st), 0);
	ASSERT_EQ(st.st_mode & 07777, 0600);
	agent_server_stop(s);
	ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
	ASSERT_EQ(rmdir(dir), 0);

	/* A symbolic link to a private directory is no socket directory. */
	ASSERT_EQ(mkdir(real, 0700), 0);
	ASSERT_EQ(symlink(real, dir), 0);
	ASSERT_EQ(agent_server_start(&loop, path, &test_agent_ops, NULL, &s, &cause), -ENOTDIR);
	ASSERT_CONTAINS(cause, "not a directory (a symbolic link)");
	free(cause);
	ASSERT_EQ(unlink(dir), 0);

	/* An empty 0555 directory (a sandbox's cover) is taken over; one with anything in it, not.
	 */
	ASSERT_EQ(mkdir(dir, 0555), 0);
	ASSERT_EQ(agent_server_start(&loop, path, &test_agent_ops, NULL, &s, &cause), 0);
	ASSERT_EQ(lstat(dir, &st), 0);
	ASSERT_EQ(st.st_mode & 07777, 0700);
	agent_server_stop(s);
	ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
	char *planted = xasprintf("%s/9.sock", dir);
	ASSERT_EQ(test_write_file(planted, ""), 0);
	ASSERT_EQ(chmod(dir, 0555), 0);
	ASSERT_EQ(agent_server_start(&loop, path, &test_agent_ops, NULL, &s, &cause), -EPERM);
	ASSERT_CONTAINS(cause, "mode 0555, not 0700");
	free(cause);
	ASSERT_EQ(chmod(dir, 0700), 0);
	ASSERT_EQ(unlink(planted), 0);
	free(planted);

	/* Another user's directory, mode 0700 or not. */
	if (other >= 0 && geteuid() == 0) {
		ASSERT_EQ(chown(dir, (uid_t)other, (gid_t)-1), 0);
		ASSERT_EQ(agent_server_start(&loop, path, &test_agent_ops, NULL, &s, &cause),
		          -EPERM);
		char *want = xasprintf("owned by uid %ld, not by this user", other);
		ASSERT_CONTAINS(cause, want);
		free(want);
		free(cause);
	}
	ASSERT_EQ(uv_loop_close(&loop), 0);

	/* Every socket directory there may be, resolved, each once. */
	char *run = xasprintf("/run/user/%ld/airlock", (long)getuid());
	char *tmp = xasprintf("/tmp/airlock-%ld", (long)getuid());
	char *link = xasprintf("%s/xdg", test_tmpdir()), *want = xasprintf("%s/airlock", real);
	ASSERT_EQ(symlink(real, link), 0);
	setenv("XDG_RUNTIME_DIR", link, 1);
	char **dirs = agent_server_socket_dirs();
	ASSERT_STR_EQ(dirs[0], want);
	ASSERT_STR_EQ(dirs[1], run);
	ASSERT_STR_EQ(dirs[2], tmp);
	ASSERT(dirs[3] == NULL);
	agent_server_socket_dirs_free(dirs);
	setenv("XDG_RUNTIME_DIR", "/nonexistent/run/", 1);
	dirs = agent_server_socket_dirs();
	ASSERT_STR_EQ(dirs[0], "/nonexistent/run/airlock");
	agent_server_socket_dirs_free(dirs);
	unsetenv("XDG_RUNTIME_DIR");
	dirs = agent_server_socket_dirs();
	ASSERT_STR_EQ(dirs[0], run);
	ASSERT_STR_EQ(dirs[1], tmp);
	ASSERT(dirs[2] == NULL);
	agent_server_socket_dirs_free(dirs);
	free(run);
	free(tmp);
	free(link);
	free(want);
	free(real);
	free(dir);
	free(path);
	return 0;
}
