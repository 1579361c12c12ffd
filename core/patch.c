/*
 * The apply_patch model: parsing the text into a struct patch, the checks on
 * each path (lexical, protected names, symbolic links), the list of touched
 * paths, and the one-call helpers patch_apply() and patch_diff().
 *
 * The parser splits the text into lines once, then walks them with a small
 * state machine: top level (file headers), inside an added file ("+" lines),
 * inside an update (an optional "Move to", then hunks). It only builds the
 * model; reading and writing files is patch-plan.c's job. Every error names
 * the line of the patch, and for hunks the file and the hunk number.
 */
#include "patch.h"

#include "patch-internal.h"
#include "policy.h"
#include "xmalloc.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One line of the patch text, not NUL-terminated in the text itself. */
struct patch_parse_line {
	const char *s;
	size_t len;
};

/* The parser's state: the lines, where it is, and what it has built. */
struct patch_parser {
	struct patch_parse_line *lines;
	size_t n_lines;
	size_t i; /* index of the current line */
	struct patch *p;
	char *cause;
};

/* Line numbers in messages are 1-based. */
#define PATCH_LINENO(ps) ((int)(ps)->i + 1)

/* Sets the parser's error message (printf-style) and returns -EINVAL. */
static int __attribute__((format(printf, 2, 3)))
patch_parse_fail(struct patch_parser *ps, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	free(ps->cause);
	ps->cause = xvasprintf(fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Length of L without trailing spaces and tabs. */
static size_t patch_rtrim_len(const struct patch_parse_line *l)
{
	size_t n = l->len;

	while (n > 0 && (l->s[n - 1] == ' ' || l->s[n - 1] == '\t'))
		n--;
	return n;
}

/* L without its leading spaces and tabs (agents indent marker lines). */
static struct patch_parse_line patch_ltrim(const struct patch_parse_line *l)
{
	struct patch_parse_line t = *l;

	while (t.len > 0 && (t.s[0] == ' ' || t.s[0] == '\t')) {
		t.s++;
		t.len--;
	}
	return t;
}

/* Whether line L is the marker M, white space around it ignored (as Codex does). */
static bool patch_is_marker(const struct patch_parse_line *l, const char *m)
{
	struct patch_parse_line t = patch_ltrim(l);
	size_t n = patch_rtrim_len(&t);

	return n == strlen(m) && memcmp(t.s, m, n) == 0;
}

/* Whether line L starts with PREFIX. */
static bool patch_has_prefix(const struct patch_parse_line *l, const char *prefix)
{
	size_t n = strlen(prefix);

	return l->len >= n && memcmp(l->s, prefix, n) == 0;
}

/* The three file headers; their argument is the rest of the line. */
static const struct {
	const char *prefix;
	enum patch_kind kind;
} patch_headers[] = {
    {.prefix = "*** Add File: ", .kind = PATCH_ADD},
    {.prefix = "*** Delete File: ", .kind = PATCH_DELETE},
    {.prefix = "*** Update File: ", .kind = PATCH_UPDATE},
};

/* Which header line L is (index into patch_headers), or -1; leading white space ignored. */
static int patch_header_of(const struct patch_parse_line *l)
{
	struct patch_parse_line t = patch_ltrim(l);

	for (size_t k = 0; k < sizeof patch_headers / sizeof patch_headers[0]; k++)
		if (patch_has_prefix(&t, patch_headers[k].prefix))
			return (int)k;
	return -1;
}

/* Whether line L ends the current file: another header or the End Patch. */
static bool patch_ends_file(const struct patch_parse_line *l)
{
	return patch_header_of(l) >= 0 || patch_is_marker(l, "*** End Patch");
}

/* A short quoted excerpt of L for messages (at most 60 bytes). */
static char *patch_excerpt(const struct patch_parse_line *l)
{
	size_t n = l->len > 60 ? 60 : l->len;

	return xasprintf("\"%.*s%s\"", (int)n, l->s, l->len > 60 ? "..." : "");
}

/* Reads the argument of header line L (after PREFIX) into *PATH. */
static int patch_parse_path(struct patch_parser *ps, const char *prefix, char **path)
{
	struct patch_parse_line t = patch_ltrim(&ps->lines[ps->i]);
	const struct patch_parse_line *l = &t;
	size_t start = strlen(prefix), end = patch_rtrim_len(l);

	if (end <= start)
		return patch_parse_fail(ps, "line %d: empty path", PATCH_LINENO(ps));
	*path = xstrndup(l->s + start, end - start);
	return 0;
}

/* Parses the "+" lines of an added file into F. */
static int patch_parse_add(struct patch_parser *ps, struct patch_file *f)
{
	size_t cap = 0;

	f->content = xstrdup("");
	for (; ps->i < ps->n_lines; ps->i++) {
		const struct patch_parse_line *l = &ps->lines[ps->i];

		if (patch_ends_file(l))
			break;
		if (l->len == 0 || l->s[0] != '+') {
			char *ex = patch_excerpt(l);
			int rc = patch_parse_fail(
			    ps,
			    "line %d: %s: a line of an added file must start with \"+\", got %s",
			    PATCH_LINENO(ps), f->path, ex);
			free(ex);
			return rc;
		}
		if (f->content_len + l->len + 1 > cap) {
			cap = (f->content_len + l->len + 1) * 2;
			f->content = xrealloc(f->content, cap);
		}
		memcpy(f->content + f->content_len, l->s + 1, l->len - 1);
		f->content_len += l->len - 1;
		f->content[f->content_len++] = '\n';
		f->content[f->content_len] = '\0';
	}
	return 0;
}

/* Starts a new hunk in F with context CONTEXT (owned, may be NULL). */
static struct patch_hunk *patch_hunk_new(struct patch_file *f, char *context, int line)
{
	struct patch_hunk *h;

	f->hunks = xreallocarray(f->hunks, f->n_hunks + 1, sizeof *f->hunks);
	h = &f->hunks[f->n_hunks++];
	memset(h, 0, sizeof *h);
	h->context = context;
	h->line = line;
	return h;
}

/* Appends one line of kind KIND and text S (LEN bytes) to hunk H. */
static void patch_hunk_add(struct patch_hunk *h, char kind, const char *s, size_t len)
{
	h->lines = xreallocarray(h->lines, h->n_lines + 1, sizeof *h->lines);
	h->lines[h->n_lines].kind = kind;
	h->lines[h->n_lines].text = xstrndup(s, len);
	h->n_lines++;
}

/* Fails when the last hunk of F has no line (the current line is after it). */
static int patch_check_last_hunk(struct patch_parser *ps, struct patch_file *f)
{
	if (f->n_hunks > 0 && f->hunks[f->n_hunks - 1].n_lines == 0)
		return patch_parse_fail(ps, "line %d: %s: hunk %zu: the hunk has no lines",
		                        f->hunks[f->n_hunks - 1].line, f->path, f->n_hunks);
	return 0;
}

/*
 * Whether hunk header L is a unified diff's "@@ -A,B +C,D @@" (line numbers
 * that apply_patch does not use): such a header counts as a bare "@@".
 */
static bool patch_is_range(const struct patch_parse_line *l)
{
	size_t i = 3, n = patch_rtrim_len(l);
	int part = 0;

	for (char sign = '-'; part < 2; part++, sign = '+') {
		size_t digits = 0;

		if (i >= n || l->s[i++] != sign)
			return false;
		while (i < n && ((l->s[i] >= '0' && l->s[i] <= '9') || l->s[i] == ',')) {
			i++;
			digits++;
		}
		if (digits == 0 || i >= n || l->s[i++] != ' ')
			return false;
	}
	return i + 2 == n && l->s[i] == '@' && l->s[i + 1] == '@';
}

/* Parses the optional "Move to" and the hunks of an updated file into F. */
static int patch_parse_update(struct patch_parser *ps, struct patch_file *f)
{
	struct patch_hunk *h = NULL;
	int rc;

	struct patch_parse_line mv =
	    ps->i < ps->n_lines ? patch_ltrim(&ps->lines[ps->i]) : (struct patch_parse_line){0};

	if (ps->i < ps->n_lines && patch_has_prefix(&mv, "*** Move to: ")) {
		rc = patch_parse_path(ps, "*** Move to: ", &f->move_to);
		if (rc < 0)
			return rc;
		ps->i++;
	}
	for (; ps->i < ps->n_lines; ps->i++) {
		const struct patch_parse_line *l = &ps->lines[ps->i];

		if (patch_ends_file(l))
			break;
		if (patch_is_marker(l, "@@") || patch_has_prefix(l, "@@ ")) {
			char *context = NULL;

			rc = patch_check_last_hunk(ps, f);
			if (rc < 0)
				return rc;
			if (l->len > 3 && patch_rtrim_len(l) > 3 && !patch_is_range(l))
				context = xstrndup(l->s + 3, l->len - 3);
			h = patch_hunk_new(f, context, PATCH_LINENO(ps));
			continue;
		}
		if (patch_is_marker(l, "*** End of File")) {
			if (h == NULL || h->n_lines == 0)
				return patch_parse_fail(
				    ps, "line %d: %s: hunk %zu: the hunk has no lines",
				    PATCH_LINENO(ps), f->path, f->n_hunks ? f->n_hunks : 1);
			h->end_of_file = true;
			h = NULL;
			continue;
		}
		if (h == NULL && f->n_hunks > 0 && patch_rtrim_len(l) == 0)
			continue; /* blank lines after "*** End of File" */
		if (h == NULL) {
			/* Only the first hunk may omit its "@@". */
			if (f->n_hunks > 0) {
				char *ex = patch_excerpt(l);
				rc =
				    patch_parse_fail(ps,
				                     "line %d: %s: hunk %zu: expected \"@@\" after "
				                     "\"*** End of File\", got %s",
				                     PATCH_LINENO(ps), f->path, f->n_hunks + 1, ex);
				free(ex);
				return rc;
			}
			h = patch_hunk_new(f, NULL, PATCH_LINENO(ps));
		}
		if (l->len == 0) {
			patch_hunk_add(h, ' ', "", 0);
		} else if (l->s[0] == ' ' || l->s[0] == '-' || l->s[0] == '+') {
			patch_hunk_add(h, l->s[0], l->s + 1, l->len - 1);
		} else {
			char *ex = patch_excerpt(l);
			rc = patch_parse_fail(
			    ps,
			    "line %d: %s: hunk %zu: a line must start with \" \", \"-\" or \"+\", "
			    "got %s",
			    PATCH_LINENO(ps), f->path, f->n_hunks, ex);
			free(ex);
			return rc;
		}
	}
	rc = patch_check_last_hunk(ps, f);
	if (rc < 0)
		return rc;
	if (f->n_hunks == 0)
		return patch_parse_fail(ps, "line %d: %s: the update has no hunk", f->line,
		                        f->path);
	return 0;
}

/* Splits TEXT into lines at "\n", dropping one "\r" before each "\n". */
static int patch_split(struct patch_parser *ps, const char *text, size_t len)
{
	size_t start = 0;

	for (size_t k = 0; k <= len; k++) {
		if (k < len && text[k] == '\0') {
			ps->i = ps->n_lines;
			return patch_parse_fail(ps, "line %d: a NUL byte in the patch",
			                        PATCH_LINENO(ps));
		}
		if (k == len && start == len)
			break;
		if (k == len || text[k] == '\n') {
			size_t n = k - start;

			if (n > 0 && text[start + n - 1] == '\r')
				n--;
			ps->lines = xreallocarray(ps->lines, ps->n_lines + 1, sizeof *ps->lines);
			ps->lines[ps->n_lines].s = text + start;
			ps->lines[ps->n_lines].len = n;
			ps->n_lines++;
			start = k + 1;
		}
	}
	return 0;
}

/*
 * A patch wrapped as a shell heredoc (`<<EOF`, `<<'EOF'`, `<<"EOF"`, maybe
 * after `apply_patch `, ... `EOF`), as agents send it: the two wrapper
 * lines are dropped (line numbers then count from the patch itself).
 */
static void patch_unwrap_heredoc(struct patch_parser *ps)
{
	struct patch_parse_line first, last;
	const char *tag;
	size_t first_len, tag_len, n = ps->n_lines;

	while (n > 0 && patch_rtrim_len(&ps->lines[n - 1]) == 0)
		n--;
	if (n < 2)
		return;
	first = patch_ltrim(&ps->lines[0]);
	first_len = patch_rtrim_len(&first);
	if (first_len > 12 && memcmp(first.s, "apply_patch ", 12) == 0) {
		first.s += 12;
		first_len -= 12;
	}
	if (first_len < 3 || memcmp(first.s, "<<", 2) != 0)
		return;
	tag = first.s + 2;
	tag_len = first_len - 2;
	if (tag_len >= 2 && (tag[0] == '\'' || tag[0] == '"') && tag[tag_len - 1] == tag[0]) {
		tag++;
		tag_len -= 2;
	}
	last = patch_ltrim(&ps->lines[n - 1]);
	if (tag_len == 0 || patch_rtrim_len(&last) != tag_len || memcmp(last.s, tag, tag_len) != 0)
		return;
	memmove(ps->lines, ps->lines + 1, (n - 2) * sizeof *ps->lines);
	ps->n_lines = n - 2;
}

/* Parses the file operations between Begin Patch and End Patch. */
static int patch_parse_body(struct patch_parser *ps)
{
	struct patch *p = ps->p;
	int rc;

	if (ps->n_lines == 0 || !patch_is_marker(&ps->lines[0], "*** Begin Patch"))
		return patch_parse_fail(ps, "line 1: the first line must be \"*** Begin Patch\"");
	ps->i = 1;
	while (ps->i < ps->n_lines) {
		const struct patch_parse_line *l = &ps->lines[ps->i];
		int k = patch_header_of(l);
		struct patch_file *f;

		if (patch_is_marker(l, "*** End Patch")) {
			for (ps->i++; ps->i < ps->n_lines; ps->i++)
				if (patch_rtrim_len(&ps->lines[ps->i]) > 0)
					return patch_parse_fail(ps,
					                        "line %d: the last line must be "
					                        "\"*** End Patch\"",
					                        PATCH_LINENO(ps));
			if (p->n_files == 0)
				return patch_parse_fail(ps, "line %d: the patch changes no file",
				                        (int)ps->n_lines);
			return 0;
		}
		if (l->len == 0) {
			ps->i++;
			continue;
		}
		if (k < 0) {
			char *ex = patch_excerpt(l);
			rc = patch_parse_fail(ps,
			                      "line %d: expected \"*** Add File: \", \"*** Delete "
			                      "File: \" or \"*** Update File: \", got %s",
			                      PATCH_LINENO(ps), ex);
			free(ex);
			return rc;
		}
		p->files = xreallocarray(p->files, p->n_files + 1, sizeof *p->files);
		f = &p->files[p->n_files++];
		memset(f, 0, sizeof *f);
		f->kind = patch_headers[k].kind;
		f->line = PATCH_LINENO(ps);
		rc = patch_parse_path(ps, patch_headers[k].prefix, &f->path);
		if (rc < 0)
			return rc;
		ps->i++;
		if (f->kind == PATCH_ADD)
			rc = patch_parse_add(ps, f);
		else if (f->kind == PATCH_UPDATE)
			rc = patch_parse_update(ps, f);
		if (rc < 0)
			return rc;
	}
	return patch_parse_fail(ps, "line %d: the last line must be \"*** End Patch\"",
	                        ps->n_lines > 0 ? (int)ps->n_lines : 1);
}

int patch_parse(const char *text, size_t len, struct patch **out, char **cause)
{
	struct patch_parser ps = {0};
	int rc;

	*out = NULL;
	if (len > PATCH_MAX_TEXT) {
		*cause = xasprintf("the patch is over %u bytes", PATCH_MAX_TEXT);
		return -EINVAL;
	}
	ps.p = xcalloc(1, sizeof *ps.p);
	rc = patch_split(&ps, text, len);
	if (rc == 0)
		patch_unwrap_heredoc(&ps);
	if (rc == 0)
		rc = patch_parse_body(&ps);
	free(ps.lines);
	if (rc < 0) {
		patch_free(ps.p);
		*cause = ps.cause;
		return rc;
	}
	*out = ps.p;
	return 0;
}

void patch_free(struct patch *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n_files; i++) {
		struct patch_file *f = &p->files[i];

		for (size_t k = 0; k < f->n_hunks; k++) {
			for (size_t j = 0; j < f->hunks[k].n_lines; j++)
				free(f->hunks[k].lines[j].text);
			free(f->hunks[k].lines);
			free(f->hunks[k].context);
		}
		free(f->hunks);
		free(f->path);
		free(f->move_to);
		free(f->content);
	}
	free(p->files);
	free(p);
}

/* Appends the component C (LEN bytes) to the lexical path being built. */
static void patch_norm_push(char **buf, size_t *len, const char *c, size_t n)
{
	*buf = xrealloc(*buf, *len + n + 2);
	(*buf)[(*len)++] = '/';
	memcpy(*buf + *len, c, n);
	*len += n;
	(*buf)[*len] = '\0';
}

char *patch__normalize(const char *path, int *escapes)
{
	char *buf = xstrdup("");
	size_t len = 0;
	const char *s = path;

	*escapes = 0;
	while (*s != '\0') {
		const char *e = strchr(s, '/');
		size_t n = e != NULL ? (size_t)(e - s) : strlen(s);

		if (n == 0 || (n == 1 && s[0] == '.')) {
			/* empty or "." component: nothing */
		} else if (n == 2 && s[0] == '.' && s[1] == '.') {
			char *slash = strrchr(buf, '/');

			if (slash != NULL) {
				*slash = '\0';
				len = (size_t)(slash - buf);
			} else {
				(*escapes)++;
			}
		} else {
			patch_norm_push(&buf, &len, s, n);
		}
		s += n;
		if (*s == '/')
			s++;
	}
	return buf;
}

/* NAME (absolute, or relative to CWD) as a path relative to "/", normalised. Caller frees. */
static char *patch_from_root(const char *cwd, const char *name)
{
	char *joined = name[0] == '/' ? xstrdup(name) : xasprintf("%s/%s", cwd, name);
	int escapes;
	char *norm = patch__normalize(joined, &escapes), *rel;

	free(joined);
	rel = xstrdup(norm[0] == '/' ? norm + 1 : norm);
	free(norm);
	return rel;
}

bool patch_rebase(struct patch *p, const char *cwd)
{
	bool leaves = false;

	for (size_t i = 0; i < p->n_files && !leaves; i++) {
		const char *names[2] = {p->files[i].path, p->files[i].move_to};

		for (int k = 0; k < 2; k++) {
			int escapes;
			char *norm;

			if (names[k] == NULL)
				continue;
			if (names[k][0] == '/') {
				leaves = true;
				break;
			}
			norm = patch__normalize(names[k], &escapes);
			free(norm);
			if (escapes > 0)
				leaves = true;
		}
	}
	if (!leaves)
		return false;
	for (size_t i = 0; i < p->n_files; i++) {
		char *path = patch_from_root(cwd, p->files[i].path);

		free(p->files[i].path);
		p->files[i].path = path;
		if (p->files[i].move_to != NULL) {
			char *to = patch_from_root(cwd, p->files[i].move_to);

			free(p->files[i].move_to);
			p->files[i].move_to = to;
		}
	}
	return true;
}

char **patch_paths(const struct patch *p, const char *cwd, size_t *n)
{
	char **v = xcalloc(2 * p->n_files + 1, sizeof *v);
	size_t count = 0, out = 0;

	for (size_t i = 0; i < p->n_files; i++) {
		const char *names[2] = {p->files[i].path, p->files[i].move_to};

		for (int k = 0; k < 2; k++) {
			char *joined, *norm;
			int escapes;

			if (names[k] == NULL)
				continue;
			joined = names[k][0] == '/' ? xstrdup(names[k])
			                            : xasprintf("%s/%s", cwd, names[k]);
			norm = patch__normalize(joined, &escapes);
			free(joined);
			if (norm[0] == '\0') {
				free(norm);
				norm = xstrdup("/");
			}
			v[count++] = norm;
		}
	}
	qsort(v, count, sizeof *v, patch__strcmp_ptr);
	for (size_t i = 0; i < count; i++) {
		if (out > 0 && strcmp(v[out - 1], v[i]) == 0)
			free(v[i]);
		else
			v[out++] = v[i];
	}
	v[out] = NULL;
	if (n != NULL)
		*n = out;
	return v;
}

void patch_paths_free(char **paths)
{
	if (paths == NULL)
		return;
	for (char **q = paths; *q != NULL; q++)
		free(*q);
	free(paths);
}

int patch__strcmp_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether component C (LEN bytes) equals NAME. */
static bool patch_comp_is(const char *c, size_t len, const char *name)
{
	return len == strlen(name) && memcmp(c, name, len) == 0;
}

/* Whether REL is protected by OPTS (config protected_paths, git_protection). */
static bool patch_protected_by(const char *realcwd, const char *rel,
                               const struct patch_options *opts)
{
	int escapes;
	char *norm_rel = patch__normalize(rel, &escapes);
	char *abs = xasprintf("%s%s", strcmp(realcwd, "/") == 0 ? "" : realcwd, norm_rel);
	bool hit = false;

	for (size_t i = 0; i < opts->n_protected_paths && !hit; i++) {
		const char *p = opts->protected_paths[i];
		char *norm = patch__normalize(p, &escapes);

		if (p[0] == '/')
			hit = norm[0] == '\0' || policy_path_is_under(norm, abs);
		else
			hit =
			    escapes == 0 && norm[0] != '\0' && policy_path_is_under(norm, norm_rel);
		free(norm);
	}
	if (opts->git_protection_full)
		hit = hit || strstr(norm_rel, "/.git/") != NULL ||
		      (strlen(norm_rel) >= 5 &&
		       strcmp(norm_rel + strlen(norm_rel) - 5, "/.git") == 0);
	free(abs);
	free(norm_rel);
	return hit;
}

bool patch__protected(const char *realcwd, const char *rel, const struct patch_options *opts)
{
	if (opts != NULL && patch_protected_by(realcwd, rel, opts))
		return true;
	/* Split REL ("/a/b" or "a/b") into components. */
	const char *comps[PATCH_MAX_DEPTH];
	size_t lens[PATCH_MAX_DEPTH], n = 0;
	const char *s = rel;

	while (*s != '\0') {
		const char *e = strchr(s, '/');
		size_t len = e != NULL ? (size_t)(e - s) : strlen(s);

		if (len > 0) {
			if (n == PATCH_MAX_DEPTH)
				return true; /* fail closed on absurd depths */
			comps[n] = s;
			lens[n++] = len;
		}
		s += len;
		if (*s == '/')
			s++;
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < policy_n_protected_names; k++)
			if (patch_comp_is(comps[i], lens[i], policy_protected_names[k].name))
				return true;
		if (!patch_comp_is(comps[i], lens[i], ".git"))
			continue;
		/* .git, then any number of modules/NAME or worktrees/NAME, then config|hooks. */
		size_t j = i + 1;
		for (;;) {
			if (j < n && (patch_comp_is(comps[j], lens[j], "config") ||
			              patch_comp_is(comps[j], lens[j], "hooks")))
				return true;
			if (j + 1 < n && (patch_comp_is(comps[j], lens[j], "modules") ||
			                  patch_comp_is(comps[j], lens[j], "worktrees"))) {
				j += 2;
				continue;
			}
			break;
		}
	}
	return false;
}

/* Most symbolic links followed while resolving one path (as the kernel's). */
#define PATCH_MAX_LINKS 40

/* A queue of path components still to walk, front first. */
struct patch_walk {
	char **v;
	size_t n;
};

/* Puts the components of PATH in front of the queue W. */
static void patch_walk_push(struct patch_walk *w, const char *path)
{
	char *copy = xstrdup(path), *save = NULL;
	char **parts = NULL;
	size_t n = 0;

	for (char *c = strtok_r(copy, "/", &save); c != NULL; c = strtok_r(NULL, "/", &save)) {
		parts = xreallocarray(parts, n + 1, sizeof *parts);
		parts[n++] = xstrdup(c);
	}
	w->v = xreallocarray(w->v, w->n + n + 1, sizeof *w->v);
	memmove(w->v + n, w->v, w->n * sizeof *w->v);
	if (n > 0)
		memcpy(w->v, parts, n * sizeof *parts);
	w->n += n;
	free(parts);
	free(copy);
}

/* Takes the front component off the queue W; caller frees. */
static char *patch_walk_pop(struct patch_walk *w)
{
	char *c = w->v[0];

	memmove(w->v, w->v + 1, (w->n - 1) * sizeof *w->v);
	w->n--;
	return c;
}

/* Frees what is left in the queue W. */
static void patch_walk_free(struct patch_walk *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
}

/* Joins DIR and component C (LEN bytes) into a new path. */
static char *patch_join(const char *dir, const char *c)
{
	return strcmp(dir, "/") == 0 ? xasprintf("/%s", c) : xasprintf("%s/%s", dir, c);
}

/*
 * Resolves the absolute path of NORM (relative to REALCWD) as the kernel
 * would: existing symbolic links are followed, "." and ".." applied; from the
 * first missing component on, the rest is taken lexically. Returns the
 * canonical absolute path, or NULL when there are too many links.
 */
static char *patch_real(const char *realcwd, const char *norm)
{
	struct patch_walk w = {0};
	char *cur = xstrdup(realcwd);
	int links = 0;
	bool missing = false;

	patch_walk_push(&w, norm);
	while (w.n > 0) {
		char *c = patch_walk_pop(&w), *next;
		struct stat st;

		if (strcmp(c, ".") == 0) {
			free(c);
			continue;
		}
		if (strcmp(c, "..") == 0) {
			char *slash = strrchr(cur, '/');

			if (slash == cur)
				cur[1] = '\0';
			else if (slash != NULL)
				*slash = '\0';
			free(c);
			continue;
		}
		next = patch_join(cur, c);
		free(c);
		free(cur);
		cur = next;
		if (missing || lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode)) {
			missing = missing || access(cur, F_OK) != 0;
			continue;
		}
		char target[PATH_MAX];
		ssize_t len = readlink(cur, target, sizeof target - 1);

		if (len < 0 || ++links > PATCH_MAX_LINKS) {
			free(cur);
			patch_walk_free(&w);
			return NULL;
		}
		target[len] = '\0';
		/* The link is replaced by its target, from its directory or from "/". */
		char *slash = strrchr(cur, '/');
		if (target[0] == '/')
			strcpy(cur, "/");
		else if (slash == cur)
			cur[1] = '\0';
		else
			*slash = '\0';
		patch_walk_push(&w, target);
	}
	patch_walk_free(&w);
	return cur;
}

int patch__resolve(const char *realcwd, const char *path, const struct patch_options *opts,
                   char **rel, char **cause)
{
	char *norm, *real, *relpath;
	int escapes;
	size_t rootlen;

	*rel = NULL;
	if (path[0] == '/') {
		*cause = xasprintf("%s: absolute paths are refused", path);
		return -EPERM;
	}
	norm = patch__normalize(path, &escapes);
	if (escapes > 0 || norm[0] == '\0') {
		*cause = xasprintf("%s: the path leaves the working directory", path);
		free(norm);
		return -EPERM;
	}
	if (patch__protected(realcwd, norm, opts)) {
		*cause = xasprintf("%s: protected path, never written by a patch", path);
		free(norm);
		return -EPERM;
	}
	/* The same checks again on where the symbolic links lead. */
	real = patch_real(realcwd, norm);
	free(norm);
	if (real == NULL || !policy_path_is_under(realcwd, real) || strcmp(real, realcwd) == 0) {
		*cause = xasprintf("%s: a symbolic link leads out of the working directory", path);
		free(real);
		return -EPERM;
	}
	rootlen = strcmp(realcwd, "/") == 0 ? 1 : strlen(realcwd) + 1;
	relpath = xstrdup(real + rootlen);
	free(real);
	if (patch__protected(realcwd, relpath, opts)) {
		*cause = xasprintf("%s: protected path, never written by a patch", path);
		free(relpath);
		return -EPERM;
	}
	*rel = relpath;
	return 0;
}

int patch_check_path(const char *cwd, const char *path, const struct patch_options *opts,
                     char **cause)
{
	char *realcwd = realpath(cwd, NULL), *rel;
	int rc;

	if (realcwd == NULL) {
		rc = -errno;
		*cause = xasprintf("%s: cannot open: %s", cwd, strerror(errno));
		return rc;
	}
	rc = patch__resolve(realcwd, path, opts, &rel, cause);
	free(rel);
	free(realcwd);
	return rc;
}

int patch_apply(const char *text, size_t len, const char *cwd, const struct patch_options *opts,
                char **cause)
{
	struct patch *p;
	struct patch_plan *plan;
	int rc;

	rc = patch_parse(text, len, &p, cause);
	if (rc < 0)
		return rc;
	rc = patch_plan_new(p, cwd, opts, &plan, cause);
	patch_free(p);
	if (rc < 0)
		return rc;
	rc = patch_plan_commit(plan, cause);
	patch_plan_free(plan);
	return rc;
}

char *patch_diff(const char *text, size_t len, const char *cwd, const struct patch_options *opts,
                 char **cause)
{
	struct patch *p;
	struct patch_plan *plan;
	char *diff;

	if (patch_parse(text, len, &p, cause) < 0)
		return NULL;
	if (patch_plan_new(p, cwd, opts, &plan, cause) < 0) {
		patch_free(p);
		return NULL;
	}
	patch_free(p);
	diff = patch_plan_diff(plan);
	patch_plan_free(plan);
	return diff;
}
