/*
 * Allocators that abort on failure. Running out of memory in a terminal tool
 * has no useful recovery, and checking every allocation would hide the error
 * paths that matter; so these print one line and abort.
 */
#include "xmalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void xmalloc__die(size_t size)
{
	fprintf(stderr, "airlock: out of memory (allocating %zu bytes)\n", size);
	abort();
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		xmalloc__die(size);
	return p;
}

void *xcalloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);

	if (p == NULL)
		xmalloc__die(count * size);
	return p;
}

void *xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (p == NULL)
		xmalloc__die(size);
	return p;
}

void *xreallocarray(void *ptr, size_t count, size_t size)
{
	if (size != 0 && count > SIZE_MAX / size)
		xmalloc__die(SIZE_MAX);
	return xrealloc(ptr, count * size);
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	char *p;

	if (vasprintf(&p, fmt, ap) < 0)
		xmalloc__die(0);
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

char **xstrv_pack(size_t n, char *const v[])
{
	size_t bytes = 0;
	char **out, *w;

	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(v[i]) + 1;

		if (len > SIZE_MAX - bytes)
			xmalloc__die(SIZE_MAX);
		bytes += len;
	}
	if (n + 1 > (SIZE_MAX - bytes) / sizeof *out)
		xmalloc__die(SIZE_MAX);
	out = xmalloc((n + 1) * sizeof *out + bytes);
	w = (char *)(out + n + 1);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(v[i]) + 1;

		memcpy(w, v[i], len);
		out[i] = w;
		w += len;
	}
	out[n] = NULL;
	return out;
}
