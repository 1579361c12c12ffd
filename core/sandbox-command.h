/*
 * How airlock reaches its sandbox: by exec'ing the airlock-sandbox helper
 * with a documented argv (SPEC section 3). This module finds the helper,
 * turns the user's options into a policy, and builds that argv; `airlock
 * exec`, the TUI's panes and the agent socket all go through it, so the
 * sandbox is set up the same way whoever asked.
 */
#ifndef AIRLOCK_SANDBOX_COMMAND_H
#define AIRLOCK_SANDBOX_COMMAND_H

#include <stdbool.h>
#include <stddef.h>

/* Everything the helper needs for one command. Nothing here is owned. */
struct sandbox_command {
	const char *helper;           /* path of airlock-sandbox */
	const char *cwd;              /* workspace root (and the command's directory) */
	const char *command_cwd;      /* where the command starts, if not cwd (or NULL) */
	const char *policy_json;      /* legacy policy (--sandbox-policy), or NULL */
	const char *fs_policy_json;   /* split policies: both set, or both NULL */
	const char *net_policy;       /* "restricted", "enabled" or "proxy" */
	char *const *protected_paths; /* config protected_paths */
	size_t n_protected_paths;
	bool git_protection_full;
	bool legacy_landlock; /* --use-legacy-landlock: Landlock + seccomp, no bubblewrap */
	int report_fd;       /* > 2: --report-fd N (the post-run git report); 0: none */
	const char *home;    /* AIRLOCK_HOME: never writable inside */
	char *const *hidden; /* directories hidden inside (the agent socket's) */
	size_t n_hidden;
	const int *host_ports; /* host loopback ports bridged inside */
	size_t n_host_ports;
	char *const *host_sockets; /* host sockets left visible when the network is on */
	size_t n_host_sockets;
	char *const *env_keep; /* config environment.keep: names never filtered */
	size_t n_env_keep;
	char *const *env_set; /* config environment.set, as "NAME=value" */
	size_t n_env_set;
	char *const *argv; /* the command, NULL-terminated */
};

/*
 * The helper's path: $AIRLOCK_SANDBOX_EXE, else airlock-sandbox next to the
 * running executable (an uninstalled build), else the installed libexec one.
 * Returns NULL when none is executable, with *TRIED listing where it looked.
 * Caller frees both.
 */
char *sandbox_command_helper(char **tried);

/*
 * The legacy policy JSON for the command-line options: MODE is read-only,
 * workspace-write or danger-full-access; ROOTS are extra writable roots;
 * NETWORK says whether the network is open. Caller frees.
 */
char *sandbox_command_policy(const char *mode, char *const *roots, size_t n_roots, bool network);

/*
 * The directories hidden inside for SC: SC's own hidden ones, then every
 * airlock socket directory of this user (agent_server_socket_dirs), each
 * once. Both `airlock exec` and the TUI's panes get them through
 * sandbox_command_argv. Free with sandbox_command_argv_free.
 */
char **sandbox_command_hidden(const struct sandbox_command *sc);

/*
 * Whether the variable NAME (LEN bytes) is taken for a secret: its name
 * holds KEY, SECRET, TOKEN, PASSWORD or CREDENTIAL, in any case.
 */
bool sandbox_command_secret_name(const char *name, size_t len);

/*
 * The environment of a sandboxed command (SPEC section 3): BASE
 * ("NAME=value" strings, e.g. environ) without the secret-looking variables
 * not named in SC's env_keep, then SC's env_set added or replacing. The
 * strings are borrowed from BASE and SC; free only the array.
 */
char **sandbox_command_env(const struct sandbox_command *sc, char *const *base);

/* The helper's argv for SC, NULL-terminated; free with sandbox_command_argv_free. */
char **sandbox_command_argv(const struct sandbox_command *sc);
void sandbox_command_argv_free(char **argv);

#endif
