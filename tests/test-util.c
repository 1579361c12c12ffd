/*
 * Helpers shared by the tests: paths into the source and build trees, running
 * a child with captured output and a deadline, whole-file reads and writes,
 * snapshot comparison, and an unprivileged uid for the sandbox tests.
 * TEST_SRCDIR and TEST_BUILDDIR come from the Makefile.
 */
#include "test.h"

#include "../core/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef TEST_SRCDIR
#define TEST_SRCDIR "."
#endif
#ifndef TEST_BUILDDIR
#define TEST_BUILDDIR "."
#endif

char *test__tmpdir;

int test_skip(const char *fmt, ...)
{
	va_list ap;

	fputs("SKIP: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return TEST_SKIP_CODE;
}

const char *test_tmpdir(void)
{
	return test__tmpdir != NULL ? test__tmpdir : "/tmp";
}

static char *test__abs(const char *dir)
{
	char *real = realpath(dir, NULL);

	return real != NULL ? real : xstrdup(dir);
}

char *test_srcpath(const char *rel)
{
	char *dir = test__abs(TEST_SRCDIR);
	char *p = xasprintf("%s/%s", dir, rel);

	free(dir);
	return p;
}

char *test_buildpath(const char *rel)
{
	char *dir = test__abs(TEST_BUILDDIR);
	char *p = xasprintf("%s/%s", dir, rel);

	free(dir);
	return p;
}

char *test_datapath(const char *rel)
{
	char *dir = test__abs(TEST_SRCDIR);
	char *p = xasprintf("%s/tests/data/%s", dir, rel);

	free(dir);
	return p;
}

static void test__append(char **buf, size_t *len, const char *data, size_t n)
{
	*buf = xrealloc(*buf, *len + n + 1);
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = '\0';
}

int test_run(struct test_run *r, char *const argv[], const char *input, const char *cwd,
	     char *const env[], uid_t uid, int timeout_s)
{
	int in[2], out[2], err[2];
	pid_t pid;

	memset(r, 0, sizeof *r);
	r->out = xstrdup("");
	r->err = xstrdup("");
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		if (chdir(cwd != NULL ? cwd : test_tmpdir()) != 0) {
			perror("chdir");
			_exit(127);
		}
		if (uid != (uid_t)-1 && test_become_unprivileged(uid) != 0) {
			perror("dropping to the test user");
			_exit(127);
		}
		/* After the switch: the caller's HOME, if any, wins over the test user's. */
		for (size_t i = 0; env != NULL && env[i] != NULL; i++)
			putenv(env[i]);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	if (input != NULL) {
		size_t len = strlen(input), off = 0;
		while (off < len) {
			ssize_t n = write(in[1], input + off, len - off);
			if (n <= 0)
				break;
			off += (size_t)n;
		}
	}
	close(in[1]);

	struct pollfd fds[2] = {{.fd = out[0], .events = POLLIN}, {.fd = err[0], .events = POLLIN}};
	time_t deadline = time(NULL) + timeout_s;
	int open_fds = 2;
	while (open_fds > 0) {
		int left = (int)(deadline - time(NULL));
		if (left <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		if (poll(fds, 2, left * 1000) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || fds[i].revents == 0)
				continue;
			char buf[65536];
			ssize_t n = read(fds[i].fd, buf, sizeof buf);
			if (n <= 0) {
				close(fds[i].fd);
				fds[i].fd = -1;
				open_fds--;
			} else if (i == 0) {
				test__append(&r->out, &r->outlen, buf, (size_t)n);
			} else {
				test__append(&r->err, &r->errlen, buf, (size_t)n);
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (fds[i].fd >= 0)
			close(fds[i].fd);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return 0;
}

void test_run_free(struct test_run *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

int test_write_file(const char *path, const char *content)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t len = strlen(content), off = 0;

	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t n = write(fd, content + off, len - off);
		if (n < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		off += (size_t)n;
	}
	return close(fd) == 0 ? 0 : -errno;
}

char *test_read_file(const char *path, size_t *lenp)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf = NULL;
	size_t len = 0;

	if (fd < 0)
		return NULL;
	buf = xstrdup("");
	for (;;) {
		char chunk[65536];
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0) {
			free(buf);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		test__append(&buf, &len, chunk, (size_t)n);
	}
	close(fd);
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

int test_snapshot(const char *name, const char *text)
{
	char *rel = xasprintf("snapshots/%s", name);
	char *path = test_srcpath(rel);
	const char *update = getenv("UPDATE_SNAPSHOTS");
	int rc = 0;

	free(rel);
	if (update != NULL && strcmp(update, "1") == 0) {
		if (test_write_file(path, text) != 0) {
			fprintf(stderr, "cannot write snapshot %s: %s\n", path, strerror(errno));
			rc = 1;
		} else {
			fprintf(stderr, "updated snapshot %s\n", path);
		}
		free(path);
		return rc;
	}
	char *want = test_read_file(path, NULL);
	if (want == NULL) {
		fprintf(stderr, "snapshot %s is missing: run with UPDATE_SNAPSHOTS=1 to write it\n",
			path);
		free(path);
		return 1;
	}
	if (strcmp(want, text) != 0) {
		char *got = xasprintf("%s/snapshot-got", test_tmpdir());
		test_write_file(got, text);
		fprintf(stderr, "snapshot %s differs (- expected, + got):\n", name);
		char *const argv[] = {"diff", "-u", path, got, NULL};
		struct test_run r;
		if (test_run(&r, argv, NULL, NULL, NULL, (uid_t)-1, 10) == 0)
			fputs(r.out, stderr);
		test_run_free(&r);
		free(got);
		rc = 1;
	}
	free(want);
	free(path);
	return rc;
}

/*
 * The unprivileged test user is a bare uid: a number in Debian's reserved
 * range (65000-65533, which no package or administrator is given) with no
 * passwd or group entry and gid of the same number. Nothing is added to the
 * host, so there is nothing to remove when the run ends, however it ends, and
 * parallel runs share nothing; everything a passwd entry would give the tests
 * (the gid, HOME, USER) test_become_unprivileged supplies.
 */
static long test__unpriv_uid = -2;     /* -2: not looked for yet */
static char test__unpriv_why[256];

/*
 * True when a forked child can become UID (with gid UID) and, as UID, may
 * run the build tree's airlock-sandbox; *ERR is the errno that stopped it,
 * or 255 when the build tree is out of the user's reach.
 */
static bool test__can_switch_to(uid_t uid, int *err)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		*err = errno;
		return false;
	}
	if (pid == 0) {
		char *helper = test_buildpath("airlock-sandbox");
		if (setgroups(0, NULL) != 0 || setgid((gid_t)uid) != 0 || setuid(uid) != 0)
			_exit(errno != 0 && errno < 256 ? errno : 1);
		/* The tests run the build tree's programs as this user: they must be in reach. */
		if (access(helper, X_OK) != 0)
			_exit(255);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	*err = WIFEXITED(status) ? WEXITSTATUS(status) : EINTR;
	return *err == 0;
}

long test_unprivileged_uid(void)
{
	uid_t uid = 65533;
	int err = 0;

	if (test__unpriv_uid != -2)
		return test__unpriv_uid;
	test__unpriv_uid = -1;
	if (geteuid() != 0) {
		snprintf(test__unpriv_why, sizeof test__unpriv_why,
			 "the runner is not root, so it cannot switch to an unprivileged test user");
		return -1;
	}
	/* Reserved numbers are free on any sane host; skip one that is taken all the same. */
	while (uid >= 65000 && (getpwuid(uid) != NULL || getgrgid((gid_t)uid) != NULL))
		uid--;
	if (uid < 65000) {
		snprintf(test__unpriv_why, sizeof test__unpriv_why,
			 "every uid from 65000 to 65533 has a passwd or group entry here, so "
			 "there is no unused uid for the unprivileged test user");
		return -1;
	}
	if (!test__can_switch_to(uid, &err) && err == 255) {
		char *dir = test_buildpath("");
		snprintf(test__unpriv_why, sizeof test__unpriv_why,
			 "an unprivileged user cannot reach the build tree %s (a directory above it, "
			 "such as /root, is closed to others), so the tests cannot run airlock as one",
			 dir);
		free(dir);
		return -1;
	}
	if (err != 0) {
		snprintf(test__unpriv_why, sizeof test__unpriv_why,
			 "the runner cannot switch to the unprivileged test uid %ld (%s): its "
			 "user namespace does not map it",
			 (long)uid, strerror(err));
		return -1;
	}
	test__unpriv_uid = (long)uid;
	return test__unpriv_uid;
}

const char *test_unprivileged_skip_reason(void)
{
	if (test_unprivileged_uid() >= 0)
		return "the unprivileged test user is available (no reason to skip)";
	return test__unpriv_why;
}

int test_become_unprivileged(uid_t uid)
{
	if (setgroups(0, NULL) != 0 || setgid((gid_t)uid) != 0 || setuid(uid) != 0)
		return -errno;
	/* Like a system user with no home of its own (Debian's nobody). */
	setenv("HOME", "/nonexistent", 1);
	setenv("USER", "airlock-test", 1);
	setenv("LOGNAME", "airlock-test", 1);
	return 0;
}

/*
 * Whether the sandbox can run here at all is asked of the build tree's
 * helper itself, once per test: a read-only sandbox running `true`. Exit 125
 * (it could not set the sandbox up) is the host's doing, say a chroot or a
 * container without user namespaces; its message names the cause and
 * `airlock doctor`.
 */
static int test__sandbox_ok = -1;      /* -1: not asked yet */
static char test__sandbox_why[1024];

bool test_sandbox_usable(void)
{
	char *helper;
	struct test_run r;

	if (test__sandbox_ok >= 0)
		return test__sandbox_ok == 1;
	helper = test_buildpath("airlock-sandbox");
	char *const argv[] = {helper, "--sandbox-policy-cwd", "/", "--sandbox-policy",
			      "{\"type\":\"read-only\"}", "--", "true", NULL};
	if (test_run(&r, argv, NULL, "/", NULL, (uid_t)-1, 30) != 0) {
		test__sandbox_ok = 1; /* could not even start it: let the test say so */
	} else if (r.status == 125) {
		size_t len = strcspn(r.err, "\n");
		test__sandbox_ok = 0;
		snprintf(test__sandbox_why, sizeof test__sandbox_why,
			 "the sandbox cannot run on this host (the helper exits 125: %.*s)", (int)len,
			 r.err);
	} else {
		test__sandbox_ok = 1;
	}
	test_run_free(&r);
	free(helper);
	return test__sandbox_ok == 1;
}

const char *test_sandbox_skip_reason(void)
{
	if (test_sandbox_usable())
		return "the sandbox runs here (no reason to skip)";
	return test__sandbox_why;
}
