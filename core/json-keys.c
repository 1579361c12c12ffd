/*
 * The key-table reader behind config.json and the managed policy (see
 * json-keys.h). The tables say what is known; the setters check values;
 * messages name members by their dotted path, found again in the text by
 * json_keys_at() for FILE:LINE:COL.
 */
#include "json-keys.h"

#include "xmalloc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* How deep json_keys_at() follows objects. */
#define JSON_KEYS_DEPTH 8

/*
 * Where member NAME starts in TEXT (see json-keys.h): a plain scan over the
 * JSON text (strings skipped whole), keeping the last key seen at each depth
 * of objects.
 */
const char *json_keys_at(const char *text, const char *name)
{
	const char *key[JSON_KEYS_DEPTH];
	size_t len[JSON_KEYS_DEPTH];
	bool obj[JSON_KEYS_DEPTH];
	int depth = -1;

	for (const char *p = text; *p != '\0'; p++) {
		if (*p == '{' || *p == '[') {
			if (++depth < JSON_KEYS_DEPTH) {
				obj[depth] = *p == '{';
				key[depth] = NULL;
			}
		} else if (*p == '}' || *p == ']') {
			depth--;
		} else if (*p == '"') {
			const char *s = p + 1, *e = s, *q;

			while (*e != '\0' && *e != '"')
				e += e[0] == '\\' && e[1] != '\0' ? 2 : 1;
			if (*e == '\0')
				return NULL;
			for (q = e + 1; *q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'; q++)
				;
			if (*q == ':' && depth >= 0 && depth < JSON_KEYS_DEPTH && obj[depth]) {
				const char *n = name;
				bool match = true;

				key[depth] = s;
				len[depth] = (size_t)(e - s);
				/* Every level from the top must name the next part of NAME. */
				for (int d = 0; d <= depth && match; d++) {
					size_t part = strcspn(n, ".");

					match = key[d] != NULL && obj[d] && part == len[d] &&
					        memcmp(key[d], n, part) == 0 && (n[part] == '.') == (d < depth);
					n += part + (n[part] == '.');
				}
				if (match)
					return p;
			}
			p = e;
		}
	}
	return NULL;
}

/* Applies OBJ's members to TARGET through KEYS (see json-keys.h). */
int json_keys_apply(void *target, const cJSON *obj, const struct json_key *keys,
                    const char *prefix, char **why, char **where)
{
	const cJSON *member;

	if (!cJSON_IsObject(obj)) {
		if (*prefix == '\0') {
			*why = xstrdup("the top level must be an object");
		} else {
			*why = xasprintf("\"%.*s\" must be an object", (int)strlen(prefix) - 1,
			                 prefix);
			*where = xasprintf("%.*s", (int)strlen(prefix) - 1, prefix);
		}
		return -EINVAL;
	}
	cJSON_ArrayForEach(member, obj)
	{
		const struct json_key *k = keys;
		while (k->name != NULL && strcmp(k->name, member->string) != 0)
			k++;
		if (k->name == NULL) {
			*why = xasprintf("unknown key \"%s%s\"", prefix, member->string);
			*where = xasprintf("%s%s", prefix, member->string);
			return -EINVAL;
		}
		if (k->keys != NULL) {
			char *nested = xasprintf("%s%s.", prefix, member->string);
			int rc = json_keys_apply(target, member, k->keys, nested, why, where);
			free(nested);
			if (rc != 0)
				return rc;
			continue;
		}
		char *inner = NULL;
		if (k->set(target, member, &inner) != 0) {
			*why = xasprintf("\"%s%s\": %s", prefix, member->string, inner);
			*where = xasprintf("%s%s", prefix, member->string);
			free(inner);
			return -EINVAL;
		}
	}
	return 0;
}
