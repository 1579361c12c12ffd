/*
 * `airlock exec`: one command in the sandbox, with this terminal's stdio,
 * no TUI and no prompts. airlock checks what it can before running anything
 * (a usage error or a malformed policy exits 2), then replaces itself with
 * the sandbox helper, so the command's exit status is airlock's with no
 * process in between.
 */
#include "tui/cli.h"

#include "core/policy.h"
#include "core/sandbox-command.h"
#include "core/xmalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Exit statuses of SPEC section 1. */
#define EXEC_DENIED         126
#define EXEC_SANDBOX_FAILED 125
#define EXEC_USAGE          2

int cmd_exec(const struct cli_options *opts)
{
	char *tried = NULL, *policy, *helper;
	char **argv;

	if (opts->argc == 0) {
		fprintf(stderr,
		        "airlock: exec needs a command: airlock exec [OPTIONS] -- CMD ARG...\n");
		return EXEC_USAGE;
	}
	if (strcmp(opts->network, "ask") == 0) {
		fprintf(
		    stderr,
		    "airlock: exec -n ask is not available in this build: use -n off or -n on\n");
		return EXEC_USAGE;
	}
	if (opts->sandbox_policy != NULL) {
		struct policy_split split;
		char *cause = NULL;
		if (policy_parse(opts->sandbox_policy, &split, &cause) != 0) {
			fprintf(stderr, "airlock: --sandbox-policy: %s\n", cause);
			free(cause);
			return EXEC_USAGE;
		}
		policy_split_free(&split);
	}
	helper = sandbox_command_helper(&tried);
	if (helper == NULL) {
		fprintf(stderr,
		        "airlock: cannot find the sandbox helper airlock-sandbox (looked at %s): "
		        "reinstall airlock or set AIRLOCK_SANDBOX_EXE\n",
		        tried);
		free(tried);
		return EXEC_SANDBOX_FAILED;
	}
	free(tried);
	policy =
	    opts->sandbox_policy != NULL
	        ? xstrdup(opts->sandbox_policy)
	        : sandbox_command_policy(opts->sandbox, opts->writable_roots,
	                                 opts->n_writable_roots, strcmp(opts->network, "on") == 0);
	struct sandbox_command sc = {
	    .helper = helper,
	    .cwd = opts->cwd,
	    .policy_json = policy,
	    .home = opts->home,
	    .argv = opts->argv,
	};
	argv = sandbox_command_argv(&sc);
	fflush(NULL);
	execv(helper, argv);
	fprintf(stderr, "airlock: cannot run the sandbox helper %s: %s\n", helper, strerror(errno));
	sandbox_command_argv_free(argv);
	free(policy);
	free(helper);
	return EXEC_SANDBOX_FAILED;
}
