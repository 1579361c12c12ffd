/*
 * splice(2) relaying: FROM -> pipe -> TO, a pipe's worth at a time, with
 * EINTR retried. "Not supported" can only come before the first byte moved,
 * so falling back to copying then loses nothing.
 */
#include "splice-move.h"

#include "xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* Copies FROM to TO with read/send; 1 at EOF, -1 on error. */
static int splice_move_copy(int from, int to)
{
	char *buf = xmalloc(SPLICE_MOVE_COPY);
	int rc = 1;

	for (;;) {
		ssize_t n = read(from, buf, SPLICE_MOVE_COPY), off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n == 0 ? 1 : -1;
			break;
		}
		while (off < n) {
			ssize_t m = send(to, buf + off, (size_t)(n - off), MSG_NOSIGNAL);

			if (m < 0 && errno == EINTR)
				continue;
			if (m <= 0) {
				rc = -1;
				goto out;
			}
			off += m;
		}
	}
out:
	free(buf);
	return rc;
}

/* splice(2) FROM -> pipe -> TO; 0 when refused before anything moved. */
static int splice_move_splice(int from, int to)
{
	int p[2], rc = 1;
	bool moved = false;

	if (pipe2(p, O_CLOEXEC) < 0)
		return 0;
	fcntl(p[1], F_SETPIPE_SZ, SPLICE_MOVE_PIPE);
	for (;;) {
		ssize_t n = splice(from, NULL, p[1], NULL, SPLICE_MOVE_PIPE, SPLICE_F_MOVE);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && !moved && (errno == EINVAL || errno == ENOSYS)) {
			rc = 0;
			break;
		}
		if (n <= 0) {
			rc = n == 0 ? 1 : -1;
			break;
		}
		moved = true;
		while (n > 0) {
			ssize_t m = splice(p[0], NULL, to, NULL, (size_t)n, SPLICE_F_MOVE);

			if (m < 0 && errno == EINTR)
				continue;
			if (m <= 0) {
				rc = -1;
				goto out;
			}
			n -= m;
		}
	}
out:
	close(p[0]);
	close(p[1]);
	return rc;
}

int splice_move(int from, int to)
{
	int rc = splice_move_splice(from, to);

	return rc != 0 ? rc : splice_move_copy(from, to);
}
