/*
 * Rules files (SPEC section 6): the subset of Codex's Starlark execpolicy
 * that users write, `prefix_rule(...)` and `network_rule(...)`, loaded into
 * one rule set that answers "which rules match this command / this host".
 *
 * Loading is all or nothing: the first error stops it and fills *cause with
 * `FILE:LINE:COL: message` (1-based line, 1-based byte column of where the
 * offending token starts, or where the input ended). A rule set that failed
 * to load must not be used to allow anything; rules_load_* leave the set as
 * it was before the failing file (rules of earlier files stay).
 *
 * Choices (documented in man/airlock.1 too):
 *   - prefix_rule's decision defaults to "allow", as in Codex's execpolicy;
 *     values: "allow", "prompt", "forbidden".
 *   - network_rule's decision is required; values: "allow", "prompt", "deny".
 *     `host` is lower-cased; "*.example.com" matches every subdomain of
 *     example.com (not example.com itself); "[::1]" is an IPv6 address and
 *     "HOST:PORT" / "[V6]:PORT" a rule for one port. `protocol` is optional
 *     ("http", "https", "socks5", "tcp", and Codex's "https_connect" /
 *     "http-connect" (= https), "socks5_tcp" (= socks5), "socks5_udp");
 *     absent, the rule matches every protocol.
 *   - Strings: '...', "...", and triple-quoted '''...''' / """...""" that
 *     may span lines. A blank justification is an error, as in Codex.
 *   - host_executable(name="git", paths=["/usr/bin/git"]): the rules for
 *     `git` cover a program named by a path only for these paths.
 *   - match/not_match examples are strings (split shell-like into words) or
 *     lists of words; each is checked against its own rule at load.
 *
 * Not thread-safe: one rule set belongs to one thread (the loop).
 */
#ifndef AIRLOCK_RULES_H
#define AIRLOCK_RULES_H

#include <stdbool.h>
#include <stddef.h>

/* Ordered by strictness: a larger value wins (forbidden > prompt > allow). */
enum rules_decision {
	RULES_ALLOW = 0,
	RULES_PROMPT = 1,
	RULES_FORBIDDEN = 2, /* network_rule's "deny" */
};

enum rules_kind {
	RULES_KIND_PREFIX,
	RULES_KIND_NETWORK,
	RULES_KIND_HOST_EXECUTABLE, /* host_executable(name=..., paths=[...]) */
};

/* One element of a prefix pattern: a word, or a list of alternatives. */
struct rules_token {
	char **alts; /* n_alts >= 1 words; a plain word has n_alts == 1 */
	size_t n_alts;
};

/* One loaded rule. Everything is owned by the rule set. */
struct rules_rule {
	enum rules_kind kind;
	enum rules_decision decision;
	const char *file; /* the path it was loaded from (as given) */
	unsigned line;    /* line and column of the rule's function name */
	unsigned col;
	char *text;          /* the call as written, whitespace runs collapsed to one space */
	char *pattern_text;  /* prefix: canonical pattern, e.g. ["git", ["push", "fetch"]] */
	char *justification; /* or NULL */
	/* prefix_rule */
	struct rules_token *pattern;
	size_t pattern_len;
	/* network_rule */
	char *host;     /* lower-cased */
	char *protocol; /* lower-cased, or NULL for any */
	unsigned port;  /* from "HOST:PORT" or "[V6]:PORT"; 0: any port */
	/* host_executable: the program name (in `host`'s place: exe_name) and its paths */
	char *exe_name;
	char **exe_paths;
	size_t n_exe_paths;
	/* where the call sits in its file: bytes [start, end) (for `rules remove`) */
	size_t start;
	size_t end;
	size_t index; /* its place in the set's load order (rules_get(r, index) == rule) */
	bool managed; /* from the managed policy's rules directory (SPEC 11): binds over the user's */
};

/* Every rule that matched, in load order (pointers into the rule set). */
struct rules_matches {
	const struct rules_rule **v;
	size_t n;
	size_t cap;
};

struct rules;

/* Makes an empty rule set. */
struct rules *rules_new(void);
/* Frees a rule set and every rule in it. NULL is fine. */
void rules_free(struct rules *r);

/*
 * Parses TEXT (LEN bytes; need not be NUL-terminated), naming it FILE in
 * rules and messages, and adds its rules. Returns 0, or -EINVAL with *cause
 * set (`FILE:LINE:COL: message`, caller frees) and nothing added.
 */
int rules_load_buffer(struct rules *r, const char *file, const char *text, size_t len,
                      char **cause);
/* Reads and loads one file. Returns 0, -EINVAL (parse error) or -errno, with *cause. */
int rules_load_file(struct rules *r, const char *path, char **cause);
/*
 * Loads every DIR/ *.rules file in name order (strcmp). A missing directory is
 * fine (0). Returns 0, or the first error with *cause.
 */
int rules_load_dir(struct rules *r, const char *dir, char **cause);
/* What loading a workspace's own rules found (SPEC 6). */
struct rules_workspace_info {
	size_t files;         /* rules files in .airlock/rules and .codex/rules */
	bool trusted;         /* HOME/trust.json pins exactly their content */
	size_t ignored_allow; /* allow rules (and host_executable pins) ignored: untrusted */
};

/*
 * Loads WORKSPACE/.airlock/rules/ *.rules then WORKSPACE/.codex/rules/ *.rules.
 * Each file is read once; its bytes are hashed (rules-trust.h) and parsed.
 * Unless HOME/trust.json pins exactly these files, only their forbidden and
 * prompt rules are kept. INFO (may be NULL) says what was found. Returns 0
 * or the first error with *cause (nothing of a broken file is added).
 */
int rules_load_workspace(struct rules *r, const char *home, const char *workspace,
                         struct rules_workspace_info *info, char **cause);
/*
 * Loads HOME/rules/ *.rules (the user's own, all trusted) then the
 * workspace's rules as rules_load_workspace does (either may be NULL).
 * Returns 0 or the first error with *cause.
 */
int rules_load_all(struct rules *r, const char *home, const char *workspace, char **cause);
/*
 * The managed policy's rules directory (SPEC 11), or NULL: rules_load_all*
 * load DIR/ *.rules before the user's (and again on each refresh), marking
 * them managed. Call before rules_load_all*.
 */
void rules_set_managed(struct rules *r, const char *dir);
/*
 * The managed policy's allow_unsandboxed: false (SPEC 11) travels with the
 * rule set it binds: decide_command() then lets nothing run outside the
 * sandbox (no allow rule, no escalation), whoever builds its input.
 */
void rules_set_sandbox_only(struct rules *r, bool sandbox_only);
bool rules_sandbox_only(const struct rules *r);
/* The same, filling INFO (may be NULL) about the workspace's rules. */
int rules_load_all_info(struct rules *r, const char *home, const char *workspace,
                        struct rules_workspace_info *info, char **cause);

/*
 * Live reload (SPEC 6): when a rules file, a rules directory or trust.json
 * that R was loaded from (rules_load_all*) changed since (a stat each: call
 * it before each decision), loads everything again in R's place. A file
 * that no longer loads keeps its last good rules, restricting only (what
 * only that file allowed is refused), and its error stays in
 * rules_broken(R) until a refresh loads it. Rules of the replaced contents
 * stay valid until the next reload (pointers held during a decision), no
 * longer: one generation is kept, so memory does not grow. Returns 0, or
 * -EINVAL / -errno with *cause (R still usable); *CHANGED (may be NULL)
 * says whether R was reloaded.
 */
int rules_refresh(struct rules *r, bool *changed, char **cause);
/* The error that makes some file's rules stale (see rules_refresh), or NULL. */
const char *rules_broken(const struct rules *r);
/* What the last rules_load_all* found about the workspace's own rules. */
const struct rules_workspace_info *rules_workspace(const struct rules *r);

/* How many rules the set holds; rules_get(r, i) for i < rules_count(r), in load order. */
size_t rules_count(const struct rules *r);
const struct rules_rule *rules_get(const struct rules *r, size_t i);

/*
 * Appends to M every prefix rule whose pattern is a prefix of ARGV (ARGC
 * words), in load order. Looks only at the rules indexed under argv[0].
 */
void rules_match_command(const struct rules *r, size_t argc, char *const argv[],
                         struct rules_matches *m);
/*
 * The name under which rules judge the program word WORD (SPEC 4 step 2):
 * WORD itself when it has no '/', else its base name, unless host_executable
 * rules for that base name list paths and WORD is none of them: then NULL
 * (only rules written for the path itself apply). R may be NULL. The result
 * points into WORD.
 */
const char *rules_resolve_program(const struct rules *r, const char *word);

/*
 * The same for the managed rules (SPEC 11): only the managed policy's own
 * host_executable pins count, so no pin of the user's hides a program from
 * them. NULL when R has no managed rules directory (or a managed pin leaves
 * WORD out).
 */
const char *rules_resolve_program_managed(const struct rules *r, const char *word);
/* True when rule RULE (a prefix rule) matches ARGV. */
bool rules_rule_matches(const struct rules_rule *rule, size_t argc, char *const argv[]);
/* Appends RULE to M. */
void rules_matches_add(struct rules_matches *m, const struct rules_rule *rule);
/* The strictest decision among M's rules; RULES_ALLOW when M is empty. */
enum rules_decision rules_matches_strictest(const struct rules_matches *m);
/* Frees M's array (not the rules) and empties it. */
void rules_matches_free(struct rules_matches *m);

/*
 * The strictest network rule matching HOST (any case) and PROTOCOL (NULL:
 * any), or NULL when none does.
 */
const struct rules_rule *rules_match_network(const struct rules *r, const char *host,
                                             const char *protocol);
/*
 * The same knowing the PORT (0: unknown). A rule written for one port
 * matches that port only; with the port unknown it applies only when it
 * restricts (prompt, deny), never to allow.
 */
const struct rules_rule *rules_match_network_port(const struct rules *r, const char *host,
                                                  const char *protocol, unsigned port);

/* "allow", "prompt", "forbidden" (prefix rules) or "allow", "prompt", "deny" (network rules). */
const char *rules_decision_name(enum rules_kind kind, enum rules_decision d);

/*
 * A string as a rules-file literal: double-quoted, with \\ \" \n \t \r and
 * \xHH for other control bytes. Caller frees.
 */
char *rules_quote(const char *s);
/* The one-line source text of a prefix rule / network rule. Caller frees. */
char *rules_format_prefix(size_t n, char *const words[], enum rules_decision d);
char *rules_format_network(const char *host, const char *protocol, enum rules_decision d);

/*
 * Appends LINE (no newline in it; one is added) to the file PATH, creating
 * it (and its directory) if needed: under an exclusive flock on PATH.lock,
 * by one O_APPEND write of a newline if the file did not end with one, LINE
 * and a newline, then fsync. The file is never replaced: a symlink stays a
 * symlink, and lines others append at the same time are kept. An identical
 * existing line makes it a no-op. Returns 0 (appended), 1 (already there), or -errno
 * with *cause.
 */
int rules_append_line(const char *path, const char *line, char **cause);

/*
 * Appends the prefix rule (WORDS, decision D) to HOME/rules/default.rules
 * as rules_append_line does, and adds it to R at once (unless an identical
 * line was already there). Returns 0 or -errno with *cause.
 */
int rules_amend_prefix(struct rules *r, const char *home, size_t n, char *const words[],
                       enum rules_decision d, char **cause);
/* The same for network_rule(host=HOST, protocol=PROTOCOL (may be NULL), decision=D). */
int rules_amend_network(struct rules *r, const char *home, const char *host, const char *protocol,
                        enum rules_decision d, char **cause);

/*
 * Removes the bytes of RULE (its call, and its whole lines when nothing else
 * but blanks and a comment share them) from its file, atomically and under
 * the same lock as appends (a temporary file renamed over the file's real
 * target: a symlink stays a symlink); every other byte stays. The rewritten file must
 * still load, else nothing changes. A managed rule (SPEC 11) is never removed
 * (-EPERM). Returns 0 or -errno with *cause.
 * R is not updated: reload it.
 */
int rules_remove(const struct rules_rule *rule, char **cause);

#endif
