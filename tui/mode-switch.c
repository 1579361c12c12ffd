/*
 * The mode switch (F4, or prefix m; SPEC 7): the session's approval policy
 * and network mode, each a short list of choices over the shared list
 * engine, the one in force marked. Enter on a choice switches to it for
 * what is decided and started from then on (commands already running keep
 * what they started with, as a pane's own proxy does); the status bar shows
 * the new mode at once. What the managed policy (SPEC 11) does not allow is
 * listed dim and cannot be chosen; a choice that cannot be made says why in
 * the row under the list and changes nothing (the network of a sandbox
 * given as --sandbox-policy JSON or by a permission profile, or of no
 * sandbox at all, is not the switch's). The permission profiles are listed,
 * the one in force marked (SPEC 12); a profile is chosen at start (-p).
 *
 * The effects live in tui.c (tui_set_approval, tui_set_network): this file
 * is the choosing, testable without curses.
 */
#include "tui/tui.h"

#include "core/xmalloc.h"

#include <curses.h>
#include <stdlib.h>
#include <string.h>

/* Tags: an approval policy is its enum value, a network mode MODE_SWITCH_NET + its index. */
#define MODE_SWITCH_NET 100

static const struct {
	enum decide_approval approval;
	const char *what;
} mode_switch__approvals[] = {
    {DECIDE_APPROVAL_UNTRUSTED, "ask before anything not known to be safe"},
    {DECIDE_APPROVAL_ON_FAILURE, "sandboxed; ask to run outside when it fails"},
    {DECIDE_APPROVAL_ON_REQUEST, "sandboxed; ask when an agent asks for more"},
    {DECIDE_APPROVAL_NEVER, "never ask: what would prompt is refused"},
};

/* The network modes, in the order -n names them. */
static const struct {
	const char *mode;
	const char *what;
} mode_switch__networks[] = {
    {"off", "no network in the sandbox"},
    {"ask", "a prompt for each new host, through airlock's proxy"},
    {"on", "the host's network in the sandbox"},
};

/* The built-in permission profiles (SPEC 12), listed before config.json's. */
static const char *const mode_switch__builtins[] = {":read-only", ":workspace",
                                                    ":danger-full-access"};

struct mode_switch {
	struct tui *t;
	struct mode_list list;
	char *message;
};

/* Fills the list, marking the modes in force. */
static void mode_switch__fill(struct mode_switch *m)
{
	struct tui *t = m->t;

	const struct managed *mp = &t->opts->managed;

	mode_list_clear(&m->list);
	mode_list_add(&m->list, MODE_ROW_HEADING, false, -1, "Approval policy (-a)");
	for (size_t i = 0; i < sizeof mode_switch__approvals / sizeof mode_switch__approvals[0];
	     i++) {
		enum decide_approval a = mode_switch__approvals[i].approval;
		/* What the managed policy does not allow is shown, dim, and cannot be chosen. */
		bool ok = managed_allows(&mp->approval_policies, decide_approval_name(a));
		mode_list_add(&m->list, ok ? MODE_ROW_TEXT : MODE_ROW_NOTE, ok, (long)a,
		              "  %s %-11s %s", a == t->approval ? "(\xe2\x80\xa2)" : "( )",
		              decide_approval_name(a),
		              ok ? mode_switch__approvals[i].what : "not allowed by the managed policy");
	}
	mode_list_add(&m->list, MODE_ROW_HEADING, false, -1, "Network (-n)");
	for (size_t i = 0; i < sizeof mode_switch__networks / sizeof mode_switch__networks[0]; i++) {
		const char *n = mode_switch__networks[i].mode;
		bool ok = managed_allows(&mp->network_modes, n);
		mode_list_add(&m->list, ok ? MODE_ROW_TEXT : MODE_ROW_NOTE, ok,
		              MODE_SWITCH_NET + (long)i, "  %s %-11s %s",
		              t->network != NULL && strcmp(t->network, n) == 0 ? "(\xe2\x80\xa2)" : "( )",
		              n, ok ? mode_switch__networks[i].what : "not allowed by the managed policy");
	}
	/* SPEC 12: the profiles are listed; one is chosen when airlock starts (-p). */
	const char *in_force = t->opts->profile;
	mode_list_add(&m->list, MODE_ROW_HEADING, false, -1, "Permission profiles (-p, at start)");
	for (size_t i = 0; i < sizeof mode_switch__builtins / sizeof mode_switch__builtins[0]; i++)
		mode_list_add(&m->list, MODE_ROW_NOTE, false, -1, "  %s %s",
		              in_force != NULL && strcmp(in_force, mode_switch__builtins[i]) == 0
		                  ? "(\xe2\x80\xa2)"
		                  : "   ",
		              mode_switch__builtins[i]);
	for (size_t i = 0; i < t->opts->config.profiles.n; i++) {
		const char *name = t->opts->config.profiles.v[i].name;
		mode_list_add(&m->list, MODE_ROW_NOTE, false, -1, "  %s %s",
		              in_force != NULL && strcmp(in_force, name) == 0 ? "(\xe2\x80\xa2)" : "   ",
		              name);
	}
	mode_list_resize(&m->list, m->list.height);
}

/* The list's height: the panes' area less the title, message and footer rows. */
static void mode_switch__resize(void *data)
{
	struct mode_switch *m = data;

	mode_list_resize(&m->list, m->t->layout.panes.h - 3);
}

/* Opens on the approval policy in force. */
static void *mode_switch__init(struct tui *t, const char **why)
{
	struct mode_switch *m = xcalloc(1, sizeof *m);

	(void)why;
	m->t = t;
	mode_switch__resize(m);
	mode_switch__fill(m);
	mode_list_select_tag(&m->list, (long)t->approval);
	return m;
}

/* Frees the state. */
static void mode_switch__free(void *data)
{
	struct mode_switch *m = data;

	mode_list_free(&m->list);
	free(m->message);
	free(m);
}

/* Enter: switches to the selected choice. */
static void mode_switch__choose(struct mode_switch *m)
{
	const struct mode_list_item *cur = mode_list_current(&m->list);
	char *cause = NULL;

	if (cur == NULL)
		return;
	free(m->message);
	m->message = NULL;
	if (cur->tag >= MODE_SWITCH_NET) {
		const char *mode = mode_switch__networks[cur->tag - MODE_SWITCH_NET].mode;
		if (tui_set_network(m->t, mode, &cause) != 0) {
			m->message = xasprintf("network stays %s: %s", m->t->network, cause);
			free(cause);
		} else {
			m->message = xasprintf("network %s for the commands started from now on", mode);
		}
	} else if (tui_set_approval(m->t, (enum decide_approval)cur->tag, &cause) != 0) {
		m->message = xasprintf("approval stays %s: %s", decide_approval_name(m->t->approval),
		                       cause);
		free(cause);
	} else {
		m->message = xasprintf("approval %s from now on",
		                       decide_approval_name((enum decide_approval)cur->tag));
	}
	mode_switch__fill(m);
}

/* One key: move, Enter switches, q or Esc closes (false). */
static bool mode_switch__key(void *data, wint_t ch, bool keycode)
{
	struct mode_switch *m = data;

	if (mode_list_key(&m->list, ch, keycode))
		return true;
	if ((!keycode && (ch == 'q' || ch == 0x1b || ch == 0x03)) || (keycode && ch == KEY_F(4)))
		return false;
	if ((!keycode && (ch == '\r' || ch == '\n' || ch == ' ')) || (keycode && ch == KEY_ENTER))
		mode_switch__choose(m);
	return true;
}

/* The title, the choices, what the last switch did, the keys. */
static void mode_switch__view(void *data, struct mode_view *v)
{
	struct mode_switch *m = data;

	v->title = " Modes \xc2\xb7 for what is decided and started from now on";
	v->list = &m->list;
	v->detail = m->message;
	v->footer = "\xe2\x86\x91\xe2\x86\x93 move \xc2\xb7 Enter switches \xc2\xb7 q or Esc closes";
}

const struct tui_mode mode_switch = {
    .name = "modes",
    .init = mode_switch__init,
    .free = mode_switch__free,
    .resize = mode_switch__resize,
    .key = mode_switch__key,
    .view = mode_switch__view,
};
