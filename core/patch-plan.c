/*
 * Planning and committing a patch. Plan first, then act: patch_plan_new()
 * resolves and checks every path, reads the files it needs, locates every
 * hunk and computes each resulting file in memory, with the old contents
 * kept; it changes nothing. patch_plan_commit() then writes in two phases:
 * first every new content goes to a temporary file beside its target (a
 * failure there removes them and nothing has changed), then the renames and
 * unlinks run, each recorded in an undo log; a failure there replays the log
 * backwards from the in-memory old contents. Every path is opened from the
 * working directory with O_NOFOLLOW on each component, so a link planted
 * after planning makes the write fail instead of leaving the tree.
 *
 * Hunks are located by patch_plan_seek() at four levels of leniency (exact,
 * trailing white space, both ends, Unicode punctuation folded); the result is
 * built from the file's own lines for context, so a lenient match never
 * rewrites lines the patch did not mean to change. The same walk records the
 * lines for the unified diff that patch_plan_diff() renders.
 */
#include "patch.h"

#include "patch-internal.h"
#include "read-all.h"
#include "xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int patch__fail_step;

/* The lines of a file: NUL-terminated copies, and how the file ended them. */
struct patch_plan_lines {
	char **v;
	size_t n;
	bool crlf;          /* every line ended with "\r\n" */
	bool final_newline; /* the last line had its end of line (true when empty) */
};

/* One line of the diff: kind ' ', '-' or '+', and its text (owned). */
struct patch_plan_entry {
	char kind;
	char *text;
};

/* One file operation, planned. */
struct patch_plan_op {
	enum patch_kind kind;
	char *path;      /* as written in the patch, for messages and the diff */
	char *move_path; /* as written, or NULL */
	char *rel;       /* resolved, relative to the plan's cwd */
	char *move_rel;  /* resolved, or NULL */
	bool existed;    /* REL existed (always for update and delete) */
	struct stat st;  /* of REL when it existed */
	char *old;
	size_t old_len;
	char *new; /* NULL for a delete */
	size_t new_len;
	struct patch_plan_entry *entries;
	size_t n_entries;
	bool old_noeol, new_noeol;
	/* A move onto an existing file (which it replaces): that file, for the rollback. */
	bool target_existed;
	char *target_old;
	size_t target_old_len;
	struct stat target_st;
};

struct patch_plan {
	char *realcwd;
	struct patch_plan_op *ops;
	size_t n_ops;
};

/* Where a hunk goes: old lines [pos, pos + n_old) become the hunk's lines. */
struct patch_plan_repl {
	size_t pos, n_old;
	const struct patch_hunk *h;
	size_t n_lines; /* hunk lines used (a trailing empty line may be dropped) */
};

/* Splits BUF into lines, noting CRLF and the final newline. */
static void patch_plan_split(const char *buf, size_t len, struct patch_plan_lines *out)
{
	size_t start = 0, n_nl = 0, n_crlf = 0;

	memset(out, 0, sizeof *out);
	for (size_t k = 0; k < len; k++) {
		if (buf[k] != '\n')
			continue;
		n_nl++;
		if (k > 0 && buf[k - 1] == '\r')
			n_crlf++;
	}
	out->crlf = n_nl > 0 && n_crlf == n_nl;
	out->final_newline = len == 0 || buf[len - 1] == '\n';
	for (size_t k = 0; k <= len; k++) {
		if (k == len && start == len)
			break;
		if (k == len || buf[k] == '\n') {
			size_t n = k - start;

			if (out->crlf && k < len)
				n--;
			out->v = xreallocarray(out->v, out->n + 1, sizeof *out->v);
			out->v[out->n++] = xstrndup(buf + start, n);
			start = k + 1;
		}
	}
}

/* Frees the lines of L. */
static void patch_plan_lines_free(struct patch_plan_lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

/* Whether C is white space for the lenient levels. */
static bool patch_plan_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/*
 * If S (AVAIL bytes) starts with a Unicode dash, quote or space that has an
 * ASCII look-alike, stores it in *OUT and returns the bytes used; else 0.
 */
static size_t patch_plan_fold(const unsigned char *s, size_t avail, char *out)
{
	if (avail >= 2 && s[0] == 0xc2 && s[1] == 0xa0) {
		*out = ' '; /* U+00A0 no-break space */
		return 2;
	}
	if (avail < 3)
		return 0;
	if (s[0] == 0xe2 && s[1] == 0x80) {
		if (s[2] >= 0x82 && s[2] <= 0x8a)
			*out = ' '; /* U+2002..U+200A spaces */
		else if (s[2] >= 0x90 && s[2] <= 0x95)
			*out = '-'; /* U+2010..U+2015 hyphens and dashes */
		else if (s[2] >= 0x98 && s[2] <= 0x9b)
			*out = '\''; /* U+2018..U+201B single quotes */
		else if (s[2] >= 0x9c && s[2] <= 0x9f)
			*out = '"'; /* U+201C..U+201F double quotes */
		else if (s[2] == 0xaf)
			*out = ' '; /* U+202F narrow no-break space */
		else
			return 0;
		return 3;
	}
	if (s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f) {
		*out = ' '; /* U+205F medium mathematical space */
		return 3;
	}
	if (s[0] == 0xe2 && s[1] == 0x88 && s[2] == 0x92) {
		*out = '-'; /* U+2212 minus sign */
		return 3;
	}
	if (s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80) {
		*out = ' '; /* U+3000 ideographic space */
		return 3;
	}
	return 0;
}

/* S as compared at LEVEL (0 exact, 1 right-trimmed, 2 trimmed, 3 folded). */
static char *patch_plan_norm(const char *s, int level)
{
	char *t = xstrdup(s), *a, *b;

	if (level >= 3) {
		size_t len = strlen(s), o = 0;

		for (size_t k = 0; k < len;) {
			char c;
			size_t used = patch_plan_fold((const unsigned char *)s + k, len - k, &c);

			if (used > 0) {
				t[o++] = c;
				k += used;
			} else {
				t[o++] = s[k++];
			}
		}
		t[o] = '\0';
	}
	if (level >= 1) {
		b = t + strlen(t);
		while (b > t && patch_plan_space(b[-1]))
			b--;
		*b = '\0';
	}
	if (level >= 2) {
		a = t;
		while (*a != '\0' && patch_plan_space(*a))
			a++;
		memmove(t, a, strlen(a) + 1);
	}
	return t;
}

/* The lines of one file at each level, normalised on first use. */
struct patch_plan_matcher {
	const struct patch_plan_lines *lines;
	char **norm[4];
};

/* Frees the normalised copies kept by M. */
static void patch_plan_matcher_free(struct patch_plan_matcher *m)
{
	for (int level = 0; level < 4; level++) {
		if (m->norm[level] == NULL)
			continue;
		for (size_t i = 0; i < m->lines->n; i++)
			free(m->norm[level][i]);
		free(m->norm[level]);
	}
}

/*
 * Finds PAT (N_PAT lines) in the file at or after line START, at the first
 * level where it matches; with EOF, only as the file's last lines. Returns
 * the index of the first line, or -1.
 */
static long patch_plan_seek(struct patch_plan_matcher *m, char *const *pat, size_t n_pat,
                            size_t start, bool eof)
{
	size_t n = m->lines->n;

	if (n_pat > n)
		return -1;
	for (int level = 0; level < 4; level++) {
		char **hay, **p = xcalloc(n_pat + 1, sizeof *p);
		long found = -1;
		size_t first = start, last = n - n_pat;

		if (m->norm[level] == NULL) {
			m->norm[level] = xcalloc(n + 1, sizeof *m->norm[level]);
			for (size_t i = 0; i < n; i++)
				m->norm[level][i] = patch_plan_norm(m->lines->v[i], level);
		}
		hay = m->norm[level];
		for (size_t j = 0; j < n_pat; j++)
			p[j] = patch_plan_norm(pat[j], level);
		if (eof)
			first = last;
		for (size_t i = first; i <= last && found < 0 && first >= start; i++) {
			size_t j = 0;

			while (j < n_pat && strcmp(hay[i + j], p[j]) == 0)
				j++;
			if (j == n_pat)
				found = (long)i;
		}
		for (size_t j = 0; j < n_pat; j++)
			free(p[j]);
		free(p);
		if (found >= 0)
			return found;
	}
	return -1;
}

/* The old lines (context and removed) of the first N lines of hunk H. */
static char **patch_plan_old_lines(const struct patch_hunk *h, size_t n, size_t *n_old)
{
	char **v = xcalloc(n + 1, sizeof *v);

	*n_old = 0;
	for (size_t j = 0; j < n; j++)
		if (h->lines[j].kind != '+')
			v[(*n_old)++] = h->lines[j].text;
	return v;
}

/* Builds the "could not find the lines" message for hunk K of OP. */
static char *patch_plan_not_found(const char *path, size_t k, const struct patch_hunk *h)
{
	size_t n_old, len = 0;
	char **old = patch_plan_old_lines(h, h->n_lines, &n_old);
	char *msg = xasprintf("%s: hunk %zu: could not find the lines to replace%s:", path, k + 1,
	                      h->end_of_file ? " at the end of the file" : "");

	len = strlen(msg);
	for (size_t j = 0; j < n_old; j++) {
		size_t add = strlen(old[j]) + 6;

		msg = xrealloc(msg, len + add);
		len += (size_t)snprintf(msg + len, add, "\n    %s", old[j]);
	}
	free(old);
	return msg;
}

/* Appends one diff entry to OP. */
static void patch_plan_entry(struct patch_plan_op *op, char kind, const char *text)
{
	op->entries = xreallocarray(op->entries, op->n_entries + 1, sizeof *op->entries);
	op->entries[op->n_entries].kind = kind;
	op->entries[op->n_entries].text = xstrdup(text);
	op->n_entries++;
}

/* Joins LINES with EOL, plus a final EOL when FINAL; sets *LEN. */
static char *patch_plan_join(char *const *lines, size_t n, const char *eol, bool final, size_t *len)
{
	size_t total = 1, el = strlen(eol), o = 0;
	char *buf;

	for (size_t i = 0; i < n; i++)
		total += strlen(lines[i]) + el;
	buf = xmalloc(total);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(lines[i]);

		memcpy(buf + o, lines[i], l);
		o += l;
		if (i + 1 < n || final) {
			memcpy(buf + o, eol, el);
			o += el;
		}
	}
	buf[o] = '\0';
	*len = o;
	return buf;
}

/* Locates every hunk of F in OP's old content and computes the new content. */
static int patch_plan_hunks(struct patch_plan_op *op, const struct patch_file *f, char **cause)
{
	struct patch_plan_lines old;
	struct patch_plan_matcher m = {0};
	struct patch_plan_repl *r = xcalloc(f->n_hunks + 1, sizeof *r);
	char **out = NULL;
	size_t n_out = 0, cursor = 0, o = 0;
	int rc = 0;

	patch_plan_split(op->old, op->old_len, &old);
	m.lines = &old;
	for (size_t k = 0; k < f->n_hunks && rc == 0; k++) {
		const struct patch_hunk *h = &f->hunks[k];
		size_t n_lines = h->n_lines, n_old;
		char **pat;
		long pos;

		if (h->context != NULL) {
			char *one[1] = {h->context};

			pos = patch_plan_seek(&m, one, 1, cursor, false);
			if (pos < 0) {
				*cause = xasprintf("%s: hunk %zu: could not find the context line "
				                   "\"%s\"",
				                   op->path, k + 1, h->context);
				rc = -ENOENT;
				break;
			}
			cursor = (size_t)pos + 1;
		}
		pat = patch_plan_old_lines(h, n_lines, &n_old);
		if (n_old == 0) {
			pos = h->context != NULL && !h->end_of_file ? (long)cursor : (long)old.n;
		} else {
			pos = patch_plan_seek(&m, pat, n_old, cursor, h->end_of_file);
			/* An empty last line often stands for the file's final newline. */
			if (pos < 0 && n_lines > 1 && h->lines[n_lines - 1].kind != '+' &&
			    h->lines[n_lines - 1].text[0] == '\0') {
				n_lines--;
				n_old--;
				if (n_old > 0)
					pos =
					    patch_plan_seek(&m, pat, n_old, cursor, h->end_of_file);
			}
		}
		free(pat);
		if (pos < 0) {
			*cause = patch_plan_not_found(op->path, k, h);
			rc = -ENOENT;
			break;
		}
		r[k] = (struct patch_plan_repl){
		    .pos = (size_t)pos, .n_old = n_old, .h = h, .n_lines = n_lines};
		/*
		 * A hunk that only adds, with no context, goes at the end of the
		 * file and leaves the search where it was (as Codex does): the next
		 * hunk may change lines before it.
		 */
		if (n_old > 0 || h->context != NULL)
			cursor = (size_t)pos + n_old;
	}
	patch_plan_matcher_free(&m);
	if (rc < 0) {
		free(r);
		patch_plan_lines_free(&old);
		return rc;
	}
	/* In file order for the walk below (stable: hunks at one place keep theirs). */
	for (size_t k = 1; k < f->n_hunks; k++) {
		struct patch_plan_repl x = r[k];
		size_t j = k;

		for (; j > 0 && r[j - 1].pos > x.pos; j--)
			r[j] = r[j - 1];
		r[j] = x;
	}
	/* Build the new lines and the diff in one walk; at most every old line
	 * plus every added one. */
	size_t most = old.n;
	for (size_t k = 0; k < f->n_hunks; k++)
		for (size_t j = 0; j < r[k].n_lines; j++)
			most += r[k].h->lines[j].kind == '+';
	out = xcalloc(most + 1, sizeof *out);
	for (size_t k = 0; k <= f->n_hunks; k++) {
		size_t until = k < f->n_hunks ? r[k].pos : old.n;

		for (; o < until; o++) {
			patch_plan_entry(op, ' ', old.v[o]);
			out[n_out++] = old.v[o];
		}
		if (k == f->n_hunks)
			break;
		for (size_t j = 0; j < r[k].n_lines; j++) {
			const struct patch_line *l = &r[k].h->lines[j];

			if (l->kind == ' ') {
				patch_plan_entry(op, ' ', old.v[o]);
				out[n_out++] = old.v[o++];
			} else if (l->kind == '-') {
				patch_plan_entry(op, '-', old.v[o++]);
			} else {
				patch_plan_entry(op, '+', l->text);
				out[n_out++] = l->text;
			}
		}
	}
	op->old_noeol = !old.final_newline;
	op->new_noeol = !old.final_newline && n_out > 0;
	op->new =
	    patch_plan_join(out, n_out, old.crlf ? "\r\n" : "\n", !op->new_noeol, &op->new_len);
	free(out);
	free(r);
	patch_plan_lines_free(&old);
	return 0;
}

/* Counts one disk operation of a commit; fails it when the tests ask to. */
static int patch_plan_step(void)
{
	static int count;

	if (patch__fail_step <= 0) {
		count = 0;
		return 0;
	}
	if (++count == patch__fail_step) {
		patch__fail_step = 0;
		count = 0;
		return -EIO;
	}
	return 0;
}

/*
 * Opens the directory that holds REL under ROOTFD, with O_NOFOLLOW on every
 * component. With DIRS non-NULL, missing directories are made and their
 * paths appended to *DIRS. Sets *BASE to REL's last component (inside REL).
 * Returns an O_PATH directory fd, or -errno.
 */
static int patch_plan_open_parent(int rootfd, const char *rel, char ***dirs, size_t *n_dirs,
                                  const char **base)
{
	int fd = dup(rootfd);
	const char *s = rel;

	if (fd < 0)
		return -errno;
	for (;;) {
		const char *e = strchr(s, '/');
		char comp[NAME_MAX + 1];
		int next;

		if (e == NULL)
			break;
		if ((size_t)(e - s) > NAME_MAX) {
			close(fd);
			return -ENAMETOOLONG;
		}
		memcpy(comp, s, (size_t)(e - s));
		comp[e - s] = '\0';
		next = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && dirs != NULL) {
			int rc = patch_plan_step();

			if (rc == 0 && mkdirat(fd, comp, 0777) != 0)
				rc = -errno;
			if (rc < 0) {
				close(fd);
				return rc;
			}
			*dirs = xreallocarray(*dirs, *n_dirs + 1, sizeof **dirs);
			(*dirs)[(*n_dirs)++] = xstrndup(rel, (size_t)(e - rel));
			next = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (next < 0) {
			int rc = errno == ELOOP ? -ENOTDIR : -errno;

			close(fd);
			return rc;
		}
		close(fd);
		fd = next;
		s = e + 1;
	}
	*base = s;
	return fd;
}

/*
 * Reads REL under ROOTFD into OP->old (when it exists: OP->existed and
 * OP->st are set). Returns 0 (also when missing and MAY_BE_MISSING), or a
 * negative errno with *CAUSE naming SHOWN.
 */
static int patch_plan_read(int rootfd, const char *rel, const char *shown, bool may_be_missing,
                           struct patch_plan_op *op, char **cause)
{
	const char *base;
	int dirfd = patch_plan_open_parent(rootfd, rel, NULL, NULL, &base), fd;
	size_t len = 0;
	char *buf;

	if (dirfd == -ENOENT && may_be_missing)
		return 0;
	if (dirfd < 0) {
		*cause = xasprintf("%s: cannot read: %s", shown, strerror(-dirfd));
		return dirfd;
	}
	fd = openat(dirfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT && may_be_missing) {
		close(dirfd);
		return 0;
	}
	if (fd < 0) {
		int rc = -errno;

		if (errno == ELOOP)
			*cause = xasprintf("%s: not a regular file", shown);
		else
			*cause = xasprintf("%s: cannot read: %s", shown, strerror(errno));
		close(dirfd);
		return rc;
	}
	close(dirfd);
	if (fstat(fd, &op->st) != 0 || !S_ISREG(op->st.st_mode)) {
		*cause = xasprintf("%s: not a regular file", shown);
		close(fd);
		return -EINVAL;
	}
	if ((unsigned long long)op->st.st_size > PATCH_MAX_FILE) {
		*cause = xasprintf("%s: over %u bytes, not patched", shown, PATCH_MAX_FILE);
		close(fd);
		return -EFBIG;
	}
	int rc = read_all(fd, PATCH_MAX_FILE, &buf, &len);
	if (rc < 0) {
		if (rc == -EFBIG)
			*cause = xasprintf("%s: over %u bytes, not patched", shown, PATCH_MAX_FILE);
		else
			*cause = xasprintf("%s: cannot read: %s", shown, strerror(-rc));
		close(fd);
		return rc;
	}
	close(fd);
	op->old = buf;
	op->old_len = len;
	op->existed = true;
	return 0;
}

/* Checks that the directories above REL are directories or missing. */
static int patch_plan_check_parent(int rootfd, const char *rel, const char *shown, char **cause)
{
	const char *base;
	int fd = patch_plan_open_parent(rootfd, rel, NULL, NULL, &base);

	if (fd == -ENOENT)
		return 0;
	if (fd < 0) {
		*cause = xasprintf("%s: cannot write: %s", shown, strerror(-fd));
		return fd;
	}
	close(fd);
	return 0;
}

/* Adds the diff entries of a whole new file (every line added). */
static void patch_plan_whole(struct patch_plan_op *op, const char *buf, size_t len, char kind,
                             bool *noeol)
{
	struct patch_plan_lines l;

	patch_plan_split(buf, len, &l);
	for (size_t i = 0; i < l.n; i++)
		patch_plan_entry(op, kind, l.v[i]);
	*noeol = !l.final_newline;
	patch_plan_lines_free(&l);
}

/*
 * Whether PATH (as written, already checked) names a symbolic link itself:
 * deleting or moving it would act on its target, not on the link.
 */
static bool patch_plan_is_link(const char *realcwd, const char *path)
{
	int escapes;
	char *norm = patch__normalize(path, &escapes);
	char *full = xasprintf("%s%s", strcmp(realcwd, "/") == 0 ? "" : realcwd, norm);
	struct stat st;
	bool link = lstat(full, &st) == 0 && S_ISLNK(st.st_mode);

	free(norm);
	free(full);
	return link;
}

/* Plans one file operation F into OP. */
static int patch_plan_file(struct patch_plan *plan, int rootfd, const struct patch_options *opts,
                           const struct patch_file *f, struct patch_plan_op *op, char **cause)
{
	int rc;

	op->kind = f->kind;
	op->path = xstrdup(f->path);
	rc = patch__resolve(plan->realcwd, f->path, opts, &op->rel, cause);
	if (rc < 0)
		return rc;
	if (f->move_to != NULL) {
		op->move_path = xstrdup(f->move_to);
		rc = patch__resolve(plan->realcwd, f->move_to, opts, &op->move_rel, cause);
		if (rc < 0)
			return rc;
		if (strcmp(op->move_rel, op->rel) == 0) {
			free(op->move_rel);
			op->move_rel = NULL;
		}
	}
	for (size_t i = 0; i < plan->n_ops; i++) {
		const struct patch_plan_op *o = &plan->ops[i];
		const char *mine[2] = {op->rel, op->move_rel};
		const char *shown[2] = {op->path, op->move_path};

		for (int k = 0; k < 2; k++) {
			if (mine[k] == NULL)
				continue;
			if (strcmp(mine[k], o->rel) == 0 ||
			    (o->move_rel != NULL && strcmp(mine[k], o->move_rel) == 0)) {
				*cause =
				    xasprintf("%s: touched more than once in this patch", shown[k]);
				return -EINVAL;
			}
		}
	}
	switch (f->kind) {
	case PATCH_ADD:
		rc = patch_plan_check_parent(rootfd, op->rel, op->path, cause);
		if (rc == 0)
			rc = patch_plan_read(rootfd, op->rel, op->path, true, op, cause);
		if (rc < 0)
			return rc;
		op->new = xmalloc(f->content_len + 1);
		memcpy(op->new, f->content, f->content_len + 1);
		op->new_len = f->content_len;
		if (op->existed)
			patch_plan_whole(op, op->old, op->old_len, '-', &op->old_noeol);
		patch_plan_whole(op, op->new, op->new_len, '+', &op->new_noeol);
		return 0;
	case PATCH_DELETE:
		if (patch_plan_is_link(plan->realcwd, f->path)) {
			*cause = xasprintf("%s: a symbolic link: not deleted (a patch changes "
			                   "regular files only)",
			                   op->path);
			return -EINVAL;
		}
		rc = patch_plan_read(rootfd, op->rel, op->path, false, op, cause);
		if (rc < 0)
			return rc;
		patch_plan_whole(op, op->old, op->old_len, '-', &op->old_noeol);
		return 0;
	case PATCH_UPDATE:
		rc = patch_plan_read(rootfd, op->rel, op->path, false, op, cause);
		if (rc < 0)
			return rc;
		if (memchr(op->old, '\0', op->old_len) != NULL) {
			*cause = xasprintf("%s: binary file (contains a NUL byte), not patched",
			                   op->path);
			return -EINVAL;
		}
		if (op->move_rel != NULL && patch_plan_is_link(plan->realcwd, f->path)) {
			*cause =
			    xasprintf("%s: a symbolic link: not moved (a patch changes regular "
			              "files only)",
			              op->path);
			return -EINVAL;
		}
		if (op->move_rel != NULL) {
			rc = patch_plan_check_parent(rootfd, op->move_rel, op->move_path, cause);
			if (rc < 0)
				return rc;
			/*
			 * A move onto an existing regular file replaces it (as Codex
			 * does); its content is kept for the rollback.
			 */
			struct patch_plan_op tgt = {0};

			rc = patch_plan_read(rootfd, op->move_rel, op->move_path, true, &tgt, cause);
			if (rc < 0)
				return rc;
			op->target_existed = tgt.existed;
			op->target_old = tgt.old;
			op->target_old_len = tgt.old_len;
			op->target_st = tgt.st;
		}
		return patch_plan_hunks(op, f, cause);
	}
	return -EINVAL;
}

char **patch_plan_paths(const struct patch_plan *plan, size_t *n)
{
	char **v = xcalloc(2 * plan->n_ops + 1, sizeof *v);
	const char *sep = strcmp(plan->realcwd, "/") == 0 ? "" : "/";
	size_t count = 0;

	for (size_t i = 0; i < plan->n_ops; i++) {
		v[count++] = xasprintf("%s%s%s", plan->realcwd, sep, plan->ops[i].rel);
		if (plan->ops[i].move_rel != NULL)
			v[count++] = xasprintf("%s%s%s", plan->realcwd, sep, plan->ops[i].move_rel);
	}
	if (n != NULL)
		*n = count;
	return v;
}

int patch_plan_new(const struct patch *p, const char *cwd, const struct patch_options *opts,
                   struct patch_plan **out, char **cause)
{
	struct patch_plan *plan = xcalloc(1, sizeof *plan);
	int rootfd, rc = 0;

	*out = NULL;
	plan->realcwd = realpath(cwd, NULL);
	if (plan->realcwd == NULL) {
		rc = -errno;
		*cause = xasprintf("%s: cannot open: %s", cwd, strerror(errno));
		patch_plan_free(plan);
		return rc;
	}
	rootfd = open(plan->realcwd, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		rc = -errno;
		*cause = xasprintf("%s: cannot open: %s", cwd, strerror(errno));
		patch_plan_free(plan);
		return rc;
	}
	plan->ops = xcalloc(p->n_files + 1, sizeof *plan->ops);
	for (size_t i = 0; i < p->n_files && rc == 0; i++) {
		rc = patch_plan_file(plan, rootfd, opts, &p->files[i], &plan->ops[i], cause);
		plan->n_ops = i + 1;
	}
	close(rootfd);
	if (rc < 0) {
		patch_plan_free(plan);
		return rc;
	}
	*out = plan;
	return 0;
}

void patch_plan_free(struct patch_plan *plan)
{
	if (plan == NULL)
		return;
	for (size_t i = 0; i < plan->n_ops; i++) {
		struct patch_plan_op *op = &plan->ops[i];

		free(op->path);
		free(op->move_path);
		free(op->rel);
		free(op->move_rel);
		free(op->old);
		free(op->new);
		free(op->target_old);
		for (size_t k = 0; k < op->n_entries; k++)
			free(op->entries[k].text);
		free(op->entries);
	}
	free(plan->ops);
	free(plan->realcwd);
	free(plan);
}

/* A growing string for the diff. */
struct patch_plan_buf {
	char *s;
	size_t len, cap;
};

/* Appends printf-style text to B. */
static void __attribute__((format(printf, 2, 3)))
patch_plan_printf(struct patch_plan_buf *b, const char *fmt, ...)
{
	va_list ap;
	char *t;
	size_t n;

	va_start(ap, fmt);
	t = xvasprintf(fmt, ap);
	va_end(ap);
	n = strlen(t);
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, t, n + 1);
	b->len += n;
	free(t);
}

/* Context lines around a change, and the gap that still joins two changes. */
#define PATCH_DIFF_CONTEXT 3

/* Renders the hunks of OP's diff entries into B. */
static void patch_plan_render(struct patch_plan_buf *b, const struct patch_plan_op *op)
{
	size_t n = op->n_entries, old_total = 0, new_total = 0;
	size_t *oldno = xcalloc(n + 1, sizeof *oldno), *newno = xcalloc(n + 1, sizeof *newno);
	size_t i = 0, floor = 0;

	for (size_t k = 0; k < n; k++) {
		oldno[k] = old_total;
		newno[k] = new_total;
		if (op->entries[k].kind != '+')
			old_total++;
		if (op->entries[k].kind != '-')
			new_total++;
	}
	while (i < n) {
		size_t c = i, last, start, end, ol = 0, nl = 0;

		while (c < n && op->entries[c].kind == ' ')
			c++;
		if (c == n)
			break;
		last = c;
		for (size_t j = c + 1; j < n; j++) {
			if (op->entries[j].kind != ' ')
				last = j;
			else if (j - last > 2 * PATCH_DIFF_CONTEXT)
				break;
		}
		start = c >= floor + PATCH_DIFF_CONTEXT ? c - PATCH_DIFF_CONTEXT : floor;
		end = last + PATCH_DIFF_CONTEXT < n ? last + PATCH_DIFF_CONTEXT : n - 1;
		for (size_t k = start; k <= end; k++) {
			if (op->entries[k].kind != '+')
				ol++;
			if (op->entries[k].kind != '-')
				nl++;
		}
		patch_plan_printf(b, "@@ -%zu,%zu +%zu,%zu @@\n",
		                  ol ? oldno[start] + 1 : oldno[start], ol,
		                  nl ? newno[start] + 1 : newno[start], nl);
		for (size_t k = start; k <= end; k++) {
			const struct patch_plan_entry *e = &op->entries[k];
			bool last_old = e->kind != '+' && oldno[k] + 1 == old_total;
			bool last_new = e->kind != '-' && newno[k] + 1 == new_total;

			patch_plan_printf(b, "%c%s\n", e->kind, e->text);
			if ((e->kind == '-' && last_old && op->old_noeol) ||
			    (e->kind == '+' && last_new && op->new_noeol) ||
			    (e->kind == ' ' && last_old && last_new &&
			     (op->old_noeol || op->new_noeol)))
				patch_plan_printf(b, "\\ No newline at end of file\n");
		}
		floor = end + 1;
		i = end + 1;
	}
	free(oldno);
	free(newno);
}

char *patch_plan_diff(const struct patch_plan *plan)
{
	struct patch_plan_buf b = {.s = xstrdup(""), .cap = 1};

	for (size_t i = 0; i < plan->n_ops; i++) {
		const struct patch_plan_op *op = &plan->ops[i];

		if (op->kind == PATCH_ADD && !op->existed)
			patch_plan_printf(&b, "--- /dev/null\n+++ b/%s\n", op->path);
		else if (op->kind == PATCH_DELETE)
			patch_plan_printf(&b, "--- a/%s\n+++ /dev/null\n", op->path);
		else
			patch_plan_printf(&b, "--- a/%s\n+++ b/%s\n", op->path,
			                  op->move_rel != NULL ? op->move_path : op->path);
		patch_plan_render(&b, op);
	}
	return b.s;
}

/* One step of a commit that can be undone: what it did, to which op. */
enum patch_plan_undo_kind {
	PATCH_UNDO_RESTORE,     /* REL was replaced or removed: write the old content back */
	PATCH_UNDO_UNLINK,      /* the target was created: remove it */
	PATCH_UNDO_RESTORE_SRC, /* a move's source was removed: write it back */
	PATCH_UNDO_RESTORE_TARGET, /* a move replaced an existing file: write that back */
};

struct patch_plan_undo {
	enum patch_plan_undo_kind kind;
	size_t op;
};

/* Where each op writes, during a commit. */
struct patch_plan_slot {
	int dirfd;     /* directory of the target (REL, or MOVE_REL for a move) */
	char *base;    /* the target's name in it */
	char *tmp;     /* the temporary file in it, or NULL */
	int src_dirfd; /* for moves and deletes: directory of REL */
	char *src_base;
};

/* Makes a temporary file in DIRFD holding BUF, like ST when not NULL. */
static int patch_plan_write_tmp(int dirfd, const char *base, const char *buf, size_t len,
                                const struct stat *st, char **tmp)
{
	static unsigned counter;
	int fd = -1, rc;

	*tmp = NULL;
	rc = patch_plan_step();
	if (rc < 0)
		return rc;
	for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
		free(*tmp);
		*tmp = xasprintf(".%.200s.airlock-%ld-%u", base, (long)getpid(), counter++);
		fd =
		    openat(dirfd, *tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		rc = -errno;
		free(*tmp);
		*tmp = NULL;
		return rc;
	}
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, buf + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = -errno;
			goto fail;
		}
		off += (size_t)w;
	}
	if (st != NULL) {
		/* Keep the owner when we can (as root), and the mode always. */
		if (fchown(fd, st->st_uid, st->st_gid) != 0 && geteuid() == 0) {
			rc = -errno;
			goto fail;
		}
		if (fchmod(fd, st->st_mode & 07777) != 0) {
			rc = -errno;
			goto fail;
		}
	}
	if (fsync(fd) != 0) {
		rc = -errno;
		goto fail;
	}
	close(fd);
	return 0;
fail:
	close(fd);
	unlinkat(dirfd, *tmp, 0);
	free(*tmp);
	*tmp = NULL;
	return rc;
}

/* Renames TMP to BASE in DIRFD; with NOREPLACE, fails if BASE exists. */
static int patch_plan_rename(int dirfd, const char *tmp, const char *base, bool noreplace)
{
	int rc = patch_plan_step();

	if (rc < 0)
		return rc;
	if (noreplace) {
		if (renameat2(dirfd, tmp, dirfd, base, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EINVAL && errno != ENOSYS)
			return -errno;
		/* No RENAME_NOREPLACE on this file system: link, then unlink. */
		if (linkat(dirfd, tmp, dirfd, base, 0) != 0)
			return -errno;
		unlinkat(dirfd, tmp, 0);
		return 0;
	}
	return renameat(dirfd, tmp, dirfd, base) == 0 ? 0 : -errno;
}

/* Writes LEN bytes of OLD (mode from ST) back to DIRFD/BASE (a rollback step). */
static int patch_plan_restore_bytes(int dirfd, const char *base, const char *old, size_t len,
                                    const struct stat *st)
{
	char *tmp;
	int rc = patch_plan_write_tmp(dirfd, base, old, len, st, &tmp);

	if (rc < 0)
		return rc;
	if (renameat(dirfd, tmp, dirfd, base) != 0) {
		rc = -errno;
		unlinkat(dirfd, tmp, 0);
	}
	free(tmp);
	return rc;
}

/* Writes OP's old content back to DIRFD/BASE (a rollback step). */
static int patch_plan_restore(int dirfd, const char *base, const struct patch_plan_op *op)
{
	return patch_plan_restore_bytes(dirfd, base, op->old, op->old_len, &op->st);
}

/* Undoes the logged steps, newest first; returns 0 or the first failure. */
static int patch_plan_rollback(struct patch_plan *plan, struct patch_plan_slot *slots,
                               const struct patch_plan_undo *log, size_t n_log)
{
	int result = 0;

	while (n_log-- > 0) {
		const struct patch_plan_op *op = &plan->ops[log[n_log].op];
		const struct patch_plan_slot *s = &slots[log[n_log].op];
		int rc = 0;

		switch (log[n_log].kind) {
		case PATCH_UNDO_RESTORE:
			rc = patch_plan_restore(s->dirfd, s->base, op);
			break;
		case PATCH_UNDO_UNLINK:
			rc = unlinkat(s->dirfd, s->base, 0) == 0 ? 0 : -errno;
			break;
		case PATCH_UNDO_RESTORE_SRC:
			rc = patch_plan_restore(s->src_dirfd, s->src_base, op);
			break;
		case PATCH_UNDO_RESTORE_TARGET:
			rc = patch_plan_restore_bytes(s->dirfd, s->base, op->target_old,
			                              op->target_old_len, &op->target_st);
			break;
		}
		if (rc < 0 && result == 0)
			result = rc;
	}
	return result;
}

/* Prepares OP's slot: opens its directories and writes its temporary file. */
static int patch_plan_prepare(int rootfd, const struct patch_plan_op *op, struct patch_plan_slot *s,
                              char ***dirs, size_t *n_dirs, const char **failed)
{
	const char *target = op->move_rel != NULL ? op->move_rel : op->rel;
	const char *base;
	int rc;

	*failed = op->move_rel != NULL ? op->move_path : op->path;
	if (op->kind == PATCH_DELETE || op->move_rel != NULL) {
		*failed = op->path;
		rc = patch_plan_open_parent(rootfd, op->rel, NULL, NULL, &base);
		if (rc < 0)
			return rc;
		s->src_dirfd = rc;
		s->src_base = xstrdup(base);
		if (op->kind == PATCH_DELETE)
			return 0;
		*failed = op->move_path;
	}
	rc = patch_plan_open_parent(rootfd, target, dirs, n_dirs, &base);
	if (rc < 0)
		return rc;
	s->dirfd = rc;
	s->base = xstrdup(base);
	return patch_plan_write_tmp(s->dirfd, s->base, op->new, op->new_len,
	                            op->existed ? &op->st : NULL, &s->tmp);
}

int patch_plan_commit(struct patch_plan *plan, char **cause)
{
	struct patch_plan_slot *slots = xcalloc(plan->n_ops + 1, sizeof *slots);
	struct patch_plan_undo *log = xcalloc(2 * plan->n_ops + 1, sizeof *log);
	char **dirs = NULL;
	size_t n_dirs = 0, n_log = 0, i;
	const char *failed = NULL, *what = "cannot write";
	int rootfd, rc = 0, undo = 0;
	bool phase2 = false;

	for (i = 0; i < plan->n_ops; i++)
		slots[i].dirfd = slots[i].src_dirfd = -1;
	rootfd = open(plan->realcwd, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		rc = -errno;
		*cause = xasprintf("%s: cannot open: %s\n(no file was changed)", plan->realcwd,
		                   strerror(errno));
		goto out;
	}
	/* Phase 1: every new content in a temporary file beside its target. */
	for (i = 0; i < plan->n_ops && rc == 0; i++)
		rc = patch_plan_prepare(rootfd, &plan->ops[i], &slots[i], &dirs, &n_dirs, &failed);
	/* Phase 2: renames and unlinks, each logged for the rollback. */
	phase2 = rc == 0;
	for (i = 0; i < plan->n_ops && rc == 0; i++) {
		const struct patch_plan_op *op = &plan->ops[i];
		struct patch_plan_slot *s = &slots[i];

		failed = op->move_rel != NULL ? op->move_path : op->path;
		what = "cannot rename";
		if (op->kind != PATCH_DELETE) {
			bool creates = op->move_rel != NULL ? !op->target_existed : !op->existed;

			rc = patch_plan_rename(s->dirfd, s->tmp, s->base, creates);
			if (rc < 0)
				break;
			free(s->tmp);
			s->tmp = NULL;
			log[n_log++] = (struct patch_plan_undo){
			    .kind = creates                 ? PATCH_UNDO_UNLINK
			            : op->move_rel != NULL ? PATCH_UNDO_RESTORE_TARGET
			                                   : PATCH_UNDO_RESTORE,
			    .op = i};
		}
		if (op->kind == PATCH_DELETE || op->move_rel != NULL) {
			failed = op->path;
			what = "cannot remove";
			rc = patch_plan_step();
			if (rc == 0 && unlinkat(s->src_dirfd, s->src_base, 0) != 0)
				rc = -errno;
			if (rc < 0)
				break;
			log[n_log++] =
			    (struct patch_plan_undo){.kind = PATCH_UNDO_RESTORE_SRC, .op = i};
		}
	}
	if (rc < 0) {
		if (phase2)
			undo = patch_plan_rollback(plan, slots, log, n_log);
		*cause = xasprintf("%s: %s: %s\n%s", failed, what, strerror(-rc),
		                   !phase2 || n_log == 0 ? "(no file was changed)"
		                   : undo == 0           ? "(rolled back)"
		                                         : "(rollback failed: files may be partly "
		                                           "changed)");
	}
out:
	for (i = 0; i < plan->n_ops; i++) {
		if (slots[i].tmp != NULL)
			unlinkat(slots[i].dirfd, slots[i].tmp, 0);
		if (slots[i].dirfd >= 0)
			close(slots[i].dirfd);
		if (slots[i].src_dirfd >= 0)
			close(slots[i].src_dirfd);
		free(slots[i].tmp);
		free(slots[i].base);
		free(slots[i].src_base);
	}
	/* Directories made for a commit that failed go again (if still empty). */
	while (n_dirs-- > 0) {
		if (rc < 0 && rootfd >= 0)
			unlinkat(rootfd, dirs[n_dirs], AT_REMOVEDIR);
		free(dirs[n_dirs]);
	}
	free(dirs);
	free(slots);
	free(log);
	if (rootfd >= 0)
		close(rootfd);
	return rc;
}
