/*
 * After the run: the git repositories a sandboxed command planted or changed
 * inside the writable roots (SPEC section 3), made harmless for host git.
 *
 * The helper's mounts protect the repository each writable root had before
 * the run. Everything else a command can leave behind is found here, once it
 * has ended: a nested repository (a `.git` directory, a `.git` file with
 * "gitdir:", a `.git` symlink), a bare repository or a linked worktree's git
 * dir (a directory holding HEAD with objects and refs, or with commondir),
 * and a commondir or config.worktree that appeared inside a protected git dir
 * (the mounts cannot cover those names without breaking git), and, in any
 * git dir, a rebase or cherry-pick todo list written during the run with an
 * `exec` line in it (host git would run it on `--continue`; it is moved
 * aside, so git stops there instead), or a merge strategy git runs as a
 * program (`rebase-merge/strategy`, `sequencer/opts`); a new symlink for
 * either, or a todo too long to read whole, counts the same. Each such git
 * dir whose own entry, config, config.worktree, commondir, hooks or any hook
 * file has a ctime at or after the run's start is reported, and those names
 * are renamed to NAME.airlock-moved-<unix seconds> inside the same directory
 * (a `.git` file or symlink is renamed itself): nothing is ever deleted or
 * overwritten, and host git finds nothing to run. ctime is used because a
 * command can forge mtime with utimes(2) but not ctime; a rename changes the
 * ctime of what it moves, so a repository moved into place counts as new.
 * The price: a git dir that git merely wrote to (a commit in a nested
 * repository nobody protects) counts as well, as does whatever another
 * process made in a root while the command ran; ctime cannot tell them
 * apart. Names are compared without case (a casefolded directory takes
 * `.GIT` for `.git`).
 *
 * The walk goes through directory descriptors (openat, then getdents64 on
 * the same descriptor, for names with d_type), opens every directory with O_NOFOLLOW, never follows or
 * descends through a symlink, and stats only the few git names, entries of
 * unknown type, and each directory once (fstat of its own descriptor: its
 * device, for mounts and loops, and its ctime). It does cross into other
 * mounts below a root: bubblewrap binds the roots recursively, so a bind or
 * file system mounted inside a root is as writable inside as the root
 * itself; kernel file systems (proc, sysfs, cgroup, ...) are skipped, as the
 * sandbox cannot write them. A directory that is its own ancestor (a bind
 * mount loop) is not entered twice.
 *
 * An object store (a git dir's `objects`) is not read: git keeps only files
 * in its fan-out and pack directories, so one fstatat of each tells whether
 * something else hides there (a link count above 2 means a subdirectory;
 * where the file system does not count them, a ctime since the run's start
 * means it changed), and only then is it walked like any other directory.
 * Walks are bounded (entries read, depth); a limit hit, or a changed
 * directory that cannot be read, yields an "incomplete" report, never a
 * silent pass. A changed directory of this user's that a command made
 * unreadable (or read-only) gets u+rx (u+w) for the walk (the rename) and its
 * mode back afterwards.
 */
#include "sandbox/sandbox.h"

#include "core/utf8.h"
#include "core/xmalloc.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#define GITCHECK_GITDIR_MAX   4096 /* longest `.git` file read */
#define GITCHECK_RENAME_TRIES 100  /* NAME.airlock-moved-S, then -S-2 ... */
#define GITCHECK_SUFFIX       ".airlock-moved-"

/* Kernel file systems a sandboxed command cannot write (statfs f_type). */
static const unsigned long gitcheck_kernel_fs[] = {
    0x9fa0,     /* proc */
    0x62656572, /* sysfs */
    0x1cd1,     /* devpts */
    0x27e0eb,   /* cgroup */
    0x63677270, /* cgroup2 */
    0x64626720, /* debugfs */
    0x74726163, /* tracefs */
    0x73636673, /* securityfs */
    0xcafe4a11, /* bpf */
    0x6165676c, /* pstore */
    0x62656570, /* configfs */
    0x65735543, /* fusectl */
    0x19800202, /* mqueue */
    0x42494e4d, /* binfmt_misc */
    0xf97cff8c, /* selinuxfs */
    0xde5e81e4, /* efivarfs */
};

/* The names that make a git dir run code or read another repository's config. */
static const char *const gitcheck_items[] = {"config", "config.worktree", "commondir", "hooks"};
#define GITCHECK_N_ITEMS (sizeof gitcheck_items / sizeof gitcheck_items[0])

/* A directory already looked at, by identity. */
struct gitcheck_id {
	dev_t dev;
	ino_t ino;
};

/* One directory on the path being walked, for loop detection. */
struct gitcheck_frame {
	dev_t dev;
	ino_t ino;
	const struct gitcheck_frame *up;
};

/* The state of one scan. */
struct gitcheck {
	struct sandbox_gitcheck_limits lim;
	struct timespec since;
	char *const *roots;
	size_t n_roots;
	char *const *skip;
	size_t n_skip;
	long long stamp; /* the seconds in NAME.airlock-moved-S */
	size_t entries;  /* directory entries read so far */
	bool stopped;    /* the entry limit was hit: read nothing more */
	size_t n_incomplete;
	uid_t euid;                   /* the user the sandbox ran as (geteuid) */
	struct gitcheck_id *skip_ids; /* what each SKIP path is (lstat), or {0, 0} */
	struct gitcheck_id *seen;     /* git dirs checked */
	size_t n_seen, cap_seen;
	struct sandbox_gitcheck_report *v;
	size_t n, cap;
};

static void gitcheck_walk(struct gitcheck *g, int fd, const struct stat *st, const char *path,
                          size_t depth, bool dotgit, const struct gitcheck_frame *up);

/*
 * A directory listing read with getdents64 from a descriptor the walk
 * already holds: fdopendir would fstat and fcntl it again, three system
 * calls per directory for nothing. The descriptor stays the caller's.
 */
struct gitcheck_dir {
	int fd;
	size_t len, pos;
	bool done;
	union {
		struct dirent64 align;
		char bytes[16384];
	} buf;
};

/* A reader of FD, or NULL when FD is negative. */
static struct gitcheck_dir *gitcheck_dir_open(int fd)
{
	struct gitcheck_dir *d;

	if (fd < 0)
		return NULL;
	d = xmalloc(sizeof *d);
	d->fd = fd;
	d->len = d->pos = 0;
	d->done = false;
	return d;
}

/* The next entry but "." and "..", or NULL at the end or on an error (as readdir). */
static const struct dirent64 *gitcheck_dir_next(struct gitcheck_dir *d)
{
	for (;;) {
		if (d->pos >= d->len) {
			ssize_t n = d->done ? 0 : getdents64(d->fd, d->buf.bytes, sizeof d->buf.bytes);

			if (n <= 0) {
				d->done = true;
				return NULL;
			}
			d->len = (size_t)n;
			d->pos = 0;
		}
		const struct dirent64 *de = (const struct dirent64 *)(d->buf.bytes + d->pos);

		d->pos += de->d_reclen;
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			return de;
	}
}

/* Closes the reader and its descriptor. */
static void gitcheck_dir_close(struct gitcheck_dir *d)
{
	if (d == NULL)
		return;
	close(d->fd);
	free(d);
}

/* True when ST's ctime is at or after the run's start. */
static bool gitcheck_is_new(const struct gitcheck *g, const struct stat *st)
{
	/* A file system that keeps whole seconds (ext4 with small inodes, FAT, NFS) shows
	 * all three times without nanoseconds: there, the run's first second counts whole,
	 * or what a command changed in it would pass. */
	bool whole_seconds =
	    st->st_ctim.tv_nsec == 0 && st->st_mtim.tv_nsec == 0 && st->st_atim.tv_nsec == 0;

	return st->st_ctim.tv_sec > g->since.tv_sec ||
	       (st->st_ctim.tv_sec == g->since.tv_sec &&
	        (whole_seconds || st->st_ctim.tv_nsec >= g->since.tv_nsec));
}

/*
 * True when the command could have made the change ST shows: the inode is
 * this user's (what the sandbox creates is), or others may write it. Inside,
 * no capability overrides the mode bits, so another user's private file
 * changed by someone else (a clone of theirs in /tmp) is not the command's.
 */
static bool gitcheck_ours(const struct gitcheck *g, const struct stat *st)
{
	return st->st_uid == g->euid || (st->st_mode & (S_IWGRP | S_IWOTH)) != 0;
}

/* Appends an empty report for PATH; the pointer lives until the next add. */
static struct sandbox_gitcheck_report *gitcheck_add(struct gitcheck *g, const char *path,
                                                    const char *why)
{
	struct sandbox_gitcheck_report *r;

	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 8;
		g->v = xreallocarray(g->v, g->cap, sizeof *g->v);
	}
	r = &g->v[g->n++];
	memset(r, 0, sizeof *r);
	r->path = xstrdup(path);
	r->why = xstrdup(why);
	return r;
}

/* Records that PATH was not (fully) checked, and why; at most lim.max_incomplete of them. */
static void gitcheck_incomplete(struct gitcheck *g, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void gitcheck_incomplete(struct gitcheck *g, const char *path, const char *fmt, ...)
{
	struct sandbox_gitcheck_report *r;
	va_list ap;
	char *why;

	if (g->n_incomplete >= g->lim.max_incomplete)
		return;
	if (++g->n_incomplete == g->lim.max_incomplete) {
		why = xstrdup("more places were not checked (not listed)");
	} else {
		va_start(ap, fmt);
		why = xvasprintf(fmt, ap);
		va_end(ap);
	}
	r = gitcheck_add(g, path, why);
	r->incomplete = true;
	free(why);
}

/* Counts one directory entry read under PATH; false (and stops the scan) past the limit. */
static bool gitcheck_count(struct gitcheck *g, const char *path)
{
	if (g->stopped)
		return false;
	if (++g->entries <= g->lim.max_entries)
		return true;
	g->stopped = true;
	gitcheck_incomplete(g, path,
	                    "stopped after %zu directory entries; the rest was not checked",
	                    g->lim.max_entries);
	return false;
}

/*
 * True when PATH (stat ST) is one of the protected git dirs (or `.git`
 * entries) in the skip list, by name or by identity (another spelling or
 * mount of the same directory).
 */
static bool gitcheck_skipped(const struct gitcheck *g, const char *path, const struct stat *st)
{
	for (size_t i = 0; i < g->n_skip; i++)
		if (strcmp(g->skip[i], path) == 0 ||
		    (g->skip_ids[i].ino != 0 && g->skip_ids[i].dev == st->st_dev &&
		     g->skip_ids[i].ino == st->st_ino))
			return true;
	return false;
}

/* True when the directory ST was checked already as a git dir; else remembers it. */
static bool gitcheck_seen(struct gitcheck *g, const struct stat *st)
{
	for (size_t i = 0; i < g->n_seen; i++)
		if (g->seen[i].dev == st->st_dev && g->seen[i].ino == st->st_ino)
			return true;
	if (g->n_seen == g->cap_seen) {
		g->cap_seen = g->cap_seen ? g->cap_seen * 2 : 16;
		g->seen = xreallocarray(g->seen, g->cap_seen, sizeof *g->seen);
	}
	g->seen[g->n_seen++] = (struct gitcheck_id){st->st_dev, st->st_ino};
	return false;
}

/* Renames NAME to TO in DFD without replacing anything; 0 or -1 with errno. */
static int gitcheck_rename(int dfd, const char *name, const char *to)
{
	struct stat st;

	if (renameat2(dfd, name, dfd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* No RENAME_NOREPLACE on this file system: check, then rename. */
	if (fstatat(dfd, to, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		errno = EEXIST;
		return -1;
	}
	return renameat(dfd, name, dfd, to);
}

/*
 * True when NAME in DFD is harmless to git whatever it is named: an empty
 * file or directory, or a file holding only "." (as commondir: this same
 * directory). That is also what a running sandbox's covers look like, and
 * renaming a mount point would detach that sandbox's mount.
 */
static bool gitcheck_harmless(int dfd, const char *name)
{
	struct stat st;
	struct gitcheck_dir *d;
	bool empty;
	char buf[2];
	int fd;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return false;
	if (S_ISREG(st.st_mode) && st.st_size == 0)
		return true;
	if (S_ISREG(st.st_mode) && st.st_size <= 2) {
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		ssize_t n = fd >= 0 ? pread(fd, buf, sizeof buf, 0) : -1;
		if (fd >= 0)
			close(fd);
		return n == st.st_size && buf[0] == '.' && (n == 1 || buf[1] == '\n');
	}
	if (!S_ISDIR(st.st_mode) ||
	    (fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return false;
	d = gitcheck_dir_open(fd);
	empty = gitcheck_dir_next(d) == NULL;
	gitcheck_dir_close(d);
	return empty;
}

/*
 * Renames NAME (in the directory DFD, at DIRPATH) to NAME.airlock-moved-S
 * (-S-2 ... when taken, then -S-<random hex>: the command may have made
 * every name it could guess) without following it or replacing anything,
 * and records it in R (or the failure in R->error). A harmless one (see
 * above) is left in place. A
 * directory of this user's that a command made read-only gets u+w for the
 * rename, then its mode back.
 */
static void gitcheck_move(struct gitcheck *g, struct sandbox_gitcheck_report *r, int dfd,
                          const char *dirpath, const char *name)
{
	struct stat dst;
	bool chmodded = false;
	int err = 0;

	if (gitcheck_harmless(dfd, name))
		return;
	/* After the names a command can guess and make in advance, a few it cannot. */
	for (int i = 1; i <= GITCHECK_RENAME_TRIES + 4; i++) {
		unsigned long long nonce = 0;
		char *to;

		if (i > GITCHECK_RENAME_TRIES &&
		    getrandom(&nonce, sizeof nonce, 0) != (ssize_t)sizeof nonce)
			nonce = (unsigned long long)getpid() * 2654435761u ^ (unsigned long long)i;
		to = i == 1 ? xasprintf("%s" GITCHECK_SUFFIX "%lld", name, g->stamp)
		     : i <= GITCHECK_RENAME_TRIES
		         ? xasprintf("%s" GITCHECK_SUFFIX "%lld-%d", name, g->stamp, i)
		         : xasprintf("%s" GITCHECK_SUFFIX "%lld-%016llx", name, g->stamp, nonce);
		int rc = gitcheck_rename(dfd, name, to);

		if (rc != 0 && (errno == EACCES || errno == EPERM) && !chmodded &&
		    fstat(dfd, &dst) == 0 && dst.st_uid == g->euid &&
		    fchmod(dfd, (dst.st_mode & 07777) | S_IWUSR | S_IXUSR) == 0) {
			chmodded = true;
			rc = gitcheck_rename(dfd, name, to);
		}
		err = rc == 0 ? 0 : errno;
		if (rc == 0 && r->n_moved < SANDBOX_GITCHECK_MAX_MOVED)
			r->moved[r->n_moved++] = sandbox__join(dirpath, to);
		free(to);
		if (err != EEXIST)
			break;
	}
	if (chmodded)
		(void)fchmod(dfd, dst.st_mode & 07777);
	if (err != 0 && err != ENOENT && r->error == NULL)
		r->error = xasprintf("could not move %s aside: %s", name, strerror(err));
}

/*
 * Opens the directory PATH, which lies under ROOT, one component at a time
 * with O_NOFOLLOW (a symlink anywhere below ROOT refuses); -1 on failure.
 */
static int gitcheck_open_beneath(const char *root, const char *path)
{
	size_t rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *rest = xstrdup(path + rl), *save = NULL;

	for (char *c = strtok_r(rest, "/", &save); c != NULL && fd >= 0;
	     c = strtok_r(NULL, "/", &save)) {
		int next = strcmp(c, "..") == 0
		               ? -1
		               : openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
	}
	free(rest);
	return fd;
}

/* The first entry of the hooks directory FD (owned) changed since the start, or NULL. */
static char *gitcheck_hooks_dir_changed(struct gitcheck *g, int fd, const char *path)
{
	struct gitcheck_dir *d = gitcheck_dir_open(fd);
	const struct dirent64 *de;
	char *why = NULL;

	if (d == NULL)
		return NULL;
	while (why == NULL && (de = gitcheck_dir_next(d)) != NULL) {
		struct stat st;

		if (!gitcheck_count(g, path))
			break;
		if (fstatat(d->fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    gitcheck_is_new(g, &st))
			why = xasprintf("hooks/%s changed", de->d_name);
	}
	gitcheck_dir_close(d);
	return why;
}

/*
 * The state host git goes on with (`git rebase --continue`, `git cherry-pick
 * --continue`): the todo lists, whose `exec` lines it runs, and where it
 * takes a merge strategy from, which it runs as the program `git-merge-NAME`
 * (a NAME with a slash is a path from the worktree's top).
 */
static const char *const gitcheck_todos[][2] = {{"rebase-merge", "git-rebase-todo"},
                                                {"sequencer", "todo"},
                                                {"rebase-merge", "strategy"},
                                                {"sequencer", "opts"}};
#define GITCHECK_N_TODOS (sizeof gitcheck_todos / sizeof gitcheck_todos[0])
#define GITCHECK_TODO_MAX (1024 * 1024) /* bytes of a todo list read */

/* True when the todo list NAME in DFD has an `exec`/`x` line (a command host git would run),
 * or cannot be read whole (git reads all of it: fail closed). */
static bool gitcheck_todo_execs(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	char line[4096];
	size_t read = 0;
	bool found = false;

	if (f == NULL) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	/* A line longer than the buffer goes on in the next piece, which may read as one
	 * more line: that can only find more, never less. */
	while (!found && read < GITCHECK_TODO_MAX && fgets(line, sizeof line, f) != NULL) {
		const char *p = line + strspn(line, " \t");
		size_t n = strcspn(p, " \t\r\n");

		read += strlen(line);
		found = (n == 1 && p[0] == 'x') || (n == 4 && strncmp(p, "exec", 4) == 0);
	}
	/* Git reads past where this stops: what it would find there is unknown. */
	if (!found && read >= GITCHECK_TODO_MAX)
		found = true;
	fclose(f);
	return found;
}

/* The merge strategies git has itself; any other runs a program of that name. */
static const char *const gitcheck_strategies[] = {"ort",     "recursive", "resolve",
                                                  "octopus", "ours",      "subtree"};

/*
 * True when the strategy file NAME in DFD (one line, as `git rebase -s`
 * writes it) names a strategy git does not have itself, or when the options
 * file (git config syntax, as `git cherry-pick` writes it) names a strategy
 * at all: parsing it as git would is more than this check needs.
 */
static bool gitcheck_strategy_runs(int dfd, const char *name, bool config)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	char buf[8192];
	ssize_t n;
	bool runs = true;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0 || (size_t)n == sizeof buf - 1)
		return true; /* unread or longer than any real one: fail closed */
	buf[n] = '\0';
	if (memchr(buf, '\0', (size_t)n) != NULL)
		return true;
	if (config)
		return strcasestr(buf, "strategy") != NULL;
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	for (size_t i = 0; i < sizeof gitcheck_strategies / sizeof gitcheck_strategies[0]; i++)
		runs = runs && strcmp(buf, gitcheck_strategies[i]) != 0;
	return runs;
}

/* True when the state file I of gitcheck_todos in DFD makes host git run a command. */
static bool gitcheck_state_runs(int dfd, size_t i)
{
	if (strcmp(gitcheck_todos[i][1], "strategy") == 0)
		return gitcheck_strategy_runs(dfd, gitcheck_todos[i][1], false);
	if (strcmp(gitcheck_todos[i][1], "opts") == 0)
		return gitcheck_strategy_runs(dfd, gitcheck_todos[i][1], true);
	return gitcheck_todo_execs(dfd, gitcheck_todos[i][1]);
}

/*
 * The todo lists of the git dir GFD that changed since the start and run
 * commands: *DIRS gets each one's directory descriptor (-1: none; -2: the state
 * directory itself is a new symlink, moved aside whole); the first one's reason, or NULL.
 */
static char *gitcheck_todos_changed(struct gitcheck *g, int gfd, int dirs[GITCHECK_N_TODOS])
{
	char *why = NULL;

	for (size_t i = 0; i < GITCHECK_N_TODOS; i++) {
		struct stat st;
		int fd = openat(gfd, gitcheck_todos[i][0], O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		                                               O_CLOEXEC);
		bool moved = false;

		dirs[i] = -1;
		for (size_t j = 0; j < i; j++)
			moved |= dirs[j] == -2 &&
			         strcmp(gitcheck_todos[j][0], gitcheck_todos[i][0]) == 0;
		/* Host git follows a symlinked state directory or todo, this check does not:
		 * a new one is moved aside whatever it points at. */
		if (fd < 0 && !moved &&
		    fstatat(gfd, gitcheck_todos[i][0], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode) && gitcheck_is_new(g, &st) && gitcheck_ours(g, &st)) {
			dirs[i] = -2;
			if (why == NULL)
				why = xasprintf("%s changed into a symlink (git would follow it)",
				                gitcheck_todos[i][0]);
			continue;
		}
		if (fd < 0)
			continue;
		if (fstatat(fd, gitcheck_todos[i][1], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    gitcheck_is_new(g, &st) && gitcheck_ours(g, &st) &&
		    (!S_ISREG(st.st_mode) || gitcheck_state_runs(fd, i))) {
			dirs[i] = fd;
			if (why == NULL)
				why =
				    xasprintf("%s/%s changed and runs commands (%s)",
				              gitcheck_todos[i][0], gitcheck_todos[i][1],
				              i < 2 ? "exec" : "merge strategy"); /* todos first */
		} else {
			close(fd);
		}
	}
	return why;
}

/*
 * The first hook of the git dir GFD (at PATH) changed since the start, or
 * NULL. When `hooks` is a symlink (hooks kept in the worktree), the
 * directory it names is looked at if it lies inside a writable root, opened
 * without following any further link.
 */
static char *gitcheck_hook_changed(struct gitcheck *g, int gfd, const char *path)
{
	char link[PATH_MAX], *joined, *target, *why = NULL;
	ssize_t n = readlinkat(gfd, "hooks", link, sizeof link - 1);
	struct stat st;
	int fd;

	if (n < 0)
		return gitcheck_hooks_dir_changed(
		    g, openat(gfd, "hooks", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), path);
	link[n] = '\0';
	joined = link[0] == '/' ? xstrdup(link) : sandbox__join(path, link);
	target = policy_path_normalize(joined);
	for (size_t i = 0; i < g->n_roots && why == NULL; i++) {
		if (!policy_path_is_under(g->roots[i], target))
			continue;
		fd = gitcheck_open_beneath(g->roots[i], target);
		if (fd >= 0 && fstat(fd, &st) == 0 && gitcheck_is_new(g, &st))
			why = xasprintf("hooks (%s) changed", target);
		if (why == NULL)
			why = gitcheck_hooks_dir_changed(g, fd, path);
		else if (fd >= 0)
			close(fd);
		break;
	}
	free(target);
	free(joined);
	return why;
}

/*
 * Checks the git dir GFD (at PATH, stat ST) whose entry (the `.git` name or,
 * for a bare repository, the directory itself) has ENTRY_ST: when it or a
 * code-running name in it changed since the start, moves those names aside
 * and reports it. In a protected (skipped) git dir, which git writes to
 * freely, only the code-running names count, and only those that changed
 * are moved: the mounts keep config and hooks read-only for the command, so
 * a change there means the command reached them anyway (another sandbox's
 * check renamed a mount point away, say) or someone outside edited them.
 * Harmless files and directories (empty; a commondir of ".") never count:
 * they are also what a running sandbox's covers look like.
 */
static void gitcheck_gitdir(struct gitcheck *g, int gfd, const struct stat *st, const char *path,
                            const struct stat *entry_st)
{
	bool skipped = gitcheck_skipped(g, path, st);
	bool exists[GITCHECK_N_ITEMS], changed[GITCHECK_N_ITEMS];
	struct sandbox_gitcheck_report *r;
	char *why = NULL;

	if (gitcheck_seen(g, st))
		return;
	for (size_t i = 0; i < GITCHECK_N_ITEMS; i++) {
		struct stat ist;

		exists[i] = fstatat(gfd, gitcheck_items[i], &ist, AT_SYMLINK_NOFOLLOW) == 0;
		changed[i] = exists[i] && gitcheck_is_new(g, &ist) && gitcheck_ours(g, &ist) &&
		             !gitcheck_harmless(gfd, gitcheck_items[i]);
	}
	if (!skipped && gitcheck_ours(g, entry_st) && gitcheck_is_new(g, entry_st))
		why = xstrdup("new, replaced or written to");
	for (size_t i = 0; i < GITCHECK_N_ITEMS && why == NULL; i++)
		if (changed[i])
			why = xasprintf("%s changed%s", gitcheck_items[i],
			                skipped ? " in a protected git dir" : "");
	if (why == NULL && exists[3] && (why = gitcheck_hook_changed(g, gfd, path)) != NULL)
		changed[3] = true;
	int todo_dirs[GITCHECK_N_TODOS];
	char *todo_why = gitcheck_todos_changed(g, gfd, todo_dirs);
	if (why == NULL)
		why = todo_why;
	else
		free(todo_why);
	if (why == NULL)
		return;
	r = gitcheck_add(g, path, why);
	for (size_t i = 0; i < GITCHECK_N_ITEMS; i++)
		if (skipped ? changed[i] : exists[i])
			gitcheck_move(g, r, gfd, path, gitcheck_items[i]);
	/* A todo list with commands a command wrote: host git stops instead of running them. */
	for (size_t i = 0; i < GITCHECK_N_TODOS; i++) {
		if (todo_dirs[i] == -2)
			gitcheck_move(g, r, gfd, path, gitcheck_todos[i][0]);
		if (todo_dirs[i] < 0)
			continue;
		char *dir = sandbox__join(path, gitcheck_todos[i][0]);
		gitcheck_move(g, r, todo_dirs[i], dir, gitcheck_todos[i][1]);
		free(dir);
		close(todo_dirs[i]);
	}
	free(why);
}

/* Reads the "gitdir: P" of the `.git` file NAME in DFD (at DIRPATH); P absolute, or NULL. */
static char *gitcheck_read_gitdir(int dfd, const char *dirpath, const char *name)
{
	char buf[GITCHECK_GITDIR_MAX + 1], *p, *nl, *joined, *abs;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return NULL;
	}
	n = read(fd, buf, GITCHECK_GITDIR_MAX);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	if (strncmp(buf, "gitdir:", 7) != 0)
		return NULL;
	p = buf + 7;
	while (*p == ' ' || *p == '\t')
		p++;
	if ((nl = strpbrk(p, "\r\n")) != NULL)
		*nl = '\0';
	if (*p == '\0')
		return NULL;
	joined = *p == '/' ? xstrdup(p) : sandbox__join(dirpath, p);
	abs = policy_path_normalize(joined);
	free(joined);
	return abs;
}

/*
 * The `.git` entry of DFD (at DIRPATH) that is not a directory (stat ST): a
 * new one is reported and renamed aside (host git would follow it); the git
 * dir a `.git` file names is checked when it lies inside a writable root.
 */
static void gitcheck_dotgit_entry(struct gitcheck *g, int dfd, const char *dirpath,
                                  const char *name, const struct stat *st)
{
	char *entry = sandbox__join(dirpath, name);
	char *target = S_ISREG(st->st_mode) ? gitcheck_read_gitdir(dfd, dirpath, name) : NULL;

	if (!gitcheck_skipped(g, entry, st) && gitcheck_is_new(g, st)) {
		char *why = S_ISLNK(st->st_mode) ? xstrdup("a .git symlink appeared")
		            : target != NULL
		                ? xasprintf("a .git file appeared (gitdir: %s)", target)
		            : S_ISREG(st->st_mode) ? xstrdup("a .git file appeared")
		                                   : xstrdup("a .git entry appeared");
		struct sandbox_gitcheck_report *r = gitcheck_add(g, entry, why);

		gitcheck_move(g, r, dfd, dirpath, name);
		free(why);
	}
	for (size_t i = 0; target != NULL && i < g->n_roots; i++) {
		struct stat tst;
		int tfd;

		if (!policy_path_is_under(g->roots[i], target))
			continue;
		tfd = gitcheck_open_beneath(g->roots[i], target);
		if (tfd >= 0 && fstat(tfd, &tst) == 0)
			gitcheck_gitdir(g, tfd, &tst, target, &tst);
		if (tfd >= 0)
			close(tfd);
		break;
	}
	free(target);
	free(entry);
}

/*
 * Opens, for reading, the directory NAME of DFD that changed since the start
 * but that this user cannot read, when it is this user's own (a command can
 * chmod what it made): adds u+rx and sets *RESTORE to the mode to put back
 * through the descriptor after the walk. -1 when that does not apply.
 */
static int gitcheck_open_own(const struct gitcheck *g, int dfd, const char *name, mode_t *restore)
{
	int pfd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC), fd = -1;
	struct stat st;
	char *proc;

	if (pfd < 0)
		return -1;
	if (fstat(pfd, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == g->euid &&
	    gitcheck_is_new(g, &st)) {
		proc = xasprintf("/proc/self/fd/%d", pfd);
		if (chmod(proc, (st.st_mode & 07777) | S_IRUSR | S_IXUSR) == 0) {
			fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd >= 0)
				*restore = st.st_mode & 07777;
			else
				(void)chmod(proc, st.st_mode & 07777);
		}
		free(proc);
	}
	close(pfd);
	return fd;
}

/*
 * Opens the subdirectory NAME of DFD (at PATH, on device PARENT_DEV) without
 * following a symlink; fills ST. Returns -1 when it is not to be walked (gone,
 * a symlink, a kernel file system) and reports one that changed but cannot be
 * read. When RESTORE is not NULL, a changed directory of this user's that it
 * cannot read is made readable for the walk and *RESTORE set to its mode
 * (else it stays (mode_t)-1).
 */
static int gitcheck_open_dir(struct gitcheck *g, int dfd, const char *name, const char *path,
                             dev_t parent_dev, struct stat *st, mode_t *restore)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct statfs sf;

	if (restore != NULL)
		*restore = (mode_t)-1;
	if (fd < 0 && errno == EACCES && restore != NULL) {
		fd = gitcheck_open_own(g, dfd, name, restore);
		if (fd < 0)
			errno = EACCES;
	}
	if (fd < 0) {
		int err = errno;
		/* Only where a command could have written: this user's, or group/other-writable. */
		if (err != ENOENT && err != ENOTDIR && err != ELOOP &&
		    (fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) != 0 ||
		     (gitcheck_is_new(g, st) &&
		      (st->st_uid == g->euid || (st->st_mode & (S_IWGRP | S_IWOTH)) != 0))))
			gitcheck_incomplete(g, path, "cannot read it: %s", strerror(err));
		return -1;
	}
	if (fstat(fd, st) != 0) {
		close(fd);
		return -1;
	}
	/* Readable but not searchable (mode 0400): its entries cannot be opened either. */
	if (restore != NULL && *restore == (mode_t)-1 && st->st_uid == g->euid &&
	    (st->st_mode & (S_IRUSR | S_IXUSR)) != (S_IRUSR | S_IXUSR) && gitcheck_is_new(g, st) &&
	    fchmod(fd, (st->st_mode & 07777) | S_IRUSR | S_IXUSR) == 0)
		*restore = st->st_mode & 07777;
	if (st->st_dev != parent_dev && fstatfs(fd, &sf) == 0)
		for (size_t i = 0; i < sizeof gitcheck_kernel_fs / sizeof gitcheck_kernel_fs[0];
		     i++)
			if ((unsigned long)sf.f_type == gitcheck_kernel_fs[i]) {
				close(fd);
				return -1;
			}
	return fd;
}

/* True when NAME is a fan-out directory of an object store (two hex digits). */
static bool gitcheck_fanout(const char *name)
{
	return isxdigit((unsigned char)name[0]) && isxdigit((unsigned char)name[1]) &&
	       name[2] == '\0';
}

/* Enters the subdirectory NAME of DFD (at PATH) at DEPTH, within the limits. */
static void gitcheck_enter(struct gitcheck *g, int dfd, const struct stat *dst, const char *path,
                           const char *name, size_t depth, const struct gitcheck_frame *up)
{
	char *child = sandbox__join(path, name);
	struct stat st;
	mode_t restore;
	int fd;

	if (depth > g->lim.max_depth) {
		gitcheck_incomplete(g, child, "deeper than %zu levels; not checked",
		                    g->lim.max_depth);
	} else if ((fd = gitcheck_open_dir(g, dfd, name, child, dst->st_dev, &st, &restore)) >= 0) {
		bool loop = false;
		int keep = restore != (mode_t)-1 ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : -1;

		for (const struct gitcheck_frame *f = up; f != NULL && !loop; f = f->up)
			loop = f->dev == st.st_dev && f->ino == st.st_ino;
		if (loop)
			close(fd);
		else
			gitcheck_walk(g, fd, &st, child, depth, strcasecmp(name, ".git") == 0, up);
		if (keep >= 0) {
			(void)fchmod(keep, restore);
			close(keep);
		}
	}
	free(child);
}

/*
 * The object store OBJECTS of a git dir (DFD at PATH): its fan-out and pack
 * directories are walked only when they hold a subdirectory (link count), or,
 * where the file system does not count those, when they changed.
 */
static void gitcheck_objects(struct gitcheck *g, int dfd, const struct stat *dst, const char *path,
                             size_t depth, const struct gitcheck_frame *up)
{
	char *opath = sandbox__join(path, "objects");
	struct stat ost;
	struct gitcheck_dir *d;
	const struct dirent64 *de;

	if (depth > g->lim.max_depth) {
		gitcheck_incomplete(g, opath, "deeper than %zu levels; not checked",
		                    g->lim.max_depth);
		free(opath);
		return;
	}
	d = gitcheck_dir_open(gitcheck_open_dir(g, dfd, "objects", opath, dst->st_dev, &ost, NULL));
	if (d == NULL) {
		free(opath);
		return;
	}
	struct gitcheck_frame frame = {ost.st_dev, ost.st_ino, up};
	while ((de = gitcheck_dir_next(d)) != NULL) {
		struct stat st;

		if (!gitcheck_count(g, opath))
			break;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (gitcheck_fanout(de->d_name) || strcmp(de->d_name, "pack") == 0) {
			if (fstatat(d->fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
			    !S_ISDIR(st.st_mode))
				continue;
			if (st.st_nlink == 2 || (st.st_nlink < 2 && !gitcheck_is_new(g, &st)))
				continue; /* only files, as git keeps it */
		}
		gitcheck_enter(g, d->fd, &ost, opath, de->d_name, depth + 1, &frame);
	}
	gitcheck_dir_close(d);
	free(opath);
}

/* Remembers a subdirectory name to enter after the listing. */
static void gitcheck_push(char ***names, size_t *n, size_t *cap, const char *name)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*names = xreallocarray(*names, *cap, sizeof **names);
	}
	(*names)[(*n)++] = xstrdup(name);
}

/*
 * Walks the directory FD (owned; stat ST, at PATH, DEPTH below its root;
 * DOTGIT when it is named `.git`): lists it, checks it when it is a git dir
 * and a `.git` entry that is not a directory, then enters its subdirectories.
 */
static void gitcheck_walk(struct gitcheck *g, int fd, const struct stat *st, const char *path,
                          size_t depth, bool dotgit, const struct gitcheck_frame *up)
{
	struct gitcheck_dir *d = gitcheck_dir_open(fd);
	const struct dirent64 *de;
	char **subdirs = NULL;
	size_t n_subdirs = 0, cap_subdirs = 0;
	bool head = false, objects = false, refs = false, commondir = false, gitname = false;
	char **dotgits = NULL; /* `.git` entries that are not directories */
	size_t n_dotgits = 0, cap_dotgits = 0;
	struct gitcheck_frame frame = {st->st_dev, st->st_ino, up};

	if (d == NULL)
		return;
	while ((de = gitcheck_dir_next(d)) != NULL) {
		const char *name = de->d_name;
		unsigned char type = de->d_type;
		struct stat est;

		if (!gitcheck_count(g, path))
			break;
		if (type == DT_UNKNOWN) {
			if (fstatat(fd, name, &est, AT_SYMLINK_NOFOLLOW) != 0)
				continue;
			type = S_ISDIR(est.st_mode)   ? DT_DIR
			       : S_ISLNK(est.st_mode) ? DT_LNK
			                              : DT_REG;
		}
		head |= strcasecmp(name, "HEAD") == 0;
		objects |= strcasecmp(name, "objects") == 0;
		refs |= strcasecmp(name, "refs") == 0;
		commondir |= strcasecmp(name, "commondir") == 0;
		for (size_t i = 0; i < GITCHECK_N_ITEMS; i++)
			gitname |= strcasecmp(name, gitcheck_items[i]) == 0;
		if (type == DT_DIR)
			gitcheck_push(&subdirs, &n_subdirs, &cap_subdirs, name);
		else if (strcasecmp(name, ".git") == 0)
			gitcheck_push(&dotgits, &n_dotgits, &cap_dotgits, name);
	}
	/* A `.git` directory with any git name in it, or a bare or worktree git dir. */
	bool gitdir = (dotgit && (head || objects || refs || commondir || gitname)) ||
	              (head && ((objects && refs) || commondir));
	if (gitdir && !g->stopped)
		gitcheck_gitdir(g, fd, st, path, st);
	for (size_t i = 0; i < n_dotgits; i++) {
		struct stat est;

		if (!g->stopped && fstatat(fd, dotgits[i], &est, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !S_ISDIR(est.st_mode))
			gitcheck_dotgit_entry(g, fd, path, dotgits[i], &est);
		free(dotgits[i]);
	}
	free(dotgits);
	for (size_t i = 0; i < n_subdirs; i++) {
		if (!g->stopped && gitdir && strcasecmp(subdirs[i], "objects") == 0)
			gitcheck_objects(g, fd, st, path, depth + 1, &frame);
		else if (!g->stopped)
			gitcheck_enter(g, fd, st, path, subdirs[i], depth + 1, &frame);
		free(subdirs[i]);
	}
	free(subdirs);
	gitcheck_dir_close(d);
}

/* Scans with the default limits. */
int sandbox_gitcheck_scan(char *const *roots, size_t n_roots, char *const *skip, size_t n_skip,
                          struct timespec since, struct sandbox_gitcheck_report **out,
                          size_t *n_out)
{
	struct sandbox_gitcheck_limits lim = {
	    .max_entries = SANDBOX_GITCHECK_MAX_ENTRIES,
	    .max_depth = SANDBOX_GITCHECK_MAX_DEPTH,
	    .max_incomplete = SANDBOX_GITCHECK_MAX_INCOMPLETE,
	};

	return sandbox_gitcheck_scan_limited(roots, n_roots, skip, n_skip, since, &lim, out, n_out);
}

/*
 * True when root I is the same as an earlier root, or lies under another
 * root without a symlink on the way (so that root's walk reaches it).
 */
static bool gitcheck_root_covered(char *const *roots, size_t n_roots, size_t i)
{
	for (size_t j = 0; j < n_roots; j++) {
		int fd;

		if (j == i)
			continue;
		if (strcmp(roots[j], roots[i]) == 0) {
			if (j < i)
				return true;
			continue;
		}
		if (!policy_path_is_under(roots[j], roots[i]))
			continue;
		fd = gitcheck_open_beneath(roots[j], roots[i]);
		if (fd >= 0) {
			close(fd);
			return true;
		}
	}
	return false;
}

/* Scans ROOTS within LIM; see sandbox.h. */
int sandbox_gitcheck_scan_limited(char *const *roots, size_t n_roots, char *const *skip,
                                  size_t n_skip, struct timespec since,
                                  const struct sandbox_gitcheck_limits *lim,
                                  struct sandbox_gitcheck_report **out, size_t *n_out)
{
	struct gitcheck g = {
	    .lim = *lim,
	    .since = since,
	    .roots = roots,
	    .n_roots = n_roots,
	    .skip = skip,
	    .n_skip = n_skip,
	    .stamp = (long long)time(NULL),
	    .euid = geteuid(),
	};

	*out = NULL;
	*n_out = 0;
	if (g.lim.max_incomplete == 0)
		g.lim.max_incomplete = 1;
	for (size_t i = 0; i < n_roots; i++)
		if (roots[i][0] != '/')
			return -EINVAL;
	g.skip_ids = xcalloc(n_skip ? n_skip : 1, sizeof *g.skip_ids);
	for (size_t i = 0; i < n_skip; i++) {
		struct stat st;

		if (lstat(skip[i], &st) == 0)
			g.skip_ids[i] = (struct gitcheck_id){st.st_dev, st.st_ino};
	}
	/* The protected git dirs inside a root first: the walk's budget is the command's to
	 * spend (a directory of many entries listed before `.git`), these checks are not. */
	for (size_t i = 0; i < n_skip; i++) {
		bool inside = false;
		struct stat st;
		int fd;

		for (size_t j = 0; j < n_roots && !inside; j++)
			inside = policy_path_is_under(roots[j], skip[i]);
		if (!inside || (fd = open(skip[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		                                        O_CLOEXEC)) < 0)
			continue;
		/* Some are only directories on the way to one (pinned): git dirs alone. */
		const char *base = strrchr(skip[i], '/');
		bool dotgit = base != NULL && strcasecmp(base, "/.git") == 0;
		bool head = faccessat(fd, "HEAD", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
		bool store = faccessat(fd, "objects", F_OK, AT_SYMLINK_NOFOLLOW) == 0 &&
		             faccessat(fd, "refs", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
		bool common = faccessat(fd, "commondir", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
		if (head && (dotgit || store || common) && fstat(fd, &st) == 0)
			gitcheck_gitdir(&g, fd, &st, skip[i], &st);
		close(fd);
	}
	for (size_t i = 0; i < n_roots && !g.stopped; i++) {
		struct stat st;
		int fd;

		if (gitcheck_root_covered(roots, n_roots, i))
			continue;
		fd = open(roots[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			if (errno != ENOENT)
				gitcheck_incomplete(&g, roots[i], "cannot read it: %s",
				                    strerror(errno));
			continue;
		}
		if (fstat(fd, &st) != 0) {
			close(fd);
			continue;
		}
		const char *base = strrchr(roots[i], '/');
		gitcheck_walk(&g, fd, &st, roots[i], 0,
		              base != NULL && strcasecmp(base, "/.git") == 0, NULL);
	}
	free(g.seen);
	free(g.skip_ids);
	*out = g.v;
	*n_out = g.n;
	return 0;
}

/* S with every byte a terminal could act on (controls, C1, invalid UTF-8, '\') as \xHH. */
static char *gitcheck_printable(const char *s)
{
	size_t len = strlen(s), o = 0;
	char *out = xmalloc(len * 4 + 1);

	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		size_t n = utf8_seq_len(s + i, len - i);
		bool ok = n > 0;

		if (ok && n == 1)
			ok = c >= 0x20 && c != 0x7f && c != '\\';
		if (ok && n == 2 && c == 0xc2 && (unsigned char)s[i + 1] < 0xa0)
			ok = false; /* C1 controls */
		if (!ok) {
			o += (size_t)sprintf(out + o, "\\x%02x", c);
			i++;
			continue;
		}
		memcpy(out + o, s + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	return out;
}

/* Adds KEY: S (made valid UTF-8) to O. */
static void gitcheck_json_str(cJSON *o, const char *key, const char *s)
{
	char *u = utf8_fix(s);

	cJSON_AddStringToObject(o, key, u);
	free(u);
}

/* Writes all of BUF to FD; false on failure. */
static bool gitcheck_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		buf += w;
		len -= (size_t)w;
	}
	return true;
}

/* Prints R as one "airlock: ..." line on stderr. */
static void gitcheck_print_line(const struct sandbox_gitcheck_report *r)
{
	char *path = gitcheck_printable(r->path), *why = gitcheck_printable(r->why);
	char *line;

	if (r->incomplete) {
		line = xasprintf("airlock: git check incomplete at %s: %s; repositories there may "
		                 "hold what a sandboxed command planted\n",
		                 path, why);
	} else {
		char *moved = xstrdup("");

		for (size_t i = 0; i < r->n_moved; i++) {
			const char *base = strrchr(r->moved[i], '/');
			char *b = gitcheck_printable(base != NULL ? base + 1 : r->moved[i]);
			char *t = xasprintf("%s%s%s", moved, i ? ", " : "", b);
			free(b);
			free(moved);
			moved = t;
		}
		if (r->error != NULL) {
			char *err = gitcheck_printable(r->error);
			line = xasprintf(
			    "airlock: git repository %s (%s, during the sandboxed run): %s; "
			    "do not run git there before checking it%s%s\n",
			    path, why, err, r->n_moved ? "; moved aside: " : "", moved);
			free(err);
		} else if (r->n_moved > 0) {
			line =
			    xasprintf("airlock: git repository %s (%s, during the sandboxed run): "
			              "moved aside %s\n",
			              path, why, moved);
		} else {
			line =
			    xasprintf("airlock: git repository %s (%s, during the sandboxed run)\n",
			              path, why);
		}
		free(moved);
	}
	(void)gitcheck_write_all(STDERR_FILENO, line, strlen(line));
	free(line);
	free(path);
	free(why);
}

/* The audit line of R: {"ts","kind":"git","path","reason","moved",...}; caller frees. */
static char *gitcheck_json_line(const struct sandbox_gitcheck_report *r)
{
	cJSON *o = cJSON_CreateObject(), *moved = cJSON_CreateArray();
	struct timespec ts;
	struct tm tm;
	char buf[64], *text, *line;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	cJSON_AddStringToObject(o, "ts", buf);
	cJSON_AddStringToObject(o, "kind", "git");
	gitcheck_json_str(o, "path", r->path);
	gitcheck_json_str(o, "reason", r->why);
	for (size_t i = 0; i < r->n_moved; i++) {
		char *u = utf8_fix(r->moved[i]);
		cJSON_AddItemToArray(moved, cJSON_CreateString(u));
		free(u);
	}
	cJSON_AddItemToObject(o, "moved", moved);
	if (r->error != NULL)
		gitcheck_json_str(o, "error", r->error);
	if (r->incomplete)
		cJSON_AddBoolToObject(o, "incomplete", true);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text == NULL)
		return NULL;
	line = xasprintf("%s\n", text);
	cJSON_free(text);
	return line;
}

/* Prints each report on stderr and, when JSON_FD >= 0, as one JSON line on it. */
int sandbox_gitcheck_print(const struct sandbox_gitcheck_report *r, size_t n, int json_fd)
{
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		gitcheck_print_line(&r[i]);
		if (json_fd < 0)
			continue;
		char *line = gitcheck_json_line(&r[i]);
		if (line == NULL || !gitcheck_write_all(json_fd, line, strlen(line)))
			rc = line == NULL ? -ENOMEM : -errno;
		free(line);
	}
	return rc;
}

/* Frees N reports and the array. */
void sandbox_gitcheck_free(struct sandbox_gitcheck_report *r, size_t n)
{
	for (size_t i = 0; r != NULL && i < n; i++) {
		free(r[i].path);
		free(r[i].why);
		free(r[i].error);
		for (size_t k = 0; k < r[i].n_moved; k++)
			free(r[i].moved[k]);
	}
	free(r);
}
