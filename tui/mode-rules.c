/*
 * The rules view (F3, or prefix r; SPEC 7): every rule the session decides
 * by, one row each, over the shared list engine (mode-list.c). A row says
 * the rule's verdict first (allow, prompt, forbidden; deny for hosts), then
 * what it covers, the file and line it comes from, and how many decisions
 * it made this session (the approval queue's rule_hit hook counts them in
 * tui.c); the selected rule's full origin (path:line:col) and
 * justification show under the list. What
 * is not a rule but changes what rules do is said above them: a broken
 * file whose last good rules stand in, a workspace whose own allow rules
 * are ignored until `airlock trust`.
 *
 * Revoking in place: d (or Delete) on a rule asks, in the footer, whether
 * to remove it from its file; only y does (any other key keeps it), so a
 * stray key never edits a rules file. The rule is found again by its file,
 * place and text after the rules are read anew, so an edit made meanwhile
 * is never hit by mistake; a managed rule (SPEC 11) is marked and never
 * offered for revoking (rules_remove refuses it too). rules_remove()
 * rewrites the file atomically (a file that would not load afterwards is
 * left alone), and the rules are read again at once, so the next command
 * is decided without it.
 *
 * The session's own answers (a, and d for a host) are listed after the
 * rules, from the approval queue (approval_session_what), and d then y
 * forgets one the same way (approval_session_revoke): the next such
 * request asks again. Their tags are negative (-2 - index), a rule's its
 * index in the rule set.
 *
 * The model is the rule set itself (t->rules): the list is filled from it
 * on every key, so a reload behind the view (an edit, `airlock rules
 * remove`) shows at once.
 */
#include "tui/tui.h"

#include "core/rules.h"
#include "core/xmalloc.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mode_rules {
	struct tui *t;
	struct mode_list list;
	/* the rule a d asked about, as it was seen (its pointers may go with a reload) */
	bool confirming;
	char *c_file, *c_text;
	unsigned c_line, c_col;
	char *footer, *detail, *title;
	char *message; /* what the last revoke did */
};

/* PATH shortened for a row: its last component. */
static const char *mode_rules__base(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL && slash[1] != '\0' ? slash + 1 : path;
}

/* What a rule covers, as one line: its pattern, its host, or its program's paths. Caller frees. */
static char *mode_rules__what(const struct rules_rule *r)
{
	switch (r->kind) {
	case RULES_KIND_PREFIX:
		return xstrdup(r->pattern_text != NULL ? r->pattern_text : r->text);
	case RULES_KIND_NETWORK: {
		char port[16] = "";
		if (r->port != 0)
			snprintf(port, sizeof port, ":%u", r->port);
		return xasprintf("host %s%s%s%s", r->host, port, r->protocol != NULL ? " over " : "",
		                 r->protocol != NULL ? r->protocol : "");
	}
	case RULES_KIND_HOST_EXECUTABLE:
		return xasprintf("program %s only at %s%s", r->exe_name,
		                 r->n_exe_paths > 0 ? r->exe_paths[0] : "(no path)",
		                 r->n_exe_paths > 1 ? " and more" : "");
	}
	return xstrdup(r->text);
}

/* The verdict word a row starts with. */
static const char *mode_rules__verdict(const struct rules_rule *r)
{
	if (r->kind == RULES_KIND_HOST_EXECUTABLE)
		return "pins";
	return rules_decision_name(r->kind, r->decision);
}

/* Fills the list from the rule set, keeping the selection on the same rule when it can. */
static void mode_rules__fill(struct mode_rules *m)
{
	struct rules *rs = m->t->rules;
	const struct mode_list_item *cur = mode_list_current(&m->list);
	long keep = cur != NULL ? cur->tag : -1;
	size_t n = rs != NULL ? rules_count(rs) : 0;
	const struct rules_workspace_info *ws = rs != NULL ? rules_workspace(rs) : NULL;
	const char *broken = rs != NULL ? rules_broken(rs) : NULL;

	mode_list_clear(&m->list);
	if (broken != NULL)
		mode_list_add(&m->list, MODE_ROW_WARN, false, -1,
		              "broken: %s (its last good rules stand; what only it allowed is refused)",
		              broken);
	if (ws != NULL && ws->files > 0) {
		if (ws->trusted)
			mode_list_add(&m->list, MODE_ROW_NOTE, false, -1,
			              "this workspace's own rules (%zu file%s) are trusted", ws->files,
			              ws->files == 1 ? "" : "s");
		else
			mode_list_add(&m->list, MODE_ROW_WARN, false, -1,
			              "this workspace's own rules are not trusted: %zu allow rule%s "
			              "ignored until `airlock trust`",
			              ws->ignored_allow, ws->ignored_allow == 1 ? "" : "s");
	}
	mode_list_add(&m->list, MODE_ROW_HEADING, false, -1, "Rules in force (%zu), in load order",
	              n);
	if (n == 0)
		mode_list_add(&m->list, MODE_ROW_NOTE, false, -1,
		              "  none: `p` in a prompt or `airlock rules add` writes one");
	for (size_t i = 0; i < n; i++) {
		const struct rules_rule *r = rules_get(rs, i);
		char *what = mode_rules__what(r);
		unsigned long hits = tui_rule_hits(m->t, r->file, r->line);
		char hit[32] = "";
		if (hits > 0)
			snprintf(hit, sizeof hit, "  \xc2\xb7 %lu hit%s", hits, hits == 1 ? "" : "s");
		mode_list_add(&m->list, MODE_ROW_TEXT, true, (long)i, "  %-9s %s  \xc2\xb7 %s:%u%s%s",
		              mode_rules__verdict(r), what, mode_rules__base(r->file), r->line, hit,
		              r->managed ? "  \xc2\xb7 managed" : "");
		free(what);
	}
	size_t ns = m->t->approvals != NULL ? approval_session_count(m->t->approvals) : 0;
	mode_list_add(&m->list, MODE_ROW_HEADING, false, -1,
	              "Answers kept for this session (%zu), until airlock quits", ns);
	if (ns == 0)
		mode_list_add(&m->list, MODE_ROW_NOTE, false, -1,
		              "  none: `a` in a prompt (or `d` for a host) keeps one");
	for (size_t i = 0; i < ns; i++)
		mode_list_add(&m->list, MODE_ROW_TEXT, true, -2 - (long)i, "  session   %s",
		              approval_session_what(m->t->approvals, i));
	if (keep == -1 || !mode_list_select_tag(&m->list, keep))
		mode_list_resize(&m->list, m->list.height);
}

/* The list's height: the panes' area less the title, detail and footer rows. */
static void mode_rules__resize(void *data)
{
	struct mode_rules *m = data;

	mode_list_resize(&m->list, m->t->layout.panes.h - 3);
}

/* Opens the view: the rules are read anew first (a file edited since shows). */
static void *mode_rules__init(struct tui *t, const char **why)
{
	struct mode_rules *m;
	char *cause = NULL;

	if (t->rules == NULL) {
		*why = "no rules are loaded";
		return NULL;
	}
	if (rules_refresh(t->rules, NULL, &cause) != 0)
		free(cause); /* rules_broken() says it in the view */
	m = xcalloc(1, sizeof *m);
	m->t = t;
	m->list.selected = 0;
	mode_rules__resize(m);
	mode_rules__fill(m);
	return m;
}

/* Forgets the rule a d asked about. */
static void mode_rules__unconfirm(struct mode_rules *m)
{
	m->confirming = false;
	free(m->c_file);
	free(m->c_text);
	m->c_file = m->c_text = NULL;
}

/* Frees the view. */
static void mode_rules__free(void *data)
{
	struct mode_rules *m = data;

	mode_rules__unconfirm(m);
	mode_list_free(&m->list);
	free(m->footer);
	free(m->detail);
	free(m->title);
	free(m->message);
	free(m);
}

/* Sets the message of the last revoke. */
static void mode_rules__say(struct mode_rules *m, char *msg)
{
	free(m->message);
	m->message = msg;
}

/* y after d on a session answer: forgotten, found again by what it covers. */
static void mode_rules__forget(struct mode_rules *m)
{
	struct approval_queue *q = m->t->approvals;

	for (size_t i = 0; q != NULL && i < approval_session_count(q); i++) {
		if (strcmp(approval_session_what(q, i), m->c_text) == 0) {
			approval_session_revoke(q, i);
			mode_rules__say(m, xasprintf("forgotten: %s (it asks again)", m->c_text));
			return;
		}
	}
	mode_rules__say(m, xstrdup("that answer went meanwhile: nothing forgotten"));
}

/* y after d: the rule asked about goes from its file, and the rules are read again. */
static void mode_rules__revoke(struct mode_rules *m)
{
	if (m->c_file == NULL) {
		mode_rules__forget(m);
		return;
	}
	struct rules *rs = m->t->rules;
	const struct rules_rule *found = NULL;
	char *cause = NULL;

	if (rules_refresh(rs, NULL, &cause) != 0) {
		free(cause);
		cause = NULL;
	}
	for (size_t i = 0; i < rules_count(rs) && found == NULL; i++) {
		const struct rules_rule *r = rules_get(rs, i);
		if (strcmp(r->file, m->c_file) == 0 && r->line == m->c_line && r->col == m->c_col &&
		    strcmp(r->text, m->c_text) == 0)
			found = r;
	}
	if (found == NULL) {
		mode_rules__say(m, xstrdup("that rule changed or went meanwhile: nothing removed"));
		return;
	}
	if (rules_remove(found, &cause) != 0) {
		mode_rules__say(m, xasprintf("not revoked: %s", cause != NULL ? cause : "error"));
		free(cause);
		return;
	}
	mode_rules__say(m, xasprintf("revoked %s from %s", m->c_text, mode_rules__base(m->c_file)));
	if (rules_refresh(rs, NULL, &cause) != 0) {
		free(cause);
		cause = NULL;
	}
}

/* One key: move, d then y revokes, q or Esc closes (false). */
static bool mode_rules__key(void *data, wint_t ch, bool keycode)
{
	struct mode_rules *m = data;
	const struct mode_list_item *cur;

	mode_rules__say(m, NULL);
	if (m->confirming) {
		if (!keycode && (ch == 'y' || ch == 'Y'))
			mode_rules__revoke(m);
		mode_rules__unconfirm(m);
		mode_rules__fill(m);
		return true;
	}
	mode_rules__fill(m);
	if (mode_list_key(&m->list, ch, keycode))
		return true;
	if ((!keycode && (ch == 'q' || ch == 0x1b || ch == 0x03)) ||
	    (keycode && ch == KEY_F(3)))
		return false;
	cur = mode_list_current(&m->list);
	if (cur != NULL && cur->tag <= -2 &&
	    ((!keycode && (ch == 'd' || ch == 'x')) || (keycode && ch == KEY_DC))) {
		const char *what = approval_session_what(m->t->approvals, (size_t)(-2 - cur->tag));
		if (what != NULL) {
			m->confirming = true;
			m->c_text = xstrdup(what);
		}
		return true;
	}
	if (cur != NULL && ((!keycode && (ch == 'd' || ch == 'x')) || (keycode && ch == KEY_DC))) {
		const struct rules_rule *r = rules_get(m->t->rules, (size_t)cur->tag);
		if (r == NULL)
			return true;
		if (r->managed) {
			/* SPEC 11: what the administrator set, no user loosens. */
			mode_rules__say(m, xstrdup("a managed rule: only the administrator's policy "
			                           "changes it"));
			return true;
		}
		m->confirming = true;
		m->c_file = xstrdup(r->file);
		m->c_text = xstrdup(r->text);
		m->c_line = r->line;
		m->c_col = r->col;
	}
	return true;
}

/* The title, the list, the selected rule's origin and the keys (or the question). */
static void mode_rules__view(void *data, struct mode_view *v)
{
	struct mode_rules *m = data;
	const struct mode_list_item *cur;

	mode_rules__fill(m); /* a reload behind the view shows at once */
	free(m->title);
	m->title = xstrdup(" Rules \xc2\xb7 what decides commands and hosts before a prompt");
	v->title = m->title;
	v->list = &m->list;
	free(m->detail);
	m->detail = NULL;
	cur = mode_list_current(&m->list);
	if (cur != NULL && cur->tag <= -2) {
		m->detail = xstrdup("kept by an answer in a prompt, for this session only");
	} else if (cur != NULL) {
		const struct rules_rule *r = rules_get(m->t->rules, (size_t)cur->tag);
		if (r != NULL) {
			char *file = layout_tilde(r->file, getenv("HOME"));
			m->detail = xasprintf("%s:%u:%u%s%s", file, r->line, r->col,
			                      r->justification != NULL ? " \xc2\xb7 " : "",
			                      r->justification != NULL ? r->justification : "");
			free(file);
		}
	}
	v->detail = m->detail;
	free(m->footer);
	if (m->confirming && m->c_file == NULL)
		m->footer = xstrdup("forget this answer? y forgets it, any other key keeps it");
	else if (m->confirming)
		m->footer = xasprintf("revoke this rule from %s? y revokes it, any other key keeps it",
		                      mode_rules__base(m->c_file));
	else
		m->footer = xstrdup("\xe2\x86\x91\xe2\x86\x93 move \xc2\xb7 d revokes a rule or an answer "
		                    "\xc2\xb7 q or Esc closes");
	v->footer = m->footer;
	v->message = m->message;
}

const struct tui_mode mode_rules = {
    .name = "rules",
    .init = mode_rules__init,
    .free = mode_rules__free,
    .resize = mode_rules__resize,
    .key = mode_rules__key,
    .view = mode_rules__view,
};
