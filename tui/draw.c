/*
 * Drawing: the one file that calls curses output functions. It paints the
 * whole model onto stdscr each frame (status bar, panes with their titles
 * and separators, the input line, then a modal or the help on top) and
 * lets curses send only what changed (wnoutrefresh + doupdate), so a frame
 * costs little however much output came in between.
 *
 * Geometry comes from layout.c; pane cells from pane.c. Colours are curses
 * colour pairs allocated on demand (alloc_pair) from the cells' indexed or
 * RGB colours, folded to the terminal's palette; --no-color / NO_COLOR keep
 * attributes only.
 */
#include "tui/tui.h"

#include "core/xmalloc.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The focus colour and the marker of the pane that has the keyboard (SPEC 7). */
#define DRAW_FOCUS_COLOR COLOR_CYAN
#define DRAW_FOCUS_MARK  "\xe2\x96\xb6" /* U+25B6, one column */

static bool draw__color;

/* Sets colours up (once, after newterm). */
void draw_init(bool color)
{
	draw__color = color && has_colors();
	if (draw__color) {
		start_color();
		use_default_colors();
	}
	curs_set(0);
}

/* The nearest of the 256-colour palette to an RGB colour. */
static int draw__rgb256(int r, int g, int b)
{
	int ri = (r < 48 ? 0 : r < 115 ? 1 : (r - 35) / 40);
	int gi = (g < 48 ? 0 : g < 115 ? 1 : (g - 35) / 40);
	int bi = (b < 48 ? 0 : b < 115 ? 1 : (b - 35) / 40);

	return 16 + 36 * ri + 6 * gi + bi;
}

/* A pane colour as a curses colour number (-1 default); may ask for bold. */
static int draw__color_of(uint32_t c, bool *bold)
{
	int idx;

	if (c == PANE_COLOR_DEFAULT)
		return -1;
	if (PANE_COLOR_IS_RGB(c))
		idx =
		    draw__rgb256((int)((c >> 16) & 0xff), (int)((c >> 8) & 0xff), (int)(c & 0xff));
	else
		idx = (int)(c & 0xff);
	if (COLORS >= 256)
		return idx;
	if (idx >= 8 && idx < 16) {
		if (bold != NULL)
			*bold = true;
		return idx - 8;
	}
	return idx < COLORS ? idx : -1;
}

/* A colour pair for FG on BG (curses numbers, -1 default); 0 without colours. */
static int draw__pair(int fg, int bg)
{
	int pair;

	if (!draw__color || (fg == -1 && bg == -1))
		return 0;
	pair = alloc_pair(fg, bg);
	return pair < 0 ? 0 : pair;
}

/* Puts one character with attributes and pair at Y, X. */
static void draw__put(int y, int x, const wchar_t *wch, attr_t attrs, int pair)
{
	cchar_t cc;

	setcchar(&cc, wch, attrs, 0, &pair);
	mvadd_wch(y, x, &cc);
}

/* Writes UTF-8 TEXT at Y, X within W columns, then fills the rest with spaces. */
static void draw__text(int y, int x, int w, const char *text, attr_t attrs, int pair)
{
	char *clean = layout_text_printable(text);
	char *fit = layout_text_fit(clean, w);
	int used = layout_text_width(fit);

	free(clean);
	attr_set(attrs, 0, &pair);
	mvaddstr(y, x, fit);
	for (int i = used; i < w; i++)
		mvaddch(y, x + i, ' ');
	attr_set(A_NORMAL, 0, NULL);
	free(fit);
}

/* The status bar: modes, prompts waiting (not the one on screen), the cwd, the socket. */
static void draw__status(struct tui *t, const struct rect *r)
{
	const struct cli_options *o = t->opts;
	size_t pending = tui_prompts_waiting(t);
	/* A permission profile in force is named in place of the mode (SPEC 12). */
	char *head = xasprintf(" %s %s \xe2\x94\x82 net %s \xe2\x94\x82 approval %s%s \xe2\x94\x82 "
	                       "prompts %zu",
	                       o->profile != NULL ? "permissions" : "sandbox",
	                       o->profile != NULL ? o->profile : o->sandbox, t->network,
	                       decide_approval_name(t->approval), o->reject != 0 ? " (reject)" : "",
	                       pending);
	/* A managed policy in force says so (SPEC 11), and when nothing may leave the sandbox. */
	if (o->managed.present) {
		char *h = xasprintf("%s \xe2\x94\x82 managed%s", head,
		                    o->managed.allow_unsandboxed ? "" : ", sandbox only");

		free(head);
		head = h;
	}
	/* The same without labels, for a narrow screen (the managed mark stays). */
	char *short_head = xasprintf(
	    " %s \xe2\x94\x82 net %s \xe2\x94\x82 %s%s \xe2\x94\x82 prompts %zu%s",
	    o->profile != NULL ? o->profile : o->sandbox, t->network,
	    decide_approval_name(t->approval), o->reject != 0 ? " (reject)" : "", pending,
	    !o->managed.present              ? ""
	    : o->managed.allow_unsandboxed ? " \xe2\x94\x82 managed"
	                                   : " \xe2\x94\x82 managed, sandbox only");
	/* A rules file that stopped loading (SPEC 6): its last good rules stand in; F3 says more. */
	if (rules_broken(t->rules) != NULL) {
		char *h = xasprintf("%s \xe2\x94\x82 rules broken (F3)", head);
		char *sh = xasprintf("%s \xe2\x94\x82 rules broken", short_head);

		free(head);
		free(short_head);
		head = h;
		short_head = sh;
	}
	/* The socket and the cwd are shortened to fit, never cut before the modes (SPEC 7). */
	char *s = layout_status(head, short_head, t->socket_path ? t->socket_path : "-",
	                        t->cwd ? t->cwd : "-", getenv("HOME"), r->w);

	if (r->h > 0)
		draw__text(r->y, r->x, r->w, s, A_REVERSE | (pending ? A_BOLD : 0), 0);
	free(head);
	free(short_head);
	free(s);
}

/*
 * Cell C's characters for curses (WCH: CCHARW_MAX + 1): its base and the
 * marks on it, as one cell. Joiners, variation selectors and bidi controls
 * are left out: a terminal such as tmux would join an emoji sequence into
 * one glyph two columns wide, or draw a text character as a wide emoji,
 * where the pane's grid (libvterm's) gives every character its own cells,
 * and the rest of the row would shift; a bidi control would reorder it.
 */
static void draw__cluster(const struct pane *p, const struct pane_cell *c, wchar_t *wch)
{
	uint32_t chars[PANE_CLUSTER_CHARS];
	size_t n = pane_cell_chars(p, c, chars), k = 0;

	wch[k++] = n > 0 ? (wchar_t)chars[0] : L' ';
	for (size_t i = 1; i < n && k < CCHARW_MAX; i++) {
		wchar_t m = (wchar_t)chars[i];
		if (m == 0x200d || m == 0xfe0e || m == 0xfe0f || layout_bidi_control(m) ||
		    wcwidth(m) != 0)
			continue;
		wch[k++] = m;
	}
	wch[k] = L'\0';
}

/* One pane: its title row, then its view (MV: the mode's view, scroll mode's mark and match). */
static void draw__pane(struct tui *t, int i, const struct rect *r, const struct mode_view *mv)
{
	struct pane *p = t->panes[i];
	bool current = i == t->current;
	bool focused = current && !t->focus_input;
	char *title = pane_title(p, tui_now(t));
	/* The pane that has the keyboard: a marker, and the focus colour. */
	char *head = xasprintf("%s%s ", focused ? DRAW_FOCUS_MARK : " ", title);
	attr_t tattr = current ? (A_REVERSE | A_BOLD) : A_REVERSE;
	int tpair = 0;

	if (focused)
		tpair = draw__pair(DRAW_FOCUS_COLOR, -1);
	else if (p->state == PANE_DENIED || (p->state == PANE_EXITED && p->status != 0))
		tpair = draw__pair(COLOR_RED, -1);
	else if (p->state == PANE_WAITING)
		tpair = draw__pair(COLOR_YELLOW, -1);
	draw__text(r->y, r->x, r->w, head, tattr, tpair);
	free(head);
	free(title);
	long hl_row = current && mv->hl_cols > 0 ? pane_line_row(p, mv->hl_line) : -1;

	for (int row = 0; row < r->h - 1; row++) {
		for (int col = 0; col < r->w; col++) {
			struct pane_cell c;
			wchar_t wch[CCHARW_MAX + 1] = {L' ', L'\0'};
			attr_t a = A_NORMAL;
			bool bold = false;

			pane_view_cell(p, row, col, &c);
			if (c.width == 0 && col > 0)
				continue; /* the right half of a wide character */
			if (c.ch != 0)
				draw__cluster(p, &c, wch);
			if (c.width == 2 && col + 1 >= r->w)
				wch[0] = L' '; /* no room for both halves */
			if (c.attrs & PANE_ATTR_BOLD)
				a |= A_BOLD;
			if (c.attrs & PANE_ATTR_UNDERLINE)
				a |= A_UNDERLINE;
			if (c.attrs & PANE_ATTR_ITALIC)
				a |= A_ITALIC;
			if (c.attrs & PANE_ATTR_REVERSE)
				a |= A_REVERSE;
			if (c.attrs & PANE_ATTR_BLINK)
				a |= A_BLINK;
			int fg = draw__color_of(c.fg, &bold);
			int bg = draw__color_of(c.bg, NULL);
			if (bold)
				a |= A_BOLD;
			if (hl_row == row && col >= mv->hl_col && col < mv->hl_col + mv->hl_cols) {
				/* The search's match. */
				a = A_REVERSE | A_BOLD;
				fg = COLOR_YELLOW;
				bg = -1;
			}
			draw__put(r->y + 1 + row, r->x + col, wch, a, draw__pair(fg, bg));
		}
	}
	if ((p->scroll > 0 || (current && mv->mark != NULL)) && r->h > 1) {
		char *mark = current && mv->mark != NULL ? xstrdup(mv->mark)
		                                         : xasprintf(" -%d/%zu ", p->scroll, p->sb_len);
		int w = layout_text_width(mark);
		if (w <= r->w)
			draw__text(r->y + 1, r->x + r->w - w, w, mark, A_REVERSE, 0);
		free(mark);
	}
}

/* The input row while a mode uses it: its prompt (cursor in *CX) or its message; false when not. */
static bool draw__mode_input(const struct mode_view *mv, const struct rect *r, int *cx)
{
	if (mv->prompt == NULL && mv->message == NULL)
		return false;
	if (mv->prompt != NULL) {
		draw__text(r->y, r->x, r->w, mv->prompt, A_BOLD, 0);
		*cx = r->x + (mv->prompt_cursor < r->w ? mv->prompt_cursor : r->w - 1);
	} else {
		draw__text(r->y, r->x, r->w, mv->message, A_BOLD, 0);
	}
	return true;
}

/* A list mode over the panes' area: title, rows (the selected one reversed), detail, footer. */
static void draw__mode_list(const struct mode_view *mv, const struct rect *area)
{
	const struct mode_list *l = mv->list;
	/* Title, rows, then the detail and footer rows (kept, as the list's height counts them). */
	int y = area->y, rows = area->h - 3;

	if (area->h < 1 || area->w < 1)
		return;
	for (int i = 0; i < area->h; i++)
		draw__text(area->y + i, area->x, area->w, "", A_NORMAL, 0);
	draw__text(y++, area->x, area->w, mv->title != NULL ? mv->title : "", A_REVERSE | A_BOLD,
	           0);
	for (int i = 0; l != NULL && i < rows; i++) {
		int k = l->top + i;
		attr_t a = A_NORMAL;
		int pair = 0;
		if (k >= l->n)
			break;
		switch (l->items[k].role) {
		case MODE_ROW_HEADING:
			a = A_BOLD;
			break;
		case MODE_ROW_NOTE:
			a = A_DIM;
			break;
		case MODE_ROW_WARN:
			pair = draw__pair(COLOR_YELLOW, -1);
			break;
		default:
			break;
		}
		if (k == l->selected)
			a = A_REVERSE | A_BOLD;
		draw__text(y + i, area->x, area->w, l->items[k].text, a, pair);
	}
	y = area->y + area->h - 2;
	if (mv->detail != NULL && y > area->y)
		draw__text(y, area->x, area->w, mv->detail, A_NORMAL, draw__pair(COLOR_CYAN, -1));
	y++;
	if (mv->footer != NULL && y > area->y)
		draw__text(y, area->x, area->w, mv->footer, A_DIM, 0);
}

/* The input line, scrolled so the cursor stays visible; or a notice. */
static void draw__input(struct tui *t, const struct rect *r, int *cx)
{
	char *text = input_text(&t->input);
	int prompt_w = 2, w = r->w - prompt_w;
	int col = input_cursor_col(&t->input);
	const char *shown = text;

	/* Dimmed while a pane has the keyboard: typing does not land here. */
	attr_t dim = t->focus_input ? A_NORMAL : A_DIM;
	const struct pane *fp =
	    !t->focus_input && t->current >= 0 && t->current < t->n_panes ? t->panes[t->current]
	                                                                   : NULL;

	attr_set(t->focus_input ? A_BOLD : A_DIM, 0, NULL);
	mvaddstr(r->y, r->x, r->w >= 2 ? "> " : ">");
	attr_set(A_NORMAL, 0, NULL);
	if (w < 1) {
		*cx = r->w - 1;
		free(text);
		return;
	}
	if (t->input.len == 0 && (t->notice != NULL || t->focus_input || fp != NULL)) {
		char *where = fp != NULL ? xasprintf("keys go to pane %d \xc2\xb7 %s then i: back to "
		                                     "the input line",
		                                     fp->id, t->prefix ? "(prefix)" : "Ctrl-]")
		                         : NULL;
		const char *hint = t->notice != NULL ? t->notice
		                   : where != NULL   ? where
		                                     : "type a command and press enter \xc2\xb7 F1 help";
		draw__text(r->y, r->x + prompt_w, w, hint, t->notice ? A_BOLD : A_DIM, 0);
		*cx = r->x + prompt_w;
		free(where);
		free(text);
		return;
	}
	/* Skip whole characters from the left until the cursor fits. */
	while (col >= w && *shown) {
		int cw = 1;
		wchar_t wc;
		int len = mbtowc(&wc, shown, MB_CUR_MAX);
		if (len <= 0)
			len = 1;
		else if (wcwidth(wc) > 0)
			cw = wcwidth(wc);
		shown += len;
		col -= cw;
	}
	draw__text(r->y, r->x + prompt_w, w, shown, dim, 0);
	*cx = r->x + prompt_w + col;
	free(text);
}

/* A box with a border (when it has one) and a cleared inside. */
static void draw__box(const struct rect *b, bool border)
{
	for (int y = b->y; y < b->y + b->h; y++)
		for (int x = b->x; x < b->x + b->w; x++)
			mvaddch(y, x, ' ');
	if (!border || b->w < 2 || b->h < 2)
		return;
	attr_set(A_BOLD, 0, NULL);
	mvadd_wch(b->y, b->x, WACS_ULCORNER);
	mvadd_wch(b->y, b->x + b->w - 1, WACS_URCORNER);
	mvadd_wch(b->y + b->h - 1, b->x, WACS_LLCORNER);
	mvadd_wch(b->y + b->h - 1, b->x + b->w - 1, WACS_LRCORNER);
	mvhline_set(b->y, b->x + 1, WACS_HLINE, b->w - 2);
	mvhline_set(b->y + b->h - 1, b->x + 1, WACS_HLINE, b->w - 2);
	mvvline_set(b->y + 1, b->x, WACS_VLINE, b->h - 2);
	mvvline_set(b->y + 1, b->x + b->w - 1, WACS_VLINE, b->h - 2);
	attr_set(A_NORMAL, 0, NULL);
}

/* The modal on top of everything; *CY, *CX get the reason field's cursor (else *CY = -1). */
static void draw__modal(struct tui *t, const struct modal_view *v, int *cy, int *cx)
{
	struct modal_layout ml;

	layout_modal(v, t->cols, t->rows, &ml);
	draw__box(&ml.box, ml.border);
	for (int i = 0; i < ml.n_lines && i < ml.inner.h; i++) {
		attr_t a = A_NORMAL;
		int pair = 0;
		switch (ml.lines[i].role) {
		case MODAL_TITLE:
			a = A_BOLD;
			break;
		case MODAL_SUBJECT:
			a = A_BOLD;
			pair = draw__pair(COLOR_CYAN, -1);
			break;
		case MODAL_DIFF_ADD:
			pair = draw__pair(COLOR_GREEN, -1);
			break;
		case MODAL_DIFF_DEL:
			pair = draw__pair(COLOR_RED, -1);
			break;
		case MODAL_DIFF_HUNK:
			pair = draw__pair(COLOR_CYAN, -1);
			break;
		case MODAL_SELECTED:
			a = A_REVERSE | A_BOLD;
			break;
		case MODAL_FOOTER:
			/* Bold while arming: the prompt says it takes no answer yet. */
			a = v->arming ? A_BOLD : A_DIM;
			break;
		case MODAL_ORIGIN:
			pair = draw__pair(COLOR_YELLOW, -1);
			break;
		case MODAL_FIELD:
			a = A_UNDERLINE;
			break;
		default:
			break;
		}
		draw__text(ml.inner.y + i, ml.inner.x, ml.inner.w, ml.lines[i].text, a, pair);
	}
	*cy = -1;
	if (ml.field_line >= 0 && ml.field_line < ml.inner.h) {
		*cy = ml.inner.y + ml.field_line;
		*cx = ml.inner.x + ml.field_cursor;
	}
	layout_modal_free(&ml);
}

/* The help screen: the key table, in a box. */
static void draw__help(struct tui *t)
{
	size_t n;
	const struct tui_help_line *lines = tui_help_lines(&n);
	int keys_w = 16;
	int w = t->cols - 4 < 72 ? t->cols - 4 : 72;
	int h = (int)n + 4 < t->rows ? (int)n + 4 : t->rows;
	bool border = w >= 10 && h >= 4;

	if (w < 1)
		w = t->cols;
	struct rect b = {(t->cols - w) / 2, (t->rows - h) / 2, w, h};
	draw__box(&b, border);
	int x = b.x + (border ? 2 : 0), y = b.y + (border ? 1 : 0);
	int iw = border ? w - 4 : w, ih = border ? h - 2 : h;
	if (iw < 1 || ih < 1)
		return;
	draw__text(y, x, iw, "airlock: keys (any key closes this)", A_BOLD, 0);
	for (int i = 0; i < (int)n && i + 1 < ih; i++) {
		char *line = xasprintf("%-*s %s", keys_w, lines[i].keys, lines[i].what);
		draw__text(y + 1 + i, x, iw, line, A_NORMAL, 0);
		free(line);
	}
}

static bool draw__cursor_shown;
static int draw__cursor_y, draw__cursor_x;

/* Whether the last frame showed the cursor, and where (for snapshots). */
bool draw_cursor(int *y, int *x)
{
	*y = draw__cursor_y;
	*x = draw__cursor_x;
	return draw__cursor_shown;
}

/* Paints the model and updates the terminal. */
/*
 * Attention (SPEC 11): a new prompt rings the bell once (config
 * `attention`: bell, osc9 for a desktop notification, none), and the
 * terminal title says how many prompts wait while any do. The escapes go
 * to the terminal curses draws on (tui_main's stdout), flushed at once.
 */
static void draw__attention(struct tui *t)
{
	const char *how = t->opts != NULL ? t->opts->config.attention : NULL;
	long n = t->approvals != NULL ? (long)approval_pending(t->approvals) : 0;
	char title[96];

	/* Only the real terminal: off-screen renderings (snapshots) have none to ring. */
	if (!t->in_loop)
		return;
	if (t->attention_ring) {
		t->attention_ring = false;
		if (how == NULL || strcmp(how, "bell") == 0)
			beep();
		else if (strcmp(how, "osc9") == 0)
			fputs("\033]9;airlock: a prompt waits for your answer\033\\", stdout);
	}
	if (n == t->attention_title || (n == 0 && t->attention_title < 0))
		return;
	t->attention_title = n;
	if (n > 0)
		snprintf(title, sizeof title, "\033]2;airlock: %ld prompt%s waiting\033\\", n,
		         n == 1 ? "" : "s");
	else
		snprintf(title, sizeof title, "\033]2;airlock\033\\");
	fputs(title, stdout);
	fflush(stdout);
}

/* The title no longer counts prompts that airlock will not answer any more. */
void draw_attention_end(struct tui *t)
{
	if (t->attention_title <= 0)
		return;
	t->attention_title = 0;
	fputs("\033]2;airlock\033\\", stdout);
	fflush(stdout);
}

void draw_screen(struct tui *t)
{
	struct modal_view v;
	const struct layout *l = &t->layout;
	int cx = 0, cy = -1, ix = 0;

	if (t->cols != COLS || t->rows != LINES)
		tui_resize(t, COLS, LINES);
	erase();
	struct mode_view mv;
	bool moded = tui_mode_view(t, &mv);

	draw__status(t, &l->status);
	for (int i = 0; i < l->n && i < t->n_panes; i++)
		if (l->pane[i].h > 0 && l->pane[i].w > 0)
			draw__pane(t, i, &l->pane[i], &mv);
	for (int i = 0; i < l->n_seps; i++) {
		/* The focused pane's frame: the bars beside it, in the focus colour. */
		const struct rect *fr = !t->focus_input && t->current >= 0 && t->current < l->n
		                            ? &l->pane[t->current]
		                            : NULL;
		bool framing = fr != NULL && fr->h > 0 && l->seps[i].y == fr->y &&
		               (l->seps[i].x == fr->x + fr->w || l->seps[i].x == fr->x - 1);
		int pair = framing ? draw__pair(DRAW_FOCUS_COLOR, -1) : 0;
		attr_set(framing ? A_BOLD : A_NORMAL, 0, &pair);
		mvvline_set(l->seps[i].y, l->seps[i].x, WACS_VLINE, l->seps[i].h);
		attr_set(A_NORMAL, 0, NULL);
	}
	if (t->n_panes == 0 && l->panes.h > 2 && l->panes.w > 10) {
		const char *hello = "airlock: every command runs in a sandbox.";
		int w = layout_text_width(hello);
		if (w <= l->panes.w)
			draw__text(l->panes.y + l->panes.h / 2, (l->panes.w - w) / 2, w, hello,
			           A_DIM, 0);
	}
	if (moded && mv.list != NULL)
		draw__mode_list(&mv, &l->panes);
	bool mode_row = moded && draw__mode_input(&mv, &l->input, &ix);
	if (!mode_row)
		draw__input(t, &l->input, &ix);
	if (mode_row || (moded && mv.list != NULL)) {
		/* A mode has the keys: the cursor is in its prompt, or nowhere. */
		cy = moded && mv.prompt != NULL ? l->input.y : -1;
		cx = ix;
	} else if (t->focus_input) {
		cy = l->input.y;
		cx = ix;
	} else if (t->current >= 0 && t->current < t->n_panes) {
		struct pane *p = t->panes[t->current];
		const struct rect *r = &l->pane[t->current];
		if (p->state == PANE_RUNNING && p->cursor_visible && p->scroll == 0 && r->h > 1 &&
		    p->cursor.row < r->h - 1 && p->cursor.col < r->w) {
			cy = r->y + 1 + p->cursor.row;
			cx = r->x + p->cursor.col;
		}
	}
	if (t->overlay == TUI_OVERLAY_HELP) {
		draw__help(t);
		cy = -1;
	} else if (tui_modal_view(t, &v)) {
		int my, mx;

		draw__modal(t, &v, &my, &mx);
		/* Arming, keys still go where the cursor is; else to the field, if open. */
		if (my >= 0) {
			cy = my;
			cx = mx;
		} else if (!v.arming) {
			cy = -1;
		}
	}
	draw__cursor_shown = cy >= 0;
	draw__cursor_y = cy >= 0 ? cy : 0;
	draw__cursor_x = cx;
	if (cy >= 0)
		move(cy, cx < COLS ? cx : COLS - 1);
	curs_set(cy >= 0 ? 1 : 0);
	draw__attention(t);
	wnoutrefresh(stdscr);
	doupdate();
}
