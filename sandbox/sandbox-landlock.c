/*
 * --use-legacy-landlock: Landlock + seccomp, no bubblewrap, for hosts
 * without usable user namespaces. Landlock grants are additive (a rule on a
 * directory covers everything below it), so it can express "read here,
 * write there" but not "none" or "read-only" inside a granted tree, nor a
 * read-only protected subpath inside a writable root, nor a network
 * namespace. Every such policy fails closed: exit 125 with a line naming the
 * path and what to use instead. Raw syscalls through <linux/landlock.h>.
 */
#include "sandbox/sandbox.h"

#include "core/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14) /* ABI 3, newer than these headers */
#endif

/* Device files a command needs to write even under a read-only root. */
static const char *const sandbox_landlock_devices[] = {"/dev/null",   "/dev/zero",    "/dev/full",
                                                       "/dev/random", "/dev/urandom", "/dev/tty",
                                                       "/dev/pts",    "/dev/ptmx"};

/* The file-system rights Landlock ABI version ABI knows. */
static __u64 sandbox_landlock_all(int abi)
{
	__u64 all = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* ABI 1 */

	if (abi >= 2)
		all |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		all |= LANDLOCK_ACCESS_FS_TRUNCATE;
	return all;
}

/* Adds a rule granting ACCESS below PATH; missing paths are skipped. */
static void sandbox_landlock_rule(int ruleset, const char *path, __u64 access)
{
	struct landlock_path_beneath_attr attr = {.allowed_access = access};
	int fd = open(path, O_PATH | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			return;
		sandbox_die("landlock: open %s: %s", path, strerror(errno));
	}
	attr.parent_fd = fd;
	/* A file takes only file rights: retry with those. */
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &attr, 0) != 0) {
		attr.allowed_access &= LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
		                       LANDLOCK_ACCESS_FS_READ_FILE |
		                       (access & LANDLOCK_ACCESS_FS_TRUNCATE);
		if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &attr, 0) !=
		    0)
			sandbox_die("landlock_add_rule %s: %s", path, strerror(errno));
	}
	close(fd);
}

/* Refuses what Landlock cannot enforce for RES. */
static void sandbox_landlock_check(const struct policy_resolved *res)
{
	for (size_t i = 0; i < res->n_entries; i++) {
		const struct policy_resolved_entry *e = &res->entries[i];
		for (size_t j = 0; j < res->n_entries; j++) {
			const struct policy_resolved_entry *up = &res->entries[j];
			if (i == j || !policy_path_is_under(up->path, e->path))
				continue;
			if (e->access == POLICY_ACCESS_NONE && up->access != POLICY_ACCESS_NONE)
				sandbox_die(
				    "--use-legacy-landlock cannot hide %s (access none) inside "
				    "the %s tree %s: Landlock only adds access; use the "
				    "bubblewrap sandbox (enable user namespaces)",
				    e->path, policy_access_name(up->access), up->path);
			if (e->access == POLICY_ACCESS_READ && up->access == POLICY_ACCESS_WRITE)
				sandbox_die(
				    "--use-legacy-landlock cannot make %s read-only inside the "
				    "writable %s: use the bubblewrap sandbox",
				    e->path, up->path);
		}
		if (e->access == POLICY_ACCESS_WRITE)
			sandbox_die("--use-legacy-landlock cannot keep the protected paths of the "
			            "writable root %s (.git/config, .git/hooks, .airlock, ...) "
			            "read-only: Landlock only adds access; use a read-only policy "
			            "or the bubblewrap sandbox (enable user namespaces)",
			            e->path);
	}
}

/* Confines this process with Landlock and seccomp, then execs the command. */
/*
 * Run as root, this mode has no user namespace to drop privileges into: the
 * host's hostname goes into a UTS namespace of the command's own, and every
 * capability goes (bounding, ambient, effective, permitted, inheritable),
 * so nothing inside can change a setting of the host kernel even as uid 0.
 * Not root: there is nothing to drop (NO_NEW_PRIVS keeps it so).
 */
static void sandbox_landlock_drop_privileges(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];

	if (geteuid() != 0)
		return;
	if (unshare(CLONE_NEWUTS | CLONE_NEWIPC) != 0)
		sandbox_die("--use-legacy-landlock as root: unshare(UTS, IPC): %s",
		            strerror(errno));
	for (int cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
			sandbox_die("--use-legacy-landlock as root: dropping capability %d: %s",
			            cap, strerror(errno));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
		sandbox_die("--use-legacy-landlock as root: clearing ambient capabilities: %s",
		            strerror(errno));
	memset(data, 0, sizeof data);
	if (syscall(SYS_capset, &hdr, data) != 0)
		sandbox_die("--use-legacy-landlock as root: capset: %s", strerror(errno));
}

void sandbox_landlock_exec(const struct sandbox_opts *opts)
{
	struct policy_resolved res;
	char *cause = NULL;
	int abi, ruleset = -1;

	if (opts->policy.net == POLICY_NET_PROXY)
		sandbox_die("--use-legacy-landlock cannot confine the network to the proxy (that "
		            "needs a network namespace): use network restricted or enabled, or the "
		            "bubblewrap sandbox");
	if (policy_resolve(&opts->policy, opts->policy_cwd, getenv("TMPDIR"), &res, &cause) < 0)
		sandbox_die("%s", cause);
	if (res.kind == POLICY_FS_RESTRICTED) {
		struct landlock_ruleset_attr attr = {0};
		abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
		                   LANDLOCK_CREATE_RULESET_VERSION);
		if (abi < 0)
			sandbox_die(
			    "--use-legacy-landlock: this kernel has no usable Landlock (%s): "
			    "boot with lsm=...,landlock or use the bubblewrap sandbox",
			    strerror(errno));
		sandbox_landlock_check(&res);
		attr.handled_access_fs = sandbox_landlock_all(abi);
		ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
		if (ruleset < 0)
			sandbox_die("landlock_create_ruleset: %s", strerror(errno));
		for (size_t i = 0; i < res.n_entries; i++) {
			const struct policy_resolved_entry *e = &res.entries[i];
			if (e->access == POLICY_ACCESS_READ)
				sandbox_landlock_rule(ruleset, e->path,
				                      LANDLOCK_ACCESS_FS_EXECUTE |
				                          LANDLOCK_ACCESS_FS_READ_FILE |
				                          LANDLOCK_ACCESS_FS_READ_DIR);
		}
		for (size_t i = 0;
		     i < sizeof sandbox_landlock_devices / sizeof sandbox_landlock_devices[0]; i++)
			sandbox_landlock_rule(ruleset, sandbox_landlock_devices[i],
			                      LANDLOCK_ACCESS_FS_READ_FILE |
			                          LANDLOCK_ACCESS_FS_WRITE_FILE);
	}
	if (chdir(opts->command_cwd) != 0)
		sandbox_die("chdir %s: %s", opts->command_cwd, strerror(errno));
	sandbox_landlock_drop_privileges();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		sandbox_die("prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
	if (ruleset >= 0 && syscall(SYS_landlock_restrict_self, ruleset, 0) != 0)
		sandbox_die("landlock_restrict_self: %s", strerror(errno));
	if (sandbox_seccomp_apply(opts->policy.net, res.kind == POLICY_FS_RESTRICTED, &cause) < 0)
		sandbox_die("%s", cause);
	policy_resolved_free(&res);
	sandbox_inner_setenv(opts->policy.net);
	execvp(opts->command[0], opts->command);
	fprintf(stderr, "airlock: %s: %s\n", opts->command[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}
