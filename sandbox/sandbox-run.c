/*
 * The outer stage: resolve, gather facts, plan, then act.
 *
 * Acting means running bubblewrap in a child (the vendored copy is a
 * function, bwrap_main, called in the forked child; a system bwrap is
 * exec'd) and waiting for it. The child's stderr is a pipe, so the helper
 * sees what bubblewrap itself says; the caller's real stderr reaches the
 * command through a descriptor named in the inner-stage marker, so the
 * command's own output never passes through the helper. Lines from
 * bubblewrap are streamed, except its fatal "bwrap: ..." lines, which the
 * helper turns into one `airlock: ...` line and exit status 125 (with what to
 * do when user namespaces are off), or into one retry without --proc /proc
 * when /proc cannot be mounted. After the run the mount points bubblewrap
 * had to create on the host are removed, so nothing is left behind.
 */
#include "sandbox/sandbox.h"
#include "sandbox/proxy-route.h"

#include "core/xmalloc.h"

#include "build-config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SANDBOX_ERR_MAX 8192 /* bubblewrap error text kept for diagnosis */

#ifndef SYSTEM_BWRAP
int bwrap_main(int argc, char **argv);
/* Declared weak so that non-sanitizer builds link; see sandbox_run_child. */
void __lsan_disable(void) __attribute__((weak));
#endif

static volatile sig_atomic_t sandbox_run_child_pid;

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

/* Forwards a terminating signal to bubblewrap, which takes the sandbox down with it. */
static void sandbox_run_forward(int sig)
{
	if (sandbox_run_child_pid > 0)
		kill((pid_t)sandbox_run_child_pid, sig);
}

/* In the child: stderr to the pipe, the marker for the inner stage, then bubblewrap. */
static void __attribute__((noreturn))
sandbox_run_child(const struct sandbox_plan *plan, int errw, int real_err)
{
	struct stat st;
	char *marker, **argv;

	if (stat("/proc/self/ns/user", &st) != 0)
		st.st_ino = 0;
	marker = xasprintf("%llu:%d", (unsigned long long)st.st_ino, real_err);
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

/* Runs bubblewrap with PLAN once; fills R. */
static void sandbox_run_once(const struct sandbox_plan *plan, struct sandbox_run_result *r)
{
	int fds[2], real_err, status;
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
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		sandbox_die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(fds[0]);
		sandbox_run_child(plan, fds[1], real_err);
	}
	sandbox_run_child_pid = pid;
	close(fds[1]);
	close(real_err);
	for (;;) {
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
	if (linelen > 0)
		sandbox_run_line(r, line, linelen);
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			sandbox_die("waitpid: %s", strerror(errno));
	sandbox_run_child_pid = 0;
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Removes the mount points bubblewrap created on the host, when still empty. */
static void sandbox_run_cleanup(const struct sandbox_plan *plan)
{
	for (size_t i = plan->n_cleanup; i-- > 0;) {
		const char *p = plan->cleanup[i];
		struct stat st;
		if (lstat(p, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode))
			rmdir(p); /* fails, and keeps it, unless empty */
		else if (S_ISREG(st.st_mode) && st.st_size == 0)
			unlink(p);
	}
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
		sandbox_die("cannot create the sandbox's user namespace (%s): unprivileged user "
		            "namespaces are off; enable them (as root: sysctl -w "
		            "kernel.unprivileged_userns_clone=1 on Debian kernels, sysctl -w "
		            "user.max_user_namespaces=15000, and on Ubuntu sysctl -w "
		            "kernel.apparmor_restrict_unprivileged_userns=0), or run with "
		            "--use-legacy-landlock",
		            msg);
	sandbox_die("the sandbox could not be set up: %s", msg);
}

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
	    .git = opts->git,
	    .protected_paths = opts->protected_paths,
	    .n_protected_paths = opts->n_protected_paths,
	    .protect_home = opts->protect_home,
	    .n_protect_home = opts->n_protect_home,
	    .hide = opts->hide,
	    .n_hide = opts->n_hide,
	    .command = opts->command,
	};
	struct proxy_route *route = proxy_route_outer_start(opts); /* network proxy: bridges */
	sandbox_facts_gather(&facts, &in);
	if (sandbox_plan_build(&in, &facts, &plan, &cause) < 0)
		sandbox_die("%s", cause);
	proxy_route_outer_plan(route, &plan);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	sandbox_run_once(&plan, r);
	if (r->status != 0 && !in.no_proc && sandbox_run_proc_failed(r->err)) {
		const char *why = strstr(r->err, "Can't mount proc");
		fprintf(stderr,
		        "airlock: bubblewrap cannot mount /proc here (%.*s); running again "
		        "without --proc /proc\n",
		        (int)strcspn(why, "\n"), why);
		sandbox_run_cleanup(&plan);
		sandbox_plan_free(&plan);
		in.no_proc = true;
		if (sandbox_plan_build(&in, &facts, &plan, &cause) < 0)
			sandbox_die("%s", cause);
		proxy_route_outer_plan(route, &plan);
		sandbox_run_once(&plan, r);
	}
	proxy_route_outer_stop(route);
	sandbox_run_cleanup(&plan);
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
