/*
 * The TUI's internal contract, shared by the files of tui/ only.
 *
 * One way through: bytes from a job -> pane (libvterm screen + scrollback)
 * -> layout (pure geometry, no curses) -> draw (the only file that calls
 * curses output functions). Every change to the model sets a dirty flag;
 * the loop draws at most once per turn and at most TUI_FPS times a second.
 * Prompts come from core's approval queue; the TUI shows its head and
 * answers it; nothing waits in a nested loop.
 */
#ifndef AIRLOCK_TUI_H
#define AIRLOCK_TUI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <vterm.h>
#include <wchar.h>

#include "core/approval.h"
#include "core/config.h"
#include "tui/cli.h"

struct job;
struct proxy_session;

/* Hard limits, named. */
#define TUI_FPS               60
#define TUI_FLUSH_STEP_NS     (1000 * 1000) /* output fed per loop turn, all panes */
#define TUI_FLUSH_MIN         (256 * 1024)  /* queued output fed before its frame is due */
#define TUI_MAX_PANES         64
#define TUI_PREFIX_KEY        0x1d /* Ctrl-]: the prefix unless config.json says another */
#define TUI_ARM_MS            500 /* a prompt takes no answer until this long without a key */
#define PANE_SCROLLBACK_LINES 10000
#define PANE_SCROLLBACK_REFLOW_MAX (16 * PANE_SCROLLBACK_LINES) /* what a narrowed one may hold */
#define PANE_OUTPUT_TAIL      65536     /* bytes kept for the on-failure check */
#define PANE_PENDING_MAX      (1 << 20) /* output queued between two frames */
/*
 * The queue of a pane whose output all goes to an agent's pipes as well
 * (launch_relayed): its pane shows a sample, read at the pace of frames.
 */
#define PANE_RELAYED_PENDING  (128 * 1024)
#define INPUT_HISTORY_MAX     1000
#define INPUT_MAX_CHARS       4096

/* ---- text: display widths of UTF-8 (layout.c) ---- */

/* Display width of UTF-8 S (invalid bytes count as one column). */
int layout_text_width(const char *s);
/*
 * Copies the longest head of S that fits in WIDTH columns; when S does not
 * fit, ends it with an ellipsis. Caller frees.
 */
char *layout_text_fit(const char *s, int width);
/*
 * S made safe to measure and draw on one line: control characters become
 * '?' (tabs spaces), C1 controls and bytes that are not UTF-8 U+FFFD, so
 * that text from a command, a justification or a file can neither move the
 * cursor nor make the width measured differ from the width drawn. Caller
 * frees.
 */
char *layout_text_printable(const char *s);
/* PATH with HOME (may be NULL) at its start written as ~ (~/src/x). Caller frees. */
char *layout_tilde(const char *path, const char *home);
/* Whether WC is a bidi formatting character: never drawn as is (it would reorder the row). */
bool layout_bidi_control(wchar_t wc);
/*
 * The status bar's text for WIDTH columns: HEAD (the modes and the prompt
 * count), then the socket path and the cwd, shortened rather than cut
 * when they do not fit: HOME as ~, the socket by its name, the cwd's
 * parents by their initials, no socket, SHORT_HEAD (the modes without
 * their labels) for HEAD, the cwd's last directory, and only then cut.
 * Caller frees.
 */
char *layout_status(const char *head, const char *short_head, const char *socket,
                    const char *cwd, const char *home, int width);

/* ---- pane: one command's terminal (pane.c) ---- */

/* Colours packed in 32 bits: 0 default, else a tag and an index or RGB. */
#define PANE_COLOR_DEFAULT    0u
#define PANE_COLOR_INDEXED(i) (0x01000000u | (uint32_t)(i))
#define PANE_COLOR_RGB(r, g, b)                                                                    \
	(0x02000000u | ((uint32_t)(r) << 16) | ((uint32_t)(g) << 8) | (uint32_t)(b))
#define PANE_COLOR_IS_INDEXED(c) (((c)&0xff000000u) == 0x01000000u)
#define PANE_COLOR_IS_RGB(c)     (((c)&0xff000000u) == 0x02000000u)

enum {
	PANE_ATTR_BOLD = 1 << 0,
	PANE_ATTR_UNDERLINE = 1 << 1,
	PANE_ATTR_ITALIC = 1 << 2,
	PANE_ATTR_REVERSE = 1 << 3,
	PANE_ATTR_BLINK = 1 << 4,
};

/*
 * A character with marks on it (a grapheme cluster: e + U+0301, an emoji and
 * its joiner) is kept whole: its cell's ch is PANE_CLUSTER_BIT | an index
 * into the pane's table of clusters (pane_cell_chars() reads it back). The
 * table holds at most PANE_CLUSTERS_MAX distinct clusters; past that a
 * cluster keeps its first character only.
 */
#define PANE_CLUSTER_BIT   0x80000000u
#define PANE_CLUSTER_CHARS 6 /* VTERM_MAX_CHARS_PER_CELL */
#define PANE_CLUSTERS_MAX  4096

/* One cell as the pane keeps it (compact: scrollback holds many). */
struct pane_cell {
	uint32_t ch; /* 0: blank; PANE_CLUSTER_BIT set: a cluster (see above) */
	uint32_t fg, bg;
	uint8_t attrs;
	uint8_t width; /* 1, 2 (wide), or 0 (right half of a wide char) */
};

struct pane_line {
	int ncells;   /* trailing blanks trimmed (not on a wrapped line: its blanks are text) */
	bool wrapped; /* the text goes on in the next line (a soft wrap): reflowed as one */
	struct pane_cell cells[];
};

enum pane_state {
	PANE_WAITING, /* a prompt decides whether it runs */
	PANE_RUNNING,
	PANE_EXITED,
	PANE_DENIED,
};

struct tui;

/*
 * Someone who follows one launched command (the agent socket): told when a
 * prompt is waiting, of each decision, of every byte of output, and once,
 * at the end, how it went (DENIED: it never ran, STATUS 126). FREE(DATA)
 * runs after DONE, or when the TUI goes away first. Every member may be NULL.
 */
struct launch_observer {
	void (*queued)(void *data);
	void (*decided)(const struct approval_result *res, void *data);
	void (*output)(const char *buf, size_t len, void *data);
	void (*output_err)(const char *buf, size_t len, void *data); /* pipes: stderr */
	void (*started)(struct job *job, void *data); /* the command runs (JOB takes stdin) */
	void (*done)(int status, bool sandboxed, bool denied, void *data);
	void (*free)(void *data);
	void *data;
};

/* A command to run in a new pane, as an agent asks for it. Everything is copied. */
struct launch_request {
	size_t argc;
	char *const *argv;
	const char *cwd;           /* NULL: the workspace */
	bool escalate;             /* asks to run outside the sandbox */
	const char *justification; /* shown in the prompt, or NULL */
	char *const *prefix_rule;  /* the proposed `p` prefix (NULL-terminated), or NULL */
	const char *origin;        /* who asks ("agent client 2"); NULL: airlock's command line */
	const struct launch_observer *observer; /* or NULL */
	bool pipes; /* stdin, stdout, stderr are pipes, not a terminal (an agent's, SPEC 8) */
	/* extra permissions (SPEC 12): asked of a human for this command, or NULL */
	const struct policy_permissions *permissions;
	/* and those the requester holds already (request_permissions), or NULL */
	const struct policy_permissions *held;
	uint64_t timeout_ms; /* SPEC 12: the run's bound (timeout_ms, submit --timeout); 0 none */
	/*
	 * Pipes of the requester's own (stdio_fds, SPEC 8) that stdout and
	 * stderr go to byte for byte (job_options.sinks), -1 each for none
	 * (their output then goes to the observer); read only when SINKS is set.
	 */
	bool sinks;
	int stdout_sink, stderr_sink;
};

struct pane {
	struct tui *tui;
	int id;
	char *command; /* as shown in the title */
	char **argv;   /* what runs (before any sandbox wrapping), NULL-terminated */
	size_t argc;
	enum pane_state state;
	int status;
	bool sandboxed;
	uint64_t start_ms, end_ms; /* TUI clock */

	VTerm *vt;
	VTermScreen *vs;
	int rows, cols;  /* its terminal's size: its tile's */
	VTermPos cursor;
	bool cursor_visible;

	struct pane_line **sb; /* ring of SB_CAP lines: PANE_SCROLLBACK_LINES, more once narrowed */
	size_t sb_head, sb_len, sb_cap;
	int scroll; /* lines scrolled back from the bottom */
	bool altscreen; /* the command shows its alternate screen */
	struct pane_resize *resizing; /* while libvterm resizes: what it pushes and pops (pane.c) */

	struct job *job;
	uint64_t waiter; /* approval waiter id while WAITING */
	char *tail;      /* at least the last PANE_OUTPUT_TAIL bytes of output (sandboxed runs) */
	size_t tail_len;
	bool retried;
	/* how it was asked for (launch_request) */
	char *cwd; /* NULL: the workspace */
	bool escalate;
	bool pipes; /* runs on pipes, not on its terminal (launch_request.pipes) */
	struct policy_permissions asked; /* extra permissions a human is asked for (SPEC 12) */
	struct policy_permissions perms; /* those its sandboxed run gets */
	char *justification;
	char **prefix_rule;
	char *origin; /* who asked for it ("typed at the input", "agent client 2") */
	struct launch_observer obs;
	bool obs_done;
	struct proxy_session *proxy; /* -n ask: the proxy of its sandboxed run, or NULL */
	char **proxy_env;            /* that proxy's variables */
	bool saw_esc;  /* an escape came: the plain-flood fast path is off */
	bool saw_c2;   /* a byte C2 came: a C1 control in UTF-8 may follow (pane__write) */
	uint8_t rep_scan;  /* where pane__write is in an escape sequence (pane__seq_step) */
	int rep_count;     /* a possible REP's count so far */
	int seq_digits;    /* digits of the sequence's number so far */
	bool keying;   /* pane_key is sending a key (on pipes, only keys reach the command) */
	bool paused;   /* its job is not read until the queue drains */
	uint64_t killed_ms; /* TUI clock when its requester went away and it was killed (0: not) */
	uint64_t unshown; /* an agent's output the pane dropped to keep up (launch.c) */
	bool sinks;       /* launch_request.sinks: SINK holds our copies (-1: none) */
	int sink[2];
	/* SPEC 12: what is left of its timeout (0: none), whether it ran out, and whether one of
	 * its network prompts waits (1; the clock stops meanwhile) */
	uint64_t timeout_ms;
	bool timed_out;
	int net_waiting;
	char *pending; /* output not yet through the emulator (see pane_queue) */
	size_t pending_len, pending_cap;
	unsigned long flood_chunks; /* chunks that took the fast path */
	struct pane_clusters *clusters; /* the clusters its cells name (see PANE_CLUSTER_BIT) */
};

struct pane *pane_new(struct tui *t, int id, const char *command, size_t argc, char *const argv[],
                      int rows, int cols);
void pane_free(struct pane *p);
/* Feeds command output through the terminal emulator. */
void pane_feed(struct pane *p, const char *buf, size_t len);
/*
 * Queues command output; pane_flush() feeds it through the emulator, once
 * per frame, so a flood is handled in big chunks (see the fast path in
 * pane.c). More than PANE_PENDING_MAX bytes are fed at once.
 */
bool pane_queue(struct pane *p, const char *buf, size_t len);
/* Feeds what pane_queue() kept; returns whether there was anything. */
bool pane_flush(struct pane *p);
/* Feeds queued output for about BUDGET_NS nanoseconds; returns the bytes left. */
size_t pane_flush_for(struct pane *p, uint64_t budget_ns);
/* Writes one airlock line (a decision, a note) into the pane, in colour. */
void pane_note(struct pane *p, const char *text);
void pane_resize(struct pane *p, int rows, int cols);
/*
 * The characters of cell C of P (a cluster's, or its one character) into
 * OUT (room for PANE_CLUSTER_CHARS); returns how many (0: a blank cell).
 */
size_t pane_cell_chars(const struct pane *p, const struct pane_cell *c, uint32_t *out);
/* How many distinct clusters P keeps (at most PANE_CLUSTERS_MAX). */
size_t pane_cluster_count(const struct pane *p);
/* The first character of cell C (its base, for a cluster); 0: blank. */
uint32_t pane_cell_base(const struct pane *p, const struct pane_cell *c);
/* The cell at ROW, COL of the pane's view, scrollback included. */
void pane_view_cell(const struct pane *p, int row, int col, struct pane_cell *out);
/* Scrolls the view by DELTA lines (positive: back in history). */
void pane_scroll(struct pane *p, int delta);
/* Lines of P: the scrollback (oldest first), then the screen's rows. */
long pane_line_count(const struct pane *p);
/* How many columns line LINE holds (a scrollback line may be wider than the pane). */
int pane_line_width(const struct pane *p, long line);
/* Whether line LINE's text goes on in line LINE + 1 (a soft wrap, reflowed as one). */
bool pane_line_wrapped(const struct pane *p, long line);
/* The cell at COL of line LINE (pane_line_count numbering). */
void pane_line_cell(const struct pane *p, long line, int col, struct pane_cell *out);
/* The view row that shows line LINE (may be off the view: < 0 or >= rows). */
long pane_line_row(const struct pane *p, long line);
/* Scrolls so that line LINE is in view (a few lines below the top when it was not). */
void pane_show_line(struct pane *p, long line);
/* The title, status first: `[N] running · 1.2s · sandboxed · command`. Caller frees. */
char *pane_title(const struct pane *p, uint64_t now_ms);
/* Formats a duration as the title shows it (1.2s, 2m05s). */
void pane_format_duration(uint64_t ms, char *buf, size_t size);
/* Keys typed in the focused pane: to the command through the terminal. */
void pane_key(struct pane *p, wint_t ch, bool keycode);
/* Forgets the output tail (a new run starts). */
void pane_tail_reset(struct pane *p);

/* ---- input line with history (input.c) ---- */

struct input {
	wchar_t buf[INPUT_MAX_CHARS + 1];
	int len, cur;
	char **history;
	int n_history, hist_pos; /* hist_pos == n_history: the line being typed */
	wchar_t saved[INPUT_MAX_CHARS + 1];
	char *history_path; /* NULL: not persisted */
};

void input_init(struct input *in, const char *history_path);
/*
 * Moves the history file OLD_PATH (where older airlocks kept it) into
 * NEW_PATH once: its lines before those NEW_PATH already holds, atomically,
 * never following a symbolic link. Returns 0 (moved, or nothing to move) or
 * -errno (both files then stay as they were).
 */
int input_history_migrate(const char *old_path, const char *new_path);
void input_free(struct input *in);
/* Handles a key; returns true when it used it. On enter stores the line in *LINE (caller frees). */
bool input_key(struct input *in, wint_t ch, bool keycode, char **line);
/* The line as UTF-8 (caller frees). */
char *input_text(const struct input *in);
/* Display column of the cursor within the text. */
int input_cursor_col(const struct input *in);

/* ---- layout: pure geometry (layout.c) ---- */

struct rect {
	int x, y, w, h;
};

struct layout {
	struct rect status, panes, input;
	int n;
	struct rect pane[TUI_MAX_PANES]; /* title row included; h == 0: hidden */
	/* vertical separators between tiles: x, y, h */
	int n_seps;
	struct rect seps[TUI_MAX_PANES];
};

/* Splits a COLS x ROWS screen for N panes, the CURRENT one alone when MAXIMISED. */
void layout_screen(int cols, int rows, int n, int current, bool maximised, struct layout *out);

/* What a modal shows, from a prompt or from the TUI itself (quit). */
struct modal_view {
	const char *title;
	const char *reason;
	const char *subject;
	const char *diff; /* or NULL */
	bool command;     /* the subject is a command line (shown after `$ `) */
	const char *origin; /* who asks, or NULL */
	const char *cwd;    /* the working directory it concerns, or NULL */
	bool arming;        /* keys do not answer it yet (TUI_ARM_MS) */
	const char *arming_dest; /* where keys go meanwhile ("the input line", "pane 3") */
	bool tab_hint;      /* the highlighted option denies: tab gives a reason */
	const char *field;  /* the deny-reason field's text (UTF-8) while it is open, or NULL */
	int field_cursor;   /* display column of its cursor */
	struct {
		char key;
		const char *label;
	} options[APPROVAL_MAX_OPTIONS];
	size_t n_options;
	int selected;
	int scroll;     /* first diff line shown */
	size_t waiting; /* prompts behind this one */
};

enum modal_role {
	MODAL_TITLE,
	MODAL_TEXT,
	MODAL_SUBJECT,
	MODAL_DIFF,
	MODAL_DIFF_ADD,
	MODAL_DIFF_DEL,
	MODAL_DIFF_HUNK,
	MODAL_OPTION,
	MODAL_SELECTED,
	MODAL_FOOTER,
	MODAL_BLANK,
	MODAL_ORIGIN, /* who asks and where */
	MODAL_FIELD,  /* the deny-reason field */
};

struct modal_line {
	char *text; /* fits the box's inner width */
	enum modal_role role;
};

struct modal_layout {
	struct rect box;   /* border included */
	struct rect inner; /* where lines go */
	bool border;
	struct modal_line *lines;
	int n_lines;
	int diff_lines; /* how many diff lines there are in all (for scrolling) */
	int diff_shown;
	int field_line;   /* index of the MODAL_FIELD line, or -1 */
	int field_cursor; /* column of the field's cursor within the inner width */
};

/* Lays out V in a COLS x ROWS screen: box, wrapped and truncated lines. */
void layout_modal(const struct modal_view *v, int cols, int rows, struct modal_layout *out);
void layout_modal_free(struct modal_layout *ml);

/* ---- modes: what takes the keys over the panes (mode-*.c) ---- */

/*
 * A mode takes every key while it is on (as tmux's window modes do): scroll
 * mode with search, the rules view, the mode switch. Each is a const struct
 * in a file of its own; its model knows nothing of curses and shows itself
 * through a mode_view, which draw.c paints. The list-like ones share one
 * engine, mode_list.
 */
enum mode_role {
	MODE_ROW_TEXT,
	MODE_ROW_HEADING, /* a section's name (not selectable) */
	MODE_ROW_NOTE,    /* dim text (not selectable) */
	MODE_ROW_WARN,    /* something the user should know (broken, ignored) */
};

/* One row of a list: its text, and what it stands for (TAG, the mode's). */
struct mode_list_item {
	char *text;
	enum mode_role role;
	bool selectable;
	long tag;
};

/* The shared list engine: rows, the selection and the first row shown. */
struct mode_list {
	struct mode_list_item *items;
	int n, cap;
	int selected; /* index of the selected row, -1 when none is selectable */
	int top;      /* first row shown */
	int height;   /* rows shown (mode_list_resize) */
};

/* Empties L (its rows freed), keeping the selection's place when it can. */
void mode_list_clear(struct mode_list *l);
/* Frees L's rows. */
void mode_list_free(struct mode_list *l);
/* Adds a row formatted from FMT. */
void mode_list_add(struct mode_list *l, enum mode_role role, bool selectable, long tag,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* HEIGHT rows are shown: keeps the selection among them. */
void mode_list_resize(struct mode_list *l, int height);
/* Moves the selection (arrows, j k, PgUp/PgDn, Home/End); returns whether the key moved it. */
bool mode_list_key(struct mode_list *l, wint_t ch, bool keycode);
/* Selects the first selectable row with TAG; returns whether there is one. */
bool mode_list_select_tag(struct mode_list *l, long tag);
/* The selected row, or NULL. */
const struct mode_list_item *mode_list_current(const struct mode_list *l);

/* What a mode shows; draw.c paints it. Every pointer is the mode's, valid until its next key. */
struct mode_view {
	/* list modes: a screen over the panes' area */
	const char *title;
	const struct mode_list *list; /* or NULL */
	const char *footer;           /* the keys, or a question */
	const char *detail;           /* about the selected row (its file, its meaning), or NULL */
	/* scroll mode: on the current pane */
	const char *mark;   /* the corner mark (where in the scrollback, how to leave) */
	long hl_line;       /* a search match: its line (pane_line_count numbering) */
	int hl_col, hl_cols; /* its first column and width; hl_cols 0: none */
	/* the input row: a search prompt, or a message */
	const char *prompt; /* "/text" while one is typed, or NULL */
	int prompt_cursor;  /* display column of its cursor */
	const char *message; /* a one-line message, or NULL */
};

/* A mode: its table of operations (designated initializers, one file each). */
struct tui_mode {
	const char *name;
	/* Makes the mode's state for T; NULL when it cannot start (*WHY: a notice, static). */
	void *(*init)(struct tui *t, const char **why);
	void (*free)(void *data);
	/* The screen was laid out again. */
	void (*resize)(void *data);
	/* One key; returns false when the mode ends with it. */
	bool (*key)(void *data, wint_t ch, bool keycode);
	/* Fills V (zeroed by the caller). */
	void (*view)(void *data, struct mode_view *v);
};

extern const struct tui_mode mode_scroll; /* mode-scroll.c: scrollback, Home/End, / ? n N */
extern const struct tui_mode mode_rules;  /* mode-rules.c: the rules, revocable in place */
extern const struct tui_mode mode_switch; /* mode-switch.c: approval policy, network mode */

/* Starts mode M (another one on ends first); says why in the input row when it cannot. */
void tui_mode_enter(struct tui *t, const struct tui_mode *m);
/* Ends the mode on, if any. */
void tui_mode_leave(struct tui *t);
/* How many decisions the rule at FILE:LINE made this session. */
unsigned long tui_rule_hits(const struct tui *t, const char *file, unsigned line);
/* The view of the mode on; false when none is. */
bool tui_mode_view(struct tui *t, struct mode_view *v);
/*
 * The session's approval policy is A from now on (the mode switch). Returns
 * 0, or -EPERM with *CAUSE (caller frees) when the managed policy does not
 * allow A.
 */
int tui_set_approval(struct tui *t, enum decide_approval a, char **cause);
/*
 * The session's network mode is MODE ("off", "ask", "on") for the commands
 * started from now on. Returns 0, or -EPERM with *CAUSE (caller frees) when
 * the managed policy does not allow MODE or the network is not the mode
 * switch's to change (--sandbox-policy, a permission profile, no sandbox).
 */
int tui_set_network(struct tui *t, const char *mode, char **cause);

/* ---- scroll mode's search over a pane (mode-scroll.c) ---- */

/*
 * Finds NEEDLE (UTF-8; case-insensitive unless it has a capital) in P's
 * lines, from line *LINE, column *COL exclusive, towards older lines when
 * BACK, wrapping around once. Returns true with the match in *LINE, *COL
 * and its width in *COLS (columns); *WRAPPED says whether it went round.
 */
bool mode_scroll_find(const struct pane *p, const char *needle, bool back, long *line, int *col,
                      int *cols, bool *wrapped);

/* ---- the TUI model (tui.c) ---- */

enum tui_overlay {
	TUI_OVERLAY_NONE,
	TUI_OVERLAY_HELP,
	TUI_OVERLAY_QUIT,
};

struct tui {
	const struct cli_options *opts;
	uv_loop_t *loop;
	uint64_t (*now_ms)(void *); /* the clock (tests pin it) */
	void *clock_data;
	int cols, rows;

	struct pane *panes[TUI_MAX_PANES];
	int n_panes;
	int next_id;
	int current;      /* index of the current pane, -1 none */
	bool focus_input; /* keys go to the input line, else to the current pane */
	bool maximised;
	int prefix_key;   /* the one key a focused pane does not get (config prefix_key) */
	bool prefix;      /* the prefix key came: the next key acts on airlock */
	const struct tui_mode *mode; /* scroll, rules view, mode switch; NULL: none */
	void *mode_data;
	enum decide_approval approval; /* the session's policy (the mode switch changes it) */
	const char *network;           /* the session's network mode: "off", "ask", "on" */
	/* How many decisions each rule made this session ("FILE:LINE" -> count, the rules view's) */
	char **hit_where;
	unsigned long *hit_count;
	size_t n_hits;
	struct input input;

	enum tui_overlay overlay;
	uint64_t modal_prompt; /* id of the prompt the selection belongs to; 0: none shown */
	int modal_selected, modal_scroll;
	uint64_t modal_since; /* when it was shown, or last got a key while arming */
	bool reason_open;     /* the deny-reason field is open */
	struct input reason;  /* its text */
	char *modal_dest;     /* where arming keys go, as the footer says */
	char *modal_field;    /* the field's text as the last view gave it */
	char *modal_origin;   /* who asks, when several did */

	struct proxy_session *proxy; /* -n ask, or NULL */
	char *proxy_fs_policy;       /* the file-system half, for the proxy network policy */
	char **proxy_env;            /* HTTP_PROXY and friends for sandboxed commands */
	struct approval_queue *approvals;
	struct decider *decider; /* the decider program (SPEC 11), or NULL */
	/* Attention (SPEC 11): prompts counted at the last change, a bell due, the title's count. */
	size_t attention_seen;
	bool attention_ring;
	long attention_title; /* what the title last said (-1: nothing yet) */
	struct rules *rules;
	struct audit *audit;
	char *audit_error; /* why the log cannot be written (nothing that needs a decision runs) */
	char *socket_path;
	char *notice; /* a one-line message in the input row until the next key */
	char *cwd;    /* the session's working directory: typed lines run there (`cd DIR`) */

	struct layout layout; /* of the last relayout */
	bool pending;         /* some pane has queued output */
	bool urgent;          /* draw the next frame without waiting (a key came) */
	bool dirty;
	bool quit;
	bool color;
	/* Starts a pane's ARGV (tests replace it; NULL: core/job on a pty). */
	int (*spawn)(struct pane *p, char *const argv[], void *data);
	void *spawn_data;
	char *sandbox_helper; /* NULL: panes cannot be sandboxed */
	char *sandbox_policy;

	/* the loop's handles (tui_main only) */
	uv_poll_t stdin_poll;
	uv_signal_t sig_winch, sig_term, sig_hup, sig_int;
	uv_prepare_t prepare;
	uv_timer_t frame_timer, tick_timer;
	uv_timer_t arm_timer; /* redraws when the prompt on screen arms */
	uv_idle_t idle; /* active while output waits to be fed */
	uint64_t last_frame_ms;
	bool in_loop;
};

/*
 * Makes the model for OPTS on LOOP. NOW_MS (may be NULL: the loop's clock)
 * is the clock durations come from. Loads rules and opens the audit log;
 * on a broken rules file stores the message in *CAUSE and returns NULL.
 */
struct tui *tui_new(const struct cli_options *opts, uv_loop_t *loop, uint64_t (*now_ms)(void *),
                    void *clock_data, char **cause);
void tui_free(struct tui *t);
/* The screen is COLS x ROWS now: lay out again and resize the panes' terminals. */
void tui_resize(struct tui *t, int cols, int rows);
/* One key, as wget_wch gives it (KEYCODE: a KEY_* constant). */
void tui_key(struct tui *t, wint_t ch, bool keycode);
/* Feeds the panes' queued output for about BUDGET_NS nanoseconds in all. */
void tui_flush(struct tui *t, uint64_t budget_ns);
/* Marks the screen for drawing at the next loop turn. */
void tui_dirty(struct tui *t);
/* When the audit log could not be opened, puts why (and what to do) in the input row. */
void tui_audit_notice(struct tui *t);
uint64_t tui_now(const struct tui *t);
/* Sets the agent socket's path for the status bar (NULL: none). */
void tui_set_socket_path(struct tui *t, const char *path);
/* Adds a pane for COMMAND (shown) running ARGV; returns it, or NULL when full. */
struct pane *tui_add_pane(struct tui *t, const char *command, size_t argc, char *const argv[]);
/*
 * Whether a pane can be added; when all TUI_MAX_PANES are taken, the oldest
 * pane of an agent whose command is over is closed first to make room.
 */
bool tui_make_room(struct tui *t);
/*
 * The modal on screen, if any, as a view (from the approval queue or the
 * quit question). A prompt seen for the first time starts arming here: for
 * TUI_ARM_MS after that (and after every key that came meanwhile) keys go
 * where they would without it, and none answers it.
 */
bool tui_modal_view(struct tui *t, struct modal_view *v);
/* When the prompt on screen takes answers (TUI clock), or 0 when none is shown. */
uint64_t tui_modal_arms_at(struct tui *t);
/* A command ended, was denied or withdrawn: a quit that waited on commands goes ahead. */
void tui_command_ended(struct tui *t);
/* How many prompts wait behind the one on screen (the status bar's count). */
size_t tui_prompts_waiting(struct tui *t);
/* The pane with number ID, or NULL. */
struct pane *tui_pane_by_id(struct tui *t, int id);
/* Pane P has new output: asks for a frame when it is on screen. */
void tui_pane_changed(struct tui *t, const struct pane *p);
/*
 * -n ask: the proxy variables for pane P's sandboxed run, from a proxy of
 * its own whose prompts name the pane, its command and cwd (started on
 * the first call; the session's shared proxy if it cannot start). NULL
 * when commands have no proxy.
 */
char **tui_pane_proxy_env(struct tui *t, struct pane *p);
/* Closes pane P's proxy, if any (its command ended); its waiting prompts go. */
void tui_pane_proxy_close(struct pane *p);
/* Number of panes whose command still runs or waits. */
int tui_running(const struct tui *t);
/* Kills every command (quitting). */
void tui_kill_all(struct tui *t);

/* ---- launching commands (launch.c) ---- */

/* Runs LINE typed at the input as `bash -lc LINE` in a new pane. */
void launch_line(struct tui *t, const char *line);
/* Runs ARGV as given in a new pane. */
void launch_argv(struct tui *t, size_t argc, char *const argv[]);
/* Runs REQ in a new pane through the decision, as launch_argv does; NULL when full. */
struct pane *launch_request(struct tui *t, const struct launch_request *req);
/* Writes each line of the sandbox helper's git report on JOB (P's) to the audit log and P. */
void launch_git_reports(struct pane *p, const struct job *job);
/* Withdraws pane ID's command: a waiting prompt is cancelled, a running command interrupted. */
void launch_cancel(struct tui *t, int id);
/* Lets go of what P's launch holds (its observer is freed, never called again). */
void launch_drop(struct pane *p);
/*
 * Whether P's stdout goes to its agent's pipe through a relay (stdio_fds,
 * SPEC 8): its pane then only samples its output (PANE_RELAYED_PENDING; a
 * paused pane leaves its relays' copies out), never holding the relayed
 * stream back. A stderr that comes as events waits for the pane's next
 * frame at most while it is paused.
 */
bool launch_relayed(const struct pane *p);
/* Starts P's command now, SANDBOXED or not (no decision). Returns 0 or -errno. */
int launch_start(struct pane *p, bool sandboxed);
/* P's command ended with STATUS (SIGNAL when killed): record it, maybe ask to retry. */
void launch_exited(struct pane *p, int status, int signal);
/*
 * Retries P's finished sandboxed command that failed outside the sandbox,
 * by hand (prefix o, SPEC 5/7): the retry prompt of on-failure, whatever
 * the policy (never refuses it). 0, -EINVAL when P has no such command,
 * -EPERM when the managed policy runs nothing outside the sandbox.
 */
int launch_retry_outside(struct pane *p);

/* ---- the agent socket (agent-link.c) ---- */

struct agent_link;
/*
 * Listens on the agent socket at PATH (NULL: the default) and serves its
 * requests through T (panes, prompts, patches); shows the path in the status
 * bar. Returns NULL with *CAUSE when it cannot listen.
 */
struct agent_link *agent_link_start(struct tui *t, const char *path, char **cause);
/* Stops listening (requests under way are no longer reported). */
void agent_link_stop(struct agent_link *l);
/* Frees the link; call after tui_free(). */
void agent_link_free(struct agent_link *l);

/* ---- drawing (draw.c: the only curses output) ---- */

/* Sets up colours once after initscr/newterm. */
void draw_init(bool color);
/* Paints the whole model onto stdscr and updates the terminal. */
void draw_screen(struct tui *t);
/* On the way out: a terminal title that counted prompts says only "airlock" again. */
void draw_attention_end(struct tui *t);
/* Where the last frame put the cursor; false when it was hidden. */
bool draw_cursor(int *y, int *x);

/* ---- help text (tui.c) ---- */

struct tui_help_line {
	const char *keys;
	const char *what;
};
/* The help screen's lines, from the key binding table; *N gets the count. */
const struct tui_help_line *tui_help_lines(size_t *n);

/* ---- snapshot of the curses screen as text (snapshot.c) ---- */

/* The screen (curscr) as text: header, rows, style plane and legend. Caller frees. */
char *snapshot_screen(void);

#endif
