/*
 * The list engine the list-like modes share (as tmux's mode-tree.c serves
 * its tree modes): rows of text, each with a role and a tag that says what
 * it stands for to its mode, a selection that only lands on selectable rows,
 * and the first row shown, kept so that the selection stays in view. It
 * knows nothing of curses or of what the rows mean: the rules view and the
 * mode switch fill it, draw.c paints it from their mode_view, and tests
 * drive it with keys alone.
 */
#include "tui/tui.h"

#include "core/xmalloc.h"

#include <curses.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Frees the rows' text and forgets them (the selection index stays for the next fill). */
void mode_list_clear(struct mode_list *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->items[i].text);
	l->n = 0;
}

/* Frees everything. */
void mode_list_free(struct mode_list *l)
{
	mode_list_clear(l);
	free(l->items);
	l->items = NULL;
	l->cap = 0;
}

/* Adds one row. */
void mode_list_add(struct mode_list *l, enum mode_role role, bool selectable, long tag,
                   const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->items = xrealloc(l->items, (size_t)l->cap * sizeof l->items[0]);
	}
	l->items[l->n++] =
	    (struct mode_list_item){.text = text, .role = role, .selectable = selectable, .tag = tag};
}

/* The nearest selectable row from I in direction DIR (then the other way); -1 when none. */
static int mode_list__near(const struct mode_list *l, int i, int dir)
{
	if (i < 0)
		i = 0;
	if (i >= l->n)
		i = l->n - 1;
	for (int j = i; j >= 0 && j < l->n; j += dir)
		if (l->items[j].selectable)
			return j;
	for (int j = i; j >= 0 && j < l->n; j -= dir)
		if (l->items[j].selectable)
			return j;
	return -1;
}

/* Keeps the selection on a selectable row and in view; the top never leaves the rows. */
static void mode_list__settle(struct mode_list *l, int dir)
{
	l->selected = mode_list__near(l, l->selected, dir);
	if (l->height < 1)
		l->height = 1;
	if (l->selected >= 0) {
		if (l->selected < l->top)
			l->top = l->selected;
		if (l->selected >= l->top + l->height)
			l->top = l->selected - l->height + 1;
		/* A heading just above the first selectable row shows with it. */
		if (l->top > 0 && l->top == l->selected && !l->items[l->top - 1].selectable &&
		    l->selected - (l->top - 1) < l->height)
			l->top--;
	}
	if (l->top > l->n - l->height)
		l->top = l->n - l->height;
	if (l->top < 0)
		l->top = 0;
}

/* The list shows HEIGHT rows now. */
void mode_list_resize(struct mode_list *l, int height)
{
	l->height = height > 0 ? height : 1;
	mode_list__settle(l, +1);
}

/* Moves the selection by a key; returns whether the key was the list's. */
bool mode_list_key(struct mode_list *l, wint_t ch, bool keycode)
{
	int step = 0, page = l->height > 1 ? l->height - 1 : 1;

	if (keycode) {
		switch (ch) {
		case KEY_UP:
			step = -1;
			break;
		case KEY_DOWN:
			step = +1;
			break;
		case KEY_PPAGE:
			step = -page;
			break;
		case KEY_NPAGE:
			step = page;
			break;
		case KEY_HOME:
			l->selected = 0;
			mode_list__settle(l, +1);
			l->top = 0;
			mode_list__settle(l, +1);
			return true;
		case KEY_END:
			l->selected = l->n - 1;
			mode_list__settle(l, -1);
			return true;
		default:
			return false;
		}
	} else if (ch == 'k') {
		step = -1;
	} else if (ch == 'j') {
		step = +1;
	} else {
		return false;
	}
	if (l->selected < 0)
		return true;
	int to = l->selected + step, dir = step > 0 ? +1 : -1;
	/* One step skips headings; a page lands on the nearest selectable row. */
	while (to >= 0 && to < l->n && !l->items[to].selectable && (step == 1 || step == -1))
		to += dir;
	if (to < 0 || to >= l->n) {
		/* Past the end: a page goes to the last row, a step stays. */
		if (step == 1 || step == -1)
			to = l->selected;
		else
			to = to < 0 ? 0 : l->n - 1;
	}
	l->selected = to;
	mode_list__settle(l, dir);
	if (step == -1 && l->selected == mode_list__near(l, 0, +1))
		l->top = 0; /* at the first row: the headings above it show too */
	mode_list__settle(l, dir);
	return true;
}

/* Selects the row with TAG. */
bool mode_list_select_tag(struct mode_list *l, long tag)
{
	for (int i = 0; i < l->n; i++) {
		if (l->items[i].selectable && l->items[i].tag == tag) {
			l->selected = i;
			mode_list__settle(l, +1);
			return true;
		}
	}
	return false;
}

/* The selected row. */
const struct mode_list_item *mode_list_current(const struct mode_list *l)
{
	return l->selected >= 0 && l->selected < l->n ? &l->items[l->selected] : NULL;
}
