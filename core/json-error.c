/*
 * Converts cJSON's error pointer into a line and column. cJSON reports the
 * byte where parsing failed, which for some errors is one byte into the
 * offending word (a bare word where a key belongs); so the position moves
 * back to the start of the word it falls in, then newlines are counted.
 *
 * Repeated keys are found on the parsed tree, so that names compare after
 * their escapes are decoded ("a" and "\u0061" are one key). Each object's
 * members are compared pairwise when there are few, else sorted by name (and
 * place, so the second of two equal names is the one reported): a 10,000-key
 * object costs n log n, not n². Containers are visited in the text's order,
 * and only the members before an object's own first repeat are searched, so
 * the repeat reported is the first one in the text. The walk records the
 * member indices that lead there; a small scanner then follows those indices
 * through the text (which cJSON has already accepted) to the key's quote.
 * A "\u0000" escape is refused as well: cJSON's strings end there, so two
 * different names (or paths) would read the same.
 */
#include "json-error.h"

#include "xmalloc.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Objects with more members than this are sorted, not compared pairwise. */
#define JSON__PAIRWISE_MAX 16

/* A key longer than this is cut in the path a message shows. */
#define JSON__NAME_MAX 64

void json_error_position(const char *text, const char *err, int *line, int *col)
{
	size_t len = strlen(text);
	const char *end = (err != NULL && err >= text && err <= text + len) ? err : text + len;

	while (end > text && end < text + len && isalnum((unsigned char)end[0]) &&
	       isalnum((unsigned char)end[-1]))
		end--;
	*line = 1;
	*col = 1;
	for (const char *p = text; p < end; p++) {
		if (*p == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* One member of an object: its name and its place among the members. */
struct json__member {
	const char *name;
	size_t index;
};

/* The member indices from the root down to the repeated key. */
struct json__trail {
	size_t *steps;
	size_t depth, cap;
};

/* Orders members by name, then by place. */
static int json__member_cmp(const void *a, const void *b)
{
	const struct json__member *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* A member's name; cJSON always sets it on an object's members. */
static const char *json__name(const cJSON *m)
{
	return m->string != NULL ? m->string : "";
}

/* The index of the first of OBJ's N members whose name an earlier one has; N when none. */
static size_t json__first_repeat(const cJSON *obj, size_t n)
{
	struct json__member *m;
	const cJSON *a, *b;
	size_t i, first = n;

	if (n <= JSON__PAIRWISE_MAX) {
		for (b = obj->child, i = 0; b != NULL; b = b->next, i++)
			for (a = obj->child; a != b; a = a->next)
				if (strcmp(json__name(a), json__name(b)) == 0)
					return i;
		return n;
	}
	m = xmalloc(n * sizeof *m);
	for (b = obj->child, i = 0; b != NULL && i < n; b = b->next, i++)
		m[i] = (struct json__member){json__name(b), i};
	qsort(m, n, sizeof *m, json__member_cmp);
	for (i = 1; i < n; i++)
		if (m[i].index < first && strcmp(m[i].name, m[i - 1].name) == 0)
			first = m[i].index;
	free(m);
	return first;
}

/* Searches V for the first repeated key in text order, leaving the way there in T. */
static bool json__find(const cJSON *v, struct json__trail *t)
{
	const cJSON *c;
	size_t n = 0, stop, i;

	if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
		return false;
	for (c = v->child; c != NULL; c = c->next)
		n++;
	stop = cJSON_IsObject(v) ? json__first_repeat(v, n) : n;
	if (t->depth == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->steps = xrealloc(t->steps, t->cap * sizeof *t->steps);
	}
	t->depth++;
	for (c = v->child, i = 0; i < stop; c = c->next, i++) {
		t->steps[t->depth - 1] = i;
		if (json__find(c, t))
			return true;
	}
	if (stop < n) {
		t->steps[t->depth - 1] = stop;
		return true;
	}
	t->depth--;
	return false;
}

/* The child of V at INDEX. */
static const cJSON *json__child(const cJSON *v, size_t index)
{
	const cJSON *c = v->child;

	while (index-- > 0)
		c = c->next;
	return c;
}

/* Appends NAME to the path *S (cut, with control bytes escaped). */
static void json__append_name(char **s, const char *name)
{
	size_t n = strlen(name), cut = n > JSON__NAME_MAX ? JSON__NAME_MAX : n;
	char *out, *o;

	while (cut < n && cut > 0 && ((unsigned char)name[cut] & 0xc0) == 0x80)
		cut--;
	out = xmalloc(strlen(*s) + 4 * cut + 5);
	o = stpcpy(out, *s);
	for (size_t i = 0; i < cut; i++) {
		unsigned char ch = (unsigned char)name[i];
		if (ch < 0x20 || ch == 0x7f) {
			static const char hex[] = "0123456789abcdef";
			*o++ = '\\';
			*o++ = 'x';
			*o++ = hex[ch >> 4];
			*o++ = hex[ch & 15];
		} else {
			*o++ = (char)ch;
		}
	}
	strcpy(o, cut < n ? "..." : "");
	free(*s);
	*s = out;
}

/* The path that the trail T names in ROOT. */
static char *json__path(const cJSON *root, const struct json__trail *t)
{
	char *s = xstrdup("");
	const cJSON *v = root;

	for (size_t d = 0; d < t->depth; d++) {
		const cJSON *c = json__child(v, t->steps[d]);
		if (cJSON_IsObject(v)) {
			if (d > 0) {
				char *u = xasprintf("%s.", s);
				free(s);
				s = u;
			}
			json__append_name(&s, json__name(c));
		} else {
			char *u = xasprintf("%s[%zu]", s, t->steps[d]);
			free(s);
			s = u;
		}
		v = c;
	}
	return s;
}

/* Skips the white space cJSON skips: every byte up to the space. */
static const char *json__space(const char *p)
{
	while (*p != '\0' && (unsigned char)*p <= ' ')
		p++;
	return p;
}

/* Skips the string starting at P's quote; NULL if it never ends. */
static const char *json__skip_string(const char *p)
{
	for (p++; *p != '"'; p++) {
		if (*p == '\0')
			return NULL;
		if (*p == '\\' && *++p == '\0')
			return NULL;
	}
	return p + 1;
}

/* Skips one value (after white space); NULL if the text ends inside it. */
static const char *json__skip_value(const char *p)
{
	size_t depth = 0;

	p = json__space(p);
	if (*p == '"')
		return json__skip_string(p);
	if (*p != '{' && *p != '[') {
		while (*p != '\0' && (unsigned char)*p > ' ' && *p != ',' && *p != ']' && *p != '}')
			p++;
		return p;
	}
	do {
		if (*p == '"') {
			if ((p = json__skip_string(p)) == NULL)
				return NULL;
			continue;
		}
		if (*p == '\0')
			return NULL;
		if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']')
			depth--;
		p++;
	} while (depth > 0);
	return p;
}

/* Follows the trail T through TEXT (which ROOT was parsed from) to the repeated key's quote. */
static const char *json__locate(const char *text, const cJSON *root, const struct json__trail *t)
{
	const char *p = text;
	const cJSON *v = root;

	if (strncmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3; /* cJSON skips a byte order mark */
	p = json__space(p);
	for (size_t d = 0; d < t->depth; d++) {
		bool object = cJSON_IsObject(v);

		if (*p != (object ? '{' : '['))
			return NULL;
		p++;
		for (size_t i = 0;; i++) {
			p = json__space(p);
			if (object) {
				const char *key = p;
				if (*p != '"' || (p = json__skip_string(p)) == NULL)
					return NULL;
				if (i == t->steps[d] && d + 1 == t->depth)
					return key;
				p = json__space(p);
				if (*p != ':')
					return NULL;
				p = json__space(p + 1);
			}
			if (i == t->steps[d])
				break;
			if ((p = json__skip_value(p)) == NULL)
				return NULL;
			p = json__space(p);
			if (*p != ',')
				return NULL;
			p++;
		}
		v = json__child(v, t->steps[d]);
	}
	return NULL;
}

char *json_duplicate_key(const struct cJSON *root, const char *text, const char **where)
{
	struct json__trail t = {0};
	char *path = NULL;

	if (where != NULL)
		*where = NULL;
	if (json__find(root, &t)) {
		path = json__path(root, &t);
		if (text != NULL && where != NULL)
			*where = json__locate(text, root, &t);
	}
	free(t.steps);
	return path;
}

const char *json_nul_escape(const char *text)
{
	/* In valid JSON a backslash only ever starts an escape inside a string. */
	for (const char *p = text; *p != '\0'; p++) {
		if (*p != '\\')
			continue;
		if (strncmp(p + 1, "u0000", 5) == 0)
			return p;
		if (*++p == '\0')
			break;
	}
	return NULL;
}

struct cJSON *json_parse_strict(const char *text, char **cause)
{
	const char *end = NULL, *at;
	cJSON *root = cJSON_ParseWithOpts(text, &end, true);
	char *key;
	int line, col;

	if (root == NULL) {
		if (end == NULL)
			end = text + strlen(text);
		json_error_position(text, end, &line, &col);
		if (cause != NULL)
			*cause = xasprintf("invalid JSON at line %d, column %d%s", line, col,
			                   *end == '\0' ? " (unexpected end of input)" : "");
		return NULL;
	}
	if ((at = json_nul_escape(text)) != NULL) {
		json_error_position(text, at, &line, &col);
		if (cause != NULL)
			*cause = xasprintf("a string holds a NUL character (\\u0000) at line %d, "
			                   "column %d",
			                   line, col);
		cJSON_Delete(root);
		return NULL;
	}
	key = json_duplicate_key(root, text, &at);
	if (key == NULL)
		return root;
	json_error_position(text, at, &line, &col);
	if (cause != NULL)
		*cause = xasprintf("duplicate key \"%s\" at line %d, column %d", key, line, col);
	free(key);
	cJSON_Delete(root);
	return NULL;
}
