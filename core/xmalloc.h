/*
 * Allocation that never fails: every x* function aborts the process with a
 * message when memory runs out, so callers never check for NULL. This is the
 * only place the project handles out-of-memory.
 */
#ifndef AIRLOCK_XMALLOC_H
#define AIRLOCK_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
/* Grows an array of COUNT elements of SIZE bytes; aborts on overflow. */
void *xreallocarray(void *ptr, size_t count, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap);
/*
 * A NULL-terminated copy of the N strings V in one allocation (the pointers,
 * then the bytes), freed with a single free(): one malloc for a 200k-word
 * argv instead of one a word, and as many frees.
 */
char **xstrv_pack(size_t n, char *const v[]);

#endif
