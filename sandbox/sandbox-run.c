/*
 * The outer stage: resolve, gather facts, plan, then act.
 *
 * Acting means running bubblewrap in a child (the vendored copy is a
 * function, bwrap_main, called in the forked child; a system bwrap is
 * exec'd) and waiting for it. The child's stderr is a pipe, so the helper
 * sees what bubblewrap itself says; the caller's real stderr reaches the
 * command through a descriptor named in the inner-stage marker, so the
 * command's own output never passes through the helper. The vendored
 * bubblewrap does not exec the inner stage: it calls it (sandbox-inner.c,
 * through the hook vendor/patches/exec-hook.patch adds) in the process it
 * has set up, which saves a second exec and dynamic load of the helper; the
 * child first closes what an exec would have (close-on-exec descriptors),
 * so bubblewrap and the inner stage see the descriptors they would after
 * one. Lines from
 * bubblewrap are streamed, except its fatal "bwrap: ..." lines, which the
 * helper turns into one `airlock: ...` line and exit status 125 (with what to
 * do when user namespaces are off), or into one retry without --proc /proc
 * when /proc cannot be mounted. The mount points of missing protected paths
 * are made, shared and removed by sandbox-covers.c, so nothing is left
 * behind, even with other sandboxes running in the same place.
 *
 * Signals: bubblewrap runs in a process group of its own, so an interrupt
 * typed at the terminal (or sent by the TUI to the job's group) reaches
 * this helper and not bubblewrap, which would take the whole sandbox down.
 * The helper passes SIGINT and SIGQUIT on to the command's process group
 * inside the sandbox (the new session bubblewrap made), so a REPL sees its
 * KeyboardInterrupt; SIGTERM and SIGHUP go to bubblewrap and end the
 * sandbox.
 */
#include "sandbox/sandbox.h"
#include "sandbox/proxy-route.h"

#include "core/xmalloc.h"

#include "build-config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SANDBOX_ERR_MAX       8192 /* bubblewrap error text kept for diagnosis */
#define SANDBOX_PLAN_ATTEMPTS 3    /* re-plans when covers vanish under us */
#define SANDBOX_ORPHAN_ROUNDS 64   /* children ended after bubblewrap is gone */

#ifndef SYSTEM_BWRAP
int bwrap_main(int argc, char **argv);
/* vendor/patches/exec-hook.patch: bubblewrap calls it where it would exec the command. */
extern void (*bwrap_exec_hook)(char **argv);
/* Declared weak so that non-sanitizer builds link; see sandbox_run_child. */
void __lsan_disable(void) __attribute__((weak));
#endif

static volatile sig_atomic_t sandbox_run_child_pid;
static volatile sig_atomic_t sandbox_run_ending;    /* SIGTERM or SIGHUP received */
static volatile sig_atomic_t sandbox_run_interrupt; /* SIGINT/SIGQUIT to pass inward */
static int sandbox_run_wake = -1;      /* write end of the self-pipe that wakes the wait */
static int sandbox_run_report_fd = -1; /* --report-fd, closed in bubblewrap's process */

/* Prints one `airlock: ...` line and exits 125 at once. */
void sandbox_die(const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	fprintf(stderr, "airlock: %s\n", msg);
	free(msg);
	/* At once: no exit handlers (the helper's state is abandoned, not leaked on purpose). */
	fflush(NULL);
	_exit(SANDBOX_EXIT_SETUP);
}

/*
 * Forwards a terminating signal to bubblewrap, which takes the sandbox down
 * with it; an interrupt is noted, and the self-pipe wakes the waiting loop,
 * which runs sandbox_run_pass_interrupt().
 */
static void sandbox_run_forward(int sig)
{
	if (sig == SIGINT || sig == SIGQUIT) {
		int saved = errno;
		sandbox_run_interrupt = sig;
		if (sandbox_run_wake >= 0 && write(sandbox_run_wake, "i", 1) < 0) {
			/* full: a wake-up is pending already */
		}
		errno = saved;
	} else {
		/* Before bubblewrap is forked (or between two runs of it), the run ends as
		 * soon as there is one to end: never swallowed. */
		sandbox_run_ending = sig;
		if (sandbox_run_child_pid > 0)
			kill((pid_t)sandbox_run_child_pid, sig);
	}
}

/* Reads the parent and session of PID from /proc; false when it is gone. */
static bool sandbox_run_stat(pid_t pid, pid_t *ppid, pid_t *sid)
{
	char path[64], buf[512];
	int fd, ppid_i, pgrp_i, sid_i;
	ssize_t n;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* After the command name in parentheses: state ppid pgrp session. */
	const char *p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 1, " %*c %d %d %d", &ppid_i, &pgrp_i, &sid_i) != 3)
		return false;
	*ppid = ppid_i;
	*sid = sid_i;
	return true;
}

/* The first child of PARENT other than EXCEPT (only a session leader when LEADER), or 0. */
static pid_t sandbox_run_child_of(pid_t parent, bool leader, pid_t except)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;

	if (d == NULL)
		return 0;
	while (found == 0 && (e = readdir(d)) != NULL) {
		pid_t pid = (pid_t)atoi(e->d_name), ppid, sid;
		if (pid > 0 && pid != except && sandbox_run_stat(pid, &ppid, &sid) &&
		    ppid == parent && (!leader || sid == pid))
			found = pid;
	}
	closedir(d);
	return found;
}

/*
 * Passes a noted interrupt to the command. bubblewrap's --new-session made
 * its child, the sandbox's init, leader of a new session and process group,
 * which the command shares; an init of a pid namespace ignores signals it
 * has no handler for, so the group's interrupt reaches the command alone.
 * Before that child exists, bubblewrap gets it, as a terminal would do.
 */
static void sandbox_run_pass_interrupt(pid_t bwrap)
{
	int sig = sandbox_run_interrupt;
	pid_t init;

	sandbox_run_interrupt = 0;
	if (sig == 0)
		return;
	init = sandbox_run_child_of(bwrap, true, 0);
	if (init > 0)
		kill(-init, sig);
	else
		kill(bwrap, sig);
}

/*
 * Ends every process left of the run once bubblewrap (BWRAP) is gone: this
 * helper is a child subreaper, so a sandbox whose parent died in the middle
 * of its setup (before --die-with-parent took hold) is reparented here, not
 * to init, and is killed and reaped, as is anything it had started. The
 * proxy bridge is among them; it is not needed any more.
 */
static void sandbox_run_end_orphans(pid_t bwrap)
{
	char path[64];

	/* The kernel's own list of this process's children, where it keeps one
	 * (CONFIG_PROC_CHILDREN); else a look through /proc. */
	snprintf(path, sizeof path, "/proc/self/task/%ld/children", (long)getpid());
	for (int round = 0; round < SANDBOX_ORPHAN_ROUNDS; round++) {
		char buf[512];
		pid_t child = 0;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = read(fd, buf, sizeof buf - 1);
			close(fd);
			buf[n > 0 ? n : 0] = '\0';
			for (char *p = buf, *end; child == 0 && *p != '\0'; p = end) {
				long v = strtol(p, &end, 10);
				if (end == p)
					break;
				if (v > 0 && (pid_t)v != bwrap)
					child = (pid_t)v;
			}
		} else {
			child = sandbox_run_child_of(getpid(), false, bwrap);
		}
		if (child <= 0)
			return;
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
}

/* In the child: stderr to the pipe, the marker for the inner stage, then bubblewrap. */
static void __attribute__((noreturn))
sandbox_run_child(const struct sandbox_plan *plan, int errw, int real_err, int bpf)
{
	struct stat st;
	char *marker, **argv;

	/* Out of the terminal's process group: interrupts come through the helper. */
	setpgid(0, 0);
	/* The parent's forwarding handlers are not bubblewrap's: back to the defaults. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	/* The parent's handler may have taken a SIGTERM meant to end the run before the
	 * reset above: end here, before any sandbox exists. */
	if (sandbox_run_ending != 0)
		_exit(128 + sandbox_run_ending);
	if (stat("/proc/self/ns/user", &st) != 0)
		st.st_ino = 0;
	marker = xasprintf("%llu:%d:%d", (unsigned long long)st.st_ino, real_err, bpf);
	setenv(SANDBOX_INNER_ENV, marker, 1);
	free(marker);
	if (dup2(errw, 2) < 0)
		_exit(SANDBOX_EXIT_SETUP);
	close(errw);
	argv = xcalloc(plan->argc + 2, sizeof *argv);
	argv[0] = "bwrap";
	memcpy(argv + 1, plan->argv, plan->argc * sizeof *argv);
#ifdef SYSTEM_BWRAP
	execv(SYSTEM_BWRAP, argv);
	fprintf(stderr, "bwrap: cannot run %s: %s\n", SYSTEM_BWRAP, strerror(errno));
	_exit(SANDBOX_EXIT_SETUP);
#else
	/* bubblewrap's allocations live until it exits; they are not leaks. */
	if (__lsan_disable != NULL)
		__lsan_disable();
	sandbox_close_cloexec_fds();
	bwrap_exec_hook = sandbox_inner_hook;
	_exit(bwrap_main((int)plan->argc + 1, argv));
#endif
}

/* What a run of bubblewrap said and did. */
struct sandbox_run_result {
	int status;                /* exit code, or 128+signal */
	char err[SANDBOX_ERR_MAX]; /* its "bwrap: " lines */
	size_t errlen;
};

/* Streams one line from bubblewrap: fatal "bwrap:" lines are kept for the verdict. */
static void sandbox_run_line(struct sandbox_run_result *r, const char *line, size_t len)
{
	if (len >= 6 && strncmp(line, "bwrap:", 6) == 0) {
		size_t n =
		    len < sizeof r->err - r->errlen - 1 ? len : sizeof r->err - r->errlen - 1;
		memcpy(r->err + r->errlen, line, n);
		r->errlen += n;
		r->err[r->errlen] = '\0';
		return;
	}
	if (write(2, line, len) < 0) {
		/* stderr gone: nothing else to tell */
	}
}

/*
 * Compiles the filter for NET and sends it down PIPE. libseccomp writes into
 * a memfd (it hides a write error's errno), which is then copied here, so a
 * pipe whose reader is gone (bubblewrap failed early) is told apart: that is
 * not an error of ours, bubblewrap's own message says why.
 */
static int sandbox_run_send_filter(enum policy_net net, bool fs_restricted, int pipe, char **cause)
{
	int mfd = memfd_create("airlock-seccomp", MFD_CLOEXEC), rc = 0;
	char buf[4096];
	ssize_t n;

	if (mfd < 0) {
		*cause = xasprintf("memfd_create: %s", strerror(errno));
		return -errno;
	}
	if ((rc = sandbox_seccomp_export(net, fs_restricted, mfd, cause)) < 0) {
		close(mfd);
		return rc;
	}
	for (off_t off = 0; rc == 0 && (n = pread(mfd, buf, sizeof buf, off)) > 0; off += n) {
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(pipe, buf + done, (size_t)(n - done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				if (errno != EPIPE) {
					rc = -errno;
					*cause = xasprintf("writing the seccomp filter: %s",
					                   strerror(errno));
				}
				n = 0;
				break;
			}
			done += w;
		}
		if (n == 0)
			break;
	}
	close(mfd);
	return rc;
}

/*
 * Runs bubblewrap with PLAN once; fills R. While bubblewrap sets up, this
 * process compiles the seccomp filter for NET into a pipe the inner stage
 * reads (see sandbox-seccomp.c).
 */
static void sandbox_run_once(const struct sandbox_plan *plan, enum policy_net net,
                             bool fs_restricted, struct sandbox_run_result *r)
{
	int fds[2], bpf[2], real_err, status;
	char *cause = NULL;
	char buf[4096], line[4096];
	size_t linelen = 0;
	ssize_t n;
	pid_t pid;

	memset(r, 0, sizeof *r);
	if (pipe2(fds, O_CLOEXEC) != 0)
		sandbox_die("pipe: %s", strerror(errno));
	real_err = fcntl(2, F_DUPFD, 3); /* no CLOEXEC: the inner stage gets it */
	if (real_err < 0)
		sandbox_die("dup of stderr: %s", strerror(errno));
	/* The filter's pipe: the read end is inherited by the inner stage. */
	if (pipe2(bpf, O_CLOEXEC) != 0 || fcntl(bpf[0], F_SETFD, 0) != 0)
		sandbox_die("pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		sandbox_die("fork: %s", strerror(errno));
	if (pid == 0) {
		/* No exec before bwrap_main: close by hand what CLOEXEC would have. */
		close(fds[0]);
		close(bpf[1]);
		if (sandbox_run_report_fd >= 0)
			close(sandbox_run_report_fd);
		sandbox_run_child(plan, fds[1], real_err, bpf[0]);
	}
	sandbox_run_child_pid = pid;
	if (sandbox_run_ending != 0)
		kill(pid, sandbox_run_ending);
	close(fds[1]);
	close(real_err);
	close(bpf[0]);
	/* Here only (the child is forked already): bubblewrap may be gone before the filter
	 * is written, which is not an error of ours; its own message tells why. */
	signal(SIGPIPE, SIG_IGN);
	if (sandbox_run_send_filter(net, fs_restricted, bpf[1], &cause) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		sandbox_die("%s", cause);
	}
	close(bpf[1]);
	int wake[2];
	if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0)
		sandbox_die("pipe: %s", strerror(errno));
	sandbox_run_wake = wake[1];
	if (sandbox_run_interrupt != 0)
		sandbox_run_pass_interrupt(pid);
	/* bubblewrap's end, seen at once: what it leaves behind (a sandbox whose setup it
	 * did not finish) is this helper's, a subreaper, to end (sandbox_run_end_orphans). */
	int gone = (int)syscall(SYS_pidfd_open, pid, 0);
	for (;;) {
		struct pollfd pfd[3] = {{.fd = fds[0], .events = POLLIN},
		                        {.fd = wake[0], .events = POLLIN},
		                        {.fd = gone, .events = POLLIN}};
		if (poll(pfd, gone >= 0 ? 3 : 2, -1) < 0) {
			if (errno != EINTR)
				sandbox_die("poll: %s", strerror(errno));
			continue;
		}
		if (gone >= 0 && pfd[2].revents != 0) {
			sandbox_run_end_orphans(pid);
			close(gone);
			gone = -1;
		}
		if (pfd[1].revents != 0) {
			while (read(wake[0], buf, sizeof buf) > 0)
				;
			sandbox_run_pass_interrupt(pid);
		}
		if (pfd[0].revents == 0)
			continue;
		n = read(fds[0], buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			line[linelen++] = buf[i];
			if (buf[i] == '\n' || linelen == sizeof line) {
				sandbox_run_line(r, line, linelen);
				linelen = 0;
			}
		}
	}
	if (gone >= 0)
		close(gone);
	sandbox_run_wake = -1;
	close(wake[0]);
	close(wake[1]);
	if (linelen > 0)
		sandbox_run_line(r, line, linelen);
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			sandbox_die("waitpid: %s", strerror(errno));
		sandbox_run_pass_interrupt(pid);
	}
	sandbox_run_child_pid = 0;
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* True when bubblewrap's text says it could not mount /proc for a reason worth a retry. */
static bool sandbox_run_proc_failed(const char *err)
{
	return strstr(err, "Can't mount proc") != NULL &&
	       (strstr(err, "Invalid argument") != NULL ||
	        strstr(err, "Operation not permitted") != NULL ||
	        strstr(err, "Permission denied") != NULL);
}

/* Dies with one line explaining bubblewrap's failure text ERR. */
static void __attribute__((noreturn)) sandbox_run_fail(const char *err)
{
	char *first = xstrndup(err, strcspn(err, "\n"));
	const char *msg = first + 6;

	while (*msg == ' ')
		msg++;
	if (strstr(err, "namespace") != NULL || strstr(err, "uid map") != NULL ||
	    strstr(err, "setting up uid") != NULL)
		sandbox_die("cannot create the sandbox's user namespace (%s): run `airlock doctor` "
		            "for what to do on this host",
		            msg);
	sandbox_die("the sandbox could not be set up: %s; run `airlock doctor` for what to do "
	            "on this host",
	            msg);
}

/*
 * After the run: an index the command changed that registers an embedded
 * repository as a gitlink is said, as the check's reports are (host git
 * status enters that repository; the check above has made it harmless).
 */
static void sandbox_run_gitlinks(const struct sandbox_plan *plan, struct timespec since,
                                 int report_fd)
{
	for (size_t i = 0; i < plan->n_git_dirs; i++) {
		const char *g = plan->git_dirs[i];
		size_t len = strlen(g), n = 0;
		char *index, *top, **links = NULL;
		struct stat st;
		if (len < 5 || strcmp(g + len - 5, "/.git") != 0)
			continue; /* a worktree's own .git only */
		index = xasprintf("%s/index", g);
		bool changed =
		    stat(index, &st) == 0 &&
		    (st.st_ctim.tv_sec > since.tv_sec ||
		     (st.st_ctim.tv_sec == since.tv_sec && st.st_ctim.tv_nsec >= since.tv_nsec));
		free(index);
		if (!changed)
			continue;
		top = xstrndup(g, len - 5);
		sandbox_gitlinks_embedded(g, top[0] != '\0' ? top : "/", &links, &n);
		for (size_t j = 0; j < n; j++) {
			struct sandbox_gitcheck_report r = {
			    .path = xasprintf("%s/%s/.git", top, links[j]),
			    .why = xasprintf("registered as a gitlink in the index of %s (host git "
			                     "status enters it)",
			                     top),
			};
			sandbox_gitcheck_print(&r, 1, report_fd);
			free(r.path);
			free(r.why);
			free(links[j]);
		}
		free(links);
		free(top);
	}
}

/*
 * After the run: git repositories the command planted or changed in the
 * writable roots are reported (stderr, and REPORT_FD for the audit log when
 * given) and made harmless (sandbox-gitcheck.c).
 */
static void sandbox_run_gitcheck(const struct sandbox_plan *plan, struct timespec since,
                                 int report_fd)
{
	struct sandbox_gitcheck_report *reports = NULL;
	size_t n = 0;

	if (plan->n_write_roots == 0)
		return;
	if (sandbox_gitcheck_scan(plan->write_roots, plan->n_write_roots, plan->git_dirs,
	                          plan->n_git_dirs, since, &reports, &n) == 0 &&
	    n > 0)
		sandbox_gitcheck_print(reports, n, report_fd);
	sandbox_gitcheck_free(reports, n);
	sandbox_run_gitlinks(plan, since, report_fd);
}

/* Plans, runs bubblewrap (retrying once without /proc if needed), cleans up. */
int sandbox_run(const struct sandbox_opts *opts, const char *exe)
{
	struct policy_resolved res;
	struct sandbox_facts facts = {0};
	struct sandbox_plan plan;
	struct sandbox_run_result *r = xcalloc(1, sizeof *r);
	struct sigaction sa = {.sa_handler = sandbox_run_forward};
	char *cause = NULL;
	int status;

	if (policy_resolve(&opts->policy, opts->policy_cwd, getenv("TMPDIR"), &res, &cause) < 0)
		sandbox_die("%s", cause);
	struct sandbox_plan_in in = {
	    .res = &res,
	    .command_cwd = opts->command_cwd,
	    .exe = exe,
	    .no_proc = opts->no_proc,
	    .hide_pid1 = opts->no_landlock || !sandbox_scope_available(),
	    .landlock = !opts->no_landlock && sandbox_scope_available(),
	    .git = opts->git,
	    .protected_paths = opts->protected_paths,
	    .n_protected_paths = opts->n_protected_paths,
	    .protect_home = opts->protect_home,
	    .n_protect_home = opts->n_protect_home,
	    .hide = opts->hide,
	    .n_hide = opts->n_hide,
	    .keep_sockets = opts->host_sockets,
	    .n_keep_sockets = opts->n_host_sockets,
	    .command = opts->command,
	};
	/* What bubblewrap leaves when it dies mid-setup comes to this helper (see
	 * sandbox_run_end_orphans), never to init. */
	if (!opts->print_plan)
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	struct proxy_route *route = proxy_route_outer_start(opts); /* network proxy: bridges */
	/* From here on (the bridge keeps the default handlers) a SIGTERM or SIGHUP ends the
	 * run through bubblewrap, so the covers made below are removed and the git check
	 * runs; before, the default action ended the helper where it stood. */
	sigemptyset(&sa.sa_mask);
	if (!opts->print_plan) {
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		sigaction(SIGQUIT, &sa, NULL);
	}
	struct sandbox_covers covers = {0};
	for (int attempt = 0;; attempt++) {
		sandbox_facts_gather(&facts, &in);
		if (sandbox_plan_build(&in, &facts, &plan, &cause) < 0)
			sandbox_die("%s", cause);
		if (opts->print_plan || sandbox_covers_acquire(&covers, &plan) == 0)
			break;
		/* Another sandbox removed a cover this plan relies on: look again. */
		sandbox_covers_release(&covers);
		if (attempt == SANDBOX_PLAN_ATTEMPTS)
			sandbox_die("the protected paths keep changing under the sandbox (another "
			            "airlock removing them?); try again");
		sandbox_plan_free(&plan);
		sandbox_facts_free(&facts);
	}
	if (opts->print_plan) {
		for (size_t i = 0; i < plan.argc; i++)
			printf("%s\n", plan.argv[i]);
		sandbox_plan_free(&plan);
		sandbox_facts_free(&facts);
		policy_resolved_free(&res);
		free(r);
		return 0;
	}
	/* The report descriptor never reaches the sandbox: a command could forge lines. */
	if (opts->report_fd >= 0 && fcntl(opts->report_fd, F_SETFD, FD_CLOEXEC) != 0)
		sandbox_die("--report-fd %d: %s", opts->report_fd, strerror(errno));
	sandbox_run_report_fd = opts->report_fd;
	struct timespec started;
	clock_gettime(CLOCK_REALTIME_COARSE, &started); /* the clock file times come from */
	sandbox_run_once(&plan, res.net, res.kind == POLICY_FS_RESTRICTED, r);
	if (r->status != 0 && !in.no_proc && sandbox_run_ending == 0 &&
	    sandbox_run_proc_failed(r->err)) {
		const char *why = strstr(r->err, "Can't mount proc");
		fprintf(stderr,
		        "airlock: bubblewrap cannot mount /proc here (%.*s); running again "
		        "without --proc /proc\n",
		        (int)strcspn(why, "\n"), why);
		sandbox_plan_free(&plan);
		in.no_proc = true; /* same paths: the covers and their locks stay */
		if (sandbox_plan_build(&in, &facts, &plan, &cause) < 0)
			sandbox_die("%s", cause);
		sandbox_run_once(&plan, res.net, res.kind == POLICY_FS_RESTRICTED, r);
	}
	proxy_route_outer_stop(route);
	sandbox_covers_release(&covers);
	sandbox_run_gitcheck(&plan, started, opts->report_fd);
	sandbox_plan_free(&plan);
	sandbox_facts_free(&facts);
	policy_resolved_free(&res);
	if (r->errlen > 0 && r->status != 0)
		sandbox_run_fail(r->err);
	if (r->errlen > 0 && write(2, r->err, r->errlen) < 0) {
		/* stderr gone */
	}
	status = r->status;
	free(r);
	return status;
}
