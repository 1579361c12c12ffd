/*
 * splice(2) relaying: FROM -> pipe -> TO, a pipe's worth at a time, with
 * EINTR retried. "Not supported" is only reported before the first byte
 * moved, so a caller may fall back to copying without losing data.
 */
#include "splice-move.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

int splice_move(int from, int to)
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
