/*
 * `airlock doctor`. Its judgement (doctor_evaluate) is fed made-up hosts:
 * a healthy one, a chroot, a Debian kernel with unprivileged user
 * namespaces off, Ubuntu's AppArmor restriction, a Docker container, a
 * kernel without Landlock, a helper that is not airlock's, an unwritable
 * audit log, a socket directory of the wrong mode. Each checks the verdict,
 * that the remedy fits that host, and that sysctls the host does not have
 * are never named. Then the real program on this host: it agrees with a real
 * sandboxed run, changes nothing, and a helper forced to /bin/false fails
 * it with a line that says what to do.
 */
#include "test.h"

#include "core/xmalloc.h"
#include "tui/doctor.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

/* A host where everything works, as doctor would see it. */
static struct doctor_facts doctor__healthy(void)
{
	return (struct doctor_facts){
	    .uid = 1000,
	    .userns_step = DOCTOR_USERNS_OK,
	    .chroot = 0,
	    .max_user_namespaces = 63204,
	    .unprivileged_userns_clone = -1,
	    .apparmor_restrict = -1,
	    .proc_mounted = true,
	    .nested_proc = 1,
	    .landlock_abi = 4,
	    .helper = "/usr/libexec/airlock-sandbox",
	    .helper_identifies = true,
	    .helper_help_status = 0,
	    .run_status = 0,
	    .legacy_status = -1,
	    .audit_path = "/home/u/.local/state/airlock/audit.jsonl",
	    .audit_failed_owner = -1,
	    .socket_dir = "/run/user/1000/airlock",
	    .socket_exists = true,
	    .socket_is_dir = true,
	    .socket_owner = 1000,
	    .socket_mode = 0700,
	    .managed_path = "/etc/airlock/managed.json",
	};
}

/*
 * The text of CHECK's line in R when its verdict is V; otherwise says what
 * it found on stderr and returns "", which no ASSERT_CONTAINS accepts.
 */
static const char *doctor__text(const struct doctor_report *r, const char *check,
                                enum doctor_verdict v)
{
	const struct doctor_line *l = doctor_report_find(r, check);

	if (l == NULL) {
		fprintf(stderr, "no line for %s\n", check);
		return "";
	}
	if (l->verdict != v) {
		fprintf(stderr, "%s: verdict %d, not %d: %s\n", check, (int)l->verdict, (int)v,
		        l->text);
		return "";
	}
	return l->text;
}

#define LINE(r, check, v) doctor__text(&(r), (check), (v))
/* Whether CHECK's line in R has verdict V. */
#define HAS(r, check, v) (*LINE(r, check, v) != '\0')

TEST(doctor_healthy_host_can_sandbox)
{
	struct doctor_facts f = doctor__healthy();
	struct doctor_report r;

	doctor_evaluate(&f, &r);
	ASSERT(r.can_sandbox);
	for (size_t i = 0; i < r.n; i++)
		ASSERT(r.lines[i].verdict == DOCTOR_OK || r.lines[i].verdict == DOCTOR_INFO);
	ASSERT_CONTAINS(LINE(r, "user namespaces", DOCTOR_OK), "user.max_user_namespaces = 63204");
	/* Only the sysctls this host has. */
	ASSERT_NOT_CONTAINS(LINE(r, "user namespaces", DOCTOR_OK), "unprivileged_userns_clone");
	ASSERT_NOT_CONTAINS(LINE(r, "user namespaces", DOCTOR_OK), "apparmor");
	ASSERT_CONTAINS(LINE(r, "Landlock", DOCTOR_OK), "ABI 4");
	ASSERT_CONTAINS(LINE(r, "Landlock", DOCTOR_OK), "--use-legacy-landlock");
	ASSERT_CONTAINS(LINE(r, "managed policy", DOCTOR_INFO), "none");
	ASSERT(doctor_report_find(&r, "legacy Landlock") == NULL);
	ASSERT_STR_EQ(r.summary, "airlock can sandbox here");
	doctor_report_free(&r);

	/* A managed policy is reported, nothing more. */
	f.managed_exists = true;
	doctor_evaluate(&f, &r);
	ASSERT(r.can_sandbox);
	ASSERT_CONTAINS(LINE(r, "managed policy", DOCTOR_INFO), "/etc/airlock/managed.json exists");
	doctor_report_free(&r);
	return 0;
}

TEST(doctor_chroot_names_the_chroot_and_the_landlock_fallback)
{
	struct doctor_facts f = doctor__healthy();
	struct doctor_report r;

	/* The host: a Debian chroot, root, max_user_namespaces already high. */
	f.uid = 0;
	f.chroot = 1;
	f.userns_step = DOCTOR_USERNS_UNSHARE;
	f.userns_errno = EPERM;
	f.max_user_namespaces = 96555;
	f.nested_proc = -1;
	f.run_status = 125;
	f.run_error = "airlock: cannot create the sandbox's user namespace (...)";
	f.legacy_status = 0;
	doctor_evaluate(&f, &r);
	const char *u = LINE(r, "user namespaces", DOCTOR_FAIL);
	ASSERT_CONTAINS(u, "this is a chroot");
	ASSERT_CONTAINS(u, "user.max_user_namespaces = 96555");
	ASSERT_CONTAINS(u, "pivot_root");
	ASSERT_CONTAINS(u, "--use-legacy-landlock -s read-only -n off");
	/* Nothing this kernel does not have, nothing that would not help. */
	ASSERT_NOT_CONTAINS(u, "unprivileged_userns_clone");
	ASSERT_NOT_CONTAINS(u, "apparmor");
	ASSERT_NOT_CONTAINS(u, "sysctl -w user.max_user_namespaces");
	ASSERT_CONTAINS(LINE(r, "Landlock", DOCTOR_OK), "fallback here is --use-legacy-landlock");
	ASSERT_CONTAINS(LINE(r, "bubblewrap", DOCTOR_FAIL), "see user namespaces");
	ASSERT(HAS(r, "/proc", DOCTOR_INFO));
	ASSERT(HAS(r, "legacy Landlock", DOCTOR_OK));
	ASSERT(!r.can_sandbox);
	ASSERT_CONTAINS(r.summary, "can with --use-legacy-landlock");
	doctor_report_free(&r);

	/* A chroot that doctor cannot see (it has a /proc of its own, pid 1 inside): root
	 * refused with EPERM and no container still names the chroot as the likely cause. */
	f.chroot = 0;
	doctor_evaluate(&f, &r);
	u = LINE(r, "user namespaces", DOCTOR_FAIL);
	ASSERT_NOT_CONTAINS(u, "; this is a chroot");
	ASSERT_CONTAINS(u, "if this is a chroot");
	ASSERT_CONTAINS(u, "pivot_root");
	doctor_report_free(&r);
	f.chroot = 1;

	/* Judged for the fallback, the same host can sandbox. */
	f.legacy_requested = true;
	doctor_evaluate(&f, &r);
	ASSERT(r.can_sandbox);
	ASSERT_STR_EQ(r.summary, "airlock can sandbox here with --use-legacy-landlock");
	doctor_report_free(&r);

	/* A chroot in a container: the chroot is the cause, not the container. */
	f.legacy_requested = false;
	f.container = "docker";
	f.container_evidence = "/.dockerenv";
	doctor_evaluate(&f, &r);
	u = LINE(r, "user namespaces", DOCTOR_FAIL);
	ASSERT_CONTAINS(u, "this is a docker container (/.dockerenv)");
	ASSERT_NOT_CONTAINS(u, "seccomp=unconfined");
	doctor_report_free(&r);
	return 0;
}

TEST(doctor_sysctl_remedies_only_where_they_exist)
{
	struct doctor_facts f = doctor__healthy();
	struct doctor_report r;
	const char *u;

	/* A Debian kernel with unprivileged user namespaces off. */
	f.userns_step = DOCTOR_USERNS_UNSHARE;
	f.userns_errno = EPERM;
	f.unprivileged_userns_clone = 0;
	f.run_status = 125;
	doctor_evaluate(&f, &r);
	u = LINE(r, "user namespaces", DOCTOR_FAIL);
	ASSERT_CONTAINS(u, "kernel.unprivileged_userns_clone = 0");
	ASSERT_CONTAINS(u, "sysctl -w kernel.unprivileged_userns_clone=1");
	ASSERT_NOT_CONTAINS(u, "apparmor");
	ASSERT(!r.can_sandbox);
	doctor_report_free(&r);

	/* The same knob does not hold root back: not named as the fix. */
	f.uid = 0;
	doctor_evaluate(&f, &r);
	ASSERT_NOT_CONTAINS(LINE(r, "user namespaces", DOCTOR_FAIL),
	                    "sysctl -w kernel.unprivileged_userns_clone");
	doctor_report_free(&r);

	/* Ubuntu's AppArmor restriction: the namespace is made, its capabilities are not. */
	f = doctor__healthy();
	f.userns_step = DOCTOR_USERNS_MAP;
	f.userns_errno = EPERM;
	f.apparmor_restrict = 1;
	f.run_status = 125;
	doctor_evaluate(&f, &r);
	u = LINE(r, "user namespaces", DOCTOR_FAIL);
	ASSERT_CONTAINS(u, "writing its uid/gid map failed");
	ASSERT_CONTAINS(u, "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0");
	ASSERT_NOT_CONTAINS(u, "unprivileged_userns_clone");
	doctor_report_free(&r);

	/* No user namespaces allowed at all. */
	f = doctor__healthy();
	f.userns_step = DOCTOR_USERNS_UNSHARE;
	f.userns_errno = ENOSPC;
	f.max_user_namespaces = 0;
	f.run_status = 125;
	doctor_evaluate(&f, &r);
	ASSERT_CONTAINS(LINE(r, "user namespaces", DOCTOR_FAIL),
	                "sysctl -w user.max_user_namespaces=15000");
	doctor_report_free(&r);
	return 0;
}

TEST(doctor_container_and_missing_landlock)
{
	struct doctor_facts f = doctor__healthy();
	struct doctor_report r;

	/* Docker's default profiles: no user namespace, no fallback without Landlock. */
	f.container = "docker";
	f.container_evidence = "/.dockerenv";
	f.userns_step = DOCTOR_USERNS_UNSHARE;
	f.userns_errno = EPERM;
	f.landlock_abi = 0;
	f.landlock_errno = EOPNOTSUPP;
	f.nested_proc = -1;
	f.run_status = 125;
	doctor_evaluate(&f, &r);
	const char *u = LINE(r, "user namespaces", DOCTOR_FAIL);
	ASSERT_CONTAINS(u, "this is a docker container (/.dockerenv)");
	ASSERT_CONTAINS(u, "--security-opt seccomp=unconfined");
	ASSERT_NOT_CONTAINS(u, "--use-legacy-landlock");
	ASSERT_CONTAINS(LINE(r, "Landlock", DOCTOR_FAIL), "lsm=");
	ASSERT(!r.can_sandbox);
	ASSERT_STR_EQ(r.summary, "airlock cannot sandbox here: fix the FAIL lines above");
	doctor_report_free(&r);

	/* A container that allows user namespaces but covers parts of /proc. */
	f = doctor__healthy();
	f.container = "docker";
	f.nested_proc = 0;
	f.nested_proc_errno = EPERM;
	doctor_evaluate(&f, &r);
	ASSERT_CONTAINS(LINE(r, "/proc", DOCTOR_WARN), "systempaths=unconfined");
	ASSERT(r.can_sandbox);
	doctor_report_free(&r);

	/* No Landlock but user namespaces: a warning, bubblewrap still sandboxes. */
	f = doctor__healthy();
	f.landlock_abi = 0;
	f.landlock_errno = ENOSYS;
	doctor_evaluate(&f, &r);
	ASSERT_CONTAINS(LINE(r, "Landlock", DOCTOR_WARN), "CONFIG_SECURITY_LANDLOCK");
	ASSERT(r.can_sandbox);
	doctor_report_free(&r);

	/* /proc not mounted. */
	f = doctor__healthy();
	f.proc_mounted = false;
	f.run_status = 125;
	doctor_evaluate(&f, &r);
	ASSERT_CONTAINS(LINE(r, "/proc", DOCTOR_FAIL), "mount -t proc proc /proc");
	ASSERT(!r.can_sandbox);
	doctor_report_free(&r);

	/* No seccomp filters. */
	f = doctor__healthy();
	f.seccomp_errno = EINVAL;
	f.run_status = 125;
	doctor_evaluate(&f, &r);
	ASSERT_CONTAINS(LINE(r, "seccomp", DOCTOR_FAIL), "CONFIG_SECCOMP_FILTER");
	ASSERT_CONTAINS(LINE(r, "bubblewrap", DOCTOR_FAIL), "see seccomp");
	doctor_report_free(&r);
	return 0;
}

TEST(doctor_helper_audit_and_socket_remedies)
{
	struct doctor_facts f = doctor__healthy();
	struct doctor_report r;

	/* AIRLOCK_SANDBOX_EXE at something else. */
	f.helper = "/bin/false";
	f.helper_from_env = true;
	f.helper_default = "/usr/libexec/airlock-sandbox";
	f.helper_identifies = false;
	f.helper_help_status = 1;
	f.run_status = -1;
	doctor_evaluate(&f, &r);
	const char *h = LINE(r, "helper", DOCTOR_FAIL);
	ASSERT_CONTAINS(h, "/bin/false (from AIRLOCK_SANDBOX_EXE) is not airlock-sandbox");
	ASSERT_CONTAINS(h, "point AIRLOCK_SANDBOX_EXE at airlock-sandbox, or unset it");
	ASSERT_CONTAINS(h, "/usr/libexec/airlock-sandbox");
	ASSERT(HAS(r, "bubblewrap", DOCTOR_FAIL));
	ASSERT(!r.can_sandbox);
	doctor_report_free(&r);

	/* No helper anywhere. */
	f = doctor__healthy();
	f.helper = NULL;
	f.helper_tried = "/usr/bin/airlock-sandbox, /usr/libexec/airlock-sandbox";
	f.run_status = -1;
	doctor_evaluate(&f, &r);
	ASSERT_CONTAINS(LINE(r, "helper", DOCTOR_FAIL), "reinstall airlock");
	ASSERT(!r.can_sandbox);
	doctor_report_free(&r);

	/* A helper that fails for another reason: how to see more. */
	f = doctor__healthy();
	f.run_status = 125;
	f.run_error = "airlock: the sandbox could not be set up: something";
	doctor_evaluate(&f, &r);
	ASSERT_CONTAINS(LINE(r, "bubblewrap", DOCTOR_FAIL), "run it by hand");
	doctor_report_free(&r);

	/* A read-only home: nothing would run. */
	f = doctor__healthy();
	f.audit_failed_path = "/home/u/.local/state";
	f.audit_errno = EROFS;
	doctor_evaluate(&f, &r);
	ASSERT_CONTAINS(LINE(r, "audit log", DOCTOR_FAIL), "set AIRLOCK_HOME");
	ASSERT(!r.can_sandbox);
	doctor_report_free(&r);
	/* Not writable: chmod only what is the user's own. */
	f.audit_errno = EACCES;
	f.audit_failed_owner = 1000;
	doctor_evaluate(&f, &r);
	ASSERT_CONTAINS(LINE(r, "audit log", DOCTOR_FAIL), "`chmod u+w /home/u/.local/state`");
	doctor_report_free(&r);
	f.audit_failed_path = "/root";
	f.audit_failed_owner = 0;
	doctor_evaluate(&f, &r);
	ASSERT_NOT_CONTAINS(LINE(r, "audit log", DOCTOR_FAIL), "chmod");
	ASSERT_CONTAINS(LINE(r, "audit log", DOCTOR_FAIL), "it is not yours: set AIRLOCK_HOME");
	doctor_report_free(&r);

	/* The socket directory only costs the TUI its agent socket: a warning. */
	f = doctor__healthy();
	f.socket_mode = 0755;
	doctor_evaluate(&f, &r);
	ASSERT_CONTAINS(LINE(r, "agent socket", DOCTOR_WARN), "chmod 700 /run/user/1000/airlock");
	ASSERT(r.can_sandbox);
	doctor_report_free(&r);
	f.socket_owner = 0;
	doctor_evaluate(&f, &r);
	ASSERT_CONTAINS(LINE(r, "agent socket", DOCTOR_WARN), "belongs to uid 0");
	doctor_report_free(&r);
	f = doctor__healthy();
	f.socket_exists = false;
	doctor_evaluate(&f, &r);
	ASSERT_CONTAINS(LINE(r, "agent socket", DOCTOR_OK), "will be made");
	doctor_report_free(&r);
	return 0;
}

/* Runs `airlock ARGS...` with AIRLOCK_HOME=HOME and EXTRA (a "NAME=value" or NULL). */
static int doctor__run(struct test_run *r, const char *home, const char *extra,
                       const char *const *args)
{
	char *bin = test_buildpath("airlock");
	char *argv[8];
	char *env[3] = {NULL};
	size_t n = 0;
	int rc;

	argv[n++] = bin;
	for (size_t i = 0; args[i] != NULL && n < 7; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	env[0] = xasprintf("AIRLOCK_HOME=%s", home);
	env[1] = (char *)extra;
	rc = test_run(r, argv, NULL, "/", env, (uid_t)-1, 60);
	free(env[0]);
	free(bin);
	return rc;
}

TEST(doctor_on_this_host_agrees_with_a_real_run)
{
	char *home = xasprintf("%s/home", test_tmpdir());
	char *log = xasprintf("%s/audit.jsonl", home);
	struct test_run r, ex;
	struct stat st;

	ASSERT_EQ(mkdir(home, 0700), 0);
	ASSERT_EQ(doctor__run(&r, home, NULL, (const char *[]){"doctor", NULL}), 0);
	/* One line per check, then the summary; never the TUI. */
	ASSERT_CONTAINS(r.out, "  user namespaces: ");
	ASSERT_CONTAINS(r.out, "  /proc: ");
	ASSERT_CONTAINS(r.out, "  seccomp: ");
	ASSERT_CONTAINS(r.out, "  Landlock: ");
	ASSERT_CONTAINS(r.out, "  helper: ");
	ASSERT_CONTAINS(r.out, "  bubblewrap: ");
	ASSERT_CONTAINS(r.out, "  audit log: ");
	ASSERT_CONTAINS(r.out, "  agent socket: ");
	ASSERT_CONTAINS(r.out, "  managed policy: ");
	ASSERT_STR_EQ(r.err, "");
	/* Doctor writes nothing: no audit log where it checked one could be made. */
	ASSERT_EQ(stat(log, &st), -1);

	/* It says yes exactly where a sandboxed command really runs. */
	ASSERT_EQ(doctor__run(&ex, home, NULL,
	                      (const char *[]){"exec", "-s", "read-only", "--", "true", NULL}),
	          0);
	if (ex.status == 0) {
		ASSERT_EQ(r.status, 0);
		ASSERT_CONTAINS(r.out, "airlock can sandbox here\n");
	} else {
		ASSERT_EQ(ex.status, 125);
		ASSERT_CONTAINS(ex.err, "run `airlock doctor` for what to do on this host");
		ASSERT_EQ(r.status, 1);
		ASSERT_CONTAINS(r.out, "FAIL  ");
	}
	test_run_free(&ex);
	test_run_free(&r);

	/* A helper that is not airlock's: non-zero, and the helper line says what to do. */
	ASSERT_EQ(doctor__run(&r, home, "AIRLOCK_SANDBOX_EXE=/bin/false",
	                      (const char *[]){"doctor", NULL}),
	          0);
	ASSERT_EQ(r.status, 1);
	ASSERT_CONTAINS(r.out, "FAIL  helper: /bin/false (from AIRLOCK_SANDBOX_EXE) is not "
	                       "airlock-sandbox (`/bin/false --help` exited 1); to fix: point "
	                       "AIRLOCK_SANDBOX_EXE at airlock-sandbox");
	ASSERT_CONTAINS(r.out, "airlock cannot sandbox here");
	test_run_free(&r);

	/* Usage errors. */
	ASSERT_EQ(doctor__run(&r, home, NULL, (const char *[]){"doctor", "--bogus", NULL}), 0);
	ASSERT_EQ(r.status, 2);
	ASSERT_STR_EQ(r.err,
	              "airlock: doctor: unknown option --bogus (see airlock doctor --help)\n");
	test_run_free(&r);
	ASSERT_EQ(doctor__run(&r, home, NULL, (const char *[]){"doctor", "now", NULL}), 0);
	ASSERT_EQ(r.status, 2);
	test_run_free(&r);
	ASSERT_EQ(doctor__run(&r, home, NULL, (const char *[]){"doctor", "--help", NULL}), 0);
	ASSERT_EQ(r.status, 0);
	ASSERT_CONTAINS(r.out, "Usage: airlock doctor [--use-legacy-landlock]");
	test_run_free(&r);
	free(log);
	free(home);
	return 0;
}
