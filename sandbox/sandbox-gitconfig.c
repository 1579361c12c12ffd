/*
 * The paths a repository's own config points git at, read before the run.
 *
 * A protected .git/config cannot be written inside the sandbox, but it may
 * already name files that can: `core.hooksPath = .husky` (husky's setup)
 * runs the hooks kept in the worktree, and `include.path` or
 * `includeIf.<cond>.path` pulls in another config file (which may set
 * core.fsmonitor, a program git runs). Whatever such a key names inside a
 * writable root must stay read-only too, or a command could plant code that
 * host git runs. This reader knows just enough of git's config syntax for
 * that: sections (`[core]`, `[includeIf "gitdir:..."]`), `key = value`
 * lines, comments, double quotes with backslash escapes, and `~/`. Keys and
 * section names compare without case, as git does.
 */
#include "sandbox/sandbox.h"

#include "core/xmalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SANDBOX_GITCONFIG_MAX_REFS 32 /* paths taken from one config file */

/* Trims white space at both ends of S in place; returns the start. */
static char *sandbox_gitconfig_trim(char *s)
{
	char *e = s + strlen(s);

	while (*s == ' ' || *s == '\t')
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Decodes a config value in place: quotes removed, escapes undone, comments cut. */
static char *sandbox_gitconfig_value(char *v)
{
	char *w = v;
	bool quoted = false;

	v = sandbox_gitconfig_trim(v);
	w = v;
	for (char *r = v; *r != '\0'; r++) {
		if (*r == '"') {
			quoted = !quoted;
		} else if (*r == '\\' && r[1] != '\0') {
			r++;
			*w++ = *r == 'n' ? '\n' : *r == 't' ? '\t' : *r;
		} else if (!quoted && (*r == '#' || *r == ';')) {
			break;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return sandbox_gitconfig_trim(v);
}

/* Makes VALUE an absolute, normalised path: `~/` from HOME, else relative to BASE. */
static char *sandbox_gitconfig_resolve(const char *value, const char *base)
{
	const char *home = getenv("HOME");
	char *joined, *abs;

	if (value[0] == '\0')
		return NULL;
	if (value[0] == '/')
		return policy_path_normalize(value);
	if (value[0] == '~' && value[1] == '/') {
		if (home == NULL || home[0] != '/')
			return NULL;
		joined = xasprintf("%s/%s", home, value + 2);
	} else if (value[0] == '~') {
		return NULL; /* ~user: not followed */
	} else {
		joined = xasprintf("%s/%s", base, value);
	}
	abs = policy_path_normalize(joined);
	free(joined);
	return abs;
}

int sandbox_gitconfig_paths(const char *gitdir, struct sandbox_gitconfig_ref *out, size_t max)
{
	char *cfg = sandbox__join(gitdir, "config"), *line = NULL, section[64] = "";
	/* Relative hooks paths are taken from the top of the worktree (the directory
	 * holding .git), or from the git dir of a bare repository. */
	char *top = xstrdup(gitdir);
	size_t n = 0, cap = 0;
	FILE *fp = fopen(cfg, "re");
	char *slash = strrchr(top, '/');

	if (slash != NULL && strcmp(slash, "/.git") == 0)
		*(slash == top ? slash + 1 : slash) = '\0';
	free(cfg);
	if (fp == NULL) {
		free(top);
		return 0;
	}
	while (n < max && getline(&line, &cap, fp) > 0) {
		char *s = sandbox_gitconfig_trim(line), *eq, *path;
		bool hooks;
		if (*s == '[') {
			size_t len = strcspn(s + 1, " \t\"].");
			snprintf(section, sizeof section, "%.*s", (int)len, s + 1);
			/* `[section] key = value` on one line */
			s = strchr(s, ']');
			if (s == NULL)
				continue;
			s = sandbox_gitconfig_trim(s + 1);
		}
		if (*s == '\0' || *s == '#' || *s == ';' || (eq = strchr(s, '=')) == NULL)
			continue;
		*eq = '\0';
		char *key = sandbox_gitconfig_trim(s);
		hooks = strcasecmp(section, "core") == 0 && strcasecmp(key, "hookspath") == 0;
		if (!hooks && !((strcasecmp(section, "include") == 0 ||
		                 strcasecmp(section, "includeif") == 0) &&
		                strcasecmp(key, "path") == 0))
			continue;
		path = sandbox_gitconfig_resolve(sandbox_gitconfig_value(eq + 1),
		                                 hooks ? top : gitdir);
		if (path == NULL)
			continue;
		out[n].path = path;
		out[n].dir = hooks;
		n++;
	}
	free(line);
	fclose(fp);
	free(top);
	return (int)n;
}
