/*
 * Panes: one command's terminal. Bytes from the command go through libvterm
 * (a VTerm with its VTermScreen), so colours, carriage-return progress bars
 * and cursor movement end up as they would in a terminal. Lines that scroll
 * off the top arrive in sb_pushline and are kept, compact and with trailing
 * blanks trimmed, in a ring of PANE_SCROLLBACK_LINES lines; sb_popline gives
 * them back when the pane grows taller.
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

	if (p->sb_len == PANE_SCROLLBACK_LINES) {
		/* Full: the oldest line goes; reuse its slot (and its memory if big enough). */
		slot = p->sb_head;
		p->sb_head = (p->sb_head + 1) % PANE_SCROLLBACK_LINES;
		line = p->sb[slot];
		if (line->ncells < n) {
			free(line);
			line = NULL;
		}
	} else {
		slot = (p->sb_head + p->sb_len) % PANE_SCROLLBACK_LINES;
		p->sb_len++;
		line = NULL;
	}
	if (line == NULL)
		line = xmalloc(sizeof *line + (size_t)n * sizeof line->cells[0]);
	line->ncells = n;
	p->sb[slot] = line;
	/* A view scrolled back stays on the same lines while output flows. */
	if (p->scroll > 0 && p->scroll < (int)p->sb_len)
		p->scroll++;
	return line;
}

/* libvterm pushes a line off the top: keep it in the ring. */
static int pane__sb_pushline(int cols, const VTermScreenCell *cells, void *user)
{
	struct pane *p = user;
	struct pane_cell tmp;
	struct pane_line *line;
	int n = cols;

	while (n > 0) {
		pane__cell_from_vterm(p, &cells[n - 1], &tmp);
		if (!pane__cell_blank(&tmp))
			break;
		n--;
	}
	line = pane__sb_add(p, n);
	for (int i = 0; i < n; i++)
		pane__cell_from_vterm(p, &cells[i], &line->cells[i]);
	return 1;
}

/* Keeps N plain ASCII characters as one scrollback line (the fast path). */
static void pane__sb_push_text(struct pane *p, const char *s, int n)
{
	struct pane_line *line;

	while (n > 0 && s[n - 1] == ' ')
		n--;
	line = pane__sb_add(p, n);
	for (int i = 0; i < n; i++)
		line->cells[i] =
		    (struct pane_cell){.ch = (uint32_t)(unsigned char)s[i], .width = 1};
}

/* libvterm wants a line back (the pane grew): hand out the newest. */
static int pane__sb_popline(int cols, VTermScreenCell *cells, void *user)
{
	struct pane *p = user;
	size_t slot;
	struct pane_line *line;

	if (p->sb_len == 0)
		return 0;
	slot = (p->sb_head + p->sb_len - 1) % PANE_SCROLLBACK_LINES;
	line = p->sb[slot];
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
			c->width = (char)pc->width;
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
	if (p->scroll > (int)p->sb_len)
		p->scroll = (int)p->sb_len;
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

/* Terminal properties: only the cursor's visibility matters here. */
static int pane__settermprop(VTermProp prop, VTermValue *val, void *user)
{
	struct pane *p = user;

	if (prop == VTERM_PROP_CURSORVISIBLE)
		p->cursor_visible = val->boolean;
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
	p->cols = cols > 0 ? cols : 1;
	p->tile_cols = p->cols;
	p->sb = xcalloc(PANE_SCROLLBACK_LINES, sizeof *p->sb);
	p->clusters = xcalloc(1, sizeof *p->clusters);
	p->vt = vterm_new(p->rows, p->cols);
	vterm_set_utf8(p->vt, 1);
	vterm_output_set_callback(p->vt, pane__output, p);
	p->vs = vterm_obtain_screen(p->vt);
	vterm_screen_set_callbacks(p->vs, &pane__screen_callbacks, p);
	vterm_screen_set_damage_merge(p->vs, VTERM_DAMAGE_SCROLL);
	vterm_screen_enable_altscreen(p->vs, 1);
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
		free(p->sb[(p->sb_head + i) % PANE_SCROLLBACK_LINES]);
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
		if (c == '\r' && i + 1 < len && buf[i + 1] == '\n')
			continue;
		/* A bare line feed keeps the column: plain only where that is 0. */
		if (c == '\n' && i > 0 && (buf[i - 1] == '\r' || buf[i - 1] == '\n'))
			continue;
		return false;
	}
	return true;
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
	vterm_input_write(p->vt, buf, (size_t)(first_nl + 1 - buf));
	buf = first_nl + 1;
	len = (size_t)(end - buf);
	vterm_state_get_cursorpos(vterm_obtain_state(p->vt), &pos);
	if (pos.row != p->rows - 1 || pos.col != 0 || !vterm_screen_is_eol(p->vs, pos)) {
		vterm_input_write(p->vt, buf, len);
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
		vterm_input_write(p->vt, buf, len);
		return true;
	}

	/* The screen's rows above the cursor scroll off first, as they are. */
	for (int row = 0; row < p->rows - 1; row++) {
		VTermScreenCell *line = xcalloc((size_t)p->cols, sizeof *line);
		for (int col = 0; col < p->cols; col++) {
			VTermPos at = {.row = row, .col = col};
			vterm_screen_get_cell(p->vs, at, &line[col]);
		}
		pane__sb_pushline(p->cols, line, p);
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
			pane__sb_push_text(p, s + off, (int)piece);
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
	vterm_input_write(p->vt, s, (size_t)(end - s));
	p->flood_chunks++;
	return true;
}

/* Through the emulator, by the fast path when it applies. */
static void pane__emulate(struct pane *p, const char *buf, size_t len)
{
	if (!pane__feed_flood(p, buf, len))
		vterm_input_write(p->vt, buf, len);
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

/* Sets the terminal's size (the job's too while it runs). */
static void pane__set_size(struct pane *p, int rows, int cols)
{
	if (rows == p->rows && cols == p->cols)
		return;
	pane_flush(p);
	p->rows = rows;
	p->cols = cols;
	vterm_set_size(p->vt, rows, cols);
	if (p->job != NULL && p->state == PANE_RUNNING)
		job_resize(p->job, rows, cols);
}

/*
 * The pane's tile is ROWS x COLS now. A command that is over redraws
 * nothing and reads no SIGWINCH, so its terminal keeps its width: a
 * narrower tile clips its lines (as it does its scrollback's) and a wider
 * one shows them whole again, where libvterm would cut every row of its
 * screen for good (SPEC 7: narrowing never destroys content).
 */
void pane_resize(struct pane *p, int rows, int cols)
{
	rows = rows > 0 ? rows : 1;
	cols = cols > 0 ? cols : 1;
	p->tile_cols = cols;
	if ((p->state == PANE_EXITED || p->state == PANE_DENIED) && cols < p->cols)
		cols = p->cols;
	pane__set_size(p, rows, cols);
}

/* A command (re)starts in the pane: its terminal is its tile's size again. */
void pane_fit(struct pane *p)
{
	pane__set_size(p, p->rows, p->tile_cols > 0 ? p->tile_cols : p->cols);
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
		    p->sb[(p->sb_head + (size_t)idx) % PANE_SCROLLBACK_LINES];
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
	const struct pane_line *l = p->sb[(p->sb_head + (size_t)line) % PANE_SCROLLBACK_LINES];
	return l != NULL ? l->ncells : 0;
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

/* A key typed in the focused pane becomes the bytes a terminal sends. */
void pane_key(struct pane *p, wint_t ch, bool keycode)
{
	if (p->state != PANE_RUNNING || p->job == NULL)
		return;
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
