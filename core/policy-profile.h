/*
 * Named permission profiles (SPEC section 12): config.json's
 * `"permissions": {"NAME": {"filesystem": {PATH: ACCESS}, "network": MODE}}`
 * and the three built-in profiles `:read-only`, `:workspace` and
 * `:danger-full-access`. A profile is only another way to write a split
 * policy (SPEC 2): it resolves to one, and the helper enforces that as it
 * enforces any other, so nothing in the sandbox knows profiles exist.
 *
 * Path keys are absolute paths or the tokens `:root`, `:minimal`,
 * `:workspace` (the `-C` directory), `:tmpdir` and `:slash_tmp`; values are
 * `read`, `write` or `none`; precedence is section 2's. Parsing is as strict
 * as the rest of config.json: unknown keys, unknown tokens, relative paths
 * and names that start with ':' (kept for the built-ins) are errors.
 */
#ifndef AIRLOCK_POLICY_PROFILE_H
#define AIRLOCK_POLICY_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

struct cJSON;

/* One profile of config.json. */
struct policy_profile {
	char *name;           /* owned */
	struct policy_fs fs;  /* restricted; its entries keep their special kinds */
	const char *network;  /* "off", "ask", "on" (static), or NULL when the profile says none */
};

/* Every profile config.json defines (the built-ins are not listed). */
struct policy_profiles {
	struct policy_profile *v;
	size_t n;
};

/*
 * Parses config.json's "permissions" object OBJ into OUT (appended to).
 * Returns 0, or -EINVAL with *WHY (caller frees) naming the profile and key.
 */
int policy_profiles_parse(const struct cJSON *obj, struct policy_profiles *out, char **why);
void policy_profiles_free(struct policy_profiles *profiles);

/* True when NAME is one of the built-in profiles. */
bool policy_profile_builtin(const char *name);

/* True when NAME is a built-in profile or one of PROFILES. */
bool policy_profile_known(const struct policy_profiles *profiles, const char *name);

/*
 * Resolves profile NAME into the split policy OUT (free with
 * policy_split_free) and *NETWORK (the profile's network mode, or NULL when
 * it leaves that to the other options). ROOTS (N_ROOTS, absolute) are the
 * configured writable roots that `:workspace` adds, as `-s workspace-write`
 * does. OUT's network is `enabled` for an unrestricted file system, else
 * `restricted`: the caller opens it for `on` and sets up the proxy for
 * `ask`, as it does for legacy policies. Returns 0, or -ENOENT with *CAUSE
 * (caller frees) when no profile has that name.
 */
int policy_profile_resolve(const struct policy_profiles *profiles, const char *name,
                           char *const *roots, size_t n_roots, struct policy_split *out,
                           const char **network, char **cause);

/*
 * The sandbox mode the decision step counts SPLIT as: "danger-full-access"
 * when its file system is not restricted, "workspace-write" when it writes
 * anywhere, else "read-only". Static.
 */
const char *policy_profile_mode(const struct policy_split *split);

#endif
