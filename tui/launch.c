/*
 * Launching: from a typed line or an argv to a running pane, through the
 * decision. Every command first goes to core's approval queue
 * (approval_request), which decides at once (rules, caches, policy) or
 * queues a prompt; either way launch__decided() is called back with the
 * result, so nothing here waits. Allowed commands start on a pty through
 * core/job, wrapped in the sandbox helper's argv (core/sandbox-command)
 * unless the decision says they run outside it. Under on-failure a
 * sandboxed run that looks denied (decide_looks_denied over the output's
 * tail) asks again, as a `retry`, and an approval reruns the command
 * outside the sandbox in the same pane.
 *
 * Each decision is one line in the pane it concerns (pane_note); each exit
 * is one audit line.
 */
#include "tui/tui.h"

#include "core/decide.h"
#include "core/job.h"
#include "core/policy.h"
#include "core/proxy-session.h"
#include "core/sandbox-command.h"
#include "core/utf8.h"
#include "core/xmalloc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>

/* Room for the proxy's variables (proxy-session.h says 22). */
#define PROXY_ENV_MAX 32
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

/* The origins of a typed line and of airlock's own command line (the rest are agents'). */
#define LAUNCH__TYPED "typed at the input"
#define LAUNCH__CLI "airlock's command line"

/* What a pending decision needs to find its pane again. */
struct launch_req {
	struct tui *t;
	int pane_id;
	bool retry;
};

static void launch__decide(struct pane *p, bool retry);

/*
 * A big command (its words over LAUNCH__BIG bytes: a 200k-word argv) is
 * judged, then started, each a step of its own, two loop turns after the
 * step before: the keys typed meanwhile are read in the first turn and
 * drawn in the second, so no key waits for more than one step (issue 11).
 * A step finds its pane again by number and acts only while it waits.
 */
#define LAUNCH__BIG (64 * 1024)

struct launch__step {
	uv_idle_t idle;
	struct tui *t;
	int pane_id;
	int turns;      /* loop turns still to let go by */
	bool start;     /* false: decide; true: start */
	bool sandboxed; /* start: how */
};

/* Frees a step once its handle is closed. */
static void launch__step_closed(uv_handle_t *h)
{
	free(h->data);
}

/* A step's turn: after two turns, its work, if its pane still waits for it. */
static void launch__step_run(uv_idle_t *h)
{
	struct launch__step *s = h->data;
	struct pane *p;

	if (--s->turns > 0)
		return;
	uv_idle_stop(h);
	uv_close((uv_handle_t *)h, launch__step_closed);
	p = tui_pane_by_id(s->t, s->pane_id);
	if (p == NULL || p->state != PANE_WAITING)
		return;
	if (s->start)
		launch_start(p, s->sandboxed);
	else
		launch__decide(p, false);
}

/* Whether P's command is big enough to go a step at a time (and there is a loop to do it in). */
static bool launch__big(const struct pane *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->argc && n <= LAUNCH__BIG; i++)
		n += strlen(p->argv[i]) + 1;
	return n > LAUNCH__BIG && p->tui->loop != NULL;
}

/* Leaves P's next step (START it SANDBOXED, or decide) to a later loop turn. */
static void launch__later(struct pane *p, bool start, bool sandboxed)
{
	struct launch__step *s = xcalloc(1, sizeof *s);

	s->t = p->tui;
	s->pane_id = p->id;
	s->turns = 2;
	s->start = start;
	s->sandboxed = sandboxed;
	uv_idle_init(p->tui->loop, &s->idle);
	s->idle.data = s;
	uv_idle_start(&s->idle, launch__step_run);
}
static const char *launch__from(const struct pane *p);

/* Tells P's observer, once, how the command ended. */
/* Lets go of P's sinks: the requester's reader sees the end once the command's own copies went. */
static void launch__close_sinks(struct pane *p)
{
	for (int k = 0; p->sinks && k < 2; k++)
		if (p->sink[k] >= 0)
			close(p->sink[k]);
	p->sinks = false;
}

static void launch__done(struct pane *p, int status, bool denied)
{
	launch__close_sinks(p);
	tui_command_ended(p->tui);
	if (p->obs_done)
		return;
	p->obs_done = true;
	if (p->obs.done != NULL)
		p->obs.done(status, p->sandboxed, denied, p->obs.data);
	if (p->obs.free != NULL)
		p->obs.free(p->obs.data);
	memset(&p->obs, 0, sizeof p->obs);
}

/* Lets go of P's observer without telling it anything more. */
void launch_drop(struct pane *p)
{
	if (!p->obs_done && p->obs.free != NULL)
		p->obs.free(p->obs.data);
	p->obs_done = true;
	memset(&p->obs, 0, sizeof p->obs);
	launch__close_sinks(p);
	free(p->cwd);
	free(p->origin);
	free(p->justification);
	policy_permissions_free(&p->asked);
	policy_permissions_free(&p->perms);
	if (p->prefix_rule != NULL)
		for (size_t i = 0; p->prefix_rule[i] != NULL; i++)
			free(p->prefix_rule[i]);
	free(p->prefix_rule);
	p->cwd = p->justification = p->origin = NULL;
	p->prefix_rule = NULL;
}

/* Bytes from a pane's command. */
/*
 * Shows BUF in P. A command on pipes writes bare "\n"; the pane is a
 * terminal, so each becomes "\r\n" there (the observer got the bytes as
 * they were).
 */
static void launch__show(struct job *job, struct pane *p, const char *buf, size_t len)
{
	char *crlf = NULL;
	bool full;

	if (p->pipes && memchr(buf, '\n', len) != NULL) {
		size_t k = 0;

		crlf = xmalloc(len * 2);
		for (size_t i = 0; i < len; i++) {
			if (buf[i] == '\n' && (i == 0 || buf[i - 1] != '\r'))
				crlf[k++] = '\r';
			crlf[k++] = buf[i];
		}
		full = pane_queue(p, crlf, k);
		free(crlf);
	} else {
		full = pane_queue(p, buf, len);
	}
	/*
	 * An agent's command on pipes is never held back by its pane: the agent
	 * gets every byte, the pane what it can show, the oldest queued bytes
	 * going first when it falls behind (said in the pane at the end).
	 * Anything else waits for its pane (its output exists nowhere else).
	 */
	if (launch_relayed(p)) {
		/*
		 * Output that also goes to the agent's pipes is sampled: past a
		 * short queue the pane stops reading, its pipe fills, and the
		 * relays leave the rest of the flood out of its copy (counted),
		 * so the emulator takes a frame's share, not all the loop's time.
		 */
		full = p->pending_len >= PANE_RELAYED_PENDING;
	} else if (full && p->pipes && p->obs.output != NULL &&
	           p->pending_len > PANE_PENDING_MAX / 2) {
		size_t keep = PANE_PENDING_MAX / 2, drop = p->pending_len - keep;

		memmove(p->pending, p->pending + drop, keep);
		p->pending_len = keep;
		p->unshown += drop;
		full = false;
	}
	if (full && !p->paused) {
		job_pause(job);
		p->paused = true;
	}
	p->tui->pending = true; /* fed in steps by the loop (tui.c) */
	tui_pane_changed(p->tui, p);
}

bool launch_relayed(const struct pane *p)
{
	return p->sinks && p->sink[0] >= 0;
}

/* Bytes from a pane's command (its terminal, or its stdout). */
static void launch__on_output(struct job *job, const char *buf, size_t len, void *data)
{
	struct pane *p = data;

	if (p->obs.output != NULL)
		p->obs.output(buf, len, p->obs.data);
	launch__show(job, p, buf, len);
}

/* Bytes from a pane's command's stderr (pipes only). */
static void launch__on_output_err(struct job *job, const char *buf, size_t len, void *data)
{
	struct pane *p = data;

	if (p->obs.output_err != NULL)
		p->obs.output_err(buf, len, p->obs.data);
	else if (p->obs.output != NULL)
		p->obs.output(buf, len, p->obs.data);
	launch__show(job, p, buf, len);
}

/* A pane's command ended (see tui.h). */
void launch_exited(struct pane *p, int status, int signal)
{
	struct tui *t = p->tui;
	enum decide_approval approval = t->approval; /* the session's (the mode switch changes it) */

	tui_pane_proxy_close(p); /* its prompts leave with it */
	p->net_waiting = 0;
	pane_flush(p);
	p->state = PANE_EXITED;
	p->status = status;
	p->end_ms = tui_now(t);
	audit_exit(t->audit, p->argc, p->argv, status, p->end_ms - p->start_ms, p->sandboxed);
	t->dirty = true;
	if (p->unshown > 0) {
		char *note = xasprintf("airlock: %llu bytes of output were not shown here (the pane "
		                       "fell behind; the agent got every byte)",
		                       (unsigned long long)p->unshown);

		pane_note(p, note);
		free(note);
		p->unshown = 0;
	}
	if (p->timed_out) {
		pane_note(p, "airlock: timed out: ended with SIGTERM (SIGKILL 2 s later if need be)");
		launch__done(p, status, false);
		return;
	}
	/* No retry outside where the managed policy runs nothing outside (SPEC 11). */
	if (p->sandboxed && !p->retried && approval == DECIDE_APPROVAL_ON_FAILURE &&
	    !rules_sandbox_only(t->rules) &&
	    decide_looks_denied(status, signal, p->tail, p->tail_len))
		launch__decide(p, true);
	else
		launch__done(p, status, false);
}

/* Retries P's failed sandboxed command outside the sandbox, through the retry prompt (see tui.h). */
int launch_retry_outside(struct pane *p)
{
	if (p->job != NULL || (p->state != PANE_EXITED && p->state != PANE_DENIED) ||
	    !p->sandboxed || p->status == 0)
		return -EINVAL;
	if (rules_sandbox_only(p->tui->rules))
		return -EPERM;
	launch__decide(p, true);
	return 0;
}

/* Writes each line of the helper's git report on JOB as an audit line and a note in P (see tui.h). */
void launch_git_reports(struct pane *p, const struct job *job)
{
	struct tui *t = p->tui;
	char *text = xstrdup(job_report(job, NULL)), *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		int rc = audit_git(t->audit, line, p->cwd != NULL ? p->cwd : t->opts->cwd,
		                   launch__from(p));
		cJSON *o = cJSON_Parse(line);
		const cJSON *path = cJSON_GetObjectItemCaseSensitive(o, "path");
		const cJSON *why = cJSON_GetObjectItemCaseSensitive(o, "reason");
		char *where = utf8_fix(cJSON_IsString(path) ? path->valuestring : "?");
		char *reason = utf8_fix(cJSON_IsString(why) ? why->valuestring : "?");
		/* The helper said what it moved on the terminal; this says where it is recorded. */
		char *note = rc == 0 ? xasprintf("airlock: git repository %s (%s): in the audit log",
		                                 where, reason)
		                     : xasprintf("airlock: git repository %s (%s): NOT in the audit "
		                                 "log (%s)",
		                                 where, reason, strerror(-rc));
		cJSON_Delete(o);
		free(where);
		free(reason);
		pane_note(p, note);
		free(note);
	}
	free(text);
}

/* The job of a pane ended. */
static void launch__on_exit(struct job *job, int status, int signal, void *data)
{
	struct pane *p = data;

	/* A timeout's run ends as timeout(1)'s does; a retry gets what was left (SPEC 12). */
	p->timed_out = job_timed_out(job);
	if (p->timeout_ms > 0)
		p->timeout_ms = job_timeout_left_ms(job);
	if (p->timed_out)
		status = 124;
	launch_git_reports(p, job);
	p->unshown += job_unshown(job);
	job_free(job);
	p->job = NULL;
	launch_exited(p, status, signal);
}

static const struct job_callbacks launch__job_callbacks = {
    .output = launch__on_output,
    .exit = launch__on_exit,
    .output_err = launch__on_output_err,
};

/*
 * SC's policy with P's extra permissions added (SPEC 12): the split policy
 * the helper would enforce, with a write or read entry per directory, put
 * back into SC as split JSON (*FS and *NET hold it; caller frees). Returns
 * 0, or -errno with *CAUSE (a directory the policy closes stays closed).
 */
static int launch__extra_policy(const struct pane *p, struct sandbox_command *sc, char **fs,
                                char **net, char **cause)
{
	struct policy_split split;
	int rc;

	*fs = *net = NULL;
	if (sc->fs_policy_json != NULL) {
		memset(&split, 0, sizeof split);
		rc = policy_fs_parse(sc->fs_policy_json, &split.fs, cause);
		if (rc == 0)
			rc = policy_net_parse(sc->net_policy, &split.net, cause);
	} else {
		rc = policy_parse(sc->policy_json, &split, cause);
	}
	if (rc == 0)
		rc = policy_permissions_apply(&p->perms, &split, sc->cwd, getenv("TMPDIR"), cause);
	if (rc == 0) {
		*fs = policy_fs_to_json(&split.fs);
		*net = policy_net_to_json(split.net);
		sc->policy_json = NULL;
		sc->fs_policy_json = *fs;
		sc->net_policy = *net;
	}
	policy_split_free(&split);
	return rc;
}

/* Starts P's command now (see tui.h). */
int launch_start(struct pane *p, bool sandboxed)
{
	struct tui *t = p->tui;
	char **argv = NULL, **base_env = NULL;
	char *env[3 + PROXY_ENV_MAX];
	int n_env = 0, err;

	/* Whatever a prompt, a decider or a cache said: the managed policy's last word (SPEC 11). */
	if (rules_sandbox_only(t->rules))
		sandboxed = true;
	if (sandboxed) {
		if (t->sandbox_helper == NULL) {
			pane_note(p, "airlock: cannot find the sandbox helper airlock-sandbox "
			             "(set AIRLOCK_SANDBOX_EXE); nothing ran");
			p->state = PANE_EXITED;
			p->status = 125;
			p->sandboxed = true;
			p->end_ms = tui_now(t);
			t->dirty = true;
			launch__done(p, 125, false);
			return -ENOENT;
		}
		/* The agent socket's directory is hidden inside (SPEC 3). */
		char *sockdir = t->socket_path != NULL ? xstrdup(t->socket_path) : NULL;
		char *slash = sockdir != NULL ? strrchr(sockdir, '/') : NULL;
		char *hidden[1] = {sockdir};
		if (slash != NULL && slash != sockdir)
			*slash = '\0';
		struct sandbox_command sc = {
		    .helper = t->sandbox_helper,
		    /* The writable roots are the TUI's own; a request's cwd is only where it starts. */
		    .cwd = t->opts->cwd,
		    .command_cwd = p->cwd,
		    .fs_policy_json = t->proxy_fs_policy,
		    .net_policy = t->proxy_fs_policy != NULL ? "\"proxy\"" : NULL,
		    .hidden = hidden,
		    .n_hidden = slash != NULL && slash != sockdir ? 1 : 0,
		    .argv = p->argv,
		};
		if (t->proxy_fs_policy == NULL)
			cli_options_sandbox_policy(t->opts, t->sandbox_policy, &sc);
		cli_options_sandbox(t->opts, &sc);
		sc.report_fd = JOB_REPORT_FD;
		char *extra_fs = NULL, *extra_net = NULL, *cause = NULL;
		if (!policy_permissions_empty(&p->perms) &&
		    launch__extra_policy(p, &sc, &extra_fs, &extra_net, &cause) != 0) {
			char *msg = xasprintf("airlock: cannot add the extra permissions: %s; nothing "
			                      "ran",
			                      cause != NULL ? cause : "bad policy");

			pane_note(p, msg);
			free(msg);
			free(cause);
			free(sockdir);
			p->state = PANE_EXITED;
			p->status = 125;
			p->sandboxed = true;
			p->end_ms = tui_now(t);
			t->dirty = true;
			launch__done(p, 125, false);
			return -EPERM;
		}
		argv = sandbox_command_argv(&sc);
		free(extra_fs);
		free(extra_net);
		/* Secret-looking variables stay outside (SPEC 3). */
		base_env = sandbox_command_env(&sc, environ);
		free(sockdir);
	}
	env[n_env++] = "TERM=xterm-256color";
	char *sock = t->socket_path ? xasprintf("AIRLOCK_SOCKET=%s", t->socket_path) : NULL;
	if (sock != NULL)
		env[n_env++] = sock;
	/*
	 * Only sandboxed commands go through the proxy (outside it, the network
	 * is open), each through one of its own, so its prompts name the pane.
	 */
	char **proxy_env = sandboxed ? tui_pane_proxy_env(t, p) : NULL;
	/* Hosts granted as extra permissions pass its proxy with no prompt (SPEC 12). */
	if (sandboxed && p->proxy != NULL)
		proxy_session_set_grants(p->proxy, &p->perms);
	for (size_t i = 0; proxy_env != NULL && proxy_env[i] != NULL && i < PROXY_ENV_MAX; i++)
		env[n_env++] = proxy_env[i];
	env[n_env] = NULL;
	struct job_options jo = {
	    .argv = argv != NULL ? argv : p->argv,
	    .cwd = p->cwd != NULL ? p->cwd : t->opts->cwd,
	    .base_env = base_env,
	    .env = env,
	    .rows = p->rows,
	    .cols = p->cols,
	    .report = argv != NULL, /* the helper's post-run git report */
	    /* Sandboxed, the command takes the pane's terminal as its own (sandbox-inner.c). */
	    .no_ctty = argv != NULL,
	    .pipes = p->pipes,
	    .sinks = p->sinks,
	    .stdout_sink = p->sinks ? p->sink[0] : -1,
	    .stderr_sink = p->sinks ? p->sink[1] : -1,
	};
	p->sandboxed = sandboxed;
	pane_tail_reset(p);
	p->start_ms = p->end_ms = tui_now(t);
	if (t->spawn != NULL)
		err = t->spawn(p, (char *const *)jo.argv, t->spawn_data);
	else
		err = job_start(t->loop, &jo, &launch__job_callbacks, p, &p->job);
	if (argv != NULL)
		sandbox_command_argv_free(argv);
	free(base_env);
	free(sock);
	if (err != 0) {
		char *msg = xasprintf("airlock: cannot start the command: %s", strerror(-err));
		pane_note(p, msg);
		free(msg);
		p->state = PANE_EXITED;
		p->status = 125;
		t->dirty = true;
		launch__done(p, 125, false);
		return err;
	}
	p->state = PANE_RUNNING;
	t->dirty = true;
	/* Its bound, held while one of its prompts waits (SPEC 12). */
	if (p->job != NULL && p->timeout_ms > 0) {
		job_timeout_hold(p->job, p->net_waiting > 0);
		job_set_timeout(p->job, p->timeout_ms);
	}
	if (p->job != NULL && p->obs.started != NULL)
		p->obs.started(p->job, p->obs.data);
	return 0;
}

/* The one line that records a decision in its pane (RETRY: after a denial). */
static char *launch__decision_line(const struct approval_result *res, bool retry)
{
	const char *what, *effect;

	effect = !res->allowed    ? (retry ? "it stays sandboxed" : "not run")
	         : res->sandboxed ? "runs in the sandbox"
	                          : "runs outside the sandbox";
	if (res->allowed && res->sandboxed && res->permissions != NULL) {
		/* Extra permissions (SPEC 12): the line says what was added. */
		char *with = xasprintf("runs in the sandbox, adding %s", res->permissions);
		struct approval_result plain = *res;
		char *line;

		plain.permissions = NULL;
		line = launch__decision_line(&plain, retry);
		char *at = strstr(line, "runs in the sandbox");
		char *out = at != NULL ? xasprintf("%.*s%s%s", (int)(at - line), line, with,
		                                   at + strlen("runs in the sandbox"))
		                       : xasprintf("%s (adding %s)", line, res->permissions);
		free(line);
		free(with);
		return out;
	}
	if (res->prompted) {
		switch (res->answer) {
		case APPROVAL_ONCE:
			what = "you approved it once";
			break;
		case APPROVAL_SESSION:
			what = "you approved it for this session";
			break;
		case APPROVAL_RULE:
			what = "you approved it and added a prefix rule";
			break;
		case APPROVAL_WRITE_DIR:
			what = "you chose a retry with write access";
			break;
		default:
			what = res->allowed ? "you denied running it outside" : "you denied it";
			break;
		}
		if (res->typed_reason != NULL)
			return xasprintf("airlock: %s: %s (reason: %s)", what, effect,
			                 res->typed_reason);
		return xasprintf("airlock: %s: %s", what, effect);
	}
	if (res->by == AUDIT_BY_DECIDER && res->typed_reason != NULL)
		return xasprintf("airlock: %s by the decider: %s (reason: %s)",
		                 res->allowed ? "allowed" : "denied", effect, res->typed_reason);
	return xasprintf("airlock: %s by %s%s%s: %s", res->allowed ? "allowed" : "denied",
	                 audit_by_name(res->by), res->rule ? " " : "", res->rule ? res->rule : "",
	                 !res->allowed && res->reason ? res->reason : effect);
}

/* The queue decided about a pane's command. */
static void launch__decided(const struct approval_result *res, void *data)
{
	struct launch_req *r = data;
	struct pane *p = tui_pane_by_id(r->t, r->pane_id);
	char *line;

	if (p == NULL)
		return;
	p->waiter = 0;
	if (p->obs.decided != NULL)
		p->obs.decided(res, p->obs.data);
	line = launch__decision_line(res, r->retry);
	pane_note(p, line);
	free(line);
	r->t->dirty = true;
	if (res->reason == approval_audit_failed && r->t->audit != NULL) {
		/* The log was open but a write failed (a full disk): say so where it shows. */
		free(r->t->notice);
		r->t->notice = xasprintf("audit log %s cannot be written: nothing that needs a "
		                         "decision runs; free space or fix its permissions",
		                         audit_path(r->t->audit));
	}
	if (!res->allowed) {
		if (!r->retry) {
			p->sandboxed = false;
			p->start_ms = tui_now(r->t);
		}
		/* A retry asked for by hand (its run was reported) leaves the pane as it was. */
		p->state = r->retry && p->obs_done ? PANE_EXITED : PANE_DENIED;
		p->end_ms = r->retry ? p->end_ms : p->start_ms;
		/* A refused retry leaves the sandboxed run's status. */
		launch__done(p, r->retry ? p->status : 126, !r->retry);
		return;
	}
	/* Kept in the sandbox by the human: no retry prompt after it either. */
	if (r->retry || (res->prompted && res->answer == APPROVAL_DENY))
		p->retried = true;
	if (res->write_dir != NULL) {
		char *cause = NULL;

		if (policy_permissions_add_dir(&p->perms, true, res->write_dir, &cause) != 0)
			free(cause); /* gone since: the retry runs without it and is denied again */
	}
	if (launch__big(p)) {
		launch__later(p, true, res->sandboxed);
		return;
	}
	launch_start(p, res->sandboxed);
}

/* Where P's command came from, as the audit log names it: input, cli or agent. */
static const char *launch__from(const struct pane *p)
{
	if (p->origin != NULL && strcmp(p->origin, LAUNCH__TYPED) == 0)
		return "input";
	if (p->origin == NULL || strcmp(p->origin, LAUNCH__CLI) == 0)
		return "cli";
	return "agent";
}

/* Asks the queue about P's command; a retry asks to run outside the sandbox. */
static void launch__decide(struct pane *p, bool retry)
{
	struct tui *t = p->tui;
	struct launch_req *r = xmalloc(sizeof *r);
	enum decide_sandbox sandbox = DECIDE_SANDBOX_WORKSPACE_WRITE;
	uint64_t id;
	char *origin = xasprintf("%s, pane %d", p->origin != NULL ? p->origin : "airlock", p->id);

	decide_sandbox_parse(t->opts->sandbox, &sandbox);
	*r = (struct launch_req){.t = t, .pane_id = p->id, .retry = retry};
	struct approval_request req = {
	    .kind = APPROVAL_EXEC,
	    .argc = p->argc,
	    .argv = p->argv,
	    .cwd = p->cwd != NULL ? p->cwd : t->opts->cwd,
	    .sandbox = sandbox,
	    .escalate = !retry && p->escalate,
	    .retry = retry,
	    .justification = retry ? "The sandbox denied this command." : p->justification,
	    .prefix_rule = retry ? NULL : p->prefix_rule,
	    .origin = origin,
	    .from = launch__from(p),
	    .permissions = retry ? NULL : &p->asked,
	    .held = &p->perms,
	};
	/* A typed command's read-only denial: `w` retries with that directory writable. */
	char *write_dir = retry && strcmp(req.from, "input") == 0 && p->tail != NULL
	                      ? policy_permissions_denied_dir(p->tail, p->tail_len,
	                                                      req.cwd)
	                      : NULL;
	req.write_dir = write_dir;
	p->state = PANE_WAITING;
	id = approval_request(t->approvals, &req, launch__decided, free, r);
	free(origin);
	free(write_dir);
	if (id > 0 && p->state == PANE_WAITING) {
		p->waiter = id;
		if (p->obs.queued != NULL)
			p->obs.queued(p->obs.data);
	}
	t->dirty = true;
}

/*
 * Whether LINE is only `cd` and at most one word: then *DIR gets that word
 * as the shell would read it (quotes removed, a leading `~` or `~/` made
 * $HOME), or NULL when there is none. A line with anything else (a second
 * word, `;`, `$`, globbing, escapes) is not one: it runs in a pane as typed.
 */
static bool launch__cd_line(const char *line, char **dir)
{
	const char *s = line;
	char *word, *w;
	bool tilde;

	*dir = NULL;
	while (*s == ' ' || *s == '\t')
		s++;
	if (strncmp(s, "cd", 2) != 0 || (s[2] != '\0' && s[2] != ' ' && s[2] != '\t'))
		return false;
	s += 2;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0')
		return true;
	tilde = s[0] == '~' && (s[1] == '\0' || s[1] == '/' || s[1] == ' ' || s[1] == '\t');
	if (tilde)
		s++;
	w = word = xmalloc(strlen(s) + 1);
	while (*s != '\0' && *s != ' ' && *s != '\t') {
		char q = *s;
		if (q == '\'' || q == '"') {
			const char *end = strchr(s + 1, q);
			/* Inside double quotes only what the shell leaves alone. */
			if (end == NULL || (q == '"' && strcspn(s + 1, "$`\\!") < (size_t)(end - s - 1)))
				goto not_cd;
			memcpy(w, s + 1, (size_t)(end - s - 1));
			w += end - s - 1;
			s = end + 1;
			continue;
		}
		if (strchr(";&|<>()$`\\*?[]{}!#~=", q) != NULL)
			goto not_cd;
		*w++ = *s++;
	}
	*w = '\0';
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s != '\0')
		goto not_cd;
	if (tilde) {
		const char *home = getenv("HOME");
		char *full = xasprintf("%s%s", home != NULL ? home : "/", word);
		free(word);
		word = full;
	}
	*dir = word;
	return true;
not_cd:
	free(word);
	return false;
}

/*
 * `cd DIR` typed at the input: DIR (relative to the session's cwd; none:
 * $HOME) becomes where the next lines run. The workspace, and so the
 * writable roots, stay as they are. Nothing runs; a directory that is not
 * one says why in the input row.
 */
static void launch__cd(struct tui *t, const char *dir)
{
	const char *home = getenv("HOME");
	const char *target = dir != NULL ? dir : home != NULL ? home : "/";
	char *joined = target[0] == '/' || t->cwd == NULL ? xstrdup(target)
	                                                 : xasprintf("%s/%s", t->cwd, target);
	char *real = realpath(joined, NULL);
	struct stat st;
	int err = real == NULL                       ? errno
	          : stat(real, &st) != 0             ? errno
	          : !S_ISDIR(st.st_mode)             ? ENOTDIR
	          : access(real, X_OK) != 0          ? errno
	                                             : 0;

	free(joined);
	t->dirty = true;
	if (err != 0) {
		free(t->notice);
		t->notice = xasprintf("cd: %s: %s", target, strerror(err));
		free(real);
		return;
	}
	free(t->cwd);
	t->cwd = real;
}

/* Runs a typed line as `bash -lc LINE` in the session's cwd; `cd DIR` changes that. */
void launch_line(struct tui *t, const char *line)
{
	char *argv[] = {"bash", "-lc", (char *)line, NULL};
	char *dir = NULL;
	struct pane *p;

	if (launch__cd_line(line, &dir)) {
		launch__cd(t, dir);
		free(dir);
		return;
	}
	p = tui_add_pane(t, line, 3, argv);
	if (p != NULL) {
		p->origin = xstrdup(LAUNCH__TYPED);
		if (t->cwd != NULL && t->opts->cwd != NULL && strcmp(t->cwd, t->opts->cwd) != 0)
			p->cwd = xstrdup(t->cwd);
		launch__decide(p, false);
	}
}

/* Whether WORD needs quotes to read back as one word. */
static bool launch__needs_quotes(const char *word)
{
	if (*word == '\0')
		return true;
	for (const char *s = word; *s; s++)
		if (strchr(" \t\n'\"\\$`&|;<>()*?[]{}~#!", *s) != NULL)
			return true;
	return false;
}

/*
 * The title of a command: whole words while it is under LAUNCH__TITLE_MAX
 * bytes, and never over LAUNCH__TITLE_HARD (a word of a megabyte, a script,
 * is cut inside); then " ...". A 200k-word argv is cut here, once, since
 * every frame measures the title it draws.
 */
#define LAUNCH__TITLE_MAX 4096
#define LAUNCH__TITLE_HARD (2 * LAUNCH__TITLE_MAX)

/* The end of the first LEN bytes of S, less a last character whose bytes are not all there. */
static size_t launch__whole_chars(const char *s, size_t len)
{
	size_t k = 0, need;
	unsigned char lead;

	while (k < 3 && k < len && ((unsigned char)s[len - 1 - k] & 0xc0) == 0x80)
		k++;
	if (k == len)
		return len;
	lead = (unsigned char)s[len - 1 - k];
	need = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : lead >= 0xc0 ? 1 : 0;
	return need > k ? len - k - 1 : len;
}

/* ARGV as one shell-quoted line, for the title (see LAUNCH__TITLE_MAX). Caller frees. */
static char *launch__shown(size_t argc, char *const argv[])
{
	/* Past the hard limit by at most a quote's 4 bytes and its end, then " ..." and the NUL. */
	char *shown = xmalloc(LAUNCH__TITLE_HARD + 16), *w = shown;
	bool cut = false;

	for (size_t i = 0; i < argc && !cut; i++) {
		bool quote;

		if (w - shown > LAUNCH__TITLE_MAX) {
			cut = true;
			break;
		}
		quote = launch__needs_quotes(argv[i]);
		if (i > 0)
			*w++ = ' ';
		if (quote)
			*w++ = '\'';
		for (const char *c = argv[i]; *c != '\0'; c++) {
			if (w - shown >= LAUNCH__TITLE_HARD) {
				w = shown + launch__whole_chars(shown, (size_t)(w - shown));
				cut = true;
				break;
			}
			if (quote && *c == '\'')
				w = stpcpy(w, "'\\''");
			else
				*w++ = *c;
		}
		if (quote && !cut)
			*w++ = '\'';
	}
	if (cut)
		w = stpcpy(w, " ...");
	*w = '\0';
	return shown;
}

/* Runs ARGV as given (airlock -- CMD ARG...). */
void launch_argv(struct tui *t, size_t argc, char *const argv[])
{
	struct launch_request req = {.argc = argc, .argv = argv};

	launch_request(t, &req);
}

/* Runs an agent's (or anyone's) request in a new pane (see tui.h). */
struct pane *launch_request(struct tui *t, const struct launch_request *req)
{
	char *shown = launch__shown(req->argc, req->argv);
	struct pane *p;
	size_t n = 0;

	/* A cwd outside the workspace is named in the title (SPEC 8). */
	if (req->cwd != NULL && !policy_path_is_under(t->opts->cwd, req->cwd)) {
		char *titled = xasprintf("%s  (in %s)", shown, req->cwd);

		free(shown);
		shown = titled;
	}
	p = tui_add_pane(t, shown, req->argc, req->argv);

	free(shown);
	if (p == NULL) {
		if (req->observer != NULL) {
			if (req->observer->done != NULL)
				req->observer->done(126, false, true, req->observer->data);
			if (req->observer->free != NULL)
				req->observer->free(req->observer->data);
		}
		return NULL;
	}
	p->cwd = req->cwd != NULL ? xstrdup(req->cwd) : NULL;
	p->origin = xstrdup(req->origin != NULL ? req->origin : LAUNCH__CLI);
	p->escalate = req->escalate;
	p->pipes = req->pipes;
	p->sinks = req->pipes && req->sinks;
	for (int k = 0; k < 2; k++) {
		int fd = k == 0 ? req->stdout_sink : req->stderr_sink;

		p->sink[k] = p->sinks && fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : -1;
	}
	p->timeout_ms = req->timeout_ms;
	p->justification = req->justification != NULL ? xstrdup(req->justification) : NULL;
	/* What it asks for, and what its sandboxed run gets: that and what its client holds. */
	policy_permissions_copy(&p->asked, req->permissions);
	policy_permissions_copy(&p->perms, req->held);
	policy_permissions_merge(&p->perms, &p->asked);
	if (req->prefix_rule != NULL) {
		while (req->prefix_rule[n] != NULL)
			n++;
		p->prefix_rule = xcalloc(n + 1, sizeof *p->prefix_rule);
		for (size_t i = 0; i < n; i++)
			p->prefix_rule[i] = xstrdup(req->prefix_rule[i]);
	}
	if (req->observer != NULL)
		p->obs = *req->observer;
	else
		p->obs_done = true;
	p->state = PANE_WAITING;
	if (launch__big(p))
		launch__later(p, false, false);
	else
		launch__decide(p, false);
	return p;
}

/* Withdraws pane ID's command (see tui.h). */
void launch_cancel(struct tui *t, int id)
{
	struct pane *p = tui_pane_by_id(t, id);

	if (p == NULL)
		return;
	/* Waiting on a prompt, or (a big command) on its next step, which then finds it gone. */
	if (p->state == PANE_WAITING) {
		if (p->waiter != 0)
			approval_cancel(t->approvals, p->waiter);
		p->waiter = 0;
		p->state = PANE_DENIED;
		p->end_ms = tui_now(t);
		pane_note(p, "airlock: withdrawn: the requester cancelled it or went away");
		launch__done(p, 126, true);
		t->dirty = true;
	} else if (p->state == PANE_RUNNING && p->job != NULL) {
		job_interrupt(p->job);
	}
}
