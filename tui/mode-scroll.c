/*
 * Scroll mode: the current pane's scrollback under the keys (prefix [ from
 * a pane, or PgUp from the input line leaves the view where it is; this
 * mode is where Home/End and search live). PgUp/PgDn, arrows, j/k move,
 * Home goes to the oldest line kept, End back to the live screen; q, Esc,
 * i or Enter leave it and show the live screen again.
 *
 * Search. `/` searches back, towards older output, and `?` forwards (a
 * scrollback is read from the bottom up, so the key SPEC 7 names goes the
 * way one looks); n repeats the last search the same way, N the other way.
 * The text typed is matched on the cells' characters, line by line, case
 * blind unless it holds a capital (as less -i and vim's smartcase do), and
 * a search that reaches an end goes round once and says so. The match is
 * brought into view and highlighted by draw.c from the view.
 *
 * The pane is named by its id, not held: a pane closed under the mode ends
 * it. Lines are numbered as pane_line_count() does (oldest scrollback line
 * 0, then the screen's rows); output that pushes the ring's oldest lines
 * out shifts the numbers, which only moves a highlight, never reads out of
 * range.
 */
#include "tui/tui.h"

#include "core/xmalloc.h"

#include <curses.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

struct mode_scroll {
	struct tui *t;
	int pane_id;
	bool typing;        /* the search prompt is open */
	bool typing_back;   /* it was opened with / (back) rather than ? */
	struct input query; /* what is being typed */
	char *needle;       /* the last search, or NULL */
	bool back;          /* its direction */
	bool have_match;
	long line;
	int col, cols;
	char *mark, *prompt, *message;
};

/* The pane the mode scrolls, or NULL when it closed. */
static struct pane *mode_scroll__pane(struct mode_scroll *m)
{
	return tui_pane_by_id(m->t, m->pane_id);
}

/* Starts on the current pane. */
static void *mode_scroll__init(struct tui *t, const char **why)
{
	struct pane *p = t->current >= 0 && t->current < t->n_panes ? t->panes[t->current] : NULL;
	struct mode_scroll *m;

	if (p == NULL) {
		*why = "no pane to scroll";
		return NULL;
	}
	m = xcalloc(1, sizeof *m);
	m->t = t;
	m->pane_id = p->id;
	input_init(&m->query, NULL);
	return m;
}

/* Frees the state. */
static void mode_scroll__free(void *data)
{
	struct mode_scroll *m = data;

	input_free(&m->query);
	free(m->needle);
	free(m->mark);
	free(m->prompt);
	free(m->message);
	free(m);
}

/* Nothing to lay out: the pane keeps its own lines. */
static void mode_scroll__resize(void *data)
{
	(void)data;
}

/* NEEDLE as wide characters, folded when CASELESS; *N gets the count. Caller frees. */
static wchar_t *mode_scroll__wide(const char *needle, bool *caseless, size_t *n)
{
	size_t len = strlen(needle), k = 0;
	wchar_t *w = xcalloc(len + 1, sizeof *w);
	mbstate_t st;

	memset(&st, 0, sizeof st);
	*caseless = true;
	for (size_t i = 0; i < len;) {
		wchar_t wc;
		size_t r = mbrtowc(&wc, needle + i, len - i, &st);
		if (r == (size_t)-1 || r == (size_t)-2 || r == 0) {
			wc = (wchar_t)(unsigned char)needle[i];
			r = 1;
			memset(&st, 0, sizeof st);
		}
		if (iswupper((wint_t)wc))
			*caseless = false;
		w[k++] = wc;
		i += r;
	}
	*n = k;
	return w;
}

/*
 * One line's characters, one per character cell, with the column each
 * starts at; the first FIRST are the line's own, the rest those of the
 * lines its text goes on in (a soft wrap), at columns past its end.
 */
struct mode_scroll_line {
	wchar_t *ch;
	int *col, *width;
	size_t n, cap, first;
};

/* Appends line LINE of P to L, its columns shifted by OFFSET (folded when CASELESS). */
static void mode_scroll__append(const struct pane *p, long line, int offset, bool caseless,
                                struct mode_scroll_line *l)
{
	int w = pane_line_width(p, line);

	if (l->n + (size_t)w > l->cap) {
		l->cap = l->n + (size_t)w;
		l->ch = xreallocarray(l->ch, l->cap, sizeof *l->ch);
		l->col = xreallocarray(l->col, l->cap, sizeof *l->col);
		l->width = xreallocarray(l->width, l->cap, sizeof *l->width);
	}
	for (int c = 0; c < w; c++) {
		struct pane_cell cell;
		pane_line_cell(p, line, c, &cell);
		if (cell.width == 0 && c > 0)
			continue; /* the right half of a wide character */
		uint32_t base = pane_cell_base(p, &cell); /* a cluster matches by its base */
		wchar_t wc = base == 0 ? L' ' : (wchar_t)base;
		l->ch[l->n] = caseless ? (wchar_t)towlower((wint_t)wc) : wc;
		l->col[l->n] = offset + c;
		l->width[l->n] = cell.width > 0 ? cell.width : 1;
		l->n++;
	}
}

/*
 * Reads line LINE of P into L (folded when CASELESS), and after it enough
 * of the lines it goes on in for a match of N characters that starts in it
 * to end there: a match cut by the pane's width is still one.
 */
static void mode_scroll__read(const struct pane *p, long line, bool caseless, size_t n,
                              struct mode_scroll_line *l)
{
	int offset = pane_line_width(p, line);

	l->n = 0;
	mode_scroll__append(p, line, 0, caseless, l);
	l->first = l->n;
	for (long next = line; l->n < l->first + n && pane_line_wrapped(p, next); next++) {
		mode_scroll__append(p, next + 1, offset, caseless, l);
		offset += pane_line_width(p, next + 1);
	}
}

/*
 * The match in L nearest to column FROM in direction BACK: before FROM
 * (back) or after it, strictly; FROM may be INT_MIN / INT_MAX for the whole
 * line. Returns the index of its first character, or -1.
 */
static long mode_scroll__in_line(const struct mode_scroll_line *l, const wchar_t *w, size_t n,
                                 bool back, int from)
{
	long found = -1;

	if (n == 0 || l->n < n)
		return -1;
	for (size_t i = 0; i + n <= l->n && i < l->first; i++) {
		if (back ? l->col[i] >= from : l->col[i] <= from)
			continue;
		if (wmemcmp(l->ch + i, w, n) != 0)
			continue;
		found = (long)i;
		if (!back)
			break; /* the first after FROM */
	}
	return found;
}

/* Looks for W (N characters) in line AT of P, before / after column FROM; fills the match. */
static bool mode_scroll__try(const struct pane *p, long at, const wchar_t *w, size_t n,
                             bool caseless, bool back, int from, struct mode_scroll_line *l,
                             long *line, int *col, int *cols)
{
	long i;

	mode_scroll__read(p, at, caseless, n, l);
	i = mode_scroll__in_line(l, w, n, back, from);
	if (i < 0)
		return false;
	*line = at;
	*col = l->col[i];
	*cols = l->col[i + (long)n - 1] + l->width[i + (long)n - 1] - l->col[i];
	return true;
}

/*
 * Searches P for NEEDLE (see tui.h): first from the start towards the end
 * the search goes to, then, round the end, from the other end back to the
 * start line (whose matches short of the start the first pass took).
 */
bool mode_scroll_find(const struct pane *p, const char *needle, bool back, long *line, int *col,
                      int *cols, bool *wrapped)
{
	long total = pane_line_count(p), start = *line;
	struct mode_scroll_line l = {0};
	bool caseless, ok = false;
	int whole = back ? INT_MAX : INT_MIN;
	size_t n;
	wchar_t *w = mode_scroll__wide(needle, &caseless, &n);

	*wrapped = false;
	if (n > 0 && total > 0) {
		long step = back ? -1 : 1;
		if (start < -1)
			start = -1;
		if (start > total)
			start = total;
		long first = start < 0 || start >= total ? start + step : start;
		for (long at = first; !ok && at >= 0 && at < total; at += step)
			ok = mode_scroll__try(p, at, w, n, caseless, back, at == start ? *col : whole, &l,
			                      line, col, cols);
		for (long at = back ? total - 1 : 0; !ok && at >= 0 && at < total; at += step) {
			ok = mode_scroll__try(p, at, w, n, caseless, back, whole, &l, line, col, cols);
			*wrapped = ok;
			if (at == start)
				break;
		}
	}
	free(l.ch);
	free(l.col);
	free(l.width);
	free(w);
	return ok;
}

/* Sets the message the input row shows (NULL: none). */
static void mode_scroll__say(struct mode_scroll *m, char *msg)
{
	free(m->message);
	m->message = msg;
}

/* Runs the last search from the match (or the view) towards BACK. */
static void mode_scroll__search(struct mode_scroll *m, struct pane *p, bool back)
{
	long line;
	int col, cols = 0;
	bool wrapped;

	if (m->needle == NULL || m->needle[0] == '\0')
		return;
	if (m->have_match) {
		line = m->line;
		col = m->col;
	} else if (back) {
		/* From the end of the view's last row: its own rows first, bottom up. */
		line = (long)p->sb_len - p->scroll + p->rows - 1;
		col = INT_MAX;
	} else {
		/* From the start of its first row, top down. */
		line = (long)p->sb_len - p->scroll;
		col = INT_MIN;
	}
	if (!mode_scroll_find(p, m->needle, back, &line, &col, &cols, &wrapped)) {
		mode_scroll__say(m, xasprintf("no match for %s", m->needle));
		return;
	}
	m->have_match = true;
	m->line = line;
	m->col = col;
	m->cols = cols;
	pane_show_line(p, line);
	mode_scroll__say(m, wrapped ? xstrdup(back ? "search went round: back from the newest line"
	                                           : "search went round: on from the oldest line")
	                            : NULL);
}

/* A key while the search prompt is open. */
static void mode_scroll__typing_key(struct mode_scroll *m, struct pane *p, wint_t ch,
                                    bool keycode)
{
	char *line = NULL;

	if (!keycode && (ch == 0x1b || ch == 0x03)) {
		m->typing = false;
		return;
	}
	if ((!keycode && (ch == '\r' || ch == '\n')) || (keycode && ch == KEY_ENTER)) {
		char *text = input_text(&m->query);
		m->typing = false;
		if (text[0] == '\0') {
			free(text); /* an empty search repeats the last one */
		} else {
			free(m->needle);
			m->needle = text;
			m->have_match = false;
		}
		m->back = m->typing_back;
		mode_scroll__search(m, p, m->back);
		return;
	}
	/* No history and no tabs in a search. */
	if ((keycode && (ch == KEY_UP || ch == KEY_DOWN)) || (!keycode && ch == '\t'))
		return;
	/* Backspace on an empty prompt closes it, as in less. */
	if (m->query.len == 0 &&
	    ((keycode && ch == KEY_BACKSPACE) || (!keycode && (ch == 0x7f || ch == 0x08)))) {
		m->typing = false;
		return;
	}
	input_key(&m->query, ch, keycode, &line);
	free(line);
}

/* One key: moves, searches or leaves (false). */
static bool mode_scroll__key(void *data, wint_t ch, bool keycode)
{
	struct mode_scroll *m = data;
	struct pane *p = mode_scroll__pane(m);
	int page;

	if (p == NULL)
		return false;
	page = p->rows > 2 ? p->rows - 1 : 1;
	mode_scroll__say(m, NULL);
	if (m->typing) {
		mode_scroll__typing_key(m, p, ch, keycode);
		return true;
	}
	if (keycode) {
		switch (ch) {
		case KEY_PPAGE:
			pane_scroll(p, page);
			break;
		case KEY_NPAGE:
			pane_scroll(p, -page);
			break;
		case KEY_UP:
			pane_scroll(p, 1);
			break;
		case KEY_DOWN:
			pane_scroll(p, -1);
			break;
		case KEY_HOME:
			pane_scroll(p, (int)p->sb_len);
			break;
		case KEY_END:
			pane_scroll(p, -p->scroll);
			break;
		case KEY_ENTER:
			pane_scroll(p, -p->scroll);
			return false;
		default:
			break;
		}
		return true;
	}
	switch (ch) {
	case 'k':
		pane_scroll(p, 1);
		break;
	case 'j':
		pane_scroll(p, -1);
		break;
	case 'g':
		pane_scroll(p, (int)p->sb_len);
		break;
	case 'G':
		pane_scroll(p, -p->scroll);
		break;
	case '/':
	case '?':
		m->typing = true;
		m->typing_back = ch == '/';
		m->query.len = m->query.cur = 0;
		m->query.buf[0] = L'\0';
		break;
	case 'n':
	case 'N':
		if (m->needle == NULL)
			mode_scroll__say(m, xstrdup("no search yet: / searches back, ? forward"));
		else
			mode_scroll__search(m, p, ch == 'n' ? m->back : !m->back);
		break;
	case 'q':
	case 'i':
	case 0x1b:
	case 0x03:
	case '\r':
	case '\n':
		pane_scroll(p, -p->scroll);
		return false;
	default:
		break;
	}
	return true;
}

/* The mark, the highlight and the prompt. */
static void mode_scroll__view(void *data, struct mode_view *v)
{
	struct mode_scroll *m = data;
	struct pane *p = mode_scroll__pane(m);

	if (p == NULL)
		return;
	free(m->mark);
	m->mark = xasprintf(" scroll -%d/%zu ", p->scroll, p->sb_len);
	v->mark = m->mark;
	if (m->have_match) {
		v->hl_line = m->line;
		v->hl_col = m->col;
		v->hl_cols = m->cols;
	}
	if (m->typing) {
		char *text = input_text(&m->query);
		free(m->prompt);
		m->prompt = xasprintf("%c%s", m->typing_back ? '/' : '?', text);
		free(text);
		v->prompt = m->prompt;
		v->prompt_cursor = 1 + input_cursor_col(&m->query);
	}
	v->message = m->message != NULL
	                 ? m->message
	                 : "scroll mode: / search back, ? forward, n N again \xc2\xb7 Home End "
	                   "\xc2\xb7 q leaves";
}

const struct tui_mode mode_scroll = {
    .name = "scroll",
    .init = mode_scroll__init,
    .free = mode_scroll__free,
    .resize = mode_scroll__resize,
    .key = mode_scroll__key,
    .view = mode_scroll__view,
};
