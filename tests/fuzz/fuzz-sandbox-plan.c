/*
 * libFuzzer target for the helper's plan. The input is lines: the first a
 * policy (either shape), then host facts ("d PATH", "r PATH" a directory
 * this user cannot create in, "f PATH", "l PATH", "g PATH GITDIR") and
 * options ("p PATH" --protected-path, "h DIR" --protect-home, "x DIR"
 * --hide). Every plan must build or be refused with a cause, and a plan
 * always ends with the inner stage and the command.
 */
#include "core/policy.h"
#include "core/xmalloc.h"
#include "sandbox/sandbox.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_OPTS 8

/* Checks one input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size), *save = NULL, *line;
	char *prot[FUZZ_MAX_OPTS], *home[FUZZ_MAX_OPTS], *hide[FUZZ_MAX_OPTS];
	size_t np = 0, nh = 0, nx = 0;
	char *cmd[] = {"true", NULL}, *cause = NULL;
	struct policy_split s;
	struct policy_resolved res;
	struct sandbox_facts f = {0};
	struct sandbox_plan plan;

	line = strtok_r(text, "\n", &save);
	if (line == NULL || policy_parse(line, &s, NULL) != 0) {
		free(text);
		return 0;
	}
	if (policy_resolve(&s, "/ws", "/tmp/t", &res, NULL) != 0)
		abort();
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		if (strlen(line) < 3 || line[1] != ' ' || line[2] != '/')
			continue;
		char *path = line + 2, *gitdir = NULL;
		if (line[0] == 'g' && (gitdir = strchr(path, ' ')) != NULL)
			*gitdir++ = '\0';
		char *norm = policy_path_normalize(path);
		switch (line[0]) {
		case 'd':
		case 'r':
			sandbox_facts_set(&f, norm, SANDBOX_DIR, NULL);
			if (line[0] == 'r')
				sandbox_facts_set_readonly(&f, norm);
			break;
		case 'f':
			sandbox_facts_set(&f, norm, SANDBOX_FILE, NULL);
			break;
		case 'l':
			sandbox_facts_set(&f, norm, SANDBOX_SYMLINK, NULL);
			break;
		case 'g':
			if (gitdir != NULL && gitdir[0] == '/')
				sandbox_facts_set(&f, norm, SANDBOX_FILE, gitdir);
			break;
		case 'p':
			if (np < FUZZ_MAX_OPTS)
				prot[np++] = xstrdup(norm);
			break;
		case 'h':
			if (nh < FUZZ_MAX_OPTS)
				home[nh++] = xstrdup(norm);
			break;
		case 'x':
			if (nx < FUZZ_MAX_OPTS)
				hide[nx++] = xstrdup(norm);
			break;
		}
		free(norm);
	}
	struct sandbox_plan_in in = {.res = &res,
	                             .command_cwd = "/ws",
	                             .exe = "/usr/libexec/airlock-sandbox",
	                             .protected_paths = prot,
	                             .n_protected_paths = np,
	                             .protect_home = home,
	                             .n_protect_home = nh,
	                             .hide = hide,
	                             .n_hide = nx,
	                             .command = cmd};
	if (sandbox_plan_build(&in, &f, &plan, &cause) == 0) {
		if (plan.argc < 6 || strcmp(plan.argv[plan.argc - 1], "true") != 0 ||
		    strcmp(plan.argv[plan.argc - 2], "--") != 0 || plan.argv[plan.argc] != NULL)
			abort();
		for (size_t i = 0; i < plan.argc; i++)
			if (plan.argv[i] == NULL)
				abort();
		sandbox_plan_free(&plan);
	} else if (cause == NULL) {
		abort();
	} else {
		free(cause);
	}
	for (size_t i = 0; i < np; i++)
		free(prot[i]);
	for (size_t i = 0; i < nh; i++)
		free(home[i]);
	for (size_t i = 0; i < nx; i++)
		free(hide[i]);
	sandbox_facts_free(&f);
	policy_resolved_free(&res);
	policy_split_free(&s);
	free(text);
	return 0;
}
