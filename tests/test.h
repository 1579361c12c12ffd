/*
 * The test framework. Every test is a function `int test_NAME(void)`
 * registered once in tests/list.h; the runner (tests/runner.c) runs each in a
 * forked child with its own temporary directory and a timeout, so a crash or
 * a hang fails one test, not the run. A test returns 0 to pass, or uses the
 * ASSERT macros, which print both values and the place, then return 1.
 * SKIP() returns 77 with a reason that the runner prints loudly.
 */
#ifndef AIRLOCK_TEST_H
#define AIRLOCK_TEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#define TEST(name) int test_##name(void)

#define TEST_SKIP_CODE 77

#define ASSERT(expr)                                                                               \
	do {                                                                                       \
		if (!(expr)) {                                                                     \
			fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__,      \
				#expr);                                                            \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

#define ASSERT_EQ(a, b)                                                                            \
	do {                                                                                       \
		intmax_t a__ = (intmax_t)(a), b__ = (intmax_t)(b);                                 \
		if (a__ != b__) {                                                                  \
			fprintf(stderr, "%s:%d: %s == %s failed: %jd != %jd\n", __FILE__,         \
				__LINE__, #a, #b, a__, b__);                                       \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

#define ASSERT_NE(a, b)                                                                            \
	do {                                                                                       \
		intmax_t a__ = (intmax_t)(a), b__ = (intmax_t)(b);                                 \
		if (a__ == b__) {                                                                  \
			fprintf(stderr, "%s:%d: %s != %s failed: both %jd\n", __FILE__, __LINE__, \
				#a, #b, a__);                                                      \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

#define ASSERT_STR_EQ(a, b)                                                                        \
	do {                                                                                       \
		const char *a__ = (a), *b__ = (b);                                                 \
		if (a__ == NULL || b__ == NULL || strcmp(a__, b__) != 0) {                         \
			fprintf(stderr, "%s:%d: %s == %s failed:\n  got:      \"%s\"\n  expected: " \
					"\"%s\"\n",                                                \
				__FILE__, __LINE__, #a, #b, a__ ? a__ : "(null)",                  \
				b__ ? b__ : "(null)");                                             \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

/* Passes when the string A contains the string B. */
#define ASSERT_CONTAINS(a, b)                                                                      \
	do {                                                                                       \
		const char *a__ = (a), *b__ = (b);                                                 \
		if (a__ == NULL || strstr(a__, b__) == NULL) {                                     \
			fprintf(stderr, "%s:%d: %s contains %s failed:\n  text:   \"%s\"\n  "        \
					"wanted: \"%s\"\n",                                        \
				__FILE__, __LINE__, #a, #b, a__ ? a__ : "(null)", b__);            \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

#define ASSERT_NOT_CONTAINS(a, b)                                                                  \
	do {                                                                                       \
		const char *a__ = (a), *b__ = (b);                                                 \
		if (a__ != NULL && strstr(a__, b__) != NULL) {                                     \
			fprintf(stderr, "%s:%d: %s does not contain %s failed:\n  text: \"%s\"\n", \
				__FILE__, __LINE__, #a, #b, a__);                                  \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

#define SKIP(...) return test_skip(__VA_ARGS__)

/* Prints the reason a test cannot run on this host; returns TEST_SKIP_CODE. */
int test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The test's own empty directory, removed by the runner afterwards. */
const char *test_tmpdir(void);
/* A path inside the source tree (snapshots, test data); caller frees. */
char *test_srcpath(const char *rel);
/* A path inside the build tree (airlock, airlock-sandbox); caller frees. */
char *test_buildpath(const char *rel);
/* A path inside tests/data of the source tree (fixtures, corpora); caller frees. */
char *test_datapath(const char *rel);

/* What a child process did: its exit status and everything it printed. */
struct test_run {
	int status;   /* exit code, or 128+signal */
	char *out;    /* stdout, NUL-terminated, owned */
	size_t outlen;
	char *err;    /* stderr, NUL-terminated, owned */
	size_t errlen;
};

/*
 * Runs ARGV (argv[0] searched in PATH) with INPUT on its stdin (NULL: /dev/null),
 * in directory CWD (NULL: the test's directory), with extra environment ENV
 * ("NAME=value" strings, NULL-terminated, may be NULL), under UID if uid != (uid_t)-1.
 * Kills it after TIMEOUT_S seconds. Returns 0, or -errno if it could not start.
 */
int test_run(struct test_run *r, char *const argv[], const char *input, const char *cwd,
	     char *const env[], uid_t uid, int timeout_s);
void test_run_free(struct test_run *r);

/* Writes a whole file (mode 0644); returns 0 or -errno. */
int test_write_file(const char *path, const char *content);
/* Reads a whole file into a NUL-terminated string, or NULL; caller frees. */
char *test_read_file(const char *path, size_t *len);

/*
 * Compares TEXT with snapshots/NAME byte for byte; with UPDATE_SNAPSHOTS=1
 * in the environment writes it instead. Prints a unified diff on mismatch.
 * Returns 0 when equal (or updated), 1 otherwise.
 */
int test_snapshot(const char *name, const char *text);

/*
 * An unprivileged user for tests that must not run as root: a bare uid with
 * no passwd entry (65533, or the next free one below it in Debian's reserved
 * range), its gid the same number; nothing is added to the host. Returns the
 * uid, or -1 when the runner cannot switch to it (not root, or a user
 * namespace that does not map it): then the test should
 * SKIP("%s", test_unprivileged_skip_reason()).
 */
long test_unprivileged_uid(void);
/* Why test_unprivileged_uid() returned -1, as a skip reason. */
const char *test_unprivileged_skip_reason(void);
/*
 * Makes the calling process (a forked child) UID with gid UID and no
 * supplementary groups, and sets HOME (/nonexistent), USER and LOGNAME for it.
 * Returns 0 or -errno.
 */
int test_become_unprivileged(uid_t uid);

/*
 * True when the build tree's airlock-sandbox can set a sandbox up on this
 * host (as the runner's user); a test that needs one does
 * `if (!test_sandbox_usable()) SKIP("%s", test_sandbox_skip_reason());`.
 */
bool test_sandbox_usable(void);
/* Why test_sandbox_usable() is false, as a skip reason (the helper's own words). */
const char *test_sandbox_skip_reason(void);

#endif
