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
	/* The argv itself: copied in one allocation (a 200k-word argv is one malloc, not 200k). */
	out->cmds = xcalloc(1, sizeof *out->cmds);
	out->cmds[0].argv = xstrv_pack(argc, argv);
	out->cmds[0].argc = argc;
	out->n = 1;
	out->packed = true;
}

/* Frees a split result. */
void shell_split_free(struct shell_split *s)
{
	if (s->packed) {
		free(s->cmds[0].argv);
		free(s->cmds);
	} else {
		shell_split_commands_free(s->cmds, s->n);
	}
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

/* ---- the conservative scan of opaque scripts ------------------------------- */

/* Nesting of $( ... ), backticks and ( ... ) the scan follows. */
#define SHELL_SPLIT_SCAN_DEPTH 32

/* What opened a scan frame. */
enum shell_split__frame_kind {
	SHELL_SPLIT__F_TOP,
	SHELL_SPLIT__F_PAREN,    /* $( <( >( */
	SHELL_SPLIT__F_BACKTICK, /* ` */
};

/* One command context of the scan: the words of the command being read. */
struct shell_split__frame {
	enum shell_split__frame_kind kind;
	bool in_dq;     /* inside "..." */
	bool in_word;   /* a word is being read */
	bool skip_word; /* the word being read is a redirection's target */
	bool digits;    /* the word so far is all digits (a possible fd number) */
	unsigned depth; /* plain ( ) nested inside a PAREN frame */
	char *buf;      /* the words, each NUL-terminated */
	size_t len;
	size_t cap;
	bool eq_seen;   /* the word so far has an '=' */
	bool q_early;   /* ... and was quoted before it: not an assignment */
	size_t *offs;   /* where each finished word starts in buf */
	bool *noassign; /* per finished word: quoted before its '=' */
	bool brace;     /* the word so far has an unquoted '{' */
	bool *ubrace;   /* per finished word: it had one (brace expansion applies) */
	size_t n;
	size_t ncap;
	size_t word_at; /* where the word being read starts */
};

/* The whole scan's state. */
struct shell_split__opaque {
	struct shell_split__frame f[SHELL_SPLIT_SCAN_DEPTH];
	size_t top;
	unsigned overflow; /* openings past the depth limit, read as separators */
	bool gave_up;      /* the depth limit was reached somewhere */
	char **argv;       /* scratch for emitting */
	size_t argv_cap;
	shell_split_scan_fn fn;
	void *ctx;
};

/* Words that may come before a command's program without being it. */
static const char *const shell_split__lead[] = {
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until",
    "!",  "{",    "}",    "esac", "(",  ")",  "[[",   "]]",
};

/* Appends byte C to frame F's word in progress. */
static void shell_split__scan_add(struct shell_split__frame *f, char c)
{
	if (!f->in_word) {
		f->in_word = true;
		f->digits = true;
		f->eq_seen = f->q_early = f->brace = false;
		f->word_at = f->len;
	}
	if (c < '0' || c > '9')
		f->digits = false;
	if (c == '=')
		f->eq_seen = true;
	if (f->len + 2 > f->cap) {
		f->cap = f->cap ? f->cap * 2 : 128;
		f->buf = xrealloc(f->buf, f->cap);
	}
	f->buf[f->len++] = c;
}

/* Appends the N plain bytes at P (no quote, operator or expansion among them) to F's word. */
static void shell_split__scan_add_run(struct shell_split__frame *f, const char *p, size_t n)
{
	shell_split__scan_add(f, p[0]);
	/* Only these bytes are unquoted: a '{' here is one brace expansion sees. */
	if (memchr(p, '{', n) != NULL)
		f->brace = true;
	if (n == 1)
		return;
	p++;
	n--;
	if (f->len + n + 2 > f->cap) {
		while (f->len + n + 2 > f->cap)
			f->cap *= 2;
		f->buf = xrealloc(f->buf, f->cap);
	}
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			f->digits = false;
		if (p[i] == '=')
			f->eq_seen = true;
	}
	memcpy(f->buf + f->len, p, n);
	f->len += n;
}

/* The length of the run of bytes at P that are plain outside quotes (see shell_split__plain). */
static size_t shell_split__plain_run(const char *p, const unsigned char *plain)
{
	size_t n = 0;

	while (plain[(unsigned char)p[n]])
		n++;
	return n;
}

/* Starts a word in F even if nothing is added to it (`''`); quoting starts here. */
static void shell_split__scan_start(struct shell_split__frame *f)
{
	if (!f->in_word) {
		f->in_word = true;
		f->eq_seen = f->brace = false;
		f->word_at = f->len;
	}
	f->digits = false;
	if (!f->eq_seen)
		f->q_early = true;
}

/* Ends F's word in progress: kept, or dropped when it was a redirection's target. */
static void shell_split__scan_end_word(struct shell_split__frame *f)
{
	if (!f->in_word)
		return;
	f->in_word = false;
	if (f->skip_word) {
		f->skip_word = false;
		f->len = f->word_at;
		return;
	}
	if (f->len + 1 > f->cap) {
		f->cap = f->cap ? f->cap * 2 : 128;
		f->buf = xrealloc(f->buf, f->cap);
	}
	f->buf[f->len++] = '\0';
	if (f->n == f->ncap) {
		f->ncap = f->ncap ? f->ncap * 2 : 16;
		f->offs = xreallocarray(f->offs, f->ncap, sizeof *f->offs);
		f->noassign = xreallocarray(f->noassign, f->ncap, sizeof *f->noassign);
		f->ubrace = xreallocarray(f->ubrace, f->ncap, sizeof *f->ubrace);
	}
	f->noassign[f->n] = f->q_early;
	f->ubrace[f->n] = f->brace;
	f->offs[f->n++] = f->word_at;
}

/* True when W is `NAME=...` (an assignment before a command). */
static bool shell_split__assignment(const char *w)
{
	const char *p = w;

	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_'))
		return false;
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
	       *p == '_')
		p++;
	return *p == '=' || (p[0] == '+' && p[1] == '=');
}

/* Hands the blank-separated words of TEXT to the callback as one command. */
static void shell_split__scan_words(struct shell_split__opaque *st, const char *text)
{
	char *copy, *save = NULL;
	char **argv = NULL;
	size_t n = 0;

	/* One word (most values): no copy. A `$...` value is no literal at all. */
	if (text[0] == '\0' || text[0] == '$')
		return;
	if (strpbrk(text, " \t\n") == NULL) {
		char *one[2] = {(char *)text, NULL};

		st->fn(1, one, st->ctx);
		return;
	}
	copy = xstrdup(text);

	for (char *w = strtok_r(copy, " \t\n", &save); w != NULL;
	     w = strtok_r(NULL, " \t\n", &save)) {
		argv = xreallocarray(argv, n + 2, sizeof *argv);
		argv[n++] = w;
	}
	if (n > 0) {
		argv[n] = NULL;
		st->fn(n, argv, st->ctx);
	}
	free(argv);
	free(copy);
}

/*
 * Brace expansion of the program word: `{git,push} x` runs git push x. When
 * st->argv[0] holds PRE{A,B,...}POST, the callback also gets PREA POSTB ...
 * followed by the other words (one level, the first brace pair).
 */
static void shell_split__scan_braces(struct shell_split__opaque *st, size_t n)
{
	const char *w = st->argv[0], *open = strchr(w, '{'), *close;
	char **argv;
	size_t m = 0, alts = 1;

	if (open == NULL || (close = strchr(open, '}')) == NULL ||
	    memchr(open, ',', (size_t)(close - open)) == NULL)
		return;
	for (const char *c = open + 1; c < close; c++)
		alts += *c == ',';
	argv = xcalloc(alts + n, sizeof *argv);
	for (const char *a = open + 1;; a++) {
		const char *end = a;

		while (end < close && *end != ',')
			end++;
		argv[m++] =
		    xasprintf("%.*s%.*s%s", (int)(open - w), w, (int)(end - a), a, close + 1);
		if (end >= close)
			break;
		a = end;
	}
	for (size_t k = 1; k < n; k++)
		argv[m++] = xstrdup(st->argv[k]);
	argv[m] = NULL;
	st->fn(m, argv, st->ctx);
	for (size_t k = 0; k < m; k++)
		free(argv[k]);
	free(argv);
}

/* Ends F's command: hands its words (leading keywords and assignments dropped) to the callback. */
static void shell_split__scan_end_cmd(struct shell_split__opaque *st, struct shell_split__frame *f)
{
	size_t i = 0, n;

	shell_split__scan_end_word(f);
	f->skip_word = false;
	for (; i < f->n; i++) {
		const char *w = f->buf + f->offs[i];
		bool lead = !f->noassign[i] && shell_split__assignment(w);

		/*
		 * Every lead word starts with one of these bytes: most words stop
		 * here. A quoted word (`")"`, `"if"`) is never a keyword.
		 */
		if (!lead &&
		    (f->noassign[i] || w[0] == '\0' || strchr("itefdwu!{}()[]", w[0]) == NULL))
			break;
		for (size_t k = 0;
		     !lead && k < sizeof shell_split__lead / sizeof *shell_split__lead; k++)
			lead = strcmp(w, shell_split__lead[k]) == 0;
		if (!lead)
			break;
		/* `x="git push"; $x`: an assigned value may be run later; its words count. */
		if (!f->noassign[i] && shell_split__assignment(w))
			shell_split__scan_words(st, strchr(w, '=') + 1);
	}
	n = f->n - i;
	if (n > 0) {
		if (n + 1 > st->argv_cap) {
			st->argv_cap = n + 16;
			st->argv = xreallocarray(st->argv, st->argv_cap, sizeof *st->argv);
		}
		for (size_t k = 0; k < n; k++)
			st->argv[k] = f->buf + f->offs[i + k];
		st->argv[n] = NULL;
		st->fn(n, st->argv, st->ctx);
		if (f->ubrace[i])
			shell_split__scan_braces(st, n);
	}
	f->n = 0;
	f->len = 0;
}

/* Opens a frame of KIND over the current one; at the depth limit, a separator instead. */
static void shell_split__scan_push(struct shell_split__opaque *st,
                                   enum shell_split__frame_kind kind)
{
	struct shell_split__frame *f;

	if (st->top + 1 >= SHELL_SPLIT_SCAN_DEPTH) {
		st->overflow++;
		st->gave_up = true;
		shell_split__scan_end_cmd(st, &st->f[st->top]);
		return;
	}
	f = &st->f[++st->top];
	f->kind = kind;
	f->in_dq = false;
	f->in_word = false;
	f->skip_word = false;
	f->depth = 0;
	f->n = 0;
	f->len = 0;
}

/* Closes the current frame (its command ends) and returns to the one below. */
static void shell_split__scan_pop(struct shell_split__opaque *st)
{
	shell_split__scan_end_cmd(st, &st->f[st->top]);
	if (st->top > 0)
		st->top--;
}

/* The value of hex digit C, or -1. */
static int shell_split__hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Adds the $'...' text starting at S[I] (just past the opening quote) to
 * F's word, decoding bash's escapes (\xHH, \NNN, \n, \', ...; \u and \c
 * give '?'). Returns the index of the closing quote (or of the last byte).
 */
static size_t shell_split__ansi_c(struct shell_split__frame *f, const char *s, size_t i)
{
	static const char simple[] = "a\ab\be\033E\033f\fn\nr\rt\tv\v\\\\''\"\"??";

	shell_split__scan_start(f);
	for (; s[i] != '\0' && s[i] != '\''; i++) {
		const char *e;
		int v, d;

		if (s[i] != '\\' || s[i + 1] == '\0') {
			shell_split__scan_add(f, s[i]);
			continue;
		}
		i++;
		for (e = simple; *e != '\0' && *e != s[i]; e += 2)
			;
		if (*e != '\0') {
			shell_split__scan_add(f, e[1]);
		} else if (s[i] == 'x' && shell_split__hexval(s[i + 1]) >= 0) {
			v = shell_split__hexval(s[++i]);
			if ((d = shell_split__hexval(s[i + 1])) >= 0) {
				v = v * 16 + d;
				i++;
			}
			shell_split__scan_add(f, v != 0 ? (char)v : '?');
		} else if (s[i] >= '0' && s[i] <= '7') {
			v = s[i] - '0';
			for (int k = 0; k < 2 && s[i + 1] >= '0' && s[i + 1] <= '7'; k++)
				v = v * 8 + (s[++i] - '0');
			shell_split__scan_add(f, (v & 0xff) != 0 ? (char)(v & 0xff) : '?');
		} else {
			shell_split__scan_add(f, '\\');
			shell_split__scan_add(f, s[i]);
		}
	}
	return s[i] == '\0' ? i - 1 : i;
}

/* The conservative scan of SCRIPT (see shell-split.h). */
bool shell_split_scan(const char *script, shell_split_scan_fn fn, void *ctx)
{
	struct shell_split__opaque *st = xcalloc(1, sizeof *st);
	const char *s = script;
	unsigned char plain[256];
	bool complete;

	st->fn = fn;
	st->ctx = ctx;
	/* Bytes that are plain outside quotes: none of them starts anything. */
	memset(plain, 1, sizeof plain);
	for (const char *c = " \t\n;&|()<>'\"\\$`#"; *c != '\0'; c++)
		plain[(unsigned char)*c] = 0;
	plain[0] = 0;
	for (size_t i = 0; s[i] != '\0'; i++) {
		struct shell_split__frame *f = &st->f[st->top];
		char c = s[i];

		if (f->in_dq) {
			if (c == '"') {
				f->in_dq = false;
			} else if (c == '\\' && s[i + 1] != '\0' && strchr("$`\"\\\n", s[i + 1])) {
				if (s[++i] != '\n')
					shell_split__scan_add(f, s[i]);
			} else if (c == '$' && s[i + 1] == '(') {
				shell_split__scan_add(f, '$');
				i++;
				shell_split__scan_push(st, SHELL_SPLIT__F_PAREN);
			} else if (c == '`') {
				shell_split__scan_add(f, '$');
				shell_split__scan_push(st, SHELL_SPLIT__F_BACKTICK);
			} else {
				shell_split__scan_add(f, c);
			}
			continue;
		}
		switch (c) {
		case '\'':
			shell_split__scan_start(f);
			for (i++; s[i] != '\0' && s[i] != '\''; i++)
				shell_split__scan_add(f, s[i]);
			if (s[i] == '\0')
				i--;
			break;
		case '"':
			shell_split__scan_start(f);
			f->in_dq = true;
			break;
		case '\\':
			if (s[i + 1] == '\0')
				break;
			if (s[++i] != '\n') {
				shell_split__scan_start(f);
				shell_split__scan_add(f, s[i]);
			}
			break;
		case '$':
			/* $'...' is quoted text with C escapes: `$'\x67it' push` is git push. */
			if (s[i + 1] == '\'') {
				i = shell_split__ansi_c(f, s, i + 2);
				break;
			}
			/* $"..." is "..." (translated): the quotes come next. */
			if (s[i + 1] == '"')
				break;
			shell_split__scan_add(f, '$');
			if (s[i + 1] == '(') {
				i++;
				shell_split__scan_push(st, SHELL_SPLIT__F_PAREN);
			} else if (s[i + 1] == '{') {
				for (i++; s[i] != '\0' && s[i] != '}'; i++)
					shell_split__scan_add(f, s[i]);
				if (s[i] == '\0')
					i--;
				else
					shell_split__scan_add(f, '}');
			}
			break;
		case '`':
			if (f->kind == SHELL_SPLIT__F_BACKTICK && st->top > 0) {
				shell_split__scan_pop(st);
			} else {
				shell_split__scan_add(f, '$');
				shell_split__scan_push(st, SHELL_SPLIT__F_BACKTICK);
			}
			break;
		case ' ':
		case '\t':
			shell_split__scan_end_word(f);
			break;
		case '\n':
		case ';':
		case '&':
		case '|':
			shell_split__scan_end_cmd(st, f);
			break;
		case '(':
			shell_split__scan_end_cmd(st, f);
			if (f->kind == SHELL_SPLIT__F_PAREN)
				f->depth++;
			break;
		case ')':
			if (st->overflow > 0) {
				st->overflow--;
				shell_split__scan_end_cmd(st, f);
			} else if (f->kind == SHELL_SPLIT__F_PAREN && f->depth == 0 &&
			           st->top > 0) {
				shell_split__scan_pop(st);
			} else {
				if (f->kind == SHELL_SPLIT__F_PAREN && f->depth > 0)
					f->depth--;
				shell_split__scan_end_cmd(st, f);
			}
			break;
		case '<':
		case '>':
			if (s[i + 1] == '(') {
				shell_split__scan_end_word(f);
				i++;
				shell_split__scan_push(st, SHELL_SPLIT__F_PAREN);
				break;
			}
			/* `2>file`: the digits were a file descriptor, not a word. */
			if (f->in_word && f->digits) {
				f->in_word = false;
				f->len = f->word_at;
			}
			shell_split__scan_end_word(f);
			while (s[i + 1] == '<' || s[i + 1] == '>' || s[i + 1] == '&' ||
			       s[i + 1] == '|' || s[i + 1] == '-')
				i++;
			f->skip_word = true;
			break;
		case '#':
			if (f->in_word) {
				shell_split__scan_add(f, c);
				break;
			}
			while (s[i + 1] != '\0' && s[i + 1] != '\n')
				i++;
			break;
		default: {
			/* A run of plain bytes at once: most of a script. */
			size_t n = shell_split__plain_run(s + i, plain);

			shell_split__scan_add_run(f, s + i, n > 0 ? n : 1);
			i += n > 0 ? n - 1 : 0;
			break;
		}
		}
	}
	while (st->top > 0)
		shell_split__scan_pop(st);
	shell_split__scan_end_cmd(st, &st->f[0]);
	complete = !st->gave_up;
	for (size_t k = 0; k < SHELL_SPLIT_SCAN_DEPTH; k++) {
		free(st->f[k].buf);
		free(st->f[k].offs);
		free(st->f[k].noassign);
		free(st->f[k].ubrace);
	}
	free(st->argv);
	free(st);
	return complete;
}
