/*
 * Snapshot tests of the TUI: the real model and drawing code render into an
 * off-screen curses screen (newterm on /dev/null, xterm-256color, UTF-8,
 * a fixed size), driven by scripted keys and scripted command output fed
 * straight into panes, with a pinned clock and a fake spawner (nothing
 * really runs). The screen is read back cell by cell (snapshot_screen) and
 * compared byte for byte with snapshots/tui-*.txt; UPDATE_SNAPSHOTS=1
 * rewrites them. The user's config is never read: AIRLOCK_HOME, HOME and
 * the XDG directories point into the test's own directory; the workspace
 * is a fixed path (/ws, never touched) so that prompts naming it are the
 * same on every run. A prompt takes answers only once it is armed: tests
 * move the pinned clock past TUI_ARM_MS (snap_arm) before answering.
 */
#include "test.h"

#include "core/approval.h"
#include "core/xmalloc.h"
#include "tui/tui.h"

#include <curses.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SNAP_T0 1000000

struct snap {
	SCREEN *scr;
	FILE *out, *in;
	uv_loop_t loop;
	struct cli_options opts;
	struct tui *t;
	uint64_t now;
	int spawned;
	bool last_sandboxed;
	char last_argv0[256];
};

/* The next snap_open() draws as with --no-color. */
static bool snap__no_color;

/* The pinned clock. */
static uint64_t snap__clock(void *data)
{
	return ((struct snap *)data)->now;
}

/* Starts nothing: records what would have run and marks the pane running. */
static int snap__spawn(struct pane *p, char *const argv[], void *data)
{
	struct snap *s = data;

	s->spawned++;
	s->last_sandboxed = p->sandboxed;
	snprintf(s->last_argv0, sizeof s->last_argv0, "%s", argv[0]);
	return 0;
}

/* Opens a COLS x ROWS off-screen TUI with approval policy APPROVAL. */
static int snap_open(struct snap *s, int cols, int rows, const char *approval)
{
	char num[16];
	char *home = xasprintf("%s/home", test_tmpdir());
	char *cause = NULL;

	memset(s, 0, sizeof *s);
	mkdir(home, 0700);
	setenv("TZ", "UTC", 1);
	setenv("AIRLOCK_HOME", home, 1);
	setenv("HOME", test_tmpdir(), 1);
	setenv("AIRLOCK_SANDBOX_EXE", "/bin/true", 1);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("XDG_STATE_HOME");
	unsetenv("XDG_RUNTIME_DIR");
	unsetenv("NO_COLOR");
	setlocale(LC_ALL, "C.UTF-8");
	snprintf(num, sizeof num, "%d", rows);
	setenv("LINES", num, 1);
	snprintf(num, sizeof num, "%d", cols);
	setenv("COLUMNS", num, 1);

	s->opts.mode = CLI_MODE_TUI;
	s->opts.sandbox = "workspace-write";
	s->opts.approval = approval;
	s->opts.network = "ask";
	s->opts.cwd = xstrdup("/ws");
	s->opts.home = home;
	s->opts.no_color = snap__no_color;
	s->now = SNAP_T0;

	s->out = fopen("/dev/null", "w");
	s->in = fopen("/dev/null", "r");
	s->scr = newterm("xterm-256color", s->out, s->in);
	if (s->scr == NULL)
		return -1;
	set_term(s->scr);
	resizeterm(rows, cols);
	uv_loop_init(&s->loop);
	s->t = tui_new(&s->opts, &s->loop, snap__clock, s, &cause);
	if (s->t == NULL) {
		fprintf(stderr, "tui_new: %s\n", cause);
		free(cause);
		return -1;
	}
	s->t->spawn = snap__spawn;
	s->t->spawn_data = s;
	draw_init(s->t->color);
	tui_resize(s->t, cols, rows);
	return 0;
}

/* Draws and compares the screen with snapshots/NAME. */
static int snap_check(struct snap *s, const char *name)
{
	draw_screen(s->t);
	char *text = snapshot_screen();
	int r = test_snapshot(name, text);
	free(text);
	return r;
}

/* The screen's text as a snapshot would hold it (for ASSERT_CONTAINS). */
static char *snap_text(struct snap *s)
{
	draw_screen(s->t);
	return snapshot_screen();
}

/* Tears everything down. */
static void snap_close(struct snap *s)
{
	tui_free(s->t);
	uv_run(&s->loop, UV_RUN_NOWAIT);
	uv_loop_close(&s->loop);
	endwin();
	delscreen(s->scr);
	fclose(s->out);
	fclose(s->in);
	free(s->opts.cwd);
	free(s->opts.home);
}

/* Lets the prompt on screen arm: TUI_ARM_MS pass with no key. */
static void snap_arm(struct snap *s)
{
	draw_screen(s->t); /* it is on screen */
	s->now += TUI_ARM_MS;
}

/* Types TEXT, one key per byte. */
static void snap_type(struct snap *s, const char *text)
{
	for (const char *c = text; *c; c++)
		tui_key(s->t, (wint_t)(unsigned char)*c, false);
}

/* A pane that is already running COMMAND (as if launched), sandboxed or not. */
static struct pane *snap_pane(struct snap *s, const char *command, bool sandboxed)
{
	char *argv[] = {"bash", "-lc", (char *)command, NULL};
	struct pane *p = tui_add_pane(s->t, command, 3, argv);

	p->state = PANE_RUNNING;
	p->sandboxed = sandboxed;
	p->start_ms = s->now;
	return p;
}

/* Feeds TEXT as the pane's command output. */
static void snap_feed(struct pane *p, const char *text)
{
	pane_feed(p, text, strlen(text));
}

TEST(tui_snapshot_empty_start_screen)
{
	struct snap s;

	ASSERT_EQ(snap_open(&s, 80, 24, "on-failure"), 0);
	ASSERT_EQ(snap_check(&s, "tui-empty-80x24.txt"), 0);
	snap_close(&s);
	return 0;
}

TEST(tui_snapshot_one_pane_streaming)
{
	struct snap s;
	struct pane *p;

	ASSERT_EQ(snap_open(&s, 80, 24, "on-failure"), 0);
	p = snap_pane(&s, "./build.sh", true);
	snap_feed(p, "compiling core\r\ncompiling tui\r\n");
	snap_feed(p, "[#####     ]  50%\r[##########] 100%\r\nlinking airlock\r\n");
	s.now += 1234;
	ASSERT_EQ(snap_check(&s, "tui-stream-80x24.txt"), 0);
	snap_close(&s);
	return 0;
}

TEST(tui_snapshot_three_panes_tiled)
{
	struct snap s;
	struct pane *a, *b, *c;

	ASSERT_EQ(snap_open(&s, 120, 40, "on-failure"), 0);
	a = snap_pane(&s, "ls", true);
	snap_feed(a, "Makefile.am\r\nREADME.md\r\ncore\r\ntui\r\n");
	s.now += 300;
	launch_exited(a, 0, 0);
	b = snap_pane(&s, "false", false);
	s.now += 100;
	launch_exited(b, 1, 0);
	c = snap_pane(&s, "tail -f log", true);
	snap_feed(c, "12:00:01 started\r\n12:00:02 listening on :8080\r\n");
	s.now += 2500;
	ASSERT_EQ(snap_check(&s, "tui-tiled-120x40.txt"), 0);
	snap_close(&s);
	return 0;
}

TEST(tui_snapshot_maximised_pane_with_scrollback)
{
	struct snap s;
	struct pane *p;
	char line[64];

	ASSERT_EQ(snap_open(&s, 80, 24, "on-failure"), 0);
	snap_pane(&s, "echo other", true);
	p = snap_pane(&s, "seq 1 300", true);
	for (int i = 1; i <= 300; i++) {
		snprintf(line, sizeof line, "%d\r\n", i);
		snap_feed(p, line);
	}
	tui_key(s.t, KEY_F(2), true);
	ASSERT(s.t->maximised);
	tui_key(s.t, KEY_PPAGE, true);
	tui_key(s.t, KEY_PPAGE, true);
	ASSERT_EQ(p->scroll, 40);
	ASSERT_EQ(snap_check(&s, "tui-maximised-scrollback-80x24.txt"), 0);
	/* PgDn all the way back to the live screen. */
	tui_key(s.t, KEY_NPAGE, true);
	tui_key(s.t, KEY_NPAGE, true);
	tui_key(s.t, KEY_NPAGE, true);
	ASSERT_EQ(p->scroll, 0);
	snap_close(&s);
	return 0;
}

TEST(tui_snapshot_colored_output)
{
	struct snap s;
	struct pane *p;

	ASSERT_EQ(snap_open(&s, 80, 24, "on-failure"), 0);
	p = snap_pane(&s, "ls --color", true);
	snap_feed(p, "\033[1;34mdir\033[0m  \033[32mscript.sh\033[0m  \033[31;1merror\033[0m  "
	             "\033[7mreverse\033[0m  \033[4munder\033[0m\r\n");
	snap_feed(p, "\033[38;5;208morange256\033[0m \033[48;5;22mgreen-bg\033[0m "
	             "\033[38;2;255;0;0mrgb-red\033[0m \033[93mbright-yellow\033[0m\r\n");
	snap_feed(p, "wide: \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e ok\r\n");
	ASSERT_EQ(snap_check(&s, "tui-colors-80x24.txt"), 0);
	snap_close(&s);
	return 0;
}

TEST(tui_snapshot_help)
{
	struct snap s;

	ASSERT_EQ(snap_open(&s, 80, 24, "on-failure"), 0);
	snap_type(&s, "?");
	ASSERT_EQ(s.t->overlay, TUI_OVERLAY_HELP);
	ASSERT_EQ(snap_check(&s, "tui-help-80x24.txt"), 0);
	/* Any key closes it; F1 opens it too. */
	snap_type(&s, "x");
	ASSERT_EQ(s.t->overlay, TUI_OVERLAY_NONE);
	tui_key(s.t, KEY_F(1), true);
	ASSERT_EQ(s.t->overlay, TUI_OVERLAY_HELP);
	snap_close(&s);
	return 0;
}

TEST(tui_snapshot_exec_modal)
{
	struct snap s;

	ASSERT_EQ(snap_open(&s, 80, 24, "untrusted"), 0);
	snap_type(&s, "make install\r");
	ASSERT_EQ(s.t->n_panes, 1);
	ASSERT_EQ(s.t->panes[0]->state, PANE_WAITING);
	ASSERT_EQ(approval_pending(s.t->approvals), 1);
	ASSERT_EQ(s.spawned, 0);
	snap_arm(&s);
	ASSERT_EQ(snap_check(&s, "tui-exec-modal-80x24.txt"), 0);
	/* The last, denying option is highlighted; arrows and j/k move; it wraps. */
	ASSERT_EQ(s.t->modal_selected, 3);
	tui_key(s.t, KEY_DOWN, true);
	snap_type(&s, "j");
	ASSERT_EQ(s.t->modal_selected, 1);
	snap_type(&s, "kk");
	tui_key(s.t, KEY_UP, true);
	ASSERT_EQ(s.t->modal_selected, 2);
	snap_close(&s);
	return 0;
}

/* Runs a command that the sandbox denies, under on-failure: the retry modal. */
static struct pane *snap_denied_run(struct snap *s, const char *line)
{
	struct pane *p;
	char *msg;

	snap_type(s, line);
	snap_type(s, "\r");
	p = s->t->panes[s->t->n_panes - 1];
	if (p->state != PANE_RUNNING)
		return NULL;
	msg = xasprintf("touch: cannot touch '/etc/airlock-e2e': Read-only file system\r\n");
	snap_feed(p, msg);
	free(msg);
	s->now += 42;
	launch_exited(p, 1, 0);
	return p;
}

TEST(tui_snapshot_retry_after_denial_modal)
{
	struct snap s;
	struct pane *p;

	ASSERT_EQ(snap_open(&s, 80, 24, "on-failure"), 0);
	p = snap_denied_run(&s, "touch /etc/airlock-e2e");
	ASSERT(p != NULL);
	ASSERT_EQ(s.spawned, 1);
	ASSERT(s.last_sandboxed);
	ASSERT_STR_EQ(s.last_argv0, "/bin/true"); /* the sandbox helper wraps it */
	ASSERT_EQ(p->state, PANE_WAITING);
	snap_arm(&s);
	ASSERT_EQ(snap_check(&s, "tui-retry-modal-80x24.txt"), 0);
	snap_close(&s);
	return 0;
}

/* Answers the retry prompt with KEYS; checks the pane, snapshots NAME. */
static int snap_decision(const char *keys, bool keycode_enter, const char *name,
                         enum pane_state want, bool want_sandboxed)
{
	struct snap s;
	struct pane *p;

	ASSERT_EQ(snap_open(&s, 80, 24, "on-failure"), 0);
	p = snap_denied_run(&s, "touch /etc/airlock-e2e");
	ASSERT(p != NULL);
	snap_arm(&s);
	snap_type(&s, keys);
	if (keycode_enter)
		tui_key(s.t, KEY_ENTER, true);
	ASSERT_EQ(approval_pending(s.t->approvals), 0);
	ASSERT_EQ(p->state, want);
	ASSERT_EQ(p->sandboxed, want_sandboxed);
	s.now += 7;
	ASSERT_EQ(snap_check(&s, name), 0);
	snap_close(&s);
	return 0;
}

TEST(tui_snapshot_decision_once)
{
	return snap_decision("y", false, "tui-decision-once-80x24.txt", PANE_RUNNING, false);
}

TEST(tui_snapshot_decision_session)
{
	/* Digit 2 chooses the second option at once. */
	return snap_decision("2", false, "tui-decision-session-80x24.txt", PANE_RUNNING, false);
}

TEST(tui_snapshot_decision_rule)
{
	struct snap s;
	struct pane *p;
	char *rules;

	ASSERT_EQ(snap_open(&s, 80, 24, "on-failure"), 0);
	p = snap_denied_run(&s, "touch /etc/airlock-e2e");
	ASSERT(p != NULL);
	/* Move up from the denying option past `w` to the prefix option; enter confirms. */
	snap_arm(&s);
	snap_type(&s, "kk\r");
	ASSERT_EQ(p->state, PANE_RUNNING);
	ASSERT(!p->sandboxed);
	char *rules_path = xasprintf("%s/rules/default.rules", s.opts.home);
	rules = test_read_file(rules_path, NULL);
	free(rules_path);
	ASSERT(rules != NULL);
	ASSERT_CONTAINS(rules, "touch");
	free(rules);
	ASSERT_EQ(snap_check(&s, "tui-decision-rule-80x24.txt"), 0);
	snap_close(&s);
	return 0;
}

TEST(tui_snapshot_decision_deny)
{
	/* Esc is the last, denying option. */
	return snap_decision("\033", false, "tui-decision-deny-80x24.txt", PANE_DENIED, true);
}

TEST(tui_snapshot_modal_with_a_very_long_command)
{
	struct snap s;
	const char *line =
	    "for f in alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi "
	    "omicron pi rho sigma tau upsilon phi chi psi omega; do cp -r /srv/data/$f "
	    "/srv/backup/$f-$(date +%s) && echo copied $f; done; echo finally done with a very "
	    "long command line that must wrap or be cut";

	ASSERT_EQ(snap_open(&s, 80, 24, "untrusted"), 0);
	snap_type(&s, line);
	snap_type(&s, "\r");
	snap_arm(&s);
	ASSERT_EQ(snap_check(&s, "tui-modal-long-command-80x24.txt"), 0);
	snap_close(&s);

	ASSERT_EQ(snap_open(&s, 40, 12, "untrusted"), 0);
	snap_type(&s, line);
	snap_type(&s, "\r");
	snap_arm(&s);
	ASSERT_EQ(snap_check(&s, "tui-modal-long-command-40x12.txt"), 0);
	snap_close(&s);
	return 0;
}

TEST(tui_snapshot_two_queued_prompts)
{
	struct snap s;

	ASSERT_EQ(snap_open(&s, 80, 24, "untrusted"), 0);
	snap_type(&s, "make install\r");
	/* While a modal is up keys go to it: the next prompts come from elsewhere. */
	launch_line(s.t, "npm publish");
	ASSERT_EQ(approval_pending(s.t->approvals), 2);
	snap_arm(&s);
	ASSERT_EQ(snap_check(&s, "tui-two-prompts-80x24.txt"), 0);
	/* First in, first out: answering shows the second. */
	snap_type(&s, "n");
	ASSERT_EQ(approval_pending(s.t->approvals), 1);
	char *text = snap_text(&s);
	ASSERT_CONTAINS(text, "$ bash -lc 'npm publish'");
	free(text);
	snap_close(&s);
	return 0;
}

TEST(tui_modal_ctrl_c_denies_every_prompt)
{
	struct snap s;

	ASSERT_EQ(snap_open(&s, 80, 24, "untrusted"), 0);
	snap_type(&s, "make install\r");
	launch_line(s.t, "npm publish");
	launch_line(s.t, "cargo publish");
	ASSERT_EQ(approval_pending(s.t->approvals), 3);
	snap_arm(&s);
	tui_key(s.t, 0x03, false);
	ASSERT_EQ(approval_pending(s.t->approvals), 0);
	/* Every one is denied, none runs. */
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(s.t->panes[i]->state, PANE_DENIED);
	ASSERT_EQ(s.spawned, 0);
	snap_close(&s);
	return 0;
}

TEST(tui_snapshot_small_screen)
{
	struct snap s;
	struct pane *p;

	ASSERT_EQ(snap_open(&s, 40, 12, "on-failure"), 0);
	p = snap_pane(&s, "seq 1 100", true);
	for (int i = 1; i <= 100; i++) {
		char line[16];
		snprintf(line, sizeof line, "%d\r\n", i);
		snap_feed(p, line);
	}
	ASSERT_EQ(snap_check(&s, "tui-small-40x12.txt"), 0);
	p = snap_denied_run(&s, "touch /etc/airlock-e2e");
	ASSERT(p != NULL);
	snap_arm(&s);
	ASSERT_EQ(snap_check(&s, "tui-small-modal-40x12.txt"), 0);
	snap_close(&s);
	return 0;
}

TEST(tui_snapshot_resize_with_a_modal_open)
{
	struct snap s;

	ASSERT_EQ(snap_open(&s, 120, 40, "on-failure"), 0);
	ASSERT(snap_denied_run(&s, "touch /etc/airlock-e2e") != NULL);
	snap_arm(&s);
	resizeterm(12, 40);
	tui_resize(s.t, 40, 12);
	ASSERT_EQ(snap_check(&s, "tui-resized-modal-40x12.txt"), 0);
	resizeterm(24, 80);
	tui_resize(s.t, 80, 24);
	char *text = snap_text(&s);
	ASSERT_CONTAINS(text, "enter to confirm \xc2\xb7 esc to deny");
	free(text);
	snap_close(&s);
	return 0;
}

/* Records a network or patch answer. */
static void snap__answer(const struct approval_result *res, void *data)
{
	*(int *)data = res->allowed ? 1 : 2;
}

TEST(tui_snapshot_network_and_patch_modals)
{
	struct snap s;
	int net = 0, patch = 0;
	char *paths[] = {"/ws/src/main.c", NULL};

	ASSERT_EQ(snap_open(&s, 80, 24, "on-failure"), 0);
	struct approval_request nreq = {
	    .kind = APPROVAL_NETWORK,
	    .host = "registry.npmjs.org",
	    .protocol = "https",
	    .port = 443,
	    .origin = "pane 2: npm install",
	    .cwd = "/ws/web",
	};
	ASSERT(approval_request(s.t->approvals, &nreq, snap__answer, NULL, &net) > 0);
	snap_arm(&s);
	ASSERT_EQ(snap_check(&s, "tui-network-modal-80x24.txt"), 0);
	snap_type(&s, "d");
	ASSERT_EQ(net, 2);

	struct approval_request preq = {
	    .kind = APPROVAL_PATCH,
	    .n_paths = 1,
	    .paths = paths,
	    .diff = "*** Update File: src/main.c\n@@ int main(void)\n-\treturn 1;\n+\treturn 0;\n"
	            " }\n",
	};
	ASSERT(approval_request(s.t->approvals, &preq, snap__answer, NULL, &patch) > 0);
	snap_arm(&s);
	ASSERT_EQ(snap_check(&s, "tui-patch-modal-80x24.txt"), 0);
	snap_type(&s, "1");
	ASSERT_EQ(patch, 1);
	snap_close(&s);
	return 0;
}

TEST(tui_draws_at_every_size_down_to_1x1)
{
	struct snap s;

	ASSERT_EQ(snap_open(&s, 80, 24, "on-failure"), 0);
	struct pane *p = snap_pane(&s, "seq 1 50", true);
	for (int i = 0; i < 50; i++)
		snap_feed(p, "0123456789 0123456789 0123456789\r\n");
	snap_pane(&s, "b", true);
	ASSERT(snap_denied_run(&s, "touch /etc/airlock-e2e") != NULL);
	snap_arm(&s);
	for (int cols = 1; cols <= 50; cols += 1) {
		for (int rows = 1; rows <= 14; rows++) {
			resizeterm(rows, cols);
			tui_resize(s.t, cols, rows);
			draw_screen(s.t);
			tui_key(s.t, KEY_F(2), true);
			draw_screen(s.t);
		}
	}
	/* Back to a usable size, the modal is whole. */
	resizeterm(12, 40);
	tui_resize(s.t, 40, 12);
	char *text = snap_text(&s);
	ASSERT_CONTAINS(text, "enter to confirm");
	free(text);
	snap_close(&s);
	return 0;
}

TEST(tui_focus_and_keys_reach_the_pane)
{
	struct snap s;

	ASSERT_EQ(snap_open(&s, 80, 24, "on-failure"), 0);
	snap_pane(&s, "a", true);
	snap_pane(&s, "b", true);
	ASSERT(s.t->focus_input);
	/* From the input line Tab focuses a pane... */
	tui_key(s.t, '\t', false);
	ASSERT(!s.t->focus_input);
	ASSERT_EQ(s.t->current, 0);
	/* ...whose program then gets Tab, Shift-Tab, Ctrl-W, F-keys (SPEC 7). */
	tui_key(s.t, '\t', false);
	tui_key(s.t, KEY_BTAB, true);
	tui_key(s.t, 0x17, false);
	tui_key(s.t, KEY_F(1), true);
	tui_key(s.t, KEY_F(2), true);
	tui_key(s.t, 0x11, false);
	ASSERT(!s.t->focus_input);
	ASSERT_EQ(s.t->current, 0);
	ASSERT_EQ(s.t->n_panes, 2);
	ASSERT_EQ(s.t->overlay, TUI_OVERLAY_NONE);
	ASSERT(!s.t->maximised);
	/* The prefix, then n / p: the next and previous pane. */
	tui_key(s.t, TUI_PREFIX_KEY, false);
	tui_key(s.t, 'n', false);
	ASSERT_EQ(s.t->current, 1);
	ASSERT(!s.t->focus_input);
	tui_key(s.t, TUI_PREFIX_KEY, false);
	tui_key(s.t, 'p', false);
	ASSERT_EQ(s.t->current, 0);
	/* z maximises; x does not close a running pane; i goes back to the input line. */
	tui_key(s.t, TUI_PREFIX_KEY, false);
	tui_key(s.t, 'z', false);
	ASSERT(s.t->maximised);
	tui_key(s.t, TUI_PREFIX_KEY, false);
	tui_key(s.t, 'z', false);
	ASSERT(!s.t->maximised);
	tui_key(s.t, TUI_PREFIX_KEY, false);
	tui_key(s.t, 'x', false);
	ASSERT_EQ(s.t->n_panes, 2);
	tui_key(s.t, TUI_PREFIX_KEY, false);
	tui_key(s.t, 'i', false);
	ASSERT(s.t->focus_input);
	/* Shift-Tab from the input line: the last pane; the prefix and Esc: back. */
	tui_key(s.t, KEY_BTAB, true);
	ASSERT(!s.t->focus_input);
	ASSERT_EQ(s.t->current, 1);
	tui_key(s.t, TUI_PREFIX_KEY, false);
	tui_key(s.t, 0x1b, false);
	ASSERT(s.t->focus_input);
	/* Ctrl-W on the input line does not close a running pane; it closes a finished one. */
	tui_key(s.t, 0x17, false);
	ASSERT_EQ(s.t->n_panes, 2);
	s.now += 10;
	launch_exited(s.t->panes[1], 0, 0);
	tui_key(s.t, 0x17, false);
	ASSERT_EQ(s.t->n_panes, 1);
	/* The prefix then x closes a finished pane too. */
	launch_exited(s.t->panes[0], 0, 0);
	tui_key(s.t, '\t', false);
	tui_key(s.t, TUI_PREFIX_KEY, false);
	tui_key(s.t, 'x', false);
	ASSERT_EQ(s.t->n_panes, 0);
	ASSERT(s.t->focus_input);
	/* Ctrl-Q with a running command asks first; n keeps airlock running. */
	snap_pane(&s, "c", true);
	tui_key(s.t, 0x11, false);
	ASSERT_EQ(s.t->overlay, TUI_OVERLAY_QUIT);
	ASSERT_EQ(snap_check(&s, "tui-quit-modal-80x24.txt"), 0);
	snap_type(&s, "n");
	ASSERT_EQ(s.t->overlay, TUI_OVERLAY_NONE);
	ASSERT(!s.t->quit);
	tui_key(s.t, 0x11, false);
	snap_type(&s, "y");
	ASSERT(s.t->quit);
	snap_close(&s);
	return 0;
}

/* Two panes, the second focused (keys go to it), at COLS x ROWS; snapshot NAME. */
static int snap__focus_frame(int cols, int rows, const char *name)
{
	struct snap s;
	struct pane *p;

	ASSERT_EQ(snap_open(&s, cols, rows, "on-failure"), 0);
	p = snap_pane(&s, "make test", true);
	snap_feed(p, "ok 1 - parse\r\nok 2 - eval\r\n");
	p = snap_pane(&s, "python3 -q", true);
	snap_feed(p, ">>> import os\r\n>>> os.getc");
	snap_pane(&s, "tail -f log", true);
	tui_key(s.t, '\t', false);
	tui_key(s.t, TUI_PREFIX_KEY, false);
	tui_key(s.t, 'n', false);
	ASSERT(!s.t->focus_input);
	ASSERT_EQ(s.t->current, 1);
	s.now += 700;
	ASSERT_EQ(snap_check(&s, name), 0);
	char *text = snap_text(&s);
	/* The marker and the input line's hint say where keys go. */
	ASSERT_CONTAINS(text, "\xe2\x96\xb6[2] running");
	ASSERT_CONTAINS(text, "keys go to pane 2");
	free(text);
	snap_close(&s);
	return 0;
}

TEST(tui_snapshot_focus_frame)
{
	ASSERT_EQ(snap__focus_frame(80, 24, "tui-focus-80x24.txt"), 0);
	ASSERT_EQ(snap__focus_frame(40, 12, "tui-focus-40x12.txt"), 0);
	return 0;
}

/* What an observer of a launch saw. */
struct snap_obs {
	int queued, decided, done, freed;
	bool allowed, denied, sandboxed;
	int status;
};

static void snap_obs__queued(void *data)
{
	((struct snap_obs *)data)->queued++;
}

static void snap_obs__decided(const struct approval_result *res, void *data)
{
	struct snap_obs *o = data;

	o->decided++;
	o->allowed = res->allowed;
}

static void snap_obs__done(int status, bool sandboxed, bool denied, void *data)
{
	struct snap_obs *o = data;

	o->done++;
	o->status = status;
	o->sandboxed = sandboxed;
	o->denied = denied;
}

static void snap_obs__free(void *data)
{
	((struct snap_obs *)data)->freed++;
}

TEST(tui_launch_request_reports_to_its_observer)
{
	struct snap s;
	struct snap_obs o = {0}, c = {0};
	char *argv[] = {"make", "install", NULL};
	char *prefix[] = {"make", "install", NULL};
	struct launch_observer obs = {
	    .queued = snap_obs__queued,
	    .decided = snap_obs__decided,
	    .done = snap_obs__done,
	    .free = snap_obs__free,
	    .data = &o,
	};
	struct launch_request req = {
	    .argc = 2,
	    .argv = argv,
	    .escalate = true,
	    .justification = "install the fixed build system-wide",
	    .prefix_rule = prefix,
	    .observer = &obs,
	};

	ASSERT_EQ(snap_open(&s, 80, 24, "on-request"), 0);
	struct pane *p = launch_request(s.t, &req);
	ASSERT(p != NULL);
	ASSERT_EQ(o.queued, 1);
	ASSERT_EQ(o.decided, 0);
	snap_arm(&s);
	ASSERT_EQ(snap_check(&s, "tui-agent-modal-80x24.txt"), 0);
	snap_type(&s, "y");
	ASSERT_EQ(o.decided, 1);
	ASSERT(o.allowed);
	ASSERT_EQ(s.spawned, 1);
	ASSERT(!s.last_sandboxed);
	ASSERT_STR_EQ(s.last_argv0, "make");
	ASSERT_EQ(o.done, 0);
	s.now += 500;
	launch_exited(p, 0, 0);
	ASSERT_EQ(o.done, 1);
	ASSERT_EQ(o.status, 0);
	ASSERT(!o.denied);
	ASSERT_EQ(o.freed, 1);

	/* A request withdrawn while its prompt waits: denied, prompt gone. */
	obs.data = &c;
	ASSERT(launch_request(s.t, &req) != NULL);
	ASSERT_EQ(c.queued, 1);
	ASSERT_EQ(approval_pending(s.t->approvals), 1);
	launch_cancel(s.t, s.t->panes[s.t->n_panes - 1]->id);
	ASSERT_EQ(approval_pending(s.t->approvals), 0);
	ASSERT_EQ(c.done, 1);
	ASSERT(c.denied);
	ASSERT_EQ(c.status, 126);
	ASSERT_EQ(c.freed, 1);
	ASSERT_EQ(s.t->panes[s.t->n_panes - 1]->state, PANE_DENIED);
	snap_close(&s);
	ASSERT_EQ(o.freed, 1);
	ASSERT_EQ(c.freed, 1);
	return 0;
}

TEST(tui_snapshot_long_patch_scrolls)
{
	struct snap s;
	int patch = 0;
	char *paths[] = {"/ws/notes.txt", NULL};
	char diff[8192];
	size_t len = (size_t)snprintf(diff, sizeof diff,
	                              "--- a/notes.txt\n+++ b/notes.txt\n@@ -1,60 +1,60 @@\n");

	for (int i = 1; i <= 60; i++)
		len += (size_t)snprintf(diff + len, sizeof diff - len, "%cline %d\n",
		                        i % 3 == 0   ? '+'
		                        : i % 3 == 1 ? '-'
		                                     : ' ',
		                        i);
	ASSERT_EQ(snap_open(&s, 80, 24, "on-failure"), 0);
	struct approval_request preq = {
	    .kind = APPROVAL_PATCH,
	    .n_paths = 1,
	    .paths = paths,
	    .diff = diff,
	};
	ASSERT(approval_request(s.t->approvals, &preq, snap__answer, NULL, &patch) > 0);
	snap_arm(&s);
	ASSERT_EQ(snap_check(&s, "tui-patch-long-80x24.txt"), 0);
	/* PgDn scrolls the diff, not the panes; the options stay. */
	tui_key(s.t, KEY_NPAGE, true);
	tui_key(s.t, KEY_NPAGE, true);
	char *text = snap_text(&s);
	ASSERT_CONTAINS(text, "line 20 ");
	ASSERT_NOT_CONTAINS(text, "+++ b/notes.txt");
	ASSERT_CONTAINS(text, "Yes, apply them (y)");
	free(text);
	/* All the way down shows the end of the diff. */
	for (int i = 0; i < 20; i++)
		tui_key(s.t, KEY_NPAGE, true);
	text = snap_text(&s);
	ASSERT_CONTAINS(text, "line 60");
	free(text);
	snap_type(&s, "n");
	ASSERT_EQ(patch, 2);
	snap_close(&s);
	return 0;
}

TEST(tui_snapshot_no_color)
{
	struct snap s;
	struct pane *p;

	snap__no_color = true; /* as --no-color */
	ASSERT_EQ(snap_open(&s, 80, 24, "on-failure"), 0);
	ASSERT(!s.t->color);
	p = snap_pane(&s, "ls --color", true);
	snap_feed(p, "\033[1;34mdir\033[0m  \033[32mscript.sh\033[0m  \033[7mreverse\033[0m\r\n");
	s.now += 100;
	launch_exited(p, 1, 0);
	char *text = snap_text(&s);
	ASSERT_NOT_CONTAINS(text, "fg=");
	ASSERT_CONTAINS(text, "bold reverse");
	free(text);
	ASSERT_EQ(snap_check(&s, "tui-no-color-80x24.txt"), 0);
	snap_close(&s);
	return 0;
}

TEST(tui_snapshot_arming_prompt)
{
	struct snap s;

	ASSERT_EQ(snap_open(&s, 80, 24, "untrusted"), 0);
	snap_type(&s, "make install\r");
	ASSERT_EQ(approval_pending(s.t->approvals), 1);
	draw_screen(s.t); /* the prompt is on screen: it arms from now */
	/* Typed on as it appeared: the keys land in the input line, none answers. */
	s.now += 120;
	snap_type(&s, "cat READ");
	ASSERT_EQ(approval_pending(s.t->approvals), 1);
	ASSERT_EQ(snap_check(&s, "tui-arming-prompt-80x24.txt"), 0);
	/* Quiet for TUI_ARM_MS: the usual footer. */
	s.now += TUI_ARM_MS;
	char *text = snap_text(&s);
	ASSERT_CONTAINS(text, "enter to confirm \xc2\xb7 esc to deny");
	ASSERT_NOT_CONTAINS(text, "arming");
	free(text);
	snap_close(&s);
	return 0;
}

TEST(tui_snapshot_prompt_origin_and_reason)
{
	struct snap s;
	struct snap_obs o = {0};
	char *argv[] = {"npm", "publish", NULL};
	struct launch_observer obs = {.decided = snap_obs__decided, .data = &o};
	struct launch_request req = {
	    .argc = 2,
	    .argv = argv,
	    .cwd = "/ws/packages/web",
	    .escalate = true,
	    .justification = "publish the new version",
	    .origin = "agent client 3",
	    .observer = &obs,
	};

	ASSERT_EQ(snap_open(&s, 80, 24, "on-request"), 0);
	ASSERT(launch_request(s.t, &req) != NULL);
	snap_arm(&s);
	ASSERT_EQ(snap_check(&s, "tui-prompt-origin-80x24.txt"), 0);
	/* Tab on the denying option: a field for the reason, the cursor in it. */
	snap_type(&s, "\tbump the version first");
	ASSERT_EQ(snap_check(&s, "tui-prompt-deny-reason-80x24.txt"), 0);
	snap_type(&s, "\r");
	ASSERT_EQ(o.decided, 1);
	/* "No, keep it sandboxed" to an escalation runs it, in the sandbox. */
	ASSERT(o.allowed);
	char *text = snap_text(&s);
	ASSERT_CONTAINS(text, "you denied running it outside: runs in the sandbox");
	ASSERT_CONTAINS(text, "(reason: bump the ve");
	free(text);
	snap_close(&s);

	/* At 40x12 who asks and where keep their lines. */
	ASSERT_EQ(snap_open(&s, 40, 12, "on-request"), 0);
	obs.data = &o;
	ASSERT(launch_request(s.t, &req) != NULL);
	snap_arm(&s);
	text = snap_text(&s);
	ASSERT_CONTAINS(text, "from: agent client 3, pane 1");
	ASSERT_CONTAINS(text, "cwd:  /ws/packages/web");
	free(text);
	snap_close(&s);
	return 0;
}

/* Three panes whose titles must keep their status: long, ZWJ emoji, denied. */
static void snap__title_panes(struct snap *s)
{
	struct pane *p;

	p = snap_pane(s, "make -C build/with/a/very/long/path all check install", true);
	snap_feed(p, "building\r\n");
	p = snap_pane(s, "git push --force origin main", false);
	p->state = PANE_DENIED;
	p->end_ms = p->start_ms;
	/* A family emoji: man, ZWJ, woman, ZWJ, girl. */
	p = snap_pane(s,
	              "echo \xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7"
	              " family | tee out",
	              false);
	snap_feed(p, "family\r\n");
	p->state = PANE_EXITED;
	p->status = 1;
	p->end_ms = s->now + 300;
	s->now += 1234;
}

TEST(tui_snapshot_status_first_titles)
{
	struct snap s;

	ASSERT_EQ(snap_open(&s, 80, 24, "on-failure"), 0);
	snap__title_panes(&s);
	ASSERT_EQ(snap_check(&s, "tui-titles-80x24.txt"), 0);
	char *text = snap_text(&s);
	/* No joiner reaches the terminal: tmux would draw the family two columns wide. */
	ASSERT_NOT_CONTAINS(text, "\xe2\x80\x8d");
	ASSERT_CONTAINS(text, "[3] exit 1 \xc2\xb7 0.3s \xc2\xb7 unsandboxed \xc2\xb7 echo "
	                      "\xf0\x9f\x91\xa8\xf0\x9f\x91\xa9\xf0\x9f\x91\xa7 family | tee out");
	free(text);
	snap_close(&s);

	ASSERT_EQ(snap_open(&s, 40, 12, "on-failure"), 0);
	snap__title_panes(&s);
	ASSERT_EQ(snap_check(&s, "tui-titles-40x12.txt"), 0);
	text = snap_text(&s);
	ASSERT_CONTAINS(text, "[1] running");
	ASSERT_CONTAINS(text, "[2] denied");
	ASSERT_CONTAINS(text, "[3] exit 1");
	free(text);
	snap_close(&s);
	return 0;
}

/* A maximised pane that printed "line 1" to "line 300" and is over. */
static struct pane *snap__lines_pane(struct snap *s)
{
	struct pane *p = snap_pane(s, "seq -f 'line %g' 300", true);
	char line[64];

	for (int i = 1; i <= 300; i++) {
		snprintf(line, sizeof line, "line %d\r\n", i);
		snap_feed(p, line);
	}
	p->state = PANE_EXITED;
	p->end_ms = s->now + 2100;
	tui_key(s->t, KEY_F(2), true);
	return p;
}

TEST(tui_snapshot_scroll_search)
{
	struct snap s;
	struct pane *p;

	ASSERT_EQ(snap_open(&s, 80, 24, "on-failure"), 0);
	p = snap__lines_pane(&s);
	tui_key(s.t, 0x1d, false);
	snap_type(&s, "[");
	/* Typing the search: it shows in the input row, with its cursor. */
	snap_type(&s, "/line 12");
	ASSERT_EQ(snap_check(&s, "tui-scroll-search-typing-80x24.txt"), 0);
	/* Enter: the newest match (line 129) in view and highlighted; n the one before. */
	snap_type(&s, "\rn");
	ASSERT(p->scroll > 0);
	ASSERT_EQ(snap_check(&s, "tui-scroll-search-80x24.txt"), 0);
	/* Home: the oldest line kept; End: the live screen. */
	tui_key(s.t, KEY_HOME, true);
	ASSERT_EQ(p->scroll, (int)p->sb_len);
	char *text = snap_text(&s);
	ASSERT_CONTAINS(text, "\nline 2\n");
	free(text);
	tui_key(s.t, KEY_END, true);
	ASSERT_EQ(p->scroll, 0);
	snap_close(&s);

	/* 40x12: the mark and the prompt fit or give way, nothing garbles. */
	ASSERT_EQ(snap_open(&s, 40, 12, "on-failure"), 0);
	snap__lines_pane(&s);
	tui_key(s.t, 0x1d, false);
	snap_type(&s, "[?line 29\r");
	ASSERT_EQ(snap_check(&s, "tui-scroll-search-40x12.txt"), 0);
	snap_close(&s);
	return 0;
}

/* Writes TEXT as HOME/rules/NAME for the next snap_open (the test's own home). */
static void snap__rules(const char *name, const char *text)
{
	char *dir = xasprintf("%s/home/rules", test_tmpdir());
	char *path = xasprintf("%s/%s", dir, name);
	char *home = xasprintf("%s/home", test_tmpdir());

	mkdir(home, 0700);
	mkdir(dir, 0700);
	test_write_file(path, text);
	free(home);
	free(dir);
	free(path);
}

TEST(tui_snapshot_rules_view)
{
	struct snap s;

	snap__rules("default.rules",
	            "prefix_rule(pattern=[\"git\", [\"push\", \"fetch\"]], decision=\"prompt\",\n"
	            "            justification=\"talks to the remote\")\n"
	            "prefix_rule(pattern=[\"make\"])\n"
	            "prefix_rule(pattern=[\"rm\", \"-rf\"], decision=\"forbidden\")\n"
	            "network_rule(host=\"registry.npmjs.org\", protocol=\"https\", "
	            "decision=\"allow\")\n"
	            "network_rule(host=\"*.pastebin.com\", decision=\"deny\")\n"
	            "host_executable(name=\"git\", paths=[\"/usr/bin/git\"])\n");
	ASSERT_EQ(snap_open(&s, 80, 24, "on-failure"), 0);
	snap_pane(&s, "make test", true);
	tui_key(s.t, KEY_F(3), true);
	ASSERT_EQ(snap_check(&s, "tui-rules-view-80x24.txt"), 0);
	/* d on a rule: the footer asks, nothing is removed yet. */
	snap_type(&s, "jjd");
	ASSERT_EQ(snap_check(&s, "tui-rules-revoke-80x24.txt"), 0);
	snap_type(&s, "n");
	snap_close(&s);

	ASSERT_EQ(snap_open(&s, 40, 12, "on-failure"), 0);
	tui_key(s.t, 0x1d, false);
	snap_type(&s, "r");
	tui_key(s.t, KEY_END, true);
	ASSERT_EQ(snap_check(&s, "tui-rules-view-40x12.txt"), 0);
	snap_close(&s);
	return 0;
}

TEST(tui_snapshot_mode_switch)
{
	struct snap s;

	ASSERT_EQ(snap_open(&s, 80, 24, "on-failure"), 0);
	snap_pane(&s, "make test", true);
	tui_key(s.t, KEY_F(4), true);
	ASSERT_EQ(snap_check(&s, "tui-mode-switch-80x24.txt"), 0);
	/* never, chosen: the status bar says so at once. */
	snap_type(&s, "jj\r");
	ASSERT_EQ(snap_check(&s, "tui-mode-switch-never-80x24.txt"), 0);
	snap_close(&s);

	ASSERT_EQ(snap_open(&s, 40, 12, "on-failure"), 0);
	tui_key(s.t, 0x1d, false);
	snap_type(&s, "m");
	ASSERT_EQ(snap_check(&s, "tui-mode-switch-40x12.txt"), 0);
	snap_close(&s);
	return 0;
}

TEST(tui_snapshot_status_shortened_and_bidi_shown)
{
	struct snap s;

	ASSERT_EQ(snap_open(&s, 80, 24, "on-failure"), 0);
	tui_set_socket_path(s.t, "/run/user/1000/airlock/airlock-4242.sock");
	free(s.t->cwd);
	s.t->cwd = xstrdup("/srv/projects/airlock/tests/e2e/fixtures");
	/* A right-to-left override would show "exe.txt" as "txt.exe" and turn the title round. */
	snap_pane(&s, "cat \xe2\x80\xaetxt.exe \xe2\x81\xa6x\xe2\x81\xa9", true);
	ASSERT_EQ(snap_check(&s, "tui-status-bidi-80x24.txt"), 0);
	char *text = snap_text(&s);
	ASSERT_CONTAINS(text, "cwd /s/p/a/t/e/fixtures");
	ASSERT_NOT_CONTAINS(text, "\xe2\x80\xae");
	ASSERT_NOT_CONTAINS(text, "\xe2\x81\xa6");
	free(text);
	snap_close(&s);
	return 0;
}

TEST(tui_modes_draw_at_every_size_down_to_1x1)
{
	static const char *const keys[] = {"[/line 2\r", "r", "m"};
	struct snap s;

	for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
		ASSERT_EQ(snap_open(&s, 80, 24, "on-failure"), 0);
		snap__lines_pane(&s);
		tui_key(s.t, 0x1d, false);
		snap_type(&s, keys[k]);
		ASSERT(s.t->mode != NULL);
		for (int rows = 24; rows >= 1; rows -= 3) {
			for (int cols = 80; cols >= 1; cols -= 9) {
				resizeterm(rows, cols);
				tui_resize(s.t, cols, rows);
				draw_screen(s.t);
				tui_key(s.t, KEY_DOWN, true);
				draw_screen(s.t);
			}
		}
		resizeterm(1, 1);
		tui_resize(s.t, 1, 1);
		draw_screen(s.t);
		snap_close(&s);
	}
	return 0;
}

TEST(tui_snapshot_combining_marks)
{
	struct snap s;
	struct pane *p;

	ASSERT_EQ(snap_open(&s, 80, 24, "on-failure"), 0);
	p = snap_pane(&s, "printf 'caf\\u00e9'", true);
	/* Decomposed accents, a ZWJ family, a heart with VS16, Hangul jamo, a flag's halves. */
	snap_feed(p, "cafe\xcc\x81 na\xcc\x83o Zu\xcc\x88rich\r\n");
	snap_feed(p, "family \xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7"
	             " end\r\n");
	snap_feed(p, "heart \xe2\x9d\xa4\xef\xb8\x8f end\r\n");
	snap_feed(p, "a\xcc\x81\xcc\x82\xcc\x83\xcc\x84 stacked end\r\n");
	snap_feed(p, "rtl \xe2\x80\xae" "abc end\r\n");
	ASSERT_EQ(snap_check(&s, "tui-combining-80x24.txt"), 0);
	char *text = snap_text(&s);
	ASSERT_CONTAINS(text, "cafe\xcc\x81 na\xcc\x83o Zu\xcc\x88rich");
	ASSERT_NOT_CONTAINS(text, "\xe2\x80\x8d"); /* no joiner reaches the terminal */
	ASSERT_NOT_CONTAINS(text, "\xe2\x80\xae"); /* nor a bidi override */
	free(text);
	snap_close(&s);
	return 0;
}

TEST(tui_snapshot_extra_permissions_modal)
{
	struct snap s;
	struct policy_permissions out = {0};
	char *argv[] = {"make", "dist", NULL}, *cause = NULL;
	struct pane *p;

	ASSERT_EQ(snap_open(&s, 80, 24, "on-request"), 0);
	ASSERT_EQ(policy_permissions_add_dir(&out, true, "/tmp", &cause), 0);
	struct launch_request lr = {.argc = 2,
	                            .argv = argv,
	                            .justification = "writes the tarball",
	                            .origin = "agent client 1",
	                            .permissions = &out};
	p = launch_request(s.t, &lr);
	ASSERT(p != NULL);
	ASSERT_EQ(p->state, PANE_WAITING);
	snap_arm(&s);
	/* What is added, and that it stays sandboxed; y, a and n only. */
	ASSERT_EQ(snap_check(&s, "tui-extra-permissions-modal-80x24.txt"), 0);
	snap_type(&s, "y");
	ASSERT_EQ(approval_pending(s.t->approvals), 0);
	ASSERT_EQ(p->state, PANE_RUNNING);
	ASSERT(p->sandboxed && s.last_sandboxed);
	ASSERT_STR_EQ(s.last_argv0, "/bin/true"); /* through the sandbox helper */
	ASSERT_EQ(p->perms.n_write, 1);
	ASSERT_STR_EQ(p->perms.write[0], "/tmp");
	s.now += 7;
	ASSERT_EQ(snap_check(&s, "tui-extra-permissions-approved-80x24.txt"), 0);
	policy_permissions_free(&out);
	snap_close(&s);
	return 0;
}

TEST(tui_snapshot_decision_write_dir)
{
	struct snap s;
	struct pane *p;

	/* `w` on the retry: the same command, in the sandbox, with /etc writable. */
	ASSERT_EQ(snap_open(&s, 80, 24, "on-failure"), 0);
	p = snap_denied_run(&s, "touch /etc/airlock-e2e");
	ASSERT(p != NULL);
	snap_arm(&s);
	snap_type(&s, "w");
	ASSERT_EQ(approval_pending(s.t->approvals), 0);
	ASSERT_EQ(p->state, PANE_RUNNING);
	ASSERT(p->sandboxed && s.last_sandboxed);
	ASSERT_EQ(s.spawned, 2);
	ASSERT_EQ(p->perms.n_write, 1);
	ASSERT_STR_EQ(p->perms.write[0], "/etc");
	s.now += 7;
	ASSERT_EQ(snap_check(&s, "tui-decision-write-dir-80x24.txt"), 0);
	snap_close(&s);
	return 0;
}

TEST(tui_snapshot_narrowed_finished_pane)
{
	const char *line = "pane one: a line of output that is longer than half the screen, ends HERE";
	struct snap s;
	struct pane *p;

	ASSERT_EQ(snap_open(&s, 80, 24, "on-failure"), 0);
	p = snap_pane(&s, "cat notes.txt", true);
	snap_feed(p, line);
	snap_feed(p, "\r\nsecond line\r\n");
	p->state = PANE_EXITED;
	char *text = snap_text(&s);
	ASSERT_CONTAINS(text, line);
	free(text);
	/* Three more panes, tiled two by two: the first's line wraps in its half (reflow). */
	snap_pane(&s, "make", true);
	snap_pane(&s, "make test", true);
	snap_pane(&s, "git status", true);
	ASSERT(s.t->layout.pane[0].w < 60);
	ASSERT_EQ(snap_check(&s, "tui-narrowed-pane-80x24.txt"), 0);
	/* Closed again (Ctrl-W on each finished pane): the whole line is back. */
	for (int i = 3; i >= 1; i--) {
		s.t->panes[i]->state = PANE_EXITED;
		tui_key(s.t, 0x17, false);
	}
	ASSERT_EQ(s.t->n_panes, 1);
	text = snap_text(&s);
	ASSERT_CONTAINS(text, line);
	free(text);
	snap_close(&s);
	return 0;
}

/*
 * Reflow (SPEC 7): a pane's lines wrap when the terminal narrows, a wide
 * character and a letter with its accent kept whole, and the wide screen
 * comes back byte for byte when it widens again.
 */
TEST(tui_snapshot_reflowed_pane)
{
	struct snap s;
	struct pane *p;

	ASSERT_EQ(snap_open(&s, 80, 24, "on-failure"), 0);
	p = snap_pane(&s, "cat notes.txt", true);
	snap_feed(p, "1: the first line of the file runs well past forty columns: END1\r\n");
	/* The wide character on columns 40-41 does not fit a row of 40: it starts the next. */
	snap_feed(p, "2: a wide character on columns 40-41:  \xe4\xb8\xad, then a cafe\xcc\x81 (e + U+0301): END2\r\n");
	snap_feed(p, "3: short\r\n");
	snap_feed(p, "4: and the last one, seventy columns wide or so, ends with it: END4\r\n");
	p->state = PANE_EXITED;
	ASSERT_EQ(snap_check(&s, "tui-reflow-wide-80x24.txt"), 0);
	resizeterm(12, 40);
	tui_resize(s.t, 40, 12);
	ASSERT_EQ(snap_check(&s, "tui-reflow-narrow-40x12.txt"), 0);
	resizeterm(24, 80);
	tui_resize(s.t, 80, 24);
	ASSERT_EQ(snap_check(&s, "tui-reflow-wide-80x24.txt"), 0);
	snap_close(&s);
	return 0;
}

/*
 * A note quotes what an agent sent (a patch's paths, a command's words): its
 * control bytes are shown as '?', never obeyed, so a note cannot clear the
 * pane, move the cursor or forge another note.
 */
TEST(tui_pane_note_neutralises_control_bytes)
{
	struct snap s;
	struct pane *p;
	char *text;

	ASSERT_EQ(snap_open(&s, 80, 24, "on-failure"), 0);
	p = snap_pane(&s, "true", true);
	snap_feed(p, "first line of output\r\n");
	pane_note(p, "A x\033[2J\033[H\rairlock: you approved it once");
	text = snap_text(&s);
	ASSERT_CONTAINS(text, "first line of output");
	ASSERT_CONTAINS(text, "A x?[2J?[H?airlock: you approved it once");
	free(text);
	snap_close(&s);
	return 0;
}
