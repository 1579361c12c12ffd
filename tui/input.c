/*
 * The input line: a small line editor over wide characters (so the cursor
 * moves by characters, not bytes) with a history that up/down walk. Each
 * line entered is appended to the history file (one line per entry, in the
 * state directory, SPEC 9) at once, so a crash loses nothing; the file is
 * read back at start, keeping the last INPUT_HISTORY_MAX entries. No curses
 * output here: the drawing code reads the buffer and the cursor.
 *
 * Older airlocks kept the history in the config directory: the first run
 * that finds it there moves it (input_history_migrate). The moved lines come
 * before those already in the new file, the result replaces that file in
 * one rename, and the old file goes only once the new one is on disk, so a
 * crash at any point loses no line (at worst the next run moves them again).
 * Writers hold an exclusive lock on the history file and check that the
 * file they locked is still the one at the path, so a line appended by
 * another airlock while the move runs lands in the file that stays. Neither
 * path is followed when it is a symbolic link, nor read when it is not a
 * regular file of this user's.
 */
#include "tui/tui.h"

#include "core/read-all.h"
#include "core/xmalloc.h"

#include <curses.h>
#include <fcntl.h>
#include <stdio.h>
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The largest history file read when it moves (far more than INPUT_HISTORY_MAX lines). */
#define INPUT_HISTORY_FILE_MAX (64u << 20)

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

/*
 * Opens the history file PATH with FLAGS (O_CREAT included: mode 0600) and
 * locks it exclusively, retrying when the file locked is no longer the one
 * at PATH (a migration replaced it meanwhile). Never follows a symbolic
 * link. Returns the descriptor or -errno.
 */
static int input__open_locked(const char *path, int flags)
{
	for (int tries = 0; tries < 8; tries++) {
		struct stat fst, pst;
		int fd = open(path, flags | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
		if (fstat(fd, &fst) != 0 || !S_ISREG(fst.st_mode) || fst.st_uid != geteuid()) {
			close(fd);
			return -EPERM;
		}
		if (flock(fd, LOCK_EX) != 0) {
			int err = errno;
			close(fd);
			return -err;
		}
		if (lstat(path, &pst) == 0 && pst.st_dev == fst.st_dev && pst.st_ino == fst.st_ino)
			return fd;
		close(fd);
	}
	return -EAGAIN;
}

/* Appends LINE to the history file. */
static void input__persist(struct input *in, const char *line)
{
	FILE *f;

	if (in->history_path == NULL)
		return;
	/* Private to the user (0600), an older file included: it holds what was typed. */
	int fd = input__open_locked(in->history_path, O_WRONLY | O_APPEND | O_CREAT);
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

/*
 * With the new file NFD locked and OFD the old one: writes the old lines,
 * then the new file's, to a private file beside NEW_PATH and renames it
 * over NEW_PATH. Returns 0 or -errno (NEW_PATH then stays as it was).
 */
static int input__merge(int ofd, int nfd, const char *new_path)
{
	char *old_text = NULL, *new_text = NULL, *copy = xstrdup(new_path);
	char *tmp = xasprintf("%s/.history-XXXXXX", dirname(copy));
	size_t old_len = 0, new_len = 0;
	FILE *f = NULL;
	int rc, tfd = -1;

	free(copy);
	rc = read_all(ofd, INPUT_HISTORY_FILE_MAX, &old_text, &old_len);
	if (rc == 0)
		rc = read_all(nfd, INPUT_HISTORY_FILE_MAX, &new_text, &new_len);
	if (rc == 0 && ((tfd = mkostemp(tmp, O_CLOEXEC)) < 0 || (f = fdopen(tfd, "w")) == NULL))
		rc = -errno;
	if (rc == 0) {
		fwrite(old_text, 1, old_len, f);
		/* A torn last line of the old file is not glued to the first new one. */
		if (old_len > 0 && old_text[old_len - 1] != '\n')
			fputc('\n', f);
		fwrite(new_text, 1, new_len, f);
		if (fflush(f) != 0 || ferror(f))
			rc = -EIO;
		else if (fchmod(tfd, 0600) != 0 || fsync(tfd) != 0)
			rc = -errno;
	}
	if (f != NULL) {
		if (fclose(f) != 0 && rc == 0)
			rc = -errno;
	} else if (tfd >= 0) {
		close(tfd);
	}
	if (rc == 0 && rename(tmp, new_path) != 0)
		rc = -errno;
	if (rc != 0 && tfd >= 0)
		unlink(tmp);
	free(tmp);
	free(old_text);
	free(new_text);
	return rc;
}

/* Flushes the directory that holds PATH (a rename or an unlink in it) to disk. */
static void input__sync_dir(const char *path)
{
	char *copy = xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

int input_history_migrate(const char *old_path, const char *new_path)
{
	struct stat ost, nst, now;
	int ofd, nfd, rc;

	ofd = open(old_path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (ofd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(ofd, &ost) != 0 || !S_ISREG(ost.st_mode) || ost.st_uid != geteuid()) {
		close(ofd);
		return -EPERM;
	}
	nfd = input__open_locked(new_path, O_RDWR | O_CREAT);
	if (nfd < 0) {
		close(ofd);
		return nfd;
	}
	rc = fstat(nfd, &nst) != 0 ? -errno : 0;
	/* The same file under both names (a config dir that is the state dir): nothing to move. */
	if (rc == 0 && nst.st_dev == ost.st_dev && nst.st_ino == ost.st_ino)
		goto out;
	/* Another airlock moved it while this one waited for the lock. */
	if (rc == 0 && (lstat(old_path, &now) != 0 || now.st_dev != ost.st_dev ||
	                now.st_ino != ost.st_ino))
		goto out;
	if (rc == 0)
		rc = input__merge(ofd, nfd, new_path);
	if (rc == 0) {
		input__sync_dir(new_path);
		if (unlink(old_path) != 0)
			rc = -errno;
	}
out:
	close(nfd); /* unlocks: writers waiting find the new file and take it */
	close(ofd);
	return rc;
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
