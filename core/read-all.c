/*
 * read_all: a buffer that doubles until the descriptor ends or the cap is
 * passed. EINTR is retried; one byte past MAX is enough to know it is too
 * large, so at most MAX + 1 bytes are ever read.
 */
#include "read-all.h"

#include "xmalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

int read_all(int fd, size_t max, char **buf, size_t *len)
{
	size_t n = 0, cap = 4096;
	char *b = xmalloc(cap);

	for (;;) {
		if (n + 1 >= cap) {
			cap *= 2;
			b = xrealloc(b, cap);
		}
		ssize_t k = read(fd, b + n, cap - n - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e = -errno;
			free(b);
			return e;
		}
		if (k == 0)
			break;
		n += (size_t)k;
		if (n > max) {
			free(b);
			return -EFBIG;
		}
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}
