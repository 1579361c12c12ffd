/*
 * Which decider program a run uses (SPEC 11). managed.json names one that
 * no user setting can replace; only when it names none does config.json's
 * `decider` count. This is the one place both sources meet, so `exec` and
 * the TUI never disagree about it.
 */
#include "tui/cli.h"

#include "core/decider.h"

#include <string.h>

/* Fills OUT with the decider OPTS names; false when none. */
bool cli_decider_spec(const struct cli_options *opts, bool quiet, struct decider_spec *out)
{
	memset(out, 0, sizeof *out);
	out->quiet = quiet;
	/* Managed first (SPEC 11): an administrator's decider binds. */
	if (opts->managed.decider_argv != NULL && opts->managed.decider_argc > 0) {
		out->argv = opts->managed.decider_argv;
		out->argc = opts->managed.decider_argc;
		out->timeout_ms = opts->managed.decider_timeout_ms;
		return true;
	}
	if (opts->config.decider_command == NULL || opts->config.n_decider_command == 0)
		return false;
	out->argv = opts->config.decider_command;
	out->argc = opts->config.n_decider_command;
	out->timeout_ms = opts->config.decider_timeout_ms;
	return true;
}
