/*
 * The glue compiled with bubblewrap's own sources (same flags, see
 * Makefile.am): bubblewrap's calls to exit() are renamed to
 * sandbox_bwrap_exit, which flushes stdio and leaves with _exit, so that
 * the helper's and the sanitizers' exit handlers never run inside the
 * bubblewrap processes (they belong to the helper, not to them).
 */
#include <stdio.h>
#include <unistd.h>

void sandbox_bwrap_exit(int status) __attribute__((noreturn));

/* Leaves the bubblewrap process at once, after flushing stdio. */
void sandbox_bwrap_exit(int status)
{
	fflush(NULL);
	_exit(status);
}
