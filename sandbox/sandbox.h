/*
 * The airlock-sandbox helper's internal interface (SPEC section 3).
 *
 * The helper works in three steps, bubblewrap style: parse the argv into
 * options (sandbox-args.c), gather the few file-system facts the plan needs
 * (sandbox-facts.c: what exists, what is a symlink, where a `.git` file
 * points), then turn options + facts into the exact bubblewrap argv with a
 * pure function (sandbox-plan.c). Only then does it act (sandbox-run.c):
 * run bubblewrap, which re-runs this helper inside with
 * --apply-seccomp-then-exec (sandbox-inner.c, sandbox-seccomp.c). The
 * --use-legacy-landlock path skips bubblewrap (sandbox-landlock.c).
 *
 * Only the policy model and xmalloc are shared with core/.
 */
#ifndef AIRLOCK_SANDBOX_H
#define AIRLOCK_SANDBOX_H

#include "core/policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SANDBOX_EXIT_USAGE 2   /* bad flag or malformed policy: nothing ran */
#define SANDBOX_EXIT_SETUP 125 /* the sandbox could not be set up */
#define SANDBOX_MAX_LIST   64  /* most values a repeatable flag takes */

/* The environment variable the outer stage sets for the inner stage (see sandbox-inner.c). */
#define SANDBOX_INNER_ENV "AIRLOCK_SANDBOX__INNER"

enum sandbox_git_protection {
	SANDBOX_GIT_SAFE, /* .git/config and .git/hooks read-only (default) */
	SANDBOX_GIT_FULL, /* all of .git read-only */
};

/* Everything the helper's argv says. Owns its strings. */
struct sandbox_opts {
	char *policy_cwd;  /* --sandbox-policy-cwd, normalised */
	char *command_cwd; /* --command-cwd, normalised (defaults to policy_cwd) */
	struct policy_split policy;
	bool legacy_landlock;
	bool no_proc;
	char *proxy_route_spec; /* accepted, kept for the network work */
	int host_ports[SANDBOX_MAX_LIST];
	size_t n_host_ports;
	char *protected_paths[SANDBOX_MAX_LIST]; /* --protected-path: relative or absolute */
	size_t n_protected_paths;
	char *protect_home[SANDBOX_MAX_LIST]; /* --protect-home: never writable inside */
	size_t n_protect_home;
	char *hide[SANDBOX_MAX_LIST]; /* --hide: an empty tmpfs inside */
	size_t n_hide;
	enum sandbox_git_protection git;
	bool help;       /* -h/--help alone */
	bool print_plan; /* --print-bwrap-args: print the plan, one argument a line; run nothing */
	/* Inner stage (--apply-seccomp-then-exec). */
	bool inner;
	bool inner_fs_restricted;            /* --fs-restricted: the file system is restricted */
	char *write_roots[SANDBOX_MAX_LIST]; /* --write-root: the Landlock write scope */
	size_t n_write_roots;
	bool no_landlock; /* --no-landlock: behave as on a kernel without Landlock (tests) */
	int report_fd;    /* --report-fd: JSON lines about the run for the audit log, or -1 */
	char *host_sockets[SANDBOX_MAX_LIST]; /* --host-socket: host sockets kept visible */
	size_t n_host_sockets;
	char **command; /* after "--"; points into argv */
};

/*
 * Parses the helper's ARGV into OPTS. Returns 0, or -EINVAL with *cause set
 * (a usage error or malformed policy: exit SANDBOX_EXIT_USAGE).
 */
int sandbox_args_parse(int argc, char **argv, struct sandbox_opts *opts, char **cause);
void sandbox_args_free(struct sandbox_opts *opts);

/* ---- facts ---------------------------------------------------------------- */

enum sandbox_kind {
	SANDBOX_MISSING,
	SANDBOX_DIR,
	SANDBOX_FILE, /* a regular file */
	SANDBOX_SYMLINK,
	SANDBOX_OTHER, /* device, socket, fifo */
};

struct sandbox_fact {
	char *path;
	enum sandbox_kind kind;
	char *gitdir;  /* a `.git` file's "gitdir:" target, absolute; else NULL */
	bool readonly; /* a directory this user cannot create entries in (mode bits) */
};

/* What the plan may ask about the host's file system: a table of lstat results. */
struct sandbox_facts {
	struct sandbox_fact *v;
	size_t n, cap;
	/* Mount points of kernel file systems (proc, sysfs, devtmpfs, ...), from mountinfo. */
	char **kernel_mounts;
	size_t n_kernel_mounts;
	/* Bound Unix sockets of the host with a path (from /proc/net/unix), when the
	 * network is shared; and the host's IPC directories that exist. */
	char **host_sockets;
	size_t n_host_sockets;
	char **ipc_dirs;
	size_t n_ipc_dirs;
	/* Paths a git dir's own config points git at (core.hooksPath, include paths). */
	struct sandbox_git_ref {
		char *gitdir;
		char *path;
		bool dir; /* a hooks directory (covered when missing); else a config file */
	} * git_refs;
	size_t n_git_refs;
};

/* One path a git config points git at (sandbox-gitconfig.c). */
struct sandbox_gitconfig_ref {
	char *path; /* absolute, normalised; the caller frees it */
	bool dir;   /* core.hooksPath (a directory); else an included config file */
};

/*
 * Lists the gitlinks in GITDIR's index whose path under the worktree TOP
 * holds a `.git` directory (an embedded repository host git status enters):
 * *OUT (paths relative to TOP; caller frees each and the array), *N.
 * Returns 0, or -EINVAL when the index does not parse (sandbox-gitlinks.c).
 */
int sandbox_gitlinks_embedded(const char *gitdir, const char *top, char ***out, size_t *n);

/*
 * Reads GITDIR/config for the paths it points git at: core.hooksPath
 * (relative to the worktree's top) and include.path / includeIf.*.path
 * (relative to GITDIR). Fills at most MAX entries of OUT; returns how many.
 */
int sandbox_gitconfig_paths(const char *gitdir, struct sandbox_gitconfig_ref *out, size_t max);

/* Records (or replaces) what PATH is; GITDIR may be NULL. */
void sandbox_facts_set(struct sandbox_facts *f, const char *path, enum sandbox_kind kind,
                       const char *gitdir);
/* What PATH is; a path never recorded counts as missing. */
enum sandbox_kind sandbox_facts_kind(const struct sandbox_facts *f, const char *path);
/* Marks the directory PATH as one this user cannot create entries in. */
void sandbox_facts_set_readonly(struct sandbox_facts *f, const char *path);
/* True when PATH is a directory this user can create entries in (no capabilities). */
bool sandbox_facts_creatable(const struct sandbox_facts *f, const char *path);
/* Adds a copy of PATH to the list *V of *N, once. */
void sandbox_facts_list_add(char ***v, size_t *n, const char *path);
/* Records PATH as the mount point of a kernel file system (proc, sysfs, ...). */
void sandbox_facts_add_kernel_mount(struct sandbox_facts *f, const char *path);
/* True when a file system of type FSTYPE is one of the kernel's (its files are knobs). */
bool sandbox_facts_is_kernel_fs(const char *fstype);
/* The gitdir recorded for PATH, or NULL. */
const char *sandbox_facts_gitdir(const struct sandbox_facts *f, const char *path);
void sandbox_facts_free(struct sandbox_facts *f);

/* ---- the plan --------------------------------------------------------------- */

/* What the plan is made from, besides the facts. */
struct sandbox_plan_in {
	const struct policy_resolved *res;
	const char *command_cwd;
	const char *exe; /* this helper's absolute path, re-run inside */
	bool no_proc;
	bool hide_pid1; /* no Landlock here: cover /proc/1 (see sandbox-scope.c) */
	bool landlock;  /* the inner stage gets the writable roots for its Landlock write scope */
	enum sandbox_git_protection git;
	char *const *protected_paths;
	size_t n_protected_paths;
	char *const *protect_home;
	size_t n_protect_home;
	char *const *hide;
	size_t n_hide;
	char *const *keep_sockets; /* --host-socket: host sockets left visible */
	size_t n_keep_sockets;
	char *const *command; /* NULL-terminated */
};

struct sandbox_plan {
	char **argv; /* bubblewrap's argv without argv[0], NULL-terminated; owned */
	size_t argc, cap;
	/* Paths that do not exist now and that bubblewrap will create as mount
	 * points: removed after the run when still empty. Owned. */
	char **cleanup;
	size_t n_cleanup;
	/* The git directories the plan protects in place (pinned .git directories,
	 * gitdirs, submodule and worktree git dirs, bare roots), and the writable
	 * roots: what the check after the run skips and walks. Owned. */
	char **git_dirs;
	size_t n_git_dirs;
	char **write_roots;
	size_t n_write_roots;
};

/*
 * Fills FACTS with what the plan for IN will ask (lstat of every path it
 * names, the components of protected paths, `.git` files, .git/modules and
 * .git/worktrees listings). IN->res must be resolved already.
 */
void sandbox_facts_gather(struct sandbox_facts *facts, const struct sandbox_plan_in *in);

/*
 * Builds the exact bubblewrap argv for IN given FACTS, in SPEC order. Pure:
 * touches nothing on the host. Returns 0, or -EINVAL/-ELOOP with *cause set
 * when the policy asks for something the plan cannot enforce (fail closed).
 */
int sandbox_plan_build(const struct sandbox_plan_in *in, const struct sandbox_facts *facts,
                       struct sandbox_plan *plan, char **cause);
void sandbox_plan_free(struct sandbox_plan *plan);

/* ---- shared by facts and plan (internal) ------------------------------------ */

/* True when PATH is a direct child of DIR. */
bool sandbox__is_child(const char *dir, const char *path);
/* DIR "/" NAME, without a doubled slash; caller frees. */
char *sandbox__join(const char *dir, const char *name);
/*
 * The writable root PATH is under (the most specific entry of RES, when its
 * access is write and it is a directory per FACTS), or NULL.
 */
const char *sandbox__writable_root(const struct policy_resolved *res,
                                   const struct sandbox_facts *facts, const char *path);
/* What the plan does with one protected target. */
enum sandbox_target {
	SANDBOX_TARGET_RO,         /* read-only; its first missing component covered */
	SANDBOX_TARGET_RO_PRESENT, /* read-only when it exists; nothing when missing */
	SANDBOX_TARGET_RO_FILE,    /* read-only; a missing file covered by an empty
	                              read-only file wherever it is (a file git reads) */
	SANDBOX_TARGET_PIN,        /* stays writable, bound onto itself: it cannot be
	                              renamed, removed or replaced (a mount point) */
};

/* The callback of sandbox__protected_targets. */
typedef int (*sandbox_target_fn)(void *ctx, const char *path, bool dir, enum sandbox_target how,
                                 const char *root);

/*
 * Calls FN for every protected target of IN (protected names and git items
 * of every writable root, --protected-path, --protect-home) with the
 * writable root it lies under (or NULL), in the order their mounts must be
 * made. DIR says the target is covered as a directory when missing. Stops
 * at, and returns, FN's first nonzero result.
 */
int sandbox__protected_targets(const struct sandbox_plan_in *in, const struct sandbox_facts *facts,
                               sandbox_target_fn fn, void *ctx);

/* ---- covers: the mount points of missing protected paths (sandbox-covers.c) -- */

struct sandbox_cover {
	char *path;
	int fd; /* holds a shared flock while the sandbox runs */
	dev_t dev;
	ino_t ino;
	bool dir;
};

struct sandbox_covers {
	struct sandbox_cover *v;
	size_t n;
	char *journal; /* this run's journal file (what a SIGKILL would leave), or NULL */
};

/*
 * Makes PLAN's mount points (mode 0444 covers) and takes a shared lock on
 * every cover PLAN uses. Returns 0, or -EAGAIN when a cover vanished between
 * planning and locking (release, gather and plan again).
 */
int sandbox_covers_acquire(struct sandbox_covers *c, const struct sandbox_plan *plan);
/* Removes the covers no other sandbox holds, and unlocks all. */
void sandbox_covers_release(struct sandbox_covers *c);

/* ---- acting ------------------------------------------------------------------ */

/* Prints "airlock: MESSAGE" on stderr and exits with SANDBOX_EXIT_SETUP. */
void sandbox_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* The outer stage: plans and runs bubblewrap; returns the exit status to use. */
int sandbox_run(const struct sandbox_opts *opts, const char *exe);
/* The inner stage: checks it is inside, applies seccomp, execs. Never returns. */
void sandbox_inner_exec(const struct sandbox_opts *opts) __attribute__((noreturn));
/* The inner stage called by the vendored bubblewrap instead of an exec (sandbox-inner.c). */
void sandbox_inner_hook(char **argv);
/* Closes the descriptors above stderr an exec would close (close-on-exec ones). */
void sandbox_close_cloexec_fds(void);
/* Builds (does not load) the filter for NET: a scmp_filter_ctx in *out; 0 or -errno. */
int sandbox_seccomp_build(enum policy_net net, bool fs_restricted, void **out, char **cause);
/* Builds the filter for NET and writes it as raw BPF to FD; 0 or -errno. */
int sandbox_seccomp_export(enum policy_net net, bool fs_restricted, int fd, char **cause);
/* Reads raw BPF from FD (to EOF), sets NO_NEW_PRIVS and loads it; 0 or -errno. */
int sandbox_seccomp_load_fd(int fd, char **cause);
/* Installs NO_NEW_PRIVS and the seccomp filter for NET; returns 0 or -errno. */
int sandbox_seccomp_apply(enum policy_net net, bool fs_restricted, char **cause);
/* ---- the command's scope (sandbox-scope.c) --------------------------------- */

/* True when the kernel has Landlock, which sandbox_scope_enter() uses. */
bool sandbox_scope_available(void);
/*
 * Puts this process (and what it execs) in its Landlock domain: it cannot
 * ptrace, open the memory of or signal the sandbox's other processes, and
 * with a restricted file system (OPTS->inner_fs_restricted) it can write
 * only beneath OPTS->write_roots and a few device nodes. Without Landlock
 * (or with --no-landlock), checks that /proc/1 is hidden. Returns 0, or
 * -errno with *CAUSE set.
 */
int sandbox_scope_enter(const struct sandbox_opts *opts, char **cause);

/* The --use-legacy-landlock path: Landlock + seccomp, then exec. Never returns. */
void sandbox_landlock_exec(const struct sandbox_opts *opts) __attribute__((noreturn));

/* Sets the environment the command sees (AIRLOCK_SANDBOX=1 etc.). */
void sandbox_inner_setenv(enum policy_net net);

/* ---- after the run: planted git repositories (sandbox-gitcheck.c) ----------- */

#include <time.h> /* struct timespec */

#define SANDBOX_GITCHECK_MAX_ENTRIES    500000 /* directory entries read per scan */
#define SANDBOX_GITCHECK_MAX_DEPTH      64     /* directory levels below a root */
#define SANDBOX_GITCHECK_MAX_INCOMPLETE 16     /* "incomplete" reports per scan */
#define SANDBOX_GITCHECK_MAX_MOVED      8      /* names moved aside per report */

/* One git dir a command planted or changed, or one place the check could not cover. */
struct sandbox_gitcheck_report {
	char *path; /* the git dir, or the `.git` file/symlink; for incomplete: where */
	char *why;  /* what changed ("new, replaced or written to", "hooks/pre-commit changed",
	             * "commondir appeared in a protected git dir"), or why incomplete */
	char *moved[SANDBOX_GITCHECK_MAX_MOVED]; /* new absolute paths (NAME.airlock-moved-S) */
	size_t n_moved;
	char *error;     /* a rename that failed (the repository is NOT safe), or NULL */
	bool incomplete; /* the walk stopped or could not read PATH: not checked there */
};

struct sandbox_gitcheck_limits {
	size_t max_entries, max_depth, max_incomplete;
};

/*
 * Walks ROOTS (absolute directories) without following symlinks and reports
 * the git dirs whose `.git` entry (or own directory, for a bare or worktree
 * git dir), config, config.worktree, commondir, hooks or any hook file has a
 * ctime at or after SINCE (a CLOCK_REALTIME_COARSE time taken before the
 * run). Git dirs (or `.git` entries) listed in SKIP are the protected ones,
 * which git writes to freely: there only a code-running name that changed
 * counts, and only it is moved. Each reported git dir has those names
 * renamed to NAME.airlock-moved-<seconds> (a new `.git` file or symlink is
 * renamed itself); nothing is deleted, and empty files and directories
 * (harmless; a running sandbox's covers) are left alone.
 * Fills *OUT (free with sandbox_gitcheck_free) and *N_OUT, including
 * "incomplete" reports when a limit was hit. Returns 0, or -EINVAL for a
 * relative root.
 */
int sandbox_gitcheck_scan(char *const *roots, size_t n_roots, char *const *skip, size_t n_skip,
                          struct timespec since, struct sandbox_gitcheck_report **out,
                          size_t *n_out);
/* The same within LIM (tests and benchmarks). */
int sandbox_gitcheck_scan_limited(char *const *roots, size_t n_roots, char *const *skip,
                                  size_t n_skip, struct timespec since,
                                  const struct sandbox_gitcheck_limits *lim,
                                  struct sandbox_gitcheck_report **out, size_t *n_out);
/*
 * Prints each report as one "airlock: ..." line on stderr (terminal controls
 * escaped) and, when JSON_FD >= 0, as one line of JSON on JSON_FD for the
 * audit log: {"ts","kind":"git","path","reason","moved":[...]} plus "error"
 * and "incomplete" when set. Returns 0, or -errno when a JSON line failed.
 */
int sandbox_gitcheck_print(const struct sandbox_gitcheck_report *r, size_t n, int json_fd);
void sandbox_gitcheck_free(struct sandbox_gitcheck_report *r, size_t n);

#endif
