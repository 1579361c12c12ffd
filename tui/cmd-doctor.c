/*
 * `airlock doctor`: is this host fit to sandbox, and if not, what exactly to
 * do about it here (SPEC section 1).
 *
 * Two halves (tui/doctor.h). doctor_gather probes: sysctls read from
 * /proc/sys only where they exist, a child process that tries what
 * bubblewrap will do (a user and mount namespace, its id maps, a mount, a
 * proc in a new pid namespace), seccomp and Landlock through their
 * syscalls, the helper asked for --help and then made to run `true` for
 * real, and the places the audit log and the agent socket will live, tried
 * without writing anything. doctor_evaluate turns those facts into one line
 * per check: no probing there, so the tests can feed it any host. The
 * remedies name only what this host has: a chroot, a container's runtime,
 * AppArmor's restriction, the sysctls that exist. Doctor changes nothing on
 * the host: every namespace and mount it makes dies with its probe child.
 */
#include "tui/cli.h"
#include "tui/doctor.h"

#include "core/agent-server.h"
#include "core/audit.h"
#include "core/sandbox-command.h"
#include "core/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define DOCTOR_MANAGED_POLICY "/etc/airlock/managed.json"
#define DOCTOR_PROC_MAGIC     0x9fa0 /* PROC_SUPER_MAGIC */
#define DOCTOR_RUN_TIMEOUT_MS 30000

/* ---- the pure half: facts to lines ---------------------------------------- */

/* Adds a line to R with the text made from FMT. */
static void __attribute__((format(printf, 4, 5)))
doctor__line(struct doctor_report *r, enum doctor_verdict v, const char *check, const char *fmt,
             ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		abort();
	va_end(ap);
	r->lines = xreallocarray(r->lines, r->n + 1, sizeof *r->lines);
	r->lines[r->n++] = (struct doctor_line){.verdict = v, .check = check, .text = text};
}

/* Appends FMT's text to *S (which may be NULL), separated by SEP when *S has text. */
static void __attribute__((format(printf, 3, 4)))
doctor__cat(char **s, const char *sep, const char *fmt, ...)
{
	va_list ap;
	char *add, *both;

	va_start(ap, fmt);
	if (vasprintf(&add, fmt, ap) < 0)
		abort();
	va_end(ap);
	if (*s == NULL) {
		*s = add;
		return;
	}
	both = xasprintf("%s%s%s", *s, sep, add);
	free(*s);
	free(add);
	*s = both;
}

/* The sysctls about user namespaces that exist here, with their values ("" if none). */
static char *doctor__userns_sysctls(const struct doctor_facts *f)
{
	char *s = NULL;

	if (f->max_user_namespaces >= 0)
		doctor__cat(&s, ", ", "user.max_user_namespaces = %ld", f->max_user_namespaces);
	if (f->unprivileged_userns_clone >= 0)
		doctor__cat(&s, ", ", "kernel.unprivileged_userns_clone = %ld",
		            f->unprivileged_userns_clone);
	if (f->apparmor_restrict >= 0)
		doctor__cat(&s, ", ", "kernel.apparmor_restrict_unprivileged_userns = %ld",
		            f->apparmor_restrict);
	return s != NULL ? s : xstrdup("");
}

/* What to do about a container runtime NAME that keeps user namespaces from us. */
static const char *doctor__container_remedy(const char *name)
{
	if (strcmp(name, "docker") == 0)
		return "start the container with `--security-opt seccomp=unconfined --security-opt "
		       "apparmor=unconfined` (Docker's default profiles refuse user namespaces and "
		       "mounts)";
	if (strcmp(name, "podman") == 0)
		return "start the container with `--security-opt seccomp=unconfined` (or run it "
		       "rootless, where nested user namespaces work)";
	if (strcmp(name, "lxc") == 0)
		return "allow nesting: `lxc config set CONTAINER security.nesting true`, then "
		       "restart it";
	if (strcmp(name, "kubernetes") == 0)
		return "give the pod a seccomp profile that allows unshare and clone with "
		       "CLONE_NEWUSER (e.g. `securityContext.seccompProfile.type: Unconfined`)";
	return "let the container create user namespaces (its seccomp profile must allow "
	       "unshare and clone with CLONE_NEWUSER)";
}

/* The user namespaces line. */
static void doctor__userns(const struct doctor_facts *f, struct doctor_report *r)
{
	static const char *const steps[] = {
	    [DOCTOR_USERNS_UNSHARE] = "unshare(CLONE_NEWUSER)",
	    [DOCTOR_USERNS_MAP] = "writing its uid/gid map",
	    [DOCTOR_USERNS_MOUNT] = "mounting inside it",
	    [DOCTOR_USERNS_PROBE] = "starting the probe",
	};
	char *sysctls = doctor__userns_sysctls(f), *seen = NULL, *fix = NULL;
	int e = f->userns_errno;
	bool root = f->uid == 0;

	if (f->userns_step == DOCTOR_USERNS_OK) {
		doctor__line(r, DOCTOR_OK, "user namespaces", "this user can create one%s%s%s",
		             *sysctls ? " (" : "", sysctls, *sysctls ? ")" : "");
		free(sysctls);
		return;
	}
	doctor__cat(&seen, "", "this user cannot create one: %s failed: %s", steps[f->userns_step],
	            strerror(e));
	if (f->chroot == 1) {
		doctor__cat(&seen, "; ", "this is a chroot");
		doctor__cat(
		    &fix, "; or ",
		    "the kernel refuses user namespaces to a chrooted process: run airlock "
		    "outside the chroot, or enter the tree with pivot_root instead of chroot "
		    "(e.g. `systemd-nspawn -D DIR`)");
	}
	if (f->container != NULL) {
		doctor__cat(&seen, "; ", "this is a %s container (%s)", f->container,
		            f->container_evidence != NULL ? f->container_evidence : "seen");
		/* In a chroot the chroot is the cause, whatever runs around it. */
		if (f->chroot != 1)
			doctor__cat(&fix, "; or ", "%s", doctor__container_remedy(f->container));
	}
	if (*sysctls)
		doctor__cat(&seen, "; ", "%s", sysctls);
	if (f->max_user_namespaces == 0)
		doctor__cat(&fix, "; or ", "as root: `sysctl -w user.max_user_namespaces=15000`");
	else if (f->max_user_namespaces > 0 && e == ENOSPC &&
	         f->userns_step == DOCTOR_USERNS_UNSHARE)
		doctor__cat(&fix, "; or ",
		            "this user has as many user namespaces as allowed: as root: `sysctl -w "
		            "user.max_user_namespaces=%ld`",
		            f->max_user_namespaces * 2);
	if (!root && f->unprivileged_userns_clone == 0)
		doctor__cat(&fix, "; or ",
		            "as root: `sysctl -w kernel.unprivileged_userns_clone=1`");
	if (!root && f->apparmor_restrict == 1)
		doctor__cat(
		    &fix, "; or ",
		    "as root: `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0` (or "
		    "an AppArmor profile for airlock-sandbox that allows `userns,`)");
	if (f->userns_step == DOCTOR_USERNS_UNSHARE && (e == EINVAL || e == ENOSYS))
		doctor__cat(
		    &fix, "; or ",
		    "this kernel has no user namespaces: use one built with CONFIG_USER_NS");
	if (f->userns_step == DOCTOR_USERNS_MAP && !f->proc_mounted)
		doctor__cat(&fix, "; or ", "mount /proc (see /proc)");
	/* Root refused with EPERM, no container seen: the kernel refuses user namespaces to
	 * a chrooted process, which a chroot with its own /proc (pid 1 inside) hides. */
	if (fix == NULL && root && e == EPERM && f->chroot != 1 && f->container == NULL)
		doctor__cat(&fix, "",
		            "if this is a chroot (the kernel refuses user namespaces to a "
		            "chrooted process, even root): run airlock outside it, or enter the "
		            "tree with pivot_root instead (e.g. `systemd-nspawn -D DIR`); else "
		            "find what refuses it (a seccomp profile or a security module around "
		            "this process)");
	if (fix == NULL)
		doctor__cat(&fix, "",
		            "find what refuses it on this host (a seccomp profile or a "
		            "security module around this process)");
	if (f->landlock_abi > 0)
		doctor__cat(&fix, "; or ",
		            "run airlock with `--use-legacy-landlock -s read-only -n off` "
		            "(Landlock ABI %d is here)",
		            f->landlock_abi);
	doctor__line(r, DOCTOR_FAIL, "user namespaces", "%s; to fix: %s", seen, fix);
	free(seen);
	free(fix);
	free(sysctls);
}

/* The /proc line. */
static void doctor__proc(const struct doctor_facts *f, struct doctor_report *r)
{
	if (!f->proc_mounted) {
		doctor__line(r, DOCTOR_FAIL, "/proc",
		             "not mounted at /proc; to fix: as root: `mount -t proc proc /proc`");
		return;
	}
	if (f->nested_proc == 1) {
		doctor__line(r, DOCTOR_OK, "/proc",
		             "mounted; a new proc mounts in a new pid namespace");
		return;
	}
	if (f->nested_proc < 0) {
		doctor__line(
		    r, DOCTOR_INFO, "/proc",
		    "mounted; a nested proc was not tried (no user namespace to try it in)");
		return;
	}
	const char *fix = "unmount what covers parts of the host's /proc";
	if (f->container != NULL && strcmp(f->container, "docker") == 0)
		fix = "start the container with `--security-opt systempaths=unconfined`";
	else if (f->container != NULL && strcmp(f->container, "podman") == 0)
		fix = "start the container with `--security-opt unmask=ALL`";
	doctor__line(r, DOCTOR_WARN, "/proc",
	             "mounted, but a nested proc is refused (%s): sandboxed commands get an empty "
	             "/proc instead (airlock does that on its own); to give them one: %s",
	             strerror(f->nested_proc_errno), fix);
}

/* The seccomp line. */
static void doctor__seccomp(const struct doctor_facts *f, struct doctor_report *r)
{
	if (f->seccomp_errno == 0) {
		doctor__line(r, DOCTOR_OK, "seccomp", "filters can be installed%s",
		             f->seccomp_mode == 2 ? " (this process is already filtered: airlock's "
		                                    "filter stacks on that one)"
		                                  : "");
		return;
	}
	doctor__line(r, DOCTOR_FAIL, "seccomp",
	             "no seccomp filters (%s); to fix: use a kernel built with "
	             "CONFIG_SECCOMP_FILTER",
	             strerror(f->seccomp_errno));
}

/* What to do to get Landlock, from the errno of its version query. */
static const char *doctor__landlock_remedy(int e)
{
	if (e == EOPNOTSUPP)
		return "Landlock is built in but off: add landlock to the kernel's lsm= boot "
		       "parameter";
	return "use a kernel built with CONFIG_SECURITY_LANDLOCK (Linux 5.13 or later)";
}

/* The Landlock line, with the fallback airlock would use. */
static void doctor__landlock(const struct doctor_facts *f, struct doctor_report *r)
{
	bool userns = f->userns_step == DOCTOR_USERNS_OK;

	if (f->landlock_abi > 0 && userns)
		doctor__line(
		    r, DOCTOR_OK, "Landlock",
		    "ABI %d: sandboxed commands also enter a Landlock domain; without user "
		    "namespaces the fallback would be --use-legacy-landlock",
		    f->landlock_abi);
	else if (f->landlock_abi > 0)
		doctor__line(
		    r, DOCTOR_OK, "Landlock",
		    "ABI %d: user namespaces are unavailable, so airlock's fallback here is "
		    "--use-legacy-landlock (Landlock + seccomp, no bubblewrap; it refuses what "
		    "Landlock cannot enforce, so with -s read-only and -n off or on)",
		    f->landlock_abi);
	else if (userns)
		doctor__line(r, DOCTOR_WARN, "Landlock",
		             "unavailable (%s): bubblewrap alone keeps writes in; no "
		             "--use-legacy-landlock fallback; to add it: %s",
		             strerror(f->landlock_errno),
		             doctor__landlock_remedy(f->landlock_errno));
	else
		doctor__line(
		    r, DOCTOR_FAIL, "Landlock",
		    "unavailable (%s), and so is the --use-legacy-landlock fallback; to fix: "
		    "%s, or make user namespaces available",
		    strerror(f->landlock_errno), doctor__landlock_remedy(f->landlock_errno));
}

/* True when F's helper can be run at all. */
static bool doctor__helper_usable(const struct doctor_facts *f)
{
	return f->helper != NULL && f->helper_identifies;
}

/* What to do about a helper that is missing or not airlock's. */
static char *doctor__helper_remedy(const struct doctor_facts *f)
{
	if (f->helper_from_env && f->helper_default != NULL)
		return xasprintf(
		    "point AIRLOCK_SANDBOX_EXE at airlock-sandbox, or unset it (airlock "
		    "then uses %s)",
		    f->helper_default);
	if (f->helper_from_env)
		return xstrdup(
		    "point AIRLOCK_SANDBOX_EXE at airlock-sandbox (built next to airlock "
		    "by `make`, installed under libexecdir by `make install`)");
	return xstrdup("build it (`make` puts it next to airlock) or reinstall airlock, or set "
	               "AIRLOCK_SANDBOX_EXE to its path");
}

/* The helper line and the line of the real runs. */
static void doctor__helper(const struct doctor_facts *f, struct doctor_report *r)
{
	const char *from = f->helper_from_env ? " (from AIRLOCK_SANDBOX_EXE)" : "";
	char *fix;

	if (f->helper == NULL) {
		fix = doctor__helper_remedy(f);
		doctor__line(
		    r, DOCTOR_FAIL, "helper",
		    "airlock-sandbox not found or not executable (looked at %s); to fix: %s",
		    f->helper_tried != NULL ? f->helper_tried : "nowhere", fix);
		free(fix);
	} else if (!f->helper_identifies) {
		fix = doctor__helper_remedy(f);
		if (f->helper_help_status < 0)
			doctor__line(r, DOCTOR_FAIL, "helper", "%s%s cannot be run; to fix: %s",
			             f->helper, from, fix);
		else
			doctor__line(
			    r, DOCTOR_FAIL, "helper",
			    "%s%s is not airlock-sandbox (`%s --help` exited %d); to fix: %s",
			    f->helper, from, f->helper, f->helper_help_status, fix);
		free(fix);
	} else {
		doctor__line(r, DOCTOR_OK, "helper", "%s%s", f->helper, from);
	}

	if (!doctor__helper_usable(f)) {
		doctor__line(r, DOCTOR_FAIL, "bubblewrap",
		             "not tried: no usable helper (see helper)");
	} else if (f->run_status == 0) {
		doctor__line(r, DOCTOR_OK, "bubblewrap",
		             "`airlock-sandbox ... -- true` ran in a read-only sandbox");
	} else {
		const char *err = f->run_error != NULL ? f->run_error : "(nothing on stderr)";
		if (f->userns_step != DOCTOR_USERNS_OK)
			fix = xstrdup("make user namespaces available (see user namespaces)");
		else if (!f->proc_mounted)
			fix = xstrdup("mount /proc (see /proc)");
		else if (f->seccomp_errno != 0)
			fix = xstrdup("see seccomp");
		else
			fix = xasprintf("run it by hand to see more: `%s --sandbox-policy-cwd / "
			                "--sandbox-policy '{\"type\":\"read-only\"}' -- true`",
			                f->helper);
		doctor__line(r, DOCTOR_FAIL, "bubblewrap",
		             "`airlock-sandbox ... -- true` exited %d: %s; to fix: %s",
		             f->run_status, err, fix);
		free(fix);
	}

	if (f->legacy_status == 0)
		doctor__line(r, DOCTOR_OK, "legacy Landlock",
		             "`airlock-sandbox --use-legacy-landlock ... -- true` ran: airlock can "
		             "sandbox here with --use-legacy-landlock");
	else if (f->legacy_status > 0)
		doctor__line(r, DOCTOR_FAIL, "legacy Landlock",
		             "`airlock-sandbox --use-legacy-landlock ... -- true` exited %d: %s%s",
		             f->legacy_status,
		             f->legacy_error != NULL ? f->legacy_error : "(nothing on stderr)",
		             f->landlock_abi > 0 ? "" : "; to fix: see Landlock");
}

/* The audit log line. */
static void doctor__audit(const struct doctor_facts *f, struct doctor_report *r)
{
	const char *fix;
	char *owned = NULL;
	int e = f->audit_errno;

	if (f->audit_path == NULL) {
		doctor__line(r, DOCTOR_FAIL, "audit log",
		             "no place for it (HOME is not set); to fix: set HOME or AIRLOCK_HOME");
		return;
	}
	if (f->audit_failed_path == NULL) {
		doctor__line(r, DOCTOR_OK, "audit log", "%s can be appended to", f->audit_path);
		return;
	}
	if (e == EROFS)
		fix = "the file system is read-only: set AIRLOCK_HOME (or XDG_STATE_HOME) to a "
		      "writable directory";
	else if ((e == EACCES || e == EPERM) && f->audit_failed_owner == f->uid)
		fix = owned = xasprintf("it is yours: `chmod u+w %s`, or set AIRLOCK_HOME to "
		                        "another directory of yours",
		                        f->audit_failed_path);
	else if (e == EACCES || e == EPERM)
		fix = "it is not yours: set AIRLOCK_HOME (or XDG_STATE_HOME) to a directory of "
		      "yours";
	else
		fix = "set AIRLOCK_HOME (or XDG_STATE_HOME) to a writable directory";
	doctor__line(r, DOCTOR_FAIL, "audit log",
	             "%s: %s: nothing runs while %s cannot be written; to fix: %s",
	             f->audit_failed_path, strerror(e), f->audit_path, fix);
	free(owned);
}

/* The agent socket's directory line: only the TUI's agent socket depends on it. */
static void doctor__socket(const struct doctor_facts *f, struct doctor_report *r)
{
	const char *d = f->socket_dir;

	if (d == NULL)
		return;
	if (!f->socket_exists) {
		if (f->socket_parent_errno == 0)
			doctor__line(r, DOCTOR_OK, "agent socket", "%s will be made (mode 0700)",
			             d);
		else
			doctor__line(
			    r, DOCTOR_WARN, "agent socket",
			    "%s cannot be made (%s): the TUI will have no agent socket; to "
			    "fix: set XDG_RUNTIME_DIR to a directory of yours",
			    d, strerror(f->socket_parent_errno));
	} else if (!f->socket_is_dir || f->socket_owner != f->uid) {
		if (!f->socket_is_dir)
			doctor__line(
			    r, DOCTOR_WARN, "agent socket",
			    "%s is not a directory (a symbolic link or a file): the TUI will "
			    "have no agent socket; to fix: remove it, or set XDG_RUNTIME_DIR "
			    "to a directory of yours",
			    d);
		else
			doctor__line(
			    r, DOCTOR_WARN, "agent socket",
			    "%s belongs to uid %ld, not to you (uid %ld): the TUI will have "
			    "no agent socket; to fix: set XDG_RUNTIME_DIR to a directory of "
			    "yours (or as root: `rm -r %s`)",
			    d, f->socket_owner, f->uid, d);
	} else if (f->socket_mode != 0700) {
		doctor__line(r, DOCTOR_WARN, "agent socket",
		             "%s has mode %04o, airlock wants 0700 and will not use it: to fix: "
		             "`chmod 700 %s`",
		             d, f->socket_mode, d);
	} else {
		doctor__line(r, DOCTOR_OK, "agent socket", "%s is yours, mode 0700", d);
	}
}

void doctor_evaluate(const struct doctor_facts *f, struct doctor_report *r)
{
	bool audit_ok = f->audit_path != NULL && f->audit_failed_path == NULL;

	memset(r, 0, sizeof *r);
	doctor__userns(f, r);
	doctor__proc(f, r);
	doctor__seccomp(f, r);
	doctor__landlock(f, r);
	doctor__helper(f, r);
	doctor__audit(f, r);
	doctor__socket(f, r);
	if (f->managed_exists)
		doctor__line(r, DOCTOR_INFO, "managed policy",
		             "%s exists: an administrator's policy is in force", f->managed_path);
	else
		doctor__line(r, DOCTOR_INFO, "managed policy", "none (%s does not exist)",
		             f->managed_path);

	bool bwrap_ok = doctor__helper_usable(f) && f->run_status == 0;
	bool legacy_ok = doctor__helper_usable(f) && f->legacy_status == 0;
	r->can_sandbox = audit_ok && (f->legacy_requested ? legacy_ok : bwrap_ok);
	if (r->can_sandbox)
		r->summary = xstrdup(f->legacy_requested
		                         ? "airlock can sandbox here with --use-legacy-landlock"
		                         : "airlock can sandbox here");
	else if (!f->legacy_requested && legacy_ok && audit_ok)
		r->summary =
		    xstrdup("airlock cannot sandbox here with bubblewrap, but can with "
		            "--use-legacy-landlock (`airlock doctor --use-legacy-landlock` "
		            "checks that way)");
	else
		r->summary = xstrdup("airlock cannot sandbox here: fix the FAIL lines above");
}

void doctor_report_free(struct doctor_report *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->lines[i].text);
	free(r->lines);
	free(r->summary);
	memset(r, 0, sizeof *r);
}

void doctor_report_print(FILE *f, const struct doctor_report *r)
{
	static const char *const words[] = {
	    [DOCTOR_OK] = "ok",
	    [DOCTOR_INFO] = "info",
	    [DOCTOR_WARN] = "warn",
	    [DOCTOR_FAIL] = "FAIL",
	};

	for (size_t i = 0; i < r->n; i++)
		fprintf(f, "%-4s  %s: %s\n", words[r->lines[i].verdict], r->lines[i].check,
		        r->lines[i].text);
	fprintf(f, "%s\n", r->summary);
}

const struct doctor_line *doctor_report_find(const struct doctor_report *r, const char *check)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->lines[i].check, check) == 0)
			return &r->lines[i];
	return NULL;
}

/* ---- the probing half ------------------------------------------------------ */

/* What the probes found, owning the strings doctor_facts borrows. */
struct doctor__host {
	struct doctor_facts f;
	char container[64];
	char *helper, *helper_tried, *helper_default, *run_error, *legacy_error;
	char *audit_path, *audit_failed_path, *socket_dir;
};

/* The number in /proc/sys file PATH, or -1 when there is no such sysctl here. */
static long doctor__sysctl(const char *path)
{
	FILE *fp = fopen(path, "re");
	long v = -1;

	if (fp == NULL)
		return -1;
	if (fscanf(fp, "%ld", &v) != 1)
		v = -1;
	fclose(fp);
	return v;
}

/* Reads up to SIZE-1 bytes of PATH into BUF; returns the length, or -1. */
static ssize_t doctor__read(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* Reads the link /proc/PID/ns/mnt into BUF; returns its length or -1. */
static ssize_t doctor__mntns(const char *pid, char *buf, size_t size)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/%s/ns/mnt", pid);
	return readlink(path, buf, size);
}

/*
 * Whether / is not the root of pid 1 (a chroot): 1, 0, or -1 when it cannot
 * be told. Another directory is a chroot; the same directory mounted again
 * (a bind of the host's /) is one too when pid 1 shares our mount namespace.
 */
static int doctor__chroot(void)
{
	struct statx self, init;
	char a[64], b[64];
	ssize_t na, nb;

	if (statx(AT_FDCWD, "/", 0, STATX_INO | STATX_MNT_ID, &self) != 0 ||
	    statx(AT_FDCWD, "/proc/1/root/", 0, STATX_INO | STATX_MNT_ID, &init) != 0)
		return -1;
	if (self.stx_dev_major != init.stx_dev_major || self.stx_dev_minor != init.stx_dev_minor ||
	    self.stx_ino != init.stx_ino)
		return 1;
	na = doctor__mntns("self", a, sizeof a);
	nb = doctor__mntns("1", b, sizeof b);
	if (na > 0 && na == nb && memcmp(a, b, (size_t)na) == 0 &&
	    (self.stx_mask & init.stx_mask & STATX_MNT_ID) != 0 &&
	    self.stx_mnt_id != init.stx_mnt_id)
		return 1;
	return 0;
}

/* Names the container runtime around this process, if any, in H. */
static void doctor__container(struct doctor__host *h)
{
	static const struct {
		const char *needle, *name;
	} cgroups[] = {{"docker", "docker"},
	               {"libpod", "podman"},
	               {"kubepods", "kubernetes"},
	               {"containerd", "containerd"},
	               {"lxc", "lxc"}};
	char buf[4096];
	ssize_t n;

	if (access("/.dockerenv", F_OK) == 0) {
		snprintf(h->container, sizeof h->container, "docker");
		h->f.container_evidence = "/.dockerenv";
	} else if (access("/run/.containerenv", F_OK) == 0) {
		snprintf(h->container, sizeof h->container, "podman");
		h->f.container_evidence = "/run/.containerenv";
	} else if (doctor__read("/run/systemd/container", buf, sizeof buf) > 0) {
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(h->container, sizeof h->container, "%.63s", buf);
		h->f.container_evidence = "/run/systemd/container";
	} else if ((n = doctor__read("/proc/1/environ", buf, sizeof buf)) > 0) {
		for (char *p = buf; p < buf + n; p += strlen(p) + 1) {
			if (strncmp(p, "container=", 10) == 0 && p[10] != '\0') {
				snprintf(h->container, sizeof h->container, "%.63s", p + 10);
				h->f.container_evidence = "pid 1's environment";
				break;
			}
		}
	}
	if (h->container[0] == '\0' && doctor__read("/proc/self/cgroup", buf, sizeof buf) > 0) {
		for (size_t i = 0; i < sizeof cgroups / sizeof cgroups[0]; i++) {
			if (strstr(buf, cgroups[i].needle) != NULL) {
				snprintf(h->container, sizeof h->container, "%s", cgroups[i].name);
				h->f.container_evidence = "/proc/self/cgroup";
				break;
			}
		}
	}
	if (h->container[0] != '\0')
		h->f.container = h->container;
}

/* What the probe child reports through its pipe. */
struct doctor__probe {
	int step, err;
	int nested_proc, nested_err;
};

/* Writes TEXT to /proc/self/FILE; returns 0 or an errno. */
static int doctor__proc_write(const char *file, const char *text)
{
	char path[64];
	int fd, e = 0;

	snprintf(path, sizeof path, "/proc/self/%s", file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (write(fd, text, strlen(text)) < 0)
		e = errno;
	close(fd);
	return e;
}

/* In the probe child: tries a proc in a new pid namespace; fills P's nested fields. */
static void doctor__probe_proc(struct doctor__probe *p)
{
	int status;
	pid_t pid;

	p->nested_proc = 0;
	if (unshare(CLONE_NEWPID) != 0) {
		p->nested_err = errno;
		return;
	}
	pid = fork();
	if (pid < 0) {
		p->nested_err = errno;
		return;
	}
	if (pid == 0) {
		/* pid 1 of the new namespace: its own proc over /proc, in this mount namespace
		 * only. */
		if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
			_exit(errno > 0 && errno < 255 ? errno : 255);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			p->nested_err = errno;
			return;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		p->nested_proc = 1;
	else
		p->nested_err = WIFEXITED(status) ? WEXITSTATUS(status) : EINTR;
}

/* The probe child: what bubblewrap will need, step by step; never returns. */
static void __attribute__((noreturn)) doctor__probe_child(int fd, uid_t uid, gid_t gid)
{
	struct doctor__probe p = {.step = DOCTOR_USERNS_OK, .nested_proc = -1};
	char map[64];
	int e;

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
		p.step = DOCTOR_USERNS_UNSHARE;
		p.err = errno;
		goto out;
	}
	snprintf(map, sizeof map, "0 %lu 1\n", (unsigned long)uid);
	e = doctor__proc_write("uid_map", map);
	if (e == 0) {
		e = doctor__proc_write("setgroups", "deny");
		if (e == ENOENT)
			e = 0;
	}
	snprintf(map, sizeof map, "0 %lu 1\n", (unsigned long)gid);
	if (e == 0)
		e = doctor__proc_write("gid_map", map);
	if (e != 0) {
		p.step = DOCTOR_USERNS_MAP;
		p.err = e;
		goto out;
	}
	/* A capability that only a working user namespace gives. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
		p.step = DOCTOR_USERNS_MOUNT;
		p.err = errno;
		goto out;
	}
	doctor__probe_proc(&p);
out:
	if (write(fd, &p, sizeof p) != (ssize_t)sizeof p)
		_exit(1);
	_exit(0);
}

/* Runs the user namespace and nested proc probes in a child; fills F. */
static void doctor__probe_userns(struct doctor_facts *f)
{
	struct doctor__probe p = {.step = DOCTOR_USERNS_PROBE, .nested_proc = -1};
	int fds[2], status;
	pid_t pid;

	f->nested_proc = -1;
	if (pipe2(fds, O_CLOEXEC) != 0) {
		f->userns_step = DOCTOR_USERNS_PROBE;
		f->userns_errno = errno;
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		doctor__probe_child(fds[1], getuid(), getgid());
	}
	close(fds[1]);
	if (pid < 0) {
		p.err = errno;
	} else {
		if (read(fds[0], &p, sizeof p) != (ssize_t)sizeof p) {
			p.step = DOCTOR_USERNS_PROBE;
			p.err = EPIPE;
		}
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	close(fds[0]);
	f->userns_step = (enum doctor_userns_step)p.step;
	f->userns_errno = p.err;
	if (p.step == DOCTOR_USERNS_OK) {
		f->nested_proc = p.nested_proc;
		f->nested_proc_errno = p.nested_err;
	}
}

/* seccomp: can a filter be installed here, and is this process filtered already. */
static void doctor__probe_seccomp(struct doctor_facts *f)
{
	__u32 action = SECCOMP_RET_ERRNO;

	f->seccomp_errno = 0;
	if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) != 0)
		f->seccomp_errno = errno;
	int mode = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
	f->seccomp_mode = mode < 0 ? 0 : mode;
}

/* Landlock's ABI version, or 0 with the errno. */
static void doctor__probe_landlock(struct doctor_facts *f)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	f->landlock_abi = abi > 0 ? (int)abi : 0;
	f->landlock_errno = abi > 0 ? 0 : errno;
}

/*
 * Runs ARGV with stdin and stdout on /dev/null (stdout into OUT when OUT is
 * not NULL), its stderr read back; gives up after DOCTOR_RUN_TIMEOUT_MS.
 * Returns its exit status (128+N for a signal), or -1 when it could not
 * start. *LAST gets the last non-empty line of what it said (stderr, then
 * stdout when OUT is asked for), or NULL.
 */
static int doctor__run(char *const argv[], char **out, char **last)
{
	int errp[2], outp[2] = {-1, -1}, status = -1;
	char buf[4096];
	char *text = NULL;
	size_t len = 0;
	pid_t pid;

	*last = NULL;
	if (out != NULL)
		*out = NULL;
	if (pipe2(errp, O_CLOEXEC) != 0)
		return -1;
	if (out != NULL && pipe2(outp, O_CLOEXEC) != 0) {
		close(errp[0]);
		close(errp[1]);
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null < 0 || dup2(null, 0) < 0 || dup2(out != NULL ? outp[1] : null, 1) < 0 ||
		    dup2(errp[1], 2) < 0)
			_exit(126);
		execve(argv[0], argv, environ);
		_exit(126);
	}
	close(errp[1]);
	if (outp[1] >= 0)
		close(outp[1]);
	if (pid < 0) {
		close(errp[0]);
		if (outp[0] >= 0)
			close(outp[0]);
		return -1;
	}
	/* Both pipes to their end (or the time limit), stderr's bytes first in TEXT. */
	struct pollfd pf[2] = {{.fd = errp[0], .events = POLLIN},
	                       {.fd = outp[0], .events = POLLIN}};
	char *outtext = NULL;
	size_t outlen = 0;
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (pf[0].fd >= 0 || pf[1].fd >= 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		long left = DOCTOR_RUN_TIMEOUT_MS - ((now.tv_sec - t0.tv_sec) * 1000 +
		                                     (now.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		if (poll(pf, 2, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			kill(pid, SIGKILL);
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (pf[i].fd < 0 || pf[i].revents == 0)
				continue;
			ssize_t n = read(pf[i].fd, buf, sizeof buf);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(pf[i].fd);
				pf[i].fd = -1;
				continue;
			}
			char **t = i == 0 ? &text : &outtext;
			size_t *l = i == 0 ? &len : &outlen;
			if (*l < 65536) {
				*t = xrealloc(*t, *l + (size_t)n + 1);
				memcpy(*t + *l, buf, (size_t)n);
				*l += (size_t)n;
				(*t)[*l] = '\0';
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (pf[i].fd >= 0)
			close(pf[i].fd);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	/* The last non-empty line: the helper's one `airlock: ...` line when it fails. */
	for (char *src = text != NULL ? text : outtext; src != NULL && *last == NULL;
	     src = src == text ? outtext : NULL) {
		char *end = src + strlen(src);
		while (end > src && (end[-1] == '\n' || end[-1] == ' '))
			end--;
		if (end == src)
			continue;
		char *start = end;
		while (start > src && start[-1] != '\n')
			start--;
		*last = xstrndup(start, (size_t)(end - start));
	}
	free(text);
	if (out != NULL)
		*out = outtext;
	else
		free(outtext);
	return status;
}

/* Runs `true` through HELPER as airlock exec would, legacy Landlock or not. */
static int doctor__run_true(const char *helper, bool legacy, char **err)
{
	char *policy = sandbox_command_policy("read-only", NULL, 0, false);
	char *cmd[] = {"true", NULL};
	struct sandbox_command sc = {
	    .helper = helper,
	    .cwd = "/",
	    .policy_json = policy,
	    .legacy_landlock = legacy,
	    .argv = cmd,
	};
	char **argv = sandbox_command_argv(&sc);
	int status = doctor__run(argv, NULL, err);

	sandbox_command_argv_free(argv);
	free(policy);
	return status;
}

/* The helper airlock would use without AIRLOCK_SANDBOX_EXE, or NULL. */
static char *doctor__default_helper(void)
{
	const char *env = getenv("AIRLOCK_SANDBOX_EXE");
	char *saved = env != NULL ? xstrdup(env) : NULL, *tried = NULL, *found;

	unsetenv("AIRLOCK_SANDBOX_EXE");
	found = sandbox_command_helper(&tried);
	if (saved != NULL)
		setenv("AIRLOCK_SANDBOX_EXE", saved, 1);
	free(saved);
	free(tried);
	return found;
}

/* Finds the helper, asks it who it is, and runs `true` through it for real. */
static void doctor__probe_helper(struct doctor__host *h)
{
	struct doctor_facts *f = &h->f;
	const char *env = getenv("AIRLOCK_SANDBOX_EXE");
	char *out = NULL, *last = NULL;

	f->run_status = -1;
	f->legacy_status = -1;
	f->helper_help_status = -1;
	f->helper_from_env = env != NULL && *env != '\0';
	h->helper = sandbox_command_helper(&h->helper_tried);
	f->helper = h->helper;
	f->helper_tried = h->helper_tried;
	if (f->helper_from_env) {
		h->helper_default = doctor__default_helper();
		f->helper_default = h->helper_default;
	}
	if (h->helper == NULL)
		return;
	char *help[] = {h->helper, "--help", NULL};
	f->helper_help_status = doctor__run(help, &out, &last);
	f->helper_identifies =
	    f->helper_help_status == 0 && out != NULL && strstr(out, "airlock-sandbox") != NULL;
	free(out);
	free(last);
	if (!f->helper_identifies)
		return;
	f->run_status = doctor__run_true(h->helper, false, &h->run_error);
	f->run_error = h->run_error;
	if (f->legacy_requested || (f->userns_step != DOCTOR_USERNS_OK && f->landlock_abi > 0)) {
		f->legacy_status = doctor__run_true(h->helper, true, &h->legacy_error);
		f->legacy_error = h->legacy_error;
	}
}

/* PATH's nearest existing ancestor directory (PATH itself included); caller frees. */
static char *doctor__existing_ancestor(const char *path)
{
	char *p = xstrdup(path);
	struct stat st;

	while (stat(p, &st) != 0) {
		char *slash = strrchr(p, '/');
		if (slash == NULL || slash == p) {
			free(p);
			return xstrdup("/");
		}
		*slash = '\0';
	}
	return p;
}

/* Whether a file can be made at (or under) PATH: 0, or an errno with *WHERE (owned). */
static int doctor__can_make(const char *path, char **where)
{
	char *dir = doctor__existing_ancestor(path);

	if (access(dir, W_OK | X_OK) != 0) {
		*where = dir;
		return errno;
	}
	free(dir);
	return 0;
}

/* The audit log: its file appendable, or its directory writable, without writing. */
static void doctor__probe_audit(struct doctor__host *h)
{
	struct doctor_facts *f = &h->f;
	struct stat st;

	h->audit_path = audit_default_path();
	f->audit_path = h->audit_path;
	f->audit_failed_owner = -1;
	if (h->audit_path == NULL)
		return;
	if (lstat(h->audit_path, &st) == 0) {
		/* O_APPEND without O_TRUNC or a write: the log stays as it is. */
		int fd = open(h->audit_path,
		              O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
		if (fd < 0) {
			f->audit_errno = errno;
			h->audit_failed_path = xstrdup(h->audit_path);
			f->audit_failed_owner = (long)st.st_uid;
		} else {
			close(fd);
		}
	} else {
		char *dir = xstrdup(h->audit_path);
		char *slash = strrchr(dir, '/');
		if (slash != NULL && slash != dir)
			*slash = '\0';
		f->audit_errno = doctor__can_make(dir, &h->audit_failed_path);
		free(dir);
		if (h->audit_failed_path != NULL && stat(h->audit_failed_path, &st) == 0)
			f->audit_failed_owner = (long)st.st_uid;
	}
	f->audit_failed_path = h->audit_failed_path;
}

/* The agent socket's directory: there and ours at 0700, or makeable. */
static void doctor__probe_socket(struct doctor__host *h)
{
	struct doctor_facts *f = &h->f;
	char *where = NULL;
	struct stat st;

	h->socket_dir = agent_server_default_dir();
	f->socket_dir = h->socket_dir;
	if (h->socket_dir == NULL)
		return;
	if (lstat(h->socket_dir, &st) == 0) {
		f->socket_exists = true;
		f->socket_is_dir = S_ISDIR(st.st_mode);
		f->socket_owner = (long)st.st_uid;
		f->socket_mode = st.st_mode & 07777;
		return;
	}
	f->socket_parent_errno = doctor__can_make(h->socket_dir, &where);
	free(where);
}

/* Probes this host into H. */
static void doctor_gather(struct doctor__host *h, bool legacy)
{
	struct doctor_facts *f = &h->f;
	struct statfs sfs;

	f->legacy_requested = legacy;
	f->uid = (long)getuid();
	f->chroot = doctor__chroot();
	doctor__container(h);
	f->max_user_namespaces = doctor__sysctl("/proc/sys/user/max_user_namespaces");
	f->unprivileged_userns_clone = doctor__sysctl("/proc/sys/kernel/unprivileged_userns_clone");
	f->apparmor_restrict =
	    doctor__sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
	f->proc_mounted = statfs("/proc", &sfs) == 0 && sfs.f_type == DOCTOR_PROC_MAGIC;
	doctor__probe_userns(f);
	doctor__probe_seccomp(f);
	doctor__probe_landlock(f);
	doctor__probe_helper(h);
	doctor__probe_audit(h);
	doctor__probe_socket(h);
	f->managed_path = DOCTOR_MANAGED_POLICY;
	f->managed_exists = access(DOCTOR_MANAGED_POLICY, F_OK) == 0;
}

/* Frees what H owns. */
static void doctor__host_free(struct doctor__host *h)
{
	free(h->helper);
	free(h->helper_tried);
	free(h->helper_default);
	free(h->run_error);
	free(h->legacy_error);
	free(h->audit_path);
	free(h->audit_failed_path);
	free(h->socket_dir);
}

static const char doctor__usage[] =
    "Usage: airlock doctor [--use-legacy-landlock]\n"
    "\n"
    "Checks this host for what the sandbox needs: user namespaces, /proc, seccomp,\n"
    "Landlock, the helper and a real sandboxed run of `true`, the audit log and the\n"
    "agent socket's directory. One line per check; a failed one says what to do here.\n"
    "\n"
    "      --use-legacy-landlock     judge the Landlock + seccomp sandbox instead of\n"
    "                                bubblewrap\n"
    "  -h, --help                    this help\n"
    "\n"
    "Exit status: 0 when airlock can sandbox here, 1 when it cannot, 2 on a usage\n"
    "error.\n";

/*
 * One line on the managed policy (SPEC 11): in force (and what it binds),
 * absent, or one that stops airlock (FAIL, with why). Returns false then.
 */
static bool doctor__managed(FILE *f)
{
	struct managed m;
	char *cause = NULL, *summary;

	if (managed_load(&m, managed_default_path(), &cause) != 0) {
		fprintf(f, "FAIL  managed: %s; airlock stops until an administrator fixes it\n",
		        cause);
		free(cause);
		return false;
	}
	if (!m.present) {
		fprintf(f, "info  managed: no managed policy (%s does not exist)\n",
		        managed_default_path());
		return true;
	}
	summary = managed_summary(&m);
	fprintf(f, "info  managed: %s\n", summary);
	free(summary);
	managed_free(&m);
	return true;
}

int cmd_doctor(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"use-legacy-landlock", no_argument, NULL, 'L'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct doctor__host h = {0};
	struct doctor_report report;
	bool legacy = false;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'L':
			legacy = true;
			break;
		case 'h':
			fputs(doctor__usage, stdout);
			return 0;
		default:
			fprintf(stderr,
			        "airlock: doctor: unknown option %s (see airlock doctor --help)\n",
			        argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "airlock: doctor takes no arguments (see airlock doctor --help)\n");
		return 2;
	}
	doctor_gather(&h, legacy);
	doctor_evaluate(&h.f, &report);
	int managed_ok = doctor__managed(stdout);
	doctor_report_print(stdout, &report);
	int status = report.can_sandbox && managed_ok ? 0 : 1;
	doctor_report_free(&report);
	doctor__host_free(&h);
	return status;
}
