/*
 * Reading a whole descriptor into memory, with a cap: rules files,
 * config.json, files to patch and patches to send are all read this way,
 * and none of them may grow airlock's memory without bound.
 */
#ifndef AIRLOCK_READ_ALL_H
#define AIRLOCK_READ_ALL_H

#include <stddef.h>

/*
 * Reads FD to its end into *BUF (NUL-terminated, caller frees) and *LEN.
 * Returns 0, -EFBIG when it holds more than MAX bytes, or -errno; on error
 * *BUF is untouched. FD stays open.
 */
int read_all(int fd, size_t max, char **buf, size_t *len);

#endif
