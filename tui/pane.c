/*
 * Panes: one command's terminal. Bytes from the command go through libvterm
 * (a VTerm with its VTermScreen), so colours, carriage-return progress bars
 * and cursor movement end up as they would in a terminal. Lines that scroll
 * off the top arrive in sb_pushline and are kept, compact and with trailing
 * blanks trimmed, in a ring of PANE_SCROLLBACK_LINES lines; sb_popline gives
 * them back when the pane grows taller.
 *
 * Reflow (SPEC 7: narrowing a pane never destroys its content): libvterm
 * rewraps its screen when the width changes, and the ring does the same
 * for the scrollback. Each kept line says whether its text goes on in the
 * next one (a soft wrap: libvterm marks the row after it as a
 * continuation), read from libvterm's line info when the line is pushed:
 * row 0's after a scroll (the rows moved up already), the rows' as they
 * were before a resize (libvterm pushes the old rows from the top, in
 * order). When the width changes, the ring is rebuilt: each run of wrapped
 * lines is joined into its text and cut again at the new width, never
 * through a wide character; the ring grows to hold them all (the same text
 * in more, narrower lines, up to PANE_SCROLLBACK_REFLOW_MAX) and shrinks
 * back to PANE_SCROLLBACK_LINES when they fit again. A resize lays the
 * screen out anew (pane__set_size): what is above the cursor's line goes
 * up to the ring, the ring reflows, and the rows it can fill come back,
 * with their soft wraps set again in libvterm's line info. Where the ring's
 * newest line goes on in the screen's top row, the ring keeps the wrap
 * (libvterm's mark on row 0 is always cleared: see
 * pane__clear_top_continuation), so ring and screen never disagree on
 * where a line breaks. vendor/README.md lists the libvterm 0.3.3 faults
 * worked around here.
 *
 * A character with marks on it (libvterm keeps up to six code points in a
 * cell: e + U+0301, an emoji and its joiner) is kept whole: the cell names
 * an entry of the pane's table of clusters, so a scrollback cell stays the
 * same small size.
 *
 * The pane is only a model: it never draws. The view (what the drawing code
 * reads) is the screen scrolled back by `scroll` lines into that ring. Keys
 * typed in a focused pane go through vterm_keyboard_* so the command gets
 * the bytes a terminal would send, and vterm's output callback writes them
 * to the job's pseudo-terminal.
 */
#include "tui/tui.h"

#include "core/job.h"
#include "core/xmalloc.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A resize brings at most this many rows of a line back from the scrollback to reflow it. */
#define PANE_REFLOW_RUN_MAX 1000

/*
 * The narrowest terminal a pane has (a narrower tile shows its left part).
 * libvterm 0.3.3 writes a wide character's right half past the row when
 * the row is one column wide (a terminal of one column, or a double-width
 * line, DECDWL, of fewer than four): a NULL cell in putglyph.
 */
#define PANE_MIN_COLS 4

/* A VTerm colour in the pane's packed form. */
static uint32_t pane__color(const VTermColor *c, bool fg)
{
	if (fg ? VTERM_COLOR_IS_DEFAULT_FG(c) : VTERM_COLOR_IS_DEFAULT_BG(c))
		return PANE_COLOR_DEFAULT;
	if (VTERM_COLOR_IS_INDEXED(c))
		return PANE_COLOR_INDEXED(c->indexed.idx);
	return PANE_COLOR_RGB(c->rgb.red, c->rgb.green, c->rgb.blue);
}

/*
 * The pane's clusters: a growing array of character sequences and an open
 * hash of their indexes, so that a cluster seen again (every accented
 * letter of a text) takes no new entry.
 */
#define PANE_CLUSTER_SLOTS (2 * PANE_CLUSTERS_MAX)

struct pane_clusters {
	uint32_t (*v)[PANE_CLUSTER_CHARS];
	size_t n;
	int32_t slot[PANE_CLUSTER_SLOTS]; /* index + 1; 0: free */
};

/* A hash of a cluster's characters (FNV-1a over the code points). */
static size_t pane__cluster_hash(const uint32_t *chars)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < PANE_CLUSTER_CHARS && chars[i] != 0; i++) {
		h ^= chars[i];
		h *= 16777619u;
	}
	return h % PANE_CLUSTER_SLOTS;
}

/* The cell value for the cluster CHARS (VTERM_MAX_CHARS_PER_CELL, 0-ended when shorter). */
static uint32_t pane__cluster(struct pane_clusters *cl, const uint32_t *chars)
{
	uint32_t key[PANE_CLUSTER_CHARS] = {0};
	size_t h;

	for (int i = 0; i < PANE_CLUSTER_CHARS && chars[i] != 0; i++)
		key[i] = chars[i];
	for (h = pane__cluster_hash(key); cl->slot[h] != 0; h = (h + 1) % PANE_CLUSTER_SLOTS)
		if (memcmp(cl->v[cl->slot[h] - 1], key, sizeof key) == 0)
			return PANE_CLUSTER_BIT | (uint32_t)(cl->slot[h] - 1);
	if (cl->n == PANE_CLUSTERS_MAX)
		return key[0]; /* full: the base character alone */
	if ((cl->n & (cl->n - 1)) == 0)
		cl->v = xreallocarray(cl->v, cl->n ? cl->n * 2 : 16, sizeof cl->v[0]);
	memcpy(cl->v[cl->n], key, sizeof key);
	cl->slot[h] = (int32_t)++cl->n;
	return PANE_CLUSTER_BIT | (uint32_t)(cl->n - 1);
}

/* The characters of a cell (see tui.h). */
size_t pane_cell_chars(const struct pane *p, const struct pane_cell *c, uint32_t *out)
{
	size_t n = 0;

	if (c->ch & PANE_CLUSTER_BIT) {
		uint32_t idx = c->ch & ~PANE_CLUSTER_BIT;
		if (p->clusters == NULL || idx >= p->clusters->n)
			return 0;
		for (; n < PANE_CLUSTER_CHARS && p->clusters->v[idx][n] != 0; n++)
			out[n] = p->clusters->v[idx][n];
		return n;
	}
	if (c->ch != 0)
		out[n++] = c->ch;
	return n;
}

/* How many clusters P's table holds. */
size_t pane_cluster_count(const struct pane *p)
{
	return p->clusters != NULL ? p->clusters->n : 0;
}

/* A cell's first character. */
uint32_t pane_cell_base(const struct pane *p, const struct pane_cell *c)
{
	uint32_t chars[PANE_CLUSTER_CHARS];

	return pane_cell_chars(p, c, chars) > 0 ? chars[0] : 0;
}

/* A VTerm screen cell in the pane's compact form (P's clusters take its marks). */
static void pane__cell_from_vterm(const struct pane *p, const VTermScreenCell *vc,
                                  struct pane_cell *out)
{
	out->ch = vc->chars[0];
	if (vc->chars[0] != 0 && vc->chars[0] != (uint32_t)-1 && vc->chars[1] != 0 &&
	    p->clusters != NULL)
		out->ch = pane__cluster(p->clusters, vc->chars);
	out->width = (uint8_t)(vc->width < 0 ? 0 : vc->width);
	if (vc->chars[0] == (uint32_t)-1) {
		/* libvterm marks the right half of a wide character so. */
		out->ch = 0;
		out->width = 0;
	}
	out->fg = pane__color(&vc->fg, true);
	out->bg = pane__color(&vc->bg, false);
	out->attrs = (uint8_t)((vc->attrs.bold ? PANE_ATTR_BOLD : 0) |
	                       (vc->attrs.underline ? PANE_ATTR_UNDERLINE : 0) |
	                       (vc->attrs.italic ? PANE_ATTR_ITALIC : 0) |
	                       (vc->attrs.reverse ? PANE_ATTR_REVERSE : 0) |
	                       (vc->attrs.blink ? PANE_ATTR_BLINK : 0));
}

/* Whether a cell shows nothing (a trimmable blank). */
static bool pane__cell_blank(const struct pane_cell *c)
{
	return (c->ch == 0 || c->ch == ' ') && c->bg == PANE_COLOR_DEFAULT &&
	       !(c->attrs & (PANE_ATTR_REVERSE | PANE_ATTR_UNDERLINE));
}

/* A new newest line of N cells in the scrollback ring (the oldest goes when full). */
static struct pane_line *pane__sb_add(struct pane *p, int n)
{
	size_t slot;
	struct pane_line *line;

	if (p->sb_len == p->sb_cap) {
		/* Full: the oldest line goes; reuse its slot (and its memory if big enough). */
		slot = p->sb_head;
		p->sb_head = (p->sb_head + 1) % p->sb_cap;
		line = p->sb[slot];
		if (line->ncells < n) {
			free(line);
			line = NULL;
		}
	} else {
		slot = (p->sb_head + p->sb_len) % p->sb_cap;
		p->sb_len++;
		line = NULL;
	}
	if (line == NULL)
		line = xmalloc(sizeof *line + (size_t)n * sizeof line->cells[0]);
	line->ncells = n;
	line->wrapped = false;
	p->sb[slot] = line;
	/* A view scrolled back stays on the same lines while output flows. */
	if (p->scroll > 0 && p->scroll < (int)p->sb_len)
		p->scroll++;
	return line;
}

/*
 * What a resize needs to know while libvterm runs it: whether each row of
 * the screen as it was is a continuation (CONT, from libvterm's line info),
 * how many rows libvterm pushed so far, the widest line it may be given back
 * (POP_COLS: the narrower of the old and new widths, as it copies no more),
 * and the rows that continue the last row pushed (TAIL; see pane__set_size).
 */
struct pane_resize {
	bool *cont, *vcont; /* the soft wraps; what libvterm sees of them (see pane__fit_cursor_line) */
	int rows, pushed, pop_cols;
	struct pane_line **tail;
	int ntail;
	bool *popped; /* the soft wrap of each line given back, in the order given */
	int npopped, popped_max;
	bool popped_into_screen; /* those given back so far all go on to the screen's first line */
};

/* Keeps COLS libvterm cells as the ring's newest line; WRAPPED: its text goes on. */
static void pane__sb_push_cells(struct pane *p, int cols, const VTermScreenCell *cells,
                                bool wrapped)
{
	struct pane_cell tmp;
	struct pane_line *line;
	int n = cols;

	while (n > 0) {
		pane__cell_from_vterm(p, &cells[n - 1], &tmp);
		/* A wrapped line's blanks are text, but not cells never written (a wide
		 * character that did not fit, a line given back shorter than the pane). */
		if (wrapped ? tmp.ch != 0 || tmp.width != 1 : !pane__cell_blank(&tmp))
			break;
		n--;
	}
	line = pane__sb_add(p, n);
	line->wrapped = wrapped;
	for (int i = 0; i < n; i++)
		pane__cell_from_vterm(p, &cells[i], &line->cells[i]);
}

/* Forgets the rows kept as the last pushed row's continuation. */
static void pane__resize_tail_free(struct pane_resize *rz)
{
	for (int i = 0; i < rz->ntail; i++)
		free(rz->tail[i]);
	free(rz->tail);
	rz->tail = NULL;
	rz->ntail = 0;
}

/*
 * While resizing: copies the rows of the old screen that continue row ROW
 * (libvterm still reads the old screen), as lines of the ring are made.
 */
static void pane__resize_keep_tail(struct pane *p, int row, int cols)
{
	struct pane_resize *rz = p->resizing;
	VTermScreenCell *cells = xcalloc((size_t)cols, sizeof *cells);

	pane__resize_tail_free(rz);
	for (int r = row + 1; r < rz->rows && rz->vcont[r]; r++) {
		struct pane_line *line = xmalloc(sizeof *line + (size_t)cols * sizeof line->cells[0]);
		for (int col = 0; col < cols; col++)
			vterm_screen_get_cell(p->vs, (VTermPos){.row = r, .col = col}, &cells[col]);
		line->ncells = cols;
		line->wrapped = r + 1 < rz->rows && rz->cont[r + 1];
		for (int col = 0; col < cols; col++)
			pane__cell_from_vterm(p, &cells[col], &line->cells[col]);
		while (line->ncells > 0 &&
		       (line->wrapped ? line->cells[line->ncells - 1].ch == 0 &&
		                            line->cells[line->ncells - 1].width == 1
		                      : pane__cell_blank(&line->cells[line->ncells - 1])))
			line->ncells--;
		rz->tail = xreallocarray(rz->tail, (size_t)rz->ntail + 1, sizeof *rz->tail);
		rz->tail[rz->ntail++] = line;
	}
	free(cells);
}

/* libvterm pushes a line off the top: keep it in the ring, with its soft wrap. */
static int pane__sb_pushline(int cols, const VTermScreenCell *cells, void *user)
{
	struct pane *p = user;
	struct pane_resize *rz = p->resizing;
	bool wrapped = false;

	if (rz != NULL && p->altscreen)
		return 1; /* libvterm 0.3.3 reads the alternate screen's rows for the normal one's */
	if (rz != NULL) {
		/* A resize pushes the old screen's rows from the top, in order. */
		int row = rz->pushed++;
		wrapped = row + 1 < rz->rows && rz->cont[row + 1];
		/* The last row pushed starts a line (as libvterm sees it): only such a row may
		 * be the one whose continuation libvterm drops; a copy for each line, no more. */
		if (row + 1 < rz->rows && rz->vcont[row + 1] && (row == 0 || !rz->vcont[row]))
			pane__resize_keep_tail(p, row, cols);
	} else if (!p->altscreen) {
		/* A scroll: the line info moved up already, row 0's is the next row's. */
		wrapped = vterm_state_get_lineinfo(vterm_obtain_state(p->vt), 0)->continuation;
	}
	pane__sb_push_cells(p, cols, cells, wrapped);
	return 1;
}

/* Keeps N plain ASCII characters as one scrollback line (the fast path); WRAPPED: it goes on. */
static void pane__sb_push_text(struct pane *p, const char *s, int n, bool wrapped)
{
	struct pane_line *line;

	while (n > 0 && s[n - 1] == ' ' && !wrapped)
		n--;
	line = pane__sb_add(p, n);
	line->wrapped = wrapped;
	for (int i = 0; i < n; i++)
		line->cells[i] =
		    (struct pane_cell){.ch = (uint32_t)(unsigned char)s[i], .width = 1};
}

/* The ring's line I, oldest first. */
static struct pane_line *pane__sb_line(const struct pane *p, size_t i)
{
	return p->sb[(p->sb_head + i) % p->sb_cap];
}

/*
 * libvterm wants a line back (the pane grew): hand out the newest, when it
 * fits (libvterm copies no more cells than the narrower of the two widths)
 * and, when its text goes on, fills the row.
 * libvterm marks the row it makes of it as no continuation: the resize
 * marks the soft wraps of the lines given back once libvterm is done.
 */
static int pane__sb_popline(int cols, VTermScreenCell *cells, void *user)
{
	struct pane *p = user;
	size_t slot;
	struct pane_line *line;

	if (p->sb_len == 0)
		return 0;
	slot = (p->sb_head + p->sb_len - 1) % p->sb_cap;
	line = p->sb[slot];
	if (line->ncells > cols || p->resizing == NULL || line->ncells > p->resizing->pop_cols)
		return 0;
	if (p->altscreen && (line->wrapped || (p->sb_len > 1 && pane__sb_line(p, p->sb_len - 2)->wrapped)))
		return 0; /* the normal screen's line info is out of reach: whole lines only */
	/* libvterm counts a row its text goes on from as full: a shorter one would get blanks
	 * when libvterm reflows it, as it does the cursor's line (a line given back above that
	 * goes up to the scrollback again first, where its blanks never written are dropped). */
	if (line->wrapped && line->ncells < p->cols && p->resizing->popped_into_screen)
		return 0;
	if (p->resizing->npopped == p->resizing->popped_max) {
		p->resizing->popped_max = p->resizing->popped_max ? 2 * p->resizing->popped_max : 64;
		p->resizing->popped = xreallocarray(p->resizing->popped, (size_t)p->resizing->popped_max,
		                                    sizeof *p->resizing->popped);
	}
	p->resizing->popped[p->resizing->npopped++] = line->wrapped;
	p->resizing->popped_into_screen = p->resizing->popped_into_screen && line->wrapped;
	for (int i = 0; i < cols; i++) {
		VTermScreenCell *c = &cells[i];
		memset(c, 0, sizeof *c);
		c->width = 1;
		c->fg.type = VTERM_COLOR_DEFAULT_FG;
		c->bg.type = VTERM_COLOR_DEFAULT_BG;
		if (i < line->ncells) {
			const struct pane_cell *pc = &line->cells[i];
			uint32_t chars[PANE_CLUSTER_CHARS];
			size_t n = pane_cell_chars(p, pc, chars);
			for (size_t k = 0; k < n && k < VTERM_MAX_CHARS_PER_CELL; k++)
				c->chars[k] = chars[k];
			/* libvterm steps over a line by its cells' widths: a width of 0 (the right
			 * half of a wide character whose left half is not in the line, or what
			 * libvterm made of a C1 control) would never end the walk. */
			c->width = pc->width > 0 ? (char)pc->width : 1;
			c->attrs.bold = !!(pc->attrs & PANE_ATTR_BOLD);
			c->attrs.underline = !!(pc->attrs & PANE_ATTR_UNDERLINE);
			c->attrs.italic = !!(pc->attrs & PANE_ATTR_ITALIC);
			c->attrs.reverse = !!(pc->attrs & PANE_ATTR_REVERSE);
			if (PANE_COLOR_IS_INDEXED(pc->fg))
				vterm_color_indexed(&c->fg, (uint8_t)pc->fg);
			else if (PANE_COLOR_IS_RGB(pc->fg))
				vterm_color_rgb(&c->fg, (uint8_t)(pc->fg >> 16),
				                (uint8_t)(pc->fg >> 8), (uint8_t)pc->fg);
			if (PANE_COLOR_IS_INDEXED(pc->bg))
				vterm_color_indexed(&c->bg, (uint8_t)pc->bg);
			else if (PANE_COLOR_IS_RGB(pc->bg))
				vterm_color_rgb(&c->bg, (uint8_t)(pc->bg >> 16),
				                (uint8_t)(pc->bg >> 8), (uint8_t)pc->bg);
		}
	}
	free(line);
	p->sb[slot] = NULL;
	p->sb_len--;
	/* A view scrolled back stays on the same lines. */
	if (p->scroll > 0)
		p->scroll--;
	return 1;
}

/* The cursor moved: remember it for the drawing code. */
static int pane__movecursor(VTermPos pos, VTermPos oldpos, int visible, void *user)
{
	struct pane *p = user;

	(void)oldpos;
	p->cursor = pos;
	p->cursor_visible = visible;
	return 1;
}

/*
 * Row 0 of the normal screen no longer continues a line as libvterm sees
 * it. Its resize walks up from a continuation row to the row it continues
 * and reads above the screen when that is row 0 (libvterm 0.3.3); the
 * ring's newest line keeps the soft wrap instead (it is marked wrapped).
 * libvterm has no call to set line info: its array is ours to write here.
 */
static void pane__clear_top_continuation(struct pane *p)
{
	VTermLineInfo *info = (VTermLineInfo *)vterm_state_get_lineinfo(vterm_obtain_state(p->vt), 0);

	info->continuation = 0;
}

/* Terminal properties: the cursor's visibility, and which screen shows. */
static int pane__settermprop(VTermProp prop, VTermValue *val, void *user)
{
	struct pane *p = user;

	if (prop == VTERM_PROP_CURSORVISIBLE)
		p->cursor_visible = val->boolean;
	if (prop == VTERM_PROP_ALTSCREEN) {
		/* Called before the switch: the line info is still the one written to. libvterm
		 * reflows the screen not shown as well on a resize: its row 0 is cleared too.
		 * Always: after RIS (ESC c) on the alternate screen, libvterm's state writes the
		 * normal screen's line info while the alternate screen stays shown. */
		pane__clear_top_continuation(p);
		p->altscreen = val->boolean;
	}
	return 1;
}

static const VTermScreenCallbacks pane__screen_callbacks = {
    .movecursor = pane__movecursor,
    .settermprop = pane__settermprop,
    .sb_pushline = pane__sb_pushline,
    .sb_popline = pane__sb_popline,
};

/* What the terminal answers or what keys become: to the command. */
static void pane__output(const char *s, size_t len, void *user)
{
	struct pane *p = user;

	/* A command on pipes has no terminal: its stdin is its requester's alone, and what
	 * its output asks of one (ESC [ c, ESC [ 6 n) is not answered into it; keys are sent. */
	if (p->pipes && !p->keying)
		return;
	if (p->job != NULL && p->state == PANE_RUNNING)
		job_write(p->job, s, len);
}

/* Makes a pane with a ROWS x COLS terminal; ARGV is copied. */
struct pane *pane_new(struct tui *t, int id, const char *command, size_t argc, char *const argv[],
                      int rows, int cols)
{
	struct pane *p = xcalloc(1, sizeof *p);

	p->tui = t;
	p->id = id;
	p->command = xstrdup(command);
	p->argc = argc;
	p->argv = xstrv_pack(argc, argv); /* one allocation, even for 200k words */
	p->rows = rows > 0 ? rows : 1;
	p->cols = cols > PANE_MIN_COLS ? cols : PANE_MIN_COLS;
	p->sb_cap = PANE_SCROLLBACK_LINES;
	p->sb = xcalloc(p->sb_cap, sizeof *p->sb);
	p->clusters = xcalloc(1, sizeof *p->clusters);
	p->vt = vterm_new(p->rows, p->cols);
	vterm_set_utf8(p->vt, 1);
	vterm_output_set_callback(p->vt, pane__output, p);
	p->vs = vterm_obtain_screen(p->vt);
	vterm_screen_set_callbacks(p->vs, &pane__screen_callbacks, p);
	vterm_screen_set_damage_merge(p->vs, VTERM_DAMAGE_SCROLL);
	vterm_screen_enable_altscreen(p->vs, 1);
	vterm_screen_enable_reflow(p->vs, true);
	vterm_screen_reset(p->vs, 1);
	p->cursor_visible = true;
	return p;
}

/* Frees the pane (the job must be gone already). */
void pane_free(struct pane *p)
{
	if (p == NULL)
		return;
	vterm_free(p->vt);
	for (size_t i = 0; i < p->sb_len; i++)
		free(p->sb[(p->sb_head + i) % p->sb_cap]);
	free(p->sb);
	free(p->clusters->v);
	free(p->clusters);
	free(p->argv);
	free(p->command);
	free(p->tail);
	free(p->pending);
	free(p);
}

/* Keeps the last PANE_OUTPUT_TAIL bytes for the on-failure check. */
static void pane__keep_tail(struct pane *p, const char *buf, size_t len)
{
	/* Room for two tails: the older half is dropped only when full (amortised copies). */
	if (p->tail == NULL)
		p->tail = xmalloc(2 * PANE_OUTPUT_TAIL);
	if (len >= PANE_OUTPUT_TAIL) {
		memcpy(p->tail, buf + len - PANE_OUTPUT_TAIL, PANE_OUTPUT_TAIL);
		p->tail_len = PANE_OUTPUT_TAIL;
		return;
	}
	if (p->tail_len + len > 2 * PANE_OUTPUT_TAIL) {
		size_t keep = PANE_OUTPUT_TAIL - len;
		memmove(p->tail, p->tail + p->tail_len - keep, keep);
		p->tail_len = keep;
	}
	memcpy(p->tail + p->tail_len, buf, len);
	p->tail_len += len;
}

/* Forgets the output tail. */
void pane_tail_reset(struct pane *p)
{
	p->tail_len = 0;
}

/*
 * Whether BUF is plain: printable ASCII lines ended by "\r\n" (a bare line
 * feed only where the column is 0 anyway), from a pane that never received
 * an escape (so the pen is the default one and no scroll region or other
 * mode is set).
 */
static bool pane__plain(struct pane *p, const char *buf, size_t len)
{
	if (p->saw_esc || memchr(buf, 0x1b, len) != NULL) {
		p->saw_esc = true;
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c >= 0x20 && c < 0x7f)
			continue;
		/*
		 * A slice may end between the two bytes of a CR LF (it ends where
		 * a read did) and the next one start there: a last CR, or a first
		 * LF, is plain too, since the line under way (the first) always
		 * goes through libvterm, which checks the column after it. Before,
		 * either sent a whole 64 KiB slice the slow way, a libvterm scroll
		 * of the whole screen per line: 20-80 ms of the loop at a time.
		 */
		if (c == '\r' && (i + 1 == len || buf[i + 1] == '\n'))
			continue;
		/* A bare line feed keeps the column: plain only where that is 0. */
		if (c == '\n' && (i == 0 || buf[i - 1] == '\r' || buf[i - 1] == '\n'))
			continue;
		return false;
	}
	return true;
}

/*
 * Puts libvterm's cursor back on its screen. libvterm 0.3.3 lets it off in
 * two ways: it keeps the cursor DECSC (ESC 7) saved as it was when a
 * resize makes the screen smaller, and DECRC (ESC 8, the only restore it
 * does not clamp) puts it back unchecked, below or right of the screen,
 * where the next character writes the line info past its end (a heap
 * overflow in putglyph); and it takes a C1 control sent as UTF-8 (U+0080
 * to U+009F, C2 80 to C2 9F) for text one column wide to the left (width
 * -1), which moves the cursor to column -1 from column 0, where insert
 * mode then moves cells from outside the row. Every CSI sequence ends by
 * bringing the cursor within the screen (within the margins in origin
 * mode): TBC 1 (clear line tab stops) does nothing else.
 */
static void pane__cursor_in_bounds(struct pane *p)
{
	VTermPos pos;

	vterm_state_get_cursorpos(vterm_obtain_state(p->vt), &pos);
	if (pos.row < 0 || pos.row >= p->rows || pos.col < 0 || pos.col >= p->cols)
		vterm_input_write(p->vt, "\033[1g", 4);
}

/*
 * Whether BUF[I] may end what moves libvterm's cursor off its screen: '8'
 * (ESC 8), or, once the pane has had a byte C2, any byte 0x80 to 0x9F (the
 * last of a C1 control in UTF-8: libvterm's decoder keeps a lead byte
 * through controls and escape sequences, and from one write to the next).
 */
static bool pane__may_move_off(const struct pane *p, const char *buf, size_t i)
{
	unsigned char c = (unsigned char)buf[i];

	return c == '8' || (p->saw_c2 && c >= 0x80 && c < 0xa0);
}

/*
 * Where pane__write is in a sequence: none, after ESC, in the arguments of
 * a CSI sequence that may be REP (its first, a later one), of another CSI
 * sequence, in the number of an OSC string.
 */
enum {
	PANE_SEQ_NONE,
	PANE_SEQ_ESC,
	PANE_SEQ_REP,
	PANE_SEQ_REP_MORE,
	PANE_SEQ_CSI,
	PANE_SEQ_OSC,
	PANE_SEQ_BANG /* CSI ... ! (DECSTR when p follows) */
};

/* What pane__write does with a byte: give it to libvterm, do REP, leave it out, a reset. */
enum pane_byte { PANE_BYTE_PASS, PANE_BYTE_REP, PANE_BYTE_DROP, PANE_BYTE_RESET };

/* A number longer than this is cut (pane__seq_step). */
#define PANE_SEQ_DIGITS_MAX 9

/*
 * Follows byte C through escape sequences as libvterm's parser reads them
 * (ESC restarts, CAN and SUB cancel, other C0 controls are done inside).
 * REP (CSI Pn b, repeat the last character) is done by pane__rep. And the
 * digits of a number past PANE_SEQ_DIGITS_MAX are left out: libvterm 0.3.3
 * multiplies a CSI argument (a long) or an OSC number (an int) by 10 for
 * each, past their range (signed overflow: undefined, and the sanitized
 * build stops on it).
 */
static enum pane_byte pane__seq_step(struct pane *p, unsigned char c)
{
	if (c == 0x1b) {
		p->rep_scan = PANE_SEQ_ESC;
		return PANE_BYTE_PASS;
	}
	if (c == 0x18 || c == 0x1a) {
		p->rep_scan = PANE_SEQ_NONE;
		return PANE_BYTE_PASS;
	}
	switch (p->rep_scan) {
	case PANE_SEQ_ESC:
		p->rep_scan = c == '[' ? PANE_SEQ_REP : c == ']' ? PANE_SEQ_OSC : PANE_SEQ_NONE;
		p->rep_count = 0;
		p->seq_digits = 0;
		return c == 'c' ? PANE_BYTE_RESET : PANE_BYTE_PASS; /* RIS */
	case PANE_SEQ_BANG:
		if (c < 0x20)
			return PANE_BYTE_PASS;
		p->rep_scan = PANE_SEQ_NONE;
		return c == 'p' ? PANE_BYTE_RESET : PANE_BYTE_PASS; /* DECSTR */
	case PANE_SEQ_REP:
	case PANE_SEQ_REP_MORE:
	case PANE_SEQ_CSI:
	case PANE_SEQ_OSC:
		if (c < 0x20)
			return PANE_BYTE_PASS;
		if (c >= '0' && c <= '9') {
			if (++p->seq_digits > PANE_SEQ_DIGITS_MAX)
				return PANE_BYTE_DROP;
			if (p->rep_scan == PANE_SEQ_REP)
				p->rep_count = p->rep_count * 10 + (c - '0');
			return PANE_BYTE_PASS;
		}
		p->seq_digits = 0;
		if (p->rep_scan == PANE_SEQ_OSC) {
			p->rep_scan = PANE_SEQ_NONE; /* the string after the number: no sequence in it */
			return PANE_BYTE_PASS;
		}
		if (c == ';' || c == ':') {
			if (p->rep_scan == PANE_SEQ_REP)
				p->rep_scan = PANE_SEQ_REP_MORE;
			return PANE_BYTE_PASS;
		}
		if (c == '!' && p->rep_scan != PANE_SEQ_OSC) {
			p->rep_scan = PANE_SEQ_BANG;
			return PANE_BYTE_PASS;
		}
		if (c >= 0x3c && c <= 0x3f) { /* a leader: another CSI sequence */
			p->rep_scan = PANE_SEQ_CSI;
			return PANE_BYTE_PASS;
		}
		bool rep = c == 'b' && p->rep_scan != PANE_SEQ_CSI;
		p->rep_scan = PANE_SEQ_NONE;
		return rep ? PANE_BYTE_REP : PANE_BYTE_PASS;
	default:
		return PANE_BYTE_PASS;
	}
}

/*
 * Does REP for libvterm, which has been given 'z' in place of its final
 * byte (no sequence ends so: it is dropped). libvterm 0.3.3 repeats the
 * last character it printed without a look at its width: of width 0 (none
 * printed yet, or a combining mark that began a write) it never ends, of
 * -1 (a C1 control) it walks left for ever, and a wide one at the row's
 * end is written past it. Here the character left of the cursor is
 * written again as text, as many times as fit before the row's end.
 */
static void pane__rep(struct pane *p, int count)
{
	VTermState *state = vterm_obtain_state(p->vt);
	VTermScreenCell cell;
	VTermPos pos, at;
	char utf8[VTERM_MAX_CHARS_PER_CELL * 4];
	size_t n = 0;
	int width, room;

	vterm_state_get_cursorpos(state, &pos);
	if (pos.row < 0 || pos.row >= p->rows || pos.col <= 0 || pos.col > p->cols)
		return;
	at = (VTermPos){.row = pos.row, .col = pos.col - 1};
	vterm_screen_get_cell(p->vs, at, &cell);
	if (cell.chars[0] == (uint32_t)-1 && at.col > 0) {
		at.col--;
		vterm_screen_get_cell(p->vs, at, &cell);
	}
	for (int i = 0; i < VTERM_MAX_CHARS_PER_CELL && cell.chars[i] != 0; i++) {
		uint32_t c = cell.chars[i];
		if (c < 0x20 || (c >= 0x7f && c < 0xa0) || c > 0x10ffff || (c >= 0xd800 && c < 0xe000))
			return; /* a control, or none that UTF-8 can carry */
		if (c < 0x80) {
			utf8[n++] = (char)c;
			continue;
		}
		if (c < 0x800) {
			utf8[n++] = (char)(0xc0 | c >> 6);
		} else if (c < 0x10000) {
			utf8[n++] = (char)(0xe0 | c >> 12);
			utf8[n++] = (char)(0x80 | (c >> 6 & 0x3f));
		} else {
			utf8[n++] = (char)(0xf0 | c >> 18);
			utf8[n++] = (char)(0x80 | (c >> 12 & 0x3f));
			utf8[n++] = (char)(0x80 | (c >> 6 & 0x3f));
		}
		utf8[n++] = (char)(0x80 | (c & 0x3f));
	}
	if (n == 0)
		return;
	width = cell.width == 2 ? 2 : 1;
	room = (vterm_state_get_lineinfo(state, pos.row)->doublewidth ? p->cols / 2 : p->cols) - pos.col;
	for (int i = 0; i < (count > 0 ? count : 1) && room >= width; i++, room -= width)
		vterm_input_write(p->vt, utf8, n);
}

/*
 * Gives BUF to libvterm, a write ending after each byte that may move the
 * cursor off the screen, after which the cursor is checked (the parser is
 * in its ground state when one did: the sequence was done, or the text
 * written); REP is done here (pane__rep), over-long numbers are cut
 * (pane__seq_step).
 */
static void pane__write(struct pane *p, const char *buf, size_t len)
{
	size_t start = 0;

	if (!p->saw_esc && memchr(buf, 0x1b, len) != NULL)
		p->saw_esc = true;
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)buf[i] == 0xc2)
			p->saw_c2 = true;
		enum pane_byte what = pane__seq_step(p, (unsigned char)buf[i]);
		if (what == PANE_BYTE_DROP) {
			vterm_input_write(p->vt, buf + start, i - start);
			start = i + 1;
			continue;
		}
		if (what == PANE_BYTE_RESET) {
			/* libvterm's reset says normal screen but keeps the alternate one shown
			 * (its line info and resizes then disagree: see pane__settermprop). A
			 * terminal's reset shows the normal screen: so does the pane. */
			vterm_input_write(p->vt, buf + start, i + 1 - start);
			start = i + 1;
			if (p->altscreen)
				vterm_input_write(p->vt, "\033[?1047l", 8);
			continue;
		}
		if (what == PANE_BYTE_REP) {
			vterm_input_write(p->vt, buf + start, i - start);
			vterm_input_write(p->vt, "z", 1);
			start = i + 1;
			pane__rep(p, p->rep_count);
			continue;
		}
		if (!pane__may_move_off(p, buf, i))
			continue;
		vterm_input_write(p->vt, buf + start, i + 1 - start);
		start = i + 1;
		pane__cursor_in_bounds(p);
	}
	if (start < len)
		vterm_input_write(p->vt, buf + start, len - start);
}

/* The number of screen rows a line of N characters takes in COLS columns. */
static int pane__rows_of(size_t n, int cols)
{
	return n == 0 ? 1 : (int)((n + (size_t)cols - 1) / (size_t)cols);
}

/*
 * The fast path for a flood of plain lines: libvterm scrolls its whole
 * screen for every line (a copy of every cell), which costs more than the
 * terminal it stands for. When the chunk scrolls more than a screenful,
 * the screen's rows and the chunk's first rows go straight to the
 * scrollback, and only the rows that stay visible go through libvterm, on
 * a cleared screen: the result is the same cells, lines and cursor.
 */
static bool pane__feed_flood(struct pane *p, const char *buf, size_t len)
{
	const char *end = buf + len, *first_nl;
	int keep = p->rows - 1, visual = 0;
	VTermPos pos;

	if (keep < 1 || len < 256 || !pane__plain(p, buf, len))
		return false;
	/* The line under way ends through libvterm; the fast path starts after it. */
	first_nl = memchr(buf, '\n', len);
	if (first_nl == NULL)
		return false;
	pane__write(p, buf, (size_t)(first_nl + 1 - buf));
	buf = first_nl + 1;
	len = (size_t)(end - buf);
	vterm_state_get_cursorpos(vterm_obtain_state(p->vt), &pos);
	if (pos.row != p->rows - 1 || pos.col != 0 || !vterm_screen_is_eol(p->vs, pos)) {
		pane__write(p, buf, len);
		return true;
	}
	for (const char *s = buf; s < end;) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		if (nl == NULL)
			break;
		size_t n = (size_t)(nl - s) - (nl > s && nl[-1] == '\r');
		visual += pane__rows_of(n, p->cols);
		s = nl + 1;
	}
	if (visual <= p->rows) {
		pane__write(p, buf, len);
		return true;
	}

	/* The screen's rows above the cursor scroll off first, as they are. */
	VTermState *state = vterm_obtain_state(p->vt);
	for (int row = 0; row < p->rows - 1; row++) {
		VTermScreenCell *line = xcalloc((size_t)p->cols, sizeof *line);
		for (int col = 0; col < p->cols; col++) {
			VTermPos at = {.row = row, .col = col};
			vterm_screen_get_cell(p->vs, at, &line[col]);
		}
		pane__sb_push_cells(p, p->cols, line,
		                    vterm_state_get_lineinfo(state, row + 1)->continuation);
		free(line);
	}
	/* The chunk's rows that will not stay on screen go to the scrollback. */
	int skip = visual - keep;
	const char *s = buf;
	while (skip > 0) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = (size_t)(nl - s) - (nl > s && nl[-1] == '\r');
		int r = pane__rows_of(n, p->cols);
		int take = r <= skip ? r : skip;
		for (int i = 0; i < take; i++) {
			size_t off = (size_t)i * (size_t)p->cols;
			size_t piece = n > off ? n - off : 0;
			if (piece > (size_t)p->cols)
				piece = (size_t)p->cols;
			pane__sb_push_text(p, s + off, (int)piece, i + 1 < r);
		}
		skip -= take;
		if (take < r) {
			/* The rest of this line stays: it starts on a fresh row. */
			s += (size_t)take * (size_t)p->cols;
			break;
		}
		s = nl + 1;
	}
	/* The rest, on a cleared screen from its top-left corner. */
	vterm_input_write(p->vt, "\033[H\033[2J", 7);
	pane__write(p, s, (size_t)(end - s));
	p->flood_chunks++;
	return true;
}

/* Through the emulator, by the fast path when it applies. */
static void pane__emulate(struct pane *p, const char *buf, size_t len)
{
	if (!pane__feed_flood(p, buf, len))
		pane__write(p, buf, len);
}

/* Feeds the queued output. */
bool pane_flush(struct pane *p)
{
	if (p->pending_len == 0)
		return false;
	pane__emulate(p, p->pending, p->pending_len);
	p->pending_len = 0;
	return true;
}

/* Feeds queued output in slices until the time budget is spent. */
size_t pane_flush_for(struct pane *p, uint64_t budget_ns)
{
	uint64_t start = uv_hrtime();
	size_t done = 0;

	while (done < p->pending_len && uv_hrtime() - start < budget_ns) {
		size_t n = p->pending_len - done;
		if (n > 65536) {
			/* End the slice after a line so the next one starts a line. */
			const char *nl = memrchr(p->pending + done, '\n', 65536);
			n = nl != NULL ? (size_t)(nl - (p->pending + done)) + 1 : 65536;
		}
		pane__emulate(p, p->pending + done, n);
		done += n;
	}
	memmove(p->pending, p->pending + done, p->pending_len - done);
	p->pending_len -= done;
	return p->pending_len;
}

/*
 * Queues command output until the next frame; sandboxed runs keep a tail.
 * Returns true when the queue is over PANE_PENDING_MAX (the caller stops
 * reading the command until it drains).
 */
bool pane_queue(struct pane *p, const char *buf, size_t len)
{
	if (p->sandboxed)
		pane__keep_tail(p, buf, len);
	if (p->pending_len + len > p->pending_cap) {
		p->pending_cap = p->pending_cap ? p->pending_cap : 65536;
		while (p->pending_cap < p->pending_len + len)
			p->pending_cap *= 2;
		p->pending = xrealloc(p->pending, p->pending_cap);
	}
	memcpy(p->pending + p->pending_len, buf, len);
	p->pending_len += len;
	return p->pending_len > PANE_PENDING_MAX;
}

/* Command output, through the emulator at once (queued output first). */
void pane_feed(struct pane *p, const char *buf, size_t len)
{
	pane_flush(p);
	if (p->sandboxed)
		pane__keep_tail(p, buf, len);
	pane__emulate(p, buf, len);
}

/* Writes an airlock line into the pane, on a line of its own, in yellow. */
void pane_note(struct pane *p, const char *text)
{
	VTermPos pos;
	/* Notes quote what agents send (paths, commands): no byte of it may act on the terminal. */
	char *clean = layout_text_printable(text), *s;

	pane_flush(p);
	vterm_state_get_cursorpos(vterm_obtain_state(p->vt), &pos);
	s = xasprintf("%s\033[0;1;33m%s\033[0m\r\n", pos.col > 0 ? "\r\n" : "", clean);
	vterm_input_write(p->vt, s, strlen(s));
	free(s);
	free(clean);
}

/* Appends the N cells of LINE to the text in *BUF (*LEN of *CAP), less a wide character's pad. */
static void pane__text_append(struct pane_cell **buf, size_t *len, size_t *cap,
                              const struct pane_line *line, const struct pane_line *next)
{
	int n = line->ncells;

	/* A wide character that did not fit went to the next row, leaving a cell never written. */
	if (line->wrapped && next != NULL && n > 0 && line->cells[n - 1].ch == 0 &&
	    line->cells[n - 1].width == 1 && next->ncells > 0 && next->cells[0].width == 2)
		n--;
	if (n == 0)
		return; /* *BUF may be NULL yet */
	if (*len + (size_t)n > *cap) {
		*cap = (*len + (size_t)n) * 2;
		*buf = xreallocarray(*buf, *cap, sizeof **buf);
	}
	memcpy(*buf + *len, line->cells, (size_t)n * sizeof **buf);
	*len += (size_t)n;
}

/*
 * Cuts the text CELLS (N of them) into lines of COLS and adds them to the
 * ring; the last one is wrapped when WRAPPED (its text goes on below). A
 * wide character never straddles two lines: it starts the next one.
 * Returns how many lines it added.
 */
static size_t pane__sb_add_text(struct pane *p, const struct pane_cell *cells, size_t n, int cols,
                                bool wrapped)
{
	size_t pos = 0, lines = 0;

	/* The text's trailing blanks are no text, unless it goes on below. */
	while (n > 0 && !wrapped && pane__cell_blank(&cells[n - 1]))
		n--;
	do {
		size_t take = n - pos < (size_t)cols ? n - pos : (size_t)cols;
		bool last = pos + take >= n;
		if (!last && take > 1 && cells[pos + take - 1].width == 2)
			take--;
		else if (!last && take == 1 && cells[pos].width == 2)
			take = 2; /* a one-column pane: the character with its right half */
		last = pos + take >= n;
		struct pane_line *line = pane__sb_add(p, (int)take);
		if (take > 0) /* CELLS is NULL for no text */
			memcpy(line->cells, cells + pos, take * sizeof line->cells[0]);
		line->wrapped = !last || wrapped;
		pos += take;
		lines++;
	} while (pos < n);
	return lines;
}

/*
 * Gives the ring room for CAP lines (at least PANE_SCROLLBACK_LINES, at
 * most PANE_SCROLLBACK_REFLOW_MAX); past that many, the oldest go.
 */
static void pane__sb_set_cap(struct pane *p, size_t cap)
{
	struct pane_line **sb;
	size_t drop;

	cap = cap < PANE_SCROLLBACK_LINES        ? PANE_SCROLLBACK_LINES
	      : cap > PANE_SCROLLBACK_REFLOW_MAX ? PANE_SCROLLBACK_REFLOW_MAX
	                                         : cap;
	if (cap == p->sb_cap)
		return;
	drop = p->sb_len > cap ? p->sb_len - cap : 0;
	sb = xcalloc(cap, sizeof *sb);
	for (size_t i = 0; i < p->sb_len; i++) {
		if (i < drop)
			free(pane__sb_line(p, i));
		else
			sb[i - drop] = pane__sb_line(p, i);
	}
	free(p->sb);
	p->sb = sb;
	p->sb_cap = cap;
	p->sb_head = 0;
	p->sb_len -= drop;
	if (p->scroll > (int)p->sb_len)
		p->scroll = (int)p->sb_len;
}

/*
 * The scrollback at the pane's new width: each run of wrapped lines joined
 * into its text and cut again, the ring grown to hold them all (up to
 * PANE_SCROLLBACK_REFLOW_MAX). A view scrolled back stays on the line it
 * showed at its top.
 */
static void pane__sb_rewrap(struct pane *p)
{
	struct pane_line **old = p->sb;
	size_t head = p->sb_head, len = p->sb_len, cap = p->sb_cap;
	size_t top = len - (size_t)p->scroll, added = 0;
	size_t new_top = SIZE_MAX;
	struct pane_cell *buf = NULL;
	size_t blen = 0, bcap = 0;

	/* Cut into a ring big enough for anything, then one as big as what it holds. */
	p->sb_cap = PANE_SCROLLBACK_REFLOW_MAX;
	p->sb = xcalloc(p->sb_cap, sizeof *p->sb);
	p->sb_head = p->sb_len = 0;
	p->scroll = 0;
	for (size_t i = 0; i < len;) {
		size_t j = i;
		bool has_top = false;
		blen = 0;
		for (;; j++) {
			struct pane_line *line = old[(head + j) % cap];
			struct pane_line *next = j + 1 < len ? old[(head + j + 1) % cap] : NULL;
			has_top = has_top || j == top;
			pane__text_append(&buf, &blen, &bcap, line, next);
			if (!line->wrapped || next == NULL)
				break;
		}
		bool wrapped = old[(head + j) % cap]->wrapped;
		if (has_top)
			new_top = added;
		added += pane__sb_add_text(p, buf, blen, p->cols, wrapped);
		for (size_t k = i; k <= j; k++)
			free(old[(head + k) % cap]);
		i = j + 1;
	}
	free(buf);
	free(old);
	if (new_top != SIZE_MAX) {
		/* ADDED lines went in; the ring keeps the last sb_len of them. */
		size_t first = added - p->sb_len;
		size_t at = new_top > first ? new_top - first : 0;
		p->scroll = (int)(p->sb_len - at);
	}
	pane__sb_set_cap(p, p->sb_len);
}

/* The rows a line of WIDTH cells takes in COLS columns, as libvterm lays it out. */
static int pane__height(int width, int cols)
{
	return width > 0 ? (width + cols - 1) / cols : 1;
}

/*
 * The width libvterm gives the line made of the screen's rows A to B: the
 * rows before B count whole, B its cells up to the last written one (POP).
 */
static int pane__span_width(const struct pane *p, const int *pop, int a, int b)
{
	return (b - a) * p->cols + pop[b];
}

/*
 * Where the cursor's line is on the screen shown (rows *S to *E: the rows
 * that continue it), and how many rows what is below it takes at COLS
 * columns (*BELOW). POP is filled with each row's written cells.
 */
static void pane__cursor_line(struct pane *p, int cols, int *pop, int *s, int *e, int *below)
{
	VTermState *state = vterm_obtain_state(p->vt);
	VTermPos cur;

	for (int row = 0; row < p->rows; row++) {
		VTermScreenCell c;
		pop[row] = 0;
		for (int col = p->cols - 1; col >= 0; col--) {
			vterm_screen_get_cell(p->vs, (VTermPos){.row = row, .col = col}, &c);
			if (c.chars[0] != 0) {
				pop[row] = col + 1;
				break;
			}
		}
	}
	vterm_state_get_cursorpos(state, &cur);
	if (cur.row < 0 || cur.row >= p->rows)
		cur.row = p->rows - 1;
	*s = *e = cur.row;
	while (*s > 0 && vterm_state_get_lineinfo(state, *s)->continuation)
		(*s)--;
	while (*e + 1 < p->rows && vterm_state_get_lineinfo(state, *e + 1)->continuation)
		(*e)++;
	*below = 0;
	/* Blank rows at the bottom are left out: libvterm gives them up for text above. */
	int last = p->rows - 1;
	while (last > *e && pop[last] == 0 &&
	       !(last + 1 < p->rows && vterm_state_get_lineinfo(state, last + 1)->continuation))
		last--;
	for (int row = *e + 1; row <= last;) {
		int end = row;
		while (end + 1 < p->rows && vterm_state_get_lineinfo(state, end + 1)->continuation)
			end++;
		*below += pane__height(pane__span_width(p, pop, row, end), cols);
		row = end + 1;
	}
}

/*
 * Makes sure libvterm 0.3.3 can place the cursor in a ROWS x COLS screen:
 * when the cursor's line, at the new width, does not fit above what is
 * below it, and the cursor is on its last row, libvterm finds no place for
 * the cursor and aborts. The line is then cut where the part that holds
 * the cursor fits: the rows above that go to the scrollback, still marked
 * as going on (the resize's CONT keeps what libvterm's line info said).
 */
static void pane__fit_cursor_line(struct pane *p, int rows, int cols)
{
	int *pop = xcalloc((size_t)p->rows, sizeof *pop);
	int s, e, below, k;
	VTermPos cur;

	pane__cursor_line(p, cols, pop, &s, &e, &below);
	vterm_state_get_cursorpos(vterm_obtain_state(p->vt), &cur);
	if (pane__height(pane__span_width(p, pop, s, e), cols) > rows - below) {
		for (k = s + 1; k < cur.row; k++)
			if (pane__height(pane__span_width(p, pop, k, e), cols) <= rows - below)
				break;
		if (k <= cur.row && k <= e) {
			VTermLineInfo *info =
			    (VTermLineInfo *)vterm_state_get_lineinfo(vterm_obtain_state(p->vt), k);
			info->continuation = 0;
		}
	}
	free(pop);
}

/* The rows the cursor's line and all below it take at COLS columns (at least 1). */
static int pane__rows_from_cursor(struct pane *p, int cols)
{
	int *pop = xcalloc((size_t)p->rows, sizeof *pop);
	int s, e, below;

	pane__cursor_line(p, cols, pop, &s, &e, &below);
	below += pane__height(pane__span_width(p, pop, s, e), cols);
	free(pop);
	return below > 0 ? below : 1;
}

/*
 * One libvterm resize to ROWS x COLS. libvterm reflows its screen; the lines
 * it pushes to the scrollback are the old screen's top rows, whose soft
 * wraps are read before it starts. libvterm 0.3.3 drops the rest of a
 * wrapped line that does not fit the new screen (it pushes only its first
 * row): those rows are copied while it pushes and kept after it. The lines
 * it takes back lose their soft wraps on its screen: they are set again.
 */
static void pane__vterm_resize(struct pane *p, int rows, int cols)
{
	struct pane_resize rz = {0};
	VTermState *state = vterm_obtain_state(p->vt);

	rz.rows = p->rows;
	rz.cont = xcalloc((size_t)p->rows, sizeof *rz.cont);
	/* The alternate screen's row 0 too (the only line info reachable while it shows). */
	pane__clear_top_continuation(p);
	if (!p->altscreen)
		for (int row = 1; row < p->rows; row++)
			rz.cont[row] = vterm_state_get_lineinfo(state, row)->continuation;
	rz.pop_cols = cols < p->cols ? cols : p->cols;
	rz.popped_into_screen = true;
	pane__fit_cursor_line(p, rows, cols);
	rz.vcont = xcalloc((size_t)p->rows, sizeof *rz.vcont);
	if (!p->altscreen)
		for (int row = 1; row < p->rows; row++)
			rz.vcont[row] = vterm_state_get_lineinfo(state, row)->continuation;
	p->resizing = &rz;
	p->rows = rows;
	p->cols = cols;
	vterm_set_size(p->vt, rows, cols);
	p->resizing = NULL;
	if (rz.pushed > 0 && rz.pushed < rz.rows && rz.vcont[rz.pushed]) {
		/* The rows libvterm dropped: the last pushed line goes on with them. */
		for (int i = 0; i < rz.ntail; i++) {
			struct pane_line *src = rz.tail[i];
			struct pane_line *line = pane__sb_add(p, src->ncells);
			memcpy(line->cells, src->cells, (size_t)src->ncells * sizeof line->cells[0]);
			line->wrapped = src->wrapped;
		}
	}
	if (!p->altscreen) {
		/* The lines given back are the screen's top rows, the first given the lowest. */
		for (int r = 0; r < rz.npopped && r + 1 < rows; r++) {
			VTermLineInfo *info = (VTermLineInfo *)vterm_state_get_lineinfo(state, r + 1);
			info->continuation = rz.popped[rz.npopped - 1 - r];
		}
		pane__clear_top_continuation(p);
	}
	pane__resize_tail_free(&rz);
	free(rz.popped);
	free(rz.vcont);
	free(rz.cont);
}

/*
 * After a resize, the scroll margins cover the screen again, the cursor
 * where it was (a full-screen program sets its margins again as it redraws
 * for the new size). libvterm 0.3.3 brings only the bottom and right
 * margins within a smaller screen: a top margin left below the bottom one
 * makes the next scroll move rows from outside the screen (NULL cells in
 * moverect), a left one past the right the same for columns. CAN first
 * ends a sequence the command's output left open, so that DECSTBM and
 * DECSLRM without arguments (reset, cursor home) and CUP are read as such;
 * with full margins, CUP in origin mode is absolute.
 */
static void pane__reset_margins(struct pane *p)
{
	VTermPos pos;
	char cup[48];
	int n;

	vterm_state_get_cursorpos(vterm_obtain_state(p->vt), &pos);
	n = snprintf(cup, sizeof cup, "\030\033[r\033[s\033[%d;%dH", pos.row + 1, pos.col + 1);
	vterm_input_write(p->vt, cup, (size_t)n);
}

/*
 * Sets the terminal's size (the job's too while it runs). The normal screen
 * is laid out anew at the new width, as if its text had been written at it:
 * the line its top row goes on with comes back whole from the scrollback,
 * all above the cursor's line go to the scrollback (the screen keeps just
 * the rows the cursor's line and what is below it take), the scrollback is
 * reflowed, and the rows it can fill come back from it. libvterm alone
 * would give back scrollback lines at the old width, or not at all.
 */
static void pane__set_size(struct pane *p, int rows, int cols)
{
	int old_cols = p->cols;

	if (rows == p->rows && cols == p->cols)
		return;
	pane_flush(p);
	if (p->altscreen) {
		/* A full-screen program redraws its screen; the normal one waits beneath. */
		pane__vterm_resize(p, rows, cols);
	} else {
		/* A line the screen's top row goes on with comes down whole first, to reflow as
		 * one (its last PANE_REFLOW_RUN_MAX rows of the scrollback: a longer one is cut). */
		size_t run = 0;
		while (run < p->sb_len && run < PANE_REFLOW_RUN_MAX &&
		       pane__sb_line(p, p->sb_len - 1 - run)->wrapped)
			run++;
		if (run > 0)
			pane__vterm_resize(p, p->rows + (int)run, p->cols);
		/* Room for the screen's rows that go up: a resize drops no line of a full ring. */
		pane__sb_set_cap(p, p->sb_len + (size_t)p->rows);
		pane__vterm_resize(p, pane__rows_from_cursor(p, cols), cols);
		if (cols != old_cols)
			pane__sb_rewrap(p);
		pane__sb_set_cap(p, p->sb_len + (size_t)p->rows);
		pane__vterm_resize(p, rows, cols);
		/* What came back leaves no room behind: the ring is as big as what it holds. */
		pane__sb_set_cap(p, p->sb_len);
	}
	if (p->altscreen && cols != old_cols)
		pane__sb_rewrap(p);
	if (p->saw_esc) /* no margin was set otherwise */
		pane__reset_margins(p);
	if (p->job != NULL && p->state == PANE_RUNNING)
		job_resize(p->job, rows, cols);
}

/*
 * The pane's tile is ROWS x COLS now: its terminal takes that size, and
 * its lines reflow (a narrower tile wraps them, a wider one joins them
 * again), on the screen as in the scrollback, whether its command still
 * runs or not (SPEC 7: narrowing never destroys content). A tile
 * narrower than PANE_MIN_COLS gets a terminal that wide.
 */
void pane_resize(struct pane *p, int rows, int cols)
{
	pane__set_size(p, rows > 0 ? rows : 1, cols > PANE_MIN_COLS ? cols : PANE_MIN_COLS);
}

/* Reads the cell at ROW, COL of the view (scrollback when scrolled back). */
void pane_view_cell(const struct pane *p, int row, int col, struct pane_cell *out)
{
	int v = row - p->scroll;

	memset(out, 0, sizeof *out);
	out->width = 1;
	if (v < 0) {
		long idx = (long)p->sb_len + v;
		if (idx < 0)
			return;
		const struct pane_line *line =
		    p->sb[(p->sb_head + (size_t)idx) % p->sb_cap];
		if (line != NULL && col < line->ncells)
			*out = line->cells[col];
		return;
	}
	VTermScreenCell vc;
	VTermPos pos = {.row = v, .col = col};
	if (v >= p->rows || col >= p->cols || !vterm_screen_get_cell(p->vs, pos, &vc))
		return;
	pane__cell_from_vterm(p, &vc, out);
}

/* Scrolls the view within the scrollback. */
void pane_scroll(struct pane *p, int delta)
{
	long s = (long)p->scroll + delta;

	if (s < 0)
		s = 0;
	if (s > (long)p->sb_len)
		s = (long)p->sb_len;
	p->scroll = (int)s;
}

/* Lines of the pane: scrollback then screen. */
long pane_line_count(const struct pane *p)
{
	return (long)p->sb_len + p->rows;
}

/* The view row of line LINE: the view's top row shows line sb_len - scroll. */
long pane_line_row(const struct pane *p, long line)
{
	return line - ((long)p->sb_len - p->scroll);
}

/* Columns line LINE holds: a scrollback line its cells (it may be wider), a screen row cols. */
int pane_line_width(const struct pane *p, long line)
{
	if (line < 0 || line >= pane_line_count(p))
		return 0;
	if (line >= (long)p->sb_len)
		return p->cols;
	const struct pane_line *l = p->sb[(p->sb_head + (size_t)line) % p->sb_cap];
	return l != NULL ? l->ncells : 0;
}

/* Whether line LINE's text goes on in the next line (a soft wrap). */
bool pane_line_wrapped(const struct pane *p, long line)
{
	if (line < 0 || line >= pane_line_count(p) - 1)
		return false;
	if (line < (long)p->sb_len)
		return pane__sb_line(p, (size_t)line)->wrapped;
	/* A screen row goes on when libvterm marks the next one as its continuation. */
	return vterm_state_get_lineinfo(vterm_obtain_state(p->vt),
	                                (int)(line - (long)p->sb_len) + 1)
	    ->continuation;
}

/* The cell at COL of line LINE, through the view's own reading. */
void pane_line_cell(const struct pane *p, long line, int col, struct pane_cell *out)
{
	/* pane_view_cell reads view row R as line sb_len - scroll + R. */
	long row = pane_line_row(p, line);

	if (line < 0 || line >= pane_line_count(p)) {
		memset(out, 0, sizeof *out);
		out->width = 1;
		return;
	}
	pane_view_cell(p, (int)row, col, out);
}

/* Scrolls so that LINE shows: untouched when it does, else a third of the view below the top. */
void pane_show_line(struct pane *p, long line)
{
	long row = pane_line_row(p, line);

	if (row >= 0 && row < p->rows)
		return;
	/* Line LINE at view row R needs scroll = sb_len - LINE + R. */
	pane_scroll(p, (int)((long)p->sb_len - line + p->rows / 3 - p->scroll));
}

/* Formats MS as 0.3s, 12.0s, 2m05s or 1h02m. */
void pane_format_duration(uint64_t ms, char *buf, size_t size)
{
	if (ms < 60000)
		snprintf(buf, size, "%llu.%llus", (unsigned long long)(ms / 1000),
		         (unsigned long long)(ms % 1000 / 100));
	else if (ms < 3600000)
		snprintf(buf, size, "%llum%02llus", (unsigned long long)(ms / 60000),
		         (unsigned long long)(ms % 60000 / 1000));
	else
		snprintf(buf, size, "%lluh%02llum", (unsigned long long)(ms / 3600000),
		         (unsigned long long)(ms % 3600000 / 60000));
}

/* The title line's text (SPEC 7). */
char *pane_title(const struct pane *p, uint64_t now_ms)
{
	char state[32], dur[32];
	uint64_t end = p->state == PANE_RUNNING ? now_ms : p->end_ms;

	switch (p->state) {
	case PANE_WAITING:
		snprintf(state, sizeof state, "waiting");
		break;
	case PANE_RUNNING:
		snprintf(state, sizeof state, "running");
		break;
	case PANE_EXITED:
		snprintf(state, sizeof state, "exit %d", p->status);
		break;
	case PANE_DENIED:
		snprintf(state, sizeof state, "denied");
		break;
	}
	pane_format_duration(end >= p->start_ms ? end - p->start_ms : 0, dur, sizeof dur);
	/* The status first: a title cut to its tile's width loses the command, never it. */
	return xasprintf("[%d] %s \xc2\xb7 %s \xc2\xb7 %s \xc2\xb7 %s", p->id, state, dur,
	                 p->sandboxed ? "sandboxed" : "unsandboxed", p->command);
}

/* A curses function key and the libvterm key it stands for. */
struct pane_keymap {
	int curses;
	VTermKey key;
	VTermModifier mod;
};

static const struct pane_keymap pane__keys[] = {
    {.curses = KEY_UP, .key = VTERM_KEY_UP},
    {.curses = KEY_DOWN, .key = VTERM_KEY_DOWN},
    {.curses = KEY_LEFT, .key = VTERM_KEY_LEFT},
    {.curses = KEY_RIGHT, .key = VTERM_KEY_RIGHT},
    {.curses = KEY_HOME, .key = VTERM_KEY_HOME},
    {.curses = KEY_END, .key = VTERM_KEY_END},
    {.curses = KEY_IC, .key = VTERM_KEY_INS},
    {.curses = KEY_DC, .key = VTERM_KEY_DEL},
    {.curses = KEY_PPAGE, .key = VTERM_KEY_PAGEUP},
    {.curses = KEY_NPAGE, .key = VTERM_KEY_PAGEDOWN},
    {.curses = KEY_BACKSPACE, .key = VTERM_KEY_BACKSPACE},
    {.curses = KEY_ENTER, .key = VTERM_KEY_ENTER},
    {.curses = KEY_BTAB, .key = VTERM_KEY_TAB, .mod = VTERM_MOD_SHIFT},
    {.curses = KEY_SLEFT, .key = VTERM_KEY_LEFT, .mod = VTERM_MOD_SHIFT},
    {.curses = KEY_SRIGHT, .key = VTERM_KEY_RIGHT, .mod = VTERM_MOD_SHIFT},
};

/* The bytes a terminal sends for key CH (see pane_key). */
static void pane__key(struct pane *p, wint_t ch, bool keycode)
{
	if (keycode) {
		for (size_t i = 0; i < sizeof pane__keys / sizeof pane__keys[0]; i++) {
			if (pane__keys[i].curses == (int)ch) {
				vterm_keyboard_key(p->vt, pane__keys[i].key, pane__keys[i].mod);
				return;
			}
		}
		if ((int)ch >= KEY_F(1) && (int)ch <= KEY_F(12))
			vterm_keyboard_key(p->vt, VTERM_KEY_FUNCTION((int)ch - KEY_F0),
			                   VTERM_MOD_NONE);
		return;
	}
	if (ch == '\r' || ch == '\n')
		vterm_keyboard_key(p->vt, VTERM_KEY_ENTER, VTERM_MOD_NONE);
	else if (ch == 0x7f || ch == 0x08)
		vterm_keyboard_key(p->vt, VTERM_KEY_BACKSPACE, VTERM_MOD_NONE);
	else if (ch == '\t')
		vterm_keyboard_key(p->vt, VTERM_KEY_TAB, VTERM_MOD_NONE);
	else if (ch == 0x1b)
		vterm_keyboard_key(p->vt, VTERM_KEY_ESCAPE, VTERM_MOD_NONE);
	else if (ch < 0x20) {
		/* A control character goes as the byte a terminal sends (Ctrl-W, Ctrl-]...). */
		char c = (char)ch;
		job_write(p->job, &c, 1);
	} else {
		vterm_keyboard_unichar(p->vt, (uint32_t)ch, VTERM_MOD_NONE);
	}
}

/* A key typed in the focused pane becomes the bytes a terminal sends. */
void pane_key(struct pane *p, wint_t ch, bool keycode)
{
	if (p->state != PANE_RUNNING || p->job == NULL)
		return;
	p->keying = true;
	pane__key(p, ch, keycode);
	p->keying = false;
}
