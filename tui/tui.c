/*
 * The TUI's model and its loop.
 *
 * The model (panes, input line, focus, layout, overlays) changes only
 * through tui_key(), tui_resize() and the jobs' callbacks; each change sets
 * a dirty flag. tui_main() wires the model to the terminal on the libuv
 * loop: keys come from a uv_poll on standard input (read with wget_wch in
 * no-delay mode, never blocking), SIGWINCH from a uv_signal, and a
 * uv_prepare draws once per loop turn when the model is dirty, at most
 * TUI_FPS frames a second (a uv_timer catches the frame that was skipped),
 * so a flood of output coalesces into frames. Output to a pane nobody can
 * see does not ask for a frame at all.
 *
 * Keys are looked up in one const table of bindings; the help screen is
 * generated from it. Modals are the approval queue's head (or the quit
 * question): a key answers with approval_answer(), and the requester's
 * callback resumes it; nothing waits.
 *
 * The prompt guard (SPEC 5). A prompt takes no answer until it has been on
 * screen for TUI_ARM_MS with no key: each key that comes meanwhile starts
 * the wait again and goes where it would have gone without the prompt (the
 * input line or the focused pane), so typeahead, however long, is never
 * an answer; the footer says the prompt is arming and where keys go, and a
 * timer redraws it once it arms. The highlight starts on the last option,
 * which always denies, so a stray enter after arming refuses rather than
 * approves. Tab on a denying option opens a one-line field for a reason,
 * which goes with the answer to the audit log and the agent. The clock is
 * t->now_ms, which tests pin.
 *
 * Every way out restores the terminal: the normal quit, SIGTERM/SIGHUP/
 * SIGINT through libuv, and an atexit handler as the last resort.
 */
#include "tui/tui.h"

#include "core/config.h"
#include "core/decide.h"
#include "core/job.h"
#include "core/proxy-session.h"
#include "core/rules.h"
#include "core/sandbox-command.h"
#include "core/xmalloc.h"

#include <curses.h>
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* The loop's clock, when no test pins one. */
static uint64_t tui__loop_now(void *data)
{
	uv_loop_t *loop = data;

	uv_update_time(loop);
	return uv_now(loop);
}

/* The TUI clock. */
uint64_t tui_now(const struct tui *t)
{
	return t->now_ms(t->clock_data);
}

/* Recomputes the layout and gives each shown pane its terminal size. */
static void tui__relayout(struct tui *t)
{
	layout_screen(t->cols, t->rows, t->n_panes, t->current, t->maximised, &t->layout);
	for (int i = 0; i < t->n_panes; i++) {
		const struct rect *r = &t->layout.pane[i];
		if (r->h >= 2)
			pane_resize(t->panes[i], r->h - 1, r->w);
	}
	if (t->mode != NULL)
		t->mode->resize(t->mode_data);
	t->dirty = true;
}

/* Asks for a frame. */
void tui_dirty(struct tui *t)
{
	t->dirty = true;
}

/* Whether pane index I is on screen now. */
static bool tui__visible(const struct tui *t, int i)
{
	return t->layout.pane[i].h > 0;
}

/* The pane with number ID, or NULL. */
struct pane *tui_pane_by_id(struct tui *t, int id)
{
	for (int i = 0; i < t->n_panes; i++)
		if (t->panes[i]->id == id)
			return t->panes[i];
	return NULL;
}

/* A pane's output arrived: draw only when someone can see it. */
void tui_pane_changed(struct tui *t, const struct pane *p)
{
	for (int i = 0; i < t->n_panes; i++)
		if (t->panes[i] == p && tui__visible(t, i))
			t->dirty = true;
}

/* Makes a directory and its parents (mode 0700); errors are left to the users. */
static void tui__mkdirs(const char *path)
{
	char *p = xstrdup(path);

	for (char *s = p + 1; *s; s++) {
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0700);
			*s = '/';
		}
	}
	mkdir(p, 0700);
	free(p);
}

/* Shows why nothing that needs a decision runs, when the audit log cannot be written. */
void tui_audit_notice(struct tui *t)
{
	if (t->audit_error == NULL)
		return;
	free(t->notice);
	t->notice = xasprintf("%s: nothing that needs a decision runs; free space or fix its "
	                      "permissions, then restart airlock",
	                      t->audit_error);
	t->dirty = true;
}

/* A rule decided a request: one more hit for it (the rules view shows them). */
static void tui__rule_hit(const char *where, void *data)
{
	struct tui *t = data;
	size_t i;

	for (i = 0; i < t->n_hits; i++)
		if (strcmp(t->hit_where[i], where) == 0)
			break;
	if (i == t->n_hits) {
		t->hit_where = xreallocarray(t->hit_where, t->n_hits + 1, sizeof *t->hit_where);
		t->hit_count = xreallocarray(t->hit_count, t->n_hits + 1, sizeof *t->hit_count);
		t->hit_where[i] = xstrdup(where);
		t->hit_count[i] = 0;
		t->n_hits++;
	}
	t->hit_count[i]++;
}

/* The hits of the rule at FILE:LINE. */
unsigned long tui_rule_hits(const struct tui *t, const char *file, unsigned line)
{
	char where[4096];

	snprintf(where, sizeof where, "%s:%u", file, line);
	for (size_t i = 0; i < t->n_hits; i++)
		if (strcmp(t->hit_where[i], where) == 0)
			return t->hit_count[i];
	return 0;
}

/* The approval queue changed: a prompt came or went. */
static void tui__approvals_changed(void *data)
{
	struct tui *t = data;
	size_t n = approval_pending(t->approvals);

	/* One more prompt than last time: the next frame rings once (SPEC 11). */
	if (n > t->attention_seen)
		t->attention_ring = true;
	t->attention_seen = n;
	t->dirty = true;
}

/* Builds the model (see tui.h). */
struct tui *tui_new(const struct cli_options *opts, uv_loop_t *loop, uint64_t (*now_ms)(void *),
                    void *clock_data, char **cause)
{
	struct tui *t = xcalloc(1, sizeof *t);
	enum decide_approval approval = DECIDE_APPROVAL_ON_FAILURE;
	char *tried = NULL, *err = NULL;

	t->opts = opts;
	t->loop = loop;
	t->now_ms = now_ms != NULL ? now_ms : tui__loop_now;
	t->clock_data = now_ms != NULL ? clock_data : loop;
	t->cols = 80;
	t->rows = 24;
	t->current = -1;
	t->focus_input = true;
	t->prefix_key = opts->config.prefix_key > 0 ? opts->config.prefix_key : TUI_PREFIX_KEY;
	t->next_id = 1;
	t->color = !opts->no_color; /* NO_COLOR (non-empty) is in it: no-color.org */

	t->rules = cli_options_rules(opts);
	if (rules_load_all(t->rules, opts->home, opts->cwd, &err) != 0) {
		*cause = err;
		rules_free(t->rules);
		free(t);
		return NULL;
	}
	/* SPEC 6, said once: the workspace's own allow rules wait for `airlock trust`. */
	if (rules_workspace(t->rules)->ignored_allow > 0)
		t->notice = xasprintf("this workspace's own rules: %zu allow rule%s ignored until "
		                      "`airlock trust`",
		                      rules_workspace(t->rules)->ignored_allow,
		                      rules_workspace(t->rules)->ignored_allow == 1 ? "" : "s");
	if (opts->home != NULL)
		tui__mkdirs(opts->home);
	char *audit_path = audit_default_path();
	if (audit_path != NULL) {
		t->audit = audit_open(audit_path, &err);
		cli_audit_sync(t->audit, &opts->config);
		if (t->audit == NULL) {
			t->audit_error = xasprintf("audit log %s", err ? err : audit_path);
			free(err);
		}
		free(audit_path);
	} else {
		t->audit_error = xstrdup("audit log: no HOME, XDG_STATE_HOME or AIRLOCK_HOME");
	}
	tui_audit_notice(t);
	decide_approval_parse(opts->approval, &approval);
	struct approval_config acfg = {
	    .approval = approval,
	    .reject = opts->reject,
	    .rules = t->rules,
	    .home = opts->home,
	    .audit = t->audit,
	    .allowed_domains = (const char *const *)t->opts->config.allowed_domains,
	    .n_allowed_domains = t->opts->config.n_allowed_domains,
	    .denied_domains = (const char *const *)t->opts->config.denied_domains,
	    .n_denied_domains = t->opts->config.n_denied_domains,
	};
	t->approval = approval;
	t->network = strcmp(opts->network, "on") == 0    ? "on"
	             : strcmp(opts->network, "ask") == 0 ? "ask"
	                                                 : "off";
	/* The decider is asked before any prompt; its stderr must not scribble on the screen. */
	struct decider_spec dspec;
	if (cli_decider_spec(opts, true, &dspec))
		t->decider = decider_new(loop, &dspec);
	acfg.decider = t->decider;
	t->attention_title = -1;
	t->approvals = approval_queue_new(&acfg);
	approval_queue_set_changed(t->approvals, tui__approvals_changed, t);
	approval_queue_set_rule_hit(t->approvals, tui__rule_hit, t);

	t->sandbox_helper = sandbox_command_helper(&tried);
	free(tried);
	/* The legacy policy of -s/-w/-n, --sandbox-policy, or a profile's split policy. */
	t->sandbox_policy = cli_options_policy(opts);

	/* History is state, not config: $XDG_STATE_HOME/airlock/history (SPEC 9). */
	const char *state = getenv("XDG_STATE_HOME"), *user = getenv("HOME");
	char *statedir = state != NULL && state[0] == '/' ? xasprintf("%s/airlock", state)
	                 : user != NULL && user[0] != '\0' ? xasprintf("%s/.local/state/airlock", user)
	                                                   : NULL;
	char *hist = statedir != NULL ? xasprintf("%s/history", statedir) : NULL;
	if (statedir != NULL)
		tui__mkdirs(statedir);
	/* Older airlocks kept it in the config dir: moved here once. */
	if (hist != NULL && opts->home != NULL) {
		char *old = xasprintf("%s/history", opts->home);
		input_history_migrate(old, hist);
		free(old);
	}
	input_init(&t->input, hist);
	free(hist);
	free(statedir);
	input_init(&t->reason, NULL);
	t->cwd = opts->cwd != NULL ? xstrdup(opts->cwd) : NULL;
	tui__relayout(t);
	return t;
}

/*
 * Stops every command still running (quitting, SIGTERM, SIGHUP): each
 * through its helper (SIGTERM, which ends the sandbox, removes its covers
 * and runs the git check), at most JOB_STOP_GRACE_MS in all, then SIGKILL.
 * Each gets its exit line and its git report in the audit log.
 */
void tui_kill_all(struct tui *t)
{
	struct job *jobs[TUI_MAX_PANES];
	size_t n = 0;

	for (int i = 0; i < t->n_panes && n < TUI_MAX_PANES; i++)
		if (t->panes[i]->job != NULL)
			jobs[n++] = t->panes[i]->job;
	if (n > 0)
		job_stop_all(jobs, n, JOB_STOP_GRACE_MS);
	for (int i = 0; i < t->n_panes; i++) {
		struct pane *p = t->panes[i];
		int status = 128 + SIGKILL;

		if (p->job == NULL)
			continue;
		job_status(p->job, &status);
		launch_git_reports(p, p->job);
		job_free(p->job);
		p->job = NULL;
		if (p->state == PANE_RUNNING) {
			p->state = PANE_EXITED;
			p->status = status;
			p->end_ms = tui_now(t);
			audit_exit(t->audit, p->argc, p->argv, status, p->end_ms - p->start_ms,
			           p->sandboxed);
		}
	}
}

/* Frees the model: pending prompts are denied first, then the panes go. */
void tui_free(struct tui *t)
{
	if (t == NULL)
		return;
	/* Proxies ask the queue: they close before it goes. */
	for (int i = 0; i < t->n_panes; i++)
		tui_pane_proxy_close(t->panes[i]);
	tui_mode_leave(t);
	if (t->proxy != NULL) {
		/* A proxy the mode switch started (tui_main closes its own first). */
		proxy_session_close(t->proxy, NULL, NULL);
		t->proxy = NULL;
	}
	approval_queue_free(t->approvals);
	t->approvals = NULL;
	decider_free(t->decider); /* after the queue, which withdraws its questions */
	t->decider = NULL;
	tui_kill_all(t);
	for (int i = 0; i < t->n_panes; i++) {
		launch_drop(t->panes[i]);
		pane_free(t->panes[i]);
	}
	rules_free(t->rules);
	audit_close(t->audit);
	free(t->proxy_fs_policy);
	if (t->proxy_env != NULL)
		proxy_env_free(t->proxy_env);
	input_free(&t->input);
	input_free(&t->reason);
	for (size_t i = 0; i < t->n_hits; i++)
		free(t->hit_where[i]);
	free(t->hit_where);
	free(t->hit_count);
	free(t->modal_dest);
	free(t->modal_field);
	free(t->modal_origin);
	free(t->socket_path);
	free(t->notice);
	free(t->cwd);
	free(t->audit_error);
	free(t->sandbox_helper);
	free(t->sandbox_policy);
	free(t);
}

/* The screen changed size. */
void tui_resize(struct tui *t, int cols, int rows)
{
	t->cols = cols > 0 ? cols : 1;
	t->rows = rows > 0 ? rows : 1;
	tui__relayout(t);
}

/* Shows PATH in the status bar. */
void tui_set_socket_path(struct tui *t, const char *path)
{
	free(t->socket_path);
	t->socket_path = path != NULL ? xstrdup(path) : NULL;
	t->dirty = true;
}

/* Adds a pane and makes it current. */
struct pane *tui_add_pane(struct tui *t, const char *command, size_t argc, char *const argv[])
{
	struct pane *p;

	if (t->n_panes == TUI_MAX_PANES) {
		free(t->notice);
		t->notice = xasprintf("at most %d panes: close one with Ctrl-W", TUI_MAX_PANES);
		t->dirty = true;
		return NULL;
	}
	p = pane_new(t, t->next_id++, command, argc, argv, 1, 1);
	p->start_ms = p->end_ms = tui_now(t);
	p->sandboxed = true; /* until a decision says otherwise */
	t->panes[t->n_panes++] = p;
	/*
	 * A pane that has the keyboard keeps it: an agent's new pane must not
	 * take the keys typed into a REPL and send them to the input line.
	 */
	if (t->focus_input || t->current < 0)
		t->current = t->n_panes - 1;
	tui__relayout(t);
	if (t->layout.pane[t->n_panes - 1].h < 2)
		pane_resize(p, t->rows > 3 ? t->rows - 3 : 1, t->cols);
	return p;
}

/* How many panes run or wait. */
int tui_running(const struct tui *t)
{
	int n = 0;

	for (int i = 0; i < t->n_panes; i++)
		n += t->panes[i]->state == PANE_RUNNING || t->panes[i]->state == PANE_WAITING;
	return n;
}

/* The current pane, or NULL. */
static struct pane *tui__current(struct tui *t)
{
	return t->current >= 0 && t->current < t->n_panes ? t->panes[t->current] : NULL;
}

/* Stops the loop: the terminal is restored by tui_main. */
static void tui__quit_now(struct tui *t)
{
	t->quit = true;
	if (t->in_loop)
		uv_stop(t->loop);
}

/* ---- the modal ---- */

static const struct {
	char key;
	const char *label;
} tui__quit_options[] = {
    {.key = 'y', .label = "Yes, quit and stop them"},
    {.key = 'n', .label = "No"},
};

/* Clears the deny-reason field. */
static void tui__reason_clear(struct tui *t)
{
	t->reason_open = false;
	t->reason.len = t->reason.cur = 0;
	t->reason.buf[0] = L'\0';
}

/* Forgets the prompt on screen: the next one shown (or this one again) arms anew. */
static void tui__modal_forget(struct tui *t)
{
	t->modal_prompt = 0;
	tui__reason_clear(t);
}

/* Whether option I of PR denies (esc's option, or deny-and-block). */
static bool tui__option_denies(const struct approval_prompt *pr, int i)
{
	return i >= 0 && (size_t)i < pr->n_options &&
	       (pr->options[i].answer == APPROVAL_DENY ||
	        pr->options[i].answer == APPROVAL_DENY_BLOCK ||
	        pr->options[i].answer == APPROVAL_DENY_RULE);
}

/* Where a key goes when no modal takes it, as the arming footer names it. */
static char *tui__key_dest(struct tui *t)
{
	const struct pane *p =
	    t->current >= 0 && t->current < t->n_panes ? t->panes[t->current] : NULL;

	if (!t->focus_input && p != NULL && p->state == PANE_RUNNING)
		return xasprintf("pane %d", p->id);
	return xstrdup("the input line");
}

/* When the prompt on screen arms, or 0. */
uint64_t tui_modal_arms_at(struct tui *t)
{
	struct modal_view v;

	if (!tui_modal_view(t, &v) || t->overlay == TUI_OVERLAY_QUIT)
		return 0;
	return t->modal_since + TUI_ARM_MS;
}

/* Prompts waiting behind the one on screen. */
size_t tui_prompts_waiting(struct tui *t)
{
	size_t n = t->approvals != NULL ? approval_pending(t->approvals) : 0;

	/* The one on screen is not waiting: it is being asked. */
	if (n > 0 && t->overlay == TUI_OVERLAY_NONE)
		n--;
	return n;
}

/* The modal on screen as a view. */
bool tui_modal_view(struct tui *t, struct modal_view *v)
{
	static char quit_reason[96];
	const struct approval_prompt *pr;
	uint64_t now;

	memset(v, 0, sizeof *v);
	if (t->overlay == TUI_OVERLAY_QUIT) {
		int n = tui_running(t);
		snprintf(quit_reason, sizeof quit_reason, "%d command%s still run%s.", n,
		         n == 1 ? "" : "s", n == 1 ? "s" : "");
		v->title = "Quit airlock?";
		v->reason = quit_reason;
		v->n_options = 2;
		for (size_t i = 0; i < 2; i++) {
			v->options[i].key = tui__quit_options[i].key;
			v->options[i].label = tui__quit_options[i].label;
		}
		v->selected = t->modal_selected;
		return true;
	}
	if (t->overlay != TUI_OVERLAY_NONE)
		return false;
	pr = t->approvals != NULL ? approval_current(t->approvals) : NULL;
	if (pr == NULL) {
		if (t->modal_prompt != 0)
			tui__modal_forget(t);
		return false;
	}
	now = tui_now(t);
	if (pr->id != t->modal_prompt) {
		tui__modal_forget(t);
		t->modal_prompt = pr->id;
		/* The last option denies: a stray enter refuses. */
		t->modal_selected = pr->n_options > 0 ? (int)pr->n_options - 1 : 0;
		t->modal_scroll = 0;
		t->modal_since = now;
		free(t->modal_dest);
		t->modal_dest = tui__key_dest(t);
	}
	v->title = pr->title;
	v->origin = pr->origin != NULL && pr->origin[0] != '\0' ? pr->origin : NULL;
	if (v->origin != NULL && pr->n_waiters > 1) {
		/* Others asked the same: the answer is theirs too, so say so. */
		free(t->modal_origin);
		t->modal_origin = xasprintf("%s, and %zu more request%s", v->origin,
		                            pr->n_waiters - 1, pr->n_waiters == 2 ? "" : "s");
		v->origin = t->modal_origin;
	}
	v->cwd = pr->cwd != NULL && pr->cwd[0] != '\0' ? pr->cwd : NULL;
	v->arming = now < t->modal_since + TUI_ARM_MS;
	v->arming_dest = t->modal_dest;
	v->tab_hint = !v->arming && !t->reason_open && tui__option_denies(pr, t->modal_selected);
	v->reason = pr->reason;
	v->subject = pr->subject;
	v->diff = pr->diff;
	v->command = pr->kind == APPROVAL_EXEC;
	v->n_options = pr->n_options;
	for (size_t i = 0; i < pr->n_options; i++) {
		v->options[i].key = pr->options[i].key;
		v->options[i].label = pr->options[i].label;
	}
	v->selected = t->modal_selected;
	v->scroll = t->modal_scroll;
	v->waiting = approval_pending(t->approvals) - 1;
	if (v->arming) {
		free(t->modal_dest);
		t->modal_dest = tui__key_dest(t);
		v->arming_dest = t->modal_dest;
	}
	if (t->reason_open) {
		free(t->modal_field);
		t->modal_field = input_text(&t->reason);
		v->field = t->modal_field;
		v->field_cursor = input_cursor_col(&t->reason);
	}
	return true;
}

/* Chooses option I of the modal on screen. */
static void tui__modal_choose(struct tui *t, size_t i)
{
	const struct approval_prompt *pr;

	t->dirty = true;
	if (t->overlay == TUI_OVERLAY_QUIT) {
		t->overlay = TUI_OVERLAY_NONE;
		t->modal_selected = 0;
		tui__modal_forget(t);
		if (i == 0) {
			tui_kill_all(t);
			tui__quit_now(t);
		}
		return;
	}
	pr = approval_current(t->approvals);
	if (pr == NULL || i >= pr->n_options)
		return;
	char *reason = t->reason_open && tui__option_denies(pr, (int)i) ? input_text(&t->reason)
	                                                                : NULL;
	tui__modal_forget(t);
	approval_answer_reason(t->approvals, pr->id, pr->options[i].answer, reason);
	free(reason);
}

/* A key while the deny-reason field is open: edit, enter denies with it, esc goes back. */
static void tui__reason_key(struct tui *t, wint_t ch, bool keycode)
{
	char *line = NULL;

	if (!keycode && (ch == 0x1b || ch == 0x03)) {
		tui__reason_clear(t);
		return;
	}
	if ((!keycode && (ch == '\r' || ch == '\n')) || (keycode && ch == KEY_ENTER)) {
		tui__modal_choose(t, (size_t)t->modal_selected);
		return;
	}
	/* History and tabs mean nothing here. */
	if ((keycode && (ch == KEY_UP || ch == KEY_DOWN)) || (!keycode && ch == '\t'))
		return;
	input_key(&t->reason, ch, keycode, &line);
	free(line);
}

/* A key while a modal is up: choose, move, scroll or deny. */
static void tui__modal_key(struct tui *t, const struct modal_view *v, wint_t ch, bool keycode)
{
	int n = (int)v->n_options;

	t->dirty = true;
	if (t->reason_open && t->overlay == TUI_OVERLAY_NONE) {
		tui__reason_key(t, ch, keycode);
		return;
	}
	if (!keycode && ch == 0x11 && t->overlay == TUI_OVERLAY_QUIT) {
		/* Ctrl-Q again: quit when nothing runs any more, else keep asking. */
		if (tui_running(t) == 0) {
			t->overlay = TUI_OVERLAY_NONE;
			tui__quit_now(t);
		}
		return;
	}
	if (!keycode && ch == '\t' && t->overlay == TUI_OVERLAY_NONE) {
		const struct approval_prompt *pr = approval_current(t->approvals);

		if (pr != NULL && tui__option_denies(pr, t->modal_selected))
			t->reason_open = true;
		return;
	}
	if (keycode) {
		switch (ch) {
		case KEY_UP:
			t->modal_selected = (t->modal_selected + n - 1) % n;
			return;
		case KEY_DOWN:
			t->modal_selected = (t->modal_selected + 1) % n;
			return;
		case KEY_PPAGE:
			t->modal_scroll = t->modal_scroll > 5 ? t->modal_scroll - 5 : 0;
			return;
		case KEY_NPAGE:
			t->modal_scroll += 5;
			return;
		case KEY_ENTER:
			tui__modal_choose(t, (size_t)t->modal_selected);
			return;
		default:
			return;
		}
	}
	if (ch == 'k') {
		t->modal_selected = (t->modal_selected + n - 1) % n;
	} else if (ch == 'j') {
		t->modal_selected = (t->modal_selected + 1) % n;
	} else if (ch == '\r' || ch == '\n') {
		tui__modal_choose(t, (size_t)t->modal_selected);
	} else if (ch == 0x1b) {
		tui__modal_choose(t, (size_t)(n - 1));
	} else if (ch == 0x03) {
		if (t->overlay == TUI_OVERLAY_QUIT)
			tui__modal_choose(t, (size_t)(n - 1));
		else
			approval_deny_all(t->approvals);
	} else if (ch >= '1' && ch <= '9' && (int)(ch - '0') <= n) {
		tui__modal_choose(t, (size_t)(ch - '1'));
	} else {
		for (int i = 0; i < n; i++)
			if (v->options[i].key == (char)ch)
				tui__modal_choose(t, (size_t)i);
	}
}

/* ---- modes ---- */

/* Starts mode M in place of the one on; a mode that cannot start says why. */
void tui_mode_enter(struct tui *t, const struct tui_mode *m)
{
	const char *why = NULL;
	void *data;

	tui_mode_leave(t);
	t->dirty = true;
	data = m->init(t, &why);
	if (data == NULL) {
		free(t->notice);
		t->notice = xstrdup(why != NULL ? why : "cannot start that now");
		return;
	}
	t->mode = m;
	t->mode_data = data;
}

/* Ends the mode on. */
void tui_mode_leave(struct tui *t)
{
	if (t->mode == NULL)
		return;
	t->mode->free(t->mode_data);
	t->mode = NULL;
	t->mode_data = NULL;
	t->dirty = true;
}

/* The mode's view. */
bool tui_mode_view(struct tui *t, struct mode_view *v)
{
	memset(v, 0, sizeof *v);
	if (t->mode == NULL)
		return false;
	t->mode->view(t->mode_data, v);
	return true;
}

/* The approval policy from now on, unless the managed policy does not allow it. */
int tui_set_approval(struct tui *t, enum decide_approval a, char **cause)
{
	if (!managed_allows(&t->opts->managed.approval_policies, decide_approval_name(a))) {
		*cause = xasprintf("%s does not allow it (allowed_approval_policies)",
		                   t->opts->managed.path != NULL ? t->opts->managed.path
		                                                 : "the managed policy");
		return -EPERM;
	}
	t->approval = a;
	approval_set_policy(t->approvals, a);
	t->dirty = true;
	return 0;
}

/* The shared proxy goes (its prompts with it); panes' own proxies stay with their commands. */
static void tui__stop_proxy(struct tui *t)
{
	if (t->proxy != NULL)
		proxy_session_close(t->proxy, NULL, NULL);
	t->proxy = NULL;
	free(t->proxy_fs_policy);
	t->proxy_fs_policy = NULL;
	proxy_env_free(t->proxy_env);
	t->proxy_env = NULL;
}

static void tui__start_proxy(struct tui *t);

/* The network mode from now on: the sandbox policy again, and the proxy for ask. */
int tui_set_network(struct tui *t, const char *mode, char **cause)
{
	bool on = strcmp(mode, "on") == 0;

	if (strcmp(mode, "off") != 0 && strcmp(mode, "ask") != 0 && !on) {
		*cause = xasprintf("unknown network mode %s", mode);
		return -EINVAL;
	}
	if (!managed_allows(&t->opts->managed.network_modes, mode)) {
		*cause = xasprintf("%s does not allow it (allowed_network_modes)",
		                   t->opts->managed.path != NULL ? t->opts->managed.path
		                                                 : "the managed policy");
		return -EPERM;
	}
	if (t->opts->sandbox_policy != NULL) {
		*cause = xstrdup("the sandbox is --sandbox-policy JSON, which sets its network");
		return -EPERM;
	}
	if (t->opts->profile != NULL) {
		*cause = xasprintf("the permission profile %s sets it (-p at start)", t->opts->profile);
		return -EPERM;
	}
	if (strcmp(t->opts->sandbox, "danger-full-access") == 0) {
		*cause = xstrdup("commands run with no sandbox: the network is the host's");
		return -EPERM;
	}
	tui__stop_proxy(t);
	t->network = on ? "on" : strcmp(mode, "ask") == 0 ? "ask" : "off";
	free(t->sandbox_policy);
	t->sandbox_policy = sandbox_command_policy(t->opts->sandbox, t->opts->writable_roots,
	                                           t->opts->n_writable_roots, on);
	if (strcmp(t->network, "ask") == 0)
		tui__start_proxy(t);
	t->dirty = true;
	return 0;
}

/* F3 (or prefix r): the rules view. */
static void tui__key_rules(struct tui *t)
{
	tui_mode_enter(t, &mode_rules);
}

/* F4 (or prefix m): the mode switch. */
static void tui__key_modes(struct tui *t)
{
	tui_mode_enter(t, &mode_switch);
}

/* ---- key bindings ---- */

/* Ctrl-Q: quit, asking first when commands still run. */
static void tui__key_quit(struct tui *t)
{
	if (tui_running(t) > 0) {
		tui__modal_forget(t);
		t->overlay = TUI_OVERLAY_QUIT;
		t->modal_selected = 0;
		t->dirty = true;
		return;
	}
	tui__quit_now(t);
}

/* A command ended: the quit question is moot once nothing runs. */
void tui_command_ended(struct tui *t)
{
	t->dirty = true;
	if (t->overlay == TUI_OVERLAY_QUIT && tui_running(t) == 0) {
		t->overlay = TUI_OVERLAY_NONE;
		tui__quit_now(t);
	}
}

/* F1 or ?: the help screen. */
static void tui__key_help(struct tui *t)
{
	tui__modal_forget(t);
	t->overlay = TUI_OVERLAY_HELP;
	t->dirty = true;
}

/* F2: one pane maximised, or all tiled. */
static void tui__key_layout(struct tui *t)
{
	t->maximised = !t->maximised;
	tui__relayout(t);
}

/* Moves focus by DIR through the input line and the panes. */
static void tui__focus(struct tui *t, int dir)
{
	/* Positions: 0 = the input line, 1..n = the panes. */
	int n = t->n_panes + 1;
	int pos = t->focus_input ? 0 : t->current + 1;

	pos = (pos + dir + n) % n;
	t->focus_input = pos == 0;
	if (pos > 0)
		t->current = pos - 1;
	tui__relayout(t);
}

/* Tab: the next pane. */
static void tui__key_next(struct tui *t)
{
	tui__focus(t, +1);
}

/* Shift-Tab: the previous pane. */
static void tui__key_prev(struct tui *t)
{
	tui__focus(t, -1);
}

/* PgUp: back in the current pane's scrollback. */
static void tui__key_pgup(struct tui *t)
{
	struct pane *p = tui__current(t);

	if (p != NULL)
		pane_scroll(p, p->rows > 2 ? p->rows - 1 : 1);
	t->dirty = true;
}

/* PgDn: forward towards the live screen. */
static void tui__key_pgdn(struct tui *t)
{
	struct pane *p = tui__current(t);

	if (p != NULL)
		pane_scroll(p, -(p->rows > 2 ? p->rows - 1 : 1));
	t->dirty = true;
}

/* Closes the pane at index I, whose command is over. */
static void tui__close_pane(struct tui *t, int i)
{
	struct pane *p = t->panes[i];

	if (t->mode == &mode_scroll)
		tui_mode_leave(t); /* it scrolled this pane, or another that moves now */
	launch_drop(p);
	pane_free(p);
	memmove(&t->panes[i], &t->panes[i + 1], (size_t)(t->n_panes - i - 1) * sizeof t->panes[0]);
	t->n_panes--;
	if (t->current > i || t->current >= t->n_panes)
		t->current = t->current > i ? t->current - 1 : t->n_panes - 1;
	if (t->n_panes == 0)
		t->focus_input = true;
	tui__relayout(t);
}

/* Ctrl-W: closes the current pane once its command is over. */
static void tui__key_close(struct tui *t)
{
	struct pane *p = tui__current(t);

	if (p == NULL || p->state == PANE_RUNNING || p->state == PANE_WAITING)
		return;
	tui__close_pane(t, t->current);
}

/* Makes room for a pane (see tui.h): finished agent panes go, oldest first. */
bool tui_make_room(struct tui *t)
{
	for (int i = 0; i < t->n_panes && t->n_panes == TUI_MAX_PANES; i++) {
		struct pane *p = t->panes[i];

		if (p->state != PANE_RUNNING && p->state != PANE_WAITING && p->origin != NULL &&
		    strncmp(p->origin, "agent", 5) == 0) {
			tui__close_pane(t, i);
			t->dirty = true;
			break;
		}
	}
	return t->n_panes < TUI_MAX_PANES;
}

/* Ctrl-C: interrupts the current pane's command, or clears the input line. */
static void tui__key_interrupt(struct tui *t)
{
	struct pane *p = tui__current(t);

	if (t->focus_input && t->input.len > 0) {
		t->input.len = t->input.cur = 0;
		t->input.buf[0] = L'\0';
	} else if (p != NULL && p->state == PANE_RUNNING && p->job != NULL) {
		job_interrupt(p->job);
	}
	t->dirty = true;
}

/* Whether the current pane's command is over (Ctrl-W applies). */
static bool tui__when_closable(struct tui *t)
{
	struct pane *p = tui__current(t);

	return p != NULL && p->state != PANE_RUNNING && p->state != PANE_WAITING;
}

/* Whether the input line has focus and is empty (`?` opens help). */
static bool tui__when_input_empty(struct tui *t)
{
	return t->focus_input && t->input.len == 0;
}

/* Whether Ctrl-C belongs to airlock (input line, or a running current pane). */
static bool tui__when_interrupt(struct tui *t)
{
	return t->focus_input || (tui__current(t) != NULL && tui__current(t)->job != NULL);
}

/* Focuses the pane DIR away from the current one, among the panes only. */
static void tui__focus_pane(struct tui *t, int dir)
{
	if (t->n_panes == 0)
		return;
	t->current = ((t->current < 0 ? 0 : t->current) + dir + t->n_panes) % t->n_panes;
	t->focus_input = false;
	tui__relayout(t);
}

/* The key after the prefix: acts on airlock (n p z x [ i Esc), or sends the prefix on. */
static void tui__prefix_key(struct tui *t, wint_t ch, bool keycode)
{
	struct pane *p = tui__current(t);

	t->dirty = true;
	if (keycode)
		ch = 0;
	if ((int)ch == t->prefix_key) {
		/* Twice: the command gets the key itself. */
		if (!t->focus_input && p != NULL && p->state == PANE_RUNNING)
			pane_key(p, ch, false);
		return;
	}
	switch (ch) {
	case 'n':
		tui__focus_pane(t, +1);
		return;
	case 'p':
		tui__focus_pane(t, -1);
		return;
	case 'z':
		tui__key_layout(t);
		return;
	case 'x':
		if (p != NULL && (p->state == PANE_RUNNING || p->state == PANE_WAITING)) {
			free(t->notice);
			t->notice = xasprintf("pane %d still runs: interrupt it first (Ctrl-C in it)",
			                      p->id);
		} else if (p != NULL) {
			tui__close_pane(t, t->current);
		}
		return;
	case '[':
		tui_mode_enter(t, &mode_scroll);
		return;
	case 'r':
		tui_mode_enter(t, &mode_rules);
		return;
	case 'm':
		tui_mode_enter(t, &mode_switch);
		return;
	case 'o': {
		/* A failed sandboxed command, again outside the sandbox, through the retry prompt. */
		int rc = p != NULL ? launch_retry_outside(p) : -EINVAL;

		if (rc != 0) {
			free(t->notice);
			t->notice = xstrdup(rc == -EPERM ? "the managed policy runs nothing outside the "
			                                   "sandbox: no retry outside"
			                                 : "o retries outside the sandbox a focused pane "
			                                   "whose sandboxed command failed");
		}
		return;
	}
	case 'i':
	case 0x1b:
		t->focus_input = true;
		tui__relayout(t);
		return;
	case '?':
		tui__key_help(t);
		return;
	default:
		free(t->notice);
		t->notice = xstrdup("after the prefix: n p (panes), z (maximise), x (close), "
		                    "[ (scroll), r (rules), m (modes), i or Esc (input line)");
		return;
	}
}

struct tui_binding {
	int key;
	bool keycode;
	const char *keys; /* as the help screen names it; NULL: not listed */
	const char *what;
	bool (*when)(struct tui *t); /* NULL: always */
	void (*fn)(struct tui *t);
};

static const struct tui_binding tui__bindings[] = {
    {.key = 0x11,
     .keys = "Ctrl-Q",
     .what = "quit (asks first when commands still run)",
     .fn = tui__key_quit},
    {.key = KEY_F(1),
     .keycode = true,
     .keys = "F1, ?",
     .what = "this help (? on an empty input line)",
     .fn = tui__key_help},
    {.key = '?', .when = tui__when_input_empty, .fn = tui__key_help},
    {.key = KEY_F(2),
     .keycode = true,
     .keys = "F2",
     .what = "maximise the current pane / tile all panes",
     .fn = tui__key_layout},
    {.key = KEY_F(3),
     .keycode = true,
     .keys = "F3",
     .what = "the rules: where each comes from; d revokes one",
     .fn = tui__key_rules},
    {.key = KEY_F(4),
     .keycode = true,
     .keys = "F4",
     .what = "the session's approval policy and network mode",
     .fn = tui__key_modes},
    {.key = '\t',
     .keys = "Tab, Shift-Tab",
     .what = "from the input line: focus the next / previous pane",
     .fn = tui__key_next},
    {.key = KEY_BTAB, .keycode = true, .fn = tui__key_prev},
    {.key = KEY_PPAGE,
     .keycode = true,
     .keys = "PgUp, PgDn",
     .what = "scroll the current pane's output",
     .fn = tui__key_pgup},
    {.key = KEY_NPAGE, .keycode = true, .fn = tui__key_pgdn},
    {.key = 0x17,
     .keys = "Ctrl-W",
     .what = "close the current pane (finished commands)",
     .when = tui__when_closable,
     .fn = tui__key_close},
    {.key = 0x03,
     .keys = "Ctrl-C",
     .what = "interrupt the current pane's command",
     .when = tui__when_interrupt,
     .fn = tui__key_interrupt},
};

static const struct tui_help_line tui__help_extra[] = {
    {.keys = "Enter", .what = "run the input line as `bash -lc LINE`"},
    {.keys = "Up, Down", .what = "walk the input history"},
    {.keys = "(typing)", .what = "in a focused running pane: all keys but the prefix"},
    {.keys = "Ctrl-] n p z x o", .what = "prefix, then: panes, maximise, close, retry outside"},
    {.keys = "Ctrl-] [ r m i", .what = "prefix, then: scroll, rules, modes, input line"},
    {.keys = "/ ? n N Home End", .what = "in scroll mode: search back, forward, again; ends"},
    {.keys = "1-9, y a p d n", .what = "in a prompt: choose an option"},
    {.keys = "j k, arrows", .what = "in a prompt: move; Enter confirms"},
    {.keys = "Esc", .what = "in a prompt: the last, denying option"},
    {.keys = "Tab", .what = "in a prompt, on a denying option: type a reason"},
    {.keys = "Ctrl-C", .what = "in a prompt: deny every waiting prompt"},
};

/* The help screen's lines: the bindings that have a name, then the rest. */
const struct tui_help_line *tui_help_lines(size_t *n)
{
	static struct tui_help_line lines[sizeof tui__bindings / sizeof tui__bindings[0] +
	                                  sizeof tui__help_extra / sizeof tui__help_extra[0]];
	size_t k = 0;

	for (size_t i = 0; i < sizeof tui__bindings / sizeof tui__bindings[0]; i++)
		if (tui__bindings[i].keys != NULL)
			lines[k++] =
			    (struct tui_help_line){tui__bindings[i].keys, tui__bindings[i].what};
	for (size_t i = 0; i < sizeof tui__help_extra / sizeof tui__help_extra[0]; i++)
		lines[k++] = tui__help_extra[i];
	*n = k;
	return lines;
}

/* One key: overlays first, then the bindings, then whoever has focus. */
void tui_key(struct tui *t, wint_t ch, bool keycode)
{
	struct modal_view v;
	struct pane *p;
	char *line = NULL;

	if (t->notice != NULL) {
		free(t->notice);
		t->notice = NULL;
		t->dirty = true;
	}
	tui_audit_notice(t); /* that one stays */
	if (keycode && ch == KEY_RESIZE)
		return;
	if (t->overlay == TUI_OVERLAY_HELP) {
		t->overlay = TUI_OVERLAY_NONE;
		tui__modal_forget(t); /* a prompt under the help arms once it shows */
		t->dirty = true;
		return;
	}
	if (tui_modal_view(t, &v)) {
		if (!v.arming) {
			/* A prefix typed before the prompt came acts on nothing after it. */
			t->prefix = false;
			tui__modal_key(t, &v, ch, keycode);
			return;
		}
		/* Arming: the key is typeahead; it goes on, and the wait starts again. */
		t->modal_since = tui_now(t);
		t->dirty = true;
	}
	p = tui__current(t);
	if (t->mode != NULL) {
		if (!t->mode->key(t->mode_data, ch, keycode))
			tui_mode_leave(t);
		t->dirty = true;
		return;
	}
	if (t->prefix) {
		t->prefix = false;
		tui__prefix_key(t, ch, keycode);
		return;
	}
	if (!keycode && (int)ch == t->prefix_key) {
		t->prefix = true;
		t->dirty = true;
		return;
	}
	/* A focused running pane gets every key but the prefix (SPEC 7). */
	if (!t->focus_input && p != NULL && p->state == PANE_RUNNING) {
		pane_key(p, ch, keycode);
		/* Typing brings the live screen back. */
		if (p->scroll != 0) {
			p->scroll = 0;
			t->dirty = true;
		}
		return;
	}
	for (size_t i = 0; i < sizeof tui__bindings / sizeof tui__bindings[0]; i++) {
		const struct tui_binding *b = &tui__bindings[i];
		if (b->key == (int)ch && b->keycode == keycode && (b->when == NULL || b->when(t))) {
			b->fn(t);
			return;
		}
	}
	if (!t->focus_input && p != NULL && p->state == PANE_RUNNING) {
		pane_key(p, ch, keycode);
		/* Typing brings the live screen back. */
		if (p->scroll != 0) {
			p->scroll = 0;
			t->dirty = true;
		}
		return;
	}
	if (!t->focus_input) {
		/* A finished pane takes no keys: typing goes to the input line. */
		if (keycode || ch < 0x20)
			return;
		t->focus_input = true;
	}
	if (input_key(&t->input, ch, keycode, &line))
		t->dirty = true;
	if (line != NULL) {
		launch_line(t, line);
		free(line);
	}
}

/* ---- the loop (tui_main) ---- */

static struct tui *tui__active; /* for the atexit handler */

/* Restores the terminal whatever the way out. */
static void tui__atexit(void)
{
	if (tui__active != NULL && !isendwin())
		endwin();
}

/* The frame that was too soon is due now. */
static void tui__on_frame(uv_timer_t *h);
static void tui__on_idle(uv_idle_t *h);
static void tui__on_arm(uv_timer_t *h);

/*
 * Feeds the panes' queued output for about BUDGET_NS, shared by the panes
 * that have some; resumes reading a paused job once its queue has drained
 * to half. What is left waits for the next step.
 */
void tui_flush(struct tui *t, uint64_t budget_ns)
{
	int busy = 0;

	for (int i = 0; i < t->n_panes; i++)
		busy += t->panes[i]->pending_len > 0;
	t->pending = false;
	for (int i = 0; i < t->n_panes && busy > 0; i++) {
		struct pane *p = t->panes[i];
		if (p->pending_len == 0)
			continue;
		if (pane_flush_for(p, budget_ns / (uint64_t)busy) > 0)
			t->pending = true;
		if (p->paused && p->pending_len < (launch_relayed(p) ? PANE_RELAYED_PENDING
		                                                    : PANE_PENDING_MAX) / 2) {
			p->paused = false;
			if (p->job != NULL)
				job_resume(p->job);
		}
		t->dirty = true;
	}
}

/* Bytes queued in all panes but relayed ones (launch_relayed), not yet through the emulator. */
static size_t tui__pending_bytes(const struct tui *t)
{
	size_t n = 0;

	for (int i = 0; i < t->n_panes; i++)
		if (!launch_relayed(t->panes[i])) /* a sample: fed when a frame is due */
			n += t->panes[i]->pending_len;
	return n;
}

/*
 * Once per loop turn. Queued output is fed when a frame is due, or as soon
 * as TUI_FLUSH_MIN bytes wait, for a short step at a time (an idle handle
 * keeps the turns coming while a step is not enough): a flood is fed in
 * large pieces, whose lines mostly go straight to the scrollback (see
 * pane__feed_flood), rather than a few KiB at every turn. Then it draws
 * when dirty and a frame is due, or arms the frame timer, which also
 * brings back what waits below TUI_FLUSH_MIN. A key's frame is drawn at
 * once, before any more output is fed.
 */
static void tui__frame(struct tui *t)
{
	uint64_t now, gap = 1000 / TUI_FPS;
	bool due, feed;

	if (t->quit)
		return;
	if (t->urgent && !t->dirty)
		t->urgent = false; /* a key that changed nothing holds nothing back */
	uv_update_time(t->loop);
	now = uv_now(t->loop);
	due = t->last_frame_ms == 0 || now - t->last_frame_ms >= gap || t->urgent;
	feed = t->pending && !t->urgent && (due || tui__pending_bytes(t) >= TUI_FLUSH_MIN);
	if (feed)
		tui_flush(t, TUI_FLUSH_STEP_NS);
	if (t->in_loop) {
		bool more = feed && t->pending;
		if (more && !uv_is_active((uv_handle_t *)&t->idle))
			uv_idle_start(&t->idle, tui__on_idle);
		else if (!more && uv_is_active((uv_handle_t *)&t->idle))
			uv_idle_stop(&t->idle);
	}
	if (!t->dirty && !t->pending)
		return;
	if (!due || !t->dirty) {
		if (!uv_is_active((uv_handle_t *)&t->frame_timer))
			uv_timer_start(&t->frame_timer, tui__on_frame,
			               due ? 1 : gap - (now - t->last_frame_ms), 0);
		return;
	}
	t->last_frame_ms = now;
	t->urgent = false;
	t->dirty = false;
	draw_screen(t);
	/* A prompt that is arming is drawn again once it takes answers. */
	uint64_t arms = t->in_loop ? tui_modal_arms_at(t) : 0;
	if (arms > now)
		uv_timer_start(&t->arm_timer, tui__on_arm, arms - now, 0);
}

/* The prompt on screen takes answers now: its footer changes. */
static void tui__on_arm(uv_timer_t *h)
{
	struct tui *t = h->data;

	t->dirty = true;
	t->urgent = true;
	tui__frame(t);
}

/* Output waits: keep the loop turning (the work is done in tui__frame). */
static void tui__on_idle(uv_idle_t *h)
{
	(void)h;
}

/* The frame timer fired: the postponed frame is due. */
static void tui__on_frame(uv_timer_t *h)
{
	tui__frame(h->data);
}

/* Before the loop waits: the one draw of this turn. */
static void tui__on_prepare(uv_prepare_t *h)
{
	tui__frame(h->data);
}

/* While commands run their titles' clocks move: a frame every 100 ms. */
static void tui__on_tick(uv_timer_t *h)
{
	struct tui *t = h->data;
	static unsigned ticks;
	bool changed = false;
	char *cause = NULL;

	if (tui_running(t) > 0)
		t->dirty = true;
	/* Once a second the rules files are looked at (a stat each): a broken edit shows at once. */
	if (++ticks % 10 == 0) {
		/* A command whose requester went away dies: if one kill did not take, another. */
		uint64_t now = uv_now(t->loop);
		for (int i = 0; i < t->n_panes; i++) {
			struct pane *p = t->panes[i];
			if (p != NULL && p->killed_ms != 0 && p->state == PANE_RUNNING &&
			    p->job != NULL && now - p->killed_ms >= 1000) {
				job_kill(p->job);
				p->killed_ms = now;
			}
		}
		rules_refresh(t->rules, &changed, &cause);
		free(cause);
		if (changed)
			t->dirty = true;
	}
}

/* Keys are waiting on standard input: take them all, never blocking. */
static void tui__on_stdin(uv_poll_t *h, int status, int events)
{
	struct tui *t = h->data;
	wint_t ch;
	int r;

	struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
	int n = 0;

	if (status < 0 || (events & UV_DISCONNECT)) {
		/* The terminal went away: stop everything, as on SIGHUP. */
		tui_kill_all(t);
		tui__quit_now(t);
		return;
	}
	while (!t->quit && (r = wget_wch(stdscr, &ch)) != ERR) {
		tui_key(t, ch, r == KEY_CODE_YES);
		n++;
	}
	if (n == 0 && poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR | POLLNVAL))) {
		tui_kill_all(t);
		tui__quit_now(t);
		return;
	}
	/* What a person typed is drawn at once, whatever the frame cap. */
	t->urgent = true;
}

/* The terminal was resized. */
static void tui__on_winch(uv_signal_t *h, int signum)
{
	struct tui *t = h->data;
	struct winsize ws;

	(void)signum;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0 || ws.ws_row == 0)
		return;
	resizeterm(ws.ws_row, ws.ws_col);
	tui_resize(t, ws.ws_col, ws.ws_row);
	clearok(curscr, TRUE);
	t->dirty = true;
}

/* SIGTERM, SIGHUP, SIGINT: stop everything and restore the terminal. */
static void tui__on_signal(uv_signal_t *h, int signum)
{
	struct tui *t = h->data;

	(void)signum;
	tui_kill_all(t);
	tui__quit_now(t);
}

/* Closes one of the loop's handles. */
static void tui__close(uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/*
 * -n ask: the session's network proxy, deciding through the approval queue
 * (network prompts are modals like the others); sandboxed commands then get
 * the proxy network policy and its environment. When it cannot start,
 * commands run with no network at all (closed, not open) and a notice says so.
 */
static int tui__proxy_new(struct tui *t, struct proxy_session **out);

static void tui__start_proxy(struct tui *t)
{
	char *cause = NULL;
	int rc;

	if (strcmp(t->network, "ask") != 0 ||
	    strcmp(t->opts->sandbox, "danger-full-access") == 0)
		return;
	t->proxy_fs_policy = proxy_session_fs_policy(t->sandbox_policy, &cause);
	if (t->proxy_fs_policy == NULL) {
		free(t->notice);
		t->notice = xasprintf("no network proxy (%s): commands have no network", cause);
		free(cause);
		return;
	}
	rc = tui__proxy_new(t, &t->proxy);
	if (rc < 0) {
		t->proxy = NULL;
		free(t->proxy_fs_policy);
		t->proxy_fs_policy = NULL;
		free(t->notice);
		t->notice =
		    xasprintf("no network proxy (%s): commands have no network", strerror(-rc));
		return;
	}
	t->proxy_env = proxy_session_env(t->proxy);
}

/*
 * A proxy on the TUI's loop asking its approval queue, set up as config.json
 * says. Refusals are told in the panes' own output (the client sees them),
 * not on the TUI's terminal. Returns 0 or -errno.
 */
static int tui__proxy_new(struct tui *t, struct proxy_session **out)
{
	char *cause = NULL;
	int rc = proxy_session_start(t->loop, t->approvals, out);

	if (rc < 0)
		return rc;
	proxy_session_set_refusals(*out, NULL);
	proxy_session_set_head_timeout(*out, t->opts->config.head_timeout_ms);
	if (proxy_session_set_allow_private(*out,
	                                    (const char *const *)t->opts->config.allow_private,
	                                    t->opts->config.n_allow_private, &cause) != 0) {
		free(t->notice);
		t->notice = xasprintf("%s: no private address is open", cause);
		free(cause);
	}
	return 0;
}

/*
 * A network prompt of pane P's command starts or stops waiting: its timeout's
 * clock stops meanwhile (SPEC 12). The pane closes its proxy before it goes.
 */
static void tui__pane_net_waiting(void *data, bool waiting)
{
	struct pane *p = data;

	p->net_waiting = waiting ? 1 : 0;
	if (p->job != NULL)
		job_timeout_hold(p->job, waiting);
}

/* A network request of pane P's command was withdrawn (its client went away): a line says so. */
static void tui__pane_net_note(void *data, const char *line)
{
	struct pane *p = data;

	pane_note(p, line);
	p->tui->dirty = true;
}

/* Pane P's own proxy (see tui.h). */
char **tui_pane_proxy_env(struct tui *t, struct pane *p)
{
	if (t->proxy_fs_policy == NULL)
		return t->proxy_env;
	if (p->proxy == NULL) {
		if (tui__proxy_new(t, &p->proxy) < 0) {
			p->proxy = NULL;
			return t->proxy_env;
		}
		char *origin = xasprintf("pane %d: %s", p->id, p->command);
		proxy_session_set_origin(p->proxy, origin, p->cwd != NULL ? p->cwd : t->opts->cwd);
		proxy_session_set_waiting(p->proxy, tui__pane_net_waiting, p);
		proxy_session_set_notes(p->proxy, tui__pane_net_note, p);
		free(origin);
		proxy_env_free(p->proxy_env);
		p->proxy_env = proxy_session_env(p->proxy);
	}
	return p->proxy_env;
}

/* Closes pane P's proxy (see tui.h). */
void tui_pane_proxy_close(struct pane *p)
{
	if (p->proxy != NULL)
		proxy_session_close(p->proxy, NULL, NULL);
	p->proxy = NULL;
	proxy_env_free(p->proxy_env);
	p->proxy_env = NULL;
}

/* The TUI: runs until Ctrl-Q or a signal; returns the exit status. */
int tui_main(const struct cli_options *opts)
{
	uv_loop_t *loop = uv_default_loop();
	struct agent_link *link = NULL;
	char *cause = NULL;
	struct tui *t;
	SCREEN *scr;

	/*
	 * No locale configured at all (LANG, LC_ALL, LC_CTYPE unset, as under
	 * some service managers): take UTF-8, which every terminal airlock is
	 * likely to meet speaks, rather than ASCII, which would garble the frames.
	 */
	if (strcmp(nl_langinfo(CODESET), "UTF-8") != 0 && getenv("LANG") == NULL &&
	    getenv("LC_ALL") == NULL && getenv("LC_CTYPE") == NULL)
		setlocale(LC_CTYPE, "C.UTF-8");
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "airlock: the TUI needs a terminal: use `airlock exec -- CMD` "
		                "in scripts\n");
		return 2;
	}
	t = tui_new(opts, loop, NULL, NULL, &cause);
	if (t == NULL) {
		fprintf(stderr, "airlock: %s\n", cause);
		free(cause);
		return 2;
	}
	set_escdelay(25);
	scr = newterm(NULL, stdout, stdin);
	if (scr == NULL) {
		fprintf(stderr, "airlock: cannot use the terminal (TERM=%s)\n",
		        getenv("TERM") ? getenv("TERM") : "");
		tui_free(t);
		return 2;
	}
	tui__active = t;
	atexit(tui__atexit);
	raw();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	/*
	 * No typeahead check during refresh: it polls the terminal, and the
	 * loop already knows when keys come (a poll on a busy tty can wait on
	 * the kernel's tty work queue).
	 */
	typeahead(-1);
	draw_init(t->color);
	tui_resize(t, COLS, LINES);

	uv_poll_init(loop, &t->stdin_poll, STDIN_FILENO);
	uv_signal_init(loop, &t->sig_winch);
	uv_signal_init(loop, &t->sig_term);
	uv_signal_init(loop, &t->sig_hup);
	uv_signal_init(loop, &t->sig_int);
	uv_prepare_init(loop, &t->prepare);
	uv_idle_init(loop, &t->idle);
	uv_timer_init(loop, &t->frame_timer);
	uv_timer_init(loop, &t->tick_timer);
	uv_timer_init(loop, &t->arm_timer);
	t->arm_timer.data = t;
	t->stdin_poll.data = t->sig_winch.data = t->sig_term.data = t->sig_hup.data =
	    t->sig_int.data = t->prepare.data = t->frame_timer.data = t->tick_timer.data =
	        t->idle.data = t;
	uv_poll_start(&t->stdin_poll, UV_READABLE | UV_DISCONNECT, tui__on_stdin);
	uv_signal_start(&t->sig_winch, tui__on_winch, SIGWINCH);
	uv_signal_start(&t->sig_term, tui__on_signal, SIGTERM);
	uv_signal_start(&t->sig_hup, tui__on_signal, SIGHUP);
	uv_signal_start(&t->sig_int, tui__on_signal, SIGINT);
	uv_prepare_start(&t->prepare, tui__on_prepare);
	uv_timer_start(&t->tick_timer, tui__on_tick, 100, 100);

	link = agent_link_start(t, NULL, &cause);
	if (link == NULL) {
		free(t->notice);
		t->notice = xasprintf("no agent socket: %s", cause ? cause : "cannot listen");
		free(cause);
		cause = NULL;
	}
	tui__start_proxy(t);
	if (opts->argc > 0)
		launch_argv(t, (size_t)opts->argc, opts->argv);
	t->dirty = true;
	t->in_loop = true;
	if (!t->quit)
		uv_run(loop, UV_RUN_DEFAULT);
	t->in_loop = false;

	tui__close((uv_handle_t *)&t->stdin_poll);
	tui__close((uv_handle_t *)&t->sig_winch);
	tui__close((uv_handle_t *)&t->sig_term);
	tui__close((uv_handle_t *)&t->sig_hup);
	tui__close((uv_handle_t *)&t->sig_int);
	tui__close((uv_handle_t *)&t->prepare);
	tui__close((uv_handle_t *)&t->idle);
	tui__close((uv_handle_t *)&t->frame_timer);
	tui__close((uv_handle_t *)&t->tick_timer);
	tui__close((uv_handle_t *)&t->arm_timer);
	draw_attention_end(t);
	endwin();
	tui__active = NULL;
	agent_link_stop(link);
	tui_kill_all(t);
	/* The proxies close before the approval queue they ask goes. */
	for (int i = 0; i < t->n_panes; i++)
		tui_pane_proxy_close(t->panes[i]);
	if (t->proxy != NULL) {
		proxy_session_close(t->proxy, NULL, NULL);
		t->proxy = NULL;
	}
	uv_run(loop, UV_RUN_DEFAULT);
	tui_free(t);
	agent_link_free(link);
	/* Let the closed handles (the jobs' too) finish. */
	uv_run(loop, UV_RUN_DEFAULT);
	delscreen(scr);
	return 0;
}
