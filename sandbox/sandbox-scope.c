/*
 * Keeping the command away from the sandbox's other processes. Inside the
 * pid namespace live processes the seccomp filter does not cover:
 * bubblewrap's init (pid 1) and, in proxy mode, the network bridge. Opening
 * /proc/1/mem for writing would let the command run code in pid 1, outside
 * the filter. The kernel's answer is a Landlock domain: a process inside a
 * domain cannot ptrace, nor open the memory of, a process outside it. So
 * the inner stage enters a domain that grants every file-system right (it
 * handles only "execute" and allows it everywhere) and restricts nothing
 * but that. Where the kernel has no Landlock, the outer stage instead hides
 * /proc/1 under an empty tmpfs (sandbox_scope_available() tells it), and
 * the inner stage checks that pid 1's memory is out of reach before it
 * goes on: fail closed.
 */
#include "sandbox/sandbox.h"

#include "core/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

bool sandbox_scope_available(void)
{
	return syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION) >= 1;
}

int sandbox_scope_enter(char **cause)
{
	struct landlock_ruleset_attr attr = {.handled_access_fs = LANDLOCK_ACCESS_FS_EXECUTE};
	struct landlock_path_beneath_attr everywhere = {.allowed_access =
	                                                    LANDLOCK_ACCESS_FS_EXECUTE};
	int ruleset, root, rc = 0;

	if (!sandbox_scope_available()) {
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
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		*cause = xasprintf("prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
		return -errno;
	}
	ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
	if (ruleset < 0) {
		*cause = xasprintf("landlock_create_ruleset: %s", strerror(errno));
		return -errno;
	}
	root = open("/", O_PATH | O_CLOEXEC);
	if (root < 0) {
		rc = -errno;
		*cause = xasprintf("open /: %s", strerror(errno));
		close(ruleset);
		return rc;
	}
	everywhere.parent_fd = root;
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &everywhere, 0) !=
	    0) {
		rc = -errno;
		*cause = xasprintf("landlock_add_rule /: %s", strerror(errno));
	} else if (syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) {
		rc = -errno;
		*cause = xasprintf("landlock_restrict_self: %s", strerror(errno));
	}
	close(root);
	close(ruleset);
	return rc;
}
