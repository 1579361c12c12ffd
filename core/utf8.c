/*
 * One decoder of UTF-8 sequences, strict and locale-free: the lead byte
 * gives the length and the first payload bits, each continuation byte six
 * more, and the code point is then checked against the shortest form, the
 * surrogates and U+10FFFF. Everything else (checking a buffer, making a
 * string valid) walks a string with it, one sequence or one bad byte at a
 * time, so a bad byte never swallows the valid text after it.
 */
#include "utf8.h"

#include "xmalloc.h"

#include <string.h>

/* The length of the valid sequence at S (N bytes left), or 0 when it is not one. */
size_t utf8_seq_len(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len;
	unsigned cp;

	if (u[0] < 0x80)
		return 1;
	if (u[0] >= 0xc2 && u[0] <= 0xdf)
		len = 2, cp = u[0] & 0x1f;
	else if (u[0] >= 0xe0 && u[0] <= 0xef)
		len = 3, cp = u[0] & 0x0f;
	else if (u[0] >= 0xf0 && u[0] <= 0xf4)
		len = 4, cp = u[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (u[i] & 0x3f);
	}
	/* No overlong forms, no surrogates, nothing above U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* The offset of the first byte of S (N bytes) that is not part of valid UTF-8, or N. */
size_t utf8_check(const char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n && (k = utf8_seq_len(s + i, n - i)) != 0)
		i += k;
	return i;
}

/* Whether S is valid UTF-8 throughout. */
bool utf8_valid(const char *s)
{
	size_t n = strlen(s);

	return utf8_check(s, n) == n;
}

/* S with every byte that is not part of valid UTF-8 replaced by U+FFFD. Caller frees. */
char *utf8_fix(const char *s)
{
	size_t n = strlen(s), o = 0;
	char *out = xmalloc(n * 3 + 1);

	for (size_t i = 0, k; i < n; i += k) {
		k = utf8_seq_len(s + i, n - i);
		if (k == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			k = 1;
		} else {
			memcpy(out + o, s + i, k);
			o += k;
		}
	}
	out[o] = '\0';
	return out;
}
