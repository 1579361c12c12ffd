/*
 * airlock's entry point: a table of subcommands (tmux's style of one const
 * table, one line per command). A first argument that names a subcommand
 * runs it; anything else is the TUI's own command line.
 */
#include "tui/cli.h"

#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

/* One subcommand: its name and how it takes the command line. */
struct main__command {
	const char *name;
	enum cli_mode mode; /* for those that take the common options */
	int (*run)(const struct cli_options *opts);
	int (*run_argv)(int argc, char **argv); /* for those with options of their own */
};

static const struct main__command main__commands[] = {
    {.name = "exec", .mode = CLI_MODE_EXEC, .run = cmd_exec},
    {.name = "check", .mode = CLI_MODE_CHECK, .run = cmd_check},
    {.name = "submit", .run_argv = cmd_submit},
    {.name = "rules", .run_argv = cmd_rules},
    {.name = "trust", .run_argv = cmd_trust},
    {.name = "doctor", .run_argv = cmd_doctor},
};

/* Parses the common options for MODE, then runs RUN with them. */
static int main__with_options(enum cli_mode mode, int (*run)(const struct cli_options *), int argc,
                              char **argv)
{
	struct cli_options opts;
	int rc = cli_options_parse(&opts, mode, argc, argv);

	if (rc == 0)
		rc = run(&opts);
	else if (rc < 0)
		rc = 0;
	cli_options_free(&opts);
	return rc;
}

int main(int argc, char **argv)
{
	/*
	 * Only the character set comes from the environment: it decides how
	 * commands and screens are decoded. Numbers, messages and the rest
	 * stay "C", so JSON, audit lines and errors read the same everywhere
	 * (and start-up does not load a dozen locale files).
	 */
	setlocale(LC_CTYPE, "");
	/*
	 * A peer that went away (an agent client, a proxy client, a closed
	 * pipe) must end only its own connection, never airlock (SPEC 9):
	 * writes get EPIPE instead. Commands get SIGPIPE back (job.c and
	 * libuv reset every signal in the child before exec).
	 */
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1) {
		for (size_t i = 0; i < sizeof main__commands / sizeof main__commands[0]; i++) {
			const struct main__command *c = &main__commands[i];
			if (strcmp(argv[1], c->name) != 0)
				continue;
			if (c->run_argv != NULL)
				return c->run_argv(argc - 1, argv + 1);
			return main__with_options(c->mode, c->run, argc - 1, argv + 1);
		}
	}
	return main__with_options(CLI_MODE_TUI, tui_main, argc, argv);
}
