/*
 * `airlock exec`: one command, this terminal's stdio, no TUI, no prompts.
 *
 * Everything that can be checked is checked before anything runs: options
 * (exit 2), the policy (exit 2), the rules files (exit 2 with FILE:LINE:COL),
 * the audit log (a log that cannot be written refuses the run: 125). Then
 * the decision (SPEC section 4 with the approval policy, `never` by default):
 * forbidden, or anything that would need a prompt, is denied with 126; the
 * rest runs, in the sandbox helper unless an allow rule covers every part.
 * The decision is in the audit log before the command starts, and its exit
 * after it ends. The child runs under a libuv loop so that signals sent to
 * airlock reach it and its status becomes ours (128+N for signal N). It is
 * forked here (not uv_spawn) so that it can ask to die with airlock
 * (PR_SET_PDEATHSIG: the helper takes SIGTERM as "end the sandbox and clean
 * up", so even kill -9 of airlock leaves no command running) and get the
 * helper's report pipe, whose git lines go to the audit log after the run. With
 * `-n ask` the same loop serves the network proxy while the command runs;
 * its approval queue has policy `never`, so only rules and config.json's
 * domain lists decide, and each refusal is one line on stderr.
 * `--timeout SECONDS` bounds the run (SPEC 12): SIGTERM when the time is
 * up (the helper ends its sandbox on it), SIGKILL JOB_STOP_GRACE_MS later,
 * and status 124 whatever the command's own was, as timeout(1) does. exec
 * never prompts, so nothing pauses that clock.
 */
#include "tui/cli.h"

#include "core/approval.h"
#include "core/audit.h"
#include "core/config.h"
#include "core/decide.h"
#include "core/job.h"
#include "core/policy.h"
#include "core/proxy-session.h"
#include "core/rules.h"
#include "core/sandbox-command.h"
#include "core/xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

extern char **environ;

/* Exit statuses of SPEC section 1. */
#define EXEC_TIMED_OUT      124
#define EXEC_NOT_FOUND      127
#define EXEC_DENIED         126
#define EXEC_SANDBOX_FAILED 125
#define EXEC_USAGE          2

/* Signals airlock passes on to the command while it waits for it. */
static const int exec__forwarded[] = {SIGTERM, SIGHUP, SIGINT, SIGQUIT};
#define EXEC__N_FORWARDED (sizeof exec__forwarded / sizeof exec__forwarded[0])

/* One run: the child and the handles that wait for it. */
struct exec__run {
	uv_loop_t loop;
	pid_t pid;
	uv_signal_t sigchld;
	uv_signal_t signals[EXEC__N_FORWARDED];
	int status;
	struct proxy_session *proxy; /* -n ask: closed when the child exits */
	/* The helper's post-run git report (--report-fd): its pipe's read end and what came. */
	uv_poll_t report_poll;
	int report_fd;
	char *report;
	size_t report_len;
	struct decider *decider; /* -n ask: the proxy's queue asks it (SPEC 11), or NULL */
	/* --timeout: the deadline's timer, and whether it went off. */
	uv_timer_t deadline;
	bool deadline_set, timed_out;
	bool outside; /* runs with no sandbox: its time running out ends its children too */
};

/* The sandbox mode that a --sandbox-policy amounts to, for the decision. */
static enum decide_sandbox exec__policy_mode(const struct policy_split *split)
{
	if (split->fs.kind != POLICY_FS_RESTRICTED)
		return DECIDE_SANDBOX_DANGER_FULL_ACCESS;
	for (size_t i = 0; i < split->fs.n_entries; i++)
		if (split->fs.entries[i].access == POLICY_ACCESS_WRITE)
			return DECIDE_SANDBOX_WORKSPACE_WRITE;
	return DECIDE_SANDBOX_READ_ONLY;
}

/* Reads what the report pipe has; at end of file stops watching it. */
static void exec__report_read(struct exec__run *run)
{
	char chunk[4096];

	for (;;) {
		ssize_t n = read(run->report_fd, chunk, sizeof chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			uv_poll_stop(&run->report_poll);
			return;
		}
		run->report = xrealloc(run->report, run->report_len + (size_t)n + 1);
		memcpy(run->report + run->report_len, chunk, (size_t)n);
		run->report_len += (size_t)n;
		run->report[run->report_len] = '\0';
	}
}

/* The report pipe is readable. */
static void exec__on_report(uv_poll_t *p, int status, int events)
{
	(void)events;
	if (status < 0)
		uv_poll_stop(p);
	else
		exec__report_read(p->data);
}

/* Some child ended: when it is ours, records its status and stops waiting. */
static void exec__on_sigchld(uv_signal_t *h, int signum)
{
	struct exec__run *run = h->data;
	int st;

	(void)signum;
	if (waitpid(run->pid, &st, WNOHANG) != run->pid)
		return;
	run->status = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
	if (run->timed_out)
		run->status = EXEC_TIMED_OUT;
	if (run->deadline_set) {
		run->deadline_set = false;
		uv_close((uv_handle_t *)&run->deadline, NULL);
	}
	uv_close((uv_handle_t *)h, NULL);
	for (size_t i = 0; i < EXEC__N_FORWARDED; i++)
		uv_close((uv_handle_t *)&run->signals[i], NULL);
	if (run->report_fd >= 0) {
		/* The helper wrote its report before it ended: all of it is in the pipe. */
		exec__report_read(run);
		uv_close((uv_handle_t *)&run->report_poll, NULL);
	}
	if (run->proxy != NULL) {
		proxy_session_close(run->proxy, NULL, NULL);
		run->proxy = NULL;
	}
}

#define EXEC__TREE_MAX 4096 /* processes a timeout ends below an unsandboxed command */

/*
 * Sends SIG to PID and to every process below it, found through each one's
 * /proc children list (all of its threads'), parents first. A sandboxed
 * run's helper ends its sandbox itself; a command run outside has no one
 * else to end what it started.
 */
static void exec__signal_tree(pid_t pid, int sig)
{
	pid_t *todo = xmalloc(EXEC__TREE_MAX * sizeof *todo);
	size_t n = 0;

	todo[n++] = pid;
	for (size_t i = 0; i < n; i++) {
		char *dir = xasprintf("/proc/%d/task", (int)todo[i]);
		DIR *d = opendir(dir);
		struct dirent *de;

		while (d != NULL && (de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			char *path = xasprintf("%s/%s/children", dir, de->d_name);
			FILE *f = fopen(path, "r");
			long c;

			while (f != NULL && n < EXEC__TREE_MAX && fscanf(f, "%ld", &c) == 1)
				todo[n++] = (pid_t)c;
			if (f != NULL)
				fclose(f);
			free(path);
		}
		if (d != NULL)
			closedir(d);
		free(dir);
	}
	for (size_t i = 0; i < n; i++)
		kill(todo[i], sig);
	free(todo);
}

/* The time is up: SIGTERM now, SIGKILL after the grace if it still runs (SPEC 12). */
static void exec__on_deadline(uv_timer_t *t)
{
	struct exec__run *run = t->data;
	int sig = run->timed_out ? SIGKILL : SIGTERM;

	if (run->outside)
		exec__signal_tree(run->pid, sig);
	else
		kill(run->pid, sig);
	if (!run->timed_out) {
		run->timed_out = true;
		uv_timer_start(t, exec__on_deadline, JOB_STOP_GRACE_MS, 0);
	}
}

/* Passes a signal airlock received on to the command. */
static void exec__on_signal(uv_signal_t *s, int signum)
{
	struct exec__run *run = s->data;

	kill(run->pid, signum);
}

/*
 * In the child: dies with airlock (PR_SET_PDEATHSIG, then a check that the
 * parent is still PARENT, so a parent that died first is seen), gets the
 * report pipe REPORT_W as JOB_REPORT_FD, and execs. Never returns.
 */
static void exec__child(char *const argv[], const char *cwd, char **env, pid_t parent,
                        int report_w)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
		_exit(EXEC_SANDBOX_FAILED);
	if (report_w == JOB_REPORT_FD)
		fcntl(report_w, F_SETFD, 0);
	else if (report_w >= 0 && dup2(report_w, JOB_REPORT_FD) < 0)
		_exit(EXEC_SANDBOX_FAILED);
	if (cwd != NULL && chdir(cwd) != 0) {
		fprintf(stderr, "airlock: cannot enter %s: %s\n", cwd, strerror(errno));
		_exit(EXEC_SANDBOX_FAILED);
	}
	if (env != NULL)
		execvpe(argv[0], argv, env);
	else
		execvp(argv[0], argv);
	fprintf(stderr, "airlock: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? EXEC_NOT_FOUND : EXEC_SANDBOX_FAILED);
}

/*
 * Runs ARGV (argv[0] looked up in PATH) on RUN's loop to its end, with the
 * environment ENV (NULL: this process's); returns its status. The caller
 * closes what is left (the proxy) and runs the loop out.
 */
static int exec__spawn(struct exec__run *run, char *const argv[], const char *cwd, char **env,
                       bool report, uint64_t timeout_ms)
{
	int rep[2] = {-1, -1};
	pid_t parent = getpid();

	run->status = EXEC_SANDBOX_FAILED;
	run->report_fd = -1;
	run->outside = !report;
	if (report && pipe2(rep, O_CLOEXEC) != 0) {
		fprintf(stderr, "airlock: cannot make a pipe: %s\n", strerror(errno));
		return EXEC_SANDBOX_FAILED;
	}
	/* Watch SIGCHLD before forking, so a command that ends at once is seen. */
	uv_signal_init(&run->loop, &run->sigchld);
	run->sigchld.data = run;
	uv_signal_start(&run->sigchld, exec__on_sigchld, SIGCHLD);
	fflush(NULL);
	run->pid = fork();
	if (run->pid == 0)
		exec__child(argv, cwd, env, parent, rep[1]);
	if (rep[1] >= 0)
		close(rep[1]);
	if (run->pid < 0) {
		fprintf(stderr, "airlock: cannot run %s: %s\n", argv[0], strerror(errno));
		uv_close((uv_handle_t *)&run->sigchld, NULL);
		if (rep[0] >= 0)
			close(rep[0]);
		return EXEC_SANDBOX_FAILED;
	}
	if (rep[0] >= 0) {
		run->report_fd = rep[0];
		fcntl(rep[0], F_SETFL, fcntl(rep[0], F_GETFL) | O_NONBLOCK);
		uv_poll_init(&run->loop, &run->report_poll, rep[0]);
		run->report_poll.data = run;
		uv_poll_start(&run->report_poll, UV_READABLE, exec__on_report);
	}
	for (size_t i = 0; i < EXEC__N_FORWARDED; i++) {
		uv_signal_init(&run->loop, &run->signals[i]);
		run->signals[i].data = run;
		uv_signal_start(&run->signals[i], exec__on_signal, exec__forwarded[i]);
	}
	if (timeout_ms > 0) {
		uv_timer_init(&run->loop, &run->deadline);
		run->deadline.data = run;
		run->deadline_set = true;
		uv_timer_start(&run->deadline, exec__on_deadline, timeout_ms, 0);
	}
	uv_run(&run->loop, UV_RUN_DEFAULT);
	return run->status;
}

/*
 * -n ask: starts the proxy on RUN's loop with a `never` approval queue made
 * from RULES, AUDIT and config.json, exports its variables, and points SC at
 * the proxy network policy. Returns 0, or an exit status after saying why.
 */
static int exec__start_proxy(struct exec__run *run, const struct cli_options *opts,
                             struct rules *rules, struct audit *audit,
                             struct approval_queue **queue, char **fs_json,
                             struct sandbox_command *sc)
{
	const struct config *cfg = &opts->config;
	char *cause = NULL;
	int rc;

	if ((*fs_json = proxy_session_fs_policy(
	         sc->policy_json != NULL ? sc->policy_json : sc->fs_policy_json, &cause)) == NULL) {
		fprintf(stderr, "airlock: %s\n", cause);
		free(cause);
		return EXEC_USAGE;
	}
	struct approval_config acfg = {
	    .approval = DECIDE_APPROVAL_NEVER,
	    .rules = rules,
	    .home = opts->home,
	    .audit = audit,
	    .allowed_domains = (const char *const *)cfg->allowed_domains,
	    .n_allowed_domains = cfg->n_allowed_domains,
	    .denied_domains = (const char *const *)cfg->denied_domains,
	    .n_denied_domains = cfg->n_denied_domains,
	};
	struct decider_spec dspec;
	if (cli_decider_spec(opts, false, &dspec))
		run->decider = decider_new(&run->loop, &dspec);
	acfg.decider = run->decider;
	*queue = approval_queue_new(&acfg);
	rc = proxy_session_start(&run->loop, *queue, &run->proxy);
	if (rc < 0) {
		fprintf(stderr, "airlock: cannot start the network proxy: %s\n", strerror(-rc));
		return EXEC_SANDBOX_FAILED;
	}
	proxy_session_set_refusals(run->proxy, stderr);
	proxy_session_set_head_timeout(run->proxy, cfg->head_timeout_ms);
	if (proxy_session_set_allow_private(run->proxy, (const char *const *)cfg->allow_private,
	                                    cfg->n_allow_private, &cause) != 0) {
		fprintf(stderr, "airlock: %s\n", cause);
		free(cause);
		return EXEC_USAGE;
	}
	char **env = proxy_session_env(run->proxy);
	for (char **e = env; *e != NULL; e++) {
		char *eq = strchr(*e, '=');
		*eq = '\0';
		setenv(*e, eq + 1, 1);
	}
	proxy_env_free(env);
	sc->policy_json = NULL;
	sc->fs_policy_json = *fs_json;
	sc->net_policy = "\"proxy\"";
	return 0;
}

/* Which audit "by" a decision that RES reached without a prompt goes under. */
static enum audit_by exec__by(const struct decide_result *res)
{
	return res->rule != NULL ? AUDIT_BY_RULE : AUDIT_BY_POLICY;
}

/* The "FILE:LINE" of the deciding rule, or NULL; caller frees. */
static char *exec__rule_ref(const struct decide_result *res)
{
	return res->rule != NULL ? xasprintf("%s:%u", res->rule->file, res->rule->line) : NULL;
}

/* The decider's answer about the command, as exec__ask_decider waits for it. */
struct exec__verdict {
	bool done;
	bool failed;
	enum decider_verdict verdict;
	char *reason; /* owned */
};

/* The decider answered. */
static void exec__decided(enum decider_verdict v, const char *reason, bool failed, void *data)
{
	struct exec__verdict *a = data;

	a->done = true;
	a->failed = failed;
	a->verdict = v;
	a->reason = xstrdup(reason);
}

/*
 * Asks the decider OPTS names (SPEC 11) about OPTS's command, which RES
 * would prompt for or refuse for want of a prompt, on a loop of its own,
 * and waits for the answer into *OUT (OUTSIDE: its allow runs it with no
 * sandbox). Returns false when none is named.
 */
static bool exec__ask_decider(const struct cli_options *opts, const struct decide_result *res,
                              bool outside, struct exec__verdict *out)
{
	struct decider_spec spec;
	struct decider *d;
	uv_loop_t loop;

	if (!cli_decider_spec(opts, false, &spec))
		return false;
	if (uv_loop_init(&loop) != 0) {
		exec__decided(DECIDER_ASK, "no event loop to ask the decider on", true, out);
		return true;
	}
	struct decider_query q = {
	    .kind = "exec",
	    .words = opts->argv,
	    .n_words = (size_t)opts->argc,
	    .cwd = opts->cwd,
	    .from = "cli",
	    .reason = res->reason,
	    .outside = outside,
	};
	d = decider_new(&loop, &spec);
	decider_ask(d, &q, exec__decided, out);
	while (!out->done && uv_run(&loop, UV_RUN_ONCE) != 0)
		;
	if (!out->done)
		exec__decided(DECIDER_ASK, "the decider gave no answer", true, out);
	decider_free(d);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	return true;
}

/* Decides about and runs OPTS's command with the sandbox helper HELPER. */
static int exec__decide_and_run(const struct cli_options *opts, enum decide_sandbox mode,
                                const char *helper, struct rules *rules, struct audit *audit)
{
	struct decide_input in = {
	    .argc = (size_t)opts->argc,
	    .argv = opts->argv,
	    .cwd = opts->cwd,
	    .sandbox = mode,
	    .rules = rules,
	};
	struct decide_result res;
	int status;

	if (decide_approval_parse(opts->approval, &in.approval) != 0)
		return EXEC_USAGE;
	decide_command(&in, &res);
	/*
	 * What would prompt (or, under never, is refused for want of a prompt)
	 * goes to the decider, if one is named; a forbidden rule never does.
	 * Its allow runs the command as a human's "once" would (in the sandbox,
	 * SPEC 4); its deny, ask or silence refuses: nobody here can answer.
	 */
	struct exec__verdict dv = {0};
	/* A prompt rule's or dangerous command's prompt that -a reject:rules refuses is refused
	 * unasked, by its kind, as in the TUI (SPEC 12): neither the decider nor anyone else. */
	bool rejected = res.decision != DECIDE_ALLOW && (opts->reject & APPROVAL_REJECT_RULES) != 0 &&
	                decide_prompts_by_rule(&res);
	bool asked = !rejected && res.decision != DECIDE_ALLOW &&
	             !(res.rule != NULL && res.rule->decision == RULES_FORBIDDEN) &&
	             exec__ask_decider(opts, &res, mode == DECIDE_SANDBOX_DANGER_FULL_ACCESS, &dv);
	bool by_decider = asked && !dv.failed && dv.verdict != DECIDER_ASK;
	bool allowed = asked ? by_decider && dv.verdict == DECIDER_ALLOW
	                     : res.decision == DECIDE_ALLOW;
	char *why = rejected ? xasprintf("rejected by policy (reject:%s): %s",
	                                 approval_reject_name(APPROVAL_REJECT_RULES), res.reason)
	            : asked && !by_decider
	                ? xasprintf("%s (exec never prompts; the decider %s: %s)", res.reason,
	                            dv.failed ? "failed" : "asks", dv.reason)
	                : NULL;
	char *ref = asked ? NULL : exec__rule_ref(&res);
	struct audit_decision line = {
	    .kind = AUDIT_EXEC,
	    .words = opts->argv,
	    .n_words = (size_t)opts->argc,
	    .allow = allowed,
	    .by = by_decider ? AUDIT_BY_DECIDER
	          : asked || rejected ? AUDIT_BY_POLICY
	                              : exec__by(&res),
	    .rule = ref,
	    .scope = AUDIT_SCOPE_ONCE,
	    .sandboxed = allowed && (asked ? mode != DECIDE_SANDBOX_DANGER_FULL_ACCESS
	                                   : res.sandboxed),
	    .requests = 1,
	    .cwd = opts->cwd,
	    .from = "cli",
	    .reason = by_decider ? dv.reason : why,
	};
	int rc = audit_decision(audit, &line);
	free(ref);
	if (rc != 0) {
		fprintf(stderr, "airlock: cannot write the audit log %s: %s; nothing was run\n",
		        audit_path(audit), strerror(-rc));
		decide_result_free(&res);
		free(dv.reason);
		free(why);
		return EXEC_SANDBOX_FAILED;
	}
	if (!allowed) {
		/* A forbidden rule forbids; anything else here is what would have prompted. */
		if (res.rule != NULL && res.rule->decision == RULES_FORBIDDEN)
			fprintf(stderr, "airlock: forbidden by %s:%u: %s\n", res.rule->file,
			        res.rule->line, res.reason);
		else if (by_decider)
			fprintf(stderr, "airlock: denied by the decider: %s\n", dv.reason);
		else if (why != NULL)
			fprintf(stderr, "airlock: denied: %s\n", why);
		else
			fprintf(stderr,
			        "airlock: denied: %s (exec never prompts: approve it in the TUI, "
			        "or add a rule)\n",
			        res.reason);
		decide_result_free(&res);
		free(dv.reason);
		free(why);
		return EXEC_DENIED;
	}
	free(dv.reason);
	free(why);

	bool sandboxed = asked ? mode != DECIDE_SANDBOX_DANGER_FULL_ACCESS : res.sandboxed;
	decide_result_free(&res);
	struct exec__run run = {.report_fd = -1};
	struct approval_queue *queue = NULL;
	char *fs_json = NULL;
	rc = uv_loop_init(&run.loop);
	if (rc != 0) {
		fprintf(stderr, "airlock: cannot start an event loop: %s\n", uv_strerror(rc));
		return EXEC_SANDBOX_FAILED;
	}
	uint64_t t0 = uv_hrtime();
	if (sandboxed) {
		char *policy = cli_options_policy(opts);
		struct sandbox_command sc = {
		    .helper = helper,
		    .cwd = opts->cwd,
		    .argv = opts->argv,
		};
		cli_options_sandbox_policy(opts, policy, &sc);
		cli_options_sandbox(opts, &sc);
		sc.report_fd = JOB_REPORT_FD;
		status = 0;
		if (strcmp(opts->network, "ask") == 0)
			status = exec__start_proxy(&run, opts, rules, audit, &queue, &fs_json, &sc);
		if (status == 0) {
			/* After the proxy's variables are set: they pass, secrets do not. */
			char **env = sandbox_command_env(&sc, environ);
			char **argv = sandbox_command_argv(&sc);
			status = exec__spawn(&run, argv, opts->cwd, env, true, opts->timeout_ms);
			sandbox_command_argv_free(argv);
			free(env);
		}
		free(policy);
	} else {
		/* Outside the sandbox by a rule: the whole environment (core/sandbox-command). */
		status = exec__spawn(&run, opts->argv, opts->cwd, NULL, false, opts->timeout_ms);
	}
	if (run.proxy != NULL)
		proxy_session_close(run.proxy, NULL, NULL);
	uv_run(&run.loop, UV_RUN_DEFAULT);
	if (queue != NULL)
		approval_queue_free(queue);
	if (run.decider != NULL) {
		decider_free(run.decider);
		uv_run(&run.loop, UV_RUN_DEFAULT); /* its handles close */
	}
	uv_loop_close(&run.loop);
	free(fs_json);
	if (run.report_fd >= 0)
		close(run.report_fd);
	/* The helper's git report: one audit line each (it said so on stderr itself). */
	for (char *save = NULL, *r = run.report != NULL ? strtok_r(run.report, "\n", &save) : NULL;
	     r != NULL; r = strtok_r(NULL, "\n", &save))
		if (audit_git(audit, r, opts->cwd, "cli") != 0)
			fprintf(stderr, "airlock: cannot write the git report to the audit log: %s\n",
			        r);
	free(run.report);
	audit_exit(audit, (size_t)opts->argc, opts->argv, status, (uv_hrtime() - t0) / 1000000,
	           sandboxed);
	return status;
}

int cmd_exec(const struct cli_options *opts)
{
	enum decide_sandbox mode;
	struct rules *rules;
	struct audit *audit;
	char *tried = NULL, *helper, *cause = NULL, *log_path;
	int status;

	if (opts->argc == 0) {
		fprintf(stderr,
		        "airlock: exec needs a command: airlock exec [OPTIONS] -- CMD ARG...\n");
		return EXEC_USAGE;
	}
	if (decide_sandbox_parse(opts->sandbox, &mode) != 0)
		return EXEC_USAGE;
	if (opts->sandbox_policy != NULL) {
		struct policy_split split;
		if (policy_parse(opts->sandbox_policy, &split, &cause) != 0) {
			fprintf(stderr, "airlock: --sandbox-policy: %s\n", cause);
			free(cause);
			return EXEC_USAGE;
		}
		mode = exec__policy_mode(&split);
		policy_split_free(&split);
	}
	rules = cli_options_rules(opts);
	if (rules_load_all(rules, opts->home, opts->cwd, &cause) != 0) {
		fprintf(stderr, "airlock: %s\n", cause);
		free(cause);
		rules_free(rules);
		return EXEC_USAGE;
	}
	helper = sandbox_command_helper(&tried);
	if (helper == NULL) {
		fprintf(stderr,
		        "airlock: cannot find the sandbox helper airlock-sandbox (looked at %s): "
		        "reinstall airlock or set AIRLOCK_SANDBOX_EXE; run `airlock doctor` for "
		        "what to do on this host\n",
		        tried);
		free(tried);
		rules_free(rules);
		return EXEC_SANDBOX_FAILED;
	}
	free(tried);
	log_path = audit_default_path();
	audit = log_path != NULL ? audit_open(log_path, &cause) : NULL;
	if (audit == NULL) {
		/* CAUSE names the path already ("PATH: error"). */
		fprintf(stderr,
		        "airlock: cannot open the audit log %s; nothing was run (run `airlock "
		        "doctor` for what to do on this host)\n",
		        cause != NULL ? cause : log_path != NULL ? log_path : "(no HOME)");
		free(cause);
		free(log_path);
		free(helper);
		rules_free(rules);
		return EXEC_SANDBOX_FAILED;
	}
	free(log_path);
	cli_audit_sync(audit, &opts->config);
	status = exec__decide_and_run(opts, mode, helper, rules, audit);
	audit_close(audit);
	free(helper);
	rules_free(rules);
	return status;
}
