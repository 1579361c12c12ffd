/*
 * The command-line front end: the options common to the TUI, `exec` and
 * `check` (SPEC section 1), parsed once by options.c after config.json has
 * supplied defaults, and the entry point of each subcommand. main.c holds
 * the table that maps a subcommand's name to its entry point.
 */
#ifndef AIRLOCK_CLI_H
#define AIRLOCK_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/managed.h"

/* Which program the options are for: defaults differ (SPEC section 1). */
enum cli_mode {
	CLI_MODE_TUI,
	CLI_MODE_EXEC,
	CLI_MODE_CHECK,
};

struct audit;

struct cli_options {
	enum cli_mode mode;
	struct managed managed; /* the managed policy (SPEC 11), read once here; owned */
	const char *sandbox;   /* "read-only", "workspace-write", "danger-full-access" */
	const char *approval;  /* "untrusted", "on-failure", "on-request", "never" */
	const char *network;   /* "off", "ask", "on" */
	char **writable_roots; /* absolute, owned */
	size_t n_writable_roots;
	char *cwd;            /* absolute, owned: workspace root and working directory */
	char *sandbox_policy; /* --sandbox-policy JSON as given, or NULL; owned */
	char *home;           /* AIRLOCK_HOME, resolved; owned */
	struct config config; /* HOME/config.json, read once here; owned */
	bool no_color;
	bool legacy_landlock; /* --use-legacy-landlock: Landlock + seccomp, no bubblewrap */
	uint64_t timeout_ms;  /* exec --timeout: 0 none */
	unsigned reject;      /* -a reject:KINDS / approval.reject: APPROVAL_REJECT_* bits */
	char *profile;        /* the permission profile in force (-p, default_permissions), owned */
	char *profile_fs;     /* its file-system policy (split JSON), owned; NULL without one */
	char **argv; /* the command after `--` (not owned: points into main's argv) */
	int argc;
};

/*
 * Parses the common options of MODE from ARGV (argv[0] is the subcommand or
 * program name) into OPTS, with config.json defaults. On a usage error prints
 * one `airlock: ...` line and returns 2; for --help/--version prints and
 * returns -1 (the caller exits 0); otherwise returns 0.
 */
int cli_options_parse(struct cli_options *opts, enum cli_mode mode, int argc, char **argv);
void cli_options_free(struct cli_options *opts);

struct sandbox_command;
/*
 * Fills what every sandboxed command takes from OPTS into SC: config.json's
 * protected paths, git protection and host loopback ports, and the airlock
 * home that stays read-only inside. SC keeps pointers into OPTS.
 */
void cli_options_sandbox(const struct cli_options *opts, struct sandbox_command *sc);

/*
 * The policy every sandboxed command of OPTS gets, for the helper: the
 * --sandbox-policy JSON, the profile's file-system policy, or the legacy
 * policy of -s/-w/-n. Caller frees. Hand it to cli_options_sandbox_policy.
 */
char *cli_options_policy(const struct cli_options *opts);
/*
 * Puts POLICY (from cli_options_policy, borrowed) into SC: as the legacy
 * policy flag, or under a profile as the split file-system and network
 * policies (SPEC 12: a profile is a split policy, the helper is unchanged).
 */
void cli_options_sandbox_policy(const struct cli_options *opts, const char *policy,
                                struct sandbox_command *sc);

/* Parses --timeout SECONDS (> 0, fractions allowed) into *MS. Returns 0 or -EINVAL. */
int cli_parse_timeout(const char *s, uint64_t *ms);
/* Applies config.json's audit.sync to the log A (NULL is fine). */
void cli_audit_sync(struct audit *a, const struct config *cfg);

/* Subcommands: each returns the process exit status. */
int cmd_exec(const struct cli_options *opts);
int cmd_check(const struct cli_options *opts);
int cmd_rules(int argc, char **argv);  /* argv[0] = "rules" */
int cmd_trust(int argc, char **argv);  /* argv[0] = "trust" */
int cmd_submit(int argc, char **argv); /* argv[0] = "submit" */
int cmd_doctor(int argc, char **argv); /* argv[0] = "doctor" */
int tui_main(const struct cli_options *opts);

struct decider_spec;
/*
 * The decider OPTS names (SPEC 11: managed.json's, else config.json's)
 * into *OUT, its stderr silenced when QUIET; false when none is named.
 * OUT borrows OPTS's strings.
 */
bool cli_decider_spec(const struct cli_options *opts, bool quiet, struct decider_spec *out);

struct rules;
/*
 * A new, empty rule set bound by OPTS's managed policy (its rules
 * directory, read first, and allow_unsandboxed): what exec, check and the
 * TUI load the user's rules into. Free with rules_free.
 */
struct rules *cli_options_rules(const struct cli_options *opts);
/*
 * Reads the managed policy (SPEC 11) into OPTS->managed and holds OPTS's
 * choices (from ARGV and config.json) to it: 0, or 2 after printing one
 * `airlock: ...` line (a managed file that may not be trusted or is
 * malformed, or a value it does not allow, named with its managed key).
 */
int cli_options_managed(struct cli_options *opts, int argc, char **argv);

#endif
