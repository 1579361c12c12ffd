/*
 * Shell splitting (SPEC section 4, step 1). `bash|sh|zsh -c|-lc SCRIPT`
 * whose SCRIPT is nothing but plain words joined by `&&`, `||`, `;`, `|`
 * (or newlines) is split into its commands; anything this code does not
 * fully understand makes the whole argv ONE opaque command. It never
 * guesses.
 *
 * A plain word is made of unquoted characters other than the shell's
 * special ones, 'single-quoted' text, "double-quoted" text without `$` or
 * a backtick, and backslash escapes. Opaque (not split): redirections
 * (< >), `$` in any form, backticks, ( ) subshells, { } groups and brace
 * expansion, `&` (background), glob characters (* ? [) unquoted, a leading
 * unquoted `~` or `#` or `!`, `VAR=x cmd` (an unquoted `=` in a command's
 * first word), shell keywords as first word (if, for, while, ...), `;;`,
 * `|&`, an empty command (`a && && b`, a leading operator, a trailing one
 * other than `;`), and an empty script.
 */
#ifndef AIRLOCK_SHELL_SPLIT_H
#define AIRLOCK_SHELL_SPLIT_H

#include <stdbool.h>
#include <stddef.h>

/* One command: its words, NULL-terminated (argv[argc] == NULL). */
struct shell_split_command {
	char **argv;
	size_t argc;
};

/* The result of splitting one argv. */
struct shell_split {
	struct shell_split_command *cmds; /* n >= 1 */
	size_t n;
	bool wrapper; /* the argv was `bash|sh|zsh -c|-lc SCRIPT` */
	bool opaque;  /* a wrapper whose script could not be split: cmds[0] is the argv */
	bool packed;  /* cmds[0].argv is the argv copied in one allocation (xstrv_pack) */
};

/*
 * Splits ARGV per SPEC 4 step 1 into OUT (always at least one command; a
 * non-wrapper argv is itself the one command). Free with shell_split_free.
 */
void shell_split_argv(size_t argc, char *const argv[], struct shell_split *out);
void shell_split_free(struct shell_split *s);

/*
 * Splits one SCRIPT into commands. Returns 0 with *cmds and *n set (caller
 * frees with shell_split_commands_free), or -EINVAL when the script is not
 * plain enough to split (nothing allocated).
 */
int shell_split_script(const char *script, struct shell_split_command **cmds, size_t *n);
void shell_split_commands_free(struct shell_split_command *cmds, size_t n);

/*
 * The conservative scan of a script that is not simply splittable (SPEC 4
 * step 1): calls FN(argc, argv, CTX) with the words of every command that
 * could start anywhere in SCRIPT: at its start and after `;`, `&&`, `||`,
 * `|`, `&`, newlines, `(`, `)`, `$(`, `<(`, `>(`, backticks (also inside
 * double quotes), with leading keywords (`then`, `do`, `else`, `if`,
 * `while`, `!`, `{`, ...) and `VAR=x` assignments dropped, redirections and
 * their targets left out, quotes removed; `$NAME`, `${...}` and `$(...)`
 * stay in a word as text that matches no literal. Words after wrappers
 * (`env`, `sudo`, `xargs`, ...) are the caller's to look through. Returns
 * false when the script nests deeper than it follows (the caller should
 * not trust the scan to be complete), true otherwise.
 */
typedef void (*shell_split_scan_fn)(size_t argc, char *const argv[], void *ctx);
bool shell_split_scan(const char *script, shell_split_scan_fn fn, void *ctx);

/*
 * Splits S into words the way a shell would without expanding anything
 * (quotes, backslashes; operators are ordinary characters): for match
 * examples. Returns 0 with *words (NULL-terminated, caller frees with
 * shell_split_words_free) and *n, or -EINVAL on an unterminated quote.
 */
int shell_split_words(const char *s, char ***words, size_t *n);
void shell_split_words_free(char **words);

/*
 * ARGV as one line a shell would read back as the same words (quoting
 * where needed), for prompts and messages. Caller frees.
 */
char *shell_split_join(size_t argc, char *const argv[]);

#endif
