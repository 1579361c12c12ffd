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

static const char sandbox_usage[] =
    "usage: airlock-sandbox --sandbox-policy-cwd DIR [--command-cwd DIR]\n"
    "         (--sandbox-policy JSON | --file-system-sandbox-policy JSON\n"
    "          --network-sandbox-policy JSON) [--use-legacy-landlock]\n"
    "         [--proxy-route-spec JSON] [--no-proc] [--host-port N]...\n"
    "         [--protected-path P]... [--git-protection safe|full]\n"
    "         [--protect-home DIR]... [--hide DIR]... [--print-bwrap-args] -- CMD ARG...\n"
    "Runs CMD in a bubblewrap + seccomp sandbox (airlock's helper; see airlock(1)).\n"
    "Exit: CMD's status (128+N if killed by signal N); 125 when the sandbox cannot be\n"
    "set up; 2 on a bad flag or malformed policy (nothing runs).\n";

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
	if (opts.help) {
		fputs(sandbox_usage, stdout);
		return 0;
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
