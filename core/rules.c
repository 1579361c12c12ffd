/*
 * Rules files: a hand-written lexer and recursive-descent parser for the
 * Starlark subset of SPEC section 6, an index by first word, and the
 * append/remove operations on rules files.
 *
 * Parsing is plan-then-commit: a file is parsed into values (strings and
 * lists with their positions), each call is checked against its function's
 * table of keyword arguments, and only when the whole file is good are its
 * rules added to the set and indexed. Every error carries the line and
 * byte column where the offending token starts (or where the input ended).
 *
 * The index is an open-addressing hash table from a word to the list of
 * rules whose pattern can start with it (a rule whose first element has
 * alternatives is listed under each). Evaluating a command looks at one
 * bucket and tests each rule in it, so cost grows with the rules sharing a
 * first word, not with the whole set.
 *
 * Appending a rule is one O_APPEND write of the whole line under an flock
 * on FILE.lock: the file is never replaced (a symlink stays one, a line
 * another writer appends meanwhile stays). Removing a rule rewrites the
 * file under the same lock: the new content (other bytes kept exactly)
 * goes to a temporary file beside the file's real target, is fsync'd and
 * renamed over the target, so a symlinked file stays symlinked.
 */
#include "rules.h"

#include "managed.h"
#include "read-all.h"
#include "rules-trust.h"
#include "shell-split.h"
#include "utf8.h"
#include "xmalloc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Nesting deeper than this in a rules file is an error (values are shallow). */
#define RULES_MAX_DEPTH 8
/* A rules file larger than this is refused. */
#define RULES_MAX_FILE (16 * 1024 * 1024)

/* ---- the rule set ---------------------------------------------------------- */

/*
 * A prefix rule of two or more words is listed under (first word, second
 * word) for each pair of their alternatives, unless there are more pairs
 * than this: then, like one-word rules, under its first word(s) alone.
 */
#define RULES_MAX_PAIRS 64

/* One bucket of the index: the key is one word, or two joined by a NUL. */
struct rules__slot {
	char *key; /* NULL: empty slot */
	size_t keylen;
	uint32_t hash;
	struct rules_rule **v;
	size_t n;
	size_t cap;
};

/* What a watched path looked like when the rules were read. */
struct rules__stamp {
	char *path;
	bool exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct timespec ctime;
};

/* A file's text as last loaded without error (the fallback of a broken edit). */
struct rules__source {
	char *path;
	char *text;
	size_t len;
	bool restrict_only;
};

struct rules {
	struct rules_rule **v; /* every rule, load order */
	size_t n;
	size_t cap;
	char **files; /* file names the rules point to */
	size_t n_files;
	struct rules__slot *slots; /* the index; n_slots is a power of two */
	size_t n_slots;
	size_t n_used;
	struct rules_rule **net; /* network rules, load order */
	size_t n_net;
	struct rules_rule **exe; /* host_executable rules, load order */
	size_t n_exe;
	/* live reload (rules_refresh) */
	bool loaded_all; /* filled by rules_load_all_info: refreshable */
	char *home;      /* what it loaded (copies), or NULL */
	char *workspace;
	char *managed_dir; /* the managed rules directory (rules_set_managed), or NULL */
	bool sandbox_only; /* managed allow_unsandboxed: false (rules_set_sandbox_only) */
	struct rules_workspace_info ws_info;
	struct rules__stamp *stamps; /* every path whose change means a reload */
	size_t n_stamps;
	struct rules__source *src; /* each file's last good text */
	size_t n_src;
	const struct rules *fallback; /* while refreshing: the set being replaced */
	char *broken;                 /* the last refresh's first error, or NULL */
	struct rules *retired;        /* earlier contents: rule pointers may still be held */
};

/* FNV-1a over LEN bytes. */
static uint32_t rules__hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

/* The index key of one word A, or of the pair A, B (B may be NULL). Caller frees. */
static char *rules__key(const char *a, const char *b, size_t *len)
{
	size_t la = strlen(a), lb = b != NULL ? strlen(b) : 0;
	char *k = xmalloc(la + lb + 2);

	memcpy(k, a, la + 1);
	if (b != NULL)
		memcpy(k + la + 1, b, lb + 1);
	*len = b != NULL ? la + 1 + lb : la;
	return k;
}

/* Makes an empty rule set. */
struct rules *rules_new(void)
{
	return xcalloc(1, sizeof(struct rules));
}

/* Frees one rule. */
static void rules__rule_free(struct rules_rule *rule)
{
	if (rule == NULL)
		return;
	free(rule->text);
	free(rule->pattern_text);
	free(rule->justification);
	free(rule->exe_name);
	for (size_t i = 0; i < rule->n_exe_paths; i++)
		free(rule->exe_paths[i]);
	free(rule->exe_paths);
	for (size_t i = 0; i < rule->pattern_len; i++) {
		for (size_t j = 0; j < rule->pattern[i].n_alts; j++)
			free(rule->pattern[i].alts[j]);
		free(rule->pattern[i].alts);
	}
	free(rule->pattern);
	free(rule->host);
	free(rule->protocol);
	free(rule);
}

/* Frees a rule set. */
void rules_free(struct rules *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		rules__rule_free(r->v[i]);
	free(r->v);
	for (size_t i = 0; i < r->n_files; i++)
		free(r->files[i]);
	free(r->files);
	for (size_t i = 0; i < r->n_slots; i++) {
		free(r->slots[i].key);
		free(r->slots[i].v);
	}
	free(r->slots);
	free(r->net);
	free(r->exe);
	free(r->home);
	free(r->workspace);
	free(r->managed_dir);
	for (size_t i = 0; i < r->n_stamps; i++)
		free(r->stamps[i].path);
	free(r->stamps);
	for (size_t i = 0; i < r->n_src; i++) {
		free(r->src[i].path);
		free(r->src[i].text);
	}
	free(r->src);
	free(r->broken);
	rules_free(r->retired);
	free(r);
}

/* Finds the slot of KEY (or the empty slot where it would go). */
static struct rules__slot *rules__find(const struct rules *r, const char *key, size_t len,
                                       uint32_t h)
{
	size_t mask = r->n_slots - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct rules__slot *s = &r->slots[i];

		if (s->key == NULL ||
		    (s->hash == h && s->keylen == len && memcmp(s->key, key, len) == 0))
			return s;
	}
}

/* Doubles the index when it is more than half full. */
static void rules__grow(struct rules *r)
{
	struct rules__slot *old = r->slots;
	size_t n_old = r->n_slots;

	if (r->n_slots != 0 && (r->n_used + 1) * 2 <= r->n_slots)
		return;
	r->n_slots = n_old ? n_old * 2 : 64;
	r->slots = xcalloc(r->n_slots, sizeof *r->slots);
	for (size_t i = 0; i < n_old; i++)
		if (old[i].key != NULL)
			*rules__find(r, old[i].key, old[i].keylen, old[i].hash) = old[i];
	free(old);
}

/* Lists RULE under the key of word A (and B, if not NULL). */
static void rules__index(struct rules *r, const char *a, const char *b, struct rules_rule *rule)
{
	size_t len;
	char *key = rules__key(a, b, &len);
	uint32_t h = rules__hash(key, len);
	struct rules__slot *s;

	rules__grow(r);
	s = rules__find(r, key, len, h);
	if (s->key == NULL) {
		s->key = key;
		s->keylen = len;
		s->hash = h;
		r->n_used++;
	} else {
		free(key);
	}
	if (s->n > 0 && s->v[s->n - 1] == rule)
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 2;
		s->v = xreallocarray(s->v, s->cap, sizeof *s->v);
	}
	s->v[s->n++] = rule;
}

/* Adds RULE (owned from now on) to the set and its index. */
static void rules__add(struct rules *r, struct rules_rule *rule)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->v = xreallocarray(r->v, r->cap, sizeof *r->v);
	}
	rule->index = r->n;
	r->v[r->n++] = rule;
	if (rule->kind == RULES_KIND_NETWORK) {
		r->net = xreallocarray(r->net, r->n_net + 1, sizeof *r->net);
		r->net[r->n_net++] = rule;
		return;
	}
	if (rule->kind == RULES_KIND_HOST_EXECUTABLE) {
		r->exe = xreallocarray(r->exe, r->n_exe + 1, sizeof *r->exe);
		r->exe[r->n_exe++] = rule;
		return;
	}
	/* A rule's keys go in one after another, so rules__index drops repeats. */
	if (rule->pattern_len == 1 ||
	    rule->pattern[0].n_alts * rule->pattern[1].n_alts > RULES_MAX_PAIRS) {
		for (size_t i = 0; i < rule->pattern[0].n_alts; i++)
			rules__index(r, rule->pattern[0].alts[i], NULL, rule);
		return;
	}
	for (size_t i = 0; i < rule->pattern[0].n_alts; i++)
		for (size_t j = 0; j < rule->pattern[1].n_alts; j++)
			rules__index(r, rule->pattern[0].alts[i], rule->pattern[1].alts[j], rule);
}

/* The set's own copy of the file name FILE. */
static const char *rules__file(struct rules *r, const char *file)
{
	for (size_t i = r->n_files; i > 0; i--)
		if (strcmp(r->files[i - 1], file) == 0)
			return r->files[i - 1];
	r->files = xreallocarray(r->files, r->n_files + 1, sizeof *r->files);
	r->files[r->n_files] = xstrdup(file);
	return r->files[r->n_files++];
}

/* How many rules the set holds. */
size_t rules_count(const struct rules *r)
{
	return r != NULL ? r->n : 0;
}

/* The Ith rule in load order. */
const struct rules_rule *rules_get(const struct rules *r, size_t i)
{
	return r != NULL && i < r->n ? r->v[i] : NULL;
}

/* ---- matching -------------------------------------------------------------- */

/* True when the prefix rule RULE matches ARGV. */
bool rules_rule_matches(const struct rules_rule *rule, size_t argc, char *const argv[])
{
	if (rule->kind != RULES_KIND_PREFIX || rule->pattern_len > argc)
		return false;
	for (size_t i = 0; i < rule->pattern_len; i++) {
		const struct rules_token *t = &rule->pattern[i];
		size_t j;

		for (j = 0; j < t->n_alts; j++)
			if (strcmp(t->alts[j], argv[i]) == 0)
				break;
		if (j == t->n_alts)
			return false;
	}
	return true;
}

/* The rules name of program word WORD, or NULL when host_executable pins it elsewhere. */
/* rules_resolve_program, counting every pin or (MANAGED_ONLY) the managed policy's alone. */
static const char *rules__resolve(const struct rules *r, const char *word, bool managed_only)
{
	const char *base = strrchr(word, '/');
	bool pinned = false;

	if (base == NULL)
		return word;
	base++;
	for (size_t i = 0; r != NULL && i < r->n_exe; i++) {
		const struct rules_rule *x = r->exe[i];

		if (strcmp(x->exe_name, base) != 0 || (managed_only && !x->managed))
			continue;
		pinned = true;
		for (size_t j = 0; j < x->n_exe_paths; j++)
			if (strcmp(x->exe_paths[j], word) == 0)
				return base;
	}
	return pinned ? NULL : base;
}

const char *rules_resolve_program(const struct rules *r, const char *word)
{
	return rules__resolve(r, word, false);
}

const char *rules_resolve_program_managed(const struct rules *r, const char *word)
{
	if (r == NULL || r->managed_dir == NULL)
		return NULL;
	return rules__resolve(r, word, true);
}

/* Appends RULE to M. */
void rules_matches_add(struct rules_matches *m, const struct rules_rule *rule)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 4;
		m->v = xreallocarray(m->v, m->cap, sizeof *m->v);
	}
	m->v[m->n++] = rule;
}

/* Appends every prefix rule matching ARGV to M, in load order. */
void rules_match_command(const struct rules *r, size_t argc, char *const argv[],
                         struct rules_matches *m)
{
	const struct rules__slot *one, *two = NULL;
	size_t len, i = 0, j = 0;
	char *key;

	if (r == NULL || r->n_slots == 0 || argc == 0)
		return;
	len = strlen(argv[0]);
	one = rules__find(r, argv[0], len, rules__hash(argv[0], len));
	if (argc >= 2) {
		size_t l1 = strlen(argv[1]);
		char small[256];

		/* The pair key, on the stack when it fits (most do: no allocation). */
		if (len + l1 + 2 <= sizeof small) {
			memcpy(small, argv[0], len + 1);
			memcpy(small + len + 1, argv[1], l1 + 1);
			two = rules__find(r, small, len + 1 + l1, rules__hash(small, len + 1 + l1));
		} else {
			key = rules__key(argv[0], argv[1], &len);
			two = rules__find(r, key, len, rules__hash(key, len));
			free(key);
		}
	}
	/* Merge the two lists (each in load order) into load order. */
	while ((one->key != NULL && i < one->n) ||
	       (two != NULL && two->key != NULL && j < two->n)) {
		const struct rules_rule *rule;

		if (two == NULL || two->key == NULL || j >= two->n ||
		    (one->key != NULL && i < one->n && one->v[i]->index < two->v[j]->index))
			rule = one->v[i++];
		else
			rule = two->v[j++];
		if (rules_rule_matches(rule, argc, argv))
			rules_matches_add(m, rule);
	}
}

/* The strictest decision in M. */
enum rules_decision rules_matches_strictest(const struct rules_matches *m)
{
	enum rules_decision d = RULES_ALLOW;

	for (size_t i = 0; i < m->n; i++)
		if (m->v[i]->decision > d)
			d = m->v[i]->decision;
	return d;
}

/* Frees M's array. */
void rules_matches_free(struct rules_matches *m)
{
	free(m->v);
	memset(m, 0, sizeof *m);
}

/* True when the lower-cased HOST is matched by the rule host PATTERN. */
static bool rules__host_matches(const char *pattern, const char *host)
{
	if (strncmp(pattern, "*.", 2) == 0) {
		size_t hl = strlen(host), pl = strlen(pattern + 1);

		return hl > pl && strcmp(host + hl - pl, pattern + 1) == 0;
	}
	return strcmp(pattern, host) == 0;
}

/* The strictest network rule for HOST, PROTOCOL and PORT (0: unknown), or NULL. */
const struct rules_rule *rules_match_network_port(const struct rules *r, const char *host,
                                                  const char *protocol, unsigned port)
{
	const struct rules_rule *best = NULL;
	char *lower;

	if (r == NULL || host == NULL)
		return NULL;
	lower = xstrdup(host);
	for (char *p = lower; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	/* `host.example.` is `host.example`: a rule is not sidestepped by a trailing dot. */
	if (strlen(lower) > 1 && lower[strlen(lower) - 1] == '.')
		lower[strlen(lower) - 1] = '\0';
	for (size_t i = 0; i < r->n_net; i++) {
		const struct rules_rule *rule = r->net[i];

		if (rule->protocol != NULL &&
		    (protocol == NULL || strcasecmp(rule->protocol, protocol) != 0))
			continue;
		/* A rule for one port: with the port unknown, it only restricts. */
		if (rule->port != 0 &&
		    (port != 0 ? rule->port != port : rule->decision == RULES_ALLOW))
			continue;
		if (!rules__host_matches(rule->host, lower))
			continue;
		if (best == NULL || rule->decision > best->decision)
			best = rule;
	}
	free(lower);
	return best;
}

/* The strictest network rule for HOST and PROTOCOL, the port unknown, or NULL. */
const struct rules_rule *rules_match_network(const struct rules *r, const char *host,
                                             const char *protocol)
{
	return rules_match_network_port(r, host, protocol, 0);
}

/* The name of decision D for a rule of KIND. */
const char *rules_decision_name(enum rules_kind kind, enum rules_decision d)
{
	switch (d) {
	case RULES_ALLOW:
		return "allow";
	case RULES_PROMPT:
		return "prompt";
	case RULES_FORBIDDEN:
		return kind == RULES_KIND_NETWORK ? "deny" : "forbidden";
	}
	return "?";
}

/* ---- the lexer ------------------------------------------------------------- */

enum rules__tok_type {
	RULES__T_EOF,
	RULES__T_IDENT,
	RULES__T_STRING,
	RULES__T_LPAREN,
	RULES__T_RPAREN,
	RULES__T_LBRACK,
	RULES__T_RBRACK,
	RULES__T_COMMA,
	RULES__T_EQUALS,
};

struct rules__tok {
	enum rules__tok_type type;
	unsigned line;
	unsigned col;
	size_t off; /* byte offset of its start */
	size_t end; /* byte offset just past it */
	char *text; /* IDENT and STRING: the (unescaped) text, owned */
};

/* The parser's state over one buffer. */
struct rules__parser {
	const char *file;
	const char *s;
	size_t len;
	size_t pos;
	unsigned line;
	size_t line_start; /* offset of the current line's first byte */
	struct rules__tok tok;
	char *error; /* the first error, formatted */
};

/* Records an error at LINE:COL (only the first one counts). Returns -EINVAL. */
static int rules__error(struct rules__parser *p, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int rules__error(struct rules__parser *p, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (p->error != NULL)
		return -EINVAL;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	p->error = xasprintf("%s:%u:%u: %s", p->file, line, col, msg);
	free(msg);
	return -EINVAL;
}

/* The column of offset OFF on the current line. */
static unsigned rules__col(const struct rules__parser *p, size_t off)
{
	return (unsigned)(off - p->line_start + 1);
}

/* Skips blanks, newlines and comments. */
static void rules__skip(struct rules__parser *p)
{
	while (p->pos < p->len) {
		char c = p->s[p->pos];

		if (c == '\n') {
			p->pos++;
			p->line++;
			p->line_start = p->pos;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
			p->pos++;
		} else if (c == '#') {
			while (p->pos < p->len && p->s[p->pos] != '\n')
				p->pos++;
		} else {
			break;
		}
	}
}

/* Appends the UTF-8 encoding of code point CP to the buffer. */
static void rules__utf8(char **buf, size_t *n, size_t *cap, uint32_t cp)
{
	unsigned char out[4];
	size_t k;

	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		k = 1;
	} else if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | (cp >> 6));
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		k = 2;
	} else if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | (cp >> 12));
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		k = 3;
	} else {
		out[0] = (unsigned char)(0xf0 | (cp >> 18));
		out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		out[3] = (unsigned char)(0x80 | (cp & 0x3f));
		k = 4;
	}
	if (*n + k + 1 > *cap) {
		*cap = (*n + k + 1) * 2;
		*buf = xrealloc(*buf, *cap);
	}
	memcpy(*buf + *n, out, k);
	*n += k;
	(*buf)[*n] = '\0';
}

/* The value of hex digit C, or -1. */
static int rules__hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Scans a quoted string starting at p->pos into TOK. Returns 0 or -EINVAL. */
static int rules__string(struct rules__parser *p, struct rules__tok *tok)
{
	char quote = p->s[p->pos];
	size_t n = 0, cap = 16;
	char *buf = xmalloc(cap);
	/* A triple-quoted string ends at three quotes and may span lines. */
	bool triple = p->pos + 2 < p->len && p->s[p->pos + 1] == quote && p->s[p->pos + 2] == quote;

	buf[0] = '\0';
	p->pos += triple ? 3 : 1;
	for (;;) {
		char c;
		uint32_t cp;

		if (p->pos >= p->len || (!triple && p->s[p->pos] == '\n')) {
			free(buf);
			return rules__error(p, tok->line, tok->col,
			                    triple ? "triple-quoted string not closed"
			                           : "string not closed on its line");
		}
		c = p->s[p->pos];
		if (c == quote && (!triple || (p->pos + 2 < p->len && p->s[p->pos + 1] == quote &&
		                               p->s[p->pos + 2] == quote))) {
			p->pos += triple ? 3 : 1;
			break;
		}
		if (c == '\n' ||
		    (c == '\\' && triple && p->pos + 1 < p->len && p->s[p->pos + 1] == '\n')) {
			/* A newline in a triple-quoted string; backslash-newline joins lines. */
			if (c == '\\')
				p->pos++;
			else
				rules__utf8(&buf, &n, &cap, '\n');
			p->pos++;
			p->line++;
			p->line_start = p->pos;
			continue;
		}
		if (c == '\0') {
			free(buf);
			return rules__error(p, p->line, rules__col(p, p->pos),
			                    "NUL byte in a string");
		}
		if (c != '\\') {
			if (n + 2 > cap) {
				cap *= 2;
				buf = xrealloc(buf, cap);
			}
			buf[n++] = c;
			buf[n] = '\0';
			p->pos++;
			continue;
		}
		/* An escape sequence. */
		{
			size_t at = p->pos;
			char e = p->pos + 1 < p->len ? p->s[p->pos + 1] : '\0';
			int digits = 0, base = 0, maxd = 0;

			p->pos += 2;
			switch (e) {
			case '\\':
			case '\'':
			case '"':
				cp = (unsigned char)e;
				break;
			case 'n':
				cp = '\n';
				break;
			case 't':
				cp = '\t';
				break;
			case 'r':
				cp = '\r';
				break;
			case 'a':
				cp = '\a';
				break;
			case 'b':
				cp = '\b';
				break;
			case 'f':
				cp = '\f';
				break;
			case 'v':
				cp = '\v';
				break;
			case 'x':
				base = 16, maxd = 2;
				break;
			case 'u':
				base = 16, maxd = 4;
				break;
			case 'U':
				base = 16, maxd = 8;
				break;
			default:
				if (e >= '0' && e <= '7') {
					base = 8, maxd = 3;
					p->pos--;
					break;
				}
				free(buf);
				return rules__error(p, p->line, rules__col(p, at),
				                    "unknown escape sequence in a string");
			}
			if (base != 0) {
				cp = 0;
				while (digits < maxd && p->pos < p->len) {
					int v = base == 16
					            ? rules__hex(p->s[p->pos])
					            : (p->s[p->pos] >= '0' && p->s[p->pos] <= '7'
					                   ? p->s[p->pos] - '0'
					                   : -1);

					if (v < 0)
						break;
					cp = cp * (uint32_t)base + (uint32_t)v;
					digits++;
					p->pos++;
				}
				if ((base == 16 && digits != maxd) || cp == 0 || cp > 0x10ffff ||
				    (cp >= 0xd800 && cp <= 0xdfff) || (e == 'x' && cp > 0x7f) ||
				    (base == 8 && cp > 0x7f)) {
					free(buf);
					return rules__error(p, p->line, rules__col(p, at),
					                    "bad escape sequence in a string");
				}
			}
			rules__utf8(&buf, &n, &cap, cp);
		}
	}
	tok->type = RULES__T_STRING;
	tok->text = buf;
	return 0;
}

/* Reads the next token into p->tok. Returns 0 or -EINVAL. */
static int rules__next(struct rules__parser *p)
{
	struct rules__tok *tok = &p->tok;
	char c;

	free(tok->text);
	memset(tok, 0, sizeof *tok);
	rules__skip(p);
	tok->line = p->line;
	tok->col = rules__col(p, p->pos);
	tok->off = p->pos;
	if (p->pos >= p->len) {
		tok->type = RULES__T_EOF;
		tok->end = p->pos;
		return 0;
	}
	c = p->s[p->pos];
	if (isalpha((unsigned char)c) || c == '_') {
		size_t start = p->pos;

		while (p->pos < p->len &&
		       (isalnum((unsigned char)p->s[p->pos]) || p->s[p->pos] == '_'))
			p->pos++;
		tok->type = RULES__T_IDENT;
		tok->text = xstrndup(p->s + start, p->pos - start);
	} else if (c == '"' || c == '\'') {
		if (rules__string(p, tok) != 0)
			return -EINVAL;
	} else {
		static const struct {
			char c;
			enum rules__tok_type type;
		} punct[] = {
		    {.c = '(', .type = RULES__T_LPAREN}, {.c = ')', .type = RULES__T_RPAREN},
		    {.c = '[', .type = RULES__T_LBRACK}, {.c = ']', .type = RULES__T_RBRACK},
		    {.c = ',', .type = RULES__T_COMMA},  {.c = '=', .type = RULES__T_EQUALS},
		};
		size_t i;

		for (i = 0; i < sizeof punct / sizeof *punct; i++)
			if (punct[i].c == c)
				break;
		if (i == sizeof punct / sizeof *punct) {
			if (isprint((unsigned char)c))
				return rules__error(p, tok->line, tok->col,
				                    "unexpected character '%c'", c);
			return rules__error(p, tok->line, tok->col, "unexpected byte 0x%02x",
			                    (unsigned char)c);
		}
		tok->type = punct[i].type;
		p->pos++;
	}
	tok->end = p->pos;
	return 0;
}

/* ---- values ---------------------------------------------------------------- */

enum rules__val_type {
	RULES__V_STRING,
	RULES__V_LIST,
};

/* A parsed value with the position of its first token. */
struct rules__val {
	enum rules__val_type type;
	unsigned line;
	unsigned col;
	char *s;                  /* STRING */
	struct rules__val *items; /* LIST */
	size_t n;
};

/* Frees the insides of V. */
static void rules__val_free(struct rules__val *v)
{
	free(v->s);
	for (size_t i = 0; i < v->n; i++)
		rules__val_free(&v->items[i]);
	free(v->items);
	memset(v, 0, sizeof *v);
}

/* The message for an unexpected end of input inside the call opened on LINE. */
static int rules__eof(struct rules__parser *p, unsigned call_line)
{
	return rules__error(p, p->tok.line, p->tok.col,
	                    "end of input inside the call opened on line %u", call_line);
}

/* Parses a value (string or list) at the current token into V. */
static int rules__value(struct rules__parser *p, struct rules__val *v, unsigned call_line,
                        int depth)
{
	memset(v, 0, sizeof *v);
	v->line = p->tok.line;
	v->col = p->tok.col;
	if (p->tok.type == RULES__T_STRING) {
		v->type = RULES__V_STRING;
		v->s = p->tok.text;
		p->tok.text = NULL;
		return rules__next(p);
	}
	if (p->tok.type == RULES__T_EOF)
		return rules__eof(p, call_line);
	if (p->tok.type != RULES__T_LBRACK)
		return rules__error(p, p->tok.line, p->tok.col, "expected a string or a list");
	if (depth >= RULES_MAX_DEPTH)
		return rules__error(p, p->tok.line, p->tok.col, "lists nested too deeply");
	v->type = RULES__V_LIST;
	if (rules__next(p) != 0)
		return -EINVAL;
	while (p->tok.type != RULES__T_RBRACK) {
		v->items = xreallocarray(v->items, v->n + 1, sizeof *v->items);
		if (rules__value(p, &v->items[v->n], call_line, depth + 1) != 0) {
			v->n++;
			return -EINVAL;
		}
		v->n++;
		if (p->tok.type == RULES__T_COMMA) {
			if (rules__next(p) != 0)
				return -EINVAL;
			continue;
		}
		if (p->tok.type == RULES__T_EOF)
			return rules__eof(p, call_line);
		if (p->tok.type != RULES__T_RBRACK)
			return rules__error(p, p->tok.line, p->tok.col, "expected ',' or ']'");
	}
	return rules__next(p);
}

/* ---- calls ----------------------------------------------------------------- */

/* The keyword arguments a function takes. */
enum rules__arg {
	RULES__A_PATTERN,
	RULES__A_DECISION,
	RULES__A_JUSTIFICATION,
	RULES__A_MATCH,
	RULES__A_NOT_MATCH,
	RULES__A_HOST,
	RULES__A_PROTOCOL,
	RULES__A_NAME,
	RULES__A_PATHS,
	RULES__A_COUNT,
};

static const char *const rules__arg_names[RULES__A_COUNT] = {
    [RULES__A_PATTERN] = "pattern",
    [RULES__A_DECISION] = "decision",
    [RULES__A_JUSTIFICATION] = "justification",
    [RULES__A_MATCH] = "match",
    [RULES__A_NOT_MATCH] = "not_match",
    [RULES__A_HOST] = "host",
    [RULES__A_PROTOCOL] = "protocol",
    [RULES__A_NAME] = "name",
    [RULES__A_PATHS] = "paths",
};

/* A function of the rules language. */
struct rules__func {
	const char *name;
	enum rules_kind kind;
	unsigned args;                /* bit set of enum rules__arg it accepts */
	unsigned required;            /* ... and requires */
	const char *const *decisions; /* accepted decision values, by enum rules_decision */
	enum rules_decision default_decision;
};

static const char *const rules__prefix_decisions[] = {
    [RULES_ALLOW] = "allow", [RULES_PROMPT] = "prompt", [RULES_FORBIDDEN] = "forbidden"};
static const char *const rules__network_decisions[] = {
    [RULES_ALLOW] = "allow", [RULES_PROMPT] = "prompt", [RULES_FORBIDDEN] = "deny"};

static const struct rules__func rules__funcs[] = {
    {
        .name = "prefix_rule",
        .kind = RULES_KIND_PREFIX,
        .args = 1u << RULES__A_PATTERN | 1u << RULES__A_DECISION | 1u << RULES__A_JUSTIFICATION |
                1u << RULES__A_MATCH | 1u << RULES__A_NOT_MATCH,
        .required = 1u << RULES__A_PATTERN,
        .decisions = rules__prefix_decisions,
        .default_decision = RULES_ALLOW,
    },
    {
        .name = "network_rule",
        .kind = RULES_KIND_NETWORK,
        .args = 1u << RULES__A_HOST | 1u << RULES__A_PROTOCOL | 1u << RULES__A_DECISION |
                1u << RULES__A_JUSTIFICATION,
        .required = 1u << RULES__A_HOST | 1u << RULES__A_DECISION,
        .decisions = rules__network_decisions,
    },
    {
        .name = "host_executable",
        .kind = RULES_KIND_HOST_EXECUTABLE,
        .args = 1u << RULES__A_NAME | 1u << RULES__A_PATHS,
        .required = 1u << RULES__A_NAME | 1u << RULES__A_PATHS,
        .decisions = rules__prefix_decisions,
    },
};

/* Protocols a network rule may name, and the name airlock's proxy uses for each. */
static const struct {
	const char *name;
	const char *canonical;
} rules__protocols[] = {
    {"http", "http"},
    {"https", "https"},
    {"socks5", "socks5"},
    {"tcp", "tcp"},
    /* Codex's names: an HTTP CONNECT tunnel is what the proxy calls https. */
    {"https_connect", "https"},
    {"http-connect", "https"},
    {"socks5_tcp", "socks5"},
    /* The proxy carries no UDP: such a rule matches nothing it sees. */
    {"socks5_udp", "socks5_udp"},
};

/* A string value's error when V is not a string. */
static int rules__want_string(struct rules__parser *p, const struct rules__val *v, const char *what)
{
	if (v->type == RULES__V_STRING)
		return 0;
	return rules__error(p, v->line, v->col, "%s must be a string", what);
}

/* Appends the canonical form of word W ("..." quoted) to *OUT. */
static char *rules__append_str(char *out, const char *w)
{
	char *q = rules_quote(w);
	char *n = xasprintf("%s%s", out, q);

	free(q);
	free(out);
	return n;
}

/* Fills RULE's pattern from V (checked). */
static int rules__pattern(struct rules__parser *p, struct rules_rule *rule,
                          const struct rules__val *v)
{
	char *text = xstrdup("[");

	if (v->type != RULES__V_LIST) {
		free(text);
		return rules__error(p, v->line, v->col, "pattern must be a list");
	}
	if (v->n == 0) {
		free(text);
		return rules__error(p, v->line, v->col, "pattern must not be empty");
	}
	rule->pattern = xcalloc(v->n, sizeof *rule->pattern);
	for (size_t i = 0; i < v->n; i++) {
		const struct rules__val *e = &v->items[i];
		struct rules_token *t = &rule->pattern[i];
		char *tmp;

		rule->pattern_len = i + 1;
		if (i > 0) {
			tmp = xasprintf("%s, ", text);
			free(text);
			text = tmp;
		}
		if (e->type == RULES__V_STRING) {
			t->alts = xcalloc(1, sizeof *t->alts);
			t->alts[0] = xstrdup(e->s);
			t->n_alts = 1;
			text = rules__append_str(text, e->s);
			continue;
		}
		if (e->n == 0) {
			free(text);
			return rules__error(p, e->line, e->col,
			                    "a list of alternatives must not be empty");
		}
		t->alts = xcalloc(e->n, sizeof *t->alts);
		tmp = xasprintf("%s[", text);
		free(text);
		text = tmp;
		for (size_t j = 0; j < e->n; j++) {
			if (e->items[j].type != RULES__V_STRING) {
				free(text);
				return rules__error(p, e->items[j].line, e->items[j].col,
				                    "alternatives must be strings");
			}
			t->alts[j] = xstrdup(e->items[j].s);
			t->n_alts = j + 1;
			if (j > 0) {
				tmp = xasprintf("%s, ", text);
				free(text);
				text = tmp;
			}
			text = rules__append_str(text, e->items[j].s);
		}
		tmp = xasprintf("%s]", text);
		free(text);
		text = tmp;
	}
	rule->pattern_text = xasprintf("%s]", text);
	free(text);
	return 0;
}

/* Checks the match (WANT true) or not_match examples V against RULE. */
static int rules__examples(struct rules__parser *p, const struct rules_rule *rule,
                           const struct rules__val *v, bool want, const char *what)
{
	if (v->type != RULES__V_LIST)
		return rules__error(p, v->line, v->col, "%s must be a list of examples", what);
	for (size_t i = 0; i < v->n; i++) {
		const struct rules__val *e = &v->items[i];
		char **words;
		size_t n;
		bool ok;

		if (e->type == RULES__V_STRING) {
			if (shell_split_words(e->s, &words, &n) != 0)
				return rules__error(p, e->line, e->col,
				                    "%s example \"%s\" has an unclosed quote", what,
				                    e->s);
		} else {
			words = xcalloc(e->n + 1, sizeof *words);
			n = e->n;
			for (size_t j = 0; j < e->n; j++) {
				if (e->items[j].type != RULES__V_STRING) {
					shell_split_words_free(words);
					return rules__error(p, e->items[j].line, e->items[j].col,
					                    "example words must be strings");
				}
				words[j] = xstrdup(e->items[j].s);
			}
		}
		if (n == 0) {
			shell_split_words_free(words);
			return rules__error(p, e->line, e->col, "%s example is empty", what);
		}
		ok = rules_rule_matches(rule, n, words) == want;
		if (!ok) {
			char *shown = shell_split_join(n, words);

			shell_split_words_free(words);
			rules__error(p, e->line, e->col,
			             want ? "match example \"%s\" does not match the pattern"
			                  : "not_match example \"%s\" matches the pattern",
			             shown);
			free(shown);
			return -EINVAL;
		}
		shell_split_words_free(words);
	}
	return 0;
}

/* Checks and stores a network rule's host. */
static int rules__host(struct rules__parser *p, struct rules_rule *rule, const struct rules__val *v)
{
	const char *h, *port = NULL;
	size_t hl;

	if (rules__want_string(p, v, "host") != 0)
		return -EINVAL;
	h = v->s;
	hl = strlen(h);
	if (h[0] == '[') {
		/* A bracketed IPv6 address, with an optional :PORT. */
		const char *close = strchr(h, ']');

		if (close == NULL || close == h + 1 ||
		    (close[1] != '\0' && (close[1] != ':' || close[2] == '\0')))
			return rules__error(p, v->line, v->col,
			                    "host \"%s\" is not a bracketed IPv6 address "
			                    "([ADDRESS] or [ADDRESS]:PORT)",
			                    v->s);
		for (const char *c = h + 1; c < close; c++)
			if (!isxdigit((unsigned char)*c) && *c != ':' && *c != '.')
				return rules__error(p, v->line, v->col,
				                    "host \"%s\" is not a bracketed IPv6 address",
				                    v->s);
		port = close[1] == ':' ? close + 2 : NULL;
		h++;
		hl = (size_t)(close - h);
	} else {
		const char *colon = strchr(h, ':');

		/* NAME:PORT (one colon); more colons make a bare IPv6 address. */
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			port = colon + 1;
			hl = (size_t)(colon - h);
		}
		if (strncmp(h, "*.", 2) == 0) {
			h += 2;
			hl -= 2;
		}
		if (hl == 0)
			return rules__error(p, v->line, v->col, "host must not be empty");
		for (size_t i = 0; i < hl; i++)
			if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.' &&
			    h[i] != '_' && h[i] != ':')
				return rules__error(
				    p, v->line, v->col,
				    "host \"%s\" is not a host name (letters, digits, "
				    "'-', '.', an optional leading \"*.\", an optional "
				    ":PORT)",
				    v->s);
		if (h != v->s) {
			h -= 2;
			hl += 2;
		}
	}
	if (port != NULL) {
		unsigned long n = 0;

		for (const char *c = port; *c != '\0'; c++) {
			if (!isdigit((unsigned char)*c) || n > 65535)
				break;
			n = n * 10 + (unsigned long)(*c - '0');
		}
		if (port[0] == '\0' || strspn(port, "0123456789") != strlen(port) || n == 0 ||
		    n > 65535)
			return rules__error(p, v->line, v->col,
			                    "port in host \"%s\" must be 1-65535", v->s);
		rule->port = (unsigned)n;
	}
	rule->host = xstrndup(h, hl);
	for (char *c = rule->host; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	return 0;
}

/* Fills a host_executable rule from its name NAME and its list of absolute PATHS. */
static int rules__exe(struct rules__parser *p, struct rules_rule *rule,
                      const struct rules__val *name, const struct rules__val *paths)
{
	if (rules__want_string(p, name, "name") != 0)
		return -EINVAL;
	if (name->s[0] == '\0' || strchr(name->s, '/') != NULL)
		return rules__error(p, name->line, name->col,
		                    "name must be a program's bare name (no '/'), not \"%s\"",
		                    name->s);
	if (paths->type != RULES__V_LIST)
		return rules__error(p, paths->line, paths->col, "paths must be a list of strings");
	rule->exe_name = xstrdup(name->s);
	rule->exe_paths = xcalloc(paths->n + 1, sizeof *rule->exe_paths);
	for (size_t i = 0; i < paths->n; i++) {
		const struct rules__val *e = &paths->items[i];
		const char *b;

		if (rules__want_string(p, e, "a path") != 0)
			return -EINVAL;
		b = strrchr(e->s, '/');
		if (e->s[0] != '/' || b == NULL || strcmp(b + 1, name->s) != 0)
			return rules__error(p, e->line, e->col,
			                    "path \"%s\" must be absolute and end in /%s", e->s,
			                    name->s);
		rule->exe_paths[i] = xstrdup(e->s);
		rule->n_exe_paths = i + 1;
	}
	rule->pattern_text = xasprintf("host_executable %s", name->s);
	return 0;
}

/* Builds a rule from FN's keyword arguments ARGS (indexed by enum rules__arg). */
static int rules__build(struct rules__parser *p, const struct rules__func *fn,
                        const struct rules__tok *name, struct rules__val *args[RULES__A_COUNT],
                        struct rules_rule *rule)
{
	rule->kind = fn->kind;
	rule->decision = fn->default_decision;
	rule->line = name->line;
	rule->col = name->col;
	for (int a = 0; a < RULES__A_COUNT; a++)
		if ((fn->required & (1u << a)) && args[a] == NULL)
			return rules__error(p, name->line, name->col, "%s needs %s=", fn->name,
			                    rules__arg_names[a]);
	if (fn->kind == RULES_KIND_HOST_EXECUTABLE)
		return rules__exe(p, rule, args[RULES__A_NAME], args[RULES__A_PATHS]);
	if (args[RULES__A_DECISION] != NULL) {
		const struct rules__val *v = args[RULES__A_DECISION];
		int d;

		if (rules__want_string(p, v, "decision") != 0)
			return -EINVAL;
		for (d = RULES_ALLOW; d <= RULES_FORBIDDEN; d++)
			if (strcmp(v->s, fn->decisions[d]) == 0)
				break;
		if (d > RULES_FORBIDDEN)
			return rules__error(p, v->line, v->col,
			                    "decision must be \"%s\", \"%s\" or \"%s\", not \"%s\"",
			                    fn->decisions[0], fn->decisions[1], fn->decisions[2],
			                    v->s);
		rule->decision = (enum rules_decision)d;
	}
	if (args[RULES__A_JUSTIFICATION] != NULL) {
		const struct rules__val *v = args[RULES__A_JUSTIFICATION];
		const char *c;

		if (rules__want_string(p, v, "justification") != 0)
			return -EINVAL;
		for (c = v->s; *c != '\0' && isspace((unsigned char)*c); c++)
			;
		if (*c == '\0')
			return rules__error(p, v->line, v->col, "justification must not be blank");
		rule->justification = xstrdup(args[RULES__A_JUSTIFICATION]->s);
	}
	if (fn->kind == RULES_KIND_PREFIX) {
		if (rules__pattern(p, rule, args[RULES__A_PATTERN]) != 0)
			return -EINVAL;
		if (args[RULES__A_MATCH] != NULL &&
		    rules__examples(p, rule, args[RULES__A_MATCH], true, "match") != 0)
			return -EINVAL;
		if (args[RULES__A_NOT_MATCH] != NULL &&
		    rules__examples(p, rule, args[RULES__A_NOT_MATCH], false, "not_match") != 0)
			return -EINVAL;
		return 0;
	}
	if (rules__host(p, rule, args[RULES__A_HOST]) != 0)
		return -EINVAL;
	if (args[RULES__A_PROTOCOL] != NULL) {
		const struct rules__val *v = args[RULES__A_PROTOCOL];
		size_t i;

		if (rules__want_string(p, v, "protocol") != 0)
			return -EINVAL;
		for (i = 0; i < sizeof rules__protocols / sizeof *rules__protocols; i++)
			if (strcasecmp(v->s, rules__protocols[i].name) == 0)
				break;
		if (i == sizeof rules__protocols / sizeof *rules__protocols)
			return rules__error(p, v->line, v->col,
			                    "protocol must be \"http\", \"https\", \"socks5\", "
			                    "\"tcp\", \"https_connect\", \"http-connect\", "
			                    "\"socks5_tcp\" or \"socks5_udp\", not \"%s\"",
			                    v->s);
		rule->protocol = xstrdup(rules__protocols[i].canonical);
	}
	return 0;
}

/* The call's source text, comments dropped and whitespace runs collapsed. */
static char *rules__text(const char *s, size_t start, size_t end)
{
	char *out = xmalloc(end - start + 1);
	size_t n = 0;
	char quote = 0;
	int space = 0;

	for (size_t i = start; i < end; i++) {
		char c = s[i];

		if (quote) {
			out[n++] = c;
			if (c == '\\' && i + 1 < end)
				out[n++] = s[++i];
			else if (c == quote)
				quote = 0;
			continue;
		}
		if (c == '#') {
			while (i + 1 < end && s[i + 1] != '\n')
				i++;
			continue;
		}
		if (isspace((unsigned char)c)) {
			space = 1;
			continue;
		}
		if (space && n > 0 && out[n - 1] != '(' && out[n - 1] != '[' && c != ')' &&
		    c != ']' && c != ',')
			out[n++] = ' ';
		space = 0;
		if (c == '"' || c == '\'')
			quote = c;
		out[n++] = c;
	}
	out[n] = '\0';
	return out;
}

/* Parses one call at the current token (an identifier) into *OUT. */
static int rules__call(struct rules__parser *p, struct rules_rule **out)
{
	struct rules__val vals[RULES__A_COUNT];
	struct rules__val *args[RULES__A_COUNT] = {0};
	const struct rules__func *fn = NULL;
	struct rules__tok name = p->tok;
	struct rules_rule *rule;
	int rc = -EINVAL;

	memset(vals, 0, sizeof vals);
	*out = NULL;
	if (p->tok.type != RULES__T_IDENT)
		return rules__error(p, p->tok.line, p->tok.col,
		                    "expected a rule (prefix_rule, network_rule or "
		                    "host_executable)");
	for (size_t i = 0; i < sizeof rules__funcs / sizeof *rules__funcs; i++)
		if (strcmp(p->tok.text, rules__funcs[i].name) == 0)
			fn = &rules__funcs[i];
	if (fn == NULL)
		return rules__error(p, p->tok.line, p->tok.col,
		                    "unknown function '%s' (expected prefix_rule, network_rule or "
		                    "host_executable)",
		                    p->tok.text);
	name.text = NULL;
	if (rules__next(p) != 0)
		return -EINVAL;
	if (p->tok.type != RULES__T_LPAREN)
		return rules__error(p, p->tok.line, p->tok.col, "expected '(' after %s", fn->name);
	if (rules__next(p) != 0)
		return -EINVAL;
	while (p->tok.type != RULES__T_RPAREN) {
		int a;

		if (p->tok.type == RULES__T_EOF) {
			rules__eof(p, name.line);
			goto out;
		}
		if (p->tok.type != RULES__T_IDENT) {
			rules__error(p, p->tok.line, p->tok.col,
			             "expected a keyword argument (name=value)");
			goto out;
		}
		for (a = 0; a < RULES__A_COUNT; a++)
			if ((fn->args & (1u << a)) && strcmp(p->tok.text, rules__arg_names[a]) == 0)
				break;
		if (a == RULES__A_COUNT) {
			rules__error(p, p->tok.line, p->tok.col, "%s has no argument '%s'",
			             fn->name, p->tok.text);
			goto out;
		}
		if (args[a] != NULL) {
			rules__error(p, p->tok.line, p->tok.col, "argument '%s' given twice",
			             rules__arg_names[a]);
			goto out;
		}
		if (rules__next(p) != 0)
			goto out;
		if (p->tok.type != RULES__T_EQUALS) {
			if (p->tok.type == RULES__T_EOF)
				rules__eof(p, name.line);
			else
				rules__error(p, p->tok.line, p->tok.col, "expected '=' after '%s'",
				             rules__arg_names[a]);
			goto out;
		}
		if (rules__next(p) != 0)
			goto out;
		if (rules__value(p, &vals[a], name.line, 0) != 0) {
			args[a] = &vals[a];
			goto out;
		}
		args[a] = &vals[a];
		if (p->tok.type == RULES__T_COMMA) {
			if (rules__next(p) != 0)
				goto out;
			continue;
		}
		if (p->tok.type == RULES__T_EOF) {
			rules__eof(p, name.line);
			goto out;
		}
		if (p->tok.type != RULES__T_RPAREN) {
			rules__error(p, p->tok.line, p->tok.col, "expected ',' or ')'");
			goto out;
		}
	}
	rule = xcalloc(1, sizeof *rule);
	rule->start = name.off;
	rule->end = p->tok.end;
	if (rules__build(p, fn, &name, args, rule) != 0) {
		rules__rule_free(rule);
		goto out;
	}
	rule->text = rules__text(p->s, rule->start, rule->end);
	*out = rule;
	rc = rules__next(p);
out:
	for (int a = 0; a < RULES__A_COUNT; a++)
		rules__val_free(&vals[a]);
	return rc;
}

/*
 * Parses TEXT as file FILE, its first byte on line FIRST_LINE, and adds its
 * rules to R (all or none). Offsets in the rules are relative to TEXT plus
 * BASE.
 */
static int rules__parse(struct rules *r, const char *file, const char *text, size_t len,
                        unsigned first_line, size_t base, size_t *restrict_only, char **cause)
{
	struct rules__parser p = {.file = file, .s = text, .len = len, .line = first_line};
	struct rules_rule **parsed = NULL;
	size_t n = 0, cap = 0;
	int rc;

	rc = rules__next(&p);
	while (rc == 0 && p.tok.type != RULES__T_EOF) {
		struct rules_rule *rule;

		rc = rules__call(&p, &rule);
		if (rule != NULL) {
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				parsed = xreallocarray(parsed, cap, sizeof *parsed);
			}
			parsed[n++] = rule;
		}
	}
	free(p.tok.text);
	if (rc != 0 || p.error != NULL) {
		for (size_t i = 0; i < n; i++)
			rules__rule_free(parsed[i]);
		free(parsed);
		if (cause != NULL)
			*cause = p.error;
		else
			free(p.error);
		return -EINVAL;
	}
	file = rules__file(r, file);
	for (size_t i = 0; i < n; i++) {
		/* Untrusted rules only restrict: allow rules and path pins are dropped. */
		if (restrict_only != NULL && (parsed[i]->decision == RULES_ALLOW ||
		                              parsed[i]->kind == RULES_KIND_HOST_EXECUTABLE)) {
			(*restrict_only)++;
			rules__rule_free(parsed[i]);
			continue;
		}
		parsed[i]->file = file;
		parsed[i]->start += base;
		parsed[i]->end += base;
		rules__add(r, parsed[i]);
	}
	free(parsed);
	return 0;
}

/*
 * A rules file is UTF-8 text: the first byte of TEXT that is not is refused
 * where it stands (-EINVAL, *CAUSE "FILE:LINE:COL: not UTF-8"); 0 otherwise.
 */
static int rules__check_utf8(const char *file, const char *text, size_t len, char **cause)
{
	size_t bad = utf8_check(text, len);
	unsigned line = 1, col = 1; /* columns in bytes, as the parser's */

	if (bad == len)
		return 0;
	for (size_t i = 0; i < bad; i++)
		col = text[i] == '\n' ? (line++, 1) : col + 1;
	if (cause != NULL)
		*cause = xasprintf("%s:%u:%u: not UTF-8 (byte 0x%02x)", file, line, col,
		                   (unsigned char)text[bad]);
	return -EINVAL;
}

/* Parses and adds a whole buffer. */
int rules_load_buffer(struct rules *r, const char *file, const char *text, size_t len, char **cause)
{
	int rc = rules__check_utf8(file, text, len, cause);

	return rc != 0 ? rc : rules__parse(r, file, text, len, 1, 0, NULL, cause);
}

/* ---- files ----------------------------------------------------------------- */

/* Reads the whole file PATH into *BUF (NUL-terminated). Returns 0 or -errno. */
static int rules__read(const char *path, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -errno;
	rc = read_all(fd, RULES_MAX_FILE, buf, len);
	close(fd);
	return rc;
}

/* Fills STAMP for PATH from ST (NULL: the path does not exist). */
static void rules__stamp_fill(struct rules__stamp *stamp, const struct stat *st)
{
	stamp->exists = st != NULL;
	if (st == NULL)
		return;
	stamp->dev = st->st_dev;
	stamp->ino = st->st_ino;
	stamp->size = st->st_size;
	stamp->mtime = st->st_mtim;
	stamp->ctime = st->st_ctim;
}

/* Watches PATH (as it is now, or as ST says when not NULL) for rules_refresh. */
static void rules__watch(struct rules *r, const char *path, const struct stat *st)
{
	struct stat now;
	struct rules__stamp *stamp = NULL;

	for (size_t i = 0; i < r->n_stamps; i++)
		if (strcmp(r->stamps[i].path, path) == 0)
			stamp = &r->stamps[i];
	if (stamp == NULL) {
		r->stamps = xreallocarray(r->stamps, r->n_stamps + 1, sizeof *r->stamps);
		stamp = &r->stamps[r->n_stamps++];
		memset(stamp, 0, sizeof *stamp);
		stamp->path = xstrdup(path);
	}
	if (st == NULL && stat(path, &now) == 0)
		st = &now;
	rules__stamp_fill(stamp, st);
}

/* True when some watched path changed since it was stamped. */
static bool rules__changed(const struct rules *r)
{
	for (size_t i = 0; i < r->n_stamps; i++) {
		const struct rules__stamp *s = &r->stamps[i];
		struct stat st;
		bool exists = stat(s->path, &st) == 0;

		if (exists != s->exists)
			return true;
		if (exists && (st.st_dev != s->dev || st.st_ino != s->ino ||
		               st.st_size != s->size || st.st_mtim.tv_sec != s->mtime.tv_sec ||
		               st.st_mtim.tv_nsec != s->mtime.tv_nsec ||
		               st.st_ctim.tv_sec != s->ctime.tv_sec ||
		               st.st_ctim.tv_nsec != s->ctime.tv_nsec))
			return true;
	}
	return false;
}

/* Reads PATH like rules__read, stamping it (from the open file) first when R is refreshable. */
static int rules__read_watched(struct rules *r, const char *path, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int rc;

	if (fd < 0)
		return -errno;
	if (r->loaded_all && fstat(fd, &st) == 0)
		rules__watch(r, path, &st);
	rc = read_all(fd, RULES_MAX_FILE, buf, len);
	close(fd);
	return rc;
}

/* Remembers TEXT as PATH's last good content. */
static void rules__remember(struct rules *r, const char *path, const char *text, size_t len,
                            bool restrict_only)
{
	struct rules__source *src;

	if (!r->loaded_all)
		return;
	r->src = xreallocarray(r->src, r->n_src + 1, sizeof *r->src);
	src = &r->src[r->n_src++];
	src->path = xstrdup(path);
	src->text = xmalloc(len + 1);
	memcpy(src->text, text, len);
	src->text[len] = '\0';
	src->len = len;
	src->restrict_only = restrict_only;
}

/*
 * Parses one file's TEXT into R (see rules__parse). While refreshing, a
 * file that no longer loads keeps its last good rules, restricting only
 * (what only the broken file allowed is refused), and the error is kept in
 * R->broken instead of failing the load.
 */
static int rules__load_text(struct rules *r, const char *path, const char *text, size_t len,
                            size_t *restrict_only, char **cause)
{
	char *why = NULL;
	size_t dropped = 0;
	int rc = rules__check_utf8(path, text, len, &why);

	if (rc == 0)
		rc = rules__parse(r, path, text, len, 1, 0, restrict_only, &why);
	if (rc == 0) {
		rules__remember(r, path, text, len, restrict_only != NULL);
		return 0;
	}
	if (r->fallback == NULL) {
		if (cause != NULL)
			*cause = why;
		else
			free(why);
		return rc;
	}
	for (size_t i = 0; i < r->fallback->n_src; i++) {
		const struct rules__source *old = &r->fallback->src[i];

		if (strcmp(old->path, path) == 0 &&
		    rules__parse(r, path, old->text, old->len, 1, 0, &dropped, NULL) == 0)
			rules__remember(r, path, old->text, old->len, true);
	}
	if (r->broken == NULL)
		r->broken = why;
	else
		free(why);
	return 0;
}

/* Loads one file. */
int rules_load_file(struct rules *r, const char *path, char **cause)
{
	char *buf;
	size_t len;
	int rc = rules__read_watched(r, path, &buf, &len);

	if (rc != 0) {
		if (cause != NULL)
			*cause = xasprintf("%s: %s", path, strerror(-rc));
		return rc;
	}
	rc = rules__load_text(r, path, buf, len, NULL, cause);
	free(buf);
	return rc;
}

/* Loads DIR/ *.rules in name order. */
int rules_load_dir(struct rules *r, const char *dir, char **cause)
{
	char **names;
	size_t n;
	int rc = rules_dir_names(dir, false, &names, &n, cause);

	for (size_t i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]);

		if (rc == 0)
			rc = rules_load_file(r, path, cause);
		free(path);
		free(names[i]);
	}
	free(names);
	return rc;
}

/*
 * A file of the managed rules directory, or (PATH NULL) the directory
 * itself, failed the managed policy's ownership checks, for WHY (taken).
 * At start (no earlier set) that fails the load, as a bad managed file
 * stops airlock. On a reload it must not let a swapped file loosen the
 * administrator's rules, nor be read: what R had from it (or from the whole
 * directory) last time is kept, restricting only (its forbidden and prompt
 * rules bind, what only it allowed is refused), exactly as for a rules file
 * whose edit broke it (SPEC 6), and R is marked broken with WHY (the status
 * bar says so). Returns 0 or the error.
 */
static int rules__managed_refused(struct rules *r, const char *path, char *why, int rc,
                                  char **cause)
{
	size_t dl = strlen(r->managed_dir), dropped = 0;

	if (r->fallback == NULL) {
		if (cause != NULL)
			*cause = xasprintf("managed rules not read: %s", why);
		free(why);
		return rc;
	}
	for (size_t i = 0; i < r->fallback->n_src; i++) {
		const struct rules__source *old = &r->fallback->src[i];
		bool ours = path != NULL ? strcmp(old->path, path) == 0
		                         : strncmp(old->path, r->managed_dir, dl) == 0 &&
		                               old->path[dl] == '/';

		if (ours && rules__parse(r, old->path, old->text, old->len, 1, 0, &dropped, NULL) == 0)
			rules__remember(r, old->path, old->text, old->len, true);
	}
	if (r->broken == NULL)
		r->broken = xasprintf("managed rules not read (the last good ones still bind): %s",
		                      why);
	free(why);
	return 0;
}

/*
 * Loads the managed rules directory (SPEC 11), each time checking it and
 * every file in it as the managed policy itself is checked at start: root's,
 * kept from others, no symbolic link, and the open file checked again (the
 * bytes parsed are the bytes checked). A file that fails is not read.
 */
static int rules__load_managed(struct rules *r, char **cause)
{
	char **names = NULL, *why = NULL;
	size_t n = 0;
	int rc = managed_check_owner(r->managed_dir, true, &why);

	if (rc == -ENOENT) {
		/* Named but absent: no managed rules (as at start). */
		free(why);
		return 0;
	}
	if (rc != 0)
		return rules__managed_refused(r, NULL, why, rc, cause);
	rc = rules_dir_names(r->managed_dir, false, &names, &n, cause);
	for (size_t i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", r->managed_dir, names[i]), *buf = NULL;
		size_t len = 0;
		int fd;

		if (rc == 0) {
			/* Watched even when refused: putting it right is a change to reload. */
			rules__watch(r, path, NULL);
			fd = managed_open_checked(path, &why);
			if (fd < 0) {
				rc = rules__managed_refused(r, path, why, fd, cause);
			} else {
				struct stat st;

				if (fstat(fd, &st) == 0)
					rules__watch(r, path, &st);
				rc = read_all(fd, RULES_MAX_FILE, &buf, &len);
				close(fd);
				if (rc != 0 && cause != NULL)
					*cause = xasprintf("%s: %s", path, strerror(-rc));
				if (rc == 0)
					rc = rules__load_text(r, path, buf, len, NULL, cause);
				free(buf);
			}
		}
		free(path);
		free(names[i]);
	}
	free(names);
	return rc;
}

/* Sets the managed rules directory loaded before the user's. */
void rules_set_managed(struct rules *r, const char *dir)
{
	free(r->managed_dir);
	r->managed_dir = dir != NULL ? xstrdup(dir) : NULL;
}

/* Marks the set as bound by managed allow_unsandboxed: false. */
void rules_set_sandbox_only(struct rules *r, bool sandbox_only)
{
	r->sandbox_only = sandbox_only;
}

/* Whether nothing may run outside the sandbox under this set (NULL: no). */
bool rules_sandbox_only(const struct rules *r)
{
	return r != NULL && r->sandbox_only;
}

/* Loads HOME/rules then WORKSPACE/.airlock/rules. */
int rules_load_all(struct rules *r, const char *home, const char *workspace, char **cause)
{
	return rules_load_all_info(r, home, workspace, NULL, cause);
}

/* Loads the user's rules and the workspace's, filling INFO. */
int rules_load_all_info(struct rules *r, const char *home, const char *workspace,
                        struct rules_workspace_info *info, char **cause)
{
	int rc = 0;

	struct rules_workspace_info local;

	if (info == NULL)
		info = &local;
	memset(info, 0, sizeof *info);
	/* Refreshable: remember what was loaded, and watch the directories first. */
	r->loaded_all = true;
	free(r->home);
	free(r->workspace);
	r->home = home != NULL ? xstrdup(home) : NULL;
	r->workspace = workspace != NULL ? xstrdup(workspace) : NULL;
	if (home != NULL) {
		char *dir = xasprintf("%s/rules", home), *trust = xasprintf("%s/trust.json", home);

		rules__watch(r, dir, NULL);
		rules__watch(r, trust, NULL);
		free(trust);
		free(dir);
	}
	if (workspace != NULL) {
		static const char *const subs[] = {".airlock", ".airlock/rules", ".codex",
		                                   ".codex/rules"};

		for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
			char *dir = xasprintf("%s/%s", workspace, subs[i]);

			rules__watch(r, dir, NULL);
			free(dir);
		}
	}
	/* The managed rules first (SPEC 11); their forbidden and prompt verdicts bind. */
	if (r->managed_dir != NULL) {
		size_t first = r->n;

		rules__watch(r, r->managed_dir, NULL);
		rc = rules__load_managed(r, cause);
		for (size_t i = first; i < r->n; i++)
			r->v[i]->managed = true;
	}
	if (rc == 0 && home != NULL) {
		char *dir = xasprintf("%s/rules", home);

		rc = rules_load_dir(r, dir, cause);
		free(dir);
	}
	if (rc == 0 && workspace != NULL)
		rc = rules_load_workspace(r, home, workspace, info, cause);
	r->ws_info = *info;
	return rc;
}

/* Loads a workspace's own rules, restricting only unless trusted. */
int rules_load_workspace(struct rules *r, const char *home, const char *workspace,
                         struct rules_workspace_info *info, char **cause)
{
	static const char *const subs[] = {".airlock/rules", ".codex/rules"};
	struct rules_trust_files files = {0};
	char **paths = NULL, **bufs = NULL, *real = NULL;
	size_t *lens = NULL, n = 0, ignored = 0;
	bool trusted;
	int rc = 0;

	for (size_t k = 0; k < 2 && rc == 0; k++) {
		char *dir = xasprintf("%s/%s", workspace, subs[k]);
		char **names;
		size_t nn;

		rc = rules_dir_names(dir, true, &names, &nn, cause);
		for (size_t i = 0; i < nn; i++) {
			char hex[65];

			if (rc == 0) {
				paths = xreallocarray(paths, n + 1, sizeof *paths);
				bufs = xreallocarray(bufs, n + 1, sizeof *bufs);
				lens = xreallocarray(lens, n + 1, sizeof *lens);
				paths[n] = xasprintf("%s/%s", dir, names[i]);
				bufs[n] = NULL;
				lens[n] = 0;
				rc = rules__read_watched(r, paths[n], &bufs[n], &lens[n]);
				if (rc != 0 && cause != NULL)
					*cause = xasprintf("%s: %s", paths[n], strerror(-rc));
				n++;
			}
			if (rc == 0) {
				rules_trust_sha256_hex(bufs[n - 1], lens[n - 1], hex);
				files.names =
				    xreallocarray(files.names, files.n + 1, sizeof *files.names);
				files.hashes =
				    xreallocarray(files.hashes, files.n + 1, sizeof *files.hashes);
				files.names[files.n] = xasprintf("%s/%s", subs[k], names[i]);
				files.hashes[files.n++] = xstrdup(hex);
			}
			free(names[i]);
		}
		free(names);
		free(dir);
	}
	real = realpath(workspace, NULL);
	trusted = rc == 0 && n > 0 && rules_trust_matches(home, real, &files);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = rules__load_text(r, paths[i], bufs[i], lens[i], trusted ? NULL : &ignored,
		                      cause);
	if (info != NULL) {
		info->files = n;
		info->trusted = trusted;
		info->ignored_allow = ignored;
	}
	for (size_t i = 0; i < n; i++) {
		free(paths[i]);
		free(bufs[i]);
	}
	free(paths);
	free(bufs);
	free(lens);
	free(real);
	rules_trust_files_free(&files);
	return rc;
}

/* ---- formatting ------------------------------------------------------------ */

/* S as a double-quoted rules literal. */
char *rules_quote(const char *s)
{
	size_t n = 0;
	char *out = xmalloc(strlen(s) * 4 + 3);

	out[n++] = '"';
	for (const char *p = s; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c == '\n') {
			out[n++] = '\\';
			out[n++] = 'n';
		} else if (c == '\t') {
			out[n++] = '\\';
			out[n++] = 't';
		} else if (c == '\r') {
			out[n++] = '\\';
			out[n++] = 'r';
		} else if (c < 0x20 || c == 0x7f) {
			n += (size_t)sprintf(out + n, "\\x%02x", c);
		} else {
			out[n++] = (char)c;
		}
	}
	out[n++] = '"';
	out[n] = '\0';
	return out;
}

/* One line: prefix_rule(pattern=[...], decision="..."). */
char *rules_format_prefix(size_t n, char *const words[], enum rules_decision d)
{
	char *out = xstrdup("prefix_rule(pattern=[");

	for (size_t i = 0; i < n; i++) {
		char *q = rules_quote(words[i]);
		char *t = xasprintf("%s%s%s", out, i > 0 ? ", " : "", q);

		free(q);
		free(out);
		out = t;
	}
	{
		char *t = xasprintf("%s], decision=\"%s\")", out,
		                    rules_decision_name(RULES_KIND_PREFIX, d));

		free(out);
		out = t;
	}
	return out;
}

/* One line: network_rule(host=..., protocol=..., decision=...). */
char *rules_format_network(const char *host, const char *protocol, enum rules_decision d)
{
	char *h = rules_quote(host);
	char *out;

	if (protocol != NULL) {
		char *pr = rules_quote(protocol);

		out = xasprintf("network_rule(host=%s, protocol=%s, decision=\"%s\")", h, pr,
		                rules_decision_name(RULES_KIND_NETWORK, d));
		free(pr);
	} else {
		out = xasprintf("network_rule(host=%s, decision=\"%s\")", h,
		                rules_decision_name(RULES_KIND_NETWORK, d));
	}
	free(h);
	return out;
}

/* ---- writing files --------------------------------------------------------- */

/* Makes DIR and its parents (mode 0700 for new ones). Returns 0 or -errno. */
static int rules__mkdirs(const char *dir)
{
	char *p = xstrdup(dir);
	int rc = 0;

	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;

			*s = '\0';
			if (mkdir(p, 0700) != 0 && errno != EEXIST) {
				rc = -errno;
				break;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	free(p);
	return rc;
}

/* The directory part of PATH ("." if none). Caller frees. */
static char *rules__dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* Takes the exclusive lock on PATH.lock. Returns the fd or -errno. */
static int rules__lock(const char *path)
{
	char *lock = xasprintf("%s.lock", path);
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	int e;

	free(lock);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) != 0) {
		if (errno == EINTR)
			continue;
		e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* Writes all of BUF to FD. Returns 0 or -errno. */
static int rules__write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t k = write(fd, buf, len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		buf += k;
		len -= (size_t)k;
	}
	return 0;
}

/*
 * Replaces PATH's content by the concatenation of the PARTS (N of them):
 * temporary file, fsync, rename, directory fsync. Returns 0 or -errno.
 */
static int rules__replace(const char *path, const char *const parts[], const size_t lens[],
                          size_t n)
{
	/* A symlinked file: its target is replaced, the link stays. */
	char *real = realpath(path, NULL);
	char *tmp = xasprintf("%s.tmp.XXXXXX", real != NULL ? real : path);
	char *dir = rules__dirname(real != NULL ? real : path);
	struct stat st;
	int fd, dfd, rc = 0;

	if (real != NULL)
		path = real;

	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	fchmod(fd, stat(path, &st) == 0 ? (st.st_mode & 07777) : 0644);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = rules__write_all(fd, parts[i], lens[i]);
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc != 0) {
		unlink(tmp);
		goto out;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
out:
	free(tmp);
	free(dir);
	free(real);
	return rc;
}

/* True when BUF (LEN bytes) has a line equal to LINE. */
static bool rules__has_line(const char *buf, size_t len, const char *line)
{
	size_t ll = strlen(line);

	for (size_t i = 0; i < len;) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t end = nl != NULL ? (size_t)(nl - buf) : len;

		if (end - i == ll && memcmp(buf + i, line, ll) == 0)
			return true;
		i = end + 1;
	}
	return false;
}

/*
 * rules_append_line, also telling the line number LINE landed on (*LINENO)
 * and the byte offset where it starts (*OFF). The line goes in by one
 * O_APPEND write of the whole line (and a newline before it when the file
 * did not end with one): the file is never replaced, so a symlink stays a
 * symlink and whatever another writer appends at the same moment stays.
 */
static int rules__append(const char *path, const char *line, unsigned *lineno, size_t *off,
                         char **cause)
{
	char *dir = rules__dirname(path);
	char *old = NULL, *buf = NULL;
	size_t len = 0, blen;
	int lock, rc, fd = -1;

	if (strchr(line, '\n') != NULL) {
		free(dir);
		if (cause != NULL)
			*cause = xasprintf("%s: a rule line must not contain a newline", path);
		return -EINVAL;
	}
	rc = rules__mkdirs(dir);
	free(dir);
	if (rc != 0) {
		if (cause != NULL)
			*cause =
			    xasprintf("%s: cannot make its directory: %s", path, strerror(-rc));
		return rc;
	}
	lock = rules__lock(path);
	if (lock < 0) {
		if (cause != NULL)
			*cause = xasprintf("%s.lock: %s", path, strerror(-lock));
		return lock;
	}
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		rc = -errno;
	if (rc == 0)
		rc = read_all(fd, RULES_MAX_FILE, &old, &len);
	if (rc == 0 && rules__has_line(old, len, line)) {
		rc = 1;
	} else if (rc == 0) {
		bool fix = len > 0 && old[len - 1] != '\n';
		off_t end;

		buf = xasprintf("%s%s\n", fix ? "\n" : "", line);
		blen = strlen(buf);
		rc = rules__write_all(fd, buf, blen);
		if (rc == 0 && fsync(fd) != 0)
			rc = -errno;
		/* Where it landed: the append offset is now just past our bytes. */
		end = rc == 0 ? lseek(fd, 0, SEEK_CUR) : -1;
		if (rc == 0 && end < (off_t)blen)
			rc = -EIO;
		if (rc == 0) {
			size_t at = (size_t)end - blen + (fix ? 1 : 0);
			unsigned lines = 1;
			char *now = NULL;
			size_t nlen = 0;

			/* Count the lines before it in the file as it is now. */
			if (lseek(fd, 0, SEEK_SET) == 0 &&
			    read_all(fd, RULES_MAX_FILE, &now, &nlen) == 0)
				for (size_t i = 0; i < at && i < nlen; i++)
					lines += now[i] == '\n';
			free(now);
			if (lineno != NULL)
				*lineno = lines;
			if (off != NULL)
				*off = at;
		}
	}
	if (rc < 0 && cause != NULL)
		*cause = xasprintf("%s: %s", path, strerror(-rc));
	if (fd >= 0)
		close(fd);
	free(buf);
	free(old);
	close(lock);
	return rc;
}

/* Appends one line to a rules file, atomically and under the lock. */
int rules_append_line(const char *path, const char *line, char **cause)
{
	return rules__append(path, line, NULL, NULL, cause);
}

/* Appends LINE to HOME/rules/default.rules and adds its rule to R. */
static int rules__amend(struct rules *r, const char *home, const char *line, char **cause)
{
	char *path = xasprintf("%s/rules/default.rules", home);
	struct rules *check = rules_new();
	unsigned lineno = 0;
	size_t off = 0;
	int rc;

	/* Never append a line that would break the file. */
	rc = rules__parse(check, path, line, strlen(line), 1, 0, NULL, cause);
	rules_free(check);
	if (rc == 0)
		rc = rules__append(path, line, &lineno, &off, cause);
	if (rc == 0 && r != NULL)
		rc = rules__parse(r, path, line, strlen(line), lineno, off, NULL, cause);
	free(path);
	return rc < 0 ? rc : 0;
}

/* Appends a prefix rule to default.rules and to R. */
int rules_amend_prefix(struct rules *r, const char *home, size_t n, char *const words[],
                       enum rules_decision d, char **cause)
{
	char *line;
	int rc;

	if (n == 0) {
		if (cause != NULL)
			*cause = xstrdup("an empty prefix cannot be a rule");
		return -EINVAL;
	}
	line = rules_format_prefix(n, words, d);
	rc = rules__amend(r, home, line, cause);
	free(line);
	return rc;
}

/* Appends a network rule to default.rules and to R. */
int rules_amend_network(struct rules *r, const char *home, const char *host, const char *protocol,
                        enum rules_decision d, char **cause)
{
	char *line = rules_format_network(host, protocol, d);
	int rc = rules__amend(r, home, line, cause);

	free(line);
	return rc;
}

/* True when BUF[FROM, TO) is only blanks, optionally followed by a comment. */
static bool rules__blank(const char *buf, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		if (buf[i] == '#')
			return true;
		if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r')
			return false;
	}
	return true;
}

/* Removes RULE's text from its file. */
int rules_remove(const struct rules_rule *rule, char **cause)
{
	struct rules *check = NULL;
	char *buf = NULL, *err = NULL;
	size_t len = 0, from, to;
	int lock, rc;
	bool found = false;

	/* The administrator's rules are theirs to change (SPEC 11), even for a root airlock. */
	if (rule->managed) {
		if (cause != NULL)
			*cause = xasprintf("%s:%u: a rule of the managed policy; only its "
			                   "administrator changes it",
			                   rule->file, rule->line);
		return -EPERM;
	}
	lock = rules__lock(rule->file);
	if (lock < 0) {
		if (cause != NULL)
			*cause = xasprintf("%s.lock: %s", rule->file, strerror(-lock));
		return lock;
	}
	rc = rules__read(rule->file, &buf, &len);
	if (rc != 0) {
		if (cause != NULL)
			*cause = xasprintf("%s: %s", rule->file, strerror(-rc));
		goto out;
	}
	/* The file must still hold this rule at the same place. */
	check = rules_new();
	rc = rules_load_buffer(check, rule->file, buf, len, cause);
	if (rc != 0)
		goto out;
	for (size_t i = 0; i < check->n; i++)
		if (check->v[i]->start == rule->start && strcmp(check->v[i]->text, rule->text) == 0)
			found = true;
	if (!found) {
		rc = -ESTALE;
		if (cause != NULL)
			*cause = xasprintf("%s: changed since it was read; try again", rule->file);
		goto out;
	}
	from = rule->start;
	to = rule->end;
	{
		size_t ls = from, le = to;

		while (ls > 0 && buf[ls - 1] != '\n')
			ls--;
		while (le < len && buf[le] != '\n')
			le++;
		if (rules__blank(buf, ls, from) && buf[ls] != '#' && rules__blank(buf, to, le)) {
			from = ls;
			to = le < len ? le + 1 : le;
		}
	}
	rules_free(check);
	check = rules_new();
	{
		char *next = xmalloc(len - (to - from) + 1);

		memcpy(next, buf, from);
		memcpy(next + from, buf + to, len - to);
		next[len - (to - from)] = '\0';
		rc = rules_load_buffer(check, rule->file, next, len - (to - from), &err);
		if (rc != 0) {
			if (cause != NULL)
				*cause =
				    xasprintf("removing the rule would break the file: %s", err);
			free(err);
		} else {
			const char *parts[] = {buf, buf + to};
			const size_t lens[] = {from, len - to};

			rc = rules__replace(rule->file, parts, lens, 2);
			if (rc != 0 && cause != NULL)
				*cause = xasprintf("%s: %s", rule->file, strerror(-rc));
		}
		free(next);
	}
out:
	rules_free(check);
	free(buf);
	close(lock);
	return rc;
}

/* ---- live reload ------------------------------------------------------------ */

/* Re-reads the rules when a watched file or directory changed. */
int rules_refresh(struct rules *r, bool *changed, char **cause)
{
	struct rules *n, tmp;
	int rc;

	if (changed != NULL)
		*changed = false;
	if (r == NULL || !r->loaded_all || !rules__changed(r))
		return 0;
	n = rules_new();
	rules_set_managed(n, r->managed_dir);
	n->sandbox_only = r->sandbox_only;
	n->fallback = r;
	rc = rules_load_all_info(n, r->home, r->workspace, NULL, cause);
	n->fallback = NULL;
	if (rc != 0) {
		/* Not even readable: keep what there is, say so, try again next time. */
		free(r->broken);
		r->broken = xstrdup(cause != NULL && *cause != NULL ? *cause : "rules unreadable");
		rules_free(n);
		return rc;
	}
	if (n->broken != NULL && cause != NULL)
		*cause = xstrdup(n->broken);
	/*
	 * The new contents take R's place; the old ones stay alive behind it
	 * until the next reload (a decision under way may hold their rules),
	 * and the ones before them go now: memory stays flat however often
	 * the files change.
	 */
	tmp = *r;
	*r = *n;
	*n = tmp;
	rules_free(n->retired);
	n->retired = NULL;
	r->retired = n;
	if (changed != NULL)
		*changed = true;
	return r->broken != NULL ? -EINVAL : 0;
}

/* The last refresh's error (a file that stopped loading), or NULL. */
const char *rules_broken(const struct rules *r)
{
	return r != NULL ? r->broken : NULL;
}

/* What the last load found about the workspace's own rules. */
const struct rules_workspace_info *rules_workspace(const struct rules *r)
{
	return r != NULL ? &r->ws_info : NULL;
}
