/*
 * The input line: a small line editor over wide characters (so the cursor
 * moves by characters, not bytes) with a history that up/down walk. Each
 * line entered is appended to the history file (one line per entry, under
 * AIRLOCK_HOME) at once, so a crash loses nothing; the file is read back at
 * start, keeping the last INPUT_HISTORY_MAX entries. No curses output here:
 * the drawing code reads the buffer and the cursor.
 */
#include "tui/tui.h"

#include "core/xmalloc.h"

#include <curses.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Adds LINE to the in-memory history (dropping the oldest past the limit). */
static void input__remember(struct input *in, const char *line)
{
	if (in->n_history > 0 && strcmp(in->history[in->n_history - 1], line) == 0)
		return;
	if (in->n_history == INPUT_HISTORY_MAX) {
		free(in->history[0]);
		memmove(in->history, in->history + 1,
		        (size_t)(INPUT_HISTORY_MAX - 1) * sizeof *in->history);
		in->n_history--;
	}
	in->history[in->n_history++] = xstrdup(line);
}

/* Starts an empty line; loads the history from HISTORY_PATH when given. */
void input_init(struct input *in, const char *history_path)
{
	memset(in, 0, sizeof *in);
	in->history = xcalloc(INPUT_HISTORY_MAX, sizeof *in->history);
	in->history_path = history_path ? xstrdup(history_path) : NULL;
	if (history_path != NULL) {
		FILE *f = fopen(history_path, "r");
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;
		while (f != NULL && (n = getline(&line, &cap, f)) > 0) {
			if (line[n - 1] == '\n')
				line[n - 1] = '\0';
			if (line[0] != '\0')
				input__remember(in, line);
		}
		free(line);
		if (f != NULL)
			fclose(f);
	}
	in->hist_pos = in->n_history;
}

/* Frees the history. */
void input_free(struct input *in)
{
	for (int i = 0; i < in->n_history; i++)
		free(in->history[i]);
	free(in->history);
	free(in->history_path);
}

/* The line as UTF-8. */
char *input_text(const struct input *in)
{
	size_t max = (size_t)in->len * MB_CUR_MAX + 1;
	char *out = xmalloc(max);
	wchar_t tmp[INPUT_MAX_CHARS + 1];
	const wchar_t *src = tmp;
	mbstate_t st;

	memcpy(tmp, in->buf, (size_t)in->len * sizeof(wchar_t));
	tmp[in->len] = L'\0';
	memset(&st, 0, sizeof st);
	size_t n = wcsrtombs(out, &src, max, &st);
	if (n == (size_t)-1)
		n = 0;
	out[n] = '\0';
	return out;
}

/* Display column of the cursor. */
int input_cursor_col(const struct input *in)
{
	int col = 0;

	for (int i = 0; i < in->cur; i++) {
		int w = wcwidth(in->buf[i]);
		col += w < 0 ? 1 : w;
	}
	return col;
}

/* Replaces the line with UTF-8 TEXT (from the history). */
static void input__set(struct input *in, const char *text)
{
	mbstate_t st;
	const char *src = text;

	memset(&st, 0, sizeof st);
	size_t n = mbsrtowcs(in->buf, &src, INPUT_MAX_CHARS, &st);
	in->len = n == (size_t)-1 ? 0 : (int)n;
	in->buf[in->len] = L'\0';
	in->cur = in->len;
}

/* Appends LINE to the history file. */
static void input__persist(struct input *in, const char *line)
{
	FILE *f;

	if (in->history_path == NULL)
		return;
	/* Private to the user (0600), an older file included: it holds what was typed. */
	int fd = open(in->history_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	fchmod(fd, 0600);
	f = fdopen(fd, "a");
	if (f == NULL) {
		close(fd);
		return;
	}
	fprintf(f, "%s\n", line);
	fclose(f);
}

/* Walks the history by DIR (-1 older, +1 newer). */
static void input__walk(struct input *in, int dir)
{
	int pos = in->hist_pos + dir;

	if (pos < 0 || pos > in->n_history)
		return;
	if (in->hist_pos == in->n_history) {
		memcpy(in->saved, in->buf, sizeof in->buf);
		in->saved[in->len] = L'\0';
	}
	in->hist_pos = pos;
	if (pos == in->n_history) {
		memcpy(in->buf, in->saved, sizeof in->buf);
		in->len = (int)wcslen(in->buf);
		in->cur = in->len;
	} else {
		input__set(in, in->history[pos]);
	}
}

/* Edits the line with one key; on enter hands the line out. */
bool input_key(struct input *in, wint_t ch, bool keycode, char **line)
{
	*line = NULL;
	if (keycode) {
		switch (ch) {
		case KEY_LEFT:
			if (in->cur > 0)
				in->cur--;
			return true;
		case KEY_RIGHT:
			if (in->cur < in->len)
				in->cur++;
			return true;
		case KEY_HOME:
			in->cur = 0;
			return true;
		case KEY_END:
			in->cur = in->len;
			return true;
		case KEY_UP:
			input__walk(in, -1);
			return true;
		case KEY_DOWN:
			input__walk(in, +1);
			return true;
		case KEY_BACKSPACE:
			goto backspace;
		case KEY_DC:
			goto delete;
		case KEY_ENTER:
			goto enter;
		default:
			return false;
		}
	}
	switch (ch) {
	case '\r':
	case '\n':
	enter:
		if (in->len == 0)
			return true;
		*line = input_text(in);
		input__remember(in, *line);
		input__persist(in, *line);
		in->hist_pos = in->n_history;
		in->len = in->cur = 0;
		in->buf[0] = L'\0';
		return true;
	case 0x7f:
	case 0x08:
	backspace:
		if (in->cur == 0)
			return true;
		memmove(in->buf + in->cur - 1, in->buf + in->cur,
		        (size_t)(in->len - in->cur) * sizeof(wchar_t));
		in->cur--;
		in->len--;
		in->buf[in->len] = L'\0';
		return true;
	case 0x04: /* Ctrl-D */
		delete : if (in->cur == in->len) return true;
		memmove(in->buf + in->cur, in->buf + in->cur + 1,
		        (size_t)(in->len - in->cur - 1) * sizeof(wchar_t));
		in->len--;
		in->buf[in->len] = L'\0';
		return true;
	case 0x01: /* Ctrl-A */
		in->cur = 0;
		return true;
	case 0x05: /* Ctrl-E */
		in->cur = in->len;
		return true;
	case 0x15: /* Ctrl-U */
		in->len = in->cur = 0;
		in->buf[0] = L'\0';
		return true;
	default:
		break;
	}
	if (ch < 0x20 || ch == 0x7f || in->len >= INPUT_MAX_CHARS)
		return false;
	memmove(in->buf + in->cur + 1, in->buf + in->cur,
	        (size_t)(in->len - in->cur) * sizeof(wchar_t));
	in->buf[in->cur++] = (wchar_t)ch;
	in->len++;
	in->buf[in->len] = L'\0';
	return true;
}
