/*
 * Established tunnels (CONNECT and SOCKS) leave the event loop: once the
 * reply to the client is flushed, the proxy duplicates both sockets, closes
 * its libuv handles, and gives the pair to two threads that move bytes
 * with blocking splice(2) through a pipe, one thread per direction. No byte
 * is copied through user memory and the loop thread is free for requests;
 * backpressure is the kernel's (a full socket or pipe blocks the splice).
 * At EOF a thread half-closes the other socket; the second thread to end
 * closes both. Where splice is refused, splice_move copies with read/send.
 *
 * The registry is shared by the proxy and its threads and freed by whoever
 * lets go of it last: proxy_splice__close() shuts every tunnel down (the
 * threads wake up and end) and drops the proxy's reference.
 */
#include "proxy-private.h"

#include "splice-move.h"
#include "xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* Stack of a tunnel thread. */
#define PROXY_SPLICE_STACK (256 * 1024)

struct proxy_splice__tunnel {
	struct proxy_splice *reg;
	struct proxy_splice__tunnel *next, *prev;
	int fd[2];
	int left; /* threads still running, under reg->mu */
};

struct proxy_splice {
	pthread_mutex_t mu;
	struct proxy_splice__tunnel *tunnels;
	int refs; /* the proxy's one plus one per running thread */
	bool closed;
};

/* One direction of a tunnel. */
struct proxy_splice__dir {
	struct proxy_splice__tunnel *t;
	int from, to;
};

/* Makes an empty registry holding the proxy's reference. */
struct proxy_splice *proxy_splice__new(void)
{
	struct proxy_splice *reg = xcalloc(1, sizeof *reg);

	pthread_mutex_init(&reg->mu, NULL);
	reg->refs = 1;
	return reg;
}

/* Drops one reference (under reg->mu, which it releases); frees at zero. */
static void proxy_splice__unref_locked(struct proxy_splice *reg)
{
	bool last = --reg->refs == 0;

	pthread_mutex_unlock(&reg->mu);
	if (last) {
		pthread_mutex_destroy(&reg->mu);
		free(reg);
	}
}


/* One direction's thread. */
static void *proxy_splice__main(void *arg)
{
	struct proxy_splice__dir *d = arg;
	struct proxy_splice__tunnel *t = d->t;
	struct proxy_splice *reg = t->reg;
	int rc = splice_move(d->from, d->to);

	if (rc > 0) {
		shutdown(d->to, SHUT_WR);
	} else {
		shutdown(d->to, SHUT_RDWR);
		shutdown(d->from, SHUT_RDWR);
	}
	free(d);
	pthread_mutex_lock(&reg->mu);
	if (--t->left == 0) {
		if (t->prev != NULL)
			t->prev->next = t->next;
		else
			reg->tunnels = t->next;
		if (t->next != NULL)
			t->next->prev = t->prev;
		close(t->fd[0]);
		close(t->fd[1]);
		free(t);
	}
	proxy_splice__unref_locked(reg);
	return NULL;
}

/* Gives the blocking sockets A and B to two threads; 0, or -errno with A and B untouched. */
int proxy_splice__start(struct proxy_splice *reg, int a, int b)
{
	struct proxy_splice__tunnel *t = xcalloc(1, sizeof *t);
	pthread_attr_t attr;
	int started = 0, rc = 0;

	t->reg = reg;
	t->fd[0] = a;
	t->fd[1] = b;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, PROXY_SPLICE_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&reg->mu);
	t->left = 2;
	t->next = reg->tunnels;
	if (reg->tunnels != NULL)
		reg->tunnels->prev = t;
	reg->tunnels = t;
	for (int i = 0; i < 2; i++) {
		struct proxy_splice__dir *d = xcalloc(1, sizeof *d);
		pthread_t th;

		d->t = t;
		d->from = t->fd[i];
		d->to = t->fd[1 - i];
		reg->refs++;
		if (pthread_create(&th, &attr, proxy_splice__main, d) != 0) {
			reg->refs--;
			free(d);
			rc = -EAGAIN;
			break;
		}
		started++;
	}
	if (started == 0) {
		reg->tunnels = t->next;
		if (t->next != NULL)
			t->next->prev = NULL;
		free(t);
	} else if (started == 1) {
		/* The one thread ends at once and closes both sockets. */
		t->left = 1;
		shutdown(a, SHUT_RDWR);
		shutdown(b, SHUT_RDWR);
		rc = 0;
	}
	pthread_mutex_unlock(&reg->mu);
	pthread_attr_destroy(&attr);
	return rc;
}

/* Shuts every tunnel down and drops the proxy's reference. */
void proxy_splice__close(struct proxy_splice *reg)
{
	pthread_mutex_lock(&reg->mu);
	reg->closed = true;
	for (struct proxy_splice__tunnel *t = reg->tunnels; t != NULL; t = t->next) {
		shutdown(t->fd[0], SHUT_RDWR);
		shutdown(t->fd[1], SHUT_RDWR);
	}
	proxy_splice__unref_locked(reg);
}
