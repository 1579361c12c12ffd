/*
 * Building the airlock-sandbox command line. The order of flags mirrors the
 * helper's usage line, so a command printed in a log reads the same as the
 * documentation; the command itself always comes after `--`, so nothing in
 * it can be taken for a flag. airlock's own programs (this executable and
 * the helper) are always protected paths: a build tree inside the workspace
 * must not let a sandboxed command replace the helper that the next command
 * runs outside the sandbox.
 */
#include "sandbox-command.h"

#include "xmalloc.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef AIRLOCK_LIBEXECDIR
#define AIRLOCK_LIBEXECDIR "/usr/local/libexec"
#endif

/* Appends CAND to *TRIED and returns a copy of it when it is executable. */
static char *sandbox_command__try(const char *cand, char **tried)
{
	char *t = xasprintf("%s%s%s", *tried ? *tried : "", *tried ? ", " : "", cand);

	free(*tried);
	*tried = t;
	return access(cand, X_OK) == 0 ? xstrdup(cand) : NULL;
}

char *sandbox_command_helper(char **tried)
{
	const char *env = getenv("AIRLOCK_SANDBOX_EXE");
	char self[4096];
	char *found;
	ssize_t n;

	*tried = NULL;
	if (env != NULL && *env != '\0')
		return sandbox_command__try(env, tried);
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash != NULL) {
			*slash = '\0';
			char *cand = xasprintf("%s/airlock-sandbox", self);
			found = sandbox_command__try(cand, tried);
			free(cand);
			if (found != NULL)
				return found;
		}
	}
	return sandbox_command__try(AIRLOCK_LIBEXECDIR "/airlock-sandbox", tried);
}

char *sandbox_command_policy(const char *mode, char *const *roots, size_t n_roots, bool network)
{
	cJSON *o = cJSON_CreateObject();
	char *json;

	cJSON_AddStringToObject(o, "type", mode);
	if (strcmp(mode, "workspace-write") == 0) {
		cJSON *arr = cJSON_AddArrayToObject(o, "writable_roots");
		for (size_t i = 0; i < n_roots; i++)
			cJSON_AddItemToArray(arr, cJSON_CreateString(roots[i]));
	}
	if (strcmp(mode, "danger-full-access") != 0)
		cJSON_AddBoolToObject(o, "network_access", network);
	json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (json == NULL)
		abort(); /* cJSON only fails when allocation does */
	char *copy = xstrdup(json);
	cJSON_free(json);
	return copy;
}

/* A growing argv. */
struct sandbox_command__argv {
	char **v;
	size_t n;
};

static void sandbox_command__push(struct sandbox_command__argv *a, char *owned)
{
	a->v = xreallocarray(a->v, a->n + 2, sizeof *a->v);
	a->v[a->n++] = owned;
	a->v[a->n] = NULL;
}

char **sandbox_command_argv(const struct sandbox_command *sc)
{
	struct sandbox_command__argv a = {0};

	sandbox_command__push(&a, xstrdup(sc->helper));
	sandbox_command__push(&a, xstrdup("--sandbox-policy-cwd"));
	sandbox_command__push(&a, xstrdup(sc->cwd));
	sandbox_command__push(&a, xstrdup("--command-cwd"));
	sandbox_command__push(&a, xstrdup(sc->cwd));
	if (sc->policy_json != NULL) {
		sandbox_command__push(&a, xstrdup("--sandbox-policy"));
		sandbox_command__push(&a, xstrdup(sc->policy_json));
	}
	if (sc->fs_policy_json != NULL) {
		sandbox_command__push(&a, xstrdup("--file-system-sandbox-policy"));
		sandbox_command__push(&a, xstrdup(sc->fs_policy_json));
		sandbox_command__push(&a, xstrdup("--network-sandbox-policy"));
		sandbox_command__push(&a, xstrdup(sc->net_policy));
	}
	for (size_t i = 0; i < sc->n_protected_paths; i++) {
		sandbox_command__push(&a, xstrdup("--protected-path"));
		sandbox_command__push(&a, xstrdup(sc->protected_paths[i]));
	}
	char *self = realpath("/proc/self/exe", NULL);
	char *helper = realpath(sc->helper, NULL);
	if (self != NULL) {
		sandbox_command__push(&a, xstrdup("--protected-path"));
		sandbox_command__push(&a, self);
	}
	if (helper != NULL && (self == NULL || strcmp(helper, a.v[a.n - 1]) != 0)) {
		sandbox_command__push(&a, xstrdup("--protected-path"));
		sandbox_command__push(&a, helper);
	} else {
		free(helper);
	}
	if (sc->git_protection_full) {
		sandbox_command__push(&a, xstrdup("--git-protection"));
		sandbox_command__push(&a, xstrdup("full"));
	}
	if (sc->home != NULL) {
		sandbox_command__push(&a, xstrdup("--protect-home"));
		sandbox_command__push(&a, xstrdup(sc->home));
	}
	for (size_t i = 0; i < sc->n_hidden; i++) {
		sandbox_command__push(&a, xstrdup("--hide"));
		sandbox_command__push(&a, xstrdup(sc->hidden[i]));
	}
	for (size_t i = 0; i < sc->n_host_ports; i++) {
		sandbox_command__push(&a, xstrdup("--host-port"));
		sandbox_command__push(&a, xasprintf("%d", sc->host_ports[i]));
	}
	sandbox_command__push(&a, xstrdup("--"));
	for (size_t i = 0; sc->argv[i] != NULL; i++)
		sandbox_command__push(&a, xstrdup(sc->argv[i]));
	return a.v;
}

void sandbox_command_argv_free(char **argv)
{
	if (argv == NULL)
		return;
	for (size_t i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}
