/*
 * airlock-sandbox: the helper that runs one command in the sandbox (SPEC
 * section 3). main only dispatches: parse the argv (a bad flag or malformed
 * policy exits 2 before anything runs), then the inner stage, the Landlock
 * path, or the outer stage that plans and runs bubblewrap.
 */
#include "sandbox/sandbox.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Parses the argv and hands over to the stage it asks for. */
int main(int argc, char **argv)
{
	struct sandbox_opts opts;
	char *cause = NULL;
	char exe[PATH_MAX];
	ssize_t n;

	if (sandbox_args_parse(argc, argv, &opts, &cause) < 0) {
		fprintf(stderr, "airlock: %s\n", cause);
		free(cause);
		sandbox_args_free(&opts);
		return SANDBOX_EXIT_USAGE;
	}
	if (opts.inner)
		sandbox_inner_exec(&opts);
	if (opts.legacy_landlock)
		sandbox_landlock_exec(&opts);
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		sandbox_die("readlink /proc/self/exe: %s", n < 0 ? strerror(errno) : "empty");
	exe[n] = '\0';
	int status = sandbox_run(&opts, exe);
	sandbox_args_free(&opts);
	return status;
}
