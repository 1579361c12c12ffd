/*
 * The one test runner. Tests come from tests/list.h (an X-macro list); each
 * runs in a forked child, in a fresh temporary directory that is removed
 * afterwards, with a per-test timeout. Output is TAP-like, one line per test,
 * with the failing test's stderr indented below it, and the run ends with the
 * line `N passed, N failed, N skipped`. Arguments filter tests by substring.
 * Under ASan, a test that leaks memory fails.
 */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define UNIT(name, timeout) int test_##name(void);
#define SCRIPT(name, path, timeout)
#include "list.h"
#undef UNIT
#undef SCRIPT

struct test_entry {
	const char *name;
	int (*fn)(void);
	const char *script;
	int timeout_s;
};

static const struct test_entry test_entries[] = {
#define UNIT(n, t)      {.name = #n, .fn = test_##n, .timeout_s = (t)},
#define SCRIPT(n, p, t) {.name = #n, .script = (p), .timeout_s = (t)},
#include "list.h"
#undef UNIT
#undef SCRIPT
};

extern char *test__tmpdir;

/*
 * LeakSanitizer's check, present when the runner is built with ASan. A test
 * ends with _exit, where LeakSanitizer would not look, so the runner asks
 * for the check itself once the test function has returned.
 */
extern int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

static int runner__rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) != 0 && errno != ENOENT)
		fprintf(stderr, "runner: cannot remove %s: %s\n", path, strerror(errno));
	return 0;
}

static int runner__chmod(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_D || flag == FTW_DNR)
		chmod(path, (st->st_mode & 07777) | 0700);
	return 0;
}

static void runner__remove_tree(const char *dir)
{
	/* Tests make read-only directories on purpose: open them up first. */
	nftw(dir, runner__chmod, 16, FTW_PHYS);
	nftw(dir, runner__rm, 16, FTW_DEPTH | FTW_PHYS);
}

static bool runner__selected(const char *name, int argc, char **argv)
{
	if (argc <= 1)
		return true;
	for (int i = 1; i < argc; i++)
		if (strstr(name, argv[i]) != NULL)
			return true;
	return false;
}

static void runner__print_indented(int fd)
{
	char buf[4096];
	ssize_t n;
	bool bol = true;

	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (bol)
				fputs("    ", stdout);
			putchar(buf[i]);
			bol = buf[i] == '\n';
		}
	}
	if (!bol)
		putchar('\n');
}

/* Runs one entry; returns 0 pass, 1 fail, 2 skip. */
static int runner__run(const struct test_entry *t, int index)
{
	char tmpl[] = "/tmp/airlock-test-XXXXXX";
	char logpath[] = "/tmp/airlock-test-log-XXXXXX";
	struct timespec t0, t1;
	int logfd, status = 0;
	bool timed_out = false;
	pid_t pid;

	if (mkdtemp(tmpl) == NULL || chmod(tmpl, 0755) != 0) {
		printf("not ok %d - %s (cannot make a temporary directory: %s)\n", index, t->name,
		       strerror(errno));
		return 1;
	}
	logfd = mkstemp(logpath);
	if (logfd < 0) {
		printf("not ok %d - %s (cannot make a log file: %s)\n", index, t->name,
		       strerror(errno));
		return 1;
	}
	unlink(logpath);
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		printf("not ok %d - %s (fork: %s)\n", index, t->name, strerror(errno));
		return 1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		dup2(logfd, STDERR_FILENO);
		dup2(logfd, STDOUT_FILENO);
		test__tmpdir = tmpl;
		setenv("AIRLOCK_TEST_TMP", tmpl, 1);
		if (chdir(tmpl) != 0)
			_exit(1);
		if (t->script != NULL) {
			char *path = test_srcpath(t->script);
			/* A script that also runs as the unprivileged test user is told who that is. */
			long uid = test_unprivileged_uid();
			if (uid >= 0) {
				char num[24];
				snprintf(num, sizeof num, "%ld", uid);
				setenv("AIRLOCK_TEST_UID", num, 1);
			} else {
				setenv("AIRLOCK_TEST_UID_SKIP", test_unprivileged_skip_reason(), 1);
			}
			execlp("bash", "bash", path, (char *)NULL);
			fprintf(stderr, "exec bash %s: %s\n", path, strerror(errno));
			_exit(1);
		}
		int rc = t->fn();
		fflush(NULL);
		if (rc == 0 && __lsan_do_recoverable_leak_check != NULL &&
		    __lsan_do_recoverable_leak_check() != 0) {
			fprintf(stderr, "the test leaked memory (LeakSanitizer's report above)\n");
			rc = 1;
		}
		_exit(rc);
	}
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (t1.tv_sec - t0.tv_sec >= t->timeout_s) {
			timed_out = true;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		usleep(2000);
	}
	/* Whatever the test left running in its process group goes too. */
	kill(-pid, SIGKILL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	runner__remove_tree(tmpl);

	int result;
	if (timed_out) {
		printf("not ok %d - %s (timed out after %d s)\n", index, t->name, t->timeout_s);
		result = 1;
	} else if (WIFSIGNALED(status)) {
		printf("not ok %d - %s (killed by signal %d)\n", index, t->name, WTERMSIG(status));
		result = 1;
	} else if (WEXITSTATUS(status) == TEST_SKIP_CODE) {
		printf("ok %d - %s # SKIP\n", index, t->name);
		result = 2;
	} else if (WEXITSTATUS(status) != 0) {
		printf("not ok %d - %s (exit %d, %.2fs)\n", index, t->name, WEXITSTATUS(status),
		       secs);
		result = 1;
	} else {
		printf("ok %d - %s (%.2fs)\n", index, t->name, secs);
		result = 0;
	}
	if (result != 0 || getenv("TEST_VERBOSE") != NULL)
		runner__print_indented(logfd);
	close(logfd);
	fflush(stdout);
	return result;
}

/*
 * The covers journal directory the sandbox helper makes for the unprivileged
 * test uid when that uid has no XDG_RUNTIME_DIR (/tmp/airlock-journal-UID),
 * or NULL; caller frees. A helper the tests kill leaves its journal there.
 */
static char *runner__test_user_journal(void)
{
	long uid = test_unprivileged_uid();

	if (uid < 0)
		return NULL;
	size_t len = (size_t)snprintf(NULL, 0, "/tmp/airlock-journal-%ld", uid) + 1;
	char *path = malloc(len);
	if (path != NULL)
		snprintf(path, len, "/tmp/airlock-journal-%ld", uid);
	return path;
}

int main(int argc, char **argv)
{
	size_t n = sizeof test_entries / sizeof test_entries[0];
	int passed = 0, failed = 0, skipped = 0, index = 0;
	struct stat st;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	/* What the run makes in /tmp as the test user goes when it ends (SPEC 10). */
	char *journal = runner__test_user_journal();
	bool journal_was_there = journal == NULL || lstat(journal, &st) == 0;
	for (size_t i = 0; i < n; i++) {
		if (!runner__selected(test_entries[i].name, argc, argv))
			continue;
		switch (runner__run(&test_entries[i], ++index)) {
		case 0:
			passed++;
			break;
		case 2:
			skipped++;
			break;
		default:
			failed++;
			break;
		}
	}
	if (!journal_was_there && lstat(journal, &st) == 0 && S_ISDIR(st.st_mode))
		runner__remove_tree(journal);
	free(journal);
	printf("1..%d\n", index);
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed == 0 ? 0 : 1;
}
