/*
 * Tests of the after-the-run git check (sandbox/sandbox-gitcheck.c). No
 * sandbox is needed: each test builds a workspace under its own directory
 * with real git, takes the "run started" time, plants or changes things as a
 * sandboxed command could, then scans and looks at the reports and at what
 * was moved aside on disk. Things made before the start are made at least
 * one clock tick earlier (the file system stamps with the coarse clock).
 */
#include "test.h"

#include "core/xmalloc.h"
#include "sandbox/sandbox.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Runs the shell script FMT in the test's directory as UID; returns its status (output on failure).
 */
static int gc_sh_as(uid_t uid, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int gc_sh_as(uid_t uid, const char *fmt, ...)
{
	char *home = xasprintf("HOME=%s", test_tmpdir());
	char *env[] = {home,
	               "GIT_CONFIG_NOSYSTEM=1",
	               "GIT_AUTHOR_NAME=t",
	               "GIT_AUTHOR_EMAIL=t@e",
	               "GIT_COMMITTER_NAME=t",
	               "GIT_COMMITTER_EMAIL=t@e",
	               NULL};
	struct test_run r;
	va_list ap;
	char *script;
	int status;

	va_start(ap, fmt);
	script = xvasprintf(fmt, ap);
	va_end(ap);
	char *argv[] = {"bash", "-ec", script, NULL};
	if (test_run(&r, argv, NULL, NULL, env, uid, 30) != 0) {
		free(script);
		free(home);
		return -1;
	}
	status = r.status;
	if (status != 0)
		fprintf(stderr, "script failed (%d): %s\n%s%s", status, script, r.out, r.err);
	test_run_free(&r);
	free(script);
	free(home);
	return status;
}

#define gc_sh(...) gc_sh_as((uid_t)-1, __VA_ARGS__)

/*
 * Puts an empty tmpfs, seen by this test alone, on the test's directory
 * (where the host lets it: root, or user namespaces). Every sandbox that runs
 * meanwhile on this host scans /tmp after its run, as this check does, and
 * would move aside what these tests make there. False when it could not.
 */
static bool gc_private(void)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char *map;

	if (unshare(CLONE_NEWNS) != 0) {
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
			return false;
		map = xasprintf("0 %u 1", (unsigned)uid); /* root inside, for mount */
		(void)test_write_file("/proc/self/setgroups", "deny");
		(void)test_write_file("/proc/self/uid_map", map);
		free(map);
		map = xasprintf("0 %u 1", (unsigned)gid);
		(void)test_write_file("/proc/self/gid_map", map);
		free(map);
	}
	return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
	       mount("gitcheck", test_tmpdir(), "tmpfs", 0, "mode=0755") == 0;
}

/* The run's start: a coarse time at least one tick after everything made so far. */
static struct timespec gc_start(void)
{
	struct timespec ts, pause = {0, 30 * 1000 * 1000};

	nanosleep(&pause, NULL);
	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	nanosleep(&pause, NULL);
	return ts;
}

/* A path under the test's directory; caller frees. */
static char *gc_path(const char *rel)
{
	return xasprintf("%s/%s", test_tmpdir(), rel);
}

/* The report for PATH (relative to the test's directory), or NULL. */
static const struct sandbox_gitcheck_report *gc_find(const struct sandbox_gitcheck_report *r,
                                                     size_t n, const char *rel)
{
	char *p = gc_path(rel);
	const struct sandbox_gitcheck_report *found = NULL;

	for (size_t i = 0; i < n && found == NULL; i++)
		if (strcmp(r[i].path, p) == 0)
			found = &r[i];
	free(p);
	return found;
}

/* True when R moved DIR/NAME (DIR relative to the test's directory) aside. */
static bool gc_moved(const struct sandbox_gitcheck_report *r, const char *dir, const char *name)
{
	char *prefix = xasprintf("%s/%s/%s.airlock-moved-", test_tmpdir(), dir, name);
	bool found = false;

	for (size_t i = 0; r != NULL && i < r->n_moved && !found; i++)
		found = strncmp(r->moved[i], prefix, strlen(prefix)) == 0;
	free(prefix);
	return found;
}

/* True when REL (relative to the test's directory) exists, without following it. */
static bool gc_exists(const char *rel)
{
	char *p = gc_path(rel);
	struct stat st;
	bool yes = lstat(p, &st) == 0;

	free(p);
	return yes;
}

/* How many entries of DIR (relative) start with PREFIX. */
static int gc_count_prefix(const char *rel, const char *prefix)
{
	char *p = gc_path(rel);
	DIR *d = opendir(p);
	struct dirent *de;
	int n = 0;

	while (d != NULL && (de = readdir(d)) != NULL)
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	if (d != NULL)
		closedir(d);
	free(p);
	return n;
}

/* Scans the roots REL_ROOTS (relative, NULL-terminated) skipping REL_SKIP, within LIM (or
 * defaults). */
static void gc_scan(const char *const *rel_roots, const char *const *rel_skip,
                    struct timespec since, const struct sandbox_gitcheck_limits *lim,
                    struct sandbox_gitcheck_report **r, size_t *n)
{
	char *roots[8], *skip[8];
	size_t nr = 0, ns = 0;

	for (; rel_roots[nr] != NULL; nr++)
		roots[nr] = gc_path(rel_roots[nr]);
	for (; rel_skip != NULL && rel_skip[ns] != NULL; ns++)
		skip[ns] = gc_path(rel_skip[ns]);
	if (lim != NULL)
		sandbox_gitcheck_scan_limited(roots, nr, skip, ns, since, lim, r, n);
	else
		sandbox_gitcheck_scan(roots, nr, skip, ns, since, r, n);
	for (size_t i = 0; i < nr; i++)
		free(roots[i]);
	for (size_t i = 0; i < ns; i++)
		free(skip[i]);
}

/* Prints the reports with stderr and the JSON lines captured; caller frees both. */
static void gc_print(const struct sandbox_gitcheck_report *r, size_t n, char **err, char **json)
{
	char *ep = gc_path("print-stderr"), *jp = gc_path("print-json");
	int efd = open(ep, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int jfd = open(jp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int saved = dup(STDERR_FILENO);

	fflush(stderr);
	dup2(efd, STDERR_FILENO);
	sandbox_gitcheck_print(r, n, jfd);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(efd);
	close(jfd);
	*err = test_read_file(ep, NULL);
	*json = test_read_file(jp, NULL);
	free(ep);
	free(jp);
}

/* Prints every report (for a failing test's log). */
static void gc_dump(const struct sandbox_gitcheck_report *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "report %zu: %s (%s)%s moved %zu%s%s\n", i, r[i].path, r[i].why,
		        r[i].incomplete ? " INCOMPLETE" : "", r[i].n_moved,
		        r[i].error ? " error: " : "", r[i].error ? r[i].error : "");
}

static const char *const ws_root[] = {"ws", NULL};
static const char *const ws_skip[] = {"ws/.git", NULL};

/* A new nested repository is reported, its config and hooks moved aside, in the pane and the log.
 */
TEST(gitcheck_new_nested_repo_moved_aside)
{
	gc_private();
	struct sandbox_gitcheck_report *r;
	size_t n;
	char *err, *json;

	ASSERT_EQ(gc_sh("git init -q ws && echo a > ws/f"), 0);
	struct timespec since = gc_start();
	ASSERT_EQ(gc_sh("git init -q ws/sub && git -C ws add f && echo b > ws/f"), 0);
	gc_scan(ws_root, ws_skip, since, NULL, &r, &n);
	gc_dump(r, n);
	ASSERT_EQ(n, 1);
	const struct sandbox_gitcheck_report *s = gc_find(r, n, "ws/sub/.git");
	ASSERT(s != NULL);
	ASSERT(!s->incomplete);
	ASSERT(s->error == NULL);
	ASSERT(gc_moved(s, "ws/sub/.git", "config"));
	ASSERT(gc_moved(s, "ws/sub/.git", "hooks"));
	ASSERT(!gc_exists("ws/sub/.git/config"));
	ASSERT(!gc_exists("ws/sub/.git/hooks"));
	ASSERT_EQ(gc_count_prefix("ws/sub/.git", "config.airlock-moved-"), 1);
	ASSERT_EQ(gc_count_prefix("ws/sub/.git", "hooks.airlock-moved-"), 1);
	/* The protected top-level repository is left alone. */
	ASSERT(gc_exists("ws/.git/config"));
	ASSERT(gc_exists("ws/.git/hooks"));

	gc_print(r, n, &err, &json);
	ASSERT_CONTAINS(err, "airlock: git repository ");
	ASSERT_CONTAINS(err, "/ws/sub/.git (new, replaced or written to");
	ASSERT_CONTAINS(err, "config.airlock-moved-");
	ASSERT(json != NULL && strchr(json, '\n') == json + strlen(json) - 1);
	cJSON *o = cJSON_Parse(json);
	ASSERT(o != NULL);
	ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(o, "kind")), "git");
	ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(o, "path")), s->path);
	ASSERT(cJSON_GetStringValue(cJSON_GetObjectItem(o, "ts")) != NULL);
	ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(o, "moved")), (int)s->n_moved);
	cJSON_Delete(o);
	free(err);
	free(json);
	sandbox_gitcheck_free(r, n);
	return 0;
}

/* A nested repository made before the run and left alone is not reported, whatever changed beside
 * it. */
TEST(gitcheck_old_untouched_nested_repo_not_reported)
{
	gc_private();
	struct sandbox_gitcheck_report *r;
	size_t n;

	ASSERT_EQ(gc_sh("git init -q ws && git init -q ws/sub && git init -q --bare ws/b.git && "
	                "echo a > ws/sub/f"),
	          0);
	struct timespec since = gc_start();
	ASSERT_EQ(gc_sh("echo b >> ws/sub/f && mkdir ws/sub/new && touch ws/new ws/.git/index"), 0);
	gc_scan(ws_root, ws_skip, since, NULL, &r, &n);
	gc_dump(r, n);
	ASSERT_EQ(n, 0);
	ASSERT(gc_exists("ws/sub/.git/config"));
	ASSERT(gc_exists("ws/b.git/hooks"));
	sandbox_gitcheck_free(r, n);
	return 0;
}

/* An old nested repository whose hook was edited (mtime forged back) is reported. */
TEST(gitcheck_old_repo_with_changed_hook_reported)
{
	gc_private();
	struct sandbox_gitcheck_report *r;
	size_t n;

	ASSERT_EQ(gc_sh("git init -q ws && git init -q ws/sub && "
	                "printf '#!/bin/sh\\n' > ws/sub/.git/hooks/pre-commit"),
	          0);
	struct timespec since = gc_start();
	ASSERT_EQ(gc_sh("echo 'touch /tmp/pwned' >> ws/sub/.git/hooks/pre-commit && "
	                "touch -d 2001-01-01 ws/sub/.git/hooks/pre-commit"),
	          0);
	gc_scan(ws_root, ws_skip, since, NULL, &r, &n);
	gc_dump(r, n);
	ASSERT_EQ(n, 1);
	ASSERT(r[0].path != NULL);
	ASSERT_STR_EQ(r[0].why, "hooks/pre-commit changed");
	ASSERT(gc_moved(&r[0], "ws/sub/.git", "hooks"));
	ASSERT(gc_moved(&r[0], "ws/sub/.git", "config"));
	ASSERT(!gc_exists("ws/sub/.git/hooks/pre-commit"));
	sandbox_gitcheck_free(r, n);
	return 0;
}

/* A new bare repository (and a linked worktree's git dir) is reported. */
TEST(gitcheck_new_bare_repo_reported)
{
	gc_private();
	struct sandbox_gitcheck_report *r;
	size_t n;

	ASSERT_EQ(gc_sh("mkdir ws"), 0);
	struct timespec since = gc_start();
	ASSERT_EQ(gc_sh("git init -q --bare ws/deep/x.git"), 0);
	gc_scan(ws_root, NULL, since, NULL, &r, &n);
	gc_dump(r, n);
	ASSERT_EQ(n, 1);
	const struct sandbox_gitcheck_report *b = gc_find(r, n, "ws/deep/x.git");
	ASSERT(b != NULL);
	ASSERT(gc_moved(b, "ws/deep/x.git", "config"));
	ASSERT(gc_moved(b, "ws/deep/x.git", "hooks"));
	ASSERT(gc_exists("ws/deep/x.git/HEAD"));
	ASSERT(gc_exists("ws/deep/x.git/objects"));
	sandbox_gitcheck_free(r, n);

	/*
	 * An empty config and hooks are harmless, and what a running sandbox's
	 * covers look like (renaming one would detach its mount): reported, left.
	 */
	ASSERT_EQ(gc_sh("git init -q --bare ws/e.git && rm -rf ws/e.git/hooks/* && "
	                ": > ws/e.git/config && echo '[core]' > ws/e.git/config.worktree"),
	          0);
	gc_scan(ws_root, NULL, since, NULL, &r, &n);
	gc_dump(r, n);
	const struct sandbox_gitcheck_report *e = gc_find(r, n, "ws/e.git");
	ASSERT(e != NULL);
	ASSERT_EQ(e->n_moved, 1);
	ASSERT(gc_moved(e, "ws/e.git", "config.worktree"));
	ASSERT(gc_exists("ws/e.git/config"));
	ASSERT(gc_exists("ws/e.git/hooks"));
	sandbox_gitcheck_free(r, n);
	return 0;
}

/* A new `.git` file is moved aside; its gitdir is checked when inside a root, never outside. */
TEST(gitcheck_git_file_to_gitdir_inside_root)
{
	gc_private();
	struct sandbox_gitcheck_report *r;
	size_t n;
	static const char *const roots[] = {"ws", NULL};

	ASSERT_EQ(gc_sh("mkdir -p ws/store out"), 0);
	struct timespec since = gc_start();
	ASSERT_EQ(gc_sh("git init -q --separate-git-dir ws/store/sub.git ws/sub && "
	                "git init -q --separate-git-dir out/ext.git ws/other"),
	          0);
	gc_scan(roots, NULL, since, NULL, &r, &n);
	gc_dump(r, n);
	ASSERT_EQ(n, 3);
	const struct sandbox_gitcheck_report *f = gc_find(r, n, "ws/sub/.git");
	ASSERT(f != NULL);
	ASSERT_CONTAINS(f->why, "a .git file appeared (gitdir: ");
	ASSERT_CONTAINS(f->why, "/ws/store/sub.git)");
	ASSERT(gc_moved(f, "ws/sub", ".git"));
	ASSERT(!gc_exists("ws/sub/.git"));
	const struct sandbox_gitcheck_report *t = gc_find(r, n, "ws/store/sub.git");
	ASSERT(t != NULL);
	ASSERT(gc_moved(t, "ws/store/sub.git", "config"));
	ASSERT(gc_find(r, n, "ws/other/.git") != NULL);
	ASSERT(!gc_exists("ws/other/.git"));
	/* Outside every root: neither reported nor touched. */
	ASSERT(gc_find(r, n, "out/ext.git") == NULL);
	ASSERT(gc_exists("out/ext.git/config"));
	ASSERT(gc_exists("out/ext.git/hooks"));
	sandbox_gitcheck_free(r, n);
	return 0;
}

/* Protected git dirs are skipped, except for a commondir or config.worktree that appeared. */
TEST(gitcheck_protected_gitdir_new_commondir_moved_aside)
{
	gc_private();
	struct sandbox_gitcheck_report *r;
	size_t n;

	ASSERT_EQ(gc_sh("git init -q ws && echo a > ws/f && git -C ws add f && "
	                "git -C ws commit -qm one"),
	          0);
	struct timespec since = gc_start();
	/* A commit writes to the git dir itself: that alone does not count. */
	ASSERT_EQ(
	    gc_sh("echo b > ws/f && git -C ws commit -qam two && "
	          "echo /tmp/evil > ws/.git/commondir && echo '[core]' > ws/.git/config.worktree"),
	    0);
	gc_scan(ws_root, ws_skip, since, NULL, &r, &n);
	gc_dump(r, n);
	ASSERT_EQ(n, 1);
	ASSERT_CONTAINS(r[0].path, "/ws/.git");
	ASSERT_EQ(r[0].n_moved, 2);
	ASSERT(gc_moved(&r[0], "ws/.git", "commondir"));
	ASSERT(gc_moved(&r[0], "ws/.git", "config.worktree"));
	ASSERT(!gc_exists("ws/.git/commondir"));
	ASSERT(gc_exists("ws/.git/config"));
	ASSERT(gc_exists("ws/.git/hooks"));

	/* Without changes there, a second scan reports nothing. */
	sandbox_gitcheck_free(r, n);
	ASSERT_EQ(gc_sh("git -C ws commit -q --allow-empty -m three"), 0);
	gc_scan(ws_root, ws_skip, since, NULL, &r, &n);
	gc_dump(r, n);
	ASSERT_EQ(n, 0);
	sandbox_gitcheck_free(r, n);

	/* A protected git dir named another way (through a symlink) is still the one skipped. */
	static const char *const alias_skip[] = {"alias/.git", NULL};
	ASSERT_EQ(gc_sh("ln -s ws alias"), 0);
	gc_scan(ws_root, alias_skip, since, NULL, &r, &n);
	gc_dump(r, n);
	ASSERT_EQ(n, 0);
	ASSERT(gc_exists("ws/.git/config"));
	sandbox_gitcheck_free(r, n);
	return 0;
}

/*
 * In a protected git dir, config and hooks are read-only for the command, so
 * one that changed means its mount was taken away (another sandbox's check
 * renamed the mount point) and the command wrote it: moved aside, alone.
 * What a running sandbox's covers look like (an empty hooks directory, a
 * commondir of ".") does not count.
 */
TEST(gitcheck_protected_gitdir_changed_config_or_hook_moved_aside)
{
	gc_private();
	struct sandbox_gitcheck_report *r;
	size_t n;

	ASSERT_EQ(gc_sh("git init -q ws && git init -q ws2 && git init -q ws3 && "
	                "rm -rf ws3/.git/hooks"),
	          0);
	struct timespec since = gc_start();
	ASSERT_EQ(gc_sh("mv ws/.git/config ws/.git/config.old && "
	                "printf '[core]\\n\\tfsmonitor = touch /tmp/pwned\\n' > ws/.git/config && "
	                "echo 'touch /tmp/pwned' > ws2/.git/hooks/post-checkout && "
	                "mkdir ws3/.git/hooks && git -C ws3 commit -q --allow-empty -m x && "
	                "printf '.\\n' > ws3/.git/commondir"),
	          0);
	static const char *const roots[] = {"ws", "ws2", "ws3", NULL};
	static const char *const skip[] = {"ws/.git", "ws2/.git", "ws3/.git", NULL};
	gc_scan(roots, skip, since, NULL, &r, &n);
	gc_dump(r, n);
	ASSERT_EQ(n, 2);
	const struct sandbox_gitcheck_report *c = gc_find(r, n, "ws/.git");
	ASSERT(c != NULL);
	ASSERT_STR_EQ(c->why, "config changed in a protected git dir");
	ASSERT_EQ(c->n_moved, 1);
	ASSERT(gc_moved(c, "ws/.git", "config"));
	ASSERT(gc_exists("ws/.git/hooks"));
	const struct sandbox_gitcheck_report *h = gc_find(r, n, "ws2/.git");
	ASSERT(h != NULL);
	ASSERT_STR_EQ(h->why, "hooks changed in a protected git dir");
	ASSERT_EQ(h->n_moved, 1);
	ASSERT(gc_moved(h, "ws2/.git", "hooks"));
	ASSERT(gc_exists("ws2/.git/config"));
	ASSERT(gc_exists("ws3/.git/hooks"));
	ASSERT(gc_exists("ws3/.git/commondir"));
	sandbox_gitcheck_free(r, n);
	return 0;
}

/*
 * A rebase stopped half way on the host goes on with `git rebase --continue`,
 * which runs the `exec` lines of its todo list: one that a command wrote
 * during the run is moved aside (git then stops), one the run did not touch
 * or without commands stays, and so does a cherry-pick sequence's likewise.
 */
TEST(gitcheck_rebase_todo_with_exec_moved_aside)
{
	gc_private();
	struct sandbox_gitcheck_report *r;
	size_t n;

	for (int i = 1; i <= 3; i++)
		ASSERT_EQ(gc_sh("git init -q ws%d && cd ws%d && for c in a b c; do echo $c > $c && "
		                "git add $c && git commit -qm $c; done && "
		                "GIT_SEQUENCE_EDITOR='sed -i 1s/^pick/edit/' git rebase -q -i HEAD~2 "
		                ">/dev/null 2>&1; test -f .git/rebase-merge/git-rebase-todo",
		                i, i),
		          0);
	ASSERT_EQ(gc_sh("git init -q ws4 && mkdir ws4/.git/sequencer"), 0);
	struct timespec since = gc_start();
	ASSERT_EQ(gc_sh("echo \"exec touch $PWD/ran\" >> ws1/.git/rebase-merge/git-rebase-todo && "
	                "cat ws3/.git/rebase-merge/git-rebase-todo > t && "
	                "cat t > ws3/.git/rebase-merge/git-rebase-todo && "
	                "printf '  x touch %%s/ran\\n' \"$PWD\" > ws4/.git/sequencer/todo"),
	          0);
	static const char *const roots[] = {"ws1", "ws2", "ws3", "ws4", NULL};
	static const char *const skip[] = {"ws1/.git", "ws2/.git", "ws3/.git", "ws4/.git", NULL};
	gc_scan(roots, skip, since, NULL, &r, &n);
	gc_dump(r, n);
	ASSERT_EQ(n, 2);
	const struct sandbox_gitcheck_report *a = gc_find(r, n, "ws1/.git");
	ASSERT(a != NULL);
	ASSERT_STR_EQ(a->why, "rebase-merge/git-rebase-todo changed and runs commands (exec)");
	ASSERT(gc_moved(a, "ws1/.git/rebase-merge", "git-rebase-todo"));
	ASSERT(gc_exists("ws1/.git/config"));
	const struct sandbox_gitcheck_report *b = gc_find(r, n, "ws4/.git");
	ASSERT(b != NULL);
	ASSERT(gc_moved(b, "ws4/.git/sequencer", "todo"));
	ASSERT(gc_exists("ws2/.git/rebase-merge/git-rebase-todo"));
	ASSERT(gc_exists("ws3/.git/rebase-merge/git-rebase-todo"));
	sandbox_gitcheck_free(r, n);
	/* Host git now stops rather than run the planted line. */
	gc_sh("cd ws1 && git rebase --continue >/dev/null 2>&1 || true");
	ASSERT(!gc_exists("ran"));
	return 0;
}

/*
 * Attacker's variants of the todo list above, each of which host git still
 * runs on `git rebase --continue`: the todo a symlink to a file with an exec
 * line, `rebase-merge` a symlink to a directory holding such a todo, and a
 * todo with its exec line after more than the check reads (1 MiB of
 * comments), a linked worktree's todo, and, with no exec line at all, a
 * merge strategy that names a program in the worktree (`x/evil` runs
 * ./git-merge-x/evil) in a rebase's strategy file or a cherry-pick's opts.
 * Each must be moved aside, so that host git runs none of them.
 */
TEST(gitcheck_rebase_todo_variants_host_git_would_run)
{
	gc_private();
	struct sandbox_gitcheck_report *r;
	size_t n;

	for (int i = 1; i <= 3; i++)
		ASSERT_EQ(gc_sh("git init -q ws%d && cd ws%d && for c in a b c; do echo $c > $c && "
		                "git add $c && git commit -qm $c; done && "
		                "GIT_SEQUENCE_EDITOR='sed -i 1s/^pick/edit/' git rebase -q -i HEAD~2 "
		                ">/dev/null 2>&1; test -f .git/rebase-merge/git-rebase-todo",
		                i, i),
		          0);
	/* A linked worktree's rebase keeps its state in the common dir's worktrees/NAME. */
	ASSERT_EQ(gc_sh("git init -q ws4 && cd ws4 && for c in a b c; do echo $c > $c && "
	                "git add $c && git commit -qm $c; done && git worktree add -q -b side wt && "
	                "cd wt && GIT_SEQUENCE_EDITOR='sed -i 1s/^pick/edit/' git rebase -q -i "
	                "HEAD~2 >/dev/null 2>&1; test -f ../.git/worktrees/wt/rebase-merge/git-rebase-todo"),
	          0);
	/* A rebase and a cherry-pick stopped half way, each with a pick left that needs a merge. */
	ASSERT_EQ(gc_sh("git init -q ws5 && cd ws5 && for c in a b c; do echo $c > $c && "
	                "git add $c && git commit -qm $c; done && "
	                "GIT_SEQUENCE_EDITOR='sed -i 1s/^pick/edit/' git rebase -q -i HEAD~2 "
	                ">/dev/null 2>&1; test -d .git/rebase-merge"),
	          0);
	ASSERT_EQ(
	    gc_sh("git init -q ws6 && cd ws6 && echo a > a && git add a && git commit -qm a && "
	          "git checkout -q -b side && for c in b c d; do echo $c > $c && git add $c && "
	          "git commit -qm $c; done && git checkout -q - && echo z > c && git add c && "
	          "git commit -qm z && { git cherry-pick side~2..side >/dev/null 2>&1 || true; } "
	          "&& test -f .git/sequencer/todo"),
	    0);
	struct timespec since = gc_start();
	/* No exec line: a merge strategy with a slash is a program in the worktree to git. */
	ASSERT_EQ(
	    gc_sh(
	        "for i in 5 6; do mkdir ws$i/git-merge-x && "
	        "printf '#!/bin/sh\\ntouch %%s/ran%%s\\nexit 1\\n' \"$PWD\" $i "
	        "> ws$i/git-merge-x/evil && chmod +x ws$i/git-merge-x/evil; done && "
	        "cd ws5 && git commit -q --amend -m b2 && echo x/evil > .git/rebase-merge/strategy "
	        "&& cd ../ws6 && echo y > c && git add c && "
	        "git config -f .git/sequencer/opts options.strategy x/evil"),
	    0);
	ASSERT_EQ(gc_sh("echo \"exec touch $PWD/ran4\" >> "
	                "ws4/.git/worktrees/wt/rebase-merge/git-rebase-todo"),
	          0);
	ASSERT_EQ(gc_sh("echo \"exec touch $PWD/ran1\" > ws1/evil && "
	                "rm ws1/.git/rebase-merge/git-rebase-todo && "
	                "ln -s \"$PWD/ws1/evil\" ws1/.git/rebase-merge/git-rebase-todo && "
	                "cp -a ws2/.git/rebase-merge ws2/rm && "
	                "echo \"exec touch $PWD/ran2\" >> ws2/rm/git-rebase-todo && "
	                "rm -rf ws2/.git/rebase-merge && ln -s ../rm ws2/.git/rebase-merge && "
	                "{ head -c 1100000 /dev/zero | tr '\\0' '#' | fold -w 100; echo; "
	                "echo \"exec touch $PWD/ran3\"; } >> ws3/.git/rebase-merge/git-rebase-todo"),
	          0);
	static const char *const roots[] = {"ws1", "ws2", "ws3", "ws4", "ws5", "ws6", NULL};
	static const char *const skip[] = {"ws1/.git", "ws2/.git", "ws3/.git", "ws4/.git",
	                                   "ws5/.git", "ws6/.git", NULL};
	gc_scan(roots, skip, since, NULL, &r, &n);
	gc_dump(r, n);
	sandbox_gitcheck_free(r, n);
	gc_sh("for i in 1 2 3 4/wt 5; do (cd ws$i && git rebase --continue >/dev/null 2>&1 || "
	      "true); done; cd ws6 && { git cherry-pick --continue >/dev/null 2>&1 || true; }");
	for (int i = 1; i <= 6; i++) {
		char *ran = xasprintf("ran%d", i);
		if (gc_exists(ran))
			fprintf(stderr, "  host git ran what was planted in ws%d\n", i);
		free(ran);
	}
	ASSERT(!gc_exists("ran1"));
	ASSERT(!gc_exists("ran2"));
	ASSERT(!gc_exists("ran3"));
	ASSERT(!gc_exists("ran4"));
	ASSERT(!gc_exists("ran5"));
	ASSERT(!gc_exists("ran6"));
	return 0;
}

/* Symlink loops and symlinked directories are not entered; a new .git symlink is renamed, not
 * followed. */
TEST(gitcheck_symlinks_not_followed)
{
	gc_private();
	struct sandbox_gitcheck_report *r;
	size_t n;

	ASSERT_EQ(gc_sh("mkdir -p ws/a ws/sub out"), 0);
	struct timespec since = gc_start();
	ASSERT_EQ(gc_sh("ln -s .. ws/a/up && ln -s loop2 ws/loop1 && ln -s loop1 ws/loop2 && "
	                "git init -q out/real && ln -s ../../out/real/.git ws/sub/.git && "
	                "ln -s ../out ws/outlink && git init -q ws/n && rm -rf ws/n/.git/hooks && "
	                "mkdir out/hooks && ln -s ../../../out/hooks ws/n/.git/hooks"),
	          0);
	gc_scan(ws_root, NULL, since, NULL, &r, &n);
	gc_dump(r, n);
	ASSERT_EQ(n, 2);
	const struct sandbox_gitcheck_report *l = gc_find(r, n, "ws/sub/.git");
	ASSERT(l != NULL);
	ASSERT_STR_EQ(l->why, "a .git symlink appeared");
	ASSERT(gc_moved(l, "ws/sub", ".git"));
	const struct sandbox_gitcheck_report *h = gc_find(r, n, "ws/n/.git");
	ASSERT(h != NULL);
	ASSERT(gc_moved(h, "ws/n/.git", "hooks"));
	/* What the links point to is untouched. */
	ASSERT(gc_exists("out/real/.git/config"));
	ASSERT(gc_exists("out/real/.git/hooks"));
	ASSERT(gc_exists("out/hooks"));
	ASSERT_EQ(gc_count_prefix("out", "hooks.airlock"), 0);
	sandbox_gitcheck_free(r, n);

	/* A root named through a link inside another root is walked on its own. */
	static const char *const roots[] = {"ws", "ws/outlink", "ws/a", NULL};
	gc_scan(roots, NULL, since, NULL, &r, &n);
	gc_dump(r, n);
	ASSERT(gc_find(r, n, "ws/outlink/real/.git") != NULL);
	ASSERT(!gc_exists("out/real/.git/config"));
	sandbox_gitcheck_free(r, n);
	return 0;
}

/* A walk that hits its entry or depth limit says it is incomplete, never passes silently. */
TEST(gitcheck_walk_limits_report_incomplete)
{
	gc_private();
	struct sandbox_gitcheck_report *r;
	size_t n;
	char *err, *json;
	struct sandbox_gitcheck_limits lim = {
	    .max_entries = 50, .max_depth = 64, .max_incomplete = 16};

	ASSERT_EQ(gc_sh("mkdir -p ws/many && for i in $(seq 100); do touch ws/many/f$i; done"), 0);
	struct timespec since = gc_start();
	ASSERT_EQ(gc_sh("git init -q ws/zz"), 0);
	gc_scan(ws_root, NULL, since, &lim, &r, &n);
	gc_dump(r, n);
	bool incomplete = false;
	for (size_t i = 0; i < n; i++)
		incomplete |= r[i].incomplete;
	ASSERT(incomplete);
	gc_print(r, n, &err, &json);
	ASSERT_CONTAINS(err, "airlock: git check incomplete at ");
	ASSERT_CONTAINS(err, "stopped after 50 directory entries");
	ASSERT_CONTAINS(json, "\"incomplete\":true");
	free(err);
	free(json);
	sandbox_gitcheck_free(r, n);

	/* Depth: a repository below the limit is not found, and the report says where. */
	lim = (struct sandbox_gitcheck_limits){
	    .max_entries = 1000, .max_depth = 3, .max_incomplete = 16};
	ASSERT_EQ(gc_sh("git init -q ws/d1/d2/d3/d4/r"), 0);
	gc_scan(ws_root, NULL, since, &lim, &r, &n);
	gc_dump(r, n);
	const struct sandbox_gitcheck_report *d = gc_find(r, n, "ws/d1/d2/d3/d4");
	ASSERT(d != NULL);
	ASSERT(d->incomplete);
	ASSERT_CONTAINS(d->why, "deeper than 3 levels");
	ASSERT(gc_exists("ws/d1/d2/d3/d4/r/.git/config"));
	sandbox_gitcheck_free(r, n);
	return 0;
}

/*
 * The walk's budget is the command's to spend: a directory of more entries
 * than the walk reads, made during the run where the listing comes before
 * `.git`, stopped the walk before it reached the root's own git dir, so an
 * exec line planted in its rebase todo stayed (only an "incomplete" line
 * was said). The protected git dirs (the plan names them) are checked
 * whatever the walk's budget.
 */
TEST(gitcheck_budget_spent_before_the_protected_git_dir)
{
	gc_private();
	struct sandbox_gitcheck_report *r;
	size_t n;
	struct sandbox_gitcheck_limits lim = {
	    .max_entries = 50, .max_depth = 64, .max_incomplete = 16};

	ASSERT_EQ(gc_sh("git init -q ws && cd ws && for c in a b c; do echo $c > $c && "
	                "git add $c && git commit -qm $c; done && "
	                "GIT_SEQUENCE_EDITOR='sed -i 1s/^pick/edit/' git rebase -q -i HEAD~2 "
	                ">/dev/null 2>&1; test -f .git/rebase-merge/git-rebase-todo"),
	          0);
	struct timespec since = gc_start();
	ASSERT_EQ(gc_sh("echo \"exec touch $PWD/ran\" >> ws/.git/rebase-merge/git-rebase-todo && "
	                "for d in a b c d e f g h; do mkdir ws/0$d && for i in $(seq 100); do "
	                ": > ws/0$d/f$i; done; done"),
	          0);
	gc_scan(ws_root, ws_skip, since, &lim, &r, &n);
	gc_dump(r, n);
	sandbox_gitcheck_free(r, n);
	gc_sh("cd ws && git rebase --continue >/dev/null 2>&1 || true");
	ASSERT(!gc_exists("ran"));
	return 0;
}

/*
 * The names a move aside takes are NAME.airlock-moved-<seconds>[-2..-100]
 * and the seconds are the check's start, which the command can guess: with
 * every one of them made in advance for the next few seconds, the move
 * found each taken and left the planted todo list in place (only an error
 * was said), so host git ran its exec line.
 */
TEST(gitcheck_move_aside_names_taken_in_advance)
{
	gc_private();
	struct sandbox_gitcheck_report *r;
	size_t n;

	ASSERT_EQ(gc_sh("git init -q ws && cd ws && for c in a b c; do echo $c > $c && "
	                "git add $c && git commit -qm $c; done && "
	                "GIT_SEQUENCE_EDITOR='sed -i 1s/^pick/edit/' git rebase -q -i HEAD~2 "
	                ">/dev/null 2>&1; test -f .git/rebase-merge/git-rebase-todo"),
	          0);
	struct timespec since = gc_start();
	ASSERT_EQ(gc_sh("echo \"exec touch $PWD/ran\" >> ws/.git/rebase-merge/git-rebase-todo && "
	                "cd ws/.git/rebase-merge && now=$(date +%%s) && "
	                "for s in $(seq $now $((now + 4))); do t=git-rebase-todo.airlock-moved-$s; "
	                ": > $t; for i in $(seq 2 100); do : > $t-$i; done; done"),
	          0);
	gc_scan(ws_root, ws_skip, since, NULL, &r, &n);
	gc_dump(r, n);
	sandbox_gitcheck_free(r, n);
	gc_sh("cd ws && git rebase --continue >/dev/null 2>&1 || true");
	ASSERT(!gc_exists("ran"));
	return 0;
}

/* What an attacker would try next: moves, hiding places, look-alikes, undoing a move. */
TEST(gitcheck_attacker_variants)
{
	gc_private();
	struct sandbox_gitcheck_report *r;
	size_t n;

	/* Before the run: a prepared non-repo, and a repo whose config was moved aside earlier. */
	ASSERT_EQ(
	    gc_sh("git init -q ws && mkdir -p ws/staging/hooks ws/m && "
	          "printf '[core]\\n\\tfsmonitor = touch /tmp/pwned\\n' > ws/staging/config && "
	          "touch ws/staging/HEAD && git init -q ws/old && "
	          "mv ws/old/.git/config ws/old/.git/config.airlock-moved-1"),
	    0);
	struct timespec since = gc_start();
	ASSERT_EQ(gc_sh(
	              /* a prepared directory renamed into place */
	              "mv ws/staging ws/m/.git && "
	              /* a repository hidden in the protected repo's object store, and beside it */
	              "mkdir -p ws/.git/objects/ab && git init -q ws/.git/objects/ab/r && "
	              "git init -q ws/.git/stash-x/r && "
	              /* a bare look-alike whose objects is a symlink */
	              "mkdir -p ws/bare/refs && echo 'ref: refs/heads/main' > ws/bare/HEAD && "
	              "ln -s ../.git/objects ws/bare/objects && echo '[core]' > ws/bare/config && "
	              /* undoing an earlier move */
	              "mv ws/old/.git/config.airlock-moved-1 ws/old/.git/config && "
	              /* another case, as a casefolded directory would take it */
	              "git init -q ws/cf && mv ws/cf/.git ws/cf/.GIT && "
	              "printf 'gitdir: ../../out\\n' > ws/m/.Git"),
	          0);
	gc_scan(ws_root, ws_skip, since, NULL, &r, &n);
	gc_dump(r, n);
	const struct sandbox_gitcheck_report *m = gc_find(r, n, "ws/m/.git");
	ASSERT(m != NULL);
	ASSERT(gc_moved(m, "ws/m/.git", "config"));
	ASSERT(gc_find(r, n, "ws/.git/objects/ab/r/.git") != NULL);
	ASSERT(gc_find(r, n, "ws/.git/stash-x/r/.git") != NULL);
	ASSERT(gc_find(r, n, "ws/bare") != NULL);
	ASSERT(gc_moved(gc_find(r, n, "ws/bare"), "ws/bare", "config"));
	const struct sandbox_gitcheck_report *o = gc_find(r, n, "ws/old/.git");
	ASSERT(o != NULL);
	ASSERT(!gc_exists("ws/old/.git/config"));
	/* The earlier moved name is taken: nothing is overwritten. */
	ASSERT(gc_moved(o, "ws/old/.git", "config"));
	ASSERT(gc_find(r, n, "ws/cf/.GIT") != NULL);
	ASSERT(gc_moved(gc_find(r, n, "ws/cf/.GIT"), "ws/cf/.GIT", "hooks"));
	ASSERT(gc_find(r, n, "ws/m/.Git") != NULL);
	ASSERT(gc_moved(gc_find(r, n, "ws/m/.Git"), "ws/m", ".Git"));
	ASSERT_EQ(n, 7);
	/* A terminal escape in a name is shown escaped in the pane. */
	sandbox_gitcheck_free(r, n);
	ASSERT_EQ(gc_sh("git init -q \"ws/$(printf 'e\\033[2Jx')\""), 0);
	gc_scan(ws_root, ws_skip, since, NULL, &r, &n);
	char *err, *json;
	gc_print(r, n, &err, &json);
	ASSERT_CONTAINS(err, "e\\x1b[2Jx/.git");
	ASSERT_NOT_CONTAINS(err, "\033");
	free(err);
	free(json);
	sandbox_gitcheck_free(r, n);
	return 0;
}

/*
 * A name that only looks like UTF-8 (a surrogate, an overlong form, a code
 * point above U+10FFFF) is not UTF-8: the audit line gets U+FFFD for each of
 * its bytes, as the audit log writes any other bytes that are not, and the
 * pane line gets them escaped.
 */
TEST(gitcheck_report_names_are_strict_utf8)
{
	static const char *const fakes[] = {"\xed\xa0\x80", "\xe0\x80\xaf", "\xf4\x90\x80\x80"};
	struct sandbox_gitcheck_report r = {0};
	char *err, *json;

	for (size_t i = 0; i < sizeof fakes / sizeof *fakes; i++) {
		r.path = xasprintf("/ws/a%sb/.git", fakes[i]);
		r.why = xstrdup("new, replaced or written to");
		r.moved[0] = xasprintf("/ws/a%sb/.git/config.airlock-moved-1", fakes[i]);
		r.n_moved = 1;
		gc_print(&r, 1, &err, &json);
		ASSERT(json != NULL && err != NULL);
		ASSERT_NOT_CONTAINS(json, fakes[i]);
		ASSERT_CONTAINS(json, "/ws/a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
		ASSERT_NOT_CONTAINS(err, fakes[i]);
		ASSERT_CONTAINS(err, "/ws/a\\x");
		free(err);
		free(json);
		free(r.moved[0]);
		free(r.why);
		free(r.path);
	}
	return 0;
}

/* An old repository whose hooks symlink names a directory in the worktree: a hook changed there
 * counts. */
TEST(gitcheck_hooks_kept_in_the_worktree)
{
	gc_private();
	struct sandbox_gitcheck_report *r;
	size_t n;

	ASSERT_EQ(gc_sh("git init -q ws && git init -q ws/sub && mkdir ws/sub/githooks && "
	                "printf '#!/bin/sh\\n' > ws/sub/githooks/pre-commit && "
	                "rm -rf ws/sub/.git/hooks && ln -s ../githooks ws/sub/.git/hooks && "
	                "git init -q ws/quiet && rm -rf ws/quiet/.git/hooks && "
	                "ln -s ../../sub/githooks ws/quiet/.git/hooks"),
	          0);
	struct timespec since = gc_start();
	ASSERT_EQ(gc_sh("echo 'touch /tmp/pwned' >> ws/sub/githooks/pre-commit"), 0);
	gc_scan(ws_root, ws_skip, since, NULL, &r, &n);
	gc_dump(r, n);
	/* Both repositories run that hook. */
	ASSERT_EQ(n, 2);
	const struct sandbox_gitcheck_report *h = gc_find(r, n, "ws/sub/.git");
	ASSERT(h != NULL);
	ASSERT_STR_EQ(h->why, "hooks/pre-commit changed");
	ASSERT(gc_moved(h, "ws/sub/.git", "hooks"));
	ASSERT(gc_find(r, n, "ws/quiet/.git") != NULL);
	/* The link is renamed; the worktree's files stay. */
	ASSERT(gc_exists("ws/sub/githooks/pre-commit"));
	ASSERT(!gc_exists("ws/sub/.git/hooks"));
	sandbox_gitcheck_free(r, n);
	return 0;
}

/* Mounts under a root are walked (a bind is as writable as the root), kernel file systems are not.
 */
TEST(gitcheck_crosses_mounts_but_not_kernel_file_systems)
{
	struct sandbox_gitcheck_report *r;
	size_t n;
	struct sandbox_gitcheck_limits lim = {
	    .max_entries = 2000, .max_depth = 64, .max_incomplete = 16};

	if (!gc_private())
		SKIP("cannot mount here (needs root or user namespaces)");
	ASSERT_EQ(gc_sh("mkdir -p ws/mnt ws/sys ws/other"), 0);
	char *mnt = gc_path("ws/mnt"), *sys = gc_path("ws/sys"), *other = gc_path("ws/other");
	ASSERT_EQ(mount("gitcheck-inner", mnt, "tmpfs", 0, "mode=0755"), 0);
	/* sysfs holds far more than 2000 entries: walking it would hit the limit. */
	bool kernel_fs = mount("sysfs", sys, "sysfs", MS_RDONLY, NULL) == 0;
	ASSERT_EQ(mount(mnt, other, NULL, MS_BIND, NULL), 0);
	struct timespec since = gc_start();
	ASSERT_EQ(gc_sh("git init -q ws/mnt/r"), 0);
	gc_scan(ws_root, NULL, since, &lim, &r, &n);
	gc_dump(r, n);
	/* Found once, through the first of its two paths. */
	ASSERT_EQ(n, 1);
	ASSERT(!r[0].incomplete);
	ASSERT(gc_find(r, n, "ws/mnt/r/.git") != NULL || gc_find(r, n, "ws/other/r/.git") != NULL);
	ASSERT(!gc_exists("ws/mnt/r/.git/config"));
	if (!kernel_fs)
		fprintf(stderr, "note: sysfs could not be mounted here; only the tmpfs part ran\n");
	sandbox_gitcheck_free(r, n);
	free(mnt);
	free(sys);
	free(other);
	return 0;
}

/*
 * As the unprivileged user, a command can chmod what it made so that its
 * owner cannot read or write it: such directories of the user's are opened
 * and renamed in all the same, and get their modes back.
 */
TEST(gitcheck_unreadable_dirs_of_the_user_are_checked)
{
	long uid = test_unprivileged_uid();
	struct stat st;
	int status;
	pid_t pid;

	if (uid < 0)
		SKIP("%s", test_unprivileged_skip_reason());
	gc_private();
	ASSERT_EQ(gc_sh("mkdir ws && chown %ld:%ld ws", uid, uid), 0);
	struct timespec since = gc_start();
	ASSERT_EQ(gc_sh_as((uid_t)uid,
	                   "mkdir ws/locked && git init -q ws/locked/r && chmod 100 ws/locked && "
	                   "git init -q ws/ro && chmod 555 ws/ro/.git && "
	                   "mkdir ws/nox && git init -q ws/nox/r && chmod 400 ws/nox"),
	          0);
	pid = fork();
	ASSERT(pid >= 0);
	if (pid == 0) {
		struct sandbox_gitcheck_report *r;
		size_t n;
		int bad = 0;

		if (test_become_unprivileged((uid_t)uid) != 0)
			_exit(10);
		gc_scan(ws_root, NULL, since, NULL, &r, &n);
		gc_dump(r, n);
		const struct sandbox_gitcheck_report *l = gc_find(r, n, "ws/locked/r/.git");
		const struct sandbox_gitcheck_report *o = gc_find(r, n, "ws/ro/.git");
		const struct sandbox_gitcheck_report *x = gc_find(r, n, "ws/nox/r/.git");
		bad |= n != 3;
		bad |= x == NULL || x->error != NULL || !gc_moved(x, "ws/nox/r/.git", "config");
		bad |= l == NULL || l->error != NULL || !gc_moved(l, "ws/locked/r/.git", "config");
		bad |= o == NULL || o->error != NULL || !gc_moved(o, "ws/ro/.git", "hooks");
		sandbox_gitcheck_free(r, n);
		_exit(bad ? 11 : 0);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 0);
	ASSERT(!gc_exists("ws/locked/r/.git/config"));
	ASSERT(!gc_exists("ws/ro/.git/config"));
	char *p = gc_path("ws/locked");
	ASSERT_EQ(stat(p, &st), 0);
	ASSERT_EQ(st.st_mode & 07777, 0100);
	free(p);
	p = gc_path("ws/ro/.git");
	ASSERT_EQ(stat(p, &st), 0);
	ASSERT_EQ(st.st_mode & 07777, 0555);
	free(p);
	p = gc_path("ws/nox");
	ASSERT_EQ(stat(p, &st), 0);
	ASSERT_EQ(st.st_mode & 07777, 0400);
	free(p);
	return 0;
}
