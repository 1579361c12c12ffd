/*
 * The agent protocol's lines: parsing requests and events, building them,
 * base64 for output bytes, and the splitter that cuts a byte stream into
 * lines under a hard length limit.
 *
 * Parsing checks the cheap things first and in a fixed order, so that every
 * malformed line gets one exact message: length, UTF-8, JSON syntax, object,
 * a key given twice in any object of the line, then the fields. Fields are
 * looked up in one table (name, which ops allow it); one pass over the
 * object's members finds unknown names in linear time, and repeated ones
 * are found in n log n (json_duplicate_key), so a 1 MB line of tiny members
 * costs little more than its size. cJSON is only the tokenizer; strings
 * containing NUL are refused, since everything downstream is C strings.
 */
#include "protocol.h"

#include "json-error.h"
#include "xmalloc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fields of requests, and which ops accept each. */
enum protocol_field {
	PROTOCOL_F_ID,
	PROTOCOL_F_OP,
	PROTOCOL_F_COMMAND,
	PROTOCOL_F_CWD,
	PROTOCOL_F_PERMISSIONS,
	PROTOCOL_F_JUSTIFICATION,
	PROTOCOL_F_PREFIX_RULE,
	PROTOCOL_F_PATCH,
	PROTOCOL_F_TARGET,
	PROTOCOL_F_TTY,
	PROTOCOL_F_TIMEOUT,
	PROTOCOL_F_STDIO_FDS,
	PROTOCOL_F_DATA,
	PROTOCOL_F_ADDITIONS,
	PROTOCOL_N_FIELDS,
};

#define PROTOCOL_OP_BIT(op) (1u << (op))
#define PROTOCOL_ALL_OPS                                                                           \
	(PROTOCOL_OP_BIT(PROTOCOL_EXEC) | PROTOCOL_OP_BIT(PROTOCOL_APPLY_PATCH) |                  \
	 PROTOCOL_OP_BIT(PROTOCOL_CANCEL) | PROTOCOL_OP_BIT(PROTOCOL_STDIN) |                      \
	 PROTOCOL_OP_BIT(PROTOCOL_REQUEST_PERMISSIONS))

static const struct {
	const char *name;
	unsigned ops;
} protocol_fields[PROTOCOL_N_FIELDS] = {
    [PROTOCOL_F_ID] = {.name = "id", .ops = PROTOCOL_ALL_OPS},
    [PROTOCOL_F_OP] = {.name = "op", .ops = PROTOCOL_ALL_OPS},
    [PROTOCOL_F_COMMAND] = {.name = "command", .ops = PROTOCOL_OP_BIT(PROTOCOL_EXEC)},
    [PROTOCOL_F_CWD] = {.name = "cwd",
                        .ops =
                            PROTOCOL_OP_BIT(PROTOCOL_EXEC) | PROTOCOL_OP_BIT(PROTOCOL_APPLY_PATCH)},
    [PROTOCOL_F_PERMISSIONS] = {.name = "sandbox_permissions",
                                .ops = PROTOCOL_OP_BIT(PROTOCOL_EXEC)},
    [PROTOCOL_F_JUSTIFICATION] = {.name = "justification",
                                  .ops = PROTOCOL_OP_BIT(PROTOCOL_EXEC) |
                                         PROTOCOL_OP_BIT(PROTOCOL_REQUEST_PERMISSIONS)},
    [PROTOCOL_F_PREFIX_RULE] = {.name = "prefix_rule", .ops = PROTOCOL_OP_BIT(PROTOCOL_EXEC)},
    [PROTOCOL_F_PATCH] = {.name = "patch", .ops = PROTOCOL_OP_BIT(PROTOCOL_APPLY_PATCH)},
    [PROTOCOL_F_TARGET] = {.name = "target",
                           .ops = PROTOCOL_OP_BIT(PROTOCOL_CANCEL) | PROTOCOL_OP_BIT(PROTOCOL_STDIN)},
    [PROTOCOL_F_TTY] = {.name = "tty", .ops = PROTOCOL_OP_BIT(PROTOCOL_EXEC)},
    [PROTOCOL_F_TIMEOUT] = {.name = "timeout_ms", .ops = PROTOCOL_OP_BIT(PROTOCOL_EXEC)},
    [PROTOCOL_F_STDIO_FDS] = {.name = "stdio_fds", .ops = PROTOCOL_OP_BIT(PROTOCOL_EXEC)},
    [PROTOCOL_F_DATA] = {.name = "data", .ops = PROTOCOL_OP_BIT(PROTOCOL_STDIN)},
    [PROTOCOL_F_ADDITIONS] = {.name = "permissions",
                              .ops = PROTOCOL_OP_BIT(PROTOCOL_EXEC) |
                                     PROTOCOL_OP_BIT(PROTOCOL_REQUEST_PERMISSIONS)},
};

static const char *const protocol_op_names[] = {
    [PROTOCOL_EXEC] = "exec",
    [PROTOCOL_APPLY_PATCH] = "apply_patch",
    [PROTOCOL_CANCEL] = "cancel",
    [PROTOCOL_STDIN] = "stdin",
    [PROTOCOL_REQUEST_PERMISSIONS] = "request_permissions",
};

static const char *const protocol_decision_names[] = {
    [PROTOCOL_APPROVED] = "approved",
    [PROTOCOL_APPROVED_FOR_SESSION] = "approved_for_session",
    [PROTOCOL_APPROVED_RULE] = "approved_rule",
    [PROTOCOL_DENIED] = "denied",
};

static const char *const protocol_event_names[] = {
    [PROTOCOL_EVENT_QUEUED] = "queued", [PROTOCOL_EVENT_DECISION] = "decision",
    [PROTOCOL_EVENT_OUTPUT] = "output", [PROTOCOL_EVENT_EXIT] = "exit",
    [PROTOCOL_EVENT_ERROR] = "error",
    [PROTOCOL_EVENT_PATCH] = "patch",
};

/* Longest piece of a client's text quoted back in a message. */
#define PROTOCOL_QUOTE_MAX 64

const char *protocol_decision_name(enum protocol_decision decision)
{
	return protocol_decision_names[decision];
}

bool protocol_utf8_valid(const char *buf, size_t len, size_t *bad)
{
	const unsigned char *s = (const unsigned char *)buf;
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		size_t n;
		uint32_t cp, min;

		/* Runs of ASCII (base64 output, most JSON) eight bytes at a time. */
		while (i + 8 <= len) {
			uint64_t w;

			memcpy(&w, s + i, 8);
			if ((w & 0x8080808080808080ull) != 0)
				break;
			i += 8;
		}
		if (i >= len)
			break;
		c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
			min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
			min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
			min = 0x10000;
		} else {
			goto fail;
		}
		if (i + n >= len)
			goto fail;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				goto fail;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto fail;
		i += n + 1;
	}
	return true;
fail:
	if (bad != NULL)
		*bad = i;
	return false;
}

/* A copy of S (at most PROTOCOL_QUOTE_MAX bytes, cut on a character). */
static char *protocol_quote(const char *s)
{
	size_t n = strlen(s);

	if (n <= PROTOCOL_QUOTE_MAX)
		return xstrdup(s);
	n = PROTOCOL_QUOTE_MAX;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return xasprintf("%.*s...", (int)n, s);
}

/* Sets *CAUSE to BEFORE, "VALUE" (quoted, cut short) and AFTER; returns -EINVAL. */
static int protocol_fail(char **cause, const char *before, const char *value, const char *after)
{
	char *q = value != NULL ? protocol_quote(value) : NULL;

	if (q != NULL)
		*cause = xasprintf("%s\"%s\"%s", before, q, after);
	else
		*cause = xasprintf("%s%s", before, after);
	free(q);
	return -EINVAL;
}

/* Whether the raw JSON text (already valid) has a "\u0000" escape. */
static bool protocol_has_nul_escape(const char *s, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (s[i] != '\\')
			continue;
		if (s[i + 1] == 'u' && i + 5 < len && memcmp(s + i + 2, "0000", 4) == 0)
			return true;
		i++; /* skip the escaped character */
	}
	return false;
}

/*
 * Parses TEXT as one JSON object filling the whole text (white space aside),
 * with no NUL in its strings and no key twice in any of its objects.
 * Returns the object, or NULL with *CAUSE.
 */
static cJSON *protocol_json(const char *line, size_t len, char **cause)
{
	const char *end = NULL, *again;
	char *copy, *key;
	cJSON *json;
	size_t bad;

	if (len > PROTOCOL_MAX_LINE) {
		*cause = xasprintf("line too long (over %d bytes)", PROTOCOL_MAX_LINE);
		return NULL;
	}
	if (!protocol_utf8_valid(line, len, &bad)) {
		*cause = xasprintf("invalid UTF-8 at byte %zu", bad);
		return NULL;
	}
	if (memchr(line, '\0', len) != NULL) {
		*cause = xasprintf("not JSON: syntax error at byte %zu",
		                   (size_t)((const char *)memchr(line, '\0', len) - line));
		return NULL;
	}
	copy = xstrndup(line, len);
	json = cJSON_ParseWithOpts(copy, &end, false);
	if (json != NULL) {
		while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
			end++;
		if (*end != '\0') {
			cJSON_Delete(json);
			json = NULL;
		}
	}
	if (json == NULL) {
		size_t at = end != NULL && end >= copy ? (size_t)(end - copy) : 0;

		*cause = xasprintf("not JSON: syntax error at byte %zu", at);
		free(copy);
		return NULL;
	}
	if (!cJSON_IsObject(json))
		*cause = xstrdup("not a JSON object");
	else if (protocol_has_nul_escape(line, len))
		*cause = xstrdup("a string holds a NUL character (\\u0000)");
	else if ((key = json_duplicate_key(json, copy, &again)) != NULL) {
		char *where =
		    xasprintf(" at byte %zu", again != NULL ? (size_t)(again - copy) : len);

		protocol_fail(cause, "duplicate field ", key, where);
		free(where);
		free(key);
	} else {
		free(copy);
		return json;
	}
	free(copy);
	cJSON_Delete(json);
	return NULL;
}

/*
 * Copies a JSON array of strings, in one allocation (xstrv_pack: a
 * 200k-word command is one malloc, and one free); NULL if V is not a
 * non-empty one.
 */
static char **protocol_strings(const cJSON *v, size_t *n)
{
	size_t count = 0, i = 0;
	const cJSON *e;
	char **words, **out;

	if (!cJSON_IsArray(v))
		return NULL;
	cJSON_ArrayForEach(e, v)
	{
		if (!cJSON_IsString(e))
			return NULL;
		count++;
	}
	if (count == 0)
		return NULL;
	words = xcalloc(count + 1, sizeof *words);
	cJSON_ArrayForEach(e, v) words[i++] = e->valuestring;
	out = xstrv_pack(count, words);
	free(words);
	*n = count;
	return out;
}

/* Frees a string array of protocol_strings. */
static void protocol_strv_free(char **v)
{
	free(v);
}

/*
 * Reads "permissions" V into *OUT: an object of "write", "read" and
 * "network" (each optional, an array of strings; the paths absolute), with
 * at least one entry in all. Returns 0 or -EINVAL with *CAUSE.
 */
static int protocol_additions_parse(const cJSON *v, struct protocol_additions *out, char **cause)
{
	static const char shape[] = "field \"permissions\" must be an object of \"write\", "
	                            "\"read\" and \"network\" arrays of strings, with at least "
	                            "one entry";
	const cJSON *m;

	if (!cJSON_IsObject(v))
		return protocol_fail(cause, shape, NULL, "");
	cJSON_ArrayForEach(m, v)
	{
		char ***list = strcmp(m->string, "write") == 0     ? &out->write
		               : strcmp(m->string, "read") == 0    ? &out->read
		               : strcmp(m->string, "network") == 0 ? &out->network
		                                                   : NULL;
		size_t *n = list == &out->write  ? &out->n_write
		            : list == &out->read ? &out->n_read
		                                 : &out->n_network;

		if (list == NULL)
			return protocol_fail(cause, shape, NULL, "");
		if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 0)
			continue;
		*list = protocol_strings(m, n);
		if (*list == NULL)
			return protocol_fail(cause, shape, NULL, "");
		for (size_t i = 0; list != &out->network && i < *n; i++)
			if ((*list)[i][0] != '/') {
				char *field = xasprintf("field \"permissions.%s\" must hold absolute "
				                        "paths",
				                        m->string);

				*cause = field;
				return -EINVAL;
			}
	}
	if (out->n_write + out->n_read + out->n_network == 0)
		return protocol_fail(cause, shape, NULL, "");
	return 0;
}

/* Reads "stdio_fds" (V) into REQ: 0, or -1 when it is not a list of distinct stream names. */
static int protocol_stdio_fds(const cJSON *v, struct protocol_request *req)
{
	const cJSON *e;

	if (!cJSON_IsArray(v))
		return -1;
	cJSON_ArrayForEach(e, v)
	{
		int stream;

		if (!cJSON_IsString(e))
			return -1;
		if (strcmp(e->valuestring, "stdout") == 0)
			stream = PROTOCOL_STDOUT;
		else if (strcmp(e->valuestring, "stderr") == 0)
			stream = PROTOCOL_STDERR;
		else
			return -1;
		for (size_t i = 0; i < req->n_stdio_fds; i++)
			if (req->stdio_fds[i] == stream)
				return -1;
		if (req->n_stdio_fds == 2)
			return -1;
		req->stdio_fds[req->n_stdio_fds++] = stream;
	}
	return 0;
}

int protocol_parse(const char *line, size_t len, struct protocol_request *req, char **cause)
{
	const cJSON *f[PROTOCOL_N_FIELDS] = {0};
	const char *unknown = NULL;
	cJSON *json, *m;
	int rc = -EINVAL;

	memset(req, 0, sizeof *req);
	req->stdio_fd[0] = req->stdio_fd[1] = -1;
	json = protocol_json(line, len, cause);
	if (json == NULL)
		return -EINVAL;
	/* One pass: each member's field and unknown names (protocol_json refused repeats). */
	cJSON_ArrayForEach(m, json)
	{
		int k;

		for (k = 0; k < PROTOCOL_N_FIELDS; k++)
			if (strcmp(m->string, protocol_fields[k].name) == 0)
				break;
		if (k == PROTOCOL_N_FIELDS) {
			if (unknown == NULL)
				unknown = m->string;
		} else {
			f[k] = m;
		}
	}
	if (f[PROTOCOL_F_ID] == NULL) {
		rc = protocol_fail(cause, "missing field \"id\"", NULL, "");
		goto out;
	}
	if (!cJSON_IsString(f[PROTOCOL_F_ID]) || f[PROTOCOL_F_ID]->valuestring[0] == '\0') {
		rc = protocol_fail(cause, "field \"id\" must be a non-empty string", NULL, "");
		goto out;
	}
	req->id = xstrdup(f[PROTOCOL_F_ID]->valuestring);
	if (f[PROTOCOL_F_OP] == NULL) {
		rc = protocol_fail(cause, "missing field \"op\"", NULL, "");
		goto out;
	}
	if (!cJSON_IsString(f[PROTOCOL_F_OP])) {
		rc = protocol_fail(cause, "field \"op\" must be a string", NULL, "");
		goto out;
	}
	const char *op = f[PROTOCOL_F_OP]->valuestring;
	size_t k;
	for (k = 0; k < sizeof protocol_op_names / sizeof *protocol_op_names; k++)
		if (strcmp(op, protocol_op_names[k]) == 0)
			break;
	if (k == sizeof protocol_op_names / sizeof *protocol_op_names) {
		rc = protocol_fail(cause, "unknown op ", op,
		                   " (expected exec, apply_patch, cancel, stdin or "
		                   "request_permissions)");
		goto out;
	}
	req->op = (enum protocol_op)k;
	if (unknown == NULL)
		for (int i = 0; i < PROTOCOL_N_FIELDS && unknown == NULL; i++)
			if (f[i] != NULL && !(protocol_fields[i].ops & PROTOCOL_OP_BIT(req->op)))
				unknown = protocol_fields[i].name;
	if (unknown != NULL) {
		char *q = protocol_quote(unknown);

		*cause = xasprintf("unknown field \"%s\" for op \"%s\"", q, op);
		free(q);
		goto out;
	}
	/* The fields of each op, in a fixed order. */
	static const enum protocol_field required[][3] = {
	    [PROTOCOL_REQUEST_PERMISSIONS] = {PROTOCOL_F_ADDITIONS, PROTOCOL_N_FIELDS,
	                                      PROTOCOL_N_FIELDS},
	    [PROTOCOL_EXEC] = {PROTOCOL_F_COMMAND, PROTOCOL_F_CWD, PROTOCOL_N_FIELDS},
	    [PROTOCOL_APPLY_PATCH] = {PROTOCOL_F_CWD, PROTOCOL_F_PATCH, PROTOCOL_N_FIELDS},
	    [PROTOCOL_CANCEL] = {PROTOCOL_F_TARGET, PROTOCOL_N_FIELDS, PROTOCOL_N_FIELDS},
	    [PROTOCOL_STDIN] = {PROTOCOL_F_TARGET, PROTOCOL_F_DATA, PROTOCOL_N_FIELDS},
	};
	for (int i = 0; i < 3 && required[req->op][i] != PROTOCOL_N_FIELDS; i++) {
		if (f[required[req->op][i]] == NULL) {
			rc = protocol_fail(cause, "missing field ",
			                   protocol_fields[required[req->op][i]].name, "");
			goto out;
		}
	}
	if (f[PROTOCOL_F_COMMAND] != NULL) {
		req->command = protocol_strings(f[PROTOCOL_F_COMMAND], &req->n_command);
		if (req->command == NULL) {
			rc = protocol_fail(cause,
			                   "field \"command\" must be a non-empty array of strings",
			                   NULL, "");
			goto out;
		}
	}
	if (f[PROTOCOL_F_CWD] != NULL) {
		if (!cJSON_IsString(f[PROTOCOL_F_CWD]) ||
		    f[PROTOCOL_F_CWD]->valuestring[0] != '/') {
			rc = protocol_fail(cause, "field \"cwd\" must be an absolute path", NULL,
			                   "");
			goto out;
		}
		req->cwd = xstrdup(f[PROTOCOL_F_CWD]->valuestring);
	}
	if (f[PROTOCOL_F_PERMISSIONS] != NULL) {
		const cJSON *v = f[PROTOCOL_F_PERMISSIONS];

		if (cJSON_IsString(v) && strcmp(v->valuestring, "use_default") == 0) {
			req->permissions = PROTOCOL_USE_DEFAULT;
		} else if (cJSON_IsString(v) && strcmp(v->valuestring, "require_escalated") == 0) {
			req->permissions = PROTOCOL_REQUIRE_ESCALATED;
		} else if (cJSON_IsString(v) &&
		           strcmp(v->valuestring, "with_additional_permissions") == 0) {
			req->permissions = PROTOCOL_WITH_ADDITIONAL_PERMISSIONS;
		} else {
			rc = protocol_fail(cause,
			                   "field \"sandbox_permissions\" must be \"use_default\", "
			                   "\"require_escalated\" or \"with_additional_permissions\"",
			                   NULL, "");
			goto out;
		}
	}
	if (req->op == PROTOCOL_EXEC &&
	    (req->permissions == PROTOCOL_WITH_ADDITIONAL_PERMISSIONS) !=
	        (f[PROTOCOL_F_ADDITIONS] != NULL)) {
		rc = protocol_fail(cause,
		                   f[PROTOCOL_F_ADDITIONS] == NULL
		                       ? "missing field \"permissions\""
		                       : "field \"permissions\" needs "
		                         "\"sandbox_permissions\":\"with_additional_permissions\"",
		                   NULL, "");
		goto out;
	}
	if (f[PROTOCOL_F_ADDITIONS] != NULL &&
	    (rc = protocol_additions_parse(f[PROTOCOL_F_ADDITIONS], &req->additions, cause)) != 0)
		goto out;
	if (f[PROTOCOL_F_JUSTIFICATION] != NULL) {
		if (!cJSON_IsString(f[PROTOCOL_F_JUSTIFICATION])) {
			rc = protocol_fail(cause, "field \"justification\" must be a string", NULL,
			                   "");
			goto out;
		}
		req->justification = xstrdup(f[PROTOCOL_F_JUSTIFICATION]->valuestring);
	}
	if (f[PROTOCOL_F_PREFIX_RULE] != NULL) {
		req->prefix_rule = protocol_strings(f[PROTOCOL_F_PREFIX_RULE], &req->n_prefix_rule);
		if (req->prefix_rule == NULL) {
			rc = protocol_fail(
			    cause, "field \"prefix_rule\" must be a non-empty array of strings",
			    NULL, "");
			goto out;
		}
	}
	if (f[PROTOCOL_F_PATCH] != NULL) {
		if (!cJSON_IsString(f[PROTOCOL_F_PATCH])) {
			rc = protocol_fail(cause, "field \"patch\" must be a string", NULL, "");
			goto out;
		}
		req->patch = xstrdup(f[PROTOCOL_F_PATCH]->valuestring);
	}
	if (f[PROTOCOL_F_TARGET] != NULL) {
		if (!cJSON_IsString(f[PROTOCOL_F_TARGET]) ||
		    f[PROTOCOL_F_TARGET]->valuestring[0] == '\0') {
			rc = protocol_fail(cause, "field \"target\" must be a non-empty string",
			                   NULL, "");
			goto out;
		}
		req->target = xstrdup(f[PROTOCOL_F_TARGET]->valuestring);
	}
	if (f[PROTOCOL_F_TTY] != NULL) {
		if (!cJSON_IsBool(f[PROTOCOL_F_TTY])) {
			rc = protocol_fail(cause, "field \"tty\" must be true or false", NULL, "");
			goto out;
		}
		req->tty = cJSON_IsTrue(f[PROTOCOL_F_TTY]);
	}
	if (f[PROTOCOL_F_TIMEOUT] != NULL) {
		const cJSON *v = f[PROTOCOL_F_TIMEOUT];

		/* Whole milliseconds, at most a week (SPEC 12). */
		if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > PROTOCOL_TIMEOUT_MAX_MS ||
		    v->valuedouble != (double)(uint64_t)v->valuedouble) {
			rc = protocol_fail(cause,
			                   "field \"timeout_ms\" must be a whole number of milliseconds "
			                   "from 1 to 604800000",
			                   NULL, "");
			goto out;
		}
		req->timeout_ms = (uint64_t)v->valuedouble;
	}
	if (f[PROTOCOL_F_STDIO_FDS] != NULL && protocol_stdio_fds(f[PROTOCOL_F_STDIO_FDS], req) != 0) {
		rc = protocol_fail(cause,
		                   "field \"stdio_fds\" must be an array of \"stdout\" and \"stderr\", "
		                   "each at most once",
		                   NULL, "");
		goto out;
	}
	if (f[PROTOCOL_F_DATA] != NULL) {
		const cJSON *v = f[PROTOCOL_F_DATA];

		req->data = cJSON_IsString(v) ? protocol_base64_decode(v->valuestring,
		                                                        strlen(v->valuestring),
		                                                        &req->data_len)
		                              : NULL;
		if (req->data == NULL) {
			rc = protocol_fail(cause, "field \"data\" must be a base64 string", NULL,
			                   "");
			goto out;
		}
	}
	rc = 0;
out:
	cJSON_Delete(json);
	return rc;
}

void protocol_request_free(struct protocol_request *req)
{
	free(req->id);
	protocol_strv_free(req->command);
	free(req->cwd);
	free(req->justification);
	protocol_strv_free(req->prefix_rule);
	free(req->patch);
	free(req->target);
	free(req->data);
	protocol_strv_free(req->additions.write);
	protocol_strv_free(req->additions.read);
	protocol_strv_free(req->additions.network);
	memset(req, 0, sizeof *req);
}

/* Prints JSON as one line with its newline, and deletes it. */
static char *protocol_line(cJSON *json)
{
	char *s = cJSON_PrintUnformatted(json), *line;

	if (s == NULL) {
		/* cJSON only fails when out of memory, which we never survive. */
		fputs("airlock: out of memory (printing JSON)\n", stderr);
		abort();
	}
	line = xasprintf("%s\n", s);
	cJSON_free(s);
	cJSON_Delete(json);
	return line;
}

/* Adds a NULL-terminated string array to OBJ under NAME. */
static void protocol_add_strv(cJSON *obj, const char *name, char *const *v)
{
	cJSON *a = cJSON_AddArrayToObject(obj, name);

	for (; *v != NULL; v++)
		cJSON_AddItemToArray(a, cJSON_CreateString(*v));
}

/* Adds A as "permissions" to OBJ (only the kinds it has). */
static void protocol_add_additions(cJSON *obj, const struct protocol_additions *a)
{
	cJSON *p = cJSON_AddObjectToObject(obj, "permissions");

	if (a->write != NULL)
		protocol_add_strv(p, "write", a->write);
	if (a->read != NULL)
		protocol_add_strv(p, "read", a->read);
	if (a->network != NULL)
		protocol_add_strv(p, "network", a->network);
}

char *protocol_request_format(const struct protocol_request *req)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "id", req->id);
	cJSON_AddStringToObject(o, "op", protocol_op_names[req->op]);
	switch (req->op) {
	case PROTOCOL_EXEC:
		protocol_add_strv(o, "command", req->command);
		cJSON_AddStringToObject(o, "cwd", req->cwd);
		cJSON_AddStringToObject(o, "sandbox_permissions",
		                        req->permissions == PROTOCOL_REQUIRE_ESCALATED
		                            ? "require_escalated"
		                        : req->permissions == PROTOCOL_WITH_ADDITIONAL_PERMISSIONS
		                            ? "with_additional_permissions"
		                            : "use_default");
		if (req->justification != NULL)
			cJSON_AddStringToObject(o, "justification", req->justification);
		if (req->prefix_rule != NULL)
			protocol_add_strv(o, "prefix_rule", req->prefix_rule);
		if (req->tty)
			cJSON_AddTrueToObject(o, "tty");
		if (req->timeout_ms > 0)
			cJSON_AddNumberToObject(o, "timeout_ms", (double)req->timeout_ms);
		if (req->n_stdio_fds > 0) {
			cJSON *a = cJSON_AddArrayToObject(o, "stdio_fds");

			for (size_t i = 0; i < req->n_stdio_fds && i < 2; i++)
				cJSON_AddItemToArray(a, cJSON_CreateString(
				                            req->stdio_fds[i] == PROTOCOL_STDERR ? "stderr"
				                                                                 : "stdout"));
		}
		if (req->permissions == PROTOCOL_WITH_ADDITIONAL_PERMISSIONS)
			protocol_add_additions(o, &req->additions);
		break;
	case PROTOCOL_REQUEST_PERMISSIONS:
		protocol_add_additions(o, &req->additions);
		if (req->justification != NULL)
			cJSON_AddStringToObject(o, "justification", req->justification);
		break;
	case PROTOCOL_APPLY_PATCH:
		cJSON_AddStringToObject(o, "cwd", req->cwd);
		cJSON_AddStringToObject(o, "patch", req->patch);
		break;
	case PROTOCOL_CANCEL:
		cJSON_AddStringToObject(o, "target", req->target);
		break;
	case PROTOCOL_STDIN: {
		char *b64 = protocol_base64_encode(
		    req->data != NULL ? (const void *)req->data : (const void *)"", req->data_len);

		cJSON_AddStringToObject(o, "target", req->target);
		cJSON_AddStringToObject(o, "data", b64);
		free(b64);
		break;
	}
	}
	return protocol_line(o);
}

/* A new event object with its id and kind. */
static cJSON *protocol_event_new(const char *id, enum protocol_event_kind kind)
{
	cJSON *o = cJSON_CreateObject();

	if (id != NULL)
		cJSON_AddStringToObject(o, "id", id);
	else
		cJSON_AddNullToObject(o, "id");
	cJSON_AddStringToObject(o, "event", protocol_event_names[kind]);
	return o;
}

static char *protocol_clean_utf8(const char *message);

char *protocol_event_queued(const char *id)
{
	return protocol_line(protocol_event_new(id, PROTOCOL_EVENT_QUEUED));
}

char *protocol_event_decision(const char *id, enum protocol_decision decision)
{
	return protocol_event_decision_reason(id, decision, NULL);
}

char *protocol_event_decision_reason(const char *id, enum protocol_decision decision,
                                     const char *reason)
{
	return protocol_event_decision_rejected(id, decision, reason, NULL);
}

char *protocol_event_decision_rejected(const char *id, enum protocol_decision decision,
                                       const char *reason, const char *rejected)
{
	cJSON *o = protocol_event_new(id, PROTOCOL_EVENT_DECISION);

	cJSON_AddStringToObject(o, "decision", protocol_decision_names[decision]);
	if (reason != NULL) {
		char *clean = protocol_clean_utf8(reason);

		cJSON_AddStringToObject(o, "reason", clean);
		free(clean);
	}
	if (rejected != NULL)
		cJSON_AddStringToObject(o, "rejected", rejected);
	return protocol_line(o);
}

static char *protocol_base64_put(char *o, const void *data, size_t len);

/*
 * Output is most of what a busy socket carries: its event is written by
 * hand, as cJSON would print it (same fields, same order), the base64 put
 * straight into the line (it needs no escaping), never through a tree.
 */
char *protocol_event_output(const char *id, enum protocol_stream stream, const void *data,
                            size_t len)
{
	cJSON *jid = id != NULL ? cJSON_CreateString(id) : cJSON_CreateNull();
	char *idj = cJSON_PrintUnformatted(jid), *line, *w;

	cJSON_Delete(jid);
	if (idj == NULL) {
		fputs("airlock: out of memory (printing JSON)\n", stderr);
		abort();
	}
	line = xmalloc(strlen(idj) + (len + 2) / 3 * 4 + 80);
	w = line + sprintf(line, "{\"id\":%s,\"event\":\"output\",\"stream\":\"%s\",\"data\":\"",
	                   idj, stream == PROTOCOL_STDERR ? "stderr" : "stdout");
	cJSON_free(idj);
	w = protocol_base64_put(w, data, len);
	memcpy(w, "\"}\n", 4);
	return line;
}

/*
 * An output event exactly as protocol_event_output writes it (an id of
 * plain printable ASCII), read without a JSON tree: true with *EV filled;
 * false for anything else, which the general parser then reads.
 */
static bool protocol_event_parse_output(const char *line, size_t len, struct protocol_event *ev)
{
	static const char head[] = "{\"id\":\"";
	static const char mid[] = "\",\"event\":\"output\",\"stream\":\"std";
	static const char tail[] = "\",\"data\":\"";
	const char *p = line, *end = line + len, *id, *data, *q;
	size_t n;

	if (len < sizeof head - 1 || memcmp(p, head, sizeof head - 1) != 0)
		return false;
	p += sizeof head - 1;
	id = p;
	while (p < end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20 &&
	       (unsigned char)*p < 0x7f)
		p++;
	n = (size_t)(p - id);
	if ((size_t)(end - p) < sizeof mid - 1 + 3 + sizeof tail - 1 + 2 ||
	    memcmp(p, mid, sizeof mid - 1) != 0)
		return false;
	p += sizeof mid - 1;
	if (memcmp(p, "out", 3) != 0 && memcmp(p, "err", 3) != 0)
		return false;
	ev->stream = p[0] == 'e' ? PROTOCOL_STDERR : PROTOCOL_STDOUT;
	p += 3;
	if (memcmp(p, tail, sizeof tail - 1) != 0)
		return false;
	data = p + sizeof tail - 1;
	q = memchr(data, '"', (size_t)(end - data));
	if (q == NULL || end - q != 2 || q[1] != '}')
		return false;
	ev->data = protocol_base64_decode(data, (size_t)(q - data), &ev->len);
	if (ev->data == NULL)
		return false;
	ev->kind = PROTOCOL_EVENT_OUTPUT;
	ev->id = xstrndup(id, n);
	return true;
}

char *protocol_event_exit(const char *id, int code, bool sandboxed)
{
	return protocol_event_exit_timed(id, code, sandboxed, false);
}

char *protocol_event_exit_timed(const char *id, int code, bool sandboxed, bool timed_out)
{
	cJSON *o = protocol_event_new(id, PROTOCOL_EVENT_EXIT);

	cJSON_AddNumberToObject(o, "code", code);
	cJSON_AddBoolToObject(o, "sandboxed", sandboxed);
	if (timed_out)
		cJSON_AddBoolToObject(o, "timed_out", true);
	return protocol_line(o);
}

/* MESSAGE with every byte that is not valid UTF-8 replaced by "?". */
static char *protocol_clean_utf8(const char *message)
{
	char *s = xstrdup(message);
	size_t len = strlen(s), off = 0, bad;

	while (!protocol_utf8_valid(s + off, len - off, &bad)) {
		s[off + bad] = '?';
		off += bad + 1;
	}
	return s;
}

char *protocol_event_error(const char *id, const char *message)
{
	return protocol_event_error_code(id, message, 0);
}

char *protocol_event_error_code(const char *id, const char *message, int code)
{
	char *clean = protocol_clean_utf8(message);
	char *cid = id != NULL ? protocol_clean_utf8(id) : NULL;
	cJSON *o = protocol_event_new(cid, PROTOCOL_EVENT_ERROR);

	cJSON_AddStringToObject(o, "message", clean);
	if (code != 0)
		cJSON_AddNumberToObject(o, "code", code);
	free(clean);
	free(cid);
	return protocol_line(o);
}

/* The protocol's name of a patch file's op. */
static const char *const protocol_patch_ops[] = {"add", "update", "delete"};

char *protocol_event_patch(const char *id, const struct protocol_patch_file *files, size_t n)
{
	char *cid = id != NULL ? protocol_clean_utf8(id) : NULL;
	cJSON *o = protocol_event_new(cid, PROTOCOL_EVENT_PATCH);
	cJSON *a = cJSON_AddArrayToObject(o, "files");

	for (size_t i = 0; i < n; i++) {
		cJSON *f = cJSON_CreateObject();
		char *path = protocol_clean_utf8(files[i].path);

		cJSON_AddStringToObject(f, "path", path);
		cJSON_AddStringToObject(f, "op", protocol_patch_ops[files[i].op]);
		free(path);
		if (files[i].move_to != NULL) {
			char *to = protocol_clean_utf8(files[i].move_to);

			cJSON_AddStringToObject(f, "move_to", to);
			free(to);
		}
		cJSON_AddItemToArray(a, f);
	}
	free(cid);
	return protocol_line(o);
}

/*
 * The lines `airlock submit --patch` prints for a patch event's FILES: "A
 * path", "M path", "D path", "R from -> to". NULL if FILES is malformed.
 */
static char *protocol_patch_lines(const cJSON *files)
{
	size_t cap = 1, len = 0;
	char *out;
	const cJSON *f;

	if (!cJSON_IsArray(files))
		return NULL;
	cJSON_ArrayForEach(f, files) {
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(f, "path");
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(f, "move_to");
		if (!cJSON_IsString(p) || (m != NULL && !cJSON_IsString(m)))
			return NULL;
		cap += strlen(p->valuestring) + (m != NULL ? strlen(m->valuestring) : 0) + 8;
	}
	out = xmalloc(cap);
	out[0] = '\0';
	cJSON_ArrayForEach(f, files) {
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(f, "path");
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(f, "move_to");
		const cJSON *op = cJSON_GetObjectItemCaseSensitive(f, "op");
		const char *o = cJSON_IsString(op) ? op->valuestring : "";

		if (m != NULL)
			len += (size_t)sprintf(out + len, "R %s -> %s\n", p->valuestring, m->valuestring);
		else
			len += (size_t)sprintf(out + len, "%c %s\n",
			                       strcmp(o, "add") == 0      ? 'A'
			                       : strcmp(o, "delete") == 0 ? 'D'
			                                                  : 'M',
			                       p->valuestring);
	}
	return out;
}

int protocol_event_parse(const char *line, size_t len, struct protocol_event *ev, char **cause)
{
	cJSON *json, *id, *event, *v;
	size_t k;
	const char *name;
	int rc = -EINVAL;

	memset(ev, 0, sizeof *ev);
	/* The event a flood is made of: no tree for it. */
	if (protocol_event_parse_output(line, len, ev))
		return 0;
	memset(ev, 0, sizeof *ev);
	json = protocol_json(line, len, cause);
	if (json == NULL)
		return -EINVAL;
	id = cJSON_GetObjectItemCaseSensitive(json, "id");
	event = cJSON_GetObjectItemCaseSensitive(json, "event");
	if (!cJSON_IsString(event)) {
		*cause = xstrdup("event \"?\": bad or missing field \"event\"");
		goto out;
	}
	name = event->valuestring;
	for (k = 0; k < sizeof protocol_event_names / sizeof *protocol_event_names; k++)
		if (strcmp(name, protocol_event_names[k]) == 0)
			break;
	if (k == sizeof protocol_event_names / sizeof *protocol_event_names) {
		rc = protocol_fail(cause, "unknown event ", name, "");
		goto out;
	}
	ev->kind = (enum protocol_event_kind)k;
	if (cJSON_IsString(id)) {
		ev->id = xstrdup(id->valuestring);
	} else if (!cJSON_IsNull(id)) {
		*cause = xasprintf("event \"%s\": bad or missing field \"id\"", name);
		goto out;
	}
#define PROTOCOL_BAD(field)                                                                        \
	do {                                                                                       \
		*cause = xasprintf("event \"%s\": bad or missing field \"%s\"", name, field);      \
		goto out;                                                                          \
	} while (0)
	switch (ev->kind) {
	case PROTOCOL_EVENT_QUEUED:
		break;
	case PROTOCOL_EVENT_DECISION:
		v = cJSON_GetObjectItemCaseSensitive(json, "decision");
		if (!cJSON_IsString(v))
			PROTOCOL_BAD("decision");
		for (k = 0; k < sizeof protocol_decision_names / sizeof *protocol_decision_names;
		     k++)
			if (strcmp(v->valuestring, protocol_decision_names[k]) == 0)
				break;
		if (k == sizeof protocol_decision_names / sizeof *protocol_decision_names)
			PROTOCOL_BAD("decision");
		ev->decision = (enum protocol_decision)k;
		v = cJSON_GetObjectItemCaseSensitive(json, "reason");
		if (v != NULL && !cJSON_IsString(v))
			PROTOCOL_BAD("reason");
		if (v != NULL)
			ev->reason = xstrdup(v->valuestring);
		break;
	case PROTOCOL_EVENT_OUTPUT:
		v = cJSON_GetObjectItemCaseSensitive(json, "stream");
		if (cJSON_IsString(v) && strcmp(v->valuestring, "stdout") == 0)
			ev->stream = PROTOCOL_STDOUT;
		else if (cJSON_IsString(v) && strcmp(v->valuestring, "stderr") == 0)
			ev->stream = PROTOCOL_STDERR;
		else
			PROTOCOL_BAD("stream");
		v = cJSON_GetObjectItemCaseSensitive(json, "data");
		if (!cJSON_IsString(v))
			PROTOCOL_BAD("data");
		ev->data = protocol_base64_decode(v->valuestring, strlen(v->valuestring), &ev->len);
		if (ev->data == NULL)
			PROTOCOL_BAD("data");
		break;
	case PROTOCOL_EVENT_EXIT:
		v = cJSON_GetObjectItemCaseSensitive(json, "code");
		if (!cJSON_IsNumber(v) || v->valuedouble < -1e9 || v->valuedouble > 1e9 ||
		    v->valuedouble != (double)(int)v->valuedouble)
			PROTOCOL_BAD("code");
		ev->code = (int)v->valuedouble;
		v = cJSON_GetObjectItemCaseSensitive(json, "sandboxed");
		if (!cJSON_IsBool(v))
			PROTOCOL_BAD("sandboxed");
		ev->sandboxed = cJSON_IsTrue(v);
		v = cJSON_GetObjectItemCaseSensitive(json, "timed_out");
		if (v != NULL && !cJSON_IsBool(v))
			PROTOCOL_BAD("timed_out");
		ev->timed_out = cJSON_IsTrue(v);
		break;
	case PROTOCOL_EVENT_ERROR:
		v = cJSON_GetObjectItemCaseSensitive(json, "message");
		if (!cJSON_IsString(v))
			PROTOCOL_BAD("message");
		ev->message = xstrdup(v->valuestring);
		v = cJSON_GetObjectItemCaseSensitive(json, "code");
		if (v != NULL && (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 255))
			PROTOCOL_BAD("code");
		ev->code = v != NULL ? (int)v->valuedouble : 0;
		break;
	case PROTOCOL_EVENT_PATCH:
		ev->message = protocol_patch_lines(cJSON_GetObjectItemCaseSensitive(json, "files"));
		if (ev->message == NULL)
			PROTOCOL_BAD("files");
		break;
	}
#undef PROTOCOL_BAD
	rc = 0;
out:
	cJSON_Delete(json);
	return rc;
}

void protocol_event_free(struct protocol_event *ev)
{
	free(ev->id);
	free(ev->data);
	free(ev->message);
	free(ev->reason);
	memset(ev, 0, sizeof *ev);
}

static const char protocol_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Writes LEN bytes of DATA in base64 at O (4 * ceil(LEN / 3) characters and a NUL); returns the NUL. */
static char *protocol_base64_put(char *o, const void *data, size_t len)
{
	const unsigned char *s = data;
	size_t i = 0;

	/* Whole groups of three bytes, then the tail with its padding. */
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];

		o[0] = protocol_b64[v >> 18];
		o[1] = protocol_b64[(v >> 12) & 63];
		o[2] = protocol_b64[(v >> 6) & 63];
		o[3] = protocol_b64[v & 63];
		o += 4;
	}
	if (i < len) {
		uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < len ? (uint32_t)s[i + 1] << 8 : 0);

		*o++ = protocol_b64[v >> 18];
		*o++ = protocol_b64[(v >> 12) & 63];
		*o++ = i + 1 < len ? protocol_b64[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return o;
}

char *protocol_base64_encode(const void *data, size_t len)
{
	char *out = xmalloc((len + 2) / 3 * 4 + 1);

	protocol_base64_put(out, data, len);
	return out;
}

/* Each byte's base64 value, or 0xff for a byte that is not a base64 digit. */
static const unsigned char protocol_b64_values[256] = {
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,  62, 255, 255, 255,  63,
     52,  53,  54,  55,  56,  57,  58,  59,  60,  61, 255, 255, 255, 255, 255, 255,
    255,   0,   1,   2,   3,   4,   5,   6,   7,   8,   9,  10,  11,  12,  13,  14,
     15,  16,  17,  18,  19,  20,  21,  22,  23,  24,  25, 255, 255, 255, 255, 255,
    255,  26,  27,  28,  29,  30,  31,  32,  33,  34,  35,  36,  37,  38,  39,  40,
     41,  42,  43,  44,  45,  46,  47,  48,  49,  50,  51, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
};

unsigned char *protocol_base64_decode(const char *text, size_t len, size_t *outlen)
{
	const unsigned char *t = (const unsigned char *)text;
	unsigned char *out, *o;
	size_t i = 0, pad = 0;

	if (len % 4 != 0)
		return NULL;
	/* Up to two '=' at the very end, and only there. */
	if (len > 0 && t[len - 1] == '=')
		pad = len > 1 && t[len - 2] == '=' ? 2 : 1;
	out = xmalloc(len / 4 * 3 + 1);
	o = out;
	for (; i < len; i += 4) {
		unsigned a = protocol_b64_values[t[i]], b = protocol_b64_values[t[i + 1]];
		unsigned c = protocol_b64_values[t[i + 2]], d = protocol_b64_values[t[i + 3]];

		if (i + 4 == len && pad > 0) {
			c = pad == 2 ? 0 : c;
			d = 0;
		}
		if ((a | b | c | d) > 63) {
			free(out);
			return NULL;
		}
		uint32_t n = a << 18 | b << 12 | c << 6 | d;

		o[0] = (unsigned char)(n >> 16);
		o[1] = (unsigned char)(n >> 8);
		o[2] = (unsigned char)n;
		o += 3;
	}
	o -= pad;
	*o = '\0';
	*outlen = (size_t)(o - out);
	return out;
}

void protocol_splitter_init(struct protocol_splitter *s, size_t max)
{
	memset(s, 0, sizeof *s);
	s->max = max;
}

/* Delivers LINE (LEN bytes) without a final "\r". */
static void protocol_splitter_deliver(const char *line, size_t len, protocol_line_cb *cb, void *arg)
{
	if (len > 0 && line[len - 1] == '\r')
		len--;
	cb(arg, line, len, false);
}

void protocol_splitter_feed(struct protocol_splitter *s, const char *data, size_t len,
                            protocol_line_cb *cb, void *arg)
{
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl != NULL ? (size_t)(nl - data) : len;
		size_t used = nl != NULL ? take + 1 : take;

		if (s->skipping) {
			if (nl != NULL)
				s->skipping = false;
		} else if (s->len + take > s->max) {
			s->len = 0;
			s->skipping = nl == NULL;
			cb(arg, NULL, 0, true);
		} else if (nl != NULL && s->len == 0) {
			protocol_splitter_deliver(data, take, cb, arg);
		} else {
			if (s->len + take > s->cap) {
				size_t cap = s->cap ? s->cap : 4096;

				while (cap < s->len + take)
					cap *= 2;
				s->cap = cap < s->max ? cap : s->max;
				s->buf = xrealloc(s->buf, s->cap);
			}
			memcpy(s->buf + s->len, data, take);
			s->len += take;
			if (nl != NULL) {
				size_t n = s->len;

				s->len = 0;
				protocol_splitter_deliver(s->buf, n, cb, arg);
			}
		}
		data += used;
		len -= used;
	}
}

void protocol_splitter_finish(struct protocol_splitter *s, protocol_line_cb *cb, void *arg)
{
	if (!s->skipping && s->len > 0) {
		size_t n = s->len;

		s->len = 0;
		protocol_splitter_deliver(s->buf, n, cb, arg);
	}
	s->skipping = false;
}

void protocol_splitter_free(struct protocol_splitter *s)
{
	free(s->buf);
	memset(s, 0, sizeof *s);
}
