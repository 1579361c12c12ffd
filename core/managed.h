/*
 * The managed policy (SPEC 11): one JSON file an administrator writes
 * (MANAGED_FILE, fixed at configure time with --with-managed-file; nothing
 * moves it at run time) that no user, config.json, flag, workspace or agent
 * can loosen:
 *
 *   {"allowed_approval_policies": ["on-request", "never"],
 *    "allowed_network_modes": ["off", "ask"],
 *    "allowed_sandbox_policies": ["read-only", "workspace-write"],
 *    "allow_unsandboxed": false,
 *    "rules": "/etc/airlock/rules",
 *    "network": {"allowed_domains": [], "denied_domains": ["*.pastebin.com"],
 *                "allow_private": []},
 *    "protected_paths": [".env"],
 *    "decider": {"command": ["/usr/lib/acme/decide"], "timeout_ms": 2000}}
 *
 * Every key is optional; unknown keys, a key given twice, a wrong type or
 * an unknown word are errors, as in config.json. The file is read only when
 * it (and every directory above it, and the managed rules directory and its
 * files) is owned by root and writable by no one else; a file that exists
 * but is not so kept, or is malformed, is an error the caller turns into
 * exit 2. A missing file means no managed policy.
 *
 * managed_parse() is pure (text in, struct out); managed_load() adds the
 * ownership checks and the read. managed_refuse() is the one place where a
 * flag's or config value's word is compared with an allowed_* list.
 */
#ifndef AIRLOCK_MANAGED_H
#define AIRLOCK_MANAGED_H

#include <stdbool.h>
#include <stddef.h>

/* The decider's default answer time (SPEC 11). */
#define MANAGED_DECIDER_TIMEOUT_MS 2000

/* A list of words an allowed_* key holds; SET says whether the key was given. */
struct managed_list {
	bool set;
	char **v; /* NULL-terminated */
	size_t n;
};

struct managed {
	bool present; /* a managed file was read: everything below is in force */
	char *path;   /* the file read (owned), or NULL */
	struct managed_list approval_policies; /* allowed_approval_policies */
	struct managed_list network_modes;     /* allowed_network_modes */
	struct managed_list sandbox_policies;  /* allowed_sandbox_policies */
	bool allow_unsandboxed;                /* false: nothing ever runs outside the sandbox */
	char *rules_dir;                       /* "rules": absolute directory, or NULL */
	struct managed_list allowed_domains;   /* network.allowed_domains */
	struct managed_list denied_domains;    /* network.denied_domains */
	struct managed_list allow_private;     /* network.allow_private (addresses, CIDRs) */
	struct managed_list protected_paths;
	/* decider.command (NULL-terminated argv, argv[0] absolute) or NULL; for the decider */
	char **decider_argv;
	size_t decider_argc;
	unsigned decider_timeout_ms; /* decider.timeout_ms, MANAGED_DECIDER_TIMEOUT_MS unless set */
};

/* The compiled-in path of the managed file (MANAGED_FILE). */
const char *managed_default_path(void);

/*
 * Parses managed JSON TEXT (named PATH in messages) into M (zeroed first,
 * allow_unsandboxed true unless the file says otherwise). Returns 0, or
 * -EINVAL with *CAUSE "PATH:LINE:COL: message" or "PATH: message" (caller
 * frees) and M empty.
 */
int managed_parse(struct managed *m, const char *text, const char *path, char **cause);

/*
 * Reads PATH into M when it exists: a missing file leaves M empty (present
 * false) and returns 0. The file, each directory above it, and the "rules"
 * directory it names with every *.rules file in it must be owned by root
 * and not writable by group or others (a directory with the sticky bit may
 * be, as /tmp is); a symbolic link anywhere on those paths is refused.
 * Returns 0, or -EPERM / -EINVAL / -errno with *CAUSE (caller frees).
 */
int managed_load(struct managed *m, const char *path, char **cause);

/*
 * The ownership check alone: 0 when PATH (a file when WANT_DIR is false, else
 * a directory) and every directory above it are root's and kept from
 * others, else -EPERM / -errno with *CAUSE naming the path and what is wrong.
 */
int managed_check_owner(const char *path, bool want_dir, char **cause);

/*
 * Opens PATH, a file of the managed policy (its rules), for reading only
 * when it passes managed_check_owner() and the open file itself (O_NOFOLLOW,
 * checked again with fstat) is root's regular file kept from others: the
 * bytes read are the bytes checked. Returns the descriptor (O_CLOEXEC), or
 * -EPERM / -errno with *CAUSE (caller frees). Used at every read, start and
 * reload alike (SPEC 11).
 */
int managed_open_checked(const char *path, char **cause);

/*
 * Whether VALUE may be used under list L (an unset list allows all). A
 * policy word "reject:KIND,..." counts as "reject".
 */
bool managed_allows(const struct managed_list *l, const char *value);

/*
 * Checks the chosen approval policy, network mode and sandbox mode (each
 * with WHERE it came from, e.g. "--network" or "config.json network.mode",
 * or NULL for a built-in default) against M. Returns 0, or -EPERM with
 * *CAUSE naming the value, where it came from, the managed key and its
 * file (caller frees).
 */
int managed_refuse(const struct managed *m, const char *approval, const char *approval_from,
                   const char *network, const char *network_from, const char *sandbox,
                   const char *sandbox_from, char **cause);

/* The first word of L that is also in KNOWN (NULL-terminated), or NULL. */
const char *managed_first_allowed(const struct managed_list *l, const char *const *known);

/* One line for the status bar, `check` and `doctor`: "managed policy PATH (...)". Caller frees. */
char *managed_summary(const struct managed *m);

void managed_free(struct managed *m);

#endif
