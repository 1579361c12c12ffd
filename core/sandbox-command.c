/*
 * Building the airlock-sandbox command line. The order of flags mirrors the
 * helper's usage line, so a command printed in a log reads the same as the
 * documentation; the command itself always comes after `--`, so nothing in
 * it can be taken for a flag. airlock's own programs (this executable and
 * the helper) are always protected paths: a build tree inside the workspace
 * must not let a sandboxed command replace the helper that the next command
 * runs outside the sandbox. Every airlock socket directory is always hidden
 * (--hide), whoever builds the argv, so no sandboxed command can reach a
 * TUI or plant a socket where `airlock submit` looks for one.
 *
 * The environment filter lives here too: variables named like secrets are
 * left out of a sandboxed command's environment unless config.json keeps
 * them. Commands run outside the sandbox (an allow rule, an approved
 * escalation) keep the whole environment: a human or a rule let them run
 * with the host's full rights, where the same secrets are readable from
 * files (~/.aws, ~/.config/gh) anyway, and what they are usually let out
 * for (a push, a deploy) is what needs the tokens.
 */
#include "sandbox-command.h"

#include "agent-server.h"
#include "xmalloc.h"

#include <cjson/cJSON.h>
#include <ctype.h>
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

/* A growing argv (doubling: a 200k-word command costs linear time). */
struct sandbox_command__argv {
	char **v;
	size_t n, cap;
};

/* Appends S to A, keeping A NULL-terminated. */
static void sandbox_command__push(struct sandbox_command__argv *a, char *s)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap < 16 ? 32 : a->cap * 2;
		a->v = xreallocarray(a->v, a->cap, sizeof *a->v);
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

/*
 * A's strings packed in one allocation (xstrv_pack), what
 * sandbox_command_argv_free frees; the first OWNED of them, and A's array,
 * are freed (the rest were borrowed).
 */
static char **sandbox_command__pack(struct sandbox_command__argv *a, size_t owned)
{
	char **out = xstrv_pack(a->n, a->v);

	for (size_t i = 0; i < owned; i++)
		free(a->v[i]);
	free(a->v);
	return out;
}

char **sandbox_command_hidden(const struct sandbox_command *sc)
{
	struct sandbox_command__argv a = {0};
	char **socks = agent_server_socket_dirs();

	a.v = xcalloc(1, sizeof *a.v); /* an empty list is still an array */
	for (size_t i = 0; i < sc->n_hidden; i++)
		sandbox_command__push(&a, xstrdup(sc->hidden[i]));
	for (size_t i = 0; socks != NULL && socks[i] != NULL; i++) {
		bool seen = false;
		for (size_t j = 0; j < a.n && !seen; j++)
			seen = strcmp(a.v[j], socks[i]) == 0;
		if (!seen)
			sandbox_command__push(&a, xstrdup(socks[i]));
	}
	agent_server_socket_dirs_free(socks);
	return sandbox_command__pack(&a, a.n);
}

bool sandbox_command_secret_name(const char *name, size_t len)
{
	static const char *const words[] = {"KEY", "SECRET", "TOKEN", "PASSWORD", "CREDENTIAL"};

	for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
		size_t wl = strlen(words[w]);
		for (size_t i = 0; i + wl <= len; i++) {
			size_t k = 0;
			while (k < wl && toupper((unsigned char)name[i + k]) == words[w][k])
				k++;
			if (k == wl)
				return true;
		}
	}
	return false;
}

/* The length of the name of the variable ENTRY ("NAME=value"). */
static size_t sandbox_command__name_len(const char *entry)
{
	const char *eq = strchr(entry, '=');

	return eq != NULL ? (size_t)(eq - entry) : strlen(entry);
}

/* Whether NAME (LEN bytes) is one of the N names in LIST. */
static bool sandbox_command__listed(const char *name, size_t len, char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(list[i]) == len && memcmp(list[i], name, len) == 0)
			return true;
	return false;
}

char **sandbox_command_env(const struct sandbox_command *sc, char *const *base)
{
	size_t n = 0, k = 0;
	char **env;

	while (base != NULL && base[n] != NULL)
		n++;
	env = xcalloc(n + sc->n_env_set + 1, sizeof *env);
	for (size_t i = 0; i < n; i++) {
		size_t len = sandbox_command__name_len(base[i]);
		bool replaced = false;
		for (size_t j = 0; j < sc->n_env_set && !replaced; j++)
			replaced = sandbox_command__name_len(sc->env_set[j]) == len &&
			           memcmp(sc->env_set[j], base[i], len) == 0;
		if (replaced ||
		    (sandbox_command_secret_name(base[i], len) &&
		     !sandbox_command__listed(base[i], len, sc->env_keep, sc->n_env_keep)))
			continue;
		env[k++] = base[i];
	}
	for (size_t j = 0; j < sc->n_env_set; j++)
		env[k++] = sc->env_set[j];
	env[k] = NULL;
	return env;
}

char **sandbox_command_argv(const struct sandbox_command *sc)
{
	struct sandbox_command__argv a = {0};

	sandbox_command__push(&a, xstrdup(sc->helper));
	sandbox_command__push(&a, xstrdup("--sandbox-policy-cwd"));
	sandbox_command__push(&a, xstrdup(sc->cwd));
	sandbox_command__push(&a, xstrdup("--command-cwd"));
	sandbox_command__push(&a, xstrdup(sc->command_cwd != NULL ? sc->command_cwd : sc->cwd));
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
	if (sc->legacy_landlock)
		sandbox_command__push(&a, xstrdup("--use-legacy-landlock"));
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
	char **hidden = sandbox_command_hidden(sc);
	for (size_t i = 0; hidden[i] != NULL; i++) {
		sandbox_command__push(&a, xstrdup("--hide"));
		sandbox_command__push(&a, xstrdup(hidden[i]));
	}
	sandbox_command_argv_free(hidden);
	for (size_t i = 0; i < sc->n_host_ports; i++) {
		sandbox_command__push(&a, xstrdup("--host-port"));
		sandbox_command__push(&a, xasprintf("%d", sc->host_ports[i]));
	}
	for (size_t i = 0; i < sc->n_host_sockets; i++) {
		sandbox_command__push(&a, xstrdup("--host-socket"));
		sandbox_command__push(&a, xstrdup(sc->host_sockets[i]));
	}
	if (sc->report_fd > 2) {
		sandbox_command__push(&a, xstrdup("--report-fd"));
		sandbox_command__push(&a, xasprintf("%d", sc->report_fd));
	}
	sandbox_command__push(&a, xstrdup("--"));
	size_t owned = a.n;
	/* The command's words, borrowed until packed: a 200k-word argv costs no malloc a word. */
	for (size_t i = 0; sc->argv[i] != NULL; i++)
		sandbox_command__push(&a, sc->argv[i]);
	return sandbox_command__pack(&a, owned);
}

void sandbox_command_argv_free(char **argv)
{
	free(argv); /* packed: the strings are in the same allocation */
}
