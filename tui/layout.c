/*
 * Layout: where everything goes, computed from sizes and text alone, with
 * no curses at all (so tests check it directly, as neomutt separates recalc
 * from repaint). Two things are laid out here:
 *
 *  - the screen: a status bar on the first row, the input line on the last,
 *    and the panes between, either the current one maximised or all tiled
 *    in a grid (rows of columns, separated by one-column bars);
 *  - a modal: a centred box whose lines are already wrapped or cut to its
 *    inner width, with an ellipsis where text had to go, so the drawing code
 *    only copies lines. When the box cannot hold everything, the footer,
 *    the title, who asks and where, the options and the reason field keep
 *    their lines first; the command (or diff) gets what is left. The
 *    footer says whether the prompt is still arming (and where keys go
 *    meanwhile), or how to answer.
 *
 * Widths are display columns of UTF-8 text (wcwidth), not bytes.
 */
#include "tui/tui.h"

#include "core/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define LAYOUT_ELLIPSIS   "\xe2\x80\xa6"
#define LAYOUT_MODAL_MAXW 84
#define LAYOUT_SEP_MINW   20 /* narrowest tile that still gets a column of its own */

/* Decodes one character of S (N bytes left); stores its width; returns its length. */
static size_t layout__char(const char *s, size_t n, int *width)
{
	mbstate_t st;
	wchar_t wc;
	size_t len;

	memset(&st, 0, sizeof st);
	len = mbrtowc(&wc, s, n, &st);
	if (len == (size_t)-1 || len == (size_t)-2 || len == 0) {
		*width = 1;
		return 1;
	}
	int w = wcwidth(wc);
	*width = w < 0 ? 1 : w;
	return len;
}

/* Display width of S. */
int layout_text_width(const char *s)
{
	size_t n = strlen(s), i = 0;
	int total = 0, w;

	while (i < n) {
		i += layout__char(s + i, n - i, &w);
		total += w;
	}
	return total;
}

/* The head of S that fits WIDTH columns, with an ellipsis when cut. */
char *layout_text_fit(const char *s, int width)
{
	size_t n = strlen(s), i = 0, keep = 0;
	int used = 0, w;

	if (width <= 0)
		return xstrdup("");
	if (layout_text_width(s) <= width)
		return xstrdup(s);
	/* Leave one column for the ellipsis. */
	while (i < n) {
		size_t len = layout__char(s + i, n - i, &w);
		if (used + w > width - 1)
			break;
		used += w;
		i += len;
		keep = i;
	}
	char *out = xmalloc(keep + sizeof LAYOUT_ELLIPSIS);
	memcpy(out, s, keep);
	memcpy(out + keep, LAYOUT_ELLIPSIS, sizeof LAYOUT_ELLIPSIS);
	return out;
}

/* PATH with HOME at its start written as ~. Caller frees. */
char *layout_tilde(const char *path, const char *home)
{
	size_t n = home != NULL ? strlen(home) : 0;

	if (n > 1 && strncmp(path, home, n) == 0 && (path[n] == '/' || path[n] == '\0'))
		return xasprintf("~%s", path + n);
	return xstrdup(path);
}

/* PATH with every directory but the last written as its first character (~/s/airlock). */
static char *layout__initials(const char *path)
{
	const char *last = strrchr(path, '/');
	char *out = xmalloc(strlen(path) + 1);
	size_t k = 0;
	bool start = true;

	if (last == NULL)
		last = path;
	for (const char *c = path; c < last; c++) {
		if (*c == '/') {
			out[k++] = '/';
			start = true;
		} else if (start) {
			/* A whole character, not one byte of it. */
			int w;
			size_t len = layout__char(c, strlen(c), &w);
			memcpy(out + k, c, len);
			k += len;
			c += len - 1;
			start = false;
		}
	}
	strcpy(out + k, last);
	return out;
}

/* The last component of PATH after an ellipsis (…/airlock), or PATH when it has none. */
static char *layout__last(const char *path)
{
	const char *last = strrchr(path, '/');

	if (last == NULL || last == path || last[1] == '\0')
		return xstrdup(path);
	return xasprintf(LAYOUT_ELLIPSIS "%s", last);
}

/* The status bar's text (see tui.h): shortened a step at a time until it fits. */
char *layout_status(const char *head, const char *short_head, const char *socket,
                    const char *cwd, const char *home, int width)
{
	static const char sep[] = " \xe2\x94\x82 ";
	char *sock = xstrdup(socket), *dir = xstrdup(cwd), *t;
	const char *h = head;
	bool with_socket = true;
	char *out = NULL;

	for (int step = 0;; step++) {
		switch (step) {
		case 0: /* everything as it is */
			break;
		case 1: /* the home directory as ~ */
			t = layout_tilde(sock, home);
			free(sock);
			sock = t;
			t = layout_tilde(dir, home);
			free(dir);
			dir = t;
			break;
		case 2: /* the socket by its name */
			t = layout__last(sock);
			free(sock);
			sock = t;
			break;
		case 3: /* the cwd's parents by their initials */
			t = layout__initials(dir);
			free(dir);
			dir = t;
			break;
		case 4: /* no socket: the cwd says where commands run, which matters more */
			with_socket = false;
			break;
		case 5: /* the modes without their labels */
			h = short_head;
			break;
		case 6: /* the cwd by its last directory */
			t = layout__last(dir);
			free(dir);
			dir = t;
			break;
		default: /* cut, with an ellipsis: the modes come first and stay */
			t = layout_text_fit(out, width);
			free(out);
			free(sock);
			free(dir);
			return t;
		}
		free(out);
		out = with_socket ? xasprintf("%s%ssocket %s%scwd %s", h, sep, sock, sep, dir)
		                  : xasprintf("%s%scwd %s", h, sep, dir);
		if (layout_text_width(out) <= width)
			break;
	}
	free(sock);
	free(dir);
	return out;
}

/* Splits the screen into status bar, panes and input line. */
void layout_screen(int cols, int rows, int n, int current, bool maximised, struct layout *out)
{
	memset(out, 0, sizeof *out);
	if (cols < 1)
		cols = 1;
	if (rows < 1)
		rows = 1;
	if (n > TUI_MAX_PANES)
		n = TUI_MAX_PANES;
	out->n = n;
	/* The input line always; the status bar from 2 rows; panes from 3. */
	out->input = (struct rect){0, rows - 1, cols, 1};
	if (rows >= 2)
		out->status = (struct rect){0, 0, cols, 1};
	if (rows < 3 || n == 0) {
		if (rows >= 3)
			out->panes = (struct rect){0, 1, cols, rows - 2};
		return;
	}
	out->panes = (struct rect){0, 1, cols, rows - 2};
	if (maximised || n == 1) {
		if (current < 0 || current >= n)
			current = n - 1;
		out->pane[current] = out->panes;
		return;
	}

	/* Tiled: a grid of R rows; row r holds its share of the panes. */
	int area_h = out->panes.h, area_w = cols;
	int grid_rows = 1, grid_cols = n;
	while (grid_cols > 1 && (area_w / grid_cols < LAYOUT_SEP_MINW || grid_rows < grid_cols)) {
		grid_rows++;
		grid_cols = (n + grid_rows - 1) / grid_rows;
	}
	/* Every tile needs a title row and one row of output. */
	while (grid_rows > 1 && area_h / grid_rows < 2)
		grid_rows--;
	int shown = grid_rows * grid_cols < n ? grid_rows * grid_cols : n;
	/* Keep the current pane among the shown ones: show the last SHOWN panes then. */
	int first = 0;
	if (current >= shown)
		first = current - shown + 1;
	int idx = first;
	for (int r = 0; r < grid_rows && idx < first + shown; r++) {
		int left = first + shown - idx;
		int rows_left = grid_rows - r;
		int in_row = (left + rows_left - 1) / rows_left;
		if (in_row > grid_cols)
			in_row = grid_cols;
		int y = out->panes.y + area_h * r / grid_rows;
		int y2 = out->panes.y + area_h * (r + 1) / grid_rows;
		for (int c = 0; c < in_row; c++, idx++) {
			int x = area_w * c / in_row;
			int x2 = area_w * (c + 1) / in_row;
			int w = x2 - x - (c < in_row - 1 ? 1 : 0);
			out->pane[idx] = (struct rect){x, y, w, y2 - y};
			if (c < in_row - 1 && out->n_seps < TUI_MAX_PANES)
				out->seps[out->n_seps++] = (struct rect){x + w, y, 1, y2 - y};
		}
	}
}

/*
 * The tail of S that fits WIDTH columns after LABEL, with an ellipsis
 * where its head went (a path's last components say the most). Caller frees.
 */
static char *layout__fit_tail(const char *label, const char *s, int width)
{
	int room = width - layout_text_width(label);
	size_t n = strlen(s), i = 0;
	int w;

	if (room <= 1 || layout_text_width(s) <= room) {
		char *all = xasprintf("%s%s", label, s);
		char *fit = layout_text_fit(all, width);
		free(all);
		return fit;
	}
	/* Drop whole characters from the head until the rest and the ellipsis fit. */
	while (i < n && layout_text_width(s + i) > room - 1)
		i += layout__char(s + i, n - i, &w);
	return xasprintf("%s" LAYOUT_ELLIPSIS "%s", label, s + i);
}

/*
 * The reason field's line: LABEL, then the part of TEXT around the cursor
 * (at display column CURSOR) that fits WIDTH; *CX gets the cursor's column.
 */
static char *layout__field(const char *label, const char *text, int cursor, int width, int *cx)
{
	int lw = layout_text_width(label), room = width - lw - 1, w;
	const char *shown = text;
	size_t n = strlen(text);

	if (room < 1)
		room = 1;
	while (cursor > room && *shown != '\0') {
		size_t len = layout__char(shown, n - (size_t)(shown - text), &w);
		shown += len;
		cursor -= w;
	}
	char *line = xasprintf("%s%s", label, shown);
	char *fit = layout_text_fit(line, width);
	free(line);
	*cx = lw + cursor < width ? lw + cursor : width - 1;
	return fit;
}

/* Appends a line to the modal layout (TEXT is owned by it from now on). */
static void layout__push(struct modal_layout *ml, int *cap, char *text, enum modal_role role)
{
	if (ml->n_lines == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		ml->lines = xreallocarray(ml->lines, (size_t)*cap, sizeof *ml->lines);
	}
	ml->lines[ml->n_lines].text = text;
	ml->lines[ml->n_lines].role = role;
	ml->n_lines++;
}

/* A list of lines (owned strings). */
struct layout_lines {
	char **v;
	int n, cap;
};

/*
 * A copy of S safe to show: tabs become spaces (to the next multiple of
 * four), other control characters '?', C1 controls and bytes that are not
 * UTF-8 U+FFFD, newlines kept when KEEP_NL. A zero width joiner goes:
 * curses gives each character of a ZWJ sequence its own cells (wcwidth),
 * while a terminal such as tmux draws the sequence as one glyph two columns
 * wide, so the rest of the row would land columns away from where curses
 * thinks it is; without the joiners the emoji are drawn side by side, as
 * measured. What it returns is measured and drawn alike, one column per
 * character but for wide ones.
 */
/* Whether WC is a bidirectional formatting character (marks, embeddings, overrides, isolates). */
bool layout_bidi_control(wchar_t wc)
{
	return wc == 0x061c || wc == 0x200e || wc == 0x200f || (wc >= 0x202a && wc <= 0x202e) ||
	       (wc >= 0x2066 && wc <= 0x2069);
}

static char *layout__clean(const char *s, bool keep_nl)
{
	static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */
	size_t n = strlen(s), k = 0, i = 0;
	char *out = xmalloc(n * 4 + 1);
	int col = 0;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\t') {
			do
				out[k++] = ' ';
			while (++col % 4 != 0);
			i++;
			continue;
		}
		if (c == '\n' && keep_nl) {
			out[k++] = '\n';
			col = 0;
			i++;
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			out[k++] = '?';
			col++;
			i++;
			continue;
		}
		mbstate_t st;
		wchar_t wc;
		memset(&st, 0, sizeof st);
		size_t len = mbrtowc(&wc, s + i, n - i, &st);
		bool bad = len == (size_t)-1 || len == (size_t)-2 || len == 0;
		if (bad || (wc >= 0x80 && wc < 0xa0)) {
			memcpy(out + k, replacement, sizeof replacement - 1);
			k += sizeof replacement - 1;
			col++;
			i += bad ? 1 : len;
			continue;
		}
		if (wc == 0x200d) {
			i += len;
			continue;
		}
		if (layout_bidi_control(wc)) {
			/* Shown, not obeyed: it would reorder the text after it on the screen. */
			memcpy(out + k, replacement, sizeof replacement - 1);
			k += sizeof replacement - 1;
			col++;
			i += len;
			continue;
		}
		memcpy(out + k, s + i, len);
		k += len;
		col++;
		i += len;
	}
	out[k] = '\0';
	return out;
}

/* S made safe to measure and draw on one line (see layout__clean). */
char *layout_text_printable(const char *s)
{
	return layout__clean(s, false);
}

/* Appends a copy of S's first LEN bytes. */
static void layout__lines_add(struct layout_lines *l, const char *s, size_t len)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xreallocarray(l->v, (size_t)l->cap, sizeof *l->v);
	}
	l->v[l->n++] = xstrndup(s, len);
}

/* Frees the lines of L. */
static void layout__lines_free(struct layout_lines *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

/*
 * Wraps S to WIDTH columns into L: at spaces where it can, anywhere when a
 * word is longer than a line; newlines break lines; INDENT spaces start
 * every continuation line.
 */
static void layout__wrap(struct layout_lines *l, const char *text, int width, int indent)
{
	char *clean = layout__clean(text, true);
	const char *s = clean;
	size_t n = strlen(s), i = 0;

	if (width < 1)
		width = 1;
	if (indent >= width)
		indent = 0;
	bool first = true;
	while (i < n || first) {
		int limit = first ? width : width - indent;
		size_t start = i, last_space = (size_t)-1, j = i;
		int used = 0, w;
		while (j < n && s[j] != '\n') {
			size_t len = layout__char(s + j, n - j, &w);
			if (used + w > limit)
				break;
			if (s[j] == ' ')
				last_space = j;
			used += w;
			j += len;
		}
		size_t end = j;
		if (j < n && s[j] != '\n' && last_space != (size_t)-1 && last_space > start)
			end = last_space;
		if (end == start && j < n && s[j] != '\n')
			end = start + layout__char(s + start, n - start, &w);
		char *piece = xstrndup(s + start, end - start);
		if (!first && indent > 0) {
			char *ind = xasprintf("%*s%s", indent, "", piece);
			free(piece);
			piece = ind;
		}
		layout__lines_add(l, piece, strlen(piece));
		free(piece);
		i = end;
		if (i < n && (s[i] == ' ' || s[i] == '\n'))
			i++;
		first = false;
		if (i >= n)
			break;
	}
	free(clean);
}

/*
 * Wraps LEAD then TEXT into L as layout__wrap does, but only their first
 * KEEP lines, and one more when there are more (a command of 200k words is
 * megabytes: a frame wraps what it can show, issue 11). Only a head of
 * TEXT is read: every wrapped line but the last of a head is the line the
 * whole text gives (a line ends where a later character does not fit, or
 * at a newline), so a head that yields more than KEEP lines is enough; a
 * head ends before a character's first byte, where the cleaning of a head
 * agrees with that of the whole. Heads double until one is, or is TEXT.
 */
static void layout__wrap_head(struct layout_lines *l, const char *lead, const char *text, int width,
                              int indent, int keep)
{
	size_t lead_len = strlen(lead), want = (size_t)(keep + 1) * (size_t)(width + 1) * 8 + 64;

	for (;;) {
		size_t len = strnlen(text, want);
		bool whole = text[len] == '\0';
		struct layout_lines head = {0};
		char *cut;

		while (!whole && len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80)
			len--;
		cut = xmalloc(lead_len + len + 1);
		memcpy(cut, lead, lead_len);
		memcpy(cut + lead_len, text, len);
		cut[lead_len + len] = '\0';
		layout__wrap(&head, cut, width, indent);
		free(cut);
		if (whole || head.n > keep + 1) {
			/* Past KEEP + 1 lines they go (the last of a head may be cut short). */
			while (head.n > keep + 1)
				free(head.v[--head.n]);
			*l = head;
			return;
		}
		layout__lines_free(&head);
		want *= 2;
	}
}

/* The role of one diff line, from its first character. */
static enum modal_role layout__diff_role(const char *line)
{
	if (strncmp(line, "+++", 3) == 0 || strncmp(line, "---", 3) == 0 ||
	    strncmp(line, "***", 3) == 0)
		return MODAL_DIFF_HUNK;
	if (line[0] == '+')
		return MODAL_DIFF_ADD;
	if (line[0] == '-')
		return MODAL_DIFF_DEL;
	if (line[0] == '@')
		return MODAL_DIFF_HUNK;
	return MODAL_DIFF;
}

/* Moves up to MAX lines of L into ML, the last cut with an ellipsis when some remain. */
static void layout__take(struct modal_layout *ml, int *cap, struct layout_lines *l, int max,
                         int width, enum modal_role role)
{
	for (int i = 0; i < l->n; i++) {
		if (i >= max) {
			free(l->v[i]);
			continue;
		}
		char *text = l->v[i];
		if (i == max - 1 && l->n > max) {
			/* Say that the text goes on. */
			char *tmp = xasprintf("%s" LAYOUT_ELLIPSIS "" LAYOUT_ELLIPSIS, text);
			char *fit = layout_text_fit(tmp, width);
			if (layout_text_width(text) + 1 <= width) {
				free(fit);
				fit = xasprintf("%s" LAYOUT_ELLIPSIS, text);
			}
			free(tmp);
			free(text);
			text = fit;
		}
		layout__push(ml, cap, text, role);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* Lays out a modal view in a COLS x ROWS screen. */
void layout_modal(const struct modal_view *v, int cols, int rows, struct modal_layout *out)
{
	int cap = 0;
	struct layout_lines title = {0}, reason = {0}, subject = {0}, options = {0};
	char *footer;

	memset(out, 0, sizeof *out);
	out->field_line = -1;
	if (cols < 1 || rows < 1)
		return;
	int w = cols - 4 < LAYOUT_MODAL_MAXW ? cols - 4 : LAYOUT_MODAL_MAXW;
	if (w < 24)
		w = cols;
	out->border = w >= 10 && rows >= 5;
	int iw = out->border ? w - 4 : w; /* border and one space each side */
	if (iw < 1)
		iw = 1;
	int max_h = out->border ? rows - 2 : rows;
	if (max_h < 1)
		max_h = 1;

	/* Every part, wrapped. */
	layout__wrap(&title, v->title ? v->title : "", iw, 0);
	if (v->reason != NULL && v->reason[0] != '\0')
		layout__wrap(&reason, v->reason, iw, 0);
	int diff_total = 0;
	if (v->diff != NULL) {
		const char *s = v->diff;
		while (*s) {
			const char *nl = strchr(s, '\n');
			size_t len = nl ? (size_t)(nl - s) : strlen(s);
			char *raw = xstrndup(s, len);
			char *clean = layout__clean(raw, false);
			layout__lines_add(&subject, clean, strlen(clean));
			free(clean);
			free(raw);
			s += len + (nl ? 1 : 0);
		}
		diff_total = subject.n;
	} else if (v->subject != NULL) {
		/* No more than the box holds (and one line to say it goes on) is ever shown. */
		layout__wrap_head(&subject, v->command ? "$ " : "", v->subject, iw, 2, max_h);
	}
	if (v->arming)
		footer = xasprintf("arming" LAYOUT_ELLIPSIS " keys still go to %s",
		                   v->arming_dest != NULL ? v->arming_dest : "the input line");
	else if (v->field != NULL)
		footer = xstrdup("enter to deny with this reason \xc2\xb7 esc to go back");
	else {
		char more[48] = "";
		if (v->waiting > 0)
			snprintf(more, sizeof more, " \xc2\xb7 %zu more waiting", v->waiting);
		footer = xasprintf("enter to confirm \xc2\xb7 esc to deny%s%s", more,
		                   v->tab_hint ? " \xc2\xb7 tab: give a reason" : "");
	}

	/* Who asks and where: one line each, always shown. */
	struct layout_lines origin = {0};
	if (v->origin != NULL) {
		char *clean = layout__clean(v->origin, false);
		char *line = xasprintf("from: %s", clean);
		char *fit = layout_text_fit(line, iw);
		layout__lines_add(&origin, fit, strlen(fit));
		free(fit);
		free(line);
		free(clean);
	}
	if (v->cwd != NULL) {
		char *clean = layout__clean(v->cwd, false);
		char *fit = layout__fit_tail("cwd:  ", clean, iw);
		layout__lines_add(&origin, fit, strlen(fit));
		free(fit);
		free(clean);
	}
	char *field = NULL;
	int field_cx = 0;
	if (v->field != NULL) {
		char *clean = layout__clean(v->field, false);
		field = layout__field("reason: ", clean, v->field_cursor, iw, &field_cx);
		free(clean);
	}

	/* Options: wrapped when everything fits, one line each otherwise. */
	char *labels[APPROVAL_MAX_OPTIONS];
	int opt_of[64];
	for (size_t i = 0; i < v->n_options; i++)
		labels[i] = xasprintf("%c %zu. %s (%c)", (int)i == v->selected ? '>' : ' ', i + 1,
		                      v->options[i].label, v->options[i].key);
	for (size_t i = 0; i < v->n_options; i++) {
		int before = options.n;
		layout__wrap(&options, labels[i], iw, 5);
		for (int k = before; k < options.n && k < 64; k++)
			opt_of[k] = (int)i;
	}
	int fixed = title.n + origin.n + (field ? 1 : 0) + 1 + (reason.n ? reason.n + 1 : 0) + 1 +
	            options.n + 1 + 1;
	int min_subject = subject.n < 3 ? subject.n : 3;
	if (fixed + min_subject > max_h || options.n > 64) {
		layout__lines_free(&options);
		options = (struct layout_lines){0};
		for (size_t i = 0; i < v->n_options; i++) {
			char *fit = layout_text_fit(labels[i], iw);
			opt_of[options.n] = (int)i;
			layout__lines_add(&options, fit, strlen(fit));
			free(fit);
		}
	}
	for (size_t i = 0; i < v->n_options; i++)
		free(labels[i]);

	/* Budget: footer, title, options first; then the subject; then the reason. */
	int budget = max_h;
	int n_title = title.n, n_reason = reason.n, n_subject = subject.n, n_opts = options.n;
	int gaps;
	if (n_title > 2)
		n_title = 2;
	budget -= 1; /* footer */
	if (budget < 0)
		budget = 0;
	if (n_opts > budget)
		n_opts = budget;
	budget -= n_opts;
	int n_field = field != NULL && budget > 0 ? 1 : 0;
	budget -= n_field;
	if (n_title > budget)
		n_title = budget;
	budget -= n_title;
	int n_origin = origin.n < budget ? origin.n : budget;
	budget -= n_origin;
	/* Blank lines between parts only when there is room. */
	gaps = budget >= 3 + (n_subject ? 1 : 0) ? 3 : 0;
	budget -= gaps;
	int want_reason = n_reason > 3 ? 3 : n_reason;
	if (n_subject > budget - (want_reason ? 1 : 0))
		n_subject = budget - (want_reason ? 1 : 0);
	if (n_subject < 0)
		n_subject = 0;
	if (n_subject == 0 && subject.n > 0 && budget > 0)
		n_subject = 1;
	budget -= n_subject;
	if (n_reason > budget)
		n_reason = budget < 0 ? 0 : budget;

	/* Diff: a window starting at the scroll position. */
	int scroll = 0;
	if (diff_total > 0) {
		scroll = v->scroll;
		if (scroll > diff_total - n_subject)
			scroll = diff_total - n_subject;
		if (scroll < 0)
			scroll = 0;
		for (int i = 0; i < scroll; i++)
			free(subject.v[i]);
		memmove(subject.v, subject.v + scroll,
		        (size_t)(subject.n - scroll) * sizeof(char *));
		subject.n -= scroll;
		for (int i = 0; i < subject.n; i++) {
			char *fit = layout_text_fit(subject.v[i], iw);
			free(subject.v[i]);
			subject.v[i] = fit;
		}
	}

	layout__take(out, &cap, &title, n_title, iw, MODAL_TITLE);
	layout__take(out, &cap, &origin, n_origin, iw, MODAL_ORIGIN);
	if (gaps)
		layout__push(out, &cap, xstrdup(""), MODAL_BLANK);
	if (n_reason > 0) {
		layout__take(out, &cap, &reason, n_reason, iw, MODAL_TEXT);
	} else {
		layout__lines_free(&reason);
		reason = (struct layout_lines){0};
	}
	if (n_reason > 0 && n_subject > 0 && gaps &&
	    out->n_lines + 1 + n_subject + n_opts + n_field + 2 <= max_h)
		layout__push(out, &cap, xstrdup(""), MODAL_BLANK);
	if (diff_total > 0) {
		for (int i = 0; i < subject.n; i++) {
			if (i < n_subject)
				layout__push(out, &cap, subject.v[i],
				             layout__diff_role(subject.v[i]));
			else
				free(subject.v[i]);
		}
		free(subject.v);
		out->diff_lines = diff_total;
		out->diff_shown = n_subject;
	} else {
		layout__take(out, &cap, &subject, n_subject, iw, MODAL_SUBJECT);
	}
	if (gaps)
		layout__push(out, &cap, xstrdup(""), MODAL_BLANK);
	for (int i = 0; i < options.n; i++) {
		if (i < n_opts) {
			bool sel = opt_of[i] == v->selected;
			layout__push(out, &cap, options.v[i], sel ? MODAL_SELECTED : MODAL_OPTION);
		} else {
			free(options.v[i]);
		}
	}
	free(options.v);
	if (n_field > 0) {
		out->field_line = out->n_lines;
		out->field_cursor = field_cx;
		layout__push(out, &cap, field, MODAL_FIELD);
		field = NULL;
	}
	free(field);
	if (gaps && out->n_lines + 2 <= max_h)
		layout__push(out, &cap, xstrdup(""), MODAL_BLANK);
	if (diff_total > n_subject) {
		/* Not the whole diff fits: say how to see the rest. */
		char *more = xasprintf("%s \xc2\xb7 PgUp/PgDn: lines %d-%d of %d", footer,
		                       scroll + 1, scroll + n_subject, diff_total);
		free(footer);
		footer = more;
	}
	if (out->n_lines < max_h) {
		char *fit = layout_text_fit(footer, iw);
		layout__push(out, &cap, fit, MODAL_FOOTER);
	}
	free(footer);
	/* Never more lines than the box holds. */
	while (out->n_lines > max_h)
		free(out->lines[--out->n_lines].text);
	if (out->field_line >= out->n_lines)
		out->field_line = -1;

	int h = out->n_lines + (out->border ? 2 : 0);
	if (h > rows)
		h = rows;
	int bw = out->border ? w : iw;
	if (bw > cols)
		bw = cols;
	out->box = (struct rect){(cols - bw) / 2, (rows - h) / 2, bw, h};
	if (out->border)
		out->inner = (struct rect){out->box.x + 2, out->box.y + 1, iw, h - 2};
	else
		out->inner = out->box;
}

/* Frees the lines of a modal layout. */
void layout_modal_free(struct modal_layout *ml)
{
	for (int i = 0; i < ml->n_lines; i++)
		free(ml->lines[i].text);
	free(ml->lines);
	memset(ml, 0, sizeof *ml);
}
