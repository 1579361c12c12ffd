/*
 * The inner stage: this helper re-run by bubblewrap inside the sandbox with
 * --apply-seccomp-then-exec. It refuses to run anywhere else: the outer
 * stage leaves a marker in the environment (its own user namespace and the
 * descriptor of the caller's stderr), and the inner stage checks both that
 * the marker is there and that it is in a different user namespace from the
 * one that wrote it. Then NO_NEW_PRIVS, a Landlock domain that keeps the
 * command away from the sandbox's init (sandbox-scope.c), the seccomp filter (compiled by
 * the outer stage, read from the descriptor the marker names), the
 * environment the command sees, and execvp. Every failure exits 125.
 *
 * With the vendored bubblewrap, the inner stage is not exec'd: bubblewrap
 * calls sandbox_inner_hook with the argv it would have exec'd, in the
 * process it has set up; the hook parses that argv as main would and runs
 * the same checks and steps, so the stage refuses to run outside in both
 * forms. A system bwrap still execs the helper.
 *
 * A standard input that is a terminal no session holds (a TUI pane's: the
 * job leaves it free for sandboxed runs) becomes the command's controlling
 * terminal, in a session of its own: job control, tcgetpgrp, /dev/tty and
 * SIGWINCH then work as in a terminal. A probe child tries first, so that a
 * terminal another session holds (airlock exec on the user's own terminal)
 * leaves the command in bubblewrap's session, where the helper's forwarded
 * interrupts reach it.
 */
#include "sandbox/sandbox.h"
#include "sandbox/proxy-route.h"

#include "core/xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Sets the variables that tell a command it runs sandboxed. */
void sandbox_inner_setenv(enum policy_net net)
{
	setenv("AIRLOCK_SANDBOX", "1", 1);
	if (net != POLICY_NET_ENABLED)
		setenv("AIRLOCK_SANDBOX_NETWORK_DISABLED", "1", 1);
	else
		unsetenv("AIRLOCK_SANDBOX_NETWORK_DISABLED");
}

/*
 * Checks the outer stage's marker ("USERNS-INODE:STDERR-FD:BPF-FD"), restores
 * the caller's stderr, and returns the descriptor the seccomp filter comes
 * on. Dies when outside the sandbox.
 */
static int sandbox_inner_check(void)
{
	const char *marker = getenv(SANDBOX_INNER_ENV);
	unsigned long long outer_ns;
	int fd = -1, bpf = -1, n = 0;
	struct stat st;

	if (marker == NULL || sscanf(marker, "%llu:%d:%d%n", &outer_ns, &fd, &bpf, &n) != 3 ||
	    marker[n] != '\0')
		sandbox_die(
		    "--apply-seccomp-then-exec is the helper's inner stage: it runs only "
		    "inside the sandbox that airlock-sandbox sets up (refusing to run outside)");
	/* The caller's stderr first, so that every message below reaches the caller. */
	if (fd > 2 && fcntl(fd, F_GETFD) >= 0) {
		if (dup2(fd, 2) < 0)
			sandbox_die("dup2(%d, 2): %s", fd, strerror(errno));
		close(fd);
	}
	if (stat("/proc/self/ns/user", &st) == 0) {
		if ((unsigned long long)st.st_ino == outer_ns)
			sandbox_die(
			    "--apply-seccomp-then-exec: still in the caller's user namespace, "
			    "so not inside the sandbox (refusing to run)");
	} else if (getpid() > 2) {
		/* No /proc (--no-proc): in a new pid namespace bubblewrap's child is pid 1 or 2. */
		sandbox_die(
		    "--apply-seccomp-then-exec: cannot tell the namespace (no /proc) and not "
		    "pid 1 or 2 of a new pid namespace (refusing to run)");
	}
	unsetenv(SANDBOX_INNER_ENV);
	return bpf;
}

/* Makes a free terminal on stdin the controlling terminal of a new session (see above). */
static void sandbox_inner_take_tty(void)
{
	int st = 0;
	pid_t probe;

	if (!isatty(STDIN_FILENO))
		return;
	/* The probe's session lets go of the terminal when the probe exits. */
	probe = fork();
	if (probe == 0)
		_exit(setsid() >= 0 && ioctl(STDIN_FILENO, TIOCSCTTY, 0) == 0 ? 0 : 1);
	if (probe < 0 || waitpid(probe, &st, 0) != probe || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		return;
	if (getsid(0) == getpid() || setsid() >= 0)
		ioctl(STDIN_FILENO, TIOCSCTTY, 0);
}

/* Runs the inner stage: marker check, filter, environment, exec. */
void sandbox_inner_exec(const struct sandbox_opts *opts)
{
	char *cause = NULL;

	int bpf = sandbox_inner_check();

	proxy_route_inner_setup(); /* network proxy: before seccomp, which denies AF_UNIX */
	/* After the bridge starts, so that it too is outside the command's domain. */
	if (sandbox_scope_enter(opts, &cause) < 0)
		sandbox_die("%s", cause);
	if (bpf < 0 || sandbox_seccomp_load_fd(bpf, &cause) < 0)
		sandbox_die("%s", cause != NULL ? cause : "no seccomp filter from the outer stage");
	close(bpf);
	sandbox_inner_setenv(opts->policy.net);
	sandbox_inner_take_tty();
	execvp(opts->command[0], opts->command);
	fprintf(stderr, "airlock: %s: %s\n", opts->command[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

/* Runs the inner stage when ARGV is the helper's own inner-stage argv; returns otherwise. */
void sandbox_inner_hook(char **argv)
{
	struct sandbox_opts opts;
	char *cause = NULL;
	int argc = 0;

	if (argv == NULL || argv[0] == NULL || argv[1] == NULL ||
	    strcmp(argv[1], "--apply-seccomp-then-exec") != 0)
		return;
	/* What bubblewrap holds close-on-exec (its eventfd with the sandbox's init) an exec
	 * would close: the proxy bridge forked below never execs. */
	sandbox_close_cloexec_fds();
	while (argv[argc] != NULL)
		argc++;
	if (sandbox_args_parse(argc, argv, &opts, &cause) < 0 || !opts.inner)
		sandbox_die("inner stage: %s", cause != NULL ? cause : "not an inner-stage argv");
	sandbox_inner_exec(&opts);
}

/* Closes every descriptor above stderr marked close-on-exec (what an exec would). */
void sandbox_close_cloexec_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int *fds = NULL;
	size_t n = 0, cap = 0;

	if (d == NULL) {
		/* No /proc (--no-proc inside): ask each descriptor the limit allows. */
		struct rlimit rl;
		int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536
		              ? (int)rl.rlim_cur
		              : 65536;

		for (int fd = 3; fd < max; fd++) {
			int flags = fcntl(fd, F_GETFD);

			if (flags >= 0 && (flags & FD_CLOEXEC) != 0)
				close(fd);
		}
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		int flags;

		if (*end != '\0' || end == de->d_name || fd <= 2 || fd == dirfd(d))
			continue;
		flags = fcntl((int)fd, F_GETFD);
		if (flags < 0 || (flags & FD_CLOEXEC) == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			fds = xreallocarray(fds, cap, sizeof *fds);
		}
		fds[n++] = (int)fd;
	}
	closedir(d);
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
}
