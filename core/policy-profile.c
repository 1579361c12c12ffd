/*
 * Permission profiles: parsing config.json's "permissions" object and
 * resolving a profile's name into a split policy (see policy-profile.h).
 *
 * A profile's file-system entries are kept as split-policy entries from the
 * start (a token becomes its special kind, a path is normalised), so
 * resolving one is a copy. The built-ins are not stored anywhere: each is
 * the legacy policy it stands for, converted as Codex converts legacy
 * policies, so `-p :workspace` and `-s workspace-write` hand the helper
 * policies that resolve to the same mounts (a test compares the plans).
 */
#include "policy-profile.h"

#include "xmalloc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The tokens a path key may be instead of an absolute path. */
static const struct {
	const char *token;
	enum policy_special special;
} policy_profile__tokens[] = {
    {":root", POLICY_SPECIAL_ROOT},           {":minimal", POLICY_SPECIAL_MINIMAL},
    {":workspace", POLICY_SPECIAL_CWD},       {":tmpdir", POLICY_SPECIAL_TMPDIR},
    {":slash_tmp", POLICY_SPECIAL_SLASH_TMP},
};

static const char *const policy_profile__access[] = {
    [POLICY_ACCESS_READ] = "read", [POLICY_ACCESS_WRITE] = "write", [POLICY_ACCESS_NONE] = "none"};

static const char *const policy_profile__networks[] = {"off", "ask", "on"};

static const char *const policy_profile__builtins[] = {":read-only", ":workspace",
                                                       ":danger-full-access"};

/* True when NAME is one of the built-in profiles. */
bool policy_profile_builtin(const char *name)
{
	for (size_t i = 0; i < sizeof policy_profile__builtins / sizeof *policy_profile__builtins;
	     i++)
		if (strcmp(name, policy_profile__builtins[i]) == 0)
			return true;
	return false;
}

/* The profile of PROFILES named NAME, or NULL. */
static const struct policy_profile *policy_profile__find(const struct policy_profiles *profiles,
                                                         const char *name)
{
	for (size_t i = 0; profiles != NULL && i < profiles->n; i++)
		if (strcmp(profiles->v[i].name, name) == 0)
			return &profiles->v[i];
	return NULL;
}

/* True when NAME is a built-in profile or one of PROFILES. */
bool policy_profile_known(const struct policy_profiles *profiles, const char *name)
{
	return policy_profile_builtin(name) || policy_profile__find(profiles, name) != NULL;
}

/* Parses one path key and its access into E; 0 or -EINVAL with *WHY. */
static int policy_profile__entry(const cJSON *item, struct policy_fs_entry *e, char **why)
{
	const char *key = item->string;
	size_t a;

	memset(e, 0, sizeof *e);
	for (a = 0; a < sizeof policy_profile__access / sizeof *policy_profile__access; a++)
		if (cJSON_IsString(item) && strcmp(item->valuestring, policy_profile__access[a]) == 0)
			break;
	if (a == sizeof policy_profile__access / sizeof *policy_profile__access) {
		*why = xasprintf("\"%s\" must be \"read\", \"write\" or \"none\"", key);
		return -EINVAL;
	}
	e->access = (enum policy_access)a;
	if (key[0] == ':') {
		for (size_t i = 0; i < sizeof policy_profile__tokens / sizeof *policy_profile__tokens;
		     i++) {
			if (strcmp(key, policy_profile__tokens[i].token) == 0) {
				e->special = policy_profile__tokens[i].special;
				return 0;
			}
		}
		*why = xasprintf("unknown token \"%s\" (:root, :minimal, :workspace, :tmpdir, "
		                 ":slash_tmp)",
		                 key);
		return -EINVAL;
	}
	if ((e->path = policy_path_normalize(key)) == NULL) {
		*why = xasprintf("\"%s\" is not an absolute path", key);
		return -EINVAL;
	}
	return 0;
}

/* Parses one profile's body V into P (named NAME); 0 or -EINVAL with *WHY. */
static int policy_profile__one(const char *name, const cJSON *v, struct policy_profile *p,
                               char **why)
{
	const cJSON *member, *fs = NULL;

	memset(p, 0, sizeof *p);
	p->name = xstrdup(name);
	p->fs.kind = POLICY_FS_RESTRICTED;
	if (!cJSON_IsObject(v)) {
		*why = xstrdup("must be an object");
		return -EINVAL;
	}
	cJSON_ArrayForEach(member, v)
	{
		if (strcmp(member->string, "filesystem") == 0) {
			fs = member;
		} else if (strcmp(member->string, "network") == 0) {
			for (size_t i = 0; i < 3 && cJSON_IsString(member); i++)
				if (strcmp(member->valuestring, policy_profile__networks[i]) == 0)
					p->network = policy_profile__networks[i];
			if (p->network == NULL) {
				*why = xstrdup("network must be \"off\", \"ask\" or \"on\"");
				return -EINVAL;
			}
		} else {
			*why = xasprintf("unknown key \"%s\" (filesystem, network)", member->string);
			return -EINVAL;
		}
	}
	if (!cJSON_IsObject(fs)) {
		*why = xstrdup("needs a \"filesystem\" object of paths and their access");
		return -EINVAL;
	}
	size_t n = (size_t)cJSON_GetArraySize(fs);
	p->fs.entries = xcalloc(n + 1, sizeof *p->fs.entries);
	cJSON_ArrayForEach(member, fs)
	{
		char *inner = NULL;

		if (policy_profile__entry(member, &p->fs.entries[p->fs.n_entries], &inner) != 0) {
			*why = xasprintf("filesystem: %s", inner);
			free(inner);
			return -EINVAL;
		}
		p->fs.n_entries++;
	}
	return 0;
}

int policy_profiles_parse(const struct cJSON *obj, struct policy_profiles *out, char **why)
{
	const cJSON *member;

	if (!cJSON_IsObject(obj)) {
		*why = xstrdup("must be an object of profiles");
		return -EINVAL;
	}
	cJSON_ArrayForEach(member, obj)
	{
		char *inner = NULL;

		if (member->string[0] == ':' || member->string[0] == '\0') {
			*why = xasprintf("\"%s\": a profile's name may not be empty or start with ':' "
			                 "(kept for the built-ins :read-only, :workspace, "
			                 ":danger-full-access)",
			                 member->string);
			return -EINVAL;
		}
		out->v = xreallocarray(out->v, out->n + 1, sizeof *out->v);
		if (policy_profile__one(member->string, member, &out->v[out->n], &inner) != 0) {
			out->n++; /* so that what it holds is freed with the rest */
			*why = xasprintf("\"%s\": %s", member->string, inner);
			free(inner);
			return -EINVAL;
		}
		out->n++;
	}
	return 0;
}

void policy_profiles_free(struct policy_profiles *profiles)
{
	for (size_t i = 0; i < profiles->n; i++) {
		free(profiles->v[i].name);
		policy_fs_free(&profiles->v[i].fs);
	}
	free(profiles->v);
	memset(profiles, 0, sizeof *profiles);
}

int policy_profile_resolve(const struct policy_profiles *profiles, const char *name,
                           char *const *roots, size_t n_roots, struct policy_split *out,
                           const char **network, char **cause)
{
	const struct policy_profile *p;

	memset(out, 0, sizeof *out);
	*network = NULL;
	if (policy_profile_builtin(name)) {
		/* What the legacy flag would give: the same conversion, the same mounts. */
		struct policy_legacy l = {
		    .type = strcmp(name, ":read-only") == 0   ? POLICY_READ_ONLY
		            : strcmp(name, ":workspace") == 0 ? POLICY_WORKSPACE_WRITE
		                                              : POLICY_DANGER_FULL_ACCESS,
		};
		if (l.type == POLICY_WORKSPACE_WRITE) {
			l.writable_roots = (char **)roots;
			l.n_writable_roots = n_roots;
		}
		policy_legacy_to_split(&l, out);
		return 0;
	}
	if ((p = policy_profile__find(profiles, name)) == NULL) {
		*cause = xasprintf("no permission profile \"%s\" (config.json \"permissions\" "
		                   "names %zu; built in: :read-only, :workspace, "
		                   ":danger-full-access)",
		                   name, profiles != NULL ? profiles->n : 0);
		return -ENOENT;
	}
	out->fs.kind = POLICY_FS_RESTRICTED;
	out->fs.entries = xcalloc(p->fs.n_entries + 1, sizeof *out->fs.entries);
	for (size_t i = 0; i < p->fs.n_entries; i++) {
		out->fs.entries[i] = p->fs.entries[i];
		if (p->fs.entries[i].path != NULL)
			out->fs.entries[i].path = xstrdup(p->fs.entries[i].path);
	}
	out->fs.n_entries = p->fs.n_entries;
	out->net = POLICY_NET_RESTRICTED;
	*network = p->network;
	return 0;
}

const char *policy_profile_mode(const struct policy_split *split)
{
	if (split->fs.kind != POLICY_FS_RESTRICTED)
		return "danger-full-access";
	for (size_t i = 0; i < split->fs.n_entries; i++)
		if (split->fs.entries[i].access == POLICY_ACCESS_WRITE)
			return "workspace-write";
	return "read-only";
}
