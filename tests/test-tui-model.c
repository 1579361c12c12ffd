/*
 * Tests of the TUI's model without curses: panes (libvterm, scrollback,
 * titles, keys), the pure layout (screen split and modal boxes at every
 * size), the input line's history, and the prompt guard (arming,
 * typeahead, the denying default, reasons) on a pinned clock.
 */
#include "test.h"

#include "core/xmalloc.h"
#include "tui/tui.h"

#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* The text of view row ROW of P, trailing blanks dropped (ASCII only). */
static char *model__row(const struct pane *p, int row)
{
	char *s = xcalloc((size_t)p->cols + 1, 1);
	int end = 0;

	for (int c = 0; c < p->cols; c++) {
		struct pane_cell cell;
		pane_view_cell(p, row, c, &cell);
		s[c] = cell.ch == 0 ? ' ' : cell.ch < 128 ? (char)cell.ch : '?';
		if (s[c] != ' ')
			end = c + 1;
	}
	s[end] = '\0';
	return s;
}

TEST(pane_renders_like_a_terminal)
{
	struct pane *p = pane_new(NULL, 1, "x", 0, NULL, 4, 20);
	const char *out = "progress 10%\rprogress 99%\r\n\033[31mred\033[0m \033[1mbold\033[0m\r\n"
	                  "abc\033[2Dxy\r\n";
	char *row;

	pane_feed(p, out, strlen(out));
	row = model__row(p, 0);
	ASSERT_STR_EQ(row, "progress 99%");
	free(row);
	row = model__row(p, 1);
	ASSERT_STR_EQ(row, "red bold");
	free(row);
	row = model__row(p, 2);
	ASSERT_STR_EQ(row, "axy");
	free(row);

	struct pane_cell c;
	pane_view_cell(p, 1, 0, &c);
	ASSERT_EQ(c.fg, PANE_COLOR_INDEXED(1));
	pane_view_cell(p, 1, 4, &c);
	ASSERT(c.attrs & PANE_ATTR_BOLD);
	ASSERT_EQ(c.fg, PANE_COLOR_DEFAULT);
	pane_free(p);
	return 0;
}

TEST(pane_keeps_10000_lines_of_scrollback)
{
	struct pane *p = pane_new(NULL, 1, "seq", 0, NULL, 5, 20);
	char line[32];
	char *row;

	for (int i = 1; i <= 12000; i++) {
		int n = snprintf(line, sizeof line, "line %d\r\n", i);
		pane_feed(p, line, (size_t)n);
	}
	ASSERT_EQ(p->sb_len, PANE_SCROLLBACK_LINES);
	/* The screen shows the last four lines and the empty cursor line. */
	row = model__row(p, 3);
	ASSERT_STR_EQ(row, "line 12000");
	free(row);
	/* All the way back: 11996 lines went up, the last 10000 are kept. */
	pane_scroll(p, 1000000);
	ASSERT_EQ(p->scroll, PANE_SCROLLBACK_LINES);
	row = model__row(p, 0);
	ASSERT_STR_EQ(row, "line 1997");
	free(row);
	/* A view scrolled back stays put while output flows. */
	pane_scroll(p, -(PANE_SCROLLBACK_LINES - 10));
	row = model__row(p, 0);
	char *before = xstrdup(row);
	free(row);
	pane_feed(p, "more\r\n", 6);
	row = model__row(p, 0);
	ASSERT_STR_EQ(row, before);
	free(row);
	free(before);
	pane_scroll(p, -1000000);
	ASSERT_EQ(p->scroll, 0);
	pane_free(p);
	return 0;
}

/* Whether panes A and B hold the same scrollback, screen and cursor. */
static int model__same(const struct pane *a, const struct pane *b)
{
	ASSERT_EQ(a->sb_len, b->sb_len);
	/* The same soft wraps too: both reflow the same. */
	for (long line = 0; line < pane_line_count(a); line++)
		ASSERT_EQ(pane_line_wrapped(a, line), pane_line_wrapped(b, line));
	ASSERT_EQ(a->cursor.row, b->cursor.row);
	ASSERT_EQ(a->cursor.col, b->cursor.col);
	for (int row = -(int)a->sb_len; row < a->rows; row++) {
		for (int col = 0; col < a->cols; col++) {
			struct pane_cell ca, cb;
			/* View rows above 0 read the scrollback. */
			((struct pane *)a)->scroll = row < 0 ? -row : 0;
			((struct pane *)b)->scroll = row < 0 ? -row : 0;
			pane_view_cell(a, row < 0 ? 0 : row, col, &ca);
			pane_view_cell(b, row < 0 ? 0 : row, col, &cb);
			if (ca.ch == ' ')
				ca.ch = 0;
			if (cb.ch == ' ')
				cb.ch = 0;
			if (ca.ch != cb.ch || ca.attrs != cb.attrs || ca.fg != cb.fg) {
				fprintf(stderr, "row %d col %d: %u != %u\n", row, col, ca.ch,
				        cb.ch);
				return 1;
			}
		}
	}
	((struct pane *)a)->scroll = ((struct pane *)b)->scroll = 0;
	return 0;
}

TEST(pane_flood_fast_path_matches_the_emulator)
{
	/* A fast pane and one held on libvterm's own path (as after an escape). */
	struct pane *fast = pane_new(NULL, 1, "x", 0, NULL, 7, 13);
	struct pane *slow = pane_new(NULL, 2, "x", 0, NULL, 7, 13);
	unsigned seed = 12345;
	char *text = xmalloc(200000);
	size_t len = 0;

	slow->saw_esc = true;
	for (int i = 0; len < 190000; i++) {
		seed = seed * 1103515245 + 12345;
		int n = (int)((seed >> 16) % 40);
		if (i % 17 == 0)
			n = 0;
		if (i % 23 == 0)
			n = 13; /* exactly one row: the pending wrap */
		if (i % 29 == 0)
			n = 26;
		for (int k = 0; k < n; k++)
			text[len++] = (char)('a' + (i + k) % 26);
		if (i % 401 == 0) {
			text[len++] = '\n'; /* a bare line feed */
		} else {
			text[len++] = '\r';
			text[len++] = '\n';
		}
	}
	for (size_t off = 0; off < len;) {
		seed = seed * 1103515245 + 12345;
		size_t chunk = 1 + (seed >> 16) % 3000;
		if (chunk > len - off)
			chunk = len - off;
		pane_feed(fast, text + off, chunk);
		pane_feed(slow, text + off, chunk);
		off += chunk;
		if (model__same(fast, slow) != 0) {
			fprintf(stderr, "differ after %zu bytes\n", off);
			return 1;
		}
	}
	ASSERT_EQ(fast->sb_len, PANE_SCROLLBACK_LINES);
	ASSERT(fast->flood_chunks > 20);
	ASSERT_EQ(slow->flood_chunks, 0);
	free(text);
	pane_free(fast);
	pane_free(slow);
	return 0;
}

/*
 * A flood whose slices end between a CR and its LF (a read of the
 * command's output ends anywhere) still takes the fast path, slice after
 * slice: before, such a slice went through libvterm line by line, a scroll
 * of the whole screen per line (20-80 ms of the loop for 64 KiB).
 */
TEST(pane_flood_split_between_cr_and_lf_stays_fast)
{
	struct pane *p = pane_new(NULL, 1, "x", 0, NULL, 30, 100);
	struct pane *ref = pane_new(NULL, 2, "x", 0, NULL, 30, 100);
	size_t len = 0;
	char *text = xmalloc(30000);

	ref->saw_esc = true; /* libvterm's own path, to compare with */
	while (len + 3 <= 30000) {
		memcpy(text + len, "y\r\n", 3);
		len += 3;
	}
	/* Slices of 3000 bytes + 2: each but the first starts with LF, ends with CR. */
	for (size_t off = 0, k = 0; off < len; k++) {
		size_t n = k == 0 ? 3002 : 3000;
		if (n > len - off)
			n = len - off;
		pane_feed(p, text + off, n);
		pane_feed(ref, text + off, n);
		off += n;
	}
	ASSERT_EQ(model__same(p, ref), 0);
	ASSERT_EQ(p->flood_chunks, 9); /* all but the first, which starts on an empty screen */
	free(text);
	pane_free(p);
	pane_free(ref);
	return 0;
}

TEST(pane_resize_keeps_the_text)
{
	struct pane *p = pane_new(NULL, 1, "x", 0, NULL, 3, 10);
	char *row;

	pane_feed(p, "one\r\ntwo\r\nthree\r\nfour", 21);
	pane_resize(p, 6, 10);
	/* Growing pulls lines back from the scrollback. */
	row = model__row(p, 0);
	ASSERT_STR_EQ(row, "one");
	free(row);
	pane_resize(p, 1, 10);
	pane_resize(p, 30, 10);
	row = model__row(p, 3);
	ASSERT_STR_EQ(row, "four");
	free(row);
	/* Down to one cell and back: nothing breaks, and the line comes back whole (reflow). */
	pane_resize(p, 1, 1);
	pane_resize(p, 30, 200);
	row = model__row(p, 3);
	ASSERT_STR_EQ(row, "four");
	free(row);
	pane_free(p);
	return 0;
}

/* Appends code point C to S (UTF-8). */
static void model__put_utf8(char **s, size_t *len, size_t *cap, uint32_t c)
{
	if (*len + 5 > *cap) {
		*cap = *cap ? 2 * *cap : 256;
		*s = xrealloc(*s, *cap);
	}
	if (c < 0x80) {
		(*s)[(*len)++] = (char)c;
	} else if (c < 0x800) {
		(*s)[(*len)++] = (char)(0xc0 | (c >> 6));
		(*s)[(*len)++] = (char)(0x80 | (c & 0x3f));
	} else if (c < 0x10000) {
		(*s)[(*len)++] = (char)(0xe0 | (c >> 12));
		(*s)[(*len)++] = (char)(0x80 | ((c >> 6) & 0x3f));
		(*s)[(*len)++] = (char)(0x80 | (c & 0x3f));
	} else {
		(*s)[(*len)++] = (char)(0xf0 | (c >> 18));
		(*s)[(*len)++] = (char)(0x80 | ((c >> 12) & 0x3f));
		(*s)[(*len)++] = (char)(0x80 | ((c >> 6) & 0x3f));
		(*s)[(*len)++] = (char)(0x80 | (c & 0x3f));
	}
	(*s)[*len] = '\0';
}

/*
 * Every line of P, scrollback then screen, through the view's reading:
 * LAYOUT: one row per line, as laid out, a soft wrap shown as a trailing
 * backslash; else the text only, each run of wrapped rows joined into its
 * line. Characters as UTF-8 (a cluster with its marks), blanks as spaces,
 * trailing blanks and blank last lines dropped. Caller frees.
 */
static char *model__text(struct pane *p, bool layout)
{
	char *s = NULL;
	size_t len = 0, cap = 0, keep = 0;
	long n = pane_line_count(p);
	int saved = p->scroll;

	model__put_utf8(&s, &len, &cap, 0x20);
	len = 0;
	for (long line = 0; line < n; line++) {
		int w = pane_line_width(p, line);
		size_t row_start = len, end = len;
		bool wrapped = pane_line_wrapped(p, line);
		if (wrapped && w > 1 && !layout) {
			/* A wide character that did not fit left a cell never written: no text. */
			struct pane_cell last, next;
			pane_line_cell(p, line, w - 1, &last);
			pane_line_cell(p, line + 1, 0, &next);
			if (last.ch == 0 && next.width == 2)
				w--;
		}
		for (int c = 0; c < w; c++) {
			struct pane_cell cell;
			uint32_t chars[PANE_CLUSTER_CHARS];
			pane_line_cell(p, line, c, &cell);
			if (cell.width == 0)
				continue;
			size_t k = pane_cell_chars(p, &cell, chars);
			if (k == 0)
				model__put_utf8(&s, &len, &cap, ' ');
			for (size_t i = 0; i < k; i++)
				model__put_utf8(&s, &len, &cap, chars[i]);
			if (k > 0 && !(k == 1 && chars[0] == ' '))
				end = len;
		}
		/* A wrapped row keeps its blanks (they are text); the last row of a line drops them. */
		if (!wrapped || layout)
			len = end;
		if (layout && wrapped)
			model__put_utf8(&s, &len, &cap, '\\');
		if (layout || !wrapped) {
			model__put_utf8(&s, &len, &cap, '\n');
			if (len > row_start + 1 || wrapped)
				keep = len;
		}
	}
	s[keep] = '\0';
	p->scroll = saved;
	return s;
}

/* The text of line I of the reflow tests: WIDTH columns, all different. */
static char *model__long_line(int i, int width)
{
	char *s = xmalloc((size_t)width + 1);
	int n = snprintf(s, (size_t)width + 1, "L%02d:", i);

	for (int c = n; c < width; c++)
		s[c] = (char)('a' + (i * 7 + c) % 26);
	s[width] = '\0';
	return s;
}

TEST(pane_reflow_round_trip_keeps_every_line)
{
	struct pane *p = pane_new(NULL, 1, "x", 0, NULL, 10, 200);
	char *expect = xstrdup(""), *before, *text;

	for (int i = 0; i < 30; i++) {
		char *line = model__long_line(i, 200);
		char *next = xasprintf("%s%s\n", expect, line);
		pane_feed(p, line, strlen(line));
		pane_feed(p, "\r\n", 2);
		free(expect);
		expect = next;
		free(line);
	}
	ASSERT_EQ(p->sb_len, 21u);
	before = model__text(p, true);
	/* Narrowed: every line is there, cut into rows of 60 (on screen and scrolled back). */
	pane_resize(p, 10, 60);
	text = model__text(p, false);
	ASSERT_STR_EQ(text, expect);
	free(text);
	for (long line = 0; line < pane_line_count(p); line++)
		ASSERT(pane_line_width(p, line) <= 60);
	ASSERT_EQ(p->sb_len, 30u * 4 - 9); /* 4 rows each; the cursor's empty line and 8 on screen */
	char *row = model__row(p, 8);
	ASSERT_EQ(strlen(row), 20u); /* the last line's fourth row, above the cursor */
	free(row);
	/* Scrolled all the way back: the first line, its first row. */
	pane_scroll(p, 1000000);
	row = model__row(p, 0);
	char *first = model__long_line(0, 200);
	first[60] = '\0';
	ASSERT_STR_EQ(row, first);
	free(first);
	free(row);
	/* Wide again: the same rows as before, line for line, cell for cell. */
	pane_resize(p, 10, 200);
	text = model__text(p, true);
	ASSERT_STR_EQ(text, before);
	free(text);
	ASSERT_EQ(p->sb_len, 21u);
	ASSERT_EQ(p->cursor.row, 9);
	ASSERT_EQ(p->cursor.col, 0);
	/* A view scrolled back stays on the line at its top through a resize. */
	pane_scroll(p, -1000000);
	pane_scroll(p, 5);
	row = model__row(p, 0);
	ASSERT(strncmp(row, "L16:", 4) == 0);
	free(row);
	pane_resize(p, 10, 60);
	row = model__row(p, 0);
	ASSERT(strncmp(row, "L16:", 4) == 0);
	free(row);
	pane_resize(p, 10, 200);
	row = model__row(p, 0);
	ASSERT(strncmp(row, "L16:", 4) == 0);
	free(before);
	free(expect);
	free(row);
	pane_free(p);
	return 0;
}

/* Finds the cell of P's line LINE that holds code point C; its column, or -1. */
static int model__find(const struct pane *p, long line, uint32_t c)
{
	for (int col = 0; col < pane_line_width(p, line); col++) {
		struct pane_cell cell;
		pane_line_cell(p, line, col, &cell);
		if (cell.width > 0 && pane_cell_base(p, &cell) == c)
			return col;
	}
	return -1;
}

TEST(pane_reflow_keeps_wide_characters_and_clusters_whole)
{
	struct pane *p = pane_new(NULL, 1, "x", 0, NULL, 6, 200);
	/* 59 letters, a wide character on columns 59-60 (across the cut at 60), 57 more,
	 * then two e + U+0301: at 60 columns, the wide character starts the second row,
	 * which ends with the first of them; the second starts the third. */
	char line[512];
	size_t n = 0;
	char *before, *text;

	for (int i = 0; i < 59; i++)
		line[n++] = (char)('a' + i % 26);
	memcpy(line + n, "\xe4\xb8\xad", 3); /* U+4E2D, two columns */
	n += 3;
	for (int i = 0; i < 57; i++)
		line[n++] = (char)('A' + i % 26);
	for (int k = 0; k < 2; k++) {
		memcpy(line + n, "e\xcc\x81", 3);
		n += 3;
	}
	for (int i = 0; i < 40; i++)
		line[n++] = '.';
	line[n] = '\0';
	pane_feed(p, line, n);
	pane_feed(p, "\r\nafter\r\n", 9);
	before = model__text(p, true);
	/* On screen, narrowed to 60: the wide character starts the second row, whole. */
	pane_resize(p, 6, 60);
	text = model__text(p, false);
	ASSERT_CONTAINS(text, line);
	free(text);
	pane_resize(p, 6, 200);
	text = model__text(p, true);
	ASSERT_STR_EQ(text, before);
	free(text);
	/* In the scrollback: pushed up, then narrowed and widened. */
	for (int i = 0; i < 6; i++)
		pane_feed(p, "more\r\n", 6);
	ASSERT_EQ(model__find(p, 0, 0x4e2d), 59);
	free(before);
	before = model__text(p, true);
	pane_resize(p, 6, 60);
	/* Its rows: 59 letters and a blank where the wide character did not fit, then it. */
	ASSERT_EQ(model__find(p, 0, 0x4e2d), -1);
	ASSERT_EQ(pane_line_width(p, 0), 59);
	ASSERT(pane_line_wrapped(p, 0));
	ASSERT_EQ(model__find(p, 1, 0x4e2d), 0);
	struct pane_cell cell;
	pane_line_cell(p, 1, 0, &cell);
	ASSERT_EQ(cell.width, 2);
	pane_line_cell(p, 1, 1, &cell);
	ASSERT_EQ(cell.width, 0);
	/* The clusters keep their marks, on either side of a cut. */
	uint32_t chars[PANE_CLUSTER_CHARS];
	long l2 = 1;
	int col = model__find(p, l2, 'e');
	ASSERT_EQ(col, 59);
	pane_line_cell(p, l2, col, &cell);
	ASSERT_EQ(pane_cell_chars(p, &cell, chars), 2u);
	ASSERT_EQ(chars[1], 0x301u);
	ASSERT_EQ(model__find(p, 2, 'e'), 0);
	pane_line_cell(p, 2, 0, &cell);
	ASSERT_EQ(pane_cell_chars(p, &cell, chars), 2u);
	ASSERT_EQ(chars[1], 0x301u);
	text = model__text(p, false);
	ASSERT_CONTAINS(text, line);
	free(text);
	pane_resize(p, 6, 200);
	text = model__text(p, true);
	ASSERT_STR_EQ(text, before);
	free(text);
	free(before);
	pane_free(p);
	return 0;
}

TEST(pane_reflow_when_the_top_row_continues_a_line)
{
	/* 40 characters in 3 rows of 10: the top row continues the one that scrolled up.
	 * libvterm 0.3.3 alone reads above its screen on a resize then (and crashes). */
	struct pane *p = pane_new(NULL, 1, "x", 0, NULL, 3, 10);
	const char *s = "abcdefghijklmnopqrstuvwxyz0123456789ABCD";
	char *text;

	pane_feed(p, s, strlen(s));
	ASSERT_EQ(p->sb_len, 1u);
	ASSERT(pane_line_wrapped(p, 0));
	pane_resize(p, 3, 20);
	pane_resize(p, 2, 7);
	pane_resize(p, 3, 40);
	text = model__text(p, false);
	ASSERT_STR_EQ(text, "abcdefghijklmnopqrstuvwxyz0123456789ABCD\n");
	free(text);
	pane_free(p);
	return 0;
}

TEST(pane_restored_cursor_stays_on_a_smaller_screen)
{
	/* ESC 7 on the bottom row of 30, the pane shrinks to 5 rows, ESC 8 and a line feed:
	 * libvterm 0.3.3 restored the cursor to row 29 and wrote line info past its 5 rows. */
	struct pane *p = pane_new(NULL, 1, "x", 0, NULL, 30, 100);
	const char *save = "\033[30;1Hbottom\0337", *restore = "\0338\nx";

	pane_feed(p, save, strlen(save));
	pane_resize(p, 5, 100);
	pane_feed(p, restore, strlen(restore));
	ASSERT(p->cursor.row >= 0 && p->cursor.row < p->rows);
	ASSERT(p->cursor.col >= 0 && p->cursor.col < p->cols);
	/* Narrower too: the saved column is brought back within the screen. */
	pane_feed(p, "\033[5;90H\0337", 8);
	pane_resize(p, 5, 30);
	pane_feed(p, "\0338y", 3);
	ASSERT(p->cursor.col >= 0 && p->cursor.col < p->cols);
	pane_free(p);
	return 0;
}

TEST(pane_reflow_of_blank_lines)
{
	/* Only blank lines in the scrollback: their text is none, which was copied from a
	 * NULL buffer on a width change (undefined; the sanitized build stops on it). */
	struct pane *p = pane_new(NULL, 1, "x", 0, NULL, 3, 10);
	const char *s = "\r\n\r\n\r\n\r\n\r\n";

	pane_feed(p, s, strlen(s));
	pane_resize(p, 3, 7);
	ASSERT(p->sb_len > 0);
	for (long i = 0; i < (long)p->sb_len; i++)
		ASSERT_EQ(pane_line_width(p, i), 0);
	pane_free(p);
	return 0;
}

/* The next number of a xorshift generator (a fixed sequence for a seed). */
static uint32_t model__rand(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return (uint32_t)(*state >> 32);
}

TEST(pane_survives_random_bytes_and_resizes)
{
	/* What 20 panes of `head -c 2000000 /dev/urandom` tiled at 100x30 get: random bytes
	 * in chunks, the pane resized between chunks to tiles of 20 to 119 columns and 1 to
	 * 30 rows, now and then to 1 to 10 columns (a screen too small for tiles of 20).
	 * Among the bytes, ESC and a few sequences come more often than by chance (the
	 * cursor saved and restored, the alternate screen, margins, origin and insert
	 * modes, double-width lines, a C1 control in UTF-8, REP), so that a few chunks meet what
	 * megabytes would. Under ASan, any access out of libvterm's screen fails the test;
	 * a walk that never ends, its time limit. */
	static const char *const seqs[] = {
	    "\0337",      "\0338",       "\033[?1049h", "\033[?1049l", "\033[?6h", "\033[?6l",
	    "\033[4h",    "\033#6",      "\033[?69h",   "\033[5;20r",  "\033[3;30s", "\xc2\x85",
	    "\r\n",       "\xe4\xb8\x80", "\033[3b",    "\xcc\x81"};
	static char buf[2048];

	for (uint64_t seed = 1; seed <= 12; seed++) {
		uint64_t st = seed * 0x9E3779B97F4A7C15ull;
		struct pane *p = pane_new(NULL, 1, "x", 0, NULL, 30, 100);
		for (int it = 0; it < 40; it++) {
			size_t n = 1 + model__rand(&st) % (sizeof buf - 16);
			for (size_t i = 0; i < n;) {
				uint32_t r = model__rand(&st);
				if (r % 32 == 0) {
					buf[i++] = '\033';
				} else if (r % 32 == 1) {
					const char *q = seqs[(r >> 8) % (sizeof seqs / sizeof seqs[0])];
					memcpy(buf + i, q, strlen(q));
					i += strlen(q);
				} else {
					buf[i++] = (char)(r >> 8);
				}
			}
			pane_feed(p, buf, n);
			ASSERT(p->cursor.row >= 0 && p->cursor.row < p->rows);
			ASSERT(p->cursor.col >= 0 && p->cursor.col < p->cols);
			uint32_t r = model__rand(&st);
			int rows = r % 2 ? 1 + (int)(r >> 8) % 10 : 1 + (int)(r >> 8) % 30;
			int cols = r % 8 < 2 ? 1 + (int)(r >> 16) % 10 : 20 + (int)(r >> 16) % 100;
			pane_resize(p, rows, cols);
		}
		pane_free(p);
	}
	return 0;
}

TEST(pane_alternate_screen_resizes_with_a_wrapped_top_row)
{
	/* 40 characters on the alternate screen of 3 rows of 10: its top row continues a
	 * line; libvterm 0.3.3 walked up past row 0 on the resize (the normal screen's row
	 * 0 was cleared, the alternate one's not). */
	struct pane *p = pane_new(NULL, 1, "x", 0, NULL, 3, 10);
	const char *s = "\033[?1049habcdefghijklmnopqrstuvwxyz0123456789ABCD";

	pane_feed(p, s, strlen(s));
	pane_resize(p, 3, 20);
	pane_resize(p, 2, 7);
	/* And after it is left: libvterm reflows the alternate screen, shown or not. */
	pane_feed(p, "abcdefghijklmnopqrstuvwxyz\033[?1049l", 34);
	pane_resize(p, 3, 9);
	pane_resize(p, 2, 12);
	ASSERT(!p->altscreen);
	pane_free(p);
	return 0;
}

TEST(pane_reset_on_the_alternate_screen_then_resize)
{
	/* RIS (ESC c) on the alternate screen: libvterm's state then writes the normal
	 * screen's line info while the alternate screen stays shown, and its resize walked
	 * up past the normal screen's row 0 when that row continued a line, or aborted
	 * finding no place for the cursor (it read one line info, laid out the other). */
	struct pane *p = pane_new(NULL, 1, "x", 0, NULL, 3, 10);
	const char *s = "abcdefghijklmnopqrstuvwxyz0123456789ABCD";

	pane_feed(p, "\033[?1049h\033c", 10);
	ASSERT(!p->altscreen); /* a reset shows the normal screen, as a terminal's does */
	pane_feed(p, "\033[?1049h\033[!p", 12);
	ASSERT(!p->altscreen); /* DECSTR too */
	pane_feed(p, "\033[?1049h", 8);
	pane_resize(p, 1, 10);
	pane_feed(p, s, strlen(s)); /* one row: it continues the row scrolled away */
	pane_feed(p, "\033[?1049h", 8);
	pane_resize(p, 2, 7);
	pane_resize(p, 3, 12);
	pane_free(p);
	return 0;
}

TEST(pane_margins_follow_a_smaller_screen)
{
	/* Rows 20 to 25 as the scroll region of 30, the pane shrinks to 10 rows: libvterm
	 * 0.3.3 kept the top margin at row 20 and a scroll moved rows from outside the
	 * screen (a negative memmove). The margins are reset on a resize. */
	struct pane *p = pane_new(NULL, 1, "x", 0, NULL, 30, 100);
	const char *a = "\033[20;25r", *b = "\033[?6h\033[Hab\r\ncd\033Dab\033M\033[Lzz\n\n\n\033[S\033[T";
	char *row;

	pane_feed(p, a, strlen(a));
	pane_feed(p, "\033[3;7Hx", 7);
	pane_resize(p, 10, 30);
	/* The cursor stays where it was. */
	ASSERT_EQ(p->cursor.row, 2);
	ASSERT_EQ(p->cursor.col, 7);
	pane_feed(p, "y", 1);
	row = model__row(p, 2);
	ASSERT_STR_EQ(row, "      xy");
	free(row);
	pane_feed(p, b, strlen(b));
	ASSERT(p->cursor.row >= 0 && p->cursor.row < p->rows);
	pane_free(p);
	return 0;
}

TEST(pane_rep_repeats_only_what_fits)
{
	/* REP (CSI Pn b) with nothing printed yet: libvterm 0.3.3 repeats a character of
	 * width 0 and never ends (the TUI hung on 3 bytes); with a wide character at the
	 * row's end, it wrote past the row. */
	struct pane *p = pane_new(NULL, 1, "x", 0, NULL, 4, 20);
	char *row;

	pane_feed(p, "\033[b", 3);
	pane_feed(p, "\r\xcc\x81\033[5b", 7); /* a combining mark alone: width 0 too */
	pane_feed(p, "\rab\033[3bc\r\n", 10);
	row = model__row(p, 0);
	ASSERT_STR_EQ(row, "abbbbc");
	free(row);
	/* Split between two writes, as a command's output may be. */
	pane_feed(p, "-\033[", 3);
	pane_feed(p, "5b|\r\n", 5);
	row = model__row(p, 1);
	ASSERT_STR_EQ(row, "------|");
	free(row);
	/* A wide character repeated no further than the row's end. */
	pane_feed(p, "\xe4\xb8\x80\033[50b", 8);
	for (int col = 0; col < 20; col += 2) {
		struct pane_cell c;
		pane_view_cell(p, 2, col, &c);
		ASSERT_EQ(c.ch, 0x4e00u);
	}
	ASSERT(p->cursor.col >= 0 && p->cursor.col < p->cols);
	pane_free(p);
	return 0;
}

TEST(pane_long_numbers_in_sequences)
{
	/* libvterm 0.3.3 multiplies a CSI argument or an OSC number by 10 per digit past its
	 * range (undefined; the sanitized build stopped): digits past 9 are left out. */
	struct pane *p = pane_new(NULL, 1, "x", 0, NULL, 4, 20);
	const char *s = "\033[99999999999999999999999m\033[?99999999999999999999h"
	                "\033]99999999999999999999;t\007\033[1;31mr";
	struct pane_cell c;

	pane_feed(p, s, strlen(s));
	pane_view_cell(p, 0, 0, &c);
	ASSERT_EQ(c.ch, (uint32_t)'r');
	ASSERT_EQ(c.fg, PANE_COLOR_INDEXED(1));
	pane_free(p);
	return 0;
}

TEST(pane_narrow_tile_takes_a_wide_character)
{
	/* A wide character in a row one column wide (a terminal of one column, a
	 * double-width line of three): libvterm 0.3.3 wrote its right half past the row.
	 * The terminal is PANE_MIN_COLS wide at least; the tile shows its left part. */
	struct pane *p = pane_new(NULL, 1, "x", 0, NULL, 3, 10);
	const char *wide = "\xe4\xb8\x80\xe4\xb8\x80";
	struct pane_cell c;

	pane_resize(p, 3, 1);
	pane_feed(p, wide, strlen(wide));
	pane_view_cell(p, 0, 0, &c);
	ASSERT_EQ(c.ch, 0x4e00u);
	pane_resize(p, 3, 3);
	pane_feed(p, "\r\n\033#6", 4);
	pane_feed(p, wide, strlen(wide));
	pane_resize(p, 3, 10);
	pane_free(p);
	return 0;
}

TEST(pane_c1_control_in_utf8_keeps_the_cursor_on_the_screen)
{
	/* U+0085 (C2 85) is one column wide to the left for libvterm 0.3.3: from column 0
	 * the cursor went to -1, and insert mode moved cells from outside the row. */
	struct pane *p = pane_new(NULL, 1, "x", 0, NULL, 4, 20);
	const char *s = "\033[4h\r\xc2\x85xy";

	pane_feed(p, s, strlen(s));
	ASSERT(p->cursor.col >= 0 && p->cursor.col < p->cols);
	/* The lead byte C2 held through an escape sequence, and from one write to the next. */
	pane_feed(p, "\r\xc2\033[m", 6);
	pane_feed(p, "\x85z", 2);
	ASSERT(p->cursor.col >= 0 && p->cursor.col < p->cols);
	pane_free(p);
	return 0;
}

TEST(pane_reflow_of_one_huge_line)
{
	/* A million characters (the alphabet over and over) and no line end: a line the
	 * scrollback's whole length, which the screen's rows go on with. Each resize stays
	 * bounded (linear in what is kept). */
	struct pane *p = pane_new(NULL, 1, "x", 0, NULL, 24, 80);
	char *chunk = xmalloc(59982); /* 26 * 2307 */
	char *text;

	for (int i = 0; i < 59982; i++)
		chunk[i] = (char)('a' + i % 26);
	for (int i = 0; i < 17; i++)
		pane_feed(p, chunk, 59982);
	ASSERT_EQ(p->sb_len, PANE_SCROLLBACK_LINES);
	for (int i = 0; i < 4; i++) {
		pane_resize(p, 24, 41 + i);
		pane_resize(p, 20, 80);
	}
	pane_resize(p, 24, 80);
	/* The rows kept read as one line of the same letters in order, cursor at its end. */
	text = model__text(p, false);
	size_t n = strlen(text);
	ASSERT(n > 700000 / 2 && text[n - 1] == '\n');
	for (size_t i = 1; i + 1 < n; i++)
		ASSERT((text[i] - 'a' + 26) % 26 == (text[i - 1] - 'a' + 1) % 26);
	ASSERT_EQ(text[n - 2], 'z');
	free(text);
	free(chunk);
	pane_free(p);
	return 0;
}

TEST(pane_reflow_keeps_a_full_scrollback)
{
	/* 12 000 lines of 150 columns in a pane 200 wide: the scrollback is full. Half as wide,
	 * each takes two rows: the scrollback holds them all, and gives them back when wide. */
	struct pane *p = pane_new(NULL, 1, "x", 0, NULL, 10, 200);
	char line[160];
	char *row;

	for (int i = 0; i < 12000; i++) {
		int n = snprintf(line, sizeof line, "%05d ", i);
		memset(line + n, 'a' + i % 26, (size_t)(150 - n));
		memcpy(line + 150, "\r\n", 2);
		pane_feed(p, line, 152);
	}
	ASSERT_EQ(p->sb_len, PANE_SCROLLBACK_LINES);
	pane_scroll(p, 1000000);
	row = model__row(p, 0);
	ASSERT(strncmp(row, "01991 ", 6) == 0);
	free(row);
	pane_scroll(p, -1000000);
	pane_resize(p, 10, 100);
	/* Two rows each: the scrollback's lines and the screen's 9, less the 9 rows shown. */
	ASSERT_EQ(p->sb_len, 2 * (PANE_SCROLLBACK_LINES + 9) - 9);
	pane_scroll(p, 1000000);
	row = model__row(p, 0);
	ASSERT(strncmp(row, "01991 ", 6) == 0 && strlen(row) == 100);
	free(row);
	pane_scroll(p, -1000000);
	pane_resize(p, 10, 200);
	ASSERT_EQ(p->sb_len, PANE_SCROLLBACK_LINES);
	ASSERT_EQ(p->sb_cap, PANE_SCROLLBACK_LINES);
	/* Output goes on: the scrollback keeps its size, the oldest line goes. */
	pane_feed(p, "more\r\n", 6);
	ASSERT_EQ(p->sb_len, PANE_SCROLLBACK_LINES);
	pane_scroll(p, 1000000);
	row = model__row(p, 0);
	ASSERT(strncmp(row, "01992 ", 6) == 0 && strlen(row) == 150);
	free(row);
	pane_scroll(p, -1000000);
	/* A last line of 1000 columns, not ended, in a pane three rows high and half as wide:
	 * its first rows go up, and no old line makes room for them. */
	char wide[1000];
	memset(wide, 'w', sizeof wide);
	pane_feed(p, wide, sizeof wide);
	size_t before = p->sb_len;
	pane_scroll(p, 1000000);
	char *oldest = model__row(p, 0); /* the output pushed a few old lines out */
	pane_scroll(p, -1000000);
	pane_resize(p, 3, 100);
	/* Two rows each: the old lines and the 4 above it ("more" one), and 7 of its 10 rows. */
	ASSERT_EQ(p->sb_len, 2 * (before + 4) + 1 + 7);
	pane_scroll(p, 1000000);
	row = model__row(p, 0);
	ASSERT(strncmp(row, oldest, 100) == 0);
	free(row);
	free(oldest);
	pane_free(p);
	return 0;
}

TEST(pane_reflow_keeps_hard_line_breaks)
{
	struct pane *p = pane_new(NULL, 1, "x", 0, NULL, 8, 60);
	char *sixty = model__long_line(1, 60), *text;

	/* Short lines, and one exactly as wide as the pane (no wrap: its line ends there). */
	pane_feed(p, "first short line\r\nsecond\r\n", 26);
	pane_feed(p, sixty, 60);
	pane_feed(p, "\r\nlast\r\n", 8);
	for (int i = 0; i < 5; i++)
		pane_feed(p, "x\r\n", 3); /* the first lines go up to the scrollback */
	ASSERT(p->sb_len > 0);
	pane_resize(p, 8, 20);
	pane_resize(p, 8, 200);
	char *expect = xasprintf("first short line\nsecond\n%s\nlast\nx\nx\nx\nx\nx\n", sixty);
	text = model__text(p, true);
	ASSERT_STR_EQ(text, expect);
	free(text);
	for (long line = 0; line < pane_line_count(p); line++)
		ASSERT(!pane_line_wrapped(p, line));
	free(expect);
	free(sixty);
	pane_free(p);
	return 0;
}

TEST(pane_title_format)
{
	char *argv[] = {"make", NULL};
	struct pane *p = pane_new(NULL, 3, "make -j2", 1, argv, 4, 20);
	char *title;

	p->start_ms = 1000;
	p->state = PANE_RUNNING;
	p->sandboxed = true;
	title = pane_title(p, 2234);
	ASSERT_STR_EQ(title, "[3] running \xc2\xb7 1.2s \xc2\xb7 sandboxed \xc2\xb7 make -j2");
	free(title);
	p->state = PANE_EXITED;
	p->status = 1;
	p->end_ms = 1000 + 125000;
	p->sandboxed = false;
	title = pane_title(p, 999999);
	ASSERT_STR_EQ(title, "[3] exit 1 \xc2\xb7 2m05s \xc2\xb7 unsandboxed \xc2\xb7 make -j2");
	free(title);
	p->state = PANE_DENIED;
	p->end_ms = 1000;
	title = pane_title(p, 5000);
	ASSERT_STR_EQ(title, "[3] denied \xc2\xb7 0.0s \xc2\xb7 unsandboxed \xc2\xb7 make -j2");
	free(title);
	pane_free(p);
	return 0;
}

TEST(layout_tiles_and_maximises)
{
	struct layout l;

	layout_screen(80, 24, 0, -1, false, &l);
	ASSERT_EQ(l.status.y, 0);
	ASSERT_EQ(l.input.y, 23);
	ASSERT_EQ(l.panes.h, 22);

	layout_screen(80, 24, 3, 2, false, &l);
	/* Two rows: two panes side by side, then one across. */
	ASSERT_EQ(l.pane[0].y, 1);
	ASSERT_EQ(l.pane[1].y, 1);
	ASSERT_EQ(l.pane[2].y, 12);
	ASSERT_EQ(l.pane[2].w, 80);
	ASSERT_EQ(l.pane[0].w + 1 + l.pane[1].w, 80);
	ASSERT_EQ(l.n_seps, 1);

	layout_screen(80, 24, 3, 1, true, &l);
	ASSERT_EQ(l.pane[0].h, 0);
	ASSERT_EQ(l.pane[1].h, 22);
	ASSERT_EQ(l.pane[2].h, 0);
	return 0;
}

TEST(layout_never_leaves_the_screen)
{
	struct layout l;

	for (int cols = 1; cols <= 130; cols += 3) {
		for (int rows = 1; rows <= 45; rows += 2) {
			for (int n = 0; n <= 9; n++) {
				layout_screen(cols, rows, n, n - 1, false, &l);
				for (int i = 0; i < n; i++) {
					const struct rect *r = &l.pane[i];
					if (r->h == 0)
						continue;
					ASSERT(r->x >= 0 && r->y >= 1);
					ASSERT(r->x + r->w <= cols);
					ASSERT(r->y + r->h <= rows - 1);
					ASSERT(r->h >= (rows >= 4 ? 2 : 1));
				}
				/* The current pane is always shown when panes fit at all. */
				if (n > 0 && rows >= 4)
					ASSERT(l.pane[n - 1].h >= 2);
			}
		}
	}
	return 0;
}

TEST(layout_modal_fits_every_size)
{
	struct modal_view v = {
	    .title = "Run outside the sandbox?",
	    .reason = "The sandbox denied this command: touch: cannot touch "
	              "'/etc/airlock-test': Read-only file system",
	    .subject = "bash -lc 'for f in $(seq 1 100); do touch /etc/airlock-test-$f; done "
	               "&& echo a very long command that goes on and on and on and on and on "
	               "and on and on until it must wrap several times'",
	    .n_options = 4,
	    .selected = 1,
	};
	const char *labels[] = {"Yes, run it once",
	                        "Yes, and don't ask again for this command this session",
	                        "Yes, and don't ask again for commands that start with `bash -lc`",
	                        "No, keep it sandboxed"};
	const char keys[] = "yapn";

	setlocale(LC_ALL, "C.UTF-8");
	for (size_t i = 0; i < 4; i++) {
		v.options[i].key = keys[i];
		v.options[i].label = labels[i];
	}
	for (int cols = 1; cols <= 130; cols++) {
		for (int rows = 1; rows <= 45; rows++) {
			struct modal_layout ml;
			layout_modal(&v, cols, rows, &ml);
			ASSERT(ml.box.x >= 0 && ml.box.y >= 0);
			ASSERT(ml.box.x + ml.box.w <= cols);
			ASSERT(ml.box.y + ml.box.h <= rows);
			ASSERT(ml.n_lines <= ml.inner.h);
			bool footer = false, selected = false;
			for (int i = 0; i < ml.n_lines; i++) {
				ASSERT(layout_text_width(ml.lines[i].text) <= ml.inner.w);
				footer |= ml.lines[i].role == MODAL_FOOTER;
				selected |= ml.lines[i].role == MODAL_SELECTED;
			}
			/* From 40x12 on, the footer and the chosen option always show. */
			if (cols >= 40 && rows >= 12) {
				ASSERT(footer);
				ASSERT(selected);
				ASSERT_EQ(ml.lines[0].role, MODAL_TITLE);
			}
			layout_modal_free(&ml);
		}
	}
	return 0;
}

/* Sets up V as an exec prompt of SUBJECT with two options. */
static void model__command_prompt(struct modal_view *v, const char *subject)
{
	memset(v, 0, sizeof *v);
	v->title = "Run outside the sandbox?";
	v->subject = subject;
	v->command = true;
	v->n_options = 2;
	v->options[0].key = 'y';
	v->options[0].label = "Yes, run it once";
	v->options[1].key = 'n';
	v->options[1].label = "No";
	v->selected = 1;
}

/*
 * A prompt for a command of megabytes (200k words, issue 11) is laid out
 * from the head of its text, every frame: the subject here is 4 MB of
 * words with an unreadable page after its first megabyte, which a layout
 * that reads (copies, measures) the whole text runs into.
 */
TEST(layout_modal_reads_only_the_head_of_a_huge_subject)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), head = 1 << 20, total = 4 << 20;
	char *mem = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct modal_view v;
	struct modal_layout ml;
	int subject_lines = 0;

	setlocale(LC_ALL, "C.UTF-8");
	ASSERT(mem != MAP_FAILED);
	for (size_t i = 0; i + 3 <= total; i += 3)
		memcpy(mem + i, i % 2 ? "w1 " : "w0 ", 3);
	mem[total - 1] = '\0';
	ASSERT_EQ(mprotect(mem + head, page, PROT_NONE), 0);
	model__command_prompt(&v, mem);
	layout_modal(&v, 100, 30, &ml);
	for (int i = 0; i < ml.n_lines; i++) {
		if (ml.lines[i].role != MODAL_SUBJECT)
			continue;
		if (subject_lines++ == 0)
			ASSERT_CONTAINS(ml.lines[i].text, "$ w0 w1 w0 w1");
		ASSERT(layout_text_width(ml.lines[i].text) <= ml.inner.w);
	}
	ASSERT(subject_lines >= 3);
	/* It goes on: the last line shown says so. */
	for (int i = ml.n_lines - 1; i >= 0; i--) {
		if (ml.lines[i].role == MODAL_SUBJECT) {
			ASSERT_CONTAINS(ml.lines[i].text, "\xe2\x80\xa6");
			break;
		}
	}
	layout_modal_free(&ml);
	munmap(mem, total);
	return 0;
}

/*
 * The head of a long subject wraps to the lines the whole text wraps to:
 * the subject lines of a small screen against those of a screen so tall
 * that the whole text is wrapped, for texts with tabs, newlines, wide and
 * zero-width characters, joiners, bidi controls, bytes that are not UTF-8
 * and words longer than a line (the last line shown, cut with an
 * ellipsis, aside).
 */
TEST(layout_modal_head_of_a_subject_wraps_as_the_whole)
{
	static const char *const bits[] = {"word ",
	                                   "x",
	                                   "\t",
	                                   "\n",
	                                   "\xe6\x97\xa5\xe6\x9c\xac ",
	                                   "e\xcc\x81",
	                                   "\xe2\x80\x8d",
	                                   "\xe2\x80\xae",
	                                   "\xff",
	                                   "\xc3",
	                                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	                                   "  ",
	                                   "\xf0\x9f\x98\x80",
	                                   "\xcc\x81\xcc\x81\xcc\x81\xcc\x81"};
	static const int sizes[][2] = {{100, 30}, {41, 12}, {24, 8}, {200, 50}};
	unsigned seed = 11;

	setlocale(LC_ALL, "C.UTF-8");
	for (int round = 0; round < 12; round++) {
		size_t cap = 200000, len = 0;
		char *text = xmalloc(cap + 64);

		/* Some rounds are mostly zero-width marks: heads must grow to find their lines. */
		while (len < cap) {
			seed = seed * 1103515245u + 12345u;
			size_t k = round % 4 == 3 && seed % 8 != 0 ? 13 : (seed >> 8) % 14;
			size_t n = strlen(bits[k]);

			memcpy(text + len, bits[k], n);
			len += n;
		}
		text[len] = '\0';
		for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++) {
			struct modal_view v;
			struct modal_layout small, tall;
			int a = 0, b = 0, shown = 0;

			model__command_prompt(&v, text);
			layout_modal(&v, sizes[z][0], sizes[z][1], &small);
			layout_modal(&v, sizes[z][0], 1000000, &tall);
			for (int i = 0; i < small.n_lines; i++)
				shown += small.lines[i].role == MODAL_SUBJECT;
			ASSERT(shown >= 1);
			for (int k = 0; k + 1 < shown; k++) {
				while (small.lines[a].role != MODAL_SUBJECT)
					a++;
				while (tall.lines[b].role != MODAL_SUBJECT)
					b++;
				ASSERT_STR_EQ(small.lines[a].text, tall.lines[b].text);
				a++;
				b++;
			}
			layout_modal_free(&small);
			layout_modal_free(&tall);
		}
		free(text);
	}
	return 0;
}

TEST(layout_fit_cuts_with_an_ellipsis)
{
	char *s;

	setlocale(LC_ALL, "C.UTF-8");
	s = layout_text_fit("abcdef", 6);
	ASSERT_STR_EQ(s, "abcdef");
	free(s);
	s = layout_text_fit("abcdefg", 6);
	ASSERT_STR_EQ(s, "abcde\xe2\x80\xa6");
	free(s);
	/* Wide characters count two columns and are never split. */
	s = layout_text_fit("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 4);
	ASSERT_STR_EQ(s, "\xe6\x97\xa5\xe2\x80\xa6");
	free(s);
	ASSERT_EQ(layout_text_width("\xe6\x97\xa5x"), 3);
	return 0;
}

TEST(input_history_is_kept_and_persisted)
{
	char *path = xasprintf("%s/history", test_tmpdir());
	struct input in;
	char *line = NULL, *text;
	const char *typed = "echo one";

	setlocale(LC_ALL, "C.UTF-8");
	input_init(&in, path);
	for (const char *s = typed; *s; s++)
		ASSERT(input_key(&in, (wint_t)*s, false, &line));
	ASSERT(input_key(&in, '\r', false, &line));
	ASSERT_STR_EQ(line, "echo one");
	free(line);
	for (const char *s = "ls"; *s; s++)
		input_key(&in, (wint_t)*s, false, &line);
	input_key(&in, '\r', false, &line);
	free(line);
	input_free(&in);

	char *file = test_read_file(path, NULL);
	ASSERT_STR_EQ(file, "echo one\nls\n");
	free(file);

	/* A new session walks the same history. */
	input_init(&in, path);
	input_key(&in, 'x', false, &line);
	input_key(&in, KEY_UP, true, &line);
	text = input_text(&in);
	ASSERT_STR_EQ(text, "ls");
	free(text);
	input_key(&in, KEY_UP, true, &line);
	text = input_text(&in);
	ASSERT_STR_EQ(text, "echo one");
	free(text);
	input_key(&in, KEY_DOWN, true, &line);
	input_key(&in, KEY_DOWN, true, &line);
	text = input_text(&in);
	ASSERT_STR_EQ(text, "x");
	free(text);
	input_free(&in);
	free(path);
	return 0;
}

/* ---- the prompt guard (SPEC 5), on the model alone: no curses, a pinned clock ---- */

#define GUARD_T0 5000000

struct guard {
	uv_loop_t loop;
	struct cli_options opts;
	struct tui *t;
	uint64_t now;
	int spawned;
};

/* The pinned clock. */
static uint64_t guard__clock(void *data)
{
	return ((struct guard *)data)->now;
}

/* Starts nothing: counts what would have run. */
static int guard__spawn(struct pane *p, char *const argv[], void *data)
{
	(void)p;
	(void)argv;
	((struct guard *)data)->spawned++;
	return 0;
}

/* A TUI model under approval policy APPROVAL, its home in the test's directory. */
static int guard_open(struct guard *g, const char *approval)
{
	char *cause = NULL;

	memset(g, 0, sizeof *g);
	setlocale(LC_ALL, "C.UTF-8");
	g->opts.home = xasprintf("%s/home", test_tmpdir());
	mkdir(g->opts.home, 0700);
	setenv("AIRLOCK_HOME", g->opts.home, 1);
	setenv("HOME", test_tmpdir(), 1);
	setenv("AIRLOCK_SANDBOX_EXE", "/bin/true", 1);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("XDG_STATE_HOME");
	g->opts.mode = CLI_MODE_TUI;
	g->opts.sandbox = "workspace-write";
	g->opts.approval = approval;
	g->opts.network = "off";
	g->opts.cwd = xstrdup("/ws");
	g->now = GUARD_T0;
	uv_loop_init(&g->loop);
	g->t = tui_new(&g->opts, &g->loop, guard__clock, g, &cause);
	if (g->t == NULL) {
		fprintf(stderr, "tui_new: %s\n", cause);
		free(cause);
		return -1;
	}
	g->t->spawn = guard__spawn;
	g->t->spawn_data = g;
	return 0;
}

/* Tears the model down. */
static void guard_close(struct guard *g)
{
	tui_free(g->t);
	uv_run(&g->loop, UV_RUN_NOWAIT);
	uv_loop_close(&g->loop);
	free(g->opts.cwd);
	free(g->opts.home);
}

/*
 * A pane's title is cut once, when the pane is made, to a few kilobytes,
 * since every frame measures it (issue 11): for 200k words (whole words,
 * then " ...") and for one word of a megabyte (a script), cut inside it
 * but never inside a character.
 */
TEST(tui_title_of_a_huge_command_is_cut_once)
{
	size_t n = 200000, big = 1 << 20;
	char **words = xcalloc(n + 1, sizeof *words), *script = xmalloc(big + 1);
	char *sh[] = {"sh", "-c", script, NULL};
	struct launch_request req = {.argc = n, .argv = words};
	struct pane *p;
	struct guard g;
	size_t len;

	ASSERT_EQ(guard_open(&g, "never"), 0);
	for (size_t i = 0; i < n; i++)
		words[i] = i == 0 ? "true" : i % 2 ? "w1" : "w0";
	p = launch_request(g.t, &req);
	ASSERT(p != NULL);
	len = strlen(p->command);
	ASSERT(len > 4096 && len < 8192);
	ASSERT(strncmp(p->command, "true w1 w0 w1", 13) == 0);
	/* Whole words: the last one shown, then the cut. */
	ASSERT_STR_EQ(p->command + len - 4, " ...");
	ASSERT(p->command[len - 7] == ' ' && p->command[len - 6] == 'w');
	/* A script of a megabyte of "é": cut inside, on a character's edge. */
	for (size_t i = 0; i + 2 <= big; i += 2)
		memcpy(script + i, "\xc3\xa9", 2);
	script[big] = '\0';
	req.argc = 3;
	req.argv = sh;
	p = launch_request(g.t, &req);
	ASSERT(p != NULL);
	len = strlen(p->command);
	ASSERT(len > 4096 && len <= 2 * 4096 + 16);
	ASSERT(strncmp(p->command, "sh -c \xc3\xa9\xc3\xa9", 10) == 0);
	ASSERT_STR_EQ(p->command + len - 6, "\xc3\xa9 ...");
	/* Big commands go a step a turn: let them (both start), then close. */
	for (int i = 0; i < 10; i++)
		uv_run(&g.loop, UV_RUN_NOWAIT);
	ASSERT_EQ(g.spawned, 2);
	guard_close(&g);
	free(script);
	free(words);
	return 0;
}

/* Types TEXT at the current time, one key per byte. */
static void guard_type(struct guard *g, const char *text)
{
	for (const char *c = text; *c; c++)
		tui_key(g->t, (wint_t)(unsigned char)*c, false);
}

/* The prompt is shown (as a frame would show it): its arming starts now. */
static void guard_show(struct guard *g)
{
	struct modal_view v;

	tui_modal_view(g->t, &v);
}

/* The input line's text. Caller frees. */
static char *guard_input(struct guard *g)
{
	return input_text(&g->t->input);
}

TEST(tui_prompt_typeahead_goes_to_the_input_line)
{
	struct guard g;
	char *text;

	ASSERT_EQ(guard_open(&g, "untrusted"), 0);
	/* An escalation pops up (from elsewhere) while the user types a line. */
	launch_line(g.t, "make install");
	ASSERT_EQ(approval_pending(g.t->approvals), 1);
	guard_show(&g);
	guard_type(&g, "cat README.md");
	/* Not one of those keys answered (`a` would approve for the session). */
	ASSERT_EQ(approval_pending(g.t->approvals), 1);
	ASSERT_EQ(g.t->panes[0]->state, PANE_WAITING);
	text = guard_input(&g);
	ASSERT_STR_EQ(text, "cat README.md");
	free(text);
	/* Enter runs the typed line, as meant: a second pane, the prompt still waits. */
	g.now += 30;
	guard_type(&g, "\r");
	ASSERT_EQ(g.t->n_panes, 2);
	ASSERT_STR_EQ(g.t->panes[1]->command, "cat README.md");
	ASSERT_EQ(g.spawned, 1);
	ASSERT_EQ(approval_pending(g.t->approvals), 1);
	ASSERT_EQ(g.t->panes[0]->state, PANE_WAITING);
	/* `touch /etc/x` picks no `p`, writes no rule. */
	guard_type(&g, "touch /etc/x");
	ASSERT_EQ(approval_pending(g.t->approvals), 1);
	char *rules = xasprintf("%s/rules/default.rules", g.opts.home);
	ASSERT(access(rules, F_OK) != 0);
	free(rules);
	guard_close(&g);
	return 0;
}

TEST(tui_prompt_arms_after_500ms_without_a_key)
{
	struct guard g;
	struct modal_view v;
	char *text;

	ASSERT_EQ(guard_open(&g, "untrusted"), 0);
	launch_line(g.t, "make install");
	ASSERT(tui_modal_view(g.t, &v));
	ASSERT(v.arming);
	ASSERT_STR_EQ(v.arming_dest, "the input line");
	ASSERT_EQ(tui_modal_arms_at(g.t), (uint64_t)GUARD_T0 + TUI_ARM_MS);
	/* Keys inside the window do not answer, and each starts the wait again. */
	g.now = GUARD_T0 + 400;
	guard_type(&g, "y");
	ASSERT_EQ(tui_modal_arms_at(g.t), (uint64_t)GUARD_T0 + 400 + TUI_ARM_MS);
	g.now = GUARD_T0 + 850; /* past the first 500 ms, not 500 ms after the last key */
	guard_type(&g, "y");
	ASSERT_EQ(approval_pending(g.t->approvals), 1);
	g.now += TUI_ARM_MS - 1;
	ASSERT(tui_modal_view(g.t, &v));
	ASSERT(v.arming);
	g.now += 1;
	ASSERT(tui_modal_view(g.t, &v));
	ASSERT(!v.arming);
	text = guard_input(&g);
	ASSERT_STR_EQ(text, "yy");
	free(text);
	/* Armed: keys answer it, and no longer reach the input line. */
	guard_type(&g, "n");
	ASSERT_EQ(approval_pending(g.t->approvals), 0);
	ASSERT_EQ(g.t->panes[0]->state, PANE_DENIED);
	ASSERT_EQ(g.spawned, 0);
	text = guard_input(&g);
	ASSERT_STR_EQ(text, "yy");
	free(text);
	/* The next prompt arms anew: a key right after an answer is not its answer. */
	launch_line(g.t, "make clean");
	guard_type(&g, "y");
	ASSERT_EQ(approval_pending(g.t->approvals), 1);
	guard_close(&g);
	return 0;
}

TEST(tui_prompt_stray_enter_denies)
{
	struct guard g;
	struct modal_view v;

	ASSERT_EQ(guard_open(&g, "untrusted"), 0);
	launch_line(g.t, "make install");
	ASSERT(tui_modal_view(g.t, &v));
	ASSERT_STR_EQ(v.origin, "typed at the input, pane 1");
	ASSERT_STR_EQ(v.cwd, "/ws");
	/* The same command asked again joins the prompt, which says so. */
	launch_line(g.t, "make install");
	ASSERT_EQ(approval_pending(g.t->approvals), 1);
	ASSERT(tui_modal_view(g.t, &v));
	ASSERT_STR_EQ(v.origin, "typed at the input, pane 1, and 1 more request");
	/* The highlight starts on the last option, which denies. */
	ASSERT_EQ(v.selected, (int)v.n_options - 1);
	ASSERT_EQ(v.options[v.selected].key, 'n');
	g.now += TUI_ARM_MS;
	guard_type(&g, "\r");
	ASSERT_EQ(approval_pending(g.t->approvals), 0);
	ASSERT_EQ(g.t->panes[0]->state, PANE_DENIED);
	ASSERT_EQ(g.spawned, 0);
	guard_close(&g);
	return 0;
}

/* What an agent's observer saw of the decision. */
struct guard_obs {
	int decided;
	bool allowed;
	char reason[128];
};

static void guard__decided(const struct approval_result *res, void *data)
{
	struct guard_obs *o = data;

	o->decided++;
	o->allowed = res->allowed;
	snprintf(o->reason, sizeof o->reason, "%s", res->typed_reason ? res->typed_reason : "");
}

TEST(tui_prompt_deny_with_a_reason)
{
	struct guard g;
	struct guard_obs o = {0};
	struct modal_view v;
	char *argv[] = {"make", "install", NULL};
	struct launch_observer obs = {.decided = guard__decided, .data = &o};
	struct launch_request req = {
	    .argc = 2,
	    .argv = argv,
	    .cwd = "/ws/sub",
	    .escalate = true,
	    .justification = "install it",
	    .origin = "agent client 7",
	    .observer = &obs,
	};

	ASSERT_EQ(guard_open(&g, "on-request"), 0);
	ASSERT(launch_request(g.t, &req) != NULL);
	/* Who asks and where. */
	ASSERT(tui_modal_view(g.t, &v));
	ASSERT_STR_EQ(v.origin, "agent client 7, pane 1");
	ASSERT_STR_EQ(v.cwd, "/ws/sub");
	/* Tab while arming is typeahead: it moves focus, opens nothing. */
	tui_key(g.t, '\t', false);
	ASSERT(!g.t->reason_open);
	g.now += TUI_ARM_MS;
	/* Tab on an approving option opens nothing. */
	guard_type(&g, "k\t");
	ASSERT(!g.t->reason_open);
	guard_type(&g, "j\t");
	ASSERT(g.t->reason_open);
	/* Letters go to the field, not to the options; esc goes back. */
	guard_type(&g, "ya");
	ASSERT_EQ(o.decided, 0);
	guard_type(&g, "\033");
	ASSERT(!g.t->reason_open);
	ASSERT_EQ(o.decided, 0);
	guard_type(&g, "\tuse make -n first\r");
	ASSERT_EQ(o.decided, 1);
	/* "No, keep it sandboxed" to an escalation: it runs, in the sandbox (SPEC 4 step 4). */
	ASSERT(o.allowed);
	ASSERT_STR_EQ(o.reason, "use make -n first");
	ASSERT(g.t->panes[0]->state != PANE_DENIED);
	ASSERT(g.t->panes[0]->sandboxed);
	/* The audit line carries it. */
	char *path = xasprintf("%s/audit.jsonl", g.opts.home);
	char *log = test_read_file(path, NULL);
	free(path);
	ASSERT(log != NULL);
	ASSERT_CONTAINS(log, "\"reason\":\"use make -n first\"");
	ASSERT_CONTAINS(log, "\"prompted\":true");
	free(log);
	guard_close(&g);
	return 0;
}

TEST(tui_status_counts_only_prompts_waiting)
{
	struct guard g;

	ASSERT_EQ(guard_open(&g, "untrusted"), 0);
	ASSERT_EQ(tui_prompts_waiting(g.t), 0);
	launch_line(g.t, "make install");
	/* The prompt on screen is asked, not waiting. */
	ASSERT_EQ(tui_prompts_waiting(g.t), 0);
	launch_line(g.t, "npm publish");
	ASSERT_EQ(tui_prompts_waiting(g.t), 1);
	/* Under the help screen none is on screen: both wait. */
	tui_key(g.t, KEY_F(1), true);
	ASSERT_EQ(tui_prompts_waiting(g.t), 2);
	guard_type(&g, "x"); /* closes the help */
	ASSERT_EQ(tui_prompts_waiting(g.t), 1);
	guard_close(&g);
	return 0;
}

TEST(tui_quit_goes_ahead_once_nothing_runs)
{
	struct guard g;
	struct modal_view v;

	ASSERT_EQ(guard_open(&g, "on-failure"), 0);
	launch_line(g.t, "sleep 5");
	ASSERT_EQ(g.t->panes[0]->state, PANE_RUNNING);
	/* Ctrl-Q with a command running asks ... */
	tui_key(g.t, 0x11, false);
	ASSERT_EQ(g.t->overlay, TUI_OVERLAY_QUIT);
	ASSERT(tui_modal_view(g.t, &v));
	ASSERT_STR_EQ(v.reason, "1 command still runs.");
	ASSERT(!g.t->quit);
	/* ... and once it ends there is nothing left to ask about: airlock quits. */
	g.now += 100;
	launch_exited(g.t->panes[0], 0, 0);
	ASSERT(g.t->quit);
	guard_close(&g);

	/* Ctrl-Q in the question quits when nothing runs any more. */
	ASSERT_EQ(guard_open(&g, "on-failure"), 0);
	launch_line(g.t, "sleep 5");
	tui_key(g.t, 0x11, false);
	tui_key(g.t, 0x11, false);
	ASSERT(!g.t->quit); /* still running: it keeps asking */
	g.t->panes[0]->state = PANE_EXITED;
	tui_key(g.t, 0x11, false);
	ASSERT(g.t->quit);
	guard_close(&g);
	return 0;
}

TEST(layout_modal_keeps_origin_and_field_at_every_size)
{
	struct modal_view v = {
	    .title = "Run outside the sandbox?",
	    .reason = "publish the new version (the request asks to run outside the sandbox)",
	    .subject = "npm publish --access public --tag next",
	    .command = true,
	    .origin = "agent client 12, pane 7",
	    .cwd = "/home/dev/src/a/very/deeply/nested/workspace/packages/web",
	    .n_options = 4,
	    .selected = 3,
	    .field = "the tests have not run yet, and the version bump is missing",
	    .field_cursor = 59,
	};
	const char *labels[] = {"Yes, run it once",
	                        "Yes, and don't ask again for this command this session",
	                        "Yes, and don't ask again for commands that start with `npm publish`",
	                        "No, keep it sandboxed"};
	const char keys[] = "yapn";

	setlocale(LC_ALL, "C.UTF-8");
	for (size_t i = 0; i < 4; i++) {
		v.options[i].key = keys[i];
		v.options[i].label = labels[i];
	}
	for (int cols = 1; cols <= 100; cols++) {
		for (int rows = 1; rows <= 40; rows++) {
			struct modal_layout ml;
			bool origin = false, cwd = false;

			layout_modal(&v, cols, rows, &ml);
			ASSERT(ml.box.x + ml.box.w <= cols);
			ASSERT(ml.box.y + ml.box.h <= rows);
			ASSERT(ml.n_lines <= ml.inner.h);
			for (int i = 0; i < ml.n_lines; i++) {
				ASSERT(layout_text_width(ml.lines[i].text) <= ml.inner.w);
				origin |= strncmp(ml.lines[i].text, "from: agent client 12", 21) == 0;
				cwd |= strncmp(ml.lines[i].text, "cwd:  ", 6) == 0;
			}
			if (ml.field_line >= 0) {
				ASSERT(ml.field_line < ml.n_lines);
				ASSERT_EQ(ml.lines[ml.field_line].role, MODAL_FIELD);
				ASSERT(ml.field_cursor >= 0 && ml.field_cursor < ml.inner.w);
			}
			/* From 40x12 on: who asks, where (its tail), the field and the footer. */
			if (cols >= 40 && rows >= 12) {
				ASSERT(origin);
				ASSERT(cwd);
				ASSERT(ml.field_line >= 0);
				ASSERT_EQ(ml.lines[ml.n_lines - 1].role, MODAL_FOOTER);
			}
			if (cols >= 40 && rows >= 12 && cols < 60) {
				bool tail = false;
				for (int i = 0; i < ml.n_lines; i++)
					tail |= strstr(ml.lines[i].text, "packages/web") != NULL;
				ASSERT(tail);
			}
			layout_modal_free(&ml);
		}
	}
	return 0;
}

TEST(tui_prompt_typeahead_stays_with_the_focused_pane)
{
	struct guard g;
	struct modal_view v;
	char *argv[] = {"make", "install", NULL};
	struct launch_request req = {
	    .argc = 2, .argv = argv, .escalate = true, .origin = "agent client 1"};
	char *text;

	ASSERT_EQ(guard_open(&g, "on-request"), 0);
	/* A REPL runs in pane 1, and the user types into it. */
	launch_line(g.t, "python3");
	ASSERT_EQ(g.t->panes[0]->state, PANE_RUNNING);
	tui_key(g.t, '\t', false);
	ASSERT(!g.t->focus_input);
	ASSERT_EQ(g.t->current, 0);
	/* An agent's escalation arrives: a pane of its own, but the keys stay. */
	ASSERT(launch_request(g.t, &req) != NULL);
	ASSERT_EQ(g.t->current, 0);
	ASSERT(!g.t->focus_input);
	ASSERT(tui_modal_view(g.t, &v));
	ASSERT(v.arming);
	ASSERT_STR_EQ(v.arming_dest, "pane 1");
	guard_type(&g, "yes\r");
	/* Neither answered, nor moved to the input line to run as a shell command. */
	ASSERT_EQ(approval_pending(g.t->approvals), 1);
	ASSERT_EQ(g.t->n_panes, 2);
	ASSERT(!g.t->focus_input);
	text = guard_input(&g);
	ASSERT_STR_EQ(text, "");
	free(text);
	guard_close(&g);
	return 0;
}

/* Records that a network request was decided, and how. */
static void tui_ro__decided(const struct approval_result *res, void *data)
{
	*(int *)data = res->allowed ? 1 : 2;
}

/*
 * A real fault: AIRLOCK_HOME is a read-only bind mount (a mount namespace
 * of the test's own, as root), so the audit log cannot be opened. Nothing
 * that needs a decision runs, typed or an agent's, sandboxed or a network
 * request, no prompt asks, and the input row says why and what to do, and
 * keeps saying it after a key.
 */
TEST(tui_unwritable_audit_log_runs_nothing_and_says_why)
{
	char *home = xasprintf("%s/home", test_tmpdir());
	char *agent_argv[] = {"make", "install", NULL};
	struct launch_request lr = {.argc = 2, .argv = agent_argv, .origin = "agent client 1"};
	struct approval_request net = {
	    .kind = APPROVAL_NETWORK, .host = "example.com", .protocol = "https", .port = 443};
	struct guard g;
	int net_done = 0;

	if (geteuid() != 0 || unshare(CLONE_NEWNS) != 0)
		SKIP("a read-only bind mount needs root (unshare: %s)", strerror(errno));
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		SKIP("%s needs its mounts private, and this root is no mount point (a "
		     "chroot?): %s", "the read-only audit log", strerror(errno));
	ASSERT_EQ(mkdir(home, 0700), 0);
	ASSERT_EQ(mount(home, home, NULL, MS_BIND, NULL), 0);
	ASSERT_EQ(mount(NULL, home, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL), 0);
	ASSERT_EQ(guard_open(&g, "on-request"), 0);
	ASSERT(g.t->notice != NULL);
	ASSERT_CONTAINS(g.t->notice, "nothing that needs a decision runs");
	ASSERT_CONTAINS(g.t->notice, "Read-only file system");
	/* A typed command that the sandbox would run at once. */
	launch_line(g.t, "ls");
	ASSERT_EQ(g.spawned, 0);
	ASSERT_EQ(g.t->panes[0]->state, PANE_DENIED);
	/* An agent's command that would prompt: refused, no prompt. */
	launch_request(g.t, &lr);
	ASSERT_EQ(g.spawned, 0);
	ASSERT_EQ(approval_pending(g.t->approvals), 0);
	ASSERT_EQ(g.t->panes[1]->state, PANE_DENIED);
	/* A network request (the proxy's) is refused too. */
	approval_request(g.t->approvals, &net, tui_ro__decided, NULL, &net_done);
	ASSERT_EQ(net_done, 2);
	ASSERT_EQ(approval_pending(g.t->approvals), 0);
	/* The reason stays on screen after a key. */
	tui_key(g.t, 'x', false);
	ASSERT(g.t->notice != NULL);
	ASSERT_CONTAINS(g.t->notice, "restart airlock");
	guard_close(&g);
	umount2(home, MNT_DETACH);
	free(home);
	return 0;
}

/* NO_COLOR set but empty leaves colour on (no-color.org: only a non-empty value counts). */
TEST(tui_empty_no_color_keeps_colour)
{
	struct guard g;

	setenv("NO_COLOR", "", 1);
	ASSERT_EQ(guard_open(&g, "on-request"), 0);
	ASSERT(g.t->color);
	guard_close(&g);
	return 0;
}

/* Input history is state: $XDG_STATE_HOME/airlock/history, mode 0600, never in the config dir. */
TEST(tui_history_lives_in_the_state_dir_private)
{
	struct guard g;
	char *state = xasprintf("%s/state", test_tmpdir());
	char *hist = xasprintf("%s/airlock/history", state);
	char *old = xasprintf("%s/home/history", test_tmpdir());
	struct stat st;

	ASSERT_EQ(guard_open(&g, "on-request"), 0);
	guard_close(&g);
	setenv("XDG_STATE_HOME", state, 1);
	/* guard_open unsets XDG_STATE_HOME: open the model by hand, as it does. */
	memset(&g, 0, sizeof g);
	g.opts.home = xasprintf("%s/home", test_tmpdir());
	g.opts.mode = CLI_MODE_TUI;
	g.opts.sandbox = "workspace-write";
	g.opts.approval = "on-request";
	g.opts.network = "off";
	g.opts.cwd = xstrdup("/ws");
	g.now = GUARD_T0;
	uv_loop_init(&g.loop);
	char *cause = NULL;
	g.t = tui_new(&g.opts, &g.loop, guard__clock, &g, &cause);
	ASSERT(g.t != NULL);
	g.t->spawn = guard__spawn;
	g.t->spawn_data = &g;
	guard_type(&g, "ls\r");
	ASSERT_EQ(g.spawned, 1);
	guard_close(&g);
	ASSERT_EQ(stat(hist, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0600);
	ASSERT(access(old, F_OK) != 0);
	free(old);
	free(hist);
	free(state);
	return 0;
}

/*
 * The history an older airlock kept in the config dir moves to the state
 * dir once: its lines first (a torn last one not glued to the next), then
 * those already there; private; the old file gone; nothing moved twice.
 */
TEST(tui_history_moves_from_the_config_dir_once)
{
	struct guard g;
	char *old = xasprintf("%s/home/history", test_tmpdir());
	char *dir = xasprintf("%s/.local/state/airlock", test_tmpdir());
	char *hist = xasprintf("%s/history", dir);
	char *home = xasprintf("%s/home", test_tmpdir());
	char *file;
	struct stat st;

	ASSERT_EQ(mkdir(home, 0700), 0);
	ASSERT_EQ(test_write_file(old, "echo old1\necho old2"), 0);
	char *cmd = xasprintf("mkdir -p %s", dir);
	ASSERT_EQ(system(cmd), 0);
	free(cmd);
	ASSERT_EQ(test_write_file(hist, "echo new\n"), 0);
	ASSERT_EQ(guard_open(&g, "on-request"), 0);
	file = test_read_file(hist, NULL);
	ASSERT(file != NULL);
	ASSERT_STR_EQ(file, "echo old1\necho old2\necho new\n");
	free(file);
	ASSERT_EQ(stat(hist, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0600);
	ASSERT(lstat(old, &st) != 0 && errno == ENOENT);
	/* The session walks them all, the newest first. */
	ASSERT_EQ(g.t->input.n_history, 3);
	ASSERT_STR_EQ(g.t->input.history[0], "echo old1");
	ASSERT_STR_EQ(g.t->input.history[2], "echo new");
	guard_type(&g, "ls\r");
	guard_close(&g);
	/* The next run moves nothing again. */
	ASSERT_EQ(guard_open(&g, "on-request"), 0);
	guard_close(&g);
	file = test_read_file(hist, NULL);
	ASSERT_STR_EQ(file, "echo old1\necho old2\necho new\nls\n");
	free(file);
	free(home);
	free(hist);
	free(dir);
	free(old);
	return 0;
}

/*
 * Neither history path is followed when it is a symbolic link: an old one
 * pointing elsewhere is not read into the history, a new one pointing
 * elsewhere is not written through; the old lines stay where they were.
 */
TEST(tui_history_never_follows_a_planted_link)
{
	struct guard g;
	char *old = xasprintf("%s/home/history", test_tmpdir());
	char *dir = xasprintf("%s/.local/state/airlock", test_tmpdir());
	char *hist = xasprintf("%s/history", dir);
	char *secret = xasprintf("%s/secret", test_tmpdir());
	char *victim = xasprintf("%s/victim", test_tmpdir());
	char *cmd = xasprintf("mkdir -p %s %s/home", dir, test_tmpdir());
	char *file;
	struct stat st;

	ASSERT_EQ(system(cmd), 0);
	ASSERT_EQ(test_write_file(secret, "secret words\n"), 0);
	ASSERT_EQ(test_write_file(victim, "untouched\n"), 0);
	/* An old path that is a link: not read, not removed. */
	ASSERT_EQ(symlink(secret, old), 0);
	ASSERT_EQ(guard_open(&g, "on-request"), 0);
	ASSERT_EQ(g.t->input.n_history, 0);
	guard_type(&g, "ls\r");
	guard_close(&g);
	file = test_read_file(hist, NULL);
	ASSERT_STR_EQ(file, "ls\n");
	free(file);
	ASSERT(lstat(old, &st) == 0 && S_ISLNK(st.st_mode));
	/* A new path that is a link: the old lines stay, nothing is written through it. */
	ASSERT_EQ(unlink(old), 0);
	ASSERT_EQ(test_write_file(old, "echo old\n"), 0);
	ASSERT_EQ(unlink(hist), 0);
	ASSERT_EQ(symlink(victim, hist), 0);
	ASSERT_EQ(guard_open(&g, "on-request"), 0);
	guard_type(&g, "echo typed\r");
	guard_close(&g);
	file = test_read_file(victim, NULL);
	ASSERT_STR_EQ(file, "untouched\n");
	free(file);
	file = test_read_file(old, NULL);
	ASSERT_STR_EQ(file, "echo old\n");
	free(file);
	ASSERT(lstat(hist, &st) == 0 && S_ISLNK(st.st_mode));
	free(cmd);
	free(victim);
	free(secret);
	free(hist);
	free(dir);
	free(old);
	return 0;
}

TEST(tui_cd_line_moves_where_typed_lines_run)
{
	struct guard g;
	char *ws = xasprintf("%s/ws", test_tmpdir());
	char *sub = xasprintf("%s/ws/sub", test_tmpdir());

	ASSERT_EQ(mkdir(ws, 0700), 0);
	ASSERT_EQ(mkdir(sub, 0700), 0);
	ASSERT_EQ(guard_open(&g, "on-failure"), 0);
	/* The workspace is a real directory here. */
	char *real_ws = realpath(ws, NULL), *real_sub = realpath(sub, NULL);
	free(g.opts.cwd);
	g.opts.cwd = xstrdup(real_ws);
	free(g.t->cwd);
	g.t->cwd = xstrdup(real_ws);

	/* `cd sub` runs nothing and moves the session. */
	guard_type(&g, "cd sub\r");
	ASSERT_EQ(g.t->n_panes, 0);
	ASSERT_EQ(g.spawned, 0);
	ASSERT_STR_EQ(g.t->cwd, real_sub);
	/* The next line runs there; the workspace (the writable roots) stays. */
	guard_type(&g, "pwd\r");
	ASSERT_EQ(g.t->n_panes, 1);
	ASSERT_EQ(g.spawned, 1);
	ASSERT_STR_EQ(g.t->panes[0]->cwd, real_sub);
	ASSERT_STR_EQ(g.t->opts->cwd, real_ws);
	/* A directory that is not there: said, and the session stays put. */
	guard_type(&g, "cd 'no such'\r");
	ASSERT(g.t->notice != NULL);
	ASSERT_CONTAINS(g.t->notice, "cd: no such: No such file or directory");
	ASSERT_STR_EQ(g.t->cwd, real_sub);
	/* More than `cd DIR` is a command like any other: a pane, the cwd unchanged. */
	guard_type(&g, "cd .. && ls\r");
	ASSERT_EQ(g.t->n_panes, 2);
	ASSERT_STR_EQ(g.t->cwd, real_sub);
	/* Back to the workspace: lines run there as before. */
	guard_type(&g, "cd \"..\"\r");
	ASSERT_STR_EQ(g.t->cwd, real_ws);
	guard_type(&g, "ls\r");
	ASSERT_EQ(g.t->n_panes, 3);
	ASSERT(g.t->panes[2]->cwd == NULL);
	guard_close(&g);
	free(real_ws);
	free(real_sub);
	free(ws);
	free(sub);
	return 0;
}

TEST(tui_prefix_key_comes_from_config)
{
	struct config cfg;
	char *cause = NULL;
	struct guard g;

	memset(&cfg, 0, sizeof cfg);
	ASSERT_EQ(config_parse(&cfg, "{\"prefix_key\": \"C-a\"}", "config.json", &cause), 0);
	ASSERT_EQ(cfg.prefix_key, 0x01);
	config_free(&cfg);
	ASSERT_EQ(config_parse(&cfg, "{\"prefix_key\": \"Ctrl-]\"}", "config.json", &cause), 0);
	ASSERT_EQ(cfg.prefix_key, 0x1d);
	config_free(&cfg);
	/* Tab, Enter and Esc belong to programs; a letter is no prefix. */
	const char *bad[] = {"\"C-i\"", "\"C-m\"", "\"C-[\"", "\"x\"", "\"C-\"", "\"C-ab\"", "7"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *text = xasprintf("{\"prefix_key\": %s}", bad[i]);
		ASSERT_EQ(config_parse(&cfg, text, "config.json", &cause), -EINVAL);
		ASSERT_CONTAINS(cause, "prefix_key");
		free(cause);
		cause = NULL;
		free(text);
		config_free(&cfg);
	}
	/* A TUI with Ctrl-A as its prefix: Ctrl-] goes to the pane, Ctrl-A then i leaves it. */
	ASSERT_EQ(guard_open(&g, "on-failure"), 0);
	ASSERT_EQ(g.t->prefix_key, TUI_PREFIX_KEY);
	tui_free(g.t);
	g.opts.config.prefix_key = 0x01;
	g.t = tui_new(&g.opts, &g.loop, guard__clock, &g, &cause);
	ASSERT(g.t != NULL);
	g.t->spawn = guard__spawn;
	g.t->spawn_data = &g;
	ASSERT_EQ(g.t->prefix_key, 0x01);
	launch_line(g.t, "python3");
	tui_key(g.t, '\t', false);
	ASSERT(!g.t->focus_input);
	tui_key(g.t, 0x1d, false);
	tui_key(g.t, 'i', false);
	ASSERT(!g.t->focus_input);
	ASSERT(!g.t->prefix);
	tui_key(g.t, 0x01, false);
	ASSERT(g.t->prefix);
	tui_key(g.t, 'i', false);
	ASSERT(g.t->focus_input);
	guard_close(&g);
	return 0;
}

/* Every exec line says where the request came from and its working directory. */
TEST(tui_audit_lines_carry_cwd_and_from)
{
	char *agent_argv[] = {"ls", "-l", NULL};
	struct launch_request lr = {
	    .argc = 2, .argv = agent_argv, .cwd = "/ws/sub", .origin = "agent client 1"};
	struct guard g;
	char *log, *path;

	ASSERT_EQ(guard_open(&g, "on-request"), 0);
	launch_line(g.t, "ls");
	launch_request(g.t, &lr);
	ASSERT_EQ(g.spawned, 2);
	guard_close(&g);
	path = xasprintf("%s/home/audit.jsonl", test_tmpdir());
	log = test_read_file(path, NULL);
	ASSERT(log != NULL);
	ASSERT_CONTAINS(log, "\"subject\":[\"bash\",\"-lc\",\"ls\"]");
	ASSERT_CONTAINS(log, "\"cwd\":\"/ws\",\"from\":\"input\"");
	ASSERT_CONTAINS(log, "\"cwd\":\"/ws/sub\",\"from\":\"agent\"");
	free(log);
	free(path);
	return 0;
}

/*
 * A full disk under a running TUI (a 16 KiB tmpfs of its own as the home,
 * filled once the log is open): the next command is refused, the input row
 * says why, and the log holds only whole lines.
 */
TEST(tui_full_disk_refuses_and_says_why)
{
	char *home = xasprintf("%s/home", test_tmpdir());
	char *fill = xasprintf("%s/fill", home);
	char *log = xasprintf("%s/audit.jsonl", home);
	char block[4096];
	struct guard g;
	size_t len;
	int fd;

	if (geteuid() != 0 || unshare(CLONE_NEWNS) != 0)
		SKIP("a tmpfs of its own needs root (unshare: %s)", strerror(errno));
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		SKIP("no private mounts here: %s", strerror(errno));
	ASSERT_EQ(mkdir(home, 0700), 0);
	ASSERT_EQ(mount("tmpfs", home, "tmpfs", 0, "size=16k"), 0);
	ASSERT_EQ(guard_open(&g, "on-request"), 0);
	launch_line(g.t, "ls");
	ASSERT_EQ(g.spawned, 1);
	/* The log ends on a page boundary (one padding line), then the disk fills up. */
	struct stat st;
	ASSERT_EQ(stat(log, &st), 0);
	size_t pad = 4096 - (size_t)st.st_size % 4096;
	if (pad < 16)
		pad += 4096;
	char *line = xmalloc(pad + 1);
	memset(line, 'p', pad);
	memcpy(line, "{\"pad\":\"", 8);
	memcpy(line + pad - 3, "\"}\n", 3);
	line[pad] = '\0';
	fd = open(log, O_WRONLY | O_APPEND);
	ASSERT(fd >= 0);
	ASSERT_EQ(write(fd, line, pad), (ssize_t)pad);
	close(fd);
	free(line);
	memset(block, 'x', sizeof block);
	fd = open(fill, O_WRONLY | O_CREAT, 0600);
	ASSERT(fd >= 0);
	while (write(fd, block, sizeof block) > 0)
		;
	while (write(fd, block, 1) > 0)
		;
	close(fd);
	launch_line(g.t, "ls -l");
	ASSERT_EQ(g.spawned, 1);
	ASSERT_EQ(g.t->panes[1]->state, PANE_DENIED);
	ASSERT(g.t->notice != NULL);
	ASSERT_CONTAINS(g.t->notice, "cannot be written");
	guard_close(&g);
	char *text = test_read_file(log, &len);
	ASSERT(text != NULL && len > 0 && text[len - 1] == '\n');
	ASSERT_NOT_CONTAINS(text, "\"-l\"");
	free(text);
	umount2(home, MNT_DETACH);
	free(log);
	free(fill);
	free(home);
	return 0;
}
