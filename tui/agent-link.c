/*
 * The agent link: the TUI's side of the agent socket (SPEC section 8). The
 * server (core/agent-server) parses requests and hands them here; this file
 * turns them into what a typed command gets, and reports back as events.
 *
 *  - exec: a new pane through launch_request(), whose observer sends
 *    `queued`, `decision`, `output` and, at the end, `exit` (or nothing more
 *    after a `decision` of denied);
 *  - apply_patch: parsed and planned at once (errors are `error` events),
 *    then the approval queue decides with the plan's diff in the prompt; an
 *    approved plan is committed (all or nothing) and ends with `exit` 0;
 *  - request_permissions (SPEC 12): the approval queue asks a human; what
 *    is granted is kept for the client's connection, and every later exec
 *    of that client runs with it, still sandboxed; an exec's own
 *    with_additional_permissions ask unless the client holds them already;
 *  - cancel: withdraws a waiting prompt or interrupts the command;
 *  - a client that goes away has its requests cancelled likewise.
 *
 * Requests are named by (client, id); a request stays in the link's list
 * until its end was sent, so a cancel can find it. Nothing here blocks.
 */
#include "tui/tui.h"

#include "core/agent-server.h"
#include "core/config.h"
#include "core/job.h"
#include "core/output-relay.h"
#include "core/patch.h"
#include "core/policy.h"
#include "core/protocol.h"
#include "core/xmalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How a patch that does not go through ends `airlock submit --patch` (SPEC 1). */
#define AGENT_LINK_PATCH_FAILED    1 /* does not apply */
#define AGENT_LINK_PATCH_MALFORMED 2

struct agent_link_req {
	struct agent_link *link;
	uint64_t client;
	char *id;
	int pane_id;             /* exec */
	uint64_t waiter;         /* patch: the approval waiter */
	struct patch_plan *plan; /* patch */
	bool decision_sent;
	bool throttled; /* exec: its command paused until the client drains */
	struct protocol_patch_file *files; /* patch: what it changes (strings owned) */
	size_t n_files;
	int patch_pane; /* patch: the number of the pane that shows it (0: none) */
	char *stdin_buf; /* exec: input that came before the command started */
	size_t stdin_len;
	bool stdin_eof; /* and whether its end came too */
	bool grant;     /* request_permissions: waits on its prompt (waiter) */
	struct policy_permissions asked; /* request_permissions: what it asks for */
	struct agent_link_req *next;
};

/* What a connected client was granted by request_permissions (SPEC 12). */
struct agent_link_grant {
	uint64_t client;
	struct policy_permissions held;
	struct agent_link_grant *next;
};

struct agent_link {
	struct tui *t;
	struct agent_server *server;
	struct agent_link_req *reqs;
	struct agent_link_grant *grants;
};

/* Sends LINE (taken over) to R's client. */
static void agent_link__send(struct agent_link_req *r, char *line)
{
	if (r->link->server != NULL)
		agent_server_send(r->link->server, r->client, line);
	else
		free(line);
}

/* Ends patch pane ID of T as STATE with STATUS, NOTE (or NULL) its last line. */
static void agent_link__patch_end(struct tui *t, int id, enum pane_state state, int status,
                                  const char *note)
{
	struct pane *p = id != 0 ? tui_pane_by_id(t, id) : NULL;

	if (p == NULL)
		return;
	if (note != NULL)
		pane_note(p, note);
	p->state = state;
	p->status = status;
	p->end_ms = tui_now(t);
	tui_command_ended(t);
	tui_dirty(t);
}

/* Unlinks and frees R. */
static void agent_link__forget(struct agent_link_req *r)
{
	struct agent_link_req **pp = &r->link->reqs;
	struct pane *pane = r->patch_pane != 0 ? tui_pane_by_id(r->link->t, r->patch_pane) : NULL;

	/* A patch still waiting when its requester withdrew it or went away. */
	if (pane != NULL && pane->state == PANE_WAITING)
		agent_link__patch_end(r->link->t, r->patch_pane, PANE_DENIED, 126,
		                      "airlock: withdrawn: the requester cancelled it or went away");

	while (*pp != NULL && *pp != r)
		pp = &(*pp)->next;
	if (*pp == r)
		*pp = r->next;
	if (r->link->server != NULL)
		agent_server_release(r->link->server, r->client);
	if (r->plan != NULL)
		patch_plan_free(r->plan);
	free(r->stdin_buf);
	for (size_t i = 0; i < r->n_files; i++) {
		free((char *)r->files[i].path);
		free((char *)r->files[i].move_to);
	}
	free(r->files);
	policy_permissions_free(&r->asked);
	free(r->id);
	free(r);
}

/* What CLIENT holds (NULL: nothing); with MAKE, made when missing. */
static struct agent_link_grant *agent_link__grant(struct agent_link *l, uint64_t client, bool make)
{
	struct agent_link_grant *g;

	for (g = l->grants; g != NULL; g = g->next)
		if (g->client == client)
			return g;
	if (!make)
		return NULL;
	g = xcalloc(1, sizeof *g);
	g->client = client;
	g->next = l->grants;
	l->grants = g;
	return g;
}

/* Forgets what CLIENT holds (it went away). */
static void agent_link__grant_drop(struct agent_link *l, uint64_t client)
{
	for (struct agent_link_grant **pp = &l->grants; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->client == client) {
			struct agent_link_grant *g = *pp;

			*pp = g->next;
			policy_permissions_free(&g->held);
			free(g);
			return;
		}
}

/*
 * Whether the session's policy closes (`none`) a folder of P: -EPERM with
 * *CAUSE, and no human is asked to open what no answer can open (launch
 * would refuse it too). A policy that does not parse is left to launch.
 */
static int agent_link__closed(const struct tui *t, const struct policy_permissions *p,
                              char **cause)
{
	const char *json = t->proxy_fs_policy != NULL ? t->proxy_fs_policy : t->sandbox_policy;
	struct policy_split split;
	int rc;

	if (json == NULL || policy_parse(json, &split, cause) != 0) {
		free(*cause);
		*cause = NULL;
		return 0;
	}
	rc = policy_permissions_apply(p, &split, t->opts->cwd, getenv("TMPDIR"), cause);
	policy_split_free(&split);
	return rc;
}

/*
 * A request's "permissions" (A) checked and made canonical into *OUT:
 * directories resolved (links followed), hosts checked. A host needs the
 * session's proxy (-n ask) to be granted; with the network on it is open
 * anyway. Returns 0, or -errno with *CAUSE (caller frees).
 */
static int agent_link__permissions(const struct tui *t, const struct protocol_additions *a,
                                   struct policy_permissions *out, char **cause)
{
	int rc = 0;

	memset(out, 0, sizeof *out);
	for (size_t i = 0; rc == 0 && i < a->n_write; i++)
		rc = policy_permissions_add_dir(out, true, a->write[i], cause);
	for (size_t i = 0; rc == 0 && i < a->n_read; i++)
		rc = policy_permissions_add_dir(out, false, a->read[i], cause);
	for (size_t i = 0; rc == 0 && i < a->n_network; i++)
		rc = policy_permissions_add_host(out, a->network[i], cause);
	if (rc == 0 && out->n_write + out->n_read > 0)
		rc = agent_link__closed(t, out, cause);
	if (rc == 0 && out->n_hosts > 0 && t->proxy_fs_policy == NULL &&
	    strcmp(t->opts->network, "on") != 0) {
		*cause = xasprintf("%s: the network is off in this session, so no host can be "
		                   "granted (airlock -n ask can)",
		                   out->hosts[0]);
		rc = -EPERM;
	}
	if (rc != 0)
		policy_permissions_free(out);
	return rc;
}

/* A new request record for CLIENT's ID. */
static struct agent_link_req *agent_link__req(struct agent_link *l, uint64_t client, const char *id)
{
	struct agent_link_req *r = xcalloc(1, sizeof *r);

	r->link = l;
	r->client = client;
	r->id = xstrdup(id);
	r->next = l->reqs;
	l->reqs = r;
	agent_server_hold(l->server, client);
	return r;
}

/* The protocol's name for a decision. */
static enum protocol_decision agent_link__decision(const struct approval_result *res)
{
	if (!res->allowed)
		return PROTOCOL_DENIED;
	if (res->prompted && res->answer == APPROVAL_SESSION)
		return PROTOCOL_APPROVED_FOR_SESSION;
	if (res->prompted && res->answer == APPROVAL_RULE)
		return PROTOCOL_APPROVED_RULE;
	return PROTOCOL_APPROVED;
}

/* exec: a prompt waits. */
static void agent_link__queued(void *data)
{
	struct agent_link_req *r = data;

	agent_link__send(r, protocol_event_queued(r->id));
}

/* exec: decided (once, or twice with an on-failure retry). */
static void agent_link__decided(const struct approval_result *res, void *data)
{
	struct agent_link_req *r = data;

	/* An escalation kept in the sandbox runs: the agent is told why it is sandboxed. */
	const char *why = res->typed_reason;

	if (why == NULL && res->prompted && res->answer == APPROVAL_DENY && res->allowed)
		why = res->reason;
	/* Refused unasked by a reject policy: the kind, and why (SPEC 12). */
	if (why == NULL && res->rejected != NULL)
		why = res->reason;
	agent_link__send(r, protocol_event_decision_rejected(r->id, agent_link__decision(res), why,
	                                                     res->rejected));
	r->decision_sent = !res->allowed;
}

/* Whether R's STREAM goes to a pipe of its client's (stdio_fds): no output events for it. */
static bool agent_link__sunk(const struct agent_link_req *r, int stream)
{
	const struct pane *p = tui_pane_by_id(r->link->t, r->pane_id);

	return p != NULL && p->sinks && p->sink[stream] >= 0;
}

/* exec: output, as it comes; a client that lags pauses the command. */
static void agent_link__output(const char *buf, size_t len, void *data)
{
	struct agent_link_req *r = data;
	struct pane *p;

	if (agent_link__sunk(r, PROTOCOL_STDOUT))
		return;
	agent_link__send(r, protocol_event_output(r->id, PROTOCOL_STDOUT, buf, len));
	if (r->link->server == NULL || !agent_server_busy(r->link->server, r->client))
		return;
	p = tui_pane_by_id(r->link->t, r->pane_id);
	if (p != NULL && p->job != NULL) {
		job_pause(p->job);
		r->throttled = true;
	}
}

/* exec: stderr (on pipes), as it comes. */
static void agent_link__output_err(const char *buf, size_t len, void *data)
{
	struct agent_link_req *r = data;

	if (!agent_link__sunk(r, PROTOCOL_STDERR))
		agent_link__send(r, protocol_event_output(r->id, PROTOCOL_STDERR, buf, len));
}

/* exec: the command runs: what the client sent for its stdin goes in. */
static void agent_link__started(struct job *job, void *data)
{
	struct agent_link_req *r = data;

	if (r->stdin_len > 0)
		job_write_stdin(job, r->stdin_buf, r->stdin_len);
	if (r->stdin_eof)
		job_write_stdin(job, "", 0);
	free(r->stdin_buf);
	r->stdin_buf = NULL;
	r->stdin_len = 0;
	r->stdin_eof = false;
}

/* A lagging client caught up: its commands read on (unless their pane holds them). */
static void agent_link__on_drained(void *data, uint64_t client)
{
	struct agent_link *l = data;

	for (struct agent_link_req *r = l->reqs; r != NULL; r = r->next) {
		if (r->client != client || !r->throttled)
			continue;
		struct pane *p = tui_pane_by_id(l->t, r->pane_id);
		r->throttled = false;
		if (p != NULL && p->job != NULL && !p->paused)
			job_resume(p->job);
	}
}

/* exec: the end. */
static void agent_link__done(int status, bool sandboxed, bool denied, void *data)
{
	struct agent_link_req *r = data;

	if (denied) {
		if (!r->decision_sent)
			agent_link__send(r, protocol_event_decision(r->id, PROTOCOL_DENIED));
		return;
	}
	struct pane *p = tui_pane_by_id(r->link->t, r->pane_id);
	agent_link__send(r, protocol_event_exit_timed(r->id, status, sandboxed,
	                                              p != NULL && p->timed_out));
}

/* exec: the pane lets go. */
static void agent_link__free(void *data)
{
	agent_link__forget(data);
}

/* An exec request: a pane of its own. */
static void agent_link__on_exec(void *data, uint64_t client, const struct protocol_request *req)
{
	struct agent_link *l = data;
	struct agent_link_req *r;
	char *origin;

	/* A full TUI says so: it is not a human's No (SPEC 8). */
	if (!tui_make_room(l->t)) {
		char *msg = xasprintf("airlock is full: %d panes, none of them a finished agent "
		                      "command it could close; close some with Ctrl-W",
		                      TUI_MAX_PANES);

		agent_server_send(l->server, client, protocol_event_error(req->id, msg));
		free(msg);
		return;
	}
	/* Descriptors for stdout and stderr: pipes only, for a command on pipes (SPEC 8). */
	for (int k = 0; k < 2; k++) {
		const char *why = NULL;

		if (req->stdio_fd[k] < 0)
			continue;
		if (req->tty)
			why = "stdio_fds: a command on a terminal (tty) has no stdout or stderr of its own";
		else if (!output_relay_sink_ok(req->stdio_fd[k]))
			why = k == 0 ? "stdio_fds: the descriptor for stdout is not a pipe"
			             : "stdio_fds: the descriptor for stderr is not a pipe";
		if (why != NULL) {
			agent_server_send(l->server, client, protocol_event_error(req->id, why));
			return;
		}
	}
	/* Extra permissions (SPEC 12): checked now; those the client holds need no prompt. */
	struct policy_permissions asked = {0};
	struct agent_link_grant *held = agent_link__grant(l, client, false);
	if (req->permissions == PROTOCOL_WITH_ADDITIONAL_PERMISSIONS) {
		char *cause = NULL;

		if (agent_link__permissions(l->t, &req->additions, &asked, &cause) != 0) {
			agent_server_send(l->server, client, protocol_event_error(req->id, cause));
			free(cause);
			return;
		}
		if (held != NULL && policy_permissions_covered(&asked, &held->held))
			policy_permissions_free(&asked);
	}
	r = agent_link__req(l, client, req->id);
	origin = xasprintf("agent client %llu", (unsigned long long)client);
	struct launch_observer obs = {
	    .queued = agent_link__queued,
	    .decided = agent_link__decided,
	    .output = agent_link__output,
	    .output_err = agent_link__output_err,
	    .started = agent_link__started,
	    .done = agent_link__done,
	    .free = agent_link__free,
	    .data = r,
	};
	struct launch_request lr = {
	    .argc = req->n_command,
	    .argv = req->command,
	    .cwd = req->cwd,
	    .escalate = req->permissions == PROTOCOL_REQUIRE_ESCALATED,
	    .justification = req->justification,
	    .prefix_rule = req->prefix_rule,
	    .origin = origin,
	    .observer = &obs,
	    .pipes = !req->tty,
	    .timeout_ms = req->timeout_ms,
	    .permissions = &asked,
	    .held = held != NULL ? &held->held : NULL,
	    .sinks = true,
	    .stdout_sink = req->stdio_fd[PROTOCOL_STDOUT],
	    .stderr_sink = req->stdio_fd[PROTOCOL_STDERR],
	};
	struct pane *p = launch_request(l->t, &lr);

	free(origin);
	policy_permissions_free(&asked);
	/* R may be gone already (decided and done at once). */
	if (p != NULL)
		for (struct agent_link_req *k = l->reqs; k != NULL; k = k->next)
			if (k == r)
				r->pane_id = p->id;
	tui_dirty(l->t);
}

/*
 * Whether any of the N PATHS lies outside what the session's sandbox policy
 * lets a command in CWD write: the policy model answers, as the helper
 * would enforce it. A policy that does not resolve counts every path as
 * outside (so the patch is asked about).
 */
static bool agent_link__outside_roots(const struct tui *t, const char *cwd, char *const *paths,
                                      size_t n)
{
	struct policy_split split;
	struct policy_resolved res;
	char *cause = NULL;
	bool outside = false;

	if (policy_parse(t->sandbox_policy, &split, &cause) != 0) {
		free(cause);
		return true;
	}
	if (policy_resolve(&split, t->opts->cwd, getenv("TMPDIR"), &res, &cause) != 0) {
		free(cause);
		policy_split_free(&split);
		return true;
	}
	for (size_t i = 0; i < n && !outside; i++)
		outside = policy_resolved_access(&res, paths[i]) != POLICY_ACCESS_WRITE;
	policy_resolved_free(&res);
	policy_split_free(&split);
	return outside;
}

/* The line a patch's decision leaves in its pane. Caller frees. */
static char *agent_link__patch_line(const struct approval_result *res)
{
	const char *what;

	if (!res->prompted)
		return xasprintf("airlock: %s by %s: %s", res->allowed ? "allowed" : "denied",
		                 audit_by_name(res->by), res->reason != NULL ? res->reason : "");
	what = !res->allowed                      ? "you denied it"
	       : res->answer == APPROVAL_SESSION ? "you approved it for these files this session"
	                                         : "you approved it once";
	if (res->typed_reason != NULL)
		return xasprintf("airlock: %s (reason: %s)", what, res->typed_reason);
	return xasprintf("airlock: %s", what);
}

/* patch: the queue decided (every decision is a line in the patch's pane, SPEC 5). */
static void agent_link__patch_decided(const struct approval_result *res, void *data)
{
	struct agent_link_req *r = data;
	struct tui *t = r->link->t;
	struct pane *p = r->patch_pane != 0 ? tui_pane_by_id(t, r->patch_pane) : NULL;
	char *cause = NULL, *line = agent_link__patch_line(res);

	r->waiter = 0;
	/* A human's reason; else why a policy refused it (a protected path, never, a reject). */
	agent_link__send(
	    r, protocol_event_decision_rejected(
	           r->id, agent_link__decision(res),
	           res->typed_reason != NULL                                   ? res->typed_reason
	           : res->rejected != NULL ||
	                   (!res->allowed && !res->prompted && res->by == AUDIT_BY_POLICY)
	               ? res->reason
	               : NULL,
	           res->rejected));
	if (p != NULL)
		pane_note(p, line);
	free(line);
	if (!res->allowed) {
		agent_link__patch_end(t, r->patch_pane, PANE_DENIED, 126, NULL);
		return;
	}
	if (patch_plan_commit(r->plan, &cause) != 0) {
		char *note = xasprintf("airlock: not applied: %s", cause ? cause : "cannot apply");

		agent_link__patch_end(t, r->patch_pane, PANE_EXITED, 1, note);
		free(note);
		agent_link__send(r, protocol_event_error_code(r->id, cause ? cause : "cannot apply",
		                                              AGENT_LINK_PATCH_FAILED));
		free(cause);
		return;
	}
	/* What it changed, as `airlock submit --patch` prints it. */
	for (size_t i = 0; p != NULL && i < r->n_files; i++) {
		const struct protocol_patch_file *f = &r->files[i];
		char *note = f->move_to != NULL ? xasprintf("R %s -> %s", f->path, f->move_to)
		                                : xasprintf("%c %s", "AMD"[f->op], f->path);

		pane_note(p, note);
		free(note);
	}
	agent_link__patch_end(t, r->patch_pane, PANE_EXITED, 0, NULL);
	if (r->files != NULL)
		agent_link__send(r, protocol_event_patch(r->id, r->files, r->n_files));
	agent_link__send(r, protocol_event_exit(r->id, 0, false));
}

/*
 * A pane for a patch request of CLIENT (SPEC 5: every decision shows in the
 * pane it concerns): titled by the files it names, waiting until decided.
 * NULL when airlock is full (the client got an error event then).
 */
static struct pane *agent_link__patch_pane(struct agent_link *l, uint64_t client,
                                           const struct protocol_request *req,
                                           const struct patch *patch)
{
	struct tui *t = l->t;
	char **argv = xcalloc(patch->n_files + 2, sizeof *argv), *shown, *w;
	size_t len = strlen("apply_patch") + 1;
	struct pane *p;

	if (!tui_make_room(t)) {
		char *msg = xasprintf("airlock is full: %d panes, none of them a finished agent "
		                      "command it could close; close some with Ctrl-W",
		                      TUI_MAX_PANES);

		agent_server_send(l->server, client, protocol_event_error(req->id, msg));
		free(msg);
		free(argv);
		return NULL;
	}
	argv[0] = "apply_patch";
	for (size_t i = 0; i < patch->n_files; i++) {
		argv[i + 1] = patch->files[i].path;
		len += strlen(argv[i + 1]) + 1;
	}
	w = shown = xmalloc(len + (req->cwd != NULL ? strlen(req->cwd) + 8 : 0));
	for (size_t i = 0; argv[i] != NULL; i++)
		w += sprintf(w, "%s%s", i > 0 ? " " : "", argv[i]);
	/* A cwd outside the workspace is named in the title (SPEC 8). */
	if (req->cwd != NULL && !policy_path_is_under(t->opts->cwd, req->cwd))
		sprintf(w, "  (in %s)", req->cwd);
	p = tui_add_pane(t, shown, patch->n_files + 1, argv);
	free(shown);
	free(argv);
	if (p == NULL)
		return NULL;
	p->origin = xasprintf("agent client %llu", (unsigned long long)client);
	p->cwd = req->cwd != NULL ? xstrdup(req->cwd) : NULL;
	p->sandboxed = false; /* airlock writes the files itself; nothing to retry */
	p->state = PANE_WAITING;
	p->obs_done = true;
	return p;
}

/* patch: the queue lets go. */
static void agent_link__patch_free(void *data)
{
	agent_link__forget(data);
}

/* An apply_patch request: plan it now, ask, commit later. */
static void agent_link__on_patch(void *data, uint64_t client, const struct protocol_request *req)
{
	struct agent_link *l = data;
	struct patch_options po = {
	    .protected_paths = l->t->opts->config.protected_paths,
	    .n_protected_paths = l->t->opts->config.n_protected_paths,
	    .git_protection_full = l->t->opts->config.git_protection_full,
	};
	struct patch *patch = NULL;
	struct patch_plan *plan = NULL;
	struct protocol_patch_file *files = NULL;
	char *cause = NULL, **prot = NULL;
	size_t n_paths = 0, n_files = 0;
	int err;

	err = patch_parse(req->patch, strlen(req->patch), &patch, &cause);
	if (err != 0) {
		/* Malformed: exit 2 for `airlock submit --patch` (SPEC 1). */
		agent_server_send(l->server, client,
		                  protocol_event_error_code(req->id, cause ? cause : "malformed patch",
		                                            AGENT_LINK_PATCH_MALFORMED));
		free(cause);
		patch_free(patch);
		return;
	}
	struct pane *pane = agent_link__patch_pane(l, client, req, patch);

	if (pane == NULL) {
		patch_free(patch);
		return;
	}
	/* What it changes, as the agent wrote it (the patch event names these). */
	n_files = patch->n_files;
	files = xcalloc(n_files, sizeof *files);
	for (size_t i = 0; i < n_files; i++) {
		const struct patch_file *f = &patch->files[i];

		files[i].path = xstrdup(f->path);
		files[i].op = f->kind == PATCH_ADD ? 0 : f->kind == PATCH_UPDATE ? 1 : 2;
		files[i].move_to = f->move_to != NULL ? xstrdup(f->move_to) : NULL;
	}
	/*
	 * Absolute paths and "../x" are taken (SPEC 5): the patch is planned
	 * from "/" then, and where its paths land is judged below; the
	 * configured protected paths that are relative are the workspace's.
	 */
	bool rebased = patch_rebase(patch, req->cwd);
	if (rebased && po.n_protected_paths > 0) {
		prot = xcalloc(po.n_protected_paths, sizeof *prot);
		for (size_t i = 0; i < po.n_protected_paths; i++)
			prot[i] = po.protected_paths[i][0] == '/'
			              ? xstrdup(po.protected_paths[i])
			              : xasprintf("%s/%s", l->t->opts->cwd, po.protected_paths[i]);
		po.protected_paths = prot;
	}
	err = patch_plan_new(patch, rebased ? "/" : req->cwd, &po, &plan, &cause);
	for (size_t i = 0; prot != NULL && i < po.n_protected_paths; i++)
		free(prot[i]);
	free(prot);
	if (err != 0) {
		for (size_t i = 0; i < n_files; i++) {
			free((char *)files[i].path);
			free((char *)files[i].move_to);
		}
		free(files);
	}
	if (err == -EPERM) {
		/*
		 * Refused by policy (a protected path, a path it may not take): a
		 * denial, 126, and a decision like any other: an audit line (its
		 * paths as the patch names them, from its cwd) and its pane.
		 */
		struct agent_link_req *r = agent_link__req(l, client, req->id);
		size_t n = 0;
		char **abs = patch_paths(patch, req->cwd != NULL ? req->cwd : l->t->opts->cwd, &n);

		r->patch_pane = pane->id;
		struct approval_request ar = {
		    .kind = APPROVAL_PATCH,
		    .cwd = req->cwd,
		    .n_paths = n,
		    .paths = abs,
		    .refuse = cause != NULL ? cause : "refused by policy",
		    .from = "agent",
		};
		approval_request(l->t->approvals, &ar, agent_link__patch_decided,
		                 agent_link__patch_free, r);
		patch_paths_free(abs);
		free(cause);
		patch_free(patch);
		return;
	}
	if (err != 0) {
		/* It does not apply (the message names the file and the hunk): 1. */
		char *note = xasprintf("airlock: the patch does not apply: %s",
		                       cause ? cause : "does not apply");

		agent_link__patch_end(l->t, pane->id, PANE_EXITED, 1, note);
		free(note);
		agent_server_send(l->server, client,
		                  protocol_event_error_code(req->id, cause ? cause : "does not apply",
		                                            AGENT_LINK_PATCH_FAILED));
		free(cause);
		patch_free(patch);
		return;
	}
	/* Judged where they land, symbolic links followed. */
	char **paths = patch_plan_paths(plan, &n_paths);
	bool outside = agent_link__outside_roots(l->t, req->cwd, paths, n_paths);
	char *diff = patch_plan_diff(plan);
	struct agent_link_req *r = agent_link__req(l, client, req->id);
	r->plan = plan;
	r->files = files;
	r->n_files = n_files;
	r->patch_pane = pane->id;
	char *origin = xasprintf("agent client %llu", (unsigned long long)client);
	struct approval_request ar = {
	    .kind = APPROVAL_PATCH,
	    .cwd = req->cwd,
	    .n_paths = n_paths,
	    .paths = paths,
	    .outside_roots = outside,
	    .diff = diff,
	    .origin = origin,
	    .from = "agent",
	};
	uint64_t id = approval_request(l->t->approvals, &ar, agent_link__patch_decided,
	                               agent_link__patch_free, r);
	if (id > 0) {
		r->waiter = id;
		agent_server_send(l->server, client, protocol_event_queued(req->id));
	}
	free(origin);
	free(diff);
	patch_paths_free(paths);
	patch_free(patch);
	tui_dirty(l->t);
}

/* request_permissions: the queue decided; a grant is kept for the connection. */
static void agent_link__grant_decided(const struct approval_result *res, void *data)
{
	struct agent_link_req *r = data;

	r->waiter = 0;
	if (res->allowed)
		policy_permissions_merge(&agent_link__grant(r->link, r->client, true)->held,
		                         &r->asked);
	agent_link__send(r, protocol_event_decision_reason(r->id, agent_link__decision(res),
	                                                   res->typed_reason != NULL
	                                                       ? res->typed_reason
	                                                   : res->allowed ? NULL
	                                                                  : res->reason));
}

/* request_permissions: the queue lets go. */
static void agent_link__grant_free(void *data)
{
	agent_link__forget(data);
}

/* A request_permissions request: a human decides; the connection keeps the answer. */
static void agent_link__on_permissions(void *data, uint64_t client,
                                       const struct protocol_request *req)
{
	struct agent_link *l = data;
	struct policy_permissions asked;
	struct agent_link_grant *held = agent_link__grant(l, client, false);
	char *cause = NULL, *origin;

	if (agent_link__permissions(l->t, &req->additions, &asked, &cause) != 0) {
		agent_server_send(l->server, client, protocol_event_error(req->id, cause));
		free(cause);
		return;
	}
	if (held != NULL && policy_permissions_covered(&asked, &held->held)) {
		/* Granted already: nothing to ask. */
		policy_permissions_free(&asked);
		agent_server_send(l->server, client,
		                  protocol_event_decision(req->id, PROTOCOL_APPROVED));
		return;
	}
	struct agent_link_req *r = agent_link__req(l, client, req->id);
	r->grant = true;
	r->asked = asked;
	origin = xasprintf("agent client %llu", (unsigned long long)client);
	struct approval_request ar = {
	    .kind = APPROVAL_PERMISSIONS,
	    .cwd = l->t->opts->cwd,
	    .justification = req->justification,
	    .permissions = &r->asked,
	    .origin = origin,
	    .from = "agent",
	};
	uint64_t id = approval_request(l->t->approvals, &ar, agent_link__grant_decided,
	                               agent_link__grant_free, r);
	if (id > 0) {
		r->waiter = id;
		agent_server_send(l->server, client, protocol_event_queued(req->id));
	}
	free(origin);
	tui_dirty(l->t);
}

/*
 * Withdraws R: its prompt, or its command (interrupted; killed when GONE,
 * the client having gone away, since nobody is left to wait for it).
 */
static void agent_link__cancel(struct agent_link *l, struct agent_link_req *r, bool gone)
{
	if (r->plan != NULL || r->grant) {
		if (r->waiter != 0) {
			uint64_t w = r->waiter;
			/* approval_cancel runs the free callback: R goes. */
			approval_cancel(l->t->approvals, w);
		}
		return;
	}
	if (r->pane_id != 0) {
		struct pane *p = gone ? tui_pane_by_id(l->t, r->pane_id) : NULL;

		if (p != NULL && p->state == PANE_RUNNING && p->job != NULL) {
			job_kill(p->job);
			/* Killed again each second while it still runs (tui.c's tick). */
			p->killed_ms = uv_now(l->t->loop);
			/* Nobody will drain it now: read on, to the end (and the exit). */
			if (r->throttled && !p->paused)
				job_resume(p->job);
			r->throttled = false;
		} else
			launch_cancel(l->t, r->pane_id);
	}
}

/* A cancel request. */
static void agent_link__on_cancel(void *data, uint64_t client, const struct protocol_request *req)
{
	struct agent_link *l = data;

	for (struct agent_link_req *r = l->reqs; r != NULL; r = r->next) {
		if (r->client == client && strcmp(r->id, req->target) == 0) {
			agent_link__cancel(l, r, false);
			return;
		}
	}
	agent_server_send(l->server, client,
	                  protocol_event_error(req->id, "no such request to cancel"));
}

/* A stdin request: bytes for a command's input (empty: its end). */
static void agent_link__on_stdin(void *data, uint64_t client, const struct protocol_request *req)
{
	struct agent_link *l = data;

	for (struct agent_link_req *r = l->reqs; r != NULL; r = r->next) {
		if (r->client != client || strcmp(r->id, req->target) != 0 || r->plan != NULL ||
		    r->grant)
			continue;
		struct pane *p = r->pane_id != 0 ? tui_pane_by_id(l->t, r->pane_id) : NULL;
		if (p != NULL && p->state == PANE_RUNNING && p->job != NULL) {
			if (p->pipes)
				job_write_stdin(p->job, (const char *)req->data, req->data_len);
			else if (req->data_len > 0)
				job_write(p->job, (const char *)req->data, req->data_len);
		} else if (req->data_len > 0 && r->stdin_len + req->data_len > AGENT_SERVER_MAX_QUEUE) {
			agent_server_send(l->server, client,
			                  protocol_event_error(req->id, "too much input before the "
			                                                "command started"));
		} else if (req->data_len > 0) {
			/* Not started yet (a prompt waits): kept until it does. */
			r->stdin_buf = xrealloc(r->stdin_buf, r->stdin_len + req->data_len);
			memcpy(r->stdin_buf + r->stdin_len, req->data, req->data_len);
			r->stdin_len += req->data_len;
		} else {
			r->stdin_eof = true;
		}
		return;
	}
	agent_server_send(l->server, client,
	                  protocol_event_error(req->id, "no such request for stdin"));
}

/* A client went away: its requests are withdrawn. */
static void agent_link__on_disconnect(void *data, uint64_t client)
{
	struct agent_link *l = data;
	struct agent_link_req *r = l->reqs;

	agent_link__grant_drop(l, client);
	while (r != NULL) {
		struct agent_link_req *next = r->next;
		if (r->client == client)
			agent_link__cancel(l, r, true);
		r = next;
	}
}

static const struct agent_server_ops agent_link__ops = {
    .on_exec = agent_link__on_exec,
    .on_patch = agent_link__on_patch,
    .on_cancel = agent_link__on_cancel,
    .on_stdin = agent_link__on_stdin,
    .on_permissions = agent_link__on_permissions,
    .on_disconnect = agent_link__on_disconnect,
    .on_drained = agent_link__on_drained,
};

/* Opens the agent socket for T (see tui.h). */
struct agent_link *agent_link_start(struct tui *t, const char *path, char **cause)
{
	struct agent_link *l = xcalloc(1, sizeof *l);

	l->t = t;
	if (agent_server_start(t->loop, path, &agent_link__ops, l, &l->server, cause) != 0) {
		free(l);
		return NULL;
	}
	tui_set_socket_path(t, agent_server_path(l->server));
	/* How long an idle client stays: config agent.idle_timeout_ms, or the variable
	 * AIRLOCK_AGENT_IDLE_MS, which wins (tests set it short). */
	const char *idle = getenv("AIRLOCK_AGENT_IDLE_MS");
	if (idle != NULL && strtoull(idle, NULL, 10) > 0)
		agent_server_set_idle(l->server, strtoull(idle, NULL, 10));
	else if (t->opts->config.agent_idle_ms > 0)
		agent_server_set_idle(l->server, t->opts->config.agent_idle_ms);
	return l;
}

/* Closes the socket: what is still under way is no longer reported. */
void agent_link_stop(struct agent_link *l)
{
	if (l == NULL || l->server == NULL)
		return;
	agent_server_stop(l->server);
	l->server = NULL;
}

/* Frees the link, after the TUI (whose panes and prompts let go of its requests). */
void agent_link_free(struct agent_link *l)
{
	if (l == NULL)
		return;
	agent_link_stop(l);
	while (l->reqs != NULL)
		agent_link__forget(l->reqs);
	while (l->grants != NULL)
		agent_link__grant_drop(l, l->grants->client);
	free(l);
}
