/*
 * `airlock doctor` in two halves: what was seen on this host (struct
 * doctor_facts, gathered by probing in tui/cmd-doctor.c) and what it means
 * (doctor_evaluate, a pure function from facts to one line per check, each
 * with a verdict and, when it fails, what to do on a host like this one).
 * The split lets the tests hand the second half made-up hosts: a chroot, a
 * container, a kernel with AppArmor's user namespace restriction.
 */
#ifndef AIRLOCK_DOCTOR_H
#define AIRLOCK_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* How far the user namespace probe got: the first step that failed, or OK. */
enum doctor_userns_step {
	DOCTOR_USERNS_OK,
	DOCTOR_USERNS_UNSHARE, /* unshare(CLONE_NEWUSER | CLONE_NEWNS) */
	DOCTOR_USERNS_MAP,     /* writing uid_map / gid_map */
	DOCTOR_USERNS_MOUNT,   /* a mount inside it (capabilities are real) */
	DOCTOR_USERNS_PROBE,   /* the probe itself could not run (fork, pipe) */
};

/* Everything doctor observed. Strings are borrowed; -1 means "no such thing here". */
struct doctor_facts {
	long uid;

	/* user namespaces */
	enum doctor_userns_step userns_step;
	int userns_errno;
	int chroot;                     /* 1: /proc/1/root is not /, 0: it is, -1: cannot tell */
	const char *container;          /* "docker", "podman", "lxc", ... or NULL */
	const char *container_evidence; /* e.g. "/.dockerenv" */
	long max_user_namespaces;       /* user.max_user_namespaces, or -1 */
	long unprivileged_userns_clone; /* kernel.unprivileged_userns_clone, or -1 */
	long apparmor_restrict;         /* kernel.apparmor_restrict_unprivileged_userns, or -1 */

	/* /proc */
	bool proc_mounted;
	int nested_proc; /* 1: a new proc mounts in a new pid namespace, 0: refused, -1: untried */
	int nested_proc_errno;

	/* seccomp */
	int seccomp_errno; /* 0: filters can be installed; else why not */
	int seccomp_mode;  /* PR_GET_SECCOMP of this process: 0 none, 2 already filtered */

	/* Landlock */
	int landlock_abi; /* >= 1, or 0 with landlock_errno */
	int landlock_errno;

	/* the helper */
	const char *helper;         /* the helper found, or NULL */
	bool helper_from_env;       /* it came from AIRLOCK_SANDBOX_EXE */
	const char *helper_tried;   /* where airlock looked (when not found) */
	const char *helper_default; /* the one airlock would use without AIRLOCK_SANDBOX_EXE */
	bool helper_identifies;     /* `HELPER --help` exits 0 and names airlock-sandbox */
	int helper_help_status;     /* its exit status (-1: could not run it) */
	int run_status;             /* `HELPER ... -- true`: exit status, -1 not run */
	const char *run_error;      /* its first stderr line, or NULL */
	int legacy_status;          /* `HELPER --use-legacy-landlock ... -- true`, -1 not run */
	const char *legacy_error;

	/* the audit log */
	const char *audit_path;        /* NULL: no place for it (no HOME) */
	const char *audit_failed_path; /* what could not be written, or NULL when all is well */
	int audit_errno;
	long audit_failed_owner; /* uid owning audit_failed_path, or -1 */

	/* the agent socket's directory */
	const char *socket_dir;
	bool socket_exists;
	bool socket_is_dir; /* a directory, not a symbolic link */
	long socket_owner;
	unsigned socket_mode;    /* permission bits */
	int socket_parent_errno; /* not there: 0 when it can be made, else why not */

	/* policy */
	const char *managed_path;
	bool managed_exists;

	bool legacy_requested; /* doctor --use-legacy-landlock: judge that sandbox */
};

enum doctor_verdict {
	DOCTOR_OK,
	DOCTOR_INFO,
	DOCTOR_WARN,
	DOCTOR_FAIL,
};

/* One line: which check, the verdict, what was seen and (when not ok) what to do. */
struct doctor_line {
	enum doctor_verdict verdict;
	const char *check;
	char *text;
};

struct doctor_report {
	struct doctor_line *lines;
	size_t n;
	bool can_sandbox; /* airlock can run a sandboxed command here: doctor exits 0 */
	char *summary;
};

/* Judges FACTS: fills REPORT (free with doctor_report_free). Pure: no probing. */
void doctor_evaluate(const struct doctor_facts *facts, struct doctor_report *report);
void doctor_report_free(struct doctor_report *report);

/* Prints REPORT, one line per check and the summary. */
void doctor_report_print(FILE *f, const struct doctor_report *report);

/* The line of check CHECK in REPORT, or NULL (for the tests). */
const struct doctor_line *doctor_report_find(const struct doctor_report *report, const char *check);

#endif
