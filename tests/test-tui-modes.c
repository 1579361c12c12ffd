/*
 * The TUI's modes on their models alone, without curses (issue 14, SPEC 7):
 * the shared list engine, scroll mode's search over a pane, the rules view
 * (listing, revoking in place: the next decision goes without the rule),
 * the mode switch (approval policy and network mode for what comes next),
 * and the status bar's text, shortened rather than cut.
 */
#include "test.h"

#include "core/approval.h"
#include "core/rules.h"
#include "core/xmalloc.h"
#include "tui/tui.h"

#include <curses.h>
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MODES_T0 7000000

struct modes {
	uv_loop_t loop;
	struct cli_options opts;
	struct tui *t;
	uint64_t now;
	int spawned;
};

/* The pinned clock. */
static uint64_t modes__clock(void *data)
{
	return ((struct modes *)data)->now;
}

/* Starts nothing: counts what would have run. */
static int modes__spawn(struct pane *p, char *const argv[], void *data)
{
	(void)p;
	(void)argv;
	((struct modes *)data)->spawned++;
	return 0;
}

/* Writes TEXT to HOME/rules/NAME. */
static void modes__rules_file(const char *home, const char *name, const char *text)
{
	char *dir = xasprintf("%s/rules", home), *path = xasprintf("%s/%s", dir, name);
	FILE *f;

	mkdir(dir, 0700);
	f = fopen(path, "w");
	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
	free(dir);
	free(path);
}

/* A TUI model under APPROVAL and NETWORK whose home holds RULES as default.rules (or none). */
static int modes_open(struct modes *m, const char *approval, const char *network,
                      const char *rules)
{
	char *cause = NULL;

	memset(m, 0, sizeof *m);
	setlocale(LC_ALL, "C.UTF-8");
	m->opts.home = xasprintf("%s/home", test_tmpdir());
	mkdir(m->opts.home, 0700);
	if (rules != NULL)
		modes__rules_file(m->opts.home, "default.rules", rules);
	setenv("AIRLOCK_HOME", m->opts.home, 1);
	setenv("HOME", test_tmpdir(), 1);
	setenv("AIRLOCK_SANDBOX_EXE", "/bin/true", 1);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("XDG_STATE_HOME");
	m->opts.mode = CLI_MODE_TUI;
	m->opts.sandbox = "workspace-write";
	m->opts.approval = approval;
	m->opts.network = network;
	m->opts.cwd = xstrdup("/ws");
	m->now = MODES_T0;
	uv_loop_init(&m->loop);
	m->t = tui_new(&m->opts, &m->loop, modes__clock, m, &cause);
	if (m->t == NULL) {
		fprintf(stderr, "tui_new: %s\n", cause);
		free(cause);
		return -1;
	}
	m->t->spawn = modes__spawn;
	m->t->spawn_data = m;
	return 0;
}

/* Tears the model down. */
static void modes_close(struct modes *m)
{
	tui_free(m->t);
	uv_run(&m->loop, UV_RUN_NOWAIT);
	uv_loop_close(&m->loop);
	free(m->opts.cwd);
	free(m->opts.home);
}

/* Types TEXT, one key per byte. */
static void modes_type(struct modes *m, const char *text)
{
	for (const char *c = text; *c; c++)
		tui_key(m->t, (wint_t)(unsigned char)*c, false);
}

/* One function key. */
static void modes_keycode(struct modes *m, int key)
{
	tui_key(m->t, (wint_t)key, true);
}

/* The selected row's text of the mode on, or "" (borrowed). */
static const char *modes_selected(struct modes *m)
{
	struct mode_view v;
	const struct mode_list_item *it;

	if (!tui_mode_view(m->t, &v) || v.list == NULL)
		return "";
	it = mode_list_current(v.list);
	return it != NULL ? it->text : "";
}

TEST(tui_mode_list_moves_over_headings_and_keeps_the_selection_in_view)
{
	struct mode_list l = {0};

	mode_list_add(&l, MODE_ROW_HEADING, false, -1, "first");
	for (int i = 0; i < 10; i++)
		mode_list_add(&l, MODE_ROW_TEXT, true, i, "row %d", i);
	mode_list_add(&l, MODE_ROW_HEADING, false, -1, "second");
	for (int i = 10; i < 14; i++)
		mode_list_add(&l, MODE_ROW_TEXT, true, i, "row %d", i);
	mode_list_resize(&l, 4);
	/* The selection never rests on a heading. */
	ASSERT_EQ(mode_list_current(&l)->tag, 0);
	ASSERT_EQ(l.top, 0);
	for (int i = 0; i < 10; i++)
		ASSERT(mode_list_key(&l, 'j', false));
	ASSERT_EQ(mode_list_current(&l)->tag, 10); /* "second" was stepped over */
	ASSERT(l.selected >= l.top && l.selected < l.top + l.height);
	ASSERT(mode_list_key(&l, 'k', false));
	ASSERT_EQ(mode_list_current(&l)->tag, 9);
	ASSERT(mode_list_key(&l, KEY_END, true));
	ASSERT_EQ(mode_list_current(&l)->tag, 13);
	ASSERT_EQ(l.top, l.n - 4);
	ASSERT(mode_list_key(&l, 'j', false)); /* past the end: stays */
	ASSERT_EQ(mode_list_current(&l)->tag, 13);
	ASSERT(mode_list_key(&l, KEY_HOME, true));
	ASSERT_EQ(mode_list_current(&l)->tag, 0);
	ASSERT_EQ(l.top, 0); /* the heading above the first row shows */
	ASSERT(mode_list_key(&l, KEY_NPAGE, true));
	ASSERT_EQ(mode_list_current(&l)->tag, 3);
	ASSERT(mode_list_key(&l, KEY_PPAGE, true));
	ASSERT_EQ(mode_list_current(&l)->tag, 0);
	ASSERT(!mode_list_key(&l, 'x', false));
	ASSERT(mode_list_select_tag(&l, 12));
	ASSERT_STR_EQ(mode_list_current(&l)->text, "row 12");
	ASSERT(l.selected >= l.top && l.selected < l.top + l.height);
	/* Shorter than one row: still one row, still the selection. */
	mode_list_resize(&l, 0);
	ASSERT_EQ(l.top, l.selected);
	mode_list_free(&l);
	return 0;
}

/* Feeds TEXT to P. */
static void modes_feed(struct pane *p, const char *text)
{
	pane_feed(p, text, strlen(text));
}

TEST(tui_scroll_search_finds_back_forward_and_goes_round)
{
	struct pane *p = pane_new(NULL, 1, "x", 0, NULL, 4, 40);
	long line;
	int col, cols;
	bool wrapped;

	setlocale(LC_ALL, "C.UTF-8");
	/* Lines 0..4 go to the scrollback, 5..8 stay on the 4-row screen. */
	modes_feed(p, "error one\r\nok\r\nError Two\r\nok\r\n\xe6\x97\xa5 error wide\r\nok\r\n"
	              "an error here and error there\r\nok\r\nlast");
	ASSERT_EQ(p->sb_len, 5u);
	ASSERT_EQ(pane_line_count(p), 9);
	/* Back from below the screen: the newest match first, the second of its line. */
	line = pane_line_count(p);
	col = 0;
	ASSERT(mode_scroll_find(p, "error", true, &line, &col, &cols, &wrapped));
	ASSERT_EQ(line, 6);
	ASSERT_EQ(col, 18);
	ASSERT_EQ(cols, 5);
	ASSERT(!wrapped);
	ASSERT(mode_scroll_find(p, "error", true, &line, &col, &cols, &wrapped));
	ASSERT_EQ(line, 6);
	ASSERT_EQ(col, 3);
	/* A wide character before it: columns, not characters. */
	ASSERT(mode_scroll_find(p, "error", true, &line, &col, &cols, &wrapped));
	ASSERT_EQ(line, 4);
	ASSERT_EQ(col, 3);
	/* Lower case matches any case. */
	ASSERT(mode_scroll_find(p, "error", true, &line, &col, &cols, &wrapped));
	ASSERT_EQ(line, 2);
	ASSERT(mode_scroll_find(p, "error", true, &line, &col, &cols, &wrapped));
	ASSERT_EQ(line, 0);
	ASSERT(!wrapped);
	/* Round the top: the newest again, and it says so. */
	ASSERT(mode_scroll_find(p, "error", true, &line, &col, &cols, &wrapped));
	ASSERT_EQ(line, 6);
	ASSERT_EQ(col, 18);
	ASSERT(wrapped);
	/* Forward from there: round the bottom to the oldest. */
	ASSERT(mode_scroll_find(p, "error", false, &line, &col, &cols, &wrapped));
	ASSERT_EQ(line, 0);
	ASSERT(wrapped);
	ASSERT(mode_scroll_find(p, "error", false, &line, &col, &cols, &wrapped));
	ASSERT_EQ(line, 2);
	ASSERT(!wrapped);
	/* A capital makes it exact. */
	line = pane_line_count(p);
	col = 0;
	ASSERT(mode_scroll_find(p, "Error", true, &line, &col, &cols, &wrapped));
	ASSERT_EQ(line, 2);
	ASSERT(mode_scroll_find(p, "Error", true, &line, &col, &cols, &wrapped));
	ASSERT_EQ(line, 2); /* the only one: found again, round the ends */
	ASSERT(wrapped);
	ASSERT(!mode_scroll_find(p, "absent", true, &line, &col, &cols, &wrapped));
	/* Wide text matches as typed; the match's width is in columns. */
	line = pane_line_count(p);
	col = 0;
	ASSERT(mode_scroll_find(p, "\xe6\x97\xa5 e", true, &line, &col, &cols, &wrapped));
	ASSERT_EQ(line, 4);
	ASSERT_EQ(col, 0);
	ASSERT_EQ(cols, 4);
	pane_free(p);
	return 0;
}

TEST(tui_scroll_search_reaches_what_a_narrower_pane_hides)
{
	struct pane *p = pane_new(NULL, 1, "x", 0, NULL, 2, 40);
	long line;
	int col, cols;
	bool wrapped;

	modes_feed(p, "a long line whose needle sits at the end\r\n1\r\n2\r\n3");
	/* Narrowed, the line wraps ("e whose ne" / "edle sits "): the match spans the wrap. */
	pane_resize(p, 2, 10);
	line = pane_line_count(p);
	col = 0;
	ASSERT(mode_scroll_find(p, "needle", true, &line, &col, &cols, &wrapped));
	ASSERT_EQ(line, 1);
	ASSERT_EQ(col, 8);
	ASSERT_EQ(cols, 6);
	/* Bringing it into view scrolls back to it. */
	pane_show_line(p, line);
	ASSERT(pane_line_row(p, line) >= 0 && pane_line_row(p, line) < p->rows);
	pane_free(p);
	return 0;
}

/* A pane of the model that has run SEQ lines "line N" and is over. */
static struct pane *modes_pane(struct modes *m, int lines)
{
	char *argv[] = {"seq", NULL};
	struct pane *p = tui_add_pane(m->t, "seq", 1, argv);

	p->state = PANE_EXITED;
	for (int i = 1; i <= lines; i++) {
		char *s = xasprintf("line %d\r\n", i);
		modes_feed(p, s);
		free(s);
	}
	return p;
}

TEST(tui_scroll_mode_home_end_and_search_keys)
{
	struct modes m;
	struct mode_view v;
	struct pane *p;
	long first;

	ASSERT_EQ(modes_open(&m, "on-failure", "off", NULL), 0);
	p = modes_pane(&m, 300);
	/* Prefix [ : scroll mode on the current pane. */
	tui_key(m.t, 0x1d, false);
	modes_type(&m, "[");
	ASSERT(m.t->mode == &mode_scroll);
	modes_keycode(&m, KEY_HOME);
	ASSERT_EQ(p->scroll, (int)p->sb_len);
	modes_keycode(&m, KEY_END);
	ASSERT_EQ(p->scroll, 0);
	/* / opens the prompt in the input row; the typed text is not the input line's. */
	modes_type(&m, "/line 1");
	ASSERT(tui_mode_view(m.t, &v));
	ASSERT_STR_EQ(v.prompt, "/line 1");
	ASSERT_EQ(m.t->input.len, 0);
	modes_type(&m, "2\r");
	/* Back from the bottom: "line 299"? no: "line 12" matches 12, 120..129; the newest is 129. */
	ASSERT(tui_mode_view(m.t, &v));
	ASSERT(v.prompt == NULL);
	ASSERT(v.hl_cols == 7);
	first = v.hl_line;
	ASSERT(pane_line_row(p, first) >= 0 && pane_line_row(p, first) < p->rows);
	{
		struct pane_cell c;
		pane_line_cell(p, first, 6, &c);
		ASSERT_EQ(c.ch, (uint32_t)'2');
		pane_line_cell(p, first, 7, &c);
		ASSERT_EQ(c.ch, (uint32_t)'9');
	}
	/* n: the next older match; N: back to the first. */
	modes_type(&m, "n");
	ASSERT(tui_mode_view(m.t, &v));
	ASSERT_EQ(v.hl_line, first - 1);
	modes_type(&m, "N");
	ASSERT(tui_mode_view(m.t, &v));
	ASSERT_EQ(v.hl_line, first);
	/* ? searches forward from the view's top: a line 12x above 129, still in view. */
	modes_type(&m, "?line 12\r");
	ASSERT(tui_mode_view(m.t, &v));
	ASSERT(v.hl_line < first && v.hl_line > first - 10);
	ASSERT(strncmp(v.message, "scroll mode:", 12) == 0);
	/* n goes on forward: past 129, round the bottom to line 12, and says so. */
	bool round = false;
	for (int i = 0; i < 11 && !round; i++) {
		modes_type(&m, "n");
		ASSERT(tui_mode_view(m.t, &v));
		round = v.message != NULL && strstr(v.message, "went round") != NULL;
	}
	ASSERT(round);
	ASSERT_EQ(v.hl_line, first - 117);
	/* Nothing found says so, and moves nothing. */
	int at = p->scroll;
	modes_type(&m, "/no such text\r");
	ASSERT(tui_mode_view(m.t, &v));
	ASSERT_STR_EQ(v.message, "no match for no such text");
	ASSERT_EQ(p->scroll, at);
	/* Esc in the prompt closes it; q leaves the mode and shows the live screen. */
	modes_type(&m, "/abc\x1b");
	ASSERT(tui_mode_view(m.t, &v));
	ASSERT(v.prompt == NULL);
	modes_type(&m, "q");
	ASSERT(m.t->mode == NULL);
	ASSERT_EQ(p->scroll, 0);
	/* Closing the pane under the mode ends it. */
	tui_key(m.t, 0x1d, false);
	modes_type(&m, "[");
	ASSERT(m.t->mode == &mode_scroll);
	tui_key(m.t, 0x1d, false); /* taken by the mode: nothing */
	ASSERT(m.t->mode == &mode_scroll);
	modes_close(&m);
	return 0;
}

TEST(tui_rules_view_lists_and_revokes_in_place)
{
	struct modes m;
	struct mode_view v;
	char *path;
	char *text;

	ASSERT_EQ(modes_open(&m, "untrusted", "off",
	                     "# team rules\n"
	                     "prefix_rule(pattern=[\"git\", \"status\"], decision=\"allow\")\n"
	                     "prefix_rule(pattern=[\"make\"], decision=\"allow\")\n"
	                     "network_rule(host=\"evil.example\", decision=\"deny\")\n"),
	          0);
	/* make runs without a prompt while its rule stands: one hit, shown in its row. */
	launch_line(m.t, "make");
	ASSERT_EQ(approval_pending(m.t->approvals), 0);
	ASSERT_EQ(m.spawned, 1);
	char *rules_file = xasprintf("%s/rules/default.rules", m.opts.home);
	ASSERT_EQ(tui_rule_hits(m.t, rules_file, 3), 1ul);
	ASSERT_EQ(tui_rule_hits(m.t, rules_file, 2), 0ul);
	free(rules_file);
	modes_keycode(&m, KEY_F(3));
	ASSERT(m.t->mode == &mode_rules);
	ASSERT(tui_mode_view(m.t, &v));
	ASSERT(v.list != NULL);
	ASSERT_EQ(v.list->n, 6); /* the rules, then the session's answers: none yet */
	ASSERT_STR_EQ(v.list->items[5].text, "  none: `a` in a prompt (or `d` for a host) keeps one");
	ASSERT_STR_EQ(v.list->items[0].text, "Rules in force (3), in load order");
	ASSERT_STR_EQ(v.list->items[3].text,
	              "  deny      host evil.example  \xc2\xb7 default.rules:4");
	ASSERT_STR_EQ(v.list->items[2].text,
	              "  allow     [\"make\"]  \xc2\xb7 default.rules:3  \xc2\xb7 1 hit");
	ASSERT_STR_EQ(modes_selected(&m), "  allow     [\"git\", \"status\"]  \xc2\xb7 default.rules:2");
	ASSERT(tui_mode_view(m.t, &v));
	ASSERT(strstr(v.detail, "/home/rules/default.rules:2:1") != NULL);
	/* d asks; a key other than y keeps the rule. */
	modes_type(&m, "jd");
	ASSERT(tui_mode_view(m.t, &v));
	ASSERT(strstr(v.footer, "y revokes it") != NULL);
	modes_type(&m, "n");
	ASSERT_EQ(rules_count(m.t->rules), 3u);
	/* d then y: gone from the file and from the rules in force. */
	modes_type(&m, "dy");
	ASSERT_EQ(rules_count(m.t->rules), 2u);
	ASSERT(tui_mode_view(m.t, &v));
	ASSERT(strstr(v.message, "revoked prefix_rule(pattern=[\"make\"]") != NULL);
	ASSERT_EQ(v.list->n, 5);
	path = xasprintf("%s/rules/default.rules", m.opts.home);
	text = test_read_file(path, NULL);
	ASSERT(text != NULL);
	ASSERT_STR_EQ(text, "# team rules\n"
	                    "prefix_rule(pattern=[\"git\", \"status\"], decision=\"allow\")\n"
	                    "network_rule(host=\"evil.example\", decision=\"deny\")\n");
	free(text);
	free(path);
	modes_type(&m, "q");
	ASSERT(m.t->mode == NULL);
	/* The next make asks (untrusted): the rule no longer allows it. */
	launch_line(m.t, "make");
	ASSERT_EQ(approval_pending(m.t->approvals), 1);
	ASSERT_EQ(m.spawned, 1);
	modes_close(&m);
	return 0;
}

TEST(tui_rules_view_never_revokes_a_rule_that_changed_under_it)
{
	struct modes m;
	struct mode_view v;
	char *path;

	ASSERT_EQ(modes_open(&m, "untrusted", "off",
	                     "prefix_rule(pattern=[\"make\"], decision=\"allow\")\n"),
	          0);
	tui_key(m.t, 0x1d, false);
	modes_type(&m, "r");
	ASSERT(m.t->mode == &mode_rules);
	modes_type(&m, "d");
	/* Meanwhile the file is edited: another rule where make's was. */
	path = xasprintf("%s/rules/default.rules", m.opts.home);
	sleep(1); /* a new mtime, whatever the file system's granularity */
	modes__rules_file(m.opts.home, "default.rules",
	                  "prefix_rule(pattern=[\"npm\"], decision=\"allow\")\n");
	modes_type(&m, "y");
	ASSERT(tui_mode_view(m.t, &v));
	ASSERT(strstr(v.message, "changed or went") != NULL);
	ASSERT_EQ(rules_count(m.t->rules), 1u);
	ASSERT_STR_EQ(rules_get(m.t->rules, 0)->pattern_text, "[\"npm\"]");
	free(path);
	modes_close(&m);
	return 0;
}

TEST(tui_mode_switch_changes_approval_and_network_for_what_comes_next)
{
	struct modes m;
	struct mode_view v;

	ASSERT_EQ(modes_open(&m, "on-failure", "off", NULL), 0);
	modes_keycode(&m, KEY_F(4));
	ASSERT(m.t->mode == &mode_switch);
	ASSERT(tui_mode_view(m.t, &v));
	ASSERT_STR_EQ(modes_selected(&m),
	              "  (\xe2\x80\xa2) on-failure  sandboxed; ask to run outside when it fails");
	/* A stray key switches nothing: only Enter (or space) does. */
	modes_type(&m, "kyan");
	ASSERT_EQ(m.t->approval, DECIDE_APPROVAL_ON_FAILURE);
	ASSERT(strstr(modes_selected(&m), "untrusted") != NULL);
	modes_type(&m, "\r");
	ASSERT_EQ(m.t->approval, DECIDE_APPROVAL_UNTRUSTED);
	ASSERT(tui_mode_view(m.t, &v));
	ASSERT_STR_EQ(v.detail, "approval untrusted from now on");
	ASSERT(strncmp(modes_selected(&m), "  (\xe2\x80\xa2) untrusted", 17) == 0);
	modes_type(&m, "q");
	ASSERT(m.t->mode == NULL);
	/* Untrusted now: a command not known to be safe asks first. */
	launch_line(m.t, "make");
	ASSERT_EQ(approval_pending(m.t->approvals), 1);
	ASSERT_EQ(m.spawned, 0);
	approval_deny_all(m.t->approvals);
	/* Network: off -> on changes the policy new commands get. */
	ASSERT(strstr(m.t->sandbox_policy, "\"network_access\":true") == NULL);
	tui_key(m.t, 0x1d, false);
	modes_type(&m, "m");
	ASSERT(m.t->mode == &mode_switch);
	modes_keycode(&m, KEY_END);
	ASSERT(strstr(modes_selected(&m), " on ") != NULL);
	modes_type(&m, " ");
	ASSERT_STR_EQ(m.t->network, "on");
	ASSERT(strstr(m.t->sandbox_policy, "\"network_access\":true") != NULL);
	modes_type(&m, "k ");
	ASSERT_STR_EQ(m.t->network, "ask");
	ASSERT(m.t->proxy != NULL);
	ASSERT(strstr(m.t->sandbox_policy, "\"network_access\":true") == NULL);
	modes_type(&m, "k ");
	ASSERT_STR_EQ(m.t->network, "off");
	ASSERT(m.t->proxy == NULL);
	modes_keycode(&m, KEY_F(4));
	ASSERT(m.t->mode == NULL);
	modes_close(&m);
	return 0;
}

TEST(tui_mode_switch_says_why_the_network_stays)
{
	struct modes m;
	struct mode_view v;

	ASSERT_EQ(modes_open(&m, "on-failure", "off", NULL), 0);
	m.opts.sandbox = "danger-full-access";
	modes_keycode(&m, KEY_F(4));
	modes_keycode(&m, KEY_END);
	modes_type(&m, "\r");
	ASSERT_STR_EQ(m.t->network, "off");
	ASSERT(tui_mode_view(m.t, &v));
	ASSERT_STR_EQ(v.detail,
	              "network stays off: commands run with no sandbox: the network is the host's");
	modes_close(&m);

	/* A managed policy's allowed lists: the rest is listed dim and cannot be chosen. */
	static char *approvals[] = {"on-request", "never", NULL};
	static char *networks[] = {"off", NULL};
	char *cause = NULL;
	ASSERT_EQ(modes_open(&m, "on-request", "off", NULL), 0);
	m.opts.managed.present = true;
	m.opts.managed.approval_policies = (struct managed_list){.set = true, .v = approvals, .n = 2};
	m.opts.managed.network_modes = (struct managed_list){.set = true, .v = networks, .n = 1};
	modes_keycode(&m, KEY_F(4));
	ASSERT(tui_mode_view(m.t, &v));
	ASSERT_STR_EQ(v.list->items[1].text,
	              "  ( ) untrusted   not allowed by the managed policy");
	ASSERT(!v.list->items[1].selectable);
	modes_keycode(&m, KEY_HOME);
	modes_type(&m, "\r");
	ASSERT_EQ(m.t->approval, DECIDE_APPROVAL_ON_REQUEST); /* the first it may choose */
	for (int i = 0; i < 8; i++)
		modes_type(&m, "j\r");
	ASSERT_STR_EQ(m.t->network, "off");
	ASSERT_EQ(m.t->approval, DECIDE_APPROVAL_NEVER);
	ASSERT_EQ(tui_set_approval(m.t, DECIDE_APPROVAL_UNTRUSTED, &cause), -EPERM);
	ASSERT(strstr(cause, "allowed_approval_policies") != NULL);
	free(cause);
	ASSERT_EQ(tui_set_network(m.t, "on", &cause), -EPERM);
	ASSERT(strstr(cause, "allowed_network_modes") != NULL);
	free(cause);
	ASSERT_EQ(m.t->approval, DECIDE_APPROVAL_NEVER);
	ASSERT_STR_EQ(m.t->network, "off");
	modes_close(&m);
	return 0;
}

TEST(tui_status_text_shortens_the_socket_and_cwd_before_cutting)
{
	const char *head = " sandbox workspace-write \xe2\x94\x82 net ask \xe2\x94\x82 approval "
	                   "on-failure \xe2\x94\x82 prompts 0";
	const char *shorter = " workspace-write \xe2\x94\x82 net ask \xe2\x94\x82 on-failure "
	                      "\xe2\x94\x82 prompts 0";
	const char *sock = "/home/dev/.run/airlock/airlock-4242.sock";
	const char *cwd = "/home/dev/src/airlock/tests/e2e";
	char *s;

	setlocale(LC_ALL, "C.UTF-8");
	s = layout_status(head, shorter, sock, cwd, "/home/dev", 200);
	ASSERT_STR_EQ(s, " sandbox workspace-write \xe2\x94\x82 net ask \xe2\x94\x82 approval "
	                 "on-failure \xe2\x94\x82 prompts 0 \xe2\x94\x82 socket "
	                 "/home/dev/.run/airlock/airlock-4242.sock \xe2\x94\x82 cwd "
	                 "/home/dev/src/airlock/tests/e2e");
	free(s);
	/* The home as ~ first. */
	s = layout_status(head, shorter, sock, cwd, "/home/dev", 140);
	ASSERT(strstr(s, "socket ~/.run/airlock/airlock-4242.sock \xe2\x94\x82 cwd "
	                 "~/src/airlock/tests/e2e") != NULL);
	free(s);
	/* Then the socket by its name, the cwd's parents by their initials. */
	s = layout_status(head, shorter, sock, cwd, "/home/dev", 120);
	ASSERT(layout_text_width(s) <= 120);
	ASSERT(strstr(s, "approval on-failure \xe2\x94\x82 prompts 0 \xe2\x94\x82 socket "
	                 "\xe2\x80\xa6/airlock-4242.sock \xe2\x94\x82 cwd ~/s/a/t/e2e") != NULL);
	free(s);
	/* 80 columns: the modes without labels, no socket, the cwd whole in its initials. */
	s = layout_status(head, shorter, sock, cwd, "/home/dev", 80);
	ASSERT_STR_EQ(s, " workspace-write \xe2\x94\x82 net ask \xe2\x94\x82 on-failure "
	                 "\xe2\x94\x82 prompts 0 \xe2\x94\x82 cwd ~/s/a/t/e2e");
	free(s);
	/* Narrower: the cwd's last directory; the modes stay whole. */
	s = layout_status(head, shorter, sock, "/srv/a-very-long-directory/x/y/z/build", NULL, 68);
	ASSERT(layout_text_width(s) <= 68);
	ASSERT(strstr(s, "prompts 0 \xe2\x94\x82 cwd \xe2\x80\xa6/build") != NULL);
	free(s);
	/* 40 columns: cut with an ellipsis, the start kept. */
	s = layout_status(head, shorter, sock, cwd, NULL, 40);
	ASSERT_EQ(layout_text_width(s), 40);
	ASSERT(strncmp(s, " workspace-write \xe2\x94\x82 net ask", 20) == 0);
	free(s);
	/* A home that is only a prefix of a name is not ~; a name with wide initials stays whole. */
	s = layout_status(" x", " x", "-", "/home/devel/src", "/home/dev", 200);
	ASSERT(strstr(s, "cwd /home/devel/src") != NULL);
	free(s);
	s = layout_status(" x", " x", "-", "/\xe6\x97\xa5\xe6\x9c\xac/src/x", NULL, 24);
	ASSERT_STR_EQ(s, " x \xe2\x94\x82 cwd /\xe6\x97\xa5/s/x");
	free(s);
	return 0;
}

TEST(tui_pane_keeps_grapheme_clusters)
{
	struct pane *p = pane_new(NULL, 1, "x", 0, NULL, 2, 20);
	struct pane_cell c;
	uint32_t chars[PANE_CLUSTER_CHARS];

	setlocale(LC_ALL, "C.UTF-8");
	/* e + combining acute, a family joined by ZWJ, a heart with VS16. */
	modes_feed(p, "e\xcc\x81!\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9 \xe2\x9d\xa4\xef\xb8\x8f");
	pane_view_cell(p, 0, 0, &c);
	ASSERT(c.ch & PANE_CLUSTER_BIT);
	ASSERT_EQ(pane_cell_chars(p, &c, chars), 2u);
	ASSERT_EQ(chars[0], 0x65u);
	ASSERT_EQ(chars[1], 0x301u);
	ASSERT_EQ(pane_cell_base(p, &c), 0x65u);
	pane_view_cell(p, 0, 1, &c);
	ASSERT_EQ(c.ch, (uint32_t)'!');
	ASSERT_EQ(pane_cell_chars(p, &c, chars), 1u);
	pane_view_cell(p, 0, 2, &c);
	ASSERT_EQ(pane_cell_chars(p, &c, chars), 2u); /* the man and his joiner */
	ASSERT_EQ(chars[1], 0x200du);
	ASSERT_EQ(c.width, 2);
	pane_view_cell(p, 0, 4, &c);
	ASSERT_EQ(pane_cell_base(p, &c), 0x1f469u);
	pane_view_cell(p, 0, 7, &c);
	ASSERT_EQ(pane_cell_chars(p, &c, chars), 2u);
	ASSERT_EQ(chars[1], 0xfe0fu);
	/* To the scrollback and back (the pane grows): the marks stay. */
	modes_feed(p, "\r\nnext\r\nlast");
	ASSERT_EQ(p->sb_len, 1u);
	pane_line_cell(p, 0, 0, &c);
	ASSERT_EQ(pane_cell_chars(p, &c, chars), 2u);
	ASSERT_EQ(chars[1], 0x301u);
	pane_resize(p, 5, 20);
	ASSERT_EQ(p->sb_len, 0u);
	pane_view_cell(p, 0, 0, &c);
	ASSERT_EQ(pane_cell_chars(p, &c, chars), 2u);
	ASSERT_EQ(chars[1], 0x301u);
	/* The same cluster again takes no new entry; search matches it by its base. */
	for (int i = 0; i < 200; i++)
		modes_feed(p, "\r\ne\xcc\x81");
	ASSERT_EQ(pane_cluster_count(p), 3u); /* é, man + joiner, heart + VS16 */
	long line = pane_line_count(p);
	int col = 0, cols;
	bool wrapped;
	ASSERT(mode_scroll_find(p, "e!", true, &line, &col, &cols, &wrapped));
	ASSERT_EQ(col, 0);
	pane_free(p);

	/* Past PANE_CLUSTERS_MAX distinct clusters, a cluster keeps its base alone. */
	p = pane_new(NULL, 1, "x", 0, NULL, 2, 80);
	char buf[8];
	for (int i = 0; i < 70 * 70; i++) {
		int a = 0x300 + i / 70, b = 0x300 + i % 70;
		buf[0] = 'a';
		buf[1] = (char)(0xc0 | (a >> 6));
		buf[2] = (char)(0x80 | (a & 0x3f));
		buf[3] = (char)(0xc0 | (b >> 6));
		buf[4] = (char)(0x80 | (b & 0x3f));
		buf[5] = '\0';
		modes_feed(p, buf);
	}
	ASSERT_EQ(pane_cluster_count(p), (size_t)PANE_CLUSTERS_MAX);
	pane_view_cell(p, 0, 79, &c);
	ASSERT_EQ(c.ch, (uint32_t)'a');
	pane_free(p);
	return 0;
}

/* Row ROW of P's view as text (ASCII; a blank cell is a space), trailing blanks dropped. */
static char *modes_row(const struct pane *p, int row, int width)
{
	char *s = xcalloc((size_t)width + 1, 1);
	int end = 0;

	for (int c = 0; c < width; c++) {
		struct pane_cell cell;
		pane_view_cell(p, row, c, &cell);
		s[c] = cell.ch == 0 ? ' ' : cell.ch < 128 ? (char)cell.ch : '?';
		if (s[c] != ' ')
			end = c + 1;
	}
	s[end] = '\0';
	return s;
}

TEST(tui_finished_pane_keeps_its_lines_when_narrowed)
{
	const char *line = "a line sixty columns wide, give or take a few: 0123456789";
	struct pane *p = pane_new(NULL, 1, "x", 0, NULL, 3, 60);
	char *row;

	modes_feed(p, line);
	modes_feed(p, "\r\nshort\r\n");
	p->state = PANE_EXITED;
	/* A second pane halves its tile: its lines wrap (reflow), nothing is cut. */
	pane_resize(p, 3, 30);
	ASSERT_EQ(p->cols, 30);
	row = modes_row(p, 0, 30);
	ASSERT_STR_EQ(row, line + 30);
	free(row);
	/* Its first half went up to the scrollback, as a terminal's would. */
	ASSERT_EQ(p->sb_len, 1u);
	pane_scroll(p, 1);
	row = modes_row(p, 0, 30);
	ASSERT(strncmp(row, line, 30) == 0 && strlen(row) == 30);
	free(row);
	pane_scroll(p, -1);
	pane_resize(p, 3, 60);
	row = modes_row(p, 0, 60);
	ASSERT_STR_EQ(row, line);
	free(row);
	/* Rows follow the tile: the top line goes to the scrollback and comes back whole. */
	pane_resize(p, 1, 20);
	ASSERT_EQ(p->rows, 1);
	pane_resize(p, 3, 60);
	row = modes_row(p, 0, 60);
	ASSERT_STR_EQ(row, line);
	free(row);
	pane_free(p);

	/* A running command's terminal follows its tile: the program must see the width. */
	p = pane_new(NULL, 2, "x", 0, NULL, 3, 60);
	p->state = PANE_RUNNING;
	pane_resize(p, 3, 30);
	ASSERT_EQ(p->cols, 30);
	pane_free(p);
	return 0;
}

TEST(tui_rules_view_never_revokes_a_managed_rule)
{
	struct modes m;
	struct mode_view v;
	char *dir = xasprintf("%s/managed-rules", test_tmpdir());
	char *file = xasprintf("%s/policy.rules", dir);

	mkdir(dir, 0755);
	ASSERT_EQ(test_write_file(file, "prefix_rule(pattern=[\"curl\"], decision=\"forbidden\")\n"), 0);
	char *cause = NULL;

	/* A TUI under a managed policy whose rules directory is DIR. */
	setlocale(LC_ALL, "C.UTF-8");
	memset(&m, 0, sizeof m);
	m.opts.home = xasprintf("%s/home", test_tmpdir());
	mkdir(m.opts.home, 0700);
	setenv("AIRLOCK_HOME", m.opts.home, 1);
	setenv("HOME", test_tmpdir(), 1);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("XDG_STATE_HOME");
	m.opts.mode = CLI_MODE_TUI;
	m.opts.sandbox = "workspace-write";
	m.opts.approval = "on-request";
	m.opts.network = "off";
	m.opts.cwd = xstrdup("/ws");
	m.opts.managed.present = true;
	m.opts.managed.allow_unsandboxed = true;
	m.opts.managed.rules_dir = dir;
	m.now = MODES_T0;
	uv_loop_init(&m.loop);
	m.t = tui_new(&m.opts, &m.loop, modes__clock, &m, &cause);
	if (m.t == NULL)
		fprintf(stderr, "tui_new: %s\n", cause);
	ASSERT(m.t != NULL);
	m.t->spawn = modes__spawn;
	m.t->spawn_data = &m;
	ASSERT_EQ(rules_count(m.t->rules), 1u);
	modes_keycode(&m, KEY_F(3));
	ASSERT_STR_EQ(modes_selected(&m),
	              "  forbidden [\"curl\"]  \xc2\xb7 policy.rules:1  \xc2\xb7 managed");
	modes_type(&m, "d");
	ASSERT(tui_mode_view(m.t, &v));
	ASSERT(v.message != NULL && strstr(v.message, "a managed rule") != NULL);
	ASSERT(strstr(v.footer, "y revokes") == NULL); /* nothing is asked */
	modes_type(&m, "y");
	ASSERT_EQ(rules_count(m.t->rules), 1u);
	char *text = test_read_file(file, NULL);
	ASSERT(text != NULL && strstr(text, "curl") != NULL);
	free(text);
	m.opts.managed.rules_dir = NULL;
	modes_close(&m);
	free(file);
	free(dir);
	return 0;
}

TEST(tui_rules_view_forgets_a_session_answer)
{
	struct modes m;
	struct mode_view v;
	const struct approval_prompt *pr;

	ASSERT_EQ(modes_open(&m, "untrusted", "off", NULL), 0);
	/* make asks (untrusted); `a` keeps the answer for the session. */
	launch_line(m.t, "make");
	pr = approval_current(m.t->approvals);
	ASSERT(pr != NULL);
	ASSERT_EQ(approval_answer(m.t->approvals, pr->id, APPROVAL_SESSION), 0);
	ASSERT_EQ(m.spawned, 1);
	launch_line(m.t, "make");
	ASSERT_EQ(approval_pending(m.t->approvals), 0);
	ASSERT_EQ(m.spawned, 2);
	ASSERT_EQ(approval_session_count(m.t->approvals), 1u);
	/* The rules view lists it under the rules, with what it covers. */
	modes_keycode(&m, KEY_F(3));
	modes_keycode(&m, KEY_END);
	ASSERT(strncmp(modes_selected(&m), "  session   run ", 16) == 0);
	ASSERT(strstr(modes_selected(&m), "make") != NULL);
	ASSERT(strstr(modes_selected(&m), "(in /ws, in the sandbox)") != NULL);
	/* d asks; another key keeps it; d then y forgets it. */
	modes_type(&m, "d");
	ASSERT(tui_mode_view(m.t, &v));
	ASSERT_STR_EQ(v.footer, "forget this answer? y forgets it, any other key keeps it");
	modes_type(&m, "n");
	ASSERT_EQ(approval_session_count(m.t->approvals), 1u);
	modes_type(&m, "dy");
	ASSERT_EQ(approval_session_count(m.t->approvals), 0u);
	ASSERT(tui_mode_view(m.t, &v));
	ASSERT(strncmp(v.message, "forgotten: run ", 15) == 0);
	modes_type(&m, "q");
	/* The next make asks again. */
	launch_line(m.t, "make");
	ASSERT_EQ(approval_pending(m.t->approvals), 1);
	ASSERT_EQ(m.spawned, 2);
	modes_close(&m);
	return 0;
}
