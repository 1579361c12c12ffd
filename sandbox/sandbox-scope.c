/*
 * The command's Landlock domain: the kernel's second guarantee (SPEC 3).
 *
 * The inner stage enters one domain before it execs the command. It does
 * two things the mounts cannot do alone:
 *
 * - Scope. Inside the pid namespace live processes the seccomp filter does
 *   not cover: bubblewrap's init (pid 1) and, in proxy mode, the network
 *   bridge. A process inside a domain cannot ptrace, nor open the memory
 *   of, a process outside it, and (Landlock ABI 6) cannot signal it or
 *   connect to an abstract Unix socket made outside it (the host's X11 or
 *   D-Bus abstract sockets, when the network is shared).
 * - Writes. With a restricted file system, every right that creates,
 *   removes, renames, writes or truncates a file is granted only beneath
 *   the writable roots, a few device nodes, the files of the sandbox's own
 *   /proc (never its directories; its kernel knobs are read-only mounts), and
 *   the descriptors the command was given (its own stdin, stdout and stderr, so `echo >/dev/stderr`
 *   works on a terminal or a file the caller chose). So a write outside the
 *   roots fails even where a mount would have let it through (a kernel file
 *   system, a mount the plan got wrong). Kernels before Landlock ABI 2
 *   deny every cross-directory rename in a domain that handles writes, which
 *   would break ordinary tools: there, writes hold by the mounts alone.
 *
 * Where the kernel has no Landlock (or --no-landlock says to act as if),
 * the outer stage hides /proc/1 under an empty tmpfs and the inner stage
 * checks that pid 1's memory is out of reach before it goes on: fail
 * closed; writes then hold by the mounts alone.
 */
#include "sandbox/sandbox.h"

#include "core/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Newer than the headers this may be built with. */
#define SANDBOX_LL_TRUNCATE       (1ULL << 14) /* ABI 3 */
#define SANDBOX_LL_SCOPE_ABSTRACT (1ULL << 0)  /* ABI 6 */
#define SANDBOX_LL_SCOPE_SIGNAL   (1ULL << 1)  /* ABI 6 */

/* The ruleset attributes as the newest ABI has them; older kernels take zeros in the tail. */
struct sandbox_scope_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

/* Rights on a directory that change what lies beneath it. */
#define SANDBOX_LL_WRITE_DIR                                                                       \
	(LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |                           \
	 LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |                           \
	 LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |                               \
	 LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |                             \
	 LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_REFER)

/* Device nodes every command may write (files) and directories of them. */
static const char *const sandbox_scope_dev_files[] = {
    "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/ptmx",
};
static const char *const sandbox_scope_dev_dirs[] = {"/dev/pts", "/dev/shm"};

/* The kernel's Landlock ABI version, or 0 without Landlock. */
static int sandbox_scope_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	return v > 0 ? (int)v : 0;
}

bool sandbox_scope_available(void)
{
	return sandbox_scope_abi() >= 1;
}

/* Allows ACCESS beneath FD (a directory) or on it (a file); false when the kernel refused. */
static bool sandbox_scope_allow_fd(int ruleset, int fd, uint64_t access)
{
	struct landlock_path_beneath_attr rule = {.allowed_access = access, .parent_fd = fd};
	struct stat st;

	if (fstat(fd, &st) != 0)
		return false;
	if (!S_ISDIR(st.st_mode))
		rule.allowed_access &= LANDLOCK_ACCESS_FS_WRITE_FILE | SANDBOX_LL_TRUNCATE |
		                       LANDLOCK_ACCESS_FS_EXECUTE;
	return syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) == 0;
}

/* Allows ACCESS on PATH; a missing path is skipped; 0 or -errno with *CAUSE. */
static int sandbox_scope_allow_path(int ruleset, const char *path, uint64_t access, char **cause)
{
	int fd = open(path, O_PATH | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return 0; /* nothing there to write to: no rule (fails closed) */
	if (!sandbox_scope_allow_fd(ruleset, fd, access)) {
		rc = -errno;
		*cause = xasprintf("landlock_add_rule %s: %s", path, strerror(errno));
	}
	close(fd);
	return rc;
}

/* Adds the write rules: roots, device nodes, the command's own descriptors. */
static int sandbox_scope_write_rules(int ruleset, uint64_t dir_rights, char *const *roots,
                                     size_t n_roots, char **cause)
{
	uint64_t file_rights = dir_rights & (LANDLOCK_ACCESS_FS_WRITE_FILE | SANDBOX_LL_TRUNCATE);
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < n_roots; i++)
		rc = sandbox_scope_allow_path(ruleset, roots[i], dir_rights, cause);
	for (size_t i = 0; rc == 0 && i < sizeof sandbox_scope_dev_files / sizeof(char *); i++)
		rc = sandbox_scope_allow_path(ruleset, sandbox_scope_dev_files[i], file_rights,
		                              cause);
	for (size_t i = 0; rc == 0 && i < sizeof sandbox_scope_dev_dirs / sizeof(char *); i++)
		rc =
		    sandbox_scope_allow_path(ruleset, sandbox_scope_dev_dirs[i], dir_rights, cause);
	/* The caller's descriptors (a terminal, a file it redirected to): reopening them
	 * through /dev/stdout is writing where the caller already lets the command write.
	 * Pipes and sockets have no path and need no rule. */
	for (int fd = 0; rc == 0 && fd <= 2; fd++) {
		struct stat st;
		int mode = fcntl(fd, F_GETFL);
		/* Only what the caller opened for writing: a read-only stdin stays so. */
		if (mode >= 0 && (mode & O_ACCMODE) != O_RDONLY && fstat(fd, &st) == 0 &&
		    (S_ISCHR(st.st_mode) || S_ISREG(st.st_mode)))
			(void)sandbox_scope_allow_fd(ruleset, fd, file_rights);
	}
	return rc;
}

int sandbox_scope_enter(const struct sandbox_opts *opts, char **cause)
{
	int abi = opts->no_landlock ? 0 : sandbox_scope_abi();
	struct sandbox_scope_attr attr = {.handled_access_fs = LANDLOCK_ACCESS_FS_EXECUTE};
	uint64_t write_rights = 0;
	int ruleset, root, rc = 0;

	if (abi < 1) {
		/* The outer stage covered /proc/1; make sure nothing reaches pid 1's memory. */
		int fd = open("/proc/1/mem", O_RDONLY | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT) {
			if (fd >= 0)
				close(fd);
			*cause =
			    xstrdup("this kernel has no Landlock and /proc/1 is not hidden, so "
			            "the command could reach the sandbox's init process: "
			            "refusing to run");
			return -EPERM;
		}
		return 0;
	}
	if (opts->inner_fs_restricted && abi >= 2) {
		write_rights = SANDBOX_LL_WRITE_DIR | (abi >= 3 ? SANDBOX_LL_TRUNCATE : 0);
		attr.handled_access_fs |= write_rights;
	}
	if (abi >= 6)
		attr.scoped = SANDBOX_LL_SCOPE_ABSTRACT | SANDBOX_LL_SCOPE_SIGNAL;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		*cause = xasprintf("prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
		return -errno;
	}
	ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
	if (ruleset < 0) {
		*cause = xasprintf("landlock_create_ruleset: %s", strerror(errno));
		return -errno;
	}
	/* Executing stays allowed everywhere: the domain is for scope and writes. */
	root = open("/", O_PATH | O_CLOEXEC);
	if (root < 0) {
		rc = -errno;
		*cause = xasprintf("open /: %s", strerror(errno));
	} else if (!sandbox_scope_allow_fd(ruleset, root, LANDLOCK_ACCESS_FS_EXECUTE)) {
		rc = -errno;
		*cause = xasprintf("landlock_add_rule /: %s", strerror(errno));
	}
	if (root >= 0)
		close(root);
	if (rc == 0 && write_rights != 0)
		rc = sandbox_scope_write_rules(ruleset, write_rights, opts->write_roots,
		                               opts->n_write_roots, cause);
	if (rc == 0 && syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) {
		rc = -errno;
		*cause = xasprintf("landlock_restrict_self: %s", strerror(errno));
	}
	close(ruleset);
	return rc;
}
