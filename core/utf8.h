/*
 * UTF-8 as RFC 3629 has it, whatever the locale: what the audit log, the
 * git check's report and the rules loader accept as text, and the one way
 * bytes that are not UTF-8 are made into text (each such byte U+FFFD).
 * Shared by airlock and airlock-sandbox.
 */
#ifndef AIRLOCK_UTF8_H
#define AIRLOCK_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The length (1 to 4) of the valid UTF-8 sequence at S (N > 0 bytes left),
 * or 0 when none starts there: a stray continuation byte, a sequence cut
 * short, an overlong form, a surrogate, or a code point above U+10FFFF.
 */
size_t utf8_seq_len(const char *s, size_t n);
/* The offset of the first byte of S (N bytes) that is not part of valid UTF-8, or N. */
size_t utf8_check(const char *s, size_t n);
/* Whether the string S is valid UTF-8 throughout. */
bool utf8_valid(const char *s);
/* S with every byte that is not part of valid UTF-8 replaced by U+FFFD. Caller frees. */
char *utf8_fix(const char *s);

#endif
