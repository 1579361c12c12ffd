/*
 * Parsing and printing of policies (SPEC section 2) with cJSON.
 *
 * Every parser walks the JSON tree once and checks each member against a
 * table of the fields its shape allows, so an unknown or misspelt field is an
 * error that names it, never silently ignored. Error messages carry a JSON
 * path to the offending value (`access.readable_roots[1]: ...`); a syntax
 * error carries the line and column where cJSON stopped, and a key given
 * twice anywhere in the text is an error with its line and column too (so
 * no reader can take the other of the two values). Paths are stored
 * lexically normalised so that equal paths compare equal.
 */
#include "core/policy.h"

#include "core/json-error.h"
#include "core/xmalloc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POLICY_MAX_FILE (1024 * 1024) /* a policy file larger than this is refused */

const char *const policy_minimal_paths[] = {"/bin", "/sbin", "/usr", "/etc", "/lib", "/lib64"};
const size_t policy_n_minimal_paths = sizeof policy_minimal_paths / sizeof policy_minimal_paths[0];

static const char *const policy__type_names[] = {
    [POLICY_DANGER_FULL_ACCESS] = "danger-full-access",
    [POLICY_READ_ONLY] = "read-only",
    [POLICY_WORKSPACE_WRITE] = "workspace-write",
    [POLICY_EXTERNAL_SANDBOX] = "external-sandbox",
};

/* The fields each legacy type allows, in the order the error message lists them. */
static const char *const policy__type_fields[][7] = {
    [POLICY_DANGER_FULL_ACCESS] = {"type", NULL},
    [POLICY_READ_ONLY] = {"type", "access", "network_access", NULL},
    [POLICY_WORKSPACE_WRITE] = {"type", "writable_roots", "read_only_access", "network_access",
                                "exclude_tmpdir_env_var", "exclude_slash_tmp", NULL},
    [POLICY_EXTERNAL_SANDBOX] = {"type", "network_access", NULL},
};

static const char *const policy__access_names[] = {
    [POLICY_ACCESS_READ] = "read",
    [POLICY_ACCESS_WRITE] = "write",
    [POLICY_ACCESS_NONE] = "none",
};

static const char *const policy__net_names[] = {
    [POLICY_NET_RESTRICTED] = "restricted",
    [POLICY_NET_ENABLED] = "enabled",
    [POLICY_NET_PROXY] = "proxy",
};

static const char *const policy__special_names[] = {
    [POLICY_SPECIAL_NONE] = "path",       [POLICY_SPECIAL_ROOT] = "root",
    [POLICY_SPECIAL_MINIMAL] = "minimal", [POLICY_SPECIAL_CWD] = "current_working_directory",
    [POLICY_SPECIAL_TMPDIR] = "tmpdir",   [POLICY_SPECIAL_SLASH_TMP] = "slash_tmp",
};

static const char *const policy__fs_kind_names[] = {
    [POLICY_FS_RESTRICTED] = "restricted",
    [POLICY_FS_UNRESTRICTED] = "unrestricted",
    [POLICY_FS_EXTERNAL_SANDBOX] = "external-sandbox",
};

#define POLICY__COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Sets *cause (if CAUSE is not NULL) to a formatted message; returns -EINVAL. */
static int __attribute__((format(printf, 2, 3))) policy__fail(char **cause, const char *fmt, ...)
{
	va_list ap;

	if (cause != NULL) {
		va_start(ap, fmt);
		*cause = xvasprintf(fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Looks NAME up in a table of N names; returns its index or -1. */
static int policy__lookup(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] != NULL && strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

/* Joins the NULL-terminated FIELDS with ", "; caller frees. */
static char *policy__join(const char *const *fields)
{
	char *s = xstrdup("");

	for (size_t i = 0; fields[i] != NULL; i++) {
		char *t = xasprintf("%s%s%s", s, i ? ", " : "", fields[i]);
		free(s);
		s = t;
	}
	return s;
}

/* Fails on the first member of OBJ not in the NULL-terminated FIELDS. */
static int policy__check_fields(const cJSON *obj, const char *where, const char *const *fields,
                                char **cause)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, obj)
	{
		bool known = false;
		for (size_t i = 0; fields[i] != NULL; i++)
			if (strcmp(m->string, fields[i]) == 0)
				known = true;
		if (!known) {
			char *list = policy__join(fields);
			int rc = policy__fail(cause, "%s%sunknown field \"%s\" (allowed: %s)",
			                      where, *where ? ": " : "", m->string, list);
			free(list);
			return rc;
		}
	}
	return 0;
}

/* Parses JSON text into a tree, or fails with the line and column of the error or repeated key. */
static cJSON *policy__parse_json(const char *json, char **cause)
{
	return json_parse_strict(json, cause);
}

/* Reads a boolean member; absent keeps *out. */
static int policy__get_bool(const cJSON *obj, const char *name, const char *where, bool *out,
                            char **cause)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (v == NULL)
		return 0;
	if (!cJSON_IsBool(v))
		return policy__fail(cause, "%s%s%s: expected true or false", where,
		                    *where ? "." : "", name);
	*out = cJSON_IsTrue(v);
	return 0;
}

/* Normalises an absolute path lexically (see policy.h). */
char *policy_path_normalize(const char *path)
{
	size_t len = strlen(path);
	char *out = xmalloc(len + 2);
	size_t o = 0;
	const char *p = path;

	if (path[0] != '/') {
		free(out);
		return NULL;
	}
	while (*p) {
		while (*p == '/')
			p++;
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		if (n == 0 || (n == 1 && p[0] == '.')) {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else {
			out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p = e;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return out;
}

const struct policy_protected_name policy_protected_names[] = {
    {".airlock", true}, {".codex", true},  {".agents", true},
    {".claude", true},  {".vscode", true}, {".envrc", false},
};
const size_t policy_n_protected_names =
    sizeof policy_protected_names / sizeof policy_protected_names[0];

/* Compares by whole path components (see policy.h). */
bool policy_path_is_under(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		return path[0] == '/';
	return strncmp(dir, path, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Reads an absolute path string V at WHERE into *out (normalised). */
static int policy__get_path(const cJSON *v, const char *where, char **out, char **cause)
{
	if (!cJSON_IsString(v))
		return policy__fail(cause, "%s: expected a string (an absolute path)", where);
	if (v->valuestring[0] != '/')
		return policy__fail(cause, "%s: \"%s\" is not an absolute path", where,
		                    v->valuestring);
	*out = policy_path_normalize(v->valuestring);
	return 0;
}

/* Reads an array of absolute paths at member NAME of OBJ. */
static int policy__get_paths(const cJSON *obj, const char *name, const char *where, char ***out,
                             size_t *n, char **cause)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, name), *v;
	size_t i = 0;

	if (arr == NULL)
		return 0;
	if (!cJSON_IsArray(arr))
		return policy__fail(cause, "%s%s%s: expected an array of absolute paths", where,
		                    *where ? "." : "", name);
	*out = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(char *));
	cJSON_ArrayForEach(v, arr)
	{
		char *w = xasprintf("%s%s%s[%zu]", where, *where ? "." : "", name, i);
		int rc = policy__get_path(v, w, &(*out)[i], cause);
		free(w);
		if (rc < 0)
			return rc;
		*n = ++i;
	}
	return 0;
}

/* Parses an `access` / `read_only_access` object at WHERE. */
static int policy__parse_read_access(const cJSON *v, const char *where,
                                     struct policy_read_access *out, char **cause)
{
	static const char *const full_fields[] = {"type", NULL};
	static const char *const restricted_fields[] = {"type", "include_platform_defaults",
	                                                "readable_roots", NULL};
	const cJSON *type;
	int rc;

	if (!cJSON_IsObject(v))
		return policy__fail(cause, "%s: expected an object", where);
	type = cJSON_GetObjectItemCaseSensitive(v, "type");
	if (!cJSON_IsString(type))
		return policy__fail(cause, "%s: missing \"type\" (full-access or restricted)",
		                    where);
	if (strcmp(type->valuestring, "full-access") == 0)
		return policy__check_fields(v, where, full_fields, cause);
	if (strcmp(type->valuestring, "restricted") != 0)
		return policy__fail(cause,
		                    "%s: unknown access type \"%s\" (expected full-access or "
		                    "restricted)",
		                    where, type->valuestring);
	if ((rc = policy__check_fields(v, where, restricted_fields, cause)) < 0)
		return rc;
	out->restricted = true;
	out->include_platform_defaults = true;
	if ((rc = policy__get_bool(v, "include_platform_defaults", where,
	                           &out->include_platform_defaults, cause)) < 0)
		return rc;
	return policy__get_paths(v, "readable_roots", where, &out->readable_roots,
	                         &out->n_readable_roots, cause);
}

/* Parses a legacy policy from an already parsed tree. */
static int policy__legacy_from_tree(const cJSON *root, struct policy_legacy *out, char **cause)
{
	const cJSON *type, *v;
	int t, rc;

	memset(out, 0, sizeof *out);
	if (!cJSON_IsObject(root))
		return policy__fail(cause, "a policy must be a JSON object");
	type = cJSON_GetObjectItemCaseSensitive(root, "type");
	if (type == NULL)
		return policy__fail(cause, "missing field \"type\"");
	if (!cJSON_IsString(type))
		return policy__fail(cause, "\"type\" must be a string");
	t = policy__lookup(policy__type_names, POLICY__COUNT(policy__type_names),
	                   type->valuestring);
	if (t < 0)
		return policy__fail(cause,
		                    "unknown policy type \"%s\" (expected danger-full-access, "
		                    "read-only, workspace-write or external-sandbox)",
		                    type->valuestring);
	out->type = (enum policy_type)t;
	if ((rc = policy__check_fields(root, "", policy__type_fields[t], cause)) < 0)
		return rc;

	v = cJSON_GetObjectItemCaseSensitive(root, "network_access");
	if (out->type == POLICY_EXTERNAL_SANDBOX) {
		if (v != NULL) {
			if (cJSON_IsString(v) && strcmp(v->valuestring, "enabled") == 0)
				out->network_access = true;
			else if (!cJSON_IsString(v) || strcmp(v->valuestring, "restricted") != 0)
				return policy__fail(cause,
				                    "network_access: expected \"restricted\" "
				                    "or \"enabled\"");
		}
	} else if ((rc = policy__get_bool(root, "network_access", "", &out->network_access,
	                                  cause)) < 0) {
		return rc;
	}

	v = cJSON_GetObjectItemCaseSensitive(root, "access");
	if (v == NULL)
		v = cJSON_GetObjectItemCaseSensitive(root, "read_only_access");
	if (v != NULL && (rc = policy__parse_read_access(v, v->string, &out->access, cause)) < 0)
		return rc;

	if ((rc = policy__get_paths(root, "writable_roots", "", &out->writable_roots,
	                            &out->n_writable_roots, cause)) < 0)
		return rc;
	if ((rc = policy__get_bool(root, "exclude_tmpdir_env_var", "", &out->exclude_tmpdir_env_var,
	                           cause)) < 0)
		return rc;
	return policy__get_bool(root, "exclude_slash_tmp", "", &out->exclude_slash_tmp, cause);
}

/* Parses legacy policy JSON into OUT; on error OUT is empty and *cause says why. */
int policy_legacy_parse(const char *json, struct policy_legacy *out, char **cause)
{
	cJSON *root = policy__parse_json(json, cause);
	int rc;

	memset(out, 0, sizeof *out);
	if (root == NULL)
		return -EINVAL;
	rc = policy__legacy_from_tree(root, out, cause);
	cJSON_Delete(root);
	if (rc < 0)
		policy_legacy_free(out);
	return rc;
}

/* Parses one `{"path":...,"access":...}` entry at WHERE. */
static int policy__parse_entry(const cJSON *e, const char *where, struct policy_fs_entry *out,
                               char **cause)
{
	static const char *const entry_fields[] = {"path", "access", NULL};
	static const char *const path_fields[] = {"type", "path", NULL};
	static const char *const special_fields[] = {"type", "value", NULL};
	static const char *const value_fields[] = {"kind", NULL};
	const cJSON *path, *type, *access, *value, *kind;
	char *w;
	int rc, i;

	if (!cJSON_IsObject(e))
		return policy__fail(cause, "%s: expected an object", where);
	if ((rc = policy__check_fields(e, where, entry_fields, cause)) < 0)
		return rc;
	access = cJSON_GetObjectItemCaseSensitive(e, "access");
	if (access == NULL)
		return policy__fail(cause, "%s: missing field \"access\"", where);
	i = cJSON_IsString(access)
	        ? policy__lookup(policy__access_names, POLICY__COUNT(policy__access_names),
	                         access->valuestring)
	        : -1;
	if (i < 0)
		return policy__fail(cause, "%s.access: expected \"read\", \"write\" or \"none\"",
		                    where);
	out->access = (enum policy_access)i;

	path = cJSON_GetObjectItemCaseSensitive(e, "path");
	if (!cJSON_IsObject(path))
		return policy__fail(cause, "%s.path: expected an object", where);
	type = cJSON_GetObjectItemCaseSensitive(path, "type");
	if (!cJSON_IsString(type))
		return policy__fail(cause, "%s.path: missing \"type\" (path or special)", where);
	w = xasprintf("%s.path", where);
	if (strcmp(type->valuestring, "path") == 0) {
		rc = policy__check_fields(path, w, path_fields, cause);
		if (rc == 0) {
			const cJSON *p = cJSON_GetObjectItemCaseSensitive(path, "path");
			char *pw = xasprintf("%s.path", w);
			if (p == NULL)
				rc = policy__fail(cause, "%s: missing field \"path\"", w);
			else
				rc = policy__get_path(p, pw, &out->path, cause);
			free(pw);
		}
		free(w);
		return rc;
	}
	if (strcmp(type->valuestring, "special") != 0) {
		rc = policy__fail(cause,
		                  "%s.type: unknown path type \"%s\" (expected path or special)", w,
		                  type->valuestring);
		free(w);
		return rc;
	}
	rc = policy__check_fields(path, w, special_fields, cause);
	value = cJSON_GetObjectItemCaseSensitive(path, "value");
	if (rc == 0 && !cJSON_IsObject(value))
		rc =
		    policy__fail(cause, "%s.value: expected an object like {\"kind\":\"root\"}", w);
	if (rc == 0) {
		char *vw = xasprintf("%s.value", w);
		rc = policy__check_fields(value, vw, value_fields, cause);
		kind = cJSON_GetObjectItemCaseSensitive(value, "kind");
		i = cJSON_IsString(kind)
		        ? policy__lookup(policy__special_names,
		                         POLICY__COUNT(policy__special_names), kind->valuestring)
		        : -1;
		if (rc == 0 && i <= 0)
			rc =
			    policy__fail(cause,
			                 "%s.kind: unknown special path %s%s%s (expected root, "
			                 "minimal, current_working_directory, tmpdir or slash_tmp)",
			                 vw, cJSON_IsString(kind) ? "\"" : "",
			                 cJSON_IsString(kind) ? kind->valuestring : "(missing)",
			                 cJSON_IsString(kind) ? "\"" : "");
		else if (rc == 0)
			out->special = (enum policy_special)i;
		free(vw);
	}
	free(w);
	return rc;
}

/* Parses a file-system split policy from an already parsed tree. */
static int policy__fs_from_tree(const cJSON *root, struct policy_fs *out, char **cause)
{
	static const char *const restricted_fields[] = {"kind", "entries", NULL};
	static const char *const other_fields[] = {"kind", NULL};
	const cJSON *kind, *entries, *e;
	int k, rc;
	size_t i = 0;

	memset(out, 0, sizeof *out);
	if (!cJSON_IsObject(root))
		return policy__fail(cause, "a file-system policy must be a JSON object");
	kind = cJSON_GetObjectItemCaseSensitive(root, "kind");
	if (!cJSON_IsString(kind))
		return policy__fail(cause, "missing field \"kind\" (restricted, unrestricted or "
		                           "external-sandbox)");
	k = policy__lookup(policy__fs_kind_names, POLICY__COUNT(policy__fs_kind_names),
	                   kind->valuestring);
	if (k < 0)
		return policy__fail(cause,
		                    "unknown file-system policy kind \"%s\" (expected restricted, "
		                    "unrestricted or external-sandbox)",
		                    kind->valuestring);
	out->kind = (enum policy_fs_kind)k;
	if (out->kind != POLICY_FS_RESTRICTED)
		return policy__check_fields(root, "", other_fields, cause);
	if ((rc = policy__check_fields(root, "", restricted_fields, cause)) < 0)
		return rc;
	entries = cJSON_GetObjectItemCaseSensitive(root, "entries");
	if (!cJSON_IsArray(entries))
		return policy__fail(cause, "entries: expected an array");
	out->entries = xcalloc((size_t)cJSON_GetArraySize(entries) + 1, sizeof *out->entries);
	cJSON_ArrayForEach(e, entries)
	{
		char *w = xasprintf("entries[%zu]", i);
		rc = policy__parse_entry(e, w, &out->entries[i], cause);
		free(w);
		out->n_entries = ++i;
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Parses a file-system split policy; on error OUT is empty and *cause says why. */
int policy_fs_parse(const char *json, struct policy_fs *out, char **cause)
{
	cJSON *root = policy__parse_json(json, cause);
	int rc;

	memset(out, 0, sizeof *out);
	if (root == NULL)
		return -EINVAL;
	rc = policy__fs_from_tree(root, out, cause);
	cJSON_Delete(root);
	if (rc < 0)
		policy_fs_free(out);
	return rc;
}

/* Parses a network policy given as a JSON string or a bare word. */
int policy_net_parse(const char *json, enum policy_net *out, char **cause)
{
	const char *word = json;
	cJSON *root = NULL;
	int i;

	while (*word == ' ' || *word == '\t' || *word == '\n')
		word++;
	if (*word == '"') {
		if ((root = policy__parse_json(json, cause)) == NULL)
			return -EINVAL;
		if (!cJSON_IsString(root)) {
			cJSON_Delete(root);
			return policy__fail(cause, "network policy: expected a string");
		}
		word = root->valuestring;
	}
	i = policy__lookup(policy__net_names, POLICY__COUNT(policy__net_names), word);
	if (i < 0) {
		int rc = policy__fail(cause,
		                      "unknown network policy \"%s\" (expected restricted, enabled "
		                      "or proxy)",
		                      word);
		cJSON_Delete(root);
		return rc;
	}
	*out = (enum policy_net)i;
	cJSON_Delete(root);
	return 0;
}

/* Parses either policy shape into a split policy, telling them apart by "kind" and "type". */
int policy_parse(const char *json, struct policy_split *out, char **cause)
{
	cJSON *root = policy__parse_json(json, cause);
	int rc;

	memset(out, 0, sizeof *out);
	if (root == NULL)
		return -EINVAL;
	if (cJSON_IsObject(root) && cJSON_GetObjectItemCaseSensitive(root, "kind") != NULL &&
	    cJSON_GetObjectItemCaseSensitive(root, "type") == NULL) {
		rc = policy__fs_from_tree(root, &out->fs, cause);
		out->net = POLICY_NET_RESTRICTED;
	} else {
		struct policy_legacy legacy;
		rc = policy__legacy_from_tree(root, &legacy, cause);
		if (rc == 0)
			policy_legacy_to_split(&legacy, out);
		policy_legacy_free(&legacy);
	}
	cJSON_Delete(root);
	if (rc < 0)
		policy_split_free(out);
	return rc;
}

/* Reads and parses a policy file, prefixing any cause with the file name. */
int policy_load_file(const char *file, struct policy_split *out, char **cause)
{
	FILE *f = fopen(file, "re");
	char *buf, *inner = NULL;
	size_t n;
	int rc;

	memset(out, 0, sizeof *out);
	if (f == NULL) {
		rc = -errno;
		if (cause != NULL)
			*cause = xasprintf("%s: %s", file, strerror(-rc));
		return rc;
	}
	buf = xmalloc(POLICY_MAX_FILE + 1);
	n = fread(buf, 1, POLICY_MAX_FILE + 1, f);
	fclose(f);
	if (n > POLICY_MAX_FILE) {
		free(buf);
		return policy__fail(cause, "%s: larger than %d bytes", file, POLICY_MAX_FILE);
	}
	buf[n] = '\0';
	rc = policy_parse(buf, out, cause != NULL ? &inner : NULL);
	free(buf);
	if (rc < 0 && cause != NULL) {
		*cause = xasprintf("%s: %s", file, inner);
		free(inner);
	}
	return rc;
}

/* Converts a legacy policy to split entries as SPEC section 2 says. */
void policy_legacy_to_split(const struct policy_legacy *legacy, struct policy_split *out)
{
	size_t cap = 8 + legacy->access.n_readable_roots + legacy->n_writable_roots, n = 0;
	struct policy_fs_entry *e;

	memset(out, 0, sizeof *out);
	out->net = legacy->network_access ? POLICY_NET_ENABLED : POLICY_NET_RESTRICTED;
	if (legacy->type == POLICY_DANGER_FULL_ACCESS) {
		out->fs.kind = POLICY_FS_UNRESTRICTED;
		out->net = POLICY_NET_ENABLED;
		return;
	}
	if (legacy->type == POLICY_EXTERNAL_SANDBOX) {
		out->fs.kind = POLICY_FS_EXTERNAL_SANDBOX;
		return;
	}
	out->fs.kind = POLICY_FS_RESTRICTED;
	e = out->fs.entries = xcalloc(cap, sizeof *e);
	if (!legacy->access.restricted) {
		e[n++] = (struct policy_fs_entry){.special = POLICY_SPECIAL_ROOT};
	} else {
		/* Restricted reading still reads the workspace (as Codex does). */
		if (legacy->access.include_platform_defaults)
			e[n++] = (struct policy_fs_entry){.special = POLICY_SPECIAL_MINIMAL};
		e[n++] = (struct policy_fs_entry){.special = POLICY_SPECIAL_CWD};
		for (size_t i = 0; i < legacy->access.n_readable_roots; i++)
			e[n++] = (struct policy_fs_entry){
			    .path = xstrdup(legacy->access.readable_roots[i])};
	}
	if (legacy->type == POLICY_WORKSPACE_WRITE) {
		e[n++] = (struct policy_fs_entry){.special = POLICY_SPECIAL_CWD,
		                                  .access = POLICY_ACCESS_WRITE};
		if (!legacy->exclude_slash_tmp)
			e[n++] = (struct policy_fs_entry){.special = POLICY_SPECIAL_SLASH_TMP,
			                                  .access = POLICY_ACCESS_WRITE};
		if (!legacy->exclude_tmpdir_env_var)
			e[n++] = (struct policy_fs_entry){.special = POLICY_SPECIAL_TMPDIR,
			                                  .access = POLICY_ACCESS_WRITE};
		for (size_t i = 0; i < legacy->n_writable_roots; i++)
			e[n++] =
			    (struct policy_fs_entry){.path = xstrdup(legacy->writable_roots[i]),
			                             .access = POLICY_ACCESS_WRITE};
	}
	out->fs.n_entries = n;
}

/* Compares two split policies entry by entry, in order. */
bool policy_split_equal(const struct policy_split *a, const struct policy_split *b)
{
	if (a->net != b->net || a->fs.kind != b->fs.kind || a->fs.n_entries != b->fs.n_entries)
		return false;
	for (size_t i = 0; i < a->fs.n_entries; i++) {
		const struct policy_fs_entry *x = &a->fs.entries[i], *y = &b->fs.entries[i];
		if (x->special != y->special || x->access != y->access)
			return false;
		if (x->special == POLICY_SPECIAL_NONE && strcmp(x->path, y->path) != 0)
			return false;
	}
	return true;
}

/* Prints a file-system policy as compact JSON that policy_fs_parse reads back. */
char *policy_fs_to_json(const struct policy_fs *fs)
{
	cJSON *root = cJSON_CreateObject(), *entries;
	char *s, *out;

	cJSON_AddStringToObject(root, "kind", policy__fs_kind_names[fs->kind]);
	if (fs->kind == POLICY_FS_RESTRICTED) {
		entries = cJSON_AddArrayToObject(root, "entries");
		for (size_t i = 0; i < fs->n_entries; i++) {
			const struct policy_fs_entry *e = &fs->entries[i];
			cJSON *o = cJSON_CreateObject(), *p = cJSON_AddObjectToObject(o, "path");
			if (e->special == POLICY_SPECIAL_NONE) {
				cJSON_AddStringToObject(p, "type", "path");
				cJSON_AddStringToObject(p, "path", e->path);
			} else {
				cJSON_AddStringToObject(p, "type", "special");
				cJSON_AddStringToObject(cJSON_AddObjectToObject(p, "value"), "kind",
				                        policy__special_names[e->special]);
			}
			cJSON_AddStringToObject(o, "access", policy__access_names[e->access]);
			cJSON_AddItemToArray(entries, o);
		}
	}
	s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (s == NULL) {
		fprintf(stderr, "airlock: out of memory\n");
		abort();
	}
	out = xstrdup(s); /* ours to free with free() whatever cJSON's allocator is */
	cJSON_free(s);
	return out;
}

/* Prints a network policy as a JSON string. */
char *policy_net_to_json(enum policy_net net)
{
	return xasprintf("\"%s\"", policy__net_names[net]);
}

/* Names an access value as the JSON spells it. */
const char *policy_access_name(enum policy_access access)
{
	return policy__access_names[access];
}

/* Names a network policy as the JSON spells it. */
const char *policy_net_name(enum policy_net net)
{
	return policy__net_names[net];
}

/* Names a special path kind as the JSON spells it. */
const char *policy_special_name(enum policy_special special)
{
	return policy__special_names[special];
}

/* Names a legacy policy type as the JSON spells it. */
const char *policy_type_name(enum policy_type type)
{
	return policy__type_names[type];
}

/* Frees a counted array of strings. */
static void policy__free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Frees what a legacy policy owns and zeroes it. */
void policy_legacy_free(struct policy_legacy *legacy)
{
	policy__free_strings(legacy->access.readable_roots, legacy->access.n_readable_roots);
	policy__free_strings(legacy->writable_roots, legacy->n_writable_roots);
	memset(legacy, 0, sizeof *legacy);
}

/* Frees what a file-system policy owns and zeroes it. */
void policy_fs_free(struct policy_fs *fs)
{
	for (size_t i = 0; i < fs->n_entries; i++)
		free(fs->entries[i].path);
	free(fs->entries);
	memset(fs, 0, sizeof *fs);
}

/* Frees what a split policy owns and zeroes it. */
void policy_split_free(struct policy_split *split)
{
	policy_fs_free(&split->fs);
}
