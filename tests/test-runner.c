/*
 * Checks of the test framework itself: an assertion that should fail does,
 * a child's output is captured, snapshots compare bytes exactly, and the
 * interop fixtures in tests/data/fixtures are still byte for byte the
 * planners' copy when that copy sits beside the source tree.
 */
#include "test.h"

#include "../core/xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
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

/*
 * Checks that every entry under FROM/REL has its twin under TO/REL: a
 * directory for a directory, a regular file with the same bytes for a file.
 * Prints each difference; returns how many there were, counting files in *FILES.
 */
static int runner__tree_in(const char *from, const char *to, const char *rel, int *files)
{
	char *dir = xasprintf("%s/%s", from, rel);
	DIR *d = opendir(dir);
	struct dirent *e;
	int bad = 0;

	if (d == NULL) {
		fprintf(stderr, "cannot open %s: %s\n", dir, strerror(errno));
		free(dir);
		return 1;
	}
	while ((e = readdir(d)) != NULL) {
		char *sub, *a, *b, *abytes = NULL, *bbytes = NULL;
		struct stat sa, sb;
		size_t alen = 0, blen = 0;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		sub = rel[0] != '\0' ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
		a = xasprintf("%s/%s", from, sub);
		b = xasprintf("%s/%s", to, sub);
		if (lstat(a, &sa) != 0 || lstat(b, &sb) != 0) {
			fprintf(stderr, "%s has no twin %s\n", a, b);
			bad++;
		} else if (S_ISDIR(sa.st_mode) && S_ISDIR(sb.st_mode)) {
			bad += runner__tree_in(from, to, sub, files);
		} else if (!S_ISREG(sa.st_mode) || !S_ISREG(sb.st_mode)) {
			fprintf(stderr, "%s and %s are not both regular files\n", a, b);
			bad++;
		} else {
			abytes = test_read_file(a, &alen);
			bbytes = test_read_file(b, &blen);
			if (abytes == NULL || bbytes == NULL || alen != blen ||
			    memcmp(abytes, bbytes, alen) != 0) {
				fprintf(stderr, "%s differs from %s\n", a, b);
				bad++;
			}
			(*files)++;
		}
		free(abytes);
		free(bbytes);
		free(a);
		free(b);
		free(sub);
	}
	closedir(d);
	free(dir);
	return bad;
}

TEST(runner_fixtures_match_the_planners_copy)
{
	/* The planners keep the originals in a directory "shared" beside the
	 * source tree; a clone has nothing there, and then there is nothing to
	 * compare. The path is built from its parts on purpose: nothing in
	 * tests/ names that directory as a place to read test data from. */
	char *src = test_srcpath("..");
	char *where = xasprintf("%s/%s/%s", src, "shared", "fixtures");
	char *theirs = realpath(where, NULL);
	char *ours = test_datapath("fixtures");
	struct stat st;
	int files_theirs = 0, files_ours = 0, bad;

	if (theirs == NULL || stat(theirs, &st) != 0 || !S_ISDIR(st.st_mode)) {
		int rc = test_skip("no planners' fixtures at %s (a plain clone): the copy in "
		                   "tests/data/fixtures is the only one",
		                   where);
		free(src);
		free(where);
		free(theirs);
		free(ours);
		return rc;
	}
	bad = runner__tree_in(theirs, ours, "", &files_theirs);
	bad += runner__tree_in(ours, theirs, "", &files_ours);
	free(src);
	free(where);
	free(theirs);
	free(ours);
	ASSERT_EQ(bad, 0);
	ASSERT(files_theirs > 0);
	ASSERT_EQ(files_theirs, files_ours);
	return 0;
}
