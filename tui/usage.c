/*
 * Help texts. One text per mode, sharing the block of common options, so
 * the TUI, exec and check describe their options in the same words.
 */
#include "usage.h"

#include "build-config.h"

/* Prints the common options with the mode's default approval and network. */
static void usage__common(FILE *f, const char *approval, const char *network)
{
	fprintf(f,
	        "Options:\n"
	        "  -s, --sandbox MODE            read-only, workspace-write (default) or\n"
	        "                                danger-full-access\n"
	        "  -a, --ask-for-approval POLICY untrusted, on-failure, on-request, never, or\n"
	        "                                reject:KIND[,KIND...] (on-request, refusing\n"
	        "                                sandbox, rules, patches or network prompts\n"
	        "                                unasked) (default: %s)\n"
	        "  -p, --permissions NAME        a permission profile: config.json's\n"
	        "                                \"permissions\", or :read-only, :workspace,\n"
	        "                                :danger-full-access (not with -s, -w or\n"
	        "                                --sandbox-policy; default: default_permissions)\n"
	        "  -w, --writable-root DIR       another writable directory (repeatable)\n"
	        "  -n, --network MODE            off, ask (proxy, prompt per host) or on\n"
	        "                                (default: %s)\n"
	        "  -C, --cd DIR                  working directory and workspace root\n"
	        "      --sandbox-policy JSON     a full policy; overrides -s, -w and -n\n"
	        "      --home DIR                config, rules and state (default: $AIRLOCK_HOME,\n"
	        "                                else $XDG_CONFIG_HOME/airlock)\n"
	        "      --no-color                no colors (NO_COLOR is honoured too)\n"
	        "      --use-legacy-landlock     sandbox with Landlock + seccomp, no bubblewrap\n"
	        "                                (where user namespaces are unavailable)\n"
	        "  -h, --help                    this help\n"
	        "  -V, --version                 the version\n",
	        approval, network);
}

static const char usage__tui[] =
    "Usage: airlock [OPTIONS] [-- CMD ARG...]\n"
    "       airlock exec [OPTIONS] -- CMD ARG...\n"
    "       airlock check [OPTIONS] -- CMD ARG...\n"
    "       airlock submit [--socket PATH] [--escalate] [--justification TEXT]\n"
    "                      [--prefix-rule TOK...] [--timeout SECONDS] -- CMD ARG...\n"
    "       airlock submit [--socket PATH] --patch FILE\n"
    "       airlock rules list | airlock rules remove N\n"
    "       airlock trust [DIR] | airlock trust --revoke [DIR] | airlock trust --list\n"
    "       airlock doctor [--use-legacy-landlock]\n"
    "\n"
    "Runs commands in a bubblewrap + seccomp sandbox, each in a pane of a\n"
    "terminal UI, and asks before anything leaves the sandbox. With CMD, runs\n"
    "it at once in the first pane. A word before `--` that is not a subcommand\n"
    "is a usage error. `airlock doctor` checks this host for what the sandbox\n"
    "needs and says what to do where something is missing.\n"
    "\n";

static const char usage__exec[] =
    "Usage: airlock exec [OPTIONS] -- CMD ARG...\n"
    "\n"
    "Runs CMD in the sandbox with this terminal's stdin, stdout and stderr, and\n"
    "exits with its status. Never prompts: what would need approval is denied.\n"
    "\n";

static const char usage__check[] =
    "Usage: airlock check [OPTIONS] -- CMD ARG...\n"
    "\n"
    "Runs nothing; prints one JSON object saying what airlock would decide for\n"
    "CMD: decision, sandboxed, matched_rules, commands, reason.\n"
    "\n";

static const char usage__exit[] =
    "\n"
    "Exit status (exec): the command's own (128+N when killed by signal N);\n"
    "124 when it ran past --timeout; 126 when a rule or policy denied it; 125\n"
    "when the sandbox could not be set up; 2 on a usage error or malformed input.\n";

void usage_print(FILE *f, enum cli_mode mode)
{
	const char *approval = mode == CLI_MODE_TUI ? "on-failure" : "never";
	const char *network = mode == CLI_MODE_TUI ? "ask" : "off";

	switch (mode) {
	case CLI_MODE_TUI:
		fputs(usage__tui, f);
		break;
	case CLI_MODE_EXEC:
		fputs(usage__exec, f);
		break;
	case CLI_MODE_CHECK:
		fputs(usage__check, f);
		break;
	}
	usage__common(f, approval, network);
	if (mode == CLI_MODE_EXEC)
		fputs("      --timeout SECONDS         end the command after SECONDS: SIGTERM, SIGKILL\n"
		      "                                2 s later, exit status 124\n",
		      f);
	if (mode != CLI_MODE_CHECK)
		fputs(usage__exit, f);
	/* The administrator's file (SPEC 11): where it is, and that it binds. */
	fprintf(f,
	        "\nManaged policy: %s (read only when root owns it and no one\n"
	        "else may write it): a value it does not allow is refused with exit 2.\n",
	        MANAGED_FILE);
	fputs("\nSee airlock(1) for rules, prompts, keys and files.\n", f);
}

const char *usage_version(void)
{
	return PACKAGE_VERSION;
}

const char *usage_subcommand(enum cli_mode mode)
{
	switch (mode) {
	case CLI_MODE_EXEC:
		return "exec ";
	case CLI_MODE_CHECK:
		return "check ";
	default:
		return "";
	}
}
