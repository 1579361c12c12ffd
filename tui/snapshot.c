/*
 * Snapshots: the curses screen (curscr, what the terminal shows after the
 * last doupdate) read back cell by cell into text, for golden-file tests.
 * The text has a header (size, cursor), the rows as characters, then a
 * style plane of the same shape where each cell is a legend character
 * ('.' for plain), then the legend naming each style (attributes and
 * colours). Legend characters are given in order of first appearance, so
 * the same screen always gives the same bytes. Trailing blanks of a row
 * are dropped in both planes. Reading only: no output function is called.
 */
#include "tui/tui.h"

#include "core/xmalloc.h"

#include <curses.h>
#include <stdlib.h>
#include <string.h>

#define SNAPSHOT_MAX_STYLES 62

static const char snapshot__legend_chars[] =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/* A growing string. */
struct snapshot_buf {
	char *s;
	size_t len, cap;
};

/* Appends N bytes. */
static void snapshot__add(struct snapshot_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

/* Appends a string. */
static void snapshot__str(struct snapshot_buf *b, const char *s)
{
	snapshot__add(b, s, strlen(s));
}

/* Names a colour number. */
static void snapshot__color(char *buf, size_t size, int c)
{
	if (c < 0)
		snprintf(buf, size, "default");
	else
		snprintf(buf, size, "%d", c);
}

/* The style name of ATTRS with colour pair PAIR ("" for plain). */
static char *snapshot__style(attr_t attrs, int pair)
{
	char fgs[16], bgs[16];
	int fg = -1, bg = -1;
	struct snapshot_buf b = {0};

	if (pair > 0)
		extended_pair_content(pair, &fg, &bg);
	snapshot__str(&b, "");
	if (attrs & A_BOLD)
		snapshot__str(&b, " bold");
	if (attrs & A_DIM)
		snapshot__str(&b, " dim");
	if (attrs & A_ITALIC)
		snapshot__str(&b, " italic");
	if (attrs & A_UNDERLINE)
		snapshot__str(&b, " underline");
	if (attrs & A_REVERSE)
		snapshot__str(&b, " reverse");
	if (attrs & A_BLINK)
		snapshot__str(&b, " blink");
	if (fg != -1 || bg != -1) {
		snapshot__color(fgs, sizeof fgs, fg);
		snapshot__color(bgs, sizeof bgs, bg);
		char *c = xasprintf(" fg=%s bg=%s", fgs, bgs);
		snapshot__str(&b, c);
		free(c);
	}
	return b.s;
}

/* The screen as text (see the top of this file). */
char *snapshot_screen(void)
{
	int rows = getmaxy(curscr), cols = getmaxx(curscr);
	char *styles[SNAPSHOT_MAX_STYLES];
	int n_styles = 0, cy, cx;
	struct snapshot_buf text = {0}, plane = {0}, out = {0};
	char *rowbuf = xmalloc((size_t)cols * 8 * CCHARW_MAX + 1);
	char *stylebuf = xmalloc((size_t)cols + 1);
	bool shown = draw_cursor(&cy, &cx);

	for (int y = 0; y < rows; y++) {
		size_t tlen = 0, tkeep = 0;
		int slen = 0, skeep = 0, skip = 0;
		for (int x = 0; x < cols; x++) {
			cchar_t cc;
			wchar_t wch[CCHARW_MAX + 1];
			attr_t attrs;
			short spair;
			int pair = 0;
			char mb[16];

			mvwin_wch(curscr, y, x, &cc);
			getcchar(&cc, wch, &attrs, &spair, &pair);
			attrs &= ~(attr_t)(A_COLOR | A_CHARTEXT);
			char *name = snapshot__style(attrs, pair);
			char sc = '.';
			if (name[0] != '\0') {
				int k;
				for (k = 0; k < n_styles; k++)
					if (strcmp(styles[k], name) == 0)
						break;
				if (k == n_styles && n_styles < SNAPSHOT_MAX_STYLES)
					styles[n_styles++] = xstrdup(name);
				sc = k < SNAPSHOT_MAX_STYLES ? snapshot__legend_chars[k] : '?';
			}
			free(name);
			stylebuf[slen++] = sc;
			if (sc != '.')
				skeep = slen;
			/* A wide character's right half has no text of its own. */
			if (skip > 0) {
				skip--;
				continue;
			}
			if (wch[0] == L'\0')
				wch[0] = L' ';
			int w = wcwidth(wch[0]);
			skip = w > 1 ? w - 1 : 0;
			/* The marks on it too: a combining character shares its cell. */
			for (int k = 0; k < CCHARW_MAX && (k == 0 || wch[k] != L'\0'); k++) {
				int n = wctomb(mb, wch[k]);
				if (n <= 0) {
					mb[0] = '?';
					n = 1;
				}
				memcpy(rowbuf + tlen, mb, (size_t)n);
				tlen += (size_t)n;
			}
			if (wch[0] != L' ')
				tkeep = tlen;
		}
		snapshot__add(&text, rowbuf, tkeep);
		snapshot__str(&text, "\n");
		snapshot__add(&plane, stylebuf, (size_t)skeep);
		snapshot__str(&plane, "\n");
	}
	char *head;
	if (shown)
		head = xasprintf("size %dx%d cursor %d,%d\n", cols, rows, cy, cx);
	else
		head = xasprintf("size %dx%d cursor hidden\n", cols, rows);
	snapshot__str(&out, head);
	free(head);
	snapshot__str(&out, "--- text\n");
	snapshot__str(&out, text.s);
	snapshot__str(&out, "--- style\n");
	snapshot__str(&out, plane.s);
	snapshot__str(&out, "--- legend\n");
	for (int k = 0; k < n_styles; k++) {
		char *line = xasprintf("%c:%s\n", snapshot__legend_chars[k], styles[k]);
		snapshot__str(&out, line);
		free(line);
		free(styles[k]);
	}
	free(text.s);
	free(plane.s);
	free(rowbuf);
	free(stylebuf);
	return out.s;
}
