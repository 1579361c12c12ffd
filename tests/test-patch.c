/*
 * Tests of apply_patch (core/patch.h). Most cases live in the corpus
 * tests/data/patches/NAME/, one directory per case:
 *
 *   patch     the patch text (or `fixture`: the name of a patch among the
 *             interop fixtures, tests/data/fixtures/patches/NAME.patch)
 *   before/   the tree the patch is applied in (absent: empty)
 *   after/    the expected tree when the patch applies (absent: empty)
 *   error     the expected error message, whole; then the tree must still be
 *             before/ exactly
 *   paths     optional: patch_paths() relative to the tree, one per line
 *   diff      optional: the expected patch_diff() output
 *
 * Trees are compared by their files and symbolic links (empty directories
 * do not count, as git cannot hold them), and nothing may appear beside the
 * tree (no escape, no stray temporary file).
 */
#include "test.h"

#include "../core/patch-internal.h"
#include "../core/patch.h"
#include "../core/xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* The fewest cases the corpus must hold. */
#define TEST_PATCH_MIN_CASES 40

/* qsort comparison of two strings. */
static int test_patch_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names in DIR (without . and ..), NULL-terminated; NULL if none. */
static char **test_patch_names(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;

	*n = 0;
	if (d == NULL)
		return NULL;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		v = xreallocarray(v, *n + 2, sizeof *v);
		v[(*n)++] = xstrdup(e->d_name);
		v[*n] = NULL;
	}
	closedir(d);
	if (v != NULL)
		qsort(v, *n, sizeof *v, test_patch_cmp);
	return v;
}

/* Frees a list from test_patch_names(). */
static void test_patch_names_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Copies the tree SRC to DST (files keep their mode, links stay links). */
static int test_patch_copy(const char *src, const char *dst)
{
	size_t n;
	char **names = test_patch_names(src, &n);
	int rc = 0;

	if (mkdir(dst, 0755) != 0 && errno != EEXIST)
		return -errno;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *s = xasprintf("%s/%s", src, names[i]), *d = xasprintf("%s/%s", dst, names[i]);
		struct stat st;

		if (lstat(s, &st) != 0) {
			rc = -errno;
		} else if (S_ISDIR(st.st_mode)) {
			rc = test_patch_copy(s, d);
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t len = readlink(s, target, sizeof target - 1);

			if (len < 0) {
				rc = -errno;
			} else {
				target[len] = '\0';
				rc = symlink(target, d) == 0 ? 0 : -errno;
			}
		} else {
			size_t len;
			char *content = test_read_file(s, &len);
			int fd = open(d, O_WRONLY | O_CREAT | O_TRUNC, st.st_mode & 0777);

			if (content == NULL || fd < 0 || write(fd, content, len) != (ssize_t)len)
				rc = -EIO;
			if (fd >= 0)
				close(fd);
			free(content);
		}
		free(s);
		free(d);
	}
	test_patch_names_free(names, n);
	return rc;
}

/* Appends a description of every file and link under DIR to *OUT (sorted walk). */
static void test_patch_describe(const char *dir, const char *prefix, char **out)
{
	size_t n;
	char **names = test_patch_names(dir, &n);

	for (size_t i = 0; i < n; i++) {
		char *p = xasprintf("%s/%s", dir, names[i]);
		char *rel = xasprintf("%s%s", prefix, names[i]);
		char *add = NULL, *joined;
		struct stat st;

		if (lstat(p, &st) != 0) {
			add = xasprintf("%s: vanished\n", rel);
		} else if (S_ISDIR(st.st_mode)) {
			char *sub = xasprintf("%s/", rel);

			test_patch_describe(p, sub, out);
			free(sub);
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t len = readlink(p, target, sizeof target - 1);

			target[len < 0 ? 0 : len] = '\0';
			add = xasprintf("%s -> %s\n", rel, target);
		} else {
			size_t len;
			char *content = test_read_file(p, &len);

			add = xasprintf("%s (%zu bytes):\n%s\n---\n", rel, len,
			                content ? content : "(unreadable)");
			free(content);
		}
		if (add != NULL) {
			joined = xasprintf("%s%s", *out, add);
			free(*out);
			*out = joined;
			free(add);
		}
		free(p);
		free(rel);
	}
	test_patch_names_free(names, n);
}

/* A text description of the tree DIR; caller frees. */
static char *test_patch_tree(const char *dir)
{
	char *out = xstrdup("");

	test_patch_describe(dir, "", &out);
	return out;
}

/* Reads a corpus file, or NULL when it does not exist. */
static char *test_patch_case_file(const char *casedir, const char *name, size_t *len)
{
	char *p = xasprintf("%s/%s", casedir, name);
	char *s = test_read_file(p, len);

	free(p);
	return s;
}

/* Removes one final newline from S (the corpus files end with one). */
static void test_patch_chomp(char *s)
{
	size_t n = strlen(s);

	if (n > 0 && s[n - 1] == '\n')
		s[n - 1] = '\0';
}

/* Runs one corpus case NAME from CORPUS in a fresh directory under WORK. */
static int test_patch_case(const char *corpus, const char *name, const char *work)
{
	char *casedir = xasprintf("%s/%s", corpus, name);
	char *root = xasprintf("%s/%s", work, name), *tree = xasprintf("%s/tree", root);
	char *before = xasprintf("%s/before", casedir), *after = xasprintf("%s/after", casedir);
	char *text, *expect_error, *expect_paths, *expect_diff, *cause = NULL;
	char *got, *want, *diff;
	size_t len, dummy;
	int rc, failed = 0;
	struct stat st;

	text = test_patch_case_file(casedir, "patch", &len);
	if (text == NULL) {
		char *fixture = test_patch_case_file(casedir, "fixture", &dummy);
		char *rel, *path;

		ASSERT(fixture != NULL);
		test_patch_chomp(fixture);
		rel = xasprintf("fixtures/patches/%s.patch", fixture);
		path = test_datapath(rel);
		text = test_read_file(path, &len);
		if (text == NULL)
			fprintf(stderr, "%s: cannot read the interop fixture %s\n", name, path);
		ASSERT(text != NULL);
		free(fixture);
		free(rel);
		free(path);
	}
	expect_error = test_patch_case_file(casedir, "error", &dummy);
	expect_paths = test_patch_case_file(casedir, "paths", &dummy);
	expect_diff = test_patch_case_file(casedir, "diff", &dummy);

	ASSERT_EQ(mkdir(root, 0755), 0);
	ASSERT_EQ(mkdir(tree, 0755), 0);
	if (stat(before, &st) == 0)
		ASSERT_EQ(test_patch_copy(before, tree), 0);
	want = test_patch_tree(expect_error != NULL ? tree : after);

	if (expect_paths != NULL) {
		struct patch *p;
		char *joined = xstrdup("");

		ASSERT_EQ(patch_parse(text, len, &p, &cause), 0);
		char **paths = patch_paths(p, tree, NULL);
		for (char **q = paths; *q != NULL; q++) {
			char *next;

			ASSERT(strncmp(*q, tree, strlen(tree)) == 0);
			next = xasprintf("%s%s\n", joined, *q + strlen(tree) + 1);
			free(joined);
			joined = next;
		}
		if (strcmp(joined, expect_paths) != 0) {
			fprintf(stderr, "%s: paths:\n  got:\n%s  expected:\n%s", name, joined,
			        expect_paths);
			failed = 1;
		}
		patch_paths_free(paths);
		patch_free(p);
		free(joined);
	}
	if (expect_diff != NULL) {
		diff = patch_diff(text, len, tree, NULL, &cause);
		if (diff == NULL || strcmp(diff, expect_diff) != 0) {
			fprintf(stderr, "%s: diff:\n  got:\n%s\n  expected:\n%s\n", name,
			        diff ? diff : cause, expect_diff);
			failed = 1;
		}
		free(diff);
		free(cause);
		cause = NULL;
	}

	rc = patch_apply(text, len, tree, NULL, &cause);
	if (expect_error != NULL) {
		test_patch_chomp(expect_error);
		if (rc == 0 || cause == NULL || strcmp(cause, expect_error) != 0) {
			fprintf(stderr, "%s: error:\n  got:      (%d) %s\n  expected: %s\n", name,
			        rc, cause ? cause : "(none)", expect_error);
			failed = 1;
		}
	} else if (rc != 0) {
		fprintf(stderr, "%s: unexpected failure (%d): %s\n", name, rc, cause);
		failed = 1;
	}
	got = test_patch_tree(tree);
	if (strcmp(got, want) != 0) {
		fprintf(stderr, "%s: tree:\n--- got:\n%s--- expected:\n%s", name, got, want);
		failed = 1;
	}
	/* Nothing beside the tree: no escape, no temporary file left. */
	size_t n_root;
	char **beside = test_patch_names(root, &n_root);
	if (n_root != 1 || strcmp(beside[0], "tree") != 0) {
		fprintf(stderr, "%s: something was written beside the tree (%zu entries)\n", name,
		        n_root);
		failed = 1;
	}
	test_patch_names_free(beside, n_root);
	free(got);
	free(want);
	free(cause);
	free(text);
	free(expect_error);
	free(expect_paths);
	free(expect_diff);
	free(casedir);
	free(root);
	free(tree);
	free(before);
	free(after);
	return failed;
}

TEST(patch_corpus)
{
	char *corpus = test_srcpath("tests/data/patches");
	size_t n, failed = 0;
	char **names = test_patch_names(corpus, &n);

	ASSERT(names != NULL);
	for (size_t i = 0; i < n; i++)
		if (test_patch_case(corpus, names[i], test_tmpdir()) != 0)
			failed++;
	fprintf(stderr, "%zu cases, %zu failed\n", n, failed);
	ASSERT_EQ(failed, 0);
	ASSERT(n >= TEST_PATCH_MIN_CASES);
	test_patch_names_free(names, n);
	free(corpus);
	return 0;
}

TEST(patch_parse_builds_the_model)
{
	const char *text = "*** Begin Patch\n"
	                   "*** Add File: a.txt\n"
	                   "+one\n"
	                   "+\n"
	                   "*** Update File: src/m.c\n"
	                   "*** Move to: src/n.c\n"
	                   "@@ int main(void)\n"
	                   " {\n"
	                   "-\treturn 1;\n"
	                   "+\treturn 0;\n"
	                   "@@\n"
	                   "\n"
	                   "+tail\n"
	                   "*** End of File\n"
	                   "*** Delete File: gone\n"
	                   "*** End Patch\n";
	struct patch *p;
	char *cause = NULL;

	ASSERT_EQ(patch_parse(text, strlen(text), &p, &cause), 0);
	ASSERT_EQ(p->n_files, 3);
	ASSERT_EQ(p->files[0].kind, PATCH_ADD);
	ASSERT_STR_EQ(p->files[0].path, "a.txt");
	ASSERT_STR_EQ(p->files[0].content, "one\n\n");
	ASSERT_EQ(p->files[0].content_len, 5);
	ASSERT_EQ(p->files[0].line, 2);
	ASSERT_EQ(p->files[1].kind, PATCH_UPDATE);
	ASSERT_STR_EQ(p->files[1].move_to, "src/n.c");
	ASSERT_EQ(p->files[1].n_hunks, 2);
	ASSERT_STR_EQ(p->files[1].hunks[0].context, "int main(void)");
	ASSERT_EQ(p->files[1].hunks[0].n_lines, 3);
	ASSERT_EQ(p->files[1].hunks[0].lines[1].kind, '-');
	ASSERT_STR_EQ(p->files[1].hunks[0].lines[1].text, "\treturn 1;");
	ASSERT(!p->files[1].hunks[0].end_of_file);
	ASSERT(p->files[1].hunks[1].context == NULL);
	ASSERT_EQ(p->files[1].hunks[1].n_lines, 2);
	ASSERT_EQ(p->files[1].hunks[1].lines[0].kind, ' ');
	ASSERT_STR_EQ(p->files[1].hunks[1].lines[0].text, "");
	ASSERT(p->files[1].hunks[1].end_of_file);
	ASSERT_EQ(p->files[1].hunks[1].line, 11);
	ASSERT_EQ(p->files[2].kind, PATCH_DELETE);
	ASSERT_STR_EQ(p->files[2].path, "gone");
	patch_free(p);
	return 0;
}

TEST(patch_parse_error_messages)
{
	static const struct {
		const char *text, *error;
	} cases[] = {
	    {"", "line 1: the first line must be \"*** Begin Patch\""},
	    {"*** Begin Patch\n", "line 1: the last line must be \"*** End Patch\""},
	    {"*** Begin Patch\n*** End Patch\n", "line 2: the patch changes no file"},
	    {"*** Begin Patch\n*** Delete File: a\n*** End Patch\nx\n",
	     "line 4: the last line must be \"*** End Patch\""},
	    {"*** Begin Patch\n*** Delete File: a\0\n*** End Patch\n",
	     "line 2: a NUL byte in the patch"},
	    {"*** Begin Patch\n*** Update File: a\n*** End Patch\n",
	     "line 2: a: the update has no hunk"},
	    {"*** Begin Patch\n*** Update File: a\n@@\n@@\n-x\n*** End Patch\n",
	     "line 3: a: hunk 1: the hunk has no lines"},
	    {"*** Begin Patch\n*** Add File:  \n*** End Patch\n", "line 2: empty path"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct patch *p = NULL;
		char *cause = NULL;
		size_t len = strlen(cases[i].text);

		if (i == 4)
			len = sizeof "*** Begin Patch\n*** Delete File: a\0\n*** End Patch\n" - 1;
		ASSERT_EQ(patch_parse(cases[i].text, len, &p, &cause), -EINVAL);
		ASSERT(p == NULL);
		ASSERT_STR_EQ(cause, cases[i].error);
		free(cause);
	}
	return 0;
}

TEST(patch_parse_refuses_huge_text)
{
	size_t len = PATCH_MAX_TEXT + 1;
	char *text = xmalloc(len);
	struct patch *p;
	char *cause = NULL;

	memset(text, '+', len);
	ASSERT_EQ(patch_parse(text, len, &p, &cause), -EINVAL);
	ASSERT_STR_EQ(cause, "the patch is over 16777216 bytes");
	free(cause);
	free(text);
	return 0;
}

TEST(patch_paths_are_absolute_sorted_unique)
{
	const char *text = "*** Begin Patch\n"
	                   "*** Update File: b/./x.c\n"
	                   "*** Move to: a/y.c\n"
	                   "@@\n"
	                   "-1\n"
	                   "*** Delete File: c/../z\n"
	                   "*** Add File: b/x.c\n"
	                   "*** End Patch\n";
	struct patch *p;
	char *cause = NULL;
	size_t n;

	ASSERT_EQ(patch_parse(text, strlen(text), &p, &cause), 0);
	char **v = patch_paths(p, "/ws/", &n);
	ASSERT_EQ(n, 3);
	ASSERT_STR_EQ(v[0], "/ws/a/y.c");
	ASSERT_STR_EQ(v[1], "/ws/b/x.c");
	ASSERT_STR_EQ(v[2], "/ws/z");
	ASSERT(v[3] == NULL);
	patch_paths_free(v);
	patch_free(p);
	return 0;
}

TEST(patch_check_path_refuses_protected_and_escapes)
{
	static const struct {
		const char *path, *error;
	} cases[] = {
	    {"ok.txt", NULL},
	    {"src/.gitignore", NULL},
	    {".git/COMMIT_EDITMSG", NULL},
	    {".git/modules/sub/HEAD", NULL},
	    {".github/workflows/x.yml", NULL},
	    {"a/../b", NULL},
	    {"/etc/passwd", "/etc/passwd: absolute paths are refused"},
	    {"..", "..: the path leaves the working directory"},
	    {"a/../../b", "a/../../b: the path leaves the working directory"},
	    {".", ".: the path leaves the working directory"},
	    {".git/config", ".git/config: protected path, never written by a patch"},
	    {".git/hooks/pre-commit", ".git/hooks/pre-commit: protected path, never written by "
	                              "a patch"},
	    {".git/hooks", ".git/hooks: protected path, never written by a patch"},
	    {".git/modules/sub/config", ".git/modules/sub/config: protected path, never "
	                                "written by a patch"},
	    {".git/modules/a/modules/b/hooks/x", ".git/modules/a/modules/b/hooks/x: protected "
	                                         "path, never written by a patch"},
	    {".git/worktrees/w/config", ".git/worktrees/w/config: protected path, never "
	                                "written by a patch"},
	    {"x/../.git/./config", "x/../.git/./config: protected path, never written by a "
	                           "patch"},
	    {".airlock/rules/a.rules", ".airlock/rules/a.rules: protected path, never written "
	                               "by a patch"},
	    {".codex/x", ".codex/x: protected path, never written by a patch"},
	    {".agents/x", ".agents/x: protected path, never written by a patch"},
	    {".claude/settings.json", ".claude/settings.json: protected path, never written by "
	                              "a patch"},
	    {".vscode/tasks.json", ".vscode/tasks.json: protected path, never written by a "
	                           "patch"},
	    {".envrc", ".envrc: protected path, never written by a patch"},
	    {"sub/.envrc", "sub/.envrc: protected path, never written by a patch"},
	    {"vendor/lib/.git/hooks/post-checkout", "vendor/lib/.git/hooks/post-checkout: "
	                                            "protected path, never written by a "
	                                            "patch"},
	};
	const char *dir = test_tmpdir();

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *cause = NULL;
		int rc = patch_check_path(dir, cases[i].path, NULL, &cause);

		if (cases[i].error == NULL) {
			if (rc != 0)
				fprintf(stderr, "%s: %s\n", cases[i].path, cause);
			ASSERT_EQ(rc, 0);
		} else {
			ASSERT_EQ(rc, -EPERM);
			ASSERT_STR_EQ(cause, cases[i].error);
		}
		free(cause);
	}
	return 0;
}

TEST(patch_check_path_follows_links)
{
	const char *dir = test_tmpdir();
	char *ws = xasprintf("%s/ws", dir), *p;
	char *cause = NULL;

	ASSERT_EQ(mkdir(ws, 0755), 0);
	p = xasprintf("%s/out", ws);
	ASSERT_EQ(symlink("..", p), 0);
	free(p);
	p = xasprintf("%s/in", ws);
	ASSERT_EQ(symlink("sub", p), 0);
	free(p);
	p = xasprintf("%s/sub", ws);
	ASSERT_EQ(mkdir(p, 0755), 0);
	free(p);
	p = xasprintf("%s/cfg", ws);
	ASSERT_EQ(symlink(".git/config", p), 0);
	free(p);
	p = xasprintf("%s/dangling", ws);
	ASSERT_EQ(symlink("/nonexistent/x", p), 0);
	free(p);

	ASSERT_EQ(patch_check_path(ws, "in/new.txt", NULL, &cause), 0);
	ASSERT_EQ(patch_check_path(ws, "out/x", NULL, &cause), -EPERM);
	ASSERT_STR_EQ(cause, "out/x: a symbolic link leads out of the working directory");
	free(cause);
	ASSERT_EQ(patch_check_path(ws, "cfg", NULL, &cause), -EPERM);
	ASSERT_STR_EQ(cause, "cfg: protected path, never written by a patch");
	free(cause);
	ASSERT_EQ(patch_check_path(ws, "dangling", NULL, &cause), -EPERM);
	ASSERT_STR_EQ(cause, "dangling: a symbolic link leads out of the working directory");
	free(cause);
	free(ws);
	return 0;
}

/* Writes the files of the all-or-nothing test afresh in DIR. */
static int test_patch_aon_setup(const char *dir)
{
	char *p;

	p = xasprintf("%s/a.txt", dir);
	ASSERT_EQ(test_write_file(p, "a1\na2\n"), 0);
	free(p);
	p = xasprintf("%s/b.txt", dir);
	ASSERT_EQ(test_write_file(p, "b1\n"), 0);
	free(p);
	p = xasprintf("%s/m.txt", dir);
	ASSERT_EQ(test_write_file(p, "m1\nm2\n"), 0);
	free(p);
	return 0;
}

TEST(patch_commit_is_all_or_nothing)
{
	/* Five ops: update, delete, add in a new directory, move, add over a file. */
	const char *text = "*** Begin Patch\n"
	                   "*** Update File: a.txt\n"
	                   "-a2\n"
	                   "+A2\n"
	                   "*** Delete File: b.txt\n"
	                   "*** Add File: new/dir/c.txt\n"
	                   "+c\n"
	                   "*** Update File: m.txt\n"
	                   "*** Move to: moved/m.txt\n"
	                   "@@\n"
	                   " m1\n"
	                   "+m1.5\n"
	                   "*** Add File: a2.txt\n"
	                   "+x\n"
	                   "*** End Patch\n";
	char *ws = xasprintf("%s/ws", test_tmpdir());
	char *before, *after, *got;
	int step, failures = 0;

	ASSERT_EQ(mkdir(ws, 0755), 0);
	ASSERT_EQ(test_patch_aon_setup(ws), 0);
	before = test_patch_tree(ws);
	/* Inject a failure at every disk step in turn: the tree must not change. */
	for (step = 1; step < 100; step++) {
		char *cause = NULL;
		int rc;

		patch__fail_step = step;
		rc = patch_apply(text, strlen(text), ws, NULL, &cause);
		if (rc == 0) {
			patch__fail_step = 0;
			break;
		}
		failures++;
		ASSERT_EQ(rc, -EIO);
		ASSERT_CONTAINS(cause, "Input/output error");
		if (strstr(cause, "(no file was changed)") == NULL)
			ASSERT_CONTAINS(cause, "\n(rolled back)");
		got = test_patch_tree(ws);
		if (strcmp(got, before) != 0)
			fprintf(stderr, "step %d (%s):\n%s\n---- expected:\n%s", step, cause, got,
			        before);
		ASSERT_STR_EQ(got, before);
		free(got);
		free(cause);
	}
	/* 3 directories + 4 temporary files + 4 renames + 2 unlinks. */
	ASSERT_EQ(failures, 13);
	after = test_patch_tree(ws);
	ASSERT_CONTAINS(after, "a.txt (6 bytes):\na1\nA2\n");
	ASSERT_NOT_CONTAINS(after, "b.txt");
	ASSERT_CONTAINS(after, "new/dir/c.txt (2 bytes):\nc\n");
	ASSERT_CONTAINS(after, "moved/m.txt (11 bytes):\nm1\nm1.5\nm2\n");
	ASSERT_NOT_CONTAINS(after, "\nm.txt");
	ASSERT_CONTAINS(after, "a2.txt (2 bytes):\nx\n");
	free(after);
	free(before);
	free(ws);
	return 0;
}

/* A move onto an existing file replaces it; a failure after that writes it back. */
TEST(patch_move_onto_existing_rolls_back)
{
	char *ws = xasprintf("%s/ws", test_tmpdir()), *a, *b, *c, *cause = NULL, *got;
	const char *text = "*** Begin Patch\n*** Update File: a.txt\n*** Move to: b.txt\n"
	                   "@@\n-a\n+A\n*** Add File: c.txt\n+c\n*** End Patch\n";

	ASSERT_EQ(mkdir(ws, 0755), 0);
	a = xasprintf("%s/a.txt", ws);
	b = xasprintf("%s/b.txt", ws);
	c = xasprintf("%s/c.txt", ws);
	ASSERT_EQ(test_write_file(a, "a\n"), 0);
	ASSERT_EQ(test_write_file(b, "old b\n"), 0);
	/* Steps: 2 temporary files, then rename onto b.txt, unlink a.txt, rename c.txt. */
	patch__fail_step = 5;
	ASSERT(patch_apply(text, strlen(text), ws, NULL, &cause) != 0);
	ASSERT_CONTAINS(cause, "(rolled back)");
	free(cause);
	cause = NULL;
	got = test_read_file(b, NULL);
	ASSERT_STR_EQ(got, "old b\n");
	free(got);
	got = test_read_file(a, NULL);
	ASSERT_STR_EQ(got, "a\n");
	free(got);
	ASSERT(access(c, F_OK) != 0);
	patch__fail_step = 0;
	ASSERT_EQ(patch_apply(text, strlen(text), ws, NULL, &cause), 0);
	got = test_read_file(b, NULL);
	ASSERT_STR_EQ(got, "A\n");
	free(got);
	ASSERT(access(a, F_OK) != 0);
	free(a);
	free(b);
	free(c);
	free(ws);
	return 0;
}

TEST(patch_commit_keeps_the_mode)
{
	char *ws = xasprintf("%s/ws", test_tmpdir()), *f, *cause = NULL;
	const char *text = "*** Begin Patch\n*** Update File: run.sh\n-echo 1\n+echo 2\n"
	                   "*** End Patch\n";
	struct stat st;

	ASSERT_EQ(mkdir(ws, 0755), 0);
	f = xasprintf("%s/run.sh", ws);
	ASSERT_EQ(test_write_file(f, "#!/bin/sh\necho 1\n"), 0);
	ASSERT_EQ(chmod(f, 0750), 0);
	ASSERT_EQ(patch_apply(text, strlen(text), ws, NULL, &cause), 0);
	ASSERT_EQ(stat(f, &st), 0);
	ASSERT_EQ(st.st_mode & 07777, 0750);
	char *content = test_read_file(f, NULL);
	ASSERT_STR_EQ(content, "#!/bin/sh\necho 2\n");
	free(content);
	free(f);
	free(ws);
	return 0;
}

TEST(patch_plan_changes_nothing)
{
	char *ws = xasprintf("%s/ws", test_tmpdir()), *f, *cause = NULL, *diff;
	const char *text = "*** Begin Patch\n*** Update File: a\n-x\n+y\n*** Add File: b/c\n+z\n"
	                   "*** End Patch\n";

	ASSERT_EQ(mkdir(ws, 0755), 0);
	f = xasprintf("%s/a", ws);
	ASSERT_EQ(test_write_file(f, "x\n"), 0);
	diff = patch_diff(text, strlen(text), ws, NULL, &cause);
	ASSERT_STR_EQ(diff, "--- a/a\n+++ b/a\n@@ -1,1 +1,1 @@\n-x\n+y\n"
	                    "--- /dev/null\n+++ b/b/c\n@@ -0,0 +1,1 @@\n+z\n");
	char *tree = test_patch_tree(ws);
	ASSERT_STR_EQ(tree, "a (2 bytes):\nx\n\n---\n");
	free(tree);
	free(diff);
	free(f);
	free(ws);
	return 0;
}

TEST(patch_options_add_protected_paths)
{
	char *ws = xasprintf("%s/ws", test_tmpdir());
	char *abs = xasprintf("%s/ws/abs-secret", test_tmpdir());
	char *list[] = {"secrets", "conf/keys.txt", abs};
	struct patch_options opts = {.protected_paths = list, .n_protected_paths = 3};
	struct patch_options full = {.git_protection_full = true};
	static const struct {
		const char *path;
		bool refused;
	} cases[] = {
	    {"secrets", true},         {"secrets/a/b", true},  {"./secrets/../secrets/x", true},
	    {"secretsx", false},       {"sub/secrets", false}, {"conf/keys.txt", true},
	    {"conf/other.txt", false}, {"abs-secret/x", true}, {"abs-secretx", false},
	};
	char *cause = NULL;

	ASSERT_EQ(mkdir(ws, 0755), 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = patch_check_path(ws, cases[i].path, &opts, &cause);

		if (cases[i].refused) {
			if (rc == 0)
				fprintf(stderr, "%s passed\n", cases[i].path);
			ASSERT_EQ(rc, -EPERM);
			ASSERT_CONTAINS(cause, ": protected path, never written by a patch");
			free(cause);
		} else {
			ASSERT_EQ(rc, 0);
		}
	}
	/* git_protection "full": all of .git, at any depth; not .github or .gitignore. */
	ASSERT_EQ(patch_check_path(ws, ".git/HEAD", NULL, &cause), 0);
	ASSERT_EQ(patch_check_path(ws, ".git/HEAD", &full, &cause), -EPERM);
	ASSERT_STR_EQ(cause, ".git/HEAD: protected path, never written by a patch");
	free(cause);
	ASSERT_EQ(patch_check_path(ws, "sub/.git/objects/x", &full, &cause), -EPERM);
	free(cause);
	ASSERT_EQ(patch_check_path(ws, ".gitignore", &full, &cause), 0);
	ASSERT_EQ(patch_check_path(ws, ".github/x", &full, &cause), 0);
	/* The same refusal through patch_apply, with nothing written. */
	const char *text = "*** Begin Patch\n*** Add File: secrets/new\n+x\n*** End Patch\n";
	ASSERT_EQ(patch_apply(text, strlen(text), ws, &opts, &cause), -EPERM);
	ASSERT_STR_EQ(cause, "secrets/new: protected path, never written by a patch");
	free(cause);
	char *tree = test_patch_tree(ws);
	ASSERT_STR_EQ(tree, "");
	free(tree);
	free(abs);
	free(ws);
	return 0;
}
