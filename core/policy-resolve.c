/*
 * Resolution of a split file-system policy against a working directory.
 *
 * Special paths become concrete absolute paths, equal paths merge (on a tie
 * none > write > read, which is the order of enum policy_access), and the
 * result is sorted so that a parent always comes before its children: the
 * sandbox planner mounts in that order. Queries pick the most specific entry
 * (longest prefix by whole path components). All of it is pure: the caller
 * passes cwd and $TMPDIR in.
 */
#include "core/policy.h"

#include "core/xmalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Appends PATH (owned) with ACCESS to OUT, merging with an equal path. */
static void policy__resolved_add(struct policy_resolved *out, size_t *cap, char *path,
                                 enum policy_access access)
{
	for (size_t i = 0; i < out->n_entries; i++) {
		if (strcmp(out->entries[i].path, path) == 0) {
			if (access > out->entries[i].access)
				out->entries[i].access = access;
			free(path);
			return;
		}
	}
	if (out->n_entries == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		out->entries = xreallocarray(out->entries, *cap, sizeof *out->entries);
	}
	out->entries[out->n_entries++] = (struct policy_resolved_entry){path, access};
}

/* Orders entries by path bytes, so a parent sorts before everything below it. */
static int policy__resolved_cmp(const void *a, const void *b)
{
	const struct policy_resolved_entry *x = a, *y = b;

	return strcmp(x->path, y->path);
}

/* Turns special paths into concrete ones, merges equal paths and sorts the entries. */
int policy_resolve(const struct policy_split *split, const char *cwd, const char *tmpdir,
                   struct policy_resolved *out, char **cause)
{
	size_t cap = 0;
	char *ncwd;

	memset(out, 0, sizeof *out);
	out->kind = split->fs.kind;
	out->net = split->net;
	if (cwd == NULL || (ncwd = policy_path_normalize(cwd)) == NULL) {
		if (cause != NULL)
			*cause = xasprintf("working directory \"%s\" is not an absolute path",
			                   cwd ? cwd : "(none)");
		return -EINVAL;
	}
	if (split->fs.kind != POLICY_FS_RESTRICTED) {
		free(ncwd);
		return 0;
	}
	for (size_t i = 0; i < split->fs.n_entries; i++) {
		const struct policy_fs_entry *e = &split->fs.entries[i];
		switch (e->special) {
		case POLICY_SPECIAL_NONE:
			policy__resolved_add(out, &cap, xstrdup(e->path), e->access);
			break;
		case POLICY_SPECIAL_ROOT:
			policy__resolved_add(out, &cap, xstrdup("/"), e->access);
			break;
		case POLICY_SPECIAL_MINIMAL:
			for (size_t j = 0; j < policy_n_minimal_paths; j++)
				policy__resolved_add(out, &cap, xstrdup(policy_minimal_paths[j]),
				                     e->access);
			break;
		case POLICY_SPECIAL_CWD:
			policy__resolved_add(out, &cap, xstrdup(ncwd), e->access);
			break;
		case POLICY_SPECIAL_TMPDIR: {
			char *t = tmpdir != NULL && tmpdir[0] == '/' ? policy_path_normalize(tmpdir)
			                                             : NULL;
			if (t != NULL)
				policy__resolved_add(out, &cap, t, e->access);
			break;
		}
		case POLICY_SPECIAL_SLASH_TMP:
			policy__resolved_add(out, &cap, xstrdup("/tmp"), e->access);
			break;
		}
	}
	free(ncwd);
	if (out->n_entries > 1)
		qsort(out->entries, out->n_entries, sizeof *out->entries, policy__resolved_cmp);
	return 0;
}

/* Length of PREFIX when it names PATH or one of its ancestors, else 0 ("/" counts as 1). */
static size_t policy__prefix_len(const char *prefix, const char *path)
{
	if (strcmp(prefix, "/") == 0)
		return 1;
	return policy_path_is_under(prefix, path) ? strlen(prefix) : 0;
}

/* Finds the access of the most specific entry above PATH. */
enum policy_access policy_resolved_access(const struct policy_resolved *res, const char *path)
{
	size_t best = 0;
	enum policy_access access = POLICY_ACCESS_NONE;

	if (res->kind != POLICY_FS_RESTRICTED)
		return POLICY_ACCESS_WRITE;
	for (size_t i = 0; i < res->n_entries; i++) {
		size_t n = policy__prefix_len(res->entries[i].path, path);
		if (n > best || (n == best && n > 0 && res->entries[i].access > access)) {
			best = n;
			access = res->entries[i].access;
		}
	}
	return access;
}

/* Frees what a resolved policy owns and zeroes it. */
void policy_resolved_free(struct policy_resolved *res)
{
	for (size_t i = 0; i < res->n_entries; i++)
		free(res->entries[i].path);
	free(res->entries);
	memset(res, 0, sizeof *res);
}
