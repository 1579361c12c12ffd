/*
 * Batch durability for the audit log (audit.sync "batch", SPEC 9).
 *
 * Every line is written with write(2) before its effect, in both modes;
 * what "batch" changes is when the kernel is asked to put it on the disk.
 * "always" calls fdatasync before the caller acts, which costs a disk
 * flush per decision (about a millisecond here, far more on a busy disk).
 * "batch" hands the flush to one thread of the log's own: a kick marks the
 * log dirty and wakes it; it syncs, then waits a second before the next
 * sync, so a burst of decisions costs one flush; closing the log wakes it
 * for a last sync and joins it. `airlock exec` thus flushes while the
 * sandbox starts rather than before, and the TUI at most once a second.
 *
 * What a written line survives is unchanged: the end of airlock (crash,
 * SIGKILL) and anything the sandboxed command does. Only a crash of the
 * host itself within that second can lose lines. A background sync that
 * fails is kept, and the log refuses every later decision with it (fail
 * closed from then on). When no thread can be started, a kick syncs at
 * once, as "always" would; so does a kick in a forked child, which has a
 * copy of the log but not its thread.
 */
#include "audit-sync.h"

#include "xmalloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define AUDIT_SYNC_INTERVAL_S 1 /* at most one flush a second */

struct audit_syncer {
	int fd;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool started, dirty, closing;
	int err;   /* the first failed sync's -errno, or 0 */
	pid_t pid; /* the process the thread runs in: a forked child has none */
};

/* fdatasync of FD; 0 or -errno (EINVAL: a file that cannot be synced, as /dev/null). */
static int audit_sync__flush(int fd)
{
	if (fdatasync(fd) != 0 && errno != EINVAL)
		return -errno;
	return 0;
}

/* The thread: one flush per wake-up while dirty, a second apart, a last one at close. */
static void *audit_sync__main(void *arg)
{
	struct audit_syncer *s = arg;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->dirty && !s->closing)
			pthread_cond_wait(&s->wake, &s->lock);
		if (!s->dirty)
			break;
		s->dirty = false;
		pthread_mutex_unlock(&s->lock);
		int rc = audit_sync__flush(s->fd);
		pthread_mutex_lock(&s->lock);
		if (rc != 0 && s->err == 0)
			s->err = rc;
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += AUDIT_SYNC_INTERVAL_S;
		while (!s->closing && pthread_cond_timedwait(&s->wake, &s->lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* A syncer for FD; no thread yet. */
struct audit_syncer *audit_syncer_new(int fd)
{
	struct audit_syncer *s = xcalloc(1, sizeof *s);
	pthread_condattr_t attr;

	s->fd = fd;
	s->pid = getpid();
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &attr);
	pthread_condattr_destroy(&attr);
	return s;
}

/* Marks the log dirty and wakes (or starts) the thread; syncs at once without one. */
int audit_syncer_kick(struct audit_syncer *s)
{
	/* A forked child has no thread of the log's (only the forking thread survives). */
	if (s->pid != getpid())
		return audit_sync__flush(s->fd);
	pthread_mutex_lock(&s->lock);
	if (!s->started)
		s->started = pthread_create(&s->thread, NULL, audit_sync__main, s) == 0;
	bool started = s->started;
	if (started) {
		s->dirty = true;
		pthread_cond_signal(&s->wake);
	}
	pthread_mutex_unlock(&s->lock);
	return started ? 0 : audit_sync__flush(s->fd);
}

/* The sticky error of a background sync. */
int audit_syncer_error(struct audit_syncer *s)
{
	pthread_mutex_lock(&s->lock);
	int err = s->err;
	pthread_mutex_unlock(&s->lock);
	return err;
}

/* Last sync, join, free. */
int audit_syncer_free(struct audit_syncer *s)
{
	int err;

	if (s == NULL)
		return 0;
	if (s->pid != getpid()) {
		/* A forked child's copy: its thread is the parent's, not to be joined here. */
		free(s);
		return 0;
	}
	pthread_mutex_lock(&s->lock);
	s->closing = true;
	pthread_cond_signal(&s->wake);
	bool started = s->started;
	pthread_mutex_unlock(&s->lock);
	if (started)
		pthread_join(s->thread, NULL);
	err = s->err;
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return err;
}
