/*
 * Shell splitting without a shell. One pass over the script turns it into
 * words and the four list operators; the moment the scanner meets anything
 * whose meaning depends on expansion, redirection or shell grammar beyond a
 * plain list (see shell-split.h), it gives up and the caller keeps the
 * whole argv as one opaque command. The scanner is a small state machine
 * over bytes: it never allocates more than the words it returns, and every
 * unknown construct is a refusal, never a guess.
 */
#include "shell-split.h"

#include "xmalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A growable byte buffer for the word being scanned. */
struct shell_split__buf {
	char *p;
	size_t len;
	size_t cap;
};

/* A growable list of words (one command). */
struct shell_split__words {
	char **v;
	size_t n;
	size_t cap;
};

/* A growable list of commands. */
struct shell_split__cmds {
	struct shell_split_command *v;
	size_t n;
	size_t cap;
};

/* Words that start shell grammar when they come first in a command. */
static const char *const shell_split__keywords[] = {
    "if",     "then",     "else",    "elif", "fi",   "case",     "esac",    "for",
    "select", "while",    "until",   "do",   "done", "function", "time",    "coproc",
    "in",     "[[",       "]]",      "{",    "}",    "!",        "declare", "export",
    "local",  "readonly", "typeset", "eval", "exec", "source",   ".",
};

/* Shells whose `-c SCRIPT` is split. */
static const char *const shell_split__shells[] = {"bash", "sh", "zsh"};

/* Appends byte C to B. */
static void shell_split__buf_add(struct shell_split__buf *b, char c)
{
	if (b->len + 1 >= b->cap) {
		b->cap = b->cap ? b->cap * 2 : 32;
		b->p = xrealloc(b->p, b->cap);
	}
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

/* Appends a copy of B's text to W and empties B. */
static void shell_split__words_add(struct shell_split__words *w, struct shell_split__buf *b)
{
	if (w->n + 2 > w->cap) {
		w->cap = w->cap ? w->cap * 2 : 8;
		w->v = xreallocarray(w->v, w->cap, sizeof *w->v);
	}
	w->v[w->n++] = xstrndup(b->p ? b->p : "", b->len);
	w->v[w->n] = NULL;
	b->len = 0;
}

/* Frees a NULL-terminated word array. */
void shell_split_words_free(char **words)
{
	if (words == NULL)
		return;
	for (char **p = words; *p != NULL; p++)
		free(*p);
	free(words);
}

/* Frees an array of commands. */
void shell_split_commands_free(struct shell_split_command *cmds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		shell_split_words_free(cmds[i].argv);
	free(cmds);
}

/* True when WORD is a shell keyword or builtin that changes parsing. */
static int shell_split__is_keyword(const char *word)
{
	for (size_t i = 0; i < sizeof shell_split__keywords / sizeof *shell_split__keywords; i++)
		if (strcmp(word, shell_split__keywords[i]) == 0)
			return 1;
	return 0;
}

/*
 * Ends the current command: it must have words, and its first word must be
 * neither a keyword nor an assignment. Returns 0 or -EINVAL.
 */
static int shell_split__end_command(struct shell_split__cmds *c, struct shell_split__words *w,
                                    int first_has_eq)
{
	if (w->n == 0)
		return -EINVAL;
	if (first_has_eq || shell_split__is_keyword(w->v[0]))
		return -EINVAL;
	if (c->n + 1 > c->cap) {
		c->cap = c->cap ? c->cap * 2 : 4;
		c->v = xreallocarray(c->v, c->cap, sizeof *c->v);
	}
	c->v[c->n].argv = w->v;
	c->v[c->n].argc = w->n;
	c->n++;
	memset(w, 0, sizeof *w);
	return 0;
}

/* Scans a single-quoted string at *PP (just after the quote) into B. */
static int shell_split__single(const char **pp, struct shell_split__buf *b)
{
	const char *p = *pp;

	while (*p != '\'') {
		if (*p == '\0')
			return -EINVAL;
		shell_split__buf_add(b, *p++);
	}
	*pp = p + 1;
	return 0;
}

/*
 * Scans a double-quoted string at *PP (just after the quote) into B. With
 * PLAIN, `$` and backticks refuse (they would expand). Returns 0 or -EINVAL.
 */
static int shell_split__double(const char **pp, struct shell_split__buf *b, int plain)
{
	const char *p = *pp;

	while (*p != '"') {
		if (*p == '\0')
			return -EINVAL;
		if (plain && (*p == '$' || *p == '`'))
			return -EINVAL;
		if (*p == '\\') {
			char n = p[1];

			if (n == '\0')
				return -EINVAL;
			if (n == '\n') {
				p += 2;
				continue;
			}
			if (n == '$' || n == '`' || n == '"' || n == '\\') {
				shell_split__buf_add(b, n);
				p += 2;
				continue;
			}
		}
		shell_split__buf_add(b, *p++);
	}
	*pp = p + 1;
	return 0;
}

/* The scanner's state while it reads one script. */
struct shell_split__scan {
	struct shell_split__cmds cmds;
	struct shell_split__words words;
	struct shell_split__buf buf;
	int in_word;      /* a word has started (even an empty '') */
	int word_has_eq;  /* the word has an unquoted '=' */
	int first_has_eq; /* the command's first word had one */
	int after_op;     /* the last thing was && || or | (a command must follow) */
};

/* Ends the current word, if one has started. */
static void shell_split__end_word(struct shell_split__scan *s)
{
	if (!s->in_word)
		return;
	if (s->words.n == 0)
		s->first_has_eq = s->word_has_eq;
	shell_split__words_add(&s->words, &s->buf);
	s->in_word = 0;
	s->word_has_eq = 0;
}

/* Ends the current command at an operator. Returns 0 or -EINVAL. */
static int shell_split__operator(struct shell_split__scan *s, int needs_more)
{
	int rc;

	shell_split__end_word(s);
	rc = shell_split__end_command(&s->cmds, &s->words, s->first_has_eq);
	s->first_has_eq = 0;
	s->after_op = needs_more;
	return rc;
}

/* Releases everything the scanner holds. */
static void shell_split__scan_free(struct shell_split__scan *s)
{
	shell_split_commands_free(s->cmds.v, s->cmds.n);
	shell_split_words_free(s->words.v);
	free(s->buf.p);
}

/* The scanner proper: returns 0 with S->cmds filled, or -EINVAL. */
static int shell_split__run(struct shell_split__scan *s, const char *p)
{
	while (*p != '\0') {
		char c = *p;

		switch (c) {
		case ' ':
		case '\t':
			shell_split__end_word(s);
			p++;
			break;
		case '\n':
			shell_split__end_word(s);
			p++;
			/* A newline ends a command; blank lines and a newline after && || | do not.
			 */
			if (s->words.n > 0 && shell_split__operator(s, 0) != 0)
				return -EINVAL;
			break;
		case ';':
			if (p[1] == ';' || shell_split__operator(s, 0) != 0)
				return -EINVAL;
			p++;
			break;
		case '&':
			if (p[1] != '&' || shell_split__operator(s, 1) != 0)
				return -EINVAL;
			p += 2;
			break;
		case '|':
			if (p[1] == '&')
				return -EINVAL;
			if (shell_split__operator(s, 1) != 0)
				return -EINVAL;
			p += p[1] == '|' ? 2 : 1;
			break;
		case '<':
		case '>':
		case '(':
		case ')':
		case '$':
		case '`':
		case '{':
		case '}':
		case '*':
		case '?':
		case '[':
		case '!':
			return -EINVAL;
		case '#':
		case '~':
			/* A comment or a tilde expansion at a word's start, or ~ after = or :. */
			if (!s->in_word ||
			    (c == '~' && s->buf.len > 0 &&
			     (s->buf.p[s->buf.len - 1] == '=' || s->buf.p[s->buf.len - 1] == ':')))
				return -EINVAL;
			shell_split__buf_add(&s->buf, c);
			p++;
			break;
		case '=':
			s->word_has_eq = 1;
			s->in_word = 1;
			shell_split__buf_add(&s->buf, c);
			p++;
			break;
		case '\\':
			if (p[1] == '\0')
				return -EINVAL;
			if (p[1] == '\n') {
				p += 2;
				break;
			}
			s->in_word = 1;
			shell_split__buf_add(&s->buf, p[1]);
			p += 2;
			break;
		case '\'':
			s->in_word = 1;
			p++;
			if (shell_split__single(&p, &s->buf) != 0)
				return -EINVAL;
			break;
		case '"':
			s->in_word = 1;
			p++;
			if (shell_split__double(&p, &s->buf, 1) != 0)
				return -EINVAL;
			break;
		default:
			s->in_word = 1;
			shell_split__buf_add(&s->buf, c);
			p++;
			break;
		}
		if (s->in_word)
			s->after_op = 0;
	}
	shell_split__end_word(s);
	if (s->words.n > 0)
		return shell_split__operator(s, 0);
	/* Nothing after the last operator: only a trailing ';' or newline is fine. */
	if (s->after_op || s->cmds.n == 0)
		return -EINVAL;
	return 0;
}

/* Splits SCRIPT into plain commands, or refuses with -EINVAL. */
int shell_split_script(const char *script, struct shell_split_command **cmds, size_t *n)
{
	struct shell_split__scan s;

	memset(&s, 0, sizeof s);
	if (shell_split__run(&s, script) != 0) {
		shell_split__scan_free(&s);
		return -EINVAL;
	}
	*cmds = s.cmds.v;
	*n = s.cmds.n;
	shell_split_words_free(s.words.v);
	free(s.buf.p);
	return 0;
}

/* Splits S into words like a shell would, without operators or expansion. */
int shell_split_words(const char *s, char ***words, size_t *n)
{
	struct shell_split__words w = {0};
	struct shell_split__buf b = {0};
	int in_word = 0;

	for (const char *p = s; *p != '\0';) {
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
			if (in_word)
				shell_split__words_add(&w, &b);
			in_word = 0;
			p++;
			continue;
		}
		in_word = 1;
		if (*p == '\'') {
			p++;
			if (shell_split__single(&p, &b) != 0)
				goto fail;
		} else if (*p == '"') {
			p++;
			if (shell_split__double(&p, &b, 0) != 0)
				goto fail;
		} else if (*p == '\\') {
			if (p[1] == '\0')
				goto fail;
			shell_split__buf_add(&b, p[1]);
			p += 2;
		} else {
			shell_split__buf_add(&b, *p++);
		}
	}
	if (in_word)
		shell_split__words_add(&w, &b);
	free(b.p);
	if (w.v == NULL)
		w.v = xcalloc(1, sizeof *w.v);
	*words = w.v;
	*n = w.n;
	return 0;
fail:
	free(b.p);
	shell_split_words_free(w.v);
	return -EINVAL;
}

/* A NULL-terminated copy of ARGV. */
static char **shell_split__copy(size_t argc, char *const argv[])
{
	char **v = xcalloc(argc + 1, sizeof *v);

	for (size_t i = 0; i < argc; i++)
		v[i] = xstrdup(argv[i]);
	return v;
}

/* True when ARGV is `bash|sh|zsh -c|-lc SCRIPT`. */
static int shell_split__is_wrapper(size_t argc, char *const argv[])
{
	const char *base;

	if (argc != 3)
		return 0;
	base = strrchr(argv[0], '/');
	base = base != NULL ? base + 1 : argv[0];
	if (strcmp(argv[1], "-c") != 0 && strcmp(argv[1], "-lc") != 0)
		return 0;
	for (size_t i = 0; i < sizeof shell_split__shells / sizeof *shell_split__shells; i++)
		if (strcmp(base, shell_split__shells[i]) == 0)
			return 1;
	return 0;
}

/* Splits ARGV per SPEC 4 step 1. */
void shell_split_argv(size_t argc, char *const argv[], struct shell_split *out)
{
	memset(out, 0, sizeof *out);
	if (shell_split__is_wrapper(argc, argv)) {
		out->wrapper = true;
		if (shell_split_script(argv[2], &out->cmds, &out->n) == 0)
			return;
		out->opaque = true;
	}
	out->cmds = xcalloc(1, sizeof *out->cmds);
	out->cmds[0].argv = shell_split__copy(argc, argv);
	out->cmds[0].argc = argc;
	out->n = 1;
}

/* Frees a split result. */
void shell_split_free(struct shell_split *s)
{
	shell_split_commands_free(s->cmds, s->n);
	memset(s, 0, sizeof *s);
}

/* True when W needs no quoting to stay one word. */
static int shell_split__bare(const char *w)
{
	if (*w == '\0')
		return 0;
	for (const char *p = w; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("_@%+=:,./-", c) != NULL))
			return 0;
	}
	return 1;
}

/* ARGV as one shell line, single-quoting words that need it. */
char *shell_split_join(size_t argc, char *const argv[])
{
	struct shell_split__buf b = {0};

	shell_split__buf_add(&b, '\0');
	b.len = 0;
	for (size_t i = 0; i < argc; i++) {
		const char *w = argv[i];

		if (i > 0)
			shell_split__buf_add(&b, ' ');
		if (shell_split__bare(w)) {
			for (const char *p = w; *p != '\0'; p++)
				shell_split__buf_add(&b, *p);
			continue;
		}
		shell_split__buf_add(&b, '\'');
		for (const char *p = w; *p != '\0'; p++) {
			if (*p == '\'') {
				shell_split__buf_add(&b, '\'');
				shell_split__buf_add(&b, '\\');
				shell_split__buf_add(&b, '\'');
				shell_split__buf_add(&b, '\'');
			} else {
				shell_split__buf_add(&b, *p);
			}
		}
		shell_split__buf_add(&b, '\'');
	}
	return b.p;
}
