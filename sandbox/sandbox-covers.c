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
 * `.airlock/rules` through it finds nothing, not EACCES), or an empty file. A second sandbox started
 * meanwhile finds the cover and binds it read-only; if the first removed it
 * then, the kernel would detach that bind and the second command could
 * create the path. So every sandbox holds a shared flock on every cover its
 * plan uses for as long as it runs, and removes a cover only when an
 * exclusive lock shows nobody else uses it (whoever made it). A cover that
 * vanishes between planning and locking makes the caller plan again.
 */
#include "sandbox/sandbox.h"

#include "core/xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

/* Makes the plan's mount points as covers and locks every cover the plan uses. */
int sandbox_covers_acquire(struct sandbox_covers *c, const struct sandbox_plan *plan)
{
	int rc = 0;

	memset(c, 0, sizeof *c);
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
	memset(c, 0, sizeof *c);
}
