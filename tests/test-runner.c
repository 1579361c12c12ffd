/*
 * Checks of the test framework itself: an assertion that should fail does,
 * a child's output is captured, and snapshots compare bytes exactly.
 */
#include "test.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int runner_self__failing(void)
{
	ASSERT_EQ(1 + 1, 3);
	return 0;
}

static int runner_self__failing_str(void)
{
	ASSERT_STR_EQ("abc", "abd");
	return 0;
}

TEST(runner_assertions_report_failure)
{
	ASSERT_EQ(runner_self__failing(), 1);
	ASSERT_EQ(runner_self__failing_str(), 1);
	return 0;
}

TEST(runner_run_captures_output)
{
	struct test_run r;
	char *const argv[] = {"sh", "-c", "cat; echo err >&2; exit 3", NULL};

	ASSERT_EQ(test_run(&r, argv, "hello\n", NULL, NULL, (uid_t)-1, 5), 0);
	ASSERT_EQ(r.status, 3);
	ASSERT_STR_EQ(r.out, "hello\n");
	ASSERT_STR_EQ(r.err, "err\n");
	test_run_free(&r);
	return 0;
}

TEST(runner_snapshot_compares_bytes)
{
	/* The golden file ends in a newline; the same text without it must differ. */
	ASSERT_EQ(test_snapshot("runner-self.txt", "runner self-check\n"), 0);
	ASSERT_EQ(test_snapshot("runner-self.txt", "runner self-check"), 1);
	return 0;
}

extern int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

TEST(runner_leak_check_detects_a_leak)
{
	if (__lsan_do_recoverable_leak_check == NULL)
		SKIP("not built with ASan (configure --enable-asan): no leak check to test");
	/* In a child, an allocation nothing points to any more must be reported. */
	pid_t pid = fork();
	ASSERT(pid >= 0);
	if (pid == 0) {
		freopen("/dev/null", "w", stderr);
		volatile char *p = malloc(4096);
		p[0] = 1;
		p = NULL;
		_exit(__lsan_do_recoverable_leak_check() != 0 ? 0 : 1);
	}
	int status;
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 0);
	return 0;
}
