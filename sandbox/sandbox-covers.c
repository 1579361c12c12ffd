/*
 * The mount points that cover missing protected paths, shared safely
 * between sandboxes that run at the same time.
 *
 * A missing protected path inside a writable root is covered by a mount,
 * and a mount needs a mount point on the host. The helper makes it itself,
 * before bubblewrap, as an empty directory of mode 0555 or an empty file
 * of mode 0444 (the "cover" modes), and removes it after the run. A cover
 * that a killed helper left behind stays harmless until the next run there
 * removes it: an empty directory anyone can look into (reading
 * `.airlock/rules` through it finds nothing, not EACCES), or an empty file. A second sandbox
 * started meanwhile finds the cover and binds it read-only; if the first removed it then, the
 * kernel would detach that bind and the second command could create the path. So every sandbox
 * holds a shared flock on every cover its plan uses for as long as it runs, and removes a cover
 * only when an exclusive lock shows nobody else uses it (whoever made it). A cover that vanishes
 * between planning and locking makes the caller plan again.
 *
 * A helper killed with SIGKILL removes nothing, so each run writes the
 * covers it holds to a journal under the runtime directory
 * ($XDG_RUNTIME_DIR/airlock-journal, else /tmp/airlock-journal-UID), named
 * after its pid and start time, and removes it (and the directory, when
 * empty) at the end; the next run anywhere on the host sweeps the journals
 * of runs that are gone and removes their covers: only what is still a
 * cover (so a forged journal can remove nothing else), the same inode, and
 * held by no running sandbox.
 */
#include "sandbox/sandbox.h"

#include "core/xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define SANDBOX_COVER_DIR_MODE  0555
#define SANDBOX_COVER_FILE_MODE 0444

/* What a file cover at PATH holds: "." for a git commondir (git refuses an empty one). */
static const char *sandbox_covers_content(const char *path)
{
	const char *base = strrchr(path, '/');

	return base != NULL && strcmp(base, "/commondir") == 0 ? ".\n" : "";
}

/* True when the file FD of ST holds exactly TEXT. */
static bool sandbox_covers_holds(int fd, const struct stat *st, const char *text)
{
	char buf[8];
	size_t len = strlen(text);

	if ((size_t)st->st_size != len)
		return false;
	return len == 0 || (pread(fd, buf, len, 0) == (ssize_t)len && memcmp(buf, text, len) == 0);
}

/*
 * True when ST (of FD, at PATH) is a cover: an empty directory of mode 0555,
 * or a file of mode 0444 holding what a cover there holds.
 */
static bool sandbox_covers_is_cover(int fd, const struct stat *st, const char *path)
{
	if (S_ISREG(st->st_mode))
		return (st->st_mode & 07777) == SANDBOX_COVER_FILE_MODE &&
		       sandbox_covers_holds(fd, st, sandbox_covers_content(path));
	if (!S_ISDIR(st->st_mode) || (st->st_mode & 07777) != SANDBOX_COVER_DIR_MODE)
		return false;
	/* Read the entries through a copy of FD itself. */
	int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	DIR *d = dfd >= 0 && lseek(dfd, 0, SEEK_SET) == 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;
	bool empty = d != NULL;

	while (d != NULL && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = false;
	if (d != NULL)
		closedir(d);
	else if (dfd >= 0)
		close(dfd);
	return empty;
}

/* True when PLAN binds /dev/null or PATH itself onto PATH (a file-shaped cover). */
static bool sandbox_covers_file_shaped(const struct sandbox_plan *plan, const char *path)
{
	for (size_t i = 0; i + 2 < plan->argc; i++)
		if (strcmp(plan->argv[i], "--ro-bind") == 0 &&
		    (strcmp(plan->argv[i + 1], "/dev/null") == 0 ||
		     strcmp(plan->argv[i + 1], path) == 0) &&
		    strcmp(plan->argv[i + 2], path) == 0)
			return true;
	return false;
}

/* Locks PATH shared when it is a cover; -EAGAIN when it vanished meanwhile. */
static int sandbox_covers_lock(struct sandbox_covers *c, const char *path)
{
	struct stat st, again;
	int fd;

	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].path, path) == 0)
			return 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? -EAGAIN : 0; /* not ours to share (or gone) */
	if (fstat(fd, &st) != 0 || !sandbox_covers_is_cover(fd, &st, path)) {
		close(fd);
		return 0;
	}
	while (flock(fd, LOCK_SH) != 0)
		if (errno != EINTR) {
			close(fd);
			return 0;
		}
	/* Removed by its last user between open and lock: plan again. */
	if (lstat(path, &again) != 0 || again.st_ino != st.st_ino || again.st_dev != st.st_dev) {
		close(fd);
		return -EAGAIN;
	}
	c->v = xreallocarray(c->v, c->n + 1, sizeof *c->v);
	c->v[c->n++] =
	    (struct sandbox_cover){xstrdup(path), fd, st.st_dev, st.st_ino, S_ISDIR(st.st_mode)};
	return 0;
}

/*
 * The journal directory, made (0700) when missing: $XDG_RUNTIME_DIR/airlock-journal, else
 * /tmp/airlock-journal-UID. NULL when it is not a private directory of this user's (a
 * sandbox could have planted one in /tmp: then there is no journal, nothing worse).
 */
static char *sandbox_covers_journal_dir(void)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char *dir = xdg != NULL && xdg[0] == '/'
	                ? xasprintf("%s/airlock-journal", xdg)
	                : xasprintf("/tmp/airlock-journal-%u", (unsigned)getuid());
	struct stat st;

	if ((mkdir(dir, 0700) != 0 && errno != EEXIST) || lstat(dir, &st) != 0 ||
	    !S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 07777) != 0700) {
		free(dir);
		return NULL;
	}
	return dir;
}

/* The start time of process PID (field 22 of its stat), or 0 when it is gone. */
static unsigned long long sandbox_covers_start_time(long pid)
{
	char path[64], buf[1024];
	unsigned long long start = 0;
	int fd;
	ssize_t n;

	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 1,
	                        " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
	                        "%*d %*d %*d %llu",
	                        &start) != 1)
		return 0;
	return start;
}

/* Removes the covers listed in the journal FILE of a run that is gone, then the journal. */
static void sandbox_covers_sweep_one(const char *file)
{
	FILE *fp = fopen(file, "re");
	char *line = NULL;
	size_t cap = 0;

	while (fp != NULL && getline(&line, &cap, fp) > 0) {
		unsigned long long dev, ino;
		int at = 0;
		struct stat st;
		if (sscanf(line, "%llu %llu %n", &dev, &ino, &at) != 2 || line[at] != '/')
			continue;
		char *path = line + at;
		path[strcspn(path, "\n")] = '\0';
		int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino &&
		    sandbox_covers_is_cover(fd, &st, path) && flock(fd, LOCK_EX | LOCK_NB) == 0) {
			if (S_ISDIR(st.st_mode))
				rmdir(path);
			else
				unlink(path);
		}
		close(fd);
	}
	free(line);
	if (fp != NULL)
		fclose(fp);
	unlink(file);
}

/* Sweeps the journals of runs that are gone (SIGKILLed helpers). */
static void sandbox_covers_sweep(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d != NULL && (de = readdir(d)) != NULL) {
		long pid;
		unsigned long long start;
		int at = 0;
		if (sscanf(de->d_name, "covers-%ld-%llu%n", &pid, &start, &at) != 2 ||
		    de->d_name[at] != '\0')
			continue;
		if (pid > 0 && sandbox_covers_start_time(pid) == start)
			continue; /* that run is still going */
		char *file = xasprintf("%s/%s", dir, de->d_name);
		sandbox_covers_sweep_one(file);
		free(file);
	}
	if (d != NULL)
		closedir(d);
	rmdir(dir); /* when empty */
}

/* Writes this run's journal: the covers it holds. */
static void sandbox_covers_journal(struct sandbox_covers *c, const char *dir)
{
	long pid = (long)getpid();
	char *file = xasprintf("%s/covers-%ld-%llu", dir, pid, sandbox_covers_start_time(pid));
	FILE *fp = fopen(file, "we");

	if (fp == NULL) {
		free(file);
		return;
	}
	for (size_t i = 0; i < c->n; i++)
		fprintf(fp, "%llu %llu %s\n", (unsigned long long)c->v[i].dev,
		        (unsigned long long)c->v[i].ino, c->v[i].path);
	if (fclose(fp) != 0) {
		unlink(file);
		free(file);
		return;
	}
	c->journal = file;
}

/* Makes the plan's mount points as covers and locks every cover the plan uses. */
int sandbox_covers_acquire(struct sandbox_covers *c, const struct sandbox_plan *plan)
{
	static bool swept;
	char *jdir = NULL;
	int rc = 0;

	memset(c, 0, sizeof *c);
	/* Once per run, before making covers: what SIGKILLed runs left. */
	if (!swept && (jdir = sandbox_covers_journal_dir()) != NULL) {
		sandbox_covers_sweep(jdir);
		free(jdir);
		jdir = NULL;
	}
	swept = true;
	for (size_t i = 0; i < plan->n_cleanup; i++) {
		const char *p = plan->cleanup[i];
		if (sandbox_covers_file_shaped(plan, p)) {
			int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			              SANDBOX_COVER_FILE_MODE);
			if (fd >= 0) {
				const char *text = sandbox_covers_content(p);
				if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
					/* a short cover is no cover: left for the next run */
				}
				fchmod(fd, SANDBOX_COVER_FILE_MODE); /* whatever the umask */
				close(fd);
			}
		} else if (mkdir(p, SANDBOX_COVER_DIR_MODE) == 0) {
			chmod(p, SANDBOX_COVER_DIR_MODE);
		}
		/* EEXIST: made meanwhile by another sandbox, locked below all the same. */
	}
	for (size_t i = 0; rc == 0 && i < plan->n_cleanup; i++)
		rc = sandbox_covers_lock(c, plan->cleanup[i]);
	/* Covers found by the plan (bound onto themselves) are shared too. */
	for (size_t i = 0; rc == 0 && i + 2 < plan->argc; i++)
		if (strcmp(plan->argv[i], "--ro-bind") == 0 &&
		    strcmp(plan->argv[i + 1], plan->argv[i + 2]) == 0)
			rc = sandbox_covers_lock(c, plan->argv[i + 1]);
	if (rc == 0 && c->n > 0 && (jdir = sandbox_covers_journal_dir()) != NULL) {
		sandbox_covers_journal(c, jdir);
		free(jdir);
	}
	return rc;
}

/* Removes every cover nobody else holds, then lets go of all of them. */
void sandbox_covers_release(struct sandbox_covers *c)
{
	for (size_t i = c->n; i-- > 0;) {
		struct sandbox_cover *v = &c->v[i];
		struct stat st;
		if (flock(v->fd, LOCK_EX | LOCK_NB) == 0 && lstat(v->path, &st) == 0 &&
		    st.st_ino == v->ino && st.st_dev == v->dev &&
		    sandbox_covers_is_cover(v->fd, &st, v->path)) {
			if (v->dir)
				rmdir(v->path);
			else
				unlink(v->path);
		}
		close(v->fd);
		free(v->path);
	}
	free(c->v);
	if (c->journal != NULL) {
		/* Nothing left behind: the journal, and its directory when empty. */
		char *dir = xstrdup(c->journal);
		*strrchr(dir, '/') = '\0';
		unlink(c->journal);
		rmdir(dir);
		free(dir);
	}
	free(c->journal);
	memset(c, 0, sizeof *c);
}
